/*
 * MCUboot image reader.
 *
 * Parses the 32-byte image header and the TLV areas, and verifies the image hash TLV
 * (SHA-256, or SHA-384/SHA-512 with SMPFOTA_CONFIG_IMAGE_SHA512) with mbedTLS over exactly the
 * bytes MCUboot hashes: [0, hdr_size + img_size + protect_tlv_size) (shared/spec/mcuboot.md
 * §2.3). The hash TLV comes after the body, so a stream is hashed with one algorithm chosen
 * up front (SHA-256 unless told otherwise); smpfota_image_parse() and smpfota_image_check()
 * read a second time with the image's own algorithm when it is another one. It works on a stream of chunks of any size, so a device can
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
#define SMPFOTA_IMAGE_HASH_SIZE 32U /* SHA-256: the upload's file hash, most image hashes */
/* Longest image hash the reader keeps: 64 (SHA-512) with SMPFOTA_CONFIG_IMAGE_SHA512, else 32. */
#if SMPFOTA_CONFIG_IMAGE_SHA512
#define SMPFOTA_IMAGE_HASH_MAX 64U
#else
#define SMPFOTA_IMAGE_HASH_MAX 32U
#endif

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

/* Longest smpfota_image_version_str() output, with its NUL: "255.255.65535+4294967295". */
#define SMPFOTA_IMAGE_VERSION_STR_MAX 25U

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
	uint32_t off; /* offset of the TLV's 4-byte header from the image start */
	bool protected_tlv;
};

/* What the reader learnt about an image. Filled as far as the data allowed, even on error.
 * (Scalars before arrays: a Cortex-M reaches them with its short load/store forms.) */
struct smpfota_image_info {
	struct smpfota_image_header hdr;
	bool header_valid; /* hdr was decoded and passed smpfota_image_header_parse() */

	/* hdr_size + img_size + protect_tlv_size: the bytes MCUboot hashes. */
	uint32_t hashed_size;
	/* hashed_size + unprotected TLV area: where the image ends; 0 until known. */
	uint32_t image_size;

	bool has_hash; /* a complete image hash TLV was found: hash_type, hash_len, hash */
	/*
	 * The whole image was read without a format error, its hash TLV is of the algorithm
	 * the reader computed (computed_type), and every such TLV (MCUboot checks each one;
	 * imgtool writes one) equals computed_hash.
	 */
	bool hash_valid;
	uint8_t hash_len;       /* 32, 48 or 64 */
	uint16_t hash_type;     /* SMPFOTA_TLV_SHA256, _SHA384 or _SHA512: the TLV in hash */
	uint16_t computed_type; /* the algorithm of computed_hash, as its TLV type */

	/*
	 * First signature TLV type (0x20, 0x22..0x24), 0 if unsigned. SIG_PURE (0x25, a 1-byte
	 * marker imgtool writes before the signature of a --pure image) only when alone.
	 */
	uint16_t sig_type;
	uint16_t sig_len;
	uint16_t key_type; /* first SMPFOTA_TLV_KEYHASH or _PUBKEY, 0 if none */

	size_t tlv_count; /* TLVs seen; only the first SMPFOTA_IMAGE_MAX_TLVS are recorded */

	/* The image hash TLV (hash_len bytes): what `mcumgr image list` shows. When the image
	 * has several hash TLVs, the one of computed_type, else the first. */
	uint8_t hash[SMPFOTA_IMAGE_HASH_MAX];
	/* Hash (computed_type) of the hashed bytes; meaningful once all were fed (else zero). */
	uint8_t computed_hash[SMPFOTA_IMAGE_HASH_MAX];
	struct smpfota_image_tlv tlvs[SMPFOTA_IMAGE_MAX_TLVS];
};

/* Streaming reader state. Opaque: use the functions below. */
struct smpfota_image_reader {
	int err; /* sticky first error */
	uint8_t state;
	uint8_t flags;
	uint16_t scratch_len;
	uint32_t off;      /* bytes consumed so far */
	uint32_t need;     /* bytes still wanted by the current state */
	uint32_t tlv_end;  /* end offset of the TLV area being walked */
	uint16_t cur_type; /* TLV whose data is being read */
	uint16_t cur_len;
	uint16_t algo; /* hash computed: SMPFOTA_TLV_SHA256, _SHA384 or _SHA512 */
	uint8_t scratch[SMPFOTA_IMAGE_HEADER_SIZE];
	struct smpfota_image_info info;
	/* mbedTLS SHA-256/512 context, kept opaque so this header does not pull in mbedTLS. */
	union {
		uint64_t align;
		uint8_t bytes[SMPFOTA_IMAGE_SHA_CTX_SIZE];
	} sha;
};

/*
 * Decode a 32-byte header (little endian) and check it: SMPFOTA_ERR_BAD_MAGIC if the magic
 * (or, with len < 4, its first len bytes) is wrong; _TRUNCATED if len < 32; _BAD_HEADER if
 * hdr_size < 32 or hdr_size + img_size + protect_tlv_size plus the largest unprotected TLV
 * area (0xffff) does not fit 32-bit offsets. *hdr is filled whenever len >= 32.
 */
int smpfota_image_header_parse(const uint8_t *buf, size_t len, struct smpfota_image_header *hdr);

