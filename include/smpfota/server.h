/*
 * Portable SMP server: the OS and image management groups of Zephyr's mcumgr, on the flash
 * abstraction (flash.h) and the MCUboot trailer (boot.h), for targets that are not Zephyr
 * and for the simulator. Behaviour follows Zephyr's img_mgmt.c / img_mgmt_state.c /
 * os_mgmt.c (shared/spec/smp.md §2-3) closely enough that mcumgr and smpmgr cannot tell
 * the difference; deliberate differences are listed in docs/server.md.
 *
 * Event-driven and transport-agnostic: the caller hands in one request frame and gets the
 * response frame back. No malloc, no threads; all state in struct smpfota_server.
 *
 * Usage (a target's main loop; the image pairs describe its MCUboot slots):
 *
 *     static const struct smpfota_boot_image images[] = {
 *         {.primary = {&flash, 0x00000, 0x80000}, .secondary = {&flash, 0x80000, 0x80000}}};
 *     static const struct smpfota_server_config cfg = {
 *         .images = images, .n_images = 1, .buf_size = 1024, .buf_count = 4,
 *         .image_check = true, .reset = my_reset, .ctx = NULL};
 *     static struct smpfota_server srv;           // RAM retained over a warm reset: resume
 *     smpfota_server_init(&srv, &cfg, warm_boot);
 *     for (;;) {
 *         size_t n = receive_frame(req, sizeof(req));
 *         int m = smpfota_server_handle(&srv, req, n, rsp, sizeof(rsp));
 *         if (m > 0) send_frame(rsp, (size_t)m);
 *         if (smpfota_server_reset_pending(&srv)) reboot_after_tx_drains();
 *     }
 *
 * Lifetimes: the server keeps a pointer to its config (not a copy), so the config, the image
 * pairs it points to, their flash devices and the info strings must outlive the server.
 * Request and response buffers are only used during smpfota_server_handle().
 *
 * Callbacks (cfg->reset, cfg->log) run inside smpfota_server_handle() and must not call back
 * into the server; reset() only records the request (the port restarts after the response
 * is sent). Not thread-safe: one caller at a time.
 */
#ifndef SMPFOTA_SERVER_H
#define SMPFOTA_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/boot.h"
#include "smpfota/flash.h"
#include "smpfota/image.h"
#include "smpfota/smp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What `os info` reports (Zephyr's uname-like letters s n r v b m p i o). NULL = "unknown". */
struct smpfota_server_info {
	const char *kernel;    /* s: kernel name */
	const char *node;      /* n: node name */
	const char *release;   /* r: kernel release */
	const char *version;   /* v: kernel version */
	const char *build;     /* b: build date and time */
	const char *machine;   /* m: machine */
	const char *processor; /* p: processor */
	const char *platform;  /* i: hardware platform */
	const char *os;        /* o: operating system */
};

/*
 * The MCUboot mode the server plays (what its bootloader does with a new image), as Zephyr's
 * img_mgmt and os_mgmt behave under each CONFIG_MCUBOOT_BOOTLOADER_MODE_*.
 */
enum smpfota_server_mode {
	/* Swap using move (default): upload to slot 1, test/confirm write trailers, MCUboot
	 * swaps at reset and reverts an unconfirmed image. bootloader info mode 3. */
	SMPFOTA_SERVER_SWAP = 0,
	/* Overwrite-only: as swap for the server; MCUboot copies slot 1 over slot 0 and never
	 * reverts. Mode 2. */
	SMPFOTA_SERVER_OVERWRITE,
	/* Direct-xip without revert: each slot runs in place; the server runs from the slot
	 * holding the highest valid version (chosen at init, as MCUboot chose it), uploads go to
	 * the other slot, image test/confirm answer ENOTSUP. Mode 4. */
	SMPFOTA_SERVER_DIRECT_XIP,
	/* RAM load: as direct-xip for SMP (MCUboot copies the highest version to RAM). Mode 6. */
	SMPFOTA_SERVER_RAM_LOAD,
	/* MCUboot's own serial recovery (boot_serial.c), no application running: image list
	 * without flags, uploads straight into slot 0 (the primary), reset, echo; everything
	 * else (params, info, bootloader info, image test/confirm, erase) ENOTSUP. */
	SMPFOTA_SERVER_SERIAL_RECOVERY,
};

struct smpfota_server_config {
	/* Image pairs: image i uses slots 2i (primary) and 2i+1 (secondary). */
	const struct smpfota_boot_image *images;
	size_t n_images;
	uint8_t active_image; /* the image this server runs from (0: app core) */

	uint32_t buf_size; /* reported by `os params`: the largest frame accepted */
	uint32_t buf_count;

