/*
 * Power loss at every flash operation, through the whole device: the SMP server (as a client
 * drives it) and the boot model (MCUboot at every reset) on one strict emulated NOR, the way
 * tests/test_boot.c cuts the swaps alone (issue #6, item 1).
 *
 * For each scenario a clean run counts the flash operations (writes + erases); then for every
 * operation N the scenario runs again from the same snapshot with the power cut at N (clean:
 * the operation does nothing; partial: it is left half done), the device restarts (power on,
 * MCUboot until it completes, server init) and the client carries on from what it knows,
 * to the end. The invariants are checked right after the cut, after the restart and at the
 * end; any violation fails the test with the cut point that found it.
 *
 * (a) upload: restart warm (the server struct as it was in RAM at the cut, resume = true),
 *     cold (zeroed, resume = false) and cold with RAM noise (resume = true). The running
 *     image stays byte-identical and boots; the upload ends byte-exact with `match`; nothing
 *     becomes pending. Also: an invalid image (refused and scrambled at the end, by the stream
 *     or by the image-check shortcut after a restart), and a warm reset between any two
 *     requests (the upload resumes and still ends verified).
 * (b) image state writes, as whole client workflows with their resets: `image test` then a
 *     reset without confirm (must revert), `image test` + reset + `image confirm` + reset, and
 *     `image confirm HASH` (permanent) + reset. Every write of the state requests and of the
 *     swaps they cause is cut. The device always boots a valid image; a confirmed image is
 *     never lost; a test image reverts at the next reset unless confirmed; a torn request
 *     never turns into a permanent one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "emu/image.h"
#include "smpfota/boot.h"
#include "emu/nor.h"
#include "emu/target.h"
#include "smpfota/server.h"
#include "test_util.h"

/* nRF5340 app core geometry (4 KB pages, 4-byte writes); small slots so that an exhaustive
 * run stays fast: secondary 6 pages (1 trailer page), primary 7 (one more for swap-move). */
#define PAGE 4096U
#define SEC_PAGES 6U
#define SEC_SIZE (SEC_PAGES * PAGE)
#define PRI_SIZE ((SEC_PAGES + 1U) * PAGE)
#define DEV (SEC_SIZE + PRI_SIZE)
#define IMG_CAP 20480U

struct img {
	uint8_t data[IMG_CAP];
	size_t len;
	uint8_t sha[32];  /* SHA-256 of the file: the upload's "sha" */
	uint8_t hash[32]; /* its SHA-256 TLV: what `image list` shows */
};

static uint8_t mem[DEV];
static struct smpfota_nor nor;
static struct smpfota_emu_target tb; /* the target board; tb.srv is its RAM */
static uint8_t seq;

/* A, running and confirmed; B, the update; C, an older file left in the secondary; D, B with
 * a damaged SHA-256 TLV. */
static struct img img_a, img_b, img_c, img_d;

/* Device snapshots: flash, NOR state (counters, seed) and the server RAM. */
struct snap {
	uint8_t mem[DEV];
	struct smpfota_nor nor;
	struct smpfota_server srv;
};
static struct snap start_snap, end_ref;

/* The server RAM at the instant of the cut: what retained RAM holds after a warm reset. */
static struct smpfota_server srv_at_cut;
static bool srv_at_cut_taken;

static char where[160];
static unsigned violations;

#define EXPECT(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s: %s:%d: %s\n", where, __FILE__, __LINE__, #c); \
			violations++; \
			return false; \
		} \
	} while (0)

static const struct smpfota_flash_area *pri(void)
{
	return &tb.images[0].primary;
}

static const struct smpfota_flash_area *sec(void)
{
	return &tb.images[0].secondary;
}

