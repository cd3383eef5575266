/*
 * Unit tests for the MCUboot image reader. Images are built in memory here, with a real
 * SHA-256 TLV, so every field of the layout can be bent on purpose.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <mbedtls/version.h>

#include "check.h"
#include "smpfota/image.h"
#include "util.h"

#if MBEDTLS_VERSION_MAJOR >= 3
#define sha256(p, n, out) mbedtls_sha256((p), (n), (out), 0)
#define sha512(p, n, out, is384) mbedtls_sha512((p), (n), (out), (is384))
#else
#define sha256(p, n, out) mbedtls_sha256_ret((p), (n), (out), 0)
#define sha512(p, n, out, is384) mbedtls_sha512_ret((p), (n), (out), (is384))
#endif

#define IMG_CAP 8192

/* What build_image() writes. Zero-initialised spec = plain signed image, 0x20 header. */
struct spec {
	uint16_t hdr_size; /* 0 -> 32 */
	uint32_t body_size;
	uint32_t flags;
	struct smpfota_image_version ver;
	bool prot;           /* protected area: SEC_CNT + a vendor TLV */
	bool no_hash;        /* a vendor TLV instead of the hash TLV */
	uint16_t hash_tlv;   /* 0 -> SHA256; SHA384, SHA512: a real hash of that kind */
	bool sha384_too;     /* a SHA384 TLV after the first hash TLV */
	bool two_hashes;     /* a second, identical SHA256 TLV */
	bool pure_marker;    /* a 1-byte SIG_PURE TLV before the key and signature */
	bool no_sig;         /* no signature TLV */
	uint16_t extra_tlvs; /* this many extra vendor TLVs in the unprotected area */
	uint16_t sha_len;    /* 0 -> 32 */
	uint32_t trailing;   /* bytes of 0xff after the image */
};

struct built {
	uint8_t buf[IMG_CAP];
	size_t len;        /* with trailing bytes */
	size_t image_size; /* without */
	uint32_t hashed;
	uint32_t sha_off;    /* where the hash TLV value is */
	uint32_t prot_off;   /* where the protected TLV info is (0 if none) */
	uint32_t info_off;   /* where the 0x6907 TLV info is */
	uint8_t hash[64];    /* of the hash_tlv's kind */
	uint8_t hash384[64]; /* 48 used: mbedTLS writes SHA-384 into a 64-byte buffer */
	uint16_t hash_len;
};

static struct built img; /* the image under test; rebuilt by each case */

static size_t put_tlv(uint8_t *p, uint16_t type, uint16_t len, uint8_t fill)
{
	util_put_le16(p, type);
	util_put_le16(p + 2, len);
	memset(p + 4, fill, len);
	return 4U + len;
}

static void build_image(const struct spec *s)
{
	uint8_t *b = img.buf;
	uint16_t hdr_size = s->hdr_size ? s->hdr_size : 32;
	size_t o;

	memset(&img, 0, sizeof(img));
	util_put_le32(b, SMPFOTA_IMAGE_MAGIC);
	util_put_le32(b + 4, 0);
	util_put_le16(b + 8, hdr_size);
	util_put_le32(b + 12, s->body_size);
	util_put_le32(b + 16, s->flags);
	b[20] = s->ver.major;
	b[21] = s->ver.minor;
	util_put_le16(b + 22, s->ver.revision);
	util_put_le32(b + 24, s->ver.build);
	memset(b + 32, 0xff, hdr_size - 32U); /* as --pad-header does */
	o = hdr_size;
	for (uint32_t i = 0; i < s->body_size; i++) {
		b[o++] = (uint8_t)(i * 7 + (i >> 8));
	}

	uint16_t prot_size = 0;
	if (s->prot) {
		img.prot_off = (uint32_t)o;
		size_t start = o;
		o += 4;
		o += put_tlv(b + o, SMPFOTA_TLV_SEC_CNT, 4, 0x01);
		o += put_tlv(b + o, 0x00a5, 5, 0x5a);
		prot_size = (uint16_t)(o - start);
		util_put_le16(b + start, SMPFOTA_IMAGE_TLV_PROT_INFO_MAGIC);
		util_put_le16(b + start + 2, prot_size);
		util_put_le16(b + 10, prot_size);
	}
	img.hashed = (uint32_t)o;
	uint16_t type = s->hash_tlv ? s->hash_tlv : SMPFOTA_TLV_SHA256;
	img.hash_len = (uint16_t)(32U + 16U * (unsigned)(type - SMPFOTA_TLV_SHA256));
	if (type == SMPFOTA_TLV_SHA256) {
		sha256(b, o, img.hash);
	} else {
		sha512(b, o, img.hash, type == SMPFOTA_TLV_SHA384);
	}
	sha512(b, o, img.hash384, 1);

	img.info_off = (uint32_t)o;
	size_t start = o;
	o += 4;
	if (s->no_hash) {
		o += put_tlv(b + o, 0x00a7, 64, 0x12);
	} else {
		uint16_t sha_len = s->sha_len ? s->sha_len : img.hash_len;
		util_put_le16(b + o, type);
		util_put_le16(b + o + 2, sha_len);
		img.sha_off = (uint32_t)o + 4;
		memset(b + o + 4, 0xee, sha_len);
		memcpy(b + o + 4, img.hash, sha_len < img.hash_len ? sha_len : img.hash_len);
		o += 4U + sha_len;
	}
	if (s->sha384_too) {
		util_put_le16(b + o, SMPFOTA_TLV_SHA384);
		util_put_le16(b + o + 2, 48);
		memcpy(b + o + 4, img.hash384, 48);
		o += 4U + 48U;
	}
	if (s->two_hashes) {
		util_put_le16(b + o, SMPFOTA_TLV_SHA256);
		util_put_le16(b + o + 2, 32);
		memcpy(b + o + 4, img.hash, 32);
		o += 36;
	}
	if (s->pure_marker) {
		o += put_tlv(b + o, SMPFOTA_TLV_SIG_PURE, 1, 0x00);
	}
	o += put_tlv(b + o, SMPFOTA_TLV_KEYHASH, 32, 0x4b);
	if (!s->no_sig) {
		o += put_tlv(b + o, SMPFOTA_TLV_ECDSA_SIG, 71, 0x30);
	}
	for (uint16_t i = 0; i < s->extra_tlvs; i++) {
		o += put_tlv(b + o, (uint16_t)(0x00b0 + i), (uint16_t)(i % 3), 0x77);
	}
	util_put_le16(b + start, SMPFOTA_IMAGE_TLV_INFO_MAGIC);
	util_put_le16(b + start + 2, (uint16_t)(o - start));
	img.image_size = o;
	memset(b + o, 0xff, s->trailing);
	img.len = o + s->trailing;
}

