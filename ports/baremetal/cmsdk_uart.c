/* Bare-metal port: ARM CMSDK APB UART driver (see cmsdk_uart.h). */
#include "baremetal/cmsdk_uart.h"

#include "baremetal/cortex_m.h"
#include "smpfota/smpfota.h"

/* Registers (DDI 0479C, 4.3) */
#define DATA(u) SMPFOTA_BM_REG((u)->base + 0x00U)
#define STATE(u) SMPFOTA_BM_REG((u)->base + 0x04U)
#define CTRL(u) SMPFOTA_BM_REG((u)->base + 0x08U)
#define INTSTATUS(u) SMPFOTA_BM_REG((u)->base + 0x0CU)
#define BAUDDIV(u) SMPFOTA_BM_REG((u)->base + 0x10U)

#define STATE_TXFULL 0x1U
#define STATE_RXFULL 0x2U
#define STATE_RXOVERRUN 0x8U
#define CTRL_TX_EN 0x1U
#define CTRL_RX_EN 0x2U
#define CTRL_TX_INTEN 0x4U
#define CTRL_RX_INTEN 0x8U
#define INT_TX 0x1U
#define INT_RX 0x2U

static int uart_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct smpfota_bm_cmsdk_uart *u = ctx;
	if (u->tx_active) {
		return SMPFOTA_ERR_BUSY;
	}
	if (len == 0) {
		return 0;
	}
	u->tx_next = buf + 1;
	u->tx_left = (uint32_t)(len - 1U);
	u->tx_active = true;
	/* The holding register is empty (no transmission active): the first byte goes now,
	 * the transmit interrupt feeds the rest. */
	DATA(u) = buf[0];
	return 0;
}

static bool uart_tx_busy(void *ctx)
{
	const struct smpfota_bm_cmsdk_uart *u = ctx;
	return u->tx_active;
}

static void uart_write_polled(void *ctx, const uint8_t *buf, size_t len)
{
	struct smpfota_bm_cmsdk_uart *u = ctx;
	u->tx_left = 0; /* the interrupt-driven transmission, if any, stops here */
	for (size_t i = 0; i < len; i++) {
		while (STATE(u) & STATE_TXFULL) {
		}
		DATA(u) = buf[i];
	}
	while (STATE(u) & STATE_TXFULL) {
	}
}

void smpfota_bm_cmsdk_uart_init(struct smpfota_bm_cmsdk_uart *u, uintptr_t base, uint32_t pclk_hz,
				uint32_t baud, uint8_t *rx_buf, uint32_t rx_size)
{
	u->base = base;
	smpfota_bm_ring_init(&u->rx, rx_buf, rx_size);
	u->tx_next = NULL;
	u->tx_left = 0;
	u->tx_active = false;
	u->rx_dropped = 0;
	u->port = (struct smpfota_bm_uart){.write = uart_write,
					   .tx_busy = uart_tx_busy,
					   .write_polled = uart_write_polled,
					   .ctx = u,
					   .rx = &u->rx,
					   .rx_dropped = &u->rx_dropped};
	CTRL(u) = 0;
	INTSTATUS(u) = INT_TX | INT_RX;
	BAUDDIV(u) = pclk_hz / baud;
	CTRL(u) = CTRL_TX_EN | CTRL_RX_EN | CTRL_TX_INTEN | CTRL_RX_INTEN;
}

void smpfota_bm_cmsdk_uart_rx_isr(struct smpfota_bm_cmsdk_uart *u)
{
	/* Clear first: a byte arriving while we drain raises the interrupt again. */
	INTSTATUS(u) = INT_RX;
	uint32_t st;
	while ((st = STATE(u)) & STATE_RXFULL) {
		uint8_t b = (uint8_t)DATA(u);
		if (!smpfota_bm_ring_put(&u->rx, b)) {
			u->rx_dropped = u->rx_dropped + 1U;
		}
	}
	if (st & STATE_RXOVERRUN) {
		STATE(u) = STATE_RXOVERRUN; /* write 1 to clear */
		u->rx_dropped = u->rx_dropped + 1U;
	}
}

void smpfota_bm_cmsdk_uart_tx_isr(struct smpfota_bm_cmsdk_uart *u)
{
	INTSTATUS(u) = INT_TX;
	if (u->tx_left > 0U) {
		u->tx_left = u->tx_left - 1U;
		DATA(u) = *u->tx_next++;
	} else {
		u->tx_active = false;
	}
}
