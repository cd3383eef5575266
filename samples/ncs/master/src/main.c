/*
 * smpfota master: updates a target nRF5340 over ESB, or over Bluetooth LE as a central
 * (CONFIG_SMPFOTA_MASTER_LINK_BLE: any target running Zephyr's Bluetooth SMP transport,
 * docs/ble.md), with the image stored in the MX25R64 partition "smpfota-image" (docs/ncs.md
 * says how to put it there).
 *
 * The client engine and the update workflow (src/client.c, src/update.c) make every
 * decision: parameters, version check, pipelined resumable upload, test, reset, wait,
 * confirm. They are driven here exactly as in the simulator and the host CLI: frames in
 * through smpfota_client_input(), time through smpfota_update_poll() at
 * smpfota_update_next_deadline(). ESB: frames go out through the frame bridge to the network
 * core (one IPC message per frame), which runs the ESB link as PTX. BLE: through the GATT link
 * (smpfota/gatt.h) in zephyr/src/gatt_central.c, which finds, connects, subscribes and
 * reconnects; the client starts when the link is up, sized to it.
 *
 * Threads: the bridge's work item (system work queue) polls the workflow; the ICMsg work
 * queue feeds frames; the shell and the button start or stop. All of them take the bridge's
 * lock before touching the client, the workflow or the bridge.
 *
 * Secure channel (overlay-secure.conf, CONFIG_SMPFOTA_SECURE): the client's transport is the
 * channel's initiator (src/secure.c) on top of the bridge, as `smpfota --key` runs it on the
 * host: sessions open by themselves (again after the target's reset), frames go out sealed,
 * only authenticated answers reach the client. ESB only: a Bluetooth LE target runs Zephyr's
 * stock transport, which has no responder.
 *
 * Shell: smpfota update [force] [noconfirm] | list | image | status | stop. Button 1: update.
 */
#include <stdlib.h>
#include <string.h>

#include <dk_buttons_and_leds.h>
#include <zephyr/devicetree.h>
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>
#include <zephyr/shell/shell.h>
#include <zephyr/storage/flash_map.h>
#include <zephyr/sys/atomic.h>

#include "smpfota/client.h"
#include "smpfota/image.h"
#include "smpfota/update.h"
#if defined(CONFIG_SMPFOTA_MASTER_LINK_BLE)
#include "smpfota_zephyr/gatt_central.h"
#else
#include "smpfota_zephyr/ipc_bridge.h"
#endif
#if defined(CONFIG_SMPFOTA_SECURE)
#if defined(CONFIG_SMPFOTA_MASTER_LINK_BLE)
#error "CONFIG_SMPFOTA_SECURE wraps the ESB link; a Bluetooth LE target has no responder"
#endif
#include "smpfota_zephyr/secure.h"
#endif

LOG_MODULE_REGISTER(smpfota_master, LOG_LEVEL_INF);

#define IMAGE_PARTITION_ID FIXED_PARTITION_ID(smpfota_image_partition)

#if defined(CONFIG_SMPFOTA_MASTER_LINK_BLE)
static struct smpfota_zgatt zg;
#define LINK_LOCK()   smpfota_zgatt_lock(&zg)
#define LINK_UNLOCK() smpfota_zgatt_unlock(&zg)
#define LINK_KICK()   smpfota_zgatt_kick(&zg)
/* The client is set up when the link first comes up (its frame size depends on the MTU). */
static bool cli_ready;
/* The link is up (under the lock: set by on_link()). */
static bool link_up;
static void client_for_link(void);
#else
static struct smpfota_zipc zipc;
#define LINK_LOCK()   smpfota_zipc_lock(&zipc)
#define LINK_UNLOCK() smpfota_zipc_unlock(&zipc)
#define LINK_KICK()   smpfota_zipc_kick(&zipc)
static const bool cli_ready = true;
#endif
static struct smpfota_client cli;
static uint8_t cli_buf[(CONFIG_SMPFOTA_CLIENT_MAX_INFLIGHT + 1) * CONFIG_SMPFOTA_FRAME_MAX];
static struct smpfota_update upd;
static struct smpfota_image_info img;
static struct smpfota_upload_source src;
static const struct flash_area *fa;
/* An update owns the client from start to on_done; starting is refused meanwhile. */
static atomic_t busy;
static uint32_t last_pct = 101;
#if defined(CONFIG_SMPFOTA_SECURE)
static struct smpfota_secure sec;
/* Two halves (received plaintext, frames sent), each the largest frame on the bridge. */
static uint8_t sec_buf[2 * CONFIG_SMPFOTA_FRAME_MAX];
#endif

