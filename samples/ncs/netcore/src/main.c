/*
 * smpfota network core: whole SMP frames between the ESB radio and the application core.
 *
 *   app core --IPC (one message per frame, credit)--> bridge --> ESB link --> radio
 *   app core <--IPC-------------------------------- bridge <-- ESB link <-- radio
 *
 * Every decision is in portable, host-tested code: the link (src/esb_link.c: fragments,
 * polls, back-off, back-pressure into ESB) and the bridge (src/bridge.c: credits, restarts,
 * link events). The simulator runs the same two the same way (ports/sim/board.c). This file
 * only wires them: a frame the app core sends that the link cannot queue yet stays in the
 * bridge (its credit held); a frame the radio brought that the app core has no credit for
 * stays in the link, which then stops reading ESB's RX FIFO.
 */
#include <zephyr/devicetree.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

#include "smpfota/bridge.h"
#include "smpfota/esb_link.h"
#include "smpfota_zephyr/esb_radio.h"
#include "smpfota_zephyr/ipc_bridge.h"

LOG_MODULE_REGISTER(smpfota_net, LOG_LEVEL_INF);

static struct smpfota_zipc zipc;
static struct smpfota_esb_link link;
static uint8_t txq[CONFIG_SMPFOTA_NET_TXQ_SIZE];
static uint8_t rx_buf[CONFIG_SMPFOTA_FRAME_MAX];

/* A frame the radio brought: to the app core, or keep it (no credit yet). */
static int link_rx(void *user, const uint8_t *frame, size_t len)
{
	ARG_UNUSED(user);
	int rc = smpfota_bridge_send(&zipc.br, frame, len);

	return rc == SMPFOTA_ERR_BUSY ? rc : 0; /* any other failure loses the frame */
}

/* A frame from the app core: into the link's queue, or keep it in the bridge. */
static int bridge_rx(void *user, const uint8_t *frame, size_t len)
{
	ARG_UNUSED(user);
	int rc = smpfota_esb_link_send(&link, frame, len);

	return rc == SMPFOTA_ERR_BUSY ? rc : 0; /* MSGSIZE: can never fit, dropped */
}

/* The work item's share (under the lock): radio events, link timers, link counters to the
 * app core (it has the log and the shell). */
static int32_t pump(void *user, uint32_t now)
{
	ARG_UNUSED(user);
	smpfota_zesb_deliver(&link, now);
	smpfota_esb_link_poll(&link, now);
	smpfota_bridge_post_link_stats(&zipc.br, &link.stats, now);
	return smpfota_esb_link_next_deadline(&link, now);
}

static void kick(void *ctx)
{
	smpfota_zipc_kick(ctx);
}

int main(void)
{
	bool ptx = IS_ENABLED(CONFIG_SMPFOTA_NET_PTX);
	int rc;

	/* The link first: the bridge's callbacks may use it as soon as the endpoint binds. */
	struct smpfota_esb_link_config cfg = {
		.role = ptx ? SMPFOTA_ESB_PTX : SMPFOTA_ESB_PRX,
		.radio = smpfota_zesb_radio(),
		.pipe = 0,
		.first_id = (uint8_t)k_cycle_get_32(),
		.txq = txq,
		.txq_size = sizeof(txq),
		.rx_buf = rx_buf,
		.rx_size = sizeof(rx_buf),
		.rx = link_rx,
	};
	rc = smpfota_esb_link_init(&link, &cfg, smpfota_zipc_now_us());
	if (rc != 0) {
		LOG_ERR("link init: %d", rc);
		return 0;
	}
	rc = smpfota_zipc_start(&zipc, DEVICE_DT_GET(DT_NODELABEL(ipc0)), bridge_rx, NULL, NULL,
				pump, NULL, NULL);
	if (rc != 0) {
		LOG_ERR("IPC bridge: %d", rc);
		return 0;
	}
	smpfota_zipc_lock(&zipc); /* the work item may already be driving the link */
	rc = smpfota_zesb_init(ptx, CONFIG_SMPFOTA_NET_RF_CHANNEL, kick, &zipc);
	smpfota_zipc_unlock(&zipc);
	if (rc != 0) {
		return 0;
	}
	LOG_INF("smpfota net core: ESB %s, channel %d, frames up to %d bytes", ptx ? "PTX" : "PRX",
		CONFIG_SMPFOTA_NET_RF_CHANNEL, CONFIG_SMPFOTA_FRAME_MAX);
	return 0;
}
