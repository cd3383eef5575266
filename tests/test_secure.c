/*
 * Secure channel tests: known-answer tests of the mbedTLS port (AES-CCM: RFC 3610; HKDF:
 * RFC 5869), the protocol's frames against vectors computed by an independent implementation
 * (scripts/secure_vectors.py, Python's `cryptography`), and the protocol between an
 * initiator and a responder wired through in-memory queues: delivery, plaintext refusal,
 * forgeries, replays, reordering, truncation, wrong and unknown keys, resets of either side,
 * sessions ended by failures.
 */
#include <stdlib.h>

#include "check.h"
#include "crypto/mbedtls.h"
#include "crypto/psa.h"
#include "smpfota/secure.h"
#include "smpfota/smp.h"

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2) {
		unsigned v;
		(void)sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* ---- known answers -------------------------------------------------------------------- */

static int no_random(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	memset(out, 0, len);
	return 0;
}

/* RFC 3610 section 8, packet vectors #1 and #2: 13-byte nonce, 8-byte header as AAD, M = 8
 * (the channel's parameters). */
static void kat_ccm_rfc3610(void)
{
	static const struct {
		const char *nonce, *payload, *out;
	} v[] = {
		{"00000003020100a0a1a2a3a4a5", "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
		 "588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0"},
		{"00000004030201a0a1a2a3a4a5", "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		 "72c91a36e135f8cf291ca894085c87e3cc15c439c9e43a3ba091d56e10400916"},
	};
	struct smpfota_mbedtls_crypto m;
	struct smpfota_secure_crypto ops;
	CHECK_EQ(smpfota_mbedtls_crypto_init(&m, NULL, 0, no_random, NULL, &ops), 0);
	uint8_t key[16], aad[8];
	unhex("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", key);
	unhex("0001020304050607", aad);
	CHECK_EQ(ops.set_key(ops.ctx, 1, key), 0);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t nonce[13], pt[64], want[64], ct[64], tag[8], back[64];
		unhex(v[i].nonce, nonce);
		size_t n = unhex(v[i].payload, pt);
		CHECK_EQ(unhex(v[i].out, want), n + 8);
		CHECK_EQ(ops.encrypt(ops.ctx, 1, nonce, aad, 8, pt, ct, n, tag, 8), 0);
		CHECK_MEM(ct, want, n);
		CHECK_MEM(tag, want + n, 8);
		CHECK_EQ(ops.decrypt(ops.ctx, 1, nonce, aad, 8, ct, back, n, tag, 8), 0);
		CHECK_MEM(back, pt, n);
		tag[7] ^= 1;
		CHECK_EQ(ops.decrypt(ops.ctx, 1, nonce, aad, 8, ct, back, n, tag, 8),
			 SMPFOTA_ERR_AUTH);
		tag[7] ^= 1;
		aad[0] ^= 0x80;
		CHECK_EQ(ops.decrypt(ops.ctx, 1, nonce, aad, 8, ct, back, n, tag, 8),
			 SMPFOTA_ERR_AUTH);
		aad[0] ^= 0x80;
	}
	smpfota_mbedtls_crypto_free(&m);
}

/* RFC 5869 appendix A, test cases 1 and 3 (HKDF-SHA256). */
static void kat_hkdf_rfc5869(void)
{
	uint8_t ikm[22], salt[13], info[10], okm[42], want[42];
	memset(ikm, 0x0b, sizeof(ikm));
	unhex("000102030405060708090a0b0c", salt);
	unhex("f0f1f2f3f4f5f6f7f8f9", info);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
	      want);
	CHECK_EQ(smpfota_mbedtls_hkdf_sha256(ikm, 22, salt, 13, info, 10, okm, 42), 0);
	CHECK_MEM(okm, want, 42);
	unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
	      want);
	CHECK_EQ(smpfota_mbedtls_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 42), 0);
	CHECK_MEM(okm, want, 42);
}

/* The same vectors through the PSA Crypto port (mbedTLS's PSA core on a PC; the CC312 on
 * NCS): AES-CCM with the tag after the text, HKDF with the IKM as a PSA derivation key. */
