/*
 * SMP serial framing: known answers, round trips over every size and chunking, line limits,
 * and a decoder that survives console text, corruption and truncation with the right stats.
 *
 * With arguments it is the helper of tests/python/test_serial_vectors.py instead:
 *     test_serial encode HEX [LINE_MAX]    prints the framed packet as hex
 *     test_serial decode HEX [raw]         prints each decoded payload as hex, one per line,
 *                                          and the drop counts on stderr
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "check.h"
#include "smpfota/serial.h"
#include "smpfota/smp.h"

#define BIG (SMPFOTA_SERIAL_MAX_FRAME + 16)

/* ---- helpers ------------------------------------------------------------------------------ */

struct rng {
	uint32_t s;
};

static uint32_t rng_next(struct rng *r)
{
	/* xorshift32: deterministic, so a failure reproduces */
	r->s ^= r->s << 13;
	r->s ^= r->s >> 17;
	r->s ^= r->s << 5;
	return r->s;
}

/* A payload of len bytes; from 8 bytes on, a well-formed SMP frame (header + len-8 bytes). */
static void make_frame(uint8_t *f, size_t len, uint32_t seed, bool smp)
{
	struct rng r = {seed * 2654435761u + 1u};
	for (size_t i = 0; i < len; i++) {
		f[i] = (uint8_t)rng_next(&r);
	}
	if (smp && len >= SMPFOTA_SMP_HDR_SIZE) {
		struct smpfota_smp_hdr h = {
			.op = SMPFOTA_SMP_OP_WRITE,
			.version = SMPFOTA_SMP_V2,
			.flags = 0,
			.len = (uint16_t)(len - SMPFOTA_SMP_HDR_SIZE),
			.group = 1,
			.seq = (uint8_t)seed,
			.id = 1,
		};
		smpfota_smp_hdr_encode(&h, f);
	}
}

/* Decoder output collected by the feed_all callback. */
struct sink {
	int frames;
	size_t len;        /* of the last frame */
	uint8_t data[BIG]; /* the last frame */
};

static int sink_fn(void *ctx, const uint8_t *frame, size_t len)
{
	struct sink *s = ctx;
	s->frames++;
	s->len = len;
	memcpy(s->data, frame, len);
	return 0;
}

static void feed_all(struct smpfota_serial_rx *rx, const void *data, size_t len, struct sink *s)
{
	int n = smpfota_serial_rx_feed_all(rx, data, len, sink_fn, s);
	CHECK(n >= 0);
}

static void feed_str(struct smpfota_serial_rx *rx, const char *text, struct sink *s)
{
	feed_all(rx, text, strlen(text), s);
}

static uint32_t drops(const struct smpfota_serial_rx *rx, enum smpfota_serial_drop why)
{
	return rx->stats.drops[why];
}

static uint32_t total_drops(const struct smpfota_serial_rx *rx)
{
	uint32_t n = 0;
	for (int i = 0; i < SMPFOTA_SERIAL_DROP_COUNT; i++) {
		n += rx->stats.drops[i];
	}
	return n;
}

/* Check the line structure of an encoded packet: markers, whole base64 groups, line limit,
 * padding only at the very end, the last line holding frame bytes and the whole CRC. */
static void check_lines(const uint8_t *enc, size_t n, size_t line_max, size_t *lines_out)
{
	size_t lines = 0;
	size_t i = 0;
	size_t last_chars = 0;
	bool last_padded = false;
	while (i < n) {
		size_t start = i;
		while (i < n && enc[i] != '\n') {
			i++;
		}
		CHECK(i < n);
		size_t line_len = i - start + 1;
		CHECK(line_len <= line_max);
		CHECK(enc[start] == (lines == 0 ? 0x06 : 0x04));
		CHECK(enc[start + 1] == (lines == 0 ? 0x09 : 0x14));
		size_t chars = line_len - 3;
		CHECK(chars % 4 == 0 && chars > 0);
		for (size_t k = start + 2; k < i; k++) {
			bool pad = enc[k] == '=';
			/* '=' only in the last group of the last line */
			CHECK(!pad || (i + 1 == n && k + 2 >= i));
		}
		last_chars = chars;
		last_padded = enc[i - 1] == '=';
		lines++;
		i++;
	}
	/* >= 3 raw bytes on the last line: at least one frame byte before the whole CRC */
	CHECK(last_chars > 4 || (last_chars == 4 && !last_padded));
	*lines_out = lines;
}

/* ---- CRC and encoder known answers ---------------------------------------------------------- */

