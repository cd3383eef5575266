/* The secure channel's cryptography on PSA Crypto (psa.h). */
#include "crypto/psa.h"

#include <string.h>

#include "smpfota/smpfota.h"

#define CCM8 PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CCM, SMPFOTA_SECURE_TAG_SIZE)
#define HKDF PSA_ALG_HKDF(PSA_ALG_SHA_256)

static int set_key(void *ctx, unsigned slot, const uint8_t key[SMPFOTA_SECURE_KEY_SIZE])
{
	struct smpfota_psa_crypto *p = ctx;
	if (p->slot[slot] != 0) {
		(void)psa_destroy_key(p->slot[slot]);
		p->slot[slot] = 0;
	}
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_set_key_type(&a, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&a, 8U * SMPFOTA_SECURE_KEY_SIZE);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
	psa_set_key_algorithm(&a, CCM8);
	return psa_import_key(&a, key, SMPFOTA_SECURE_KEY_SIZE, &p->slot[slot]) == PSA_SUCCESS
		       ? 0
		       : SMPFOTA_ERR_IO;
}

static int encrypt(void *ctx, unsigned slot, const uint8_t nonce[SMPFOTA_SECURE_NONCE_SIZE],
		   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out, size_t len,
		   uint8_t *tag, size_t tag_len)
{
	struct smpfota_psa_crypto *p = ctx;
	if (tag_len != SMPFOTA_SECURE_TAG_SIZE || (len != 0 && out + len != tag)) {
		return SMPFOTA_ERR_NOTSUP; /* PSA writes the tag after the text */
	}
	size_t n = 0;
	psa_status_t st = psa_aead_encrypt(p->slot[slot], CCM8, nonce, SMPFOTA_SECURE_NONCE_SIZE,
					   aad, aad_len, in, len, len ? out : tag, len + tag_len,
					   &n);
	return st == PSA_SUCCESS && n == len + tag_len ? 0 : SMPFOTA_ERR_IO;
}

static int decrypt(void *ctx, unsigned slot, const uint8_t nonce[SMPFOTA_SECURE_NONCE_SIZE],
		   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out, size_t len,
		   const uint8_t *tag, size_t tag_len)
{
	struct smpfota_psa_crypto *p = ctx;
	uint8_t none = 0;
	if (tag_len != SMPFOTA_SECURE_TAG_SIZE || (len != 0 && in + len != tag)) {
		return SMPFOTA_ERR_NOTSUP;
	}
	size_t n = 0;
	psa_status_t st = psa_aead_decrypt(p->slot[slot], CCM8, nonce, SMPFOTA_SECURE_NONCE_SIZE,
					   aad, aad_len, len ? in : tag, len + tag_len,
					   len ? out : &none, len, &n);
	if (st == PSA_ERROR_INVALID_SIGNATURE) {
		return SMPFOTA_ERR_AUTH;
	}
	return st == PSA_SUCCESS && n == len ? 0 : SMPFOTA_ERR_IO;
}

static int derive(void *ctx, uint8_t key_id, const uint8_t *salt, size_t salt_len,
		  const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	struct smpfota_psa_crypto *p = ctx;
	psa_key_id_t key = 0;
	for (size_t i = 0; i < p->n_keys; i++) {
		if (p->keys[i].id == key_id) {
			key = p->keys[i].key;
		}
	}
	if (key == 0) {
		return SMPFOTA_ERR_KEY_UNKNOWN;
	}
	psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
	psa_status_t st = psa_key_derivation_setup(&op, HKDF);
	if (st == PSA_SUCCESS) {
		st = psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT, salt,
						    salt_len);
	}
	if (st == PSA_SUCCESS) {
		st = psa_key_derivation_input_key(&op, PSA_KEY_DERIVATION_INPUT_SECRET, key);
	}
	if (st == PSA_SUCCESS) {
		st = psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_INFO, info,
						    info_len);
	}
	if (st == PSA_SUCCESS) {
		st = psa_key_derivation_output_bytes(&op, out, out_len);
	}
	(void)psa_key_derivation_abort(&op);
	return st == PSA_SUCCESS ? 0 : SMPFOTA_ERR_IO;
}

static int random_bytes(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	return psa_generate_random(out, len) == PSA_SUCCESS ? 0 : SMPFOTA_ERR_IO;
}

int smpfota_psa_crypto_init(struct smpfota_psa_crypto *p, const struct smpfota_psa_key *keys,
			    size_t n, struct smpfota_secure_crypto *ops)
{
	if (n > 0 && keys == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			if (keys[i].id == keys[j].id) {
				return SMPFOTA_ERR_INVAL;
			}
		}
	}
	memset(p, 0, sizeof(*p));
	p->keys = keys;
	p->n_keys = n;
	*ops = (struct smpfota_secure_crypto){.set_key = set_key,
					      .encrypt = encrypt,
					      .decrypt = decrypt,
					      .derive = derive,
					      .random = random_bytes,
					      .ctx = p};
	return 0;
}

void smpfota_psa_crypto_free(struct smpfota_psa_crypto *p)
{
	for (unsigned i = 0; i < SMPFOTA_SECURE_KEY_SLOTS; i++) {
		if (p->slot[i] != 0) {
			(void)psa_destroy_key(p->slot[i]);
			p->slot[i] = 0;
		}
	}
}

int smpfota_psa_key_id(const uint8_t key[SMPFOTA_SECURE_KEY_SIZE], uint8_t *id)
{
	static const char label[] = "smpfota key id";
	uint8_t d[32]; /* SHA-256 */
	size_t n = 0;
	psa_hash_operation_t op = psa_hash_operation_init();
	psa_status_t st = psa_hash_setup(&op, PSA_ALG_SHA_256);
	if (st == PSA_SUCCESS) {
		st = psa_hash_update(&op, (const uint8_t *)label, sizeof(label) - 1U);
	}
	if (st == PSA_SUCCESS) {
		st = psa_hash_update(&op, key, SMPFOTA_SECURE_KEY_SIZE);
	}
	if (st == PSA_SUCCESS) {
		st = psa_hash_finish(&op, d, sizeof(d), &n);
	}
	(void)psa_hash_abort(&op);
	if (st != PSA_SUCCESS || n != sizeof(d)) {
		return SMPFOTA_ERR_IO;
	}
	*id = d[0];
	return 0;
}

int smpfota_psa_import_ltk(const uint8_t *key, size_t len, psa_key_id_t *out)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_set_key_type(&a, PSA_KEY_TYPE_DERIVE);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_DERIVE);
	psa_set_key_algorithm(&a, HKDF);
	return psa_import_key(&a, key, len, out) == PSA_SUCCESS ? 0 : SMPFOTA_ERR_IO;
}
