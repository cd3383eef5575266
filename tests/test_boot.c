/*
 * Tests for the MCUboot trailer and the swap-using-move boot model (src/boot.c).
 *
 * Two image pairs, as on an nRF5340: image 0 on a flash with 4 KB pages (app core), image 1
 * on a flash with 2 KB pages (net core), each primary one page larger than its secondary.
 * Images are built in memory with a real SHA-256 TLV (tests/test_util.h). Every flash is a
 * strict NOR, and every test checks that no write ever hit a non-erased block.
 *
 * The power-cut tests follow the MCUboot simulator's run_perm_with_fails and
 * run_revert_with_fails: count the flash operations of a clean swap, then for every
 * operation i cut the power there, power on, boot again until the swap completes, and check
 * both slots byte by byte and both trailers.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "emu/image.h"
#include "test_util.h"
#include "emu/mcuboot.h"
#include "smpfota/boot.h"
#include "smpfota/flash.h"
#include "smpfota/image.h"
#include "emu/nor.h"
#include "emu/target.h"

#define APP_PAGE 4096U
#define APP_SEC_PAGES 8U /* secondary: 32 KB; primary: 36 KB */
#define NET_PAGE 2048U
#define NET_SEC_PAGES 10U /* secondary: 20 KB; primary: 22 KB */
#define APP_SIZE ((2U * APP_SEC_PAGES + 1U) * APP_PAGE)
#define NET_SIZE ((2U * NET_SEC_PAGES + 1U) * NET_PAGE)
#define IMG_CAP 32768U

static const uint8_t spec_magic[16] = {0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f,
				       0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80};

struct img {
	uint8_t data[IMG_CAP];
	size_t len;
};

/* The test bench: two flashes, two image pairs, the boot model over both. */
static struct {
	uint8_t app_mem[APP_SIZE];
	uint8_t net_mem[NET_SIZE];
	struct smpfota_nor app, net;
	struct smpfota_emu_target fx; /* slots, the boot model's buffer and its last result */
	/* snapshots for the power-cut loops */
	uint8_t app_snap[APP_SIZE], net_snap[NET_SIZE];
	uint8_t app_ref[APP_SIZE], net_ref[NET_SIZE];
} tb;

static struct img old_img[2], new_img[2], tmp_img;
static unsigned long cut_points_covered;

static struct smpfota_nor *nor_of(int i)
{
	return i == 0 ? &tb.app : &tb.net;
}

static uint8_t *mem_of(int i)
{
	return i == 0 ? tb.app_mem : tb.net_mem;
}

static size_t mem_size(int i)
{
	return i == 0 ? APP_SIZE : NET_SIZE;
}

static const struct smpfota_flash_area *pri(int i)
{
	return &tb.fx.images[i].primary;
}

static const struct smpfota_flash_area *sec(int i)
{
	return &tb.fx.images[i].secondary;
}

static void build(struct img *m, uint32_t body, uint8_t major, uint8_t minor, uint32_t seed,
		  bool prot)
{
	struct smpfota_emu_image_spec s;

	memset(&s, 0, sizeof(s));
	s.body_size = body;
	s.ver.major = major;
	s.ver.minor = minor;
	s.ver.revision = (uint16_t)seed;
	s.ver.build = seed * 10U;
	s.seed = seed;
	s.prot = prot;
	m->len = smpfota_emu_image_build(m->data, sizeof(m->data), &s, NULL);
}

/* Fresh blank flashes; layout: secondary first, then the primary (one page larger). */
static void bench(void)
{
	CHECK_EQ(smpfota_nor_init(&tb.app, tb.app_mem, APP_SIZE, APP_PAGE, 4), 0);
	CHECK_EQ(smpfota_nor_init(&tb.net, tb.net_mem, NET_SIZE, NET_PAGE, 4), 0);
	smpfota_nor_erase_all(&tb.app);
	smpfota_nor_erase_all(&tb.net);
	smpfota_emu_target_init(&tb.fx);
	CHECK_EQ(smpfota_emu_target_add_image(&tb.fx, &tb.app, APP_SEC_PAGES * APP_PAGE, &tb.app, 0,
					      APP_SEC_PAGES * APP_PAGE),
		 0);
	CHECK_EQ(smpfota_emu_target_add_image(&tb.fx, &tb.net, NET_SEC_PAGES * NET_PAGE, &tb.net, 0,
					      NET_SEC_PAGES * NET_PAGE),
		 0);
	tb.fx.boot_buf_size = 512;
	if (old_img[0].len == 0) {
		build(&old_img[0], 13000, 1, 0, 1, false);
		build(&new_img[0], 20000, 2, 0, 2, false);
		build(&old_img[1], 9000, 1, 0, 3, true);
		build(&new_img[1], 12000, 1, 1, 4, true);
	}
}

/* Program an image at the start of an area, as a programmer or the SMP server would. */
static void put_image(const struct smpfota_flash_area *a, const struct img *m)
{
	static uint8_t padded[IMG_CAP + 8];
	size_t n = (m->len + 3U) & ~(size_t)3U;

	memset(padded, 0xff, n);
	memcpy(padded, m->data, m->len);
	CHECK_EQ(smpfota_flash_area_erase(a, 0, a->size), 0);
	CHECK_EQ(smpfota_flash_area_write(a, 0, padded, n), 0);
}

static bool area_holds(const struct smpfota_flash_area *a, const struct img *m)
{
	static uint8_t r[IMG_CAP];

	if (smpfota_flash_area_read(a, 0, r, m->len) != 0) {
		return false;
	}
	return memcmp(r, m->data, m->len) == 0;
}

static struct smpfota_boot_trailer trailer(const struct smpfota_flash_area *a)
{
	struct smpfota_boot_trailer t;

	memset(&t, 0, sizeof(t));
	CHECK_EQ(smpfota_boot_read_trailer(a, &t), 0);
	return t;
}

#define CHECK_TRAILER(a, m, ok, cd) \
	do { \
		struct smpfota_boot_trailer t_ = trailer(a); \
		CHECK_EQ(t_.magic, (m)); \
		CHECK_EQ(t_.image_ok, (ok)); \
		CHECK_EQ(t_.copy_done, (cd)); \
	} while (0)

#define GOOD SMPFOTA_BOOT_MAGIC_GOOD
#define UNSET SMPFOTA_BOOT_FLAG_UNSET
#define MUNSET SMPFOTA_BOOT_MAGIC_UNSET
#define SET SMPFOTA_BOOT_FLAG_SET

static void no_violations(void)
{
	CHECK_EQ(tb.app.violations, 0);
	CHECK_EQ(tb.net.violations, 0);
}

/* Factory state for image i: old image in the primary (no trailer), new one uploaded. */
static void factory_and_upload(int i)
{
	put_image(pri(i), &old_img[i]);
	put_image(sec(i), &new_img[i]);
}

static int boot(void)
{
	return smpfota_emu_target_boot(&tb.fx);
}

/* ---- trailer layout --------------------------------------------------------------------- */

struct wlog {
	int n;
	uint32_t off[16];
	size_t len[16];
};

