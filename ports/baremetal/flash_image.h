/*
 * Bare-metal port: an MCUboot image stored in memory-mapped flash as the upload source.
 * The image's length is not stored beside it: the MCUboot header and TLV area say where it
 * ends (smpfota_image_read_info), so a region can hold any image up to its size, written by
 * a programmer, a previous download, or (in QEMU) the `loader` device.
 */
#ifndef SMPFOTA_BAREMETAL_FLASH_IMAGE_H
#define SMPFOTA_BAREMETAL_FLASH_IMAGE_H

#include <stdint.h>

#include "smpfota/client.h"
#include "smpfota/image.h"

struct smpfota_bm_flash_image {
	const uint8_t *base;
	uint32_t region_size;
};

/*
 * Find the image at base (region_size bytes of readable memory) and set up src to read it:
 * src->size is the image's length, src->read copies from flash, src->ctx is fi. Reads its
 * header and TLVs only (info gets them; hash not verified: smpfota_update_check_image()
 * reads and hashes it all). Returns 0 or smpfota_image_read_info()'s error (BAD_MAGIC for
 * an empty region). fi and the flash must outlive src.
 */
int smpfota_bm_flash_image_open(struct smpfota_bm_flash_image *fi, const uint8_t *base,
				uint32_t region_size, struct smpfota_upload_source *src,
				struct smpfota_image_info *info);

#endif /* SMPFOTA_BAREMETAL_FLASH_IMAGE_H */
