/*
 * SMP (MCUmgr) message codec: the 8-byte header and the CBOR payloads of the OS and image
 * management groups, in both directions (client: encode requests, decode responses; server:
 * decode requests, encode responses). CBOR goes through zcbor.
 *
 * Model (as nanopb): every message kind has a plain C struct and a field table; four
 * generic functions encode and decode any kind:
 *
 *     client: smpfota_smp_encode_req()  ->  server: smpfota_smp_decode_req()
 *     client: smpfota_smp_decode_rsp()  <-  server: smpfota_smp_encode_rsp() / _encode_err()
 *
 * Decoding is zero-copy: strings and byte strings in a decoded struct point into the input
 * buffer, which must outlive them. Decoders accept what real Zephyr servers and clients
 * send: definite and indefinite-length maps and arrays, any key order, unknown keys (skipped,
 * nesting bounded by SMPFOTA_SMP_MAX_DEPTH), v1 `rc`/`rsn` and v2 `err {group, rc}`.
 * No malloc, no global state; stack use is bounded by SMPFOTA_SMP_MAX_DEPTH.
 *
 * Reference: shared/spec/smp.md (Zephyr mgmt_defines.h, img_mgmt.c, os_mgmt.c).
 */
#ifndef SMPFOTA_SMP_H
#define SMPFOTA_SMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits (SMPFOTA_SMP_MAX_IMAGES, _MAX_SLOTS, _MAX_DEPTH) are in smpfota/config.h. */

/* ---- header ------------------------------------------------------------------------- */

#define SMPFOTA_SMP_HDR_SIZE 8U

enum smpfota_smp_op {
	SMPFOTA_SMP_OP_READ = 0,
	SMPFOTA_SMP_OP_READ_RSP = 1,
	SMPFOTA_SMP_OP_WRITE = 2,
	SMPFOTA_SMP_OP_WRITE_RSP = 3,
};

enum smpfota_smp_version {
	SMPFOTA_SMP_V1 = 0, /* legacy: errors as {"rc"} */
	SMPFOTA_SMP_V2 = 1, /* group errors as {"err": {"group", "rc"}} */
};

enum smpfota_smp_group {
	SMPFOTA_SMP_GROUP_OS = 0,
	SMPFOTA_SMP_GROUP_IMAGE = 1,
};

struct smpfota_smp_hdr {
	uint8_t op;      /* enum smpfota_smp_op */
	uint8_t version; /* enum smpfota_smp_version (2 bits on the wire) */
	uint8_t flags;
	uint16_t len; /* CBOR payload length, header excluded */
	uint16_t group;
	uint8_t seq;
	uint8_t id;
};

/* Write the 8 header bytes: byte0 = ver<<3 | op, then flags, len, group (big endian), seq, id. */
void smpfota_smp_hdr_encode(const struct smpfota_smp_hdr *hdr, uint8_t out[SMPFOTA_SMP_HDR_SIZE]);

/*
 * Parse the header at buf. Returns the whole frame length (8 + hdr->len) when buf holds at
 * least that many bytes; SMPFOTA_ERR_PROTO when the header is short, its reserved bits are
 * set, or its length runs past len (as Zephyr's MGMT_ERR_ECORRUPT). Extra bytes after the
 * frame are left to the caller (Zephyr allows concatenated requests).
 */
int smpfota_smp_hdr_decode(const uint8_t *buf, size_t len, struct smpfota_smp_hdr *hdr);

/* ---- MCUmgr result codes (mgmt_defines.h, img_mgmt.h, os_mgmt.h) ---------------------- */

enum smpfota_mgmt_err {
	SMPFOTA_MGMT_EOK = 0,
	SMPFOTA_MGMT_EUNKNOWN = 1,
	SMPFOTA_MGMT_ENOMEM = 2,
	SMPFOTA_MGMT_EINVAL = 3,
	SMPFOTA_MGMT_ETIMEOUT = 4,
	SMPFOTA_MGMT_ENOENT = 5,
	SMPFOTA_MGMT_EBADSTATE = 6,
	SMPFOTA_MGMT_EMSGSIZE = 7,
	SMPFOTA_MGMT_ENOTSUP = 8,
	SMPFOTA_MGMT_ECORRUPT = 9,
	SMPFOTA_MGMT_EBUSY = 10,
	SMPFOTA_MGMT_EACCESSDENIED = 11,
	SMPFOTA_MGMT_UNSUPPORTED_TOO_OLD = 12,
	SMPFOTA_MGMT_UNSUPPORTED_TOO_NEW = 13,
	SMPFOTA_MGMT_EPERUSER = 256,
};