static uint32_t now_ms(void)
{
	return k_uptime_get_32();
}

static int fa_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	return flash_area_read(ctx, off, buf, len) == 0 ? 0 : SMPFOTA_ERR_IO;
}

/* ---- frames and events from the network core (ICMsg work queue, under the lock) ---------- */

static int to_client(void *user, const uint8_t *frame, size_t len)
{
	ARG_UNUSED(user);
	(void)smpfota_client_input(&cli, frame, len, now_ms());
	return 0;
}

static int on_frame(void *user, const uint8_t *frame, size_t len)
{
#if defined(CONFIG_SMPFOTA_SECURE)
	ARG_UNUSED(user);
	/* Authenticated frames reach to_client(); the rest is counted and dropped. */
	(void)smpfota_secure_input(&sec, frame, len, now_ms());
	return 0;
#else
	return to_client(user, frame, len);
#endif
}

#if !defined(CONFIG_SMPFOTA_MASTER_LINK_BLE)
static void on_event(void *user, unsigned code, uint32_t value)
{
	ARG_UNUSED(user);
	switch (code) {
	case SMPFOTA_BRIDGE_EVT_PEER_RESTART:
		LOG_INF("network core up (frames up to %u bytes)", value);
		break;
	case SMPFOTA_BRIDGE_EVT_FRAMES_LOST:
		LOG_WRN("radio: %u frames given up (target out of range or off?)", value);
		break;
	case SMPFOTA_BRIDGE_EVT_TX_FAILED:
		LOG_DBG("radio: %u ESB TX_FAILED", value);
		break;
	default:
		break;
	}
}
#endif

/* ---- the work item's share: time for the workflow (or a lone request) ---------------------- */

static int32_t pump(void *user, uint32_t now_us)
{
	ARG_UNUSED(user);
	ARG_UNUSED(now_us);
	uint32_t now = now_ms();
	int32_t ms;

	if (atomic_get(&busy)) {
		smpfota_update_poll(&upd, now);
		ms = smpfota_update_next_deadline(&upd, now);
	} else {
		smpfota_client_poll(&cli, now);
		ms = smpfota_client_next_deadline(&cli, now);
	}
#if defined(CONFIG_SMPFOTA_SECURE)
	smpfota_secure_poll(&sec, now); /* a HELLO to send again */
	int32_t hs = smpfota_secure_next_deadline(&sec, now);

	if (hs >= 0 && (ms < 0 || hs < ms)) {
		ms = hs;
	}
#endif
	return ms < 0 ? -1 : (int32_t)MIN((int64_t)ms * 1000, INT32_MAX);
}

/* ---- workflow callbacks (under the lock): progress in the log ----------------------------- */

static void on_step(void *user, enum smpfota_update_step step)
{
	ARG_UNUSED(user);
	LOG_INF("step: %s", smpfota_update_step_name((int)step));
}

static void on_progress(void *user, const struct smpfota_upload_progress *p)
{
	ARG_UNUSED(user);
	uint32_t pct = p->total ? (uint32_t)((uint64_t)p->done * 100U / p->total) : 0U;

	if (pct / 10U != last_pct / 10U || p->done == p->total) {
		last_pct = pct;
		LOG_INF("upload %u%% (%u/%u bytes, window %u)", pct, p->done, p->total, p->window);
	}
}

static void on_done(void *user, int err, enum smpfota_update_step step,
		    const struct smpfota_smp_status *st)
{
	ARG_UNUSED(user);
	ARG_UNUSED(st);
	if (err == 0) {
		LOG_INF("update done: the target runs the new image");
	} else {
		LOG_ERR("update failed at %s: %s (%d)", smpfota_update_step_name((int)step),
			smpfota_errname(err), err);
	}
	atomic_set(&busy, 0);
}

/* ---- starting ----------------------------------------------------------------------------- */

