/*
 * Fuzz the ESB link's receiver: arbitrary payload sequences read from a fake radio.
 *
 * Input: byte 0 = options: bit 0 252-byte payloads (else 32), bit 1 the link is a PTX (ACK
 * payloads) instead of a PRX, bit 2 the rx callback answers "busy" on every other offer
 * (flow control: frames wait in the link); byte 1 = reassembly capacity / 8 - 1; then
 * payloads as [length byte][bytes], length taken modulo (max payload + 1). The reassembly
 * buffer is malloc'ed at exactly the capacity, so ASan sees any overrun.
 *
 * Properties: no crash; a delivered frame is 1..capacity bytes; and it was completely
 * received: among the payloads fed so far there is, in feed order (other payloads may come
 * between: duplicates, stray fragments of other frames, junk), a chain of fragments of one
 * frame id with consecutive indexes, FIRST (index 0, total length = the frame's) to LAST,
 * whose data concatenate to exactly the frame.
 */
#include <stdlib.h>
#include <string.h>

#include "smpfota/esb_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FED 2048

struct fz {
	struct smpfota_esb_payload fed[MAX_FED];
	size_t n_fed;
	bool have_in; /* fed[n_fed - 1] not yet read by the link */
	size_t cap;
	bool busy_mode;
	unsigned offers;
};

static struct fz F;

static int fz_write(void *ctx, const struct smpfota_esb_payload *p)
{
	(void)ctx;
	(void)p;
	return SMPFOTA_ERR_NOMEM;
}

static int fz_read(void *ctx, struct smpfota_esb_payload *p)
{
	struct fz *f = ctx;
	if (!f->have_in) {
		return 0;
	}
	f->have_in = false;
	*p = f->fed[f->n_fed - 1];
	return p->length;
}

static int fz_ok(void *ctx)
{
	(void)ctx;
	return 0;
}

static bool fz_idle(void *ctx)
{
	(void)ctx;
	return true;
}

/* Payload j as a data fragment of frame id `id` with index `idx` and the given LAST flag whose
 * data equal frame[end - n .. end); returns n (0: no match). */
static size_t frag_matches(const struct smpfota_esb_payload *p, uint8_t id, uint8_t idx, bool last,
			   const uint8_t *frame, size_t end, size_t total)
{
	size_t hdr;
	if (p->length <= SMPFOTA_ESB_HDR_SIZE) {
		return 0;
	}
	uint8_t b0 = p->data[0];
	if ((b0 & SMPFOTA_ESB_FLAG_RESERVED) || (b0 & SMPFOTA_ESB_ID_MASK) != id ||
	    p->data[1] != idx || ((b0 & SMPFOTA_ESB_FLAG_LAST) != 0) != last) {
		return 0;
	}
	hdr = SMPFOTA_ESB_HDR_SIZE;
	if (b0 & SMPFOTA_ESB_FLAG_FIRST) {
		hdr = SMPFOTA_ESB_FIRST_HDR_SIZE;
		if (p->length <= hdr || idx != 0 ||
		    (size_t)((p->data[2] << 8) | p->data[3]) != total) {
			return 0;
		}
	}
	size_t n = p->length - hdr;
	if (n > end || memcmp(p->data + hdr, frame + end - n, n) != 0) {
		return 0;
	}
	if (((b0 & SMPFOTA_ESB_FLAG_FIRST) != 0) != (n == end)) {
		return 0; /* the first fragment starts the frame, no other one does */
	}
	if (idx == 0 && !(b0 & SMPFOTA_ESB_FLAG_FIRST)) {
		return 0; /* capacity <= 2048: no frame here has 256 fragments, index 0 is FIRST */
	}
	return n;
}

/* Search budget per delivered frame: the search backtracks (payloads may repeat a
 * fragment's header with other data), so it is bounded; running out is inconclusive. */
static long budget;

/* Is there, among fed[0 .. j), a chain of fragments of frame `id` with indexes idx, idx - 1,
 * ... down to the FIRST one, in feed order, whose data make frame[0 .. end)? */
