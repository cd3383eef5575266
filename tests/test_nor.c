/*
 * Tests for the flash areas (src/flash.c) and the emulated NOR (src/nor.c): NOR rules,
 * counters, fault injection and power cuts.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "smpfota/flash.h"
#include "emu/nor.h"

#define PAGE 4096U
#define PAGES 8U
#define SIZE (PAGE * PAGES)

static uint8_t mem[SIZE];
static struct smpfota_nor nor;

static void fresh(void)
{
	CHECK_EQ(smpfota_nor_init(&nor, mem, SIZE, PAGE, 4), 0);
	smpfota_nor_erase_all(&nor);
}

static bool region_is(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != v) {
			return false;
		}
	}
	return true;
}

static void test_init(void)
{
	struct smpfota_nor n;

	CHECK_EQ(smpfota_nor_init(NULL, mem, SIZE, PAGE, 4), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_nor_init(&n, NULL, SIZE, PAGE, 4), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_nor_init(&n, mem, 0, PAGE, 4), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_nor_init(&n, mem, SIZE + 1, PAGE, 4), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_nor_init(&n, mem, SIZE, PAGE, 3), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_nor_init(&n, mem, SIZE, 2048, 4), 0);
	CHECK_EQ(n.flash.page_size, 2048);
	/* zero means the nRF5340 app core defaults */
	memset(mem, 0x5a, sizeof(mem));
	CHECK_EQ(smpfota_nor_init(&n, mem, SIZE, 0, 0), 0);
	CHECK_EQ(n.flash.page_size, 4096);
	CHECK_EQ(n.flash.write_size, 4);
	CHECK_EQ(n.flash.erased_val, 0xff);
	CHECK_EQ(n.flash.size, SIZE);
	CHECK(n.strict);
	CHECK(!n.partial_cut);
	CHECK(n.flash.ctx == &n);
	CHECK(region_is(mem, SIZE, 0x5a)); /* init leaves the contents alone */
	smpfota_nor_erase_all(&n);
	CHECK(region_is(mem, SIZE, 0xff));
	CHECK_EQ(n.ops, 0); /* erase_all is not an operation */
}

static void test_erase_write_read(void)
{
	uint8_t w[16], r[16];

	fresh();
	memset(mem + PAGE, 0x00, PAGE);
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, PAGE, PAGE), 0);
	CHECK(region_is(mem + PAGE, PAGE, 0xff));
	for (int i = 0; i < 16; i++) {
		w[i] = (uint8_t)(i * 17);
	}
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 8, w, 16), 0);
	CHECK_MEM(mem + 8, w, 16);
	CHECK_EQ(nor.flash.read(nor.flash.ctx, 8, r, 16), 0);
	CHECK_MEM(r, w, 16);
	/* unaligned reads are fine */
	CHECK_EQ(nor.flash.read(nor.flash.ctx, 9, r, 3), 0);
	CHECK_MEM(r, w + 1, 3);
	CHECK_EQ(nor.writes, 1);
	CHECK_EQ(nor.erases, 1);
	CHECK_EQ(nor.ops, 2);
	CHECK_EQ(nor.reads, 2);
	CHECK_EQ(nor.bytes_written, 16);
	CHECK_EQ(nor.bytes_read, 19);
	CHECK_EQ(nor.pages_erased, 1);
	CHECK_EQ(nor.violations, 0);
	smpfota_nor_reset_counters(&nor);
	CHECK_EQ(nor.ops + nor.reads + nor.writes + nor.erases, 0);
}

static void test_strict_and_and(void)
{
	uint8_t a[4] = {0xf0, 0xff, 0x0f, 0xaa};
	uint8_t b[4] = {0x3c, 0x00, 0xff, 0xff};

	fresh();
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 0, a, 4), 0);
	/* strict: a second write into a programmed block is refused, nothing changes */
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 0, b, 4), SMPFOTA_ERR_IO);
	CHECK_MEM(mem, a, 4);
	CHECK_EQ(nor.violations, 1);
	/* one dirty block in a longer write refuses it all */
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 4, b, 4), 0);
	uint8_t c[12];
	memset(c, 0x11, sizeof(c));
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 4, c, 12), SMPFOTA_ERR_IO);
	CHECK(region_is(mem + 8, 8, 0xff));
	CHECK_EQ(nor.violations, 2);
	/* lenient: the cell becomes old & new, as real NOR does */
	nor.strict = false;
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 0, b, 4), 0);
	CHECK_EQ(mem[0], 0xf0 & 0x3c);
	CHECK_EQ(mem[1], 0x00);
	CHECK_EQ(mem[2], 0x0f);
	CHECK_EQ(mem[3], 0xaa);
	CHECK_EQ(nor.violations, 3);
	/* after an erase the block takes any value again */
	nor.strict = true;
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, 0, PAGE), 0);
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 0, b, 4), 0);
	CHECK_MEM(mem, b, 4);
	CHECK_EQ(nor.violations, 3);
}

