#!/usr/bin/env bash
# Footprint of the device code on the nRF5340 (Cortex-M33, Thumb-2, -Os), as a board build
# compiles it: SMPFOTA_CONFIG_ERROR_NAMES=0 (errors as numbers), -ffunction-sections
# -fdata-sections. docs/footprint.md explains the method and the budget.
#
#   scripts/size.sh [PYTHON] [OUTDIR] [--check]
#
# 1. Per module: each src/*.c compiled alone (whole object: everything it defines), its
#    flash (text + rodata + data) and static RAM (data + bss), and its worst stack frame
#    (-fstack-usage). zcbor is reported apart.
# 2. Per board: a small "app" object that uses the board's API as firmware would is linked
#    with --gc-sections against every object, and the linker map says what each object
#    contributed. That is what a board image pulls in (a function nobody calls is dropped),
#    a truer figure than summing whole objects. mbedTLS (SHA-256) is the platform's: stubs.
#    The linker merges identical strings across objects and books the merged strings under
#    one object; each object is given the strings it brought instead, and what merging saved
#    is shown on its own line, so the totals are exact.
#
# --check: fail (exit 1) when the master side (client engine, SMP codec, ESB link, image
# reader, error code; zcbor, libc and the optional update workflow apart), or the same
# master over BLE (the GATT link instead of the ESB link), exceeds
# SMPFOTA_MASTER_FLASH_MAX (8192) bytes of flash or SMPFOTA_MASTER_RAM_MAX (1024) bytes of
# static RAM. State structs are the caller's and are listed, not counted.
set -euo pipefail
check=0
args=()
for a in "$@"; do
	if [ "$a" = --check ]; then check=1; else args+=("$a"); fi
done
py=${args[0]:-build/venv/bin/python}
out=${args[1]:-build/size}
master_flash_max=${SMPFOTA_MASTER_FLASH_MAX:-8192}
master_ram_max=${SMPFOTA_MASTER_RAM_MAX:-1024}
cd "$(dirname "$0")/.."

zcbor=$("$py" -c "import importlib.util as u; print(u.find_spec('zcbor').submodule_search_locations[0])")
zcbor_version=$("$py" -c "import importlib.metadata as m; print(m.version('zcbor'))")
rm -rf "$out"
mkdir -p "$out/inc" "$out/obj" "$out/app"
ln -sfn /usr/include/mbedtls "$out/inc/mbedtls"  # headers only; never -I/usr/include here

ARCH=(-mcpu=cortex-m33 -mthumb -mfloat-abi=hard -mfpu=fpv5-sp-d16)
CFLAGS=("${ARCH[@]}" -Os -std=c11 -ffunction-sections -fdata-sections -fstack-usage
	 -Wall -Wextra -Werror -DZCBOR_CANONICAL -DSMPFOTA_CONFIG_ERROR_NAMES=0
	 -DSMPFOTA_CONFIG_IMAGE_SHA512=0 -DSMPFOTA_CONFIG_CLIENT_LEARN=0
	-Iinclude -Isrc -I"$out/inc" -isystem "$zcbor/include")

