/*
 * The secure channel's cryptography on a Zephyr board (CONFIG_SMPFOTA_SECURE): PSA Crypto
 * (ports/crypto/psa.h) with the pre-shared key built from CONFIG_SMPFOTA_SECURE_KEY_FILE.
 *
 * The glue only initialises PSA, imports the key as a volatile PSA_KEY_TYPE_DERIVE key and
 * derives its id on the wire as the host tools do (smpfota_psa_key_id()); every decision of
 * the channel is src/secure.c's. The key is never logged, only its id.
 */
#ifndef SMPFOTA_ZEPHYR_SECURE_H
#define SMPFOTA_ZEPHYR_SECURE_H

#include "crypto/psa.h"
#include "smpfota/secure.h"

#ifdef __cplusplus
extern "C" {
#endif

struct smpfota_zsecure {
	struct smpfota_psa_crypto pc;
	struct smpfota_psa_key key; /* key.id: the key id on the wire */
};

/* Set up: psa_crypto_init(), the key into PSA, *ops for smpfota_secure_config.crypto. z must
 * stay allocated while the channel runs (static). 0, or SMPFOTA_ERR_IO when PSA refuses. */
int smpfota_zsecure_init(struct smpfota_zsecure *z, struct smpfota_secure_crypto *ops);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_ZEPHYR_SECURE_H */