/* v2 group error codes of the image group (img_mgmt.h img_mgmt_err_code_t) */
enum smpfota_img_mgmt_err {
	SMPFOTA_IMG_MGMT_ERR_OK = 0,
	SMPFOTA_IMG_MGMT_ERR_UNKNOWN = 1,
	SMPFOTA_IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL = 2,
	SMPFOTA_IMG_MGMT_ERR_NO_IMAGE = 3,
	SMPFOTA_IMG_MGMT_ERR_NO_TLVS = 4,
	SMPFOTA_IMG_MGMT_ERR_INVALID_TLV = 5,
	SMPFOTA_IMG_MGMT_ERR_TLV_MULTIPLE_HASHES_FOUND = 6,
	SMPFOTA_IMG_MGMT_ERR_TLV_INVALID_SIZE = 7,
	SMPFOTA_IMG_MGMT_ERR_HASH_NOT_FOUND = 8,
	SMPFOTA_IMG_MGMT_ERR_NO_FREE_SLOT = 9,
	SMPFOTA_IMG_MGMT_ERR_FLASH_OPEN_FAILED = 10,
	SMPFOTA_IMG_MGMT_ERR_FLASH_READ_FAILED = 11,
	SMPFOTA_IMG_MGMT_ERR_FLASH_WRITE_FAILED = 12,
	SMPFOTA_IMG_MGMT_ERR_FLASH_ERASE_FAILED = 13,
	SMPFOTA_IMG_MGMT_ERR_INVALID_SLOT = 14,
	SMPFOTA_IMG_MGMT_ERR_NO_FREE_MEMORY = 15,
	SMPFOTA_IMG_MGMT_ERR_FLASH_CONTEXT_ALREADY_SET = 16,
	SMPFOTA_IMG_MGMT_ERR_FLASH_CONTEXT_NOT_SET = 17,
	SMPFOTA_IMG_MGMT_ERR_FLASH_AREA_DEVICE_NULL = 18,
	SMPFOTA_IMG_MGMT_ERR_INVALID_PAGE_OFFSET = 19,
	SMPFOTA_IMG_MGMT_ERR_INVALID_OFFSET = 20,
	SMPFOTA_IMG_MGMT_ERR_INVALID_LENGTH = 21,
	SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_HEADER = 22,
	SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC = 23,
	SMPFOTA_IMG_MGMT_ERR_INVALID_HASH = 24,
	SMPFOTA_IMG_MGMT_ERR_INVALID_FLASH_ADDRESS = 25,
	SMPFOTA_IMG_MGMT_ERR_VERSION_GET_FAILED = 26,
	SMPFOTA_IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER = 27,
	SMPFOTA_IMG_MGMT_ERR_IMAGE_ALREADY_PENDING = 28,
	SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_VECTOR_TABLE = 29,
	SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE = 30,
	SMPFOTA_IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN = 31,
	SMPFOTA_IMG_MGMT_ERR_IMAGE_CONFIRMATION_DENIED = 32,
	SMPFOTA_IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED = 33,
	SMPFOTA_IMG_MGMT_ERR_ACTIVE_SLOT_NOT_KNOWN = 34,
};

/* v2 group error codes of the OS group (os_mgmt.h os_mgmt_err_code_t) */
enum smpfota_os_mgmt_err {
	SMPFOTA_OS_ERR_OK = 0,
	SMPFOTA_OS_ERR_UNKNOWN = 1,
	SMPFOTA_OS_ERR_INVALID_FORMAT = 2,
	SMPFOTA_OS_ERR_QUERY_YIELDS_NO_ANSWER = 3,
	SMPFOTA_OS_ERR_RTC_NOT_SET = 4,
	SMPFOTA_OS_ERR_RTC_COMMAND_FAILED = 5,
	SMPFOTA_OS_ERR_QUERY_RESPONSE_VALUE_NOT_VALID = 6,
};

