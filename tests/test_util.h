/*
 * Shared helpers for the C tests: an MCUboot image builder (header, body, optional protected
 * TLV area, SHA-256 TLV computed with mbedTLS, a fake key hash and signature) so tests can
 * make any number of distinct, valid images in memory.
 */
#ifndef SMPFOTA_TESTS_TEST_UTIL_H
#define SMPFOTA_TESTS_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "smpfota/image.h"

struct tu_image_spec {
	uint16_t hdr_size;  /* 0 -> 0x200, as Zephyr/NCS */
	uint32_t body_size;
	struct smpfota_image_version ver;
	uint32_t flags;
	uint32_t seed;      /* body contents */
	bool prot;          /* add a protected TLV area (security counter) */
};

static inline void tu_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void tu_put32(uint8_t *p, uint32_t v)
{
	tu_put16(p, (uint16_t)v);
	tu_put16(p + 2, (uint16_t)(v >> 16));
}

static inline void tu_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
#if MBEDTLS_VERSION_MAJOR >= 3
	(void)mbedtls_sha256(p, n, out, 0);
#else
	(void)mbedtls_sha256_ret(p, n, out, 0);
#endif
}

/* Build an image into buf; returns its length (header + body + TLVs), 0 if cap is short. */
static inline size_t tu_build_image(uint8_t *buf, size_t cap, const struct tu_image_spec *s)
{
	uint16_t hdr_size = s->hdr_size ? s->hdr_size : 0x200;
	size_t need = (size_t)hdr_size + s->body_size + 16 + 4 + 36 + 36 + 4 + 75;
	uint32_t x = s->seed * 2654435761U + 1U;
	size_t o, start;
	uint8_t hash[32];

	if (need > cap) {
		return 0;
	}
	memset(buf, 0, hdr_size);
	tu_put32(buf, SMPFOTA_IMAGE_MAGIC);
	tu_put16(buf + 8, hdr_size);
	tu_put32(buf + 12, s->body_size);
	tu_put32(buf + 16, s->flags);
	buf[20] = s->ver.major;
	buf[21] = s->ver.minor;
	tu_put16(buf + 22, s->ver.revision);
	tu_put32(buf + 24, s->ver.build);
	memset(buf + 32, 0xff, hdr_size - 32U); /* imgtool --pad-header */
	o = hdr_size;
	for (uint32_t i = 0; i < s->body_size; i++) {
		x = x * 1103515245U + 12345U;
		buf[o++] = (uint8_t)(x >> 16);
	}
	if (s->prot) {
		start = o;
		o += 4;
		tu_put16(buf + o, SMPFOTA_TLV_SEC_CNT);
		tu_put16(buf + o + 2, 4);
		tu_put32(buf + o + 4, s->seed);
		o += 8;
		tu_put16(buf + start, SMPFOTA_IMAGE_TLV_PROT_INFO_MAGIC);
		tu_put16(buf + start + 2, (uint16_t)(o - start));
		tu_put16(buf + 10, (uint16_t)(o - start));
	}
	tu_sha256(buf, o, hash);
	start = o;
	o += 4;
	tu_put16(buf + o, SMPFOTA_TLV_SHA256);
	tu_put16(buf + o + 2, 32);
	memcpy(buf + o + 4, hash, 32);
	o += 36;
	tu_put16(buf + o, SMPFOTA_TLV_KEYHASH);
	tu_put16(buf + o + 2, 32);
	memset(buf + o + 4, 0x4b, 32);
	o += 36;
	tu_put16(buf + o, SMPFOTA_TLV_ECDSA_SIG);
	tu_put16(buf + o + 2, 71);
	memset(buf + o + 4, 0x30, 71);
	o += 75;
	tu_put16(buf + start, SMPFOTA_IMAGE_TLV_INFO_MAGIC);
	tu_put16(buf + start + 2, (uint16_t)(o - start));
	return o;
}

/* Deterministic pseudo-random numbers for tests that pick cut points. */
static inline uint32_t tu_rand(uint32_t *state)
{
	*state = *state * 1664525U + 1013904223U;
	return *state >> 8;
}

#endif /* SMPFOTA_TESTS_TEST_UTIL_H */
