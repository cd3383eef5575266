/*
 * A smpfota frame bridge on an ipc_service endpoint (include/smpfota_zephyr/ipc_bridge.h).
 * Thin on purpose: what to send, when and what to hold back is decided in src/bridge.c,
 * which the host tests and the simulator run.
 */
#include <errno.h>

#include <zephyr/logging/log.h>

#include "smpfota_zephyr/ipc_bridge.h"

LOG_MODULE_REGISTER(smpfota, CONFIG_SMPFOTA_LOG_LEVEL);

BUILD_ASSERT(CONFIG_SMPFOTA_IPC_RING_SIZE >= SMPFOTA_BRIDGE_RING_MIN(CONFIG_SMPFOTA_FRAME_MAX),
	     "CONFIG_SMPFOTA_IPC_RING_SIZE must hold two largest frames (bridge.h)");
#if defined(CONFIG_PBUF_RX_READ_BUF_SIZE)
/* ICMsg leaves a message larger than its read buffer in the ring: the channel stalls. */
BUILD_ASSERT(CONFIG_PBUF_RX_READ_BUF_SIZE >= SMPFOTA_BRIDGE_HDR_SIZE + CONFIG_SMPFOTA_FRAME_MAX,
	     "set CONFIG_PBUF_RX_READ_BUF_SIZE >= CONFIG_SMPFOTA_FRAME_MAX + 7 (docs/ncs.md)");
#endif

uint32_t smpfota_zipc_now_us(void)
{
	return (uint32_t)k_ticks_to_us_floor64((uint64_t)k_uptime_ticks());
}

void smpfota_zipc_lock(struct smpfota_zipc *z)
{
	(void)k_mutex_lock(&z->lock, K_FOREVER);
}

void smpfota_zipc_unlock(struct smpfota_zipc *z)
{
	(void)k_mutex_unlock(&z->lock);
}

void smpfota_zipc_kick(struct smpfota_zipc *z)
{
	(void)k_work_reschedule_for_queue(z->wq, &z->work, K_NO_WAIT);
}

static int chan_send(void *ctx, const uint8_t *msg, size_t len)
{
	struct smpfota_zipc *z = ctx;
	int rc = ipc_service_send(&z->ept, msg, len);

	if (rc >= 0) {
		return 0;
	}
	/* Full ring, buffer held by another sender, or not bound yet: try again later. */
	if (rc == -ENOMEM || rc == -ENOBUFS || rc == -EBUSY) {
		return SMPFOTA_ERR_BUSY;
	}
	LOG_WRN("ipc_service_send: %d", rc);
	return SMPFOTA_ERR_IO;
}

static void on_bound(void *priv)
{
	struct smpfota_zipc *z = priv;

	LOG_INF("IPC endpoint bound");
	smpfota_zipc_kick(z); /* the HELLO waiting for the channel goes now */
}

static void on_received(const void *data, size_t len, void *priv)
{
	struct smpfota_zipc *z = priv;

	smpfota_zipc_lock(z);
	smpfota_bridge_input(&z->br, data, len, smpfota_zipc_now_us());
	smpfota_zipc_unlock(z);
	smpfota_zipc_kick(z); /* credit or a frame may let the pump move on */
}

static void work_fn(struct k_work *work)
{
	struct k_work_delayable *dw = k_work_delayable_from_work(work);
	struct smpfota_zipc *z = CONTAINER_OF(dw, struct smpfota_zipc, work);
	uint32_t now = smpfota_zipc_now_us();
	int32_t wait = -1;

	smpfota_zipc_lock(z);
	if (z->pump != NULL) {
		wait = z->pump(z->pump_user, now);
	}
	/* After the pump: room it made behind the bridge takes kept frames at once. */
	smpfota_bridge_poll(&z->br, now);
	int32_t b = smpfota_bridge_next_deadline(&z->br, now);
	smpfota_zipc_unlock(z);

	if (b >= 0 && (wait < 0 || b < wait)) {
		wait = b;
	}
	if (wait >= 0) {
		(void)k_work_reschedule_for_queue(z->wq, &z->work, K_USEC(wait));
	}
}

int smpfota_zipc_start(struct smpfota_zipc *z, const struct device *instance,
		       smpfota_bridge_rx_fn rx, smpfota_bridge_event_fn event, void *user,
		       smpfota_zipc_pump_fn pump, void *pump_user, struct k_work_q *wq)
{
	int rc;

	k_mutex_init(&z->lock);
	k_work_init_delayable(&z->work, work_fn);
	z->wq = wq != NULL ? wq : &k_sys_work_q;
	z->pump = pump;
	z->pump_user = pump_user;

	struct smpfota_bridge_config cfg = {
		.ops = {.send = chan_send, .ctx = z},
		.ring = z->ring,
		.ring_size = sizeof(z->ring),
		.tx_buf = z->txb,
		.tx_buf_size = sizeof(z->txb),
		.max_frame = CONFIG_SMPFOTA_FRAME_MAX,
		/* A restarted core should not reuse its last epoch (bridge.h). */
		.first_epoch = (uint8_t)k_cycle_get_32(),
		.rx = rx,
		.event = event,
		.user = user,
	};
	rc = smpfota_bridge_init(&z->br, &cfg, smpfota_zipc_now_us());
	if (rc != 0) {
		return -EINVAL;
	}

	z->ept_cfg = (struct ipc_ept_cfg){
		.name = CONFIG_SMPFOTA_IPC_EPT_NAME,
		.cb = {.bound = on_bound, .received = on_received},
		.priv = z,
	};
	rc = ipc_service_open_instance(instance);
	if (rc < 0 && rc != -EALREADY) {
		LOG_ERR("ipc_service_open_instance: %d", rc);
		return rc;
	}
	rc = ipc_service_register_endpoint(instance, &z->ept, &z->ept_cfg);
	if (rc < 0) {
		LOG_ERR("ipc_service_register_endpoint: %d", rc);
		return rc;
	}
	smpfota_zipc_kick(z);
	return 0;
}
