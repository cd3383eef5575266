/*
 * Broadcast with repair (bcast.h): the target's group and packets, the master's rounds.
 * The group's maps are few and small: coded here with zcbor directly rather than in the SMP
 * codec's tables (those are the budgeted master's).
 */
#include "smpfota/bcast.h"

#include <string.h>

#include <zcbor_decode.h>
#include <zcbor_encode.h>

#include "sha256.h"
#include "util.h"

#define REC_MAGIC 0x53464243U /* "SFBC" */
#define REC_VERIFIED 64U      /* word: 0 once the image verified */
#define REC_BAD 68U           /* word: 0 once it failed */
#define REC_FIRST 256U        /* the first chunk's bytes, until the image verified */
#define N_STATES 4
#define DEFAULT_ROUNDS 5U
#define DEFAULT_TIMEOUT_MS 2500U
#define DEFAULT_RETRIES 2U
#define DEFAULT_START_TIMEOUT_MS 20000U

static const uint32_t zero_word = 0;

/* ---- CBOR ----------------------------------------------------------------------------------- */

struct bc_map {
	uint32_t session, len, chunk, block;
	bool has_session, has_len, has_chunk, has_block, has_sha;
	struct zcbor_string sha;
	int32_t rc;
	bool has_rc, done, bad, has_missing;
	struct zcbor_string missing;
};

static bool key_is(const struct zcbor_string *k, const char *s)
{
	size_t n = strlen(s);
	return k->len == n && memcmp(k->value, s, n) == 0;
}

/* One flat map of known keys; anything else is skipped. */
static bool decode_map(const uint8_t *p, size_t len, struct bc_map *m)
{
	zcbor_state_t zs[N_STATES];
	memset(m, 0, sizeof(*m));
	zcbor_new_decode_state(zs, N_STATES, p, len, 1, NULL, 0);
	zs->constant_state->enforce_canonical = false;
	if (!zcbor_map_start_decode(zs)) {
		return false;
	}
	while (!zcbor_array_at_end(zs)) {
		struct zcbor_string k;
		bool ok;
		if (!zcbor_tstr_decode(zs, &k)) {
			return false;
		}
		if (key_is(&k, "session")) {
			ok = m->has_session = zcbor_uint32_decode(zs, &m->session);
		} else if (key_is(&k, "len")) {
			ok = m->has_len = zcbor_uint32_decode(zs, &m->len);
		} else if (key_is(&k, "chunk")) {
			ok = m->has_chunk = zcbor_uint32_decode(zs, &m->chunk);
		} else if (key_is(&k, "block")) {
			ok = m->has_block = zcbor_uint32_decode(zs, &m->block);
		} else if (key_is(&k, "sha")) {
			ok = m->has_sha = zcbor_bstr_decode(zs, &m->sha);
		} else if (key_is(&k, "rc")) {
			ok = m->has_rc = zcbor_int32_decode(zs, &m->rc);
		} else if (key_is(&k, "done")) {
			ok = zcbor_bool_decode(zs, &m->done);
		} else if (key_is(&k, "bad")) {
			ok = zcbor_bool_decode(zs, &m->bad);
		} else if (key_is(&k, "missing")) {
			ok = m->has_missing = zcbor_bstr_decode(zs, &m->missing);
		} else {
			ok = zcbor_any_skip(zs, NULL);
		}
		if (!ok) {
			return false;
		}
	}
	return zcbor_map_end_decode(zs) && zs->payload == p + len;
}

/* An SMP frame: header (group, id, seq, op), then the map the encoder wrote. */
static size_t frame(uint8_t *out, uint8_t op, uint8_t id, uint8_t seq, size_t body)
{
	struct smpfota_smp_hdr h = {.op = op,
				    .version = SMPFOTA_SMP_V2,
				    .len = (uint16_t)body,
				    .group = SMPFOTA_BCAST_GROUP,
				    .seq = seq,
				    .id = id};
	smpfota_smp_hdr_encode(&h, out);
	return SMPFOTA_SMP_HDR_SIZE + body;
}

bool smpfota_bcast_is_group(const uint8_t *f, size_t len)
{
	struct smpfota_smp_hdr h;
	return smpfota_smp_hdr_decode(f, len, &h) > 0 && h.group == SMPFOTA_BCAST_GROUP;
}

