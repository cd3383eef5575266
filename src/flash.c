/*
 * Flash areas: every access above the device layer goes through here, so the range and
 * alignment rules are enforced in one place, before any device sees the request.
 */
#include "smpfota/flash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The area must be a window of a sane device; a bad table entry must not reach the driver. */
static int area_check(const struct smpfota_flash_area *a)
{
	const struct smpfota_flash *f;

	if (a == NULL || a->flash == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	f = a->flash;
	if (f->write_size == 0 || f->page_size == 0 || a->off > f->size ||
	    a->size > f->size - a->off) {
		return SMPFOTA_ERR_INVAL;
	}
	return 0;
}

/* A sane area, and [off, off + len) inside it, written so that no sum can wrap. */
static int access_check(const struct smpfota_flash_area *a, uint32_t off, size_t len)
{
	int rc = area_check(a);
	if (rc == 0 && (off > a->size || len > (size_t)(a->size - off))) {
		rc = SMPFOTA_ERR_RANGE;
	}
	return rc;
}

int smpfota_flash_area_read(const struct smpfota_flash_area *a, uint32_t off, void *buf, size_t len)
{
	int rc = access_check(a, off, len);

	if (rc != 0) {
		return rc;
	}
	if (len == 0) {
		return 0;
	}
	if (buf == NULL || a->flash->read == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	return a->flash->read(a->flash->ctx, a->off + off, buf, len);
}

int smpfota_flash_area_write(const struct smpfota_flash_area *a, uint32_t off, const void *buf,
			     size_t len)
{
	int rc = access_check(a, off, len);

	if (rc != 0) {
		return rc;
	}
	if (len == 0) {
		return 0;
	}
	/* Alignment is a property of the device address, not of the area offset. */
	if (buf == NULL || a->flash->write == NULL || (a->off + off) % a->flash->write_size != 0 ||
	    len % a->flash->write_size != 0) {
		return SMPFOTA_ERR_INVAL;
	}
	return a->flash->write(a->flash->ctx, a->off + off, buf, len);
}

int smpfota_flash_area_erase(const struct smpfota_flash_area *a, uint32_t off, size_t len)
{
	int rc = access_check(a, off, len);

	if (rc != 0) {
		return rc;
	}
	if (len == 0) {
		return 0;
	}
	if (a->flash->erase == NULL || (a->off + off) % a->flash->page_size != 0 ||
	    len % a->flash->page_size != 0) {
		return SMPFOTA_ERR_INVAL;
	}
	return a->flash->erase(a->flash->ctx, a->off + off, len);
}

int smpfota_flash_area_is_erased(const struct smpfota_flash_area *a, uint32_t off, size_t len)
{
	uint8_t chunk[32]; /* small: this runs on the device's stack */
	int rc = access_check(a, off, len);

	if (rc != 0) {
		return rc;
	}
	while (len > 0) {
		size_t n = len < sizeof(chunk) ? len : sizeof(chunk);

		rc = smpfota_flash_area_read(a, off, chunk, n);
		if (rc != 0) {
			return rc;
		}
		for (size_t i = 0; i < n; i++) {
			if (chunk[i] != a->flash->erased_val) {
				return 0;
			}
		}
		off += (uint32_t)n;
		len -= n;
	}
	return 1;
}