/* Check the stored image (outside the lock: it reads the whole partition), then start. */
static int start_update(bool force, bool confirm)
{
	int rc;

	if (!atomic_cas(&busy, 0, 1)) {
		return -EBUSY;
	}
	rc = smpfota_image_read_info(fa_read, (void *)fa, (uint32_t)fa->fa_size, &img);
	if (rc == 0) {
		src = (struct smpfota_upload_source){
			.read = fa_read, .ctx = (void *)fa, .size = img.image_size};
#if defined(CONFIG_SMPFOTA_SECURE)
		/* The hash runs on PSA, as the channel does in the work item: nRF Security's PSA
		 * API is thread-safe only under TF-M, so one at a time (frames wait meanwhile). */
		LINK_LOCK();
		rc = smpfota_update_check_image(&src, &img);
		LINK_UNLOCK();
#else
		rc = smpfota_update_check_image(&src, &img);
#endif
	}
	if (rc != 0) {
		LOG_ERR("no valid MCUboot image in smpfota-image: %s (%d)", smpfota_errname(rc), rc);
		atomic_set(&busy, 0);
		return -ENOENT;
	}

	struct smpfota_update_params prm = {.force = force, .no_confirm = !confirm};
#if !defined(CONFIG_SMPFOTA_MASTER_LINK_BLE)
	/* The frame bridge and ESB hold back what the target cannot take yet (credits, withheld
	 * ACKs): the window is full from the first chunk, covering the target's flash erases
	 * (docs/client.md). Over BLE, Zephyr's smp_bt drops a request it has no buffer for. */
	prm.upload.held_not_dropped = true;
#else
	/* The link layer resends until acknowledged: buf_count - 1 chunks from the start, no
	 * probe during a flash erase (a full smp_bt target would drop it). */
	prm.upload.lossless = true;
#endif

	last_pct = 101;
	LINK_LOCK();
#if defined(CONFIG_SMPFOTA_MASTER_LINK_BLE)
	if (link_up) {
		client_for_link(); /* the pieces may have changed since the link came up */
	}
#endif
	if (!cli_ready) {
		LINK_UNLOCK();
		LOG_ERR("no target connected yet");
		atomic_set(&busy, 0);
		return -ENOTCONN;
	}
	smpfota_client_cancel(&cli); /* a lone request (list) must not hold a slot */
	rc = smpfota_update_start(&upd, &cli, &src, &img, &prm, on_step, on_progress, on_done,
				  NULL, now_ms());
	LINK_UNLOCK();
	if (rc != 0) {
		LOG_ERR("update start: %d", rc);
		atomic_set(&busy, 0);
		return -EINVAL;
	}
	LOG_INF("update: %u bytes to the target", (unsigned)img.image_size);
	LINK_KICK();
	return 0;
}

static void button_work_fn(struct k_work *w)
{
	ARG_UNUSED(w);
	(void)start_update(false, true);
}

static K_WORK_DEFINE(button_work, button_work_fn);

static void on_button(uint32_t state, uint32_t changed)
{
	if (state & changed & DK_BTN1_MSK) {
		k_work_submit(&button_work);
	}
}

/* ---- shell -------------------------------------------------------------------------------- */

static void on_list(void *user, int err, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp)
{
	ARG_UNUSED(user);
	ARG_UNUSED(msg);
	if (err != 0) {
		LOG_ERR("image list: %s (%d)", smpfota_errname(err), err);
		return;
	}
	for (size_t i = 0; i < rsp->state.images_count; i++) {
		const struct smpfota_img_slot_state *s = &rsp->state.images[i];

		LOG_INF("image %u slot %u: %.*s%s%s%s%s", s->has_image ? s->image : 0U, s->slot,
			(int)s->version.len, s->version.ptr, s->active ? " active" : "",
			s->confirmed ? " confirmed" : "", s->pending ? " pending" : "",
			s->bootable ? " bootable" : "");
	}
}

static int cmd_update(const struct shell *sh, size_t argc, char **argv)
{
	bool force = false, confirm = true;

	for (size_t i = 1; i < argc; i++) {
		force = force || strcmp(argv[i], "force") == 0;
		confirm = confirm && strcmp(argv[i], "noconfirm") != 0;
	}
	int rc = start_update(force, confirm);

	if (rc == -EBUSY) {
		shell_error(sh, "an update is running (smpfota stop)");
	} else if (rc == 0) {
		shell_print(sh, "started; progress in the log");
	}
	return rc;
}

static int cmd_list(const struct shell *sh, size_t argc, char **argv)
{
	ARG_UNUSED(argc);
	ARG_UNUSED(argv);
	if (atomic_get(&busy)) {
		shell_error(sh, "an update is running");
		return -EBUSY;
	}
	struct smpfota_img_state_read_req req = {0};

	LINK_LOCK();
	int rc = cli_ready ? smpfota_client_send(&cli, SMPFOTA_MSG_IMG_STATE_READ, &req, 0,
						 on_list, NULL, now_ms())
			   : -ENOTCONN;
	LINK_UNLOCK();
	LINK_KICK();
	if (rc != 0) {
		shell_error(sh, "send: %d", rc);
	}
	return rc;
}

