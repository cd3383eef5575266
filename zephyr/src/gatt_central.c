/*
 * SMP over GATT as a Bluetooth LE central (include/smpfota_zephyr/gatt_central.h). Every
 * Zephyr API used here is in docs/ncs.md's ledger ("Bluetooth LE central") with the source
 * it was checked against.
 */
#include <errno.h>
#include <string.h>

#include <zephyr/bluetooth/att.h>
#include <zephyr/bluetooth/bluetooth.h>
#include <zephyr/bluetooth/conn.h>
#include <zephyr/bluetooth/gatt.h>
#include <zephyr/bluetooth/hci.h>
#include <zephyr/bluetooth/uuid.h>
#include <zephyr/logging/log.h>
#include <zephyr/sys/atomic.h>

#include "smpfota_zephyr/gatt_central.h"

LOG_MODULE_REGISTER(smpfota_gatt, CONFIG_SMPFOTA_LOG_LEVEL);

/* Zephyr's SMP service and characteristic (smp_bt.c; the same bytes as smpfota/gatt.h). */
static const struct bt_uuid_128 svc_uuid =
	BT_UUID_INIT_128(BT_UUID_128_ENCODE(0x8d53dc1d, 0x1db7, 0x4cd3, 0x868b, 0x8a527460aa84));
static const struct bt_uuid_128 chr_uuid =
	BT_UUID_INIT_128(BT_UUID_128_ENCODE(0xda2e7828, 0xfbce, 0x4e01, 0xae9e, 0x261174997c48));
static const uint8_t svc_uuid_le[16] = SMPFOTA_GATT_SVC_UUID_LE;

#define EV_SUBSCRIBED BIT(0)
#define EV_DATA_LEN   BIT(1)
#define EV_CONN       BIT(2) /* interval, PHY, data length or security changed: size the pieces */
#define INBOX_HDR 2U

static struct smpfota_zgatt *the; /* one instance: the connection callbacks are global */

K_THREAD_STACK_DEFINE(wq_stack, CONFIG_SMPFOTA_GATT_CENTRAL_WQ_STACK_SIZE);
static struct k_work_q wq;

static void start_scan(void);

/* ---- inbox: BT RX thread -> work item, in order ----------------------------------------- */

static void inbox_put(struct smpfota_zgatt *z, const uint8_t *d, uint16_t len)
{
	k_spinlock_key_t key = k_spin_lock(&z->inbox_lock);
	size_t cap = sizeof(z->inbox);

	if (z->in_used + INBOX_HDR + len > cap) {
		z->inbox_drops++; /* SMP's retransmission recovers */
	} else {
		uint8_t hdr[INBOX_HDR] = {(uint8_t)len, (uint8_t)(len >> 8)};
		size_t at = (z->in_head + z->in_used) % cap;

		for (size_t i = 0; i < INBOX_HDR + len; i++) {
			z->inbox[(at + i) % cap] = i < INBOX_HDR ? hdr[i] : d[i - INBOX_HDR];
		}
		z->in_used += INBOX_HDR + len;
	}
	k_spin_unlock(&z->inbox_lock, key);
	k_work_reschedule_for_queue(&wq, &z->work, K_NO_WAIT);
}

/* Take the oldest record into buf; its length, or -1 when empty. Length 0: a disconnection. */
static int inbox_get(struct smpfota_zgatt *z, uint8_t *buf)
{
	k_spinlock_key_t key = k_spin_lock(&z->inbox_lock);
	size_t cap = sizeof(z->inbox);
	int len = -1;

	if (z->in_used >= INBOX_HDR) {
		len = z->inbox[z->in_head] | (z->inbox[(z->in_head + 1) % cap] << 8);
		for (int i = 0; i < len; i++) {
			buf[i] = z->inbox[(z->in_head + INBOX_HDR + (size_t)i) % cap];
		}
		z->in_head = (z->in_head + INBOX_HDR + (size_t)len) % cap;
		z->in_used -= INBOX_HDR + (size_t)len;
	}
	k_spin_unlock(&z->inbox_lock, key);
	return len;
}

/* ---- the GATT link's op: one piece as a write without response ---------------------------- */