static void test_crc_kat(void)
{
	/* CRC-16/XMODEM check value (catalogue of parametrised CRCs): 0x31C3 */
	CHECK_EQ(smpfota_crc16_xmodem(0, (const uint8_t *)"123456789", 9), 0x31C3);
	CHECK_EQ(smpfota_crc16_xmodem(0, NULL, 0), 0);
	/* continued from a partial value */
	uint16_t c = smpfota_crc16_xmodem(0, (const uint8_t *)"1234", 4);
	CHECK_EQ(smpfota_crc16_xmodem(c, (const uint8_t *)"56789", 5), 0x31C3);
	/* data followed by its CRC (big endian) gives 0, which the receiver relies on */
	const uint8_t d[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9', 0x31, 0xC3};
	CHECK_EQ(smpfota_crc16_xmodem(0, d, sizeof(d)), 0);
	/* python: binascii.crc_hqx(b"\xff", 0) == 0x1ef0 */
	CHECK_EQ(smpfota_crc16_xmodem(0, (const uint8_t *)"\xff", 1), 0x1EF0);
}

static void test_encode_kat_hello(void)
{
	/* The example in the smp package's smp.packet.encode docstring:
	 * encode(b"Hello, world!") == [b'\x06\tAA9IZWxsbywgd29ybGQhet4=\n'] */
	const char *want = "\x06\x09"
			   "AA9IZWxsbywgd29ybGQhet4=\n";
	uint8_t out[64];
	int n = smpfota_serial_encode((const uint8_t *)"Hello, world!", 13, 0, out, sizeof(out));
	CHECK_EQ(n, strlen(want));
	CHECK_MEM(out, want, strlen(want));
	CHECK_EQ(smpfota_serial_encoded_size(13, 0), n);
}

static void test_encode_kat_echo(void)
{
	/* OS echo request {"d": "hello"}, SMP v2, seq 0x2a. Reference from Python:
	 *   body = cbor2.dumps({"d": "hello"})                # a1 61 64 65 68 65 6c 6c 6f
	 *   frame = bytes([0x0a, 0, 0, 9, 0, 0, 0x2a, 0]) + body
	 *   list(smp.packet.encode(frame, 128))
	 *   == [b'\x06\tABMKAAAJAAAqAKFhZGVoZWxsbwo4\n']
	 * i.e. base64 of 00 13 | frame | CRC 0x0a38 (binascii.crc_hqx(frame, 0)). */
	struct smpfota_os_echo_req req = {.d = {"hello", 5}};
	uint8_t frame[64];
	int flen = smpfota_smp_encode_req(SMPFOTA_MSG_OS_ECHO, SMPFOTA_SMP_V2, 0x2a, &req, frame,
					  sizeof(frame));
	CHECK_EQ(flen, 17);
	CHECK_EQ(smpfota_crc16_xmodem(0, frame, 17), 0x0a38);
	const char *want = "\x06\x09"
			   "ABMKAAAJAAAqAKFhZGVoZWxsbwo4\n";
	uint8_t out[64];
	int n = smpfota_serial_encode(frame, (size_t)flen, 0, out, sizeof(out));
	CHECK_EQ(n, strlen(want));
	CHECK_MEM(out, want, strlen(want));

	/* and back */
	uint8_t buf[64];
	struct smpfota_serial_rx rx;
	struct sink s = {0};
	smpfota_serial_rx_init(&rx, buf, sizeof(buf));
	feed_str(&rx, want, &s);
	CHECK_EQ(s.frames, 1);
	CHECK_EQ(s.len, 17);
	CHECK_MEM(s.data, frame, 17);
	CHECK_EQ(total_drops(&rx), 0);
}

static void test_encode_empty(void)
{
	/* [00 02][CRC of nothing = 00 00]: base64 "AAIAAA==" */
	const char *want = "\x06\x09"
			   "AAIAAA==\n";
	uint8_t out[16];
	int n = smpfota_serial_encode(NULL, 0, 0, out, sizeof(out));
	CHECK_EQ(n, strlen(want));
	CHECK_MEM(out, want, strlen(want));
}

static void test_encode_crc_kept_whole(void)
{
	/* 183 bytes: packet of 187 raw bytes = 2 x 93 + 1. Cut every 124 characters (as
	 * smp.packet.encode does) the last line would be CRC's low byte alone; we move one
	 * group down: lines of 93, 90 and 4 raw bytes (124, 120 and 8 characters). */
	static uint8_t f[183];
	make_frame(f, sizeof(f), 7, true);
	uint8_t out[400];
	int n = smpfota_serial_encode(f, sizeof(f), 0, out, sizeof(out));
	CHECK_EQ(n, 127 + 123 + 11);
	CHECK_EQ(out[126], '\n');
	CHECK_EQ(out[127 + 122], '\n');
	CHECK_EQ(out[127 + 123], 0x04);
	size_t lines = 0;
	check_lines(out, (size_t)n, 127, &lines);
	CHECK_EQ(lines, 3);

	/* 184 bytes: 188 raw = 2 x 93 + 2: last line would be the CRC alone; same fix. */
	static uint8_t g[184];
	make_frame(g, sizeof(g), 8, true);
	n = smpfota_serial_encode(g, sizeof(g), 0, out, sizeof(out));
	CHECK_EQ(n, 127 + 123 + 11);
	check_lines(out, (size_t)n, 127, &lines);

	/* 185 bytes: 189 raw = 2 x 93 + 3: nothing to move. */
	static uint8_t h[185];
	make_frame(h, sizeof(h), 9, true);
	n = smpfota_serial_encode(h, sizeof(h), 0, out, sizeof(out));
	CHECK_EQ(n, 127 + 127 + 7);
	check_lines(out, (size_t)n, 127, &lines);
}

static void test_encode_limits(void)
{
	uint8_t f[32] = {0};
	uint8_t out[128];
	CHECK_EQ(smpfota_serial_encoded_size(10, 10), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_serial_encode(f, 10, 10, out, sizeof(out)), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_serial_encoded_size(SMPFOTA_SERIAL_MAX_FRAME + 1, 0), SMPFOTA_ERR_MSGSIZE);
	CHECK(smpfota_serial_encoded_size(SMPFOTA_SERIAL_MAX_FRAME, 0) > 0);
	CHECK_EQ(smpfota_serial_encode(NULL, 3, 0, out, sizeof(out)), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_serial_encode(f, 3, 0, NULL, 0), SMPFOTA_ERR_INVAL);

	/* exactly enough room works; one byte less is NOSPC */
	int need = smpfota_serial_encoded_size(sizeof(f), 0);
	CHECK_EQ(smpfota_serial_encode(f, sizeof(f), 0, out, (size_t)need), need);
	CHECK_EQ(smpfota_serial_encode(f, sizeof(f), 0, out, (size_t)need - 1), SMPFOTA_ERR_NOSPC);

	/* no byte written past the exact size (mbedTLS's NUL terminator lands inside) */
	memset(out, 0xAA, sizeof(out));
	CHECK_EQ(smpfota_serial_encode(f, sizeof(f), 0, out, (size_t)need), need);
	CHECK_EQ(out[need], 0xAA);
	CHECK_EQ(out[need - 1], '\n');
}

/* ---- round trips ---------------------------------------------------------------------------- */

static uint8_t rt_frame[BIG];
static uint8_t rt_enc[BIG * 2];
static uint8_t rt_buf[BIG];
static struct sink rt_sink;

/* Encode frame of len with line_max, check lines, decode byte by byte and in random chunks. */
static void round_trip(size_t len, size_t line_max, bool smp, struct rng *r)
{
	make_frame(rt_frame, len, (uint32_t)len, smp);
	int n = smpfota_serial_encode(rt_frame, len, line_max, rt_enc, sizeof(rt_enc));
	CHECK_EQ(n, smpfota_serial_encoded_size(len, line_max));
	if (n <= 0) {
		return;
	}
	size_t lines = 0;
	check_lines(rt_enc, (size_t)n, line_max ? line_max : 127, &lines);

	struct smpfota_serial_rx rx;
	smpfota_serial_rx_init(&rx, rt_buf, len);
	rx.raw = !smp;

	/* byte by byte: each feed consumes one byte; the last one completes the packet */
	int got = 0;
	for (int i = 0; i < n; i++) {
		struct smpfota_bytes f;
		CHECK_EQ(smpfota_serial_rx_feed(&rx, rt_enc + i, 1, &f), 1);
		if (f.ptr != NULL) {
			got++;
			CHECK_EQ(i, n - 1);
			CHECK_EQ(f.len, len);
			CHECK(len == 0 || memcmp(f.ptr, rt_frame, len) == 0);
		}
	}
	CHECK_EQ(got, 1);

	/* random chunks, twice in a row through the same decoder */
	rt_sink.frames = 0;
	for (int rep = 0; rep < 2; rep++) {
		size_t off = 0;
		while (off < (size_t)n) {
			size_t c = 1 + rng_next(r) % 200;
			if (c > (size_t)n - off) {
				c = (size_t)n - off;
			}
			feed_all(&rx, rt_enc + off, c, &rt_sink);
			off += c;
		}
	}
	CHECK_EQ(rt_sink.frames, 2);
	CHECK_EQ(rt_sink.len, len);
	CHECK(len == 0 || memcmp(rt_sink.data, rt_frame, len) == 0);
	CHECK_EQ(rx.stats.frames, 3);
	CHECK_EQ(total_drops(&rx), 0);
}

static void test_round_trip_all_sizes(void)
{
	struct rng r = {12345};
	for (size_t len = 0; len <= 2100; len++) {
		round_trip(len, 0, false, &r);
		if (len >= SMPFOTA_SMP_HDR_SIZE) {
			round_trip(len, 0, true, &r);
		}
	}
}

static void test_round_trip_line_lengths(void)
{
	static const size_t line_max[] = {11, 12, 13, 14, 15, 16, 19, 64, 127, 128, 131, 1000};
	struct rng r = {777};
	for (size_t k = 0; k < sizeof(line_max) / sizeof(line_max[0]); k++) {
		for (size_t len = 0; len <= 300; len++) {
			round_trip(len, line_max[k], false, &r);
		}
		round_trip(2100, line_max[k], true, &r);
	}
	/* the largest packet the length field allows, with the default and a tiny line */
	round_trip(SMPFOTA_SERIAL_MAX_FRAME, 0, true, &r);
	round_trip(SMPFOTA_SERIAL_MAX_FRAME, 11, false, &r);
}

/* A packet cut into lines the way another sender might: every line holds
 * `first` raw bytes, then `rest` raw bytes per line (multiples of 3 but the last). */
static size_t split_foreign(const uint8_t *f, size_t len, size_t first, size_t rest, uint8_t *out)
{
	static uint8_t raw[BIG + 4];
	uint16_t crc = smpfota_crc16_xmodem(0, f, len);
	raw[0] = (uint8_t)((len + 2) >> 8);
	raw[1] = (uint8_t)(len + 2);
	memcpy(raw + 2, f, len);
	raw[len + 2] = (uint8_t)(crc >> 8);
	raw[len + 3] = (uint8_t)crc;
	size_t n = len + 4, pos = 0, o = 0;
	while (pos < n) {
		size_t take = pos == 0 ? first : rest;
		if (take > n - pos) {
			take = n - pos;
		}
		out[o++] = pos == 0 ? 0x06 : 0x04;
		out[o++] = pos == 0 ? 0x09 : 0x14;
		size_t olen = 0;
		CHECK(mbedtls_base64_encode(out + o, (n - pos) * 2 + 8, &olen, raw + pos, take) ==
		      0);
		o += olen;
		out[o++] = '\n';
		pos += take;
	}
	return o;
}

static void test_decode_foreign_splits(void)
{
	/* Zephyr's TX: 93 raw bytes on the first line, 90 on continuation lines; whatever
	 * the split, padding only at the end. Also lines cut at any multiple of 3. */
	static const size_t splits[][2] = {{93, 90}, {93, 93}, {3, 3}, {6, 300}, {300, 6}, {9, 96}};
	static uint8_t out[BIG * 3];
	for (size_t k = 0; k < sizeof(splits) / sizeof(splits[0]); k++) {
		for (size_t len = 8; len < 700; len += 7) {
			make_frame(rt_frame, len, (uint32_t)(len + k), true);
			size_t n = split_foreign(rt_frame, len, splits[k][0], splits[k][1], out);
			struct smpfota_serial_rx rx;
			struct sink s = {0};
			smpfota_serial_rx_init(&rx, rt_buf, 700);
			feed_all(&rx, out, n, &s);
			CHECK_EQ(s.frames, 1);
			CHECK_EQ(s.len, len);
			CHECK_MEM(s.data, rt_frame, len);
			CHECK_EQ(total_drops(&rx), 0);
		}
	}

	/* smp.packet.encode cuts the base64 text every 124 characters, CRC or not: 187 raw
	 * bytes leave the CRC's low byte alone on the last line ("xx=="). Each line is still
	 * whole base64, so it decodes. */
	make_frame(rt_frame, 183, 1, true);
	size_t n = split_foreign(rt_frame, 183, 93, 93, out);
	CHECK_EQ(n, 127 + 127 + 7);
	CHECK_EQ(out[n - 2], '=');
	struct smpfota_serial_rx rx;
	struct sink s = {0};
	smpfota_serial_rx_init(&rx, rt_buf, 183);
	feed_all(&rx, out, n, &s);
	CHECK_EQ(s.frames, 1);
	CHECK_MEM(s.data, rt_frame, 183);

	/* a line that ends in padding and is followed by more lines (each line on its own) */
	n = split_foreign(rt_frame, 183, 4, 3, out);
	smpfota_serial_rx_init(&rx, rt_buf, 183);
	s.frames = 0;
	feed_all(&rx, out, n, &s);
	CHECK_EQ(s.frames, 1);
	CHECK_MEM(s.data, rt_frame, 183);
}

/* ---- decoder robustness --------------------------------------------------------------------- */

struct fixture {
	struct smpfota_serial_rx rx;
	struct sink s;
	uint8_t buf[512];
	uint8_t frame[512];
	size_t frame_len;
	uint8_t enc[1024];
	size_t enc_len;
};

/* A good SMP packet of len bytes (3 lines at len 250). */
static void fx_init(struct fixture *fx, size_t len)
{
	memset(&fx->s, 0, sizeof(fx->s));
	smpfota_serial_rx_init(&fx->rx, fx->buf, sizeof(fx->buf));
	fx->frame_len = len;
	make_frame(fx->frame, len, (uint32_t)len, true);
	int n = smpfota_serial_encode(fx->frame, len, 0, fx->enc, sizeof(fx->enc));
	CHECK(n > 0);
	fx->enc_len = n > 0 ? (size_t)n : 0;
}

static void fx_feed_good(struct fixture *fx)
{
	int before = fx->s.frames;
	feed_all(&fx->rx, fx->enc, fx->enc_len, &fx->s);
	CHECK_EQ(fx->s.frames, before + 1);
	CHECK_EQ(fx->s.len, fx->frame_len);
	CHECK_MEM(fx->s.data, fx->frame, fx->frame_len);
}

/* Offset of the n-th line (0-based) of fx->enc. */
static size_t fx_line(const struct fixture *fx, int n)
{
	size_t i = 0;
	while (n > 0 && i < fx->enc_len) {
		if (fx->enc[i++] == '\n') {
			n--;
		}
	}
	return i;
}

static void test_console_text(void)
{
	static struct fixture fx;
	fx_init(&fx, 250);
	/* log lines before, between the lines of the packet, and after; CRLF; a blank line */
	feed_str(&fx.rx,
		 "*** Booting Zephyr OS build v4.1.0 ***\r\n\n[00:00:00.012] <inf> app: hi\n",
		 &fx.s);
	size_t l1 = fx_line(&fx, 1), l2 = fx_line(&fx, 2);
	feed_all(&fx.rx, fx.enc, l1, &fx.s);
	feed_str(&fx.rx, "[00:00:00.100] <wrn> log in the middle\r\n", &fx.s);
	feed_all(&fx.rx, fx.enc + l1, l2 - l1, &fx.s);
	feed_str(&fx.rx, "\x04 not a continuation\n", &fx.s);
	feed_all(&fx.rx, fx.enc + l2, fx.enc_len - l2, &fx.s);
	CHECK_EQ(fx.s.frames, 1);
	CHECK_MEM(fx.s.data, fx.frame, fx.frame_len);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_TEXT), 4);
	CHECK_EQ(total_drops(&fx.rx), 4);

	/* a shell prompt on the same line right before the first marker */
	feed_str(&fx.rx, "uart:~$ ", &fx.s);
	fx_feed_good(&fx);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_TEXT), 5);

	/* a response terminated by CRLF */
	uint8_t crlf[1100];
	size_t o = 0;
	for (size_t i = 0; i < fx.enc_len; i++) {
		if (fx.enc[i] == '\n') {
			crlf[o++] = '\r';
		}
		crlf[o++] = fx.enc[i];
	}
	feed_all(&fx.rx, crlf, o, &fx.s);
	CHECK_EQ(fx.s.frames, 3);
	CHECK_EQ(total_drops(&fx.rx), 5);
	CHECK(strcmp(smpfota_serial_drop_str(fx.rx.last_drop), "console text") == 0);
}

