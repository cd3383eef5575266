/*
 * Fleet scheduler tests: one master, several emulated target boards (the real SMP server,
 * MCUboot model and NOR flash of ports/emu), each behind its own simulated link in virtual
 * time with its own faults: loss, a target that never answers, a warm reset and a power cut
 * mid-upload, a target that refuses; and a master restart mid-distribution.
 */
#include <stdlib.h>

#include "check.h"
#include "emu/image.h"
#include "emu/nor.h"
#include "emu/target.h"
#include "smpfota/fleet.h"
#include "test_util.h"

#define PAGE 4096U
#define SLOT (20U * PAGE)
#define DEV (2U * SLOT + PAGE)
#define NT 5
#define FRAME 2048U
#define MAXPKT 32

struct pkt {
	bool used, to_server;
	uint32_t at;
	uint16_t len;
	uint8_t data[FRAME];
};

/* One target board, its link, and the master's client for it. */
struct node {
	uint8_t mem[DEV];
	struct smpfota_nor nor;
	struct smpfota_emu_target tb;
	struct pkt net[MAXPKT];
	unsigned loss_pct;
	uint32_t delay_ms;      /* besides 2 ms + 1 ms per 256 bytes */
	bool dead;              /* never answers */
	uint32_t down_until;    /* off (reset or power cut) until then */
	uint32_t reset_at;      /* warm reset at this time (0: none) */
	uint32_t cut_after_ops; /* power cut at this many flash operations from now (0: none) */
	uint32_t boots;
	uint32_t chunks; /* upload requests the server got */
	uint8_t cbuf[5 * FRAME];
	struct smpfota_client cli;
};

static struct node nodes[NT];
static uint32_t now_ms;
static uint32_t rng = 7;

static struct smpfota_fleet fleet;
static struct smpfota_fleet_target tg[NT];
static uint8_t record[SMPFOTA_FLEET_RECORD_SIZE(NT)];
static uint8_t saved[SMPFOTA_FLEET_RECORD_SIZE(NT)];
static size_t saved_len;
static unsigned max_activating;
static bool rebooted_before_staged;

static void enqueue(struct node *n, bool to_server, const uint8_t *p, size_t len)
{
	if (tu_rand(&rng) % 100 < n->loss_pct || len > FRAME) {
		return;
	}
	for (int i = 0; i < MAXPKT; i++) {
		struct pkt *k = &n->net[i];
		if (!k->used) {
			*k = (struct pkt){.used = true,
					  .to_server = to_server,
					  .at = now_ms + 2 + n->delay_ms + (uint32_t)len / 256U,
					  .len = (uint16_t)len};
			memcpy(k->data, p, len);
			return;
		}
	}
}

static int tx_send(void *ctx, const uint8_t *frame, size_t len)
{
	enqueue(ctx, true, frame, len);
	return 0;
}

static void client_init(struct node *n)
{
	struct smpfota_client_config cfg = {.tx = {.send = tx_send, .ctx = n, .mtu = FRAME},
					    .buf = n->cbuf,
					    .buf_size = sizeof(n->cbuf),
					    .frame_cap = FRAME,
					    .slots = 4,
					    .version = SMPFOTA_SMP_V2,
					    .timeout_ms = 300,
					    .retries = 3};
	CHECK_EQ(smpfota_client_init(&n->cli, &cfg), 0);
}

static uint8_t factory[60000];
static size_t factory_len;
static uint8_t img[60000];
static size_t img_len;

static int src_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	(void)ctx;
	memcpy(buf, img + off, len);
	return 0;
}

/* Every board runs factory version `major`.0.0. */
static void setup(void)
{
	now_ms = 1;
	max_activating = 0;
	rebooted_before_staged = false;
	saved_len = 0;
	factory_len = smpfota_emu_image_build(factory, sizeof(factory),
					      &(struct smpfota_emu_image_spec){.body_size = 30000,
									       .ver = {1, 0, 0, 0},
									       .seed = 5},
					      NULL);
	img_len = smpfota_emu_image_build(img, sizeof(img),
					  &(struct smpfota_emu_image_spec){.body_size = 50000,
									   .ver = {1, 2, 0, 0},
									   .seed = 9},
					  NULL);
	for (int i = 0; i < NT; i++) {
		struct node *n = &nodes[i];
		memset(n->net, 0, sizeof(n->net));
		n->loss_pct = 0;
		n->delay_ms = 0;
		n->dead = false;
		n->down_until = n->reset_at = n->cut_after_ops = 0;
		n->boots = n->chunks = 0;
		smpfota_nor_init(&n->nor, n->mem, DEV, PAGE, 4);
		smpfota_nor_erase_all(&n->nor);
		smpfota_emu_target_init(&n->tb);
		CHECK_EQ(smpfota_emu_target_add_image(&n->tb, &n->nor, 0, &n->nor, SLOT + PAGE,
						      SLOT),
			 0);
		n->tb.cfg.buf_size = FRAME;
		n->tb.cfg.buf_count = 4;
		n->tb.cfg.image_check = true;
		CHECK_EQ(smpfota_emu_target_provision(&n->tb, 0, factory, factory_len), 0);
		CHECK_EQ(smpfota_emu_target_reset(&n->tb, false), 0);
		client_init(n);
		tg[i].c = &n->cli;
	}
}

