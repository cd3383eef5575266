/*
 * MCUboot image builder for tests, fuzz targets and the simulator: header, body, an optional
 * protected TLV area and the unprotected TLVs, with the SHA-256 TLV computed over exactly what
 * MCUboot hashes, so any number of distinct, valid images can be made in memory without
 * imgtool (the Python tests sign real ones with imgtool; this is for C code).
 *
 * The key hash and signature TLVs hold fake bytes: smpfota's reader and boot model check the
 * hash, never the signature (image.h), so they only need to be present and well formed.
 * Deliberately malformed images belong to the test that needs them (tests/test_image.c).
 *
 * No allocation, no state.
 */
#ifndef SMPFOTA_EMU_IMAGE_H
#define SMPFOTA_EMU_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/image.h"

#ifdef __cplusplus
extern "C" {
#endif

struct smpfota_emu_image_spec {
	uint16_t hdr_size; /* 0: 0x200, as Zephyr/NCS builds (imgtool --pad-header); >= 32 */
	uint32_t body_size;
	struct smpfota_image_version ver;
	uint32_t flags;      /* ih_flags */
	uint32_t seed;       /* body contents (a fixed pseudo-random pattern of the seed) and
				* the security counter of the protected area */
	const uint8_t *body; /* optional: body_size bytes to use as the body instead */
	bool prot;           /* add a protected TLV area holding a security counter */
	bool hash_only;      /* only the hash TLV, as imgtool without --key; otherwise a key
				* hash and an ECDSA signature TLV follow it */
	uint16_t hash_tlv;   /* 0 or SMPFOTA_TLV_SHA256; _SHA384, _SHA512 (imgtool --sha) */
};

/* Length of the image s describes (header + body + TLV areas), or 0 when hdr_size < 32. */
size_t smpfota_emu_image_size(const struct smpfota_emu_image_spec *s);

/*
 * Build the image into buf (cap bytes). hash (optional; 32, 48 or 64 bytes as hash_tlv)
 * receives the hash TLV's value, the image hash `image list` shows. Returns the image length, or 0 when cap is too
 * small or the spec is invalid (nothing useful is left in buf then).
 */
size_t smpfota_emu_image_build(uint8_t *buf, size_t cap, const struct smpfota_emu_image_spec *s,
			       uint8_t *hash);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_EMU_IMAGE_H */
