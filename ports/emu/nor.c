/*
 * Emulated NOR flash: see include/smpfota/nor.h for the rules it enforces and the fault
 * model. The device callbacks check their own arguments too, because the NOR may be driven
 * directly (by a test or the simulator) and not only through flash areas.
 */
#include "emu/nor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ERASED 0xffU

static bool in_range(const struct smpfota_nor *nor, uint32_t off, size_t len)
{
	return off <= nor->flash.size && len <= (size_t)(nor->flash.size - off);
}

static void hook(struct smpfota_nor *nor, int kind, uint32_t off, size_t len)
{
	if (nor->on_op != NULL) {
		nor->on_op(nor->on_op_ctx, kind, off, len);
	}
}

/* Numbers a write/erase and applies the injected faults that do not depend on its kind. */
enum step { STEP_DO, STEP_FAIL, STEP_CUT, STEP_REFUSE };

static enum step next_op(struct smpfota_nor *nor)
{
	if (nor->power_cut) {
		nor->refused++;
		return STEP_REFUSE;
	}
	nor->ops++;
	if (nor->fail_at_op != 0 && nor->ops == nor->fail_at_op) {
		return STEP_FAIL;
	}
	if (nor->power_cut_at_op != 0 && nor->ops == nor->power_cut_at_op) {
		nor->power_cut = true;
		return STEP_CUT;
	}
	return STEP_DO;
}

static int nor_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	struct smpfota_nor *nor = ctx;

	if (!in_range(nor, off, len)) {
		return SMPFOTA_ERR_RANGE;
	}
	if (len == 0) {
		return 0;
	}
	if (buf == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	memcpy(buf, nor->mem + off, len);
	nor->reads++;
	nor->bytes_read += len;
	hook(nor, SMPFOTA_NOR_OP_READ, off, len);
	return 0;
}

static bool block_erased(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != ERASED) {
			return false;
		}
	}
	return true;
}

static int nor_write(void *ctx, uint32_t off, const void *buf, size_t len)
{
	struct smpfota_nor *nor = ctx;
	const uint8_t *src = buf;
	size_t ws = nor->flash.write_size;
	size_t blocks;
	enum step st;

	if (!in_range(nor, off, len)) {
		return SMPFOTA_ERR_RANGE;
	}
	if (off % ws != 0 || len % ws != 0) {
		return SMPFOTA_ERR_INVAL;
	}
	if (len == 0) {
		return 0;
	}
	if (buf == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	st = next_op(nor);
	if (st == STEP_REFUSE) {
		return SMPFOTA_ERR_IO;
	}
	nor->writes++;
	if (st == STEP_FAIL) {
		hook(nor, SMPFOTA_NOR_OP_WRITE, off, len);
		return SMPFOTA_ERR_IO;
	}
	blocks = len / ws;
	if (st == STEP_CUT) {
		blocks = nor->partial_cut ? blocks / 2 : 0;
	}
	/* The rule is checked on the whole request: a buggy caller should hear about it even
	 * when a cut would have hidden the damage. */
	for (size_t b = 0; b < len / ws; b++) {
		if (!block_erased(nor->mem + off + b * ws, ws)) {
			nor->violations++;
			if (nor->strict) {
				hook(nor, SMPFOTA_NOR_OP_WRITE, off, len);
				return SMPFOTA_ERR_IO;
			}
			break;
		}
	}
	for (size_t i = 0; i < blocks * ws; i++) {
		nor->mem[off + i] &= src[i];
	}
	nor->bytes_written += blocks * ws;
	hook(nor, SMPFOTA_NOR_OP_WRITE, off, len);
	return st == STEP_CUT ? SMPFOTA_ERR_IO : 0;
}

/* Bits an interrupted erase managed to raise: deterministic, so a failing case replays. */
static uint8_t garbage(struct smpfota_nor *nor)
{
	nor->garbage_seed = nor->garbage_seed * 1103515245U + 12345U;
	return (uint8_t)(nor->garbage_seed >> 16);
}

static int nor_erase(void *ctx, uint32_t off, size_t len)
{
	struct smpfota_nor *nor = ctx;
	size_t ps = nor->flash.page_size;
	size_t pages;
	enum step st;

	if (!in_range(nor, off, len)) {
		return SMPFOTA_ERR_RANGE;
	}
	if (off % ps != 0 || len % ps != 0) {
		return SMPFOTA_ERR_INVAL;
	}
	if (len == 0) {
		return 0;
	}
	st = next_op(nor);
	if (st == STEP_REFUSE) {
		return SMPFOTA_ERR_IO;
	}
	nor->erases++;
	if (st == STEP_FAIL) {
		hook(nor, SMPFOTA_NOR_OP_ERASE, off, len);
		return SMPFOTA_ERR_IO;
	}
	pages = len / ps;
	if (st == STEP_CUT) {
		size_t done = nor->partial_cut ? pages / 2 : 0;

		if (nor->partial_cut) {
			uint8_t *p = nor->mem + off + done * ps;

			nor->garbage_seed ^= nor->ops;
			for (size_t i = 0; i < ps; i++) {
				p[i] |= garbage(nor);
			}
		}
		pages = done;
	}
	memset(nor->mem + off, ERASED, pages * ps);
	nor->pages_erased += pages;
	hook(nor, SMPFOTA_NOR_OP_ERASE, off, len);
	return st == STEP_CUT ? SMPFOTA_ERR_IO : 0;
}

int smpfota_nor_init(struct smpfota_nor *nor, void *mem, uint32_t size, uint32_t page_size,
		     uint16_t write_size)
{
	if (page_size == 0) {
		page_size = SMPFOTA_NOR_DEFAULT_PAGE_SIZE;
	}
	if (write_size == 0) {
		write_size = SMPFOTA_NOR_DEFAULT_WRITE_SIZE;
	}
	if (nor == NULL || mem == NULL || size == 0 || page_size % write_size != 0 ||
	    size % page_size != 0) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(nor, 0, sizeof(*nor));
	nor->mem = mem;
	nor->strict = true;
	nor->flash.read = nor_read;
	nor->flash.write = nor_write;
	nor->flash.erase = nor_erase;
	nor->flash.ctx = nor;
	nor->flash.size = size;
	nor->flash.page_size = page_size;
	nor->flash.write_size = write_size;
	nor->flash.erased_val = ERASED;
	nor->garbage_seed = 0x5eed5eedU;
	return 0;
}

void smpfota_nor_erase_all(struct smpfota_nor *nor)
{
	memset(nor->mem, ERASED, nor->flash.size);
}

void smpfota_nor_power_on(struct smpfota_nor *nor)
{
	nor->power_cut = false;
	nor->power_cut_at_op = 0;
}

void smpfota_nor_reset_counters(struct smpfota_nor *nor)
{
	nor->reads = 0;
	nor->writes = 0;
	nor->erases = 0;
	nor->ops = 0;
	nor->violations = 0;
	nor->refused = 0;
	nor->bytes_read = 0;
	nor->bytes_written = 0;
	nor->pages_erased = 0;
}
