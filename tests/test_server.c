/*
 * SMP server tests: a client made of the codec talks to the server on emulated NOR flash,
 * and the boot model plays MCUboot at each "reset". Checks what mcumgr/smpmgr users see:
 * responses, error codes (v1 and v2), `image list` flags through the whole test / confirm /
 * revert life cycle, and the bytes that land in flash.
 */
#include <stdlib.h>

#include "check.h"
#include "emu/image.h"
#include "smpfota/boot.h"
#include "emu/nor.h"
#include "emu/target.h"
#include "smpfota/server.h"
#include "test_util.h"

/* nRF5340-like: image 0 on 4 KB pages (primary one page larger for swap-move), image 1 on
 * 2 KB pages (network core). */
#define P0 4096U
#define P1 2048U
#define SLOT0 (12U * P0)
#define SLOT1 (12U * P1)
#define DEV0 (SLOT0 + P0 + SLOT0)
#define DEV1 (SLOT1 + P1 + SLOT1)

static uint8_t mem0[DEV0], mem1[DEV1];
static struct smpfota_nor nor0, nor1;
static struct smpfota_emu_target tb; /* the target board */
static uint8_t seq;
static int resets_seen;

static int on_reset(void *ctx, bool force)
{
	(void)ctx;
	(void)force;
	resets_seen++;
	return 0;
}

static void setup(void)
{
	smpfota_nor_init(&nor0, mem0, DEV0, P0, 4);
	smpfota_nor_init(&nor1, mem1, DEV1, P1, 4);
	smpfota_nor_erase_all(&nor0);
	smpfota_nor_erase_all(&nor1);
	smpfota_emu_target_init(&tb);
	CHECK_EQ(smpfota_emu_target_add_image(&tb, &nor0, 0, &nor0, SLOT0 + P0, SLOT0), 0);
	CHECK_EQ(smpfota_emu_target_add_image(&tb, &nor1, 0, &nor1, SLOT1 + P1, SLOT1), 0);
	tb.cfg = (struct smpfota_server_config){.images = tb.images,
						.n_images = 2,
						.active_image = 0,
						.buf_size = 2048,
						.buf_count = 4,
						.info = {.kernel = "smpfota", .node = "target"},
						.image_check = true,
						.allow_confirm_secondary = true,
						.reset = on_reset};
	tb.boot_buf_size = 512;
	CHECK_EQ(smpfota_emu_target_start(&tb, false), 0);
}

/* A reset: MCUboot runs, then the application (server) starts again. */
static void reboot(bool warm)
{
	CHECK_EQ(smpfota_emu_target_boot(&tb), 0);
	if (!warm) {
		memset(&tb.srv, 0xa5, sizeof(tb.srv)); /* RAM noise after power-up */
	}
	CHECK_EQ(smpfota_emu_target_start(&tb, true), 0); /* the server must see through noise */
}

static uint8_t rsp_frame[4096];
static struct smpfota_smp_hdr rsp_hdr;

/* Send one request, decode the response into *rsp; returns the decode result. */
static int call_v(enum smpfota_smp_msg m, uint8_t version, const void *req, void *rsp)
{
	uint8_t frame[4096];
	int n = smpfota_smp_encode_req(m, version, ++seq, req, frame, sizeof(frame));
	CHECK(n > 0);
	int r = smpfota_server_handle(&tb.srv, frame, (size_t)n, rsp_frame, sizeof(rsp_frame));
	CHECK(r > 0);
	if (r <= 0) {
		return -1;
	}
	CHECK_EQ(smpfota_smp_hdr_decode(rsp_frame, (size_t)r, &rsp_hdr), r);
	CHECK_EQ(rsp_hdr.seq, seq);
	CHECK_EQ(rsp_hdr.op, frame[0] & 7U ? 3 : 1);
	CHECK_EQ(rsp_hdr.version, version);
	return smpfota_smp_decode_rsp(m, rsp_frame + 8, rsp_hdr.len, rsp);
}

static int call(enum smpfota_smp_msg m, const void *req, void *rsp)
{
	return call_v(m, SMPFOTA_SMP_V2, req, rsp);
}

/* v2 group error code of a status, or -1 when it is not one. */
static int v2err(const struct smpfota_smp_status *st)
{
	return st->has_err ? st->err.rc : -1;
}

static uint8_t img_a[20000], img_b[20000], img_c[20000];
static size_t len_a, len_b, len_c;

static void make_images(void)
{
	len_a = smpfota_emu_image_build(
		img_a, sizeof(img_a),
		&(struct smpfota_emu_image_spec){.body_size = 9000, .ver = {1, 0, 0, 0}, .seed = 1},
		NULL);
	len_b = smpfota_emu_image_build(
		img_b, sizeof(img_b),
		&(struct smpfota_emu_image_spec){
			.body_size = 15000, .ver = {1, 1, 0, 7}, .seed = 2, .prot = true},
		NULL);
	len_c = smpfota_emu_image_build(
		img_c, sizeof(img_c),
		&(struct smpfota_emu_image_spec){.body_size = 3001, .ver = {2, 0, 0, 0}, .seed = 3},
		NULL);
}

static const uint8_t *tlv_hash(const uint8_t *img, size_t len)
{
	static struct smpfota_image_info info;
	CHECK_EQ(smpfota_image_parse(img, len, &info), 0);
	return info.hash;
}

/* Factory programming: an image straight into a primary slot. */
static void provision(int image, const uint8_t *img, size_t len)
{
	const struct smpfota_flash_area *a = &tb.images[image].primary;
	CHECK_EQ(smpfota_flash_area_erase(a, 0, a->size), 0);
	size_t padded = (len + 3) / 4 * 4;
	static uint8_t tmp[20004];
	memset(tmp, 0xff, padded);
	memcpy(tmp, img, len);
	CHECK_EQ(smpfota_flash_area_write(a, 0, tmp, padded), 0);
}

static void file_sha(const uint8_t *p, size_t n, uint8_t out[32])
{
	tu_sha256(p, n, out);
}

/* Upload a whole image with chunks of pseudo-random sizes; returns the last response. */
static struct smpfota_img_upload_rsp upload(int image, const uint8_t *img, size_t len,
					    size_t max_chunk, uint32_t seed)
{
	static uint8_t sha[32];
	struct smpfota_img_upload_rsp rsp = {0};
	size_t off = 0;
	file_sha(img, len, sha);
	while (off < len) {
		size_t n = 1 + tu_rand(&seed) % max_chunk;
		if (off == 0 && n < 32) {
			n = 32;
		}
		n = n < len - off ? n : len - off;
		struct smpfota_img_upload_req q = {.off = (uint32_t)off, .data = {img + off, n}};
		if (off == 0) {
			q.has_len = q.has_sha = q.has_image = true;
			q.len = (uint32_t)len;
			q.sha = (struct smpfota_bytes){sha, 32};
			q.image = (uint32_t)image;
		}
		CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &rsp), 0);
		if (!smpfota_smp_status_ok(&rsp.status) || !rsp.has_off) {
			return rsp;
		}
		CHECK_EQ(rsp.off, off + n);
		off = rsp.off;
	}
	return rsp;
}

