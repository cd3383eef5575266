/*
 * mcumgr SMP transport over the smpfota frame bridge (CONFIG_SMPFOTA_MCUMGR_TRANSPORT_IPC):
 * Zephyr's own img_mgmt, os_mgmt... answer the SMP frames the network core receives over ESB.
 * One IPC message per frame, credit-based (src/bridge.c): a request waits in the bridge,
 * holding its credit, while mcumgr has no net_buf free (one always stays free for an answer),
 * so the network core stops reading the radio rather than dropping frames. Starts by itself
 * at boot.
 *
 * With CONFIG_SMPFOTA_SECURE the transport is the secure channel's responder (src/secure.c,
 * docs/security.md): mcumgr only ever gets requests the master sealed, each once; a
 * plaintext request is answered with EACCESSDENIED by the channel and never reaches mcumgr;
 * responses go out sealed. As `smpfota target --key` does on the host.
 */
#include <zephyr/devicetree.h>
#include <zephyr/init.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/mgmt/mcumgr/smp/smp.h>
#include <zephyr/mgmt/mcumgr/transport/smp.h>
#include <zephyr/net_buf.h>

#include <mgmt/mcumgr/transport/smp_internal.h>

#include "smpfota_zephyr/ipc_bridge.h"
#if defined(CONFIG_SMPFOTA_SECURE)
#include "smpfota_zephyr/secure.h"
#endif

LOG_MODULE_DECLARE(smpfota, CONFIG_SMPFOTA_LOG_LEVEL);

/* The ipc_service instance: the devicetree chosen node "smpfota,ipc", else ipc0. */
#if DT_HAS_CHOSEN(smpfota_ipc)
#define SMPFOTA_IPC_NODE DT_CHOSEN(smpfota_ipc)
#else
#define SMPFOTA_IPC_NODE DT_NODELABEL(ipc0)
#endif

static struct smp_transport smpt;
static struct smpfota_zipc zipc;
/* Responses waiting for credit, oldest first (mcumgr's output must consume its buffer). */
static struct k_fifo out_q;

/* A request into the net_buf taken for it, and to mcumgr (which frees the buffer). */
static void to_mcumgr(struct net_buf *nb, const uint8_t *frame, size_t len)
{
	if (len > net_buf_tailroom(nb)) {
		/* Larger than CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE: mcumgr could never take it. */
		LOG_WRN("request of %u bytes dropped (netbuf %u)", (unsigned)len,
			(unsigned)net_buf_tailroom(nb));
		smp_packet_free(nb);
		return;
	}
	net_buf_add_mem(nb, frame, len);
	smp_rx_req(&smpt, nb);
}

#if defined(CONFIG_SMPFOTA_SECURE)
static struct smpfota_secure sec;
/* Two halves (received plaintext, frames sent), each the largest frame on the bridge. */
static uint8_t sec_buf[2 * CONFIG_SMPFOTA_FRAME_MAX];
/* The net_buf taken before a frame is opened: an authenticated frame cannot be offered again
 * (its counter is spent), so there must be room for it before the channel sees it. */
static struct net_buf *rx_nb;

BUILD_ASSERT(CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE + SMPFOTA_SECURE_OVERHEAD <=
		     CONFIG_SMPFOTA_FRAME_MAX,
	     "a sealed request must fit CONFIG_SMPFOTA_FRAME_MAX");

/* An authenticated request (inside smpfota_secure_input(), under the bridge lock). */
static int sec_deliver(void *ctx, const uint8_t *frame, size_t len)
{
	ARG_UNUSED(ctx);
	to_mcumgr(rx_nb, frame, len);
	rx_nb = NULL;
	return 0;
}

/* The channel's frames (sealed responses, handshake answers) to the network core. */
static int sec_send(void *ctx, const uint8_t *frame, size_t len)
{
	ARG_UNUSED(ctx);
	return smpfota_bridge_send(&zipc.br, frame, len);
}
#endif

