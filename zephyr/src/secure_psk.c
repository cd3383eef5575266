/*
 * The secure channel's crypto ops with the pre-shared key (smpfota_zephyr/secure.h). The key
 * bytes come from the header the build generates from CONFIG_SMPFOTA_SECURE_KEY_FILE
 * (zephyr/cmake/smpfota_psk.cmake); they stay in flash, PSA gets its own copy.
 */
#include <psa/crypto.h>
#include <zephyr/logging/log.h>

#include "crypto/psa.h"
#include "smpfota_psk.h"
#include "smpfota_zephyr/secure.h"

LOG_MODULE_REGISTER(smpfota_secure, CONFIG_SMPFOTA_LOG_LEVEL);

static const uint8_t psk[SMPFOTA_SECURE_KEY_SIZE] = {SMPFOTA_PSK_BYTES};
static struct smpfota_psa_crypto pc;
static struct smpfota_psa_key key; /* key.key == 0: not loaded yet */
static struct smpfota_secure_crypto ops_once;

int smpfota_zsecure_init(struct smpfota_secure_crypto *ops, uint8_t *key_id)
{
	if (key.key == 0) {
		psa_status_t st = psa_crypto_init(); /* may run any number of times */

		if (st != PSA_SUCCESS) {
			LOG_ERR("secure channel: psa_crypto_init: %d", (int)st);
			return SMPFOTA_ERR_IO;
		}
		if (smpfota_psa_key_id(psk, &key.id) != 0 ||
		    smpfota_psa_import_ltk(psk, sizeof(psk), &key.key) != 0 ||
		    smpfota_psa_crypto_init(&pc, &key, 1, &ops_once) != 0) {
			LOG_ERR("secure channel: the key could not be loaded into PSA");
			key.key = 0;
			return SMPFOTA_ERR_IO;
		}
		LOG_INF("secure channel on, key id %u", key.id);
	}
	*ops = ops_once;
	*key_id = key.id;
	return 0;
}
