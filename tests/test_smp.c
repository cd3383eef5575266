/* SMP codec unit tests: header, hand-written bytes as real servers send them, round trips,
 * error formats, buffer limits and the upload sizing helper. */
#include <stdlib.h>

#include "check.h"
#include "smpfota/smp.h"

/* Parse a hex string (spaces ignored) into buf; returns length. */
static size_t hex(const char *s, uint8_t *buf)
{
	size_t n = 0;
	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		unsigned v;
		sscanf(s, "%2x", &v);
		buf[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static int dec_rsp_hex(enum smpfota_smp_msg m, const char *h, void *rsp)
{
	static uint8_t buf[1024];
	size_t n = hex(h, buf);
	return smpfota_smp_decode_rsp(m, buf, n, rsp);
}

static void test_header(void)
{
	uint8_t b[8];
	struct smpfota_smp_hdr h = {.op = SMPFOTA_SMP_OP_WRITE,
				    .version = SMPFOTA_SMP_V2,
				    .len = 0x1234,
				    .group = 0x0102,
				    .seq = 7,
				    .id = 1};
	smpfota_smp_hdr_encode(&h, b);
	uint8_t want[8] = {0x0a, 0x00, 0x12, 0x34, 0x01, 0x02, 0x07, 0x01};
	CHECK_MEM(b, want, 8);

	h.op = SMPFOTA_SMP_OP_READ;
	smpfota_smp_hdr_encode(&h, b);
	CHECK_EQ(b[0], 0x08);
	h.version = SMPFOTA_SMP_V1;
	h.op = SMPFOTA_SMP_OP_WRITE;
	smpfota_smp_hdr_encode(&h, b);
	CHECK_EQ(b[0], 0x02);
	h.version = SMPFOTA_SMP_V2;
	h.op = SMPFOTA_SMP_OP_WRITE_RSP;
	smpfota_smp_hdr_encode(&h, b);
	CHECK_EQ(b[0], 0x0b);

	uint8_t frame[12] = {0x0b, 0x00, 0x00, 0x04, 0x00, 0x01, 0x2a, 0x01, 0xa0, 0, 0, 0};
	struct smpfota_smp_hdr d;
	CHECK_EQ(smpfota_smp_hdr_decode(frame, 12, &d), 12);
	CHECK_EQ(d.op, 3);
	CHECK_EQ(d.version, 1);
	CHECK_EQ(d.len, 4);
	CHECK_EQ(d.group, 1);
	CHECK_EQ(d.seq, 0x2a);
	CHECK_EQ(d.id, 1);
	/* Longer buffer (concatenated frames) is fine: the frame length is returned. */
	frame[3] = 1;
	CHECK_EQ(smpfota_smp_hdr_decode(frame, 12, &d), 9);
	/* Length past the end, short header, reserved bits. */
	frame[3] = 5;
	CHECK_EQ(smpfota_smp_hdr_decode(frame, 12, &d), SMPFOTA_ERR_PROTO);
	frame[3] = 0;
	CHECK_EQ(smpfota_smp_hdr_decode(frame, 7, &d), SMPFOTA_ERR_PROTO);
	frame[0] = 0x2b;
	CHECK_EQ(smpfota_smp_hdr_decode(frame, 12, &d), SMPFOTA_ERR_PROTO);
}

static void test_indefinite_maps(void)
{
	struct smpfota_img_upload_rsp u;
	/* {_ "off": 256 } as Zephyr's zcbor (non-canonical) writes it */
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_IMG_UPLOAD, "bf 63 6f 66 66 19 01 00 ff", &u), 0);
	CHECK(smpfota_smp_status_ok(&u.status));
	CHECK(u.has_off);
	CHECK_EQ(u.off, 256);
	CHECK(!u.has_match);
	/* definite, with match and legacy "rc": 0 (CONFIG_MCUMGR_SMP_LEGACY_RC_BEHAVIOUR) */
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_IMG_UPLOAD,
			     "a3 62 72 63 00 63 6f 66 66 1a 00 01 00 00 65 6d 61 74 63 68 f5", &u),
		 0);
	CHECK(smpfota_smp_status_ok(&u.status));
	CHECK_EQ(u.off, 65536);
	CHECK(u.has_match && u.match);

	/* image list: indefinite outer map, indefinite array, frugal entries, any key order */
	struct smpfota_img_state_rsp s;
	const char *list = "bf 66 69 6d 61 67 65 73 9f"
			   /* {_ "slot":0, "version":"1.2.3", "hash": h'01'*32, "active": true,
		 *    "confirmed": true, "bootable": true } */
			   "bf 64 73 6c 6f 74 00 67 76 65 72 73 69 6f 6e 65 31 2e 32 2e 33"
			   " 64 68 61 73 68 58 20"
			   " 01010101010101010101010101010101 01010101010101010101010101010101"
			   " 66 61 63 74 69 76 65 f5 69 63 6f 6e 66 69 72 6d 65 64 f5"
			   " 68 62 6f 6f 74 61 62 6c 65 f5 ff"
			   /* { "version":"1.2.4", "image":0, "slot":1, "pending": true } */
			   "a4 67 76 65 72 73 69 6f 6e 65 31 2e 32 2e 34 65 69 6d 61 67 65 00"
			   " 64 73 6c 6f 74 01 67 70 65 6e 64 69 6e 67 f5"
			   " ff 6b 73 70 6c 69 74 53 74 61 74 75 73 00 ff";
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_IMG_STATE_READ, list, &s), 0);
	CHECK_EQ(s.images_count, 2);
	CHECK(!s.images_truncated);
	CHECK(s.has_split_status);
	CHECK_EQ(s.images[0].slot, 0);
	CHECK(!s.images[0].has_image);
	CHECK_STR(s.images[0].version, "1.2.3");
	CHECK(s.images[0].has_hash && s.images[0].hash.len == 32 && s.images[0].hash.ptr[31] == 1);
	CHECK(s.images[0].active && s.images[0].confirmed && s.images[0].bootable);
	CHECK(!s.images[0].pending && !s.images[0].permanent);
	CHECK(s.images[1].has_image && s.images[1].image == 0);
	CHECK_EQ(s.images[1].slot, 1);
	CHECK(s.images[1].pending && !s.images[1].active);
	CHECK(!s.images[1].has_hash);
}

