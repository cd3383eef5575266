/*
 * smpfota compile-time options: every one of them, its default and why.
 *
 * To change one, define it on the compiler command line (-DSMPFOTA_CLIENT_MAX_INFLIGHT=4),
 * or put your values in a header of your own and name it with SMPFOTA_CONFIG_FILE
 * (-DSMPFOTA_CONFIG_FILE='"my_smpfota_config.h"'), as littlefs's LFS_CONFIG and nanopb's
 * pb.h options do. That file is included first, so anything it defines wins; what it leaves
 * out keeps the default below. The Zephyr module maps its Kconfig symbols onto these.
 *
 * Every library header includes this file (through smpfota.h). Build the library and every
 * file that includes its headers with the same options: several change struct sizes.
 */
#ifndef SMPFOTA_CONFIG_H
#define SMPFOTA_CONFIG_H

#ifdef SMPFOTA_CONFIG_FILE
#include SMPFOTA_CONFIG_FILE
#endif

/* ---- errors -------------------------------------------------------------------------- */

/*
 * Error names and messages: smpfota_strerror(), smpfota_errname() and
 * smpfota_mgmt_err_name() carry tables of text (about 1.9 KB of flash on a Cortex-M33).
 * 1 (default, and what the host tools use): built in. 0 (a small device): no tables;
 * smpfota_strerror() says "success" or "error", smpfota_errname() "OK" or "UNKNOWN" and
 * smpfota_mgmt_err_name() NULL, so a log prints the numeric code instead.
 */
#ifndef SMPFOTA_CONFIG_ERROR_NAMES
#define SMPFOTA_CONFIG_ERROR_NAMES 1
#endif

/* ---- SMP codec (smp.h) ------------------------------------------------------------------ */

/* Image/slot entries kept from an image state or slot info response. 4 = the nRF5340's two
 * images (application and network core) times two slots. Sizes decoded responses. */
#ifndef SMPFOTA_SMP_MAX_IMAGES
#define SMPFOTA_SMP_MAX_IMAGES 4
#endif

/* Slots kept per image in a slot info response: MCUboot has a primary and a secondary. */
#ifndef SMPFOTA_SMP_MAX_SLOTS
#define SMPFOTA_SMP_MAX_SLOTS 2
#endif

/* Deepest CBOR nesting accepted. The deepest SMP message (slot info) uses 5 levels; the
 * decoder recurses once per level, so this bounds its stack on a device. */
#ifndef SMPFOTA_SMP_MAX_DEPTH
#define SMPFOTA_SMP_MAX_DEPTH 8
#endif

/* ---- image reader (image.h) ------------------------------------------------------------- */

/* TLV entries the reader records for display (it walks and checks any number). imgtool
 * writes 3 to 8; each entry costs 12 bytes of struct smpfota_image_info. */
#ifndef SMPFOTA_IMAGE_MAX_TLVS
#define SMPFOTA_IMAGE_MAX_TLVS 12
#endif

/*
 * SHA-256 API. 0 (default): mbedTLS's sha256 module (mbedTLS 2.28 or 3.x; what the host
 * build and the bare-metal port link). 1: the PSA Crypto API (psa_hash_setup/update/finish),
 * what nRF Connect SDK 3.x offers: its Mbed TLS 4 keeps the sha256 module private. The Zephyr
 * module sets it from CONFIG_SMPFOTA_SHA256_PSA. (It chooses the API of SHA-384/512 too.)
 */
#ifndef SMPFOTA_CONFIG_SHA256_PSA
#define SMPFOTA_CONFIG_SHA256_PSA 0
#endif

/*
 * SHA-384 and SHA-512 images (MCUboot's IMAGE_TLV_SHA384 and _SHA512: imgtool uses SHA-384
 * for ECDSA P-384 keys, and SHA-512 with --sha 512), through mbedTLS's sha512 module (or PSA
 * with SMPFOTA_CONFIG_SHA256_PSA). 1 (default, and what the host tools use): the image
 * reader, the update workflow and the server check them; the reader and its info grow by the
 * larger hash context and the 64-byte hashes (~160 B of RAM). 0: SHA-256 only (a SHA-384/512
 * image is UNSUPPORTED), and the master side's code is 162 B smaller (docs/footprint.md).
 */
#ifndef SMPFOTA_CONFIG_IMAGE_SHA512
#define SMPFOTA_CONFIG_IMAGE_SHA512 1
#endif

/* Room for the hash context inside the reader and the server's upload record (image.c and
 * server.c check that it fits, at build time). 128 holds mbedtls_sha256_context, 224 also
 * mbedtls_sha512_context (SMPFOTA_CONFIG_IMAGE_SHA512); a PSA hash operation holds any hash
 * the build supports (232 bytes with Debian's mbedTLS 2.28), and a hardware-accelerated
 * context (MBEDTLS_SHA256_ALT) may be larger too: raise it then. */
