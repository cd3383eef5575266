/*
 * Fleet simulator: one nRF5340 master (ESB PTX) updates N targets (ESB PRX each, its own
 * address) with the fleet scheduler (smpfota/fleet.h) in virtual time. The library code a
 * board runs is the same as in the two-board simulator (sim.h): per target a client engine,
 * an update workflow and an ESB link on the master; the ESB link, the SMP server and the
 * MCUboot boot model on every target, on emulated flash timed as sim.h says.
 *
 * What differs from sim.h, and why (docs/fleet.md, "The fleet simulator"):
 *  - one radio, many targets: each target has its own packet queue on the master (the fake
 *    ESB FIFO of ports/emu, one per target); the master's net core feeds the radio one packet
 *    at a time, round robin over the targets that have one, so a target that stops
 *    answering only costs its own retransmissions (then TX_FAILED, and the others go on);
 *  - an NCS PTX addresses 8 pipes: a target that has none gets the least recently used one
 *    re-addressed (esb_update_prefix with the radio idle), which costs readdress_us;
 *  - broadcast: `noack` packets to an address every target listens on (pipe 0 of the
 *    master is kept for it): no ACK, so no retransmission, each target loses its own; a
 *    target's net core hands them to its app core like frames (dropped when its ring is full);
 *  - the IPC rings and the frame bridge are not modelled: a frame crosses a core boundary in
 *    ipc_msg_us + len * ipc_ns_per_byte, a target's net core holds up to ipc_ring bytes of
 *    frames its app core has not taken yet (then ESB withholds ACKs), and the master's
 *    cores cost nothing (its clients, scheduler and links are cheap next to the air).
 *
 * Deterministic: the same config and seed give the same run.
 */
#ifndef SMPFOTA_SIM_FLEET_H
#define SMPFOTA_SIM_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SMPFOTA_SIM_FLEET_MAX 64U
#define SMPFOTA_SIM_FLEET_PIPES 8U /* ESB pipes of an NCS PTX */

enum smpfota_sim_fleet_mode {
	/* every target's upload at once, sharing the radio */
	SMPFOTA_SIM_FLEET_UNICAST = 0,
	/* the baseline: one target at a time (upload, then one reboot at a time) */
	SMPFOTA_SIM_FLEET_SEQUENTIAL = 1,
	/* broadcast with repair (smpfota/bcast.h) to every target, then unicast for the ones
	 * it dropped, then activation as in unicast */
	SMPFOTA_SIM_FLEET_BROADCAST = 2,
};

/* One target's own faults (the base config's f.loss, f.ack_loss apply to all). */
struct smpfota_sim_target_faults {
	double loss;          /* packet loss to and from this target, besides the base's */
	bool dead;            /* never answers (out of range, powered off) */
	uint64_t reset_at_us; /* warm reset at this virtual time; 0 = none */
	uint32_t cut_at_op;   /* power cut at its Nth flash write or erase; 0 = none */
};

struct smpfota_sim_fleet_config {
	const struct smpfota_sim_config *base; /* scenario, timing, loss, buffers, seed, log,
						* max_virtual_us, f.master_reset_at_us */
	unsigned n;                            /* 1..SMPFOTA_SIM_FLEET_MAX */
	enum smpfota_sim_fleet_mode mode;
	uint16_t max_reboots;  /* unicast: targets rebooting at once; 0 = all */
	uint32_t readdress_us; /* re-addressing a pipe; 0 = 20 (estimate) */
	uint16_t bcast_chunk;  /* broadcast: data bytes a packet; 0 = as many as a payload
				* holds, a multiple of 4 */
	uint32_t bcast_block;  /* broadcast: 0 = 4096 (one page) */
	struct smpfota_sim_target_faults tf[SMPFOTA_SIM_FLEET_MAX];
};

struct smpfota_sim_fleet_target {
	int outcome;         /* enum smpfota_fleet_outcome */
	int err;             /* 0 or the named error that ended it */
	int step;            /* enum smpfota_update_step where it ended */
	uint64_t virtual_us; /* when its outcome was set */
	uint64_t staged_us;  /* when its distribution ended (0: never) */
	uint64_t bytes_sent; /* ESB payload bytes the master sent to it, retransmissions too */
	uint32_t packets;    /* transmissions to it */
	bool byte_exact;     /* its primary slot holds the image, byte for byte */
	bool confirmed;
	uint32_t resets; /* boots after power-on (updates, faults) */
	int bcast;       /* broadcast: enum smpfota_bcast_result */
};

struct smpfota_sim_fleet_result {
	bool ok;                 /* every target updated (byte-exact and confirmed) */
	unsigned updated;        /* targets with outcome UPDATED */
	uint64_t virtual_us;     /* whole run: until the last outcome */
	uint64_t distributed_us; /* until the last target left distribution */
	uint32_t image_bytes;
	uint32_t packets;     /* all transmissions */
	uint32_t readdresses; /* pipes re-addressed */
	uint32_t master_resets;
	uint32_t spins;         /* modelling-bug guard, 0 in every test */
	uint32_t bcast_packets; /* broadcast packets sent (repairs included) */
	uint32_t bcast_repairs; /* of them in repair rounds */
	uint64_t bcast_us;      /* when the broadcast phase ended */
	struct smpfota_sim_fleet_target t[SMPFOTA_SIM_FLEET_MAX];
};

/* "unicast", "sequential", "broadcast"; parse returns -1 for an unknown name. */
const char *smpfota_sim_fleet_mode_name(enum smpfota_sim_fleet_mode m);
int smpfota_sim_fleet_mode_parse(const char *name);

/* Run one fleet update of image. Every target starts with an older image of the same size.
 * Returns 0 when the simulation ran (r->ok tells whether every target was updated), or a
 * negative error for a bad config, a bad image or no memory. */
int smpfota_sim_fleet_run(const struct smpfota_sim_fleet_config *c, const uint8_t *image,
			  size_t len, struct smpfota_sim_fleet_result *r);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_SIM_FLEET_H */
