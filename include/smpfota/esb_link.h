/*
 * ESB link layer: whole SMP frames over Enhanced ShockBurst, radio-agnostic.
 * Facts cited: shared/spec/esb-nrf5340.md §1 (NCS esb.h / esb.c).
 *
 * Roles: the master is the PTX, the target the PRX. ESB lets a PRX send data only inside
 * ACKs, with the payload queued *before* the packet it rides on arrives (§1.8). So:
 *   - PTX -> PRX: SMP frames cut into ESB packets;
 *   - PRX -> PTX: SMP frames cut into ACK payloads, queued ahead into the radio;
 *   - the PTX sends poll packets (header only) while it waits for an answer and has no
 *     data to send, so that queued ACK payloads can flow.
 *
 * Payload format (every ESB payload this link sends):
 *
 *     byte 0   bit 7 FIRST, bit 6 LAST, bit 5 reserved (0), bits 4..0 frame id (mod 32)
 *     byte 1   fragment index within the frame (mod 256)
 *     FIRST only: bytes 2-3 the frame's total length, big-endian
 *     then 1.. bytes of frame data
 *
 * A payload of exactly 2 bytes (header, no data) is a poll; receivers ignore its fields.
 * ESB delivers packets in order with its own ARQ, and its 2-bit PID only catches
 * back-to-back repeats (§1.7), so the receiver tracks (frame id, next index): a fragment of
 * the current or just-finished frame whose index is up to 8 (the TX FIFO depth) behind is a
 * duplicate and dropped; any other break in the sequence drops the partial frame. The total
 * length in the first fragment makes each frame self-checking: it is delivered only when
 * the LAST fragment ends it at exactly that length, and an oversized frame is refused at
 * its first fragment. Data integrity itself is ESB's CRC-16.
 *
 * Flow control (receiver without room): the rx callback returns SMPFOTA_ERR_BUSY. The link
 * then keeps the complete frame in its buffer, stops reading the radio's RX FIFO, and offers
 * the frame again on every smpfota_esb_link_poll(). On a PRX this is ESB's own back-pressure
 * (§1.8): once the 8-entry RX FIFO fills, ESB withholds ACKs, the PTX retransmits and gets
 * TX_FAILED, and the PTX link backs off and resends the same packet. A PTX that is busy also
 * stops sending (no new ACK payloads can arrive while it is stalled).
 *
 * TX_FAILED (PTX, ESB ran out of retransmissions; the packet stays at the FIFO head, §1.7):
 * the link waits backoff_us and restarts the radio (start_tx), so the *same* packet goes
 * again with the same PID and ESB's duplicate detection still works. After max_tx_failures
 * consecutive failures it gives up: it flushes the radio's TX FIFO and drops the frame being
 * sent (the next frame gets a new id, so the receiver discards the partial one); recovery is
 * then the SMP client's retransmission. A PRX never sees TX_FAILED.
 *
 * Threading: every call for one link from one context (ESB raises events in an ISR, §1.3:
 * the port defers them to a thread or work item and calls smpfota_esb_link_on_event there).
 * No malloc, no global state.
 */
#ifndef SMPFOTA_ESB_LINK_H
#define SMPFOTA_ESB_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest ESB payload (CONFIG_ESB_MAX_PAYLOAD_LENGTH range 1-252, §1.4). */
#define SMPFOTA_ESB_MAX_PAYLOAD 252U
/* Header bytes of every payload, and of a frame's first fragment. */
#define SMPFOTA_ESB_HDR_SIZE 2U
#define SMPFOTA_ESB_FIRST_HDR_SIZE 4U
/* Smallest radio payload limit the link works with (first header + one byte). */
#define SMPFOTA_ESB_MIN_PAYLOAD 5U
/* Largest frame: the first fragment's 16-bit length. */
#define SMPFOTA_ESB_MAX_FRAME 65535U
/* How far behind the expected index a fragment still counts as a duplicate. */
#define SMPFOTA_ESB_DUP_WINDOW 8U

#define SMPFOTA_ESB_FLAG_FIRST 0x80U
#define SMPFOTA_ESB_FLAG_LAST 0x40U
#define SMPFOTA_ESB_FLAG_RESERVED 0x20U
#define SMPFOTA_ESB_ID_MASK 0x1fU

/* As NCS's struct esb_payload. */
struct smpfota_esb_payload {
	uint8_t length;
	uint8_t pipe;
	int8_t rssi;
	uint8_t noack;
	uint8_t pid;
	uint8_t data[SMPFOTA_ESB_MAX_PAYLOAD];
};

