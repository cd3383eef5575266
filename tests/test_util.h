/*
 * Shared helpers for the C tests: SHA-256 of a buffer, seeded random numbers. Images come
 * from the MCUboot image builder, ports/emu/image.h.
 */
#ifndef SMPFOTA_TESTS_TEST_UTIL_H
#define SMPFOTA_TESTS_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

static inline void tu_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
#if MBEDTLS_VERSION_MAJOR >= 3
	(void)mbedtls_sha256(p, n, out, 0);
#else
	(void)mbedtls_sha256_ret(p, n, out, 0);
#endif
}

/* Deterministic pseudo-random numbers for tests that pick cut points. */
static inline uint32_t tu_rand(uint32_t *state)
{
	*state = *state * 1664525U + 1013904223U;
	return *state >> 8;
}

#endif /* SMPFOTA_TESTS_TEST_UTIL_H */