static void on_sent(struct bt_conn *conn, void *user_data)
{
	ARG_UNUSED(conn);
	struct smpfota_zgatt *z = user_data;

	if (atomic_get(&z->in_air) > 0) {
		atomic_dec(&z->in_air);
	}
	k_work_reschedule_for_queue(&wq, &z->work, K_NO_WAIT);
}

/* Pieces in the stack not yet sent and acknowledged (gatt.h ops.queued). */
static unsigned queued_pieces(void *ctx)
{
	struct smpfota_zgatt *z = ctx;

	return (unsigned)atomic_get(&z->in_air);
}

/* Work item, under the lock. Blocks while the host's ATT queue is full (fine on this queue). */
static int send_piece(void *ctx, const uint8_t *piece, size_t len)
{
	struct smpfota_zgatt *z = ctx;

	if (z->conn == NULL || !z->up || !atomic_get(&z->linked)) {
		return SMPFOTA_ERR_BUSY; /* the frame waits for the connection */
	}
	if (smpfota_gatt_trickling(&z->link) && atomic_get(&z->in_air) >= 2) {
		return SMPFOTA_ERR_BUSY; /* on_sent() brings the work item back */
	}
	int rc = bt_gatt_write_without_response_cb(z->conn, z->value_handle, piece, (uint16_t)len,
						   false, on_sent, z);
	if (rc == -ENOMEM) {
		return SMPFOTA_ERR_BUSY;
	}
	if (rc == 0) {
		atomic_inc(&z->in_air);
	}
	return rc == 0 ? 0 : SMPFOTA_ERR_IO;
}

/* ---- work item ------------------------------------------------------------------------------ */

/* Under the lock, the ATT MTU known: the link's pieces sized to this connection's events
 * (smpfota_gatt_event_piece(), docs/ble.md), as the simulator's master does. Without the PHY
 * and data length reported (CONFIG_BT_USER_PHY_UPDATE, CONFIG_BT_USER_DATA_LEN_UPDATE), or on
 * LE Coded, the figure is not known and the pieces stay ATT MTU - 3. */
static void size_pieces(struct smpfota_zgatt *z, struct bt_conn *conn)
{
	uint16_t piece = 0;
	struct bt_conn_info info;

	if (bt_conn_get_info(conn, &info) != 0 || info.type != BT_CONN_TYPE_LE) {
		smpfota_gatt_set_piece(&z->link, 0);
		return;
	}
	/* A first piece after an answer waits one interval (docs/ble.md, "The first piece after
	 * an answer"): a stock target frees the answered request's buffers only after the
	 * answer's acknowledgement. */
	smpfota_gatt_set_hold(&z->link, (uint16_t)((info.le.interval_us + 999U) / 1000U));
#if defined(CONFIG_BT_USER_PHY_UPDATE) && defined(CONFIG_BT_USER_DATA_LEN_UPDATE)
	if (info.le.phy->tx_phy == BT_GAP_LE_PHY_1M || info.le.phy->tx_phy == BT_GAP_LE_PHY_2M) {
		struct smpfota_gatt_conn_params cp = {
			/* The whole interval: the SoftDevice Controller extends a connection event
			 * while either side has data (CONFIG_BT_CTLR_SDC_CONN_EVENT_EXTEND_DEFAULT,
			 * default y in the controller image), beyond its 7.5 ms event length. */
			.event_us = info.le.interval_us,
			.att_mtu = MIN(bt_gatt_get_mtu(conn), SMPFOTA_GATT_MTU_MAX),
			.data_len = (uint8_t)atomic_get(&z->data_len),
			.phy = info.le.phy->tx_phy == BT_GAP_LE_PHY_2M ? 2 : 1,
			.encrypted = bt_conn_get_security(conn) >= BT_SECURITY_L2,
		};

		piece = smpfota_gatt_event_piece(&cp);
		LOG_INF("pieces of %u bytes (interval %u us, data length %u, LE %uM%s)", piece,
			cp.event_us, cp.data_len, cp.phy, cp.encrypted ? ", encrypted" : "");
	}
#endif
	smpfota_gatt_set_piece(&z->link, piece);
}

