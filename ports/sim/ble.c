/*
 * The Bluetooth LE link (sim.h, SMPFOTA_SIM_LINK_BLE; docs/ble.md "The BLE link in the
 * simulator" cites every rule and figure): the master is a central, the target a peripheral
 * that behaves as Zephyr's smp_bt transport, both running the library's GATT link
 * (smpfota/gatt.h) on their application cores, as the Zephyr host does on an nRF5340; each
 * controller runs on its network core and talks to its host through the IPC ring.
 *
 * Link layer, per connection event: the central sends a PDU (data, or empty), T_IFS later
 * the peripheral answers (data, or empty), T_IFS later the next pair, while either side has
 * more data (MD) and the pair fits in the event's time; the next event starts one interval
 * after the last anchor. An ATT piece (value + 3-byte ATT + 4-byte L2CAP header) goes in
 * PDUs of at most the data length. A lost packet ends the event (the central hears nothing,
 * or the peripheral does not answer); the unacknowledged PDU goes again in the next event;
 * when a PDU arrived but its acknowledgement was lost, it is sent once more to no effect. A
 * controller whose host has no room for another piece does not acknowledge it (NAK): the
 * sender repeats it. Disconnections: a fault, or a board that resets; the central notices
 * after the supervision timeout and reconnects once the target advertises again.
 *
 * Hosts: the master's GATT link hands pieces to its controller while it has buffers
 * (tx_bufs); the target's notifies one piece at a time and waits for its completion before
 * the next (smp_bt_tx_pkt()); the completion comes when the central's next packet has
 * acknowledged the piece (the controller's Number of Completed Packets, over HCI), so when
 * the central has nothing more to send in that event, only at the next anchor. It handles
 * one request at a time, after the last answer's completion, keeping requests in at most
 * buf_count SMP buffers (a request and its answer hold two while it is answered), taking one
 * at a request's first piece (t_first_piece()): a request without a buffer is dropped, as
 * smp_bt_chr_write() does.
 */
#include "sim_priv.h"

#include <string.h>

#include "smpfota/smpfota.h"

#define T_IFS_NS (150U * US) /* Core Vol 6 Part B §4.1.1 */
#define L2CAP_ATT_HDR 7U     /* L2CAP basic header 4, ATT opcode + handle 3 */
#define ANSWER_LEN 20U       /* an upload answer: header and {"off": n} (limit only) */

/* ---- air ---------------------------------------------------------------------------- */

/* On-air time of a data channel PDU with n payload bytes, ns: preamble (1 byte on LE 1M, 2 on
 * LE 2M), access address 4, header 2, payload, MIC 4 on an encrypted link (not on an empty
 * PDU), CRC 3 (Core Vol 6 Part B §2.1, §2.4). */
static uint64_t air_ns(const struct smpfota_sim_ble *p, unsigned n)
{
	unsigned pre = p->phy == 2 ? 2U : 1U;
	unsigned mic = n > 0 && p->encrypted ? 4U : 0U;
	uint64_t bits = 8ULL * (pre + 4U + 2U + n + mic + 3U);
	return bits * 1000ULL / p->phy;
}

static uint64_t budget_ns(const struct smpfota_sim_ble *p)
{
	uint32_t ce = p->ce_len_us && p->ce_len_us < p->interval_us ? p->ce_len_us : p->interval_us;
	return (uint64_t)ce * US;
}

/* The client's frame: the target's buffer, or one piece without reassembly. */
uint32_t sim_ble_frame_size(const struct smpfota_sim_config *c)
{
	uint32_t f = c->buf_size;
	uint32_t piece = (uint32_t)c->ble.att_mtu - SMPFOTA_GATT_ATT_HDR;
	return c->ble.no_reassembly && piece < f ? piece : f;
}

/* What the connection events carry of a stream of fs-byte upload frames, cut into pieces and
 * PDUs, packed into events by the same rules the simulation uses (a pair goes when it fits;
 * the peripheral's data only in a pair it fits in), no loss; kB/s. Each frame's answer (a
 * notification instead of an empty PDU) rides in the first pair after the frame where it
 * fits, as soon as the frame is in (no time to handle it). */
