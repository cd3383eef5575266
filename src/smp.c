/*
 * SMP header and the OS/image group messages, described as field tables (see cbor.h).
 * Key names, types and which keys are required come from Zephyr's os_mgmt.c/img_mgmt.c as
 * summarised in shared/spec/smp.md §2-3.
 */
#include "smpfota/smp.h"

#include <string.h>

#include "smp_internal.h"

/* ---- header ---------------------------------------------------------------------------- */

void smpfota_smp_hdr_encode(const struct smpfota_smp_hdr *hdr, uint8_t out[SMPFOTA_SMP_HDR_SIZE])
{
	out[0] = (uint8_t)(((hdr->version & 0x3U) << 3) | (hdr->op & 0x7U));
	out[1] = hdr->flags;
	out[2] = (uint8_t)(hdr->len >> 8);
	out[3] = (uint8_t)hdr->len;
	out[4] = (uint8_t)(hdr->group >> 8);
	out[5] = (uint8_t)hdr->group;
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
	hdr->len = (uint16_t)((buf[2] << 8) | buf[3]);
	hdr->group = (uint16_t)((buf[4] << 8) | buf[5]);
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

/* ---- field tables ---------------------------------------------------------------------- */

#define NO_HAS SMPFOTA_CBOR_NO_HAS
#define REQ SMPFOTA_CBOR_F_REQUIRED

/* A field with no has_ flag, and one with a has_<member> flag. */
#define F(st, k, t, m, fl) {.key = k, .type = SMPFOTA_CBOR_##t, .flags = fl, \
		.off = offsetof(st, m), .has_off = NO_HAS}
