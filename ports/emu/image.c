/*
 * MCUboot image builder (image.h). Layout as imgtool writes it (shared/spec/mcuboot.md):
 * a little-endian header, the body, the protected TLV area (0x6908) when there is one, then
 * the unprotected area (0x6907) whose SHA-256 TLV covers header + body + protected area.
 */
#include "emu/image.h"

#include <string.h>

#include "sha256.h"
#include "sha512.h"
#include "util.h"

#define HDR_MIN 32U
#define PROT_AREA (4U + 4U + 4U) /* info + security counter TLV */
#define KEYHASH_TLV (4U + 32U)
#define SIG_TLV (4U + 71U) /* a DER ECDSA P-256 signature's usual length */

static uint16_t hdr_size(const struct smpfota_emu_image_spec *s)
{
	return s->hdr_size ? s->hdr_size : 0x200;
}

static uint16_t hash_tlv(const struct smpfota_emu_image_spec *s)
{
	return s->hash_tlv ? s->hash_tlv : SMPFOTA_TLV_SHA256;
}

/* 32, 48, 64 (whatever the library's build checks: the builder makes all three). */
static size_t hash_len(const struct smpfota_emu_image_spec *s)
{
	return 32U + 16U * (size_t)(hash_tlv(s) - SMPFOTA_TLV_SHA256);
}

static size_t tlv_size(const struct smpfota_emu_image_spec *s)
{
	return 4U + 4U + hash_len(s) + (s->hash_only ? 0U : KEYHASH_TLV + SIG_TLV);
}

size_t smpfota_emu_image_size(const struct smpfota_emu_image_spec *s)
{
	if (hdr_size(s) < HDR_MIN) {
		return 0;
	}
	return (size_t)hdr_size(s) + s->body_size + (s->prot ? PROT_AREA : 0U) + tlv_size(s);
}

static size_t put_tlv(uint8_t *p, uint16_t type, uint16_t len, uint8_t fill)
{
	util_put_le16(p, type);
	util_put_le16(p + 2, len);
	memset(p + 4, fill, len);
	return 4U + len;
}

size_t smpfota_emu_image_build(uint8_t *buf, size_t cap, const struct smpfota_emu_image_spec *s,
			       uint8_t *hash)
{
	size_t need = smpfota_emu_image_size(s);
	uint16_t hs = hdr_size(s);
	if (need == 0 || need > cap || hash_tlv(s) < SMPFOTA_TLV_SHA256 ||
	    hash_tlv(s) > SMPFOTA_TLV_SHA512) {
		return 0;
	}
	memset(buf, 0, hs);
	util_put_le32(buf, SMPFOTA_IMAGE_MAGIC);
	util_put_le16(buf + 8, hs);
	util_put_le32(buf + 12, s->body_size);
	util_put_le32(buf + 16, s->flags);
	buf[20] = s->ver.major;
	buf[21] = s->ver.minor;
	util_put_le16(buf + 22, s->ver.revision);
	util_put_le32(buf + 24, s->ver.build);
	memset(buf + HDR_MIN, 0xff, hs - HDR_MIN); /* imgtool --pad-header */
	size_t o = hs;
	if (s->body != NULL) {
		memcpy(buf + o, s->body, s->body_size);
		o += s->body_size;
	} else {
		uint32_t x = s->seed * 2654435761U + 1U;
		for (uint32_t i = 0; i < s->body_size; i++) {
			x = x * 1103515245U + 12345U;
			buf[o++] = (uint8_t)(x >> 16);
		}
	}
	if (s->prot) {
		util_put_le16(buf + o, SMPFOTA_IMAGE_TLV_PROT_INFO_MAGIC);
		util_put_le16(buf + o + 2, PROT_AREA);
		util_put_le16(buf + o + 4, SMPFOTA_TLV_SEC_CNT);
		util_put_le16(buf + o + 6, 4);
		util_put_le32(buf + o + 8, s->seed);
		util_put_le16(buf + 10, PROT_AREA);
		o += PROT_AREA;
	}
	/* The unprotected area: info header, then the hash of everything before it. */
	uint8_t *tlv = buf + o;
	util_put_le16(tlv, SMPFOTA_IMAGE_TLV_INFO_MAGIC);
	util_put_le16(tlv + 2, (uint16_t)tlv_size(s));
	util_put_le16(tlv + 4, hash_tlv(s));
	util_put_le16(tlv + 6, (uint16_t)hash_len(s));
	int rc;
	if (hash_tlv(s) == SMPFOTA_TLV_SHA256) {
		smpfota_sha256_ctx sha;
		smpfota_sha256_init(&sha);
		rc = smpfota_sha256_starts(&sha);
		rc = rc ? rc : smpfota_sha256_update(&sha, buf, o);
		rc = rc ? rc : smpfota_sha256_finish(&sha, tlv + 8);
		smpfota_sha256_free(&sha);
	} else {
		smpfota_sha512_ctx sha;
		smpfota_sha512_init(&sha);
		rc = smpfota_sha512_starts(&sha, hash_tlv(s) == SMPFOTA_TLV_SHA384);
		rc = rc ? rc : smpfota_sha512_update(&sha, buf, o);
		rc = rc ? rc : smpfota_sha512_finish(&sha, tlv + 8);
		smpfota_sha512_free(&sha);
	}
	if (rc != 0) {
		return 0;
	}
	if (hash != NULL) {
		memcpy(hash, tlv + 8, hash_len(s));
	}
	o += 4U + 4U + hash_len(s);
	if (!s->hash_only) {
		o += put_tlv(buf + o, SMPFOTA_TLV_KEYHASH, 32, 0x4b);
		o += put_tlv(buf + o, SMPFOTA_TLV_ECDSA_SIG, 71, 0x30);
	}
	return o;
}
