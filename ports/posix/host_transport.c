/* Host side of an SMP connection: UDP or serial console framing (see host_transport.h). */
#include "posix/host_transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000U + (uint64_t)ts.tv_nsec / 1000U;
}

/* SMPFOTA_TRACE=1: one line per SMP frame on stderr (time since open, direction, header,
 * size), to see where a slow or failed exchange spent its time (mcumgr's `-l debug`). */
static void trace_frame(const struct host_link *l, const char *dir, const uint8_t *f, size_t len)
{
	if (!l->trace) {
		return;
	}
	uint64_t t = mono_us() - l->opened_us;
	if (len < SMPFOTA_SMP_HDR_SIZE) {
		fprintf(stderr, "trace %7.3f %s %zu bytes (no SMP header)\n", (double)t / 1e6, dir,
			len);
		return;
	}
	fprintf(stderr, "trace %7.3f %s op %u group %u id %u seq %3u len %zu\n", (double)t / 1e6,
		dir, f[0] & 7U, (unsigned)f[4] << 8 | f[5], f[7], f[6], len);
}

/* Trace the serial lines that are not SMP packets (the target's console: logs, faults). */
static void trace_text(struct host_link *l, const uint8_t *b, size_t n)
{
	for (size_t i = 0; l->trace && i < n; i++) {
		if (b[i] != '\n' && b[i] != '\r' && l->text_len < sizeof(l->text) - 1) {
			if (l->text_len == 0) {
				l->text_smp = b[i] == 0x06 || b[i] == 0x04; /* packet starts */
			}
			l->text[l->text_len++] = (char)(b[i] >= 0x20 && b[i] < 0x7f ? b[i] : '.');
			continue;
		}
		if (b[i] == '\n' && l->text_len > 0 && !l->text_smp) {
			uint64_t t = mono_us() - l->opened_us;
			fprintf(stderr, "trace %7.3f console: %.*s\n", (double)t / 1e6,
				(int)l->text_len, l->text);
		}
		if (b[i] == '\n') {
			l->text_len = 0;
		}
	}
}

int host_link_open(struct host_link *l, const struct smpfota_conn_uri *uri, char *err,
		   size_t err_size)
{
	memset(&l->stats, 0, sizeof(l->stats));
	l->trace = getenv("SMPFOTA_TRACE") != NULL;
	l->text_len = 0;
	l->opened_us = mono_us();
	l->kind = uri->kind;
	l->sys_errno = 0;
	l->udp.fd = -1;
	l->tty.fd = -1;
	l->tty.slave_fd = -1;
	if (smpfota_conn_uri_format(uri, l->name, sizeof(l->name)) < 0) {
		snprintf(l->name, sizeof(l->name), "?");
	}
	if (uri->kind == SMPFOTA_CONN_UDP) {
		int rc = smpfota_udp_connect(&l->udp, uri->host, uri->port);
		if (rc != 0) {
			snprintf(err, err_size, "%s: %s", l->name,
				 rc == SMPFOTA_ERR_INVAL ? "host not found"
				 : l->udp.sys_errno      ? strerror(l->udp.sys_errno)
							 : smpfota_strerror(rc));
			return rc;
		}
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		bool v6 = getpeername(l->udp.fd, (struct sockaddr *)&peer, &len) == 0 &&
			  peer.ss_family == AF_INET6;
		l->mtu = v6 ? HOST_UDP_MTU_V6 : HOST_UDP_MTU_V4;
		return 0;
	}
	if (uri->kind == SMPFOTA_CONN_SERIAL) {
		int rc = smpfota_tty_open(&l->tty, uri->device, uri->baud);
		if (rc != 0) {
			snprintf(err, err_size, "%s: %s", l->name,
				 rc == SMPFOTA_ERR_NOTSUP ? "baud rate not supported"
				 : l->tty.sys_errno       ? strerror(l->tty.sys_errno)
							  : smpfota_strerror(rc));
			return rc;
		}
		smpfota_serial_rx_init(&l->rx, l->rx_frame, sizeof(l->rx_frame));
		l->mtu = HOST_SERIAL_MTU_DEFAULT;
		return 0;
	}
	snprintf(err, err_size, "unknown connection kind");
	return SMPFOTA_ERR_INVAL;
}

