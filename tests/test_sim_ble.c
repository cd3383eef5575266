/*
 * The simulator's Bluetooth LE link (ports/sim/ble.c, docs/ble.md): whole updates over BLE
 * with the same engine and workflow, every flash scenario, several link parameter sets, loss,
 * target and master resets, a dropped connection (reconnect and resume), a target without
 * reassembly. Behaviour only; speed is `make bench`'s.
 */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "emu/image.h"
#include "sim/sim.h"
#include "smpfota/update.h"

static uint8_t image[160 * 1024];
static size_t image_len;

static void make_image(void)
{
	struct smpfota_emu_image_spec s = {.body_size = 120 * 1024, .ver = {1, 2, 3, 4}, .seed = 9};
	image_len = smpfota_emu_image_build(image, sizeof(image), &s, NULL);
}

static void ble_defaults(struct smpfota_sim_config *c, enum smpfota_sim_scenario s)
{
	smpfota_sim_defaults(c, s);
	c->link = SMPFOTA_SIM_LINK_BLE;
}

static struct smpfota_sim_result run(const struct smpfota_sim_config *c)
{
	struct smpfota_sim_result r;
	CHECK_EQ(smpfota_sim_run(c, image, image_len, &r), 0);
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
	CHECK(r->goodput_kBps <= r->limit_kBps); /* above the limit is a bug */
	CHECK(r->stats.ble_events > 0);
	CHECK_EQ(r->stats.packets > 0, 1);
	CHECK_EQ(r->stats.spins, 0);
	/* the target's os reset drops the connection: the master reconnects to confirm */
	CHECK(r->stats.disconnects >= 1);
}

/* The limit against the hand formula: LE 1M, 27-byte PDUs, ATT MTU 23: a pair is
 * (1+4+2+27+3) x 8 µs + 150 + 80 (empty PDU) + 150 = 676 µs, 11 pairs in 7.5 ms, 20 SMP bytes
 * each: at most 29.3 kB/s (less for the frames' short last pieces and the answers). LE 2M,
 * 251, MTU 247: 1048 + 150 + 44 + 150 = 1392 µs, 5 pairs of 244 bytes, and in the 540 µs
 * left a pair whose PDU has at most 38 octets (a frame's short last piece of 31 bytes): at
 * most 166.8 kB/s (162.7 without that piece). */
static void test_limit_against_hand_formula(void)
{
	struct smpfota_sim_config c;
	ble_defaults(&c, SMPFOTA_SIM_RADIO);
	double hi = smpfota_sim_radio_limit_kBps(&c);
	CHECK(hi > 150.0 && hi < 166.8);
	c.ble.phy = 1;
	c.ble.dle = 27;
	c.ble.att_mtu = 23;
	double lo = smpfota_sim_radio_limit_kBps(&c);
	CHECK(lo > 28.0 && lo < 29.34);
	/* longer events carry more; the flash limit is the same as over ESB */
	c.ble.phy = 2;
	c.ble.dle = 251;
	c.ble.att_mtu = 247;
	c.ble.interval_us = 50000;
	CHECK(smpfota_sim_radio_limit_kBps(&c) > hi);
	/* a phone-like controller: 4 pairs per 15 ms event carry at most 4 x 244 B / 15 ms
	 * (the model counts the last event in part: 0.2 % more at most) */
	c.ble.interval_us = 15000;
	c.ble.pdus_per_event = 4;
	double phone = smpfota_sim_radio_limit_kBps(&c);
	CHECK(phone > 55.0 && phone < 65.07 * 1.002);
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	c.ble.pdus_per_event = 0;
	c.ble.interval_us = 50000;
	struct smpfota_sim_config e;
	smpfota_sim_defaults(&e, SMPFOTA_SIM_INTERNAL);
	c.scenario = SMPFOTA_SIM_INTERNAL;
	CHECK(fabs(smpfota_sim_flash_limit_kBps(&c) - smpfota_sim_flash_limit_kBps(&e)) < 1e-9);
}

