/*
 * Broadcast with repair, for targets that opt in (docs/fleet.md, "Broadcast with repair").
 *
 * The master sends the image once, block by block, as raw packets every opted-in target
 * receives (on ESB: `noack` packets on an address all of them listen on); after each block it
 * asks every target, in a unicast SMP exchange, which chunks of the block it misses (a
 * bitmap), and broadcasts the union again, at most max_rounds times; a target that stays
 * silent, or still misses chunks then, or whose image does not verify, is dropped with a
 * named result and is finished by unicast (fleet.h: its slot does not hold the image, so the
 * ordinary upload runs).
 *
 * Target side: an SMP group in the user range (SMPFOTA_BCAST_GROUP, Zephyr's
 * MGMT_GROUP_ID_PERUSER) beside the server, and the raw packets. Chunks are written at any
 * offset into the secondary slot; a record in flash keeps which chunks arrived (one word per
 * chunk, programmed once), so a power cut mid-broadcast resumes; once every chunk is there
 * the whole file's SHA-256 is checked before the target ever reports done. The first chunk
 * (the MCUboot header) waits in the record and reaches the slot only after that check: until
 * then the slot holds no image, so `image list` never shows a half-received one (a dropped
 * target's unicast upload then starts from the beginning instead of trusting it).
 *
 *   START  (write, id 0): {"session": u8, "len": u32, "chunk": u16, "block": u32,
 *                          "sha": bstr(32)} -> {"rc": 0}. The same session resumes.
 *   STATUS (read, id 1):  {"block": u32} -> {"missing": bstr (bit i of byte i/8: chunk i of
 *                          the block is missing), "done": bool, "bad": bool}
 *   packet (broadcast):   0xB5, session, block (u16 BE), chunk index, data
 *
 * Chunks: block b holds [b * block, (b + 1) * block) of the file; chunk i of it starts at
 * i * chunk (the last of a block may be shorter); block is a multiple of the flash page and
 * at most 256 chunks long; chunk a multiple of the flash write size.
 *
 * No malloc, no globals; every struct belongs to the caller. Not thread-safe.
 */
#ifndef SMPFOTA_BCAST_H
#define SMPFOTA_BCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/flash.h"
#include "smpfota/smp.h"
#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SMPFOTA_BCAST_GROUP 64U /* MGMT_GROUP_ID_PERUSER */
#define SMPFOTA_BCAST_CMD_START 0U
#define SMPFOTA_BCAST_CMD_STATUS 1U
#define SMPFOTA_BCAST_MAGIC 0xb5U
#define SMPFOTA_BCAST_PKT_HDR 5U
#define SMPFOTA_BCAST_MAX_CHUNKS 256U /* per block: a 32-byte bitmap */
#define SMPFOTA_BCAST_BITMAP (SMPFOTA_BCAST_MAX_CHUNKS / 8U)
/* Record bytes for an image of len bytes in chunks of chunk bytes (per-block chunk counts
 * round up, so it is computed from the block size too). */
#define SMPFOTA_BCAST_RECORD_HDR 512U
#define SMPFOTA_BCAST_RECORD_SIZE(len, block, chunk) \
	(SMPFOTA_BCAST_RECORD_HDR + \
	 4U * (((len) + (block)-1U) / (block)) * (((block) + (chunk)-1U) / (chunk)))

/* ---- target ------------------------------------------------------------------------------- */

struct smpfota_bcast_target_config {
	struct smpfota_flash_area slot;   /* the secondary slot the chunks go to */
	struct smpfota_flash_area record; /* the received-chunk record (whole pages) */
};

struct smpfota_bcast_target {
	const struct smpfota_bcast_target_config *cfg;
	bool active;
	bool verified;
	bool bad; /* a chunk could not be written, or the image did not verify */
	uint8_t session;
	uint16_t chunk;
	uint32_t len, block;
	uint32_t per_block; /* chunks per block */
	uint32_t received;  /* chunks recorded */
	uint32_t total;     /* chunks in the image */
	uint8_t sha[32];
	struct {
		uint32_t packets, duplicates, ignored, write_errors;
	} stats;
};

/* Start; an earlier session's record is taken back (power cut mid-broadcast). cfg must
 * outlive b. */
int smpfota_bcast_target_init(struct smpfota_bcast_target *b,
			      const struct smpfota_bcast_target_config *cfg);

/* An SMP request: the response's length (> 0), or SMPFOTA_ERR_NOTSUP when it is not of the
 * broadcast group (hand it to the server), or a negative error (rsp too small). */
int smpfota_bcast_target_handle(struct smpfota_bcast_target *b, const uint8_t *req, size_t len,
				uint8_t *rsp, size_t cap);

