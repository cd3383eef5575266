/*
 * SMP serial framing ("SMP over console"): encoder and incremental decoder.
 * See include/smpfota/serial.h and shared/spec/smp.md section 4.1.
 */
#include "smpfota/serial.h"

#include <string.h>

#include <mbedtls/base64.h>

/* ---- CRC-16/XMODEM ------------------------------------------------------------------------ */

/* One nibble at a time: a 32-byte table instead of 512, still far faster than any UART. */
static const uint16_t crc_nibble[16] = {
	0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
	0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
};

static uint16_t crc_byte(uint16_t crc, uint8_t b)
{
	crc = (uint16_t)((crc << 4) ^ crc_nibble[((crc >> 12) ^ (b >> 4)) & 0xfU]);
	crc = (uint16_t)((crc << 4) ^ crc_nibble[((crc >> 12) ^ b) & 0xfU]);
	return crc;
}

uint16_t smpfota_crc16_xmodem(uint16_t crc, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		crc = crc_byte(crc, data[i]);
	}
	return crc;
}

/* ---- encoder ------------------------------------------------------------------------------ */

/* Raw (pre-base64) bytes per line: whole 4-character groups after marker and newline. */
static size_t line_raw_cap(size_t line_max)
{
	return ((line_max - 3U) / 4U) * 3U;
}

int smpfota_serial_encoded_size(size_t frame_len, size_t line_max)
{
	if (line_max == 0) {
		line_max = SMPFOTA_SERIAL_LINE_MAX;
	}
	if (line_max < SMPFOTA_SERIAL_LINE_MIN) {
		return SMPFOTA_ERR_INVAL;
	}
	if (frame_len > SMPFOTA_SERIAL_MAX_FRAME) {
		return SMPFOTA_ERR_MSGSIZE;
	}
	size_t n = frame_len + 4U; /* length field + frame + CRC */
	size_t cap = line_raw_cap(line_max);
	size_t lines = (n + cap - 1U) / cap;
	/* Every line but the last holds a multiple of 3 bytes, so the base64 is that of the
	 * whole packet: 4 characters per started group of 3. */
	return (int)(4U * ((n + 2U) / 3U) + 3U * lines);
}

struct raw_pkt {
	const uint8_t *frame;
	size_t frame_len;
	uint16_t crc;
};

/* Byte i of [u16 total_len][frame][u16 crc], which is never contiguous in memory. */
static uint8_t raw_at(const struct raw_pkt *p, size_t i)
{
	if (i < 2U) {
		size_t total = p->frame_len + 2U;
		return (uint8_t)(i == 0U ? total >> 8 : total);
	}
	if (i - 2U < p->frame_len) {
		return p->frame[i - 2U];
	}
	return (uint8_t)(i - 2U == p->frame_len ? p->crc >> 8 : p->crc);
}

/*
 * Base64 of raw bytes [a, b) at out; room is what is left of the caller's buffer (mbedTLS
 * writes a NUL after its output: it lands on the newline slot or the next group). Spans
 * start on a multiple of 3, so groups never straddle calls. Runs inside the frame go to
 * mbedTLS directly; the groups touching the length or CRC go through a 3-byte copy.
 */
static int encode_span(const struct raw_pkt *p, size_t a, size_t b, uint8_t *out, size_t room,
		       size_t *written)
{
	size_t o = 0;
	size_t i = a;
	while (i < b) {
		uint8_t tmp[3];
		const uint8_t *src;
		size_t n;
		size_t frame_end = 2U + p->frame_len;
		size_t run = 0;
		if (i >= 2U && i < frame_end) {
			size_t end = b < frame_end ? b : frame_end;
			run = ((end - i) / 3U) * 3U;
		}
		if (run > 0) {
			src = p->frame + (i - 2U);
			n = run;
		} else {
			n = b - i < 3U ? b - i : 3U;
			for (size_t k = 0; k < n; k++) {
				tmp[k] = raw_at(p, i + k);
			}
			src = tmp;
		}
		size_t olen = 0;
		if (mbedtls_base64_encode(out + o, room - o, &olen, src, n) != 0) {
			return SMPFOTA_ERR_NOSPC; /* unreachable: the size was checked up front */
		}
		o += olen;
		i += n;
	}
	*written = o;
	return 0;
}

