/*
 * The event loop: every part says when it next needs to run; virtual time jumps to the
 * earliest, and every part due then runs, in a fixed order (the run is reproducible for a
 * seed). Scheduled faults (resets of either board) are parts too.
 */
#include "sim_priv.h"

#include <string.h>

#include "smpfota/smpfota.h"

static void faults_step(struct world *w)
{
	const struct smpfota_sim_faults *f = &w->c->f;
	if (!w->fault_t_done && f->target_reset_at_us && w->now >= f->target_reset_at_us * US) {
		w->fault_t_done = true;
		sim_log(w, "fault: target reset");
		uint64_t t0 = w->now;
		sim_boot_interrupt(w, t0);
		sim_target_boot(w, true);
		w->now = t0;
	}
	if (!w->fault_m_done && f->master_reset_at_us && w->now >= f->master_reset_at_us * US) {
		w->fault_m_done = true;
		sim_log(w, "fault: master reset");
		w->st->master_resets++;
		struct board *b = &w->m;
		smpfota_client_cancel(&w->cli);
		memset(&w->upd, 0, sizeof(w->upd));
		sim_board_reset(w, b);
		if (sim_is_ble(w)) {
			(void)sim_link_init(w, b);
		} else {
			/* the cores start their link and bridge at the restart */
			b->link_ready = false;
		}
		w->done = true; /* nothing runs until the restart */
		w->m_restart_at = w->now + w->c->t.boot_us * US;
		b->up_at = w->m_restart_at;
	}
}

static uint64_t faults_next(const struct world *w)
{
	const struct smpfota_sim_faults *f = &w->c->f;
	uint64_t n = NEVER;
	if (!w->fault_t_done && f->target_reset_at_us) {
		n = min64(n, f->target_reset_at_us * US);
	}
	if (!w->fault_m_done && f->master_reset_at_us) {
		n = min64(n, f->master_reset_at_us * US);
	}
	return n;
}

void sim_run_loop(struct world *w)
{
	struct board *m = &w->m, *t = &w->t;
	uint64_t limit = w->c->max_virtual_us * US;
	uint64_t last = w->now;
	unsigned same = 0;
	for (;;) {
		if (w->done && w->m_restart_at == NEVER) {
			return;
		}
		w->now = last;
		sim_naive_post_events(w, m);
		sim_naive_post_events(w, t);
		uint64_t n = NEVER;
		n = min64(n, m->radio.t_next);
		n = min64(n, sim_net_next(w, m));
		n = min64(n, sim_net_next(w, t));
		n = min64(n, sim_master_next(w));
		n = min64(n, sim_target_next(w));
		n = min64(n, faults_next(w));
		n = min64(n, sim_rpc_next(m));
		n = min64(n, sim_rpc_next(t));
		if (sim_is_ble(w)) {
			n = min64(n, sim_ble_next(w));
		}
		n = min64(n, sim_attack_next(w));
		if (n < last) {
			n = last;
		}
		if (n == last && ++same > 10000) {
			n = last + US; /* something keeps asking for "now": let time move */
			same = 0;
			w->st->spins++;
		} else if (n != last) {
			same = 0;
		}
		if (n == NEVER || n > limit) {
			w->done = true;
			w->err = SMPFOTA_ERR_TIMEDOUT;
			w->step = (int)w->upd.step;
			w->now = n == NEVER ? last : limit;
			return;
		}
		last = n;
		w->now = n;
		faults_step(w);
		sim_rpc_step(m);
		sim_rpc_step(t);
		w->now = n;
		if (sim_is_ble(w) && sim_ble_next(w) <= n) {
			sim_ble_step(w);
		}
		w->now = n;
		if (m->radio.t_next <= n) {
			sim_ptx_step(&m->radio);
		}
		w->now = n;
		if (!w->c->naive) {
			if (board_up(m, n) && sim_net_next(w, m) <= n) {
				sim_net_step(w, m);
			}
			w->now = n;
			if (board_up(t, n) && t->link_ready && sim_net_next(w, t) <= n) {
				sim_net_step(w, t);
			}
		}
		w->now = n;
		if (sim_master_next(w) <= n) {
			sim_master_step(w);
		}
		w->now = n;
		if (sim_target_next(w) <= n) {
			sim_target_step(w);
		}
		w->now = n;
		if (sim_attack_next(w) <= n) {
			sim_attack_step(w);
		}
		w->now = n;
	}
}
