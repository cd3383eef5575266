/*
 * SMP client engine: request slots with timeouts and retransmission, response matching by
 * seq and command, and the pipelined upload on top (docs/client.md, "Pipelined upload").
 *
 * The upload treats the server's `off` as the only truth (Zephyr's img_mgmt handles requests
 * one at a time, in order, drops a chunk at the wrong offset and answers with the offset it
 * expects). The answer to chunk [a, b) says where the server is: off == b is the natural
 * ack; off < b means it is behind (the chunk at off was lost, or it restarted: off 0), so
 * every chunk still in flight will be refused too: they become stale (still counted in
 * flight, as they sit in the server's buffers, but their answers only move `acked`) and
 * sending restarts from off at once; off > b means it is ahead (a resumed session).
 */
#include "smpfota/client.h"
#include "util.h"

#include <string.h>

enum { REQ_FREE, REQ_QUEUED, REQ_SENT };

#define DEFAULT_TIMEOUT_MS 2500U
#define FALLBACK_BUF_SIZE 384U  /* Zephyr's default CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE */
#define FIRST_TIMEOUT_MS 20000U /* the first chunk may wait for a whole-slot erase */
#define MAX_FAILURES 10U        /* losses without progress; a window loses more than one */

static uint8_t *slot_buf(const struct smpfota_client *c, unsigned i)
{
	return c->cfg.buf + (size_t)i * c->cfg.frame_cap;
}

static uint8_t *chunk_buf(const struct smpfota_client *c)
{
	return c->cfg.buf + (size_t)c->cfg.slots * c->cfg.frame_cap;
}

int smpfota_client_init(struct smpfota_client *c, const struct smpfota_client_config *cfg)
{
	if (c == NULL || cfg == NULL || cfg->tx.send == NULL || cfg->buf == NULL ||
	    cfg->slots == 0 || cfg->slots > SMPFOTA_CLIENT_MAX_INFLIGHT || cfg->frame_cap < 64 ||
	    cfg->tx.mtu < 64 || cfg->version > SMPFOTA_SMP_V2 ||
	    cfg->buf_size < ((size_t)cfg->slots + 1) * cfg->frame_cap) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	if (c->cfg.timeout_ms == 0) {
		c->cfg.timeout_ms = DEFAULT_TIMEOUT_MS;
	}
	c->seq = cfg->seq;
	return 0;
}

static int alloc_slot(const struct smpfota_client *c)
{
	for (unsigned i = 0; i < c->cfg.slots; i++) {
		if (c->req[i].state == REQ_FREE) {
			return (int)i;
		}
	}
	return -1;
}

/* Queue a slot's frame; until it goes out, sent_at is when it began to wait (a transport
 * that stays busy times it out: smpfota_client_poll()). */
static void enqueue(struct smpfota_client_req *r, uint32_t now)
{
	r->state = REQ_QUEUED;
	r->sent_at = now;
}

/* Hand a slot's frame to the transport; BUSY leaves it queued for the next poll. */
static void transmit(struct smpfota_client *c, unsigned i, uint32_t now)
{
	struct smpfota_client_req *r = &c->req[i];
	int rc = c->cfg.tx.send(c->cfg.tx.ctx, slot_buf(c, i), r->len);
	if (rc == SMPFOTA_ERR_BUSY) {
		r->state = REQ_QUEUED;
		return;
	}
	/* Any other failure counts as a frame lost on the way: the timeout recovers it. */
	r->state = REQ_SENT;
	r->sent_at = now;
	r->tries++;
}

/* Queued frames go oldest first, until the transport says BUSY: chunks must reach the server
 * in offset order, whatever slots they sit in. */
static void send_queued(struct smpfota_client *c, uint32_t now)
{
	for (;;) {
		int old = -1;
		for (unsigned i = 0; i < c->cfg.slots; i++) {
			/* seqs in flight are less than 128 apart */
			if (c->req[i].state == REQ_QUEUED &&
			    (old < 0 || (int8_t)(c->req[i].seq - c->req[old].seq) < 0)) {
				old = (int)i;
			}
		}
		if (old < 0) {
			return;
		}
		transmit(c, (unsigned)old, now);
		if (c->req[old].state == REQ_QUEUED) {
			return;
		}
	}
}

