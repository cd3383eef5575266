/*
 * Two-board simulator tests (ports/sim): whole updates master -> target over simulated ESB,
 * with faults. Behaviour only: completion, byte-exactness, resume, determinism, and that no
 * figure exceeds the analytic limit. Speed is measured by `make bench`, not here.
 */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "emu/image.h"
#include "sim/sim.h"
#include "smpfota/update.h"
#include "test_util.h"

static uint8_t image[160 * 1024];
static size_t image_len;

static void make_image(void)
{
	struct smpfota_emu_image_spec s = {.body_size = 120 * 1024, .ver = {1, 2, 3, 4}, .seed = 7};
	image_len = smpfota_emu_image_build(image, sizeof(image), &s, NULL);
}

static struct smpfota_sim_result run(const struct smpfota_sim_config *c)
{
	struct smpfota_sim_result r;
	int rc = smpfota_sim_run(c, image, image_len, &r);
	CHECK_EQ(rc, 0);
	return r;
}

static void check_done(const struct smpfota_sim_result *r)
{
	CHECK(r->ok);
	CHECK_EQ(r->err, 0);
	CHECK_EQ(r->step, SMPFOTA_UPDATE_DONE);
	CHECK(r->byte_exact);
	CHECK(r->confirmed);
	CHECK(r->target_runs != NULL && strcmp(r->target_runs, "new") == 0);
	CHECK(r->goodput_kBps > 0);
	/* a figure above the physical limit is a bug */
	CHECK(r->goodput_kBps <= r->limit_kBps);
	CHECK_EQ(r->stats.spins, 0);
}

static void test_limits_match_spec(void)
{
	/* spec "Derived physical limits" */
	struct smpfota_sim_config c;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_RADIO);
	CHECK(fabs(smpfota_sim_radio_limit_kBps(&c) - 210.9) < 0.1); /* 252 B / 1195 µs */
	CHECK(fabs(smpfota_sim_flash_limit_kBps(&c) - 285.7) < 0.1); /* 256 B / 896 µs */
	CHECK(fabs(smpfota_sim_limit_kBps(&c) - 210.9) < 0.1);
	c.t.ramp_us = 130;
	CHECK(fabs(smpfota_sim_radio_limit_kBps(&c) - 183.3) < 0.1); /* 1375 µs */
	c.t.ramp_us = 40;
	c.t.max_payload = 32;
	CHECK(fabs(smpfota_sim_radio_limit_kBps(&c) - 102.2) < 0.1); /* 32 B / 313 µs */
	c.t.max_payload = 252;
	c.t.bitrate_kbps = 1000;
	c.t.preamble = 1;
	c.t.txdis_us = 6;
	CHECK(fabs(smpfota_sim_radio_limit_kBps(&c) - 110.9) < 0.1); /* 2272 µs */
	smpfota_sim_defaults(&c, SMPFOTA_SIM_INTERNAL);
	CHECK(fabs(smpfota_sim_limit_kBps(&c) - 31.1) < 0.1); /* 4096 B / 131.5 ms */
	smpfota_sim_defaults(&c, SMPFOTA_SIM_QSPI);
	CHECK(fabs(smpfota_sim_limit_kBps(&c) - 92.4) < 0.1); /* 65536 B / 709.4 ms */
	CHECK_EQ(smpfota_sim_scenario_parse("qspi"), SMPFOTA_SIM_QSPI);
	CHECK_EQ(smpfota_sim_scenario_parse("floppy"), -1);
}

static void test_clean_every_scenario(void)
{
	for (int s = SMPFOTA_SIM_RADIO; s <= SMPFOTA_SIM_QSPI; s++) {
		for (int naive = 0; naive <= 1; naive++) {
			struct smpfota_sim_config c;
			smpfota_sim_defaults(&c, (enum smpfota_sim_scenario)s);
			c.naive = naive;
			struct smpfota_sim_result r = run(&c);
			check_done(&r);
			CHECK_EQ(r.stats.lost + r.stats.ack_lost + r.stats.crc_errors, 0);
			CHECK_EQ(r.stats.link_drops, 0);
		}
	}
}

