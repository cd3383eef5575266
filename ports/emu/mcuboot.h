/*
 * A model of the MCUboot bootloader, for simulated targets and tests (a test double: a real
 * target runs MCUboot itself). smpfota_boot_go() is one reset.
 *
 * The boot model is MCUboot's bootutil built with MCUBOOT_SWAP_USING_MOVE (the NCS sysbuild
 * default), MCUBOOT_VALIDATE_PRIMARY_SLOT, BOOT_MAX_ALIGN 8 and no encryption, in the
 * classic swap-move form (swap_move.c as in MCUboot 1.5 to 2.1):
 *   - both slots use pages of one size; the primary has the same number of pages as the
 *     secondary or one more (the "move" page);
 *   - move phase: primary pages [0, last_idx) shift up by one, from the top down, one status
 *     record each; swap phase: for each page n, secondary[n] -> primary[n] (record), then
 *     primary[n+1] -> secondary[n] (record); records live in the primary trailer only;
 *   - the first move step erases the primary trailer, writes swap_info, image_ok (copied
 *     from the secondary), swap_size and magic there, then erases the secondary trailer;
 *     a REVERT first rewrites the secondary trailer as a permanent request (fixup_revert),
 *     so a cut in that window resumes as PERM;
 *   - status source: the primary, when its magic is GOOD, its copy_done UNSET and the
 *     secondary magic not GOOD; the last written record says where to resume;
 *   - after the swap: image_ok for PERM and REVERT (if unset), then copy_done.
 * A power cut at any flash operation therefore leaves a state from which the next
 * smpfota_boot_go() finishes the job (tests/test_boot.c cuts at every operation).
 *
 * Where this differs from real MCUboot, on purpose:
 *   - validation is the SHA-256 TLV only (through smpfota/image.h): no signature, key hash,
 *     security counter, dependency or downgrade checks, no encrypted images;
 *   - the secondary is validated before TEST, PERM and REVERT (as boot_validated_swap_type()
 *     does); it must also fit smpfota_boot_max_image_size(). An invalid secondary is erased
 *     (whole slot, one erase call) and the swap type becomes NONE; an erased header or the
 *     NON_BOOTABLE flag just gives NONE. MCUboot 1.x/2.0 would refuse an oversize image only
 *     when starting the swap ("Not enough free space"), without erasing it;
 *   - images are handled one after the other (MCUboot first finishes every interrupted swap,
 *     then starts new ones; without dependency TLVs the flash result is the same);
 *   - an inconsistent status area (a hole in the records) is not reported: the last written
 *     record wins, which is also what MCUboot does after logging it;
 *   - on resume the image header positions are not re-checked (MCUboot reads the header it
 *     expects mid-swap and gives up on a bad magic); a swap_size or record that is out of
 *     range yields SMPFOTA_BOOT_SWAP_PANIC for that image and no flash is touched;
 *   - MCUboot >= 2.2 swap-move keeps a "fallback trailer" and allows images to reach into
 *     the trailer page; this model keeps the classic rule (see smpfota_boot_max_image_size);
 *   - the decision table is current MCUboot's (shared/spec/mcuboot.md §3.3): the REVERT row
 *     takes ANY secondary magic. MCUboot before PR #2100 (late 2024, so NCS releases of that
 *     time) required it UNSET, and a reset that tore the secondary magic written by
 *     fixup_revert() then cancelled the revert for good (issue #1966; tests/test_boot.c
 *     finds exactly that with partial power cuts if the row is changed back).
 *
 * No allocation, no globals: the caller owns every struct and the copy buffer.
 */
#ifndef SMPFOTA_EMU_MCUBOOT_H
#define SMPFOTA_EMU_MCUBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/boot.h"

#ifdef __cplusplus
extern "C" {
#endif

struct smpfota_boot {
	const struct smpfota_boot_image *images; /* image i: swap_info image number i */
	size_t n_images;                         /* 1 .. SMPFOTA_BOOT_MAX_IMAGES */
	/*
	 * Copy and read buffer for the swap and the hash checks (caller-owned, like MCUboot's
	 * static sector buffer). Any size >= 8; a multiple of the write size is used per copy
	 * step, so a bigger buffer means fewer flash operations. NULL: a 64-byte stack buffer.
	 */
	uint8_t *buf;
	size_t buf_size;
	/*
	 * MCUBOOT_OVERWRITE_ONLY instead of swap-move: a secondary marked for test or permanent
	 * that validates is copied over the (erased) primary, then the secondary is erased;
	 * nothing can revert. A cut before that erase copies again at the next boot.
	 */
	bool overwrite_only;
};

struct smpfota_boot_image_result {
	/*
	 * What this boot did: NONE, TEST, PERM, REVERT; FAIL when a swap whose primary trailer
	 * was already set up had not started and the secondary no longer validates (the
	 * primary is then marked image_ok, as MCUboot does); PANIC when the recorded status
	 * is out of range (nothing was written).
	 */
	uint8_t swap_type;
	bool resumed;          /* it finished a swap an earlier reset had interrupted */
	bool secondary_erased; /* the secondary was invalid and has been erased */
	int secondary_err;     /* why the secondary was rejected (reader error), else 0 */
	bool bootable;         /* the primary holds an image whose hash checks */
	int primary_err;       /* 0, or why the primary is not bootable (BAD_MAGIC: empty) */
	bool has_header;       /* the fields below come from a valid primary header */
	struct smpfota_image_version version;
	uint8_t hash[SMPFOTA_IMAGE_HASH_SIZE]; /* the SHA-256 TLV value, as `image list` shows */
	uint32_t image_size; /* header + body + TLVs of the primary image, 0 if unknown */
};

struct smpfota_boot_result {
	size_t n_images;
	struct smpfota_boot_image_result image[SMPFOTA_BOOT_MAX_IMAGES];
};

/*
 * One reset: for each image, finish an interrupted swap if the primary trailer holds swap
 * status; otherwise decide the swap type from the trailers, validate the secondary for
 * TEST/PERM/REVERT (erasing it if invalid), and swap; then validate the primary. res (may be
 * NULL) gets one entry per image.
 *
 * Returns 0 when every image was processed, or the first flash error (SMPFOTA_ERR_IO after
 * a power cut): the model then stops at once, like a device losing power, and the next
 * call resumes. SMPFOTA_ERR_INVAL for bad arguments (no images, too many, buf_size < 8).
 */
int smpfota_boot_go(struct smpfota_boot *b, struct smpfota_boot_result *res);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_EMU_MCUBOOT_H */