static void work_fn(struct k_work *w)
{
	struct k_work_delayable *dw = k_work_delayable_from_work(w);
	struct smpfota_zgatt *z = CONTAINER_OF(dw, struct smpfota_zgatt, work);
	static uint8_t piece[SMPFOTA_GATT_MTU_MAX];
	uint32_t now_ms = k_uptime_get_32();
	int32_t next_us = -1;
	int len;

	k_mutex_lock(&z->lock, K_FOREVER);
	while ((len = inbox_get(z, piece)) >= 0) {
		if (len > 0) {
			smpfota_gatt_on_piece(&z->link, piece, (size_t)len, now_ms);
		} else {
			smpfota_gatt_disconnected(&z->link);
			if (z->up) {
				z->up = false;
				z->state(z->user, false);
			}
		}
	}
	if (atomic_and(&z->events, ~EV_DATA_LEN) & EV_DATA_LEN) {
		(void)smpfota_gatt_set_data_len(&z->link, (uint16_t)atomic_get(&z->data_len));
	}
	bool conn_changed = atomic_and(&z->events, ~EV_CONN) & EV_CONN;
	struct bt_conn *conn = z->conn;

	if ((atomic_and(&z->events, ~EV_SUBSCRIBED) & EV_SUBSCRIBED) && conn != NULL) {
		uint16_t mtu = bt_gatt_get_mtu(conn);

		(void)smpfota_gatt_set_mtu(&z->link, MIN(mtu, SMPFOTA_GATT_MTU_MAX));
		size_pieces(z, conn); /* before the owner sizes its client to the link */
		z->up = true;
		LOG_INF("SMP service ready, ATT MTU %u", mtu);
		z->state(z->user, true);
	} else if (conn_changed && z->up && conn != NULL && atomic_get(&z->linked)) {
		size_pieces(z, conn);
	}
	smpfota_gatt_poll(&z->link, now_ms);
	if (z->pump != NULL) {
		next_us = z->pump(z->user, (uint32_t)k_ticks_to_us_floor64(k_uptime_ticks()));
	}
	if (!smpfota_gatt_tx_idle(&z->link) && (next_us < 0 || next_us > 10000)) {
		next_us = 10000; /* a frame half handed over: the host frees buffers as it sends */
	}
	int32_t hold_ms = smpfota_gatt_hold_left(&z->link, now_ms);

	if (hold_ms >= 0 && (next_us < 0 || next_us > hold_ms * 1000)) {
		next_us = hold_ms * 1000; /* a first piece held after an answer goes then */
	}
	k_mutex_unlock(&z->lock);
	if (next_us >= 0) {
		k_work_reschedule_for_queue(&wq, &z->work, K_USEC(next_us));
	}
}

/* ---- discovery and subscription (BT RX thread) -------------------------------------------- */

static uint8_t on_notify(struct bt_conn *conn, struct bt_gatt_subscribe_params *params,
			 const void *data, uint16_t length)
{
	ARG_UNUSED(conn);
	ARG_UNUSED(params);
	if (data == NULL) {
		return BT_GATT_ITER_STOP; /* unsubscribed */
	}
	if (length > 0 && length <= SMPFOTA_GATT_MTU_MAX) {
		inbox_put(the, data, length); /* longer: not an ATT_MTU we agreed to, dropped */
	}
	return BT_GATT_ITER_CONTINUE;
}

static void on_subscribed(struct bt_conn *conn, uint8_t err,
			  struct bt_gatt_subscribe_params *params)
{
	ARG_UNUSED(params);
	if (err != 0) {
		LOG_ERR("subscribe: ATT error 0x%02x", err);
		(void)bt_conn_disconnect(conn, BT_HCI_ERR_REMOTE_USER_TERM_CONN);
		return;
	}
	atomic_set(&the->in_air, 0);
	atomic_set(&the->linked, 1);
	atomic_or(&the->events, EV_SUBSCRIBED);
	k_work_reschedule_for_queue(&wq, &the->work, K_NO_WAIT);
}

static uint8_t on_discover(struct bt_conn *conn, const struct bt_gatt_attr *attr,
			   struct bt_gatt_discover_params *params)
{
	struct smpfota_zgatt *z = the;

	if (attr == NULL) {
		LOG_ERR("no SMP service/characteristic/CCC (discovery type %u)", params->type);
		(void)bt_conn_disconnect(conn, BT_HCI_ERR_REMOTE_USER_TERM_CONN);
		return BT_GATT_ITER_STOP;
	}
	int rc = 0;