static void test_packet_loss(void)
{
	const double loss[] = {0.1, 0.3};
	for (size_t i = 0; i < 2; i++) {
		for (int s = SMPFOTA_SIM_RADIO; s <= SMPFOTA_SIM_INTERNAL; s++) {
			struct smpfota_sim_config c;
			smpfota_sim_defaults(&c, (enum smpfota_sim_scenario)s);
			c.f.loss = loss[i];
			c.seed = 11 + i;
			struct smpfota_sim_result r = run(&c);
			check_done(&r);
			CHECK(r.stats.lost > 0);
			CHECK(r.stats.retransmits >= r.stats.lost);
		}
	}
}

static void test_ack_loss_and_bit_errors(void)
{
	struct smpfota_sim_config c;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_RADIO);
	c.f.ack_loss = 0.2;
	c.f.loss = 0.05;
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK(r.stats.ack_lost > 0);
	/* a lost ACK makes the PTX resend a packet the PRX already has: ESB's PID check or
	 * the link's duplicate check drops it */
	smpfota_sim_defaults(&c, SMPFOTA_SIM_QSPI);
	c.f.ber = 1e-4; /* about one 252-byte packet in five fails its CRC */
	r = run(&c);
	check_done(&r);
	CHECK(r.stats.crc_errors > 0);
}

static void test_replayed_fragments_never_reach_smp(void)
{
	/* 32-byte payloads: a 2.5 KB frame is ~80 fragments, so stale ones land mid-frame */
	for (int naive = 0; naive <= 1; naive++) {
		struct smpfota_sim_config c;
		smpfota_sim_defaults(&c, SMPFOTA_SIM_RADIO);
		c.t.max_payload = 32;
		c.naive = naive;
		c.f.replay = 0.07;
		c.f.loss = 0.05;
		struct smpfota_sim_result r = run(&c);
		check_done(&r);
		CHECK(r.stats.replays > 0);
		CHECK(r.stats.frames_to_target <= r.stats.frames_from_master);
	}
	struct smpfota_sim_config c;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_RADIO);
	c.f.replay = 0.05;
	c.f.loss = 0.05;
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK(r.stats.replays > 0);
	CHECK(r.stats.link_drops >= r.stats.replays / 2);
	/* every frame the target's SMP server saw is one the master sent */
	CHECK(r.stats.frames_to_target <= r.stats.frames_from_master);
}

static void test_target_reset_mid_upload_resumes(void)
{
	struct smpfota_sim_config c;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_INTERNAL);
	struct smpfota_sim_result clean = run(&c);
	check_done(&clean);
	/* a warm reset half-way through the upload: the retained upload record resumes */
	c.f.target_reset_at_us = c.t.boot_us + clean.upload_us / 2;
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK_EQ(r.stats.target_resets, clean.stats.target_resets + 1);
	/* resumed, not restarted: the slot was written about once */
	CHECK(clean.stats.upload_bytes_written >= image_len &&
	      clean.stats.upload_bytes_written < image_len + 4);
	CHECK(r.stats.upload_bytes_written < image_len + image_len / 10);
}

static void test_target_power_cut_mid_upload(void)
{
	struct smpfota_sim_config c;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_QSPI);
	c.f.target_cut_at_op = 40; /* a write or erase in the secondary slot, mid-upload */
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK_EQ(r.stats.power_cuts, 1);
	/* RAM was lost with the power: the upload starts over, so parts are written twice */
	CHECK(r.stats.upload_bytes_written > image_len);
}