/* Encode into a free slot and send. Returns the slot index or a negative error. */
static int start_req(struct smpfota_client *c, enum smpfota_smp_msg msg, const void *req,
		     uint32_t timeout_ms, uint32_t now)
{
	int i = alloc_slot(c);
	if (i < 0) {
		return SMPFOTA_ERR_BUSY;
	}
	size_t cap = c->cfg.frame_cap < c->cfg.tx.mtu ? c->cfg.frame_cap : c->cfg.tx.mtu;
	int n = smpfota_smp_encode_req(msg, c->cfg.version, c->seq, req, slot_buf(c, (unsigned)i),
				       cap);
	if (n < 0) {
		return n;
	}
	struct smpfota_client_req *r = &c->req[i];
	memset(r, 0, sizeof(*r));
	r->seq = c->seq++;
	r->msg = (uint8_t)msg;
	r->len = (uint16_t)n;
	r->timeout_ms = timeout_ms ? timeout_ms : c->cfg.timeout_ms;
	r->max_tries = (uint8_t)(c->cfg.retries + 1U);
	enqueue(r, now);
	send_queued(c, now);
	return i;
}

int smpfota_client_send(struct smpfota_client *c, enum smpfota_smp_msg msg, const void *req,
			uint32_t timeout_ms, smpfota_client_rsp_fn fn, void *user, uint32_t now)
{
	int i = start_req(c, msg, req, timeout_ms, now);
	if (i < 0) {
		return i;
	}
	c->req[i].fn = fn;
	c->req[i].user = user;
	return 0;
}

int smpfota_client_send_once(struct smpfota_client *c, enum smpfota_smp_msg msg, const void *req,
			     uint32_t timeout_ms, smpfota_client_rsp_fn fn, void *user,
			     uint32_t now)
{
	uint8_t retries = c->cfg.retries;
	c->cfg.retries = 0; /* start_req() gives it one attempt */
	int rc = smpfota_client_send(c, msg, req, timeout_ms, fn, user, now);
	c->cfg.retries = retries;
	return rc;
}

/* Out of line, as drop_reqs(): GCC -Os inlined both at every call, 30 B more on a Cortex-M33. */
static __attribute__((noinline)) unsigned chunks_in_flight(const struct smpfota_client *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->cfg.slots; i++) {
		n += c->req[i].is_chunk; /* a chunk is never in a free slot */
	}
	return n;
}

#if SMPFOTA_CONFIG_CLIENT_LEARN
static void on_probe(void *user, int err, enum smpfota_smp_msg msg,
		     const union smpfota_smp_rsp *rsp);
#define IS_PROBE(r) ((r)->fn == on_probe)
#else
#define IS_PROBE(r) false
#endif

/* Forget requests (all, or the upload's: chunks and probe): their answers will match no
 * slot. */
static __attribute__((noinline)) void drop_reqs(struct smpfota_client *c, bool chunks)
{
	for (unsigned i = 0; i < c->cfg.slots; i++) {
		if (c->req[i].is_chunk || IS_PROBE(&c->req[i]) || !chunks) {
			c->req[i].state = REQ_FREE;
			c->req[i].is_chunk = false;
		}
	}
}

unsigned smpfota_client_pending(const struct smpfota_client *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->cfg.slots; i++) {
		n += c->req[i].state != REQ_FREE;
	}
	return n;
}

/* ---- round trip ------------------------------------------------------------------------ */

#if SMPFOTA_CONFIG_CLIENT_LEARN
/* One round-trip sample of m ms from a request answered after a single copy (Karn). Small
 * requests only seed the estimate: the first chunk sample replaces them (a chunk fills the
 * server's buffer and takes longer on a slow link). RFC 6298, in 1/8 and 1/4 ms. */
