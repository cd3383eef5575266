/*
 * smpfota sim --targets N: one master updates N targets (ports/sim/fleet.h). Per-target
 * faults come from --target-fault; the output is a summary table, or one JSON object with
 * the overall virtual time and, per target, its outcome, virtual time and the bytes the
 * master sent to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "sim/fleet.h"
#include "smpfota/bcast.h"
#include "smpfota/fleet.h"
#include "smpfota/smpfota.h"
#include "smpfota/update.h"

/* "I:dead", "I:loss=P", "I:reset=S", "I:cut=N", several joined by commas after one "I:". */
bool smpfota_cli_fleet_fault(struct smpfota_sim_fleet_config *fc, const char *spec)
{
	char *end;
	unsigned long i = strtoul(spec, &end, 10);
	if (end == spec || *end != ':' || i >= SMPFOTA_SIM_FLEET_MAX) {
		return false;
	}
	struct smpfota_sim_target_faults *tf = &fc->tf[i];
	const char *p = end + 1;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		char item[64];
		if (n == 0 || n >= sizeof(item)) {
			return false;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		p += n + (p[n] == ',');
		char *val = strchr(item, '=');
		if (val != NULL) {
			*val++ = '\0';
		}
		if (strcmp(item, "dead") == 0 && val == NULL) {
			tf->dead = true;
			continue;
		}
		if (val == NULL || *val == '\0') {
			return false;
		}
		double d = strtod(val, &end);
		if (*end != '\0' || d < 0) {
			return false;
		}
		if (strcmp(item, "loss") == 0 && d < 1) {
			tf->loss = d;
		} else if (strcmp(item, "reset") == 0 && d > 0 && d < 1e6) {
			tf->reset_at_us = (uint64_t)(d * 1e6);
		} else if (strcmp(item, "cut") == 0 && d >= 1 && d < 4e9) {
			tf->cut_at_op = (uint32_t)d;
		} else {
			return false;
		}
	}
	return true;
}

static void print_json(const struct smpfota_sim_fleet_config *fc,
		       const struct smpfota_sim_fleet_result *r)
{
	struct json_writer j;
	json_init(&j, stdout, 0);
	json_begin_object(&j);
	json_key(&j, "fleet");
	json_string(&j, smpfota_sim_fleet_mode_name(fc->mode));
	json_key(&j, "targets");
	json_uint(&j, fc->n);
	json_key(&j, "scenario");
	json_string(&j, smpfota_sim_scenario_name(fc->base->scenario));
	json_key(&j, "loss_ppm");
	json_uint(&j, (unsigned long long)(fc->base->f.loss * 1e6 + 0.5));
	json_key(&j, "seed");
	json_uint(&j, fc->base->seed);
	json_key(&j, "ok");
	json_bool(&j, r->ok);
	json_key(&j, "updated");
	json_uint(&j, r->updated);
	json_key(&j, "image_bytes");
	json_uint(&j, r->image_bytes);
	json_key(&j, "virtual_us");
	json_uint(&j, r->virtual_us);
	json_key(&j, "distributed_us");
	json_uint(&j, r->distributed_us);
	json_key(&j, "packets");
	json_uint(&j, r->packets);
	json_key(&j, "readdresses");
	json_uint(&j, r->readdresses);
	json_key(&j, "master_resets");
	json_uint(&j, r->master_resets);
	json_key(&j, "spins");
	json_uint(&j, r->spins);
	if (fc->mode == SMPFOTA_SIM_FLEET_BROADCAST) {
		json_key(&j, "bcast_us");
		json_uint(&j, r->bcast_us);
		json_key(&j, "bcast_packets");
		json_uint(&j, r->bcast_packets);
		json_key(&j, "bcast_repairs");
		json_uint(&j, r->bcast_repairs);
	}
	json_key(&j, "per_target");
	json_begin_array(&j);
	for (unsigned i = 0; i < fc->n; i++) {
		const struct smpfota_sim_fleet_target *t = &r->t[i];
		json_begin_object(&j);
		json_key(&j, "index");
		json_uint(&j, i);
		json_key(&j, "outcome");
		json_string(&j, smpfota_fleet_outcome_name(t->outcome));
		json_key(&j, "error");
		json_string(&j, t->err ? smpfota_errname(t->err) : NULL);
		json_key(&j, "step");
		json_string(&j, smpfota_update_step_name(t->step));
		json_key(&j, "virtual_us");
		json_uint(&j, t->virtual_us);
		json_key(&j, "staged_us");
		json_uint(&j, t->staged_us);
		json_key(&j, "bytes_sent");
		json_uint(&j, t->bytes_sent);
		json_key(&j, "packets");
		json_uint(&j, t->packets);
		json_key(&j, "byte_exact");
		json_bool(&j, t->byte_exact);
		json_key(&j, "confirmed");
		json_bool(&j, t->confirmed);
		json_key(&j, "resets");
		json_uint(&j, t->resets);
		if (fc->mode == SMPFOTA_SIM_FLEET_BROADCAST) {
			json_key(&j, "broadcast");
			json_string(&j, smpfota_bcast_result_name(t->bcast));
		}
		json_end_object(&j);
	}
	json_end_array(&j);
	json_end_object(&j);
	(void)json_finish(&j);
}

