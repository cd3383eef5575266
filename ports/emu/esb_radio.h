/*
 * A fake ESB radio: the FIFOs and packet rules of NCS's esb.c (shared/spec/esb-nrf5340.md
 * §1), without time. The caller decides when a transaction happens, whether the packet or
 * its ACK is lost, and when events reach the link; this file only keeps what the hardware
 * and the driver keep:
 *   - a TX FIFO and an RX FIFO of 8 payloads each (CONFIG_ESB_TX/RX_FIFO_SIZE, §1.5);
 *   - PTX: each written payload gets the next 2-bit PID; the head stays in the TX FIFO until
 *     an ACK pops it (TX_SUCCESS); an ACK payload goes to the RX FIFO (RX_RECEIVED);
 *   - PRX: a packet with the PID and content of the last one is a repeat: dropped, but still
 *     ACKed (§1.7); while the RX FIFO is full no ACK is sent at all (§1.8); the TX FIFO head
 *     rides on every ACK and is popped (TX_SUCCESS) only when the next *new* packet arrives
 *     (§1.8).
 * Used by the simulator (ports/sim/radio.c adds the air's timing, loss and the RPC baseline)
 * and by tests/test_esb_link.c (one transaction per step).
 *
 * No allocation; the struct belongs to the caller.
 */
#ifndef SMPFOTA_EMU_ESB_RADIO_H
#define SMPFOTA_EMU_ESB_RADIO_H

#include <stdbool.h>
#include <stdint.h>

#include "smpfota/esb_link.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SMPFOTA_EMU_ESB_FIFO 8U

/* Events raised, as bits of smpfota_emu_esb.ev; smpfota_emu_esb_deliver() hands them on. */
enum {
	SMPFOTA_EMU_ESB_EV_TX_SUCCESS = 1,
	SMPFOTA_EMU_ESB_EV_TX_FAILED = 2,
	SMPFOTA_EMU_ESB_EV_RX_RECEIVED = 4,
};

struct smpfota_emu_esb_fifo {
	struct smpfota_esb_payload e[SMPFOTA_EMU_ESB_FIFO];
	unsigned head, count;
};

struct smpfota_emu_esb {
	bool ptx; /* role: PTX (stamps PIDs) or PRX (answers in ACKs) */
	struct smpfota_emu_esb_fifo tx, rx;
	unsigned ev; /* events raised and not delivered yet */
	uint8_t pid; /* PTX: PID of the next payload written */
	/* PRX */
	bool ack_out; /* the TX FIFO head went out with the last ACK */
	bool have_last;
	struct smpfota_esb_payload last;
	bool no_dedup; /* tests: a PRX without the repeat check */

	/*
	 * Optional fault: called for every new packet the PRX takes, before it is queued. Return
	 * true with *out set to queue a stale packet ahead of it (as if the PID check missed an
	 * old one); it is queued only when `room` (the RX FIFO holds both).
	 */
	bool (*stale)(void *ctx, const struct smpfota_esb_payload *p, bool room,
		      struct smpfota_esb_payload *out);
	void *stale_ctx;

	struct {
		uint32_t withheld; /* PRX: packets not ACKed, RX FIFO full */
		uint32_t repeats;  /* PRX: repeats seen (dropped unless no_dedup) */
		uint32_t stale;    /* PRX: stale packets queued by the hook */
	} stats;
};

/* Append p; false when the FIFO is full. */
bool smpfota_emu_esb_fifo_push(struct smpfota_emu_esb_fifo *f, const struct smpfota_esb_payload *p);
/* Drop the head (the FIFO must not be empty). */
void smpfota_emu_esb_fifo_pop(struct smpfota_emu_esb_fifo *f);

/* A radio in its power-on state (FIFOs empty, PID 0, no hook, counters zero). */
void smpfota_emu_esb_init(struct smpfota_emu_esb *e, bool ptx);

/* What a reset of the radio loses: FIFOs, events, PID and the PRX's last packet. The role,
 * the hook, no_dedup and the counters stay. */
void smpfota_emu_esb_reset(struct smpfota_emu_esb *e);

/* esb_write_payload(): SMPFOTA_ERR_MSGSIZE for an empty or over-long payload, _NOMEM when
 * the TX FIFO is full, else 0. On a PTX the payload gets the next PID. */
int smpfota_emu_esb_write(struct smpfota_emu_esb *e, const struct smpfota_esb_payload *p);

/* esb_read_rx_payload(): the RX FIFO head's length after copying it to *p, 0 when empty. */
int smpfota_emu_esb_read(struct smpfota_emu_esb *e, struct smpfota_esb_payload *p);

/* esb_flush_tx(): empty the TX FIFO. */
void smpfota_emu_esb_flush_tx(struct smpfota_emu_esb *e);

/*
 * A packet p reaches the PRX e. Returns -1 when no ACK goes out (RX FIFO full), else the
 * length of the ACK payload copied to *ack (0: an empty ACK).
 */
int smpfota_emu_esb_prx_receive(struct smpfota_emu_esb *e, const struct smpfota_esb_payload *p,
				struct smpfota_esb_payload *ack);

/* Room in the PTX's RX FIFO for an ACK carrying len bytes (an empty ACK always fits). An ACK
 * payload with nowhere to go counts as a lost ACK. */
bool smpfota_emu_esb_ptx_ack_fits(const struct smpfota_emu_esb *e, unsigned len);

/* The PTX e got the ACK (with ack's payload, if any; it must fit) for its TX FIFO head. */
void smpfota_emu_esb_ptx_acked(struct smpfota_emu_esb *e, const struct smpfota_esb_payload *ack);

/* Hand the events in ev to the link, as the ESB event handler would: TX_FAILED, TX_SUCCESS,
 * then RX_RECEIVED. */
void smpfota_emu_esb_deliver(struct smpfota_esb_link *link, unsigned ev, uint32_t now_us);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_EMU_ESB_RADIO_H */
