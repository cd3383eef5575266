/*
 * Secure channel for SMP frames (secure.h; docs/security.md has the protocol and why).
 *
 * Frames (multi-byte fields big endian):
 *   HELLO      a4 | version | key id | random_i[16]                              19 bytes
 *   HELLO_ACK  a5 | key id | sid[2] | random_r[16] | tag[8]                      28 bytes
 *   DATA       a6 | key id | sid[2] | counter[4] | ciphertext | tag[8]   SMP frame + 16
 *   REJECT     a7 | reason | key id | sid[2]                                      5 bytes
 * Session material = HKDF-SHA256(long-term key, salt = random_i | random_r,
 *   info = "smpfota secure v1" | key id): key_i2r[16] | key_r2i[16] | iv[8] | sid[2].
 * CCM nonce = direction (0: initiator to responder, 1: back) | counter[4] | iv[8]; the AAD
 * is every byte before the ciphertext. HELLO_ACK is the responder's counter 0 over an empty
 * plaintext: it proves the responder holds the key; the initiator's first DATA frame
 * proves the initiator does.
 */
#include "smpfota/secure.h"

#include <string.h>

#include "smpfota/smp.h"
#include "util.h"

#define VERSION 1U
#define HELLO_LEN (3U + SMPFOTA_SECURE_RAND_SIZE)
#define ACK_AAD_LEN (4U + SMPFOTA_SECURE_RAND_SIZE)
#define ACK_LEN (ACK_AAD_LEN + SMPFOTA_SECURE_TAG_SIZE)
#define REJECT_LEN 5U
/* Session material from the KDF: key i2r, key r2i, IV, session id. */
#define MATERIAL_LEN 42U
#define SLOT_TX 0U
#define SLOT_RX 1U
#define SLOT_SCRATCH 2U
#define DIR_I2R 0U
#define DIR_R2I 1U

static const uint8_t kdf_label[] = "smpfota secure v1";

/* What differs between the roles, reached only through the table its init function sets:
 * a board links only its own role's code (--gc-sections drops the other). */
struct smpfota_secure_role {
	/* Any frame but DATA: handshake, REJECT, plaintext SMP. */
	int (*on_frame)(struct smpfota_secure *s, const uint8_t *f, size_t len);
	/* A DATA frame for no active session: a session to try (and its key slot), or NULL. */
	struct smpfota_secure_session *(*pending)(struct smpfota_secure *s, uint16_t sid,
						  uint8_t key_id);
	/* A pending session's first authenticated frame arrived. */
	int (*promote)(struct smpfota_secure *s, struct smpfota_secure_session *ss);
	/* send() without a session. */
	int (*open)(struct smpfota_secure *s);
};

_Static_assert(ACK_LEN == SMPFOTA_SECURE_HANDSHAKE_MAX, "handshake size");
/* A buffer half that holds a handshake frame holds a DATA frame of an SMP header too. */
_Static_assert(SMPFOTA_SECURE_HANDSHAKE_MAX >= SMPFOTA_SECURE_OVERHEAD + SMPFOTA_SMP_HDR_SIZE,
	       "buffer check");
_Static_assert(sizeof(((struct smpfota_secure_session *)0)->m) == MATERIAL_LEN, "material");

static uint32_t get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	util_put_be16(p, (uint16_t)(v >> 16));
	util_put_be16(p + 2, (uint16_t)v);
}

static size_t half(const struct smpfota_secure *s)
{
	return s->cfg.buf_size / 2U;
}

static uint8_t *rx_buf(struct smpfota_secure *s)
{
	return s->cfg.buf;
}

static uint8_t *tx_buf(struct smpfota_secure *s)
{
	return s->cfg.buf + half(s);
}

static __attribute__((noinline)) void make_nonce(uint8_t n[SMPFOTA_SECURE_NONCE_SIZE], unsigned dir,
						 uint32_t ctr, const uint8_t iv[8])
{
	n[0] = (uint8_t)dir;
	put_be32(n + 1, ctr);
	memcpy(n + 5, iv, 8);
}

