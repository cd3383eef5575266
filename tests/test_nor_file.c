/*
 * Tests for the file-backed NOR of the POSIX port. The C tests link only the device library,
 * so the port's source is compiled into this test directly.
 */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* mkstemp, unlink: must precede every system header */
#endif

#include "../ports/posix/nor_file.c"

#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "smpfota/flash.h"

#define PAGE 2048U
#define SIZE (PAGE * 4U)

static char path[64];

static void make_path(void)
{
	int fd;

	strcpy(path, "/tmp/smpfota-nor-XXXXXX");
	fd = mkstemp(path); /* an empty file: open must treat it as a blank part */
	CHECK(fd >= 0);
	if (fd >= 0) {
		close(fd);
	}
}

static bool file_region_is(size_t off, size_t n, uint8_t v)
{
	FILE *fp = fopen(path, "rb");
	bool ok = fp != NULL;

	if (ok && fseek(fp, (long)off, SEEK_SET) != 0) {
		ok = false;
	}
	for (size_t i = 0; ok && i < n; i++) {
		ok = fgetc(fp) == v;
	}
	if (fp != NULL) {
		fclose(fp);
	}
	return ok;
}

static void test_create_persist_reopen(void)
{
	struct smpfota_nor_file f;
	struct smpfota_flash_area a;
	uint8_t w[8] = {0, 1, 2, 3, 4, 5, 6, 7}, r[8];
	struct stat st;

	make_path();
	CHECK_EQ(smpfota_nor_file_open(&f, path, SIZE, PAGE, 4), 0);
	CHECK(f.created);
	CHECK_EQ(f.nor.flash.size, SIZE);
	CHECK_EQ(f.nor.flash.page_size, PAGE);
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)SIZE);
	a.flash = &f.nor.flash;
	a.off = PAGE;
	a.size = 2 * PAGE;
	CHECK_EQ(smpfota_flash_area_is_erased(&a, 0, a.size), 1);
	CHECK_EQ(smpfota_flash_area_write(&a, 16, w, 8), 0);
	/* the NOR rules hold on the mapping too */
	CHECK_EQ(smpfota_flash_area_write(&a, 16, w, 8), SMPFOTA_ERR_IO);
	CHECK_EQ(f.nor.violations, 1);
	CHECK_EQ(smpfota_nor_file_sync(&f), 0);
	CHECK(file_region_is(PAGE + 16, 1, 0));
	CHECK_EQ(smpfota_nor_file_close(&f), 0);
	CHECK_EQ(smpfota_nor_file_close(&f), 0); /* twice is harmless */

	/* reopen: contents kept, not reformatted */
	CHECK_EQ(smpfota_nor_file_open(&f, path, SIZE, PAGE, 4), 0);
	CHECK(!f.created);
	CHECK_EQ(smpfota_flash_area_read(&a, 16, r, 8), 0);
	CHECK_MEM(r, w, 8);
	CHECK_EQ(smpfota_flash_area_is_erased(&a, 24, a.size - 24), 1);
	/* a cut survives in the file exactly as the RAM NOR left it */
	f.nor.power_cut_at_op = 1;
	CHECK_EQ(smpfota_flash_area_erase(&a, 0, PAGE), SMPFOTA_ERR_IO);
	CHECK_EQ(smpfota_nor_file_close(&f), 0);
	CHECK(file_region_is(PAGE + 16, 8, 0) == false);
	CHECK(file_region_is(PAGE + 20, 1, 4));
	CHECK(file_region_is(0, PAGE, 0xff));
	unlink(path);
}

static void test_wrong_geometry(void)
{
	struct smpfota_nor_file f;
	struct stat st;

	make_path();
	CHECK_EQ(smpfota_nor_file_open(&f, path, SIZE, PAGE, 4), 0);
	CHECK_EQ(smpfota_nor_file_close(&f), 0);
	/* an existing file of another size is refused, and left as it is */
	CHECK_EQ(smpfota_nor_file_open(&f, path, 2 * SIZE, PAGE, 4), SMPFOTA_ERR_INVAL);
	CHECK(stat(path, &st) == 0 && st.st_size == (off_t)SIZE);
	CHECK(file_region_is(0, SIZE, 0xff));
	/* bad geometry is refused before the file system is touched */
	CHECK_EQ(smpfota_nor_file_open(&f, path, SIZE + 1, PAGE, 4), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_nor_file_open(&f, "/nonexistent-dir/x", SIZE, PAGE, 4), SMPFOTA_ERR_IO);
	CHECK_EQ(smpfota_nor_file_open(NULL, path, SIZE, PAGE, 4), SMPFOTA_ERR_INVAL);
	unlink(path);
}

int main(void)
{
	RUN(test_create_persist_reopen);
	RUN(test_wrong_geometry);
	return CHECK_SUMMARY();
}
