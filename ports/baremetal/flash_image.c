/* Bare-metal port: image in memory-mapped flash as an upload source (see flash_image.h). */
#include "baremetal/flash_image.h"

#include <string.h>

static int region_read(void *ctx, uint32_t off, void *buf, size_t len)
{
	const struct smpfota_bm_flash_image *fi = ctx;
	if (off > fi->region_size || len > fi->region_size - off) {
		return SMPFOTA_ERR_IO;
	}
	memcpy(buf, fi->base + off, len);
	return 0;
}

int smpfota_bm_flash_image_open(struct smpfota_bm_flash_image *fi, const uint8_t *base,
				uint32_t region_size, struct smpfota_upload_source *src,
				struct smpfota_image_info *info)
{
	fi->base = base;
	fi->region_size = region_size;
	int rc = smpfota_image_read_info(region_read, fi, region_size, info);
	if (rc != 0) {
		return rc;
	}
	memset(src, 0, sizeof(*src));
	src->read = region_read;
	src->ctx = fi;
	src->size = info->image_size;
	return 0;
}