static double frames_kBps(const struct smpfota_sim_ble *p, uint32_t fs)
{
	uint32_t piece = (uint32_t)p->att_mtu - SMPFOTA_GATT_ATT_HDR;
	uint64_t budget = budget_ns(p), t = 0, events = 1;
	uint64_t answer = air_ns(p, ANSWER_LEN + L2CAP_ATT_HDR) - air_ns(p, 0);
	unsigned pairs = 0;
	bool owed = false;
	const unsigned frames = 256; /* the last event counts in part: < 0.2 % */
	for (unsigned f = 0; f < frames; f++) {
		for (uint32_t off = 0; off < fs; off += piece) {
			uint32_t sdu = (fs - off < piece ? fs - off : piece) + L2CAP_ATT_HDR;
			for (uint32_t o = 0; o < sdu; o += p->dle) {
				unsigned n = sdu - o < p->dle ? sdu - o : p->dle;
				uint64_t pair = air_ns(p, n) + T_IFS_NS + air_ns(p, 0) + T_IFS_NS;
				if (pairs > 0 &&
				    (t + pair > budget ||
				     (p->pdus_per_event && pairs == p->pdus_per_event))) {
					events++;
					t = 0;
					pairs = 0;
				}
				if (owed && (pairs == 0 || t + pair + answer <= budget)) {
					t += answer;
					owed = false;
				}
				t += pair;
				pairs++;
			}
		}
		owed = true;
	}
	double ns = (double)(events - 1) * p->interval_us * 1000.0 + (double)t;
	return (double)frames * fs / ns * 1e6; /* B/ns -> kB/s */
}

/* The BLE limit (docs/ble.md, "The BLE limit"): the best of frames_kBps() over the frame
 * sizes a client may choose near the largest (the client leaves out a short last piece,
 * client.h `piece`), so that no choice of the client's raises it past the limit. */
double sim_ble_radio_limit_kBps(const struct smpfota_sim_config *c)
{
	const struct smpfota_sim_ble *p = &c->ble;
	uint32_t fs = sim_ble_frame_size(c), piece = (uint32_t)p->att_mtu - SMPFOTA_GATT_ATT_HDR;
	uint32_t lo = fs > 2U * piece ? fs - 2U * piece : 1U;
	double best = 0.0;
	for (uint32_t n = lo; n <= fs; n++) {
		double r = frames_kBps(p, n);
		best = r > best ? r : best;
	}
	return best;
}

int sim_ble_check(const struct smpfota_sim_config *c)
{
	const struct smpfota_sim_ble *p = &c->ble;
	if (p->interval_us < 7500 || p->interval_us > 4000000 || p->interval_us % 1250 ||
	    (p->phy != 1 && p->phy != 2) || p->dle < 27 || p->dle > 251 ||
	    p->att_mtu < SMPFOTA_GATT_MTU_MIN || p->att_mtu > SMPFOTA_GATT_MTU_MAX ||
	    p->tx_bufs < 1 || p->tx_bufs > BLE_TXQ || p->sup_timeout_us < 100000 ||
	    c->buf_count > BLE_FRAMES || c->buf_count < 2) {
		return SMPFOTA_ERR_INVAL;
	}
	return 0;
}

/* ---- queues --------------------------------------------------------------------------- */

static struct ble_sdu *dir_head(struct ble_dir *d)
{
	return d->count ? &d->q[d->head] : NULL;
}

static void dir_pop(struct ble_dir *d)
{
	d->head = (d->head + 1) % BLE_TXQ;
	d->count--;
	d->sent = 0;
}

static void dir_clear(struct ble_dir *d)
{
	d->head = d->count = 0;
	d->sent = 0;
	d->resend = 0;
	d->again = false;
	d->unacked = false;
}

static int dir_push(struct world *w, struct ble_dir *d, unsigned cap, const uint8_t *p, size_t len)
{
	if (d->count >= cap) {
		return SMPFOTA_ERR_BUSY;
	}
	struct ble_sdu *s = &d->q[(d->head + d->count) % BLE_TXQ];
	/* HCI over the IPC ring to the controller */
	s->ready = w->now + w->c->t.ipc_msg_us * US + (uint64_t)len * w->c->t.ipc_ns_per_byte;
	s->len = (uint16_t)len;
	memcpy(s->d, p, len);
	d->count++;
	return 0;
}

