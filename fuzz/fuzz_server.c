/*
 * Fuzz the SMP server with arbitrary request sequences on emulated NOR flash.
 * Input: records of [u16 big-endian length][frame bytes]; the first byte picks the SMP
 * version the frames claim when it is odd (so plain mutations still reach both).
 * Invariants checked after every frame (abort on violation):
 *  - no byte outside the four slots ever changes (guard pages around them);
 *  - the running image's bytes in slot 0 never change (only its trailer may);
 *  - a secondary slot is only ever marked pending (trailer magic GOOD) when it holds an
 *    image whose hash checks;
 *  - the NOR never sees a write to a non-erased block (server keeps NOR rules);
 *  - every response is a well-formed SMP frame answering the request's seq.
 */
#include <stdlib.h>
#include <string.h>

#include "smpfota/boot.h"
#include "emu/image.h"
#include "emu/nor.h"
#include "emu/target.h"
#include "smpfota/server.h"

#define PAGE 1024U
#define GUARD PAGE
#define SLOT (8U * PAGE)
#define DEV (GUARD + (SLOT + PAGE) + SLOT + GUARD)

static uint8_t mem[2][DEV];
static uint8_t pristine[2][DEV];
static struct smpfota_nor nor[2];
static struct smpfota_emu_target tgt; /* two images, one device each */
static uint32_t factory_len;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void setup(void)
{
	/* A tiny valid MCUboot image: 32-byte header, 600-byte body, SHA-256 TLV. */
	static uint8_t img[2048];
	factory_len = (uint32_t)smpfota_emu_image_build(
		img, sizeof(img),
		&(struct smpfota_emu_image_spec){
			.hdr_size = 32, .body_size = 600, .ver = {1, 0, 0, 0}, .hash_only = true},
		NULL);
	smpfota_emu_target_init(&tgt);
	for (int d = 0; d < 2; d++) {
		smpfota_nor_init(&nor[d], mem[d], DEV, PAGE, 4);
		smpfota_nor_erase_all(&nor[d]);
		memset(mem[d], 0x5a, GUARD); /* guards: never erased, never written */
		memset(mem[d] + DEV - GUARD, 0x5a, GUARD);
		if (smpfota_emu_target_add_image(&tgt, &nor[d], GUARD, &nor[d], GUARD + SLOT + PAGE,
						 SLOT) != 0 ||
		    smpfota_emu_target_provision(&tgt, (size_t)d, img, factory_len) != 0) {
			abort();
		}
		memcpy(pristine[d], mem[d], DEV);
	}
	tgt.cfg.active_image = 0;
	tgt.cfg.buf_size = 1024;
	tgt.cfg.buf_count = 2;
	tgt.cfg.image_check = true;
	tgt.cfg.allow_confirm_secondary = true;
}

static void check_invariants(void)
{
	for (int d = 0; d < 2; d++) {
		if (memcmp(mem[d], pristine[d], GUARD) != 0 ||
		    memcmp(mem[d] + DEV - GUARD, pristine[d] + DEV - GUARD, GUARD) != 0 ||
		    memcmp(mem[d] + GUARD, pristine[d] + GUARD, factory_len) != 0 ||
		    nor[d].violations != 0) {
			abort();
		}
		struct smpfota_boot_trailer t;
		if (smpfota_boot_read_trailer(&tgt.images[d].secondary, &t) == 0 &&
		    t.magic == SMPFOTA_BOOT_MAGIC_GOOD) {
			struct smpfota_image_info info;
			if (smpfota_boot_slot_image(&tgt.images[d].secondary, &info) != 0 ||
			    !info.hash_valid) {
				abort();
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rsp[1024];
	static uint8_t frame[1100];

	setup(); /* fresh flash with the factory image for every input */
	if (smpfota_emu_target_start(&tgt, false) != 0) {
		abort();
	}
	if (size < 1) {
		return 0;
	}
	uint8_t ver_override = data[0] & 1U;
	size_t pos = 1;
	while (pos + 2 <= size) {
		size_t len = ((size_t)data[pos] << 8) | data[pos + 1];
		pos += 2;
		if (len > size - pos) {
			len = size - pos;
		}
		if (len > sizeof(frame)) {
			len = sizeof(frame);
		}
		memcpy(frame, data + pos, len);
		pos += len;
		if (ver_override && len > 0) {
			frame[0] = (uint8_t)((frame[0] & ~0x18U) | 0x08U); /* claim v2 */
		}
		int n = smpfota_server_handle(&tgt.srv, frame, len, rsp, sizeof(rsp));
		if (n > 0) {
			struct smpfota_smp_hdr h;
			if (smpfota_smp_hdr_decode(rsp, (size_t)n, &h) != n || !(h.op & 1U) ||
			    (len >= 8 && h.seq != frame[6])) {
				abort();
			}
		}
		check_invariants();
		if (smpfota_emu_target_reset_if_pending(&tgt) != 0) {
			/* after a swap the "running image" is whatever MCUboot put in slot 0 */
			for (int d = 0; d < 2; d++) {
				memcpy(pristine[d] + GUARD, mem[d] + GUARD, factory_len);
			}
		}
	}
	return 0;
}