/* Session material from both randoms: keys by direction, IV, session id (never 0). */
static int derive(struct smpfota_secure *s, uint8_t key_id, const uint8_t *rand_i,
		  const uint8_t *rand_r, struct smpfota_secure_session *out)
{
	uint8_t salt[2U * SMPFOTA_SECURE_RAND_SIZE];
	uint8_t info[sizeof(kdf_label)];

	memcpy(salt, rand_i, SMPFOTA_SECURE_RAND_SIZE);
	memcpy(salt + SMPFOTA_SECURE_RAND_SIZE, rand_r, SMPFOTA_SECURE_RAND_SIZE);
	memcpy(info, kdf_label, sizeof(kdf_label) - 1U);
	info[sizeof(kdf_label) - 1U] = key_id;
	memset(out, 0, sizeof(*out));
	int rc = s->cfg.crypto.derive(s->cfg.crypto.ctx, key_id, salt, sizeof(salt), info,
				      sizeof(info), out->m.raw, sizeof(out->m.raw));
	uint16_t sid = util_get_be16(out->m.f.sid);
	out->sid = sid ? sid : 1U;
	out->key_id = key_id;
	return rc;
}

/* Load a session's keys into the transmit and receive slots (this side sends in direction
 * `responder`); RAM keeps no copy. */
static int activate(struct smpfota_secure *s, struct smpfota_secure_session *ss)
{
	const struct smpfota_secure_crypto *c = &s->cfg.crypto;
	int rc = c->set_key(c->ctx, SLOT_TX, ss->m.f.key[s->responder]);
	rc = rc ? rc : c->set_key(c->ctx, SLOT_RX, ss->m.f.key[!s->responder]);
	memset(ss->m.f.key, 0, sizeof(ss->m.f.key));
	s->s = *ss;
	if (rc != 0) {
		s->s.sid = 0;
		return rc;
	}
	s->stats.sessions++;
	return 0;
}

static void end_session(struct smpfota_secure_session *ss)
{
	memset(ss, 0, sizeof(*ss));
}

/* A failed check on a session: counted; too many end it. */
static int fail(struct smpfota_secure *s, struct smpfota_secure_session *ss, int err)
{
	if (err == SMPFOTA_ERR_AUTH) {
		s->stats.auth_failed++;
	} else {
		s->stats.replayed++;
	}
	if (++ss->failures >= s->cfg.max_failures) {
		end_session(ss);
		s->stats.ended++;
	}
	return err;
}

static void send_reject(struct smpfota_secure *s, uint8_t reason, uint8_t key_id, uint16_t sid)
{
	uint8_t *f = tx_buf(s);
	f[0] = SMPFOTA_SECURE_REJECT;
	f[1] = reason;
	f[2] = key_id;
	util_put_be16(f + 3, sid);
	(void)s->cfg.send(s->cfg.ctx, f, REJECT_LEN);
}

static int init(struct smpfota_secure *s, const struct smpfota_secure_config *cfg, uint32_t now,
		const struct smpfota_secure_role *role)
{
	const struct smpfota_secure_crypto *c = &cfg->crypto;
	if (c->set_key == NULL || c->encrypt == NULL || c->decrypt == NULL || c->derive == NULL ||
	    c->random == NULL || cfg->send == NULL || cfg->deliver == NULL || cfg->buf == NULL ||
	    cfg->buf_size < (size_t)2U * SMPFOTA_SECURE_HANDSHAKE_MAX) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->role = role;
	s->cfg.max_failures = cfg->max_failures ? cfg->max_failures : 8U;
	s->cfg.handshake_ms = cfg->handshake_ms ? cfg->handshake_ms : 500U;
	s->cfg.handshake_tries = cfg->handshake_tries ? cfg->handshake_tries : 6U;
	s->now = now;
	return 0;
}

void smpfota_secure_reset(struct smpfota_secure *s)
{
	end_session(&s->s);
	for (unsigned i = 0; i < SMPFOTA_SECURE_PENDING; i++) {
		end_session(&s->pend[i]);
	}
	s->hs_active = false;
}

bool smpfota_secure_established(const struct smpfota_secure *s)
{
	return s->s.sid != 0;
}

int smpfota_secure_last_error(const struct smpfota_secure *s)
{
	return s->hint ? s->hint : s->hs_err;
}

/* ---- initiator -------------------------------------------------------------------------- */