static void kat_psa(void)
{
	struct smpfota_psa_crypto pc;
	struct smpfota_secure_crypto ops;
	uint8_t key[16], aad[8], nonce[13], pt[64], want[64], buf[72], back[64];
	unhex("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", key);
	unhex("0001020304050607", aad);
	unhex("00000003020100a0a1a2a3a4a5", nonce);
	size_t n = unhex("08090a0b0c0d0e0f101112131415161718191a1b1c1d1e", pt);
	unhex("588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0", want);

	uint8_t ikm[22], salt[13], info[10], okm[42], hwant[42];
	memset(ikm, 0x0b, sizeof(ikm));
	unhex("000102030405060708090a0b0c", salt);
	unhex("f0f1f2f3f4f5f6f7f8f9", info);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
	      hwant);
	struct smpfota_psa_key ltk = {.id = 9};
	CHECK_EQ(smpfota_psa_import_ltk(ikm, sizeof(ikm), &ltk.key), 0);
	CHECK_EQ(smpfota_psa_crypto_init(&pc, &ltk, 1, &ops), 0);

	CHECK_EQ(ops.set_key(ops.ctx, 2, key), 0);
	CHECK_EQ(ops.encrypt(ops.ctx, 2, nonce, aad, 8, pt, buf, n, buf + n, 8), 0);
	CHECK_MEM(buf, want, n + 8);
	CHECK_EQ(ops.decrypt(ops.ctx, 2, nonce, aad, 8, buf, back, n, buf + n, 8), 0);
	CHECK_MEM(back, pt, n);
	buf[n] ^= 1;
	CHECK_EQ(ops.decrypt(ops.ctx, 2, nonce, aad, 8, buf, back, n, buf + n, 8),
		 SMPFOTA_ERR_AUTH);
	/* the tag elsewhere than after the text: refused, not mis-sealed */
	CHECK_EQ(ops.encrypt(ops.ctx, 2, nonce, aad, 8, pt, buf, n, want, 8), SMPFOTA_ERR_NOTSUP);

	CHECK_EQ(ops.derive(ops.ctx, 9, salt, sizeof(salt), info, sizeof(info), okm, 42), 0);
	CHECK_MEM(okm, hwant, 42);
	CHECK_EQ(ops.derive(ops.ctx, 8, salt, sizeof(salt), info, sizeof(info), okm, 42),
		 SMPFOTA_ERR_KEY_UNKNOWN);
	uint8_t r1[16] = {0}, r2[16] = {0};
	CHECK_EQ(ops.random(ops.ctx, r1, sizeof(r1)), 0);
	CHECK_EQ(ops.random(ops.ctx, r2, sizeof(r2)), 0);
	CHECK(memcmp(r1, r2, sizeof(r1)) != 0);
	smpfota_psa_crypto_free(&pc);
	(void)psa_destroy_key(ltk.key);
}

/* ---- a pair of channels ------------------------------------------------------------------ */

#define QN 64
#define FMAX 600

struct queue {
	uint8_t f[QN][FMAX];
	size_t len[QN];
	unsigned n;
	bool busy; /* the transport refuses (SMPFOTA_ERR_BUSY) */
};

struct side {
	struct smpfota_secure sec;
	struct smpfota_mbedtls_crypto mc;
	bool on_psa; /* the PSA Crypto port instead of mbedTLS's */
	struct smpfota_psa_crypto pc;
	struct smpfota_psa_key pk;
	struct smpfota_mbedtls_key key;
	struct queue *out;
	uint8_t buf[2 * FMAX];
	uint8_t got[QN][FMAX]; /* delivered plaintexts */
	size_t got_len[QN];
	unsigned ngot;
	uint8_t rand_byte; /* deterministic "random": counts up */
	bool echo;         /* responder: answer each delivered frame with itself */
};

static int q_send(void *ctx, const uint8_t *f, size_t len)
{
	struct side *s = ctx;
	struct queue *q = s->out;
	if (q->busy) {
		return SMPFOTA_ERR_BUSY;
	}
	if (q->n == QN || len > FMAX) {
		return SMPFOTA_ERR_NOSPC;
	}
	memcpy(q->f[q->n], f, len);
	q->len[q->n++] = len;
	return 0;
}

static int on_deliver(void *ctx, const uint8_t *f, size_t len)
{
	struct side *s = ctx;
	if (s->ngot < QN) {
		memcpy(s->got[s->ngot], f, len);
		s->got_len[s->ngot++] = len;
	}
	if (s->echo) {
		(void)smpfota_secure_send(&s->sec, f, len);
	}
	return 0;
}

