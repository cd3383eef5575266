/*
 * smpfota sim: a master nRF5340 updates a target nRF5340 over simulated ESB, in virtual
 * time (ports/sim/sim.h). Prints progress and a summary, or one JSON object.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "posix/keyfile.h"
#include "sim/fleet.h"
#include "sim/sim.h"
#include "smpfota/smpfota.h"
#include "smpfota/update.h"

/* Timing fields settable with --timing NAME=VALUE (units as in sim.h). */
#define T(f) \
	{ \
#f, offsetof(struct smpfota_sim_timing, f), \
			sizeof(((struct smpfota_sim_timing *)0)->f) \
	}
static const struct {
	const char *name;
	size_t off, size;
} timings[] = {
	T(bitrate_kbps),
	T(preamble),
	T(address),
	T(crc),
	T(max_payload),
	T(ramp_us),
	T(txdis_us),
	T(ack_timeout_us),
	T(retransmit_delay_us),
	T(retransmit_count),
	T(t_sw_us),
	T(ipc_ring),
	T(ipc_msg_us),
	T(ipc_ns_per_byte),
	T(cpu_msg_us),
	T(aead_us),
	T(aead_ns_per_byte),
	T(boot_us),
	T(reset_delay_us),
	T(page_erase_us),
	T(word_write_us),
	T(qspi_erase_us),
	T(qspi_block_erase_us),
	T(qspi_prog_us),
	T(qspi_read_kBps),
};
#undef T

