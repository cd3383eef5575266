/*
 * SMP over Bluetooth LE GATT, as Zephyr's mcumgr transport speaks it (docs/ble.md cites the
 * sources): radio- and stack-agnostic, for a central (the master) and for a peripheral (a
 * target, or the simulator's Zephyr-like one).
 *
 * One GATT characteristic of one service carries everything (the UUIDs below):
 *   - central -> peripheral: ATT Write Command (write without response) to its value;
 *   - peripheral -> central: ATT Handle Value Notification of the same characteristic.
 * An SMP frame larger than one ATT payload (ATT_MTU - 3 bytes: opcode and handle take 3) is
 * cut into consecutive pieces with no framing of their own; the receiver puts them back
 * together from the SMP header: the first piece starts with the 8-byte header, and the frame
 * is complete at 8 + its length field. A Zephyr peripheral does this only when built with
 * CONFIG_MCUMGR_TRANSPORT_BT_REASSEMBLY; without it every write must be a whole frame, so a
 * central then sends frames of at most ATT_MTU - 3 bytes (config peer_reassembles). Its
 * notifications are always cut this way, so a central always reassembles.
 *
 * The receiver is strict where the stream can be wrong: a first piece shorter than a header
 * or longer than its frame, a header the SMP codec would refuse (reserved bits set, an op
 * above 3), or a frame larger than the
 * reassembly buffer are dropped (the rest of an oversized frame is skipped, not misread as
 * headers); a piece longer than what the frame still needs ends the partial frame (it lost
 * its tail) and is tried as the first piece of a new one; a partial frame that gets no piece
 * for rx_timeout_ms is dropped; a disconnection drops everything. Within one connection ATT
 * runs over the link layer's acknowledged, in-order channel, so these happen only after a
 * peer's fault or a reconnection; the SMP client's retransmission recovers.
 *
 * Sending: one frame at a time, copied into tx_buf; its pieces go to the stack as it takes
 * them. The stack says "no buffer now" with SMPFOTA_ERR_BUSY; call smpfota_gatt_poll() when it
 * has room again (Zephyr: the write's or notification's completion callback) and the rest
 * goes. smpfota_gatt_send() answers BUSY while a frame is still being handed over, which the
 * client engine retries on its next poll.
 *
 * Threading: every call for one link from one context (Zephyr: the notification callback and
 * the completion callbacks run in the Bluetooth RX thread or the system work queue; the port
 * queues the pieces and calls smpfota_gatt_on_piece() from its own thread). No malloc, no
 * global state.
 */
#ifndef SMPFOTA_GATT_H
#define SMPFOTA_GATT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The SMP service and characteristic (Zephyr subsys/mgmt/mcumgr/transport/src/smp_bt.c),
 * as text and as the 16 bytes on the air (little-endian, the order of BT_UUID_INIT_128). */
#define SMPFOTA_GATT_SVC_UUID_STR "8d53dc1d-1db7-4cd3-868b-8a527460aa84"
#define SMPFOTA_GATT_CHR_UUID_STR "da2e7828-fbce-4e01-ae9e-261174997c48"
#define SMPFOTA_GATT_SVC_UUID_LE \
	{ \
		0x84, 0xaa, 0x60, 0x74, 0x52, 0x8a, 0x8b, 0x86, 0xd3, 0x4c, 0xb7, 0x1d, 0x1d, \
			0xdc, 0x53, 0x8d \
	}
#define SMPFOTA_GATT_CHR_UUID_LE \
	{ \
		0x48, 0x7c, 0x99, 0x74, 0x11, 0x26, 0x9e, 0xae, 0x01, 0x4e, 0xce, 0xfb, 0x28, \
			0x78, 0x2e, 0xda \
	}

/* ATT_MTU: 23 until an MTU exchange; 517 is the largest stacks negotiate (a 512-byte
 * attribute value plus the 5-byte header of a Prepare Write Request). */
#define SMPFOTA_GATT_MTU_MIN 23U
#define SMPFOTA_GATT_MTU_MAX 517U
/* Opcode and handle of a Write Command or a Notification. */
#define SMPFOTA_GATT_ATT_HDR 3U
/* LE data length (the link layer's largest payload, octets): 27 until a data length update,
 * 251 at most. */