static struct smpfota_img_state_rsp list(void)
{
	struct smpfota_img_state_rsp st;
	struct smpfota_img_state_read_req q = {0};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_STATE_READ, &q, &st), 0);
	CHECK(smpfota_smp_status_ok(&st.status));
	return st;
}

/* Entry of (image, slot) in a list, or NULL. */
static const struct smpfota_img_slot_state *entry(const struct smpfota_img_state_rsp *st,
						  uint32_t image, uint32_t slot)
{
	for (size_t i = 0; i < st->images_count; i++) {
		if (st->images[i].image == image && st->images[i].slot == slot) {
			return &st->images[i];
		}
	}
	return NULL;
}

/* Flags as "APCR" letters: active, pending, confirmed, permanent ('-' when clear). */
static const char *flags(const struct smpfota_img_state_rsp *st, uint32_t image, uint32_t slot)
{
	static char out[5];
	const struct smpfota_img_slot_state *e = entry(st, image, slot);
	if (e == NULL) {
		return "none";
	}
	out[0] = e->active ? 'A' : '-';
	out[1] = e->pending ? 'P' : '-';
	out[2] = e->confirmed ? 'C' : '-';
	out[3] = e->permanent ? 'R' : '-';
	out[4] = 0;
	return out;
}

#define CHECK_FLAGS(st, image, slot, want) CHECK(!strcmp(flags(&(st), image, slot), want))

static int state_write(const uint8_t *hash, bool confirm, struct smpfota_img_state_rsp *out)
{
	struct smpfota_img_state_write_req q = {.confirm = confirm};
	if (hash) {
		q.has_hash = true;
		q.hash = (struct smpfota_bytes){hash, 32};
	}
	CHECK_EQ(call(SMPFOTA_MSG_IMG_STATE_WRITE, &q, out), 0);
	return v2err(&out->status);
}

static bool slot_holds(const struct smpfota_flash_area *a, const uint8_t *img, size_t len)
{
	static uint8_t tmp[65536]; /* the largest image a test uploads (block erase: 38.7 KB) */
	return len <= sizeof(tmp) && smpfota_flash_area_read(a, 0, tmp, len) == 0 &&
	       memcmp(tmp, img, len) == 0;
}

/* ---- OS group ------------------------------------------------------------------------ */

static void test_os_group(void)
{
	setup();
	struct smpfota_os_echo_rsp e;
	struct smpfota_os_echo_req eq = {.d = {"hello", 5}};
	CHECK_EQ(call(SMPFOTA_MSG_OS_ECHO, &eq, &e), 0);
	CHECK_STR(e.r, "hello");

	struct smpfota_os_params_rsp p;
	struct smpfota_os_params_req pq = {0};
	CHECK_EQ(call(SMPFOTA_MSG_OS_PARAMS, &pq, &p), 0);
	CHECK_EQ(p.buf_size, 2048);
	CHECK_EQ(p.buf_count, 4);

	struct smpfota_os_info_rsp i;
	struct smpfota_os_info_req iq = {0};
	CHECK_EQ(call(SMPFOTA_MSG_OS_INFO, &iq, &i), 0);
	CHECK_STR(i.output, "smpfota");
	iq = (struct smpfota_os_info_req){.has_format = true, .format = {"ns", 2}};
	CHECK_EQ(call(SMPFOTA_MSG_OS_INFO, &iq, &i), 0);
	CHECK_STR(i.output, "smpfota target"); /* fixed order s n, whatever the letter order */
	iq.format = (struct smpfota_str){"sq", 2};
	CHECK_EQ(call(SMPFOTA_MSG_OS_INFO, &iq, &i), 0);
	CHECK_EQ(v2err(&i.status), SMPFOTA_OS_ERR_INVALID_FORMAT);
	CHECK_EQ(rsp_hdr.group, 0);
	CHECK_EQ(call_v(SMPFOTA_MSG_OS_INFO, SMPFOTA_SMP_V1, &iq, &i), 0);
	CHECK(!i.status.has_err);
	CHECK_EQ(i.status.rc, SMPFOTA_MGMT_EINVAL); /* v1: translated legacy code */

	struct smpfota_os_bootloader_rsp b;
	struct smpfota_os_bootloader_req bq = {0};
	CHECK_EQ(call(SMPFOTA_MSG_OS_BOOTLOADER, &bq, &b), 0);
	CHECK(b.has_bootloader);
	CHECK_STR(b.bootloader, "MCUboot");
	bq = (struct smpfota_os_bootloader_req){.has_query = true, .query = {"mode", 4}};
	CHECK_EQ(call(SMPFOTA_MSG_OS_BOOTLOADER, &bq, &b), 0);
	CHECK(b.has_mode && b.mode == 3);
	bq.query = (struct smpfota_str){"what", 4};
	CHECK_EQ(call(SMPFOTA_MSG_OS_BOOTLOADER, &bq, &b), 0);
	CHECK_EQ(v2err(&b.status), SMPFOTA_OS_ERR_QUERY_YIELDS_NO_ANSWER);

	struct smpfota_os_reset_rsp r;
	struct smpfota_os_reset_req rq = {0};
	CHECK(!smpfota_server_reset_pending(&tb.srv));
	CHECK_EQ(call(SMPFOTA_MSG_OS_RESET, &rq, &r), 0);
	CHECK(smpfota_smp_status_ok(&r.status));
	CHECK(smpfota_server_reset_pending(&tb.srv));
	CHECK_EQ(resets_seen, 1);
}

