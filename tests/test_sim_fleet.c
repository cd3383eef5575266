/*
 * Fleet simulator tests (ports/sim/fleet.h): N targets over one simulated ESB radio, each with
 * its own faults, and the master restarting mid-distribution. Behaviour only: outcomes, what
 * the targets' flash holds, order; the times are the benchmark's (bench/bench_fleet.py).
 */
#include <stdlib.h>

#include "check.h"
#include "emu/image.h"
#include "sim/fleet.h"
#include "smpfota/bcast.h"
#include "smpfota/fleet.h"

static uint8_t img[80000];
static size_t img_len;
static struct smpfota_sim_config base;
static struct smpfota_sim_fleet_config fc;
static struct smpfota_sim_fleet_result r;

static void setup(enum smpfota_sim_scenario s, unsigned n)
{
	img_len = smpfota_emu_image_build(img, sizeof(img),
					  &(struct smpfota_emu_image_spec){.body_size = 60000,
									   .ver = {1, 0, 0, 0},
									   .seed = 3},
					  NULL);
	smpfota_sim_defaults(&base, s);
	base.slot_size = 32 * 4096;
	memset(&fc, 0, sizeof(fc));
	fc.base = &base;
	fc.n = n;
}

static void check_updated(unsigned i)
{
	CHECK_EQ(r.t[i].outcome, SMPFOTA_FLEET_UPDATED);
	CHECK_EQ(r.t[i].err, 0);
	CHECK(r.t[i].byte_exact);
	CHECK(r.t[i].confirmed);
	CHECK(r.t[i].bytes_sent >= img_len);
	CHECK(r.t[i].staged_us > 0 && r.t[i].staged_us < r.t[i].virtual_us);
}

static void test_eight_targets_interleaved(void)
{
	setup(SMPFOTA_SIM_INTERNAL, 8);
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), 0);
	CHECK(r.ok);
	CHECK_EQ(r.updated, 8);
	for (unsigned i = 0; i < 8; i++) {
		check_updated(i);
		CHECK_EQ(r.t[i].resets, 1); /* the one reboot into the new image */
	}
	CHECK_EQ(r.readdresses, 8); /* each its own pipe, addressed once */
	CHECK_EQ(r.spins, 0);
	uint64_t last = 0; /* the run ends with its last target, whichever it is */
	for (unsigned i = 0; i < 8; i++) {
		last = r.t[i].virtual_us > last ? r.t[i].virtual_us : last;
	}
	CHECK_EQ(r.virtual_us, last);
}

/* Every target its own fault, and the master restarts mid-distribution. */
static void test_faults_and_master_restart(void)
{
	setup(SMPFOTA_SIM_INTERNAL, 6);
	base.f.master_reset_at_us = 1500000;
	fc.tf[1].dead = true;
	fc.tf[2].reset_at_us = 1000000;
	fc.tf[3].cut_at_op = 12;
	fc.tf[4].loss = 0.2;
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), 0);
	CHECK(!r.ok);
	CHECK_EQ(r.master_resets, 1);
	CHECK_EQ(r.t[1].outcome, SMPFOTA_FLEET_UNREACHABLE);
	CHECK_EQ(r.t[1].err, SMPFOTA_ERR_TIMEDOUT);
	CHECK(!r.t[1].byte_exact);
	for (unsigned i = 0; i < 6; i++) {
		if (i != 1) {
			check_updated(i);
			/* the vanished target did not hold them: done before it was given up */
			CHECK(r.t[i].virtual_us < r.t[1].virtual_us);
		}
	}
	CHECK(r.t[2].resets >= 2); /* the fault, the update */
	CHECK(r.t[3].resets >= 2); /* power back, the update */
	CHECK_EQ(r.updated, 5);
	CHECK_EQ(r.spins, 0);
}

/* More targets than an NCS PTX has pipes: the pipes are re-addressed as targets take turns. */
static void test_more_targets_than_pipes(void)
{
	setup(SMPFOTA_SIM_RADIO, 12);
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), 0);
	CHECK(r.ok);
	for (unsigned i = 0; i < 12; i++) {
		check_updated(i);
	}
	CHECK(r.readdresses > 12);
	CHECK_EQ(r.spins, 0);
}

/* The baseline: one target after the other, in order. */
static void test_sequential(void)
{
	setup(SMPFOTA_SIM_RADIO, 3);
	fc.mode = SMPFOTA_SIM_FLEET_SEQUENTIAL;
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), 0);
	CHECK(r.ok);
	for (unsigned i = 0; i < 3; i++) {
		check_updated(i);
	}
	CHECK(r.t[0].staged_us < r.t[1].staged_us && r.t[1].staged_us < r.t[2].staged_us);
	CHECK(r.t[0].virtual_us < r.t[1].virtual_us && r.t[1].virtual_us < r.t[2].virtual_us);
	/* activation after distribution: the first reboots after the last is staged */
	CHECK(r.t[0].virtual_us > r.t[2].staged_us);
}

