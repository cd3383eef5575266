/*
 * SMP client engine for a microcontroller (and a PC): event-driven, no threads, no malloc,
 * all state in the caller's struct smpfota_client. The caller provides
 *   - a transport: a function that sends one whole SMP frame, and the largest frame it carries;
 *   - the time: every entry point takes `now` in milliseconds (any epoch; wraps safely);
 *   - memory: frame buffers for the requests in flight (kept for retransmission).
 * and drives it with three calls:
 *   smpfota_client_input()  - a frame arrived from the server
 *   smpfota_client_poll()   - time passed (retransmit, time out, pump the upload)
 *   smpfota_client_next_deadline() - how long the caller may sleep
 *
 * Requests are matched to responses by sequence number (and group/command); each has a
 * timeout and a bounded number of retransmissions of the same frame (same seq, as Zephyr's
 * smp_client). Late, duplicate and unknown responses are ignored.
 *
 * On top of single requests, the engine runs a pipelined image upload: it sizes each chunk
 * so the encoded request exactly fills the server's buffer (and the transport MTU), learns
 * the link as it goes (round-trip time and variance for its retransmission timeouts; a
 * window of chunks in flight that grows only while that raises the delivered rate, and
 * stays lower after it brought losses), follows the server's `off` (resume, skip ahead,
 * rewind: a loss is resent as soon as a later answer shows it), and checks the final
 * `match`. docs/client.md describes the algorithm.
 *
 * Usage (one request; update.h runs a whole update the same way):
 *
 *     static uint8_t bufs[3 * 512];           // 2 requests in flight + 1 read buffer
 *     static struct smpfota_client cli;
 *     struct smpfota_client_config cfg = {
 *         .tx = {.send = my_send, .ctx = &my_uart, .mtu = 512},
 *         .buf = bufs, .buf_size = sizeof(bufs), .frame_cap = 512, .slots = 2,
 *         .version = SMPFOTA_SMP_V2, .retries = 2};
 *     smpfota_client_init(&cli, &cfg);
 *     struct smpfota_os_echo_req q = {.d = {"hi", 2}};
 *     smpfota_client_send(&cli, SMPFOTA_MSG_OS_ECHO, &q, 0, on_echo, NULL, now_ms());
 *     while (smpfota_client_pending(&cli) > 0) {
 *         // feed every received frame: smpfota_client_input(&cli, frame, len, now_ms());
 *         smpfota_client_poll(&cli, now_ms());
 *         sleep_or_wait_for_rx(smpfota_client_next_deadline(&cli, now_ms()));
 *     }
 *
 * Lifetimes: smpfota_client_init() copies the config struct, but cfg->buf and the
 * transport's ctx must outlive the client. A request struct passed to _send() is encoded at
 * once and may go away on return. An upload source (its ctx, the data it reads) must stay
 * valid until the upload's done callback, or smpfota_client_cancel().
 *
 * Callbacks (response, progress, done) run inside smpfota_client_input() or _poll(). From
 * them you may call smpfota_client_send(), _send_once(), _upload(), _pending() and
 * _cancel(); not smpfota_client_input() or _poll() (the engine is mid-update), and not
 * smpfota_client_init(). The response struct is valid only during the callback. The
 * transport's send() is called from _send(), _input() and _poll(): it must not call back
 * into the engine (queue a received frame and feed it from the main loop instead).
 * Not thread-safe: call everything from one thread or work queue.
 */
#ifndef SMPFOTA_CLIENT_H
#define SMPFOTA_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/smp.h"

