/*
 * Fuzz the GATT link's receiver (smpfota/gatt.h): arbitrary pieces as notifications or
 * writes, with disconnections and time passing.
 *
 * Input: byte 0 = options: bit 0 whole_pieces (a target without reassembly), bit 1 each
 * piece comes 2 s after the previous one (the partial-frame timeout fires), bit 2 a send of
 * a frame between pieces (the sending half runs too, against a stack that is busy every
 * other call); byte 1 = reassembly capacity / 8 + 8 bytes; then records [n][n bytes], n = 0
 * a disconnection. The reassembly buffer is malloc'ed at exactly the capacity, so ASan sees
 * any overrun.
 *
 * Properties: no crash; a delivered frame is 8..capacity bytes, its header's length field is
 * its length - 8, and it is exactly the concatenation of the last few pieces fed since the
 * last disconnection, ending with the piece that completed it (whole_pieces: that piece).
 */
#include <stdlib.h>
#include <string.h>

#include "smpfota/gatt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PIECES 4096

struct fz {
	const uint8_t *piece[MAX_PIECES]; /* fed since the last disconnection */
	size_t len[MAX_PIECES];
	size_t n;
	size_t cap;
	bool whole;
	unsigned calls;
};

static struct fz F;

static int fz_send(void *ctx, const uint8_t *p, size_t len)
{
	struct fz *f = ctx;
	(void)p;
	if (len == 0) {
		abort();
	}
	return (f->calls++ & 1U) ? SMPFOTA_ERR_BUSY : 0;
}

static int fz_rx(void *user, const uint8_t *frame, size_t len)
{
	struct fz *f = user;
	if (len < 8 || len > f->cap || (size_t)((frame[2] << 8) | frame[3]) + 8 != len ||
	    f->n == 0) {
		abort();
	}
	/* the frame is the tail of the pieces fed, ending with the newest */
	size_t end = len, i = f->n;
	while (end > 0) {
		if (i == 0) {
			abort();
		}
		i--;
		if (f->len[i] > end ||
		    memcmp(frame + end - f->len[i], f->piece[i], f->len[i]) != 0) {
			abort();
		}
		end -= f->len[i];
	}
	if (f->whole && i != f->n - 1) {
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2) {
		return 0;
	}
	memset(&F, 0, sizeof(F));
	F.whole = data[0] & 1U;
	bool slow = data[0] & 2U;
	bool sends = data[0] & 4U;
	F.cap = (size_t)data[1] * 8U + 8U;
	uint8_t *rx = malloc(F.cap);
	uint8_t tx[600];
	struct smpfota_gatt g;
	struct smpfota_gatt_config c = {
		.ops = {.send = fz_send, .ctx = &F},
		.tx_buf = tx,
		.tx_size = sizeof(tx),
		.rx_buf = rx,
		.rx_size = F.cap,
		.rx = fz_rx,
		.user = &F,
		.peer_reassembles = true,
		.whole_pieces = F.whole,
	};
	if (rx == NULL || smpfota_gatt_init(&g, &c) != 0) {
		abort();
	}
	(void)smpfota_gatt_set_mtu(&g, (uint16_t)(23U + data[1]));
	uint32_t now = 0;
	size_t off = 2;
	while (off < size) {
		size_t n = data[off++];
		if (n == 0) {
			smpfota_gatt_disconnected(&g);
			F.n = 0;
			continue;
		}
		if (n > size - off) {
			n = size - off;
		}
		if (F.n == MAX_PIECES) {
			break;
		}
		F.piece[F.n] = data + off;
		F.len[F.n] = n;
		F.n++;
		now += slow ? 2000U : 1U;
		smpfota_gatt_poll(&g, now);
		smpfota_gatt_on_piece(&g, data + off, n, now);
		if (sends) {
			(void)smpfota_gatt_send(&g, data + off, n);
		}
		off += n;
	}
	free(rx);
	return 0;
}
