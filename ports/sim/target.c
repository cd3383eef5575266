/*
 * The target's application core: flash set-up with the image it runs before the update, the
 * SMP server, MCUboot (the boot model) at every reset, frames to and from the net core.
 */
#include "sim_priv.h"

#include <stdlib.h>
#include <string.h>

#include "emu/image.h"
#include "smpfota/smpfota.h"

/* Hand a response to the link (naive) or the net core (bridge); keep it when there is no
 * room. */
void sim_target_emit(struct world *w, const uint8_t *p, size_t len)
{
	int rc = sim_is_ble(w) ? sim_ble_target_send(w, p, len)
		 : w->c->naive ? smpfota_esb_link_send(&w->t.link, p, len)
			       : smpfota_bridge_send(&w->t.app_br, p, len);
	if (rc == SMPFOTA_ERR_BUSY) {
		memcpy(w->t.pend, p, len);
		w->t.pend_len = (uint16_t)len;
	}
}

void sim_target_handle(struct world *w, const uint8_t *frame, size_t len)
{
	w->now += w->c->t.cpu_msg_us * US;
	if (w->sec) {
		sim_sec_target_rx(w, frame, len); /* authentic requests reach sim_target_serve() */
	} else {
		sim_target_serve(w, frame, len);
	}
}

/* A request for the server; its answer to the link (or the channel's sealing first). */
void sim_target_serve(struct world *w, const uint8_t *frame, size_t len)
{
	int n = smpfota_server_handle(&w->tgt.srv, frame, len, w->t.scratch, sizeof(w->t.scratch));
	if (w->app_nor.power_cut || w->qspi_nor.power_cut) {
		return; /* the device is dead; the main loop restarts it */
	}
	if (n > 0 && w->sec) {
		sim_sec_target_send(w, w->t.scratch, (size_t)n);
	} else if (n > 0) {
		sim_target_emit(w, w->t.scratch, (size_t)n);
	}
	if (smpfota_server_reset_pending(&w->tgt.srv) && w->t_reset_at == NEVER) {
		w->t_reset_at = w->now + w->c->t.reset_delay_us * US;
		w->t_reset_warm = true;
	}
}

int sim_target_link_rx(void *user, const uint8_t *frame, size_t len)
{
	struct world *w = user;
	w->st->frames_to_target++;
	if (!w->c->naive) {
		int rc = smpfota_bridge_send(&w->t.net_br, frame, len);
		if (rc == SMPFOTA_ERR_BUSY) {
			w->st->frames_to_target--; /* offered again */
		}
		return rc == SMPFOTA_ERR_BUSY ? rc : 0;
	}
	if (sim_target_app_rx(user, frame, len) != 0) {
		w->st->frames_to_target--;
		return SMPFOTA_ERR_BUSY;
	}
	return 0;
}

/* A request reaches the server, unless the last answer still waits for room: then it waits
 * too (in the bridge, holding its credit, or in the naive link). */
int sim_target_app_rx(void *user, const uint8_t *frame, size_t len)
{
	struct world *w = user;
	if (w->t.pend_len) {
		return SMPFOTA_ERR_BUSY;
	}
	sim_target_handle(w, frame, len);
	return 0;
}

/* The app core could take a frame now (the attacker's, secure.c): up, not resetting, no
 * answer waiting for room. */
bool sim_target_can_take(struct world *w)
{
	return board_up(&w->t, w->now) && w->t_reset_at == NEVER && w->t.pend_len == 0 &&
	       !sim_powered_off(w);
}

/* Reset the target: warm (retained RAM keeps the server's upload state) or after a power
 * cut (RAM lost). MCUboot runs on the app core, then the net core starts. */
