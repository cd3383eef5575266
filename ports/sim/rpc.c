/*
 * The radio calls the ESB link makes (struct smpfota_esb_radio). In our design the link runs
 * on the net core beside the radio and a call takes effect at once; in the naive baseline the
 * link runs on the app core and each call is an nRF RPC command: the caller blocks for a
 * round trip, and the call takes effect on the net core after the first hop.
 */
#include "sim_priv.h"

#include <string.h>

/* Naive design: each radio call is an nRF RPC command from the app core: the caller blocks
 * for a round trip, and the call takes effect on the net core after the first hop. */
static bool rpc(struct board *b)
{
	return b->w->c->naive && b->w->running == b;
}

static uint64_t rpc_cost(struct board *b, size_t len)
{
	struct world *w = b->w;
	uint64_t hop = w->c->t.ipc_msg_us * US + (uint64_t)len * w->c->t.ipc_ns_per_byte;
	uint64_t at = w->now + hop;
	w->now += 2 * hop;
	w->st->ipc_msgs += 2;
	return at;
}

static void rpc_queue(struct board *b, uint64_t at, int kind, const struct smpfota_esb_payload *p)
{
	struct rpc_op *o = &b->rpcq[(b->rq_head + b->rq_count) % RPCQ];
	o->at = at;
	o->kind = kind;
	if (p != NULL) {
		o->p = *p;
	}
	b->rq_count++;
}

static void apply_write(struct board *b, const struct smpfota_esb_payload *p)
{
	struct radio *r = &b->radio;
	(void)smpfota_emu_esb_write(&r->esb, p); /* the caller made sure it fits */
	if (b->master) {
		sim_ptx_schedule(r);
	}
}

static void apply_start_tx(struct board *b)
{
	struct radio *r = &b->radio;
	if (r->phase == P_STOPPED) {
		r->phase = P_IDLE;
		r->attempts = 0;
		sim_ptx_schedule(r);
	}
}

static void apply_flush_tx(struct board *b)
{
	struct radio *r = &b->radio;
	smpfota_emu_esb_flush_tx(&r->esb);
	r->attempts = 0;
	r->phase = P_IDLE;
	r->t_next = NEVER;
}

/* The net core carries out queued RPC commands (naive design) when they arrive. */
uint64_t sim_rpc_next(const struct board *b)
{
	return b->rq_count ? b->rpcq[b->rq_head].at : NEVER;
}

void sim_rpc_step(struct board *b)
{
	while (b->rq_count && b->rpcq[b->rq_head].at <= b->w->now) {
		struct rpc_op *o = &b->rpcq[b->rq_head];
		b->rq_head = (b->rq_head + 1) % RPCQ;
		b->rq_count--;
		if (o->kind == RPC_WRITE) {
			b->pending_writes--;
			apply_write(b, &o->p);
		} else if (o->kind == RPC_START) {
			apply_start_tx(b);
		} else {
			apply_flush_tx(b);
		}
	}
}

static int op_write(void *ctx, const struct smpfota_esb_payload *p)
{
	struct board *b = ctx;
	if (!rpc(b)) {
		if (b->radio.esb.tx.count == FIFO) {
			return SMPFOTA_ERR_NOMEM;
		}
		apply_write(b, p);
		return 0;
	}
	uint64_t at = rpc_cost(b, p->length);
	if (b->radio.esb.tx.count + b->pending_writes >= FIFO || b->rq_count == RPCQ) {
		return SMPFOTA_ERR_NOMEM;
	}
	b->pending_writes++;
	rpc_queue(b, at, RPC_WRITE, p);
	return 0;
}

static int op_read(void *ctx, struct smpfota_esb_payload *p)
{
	struct board *b = ctx;
	struct radio *r = &b->radio;
	if (rpc(b)) {
		(void)rpc_cost(b, r->esb.rx.count ? r->esb.rx.e[r->esb.rx.head].length : 0);
	}
	return smpfota_emu_esb_read(&r->esb, p);
}

/* A command without data: carried out now, or queued on its way to the net core. */
static int op_command(struct board *b, int kind)
{
	if (rpc(b) && b->rq_count < RPCQ) {
		rpc_queue(b, rpc_cost(b, 0), kind, NULL);
	} else if (kind == RPC_START) {
		apply_start_tx(b);
	} else {
		apply_flush_tx(b);
	}
	return 0;
}

static int op_start_tx(void *ctx)
{
	return op_command(ctx, RPC_START);
}

static int op_flush_tx(void *ctx)
{
	return op_command(ctx, RPC_FLUSH);
}

static bool op_is_idle(void *ctx)
{
	struct board *b = ctx;
	struct radio *r = &b->radio;
	if (rpc(b)) {
		(void)rpc_cost(b, 0);
	}
	return r->esb.tx.count == 0 && b->pending_writes == 0 &&
	       (r->phase == P_IDLE || r->phase == P_STOPPED);
}

struct smpfota_esb_radio sim_radio_ops(struct board *b)
{
	return (struct smpfota_esb_radio){.write_payload = op_write,
					  .read_rx_payload = op_read,
					  .start_tx = op_start_tx,
					  .flush_tx = op_flush_tx,
					  .is_idle = op_is_idle,
					  .ctx = b,
					  .max_payload = b->w->c->t.max_payload};
}