/* The QSPI scenario's ceiling for a target with buf_count buffers (docs/ble.md): LE 2M, 251,
 * MTU 247, 4 x 2475 B, 7.5 ms: a 64 KB block takes 480 ms of erase, one interval before the
 * first answer is acknowledged, then 65536 - 3 x 2475 = 58111 B over the link (164.7 kB/s):
 * 840 ms, 78.0 kB/s. More buffers raise it; over ESB and in the
 * other scenarios it is the plain limit; no simulated upload beats it. */
static void test_buffer_ceiling(void)
{
	struct smpfota_sim_config c;
	ble_defaults(&c, SMPFOTA_SIM_QSPI);
	double link = smpfota_sim_radio_limit_kBps(&c);
	double ceil = smpfota_sim_buffer_ceiling_kBps(&c);
	CHECK(fabs(ceil - 65536.0 / (480.0 + 7.5 + 58111.0 / link)) < 0.01);
	CHECK(ceil > 77.5 && ceil < 78.5);
	CHECK(ceil < smpfota_sim_limit_kBps(&c));
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK(r.goodput_kBps <= ceil);
	c.buf_count = 8;
	CHECK(smpfota_sim_buffer_ceiling_kBps(&c) > ceil);
	c.buf_count = 4;
	c.scenario = SMPFOTA_SIM_INTERNAL;
	CHECK_EQ(smpfota_sim_buffer_ceiling_kBps(&c), smpfota_sim_limit_kBps(&c));
	smpfota_sim_defaults(&c, SMPFOTA_SIM_QSPI);
	CHECK_EQ(smpfota_sim_buffer_ceiling_kBps(&c), smpfota_sim_limit_kBps(&c));
}

static void test_every_scenario(void)
{
	for (int s = SMPFOTA_SIM_RADIO; s <= SMPFOTA_SIM_QSPI; s++) {
		struct smpfota_sim_config c;
		ble_defaults(&c, (enum smpfota_sim_scenario)s);
		struct smpfota_sim_result r = run(&c);
		check_done(&r);
		/* A 64 KB block erase of the QSPI part stalls the target for 480 ms: the requests
		 * that arrive meanwhile find no free SMP buffer and are dropped, as Zephyr drops
		 * them; the upload continues at the server's offset. Elsewhere nothing is. */
		if (s != SMPFOTA_SIM_QSPI) {
			CHECK_EQ(r.stats.frames_dropped, 0);
		}
		CHECK_EQ(r.stats.lost, 0);
	}
}

static void test_parameter_sets(void)
{
	static const struct {
		uint32_t interval_us;
		uint8_t phy;
		uint16_t dle, mtu;
		bool no_reassembly, encrypted;
	} sets[] = {
		{7500, 1, 27, 23, false, false},      {30000, 1, 27, 247, false, true},
		{15000, 1, 251, 247, false, false},   {50000, 2, 251, 498, false, false},
		{11250, 2, 251, 517, false, true},    {7500, 2, 251, 247, true, false},
		{4000000, 2, 251, 247, false, false},
	};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct smpfota_sim_config c;
		ble_defaults(&c, SMPFOTA_SIM_RADIO);
		c.ble.interval_us = sets[i].interval_us;
		c.ble.phy = sets[i].phy;
		c.ble.dle = sets[i].dle;
		c.ble.att_mtu = sets[i].mtu;
		c.ble.no_reassembly = sets[i].no_reassembly;
		c.ble.encrypted = sets[i].encrypted;
		c.ble.sup_timeout_us = 3 * c.ble.interval_us + 4000000;
		c.max_virtual_us = 3600ULL * 1000000ULL;
		struct smpfota_sim_result r = run(&c);
		if (!r.ok) {
			fprintf(stderr, "parameter set %zu failed: %d\n", i, r.err);
		}
		check_done(&r);
	}
}

