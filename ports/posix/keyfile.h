/*
 * Key files of the secure channel (docs/security.md): 16 bytes as 32 hex digits and a
 * newline, the format `smpfota keygen` writes and every `--key FILE` reads, and the host's
 * random source (getrandom()).
 */
#ifndef SMPFOTA_POSIX_KEYFILE_H
#define SMPFOTA_POSIX_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "smpfota/secure.h"

/* Read a key file: 32 hex digits (either case), optional surrounding white space, nothing
 * else. 0, or SMPFOTA_ERR_IO (errno says why) / SMPFOTA_ERR_INVAL (not a key: *why says what
 * is wrong). */
int smpfota_keyfile_read(const char *path, uint8_t key[SMPFOTA_SECURE_KEY_SIZE], const char **why);

/* Write a new random key to a file that must not exist yet (mode 0600). 0 or SMPFOTA_ERR_IO
 * (errno: EEXIST when it exists); key gets the key written. */
int smpfota_keyfile_generate(const char *path, uint8_t key[SMPFOTA_SECURE_KEY_SIZE]);

/* The operating system's random generator (getrandom()), shaped as the crypto ops' random:
 * 0 or SMPFOTA_ERR_IO. */
int smpfota_posix_random(void *ctx, uint8_t *out, size_t len);

#endif
