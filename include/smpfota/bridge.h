/*
 * Frame bridge between two cores: whole SMP frames, one channel message each, with
 * credit-based flow control, restart handling and link events. Channel-agnostic: on an
 * nRF5340 the channel is an ipc_service endpoint (ICMsg) between the application and the
 * network core; in the simulator it is the modelled ICMsg ring. Both ends run this code.
 *
 * Why credits: an ICMsg receiver gets each message in a callback and must consume it there;
 * it cannot say "later". When the consumer is full (no mcumgr net_buf free, the ESB link's
 * queue full) the frame would be lost. So each end grants the other bytes of room in its own
 * receive ring, and a sender sends a frame only when it holds credit for it: a frame that
 * crosses is always stored. A full consumer thus pushes back across the cores (and, on the
 * network core, into ESB: the link stops reading its RX FIFO, ESB withholds ACKs).
 *
 * Messages (integers little-endian; every message is one channel message):
 *
 *   FRAME  0x01 tag  gepoch granted:u32  data...   an SMP frame (1..max_frame bytes), with
 *                                                  the sender's own grant piggybacked
 *   GRANT  0x02 epoch granted:u32                  more credit, same epoch
 *   EPOCH  0x03 epoch granted:u32 version max:u16  a new epoch: the receiver's count of
 *                                                  bytes sent restarts at 0 (the same
 *                                                  epoch: a grant, see Epochs); max = the
 *                                                  largest frame this end accepts
 *   HELLO  0x04 epoch granted:u32 version max:u16  EPOCH + "I (re)started: announce yours"
 *   EVENT  0x05 code value:u32                     a link event (see below)
 *
 * Credit: a frame of n bytes costs SMPFOTA_BRIDGE_COST(n) = n + 2 (its length prefix in the
 * receiver's ring). `granted` is the receiver's running total for the epoch: received + free
 * room. The sender may send while sent + cost <= granted (32-bit, wrapping). A receiver
 * recomputes granted from what it has really received, so a frame it had to drop (too big,
 * over credit) still counts and both ends stay in step.
 *
 * Epochs (restarts, either core, any order): each end owns the epoch of its receive side and
 * starts a new one (+1) whenever the other end may have lost its count: at start (HELLO,
 * resent every hello_interval_us until an EPOCH or HELLO comes back) and when a HELLO
 * arrives (answered by EPOCH) after frames were counted in the epoch. A HELLO that finds
 * nothing counted (both ends started together: the HELLOs crossed) is answered by an EPOCH
 * for the same epoch, as the other end may already be sending to it; an EPOCH for the epoch
 * a sender already knows only grants. A FRAME carries `tag`, the receiver's epoch as the sender
 * knew it when sending; a frame with another tag was sent against an old grant and is
 * dropped uncounted (the sender's count was reset by the announcement). The channel must
 * deliver in order (ICMsg does); it may lose everything on a restart.
 *
 * Granting: a GRANT goes only when the sender may be short (its credit, as last told, is below
 * one largest frame) and there is more to give; otherwise the grant rides on the next FRAME
 * this end sends (a request and its answer go opposite ways, so it usually does).
 *
 * Receive ring: frames are stored whole and contiguous (a frame that would straddle the end
 * starts again at 0), so the rx callback gets one pointer. To guarantee that any credited
 * frame fits, the grantable room is ring_size - SMPFOTA_BRIDGE_COST(max_frame): the ring must
 * hold at least two largest frames. A frame that arrives while the ring is empty goes to the
 * rx callback straight from the channel buffer, without a copy, when the callback takes it.
 *
 * Link events: EVENT carries one of 8 codes and a 32-bit value, latest value wins: posting
 * only marks the code pending, and pending events go together at most once per
 * event_interval_us and when the channel has room, so frequent changes (a duplicate ACK
 * payload bumps a counter on every radio packet) and a busy channel are coalesced and the
 * last value is never lost. Codes 0-3 carry the ESB link's counters
 * (smpfota_bridge_post_link_stats(): the network core reports radio trouble to the
 * application core, which has the log and the shell); 4-7 are free for the application.
 *
 * Threading: all calls for one bridge from one context, or under one lock (the ICMsg receive
 * callback and the work item that drives the rest take the same mutex). No malloc, no global
 * state; every buffer is the caller's and must outlive the bridge.
 */
#ifndef SMPFOTA_BRIDGE_H
#define SMPFOTA_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/esb_link.h"
#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SMPFOTA_BRIDGE_VERSION 1U

#define SMPFOTA_BRIDGE_MSG_FRAME 0x01U
#define SMPFOTA_BRIDGE_MSG_GRANT 0x02U
#define SMPFOTA_BRIDGE_MSG_EPOCH 0x03U
#define SMPFOTA_BRIDGE_MSG_HELLO 0x04U
#define SMPFOTA_BRIDGE_MSG_EVENT 0x05U