static void test_bad_crc(void)
{
	static struct fixture fx;
	fx_init(&fx, 40);
	/* the first character of the last group: all its bits are CRC bits (in a padded
	 * group the last character also holds padding bits, which decoders ignore) */
	size_t k = fx.enc_len - 5;
	uint8_t save = fx.enc[k];
	fx.enc[k] = save == 'A' ? 'B' : 'A';
	feed_all(&fx.rx, fx.enc, fx.enc_len, &fx.s);
	CHECK_EQ(fx.s.frames, 0);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_CRC), 1);
	CHECK_EQ(fx.rx.last_drop, SMPFOTA_SERIAL_DROP_CRC);
	CHECK(strcmp(smpfota_serial_drop_str(fx.rx.last_drop), "bad CRC") == 0);
	fx.enc[k] = save;
	fx_feed_good(&fx);
	CHECK_EQ(total_drops(&fx.rx), 1);

	/* a flipped frame byte in a multi-line packet */
	fx_init(&fx, 250);
	size_t m = fx_line(&fx, 1) + 10;
	save = fx.enc[m];
	fx.enc[m] = save == 'z' ? 'y' : 'z';
	feed_all(&fx.rx, fx.enc, fx.enc_len, &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_CRC), 1);
	fx.enc[m] = save;
	fx_feed_good(&fx);
}