static void test_errors_v1_v2(void)
{
	struct smpfota_img_upload_rsp u;
	/* v1: {"rc": 3} */
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_IMG_UPLOAD, "a1 62 72 63 03", &u), 0);
	CHECK(!smpfota_smp_status_ok(&u.status));
	CHECK_EQ(u.status.rc, SMPFOTA_MGMT_EINVAL);
	CHECK(!u.has_off); /* required keys are not demanded of an error response */
	/* v1 with reason: {"rc": 6, "rsn": "downgrade"} */
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_IMG_UPLOAD,
			     "a2 62 72 63 06 63 72 73 6e 69 64 6f 77 6e 67 72 61 64 65", &u),
		 0);
	CHECK_EQ(u.status.rc, 6);
	CHECK_STR(u.status.rsn, "downgrade");
	/* v2: {"err": {"group": 1, "rc": 9}} */
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_IMG_UPLOAD,
			     "a1 63 65 72 72 a2 65 67 72 6f 75 70 01 62 72 63 09", &u),
		 0);
	CHECK(!smpfota_smp_status_ok(&u.status));
	CHECK_EQ(u.status.rc, 0);
	CHECK(u.status.has_err);
	CHECK_EQ(u.status.err.group, 1);
	CHECK_EQ(u.status.err.rc, 9);
	CHECK(!strcmp(smpfota_mgmt_err_name(1, 9, true), "NO_FREE_SLOT"));
	CHECK(!strcmp(smpfota_mgmt_err_name(0, 8, false), "ENOTSUP"));
	/* v2, indefinite inner map, rc before group */
	struct smpfota_os_echo_rsp e;
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_ECHO,
			     "bf 63 65 72 72 bf 62 72 63 02 65 67 72 6f 75 70 00 ff ff", &e),
		 0);
	CHECK(e.status.has_err);
	CHECK_EQ(e.status.err.group, 0);
	CHECK_EQ(e.status.err.rc, 2);
	/* v2 err with rc 0 counts as success (and then requires "r") */
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_ECHO,
			     "a1 63 65 72 72 a2 65 67 72 6f 75 70 00 62 72 63 00", &e),
		 SMPFOTA_ERR_PROTO);
	/* err map lacking "rc" is malformed */
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_ECHO, "a1 63 65 72 72 a1 65 67 72 6f 75 70 00", &e),
		 SMPFOTA_ERR_PROTO);
}