static void test_master_reset_mid_upload_resumes(void)
{
	struct smpfota_sim_config c;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_RADIO);
	struct smpfota_sim_result clean = run(&c);
	check_done(&clean);
	c.f.master_reset_at_us = c.t.boot_us + clean.upload_us / 2;
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK_EQ(r.stats.master_resets, 1);
	/* the new session picks up at the server's offset: little is sent twice (over the
	 * bridge a window of chunks follows the opening one before its answer says where the
	 * server is: they are answered with that offset and not written) */
	CHECK(r.stats.upload_bytes_written < image_len + image_len / 10);
	CHECK(r.stats.frames_from_master < clean.stats.frames_from_master +
						   clean.stats.frames_from_master / 4 +
						   SMPFOTA_CLIENT_MAX_INFLIGHT);
	/* and it loses little time: the master's start-up, no waiting for timeouts (a stale
	 * answer from before the restart once stopped the new link's polling). What it may lose:
	 * the time before its reset, and one 500 ms echo probe when a probe meets the target
	 * still starting up (a millisecond earlier or later decides which probe that is). */
	const uint64_t at[] = {400000, 500000, 600000, c.t.boot_us + clean.upload_us / 2};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		c.f.master_reset_at_us = at[i];
		r = run(&c);
		check_done(&r);
		CHECK(r.virtual_us < clean.virtual_us + at[i] + 600000);
	}
}

/* Virtual time (µs) of the first progress line starting with `what`. */
struct when {
	const char *what;
	uint64_t at;
};

static void on_log(void *user, uint64_t t_us, const char *line)
{
	struct when *w = user;
	if (w->at == 0 && strncmp(line, w->what, strlen(w->what)) == 0) {
		w->at = t_us;
	}
}

static uint64_t step_time(enum smpfota_sim_scenario s, const char *what)
{
	struct smpfota_sim_config c;
	struct when w = {what, 0};
	smpfota_sim_defaults(&c, s);
	c.log = on_log;
	c.user = &w;
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK(w.at > 0);
	return w.at;
}

static void test_master_reset_late_in_the_workflow(void)
{
	/* Restarted while the target runs the new image on test: the new session must still
	 * confirm it (it used to call the update done and the next reset reverted it). */
	struct smpfota_sim_config c;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_RADIO);
	c.f.master_reset_at_us = step_time(SMPFOTA_SIM_RADIO, "active") + 1;
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK_EQ(r.stats.master_resets, 1);
	/* Restarted after `image test`, before `os reset`: the slot is pending with this very
	 * image, so the new session resets the target instead of uploading into it. */
	smpfota_sim_defaults(&c, SMPFOTA_SIM_RADIO);
	c.f.master_reset_at_us = step_time(SMPFOTA_SIM_RADIO, "reset") + 1;
	r = run(&c);
	check_done(&r);
	CHECK_EQ(r.stats.master_resets, 1);
}

static void test_target_reset_and_power_cut_during_the_swap(void)
{
	/* A warm reset while MCUboot swaps interrupts the flash operation in progress; the next
	 * boot resumes the swap and boots the image on test, which then gets confirmed. */
	struct smpfota_sim_config c;
	for (int s = SMPFOTA_SIM_RADIO; s <= SMPFOTA_SIM_QSPI; s++) {
		uint64_t reset = step_time((enum smpfota_sim_scenario)s, "target resets");
		smpfota_sim_defaults(&c, (enum smpfota_sim_scenario)s);
		struct smpfota_sim_result clean = run(&c);
		c.f.target_reset_at_us = reset + 1500000;
		struct when w = {"target reset interrupted MCUboot", 0};
		c.log = on_log;
		c.user = &w;
		struct smpfota_sim_result r = run(&c);
		check_done(&r);
		CHECK(w.at > 0);
		CHECK_EQ(r.stats.target_resets, clean.stats.target_resets + 1);
		/* a power cut at an operation of the swap (operations count on every device) */
		smpfota_sim_defaults(&c, (enum smpfota_sim_scenario)s);
		c.f.target_cut_at_op = clean.stats.flash_writes + clean.stats.flash_erases - 40;
		r = run(&c);
		check_done(&r);
		CHECK_EQ(r.stats.power_cuts, 1);
	}
}

