/*
 * SMP serial framing ("SMP over console"), as Zephyr's UART and shell transports speak it
 * (shared/spec/smp.md section 4.1; Zephyr serial_util.c, smp_transport.rst).
 *
 * A packet is [u16 BE total_len][SMP frame(s)][u16 BE CRC-16/XMODEM of the SMP bytes],
 * total_len counting the SMP bytes and the CRC. It is base64-encoded (standard alphabet,
 * padded) and cut into lines:
 *
 *     0x06 0x09 <base64> '\n'      first line; carries the 2-byte length
 *     0x04 0x14 <base64> '\n'      continuation lines
 *
 * Every line's base64 is a whole number of 4-character groups, so each line decodes on
 * its own, as the Zephyr receiver does it. A line is at most MCUMGR_SERIAL_MAX_FRAME = 127
 * bytes with marker and newline by default: 124 base64 characters, 93 raw bytes.
 *
 * Encoder: one call writes a whole packet into a caller buffer, filling lines to the limit
 * (Zephyr's own TX puts 3 bytes fewer on continuation lines; receivers don't care). Like
 * Zephyr's TX code it never splits the CRC across lines: the last line holds the whole CRC
 * and at least one frame byte (if the frame has any), so the line before it may give up
 * one 3-byte group.
 *
 * Decoder: a caller-owned state machine fed arbitrary chunks of a byte stream (as they come
 * off a UART), with a caller-provided reassembly buffer. It never writes past that buffer,
 * delivers only packets that pass the length and CRC checks (and, by default, whose
 * payload is a whole number of well-formed SMP frames), and counts every dropped line or
 * packet by reason, so a device can log "dropped: bad CRC". It resynchronises on a 0x06
 * 0x09 marker wherever it appears (a shell prompt may precede it on the same line) and keeps
 * working after any garbage. No malloc, no global state; base64 through mbedTLS.
 */
#ifndef SMPFOTA_SERIAL_H
#define SMPFOTA_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smpfota/smp.h"
#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Line markers (MCUMGR_SERIAL_HDR_PKT 0x0609, MCUMGR_SERIAL_HDR_FRAG 0x0414). */
#define SMPFOTA_SERIAL_PKT_1 0x06U
#define SMPFOTA_SERIAL_PKT_2 0x09U
#define SMPFOTA_SERIAL_FRAG_1 0x04U
#define SMPFOTA_SERIAL_FRAG_2 0x14U

/* Default line length for TX, marker and '\n' included: Zephyr's MCUMGR_SERIAL_MAX_FRAME,
 * which its 128-byte UART line buffers (CONFIG_UART_MCUMGR_RX_BUF_SIZE) accept. */
#define SMPFOTA_SERIAL_LINE_MAX 127U

/* Shortest line the encoder accepts: two 4-character groups, so that the last line can
 * hold the whole CRC. */
#define SMPFOTA_SERIAL_LINE_MIN 11U

/* Largest SMP payload of one packet: total_len is 16 bits and counts the CRC. */
#define SMPFOTA_SERIAL_MAX_FRAME 65533U

/* CRC-16/XMODEM (poly 0x1021, init 0, no reflection, no final XOR), continued from crc:
 * pass 0 to start. smpfota_crc16_xmodem(0, "123456789", 9) == 0x31C3. */
uint16_t smpfota_crc16_xmodem(uint16_t crc, const uint8_t *data, size_t len);

/* ---- encoder ----------------------------------------------------------------------------- */

/*
 * Bytes smpfota_serial_encode() writes for a frame_len-byte SMP payload with lines of at most
 * line_max bytes (0 = SMPFOTA_SERIAL_LINE_MAX). Returns SMPFOTA_ERR_MSGSIZE when frame_len
 * exceeds SMPFOTA_SERIAL_MAX_FRAME, SMPFOTA_ERR_INVAL when line_max is below
 * SMPFOTA_SERIAL_LINE_MIN.
 */
int smpfota_serial_encoded_size(size_t frame_len, size_t line_max);

/*
 * Write the whole framed packet for frame[0..frame_len) into out: every line, markers and
 * newlines included. Returns the number of bytes written; SMPFOTA_ERR_NOSPC when out_size
 * is too small (nothing useful is written), or the errors of smpfota_serial_encoded_size().
 */
int smpfota_serial_encode(const uint8_t *frame, size_t frame_len, size_t line_max, uint8_t *out,
			  size_t out_size);

/* ---- decoder ----------------------------------------------------------------------------- */