/* Payload of the PDU the direction sends next at time t (0: an empty PDU). */
static unsigned pdu_len(const struct smpfota_sim_ble *p, struct ble_dir *d, uint64_t t)
{
	if (d->resend) {
		return d->resend;
	}
	struct ble_sdu *s = dir_head(d);
	if (s == NULL || s->ready > t || d->unacked) {
		return 0;
	}
	uint32_t left = s->len + L2CAP_ATT_HDR - d->sent;
	return left < p->dle ? left : p->dle;
}

static bool rxq_room(const struct world *w, const struct ble_rxq *q, unsigned len)
{
	return q->count < BLE_RXQ && q->bytes + len <= w->c->t.ipc_ring;
}

static void rxq_push(struct world *w, struct ble_rxq *q, const struct ble_sdu *s, uint64_t t)
{
	struct ble_sdu *e = &q->q[(q->head + q->count) % BLE_RXQ];
	*e = *s;
	e->ready = t + w->c->t.ipc_msg_us * US + (uint64_t)s->len * w->c->t.ipc_ns_per_byte;
	e->with_ack = w->ble->ack_in_pair;
	q->count++;
	q->bytes += s->len;
}

static struct ble_sdu *rxq_ready(struct ble_rxq *q, uint64_t now)
{
	return q->count && q->q[q->head].ready <= now ? &q->q[q->head] : NULL;
}

static void rxq_pop(struct ble_rxq *q)
{
	q->bytes -= q->q[q->head].len;
	q->head = (q->head + 1) % BLE_RXQ;
	q->count--;
}

/* ---- connection ------------------------------------------------------------------------ */

static void on_disconnect(struct world *w, uint64_t seen)
{
	struct sim_ble *b = w->ble;
	if (b->connected) {
		w->st->disconnects++;
		sim_log(w, "ble: connection lost");
	}
	if (b->connected) {
		b->lost_seen = seen; /* when the central notices */
	}
	b->connected = false;
	b->in_event = false;
	dir_clear(&b->c2p);
	dir_clear(&b->p2c);
	/* pieces of the lost connection not yet taken by a host go with it */
	b->m_in.head = b->m_in.count = 0;
	b->m_in.bytes = 0;
	b->t_in.head = b->t_in.count = 0;
	b->t_in.bytes = 0;
	/* smp_bt's disconnected(): requests of the connection are removed, the answer in
	 * progress is dropped */
	b->fcount = 0;
	b->reasm_held = false;
	b->t_done_at = 0; /* disconnected() gives smp_bt's semaphore */
	w->t.pend_len = 0;
	smpfota_gatt_disconnected(&b->mg);
	smpfota_gatt_disconnected(&b->tg);
}

/* When the central can connect again: it noticed the loss, both boards run, and the scan,
 * connection and set-up procedures took connect_us. */
static uint64_t connect_at(const struct world *w)
{
	uint64_t t = w->ble->lost_seen;
	t = t > w->m.up_at ? t : w->m.up_at;
	t = t > w->t.up_at ? t : w->t.up_at;
	return t + (uint64_t)w->c->ble.connect_us * US;
}

/* The master's pieces (gatt.h): sized to the connection event. */
uint16_t sim_ble_piece(const struct world *w)
{
	const struct smpfota_sim_ble *p = &w->c->ble;
	struct smpfota_gatt_conn_params cp = {.event_us = (uint32_t)(budget_ns(p) / US),
					      .att_mtu = p->att_mtu,
					      .data_len = (uint8_t)p->dle,
					      .phy = (uint8_t)p->phy,
					      .encrypted = p->encrypted};
	return smpfota_gatt_event_piece(&cp);
}