/* Feed buf[0..len) in chunks from sizes[] (cycled), then finish. */
static int parse_chunked_algo(const uint8_t *buf, size_t len, const size_t *sizes, size_t nsizes,
			      uint16_t algo, struct smpfota_image_info *info)
{
	struct smpfota_image_reader r;
	CHECK_EQ(smpfota_image_reader_init_hash(&r, algo), 0);
	size_t off = 0, i = 0;
	while (off < len) {
		size_t n = sizes[i++ % nsizes];
		if (n > len - off) {
			n = len - off;
		}
		int err = smpfota_image_reader_feed(&r, buf + off, n);
		if (err) {
			/* sticky: the rest must be refused the same way */
			CHECK_EQ(smpfota_image_reader_feed(&r, buf, len), err);
			break;
		}
		off += n;
	}
	return smpfota_image_reader_finish(&r, info);
}

/* As smpfota_image_parse(): SHA-256 first, again with the image's algorithm if it differs. */
static int parse_chunked(const uint8_t *buf, size_t len, const size_t *sizes, size_t nsizes,
			 struct smpfota_image_info *info)
{
	int rc = parse_chunked_algo(buf, len, sizes, nsizes, SMPFOTA_TLV_SHA256, info);
	if (rc == SMPFOTA_ERR_UNSUPPORTED && info->has_hash &&
	    info->hash_type != SMPFOTA_TLV_SHA256) {
		rc = parse_chunked_algo(buf, len, sizes, nsizes, info->hash_type, info);
	}
	return rc;
}

static bool info_equal(const struct smpfota_image_info *a, const struct smpfota_image_info *b)
{
	bool eq = a->header_valid == b->header_valid && a->hashed_size == b->hashed_size &&
		  a->image_size == b->image_size && a->has_hash == b->has_hash &&
		  a->hash_valid == b->hash_valid && a->sig_type == b->sig_type &&
		  a->sig_len == b->sig_len && a->key_type == b->key_type &&
		  a->tlv_count == b->tlv_count && !memcmp(a->hash, b->hash, sizeof(a->hash)) &&
		  !memcmp(a->computed_hash, b->computed_hash, sizeof(a->hash)) &&
		  a->hash_type == b->hash_type && a->hash_len == b->hash_len &&
		  a->computed_type == b->computed_type &&
		  !memcmp(&a->hdr.version, &b->hdr.version, sizeof(a->hdr.version)) &&
		  a->hdr.img_size == b->hdr.img_size && a->hdr.hdr_size == b->hdr.hdr_size;
	size_t n = a->tlv_count < SMPFOTA_IMAGE_MAX_TLVS ? a->tlv_count : SMPFOTA_IMAGE_MAX_TLVS;
	for (size_t i = 0; eq && i < n; i++) {
		eq = a->tlvs[i].type == b->tlvs[i].type && a->tlvs[i].len == b->tlvs[i].len &&
		     a->tlvs[i].off == b->tlvs[i].off &&
		     a->tlvs[i].protected_tlv == b->tlvs[i].protected_tlv;
	}
	return eq;
}

/* Whole-buffer and 1-byte feeds must agree; returns the common result. */
static int parse_both(const uint8_t *buf, size_t len, struct smpfota_image_info *info)
{
	static const size_t one = 1;
	struct smpfota_image_info bytewise;
	int rc = smpfota_image_parse(buf, len, info);
	CHECK_EQ(parse_chunked(buf, len, &one, 1, &bytewise), rc);
	CHECK(info_equal(info, &bytewise));
	return rc;
}

