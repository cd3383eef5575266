/*
 * Internal: what src/boot.c (the trailer API an application links) shares with the MCUboot
 * model in ports/emu/mcuboot.c, as MCUboot's bootutil_priv.h is shared between
 * bootutil_public.c and loader.c. Not part of the API.
 */
#ifndef SMPFOTA_BOOT_PRIV_H
#define SMPFOTA_BOOT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/boot.h"
#include "smpfota/image.h"

/* Geometry of a pair, as boot_slots_compatible() sees it. */
struct smpfota_boot_geometry {
	uint32_t page;
	uint32_t n_pri, n_sec; /* pages */
	uint32_t tp;           /* trailer pages */
};

/* false when no swap is possible (see smpfota_boot_max_image_size for the rules). */
bool smpfota_boot_pair_geometry(const struct smpfota_flash_area *pri,
				const struct smpfota_flash_area *sec,
				struct smpfota_boot_geometry *g);

/* boot_trailer_sz(): status records + info, not rounded. */
uint32_t smpfota_boot_trailer_bytes(uint16_t write_size);

/* Trailer fields as boot_write_trailer() writes them (0 or the flash error). */
int smpfota_boot_write_flag(const struct smpfota_flash_area *a, uint32_t off_from_end);
int smpfota_boot_write_swap_info(const struct smpfota_flash_area *a, uint8_t type, uint8_t image);
int smpfota_boot_write_swap_size(const struct smpfota_flash_area *a, uint32_t size);
int smpfota_boot_write_magic(const struct smpfota_flash_area *a);

/* An erased trailer, as a secondary that cannot be read is taken. */
void smpfota_boot_trailer_unset(struct smpfota_boot_trailer *t);

/*
 * Where the image at the start of a ends (header + body + TLVs), from its header and TLV
 * info headers (boot_read_image_size()), without hashing. *empty: the header is erased.
 * *flash_err: the flash error when one stopped it (then also returned).
 */
int smpfota_boot_image_extent(const struct smpfota_flash_area *a, struct smpfota_image_header *hdr,
			      uint32_t *total, bool *empty, int *flash_err);

/*
 * Stream [0, image end) of a through the image reader, buf_size bytes at a time; the image
 * must end within limit bytes. Returns the reader's verdict (0: the hash checks) or a flash
 * error (also in *flash_err); *empty for an erased header; *info as far as known.
 */
int smpfota_boot_stream_image(const struct smpfota_flash_area *a, uint32_t limit, uint8_t *buf,
			      size_t buf_size, struct smpfota_image_info *info, bool *empty,
			      int *flash_err);

#endif /* SMPFOTA_BOOT_PRIV_H */
