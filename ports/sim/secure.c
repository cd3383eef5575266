/*
 * The secure channel in the simulator (docs/security.md): an initiator on the master's
 * application core between the client engine and its link, a responder on the target's
 * between its link and the SMP server; both on the mbedTLS port, their random numbers from a
 * stream of their own (a run stays reproducible, and turning the channel on does not move the
 * other faults). A reset of either board loses its session, as RAM would.
 *
 * And the attacker: at random times during the whole run (exponential gaps, attack_rate
 * frames per virtual second) it injects one frame of a random enabled kind into a board's
 * application core, as if its link had received it whole (the link layers' own robustness
 * against stray packets is what the fault sweep covers). It sees every frame either side
 * sends, as anyone in range would, and builds on them:
 *   forge       a DATA frame of the current session, counter ahead, random body and tag
 *   replay      the latest frame of a direction, again
 *   replay-old-session  a frame (or a HELLO) of a session that has since been replaced
 *   bitflip     the latest frame with one random bit flipped
 *   truncate    the latest frame cut to a random shorter length
 *   reorder     the next DATA frame of a direction withheld (jammed at its receiver), and
 *               delivered once a later one was taken
 *   wrong-key   a master with another key under the same key id: a HELLO of its own, and
 *               once the target answered it, DATA frames sealed with the keys its wrong key
 *               gives (an erase request)
 *   plaintext   an SMP request in the clear to the target (image erase, os reset, an upload
 *               chunk), or an SMP response in the clear to the master
 * A frame counts as accepted when the side that got it passes it up as authentic (the
 * server or the engine sees it); 0 is the only right answer.
 */
#include "sim_priv.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/mbedtls.h"
#include "smpfota/smp.h"

#define SEC_FRAME (FRAME_MAX + SMPFOTA_SECURE_OVERHEAD)

struct rec {
	uint16_t len;
	uint8_t f[SEC_FRAME];
};

struct sim_sec {
	struct smpfota_mbedtls_key key, wrong;
	struct smpfota_mbedtls_crypto m_mc, t_mc, a_mc;
	struct smpfota_secure_crypto m_ops, t_ops, a_ops;
	struct smpfota_secure m, t;
	uint8_t m_buf[2 * SEC_FRAME], t_buf[2 * SEC_FRAME];
	uint64_t rng;     /* the channels' random contributions */
	uint64_t arng;    /* the attacker's choices */
	uint64_t next_at; /* next injection */
	int injecting;    /* kind + 1 while an injected frame is being handled */
	/* what the attacker saw: per direction (0 master to target, 1 back) the latest DATA
	 * frame, a frame of an earlier session, the session id of the latest */
	struct rec last[2], old[2];
	uint16_t sid[2];
	/* a frame reached the target since its last boot: its way out is up too (the attacker
	 * only talks to a target that is on the air) */
	bool t_live;
	struct rec old_hello, hello;
	/* reorder: armed to take the next master frame; the frame taken */
	bool hold_armed[2];
	struct rec held[2];
	/* wrong-key master: its HELLO's random, and the target's answer to it */
	uint8_t wk_rand[SMPFOTA_SECURE_RAND_SIZE];
	bool wk_sent;
	struct rec wk_ack;
	uint32_t wk_ctr;
	uint8_t frame[SEC_FRAME]; /* the frame being injected */
	uint32_t sent[SMPFOTA_SIM_ATTACK_KINDS], accepted[SMPFOTA_SIM_ATTACK_KINDS];
};

static const char *const attack_names[SMPFOTA_SIM_ATTACK_KINDS] = {
	"forge",    "replay",  "replay-old-session", "bitflip",
	"truncate", "reorder", "wrong-key",          "plaintext"};

const char *smpfota_sim_attack_name(enum smpfota_sim_attack a)
{
	return (unsigned)a < SMPFOTA_SIM_ATTACK_KINDS ? attack_names[a] : "?";
}