#define FO(st, k, t, m) {.key = k, .type = SMPFOTA_CBOR_##t, \
		.off = offsetof(st, m), .has_off = offsetof(st, has_##m)}
#define MAP_OF(fields) {fields, (uint8_t)(sizeof(fields) / sizeof(fields[0]))}

/* Keys every response may carry: v1 rc/rsn and v2 err (status is first in each rsp). */
static const struct smpfota_cbor_field err_fields[] = {
	F(struct smpfota_smp_err, "group", U16, group, REQ),
	F(struct smpfota_smp_err, "rc", I32, rc, REQ),
};
static const struct smpfota_cbor_map err_map = MAP_OF(err_fields);
static const struct smpfota_cbor_field status_fields[] = {
	F(struct smpfota_smp_status, "rc", I32, rc, 0),
	F(struct smpfota_smp_status, "rsn", TSTR, rsn, 0),
	{.key = "err", .type = SMPFOTA_CBOR_MAP, .off = offsetof(struct smpfota_smp_status, err),
	 .has_off = offsetof(struct smpfota_smp_status, has_err), .sub = &err_map,
	 .elem_size = sizeof(struct smpfota_smp_err)},
};
static const struct smpfota_cbor_map status_map = MAP_OF(status_fields);

/* OS group */
static const struct smpfota_cbor_field echo_req_f[] = {
	F(struct smpfota_os_echo_req, "d", TSTR, d, REQ)};
static const struct smpfota_cbor_field echo_rsp_f[] = {
	F(struct smpfota_os_echo_rsp, "r", TSTR, r, REQ)};
static const struct smpfota_cbor_field reset_req_f[] = {
	FO(struct smpfota_os_reset_req, "force", BOOL, force),
	FO(struct smpfota_os_reset_req, "boot_mode", U32, boot_mode)};
static const struct smpfota_cbor_field params_rsp_f[] = {
	F(struct smpfota_os_params_rsp, "buf_size", U32, buf_size, REQ),
	F(struct smpfota_os_params_rsp, "buf_count", U32, buf_count, REQ)};
static const struct smpfota_cbor_field info_req_f[] = {
	FO(struct smpfota_os_info_req, "format", TSTR, format)};
static const struct smpfota_cbor_field info_rsp_f[] = {
	F(struct smpfota_os_info_rsp, "output", TSTR, output, REQ)};
static const struct smpfota_cbor_field boot_req_f[] = {
	FO(struct smpfota_os_bootloader_req, "query", TSTR, query)};
static const struct smpfota_cbor_field boot_rsp_f[] = {
	FO(struct smpfota_os_bootloader_rsp, "bootloader", TSTR, bootloader),
	FO(struct smpfota_os_bootloader_rsp, "mode", I32, mode),
	FO(struct smpfota_os_bootloader_rsp, "no-downgrade", BOOL, no_downgrade)};

/* Image group */
static const struct smpfota_cbor_field slot_state_f[] = {
	FO(struct smpfota_img_slot_state, "image", U32, image),
	F(struct smpfota_img_slot_state, "slot", U32, slot, REQ),
	F(struct smpfota_img_slot_state, "version", TSTR, version, REQ),
	FO(struct smpfota_img_slot_state, "hash", BSTR, hash),
	F(struct smpfota_img_slot_state, "bootable", BOOL, bootable, 0),
	F(struct smpfota_img_slot_state, "pending", BOOL, pending, 0),
	F(struct smpfota_img_slot_state, "confirmed", BOOL, confirmed, 0),
	F(struct smpfota_img_slot_state, "active", BOOL, active, 0),
	F(struct smpfota_img_slot_state, "permanent", BOOL, permanent, 0)};
static const struct smpfota_cbor_map slot_state_map = MAP_OF(slot_state_f);
static const struct smpfota_cbor_field state_rsp_f[] = {
	{.key = "images", .type = SMPFOTA_CBOR_ARRAY, .flags = REQ,
	 .off = offsetof(struct smpfota_img_state_rsp, images), .has_off = NO_HAS,
	 .sub = &slot_state_map, .elem_size = sizeof(struct smpfota_img_slot_state),
	 .max_elems = SMPFOTA_SMP_MAX_IMAGES,
	 .count_off = offsetof(struct smpfota_img_state_rsp, images_count),
	 .trunc_off = offsetof(struct smpfota_img_state_rsp, images_truncated)},
	FO(struct smpfota_img_state_rsp, "splitStatus", I32, split_status)};
static const struct smpfota_cbor_field state_write_req_f[] = {
	FO(struct smpfota_img_state_write_req, "hash", BSTR, hash),
	F(struct smpfota_img_state_write_req, "confirm", BOOL, confirm, 0)};
/* Key order as Zephyr's img_mgmt_client sends it: image, data, len, off, sha, upgrade. */
static const struct smpfota_cbor_field upload_req_f[] = {
	FO(struct smpfota_img_upload_req, "image", U32, image),
	F(struct smpfota_img_upload_req, "data", BSTR, data, REQ),
	FO(struct smpfota_img_upload_req, "len", U32, len),
	F(struct smpfota_img_upload_req, "off", U32, off, REQ),
	FO(struct smpfota_img_upload_req, "sha", BSTR, sha),
	FO(struct smpfota_img_upload_req, "upgrade", BOOL, upgrade)};
static const struct smpfota_cbor_field upload_rsp_f[] = {
	FO(struct smpfota_img_upload_rsp, "off", U32, off),
	FO(struct smpfota_img_upload_rsp, "match", BOOL, match)};
static const struct smpfota_cbor_field erase_req_f[] = {
	FO(struct smpfota_img_erase_req, "slot", U32, slot)};
static const struct smpfota_cbor_field slot_info_slot_f[] = {
	F(struct smpfota_img_slot_info_slot, "slot", U32, slot, REQ),
	F(struct smpfota_img_slot_info_slot, "size", U32, size, REQ),
	FO(struct smpfota_img_slot_info_slot, "upload_image_id", U32, upload_image_id)};
static const struct smpfota_cbor_map slot_info_slot_map = MAP_OF(slot_info_slot_f);
static const struct smpfota_cbor_field slot_info_image_f[] = {
	F(struct smpfota_img_slot_info_image, "image", U32, image, REQ),
	{.key = "slots", .type = SMPFOTA_CBOR_ARRAY, .flags = REQ,
	 .off = offsetof(struct smpfota_img_slot_info_image, slots), .has_off = NO_HAS,
	 .sub = &slot_info_slot_map, .elem_size = sizeof(struct smpfota_img_slot_info_slot),
	 .max_elems = SMPFOTA_SMP_MAX_SLOTS,
	 .count_off = offsetof(struct smpfota_img_slot_info_image, slots_count),
	 /* a third slot per image is not an MCUboot layout; it is dropped silently */
	 .trunc_off = offsetof(struct smpfota_img_slot_info_image, slots_truncated)},
	FO(struct smpfota_img_slot_info_image, "max_image_size", U32, max_image_size)};
static const struct smpfota_cbor_map slot_info_image_map = MAP_OF(slot_info_image_f);
static const struct smpfota_cbor_field slot_info_rsp_f[] = {
	{.key = "images", .type = SMPFOTA_CBOR_ARRAY, .flags = REQ,
	 .off = offsetof(struct smpfota_img_slot_info_rsp, images), .has_off = NO_HAS,
	 .sub = &slot_info_image_map, .elem_size = sizeof(struct smpfota_img_slot_info_image),
	 .max_elems = SMPFOTA_SMP_MAX_IMAGES,
	 .count_off = offsetof(struct smpfota_img_slot_info_rsp, images_count),
	 .trunc_off = offsetof(struct smpfota_img_slot_info_rsp, images_truncated)}};

/* ---- message kinds --------------------------------------------------------------------- */

struct msg_desc {
	uint16_t group;
	uint8_t id;
	uint8_t op; /* request op */
	struct smpfota_cbor_map req;
	struct smpfota_cbor_map rsp;
	uint16_t req_size;
	uint16_t rsp_size;
};

#define EMPTY {NULL, 0}
#define MSG(g, i, o, rq, rs, rqt, rst) {g, i, SMPFOTA_SMP_OP_##o, rq, rs, \
		sizeof(struct rqt), sizeof(struct rst)}