static void test_bad_frames(void)
{
	setup();
	uint8_t out[256];
	struct smpfota_os_reset_rsp r;
	/* unknown group (9, shell), unknown image command (2): ENOTSUP in v1 form */
	uint8_t shell[] = {0x0a, 0, 0, 1, 0, 9, 1, 0, 0xa0};
	int n = smpfota_server_handle(&tb.srv, shell, sizeof(shell), out, sizeof(out));
	CHECK(n > 8);
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_OS_RESET, out + 8, (size_t)n - 8, &r), 0);
	CHECK_EQ(r.status.rc, SMPFOTA_MGMT_ENOTSUP);
	CHECK_EQ(out[6], 1); /* seq echoed */
	uint8_t corelist[] = {0x08, 0, 0, 1, 0, 1, 2, 3, 0xa0};
	n = smpfota_server_handle(&tb.srv, corelist, sizeof(corelist), out, sizeof(out));
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_OS_RESET, out + 8, (size_t)n - 8, &r), 0);
	CHECK_EQ(r.status.rc, SMPFOTA_MGMT_ENOTSUP);
	/* reserved version 2: too new */
	uint8_t v3[] = {0x12, 0, 0, 1, 0, 0, 1, 0, 0xa0};
	n = smpfota_server_handle(&tb.srv, v3, sizeof(v3), out, sizeof(out));
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_OS_RESET, out + 8, (size_t)n - 8, &r), 0);
	CHECK_EQ(r.status.rc, SMPFOTA_MGMT_UNSUPPORTED_TOO_NEW);
	/* malformed CBOR: EINVAL */
	uint8_t bad[] = {0x0a, 0, 0, 2, 0, 0, 1, 0, 0xa1, 0x61};
	n = smpfota_server_handle(&tb.srv, bad, sizeof(bad), out, sizeof(out));
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_OS_RESET, out + 8, (size_t)n - 8, &r), 0);
	CHECK_EQ(r.status.rc, SMPFOTA_MGMT_EINVAL);
	/* length past the data: ECORRUPT */
	uint8_t corrupt[] = {0x0a, 0, 0, 9, 0, 0, 1, 0, 0xa0};
	n = smpfota_server_handle(&tb.srv, corrupt, sizeof(corrupt), out, sizeof(out));
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_OS_RESET, out + 8, (size_t)n - 8, &r), 0);
	CHECK_EQ(r.status.rc, SMPFOTA_MGMT_ECORRUPT);
	/* an invalid op (6) with a bad length: no answer rather than a malformed one */
	uint8_t badop[] = {0x0e, 0, 0, 9, 0, 0, 1, 0, 0xa0};
	CHECK_EQ(smpfota_server_handle(&tb.srv, badop, sizeof(badop), out, sizeof(out)), 0);
	/* responses and fragments get no answer */
	uint8_t rsp[] = {0x0b, 0, 0, 1, 0, 0, 1, 0, 0xa0};
	CHECK_EQ(smpfota_server_handle(&tb.srv, rsp, sizeof(rsp), out, sizeof(out)), 0);
	CHECK_EQ(smpfota_server_handle(&tb.srv, rsp, 5, out, sizeof(out)), 0);
	/* a response buffer too small for the answer: EMSGSIZE, or nothing at all */
	struct smpfota_os_echo_req eq = {.d = {"0123456789012345678901234567890123456789", 40}};
	uint8_t frame[128];
	n = smpfota_smp_encode_req(SMPFOTA_MSG_OS_ECHO, 1, 7, &eq, frame, sizeof(frame));
	int m = smpfota_server_handle(&tb.srv, frame, (size_t)n, out, 20);
	CHECK(m > 0);
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_OS_RESET, out + 8, (size_t)m - 8, &r), 0);
	CHECK_EQ(r.status.rc, SMPFOTA_MGMT_EMSGSIZE);
	CHECK(smpfota_server_handle(&tb.srv, frame, (size_t)n, out, 8) < 0);
}

/* ---- image group --------------------------------------------------------------------- */

static void test_factory_list(void)
{
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	struct smpfota_img_state_rsp st = list();
	CHECK_EQ(st.images_count, 1); /* empty slots are not listed */
	const struct smpfota_img_slot_state *e = entry(&st, 0, 0);
	CHECK(e != NULL && e->has_image && e->bootable);
	CHECK_STR(e->version, "1.0.0");
	CHECK(e->has_hash && e->hash.len == 32 && !memcmp(e->hash.ptr, tlv_hash(img_a, len_a), 32));
	CHECK_FLAGS(st, 0, 0, "A-C-");
	CHECK(st.has_split_status && st.split_status == 0);

	struct smpfota_img_slot_info_rsp si;
	struct smpfota_img_slot_info_req sq = {0};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_SLOT_INFO, &sq, &si), 0);
	CHECK_EQ(si.images_count, 2);
	CHECK_EQ(si.images[0].slots[1].size, SLOT0);
	CHECK_EQ(si.images[1].slots[0].size, SLOT1 + P1);
	CHECK(si.images[0].has_max_image_size);
	CHECK(si.images[0].max_image_size <=
	      SLOT0 - smpfota_boot_trailer_size(&tb.images[0].secondary));
	CHECK(si.images[0].max_image_size > 0);
}

static void test_upload_refusals(void)
{
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	struct smpfota_img_upload_rsp u;
	struct smpfota_img_upload_req q = {
		.off = 0, .data = {img_b, 31}, .has_len = true, .len = (uint32_t)len_b};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_HEADER);
	q.data.len = 100;
	q.has_len = false;
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_INVALID_LENGTH);
	q.has_len = true;
	q.data.ptr = img_b + 1;
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC);
	CHECK_EQ(call_v(SMPFOTA_MSG_IMG_UPLOAD, SMPFOTA_SMP_V1, &q, &u), 0);
	CHECK_EQ(u.status.rc, SMPFOTA_MGMT_EUNKNOWN); /* as Zephyr's translation table */
	q.data.ptr = img_b;
	q.len = SLOT0; /* the trailer needs room: more than max_image_size */
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE);
	q.len = (uint32_t)len_b;
	q.has_image = true;
	q.image = 2;
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_NO_FREE_SLOT);
	CHECK_EQ(call_v(SMPFOTA_MSG_IMG_UPLOAD, SMPFOTA_SMP_V1, &q, &u), 0);
	CHECK_EQ(u.status.rc, SMPFOTA_MGMT_EBADSTATE);
	/* downgrade with "upgrade": refused; same version too */
	q.image = 0;
	q.has_upgrade = q.upgrade = true;
	q.data.ptr = img_a;
	q.len = (uint32_t)len_a;
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER);
	/* a chunk past the announced length */
	q = (struct smpfota_img_upload_req){
		.off = 0, .data = {img_b, 100}, .has_len = true, .len = 150};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK(u.has_off && u.off == 100);
	q = (struct smpfota_img_upload_req){.off = 100, .data = {img_b + 100, 51}};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN);
	/* ...which ends the upload: the next chunk is told to start over at 0 */
	q.data.len = 10;
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK(smpfota_smp_status_ok(&u.status) && u.has_off && u.off == 0);
}

static void test_upload_offsets_and_resume(void)
{
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	uint8_t sha[32];
	file_sha(img_b, len_b, sha);
	struct smpfota_img_upload_rsp u;
	struct smpfota_img_upload_req q = {.off = 0,
					   .data = {img_b, 1000},
					   .has_len = true,
					   .len = (uint32_t)len_b,
					   .has_sha = true,
					   .sha = {sha, 32}};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(u.off, 1000);
	/* ahead, behind: dropped, answered with the expected offset (success) */
	struct smpfota_img_upload_req c = {.off = 3000, .data = {img_b + 3000, 500}};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &c, &u), 0);
	CHECK(smpfota_smp_status_ok(&u.status) && u.off == 1000);
	c.off = 500;
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &c, &u), 0);
	CHECK(smpfota_smp_status_ok(&u.status) && u.off == 1000);
	c = (struct smpfota_img_upload_req){.off = 1000, .data = {img_b + 1000, 1001}};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &c, &u), 0);
	CHECK_EQ(u.off, 2001);
	/* a client that restarts with the same sha resumes: nothing is written */
	uint32_t written = nor0.writes;
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(u.off, 2001);
	CHECK_EQ(nor0.writes, written);
	/* a warm reset keeps the upload (retained RAM); the boot model must not touch it */
	reboot(true);
	for (size_t off = 2001; off < len_b; off += 1000) {
		size_t n = len_b - off < 1000 ? len_b - off : 1000;
		c = (struct smpfota_img_upload_req){.off = (uint32_t)off, .data = {img_b + off, n}};
		CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &c, &u), 0);
		CHECK(smpfota_smp_status_ok(&u.status));
		CHECK_EQ(u.off, off + n);
	}
	CHECK_EQ(u.off, len_b);
	CHECK(u.has_match && u.match);
	CHECK(slot_holds(&tb.images[0].secondary, img_b, len_b));
	CHECK_EQ(nor0.violations, 0);

	/* the same file again (e.g. the last answer was lost): the slot already holds it,
	 * answered at once with off = len and match, nothing written (Zephyr's image check) */
	written = nor0.writes;
	uint32_t erased = nor0.erases;
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(u.off, len_b);
	CHECK(u.has_match && u.match);
	CHECK_EQ(nor0.writes, written);
	CHECK_EQ(nor0.erases, erased);
	/* another file starts a new session */
	uint8_t other[32];
	memcpy(other, sha, 32);
	other[0] ^= 1;
	q.sha.ptr = other;
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(u.off, 1000);
	/* a cold start forgets the upload: the client is told to start at 0 */
	reboot(false);
	c = (struct smpfota_img_upload_req){.off = 1000, .data = {img_b + 1000, 1000}};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &c, &u), 0);
	CHECK(smpfota_smp_status_ok(&u.status) && u.off == 0);
}

