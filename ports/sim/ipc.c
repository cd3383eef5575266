/*
 * One ICMsg direction (spec §4): a ring of `cap` bytes; a message holds its room (length
 * rounded to 4, plus a header) until the receiver takes it, and becomes visible after a
 * per-message and per-byte delay. A full ring refuses the send (credits).
 */
#include "sim_priv.h"

#include <string.h>

#include "smpfota/smpfota.h"

static uint32_t ipc_room(unsigned len)
{
	return ((len + 3U) & ~3U) + IPC_HDR;
}

int sim_ipc_send(struct world *w, struct ipc *q, const uint8_t *p, size_t len)
{
	if (len > IPC_MSG_MAX || q->count == IPC_MAXQ ||
	    q->used + ipc_room((unsigned)len) > q->cap) {
		w->st->ipc_full++;
		return SMPFOTA_ERR_BUSY;
	}
	struct ipc_msg *m = &q->q[(q->head + q->count) % IPC_MAXQ];
	uint64_t ready = w->now + w->c->t.ipc_msg_us * US + (uint64_t)len * w->c->t.ipc_ns_per_byte;
	if (ready < q->last_ready) {
		ready = q->last_ready; /* a ring delivers in order */
	}
	q->last_ready = ready;
	m->ready = ready;
	m->len = (uint16_t)len;
	memcpy(m->data, p, len);
	q->count++;
	q->used += ipc_room((unsigned)len);
	w->st->ipc_msgs++;
	return 0;
}

struct ipc_msg *sim_ipc_head(struct ipc *q, uint64_t now)
{
	if (q->count == 0 || q->q[q->head].ready > now) {
		return NULL;
	}
	return &q->q[q->head];
}

uint64_t sim_ipc_next(const struct ipc *q)
{
	return q->count ? q->q[q->head].ready : NEVER;
}

void sim_ipc_pop(struct ipc *q)
{
	q->used -= ipc_room(q->q[q->head].len);
	q->head = (q->head + 1) % IPC_MAXQ;
	q->count--;
}

void sim_ipc_clear(struct ipc *q)
{
	q->head = q->count = 0;
	q->used = 0;
	q->last_ready = 0;
}