static void build(struct img *m, uint32_t body, uint8_t major, uint32_t seed)
{
	struct smpfota_image_info info;
	m->len = smpfota_emu_image_build(
		m->data, sizeof(m->data),
		&(struct smpfota_emu_image_spec){
			.body_size = body, .ver = {major, 0, 0, seed}, .seed = seed},
		NULL);
	CHECK(m->len > 0);
	tu_sha256(m->data, m->len, m->sha);
	CHECK_EQ(smpfota_image_parse(m->data, m->len, &info), 0);
	memcpy(m->hash, info.hash, 32);
}

static void on_op(void *ctx, int kind, uint32_t off, size_t len)
{
	(void)ctx;
	(void)kind;
	(void)off;
	(void)len;
	if (nor.power_cut && !srv_at_cut_taken) {
		memcpy(&srv_at_cut, &tb.srv, sizeof(tb.srv));
		srv_at_cut_taken = true;
	}
}

static void take(struct snap *s)
{
	memcpy(s->mem, mem, DEV);
	s->nor = nor;
	memcpy(&s->srv, &tb.srv, sizeof(tb.srv));
}

/* Back to a snapshot; operation numbers start again at 1. */
static void restore(const struct snap *s)
{
	memcpy(mem, s->mem, DEV);
	nor = s->nor;
	memcpy(&tb.srv, &s->srv, sizeof(tb.srv));
	smpfota_nor_power_on(&nor);
	smpfota_nor_reset_counters(&nor);
	nor.partial_cut = false;
	nor.on_op = on_op;
	srv_at_cut_taken = false;
}

static bool area_holds(const struct smpfota_flash_area *a, const struct img *m)
{
	static uint8_t r[IMG_CAP];
	return smpfota_flash_area_read(a, 0, r, m->len) == 0 && memcmp(r, m->data, m->len) == 0;
}

/* Factory programming of an image (no trailer: confirmed), outside the counted operations. */
static void program(const struct smpfota_flash_area *a, const struct img *m)
{
	static uint8_t padded[IMG_CAP + 8];
	size_t n = (m->len + 3U) & ~(size_t)3U;
	memset(padded, 0xff, n);
	memcpy(padded, m->data, m->len);
	memset(mem + a->off, 0xff, a->size);
	memcpy(mem + a->off, padded, n);
}

static void bench(void)
{
	static bool built;
	if (!built) {
		build(&img_a, 9000, 1, 1);
		build(&img_b, 13501, 2, 2); /* 4 pages, ends mid write block */
		build(&img_c, 17000, 1, 3);
		img_d = img_b;
		img_d.data[img_d.len - 140] ^= 0x04; /* inside the SHA-256 TLV value */
		tu_sha256(img_d.data, img_d.len, img_d.sha);
		built = true;
	}
	CHECK_EQ(smpfota_nor_init(&nor, mem, DEV, PAGE, 4), 0);
	smpfota_nor_erase_all(&nor);
	smpfota_emu_target_init(&tb);
	/* the secondary first, then the primary (one page larger) */
	CHECK_EQ(smpfota_emu_target_add_image(&tb, &nor, SEC_SIZE, &nor, 0, SEC_SIZE), 0);
	tb.cfg.buf_size = 2048;
	tb.cfg.buf_count = 4;
	tb.cfg.image_check = true;
	tb.boot_buf_size = 1024;
	CHECK_EQ(smpfota_emu_target_start(&tb, false), 0);
}

/* ---- client side ------------------------------------------------------------------------ */

static uint8_t rsp_frame[4096];

static int call(enum smpfota_smp_msg m, const void *req, void *rsp)
{
	uint8_t frame[4096];
	int n = smpfota_smp_encode_req(m, SMPFOTA_SMP_V2, ++seq, req, frame, sizeof(frame));
	if (n <= 0) {
		return -1;
	}
	int r = smpfota_server_handle(&tb.srv, frame, (size_t)n, rsp_frame, sizeof(rsp_frame));
	struct smpfota_smp_hdr h;
	if (r <= 0 || smpfota_smp_hdr_decode(rsp_frame, (size_t)r, &h) != r || h.seq != seq) {
		return -1;
	}
	return smpfota_smp_decode_rsp(m, rsp_frame + 8, h.len, rsp);
}