static int counting_random(void *ctx, uint8_t *out, size_t len)
{
	struct side *s = ctx;
	for (size_t i = 0; i < len; i++) {
		out[i] = s->rand_byte++;
	}
	return 0;
}

struct pair {
	struct side ini, rsp;
	struct queue i2r, r2i;
	uint32_t now;
};

/* Sides on the PSA port: bit 0 the initiator, bit 1 the responder. */
static unsigned psa_sides;

static void side_init(struct side *s, bool responder, uint8_t key_id, uint8_t key_fill,
		      struct queue *out, uint8_t rand0)
{
	s->key.id = key_id;
	memset(s->key.key, key_fill, sizeof(s->key.key));
	s->out = out;
	s->rand_byte = rand0;
	struct smpfota_secure_config cfg = {.key_id = key_id,
					    .send = q_send,
					    .deliver = on_deliver,
					    .ctx = s,
					    .buf = s->buf,
					    .buf_size = sizeof(s->buf),
					    .max_failures = 4};
	s->on_psa = (psa_sides & (responder ? 2U : 1U)) != 0;
	if (s->on_psa) {
		s->pk.id = key_id;
		CHECK_EQ(smpfota_psa_import_ltk(s->key.key, sizeof(s->key.key), &s->pk.key), 0);
		CHECK_EQ(smpfota_psa_crypto_init(&s->pc, &s->pk, 1, &cfg.crypto), 0);
	} else {
		CHECK_EQ(smpfota_mbedtls_crypto_init(&s->mc, &s->key, 1, counting_random, s,
						     &cfg.crypto),
			 0);
	}
	CHECK_EQ(responder ? smpfota_secure_init_responder(&s->sec, &cfg, 0)
			   : smpfota_secure_init_initiator(&s->sec, &cfg, 0),
		 0);
}

static struct pair *pair_new(uint8_t ini_key_fill, uint8_t ini_key_id)
{
	struct pair *p = calloc(1, sizeof(*p));
	side_init(&p->ini, false, ini_key_id, ini_key_fill, &p->i2r, 0x10);
	side_init(&p->rsp, true, 0x2a, 0x55, &p->r2i, 0x20);
	p->rsp.echo = true;
	return p;
}

static void side_free(struct side *s)
{
	if (s->on_psa) {
		smpfota_psa_crypto_free(&s->pc);
		(void)psa_destroy_key(s->pk.key);
	} else {
		smpfota_mbedtls_crypto_free(&s->mc);
	}
}

static void pair_free(struct pair *p)
{
	side_free(&p->ini);
	side_free(&p->rsp);
	free(p);
}

/* Deliver everything queued, both ways, until quiet; returns frames moved. */
static unsigned pump(struct pair *p)
{
	unsigned moved = 0;
	for (int round = 0; round < 16; round++) {
		unsigned n = 0;
		struct queue q = p->i2r;
		p->i2r.n = 0;
		for (unsigned i = 0; i < q.n; i++, n++) {
			(void)smpfota_secure_input(&p->rsp.sec, q.f[i], q.len[i], p->now);
		}
		q = p->r2i;
		p->r2i.n = 0;
		for (unsigned i = 0; i < q.n; i++, n++) {
			(void)smpfota_secure_input(&p->ini.sec, q.f[i], q.len[i], p->now);
		}
		moved += n;
		if (n == 0) {
			break;
		}
	}
	return moved;
}

static const uint8_t echo_req[] = {0x0a, 0, 0, 6, 0, 0, 0, 0, 0xa1, 0x61, 0x64, 0x62, 0x68, 0x69};

/* Open a session: the first send starts the handshake and is refused BUSY. */
static void pair_open(struct pair *p)
{
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), SMPFOTA_ERR_BUSY);
	pump(p);
	CHECK(smpfota_secure_established(&p->ini.sec));
}

/* ---- protocol ---------------------------------------------------------------------------- */