/* ---- target: the record ---------------------------------------------------------------------- */

static uint32_t chunk_word(const struct smpfota_bcast_target *b, uint32_t blk, uint32_t i)
{
	return SMPFOTA_BCAST_RECORD_HDR + 4U * (blk * b->per_block + i);
}

static bool got(const struct smpfota_bcast_target *b, uint32_t blk, uint32_t i)
{
	uint32_t w = 0xffffffffU;
	return smpfota_flash_area_read(&b->cfg->record, chunk_word(b, blk, i), &w, 4) == 0 &&
	       w == 0;
}

static uint32_t chunks_in(const struct smpfota_bcast_target *b, uint32_t blk)
{
	uint32_t start = blk * b->block;
	uint32_t end = start + b->block < b->len ? start + b->block : b->len;
	return (end - start + b->chunk - 1U) / b->chunk;
}

/* Bytes of chunk i of block blk: to the end of the block or of the image. */
static uint32_t chunk_len(const struct smpfota_bcast_target *b, uint32_t blk, uint32_t i)
{
	uint32_t off = blk * b->block + i * b->chunk;
	uint32_t end = off + b->chunk;
	end = end < (blk + 1U) * b->block ? end : (blk + 1U) * b->block;
	end = end < b->len ? end : b->len;
	return end - off;
}

/* Geometry of a session: its chunk count, whether the record fits. */
static bool geometry(struct smpfota_bcast_target *b)
{
	const struct smpfota_flash *sf = b->cfg->slot.flash;
	if (b->chunk == 0 || b->block == 0 || b->len == 0 || b->len > b->cfg->slot.size ||
	    b->chunk % sf->write_size != 0 || b->block % sf->page_size != 0 ||
	    (b->block + b->chunk - 1U) / b->chunk > SMPFOTA_BCAST_MAX_CHUNKS ||
	    SMPFOTA_BCAST_RECORD_SIZE((uint64_t)b->len, b->block, b->chunk) > b->cfg->record.size) {
		return false;
	}
	b->per_block = (b->block + b->chunk - 1U) / b->chunk;
	uint32_t blocks = (b->len + b->block - 1U) / b->block;
	b->total = 0;
	for (uint32_t k = 0; k < blocks; k++) {
		b->total += chunks_in(b, k);
	}
	return true;
}