/* Zephyr's smp_bt_tx_pkt() takes the next request only after its notification's completion
 * callback, which the host runs when the controller reports the packet acknowledged: by the
 * central's next packet (docs/ble.md). With window 1 the central has nothing to send after an
 * answer (the master needs the answer first), so every upload answer is acknowledged only in
 * the next connection event. With a slow link (LE 1M, 27-octet PDUs) and window 3 the next
 * request is still on air when most answers leave: they are acknowledged in the same event. */
static void test_answer_waits_for_its_acknowledgement(void)
{
	struct smpfota_sim_config c;
	ble_defaults(&c, SMPFOTA_SIM_RADIO);
	c.ble.interval_us = 30000;
	c.window = 1;
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	uint32_t chunks = (uint32_t)(image_len / c.buf_size);
	CHECK(r.stats.ble_acks_next_event >= chunks);
	ble_defaults(&c, SMPFOTA_SIM_RADIO);
	c.ble.phy = 1;
	c.ble.dle = 27;
	/* 1 KB buffers: 120 chunks, so the few the engine sends alone first (its stop-and-wait
	 * reference, docs/client.md) weigh little */
	c.buf_size = 1024;
	chunks = (uint32_t)(image_len / c.buf_size);
	r = run(&c);
	check_done(&r);
	CHECK(r.stats.ble_acks_next_event < chunks / 2);
}

/* The master's trickle (gatt.h trickle_piece, docs/ble.md): while the target holds two
 * unanswered requests (here while a QSPI block erase stalls it, with three in flight), the
 * next goes in small pieces, so the connection events keep a packet of the central's after
 * the target's answers: fewer of them wait for the next event than without it. */
static void test_trickle_acknowledges_answers_sooner(void)
{
	struct smpfota_sim_config c;
	ble_defaults(&c, SMPFOTA_SIM_QSPI);
	struct smpfota_sim_result on = run(&c);
	check_done(&on);
	c.ble.trickle_piece = 0;
	struct smpfota_sim_result off = run(&c);
	check_done(&off);
	CHECK(on.stats.ble_acks_next_event < off.stats.ble_acks_next_event);
	/* over 27-octet PDUs too, in pieces that fill one PDU each */
	ble_defaults(&c, SMPFOTA_SIM_INTERNAL);
	c.ble.phy = 1;
	c.ble.dle = 27;
	on = run(&c);
	check_done(&on);
	c.ble.trickle_piece = 0;
	off = run(&c);
	check_done(&off);
	CHECK(on.stats.ble_acks_next_event < off.stats.ble_acks_next_event);
}

/* The target takes an SMP buffer at a request's first piece, as Zephyr's
 * smp_reassembly_collect() does, and frees the answered request's only after the answer's
 * acknowledgement, after the Bluetooth host handled the rest of that packet (docs/ble.md): with
 * 2 buffers, a request whose first piece rides in the packet that acknowledges the last answer
 * is dropped, every time. The master's hold (gatt.h) keeps the first piece for the next
 * packet: the update completes. */
static void test_first_piece_after_the_acknowledgement(void)
{
	struct smpfota_sim_config c;
	ble_defaults(&c, SMPFOTA_SIM_RADIO);
	c.buf_count = 2;
	c.ble.no_hold = true;
	c.max_virtual_us = 60ULL * 1000000ULL;
	struct smpfota_sim_result off = run(&c);
	CHECK(off.err != 0);
	CHECK(off.stats.frames_dropped > 10);
	c.ble.no_hold = false;
	struct smpfota_sim_result on = run(&c);
	check_done(&on);
	CHECK(on.stats.frames_dropped <= 1);
}