int smpfota_serial_encode(const uint8_t *frame, size_t frame_len, size_t line_max, uint8_t *out,
			  size_t out_size)
{
	if ((frame == NULL && frame_len != 0) || out == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	if (line_max == 0) {
		line_max = SMPFOTA_SERIAL_LINE_MAX;
	}
	int size = smpfota_serial_encoded_size(frame_len, line_max);
	if (size < 0) {
		return size;
	}
	if ((size_t)size > out_size) {
		return SMPFOTA_ERR_NOSPC;
	}

	struct raw_pkt p = {frame, frame_len, smpfota_crc16_xmodem(0, frame, frame_len)};
	size_t n = frame_len + 4U;
	size_t cap = line_raw_cap(line_max);
	size_t lines = (n + cap - 1U) / cap;
	size_t last = n - (lines - 1U) * cap;
	size_t pos = 0;
	size_t o = 0;
	for (size_t l = 0; l < lines; l++) {
		size_t take = cap;
		if (l == lines - 1U) {
			take = n - pos;
		} else if (l == lines - 2U && last < 3U) {
			/* The last line would hold only CRC bytes (or half the CRC): move one
			 * group down so it carries frame bytes and the whole CRC, as Zephyr's
			 * TX code does. cap >= 6 leaves this line non-empty. */
			take = cap - 3U;
		}
		out[o++] = l == 0 ? SMPFOTA_SERIAL_PKT_1 : SMPFOTA_SERIAL_FRAG_1;
		out[o++] = l == 0 ? SMPFOTA_SERIAL_PKT_2 : SMPFOTA_SERIAL_FRAG_2;
		size_t w = 0;
		int rc = encode_span(&p, pos, pos + take, out + o, out_size - o, &w);
		if (rc < 0) {
			return rc;
		}
		o += w;
		out[o++] = '\n';
		pos += take;
	}
	return (int)o;
}

/* ---- decoder ------------------------------------------------------------------------------ */

enum rx_state {
	ST_LINE_START, /* at the start of a line */
	ST_FRAG2,      /* 0x04 seen at the start of a line */
	ST_TEXT,       /* console text: ignored up to '\n' */
	ST_BODY,       /* base64 of an SMP line being decoded */
	ST_SKIP,       /* an SMP line being ignored up to '\n' */
};

static const char *const drop_text[SMPFOTA_SERIAL_DROP_COUNT] = {
	[SMPFOTA_SERIAL_DROP_TEXT] = "console text",
	[SMPFOTA_SERIAL_DROP_ORPHAN] = "continuation without start",
	[SMPFOTA_SERIAL_DROP_BASE64] = "bad base64",
	[SMPFOTA_SERIAL_DROP_LEN] = "bad length",
	[SMPFOTA_SERIAL_DROP_OVERSIZE] = "packet too large",
	[SMPFOTA_SERIAL_DROP_CRC] = "bad CRC",
	[SMPFOTA_SERIAL_DROP_SMP] = "not SMP frames",
	[SMPFOTA_SERIAL_DROP_LINE] = "line too long",
	[SMPFOTA_SERIAL_DROP_TRUNCATED] = "truncated packet",
};

const char *smpfota_serial_drop_str(int why)
{
	if (why < 0 || why >= SMPFOTA_SERIAL_DROP_COUNT) {
		return "none";
	}
	return drop_text[why];
}

static void count_drop(struct smpfota_serial_rx *rx, enum smpfota_serial_drop why)
{
	rx->stats.drops[why]++;
	rx->last_drop = (int)why;
}

/* Drop the packet in progress: the rest of this line and its later lines are skipped
 * without being counted again, up to the next first line. */
static void drop_packet(struct smpfota_serial_rx *rx, enum smpfota_serial_drop why)
{
	count_drop(rx, why);
	rx->discard = true;
	rx->state = ST_SKIP;
}

static void begin_body(struct smpfota_serial_rx *rx)
{
	rx->state = ST_BODY;
	rx->line_len = 2; /* the marker */
	rx->nquad = 0;
	rx->padded = false;
	rx->cr = false;
}

static void start_packet(struct smpfota_serial_rx *rx)
{
	if (rx->in_pkt && !rx->discard) {
		count_drop(rx, SMPFOTA_SERIAL_DROP_TRUNCATED);
	}
	rx->in_pkt = true;
	rx->discard = false;
	rx->got = 0;
	rx->total = 0;
	rx->crc = 0;
	begin_body(rx);
}

static void start_continuation(struct smpfota_serial_rx *rx)
{
	if (!rx->in_pkt) {
		count_drop(rx, SMPFOTA_SERIAL_DROP_ORPHAN);
		rx->state = ST_SKIP;
	} else if (rx->discard) {
		rx->state = ST_SKIP;
	} else {
		begin_body(rx);
	}
}

/* One decoded byte of [len][payload][crc]; false when it ended the packet. */
static bool push_byte(struct smpfota_serial_rx *rx, uint8_t b)
{
	uint32_t pos = rx->got++;
	if (pos == 0U) {
		rx->len_hi = b;
		return true;
	}
	if (pos == 1U) {
		rx->total = (uint16_t)((rx->len_hi << 8) | b);
		if (rx->total < 2U) {
			drop_packet(rx, SMPFOTA_SERIAL_DROP_LEN);
			return false;
		}
		/* Checked before any payload byte arrives, so the buffer is never overrun. */
		if ((size_t)rx->total - 2U > rx->cap) {
			drop_packet(rx, SMPFOTA_SERIAL_DROP_OVERSIZE);
			return false;
		}
		return true;
	}
	if (pos >= (uint32_t)rx->total + 2U) {
		drop_packet(rx, SMPFOTA_SERIAL_DROP_LEN);
		return false;
	}
	/* The CRC runs over the CRC bytes too: the result is 0 for a good packet. */
	rx->crc = crc_byte(rx->crc, b);
	if (pos < (uint32_t)rx->total) {
		rx->buf[pos - 2U] = b;
	}
	return true;
}

static bool is_b64(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

static void decode_group(struct smpfota_serial_rx *rx)
{
	uint8_t out[3];
	size_t n = 0;
	/* Padding ends a line's base64; mbedTLS rejects misplaced or excess '='. */
	if (rx->padded || mbedtls_base64_decode(out, sizeof(out), &n, rx->quad, 4) != 0 || n == 0) {
		drop_packet(rx, SMPFOTA_SERIAL_DROP_BASE64);
		return;
	}
	rx->padded = rx->quad[3] == '=';
	for (size_t i = 0; i < n; i++) {
		if (!push_byte(rx, out[i])) {
			return;
		}
	}
}

static void body_byte(struct smpfota_serial_rx *rx, uint8_t c)
{
	rx->line_len++;
	if (rx->line_max != 0 && rx->line_len + 1U > rx->line_max) {
		drop_packet(rx, SMPFOTA_SERIAL_DROP_LINE); /* no room left for the '\n' */
		return;
	}
	/* A CRLF console: tolerate '\r' just before the '\n', nowhere else. */
	if (rx->cr || !(is_b64(c) || c == '\r')) {
		drop_packet(rx, SMPFOTA_SERIAL_DROP_BASE64);
		return;
	}
	if (c == '\r') {
		rx->cr = true;
		return;
	}
	rx->quad[rx->nquad++] = c;
	if (rx->nquad == 4U) {
		rx->nquad = 0;
		decode_group(rx);
	}
}

static bool payload_is_smp(const uint8_t *buf, size_t len)
{
	size_t off = 0;
	if (len == 0) {
		return false;
	}
	/* Zephyr's server takes several frames in one packet: they must tile it exactly. */
	while (off < len) {
		struct smpfota_smp_hdr hdr;
		int n = smpfota_smp_hdr_decode(buf + off, len - off, &hdr);
		if (n <= 0) {
			return false;
		}
		off += (size_t)n;
	}
	return true;
}

/* '\n' at the end of an SMP line: true when it completed a good packet. */
static bool end_body_line(struct smpfota_serial_rx *rx)
{
	if (rx->line_max != 0 && rx->line_len + 1U > rx->line_max) {
		drop_packet(rx, SMPFOTA_SERIAL_DROP_LINE);
		return false;
	}
	if (rx->nquad != 0) {
		drop_packet(rx, SMPFOTA_SERIAL_DROP_BASE64);
		return false;
	}
	if (rx->got < 2U) {
		/* As Zephyr: the first line must carry the whole length field. */
		drop_packet(rx, SMPFOTA_SERIAL_DROP_LEN);
		return false;
	}
	if (rx->got < (uint32_t)rx->total + 2U) {
		return false; /* more lines to come */
	}
	rx->in_pkt = false;
	if (rx->crc != 0) {
		count_drop(rx, SMPFOTA_SERIAL_DROP_CRC);
		return false;
	}
	if (!rx->raw && !payload_is_smp(rx->buf, (size_t)rx->total - 2U)) {
		count_drop(rx, SMPFOTA_SERIAL_DROP_SMP);
		return false;
	}
	rx->stats.frames++;
	return true;
}

/* One byte, 0x06 0x09 detection aside. True when it completed a packet. */
static bool plain_byte(struct smpfota_serial_rx *rx, uint8_t c)
{
	if (c == '\n') {
		bool done = false;
		if (rx->state == ST_BODY) {
			done = end_body_line(rx);
		} else if (rx->state == ST_FRAG2) {
			count_drop(rx, SMPFOTA_SERIAL_DROP_TEXT);
		}
		rx->state = ST_LINE_START;
		return done;
	}
	switch (rx->state) {
	case ST_LINE_START:
		if (c == SMPFOTA_SERIAL_FRAG_1) {
			rx->state = ST_FRAG2;
		} else if (c != '\r') { /* a lone "\r\n" is a blank line, not text */
			count_drop(rx, SMPFOTA_SERIAL_DROP_TEXT);
			rx->state = ST_TEXT;
		}
		break;
	case ST_FRAG2:
		if (c == SMPFOTA_SERIAL_FRAG_2) {
			start_continuation(rx);
		} else {
			count_drop(rx, SMPFOTA_SERIAL_DROP_TEXT);
			rx->state = ST_TEXT;
		}
		break;
	case ST_BODY:
		body_byte(rx, c);
		break;
	default: /* ST_TEXT, ST_SKIP */
		break;
	}
	return false;
}

static bool rx_byte(struct smpfota_serial_rx *rx, uint8_t c)
{
	/* 0x06 0x09 starts a packet anywhere: 0x06 is neither text nor base64, so it is held
	 * one byte to see whether 0x09 follows. */
	if (rx->held06) {
		rx->held06 = false;
		if (c == SMPFOTA_SERIAL_PKT_2) {
			start_packet(rx);
			return false;
		}
		(void)plain_byte(rx, SMPFOTA_SERIAL_PKT_1); /* not '\n': completes nothing */
	}
	if (c == SMPFOTA_SERIAL_PKT_1) {
		rx->held06 = true;
		return false;
	}
	return plain_byte(rx, c);
}

void smpfota_serial_rx_init(struct smpfota_serial_rx *rx, uint8_t *buf, size_t cap)
{
	memset(rx, 0, sizeof(*rx));
	rx->buf = buf;
	rx->cap = cap;
	rx->line_max = SMPFOTA_SERIAL_RX_LINE_MAX;
	rx->last_drop = -1;
	rx->state = ST_LINE_START;
}

void smpfota_serial_rx_reset(struct smpfota_serial_rx *rx)
{
	if (rx->in_pkt && !rx->discard) {
		count_drop(rx, SMPFOTA_SERIAL_DROP_TRUNCATED);
	}
	rx->in_pkt = false;
	rx->discard = false;
	rx->held06 = false;
	rx->got = 0;
	rx->nquad = 0;
	rx->state = ST_LINE_START;
}

int smpfota_serial_rx_feed(struct smpfota_serial_rx *rx, const uint8_t *data, size_t len,
			   struct smpfota_bytes *frame)
{
	if (rx == NULL || rx->buf == NULL || frame == NULL || (data == NULL && len != 0)) {
		return SMPFOTA_ERR_INVAL;
	}
	frame->ptr = NULL;
	frame->len = 0;
	/* the count is returned as int: stop at INT_MAX (without <limits.h>) */
	if (len > (size_t)(~0U >> 1)) {
		len = (size_t)(~0U >> 1);
	}
	for (size_t i = 0; i < len; i++) {
		if (rx_byte(rx, data[i])) {
			frame->ptr = rx->buf;
			frame->len = (size_t)rx->total - 2U;
			return (int)(i + 1U);
		}
	}
	return (int)len;
}

int smpfota_serial_rx_feed_all(struct smpfota_serial_rx *rx, const uint8_t *data, size_t len,
			       smpfota_serial_frame_fn fn, void *ctx)
{
	int frames = 0;
	if (fn == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	for (;;) {
		struct smpfota_bytes f;
		int n = smpfota_serial_rx_feed(rx, data, len, &f);
		if (n < 0) {
			return n;
		}
		if (f.ptr != NULL) {
			int rc = fn(ctx, f.ptr, f.len);
			if (rc < 0) {
				return rc;
			}
			frames++;
		}
		if ((size_t)n == len) {
			break;
		}
		data += n;
		len -= (size_t)n;
	}
	return frames;
}
