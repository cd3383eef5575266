/* Bare-metal port: line console without printf (see console.h). */
#include "baremetal/console.h"

#include "baremetal/cortex_m.h"

static void wait_idle(const struct smpfota_bm_console *c)
{
	for (;;) {
		smpfota_bm_irqs_off();
		if (!c->uart->tx_busy(c->uart->ctx)) {
			smpfota_bm_irqs_on();
			return;
		}
		smpfota_bm_wait_for_interrupt();
		smpfota_bm_irqs_on();
	}
}

void smpfota_bm_console_init(struct smpfota_bm_console *c, const struct smpfota_bm_uart *uart)
{
	c->uart = uart;
	c->len = 0;
}

void smpfota_bm_console_flush(struct smpfota_bm_console *c, bool wait)
{
	if (c->len > 0) {
		wait_idle(c);
		(void)c->uart->write(c->uart->ctx, (const uint8_t *)c->line, c->len);
		/* The UART reads the buffer until done: later prints wait for it (putc). */
		c->len = 0;
	}
	if (wait) {
		wait_idle(c);
	}
}

static void putc_(struct smpfota_bm_console *c, char ch)
{
	if (c->len == 0) {
		wait_idle(c); /* the line buffer may still be going out */
	}
	c->line[c->len++] = ch;
	if (ch == '\n' || c->len == sizeof(c->line)) {
		smpfota_bm_console_flush(c, false);
	}
}

void smpfota_bm_puts(struct smpfota_bm_console *c, const char *s)
{
	while (*s != '\0') {
		putc_(c, *s++);
	}
}

void smpfota_bm_put_u32(struct smpfota_bm_console *c, uint32_t v)
{
	char d[10];
	int n = 0;
	do {
		d[n++] = (char)('0' + v % 10U);
		v /= 10U;
	} while (v != 0U);
	while (n > 0) {
		putc_(c, d[--n]);
	}
}

void smpfota_bm_put_i32(struct smpfota_bm_console *c, int32_t v)
{
	if (v < 0) {
		putc_(c, '-');
		smpfota_bm_put_u32(c, 0U - (uint32_t)v);
	} else {
		smpfota_bm_put_u32(c, (uint32_t)v);
	}
}

static const char hexdig[] = "0123456789abcdef";

void smpfota_bm_put_hex(struct smpfota_bm_console *c, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		putc_(c, hexdig[p[i] >> 4]);
		putc_(c, hexdig[p[i] & 0xFU]);
	}
}

void smpfota_bm_put_x32(struct smpfota_bm_console *c, uint32_t v)
{
	putc_(c, '0');
	putc_(c, 'x');
	for (int s = 28; s >= 0; s -= 4) {
		putc_(c, hexdig[(v >> (unsigned)s) & 0xFU]);
	}
}