/* The frames of a session with fixed key and randoms equal scripts/secure_vectors.py's. */
static void frames_match_vectors(void)
{
	struct pair *p = pair_new(0, 0x2a);
	for (uint8_t i = 0; i < 16; i++) {
		p->ini.key.key[i] = i;
		p->rsp.key.key[i] = i;
	}
	uint8_t want[64];
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), SMPFOTA_ERR_BUSY);
	CHECK_EQ(p->i2r.n, 1);
	size_t n = unhex("a4012a101112131415161718191a1b1c1d1e1f", want);
	CHECK_EQ(p->i2r.len[0], n);
	CHECK_MEM(p->i2r.f[0], want, n);
	pump(p);
	/* the responder's ACK went by; redo its input to see the frame: recompute via a 2nd pair */
	CHECK(smpfota_secure_established(&p->ini.sec));
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), 0);
	n = unhex("a62a4d6f000000011746c0713d76e1f160048181157df82873cd84ad767a", want);
	CHECK_EQ(p->i2r.n, 1);
	CHECK_EQ(p->i2r.len[0], n);
	CHECK_MEM(p->i2r.f[0], want, n);

	/* The responder's answer to that HELLO, fed by hand. */
	struct pair *q = pair_new(0, 0x2a);
	for (uint8_t i = 0; i < 16; i++) {
		q->rsp.key.key[i] = i;
	}
	n = unhex("a4012a101112131415161718191a1b1c1d1e1f", want);
	CHECK_EQ(smpfota_secure_input(&q->rsp.sec, want, n, 0), 0);
	CHECK_EQ(q->r2i.n, 1);
	n = unhex("a52a4d6f202122232425262728292a2b2c2d2e2f95eb25dc2e8ec951", want);
	CHECK_EQ(q->r2i.len[0], n);
	CHECK_MEM(q->r2i.f[0], want, n);
	n = unhex("a62a4d6f000000011746c0713d76e1f160048181157df82873cd84ad767a", want);
	CHECK_EQ(smpfota_secure_input(&q->rsp.sec, want, n, 0), 0);
	CHECK_EQ(q->rsp.ngot, 1);
	CHECK_EQ(q->rsp.got_len[0], sizeof(echo_req));
	CHECK_MEM(q->rsp.got[0], echo_req, sizeof(echo_req));
	pair_free(q);
	pair_free(p);
}

static void roundtrip(void)
{
	struct pair *p = pair_new(0x55, 0x2a);
	pair_open(p);
	CHECK_EQ(p->ini.sec.stats.sessions, 1);
	for (int i = 0; i < 20; i++) {
		uint8_t f[300];
		size_t n = 8 + (size_t)i * 13;
		for (size_t j = 0; j < n; j++) {
			f[j] = (uint8_t)(i * 7 + j);
		}
		f[0] = 0x0a;
		CHECK_EQ(smpfota_secure_send(&p->ini.sec, f, n), 0);
		pump(p);
		CHECK_EQ(p->rsp.ngot, (unsigned)i + 1);
		CHECK_EQ(p->ini.ngot, (unsigned)i + 1);
		CHECK_EQ(p->ini.got_len[i], n);
		CHECK_MEM(p->ini.got[i], f, n);
		CHECK_MEM(p->rsp.got[i], f, n);
	}
	CHECK_EQ(p->rsp.sec.stats.auth_failed + p->ini.sec.stats.auth_failed, 0);
	CHECK_EQ(p->rsp.sec.stats.sessions, 1);
	/* too large for the buffer */
	static uint8_t big[FMAX];
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, big, FMAX - SMPFOTA_SECURE_OVERHEAD + 1),
		 SMPFOTA_ERR_NOSPC);
	pair_free(p);
}

/* A plaintext SMP request gets EACCESSDENIED and never reaches the server. */
static void plaintext_refused(void)
{
	struct pair *p = pair_new(0x55, 0x2a);
	CHECK_EQ(smpfota_secure_input(&p->rsp.sec, echo_req, sizeof(echo_req), 0),
		 SMPFOTA_ERR_PLAINTEXT);
	CHECK_EQ(p->rsp.ngot, 0);
	CHECK_EQ(p->r2i.n, 1);
	struct smpfota_smp_hdr h;
	CHECK_EQ(smpfota_smp_hdr_decode(p->r2i.f[0], p->r2i.len[0], &h), (int)p->r2i.len[0]);
	CHECK_EQ(h.op, SMPFOTA_SMP_OP_WRITE_RSP);
	union smpfota_smp_rsp r;
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_OS_ECHO, p->r2i.f[0] + 8, h.len, &r), 0);
	CHECK_EQ(r.status.rc, SMPFOTA_MGMT_EACCESSDENIED);
	/* a plaintext response is not answered; the initiator drops plaintext too */
	uint8_t rsp[sizeof(echo_req)];
	memcpy(rsp, echo_req, sizeof(rsp));
	rsp[0] = 0x0b;
	p->r2i.n = 0;
	CHECK_EQ(smpfota_secure_input(&p->rsp.sec, rsp, sizeof(rsp), 0), SMPFOTA_ERR_PLAINTEXT);
	CHECK_EQ(p->r2i.n, 0);
	pair_open(p);
	unsigned got = p->ini.ngot;
	CHECK_EQ(smpfota_secure_input(&p->ini.sec, rsp, sizeof(rsp), 0), SMPFOTA_ERR_PLAINTEXT);
	CHECK_EQ(p->ini.ngot, got);
	CHECK_EQ(p->rsp.sec.stats.plaintext, 2);
	pair_free(p);
}

