/*
 * SMP over GATT as a Bluetooth LE central, for Zephyr (smpfota/gatt.h does the SMP part):
 * finds a target that advertises Zephyr's SMP service (or a configured name or address),
 * connects, exchanges the ATT MTU, asks for the longest data length and LE 2M, discovers the
 * SMP characteristic and its CCC, subscribes to notifications (pairing when the target asks
 * for it: Zephyr's CONFIG_BT_ATT_RETRY_ON_SEC_ERR raises security and repeats the CCC write;
 * a passkey comes from CONFIG_SMPFOTA_GATT_CENTRAL_PASSKEY), sizes the link's pieces to the
 * connection event (smpfota_gatt_event_piece() from the interval, ATT MTU, data length, PHY and
 * encryption; again when one of them changes), and hands the owner a ready link.
 * After a disconnection it scans again and reconnects; the SMP client's retransmissions and
 * the upload's resume do the rest.
 *
 * Threads: the Bluetooth callbacks only copy notifications into an inbox and post events;
 * one work item on the glue's own work queue (writes without response may block there until
 * the host has a buffer) feeds the pieces, in order with disconnections, to the GATT link and
 * runs the owner's pump, all under one mutex that the owner's threads (the shell) take too.
 * One instance per image (the Bluetooth connection callbacks are global).
 */
#ifndef SMPFOTA_ZEPHYR_GATT_CENTRAL_H
#define SMPFOTA_ZEPHYR_GATT_CENTRAL_H

#include <zephyr/bluetooth/conn.h>
#include <zephyr/bluetooth/gatt.h>
#include <zephyr/kernel.h>

#include "smpfota/gatt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The owner's share of the work item, under the lock: drive the client or the workflow.
 * Returns µs until it wants to run again, or -1 (as smpfota_zipc_pump_fn). */
typedef int32_t (*smpfota_zgatt_pump_fn)(void *user, uint32_t now_us);

/* The link came up (subscribed, MTU known: smpfota_gatt_mtu() and smpfota_gatt_piece() are
 * valid) or went down; called under the lock from the work item. */
typedef void (*smpfota_zgatt_state_fn)(void *user, bool up);

struct smpfota_zgatt {
	struct smpfota_gatt link;
	uint8_t tx[CONFIG_SMPFOTA_FRAME_MAX];
	uint8_t rx[CONFIG_SMPFOTA_FRAME_MAX];
	struct k_mutex lock;
	struct k_work_delayable work;
	smpfota_zgatt_state_fn state;
	smpfota_zgatt_pump_fn pump;
	void *user;
	/* connection (Bluetooth callbacks) */
	struct bt_conn *conn;
	uint16_t svc_end, value_handle;
	struct bt_gatt_exchange_params xchg;
	struct bt_gatt_discover_params disc;
	struct bt_gatt_subscribe_params sub;
	atomic_t events;          /* ZGATT_EV_* for the work item */
	atomic_t linked;          /* subscribed on the current connection (cleared at once by
				   * the disconnection, before the work item sees it) */
	atomic_t in_air;          /* pieces written, their completion not yet called back */
	atomic_t data_len;        /* the connection's LE data length (TX octets), for the
				   * link's trickle (smpfota_gatt_set_data_len()) and pieces */
	bool up;                  /* the owner was told the link is up (work item only) */
	/* notifications (and disconnection marks) for the work item: [len lo, len hi][data] */
	struct k_spinlock inbox_lock;
	uint8_t inbox[CONFIG_SMPFOTA_GATT_CENTRAL_INBOX_SIZE];
	size_t in_head, in_used;
	uint32_t inbox_drops;     /* notifications the inbox had no room for */
};

/* Enable Bluetooth (bt_enable), register the callbacks and start scanning. rx gets every
 * SMP frame (smpfota/gatt.h rules); state and pump as above; all called under the lock with
 * user. z must stay allocated for good (static). 0 or a negative errno. */
int smpfota_zgatt_start(struct smpfota_zgatt *z, smpfota_gatt_rx_fn rx,
			smpfota_zgatt_state_fn state, smpfota_zgatt_pump_fn pump, void *user);

/* Take / release the lock around any call into the link or what the pump drives. */
void smpfota_zgatt_lock(struct smpfota_zgatt *z);
void smpfota_zgatt_unlock(struct smpfota_zgatt *z);

/* Run the work item now (from any context). */
void smpfota_zgatt_kick(struct smpfota_zgatt *z);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_ZEPHYR_GATT_CENTRAL_H */
