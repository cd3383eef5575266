/*
 * Emulated NOR flash on a caller-provided RAM buffer (the smpfota counterpart of littlefs's
 * emubd and MCUboot's SimFlash). It enforces the NOR rules that real parts enforce silently
 * or not at all, so a test fails loudly where a device would corrupt data:
 *   - erase works on whole pages and sets them to 0xff;
 *   - a write programs whole write blocks (write_size, 4 on the nRF5340) and can only clear
 *     bits: the cell becomes old & new;
 *   - in strict mode (the default) a write that touches a write block which is not fully
 *     erased is refused with SMPFOTA_ERR_IO and counted in `violations`, as SimFlash panics
 *     on "Write to unerased location". With strict = false the write is ANDed in, and still
 *     counted.
 *
 * Operations are numbered: every write or erase that reaches the device (after the argument
 * checks) increments `ops` (= writes + erases, the MCUboot simulator's flash_counter), and
 * `ops` is the number of that operation, from 1. Fault injection uses these numbers:
 *   - fail_at_op = N: operation N returns SMPFOTA_ERR_IO and changes nothing; the following
 *     operations work (a transient device error).
 *   - power_cut_at_op = N: power is lost during operation N. By default (partial_cut false)
 *     the operation does nothing, exactly like the simulator's longjmp before the flash
 *     call. With partial_cut true it is left half done: a write programs only its first
 *     floor(blocks / 2) write blocks; an erase of n pages erases the first floor(n / 2)
 *     pages completely and leaves the next page "half erased": each of its bytes becomes
 *     old | r for a pseudo-random r (an interrupted erase can only have raised bits); the
 *     pages after it are untouched. Either way the operation returns SMPFOTA_ERR_IO, and
 *     every later write or erase is refused with SMPFOTA_ERR_IO (counted in `refused`, not
 *     in `ops`) until smpfota_nor_power_on(). Reads keep working, so a test can inspect
 *     the wreck.
 *
 * The optional on_op hook is called once for every read, write and erase that reached the
 * device (including ones failed by injection, not ones refused after a cut), after its effect,
 * so a simulator can charge the time the part would have taken.
 *
 * No allocation: the struct and the memory belong to the caller. Not thread safe.
 */
#ifndef SMPFOTA_NOR_H
#define SMPFOTA_NOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/flash.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults for a zero page_size / write_size at init: the nRF5340 application core. */
#define SMPFOTA_NOR_DEFAULT_PAGE_SIZE 4096U
#define SMPFOTA_NOR_DEFAULT_WRITE_SIZE 4U

/* `kind` argument of the on_op hook. */
enum smpfota_nor_op {
	SMPFOTA_NOR_OP_READ = 0,
	SMPFOTA_NOR_OP_WRITE = 1,
	SMPFOTA_NOR_OP_ERASE = 2,
};

struct smpfota_nor {
	/* The device to put in areas: &nor.flash. Its ctx points back at this struct. */
	struct smpfota_flash flash;
	uint8_t *mem;

	/* Behaviour (set after smpfota_nor_init). */
	bool strict;      /* refuse writes to non-erased write blocks; true after init */
	bool partial_cut; /* a power cut leaves its operation half done; false after init */

	/* Fault injection, by operation number (1 = first write/erase); 0 = off. */
	uint32_t fail_at_op;
	uint32_t power_cut_at_op;
	bool power_cut; /* read only: power was cut and smpfota_nor_power_on() not called yet */

	/* Optional: charge time per operation (kind is enum smpfota_nor_op). */
	void (*on_op)(void *ctx, int kind, uint32_t off, size_t len);
	void *on_op_ctx;

	/* Counters since init or smpfota_nor_reset_counters(). */
	uint32_t reads;
	uint32_t writes;
	uint32_t erases;
	uint32_t ops;        /* writes + erases: the number of the last operation */
	uint32_t violations; /* writes that touched a non-erased write block */
	uint32_t refused;    /* writes/erases refused because the power is cut */
	uint64_t bytes_read;
	uint64_t bytes_written; /* bytes actually programmed */
	uint64_t pages_erased;  /* pages actually erased (wear) */
	uint32_t garbage_seed;  /* state of the half-erase pattern generator */
};

/*
 * Set up a NOR of `size` bytes on `mem` (size bytes, owned by the caller and left as it is:
 * call smpfota_nor_erase_all() for a blank part). page_size 0 means 4096, write_size 0 means 4.
 * SMPFOTA_ERR_INVAL if nor or mem is NULL, size is 0, write_size does not divide page_size or
 * page_size does not divide size.
 */
int smpfota_nor_init(struct smpfota_nor *nor, void *mem, uint32_t size, uint32_t page_size,
		     uint16_t write_size);

/* Make the whole part read as erased, as a factory-blank chip. Not an operation: not counted,
 * no fault injection. */
void smpfota_nor_erase_all(struct smpfota_nor *nor);

/* Power comes back after a cut: writes and erases work again; power_cut_at_op is disarmed. */
void smpfota_nor_power_on(struct smpfota_nor *nor);

/* Zero every counter (the next operation is number 1 again). */
void smpfota_nor_reset_counters(struct smpfota_nor *nor);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_NOR_H */