static void test_unknown_and_malformed(void)
{
	struct smpfota_os_params_rsp p;
	/* unknown keys with nested values, an int key and a tag, around the known ones */
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_PARAMS,
			     "bf 61 78 a1 61 79 82 01 bf ff"         /* "x": {"y": [1, {_}]} */
			     " 01 c1 1a 00 00 00 01"                 /* 1: 1(1) */
			     " 68 62 75 66 5f 73 69 7a 65 19 09 60"  /* buf_size: 2400 */
			     " 69 62 75 66 5f 63 6f 75 6e 74 04 ff", /* buf_count: 4 */
			     &p),
		 0);
	CHECK_EQ(p.buf_size, 2400);
	CHECK_EQ(p.buf_count, 4);
	/* required key missing on success */
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_PARAMS, "a1 68 62 75 66 5f 73 69 7a 65 19 09 60", &p),
		 SMPFOTA_ERR_PROTO);
	/* wrong type for a known key */
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_PARAMS,
			     "a2 68 62 75 66 5f 73 69 7a 65 61 31 69 62 75 66 5f 63 6f 75 6e 74 04",
			     &p),
		 SMPFOTA_ERR_PROTO);
	/* not a map, empty, truncated, trailing garbage, unterminated indefinite map */
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_RESET, "80", &p), SMPFOTA_ERR_PROTO);
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_RESET, "", &p), SMPFOTA_ERR_PROTO);
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_RESET, "a1 62 72", &p), SMPFOTA_ERR_PROTO);
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_RESET, "a0 00", &p), SMPFOTA_ERR_PROTO);
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_RESET, "bf 61 78 01", &p), SMPFOTA_ERR_PROTO);
	/* empty map is a valid reset response */
	struct smpfota_os_reset_rsp r;
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_RESET, "a0", &r), 0);
	CHECK(smpfota_smp_status_ok(&r.status));
	CHECK_EQ(dec_rsp_hex(SMPFOTA_MSG_OS_RESET, "bf ff", &r), 0);

	/* nesting: depth within the limit is skipped, beyond it is refused, never recursed */
	uint8_t deep[64];
	size_t n = 0;
	deep[n++] = 0xa1;
	deep[n++] = 0x61;
	deep[n++] = 'x';
	for (int i = 0; i < SMPFOTA_SMP_MAX_DEPTH - 1; i++) {
		deep[n++] = 0x81; /* [ */
	}
	deep[n++] = 0x00;
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_OS_RESET, deep, n, &r), 0);
	n = 0;
	deep[n++] = 0xa1;
	deep[n++] = 0x61;
	deep[n++] = 'x';
	for (int i = 0; i < SMPFOTA_SMP_MAX_DEPTH; i++) {
		deep[n++] = 0x81;
	}
	deep[n++] = 0x00;
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_OS_RESET, deep, n, &r), SMPFOTA_ERR_PROTO);
}

static void test_truncated_list(void)
{
	/* SMPFOTA_SMP_MAX_IMAGES + 1 entries: the extra one is counted as truncation. */
	uint8_t buf[512];
	size_t n = 0;
	n += hex("a1 66 69 6d 61 67 65 73", buf + n);
	buf[n++] = (uint8_t)(0x80 + SMPFOTA_SMP_MAX_IMAGES + 1);
	for (int i = 0; i <= SMPFOTA_SMP_MAX_IMAGES; i++) {
		n += hex("a2 64 73 6c 6f 74", buf + n);
		buf[n++] = (uint8_t)i;
		n += hex("67 76 65 72 73 69 6f 6e 61 31", buf + n);
	}
	struct smpfota_img_state_rsp s;
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_IMG_STATE_READ, buf, n, &s), 0);
	CHECK_EQ(s.images_count, SMPFOTA_SMP_MAX_IMAGES);
	CHECK(s.images_truncated);
	CHECK_EQ(s.images[SMPFOTA_SMP_MAX_IMAGES - 1].slot, SMPFOTA_SMP_MAX_IMAGES - 1);
	/* an entry without "version" is malformed */
	n = hex("a1 66 69 6d 61 67 65 73 81 a1 64 73 6c 6f 74 00", buf);
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_IMG_STATE_READ, buf, n, &s), SMPFOTA_ERR_PROTO);
}