static int save_cb(void *user, const uint8_t *r, size_t len)
{
	(void)user;
	memcpy(saved, r, len);
	saved_len = len;
	return 0;
}

static void on_target(void *user, size_t index, const struct smpfota_fleet_target *t)
{
	(void)user;
	(void)index;
	if (t->phase != SMPFOTA_FLEET_ACTIVATING) {
		return;
	}
	unsigned act = 0;
	for (int i = 0; i < NT; i++) {
		act += tg[i].phase == SMPFOTA_FLEET_ACTIVATING;
		if (tg[i].phase == SMPFOTA_FLEET_WAITING ||
		    tg[i].phase == SMPFOTA_FLEET_UPLOADING) {
			rebooted_before_staged = true;
		}
	}
	max_activating = act > max_activating ? act : max_activating;
}

static struct smpfota_upload_source src;
static struct smpfota_image_info info;

static void fleet_begin(uint16_t max_reboots, bool restore, bool no_activate)
{
	src = (struct smpfota_upload_source){.read = src_read, .size = (uint32_t)img_len};
	CHECK_EQ(smpfota_update_check_image(&src, &info), 0);
	struct smpfota_fleet_config cfg = {
		.targets = tg,
		.n = NT,
		.src = &src,
		.img = &info,
		.max_reboots = max_reboots,
		.update = {.reset_wait_ms = 5000, .upload = {.first_timeout_ms = 2000}},
		.record = record,
		.record_size = sizeof(record),
		.save = save_cb,
		.on_target = on_target,
		.no_activate = no_activate};
	CHECK_EQ(smpfota_fleet_init(&fleet, &cfg), 0);
	if (restore) {
		CHECK_EQ(smpfota_fleet_restore(&fleet, saved, saved_len), 0);
	}
	CHECK_EQ(smpfota_fleet_start(&fleet, now_ms), 0);
}

/* One millisecond of the world: links, targets, faults, the fleet. */
static void tick(void)
{
	static uint8_t rsp[FRAME];
	for (int i = 0; i < NT; i++) {
		struct node *n = &nodes[i];
		if (n->reset_at != 0 && now_ms >= n->reset_at) {
			n->reset_at = 0;
			CHECK_EQ(smpfota_emu_target_reset(&n->tb, true), 0); /* warm: RAM kept */
			n->down_until = now_ms + 200;
			memset(n->net, 0, sizeof(n->net));
		}
		if (n->down_until != 0 && now_ms >= n->down_until) {
			n->down_until = 0;
			if (smpfota_emu_target_power_cut(&n->tb)) {
				smpfota_emu_target_power_on(&n->tb);
				CHECK_EQ(smpfota_emu_target_reset(&n->tb, false), 0);
			}
		}
		for (int k = 0; k < MAXPKT; k++) {
			struct pkt *p = &n->net[k];
			if (!p->used || (int32_t)(now_ms - p->at) < 0) {
				continue;
			}
			p->used = false;
			if (!p->to_server) {
				(void)smpfota_client_input(&n->cli, p->data, p->len, now_ms);
				continue;
			}
			if (n->dead || n->down_until != 0) {
				continue;
			}
			if (p->len >= 8 && p->data[4] == 0 && p->data[5] == 1 && p->data[7] == 1) {
				n->chunks++; /* image upload */
			}
			if (n->cut_after_ops != 0) {
				n->nor.power_cut_at_op = n->nor.ops + n->cut_after_ops;
				n->cut_after_ops = 0;
			}
			int len = smpfota_server_handle(&n->tb.srv, p->data, p->len, rsp,
							sizeof(rsp));
			if (smpfota_emu_target_power_cut(&n->tb)) {
				n->down_until = now_ms + 300; /* RAM lost; back on at power-on */
				memset(n->net, 0, sizeof(n->net));
				break;
			}
			if (len > 0) {
				enqueue(n, false, rsp, (size_t)len);
			}
			int r = smpfota_emu_target_reset_if_pending(&n->tb);
			CHECK(r >= 0);
			n->boots += r == 1;
		}
	}
	smpfota_fleet_poll(&fleet, now_ms);
	now_ms++;
}