void smpfota_cli_sim_usage(FILE *f)
{
	fprintf(f,
		"usage: smpfota sim --image FILE [options]\n"
		"\n"
		"A master nRF5340 (ESB PTX) updates a target nRF5340 (ESB PRX, MCUboot + SMP server)\n"
		"over simulated ESB in virtual time: upload, test, reset, confirm. Timings from\n"
		"docs/simulator.md (2 Mbit/s, 252-byte payloads, fast ramp-up by default).\n"
		"\n"
		"  --scenario S        internal (default): secondary slot in app-core flash, erased\n"
		"                      as the upload goes; qspi: in external QSPI flash (MX25R64),\n"
		"                      erased as it goes; radio: in pre-erased QSPI flash\n"
		"  --loss P            packet loss probability (0..0.99)\n"
		"  --ack-loss P        ACK loss probability\n"
		"  --ber P             bit error rate (a packet with an error fails its CRC)\n"
		"  --replay P          probability a stale packet is replayed with a new PID\n"
		"  --seed N            random seed (default 1): same seed, same run\n"
		"  --window N          at most N chunks in flight (default over ESB: the master's\n"
		"                      " CLI_STR(
			SMPFOTA_CLIENT_MAX_INFLIGHT) " request slots but one, from the first chunk: the\n"
						     "                      bridge and ESB hold back what the target cannot take yet;\n"
						     "                      over BLE the target's buf_count - 1, learned)\n"
						     "  --naive             the baseline: link on the app core, one IPC round trip per\n"
						     "                      ESB packet, window 1\n"
						     "  --bitrate 1|2       Mbit/s (1 also sets preamble 1, tTXDIS 6, ACK timeout 300)\n"
						     "  --payload N         CONFIG_ESB_MAX_PAYLOAD_LENGTH (5..252; default 252)\n"
						     "  --slow-ramp         default radio ramp-up (130 us) instead of fast (40 us)\n"
						     "  --buf-size N        target MCUmgr buffer size (default 2475)\n"
						     "  --buf-count N       target MCUmgr buffer count (default 4)\n"
						     "  --target-reset-at S warm-reset the target at S virtual seconds\n"
						     "  --target-cut-at-op N  cut the target's power at its Nth flash write/erase\n"
						     "  --master-reset-at S restart the master at S virtual seconds\n"
						     "  --link esb|ble      the link (default esb); ble: the master is a central, the\n"
						     "                      target a Zephyr-like smp_bt peripheral running smpfota's\n"
						     "                      server (docs/ble.md); the options below set it up\n"
						     "  --ble-interval MS   connection interval (7.5..4000, multiple of 1.25; 7.5)\n"
						     "  --ble-event-len MS  radio time per connection event (default: the interval)\n"
						     "  --ble-pdus N        packet pairs per connection event at most (0: as fit)\n"
						     "  --ble-trickle N     while the target holds two unanswered requests, the next\n"
						     "                      goes in N-byte pieces, two at a time (default 8; with\n"
						     "                      --ble-dle below 251, pieces that fill one PDU; 0: off)\n"
						     "  --ble-phy 1|2       LE 1M or LE 2M (default 2)\n"
						     "  --ble-dle N         link-layer data length, 27..251 (default 251)\n"
						     "  --ble-mtu N         ATT MTU, 23..517 (default 247)\n"
						     "  --ble-no-reassembly the target lacks CONFIG_MCUMGR_TRANSPORT_BT_REASSEMBLY\n"
						     "  --ble-no-hold       the master sends a request's first piece right after an\n"
						     "                      answer (a baseline: a target with all its buffers in use\n"
						     "                      drops it, docs/ble.md)\n"
						     "  --ble-encrypted     a paired, encrypted link (4-byte MIC per data PDU)\n"
						     "  --ble-drop-at S     the connection is lost at S virtual seconds\n"
						     "  --key FILE          (global) master and target talk through the secure channel\n"
						     "                      with this key (docs/security.md)\n"
						     "  --attack KINDS      with --key: an attacker injects frames at random times during\n"
						     "                      the run; KINDS (comma-separated, or all): forge, replay,\n"
						     "                      replay-old-session, bitflip, truncate, reorder, wrong-key,\n"
						     "                      plaintext; --json reports attacks: {kind: {sent, accepted}}\n"
						     "  --attack-rate N     injected frames per virtual second, all kinds (default 50)\n"
						     "  --max-failures N    failed frames that end a session (default 8)\n"
						     "  --timing NAME=V     override a timing constant (repeatable); NAME one of:\n"
						     "                      ");
	for (size_t i = 0; i < sizeof(timings) / sizeof(timings[0]); i++) {
		fprintf(f, "%s%s", timings[i].name,
			i + 1 < sizeof(timings) / sizeof(timings[0]) ? ", " : "\n");
		if (i % 4 == 3) {
			fprintf(f, "\n                      ");
		}
	}
	fprintf(f,
		"  --max-time S        give up after S virtual seconds (default below)\n"
		"  --targets N         one master updates N targets (1..%u) with the fleet\n"
		"                      scheduler; --json then gives per target its outcome, virtual\n"
		"                      time and the bytes the master sent to it (docs/fleet.md)\n"
		"  --fleet MODE        unicast (default): all uploads at once, sharing the radio;\n"
		"                      sequential: one target at a time (the baseline);\n"
		"                      broadcast: the image once to all (noack packets, repair\n"
		"                      rounds), unicast for the targets it dropped\n"
		"  --max-reboots N     unicast: targets rebooting at once (default: all)\n"
		"  --target-fault I:F  target I's own fault, F one or more of dead, loss=P,\n"
		"                      reset=S (warm reset at S virtual s), cut=N (power cut at its\n"
		"                      Nth flash operation), joined by commas; repeatable\n"
		"  --quiet             no progress lines\n"
		"  --json              one JSON object on stdout\n",
		SMPFOTA_SIM_FLEET_MAX);
	struct smpfota_sim_config d;
	smpfota_sim_defaults(&d, SMPFOTA_SIM_INTERNAL);
	fprintf(f,
		"\n"
		"Limits: the image must fit the target's 0x%x-byte slot (less MCUboot's trailer);\n"
		"a run gives up after %.0f virtual seconds (--max-time) and then fails with TIMEDOUT\n"
		"at the step it had reached; --loss and --ack-loss below 1, --ber below 0.01.\n"
		"\n"
		"Exit status: 0 when the update completed (target runs the new image, confirmed),\n"
		"1 when it did not (the summary names the step and the error), 2 for usage errors.\n",
		(unsigned)d.slot_size, (double)d.max_virtual_us / 1e6);
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) {
		return false;
	}
	*out = v;
	return true;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (end == s || *end || errno || s[0] == '-' || v > max) {
		return false;
	}
	*out = v;
	return true;
}

static bool set_timing(struct smpfota_sim_timing *t, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (eq == NULL) {
		return false;
	}
	for (size_t i = 0; i < sizeof(timings) / sizeof(timings[0]); i++) {
		if (strlen(timings[i].name) == (size_t)(eq - arg) &&
		    !strncmp(arg, timings[i].name, (size_t)(eq - arg))) {
			uint64_t v;
			uint64_t max = timings[i].size == 1   ? 0xff
				       : timings[i].size == 2 ? 0xffff
							      : 0xffffffff;
			if (!parse_u64(eq + 1, max, &v)) {
				return false;
			}
			uint8_t *p = (uint8_t *)t + timings[i].off;
			if (timings[i].size == 1) {
				*p = (uint8_t)v;
			} else if (timings[i].size == 2) {
				uint16_t x = (uint16_t)v;
				memcpy(p, &x, 2);
			} else {
				uint32_t x = (uint32_t)v;
				memcpy(p, &x, 4);
			}
			return true;
		}
	}
	return false;
}

