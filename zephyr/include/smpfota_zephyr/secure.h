/*
 * The secure channel's cryptography on a Zephyr board (CONFIG_SMPFOTA_SECURE): PSA Crypto
 * (ports/crypto/psa.h) with the pre-shared key built from CONFIG_SMPFOTA_SECURE_KEY_FILE.
 *
 * The glue only initialises PSA, imports the key as a volatile PSA_KEY_TYPE_DERIVE key and
 * derives its id on the wire as the host tools do (smpfota_psa_key_id()); every decision of
 * the channel is src/secure.c's. The key is never logged, only its id. A board has one key:
 * the PSA state lives in zephyr/src/secure_psk.c, set up once.
 */
#ifndef SMPFOTA_ZEPHYR_SECURE_H
#define SMPFOTA_ZEPHYR_SECURE_H

#include <stdint.h>

#include "smpfota/secure.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Set up (once; later calls give the same): psa_crypto_init(), the key into PSA, *ops for
 * smpfota_secure_config.crypto and the key's id on the wire. 0, or SMPFOTA_ERR_IO when PSA
 * refuses. */
int smpfota_zsecure_init(struct smpfota_secure_crypto *ops, uint8_t *key_id);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_ZEPHYR_SECURE_H */
