/*
 * Fuzz the frame bridge's receiver: arbitrary channel messages, interleaved with polls, time
 * steps and frames sent the other way, into one bridge end.
 *
 * Input: byte 0 = options: bits 0-1 the rx callback's busy pattern (never, every other
 * offer, two of three, always until the next poll), bit 2 the channel refuses every other
 * send; byte 1 = max_frame / 4 + 1; then records [tag][len][len bytes]: tag 0 = one channel
 * message, 1 = poll after len * 100 µs, 2 = send a frame of len + 1 bytes, anything else =
 * post event (tag & 7, len).
 * The ring and tx buffer are malloc'ed at exactly their minimum sizes, so ASan sees any
 * overrun.
 *
 * Properties: no crash; a delivered frame is 1..max_frame bytes and equal to the data of a
 * FRAME message fed before it, in feed order (a later delivery never comes from an earlier
 * message than the previous delivery: no reordering, no duplicate); the ring's counters stay
 * within its size; next_deadline is -1 or within [0, 100 ms].
 */
#include <stdlib.h>
#include <string.h>

#include "smpfota/bridge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FED 512

struct fz {
	const uint8_t *fed[MAX_FED]; /* FRAME messages fed, in order */
	size_t fed_len[MAX_FED];
	size_t n_fed;
	size_t next; /* deliveries come from fed[next..] */
	unsigned busy_mode, offers;
	bool busy_now;
	bool chan_flaky;
	unsigned sends;
	uint16_t max_frame;
};

static struct fz F;

static int fz_send(void *ctx, const uint8_t *msg, size_t len)
{
	struct fz *f = ctx;
	(void)msg;
	if (len == 0) {
		abort();
	}
	return f->chan_flaky && (f->sends++ & 1U) ? SMPFOTA_ERR_BUSY : 0;
}

static int fz_rx(void *user, const uint8_t *frame, size_t len)
{
	struct fz *f = user;
	f->offers++;
	bool busy = (f->busy_mode == 1 && (f->offers & 1U)) ||
		    (f->busy_mode == 2 && f->offers % 3U != 0) ||
		    (f->busy_mode == 3 && f->busy_now);
	if (busy) {
		return SMPFOTA_ERR_BUSY;
	}
	f->busy_now = true;
	if (len == 0 || len > f->max_frame) {
		abort();
	}
	for (; f->next < f->n_fed; f->next++) {
		if (f->fed_len[f->next] == SMPFOTA_BRIDGE_HDR_SIZE + len &&
		    memcmp(f->fed[f->next] + SMPFOTA_BRIDGE_HDR_SIZE, frame, len) == 0) {
			f->next++;
			return 0;
		}
	}
	abort(); /* not from a frame message fed after the previous delivery */
}

static void fz_event(void *user, unsigned code, uint32_t value)
{
	(void)user;
	(void)value;
	if (code >= SMPFOTA_BRIDGE_EVT_COUNT && code != SMPFOTA_BRIDGE_EVT_PEER_RESTART) {
		abort();
	}
}

static void check(const struct smpfota_bridge *b, size_t ring_size, uint32_t now)
{
	if (b->r_used > b->r_phys || b->r_phys > ring_size || b->r_head >= ring_size) {
		abort();
	}
	int32_t d = smpfota_bridge_next_deadline(b, now);
	if (d < -1 || d > 100000) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2) {
		return 0;
	}
	memset(&F, 0, sizeof(F));
	F.busy_mode = data[0] & 3U;
	F.chan_flaky = (data[0] & 4U) != 0;
	F.max_frame = (uint16_t)(data[1] / 4U + 1U);
	size_t ring_size = SMPFOTA_BRIDGE_RING_MIN(F.max_frame);
	size_t tx_size = SMPFOTA_BRIDGE_HDR_SIZE + F.max_frame;
	if (tx_size < SMPFOTA_BRIDGE_HELLO_SIZE) {
		tx_size = SMPFOTA_BRIDGE_HELLO_SIZE;
	}
	uint8_t *ring = malloc(ring_size);
	uint8_t *txb = malloc(tx_size);
	uint8_t frame[256];
	struct smpfota_bridge b;
	struct smpfota_bridge_config cfg = {
		.ops = {.send = fz_send, .ctx = &F},
		.ring = ring,
		.ring_size = ring_size,
		.tx_buf = txb,
		.tx_buf_size = tx_size,
		.max_frame = F.max_frame,
		.first_epoch = 0,
		.rx = fz_rx,
		.event = fz_event,
		.user = &F,
	};
	uint32_t now = 0xfffff000U; /* the clock wraps during the run */
	if (smpfota_bridge_init(&b, &cfg, now) != 0) {
		abort();
	}
	size_t i = 2;
	while (i + 2 <= size) {
		uint8_t tag = data[i];
		size_t len = data[i + 1];
		i += 2;
		if (tag == 0) {
			if (len > size - i) {
				len = size - i;
			}
			if (len > 0 && data[i] == SMPFOTA_BRIDGE_MSG_FRAME && F.n_fed < MAX_FED) {
				F.fed[F.n_fed] = data + i;
				F.fed_len[F.n_fed] = len;
				F.n_fed++;
			}
			smpfota_bridge_input(&b, data + i, len, now);
			i += len;
		} else if (tag == 1) {
			now += (uint32_t)len * 100U;
			F.busy_now = false;
			smpfota_bridge_poll(&b, now);
		} else if (tag == 2) {
			memset(frame, (int)len, len + 1U);
			int rc = smpfota_bridge_send(&b, frame, len + 1U);
			if (rc != 0 && rc != SMPFOTA_ERR_BUSY && rc != SMPFOTA_ERR_MSGSIZE) {
				abort();
			}
		} else {
			smpfota_bridge_post_event(&b, tag & 7U, (uint32_t)len, now);
		}
		check(&b, ring_size, now);
	}
	free(ring);
	free(txb);
	return 0;
}
