/*
 * SMP header and the OS/image group messages, described as field tables (see cbor.h).
 * Key names, types and which keys are required come from Zephyr's os_mgmt.c/img_mgmt.c as
 * summarised in shared/spec/smp.md §2-3.
 */
#include "smpfota/smp.h"

#include <string.h>

#include "smp_internal.h"
#include "util.h"

/* ---- header ---------------------------------------------------------------------------- */

void smpfota_smp_hdr_encode(const struct smpfota_smp_hdr *hdr, uint8_t out[SMPFOTA_SMP_HDR_SIZE])
{
	out[0] = (uint8_t)(((hdr->version & 0x3U) << 3) | (hdr->op & 0x7U));
	out[1] = hdr->flags;
	util_put_be16(out + 2, hdr->len);
	util_put_be16(out + 4, hdr->group);
	out[6] = hdr->seq;
	out[7] = hdr->id;
}

int smpfota_smp_hdr_decode(const uint8_t *buf, size_t len, struct smpfota_smp_hdr *hdr)
{
	if (len < SMPFOTA_SMP_HDR_SIZE || (buf[0] & 0xe0U) != 0) {
		return SMPFOTA_ERR_PROTO;
	}
	hdr->op = buf[0] & 0x7U;
	hdr->version = (buf[0] >> 3) & 0x3U;
	hdr->flags = buf[1];
	hdr->len = util_get_be16(buf + 2);
	hdr->group = util_get_be16(buf + 4);
	hdr->seq = buf[6];
	hdr->id = buf[7];
	if (hdr->op > SMPFOTA_SMP_OP_WRITE_RSP) {
		return SMPFOTA_ERR_PROTO;
	}
	if ((size_t)hdr->len > len - SMPFOTA_SMP_HDR_SIZE) {
		return SMPFOTA_ERR_PROTO;
	}
	return (int)(SMPFOTA_SMP_HDR_SIZE + hdr->len);
}

bool smpfota_smp_status_ok(const struct smpfota_smp_status *st)
{
	return st->rc == 0 && (!st->has_err || st->err.rc == 0);
}

/* ---- schema --------------------------------------------------------------------------- */

/*
 * Every map is a list of fields (X-macros, as nanopb's generated FIELDLISTs), expanded twice:
 * into the packed schema the codec walks (cbor.h: 6 bytes a field, a map a run of it), and
 * into the readable tables host tools walk (smp_internal.h; nothing in a device image calls
 * them, so --gc-sections drops them). Entries (key: a name from KEYS below):
 *   F(st, key, TYPE, member, flags)  a value without has_ flag; flags REQ or 0
 *   O(st, key, TYPE, member)         an optional value with its has_<member> flag
 *   M(st, key, member, has, SUB)     a nested map; has: OFF(st, has_<member>) or NO_HAS
 *   A(st, key, member, SUB, max)     a required array of up to max maps, with
 *                                    <member>_count and <member>_truncated
 */
#define NO_HAS SMPFOTA_CBOR_NO_HAS
#define REQ SMPFOTA_CBOR_F_REQUIRED

/* Table members are bytes: U8() fails the build for a value that does not fit. */
#define U8(x) ((uint8_t)((x) + 0 * sizeof(char[(x) < SMPFOTA_CBOR_NO_HAS ? 1 : -1])))
#define OFF(st, m) U8(offsetof(st, m))

/* The tables below are laid out by hand, one message per block. */
/* clang-format off */
/* Every key once. The schema names a key by its offset in one string of NUL-terminated
 * keys (2 bytes rather than a 4-byte pointer); key_layout gives the offsets. */
