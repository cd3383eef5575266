/*
 * Bare-metal port: what a firmware needs from a board. Each board folder (boards/<name>/)
 * implements it in board.c, with its linker script beside it; porting to another Cortex-M
 * board means writing these two files (and a UART driver if its UART is not a CMSDK one).
 * See docs/baremetal.md.
 *
 * The board owns its UART driver instances: interrupt handlers have no context pointer, so
 * the hardware's state is the one place the port keeps global state.
 */
#ifndef SMPFOTA_BAREMETAL_BOARD_H
#define SMPFOTA_BAREMETAL_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "baremetal/uart.h"

/* A run configuration in flash beside the image ("what should this run do"), so one
 * firmware build serves every test: written at test time, like the image. */
#define SMPFOTA_BM_JOB_MAGIC 0x424F4A53UL /* "SJOB" */

struct smpfota_bm_job {
	uint32_t magic; /* SMPFOTA_BM_JOB_MAGIC, else the defaults apply */
	uint32_t flags; /* SMPFOTA_BM_JOB_* */
	/* Fresh random bytes for each run, for a board without a random generator of its own
	 * (QEMU's AN505 models none): boards/mps2_an505/board.c. Zero on a board with a TRNG. */
	uint8_t seed[32];
};

/* The secure channel's pre-shared key (master_secure.elf, docs/security.md), where
 * production writes it: a flash page of its own, the bytes of the `smpfota keygen` file. */
#define SMPFOTA_BM_KEY_MAGIC 0x59454B53UL /* "SKEY" */

struct smpfota_bm_key {
	uint32_t magic; /* SMPFOTA_BM_KEY_MAGIC, else there is no key */
	uint8_t key[16];
};

#define SMPFOTA_BM_JOB_NO_CONFIRM 0x1U   /* leave the new image in test mode */
#define SMPFOTA_BM_JOB_CHECK_REVERT 0x2U /* then reset the target and report what runs */

struct smpfota_bm_board {
	const char *name;
	const struct smpfota_bm_uart *console; /* text for people (and the tests) */
	const struct smpfota_bm_uart *link;    /* SMP serial to the target */
	const uint8_t *image;                  /* flash region holding the image to push */
	uint32_t image_region_size;
	const struct smpfota_bm_job *job; /* run configuration (may be blank flash) */
	const struct smpfota_bm_key *key; /* pre-shared key page (may be blank flash) */
};

/* Clocks, the millisecond clock (clock.h), UARTs and their interrupts; interrupts on.
 * Returns the board's description (static). */
const struct smpfota_bm_board *smpfota_bm_board_init(void);

/* Cryptographically secure random bytes (the secure channel's session randoms): the board's
 * TRNG. ctx unused. 0, or a negative smpfota error when there are none. A function, not a
 * board member: a firmware without the channel does not link it. */
int smpfota_bm_board_random(void *ctx, uint8_t *out, size_t len);

#endif /* SMPFOTA_BAREMETAL_BOARD_H */
