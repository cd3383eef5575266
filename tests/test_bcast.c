/*
 * Broadcast with repair (bcast.h): the target's group and packets on emulated NOR flash (any
 * order, duplicates, a power cycle mid-way, a wrong hash), and the master's rounds against
 * three such targets over a lossy "air" in this file, one of them silent.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "emu/nor.h"
#include "smpfota/bcast.h"
#include "test_util.h"

#include <zcbor_decode.h>
#include <zcbor_encode.h>

#define PAGE 1024U
#define SLOT (32U * PAGE)
#define REC (8U * PAGE)
#define CHUNK 100U
#define BLOCK (2U * PAGE)
#define NT 3

struct tgt {
	uint8_t mem[SLOT + REC];
	struct smpfota_nor nor;
	struct smpfota_bcast_target_config cfg;
	struct smpfota_bcast_target b;
};

static struct tgt tg[NT];
static uint8_t img[20000];
static uint8_t sha[32];
static uint32_t rng = 5;

static void tgt_init(struct tgt *t, bool erase)
{
	CHECK_EQ(smpfota_nor_init(&t->nor, t->mem, sizeof(t->mem), PAGE, 4), 0);
	if (erase) {
		smpfota_nor_erase_all(&t->nor);
	}
	t->cfg.slot = (struct smpfota_flash_area){&t->nor.flash, 0, SLOT};
	t->cfg.record = (struct smpfota_flash_area){&t->nor.flash, SLOT, REC};
	CHECK_EQ(smpfota_bcast_target_init(&t->b, &t->cfg), 0);
}

static int req(struct tgt *t, uint8_t op, uint8_t id, const uint8_t *body, size_t len, uint8_t *rsp,
	       size_t cap)
{
	uint8_t f[256];
	struct smpfota_smp_hdr h = {.op = op,
				    .version = SMPFOTA_SMP_V2,
				    .len = (uint16_t)len,
				    .group = SMPFOTA_BCAST_GROUP,
				    .seq = 7,
				    .id = id};
	smpfota_smp_hdr_encode(&h, f);
	memcpy(f + SMPFOTA_SMP_HDR_SIZE, body, len);
	return smpfota_bcast_target_handle(&t->b, f, SMPFOTA_SMP_HDR_SIZE + len, rsp, cap);
}

static int start(struct tgt *t, const uint8_t *hash)
{
	uint8_t body[128], rsp[64];
	zcbor_state_t zs[4];
	zcbor_new_encode_state(zs, 4, body, sizeof(body), 0);
	CHECK(zcbor_map_start_encode(zs, 5) && zcbor_tstr_put_lit(zs, "session") &&
	      zcbor_uint32_put(zs, 9) && zcbor_tstr_put_lit(zs, "len") &&
	      zcbor_uint32_put(zs, sizeof(img)) && zcbor_tstr_put_lit(zs, "chunk") &&
	      zcbor_uint32_put(zs, CHUNK) && zcbor_tstr_put_lit(zs, "block") &&
	      zcbor_uint32_put(zs, BLOCK) && zcbor_tstr_put_lit(zs, "sha") &&
	      zcbor_bstr_encode_ptr(zs, (const char *)hash, 32) && zcbor_map_end_encode(zs, 5));
	int n = req(t, SMPFOTA_SMP_OP_WRITE, SMPFOTA_BCAST_CMD_START, body,
		    (size_t)(zs->payload - body), rsp, sizeof(rsp));
	CHECK(n > (int)SMPFOTA_SMP_HDR_SIZE);
	/* {"rc": x} */
	zcbor_state_t ds[4];
	zcbor_new_decode_state(ds, 4, rsp + SMPFOTA_SMP_HDR_SIZE, (size_t)n - SMPFOTA_SMP_HDR_SIZE,
			       1, NULL, 0);
	struct zcbor_string k;
	int32_t rc = -1;
	CHECK(zcbor_map_start_decode(ds) && zcbor_tstr_decode(ds, &k) &&
	      zcbor_int32_decode(ds, &rc));
	return rc;
}

/* STATUS of a block: rc, and the missing bitmap, done, bad. */
static int32_t status(struct tgt *t, uint32_t block, uint8_t missing[32], bool *done, bool *bad)
{
	uint8_t body[16], rsp[96];
	zcbor_state_t zs[4];
	zcbor_new_encode_state(zs, 4, body, sizeof(body), 0);
	CHECK(zcbor_map_start_encode(zs, 1) && zcbor_tstr_put_lit(zs, "block") &&
	      zcbor_uint32_put(zs, block) && zcbor_map_end_encode(zs, 1));
	int n = req(t, SMPFOTA_SMP_OP_READ, SMPFOTA_BCAST_CMD_STATUS, body,
		    (size_t)(zs->payload - body), rsp, sizeof(rsp));
	CHECK(n > (int)SMPFOTA_SMP_HDR_SIZE);
	zcbor_state_t ds[4];
	zcbor_new_decode_state(ds, 4, rsp + SMPFOTA_SMP_HDR_SIZE, (size_t)n - SMPFOTA_SMP_HDR_SIZE,
			       1, NULL, 0);
	struct zcbor_string k, m = {0};
	int32_t rc = -1;
	CHECK(zcbor_map_start_decode(ds) && zcbor_tstr_decode(ds, &k) &&
	      zcbor_int32_decode(ds, &rc));
	if (rc == 0) {
		CHECK(zcbor_tstr_decode(ds, &k) && zcbor_bstr_decode(ds, &m) &&
		      zcbor_tstr_decode(ds, &k) && zcbor_bool_decode(ds, done) &&
		      zcbor_tstr_decode(ds, &k) && zcbor_bool_decode(ds, bad));
		memset(missing, 0, 32);
		memcpy(missing, m.value, m.len < 32 ? m.len : 32);
	}
	return rc;
}