#define KEYS(K, K2) K(group) K(rc) K(rsn) K(err) K(d) K(r) K(force) K(boot_mode) K(buf_size) \
	K(buf_count) K(format) K(output) K(query) K(bootloader) K(mode) \
	K2(no_downgrade, "no-downgrade") K(image) K(slot) K(version) K(hash) K(bootable) \
	K(pending) K(confirmed) K(active) K(permanent) K(images) K(splitStatus) K(confirm) \
	K(data) K(len) K(off) K(sha) K(upgrade) K(match) K(size) K(upload_image_id) \
	K(max_image_size) K(slots)
#define KEY_STR(k) #k "\0"
#define KEY_STR2(k, s) s "\0"
const char smpfota_smp_keys[] = KEYS(KEY_STR, KEY_STR2);
#define KEY_SLOT(k) char k[sizeof(#k)];
#define KEY_SLOT2(k, s) char k[sizeof(s)];
struct key_layout {
	KEYS(KEY_SLOT, KEY_SLOT2)
};
#define KEY(k) offsetof(struct key_layout, k)

/* Keys every response may carry: v1 rc/rsn and v2 err (status is first in each rsp). */
#define ERR(F, O, M, A) \
	F(struct smpfota_smp_err, group, U16, group, REQ) \
	F(struct smpfota_smp_err, rc, I32, rc, REQ)
#define STATUS(F, O, M, A) \
	F(struct smpfota_smp_status, rc, I32, rc, 0) \
	F(struct smpfota_smp_status, rsn, TSTR, rsn, 0) \
	M(struct smpfota_smp_status, err, err, OFF(struct smpfota_smp_status, has_err), ERR)

/* Error bodies the server sends: v1 {"rc", "rsn"?} or v2 {"err": {"group", "rc"}}. */
struct err_body {
	int32_t rc;
	bool has_rsn;
	struct smpfota_str rsn;
	struct smpfota_smp_err err;
};
#define ERR_V1(F, O, M, A) \
	F(struct err_body, rc, I32, rc, 0) \
	O(struct err_body, rsn, TSTR, rsn)
#define ERR_V2(F, O, M, A) M(struct err_body, err, err, NO_HAS, ERR)

/* OS group */
#define ECHO_REQ(F, O, M, A) F(struct smpfota_os_echo_req, d, TSTR, d, REQ)
#define ECHO_RSP(F, O, M, A) F(struct smpfota_os_echo_rsp, r, TSTR, r, REQ)
#define RESET_REQ(F, O, M, A) \
	O(struct smpfota_os_reset_req, force, BOOL, force) \
	O(struct smpfota_os_reset_req, boot_mode, U32, boot_mode)
#define PARAMS_RSP(F, O, M, A) \
	F(struct smpfota_os_params_rsp, buf_size, U32, buf_size, REQ) \
	F(struct smpfota_os_params_rsp, buf_count, U32, buf_count, REQ)
#define INFO_REQ(F, O, M, A) O(struct smpfota_os_info_req, format, TSTR, format)
#define INFO_RSP(F, O, M, A) F(struct smpfota_os_info_rsp, output, TSTR, output, REQ)
#define BOOT_REQ(F, O, M, A) O(struct smpfota_os_bootloader_req, query, TSTR, query)
#define BOOT_RSP(F, O, M, A) \
	O(struct smpfota_os_bootloader_rsp, bootloader, TSTR, bootloader) \
	O(struct smpfota_os_bootloader_rsp, mode, I32, mode) \
	O(struct smpfota_os_bootloader_rsp, no_downgrade, BOOL, no_downgrade)

/* Image group */
#define SLOT_STATE(F, O, M, A) \
	O(struct smpfota_img_slot_state, image, U32, image) \
	F(struct smpfota_img_slot_state, slot, U32, slot, REQ) \
	F(struct smpfota_img_slot_state, version, TSTR, version, REQ) \
	O(struct smpfota_img_slot_state, hash, BSTR, hash) \
	F(struct smpfota_img_slot_state, bootable, BOOL, bootable, 0) \
	F(struct smpfota_img_slot_state, pending, BOOL, pending, 0) \
	F(struct smpfota_img_slot_state, confirmed, BOOL, confirmed, 0) \
	F(struct smpfota_img_slot_state, active, BOOL, active, 0) \
	F(struct smpfota_img_slot_state, permanent, BOOL, permanent, 0)