static void log_writes(void *ctx, int kind, uint32_t off, size_t len)
{
	struct wlog *l = ctx;

	if (kind == SMPFOTA_NOR_OP_WRITE && l->n < 16) {
		l->off[l->n] = off;
		l->len[l->n] = len;
		l->n++;
	}
}

/* Byte image of the last 48 bytes of a slot after set_pending, straight from the spec. */
static void test_trailer_layout(void)
{
	uint8_t raw[48], expect[48];
	struct wlog log;
	uint32_t end;

	bench();
	memset(&log, 0, sizeof(log));
	tb.net.on_op = log_writes;
	tb.net.on_op_ctx = &log;
	CHECK_EQ(smpfota_boot_set_pending(sec(1), 1, true), 0);
	tb.net.on_op = NULL;
	end = sec(1)->off + sec(1)->size;
	CHECK_EQ(smpfota_flash_area_read(sec(1), sec(1)->size - 48, raw, 48), 0);
	memset(expect, 0xff, sizeof(expect));
	memcpy(expect + 48 - 16, spec_magic, 16); /* magic at size-16 */
	expect[48 - 24] = 0x01;                   /* image_ok at size-24 */
	expect[48 - 40] = (1 << 4) | 3;           /* swap_info at size-40: image 1, PERM */
	CHECK_MEM(raw, expect, 48);
	/* MCUboot's order and sizes: magic (16 bytes), image_ok, swap_info, each padded to the
	 * 4-byte write size */
	CHECK_EQ(log.n, 3);
	CHECK_EQ(log.off[0], end - 16);
	CHECK_EQ(log.len[0], 16);
	CHECK_EQ(log.off[1], end - 24);
	CHECK_EQ(log.len[1], 4);
	CHECK_EQ(log.off[2], end - 40);
	CHECK_EQ(log.len[2], 4);
	/* everything below the trailer fields is untouched */
	CHECK_EQ(smpfota_flash_area_is_erased(sec(1), 0, sec(1)->size - 48), 1);

	/* test request for image 0: no image_ok, type TEST */
	CHECK_EQ(smpfota_boot_set_pending(sec(0), 0, false), 0);
	CHECK_EQ(smpfota_flash_area_read(sec(0), sec(0)->size - 48, raw, 48), 0);
	memset(expect, 0xff, sizeof(expect));
	memcpy(expect + 32, spec_magic, 16);
	expect[8] = 0x02;
	CHECK_MEM(raw, expect, 48);
	struct smpfota_boot_trailer t = trailer(sec(0));
	CHECK_EQ(t.magic, GOOD);
	CHECK_EQ(t.image_ok, UNSET);
	CHECK_EQ(t.copy_done, UNSET);
	CHECK_EQ(t.swap_info, 0x02);
	CHECK_EQ(t.swap_size, 0xffffffffU);
	CHECK_EQ(smpfota_boot_trailer_swap_type(&t), SMPFOTA_BOOT_SWAP_TEST);
	no_violations();
}

/* Padding follows the write size: 8-byte and 1-byte write blocks. */
static void test_trailer_write_sizes(void)
{
	static uint8_t m[4 * 4096];
	static const uint16_t sizes[] = {1, 2, 8};
	struct smpfota_nor n;
	struct wlog log;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct smpfota_flash_area a = {&n.flash, 4096, 2 * 4096};
		uint8_t raw[48];

		CHECK_EQ(smpfota_nor_init(&n, m, sizeof(m), 4096, sizes[k]), 0);
		smpfota_nor_erase_all(&n);
		memset(&log, 0, sizeof(log));
		n.on_op = log_writes;
		n.on_op_ctx = &log;
		CHECK_EQ(smpfota_boot_set_pending(&a, 0, true), 0);
		CHECK_EQ(log.n, 3);
		CHECK_EQ(log.len[0], 16);
		CHECK_EQ(log.len[1], sizes[k]);
		CHECK_EQ(log.len[2], sizes[k]);
		CHECK_EQ(smpfota_flash_area_read(&a, a.size - 48, raw, 48), 0);
		CHECK_EQ(raw[48 - 24], 0x01);
		CHECK_EQ(raw[48 - 23], 0xff);
		CHECK_EQ(raw[48 - 40], 0x03);
		CHECK_MEM(raw + 32, spec_magic, 16);
		CHECK_EQ(n.violations, 0);
	}
	/* a write size above BOOT_MAX_ALIGN cannot hold the trailer */
	CHECK_EQ(smpfota_nor_init(&n, m, sizeof(m), 4096, 16), 0);
	struct smpfota_flash_area big = {&n.flash, 0, 4096};
	struct smpfota_boot_trailer t;
	CHECK_EQ(smpfota_boot_read_trailer(&big, &t), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_boot_set_pending(&big, 0, false), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_boot_trailer_size(&big), 0);
}

/* Writing raw bytes: how each field decodes. */
static void test_trailer_decode(void)
{
	const struct smpfota_flash_area *a;
	struct smpfota_boot_trailer t;
	uint8_t field[8];

	bench();
	a = sec(0);
	t = trailer(a);
	CHECK_EQ(t.magic, MUNSET);
	CHECK_EQ(t.image_ok, UNSET);
	CHECK_EQ(t.copy_done, UNSET);
	CHECK_EQ(t.swap_info, 0xff);
	CHECK_EQ(smpfota_boot_trailer_swap_type(&t), SMPFOTA_BOOT_SWAP_NONE);
	/* a magic with one wrong word is BAD */
	memcpy(field, spec_magic, 8);
	CHECK_EQ(smpfota_flash_area_write(a, a->size - 16, field, 8), 0);
	CHECK_EQ(trailer(a).magic, SMPFOTA_BOOT_MAGIC_BAD);
	/* flags: 0x01 SET, anything else BAD */
	memset(field, 0xff, 8);
	field[0] = 0x00;
	CHECK_EQ(smpfota_flash_area_write(a, a->size - 24, field, 4), 0);
	field[0] = 0x02;
	CHECK_EQ(smpfota_flash_area_write(a, a->size - 32, field, 4), 0);
	field[0] = 0x15;
	CHECK_EQ(smpfota_flash_area_write(a, a->size - 40, field, 4), 0);
	field[0] = 0x34;
	field[1] = 0x12;
	field[2] = 0;
	field[3] = 0;
	CHECK_EQ(smpfota_flash_area_write(a, a->size - 48, field, 4), 0);
	t = trailer(a);
	CHECK_EQ(t.image_ok, SMPFOTA_BOOT_FLAG_BAD);
	CHECK_EQ(t.copy_done, SMPFOTA_BOOT_FLAG_BAD);
	CHECK_EQ(t.swap_info, 0x15);
	CHECK_EQ(smpfota_boot_trailer_swap_type(&t), SMPFOTA_BOOT_SWAP_NONE); /* type 5 > REVERT */
	CHECK_EQ(t.swap_size, 0x1234);
	t.swap_info = 0x14;
	CHECK_EQ(smpfota_boot_trailer_swap_type(&t), SMPFOTA_BOOT_SWAP_REVERT);
	t.swap_info = 0x10;
	CHECK_EQ(smpfota_boot_trailer_swap_type(&t), SMPFOTA_BOOT_SWAP_NONE);
	/* primary: a proper set flag */
	a = pri(0);
	field[0] = 0x01;
	CHECK_EQ(smpfota_flash_area_write(a, a->size - 32, field, 4), 0);
	CHECK_EQ(trailer(a).copy_done, SET);
	CHECK_EQ(trailer(a).image_ok, UNSET);
	/* a too-small area */
	struct smpfota_flash_area tiny = {&tb.app.flash, 0, 40};
	CHECK_EQ(smpfota_boot_read_trailer(&tiny, &t), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_boot_read_trailer(NULL, &t), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_boot_read_trailer(a, NULL), SMPFOTA_ERR_INVAL);
}