static void on_log(void *user, uint64_t t_us, const char *line)
{
	(void)user;
	fprintf(stderr, "[%9.3f s] %s\n", (double)t_us / 1e6, line);
}

/* An error of sim: status 2 is a usage error; with --json one object on stdout too. */
static int sim_error(bool json, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int sim_error(bool json, int status, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status == 2) {
		return smpfota_cli_usage_error(json, "sim", msg);
	}
	struct smpfota_cli_error e = {.what = "sim", .name = "IO", .message = msg};
	return smpfota_cli_report(json, &e, status);
}

static int load(bool json, const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		return sim_error(json, 1, "%s: %s", path, strerror(errno));
	}
	size_t cap = 1 << 20, n = 0;
	uint8_t *p = malloc(cap);
	size_t got;
	while (p && (got = fread(p + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			uint8_t *q = realloc(p, cap *= 2);
			if (q == NULL) {
				free(p);
				p = NULL;
			}
			p = q;
		}
	}
	fclose(f);
	if (p == NULL) {
		return sim_error(json, 1, "%s: out of memory", path);
	}
	*buf = p;
	*len = n;
	return 0;
}

static void print_json(const struct smpfota_sim_config *c, const struct smpfota_sim_result *r)
{
	const char *err = r->err          ? smpfota_errname(r->err)
			  : r->ok         ? NULL
			  : r->byte_exact ? "NOT_CONFIRMED"
					  : "NOT_BYTE_EXACT";
	printf("{\"link\":\"%s\",", c->link == SMPFOTA_SIM_LINK_BLE ? "ble" : "esb");
	if (c->link == SMPFOTA_SIM_LINK_BLE) {
		printf("\"ble\":{\"interval_us\":%u,\"event_len_us\":%u,\"pdus_per_event\":%u,"
		       "\"phy\":%u,\"dle\":%u,\"att_mtu\":%u,\"reassembly\":%s,\"encrypted\":%s,"
		       "\"trickle_piece\":%u},",
		       c->ble.interval_us, c->ble.ce_len_us, c->ble.pdus_per_event, c->ble.phy,
		       c->ble.dle, c->ble.att_mtu, c->ble.no_reassembly ? "false" : "true",
		       c->ble.encrypted ? "true" : "false", c->ble.trickle_piece);
	}
	printf("\"ok\":%s,\"error\":%s%s%s,\"step\":\"%s\",\"scenario\":\"%s\",\"naive\":%s,"
	       "\"seed\":%llu,\"byte_exact\":%s,\"confirmed\":%s,\"target_runs\":\"%s\",\"image_bytes\":%u,"
	       "\"virtual_us\":%llu,\"upload_us\":%llu,",
	       r->ok ? "true" : "false", err ? "\"" : "", err ? err : "null", err ? "\"" : "",
	       smpfota_update_step_name(r->step), smpfota_sim_scenario_name(c->scenario),
	       c->naive ? "true" : "false", (unsigned long long)c->seed,
	       r->byte_exact ? "true" : "false", r->confirmed ? "true" : "false",
	       r->target_runs ? r->target_runs : "?", r->image_bytes,
	       (unsigned long long)r->virtual_us, (unsigned long long)r->upload_us);
	printf("\"virtual_s\":%.6f,\"upload_s\":%.6f,\"goodput_kBps\":%.3f,\"limit_kBps\":%.3f,"
	       "\"radio_limit_kBps\":%.3f,\"flash_limit_kBps\":%.3f,\"ratio\":%.4f,"
	       "\"buffer_ceiling_kBps\":%.3f,",
	       (double)r->virtual_us / 1e6, (double)r->upload_us / 1e6, r->goodput_kBps,
	       r->limit_kBps, smpfota_sim_radio_limit_kBps(c), smpfota_sim_flash_limit_kBps(c),
	       r->limit_kBps > 0 ? r->goodput_kBps / r->limit_kBps : 0.0,
	       smpfota_sim_buffer_ceiling_kBps(c));
	const struct smpfota_sim_stats *s = &r->stats;
	printf("\"stats\":{\"packets\":%u,\"upload_packets\":%u,\"retransmits\":%u,\"upload_retransmits\":%u,\"lost\":%u,\"ack_lost\":%u,"
	       "\"crc_errors\":%u,\"replays\":%u,\"withheld\":%u,\"tx_failed\":%u,\"polls\":%u,"
	       "\"ipc_msgs\":%u,\"ipc_full\":%u,\"link_drops\":%u,\"frames_to_target\":%u,"
	       "\"frames_from_master\":%u,\"target_resets\":%u,\"master_resets\":%u,"
	       "\"power_cuts\":%u,\"flash_erases\":%u,\"flash_writes\":%u,\"upload_bytes_written\":%u,\"spins\":%u,\"app_busy_us\":%llu,"
	       "\"ble_events\":%u,\"disconnects\":%u,\"frames_dropped\":%u,"
	       "\"ble_acks_next_event\":%u}",
	       s->packets, s->upload_packets, s->retransmits, s->upload_retransmits, s->lost,
	       s->ack_lost, s->crc_errors, s->replays, s->withheld, s->tx_failed, s->polls,
	       s->ipc_msgs, s->ipc_full, s->link_drops, s->frames_to_target, s->frames_from_master,
	       s->target_resets, s->master_resets, s->power_cuts, s->flash_erases, s->flash_writes,
	       s->upload_bytes_written, s->spins, (unsigned long long)s->app_busy_us, s->ble_events,
	       s->disconnects, s->frames_dropped, s->ble_acks_next_event);
	if (c->sec.on) {
		const struct smpfota_secure_stats *side[2] = {&r->sec_master, &r->sec_target};
		printf(",\"secure\":{");
		for (int i = 0; i < 2; i++) {
			const struct smpfota_secure_stats *x = side[i];
			printf("%s\"%s\":{\"sessions\":%u,\"sent\":%u,\"delivered\":%u,"
			       "\"auth_failed\":%u,\"replayed\":%u,\"malformed\":%u,\"no_session\":%u,"
			       "\"plaintext\":%u,\"unknown_key\":%u,\"ended\":%u,\"rejects\":%u,"
			       "\"handshakes\":%u}",
			       i ? "," : "", i ? "target" : "master", x->sessions, x->sent,
			       x->delivered, x->auth_failed, x->replayed, x->malformed,
			       x->no_session, x->plaintext, x->unknown_key, x->ended, x->rejects,
			       x->handshakes);
		}
		printf("},\"overhead_bytes_per_frame\":%u,\"attacks\":{",
		       (unsigned)SMPFOTA_SECURE_OVERHEAD);
		bool first = true;
		for (unsigned k = 0; k < SMPFOTA_SIM_ATTACK_KINDS; k++) {
			if (c->sec.attacks & (1U << k)) {
				printf("%s\"%s\":{\"sent\":%u,\"accepted\":%u}", first ? "" : ",",
				       smpfota_sim_attack_name((enum smpfota_sim_attack)k),
				       r->attacks[k].sent, r->attacks[k].accepted);
				first = false;
			}
		}
		printf("}");
	}
	printf("}\n");
}