#define STATE_RSP(F, O, M, A) \
	A(struct smpfota_img_state_rsp, images, images, SLOT_STATE, SMPFOTA_SMP_MAX_IMAGES) \
	O(struct smpfota_img_state_rsp, splitStatus, I32, split_status)
#define STATE_WRITE_REQ(F, O, M, A) \
	O(struct smpfota_img_state_write_req, hash, BSTR, hash) \
	F(struct smpfota_img_state_write_req, confirm, BOOL, confirm, 0)
/* Key order as Zephyr's img_mgmt_client sends it: image, data, len, off, sha, upgrade. */
#define UPLOAD_REQ(F, O, M, A) \
	O(struct smpfota_img_upload_req, image, U32, image) \
	F(struct smpfota_img_upload_req, data, BSTR, data, REQ) \
	O(struct smpfota_img_upload_req, len, U32, len) \
	F(struct smpfota_img_upload_req, off, U32, off, REQ) \
	O(struct smpfota_img_upload_req, sha, BSTR, sha) \
	O(struct smpfota_img_upload_req, upgrade, BOOL, upgrade)
#define UPLOAD_RSP(F, O, M, A) \
	O(struct smpfota_img_upload_rsp, off, U32, off) \
	O(struct smpfota_img_upload_rsp, match, BOOL, match)
#define ERASE_REQ(F, O, M, A) O(struct smpfota_img_erase_req, slot, U32, slot)
#define SLOT_INFO_SLOT(F, O, M, A) \
	F(struct smpfota_img_slot_info_slot, slot, U32, slot, REQ) \
	F(struct smpfota_img_slot_info_slot, size, U32, size, REQ) \
	O(struct smpfota_img_slot_info_slot, upload_image_id, U32, upload_image_id)
/* A third slot per image is not an MCUboot layout; it is dropped silently. */
#define SLOT_INFO_IMAGE(F, O, M, A) \
	F(struct smpfota_img_slot_info_image, image, U32, image, REQ) \
	A(struct smpfota_img_slot_info_image, slots, slots, SLOT_INFO_SLOT, SMPFOTA_SMP_MAX_SLOTS) \
	O(struct smpfota_img_slot_info_image, max_image_size, U32, max_image_size)
#define SLOT_INFO_RSP(F, O, M, A) \
	A(struct smpfota_img_slot_info_rsp, images, images, SLOT_INFO_IMAGE, SMPFOTA_SMP_MAX_IMAGES)

/* Every map, nested ones before the maps that use them; the tools walk all but the error
 * bodies. */
#define TOOL_MAPS(X) X(ERR) X(STATUS) X(ECHO_REQ) X(ECHO_RSP) X(RESET_REQ) X(PARAMS_RSP) \
	X(INFO_REQ) X(INFO_RSP) X(BOOT_REQ) X(BOOT_RSP) X(SLOT_STATE) X(STATE_RSP) \
	X(STATE_WRITE_REQ) X(UPLOAD_REQ) X(UPLOAD_RSP) X(ERASE_REQ) X(SLOT_INFO_SLOT) \
	X(SLOT_INFO_IMAGE) X(SLOT_INFO_RSP)
#define MAPS(X) TOOL_MAPS(X) X(ERR_V1) X(ERR_V2)

/* Where each map starts in the schema. */
#define ONE(...) +1
#define COUNT(name) N_##name = 0 name(ONE, ONE, ONE, ONE),
enum { MAPS(COUNT) };
#define START(name) I_##name, I_##name##_LAST = I_##name + N_##name - 1,
enum { MAPS(START) N_ITEMS };
#define RANGE(name) {U8(I_##name), U8(N_##name)}
#define I_EMPTY 0
#define N_EMPTY 0