static void test_loss(void)
{
	struct smpfota_sim_config c;
	ble_defaults(&c, SMPFOTA_SIM_RADIO);
	struct smpfota_sim_result clean = run(&c);
	CHECK_EQ(clean.stats.retransmits, 0);
	/* nothing lost: the PDUs after a piece's first are not retransmissions */
	c.ble.phy = 1;
	c.ble.dle = 27;
	struct smpfota_sim_result frag = run(&c);
	check_done(&frag);
	CHECK_EQ(frag.stats.retransmits, 0);
	c.ble.phy = 2;
	c.ble.dle = 251;
	c.f.loss = 0.1;
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK(r.stats.lost > 0);
	CHECK(r.stats.retransmits > 0);
	CHECK(r.upload_us > clean.upload_us);
	c.f.loss = 0.3;
	c.f.ber = 1e-5;
	c.scenario = SMPFOTA_SIM_INTERNAL;
	r = run(&c);
	check_done(&r);
	CHECK(r.stats.crc_errors > 0);
}

/* When the clean run's upload is half done (virtual µs). */
static uint64_t mid_upload(const struct smpfota_sim_config *c,
			   const struct smpfota_sim_result *clean)
{
	return c->t.boot_us + c->ble.connect_us + 100000 + clean->upload_us / 2;
}

static void test_target_reset_mid_upload_resumes(void)
{
	struct smpfota_sim_config c;
	ble_defaults(&c, SMPFOTA_SIM_QSPI);
	struct smpfota_sim_result clean = run(&c);
	check_done(&clean);
	c.f.target_reset_at_us = mid_upload(&c, &clean);
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK_EQ(r.stats.target_resets, clean.stats.target_resets + 1);
	CHECK_EQ(r.stats.disconnects, clean.stats.disconnects + 1);
	/* resumed at the retained offset, not restarted */
	CHECK(r.stats.upload_bytes_written < image_len + image_len / 10);
}

static void test_dropped_connection_reconnects_and_resumes(void)
{
	struct smpfota_sim_config c;
	ble_defaults(&c, SMPFOTA_SIM_RADIO);
	struct smpfota_sim_result clean = run(&c);
	check_done(&clean);
	c.f.ble_drop_at_us = mid_upload(&c, &clean);
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK_EQ(r.stats.disconnects, clean.stats.disconnects + 1);
	CHECK_EQ(r.stats.target_resets, clean.stats.target_resets);
	CHECK(r.stats.upload_bytes_written < image_len + image_len / 10);
	/* it cost the supervision timeout and a reconnection, not a new upload */
	CHECK(r.upload_us > clean.upload_us + c.ble.sup_timeout_us);
	CHECK(r.upload_us < clean.upload_us * 2 + c.ble.sup_timeout_us + 6000000);
	/* and with loss on top */
	c.f.loss = 0.05;
	r = run(&c);
	check_done(&r);
}

static void test_master_reset_mid_upload_resumes(void)
{
	struct smpfota_sim_config c;
	ble_defaults(&c, SMPFOTA_SIM_INTERNAL);
	struct smpfota_sim_result clean = run(&c);
	check_done(&clean);
	c.f.master_reset_at_us = mid_upload(&c, &clean);
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK_EQ(r.stats.master_resets, 1);
	CHECK(r.stats.upload_bytes_written < image_len + image_len / 10);
}

static void test_power_cut_mid_upload(void)
{
	struct smpfota_sim_config c;
	ble_defaults(&c, SMPFOTA_SIM_QSPI);
	c.f.target_cut_at_op = 40;
	struct smpfota_sim_result r = run(&c);
	check_done(&r);
	CHECK_EQ(r.stats.power_cuts, 1);
}

static void test_same_seed_same_run(void)
{
	struct smpfota_sim_config c;
	ble_defaults(&c, SMPFOTA_SIM_INTERNAL);
	c.f.loss = 0.1;
	c.seed = 7;
	struct smpfota_sim_result a = run(&c), b = run(&c);
	check_done(&a);
	CHECK_EQ(a.virtual_us, b.virtual_us);
	CHECK(memcmp(&a.stats, &b.stats, sizeof(a.stats)) == 0);
}