static void test_whole_ok(void)
{
	struct spec s = {.hdr_size = 0x200, .body_size = 1000, .ver = {1, 2, 3, 4}};
	struct smpfota_image_info info;
	build_image(&s);
	CHECK_EQ(smpfota_image_parse(img.buf, img.len, &info), 0);
	CHECK(info.header_valid);
	CHECK_EQ(info.hdr.magic, SMPFOTA_IMAGE_MAGIC);
	CHECK_EQ(info.hdr.hdr_size, 0x200);
	CHECK_EQ(info.hdr.img_size, 1000);
	CHECK_EQ(info.hdr.protect_tlv_size, 0);
	CHECK_EQ(info.hdr.version.major, 1);
	CHECK_EQ(info.hdr.version.minor, 2);
	CHECK_EQ(info.hdr.version.revision, 3);
	CHECK_EQ(info.hdr.version.build, 4);
	CHECK_EQ(info.hashed_size, 0x200 + 1000);
	CHECK_EQ(info.image_size, img.image_size);
	CHECK_EQ(info.image_size, 0x200 + 1000 + 4 + 36 + 36 + 75);
	CHECK(info.has_hash);
	CHECK(info.hash_valid);
	CHECK_MEM(info.hash, img.hash, 32);
	CHECK_MEM(info.computed_hash, img.hash, 32);
	CHECK_EQ(info.sig_type, SMPFOTA_TLV_ECDSA_SIG);
	CHECK_EQ(info.sig_len, 71);
	CHECK_EQ(info.key_type, SMPFOTA_TLV_KEYHASH);
	CHECK_EQ(info.tlv_count, 3);
	CHECK_EQ(info.tlvs[0].type, SMPFOTA_TLV_SHA256);
	CHECK_EQ(info.tlvs[0].len, 32);
	CHECK_EQ(info.tlvs[0].off, 0x200 + 1000 + 4);
	CHECK(!info.tlvs[0].protected_tlv);
	CHECK_EQ(info.tlvs[1].type, SMPFOTA_TLV_KEYHASH);
	CHECK_EQ(info.tlvs[2].type, SMPFOTA_TLV_ECDSA_SIG);
	CHECK_EQ(info.tlvs[2].off, 0x200 + 1000 + 4 + 36 + 36);

	/* info may be NULL */
	CHECK_EQ(smpfota_image_parse(img.buf, img.len, NULL), 0);
}

static void test_minimal_image(void)
{
	/* 32-byte header, empty body: the hashed area ends with the header. */
	struct spec s = {0};
	struct smpfota_image_info info;
	build_image(&s);
	CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
	CHECK_EQ(info.hashed_size, 32);
	CHECK(info.hash_valid);
}

static void test_every_chunk_size(void)
{
	struct spec s = {.hdr_size = 0x200, .body_size = 777, .prot = true, .ver = {9, 8, 7, 6}};
	struct smpfota_image_info whole, chunked;
	build_image(&s);
	CHECK_EQ(smpfota_image_parse(img.buf, img.len, &whole), 0);
	for (size_t n = 1; n <= 64; n++) {
		memset(&chunked, 0x55, sizeof(chunked));
		CHECK_EQ(parse_chunked(img.buf, img.len, &n, 1, &chunked), 0);
		CHECK(info_equal(&whole, &chunked));
	}
}

static uint32_t lcg(uint32_t *state)
{
	*state = *state * 1664525U + 1013904223U;
	return *state >> 8;
}

static void test_random_chunkings(void)
{
	struct spec s = {.hdr_size = 0x80, .body_size = 3000, .prot = true, .trailing = 100};
	struct smpfota_image_info whole, chunked;
	uint32_t seed = 12345;
	build_image(&s);
	CHECK_EQ(smpfota_image_parse(img.buf, img.len, &whole), 0);
	for (int round = 0; round < 300; round++) {
		size_t sizes[16];
		for (size_t i = 0; i < 16; i++) {
			/* mostly small, sometimes large, sometimes empty chunks */
			uint32_t v = lcg(&seed);
			sizes[i] = (v & 3) == 0 ? v % 2048 : v % 9;
		}
		sizes[0] |= 1; /* never an all-zero cycle */
		CHECK_EQ(parse_chunked(img.buf, img.len, sizes, 16, &chunked), 0);
		CHECK(info_equal(&whole, &chunked));
	}
}

static void test_protected_tlvs_hashed(void)
{
	struct spec s = {.hdr_size = 0x200, .body_size = 100, .prot = true};
	struct smpfota_image_info info;
	build_image(&s);
	CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
	CHECK_EQ(info.hdr.protect_tlv_size, 4 + 8 + 9);
	CHECK_EQ(info.hashed_size, 0x200 + 100 + 21);
	CHECK_EQ(info.image_size, img.image_size);
	CHECK_EQ(info.tlv_count, 5);
	CHECK_EQ(info.tlvs[0].type, SMPFOTA_TLV_SEC_CNT);
	CHECK(info.tlvs[0].protected_tlv);
	CHECK_EQ(info.tlvs[1].type, 0x00a5);
	CHECK(info.tlvs[1].protected_tlv);
	CHECK_EQ(info.tlvs[2].type, SMPFOTA_TLV_SHA256);
	CHECK(!info.tlvs[2].protected_tlv);

	/* a protected TLV value is covered by the hash... */
	img.buf[img.prot_off + 8] ^= 0x01;
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_HASH_MISMATCH);
	CHECK(!info.hash_valid);
	img.buf[img.prot_off + 8] ^= 0x01;

	/* ...an unprotected one (the signature) is not */
	img.buf[img.image_size - 1] ^= 0x01;
	CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
}

static void test_trailing_ignored(void)
{
	struct spec s = {.body_size = 64, .trailing = 5000};
	struct smpfota_image_info info;
	build_image(&s);
	/* trailing bytes that would be a corrupt TLV area if they were read as one */
	memset(img.buf + img.image_size, 0x00, 100);
	CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
	CHECK_EQ(info.image_size, img.image_size);
	CHECK_EQ(info.tlv_count, 3);
}