/* Broadcast with repair at 10 % loss: every target gets the image from the broadcast. */
static void test_broadcast(void)
{
	setup(SMPFOTA_SIM_RADIO, 8);
	fc.mode = SMPFOTA_SIM_FLEET_BROADCAST;
	base.f.loss = 0.1;
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), 0);
	CHECK(r.ok);
	for (unsigned i = 0; i < 8; i++) {
		check_updated(i);
		CHECK_EQ(r.t[i].bcast, SMPFOTA_BCAST_DONE);
	}
	CHECK(r.bcast_repairs > 0);
	CHECK(r.bcast_packets < 2 * (img_len / 200U));
	CHECK(r.bcast_us > 0 && r.bcast_us <= r.distributed_us);
	CHECK_EQ(r.spins, 0);
}

/* A dead target is dropped from the broadcast and ends unreachable; one whose power is cut
 * mid-broadcast resumes from its record; one on a bad link is finished by unicast. */
static void test_broadcast_faults(void)
{
	setup(SMPFOTA_SIM_RADIO, 4);
	fc.mode = SMPFOTA_SIM_FLEET_BROADCAST;
	fc.tf[1].dead = true;
	fc.tf[2].cut_at_op = 100;
	fc.tf[3].loss = 0.6;
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), 0);
	CHECK_EQ(r.t[1].bcast, SMPFOTA_BCAST_DROPPED_SILENT);
	CHECK_EQ(r.t[1].outcome, SMPFOTA_FLEET_UNREACHABLE);
	CHECK_EQ(r.t[0].bcast, SMPFOTA_BCAST_DONE);
	CHECK_EQ(r.t[2].bcast, SMPFOTA_BCAST_DONE);
	CHECK(r.t[2].resets >= 2); /* power back, the update */
	CHECK_EQ(r.t[3].bcast, SMPFOTA_BCAST_DROPPED_ROUNDS);
	for (unsigned i = 0; i < 4; i++) {
		if (i != 1) {
			check_updated(i);
		}
	}
	CHECK_EQ(r.spins, 0);
}

/* The master restarts mid-broadcast: it asks each block's bitmap before sending, so what
 * the targets kept in their records is not sent again. */
static void test_broadcast_master_restart(void)
{
	setup(SMPFOTA_SIM_RADIO, 4);
	fc.mode = SMPFOTA_SIM_FLEET_BROADCAST;
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), 0);
	CHECK(r.ok);
	uint32_t whole = r.bcast_packets;
	uint64_t end = r.bcast_us;
	base.f.master_reset_at_us = end - (end - 300000U) / 3U; /* two thirds through */
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), 0);
	CHECK(r.ok);
	CHECK_EQ(r.master_resets, 1);
	for (unsigned i = 0; i < 4; i++) {
		check_updated(i);
		CHECK_EQ(r.t[i].bcast, SMPFOTA_BCAST_DONE);
	}
	/* what was on the air before the restart is not sent again */
	CHECK(r.bcast_packets < whole + whole / 4U);
	CHECK_EQ(r.spins, 0);
}

static void test_bad_configs(void)
{
	setup(SMPFOTA_SIM_RADIO, 0);
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), SMPFOTA_ERR_INVAL);
	fc.n = SMPFOTA_SIM_FLEET_MAX + 1;
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), SMPFOTA_ERR_INVAL);
	fc.n = 2;
	fc.tf[1].loss = 1.0;
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), SMPFOTA_ERR_INVAL);
	fc.tf[1].loss = 0;
	base.link = SMPFOTA_SIM_LINK_BLE;
	CHECK_EQ(smpfota_sim_fleet_run(&fc, img, img_len, &r), SMPFOTA_ERR_INVAL);
	base.link = SMPFOTA_SIM_LINK_ESB;
	img[0] ^= 1; /* not an image */
	CHECK(smpfota_sim_fleet_run(&fc, img, img_len, &r) != 0);
	img[0] ^= 1;
	CHECK_EQ(smpfota_sim_fleet_mode_parse("sequential"), SMPFOTA_SIM_FLEET_SEQUENTIAL);
	CHECK_EQ(smpfota_sim_fleet_mode_parse("broadcast"), SMPFOTA_SIM_FLEET_BROADCAST);
	CHECK_EQ(smpfota_sim_fleet_mode_parse("mesh"), -1);
}

int main(void)
{
	RUN(test_eight_targets_interleaved);
	RUN(test_faults_and_master_restart);
	RUN(test_more_targets_than_pipes);
	RUN(test_sequential);
	RUN(test_broadcast);
	RUN(test_broadcast_faults);
	RUN(test_broadcast_master_restart);
	RUN(test_bad_configs);
	return CHECK_SUMMARY();
}