static void rtt_sample(struct smpfota_client *c, uint32_t m, bool chunk)
{
	uint8_t kind = chunk ? 2U : 1U;
	if (c->rtt_kind > kind) {
		return;
	}
	m = m < 60000U ? m : 60000U;
	if (c->rtt_kind < kind) {
		c->srtt8 = m << 3;
		c->var4 = m << 1;
		c->rtt_kind = kind;
	} else {
		uint32_t srtt = c->srtt8 >> 3;
		c->srtt8 = c->srtt8 - srtt + m;
		c->var4 = c->var4 - (c->var4 >> 2) + (m > srtt ? m - srtt : srtt - m);
	}
	c->backoff = 0;
}

/* Retransmission timeout of a chunk: 2 x srtt + 4 x deviation (RFC 6298 has 1 x srtt: an
 * upload's round trip doubles when one more chunk queues at a busy server), at least the
 * floor, doubled per timeout in a row, at most the upload's timeout (also used while
 * nothing is known). A timeout only sends a probe (chunk_timeout()), so being early costs
 * little. */
static uint32_t rto(const struct smpfota_client *c)
{
	uint32_t max = c->up.prm.timeout_ms;
	/* a lossless link loses nothing to resend early: a late answer is a slow server */
	uint32_t t = c->rtt_kind && !c->up.prm.lossless ? (c->srtt8 >> 2) + c->var4 : max;
	t = t > SMPFOTA_CLIENT_MIN_RTO_MS ? t : SMPFOTA_CLIENT_MIN_RTO_MS;
	t <<= c->backoff;
	return t < max ? t : max;
}
#else
static uint32_t rto(const struct smpfota_client *c)
{
	return c->up.prm.timeout_ms;
}
#endif

/* ---- upload ---------------------------------------------------------------------------- */

#define MEASURE_ACKS 4U /* natural acks per measurement of a window's delivered rate */
#define MAX_BACKOFF 10U

static void upload_end(struct smpfota_client *c, int err, const struct smpfota_smp_status *st,
		       bool match)
{
	struct smpfota_client_upload *u = &c->up;
	drop_reqs(c, true);
	u->active = false;
	if (u->done != NULL) {
		struct smpfota_smp_status none = {0};
		u->done(u->user, err, st ? st : &none, match);
	}
}

static void report_progress(struct smpfota_client *c, uint32_t now)
{
	struct smpfota_client_upload *u = &c->up;
	struct smpfota_upload_progress *p = &u->stats;
	p->done = u->acked;
	p->total = u->src.size;
	p->elapsed_ms = now - u->started_at;
	p->window = u->window;
#if SMPFOTA_CONFIG_CLIENT_LEARN
	p->srtt_ms = c->rtt_kind == 2U ? c->srtt8 >> 3 : 0;
#endif
	if (u->progress != NULL) {
		u->progress(u->user, p);
	}
}

#if SMPFOTA_CONFIG_CLIENT_LEARN
/* Measure the window just set, from the answer of the first chunk sent with it. */
static void measure_from(struct smpfota_client_upload *u)
{
	u->meas_off = u->next_off;
	u->clean = UINT8_MAX; /* not started */
}

/* A natural ack of a chunk sent at `off`. While growing, each window is measured (the time
 * per answer over MEASURE_ACKS x (window - 1) of them: every chunk but the first and last
 * fills the server's buffer, so that is the delivered rate) against the one before. The
 * first is stop-and-wait itself, measured over MEASURE_ACKS chunks after the opening one
 * (whose answer may include a whole-slot erase, and would make any window look fast). A
 * window that raises the rate by 1/16 tries one more chunk in
 * flight, or all the buf_count - 1 allowed when it doubled the rate (the link's latency,
 * not the server, bounds it). The first step of
 * pipelining must pay for itself, or it is undone for good (stop-and-wait is as fast, and
 * more in flight only adds drops). A deeper step mostly absorbs the server's flash stalls,
 * which a few answers measure badly (an erase falls in or out of the measurement), so it is
 * kept unless the rate falls by a quarter. */