static void test_bad_magic(void)
{
	struct spec s = {.body_size = 64};
	struct smpfota_image_info info;
	struct smpfota_image_reader r;
	build_image(&s);

	for (size_t i = 0; i < 4; i++) {
		img.buf[i] ^= 0x40;
		CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_BAD_MAGIC);
		CHECK(!info.header_valid);
		/* reported as soon as the wrong byte is in */
		smpfota_image_reader_init(&r);
		CHECK_EQ(smpfota_image_reader_feed(&r, img.buf, i + 1), SMPFOTA_ERR_BAD_MAGIC);
		/* sticky, also for later good data and at finish */
		CHECK_EQ(smpfota_image_reader_feed(&r, img.buf + i + 1, 10), SMPFOTA_ERR_BAD_MAGIC);
		CHECK_EQ(smpfota_image_reader_finish(&r, NULL), SMPFOTA_ERR_BAD_MAGIC);
		img.buf[i] ^= 0x40;
	}
	/* the old IMAGE_MAGIC_V1 is not accepted either */
	util_put_le32(img.buf, 0x96f3b83cU);
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_BAD_MAGIC);

	static const char text[] = "hello, world: this is not an image";
	CHECK_EQ(smpfota_image_parse((const uint8_t *)text, sizeof(text), &info),
		 SMPFOTA_ERR_BAD_MAGIC);
	CHECK_EQ(smpfota_image_parse((const uint8_t *)text, 1, &info), SMPFOTA_ERR_BAD_MAGIC);
}

static void test_bad_header_sizes(void)
{
	struct spec s = {.body_size = 64};
	struct smpfota_image_info info;
	struct smpfota_image_reader r;

	static const uint16_t small[] = {0, 1, 16, 31};
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		build_image(&s);
		util_put_le16(img.buf + 8, small[i]);
		CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_BAD_HEADER);
		CHECK(!info.header_valid);
		CHECK_EQ(info.hdr.hdr_size, small[i]); /* still decoded */
		/* reported by the feed that completes the header, not later */
		smpfota_image_reader_init(&r);
		CHECK_EQ(smpfota_image_reader_feed(&r, img.buf, 31), 0);
		CHECK_EQ(smpfota_image_reader_feed(&r, img.buf + 31, 1), SMPFOTA_ERR_BAD_HEADER);
		CHECK_EQ(smpfota_image_reader_finish(&r, NULL), SMPFOTA_ERR_BAD_HEADER);
	}

	/* sizes that overflow 32-bit offsets */
	build_image(&s);
	util_put_le32(img.buf + 12, 0xffffffffU);
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_BAD_HEADER);
	util_put_le32(img.buf + 12, 0xffffffffU - 0xffffU - 0xffffU);
	util_put_le16(img.buf + 8, 0xffff);
	CHECK_EQ(smpfota_image_header_parse(img.buf, 32, NULL), 0); /* exactly fits */
	util_put_le16(img.buf + 10, 1);
	CHECK_EQ(smpfota_image_header_parse(img.buf, 32, NULL), SMPFOTA_ERR_BAD_HEADER);
}

static void test_header_parse(void)
{
	struct spec s = {.hdr_size = 0x200,
			 .body_size = 10,
			 .flags = 0x110,
			 .ver = {255, 254, 65535, 4294967295U}};
	struct smpfota_image_header h;
	build_image(&s);
	util_put_le32(img.buf + 4, 0x12345678);
	CHECK_EQ(smpfota_image_header_parse(img.buf, 32, &h), 0);
	CHECK_EQ(h.magic, SMPFOTA_IMAGE_MAGIC);
	CHECK_EQ(h.load_addr, 0x12345678);
	CHECK_EQ(h.hdr_size, 0x200);
	CHECK_EQ(h.img_size, 10);
	CHECK_EQ(h.flags, 0x110);
	CHECK_EQ(h.version.major, 255);
	CHECK_EQ(h.version.minor, 254);
	CHECK_EQ(h.version.revision, 65535);
	CHECK_EQ(h.version.build, 4294967295U);
	CHECK_EQ(smpfota_image_header_parse(img.buf, 31, &h), SMPFOTA_ERR_TRUNCATED);
	CHECK_EQ(smpfota_image_header_parse(img.buf, 3, &h), SMPFOTA_ERR_TRUNCATED);
	CHECK_EQ(smpfota_image_header_parse(img.buf, 0, &h), SMPFOTA_ERR_TRUNCATED);
	CHECK_EQ(smpfota_image_header_parse(NULL, 0, &h), SMPFOTA_ERR_TRUNCATED);
	CHECK_EQ(smpfota_image_header_parse(NULL, 32, &h), SMPFOTA_ERR_INVAL);
	img.buf[2] = 0;
	CHECK_EQ(smpfota_image_header_parse(img.buf, 3, &h), SMPFOTA_ERR_BAD_MAGIC);
}