static void test_power_cut_at_the_confirm_write(void)
{
	/* The last flash operation of an update is `image confirm`'s write. Cut there, the
	 * answer is lost and MCUboot reverts at the next boot; the master waits for the target,
	 * looks again, and does the test and the confirm over (the slot still holds the file). */
	struct smpfota_sim_config c;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_INTERNAL);
	struct smpfota_sim_result clean = run(&c);
	check_done(&clean);
	c.f.target_cut_at_op = clean.stats.flash_writes + clean.stats.flash_erases;
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK_EQ(r.stats.power_cuts, 1);
	CHECK(r.stats.target_resets >= clean.stats.target_resets + 2); /* cut, then a new test */
	CHECK(r.stats.upload_bytes_written < image_len + 4);           /* no second upload */
}

static void test_same_seed_same_run(void)
{
	struct smpfota_sim_config c;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_INTERNAL);
	c.f.loss = 0.1;
	c.f.ack_loss = 0.05;
	c.seed = 42;
	struct smpfota_sim_result a = run(&c), b = run(&c);
	check_done(&a);
	CHECK_EQ(a.virtual_us, b.virtual_us);
	CHECK_EQ(a.upload_us, b.upload_us);
	CHECK(memcmp(&a.stats, &b.stats, sizeof(a.stats)) == 0);
	c.seed = 43;
	struct smpfota_sim_result d = run(&c);
	check_done(&d);
	CHECK(d.virtual_us != a.virtual_us || d.stats.lost != a.stats.lost);
}

static void test_bad_input(void)
{
	struct smpfota_sim_config c;
	struct smpfota_sim_result r;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_RADIO);
	c.f.loss = 1.0;
	CHECK_EQ(smpfota_sim_run(&c, image, image_len, &r), SMPFOTA_ERR_INVAL);
	smpfota_sim_defaults(&c, SMPFOTA_SIM_RADIO);
	c.buf_size = 10;
	CHECK_EQ(smpfota_sim_run(&c, image, image_len, &r), SMPFOTA_ERR_INVAL);
	smpfota_sim_defaults(&c, SMPFOTA_SIM_RADIO);
	uint8_t bad[512];
	memcpy(bad, image, sizeof(bad));
	bad[0] ^= 1;
	CHECK_EQ(smpfota_sim_run(&c, bad, sizeof(bad), &r), SMPFOTA_ERR_BAD_MAGIC);
}

static void test_dead_link_fails_with_a_name(void)
{
	/* nothing gets through: the update ends with a named error, the target untouched */
	struct smpfota_sim_config c;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_RADIO);
	c.f.loss = 0.99;
	c.max_virtual_us = 120ULL * 1000000ULL;
	struct smpfota_sim_result r = run(&c);
	CHECK(!r.ok);
	CHECK(r.err != 0);
	CHECK(!r.byte_exact);
	CHECK(r.confirmed); /* the old image still runs, confirmed */
	CHECK(r.target_runs != NULL && strcmp(r.target_runs, "old") == 0);
}

int main(void)
{
	make_image();
	RUN(test_limits_match_spec);
	RUN(test_clean_every_scenario);
	RUN(test_packet_loss);
	RUN(test_ack_loss_and_bit_errors);
	RUN(test_replayed_fragments_never_reach_smp);
	RUN(test_target_reset_mid_upload_resumes);
	RUN(test_target_power_cut_mid_upload);
	RUN(test_master_reset_mid_upload_resumes);
	RUN(test_master_reset_late_in_the_workflow);
	RUN(test_target_reset_and_power_cut_during_the_swap);
	RUN(test_power_cut_at_the_confirm_write);
	RUN(test_same_seed_same_run);
	RUN(test_bad_input);
	RUN(test_dead_link_fails_with_a_name);
	return CHECK_SUMMARY();
}