/* As NCS's ESB_EVENT_*; like them they may be coalesced (one event for several). */
enum smpfota_esb_evt {
	SMPFOTA_ESB_EVT_TX_SUCCESS = 0,
	SMPFOTA_ESB_EVT_TX_FAILED = 1,
	SMPFOTA_ESB_EVT_RX_RECEIVED = 2,
};

/* The radio, shaped like NCS esb.h so a Zephyr port maps each op onto one esb_* call. */
struct smpfota_esb_radio {
	/* esb_write_payload(): PTX queues a packet (AUTO mode: starts TX when idle); PRX queues
	 * an ACK payload for p->pipe, sent with the ACK of the next packet received. 0, or
	 * SMPFOTA_ERR_NOMEM when the TX FIFO (8 entries, §1.5) is full; other negatives are
	 * counted as radio errors. */
	int (*write_payload)(void *ctx, const struct smpfota_esb_payload *p);
	/* esb_read_rx_payload(): > 0 (the payload length) when one was read, 0 when the RX FIFO
	 * is empty (the adapter maps -ENODATA to 0), negative on error. */
	int (*read_rx_payload)(void *ctx, struct smpfota_esb_payload *p);
	/* PTX only. esb_start_tx(): resend the FIFO head after TX_FAILED. */
	int (*start_tx)(void *ctx);
	/* PTX only. esb_flush_tx(). */
	int (*flush_tx)(void *ctx);
	/* PTX only. esb_is_idle(): no packet queued or in flight. */
	bool (*is_idle)(void *ctx);
	void *ctx;
	/* CONFIG_ESB_MAX_PAYLOAD_LENGTH of the build: SMPFOTA_ESB_MIN_PAYLOAD..252. */
	uint8_t max_payload;
};

enum smpfota_esb_role {
	SMPFOTA_ESB_PTX = 0, /* master: sends packets and polls */
	SMPFOTA_ESB_PRX = 1, /* target: answers in ACK payloads */
};

/* A whole frame arrived (valid during the call). Return 0 when taken, SMPFOTA_ERR_BUSY when
 * there is no room now: the link keeps it and offers it again on smpfota_esb_link_poll(). */
typedef int (*smpfota_esb_rx_fn)(void *user, const uint8_t *frame, size_t len);

struct smpfota_esb_link_config {
	enum smpfota_esb_role role;
	struct smpfota_esb_radio radio;
	uint8_t pipe;     /* ESB pipe used (PTX: sends on it; PRX: ACK payloads for it) */
	uint8_t first_id; /* frame id of the first frame (any; e.g. random) */
	/* Outgoing frames: a ring in caller memory, 2 bytes of length per frame. */
	uint8_t *txq;
	size_t txq_size;
	/* Reassembly buffer: the largest frame accepted. */
	uint8_t *rx_buf;
	size_t rx_size;
	smpfota_esb_rx_fn rx;
	void *user;
	/* PTX polling: one poll at a time, right after one that brought data, else every
	 * poll_interval_us; from a frame sent until poll_timeout_us pass without a frame sent
	 * or received. (Counting answers instead is fooled by a stale answer from before a
	 * restart, or by two answers to a retransmitted request.) 0 = defaults 1000 / 3 000 000. */
	uint32_t poll_interval_us;
	uint32_t poll_timeout_us;
	/* PTX TX_FAILED policy (see above). 0 = defaults 2000 µs / 50. */
	uint32_t backoff_us;
	uint16_t max_tx_failures;
};

struct smpfota_esb_link_stats {
	uint32_t packets_tx; /* payloads written to the radio (data and polls) */
	uint32_t packets_rx; /* payloads read from the radio */
	uint32_t frags_tx;
	uint32_t frags_rx; /* data fragments read (before any drop) */
	uint32_t polls_tx;
	uint32_t polls_rx;
	uint32_t frames_tx;    /* frames fully written to the radio */
	uint32_t frames_rx;    /* frames delivered */
	uint32_t fifo_full;    /* write_payload said the TX FIFO was full */
	uint32_t radio_errors; /* other write/read errors */
	uint32_t tx_failed;    /* TX_FAILED events */
	uint32_t tx_restarts;  /* start_tx after a backoff */
	uint32_t rx_busy;      /* the rx callback said busy */
	/* drops by reason */
	uint32_t drop_dup;       /* duplicate fragment */
	uint32_t drop_lost;      /* partial frame dropped: a fragment was missing */
	uint32_t drop_orphan;    /* fragment with no frame start */
	uint32_t drop_malformed; /* bad header, or lengths inconsistent */
	uint32_t drop_overflow;  /* frame larger than rx_size */
	uint32_t drop_discarded; /* further fragments of a frame already dropped */
	uint32_t drop_tx_frames; /* partly sent frames given up after max_tx_failures */
	uint32_t tx_flushes;     /* radio TX FIFO flushed after max_tx_failures (the frames
				     * whose last packets were in it are lost too) */
};

