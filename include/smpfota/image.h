/*
 * MCUboot image reader.
 *
 * Parses the 32-byte image header and the TLV areas, and verifies the SHA-256 TLV with
 * mbedTLS over exactly the bytes MCUboot hashes: [0, hdr_size + img_size + protect_tlv_size)
 * (shared/spec/mcuboot.md §2.3). It works on a stream of chunks of any size, so a device can
 * verify an image while it receives it, without holding it in RAM; smpfota_image_parse() is
 * the whole-buffer convenience on top of the same code.
 *
 * Memory: everything lives in the caller's struct smpfota_image_reader; no malloc.
 */
#ifndef SMPFOTA_IMAGE_H
#define SMPFOTA_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SMPFOTA_IMAGE_MAGIC 0x96f3b83dU
#define SMPFOTA_IMAGE_HEADER_SIZE 32U
#define SMPFOTA_IMAGE_TLV_INFO_MAGIC 0x6907U
#define SMPFOTA_IMAGE_TLV_PROT_INFO_MAGIC 0x6908U
#define SMPFOTA_IMAGE_HASH_SIZE 32U

/* ih_flags (MCUboot image.h IMAGE_F_*) */
#define SMPFOTA_IMAGE_F_PIC 0x01U
#define SMPFOTA_IMAGE_F_ENCRYPTED_AES128 0x04U
#define SMPFOTA_IMAGE_F_ENCRYPTED_AES256 0x08U
#define SMPFOTA_IMAGE_F_NON_BOOTABLE 0x10U
#define SMPFOTA_IMAGE_F_RAM_LOAD 0x20U
#define SMPFOTA_IMAGE_F_ROM_FIXED 0x100U
#define SMPFOTA_IMAGE_F_COMPRESSED_LZMA1 0x200U
#define SMPFOTA_IMAGE_F_COMPRESSED_LZMA2 0x400U
#define SMPFOTA_IMAGE_F_COMPRESSED_ARM_THUMB 0x800U

/* TLV types (MCUboot image.h IMAGE_TLV_*) */
enum smpfota_image_tlv_type {
	SMPFOTA_TLV_KEYHASH = 0x01,
	SMPFOTA_TLV_PUBKEY = 0x02,
	SMPFOTA_TLV_SHA256 = 0x10,
	SMPFOTA_TLV_SHA384 = 0x11,
	SMPFOTA_TLV_SHA512 = 0x12,
	SMPFOTA_TLV_RSA2048_PSS = 0x20,
	SMPFOTA_TLV_ECDSA224 = 0x21,
	SMPFOTA_TLV_ECDSA_SIG = 0x22,
	SMPFOTA_TLV_RSA3072_PSS = 0x23,
	SMPFOTA_TLV_ED25519 = 0x24,
	SMPFOTA_TLV_SIG_PURE = 0x25,
	SMPFOTA_TLV_ENC_RSA2048 = 0x30,
	SMPFOTA_TLV_ENC_KW = 0x31,
	SMPFOTA_TLV_ENC_EC256 = 0x32,
	SMPFOTA_TLV_ENC_X25519 = 0x33,
	SMPFOTA_TLV_ENC_X25519_SHA512 = 0x34,
	SMPFOTA_TLV_DEPENDENCY = 0x40,
	SMPFOTA_TLV_SEC_CNT = 0x50,
	SMPFOTA_TLV_BOOT_RECORD = 0x60,
	SMPFOTA_TLV_DECOMP_SIZE = 0x70,
	SMPFOTA_TLV_DECOMP_SHA = 0x71,
	SMPFOTA_TLV_DECOMP_SIGNATURE = 0x72,
	SMPFOTA_TLV_COMP_DEC_SIZE = 0x73,
	SMPFOTA_TLV_UUID_VID = 0x74,
	SMPFOTA_TLV_UUID_CID = 0x75,
};

/* How many TLV entries the reader records (it still walks and checks any number). */
#ifndef SMPFOTA_IMAGE_MAX_TLVS
#define SMPFOTA_IMAGE_MAX_TLVS 12
#endif

struct smpfota_image_version {
	uint8_t major;
	uint8_t minor;
	uint16_t revision;
	uint32_t build;
};