static void run(uint32_t limit_ms)
{
	for (uint32_t end = now_ms + limit_ms;
	     !smpfota_fleet_finished(&fleet) && (int32_t)(now_ms - end) < 0;) {
		tick();
	}
	CHECK(smpfota_fleet_finished(&fleet));
}

/* The primary slot holds image; a new one (with a trailer) must be confirmed. */
static bool runs(const struct node *n, const uint8_t *image, size_t len)
{
	static uint8_t tmp[60000];
	struct smpfota_boot_trailer t;
	bool ok = smpfota_flash_area_read(&n->tb.images[0].primary, 0, tmp, len) == 0 &&
		  memcmp(tmp, image, len) == 0;
	if (ok && image == img && smpfota_boot_read_trailer(&n->tb.images[0].primary, &t) == 0) {
		ok = t.image_ok == SMPFOTA_BOOT_FLAG_SET;
	}
	return ok;
}

static void test_all_updated_in_waves(void)
{
	setup();
	nodes[1].loss_pct = 10;
	fleet_begin(2, false, false);
	run(600000);
	CHECK_EQ(smpfota_fleet_count(&fleet, SMPFOTA_FLEET_UPDATED), NT);
	for (int i = 0; i < NT; i++) {
		CHECK_EQ(tg[i].outcome, SMPFOTA_FLEET_UPDATED);
		CHECK_EQ(tg[i].err, 0);
		CHECK(runs(&nodes[i], img, img_len));
		CHECK_EQ(nodes[i].tb.boots, 2); /* power-on, then the one update */
	}
	CHECK_EQ(max_activating, 2);    /* the reboot limit held, and was used */
	CHECK(!rebooted_before_staged); /* nobody rebooted before everyone was staged */
	/* the record says everyone finished, updated */
	CHECK_EQ(saved_len, sizeof(record));
	for (int i = 0; i < NT; i++) {
		CHECK_EQ(saved[SMPFOTA_FLEET_RECORD_HDR + 2 * i], SMPFOTA_FLEET_FINISHED);
		CHECK_EQ(saved[SMPFOTA_FLEET_RECORD_HDR + 2 * i + 1], SMPFOTA_FLEET_UPDATED);
	}
}

/* A dead target, a refusing one, a warm reset and a power cut mid-upload: each gets its own
 * named outcome and the others are updated all the same. */
static void test_faulty_targets_do_not_stall_others(void)
{
	setup();
	nodes[0].dead = true;
	nodes[1].reset_at = 60;
	nodes[2].cut_after_ops = 6;
	/* node 3 already runs something newer: a downgrade, refused */
	static uint8_t newer[60000];
	size_t newer_len = smpfota_emu_image_build(
		newer, sizeof(newer),
		&(struct smpfota_emu_image_spec){
			.body_size = 30000, .ver = {2, 0, 0, 0}, .seed = 6},
		NULL);
	smpfota_nor_erase_all(&nodes[3].nor);
	CHECK_EQ(smpfota_emu_target_provision(&nodes[3].tb, 0, newer, newer_len), 0);
	CHECK_EQ(smpfota_emu_target_reset(&nodes[3].tb, false), 0);
	fleet_begin(0, false, false);
	run(600000);
	CHECK_EQ(tg[0].outcome, SMPFOTA_FLEET_UNREACHABLE);
	CHECK_EQ(tg[0].err, SMPFOTA_ERR_TIMEDOUT);
	CHECK_EQ(tg[0].uploads, 2); /* retried once after the others */
	CHECK_EQ(tg[3].outcome, SMPFOTA_FLEET_REJECTED);
	CHECK_EQ(tg[3].err, SMPFOTA_ERR_DOWNGRADE);
	CHECK(runs(&nodes[3], newer, newer_len));
	for (int i = 1; i < NT; i++) {
		if (i != 3) {
			CHECK_EQ(tg[i].outcome, SMPFOTA_FLEET_UPDATED);
			CHECK(runs(&nodes[i], img, img_len));
		}
	}
	CHECK(nodes[2].tb.boots >= 3); /* power-on, after the cut, the update */
	/* the dead target's retry did not hold the others back: they were done before it */
	for (int i = 1; i < NT; i++) {
		CHECK(tg[i].ended_ms < tg[0].ended_ms);
	}
	CHECK_EQ(smpfota_fleet_count(&fleet, SMPFOTA_FLEET_UPDATED), 3);
}