static void send_hello(struct smpfota_secure *s)
{
	uint8_t *f = tx_buf(s);
	f[0] = SMPFOTA_SECURE_HELLO;
	f[1] = VERSION;
	f[2] = s->cfg.key_id;
	memcpy(f + 3, s->rand, SMPFOTA_SECURE_RAND_SIZE);
	s->hs_tries++;
	s->hs_at = s->now;
	s->stats.handshakes++;
	(void)s->cfg.send(s->cfg.ctx, f, HELLO_LEN); /* a refused HELLO goes again on time */
}

static int start_handshake(struct smpfota_secure *s)
{
	int rc = s->cfg.crypto.random(s->cfg.crypto.ctx, s->rand, sizeof(s->rand));
	if (rc != 0) {
		return rc;
	}
	end_session(&s->s);
	s->hs_active = true;
	s->hs_tries = 0;
	s->hint = 0;
	send_hello(s);
	return 0;
}

static int on_hello_ack(struct smpfota_secure *s, const uint8_t *f, size_t len)
{
	if (len != ACK_LEN || f[1] != s->cfg.key_id) {
		s->stats.malformed++;
		return SMPFOTA_ERR_PROTO;
	}
	if (!s->hs_active) {
		s->stats.no_session++; /* a late copy: the handshake is over */
		return SMPFOTA_ERR_NO_SESSION;
	}
	struct smpfota_secure_session ss;
	int rc = derive(s, s->cfg.key_id, s->rand, f + 4, &ss);
	if (rc != 0) {
		return rc;
	}
	uint8_t nonce[SMPFOTA_SECURE_NONCE_SIZE];
	const struct smpfota_secure_crypto *c = &s->cfg.crypto;
	make_nonce(nonce, DIR_R2I, 0, ss.m.f.iv);
	/* The tag covers the header: a good one means the session id is the one derived here. */
	rc = c->set_key(c->ctx, SLOT_SCRATCH, ss.m.f.key[DIR_R2I]);
	rc = rc ? rc
		: c->decrypt(c->ctx, SLOT_SCRATCH, nonce, f, ACK_AAD_LEN, NULL, NULL, 0,
			     f + ACK_AAD_LEN, SMPFOTA_SECURE_TAG_SIZE);
	if (rc != 0) {
		end_session(&ss);
		s->stats.auth_failed++;
		s->hint = SMPFOTA_ERR_AUTH; /* the target holds another key under this id */
		return SMPFOTA_ERR_AUTH;
	}
	rc = activate(s, &ss);
	if (rc == 0) {
		s->hs_active = false;
		s->hint = 0;
		s->hs_err = 0;
	}
	return rc;
}

static int on_reject(struct smpfota_secure *s, const uint8_t *f, size_t len)
{
	if (len != REJECT_LEN || f[2] != s->cfg.key_id) {
		s->stats.malformed++;
		return SMPFOTA_ERR_PROTO;
	}
	s->stats.rejects++;
	uint16_t sid = util_get_be16(f + 3);
	if (f[1] == SMPFOTA_SECURE_R_NO_SESSION && sid != 0 && sid == s->s.sid) {
		/* The responder lost this session (it reset, or ended it): open a new one. An
		 * attacker who forges this only costs a handshake, as jamming would. */
		end_session(&s->s);
		return 0;
	}
	if (s->hs_active &&
	    (f[1] == SMPFOTA_SECURE_R_UNKNOWN_KEY || f[1] == SMPFOTA_SECURE_R_VERSION)) {
		s->hint = f[1] == SMPFOTA_SECURE_R_VERSION ? SMPFOTA_ERR_NOTSUP
							   : SMPFOTA_ERR_KEY_UNKNOWN;
	}
	return 0;
}

void smpfota_secure_poll(struct smpfota_secure *s, uint32_t now)
{
	s->now = now;
	if (!s->hs_active || !util_time_reached(now, s->hs_at + s->cfg.handshake_ms)) {
		return;
	}
	if (s->hs_tries >= s->cfg.handshake_tries) {
		s->hs_active = false;
		s->hs_err = s->hint ? s->hint : SMPFOTA_ERR_TIMEDOUT;
		return;
	}
	send_hello(s);
}

int32_t smpfota_secure_next_deadline(const struct smpfota_secure *s, uint32_t now)
{
	return s->hs_active ? util_time_until(now, s->hs_at + s->cfg.handshake_ms) : -1;
}