int smpfota_sim_attack_parse(const char *name)
{
	for (int i = 0; i < (int)SMPFOTA_SIM_ATTACK_KINDS; i++) {
		if (!strcmp(name, attack_names[i])) {
			return i;
		}
	}
	return !strcmp(name, "wrong-key-master") ? SMPFOTA_SIM_ATTACK_WRONG_KEY : -1;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int sec_random(void *ctx, uint8_t *out, size_t len)
{
	struct sim_sec *s = ctx;
	for (size_t i = 0; i < len; i++) {
		out[i] = (uint8_t)(xorshift(&s->rng) >> 32);
	}
	return 0;
}

static uint32_t arand(struct sim_sec *s, uint32_t n)
{
	return n ? (uint32_t)((xorshift(&s->arng) >> 16) % n) : 0;
}

/* ---- what goes on air: the attacker watches ------------------------------------------ */

/* A frame seen on air: HELLOs and HELLO_ACKs as they are sent; DATA frames once their
 * receiver took them (a copy of a frame still on its way would only race the original, not
 * replay it). */
static void observe(struct sim_sec *s, int dir, const uint8_t *f, size_t len)
{
	if (len == 0 || len > SEC_FRAME) {
		return;
	}
	if (f[0] == SMPFOTA_SECURE_HELLO && dir == 0) {
		if (s->hello.len) {
			s->old_hello = s->hello;
		}
		memcpy(s->hello.f, f, len);
		s->hello.len = (uint16_t)len;
	}
	if (f[0] == SMPFOTA_SECURE_HELLO_ACK && dir == 1 && s->wk_sent &&
	    len == SMPFOTA_SECURE_HANDSHAKE_MAX && s->wk_ack.len == 0) {
		/* perhaps the answer to the wrong-key master's HELLO: it tries it */
		memcpy(s->wk_ack.f, f, len);
		s->wk_ack.len = (uint16_t)len;
	}
	if (f[0] != SMPFOTA_SECURE_DATA || len < SMPFOTA_SECURE_OVERHEAD) {
		return;
	}
	uint16_t sid = (uint16_t)(f[2] << 8 | f[3]);
	if (s->last[dir].len && sid != s->sid[dir]) {
		s->old[dir] = s->last[dir]; /* a new session: the last frame of the old one */
	}
	s->sid[dir] = sid;
	memcpy(s->last[dir].f, f, len);
	s->last[dir].len = (uint16_t)len;
}

/* The app core's time for sealing or opening one frame. */
static void charge(struct world *w, size_t len)
{
	w->now += w->c->t.aead_us * US + (uint64_t)w->c->t.aead_ns_per_byte * len;
}

static int m_lower_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct world *w = ctx;
	charge(w, len);
	int rc = sim_master_link_send(w, frame, len);
	if (rc == 0 && len > 0 && frame[0] == SMPFOTA_SECURE_HELLO) {
		observe(w->sec, 0, frame, len);
	}
	return rc;
}

static int t_lower_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct world *w = ctx;
	charge(w, len);
	if (len > 0 && frame[0] == SMPFOTA_SECURE_HELLO_ACK) {
		observe(w->sec, 1, frame, len);
	}
	sim_target_emit(w, frame, len); /* kept for later when the link has no room */
	return 0;
}

/* ---- the two channels -------------------------------------------------------------------- */

static int m_deliver(void *ctx, const uint8_t *frame, size_t len)
{
	struct world *w = ctx;
	if (w->sec->injecting) {
		w->sec->accepted[w->sec->injecting - 1]++;
	}
	(void)smpfota_client_input(&w->cli, frame, len, sim_ms(w->now));
	return 0;
}

static int t_deliver(void *ctx, const uint8_t *frame, size_t len)
{
	struct world *w = ctx;
	if (w->sec->injecting) {
		w->sec->accepted[w->sec->injecting - 1]++;
	}
	sim_target_serve(w, frame, len);
	return 0;
}

int sim_sec_init(struct world *w)
{
	const struct smpfota_sim_security *c = &w->c->sec;
	if (!c->on) {
		return 0;
	}
	struct sim_sec *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return SMPFOTA_ERR_NOMEM;
	}
	w->sec = s;
	s->rng = w->c->seed * 0x9e3779b97f4a7c15ULL + 0x5ec;
	s->arng = w->c->seed * 0xd1342543de82ef95ULL + 0xa77;
	xorshift(&s->rng);
	xorshift(&s->arng);
	memcpy(s->key.key, c->key, sizeof(s->key.key));
	s->key.id = smpfota_mbedtls_key_id(s->key.key);
	/* The wrong-key master's key: another key, the same id on the wire. */
	s->wrong = s->key;
	for (size_t i = 0; i < sizeof(s->wrong.key); i++) {
		s->wrong.key[i] ^= (uint8_t)(0x5a + i);
	}
	if (smpfota_mbedtls_crypto_init(&s->m_mc, &s->key, 1, sec_random, s, &s->m_ops) != 0 ||
	    smpfota_mbedtls_crypto_init(&s->t_mc, &s->key, 1, sec_random, s, &s->t_ops) != 0 ||
	    smpfota_mbedtls_crypto_init(&s->a_mc, &s->wrong, 1, sec_random, s, &s->a_ops) != 0) {
		return SMPFOTA_ERR_INVAL;
	}
	uint32_t rate = c->attack_rate ? c->attack_rate : 50U;
	s->next_at = c->attacks ? 1000000000ULL / rate : NEVER;
	return 0;
}

