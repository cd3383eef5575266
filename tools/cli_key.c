/* smpfota keygen, and the key every --key FILE names (docs/security.md). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "posix/keyfile.h"

int smpfota_cli_keygen(const struct smpfota_cli_opts *o, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		return smpfota_cli_usage_error(o->json, "keygen", "usage: smpfota keygen FILE");
	}
	uint8_t key[SMPFOTA_SECURE_KEY_SIZE];
	if (smpfota_keyfile_generate(argv[1], key) != 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s: %s", argv[1], strerror(errno));
		struct smpfota_cli_error e = {
			.what = "keygen",
			.name = "IO",
			.message = msg,
			.file = argv[1],
			.hint = errno == EEXIST
					? "a key file is never overwritten: pick another name "
					  "or remove the old one"
					: NULL};
		return smpfota_cli_report(o->json, &e, 1);
	}
	uint8_t id = smpfota_mbedtls_key_id(key);
	memset(key, 0, sizeof(key));
	if (o->json) {
		printf("{\"file\": \"%s\", \"key_id\": %u}\n", argv[1], (unsigned)id);
	} else {
		printf("%s: new key, key id %u\n", argv[1], (unsigned)id);
	}
	return 0;
}

int smpfota_cli_key_load(const struct smpfota_cli_opts *o, const char *what,
			 struct smpfota_cli_key *k)
{
	memset(k, 0, sizeof(*k));
	if (o->key == NULL) {
		return 0;
	}
	const char *why = NULL;
	if (smpfota_keyfile_read(o->key, k->key.key, &why) != 0) {
		char msg[512];
		snprintf(msg, sizeof(msg), "--key %s: %s", o->key, why ? why : strerror(errno));
		struct smpfota_cli_error e = {.what = what,
					      .name = why ? "BAD_KEY" : "IO",
					      .message = msg,
					      .file = o->key,
					      .hint = "smpfota keygen FILE writes a key"};
		return smpfota_cli_report(o->json, &e, 2);
	}
	k->key.id = smpfota_mbedtls_key_id(k->key.key);
	if (smpfota_mbedtls_crypto_init(&k->mc, &k->key, 1, smpfota_posix_random, NULL, &k->ops) !=
	    0) {
		return smpfota_cli_usage_error(o->json, what, "--key: crypto set-up failed");
	}
	k->on = true;
	return 0;
}

void smpfota_cli_key_free(struct smpfota_cli_key *k)
{
	if (k->on) {
		smpfota_mbedtls_crypto_free(&k->mc);
	}
	memset(k, 0, sizeof(*k));
}