static void test_unaligned_chunks(void)
{
	/* Chunks of every size from 1 byte: the write-block buffer keeps flash byte-exact. */
	for (size_t max = 1; max <= 9; max += 4) {
		setup();
		make_images();
		provision(0, img_a, len_a);
		reboot(false);
		struct smpfota_img_upload_rsp u = upload(0, img_c, len_c, max == 1 ? 7 : max * 97,
							 (uint32_t)max);
		CHECK(smpfota_smp_status_ok(&u.status));
		CHECK_EQ(u.off, len_c);
		CHECK(slot_holds(&tb.images[0].secondary, img_c, len_c));
		CHECK_EQ(nor0.violations, 0);
	}
}

static void test_life_cycle(void)
{
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	const uint8_t *ha = tlv_hash(img_a, len_a);
	uint8_t hash_a[32], hash_b[32];
	memcpy(hash_a, ha, 32);
	memcpy(hash_b, tlv_hash(img_b, len_b), 32);

	struct smpfota_img_upload_rsp u = upload(0, img_b, len_b, 700, 11);
	CHECK(smpfota_smp_status_ok(&u.status) && u.off == len_b && u.match);
	struct smpfota_img_state_rsp st = list();
	CHECK_STR(entry(&st, 0, 1)->version, "1.1.0.7");
	CHECK_FLAGS(st, 0, 0, "A-C-");
	CHECK_FLAGS(st, 0, 1, "----");

	/* test: pending; the response is the new list */
	CHECK_EQ(state_write(hash_b, false, &st), -1);
	CHECK_FLAGS(st, 0, 1, "-P--");
	CHECK_EQ(state_write(hash_b, false, &st), -1); /* again: no-op */
	CHECK_EQ(state_write(hash_a, false, &st),
		 SMPFOTA_IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED);
	/* the pending slot can be neither overwritten nor erased */
	struct smpfota_img_upload_req q = {
		.off = 0, .data = {img_c, 64}, .has_len = true, .len = (uint32_t)len_c};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_NO_FREE_SLOT);
	struct smpfota_img_erase_rsp er;
	struct smpfota_img_erase_req eq = {0};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_ERASE, &eq, &er), 0);
	CHECK_EQ(v2err(&er.status), SMPFOTA_IMG_MGMT_ERR_NO_FREE_SLOT);

	/* reset: MCUboot swaps; B runs in test mode, A waits in slot 1 */
	reboot(false);
	CHECK(slot_holds(&tb.images[0].primary, img_b, len_b));
	CHECK(slot_holds(&tb.images[0].secondary, img_a, len_a));
	st = list();
	CHECK(!memcmp(entry(&st, 0, 0)->hash.ptr, hash_b, 32));
	CHECK_FLAGS(st, 0, 0, "A---");
	CHECK_FLAGS(st, 0, 1, "--C-");
	CHECK_EQ(state_write(hash_a, false, &st), SMPFOTA_IMG_MGMT_ERR_IMAGE_ALREADY_PENDING);

	/* confirm (no hash = the running image) */
	CHECK_EQ(state_write(NULL, true, &st), -1);
	CHECK_FLAGS(st, 0, 0, "A-C-");
	CHECK_FLAGS(st, 0, 1, "----");
	reboot(false);
	st = list();
	CHECK(!memcmp(entry(&st, 0, 0)->hash.ptr, hash_b, 32));
	CHECK_FLAGS(st, 0, 0, "A-C-");

	/* revert: test C, reset, reset again without confirm -> B is back, confirmed */
	u = upload(0, img_c, len_c, 300, 5);
	CHECK(smpfota_smp_status_ok(&u.status));
	CHECK_EQ(state_write(tlv_hash(img_c, len_c), false, &st), -1);
	reboot(false);
	st = list();
	CHECK_STR(entry(&st, 0, 0)->version, "2.0.0");
	CHECK_FLAGS(st, 0, 0, "A---");
	reboot(false);
	st = list();
	CHECK(!memcmp(entry(&st, 0, 0)->hash.ptr, hash_b, 32));
	CHECK_FLAGS(st, 0, 0, "A-C-");
	CHECK(slot_holds(&tb.images[0].primary, img_b, len_b));

	/* permanent: confirm with the hash of the secondary -> pending + permanent */
	CHECK_EQ(state_write(tlv_hash(img_c, len_c), true, &st), -1);
	CHECK_FLAGS(st, 0, 1, "-P-R");
	reboot(false);
	st = list();
	CHECK_STR(entry(&st, 0, 0)->version, "2.0.0");
	CHECK_FLAGS(st, 0, 0, "A-C-");
	reboot(false);
	st = list();
	CHECK_STR(entry(&st, 0, 0)->version, "2.0.0"); /* stays without a confirm */

	/* erase the (now unused) secondary: allowed, and it is no longer listed */
	CHECK_EQ(call(SMPFOTA_MSG_IMG_ERASE, &eq, &er), 0);
	CHECK(smpfota_smp_status_ok(&er.status));
	st = list();
	CHECK(entry(&st, 0, 1) == NULL);
	CHECK_EQ(state_write(hash_b, false, &st), SMPFOTA_IMG_MGMT_ERR_HASH_NOT_FOUND);
	CHECK_EQ(state_write(NULL, false, &st), SMPFOTA_IMG_MGMT_ERR_INVALID_HASH);
	CHECK_EQ(nor0.violations, 0);
}

static void test_invalid_image_not_marked(void)
{
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	static uint8_t bad[20000];
	memcpy(bad, img_b, len_b);
	bad[5000] ^= 0x40; /* body bit flip: the SHA-256 TLV no longer matches */
	uint8_t hash_bad[32];
	memcpy(hash_bad, tlv_hash(img_b, len_b), 32);
	struct smpfota_img_upload_rsp u = upload(0, bad, len_b, 1500, 3);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_INVALID_HASH);
	struct smpfota_img_state_rsp st = list();
	CHECK(entry(&st, 0, 1) == NULL);
	CHECK_EQ(state_write(hash_bad, false, &st), SMPFOTA_IMG_MGMT_ERR_HASH_NOT_FOUND);
	/* the running image is untouched */
	CHECK(slot_holds(&tb.images[0].primary, img_a, len_a));
}

