/*
 * Fuzz the SMP serial decoder as a UART would drive it: arbitrary bytes fed in chunks.
 *
 * Input: byte 0 = chunk size (low 6 bits, + 1), raw mode (bit 6), RX line limit 127
 * instead of the default (bit 7); byte 1 = reassembly capacity / 8; then the stream.
 * The buffer is malloc'ed at exactly that capacity, so ASan sees any overrun.
 *
 * Properties: consumption never exceeds the chunk; every delivered payload fits the
 * capacity and, outside raw mode, is whole SMP frames (headers tile it exactly); and
 * re-encoding a delivered payload (default lines and a line length taken from it) and
 * decoding that yields the same payload once, with nothing dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "smpfota/serial.h"
#include "smpfota/smp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the largest payload (255 * 8 bytes) at the shortest line (11) needs 3751 bytes */
static uint8_t enc[8192];

static void check_smp(const uint8_t *f, size_t len)
{
	size_t off = 0;
	if (len == 0) {
		abort();
	}
	while (off < len) {
		struct smpfota_smp_hdr h;
		int n = smpfota_smp_hdr_decode(f + off, len - off, &h);
		if (n < (int)SMPFOTA_SMP_HDR_SIZE) {
			abort();
		}
		off += (size_t)n;
	}
	if (off != len) {
		abort();
	}
}

static void check_reencode(const uint8_t *f, size_t len, bool raw, size_t line_max)
{
	int n = smpfota_serial_encode(f, len, line_max, enc, sizeof(enc));
	if (n < 0 || n != smpfota_serial_encoded_size(len, line_max)) {
		abort();
	}
	uint8_t *buf = malloc(len ? len : 1);
	struct smpfota_serial_rx rx;
	smpfota_serial_rx_init(&rx, buf, len);
	rx.raw = raw;
	struct smpfota_bytes out;
	int m = smpfota_serial_rx_feed(&rx, enc, (size_t)n, &out);
	if (m != n || out.ptr == NULL || out.len != len || memcmp(out.ptr, f, len) != 0 ||
	    rx.stats.frames != 1 || rx.last_drop != -1) {
		abort();
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2) {
		return 0;
	}
	size_t chunk = (size_t)(data[0] & 0x3f) + 1;
	bool raw = (data[0] & 0x40) != 0;
	bool short_lines = (data[0] & 0x80) != 0;
	size_t cap = (size_t)data[1] * 8;
	data += 2;
	size -= 2;

	uint8_t *buf = malloc(cap ? cap : 1);
	struct smpfota_serial_rx rx;
	smpfota_serial_rx_init(&rx, buf, cap);
	rx.raw = raw;
	if (short_lines) {
		rx.line_max = SMPFOTA_SERIAL_LINE_MAX;
	}

	uint32_t frames = 0;
	size_t off = 0;
	while (off < size) {
		size_t c = size - off < chunk ? size - off : chunk;
		struct smpfota_bytes f;
		int n = smpfota_serial_rx_feed(&rx, data + off, c, &f);
		if (n < 0 || (size_t)n > c || (n == 0 && c > 0)) {
			abort();
		}
		off += (size_t)n;
		if (f.ptr == NULL) {
			continue;
		}
		frames++;
		if (f.ptr != buf || f.len > cap) {
			abort();
		}
		if (!raw) {
			check_smp(f.ptr, f.len);
		}
		check_reencode(f.ptr, f.len, raw, 0);
		check_reencode(f.ptr, f.len, raw, SMPFOTA_SERIAL_LINE_MIN + f.len % 200);
	}
	if (rx.stats.frames != frames) {
		abort();
	}
	smpfota_serial_rx_reset(&rx);
	free(buf);
	return 0;
}