/* ---- responder -------------------------------------------------------------------------- */

static bool sid_in_use(const struct smpfota_secure *s, uint16_t sid)
{
	if (s->s.sid == sid) {
		return true;
	}
	for (unsigned i = 0; i < SMPFOTA_SECURE_PENDING; i++) {
		if (s->pend[i].sid == sid) {
			return true;
		}
	}
	return false;
}

static int on_hello(struct smpfota_secure *s, const uint8_t *f, size_t len)
{
	if (len != HELLO_LEN) {
		s->stats.malformed++;
		return SMPFOTA_ERR_PROTO;
	}
	if (f[1] != VERSION) {
		s->stats.malformed++;
		send_reject(s, SMPFOTA_SECURE_R_VERSION, f[2], 0);
		return SMPFOTA_ERR_NOTSUP;
	}
	const struct smpfota_secure_crypto *c = &s->cfg.crypto;
	uint8_t *a = tx_buf(s);
	struct smpfota_secure_session ss;
	int rc;
	/* A session id already in use here would make the two sessions' frames ambiguous:
	 * draw again (1 in 65535 per HELLO). */
	for (int tries = 0;; tries++) {
		rc = c->random(c->ctx, a + 4, SMPFOTA_SECURE_RAND_SIZE);
		rc = rc ? rc : derive(s, f[2], f + 3, a + 4, &ss);
		if (rc != 0 || !sid_in_use(s, ss.sid) || tries == 3) {
			break;
		}
	}
	if (rc == SMPFOTA_ERR_KEY_UNKNOWN) {
		s->stats.unknown_key++;
		send_reject(s, SMPFOTA_SECURE_R_UNKNOWN_KEY, f[2], 0);
		return rc;
	}
	if (rc != 0) {
		return rc;
	}
	a[0] = SMPFOTA_SECURE_HELLO_ACK;
	a[1] = ss.key_id;
	util_put_be16(a + 2, ss.sid);
	uint8_t nonce[SMPFOTA_SECURE_NONCE_SIZE];
	make_nonce(nonce, DIR_R2I, 0, ss.m.f.iv);
	rc = c->set_key(c->ctx, SLOT_SCRATCH, ss.m.f.key[DIR_R2I]);
	rc = rc ? rc
		: c->encrypt(c->ctx, SLOT_SCRATCH, nonce, a, ACK_AAD_LEN, NULL, NULL, 0,
			     a + ACK_AAD_LEN, SMPFOTA_SECURE_TAG_SIZE);
	if (rc != 0) {
		end_session(&ss);
		return rc;
	}
	/* Kept pending until the initiator's first frame proves it holds the key too; the
	 * active session goes on meanwhile. */
	s->pend[s->pend_next] = ss;
	s->pend_next = (uint8_t)((s->pend_next + 1U) % SMPFOTA_SECURE_PENDING);
	s->stats.handshakes++;
	(void)s->cfg.send(s->cfg.ctx, a, ACK_LEN);
	return 0;
}

/* A plaintext SMP request: answered with EACCESSDENIED so that any SMP client shows a clear
 * error; the server never sees it. */
static int refuse_plaintext(struct smpfota_secure *s, const uint8_t *f, size_t len)
{
	struct smpfota_smp_hdr h;
	s->stats.plaintext++;
	if (smpfota_smp_hdr_decode(f, len, &h) < 0 || (h.op & 1U) != 0) {
		return SMPFOTA_ERR_PLAINTEXT; /* not a request: nothing to answer */
	}
	static const char rsn[] = "authenticated session required";
	const struct smpfota_smp_status st = {.rc = SMPFOTA_MGMT_EACCESSDENIED,
					      .rsn = {rsn, sizeof(rsn) - 1U}};
	int n = smpfota_smp_encode_err(&h, &st, tx_buf(s), half(s));
	if (n > 0) {
		(void)s->cfg.send(s->cfg.ctx, tx_buf(s), (size_t)n);
	}
	return SMPFOTA_ERR_PLAINTEXT;
}

/* ---- both ------------------------------------------------------------------------------- */