static void test_unfinished_upload_not_marked(void)
{
	/* A damaged image whose upload never finished is listed (header and TLVs are there, as
	 * Zephyr would list it) but cannot be marked: its hash does not check. */
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	static uint8_t bad[20000];
	memcpy(bad, img_b, len_b);
	bad[7000] ^= 0x01;
	struct smpfota_img_upload_rsp u;
	for (size_t off = 0; off < len_b; off += 1000) {
		size_t n = len_b - off < 1000 ? len_b - off : 1000;
		struct smpfota_img_upload_req q = {.off = (uint32_t)off, .data = {bad + off, n}};
		if (off == 0) {
			q.has_len = true;
			q.len = (uint32_t)len_b + 4000; /* announced longer: never completes */
		}
		CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
		CHECK(smpfota_smp_status_ok(&u.status));
	}
	struct smpfota_img_state_rsp st = list();
	CHECK(entry(&st, 0, 1) != NULL);
	uint8_t h[32];
	memcpy(h, tlv_hash(img_b, len_b), 32);
	CHECK_EQ(state_write(h, false, &st), SMPFOTA_IMG_MGMT_ERR_INVALID_HASH);
	CHECK_EQ(state_write(h, true, &st), SMPFOTA_IMG_MGMT_ERR_INVALID_HASH);
	struct smpfota_boot_trailer t;
	CHECK_EQ(smpfota_boot_read_trailer(&tb.images[0].secondary, &t), 0);
	CHECK_EQ(t.magic, SMPFOTA_BOOT_MAGIC_UNSET);
}

static void test_net_core_image(void)
{
	setup();
	make_images();
	provision(0, img_a, len_a);
	provision(1, img_c, len_c);
	reboot(false);
	struct smpfota_img_state_rsp st = list();
	CHECK_FLAGS(st, 1, 0, "A-C-");
	/* image 1 goes to slot 3 (secondary of image 1), on the 2 KB-page device */
	static uint8_t net[12000];
	size_t len_n = smpfota_emu_image_build(net, sizeof(net),
					       &(struct smpfota_emu_image_spec){.body_size = 11000,
										.ver = {2, 1, 0, 0},
										.seed = 9},
					       NULL);
	struct smpfota_img_upload_rsp u = upload(1, net, len_n, 500, 8);
	CHECK(smpfota_smp_status_ok(&u.status) && u.match);
	CHECK(slot_holds(&tb.images[1].secondary, net, len_n));
	st = list();
	CHECK_STR(entry(&st, 1, 1)->version, "2.1.0");
	/* the running image of another core cannot be confirmed; its update can (permanent) */
	uint8_t hc[32];
	memcpy(hc, tlv_hash(img_c, len_c), 32);
	CHECK_EQ(state_write(hc, true, &st), SMPFOTA_IMG_MGMT_ERR_IMAGE_CONFIRMATION_DENIED);
	CHECK_EQ(state_write(tlv_hash(net, len_n), true, &st), -1);
	CHECK_FLAGS(st, 1, 1, "-P-R");
	CHECK_FLAGS(st, 0, 0, "A-C-");
	reboot(false);
	st = list();
	CHECK_STR(entry(&st, 1, 0)->version, "2.1.0");
	CHECK_FLAGS(st, 1, 0, "A-C-");
	CHECK_STR(entry(&st, 0, 0)->version, "1.0.0");
}

static void test_flash_failure(void)
{
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	nor0.fail_at_op = nor0.ops + 4; /* a write or erase during the upload fails */
	struct smpfota_img_upload_rsp u = upload(0, img_b, len_b, 900, 1);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_FLASH_WRITE_FAILED);
	nor0.fail_at_op = 0;
	/* the upload was abandoned: a fresh one works */
	u = upload(0, img_b, len_b, 900, 1);
	CHECK(smpfota_smp_status_ok(&u.status) && u.off == len_b);
	CHECK(slot_holds(&tb.images[0].primary, img_a, len_a));
}

static void test_retained_record(void)
{
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	struct smpfota_img_upload_rsp u;
	struct smpfota_img_upload_req q = {
		.off = 0, .data = {img_b, 400}, .has_len = true, .len = (uint32_t)len_b};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(u.off, 400);
	/* a record damaged in RAM is not trusted */
	tb.srv.up.off = 12;
	CHECK_EQ(smpfota_server_init(&tb.srv, &tb.cfg, true), 0);
	struct smpfota_img_upload_req c = {.off = 400, .data = {img_b + 400, 10}};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &c, &u), 0);
	CHECK_EQ(u.off, 0);
	CHECK_EQ(smpfota_server_init(&tb.srv, NULL, true), SMPFOTA_ERR_INVAL);
}

/* ---- streaming verification at the end of an upload ---------------------------------- */

static uint32_t sec0_reads;

static void count_sec0_reads(void *ctx, int kind, uint32_t off, size_t len)
{
	(void)ctx;
	(void)len;
	const struct smpfota_flash_area *a = &tb.images[0].secondary;
	if (kind == SMPFOTA_NOR_OP_READ && off >= a->off && off < a->off + a->size) {
		sec0_reads++;
	}
}

/*
 * Upload img to image 0 in chunks of `chunk` bytes, except the last request, which carries
 * the final `last` bytes. sha: what the client announces (NULL: none). Returns the last
 * response; *end_reads gets the reads of the whole device (and, through the on_op hook, of
 * the secondary slot) during the last request.
 */
static struct smpfota_img_upload_rsp upload_split(const uint8_t *img, size_t len, size_t chunk,
						  size_t last, const uint8_t *sha,
						  uint32_t *end_reads, uint32_t *end_sec_reads)
{
	struct smpfota_img_upload_rsp rsp = {0};
	size_t off = 0;
	while (off < len) {
		size_t n = len - off <= last ? len - off : chunk;
		if (off + n > len - last && off < len - last) {
			n = len - last - off; /* stop right before the last request */
		}
		struct smpfota_img_upload_req q = {.off = (uint32_t)off, .data = {img + off, n}};
		if (off == 0) {
			q.has_len = true;
			q.len = (uint32_t)len;
			if (sha != NULL) {
				q.has_sha = true;
				q.sha = (struct smpfota_bytes){sha, 32};
			}
		}
		bool final = off + n == len;
		uint32_t reads = nor0.reads;
		sec0_reads = 0;
		nor0.on_op = final ? count_sec0_reads : NULL;
		CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &rsp), 0);
		nor0.on_op = NULL;
		if (final) {
			*end_reads = nor0.reads - reads;
			*end_sec_reads = sec0_reads;
		}
		if (!smpfota_smp_status_ok(&rsp.status) || !rsp.has_off) {
			return rsp;
		}
		CHECK_EQ(rsp.off, off + n);
		off = rsp.off;
	}
	return rsp;
}