static void write_magic_raw(const struct smpfota_flash_area *a, bool good)
{
	uint8_t m[16];

	memcpy(m, spec_magic, 16);
	if (!good) {
		m[15] ^= 0x01;
	}
	CHECK_EQ(smpfota_flash_area_write(a, a->size - 16, m, 16), 0);
}

static void write_flag_raw(const struct smpfota_flash_area *a, uint32_t off_from_end, uint8_t v)
{
	uint8_t f[4] = {v, 0xff, 0xff, 0xff};

	CHECK_EQ(smpfota_flash_area_write(a, a->size - off_from_end, f, 4), 0);
}

static void test_set_pending_states(void)
{
	uint32_t ops;

	bench();
	/* UNSET -> request written; GOOD -> nothing more (even asking for permanent) */
	CHECK_EQ(smpfota_boot_set_pending(sec(0), 0, false), 0);
	ops = tb.app.ops;
	CHECK_EQ(smpfota_boot_set_pending(sec(0), 0, true), 0);
	CHECK_EQ(tb.app.ops, ops);
	CHECK_EQ(trailer(sec(0)).image_ok, UNSET);
	CHECK_EQ(smpfota_boot_read_swap_type(pri(0), sec(0)), SMPFOTA_BOOT_SWAP_TEST);
	/* BAD -> a named error, and the slot erased for the next upload (boot_set_next) */
	write_magic_raw(sec(1), false);
	ops = tb.net.ops;
	CHECK_EQ(smpfota_boot_set_pending(sec(1), 1, false), SMPFOTA_ERR_BAD_MAGIC);
	CHECK_EQ(tb.net.ops, ops + 1);
	CHECK_EQ(trailer(sec(1)).magic, SMPFOTA_BOOT_MAGIC_UNSET);
	CHECK_EQ(trailer(sec(1)).swap_info, 0xff);
	CHECK_EQ(smpfota_boot_set_pending(sec(1), 1, false), 0);
	CHECK_EQ(trailer(sec(1)).magic, SMPFOTA_BOOT_MAGIC_GOOD);
	/* image number has 4 bits */
	CHECK_EQ(smpfota_boot_set_pending(pri(1), 16, false), SMPFOTA_ERR_INVAL);
	/* a cut between magic and swap_info leaves a TEST request, as MCUboot's write order */
	bench();
	tb.app.power_cut_at_op = 2;
	CHECK_EQ(smpfota_boot_set_pending(sec(0), 0, true), SMPFOTA_ERR_IO);
	smpfota_nor_power_on(&tb.app);
	CHECK_EQ(trailer(sec(0)).magic, GOOD);
	CHECK_EQ(smpfota_boot_read_swap_type(pri(0), sec(0)), SMPFOTA_BOOT_SWAP_TEST);
	no_violations();
}

static void test_set_confirmed_states(void)
{
	uint32_t ops;

	bench();
	/* UNSET primary (factory image): nothing to write */
	CHECK_EQ(smpfota_boot_set_confirmed(pri(0)), 0);
	CHECK_EQ(tb.app.ops, 0);
	CHECK_EQ(trailer(pri(0)).image_ok, UNSET);
	/* GOOD, image_ok unset (copy_done not looked at): image_ok written at size-24 */
	write_magic_raw(pri(0), true);
	CHECK_EQ(smpfota_boot_set_confirmed(pri(0)), 0);
	CHECK_TRAILER(pri(0), GOOD, SET, UNSET);
	uint8_t raw[8];
	CHECK_EQ(smpfota_flash_area_read(pri(0), pri(0)->size - 24, raw, 8), 0);
	CHECK_EQ(raw[0], 0x01);
	CHECK_EQ(raw[1], 0xff);
	/* already confirmed: nothing written */
	ops = tb.app.ops;
	CHECK_EQ(smpfota_boot_set_confirmed(pri(0)), 0);
	CHECK_EQ(tb.app.ops, ops);
	/* image_ok BAD also counts as "not unset": nothing written */
	write_magic_raw(pri(1), true);
	write_flag_raw(pri(1), 24, 0x07);
	ops = tb.net.ops;
	CHECK_EQ(smpfota_boot_set_confirmed(pri(1)), 0);
	CHECK_EQ(tb.net.ops, ops);
	/* BAD magic: error, nothing written */
	bench();
	write_magic_raw(pri(1), false);
	ops = tb.net.ops;
	CHECK_EQ(smpfota_boot_set_confirmed(pri(1)), SMPFOTA_ERR_BAD_MAGIC);
	CHECK_EQ(tb.net.ops, ops);
	CHECK_EQ(trailer(pri(1)).image_ok, UNSET);
	no_violations();
}

/* ---- decision table --------------------------------------------------------------------- */

/* The table as data, as in current bootutil_public.c (after PR #2100); 0 = any. */
struct row {
	uint8_t pm, sm, pok, sok, pcd, result;
};

static const struct row rows[] = {
	{0, GOOD, 0, UNSET, 0, SMPFOTA_BOOT_SWAP_TEST},
	{0, GOOD, 0, SET, 0, SMPFOTA_BOOT_SWAP_PERM},
	{GOOD, 0, UNSET, 0, SET, SMPFOTA_BOOT_SWAP_REVERT},
};

static int table_lookup(const struct smpfota_boot_trailer *p, const struct smpfota_boot_trailer *s)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		if ((!r->pm || r->pm == p->magic) && (!r->sm || r->sm == s->magic) &&
		    (!r->pok || r->pok == p->image_ok) && (!r->sok || r->sok == s->image_ok) &&
		    (!r->pcd || r->pcd == p->copy_done)) {
			return r->result;
		}
	}
	return SMPFOTA_BOOT_SWAP_NONE;
}