/* The master restarts mid-distribution: everything it had in RAM is gone; the saved record
 * brings the staged targets straight to activation, the others resume their uploads. */
static void test_master_restart_mid_distribution(void)
{
	setup();
	nodes[3].delay_ms = 40; /* slower: still uploading when the master goes */
	nodes[4].delay_ms = 40;
	fleet_begin(0, false, false);
	size_t staged = 0;
	while ((staged < 2 || nodes[3].tb.srv.up.off == 0 || nodes[4].tb.srv.up.off == 0) &&
	       (int32_t)(now_ms - 600000) < 0) {
		tick();
		staged = 0;
		for (int i = 0; i < NT; i++) {
			staged += tg[i].phase == SMPFOTA_FLEET_STAGED;
		}
	}
	CHECK(staged >= 2 && staged < NT);
	CHECK(saved_len == sizeof(record));
	/* the master's RAM is gone: fleet, clients, frames in flight */
	bool was_staged[NT];
	uint32_t had[NT];
	for (int i = 0; i < NT; i++) {
		was_staged[i] = tg[i].phase == SMPFOTA_FLEET_STAGED;
		had[i] = nodes[i].tb.srv.up.off;
		memset(&tg[i], 0xa5, sizeof(tg[i]));
		memset(nodes[i].net, 0, sizeof(nodes[i].net));
		client_init(&nodes[i]);
		tg[i].c = &nodes[i].cli;
		nodes[i].chunks = 0;
		nodes[i].tb.srv.stats.bytes_written = 0;
	}
	memset(&fleet, 0xa5, sizeof(fleet));
	fleet_begin(0, true, false);
	run(600000);
	for (int i = 0; i < NT; i++) {
		CHECK_EQ(tg[i].outcome, SMPFOTA_FLEET_UPDATED);
		CHECK(runs(&nodes[i], img, img_len));
		if (was_staged[i]) {
			CHECK_EQ(nodes[i].chunks, 0); /* not uploaded again */
		} else {
			/* resumed where the target was: only the rest written */
			CHECK(had[i] > 0);
			CHECK(nodes[i].tb.srv.stats.bytes_written <= img_len - had[i] + 8);
		}
	}
}

static void test_record_of_another_image_refused(void)
{
	setup();
	fleet_begin(0, false, false);
	run(600000);
	CHECK_EQ(saved_len, sizeof(record));
	saved[6] ^= 1; /* another image's hash */
	struct smpfota_fleet_config cfg = fleet.cfg;
	CHECK_EQ(smpfota_fleet_init(&fleet, &cfg), 0);
	CHECK_EQ(smpfota_fleet_restore(&fleet, saved, saved_len), SMPFOTA_ERR_INVAL);
	saved[6] ^= 1;
	CHECK_EQ(smpfota_fleet_restore(&fleet, saved, saved_len - 1), SMPFOTA_ERR_INVAL);
	saved[SMPFOTA_FLEET_RECORD_HDR] = 9; /* no such phase */
	CHECK_EQ(smpfota_fleet_restore(&fleet, saved, saved_len), SMPFOTA_ERR_INVAL);
	CHECK_EQ(tg[0].phase, SMPFOTA_FLEET_WAITING); /* nothing taken */
	/* bad configs */
	cfg.record_size = 3;
	CHECK_EQ(smpfota_fleet_init(&fleet, &cfg), SMPFOTA_ERR_INVAL);
	cfg = (struct smpfota_fleet_config){.targets = tg, .n = 0, .src = &src, .img = &info};
	CHECK_EQ(smpfota_fleet_init(&fleet, &cfg), SMPFOTA_ERR_INVAL);
	CHECK_STR(((struct smpfota_str){smpfota_fleet_outcome_name(SMPFOTA_FLEET_UNREACHABLE),
					strlen("unreachable")}),
		  "unreachable");
}

static void test_distribution_only(void)
{
	setup();
	fleet_begin(0, false, true);
	run(600000);
	CHECK_EQ(smpfota_fleet_count(&fleet, SMPFOTA_FLEET_STAGED_ONLY), NT);
	for (int i = 0; i < NT; i++) {
		CHECK(runs(&nodes[i], factory, factory_len));
		CHECK_EQ(nodes[i].tb.boots, 1);
	}
}

int main(void)
{
	RUN(test_all_updated_in_waves);
	RUN(test_faulty_targets_do_not_stall_others);
	RUN(test_master_restart_mid_distribution);
	RUN(test_record_of_another_image_refused);
	RUN(test_distribution_only);
	return CHECK_SUMMARY();
}