/* Send one frame and keep a copy of its sealed form (without delivering it). */
static size_t capture(struct pair *p, uint8_t *out)
{
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), 0);
	CHECK_EQ(p->i2r.n, 1);
	size_t n = p->i2r.len[0];
	memcpy(out, p->i2r.f[0], n);
	return n;
}

static void replay_and_reorder(void)
{
	struct pair *p = pair_new(0x55, 0x2a);
	pair_open(p);
	pump(p);
	uint8_t a[FMAX], b[FMAX];
	size_t na = capture(p, a);
	p->i2r.n = 0;
	size_t nb = capture(p, b);
	pump(p); /* b arrives first */
	unsigned got = p->rsp.ngot;
	CHECK_EQ(smpfota_secure_input(&p->rsp.sec, a, na, 0), SMPFOTA_ERR_REPLAY); /* reordered */
	CHECK_EQ(smpfota_secure_input(&p->rsp.sec, b, nb, 0), SMPFOTA_ERR_REPLAY); /* replayed */
	CHECK_EQ(p->rsp.ngot, got);
	CHECK_EQ(p->rsp.sec.stats.replayed, 2);
	/* the responder's answers cannot be replayed to the initiator either */
	got = p->ini.ngot;
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), 0);
	struct queue save;
	smpfota_secure_input(&p->rsp.sec, p->i2r.f[0], p->i2r.len[0], 0);
	p->i2r.n = 0;
	save = p->r2i;
	pump(p);
	CHECK_EQ(p->ini.ngot, got + 1);
	CHECK_EQ(smpfota_secure_input(&p->ini.sec, save.f[0], save.len[0], 0), SMPFOTA_ERR_REPLAY);
	CHECK_EQ(p->ini.ngot, got + 1);
	pair_free(p);
}

/* Every single-bit flip and every truncation of a DATA frame is refused. The session ends
 * after max_failures, so each try runs on a fresh pair. */
static void bitflip_and_truncate(void)
{
	struct pair *p = pair_new(0x55, 0x2a);
	pair_open(p);
	pump(p);
	uint8_t f[FMAX];
	size_t n = capture(p, f);
	p->i2r.n = 0;
	unsigned base = p->rsp.ngot, refused = 0, tries = 0;
	for (size_t bit = 0; bit < n * 8; bit++) {
		struct smpfota_secure saved = p->rsp.sec;
		f[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		int rc = smpfota_secure_input(&p->rsp.sec, f, n, 0);
		f[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		tries++;
		refused += rc != 0;
		CHECK_EQ(p->rsp.ngot, base);
		p->rsp.sec = saved; /* undo the failure count (and any pending session) */
		p->r2i.n = 0;
	}
	for (size_t len = 0; len < n; len++) {
		struct smpfota_secure saved = p->rsp.sec;
		int rc = smpfota_secure_input(&p->rsp.sec, f, len, 0);
		tries++;
		refused += rc != 0;
		CHECK_EQ(p->rsp.ngot, base);
		p->rsp.sec = saved;
		p->r2i.n = 0;
	}
	CHECK_EQ(refused, tries);
	/* the untouched frame still goes through */
	CHECK_EQ(smpfota_secure_input(&p->rsp.sec, f, n, 0), 0);
	CHECK_EQ(p->rsp.ngot, base + 1);
	pair_free(p);
}

/* An initiator with another key under the same id: the HELLO_ACK does not verify. */
static void wrong_key(void)
{
	struct pair *p = pair_new(0x66, 0x2a);
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), SMPFOTA_ERR_BUSY);
	pump(p);
	CHECK(!smpfota_secure_established(&p->ini.sec));
	CHECK_EQ(p->ini.sec.stats.auth_failed, 1);
	CHECK_EQ(smpfota_secure_last_error(&p->ini.sec), SMPFOTA_ERR_AUTH);
	/* the handshake gives up after its tries; the next send reports why */
	int rc = SMPFOTA_ERR_BUSY;
	for (int i = 0; i < 20 && rc == SMPFOTA_ERR_BUSY; i++) {
		p->now += 600;
		smpfota_secure_poll(&p->ini.sec, p->now);
		pump(p);
		rc = smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req));
	}
	CHECK_EQ(rc, SMPFOTA_ERR_AUTH);
	CHECK_EQ(p->ini.sec.stats.handshakes, 6);
	CHECK_EQ(p->rsp.ngot, 0);
	/* the initiator's frames under its own keys (a wrong-key master) never get through */
	struct pair *w = pair_new(0x66, 0x2a);
	w->rsp.key.key[0] = 0x66; /* ... nor do they with a key that differs in one byte */
	CHECK_EQ(smpfota_secure_send(&w->ini.sec, echo_req, sizeof(echo_req)), SMPFOTA_ERR_BUSY);
	pump(w);
	CHECK(!smpfota_secure_established(&w->ini.sec));
	CHECK_EQ(w->rsp.ngot, 0);
	pair_free(w);
	pair_free(p);
}