static void test_alignment_and_range(void)
{
	uint8_t w[8] = {0};

	fresh();
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 2, w, 4), SMPFOTA_ERR_INVAL);
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 0, w, 6), SMPFOTA_ERR_INVAL);
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, 100, PAGE), SMPFOTA_ERR_INVAL);
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, 0, PAGE / 2), SMPFOTA_ERR_INVAL);
	CHECK_EQ(nor.flash.write(nor.flash.ctx, SIZE - 4, w, 8), SMPFOTA_ERR_RANGE);
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, SIZE, PAGE), SMPFOTA_ERR_RANGE);
	CHECK_EQ(nor.flash.read(nor.flash.ctx, 0xfffffff0U, w, 0x20), SMPFOTA_ERR_RANGE);
	CHECK_EQ(nor.flash.read(nor.flash.ctx, SIZE, w, 0), 0);
	/* argument errors are not device operations */
	CHECK_EQ(nor.ops, 0);
	CHECK(region_is(mem, SIZE, 0xff));
	/* a multi-page erase is one operation */
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, PAGE, 3 * PAGE), 0);
	CHECK_EQ(nor.ops, 1);
	CHECK_EQ(nor.pages_erased, 3);
}

static void test_area(void)
{
	struct smpfota_flash_area a = {&nor.flash, 2 * PAGE, 2 * PAGE};
	struct smpfota_flash_area bad = {&nor.flash, 6 * PAGE, 4 * PAGE};
	uint8_t w[8] = {1, 2, 3, 4, 5, 6, 7, 8}, r[8];

	fresh();
	CHECK_EQ(smpfota_flash_area_write(&a, 0, w, 8), 0);
	CHECK_MEM(mem + 2 * PAGE, w, 8);
	CHECK_EQ(smpfota_flash_area_read(&a, 4, r, 4), 0);
	CHECK_MEM(r, w + 4, 4);
	/* bounds, without wrap-around */
	CHECK_EQ(smpfota_flash_area_read(&a, 2 * PAGE - 4, r, 8), SMPFOTA_ERR_RANGE);
	CHECK_EQ(smpfota_flash_area_read(&a, 0xfffffffcU, r, 8), SMPFOTA_ERR_RANGE);
	CHECK_EQ(smpfota_flash_area_write(&a, 2 * PAGE, w, 4), SMPFOTA_ERR_RANGE);
	CHECK_EQ(smpfota_flash_area_erase(&a, PAGE, (size_t)0xfffff000U), SMPFOTA_ERR_RANGE);
	CHECK_EQ(smpfota_flash_area_read(&a, 2 * PAGE, r, 0), 0);
	CHECK_EQ(smpfota_flash_area_read(&a, 2 * PAGE + 1, r, 0), SMPFOTA_ERR_RANGE);
	/* alignment */
	CHECK_EQ(smpfota_flash_area_write(&a, 2, w, 4), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_flash_area_write(&a, 4, w, 5), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_flash_area_erase(&a, 4, PAGE), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_flash_area_erase(&a, 0, 100), SMPFOTA_ERR_INVAL);
	/* an area offset that is not write aligned makes every write misaligned */
	struct smpfota_flash_area odd = {&nor.flash, 2 * PAGE + 2, 64};
	CHECK_EQ(smpfota_flash_area_write(&odd, 10, w, 4), 0);
	CHECK_MEM(mem + 2 * PAGE + 12, w, 4);
	CHECK_EQ(smpfota_flash_area_write(&odd, 0, w, 4), SMPFOTA_ERR_INVAL);
	/* a bad area or buffer */
	CHECK_EQ(smpfota_flash_area_read(&bad, 0, r, 1), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_flash_area_read(NULL, 0, r, 1), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_flash_area_read(&a, 0, NULL, 1), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_flash_area_write(&a, 0, NULL, 4), SMPFOTA_ERR_INVAL);
	/* is_erased: 1 / 0 / negative */
	CHECK_EQ(smpfota_flash_area_is_erased(&a, 16, PAGE), 1);
	CHECK_EQ(smpfota_flash_area_is_erased(&a, 0, PAGE), 0);
	CHECK_EQ(smpfota_flash_area_is_erased(&a, 7, 1), 0);
	CHECK_EQ(smpfota_flash_area_is_erased(&a, 12, 4), 0);
	CHECK_EQ(smpfota_flash_area_is_erased(&a, 8, 0), 1);
	CHECK_EQ(smpfota_flash_area_is_erased(&a, PAGE, 2 * PAGE), SMPFOTA_ERR_RANGE);
	CHECK_EQ(smpfota_flash_area_erase(&a, 0, PAGE), 0);
	CHECK_EQ(smpfota_flash_area_is_erased(&a, 0, 2 * PAGE), 1);
	CHECK_EQ(smpfota_flash_area_erase(&a, 0, 0), 0);
	CHECK_EQ(nor.violations, 0);
}

