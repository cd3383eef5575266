/*
 * File-backed emulated NOR (POSIX host only): the RAM NOR of smpfota/nor.h running on a
 * MAP_SHARED mapping of a file, so a host tool's "flash" survives between runs and can be
 * inspected with ordinary tools. Every NOR rule and fault-injection knob of struct
 * smpfota_nor applies unchanged (use f.nor).
 */
#ifndef SMPFOTA_POSIX_NOR_FILE_H
#define SMPFOTA_POSIX_NOR_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu/nor.h"

#ifdef __cplusplus
extern "C" {
#endif

struct smpfota_nor_file {
	struct smpfota_nor nor; /* areas use &f.nor.flash */
	int fd;                 /* -1 when closed */
	void *map;
	size_t size;
	bool created; /* open made a new (blank) file */
};

/*
 * Open `path` as a NOR of `size` bytes (page_size / write_size as smpfota_nor_init, 0 =
 * default). A missing or empty file is created with `size` bytes of 0xff (a blank part). An
 * existing file must have exactly `size` bytes: it is never resized or reformatted, so a
 * wrong geometry cannot destroy an image (SMPFOTA_ERR_INVAL). SMPFOTA_ERR_IO when the file
 * cannot be opened, sized or mapped. On error nothing stays open.
 */
int smpfota_nor_file_open(struct smpfota_nor_file *f, const char *path, uint32_t size,
			  uint32_t page_size, uint16_t write_size);

/* msync the mapping (MS_SYNC). 0 or SMPFOTA_ERR_IO. */
int smpfota_nor_file_sync(struct smpfota_nor_file *f);

/* Sync, unmap and close; safe to call twice. 0, or SMPFOTA_ERR_IO if any step failed (the
 * file is closed anyway). */
int smpfota_nor_file_close(struct smpfota_nor_file *f);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_POSIX_NOR_FILE_H */
