/*
 * Two-board nRF5340 simulator: a master (ESB PTX) updates a target (ESB PRX) in virtual
 * time, running the library code a board would run: the client engine and update
 * workflow on the master's application core, the SMP server and the MCUboot boot model on
 * the target's, the ESB link layer on each network core.
 *
 * Every timing constant comes from shared/spec/esb-nrf5340.md, "Timing model for the
 * simulator" (the spec's table; "estimate" where the spec has none), and can be overridden.
 *
 * Model, per board:
 *
 *   app core  --IPC a2n (ICMsg ring, 32 KB)-->  net core  --ESB radio-->  air
 *             <--IPC n2a (ICMsg ring, 32 KB)--            <--ACKs------
 *
 *  - air: one PTX transaction at a time, T = ramp + packet + tTXDIS + ramp + ACK + t_sw on
 *    success (spec §2.3); a lost packet or ACK costs packet + tTXDIS + retransmit delay;
 *    after retransmit_count retries TX_FAILED; the PRX withholds the ACK while its RX FIFO
 *    (8) is full; ACK payloads are queued ahead and popped by the next new packet (§1.8).
 *  - IPC: one message per SMP frame, through the frame bridge (smpfota/bridge.h, the code
 *    the NCS samples run): credit from the receiving end's ring, grants, restarts; a
 *    message occupies its length rounded to 4 plus an 8-byte header in the ring until the
 *    receiver takes it; it becomes visible after ipc_msg_us + len * ipc_ns_per_byte. A full
 *    ring refuses (the bridge retries).
 *  - app core: runs one handler at a time; flash operations stall it for the part's time
 *    (internal NVMC or QSPI MX25R64), as does SMP processing (cpu_msg_us). A stalled app
 *    core does not take IPC messages; the net core keeps receiving into the ring.
 *  - naive mode (the baseline): the link runs on the app core and every radio call crosses
 *    the cores as one RPC round trip (2 IPC messages), every radio event as one IPC
 *    message; upload window 1.
 *
 * Deterministic: the same config and seed give the same run, event for event.
 */
#ifndef SMPFOTA_SIM_H
#define SMPFOTA_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/secure.h"