void sim_sec_free(struct world *w)
{
	struct sim_sec *s = w->sec;
	if (s == NULL) {
		return;
	}
	smpfota_mbedtls_crypto_free(&s->m_mc);
	smpfota_mbedtls_crypto_free(&s->t_mc);
	smpfota_mbedtls_crypto_free(&s->a_mc);
	free(s);
	w->sec = NULL;
}

void sim_sec_results(struct world *w, struct smpfota_sim_result *r)
{
	struct sim_sec *s = w->sec;
	if (s == NULL) {
		return;
	}
	r->sec_master = s->m.stats;
	r->sec_target = s->t.stats;
	for (unsigned k = 0; k < SMPFOTA_SIM_ATTACK_KINDS; k++) {
		r->attacks[k].sent = s->sent[k];
		r->attacks[k].accepted = s->accepted[k];
	}
}

static struct smpfota_secure_config sec_config(struct world *w, bool master)
{
	struct sim_sec *s = w->sec;
	return (struct smpfota_secure_config){.crypto = master ? s->m_ops : s->t_ops,
					      .key_id = s->key.id,
					      .send = master ? m_lower_send : t_lower_send,
					      .deliver = master ? m_deliver : t_deliver,
					      .ctx = w,
					      .buf = master ? s->m_buf : s->t_buf,
					      .buf_size = sizeof(s->m_buf),
					      .max_failures = w->c->sec.max_failures};
}

int sim_sec_master_start(struct world *w)
{
	if (w->sec == NULL) {
		return 0;
	}
	struct smpfota_secure_stats keep = w->sec->m.stats;
	struct smpfota_secure_config cfg = sec_config(w, true);
	int rc = smpfota_secure_init_initiator(&w->sec->m, &cfg, sim_ms(w->now));
	w->sec->m.stats = keep; /* counted over the whole run */
	return rc;
}

int sim_sec_master_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct world *w = ctx;
	return smpfota_secure_send(&w->sec->m, frame, len);
}

static void link_rx(struct world *w, int dir, const uint8_t *frame, size_t len);

void sim_sec_master_rx(struct world *w, const uint8_t *frame, size_t len)
{
	link_rx(w, 1, frame, len);
}

int32_t sim_sec_master_deadline(struct world *w)
{
	return smpfota_secure_next_deadline(&w->sec->m, sim_ms(w->now));
}

void sim_sec_master_poll(struct world *w)
{
	smpfota_secure_poll(&w->sec->m, sim_ms(w->now));
}

void sim_sec_target_boot(struct world *w)
{
	struct smpfota_secure_stats keep = w->sec->t.stats;
	struct smpfota_secure_config cfg = sec_config(w, false);
	(void)smpfota_secure_init_responder(&w->sec->t, &cfg, sim_ms(w->now));
	w->sec->t.stats = keep;
	w->sec->t_live = false;
}

void sim_sec_target_send(struct world *w, const uint8_t *frame, size_t len)
{
	(void)smpfota_secure_send(&w->sec->t, frame, len);
}

static int target_input(struct world *w, const uint8_t *frame, size_t len)
{
	charge(w, len);
	return smpfota_secure_input(&w->sec->t, frame, len, sim_ms(w->now));
}

static int master_input(struct world *w, const uint8_t *frame, size_t len)
{
	charge(w, len);
	return smpfota_secure_input(&w->sec->m, frame, len, sim_ms(w->now));
}

/* A frame from the link, direction dir (0: at the target). Reorder: an armed direction
 * withholds its next DATA frame and delivers it once a later one was taken. */
static void link_rx(struct world *w, int dir, const uint8_t *frame, size_t len)
{
	struct sim_sec *s = w->sec;
	int (*input)(struct world *, const uint8_t *, size_t) = dir ? master_input : target_input;
	bool data = len > 0 && frame[0] == SMPFOTA_SECURE_DATA;
	if (s->hold_armed[dir] && data) {
		s->hold_armed[dir] = false;
		memcpy(s->held[dir].f, frame, len);
		s->held[dir].len = (uint16_t)len;
		return;
	}
	bool took = input(w, frame, len) == 0 && data;
	if (took) {
		observe(s, dir, frame, len);
	}
	if (took && s->held[dir].len && (dir || sim_target_can_take(w))) {
		s->injecting = SMPFOTA_SIM_ATTACK_REORDER + 1;
		s->sent[SMPFOTA_SIM_ATTACK_REORDER]++;
		(void)input(w, s->held[dir].f, s->held[dir].len);
		s->injecting = 0;
		s->held[dir].len = 0;
	}
}