/* The packed schema; nested maps are named by their entry in smpfota_smp_subs[]. */
#define PF(st, k, t, m, fl) {.key = KEY(k), .off = OFF(st, m), .has_off = NO_HAS, \
		.kind = SMPFOTA_CBOR_##t | ((fl) ? SMPFOTA_CBOR_KIND_REQUIRED : 0)},
#define PO(st, k, t, m) {.key = KEY(k), .off = OFF(st, m), .has_off = OFF(st, has_##m), \
		.kind = SMPFOTA_CBOR_##t},
#define PM(st, k, m, has, sm) {.key = KEY(k), .off = OFF(st, m), .has_off = has, \
		.kind = SMPFOTA_CBOR_MAP, .sub = SUB_##sm},
#define PA(st, k, m, sm, max) {.key = KEY(k), .off = OFF(st, m), .has_off = NO_HAS, \
		.kind = SMPFOTA_CBOR_ARRAY | SMPFOTA_CBOR_KIND_REQUIRED, .sub = SUB_##sm},
#define PACKED(name) name(PF, PO, PM, PA)
enum { SUB_ERR, SUB_SLOT_STATE, SUB_SLOT_INFO_SLOT, SUB_SLOT_INFO_IMAGE };
const struct smpfota_cbor_item smpfota_smp_schema[N_ITEMS] = {MAPS(PACKED)};
/* clang-format on */

/* Nested maps: err (both uses hold a struct smpfota_smp_err), and each array's, from its
 * A() entry (an array's map serves that array alone). */