static int v2err(const struct smpfota_smp_status *st)
{
	return st->has_err ? st->err.rc : st->rc ? 1000 + st->rc : 0;
}

/* Chunk length as a function of the offset alone, so a client that starts over cuts the
 * file the same way: 29..328 bytes, mostly unaligned (two writes per chunk: the write-block
 * remainder and the aligned bulk). */
static size_t chunk_at(size_t off, size_t len)
{
	size_t n = off == 0 ? 300 : 29 + (size_t)((uint32_t)(off * 2654435761U) >> 7) % 300;
	return n < len - off ? n : len - off;
}

enum { R_DONE, R_CUT, R_ERR };

/*
 * Upload m from *off (the next offset the client believes in) until the server answers the
 * whole length, the power is cut (the answer never leaves the device: *off stays) or an
 * error comes back (*err). *requests counts the requests sent.
 */
static int client_upload(const struct img *m, size_t *off, struct smpfota_img_upload_rsp *last,
			 int *err, unsigned *requests)
{
	for (unsigned k = 0; k < 400; k++) {
		size_t n = chunk_at(*off, m->len);
		struct smpfota_img_upload_req q = {.off = (uint32_t)*off,
						   .data = {m->data + *off, n}};
		if (*off == 0) {
			q.has_len = q.has_sha = true;
			q.len = (uint32_t)m->len;
			q.sha = (struct smpfota_bytes){m->sha, 32};
		}
		int rc = call(SMPFOTA_MSG_IMG_UPLOAD, &q, last);
		if (requests != NULL) {
			(*requests)++;
		}
		if (nor.power_cut) {
			return R_CUT;
		}
		if (rc != 0 || v2err(&last->status) != 0 || !last->has_off || last->off > m->len) {
			*err = rc != 0 ? -1 : v2err(&last->status);
			return R_ERR;
		}
		*off = last->off;
		if (*off == m->len) {
			return R_DONE;
		}
	}
	*err = -2;
	return R_ERR;
}

/* Power comes back (or a reset): MCUboot runs until it completes. */
static bool boot_until_done(void)
{
	int rc = -1;
	smpfota_nor_power_on(&nor);
	nor.partial_cut = false;
	for (int i = 0; i < 4 && rc != 0; i++) {
		rc = smpfota_emu_target_boot(&tb);
	}
	EXPECT(rc == 0);
	EXPECT(tb.boot.image[0].bootable);
	return true;
}

enum restart { WARM, COLD_ZERO, COLD_NOISE, N_RESTARTS };
static const char *const restart_name[N_RESTARTS] = {"warm", "cold", "cold-noise"};

/* The application starts again after the boot; RAM as `how` leaves it. */
static void server_restart(enum restart how)
{
	bool resume = true;
	if (how == WARM) {
		if (srv_at_cut_taken) {
			memcpy(&tb.srv, &srv_at_cut, sizeof(tb.srv));
		}
	} else if (how == COLD_ZERO) {
		memset(&tb.srv, 0, sizeof(tb.srv));
		resume = false;
	} else {
		memset(&tb.srv, 0xa5, sizeof(tb.srv));
	}
	CHECK_EQ(smpfota_server_init(&tb.srv, &tb.cfg, resume), 0);
}

static bool trailer_blank(const struct smpfota_flash_area *a)
{
	uint32_t t = smpfota_boot_trailer_size(a);
	return smpfota_flash_area_is_erased(a, a->size - t, t) == 1;
}

/* ---- (a) upload ------------------------------------------------------------------------- */

/* The running image and its trailer, byte for byte, as at the start of the scenario. */
static bool primary_untouched(void)
{
	return memcmp(mem + pri()->off, start_snap.mem + pri()->off, pri()->size) == 0;
}