/* State; callers allocate it, only this module touches the fields. */
struct smpfota_esb_link {
	struct smpfota_esb_link_config cfg;
	struct smpfota_esb_link_stats stats;
	uint32_t now;
	/* sending */
	size_t tx_head;   /* ring offset of the oldest frame's length */
	size_t tx_used;   /* bytes in the ring */
	uint16_t cur_len; /* frame being cut (0: none loaded) */
	uint16_t cur_off; /* its bytes already written to the radio */
	uint8_t cur_idx;
	uint8_t tx_id;
	bool backoff; /* PTX: waiting after TX_FAILED */
	uint32_t backoff_at;
	uint16_t failures; /* consecutive TX_FAILED */
	/* PTX polling */
	bool linger;  /* a frame was sent: poll until poll_timeout_us of quiet */
	bool flowing; /* the last poll brought data */
	uint32_t last_activity;
	uint32_t last_poll;
	/* receiving */
	uint8_t rx_state;
	uint8_t rx_id;
	uint8_t rx_next;
	bool rx_stalled; /* a whole frame waits for the rx callback */
	uint16_t rx_total;
	size_t rx_len;
	struct smpfota_esb_payload tx_pl;
	struct smpfota_esb_payload rx_pl;
};

/*
 * Check the config and start idle. SMPFOTA_ERR_INVAL for a bad config.
 * Lifetimes: the config is copied; cfg->txq, cfg->rx_buf, the radio's ctx and cfg->user must
 * outlive the link.
 * Callbacks: cfg->rx runs inside smpfota_esb_link_on_event() and _poll(); the frame it gets
 * is valid only during the call. From it you may call smpfota_esb_link_send() (a PRX answers
 * this way), _mtu() and _tx_idle(), and feed the frame to a client or server; not
 * smpfota_esb_link_on_event() or _poll(). The radio ops are called from every entry point
 * and must not call back into the link (the port defers ESB events to its own loop).
 * Not thread-safe: ESB's event handler should only wake the thread that calls the link.
 */
int smpfota_esb_link_init(struct smpfota_esb_link *l, const struct smpfota_esb_link_config *cfg,
			  uint32_t now_us);

/* Queue one whole frame (copied) and start sending it. 0, SMPFOTA_ERR_BUSY when the ring has
 * no room now, SMPFOTA_ERR_MSGSIZE when it can never fit, SMPFOTA_ERR_INVAL for len 0. */
int smpfota_esb_link_send(struct smpfota_esb_link *l, const uint8_t *frame, size_t len);

/* Adapter for struct smpfota_client_transport.send (ctx = the link). */
int smpfota_esb_link_transport_send(void *ctx, const uint8_t *frame, size_t len);

/* Largest frame smpfota_esb_link_send() accepts (for the client transport's mtu; the peer's
 * rx_size may be smaller). */
size_t smpfota_esb_link_mtu(const struct smpfota_esb_link *l);

/* An ESB event (from the port's deferred event handler). Drains the RX FIFO, refills the TX
 * FIFO. */
void smpfota_esb_link_on_event(struct smpfota_esb_link *l, enum smpfota_esb_evt evt,
			       uint32_t now_us);

/* Time passed (µs, any epoch, wraps safely): end a backoff, send a poll, offer a stalled
 * frame again, refill the FIFOs. */
void smpfota_esb_link_poll(struct smpfota_esb_link *l, uint32_t now_us);

/* µs until the link next needs smpfota_esb_link_poll() (0: now), or -1 when it waits only
 * for events. */
int32_t smpfota_esb_link_next_deadline(const struct smpfota_esb_link *l, uint32_t now_us);

/* True when no frame is queued or being cut. */
bool smpfota_esb_link_tx_idle(const struct smpfota_esb_link *l);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_ESB_LINK_H */