#ifndef SMPFOTA_IMAGE_SHA_CTX_SIZE
#if SMPFOTA_CONFIG_IMAGE_SHA512
#define SMPFOTA_IMAGE_SHA_CTX_SIZE 224
#else
#define SMPFOTA_IMAGE_SHA_CTX_SIZE 128
#endif
#endif

/* ---- client engine (client.h) ------------------------------------------------------------ */

/* Most requests the engine tracks at once; the window never exceeds it. Each costs one
 * struct smpfota_client_req (about 20 bytes) plus a frame buffer the caller provides. 12: over
 * a link that holds frames back (held_not_dropped, client.h) a window of 11 chunks of 2.4 KB
 * covers a 480 ms QSPI block erase at the target (docs/simulator.md); elsewhere the window is
 * the target's buf_count - 1 at most. */
#ifndef SMPFOTA_CLIENT_MAX_INFLIGHT
#define SMPFOTA_CLIENT_MAX_INFLIGHT 12
#endif

/*
 * The upload learns the link (docs/client.md): round-trip time and variance for its
 * retransmission timeouts, a small echo that asks a silent target whether it is alive
 * before any chunk is sent again, and a window that grows only while that raises the
 * delivered rate. 1 (default, and the host tools): learn; it costs about 0.9 KB of flash on
 * a Cortex-M33. 0: the window is the one the caller allows (buf_count - 1) from the start,
 * timeouts are fixed and a timed-out chunk is sent again: enough on a link that already
 * retransmits and keeps order (ESB with ACKs) to a target whose buffers are known.
 * Losses, resume and rewinds are handled the same either way.
 */
#ifndef SMPFOTA_CONFIG_CLIENT_LEARN
#define SMPFOTA_CONFIG_CLIENT_LEARN 1
#endif

/* Shortest retransmission timeout of an upload chunk, in ms. The engine learns the link's
 * round trip (client.h); this floor keeps a scheduling hiccup of the host or a short flash
 * stall from counting as a loss on a link whose round trip is a few ms. */
#ifndef SMPFOTA_CLIENT_MIN_RTO_MS
#define SMPFOTA_CLIENT_MIN_RTO_MS 50U
#endif

/*
 * Upload chunks carry a multiple of this many data bytes (except the last). A target whose
 * flash writes in blocks of N bytes then never has to carry a partial block from one
 * request to the next. 4 = the nRF5340's NVMC word; Zephyr's img_mgmt copes with any size,
 * so 1 turns it off. A power of two from 1 to 64.
 */
#ifndef SMPFOTA_CLIENT_CHUNK_ALIGN
#define SMPFOTA_CLIENT_CHUNK_ALIGN 4U
#endif

/* ---- SMP serial (serial.h) ----------------------------------------------------------------- */

/* Longest line the decoder accepts, marker and '\n' included. Zephyr and smpclient send at
 * most 127 (MCUMGR_SERIAL_MAX_FRAME); the margin accepts clients set for longer lines. */
#ifndef SMPFOTA_SERIAL_RX_LINE_MAX
#define SMPFOTA_SERIAL_RX_LINE_MAX 4096U
#endif

/* ---- target side (server.h, boot.h) -------------------------------------------------------- */

/* Largest flash write block the server's upload path buffers for (nRF5340 NVMC: 4; QSPI
 * and other parts: up to 16). Sizes struct smpfota_server. */
#ifndef SMPFOTA_SERVER_MAX_WRITE_SIZE
#define SMPFOTA_SERVER_MAX_WRITE_SIZE 16
#endif

/* MCUboot's BOOT_MAX_IMG_SECTORS: sizes the trailer's swap status area, so it must equal
 * the value the target's MCUboot was built with (256 in NCS for the nRF5340's 1 MB). */
#ifndef SMPFOTA_BOOT_MAX_IMG_SECTORS
#define SMPFOTA_BOOT_MAX_IMG_SECTORS 256U
#endif

/* Images one boot-model run handles (ports/emu/mcuboot.h; room in its result struct). */
#ifndef SMPFOTA_BOOT_MAX_IMAGES
#define SMPFOTA_BOOT_MAX_IMAGES 2U
#endif

/* ---- sanity --------------------------------------------------------------------------- */

#if SMPFOTA_CLIENT_MAX_INFLIGHT < 1 || SMPFOTA_CLIENT_MAX_INFLIGHT > 32
#error "SMPFOTA_CLIENT_MAX_INFLIGHT must be 1..32"
#endif
#if (SMPFOTA_CLIENT_CHUNK_ALIGN) < 1 || (SMPFOTA_CLIENT_CHUNK_ALIGN) > 64 || \
	((SMPFOTA_CLIENT_CHUNK_ALIGN) & ((SMPFOTA_CLIENT_CHUNK_ALIGN)-1)) != 0
#error "SMPFOTA_CLIENT_CHUNK_ALIGN must be a power of two from 1 to 64"
#endif
#if SMPFOTA_SMP_MAX_DEPTH < 5
#error "SMPFOTA_SMP_MAX_DEPTH below 5 cannot decode slot info"
#endif

#endif /* SMPFOTA_CONFIG_H */