static void test_bad_length(void)
{
	static struct fixture fx;
	/* length 0x0001: no room for the CRC */
	fx_init(&fx, 40);
	feed_str(&fx.rx,
		 "\x06\x09"
		 "AAEA\n",
		 &fx.s); /* 00 01 00 */
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_LEN), 1);
	fx_feed_good(&fx);

	/* a first line too short to hold the length: "AA==" is one byte */
	feed_str(&fx.rx,
		 "\x06\x09"
		 "AA==\n",
		 &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_LEN), 2);
	feed_str(&fx.rx, "\x06\x09\n", &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_LEN), 3);
	fx_feed_good(&fx);

	/* length smaller than the data: re-encode with a lie (total_len 10 for 40+2 bytes) */
	uint8_t raw[44];
	uint16_t crc = smpfota_crc16_xmodem(0, fx.frame, 40);
	raw[0] = 0;
	raw[1] = 10;
	memcpy(raw + 2, fx.frame, 40);
	raw[42] = (uint8_t)(crc >> 8);
	raw[43] = (uint8_t)crc;
	uint8_t line[80] = {0x06, 0x09};
	size_t olen = 0;
	CHECK(mbedtls_base64_encode(line + 2, sizeof(line) - 3, &olen, raw, sizeof(raw)) == 0);
	line[2 + olen] = '\n';
	feed_all(&fx.rx, line, olen + 3, &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_LEN), 4);
	CHECK_EQ(fx.s.frames, 2);

	/* length larger than the data: waits for more, then a new packet truncates it */
	raw[1] = 60;
	CHECK(mbedtls_base64_encode(line + 2, sizeof(line) - 3, &olen, raw, sizeof(raw)) == 0);
	line[2 + olen] = '\n';
	feed_all(&fx.rx, line, olen + 3, &fx.s);
	CHECK_EQ(fx.s.frames, 2);
	fx_feed_good(&fx);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_TRUNCATED), 1);
	CHECK_EQ(total_drops(&fx.rx), 5);
}