ours=(src/*.c)  # every library source is device code
theirs=("$zcbor/src/zcbor_common.c" "$zcbor/src/zcbor_decode.c" "$zcbor/src/zcbor_encode.c")
for f in "${ours[@]}"; do
	arm-none-eabi-gcc "${CFLAGS[@]}" -c "$f" -o "$out/obj/$(basename "${f%.c}").o"
done
# The secure channel's crypto glue on mbedTLS: what a bare-metal board links (NCS uses PSA).
arm-none-eabi-gcc "${CFLAGS[@]}" -Iports -c ports/crypto/mbedtls.c -o "$out/obj/crypto_mbedtls.o"
for f in "${theirs[@]}"; do
	# zcbor's own sources are not held to our warning flags.
	arm-none-eabi-gcc "${CFLAGS[@]}" -w -c "$f" -o "$out/obj/$(basename "${f%.c}").o"
done

# ---- the board "apps": what firmware on each board calls --------------------------------
cat >"$out/app/platform.c" <<'EOF'
/* The platform's SHA-256/512 (mbedTLS, or the CC310 through it): stubs, not counted. */
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
void mbedtls_sha256_init(mbedtls_sha256_context *c) { (void)c; }
void mbedtls_sha256_free(mbedtls_sha256_context *c) { (void)c; }
#if MBEDTLS_VERSION_MAJOR >= 3
#define RET(f) f
#else
#define RET(f) f##_ret
#endif
int RET(mbedtls_sha256_starts)(mbedtls_sha256_context *c, int is224) { (void)c; return is224; }
int RET(mbedtls_sha256_update)(mbedtls_sha256_context *c, const unsigned char *p, size_t n)
{ (void)c; (void)p; return (int)n; }
int RET(mbedtls_sha256_finish)(mbedtls_sha256_context *c, unsigned char o[32])
{ (void)c; return o[0]; }
#include <mbedtls/sha512.h>
void mbedtls_sha512_init(mbedtls_sha512_context *c) { (void)c; }
void mbedtls_sha512_free(mbedtls_sha512_context *c) { (void)c; }
int RET(mbedtls_sha512_starts)(mbedtls_sha512_context *c, int is384) { (void)c; return is384; }
int RET(mbedtls_sha512_update)(mbedtls_sha512_context *c, const unsigned char *p, size_t n)
{ (void)c; (void)p; return (int)n; }
int RET(mbedtls_sha512_finish)(mbedtls_sha512_context *c, unsigned char o[64])
{ (void)c; return o[0]; }

/* The platform's AES-CCM and HKDF-SHA256 (mbedTLS over the CC312/CRACEN or the net core's
 * CCM, or PSA Crypto on NCS): stubs, not counted, as SHA-256 above. */
#include <mbedtls/ccm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
void mbedtls_ccm_init(mbedtls_ccm_context *c) { (void)c; }
void mbedtls_ccm_free(mbedtls_ccm_context *c) { (void)c; }
int mbedtls_ccm_setkey(mbedtls_ccm_context *c, mbedtls_cipher_id_t id, const unsigned char *k,
		       unsigned int bits)
{ (void)c; (void)id; return k[0] + (int)bits; }
int mbedtls_ccm_encrypt_and_tag(mbedtls_ccm_context *c, size_t n, const unsigned char *iv,
				size_t iv_len, const unsigned char *ad, size_t ad_len,
				const unsigned char *in, unsigned char *out, unsigned char *tag,
				size_t tag_len)
{ (void)c; (void)iv; (void)iv_len; (void)ad; (void)ad_len; (void)in; (void)out; (void)tag;
  return (int)(n + tag_len); }
int mbedtls_ccm_auth_decrypt(mbedtls_ccm_context *c, size_t n, const unsigned char *iv,
			     size_t iv_len, const unsigned char *ad, size_t ad_len,
			     const unsigned char *in, unsigned char *out, const unsigned char *tag,
			     size_t tag_len)
{ (void)c; (void)iv; (void)iv_len; (void)ad; (void)ad_len; (void)in; (void)out; (void)tag;
  return (int)(n + tag_len); }
const mbedtls_md_info_t *mbedtls_md_info_from_type(mbedtls_md_type_t t) { return (void *)t; }
int mbedtls_hkdf(const mbedtls_md_info_t *md, const unsigned char *salt, size_t salt_len,
		 const unsigned char *ikm, size_t ikm_len, const unsigned char *info,
		 size_t info_len, unsigned char *okm, size_t okm_len)
{ (void)md; (void)salt; (void)ikm; (void)info; (void)okm;
  return (int)(salt_len + ikm_len + info_len + okm_len); }
EOF

# Master: ESB PTX link, client engine (requests, responses, pipelined upload), the image
# reader checking the image it sends (as update.c does), error codes for the log. Text
# helpers of the host tools (version string, TLV names) are not device code. Compiled again
# with -DMASTER_BLE: the master over BLE, a central talking to a stock Zephyr smp_svr with
# the GATT link instead of the ESB link (the same budget).
cat >"$out/app/master_app.c" <<'EOF'
#include "smpfota/client.h"
#include "smpfota/esb_link.h"
#include "smpfota/gatt.h"
#include "smpfota/image.h"

/* MASTER_BLE: the GATT link (central) instead of the ESB link; the rest is the same. */
#ifdef MASTER_BLE
typedef struct smpfota_gatt link_t;
typedef struct smpfota_gatt_ops radio_t;
#else
typedef struct smpfota_esb_link link_t;
typedef struct smpfota_esb_radio radio_t;
#endif

/* No string literals here: the linker would book strings merged with ours under the app. */
struct board {
	link_t link;
	struct smpfota_client client;
	struct smpfota_image_reader reader;
	struct smpfota_image_info info;
	void (*log)(const char *what, int code, const char *name);
};

int master_main(struct board *b, const radio_t *radio, const struct smpfota_upload_source *src,
		uint8_t *mem, volatile uint32_t *clock, const uint8_t *volatile *note);

static int on_frame(void *user, const uint8_t *frame, size_t len)
{
	struct board *b = user;
	return smpfota_client_input(&b->client, frame, len, *(volatile uint32_t *)b->log);
}

static void on_rsp(void *user, int err, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *rsp)
{
	struct board *b = user;
	b->log(smpfota_strerror(err), err, smpfota_errname(err));
	if (rsp != NULL && rsp->status.has_err) {
		b->log(NULL, (int)msg, smpfota_mgmt_err_name(rsp->status.err.group,
							      rsp->status.err.rc, true));
	}
}

static void on_done(void *user, int err, const struct smpfota_smp_status *st, bool match)
{
	struct board *b = user;
	b->log(smpfota_strerror(err), match, smpfota_mgmt_err_name(0, st->rc, false));
}

int master_main(struct board *b, const radio_t *radio, const struct smpfota_upload_source *src,
		uint8_t *mem, volatile uint32_t *clock, const uint8_t *volatile *note)
{
#ifdef MASTER_BLE
	struct smpfota_gatt_config lc = {
		.ops = *radio, .tx_buf = mem, .tx_size = 1024, .rx_buf = mem + 1024, .rx_size = 512,
		.rx = on_frame, .user = b, .peer_reassembles = true};
	if (smpfota_gatt_init(&b->link, &lc) != 0 || smpfota_gatt_set_mtu(&b->link, 247) != 0) {
		return -1;
	}
	uint16_t mtu = (uint16_t)smpfota_gatt_mtu(&b->link);
	/* pieces sized to the connection event (its length known at run time) */
	struct smpfota_gatt_conn_params cp = {
		.event_us = *clock, .att_mtu = 247, .data_len = 251, .phy = 2};
	smpfota_gatt_set_piece(&b->link, smpfota_gatt_event_piece(&cp));
	smpfota_gatt_set_hold(&b->link, (uint16_t)(cp.event_us / 1000U + 1U)); /* an interval */
	uint16_t piece = (uint16_t)smpfota_gatt_piece(&b->link); /* the client's, as the NCS master */
	int (*send)(void *, const uint8_t *, size_t) = smpfota_gatt_transport_send;
#else
	(void)note;
	struct smpfota_esb_link_config lc = {
		.role = SMPFOTA_ESB_PTX, .radio = *radio, .txq = mem, .txq_size = 1024,
		.rx_buf = mem + 1024, .rx_size = 512, .rx = on_frame, .user = b};
	if (smpfota_esb_link_init(&b->link, &lc, *clock) != 0) {
		return -1;
	}
	uint16_t mtu = (uint16_t)smpfota_esb_link_mtu(&b->link);
	uint16_t piece = 0;
	int (*send)(void *, const uint8_t *, size_t) = smpfota_esb_link_transport_send;
#endif
	struct smpfota_client_config cc = {
		.tx = {.send = send, .ctx = &b->link, .mtu = mtu, .piece = piece},
		.buf = mem + 1536, .buf_size = 4 * 512, .frame_cap = 512, .slots = 3,
		.version = SMPFOTA_SMP_V2, .retries = 2};
	if (smpfota_client_init(&b->client, &cc) != 0) {
		return -1;
	}
	smpfota_image_reader_init(&b->reader);
	(void)smpfota_image_reader_feed(&b->reader, mem, 4096);
	int rc = smpfota_image_reader_finish(&b->reader, &b->info);
	b->log(smpfota_strerror(rc), b->info.hdr.version.major, smpfota_errname(rc));

	struct smpfota_os_params_req params = {0};
	(void)smpfota_client_send(&b->client, SMPFOTA_MSG_OS_PARAMS, &params, 0, on_rsp, b, *clock);
	struct smpfota_upload_params up = {.buf_size = 512, .buf_count = 4};
	(void)smpfota_client_upload(&b->client, src, &up, NULL, on_done, b, *clock);
	while (smpfota_client_pending(&b->client) > 0) {
#ifdef MASTER_BLE
		/* a notification (note[0..1] its length, 0: the connection went) */
		size_t n = (size_t)((*note)[0] | ((*note)[1] << 8));
		if (n == 0) {
			smpfota_gatt_disconnected(&b->link);
		}
		smpfota_gatt_on_piece(&b->link, *note + 2, n, *clock);
		smpfota_gatt_poll(&b->link, *clock);
		smpfota_client_poll(&b->client, *clock);
		if (smpfota_client_next_deadline(&b->client, *clock) < 0 &&
		    smpfota_gatt_tx_idle(&b->link)) {
			break;
		}
#else
		smpfota_esb_link_on_event(&b->link, SMPFOTA_ESB_EVT_RX_RECEIVED, *clock);
		smpfota_esb_link_poll(&b->link, *clock * 1000U);
		smpfota_client_poll(&b->client, *clock);
		if (smpfota_client_next_deadline(&b->client, *clock) < 0 &&
		    smpfota_esb_link_next_deadline(&b->link, *clock) < 0 &&
		    smpfota_esb_link_tx_idle(&b->link)) {
			break;
		}
#endif
	}
	struct smpfota_os_reset_req reset = {0};
	(void)smpfota_client_send_once(&b->client, SMPFOTA_MSG_OS_RESET, &reset, 0, on_rsp, b,
				       *clock);
	smpfota_client_cancel(&b->client);
	return rc;
}
EOF

# Master with the optional update workflow on top (params, check, upload, test, reset,
# confirm), to report what it adds.
cat >"$out/app/update_app.c" <<'EOF'
#include "smpfota/update.h"
int update_main(struct smpfota_update *u, struct smpfota_client *c,
		struct smpfota_upload_source *src, struct smpfota_image_info *img, uint32_t now);
int update_main(struct smpfota_update *u, struct smpfota_client *c,
		struct smpfota_upload_source *src, struct smpfota_image_info *img, uint32_t now)
{
	struct smpfota_update_params prm = {0};
	int rc = smpfota_update_check_image(src, img);
	if (rc == 0) {
		rc = smpfota_update_start(u, c, src, img, &prm, NULL, NULL, NULL, NULL, now);
	}
	while (rc == 0 && smpfota_update_next_deadline(u, now) >= 0) {
		smpfota_update_poll(u, now++);
	}
	return rc + (int)smpfota_update_step_name(u->step)[0];
}
EOF

# The secure channel on each board (docs/security.md): the initiator and its mbedTLS glue
# on the master, the responder on the target, wired as a board wires them. Reported apart.
cat >"$out/app/secure_app.c" <<'EOF'
#include "crypto/mbedtls.h"
#include "smpfota/secure.h"

struct sec_board {
	struct smpfota_secure sec;
	struct smpfota_mbedtls_crypto mc;
	struct smpfota_mbedtls_key key;
	int (*send)(void *ctx, const uint8_t *frame, size_t len);
	int (*deliver)(void *ctx, const uint8_t *frame, size_t len);
	int (*rnd)(void *ctx, uint8_t *out, size_t len);
	uint8_t *buf;
};

typedef int (*init_fn)(struct smpfota_secure *s, const struct smpfota_secure_config *cfg,
		       uint32_t now);
int secure_main(struct sec_board *b, init_fn init, const uint8_t *frame, size_t len,
		volatile uint32_t *clock);

int secure_main(struct sec_board *b, init_fn init, const uint8_t *frame, size_t len,
		volatile uint32_t *clock)
{
	struct smpfota_secure_config sc = {.key_id = b->key.id, .send = b->send,
					   .deliver = b->deliver, .ctx = b, .buf = b->buf,
					   .buf_size = 2 * 528};
	int rc = smpfota_mbedtls_crypto_init(&b->mc, &b->key, 1, b->rnd, b, &sc.crypto);
	if (rc == 0) {
		rc = init(&b->sec, &sc, *clock);
	}
	while (rc == 0) {
		rc = smpfota_secure_input(&b->sec, frame, len, *clock);
		rc += smpfota_secure_send(&b->sec, frame, len);
		smpfota_secure_poll(&b->sec, *clock);
		rc += smpfota_secure_next_deadline(&b->sec, *clock);
		rc += smpfota_secure_last_error(&b->sec);
	}
	smpfota_mbedtls_crypto_free(&b->mc);
	return rc;
}
EOF
for r in ini:initiator rsp:responder; do
	cat >"$out/app/secure_${r%%:*}.c" <<EOF
#include "smpfota/secure.h"
struct sec_board;
typedef int (*init_fn)(struct smpfota_secure *s, const struct smpfota_secure_config *cfg,
		       uint32_t now);
int secure_main(struct sec_board *b, init_fn init, const uint8_t *frame, size_t len,
		volatile uint32_t *clock);
int secure_${r%%:*}(struct sec_board *b, const uint8_t *frame, size_t len, volatile uint32_t *clock);
int secure_${r%%:*}(struct sec_board *b, const uint8_t *frame, size_t len, volatile uint32_t *clock)
{
	return secure_main(b, smpfota_secure_init_${r##*:}, frame, len, clock);
}
EOF
done

# Target: ESB PRX link feeding the SMP server (image and OS groups on flash areas, MCUboot
# trailer writes). Its bootloader is MCUboot itself: the boot model (ports/emu/mcuboot.c) is
# a test double and not device code.
cat >"$out/app/target_app.c" <<'EOF'
#include "smpfota/esb_link.h"
#include "smpfota/server.h"

struct board {
	struct smpfota_esb_link link;
	struct smpfota_server server;
	uint8_t rsp[512];
};

int target_main(struct board *b, const struct smpfota_esb_radio *radio,
		const struct smpfota_server_config *cfg, uint8_t *mem, volatile uint32_t *clock);

static int on_frame(void *user, const uint8_t *frame, size_t len)
{
	struct board *b = user;
	int n = smpfota_server_handle(&b->server, frame, len, b->rsp, sizeof(b->rsp));
	return n > 0 ? smpfota_esb_link_send(&b->link, b->rsp, (size_t)n) : 0;
}

int target_main(struct board *b, const struct smpfota_esb_radio *radio,
		const struct smpfota_server_config *cfg, uint8_t *mem, volatile uint32_t *clock)
{
	struct smpfota_esb_link_config lc = {
		.role = SMPFOTA_ESB_PRX, .radio = *radio, .txq = mem, .txq_size = 1024,
		.rx_buf = mem + 1024, .rx_size = 512, .rx = on_frame, .user = b};
	if (smpfota_esb_link_init(&b->link, &lc, *clock) != 0 ||
	    smpfota_server_init(&b->server, cfg, true) != 0) {
		return -1;
	}
	while (!smpfota_server_reset_pending(&b->server)) {
		smpfota_esb_link_on_event(&b->link, SMPFOTA_ESB_EVT_RX_RECEIVED, *clock);
		smpfota_esb_link_poll(&b->link, *clock);
	}
	return 0;
}
EOF

for a in platform master_app update_app target_app secure_app secure_ini secure_rsp; do
	arm-none-eabi-gcc "${CFLAGS[@]}" -Iports -c "$out/app/$a.c" -o "$out/app/$a.o"
done
arm-none-eabi-gcc "${CFLAGS[@]}" -DMASTER_BLE -c "$out/app/master_app.c" \
	-o "$out/app/master_ble_app.o"
rm -f "$out"/app/*.su

objs=("$out"/obj/*.o)
link() { # link NAME ENTRY APP_OBJ...
	local name=$1 entry=$2
	shift 2
	arm-none-eabi-gcc "${ARCH[@]}" -nostartfiles --specs=nano.specs --specs=nosys.specs \
		-Wl,--gc-sections -Wl,-e,"$entry" -Wl,-Map="$out/$name.map" \
		"$@" "$out/app/platform.o" "${objs[@]}" -o "$out/$name.elf"
}
link master master_main "$out/app/master_app.o"
link master_ble master_main "$out/app/master_ble_app.o"
# The master again with SHA-384/512 images (SMPFOTA_CONFIG_IMAGE_SHA512=1), to report the cost.
mkdir -p "$out/sha512"
arm-none-eabi-gcc "${CFLAGS[@]}" -USMPFOTA_CONFIG_IMAGE_SHA512 -DSMPFOTA_CONFIG_IMAGE_SHA512=1 \
	-c src/image.c -o "$out/sha512/image.o"
arm-none-eabi-gcc "${CFLAGS[@]}" -USMPFOTA_CONFIG_IMAGE_SHA512 -DSMPFOTA_CONFIG_IMAGE_SHA512=1 \
	-c "$out/app/master_app.c" -o "$out/sha512/master_app.o"
rm -f "$out"/sha512/*.su
objs_all=("${objs[@]}")
objs=("$out/sha512/image.o")
for o in "${objs_all[@]}"; do
	[ "$(basename "$o")" = image.o ] || objs+=("$o")
done
link master512 master_main "$out/sha512/master_app.o"
# And with the upload that learns the link (SMPFOTA_CONFIG_CLIENT_LEARN=1), to report the cost.
mkdir -p "$out/learn"
arm-none-eabi-gcc "${CFLAGS[@]}" -USMPFOTA_CONFIG_CLIENT_LEARN -DSMPFOTA_CONFIG_CLIENT_LEARN=1 \
	-c src/client.c -o "$out/learn/client.o"
rm -f "$out"/learn/*.su
objs=("$out/learn/client.o")
for o in "${objs_all[@]}"; do
	[ "$(basename "$o")" = client.o ] || objs+=("$o")
done
link master_learn master_main "$out/app/master_app.o"
objs=("${objs_all[@]}")
link update update_main "$out/app/master_app.o" "$out/app/update_app.o" -Wl,-u,master_main
link target target_main "$out/app/target_app.o"
link secure secure_ini "$out/app/master_app.o" "$out/app/secure_app.o" "$out/app/secure_ini.o" \
	-Wl,-u,master_main
link secure_target secure_rsp "$out/app/target_app.o" "$out/app/secure_app.o" \
	"$out/app/secure_rsp.o" -Wl,-u,target_main

# Caller-provided state of each board (RAM the application allocates, not counted above).
cat >"$out/app/state.c" <<'EOF'
#include "smpfota/client.h"
#include "smpfota/esb_link.h"
#include "smpfota/gatt.h"
#include "smpfota/image.h"
#include "smpfota/server.h"
#include "smpfota/update.h"
#define SZ(t) const char sizeof_##t[sizeof(struct t)];
SZ(smpfota_client) SZ(smpfota_esb_link) SZ(smpfota_gatt) SZ(smpfota_image_reader)
SZ(smpfota_update)
SZ(smpfota_server)
EOF
arm-none-eabi-gcc "${CFLAGS[@]}" -fcommon -c "$out/app/state.c" -o "$out/app/state.o"
rm -f "$out"/app/state.su

"$py" - "$out" "$zcbor_version" "$(arm-none-eabi-gcc --version | head -1)" \
	"$check" "$master_flash_max" "$master_ram_max" <<'EOF'
import collections, glob, os, re, subprocess, sys
sys.path.insert(0, "scripts")
import linkmap  # scripts/linkmap.py

out, zcbor_version, gcc, check = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
flash_max, ram_max = int(sys.argv[5]), int(sys.argv[6])

def section_sizes(obj):
    """(name, size) of every section of an object (arm-none-eabi-size -A)."""
    for line in subprocess.run(["arm-none-eabi-size", "-A", obj], capture_output=True,
                               text=True, check=True).stdout.splitlines()[2:]:
        p = line.split()
        if len(p) >= 2 and p[1].isdigit():
            yield p[0], int(p[1])

def sections(obj):
    """(flash, ram) of one object: text+rodata+data, data+bss."""
    flash = ram = 0
    for name, size in section_sizes(obj):
        if name.startswith((".text", ".rodata", ".ARM.exidx")):
            flash += size
        elif name.startswith(".data"):
            flash += size
            ram += size
        elif name.startswith((".bss", ".noinit")) or name == "COMMON":
            ram += size
    return flash, ram

def stack(su):
    """Worst frame of one -fstack-usage file: (bytes, qualifier, function)."""
    worst = (0, "", "-")
    for line in open(su):
        loc, size, kind = line.rstrip("\n").split("\t")
        if int(size) > worst[0]:
            worst = (int(size), "" if kind == "static" else " (" + kind + ")",
                     loc.split(":")[-1])
    return worst

FLASH_OUT = (".text", ".rodata", ".ARM.exidx", ".ARM.extab", ".init", ".fini",
             ".init_array", ".fini_array", ".preinit_array", ".eh_frame")

def is_str(sec):
    # .rodata.str1.1, .rodata.<function>.str1.4: SHF_MERGE strings
    return re.search(r"\.str\d+\.\d+$", sec) is not None

def linked(mapfile):
    """Per input file: [flash, ram] kept in the linked image, from the linker map. Merged
    strings are booked per object as they came in (kept sections from arm-none-eabi-size),
    and the bytes merging saved under "(merged strings)"."""
    got = collections.defaultdict(lambda: [0, 0])
    discarded = set()
    strings_linked = 0
    for part, osec, isec, size, f in linkmap.input_sections(mapfile):
        if part == "discarded":
            discarded.add((f, isec))
            continue
        if osec is None:
            continue
        if isec == "*fill*":
            f = "(alignment)"
        if osec.startswith(FLASH_OUT):
            if is_str(isec):
                strings_linked += size
            else:
                got[f][0] += size
        elif osec.startswith(".data"):
            got[f][0] += size
            got[f][1] += size
        elif osec.startswith((".bss", ".noinit")):
            got[f][1] += size
    strings_in = 0
    for o in sorted(glob.glob(f"{out}/obj/*.o") + glob.glob(f"{out}/app/*.o")):
        for sec, size in section_sizes(o):
            if is_str(sec) and (o, sec) not in discarded:
                got[o][0] += size
                strings_in += size
    if strings_in != strings_linked:
        got["(merged strings)"][0] -= strings_in - strings_linked
    return got

def kind(f):
    if f == "(merged strings)":
        return "ours"
    if "/app/" in f or f.endswith("/sha512/master_app.o"):
        return "app"
    if f.startswith("("):
        return "align"
    if os.path.basename(f).startswith("zcbor_"):
        return "zcbor"
    if ".a(" in f:
        return "libc"
    if f.startswith((f"{out}/obj/", f"{out}/sha512/image", f"{out}/learn/client")):
        return "ours"
    return "other"  # linker-made sections (veneers, stubs), none so far

mods = sorted(glob.glob(f"{out}/obj/*.o"))
print(f"== smpfota device code: {gcc}")
print("   -mcpu=cortex-m33 -mthumb -Os, -DSMPFOTA_CONFIG_ERROR_NAMES=0 (errors print as numbers),")
print("   -DSMPFOTA_CONFIG_IMAGE_SHA512=0 (SHA-256 images only; the cost of 1 is shown below)")
print("   -DSMPFOTA_CONFIG_CLIENT_LEARN=0 (fixed window and timeouts; the cost of 1 is shown below)")
print()
print("== per module (whole object; flash = text+rodata+data, RAM = data+bss; worst frame)")
print(f"   {'module':<16}{'flash':>7}{'RAM':>6}{'stack':>7}  worst function")
tot = [0, 0]
for kind_want in ("ours", "zcbor"):
    if kind_want == "zcbor":
        print(f"   {'smpfota total':<16}{tot[0]:>7}{tot[1]:>6}")
        print(f"   -- zcbor {zcbor_version} (reported apart)")
        tot = [0, 0]
    for o in mods:
        if kind(o) != kind_want:
            continue
        fl, ram = sections(o)
        tot[0] += fl
        tot[1] += ram
        st, q, fn = stack(o[:-2] + ".su")
        name = os.path.basename(o)[:-2] + ".c"
        print(f"   {name:<16}{fl:>7}{ram:>6}{st:>7}  {fn}{q}")
print(f"   {'zcbor total':<16}{tot[0]:>7}{tot[1]:>6}")

def board(name, title):
    got = linked(f"{out}/{name}.map")
    per = collections.defaultdict(lambda: [0, 0])
    for f, (fl, ram) in got.items():
        k = kind(f)
        key = (os.path.basename(f)[:-2] + ".c" if f.endswith(".o") else f) if k == "ours" else k
        per[key][0] += fl
        per[key][1] += ram
    print()
    print(f"== {title}")
    ours = [0, 0]
    for key in sorted(k for k in per if k.endswith(".c") or k == "(merged strings)"):
        if per[key] == [0, 0]:
            continue
        print(f"   {key:<16}{per[key][0]:>7}{per[key][1]:>6}")
        ours[0] += per[key][0]
        ours[1] += per[key][1]
    print(f"   {'smpfota':<16}{ours[0]:>7}{ours[1]:>6}   flash, static RAM")
    for k, what in (("zcbor", "zcbor"), ("libc", "libc, libgcc"), ("align", "alignment"),
                    ("other", "linker-made")):
        if per[k] != [0, 0] or k in ("zcbor", "libc"):
            print(f"   {what + ' (apart)':<16}{per[k][0]:>7}{per[k][1]:>6}")
    return ours, per

print()
print("== board images: app object + every object, linked with --gc-sections; the linker")
print("   map gives each object's share (mbedTLS and the app itself not counted)")
master, mper = board("master", "master side: client engine, SMP codec, ESB link (PTX), image "
                     "reader, error code")
master_ble, bper = board("master_ble", "master side over BLE: client engine, SMP codec, GATT "
                         "link (central), image reader, error code")
print(f"   GATT link (gatt.c): {bper['gatt.c'][0]} B flash, {bper['gatt.c'][1]} B RAM "
      f"(the ESB link it replaces: {mper['esb_link.c'][0]} B)")
m512 = sum(fl for f, (fl, _) in linked(f"{out}/master512.map").items() if kind(f) == "ours")
m256 = sum(fl for f, (fl, _) in linked(f"{out}/master.map").items() if kind(f) == "ours")
print(f"   with SMPFOTA_CONFIG_IMAGE_SHA512=1 (SHA-384/512 images): {m512} B flash, "
      f"{m512 - m256:+d} B (mbedTLS's sha512 not counted)")
mlearn = sum(fl for f, (fl, _) in linked(f"{out}/master_learn.map").items() if kind(f) == "ours")
print(f"   with SMPFOTA_CONFIG_CLIENT_LEARN=1 (the upload learns the link): {mlearn} B flash, "
      f"{mlearn - m256:+d} B")
update, _ = board("update", "master + optional update workflow (not in the budget)")
print(f"   update workflow adds {update[0] - master[0]} B flash, {update[1] - master[1]} B RAM")
secure, _ = board("secure", "master + secure channel, initiator (not in the budget; AES-CCM, "
                  "HKDF are the platform's)")
print(f"   secure channel adds {secure[0] - master[0]} B flash, {secure[1] - master[1]} B RAM "
      f"on the master (goal: <= 1536 B beside the platform's AES)")
target, _ = board("target", "target side: SMP server, MCUboot trailer, flash areas, ESB link (PRX), SMP codec")
secure_t, _ = board("secure_target", "target + secure channel, responder")
print(f"   secure channel adds {secure_t[0] - target[0]} B flash, {secure_t[1] - target[1]} B RAM "
      f"on the target")

sizes = {}
for line in subprocess.run(["arm-none-eabi-nm", "-S", "-t", "d", f"{out}/app/state.o"],
                           capture_output=True, text=True, check=True).stdout.splitlines():
    p = line.split()
    if len(p) == 4 and p[3].startswith("sizeof_"):
        sizes[p[3][7:]] = int(p[1])
print()
print("== caller-provided state (the application's RAM, default limits; buffers extra)")
print("   " + ", ".join(f"struct {k} {v}" for k, v in sizes.items()))

ok = True
print()
for what, m in (("master side (ESB)", master), ("master side (BLE)", master_ble)):
    fits = m[0] <= flash_max and m[1] <= ram_max
    ok = ok and fits
    print(f"== budget, {what}: flash {m[0]} / {flash_max} B, static RAM "
          f"{m[1]} / {ram_max} B: {'OK' if fits else 'OVER BUDGET'}")
if check and not ok:
    sys.exit(1)
EOF