struct smpfota_image_header {
	uint32_t magic;
	uint32_t load_addr;
	uint16_t hdr_size;
	uint16_t protect_tlv_size;
	uint32_t img_size;
	uint32_t flags;
	struct smpfota_image_version version;
};

struct smpfota_image_tlv {
	uint16_t type;
	uint16_t len;
	uint32_t off;      /* offset of the TLV's 4-byte header from the image start */
	bool protected_tlv;
};

/* What the reader learnt about an image. Filled as far as the data allowed, even on error. */
struct smpfota_image_info {
	struct smpfota_image_header hdr;
	bool header_valid;

	/* hdr_size + img_size + protect_tlv_size: the bytes MCUboot hashes. */
	uint32_t hashed_size;
	/* hashed_size + unprotected TLV area: where the image ends; 0 until known. */
	uint32_t image_size;

	bool has_hash;                           /* a SHA-256 TLV was found */
	uint8_t hash[SMPFOTA_IMAGE_HASH_SIZE];   /* its value: what `mcumgr image list` shows */
	uint8_t computed_hash[SMPFOTA_IMAGE_HASH_SIZE];
	bool hash_valid;                         /* has_hash and hash == computed_hash */

	uint16_t sig_type;  /* signature TLV type (0x20..0x25), 0 if unsigned */
	uint16_t sig_len;
	uint16_t key_type;  /* SMPFOTA_TLV_KEYHASH or _PUBKEY, 0 if none */

	size_t tlv_count;   /* TLVs seen; only the first SMPFOTA_IMAGE_MAX_TLVS are recorded */
	struct smpfota_image_tlv tlvs[SMPFOTA_IMAGE_MAX_TLVS];
};

/* Streaming reader state. Opaque: use the functions below. */
struct smpfota_image_reader {
	struct smpfota_image_info info;
	int state;
	int err;            /* sticky first error */
	uint32_t off;       /* bytes consumed so far */
	uint32_t need;      /* bytes still wanted by the current state */
	uint8_t scratch[SMPFOTA_IMAGE_HEADER_SIZE];
	uint16_t scratch_len;
	uint16_t cur_type;
	uint16_t cur_len;
	uint32_t prot_end;  /* end offset of the protected TLV area */
	uint32_t tlv_end;   /* end offset of the area being walked */
	/* mbedTLS SHA-256 context, kept opaque so this header does not pull in mbedTLS. */
	union {
		uint64_t align;
		uint8_t bytes[128];
	} sha;
};

/* Decode a 32-byte header (little endian). Checks the magic and that sizes do not overflow. */
int smpfota_image_header_parse(const uint8_t *buf, size_t len, struct smpfota_image_header *hdr);

/* Start reading an image. */
void smpfota_image_reader_init(struct smpfota_image_reader *r);

/*
 * Feed the next len bytes of the image. Bytes after the end of the TLV area (padding, an
 * MCUboot trailer written by `imgtool --pad`) are accepted and ignored. Returns 0, or the
 * first error (sticky): SMPFOTA_ERR_BAD_MAGIC as soon as the header is in, _BAD_HEADER,
 * _TLV_CORRUPT.
 */
int smpfota_image_reader_feed(struct smpfota_image_reader *r, const uint8_t *data, size_t len);

/*
 * End of input: 0 when the image is complete and its SHA-256 TLV matches; otherwise
 * SMPFOTA_ERR_TRUNCATED, _HASH_MISMATCH, _UNSUPPORTED (no SHA-256 TLV, encrypted image) or
 * the sticky feed error. *info (may be NULL) gets what was learnt in every case.
 */
int smpfota_image_reader_finish(struct smpfota_image_reader *r, struct smpfota_image_info *info);

/* Whole-buffer convenience: init + feed + finish. */
int smpfota_image_parse(const uint8_t *buf, size_t len, struct smpfota_image_info *info);

/* "major.minor.revision+build" into buf (as imgtool prints); returns length or -NOSPC. */
int smpfota_image_version_str(const struct smpfota_image_version *v, char *buf, size_t size);

/* Name of a TLV type ("SHA256", "ECDSA_SIG", ...) or NULL if unknown. */
const char *smpfota_image_tlv_name(uint16_t type);

/* Signature name for a signature TLV type: "RSA2048_PSS", "ECDSA_SIG", "ED25519", ... or NULL. */
const char *smpfota_image_sig_name(uint16_t type);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_IMAGE_H */