static void on_ack(struct smpfota_client_upload *u, uint32_t off, uint32_t now)
{
	if (!u->growing || off < u->meas_off) {
		return; /* settled, or sent with the window before */
	}
	if (u->clean == UINT8_MAX) {
		u->meas_at = now;
		u->clean = 0;
		return;
	}
	unsigned n = MEASURE_ACKS * (u->window > 1U ? u->window - 1U : 1U);
	if (++u->clean < n) {
		return;
	}
	uint32_t t = (now - u->meas_at) * 16U / n; /* 1/16 ms per answer */
	if (u->window == 1U) {
		u->t_ref = t; /* stop-and-wait, the reference every window must beat */
		u->window = 2U;
		measure_from(u);
		return;
	}
	uint32_t ref = u->t_ref;
	if (t * 17U < ref * 16U && u->window < u->window_max) {
		/* Twice as fast: the link's latency, not the server, bounds it: all the way. */
		u->window = t * 2U <= ref ? u->window_max : (uint8_t)(u->window + 1U);
		u->t_ref = t;
		measure_from(u);
		return;
	}
	u->growing = false; /* for good: window_max is not read again */
	if (u->window == 2U ? t * 17U >= ref * 16U : t * 3U > ref * 4U) {
		u->window--;
	}
}
#endif

/* One more loss or timeout without progress; false when that was one too many and the
 * upload ended. While the session opens the server may be erasing: they do not count. */
static bool count_failure(struct smpfota_client *c, uint32_t now)
{
	struct smpfota_client_upload *u = &c->up;
	bool opening = !u->first_done && (uint32_t)(now - u->opened_at) < u->prm.first_timeout_ms;
	if (!opening && ++u->failures > u->prm.max_failures) {
		upload_end(c, SMPFOTA_ERR_TIMEDOUT, NULL, false);
		return false;
	}
	return true;
}

/* A chunk or its answer went missing, or the server is behind: resend from its offset with
 * half the chunks in flight (all over a lossless link), for good (the window that brought
 * the loss stays out of reach: on a serial target, losses grow with the frames arriving
 * while it is busy, and each one costs a round trip or a timeout). Gives up after
 * max_failures without progress. */
static bool on_loss(struct smpfota_client *c, uint32_t now)
{
	struct smpfota_client_upload *u = &c->up;
	u->epoch++;
	u->next_off = u->acked;
	/* Lossless (BLE): a loss is a dropped connection, not a full target. No growing after
	 * a loss, so window_max needs no lowering. */
	if (!u->prm.lossless && u->window > 1) {
		u->window /= 2U;
	}
#if SMPFOTA_CONFIG_CLIENT_LEARN
	u->growing = false;
#endif
	return count_failure(c, now);
}

/* The answer to the chunk [off, end) sent in `epoch`. */
static void chunk_answer(struct smpfota_client *c, uint32_t off, uint32_t end, uint8_t epoch,
			 const struct smpfota_img_upload_rsp *rsp, uint32_t now)
{
	struct smpfota_client_upload *u = &c->up;

	if (!smpfota_smp_status_ok(&rsp->status)) {
		upload_end(c, SMPFOTA_ERR_REJECTED, &rsp->status, false);
		return;
	}
	if (!rsp->has_off || rsp->off > u->src.size) {
		upload_end(c, SMPFOTA_ERR_PROTO, NULL, false);
		return;
	}
	if (off == 0 && !u->first_done) {
		u->first_done = true;
#if SMPFOTA_CONFIG_CLIENT_LEARN
		measure_from(u);
#endif
	}
	if (rsp->off > u->acked) {
		u->acked = rsp->off;
		u->failures = 0;
	}
	if (epoch == u->epoch) {
		if (rsp->off == end) {
#if SMPFOTA_CONFIG_CLIENT_LEARN
			on_ack(u, off, now);
#endif
		} else if (rsp->off > end) {
			if (rsp->off > u->next_off) { /* it resumed a session: go there */
				u->stats.skips++;
				u->epoch++;
			}
		} else {
			/* Behind: the chunk at its offset was lost, or it restarted and forgot the
			 * session (off 0: open it again). */
			u->stats.rewinds++;
			u->acked = rsp->off;
			if (rsp->off == 0) {
				u->first_done = false;
				u->opened_at = now;
			}
			if (!on_loss(c, now)) {
				return;
			}
		}
	}
	if (u->next_off < u->acked) {
		u->next_off = u->acked;
	}
	report_progress(c, now);
	if (u->acked == u->src.size) {
		/* CONFIG_IMG_ENABLE_IMAGE_CHECK servers say whether the data hashes to sha. */
		if (rsp->has_match && !rsp->match && !u->sha_truncated) {
			upload_end(c, SMPFOTA_ERR_HASH_MISMATCH, NULL, false);
		} else {
			/* A truncated sha cannot be checked (Zephyr then says match: false). */
			upload_end(c, 0, NULL, rsp->has_match ? rsp->match : !u->sha_truncated);
		}
	}
}

