/*
 * What the parts of the two-board simulator share (sim.h describes the model). Private to
 * ports/sim/.
 *
 * Discrete events in virtual time, nanoseconds. Each part is a small state machine with the
 * time it next needs to run; the main loop (loop.c) advances virtual time to the earliest of
 * them and runs every part due then, in a fixed order, so a run is reproducible for a seed.
 * Cores run their handlers to completion; a handler's cost (flash operations, IPC round
 * trips, CPU) advances the core's own clock (w->now while it runs), and whatever it emits is
 * stamped with that clock.
 *
 * The parts: radio.c (the air and each board's ESB radio), rpc.c (the radio calls the link
 * makes: direct on the net core, or RPC round trips in the naive baseline), ipc.c (ICMsg
 * rings), board.c (each board's network core and what a reset loses), flash.c (flash
 * timings, operation counting, power cuts, interrupted MCUboot runs), master.c and target.c
 * (the application cores), loop.c (the event loop and scheduled faults), sim.c (the public
 * API: defaults, limits, one run).
 *
 * Timings: shared/spec/esb-nrf5340.md, "Timing model for the simulator".
 */
#ifndef SMPFOTA_SIM_PRIV_H
#define SMPFOTA_SIM_PRIV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/mcuboot.h"
#include "emu/esb_radio.h"
#include "emu/nor.h"
#include "emu/target.h"
#include "sim/sim.h"
#include "smpfota/boot.h"
#include "smpfota/bridge.h"
#include "smpfota/client.h"
#include "smpfota/esb_link.h"
#include "smpfota/gatt.h"
#include "smpfota/image.h"
#include "smpfota/server.h"
#include "smpfota/update.h"

#define NEVER UINT64_MAX
#define US 1000ULL /* ns */
#define MS 1000000ULL
#define FIFO SMPFOTA_EMU_ESB_FIFO /* CONFIG_ESB_TX_FIFO_SIZE / RX_FIFO_SIZE (spec §1.5) */
#define IPC_MAXQ 512U
#define IPC_HDR 8U /* ring bytes per message besides the data (estimate of ICMsg's) */
#define FRAME_MAX 4096U
/* An IPC message: one bridge message, at most one frame and its header. */
#define IPC_MSG_MAX (FRAME_MAX + SMPFOTA_BRIDGE_HDR_SIZE)
/* Bridge receive rings: the app core's holds what the ICMsg ring would (the net core keeps
 * receiving while the app core writes flash); the net core's, the two largest frames its
 * 64 KB of RAM can spare beside the link's queue. */
#define APP_RING (32768U + SMPFOTA_BRIDGE_COST(FRAME_MAX))
#define NET_RING SMPFOTA_BRIDGE_RING_MIN(FRAME_MAX)
#define HIST FIFO /* a stale packet can only come from the 8-entry TX FIFO */
#define PAGE 4096U
#define SIM_QSPI_BLOCK 65536U /* the MX25R64's 64 KB block erase (0xD8) */
#define WRITE_SIZE 4U

struct ipc_msg {
	uint64_t ready;
	uint16_t len;
	uint8_t data[IPC_MSG_MAX];
};

/* One ICMsg direction: a ring of `cap` bytes; a message holds its room until taken. */
struct ipc {
	struct ipc_msg *q; /* IPC_MAXQ entries */
	unsigned head, count;
	uint32_t used, cap;
	uint64_t last_ready;
};

enum ptx_phase { P_IDLE, P_START, P_END, P_ACKED, P_FAILWAIT, P_STOPPED };

struct world;
struct board;

struct radio {
	struct world *w;
	struct board *b;
	/* FIFOs, PIDs, the PRX's ACK payloads; events not yet handled by the link's core */
	struct smpfota_emu_esb esb;
	/* PTX: the transaction in the air */
	enum ptx_phase phase;
	uint64_t t_next;
	uint64_t ready_at; /* earliest start of the next transaction */
	uint64_t d_time;   /* radio DISABLED after the packet of this attempt */
	unsigned attempts;
	struct smpfota_esb_payload ack;
	/* PRX: data packets received, for replays */
	struct smpfota_esb_payload hist[HIST];
	unsigned hist_n;
};