static void test_decision_table(void)
{
	struct smpfota_boot_trailer p, s;
	int counts[6] = {0};
	int n = 0;

	memset(&p, 0xff, sizeof(p));
	memset(&s, 0xff, sizeof(s));
	/* every combination of the five inputs (3^5 = 243), plus the secondary's copy_done,
	 * which the table must ignore */
	for (uint8_t pm = 1; pm <= 3; pm++)
		for (uint8_t sm = 1; sm <= 3; sm++)
			for (uint8_t pok = 1; pok <= 3; pok++)
				for (uint8_t sok = 1; sok <= 3; sok++)
					for (uint8_t pcd = 1; pcd <= 3; pcd++)
						for (uint8_t scd = 1; scd <= 3; scd++) {
							p.magic = pm;
							s.magic = sm;
							p.image_ok = pok;
							s.image_ok = sok;
							p.copy_done = pcd;
							s.copy_done = scd;
							int got = smpfota_boot_decide_swap(&p, &s);
							CHECK_EQ(got, table_lookup(&p, &s));
							counts[got == SMPFOTA_BOOT_SWAP_NONE
								       ? 1
								       : got]++;
							n++;
						}
	CHECK_EQ(n, 729);
	/* rows 1 and 2: 3*3*3 (pm, pok, pcd) * 3 (scd) each; row 3: the (sm, sok) pairs rows
	 * 1-2 leave (BAD x 3, UNSET x 3, GOOD with sok BAD) * 3 (scd) */
	CHECK_EQ(counts[SMPFOTA_BOOT_SWAP_TEST], 81);
	CHECK_EQ(counts[SMPFOTA_BOOT_SWAP_PERM], 81);
	CHECK_EQ(counts[SMPFOTA_BOOT_SWAP_REVERT], 21);

	/* The same rows through real trailers on flash. */
	bench();
	CHECK_EQ(smpfota_boot_read_swap_type(pri(0), sec(0)), SMPFOTA_BOOT_SWAP_NONE);
	write_magic_raw(pri(0), true);
	write_flag_raw(pri(0), 32, 0x01); /* copy_done */
	CHECK_EQ(smpfota_boot_read_swap_type(pri(0), sec(0)), SMPFOTA_BOOT_SWAP_REVERT); /* row 3 */
	/* a torn secondary magic does not cancel the revert (MCUboot issue #1966) */
	write_magic_raw(sec(0), false);
	CHECK_EQ(smpfota_boot_read_swap_type(pri(0), sec(0)), SMPFOTA_BOOT_SWAP_REVERT);
	bench();
	write_magic_raw(pri(0), true);
	write_flag_raw(pri(0), 32, 0x01);
	write_magic_raw(sec(0), true);
	CHECK_EQ(smpfota_boot_read_swap_type(pri(0), sec(0)),
		 SMPFOTA_BOOT_SWAP_TEST); /* row 1 first */
	write_flag_raw(sec(0), 24, 0x01);
	CHECK_EQ(smpfota_boot_read_swap_type(pri(0), sec(0)), SMPFOTA_BOOT_SWAP_PERM); /* row 2 */
	write_flag_raw(pri(0), 24, 0x01);
	CHECK_EQ(smpfota_boot_read_swap_type(pri(0), sec(0)), SMPFOTA_BOOT_SWAP_PERM);
	bench();
	write_magic_raw(sec(1), true);
	write_flag_raw(sec(1), 24, 0x05); /* image_ok BAD: neither TEST nor PERM */
	CHECK_EQ(smpfota_boot_read_swap_type(pri(1), sec(1)), SMPFOTA_BOOT_SWAP_NONE);
	/* an unreadable primary is an error, not a swap type */
	struct smpfota_flash_area broken = {&tb.net.flash, NET_SIZE, NET_PAGE};
	CHECK(smpfota_boot_read_swap_type(&broken, sec(1)) < 0);
	/* an unreadable secondary counts as empty */
	CHECK_EQ(smpfota_boot_read_swap_type(pri(1), &broken), SMPFOTA_BOOT_SWAP_NONE);
	CHECK(strcmp(smpfota_boot_swap_type_name(SMPFOTA_BOOT_SWAP_REVERT), "revert") == 0);
	CHECK(strcmp(smpfota_boot_swap_type_name(0), "?") == 0);
}

/* ---- sizes ------------------------------------------------------------------------------ */

static void test_sizes(void)
{
	bench();
	/* 256 * 3 * 4 + 48 = 3120 bytes: one 4 KB page, two 2 KB pages */
	CHECK_EQ(smpfota_boot_trailer_size(pri(0)), 4096);
	CHECK_EQ(smpfota_boot_trailer_size(sec(1)), 4096);
	/* nRF5340 layout (primary = secondary + 1 page): (Ns - T) * P */
	CHECK_EQ(smpfota_boot_max_image_size(pri(0), sec(0)), (APP_SEC_PAGES - 1U) * APP_PAGE);
	CHECK_EQ(smpfota_boot_max_image_size(pri(1), sec(1)), (NET_SEC_PAGES - 2U) * NET_PAGE);
	/* equal slots: the move page comes out of the primary */
	struct smpfota_flash_area eq = {&tb.app.flash, APP_SEC_PAGES * APP_PAGE,
					APP_SEC_PAGES * APP_PAGE};
	CHECK_EQ(smpfota_boot_max_image_size(&eq, sec(0)), (APP_SEC_PAGES - 2U) * APP_PAGE);
	/* primary two pages larger: MCUboot calls the slots incompatible */
	struct smpfota_flash_area big = {&tb.app.flash, 0, (APP_SEC_PAGES - 1U) * APP_PAGE};
	struct smpfota_flash_area p2 = {&tb.app.flash, APP_SEC_PAGES * APP_PAGE,
					(APP_SEC_PAGES + 1U) * APP_PAGE};
	CHECK_EQ(smpfota_boot_max_image_size(&p2, &big), 0);
	/* different page sizes, overlapping slots, tiny slots */
	CHECK_EQ(smpfota_boot_max_image_size(pri(0), sec(1)), 0);
	struct smpfota_flash_area ov = {&tb.app.flash, APP_PAGE, APP_SEC_PAGES * APP_PAGE};
	CHECK_EQ(smpfota_boot_max_image_size(pri(0), &ov), 0);
	struct smpfota_flash_area t1 = {&tb.app.flash, 0, APP_PAGE};
	struct smpfota_flash_area t2 = {&tb.app.flash, APP_PAGE, 2 * APP_PAGE};
	CHECK_EQ(smpfota_boot_max_image_size(&t2, &t1), 0);
	/* 8-byte write blocks: 256 * 3 * 8 + 48 = 6192 -> two 4 KB pages */
	static uint8_t m[8 * 4096];
	struct smpfota_nor n8;
	CHECK_EQ(smpfota_nor_init(&n8, m, sizeof(m), 4096, 8), 0);
	struct smpfota_flash_area a8 = {&n8.flash, 0, 4 * 4096};
	CHECK_EQ(smpfota_boot_trailer_size(&a8), 8192);
}

/* ---- slot images ------------------------------------------------------------------------ */