static void unknown_key_id(void)
{
	struct pair *p = pair_new(0x55, 0x07);
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), SMPFOTA_ERR_BUSY);
	pump(p);
	CHECK_EQ(p->rsp.sec.stats.unknown_key, 1);
	CHECK_EQ(smpfota_secure_last_error(&p->ini.sec), SMPFOTA_ERR_KEY_UNKNOWN);
	pair_free(p);
}

/* A target without a key answers the HELLO in plaintext (as the SMP server does). */
static void target_without_key(void)
{
	struct pair *p = pair_new(0x55, 0x2a);
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), SMPFOTA_ERR_BUSY);
	p->i2r.n = 0;
	uint8_t rsp[sizeof(echo_req)];
	memcpy(rsp, echo_req, sizeof(rsp));
	rsp[0] = 0x0b;
	CHECK_EQ(smpfota_secure_input(&p->ini.sec, rsp, sizeof(rsp), 0), SMPFOTA_ERR_PLAINTEXT);
	CHECK_EQ(smpfota_secure_last_error(&p->ini.sec), SMPFOTA_ERR_NOT_SECURE);
	pair_free(p);
}

/* The responder resets: the next frame gets a REJECT and the initiator opens a new session
 * by itself; frames of the old session never count again. */
static void responder_reset(void)
{
	struct pair *p = pair_new(0x55, 0x2a);
	pair_open(p);
	pump(p);
	uint8_t old[FMAX];
	size_t nold = capture(p, old);
	pump(p);
	smpfota_secure_reset(&p->rsp.sec);
	unsigned got = p->rsp.ngot;
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), 0);
	pump(p); /* REJECT back */
	CHECK_EQ(p->ini.sec.stats.rejects, 1);
	CHECK(!smpfota_secure_established(&p->ini.sec));
	pair_open(p);
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), 0);
	pump(p);
	CHECK_EQ(p->rsp.ngot, got + 1);
	CHECK_EQ(smpfota_secure_input(&p->rsp.sec, old, nold, 0), SMPFOTA_ERR_NO_SESSION);
	CHECK_EQ(p->rsp.ngot, got + 1);
	pair_free(p);
}

/* The initiator resets: its new HELLO opens a pending session, which replaces the active one
 * at its first authenticated frame; the old session's frames are then refused. A HELLO alone
 * (an attacker's replay) leaves the active session working. */
static void initiator_reset_and_stray_hello(void)
{
	struct pair *p = pair_new(0x55, 0x2a);
	pair_open(p);
	uint8_t hello[FMAX], old[FMAX];
	size_t nold = capture(p, old); /* session 1, never delivered */
	p->i2r.n = 0;
	smpfota_secure_reset(&p->ini.sec);
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), SMPFOTA_ERR_BUSY);
	size_t nh = p->i2r.len[0];
	memcpy(hello, p->i2r.f[0], nh);
	pump(p);
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), 0);
	pump(p);
	CHECK_EQ(p->rsp.sec.stats.sessions, 1);
	unsigned got = p->rsp.ngot;
	CHECK_EQ(got, 1);
	CHECK_EQ(smpfota_secure_input(&p->rsp.sec, old, nold, 0), SMPFOTA_ERR_NO_SESSION);
	/* a replayed HELLO makes a pending session; the active one goes on */
	CHECK_EQ(smpfota_secure_input(&p->rsp.sec, hello, nh, 0), 0);
	p->r2i.n = 0;
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), 0);
	pump(p);
	CHECK_EQ(p->rsp.ngot, got + 1);
	CHECK_EQ(p->rsp.sec.stats.sessions, 1);
	pair_free(p);
}