#define SMPFOTA_GATT_DATA_LEN_MIN 27U
#define SMPFOTA_GATT_DATA_LEN_MAX 251U
/* Largest frame: the SMP header's 16-bit length plus the header. */
#define SMPFOTA_GATT_MAX_FRAME (65535U + 8U)

/* Unanswered frames a central keeps track of (for trickle_piece). */
#define SMPFOTA_GATT_UNANSWERED_MAX 8U

/* What the Bluetooth stack provides. */
struct smpfota_gatt_ops {
	/* Send one piece of at most ATT_MTU - 3 bytes: a central writes it without response
	 * to the SMP characteristic, a peripheral notifies it. Copied or sent before return.
	 * 0 when taken; SMPFOTA_ERR_BUSY when the stack has no buffer now (the piece goes again
	 * on smpfota_gatt_poll()); any other negative value means the connection is unusable:
	 * the rest of the frame is dropped. */
	int (*send)(void *ctx, const uint8_t *piece, size_t len);
	void *ctx;
	/* Optional (NULL: not known): pieces handed to the stack and not yet sent and
	 * acknowledged. A central's hold (smpfota_gatt_set_hold()) only applies when there are
	 * none: a queued piece of a frame already begun carries the acknowledgement instead. */
	unsigned (*queued)(void *ctx);
};

/* A whole frame arrived (valid during the call). The return value is ignored: GATT has no
 * way to refuse a piece that was already acknowledged, so a full receiver drops the frame
 * (as Zephyr's does) and SMP's retransmission recovers. */
typedef int (*smpfota_gatt_rx_fn)(void *user, const uint8_t *frame, size_t len);

struct smpfota_gatt_config {
	struct smpfota_gatt_ops ops;
	/* The frame being sent (a copy): the largest frame smpfota_gatt_send() takes. */
	uint8_t *tx_buf;
	size_t tx_size;
	/* Reassembly: the largest frame accepted. */
	uint8_t *rx_buf;
	size_t rx_size;
	smpfota_gatt_rx_fn rx;
	void *user;
	/* The peer puts frames together from several pieces: a peripheral's notifications
	 * always are (set it on a peripheral); a Zephyr target's writes only with
	 * CONFIG_MCUMGR_TRANSPORT_BT_REASSEMBLY (set it on a central when the target has it:
	 * then frames up to the target's buf_size go, else ATT_MTU - 3). */
	bool peer_reassembles;
	/* Receive each piece as one whole frame (a Zephyr target without reassembly); pieces
	 * whose header length disagrees are dropped. */
	bool whole_pieces;
	/* A partial frame without a new piece for this long is dropped; 0 = 5000 ms (longer
	 * than the 4 s longest connection interval between two pieces). */
	uint32_t rx_timeout_ms;
	/* Central with peer_reassembles, 0 = off. While the peer holds two or more whole
	 * requests it has not answered (it is slower than the link), the next frame goes in
	 * pieces of at most this many bytes, and the port hands the stack at most two at a time
	 * (smpfota_gatt_trickling()): the connection events then keep a packet of the central's
	 * after the target's answer, which acknowledges it at once. A Zephyr target takes its
	 * next request only after that acknowledgement (docs/ble.md); without a packet to carry
	 * it, it waits for the next connection event. 8 bytes in the simulator and the NCS
	 * glue (docs/ble.md). This is the size over 251-octet PDUs: over shorter ones (see
	 * smpfota_gatt_set_data_len()) a trickled piece fills one PDU instead. */
	uint16_t trickle_piece;
};

struct smpfota_gatt_stats {
	uint32_t pieces_tx;
	uint32_t pieces_rx;
	uint32_t frames_tx;      /* frames whose every piece the stack took */
	uint32_t frames_rx;      /* frames delivered */
	uint32_t busy;           /* the stack had no buffer */
	uint32_t send_errors;    /* frames dropped: the stack refused a piece */
	uint32_t drop_short;     /* a first piece shorter than the SMP header */
	uint32_t drop_malformed; /* a header with a bad op, or a piece longer than its frame */
	uint32_t drop_overflow;  /* frames larger than rx_size (their pieces skipped) */
	uint32_t drop_truncated; /* partial frames ended by a piece too long for them */
	uint32_t drop_timeout;   /* partial frames that stopped arriving */
	uint32_t drop_reset;     /* partial frames (either way) lost to a disconnection */
};

