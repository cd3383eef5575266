/*
 * The emulated target board (ports/emu/target.h): slot layout checks, factory programming,
 * resets (MCUboot then the server, warm or cold), `os reset`, power cuts over several devices.
 */
#include "check.h"
#include "emu/image.h"
#include "emu/target.h"
#include "smpfota/smp.h"

#define PAGE 4096U
#define NPAGE 2048U
#define SLOT (8U * PAGE)
#define NSLOT (8U * NPAGE)

static uint8_t mem[SMPFOTA_EMU_TARGET_DEV_SIZE(SLOT, PAGE)];
static uint8_t qspi[SLOT], net[SMPFOTA_EMU_TARGET_DEV_SIZE(NSLOT, NPAGE)];
static struct smpfota_nor nor, qnor, nnor;
static struct smpfota_emu_target t;
static uint8_t img[20000];

static void devices(void)
{
	CHECK_EQ(smpfota_nor_init(&nor, mem, sizeof(mem), PAGE, 4), 0);
	CHECK_EQ(smpfota_nor_init(&qnor, qspi, sizeof(qspi), PAGE, 4), 0);
	CHECK_EQ(smpfota_nor_init(&nnor, net, sizeof(net), NPAGE, 4), 0);
	smpfota_nor_erase_all(&nor);
	smpfota_nor_erase_all(&qnor);
	smpfota_nor_erase_all(&nnor);
	smpfota_emu_target_init(&t);
}

static void test_add_image_checks_the_layout(void)
{
	devices();
	CHECK_EQ(smpfota_emu_target_add_image(&t, &nor, 0, &nor, SLOT + PAGE, SLOT + PAGE),
		 SMPFOTA_ERR_INVAL); /* secondary past the end */
	CHECK_EQ(smpfota_emu_target_add_image(&t, &nor, 100, &nor, SLOT + PAGE, SLOT),
		 SMPFOTA_ERR_INVAL); /* not on a page */
	CHECK_EQ(smpfota_emu_target_add_image(&t, &nor, 0, &nor, SLOT + PAGE, SLOT - 1),
		 SMPFOTA_ERR_INVAL); /* not whole pages */
	CHECK_EQ(t.n_images, 0);
	CHECK_EQ(smpfota_emu_target_add_image(&t, &nor, 0, &nor, SLOT + PAGE, SLOT), 0);
	CHECK_EQ(t.images[0].primary.size, SLOT + PAGE);
	CHECK_EQ(t.images[0].secondary.off, SLOT + PAGE);
	CHECK_EQ(t.n_nor, 1);
	CHECK(t.cfg.images == t.images);
	CHECK_EQ(t.cfg.n_images, 1);
	/* the network core's image on its own device with its own page size */
	CHECK_EQ(smpfota_emu_target_add_image(&t, &nnor, 0, &nnor, NSLOT + NPAGE, NSLOT), 0);
	CHECK_EQ(t.images[1].primary.size, NSLOT + NPAGE);
	CHECK_EQ(t.n_nor, 2);
	for (size_t i = 2; i < SMPFOTA_BOOT_MAX_IMAGES; i++) {
		CHECK_EQ(smpfota_emu_target_add_image(&t, &nnor, 0, &nnor, NSLOT + NPAGE, NSLOT),
			 0);
	}
	CHECK_EQ(smpfota_emu_target_add_image(&t, &nor, 0, &nor, SLOT + PAGE, SLOT),
		 SMPFOTA_ERR_NOMEM);
}