/* A broadcast packet. 0 (taken, a duplicate or not ours: counted) or a flash error. */
int smpfota_bcast_target_packet(struct smpfota_bcast_target *b, const uint8_t *p, size_t len);

/* ---- master ------------------------------------------------------------------------------- */

enum smpfota_bcast_result {
	SMPFOTA_BCAST_PENDING = 0,
	SMPFOTA_BCAST_DONE = 1,           /* the target verified the whole image */
	SMPFOTA_BCAST_DROPPED_SILENT = 2, /* stopped answering */
	SMPFOTA_BCAST_DROPPED_ROUNDS = 3, /* still missing chunks after max_rounds */
	SMPFOTA_BCAST_DROPPED_BAD = 4,    /* a write failed or the image did not verify */
	SMPFOTA_BCAST_REFUSED = 5,        /* no broadcast group, or START refused */
};

/* "pending", "done", "dropped-silent", "dropped-rounds", "dropped-bad", "refused" */
const char *smpfota_bcast_result_name(int result);

struct smpfota_bcast_member {
	/* the caller's: how to send this target a unicast SMP frame */
	int (*send)(void *ctx, const uint8_t *frame, size_t len);
	void *ctx;
	/* state */
	uint8_t result; /* enum smpfota_bcast_result */
	uint8_t seq;
	uint8_t tries;
	bool waiting;  /* a request is out */
	bool answered; /* this query round */
	uint32_t sent_at;
	uint8_t frame[96];
	uint16_t frame_len;
	uint8_t missing[SMPFOTA_BCAST_BITMAP];
};

struct smpfota_bcast_master_config {
	struct smpfota_bcast_member *members;
	size_t n;
	smpfota_read_fn read; /* the image */
	void *read_ctx;
	uint32_t len;
	const uint8_t *sha; /* its SHA-256 (32 bytes) */
	uint8_t session;
	uint16_t chunk;            /* data bytes per packet; a multiple of 4 */
	uint32_t block;            /* a multiple of the flash page; at most 256 chunks */
	uint8_t max_rounds;        /* repair rounds per block; 0 = 5 (as BLOB_CLI_BLOCK_RETRIES) */
	uint32_t timeout_ms;       /* per unicast attempt; 0 = 2500 */
	uint8_t retries;           /* unicast retransmissions; 0 = 2 */
	uint32_t start_timeout_ms; /* START may erase the slot first: per attempt; 0 = 20000 */
	/* The master restarted mid-broadcast: ask for each block's bitmap before sending it, so
	 * that what the targets kept in their records is not sent again. */
	bool resume;
	/* Queue one broadcast packet: 0, or SMPFOTA_ERR_BUSY when there is no room now. */
	int (*broadcast)(void *ctx, const uint8_t *pkt, size_t len);
	/* True once every queued packet is on air: the targets are asked only then (a query
	 * that overtook the block would report chunks still on their way as missing). */
	bool (*broadcast_idle)(void *ctx);
	void *bctx;
};

struct smpfota_bcast_master {
	struct smpfota_bcast_master_config cfg;
	uint8_t phase; /* start, send, query, done */
	uint32_t block_i, blocks;
	uint32_t per_block;
	uint8_t round;
	bool probing;                       /* resume: the block's first query, before any send */
	uint8_t todo[SMPFOTA_BCAST_BITMAP]; /* chunks of the block still to broadcast */
	uint32_t next_chunk;
	uint32_t now;
	uint8_t pkt[SMPFOTA_BCAST_PKT_HDR + 256];
	struct {
		uint32_t packets; /* broadcast packets queued */
		uint32_t repairs; /* of them resent in repair rounds */
		uint32_t queries; /* STATUS requests sent */
	} stats;
};

/* Check the config and start: START goes to every member. Lifetimes: the config is copied;
 * members, the image (read_ctx) and sha must outlive the master. */
int smpfota_bcast_master_start(struct smpfota_bcast_master *m,
			       const struct smpfota_bcast_master_config *cfg, uint32_t now);

/* A frame of the broadcast group from member i (others: give them to the client). */
void smpfota_bcast_master_input(struct smpfota_bcast_master *m, size_t i, const uint8_t *frame,
				size_t len, uint32_t now);

/* Time passed: retransmit, time out, queue packets. */
void smpfota_bcast_master_poll(struct smpfota_bcast_master *m, uint32_t now);

/* Milliseconds until the next poll is needed (0: now), or -1 when finished. */
int32_t smpfota_bcast_master_next_deadline(const struct smpfota_bcast_master *m, uint32_t now);

bool smpfota_bcast_master_finished(const struct smpfota_bcast_master *m);

/* True for a frame of the broadcast group (to route answers). */
bool smpfota_bcast_is_group(const uint8_t *frame, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_BCAST_H */
