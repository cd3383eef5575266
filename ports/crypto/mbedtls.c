/* The secure channel's cryptography on mbedTLS (mbedtls.h). Slots come from the channel,
 * always below SMPFOTA_SECURE_KEY_SLOTS; CCM takes NULL buffers for an empty text. */
#include "crypto/mbedtls.h"

#include <string.h>

#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>

#include "sha256.h"
#include "smpfota/smpfota.h"

static int set_key(void *ctx, unsigned slot, const uint8_t key[SMPFOTA_SECURE_KEY_SIZE])
{
	struct smpfota_mbedtls_crypto *m = ctx;
	return mbedtls_ccm_setkey(&m->ccm[slot], MBEDTLS_CIPHER_ID_AES, key,
				  8U * SMPFOTA_SECURE_KEY_SIZE) == 0
		       ? 0
		       : SMPFOTA_ERR_IO;
}

static int encrypt(void *ctx, unsigned slot, const uint8_t nonce[SMPFOTA_SECURE_NONCE_SIZE],
		   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out, size_t len,
		   uint8_t *tag, size_t tag_len)
{
	struct smpfota_mbedtls_crypto *m = ctx;
	return mbedtls_ccm_encrypt_and_tag(&m->ccm[slot], len, nonce, SMPFOTA_SECURE_NONCE_SIZE,
					   aad, aad_len, in, out, tag, tag_len) == 0
		       ? 0
		       : SMPFOTA_ERR_IO;
}

static int decrypt(void *ctx, unsigned slot, const uint8_t nonce[SMPFOTA_SECURE_NONCE_SIZE],
		   const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out, size_t len,
		   const uint8_t *tag, size_t tag_len)
{
	struct smpfota_mbedtls_crypto *m = ctx;
	int rc = mbedtls_ccm_auth_decrypt(&m->ccm[slot], len, nonce, SMPFOTA_SECURE_NONCE_SIZE, aad,
					  aad_len, in, out, tag, tag_len);
	if (rc == MBEDTLS_ERR_CCM_AUTH_FAILED) {
		return SMPFOTA_ERR_AUTH;
	}
	return rc == 0 ? 0 : SMPFOTA_ERR_IO;
}

int smpfota_mbedtls_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
				size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
				size_t out_len)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	return mbedtls_hkdf(md, salt, salt_len, ikm, ikm_len, info, info_len, out, out_len) == 0
		       ? 0
		       : SMPFOTA_ERR_IO;
}

static int derive(void *ctx, uint8_t key_id, const uint8_t *salt, size_t salt_len,
		  const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	struct smpfota_mbedtls_crypto *m = ctx;
	for (size_t i = 0; i < m->n_keys; i++) {
		if (m->keys[i].id == key_id) {
			return smpfota_mbedtls_hkdf_sha256(m->keys[i].key, SMPFOTA_SECURE_KEY_SIZE,
							   salt, salt_len, info, info_len, out,
							   out_len);
		}
	}
	return SMPFOTA_ERR_KEY_UNKNOWN;
}

static int random_bytes(void *ctx, uint8_t *out, size_t len)
{
	struct smpfota_mbedtls_crypto *m = ctx;
	return m->random(m->random_ctx, out, len);
}

int smpfota_mbedtls_crypto_init(struct smpfota_mbedtls_crypto *m,
				const struct smpfota_mbedtls_key *keys, size_t n,
				int (*random)(void *ctx, uint8_t *out, size_t len),
				void *random_ctx, struct smpfota_secure_crypto *ops)
{
	if (random == NULL || (n > 0 && keys == NULL)) {
		return SMPFOTA_ERR_INVAL;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			if (keys[i].id == keys[j].id) {
				return SMPFOTA_ERR_INVAL;
			}
		}
	}
	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < SMPFOTA_SECURE_KEY_SLOTS; i++) {
		mbedtls_ccm_init(&m->ccm[i]);
	}
	m->keys = keys;
	m->n_keys = n;
	m->random = random;
	m->random_ctx = random_ctx;
	*ops = (struct smpfota_secure_crypto){.set_key = set_key,
					      .encrypt = encrypt,
					      .decrypt = decrypt,
					      .derive = derive,
					      .random = random_bytes,
					      .ctx = m};
	return 0;
}

void smpfota_mbedtls_crypto_free(struct smpfota_mbedtls_crypto *m)
{
	for (unsigned i = 0; i < SMPFOTA_SECURE_KEY_SLOTS; i++) {
		mbedtls_ccm_free(&m->ccm[i]); /* zeroizes the key schedule */
	}
}

uint8_t smpfota_mbedtls_key_id(const uint8_t key[SMPFOTA_SECURE_KEY_SIZE])
{
	static const char label[] = "smpfota key id";
	uint8_t d[32];
	mbedtls_sha256_context c;
	mbedtls_sha256_init(&c);
	int rc = smpfota_sha256_starts(&c);
	rc = rc ? rc : smpfota_sha256_update(&c, (const uint8_t *)label, sizeof(label) - 1U);
	rc = rc ? rc : smpfota_sha256_update(&c, key, SMPFOTA_SECURE_KEY_SIZE);
	rc = rc ? rc : smpfota_sha256_finish(&c, d);
	mbedtls_sha256_free(&c);
	return rc == 0 ? d[0] : 0;
}