/* A provisioned image boots (confirmed: no trailer); a too large one is refused. */
static void test_provision_and_power_on(void)
{
	devices();
	CHECK_EQ(smpfota_emu_target_add_image(&t, &nor, 0, &qnor, 0, SLOT), 0);
	size_t n = smpfota_emu_image_build(
		img, sizeof(img),
		&(struct smpfota_emu_image_spec){.body_size = 9002, .ver = {2, 0, 0, 0}, .seed = 4},
		NULL);
	CHECK(n % 4 != 0); /* the tail is padded */
	CHECK_EQ(smpfota_emu_target_provision(&t, 1, img, n), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_emu_target_provision(&t, 0, img, SLOT + PAGE + 1), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_emu_target_provision(&t, 0, img, n), 0);
	CHECK_MEM(mem, img, n);
	CHECK_EQ(mem[n], 0xff);
	CHECK_EQ(nor.violations, 0);
	t.cfg.buf_size = 1024;
	t.cfg.buf_count = 2;
	CHECK_EQ(smpfota_emu_target_reset(&t, false), 0);
	CHECK_EQ(t.boots, 1);
	CHECK(t.boot.image[0].bootable);
	CHECK_EQ(t.boot.image[0].version.major, 2);
	/* half an upload: its record is in RAM; a warm reset keeps it, a cold one does not */
	uint8_t req[1024], rsp[256], sha[32] = {1};
	struct smpfota_img_upload_req u = {.has_len = true,
					   .len = (uint32_t)n,
					   .has_sha = true,
					   .sha = {sha, 32},
					   .data = {img, 512}};
	int len = smpfota_smp_encode_req(SMPFOTA_MSG_IMG_UPLOAD, SMPFOTA_SMP_V2, 1, &u, req,
					 sizeof(req));
	CHECK(len > 0);
	CHECK(smpfota_server_handle(&t.srv, req, (size_t)len, rsp, sizeof(rsp)) > 0);
	CHECK_EQ(t.srv.up.off, 512);
	CHECK_EQ(smpfota_emu_target_reset(&t, true), 0);
	CHECK_EQ(t.boots, 2);
	CHECK_EQ(t.srv.up.off, 512);
	CHECK_EQ(smpfota_emu_target_reset(&t, false), 0);
	CHECK_EQ(t.srv.up.off, 0);
}

/* `os reset` through the server resets the board once; the swap happens. */
static void test_os_reset_and_swap(void)
{
	devices();
	CHECK_EQ(smpfota_emu_target_add_image(&t, &nor, 0, &nor, SLOT + PAGE, SLOT), 0);
	t.cfg.buf_size = 1024;
	t.cfg.buf_count = 2;
	t.boot_buf_size = PAGE;
	size_t n1 = smpfota_emu_image_build(
		img, sizeof(img),
		&(struct smpfota_emu_image_spec){.body_size = 5000, .ver = {1, 0, 0, 0}, .seed = 1},
		NULL);
	CHECK_EQ(smpfota_emu_target_provision(&t, 0, img, n1), 0);
	CHECK_EQ(smpfota_emu_target_reset(&t, false), 0);
	/* a newer image in the secondary, marked for test */
	size_t n2 = smpfota_emu_image_build(
		img, sizeof(img),
		&(struct smpfota_emu_image_spec){.body_size = 6000, .ver = {1, 1, 0, 0}, .seed = 2},
		NULL);
	size_t padded = (n2 + 3U) & ~(size_t)3U;
	memset(img + n2, 0xff, padded - n2);
	CHECK_EQ(smpfota_flash_area_write(&t.images[0].secondary, 0, img, padded), 0);
	CHECK_EQ(smpfota_boot_set_pending(&t.images[0].secondary, 0, false), 0);

	CHECK_EQ(smpfota_emu_target_reset_if_pending(&t), 0); /* nothing asked yet */
	uint8_t req[64], rsp[256];
	struct smpfota_os_reset_req r = {0};
	int len = smpfota_smp_encode_req(SMPFOTA_MSG_OS_RESET, SMPFOTA_SMP_V2, 1, &r, req,
					 sizeof(req));
	CHECK(len > 0);
	CHECK(smpfota_server_handle(&t.srv, req, (size_t)len, rsp, sizeof(rsp)) > 0);
	CHECK_EQ(smpfota_emu_target_reset_if_pending(&t), 1);
	CHECK_EQ(t.boots, 2);
	CHECK_EQ(t.boot.image[0].swap_type, SMPFOTA_BOOT_SWAP_TEST);
	CHECK_EQ(t.boot.image[0].version.minor, 1);
	CHECK_EQ(smpfota_emu_target_reset_if_pending(&t), 0); /* once */
}

/* A power cut on either device is seen; power_on brings them all back. */
static void test_power_cut_on_any_device(void)
{
	devices();
	CHECK_EQ(smpfota_emu_target_add_image(&t, &nor, 0, &qnor, 0, SLOT), 0);
	CHECK(!smpfota_emu_target_power_cut(&t));
	qnor.power_cut_at_op = 1;
	CHECK_EQ(smpfota_flash_area_erase(&t.images[0].secondary, 0, PAGE), SMPFOTA_ERR_IO);
	CHECK(smpfota_emu_target_power_cut(&t));
	smpfota_emu_target_power_on(&t);
	CHECK(!smpfota_emu_target_power_cut(&t));
	CHECK_EQ(smpfota_flash_area_erase(&t.images[0].secondary, 0, PAGE), 0);
}

int main(void)
{
	RUN(test_add_image_checks_the_layout);
	RUN(test_provision_and_power_on);
	RUN(test_os_reset_and_swap);
	RUN(test_power_cut_on_any_device);
	return CHECK_SUMMARY();
}