	struct smpfota_server_info info;

	uint8_t mode; /* enum smpfota_server_mode */
	/* Answer `bootloader info` with ENOTSUP, as most Zephyr targets do
	 * (CONFIG_MCUMGR_GRP_OS_BOOTLOADER_INFO is off by default). */
	bool no_bootloader_info;

	/* Zephyr Kconfig equivalents */
	bool verbose_err;             /* CONFIG_MCUMGR_SMP_VERBOSE_ERR_RESPONSE: add "rsn" */
	bool image_check;             /* CONFIG_IMG_ENABLE_IMAGE_CHECK: "match" on the last chunk */
	bool allow_confirm_secondary; /* ..._ALLOW_CONFIRM_NON_ACTIVE_IMAGE_SECONDARY */

	/* Called after a reset response is built; the platform restarts once it is sent.
	 * Return non-zero to refuse (answered with MGMT_ERR_EBUSY unless `force`). */
	int (*reset)(void *ctx, bool force);
	/* Optional: a line of diagnostic text (why a request was refused). */
	void (*log)(void *ctx, const char *msg);
	void *ctx;
};

/* Upload in progress. Kept in the server so that a port can place the whole struct in
 * RAM retained over a warm reset and resume (see smpfota_server_init()).
 *
 * The file is verified while it arrives: every accepted byte goes through a SHA-256 of the
 * whole file (for the client's "sha", the `match` flag) and through the streaming MCUboot
 * image reader (the image's SHA-256 TLV), so the last chunk reads nothing back from the slot.
 * Both contexts are plain data and live here, covered by `crc`, so a resumed upload continues
 * them and still ends verified. (A port with a hardware SHA-256 whose context does not hold
 * its whole state, MBEDTLS_SHA256_ALT, cannot resume over a reset that loses that state.)
 *
 * The record is only valid (magic and crc) between requests: while a chunk is being written it
 * is marked busy, so a reset in the middle of a request never resumes from a record that does
 * not match the flash. */
struct smpfota_server_upload {
	uint32_t magic; /* upload in progress and the record complete */
	uint8_t image;
	uint8_t sha_len;
	uint8_t sha[32];
	uint32_t size;    /* total image length ("len") */
	uint32_t off;     /* bytes accepted so far (next expected offset) */
	uint32_t written; /* bytes committed to flash (off minus wbuf_len) */
	uint32_t erased;  /* slot bytes known erased from the start */
	uint8_t wbuf_len; /* bytes waiting for a whole write block */
	uint8_t wbuf[SMPFOTA_SERVER_MAX_WRITE_SIZE];
	/* SHA-256 context over the file so far (opaque, as in the image reader). */
	union {
		uint64_t align;
		uint8_t bytes[SMPFOTA_IMAGE_SHA_CTX_SIZE];
	} file_sha;
	struct smpfota_image_reader reader; /* the image so far */
	uint32_t crc;                       /* over the fields above, for retained-RAM resume */
};

struct smpfota_server_stats {
	uint32_t requests;
	uint32_t errors;    /* responses carrying rc or err */
	uint32_t malformed; /* frames dropped or refused as malformed */
	uint32_t bytes_written;
	uint32_t pages_erased;
};

struct smpfota_server {
	const struct smpfota_server_config *cfg;
	/* Direct-xip and RAM load: the slot of each image that runs (0 or 1), fixed at init. */
	uint8_t run_slot[SMPFOTA_SMP_MAX_IMAGES / 2];
	struct smpfota_server_upload up;
	struct smpfota_server_stats stats;
	bool reset_requested;
};

/*
 * Start a server: at every boot (in direct-xip and RAM load it learns here which slot runs:
 * the highest valid version, as MCUboot chose). cfg is kept by pointer and must outlive s.
 * If `s` already holds a valid upload record (a port that keeps the
 * struct in RAM retained over a warm reset passes resume = true), the upload continues
 * where it stopped; otherwise the server starts idle.
 */
int smpfota_server_init(struct smpfota_server *s, const struct smpfota_server_config *cfg,
			bool resume);

/*
 * Handle one request frame (8-byte header + CBOR) and build its response in rsp.
 * Returns the response length, 0 when the frame gets no answer (a response header, or
 * something too short to be SMP), or a negative error (rsp too small).
 */
int smpfota_server_handle(struct smpfota_server *s, const uint8_t *req, size_t req_len,
			  uint8_t *rsp, size_t rsp_size);

/* True once a reset was accepted; the port restarts after sending the response. */
static inline bool smpfota_server_reset_pending(const struct smpfota_server *s)
{
	return s->reset_requested;
}

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_SERVER_H */