/* Start reading an image, hashing with SHA-256. The reader holds no pointers: the data fed
 * need only live during each feed, and the struct may be copied or kept in retained RAM
 * between feeds. */
void smpfota_image_reader_init(struct smpfota_image_reader *r);

/*
 * The same, hashing with the algorithm of hash TLV type hash_tlv (SMPFOTA_TLV_SHA256,
 * _SHA384, _SHA512): for an image whose hash type is known (a target whose MCUboot uses
 * SHA-384, or a second pass after smpfota_image_reader_finish() named another hash_type).
 * 0, SMPFOTA_ERR_INVAL (not a hash TLV type) or _UNSUPPORTED (SHA-384/512 compiled out);
 * on error the reader is set up for SHA-256.
 */
int smpfota_image_reader_init_hash(struct smpfota_image_reader *r, uint16_t hash_tlv);

/* Length of the hash of TLV type hash_tlv (32, 48, 64) when this build checks it, else 0. */
unsigned smpfota_image_hash_len(uint16_t hash_tlv);

/*
 * Feed the next len bytes of the image, in chunks of any size (1 byte works; the result does
 * not depend on the chunking). Bytes after the end of the TLV area (padding, an MCUboot
 * trailer written by `imgtool --pad`) are accepted and ignored. Returns 0, or the first error
 * (sticky; later feeds return it and do nothing): SMPFOTA_ERR_BAD_MAGIC as soon as a byte of
 * the magic is wrong, _BAD_HEADER once the header is in, _TLV_CORRUPT when a TLV info
 * header is wrong or a TLV runs past its area, or when a hash TLV is not 32 (SHA-256),
 * 48 (SHA-384) or 64 (SHA-512) bytes.
 * SMPFOTA_ERR_INVAL (not sticky) for data == NULL with len > 0.
 */
int smpfota_image_reader_feed(struct smpfota_image_reader *r, const uint8_t *data, size_t len);

/*
 * End of input: 0 when the image is complete and its hash TLV matches; otherwise the sticky
 * feed error, or SMPFOTA_ERR_TRUNCATED (input ended before the TLV area did, including empty
 * input), _UNSUPPORTED (encrypted image; no hash TLV this build checks; or a hash TLV of
 * another algorithm than the one computed: info->hash_type says which, read again with
 * smpfota_image_reader_init_hash()) or _HASH_MISMATCH. *info (may be NULL) gets what was
 * learnt in every case. Call it once per init; it releases the hash context.
 */
int smpfota_image_reader_finish(struct smpfota_image_reader *r, struct smpfota_image_info *info);

/* Whole-buffer convenience: init + feed + finish, with the reader on the stack (~600 B), and
 * once more with the image's own hash algorithm when it is not SHA-256. */
int smpfota_image_parse(const uint8_t *buf, size_t len, struct smpfota_image_info *info);

/*
 * The same for an image read through `read` (a file, a flash slot) from offset 0 up to size
 * bytes (bytes after the TLV area are not read), in chunks of buf_size through buf, hashing
 * first with the algorithm of hash_tlv (0 or SMPFOTA_TLV_SHA256: SHA-256) and a second time
 * only if the image's hash TLV is of another one. Returns the reader's verdict as
 * smpfota_image_parse(), or the first error `read` returned.
 */
int smpfota_image_check(smpfota_read_fn read, void *ctx, uint32_t size, uint16_t hash_tlv,
			uint8_t *buf, size_t buf_size, struct smpfota_image_info *info);

/*
 * What `image list` needs from an image in flash, as Zephyr's img_mgmt_read_info(): header,
 * version, flags, TLVs and the image hash TLV value, read at random offsets without reading
 * or hashing the body (info->hash_valid stays false; use the streaming reader to verify).
 * Returns 0, SMPFOTA_ERR_BAD_MAGIC (e.g. an erased slot), _BAD_HEADER, _TLV_CORRUPT,
 * _TRUNCATED (runs past max_size), _UNSUPPORTED (no hash TLV) or SMPFOTA_ERR_IO.
 */
int smpfota_image_read_info(smpfota_read_fn read, void *ctx, uint32_t max_size,
			    struct smpfota_image_info *info);

/*
 * The one version format smpfota prints: "major.minor.revision", then "+build" only when the
 * build number is not 0 ("1.2.3", "1.2.3+4": imgtool sign --version's syntax). Returns the
 * length without the NUL, or SMPFOTA_ERR_NOSPC (buf then holds "" if size > 0).
 * SMPFOTA_IMAGE_VERSION_STR_MAX always fits.
 */
int smpfota_image_version_str(const struct smpfota_image_version *v, char *buf, size_t size);

/*
 * The same with "." before the build: what Zephyr's img_mgmt sends in `image list`
 * (img_mgmt_ver_str(): "1.2.3", "1.2.3.4"), for a server. Same returns.
 */
int smpfota_image_version_wire_str(const struct smpfota_image_version *v, char *buf, size_t size);

/* MCUboot name of a TLV type without the IMAGE_TLV_ prefix ("SHA256", "ECDSA_SIG", ...) or NULL. */
const char *smpfota_image_tlv_name(uint16_t type);

/* Name of a signature TLV type (0x20, 0x22..0x25): "RSA2048_PSS", "ECDSA_SIG", ... or NULL. */
const char *smpfota_image_sig_name(uint16_t type);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_IMAGE_H */
