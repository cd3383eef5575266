/*
 * Host side of an SMP connection for the CLI: one `--conn` URI (conn_uri.h) opened as a UDP
 * socket or a serial device, sending whole SMP frames (console framing on serial) and
 * delivering whole SMP frames back, for a poll()-driven event loop around the client engine.
 *
 * Counts what went over the link, so that the CLI can say how much an upload really sent
 * (a resumed upload sends far less than the image) and why nothing useful came back.
 */
#ifndef SMPFOTA_TOOLS_HOST_TRANSPORT_H
#define SMPFOTA_TOOLS_HOST_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "posix/tty.h"
#include "posix/conn_uri.h"
#include "smpfota/serial.h"
#include "posix/udp.h"

/* Largest SMP frame in one UDP datagram without IP fragmentation on a 1500-byte link:
 * 1500 - 20 (IPv4) - 8 (UDP); IPv6 headers take 20 bytes more. Zephyr's receive buffer is
 * CONFIG_MCUMGR_TRANSPORT_UDP_MTU = 1500, so a larger datagram could not arrive anyway. */
#define HOST_UDP_MTU_V4 1472U
#define HOST_UDP_MTU_V6 1452U
/* Serial before the server's buf_size is known: Zephyr's CONFIG_MCUMGR_TRANSPORT_UART_MTU
 * default, which every Zephyr UART/shell transport can take (smpclient's legacy size too). */
#define HOST_SERIAL_MTU_DEFAULT 256U
/* Largest frame the host ever builds: serial packets carry at most 65533 SMP bytes. */
#define HOST_FRAME_MAX SMPFOTA_SERIAL_MAX_FRAME

struct host_link_stats {
	uint64_t tx_bytes; /* SMP bytes handed to the link (framing excluded) */
	uint32_t tx_frames;
	uint32_t tx_errors;   /* sends that failed (counted by the engine as lost frames) */
	uint32_t rx_frames;   /* frames delivered to the caller */
	uint32_t rx_refused;  /* UDP: ICMP port unreachable (nobody listening, target down) */
	uint32_t rx_oversize; /* UDP: datagram larger than our buffer */
};

struct host_link {
	enum smpfota_conn_kind kind;
	char name[SMPFOTA_CONN_HOST_MAX + 16]; /* canonical URI, for messages */
	uint16_t mtu;                          /* largest frame for the engine's transport */
	struct smpfota_udp udp;
	struct smpfota_tty tty;
	struct smpfota_serial_rx rx;
	struct host_link_stats stats;
	int sys_errno;      /* errno behind the last SMPFOTA_ERR_IO */
	bool trace;         /* SMPFOTA_TRACE set: every frame to stderr, with its time */
	uint64_t opened_us; /* trace times are relative to the open */
	char text[128];     /* trace: the console line being received */
	size_t text_len;
	bool text_smp;                        /* that line is an SMP packet, not text */
	uint8_t rx_frame[HOST_FRAME_MAX + 2]; /* serial reassembly */
	uint8_t io[65536];                    /* one datagram, or a chunk of the byte stream */
	uint8_t line[HOST_FRAME_MAX / 3 * 4 + HOST_FRAME_MAX / 90 * 4 + 256]; /* encoded packet */
};

/* Open the connection. Returns 0, or an smpfota error with a message in err. */
int host_link_open(struct host_link *l, const struct smpfota_conn_uri *uri, char *err,
		   size_t err_size);

/* The transport send of struct smpfota_client_transport (ctx is the struct host_link). */
int host_link_send(void *ctx, const uint8_t *frame, size_t len);

/* Descriptor to poll() for input. */
int host_link_fd(const struct host_link *l);

/* Called for each SMP frame (UDP: a datagram; serial: a decoded packet, which may hold
 * several frames back to back: the caller splits them). */
typedef void (*host_frame_fn)(void *user, const uint8_t *frame, size_t len);

/* Read what is available without waiting and deliver every complete frame. Returns 0, or
 * SMPFOTA_ERR_IO when the link is gone (serial device closed, socket error). Transient UDP
 * errors (ICMP port unreachable while the target restarts) are counted, not returned. */
int host_link_receive(struct host_link *l, host_frame_fn fn, void *user);

/* One line saying what the link saw that could explain a failure ("12 datagrams refused:
 * nothing listening"), or "" when there is nothing to say. */
const char *host_link_diagnosis(struct host_link *l, char *buf, size_t size);

void host_link_close(struct host_link *l);

#endif