static void test_slot_image(void)
{
	struct smpfota_image_info info;

	bench();
	CHECK_EQ(smpfota_boot_slot_image(sec(0), &info), SMPFOTA_ERR_BAD_MAGIC);
	put_image(sec(0), &new_img[0]);
	CHECK_EQ(smpfota_boot_slot_image(sec(0), &info), 0);
	CHECK(info.header_valid);
	CHECK(info.hash_valid);
	CHECK_EQ(info.hdr.version.major, 2);
	CHECK_EQ(info.image_size, new_img[0].len);
	/* the hash `image list` shows is the TLV value, i.e. the SHA-256 of the hashed bytes */
	uint8_t h[32];
	tu_sha256(new_img[0].data, info.hashed_size, h);
	CHECK_MEM(info.hash, h, 32);
	/* with a protected TLV area (image 1) */
	put_image(pri(1), &old_img[1]);
	CHECK_EQ(smpfota_boot_slot_image(pri(1), &info), 0);
	CHECK(info.hash_valid);
	CHECK(info.hdr.protect_tlv_size > 0);
	CHECK_EQ(info.image_size, old_img[1].len);
	/* a flipped body bit: header still there, hash invalid */
	memcpy(tmp_img.data, new_img[1].data, new_img[1].len);
	tmp_img.len = new_img[1].len;
	tmp_img.data[0x200 + 100] ^= 0x10;
	put_image(sec(1), &tmp_img);
	CHECK_EQ(smpfota_boot_slot_image(sec(1), &info), 0);
	CHECK(info.header_valid);
	CHECK(!info.hash_valid);
	/* a half-uploaded image: header there, TLVs missing */
	CHECK_EQ(smpfota_flash_area_erase(sec(1), 0, sec(1)->size), 0);
	CHECK_EQ(smpfota_flash_area_write(sec(1), 0, new_img[1].data, 4096), 0);
	CHECK_EQ(smpfota_boot_slot_image(sec(1), &info), 0);
	CHECK(!info.hash_valid);
	/* not an image at all */
	uint8_t junk[32];
	memset(junk, 0x42, sizeof(junk));
	CHECK_EQ(smpfota_flash_area_erase(sec(1), 0, sec(1)->size), 0);
	CHECK_EQ(smpfota_flash_area_write(sec(1), 0, junk, sizeof(junk)), 0);
	CHECK_EQ(smpfota_boot_slot_image(sec(1), &info), SMPFOTA_ERR_BAD_MAGIC);
	/* a header with hdr_size < 32 */
	CHECK_EQ(smpfota_flash_area_erase(sec(1), 0, sec(1)->size), 0);
	memcpy(junk, new_img[1].data, 32);
	junk[8] = 16;
	junk[9] = 0;
	CHECK_EQ(smpfota_flash_area_write(sec(1), 0, junk, sizeof(junk)), 0);
	CHECK_EQ(smpfota_boot_slot_image(sec(1), &info), SMPFOTA_ERR_BAD_HEADER);
	CHECK_EQ(smpfota_boot_slot_image(sec(1), NULL), SMPFOTA_ERR_INVAL);
	no_violations();
}

/* ---- life cycles ------------------------------------------------------------------------ */

static void check_result(int i, uint8_t type, const struct img *running)
{
	const struct smpfota_boot_image_result *r = &tb.fx.boot.image[i];
	struct smpfota_image_info info;

	CHECK_EQ(r->swap_type, type);
	CHECK(r->bootable);
	CHECK_EQ(r->primary_err, 0);
	CHECK(r->has_header);
	CHECK_EQ(smpfota_image_parse(running->data, running->len, &info), 0);
	CHECK_EQ(r->version.major, info.hdr.version.major);
	CHECK_EQ(r->version.minor, info.hdr.version.minor);
	CHECK_EQ(r->version.build, info.hdr.version.build);
	CHECK_MEM(r->hash, info.hash, 32);
	CHECK_EQ(r->image_size, running->len);
}

/* A boot that should change nothing on either flash. */
static void check_idle_boot(void)
{
	uint32_t a = tb.app.ops, n = tb.net.ops;

	CHECK_EQ(boot(), 0);
	CHECK_EQ(tb.app.ops, a);
	CHECK_EQ(tb.net.ops, n);
	CHECK_EQ(tb.fx.boot.image[0].swap_type, SMPFOTA_BOOT_SWAP_NONE);
	CHECK_EQ(tb.fx.boot.image[1].swap_type, SMPFOTA_BOOT_SWAP_NONE);
}

static void cycle_test_revert(int i)
{
	int other = 1 - i;

	bench();
	factory_and_upload(i);
	put_image(pri(other), &old_img[other]);
	check_idle_boot(); /* uploaded but not requested: nothing happens */
	CHECK(area_holds(pri(i), &old_img[i]));

	CHECK_EQ(smpfota_boot_set_pending(sec(i), (uint8_t)i, false), 0);
	CHECK_EQ(smpfota_boot_read_swap_type(pri(i), sec(i)), SMPFOTA_BOOT_SWAP_TEST);
	CHECK_EQ(boot(), 0);
	CHECK_EQ(tb.fx.boot.n_images, 2);
	check_result(i, SMPFOTA_BOOT_SWAP_TEST, &new_img[i]);
	CHECK(!tb.fx.boot.image[i].resumed);
	check_result(other, SMPFOTA_BOOT_SWAP_NONE, &old_img[other]);
	CHECK(area_holds(pri(i), &new_img[i]));
	CHECK(area_holds(sec(i), &old_img[i]));
	CHECK_TRAILER(pri(i), GOOD, UNSET, SET);
	CHECK_TRAILER(sec(i), MUNSET, UNSET, UNSET);
	struct smpfota_boot_trailer t = trailer(pri(i));
	CHECK_EQ(t.swap_info, SMPFOTA_BOOT_SWAP_INFO(i, SMPFOTA_BOOT_SWAP_TEST));
	CHECK_EQ(t.swap_size, new_img[i].len); /* the larger of the two images */
	CHECK_EQ(smpfota_flash_area_is_erased(sec(i),
					      sec(i)->size - smpfota_boot_trailer_size(sec(i)),
					      smpfota_boot_trailer_size(sec(i))),
		 1);
	/* the running test image is not confirmed: the next reset reverts */
	CHECK_EQ(smpfota_boot_read_swap_type(pri(i), sec(i)), SMPFOTA_BOOT_SWAP_REVERT);
	CHECK_EQ(boot(), 0);
	check_result(i, SMPFOTA_BOOT_SWAP_REVERT, &old_img[i]);
	CHECK(area_holds(pri(i), &old_img[i]));
	CHECK(area_holds(sec(i), &new_img[i]));
	CHECK_TRAILER(pri(i), GOOD, SET, SET);
	CHECK_TRAILER(sec(i), MUNSET, UNSET, UNSET);
	/* and the old image is permanent again */
	check_idle_boot();
	CHECK(area_holds(pri(i), &old_img[i]));
	no_violations();
}

static void test_cycle_test_revert(void)
{
	cycle_test_revert(0);
	cycle_test_revert(1);
}