static void test_bad_base64(void)
{
	static struct fixture fx;
	fx_init(&fx, 250);
	static const char *const bad[] = {
		"\x06\x09"
		"AB*D\n", /* not in the alphabet */
		"\x06\x09"
		"ABC\n", /* not a whole group */
		"\x06\x09"
		"ABCDE\n", /* not a whole group */
		"\x06\x09"
		"AA==AAAA\n", /* data after padding on the same line */
		"\x06\x09"
		"A===\n", /* too much padding */
		"\x06\x09"
		"AB=C\n", /* misplaced padding */
		"\x06\x09"
		"AB CD\n", /* space */
		"\x06\x09"
		"AB\rCD\n", /* '\r' is tolerated only before '\n' */
		"\x06\x09"
		"ABCD\x04\x14"
		"ABCD\n", /* a continuation marker mid-line */
	};
	uint32_t want = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		feed_str(&fx.rx, bad[i], &fx.s);
		want++;
		CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_BASE64), want);
		fx_feed_good(&fx);
	}
	/* a bad character in a continuation line: its other lines are skipped, not orphans */
	size_t m = fx_line(&fx, 1) + 5;
	uint8_t save = fx.enc[m];
	fx.enc[m] = '!';
	feed_all(&fx.rx, fx.enc, fx.enc_len, &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_BASE64), want + 1);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_ORPHAN), 0);
	fx.enc[m] = save;
	fx_feed_good(&fx);
	CHECK_EQ(total_drops(&fx.rx), want + 1);
}

