/* Internal: SHA-256 through mbedTLS, one spelling for mbedTLS 2.x (Debian) and 3.x (NCS).
 * Each returns 0 or an mbedTLS error (only a hardware SHA engine can fail). */
#ifndef SMPFOTA_SRC_SHA256_H
#define SMPFOTA_SRC_SHA256_H

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

/* mbedTLS 3.x dropped the _ret suffix that 2.28 still needs to report errors. */
#if MBEDTLS_VERSION_MAJOR >= 3
#define smpfota_sha256_starts(c) mbedtls_sha256_starts((c), 0)
#define smpfota_sha256_update(c, p, n) mbedtls_sha256_update((c), (p), (n))
#define smpfota_sha256_finish(c, out) mbedtls_sha256_finish((c), (out))
#else
#define smpfota_sha256_starts(c) mbedtls_sha256_starts_ret((c), 0)
#define smpfota_sha256_update(c, p, n) mbedtls_sha256_update_ret((c), (p), (n))
#define smpfota_sha256_finish(c, out) mbedtls_sha256_finish_ret((c), (out))
#endif

#endif