struct flash_dev {
	struct world *w;
	bool qspi;
};

#define RPCQ 64U
enum { RPC_WRITE, RPC_START, RPC_FLUSH };

struct rpc_op {
	uint64_t at;
	int kind;
	struct smpfota_esb_payload p;
};

struct board {
	struct world *w;
	bool master;
	struct radio radio;
	struct smpfota_esb_link link;
	uint8_t txq[16384];
	uint8_t rxbuf[FRAME_MAX];
	struct ipc a2n, n2a;
	/* Our design: the frame bridge's two ends, app core (sends on a2n) and net core (sends
	 * on n2a), the same code as the NCS samples (bridge.h). */
	struct smpfota_bridge app_br, net_br;
	uint8_t app_ring[APP_RING], net_ring[NET_RING];
	uint8_t app_txb[IPC_MSG_MAX], net_txb[IPC_MSG_MAX];
	bool evt_msg; /* naive: an event message is in n2a */
	uint64_t evt_ready;
	uint64_t app_free; /* app core busy until */
	uint64_t up_at;    /* radio and cores run from this time (after a reset) */
	bool link_ready;
	/* a frame the app core could not hand over yet */
	uint8_t pend[FRAME_MAX];
	uint16_t pend_len;
	uint8_t scratch[FRAME_MAX];
	/* naive: radio calls on their way to the net core */
	struct rpc_op rpcq[RPCQ];
	unsigned rq_head, rq_count;
	unsigned pending_writes;
};

/* ---- BLE (ble.c) ---------------------------------------------------------------------- */

#define BLE_PIECE_MAX (SMPFOTA_GATT_MTU_MAX - SMPFOTA_GATT_ATT_HDR)
#define BLE_TXQ 64U   /* ATT pieces a controller holds (the master's host uses tx_bufs) */
#define BLE_RXQ 512U  /* pieces on their way to a host (HCI over the IPC ring) */
#define BLE_FRAMES 8U /* the target's SMP buffers at most (buf_count) */

/* An ATT piece: the value of a Write Command or Notification; on air it carries the 4-byte
 * L2CAP and the 3-byte ATT header too. */
struct ble_sdu {
	uint64_t ready; /* in the controller (TX) or visible to the host (RX) */
	uint16_t len;
	bool with_ack; /* RX at the target: came in the packet that acknowledged its answer */
	uint8_t d[BLE_PIECE_MAX];
};

/* One direction of the connection: the sending controller's queue. */
struct ble_dir {
	struct ble_sdu q[BLE_TXQ];
	unsigned head, count;
	uint32_t sent;       /* on-air bytes of the head piece acknowledged */
	uint16_t resend;     /* a PDU whose ack was lost goes again, to no effect */
	bool again;          /* the next PDU was sent before, lost or NAKed: it goes again */
	bool unacked;        /* the head piece is all on air; the peer's next packet acks it */
	uint64_t sent_event; /* the event that carried the head piece's last PDU */
};

/* Pieces the receiving controller passed to its host, not yet taken. */
struct ble_rxq {
	struct ble_sdu q[BLE_RXQ];
	unsigned head, count;
	uint32_t bytes;
};

struct sim_ble {
	struct smpfota_gatt mg, tg; /* the master's (central) and target's (peripheral) links */
	uint8_t m_tx[FRAME_MAX], m_rx[FRAME_MAX], t_tx[FRAME_MAX], t_rx[FRAME_MAX];
	struct ble_dir c2p, p2c;
	struct ble_rxq m_in, t_in;
	/* the target's SMP buffers: requests waiting for the server */
	uint8_t frames[BLE_FRAMES][FRAME_MAX];
	uint16_t flen[BLE_FRAMES];
	unsigned fhead, fcount;
	bool connected;
	bool started;       /* the master's update started (after the first connection) */
	uint64_t lost_seen; /* the master noticed the loss (supervision timeout) */
	uint64_t anchor0;   /* first anchor of this connection */
	bool in_event;
	uint64_t ev_anchor, t_next;
	unsigned ev_pairs;  /* pairs so far in this event */
	uint64_t events;    /* connection events so far (a number per event) */
	uint64_t t_done_at; /* the target's host learns its notification completed */
	bool ack_in_pair;   /* the central's packet of this pair acknowledged an answer */
	bool reasm_held;    /* the frame in reassembly holds one of the SMP buffers */
	bool drop_done;
};