static void test_end_of_upload_reads_nothing(void)
{
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	uint8_t sha[32];
	file_sha(img_b, len_b, sha);
	/* The last request stays in a page the upload has already erased, so only the streamed
	 * verdicts could make it read; it ends unaligned (the write-block tail is flushed). */
	size_t last = 37;
	CHECK((len_b - last) / P0 == (len_b + 3) / P0);
	CHECK(len_b % 4 != 0);
	uint32_t reads = 99, sec_reads = 99;
	struct smpfota_img_upload_rsp u = upload_split(img_b, len_b, 1000, last, sha, &reads,
						       &sec_reads);
	CHECK(smpfota_smp_status_ok(&u.status));
	CHECK_EQ(u.off, len_b);
	CHECK(u.has_match && u.match);
	CHECK_EQ(reads, 0);
	CHECK_EQ(sec_reads, 0);
	CHECK(slot_holds(&tb.images[0].secondary, img_b, len_b));
	/* the streamed verdict is the one MCUboot reaches from flash */
	struct smpfota_image_info info;
	CHECK_EQ(smpfota_boot_slot_image(&tb.images[0].secondary, &info), 0);
	CHECK(info.hash_valid);
	struct smpfota_img_state_rsp st;
	CHECK_EQ(state_write(tlv_hash(img_b, len_b), false, &st), -1);
	CHECK_FLAGS(st, 0, 1, "-P--");
	CHECK_EQ(nor0.violations, 0);
}

static void test_end_of_upload_match(void)
{
	uint8_t sha[32], wrong[32];
	uint32_t reads, sec_reads;
	file_sha(img_c, len_c, sha);
	memcpy(wrong, sha, 32);
	wrong[31] ^= 0x80;

	/* right sha: match; another sha: no match, but a valid image is still accepted (as
	 * Zephyr: match only reports); no sha at all: no match */
	const uint8_t *shas[3] = {sha, wrong, NULL};
	for (int k = 0; k < 3; k++) {
		setup();
		make_images();
		provision(0, img_a, len_a);
		reboot(false);
		reads = sec_reads = 99;
		struct smpfota_img_upload_rsp u = upload_split(img_c, len_c, 512, 100, shas[k],
							       &reads, &sec_reads);
		CHECK(smpfota_smp_status_ok(&u.status));
		CHECK_EQ(u.off, len_c);
		CHECK(u.has_match);
		CHECK_EQ(u.match, k == 0);
		CHECK_EQ(sec_reads, 0);
		CHECK(slot_holds(&tb.images[0].secondary, img_c, len_c));
	}
	/* without image_check the answer has no match at all */
	setup();
	tb.cfg.image_check = false;
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	struct smpfota_img_upload_rsp u = upload_split(img_c, len_c, 512, 100, sha, &reads,
						       &sec_reads);
	CHECK(smpfota_smp_status_ok(&u.status) && u.off == len_c && !u.has_match);
	tb.cfg.image_check = true;
}

/* Upload a damaged copy of img_b; returns the v2 error of the last answer. */
static int upload_damaged(size_t at, uint8_t xor_mask, uint32_t *sec_reads)
{
	static uint8_t bad[20000];
	uint8_t sha[32];
	uint32_t reads;
	memcpy(bad, img_b, len_b);
	bad[at] ^= xor_mask;
	file_sha(bad, len_b, sha);
	struct smpfota_img_upload_rsp u = upload_split(bad, len_b, 1000, 37, sha, &reads,
						       sec_reads);
	return v2err(&u.status);
}

static void test_end_of_upload_refuses_bad_images(void)
{
	struct smpfota_image_info info;
	CHECK_EQ(smpfota_image_parse(img_b, len_b, &info), 0);
	size_t tlv_hash_at = 0;
	for (size_t i = 0; i < info.tlv_count; i++) {
		if (info.tlvs[i].type == SMPFOTA_TLV_SHA256) {
			tlv_hash_at = info.tlvs[i].off + 4;
		}
	}
	CHECK(tlv_hash_at > 0);
	struct {
		size_t at;
		uint8_t mask;
		int err;
	} cases[] = {
		{tlv_hash_at + 5, 0x01,
		 SMPFOTA_IMG_MGMT_ERR_INVALID_HASH},             /* the SHA-256 TLV value */
		{9000, 0x40, SMPFOTA_IMG_MGMT_ERR_INVALID_HASH}, /* the body */
		{info.hashed_size, 0x01, SMPFOTA_IMG_MGMT_ERR_INVALID_HASH}, /* TLV info magic */
		{9, 0x02, SMPFOTA_IMG_MGMT_ERR_INVALID_TLV}, /* hdr_size 0: bad header */
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		setup();
		make_images();
		provision(0, img_a, len_a);
		reboot(false);
		uint32_t sec_reads = 99;
		CHECK_EQ(upload_damaged(cases[k].at, cases[k].mask, &sec_reads), cases[k].err);
		CHECK_EQ(sec_reads, 0);
		/* scrambled: the first page is erased, nothing is listed, nothing can be marked */
		CHECK_EQ(smpfota_flash_area_is_erased(&tb.images[0].secondary, 0, P0), 1);
		struct smpfota_img_state_rsp st = list();
		CHECK(entry(&st, 0, 1) == NULL);
		CHECK(slot_holds(&tb.images[0].primary, img_a, len_a));
		/* the upload is over: a next chunk is told to start at 0 */
		struct smpfota_img_upload_rsp u;
		struct smpfota_img_upload_req c = {.off = 1000, .data = {img_b + 1000, 10}};
		CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &c, &u), 0);
		CHECK(smpfota_smp_status_ok(&u.status) && u.off == 0);
		CHECK_EQ(nor0.violations, 0);
	}
}

/* Send chunks [from, to) of img_b (1000 bytes each; the first one opens the upload). */
static void send_b(size_t from, size_t to, const uint8_t *file, const uint8_t *sha)
{
	struct smpfota_img_upload_rsp u;
	for (size_t off = from; off < to; off += 1000) {
		size_t n = to - off < 1000 ? to - off : 1000;
		struct smpfota_img_upload_req q = {.off = (uint32_t)off, .data = {file + off, n}};
		if (off == 0) {
			q.has_len = q.has_sha = true;
			q.len = (uint32_t)len_b;
			q.sha = (struct smpfota_bytes){sha, 32};
		}
		CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
		CHECK(smpfota_smp_status_ok(&u.status));
		CHECK_EQ(u.off, off + n);
	}
}

static void test_resume_ends_verified(void)
{
	uint8_t sha[32];
	uint32_t reads;
	file_sha(img_b, len_b, sha);

	/* A warm reset in the middle: the hash contexts come back with the record and the
	 * upload ends verified, still without reading the slot at the end. */
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	send_b(0, 7000, img_b, sha);
	reboot(true);
	send_b(7000, len_b - 37, img_b, sha);
	reboot(true);
	struct smpfota_img_upload_rsp u;
	struct smpfota_img_upload_req q = {.off = (uint32_t)(len_b - 37),
					   .data = {img_b + len_b - 37, 37}};
	reads = nor0.reads;
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(nor0.reads, reads);
	CHECK(smpfota_smp_status_ok(&u.status) && u.off == len_b && u.has_match && u.match);
	CHECK(slot_holds(&tb.images[0].secondary, img_b, len_b));

	/* A byte damaged before the reset is still caught after it: the image reader's state
	 * crossed the reset. */
	static uint8_t bad[20000];
	memcpy(bad, img_b, len_b);
	bad[3000] ^= 0x10;
	uint8_t sha_bad[32];
	file_sha(bad, len_b, sha_bad);
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	send_b(0, 6000, bad, sha_bad);
	reboot(true);
	send_b(6000, len_b - 37, bad, sha_bad);
	q = (struct smpfota_img_upload_req){.off = (uint32_t)(len_b - 37),
					    .data = {bad + len_b - 37, 37}};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_INVALID_HASH);
	CHECK_EQ(smpfota_flash_area_is_erased(&tb.images[0].secondary, 0, P0), 1);

	/* Retained contexts are covered by the record's checksum: a damaged byte in either one
	 * and the record is dropped (the client starts over at 0). */
	for (int which = 0; which < 2; which++) {
		setup();
		make_images();
		provision(0, img_a, len_a);
		reboot(false);
		send_b(0, 5000, img_b, sha);
		if (which == 0) {
			tb.srv.up.file_sha.bytes[40] ^= 1;
		} else {
			((uint8_t *)&tb.srv.up.reader)[sizeof(tb.srv.up.reader) - 9] ^= 1;
		}
		CHECK_EQ(smpfota_server_init(&tb.srv, &tb.cfg, true), 0);
		q = (struct smpfota_img_upload_req){.off = 5000, .data = {img_b + 5000, 1000}};
		CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
		CHECK(smpfota_smp_status_ok(&u.status) && u.off == 0);
	}
}