static void packet(struct tgt *t, uint32_t block, uint32_t i)
{
	uint8_t p[SMPFOTA_BCAST_PKT_HDR + CHUNK];
	uint32_t off = block * BLOCK + i * CHUNK;
	uint32_t end = off + CHUNK;
	end = end < (block + 1) * BLOCK ? end : (block + 1) * BLOCK;
	end = end < sizeof(img) ? end : sizeof(img);
	p[0] = SMPFOTA_BCAST_MAGIC;
	p[1] = 9;
	p[2] = (uint8_t)(block >> 8);
	p[3] = (uint8_t)block;
	p[4] = (uint8_t)i;
	memcpy(p + SMPFOTA_BCAST_PKT_HDR, img + off, end - off);
	(void)smpfota_bcast_target_packet(&t->b, p, SMPFOTA_BCAST_PKT_HDR + end - off);
}

#define BLOCKS ((sizeof(img) + BLOCK - 1) / BLOCK)
#define PER_BLOCK ((BLOCK + CHUNK - 1) / CHUNK)

static uint32_t chunks_in(uint32_t b)
{
	uint32_t end = (b + 1) * BLOCK < sizeof(img) ? (b + 1) * BLOCK : sizeof(img);
	return (end - b * BLOCK + CHUNK - 1) / CHUNK;
}

static void make_image(void)
{
	for (size_t i = 0; i < sizeof(img); i++) {
		img[i] = (uint8_t)tu_rand(&rng);
	}
	tu_sha256(img, sizeof(img), sha);
}

static void test_target_any_order_resume_verify(void)
{
	make_image();
	struct tgt *t = &tg[0];
	tgt_init(t, true);
	uint8_t miss[32];
	bool done = false, bad = false;
	CHECK_EQ(status(t, 0, miss, &done, &bad), SMPFOTA_MGMT_ENOENT); /* no session yet */
	CHECK_EQ(start(t, sha), 0);
	/* every second chunk of every block, backwards, twice (duplicates) */
	for (int rep = 0; rep < 2; rep++) {
		for (uint32_t b = BLOCKS; b-- > 0;) {
			for (uint32_t i = chunks_in(b); i-- > 0;) {
				if (i % 2 == 0) {
					packet(t, b, i);
				}
			}
		}
	}
	CHECK(t->b.stats.duplicates > 0);
	CHECK_EQ(status(t, 1, miss, &done, &bad), 0);
	CHECK(!done && !bad);
	for (uint32_t i = 0; i < PER_BLOCK; i++) {
		CHECK_EQ((miss[i / 8] >> (i % 8)) & 1U, i % 2 == 1 ? 1U : 0U);
	}
	/* power cycle: the record in flash says what arrived */
	uint32_t had = t->b.received;
	tgt_init(t, false);
	CHECK_EQ(t->b.received, had);
	CHECK_EQ(start(t, sha), 0); /* the same session resumes: nothing erased */
	CHECK_EQ(t->b.received, had);
	for (uint32_t b = 0; b < BLOCKS; b++) {
		for (uint32_t i = 1; i < chunks_in(b); i += 2) {
			packet(t, b, i);
		}
	}
	CHECK_EQ(status(t, BLOCKS - 1, miss, &done, &bad), 0);
	CHECK(done && !bad);
	CHECK_MEM(t->mem, img, sizeof(img));
	/* a packet of another session or out of range changes nothing */
	uint8_t junk[8] = {SMPFOTA_BCAST_MAGIC, 3, 0, 0, 0, 1, 2, 3};
	CHECK_EQ(smpfota_bcast_target_packet(&t->b, junk, sizeof(junk)), 0);
	CHECK_MEM(t->mem, img, sizeof(img));
}