	if (params->type == BT_GATT_DISCOVER_PRIMARY) {
		const struct bt_gatt_service_val *svc = attr->user_data;

		z->svc_end = svc->end_handle;
		params->uuid = &chr_uuid.uuid;
		params->start_handle = attr->handle + 1;
		params->end_handle = z->svc_end;
		params->type = BT_GATT_DISCOVER_CHARACTERISTIC;
		rc = bt_gatt_discover(conn, params);
	} else if (params->type == BT_GATT_DISCOVER_CHARACTERISTIC) {
		const struct bt_gatt_chrc *chrc = attr->user_data;

		z->value_handle = chrc->value_handle;
		params->uuid = BT_UUID_GATT_CCC;
		params->start_handle = chrc->value_handle + 1;
		params->end_handle = z->svc_end;
		params->type = BT_GATT_DISCOVER_DESCRIPTOR;
		rc = bt_gatt_discover(conn, params);
	} else {
		memset(&z->sub, 0, sizeof(z->sub));
		z->sub.notify = on_notify;
		z->sub.subscribe = on_subscribed;
		z->sub.value_handle = z->value_handle;
		z->sub.ccc_handle = attr->handle;
		z->sub.value = BT_GATT_CCC_NOTIFY;
		rc = bt_gatt_subscribe(conn, &z->sub);
	}
	if (rc != 0) {
		LOG_ERR("discover/subscribe: %d", rc);
		(void)bt_conn_disconnect(conn, BT_HCI_ERR_REMOTE_USER_TERM_CONN);
	}
	return BT_GATT_ITER_STOP;
}

static void on_mtu(struct bt_conn *conn, uint8_t err, struct bt_gatt_exchange_params *params)
{
	ARG_UNUSED(params);
	struct smpfota_zgatt *z = the;

	LOG_INF("ATT MTU %u%s", bt_gatt_get_mtu(conn), err ? " (exchange failed)" : "");
	memset(&z->disc, 0, sizeof(z->disc));
	z->disc.uuid = &svc_uuid.uuid;
	z->disc.func = on_discover;
	z->disc.start_handle = BT_ATT_FIRST_ATTRIBUTE_HANDLE;
	z->disc.end_handle = BT_ATT_LAST_ATTRIBUTE_HANDLE;
	z->disc.type = BT_GATT_DISCOVER_PRIMARY;
	int rc = bt_gatt_discover(conn, &z->disc);

	if (rc != 0) {
		LOG_ERR("discover: %d", rc);
		(void)bt_conn_disconnect(conn, BT_HCI_ERR_REMOTE_USER_TERM_CONN);
	}
}

/* ---- connection ------------------------------------------------------------------------------ */

/* The connection's data length (TX octets) for the link's trickle and pieces, from the BT RX
 * thread. */
static void post_data_len(struct smpfota_zgatt *z, uint16_t octets)
{
	atomic_set(&z->data_len, octets);
	atomic_or(&z->events, EV_DATA_LEN | EV_CONN);
	k_work_reschedule_for_queue(&wq, &z->work, K_NO_WAIT);
}

/* The connection's interval, PHY or security changed (BT RX thread): the work item sizes the
 * pieces again. */
static void post_conn(struct bt_conn *conn)
{
	struct smpfota_zgatt *z = the;

	if (z != NULL && conn == z->conn) {
		atomic_or(&z->events, EV_CONN);
		k_work_reschedule_for_queue(&wq, &z->work, K_NO_WAIT);
	}
}

static void param_updated(struct bt_conn *conn, uint16_t interval, uint16_t latency,
			  uint16_t timeout)
{
	ARG_UNUSED(interval);
	ARG_UNUSED(latency);
	ARG_UNUSED(timeout);
	post_conn(conn);
}

#if defined(CONFIG_BT_USER_PHY_UPDATE)
static void phy_updated(struct bt_conn *conn, struct bt_conn_le_phy_info *param)
{
	ARG_UNUSED(param);
	post_conn(conn);
}
#endif

#if defined(CONFIG_BT_SMP)
static void security_changed(struct bt_conn *conn, bt_security_t level, enum bt_security_err err)
{
	ARG_UNUSED(level);
	ARG_UNUSED(err);
	post_conn(conn);
}
#endif

#if defined(CONFIG_BT_USER_DATA_LEN_UPDATE)
static void data_len_updated(struct bt_conn *conn, struct bt_conn_le_data_len_info *info)
{
	struct smpfota_zgatt *z = the;

	if (z != NULL && conn == z->conn) {
		post_data_len(z, info->tx_max_len);
	}
}
#endif