static bool chain(const struct fz *f, size_t j, uint8_t id, uint8_t idx, const uint8_t *frame,
		  size_t end, size_t total)
{
	while (j > 0) {
		j--;
		if (--budget < 0) {
			return true;
		}
		const struct smpfota_esb_payload *p = &f->fed[j];
		size_t n = frag_matches(p, id, idx, false, frame, end, total);
		if (n == 0) {
			continue;
		}
		if (p->data[0] & SMPFOTA_ESB_FLAG_FIRST) {
			return true; /* frag_matches checked that it starts the frame */
		}
		if (chain(f, j, id, (uint8_t)(idx - 1U), frame, end - n, total)) {
			return true;
		}
	}
	return false;
}

static int fz_rx(void *user, const uint8_t *frame, size_t len)
{
	struct fz *f = user;
	if (len == 0 || len > f->cap) {
		abort();
	}
	/* some LAST fragment, newest first, with a complete chain behind it */
	bool found = false;
	budget = 1000000;
	for (size_t j = f->n_fed; j > 0 && !found;) {
		j--;
		const struct smpfota_esb_payload *p = &f->fed[j];
		if (p->length <= SMPFOTA_ESB_HDR_SIZE || !(p->data[0] & SMPFOTA_ESB_FLAG_LAST)) {
			continue;
		}
		uint8_t id = p->data[0] & SMPFOTA_ESB_ID_MASK, idx = p->data[1];
		size_t n = frag_matches(p, id, idx, true, frame, len, len);
		if (n != 0) {
			found = (p->data[0] & SMPFOTA_ESB_FLAG_FIRST) ||
				chain(f, j, id, (uint8_t)(idx - 1U), frame, len - n, len);
		}
	}
	if (!found) {
		abort();
	}
	if (f->busy_mode && (f->offers++ & 1U) == 0) {
		return SMPFOTA_ERR_BUSY;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smpfota_esb_link link;
	static uint8_t txq[64];
	if (size < 2) {
		return 0;
	}
	uint8_t mp = (data[0] & 1U) ? 252 : 32;
	bool ptx = (data[0] & 2U) != 0;
	memset(&F, 0, sizeof(F));
	F.busy_mode = (data[0] & 4U) != 0;
	F.cap = ((size_t)data[1] + 1U) * 8U;
	uint8_t *buf = malloc(F.cap);
	struct smpfota_esb_link_config cfg = {
		.role = ptx ? SMPFOTA_ESB_PTX : SMPFOTA_ESB_PRX,
		.radio = {fz_write, fz_read, fz_ok, fz_ok, fz_idle, &F, mp},
		.txq = txq,
		.txq_size = sizeof(txq),
		.rx_buf = buf,
		.rx_size = F.cap,
		.rx = fz_rx,
		.user = &F};
	if (smpfota_esb_link_init(&link, &cfg, 0) != 0) {
		abort();
	}
	size_t off = 2;
	uint32_t now = 0;
	while (off < size && F.n_fed < MAX_FED) {
		size_t n = data[off++] % (mp + 1U);
		if (n > size - off) {
			n = size - off;
		}
		struct smpfota_esb_payload *p = &F.fed[F.n_fed];
		memset(p, 0, sizeof(*p));
		p->length = (uint8_t)n;
		memcpy(p->data, data + off, n);
		off += n;
		if (link.rx_stalled) {
			/* a waiting frame blocks the FIFO: offer it again first */
			smpfota_esb_link_poll(&link, now += 100);
		}
		if (link.rx_stalled) {
			smpfota_esb_link_poll(&link, now += 100);
		}
		F.n_fed++;
		F.have_in = true;
		smpfota_esb_link_on_event(&link, SMPFOTA_ESB_EVT_RX_RECEIVED, now += 100);
		if (F.have_in) {
			abort(); /* the link did not read a payload it had room for */
		}
	}
	free(buf);
	return 0;
}