static void cycle_test_confirm(int i)
{
	bench();
	factory_and_upload(i);
	CHECK_EQ(smpfota_boot_set_pending(sec(i), (uint8_t)i, false), 0);
	CHECK_EQ(boot(), 0);
	check_result(i, SMPFOTA_BOOT_SWAP_TEST, &new_img[i]);
	/* the new firmware confirms itself */
	CHECK_EQ(smpfota_boot_set_confirmed(pri(i)), 0);
	CHECK_TRAILER(pri(i), GOOD, SET, SET);
	CHECK_EQ(smpfota_boot_read_swap_type(pri(i), sec(i)), SMPFOTA_BOOT_SWAP_NONE);
	check_idle_boot();
	check_idle_boot();
	CHECK(area_holds(pri(i), &new_img[i]));
	CHECK(area_holds(sec(i), &old_img[i]));
	check_result(i, SMPFOTA_BOOT_SWAP_NONE, &new_img[i]);
	/* the next update: upload over the old image, test it, revert to the confirmed one */
	put_image(sec(i), &old_img[i]);
	CHECK_EQ(smpfota_boot_set_pending(sec(i), (uint8_t)i, false), 0);
	CHECK_EQ(boot(), 0);
	check_result(i, SMPFOTA_BOOT_SWAP_TEST, &old_img[i]);
	CHECK_EQ(boot(), 0);
	check_result(i, SMPFOTA_BOOT_SWAP_REVERT, &new_img[i]);
	no_violations();
}

static void test_cycle_test_confirm(void)
{
	cycle_test_confirm(0);
	cycle_test_confirm(1);
}

static void cycle_permanent(int i)
{
	bench();
	factory_and_upload(i);
	CHECK_EQ(smpfota_boot_set_pending(sec(i), (uint8_t)i, true), 0);
	CHECK_EQ(smpfota_boot_read_swap_type(pri(i), sec(i)), SMPFOTA_BOOT_SWAP_PERM);
	CHECK_EQ(boot(), 0);
	check_result(i, SMPFOTA_BOOT_SWAP_PERM, &new_img[i]);
	CHECK(area_holds(pri(i), &new_img[i]));
	CHECK(area_holds(sec(i), &old_img[i]));
	CHECK_TRAILER(pri(i), GOOD, SET, SET);
	CHECK_TRAILER(sec(i), MUNSET, UNSET, UNSET);
	CHECK_EQ(trailer(pri(i)).swap_info, SMPFOTA_BOOT_SWAP_INFO(i, SMPFOTA_BOOT_SWAP_PERM));
	/* no confirm needed */
	check_idle_boot();
	CHECK(area_holds(pri(i), &new_img[i]));
	no_violations();
}

static void test_cycle_permanent(void)
{
	cycle_permanent(0);
	cycle_permanent(1);
}

/* Both images pending in one reset, as a multi-image update. */
static void test_both_images(void)
{
	bench();
	factory_and_upload(0);
	factory_and_upload(1);
	CHECK_EQ(smpfota_boot_set_pending(sec(0), 0, false), 0);
	CHECK_EQ(smpfota_boot_set_pending(sec(1), 1, true), 0);
	CHECK_EQ(boot(), 0);
	check_result(0, SMPFOTA_BOOT_SWAP_TEST, &new_img[0]);
	check_result(1, SMPFOTA_BOOT_SWAP_PERM, &new_img[1]);
	CHECK_EQ(boot(), 0);
	check_result(0, SMPFOTA_BOOT_SWAP_REVERT, &old_img[0]);
	check_result(1, SMPFOTA_BOOT_SWAP_NONE, &new_img[1]);
	no_violations();
}

static void invalid_secondary(int i, const struct img *bad, int want_err)
{
	static uint8_t before[APP_SIZE];
	const struct smpfota_flash_area *p = pri(i);

	bench();
	put_image(pri(i), &old_img[i]);
	put_image(sec(i), bad);
	CHECK_EQ(smpfota_boot_set_pending(sec(i), (uint8_t)i, false), 0);
	memcpy(before, mem_of(i) + p->off, p->size);
	CHECK_EQ(boot(), 0);
	CHECK_EQ(tb.fx.boot.image[i].swap_type, SMPFOTA_BOOT_SWAP_NONE);
	CHECK(tb.fx.boot.image[i].secondary_erased);
	CHECK_EQ(tb.fx.boot.image[i].secondary_err, want_err);
	check_result(i, SMPFOTA_BOOT_SWAP_NONE, &old_img[i]);
	CHECK_EQ(smpfota_flash_area_is_erased(sec(i), 0, sec(i)->size), 1);
	CHECK_MEM(mem_of(i) + p->off, before, p->size); /* primary untouched, trailer too */
	check_idle_boot();
	no_violations();
}

static void test_invalid_secondary(void)
{
	for (int i = 0; i < 2; i++) {
		/* bad hash */
		memcpy(tmp_img.data, new_img[i].data, new_img[i].len);
		tmp_img.len = new_img[i].len;
		tmp_img.data[0x200 + 1234] ^= 0x01;
		invalid_secondary(i, &tmp_img, SMPFOTA_ERR_HASH_MISMATCH);
		/* a corrupt TLV area */
		memcpy(tmp_img.data, new_img[i].data, new_img[i].len);
		tmp_img.data[new_img[i].len - 75 - 36 - 36 - 4] ^= 0xff;
		invalid_secondary(i, &tmp_img, SMPFOTA_ERR_TLV_CORRUPT);
		/* valid, but larger than the slot can swap */
		uint32_t max = smpfota_boot_max_image_size(pri(i), sec(i));
		build(&tmp_img, max - 0x200U - 100U, 3, 0, 9, false);
		CHECK(tmp_img.len > max);
		invalid_secondary(i, &tmp_img, SMPFOTA_ERR_TRUNCATED);
	}
	/* exactly the largest image swaps, and back */
	bench();
	uint32_t max = smpfota_boot_max_image_size(pri(1), sec(1));
	build(&tmp_img, 1000, 3, 0, 9, true);
	uint32_t overhead = (uint32_t)tmp_img.len - 1000U;
	build(&tmp_img, max - overhead, 3, 0, 9, true);
	CHECK_EQ(tmp_img.len, max);
	put_image(pri(1), &old_img[1]);
	put_image(sec(1), &tmp_img);
	CHECK_EQ(smpfota_boot_set_pending(sec(1), 1, false), 0);
	CHECK_EQ(boot(), 0);
	check_result(1, SMPFOTA_BOOT_SWAP_TEST, &tmp_img);
	CHECK(area_holds(sec(1), &old_img[1]));
	CHECK_EQ(boot(), 0);
	check_result(1, SMPFOTA_BOOT_SWAP_REVERT, &old_img[1]);
	CHECK(area_holds(sec(1), &tmp_img));
	no_violations();
}

static void test_empty_secondary_request(void)
{
	/* a request with no image behind it: NONE, and the slot is left as it is */
	bench();
	put_image(pri(0), &old_img[0]);
	CHECK_EQ(smpfota_boot_set_pending(sec(0), 0, false), 0);
	CHECK_EQ(boot(), 0);
	CHECK_EQ(tb.fx.boot.image[0].swap_type, SMPFOTA_BOOT_SWAP_NONE);
	CHECK(!tb.fx.boot.image[0].secondary_erased);
	CHECK_EQ(trailer(sec(0)).magic, GOOD);
	check_result(0, SMPFOTA_BOOT_SWAP_NONE, &old_img[0]);
	/* a NON_BOOTABLE image is not swapped in, nor erased */
	struct smpfota_emu_image_spec s;
	memset(&s, 0, sizeof(s));
	s.body_size = 5000;
	s.flags = SMPFOTA_IMAGE_F_NON_BOOTABLE;
	tmp_img.len = smpfota_emu_image_build(tmp_img.data, sizeof(tmp_img.data), &s, NULL);
	bench();
	put_image(pri(0), &old_img[0]);
	put_image(sec(0), &tmp_img);
	CHECK_EQ(smpfota_boot_set_pending(sec(0), 0, false), 0);
	CHECK_EQ(boot(), 0);
	CHECK_EQ(tb.fx.boot.image[0].swap_type, SMPFOTA_BOOT_SWAP_NONE);
	CHECK(area_holds(sec(0), &tmp_img));
	no_violations();
}

