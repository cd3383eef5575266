/*
 * POSIX host port: byte streams for SMP over serial.
 *
 * - A pseudo-terminal for the simulated target (`smpfota target --serial-pty`): we hold
 *   the master; a client (smpmgr, mcumgr, `smpfota --conn serial:PATH`) opens the slave,
 *   whose path we print.
 * - A serial device for the client (`--conn serial:DEVICE[,baud=N]`): a UART, a USB CDC
 *   ACM port, or such a PTY slave.
 *
 * Both are raw (no echo, no CR/LF translation, 8N1) and read with a timeout via poll().
 * Returns smpfota error codes; the errno behind an SMPFOTA_ERR_IO is kept in sys_errno.
 */
#ifndef SMPFOTA_POSIX_TTY_H
#define SMPFOTA_POSIX_TTY_H

#include <stddef.h>
#include <stdint.h>

#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SMPFOTA_TTY_PATH_MAX 128

struct smpfota_tty {
	int fd;        /* PTY master, or the serial device; -1 when closed */
	int slave_fd;  /* PTY only: our own slave handle (see smpfota_pty_open), else -1 */
	int sys_errno; /* errno of the last failure, 0 if none */
	char path[SMPFOTA_TTY_PATH_MAX]; /* PTY: the slave for the peer; serial: the device */
};

/*
 * Open a pseudo-terminal pair in raw mode; t->path is the slave to give the peer. We keep a
 * slave handle open so that the master stays readable (no EIO hang-ups) while no client is
 * attached or when one reconnects. Returns 0 or SMPFOTA_ERR_IO.
 */
int smpfota_pty_open(struct smpfota_tty *t);

/*
 * Open a serial device raw, 8N1, no flow control, at baud (0 = leave as is). Returns 0;
 * SMPFOTA_ERR_NOTSUP for a baud rate the system has no constant for; SMPFOTA_ERR_NOSPC
 * for a path longer than SMPFOTA_TTY_PATH_MAX - 1; SMPFOTA_ERR_IO (not a tty, no such
 * device, permission: see sys_errno).
 */
int smpfota_tty_open(struct smpfota_tty *t, const char *path, uint32_t baud);

/* Read what is available, waiting up to timeout_ms for the first byte (< 0 forever, 0
 * polls). Returns the count (>= 1), SMPFOTA_ERR_TIMEDOUT, or SMPFOTA_ERR_IO (including
 * the device going away). */
int smpfota_tty_read(struct smpfota_tty *t, uint8_t *buf, size_t size, int timeout_ms);

/* Write all of buf, waiting up to timeout_ms in total while the output queue is full.
 * Returns len, SMPFOTA_ERR_TIMEDOUT (part may have been written), or SMPFOTA_ERR_IO. */
int smpfota_tty_write(struct smpfota_tty *t, const uint8_t *buf, size_t len, int timeout_ms);

/* Close both descriptors; safe to call twice. */
void smpfota_tty_close(struct smpfota_tty *t);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_POSIX_TTY_H */