/* Nothing the cut or the restart did may request a swap. */
static bool nothing_pending(void)
{
	struct smpfota_boot_trailer t;
	return smpfota_boot_read_swap_type(pri(), sec()) == SMPFOTA_BOOT_SWAP_NONE &&
	       smpfota_boot_read_trailer(sec(), &t) == 0 && t.magic != SMPFOTA_BOOT_MAGIC_GOOD;
}

/* State before an upload: A confirmed in the primary; in the secondary an older, larger
 * file and a stale image_ok (so that the upload has pages and a trailer to erase). */
static void upload_start_state(void)
{
	bench();
	program(pri(), &img_a);
	program(sec(), &img_c);
	mem[sec()->off + sec()->size - SMPFOTA_BOOT_IMAGE_OK_OFF] = 0x01;
	CHECK(boot_until_done());
	server_restart(COLD_ZERO);
	smpfota_nor_reset_counters(&nor);
	take(&start_snap);
}

/* One upload of m with a cut at operation `cut`; want_err: the final answer expected (0: the
 * upload succeeds with match). */
static bool upload_with_cut(const struct img *m, uint32_t cut, bool partial, enum restart how,
			    int want_err)
{
	struct smpfota_img_upload_rsp last;
	size_t off = 0;
	int err = 0;

	snprintf(where, sizeof(where), "upload %s cut %u %s restart %s",
		 m == &img_b ? "valid" : "invalid", (unsigned)cut, partial ? "partial" : "clean",
		 restart_name[how]);
	restore(&start_snap);
	nor.power_cut_at_op = cut;
	nor.partial_cut = partial;
	int r = client_upload(m, &off, &last, &err, NULL);
	EXPECT(r == R_CUT);
	/* what the cut left */
	EXPECT(primary_untouched());
	EXPECT(nothing_pending());
	EXPECT(nor.violations == 0);
	/* restart */
	EXPECT(boot_until_done());
	EXPECT(tb.boot.image[0].swap_type == SMPFOTA_BOOT_SWAP_NONE);
	EXPECT(!tb.boot.image[0].secondary_erased);
	EXPECT(memcmp(tb.boot.image[0].hash, img_a.hash, 32) == 0);
	EXPECT(primary_untouched());
	server_restart(how);
	/* the client carries on from its offset; the server says where to continue */
	r = client_upload(m, &off, &last, &err, NULL);
	if (want_err == 0) {
		EXPECT(r == R_DONE);
		EXPECT(last.has_match && last.match);
		EXPECT(area_holds(sec(), m));
		EXPECT(trailer_blank(sec()));
		/* the flash ends exactly as after an uninterrupted upload */
		EXPECT(memcmp(mem, end_ref.mem, DEV) == 0);
	} else {
		EXPECT(r == R_ERR && err == want_err);
		EXPECT(smpfota_flash_area_is_erased(sec(), 0, PAGE) == 1); /* scrambled */
	}
	EXPECT(primary_untouched());
	EXPECT(nothing_pending());
	EXPECT(nor.violations == 0);
	/* and the device still boots the running image */
	EXPECT(boot_until_done());
	EXPECT(tb.boot.image[0].swap_type == SMPFOTA_BOOT_SWAP_NONE);
	EXPECT(primary_untouched());
	return true;
}

/* Reference run: operations of a whole upload, and the flash it leaves. */
static uint32_t upload_reference(const struct img *m, int want_err, unsigned *requests)
{
	struct smpfota_img_upload_rsp last;
	size_t off = 0;
	int err = 0;
	restore(&start_snap);
	*requests = 0;
	int r = client_upload(m, &off, &last, &err, requests);
	if (want_err == 0) {
		CHECK_EQ(r, R_DONE);
		CHECK(last.has_match && last.match);
		CHECK(area_holds(sec(), m));
	} else {
		CHECK_EQ(r, R_ERR);
		CHECK_EQ(err, want_err);
	}
	CHECK_EQ(nor.violations, 0);
	take(&end_ref);
	return nor.ops;
}