static void test_truncated_everywhere(void)
{
	struct spec s = {.hdr_size = 0x40, .body_size = 50, .prot = true, .trailing = 8};
	struct smpfota_image_info info;
	build_image(&s);
	for (size_t len = 0; len < img.image_size; len++) {
		int rc = parse_both(img.buf, len, &info);
		CHECK_EQ(rc, SMPFOTA_ERR_TRUNCATED);
		CHECK(!info.hash_valid);
		CHECK_EQ(info.header_valid, len >= 32);
		if (rc != SMPFOTA_ERR_TRUNCATED) {
			fprintf(stderr, "  at length %zu\n", len);
			break;
		}
	}
	/* and every length from the end of the TLV area on is complete */
	for (size_t len = img.image_size; len <= img.len; len++) {
		CHECK_EQ(smpfota_image_parse(img.buf, len, &info), 0);
	}
	CHECK_EQ(smpfota_image_parse(NULL, 0, &info), SMPFOTA_ERR_TRUNCATED);
}

static void test_bit_flips(void)
{
	struct spec s = {.hdr_size = 0x200, .body_size = 300, .ver = {1, 0, 0, 0}};
	struct smpfota_image_info info;
	build_image(&s);

	/* body */
	img.buf[0x200 + 150] ^= 0x10;
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_HASH_MISMATCH);
	CHECK(info.has_hash);
	CHECK(!info.hash_valid);
	CHECK_MEM(info.hash, img.hash, 32);
	CHECK(memcmp(info.computed_hash, img.hash, 32) != 0);
	img.buf[0x200 + 150] ^= 0x10;

	/* header padding and a header field (the version) are hashed too */
	img.buf[100] ^= 0x01;
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_HASH_MISMATCH);
	img.buf[100] ^= 0x01;
	img.buf[20] ^= 0x01;
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_HASH_MISMATCH);
	img.buf[20] ^= 0x01;

	/* the stored hash itself */
	img.buf[img.sha_off + 31] ^= 0x80;
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_HASH_MISMATCH);
	img.buf[img.sha_off + 31] ^= 0x80;

	CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
}

static void test_tlv_corrupt(void)
{
	struct spec plain = {.body_size = 40};
	struct spec prot = {.body_size = 40, .prot = true};
	struct smpfota_image_info info;

	/* 0x6907 magic */
	build_image(&plain);
	img.buf[img.info_off] ^= 0x01;
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
	CHECK(info.header_valid);
	CHECK(!info.hash_valid);

	/* it_tlv_tot below its own size */
	for (uint16_t tot = 0; tot < 4; tot++) {
		build_image(&plain);
		util_put_le16(img.buf + img.info_off + 2, tot);
		CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
	}

	/* it_tlv_tot too small: the last TLV runs past the area */
	build_image(&plain);
	util_put_le16(img.buf + img.info_off + 2, (uint16_t)(img.image_size - img.info_off - 1));
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
	/* ...or leaves 1..3 bytes where a TLV header should be */
	build_image(&plain);
	util_put_le16(img.buf + img.info_off + 2, 4 + 36 + 2);
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
	/* it_tlv_tot too large with nothing after: the TLV area is cut short */
	build_image(&plain);
	util_put_le16(img.buf + img.info_off + 2, (uint16_t)(img.image_size - img.info_off + 4));
	CHECK_EQ(parse_both(img.buf, img.image_size, &info), SMPFOTA_ERR_TRUNCATED);

	/* a TLV length past the area */
	build_image(&plain);
	util_put_le16(img.buf + img.info_off + 4 + 36 + 2, 0xffff); /* KEYHASH len */
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);

	/* protected info magic, total vs ih_protect_tlv_size */
	build_image(&prot);
	img.buf[img.prot_off + 1] ^= 0x01;
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
	build_image(&prot);
	util_put_le16(img.buf + img.prot_off + 2, 20);
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
	build_image(&prot);
	util_put_le16(img.buf + 10, 20); /* header disagrees with the info (hash breaks too) */
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
	build_image(&prot);
	util_put_le16(img.buf + 10, 0); /* protected area present but not announced */
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
	build_image(&plain);
	util_put_le16(img.buf + 10, 2); /* announced, impossibly small */
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
	/* a protected TLV running past the protected area */
	build_image(&prot);
	util_put_le16(img.buf + img.prot_off + 4 + 2, 100);
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);

	/* SHA256 TLV of the wrong length */
	build_image(&plain);
	util_put_le16(img.buf + img.info_off + 6, 0);
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
	static const uint16_t bad_len[] = {1, 31, 33, 48, 64};
	for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
		struct spec s = {.body_size = 40, .sha_len = bad_len[i]};
		build_image(&s);
		CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
		CHECK(!info.has_hash);
	}
}

static void test_unsupported(void)
{
	struct smpfota_image_info info;

	/* no hash TLV at all */
	struct spec s = {.body_size = 40, .no_hash = true};
	build_image(&s);
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_UNSUPPORTED);
	CHECK(!info.has_hash);
	CHECK(!info.hash_valid);
	CHECK_EQ(info.image_size, img.image_size); /* info still complete */
	CHECK_EQ(info.tlv_count, 3);
	CHECK_EQ(info.tlvs[0].type, 0x00a7);
	CHECK_EQ(info.sig_type, SMPFOTA_TLV_ECDSA_SIG);
	CHECK_MEM(info.computed_hash, img.hash, 32);

	/* encrypted: we cannot check a hash of the plaintext */
	struct spec e = {.body_size = 40, .flags = SMPFOTA_IMAGE_F_ENCRYPTED_AES128};
	build_image(&e);
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_UNSUPPORTED);
	CHECK(info.has_hash);
	struct spec e2 = {.body_size = 40, .flags = SMPFOTA_IMAGE_F_ENCRYPTED_AES256};
	build_image(&e2);
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_UNSUPPORTED);

	/* other flags are fine */
	struct spec f = {.body_size = 40,
			 .flags = SMPFOTA_IMAGE_F_NON_BOOTABLE | SMPFOTA_IMAGE_F_ROM_FIXED};
	build_image(&f);
	CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
	CHECK_EQ(info.hdr.flags, 0x110);
}