static void test_fail_at_op(void)
{
	uint8_t w[4] = {1, 2, 3, 4};

	fresh();
	nor.fail_at_op = 2;
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 0, w, 4), 0);
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 4, w, 4), SMPFOTA_ERR_IO);
	CHECK(region_is(mem + 4, 4, 0xff));
	CHECK(!nor.power_cut);
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 4, w, 4), 0);
	CHECK_MEM(mem + 4, w, 4);
	CHECK_EQ(nor.ops, 3);
	/* an erase can fail the same way */
	nor.fail_at_op = 4;
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, 0, PAGE), SMPFOTA_ERR_IO);
	CHECK_MEM(mem + 4, w, 4);
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, 0, PAGE), 0);
	CHECK(region_is(mem, PAGE, 0xff));
}

static void test_power_cut(void)
{
	uint8_t w[16], r[4];

	memset(w, 0, sizeof(w));
	fresh();
	nor.power_cut_at_op = 3;
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 0, w, 4), 0);
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, PAGE, PAGE), 0);
	memset(mem + PAGE, 0x00, 16);
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 16, w, 16), SMPFOTA_ERR_IO); /* op 3: cut */
	CHECK(nor.power_cut);
	CHECK(region_is(mem + 16, 16, 0xff)); /* not performed */
	/* everything after is refused, and not numbered */
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 64, w, 4), SMPFOTA_ERR_IO);
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, PAGE, PAGE), SMPFOTA_ERR_IO);
	CHECK(region_is(mem + 64, 4, 0xff));
	CHECK(region_is(mem + PAGE, 16, 0x00));
	CHECK_EQ(nor.ops, 3);
	CHECK_EQ(nor.refused, 2);
	/* reads still work */
	CHECK_EQ(nor.flash.read(nor.flash.ctx, 0, r, 4), 0);
	CHECK_MEM(r, w, 4);
	smpfota_nor_power_on(&nor);
	CHECK(!nor.power_cut);
	CHECK_EQ(nor.power_cut_at_op, 0);
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 16, w, 16), 0);
	CHECK(region_is(mem + 16, 16, 0x00));
	CHECK_EQ(nor.ops, 4);
}

static void test_partial_cut(void)
{
	uint8_t w[16];
	uint8_t old[PAGE];

	memset(w, 0x00, sizeof(w));
	fresh();
	nor.partial_cut = true;
	/* a write of 4 blocks programs its first 2 */
	nor.power_cut_at_op = 1;
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 0, w, 16), SMPFOTA_ERR_IO);
	CHECK(region_is(mem, 8, 0x00));
	CHECK(region_is(mem + 8, 8, 0xff));
	CHECK_EQ(nor.bytes_written, 8);
	smpfota_nor_power_on(&nor);
	/* a single-block write programs nothing */
	nor.power_cut_at_op = nor.ops + 1;
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 8, w, 4), SMPFOTA_ERR_IO);
	CHECK(region_is(mem + 8, 8, 0xff));
	smpfota_nor_power_on(&nor);
	/* a one-page erase leaves only raised bits, and not a clean page */
	for (uint32_t i = 0; i < PAGE; i++) {
		mem[i] = (uint8_t)(i * 37);
	}
	memcpy(old, mem, PAGE);
	nor.power_cut_at_op = nor.ops + 1;
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, 0, PAGE), SMPFOTA_ERR_IO);
	bool subset = true, changed = false;
	for (uint32_t i = 0; i < PAGE; i++) {
		subset = subset && (mem[i] & old[i]) == old[i];
		changed = changed || mem[i] != old[i];
	}
	CHECK(subset);
	CHECK(changed);
	CHECK(!region_is(mem, PAGE, 0xff));
	smpfota_nor_power_on(&nor);
	/* a four-page erase: two pages erased, the third half erased, the fourth untouched */
	memset(mem + 2 * PAGE, 0x00, 4 * PAGE);
	nor.power_cut_at_op = nor.ops + 1;
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, 2 * PAGE, 4 * PAGE), SMPFOTA_ERR_IO);
	CHECK(region_is(mem + 2 * PAGE, 2 * PAGE, 0xff));
	CHECK(!region_is(mem + 4 * PAGE, PAGE, 0xff));
	CHECK(!region_is(mem + 4 * PAGE, PAGE, 0x00));
	CHECK(region_is(mem + 5 * PAGE, PAGE, 0x00));
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, 0, PAGE), SMPFOTA_ERR_IO); /* still cut */
	smpfota_nor_power_on(&nor);
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, 0, PAGE), 0);
	CHECK(region_is(mem, PAGE, 0xff));
}