static int cmd_image(const struct shell *sh, size_t argc, char **argv)
{
	ARG_UNUSED(argc);
	ARG_UNUSED(argv);
	static struct smpfota_image_info info; /* ~500 B: off the shell's stack */
	char ver[SMPFOTA_IMAGE_VERSION_STR_MAX];
	int rc = smpfota_image_read_info(fa_read, (void *)fa, (uint32_t)fa->fa_size, &info);

	if (rc != 0) {
		shell_error(sh, "no MCUboot image in smpfota-image: %d", rc);
		return rc;
	}
	(void)smpfota_image_version_str(&info.hdr.version, ver, sizeof(ver));
	shell_print(sh, "version %s, %u bytes", ver, (unsigned)info.image_size);
	return 0;
}

static int cmd_status(const struct shell *sh, size_t argc, char **argv)
{
	ARG_UNUSED(argc);
	ARG_UNUSED(argv);
#if defined(CONFIG_SMPFOTA_MASTER_LINK_BLE)
	LINK_LOCK();
	bool up = zg.up;
	struct smpfota_gatt_stats g = zg.link.stats;
	uint16_t mtu = zg.link.att_mtu;
	enum smpfota_update_step st = upd.step;
	LINK_UNLOCK();

	shell_print(sh, "target %s (ATT MTU %u); update %s", up ? "connected" : "not connected",
		    mtu, atomic_get(&busy) ? smpfota_update_step_name((int)st) : "idle");
	shell_print(sh, "frames sent/received %u/%u, pieces %u/%u, dropped %u", g.frames_tx,
		    g.frames_rx, g.pieces_tx, g.pieces_rx,
		    g.drop_short + g.drop_malformed + g.drop_overflow + g.drop_truncated +
			    g.drop_timeout + g.drop_reset);
	return 0;
#else
	LINK_LOCK();
	bool ready = smpfota_bridge_ready(&zipc.br);
	struct smpfota_bridge_stats s = zipc.br.stats;
	enum smpfota_update_step step = upd.step;
	LINK_UNLOCK();

	shell_print(sh, "network core %s; update %s", ready ? "up" : "not heard",
		    atomic_get(&busy) ? smpfota_update_step_name((int)step) : "idle");
	shell_print(sh, "frames to/from the network core %u/%u, no credit %u, channel busy %u",
		    s.frames_tx, s.frames_rx, s.no_credit, s.chan_busy);
#if defined(CONFIG_SMPFOTA_SECURE)
	LINK_LOCK();
	struct smpfota_secure_stats ss = sec.stats;
	bool est = smpfota_secure_established(&sec);
	int why = smpfota_secure_last_error(&sec);
	LINK_UNLOCK();

	shell_print(sh, "secure channel (key id %u): session %s, %u sessions; dropped: %u auth, "
		    "%u replayed, %u plaintext, %u malformed; last error %s",
		    sec.cfg.key_id, est ? "open" : "none", ss.sessions, ss.auth_failed, ss.replayed,
		    ss.plaintext, ss.malformed, why ? smpfota_errname(why) : "none");
#endif
	return 0;
#endif
}

static int cmd_stop(const struct shell *sh, size_t argc, char **argv)
{
	ARG_UNUSED(argc);
	ARG_UNUSED(argv);
	LINK_LOCK();
	smpfota_client_cancel(&cli);
	memset(&upd, 0, sizeof(upd));
	LINK_UNLOCK();
	atomic_set(&busy, 0);
	shell_print(sh, "stopped (a later update resumes the upload where the target has it)");
	return 0;
}

SHELL_STATIC_SUBCMD_SET_CREATE(smpfota_cmds,
	SHELL_CMD_ARG(update, NULL, "Update the target: [force] [noconfirm]", cmd_update, 1, 2),
	SHELL_CMD(list, NULL, "The target's image list (in the log)", cmd_list),
	SHELL_CMD(image, NULL, "The image stored in smpfota-image", cmd_image),
	SHELL_CMD(status, NULL, "Network core and update state", cmd_status),
	SHELL_CMD(stop, NULL, "Stop the update", cmd_stop),
	SHELL_SUBCMD_SET_END);
SHELL_CMD_REGISTER(smpfota, &smpfota_cmds, "smpfota master", NULL);