static void test_two_hash_tlvs(void)
{
	struct spec s = {.body_size = 40, .two_hashes = true};
	struct smpfota_image_info info;
	build_image(&s);
	CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
	CHECK_EQ(info.tlv_count, 4);
	/* MCUboot checks every SHA256 TLV: a second, different one fails */
	img.buf[img.sha_off + 32 + 4 + 5] ^= 0x01;
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_HASH_MISMATCH);
	CHECK_MEM(info.hash, img.hash, 32); /* the first is reported */
}

/* Feed the whole buffer to a reader set for one algorithm. */
static int parse_algo(uint16_t algo, struct smpfota_image_info *info)
{
	struct smpfota_image_reader r;
	CHECK_EQ(smpfota_image_reader_init_hash(&r, algo), 0);
	(void)smpfota_image_reader_feed(&r, img.buf, img.len);
	return smpfota_image_reader_finish(&r, info);
}

static void test_sha384_sha512(void)
{
	static const uint16_t types[] = {SMPFOTA_TLV_SHA384, SMPFOTA_TLV_SHA512};
	struct smpfota_image_info info;

	for (size_t t = 0; t < 2; t++) {
		struct spec s = {.body_size = 3000, .prot = true, .hash_tlv = types[t]};
		build_image(&s);
		CHECK_EQ(smpfota_image_hash_len(types[t]), img.hash_len);
		/* whole buffer: a second pass with the image's own algorithm */
		CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
		CHECK(info.has_hash && info.hash_valid);
		CHECK_EQ(info.hash_type, types[t]);
		CHECK_EQ(info.computed_type, types[t]);
		CHECK_EQ(info.hash_len, img.hash_len);
		CHECK_MEM(info.hash, img.hash, img.hash_len);
		CHECK_MEM(info.computed_hash, img.hash, img.hash_len);
		/* a stream hashed with SHA-256 says which algorithm it needed */
		CHECK_EQ(parse_algo(SMPFOTA_TLV_SHA256, &info), SMPFOTA_ERR_UNSUPPORTED);
		CHECK(info.has_hash && !info.hash_valid);
		CHECK_EQ(info.hash_type, types[t]);
		CHECK_EQ(info.computed_type, SMPFOTA_TLV_SHA256);
		CHECK_EQ(parse_algo(types[t], &info), 0);
		/* one flipped body bit */
		img.buf[100] ^= 0x04;
		CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_HASH_MISMATCH);
		CHECK(info.hash_type == types[t] && !info.hash_valid);
		img.buf[100] ^= 0x04;
		/* the length must be the algorithm's */
		struct spec bad = {.body_size = 30, .hash_tlv = types[t], .sha_len = 32};
		build_image(&bad);
		CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);
	}
	/* a SHA-256 TLV with 48 bytes is no SHA-384 either */
	struct spec bad = {.body_size = 30, .sha_len = 48};
	build_image(&bad);
	CHECK_EQ(parse_both(img.buf, img.len, &info), SMPFOTA_ERR_TLV_CORRUPT);

	/* Two hash TLVs of different kinds: each reader checks its own, MCUboot's way. */
	struct spec two = {.body_size = 500, .sha384_too = true};
	build_image(&two);
	CHECK_EQ(parse_algo(SMPFOTA_TLV_SHA256, &info), 0);
	CHECK_EQ(info.hash_type, SMPFOTA_TLV_SHA256);
	CHECK_MEM(info.hash, img.hash, 32);
	CHECK_EQ(parse_algo(SMPFOTA_TLV_SHA384, &info), 0);
	CHECK_EQ(info.hash_type, SMPFOTA_TLV_SHA384);
	CHECK_MEM(info.hash, img.hash384, 48);
	CHECK_EQ(parse_algo(SMPFOTA_TLV_SHA512, &info), SMPFOTA_ERR_UNSUPPORTED);
	CHECK_EQ(info.hash_type, SMPFOTA_TLV_SHA256); /* the first, when none is of ours */

	/* what init_hash takes */
	struct smpfota_image_reader r;
	CHECK_EQ(smpfota_image_reader_init_hash(&r, SMPFOTA_TLV_ECDSA_SIG), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_image_reader_init_hash(&r, 0), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_image_hash_len(SMPFOTA_TLV_SHA256), 32);
	CHECK_EQ(smpfota_image_hash_len(SMPFOTA_TLV_KEYHASH), 0);
}

struct counting_src {
	const struct built *b;
	size_t bytes, calls;
};

static int counting_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	struct counting_src *c = ctx;
	if (off > c->b->len || len > c->b->len - off) {
		return SMPFOTA_ERR_IO;
	}
	memcpy(buf, c->b->buf + off, len);
	c->bytes += len;
	c->calls++;
	return 0;
}

static int failing_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	(void)ctx;
	(void)off;
	(void)buf;
	(void)len;
	return SMPFOTA_ERR_RANGE;
}