void sim_target_boot(struct world *w, bool warm)
{
	if (w->sec) {
		sim_sec_target_boot(w); /* RAM: the session is gone */
	}

	struct board *b = &w->t;
	w->st->target_resets++;
	struct smpfota_server *srv = &w->tgt.srv;
	w->st->upload_bytes_written += srv->stats.bytes_written;
	srv->stats.bytes_written = 0;
	sim_board_reset(w, b);
	b->link_ready = false;
	w->t_reset_at = NEVER;
	for (int tries = 0;; tries++) {
		if (sim_powered_off(w)) {
			w->st->power_cuts++;
			smpfota_emu_target_power_on(&w->tgt);
			w->now += 100 * MS; /* power comes back */
			warm = false;
		}
		w->now += w->c->t.boot_us * US;
		sim_boot_snapshot(w);
		int rc = smpfota_emu_target_boot(&w->tgt);
		const struct smpfota_boot_result *res = &w->tgt.boot;
		w->boot.recording = false;
		w->boot.end = w->now;
		w->boot.valid = rc == 0 && w->boot.n < w->boot.cap;
		if (rc == 0 || tries > 3) {
			sim_log(w, "target boot: swap %s, %s",
				smpfota_boot_swap_type_name(res->image[0].swap_type),
				res->image[0].bootable ? "running" : "NOT BOOTABLE");
			break;
		}
	}
	(void)smpfota_emu_target_start(&w->tgt, warm); /* cold: RAM lost */
	srv->stats.bytes_written = 0;                  /* counted in st->upload_bytes_written */
	b->app_free = w->now;
	b->up_at = w->now;
	(void)sim_link_init(w, b);
}

/* The image the target runs before the update: version 0.0.0+0, the same size as the new
 * one, a body from the run's generator, a SHA-256 TLV as imgtool writes it without a key. */
static int write_old_image(struct world *w, uint32_t len)
{
	struct smpfota_emu_image_spec s = {.hdr_size = 32, .hash_only = true};
	uint32_t overhead = (uint32_t)smpfota_emu_image_size(&s);
	if (len < overhead + 4) {
		len = overhead + 4;
	}
	s.body_size = len - overhead;
	uint8_t *body = malloc(s.body_size);
	uint8_t *img = malloc(len);
	int rc = body && img ? 0 : SMPFOTA_ERR_NOMEM;
	if (rc == 0) {
		for (uint32_t i = 0; i < s.body_size; i++) {
			body[i] = (uint8_t)sim_rnd(w);
		}
		s.body = body;
		rc = smpfota_emu_image_build(img, len, &s, w->old_hash) == len ? 0
									       : SMPFOTA_ERR_INVAL;
	}
	if (rc == 0) {
		rc = smpfota_emu_target_provision(&w->tgt, 0, img, len);
	}
	free(body);
	free(img);
	if (rc == 0) {
		rc = smpfota_boot_set_confirmed(&w->tgt.images[0].primary);
	}
	return rc;
}

/* A blank flash part whose operations take the time flash.c charges. */
static int flash_part(struct world *w, struct smpfota_nor *nor, struct flash_dev *dev, uint8_t *mem,
		      uint32_t size, bool qspi)
{
	int rc = smpfota_nor_init(nor, mem, size, PAGE, WRITE_SIZE);
	if (rc == 0) {
		smpfota_nor_erase_all(nor);
		*dev = (struct flash_dev){w, qspi};
		nor->flash.block_size = qspi ? SIM_QSPI_BLOCK : 0; /* the MX25R64's 64 KB erase */
		nor->on_op = sim_on_flash_op;
		nor->on_op_ctx = dev;
	}
	return rc;
}