/* RAM as it was when a flash operation was cut: the retained record a warm reset finds. */
static struct smpfota_server srv_at_cut;

static void snapshot_at_cut(void *ctx, int kind, uint32_t off, size_t len)
{
	(void)ctx;
	(void)kind;
	(void)off;
	(void)len;
	if (nor0.power_cut) {
		memcpy(&srv_at_cut, &tb.srv, sizeof(tb.srv));
	}
}

static void test_reset_inside_a_request(void)
{
	/* A reset that interrupts the writes of a chunk (RAM retained) must not resume from a
	 * record the flash has already overtaken: the record is busy until the chunk is done. */
	uint8_t sha[32];
	file_sha(img_b, len_b, sha);
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	send_b(0, 5000, img_b, sha);
	nor0.on_op = snapshot_at_cut;
	nor0.partial_cut = true;
	nor0.power_cut_at_op = nor0.ops + 1; /* the first write of the next chunk: half done */
	struct smpfota_img_upload_rsp u;
	struct smpfota_img_upload_req q = {.off = 5000, .data = {img_b + 5000, 1000}};
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	nor0.on_op = NULL;
	nor0.partial_cut = false;
	CHECK(nor0.power_cut);
	CHECK(!smpfota_flash_area_is_erased(&tb.images[0].secondary, 5000, 4));
	smpfota_nor_power_on(&nor0);
	memcpy(&tb.srv, &srv_at_cut, sizeof(tb.srv));
	reboot(true);
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK(smpfota_smp_status_ok(&u.status) && u.off == 0);
	/* the client starts over and the upload ends verified, NOR rules kept */
	send_b(0, len_b, img_b, sha);
	CHECK(slot_holds(&tb.images[0].secondary, img_b, len_b));
	CHECK_EQ(nor0.violations, 0);
}

static void test_image_check_shortcut_verifies(void)
{
	uint8_t sha[32];
	uint32_t reads, sec_reads;
	file_sha(img_b, len_b, sha);
	struct smpfota_img_upload_rsp u;
	struct smpfota_img_upload_req q = {.off = 0,
					   .data = {img_b, 1000},
					   .has_len = true,
					   .len = (uint32_t)len_b,
					   .has_sha = true,
					   .sha = {sha, 32}};

	/* A stale image_ok left in the trailer must not turn the next `image test` into a
	 * permanent request, whether the file is uploaded again or found by the shortcut. */
	for (int shortcut = 0; shortcut < 2; shortcut++) {
		setup();
		make_images();
		provision(0, img_a, len_a);
		reboot(false);
		if (shortcut) {
			u = upload_split(img_b, len_b, 1000, 37, sha, &reads, &sec_reads);
			CHECK(u.match);
		}
		const struct smpfota_flash_area *sec = &tb.images[0].secondary;
		uint8_t ok[4] = {0x01, 0xff, 0xff, 0xff};
		CHECK_EQ(
			smpfota_flash_area_write(sec, sec->size - SMPFOTA_BOOT_IMAGE_OK_OFF, ok, 4),
			0);
		if (shortcut) {
			uint32_t writes = nor0.writes;
			CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
			CHECK(smpfota_smp_status_ok(&u.status) && u.off == len_b && u.match);
			CHECK_EQ(nor0.writes, writes);
		} else {
			u = upload_split(img_b, len_b, 1000, 37, sha, &reads, &sec_reads);
			CHECK(smpfota_smp_status_ok(&u.status) && u.match);
		}
		struct smpfota_boot_trailer t;
		CHECK_EQ(smpfota_boot_read_trailer(sec, &t), 0);
		CHECK_EQ(t.image_ok, SMPFOTA_BOOT_FLAG_UNSET);
		struct smpfota_img_state_rsp st;
		CHECK_EQ(state_write(tlv_hash(img_b, len_b), false, &st), -1);
		CHECK_FLAGS(st, 0, 1, "-P--");
		reboot(false);
		reboot(false); /* not confirmed: reverts */
		CHECK(slot_holds(&tb.images[0].primary, img_a, len_a));
	}

	/* A trailer magic torn by a power cut during `image test` makes the request fail and,
	 * as MCUboot's boot_set_next(), erases the slot; the client uploads the file again and
	 * the next `image test` works. */
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	u = upload_split(img_b, len_b, 1000, 37, sha, &reads, &sec_reads);
	CHECK(smpfota_smp_status_ok(&u.status) && u.match);
	{
		const struct smpfota_flash_area *sec = &tb.images[0].secondary;
		static const uint8_t half_magic[8] = {0x77, 0xc2, 0x95, 0xf3,
						      0x60, 0xd2, 0xef, 0x7f};
		CHECK_EQ(smpfota_flash_area_write(sec, sec->size - SMPFOTA_BOOT_MAGIC_OFF,
						  half_magic, 8),
			 0);
		struct smpfota_img_state_rsp st;
		CHECK(state_write(tlv_hash(img_b, len_b), false, &st) > 0);
		uint8_t head[4];
		CHECK_EQ(smpfota_flash_area_read(sec, 0, head, sizeof(head)), 0);
		CHECK_EQ(head[0] & head[1] & head[2] & head[3], 0xff); /* erased */
		u = upload_split(img_b, len_b, 1000, 37, sha, &reads, &sec_reads);
		CHECK(smpfota_smp_status_ok(&u.status) && u.off == len_b && u.match);
		struct smpfota_boot_trailer t;
		CHECK_EQ(smpfota_boot_read_trailer(sec, &t), 0);
		CHECK_EQ(t.magic, SMPFOTA_BOOT_MAGIC_UNSET);
		CHECK_EQ(state_write(tlv_hash(img_b, len_b), false, &st), -1);
		CHECK_FLAGS(st, 0, 1, "-P--");
	}

	/* An invalid file that is already in the slot (its upload was cut before it could be
	 * scrambled) gets the answer a full upload would get, not `match`. */
	setup();
	make_images();
	provision(0, img_a, len_a);
	reboot(false);
	static uint8_t bad[20000];
	memcpy(bad, img_b, len_b);
	bad[len_b - 140] ^= 0x01; /* in the SHA-256 TLV value (then key hash, signature) */
	size_t padded = (len_b + 3) / 4 * 4;
	memset(bad + len_b, 0xff, padded - len_b);
	CHECK_EQ(smpfota_flash_area_erase(&tb.images[0].secondary, 0, 5 * P0), 0);
	CHECK_EQ(smpfota_flash_area_write(&tb.images[0].secondary, 0, bad, padded), 0);
	uint8_t sha_bad[32];
	file_sha(bad, len_b, sha_bad);
	q.data.ptr = bad;
	q.sha.ptr = sha_bad;
	CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &u), 0);
	CHECK_EQ(v2err(&u.status), SMPFOTA_IMG_MGMT_ERR_INVALID_HASH);
	CHECK_EQ(smpfota_flash_area_is_erased(&tb.images[0].secondary, 0, P0), 1);
	CHECK_EQ(nor0.violations, 0);
}