static void test_check_from_source(void)
{
	uint8_t chunk[100];
	struct smpfota_image_info info;
	struct counting_src c = {&img, 0, 0};

	/* a padded image: nothing after the TLVs is read */
	struct spec s = {.body_size = 2000, .trailing = 4000};
	build_image(&s);
	CHECK_EQ(smpfota_image_check(counting_read, &c, (uint32_t)img.len, 0, chunk, sizeof(chunk),
				     &info),
		 0);
	CHECK(info.hash_valid);
	CHECK(c.bytes >= img.image_size && c.bytes < img.image_size + sizeof(chunk));
	/* SHA-512: read twice unless the caller says so first */
	struct spec s512 = {.body_size = 2000, .hash_tlv = SMPFOTA_TLV_SHA512};
	build_image(&s512);
	c.bytes = 0;
	CHECK_EQ(smpfota_image_check(counting_read, &c, (uint32_t)img.len, 0, chunk, sizeof(chunk),
				     &info),
		 0);
	CHECK_EQ(c.bytes, 2 * img.len);
	CHECK_EQ(info.hash_type, SMPFOTA_TLV_SHA512);
	c.bytes = 0;
	CHECK_EQ(smpfota_image_check(counting_read, &c, (uint32_t)img.len, SMPFOTA_TLV_SHA512,
				     chunk, sizeof(chunk), &info),
		 0);
	CHECK_EQ(c.bytes, img.len);
	/* the read error comes back as it is; bad arguments */
	CHECK_EQ(smpfota_image_check(failing_read, NULL, (uint32_t)img.len, 0, chunk, sizeof(chunk),
				     &info),
		 SMPFOTA_ERR_RANGE);
	CHECK_EQ(smpfota_image_check(NULL, NULL, 10, 0, chunk, sizeof(chunk), &info),
		 SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_image_check(counting_read, &c, 10, 0, chunk, 0, &info), SMPFOTA_ERR_INVAL);
}

static void test_many_tlvs(void)
{
	struct spec s = {.body_size = 40, .prot = true, .extra_tlvs = 30};
	struct smpfota_image_info info;
	build_image(&s);
	CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
	CHECK_EQ(info.tlv_count, 2 + 3 + 30);
	CHECK_EQ(info.tlvs[SMPFOTA_IMAGE_MAX_TLVS - 1].type, 0x00b0 + SMPFOTA_IMAGE_MAX_TLVS - 6);
	CHECK_EQ(info.image_size, img.image_size);
}

static void test_signature_kinds(void)
{
	struct smpfota_image_info info;

	struct spec unsigned_img = {.body_size = 40, .no_sig = true};
	build_image(&unsigned_img);
	CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
	CHECK_EQ(info.sig_type, 0);
	CHECK_EQ(info.sig_len, 0);
	CHECK_EQ(info.key_type, SMPFOTA_TLV_KEYHASH);

	/* the SIG_PURE marker gives way to the signature after it */
	struct spec pure = {.body_size = 40, .pure_marker = true};
	build_image(&pure);
	CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
	CHECK_EQ(info.sig_type, SMPFOTA_TLV_ECDSA_SIG);
	CHECK_EQ(info.sig_len, 71);
	CHECK_EQ(info.tlvs[1].type, SMPFOTA_TLV_SIG_PURE);

	struct spec marker_only = {.body_size = 40, .pure_marker = true, .no_sig = true};
	build_image(&marker_only);
	CHECK_EQ(parse_both(img.buf, img.len, &info), 0);
	CHECK_EQ(info.sig_type, SMPFOTA_TLV_SIG_PURE);
	CHECK_EQ(info.sig_len, 1);
}

static void test_feed_args(void)
{
	struct smpfota_image_reader r;
	smpfota_image_reader_init(&r);
	CHECK_EQ(smpfota_image_reader_feed(&r, NULL, 0), 0);
	CHECK_EQ(smpfota_image_reader_feed(&r, NULL, 5), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_image_reader_finish(&r, NULL), SMPFOTA_ERR_TRUNCATED);
}

static void test_version_str(void)
{
	char buf[SMPFOTA_IMAGE_VERSION_STR_MAX];
	struct smpfota_image_version v = {1, 2, 3, 4};
	CHECK_EQ(smpfota_image_version_str(&v, buf, sizeof(buf)), 7);
	CHECK(!strcmp(buf, "1.2.3+4"));

	struct smpfota_image_version zero = {0, 0, 0, 0};
	CHECK_EQ(smpfota_image_version_str(&zero, buf, sizeof(buf)), 5);
	CHECK(!strcmp(buf, "0.0.0")); /* build 0: not shown, as img_mgmt */

	struct smpfota_image_version max = {255, 255, 65535, 4294967295U};
	CHECK_EQ(smpfota_image_version_str(&max, buf, sizeof(buf)),
		 SMPFOTA_IMAGE_VERSION_STR_MAX - 1);
	CHECK(!strcmp(buf, "255.255.65535+4294967295"));

	/* exactly too small, then exactly enough */
	CHECK_EQ(smpfota_image_version_str(&v, buf, 7), SMPFOTA_ERR_NOSPC);
	CHECK_EQ(buf[0], '\0');
	CHECK_EQ(smpfota_image_version_str(&v, buf, 8), 7);
	CHECK(!strcmp(buf, "1.2.3+4"));
	CHECK_EQ(smpfota_image_version_str(&v, NULL, 0), SMPFOTA_ERR_NOSPC);
	for (size_t n = 1; n < 8; n++) {
		CHECK_EQ(smpfota_image_version_str(&v, buf, n), SMPFOTA_ERR_NOSPC);
	}
	/* the wire form a server sends, as img_mgmt_ver_str() */
	CHECK_EQ(smpfota_image_version_wire_str(&v, buf, sizeof(buf)), 7);
	CHECK(!strcmp(buf, "1.2.3.4"));
	CHECK_EQ(smpfota_image_version_wire_str(&zero, buf, sizeof(buf)), 5);
	CHECK(!strcmp(buf, "0.0.0"));
}