static int on_data(struct smpfota_secure *s, const uint8_t *f, size_t len)
{
	if (len < SMPFOTA_SECURE_OVERHEAD || len - SMPFOTA_SECURE_OVERHEAD > half(s)) {
		s->stats.malformed++;
		return SMPFOTA_ERR_PROTO;
	}
	uint16_t sid = util_get_be16(f + 2);
	uint32_t ctr = get_be32(f + 4);
	struct smpfota_secure_session *ss = NULL;
	unsigned slot = SLOT_RX;
	const struct smpfota_secure_crypto *c = &s->cfg.crypto;
	if (sid != 0 && s->s.sid == sid && s->s.key_id == f[1]) {
		ss = &s->s;
	} else if (s->role->pending != NULL) {
		ss = s->role->pending(s, sid, f[1]);
		slot = SLOT_SCRATCH;
	}
	if (ss == NULL) {
		s->stats.no_session++;
		return SMPFOTA_ERR_NO_SESSION;
	}
	size_t n = len - SMPFOTA_SECURE_OVERHEAD;
	int rc = SMPFOTA_ERR_REPLAY;
	if (ctr > ss->rx_ctr) {
		uint8_t nonce[SMPFOTA_SECURE_NONCE_SIZE];
		make_nonce(nonce, !s->responder, ctr, ss->m.f.iv);
		rc = c->decrypt(c->ctx, slot, nonce, f, SMPFOTA_SECURE_DATA_HDR,
				f + SMPFOTA_SECURE_DATA_HDR, rx_buf(s), n,
				f + SMPFOTA_SECURE_DATA_HDR + n, SMPFOTA_SECURE_TAG_SIZE);
		rc = rc ? SMPFOTA_ERR_AUTH : 0; /* whatever failed, nothing is passed on */
	}
	if (rc != 0) {
		return fail(s, ss, rc);
	}
	ss->rx_ctr = ctr;
	if (ss != &s->s) {
		rc = s->role->promote(s, ss);
		if (rc != 0) {
			return rc;
		}
	}
	s->stats.delivered++;
	(void)s->cfg.deliver(s->cfg.ctx, rx_buf(s), n);
	return 0;
}

int smpfota_secure_input(struct smpfota_secure *s, const uint8_t *frame, size_t len, uint32_t now)
{
	s->now = now;
	if (len == 0) {
		s->stats.malformed++;
		return SMPFOTA_ERR_PROTO;
	}
	if (frame[0] == SMPFOTA_SECURE_DATA) {
		return on_data(s, frame, len);
	}
	return s->role->on_frame(s, frame, len);
}

static bool is_smp(const uint8_t *f)
{
	return (f[0] & 0x7U) <= SMPFOTA_SMP_OP_WRITE_RSP;
}

int smpfota_secure_send(struct smpfota_secure *s, const uint8_t *frame, size_t len)
{
	if (len > half(s) - SMPFOTA_SECURE_OVERHEAD) {
		return SMPFOTA_ERR_NOSPC;
	}
	if (s->s.tx_ctr == UINT32_MAX) {
		end_session(&s->s); /* counters never wrap: a new session instead */
	}
	if (s->s.sid == 0) {
		return s->role->open(s);
	}
	uint8_t *f = tx_buf(s);
	uint32_t ctr = s->s.tx_ctr + 1U;
	f[0] = SMPFOTA_SECURE_DATA;
	f[1] = s->s.key_id;
	util_put_be16(f + 2, s->s.sid);
	put_be32(f + 4, ctr);
	uint8_t nonce[SMPFOTA_SECURE_NONCE_SIZE];
	make_nonce(nonce, s->responder, ctr, s->s.m.f.iv);
	const struct smpfota_secure_crypto *c = &s->cfg.crypto;
	int rc = c->encrypt(c->ctx, SLOT_TX, nonce, f, SMPFOTA_SECURE_DATA_HDR, frame,
			    f + SMPFOTA_SECURE_DATA_HDR, len, f + SMPFOTA_SECURE_DATA_HDR + len,
			    SMPFOTA_SECURE_TAG_SIZE);
	if (rc != 0) {
		return rc;
	}
	/* Every sealed frame takes its counter, sent or not: a (key, nonce) pair never seals
	 * two plaintexts. The receiver accepts gaps. */
	s->s.tx_ctr = ctr;
	rc = s->cfg.send(s->cfg.ctx, f, len + SMPFOTA_SECURE_OVERHEAD);
	if (rc == 0) {
		s->stats.sent++;
	}
	return rc;
}