struct sim_sec;

struct world {
	const struct smpfota_sim_config *c;
	uint64_t now; /* clock of whatever runs now */
	uint64_t rng;
	bool charging;         /* flash operations cost time (not during set-up) */
	struct board *running; /* naive: the board whose app core runs a handler now */

	struct board m, t;
	struct sim_ble *ble; /* BLE link (allocated in BLE runs only) */

	/* master */
	const uint8_t *image;
	size_t len;
	struct smpfota_client cli;
	uint8_t *cli_buf;
	size_t cli_buf_size;
	struct smpfota_update upd;
	struct smpfota_upload_source src;
	struct smpfota_image_info info;
	bool force;
	bool m_kick; /* a refused send may go now */
	uint64_t m_restart_at;
	bool done;
	int err;
	int step;
	uint64_t upload_start, upload_end;
	uint32_t last_pct;

	/* target */
	uint8_t *app_mem, *qspi_mem;
	struct smpfota_nor app_nor, qspi_nor;
	struct flash_dev dev_app, dev_qspi;
	struct smpfota_emu_target tgt; /* slots on those parts, MCUboot, the server */
	uint64_t t_reset_at;
	bool t_reset_warm;
	uint8_t old_hash[32]; /* SHA-256 TLV of the image the target ran before */

	bool fault_t_done, fault_m_done;

	/* Target flash operations (writes and erases, every device) since set-up, for power
	 * cuts "at operation N" and for interrupting an MCUboot run by a reset. */
	uint32_t g_ops;
	bool counting;
	uint32_t cut_at; /* global operation to cut at; 0 = none */
	/* The latest MCUboot run: flash before it, and when each of its operations ended. */
	struct {
		bool valid, recording;
		uint32_t g0, n, cap;
		uint64_t start, end;
		uint64_t *op_end;
		uint8_t *app_snap, *qspi_snap;
		struct smpfota_nor app_nor, qspi_nor;
	} boot;
	struct smpfota_sim_stats *st;
	/* the secure channel and the attacker (secure.c); NULL without a key */
	struct sim_sec *sec;
};

static inline uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The engines' clocks are in ms. */
static inline uint32_t sim_ms(uint64_t ns)
{
	return (uint32_t)(ns / MS);
}

static inline bool board_up(const struct board *b, uint64_t at)
{
	return at >= b->up_at;
}

/* sim.c: the run's random numbers and log */
/* Seeded randomness and the log, for any world that has a state word and a config (the
 * two-board world here, the fleet's in fleet.c). */