/* Send as many chunks as the window allows. */
static void pump(struct smpfota_client *c, uint32_t now)
{
	struct smpfota_client_upload *u = &c->up;
	while (u->active && u->next_off < u->src.size) {
		unsigned inflight = chunks_in_flight(c);
		/* The session-opening chunk goes alone: the server may erase the slot first. */
		if ((!u->first_done && inflight > 0 && !u->prm.held_not_dropped) ||
		    inflight >= u->window) {
			return;
		}
		struct smpfota_img_upload_req q = {.off = u->next_off};
		int max;
		if (q.off == 0) {
			q.has_len = q.has_sha = true;
			q.len = u->src.size;
			q.sha = (struct smpfota_bytes){u->src.sha, sizeof(u->src.sha)};
			q.has_image = u->prm.image != 0; /* absent means image 0 */
			q.image = u->prm.image;
			q.has_upgrade = u->prm.upgrade;
			q.upgrade = u->prm.upgrade;
			/* The first chunk must carry the whole 32-byte image header. In a small
			 * buffer (96 B) the full sha leaves no room for it: send a truncated sha,
			 * which servers accept as the session id (only the final match check
			 * needs all 32 bytes). */
			uint32_t need = u->src.size < 32 ? u->src.size : 32;
			while ((max = smpfota_smp_upload_max_data(&q, u->frame_size)) < (int)need &&
			       q.sha.len > 0) {
				q.sha.len = q.sha.len > 8 ? q.sha.len - 4 : 0;
				q.has_sha = q.sha.len > 0;
			}
			u->sha_truncated = q.sha.len < sizeof(u->src.sha);
		} else {
			max = smpfota_smp_upload_max_data(&q, u->frame_size);
		}
		if (max <= 0) {
			upload_end(c, SMPFOTA_ERR_NOSPC, NULL, false);
			return;
		}
		uint32_t n = (uint32_t)max;
		/* A user chunk limit never cuts the opening chunk below the 32-byte header. */
		uint32_t limit = u->prm.chunk;
		if (limit && q.off == 0 && limit < 32) {
			limit = 32;
		}
		if (limit && n > limit) {
			n = limit;
		}
		if (n >= u->src.size - q.off) {
			n = u->src.size - q.off;
		} else if (n > SMPFOTA_CLIENT_CHUNK_ALIGN) {
			/* whole flash write blocks (config.h) */
			n -= n % SMPFOTA_CLIENT_CHUNK_ALIGN;
		}
		if (u->src.read(u->src.ctx, q.off, chunk_buf(c), n) != 0) {
			upload_end(c, SMPFOTA_ERR_IO, NULL, false);
			return;
		}
		q.data = (struct smpfota_bytes){chunk_buf(c), n};
		int i = start_req(c, SMPFOTA_MSG_IMG_UPLOAD, &q, rto(c), now);
		if (i == SMPFOTA_ERR_BUSY) {
			return; /* slots taken by other requests */
		}
		if (i < 0) {
			upload_end(c, i, NULL, false);
			return;
		}
		struct smpfota_client_req *r = &c->req[i];
		r->is_chunk = true;
		r->epoch = u->epoch;
		r->off = q.off;
		r->data_len = (uint16_t)n;
		if (q.off < u->sent_hi) {
			u->stats.retransmits++;
		}
		if (q.off + n > u->sent_hi) {
			u->sent_hi = q.off + n;
		}
		if (u->stats.chunk < n) {
			u->stats.chunk = (uint16_t)n;
		}
		u->next_off = q.off + n;
	}
}