static void connect(struct world *w)
{
	struct sim_ble *b = w->ble;
	b->connected = true;
	b->anchor0 = w->now;
	b->in_event = false;
	(void)smpfota_gatt_set_mtu(&b->mg, w->c->ble.att_mtu);
	(void)smpfota_gatt_set_mtu(&b->tg, w->c->ble.att_mtu);
	smpfota_gatt_set_piece(&b->mg, sim_ble_piece(w));
	/* one connection interval, rounded up to the link's ms (gatt.h) */
	smpfota_gatt_set_hold(&b->mg, w->c->ble.no_hold
					      ? 0U
					      : (uint16_t)((w->c->ble.interval_us + 999U) / 1000U));
	sim_log(w, "ble: connected, ATT MTU %u, data length %u, LE %uM, interval %.2f ms",
		w->c->ble.att_mtu, w->c->ble.dle, w->c->ble.phy, w->c->ble.interval_us / 1000.0);
	if (!b->started) {
		b->started = true;
		if (sim_master_start(w) != 0) {
			w->done = true;
			w->err = SMPFOTA_ERR_INVAL;
		}
	}
	w->m_kick = true;
}

/* ---- link-layer events ------------------------------------------------------------------- */

static bool pkt_lost(struct world *w, unsigned n)
{
	if (sim_chance(w, w->c->f.loss)) {
		return true;
	}
	if (w->c->f.ber > 0) {
		unsigned bits = 8U * (n + 12U);
		double ok = 1.0;
		for (unsigned i = 0; i < bits; i++) {
			ok *= 1.0 - w->c->f.ber;
		}
		if (sim_chance(w, 1.0 - ok)) {
			w->st->crc_errors++;
			return true;
		}
	}
	return false;
}

/* n bytes of the direction's head went across at time t: a finished piece reaches the
 * other host. */
static void advance(struct world *w, struct ble_dir *d, struct ble_rxq *to, unsigned n, uint64_t t,
		    bool to_master)
{
	struct ble_sdu *s = dir_head(d);
	d->sent += n;
	if (d->sent < s->len + L2CAP_ATT_HDR) {
		return;
	}
	rxq_push(w, to, s, t);
	if (to_master) {
		/* the notification stays the target's until the central's next packet acks it */
		d->unacked = true;
		d->sent_event = w->ble->events;
		return;
	}
	dir_pop(d);
	w->m_kick = true; /* a buffer of the master's came free: its host sends more */
}

static uint64_t next_anchor(const struct world *w, uint64_t at)
{
	const struct sim_ble *b = w->ble;
	uint64_t ci = (uint64_t)w->c->ble.interval_us * US;
	if (at <= b->anchor0) {
		return b->anchor0;
	}
	return b->anchor0 + (at - b->anchor0 + ci - 1) / ci * ci;
}

static uint64_t dir_ready(struct ble_dir *d)
{
	if (d->resend || d->unacked) {
		return 0;
	}
	struct ble_sdu *s = dir_head(d);
	return s ? s->ready : NEVER;
}

uint64_t sim_ble_next(struct world *w)
{
	struct sim_ble *b = w->ble;
	const struct smpfota_sim_faults *f = &w->c->f;
	uint64_t n = NEVER;
	if (!b->drop_done && f->ble_drop_at_us) {
		n = f->ble_drop_at_us * US;
	}
	if (!b->connected) {
		return min64(n, connect_at(w));
	}
	if (b->in_event) {
		return min64(n, b->t_next);
	}
	uint64_t r = min64(dir_ready(&b->c2p), dir_ready(&b->p2c));
	if (r == NEVER) {
		return n;
	}
	return min64(n, next_anchor(w, r > w->now ? r : w->now));
}

