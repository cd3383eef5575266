/*
 * POSIX host port: a small UDP endpoint for SMP over UDP (one datagram = one SMP packet,
 * shared/spec/smp.md section 4.2). A server binds HOST:PORT and answers the sender of
 * the last datagram; a client connects to HOST:PORT. IPv4 and IPv6; receive with a
 * timeout via poll(). Returns smpfota error codes; the errno behind an SMPFOTA_ERR_IO is
 * kept in sys_errno for the caller's message.
 */
#ifndef SMPFOTA_POSIX_UDP_H
#define SMPFOTA_POSIX_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

struct smpfota_udp {
	int fd;                       /* -1 when closed */
	bool connected;               /* client: the kernel filters and addresses for us */
	struct sockaddr_storage peer; /* server: sender of the last datagram received */
	socklen_t peer_len;           /* 0 until a datagram arrived */
	int sys_errno;                /* errno of the last failure, 0 if none */
};

/*
 * Server: bind host:port. host NULL or "" binds every address, IPv6 and IPv4 together
 * (dual stack) where the system allows, else IPv4 only; port 0 picks a free port (see
 * smpfota_udp_local_port). Returns 0, SMPFOTA_ERR_INVAL when host does not resolve,
 * SMPFOTA_ERR_BUSY when the port is taken, SMPFOTA_ERR_IO otherwise.
 */
int smpfota_udp_bind(struct smpfota_udp *u, const char *host, uint16_t port);

/* Client: resolve host (name, IPv4 or IPv6 address) and connect to host:port. Same errors. */
int smpfota_udp_connect(struct smpfota_udp *u, const char *host, uint16_t port);

/*
 * Receive one datagram into buf. timeout_ms < 0 waits forever, 0 polls. Returns its length;
 * SMPFOTA_ERR_TIMEDOUT; SMPFOTA_ERR_MSGSIZE when it was longer than size (the datagram is
 * consumed, the peer still recorded); SMPFOTA_ERR_IO (for a client, also an ICMP "port
 * unreachable" from an earlier send: sys_errno ECONNREFUSED).
 */
int smpfota_udp_recv(struct smpfota_udp *u, uint8_t *buf, size_t size, int timeout_ms);

/* Send one datagram to the connected peer (client) or to the sender of the last datagram
 * (server). Returns len; SMPFOTA_ERR_INVAL when a server has no peer yet; SMPFOTA_ERR_IO. */
int smpfota_udp_send(struct smpfota_udp *u, const uint8_t *buf, size_t len);

/* Send one datagram to addr (a server replying elsewhere, or tests). */
int smpfota_udp_send_to(struct smpfota_udp *u, const uint8_t *buf, size_t len,
			const struct sockaddr *addr, socklen_t addr_len);

/* Local port the endpoint is bound to (after port 0), or SMPFOTA_ERR_IO. */
int smpfota_udp_local_port(const struct smpfota_udp *u);

/* Peer of the last datagram (server) as text "[addr]:port" / "addr:port" into buf; 0 or
 * SMPFOTA_ERR_NOSPC / SMPFOTA_ERR_INVAL (no peer yet). */
int smpfota_udp_peer_str(const struct smpfota_udp *u, char *buf, size_t size);

/* Close the socket; safe to call twice. */
void smpfota_udp_close(struct smpfota_udp *u);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_POSIX_UDP_H */
