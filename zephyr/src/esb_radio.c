/*
 * NCS ESB under the smpfota ESB link (include/smpfota_zephyr/esb_radio.h).
 */
#include <errno.h>
#include <string.h>

#include <esb.h>
#include <zephyr/drivers/clock_control.h>
#include <zephyr/drivers/clock_control/nrf_clock_control.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/atomic.h>

#include "smpfota_zephyr/esb_radio.h"

LOG_MODULE_DECLARE(smpfota, CONFIG_SMPFOTA_LOG_LEVEL);

BUILD_ASSERT(CONFIG_ESB_MAX_PAYLOAD_LENGTH >= SMPFOTA_ESB_MIN_PAYLOAD &&
		     CONFIG_ESB_MAX_PAYLOAD_LENGTH <= SMPFOTA_ESB_MAX_PAYLOAD,
	     "the link needs 5..252-byte ESB payloads");

enum { EV_TX_OK = BIT(0), EV_TX_FAIL = BIT(1), EV_RX = BIT(2) };

static atomic_t events;
static void (*kick_fn)(void *ctx);
static void *kick_ctx;

static void on_esb_event(const struct esb_evt *evt)
{
	switch (evt->evt_id) {
	case ESB_EVENT_TX_SUCCESS:
		atomic_or(&events, EV_TX_OK);
		break;
	case ESB_EVENT_TX_FAILED:
		atomic_or(&events, EV_TX_FAIL);
		break;
	case ESB_EVENT_RX_RECEIVED:
		atomic_or(&events, EV_RX);
		break;
	}
	kick_fn(kick_ctx); /* the link runs in the work item, never in this interrupt */
}

static int r_write(void *ctx, const struct smpfota_esb_payload *p)
{
	ARG_UNUSED(ctx);
	struct esb_payload e = {.length = p->length, .pipe = p->pipe, .noack = p->noack};

	memcpy(e.data, p->data, p->length);
	int rc = esb_write_payload(&e);

	return rc == -ENOMEM ? SMPFOTA_ERR_NOMEM : rc; /* -ENOMEM: TX FIFO full */
}

static int r_read(void *ctx, struct smpfota_esb_payload *p)
{
	ARG_UNUSED(ctx);
	struct esb_payload e;
	int rc = esb_read_rx_payload(&e);

	if (rc == -ENODATA) {
		return 0;
	}
	if (rc != 0) {
		return rc;
	}
	p->length = e.length;
	p->pipe = e.pipe;
	p->rssi = e.rssi;
	p->noack = e.noack;
	p->pid = e.pid;
	memcpy(p->data, e.data, e.length);
	return e.length;
}

static int r_start_tx(void *ctx)
{
	ARG_UNUSED(ctx);
	return esb_start_tx();
}

static int r_flush_tx(void *ctx)
{
	ARG_UNUSED(ctx);
	return esb_flush_tx();
}

static bool r_is_idle(void *ctx)
{
	ARG_UNUSED(ctx);
	return esb_is_idle();
}

struct smpfota_esb_radio smpfota_zesb_radio(void)
{
	return (struct smpfota_esb_radio){
		.write_payload = r_write,
		.read_rx_payload = r_read,
		.start_tx = r_start_tx,
		.flush_tx = r_flush_tx,
		.is_idle = r_is_idle,
		.max_payload = CONFIG_ESB_MAX_PAYLOAD_LENGTH,
	};
}

void smpfota_zesb_deliver(struct smpfota_esb_link *l, uint32_t now_us)
{
	atomic_val_t ev = atomic_clear(&events);

	if (ev & EV_TX_FAIL) {
		smpfota_esb_link_on_event(l, SMPFOTA_ESB_EVT_TX_FAILED, now_us);
	}
	if (ev & EV_TX_OK) {
		smpfota_esb_link_on_event(l, SMPFOTA_ESB_EVT_TX_SUCCESS, now_us);
	}
	if (ev & EV_RX) {
		smpfota_esb_link_on_event(l, SMPFOTA_ESB_EVT_RX_RECEIVED, now_us);
	}
}

/* ESB needs the high-frequency crystal running (as NCS's esb_prx/esb_ptx samples start it). */
static int hfclk_start(void)
{
	struct onoff_manager *mgr = z_nrf_clock_control_get_onoff(CLOCK_CONTROL_NRF_SUBSYS_HF);
	struct onoff_client cli;
	int rc, res;

	if (mgr == NULL) {
		return -ENXIO;
	}
	sys_notify_init_spinwait(&cli.notify);
	rc = onoff_request(mgr, &cli);
	if (rc < 0) {
		return rc;
	}
	do {
		rc = sys_notify_fetch_result(&cli.notify, &res);
	} while (rc == -EAGAIN);
	return rc != 0 ? rc : res;
}

int smpfota_zesb_init(bool ptx, uint8_t rf_channel, void (*kick)(void *ctx), void *ctx)
{
	/* Any addresses work if both boards use the same; these are NCS's sample values. */
	static const uint8_t base0[4] = {0xE7, 0xE7, 0xE7, 0xE7};
	static const uint8_t base1[4] = {0xC2, 0xC2, 0xC2, 0xC2};
	static const uint8_t prefix[8] = {0xE7, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8};
	struct esb_config cfg = ESB_DEFAULT_CONFIG;
	int rc;

	kick_fn = kick;
	kick_ctx = ctx;
	rc = hfclk_start();
	if (rc != 0) {
		LOG_ERR("HF clock: %d", rc);
		return rc;
	}
	cfg.protocol = ESB_PROTOCOL_ESB_DPL;
	cfg.mode = ptx ? ESB_MODE_PTX : ESB_MODE_PRX;
	cfg.event_handler = on_esb_event;
	cfg.bitrate = ESB_BITRATE_2MBPS;
	cfg.tx_mode = ESB_TXMODE_AUTO;
	cfg.payload_length = CONFIG_ESB_MAX_PAYLOAD_LENGTH;
	cfg.selective_auto_ack = false; /* every packet ACKed: the link relies on it */
	cfg.use_fast_ramp_up = true;    /* both ends are nRF53 (40 µs instead of 130) */

	rc = esb_init(&cfg);
	rc = rc ? rc : esb_set_base_address_0(base0);
	rc = rc ? rc : esb_set_base_address_1(base1);
	rc = rc ? rc : esb_set_prefixes(prefix, ARRAY_SIZE(prefix));
	rc = rc ? rc : esb_set_rf_channel(rf_channel);
	if (rc == 0 && !ptx) {
		rc = esb_start_rx();
	}
	if (rc != 0) {
		LOG_ERR("ESB init: %d", rc);
	}
	return rc;
}
