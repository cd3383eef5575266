/* Internal: SHA-256 for the library, through one of two APIs chosen at build time
 * (SMPFOTA_CONFIG_SHA256_PSA, config.h):
 *   0: mbedTLS's sha256 module, one spelling for mbedTLS 2.28 (Debian) and 3.x;
 *   1: the PSA Crypto API (psa_hash_*), what nRF Connect SDK 3.x provides (its Mbed TLS 4 /
 *      TF-PSA-Crypto no longer exposes the sha256 module).
 * Each returns 0, or non-zero when the hash engine failed (only hardware can). */
#ifndef SMPFOTA_SRC_SHA256_H
#define SMPFOTA_SRC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "smpfota/config.h"

#if SMPFOTA_CONFIG_SHA256_PSA

#include <psa/crypto.h>

typedef psa_hash_operation_t smpfota_sha256_ctx;

static inline void smpfota_sha256_init(smpfota_sha256_ctx *c)
{
	*c = psa_hash_operation_init();
}

static inline int smpfota_sha256_starts(smpfota_sha256_ctx *c)
{
	/* psa_crypto_init() may be called any number of times; the library has no init of its
	 * own to call it from. */
	return psa_crypto_init() != PSA_SUCCESS ||
	       psa_hash_setup(c, PSA_ALG_SHA_256) != PSA_SUCCESS;
}

static inline int smpfota_sha256_update(smpfota_sha256_ctx *c, const uint8_t *p, size_t n)
{
	return psa_hash_update(c, p, n) != PSA_SUCCESS;
}

static inline int smpfota_sha256_finish(smpfota_sha256_ctx *c, uint8_t out[32])
{
	size_t n = 0;
	return psa_hash_finish(c, out, 32, &n) != PSA_SUCCESS || n != 32;
}

static inline void smpfota_sha256_free(smpfota_sha256_ctx *c)
{
	(void)psa_hash_abort(c);
}

#else

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

typedef mbedtls_sha256_context smpfota_sha256_ctx;

#define smpfota_sha256_init(c) mbedtls_sha256_init(c)
#define smpfota_sha256_free(c) mbedtls_sha256_free(c)
/* mbedTLS 3.x dropped the _ret suffix that 2.28 still needs to report errors. */
#if MBEDTLS_VERSION_MAJOR >= 3
#define smpfota_sha256_starts(c) mbedtls_sha256_starts((c), 0)
#define smpfota_sha256_update(c, p, n) mbedtls_sha256_update((c), (p), (n))
#define smpfota_sha256_finish(c, out) mbedtls_sha256_finish((c), (out))
#else
#define smpfota_sha256_starts(c) mbedtls_sha256_starts_ret((c), 0)
#define smpfota_sha256_update(c, p, n) mbedtls_sha256_update_ret((c), (p), (n))
#define smpfota_sha256_finish(c, out) mbedtls_sha256_finish_ret((c), (out))
#endif

#endif /* SMPFOTA_CONFIG_SHA256_PSA */

#endif
