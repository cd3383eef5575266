/*
 * The MCUboot image builder (ports/emu/image.h): what it builds must be what the image reader
 * (and so MCUboot) accepts, field for field, in every option.
 */
#include "check.h"
#include "emu/image.h"
#include "smpfota/smpfota.h"
#include "test_util.h"

static uint8_t buf[64 * 1024];

static void test_default_image_reads_back(void)
{
	struct smpfota_emu_image_spec s = {
		.body_size = 10000, .ver = {1, 2, 3, 4}, .flags = 0x10, .seed = 7};
	uint8_t hash[32];
	size_t n = smpfota_emu_image_build(buf, sizeof(buf), &s, hash);
	CHECK_EQ(n, smpfota_emu_image_size(&s));
	CHECK_EQ(n, 0x200 + 10000 + 4 + 36 + 36 + 75);
	struct smpfota_image_info info;
	CHECK_EQ(smpfota_image_parse(buf, n, &info), 0);
	CHECK(info.hash_valid);
	CHECK_EQ(info.hdr.hdr_size, 0x200);
	CHECK_EQ(info.hdr.img_size, 10000);
	CHECK_EQ(info.hdr.flags, 0x10);
	CHECK_EQ(info.hdr.protect_tlv_size, 0);
	CHECK_EQ(info.hdr.version.major, 1);
	CHECK_EQ(info.hdr.version.minor, 2);
	CHECK_EQ(info.hdr.version.revision, 3);
	CHECK_EQ(info.hdr.version.build, 4);
	CHECK_EQ(info.image_size, n);
	CHECK_MEM(info.hash, hash, 32);
	CHECK_EQ(info.sig_type, SMPFOTA_TLV_ECDSA_SIG);
	CHECK_EQ(info.key_type, SMPFOTA_TLV_KEYHASH);
	CHECK_EQ(info.tlv_count, 3);
	/* imgtool --pad-header: 0xff from byte 32 to the end of the header */
	for (size_t i = 32; i < 0x200; i++) {
		CHECK_EQ(buf[i], 0xff);
	}
}

static void test_protected_area_and_hash_only(void)
{
	struct smpfota_emu_image_spec s = {
		.hdr_size = 32, .body_size = 300, .seed = 0x1234, .prot = true, .hash_only = true};
	size_t n = smpfota_emu_image_build(buf, sizeof(buf), &s, NULL);
	CHECK_EQ(n, 32 + 300 + 12 + 40);
	struct smpfota_image_info info;
	CHECK_EQ(smpfota_image_parse(buf, n, &info), 0);
	CHECK(info.hash_valid);
	CHECK_EQ(info.hdr.protect_tlv_size, 12);
	CHECK_EQ(info.hashed_size, 32 + 300 + 12);
	CHECK_EQ(info.sig_type, 0);
	CHECK_EQ(info.tlv_count, 2);
	CHECK_EQ(info.tlvs[0].type, SMPFOTA_TLV_SEC_CNT);
	CHECK(info.tlvs[0].protected_tlv);
	CHECK_EQ(buf[info.tlvs[0].off + 4], 0x34); /* the security counter is the seed */
	CHECK_EQ(buf[info.tlvs[0].off + 5], 0x12);
	CHECK_EQ(info.tlvs[1].type, SMPFOTA_TLV_SHA256);
}

static void test_body_from_caller_and_seeds_differ(void)
{
	uint8_t body[100];
	for (size_t i = 0; i < sizeof(body); i++) {
		body[i] = (uint8_t)(200 - i);
	}
	struct smpfota_emu_image_spec s = {.hdr_size = 64, .body_size = sizeof(body), .body = body};
	size_t n = smpfota_emu_image_build(buf, sizeof(buf), &s, NULL);
	CHECK(n > 0);
	CHECK_MEM(buf + 64, body, sizeof(body));
	struct smpfota_image_info info;
	CHECK_EQ(smpfota_image_parse(buf, n, &info), 0);

	/* distinct seeds, distinct images; the same seed, the same image */
	uint8_t h1[32], h2[32], h3[32];
	struct smpfota_emu_image_spec a = {.body_size = 500, .seed = 1};
	struct smpfota_emu_image_spec b = {.body_size = 500, .seed = 2};
	CHECK(smpfota_emu_image_build(buf, sizeof(buf), &a, h1) > 0);
	CHECK(smpfota_emu_image_build(buf, sizeof(buf), &b, h2) > 0);
	CHECK(smpfota_emu_image_build(buf, sizeof(buf), &a, h3) > 0);
	CHECK(memcmp(h1, h2, 32) != 0);
	CHECK_MEM(h1, h3, 32);
}

static void test_refusals(void)
{
	struct smpfota_emu_image_spec s = {.body_size = 1000};
	size_t need = smpfota_emu_image_size(&s);
	CHECK_EQ(smpfota_emu_image_build(buf, need - 1, &s, NULL), 0);
	CHECK_EQ(smpfota_emu_image_build(buf, need, &s, NULL), need);
	s.hdr_size = 31;
	CHECK_EQ(smpfota_emu_image_size(&s), 0);
	CHECK_EQ(smpfota_emu_image_build(buf, sizeof(buf), &s, NULL), 0);
}

int main(void)
{
	RUN(test_default_image_reads_back);
	RUN(test_protected_area_and_hash_only);
	RUN(test_body_from_caller_and_seeds_differ);
	RUN(test_refusals);
	return CHECK_SUMMARY();
}