/* Header of a FRAME; a channel message carries at most this plus the largest frame (size the
 * channel's receive buffer for it: ICMsg's CONFIG_PBUF_RX_READ_BUF_SIZE, docs/ncs.md). */
#define SMPFOTA_BRIDGE_HDR_SIZE 7U
#define SMPFOTA_BRIDGE_CTRL_SIZE 6U  /* GRANT, EVENT */
#define SMPFOTA_BRIDGE_HELLO_SIZE 9U /* EPOCH, HELLO */
/* Credit a frame of n bytes costs, and the ring bytes it takes. */
#define SMPFOTA_BRIDGE_COST(n) ((size_t)(n) + 2U)
/* Smallest receive ring for frames up to max_frame bytes. */
#define SMPFOTA_BRIDGE_RING_MIN(max_frame) (2U * SMPFOTA_BRIDGE_COST(max_frame))
/* Largest max_frame (the ring's length prefix reserves 0xffff). */
#define SMPFOTA_BRIDGE_MAX_FRAME 0xfffeU

/* Event codes (0-7). 0-3: the ESB link's counters, cumulative since the link started. */
enum smpfota_bridge_evt {
	SMPFOTA_BRIDGE_EVT_TX_FAILED = 0,    /* ESB TX_FAILED events (retransmissions ran out) */
	SMPFOTA_BRIDGE_EVT_FRAMES_LOST = 1,  /* frames the link gave up after max_tx_failures */
	SMPFOTA_BRIDGE_EVT_RX_DROPS = 2,     /* fragments the reassembly dropped */
	SMPFOTA_BRIDGE_EVT_RADIO_ERRORS = 3, /* radio calls that failed */
	SMPFOTA_BRIDGE_EVT_USER = 4,         /* 4-7: the application's own */
	SMPFOTA_BRIDGE_EVT_COUNT = 8,
	/* Local only (never on the wire): the other end (re)started; value = its max_frame. */
	SMPFOTA_BRIDGE_EVT_PEER_RESTART = 0x10,
};

/* The channel. send: one message, 0 when queued for the other end, SMPFOTA_ERR_BUSY when
 * the channel has no room now (ICMsg -ENOMEM/-ENOBUFS: retried later, nothing lost), any
 * other negative value: an error (counted; a FRAME is then lost, as on a radio). */
struct smpfota_bridge_ops {
	int (*send)(void *ctx, const uint8_t *msg, size_t len);
	void *ctx;
};

/* A whole frame arrived (valid during the call). 0 when taken, SMPFOTA_ERR_BUSY when there
 * is no room now: the bridge keeps it (and its credit) and offers it again on every
 * smpfota_bridge_input() and smpfota_bridge_poll(). The callback may call
 * smpfota_bridge_send() on the same bridge (an answer), not input or poll. */
typedef int (*smpfota_bridge_rx_fn)(void *user, const uint8_t *frame, size_t len);
/* An event from the other end (codes 0-7, the latest value) or a local one
 * (SMPFOTA_BRIDGE_EVT_PEER_RESTART). The callback may call smpfota_bridge_send(). */
typedef void (*smpfota_bridge_event_fn)(void *user, unsigned code, uint32_t value);

struct smpfota_bridge_config {
	struct smpfota_bridge_ops ops;
	/* Receive ring, >= SMPFOTA_BRIDGE_RING_MIN(max_frame) bytes. */
	uint8_t *ring;
	size_t ring_size;
	/* Where outgoing messages are assembled: >= SMPFOTA_BRIDGE_HDR_SIZE + the largest frame
	 * this end sends (a larger frame gets SMPFOTA_ERR_MSGSIZE), and >= HELLO_SIZE. */
	uint8_t *tx_buf;
	size_t tx_buf_size;
	/* Largest frame accepted (1..SMPFOTA_BRIDGE_MAX_FRAME); told to the other end. */
	uint16_t max_frame;
	/* Epoch of the first HELLO; anything, but a restarted end should not reuse the last one
	 * (e.g. a boot counter or a random byte): an in-order channel that survived the restart
	 * would otherwise let old frames count against the new grant. */
	uint8_t first_epoch;
	smpfota_bridge_rx_fn rx;
	smpfota_bridge_event_fn event; /* may be NULL */
	void *user;
	/* HELLO resent this often until the other end answers; retry after the rx callback or
	 * the channel said busy. 0 = defaults 100 000 µs / 1000 µs. */
	uint32_t hello_interval_us;
	uint32_t retry_us;
	/* Events go at most this often. 0 = default 100 000 µs. */
	uint32_t event_interval_us;
};

