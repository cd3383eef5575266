/*
 * SMP client engine: request slots with timeouts and same-seq retransmission, response
 * matching by seq and command, and the pipelined upload on top.
 *
 * The upload treats the server's `off` as the only truth (Zephyr's img_mgmt: a chunk at the
 * wrong offset is dropped and answered with the offset it expects). A response that is the
 * natural ack of its chunk (off = chunk end) advances; any other answer means the server is
 * elsewhere (a lost chunk, a resumed session, a server that restarted): every chunk in
 * flight is abandoned (their late answers then match no slot and are ignored) and sending
 * resumes from the server's offset with a halved window.
 */
#include "smpfota/client.h"
#include "util.h"

#include <string.h>

enum { REQ_FREE, REQ_QUEUED, REQ_SENT };

#define DEFAULT_TIMEOUT_MS 2500U
#define FALLBACK_BUF_SIZE 384U     /* Zephyr's default CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE */
#define FIRST_TIMEOUT_MS 20000U    /* the first chunk may wait for a whole-slot erase */
#define MAX_FAILURES 10U           /* losses without progress; a window loses more than one */

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
	    cfg->slots == 0 || cfg->slots > SMPFOTA_CLIENT_MAX_INFLIGHT ||
	    cfg->frame_cap < 64 || cfg->tx.mtu < 64 || cfg->version > SMPFOTA_SMP_V2 ||
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
	int n = smpfota_smp_encode_req(msg, c->cfg.version, c->seq, req, slot_buf(c, (unsigned)i), cap);
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
	r->state = REQ_QUEUED;
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
			     uint32_t timeout_ms, smpfota_client_rsp_fn fn, void *user, uint32_t now)
{
	int i = start_req(c, msg, req, timeout_ms, now);
	if (i < 0) {
		return i;
	}
	c->req[i].max_tries = 1;
	c->req[i].fn = fn;
	c->req[i].user = user;
	return 0;
}

static unsigned chunks_in_flight(const struct smpfota_client *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->cfg.slots; i++) {
		n += c->req[i].is_chunk; /* a chunk is never in a free slot */
	}
	return n;
}