int host_link_send(void *ctx, const uint8_t *frame, size_t len)
{
	struct host_link *l = ctx;
	int rc;
	if (l->kind == SMPFOTA_CONN_UDP) {
		rc = smpfota_udp_send(&l->udp, frame, len);
		if (rc < 0) {
			l->sys_errno = l->udp.sys_errno;
			if (l->udp.sys_errno == ECONNREFUSED) {
				/* An ICMP error from an earlier datagram surfaced here; this one
				 * was not sent. Lost like any other: the engine retransmits. */
				l->stats.rx_refused++;
			}
		}
	} else {
		/* Zephyr's UART transport takes lines of at most MCUMGR_SERIAL_MAX_FRAME (127)
		 * bytes into 128-byte buffers; longer lines are dropped, so always 127. */
		rc = smpfota_serial_encode(frame, len, SMPFOTA_SERIAL_LINE_MAX, l->line,
					   sizeof(l->line));
		if (rc > 0) {
			/* Whole packet or nothing useful: a partial write is a lost frame the
			 * receiver drops on its CRC. */
			rc = smpfota_tty_write(&l->tty, l->line, (size_t)rc, 2000);
			if (rc < 0) {
				l->sys_errno = l->tty.sys_errno;
			}
		}
	}
	if (rc < 0) {
		l->stats.tx_errors++;
		trace_frame(l, "tx failed", frame, len);
		return rc;
	}
	trace_frame(l, "tx", frame, len);
	l->stats.tx_bytes += len;
	l->stats.tx_frames++;
	return 0;
}

int host_link_fd(const struct host_link *l)
{
	return l->kind == SMPFOTA_CONN_UDP ? l->udp.fd : l->tty.fd;
}

struct split_ctx {
	struct host_link *l;
	host_frame_fn fn;
	void *user;
};

static int on_serial_packet(void *ctx, const uint8_t *frame, size_t len)
{
	struct split_ctx *s = ctx;
	s->l->stats.rx_frames++;
	trace_frame(s->l, "rx", frame, len);
	s->fn(s->user, frame, len);
	return 0;
}

int host_link_receive(struct host_link *l, host_frame_fn fn, void *user)
{
	if (l->kind == SMPFOTA_CONN_UDP) {
		for (;;) {
			int n = smpfota_udp_recv(&l->udp, l->io, sizeof(l->io), 0);
			if (n == SMPFOTA_ERR_TIMEDOUT) {
				return 0;
			}
			if (n == SMPFOTA_ERR_MSGSIZE) {
				l->stats.rx_oversize++;
				continue;
			}
			if (n < 0) {
				if (l->udp.sys_errno == ECONNREFUSED) {
					/* Nobody on the port right now (target restarting): keep
					 * going, the engine's retransmissions find it again. */
					l->stats.rx_refused++;
					continue;
				}
				l->sys_errno = l->udp.sys_errno;
				return n;
			}
			l->stats.rx_frames++;
			trace_frame(l, "rx", l->io, (size_t)n);
			fn(user, l->io, (size_t)n);
		}
	}
	struct split_ctx s = {l, fn, user};
	for (;;) {
		int n = smpfota_tty_read(&l->tty, l->io, sizeof(l->io), 0);
		if (n == SMPFOTA_ERR_TIMEDOUT) {
			return 0;
		}
		if (n < 0) {
			l->sys_errno = l->tty.sys_errno;
			return n;
		}
		trace_text(l, l->io, (size_t)n);
		(void)smpfota_serial_rx_feed_all(&l->rx, l->io, (size_t)n, on_serial_packet, &s);
	}
}

const char *host_link_diagnosis(struct host_link *l, char *buf, size_t size)
{
	buf[0] = '\0';
	if (l->kind == SMPFOTA_CONN_UDP) {
		if (l->stats.rx_refused) {
			snprintf(buf, size,
				 "%s: %u datagrams refused (port unreachable: is the target "
				 "running?)",
				 l->name, (unsigned)l->stats.rx_refused);
		} else if (l->stats.rx_frames == 0) {
			snprintf(buf, size, "%s: no answer", l->name);
		}
		return buf;
	}
	uint32_t dropped = 0;
	for (int i = 0; i < SMPFOTA_SERIAL_DROP_COUNT; i++) {
		if (i != SMPFOTA_SERIAL_DROP_TEXT) {
			dropped += l->rx.stats.drops[i];
		}
	}
	if (dropped) {
		snprintf(buf, size, "%s: %u packets dropped (last: %s)", l->name, (unsigned)dropped,
			 smpfota_serial_drop_str(l->rx.last_drop));
	} else if (l->rx.stats.drops[SMPFOTA_SERIAL_DROP_TEXT]) {
		snprintf(buf, size, "%s: only console text received, no SMP", l->name);
	} else if (l->stats.rx_frames == 0) {
		snprintf(buf, size, "%s: no answer", l->name);
	}
	return buf;
}

void host_link_close(struct host_link *l)
{
	if (l->kind == SMPFOTA_CONN_UDP) {
		smpfota_udp_close(&l->udp);
	} else if (l->kind == SMPFOTA_CONN_SERIAL) {
		smpfota_tty_close(&l->tty);
	}
}