static const uint8_t sha32[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
				  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t chunk[5] = {0xde, 0xad, 0xbe, 0xef, 0x00};

/* Encode a request, then decode the frame as a server would. */
static int req_roundtrip(enum smpfota_smp_msg m, const void *in, void *out, uint8_t *frame)
{
	int n = smpfota_smp_encode_req(m, SMPFOTA_SMP_V2, 0x5a, in, frame, 512);
	CHECK(n >= (int)SMPFOTA_SMP_HDR_SIZE);
	if (n < 0) {
		return n;
	}
	struct smpfota_smp_hdr h;
	CHECK_EQ(smpfota_smp_hdr_decode(frame, (size_t)n, &h), n);
	CHECK_EQ(h.seq, 0x5a);
	CHECK_EQ(h.version, SMPFOTA_SMP_V2);
	CHECK_EQ(smpfota_smp_msg_lookup(&h), m);
	return smpfota_smp_decode_req(m, frame + 8, h.len, out);
}

static void test_request_roundtrips(void)
{
	static uint8_t frame[512];
	union smpfota_smp_req out;

	struct smpfota_img_upload_req up = {.has_image = true,
					    .image = 1,
					    .has_len = true,
					    .len = 123456,
					    .off = 0,
					    .has_sha = true,
					    .sha = {sha32, 32},
					    .data = {chunk, 5},
					    .has_upgrade = true,
					    .upgrade = true};
	CHECK_EQ(req_roundtrip(SMPFOTA_MSG_IMG_UPLOAD, &up, &out, frame), 0);
	CHECK(out.upload.has_image && out.upload.image == 1);
	CHECK(out.upload.has_len && out.upload.len == 123456);
	CHECK_EQ(out.upload.off, 0);
	CHECK(out.upload.has_sha && out.upload.sha.len == 32);
	CHECK_MEM(out.upload.sha.ptr, sha32, 32);
	CHECK(out.upload.data.len == 5 && !memcmp(out.upload.data.ptr, chunk, 5));
	CHECK(out.upload.has_upgrade && out.upload.upgrade);
	/* later chunk: only off and data */
	struct smpfota_img_upload_req up2 = {.off = 4096, .data = {chunk, 5}};
	CHECK_EQ(req_roundtrip(SMPFOTA_MSG_IMG_UPLOAD, &up2, &out, frame), 0);
	CHECK(!out.upload.has_len && !out.upload.has_sha && !out.upload.has_image);
	CHECK_EQ(out.upload.off, 4096);

	struct smpfota_img_state_write_req sw = {.has_hash = true, .hash = {sha32, 32}};
	CHECK_EQ(req_roundtrip(SMPFOTA_MSG_IMG_STATE_WRITE, &sw, &out, frame), 0);
	CHECK(out.state_write.has_hash && !out.state_write.confirm);
	struct smpfota_img_state_write_req conf = {.confirm = true};
	CHECK_EQ(req_roundtrip(SMPFOTA_MSG_IMG_STATE_WRITE, &conf, &out, frame), 0);
	CHECK(!out.state_write.has_hash && out.state_write.confirm);

	struct smpfota_os_echo_req echo = {.d = {"hello", 5}};
	CHECK_EQ(req_roundtrip(SMPFOTA_MSG_OS_ECHO, &echo, &out, frame), 0);
	CHECK_STR(out.echo.d, "hello");
	struct smpfota_os_reset_req rst = {.has_force = true, .force = true};
	CHECK_EQ(req_roundtrip(SMPFOTA_MSG_OS_RESET, &rst, &out, frame), 0);
	CHECK(out.reset.has_force && out.reset.force && !out.reset.has_boot_mode);
	struct smpfota_os_info_req info = {.has_format = true, .format = {"sv", 2}};
	CHECK_EQ(req_roundtrip(SMPFOTA_MSG_OS_INFO, &info, &out, frame), 0);
	CHECK_STR(out.info.format, "sv");
	struct smpfota_img_erase_req er = {.has_slot = true, .slot = 3};
	CHECK_EQ(req_roundtrip(SMPFOTA_MSG_IMG_ERASE, &er, &out, frame), 0);
	CHECK(out.erase.has_slot && out.erase.slot == 3);
	struct smpfota_os_params_req pr = {0};
	CHECK_EQ(req_roundtrip(SMPFOTA_MSG_OS_PARAMS, &pr, &out, frame), 0);
	CHECK_EQ(frame[8], 0xa0); /* empty map */

	/* a server must see an upload without "off" as malformed (Zephyr: EINVAL) */
	uint8_t noff[] = {0xa1, 0x64, 'd', 'a', 't', 'a', 0x40};
	CHECK_EQ(smpfota_smp_decode_req(SMPFOTA_MSG_IMG_UPLOAD, noff, sizeof(noff), &out),
		 SMPFOTA_ERR_PROTO);
	/* smp (Python) sends reset "force" as an int */
	uint8_t force_int[] = {0xa1, 0x65, 'f', 'o', 'r', 'c', 'e', 0x01};
	CHECK_EQ(smpfota_smp_decode_req(SMPFOTA_MSG_OS_RESET, force_int, sizeof(force_int), &out),
		 0);
	CHECK(out.reset.has_force && out.reset.force);
}

static void test_response_roundtrips(void)
{
	static uint8_t frame[1024];
	struct smpfota_smp_hdr req = {.op = SMPFOTA_SMP_OP_READ,
				      .version = SMPFOTA_SMP_V2,
				      .group = 1,
				      .id = 0,
				      .seq = 200};
	struct smpfota_img_state_rsp st = {.images_count = 2};
	st.images[0] = (struct smpfota_img_slot_state){.slot = 0,
						       .version = {"1.0.0", 5},
						       .has_hash = true,
						       .hash = {sha32, 32},
						       .bootable = true,
						       .confirmed = true,
						       .active = true};
	st.images[1] = (struct smpfota_img_slot_state){.has_image = true,
						       .image = 0,
						       .slot = 1,
						       .version = {"1.0.1.7", 7},
						       .has_hash = true,
						       .hash = {sha32, 32},
						       .pending = true};
	int n = smpfota_smp_encode_rsp(SMPFOTA_MSG_IMG_STATE_READ, &req, &st, frame, sizeof(frame));
	CHECK(n > 8);
	struct smpfota_smp_hdr h;
	CHECK_EQ(smpfota_smp_hdr_decode(frame, (size_t)n, &h), n);
	CHECK_EQ(h.op, SMPFOTA_SMP_OP_READ_RSP);
	CHECK_EQ(h.seq, 200);
	CHECK_EQ(h.group, 1);
	CHECK_EQ(smpfota_smp_msg_lookup(&h), SMPFOTA_MSG_IMG_STATE_READ);
	struct smpfota_img_state_rsp back;
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_IMG_STATE_READ, frame + 8, h.len, &back), 0);
	CHECK_EQ(back.images_count, 2);
	CHECK_STR(back.images[1].version, "1.0.1.7");
	CHECK(back.images[1].pending && back.images[1].has_image);
	CHECK(back.images[0].active && !back.images[0].has_image);

	struct smpfota_img_slot_info_rsp si = {.images_count = 1};
	si.images[0] = (struct smpfota_img_slot_info_image){.image = 0,
							    .slots_count = 2,
							    .has_max_image_size = true,
							    .max_image_size = 0x70000};
	si.images[0].slots[0] = (struct smpfota_img_slot_info_slot){.slot = 0, .size = 0x74000};
	si.images[0].slots[1] = (struct smpfota_img_slot_info_slot){
		.slot = 1, .size = 0x74000, .has_upload_image_id = true, .upload_image_id = 0};
	req.id = 6;
	n = smpfota_smp_encode_rsp(SMPFOTA_MSG_IMG_SLOT_INFO, &req, &si, frame, sizeof(frame));
	CHECK(n > 8);
	struct smpfota_img_slot_info_rsp sb;
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_IMG_SLOT_INFO, frame + 8, (size_t)n - 8, &sb),
		 0);
	CHECK_EQ(sb.images_count, 1);
	CHECK_EQ(sb.images[0].slots_count, 2);
	CHECK_EQ(sb.images[0].slots[1].size, 0x74000);
	CHECK(sb.images[0].slots[1].has_upload_image_id);
	CHECK(!sb.images[0].slots[0].has_upload_image_id);
	CHECK_EQ(sb.images[0].max_image_size, 0x70000);

	/* errors: v1 and v2 bodies */
	req.op = SMPFOTA_SMP_OP_WRITE;
	req.id = 1;
	struct smpfota_smp_status e1 = {.rc = SMPFOTA_MGMT_EBADSTATE, .rsn = {"downgrade", 9}};
	n = smpfota_smp_encode_err(&req, &e1, frame, sizeof(frame));
	CHECK(n > 8);
	CHECK_EQ(frame[0] & 7, SMPFOTA_SMP_OP_WRITE_RSP);
	struct smpfota_img_upload_rsp ub;
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_IMG_UPLOAD, frame + 8, (size_t)n - 8, &ub), 0);
	CHECK_EQ(ub.status.rc, SMPFOTA_MGMT_EBADSTATE);
	CHECK_STR(ub.status.rsn, "downgrade");
	struct smpfota_smp_status e2 = {.has_err = true, .err = {.group = 1, .rc = 28}};
	n = smpfota_smp_encode_err(&req, &e2, frame, sizeof(frame));
	CHECK_EQ(smpfota_smp_decode_rsp(SMPFOTA_MSG_IMG_UPLOAD, frame + 8, (size_t)n - 8, &ub), 0);
	CHECK(ub.status.has_err && ub.status.err.group == 1 && ub.status.err.rc == 28);
	CHECK_EQ(ub.status.rc, 0);

	/* v1 request gets a v1 response header */
	req.version = SMPFOTA_SMP_V1;
	n = smpfota_smp_encode_err(&req, &e1, frame, sizeof(frame));
	CHECK_EQ(frame[0], 0x03);
}

