/* Internal: SHA-384/SHA-512 for the image reader (SMPFOTA_CONFIG_IMAGE_SHA512), through the
 * API that sha256.h uses (SMPFOTA_CONFIG_SHA256_PSA): mbedTLS's sha512 module in one
 * spelling for mbedTLS 2.28 and 3.x, or the PSA Crypto API. Each returns 0, or non-zero when
 * the hash engine failed (only hardware can). */
#ifndef SMPFOTA_SRC_SHA512_H
#define SMPFOTA_SRC_SHA512_H

#include <stddef.h>
#include <stdint.h>

#include "smpfota/config.h"

#if SMPFOTA_CONFIG_SHA256_PSA

#include <psa/crypto.h>

typedef psa_hash_operation_t smpfota_sha512_ctx;

static inline void smpfota_sha512_init(smpfota_sha512_ctx *c)
{
	*c = psa_hash_operation_init();
}

static inline int smpfota_sha512_starts(smpfota_sha512_ctx *c, int is384)
{
	return psa_crypto_init() != PSA_SUCCESS ||
	       psa_hash_setup(c, is384 ? PSA_ALG_SHA_384 : PSA_ALG_SHA_512) != PSA_SUCCESS;
}

static inline int smpfota_sha512_update(smpfota_sha512_ctx *c, const uint8_t *p, size_t n)
{
	return psa_hash_update(c, p, n) != PSA_SUCCESS;
}

/* out: 64 bytes of room; 48 are written for SHA-384. */
static inline int smpfota_sha512_finish(smpfota_sha512_ctx *c, uint8_t out[64])
{
	size_t n = 0;
	return psa_hash_finish(c, out, 64, &n) != PSA_SUCCESS || (n != 48 && n != 64);
}

static inline void smpfota_sha512_free(smpfota_sha512_ctx *c)
{
	(void)psa_hash_abort(c);
}

#else

#include <mbedtls/sha512.h>
#include <mbedtls/version.h>

typedef mbedtls_sha512_context smpfota_sha512_ctx;

#define smpfota_sha512_init(c) mbedtls_sha512_init(c)
#define smpfota_sha512_free(c) mbedtls_sha512_free(c)
#if MBEDTLS_VERSION_MAJOR >= 3
#define smpfota_sha512_starts(c, is384) mbedtls_sha512_starts((c), (is384))
#define smpfota_sha512_update(c, p, n) mbedtls_sha512_update((c), (p), (n))
#define smpfota_sha512_finish(c, out) mbedtls_sha512_finish((c), (out))
#else
#define smpfota_sha512_starts(c, is384) mbedtls_sha512_starts_ret((c), (is384))
#define smpfota_sha512_update(c, p, n) mbedtls_sha512_update_ret((c), (p), (n))
#define smpfota_sha512_finish(c, out) mbedtls_sha512_finish_ret((c), (out))
#endif

#endif /* SMPFOTA_CONFIG_SHA256_PSA */

#endif