static const struct msg_desc msgs[SMPFOTA_MSG_COUNT] = {
	[SMPFOTA_MSG_OS_ECHO] = MSG(0, 0, WRITE, MAP_OF(echo_req_f), MAP_OF(echo_rsp_f),
				    smpfota_os_echo_req, smpfota_os_echo_rsp),
	[SMPFOTA_MSG_OS_RESET] = MSG(0, 5, WRITE, MAP_OF(reset_req_f), EMPTY,
				     smpfota_os_reset_req, smpfota_os_reset_rsp),
	[SMPFOTA_MSG_OS_PARAMS] = MSG(0, 6, READ, EMPTY, MAP_OF(params_rsp_f),
				      smpfota_os_params_req, smpfota_os_params_rsp),
	[SMPFOTA_MSG_OS_INFO] = MSG(0, 7, READ, MAP_OF(info_req_f), MAP_OF(info_rsp_f),
				    smpfota_os_info_req, smpfota_os_info_rsp),
	[SMPFOTA_MSG_OS_BOOTLOADER] = MSG(0, 8, READ, MAP_OF(boot_req_f), MAP_OF(boot_rsp_f),
					  smpfota_os_bootloader_req, smpfota_os_bootloader_rsp),
	[SMPFOTA_MSG_IMG_STATE_READ] = MSG(1, 0, READ, EMPTY, MAP_OF(state_rsp_f),
					   smpfota_img_state_read_req, smpfota_img_state_rsp),
	[SMPFOTA_MSG_IMG_STATE_WRITE] = MSG(1, 0, WRITE, MAP_OF(state_write_req_f),
					    MAP_OF(state_rsp_f), smpfota_img_state_write_req,
					    smpfota_img_state_rsp),
	[SMPFOTA_MSG_IMG_UPLOAD] = MSG(1, 1, WRITE, MAP_OF(upload_req_f), MAP_OF(upload_rsp_f),
				       smpfota_img_upload_req, smpfota_img_upload_rsp),
	[SMPFOTA_MSG_IMG_ERASE] = MSG(1, 5, WRITE, MAP_OF(erase_req_f), EMPTY,
				      smpfota_img_erase_req, smpfota_img_erase_rsp),
	[SMPFOTA_MSG_IMG_SLOT_INFO] = MSG(1, 6, READ, EMPTY, MAP_OF(slot_info_rsp_f),
					  smpfota_img_slot_info_req, smpfota_img_slot_info_rsp),
};

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

static int encode_frame(const struct smpfota_cbor_map *map, const void *body,
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

int smpfota_smp_encode_req(enum smpfota_smp_msg msg, uint8_t version, uint8_t seq,
			   const void *req, uint8_t *buf, size_t size)
{
	const struct msg_desc *d = msg_get(msg);
	if (d == NULL || req == NULL || version > SMPFOTA_SMP_V2) {
		return SMPFOTA_ERR_INVAL;
	}
	struct smpfota_smp_hdr hdr = {
		.op = d->op, .version = version, .group = d->group, .seq = seq, .id = d->id};
	return encode_frame(&d->req, req, &hdr, buf, size);
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
	return encode_frame(&d->rsp, rsp, &hdr, buf, size);
}

/* Error bodies: v1 {"rc", "rsn"?} or v2 {"err": {"group", "rc"}}. */
struct err_body {
	int32_t rc;
	bool has_rsn;
	struct smpfota_str rsn;
	bool has_err;
	struct smpfota_smp_err err;
};
static const struct smpfota_cbor_field err_body_v1_f[] = {
	F(struct err_body, "rc", I32, rc, 0),
	FO(struct err_body, "rsn", TSTR, rsn)};
static const struct smpfota_cbor_field err_body_v2_f[] = {
	{.key = "err", .type = SMPFOTA_CBOR_MAP, .off = offsetof(struct err_body, err),
	 .has_off = NO_HAS, .sub = &err_map, .elem_size = sizeof(struct smpfota_smp_err)}};

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
	static const struct smpfota_cbor_map v1 = MAP_OF(err_body_v1_f);
	static const struct smpfota_cbor_map v2 = MAP_OF(err_body_v2_f);
	return encode_frame(st->has_err ? &v2 : &v1, &body, &hdr, buf, size);
}