/* The connection as the central set it up, for smpfota_gatt_event_piece(). */
struct smpfota_gatt_conn_params {
	uint32_t event_us; /* radio time per connection event: the interval, or the
			    * controller's event length when that is shorter */
	uint16_t att_mtu;
	uint8_t data_len; /* link-layer data length (TX octets), 27..251 */
	uint8_t phy;      /* 1: LE 1M, 2: LE 2M */
	bool encrypted;   /* a 4-byte MIC in every data PDU */
};

/* State; callers allocate it, only this module touches the fields. */
struct smpfota_gatt {
	struct smpfota_gatt_config cfg;
	struct smpfota_gatt_stats stats;
	uint16_t att_mtu;
	uint16_t piece;   /* smpfota_gatt_set_piece(); 0: ATT_MTU - 3 */
	uint16_t hold_ms; /* smpfota_gatt_set_hold() */
	bool hold;        /* a new frame's first piece waits until hold_at + hold_ms */
	uint32_t hold_at;
	uint32_t tx_len;   /* frame in tx_buf (0: none) */
	uint32_t tx_off;   /* its bytes the stack took */
	bool rx_skip;      /* skipping the rest of a dropped frame */
	uint32_t rx_len;   /* bytes of the partial frame (or skipped) so far */
	uint32_t rx_total; /* its length from the header */
	uint32_t rx_at;    /* when its last piece came (ms) */
	/* Sequence numbers of the whole frames sent and not answered, oldest first (answers
	 * come in order: one for a later frame means the older ones were lost). */
	uint8_t sent_seq[SMPFOTA_GATT_UNANSWERED_MAX];
	uint8_t sent_n;
	uint16_t data_len; /* the connection's LE data length, 0 = not known */
};

/*
 * Check the config and start idle with ATT_MTU 23. SMPFOTA_ERR_INVAL for a bad config.
 * Lifetimes: the config is copied; cfg->tx_buf, cfg->rx_buf, the ops' ctx and cfg->user must
 * outlive the link.
 * Callbacks: cfg->rx runs inside smpfota_gatt_on_piece(); from it you may call
 * smpfota_gatt_send() (a peripheral answers this way), _mtu() and _tx_idle(), and feed the
 * frame to a client or server; not _on_piece(), _poll() or _disconnected(). ops.send is
 * called from _send(), _poll() and _on_piece() (through rx) and must not call back into the
 * link.
 */
int smpfota_gatt_init(struct smpfota_gatt *g, const struct smpfota_gatt_config *cfg);

/* The ATT_MTU the connection agreed on (after an MTU exchange): 23..517, else
 * SMPFOTA_ERR_INVAL. Later pieces use it. */
int smpfota_gatt_set_mtu(struct smpfota_gatt *g, uint16_t att_mtu);

/* The connection's LE data length for sending (the link layer's largest TX payload, octets):
 * 27..251, or 0 = not known (the initial state), else SMPFOTA_ERR_INVAL. Only the trickle uses
 * it (docs/ble.md): below 251 a trickled piece fills one PDU (data length - 7), where a smaller
 * piece would cost a whole packet pair for less data; at 251 or not known it is trickle_piece.
 * A disconnection keeps it: the port sets it for each connection (27 until an update). */
int smpfota_gatt_set_data_len(struct smpfota_gatt *g, uint16_t octets);

/* Largest frame smpfota_gatt_send() takes now: tx_size, and ATT_MTU - 3 unless the peer
 * reassembles (the client transport's mtu; the engine also keeps to the server's buf_size). */
size_t smpfota_gatt_mtu(const struct smpfota_gatt *g);