/* max_failures failed frames end the session; the initiator then opens a new one. */
static void failures_end_session(void)
{
	struct pair *p = pair_new(0x55, 0x2a);
	pair_open(p);
	pump(p);
	uint8_t f[FMAX];
	size_t n = capture(p, f);
	pump(p);
	for (int i = 0; i < 4; i++) {
		f[n - 1] ^= 1;
		CHECK(smpfota_secure_input(&p->rsp.sec, f, n, 0) != 0);
	}
	CHECK_EQ(p->rsp.sec.stats.ended, 1);
	CHECK(!smpfota_secure_established(&p->rsp.sec));
	unsigned got = p->rsp.ngot;
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), 0);
	pump(p);
	CHECK_EQ(p->rsp.ngot, got);
	pair_open(p);
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), 0);
	pump(p);
	CHECK_EQ(p->rsp.ngot, got + 1);
	pair_free(p);
}

/* Frames refused by the transport still take a counter: no counter seals two plaintexts. */
static void counter_never_reused(void)
{
	struct pair *p = pair_new(0x55, 0x2a);
	pair_open(p);
	pump(p);
	uint32_t c0 = p->ini.sec.s.tx_ctr;
	p->i2r.busy = true;
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), SMPFOTA_ERR_BUSY);
	p->i2r.busy = false;
	uint8_t f[FMAX];
	capture(p, f);
	CHECK_EQ(((uint32_t)f[4] << 24 | (uint32_t)f[5] << 16 | (uint32_t)f[6] << 8 | f[7]),
		 c0 + 2);
	pair_free(p);
}

/* Key rotation (docs/security.md): a target holding the old and the new key serves masters
 * with either; once the old key is removed, a master still on it gets KEY_UNKNOWN. */
static void key_rotation(void)
{
	struct pair *p = pair_new(0x55, 0x2a); /* master on the old key */
	struct smpfota_mbedtls_key both[2] = {p->rsp.key, {.id = 0x2b}};
	memset(both[1].key, 0x77, sizeof(both[1].key));
	struct smpfota_secure_config cfg = p->rsp.sec.cfg;
	smpfota_mbedtls_crypto_free(&p->rsp.mc);
	CHECK_EQ(smpfota_mbedtls_crypto_init(&p->rsp.mc, both, 2, counting_random, &p->rsp,
					     &cfg.crypto),
		 0);
	CHECK_EQ(smpfota_secure_init_responder(&p->rsp.sec, &cfg, 0), 0);
	pair_open(p);
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), 0);
	pump(p);
	CHECK_EQ(p->rsp.ngot, 1);

	struct pair *q = pair_new(0x77, 0x2b); /* a master on the new key */
	struct smpfota_secure_config qc = q->ini.sec.cfg;
	q->ini.out = &p->i2r; /* it talks to p's target */
	CHECK_EQ(smpfota_secure_init_initiator(&q->ini.sec, &qc, 0), 0);
	CHECK_EQ(smpfota_secure_send(&q->ini.sec, echo_req, sizeof(echo_req)), SMPFOTA_ERR_BUSY);
	CHECK_EQ(smpfota_secure_input(&p->rsp.sec, p->i2r.f[0], p->i2r.len[0], 0), 0);
	p->i2r.n = 0;
	CHECK_EQ(p->r2i.n, 1); /* the HELLO_ACK */
	CHECK_EQ(smpfota_secure_input(&q->ini.sec, p->r2i.f[0], p->r2i.len[0], 0), 0);
	p->r2i.n = 0;
	CHECK(smpfota_secure_established(&q->ini.sec));
	CHECK_EQ(smpfota_secure_send(&q->ini.sec, echo_req, sizeof(echo_req)), 0);
	CHECK_EQ(smpfota_secure_input(&p->rsp.sec, p->i2r.f[0], p->i2r.len[0], 0), 0);
	p->i2r.n = 0;
	CHECK_EQ(p->rsp.ngot, 2);

	/* the old key retired: the old master cannot open a session any more */
	smpfota_mbedtls_crypto_free(&p->rsp.mc);
	CHECK_EQ(smpfota_mbedtls_crypto_init(&p->rsp.mc, &both[1], 1, counting_random, &p->rsp,
					     &cfg.crypto),
		 0);
	CHECK_EQ(smpfota_secure_init_responder(&p->rsp.sec, &cfg, 0), 0);
	p->r2i.n = 0;
	smpfota_secure_reset(&p->ini.sec);
	CHECK_EQ(smpfota_secure_send(&p->ini.sec, echo_req, sizeof(echo_req)), SMPFOTA_ERR_BUSY);
	pump(p);
	CHECK(!smpfota_secure_established(&p->ini.sec));
	CHECK_EQ(smpfota_secure_last_error(&p->ini.sec), SMPFOTA_ERR_KEY_UNKNOWN);
	pair_free(q);
	pair_free(p);
}