/* Why the decoder dropped a line or a packet. */
enum smpfota_serial_drop {
	SMPFOTA_SERIAL_DROP_TEXT,      /* a console line that is not SMP (logs, shell) */
	SMPFOTA_SERIAL_DROP_ORPHAN,    /* continuation line with no packet in progress */
	SMPFOTA_SERIAL_DROP_BASE64,    /* a line body that is not whole, padded base64 */
	SMPFOTA_SERIAL_DROP_LEN,       /* length missing from the first line, below 2, or
					* more data than it announced */
	SMPFOTA_SERIAL_DROP_OVERSIZE,  /* packet larger than the reassembly buffer */
	SMPFOTA_SERIAL_DROP_CRC,       /* CRC mismatch */
	SMPFOTA_SERIAL_DROP_SMP,       /* CRC good, but not whole SMP frames (header length
					* disagrees with the packet size) */
	SMPFOTA_SERIAL_DROP_LINE,      /* an SMP line longer than line_max */
	SMPFOTA_SERIAL_DROP_TRUNCATED, /* a new packet (or a reset) cut this one short */
	SMPFOTA_SERIAL_DROP_COUNT
};

/* Short text for a drop reason ("bad CRC"); never NULL. */
const char *smpfota_serial_drop_str(int why);

struct smpfota_serial_stats {
	uint32_t frames;                           /* packets delivered */
	uint32_t drops[SMPFOTA_SERIAL_DROP_COUNT]; /* by enum smpfota_serial_drop */
};

/* Decoder state. Fields above the line may be read or changed by the caller after
 * smpfota_serial_rx_init(); the rest is private. */
struct smpfota_serial_rx {
	uint8_t *buf;    /* reassembly buffer: holds the SMP payload only */
	size_t cap;      /* its size: the largest payload accepted */
	size_t line_max; /* longest SMP line accepted, marker and '\n' included;
			       * 0 = no limit */
	bool raw;        /* deliver any CRC-good payload, not only whole SMP frames */
	struct smpfota_serial_stats stats;
	int last_drop; /* reason of the latest drop, or -1 */
	/* ------------------------------------------------------------------------------ */
	size_t line_len; /* bytes of the current line so far */
	uint32_t got;    /* decoded bytes of the packet so far, length field included */
	uint16_t total;  /* announced total_len, once the 2 length bytes are in */
	uint16_t crc;    /* running CRC over the payload and CRC bytes: 0 when good */
	uint8_t len_hi;
	uint8_t state;
	uint8_t quad[4]; /* base64 characters of the current 4-character group */
	uint8_t nquad;
	bool in_pkt;  /* a first line was accepted and the packet is not complete */
	bool discard; /* the packet in progress was dropped: skip its lines quietly */
	bool padded;  /* this line's base64 has ended with '=' padding */
	bool cr;      /* '\r' seen in this line: only '\n' may follow */
	bool held06;  /* the previous byte was 0x06: wait for 0x09 */
};

/* Start a decoder on a reassembly buffer of cap bytes (the largest SMP payload to accept;
 * buf must not be NULL), with line_max = SMPFOTA_SERIAL_RX_LINE_MAX, SMP frame checking
 * on (raw = false) and stats zeroed. buf must outlive the decoder; a frame it delivers
 * points into buf and is valid until the next feed. The decoder has no callbacks of its own
 * (smpfota_serial_rx_feed_all's fn may do anything but feed the same decoder). */
void smpfota_serial_rx_init(struct smpfota_serial_rx *rx, uint8_t *buf, size_t cap);

/* Forget any partial packet and line (e.g. after an idle timeout or a port reopen); a
 * packet in progress counts as TRUNCATED. Stats are kept. */
void smpfota_serial_rx_reset(struct smpfota_serial_rx *rx);

/*
 * Feed bytes from the stream. Consumes them up to and including the '\n' that completes a
 * packet, or all of them. Returns the number of bytes consumed (0..len, at most INT_MAX);
 * SMPFOTA_ERR_INVAL on bad arguments. When a packet completed, *frame points to its SMP
 * payload inside rx->buf (valid until the next feed) and the caller feeds the rest of the
 * chunk after handling it; otherwise frame->ptr is NULL. The payload may hold several
 * concatenated SMP frames, as Zephyr's server accepts.
 */
int smpfota_serial_rx_feed(struct smpfota_serial_rx *rx, const uint8_t *data, size_t len,
			   struct smpfota_bytes *frame);

/* Called with each decoded SMP payload; a negative return stops feeding and is passed on. */
typedef int (*smpfota_serial_frame_fn)(void *ctx, const uint8_t *frame, size_t len);

/* Feed the whole chunk, calling fn for every packet that completes in it. Returns the
 * number of packets delivered, SMPFOTA_ERR_INVAL, or fn's negative return (the rest of
 * the chunk is then left unfed). */
int smpfota_serial_rx_feed_all(struct smpfota_serial_rx *rx, const uint8_t *data, size_t len,
			       smpfota_serial_frame_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_SERIAL_H */