static void connected(struct bt_conn *conn, uint8_t err)
{
	struct smpfota_zgatt *z = the;

	if (z == NULL || conn != z->conn) {
		return;
	}
	if (err != 0) {
		LOG_WRN("connection failed: 0x%02x", err);
		bt_conn_unref(z->conn);
		z->conn = NULL;
		start_scan();
		return;
	}
	LOG_INF("connected");
	if (IS_ENABLED(CONFIG_BT_USER_DATA_LEN_UPDATE)) {
		/* every connection starts at 27 octets; data_len_updated() reports the change */
		post_data_len(z, BT_GAP_DATA_LEN_DEFAULT);
		(void)bt_conn_le_data_len_update(conn, BT_LE_DATA_LEN_PARAM_MAX);
	}
	if (IS_ENABLED(CONFIG_BT_USER_PHY_UPDATE)) {
		(void)bt_conn_le_phy_update(conn, BT_CONN_LE_PHY_PARAM_2M);
	}
	z->xchg.func = on_mtu;
	int rc = bt_gatt_exchange_mtu(conn, &z->xchg);

	if (rc != 0) {
		on_mtu(conn, 1, &z->xchg); /* already exchanged, or not possible: go on */
	}
}

static void disconnected(struct bt_conn *conn, uint8_t reason)
{
	struct smpfota_zgatt *z = the;

	if (z == NULL || conn != z->conn) {
		return;
	}
	LOG_INF("disconnected: 0x%02x", reason);
	atomic_set(&z->linked, 0);
	bt_conn_unref(z->conn);
	z->conn = NULL;
	inbox_put(z, NULL, 0); /* in order after its last notification */
	start_scan();
}

BT_CONN_CB_DEFINE(smpfota_gatt_conn_cb) = {
	.connected = connected,
	.disconnected = disconnected,
	.le_param_updated = param_updated,
#if defined(CONFIG_BT_SMP)
	.security_changed = security_changed,
#endif
#if defined(CONFIG_BT_USER_PHY_UPDATE)
	.le_phy_updated = phy_updated,
#endif
#if defined(CONFIG_BT_USER_DATA_LEN_UPDATE)
	.le_data_len_updated = data_len_updated,
#endif
};

#if defined(CONFIG_BT_SMP)
static void passkey_entry(struct bt_conn *conn)
{
	if (CONFIG_SMPFOTA_GATT_CENTRAL_PASSKEY < 0) {
		LOG_ERR("the target asks for a passkey: set CONFIG_SMPFOTA_GATT_CENTRAL_PASSKEY");
		(void)bt_conn_auth_cancel(conn);
		return;
	}
	(void)bt_conn_auth_passkey_entry(conn, (unsigned int)CONFIG_SMPFOTA_GATT_CENTRAL_PASSKEY);
}

static void auth_cancel(struct bt_conn *conn)
{
	ARG_UNUSED(conn);
	LOG_WRN("pairing cancelled");
}

static struct bt_conn_auth_cb auth_cb = {
	.passkey_entry = passkey_entry,
	.cancel = auth_cancel,
};
#endif

/* ---- scanning -------------------------------------------------------------------------------- */

struct match {
	bool found;
};

static bool ad_field(struct bt_data *data, void *user_data)
{
	struct match *m = user_data;
	const char *name = CONFIG_SMPFOTA_GATT_CENTRAL_NAME;

	if (name[0] != '\0') {
		if ((data->type == BT_DATA_NAME_COMPLETE || data->type == BT_DATA_NAME_SHORTENED) &&
		    data->data_len == strlen(name) && memcmp(data->data, name, data->data_len) == 0) {
			m->found = true;
		}
	} else if (data->type == BT_DATA_UUID128_ALL || data->type == BT_DATA_UUID128_SOME) {
		for (size_t i = 0; i + 16 <= data->data_len; i += 16) {
			if (memcmp(data->data + i, svc_uuid_le, 16) == 0) {
				m->found = true;
			}
		}
	}
	return !m->found;
}