/* One pair of packets at time t (the event's first when t is its anchor). */
static void pair(struct world *w, uint64_t t)
{
	struct sim_ble *b = w->ble;
	const struct smpfota_sim_ble *p = &w->c->ble;
	bool first = t == b->ev_anchor;
	uint64_t end = b->ev_anchor + budget_ns(p);
	if (p->pdus_per_event && b->ev_pairs >= p->pdus_per_event) {
		b->in_event = false; /* the controller's limit per event */
		return;
	}
	unsigned lc = pdu_len(p, &b->c2p, t);
	uint64_t tc = air_ns(p, lc);
	unsigned lp = pdu_len(p, &b->p2c, t + tc + T_IFS_NS);
	uint64_t dur = tc + T_IFS_NS + air_ns(p, lp) + T_IFS_NS;
	if (!first && t + dur > end) {
		lp = 0; /* the peripheral answers empty when its data would not fit */
		dur = tc + T_IFS_NS + air_ns(p, 0) + T_IFS_NS;
	}
	if (!first && t + dur > end) {
		b->in_event = false;
		return;
	}
	w->st->packets++;
	b->ev_pairs++;
	/* a PDU sent again (not the next PDU of a piece that needs several) */
	if (lc > 0 && (b->c2p.resend || b->c2p.again)) {
		w->st->retransmits++;
	}
	if (!board_up(&w->t, t) || pkt_lost(w, lc)) {
		b->c2p.again = lc > 0;
		w->st->lost++;
		b->in_event = false; /* no answer: the central closes the event */
		return;
	}
	b->ack_in_pair = false;
	if (b->p2c.unacked) {
		b->ack_in_pair = true;
		/* The central's packet acknowledges the peripheral's last one (NESN): the
		 * controller reports the notification in Number of Completed Packets, over
		 * HCI to the host, whose completion callback releases smp_bt_tx_pkt(). */
		if (b->p2c.sent_event != b->events) {
			w->st->ble_acks_next_event++;
		}
		dir_pop(&b->p2c);
		b->p2c.unacked = false;
		b->t_done_at = t + tc + (uint64_t)w->c->t.ipc_msg_us * US;
	}
	bool p_ok = !pkt_lost(w, lp);
	bool c_acked = p_ok;
	if (lc > 0 && b->c2p.resend) {
		if (p_ok) {
			b->c2p.resend = 0;
		}
	} else if (lc > 0) {
		struct ble_sdu *s = dir_head(&b->c2p);
		if (b->c2p.sent == 0 && !rxq_room(w, &b->t_in, s->len)) {
			w->st->withheld++; /* the target's host has no room: NAK */
			b->c2p.again = true;
			c_acked = false;
		} else {
			b->c2p.again = false;
			advance(w, &b->c2p, &b->t_in, lc, t + tc, false);
			if (!p_ok) {
				b->c2p.resend = (uint16_t)lc; /* it arrived; the ack did not */
			}
		}
	}
	(void)c_acked;
	if (!p_ok) {
		w->st->lost++;
		b->in_event = false;
		return;
	}
	if (lp > 0) {
		if (b->p2c.resend) {
			b->p2c.resend = 0;
		} else {
			advance(w, &b->p2c, &b->m_in, lp, t + dur - T_IFS_NS, true);
		}
	}
	b->t_next = t + dur; /* the event goes on if either side has more then (MD) */
}

void sim_ble_step(struct world *w)
{
	struct sim_ble *b = w->ble;
	const struct smpfota_sim_faults *f = &w->c->f;
	if (!b->drop_done && f->ble_drop_at_us && w->now >= f->ble_drop_at_us * US) {
		b->drop_done = true;
		sim_log(w, "fault: BLE connection lost");
		on_disconnect(w, w->now + (uint64_t)w->c->ble.sup_timeout_us * US);
		return;
	}
	if (!b->connected) {
		if (w->now >= connect_at(w)) {
			connect(w);
		}
		return;
	}
	if (!board_up(&w->t, w->now)) {
		return; /* sim_ble_board_reset() dropped the connection */
	}
	if (!b->in_event) {
		b->in_event = true;
		b->ev_anchor = w->now;
		b->ev_pairs = 0;
		b->events++;
		w->st->ble_events++;
	} else if (pdu_len(&w->c->ble, &b->c2p, w->now) == 0 &&
		   pdu_len(&w->c->ble, &b->p2c, w->now) == 0) {
		b->in_event = false; /* neither side has more data (MD): the event closes */
		b->t_next = NEVER;
		return;
	}
	pair(w, w->now);
	if (!b->in_event) {
		b->t_next = NEVER;
	}
}

/* ---- hosts ---------------------------------------------------------------------------- */

/* Pieces in the central's controller (gatt.h ops.queued). */
static unsigned m_queued(void *ctx)
{
	const struct world *w = ctx;
	return w->ble->c2p.count;
}

