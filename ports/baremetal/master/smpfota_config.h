/*
 * smpfota options of the master firmware (SMPFOTA_CONFIG_FILE, given to the whole
 * cross-build so the library and the firmware agree on struct sizes). Every option, its
 * default and why: include/smpfota/config.h.
 */
#ifndef SMPFOTA_MASTER_CONFIG_H
#define SMPFOTA_MASTER_CONFIG_H

/* Requests tracked at once: the window (MASTER_WINDOW, 1 on the UART target) plus room to
 * try up to 4 (cmake -DSMPFOTA_BM_WINDOW=N). 8 by default. */
#define SMPFOTA_CLIENT_MAX_INFLIGHT 4

/* One image pair: the target is a single-core MCU (4 by default, for the nRF5340's two). */
#define SMPFOTA_SMP_MAX_IMAGES 2

#endif