struct smpfota_bridge_stats {
	uint32_t msgs_tx, msgs_rx;
	uint32_t frames_tx, frames_rx; /* frames sent; frames delivered to rx */
	uint32_t frames_direct;        /* ... of them without a copy into the ring */
	uint32_t grants_tx, grants_rx; /* standalone GRANT messages */
	uint32_t epochs_tx, hellos_tx, hellos_rx;
	uint32_t events_tx, events_rx;
	uint32_t no_credit;      /* smpfota_bridge_send() refused for lack of credit */
	uint32_t chan_busy;      /* the channel said busy */
	uint32_t chan_errors;    /* the channel failed */
	uint32_t rx_busy;        /* the rx callback said busy */
	uint32_t drop_stale;     /* frames tagged with an old epoch */
	uint32_t drop_credit;    /* frames beyond the credit given, or too large */
	uint32_t drop_malformed; /* unknown type, short, bad version */
};

/* State; callers allocate it, only this module touches the fields. */
struct smpfota_bridge {
	struct smpfota_bridge_config cfg;
	struct smpfota_bridge_stats stats;
	uint32_t now;
	/* sending side: credit granted by the other end */
	bool synced;   /* an EPOCH or HELLO came: tag and counts are valid */
	uint8_t tag;   /* the other end's receive epoch */
	uint32_t sent; /* cost sent in that epoch */
	uint32_t peer_granted;
	uint16_t peer_max_frame;
	uint32_t hello_at; /* next HELLO (while not synced) */
	/* receiving side: our epoch and the credit we gave */
	uint8_t epoch;
	bool announce;     /* the epoch is new and not told yet (EPOCH or HELLO) */
	uint32_t received; /* cost received in our epoch (stored, delivered or dropped) */
	uint32_t reported; /* granted total last told */
	/* receive ring: frames [u16 length][data], contiguous, 0xffff = skip to 0 */
	size_t r_head, r_phys, r_used; /* read offset; bytes taken with padding; without */
	uint16_t r_count;
	bool rx_blocked;   /* the rx callback said busy */
	uint32_t retry_at; /* rx callback or channel busy: try again then */
	/* events: last value posted per code, and which still wait for the channel */
	uint32_t ev_val[SMPFOTA_BRIDGE_EVT_COUNT];
	uint8_t ev_pending;
	uint8_t ev_posted; /* codes posted at least once */
	bool ev_sent_once;
	uint32_t ev_sent_at; /* when events last went */
};

/* Check the config, start a new epoch and say HELLO. Calling it again restarts the bridge
 * (e.g. when the channel was bound again): frames in the ring are dropped.
 * SMPFOTA_ERR_INVAL for a bad config (ring or tx_buf too small, max_frame 0 or too large). */
int smpfota_bridge_init(struct smpfota_bridge *b, const struct smpfota_bridge_config *cfg,
			uint32_t now_us);

/* Send one whole frame (copied into tx_buf, then into the channel). 0 when sent;
 * SMPFOTA_ERR_BUSY when there is no credit or channel room now (nothing sent: retry);
 * SMPFOTA_ERR_MSGSIZE when it can never go (larger than the other end's max_frame or than
 * tx_buf allows); SMPFOTA_ERR_INVAL for len 0; SMPFOTA_ERR_IO when the channel failed. */
int smpfota_bridge_send(struct smpfota_bridge *b, const uint8_t *frame, size_t len);

/* Adapter for struct smpfota_client_transport.send (ctx = the bridge). */
int smpfota_bridge_transport_send(void *ctx, const uint8_t *frame, size_t len);

/* Largest frame smpfota_bridge_send() can ever take: the other end's max_frame bounded by
 * tx_buf; 0 until the other end has been heard. */
size_t smpfota_bridge_mtu(const struct smpfota_bridge *b);

/* True once the other end has granted credit (an EPOCH or HELLO arrived). */
bool smpfota_bridge_ready(const struct smpfota_bridge *b);

/* One message from the channel (valid during the call: frames are delivered or copied).
 * Delivers what it can, sends what is due (grants, announcements, events). */
void smpfota_bridge_input(struct smpfota_bridge *b, const uint8_t *msg, size_t len,
			  uint32_t now_us);

/* Time passed: offer kept frames again, resend HELLO, send what is due. */
void smpfota_bridge_poll(struct smpfota_bridge *b, uint32_t now_us);

/* µs until smpfota_bridge_poll() is needed (0: now), -1 when only input or a send can
 * change anything. */
int32_t smpfota_bridge_next_deadline(const struct smpfota_bridge *b, uint32_t now_us);

/* Post an event (code 0-7; others ignored): sent as soon as the channel has room, coalesced
 * with later posts of the same code; a value equal to the last one posted is not resent. */
void smpfota_bridge_post_event(struct smpfota_bridge *b, unsigned code, uint32_t value,
			       uint32_t now_us);

/* Post the ESB link's counters as events 0-3 (only those that changed go). */
void smpfota_bridge_post_link_stats(struct smpfota_bridge *b,
				    const struct smpfota_esb_link_stats *s, uint32_t now_us);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_BRIDGE_H */