static void test_names(void)
{
	CHECK(!strcmp(smpfota_image_tlv_name(0x10), "SHA256"));
	CHECK(!strcmp(smpfota_image_tlv_name(0x01), "KEYHASH"));
	CHECK(!strcmp(smpfota_image_tlv_name(0x02), "PUBKEY"));
	CHECK(!strcmp(smpfota_image_tlv_name(0x50), "SEC_CNT"));
	CHECK(!strcmp(smpfota_image_tlv_name(0x75), "UUID_CID"));
	CHECK(smpfota_image_tlv_name(0x00) == NULL);
	CHECK(smpfota_image_tlv_name(0x00a0) == NULL);
	CHECK(!strcmp(smpfota_image_sig_name(0x20), "RSA2048_PSS"));
	CHECK(!strcmp(smpfota_image_sig_name(0x22), "ECDSA_SIG"));
	CHECK(!strcmp(smpfota_image_sig_name(0x23), "RSA3072_PSS"));
	CHECK(!strcmp(smpfota_image_sig_name(0x24), "ED25519"));
	CHECK(!strcmp(smpfota_image_sig_name(0x25), "SIG_PURE"));
	CHECK(smpfota_image_sig_name(0x21) == NULL); /* ECDSA224: gone from MCUboot */
	CHECK(smpfota_image_sig_name(0x10) == NULL);
	CHECK(smpfota_image_sig_name(0) == NULL);
}

/* Random-access storage for smpfota_image_read_info(): the test image, counting reads. */
static uint32_t ri_bytes_read;
static int ri_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	const struct built *b = ctx;
	if (off + len > b->len) {
		return SMPFOTA_ERR_RANGE;
	}
	memcpy(buf, b->buf + off, len);
	ri_bytes_read += (uint32_t)len;
	return 0;
}

static void test_read_info(void)
{
	/* Same header, hash and TLVs as the streaming reader, without reading the body. */
	struct spec s = {.hdr_size = 0x200,
			 .body_size = 4000,
			 .prot = true,
			 .ver = {1, 2, 3, 4},
			 .trailing = 64};
	struct smpfota_image_info streamed, ri;
	build_image(&s);
	CHECK_EQ(smpfota_image_parse(img.buf, img.len, &streamed), 0);
	ri_bytes_read = 0;
	CHECK_EQ(smpfota_image_read_info(ri_read, &img, (uint32_t)img.len, &ri), 0);
	CHECK(ri_bytes_read < 400); /* header + TLV area, never the 4000-byte body */
	CHECK(!ri.hash_valid);
	CHECK_MEM(ri.hash, img.hash, 32);
	CHECK_EQ(ri.image_size, streamed.image_size);
	CHECK_EQ(ri.tlv_count, streamed.tlv_count);
	CHECK_EQ(ri.sig_type, streamed.sig_type);
	CHECK_EQ(ri.hdr.version.build, 4);
	/* a flipped body bit is not seen (no hashing), a corrupt TLV area is */
	img.buf[0x300] ^= 1;
	CHECK_EQ(smpfota_image_read_info(ri_read, &img, (uint32_t)img.len, &ri), 0);
	img.buf[img.info_off] ^= 1;
	CHECK_EQ(smpfota_image_read_info(ri_read, &img, (uint32_t)img.len, &ri),
		 SMPFOTA_ERR_TLV_CORRUPT);
	img.buf[img.info_off] ^= 1;
	/* the image must fit in max_size */
	CHECK_EQ(smpfota_image_read_info(ri_read, &img, (uint32_t)img.image_size - 1, &ri),
		 SMPFOTA_ERR_TRUNCATED);
	/* erased flash is not an image; no SHA-256 TLV is unsupported */
	memset(img.buf, 0xff, 64);
	CHECK_EQ(smpfota_image_read_info(ri_read, &img, (uint32_t)img.len, &ri),
		 SMPFOTA_ERR_BAD_MAGIC);
	struct spec s2 = {.body_size = 10, .no_hash = true};
	build_image(&s2);
	CHECK_EQ(smpfota_image_read_info(ri_read, &img, (uint32_t)img.len, &ri),
		 SMPFOTA_ERR_UNSUPPORTED);
}

int main(void)
{
	RUN(test_whole_ok);
	RUN(test_minimal_image);
	RUN(test_every_chunk_size);
	RUN(test_random_chunkings);
	RUN(test_protected_tlvs_hashed);
	RUN(test_trailing_ignored);
	RUN(test_bad_magic);
	RUN(test_bad_header_sizes);
	RUN(test_header_parse);
	RUN(test_truncated_everywhere);
	RUN(test_bit_flips);
	RUN(test_tlv_corrupt);
	RUN(test_unsupported);
	RUN(test_two_hash_tlvs);
	RUN(test_sha384_sha512);
	RUN(test_check_from_source);
	RUN(test_many_tlvs);
	RUN(test_signature_kinds);
	RUN(test_feed_args);
	RUN(test_version_str);
	RUN(test_names);
	RUN(test_read_info);
	return CHECK_SUMMARY();
}
