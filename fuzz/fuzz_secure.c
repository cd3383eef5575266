/*
 * Fuzz the secure channel's frame parser, both roles: arbitrary frames into a responder and
 * an initiator that share a session opened with the fixed key and randoms of
 * scripts/secure_vectors.py (so the seed corpus holds that session's real frames, and the
 * fuzzer starts from frames that pass the format checks).
 *
 * Input: records [to][len][len bytes]: to bit 0 = the responder (else the initiator), bit 1 =
 * poll both after to * 100 ms first.
 *
 * Properties: no crash; whatever is delivered is a frame the other side really sealed (the
 * seeds' os echo request) under a counter above every counter delivered before in that
 * session: nothing forged, nothing delivered twice, nothing out of order.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/mbedtls.h"
#include "smpfota/secure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t echo_req[] = {0x0a, 0, 0, 6, 0, 0, 0, 0, 0xa1, 0x61, 0x64, 0x62, 0x68, 0x69};

struct side {
	struct smpfota_secure sec;
	struct smpfota_mbedtls_crypto mc;
	uint8_t buf[2 * 512];
	uint8_t rand;
	uint32_t last_ctr; /* highest counter delivered in the current session */
	uint16_t last_sid;
	uint32_t in_ctr; /* of the frame being fed */
	uint16_t in_sid;
};

static struct smpfota_mbedtls_key KEY = {.id = 0x2a};

static int fz_send(void *ctx, const uint8_t *f, size_t len)
{
	(void)ctx;
	(void)f;
	if (len == 0) {
		abort();
	}
	return 0;
}

static int fz_deliver(void *ctx, const uint8_t *f, size_t len)
{
	struct side *s = ctx;
	if (len != sizeof(echo_req) || memcmp(f, echo_req, len) != 0) {
		abort(); /* a forgery got through */
	}
	if (s->in_sid == s->last_sid && s->in_ctr <= s->last_ctr) {
		abort(); /* a replay or a reordered frame got through */
	}
	s->last_sid = s->in_sid;
	s->last_ctr = s->in_ctr;
	return 0;
}

static int fz_random(void *ctx, uint8_t *out, size_t len)
{
	struct side *s = ctx;
	for (size_t i = 0; i < len; i++) {
		out[i] = s->rand++;
	}
	return 0;
}

static void side_init(struct side *s, bool responder, uint8_t rand0)
{
	memset(s, 0, sizeof(*s));
	s->rand = rand0;
	struct smpfota_secure_config cfg = {.key_id = KEY.id,
					    .send = fz_send,
					    .deliver = fz_deliver,
					    .ctx = s,
					    .buf = s->buf,
					    .buf_size = sizeof(s->buf)};
	if (smpfota_mbedtls_crypto_init(&s->mc, &KEY, 1, fz_random, s, &cfg.crypto) != 0 ||
	    (responder ? smpfota_secure_init_responder(&s->sec, &cfg, 0)
		       : smpfota_secure_init_initiator(&s->sec, &cfg, 0)) != 0) {
		abort();
	}
}

static void feed(struct side *s, const uint8_t *f, size_t len, uint32_t now)
{
	s->in_sid = len >= 8 ? (uint16_t)(f[2] << 8 | f[3]) : 0;
	s->in_ctr = len >= 8 ? (uint32_t)f[4] << 24 | (uint32_t)f[5] << 16 | (uint32_t)f[6] << 8 |
				       f[7]
			     : 0;
	(void)smpfota_secure_input(&s->sec, f, len, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct side ini, rsp;
	for (uint8_t i = 0; i < 16; i++) {
		KEY.key[i] = i;
	}
	side_init(&ini, false, 0x10);
	side_init(&rsp, true, 0x20);
	/* The vectors' handshake: HELLO (random_i 10..1f), HELLO_ACK (random_r 20..2f). */
	static const uint8_t hello[] = {0xa4, 1,    0x2a, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
					0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
	(void)smpfota_secure_send(&ini.sec, echo_req, sizeof(echo_req)); /* sends HELLO */
	feed(&rsp, hello, sizeof(hello), 0);
	uint8_t ack[SMPFOTA_SECURE_HANDSHAKE_MAX];
	memcpy(ack, rsp.sec.cfg.buf + sizeof(rsp.buf) / 2, sizeof(ack)); /* what it sent */
	feed(&ini, ack, sizeof(ack), 0);
	if (!smpfota_secure_established(&ini.sec)) {
		abort();
	}
	uint32_t now = 0;
	while (size >= 2) {
		uint8_t to = data[0];
		size_t len = data[1];
		data += 2;
		size -= 2;
		if (len > size) {
			len = size;
		}
		if (to & 2U) {
			now += (uint32_t)to * 100U;
			smpfota_secure_poll(&ini.sec, now);
			smpfota_secure_poll(&rsp.sec, now);
		}
		/* an exact-size copy, so ASan sees any read past the frame */
		uint8_t *f = malloc(len ? len : 1);
		memcpy(f, data, len);
		feed((to & 1U) ? &rsp : &ini, f, len, now);
		free(f);
		data += len;
		size -= len;
	}
	smpfota_mbedtls_crypto_free(&ini.mc);
	smpfota_mbedtls_crypto_free(&rsp.mc);
	return 0;
}