void sim_sec_target_rx(struct world *w, const uint8_t *frame, size_t len)
{
	w->sec->t_live = true;
	link_rx(w, 0, frame, len);
}

/* ---- the attacker ------------------------------------------------------------------------ */

uint64_t sim_attack_next(struct world *w)
{
	return w->sec != NULL && !w->done ? w->sec->next_at : NEVER;
}

/* A plaintext SMP request the target must never act on, or a plaintext answer. */
static size_t make_plaintext(struct sim_sec *s, uint8_t *f, size_t cap, bool request)
{
	static const struct {
		enum smpfota_smp_msg msg;
	} kinds[] = {{SMPFOTA_MSG_IMG_ERASE}, {SMPFOTA_MSG_OS_RESET}, {SMPFOTA_MSG_IMG_UPLOAD}};
	enum smpfota_smp_msg msg = kinds[arand(s, 3)].msg;
	union smpfota_smp_req q;
	memset(&q, 0, sizeof(q));
	static const uint8_t junk[64];
	if (msg == SMPFOTA_MSG_IMG_UPLOAD) {
		q.upload.off = 0;
		q.upload.len = 4096;
		q.upload.has_len = true;
		q.upload.data = (struct smpfota_bytes){junk, sizeof(junk)};
	}
	int n = smpfota_smp_encode_req(msg, SMPFOTA_SMP_V2, (uint8_t)arand(s, 256), &q, f, cap);
	if (n <= 0) {
		return 0;
	}
	if (!request) {
		f[0] |= 1U; /* the same header as a response: op + 1 */
	}
	return (size_t)n;
}

/* The wrong-key master's next frame: its HELLO, or a DATA frame sealed with what its key
 * derives from the target's answer. */
static size_t make_wrong_key(struct sim_sec *s, uint8_t *f)
{
	if (!s->wk_sent || (s->wk_ack.len == 0 && arand(s, 4) == 0)) {
		(void)sec_random(s, s->wk_rand, sizeof(s->wk_rand));
		f[0] = SMPFOTA_SECURE_HELLO;
		f[1] = 1;
		f[2] = s->wrong.id;
		memcpy(f + 3, s->wk_rand, sizeof(s->wk_rand));
		s->wk_sent = true;
		s->wk_ack.len = 0;
		s->wk_ctr = 0;
		return 3U + SMPFOTA_SECURE_RAND_SIZE;
	}
	uint8_t salt[2U * SMPFOTA_SECURE_RAND_SIZE], info[18], m[42];
	memcpy(salt, s->wk_rand, SMPFOTA_SECURE_RAND_SIZE);
	memcpy(salt + SMPFOTA_SECURE_RAND_SIZE, s->wk_ack.len ? s->wk_ack.f + 4 : s->wk_rand,
	       SMPFOTA_SECURE_RAND_SIZE);
	memcpy(info, "smpfota secure v1", 17);
	info[17] = s->wrong.id;
	const struct smpfota_secure_crypto *c = &s->a_ops;
	if (c->derive(c->ctx, s->wrong.id, salt, sizeof(salt), info, sizeof(info), m, sizeof(m)) !=
	    0) {
		return 0;
	}
	static const uint8_t erase[] = {0x0a, 0, 0, 1, 0, 1, 0, 5, 0xa0}; /* image erase {} */
	uint32_t ctr = ++s->wk_ctr;
	f[0] = SMPFOTA_SECURE_DATA;
	f[1] = s->wrong.id;
	/* the session id the target announced (its ACK), else the one the wrong key gives */
	f[2] = s->wk_ack.len ? s->wk_ack.f[2] : m[40];
	f[3] = s->wk_ack.len ? s->wk_ack.f[3] : m[41];
	f[4] = (uint8_t)(ctr >> 24);
	f[5] = (uint8_t)(ctr >> 16);
	f[6] = (uint8_t)(ctr >> 8);
	f[7] = (uint8_t)ctr;
	uint8_t nonce[SMPFOTA_SECURE_NONCE_SIZE] = {0};
	memcpy(nonce + 1, f + 4, 4);
	memcpy(nonce + 5, m + 32, 8);
	if (c->set_key(c->ctx, 0, m) != 0 ||
	    c->encrypt(c->ctx, 0, nonce, f, SMPFOTA_SECURE_DATA_HDR, erase,
		       f + SMPFOTA_SECURE_DATA_HDR, sizeof(erase),
		       f + SMPFOTA_SECURE_DATA_HDR + sizeof(erase), SMPFOTA_SECURE_TAG_SIZE) != 0) {
		return 0;
	}
	return SMPFOTA_SECURE_OVERHEAD + sizeof(erase);
}