static void upload_scenario(const struct img *m, int want_err, const char *name)
{
	unsigned requests = 0, covered = 0;
	upload_start_state();
	uint32_t total = upload_reference(m, want_err, &requests);
	CHECK(total >= requests);
	violations = 0;
	for (uint32_t cut = 1; cut <= total; cut++) {
		for (int partial = 0; partial < 2; partial++) {
			for (int how = 0; how < N_RESTARTS; how++) {
				(void)upload_with_cut(m, cut, partial, (enum restart)how, want_err);
			}
			covered++;
		}
	}
	CHECK_EQ(violations, 0);
	printf("powercut upload %s: %u requests, %u flash ops, %u cut points (clean+partial), "
	       "each restarted warm, cold and cold-noise: %s\n",
	       name, requests, (unsigned)total, covered,
	       violations ? "INVARIANTS VIOLATED" : "all invariants held");
}

static void test_upload_cut_everywhere(void)
{
	upload_scenario(&img_b, 0, "valid image");
}

static void test_invalid_upload_cut_everywhere(void)
{
	upload_scenario(&img_d, SMPFOTA_IMG_MGMT_ERR_INVALID_HASH, "invalid image");
}

/* A warm reset (no cut) between any two requests: the upload resumes where it was, and the
 * streamed checks that crossed the reset still end with `match`. */
static void test_upload_warm_reset_between_requests(void)
{
	unsigned requests = 0, points = 0;
	upload_start_state();
	(void)upload_reference(&img_b, 0, &requests);
	violations = 0;
	for (unsigned k = 1; k < requests; k++) {
		struct smpfota_img_upload_rsp last;
		size_t off = 0;
		int err = 0;
		snprintf(where, sizeof(where), "warm reset after request %u", k);
		restore(&start_snap);
		/* k requests, then the reset */
		for (unsigned i = 0; i < k; i++) {
			size_t n = chunk_at(off, img_b.len);
			struct smpfota_img_upload_req q = {.off = (uint32_t)off,
							   .data = {img_b.data + off, n}};
			if (off == 0) {
				q.has_len = q.has_sha = true;
				q.len = (uint32_t)img_b.len;
				q.sha = (struct smpfota_bytes){img_b.sha, 32};
			}
			CHECK_EQ(call(SMPFOTA_MSG_IMG_UPLOAD, &q, &last), 0);
			CHECK(last.has_off && last.off == off + n);
			off = last.off;
		}
		if (!boot_until_done()) {
			continue;
		}
		server_restart(WARM); /* tb.srv itself is the retained RAM */
		unsigned after = 0;
		int r = client_upload(&img_b, &off, &last, &err, &after);
		points++;
		/* resumed: not one request more than the uninterrupted upload */
		if (r != R_DONE || !last.match || !area_holds(sec(), &img_b) ||
		    k + after != requests || nor.violations != 0 || !primary_untouched()) {
			fprintf(stderr, "%s: not resumed (r %d, requests %u + %u of %u)\n", where,
				r, k, after, requests);
			violations++;
		}
	}
	CHECK_EQ(violations, 0);
	printf("powercut upload warm reset between requests: %u reset points, each resumed at "
	       "the same offset and ended with match: %s\n",
	       points, violations ? "INVARIANTS VIOLATED" : "all invariants held");
}

/* ---- (b) image state writes ------------------------------------------------------------- */

enum workflow { WF_TEST_REVERT, WF_TEST_CONFIRM, WF_PERMANENT, N_WORKFLOWS };
static const char *const wf_name[N_WORKFLOWS] = {"image test, reset, reset (revert)",
						 "image test, reset, image confirm, reset",
						 "image confirm HASH (permanent), reset"};

