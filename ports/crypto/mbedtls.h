/*
 * The secure channel's cryptography (smpfota/secure.h) on mbedTLS: AES-128-CCM
 * (mbedtls_ccm, one expanded key per slot), HKDF-SHA256 (mbedtls_hkdf) over a table of
 * long-term keys, and a random source the board provides (its TRNG; getrandom() on a PC).
 * Plain C on mbedTLS only, so the bare-metal master and the host tools share it; NCS uses
 * PSA Crypto instead (docs/security.md).
 *
 * Lifetimes: the key table and the random source's ctx must outlive the struct; call
 * smpfota_mbedtls_crypto_free() to wipe the expanded keys.
 */
#ifndef SMPFOTA_PORT_CRYPTO_MBEDTLS_H
#define SMPFOTA_PORT_CRYPTO_MBEDTLS_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ccm.h>

#include "smpfota/secure.h"

/* A long-term key and the id it goes by on the wire. */
struct smpfota_mbedtls_key {
	uint8_t id;
	uint8_t key[SMPFOTA_SECURE_KEY_SIZE];
};

struct smpfota_mbedtls_crypto {
	mbedtls_ccm_context ccm[SMPFOTA_SECURE_KEY_SLOTS];
	const struct smpfota_mbedtls_key *keys;
	size_t n_keys;
	int (*random)(void *ctx, uint8_t *out, size_t len);
	void *random_ctx;
};

/* Set up with a table of n long-term keys (ids must differ: SMPFOTA_ERR_INVAL otherwise) and
 * a random source. Returns 0 and fills *ops for smpfota_secure_config.crypto. */
int smpfota_mbedtls_crypto_init(struct smpfota_mbedtls_crypto *m,
				const struct smpfota_mbedtls_key *keys, size_t n,
				int (*random)(void *ctx, uint8_t *out, size_t len),
				void *random_ctx, struct smpfota_secure_crypto *ops);

/* HKDF-SHA256 (RFC 5869), what derive() runs over a long-term key; 0 or SMPFOTA_ERR_IO. */
int smpfota_mbedtls_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
				size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
				size_t out_len);

void smpfota_mbedtls_crypto_free(struct smpfota_mbedtls_crypto *m);

/* The key id a key goes by when nobody chose one: the first byte of
 * SHA-256("smpfota key id" | key), so master and target agree from the key file alone. */
uint8_t smpfota_mbedtls_key_id(const uint8_t key[SMPFOTA_SECURE_KEY_SIZE]);

#endif /* SMPFOTA_PORT_CRYPTO_MBEDTLS_H */