static void test_target_refuses(void)
{
	make_image();
	struct tgt *t = &tg[1];
	tgt_init(t, true);
	uint8_t wrong[32];
	memcpy(wrong, sha, 32);
	wrong[0] ^= 1;
	CHECK_EQ(start(t, wrong), 0);
	for (uint32_t b = 0; b < BLOCKS; b++) {
		for (uint32_t i = 0; i < chunks_in(b); i++) {
			packet(t, b, i);
		}
	}
	uint8_t miss[32];
	bool done = true, bad = false;
	CHECK_EQ(status(t, 0, miss, &done, &bad), 0);
	CHECK(!done && bad); /* every chunk there, the hash does not match: never done */
	/* another group is the server's; a malformed map is refused */
	uint8_t f[16] = {0}, rsp[64];
	struct smpfota_smp_hdr h = {.op = SMPFOTA_SMP_OP_READ,
				    .version = SMPFOTA_SMP_V2,
				    .len = 1,
				    .group = 1,
				    .seq = 1,
				    .id = 0};
	smpfota_smp_hdr_encode(&h, f);
	f[8] = 0xff;
	CHECK_EQ(smpfota_bcast_target_handle(&t->b, f, 9, rsp, sizeof(rsp)), SMPFOTA_ERR_NOTSUP);
	CHECK(req(t, SMPFOTA_SMP_OP_WRITE, SMPFOTA_BCAST_CMD_START, (const uint8_t *)"\xff", 1, rsp,
		  sizeof(rsp)) > 0);
}

/* ---- the master against three targets ---------------------------------------------------- */

static struct smpfota_bcast_master bm;
static struct smpfota_bcast_member mem[NT];
static unsigned loss_pct;
static bool silent[NT];
static uint8_t pending_rsp[NT][128];
static size_t pending_len[NT];

static int air(void *ctx, const uint8_t *p, size_t len)
{
	(void)ctx;
	for (int i = 0; i < NT; i++) {
		if (!silent[i] && tu_rand(&rng) % 100 >= loss_pct) {
			(void)smpfota_bcast_target_packet(&tg[i].b, p, len);
		}
	}
	return 0;
}

static bool air_idle(void *ctx)
{
	(void)ctx;
	return true;
}

static int unicast(void *ctx, const uint8_t *f, size_t len)
{
	int i = (int)(intptr_t)ctx;
	if (silent[i]) {
		return 0;
	}
	int n = smpfota_bcast_target_handle(&tg[i].b, f, len, pending_rsp[i],
					    sizeof(pending_rsp[i]));
	pending_len[i] = n > 0 ? (size_t)n : 0;
	return 0;
}

static int read_img(void *ctx, uint32_t off, void *buf, size_t len)
{
	(void)ctx;
	memcpy(buf, img + off, len);
	return 0;
}

static void test_master_rounds_and_a_silent_target(void)
{
	make_image();
	loss_pct = 20;
	for (int i = 0; i < NT; i++) {
		tgt_init(&tg[i], true);
		silent[i] = i == 2;
		mem[i] = (struct smpfota_bcast_member){.send = unicast, .ctx = (void *)(intptr_t)i};
	}
	struct smpfota_bcast_master_config c = {.members = mem,
						.n = NT,
						.read = read_img,
						.len = sizeof(img),
						.sha = sha,
						.session = 9,
						.chunk = CHUNK,
						.block = BLOCK,
						.timeout_ms = 100,
						.start_timeout_ms = 100,
						.broadcast = air,
						.broadcast_idle = air_idle};
	uint32_t now = 0;
	CHECK_EQ(smpfota_bcast_master_start(&bm, &c, now), 0);
	while (!smpfota_bcast_master_finished(&bm) && now < 100000) {
		for (int i = 0; i < NT; i++) {
			if (pending_len[i] != 0) {
				size_t n = pending_len[i];
				pending_len[i] = 0;
				smpfota_bcast_master_input(&bm, (size_t)i, pending_rsp[i], n, now);
			}
		}
		smpfota_bcast_master_poll(&bm, now);
		now++;
	}
	CHECK(smpfota_bcast_master_finished(&bm));
	CHECK_EQ(mem[0].result, SMPFOTA_BCAST_DONE);
	CHECK_EQ(mem[1].result, SMPFOTA_BCAST_DONE);
	CHECK_EQ(mem[2].result, SMPFOTA_BCAST_DROPPED_SILENT);
	CHECK_MEM(tg[0].mem, img, sizeof(img));
	CHECK_MEM(tg[1].mem, img, sizeof(img));
	CHECK(bm.stats.repairs > 0);                                  /* 20 % loss: repaired */
	CHECK(bm.stats.packets < 2 * (sizeof(img) / CHUNK + BLOCKS)); /* not sent twice over */
	CHECK_STR(
		((struct smpfota_str){smpfota_bcast_result_name(SMPFOTA_BCAST_DROPPED_SILENT), 14}),
		"dropped-silent");
	/* bad configs */
	c.chunk = 6;
	CHECK_EQ(smpfota_bcast_master_start(&bm, &c, 0), SMPFOTA_ERR_INVAL);
	c.chunk = 4;
	c.block = 4 * 300;
	CHECK_EQ(smpfota_bcast_master_start(&bm, &c, 0), SMPFOTA_ERR_INVAL);
}

int main(void)
{
	RUN(test_target_any_order_resume_verify);
	RUN(test_target_refuses);
	RUN(test_master_rounds_and_a_silent_target);
	return CHECK_SUMMARY();
}