/* --attack KINDS: names separated by commas, or "all". */
static bool parse_attacks(const char *arg, uint32_t *out)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", arg);
	*out = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "all")) {
			*out |= (1U << SMPFOTA_SIM_ATTACK_KINDS) - 1U;
			continue;
		}
		int k = smpfota_sim_attack_parse(t);
		if (k < 0) {
			return false;
		}
		*out |= 1U << k;
	}
	return *out != 0;
}

/* The text summary: what happened, at which step, and the counts the JSON gives too. */
static void print_summary(const struct smpfota_sim_config *c, const struct smpfota_sim_result *r)
{
	const char *step = smpfota_update_step_name(r->step);
	if (r->ok) {
		printf("update done: the target runs the new image, confirmed, byte-exact\n");
	} else if (r->err) {
		printf("update FAILED at step %s: %s (%s)\n", step, smpfota_strerror(r->err),
		       smpfota_errname(r->err));
	} else {
		printf("update FAILED: the target %s\n",
		       r->byte_exact ? "runs the image, not confirmed" : "does not hold the image");
	}
	printf("virtual time  %.3f s in all", (double)r->virtual_us / 1e6);
	if (r->upload_us == 0) {
		printf("; the upload did not start\n");
	} else if (r->goodput_kBps > 0) {
		printf(", upload %.3f s\n", (double)r->upload_us / 1e6);
	} else {
		printf(", upload %.3f s until the run stopped (%u of %u bytes written)\n",
		       (double)r->upload_us / 1e6, r->stats.upload_bytes_written, r->image_bytes);
	}
	if (r->goodput_kBps > 0) {
		printf("goodput       %.1f kB/s (image bytes / upload time)\n", r->goodput_kBps);
	}
	printf("limit         %.1f kB/s (%s; radio %.1f, flash path %.1f)\n", r->limit_kBps,
	       smpfota_sim_radio_limit_kBps(c) <= smpfota_sim_flash_limit_kBps(c) ? "radio-bound"
										  : "flash-bound",
	       smpfota_sim_radio_limit_kBps(c), smpfota_sim_flash_limit_kBps(c));
	if (r->goodput_kBps > 0) {
		printf("ratio         %.1f %% of the limit\n",
		       r->limit_kBps > 0 ? 100.0 * r->goodput_kBps / r->limit_kBps : 0.0);
	}
	double ceil = smpfota_sim_buffer_ceiling_kBps(c);
	if (ceil < r->limit_kBps) {
		printf("ceiling       %.1f kB/s (%u target buffers during 64 KB block erases, "
		       "docs/ble.md)%s",
		       ceil, (unsigned)c->buf_count, r->goodput_kBps > 0 ? "" : "\n");
		if (r->goodput_kBps > 0) {
			printf(": %.1f %% of it\n", 100.0 * r->goodput_kBps / ceil);
		}
	}
	/* the same counters as the JSON's stats: packets, retransmits, upload_* */
	printf("radio         %u packets, %u retransmissions in all; during the upload %u packets, "
	       "%u retransmissions\n",
	       r->stats.packets, r->stats.retransmits, r->stats.upload_packets,
	       r->stats.upload_retransmits);
	if (r->stats.packets > r->stats.upload_packets && r->stats.target_resets > 0 &&
	    r->step > SMPFOTA_UPDATE_UPLOAD) {
		printf("              after the upload, most went unanswered while the target was off "
		       "the air (%u reset%s, MCUboot swap)\n",
		       r->stats.target_resets, r->stats.target_resets == 1 ? "" : "s");
	}
}