#if SMPFOTA_CONFIG_CLIENT_LEARN
/* The answer to a probe: the server handled it, and so every chunk sent before it. If the
 * chunk at acked is still unanswered, it or its answer was lost: its timer is made due and
 * the next poll resends it. No answer either (once the session is open): the next poll
 * resends it too, without taking it for a loss. */
static void on_probe(void *user, int err, enum smpfota_smp_msg msg,
		     const union smpfota_smp_rsp *rsp)
{
	struct smpfota_client *c = user;
	struct smpfota_client_upload *u = &c->up;
	(void)msg;
	(void)rsp;
	u->probing = false;
	if (!u->active || u->acked != u->probe_off) {
		return;
	}
	if (err != SMPFOTA_ERR_TIMEDOUT) {
		u->probe_ok = true;
		/* It answers at its usual pace: the loss was a dropped frame, not a slow server,
		 * so a lost copy must not wait a doubled timeout (a busy UART drops again). */
		c->backoff = 0;
	} else {
		u->probe_silent = true;
	}
	for (unsigned i = 0; i < c->cfg.slots; i++) {
		struct smpfota_client_req *r = &c->req[i];
		if (r->is_chunk && r->epoch == u->epoch && r->off == u->acked) {
			r->timeout_ms = 0;
		}
	}
}

#endif

/* The head chunk (at acked) timed out. The server may only be slow (a flash erase; the
 * opening chunk may erase the whole slot): a copy would not help it, and on a serial line it
 * only fills the target's buffers. So a small echo asks whether the server is alive, and
 * only its answer, ahead of the chunk's, shows a loss; then the chunk is resent in place
 * (same seq: a late first answer still counts). False when the upload ended. */
static bool chunk_timeout(struct smpfota_client *c, unsigned i, uint32_t now)
{
	struct smpfota_client_upload *u = &c->up;
	struct smpfota_client_req *r = &c->req[i];
	if (r->epoch != u->epoch || r->off < u->acked) {
		r->state = REQ_FREE; /* stale, or answered by a later answer: nothing to wait for */
		r->is_chunk = false;
		return true;
	}
	if (r->off > u->acked) {
		r->timeout_ms += rto(c); /* the server answers in order: wait for the head */
		return true;
	}
#if SMPFOTA_CONFIG_CLIENT_LEARN
	u->stats.timeouts++;
	if (c->backoff < MAX_BACKOFF) {
		c->backoff++;
	}
	if (u->probe_silent && rto(c) >= u->prm.timeout_ms &&
	    (u->first_done || (uint32_t)(now - u->opened_at) >= u->prm.first_timeout_ms)) {
		/* Neither answered for as long as an attempt may take (and the server is not
		 * erasing the slot for the opening chunk): it is gone, or ignores echo. A copy
		 * proves nothing, so the window stays; sooner, it would only add a frame to a
		 * target that is merely slow (a busy UART drops it). */
		u->probe_silent = false;
		u->stats.retransmits++;
		r->timeout_ms = rto(c);
		transmit(c, i, now);
		return count_failure(c, now);
	}
	u->probe_silent = false;
	if (!u->probe_ok && !u->probing && c->cfg.slots > 1) {
		struct smpfota_os_echo_req q = {0};
		u->probe_off = u->acked;
		u->probing = smpfota_client_send_once(c, SMPFOTA_MSG_OS_ECHO, &q, rto(c), on_probe,
						      c, now) == 0;
	}
	if (!u->probe_ok && u->probing) {
		r->timeout_ms = now - r->sent_at + rto(c); /* sent_at stays: a true sample */
		/* A failure is a whole per-attempt timeout without progress, as before learning:
		 * the doubling timeouts that lead up to it do not count. */
		return rto(c) < u->prm.timeout_ms || count_failure(c, now);
	}
	u->probe_ok = false;
#endif
	if (!on_loss(c, now)) {
		return false;
	}
	r->epoch = u->epoch;
	r->timeout_ms = rto(c);
	u->next_off = r->off + r->data_len;
	u->stats.retransmits++;
	transmit(c, i, now);
	return true;
}