static void test_truncated_then_good(void)
{
	static struct fixture fx;
	fx_init(&fx, 250);
	/* the first line only, then the whole packet: the first is dropped as truncated */
	feed_all(&fx.rx, fx.enc, fx_line(&fx, 1), &fx.s);
	fx_feed_good(&fx);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_TRUNCATED), 1);

	/* cut mid-line without a newline: the new marker resynchronises */
	feed_all(&fx.rx, fx.enc, fx_line(&fx, 1) + 40, &fx.s);
	fx_feed_good(&fx);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_TRUNCATED), 2);

	/* cut inside a base64 group, then a stray 0x06 right before the next marker: the
	 * stray byte is bad base64 in the cut packet, the marker still resynchronises */
	feed_all(&fx.rx, fx.enc, 7, &fx.s);
	feed_str(&fx.rx, "\x06", &fx.s);
	fx_feed_good(&fx);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_TRUNCATED), 2);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_BASE64), 1);

	/* a reset (idle timeout) drops a partial packet too */
	feed_all(&fx.rx, fx.enc, 100, &fx.s);
	smpfota_serial_rx_reset(&fx.rx);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_TRUNCATED), 3);
	/* ... and its remaining lines are orphans */
	feed_all(&fx.rx, fx.enc + fx_line(&fx, 1), fx.enc_len - fx_line(&fx, 1), &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_ORPHAN), 2);
	fx_feed_good(&fx);
	CHECK_EQ(fx.s.frames, 4);
	CHECK_EQ(total_drops(&fx.rx), 6);
}

static void test_continuation_without_start(void)
{
	static struct fixture fx;
	fx_init(&fx, 250);
	feed_str(&fx.rx,
		 "\x04\x14"
		 "AAAA\n",
		 &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_ORPHAN), 1);
	/* after a complete packet, further continuation lines are orphans */
	fx_feed_good(&fx);
	feed_all(&fx.rx, fx.enc + fx_line(&fx, 1), fx.enc_len - fx_line(&fx, 1), &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_ORPHAN), 3);
	CHECK_EQ(fx.s.frames, 1);
	fx_feed_good(&fx);
	CHECK_EQ(total_drops(&fx.rx), 3);
}

static void test_oversize(void)
{
	static struct fixture fx;
	fx_init(&fx, 300);
	/* a decoder that takes 299-byte payloads */
	smpfota_serial_rx_init(&fx.rx, fx.buf, 299);
	memset(fx.buf, 0x5a, sizeof(fx.buf));
	feed_all(&fx.rx, fx.enc, fx.enc_len, &fx.s);
	CHECK_EQ(fx.s.frames, 0);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_OVERSIZE), 1);
	CHECK_EQ(total_drops(&fx.rx), 1); /* its continuation lines are not orphans */
	CHECK_EQ(fx.buf[0], 0x5a);        /* dropped before any byte was stored */
	CHECK_EQ(fx.rx.last_drop, SMPFOTA_SERIAL_DROP_OVERSIZE);
	/* exactly the capacity fits */
	fx.rx.cap = 300;
	fx_feed_good(&fx);
	CHECK_EQ(total_drops(&fx.rx), 1);

	/* the largest length field (0xffff) into a small decoder */
	feed_str(&fx.rx,
		 "\x06\x09"
		 "//8A\n",
		 &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_OVERSIZE), 2);
}