/* Name of a v1 rc ("EINVAL"), or of a v2 group-specific rc when group is 0 (OS) or 1 (image)
 * and v2 is true ("NO_FREE_SLOT"). NULL when unknown, and always with
 * SMPFOTA_CONFIG_ERROR_NAMES 0 (see smpfota.h). */
const char *smpfota_mgmt_err_name(uint16_t group, int32_t rc, bool v2);

/* ---- common payload types ---------------------------------------------------------------- */

/* Text string; not NUL-terminated. */
struct smpfota_str {
	const char *ptr;
	size_t len;
};

/* Byte string. */
struct smpfota_bytes {
	const uint8_t *ptr;
	size_t len;
};

/*
 * Result carried by every response. Success when neither `rc` (non-zero) nor `err` is
 * present. v1 servers send {"rc", "rsn"?}; v2 servers send {"err": {"group", "rc"}} for
 * group errors and still v1 `rc` for SMP-level errors, so a client must read both.
 */
struct smpfota_smp_status {
	int32_t rc;             /* v1 "rc" (0 when absent) */
	struct smpfota_str rsn; /* v1 "rsn" (len 0 when absent) */
	bool has_err;           /* v2 "err" map present */
	struct smpfota_smp_err {
		uint16_t group;
		int32_t rc; /* group-specific code (IMG_MGMT_ERR_*, OS_MGMT_ERR_*) */
	} err;
};

/* True when the status means success. */
bool smpfota_smp_status_ok(const struct smpfota_smp_status *st);

/* ---- message kinds ----------------------------------------------------------------------- */

enum smpfota_smp_msg {
	SMPFOTA_MSG_OS_ECHO,         /* group 0 id 0, write */
	SMPFOTA_MSG_OS_RESET,        /* group 0 id 5, write */
	SMPFOTA_MSG_OS_PARAMS,       /* group 0 id 6, read */
	SMPFOTA_MSG_OS_INFO,         /* group 0 id 7, read */
	SMPFOTA_MSG_OS_BOOTLOADER,   /* group 0 id 8, read */
	SMPFOTA_MSG_IMG_STATE_READ,  /* group 1 id 0, read */
	SMPFOTA_MSG_IMG_STATE_WRITE, /* group 1 id 0, write */
	SMPFOTA_MSG_IMG_UPLOAD,      /* group 1 id 1, write */
	SMPFOTA_MSG_IMG_ERASE,       /* group 1 id 5, write */
	SMPFOTA_MSG_IMG_SLOT_INFO,   /* group 1 id 6, read */
	SMPFOTA_MSG_COUNT
};

/* Group, command id and request op of a message kind. */
int smpfota_smp_msg_info(enum smpfota_smp_msg msg, uint16_t *group, uint8_t *id, uint8_t *op);

/* Message kind of a request or response header, or SMPFOTA_ERR_NOTSUP (unknown command). */
int smpfota_smp_msg_lookup(const struct smpfota_smp_hdr *hdr);

/* Requests and responses. Each response struct starts with its status. `has_*` flags say
 * whether an optional key is present (decode) or is to be sent (encode). */

struct smpfota_os_echo_req {
	struct smpfota_str d;
};
struct smpfota_os_echo_rsp {
	struct smpfota_smp_status status;
	struct smpfota_str r;
};

struct smpfota_os_reset_req {
	bool has_force;
	bool force; /* Zephyr decodes a bool; ints are accepted on decode too */
	bool has_boot_mode;
	uint32_t boot_mode;
};
struct smpfota_os_reset_rsp {
	struct smpfota_smp_status status;
};

struct smpfota_os_params_req {
	uint8_t unused;
};
struct smpfota_os_params_rsp {
	struct smpfota_smp_status status;
	uint32_t buf_size; /* CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE: whole SMP frame */
	uint32_t buf_count;
};

struct smpfota_os_info_req {
	bool has_format;
	struct smpfota_str format;
};
struct smpfota_os_info_rsp {
	struct smpfota_smp_status status;
	struct smpfota_str output;
};

struct smpfota_os_bootloader_req {
	bool has_query;
	struct smpfota_str query;
};