int smpfota_secure_transport_send(void *ctx, const uint8_t *frame, size_t len)
{
	return smpfota_secure_send(ctx, frame, len);
}

/* ---- initiator -------------------------------------------------------------------------- */

static int ini_on_frame(struct smpfota_secure *s, const uint8_t *f, size_t len)
{
	if (f[0] == SMPFOTA_SECURE_HELLO_ACK) {
		return on_hello_ack(s, f, len);
	}
	if (f[0] == SMPFOTA_SECURE_REJECT) {
		return on_reject(s, f, len);
	}
	if (is_smp(f)) {
		/* Plaintext: never taken. As the answer to a HELLO, it says the target has no key. */
		s->stats.plaintext++;
		if (s->hs_active) {
			s->hint = SMPFOTA_ERR_NOT_SECURE;
		}
		return SMPFOTA_ERR_PLAINTEXT;
	}
	s->stats.malformed++;
	return SMPFOTA_ERR_PROTO;
}

static int ini_open(struct smpfota_secure *s)
{
	if (s->hs_active) {
		return SMPFOTA_ERR_BUSY;
	}
	int rc = s->hs_err; /* a failed handshake is reported once; the next send tries again */
	s->hs_err = 0;
	rc = rc ? rc : start_handshake(s);
	return rc ? rc : SMPFOTA_ERR_BUSY;
}

static const struct smpfota_secure_role initiator_role = {
	.on_frame = ini_on_frame, .pending = NULL, .promote = NULL, .open = ini_open};

int smpfota_secure_init_initiator(struct smpfota_secure *s, const struct smpfota_secure_config *cfg,
				  uint32_t now)
{
	return init(s, cfg, now, &initiator_role);
}

/* ---- responder -------------------------------------------------------------------------- */

static int rsp_on_frame(struct smpfota_secure *s, const uint8_t *f, size_t len)
{
	if (f[0] == SMPFOTA_SECURE_HELLO) {
		return on_hello(s, f, len);
	}
	if (is_smp(f)) {
		return refuse_plaintext(s, f, len);
	}
	s->stats.malformed++;
	return SMPFOTA_ERR_PROTO;
}

static struct smpfota_secure_session *rsp_pending(struct smpfota_secure *s, uint16_t sid,
						  uint8_t key_id)
{
	for (unsigned i = 0; sid != 0 && i < SMPFOTA_SECURE_PENDING; i++) {
		if (s->pend[i].sid == sid && s->pend[i].key_id == key_id) {
			const struct smpfota_secure_crypto *c = &s->cfg.crypto;
			int rc = c->set_key(c->ctx, SLOT_SCRATCH, s->pend[i].m.f.key[DIR_I2R]);
			return rc == 0 ? &s->pend[i] : NULL;
		}
	}
	/* Tell the initiator, so it opens a new session at once (it may have reset us). */
	send_reject(s, SMPFOTA_SECURE_R_NO_SESSION, key_id, sid);
	return NULL;
}

static int rsp_promote(struct smpfota_secure *s, struct smpfota_secure_session *ss)
{
	/* The initiator proved it holds the key: this session replaces the active one, and
	 * sessions opened before it can no longer be taken up (a late frame of an abandoned
	 * session must not switch back to it). Slots are reused oldest first from pend_next. */
	for (unsigned k = s->pend_next; &s->pend[k] != ss; k = (k + 1U) % SMPFOTA_SECURE_PENDING) {
		end_session(&s->pend[k]);
	}
	int rc = activate(s, ss);
	end_session(ss);
	return rc;
}

static int rsp_open(struct smpfota_secure *s)
{
	(void)s;
	return SMPFOTA_ERR_NO_SESSION;
}

static const struct smpfota_secure_role responder_role = {
	.on_frame = rsp_on_frame, .pending = rsp_pending, .promote = rsp_promote, .open = rsp_open};

int smpfota_secure_init_responder(struct smpfota_secure *s, const struct smpfota_secure_config *cfg,
				  uint32_t now)
{
	int rc = init(s, cfg, now, &responder_role);
	s->responder = true;
	return rc;
}
