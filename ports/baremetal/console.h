/*
 * Bare-metal port: a line console on a UART, without printf (newlib's costs several KB of
 * flash and wants a heap): strings, decimal and hex numbers, hex dumps. Text collects in a
 * line buffer that is sent in the background on '\n', when full, or on flush; the next
 * print waits (sleeping) only while the previous line is still going out.
 */
#ifndef SMPFOTA_BAREMETAL_CONSOLE_H
#define SMPFOTA_BAREMETAL_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "baremetal/uart.h"

#ifndef SMPFOTA_BM_CONSOLE_LINE
#define SMPFOTA_BM_CONSOLE_LINE 96
#endif

struct smpfota_bm_console {
	const struct smpfota_bm_uart *uart;
	size_t len;
	char line[SMPFOTA_BM_CONSOLE_LINE];
};

/* uart (and c) must outlive the console. */
void smpfota_bm_console_init(struct smpfota_bm_console *c, const struct smpfota_bm_uart *uart);

void smpfota_bm_puts(struct smpfota_bm_console *c, const char *s);
void smpfota_bm_put_u32(struct smpfota_bm_console *c, uint32_t v);
void smpfota_bm_put_i32(struct smpfota_bm_console *c, int32_t v);
/* len bytes as lowercase hex, no separators */
void smpfota_bm_put_hex(struct smpfota_bm_console *c, const uint8_t *p, size_t len);
/* v as 0x%08x */
void smpfota_bm_put_x32(struct smpfota_bm_console *c, uint32_t v);

/* Send what is buffered; with wait, return once it has left the UART. */
void smpfota_bm_console_flush(struct smpfota_bm_console *c, bool wait);

#endif /* SMPFOTA_BAREMETAL_CONSOLE_H */