int smpfota_client_upload(struct smpfota_client *c, const struct smpfota_upload_source *src,
			  const struct smpfota_upload_params *prm,
			  smpfota_upload_progress_fn progress, smpfota_upload_done_fn done,
			  void *user, uint32_t now)
{
	struct smpfota_client_upload *u = &c->up;
	if (src == NULL || prm == NULL || src->read == NULL || src->size == 0) {
		return SMPFOTA_ERR_INVAL;
	}
	if (u->active || chunks_in_flight(c) > 0) {
		return SMPFOTA_ERR_BUSY;
	}
	memset(u, 0, sizeof(*u));
	u->src = *src;
	u->prm = *prm;
	u->progress = progress;
	u->done = done;
	u->user = user;
	if (u->prm.first_timeout_ms == 0) {
		u->prm.first_timeout_ms = FIRST_TIMEOUT_MS;
	}
	if (u->prm.timeout_ms == 0) {
		u->prm.timeout_ms = c->cfg.timeout_ms;
	}
	if (u->prm.max_failures == 0) {
		u->prm.max_failures = MAX_FAILURES;
	}
	/* The encoded request must fit the server's buffer, the transport and our buffers. */
	uint32_t fs = prm->buf_size ? prm->buf_size : FALLBACK_BUF_SIZE;
	fs = fs < c->cfg.tx.mtu ? fs : c->cfg.tx.mtu;
	fs = fs < c->cfg.frame_cap ? fs : c->cfg.frame_cap;
	u->frame_size = fs;
	/* At most buf_count - 1 (Nordic's rule of thumb: one buffer stays free for the
	 * response); the window starts at 1 and grows only while that pays (on_ack()). */
	uint32_t w = prm->window             ? prm->window
		     : prm->held_not_dropped ? c->cfg.slots - 1U
		     : prm->buf_count        ? prm->buf_count - 1U
					     : 0;
	w = w < c->cfg.slots ? w : c->cfg.slots;
	w = w > 0 ? w : 1; /* buf_count 0 (unknown) or 1, a single slot: stop-and-wait */
#if SMPFOTA_CONFIG_CLIENT_LEARN
	if (w >= c->cfg.slots && w > 1) {
		w = c->cfg.slots - 1U; /* a slot stays free for the probe (chunk_timeout()) */
	}
#endif
	u->window_max = (uint8_t)w;
#if SMPFOTA_CONFIG_CLIENT_LEARN
	/* stop-and-wait first: on_ack() measures it as the reference; a link that holds back
	 * what the target cannot take starts with the whole window */
	bool full = prm->held_not_dropped || prm->lossless;
	u->window = (uint8_t)(full ? w : 1);
	u->growing = w > 1 && !full;
#else
	u->window = (uint8_t)w;
#endif
	u->started_at = now;
	u->opened_at = now;
	u->active = true;
	pump(c, now);
	if (!u->active) {
		return SMPFOTA_ERR_NOSPC;
	}
	return 0;
}

/* ---- input, poll ----------------------------------------------------------------------- */

int smpfota_client_input(struct smpfota_client *c, const uint8_t *frame, size_t len, uint32_t now)
{
	struct smpfota_smp_hdr h;
	if (smpfota_smp_hdr_decode(frame, len, &h) < 0 || !(h.op & 1U)) {
		return SMPFOTA_ERR_PROTO;
	}
	int msg = smpfota_smp_msg_lookup(&h);
	for (unsigned i = 0; i < c->cfg.slots; i++) {
		struct smpfota_client_req *r = &c->req[i];
		if (r->state == REQ_FREE || r->tries == 0 || r->seq != h.seq || r->msg != msg) {
			continue;
		}
		int rc = smpfota_smp_decode_rsp((enum smpfota_smp_msg)msg,
						frame + SMPFOTA_SMP_HDR_SIZE, h.len, &c->rsp);
		/* Free first: the callback may send the next request at once. */
		r->state = REQ_FREE;
#if SMPFOTA_CONFIG_CLIENT_LEARN
		/* Opening chunk (it may have waited for an erase) and small requests only seed
		 * the round trip; a chunk answered after one copy gives a true sample. */
		bool opening = r->is_chunk && r->off == 0 && !c->up.first_done;
		uint32_t m = now - r->sent_at;
		if (r->tries == 1 && rc == 0) {
			rtt_sample(c, m, r->is_chunk && !opening);
		}
#endif
		if (r->is_chunk) {
			r->is_chunk = false;
			if (rc != 0) {
				upload_end(c, SMPFOTA_ERR_PROTO, NULL, false);
			} else if (c->up.active) {
				chunk_answer(c, r->off, r->off + r->data_len, r->epoch,
					     &c->rsp.upload, now);
			}
			pump(c, now);
		} else if (r->fn != NULL) {
			r->fn(r->user, rc == 0 ? 0 : SMPFOTA_ERR_PROTO, (enum smpfota_smp_msg)msg,
			      &c->rsp);
		}
		return 0;
	}
	return 0; /* late, duplicate or foreign: ignored */
}