#ifdef __cplusplus
extern "C" {
#endif

enum smpfota_sim_scenario {
	/* secondary slot in pre-erased QSPI flash (programs faster than the link): the radio
	 * is the bottleneck */
	SMPFOTA_SIM_RADIO = 0,
	/* secondary slot in app-core flash, erased page by page as the upload goes */
	SMPFOTA_SIM_INTERNAL = 1,
	/* secondary slot in QSPI flash, erased sector by sector as the upload goes */
	SMPFOTA_SIM_QSPI = 2,
};

struct smpfota_sim_timing {
	/* ESB radio (spec table "Constants", §1.9, §2.1-2.3) */
	uint32_t bitrate_kbps;   /* 2000 (ESB_BITRATE_2MBPS) or 1000 */
	uint8_t preamble;        /* bytes: 2 at 2 Mbit/s (newer NCS), 1 at 1 Mbit/s */
	uint8_t address;         /* bytes: 5 (default) */
	uint8_t crc;             /* bytes: 2 (ESB_CRC_16BIT) */
	uint8_t max_payload;     /* CONFIG_ESB_MAX_PAYLOAD_LENGTH: PCF 9 bits if <= 32, else 11 */
	uint32_t ramp_us;        /* 40 fast ramp-up, 130 default */
	uint32_t txdis_us;       /* tTXDIS: 4 at 2M, 6 at 1M */
	uint32_t ack_timeout_us; /* 160 at 2M, 300 at 1M */
	uint32_t retransmit_delay_us; /* 600 */
	uint16_t retransmit_count;    /* 3 */
	uint32_t t_sw_us;             /* PTX software per packet, 20 (spec estimate) */
	/* IPC, ICMsg (spec §4) */
	uint32_t ipc_ring;        /* bytes each way: 32768 */
	uint32_t ipc_msg_us;      /* per message: MBOX, ISR, thread wake-up (estimate) */
	uint32_t ipc_ns_per_byte; /* copy into and out of the ring (estimate) */
	/* application core */
	uint32_t cpu_msg_us; /* SMP decode, handle, encode per frame (estimate) */
	/* the secure channel: AES-CCM of one frame on the app core's CryptoCell 312 through
	 * PSA Crypto, per call and per byte (estimates; docs/security.md) */
	uint32_t aead_us;
	uint32_t aead_ns_per_byte;
	uint32_t boot_us;        /* MCUboot start-up besides flash work (estimate) */
	uint32_t reset_delay_us; /* CONFIG_MCUMGR_GRP_OS_RESET_MS: 250 ms */
	/* app-core flash, NVMC (spec §3.1) */
	uint32_t page_erase_us; /* tERASEPAGE 87 500 */
	uint32_t word_write_us; /* tWRITE 43 per 4-byte word */
	/* QSPI MX25R64 (spec §3.2) */
	uint32_t qspi_erase_us;       /* 4 KB sector erase: 48 000 */
	uint32_t qspi_block_erase_us; /* 64 KB block erase: 480 000 */
	uint32_t qspi_prog_us;        /* 256-byte page program: 896 */
	uint32_t qspi_read_kBps;      /* 4000 (8 MHz x 4 lines) */
};

struct smpfota_sim_faults {
	double loss;                 /* probability a packet is lost */
	double ack_loss;             /* probability an ACK is lost */
	double ber;                  /* bit error rate: a packet or ACK with an error fails CRC */
	double replay;               /* probability an old packet is replayed with a new PID */
	uint64_t target_reset_at_us; /* warm reset of the target (retained RAM kept); 0 = none.
				       * During an MCUboot run it interrupts the flash operation
				       * then in progress, and MCUboot resumes on the next boot. */
	uint32_t target_cut_at_op;   /* power cut at the target's Nth flash write or erase, on
				       * any device, MCUboot's included (RAM lost) */
	uint64_t master_reset_at_us; /* the master restarts (its state is lost); 0 = none */
	uint64_t ble_drop_at_us;     /* BLE: the connection is lost (interference); 0 = none */
};

/* The link between the boards: Enhanced ShockBurst (the design above) or Bluetooth LE, the
 * master a central and the target a Zephyr-like smp_bt peripheral (docs/ble.md). */
enum smpfota_sim_link {
	SMPFOTA_SIM_LINK_ESB = 0,
	SMPFOTA_SIM_LINK_BLE = 1,
};

/* Bluetooth LE link parameters (docs/ble.md, "The BLE link in the simulator", gives the
 * source of each default). */
struct smpfota_sim_ble {
	uint32_t interval_us;    /* connection interval, multiple of 1250: 7500 */
	uint32_t ce_len_us;      /* radio time per connection event; 0 = the whole interval
				    * (event length extension) */
	uint8_t pdus_per_event;  /* packet pairs per connection event at most (a phone's
				    * controller); 0 = as many as fit */
	uint8_t phy;             /* 1 (LE 1M) or 2 (LE 2M) */
	uint16_t dle;            /* link-layer payload, 27..251 (data length extension) */
	uint16_t att_mtu;        /* 23..517 */
	bool no_reassembly;      /* target without CONFIG_MCUMGR_TRANSPORT_BT_REASSEMBLY */
	bool encrypted;          /* paired link: a 4-byte MIC on every data PDU */
	uint16_t tx_bufs;        /* ATT pieces the master's host may queue in its controller */
	uint16_t trickle_piece;  /* the master's smpfota_gatt_config.trickle_piece over links
				    * with 251-octet PDUs (8; 0 off) */
	bool no_hold;            /* the master does not hold a first piece after an answer
				    * (smpfota_gatt_set_hold(); the baseline of a test) */
	uint32_t sup_timeout_us; /* supervision timeout: a lost connection is noticed after it */
	uint32_t connect_us;     /* scan, connect, MTU/data length/PHY, discover, subscribe
				    * (estimate) */
};

/* Attacks the simulator can inject (docs/security.md, "The attacker in the simulator"). */
enum smpfota_sim_attack {
	SMPFOTA_SIM_ATTACK_FORGE = 0,  /* DATA frames of the current session, random body */
	SMPFOTA_SIM_ATTACK_REPLAY,     /* the latest frame of a direction, again */
	SMPFOTA_SIM_ATTACK_REPLAY_OLD, /* a frame (or HELLO) of an earlier session */
	SMPFOTA_SIM_ATTACK_BITFLIP,    /* the latest frame with one bit flipped */
	SMPFOTA_SIM_ATTACK_TRUNCATE,   /* the latest frame cut short */
	SMPFOTA_SIM_ATTACK_REORDER,    /* a frame withheld and delivered after the next */
	SMPFOTA_SIM_ATTACK_WRONG_KEY,  /* a master with another key under the same id */
	SMPFOTA_SIM_ATTACK_PLAINTEXT,  /* plaintext SMP requests (erase, reset, upload) */
	SMPFOTA_SIM_ATTACK_KINDS
};

/* The secure channel between the boards, and the attacker. */
struct smpfota_sim_security {
	bool on;               /* master and target talk through the channel */
	uint8_t key[16];       /* their long-term key (its id: smpfota_mbedtls_key_id) */
	uint16_t max_failures; /* failed frames that end a session; 0 = the default */
	uint32_t attacks;      /* bit (1 << kind) for each attack to inject */
	uint32_t attack_rate;  /* injected frames per virtual second, all kinds; 0 = 50 */
};

struct smpfota_sim_event;

struct smpfota_sim_config {
	enum smpfota_sim_scenario scenario;
	enum smpfota_sim_link link;
	struct smpfota_sim_ble ble;
	struct smpfota_sim_timing t;
	struct smpfota_sim_faults f;
	uint64_t seed;
	uint8_t window;          /* upload window; 0 = auto (buf_count - 1) */
	bool naive;              /* the baseline design (see above) */
	uint32_t buf_size;       /* target MCUmgr buffer: 2475 (NCS OTA speed-up) */
	uint32_t buf_count;      /* 4 */
	uint32_t slot_size;      /* 0x74000 */
	uint64_t max_virtual_us; /* give up after this much virtual time */
	struct smpfota_sim_security sec;
	/* Optional: one line of progress (step changes, upload progress, resets). */
	void (*log)(void *user, uint64_t t_us, const char *line);
	void *user;
};

struct smpfota_sim_stats {
	uint32_t packets;        /* PTX transmissions, retransmissions included */
	uint32_t upload_packets; /* ... of them until the upload's last answer */
	uint32_t upload_retransmits;
	uint32_t retransmits;
	uint32_t lost, ack_lost, crc_errors, replays, withheld;
	uint32_t tx_failed; /* TX_FAILED events at the master */
	uint32_t polls;
	uint32_t ipc_msgs, ipc_full; /* messages through both IPC directions; refusals */
	uint32_t link_drops;         /* fragments both links dropped (dup, lost, orphan...) */
	uint32_t frames_to_target;   /* frames the target's link delivered */
	uint32_t frames_from_master; /* frames the master's link finished sending */
	uint32_t target_resets, master_resets, power_cuts;
	uint32_t flash_erases, flash_writes;
	uint32_t upload_bytes_written; /* by the target's server into the slot, all sessions */
	uint64_t app_busy_us;          /* target app core busy (flash + CPU) */
	uint32_t ble_events;           /* BLE connection events with traffic */
	uint32_t disconnects;          /* BLE connections lost */
	uint32_t frames_dropped;       /* BLE: requests the target had no buffer for */
	uint32_t ble_acks_next_event;  /* BLE: notifications acknowledged only in a later
				       * connection event than the one that carried them */
	uint32_t spins;                /* the loop found a part due "now" 10000 times running and
				       * moved time on by 1 µs: a modelling bug, 0 in every test */
};

struct smpfota_sim_result {
	bool ok;         /* update done, target runs the new image, confirmed */
	int err;         /* 0 or the update's named error (smpfota.h) */
	int step;        /* enum smpfota_update_step where it ended */
	bool byte_exact; /* the primary slot holds the image, byte for byte */
	bool confirmed;  /* the running image is confirmed (image_ok) */
	/* What the target's primary slot holds at the end: "new" (the image, byte-exact),
	 * "old" (the image it ran before, still valid) or "invalid" (would not boot). */
	const char *target_runs;
	uint64_t virtual_us; /* whole run */
	uint64_t upload_us;  /* first to last upload chunk answered (to the end of the
				       * run when the update stopped during the upload) */
	uint32_t image_bytes;
	double goodput_kBps; /* image_bytes / upload time, kB = 1000 B */
	double limit_kBps;   /* smpfota_sim_limit_kBps() */
	struct smpfota_sim_stats stats;
	/* With the secure channel: its counters on each side, and per attack kind the frames
	 * injected and those the receiving side took as authentic (0 unless broken). */
	struct smpfota_secure_stats sec_master, sec_target;
	struct {
		uint32_t sent, accepted;
	} attacks[SMPFOTA_SIM_ATTACK_KINDS];
};

/* "forge", "replay", "replay-old-session", "bitflip", "truncate", "reorder", "wrong-key",
 * "plaintext"; parse returns -1 for an unknown name. */
const char *smpfota_sim_attack_name(enum smpfota_sim_attack a);
int smpfota_sim_attack_parse(const char *name);

/* Defaults of a scenario: spec figures, 2 Mbit/s, 252-byte payloads, fast ramp-up. */
void smpfota_sim_defaults(struct smpfota_sim_config *c, enum smpfota_sim_scenario s);

/* Analytic limits (kB/s) from the spec's formulas with c's timings: the radio (ESB: payload
 * per acknowledged transaction; BLE: SMP frame bytes the connection events carry, docs/ble.md),
 * the flash path of the scenario, and their minimum. */
double smpfota_sim_radio_limit_kBps(const struct smpfota_sim_config *c);
double smpfota_sim_flash_limit_kBps(const struct smpfota_sim_config *c);
double smpfota_sim_limit_kBps(const struct smpfota_sim_config *c);
/* What a target with buf_count SMP buffers can reach at best (kB/s): over BLE in the QSPI
 * scenario, where a 64 KB block erase holds the upload, the block's erase, then what the target
 * could not hold during it over the link (docs/ble.md); everywhere else smpfota_sim_limit_kBps().
 * Never above it. */
double smpfota_sim_buffer_ceiling_kBps(const struct smpfota_sim_config *c);

/* The BLE link's defaults into c->ble (smpfota_sim_defaults calls it; c->link stays ESB). */
void smpfota_sim_ble_defaults(struct smpfota_sim_config *c);

/* "radio", "internal", "qspi"; parse returns -1 for an unknown name. */
const char *smpfota_sim_scenario_name(enum smpfota_sim_scenario s);
int smpfota_sim_scenario_parse(const char *name);

/* Run one update of image (an MCUboot image) from master to target. The target starts
 * with an older image of the same size in its primary slot. Returns 0 when the simulation
 * ran (r->ok tells whether the update succeeded), or a negative error for a bad config,
 * a bad image or no memory. */
int smpfota_sim_run(const struct smpfota_sim_config *c, const uint8_t *image, size_t len,
		    struct smpfota_sim_result *r);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_SIM_H */