/* SHA-384 and SHA-512 images: the stream is hashed with SHA-256, the verdict comes from the
 * slot with the image's own algorithm; `image list` shows that hash, test takes it. */
static void test_sha384_sha512_images(void)
{
	static const uint16_t kinds[] = {SMPFOTA_TLV_SHA384, SMPFOTA_TLV_SHA512};
	static uint8_t img[20000];
	uint8_t hash[64];
	for (size_t k = 0; k < 2; k++) {
		setup();
		provision(0, img_a, len_a);
		reboot(false);
		struct smpfota_emu_image_spec sp = {
			.body_size = 11000, .ver = {1, 2, 0, 0}, .seed = 9, .hash_tlv = kinds[k]};
		size_t len = smpfota_emu_image_build(img, sizeof(img), &sp, hash);
		size_t hl = k == 0 ? 48 : 64;
		CHECK(len > 0);
		struct smpfota_img_upload_rsp up = upload(0, img, len, 700, 5);
		CHECK(smpfota_smp_status_ok(&up.status));
		CHECK(up.has_match && up.match);
		struct smpfota_img_state_rsp st = list();
		const struct smpfota_img_slot_state *e = entry(&st, 0, 1);
		CHECK(e != NULL && e->hash.len == hl && memcmp(e->hash.ptr, hash, hl) == 0);
		/* a 32-byte prefix of the hash is not the image's hash */
		CHECK_EQ(state_write(hash, false, &st), SMPFOTA_IMG_MGMT_ERR_HASH_NOT_FOUND);
		struct smpfota_img_state_write_req q = {.has_hash = true, .hash = {hash, hl}};
		CHECK_EQ(call(SMPFOTA_MSG_IMG_STATE_WRITE, &q, &st), 0);
		CHECK(smpfota_smp_status_ok(&st.status));
		CHECK_FLAGS(st, 0, 1, "-P--");
		reboot(true);
		st = list();
		e = entry(&st, 0, 0);
		CHECK(e != NULL && e->hash.len == hl && memcmp(e->hash.ptr, hash, hl) == 0);
		CHECK_FLAGS(st, 0, 0, "A---");

		/* a flipped body byte is found at the end of the upload, as for SHA-256 */
		setup();
		provision(0, img_a, len_a);
		reboot(false);
		img[0x200 + 77] ^= 0x10;
		up = upload(0, img, len, 900, 6);
		CHECK_EQ(v2err(&up.status), SMPFOTA_IMG_MGMT_ERR_INVALID_HASH);
		img[0x200 + 77] ^= 0x10;
		/* a padded file (imgtool --pad): the padding is not part of the image */
		static uint8_t padded[20000];
		memset(padded, 0xff, sizeof(padded));
		memcpy(padded, img, len);
		up = upload(0, padded, len + 3000, 900, 7);
		CHECK(smpfota_smp_status_ok(&up.status));
	}
}

/* Erases seen by the NOR hook: device offset and length. */
static struct {
	uint32_t off[64], len[64];
	unsigned n;
} erases;

static void on_nor_op(void *ctx, int kind, uint32_t off, size_t len)
{
	(void)ctx;
	if (kind == SMPFOTA_NOR_OP_ERASE && erases.n < 64) {
		erases.off[erases.n] = off;
		erases.len[erases.n++] = (uint32_t)len;
	}
}

/* A part with a larger erase unit (block_size): the server erases a whole block at once
 * where the image covers all of it, pages elsewhere (the block the image ends in). */
static void test_block_erase(void)
{
	static uint8_t img[40000];
	for (int with_blocks = 0; with_blocks < 2; with_blocks++) {
		setup();
		provision(0, img_a, len_a);
		reboot(false);
		/* old data all over the secondary, so that every page needs an erase */
		const struct smpfota_flash_area *sec = &tb.images[0].secondary;
		static uint8_t junk[SLOT0];
		memset(junk, 0x5a, sizeof(junk));
		CHECK_EQ(smpfota_flash_area_write(sec, 0, junk, sizeof(junk)), 0);
		nor0.flash.block_size = with_blocks ? 4 * P0 : 0;
		memset(&erases, 0, sizeof(erases));
		nor0.on_op = on_nor_op;
		size_t len = smpfota_emu_image_build(
			img, sizeof(img),
			&(struct smpfota_emu_image_spec){
				.body_size = 38000, .ver = {1, 5, 0, 0}, .seed = 12},
			NULL);
		struct smpfota_img_upload_rsp up = upload(0, img, len, 1500, 3);
		nor0.on_op = NULL;
		CHECK(smpfota_smp_status_ok(&up.status));
		static uint8_t back[sizeof(img)]; /* slot_holds() reads at most 20000 bytes */
		CHECK(smpfota_flash_area_read(sec, 0, back, len) == 0 &&
		      memcmp(back, img, len) == 0);
		/* the secondary starts at 52 KiB: the image covers the 16 KiB block at 64 KiB
		 * only (the one at 80 KiB runs past its end) */
		unsigned blocks = 0;
		for (unsigned i = 0; i < erases.n; i++) {
			if (erases.len[i] > P0) {
				CHECK_EQ(erases.len[i], 4 * P0);
				CHECK_EQ(erases.off[i], 16 * P0);
				blocks++;
			}
		}
		CHECK_EQ(blocks, with_blocks ? 1U : 0U);
		nor0.flash.block_size = 0;
	}
}

int main(void)
{
	RUN(test_os_group);
	RUN(test_bad_frames);
	RUN(test_factory_list);
	RUN(test_upload_refusals);
	RUN(test_upload_offsets_and_resume);
	RUN(test_unaligned_chunks);
	RUN(test_life_cycle);
	RUN(test_invalid_image_not_marked);
	RUN(test_unfinished_upload_not_marked);
	RUN(test_net_core_image);
	RUN(test_flash_failure);
	RUN(test_retained_record);
	RUN(test_end_of_upload_reads_nothing);
	RUN(test_end_of_upload_match);
	RUN(test_end_of_upload_refuses_bad_images);
	RUN(test_resume_ends_verified);
	RUN(test_reset_inside_a_request);
	RUN(test_image_check_shortcut_verifies);
	RUN(test_sha384_sha512_images);
	RUN(test_block_erase);
	printf("sizeof(struct smpfota_server) = %zu\n", sizeof(struct smpfota_server));
	return CHECK_SUMMARY();
}