/* A seeded sweep over BLE: loss up to 30 %, bit errors, dropped connections, target and
 * master resets, power cuts, at random times, every scenario. Every run ends with the new
 * image confirmed or a named error, never a target that cannot boot or an image confirmed
 * that is not byte-exact; a run with link faults only always completes. */
static void test_fault_sweep(void)
{
	uint64_t x = 20261203;
	for (int i = 0; i < 36; i++) {
		struct smpfota_sim_config c;
		ble_defaults(&c, (enum smpfota_sim_scenario)(i % 3));
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		c.seed = x >> 20;
		c.f.loss = (double)((x >> 8) % 31) / 100.0;
		c.f.ber = (x >> 13) % 4 == 0 ? 2e-5 : 0;
		uint64_t span = 4000000; /* the upload's first seconds */
		bool device_fault = false;
		if ((x >> 17) % 3 == 0) {
			c.f.ble_drop_at_us = 700000 + (x >> 21) % span;
		}
		if ((x >> 24) % 4 == 0) {
			c.f.target_reset_at_us = 700000 + (x >> 27) % span;
			device_fault = true;
		}
		if ((x >> 31) % 5 == 0) {
			c.f.master_reset_at_us = 700000 + (x >> 35) % span;
			device_fault = true;
		}
		if ((x >> 39) % 6 == 0) {
			c.f.target_cut_at_op = 1 + (uint32_t)((x >> 42) % 60);
			device_fault = true;
		}
		struct smpfota_sim_result r = run(&c);
		CHECK(r.target_runs != NULL && strcmp(r.target_runs, "invalid") != 0);
		CHECK(!r.confirmed || !r.ok || r.byte_exact);
		CHECK(r.ok || r.err != 0 || !r.byte_exact || !r.confirmed);
		CHECK_EQ(r.stats.spins, 0);
		if (!device_fault) {
			if (!r.ok) {
				fprintf(stderr, "sweep run %d (loss %.2f, drop %llu) failed: %d\n",
					i, c.f.loss, (unsigned long long)c.f.ble_drop_at_us, r.err);
			}
			CHECK(r.ok);
		}
	}
}

static void test_bad_config(void)
{
	struct smpfota_sim_config c;
	struct smpfota_sim_result r;
	ble_defaults(&c, SMPFOTA_SIM_RADIO);
	c.ble.interval_us = 7000; /* not a multiple of 1.25 ms, below 7.5 ms */
	CHECK_EQ(smpfota_sim_run(&c, image, image_len, &r), SMPFOTA_ERR_INVAL);
	ble_defaults(&c, SMPFOTA_SIM_RADIO);
	c.ble.dle = 252;
	CHECK_EQ(smpfota_sim_run(&c, image, image_len, &r), SMPFOTA_ERR_INVAL);
	ble_defaults(&c, SMPFOTA_SIM_RADIO);
	c.ble.att_mtu = 22;
	CHECK_EQ(smpfota_sim_run(&c, image, image_len, &r), SMPFOTA_ERR_INVAL);
	ble_defaults(&c, SMPFOTA_SIM_RADIO);
	c.ble.phy = 3;
	CHECK_EQ(smpfota_sim_run(&c, image, image_len, &r), SMPFOTA_ERR_INVAL);
}

int main(void)
{
	make_image();
	CHECK(image_len > 0);
	RUN(test_limit_against_hand_formula);
	RUN(test_buffer_ceiling);
	RUN(test_every_scenario);
	RUN(test_parameter_sets);
	RUN(test_answer_waits_for_its_acknowledgement);
	RUN(test_trickle_acknowledges_answers_sooner);
	RUN(test_first_piece_after_the_acknowledgement);
	RUN(test_loss);
	RUN(test_target_reset_mid_upload_resumes);
	RUN(test_dropped_connection_reconnects_and_resumes);
	RUN(test_master_reset_mid_upload_resumes);
	RUN(test_power_cut_mid_upload);
	RUN(test_same_seed_same_run);
	RUN(test_fault_sweep);
	RUN(test_bad_config);
	return CHECK_SUMMARY();
}