static void test_line_too_long(void)
{
	static struct fixture fx;
	fx_init(&fx, 400);
	static uint8_t enc[1024];
	int n = smpfota_serial_encode(fx.frame, 400, 200, enc, sizeof(enc));
	CHECK(n > 0);
	fx.rx.line_max = 127; /* as a Zephyr device's 128-byte line buffer, minus one */
	feed_all(&fx.rx, enc, (size_t)n, &fx.s);
	CHECK_EQ(fx.s.frames, 0);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_LINE), 1);
	CHECK_EQ(total_drops(&fx.rx), 1);
	fx_feed_good(&fx); /* 127-byte lines pass */
	/* the limit is inclusive of the marker and '\n' */
	fx.rx.line_max = 126;
	feed_all(&fx.rx, fx.enc, fx.enc_len, &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_LINE), 2);
	/* 0 = no limit */
	fx.rx.line_max = 0;
	feed_all(&fx.rx, enc, (size_t)n, &fx.s);
	CHECK_EQ(fx.s.frames, 2);
	/* long console text lines are never "too long" */
	fx.rx.line_max = 127;
	char text[600];
	memset(text, 'x', sizeof(text) - 2);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = 0;
	feed_str(&fx.rx, text, &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_LINE), 2);
	fx_feed_good(&fx);
}

static void test_smp_check(void)
{
	static struct fixture fx;
	fx_init(&fx, 40);
	/* good CRC, but the SMP header says 20 payload bytes in a 40-byte packet */
	uint8_t bad[40];
	memcpy(bad, fx.frame, 40);
	bad[3] = 20;
	uint8_t enc[128];
	int n = smpfota_serial_encode(bad, 40, 0, enc, sizeof(enc));
	feed_all(&fx.rx, enc, (size_t)n, &fx.s);
	CHECK_EQ(fx.s.frames, 0);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_SMP), 1);
	/* two frames that tile the packet (28 + 12 bytes): delivered together, as Zephyr
	 * accepts them */
	memcpy(bad + 28, fx.frame, 8);
	bad[28 + 2] = 0;
	bad[28 + 3] = 4;
	n = smpfota_serial_encode(bad, 40, 0, enc, sizeof(enc));
	feed_all(&fx.rx, enc, (size_t)n, &fx.s);
	CHECK_EQ(fx.s.frames, 1);
	CHECK_EQ(fx.s.len, 40);
	/* raw mode takes anything with a good CRC, an empty payload included */
	fx.rx.raw = true;
	feed_str(&fx.rx,
		 "\x06\x09"
		 "AAIAAA==\n",
		 &fx.s);
	CHECK_EQ(fx.s.frames, 2);
	CHECK_EQ(fx.s.len, 0);
	fx.rx.raw = false;
	feed_str(&fx.rx,
		 "\x06\x09"
		 "AAIAAA==\n",
		 &fx.s);
	CHECK_EQ(drops(&fx.rx, SMPFOTA_SERIAL_DROP_SMP), 2);
	CHECK_EQ(total_drops(&fx.rx), 2);
}

static int stop_fn(void *ctx, const uint8_t *frame, size_t len)
{
	(void)frame;
	(void)len;
	int *calls = ctx;
	return ++*calls == 2 ? SMPFOTA_ERR_BUSY : 0;
}

static void test_feed_api(void)
{
	static struct fixture fx;
	fx_init(&fx, 30);
	/* three packets in one chunk: feed returns after each, at its newline */
	static uint8_t three[600];
	for (int i = 0; i < 3; i++) {
		memcpy(three + (size_t)i * fx.enc_len, fx.enc, fx.enc_len);
	}
	struct smpfota_bytes f;
	size_t off = 0;
	int frames = 0;
	while (off < 3 * fx.enc_len) {
		int n = smpfota_serial_rx_feed(&fx.rx, three + off, 3 * fx.enc_len - off, &f);
		CHECK(n > 0);
		if (n <= 0) {
			break;
		}
		off += (size_t)n;
		if (f.ptr != NULL) {
			frames++;
			CHECK_EQ(off, (size_t)frames * fx.enc_len);
			CHECK_EQ(f.len, 30);
			CHECK(f.ptr == fx.buf);
		}
	}
	CHECK_EQ(frames, 3);
	/* feed_all counts them; a callback error stops it */
	struct sink s = {0};
	CHECK_EQ(smpfota_serial_rx_feed_all(&fx.rx, three, 3 * fx.enc_len, sink_fn, &s), 3);
	int calls = 0;
	CHECK_EQ(smpfota_serial_rx_feed_all(&fx.rx, three, 3 * fx.enc_len, stop_fn, &calls),
		 SMPFOTA_ERR_BUSY);
	CHECK_EQ(calls, 2);
	/* bad arguments */
	CHECK_EQ(smpfota_serial_rx_feed(&fx.rx, NULL, 1, &f), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_serial_rx_feed(&fx.rx, three, 1, NULL), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_serial_rx_feed(&fx.rx, NULL, 0, &f), 0);
	CHECK_EQ(smpfota_serial_rx_feed_all(&fx.rx, three, 1, NULL, NULL), SMPFOTA_ERR_INVAL);
	CHECK(strcmp(smpfota_serial_drop_str(-1), "none") == 0);
	CHECK(strcmp(smpfota_serial_drop_str(SMPFOTA_SERIAL_DROP_COUNT), "none") == 0);
	for (int i = 0; i < SMPFOTA_SERIAL_DROP_COUNT; i++) {
		CHECK(smpfota_serial_drop_str(i) != NULL &&
		      strcmp(smpfota_serial_drop_str(i), "none"));
	}
}

