/*
 * Secure channel for SMP frames: authenticated encryption (AES-128-CCM, 8-byte tag) of every
 * frame, per-direction counters checked strictly, session keys derived from a long-term
 * pre-shared key and random contributions of both sides at session start (as BLE's
 * encryption start does), so counters restart with each session and nothing is persisted.
 * It sits between a transport and the SMP client engine or server, which stay unchanged:
 * any transport that carries whole frames (ESB link, UDP, SMP serial, the core bridge).
 * docs/security.md has the threat model, the protocol and the wire format.
 *
 * Roles: the initiator (the master, the client side) opens sessions; the responder (the
 * target, the server side) answers them and, with a key configured, accepts SMP only inside
 * an authenticated session: a plaintext SMP request gets an SMP error (EACCESSDENIED), never
 * reaches the server.
 *
 * A frame that fails a check (tag, counter, session, format) is dropped and counted, and
 * never causes an action; `max_failures` failed frames end the session. A side that resets
 * loses its session; the next frame the other side sends gets a REJECT naming that session,
 * and the initiator opens a new one by itself.
 *
 * Usage on the client side (the secure layer is the engine's transport):
 *
 *     struct smpfota_secure_config sc = {
 *         .crypto = ops, .key_id = 7,
 *         .send = link_send, .deliver = engine_input, .ctx = &board,
 *         .buf = secbuf, .buf_size = sizeof(secbuf)};   // 2 x (largest frame + overhead)
 *     smpfota_secure_init_initiator(&sec, &sc, now_ms());
 *     cfg.tx = (struct smpfota_client_transport){
 *         .send = smpfota_secure_transport_send, .ctx = &sec,
 *         .mtu = smpfota_secure_mtu(link_mtu)};
 *     // link rx:   smpfota_secure_input(&sec, frame, len, now_ms());
 *     // main loop: smpfota_secure_poll(&sec, now_ms()); smpfota_client_poll(&cli, now_ms());
 *
 * and on the server side deliver() hands the plaintext request to smpfota_server_handle()
 * and passes the response to smpfota_secure_send().
 *
 * Lifetimes: init copies the config; cfg->buf, the crypto ops' ctx and cfg->ctx must outlive
 * the channel. A frame passed to _input() or _send() is only used during the call. deliver()
 * gets a plaintext valid during the call only.
 *
 * Callbacks: deliver() runs inside smpfota_secure_input() and may call smpfota_secure_send()
 * (a response) but not _input(); send() and the crypto ops must not call back into the
 * channel. Not thread-safe: one caller at a time.
 */
#ifndef SMPFOTA_SECURE_H
#define SMPFOTA_SECURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SMPFOTA_SECURE_KEY_SIZE 16U   /* AES-128 */
#define SMPFOTA_SECURE_TAG_SIZE 8U    /* CCM tag (M = 8): one length for every key */
#define SMPFOTA_SECURE_NONCE_SIZE 13U /* CCM nonce: direction, counter, session IV */
#define SMPFOTA_SECURE_RAND_SIZE 16U  /* each side's random contribution to a session */
#define SMPFOTA_SECURE_DATA_HDR 8U    /* type, key id, session id, counter: the AAD */
/* Bytes a DATA frame adds to the SMP frame it carries. */
#define SMPFOTA_SECURE_OVERHEAD (SMPFOTA_SECURE_DATA_HDR + SMPFOTA_SECURE_TAG_SIZE)
/* The longest handshake frame (HELLO_ACK): the lower transport must carry at least this. */
#define SMPFOTA_SECURE_HANDSHAKE_MAX 28U
/* AEAD key slots the channel uses in its crypto ops: transmit, receive, scratch. */
#define SMPFOTA_SECURE_KEY_SLOTS 3U
/* Sessions a responder keeps opened but not yet used, beside the active one: a second
 * HELLO (a lost answer, an attacker's replay) does not evict the first. */
#define SMPFOTA_SECURE_PENDING 2U

/* Wire frame types: the first byte of every frame of the channel. Its low three bits (SMP's
 * op field) are 4..7, never a valid SMP header, so the two cannot be confused. */
enum smpfota_secure_type {
	SMPFOTA_SECURE_HELLO = 0xa4,     /* initiator: version, key id, random */
	SMPFOTA_SECURE_HELLO_ACK = 0xa5, /* responder: key id, session id, random, tag */
	SMPFOTA_SECURE_DATA = 0xa6,      /* either: key id, session id, counter, ciphertext, tag */
	SMPFOTA_SECURE_REJECT = 0xa7,    /* responder: reason, key id, session id (a hint) */
};

