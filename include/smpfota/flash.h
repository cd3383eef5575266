/*
 * Flash abstraction: a device is a small ops struct with a context pointer (as littlefs's
 * block device), and an area is a window of a device (a slot). Everything above this layer
 * (server, boot model) reaches flash only through bounds-checked area calls, so no request
 * can touch bytes outside its slot.
 */
#ifndef SMPFOTA_FLASH_H
#define SMPFOTA_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

struct smpfota_flash {
	/* All return 0 or a negative smpfota error (SMPFOTA_ERR_IO on device failure). */
	smpfota_read_fn read;
	/* off and len are multiples of write_size; NOR: only clears bits of erased cells. */
	int (*write)(void *ctx, uint32_t off, const void *buf, size_t len);
	/* off and len are multiples of page_size. */
	int (*erase)(void *ctx, uint32_t off, size_t len);
	void *ctx;
	uint32_t size;      /* bytes */
	uint32_t page_size; /* erase unit: 4096 on the nRF5340 app core, 2048 on the net core */
	/*
	 * Optional larger erase unit the part offers, 0 if none: the MX25R64's 64 KB block
	 * erase takes 480 ms against 16 x 48 ms for its 4 KB sectors. A multiple of page_size;
	 * an erase() of an aligned block_size range is one block erase for the driver. The
	 * server erases whole blocks where the image covers them.
	 */
	uint32_t block_size;
	uint16_t write_size; /* program unit: 4 on the nRF5340 */
	uint8_t erased_val;  /* 0xff */
};

/* A slot: [off, off + size) of a device; off and size are page aligned. */
struct smpfota_flash_area {
	const struct smpfota_flash *flash;
	uint32_t off;
	uint32_t size;
};

/*
 * Bounds-checked access relative to the area start. 0 or a negative error:
 * SMPFOTA_ERR_RANGE when [off, off + len) is not inside the area (computed without overflow),
 * SMPFOTA_ERR_INVAL for a NULL or inconsistent area (not inside its device, zero write or page
 * size), a NULL buffer with len > 0, a write whose device offset or length is not a multiple
 * of write_size, or an erase not aligned to page_size; otherwise what the device returns.
 * len == 0 is a no-op that succeeds (after the range check) and never reaches the device.
 */
int smpfota_flash_area_read(const struct smpfota_flash_area *a, uint32_t off, void *buf,
			    size_t len);
int smpfota_flash_area_write(const struct smpfota_flash_area *a, uint32_t off, const void *buf,
			     size_t len);
int smpfota_flash_area_erase(const struct smpfota_flash_area *a, uint32_t off, size_t len);

/*
 * Whether [off, off + len) of the area reads as erased (every byte == erased_val): 1 when it
 * does (also for len == 0), 0 when some byte differs, or a negative error (_RANGE, _INVAL,
 * or the device's read error).
 */
int smpfota_flash_area_is_erased(const struct smpfota_flash_area *a, uint32_t off, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_FLASH_H */