/* Forget requests (all, or upload chunks only): their answers will match no slot. */
static void drop_reqs(struct smpfota_client *c, bool chunks)
{
	for (unsigned i = 0; i < c->cfg.slots; i++) {
		if (c->req[i].is_chunk || !chunks) {
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

/* ---- upload ---------------------------------------------------------------------------- */

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

/* n * 1000 / d in 32 bits (a device has no 64-bit divide instruction); exact below 4 MB. */
static uint32_t per_second(uint32_t n, uint32_t d)
{
	return n <= UINT32_MAX / 1000U ? n * 1000U / d : n / d * 1000U;
}

static void report_progress(struct smpfota_client *c, uint32_t now)
{
	struct smpfota_client_upload *u = &c->up;
	struct smpfota_upload_progress *p = &u->stats;
	p->done = u->acked;
	p->total = u->src.size;
	p->elapsed_ms = now - u->started_at;
	p->rate_Bps = p->elapsed_ms ? per_second(p->done, p->elapsed_ms) : 0;
	p->eta_ms = p->rate_Bps ? per_second(p->total - p->done, p->rate_Bps) : 0;
	p->window = u->window;
	if (u->progress != NULL) {
		u->progress(u->user, p);
	}
}

/* A chunk or its answer went missing, or the server is elsewhere: back off and resend
 * from the server's offset. Gives up after max_failures without progress. */
static bool on_loss(struct smpfota_client *c, uint32_t now)
{
	struct smpfota_client_upload *u = &c->up;
	drop_reqs(c, true);
	u->window = u->window > 1 ? u->window / 2 : 1;
	u->clean = 0;
	u->next_off = u->acked;
	/* While the session opens the server may be erasing: losses do not count then. */
	bool opening = !u->first_done && (uint32_t)(now - u->opened_at) < u->prm.first_timeout_ms;
	if (!opening && ++u->failures > u->prm.max_failures) {
		upload_end(c, SMPFOTA_ERR_TIMEDOUT, NULL, false);
		return false;
	}
	return true;
}

/* The answer to the chunk [off, end). */
static void chunk_answer(struct smpfota_client *c, uint32_t off, uint32_t end,
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
	if (off == 0) {
		u->first_done = true;
	}
	if (rsp->off == end) {
		/* The natural ack; answers may arrive out of order, so never move back here. */
		if (end > u->acked) {
			u->acked = end;
			u->failures = 0;
		}
		if (++u->clean >= u->window && u->window < u->window_max) {
			u->window++;
			u->clean = 0;
		}
	} else {
		/* The server expects another offset: behind (a chunk was lost, or it restarted
		 * and forgot the session: off 0), or ahead (it resumed a session). */
		bool progress = rsp->off > u->acked;
		if (progress) {
			u->stats.skips++;
		} else {
			u->stats.rewinds++;
		}
		u->acked = rsp->off;
		if (rsp->off == 0) {
			u->first_done = false; /* the session must be opened again */
			u->opened_at = now;
		}
		if (progress) {
			u->failures = 0;
			drop_reqs(c, true);
			u->next_off = rsp->off;
		} else if (!on_loss(c, now)) {
			return;
		}
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
		if ((!u->first_done && inflight > 0) || inflight >= u->window) {
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
			n -= n % SMPFOTA_CLIENT_CHUNK_ALIGN; /* whole flash write blocks (config.h) */
		}
		if (u->src.read(u->src.ctx, q.off, chunk_buf(c), n) != 0) {
			upload_end(c, SMPFOTA_ERR_IO, NULL, false);
			return;
		}
		q.data = (struct smpfota_bytes){chunk_buf(c), n};
		int i = start_req(c, SMPFOTA_MSG_IMG_UPLOAD, &q, u->prm.timeout_ms, now);
		if (i == SMPFOTA_ERR_BUSY) {
			return; /* slots taken by other requests */
		}
		if (i < 0) {
			upload_end(c, i, NULL, false);
			return;
		}
		c->req[i].is_chunk = true;
		c->req[i].off = q.off;
		c->req[i].data_len = n;
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

int smpfota_client_upload(struct smpfota_client *c, const struct smpfota_upload_source *src,
			  const struct smpfota_upload_params *prm, smpfota_upload_progress_fn progress,
			  smpfota_upload_done_fn done, void *user, uint32_t now)
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
	/* Nordic's rule of thumb: one buffer stays free for the response. */
	uint32_t w = prm->window ? prm->window : (prm->buf_count > 1 ? prm->buf_count - 1 : 1);
	w = w < c->cfg.slots ? w : c->cfg.slots;
	u->window_max = (uint8_t)w;
	u->window = (uint8_t)w;
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
		if (r->is_chunk) {
			r->is_chunk = false;
			if (rc != 0) {
				upload_end(c, SMPFOTA_ERR_PROTO, NULL, false);
			} else if (c->up.active) {
				chunk_answer(c, r->off, r->off + r->data_len, &c->rsp.upload, now);
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

void smpfota_client_poll(struct smpfota_client *c, uint32_t now)
{
	for (unsigned i = 0; i < c->cfg.slots; i++) {
		struct smpfota_client_req *r = &c->req[i];
		if (r->state != REQ_SENT || !util_time_reached(now, r->sent_at + r->timeout_ms)) {
			continue;
		}
		if (r->is_chunk) {
			/* A lost chunk: the answers of the later ones would all say "go back". */
			if (!on_loss(c, now)) {
				return;
			}
			break; /* every chunk slot was just freed */
		}
		if (r->tries < r->max_tries) {
			r->state = REQ_QUEUED; /* same frame, same seq: goes first, being oldest */
			continue;
		}
		struct smpfota_client_req done = *r;
		r->state = REQ_FREE;
		if (done.fn != NULL) {
			done.fn(done.user, SMPFOTA_ERR_TIMEDOUT, (enum smpfota_smp_msg)done.msg, NULL);
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
		int32_t d;
		if (r->state == REQ_QUEUED) {
			d = 1; /* the transport was busy: try again shortly */
		} else if (r->state == REQ_SENT) {
			d = util_time_until(now, r->sent_at + r->timeout_ms);
		} else {
			continue;
		}
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