static void bad_config(void)
{
	struct smpfota_secure s;
	struct smpfota_secure_config cfg = {0};
	CHECK_EQ(smpfota_secure_init_initiator(&s, &cfg, 0), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_secure_init_responder(&s, &cfg, 0), SMPFOTA_ERR_INVAL);
	struct smpfota_mbedtls_crypto m;
	struct smpfota_mbedtls_key k[2] = {{.id = 1}, {.id = 1}};
	CHECK_EQ(smpfota_mbedtls_crypto_init(&m, k, 2, no_random, NULL, &cfg.crypto),
		 SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_mbedtls_crypto_init(&m, k, 1, NULL, NULL, &cfg.crypto), SMPFOTA_ERR_INVAL);
}

/* The key id a board on PSA computes from its key equals the host tools' (keygen, --key):
 * SHA-256("smpfota key id" | key)[0], values from Python's hashlib. */
static void key_id_psa(void)
{
	uint8_t k[SMPFOTA_SECURE_KEY_SIZE], id = 0;
	for (unsigned i = 0; i < sizeof(k); i++) {
		k[i] = (uint8_t)i;
	}
	CHECK_EQ(smpfota_psa_key_id(k, &id), 0);
	CHECK_EQ(id, 9);
	CHECK_EQ(smpfota_mbedtls_key_id(k), 9);
	memset(k, 0xff, sizeof(k));
	CHECK_EQ(smpfota_psa_key_id(k, &id), 0);
	CHECK_EQ(id, 118);
	for (unsigned seed = 1; seed < 64; seed++) {
		for (unsigned i = 0; i < sizeof(k); i++) {
			k[i] = (uint8_t)(seed * 37U + i * 11U);
		}
		CHECK_EQ(smpfota_psa_key_id(k, &id), 0);
		CHECK_EQ(id, smpfota_mbedtls_key_id(k));
	}
}

/* The protocol cases with either side, or both, on the PSA port: the two ports agree. */
static void roundtrip(void);
static void replay_and_reorder(void);
static void wrong_key(void);
static void responder_reset(void);
static void failures_end_session(void);

static void on_psa(void)
{
	for (psa_sides = 1; psa_sides <= 3; psa_sides++) {
		roundtrip();
		replay_and_reorder();
		wrong_key();
		responder_reset();
		failures_end_session();
	}
	psa_sides = 0;
}

int main(void)
{
	if (psa_crypto_init() != PSA_SUCCESS) {
		fprintf(stderr, "psa_crypto_init failed\n");
		return 1;
	}
	RUN(kat_ccm_rfc3610);
	RUN(kat_hkdf_rfc5869);
	RUN(kat_psa);
	RUN(key_id_psa);
	RUN(frames_match_vectors);
	RUN(roundtrip);
	RUN(plaintext_refused);
	RUN(replay_and_reorder);
	RUN(bitflip_and_truncate);
	RUN(wrong_key);
	RUN(unknown_key_id);
	RUN(target_without_key);
	RUN(responder_reset);
	RUN(initiator_reset_and_stray_hello);
	RUN(failures_end_session);
	RUN(counter_never_reused);
	RUN(key_rotation);
	RUN(bad_config);
	RUN(on_psa);
	return CHECK_SUMMARY();
}
