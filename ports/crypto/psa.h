/*
 * The secure channel's cryptography (smpfota/secure.h) on the PSA Crypto API: what NCS uses
 * (the nRF5340's CC312 through nrf_security, its key storage holding the long-term key), and
 * what mbedTLS's own PSA core provides on a PC, where the tests run it.
 *
 *  - set_key: a volatile AES key per slot (psa_import_key), replaced by the next set_key;
 *  - encrypt/decrypt: psa_aead_encrypt/decrypt, PSA_ALG_AEAD_WITH_SHORTENED_TAG(CCM, 8);
 *    PSA puts the tag right after the ciphertext, as the channel's frames do: the tag must
 *    follow the text (out + len == tag), which is how the channel always calls them;
 *  - derive: HKDF-SHA256 by psa_key_derivation with the long-term key as the secret input,
 *    a PSA_KEY_TYPE_DERIVE key (persistent on a board: the application never sees its bytes);
 *  - random: psa_generate_random.
 *
 * psa_crypto_init() must have run. Lifetimes: the key table must outlive the struct; call
 * smpfota_psa_crypto_free() to destroy the slot keys.
 */
#ifndef SMPFOTA_PORT_CRYPTO_PSA_H
#define SMPFOTA_PORT_CRYPTO_PSA_H

#include <stddef.h>
#include <stdint.h>

#include <psa/crypto.h>

#include "smpfota/secure.h"

/* A long-term key in the PSA key store (PSA_KEY_TYPE_DERIVE, usage PSA_KEY_USAGE_DERIVE,
 * algorithm PSA_ALG_HKDF(PSA_ALG_SHA_256)) and the id it goes by on the wire. */
struct smpfota_psa_key {
	uint8_t id;
	psa_key_id_t key;
};

struct smpfota_psa_crypto {
	psa_key_id_t slot[SMPFOTA_SECURE_KEY_SLOTS]; /* 0 = none */
	const struct smpfota_psa_key *keys;
	size_t n_keys;
};

/* Set up with a table of n long-term keys (ids must differ: SMPFOTA_ERR_INVAL otherwise).
 * Returns 0 and fills *ops for smpfota_secure_config.crypto. */
int smpfota_psa_crypto_init(struct smpfota_psa_crypto *p, const struct smpfota_psa_key *keys,
			    size_t n, struct smpfota_secure_crypto *ops);

void smpfota_psa_crypto_free(struct smpfota_psa_crypto *p);

/* The key id a key goes by when nobody chose one, as smpfota_mbedtls_key_id() computes it
 * (the first byte of SHA-256("smpfota key id" | key)), through psa_hash_*: a board on PSA
 * and the host tools agree on it from the same key file. 0 or SMPFOTA_ERR_IO. */
int smpfota_psa_key_id(const uint8_t key[SMPFOTA_SECURE_KEY_SIZE], uint8_t *id);

/* Import key bytes as a volatile long-term key (tests, and a board that reads its key from
 * somewhere else than the key store). 0 or SMPFOTA_ERR_IO. */
int smpfota_psa_import_ltk(const uint8_t *key, size_t len, psa_key_id_t *out);

#endif /* SMPFOTA_PORT_CRYPTO_PSA_H */