/* Operation ranges of the reference run, by what performed them. */
enum actor { ACT_STATE_WRITE, ACT_BOOT, ACT_UPLOAD, N_ACTORS };
static uint32_t ops_by[N_ACTORS];
static uint8_t actor_of_op[4096];

struct wf {
	enum workflow w;
	const struct img *confirmed; /* the image that must never be lost */
	bool b_ran_in_test;          /* the client saw B running unconfirmed */
	bool b_confirmed;            /* B confirmed (answered, or seen running confirmed) */
	bool booted_since_confirm;
	int reuploads;
	bool cut_seen;
};

static void note_ops(uint32_t from, enum actor who)
{
	for (uint32_t i = from + 1; i <= nor.ops && i < sizeof(actor_of_op); i++) {
		actor_of_op[i] = (uint8_t)who;
	}
}

static struct smpfota_img_state_rsp list(void)
{
	struct smpfota_img_state_rsp st;
	struct smpfota_img_state_read_req q = {0};
	memset(&st, 0, sizeof(st));
	if (call(SMPFOTA_MSG_IMG_STATE_READ, &q, &st) != 0) {
		st.images_count = 0;
	}
	return st;
}

static const struct smpfota_img_slot_state *entry(const struct smpfota_img_state_rsp *st,
						  uint32_t slot)
{
	for (size_t i = 0; i < st->images_count; i++) {
		if (st->images[i].image == 0 && st->images[i].slot == slot) {
			return &st->images[i];
		}
	}
	return NULL;
}

static bool is(const struct smpfota_img_slot_state *e, const struct img *m)
{
	return e != NULL && e->has_hash && e->hash.len == 32 &&
	       memcmp(e->hash.ptr, m->hash, 32) == 0;
}

/* The device restarts after a cut (cold: nothing of an upload record matters here). */
/* B runs on test (A confirmed in the secondary): the next boot must bring A back. */
static bool b_on_test(const struct wf *f)
{
	return f->confirmed == &img_a && area_holds(pri(), &img_b) &&
	       smpfota_boot_read_swap_type(pri(), sec()) == SMPFOTA_BOOT_SWAP_REVERT;
}

static bool wf_restart(struct wf *f)
{
	bool was_test = b_on_test(f);
	f->cut_seen = true;
	EXPECT(boot_until_done());
	server_restart(COLD_NOISE);
	if (was_test) {
		EXPECT(area_holds(pri(), &img_a));
	}
	return true;
}

/* A reset the client asked for: `os reset`, then MCUboot (which may be cut itself). */
static bool wf_reset(struct wf *f)
{
	bool b_test_before = b_on_test(f);
	struct smpfota_os_reset_req q = {0};
	struct smpfota_os_reset_rsp r;
	EXPECT(call(SMPFOTA_MSG_OS_RESET, &q, &r) == 0 && v2err(&r.status) == 0);
	uint32_t before = nor.ops;
	int rc = smpfota_emu_target_boot(&tb);
	note_ops(before, ACT_BOOT);
	if (nor.power_cut) {
		EXPECT(rc == SMPFOTA_ERR_IO);
		EXPECT(wf_restart(f));
	} else {
		EXPECT(rc == 0 && tb.boot.image[0].bootable);
		server_restart(COLD_NOISE);
	}
	/* a test image gets one boot: whatever happened during this one, it has reverted */
	if (b_test_before) {
		EXPECT(area_holds(pri(), f->confirmed));
	}
	if (f->b_confirmed) {
		f->booted_since_confirm = true;
	}
	return true;
}

