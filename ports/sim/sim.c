/*
 * Two-board nRF5340 simulator (see sim.h; sim_priv.h says how the parts fit): the public
 * API: defaults, analytic limits, scenario names, and one run (set-up, loop, results).
 */
#include "sim_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smpfota/smpfota.h"

uint64_t sim_splitmix(uint64_t *state)
{
	/* splitmix64: good enough, and the same everywhere */
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

bool sim_chance_of(uint64_t *state, double p)
{
	if (p <= 0) {
		return false;
	}
	return (double)(sim_splitmix(state) >> 11) * (1.0 / 9007199254740992.0) < p;
}

uint64_t sim_rnd(struct world *w)
{
	return sim_splitmix(&w->rng);
}

bool sim_chance(struct world *w, double p)
{
	return sim_chance_of(&w->rng, p);
}

void sim_vlog(const struct smpfota_sim_config *c, uint64_t now_ns, const char *fmt, va_list ap)
{
	if (c->log == NULL) {
		return;
	}
	char line[200];
	vsnprintf(line, sizeof(line), fmt, ap);
	c->log(c->user, now_ns / US, line);
}

void sim_log(struct world *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sim_vlog(w->c, w->now, fmt, ap);
	va_end(ap);
}

double smpfota_sim_radio_limit_kBps(const struct smpfota_sim_config *c)
{
	const struct smpfota_sim_timing *t = &c->t;
	if (c->link == SMPFOTA_SIM_LINK_BLE) {
		return sim_ble_radio_limit_kBps(c);
	}
	/* T = ramp_TX + t_pkt + tTXDIS + ramp_RX + t_ACK + t_sw (spec §2.3) */
	double T = (double)t->ramp_us + (double)sim_air_ns(t, t->max_payload) / 1000.0 +
		   t->txdis_us + t->ramp_us + (double)sim_air_ns(t, 0) / 1000.0 + t->t_sw_us;
	return t->max_payload / T * 1000.0; /* B/µs -> kB/s */
}

double smpfota_sim_flash_limit_kBps(const struct smpfota_sim_config *c)
{
	const struct smpfota_sim_timing *t = &c->t;
	switch (c->scenario) {
	case SMPFOTA_SIM_RADIO: /* QSPI program only: 256 B per page program */
		return 256.0 / t->qspi_prog_us * 1000.0;
	case SMPFOTA_SIM_QSPI: /* 64 KB block erase + 256 page programs */
		return (double)SIM_QSPI_BLOCK /
		       (t->qspi_block_erase_us + SIM_QSPI_BLOCK / 256.0 * t->qspi_prog_us) * 1000.0;
	case SMPFOTA_SIM_INTERNAL: /* page erase + 1024 word writes */
	default:
		return 4096.0 / (t->page_erase_us + 1024.0 * t->word_write_us) * 1000.0;
	}
}

double smpfota_sim_limit_kBps(const struct smpfota_sim_config *c)
{
	double r = smpfota_sim_radio_limit_kBps(c), f = smpfota_sim_flash_limit_kBps(c);
	return r < f ? r : f;
}

double smpfota_sim_buffer_ceiling_kBps(const struct smpfota_sim_config *c)
{
	double lim = smpfota_sim_limit_kBps(c);
	if (c->link != SMPFOTA_SIM_LINK_BLE || c->scenario != SMPFOTA_SIM_QSPI) {
		return lim;
	}
	/* docs/ble.md, "The QSPI scenario's ceiling": while the chunk that started a block's
	 * erase is handled it holds two of the target's buf_count SMP buffers, so buf_count - 1
	 * chunks are in the target when the erase ends; its answer is acknowledged one
	 * connection interval after it is sent at the earliest (the central has nothing left to
	 * send, so the event closes), and only then does the target take its next request and
	 * the link the next chunk: the rest of the block crosses the link (or is programmed,
	 * whichever is slower) after that. kB/s = B/ms. */
	const struct smpfota_sim_timing *t = &c->t;
	double held = (double)(c->buf_count - 1U) * sim_ble_frame_size(c);
	double rest = held < SIM_QSPI_BLOCK ? SIM_QSPI_BLOCK - held : 0.0;
	double prog = 256.0 / t->qspi_prog_us * 1000.0, r = smpfota_sim_radio_limit_kBps(c);
	double ms = t->qspi_block_erase_us / 1000.0 + c->ble.interval_us / 1000.0 +
		    rest / (r < prog ? r : prog);
	double ceil = SIM_QSPI_BLOCK / ms;
	return ceil < lim ? ceil : lim;
}

const char *smpfota_sim_scenario_name(enum smpfota_sim_scenario s)
{
	switch (s) {
	case SMPFOTA_SIM_RADIO:
		return "radio";
	case SMPFOTA_SIM_INTERNAL:
		return "internal";
	case SMPFOTA_SIM_QSPI:
		return "qspi";
	}
	return "?";
}

int smpfota_sim_scenario_parse(const char *name)
{
	for (int s = SMPFOTA_SIM_RADIO; s <= SMPFOTA_SIM_QSPI; s++) {
		if (strcmp(name, smpfota_sim_scenario_name((enum smpfota_sim_scenario)s)) == 0) {
			return s;
		}
	}
	return -1;
}

void smpfota_sim_defaults(struct smpfota_sim_config *c, enum smpfota_sim_scenario s)
{
	memset(c, 0, sizeof(*c));
	c->scenario = s;
	c->t = (struct smpfota_sim_timing){
		.bitrate_kbps = 2000,
		.preamble = 2,
		.address = 5,
		.crc = 2,
		.max_payload = 252,
		.ramp_us = 40,
		.txdis_us = 4,
		.ack_timeout_us = 160,
		.retransmit_delay_us = 600,
		.retransmit_count = 3,
		.t_sw_us = 20,
		.ipc_ring = 32768,
		.ipc_msg_us = 50,
		.ipc_ns_per_byte = 10,
		.cpu_msg_us = 100,
		.aead_us = 20,
		.aead_ns_per_byte = 40,
		.boot_us = 300000,
		.reset_delay_us = 250000,
		.page_erase_us = 87500,
		.word_write_us = 43,
		.qspi_erase_us = 48000,
		.qspi_block_erase_us = 480000,
		.qspi_prog_us = 896,
		.qspi_read_kBps = 4000,
	};
	smpfota_sim_ble_defaults(c);
	c->seed = 1;
	c->buf_size = 2475;
	c->buf_count = 4;
	c->slot_size = 0x74000;
	c->max_virtual_us = 600ULL * 1000000ULL;
}

void smpfota_sim_ble_defaults(struct smpfota_sim_config *c)
{
	c->ble = (struct smpfota_sim_ble){
		.interval_us = 7500,
		.ce_len_us = 0,
		.phy = 2,
		.dle = 251,
		.att_mtu = 247,
		.tx_bufs = 10,
		.trickle_piece = 8,
		.sup_timeout_us = 4000000,
		.connect_us = 300000,
	};
}

static int check_config(const struct smpfota_sim_config *c)
{
	if (c->link == SMPFOTA_SIM_LINK_BLE && sim_ble_check(c) != 0) {
		return SMPFOTA_ERR_INVAL;
	}
	const struct smpfota_sim_timing *t = &c->t;
	if (t->bitrate_kbps == 0 || t->max_payload < SMPFOTA_ESB_MIN_PAYLOAD ||
	    t->max_payload > SMPFOTA_ESB_MAX_PAYLOAD || t->qspi_read_kBps == 0 ||
	    c->buf_size < 128 || c->buf_size > FRAME_MAX || c->buf_count < 1 ||
	    c->slot_size < 8 * PAGE || c->slot_size % PAGE || t->ipc_ring < 2 * FRAME_MAX ||
	    c->f.loss < 0 || c->f.loss >= 1 || c->f.ack_loss < 0 || c->f.ack_loss >= 1 ||
	    c->f.ber < 0 || c->f.ber >= 0.01 || c->f.replay < 0 || c->f.replay > 1) {
		return SMPFOTA_ERR_INVAL;
	}
	return 0;
}

int smpfota_sim_run(const struct smpfota_sim_config *c, const uint8_t *image, size_t len,
		    struct smpfota_sim_result *r)
{
	memset(r, 0, sizeof(*r));
	int rc = check_config(c);
	if (rc != 0) {
		return rc;
	}
	struct world *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return SMPFOTA_ERR_NOMEM;
	}
	w->c = c;
	w->st = &r->stats;
	w->rng = c->seed * 0x2545f4914f6cdd1dULL + 1;
	w->image = image;
	w->len = len;
	w->m.w = w;
	w->m.master = true;
	w->t.w = w;
	w->t.master = false;
	w->m_restart_at = NEVER;
	w->t_reset_at = NEVER;
	w->cli_buf_size = (SMPFOTA_CLIENT_MAX_INFLIGHT + 1) * (size_t)FRAME_MAX;
	w->cli_buf = malloc(w->cli_buf_size);
	struct board *bs[2] = {&w->m, &w->t};
	for (int i = 0; i < 2; i++) {
		bs[i]->a2n.q = calloc(IPC_MAXQ, sizeof(struct ipc_msg));
		bs[i]->n2a.q = calloc(IPC_MAXQ, sizeof(struct ipc_msg));
		bs[i]->a2n.cap = bs[i]->n2a.cap = c->t.ipc_ring;
		sim_radio_init(&bs[i]->radio, w, bs[i]);
	}
	if (c->link == SMPFOTA_SIM_LINK_BLE) {
		w->ble = calloc(1, sizeof(*w->ble));
	}
	rc = sim_sec_init(w);
	if (rc != 0) {
		goto out;
	}
	if (w->cli_buf == NULL || !w->m.a2n.q || !w->m.n2a.q || !w->t.a2n.q || !w->t.n2a.q ||
	    (c->link == SMPFOTA_SIM_LINK_BLE && w->ble == NULL)) {
		rc = SMPFOTA_ERR_NOMEM;
		goto out;
	}

	/* The master checks its image as a device would before offering it. */
	w->src = (struct smpfota_upload_source){
		.read = sim_src_read, .ctx = w, .size = (uint32_t)len};
	rc = smpfota_update_check_image(&w->src, &w->info);
	if (rc != 0) {
		goto out;
	}
	const struct smpfota_image_version *v = &w->info.hdr.version;
	w->force = v->major == 0 && v->minor == 0 && v->revision == 0 && v->build == 0;

	rc = sim_target_setup(w);
	if (rc != 0) {
		goto out;
	}
	w->boot.cap = 65536;
	w->boot.op_end = malloc(w->boot.cap * sizeof(uint64_t));
	w->boot.app_snap = malloc(w->app_nor.flash.size);
	w->boot.qspi_snap = w->qspi_mem ? malloc(w->qspi_nor.flash.size) : NULL;
	if (!w->boot.op_end || !w->boot.app_snap || (w->qspi_mem && !w->boot.qspi_snap)) {
		rc = SMPFOTA_ERR_NOMEM;
		goto out;
	}
	w->charging = true;
	w->counting = true;
	w->cut_at = c->f.target_cut_at_op;
	sim_arm_cut(w);
	w->now = 0;
	sim_target_boot(w, false);
	w->st->target_resets = 0;
	/* Both boards power up at 0; the master's MCUboot and start-up take boot_us too. */
	w->now = w->c->t.boot_us * US;
	w->m.up_at = w->m.app_free = w->now;
	(void)sim_link_init(w, &w->m);
	/* Over BLE the update starts once connected (ble.c); over ESB at once. */
	rc = sim_is_ble(w) ? 0 : sim_master_start(w);
	if (rc != 0) {
		goto out;
	}
	sim_run_loop(w);

	r->err = w->err;
	r->step = w->step;
	r->virtual_us = w->now / US;
	r->image_bytes = (uint32_t)len;
	r->limit_kBps = smpfota_sim_limit_kBps(c);
	if (w->upload_end > w->upload_start && w->upload_start > 0) {
		r->upload_us = (w->upload_end - w->upload_start) / US;
		r->goodput_kBps = (double)len / (double)r->upload_us * 1000.0;
	} else if (w->upload_start > 0) {
		/* stopped during the upload: its time until the end of the run, no goodput */
		r->upload_us = (w->now - w->upload_start) / US;
	}
	/* What the target holds now. */
	w->charging = false;
	uint8_t buf[256];
	r->byte_exact = true;
	for (size_t off = 0; off < len && r->byte_exact; off += sizeof(buf)) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		if (smpfota_flash_area_read(&w->tgt.images[0].primary, (uint32_t)off, buf, n) !=
			    0 ||
		    memcmp(buf, image + off, n) != 0) {
			r->byte_exact = false;
		}
	}
	struct smpfota_boot_trailer tr;
	r->confirmed = smpfota_boot_read_trailer(&w->tgt.images[0].primary, &tr) == 0 &&
		       ((tr.magic == SMPFOTA_BOOT_MAGIC_GOOD &&
			 tr.image_ok == SMPFOTA_BOOT_FLAG_SET) ||
			tr.magic == SMPFOTA_BOOT_MAGIC_UNSET);
	struct smpfota_image_info pi;
	bool valid = smpfota_boot_slot_image(&w->tgt.images[0].primary, &pi) == 0 && pi.hash_valid;
	r->target_runs = !valid                                                   ? "invalid"
			 : r->byte_exact                                          ? "new"
			 : memcmp(pi.hash, w->old_hash, sizeof(w->old_hash)) == 0 ? "old"
										  : "invalid";
	r->ok = w->err == 0 && r->byte_exact && r->confirmed;
	sim_link_stats(w, &w->m.link);
	sim_link_stats(w, &w->t.link);
	for (int i = 0; i < 2; i++) {
		r->stats.withheld += bs[i]->radio.esb.stats.withheld;
		r->stats.replays += bs[i]->radio.esb.stats.stale;
	}
	r->stats.upload_bytes_written += w->tgt.srv.stats.bytes_written;
	sim_sec_results(w, r);
	rc = 0;
out:
	for (int i = 0; i < 2; i++) {
		free(bs[i]->a2n.q);
		free(bs[i]->n2a.q);
	}
	free(w->cli_buf);
	free(w->app_mem);
	free(w->qspi_mem);
	free(w->boot.op_end);
	free(w->boot.app_snap);
	free(w->boot.qspi_snap);
	free(w->ble);
	sim_sec_free(w);
	free(w);
	return rc;
}