/* First install: nothing in the primary. The test image runs; with nothing valid to go back
 * to, the "revert" is dropped and the image keeps running, as in MCUboot. */
static void test_first_install(void)
{
	bench();
	put_image(sec(1), &new_img[1]);
	CHECK_EQ(boot(), 0);
	CHECK(!tb.fx.boot.image[1].bootable);
	CHECK_EQ(tb.fx.boot.image[1].primary_err, SMPFOTA_ERR_BAD_MAGIC);
	CHECK(!tb.fx.boot.image[1].has_header);
	CHECK_EQ(smpfota_boot_set_pending(sec(1), 1, false), 0);
	CHECK_EQ(boot(), 0);
	check_result(1, SMPFOTA_BOOT_SWAP_TEST, &new_img[1]);
	CHECK_EQ(boot(), 0);
	check_result(1, SMPFOTA_BOOT_SWAP_NONE, &new_img[1]);
	no_violations();
}

/* A revert whose secondary trailer was torn (bad magic, image_ok never written): the table
 * still says REVERT, fixup_revert leaves a non-erased trailer alone, so image_ok is not
 * copied into the primary; the post-swap image_ok write is what keeps the old image. */
static void test_revert_torn_secondary_trailer(void)
{
	bench();
	factory_and_upload(0);
	CHECK_EQ(smpfota_boot_set_pending(sec(0), 0, false), 0);
	CHECK_EQ(boot(), 0);
	check_result(0, SMPFOTA_BOOT_SWAP_TEST, &new_img[0]);
	write_magic_raw(sec(0), false);
	CHECK_EQ(smpfota_boot_read_swap_type(pri(0), sec(0)), SMPFOTA_BOOT_SWAP_REVERT);
	CHECK_EQ(boot(), 0);
	check_result(0, SMPFOTA_BOOT_SWAP_REVERT, &old_img[0]);
	CHECK(area_holds(sec(0), &new_img[0]));
	CHECK_TRAILER(pri(0), GOOD, SET, SET);
	CHECK_TRAILER(sec(0), MUNSET, UNSET, UNSET);
	check_idle_boot();
	CHECK(area_holds(pri(0), &old_img[0]));
	no_violations();
}

static void test_args(void)
{
	struct smpfota_boot b;

	bench();
	memset(&b, 0, sizeof(b));
	CHECK_EQ(smpfota_boot_go(NULL, NULL), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_boot_go(&b, NULL), SMPFOTA_ERR_INVAL);
	b.images = tb.fx.images;
	b.n_images = 3;
	CHECK_EQ(smpfota_boot_go(&b, NULL), SMPFOTA_ERR_INVAL);
	b.n_images = 1;
	b.buf = tb.fx.boot_buf;
	b.buf_size = 4;
	CHECK_EQ(smpfota_boot_go(&b, NULL), SMPFOTA_ERR_INVAL);
	/* no caller buffer: the model uses a small stack buffer (more flash operations) */
	b.buf = NULL;
	b.buf_size = 0;
	factory_and_upload(0);
	CHECK_EQ(smpfota_boot_set_pending(sec(0), 0, false), 0);
	CHECK_EQ(smpfota_boot_go(&b, &tb.fx.boot), 0);
	CHECK_EQ(tb.fx.boot.n_images, 1);
	check_result(0, SMPFOTA_BOOT_SWAP_TEST, &new_img[0]);
	no_violations();
}

/* ---- power cuts ------------------------------------------------------------------------- */

enum scenario { SC_TEST, SC_REVERT, SC_PERM };

/* Put image i in the state just before the swap under test; returns nothing. */
static void prepare(int i, enum scenario sc)
{
	bench();
	factory_and_upload(i);
	put_image(pri(1 - i), &old_img[1 - i]);
	CHECK_EQ(smpfota_boot_set_pending(sec(i), (uint8_t)i, sc == SC_PERM), 0);
	if (sc == SC_REVERT) {
		CHECK_EQ(boot(), 0); /* the test swap; the revert is what gets cut */
		CHECK_EQ(tb.fx.boot.image[i].swap_type, SMPFOTA_BOOT_SWAP_TEST);
	}
	memcpy(tb.app_snap, tb.app_mem, APP_SIZE);
	memcpy(tb.net_snap, tb.net_mem, NET_SIZE);
}

static void restore(void)
{
	memcpy(tb.app_mem, tb.app_snap, APP_SIZE);
	memcpy(tb.net_mem, tb.net_snap, NET_SIZE);
	smpfota_nor_power_on(&tb.app);
	smpfota_nor_power_on(&tb.net);
	smpfota_nor_reset_counters(&tb.app);
	smpfota_nor_reset_counters(&tb.net);
}

/* The end state every interrupted run must reach (the simulator's checks, plus the whole
 * slots against an uninterrupted run). Returns false on the first difference. */
static bool check_end_state(int i, enum scenario sc)
{
	const struct img *in_pri = sc == SC_REVERT ? &old_img[i] : &new_img[i];
	const struct img *in_sec = sc == SC_REVERT ? &new_img[i] : &old_img[i];
	const struct smpfota_flash_area *p = pri(i), *s = sec(i);
	struct smpfota_boot_trailer tp = trailer(p), ts = trailer(s);
	uint8_t *m = mem_of(i), *ref = i == 0 ? tb.app_ref : tb.net_ref;
	uint8_t want_ok = sc == SC_TEST ? UNSET : SET;
	bool ok = true;

	ok = ok && area_holds(p, in_pri) && area_holds(s, in_sec);
	ok = ok && tp.magic == GOOD && tp.image_ok == want_ok && tp.copy_done == SET;
	ok = ok && ts.magic == MUNSET && ts.image_ok == UNSET && ts.copy_done == UNSET;
	ok = ok && tb.fx.boot.image[i].bootable;
	/* Whole flash as the uninterrupted run left it. Only a revert may differ, in one
	 * byte: cut early, it completes as the permanent swap fixup_revert prepared. */
	if (sc == SC_REVERT && tp.swap_info == SMPFOTA_BOOT_SWAP_INFO(i, SMPFOTA_BOOT_SWAP_PERM)) {
		uint32_t at = p->off + p->size - SMPFOTA_BOOT_SWAP_INFO_OFF;

		ok = ok && memcmp(m, ref, at) == 0;
		ok = ok && memcmp(m + at + 1, ref + at + 1, mem_size(i) - at - 1) == 0;
	} else {
		ok = ok && memcmp(m, ref, mem_size(i)) == 0;
	}
	ok = ok && tb.app.violations == 0 && tb.net.violations == 0;
	return ok;
}