/* `image test B` / `image confirm B` (permanent) / `image confirm` (the running image). */
static bool wf_state_write(struct wf *f, const uint8_t *hash, bool confirm)
{
	struct smpfota_img_state_write_req q = {.confirm = confirm};
	struct smpfota_img_state_rsp r;
	if (hash != NULL) {
		q.has_hash = true;
		q.hash = (struct smpfota_bytes){hash, 32};
	}
	uint32_t before = nor.ops;
	memset(&r, 0, sizeof(r));
	int rc = call(SMPFOTA_MSG_IMG_STATE_WRITE, &q, &r);
	note_ops(before, ACT_STATE_WRITE);
	if (nor.power_cut) {
		return wf_restart(f);
	}
	EXPECT(rc == 0);
	if (v2err(&r.status) != 0) {
		/* Only a trailer torn by an earlier cut may refuse the request (its magic is
		 * neither erased nor valid). As MCUboot's boot_set_next(), the refusal erased the
		 * whole secondary slot; the client uploads the file again and the loop retries. */
		struct smpfota_boot_trailer t;
		uint8_t head[4];
		EXPECT(hash != NULL && f->cut_seen);
		EXPECT(smpfota_boot_read_trailer(sec(), &t) == 0 &&
		       t.magic == SMPFOTA_BOOT_MAGIC_UNSET);
		EXPECT(smpfota_flash_area_read(sec(), 0, head, sizeof(head)) == 0 &&
		       (head[0] & head[1] & head[2] & head[3]) == 0xff);
		struct smpfota_img_upload_rsp last;
		size_t off = 0;
		int err = 0;
		before = nor.ops;
		int u = client_upload(&img_b, &off, &last, &err, NULL);
		note_ops(before, ACT_UPLOAD);
		f->reuploads++;
		if (u == R_CUT) {
			return wf_restart(f);
		}
		EXPECT(u == R_DONE && last.match);
		return true;
	}
	if (confirm && hash == NULL) {
		/* answered: B's image_ok is in flash */
		f->b_confirmed = true;
		f->confirmed = &img_b;
		f->booted_since_confirm = false;
	}
	return true;
}

/* Run a workflow from the current state to its end; false on a violation. */
static bool run_workflow(struct wf *f)
{
	for (int step = 0; step < 40; step++) {
		struct smpfota_img_state_rsp st = list();
		const struct smpfota_img_slot_state *s0 = entry(&st, 0), *s1 = entry(&st, 1);
		bool run_b = is(s0, &img_b);

		/* Invariants of every state the client can observe. */
		EXPECT(s0 != NULL && s0->active && (run_b || is(s0, &img_a)));
		EXPECT(area_holds(pri(), run_b ? &img_b : &img_a));
		EXPECT(nor.violations == 0);
		if (run_b && s0->confirmed) {
			EXPECT(f->w != WF_TEST_REVERT); /* a test image never becomes permanent */
			f->b_confirmed = true;
			f->confirmed = &img_b;
		}
		if (f->confirmed == &img_b) {
			EXPECT(run_b && s0->confirmed); /* a confirmed image is never lost */
		} else if (!run_b) {
			EXPECT(s0->confirmed);
		} else {
			/* B on test: A waits in the secondary, whole, and the next boot reverts */
			EXPECT(!s0->confirmed);
			EXPECT(is(s1, &img_a) && s1->confirmed && !s1->pending);
			EXPECT(area_holds(sec(), &img_a));
			EXPECT(smpfota_boot_read_swap_type(pri(), sec()) ==
			       SMPFOTA_BOOT_SWAP_REVERT);
		}

		/* What the client does next. */
		bool b_pending = is(s1, &img_b) && s1->pending;
		if (run_b && !s0->confirmed) {
			f->b_ran_in_test = true;
			if (f->w == WF_TEST_REVERT) {
				EXPECT(wf_reset(f));
			} else {
				EXPECT(wf_state_write(f, NULL,
						      true)); /* confirm the running image */
			}
		} else if (run_b) {
			if (f->booted_since_confirm) {
				return true; /* B confirmed and still there after a reset */
			}
			EXPECT(wf_reset(f));
		} else if (f->w == WF_TEST_REVERT && f->b_ran_in_test) {
			EXPECT(is(s1, &img_b) && !s1->pending);
			return true; /* A back, confirmed; B tried once */
		} else if (b_pending) {
			/* a test request is never permanent; a permanent one may have been torn
			 * into a test request by a cut (MCUboot's write order), never the reverse */
			EXPECT(f->w == WF_PERMANENT || !s1->permanent);
			EXPECT(f->w != WF_PERMANENT || s1->permanent || f->cut_seen);
			EXPECT(wf_reset(f));
		} else {
			EXPECT(wf_state_write(f, img_b.hash, f->w == WF_PERMANENT));
		}
	}
	EXPECT(!"workflow did not end");
	return false;
}