/* The client on the link: its send op and context, the largest frame the link takes, and the
 * pieces it carries frames in (0: none). */
static int client_init(int (*send)(void *ctx, const uint8_t *frame, size_t len), void *ctx,
		       uint16_t mtu, uint16_t piece)
{
	struct smpfota_client_config cfg = {
		.tx = {.send = send, .ctx = ctx, .mtu = mtu, .piece = piece},
		.buf = cli_buf,
		.buf_size = sizeof(cli_buf),
		.frame_cap = CONFIG_SMPFOTA_FRAME_MAX,
		.slots = CONFIG_SMPFOTA_CLIENT_MAX_INFLIGHT,
		.version = SMPFOTA_SMP_V2,
		.retries = 3,
		.seq = (uint8_t)k_cycle_get_32(),
	};
	int rc = smpfota_client_init(&cli, &cfg);

	if (rc != 0) {
		LOG_ERR("client init: %d", rc);
	}
	return rc;
}

#if defined(CONFIG_SMPFOTA_MASTER_LINK_BLE)
/* The client sized to the link as it is now (under the lock, the link up, no update running):
 * its largest frame, and, for a target that reassembles, the link's pieces (sized to the
 * connection event by the glue) so that upload frames are whole pieces (client.h). */
static void client_for_link(void)
{
	uint16_t mtu = (uint16_t)smpfota_gatt_mtu(&zg.link);
	uint16_t piece = IS_ENABLED(CONFIG_SMPFOTA_GATT_CENTRAL_PEER_REASSEMBLY)
				 ? (uint16_t)smpfota_gatt_piece(&zg.link)
				 : 0;

	cli_ready = client_init(smpfota_gatt_transport_send, &zg.link, mtu, piece) == 0;
	LOG_INF("client: frames up to %u bytes, pieces of %u (0: a frame a write)", mtu, piece);
}

/* The link came up (under the lock): the client, sized to the connection, unless an update
 * already runs on it (a reconnection: the update carries on). start_update() sizes it again,
 * for pieces that changed after the link came up (a PHY or data length update). */
static void on_link(void *user, bool up)
{
	ARG_UNUSED(user);
	link_up = up;
	if (!up) {
		LOG_WRN("target disconnected: reconnecting");
		return;
	}
	LOG_INF("target connected");
	if (atomic_get(&busy)) {
		return;
	}
	client_for_link();
}

static int start_link(void)
{
	return smpfota_zgatt_start(&zg, on_frame, on_link, pump, NULL);
}
#else
static int start_link(void)
{
#if defined(CONFIG_SMPFOTA_SECURE)
	/* Sealed frames go to the bridge; the client's frames shrink by the channel's overhead. */
	struct smpfota_secure_config sc = {.send = smpfota_bridge_transport_send,
					   .ctx = &zipc.br,
					   .deliver = to_client,
					   .buf = sec_buf,
					   .buf_size = sizeof(sec_buf)};
	int rc = smpfota_zsecure_init(&sc.crypto, &sc.key_id);

	rc = rc != 0 ? rc : smpfota_secure_init_initiator(&sec, &sc, now_ms());
	rc = rc != 0 ? rc
		     : client_init(smpfota_secure_transport_send, &sec,
				   smpfota_secure_mtu(CONFIG_SMPFOTA_FRAME_MAX), 0);
#else
	int rc = client_init(smpfota_bridge_transport_send, &zipc.br, CONFIG_SMPFOTA_FRAME_MAX, 0);
#endif

	return rc != 0 ? rc : smpfota_zipc_start(&zipc, DEVICE_DT_GET(DT_NODELABEL(ipc0)),
						 on_frame, on_event, NULL, pump, NULL, NULL);
}
#endif

int main(void)
{
	int rc = flash_area_open(IMAGE_PARTITION_ID, &fa);

	if (rc != 0) {
		LOG_ERR("flash_area_open(smpfota-image): %d", rc);
		return 0;
	}
	rc = start_link();
	if (rc != 0) {
		LOG_ERR("link start: %d", rc);
		return 0;
	}
	rc = dk_buttons_init(on_button);
	if (rc != 0) {
		LOG_WRN("buttons: %d (the shell still works)", rc);
	}
	LOG_INF("smpfota master (%s): press button 1 or type 'smpfota update'",
		IS_ENABLED(CONFIG_SMPFOTA_MASTER_LINK_BLE) ? "Bluetooth LE" : "ESB");
	return 0;
}