struct hook_log {
	int n;
	int kind[8];
	uint32_t off[8];
	size_t len[8];
};

static void hook_fn(void *ctx, int kind, uint32_t off, size_t len)
{
	struct hook_log *l = ctx;

	if (l->n < 8) {
		l->kind[l->n] = kind;
		l->off[l->n] = off;
		l->len[l->n] = len;
	}
	l->n++;
}

static void test_hook(void)
{
	struct hook_log log;
	uint8_t w[8] = {0}, r[3];

	memset(&log, 0, sizeof(log));
	fresh();
	nor.on_op = hook_fn;
	nor.on_op_ctx = &log;
	CHECK_EQ(nor.flash.erase(nor.flash.ctx, PAGE, 2 * PAGE), 0);
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 8, w, 8), 0);
	CHECK_EQ(nor.flash.read(nor.flash.ctx, 5, r, 3), 0);
	nor.fail_at_op = 3;
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 16, w, 4), SMPFOTA_ERR_IO);
	nor.power_cut_at_op = 4;
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 16, w, 4), SMPFOTA_ERR_IO);
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 16, w, 4), SMPFOTA_ERR_IO);   /* refused: no hook */
	CHECK_EQ(nor.flash.write(nor.flash.ctx, 1, w, 4), SMPFOTA_ERR_INVAL); /* no hook */
	CHECK_EQ(log.n, 5);
	CHECK_EQ(log.kind[0], SMPFOTA_NOR_OP_ERASE);
	CHECK_EQ(log.off[0], PAGE);
	CHECK_EQ(log.len[0], 2 * PAGE);
	CHECK_EQ(log.kind[1], SMPFOTA_NOR_OP_WRITE);
	CHECK_EQ(log.off[1], 8);
	CHECK_EQ(log.len[1], 8);
	CHECK_EQ(log.kind[2], SMPFOTA_NOR_OP_READ);
	CHECK_EQ(log.off[2], 5);
	CHECK_EQ(log.len[2], 3);
	CHECK_EQ(log.kind[3], SMPFOTA_NOR_OP_WRITE);
	CHECK_EQ(log.kind[4], SMPFOTA_NOR_OP_WRITE);
}

static void test_net_core_geometry(void)
{
	static uint8_t net[2048 * 4];
	struct smpfota_nor n;
	struct smpfota_flash_area a = {&n.flash, 2048, 2048};

	CHECK_EQ(smpfota_nor_init(&n, net, sizeof(net), 2048, 4), 0);
	smpfota_nor_erase_all(&n);
	CHECK_EQ(smpfota_flash_area_erase(&a, 0, 2048), 0);
	CHECK_EQ(smpfota_flash_area_erase(&a, 0, 4096), SMPFOTA_ERR_RANGE);
	CHECK_EQ(n.flash.erase(n.flash.ctx, 1024, 2048), SMPFOTA_ERR_INVAL);
	CHECK_EQ(n.flash.erase(n.flash.ctx, 6144, 2048), 0);
	CHECK_EQ(n.ops, 2);
}

int main(void)
{
	RUN(test_init);
	RUN(test_erase_write_read);
	RUN(test_strict_and_and);
	RUN(test_alignment_and_range);
	RUN(test_area);
	RUN(test_fail_at_op);
	RUN(test_power_cut);
	RUN(test_partial_cut);
	RUN(test_hook);
	RUN(test_net_core_geometry);
	return CHECK_SUMMARY();
}