/* A frame from the network core (under the bridge lock). */
static int on_frame(void *user, const uint8_t *frame, size_t len)
{
	ARG_UNUSED(user);
	struct net_buf *nb = smp_packet_alloc();
	/* mcumgr answers into a buffer of the same pool (smp_alloc_rsp): a request that took
	 * the last one would be answered with an ENOMEM error (smp.c), so one stays free. */
	struct net_buf *spare = nb != NULL ? smp_packet_alloc() : NULL;

	if (spare == NULL) {
		if (nb != NULL) {
			smp_packet_free(nb);
		}
		return SMPFOTA_ERR_BUSY; /* kept by the bridge, offered again shortly */
	}
	smp_packet_free(spare);
#if defined(CONFIG_SMPFOTA_SECURE)
	/* Handshakes, refusals and dropped frames leave the buffer unused. */
	rx_nb = nb;
	(void)smpfota_secure_input(&sec, frame, len, k_uptime_get_32());
	if (rx_nb != NULL) {
		smp_packet_free(rx_nb);
		rx_nb = NULL;
	}
#else
	to_mcumgr(nb, frame, len);
#endif
	return 0;
}

/* Send queued responses while there is credit (under the lock). */
static int32_t drain(void *user, uint32_t now_us)
{
	ARG_UNUSED(user);
	ARG_UNUSED(now_us);
	struct net_buf *nb;

	while ((nb = k_fifo_peek_head(&out_q)) != NULL) {
#if defined(CONFIG_SMPFOTA_SECURE)
		/* Sealed even when refused (a counter per seal); the next try seals anew. */
		int rc = smpfota_secure_send(&sec, nb->data, nb->len);
#else
		int rc = smpfota_bridge_send(&zipc.br, nb->data, nb->len);
#endif

		if (rc == SMPFOTA_ERR_BUSY) {
			/* Credit comes with input (which kicks); a full channel needs a retry. */
			return 1000;
		}
		if (rc != 0) {
			LOG_WRN("response of %u bytes dropped: %d", nb->len, rc);
		}
		(void)k_fifo_get(&out_q, K_NO_WAIT);
		smp_packet_free(nb);
	}
	return -1;
}

/* mcumgr's output (its work queue): queue the response and let the bridge's work send it. */
static int smp_ipc_output(struct net_buf *nb)
{
	k_fifo_put(&out_q, nb);
	smpfota_zipc_kick(&zipc);
	return 0;
}

static uint16_t smp_ipc_get_mtu(const struct net_buf *nb)
{
	ARG_UNUSED(nb);
	size_t mtu = smpfota_bridge_mtu(&zipc.br); /* 0 until the network core is heard */

#if defined(CONFIG_SMPFOTA_SECURE)
	mtu = smpfota_secure_mtu((uint16_t)MIN(mtu, UINT16_MAX));
#endif
	return (uint16_t)MIN(mtu, UINT16_MAX);
}

static int smp_ipc_init(void)
{
	int rc;

	k_fifo_init(&out_q);
#if defined(CONFIG_SMPFOTA_SECURE)
	struct smpfota_secure_config sc = {.send = sec_send,
					   .deliver = sec_deliver,
					   .buf = sec_buf,
					   .buf_size = sizeof(sec_buf)};
	uint8_t key_id; /* the responder answers whichever key id a HELLO names */

	rc = smpfota_zsecure_init(&sc.crypto, &key_id);
	if (rc == 0) {
		rc = smpfota_secure_init_responder(&sec, &sc, k_uptime_get_32());
	}
	if (rc != 0) {
		/* No plaintext fallback: without the channel the transport does not start. */
		LOG_ERR("secure channel: %d; SMP over IPC not started", rc);
		return -EIO;
	}
#endif
	smpt.functions.output = smp_ipc_output;
	smpt.functions.get_mtu = smp_ipc_get_mtu;
	rc = smp_transport_init(&smpt);
	if (rc != 0) {
		LOG_ERR("smp_transport_init: %d", rc);
		return rc;
	}
	return smpfota_zipc_start(&zipc, DEVICE_DT_GET(SMPFOTA_IPC_NODE), on_frame, NULL, NULL,
				  drain, NULL, NULL);
}

SYS_INIT(smp_ipc_init, APPLICATION, CONFIG_SMPFOTA_MCUMGR_TRANSPORT_IPC_INIT_PRIORITY);