/* One scenario, cut at every operation: returns the number of cut points. */
static unsigned cut_everywhere(int i, enum scenario sc, bool partial)
{
	struct smpfota_nor *n = nor_of(i);
	uint32_t total;
	unsigned covered = 0, failures = 0;
	int want = sc == SC_REVERT ? SMPFOTA_BOOT_SWAP_REVERT
		   : sc == SC_PERM ? SMPFOTA_BOOT_SWAP_PERM
				   : SMPFOTA_BOOT_SWAP_TEST;

	/* Reference: the clean run and its operation count. */
	prepare(i, sc);
	restore();
	CHECK_EQ(boot(), 0);
	CHECK_EQ(tb.fx.boot.image[i].swap_type, want);
	total = n->ops;
	CHECK(total > 20);
	memcpy(tb.app_ref, tb.app_mem, APP_SIZE);
	memcpy(tb.net_ref, tb.net_mem, NET_SIZE);
	CHECK(check_end_state(i, sc));

	for (uint32_t cut = 1; cut <= total; cut++) {
		int rc, boots = 0;

		restore();
		n->partial_cut = partial;
		n->power_cut_at_op = cut;
		rc = boot();
		if (rc != SMPFOTA_ERR_IO || !n->power_cut) {
			fprintf(stderr, "image %d sc %d cut %u: boot rc %d, cut %d\n", i, sc,
				(unsigned)cut, rc, n->power_cut);
			failures++;
			continue;
		}
		smpfota_nor_power_on(n);
		do {
			rc = boot();
			boots++;
		} while (rc != 0 && boots < 4);
		n->partial_cut = false;
		covered++;
		if (rc != 0 || !check_end_state(i, sc)) {
			fprintf(stderr,
				"image %d scenario %d partial %d: cut at op %u of %u not "
				"recovered (rc %d)\n",
				i, sc, partial, (unsigned)cut, (unsigned)total, rc);
			failures++;
			continue;
		}
		/* The recovered state behaves: after a test swap the next reset reverts. */
		if (sc == SC_TEST && (cut % 16U) == 0) {
			CHECK_EQ(boot(), 0);
			CHECK_EQ(tb.fx.boot.image[i].swap_type, SMPFOTA_BOOT_SWAP_REVERT);
			CHECK(area_holds(pri(i), &old_img[i]));
			CHECK(area_holds(sec(i), &new_img[i]));
		}
	}
	CHECK_EQ(failures, 0);
	CHECK_EQ(covered, total);
	printf("  image %d %-6s %-7s: %u of %u flash operations cut, all recovered\n", i,
	       sc == SC_TEST   ? "test"
	       : sc == SC_PERM ? "perm"
			       : "revert",
	       partial ? "partial" : "clean", covered, (unsigned)total);
	cut_points_covered += covered;
	return covered;
}

static void test_cut_test_swap(void)
{
	cut_everywhere(0, SC_TEST, false);
	cut_everywhere(1, SC_TEST, false);
}

static void test_cut_revert(void)
{
	cut_everywhere(0, SC_REVERT, false);
	cut_everywhere(1, SC_REVERT, false);
}

static void test_cut_perm(void)
{
	cut_everywhere(0, SC_PERM, false);
	cut_everywhere(1, SC_PERM, false);
}

static void test_cut_partial(void)
{
	cut_everywhere(0, SC_TEST, true);
	cut_everywhere(1, SC_TEST, true);
	cut_everywhere(0, SC_REVERT, true);
	cut_everywhere(1, SC_REVERT, true);
}

/* Several cuts in one update (the simulator's run_perm_with_random_fails): after each power
 * on, the next cut comes a random 20..59 operations later, until a boot completes. */
static void test_cut_repeatedly(void)
{
	uint32_t seed = 12345;
	unsigned runs = 0, cuts = 0;

	for (int i = 0; i < 2; i++) {
		for (int sc = SC_TEST; sc <= SC_REVERT; sc++) {
			struct smpfota_nor *n = nor_of(i);

			/* reference for check_end_state */
			prepare(i, (enum scenario)sc);
			restore();
			CHECK_EQ(boot(), 0);
			memcpy(tb.app_ref, tb.app_mem, APP_SIZE);
			memcpy(tb.net_ref, tb.net_mem, NET_SIZE);
			for (int run = 0; run < 40; run++) {
				int rc, boots = 0;

				restore();
				n->partial_cut = (run & 1) != 0;
				n->power_cut_at_op = 1U + tu_rand(&seed) % 60U;
				while ((rc = boot()) != 0 && boots < 100) {
					CHECK_EQ(rc, SMPFOTA_ERR_IO);
					smpfota_nor_power_on(n);
					n->power_cut_at_op = n->ops + 20U + tu_rand(&seed) % 40U;
					boots++;
					cuts++;
				}
				n->partial_cut = false;
				n->power_cut_at_op = 0;
				CHECK_EQ(rc, 0);
				CHECK(check_end_state(i, (enum scenario)sc));
				runs++;
			}
		}
	}
	printf("  repeated cuts: %u runs, %u cuts, all recovered\n", runs, cuts);
	CHECK(cuts > runs); /* more than one cut per update on average */
	cut_points_covered += cuts;
}

/* A transient write error (not a reset) aborts the boot; the next boot finishes the swap. */
static void test_transient_error(void)
{
	prepare(0, SC_TEST);
	restore();
	CHECK_EQ(boot(), 0);
	memcpy(tb.app_ref, tb.app_mem, APP_SIZE);
	memcpy(tb.net_ref, tb.net_mem, NET_SIZE);
	for (uint32_t k = 1; k <= 60; k += 7) {
		restore();
		tb.app.fail_at_op = k;
		CHECK_EQ(boot(), SMPFOTA_ERR_IO);
		tb.app.fail_at_op = 0;
		CHECK_EQ(boot(), 0);
		CHECK(check_end_state(0, SC_TEST));
	}
}

int main(void)
{
	RUN(test_trailer_layout);
	RUN(test_trailer_write_sizes);
	RUN(test_trailer_decode);
	RUN(test_set_pending_states);
	RUN(test_set_confirmed_states);
	RUN(test_decision_table);
	RUN(test_sizes);
	RUN(test_slot_image);
	RUN(test_cycle_test_revert);
	RUN(test_cycle_test_confirm);
	RUN(test_cycle_permanent);
	RUN(test_both_images);
	RUN(test_invalid_secondary);
	RUN(test_empty_secondary_request);
	RUN(test_first_install);
	RUN(test_revert_torn_secondary_trailer);
	RUN(test_args);
	RUN(test_cut_test_swap);
	RUN(test_cut_revert);
	RUN(test_cut_perm);
	RUN(test_cut_partial);
	RUN(test_cut_repeatedly);
	RUN(test_transient_error);
	printf("power-cut points covered: %lu\n", cut_points_covered);
	return CHECK_SUMMARY();
}