/* How long a request may wait: for an answer once sent, for the transport while queued. A
 * queued chunk may wait out a target's erase behind a link's back-pressure (the frame
 * bridge): a whole attempt's timeout, not the learned one of a chunk on its way. */
static uint32_t wait_limit(const struct smpfota_client *c, const struct smpfota_client_req *r)
{
#if SMPFOTA_CONFIG_CLIENT_LEARN
	if (r->state == REQ_QUEUED && r->is_chunk) {
		return c->up.prm.timeout_ms;
	}
#else
	(void)c; /* every chunk timeout is the whole attempt's */
#endif
	return r->timeout_ms;
}

void smpfota_client_poll(struct smpfota_client *c, uint32_t now)
{
	for (unsigned i = 0; i < c->cfg.slots; i++) {
		struct smpfota_client_req *r = &c->req[i];
		if (r->state == REQ_FREE ||
		    !util_time_reached(now, r->sent_at + wait_limit(c, r))) {
			continue;
		}
		/* Still queued: the transport refused it (BUSY) for as long as an answer may
		 * take, a stuck link. An attempt lost on the way, so the timeouts end it in
		 * TIMEDOUT as they would with a silent peer, instead of waiting forever. */
		r->tries += r->state == REQ_QUEUED ? 1U : 0U;
		r->state = REQ_SENT;
		if (r->is_chunk) {
			if (!chunk_timeout(c, i, now)) {
				return;
			}
			continue;
		}
		if (r->tries < r->max_tries) {
			enqueue(r, now); /* same frame, same seq: goes first, being oldest */
			continue;
		}
		struct smpfota_client_req done = *r;
		r->state = REQ_FREE;
		if (done.fn != NULL) {
			done.fn(done.user, SMPFOTA_ERR_TIMEDOUT, (enum smpfota_smp_msg)done.msg,
				NULL);
		}
	}
	send_queued(c, now);
	if (c->up.active) {
		pump(c, now);
	}
}

int32_t smpfota_client_next_deadline(const struct smpfota_client *c, uint32_t now)
{
	int32_t best = -1;
	for (unsigned i = 0; i < c->cfg.slots; i++) {
		const struct smpfota_client_req *r = &c->req[i];
		if (r->state == REQ_FREE) {
			continue;
		}
		/* queued: the transport was busy, try again shortly */
		int32_t d = r->state == REQ_QUEUED
				    ? 1
				    : util_time_until(now, r->sent_at + r->timeout_ms);
		if (best < 0 || d < best) {
			best = d;
		}
	}
	return best;
}

void smpfota_client_cancel(struct smpfota_client *c)
{
	drop_reqs(c, false);
	c->up.active = false;
}

int smpfota_client_set_mtu(struct smpfota_client *c, uint16_t mtu)
{
	if (mtu < 64 || mtu > c->cfg.frame_cap) {
		return SMPFOTA_ERR_INVAL;
	}
	if (smpfota_client_pending(c) > 0 || c->up.active) {
		return SMPFOTA_ERR_BUSY;
	}
	c->cfg.tx.mtu = mtu;
	return 0;
}
