/*
 * Board: Arm MPS2+ with the AN505 FPGA image (Cortex-M33, IoT Kit subsystem), as QEMU's
 * `mps2-an505` machine models it. The firmware runs in the secure state throughout (no
 * TrustZone split), so it uses the secure aliases: code in SSRAM1 at 0x10000000, data in
 * SSRAM2 at 0x38000000, peripherals at 0x5xxxxxxx.
 *
 *   UART0 (0x50200000, IRQ 32 rx, 33 tx): console
 *   UART1 (0x50201000, IRQ 34 rx, 35 tx): SMP serial link to the target
 *
 * The FPGA's UARTs are CMSDK APB UARTs clocked like the core. QEMU runs SYSCLK at 20 MHz
 * (hw/arm/mps2-tz.c); the AN505 document gives 25 MHz for the real FPGA image: change
 * BOARD_CLOCK_HZ for a real board. QEMU ignores the baud rate (bytes move as fast as
 * the other side takes them); a real UART at 115200 baud carries 11.5 kB/s.
 */
#include "baremetal/board.h"

#include "baremetal/clock.h"
#include "baremetal/cmsdk_uart.h"
#include "baremetal/cortex_m.h"
#include "baremetal/startup.h"
#include "sha256.h"
#include "smpfota/smpfota.h"

#define BOARD_CLOCK_HZ 20000000UL
#define BOARD_BAUD 115200UL

#define UART0_BASE 0x50200000UL
#define UART1_BASE 0x50201000UL
#define IRQ_UART0_RX 32U
#define IRQ_UART0_TX 33U
#define IRQ_UART1_RX 34U
#define IRQ_UART1_TX 35U
#define IRQ_COUNT 36U

/* Receive rings: the link's holds a whole response packet (a 384-byte SMP buffer encodes
 * to about 530 bytes) so the main loop may be busy that long; the console takes no input. */
#ifndef BOARD_LINK_RX_RING
#define BOARD_LINK_RX_RING 512U
#endif
#define BOARD_CONSOLE_RX_RING 16U

/* From the linker script: the image region and the run configuration. */
extern const uint8_t __image_start[], __image_end[];
extern const struct smpfota_bm_job __job_start[];
extern const struct smpfota_bm_key __key_start[];

static struct smpfota_bm_cmsdk_uart uart0, uart1;
static uint8_t uart0_rx[BOARD_CONSOLE_RX_RING];
static uint8_t uart1_rx[BOARD_LINK_RX_RING];

static void uart0_rx_irq(void)
{
	smpfota_bm_cmsdk_uart_rx_isr(&uart0);
}

static void uart0_tx_irq(void)
{
	smpfota_bm_cmsdk_uart_tx_isr(&uart0);
}

static void uart1_rx_irq(void)
{
	smpfota_bm_cmsdk_uart_rx_isr(&uart1);
}

static void uart1_tx_irq(void)
{
	smpfota_bm_cmsdk_uart_tx_isr(&uart1);
}

/* Interrupts 0..IRQ_COUNT-1, right after the 16 core vectors (startup.h). Unused entries
 * point at the fault handler: such an interrupt is never enabled. */
#define UNUSED4 \
	smpfota_bm_fault_handler, smpfota_bm_fault_handler, smpfota_bm_fault_handler, \
		smpfota_bm_fault_handler
#define UNUSED16 UNUSED4, UNUSED4, UNUSED4, UNUSED4
_Static_assert(IRQ_UART0_RX == 32U && IRQ_UART1_TX == 35U && IRQ_COUNT == 36U,
	       "the table below lists the UART vectors at 32..35");
__attribute__((section(".vectors.irq"), used))
const smpfota_bm_vector board_irq_vectors[IRQ_COUNT] = {
	UNUSED16, UNUSED16, uart0_rx_irq, uart0_tx_irq, uart1_rx_irq, uart1_tx_irq,
};

static struct smpfota_bm_board board;

/* Random bytes. The AN505 as QEMU models it has no random generator, so the run
 * configuration carries 32 fresh random bytes written for each run (the tests take them from
 * the host's getrandom()), expanded as SHA-256(seed | counter). NOT a TRNG: a real board
 * reads its TRNG here; the same seed after a reset gives the same bytes again. No seed, no
 * random bytes (the secure channel then does not start). */
static uint32_t random_blocks;

int smpfota_bm_board_random(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	const struct smpfota_bm_job *job = __job_start;
	uint8_t blank = 0;
	for (size_t i = 0; i < sizeof(job->seed); i++) {
		blank |= job->seed[i];
	}
	if (job->magic != SMPFOTA_BM_JOB_MAGIC || blank == 0) {
		return SMPFOTA_ERR_IO;
	}
	while (len > 0) {
		uint8_t block[32];
		uint8_t ctr[4] = {(uint8_t)(random_blocks >> 24), (uint8_t)(random_blocks >> 16),
				  (uint8_t)(random_blocks >> 8), (uint8_t)random_blocks};
		smpfota_sha256_ctx c;
		smpfota_sha256_init(&c);
		int rc = smpfota_sha256_starts(&c);
		rc = rc ? rc : smpfota_sha256_update(&c, job->seed, sizeof(job->seed));
		rc = rc ? rc : smpfota_sha256_update(&c, ctr, sizeof(ctr));
		rc = rc ? rc : smpfota_sha256_finish(&c, block);
		smpfota_sha256_free(&c);
		if (rc != 0) {
			return SMPFOTA_ERR_IO;
		}
		random_blocks++;
		size_t n = len < sizeof(block) ? len : sizeof(block);
		for (size_t i = 0; i < n; i++) {
			*out++ = block[i];
		}
		len -= n;
	}
	return 0;
}

const struct smpfota_bm_board *smpfota_bm_board_init(void)
{
	smpfota_bm_clock_init(BOARD_CLOCK_HZ);
	smpfota_bm_cmsdk_uart_init(&uart0, UART0_BASE, BOARD_CLOCK_HZ, BOARD_BAUD, uart0_rx,
				   sizeof(uart0_rx));
	smpfota_bm_cmsdk_uart_init(&uart1, UART1_BASE, BOARD_CLOCK_HZ, BOARD_BAUD, uart1_rx,
				   sizeof(uart1_rx));
	smpfota_bm_irq_enable(IRQ_UART0_RX);
	smpfota_bm_irq_enable(IRQ_UART0_TX);
	smpfota_bm_irq_enable(IRQ_UART1_RX);
	smpfota_bm_irq_enable(IRQ_UART1_TX);
	smpfota_bm_irqs_on();
	board = (struct smpfota_bm_board){
		.name = "mps2-an505",
		.console = &uart0.port,
		.link = &uart1.port,
		.image = __image_start,
		.image_region_size = (uint32_t)(__image_end - __image_start),
		.job = __job_start,
		.key = __key_start,
	};
	return &board;
}