/* A confirmed, B uploaded through the server (as a client would), nothing pending. */
static void state_start_state(void)
{
	struct smpfota_img_upload_rsp last;
	size_t off = 0;
	int err = 0;
	bench();
	program(pri(), &img_a);
	CHECK(boot_until_done());
	server_restart(COLD_ZERO);
	CHECK_EQ(client_upload(&img_b, &off, &last, &err, NULL), R_DONE);
	CHECK(last.match);
	smpfota_nor_reset_counters(&nor);
	take(&start_snap);
}

static void workflow_scenario(enum workflow w)
{
	struct wf f;
	unsigned covered = 0, reuploads = 0;

	state_start_state();
	restore(&start_snap);
	memset(actor_of_op, 0, sizeof(actor_of_op));
	memset(&f, 0, sizeof(f));
	f.w = w;
	f.confirmed = &img_a;
	snprintf(where, sizeof(where), "%s: reference", wf_name[w]);
	violations = 0;
	CHECK(run_workflow(&f));
	CHECK(!f.cut_seen && f.reuploads == 0);
	uint32_t total = nor.ops;
	CHECK(total > 0 && total < sizeof(actor_of_op));
	memset(ops_by, 0, sizeof(ops_by));
	for (uint32_t i = 1; i <= total; i++) {
		ops_by[actor_of_op[i]]++;
	}
	for (uint32_t cut = 1; cut <= total; cut++) {
		for (int partial = 0; partial < 2; partial++) {
			snprintf(where, sizeof(where), "%s: cut %u of %u (%s) %s", wf_name[w],
				 (unsigned)cut, (unsigned)total,
				 actor_of_op[cut] == ACT_BOOT ? "in a boot" : "in a state write",
				 partial ? "partial" : "clean");
			restore(&start_snap);
			memset(&f, 0, sizeof(f));
			f.w = w;
			f.confirmed = &img_a;
			nor.power_cut_at_op = cut;
			nor.partial_cut = partial;
			if (run_workflow(&f) && !f.cut_seen) {
				fprintf(stderr, "%s: the cut never happened\n", where);
				violations++;
			}
			reuploads += (unsigned)f.reuploads;
			covered++;
		}
	}
	CHECK_EQ(violations, 0);
	printf("powercut %s: %u flash ops (%u in state writes, %u in boots), %u cut points "
	       "(clean+partial), %u re-uploads after a torn trailer: %s\n",
	       wf_name[w], (unsigned)total, (unsigned)ops_by[ACT_STATE_WRITE],
	       (unsigned)ops_by[ACT_BOOT], covered, reuploads,
	       violations ? "INVARIANTS VIOLATED" : "all invariants held");
}

static void test_state_test_revert(void)
{
	workflow_scenario(WF_TEST_REVERT);
}

static void test_state_test_confirm(void)
{
	workflow_scenario(WF_TEST_CONFIRM);
}

static void test_state_permanent(void)
{
	workflow_scenario(WF_PERMANENT);
}

int main(void)
{
	RUN(test_upload_cut_everywhere);
	RUN(test_invalid_upload_cut_everywhere);
	RUN(test_upload_warm_reset_between_requests);
	RUN(test_state_test_revert);
	RUN(test_state_test_confirm);
	RUN(test_state_permanent);
	return CHECK_SUMMARY();
}