#ifdef __cplusplus
extern "C" {
#endif

struct smpfota_client_transport {
	/* Send one whole SMP frame. 0 on success; SMPFOTA_ERR_BUSY when the transport has no
	 * room right now (the engine tries again on the next poll); other errors count as a
	 * lost frame (retransmitted on timeout). */
	int (*send)(void *ctx, const uint8_t *frame, size_t len);
	void *ctx;
	/* Largest SMP frame (8-byte header + CBOR) one send may carry: UDP 1472 for IPv4,
	 * serial buf_size - 4 of the server, ESB link: its frame limit. */
	uint16_t mtu;
	/* The link carries a frame in pieces of this many bytes, a packet each (BLE with
	 * reassembly: ATT MTU - SMPFOTA_GATT_ATT_HDR); 0: it does not. The update workflow
	 * (update.h) then sizes upload frames to whole pieces when the last one would carry
	 * less than half a piece: it costs a packet slot of a connection event for little data
	 * (docs/ble.md). The engine does not use it: a caller of smpfota_client_upload()
	 * rounds buf_size itself. */
	uint16_t piece;
};

struct smpfota_client_config {
	struct smpfota_client_transport tx;
	/* Frame buffers: `slots` buffers of `frame_cap` bytes each, plus one more for reading
	 * upload data, carved from buf (buf_size >= (slots + 1) * frame_cap). */
	uint8_t *buf;
	size_t buf_size;
	uint16_t frame_cap;
	uint8_t slots;       /* requests in flight at most: 1..SMPFOTA_CLIENT_MAX_INFLIGHT */
	uint8_t version;     /* SMP version spoken: SMPFOTA_SMP_V2 (default 0 means v1!) */
	uint32_t timeout_ms; /* per attempt; 0 = 2500 */
	uint8_t retries;     /* retransmissions after the first attempt; 0 = none */
	uint8_t seq;         /* first sequence number (any; e.g. random) */
};

/* Completion of one request. err: 0 when a response arrived and decoded (its status may
 * still carry an SMP error: see rsp->status), SMPFOTA_ERR_TIMEDOUT after the last retry,
 * SMPFOTA_ERR_PROTO for a response that does not decode. rsp is valid during the call,
 * and NULL on a timeout. */
typedef void (*smpfota_client_rsp_fn)(void *user, int err, enum smpfota_smp_msg msg,
				      const union smpfota_smp_rsp *rsp);

/* ---- upload ------------------------------------------------------------------------------ */

/* Where the image comes from: a file on a PC, flash on a device. */
struct smpfota_upload_source {
	smpfota_read_fn read; /* 0 or negative; called with len <= the chunk size */
	void *ctx;
	uint32_t size;
	uint8_t sha[32]; /* SHA-256 of the whole file: the server's upload session id */
};

struct smpfota_upload_params {
	uint8_t image;             /* 0: app core, 1: network core */
	bool upgrade;              /* server refuses a version not newer than the running one */
	uint32_t buf_size;         /* server's MCUmgr buf_size; 0 = unknown (falls back to 384) */
	uint32_t buf_count;        /* server's buf_count; 0 = unknown (window 1) */
	uint8_t window;            /* max chunks in flight; 0 = auto: buf_count - 1, >= 1. The
				   * engine starts lower and grows while that pays. */
	uint16_t chunk;            /* max data bytes per chunk; 0 = as many as fit */
	uint32_t first_timeout_ms; /* the session-opening chunk may take this long in all (the
				   * server may erase the whole slot first). Meanwhile it is not
				   * resent blindly: a small echo asks whether the server is alive,
				   * and only an answer to it (the chunk was lost) sends it again.
				   * 0 = 20000 */
	uint32_t timeout_ms;       /* later chunks: the longest retransmission timeout, and the
				   * one used before the round trip is known; 0 = the client's */
	uint8_t max_failures;      /* losses without progress before giving up; 0 = 10 */
	bool held_not_dropped;     /* the transport holds back a frame the target has no room
				   * for yet instead of dropping it (smpfota's ESB link with the
				   * frame bridge: credits, withheld ACKs), so more in flight only
				   * queues: the window starts full, not learned, and the opening
				   * chunk does not go alone. The default window is then the
				   * client's slots - 1 (one for a probe), not buf_count - 1. */
	bool lossless;             /* the link loses no frame (BLE: its link layer resends until
				   * acknowledged), so only a full target drops a request, and
				   * buf_count - 1 in flight always fit (one buffer stays free for
				   * the answer). Nothing to learn then, as without
				   * SMPFOTA_CONFIG_CLIENT_LEARN: the window starts at
				   * buf_count - 1 (learning it from stop-and-wait costs seconds
				   * over long connection intervals) and chunks wait timeout_ms,
				   * not a round trip (a flash erase would bring a probe that a
				   * full target drops). The opening chunk still goes alone, and
				   * a loss (a dropped connection) does not halve the window. */
};

struct smpfota_upload_progress {
	uint32_t done; /* bytes the server has confirmed */
	uint32_t total;
	uint32_t elapsed_ms;
	uint8_t window;       /* current window */
	uint16_t chunk;       /* data bytes per full chunk */
	uint32_t retransmits; /* chunks sent again */
	uint32_t rewinds;     /* times the server's off sent us back */
	uint32_t skips;       /* times it sent us ahead (a resumed session) */
	/* with SMPFOTA_CONFIG_CLIENT_LEARN (else 0): */
	uint32_t timeouts; /* retransmission timeouts of chunks */
	uint32_t srtt_ms;  /* smoothed round trip of a chunk (0: not known yet) */
};

typedef void (*smpfota_upload_progress_fn)(void *user, const struct smpfota_upload_progress *p);

/* End of an upload. err: 0 (done; match is true when the server confirmed the sha, or when
 * it does not report one; false when the sha had to be truncated to fit a tiny buffer), SMPFOTA_ERR_TIMEDOUT, SMPFOTA_ERR_HASH_MISMATCH (server said
 * match: false), SMPFOTA_ERR_PROTO (response without "off"), SMPFOTA_ERR_IO (source read),
 * or SMPFOTA_ERR_REJECTED with st holding the server's rc / err. */
typedef void (*smpfota_upload_done_fn)(void *user, int err, const struct smpfota_smp_status *st,
				       bool match);

/* ---- state ----------------------------------------------------------------------------- */

struct smpfota_client_req {
	uint8_t state; /* free, queued (not yet sent), sent */
	uint8_t seq;
	uint8_t msg;
	uint8_t tries;     /* attempts so far */
	uint8_t max_tries; /* attempts allowed */
	uint8_t epoch;     /* upload epoch the chunk was sent in (older: stale) */
	bool is_chunk;
	uint16_t len;      /* frame length in the slot's buffer */
	uint16_t data_len; /* upload chunk: data bytes */
	uint32_t sent_at;
	uint32_t timeout_ms;
	smpfota_client_rsp_fn fn;
	void *user;
	uint32_t off; /* upload chunk: offset */
};

struct smpfota_client_upload {
	/* Scalars first: a Cortex-M reaches them with its short load/store forms. */
	bool active;
	uint8_t window;      /* chunks in flight allowed now */
	uint8_t window_max;  /* its cap while it grows (a loss ends the growing for good) */
	uint8_t clean;       /* natural acks in the measurement (255: not started) */
	uint8_t failures;    /* consecutive losses at `acked` */
	uint8_t epoch;       /* bumped whenever sending restarts from the server's off */
	bool first_done;     /* the session-opening chunk (off 0, len, sha) was answered */
	bool sha_truncated;  /* the buffer was too small for the whole sha */
	bool growing;        /* still measuring whether one more chunk in flight pays */
	bool probing;        /* an echo asks whether the server is alive */
	bool probe_ok;       /* it answered while the chunk at probe_off did not */
	bool probe_silent;   /* it went unanswered too */
	uint32_t frame_size; /* encoded request budget: min(server buf, mtu, frame_cap) */
	uint32_t next_off;   /* next byte to send */
	uint32_t acked;      /* server's off: all below is written */
	uint32_t sent_hi;    /* highest byte ever sent: a send below it is a retransmit */
	uint32_t opened_at;  /* when the session-opening chunk was first sent */
	uint32_t probe_off;  /* acked when the probe was sent */
	uint32_t started_at;
	/* delivered-rate measurement of the current window against the last one */
	uint32_t meas_off; /* measure from the answer of the chunk sent at this offset */
	uint32_t meas_at;
	uint32_t t_ref; /* time per answer of the window before, 1/16 ms */
	smpfota_upload_progress_fn progress;
	smpfota_upload_done_fn done;
	void *user;
	struct smpfota_upload_params prm;
	struct smpfota_upload_source src;
	struct smpfota_upload_progress stats;
};

/* The upload state first, then the config: their scalars within the short load/store
 * reach of a Cortex-M. */
struct smpfota_client {
	struct smpfota_client_upload up;
	struct smpfota_client_config cfg;
	uint8_t seq;
	/* Round-trip estimate (RFC 6298: smoothed, and mean deviation), in 1/8 and 1/4 ms, from
	 * requests answered after one copy only (Karn). rtt_kind: 0 none, 1 from small requests
	 * only, 2 from upload chunks (the first chunk sample replaces the small ones). */
	uint8_t rtt_kind;
	uint8_t backoff; /* RTO doublings since the last sample */
	uint32_t srtt8;
	uint32_t var4;
	struct smpfota_client_req req[SMPFOTA_CLIENT_MAX_INFLIGHT];
	union smpfota_smp_rsp rsp; /* decoded response, valid during a callback */
};

/* Check the config and start idle. SMPFOTA_ERR_INVAL for a bad config. The config is
 * copied; cfg->buf and cfg->tx.ctx must outlive the client (see the top of this file). */
int smpfota_client_init(struct smpfota_client *c, const struct smpfota_client_config *cfg);

/* Send a request of kind msg (req points to its struct). timeout_ms 0 = the default.
 * Returns 0, SMPFOTA_ERR_BUSY (no free slot), SMPFOTA_ERR_NOSPC (frame too large). */
int smpfota_client_send(struct smpfota_client *c, enum smpfota_smp_msg msg, const void *req,
			uint32_t timeout_ms, smpfota_client_rsp_fn fn, void *user, uint32_t now);

/* As smpfota_client_send(), but never retransmitted: for requests that must not run twice
 * (os reset: a second copy would reset the rebooted target again and revert a test). */
int smpfota_client_send_once(struct smpfota_client *c, enum smpfota_smp_msg msg, const void *req,
			     uint32_t timeout_ms, smpfota_client_rsp_fn fn, void *user,
			     uint32_t now);

/* A frame arrived. Unknown, late and duplicate responses are ignored (returns 0 anyway);
 * a frame that is not an SMP response returns SMPFOTA_ERR_PROTO. */
int smpfota_client_input(struct smpfota_client *c, const uint8_t *frame, size_t len, uint32_t now);

/* Time passed: retransmit, expire, send queued frames, move the upload on. */
void smpfota_client_poll(struct smpfota_client *c, uint32_t now);

/* Milliseconds until the engine next needs smpfota_client_poll() (0: now), or -1 when
 * nothing is pending. */
int32_t smpfota_client_next_deadline(const struct smpfota_client *c, uint32_t now);

/* Requests in flight (or queued). */
unsigned smpfota_client_pending(const struct smpfota_client *c);

/* Drop every request (callbacks are not called) and stop an upload. */
void smpfota_client_cancel(struct smpfota_client *c);

/* Change the transport's MTU (once `os params` told the server's buffer size, say), keeping
 * what the engine learned about the link's round trip (a new smpfota_client_init() would
 * forget it, and the first chunk would wait the whole default timeout if lost). Only while
 * nothing is pending; 64 <= mtu <= frame_cap. Returns 0, SMPFOTA_ERR_BUSY or
 * SMPFOTA_ERR_INVAL. */
int smpfota_client_set_mtu(struct smpfota_client *c, uint16_t mtu);

/* Start a pipelined upload. Returns 0 or SMPFOTA_ERR_BUSY (requests or an upload in
 * progress), SMPFOTA_ERR_INVAL, SMPFOTA_ERR_NOSPC (not even the first chunk fits). */
int smpfota_client_upload(struct smpfota_client *c, const struct smpfota_upload_source *src,
			  const struct smpfota_upload_params *prm,
			  smpfota_upload_progress_fn progress, smpfota_upload_done_fn done,
			  void *user, uint32_t now);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_CLIENT_H */
