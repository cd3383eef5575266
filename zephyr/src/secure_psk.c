/*
 * The secure channel's crypto ops with the pre-shared key (smpfota_zephyr/secure.h). The key
 * bytes come from the header the build generates from CONFIG_SMPFOTA_SECURE_KEY_FILE
 * (zephyr/cmake/smpfota_psk.cmake); they stay in flash, PSA gets its own copy.
 */
#include <psa/crypto.h>
#include <zephyr/logging/log.h>

#include "smpfota_psk.h"
#include "smpfota_zephyr/secure.h"

LOG_MODULE_REGISTER(smpfota_secure, CONFIG_SMPFOTA_LOG_LEVEL);

static const uint8_t psk[SMPFOTA_SECURE_KEY_SIZE] = {SMPFOTA_PSK_BYTES};

int smpfota_zsecure_init(struct smpfota_zsecure *z, struct smpfota_secure_crypto *ops)
{
	psa_status_t st = psa_crypto_init(); /* may run any number of times */

	if (st != PSA_SUCCESS) {
		LOG_ERR("secure channel: psa_crypto_init: %d", (int)st);
		return SMPFOTA_ERR_IO;
	}
	if (smpfota_psa_key_id(psk, &z->key.id) != 0 ||
	    smpfota_psa_import_ltk(psk, sizeof(psk), &z->key.key) != 0) {
		LOG_ERR("secure channel: the key could not be loaded into PSA");
		return SMPFOTA_ERR_IO;
	}
	LOG_INF("secure channel on, key id %u", z->key.id);
	return smpfota_psa_crypto_init(&z->pc, &z->key, 1, ops);
}