enum smpfota_secure_reason {
	SMPFOTA_SECURE_R_NO_SESSION = 1,  /* no such session here (reset, or ended) */
	SMPFOTA_SECURE_R_UNKNOWN_KEY = 2, /* the responder has no key with this id */
	SMPFOTA_SECURE_R_VERSION = 3,     /* protocol version not supported */
};

/*
 * The platform's cryptography: ports/crypto/mbedtls.h (mbedTLS), ports/crypto/psa.h (PSA
 * Crypto, for NCS).
 * Every function returns 0 or a negative error. Keys are set into numbered slots
 * (0 .. SMPFOTA_SECURE_KEY_SLOTS - 1), so a port can keep an expanded key schedule or a
 * hardware key handle per slot.
 */
struct smpfota_secure_crypto {
	/* Load a 16-byte AES key into a slot. */
	int (*set_key)(void *ctx, unsigned slot, const uint8_t key[SMPFOTA_SECURE_KEY_SIZE]);
	/* AES-CCM with the slot's key: encrypt len bytes in -> out (out may equal in) and write
	 * the tag of tag_len bytes. */
	int (*encrypt)(void *ctx, unsigned slot, const uint8_t nonce[SMPFOTA_SECURE_NONCE_SIZE],
		       const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
		       size_t len, uint8_t *tag, size_t tag_len);
	/* AES-CCM decrypt and verify: SMPFOTA_ERR_AUTH when the tag does not match (then out
	 * holds nothing usable; the channel never passes it on). */
	int (*decrypt)(void *ctx, unsigned slot, const uint8_t nonce[SMPFOTA_SECURE_NONCE_SIZE],
		       const uint8_t *aad, size_t aad_len, const uint8_t *in, uint8_t *out,
		       size_t len, const uint8_t *tag, size_t tag_len);
	/* HKDF-SHA256 (RFC 5869) with the long-term key `key_id` as input keying material:
	 * out_len bytes from salt and info. SMPFOTA_ERR_KEY_UNKNOWN when there is no such key.
	 * The long-term key itself never leaves the port (a PSA key store can hold it). */
	int (*derive)(void *ctx, uint8_t key_id, const uint8_t *salt, size_t salt_len,
		      const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
	/* len bytes from a cryptographically secure random generator. */
	int (*random)(void *ctx, uint8_t *out, size_t len);
	void *ctx;
};

struct smpfota_secure_config {
	struct smpfota_secure_crypto crypto;
	uint8_t key_id; /* initiator: the long-term key it opens sessions with */
	/* The transport below: send one whole frame (same contract as the client's transport:
	 * SMPFOTA_ERR_BUSY = no room now). */
	int (*send)(void *ctx, const uint8_t *frame, size_t len);
	/* Above: one authenticated SMP frame, valid during the call. */
	int (*deliver)(void *ctx, const uint8_t *frame, size_t len);
	void *ctx;
	/* Work memory: two halves, one for received plaintext, one for frames sent; each half
	 * holds the largest frame plus SMPFOTA_SECURE_OVERHEAD. */
	uint8_t *buf;
	size_t buf_size;
	uint16_t max_failures;   /* failed frames that end a session; 0 = 8 */
	uint32_t handshake_ms;   /* initiator: HELLO resent after this; 0 = 500 */
	uint8_t handshake_tries; /* initiator: HELLOs before the handshake fails; 0 = 6 */
};

struct smpfota_secure_stats {
	uint32_t sessions;    /* sessions established (initiator) or first used (responder) */
	uint32_t sent;        /* DATA frames sent */
	uint32_t delivered;   /* authenticated frames passed up */
	uint32_t auth_failed; /* the tag did not verify (forged, corrupted, wrong key) */
	uint32_t replayed;    /* counter not above the last accepted (replay, reorder) */
	uint32_t malformed;   /* too short, unknown type or version */
	uint32_t no_session;  /* for a session this side does not have */
	uint32_t plaintext;   /* plaintext SMP frames refused */
	uint32_t unknown_key; /* HELLOs for a key this side does not have */
	uint32_t ended;       /* sessions ended by too many failures */
	uint32_t rejects;     /* REJECTs received (initiator) */
	uint32_t handshakes;  /* HELLOs sent (initiator) or answered (responder) */
};

/* The keys and counters of one session. */
struct smpfota_secure_session {
	/* What the key derivation gives, as it gives it. The keys (by direction: [0] initiator
	 * to responder, [1] back) stay here only while a session is pending: activating one
	 * loads them into the crypto ops' slots and wipes them. */
	union {
		uint8_t raw[2U * SMPFOTA_SECURE_KEY_SIZE + 10U];
		struct {
			uint8_t key[2][SMPFOTA_SECURE_KEY_SIZE];
			uint8_t iv[8];
			uint8_t sid[2];
		} f;
	} m;
	uint8_t key_id;
	uint16_t sid; /* 0 = none */
	uint16_t failures;
	uint32_t tx_ctr; /* last counter sent */
	uint32_t rx_ctr; /* last counter accepted */
};

struct smpfota_secure_role;

/* Counters and scalars first, the config next: a Cortex-M reaches them with its short
 * load/store forms. */
struct smpfota_secure {
	struct smpfota_secure_stats stats;
	const struct smpfota_secure_role *role; /* set by the init function */
	bool responder;
	uint8_t pend_next;
	uint8_t hs_tries; /* initiator: HELLOs sent in this handshake */
	bool hs_active;   /* initiator: a handshake is under way */
	uint32_t hs_at;   /* when the last HELLO went out */
	uint32_t now;     /* the latest time given */
	int hint;         /* initiator: what the target said to the last HELLO (an
				  * unauthenticated hint for the error report; 0 = nothing) */
	int hs_err;       /* initiator: a failed handshake's error, for the next send */
	struct smpfota_secure_config cfg;
	struct smpfota_secure_session s; /* the active session (keys in slots 0, 1) */
	struct smpfota_secure_session pend[SMPFOTA_SECURE_PENDING]; /* responder */
	uint8_t rand[SMPFOTA_SECURE_RAND_SIZE]; /* initiator: this handshake's contribution */
};

/* Check the config and start without a session, as the initiator (client side) or the
 * responder (server side). SMPFOTA_ERR_INVAL for a bad config. Two functions, so a board
 * links only its own role. */
int smpfota_secure_init_initiator(struct smpfota_secure *s, const struct smpfota_secure_config *cfg,
				  uint32_t now);
int smpfota_secure_init_responder(struct smpfota_secure *s, const struct smpfota_secure_config *cfg,
				  uint32_t now);

/* A frame arrived from the transport. Returns 0 when it was used (delivered, a handshake
 * step, a hint), or the negative reason it was dropped (SMPFOTA_ERR_AUTH, _REPLAY,
 * _NO_SESSION, _PROTO, _PLAINTEXT, _KEY_UNKNOWN): counted, nothing else happens. */
int smpfota_secure_input(struct smpfota_secure *s, const uint8_t *frame, size_t len, uint32_t now);

/* Send one SMP frame inside the session. Initiator without a session: starts the handshake
 * and returns SMPFOTA_ERR_BUSY (the engine tries again), or the handshake's error once it
 * has failed (SMPFOTA_ERR_TIMEDOUT, _KEY_UNKNOWN, _AUTH). Responder without a session:
 * SMPFOTA_ERR_NO_SESSION. SMPFOTA_ERR_NOSPC for a frame larger than the buffer allows. */
int smpfota_secure_send(struct smpfota_secure *s, const uint8_t *frame, size_t len);

/* smpfota_secure_send() shaped as a client transport's send (ctx = the channel). */
int smpfota_secure_transport_send(void *ctx, const uint8_t *frame, size_t len);

/* Time passed: the initiator resends a HELLO that got no answer. */
void smpfota_secure_poll(struct smpfota_secure *s, uint32_t now);

/* Milliseconds until _poll() has work (0: now), or -1 when none. */
int32_t smpfota_secure_next_deadline(const struct smpfota_secure *s, uint32_t now);

/* A session is established (initiator) or active (responder). */
bool smpfota_secure_established(const struct smpfota_secure *s);

/* Initiator: why sessions cannot be opened, for the error report: what the target answered
 * (SMPFOTA_ERR_KEY_UNKNOWN, _AUTH: it holds another key, _NOT_SECURE: it has none) or
 * SMPFOTA_ERR_TIMEDOUT; 0 when nothing went wrong. */
int smpfota_secure_last_error(const struct smpfota_secure *s);

/* Forget the session (a side that restarts gets this by losing its RAM). */
void smpfota_secure_reset(struct smpfota_secure *s);

/* The largest SMP frame the channel carries over a transport of mtu bytes. */
static inline uint16_t smpfota_secure_mtu(uint16_t mtu)
{
	return mtu > SMPFOTA_SECURE_OVERHEAD ? (uint16_t)(mtu - SMPFOTA_SECURE_OVERHEAD) : 0;
}

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_SECURE_H */