uint64_t sim_splitmix(uint64_t *state);
bool sim_chance_of(uint64_t *state, double p);
void sim_vlog(const struct smpfota_sim_config *c, uint64_t now_ns, const char *fmt, va_list ap);
uint64_t sim_rnd(struct world *w);
bool sim_chance(struct world *w, double p);
void sim_log(struct world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* radio.c: the air and each board's radio */
uint64_t sim_air_ns(const struct smpfota_sim_timing *t, unsigned len);
void sim_radio_init(struct radio *r, struct world *w, struct board *b);
void sim_radio_reset(struct radio *r);
void sim_ptx_schedule(struct radio *r);
void sim_ptx_step(struct radio *r);

/* rpc.c: the radio ops the link calls; the naive design's RPC queue */
struct smpfota_esb_radio sim_radio_ops(struct board *b);
uint64_t sim_rpc_next(const struct board *b);
void sim_rpc_step(struct board *b);

/* ipc.c: one ICMsg direction */
int sim_ipc_send(struct world *w, struct ipc *q, const uint8_t *p, size_t len);
struct ipc_msg *sim_ipc_head(struct ipc *q, uint64_t now);
uint64_t sim_ipc_next(const struct ipc *q);
void sim_ipc_pop(struct ipc *q);
void sim_ipc_clear(struct ipc *q);

/* board.c: the network cores, the link, the bridge, resets */
int sim_link_init(struct world *w, struct board *b);
uint64_t sim_bridge_deadline(const struct world *w, const struct smpfota_bridge *br);
void sim_link_stats(struct world *w, const struct smpfota_esb_link *l);
void sim_board_reset(struct world *w, struct board *b);
uint64_t sim_link_deadline(const struct world *w, const struct board *b);
uint64_t sim_net_next(struct world *w, struct board *b);
void sim_net_step(struct world *w, struct board *b);
void sim_deliver_events(struct world *w, struct board *b);
void sim_naive_post_events(struct world *w, struct board *b);
uint64_t sim_app_input_next(struct world *w, struct board *b);
void sim_naive_app_link(struct world *w, struct board *b);

/* flash.c: the target's flash parts */
void sim_arm_cut(struct world *w);
void sim_on_flash_op(void *ctx, int kind, uint32_t off, size_t len);
bool sim_powered_off(const struct world *w);
void sim_boot_snapshot(struct world *w);
void sim_boot_interrupt(struct world *w, uint64_t t);

/* master.c: the master's application core */
int sim_src_read(void *ctx, uint32_t off, void *buf, size_t len);
int sim_master_start(struct world *w);
int sim_master_link_rx(void *user, const uint8_t *frame, size_t len);
int sim_master_app_rx(void *user, const uint8_t *frame, size_t len);
void sim_app_event(void *user, unsigned code, uint32_t value);
uint64_t sim_master_next(struct world *w);
void sim_master_step(struct world *w);

/* target.c: the target's application core */
int sim_target_setup(struct world *w);
int sim_target_link_rx(void *user, const uint8_t *frame, size_t len);
int sim_target_app_rx(void *user, const uint8_t *frame, size_t len);
void sim_target_handle(struct world *w, const uint8_t *frame, size_t len);
void sim_target_boot(struct world *w, bool warm);
uint64_t sim_target_next(struct world *w);
void sim_target_step(struct world *w);

/* ble.c: the BLE link (connection events, both controllers and hosts, the GATT links) */
static inline bool sim_is_ble(const struct world *w)
{
	return w->c->link == SMPFOTA_SIM_LINK_BLE;
}
double sim_ble_radio_limit_kBps(const struct smpfota_sim_config *c);
uint32_t sim_ble_frame_size(const struct smpfota_sim_config *c);
uint16_t sim_ble_piece(const struct world *w);
int sim_ble_check(const struct smpfota_sim_config *c);
int sim_ble_link_init(struct world *w, struct board *b);
void sim_ble_board_reset(struct world *w, struct board *b);
int sim_ble_master_send(struct world *w, const uint8_t *frame, size_t len);
int sim_ble_target_send(struct world *w, const uint8_t *frame, size_t len);
uint64_t sim_ble_next(struct world *w);
void sim_ble_step(struct world *w);
uint64_t sim_ble_app_next(struct world *w, struct board *b);
void sim_ble_app_step(struct world *w, struct board *b);

/* secure.c: the secure channel on both boards, the attacker */
int sim_sec_init(struct world *w);
void sim_sec_free(struct world *w);
void sim_sec_results(struct world *w, struct smpfota_sim_result *r);
int sim_sec_master_start(struct world *w);                            /* (re)start: session lost */
int sim_sec_master_send(void *ctx, const uint8_t *frame, size_t len); /* engine transport */
void sim_sec_master_rx(struct world *w, const uint8_t *frame, size_t len);
int32_t sim_sec_master_deadline(struct world *w);
void sim_sec_master_poll(struct world *w);
void sim_sec_target_boot(struct world *w); /* a reset: session lost */
void sim_sec_target_rx(struct world *w, const uint8_t *frame, size_t len);
void sim_sec_target_send(struct world *w, const uint8_t *frame, size_t len);
uint64_t sim_attack_next(struct world *w);
void sim_attack_step(struct world *w);
/* master.c / target.c, below the channel */
int sim_master_link_send(void *ctx, const uint8_t *frame, size_t len);
void sim_target_serve(struct world *w, const uint8_t *frame, size_t len);
void sim_target_emit(struct world *w, const uint8_t *frame, size_t len);
bool sim_target_can_take(struct world *w);

/* loop.c */
void sim_run_loop(struct world *w);

#endif /* SMPFOTA_SIM_PRIV_H */