int smpfota_smp_decode_rsp(enum smpfota_smp_msg msg, const uint8_t *payload, size_t len,
			   void *rsp)
{
	const struct msg_desc *d = msg_get(msg);
	uint32_t seen;

	if (d == NULL || rsp == NULL || (payload == NULL && len > 0)) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(rsp, 0, d->rsp_size);
	int rc = smpfota_cbor_decode_map(payload, len, &d->rsp, &status_map, rsp, &seen);
	if (rc != 0) {
		return rc;
	}
	/* An error response carries only the error; required keys matter on success. */
	if (smpfota_smp_status_ok((const struct smpfota_smp_status *)rsp)) {
		return smpfota_cbor_check_required(&d->rsp, seen);
	}
	return 0;
}

int smpfota_smp_decode_req(enum smpfota_smp_msg msg, const uint8_t *payload, size_t len,
			   void *req)
{
	const struct msg_desc *d = msg_get(msg);
	uint32_t seen;

	if (d == NULL || req == NULL || (payload == NULL && len > 0)) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(req, 0, d->req_size);
	int rc = smpfota_cbor_decode_map(payload, len, &d->req, NULL, req, &seen);
	if (rc != 0) {
		return rc;
	}
	return smpfota_cbor_check_required(&d->req, seen);
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
	static const size_t extras[] = {0, 1, 2, 4};
	for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
		if (avail >= extras[i] && bstr_head_extra(avail - extras[i]) <= extras[i]) {
			return (int)(avail - extras[i]);
		}
	}
	return 0;
}

/* ---- error names ----------------------------------------------------------------------- */

static const char *const mgmt_names[] = {
	"EOK", "EUNKNOWN", "ENOMEM", "EINVAL", "ETIMEOUT", "ENOENT", "EBADSTATE",
	"EMSGSIZE", "ENOTSUP", "ECORRUPT", "EBUSY", "EACCESSDENIED", "UNSUPPORTED_TOO_OLD",
	"UNSUPPORTED_TOO_NEW"};
static const char *const img_names[] = {
	"OK", "UNKNOWN", "FLASH_CONFIG_QUERY_FAIL", "NO_IMAGE", "NO_TLVS", "INVALID_TLV",
	"TLV_MULTIPLE_HASHES_FOUND", "TLV_INVALID_SIZE", "HASH_NOT_FOUND", "NO_FREE_SLOT",
	"FLASH_OPEN_FAILED", "FLASH_READ_FAILED", "FLASH_WRITE_FAILED", "FLASH_ERASE_FAILED",
	"INVALID_SLOT", "NO_FREE_MEMORY", "FLASH_CONTEXT_ALREADY_SET", "FLASH_CONTEXT_NOT_SET",
	"FLASH_AREA_DEVICE_NULL", "INVALID_PAGE_OFFSET", "INVALID_OFFSET", "INVALID_LENGTH",
	"INVALID_IMAGE_HEADER", "INVALID_IMAGE_HEADER_MAGIC", "INVALID_HASH",
	"INVALID_FLASH_ADDRESS", "VERSION_GET_FAILED", "CURRENT_VERSION_IS_NEWER",
	"IMAGE_ALREADY_PENDING", "INVALID_IMAGE_VECTOR_TABLE", "INVALID_IMAGE_TOO_LARGE",
	"INVALID_IMAGE_DATA_OVERRUN", "IMAGE_CONFIRMATION_DENIED",
	"IMAGE_SETTING_TEST_TO_ACTIVE_DENIED", "ACTIVE_SLOT_NOT_KNOWN"};
static const char *const os_names[] = {
	"OK", "UNKNOWN", "INVALID_FORMAT", "QUERY_YIELDS_NO_ANSWER", "RTC_NOT_SET",
	"RTC_COMMAND_FAILED", "QUERY_RESPONSE_VALUE_NOT_VALID"};

#define NAME_AT(tab, i) \
	(((i) >= 0 && (size_t)(i) < sizeof(tab) / sizeof(tab[0])) ? tab[i] : NULL)

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

/* ---- tables for tools (smp_internal.h) -------------------------------------------------- */

const struct smpfota_cbor_map *smpfota_smp_msg_map(enum smpfota_smp_msg msg, bool rsp)
{
	const struct msg_desc *d = msg_get(msg);
	return d == NULL ? NULL : rsp ? &d->rsp : &d->req;
}

const struct smpfota_cbor_map *smpfota_smp_status_map(void)
{
	return &status_map;
}

size_t smpfota_smp_msg_size(enum smpfota_smp_msg msg, bool rsp)
{
	const struct msg_desc *d = msg_get(msg);
	return d == NULL ? 0 : rsp ? d->rsp_size : d->req_size;
}