/* The piece size for a central's connection (docs/ble.md, "Pieces sized to the connection
 * event"): ATT_MTU - 3, or a little less when that leaves the events that fill with full
 * pieces no room for the target's answer: a notification rides in a packet pair and
 * lengthens it, so the event's last pair no longer fits and goes in the next event (LE 1M,
 * 7.5 ms, 251-octet PDUs: three pairs of 244-byte pieces take 7404 of 7500 µs; pieces of
 * 239 bytes leave room for a 20-byte answer). Air times from the Core specification (Vol 6
 * Part B §2.1, §4.1.1). Pieces that span several PDUs are not tuned (ATT_MTU - 3). */
uint16_t smpfota_gatt_event_piece(const struct smpfota_gatt_conn_params *p);

/* A central with peer_reassembles sends frames in pieces of at most `piece` bytes (0 or more
 * than ATT_MTU - 3: ATT_MTU - 3); give the client transport the same figure (client.h
 * tx.piece) so that upload frames are whole pieces. A disconnection forgets it. Without
 * peer_reassembles a frame is one piece: ignored. */
void smpfota_gatt_set_piece(struct smpfota_gatt *g, uint16_t piece);

/* The size of the link's full pieces now (the trickle aside): the piece set above while the
 * peer reassembles, else ATT_MTU - 3. A central hands it to the client as tx.piece. */
size_t smpfota_gatt_piece(const struct smpfota_gatt *g);

/* Send one whole frame (copied). 0; SMPFOTA_ERR_BUSY while the previous frame is still
 * being handed to the stack; SMPFOTA_ERR_MSGSIZE when it can never go (see _mtu());
 * SMPFOTA_ERR_INVAL for len 0. */
int smpfota_gatt_send(struct smpfota_gatt *g, const uint8_t *frame, size_t len);

/* Adapter for struct smpfota_client_transport.send (ctx = the link). */
int smpfota_gatt_transport_send(void *ctx, const uint8_t *frame, size_t len);

/* A piece arrived (central: a notification of the SMP characteristic; peripheral: a write
 * to it). now_ms: any epoch, wraps safely. */
void smpfota_gatt_on_piece(struct smpfota_gatt *g, const uint8_t *data, size_t len,
			   uint32_t now_ms);

/* The stack may have room again, or time passed: hand over the rest of the frame being
 * sent, drop a partial frame that stopped arriving. */
void smpfota_gatt_poll(struct smpfota_gatt *g, uint32_t now_ms);

/* The connection is gone: drop the frame being sent and the partial frame, ATT_MTU back to
 * 23. The link is ready for the next connection. Call it in order with the pieces: after
 * the last piece of the old connection is fed or thrown away, before the first of the new
 * one (a piece of the old connection fed afterwards would be read as a frame start). */
void smpfota_gatt_disconnected(struct smpfota_gatt *g);

/* True when no frame is being handed to the stack. */
bool smpfota_gatt_tx_idle(const struct smpfota_gatt *g);

/* A central: after an answer that came while no frame was being handed to the stack, the
 * next frame's first piece waits hold_ms (one connection interval; 0: off, the default; a
 * disconnection ends a wait). A stock Zephyr target frees the answered request's SMP buffers
 * only once the answer's acknowledgement came, in mcumgr's work queue, after the Bluetooth
 * host has handled the rest of that packet; with its buffers full, a first piece carried by
 * the acknowledging packet finds none and the request is lost (docs/ble.md). Held, the
 * piece goes after an empty packet has acknowledged the answer. */
void smpfota_gatt_set_hold(struct smpfota_gatt *g, uint16_t hold_ms);

/* ms until a held first piece may go (call smpfota_gatt_poll() then), -1 when none waits. */
int32_t smpfota_gatt_hold_left(const struct smpfota_gatt *g, uint32_t now_ms);

/* True when no frame is being put together: the next piece starts one (where Zephyr's
 * smp_reassembly_collect() takes an SMP buffer for it). */
bool smpfota_gatt_rx_idle(const struct smpfota_gatt *g);

/* True while the frame being handed over goes in trickle_piece pieces (config): the port's
 * send op should then answer SMPFOTA_ERR_BUSY while two pieces are still in the stack, and
 * call smpfota_gatt_poll() when one has gone (its completion callback). */
bool smpfota_gatt_trickling(const struct smpfota_gatt *g);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_GATT_H */