static void print_table(const struct smpfota_sim_fleet_config *fc,
			const struct smpfota_sim_fleet_result *r)
{
	printf("%-6s %-12s %-16s %10s %10s %12s %7s\n", "target", "outcome", "error", "staged s",
	       "done s", "bytes sent", "resets");
	for (unsigned i = 0; i < fc->n; i++) {
		const struct smpfota_sim_fleet_target *t = &r->t[i];
		printf("%-6u %-12s %-16s %10.3f %10.3f %12llu %7u\n", i,
		       smpfota_fleet_outcome_name(t->outcome),
		       t->err ? smpfota_errname(t->err) : "-", (double)t->staged_us / 1e6,
		       (double)t->virtual_us / 1e6, (unsigned long long)t->bytes_sent, t->resets);
	}
	printf("%u of %u targets updated in %.3f virtual s (distribution %.3f s), %u packets, "
	       "%u pipe addressings%s\n",
	       r->updated, fc->n, (double)r->virtual_us / 1e6, (double)r->distributed_us / 1e6,
	       r->packets, r->readdresses, r->master_resets ? ", master restarted" : "");
	if (fc->mode == SMPFOTA_SIM_FLEET_BROADCAST) {
		printf("broadcast: %.3f s, %u packets (%u in repair rounds); per target:",
		       (double)r->bcast_us / 1e6, r->bcast_packets, r->bcast_repairs);
		for (unsigned i = 0; i < fc->n; i++) {
			printf(" %s", smpfota_bcast_result_name(r->t[i].bcast));
		}
		printf("\n");
	}
}

int smpfota_cli_sim_fleet(const struct smpfota_sim_fleet_config *fc, const uint8_t *img, size_t len,
			  const char *name, bool json)
{
	if (!json) {
		printf("smpfota sim: %s, %zu bytes, %u targets, %s, scenario %s, loss %.3g, seed "
		       "%llu\n",
		       name, len, fc->n, smpfota_sim_fleet_mode_name(fc->mode),
		       smpfota_sim_scenario_name(fc->base->scenario), fc->base->f.loss,
		       (unsigned long long)fc->base->seed);
		fflush(stdout);
	}
	struct smpfota_sim_fleet_result *r = malloc(sizeof(*r));
	if (r == NULL) {
		fprintf(stderr, "smpfota: sim: out of memory\n");
		return 1;
	}
	int rc = smpfota_sim_fleet_run(fc, img, len, r);
	if (rc != 0) {
		free(r);
		fprintf(stderr, "smpfota: sim: %s: %s\n", name, smpfota_strerror(rc));
		return rc == SMPFOTA_ERR_INVAL ? 2 : 1;
	}
	if (json) {
		print_json(fc, r);
	} else {
		print_table(fc, r);
	}
	bool ok = r->ok;
	free(r);
	return ok ? 0 : 1;
}