static void test_garbage_stress(void)
{
	/* Random garbage (any bytes, 0x06 0x09 and newlines included) between good packets:
	 * every good packet still comes out, whatever state the garbage left behind, and the
	 * decoder never writes past its buffer (the guard bytes after it stay intact). */
	static uint8_t mem[260 + 16];
	static uint8_t enc[600];
	static uint8_t frame[260];
	static uint8_t garbage[300];
	struct rng r = {99};
	struct smpfota_serial_rx rx;
	struct sink s = {0};
	memset(mem, 0xC5, sizeof(mem));
	smpfota_serial_rx_init(&rx, mem, 260);
	int want = 0;
	for (int round = 0; round < 3000; round++) {
		size_t g = rng_next(&r) % sizeof(garbage);
		int kind = (int)(rng_next(&r) % 4);
		for (size_t i = 0; i < g; i++) {
			uint32_t v = rng_next(&r);
			/* mostly random bytes; some rounds bias towards markers and base64 */
			if (kind == 1 && v % 7 == 0) {
				garbage[i] = "\x06\x09\x04\x14\n="[v % 6];
			} else if (kind == 2) {
				garbage[i] =
					(uint8_t) "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef+/=\n\x06\x09"
						[v % 38];
			} else {
				garbage[i] = (uint8_t)v;
			}
		}
		feed_all(&rx, garbage, g, &s);
		size_t len = 8 + rng_next(&r) % 252;
		make_frame(frame, len, (uint32_t)round, true);
		int n = smpfota_serial_encode(frame, len, 0, enc, sizeof(enc));
		int before = s.frames;
		feed_all(&rx, enc, (size_t)n, &s);
		want++;
		CHECK_EQ(s.frames, before + 1);
		CHECK_EQ(s.len, len);
		CHECK_MEM(s.data, frame, len);
	}
	CHECK(s.frames >= want); /* garbage may hold a valid packet by chance */
	for (size_t i = 260; i < sizeof(mem); i++) {
		CHECK_EQ(mem[i], 0xC5);
	}
	CHECK(total_drops(&rx) > 0);
}

/* ---- helper mode for the Python tests ------------------------------------------------------- */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	if (n > cap) {
		return (size_t)-1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
			return (size_t)-1;
		}
		out[i] = (uint8_t)v;
	}
	return n;
}

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		printf("%02x", p[i]);
	}
	printf("\n");
}

static int print_frame(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	print_hex(frame, len);
	return 0;
}

static int tool(int argc, char **argv)
{
	static uint8_t in[BIG * 3];
	static uint8_t out[BIG * 3];
	if (argc < 3) {
		return 2;
	}
	size_t n = unhex(argv[2], in, sizeof(in));
	if (n == (size_t)-1) {
		fprintf(stderr, "bad hex\n");
		return 2;
	}
	if (strcmp(argv[1], "encode") == 0) {
		size_t line_max = argc > 3 ? strtoul(argv[3], NULL, 0) : 0;
		int m = smpfota_serial_encode(in, n, line_max, out, sizeof(out));
		if (m < 0) {
			fprintf(stderr, "encode: %s\n", smpfota_strerror(m));
			return 1;
		}
		print_hex(out, (size_t)m);
		return 0;
	}
	if (strcmp(argv[1], "decode") == 0) {
		struct smpfota_serial_rx rx;
		smpfota_serial_rx_init(&rx, out, SMPFOTA_SERIAL_MAX_FRAME);
		rx.raw = argc > 3 && strcmp(argv[3], "raw") == 0;
		if (smpfota_serial_rx_feed_all(&rx, in, n, print_frame, NULL) < 0) {
			return 1;
		}
		for (int i = 0; i < SMPFOTA_SERIAL_DROP_COUNT; i++) {
			fprintf(stderr, "%s=%u\n", smpfota_serial_drop_str(i),
				(unsigned)rx.stats.drops[i]);
		}
		return 0;
	}
	return 2;
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		return tool(argc, argv);
	}
	RUN(test_crc_kat);
	RUN(test_encode_kat_hello);
	RUN(test_encode_kat_echo);
	RUN(test_encode_empty);
	RUN(test_encode_crc_kept_whole);
	RUN(test_encode_limits);
	RUN(test_round_trip_all_sizes);
	RUN(test_round_trip_line_lengths);
	RUN(test_decode_foreign_splits);
	RUN(test_console_text);
	RUN(test_bad_crc);
	RUN(test_bad_length);
	RUN(test_bad_base64);
	RUN(test_truncated_then_good);
	RUN(test_continuation_without_start);
	RUN(test_oversize);
	RUN(test_line_too_long);
	RUN(test_smp_check);
	RUN(test_feed_api);
	RUN(test_garbage_stress);
	return CHECK_SUMMARY();
}