/* Build one frame of kind k for direction dir (0: to the target); 0 = nothing to send yet. */
static size_t make_frame(struct sim_sec *s, unsigned k, int *dir, uint8_t *f)
{
	const struct rec *src = &s->last[*dir];
	size_t n = 0;
	switch (k) {
	case SMPFOTA_SIM_ATTACK_FORGE: {
		if (s->last[*dir].len == 0) {
			return 0;
		}
		n = SMPFOTA_SECURE_OVERHEAD + arand(s, 600);
		sec_random(s, f, n);
		memcpy(f, src->f, 8); /* type, key id, session id, counter of the latest */
		uint32_t ctr = ((uint32_t)f[4] << 24 | (uint32_t)f[5] << 16 | (uint32_t)f[6] << 8 |
				f[7]) +
			       1U + arand(s, 1000);
		f[4] = (uint8_t)(ctr >> 24);
		f[5] = (uint8_t)(ctr >> 16);
		f[6] = (uint8_t)(ctr >> 8);
		f[7] = (uint8_t)ctr;
		return n;
	}
	case SMPFOTA_SIM_ATTACK_REPLAY:
	case SMPFOTA_SIM_ATTACK_BITFLIP:
	case SMPFOTA_SIM_ATTACK_TRUNCATE:
		if (src->len == 0) {
			return 0;
		}
		n = src->len;
		memcpy(f, src->f, n);
		if (k == SMPFOTA_SIM_ATTACK_BITFLIP) {
			uint32_t bit = arand(s, (uint32_t)n * 8U);
			f[bit / 8U] ^= (uint8_t)(1U << (bit % 8U));
		} else if (k == SMPFOTA_SIM_ATTACK_TRUNCATE) {
			n = arand(s, (uint32_t)n);
		}
		return n;
	case SMPFOTA_SIM_ATTACK_REPLAY_OLD:
		if (*dir == 0 && s->old_hello.len && arand(s, 4) == 0) {
			memcpy(f, s->old_hello.f, s->old_hello.len);
			return s->old_hello.len;
		}
		if (s->old[*dir].len == 0) {
			*dir = !*dir;
		}
		if (s->old[*dir].len == 0) {
			return 0;
		}
		memcpy(f, s->old[*dir].f, s->old[*dir].len);
		return s->old[*dir].len;
	case SMPFOTA_SIM_ATTACK_WRONG_KEY:
		*dir = 0;
		return make_wrong_key(s, f);
	case SMPFOTA_SIM_ATTACK_PLAINTEXT:
		return make_plaintext(s, f, SEC_FRAME, *dir == 0);
	default:
		return 0;
	}
}

void sim_attack_step(struct world *w)
{
	struct sim_sec *s = w->sec;
	uint32_t rate = w->c->sec.attack_rate ? w->c->sec.attack_rate : 50U;
	/* gaps uniform in (0, 2 / rate]: rate frames per second on average, at any moment */
	s->next_at = w->now + 1U + xorshift(&s->arng) % (2000000000ULL / rate);

	unsigned kinds[SMPFOTA_SIM_ATTACK_KINDS], nk = 0;
	for (unsigned k = 0; k < SMPFOTA_SIM_ATTACK_KINDS; k++) {
		if (w->c->sec.attacks & (1U << k)) {
			kinds[nk++] = k;
		}
	}
	if (nk == 0) {
		return;
	}
	unsigned k = kinds[arand(s, nk)];
	if (k == SMPFOTA_SIM_ATTACK_REORDER) {
		unsigned d = arand(s, 2);
		if (!s->hold_armed[d] && s->held[d].len == 0) {
			s->hold_armed[d] = true; /* counted when the withheld frame is delivered */
		}
		return;
	}
	int dir = (int)arand(s, 2);
	uint8_t *f = s->frame;
	size_t n = make_frame(s, k, &dir, f);
	if (n == 0 && k != SMPFOTA_SIM_ATTACK_TRUNCATE) {
		return; /* nothing seen yet to build it from */
	}
	struct board *b = dir == 0 ? &w->t : &w->m;
	if (dir == 0 ? !s->t_live || !sim_target_can_take(w) : (w->done || !board_up(b, w->now))) {
		return; /* the board could not take a frame now: try another time */
	}
	uint64_t t0 = w->now;
	w->running = b;
	s->injecting = (int)k + 1;
	s->sent[k]++;
	(void)(dir == 0 ? target_input : master_input)(w, f, n);
	s->injecting = 0;
	w->running = NULL;
	w->now = t0;
}