/* MCUboot modes as `bootloader info` numbers them (query "mode"; MCUboot's enum
 * mcuboot_mode, which Zephyr's os_mgmt sends). */
enum smpfota_mcuboot_mode {
	SMPFOTA_MCUBOOT_MODE_UNKNOWN = -1,
	SMPFOTA_MCUBOOT_MODE_SINGLE_SLOT = 0,
	SMPFOTA_MCUBOOT_MODE_SWAP_USING_SCRATCH = 1,
	SMPFOTA_MCUBOOT_MODE_UPGRADE_ONLY = 2, /* overwrite-only: no revert */
	SMPFOTA_MCUBOOT_MODE_SWAP_USING_MOVE = 3,
	SMPFOTA_MCUBOOT_MODE_DIRECT_XIP = 4,
	SMPFOTA_MCUBOOT_MODE_DIRECT_XIP_WITH_REVERT = 5,
	SMPFOTA_MCUBOOT_MODE_RAM_LOAD = 6,
	SMPFOTA_MCUBOOT_MODE_FIRMWARE_LOADER = 7,
	SMPFOTA_MCUBOOT_MODE_SINGLE_SLOT_RAM_LOAD = 8,
	SMPFOTA_MCUBOOT_MODE_SWAP_USING_OFFSET = 9,
};

/* "swap using move", "overwrite only", ... for a mode number; NULL if unknown. */
const char *smpfota_mcuboot_mode_name(int32_t mode);
struct smpfota_os_bootloader_rsp {
	struct smpfota_smp_status status;
	bool has_bootloader;
	struct smpfota_str bootloader; /* "MCUboot" */
	bool has_mode;
	int32_t mode; /* reply to query "mode": enum smpfota_mcuboot_mode */
	bool has_no_downgrade;
	bool no_downgrade;
};

struct smpfota_img_state_read_req {
	uint8_t unused;
};
struct smpfota_img_state_write_req {
	bool has_hash;
	struct smpfota_bytes hash; /* 32-byte MCUboot image hash (bstr, as Zephyr's client) */
	bool confirm;              /* always sent; absent decodes as false */
};

/* One entry of the "images" array of an image state response. */
struct smpfota_img_slot_state {
	bool has_image;
	uint32_t image;
	uint32_t slot;
	struct smpfota_str version;
	bool has_hash;
	struct smpfota_bytes hash;
	/* Zephyr leaves false flags out with CONFIG_MCUMGR_GRP_IMG_FRUGAL_LIST: absent = false.
	 * The encoder sends all five, as Zephyr does by default. */
	bool bootable, pending, confirmed, active, permanent;
};

/* Response to both state read and state write. (Arrays come last in every struct: the
 * codec's tables keep field offsets in a byte.) */
struct smpfota_img_state_rsp {
	struct smpfota_smp_status status;
	size_t images_count;   /* entries stored in images[] */
	bool images_truncated; /* the server listed more than SMPFOTA_SMP_MAX_IMAGES */
	bool has_split_status;
	int32_t split_status;
	struct smpfota_img_slot_state images[SMPFOTA_SMP_MAX_IMAGES];
};

struct smpfota_img_upload_req {
	bool has_image;
	uint32_t image;
	bool has_len;
	uint32_t len; /* total image length; required when off == 0 */
	uint32_t off;
	bool has_sha;
	struct smpfota_bytes sha; /* SHA-256 of the whole file (upload session id) */
	struct smpfota_bytes data;
	bool has_upgrade;
	bool upgrade;
};
struct smpfota_img_upload_rsp {
	struct smpfota_smp_status status;
	bool has_off;
	uint32_t off; /* next offset the server expects */
	bool has_match;
	bool match;
};

struct smpfota_img_erase_req {
	bool has_slot;
	uint32_t slot;
};
struct smpfota_img_erase_rsp {
	struct smpfota_smp_status status;
};