int smpfota_bcast_target_init(struct smpfota_bcast_target *b,
			      const struct smpfota_bcast_target_config *cfg)
{
	if (b == NULL || cfg == NULL || cfg->slot.flash == NULL || cfg->record.flash == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(b, 0, sizeof(*b));
	b->cfg = cfg;
	uint8_t h[48];
	if (smpfota_flash_area_read(&cfg->record, 0, h, sizeof(h)) != 0 ||
	    util_get_le32(h) != REC_MAGIC) {
		return 0; /* no session */
	}
	b->len = util_get_le32(h + 4);
	b->chunk = util_get_le16(h + 8);
	b->session = h[10];
	b->block = util_get_le32(h + 12);
	memcpy(b->sha, h + 16, 32);
	if (!geometry(b)) {
		b->len = 0;
		return 0;
	}
	uint32_t w = 0xffffffffU;
	b->active = true;
	b->verified = smpfota_flash_area_read(&cfg->record, REC_VERIFIED, &w, 4) == 0 && w == 0;
	w = 0xffffffffU;
	b->bad = smpfota_flash_area_read(&cfg->record, REC_BAD, &w, 4) == 0 && w == 0;
	uint32_t blocks = (b->len + b->block - 1U) / b->block;
	for (uint32_t k = 0; k < blocks; k++) {
		for (uint32_t i = 0; i < chunks_in(b, k); i++) {
			b->received += got(b, k, i);
		}
	}
	return 0;
}

static void mark(struct smpfota_bcast_target *b, uint32_t off)
{
	uint32_t w = 0xffffffffU;
	if (smpfota_flash_area_read(&b->cfg->record, off, &w, 4) == 0 && w != 0) {
		(void)smpfota_flash_area_write(&b->cfg->record, off, &zero_word, 4);
	}
}

/* A new session: the record is erased and its header written; the slot is erased where it
 * does not read erased (pre-erased flash pays nothing). */
static int start_session(struct smpfota_bcast_target *b, const struct bc_map *q)
{
	const struct smpfota_bcast_target_config *cfg = b->cfg;
	if (b->active && q->session == b->session && q->len == b->len && q->chunk == b->chunk &&
	    q->block == b->block && memcmp(q->sha.value, b->sha, 32) == 0) {
		return 0; /* resume */
	}
	struct smpfota_bcast_target n = {.cfg = cfg,
					 .session = (uint8_t)q->session,
					 .chunk = (uint16_t)q->chunk,
					 .len = q->len,
					 .block = q->block};
	memcpy(n.sha, q->sha.value, 32);
	if (!geometry(&n)) {
		return SMPFOTA_MGMT_EINVAL;
	}
	*b = n;
	uint32_t rec = SMPFOTA_BCAST_RECORD_SIZE(b->len, b->block, b->chunk);
	uint32_t page = cfg->record.flash->page_size;
	size_t rec_pages = (size_t)((rec + page - 1U) / page) * page;
	if (smpfota_flash_area_erase(&cfg->record, 0, rec_pages) != 0) {
		return SMPFOTA_MGMT_EUNKNOWN;
	}
	uint32_t sp = cfg->slot.flash->page_size;
	for (uint32_t off = 0; off < b->len; off += sp) {
		if (smpfota_flash_area_is_erased(&cfg->slot, off, sp) != 1 &&
		    smpfota_flash_area_erase(&cfg->slot, off, sp) != 0) {
			return SMPFOTA_MGMT_EUNKNOWN;
		}
	}
	uint8_t h[48] = {0};
	util_put_le32(h, REC_MAGIC);
	util_put_le32(h + 4, b->len);
	util_put_le16(h + 8, b->chunk);
	h[10] = b->session;
	h[11] = 0;
	util_put_le32(h + 12, b->block);
	memcpy(h + 16, b->sha, 32);
	if (smpfota_flash_area_write(&cfg->record, 0, h, sizeof(h)) != 0) {
		return SMPFOTA_MGMT_EUNKNOWN;
	}
	b->active = true;
	return 0;
}

/* Write n bytes at off of the slot (padded to the write size), unless they are there already.
 * 0; SMPFOTA_ERR_IO when other data is there (only an erase could fix it). */
static int put(struct smpfota_bcast_target *b, uint32_t off, const uint8_t *d, size_t n)
{
	uint8_t buf[SMPFOTA_BCAST_MAX_CHUNKS];
	uint16_t ws = b->cfg->slot.flash->write_size;
	size_t padded = (n + ws - 1U) / ws * ws;
	if (padded > sizeof(buf)) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(buf, b->cfg->slot.flash->erased_val, padded);
	memcpy(buf, d, n);
	int rc = smpfota_flash_area_is_erased(&b->cfg->slot, off, padded);
	if (rc == 1) {
		return smpfota_flash_area_write(&b->cfg->slot, off, buf, padded);
	}
	if (rc == 0) {
		uint8_t old[SMPFOTA_BCAST_MAX_CHUNKS];
		rc = smpfota_flash_area_read(&b->cfg->slot, off, old, padded);
		if (rc == 0 && memcmp(old, buf, padded) != 0) {
			/* A write torn by a power cut: the session is lost, unicast takes over. */
			b->bad = true;
			mark(b, REC_BAD);
			rc = SMPFOTA_ERR_IO;
		}
	}
	return rc;
}

/* Every chunk is there: the whole file's SHA-256 against the one START named, the first
 * chunk read from the record; then the first chunk goes to the slot. */
static void verify(struct smpfota_bcast_target *b)
{
	smpfota_sha256_ctx sha;
	uint8_t buf[256], first[SMPFOTA_BCAST_MAX_CHUNKS], out[32];
	uint32_t n0 = chunk_len(b, 0, 0);
	int rc = smpfota_flash_area_read(&b->cfg->record, REC_FIRST, first, n0) != 0;
	smpfota_sha256_init(&sha);
	rc = rc || smpfota_sha256_starts(&sha) != 0 || smpfota_sha256_update(&sha, first, n0) != 0;
	for (uint32_t off = n0; rc == 0 && off < b->len; off += sizeof(buf)) {
		size_t n = b->len - off < sizeof(buf) ? b->len - off : sizeof(buf);
		rc = smpfota_flash_area_read(&b->cfg->slot, off, buf, n) != 0 ||
		     smpfota_sha256_update(&sha, buf, n) != 0;
	}
	rc = rc || smpfota_sha256_finish(&sha, out) != 0;
	smpfota_sha256_free(&sha);
	if (rc == 0 && memcmp(out, b->sha, 32) == 0) {
		if (put(b, 0, first, n0) != 0) {
			return; /* bad (marked), or a write error: asked again, tried again */
		}
		b->verified = true;
		mark(b, REC_VERIFIED);
	} else {
		b->bad = true;
		mark(b, REC_BAD);
	}
}

int smpfota_bcast_target_packet(struct smpfota_bcast_target *b, const uint8_t *p, size_t len)
{
	b->stats.packets++;
	if (!b->active || b->verified || b->bad || len <= SMPFOTA_BCAST_PKT_HDR ||
	    p[0] != SMPFOTA_BCAST_MAGIC || p[1] != b->session) {
		b->stats.ignored++;
		return 0;
	}
	uint32_t blk = util_get_be16(p + 2);
	uint32_t i = p[4];
	uint32_t off = blk * b->block + i * b->chunk;
	size_t n = len - SMPFOTA_BCAST_PKT_HDR;
	if (blk >= (b->len + b->block - 1U) / b->block || i >= chunks_in(b, blk) ||
	    n != chunk_len(b, blk, i)) {
		b->stats.ignored++;
		return 0;
	}
	if (got(b, blk, i)) {
		b->stats.duplicates++;
		return 0;
	}
	/* The first chunk waits in the record (see bcast.h); the others go to the slot, unless
	 * they are there already (a power cut came before the record was). */
	int rc;
	if (blk == 0 && i == 0) {
		uint8_t buf[SMPFOTA_BCAST_MAX_CHUNKS];
		uint16_t ws = b->cfg->record.flash->write_size;
		size_t padded = (n + ws - 1U) / ws * ws;
		if (padded > sizeof(buf)) {
			return SMPFOTA_ERR_INVAL;
		}
		memset(buf, b->cfg->record.flash->erased_val, sizeof(buf));
		memcpy(buf, p + SMPFOTA_BCAST_PKT_HDR, n);
		rc = smpfota_flash_area_is_erased(&b->cfg->record, REC_FIRST, padded) == 1
			     ? smpfota_flash_area_write(&b->cfg->record, REC_FIRST, buf, padded)
			     : 0;
	} else {
		rc = put(b, off, p + SMPFOTA_BCAST_PKT_HDR, n);
	}
	if (rc != 0) {
		/* A failed write leaves the chunk missing: it comes again in a repair round. */
		b->stats.write_errors++;
		return rc;
	}
	mark(b, chunk_word(b, blk, i));
	b->received++;
	return 0;
}

static int reply(uint8_t *rsp, size_t cap, uint8_t op, uint8_t id, uint8_t seq,
		 const struct smpfota_bcast_target *b, int32_t rc, const uint8_t *missing,
		 size_t mlen)
{
	zcbor_state_t zs[N_STATES];
	if (cap < SMPFOTA_SMP_HDR_SIZE + 16U) {
		return SMPFOTA_ERR_NOSPC;
	}
	zcbor_new_encode_state(zs, N_STATES, rsp + SMPFOTA_SMP_HDR_SIZE, cap - SMPFOTA_SMP_HDR_SIZE,
			       0);
	bool ok = zcbor_map_start_encode(zs, 4);
	ok = ok && zcbor_tstr_put_lit(zs, "rc") && zcbor_int32_put(zs, rc);
	if (missing != NULL) {
		ok = ok && zcbor_tstr_put_lit(zs, "missing") &&
		     zcbor_bstr_encode_ptr(zs, (const char *)missing, mlen) &&
		     zcbor_tstr_put_lit(zs, "done") && zcbor_bool_put(zs, b->verified) &&
		     zcbor_tstr_put_lit(zs, "bad") && zcbor_bool_put(zs, b->bad);
	}
	ok = ok && zcbor_map_end_encode(zs, 4);
	if (!ok) {
		return SMPFOTA_ERR_NOSPC;
	}
	size_t body = (size_t)(zs->payload - (rsp + SMPFOTA_SMP_HDR_SIZE));
	return (int)frame(rsp, (uint8_t)(op + 1U), id, seq, body);
}

int smpfota_bcast_target_handle(struct smpfota_bcast_target *b, const uint8_t *req, size_t len,
				uint8_t *rsp, size_t cap)
{
	struct smpfota_smp_hdr h;
	int n = smpfota_smp_hdr_decode(req, len, &h);
	if (n <= 0 || h.group != SMPFOTA_BCAST_GROUP) {
		return SMPFOTA_ERR_NOTSUP;
	}
	if (h.op != SMPFOTA_SMP_OP_READ && h.op != SMPFOTA_SMP_OP_WRITE) {
		return 0; /* a response: not for a server */
	}
	struct bc_map q;
	if (!decode_map(req + SMPFOTA_SMP_HDR_SIZE, h.len, &q)) {
		return reply(rsp, cap, h.op, h.id, h.seq, b, SMPFOTA_MGMT_EINVAL, NULL, 0);
	}
	if (h.id == SMPFOTA_BCAST_CMD_START && h.op == SMPFOTA_SMP_OP_WRITE) {
		if (!q.has_session || !q.has_len || !q.has_chunk || !q.has_block || !q.has_sha ||
		    q.sha.len != 32 || q.session > 255 || q.chunk > 65535) {
			return reply(rsp, cap, h.op, h.id, h.seq, b, SMPFOTA_MGMT_EINVAL, NULL, 0);
		}
		return reply(rsp, cap, h.op, h.id, h.seq, b, start_session(b, &q), NULL, 0);
	}
	if (h.id == SMPFOTA_BCAST_CMD_STATUS && h.op == SMPFOTA_SMP_OP_READ) {
		if (!q.has_block || !b->active) {
			return reply(rsp, cap, h.op, h.id, h.seq, b,
				     b->active ? SMPFOTA_MGMT_EINVAL : SMPFOTA_MGMT_ENOENT, NULL,
				     0);
		}
		uint8_t missing[SMPFOTA_BCAST_BITMAP] = {0};
		uint32_t blocks = (b->len + b->block - 1U) / b->block;
		if (q.block < blocks) {
			for (uint32_t i = 0; i < chunks_in(b, q.block); i++) {
				if (!got(b, q.block, i)) {
					missing[i / 8U] |= (uint8_t)(1U << (i % 8U));
				}
			}
		}
		if (b->received == b->total && !b->verified && !b->bad) {
			verify(b);
		}
		return reply(rsp, cap, h.op, h.id, h.seq, b, 0, missing, (b->per_block + 7U) / 8U);
	}
	return reply(rsp, cap, h.op, h.id, h.seq, b, SMPFOTA_MGMT_ENOTSUP, NULL, 0);
}

/* ---- master --------------------------------------------------------------------------------- */

enum { M_START, M_SEND, M_DRAIN, M_QUERY, M_DONE };

static const char *const result_names[] = {"pending",        "done",        "dropped-silent",
					   "dropped-rounds", "dropped-bad", "refused"};

const char *smpfota_bcast_result_name(int result)
{
	return (result >= 0 && result <= SMPFOTA_BCAST_REFUSED) ? result_names[result] : "?";
}

static uint32_t m_chunks_in(const struct smpfota_bcast_master *m, uint32_t blk)
{
	uint32_t start = blk * m->cfg.block;
	uint32_t end = start + m->cfg.block < m->cfg.len ? start + m->cfg.block : m->cfg.len;
	return (end - start + m->cfg.chunk - 1U) / m->cfg.chunk;
}

static void m_send(struct smpfota_bcast_master *m, size_t i)
{
	struct smpfota_bcast_member *mb = &m->cfg.members[i];
	mb->sent_at = m->now;
	if (mb->send(mb->ctx, mb->frame, mb->frame_len) != 0) {
		/* counted as lost: the timeout sends it again */
	}
}

/* A request to member i: START (the session) or STATUS (the current block). */
static void m_request(struct smpfota_bcast_master *m, size_t i, uint8_t id)
{
	struct smpfota_bcast_member *mb = &m->cfg.members[i];
	zcbor_state_t zs[N_STATES];
	uint8_t *body = mb->frame + SMPFOTA_SMP_HDR_SIZE;
	zcbor_new_encode_state(zs, N_STATES, body, sizeof(mb->frame) - SMPFOTA_SMP_HDR_SIZE, 0);
	bool ok = zcbor_map_start_encode(zs, 5);
	if (id == SMPFOTA_BCAST_CMD_START) {
		ok = ok && zcbor_tstr_put_lit(zs, "session") &&
		     zcbor_uint32_put(zs, m->cfg.session) && zcbor_tstr_put_lit(zs, "len") &&
		     zcbor_uint32_put(zs, m->cfg.len) && zcbor_tstr_put_lit(zs, "chunk") &&
		     zcbor_uint32_put(zs, m->cfg.chunk) && zcbor_tstr_put_lit(zs, "block") &&
		     zcbor_uint32_put(zs, m->cfg.block) && zcbor_tstr_put_lit(zs, "sha") &&
		     zcbor_bstr_encode_ptr(zs, (const char *)m->cfg.sha, 32);
	} else {
		ok = ok && zcbor_tstr_put_lit(zs, "block") && zcbor_uint32_put(zs, m->block_i);
		m->stats.queries++;
	}
	ok = ok && zcbor_map_end_encode(zs, 5);
	if (!ok) {
		mb->result = SMPFOTA_BCAST_REFUSED; /* cannot happen: the frame buffer fits both */
		return;
	}
	mb->seq++;
	mb->frame_len = (uint16_t)frame(mb->frame,
					id == SMPFOTA_BCAST_CMD_START ? SMPFOTA_SMP_OP_WRITE
								      : SMPFOTA_SMP_OP_READ,
					id, mb->seq, (size_t)(zs->payload - body));
	mb->waiting = true;
	mb->answered = false;
	mb->tries = 1;
	memset(mb->missing, 0, sizeof(mb->missing));
	m_send(m, i);
}

static void query_all(struct smpfota_bcast_master *m, uint8_t id)
{
	for (size_t i = 0; i < m->cfg.n; i++) {
		if (m->cfg.members[i].result == SMPFOTA_BCAST_PENDING) {
			m_request(m, i, id);
		}
	}
}

static void begin_block(struct smpfota_bcast_master *m, uint32_t blk)
{
	m->block_i = blk;
	m->round = 0;
	m->next_chunk = 0;
	memset(m->todo, 0, sizeof(m->todo));
	for (uint32_t i = 0; i < m_chunks_in(m, blk); i++) {
		m->todo[i / 8U] |= (uint8_t)(1U << (i % 8U));
	}
	/* Resuming (the master restarted): ask first, send only what someone misses. */
	m->probing = m->cfg.resume;
	m->phase = m->probing ? M_DRAIN : M_SEND;
}

static bool any_pending(const struct smpfota_bcast_master *m)
{
	for (size_t i = 0; i < m->cfg.n; i++) {
		if (m->cfg.members[i].result == SMPFOTA_BCAST_PENDING) {
			return true;
		}
	}
	return false;
}

static bool any_waiting(const struct smpfota_bcast_master *m)
{
	for (size_t i = 0; i < m->cfg.n; i++) {
		if (m->cfg.members[i].waiting) {
			return true;
		}
	}
	return false;
}

/* Every member answered the block's query: repair, or the next block. */
static void after_query(struct smpfota_bcast_master *m)
{
	uint8_t uni[SMPFOTA_BCAST_BITMAP] = {0};
	bool missing = false;
	for (size_t i = 0; i < m->cfg.n; i++) {
		const struct smpfota_bcast_member *mb = &m->cfg.members[i];
		for (size_t k = 0; mb->result == SMPFOTA_BCAST_PENDING && k < sizeof(uni); k++) {
			uni[k] |= mb->missing[k];
			missing = missing || mb->missing[k] != 0;
		}
	}
	bool last = m->block_i + 1U >= m->blocks;
	if (missing && (m->probing || m->round < m->cfg.max_rounds)) {
		m->round += m->probing ? 0U : 1U; /* a probe's answer leads to the first send */
		m->probing = false;
		memcpy(m->todo, uni, sizeof(uni));
		m->next_chunk = 0;
		m->phase = M_SEND;
		return;
	}
	for (size_t i = 0; i < m->cfg.n; i++) {
		struct smpfota_bcast_member *mb = &m->cfg.members[i];
		bool lacks = false;
		for (size_t k = 0; k < sizeof(uni); k++) {
			lacks = lacks || mb->missing[k] != 0;
		}
		/* Still missing chunks after the last round, or (at the end) not verified. */
		if (mb->result == SMPFOTA_BCAST_PENDING && (lacks || last)) {
			mb->result = SMPFOTA_BCAST_DROPPED_ROUNDS;
		}
	}
	if (last || !any_pending(m)) {
		m->phase = M_DONE;
	} else {
		begin_block(m, m->block_i + 1U);
	}
}

int smpfota_bcast_master_start(struct smpfota_bcast_master *m,
			       const struct smpfota_bcast_master_config *cfg, uint32_t now)
{
	if (m == NULL || cfg == NULL || cfg->members == NULL || cfg->n == 0 || cfg->read == NULL ||
	    cfg->sha == NULL || cfg->len == 0 || cfg->broadcast == NULL ||
	    cfg->broadcast_idle == NULL || cfg->chunk == 0 || cfg->chunk % 4U != 0 ||
	    cfg->chunk > 256U || cfg->block == 0 ||
	    (cfg->block + cfg->chunk - 1U) / cfg->chunk > SMPFOTA_BCAST_MAX_CHUNKS ||
	    (cfg->len + cfg->block - 1U) / cfg->block > 65536U) {
		return SMPFOTA_ERR_INVAL;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		if (cfg->members[i].send == NULL) {
			return SMPFOTA_ERR_INVAL;
		}
	}
	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	if (m->cfg.max_rounds == 0) {
		m->cfg.max_rounds = DEFAULT_ROUNDS;
	}
	if (m->cfg.timeout_ms == 0) {
		m->cfg.timeout_ms = DEFAULT_TIMEOUT_MS;
	}
	if (m->cfg.retries == 0) {
		m->cfg.retries = DEFAULT_RETRIES;
	}
	if (m->cfg.start_timeout_ms == 0) {
		m->cfg.start_timeout_ms = DEFAULT_START_TIMEOUT_MS;
	}
	m->blocks = (cfg->len + cfg->block - 1U) / cfg->block;
	m->now = now;
	for (size_t i = 0; i < cfg->n; i++) {
		struct smpfota_bcast_member *mb = &m->cfg.members[i];
		mb->result = SMPFOTA_BCAST_PENDING;
		mb->waiting = false;
	}
	m->phase = M_START;
	query_all(m, SMPFOTA_BCAST_CMD_START);
	return 0;
}

void smpfota_bcast_master_input(struct smpfota_bcast_master *m, size_t i, const uint8_t *f,
				size_t len, uint32_t now)
{
	struct smpfota_smp_hdr h;
	if (i >= m->cfg.n || smpfota_smp_hdr_decode(f, len, &h) <= 0 ||
	    h.group != SMPFOTA_BCAST_GROUP) {
		return;
	}
	struct smpfota_bcast_member *mb = &m->cfg.members[i];
	uint8_t want = m->phase == M_START ? SMPFOTA_BCAST_CMD_START : SMPFOTA_BCAST_CMD_STATUS;
	if (!mb->waiting || h.seq != mb->seq || h.id != want || (h.op & 1U) == 0) {
		return; /* late, duplicate or not an answer */
	}
	m->now = now;
	mb->waiting = false;
	mb->answered = true;
	struct bc_map r;
	if (!decode_map(f + SMPFOTA_SMP_HDR_SIZE, h.len, &r) || !r.has_rc || r.rc != 0) {
		/* no such group (a stock target), refused, or nonsense */
		mb->result = SMPFOTA_BCAST_REFUSED;
		return;
	}
	if (want == SMPFOTA_BCAST_CMD_START) {
		return;
	}
	if (r.bad) {
		mb->result = SMPFOTA_BCAST_DROPPED_BAD;
	} else if (r.done) {
		mb->result = SMPFOTA_BCAST_DONE;
	} else if (r.has_missing) {
		size_t n = r.missing.len < sizeof(mb->missing) ? r.missing.len
							       : sizeof(mb->missing);
		memcpy(mb->missing, r.missing.value, n);
	}
}

static void pump(struct smpfota_bcast_master *m)
{
	uint32_t n = m_chunks_in(m, m->block_i);
	while (m->next_chunk < n) {
		uint32_t i = m->next_chunk;
		if (!(m->todo[i / 8U] & (1U << (i % 8U)))) {
			m->next_chunk++;
			continue;
		}
		uint32_t off = m->block_i * m->cfg.block + i * m->cfg.chunk;
		uint32_t end = off + m->cfg.chunk;
		uint32_t bend = (m->block_i + 1U) * m->cfg.block;
		end = end < bend ? end : bend;
		end = end < m->cfg.len ? end : m->cfg.len;
		uint8_t *p = m->pkt;
		p[0] = SMPFOTA_BCAST_MAGIC;
		p[1] = m->cfg.session;
		util_put_be16(p + 2, (uint16_t)m->block_i);
		p[4] = (uint8_t)i;
		if (m->cfg.read(m->cfg.read_ctx, off, p + SMPFOTA_BCAST_PKT_HDR, end - off) != 0) {
			m->phase = M_DONE; /* the image cannot be read: every member is dropped */
			for (size_t k = 0; k < m->cfg.n; k++) {
				if (m->cfg.members[k].result == SMPFOTA_BCAST_PENDING) {
					m->cfg.members[k].result = SMPFOTA_BCAST_DROPPED_BAD;
				}
			}
			return;
		}
		if (m->cfg.broadcast(m->cfg.bctx, p, SMPFOTA_BCAST_PKT_HDR + end - off) != 0) {
			return; /* no room: the next poll goes on */
		}
		m->stats.packets++;
		m->stats.repairs += m->round > 0;
		m->next_chunk++;
	}
	m->phase = M_DRAIN;
}

void smpfota_bcast_master_poll(struct smpfota_bcast_master *m, uint32_t now)
{
	m->now = now;
	for (size_t i = 0; i < m->cfg.n; i++) {
		struct smpfota_bcast_member *mb = &m->cfg.members[i];
		uint32_t t = m->phase == M_START ? m->cfg.start_timeout_ms : m->cfg.timeout_ms;
		if (!mb->waiting || (uint32_t)(now - mb->sent_at) < t) {
			continue;
		}
		/* START is not sent again: the link below retransmits already, and a target that
		 * stays silent that long is dropped rather than holding the broadcast up. */
		if (m->phase != M_START && mb->tries <= m->cfg.retries) {
			mb->tries++;
			m_send(m, i);
		} else {
			mb->waiting = false;
			mb->result = SMPFOTA_BCAST_DROPPED_SILENT;
		}
	}
	switch (m->phase) {
	case M_START:
		if (!any_waiting(m)) {
			if (any_pending(m)) {
				begin_block(m, 0);
			} else {
				m->phase = M_DONE;
			}
		}
		break;
	case M_SEND:
		pump(m);
		break;
	case M_DRAIN:
		if (m->cfg.broadcast_idle(m->cfg.bctx)) {
			m->phase = M_QUERY;
			query_all(m, SMPFOTA_BCAST_CMD_STATUS);
		}
		break;
	case M_QUERY:
		if (!any_waiting(m)) {
			after_query(m);
		}
		break;
	default:
		break;
	}
}

int32_t smpfota_bcast_master_next_deadline(const struct smpfota_bcast_master *m, uint32_t now)
{
	if (m->phase == M_DONE) {
		return -1;
	}
	if (m->phase == M_SEND || m->phase == M_DRAIN) {
		return 1; /* room in the queue, or the air drained: look again soon */
	}
	if ((m->phase == M_QUERY || m->phase == M_START) && !any_waiting(m)) {
		return 0;
	}
	int32_t d = -1;
	for (size_t i = 0; i < m->cfg.n; i++) {
		const struct smpfota_bcast_member *mb = &m->cfg.members[i];
		if (!mb->waiting) {
			continue;
		}
		uint32_t t = m->phase == M_START ? m->cfg.start_timeout_ms : m->cfg.timeout_ms;
		int32_t left = util_time_until(now, mb->sent_at + t);
		d = (d < 0 || left < d) ? left : d;
	}
	return d < 0 ? 0 : d;
}

bool smpfota_bcast_master_finished(const struct smpfota_bcast_master *m)
{
	return m->phase == M_DONE;
}