int sim_target_setup(struct world *w)
{
	const struct smpfota_sim_config *c = w->c;
	uint32_t slot = c->slot_size;
	bool internal = c->scenario == SMPFOTA_SIM_INTERNAL;
	uint32_t app_size = slot + PAGE + (internal ? slot : 0);
	w->app_mem = malloc(app_size);
	w->qspi_mem = internal ? NULL : malloc(slot);
	if (w->app_mem == NULL || (!internal && w->qspi_mem == NULL)) {
		return SMPFOTA_ERR_NOMEM;
	}
	int rc = flash_part(w, &w->app_nor, &w->dev_app, w->app_mem, app_size, false);
	smpfota_emu_target_init(&w->tgt);
	if (rc == 0 && internal) {
		rc = smpfota_emu_target_add_image(&w->tgt, &w->app_nor, 0, &w->app_nor, slot + PAGE,
						  slot);
	} else if (rc == 0) {
		rc = flash_part(w, &w->qspi_nor, &w->dev_qspi, w->qspi_mem, slot, true);
		rc = rc ? rc
			: smpfota_emu_target_add_image(&w->tgt, &w->app_nor, 0, &w->qspi_nor, 0,
						       slot);
	}
	if (rc != 0) {
		return rc;
	}
	rc = write_old_image(w, (uint32_t)w->len);
	if (rc != 0) {
		return rc;
	}
	/* A used secondary slot (old data everywhere) must be erased as the upload goes; the
	 * radio scenario's slot was erased beforehand. */
	if (c->scenario != SMPFOTA_SIM_RADIO) {
		uint8_t *mem = internal ? w->app_mem + slot + PAGE : w->qspi_mem;
		for (uint32_t i = 0; i < slot; i++) {
			mem[i] = (uint8_t)(sim_rnd(w) & 0x7f); /* clears bits: not erased */
		}
	}
	struct smpfota_server_config *cfg = &w->tgt.cfg;
	cfg->buf_size = c->buf_size;
	cfg->buf_count = c->buf_count;
	cfg->image_check = true;
	cfg->info = (struct smpfota_server_info){.kernel = "Zephyr",
						 .node = "smpfota-sim-target",
						 .release = SMPFOTA_VERSION_STRING,
						 .machine = "arm",
						 .processor = "cortex-m33",
						 .platform = "nrf5340dk/nrf5340/cpuapp"};
	w->tgt.boot_buf_size = PAGE; /* MCUboot's sector buffer: one page */
	return 0;
}

uint64_t sim_target_next(struct world *w)
{
	struct board *b = &w->t;
	uint64_t n = w->t_reset_at;
	if (!board_up(b, w->now)) {
		return min64(n, b->up_at);
	}
	if (sim_is_ble(w)) {
		n = min64(n, sim_ble_app_next(w, b));
	} else if (b->pend_len) {
		n = min64(n, w->now + 100 * US); /* retry the hand-over */
	} else {
		n = min64(n, sim_app_input_next(w, b));
	}
	return n < b->app_free ? b->app_free : n;
}

/* After a turn of the app core: its busy time, a power cut during it, the clock back. */
static void step_end(struct world *w, struct board *b, uint64_t t0)
{
	w->running = NULL;
	w->st->app_busy_us += (w->now - t0) / US;
	if (sim_powered_off(w)) {
		sim_log(w, "target power cut at flash operation %u", w->c->f.target_cut_at_op);
		sim_target_boot(w, false);
	}
	b->app_free = w->now;
	w->now = t0;
}

void sim_target_step(struct world *w)
{
	struct board *b = &w->t;
	uint64_t t0 = w->now;
	if (w->now < b->app_free) {
		return;
	}
	if (w->t_reset_at <= w->now) {
		sim_log(w, "target resets");
		sim_target_boot(w, w->t_reset_warm);
		w->now = t0;
		return;
	}
	if (!board_up(b, w->now)) {
		return;
	}
	w->running = b;
	if (sim_is_ble(w)) {
		sim_ble_app_step(w, b);
		step_end(w, b, t0);
		return;
	}
	if (b->pend_len) {
		uint16_t n = b->pend_len;
		b->pend_len = 0;
		sim_target_emit(w, b->pend, n);
		if (b->pend_len) {
			w->running = NULL;
			w->now = t0;
			return;
		}
	}
	if (w->c->naive) {
		sim_naive_app_link(w, b);
	} else {
		/* One message per turn: the app core is busy for what the frame costs. */
		smpfota_bridge_poll(&b->app_br, (uint32_t)(w->now / US));
		struct ipc_msg *m = sim_ipc_head(&b->n2a, w->now);
		if (m != NULL && !sim_powered_off(w)) {
			smpfota_bridge_input(&b->app_br, m->data, m->len, (uint32_t)(w->now / US));
			sim_ipc_pop(&b->n2a);
		}
	}
	step_end(w, b, t0);
}