struct smpfota_img_slot_info_req {
	uint8_t unused;
};
struct smpfota_img_slot_info_slot {
	uint32_t slot;
	uint32_t size;
	bool has_upload_image_id;
	uint32_t upload_image_id;
};
struct smpfota_img_slot_info_image {
	uint32_t image;
	size_t slots_count;
	bool slots_truncated;
	struct smpfota_img_slot_info_slot slots[SMPFOTA_SMP_MAX_SLOTS];
	bool has_max_image_size;
	uint32_t max_image_size;
};
struct smpfota_img_slot_info_rsp {
	struct smpfota_smp_status status;
	size_t images_count;
	bool images_truncated;
	struct smpfota_img_slot_info_image images[SMPFOTA_SMP_MAX_IMAGES];
};

/* Any response, for code that handles several kinds (client engine). */
union smpfota_smp_rsp {
	struct smpfota_smp_status status;
	struct smpfota_os_echo_rsp echo;
	struct smpfota_os_reset_rsp reset;
	struct smpfota_os_params_rsp params;
	struct smpfota_os_info_rsp info;
	struct smpfota_os_bootloader_rsp bootloader;
	struct smpfota_img_state_rsp state;
	struct smpfota_img_upload_rsp upload;
	struct smpfota_img_erase_rsp erase;
	struct smpfota_img_slot_info_rsp slot_info;
};

/* Any request, for code that handles several kinds (server). */
union smpfota_smp_req {
	struct smpfota_os_echo_req echo;
	struct smpfota_os_reset_req reset;
	struct smpfota_os_params_req params;
	struct smpfota_os_info_req info;
	struct smpfota_os_bootloader_req bootloader;
	struct smpfota_img_state_read_req state_read;
	struct smpfota_img_state_write_req state_write;
	struct smpfota_img_upload_req upload;
	struct smpfota_img_erase_req erase;
	struct smpfota_img_slot_info_req slot_info;
};

/* ---- client side ------------------------------------------------------------------------ */

/*
 * Encode a whole request frame (header + CBOR) of kind msg into buf. `req` points to the
 * struct of that kind. Returns the frame length, SMPFOTA_ERR_NOSPC if it does not fit,
 * SMPFOTA_ERR_MSGSIZE if the payload exceeds 65535 bytes, SMPFOTA_ERR_INVAL on bad args.
 */
int smpfota_smp_encode_req(enum smpfota_smp_msg msg, uint8_t version, uint8_t seq, const void *req,
			   uint8_t *buf, size_t size);

/*
 * Decode the CBOR payload of a response of kind msg into *rsp (the struct of that kind; it
 * is zeroed first). Returns 0 when the payload is well formed, whatever its status says;
 * SMPFOTA_ERR_PROTO when it is not CBOR, not a map, nested too deep, or a known key has the
 * wrong type; or when a successful response lacks a key the spec requires.
 */
int smpfota_smp_decode_rsp(enum smpfota_smp_msg msg, const uint8_t *payload, size_t len, void *rsp);

/*
 * Largest number of `data` bytes an upload request built from *req (its `data` ignored) can
 * carry so that the whole frame (8-byte header + CBOR) is at most frame_size bytes. Exact:
 * accounts for the CBOR length prefix of `data` growing with its size. Returns the count,
 * or SMPFOTA_ERR_NOSPC if not even an empty chunk fits.
 */
int smpfota_smp_upload_max_data(const struct smpfota_img_upload_req *req, size_t frame_size);

/* ---- server side ------------------------------------------------------------------------ */

/* Decode the CBOR payload of a request of kind msg into *req (zeroed first). Returns 0, or
 * SMPFOTA_ERR_PROTO when malformed or a required key (echo "d", upload "off") is missing. */
int smpfota_smp_decode_req(enum smpfota_smp_msg msg, const uint8_t *payload, size_t len, void *req);

/* Encode a success response frame of kind msg answering the request header req_hdr
 * (op + 1, same group, id and seq, version = min(request version, v2), flags 0). */
int smpfota_smp_encode_rsp(enum smpfota_smp_msg msg, const struct smpfota_smp_hdr *req_hdr,
			   const void *rsp, uint8_t *buf, size_t size);

/* Encode an error response frame answering req_hdr: {"err": {"group", "rc"}} when
 * st->has_err, else {"rc", "rsn"?}. */
int smpfota_smp_encode_err(const struct smpfota_smp_hdr *req_hdr,
			   const struct smpfota_smp_status *st, uint8_t *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_SMP_H */