#define NOTHING(...)
#define SA(st, k, m, sm, max) \
	[SUB_##sm] = {.map = RANGE(sm), \
		      .elem_size = U8(sizeof(((st *)0)->m[0])), \
		      .max_elems = U8(max), \
		      .count_off = OFF(st, m##_count), \
		      .trunc_off = OFF(st, m##_truncated)},
#define SUBS(name) name(NOTHING, NOTHING, NOTHING, SA)
const struct smpfota_cbor_sub smpfota_smp_subs[] = {
	[SUB_ERR] = {.map = RANGE(ERR), .elem_size = sizeof(struct smpfota_smp_err)}, MAPS(SUBS)};

/* The readable tables (smp_internal.h). */
#define TKEY(k) (smpfota_smp_keys + KEY(k))
#define TF(st, k, t, m, fl) \
	{.key = TKEY(k), \
	 .type = SMPFOTA_CBOR_##t, \
	 .flags = fl, \
	 .off = OFF(st, m), \
	 .has_off = NO_HAS},
#define TO(st, k, t, m) \
	{.key = TKEY(k), .type = SMPFOTA_CBOR_##t, .off = OFF(st, m), .has_off = OFF(st, has_##m)},
#define TM(st, k, m, has, sm) \
	{.key = TKEY(k), \
	 .type = SMPFOTA_CBOR_MAP, \
	 .off = OFF(st, m), \
	 .has_off = has, \
	 .sub = &sm##_map, \
	 .elem_size = U8(sizeof(((st *)0)->m))},
#define TA(st, k, m, sm, max) \
	{.key = TKEY(k), \
	 .type = SMPFOTA_CBOR_ARRAY, \
	 .flags = REQ, \
	 .off = OFF(st, m), \
	 .has_off = NO_HAS, \
	 .sub = &sm##_map, \
	 .elem_size = U8(sizeof(((st *)0)->m[0])), \
	 .max_elems = U8(max), \
	 .count_off = OFF(st, m##_count), \
	 .trunc_off = OFF(st, m##_truncated)},
#define READABLE(name) \
	static const struct smpfota_cbor_field name##_fields[] = {name(TF, TO, TM, TA)}; \
	static const struct smpfota_cbor_map name##_map = { \
		name##_fields, U8(sizeof(name##_fields) / sizeof(name##_fields[0]))};
TOOL_MAPS(READABLE)
static const struct smpfota_cbor_map EMPTY_map = {NULL, 0};

/* ---- message kinds --------------------------------------------------------------------- */

struct msg_desc {
	struct smpfota_cbor_range req;
	struct smpfota_cbor_range rsp;
	uint16_t req_size;
	uint16_t rsp_size;
	uint8_t group;
	uint8_t id;
	uint8_t op; /* request op */
};

#define MSG(g, i, o, rq, rs, rqt, rst) \
	{ \
		RANGE(rq), RANGE(rs), sizeof(struct rqt), sizeof(struct rst), g, i, \
			SMPFOTA_SMP_OP_##o \
	}

/* Keep the message kinds' maps in one list, for the packed and the readable descriptors. */
#define MSGS(X) \
	X(OS_ECHO, 0, 0, WRITE, ECHO_REQ, ECHO_RSP, smpfota_os_echo_req, smpfota_os_echo_rsp) \
	X(OS_RESET, 0, 5, WRITE, RESET_REQ, EMPTY, smpfota_os_reset_req, smpfota_os_reset_rsp) \
	X(OS_PARAMS, 0, 6, READ, EMPTY, PARAMS_RSP, smpfota_os_params_req, smpfota_os_params_rsp) \
	X(OS_INFO, 0, 7, READ, INFO_REQ, INFO_RSP, smpfota_os_info_req, smpfota_os_info_rsp) \
	X(OS_BOOTLOADER, 0, 8, READ, BOOT_REQ, BOOT_RSP, smpfota_os_bootloader_req, \
	  smpfota_os_bootloader_rsp) \
	X(IMG_STATE_READ, 1, 0, READ, EMPTY, STATE_RSP, smpfota_img_state_read_req, \
	  smpfota_img_state_rsp) \
	X(IMG_STATE_WRITE, 1, 0, WRITE, STATE_WRITE_REQ, STATE_RSP, smpfota_img_state_write_req, \
	  smpfota_img_state_rsp) \
	X(IMG_UPLOAD, 1, 1, WRITE, UPLOAD_REQ, UPLOAD_RSP, smpfota_img_upload_req, \
	  smpfota_img_upload_rsp) \
	X(IMG_ERASE, 1, 5, WRITE, ERASE_REQ, EMPTY, smpfota_img_erase_req, smpfota_img_erase_rsp) \
	X(IMG_SLOT_INFO, 1, 6, READ, EMPTY, SLOT_INFO_RSP, smpfota_img_slot_info_req, \
	  smpfota_img_slot_info_rsp)

#define DESC(kind, g, i, o, rq, rs, rqt, rst) [SMPFOTA_MSG_##kind] = MSG(g, i, o, rq, rs, rqt, rst),
static const struct msg_desc msgs[SMPFOTA_MSG_COUNT] = {MSGS(DESC)};

#define READABLE_MSG(kind, g, i, o, rq, rs, rqt, rst) [SMPFOTA_MSG_##kind] = {&rq##_map, &rs##_map},
static const struct smpfota_cbor_map *const readable_msgs[SMPFOTA_MSG_COUNT][2] = {
	MSGS(READABLE_MSG)};

static const struct msg_desc *msg_get(enum smpfota_smp_msg msg)
{
	return ((unsigned)msg < SMPFOTA_MSG_COUNT) ? &msgs[msg] : NULL;
}

int smpfota_smp_msg_info(enum smpfota_smp_msg msg, uint16_t *group, uint8_t *id, uint8_t *op)
{
	const struct msg_desc *d = msg_get(msg);
	if (d == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	*group = d->group;
	*id = d->id;
	*op = d->op;
	return 0;
}

int smpfota_smp_msg_lookup(const struct smpfota_smp_hdr *hdr)
{
	uint8_t req_op = hdr->op & (uint8_t)~1U; /* a response's op is its request's + 1 */

	for (int m = 0; m < SMPFOTA_MSG_COUNT; m++) {
		if (msgs[m].group != hdr->group || msgs[m].id != hdr->id) {
			continue;
		}
		/* Zephyr handles echo as a read or a write. */
		if (msgs[m].op == req_op || m == SMPFOTA_MSG_OS_ECHO) {
			return m;
		}
	}
	return SMPFOTA_ERR_NOTSUP;
}

/* ---- frames ---------------------------------------------------------------------------- */

static int encode_frame(struct smpfota_cbor_range map, const void *body,
			struct smpfota_smp_hdr *hdr, uint8_t *buf, size_t size)
{
	if (buf == NULL || size < SMPFOTA_SMP_HDR_SIZE) {
		return SMPFOTA_ERR_NOSPC;
	}
	size_t room = size - SMPFOTA_SMP_HDR_SIZE;
	if (room > (size_t)UINT16_MAX + 1) {
		room = (size_t)UINT16_MAX + 1; /* one byte over: detect payloads too large */
	}
	int n = smpfota_cbor_encode_map(buf + SMPFOTA_SMP_HDR_SIZE, room, map, body);
	if (n < 0) {
		return room > UINT16_MAX ? SMPFOTA_ERR_MSGSIZE : n;
	}
	if (n > UINT16_MAX) {
		return SMPFOTA_ERR_MSGSIZE;
	}
	hdr->len = (uint16_t)n;
	smpfota_smp_hdr_encode(hdr, buf);
	return (int)SMPFOTA_SMP_HDR_SIZE + n;
}

int smpfota_smp_encode_req(enum smpfota_smp_msg msg, uint8_t version, uint8_t seq, const void *req,
			   uint8_t *buf, size_t size)
{
	const struct msg_desc *d = msg_get(msg);
	if (d == NULL || req == NULL || version > SMPFOTA_SMP_V2) {
		return SMPFOTA_ERR_INVAL;
	}
	struct smpfota_smp_hdr hdr = {
		.op = d->op, .version = version, .group = d->group, .seq = seq, .id = d->id};
	return encode_frame(d->req, req, &hdr, buf, size);
}

static void rsp_hdr(const struct smpfota_smp_hdr *req_hdr, struct smpfota_smp_hdr *hdr)
{
	/* As Zephyr's smp_make_rsp_hdr: op + 1, same group/id/seq, version capped at v2. */
	*hdr = *req_hdr;
	hdr->op = (uint8_t)(req_hdr->op | 1U);
	hdr->version = req_hdr->version > SMPFOTA_SMP_V2 ? SMPFOTA_SMP_V2 : req_hdr->version;
	hdr->flags = 0;
	hdr->len = 0;
}

int smpfota_smp_encode_rsp(enum smpfota_smp_msg msg, const struct smpfota_smp_hdr *req_hdr,
			   const void *rsp, uint8_t *buf, size_t size)
{
	const struct msg_desc *d = msg_get(msg);
	if (d == NULL || rsp == NULL || req_hdr == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	struct smpfota_smp_hdr hdr;
	rsp_hdr(req_hdr, &hdr);
	return encode_frame(d->rsp, rsp, &hdr, buf, size);
}

int smpfota_smp_encode_err(const struct smpfota_smp_hdr *req_hdr,
			   const struct smpfota_smp_status *st, uint8_t *buf, size_t size)
{
	if (req_hdr == NULL || st == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	struct smpfota_smp_hdr hdr;
	rsp_hdr(req_hdr, &hdr);
	struct err_body body = {
		.rc = st->rc, .has_rsn = st->rsn.len > 0, .rsn = st->rsn, .err = st->err};
	static const struct smpfota_cbor_range v1 = RANGE(ERR_V1), v2 = RANGE(ERR_V2);
	return encode_frame(st->has_err ? v2 : v1, &body, &hdr, buf, size);
}

int smpfota_smp_decode_rsp(enum smpfota_smp_msg msg, const uint8_t *payload, size_t len, void *rsp)
{
	const struct msg_desc *d = msg_get(msg);
	uint32_t seen;

	if (d == NULL || rsp == NULL || (payload == NULL && len > 0)) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(rsp, 0, d->rsp_size);
	int rc = smpfota_cbor_decode_map(payload, len, d->rsp,
					 (struct smpfota_cbor_range)RANGE(STATUS), rsp, &seen);
	if (rc != 0) {
		return rc;
	}
	/* An error response carries only the error; required keys matter on success. */
	if (smpfota_smp_status_ok((const struct smpfota_smp_status *)rsp)) {
		return smpfota_cbor_check_required(d->rsp, seen);
	}
	return 0;
}

int smpfota_smp_decode_req(enum smpfota_smp_msg msg, const uint8_t *payload, size_t len, void *req)
{
	const struct msg_desc *d = msg_get(msg);
	uint32_t seen;

	if (d == NULL || req == NULL || (payload == NULL && len > 0)) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(req, 0, d->req_size);
	int rc = smpfota_cbor_decode_map(payload, len, d->req,
					 (struct smpfota_cbor_range)RANGE(EMPTY), req, &seen);
	if (rc != 0) {
		return rc;
	}
	return smpfota_cbor_check_required(d->req, seen);
}

/* ---- upload sizing --------------------------------------------------------------------- */

/* Extra bytes the CBOR head of a byte string of length n needs beyond the 1-byte minimum. */
static size_t bstr_head_extra(size_t n)
{
	return n < 24 ? 0 : n <= 0xff ? 1 : n <= 0xffff ? 2 : 4;
}

int smpfota_smp_upload_max_data(const struct smpfota_img_upload_req *req, size_t frame_size)
{
	/* Largest possible request without data: every key present, a 32-byte sha, 5-byte ints. */
	uint8_t scratch[128];
	struct smpfota_img_upload_req probe = *req;

	probe.data.ptr = NULL;
	probe.data.len = 0;
	int overhead = smpfota_smp_encode_req(SMPFOTA_MSG_IMG_UPLOAD, SMPFOTA_SMP_V1, 0, &probe,
					      scratch, sizeof(scratch));
	if (overhead < 0) {
		return overhead == SMPFOTA_ERR_NOSPC ? SMPFOTA_ERR_INVAL : overhead;
	}
	if ((size_t)overhead > frame_size) {
		return SMPFOTA_ERR_NOSPC;
	}
	size_t avail = frame_size - (size_t)overhead;
	/* The payload length field is 16 bits. */
	size_t payload_room = UINT16_MAX - ((size_t)overhead - SMPFOTA_SMP_HDR_SIZE);
	if (avail > payload_room) {
		avail = payload_room;
	}
	/* The largest n that fits with its CBOR head; the head grows by 4 bytes at most, so
	 * this steps back 4 times at most. */
	size_t n = avail;
	while (n > 0 && n + bstr_head_extra(n) > avail) {
		n--;
	}
	return (int)n;
}

/* ---- error names ----------------------------------------------------------------------- */

#define NAME_AT(tab, i) (((i) >= 0 && (size_t)(i) < sizeof(tab) / sizeof(tab[0])) ? tab[i] : NULL)

#if SMPFOTA_CONFIG_ERROR_NAMES

static const char *const mgmt_names[] = {"EOK",
					 "EUNKNOWN",
					 "ENOMEM",
					 "EINVAL",
					 "ETIMEOUT",
					 "ENOENT",
					 "EBADSTATE",
					 "EMSGSIZE",
					 "ENOTSUP",
					 "ECORRUPT",
					 "EBUSY",
					 "EACCESSDENIED",
					 "UNSUPPORTED_TOO_OLD",
					 "UNSUPPORTED_TOO_NEW"};
static const char *const img_names[] = {"OK",
					"UNKNOWN",
					"FLASH_CONFIG_QUERY_FAIL",
					"NO_IMAGE",
					"NO_TLVS",
					"INVALID_TLV",
					"TLV_MULTIPLE_HASHES_FOUND",
					"TLV_INVALID_SIZE",
					"HASH_NOT_FOUND",
					"NO_FREE_SLOT",
					"FLASH_OPEN_FAILED",
					"FLASH_READ_FAILED",
					"FLASH_WRITE_FAILED",
					"FLASH_ERASE_FAILED",
					"INVALID_SLOT",
					"NO_FREE_MEMORY",
					"FLASH_CONTEXT_ALREADY_SET",
					"FLASH_CONTEXT_NOT_SET",
					"FLASH_AREA_DEVICE_NULL",
					"INVALID_PAGE_OFFSET",
					"INVALID_OFFSET",
					"INVALID_LENGTH",
					"INVALID_IMAGE_HEADER",
					"INVALID_IMAGE_HEADER_MAGIC",
					"INVALID_HASH",
					"INVALID_FLASH_ADDRESS",
					"VERSION_GET_FAILED",
					"CURRENT_VERSION_IS_NEWER",
					"IMAGE_ALREADY_PENDING",
					"INVALID_IMAGE_VECTOR_TABLE",
					"INVALID_IMAGE_TOO_LARGE",
					"INVALID_IMAGE_DATA_OVERRUN",
					"IMAGE_CONFIRMATION_DENIED",
					"IMAGE_SETTING_TEST_TO_ACTIVE_DENIED",
					"ACTIVE_SLOT_NOT_KNOWN"};
static const char *const os_names[] = {"OK",
				       "UNKNOWN",
				       "INVALID_FORMAT",
				       "QUERY_YIELDS_NO_ANSWER",
				       "RTC_NOT_SET",
				       "RTC_COMMAND_FAILED",
				       "QUERY_RESPONSE_VALUE_NOT_VALID"};

const char *smpfota_mgmt_err_name(uint16_t group, int32_t rc, bool v2)
{
	if (!v2) {
		return rc == SMPFOTA_MGMT_EPERUSER ? "EPERUSER" : NAME_AT(mgmt_names, rc);
	}
	if (group == SMPFOTA_SMP_GROUP_IMAGE) {
		return NAME_AT(img_names, rc);
	}
	if (group == SMPFOTA_SMP_GROUP_OS) {
		return NAME_AT(os_names, rc);
	}
	return NULL;
}

#else /* !SMPFOTA_CONFIG_ERROR_NAMES: a device logs the numbers */

const char *smpfota_mgmt_err_name(uint16_t group, int32_t rc, bool v2)
{
	(void)group;
	(void)rc;
	(void)v2;
	return NULL;
}

#endif

/* ---- MCUboot modes ------------------------------------------------------------------------ */

const char *smpfota_mcuboot_mode_name(int32_t mode)
{
	static const char *const names[] = {
		"single slot",      "swap using scratch", "overwrite only",
		"swap using move",  "direct-xip",         "direct-xip with revert",
		"RAM load",         "firmware loader",    "single slot RAM load",
		"swap using offset"};
	return NAME_AT(names, mode);
}

/* ---- tables for tools (smp_internal.h) -------------------------------------------------- */

const struct smpfota_cbor_map *smpfota_smp_msg_map(enum smpfota_smp_msg msg, bool rsp)
{
	return msg_get(msg) == NULL ? NULL : readable_msgs[msg][rsp];
}

const struct smpfota_cbor_map *smpfota_smp_status_map(void)
{
	return &STATUS_map;
}

size_t smpfota_smp_msg_size(enum smpfota_smp_msg msg, bool rsp)
{
	const struct msg_desc *d = msg_get(msg);
	return d == NULL ? 0 : rsp ? d->rsp_size : d->req_size;
}