static int m_piece(void *ctx, const uint8_t *p, size_t len)
{
	struct world *w = ctx;
	if (!w->ble->connected) {
		return SMPFOTA_ERR_BUSY; /* the frame waits for the connection */
	}
	/* while the link trickles, two pieces at most in the controller (gatt.h) */
	unsigned cap = smpfota_gatt_trickling(&w->ble->mg) ? 2U : w->c->ble.tx_bufs;
	return dir_push(w, &w->ble->c2p, cap, p, len);
}

/* The target's host is still waiting for its last notification's completion. */
static bool t_notifying(const struct world *w)
{
	return w->ble->p2c.count > 0 || w->now < w->ble->t_done_at;
}

/* smp_bt_tx_pkt(): one notification at a time, the next after the previous one's completion
 * callback (the peer acknowledged it). */
static int t_piece(void *ctx, const uint8_t *p, size_t len)
{
	struct world *w = ctx;
	if (!w->ble->connected) {
		return SMPFOTA_ERR_IO; /* bt_gatt_notify_cb() fails: the answer is dropped */
	}
	if (t_notifying(w)) {
		return SMPFOTA_ERR_BUSY;
	}
	return dir_push(w, &w->ble->p2c, 1, p, len);
}

/* A whole request reached the target's transport: into an SMP buffer, or dropped. */
static int t_frame(void *user, const uint8_t *frame, size_t len)
{
	struct world *w = user;
	struct sim_ble *b = w->ble;
	if (!b->reasm_held) {
		return 0; /* its first piece found no buffer (t_first_piece()) */
	}
	b->reasm_held = false;
	unsigned i = (b->fhead + b->fcount) % BLE_FRAMES;
	memcpy(b->frames[i], frame, len);
	b->flen[i] = (uint16_t)len;
	b->fcount++;
	w->st->frames_to_target++;
	return 0;
}

/* A piece that starts a frame at the target: smp_reassembly_collect() (or, without
 * reassembly, smp_bt_chr_write()) takes an SMP buffer for the frame now, or drops the piece
 * (docs/ble.md). A request and its answer hold two while it is answered; they are freed by
 * mcumgr's work queue once the answer's completion came, which runs after the Bluetooth
 * host's own work: a piece that came in the very packet that acknowledged the answer is
 * handled first, and finds them still taken. */
static bool t_first_piece(struct world *w, const struct ble_sdu *e)
{
	struct sim_ble *b = w->ble;
	bool answering = e->with_ack || w->t.pend_len || !smpfota_gatt_tx_idle(&b->tg) ||
			 t_notifying(w);
	if (b->fcount + 1U + (answering ? 2U : 0U) > w->c->buf_count) {
		w->st->frames_dropped++;
		return false;
	}
	b->reasm_held = true;
	return true;
}

int sim_ble_link_init(struct world *w, struct board *b)
{
	struct sim_ble *s = w->ble;
	bool m = b->master;
	struct smpfota_gatt_config cfg = {
		.ops = {.send = m ? m_piece : t_piece, .ctx = w, .queued = m ? m_queued : NULL},
		.tx_buf = m ? s->m_tx : s->t_tx,
		.tx_size = FRAME_MAX,
		.rx_buf = m ? s->m_rx : s->t_rx,
		.rx_size = m ? FRAME_MAX : w->c->buf_size + (w->sec ? SMPFOTA_SECURE_OVERHEAD : 0U),
		.rx = m ? sim_master_app_rx : t_frame,
		.user = w,
		.peer_reassembles = m ? !w->c->ble.no_reassembly : true,
		.whole_pieces = !m && w->c->ble.no_reassembly,
		/* over 251-octet PDUs; the link fills one PDU over shorter ones (data_len) */
		.trickle_piece = m ? w->c->ble.trickle_piece : 0,
	};
	b->link_ready = false; /* no ESB link */
	int rc = smpfota_gatt_init(m ? &s->mg : &s->tg, &cfg);
	if (rc == 0) {
		rc = smpfota_gatt_set_data_len(m ? &s->mg : &s->tg, w->c->ble.dle);
	}
	if (rc == 0 && s->connected) {
		(void)smpfota_gatt_set_mtu(m ? &s->mg : &s->tg, w->c->ble.att_mtu);
	}
	return rc;
}