static void on_adv(const bt_addr_le_t *addr, int8_t rssi, uint8_t type, struct net_buf_simple *ad)
{
	ARG_UNUSED(rssi);
	struct smpfota_zgatt *z = the;
	struct match m = {false};
	const char *want = CONFIG_SMPFOTA_GATT_CENTRAL_ADDR;

	if (z->conn != NULL || (type != BT_GAP_ADV_TYPE_ADV_IND &&
				type != BT_GAP_ADV_TYPE_ADV_DIRECT_IND &&
				type != BT_GAP_ADV_TYPE_SCAN_RSP)) {
		return;
	}
	if (want[0] != '\0') {
		bt_addr_le_t a;

		m.found = bt_addr_le_from_str(want, CONFIG_SMPFOTA_GATT_CENTRAL_ADDR_TYPE, &a) == 0 &&
			  bt_addr_le_cmp(&a, addr) == 0;
	} else {
		bt_data_parse(ad, ad_field, &m);
	}
	if (!m.found || bt_le_scan_stop() != 0) {
		return;
	}
	int rc = bt_conn_le_create(addr, BT_CONN_LE_CREATE_CONN,
				   BT_LE_CONN_PARAM(CONFIG_SMPFOTA_GATT_CENTRAL_INTERVAL,
						    CONFIG_SMPFOTA_GATT_CENTRAL_INTERVAL, 0,
						    CONFIG_SMPFOTA_GATT_CENTRAL_TIMEOUT),
				   &z->conn);
	if (rc != 0) {
		LOG_WRN("connect: %d", rc);
		z->conn = NULL;
		start_scan();
	}
}

static void start_scan(void)
{
	/* Active scanning: a name comes in the scan response (smp_svr puts it there). */
	int rc = bt_le_scan_start(BT_LE_SCAN_ACTIVE, on_adv);

	if (rc != 0 && rc != -EALREADY) {
		LOG_ERR("scan: %d", rc);
	}
}

/* ---- API ------------------------------------------------------------------------------------- */

int smpfota_zgatt_start(struct smpfota_zgatt *z, smpfota_gatt_rx_fn rx,
			smpfota_zgatt_state_fn state, smpfota_zgatt_pump_fn pump, void *user)
{
	struct smpfota_gatt_config cfg = {
		.ops = {.send = send_piece, .ctx = z, .queued = queued_pieces},
		.tx_buf = z->tx,
		.tx_size = sizeof(z->tx),
		.rx_buf = z->rx,
		.rx_size = sizeof(z->rx),
		.rx = rx,
		.user = user,
		.peer_reassembles = IS_ENABLED(CONFIG_SMPFOTA_GATT_CENTRAL_PEER_REASSEMBLY),
		/* docs/ble.md: keeps a stock target's answers acknowledged in the event that
		 * carries them; 8 bytes over 251-octet PDUs, a piece that fills one PDU over
		 * shorter ones (the data length the connection reports, EV_DATA_LEN; without
		 * CONFIG_BT_USER_DATA_LEN_UPDATE it is not known and stays 8) */
		.trickle_piece = 8,
	};
	int rc = smpfota_gatt_init(&z->link, &cfg);

	if (rc != 0 || state == NULL) {
		return -EINVAL;
	}
	k_mutex_init(&z->lock);
	k_work_init_delayable(&z->work, work_fn);
	k_work_queue_init(&wq);
	k_work_queue_start(&wq, wq_stack, K_THREAD_STACK_SIZEOF(wq_stack),
			   CONFIG_SMPFOTA_GATT_CENTRAL_WQ_PRIORITY, NULL);
	z->state = state;
	z->pump = pump;
	z->user = user;
	the = z;
	rc = bt_enable(NULL);
	if (rc != 0 && rc != -EALREADY) {
		return rc;
	}
#if defined(CONFIG_BT_SMP)
	rc = bt_conn_auth_cb_register(&auth_cb);
	if (rc != 0) {
		return rc;
	}
#endif
	start_scan();
	return 0;
}

void smpfota_zgatt_lock(struct smpfota_zgatt *z)
{
	k_mutex_lock(&z->lock, K_FOREVER);
}

void smpfota_zgatt_unlock(struct smpfota_zgatt *z)
{
	k_mutex_unlock(&z->lock);
}

void smpfota_zgatt_kick(struct smpfota_zgatt *z)
{
	k_work_reschedule_for_queue(&wq, &z->work, K_NO_WAIT);
}
