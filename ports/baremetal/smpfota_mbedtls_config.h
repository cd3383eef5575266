/*
 * mbedTLS configuration of the bare-metal firmware (MBEDTLS_CONFIG_FILE): only what smpfota
 * calls, SHA-256 (image hash, upload session id), SHA-384/512 (images signed with P-384 keys
 * or --sha 512: SMPFOTA_CONFIG_IMAGE_SHA512) and base64 (SMP serial framing). Debian's
 * mbedTLS source package is compiled with it for the Cortex-M33 (ports/baremetal/mbedtls.cmake).
 */
#ifndef SMPFOTA_BAREMETAL_MBEDTLS_CONFIG_H
#define SMPFOTA_BAREMETAL_MBEDTLS_CONFIG_H

#define MBEDTLS_SHA256_C
/* The rolled loop: about 1 KB less flash for about half the speed. An image is hashed once
 * per update; the UART, not the hash, sets the pace. */
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA512_C
#define MBEDTLS_SHA384_C /* mbedTLS 3.x: SHA-384 apart from SHA-512 (2.28 has both in one) */
#define MBEDTLS_SHA512_SMALLER
#define MBEDTLS_BASE64_C

/* The secure channel of master_secure.elf (ports/crypto/mbedtls.c): AES-128-CCM and
 * HKDF-SHA256. The AES tables are const (flash), the smallest set. mbedTLS 2.28's cipher and
 * HMAC layers allocate their contexts: from a static pool the firmware hands it
 * (MEMORY_BUFFER_ALLOC), never from a heap; without std functions nothing pulls in calloc.
 * master.elf calls none of it, so its link (--gc-sections) is unchanged. */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_CIPHER_C
#define MBEDTLS_CCM_C
#define MBEDTLS_MD_C
#define MBEDTLS_HKDF_C
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS
#define MBEDTLS_MEMORY_BUFFER_ALLOC_C
/* The pool's check of itself fails only on memory corruption: master/main.c reports, halts. */
void smpfota_bm_mbedtls_exit(int status);
#define MBEDTLS_PLATFORM_EXIT_MACRO smpfota_bm_mbedtls_exit

/* mbedTLS 2.x expects the configuration to end with its consistency check (3.x includes it
 * itself). */
#include <mbedtls/version.h>
#if MBEDTLS_VERSION_MAJOR < 3
#include "mbedtls/check_config.h"
#endif

#endif