/* A board resets: its controller and host start over, the connection is gone (the master
 * notices at once when it is the one resetting, else after the supervision timeout). */
void sim_ble_board_reset(struct world *w, struct board *b)
{
	struct sim_ble *s = w->ble;
	uint64_t seen = w->now + (b->master ? 0 : (uint64_t)w->c->ble.sup_timeout_us * US);
	(void)s;
	on_disconnect(w, seen);
}

int sim_ble_master_send(struct world *w, const uint8_t *frame, size_t len)
{
	return smpfota_gatt_send(&w->ble->mg, frame, len);
}

int sim_ble_target_send(struct world *w, const uint8_t *frame, size_t len)
{
	return smpfota_gatt_send(&w->ble->tg, frame, len);
}

static bool target_can_handle(const struct world *w)
{
	const struct sim_ble *b = w->ble;
	return b->fcount > 0 && !w->t.pend_len && smpfota_gatt_tx_idle(&b->tg) && !t_notifying(w);
}

uint64_t sim_ble_app_next(struct world *w, struct board *b)
{
	struct sim_ble *s = w->ble;
	struct ble_rxq *q = b->master ? &s->m_in : &s->t_in;
	uint64_t n = q->count ? q->q[q->head].ready : NEVER;
	int32_t hold = b->master ? smpfota_gatt_hold_left(&s->mg, sim_ms(w->now)) : -1;
	if (hold >= 0) {
		/* the held first piece goes at the link's next poll (whole ms of the clock) */
		uint64_t at = (w->now / MS + (uint64_t)hold) * MS;
		n = min64(n, at > w->now ? at : w->now);
	}
	if (!b->master) {
		bool pump = !smpfota_gatt_tx_idle(&s->tg) && s->connected;
		bool retry = b->pend_len && s->connected && smpfota_gatt_tx_idle(&s->tg);
		bool handle = s->fcount > 0 && !b->pend_len && smpfota_gatt_tx_idle(&s->tg);
		if ((pump || retry || handle) && s->p2c.count == 0) {
			/* as soon as the last notification's completion reached the host */
			n = min64(n, s->t_done_at > w->now ? s->t_done_at : w->now);
		}
	}
	return n;
}

/* The host's turn on the application core: pieces from the controller into the GATT link
 * (and on to the engine or the target's SMP buffers), then the link hands over what it can;
 * the target also answers one request. */
void sim_ble_app_step(struct world *w, struct board *b)
{
	struct sim_ble *s = w->ble;
	struct smpfota_gatt *g = b->master ? &s->mg : &s->tg;
	struct ble_rxq *q = b->master ? &s->m_in : &s->t_in;
	struct ble_sdu *e;
	uint64_t t0 = w->now;
	while ((e = rxq_ready(q, t0)) != NULL) {
		if (b->master || !smpfota_gatt_rx_idle(g) || t_first_piece(w, e)) {
			smpfota_gatt_on_piece(g, e->d, e->len, sim_ms(w->now));
		}
		rxq_pop(q);
		if (!b->master && smpfota_gatt_rx_idle(g)) {
			s->reasm_held = false; /* delivered, or dropped as junk */
		}
	}
	smpfota_gatt_poll(g, sim_ms(w->now));
	if (b->master) {
		return;
	}
	if (smpfota_gatt_rx_idle(g)) {
		s->reasm_held = false; /* a partial frame timed out */
	}
	if (b->pend_len && s->connected && smpfota_gatt_tx_idle(g)) {
		uint16_t n = b->pend_len;
		b->pend_len = 0;
		if (sim_ble_target_send(w, b->pend, n) == SMPFOTA_ERR_BUSY) {
			b->pend_len = n;
		}
		return;
	}
	if (target_can_handle(w)) {
		unsigned i = s->fhead;
		s->fhead = (s->fhead + 1) % BLE_FRAMES;
		s->fcount--;
		sim_target_handle(w, s->frames[i], s->flen[i]);
	}
}