int smpfota_cli_sim(const struct smpfota_cli_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{"image", required_argument, 0, 'i'},
		{"scenario", required_argument, 0, 's'},
		{"loss", required_argument, 0, 'l'},
		{"ack-loss", required_argument, 0, 'a'},
		{"ber", required_argument, 0, 'e'},
		{"replay", required_argument, 0, 'r'},
		{"seed", required_argument, 0, 'S'},
		{"window", required_argument, 0, 'w'},
		{"naive", no_argument, 0, 'n'},
		{"bitrate", required_argument, 0, 'b'},
		{"payload", required_argument, 0, 'p'},
		{"slow-ramp", no_argument, 0, 'R'},
		{"buf-size", required_argument, 0, 'B'},
		{"buf-count", required_argument, 0, 'C'},
		{"target-reset-at", required_argument, 0, 'T'},
		{"target-cut-at-op", required_argument, 0, 'X'},
		{"master-reset-at", required_argument, 0, 'M'},
		{"timing", required_argument, 0, 't'},
		{"link", required_argument, 0, 'L'},
		{"ble-interval", required_argument, 0, 1001},
		{"ble-event-len", required_argument, 0, 1002},
		{"ble-phy", required_argument, 0, 1003},
		{"ble-dle", required_argument, 0, 1004},
		{"ble-mtu", required_argument, 0, 1005},
		{"ble-no-reassembly", no_argument, 0, 1006},
		{"ble-encrypted", no_argument, 0, 1007},
		{"ble-drop-at", required_argument, 0, 1008},
		{"attack", required_argument, 0, 1101},
		{"attack-rate", required_argument, 0, 1102},
		{"max-failures", required_argument, 0, 1103},
		{"ble-pdus", required_argument, 0, 1014},
		{"ble-trickle", required_argument, 0, 1015},
		{"ble-no-hold", no_argument, 0, 1016},
		{"quiet", no_argument, 0, 'q'},
		{"max-time", required_argument, 0, 1009},
		{"json", no_argument, 0, 'j'},
		{"targets", required_argument, 0, 1110},
		{"fleet", required_argument, 0, 1111},
		{"max-reboots", required_argument, 0, 1112},
		{"target-fault", required_argument, 0, 1113},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	struct smpfota_sim_config c;
	smpfota_sim_defaults(&c, SMPFOTA_SIM_INTERNAL);
	const char *image = NULL;
	bool json = o->json, quiet = false;
	/* options that depend on others are applied after parsing */
	int scenario = SMPFOTA_SIM_INTERNAL;
	uint64_t bitrate = 2, payload = 0;
	bool slow = false;
	/* --targets: the fleet simulator (cli_fleet.c) */
	static struct smpfota_sim_fleet_config fc;
	memset(&fc, 0, sizeof(fc));
	const char *overrides[32];
	size_t n_over = 0;
	double d;
	uint64_t u;

	optind = 1;
	int ch;
	opterr = 0; /* the messages are ours (sim_error), in JSON too */
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			image = optarg;
			break;
		case 's':
			scenario = smpfota_sim_scenario_parse(optarg);
			if (scenario < 0) {
				return sim_error(json, 2,
						 "unknown --scenario %s (radio, internal, qspi)",
						 optarg);
			}
			break;
		case 'l':
		case 'a':
		case 'e':
		case 'r':
			if (!parse_double(optarg, 0,
					  ch == 'e'   ? 0.001
					  : ch == 'r' ? 1
						      : 0.99,
					  &d)) {
				return sim_error(json, 2, "bad probability: %s", optarg);
			}
			*(ch == 'l'   ? &c.f.loss
			  : ch == 'a' ? &c.f.ack_loss
			  : ch == 'e' ? &c.f.ber
				      : &c.f.replay) = d;
			break;
		case 'S':
			if (!parse_u64(optarg, UINT64_MAX, &c.seed)) {
				return sim_error(json, 2, "bad --seed: %s", optarg);
			}
			break;
		case 'w':
			/* one of the master's request slots stays free for a probe */
			if (!parse_u64(optarg, SMPFOTA_CLIENT_MAX_INFLIGHT - 1, &u) || u < 1) {
				return sim_error(json, 2, "bad --window: %s (1..%u)", optarg,
						 SMPFOTA_CLIENT_MAX_INFLIGHT - 1);
			}
			c.window = (uint8_t)u;
			break;
		case 'n':
			c.naive = true;
			break;
		case 'b':
			if (!parse_u64(optarg, 2, &bitrate) || bitrate < 1) {
				return sim_error(json, 2, "bad --bitrate: %s (1 or 2)", optarg);
			}
			break;
		case 'p':
			if (!parse_u64(optarg, 252, &payload) || payload < 5) {
				return sim_error(json, 2, "bad --payload: %s (5..252)", optarg);
			}
			break;
		case 'R':
			slow = true;
			break;
		case 'B':
		case 'C':
			if (!parse_u64(optarg, 4096, &u) || u < 1) {
				return sim_error(json, 2, "bad %s: %s",
						 ch == 'B' ? "--buf-size" : "--buf-count", optarg);
			}
			*(ch == 'B' ? &c.buf_size : &c.buf_count) = (uint32_t)u;
			break;
		case 'T':
		case 'M':
			if (!parse_double(optarg, 0.000001, 3600, &d)) {
				return sim_error(json, 2, "bad time: %s (virtual seconds)", optarg);
			}
			*(ch == 'T' ? &c.f.target_reset_at_us
				    : &c.f.master_reset_at_us) = (uint64_t)(d * 1e6);
			break;
		case 'X':
			if (!parse_u64(optarg, UINT32_MAX, &u) || u < 1) {
				return sim_error(json, 2, "bad --target-cut-at-op: %s", optarg);
			}
			c.f.target_cut_at_op = (uint32_t)u;
			break;
		case 't':
			if (n_over == sizeof(overrides) / sizeof(overrides[0])) {
				return 2;
			}
			overrides[n_over++] = optarg;
			break;
		case 'L':
			if (strcmp(optarg, "esb") && strcmp(optarg, "ble")) {
				return sim_error(json, 2, "unknown --link %s (esb, ble)", optarg);
			}
			c.link = strcmp(optarg, "ble") ? SMPFOTA_SIM_LINK_ESB
						       : SMPFOTA_SIM_LINK_BLE;
			break;
		case 1001:
		case 1002:
		case 1008:
			if (!parse_double(optarg, 0.000001, ch == 1008 ? 3600 : 4000, &d)) {
				return sim_error(json, 2, "bad %s: %s", argv[optind - 1], optarg);
			}
			if (ch == 1001) {
				c.ble.interval_us = (uint32_t)(d * 1000 + 0.5);
			} else if (ch == 1002) {
				c.ble.ce_len_us = (uint32_t)(d * 1000 + 0.5);
			} else {
				c.f.ble_drop_at_us = (uint64_t)(d * 1e6);
			}
			break;
		case 1003:
		case 1004:
		case 1005:
			if (!parse_u64(optarg, 517, &u)) {
				return sim_error(json, 2, "bad %s: %s", argv[optind - 1], optarg);
			}
			if (ch == 1003) {
				c.ble.phy = (uint8_t)u;
			} else if (ch == 1004) {
				c.ble.dle = (uint16_t)u;
			} else {
				c.ble.att_mtu = (uint16_t)u;
			}
			break;
		case 1014:
			if (!parse_u64(optarg, 255, &u)) {
				return sim_error(json, 2, "bad --ble-pdus: %s (0..255)", optarg);
			}
			c.ble.pdus_per_event = (uint8_t)u;
			break;
		case 1015:
			if (!parse_u64(optarg, 512, &u)) {
				return sim_error(json, 2, "bad --ble-trickle: %s (0..512)", optarg);
			}
			c.ble.trickle_piece = (uint16_t)u;
			break;
		case 1006:
			c.ble.no_reassembly = true;
			break;
		case 1016:
			c.ble.no_hold = true;
			break;
		case 1007:
			c.ble.encrypted = true;
			break;
		case 1101:
			if (!parse_attacks(optarg, &c.sec.attacks)) {
				return smpfota_cli_usage_error(
					json, "sim",
					"bad --attack: names from "
					"forge, replay, replay-old-session, bitflip, "
					"truncate, reorder, wrong-key, plaintext, or all");
			}
			break;
		case 1102:
			if (!parse_u64(optarg, 100000, &u) || u == 0) {
				return smpfota_cli_usage_error(json, "sim",
							       "bad --attack-rate: frames per "
							       "virtual second, 1..100000");
			}
			c.sec.attack_rate = (uint32_t)u;
			break;
		case 1103:
			if (!parse_u64(optarg, 65535, &u) || u == 0) {
				return smpfota_cli_usage_error(json, "sim",
							       "bad --max-failures: 1..65535");
			}
			c.sec.max_failures = (uint16_t)u;
			break;
		case 'q':
			quiet = true;
			break;
		case 1009:
			if (!parse_double(optarg, 0.001, 1e6, &d)) {
				return sim_error(json, 2, "bad --max-time: %s (virtual seconds)",
						 optarg);
			}
			c.max_virtual_us = (uint64_t)(d * 1e6);
			break;
		case 'j':
			json = true;
			break;
		case 1110:
			if (!parse_u64(optarg, SMPFOTA_SIM_FLEET_MAX, &u) || u == 0) {
				return sim_error(json, 2, "bad --targets: %s (1..%u)", optarg,
						 SMPFOTA_SIM_FLEET_MAX);
			}
			fc.n = (unsigned)u;
			break;
		case 1111:
			if (smpfota_sim_fleet_mode_parse(optarg) < 0) {
				return sim_error(
					json, 2,
					"unknown --fleet %s (unicast, sequential, broadcast)",
					optarg);
			}
			fc.mode = (enum smpfota_sim_fleet_mode)smpfota_sim_fleet_mode_parse(optarg);
			break;
		case 1112:
			if (!parse_u64(optarg, SMPFOTA_SIM_FLEET_MAX, &u) || u == 0) {
				return sim_error(json, 2, "bad --max-reboots: %s", optarg);
			}
			fc.max_reboots = (uint16_t)u;
			break;
		case 1113:
			if (!smpfota_cli_fleet_fault(&fc, optarg)) {
				return sim_error(json, 2,
						 "bad --target-fault: %s (I:dead, I:loss=P, "
						 "I:reset=S, I:cut=N)",
						 optarg);
			}
			break;
		case 'h':
			smpfota_cli_sim_usage(stdout);
			return 0;
		default:
			return sim_error(json, 2,
					 ch == ':' ? "option '%s' needs a value"
						   : "unknown option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind != argc) {
		return sim_error(json, 2, "unexpected argument '%s'", argv[optind]);
	}
	if (image == NULL) {
		return sim_error(json, 2,
				 "expected --image FILE (an MCUboot image, imgtool-signed)");
	}
	c.scenario = (enum smpfota_sim_scenario)scenario;
	if (o->key != NULL) {
		const char *why = NULL;
		if (smpfota_keyfile_read(o->key, c.sec.key, &why) != 0) {
			char msg[512];
			snprintf(msg, sizeof(msg), "--key %s: %s", o->key,
				 why ? why : strerror(errno));
			return smpfota_cli_usage_error(json, "sim", msg);
		}
		c.sec.on = true;
	} else if (c.sec.attacks) {
		return smpfota_cli_usage_error(json, "sim",
					       "--attack needs --key FILE: the attacks "
					       "are against the secure channel");
	}
	if (bitrate == 1) {
		c.t.bitrate_kbps = 1000;
		c.t.preamble = 1;
		c.t.txdis_us = 6;
		c.t.ack_timeout_us = 300;
	}
	if (payload) {
		c.t.max_payload = (uint8_t)payload;
	}
	if (slow) {
		c.t.ramp_us = 130;
	}
	for (size_t i = 0; i < n_over; i++) {
		if (!set_timing(&c.t, overrides[i])) {
			return sim_error(json, 2, "bad --timing %s", overrides[i]);
		}
	}
	if (!quiet && !json) {
		c.log = on_log;
	}

	uint8_t *img = NULL;
	size_t len = 0;
	if (load(json, image, &img, &len) != 0) {
		return 1;
	}
	if (len > c.slot_size) {
		free(img);
		return sim_error(json, 2,
				 "--image %s: %zu bytes do not fit the target's 0x%x-byte "
				 "slot (%u bytes)",
				 image, len, (unsigned)c.slot_size, (unsigned)c.slot_size);
	}
	if (fc.n != 0) {
		fc.base = &c;
		int frc = smpfota_cli_sim_fleet(&fc, img, len, image, json);
		free(img);
		return frc;
	}
	if (!json && c.link == SMPFOTA_SIM_LINK_BLE) {
		printf("smpfota sim: %s, %zu bytes, scenario %s, BLE LE %uM, interval %.2f ms, data "
		       "length %u, ATT MTU %u%s%s, loss %.3g, seed %llu\n",
		       image, len, smpfota_sim_scenario_name(c.scenario), c.ble.phy,
		       c.ble.interval_us / 1000.0, c.ble.dle, c.ble.att_mtu,
		       c.ble.no_reassembly ? ", no reassembly" : "",
		       c.ble.encrypted ? ", encrypted" : "", c.f.loss, (unsigned long long)c.seed);
		fflush(stdout);
	} else if (!json) {
		printf("smpfota sim: %s, %zu bytes, scenario %s%s, ESB %u Mbit/s, %u-byte payloads, "
		       "%s ramp-up, loss %.3g, ACK loss %.3g, seed %llu\n",
		       image, len, smpfota_sim_scenario_name(c.scenario),
		       c.naive ? " (naive baseline)" : "", c.t.bitrate_kbps / 1000, c.t.max_payload,
		       c.t.ramp_us <= 40 ? "fast" : "default", c.f.loss, c.f.ack_loss,
		       (unsigned long long)c.seed);
		fflush(stdout);
	}
	struct smpfota_sim_result r;
	int rc = smpfota_sim_run(&c, img, len, &r);
	free(img);
	if (rc != 0) {
		return sim_error(json, rc == SMPFOTA_ERR_INVAL ? 2 : 1, "%s: %s (%s)%s", image,
				 smpfota_strerror(rc), smpfota_errname(rc),
				 rc == SMPFOTA_ERR_INVAL
					 ? ": the image with MCUboot's trailer must fit "
					   "the slot; see smpfota sim --help for the limits"
					 : "");
	}
	if (json) {
		print_json(&c, &r);
	} else {
		print_summary(&c, &r);
		if (c.sec.on) {
			printf("secure        %u-byte overhead per frame; sessions: master opened %u, "
			       "target ended %u after failed frames\n",
			       (unsigned)SMPFOTA_SECURE_OVERHEAD, r.sec_master.sessions,
			       r.sec_target.ended);
		}
		for (unsigned k = 0; k < SMPFOTA_SIM_ATTACK_KINDS; k++) {
			if (c.sec.attacks & (1U << k)) {
				printf("attack        %-19s %6u sent, %u accepted\n",
				       smpfota_sim_attack_name((enum smpfota_sim_attack)k),
				       r.attacks[k].sent, r.attacks[k].accepted);
			}
		}
	}
	return r.ok ? 0 : 1;
}
