/*
 * The target's flash parts (nor.h on_op hook): the time each operation takes on the app
 * core's NVMC or on the QSPI MX25R64 (spec §3), charged to the core that issued it; the
 * global operation count behind "power cut at operation N"; and the replay of an MCUboot run
 * that a reset interrupted.
 */
#include "sim_priv.h"

#include <string.h>

/* Point each device's power_cut_at_op at the global operation w->cut_at. */
void sim_arm_cut(struct world *w)
{
	struct smpfota_nor *devs[2] = {&w->app_nor, w->qspi_mem ? &w->qspi_nor : NULL};
	for (int i = 0; i < 2; i++) {
		if (devs[i] != NULL) {
			devs[i]->power_cut_at_op = w->cut_at > w->g_ops
							   ? devs[i]->ops + (w->cut_at - w->g_ops)
							   : 0;
		}
	}
}

static void count_op(struct world *w)
{
	if (!w->counting) {
		return;
	}
	w->g_ops++;
	if (w->boot.recording) {
		if (w->boot.n < w->boot.cap) {
			w->boot.op_end[w->boot.n++] = w->now;
		} else {
			w->boot.recording =
				false; /* too long to replay: resets won't interrupt it */
		}
	}
	if (w->cut_at != 0 && w->g_ops >= w->cut_at) {
		w->cut_at = 0; /* fired (the hook runs after the cut operation) */
	}
	sim_arm_cut(w);
}

void sim_on_flash_op(void *ctx, int kind, uint32_t off, size_t len)
{
	struct flash_dev *d = ctx;
	struct world *w = d->w;
	const struct smpfota_sim_timing *t = &w->c->t;
	if (!w->charging) {
		if (kind != SMPFOTA_NOR_OP_READ) {
			count_op(w);
		}
		return;
	}
	uint64_t ns = 0;
	switch (kind) {
	case SMPFOTA_NOR_OP_READ:
		/* app-core flash is memory mapped (no stall worth modelling); QSPI at bus speed */
		ns = d->qspi ? (uint64_t)len * 1000000ULL / t->qspi_read_kBps : 0;
		break;
	case SMPFOTA_NOR_OP_WRITE:
		w->st->flash_writes++;
		ns = d->qspi ? (uint64_t)len * t->qspi_prog_us * US / 256U
			     : (uint64_t)((len + 3) / 4) * t->word_write_us * US;
		break;
	case SMPFOTA_NOR_OP_ERASE:
		w->st->flash_erases++;
		if (d->qspi) {
			/* a driver uses a 64 KB block erase for each aligned block of the range */
			uint32_t first = (off + SIM_QSPI_BLOCK - 1) / SIM_QSPI_BLOCK *
					 SIM_QSPI_BLOCK;
			uint64_t end = (uint64_t)off + len;
			uint64_t blocks = first < end ? (end - first) / SIM_QSPI_BLOCK : 0;
			uint64_t sectors = (len - blocks * SIM_QSPI_BLOCK + PAGE - 1) / PAGE;
			ns = (blocks * t->qspi_block_erase_us + sectors * t->qspi_erase_us) * US;
		} else {
			ns = (uint64_t)((len + PAGE - 1) / PAGE) * t->page_erase_us * US;
		}
		break;
	default:
		break;
	}
	w->now += ns;
	if (kind != SMPFOTA_NOR_OP_READ) {
		count_op(w);
	}
}

bool sim_powered_off(const struct world *w)
{
	return smpfota_emu_target_power_cut(&w->tgt);
}

/* Remember the flash before an MCUboot run, so that a reset while it runs can be replayed
 * as an interruption at the operation then in progress. */
void sim_boot_snapshot(struct world *w)
{
	uint32_t app_size = w->app_nor.flash.size;
	memcpy(w->boot.app_snap, w->app_mem, app_size);
	w->boot.app_nor = w->app_nor;
	if (w->qspi_mem != NULL) {
		memcpy(w->boot.qspi_snap, w->qspi_mem, w->qspi_nor.flash.size);
		w->boot.qspi_nor = w->qspi_nor;
	}
	w->boot.g0 = w->g_ops;
	w->boot.n = 0;
	w->boot.start = w->now;
	w->boot.recording = true;
	w->boot.valid = false;
}

/* A reset at time t while MCUboot was still running (it ran to the end eagerly): put the
 * flash back as it was at t, with the operation in progress cut, as on a real part. */
void sim_boot_interrupt(struct world *w, uint64_t t)
{
	if (!w->boot.valid || t >= w->boot.end) {
		return;
	}
	uint32_t k = 0;
	while (k < w->boot.n && w->boot.op_end[k] <= t) {
		k++;
	}
	memcpy(w->app_mem, w->boot.app_snap, w->app_nor.flash.size);
	w->app_nor = w->boot.app_nor;
	if (w->qspi_mem != NULL) {
		memcpy(w->qspi_mem, w->boot.qspi_snap, w->qspi_nor.flash.size);
		w->qspi_nor = w->boot.qspi_nor;
	}
	w->g_ops = w->boot.g0;
	w->boot.valid = false;
	if (k == 0 && t < w->boot.start) {
		return; /* reset before MCUboot touched the flash */
	}
	/* replay the first k operations without time, cutting operation k + 1 */
	uint32_t saved = w->cut_at;
	w->cut_at = w->g_ops + k + 1;
	sim_arm_cut(w);
	bool charging = w->charging;
	w->charging = false;
	(void)smpfota_emu_target_boot(&w->tgt);
	w->charging = charging;
	smpfota_emu_target_power_on(&w->tgt);
	w->cut_at = saved > w->g_ops ? saved : 0;
	sim_arm_cut(w);
	sim_log(w, "target reset interrupted MCUboot at flash operation %u of %u", k + 1,
		w->boot.n);
}
