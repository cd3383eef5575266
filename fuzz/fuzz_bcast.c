/*
 * Fuzz the broadcast group (bcast.h) of a target on emulated NOR flash with arbitrary
 * requests and broadcast packets. Input: records of [u8 kind][u8 length][bytes]; kind even:
 * an SMP frame for smpfota_bcast_target_handle, odd: a broadcast packet; every 16th record a
 * power cycle (the target starts again from its record in flash).
 * Invariants (abort on violation):
 *  - no byte outside the slot and the record area ever changes (guard pages around them);
 *  - the NOR never sees a write to a non-erased block (strict mode refuses it: counted);
 *  - every answer is a well-formed SMP frame of the broadcast group;
 *  - the target says done only when the slot holds a file with the SHA-256 START named.
 */
#include <stdlib.h>
#include <string.h>

#include "emu/nor.h"
#include "sha256.h"
#include "smpfota/bcast.h"

#define PAGE 1024U
#define GUARD PAGE
#define SLOT (8U * PAGE)
#define REC (4U * PAGE)
#define DEV (GUARD + SLOT + REC + GUARD)

static uint8_t mem[DEV];
static struct smpfota_nor nor;
static struct smpfota_bcast_target_config cfg;
static struct smpfota_bcast_target b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void)
{
	for (size_t i = 0; i < GUARD; i++) {
		if (mem[i] != 0x5a || mem[DEV - GUARD + i] != 0x5a) {
			abort();
		}
	}
	if (nor.violations != 0) {
		abort();
	}
	if (b.verified) {
		smpfota_sha256_ctx c;
		uint8_t out[32];
		smpfota_sha256_init(&c);
		if (smpfota_sha256_starts(&c) != 0 ||
		    smpfota_sha256_update(&c, mem + GUARD, b.len) != 0 ||
		    smpfota_sha256_finish(&c, out) != 0 || memcmp(out, b.sha, 32) != 0) {
			abort();
		}
		smpfota_sha256_free(&c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	smpfota_nor_init(&nor, mem, DEV, PAGE, 4);
	smpfota_nor_erase_all(&nor);
	memset(mem, 0x5a, GUARD);
	memset(mem + DEV - GUARD, 0x5a, GUARD);
	cfg.slot = (struct smpfota_flash_area){&nor.flash, GUARD, SLOT};
	cfg.record = (struct smpfota_flash_area){&nor.flash, GUARD + SLOT, REC};
	(void)smpfota_bcast_target_init(&b, &cfg);
	unsigned recs = 0;
	while (size >= 2) {
		uint8_t kind = data[0];
		size_t n = data[1] < size - 2 ? data[1] : size - 2;
		const uint8_t *p = data + 2;
		data += 2 + n;
		size -= 2 + n;
		if (kind & 1U) {
			(void)smpfota_bcast_target_packet(&b, p, n);
		} else {
			uint8_t rsp[256];
			int r = smpfota_bcast_target_handle(&b, p, n, rsp, sizeof(rsp));
			struct smpfota_smp_hdr h;
			if (r > 0 && (smpfota_smp_hdr_decode(rsp, (size_t)r, &h) != r ||
				      h.group != SMPFOTA_BCAST_GROUP)) {
				abort();
			}
		}
		if (++recs % 16U == 0) {
			(void)smpfota_bcast_target_init(&b, &cfg); /* power cycle */
		}
		check();
	}
	return 0;
}
