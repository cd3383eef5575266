/*
 * A smpfota frame bridge (smpfota/bridge.h) on an ipc_service endpoint, for Zephyr.
 *
 * All the decisions (credits, restarts, events) are the portable bridge's; this glue only
 * - opens the ipc_service instance and registers one endpoint
 *   (CONFIG_SMPFOTA_IPC_EPT_NAME) whose received callback feeds smpfota_bridge_input();
 * - maps ipc_service_send() onto the bridge's channel op (-ENOMEM, -ENOBUFS, -EBUSY: busy);
 * - runs one delayable work item that polls the bridge, and an optional pump of the
 *   owner's (the ESB link, the client engine), at the earliest deadline of both;
 * - serialises every call with one mutex: the ICMsg receive work queue, this work item and
 *   the owner's threads (mcumgr's work queue, the shell) all take it.
 */
#ifndef SMPFOTA_ZEPHYR_IPC_BRIDGE_H
#define SMPFOTA_ZEPHYR_IPC_BRIDGE_H

#include <zephyr/device.h>
#include <zephyr/ipc/ipc_service.h>
#include <zephyr/kernel.h>

#include "smpfota/bridge.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The owner's share of the work item, called under the lock after input or a kick: drive
 * what sits behind the bridge. Returns µs until it wants to run again, or -1. */
typedef int32_t (*smpfota_zipc_pump_fn)(void *user, uint32_t now_us);

struct smpfota_zipc {
	struct smpfota_bridge br;
	struct ipc_ept ept;
	struct ipc_ept_cfg ept_cfg;   /* ipc_service keeps a pointer to it */
	struct k_mutex lock;
	struct k_work_delayable work;
	struct k_work_q *wq;
	smpfota_zipc_pump_fn pump;
	void *pump_user;
	uint8_t ring[CONFIG_SMPFOTA_IPC_RING_SIZE];
	uint8_t txb[SMPFOTA_BRIDGE_HDR_SIZE + CONFIG_SMPFOTA_FRAME_MAX];
};

/* Start the bridge on instance (e.g. DEVICE_DT_GET(DT_NODELABEL(ipc0))): rx and event as in
 * bridge.h (called under the lock), pump optional, wq NULL = the system work queue. z must
 * stay allocated for good (static). 0 or a negative errno from ipc_service. */
int smpfota_zipc_start(struct smpfota_zipc *z, const struct device *instance,
		       smpfota_bridge_rx_fn rx, smpfota_bridge_event_fn event, void *user,
		       smpfota_zipc_pump_fn pump, void *pump_user, struct k_work_q *wq);

/* Take / release the lock around any call into the bridge or what the pump drives. */
void smpfota_zipc_lock(struct smpfota_zipc *z);
void smpfota_zipc_unlock(struct smpfota_zipc *z);

/* Run the work item now (from any context, interrupts included). */
void smpfota_zipc_kick(struct smpfota_zipc *z);

/* Free-running microsecond clock for the library (wraps every 71 minutes; the library
 * compares times wrap-safely). */
uint32_t smpfota_zipc_now_us(void);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_ZEPHYR_IPC_BRIDGE_H */
