/* Key files and the host's random source (keyfile.h). */
#include "posix/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

int smpfota_posix_random(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	while (len > 0) {
		ssize_t n = getrandom(out, len, 0);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return SMPFOTA_ERR_IO;
		}
		out += n;
		len -= (size_t)n;
	}
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int smpfota_keyfile_read(const char *path, uint8_t key[SMPFOTA_SECURE_KEY_SIZE], const char **why)
{
	char text[128];
	*why = NULL;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return SMPFOTA_ERR_IO;
	}
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	bool err = ferror(f) != 0;
	fclose(f);
	if (err) {
		errno = EIO;
		return SMPFOTA_ERR_IO;
	}
	text[n] = '\0';
	size_t digits = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)text[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (digits != 0 && digits != 2U * SMPFOTA_SECURE_KEY_SIZE) {
				*why = "a key is 32 hex digits in one piece";
				return SMPFOTA_ERR_INVAL;
			}
			continue;
		}
		int v = hexval(c);
		if (v < 0) {
			*why = "a key file holds 32 hex digits and nothing else (smpfota keygen FILE)";
			return SMPFOTA_ERR_INVAL;
		}
		if (digits == 2U * SMPFOTA_SECURE_KEY_SIZE) {
			*why = "more than 32 hex digits: a key is 16 bytes";
			return SMPFOTA_ERR_INVAL;
		}
		if (digits % 2U == 0) {
			key[digits / 2U] = (uint8_t)(v << 4);
		} else {
			key[digits / 2U] |= (uint8_t)v;
		}
		digits++;
	}
	if (digits != 2U * SMPFOTA_SECURE_KEY_SIZE) {
		*why = "fewer than 32 hex digits: a key is 16 bytes";
		return SMPFOTA_ERR_INVAL;
	}
	return 0;
}

int smpfota_keyfile_generate(const char *path, uint8_t key[SMPFOTA_SECURE_KEY_SIZE])
{
	if (smpfota_posix_random(NULL, key, SMPFOTA_SECURE_KEY_SIZE) != 0) {
		return SMPFOTA_ERR_IO;
	}
	char text[2U * SMPFOTA_SECURE_KEY_SIZE + 2U];
	for (size_t i = 0; i < SMPFOTA_SECURE_KEY_SIZE; i++) {
		snprintf(text + 2U * i, 3, "%02x", key[i]);
	}
	text[2U * SMPFOTA_SECURE_KEY_SIZE] = '\n';
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		return SMPFOTA_ERR_IO;
	}
	size_t len = sizeof(text) - 1U;
	ssize_t w = write(fd, text, len);
	int saved = errno;
	if (close(fd) != 0 || w != (ssize_t)len) {
		if (w >= 0 && w != (ssize_t)len) {
			saved = EIO;
		}
		(void)unlink(path);
		errno = saved;
		return SMPFOTA_ERR_IO;
	}
	return 0;
}