static void test_nospc(void)
{
	/* Every buffer size below the needed one fails cleanly (ASan checks no overrun). */
	struct smpfota_img_upload_req up = {.has_len = true,
					    .len = 1000,
					    .has_sha = true,
					    .sha = {sha32, 32},
					    .data = {chunk, 5}};
	uint8_t full[256];
	int need = smpfota_smp_encode_req(SMPFOTA_MSG_IMG_UPLOAD, 1, 0, &up, full, sizeof(full));
	CHECK(need > 8);
	for (int size = 0; size < need; size++) {
		uint8_t *b = malloc((size_t)size + 1);
		int rc = smpfota_smp_encode_req(SMPFOTA_MSG_IMG_UPLOAD, 1, 0, &up, b, (size_t)size);
		CHECK_EQ(rc, SMPFOTA_ERR_NOSPC);
		free(b);
	}
	CHECK_EQ(smpfota_smp_encode_req(SMPFOTA_MSG_COUNT, 1, 0, &up, full, sizeof(full)),
		 SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_smp_encode_req(SMPFOTA_MSG_IMG_UPLOAD, 2, 0, &up, full, sizeof(full)),
		 SMPFOTA_ERR_INVAL);
}

static void test_upload_max_data(void)
{
	/* For many frame sizes and offsets: n bytes fit, n + 1 do not. */
	static uint8_t data[70000];
	static uint8_t frame[70100];
	const uint32_t offs[] = {0, 23, 24, 255, 256, 65535, 65536, 0xfffffff0};
	for (size_t oi = 0; oi < sizeof(offs) / sizeof(offs[0]); oi++) {
		for (int first = 0; first < 2; first++) {
			struct smpfota_img_upload_req r = {.off = offs[oi]};
			if (first) {
				r.has_len = r.has_sha = r.has_image = r.has_upgrade = true;
				r.len = 0x123456;
				r.sha = (struct smpfota_bytes){sha32, 32};
				r.image = 1;
			}
			for (size_t fs = 20; fs < 70100; fs += (fs < 600 ? 1 : 997)) {
				int n = smpfota_smp_upload_max_data(&r, fs);
				if (n < 0) {
					CHECK_EQ(n, SMPFOTA_ERR_NOSPC);
					continue;
				}
				r.data = (struct smpfota_bytes){data, (size_t)n};
				int len = smpfota_smp_encode_req(SMPFOTA_MSG_IMG_UPLOAD, 1, 0, &r,
								 frame, sizeof(frame));
				if (len < 0 || (size_t)len > fs) {
					fprintf(stderr, "fs=%zu n=%d len=%d\n", fs, n, len);
				}
				CHECK(len > 0 && (size_t)len <= fs);
				r.data.len = (size_t)n + 1;
				len = smpfota_smp_encode_req(SMPFOTA_MSG_IMG_UPLOAD, 1, 0, &r,
							     frame, sizeof(frame));
				CHECK(len < 0 || (size_t)len > fs);
			}
		}
	}
	/* Too small for even the keys. */
	struct smpfota_img_upload_req r = {.off = 0};
	CHECK_EQ(smpfota_smp_upload_max_data(&r, 10), SMPFOTA_ERR_NOSPC);
}

int main(void)
{
	RUN(test_header);
	RUN(test_indefinite_maps);
	RUN(test_errors_v1_v2);
	RUN(test_unknown_and_malformed);
	RUN(test_truncated_list);
	RUN(test_request_roundtrips);
	RUN(test_response_roundtrips);
	RUN(test_nospc);
	RUN(test_upload_max_data);
	return CHECK_SUMMARY();
}
