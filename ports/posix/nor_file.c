/*
 * File-backed NOR: the file is mapped MAP_SHARED and the RAM NOR runs on the mapping, so the
 * NOR rules live in one place (src/nor.c) and the file always holds what the part would.
 */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* mmap, ftruncate, O_CLOEXEC under -std=c11 */
#endif

#include "posix/nor_file.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

int smpfota_nor_file_open(struct smpfota_nor_file *f, const char *path, uint32_t size,
			  uint32_t page_size, uint16_t write_size)
{
	struct smpfota_nor probe;
	struct stat st;
	void *map;
	int fd;
	int rc;

	if (f == NULL || path == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	/* Check the geometry before touching the file system. */
	rc = smpfota_nor_init(&probe, &st, size, page_size, write_size);
	if (rc != 0) {
		return rc;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		return SMPFOTA_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		return SMPFOTA_ERR_IO;
	}
	if (st.st_size == 0) {
		if (ftruncate(fd, (off_t)size) != 0) {
			close(fd);
			return SMPFOTA_ERR_IO;
		}
		f->created = true;
	} else if ((uint64_t)st.st_size != size) {
		close(fd);
		return SMPFOTA_ERR_INVAL;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		close(fd);
		return SMPFOTA_ERR_IO;
	}
	if (f->created) {
		memset(map, 0xff, size); /* a new part is blank, not zero */
	}
	rc = smpfota_nor_init(&f->nor, map, size, page_size, write_size);
	if (rc != 0) {
		munmap(map, size);
		close(fd);
		return rc;
	}
	f->fd = fd;
	f->map = map;
	f->size = size;
	return 0;
}

int smpfota_nor_file_sync(struct smpfota_nor_file *f)
{
	if (f == NULL || f->map == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	return msync(f->map, f->size, MS_SYNC) == 0 ? 0 : SMPFOTA_ERR_IO;
}

int smpfota_nor_file_close(struct smpfota_nor_file *f)
{
	int rc = 0;

	if (f == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	if (f->map != NULL) {
		if (msync(f->map, f->size, MS_SYNC) != 0) {
			rc = SMPFOTA_ERR_IO;
		}
		if (munmap(f->map, f->size) != 0) {
			rc = SMPFOTA_ERR_IO;
		}
		f->map = NULL;
		f->nor.mem = NULL;
	}
	if (f->fd >= 0) {
		if (close(f->fd) != 0) {
			rc = SMPFOTA_ERR_IO;
		}
		f->fd = -1;
	}
	return rc;
}
