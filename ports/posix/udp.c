/* POSIX host port: UDP endpoint (see udp.h). */
#include "posix/udp.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

/* Not in POSIX before 2024 (macOS lacks it); sockets then just stay inheritable. */
#ifndef SOCK_CLOEXEC
#define SOCK_CLOEXEC 0
#endif

static int io_err(struct smpfota_udp *u)
{
	u->sys_errno = errno;
	return errno == EADDRINUSE ? SMPFOTA_ERR_BUSY : SMPFOTA_ERR_IO;
}

static void reset(struct smpfota_udp *u)
{
	memset(u, 0, sizeof(*u));
	u->fd = -1;
}

/* Resolve and try each address until make() succeeds on one (as getaddrinfo(3) advises). */
static int open_any(struct smpfota_udp *u, const char *host, uint16_t port, bool passive)
{
	char service[8];
	struct addrinfo hints = {0};
	struct addrinfo *res = NULL;
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	int gai = getaddrinfo(host, service, &hints, &res);
	if (gai != 0) {
		u->sys_errno = gai == EAI_SYSTEM ? errno : 0;
		return gai == EAI_SYSTEM ? SMPFOTA_ERR_IO : SMPFOTA_ERR_INVAL;
	}
	int rc = SMPFOTA_ERR_IO;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			rc = io_err(u);
			continue;
		}
		int ok = passive ? bind(fd, ai->ai_addr, ai->ai_addrlen)
				 : connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (ok == 0) {
			u->fd = fd;
			u->connected = !passive;
			u->sys_errno = 0;
			rc = 0;
			break;
		}
		rc = io_err(u);
		close(fd);
	}
	freeaddrinfo(res);
	return rc;
}

/* Any address: one IPv6 socket that takes IPv4 too, as a server on a dual-stack host. */
static int bind_dual_stack(struct smpfota_udp *u, uint16_t port)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return io_err(u);
	}
	int off = 0;
	struct sockaddr_in6 a = {0};
	a.sin6_family = AF_INET6;
	a.sin6_addr = in6addr_any;
	a.sin6_port = htons(port);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) != 0 ||
	    bind(fd, (const struct sockaddr *)&a, sizeof(a)) != 0) {
		int rc = io_err(u);
		close(fd);
		return rc;
	}
	u->fd = fd;
	return 0;
}

int smpfota_udp_bind(struct smpfota_udp *u, const char *host, uint16_t port)
{
	if (u == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	reset(u);
	if (host == NULL || host[0] == '\0') {
		int rc = bind_dual_stack(u, port);
		if (rc != SMPFOTA_ERR_IO) {
			return rc; /* bound, or the port is taken (no point trying IPv4) */
		}
		host = NULL; /* no IPv6 here: IPv4 any */
	}
	return open_any(u, host, port, true);
}

int smpfota_udp_connect(struct smpfota_udp *u, const char *host, uint16_t port)
{
	if (u == NULL || host == NULL || host[0] == '\0' || port == 0) {
		return SMPFOTA_ERR_INVAL;
	}
	reset(u);
	return open_any(u, host, port, false);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int smpfota_udp_recv(struct smpfota_udp *u, uint8_t *buf, size_t size, int timeout_ms)
{
	if (u == NULL || u->fd < 0 || (buf == NULL && size != 0)) {
		return SMPFOTA_ERR_INVAL;
	}
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
	for (;;) {
		int wait = -1;
		if (timeout_ms >= 0) {
			int64_t left = deadline - now_ms();
			wait = left > 0 ? (int)left : 0;
		}
		struct pollfd p = {.fd = u->fd, .events = POLLIN};
		int n = poll(&p, 1, wait);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return io_err(u);
		}
		if (n == 0) {
			return SMPFOTA_ERR_TIMEDOUT;
		}
		struct sockaddr_storage from;
		struct iovec iov = {.iov_base = buf, .iov_len = size};
		struct msghdr msg = {0};
		msg.msg_name = &from;
		msg.msg_namelen = sizeof(from);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		/* MSG_DONTWAIT: poll can report a datagram that is then dropped (bad checksum) */
		ssize_t r = recvmsg(u->fd, &msg, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
				continue;
			}
			return io_err(u);
		}
		if (!u->connected) {
			memcpy(&u->peer, &from, msg.msg_namelen);
			u->peer_len = msg.msg_namelen;
		}
		if (msg.msg_flags & MSG_TRUNC) {
			return SMPFOTA_ERR_MSGSIZE;
		}
		return (int)r;
	}
}

int smpfota_udp_send_to(struct smpfota_udp *u, const uint8_t *buf, size_t len,
			const struct sockaddr *addr, socklen_t addr_len)
{
	if (u == NULL || u->fd < 0 || (buf == NULL && len != 0)) {
		return SMPFOTA_ERR_INVAL;
	}
	for (;;) {
		ssize_t r = addr != NULL ? sendto(u->fd, buf, len, 0, addr, addr_len)
					 : send(u->fd, buf, len, 0);
		if (r >= 0) {
			return (int)r;
		}
		if (errno == EINTR) {
			continue;
		}
		return errno == EMSGSIZE ? (u->sys_errno = errno, SMPFOTA_ERR_MSGSIZE) : io_err(u);
	}
}

int smpfota_udp_send(struct smpfota_udp *u, const uint8_t *buf, size_t len)
{
	if (u == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	if (u->connected) {
		return smpfota_udp_send_to(u, buf, len, NULL, 0);
	}
	if (u->peer_len == 0) {
		return SMPFOTA_ERR_INVAL;
	}
	return smpfota_udp_send_to(u, buf, len, (const struct sockaddr *)&u->peer, u->peer_len);
}

int smpfota_udp_local_port(const struct smpfota_udp *u)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);
	if (u == NULL || u->fd < 0 || getsockname(u->fd, (struct sockaddr *)&a, &len) != 0) {
		return SMPFOTA_ERR_IO;
	}
	if (a.ss_family == AF_INET6) {
		return ntohs(((const struct sockaddr_in6 *)(const void *)&a)->sin6_port);
	}
	return ntohs(((const struct sockaddr_in *)(const void *)&a)->sin_port);
}

int smpfota_udp_peer_str(const struct smpfota_udp *u, char *buf, size_t size)
{
	if (u == NULL || buf == NULL || u->peer_len == 0) {
		return SMPFOTA_ERR_INVAL;
	}
	char host[NI_MAXHOST];
	char serv[NI_MAXSERV];
	const struct sockaddr *sa = (const struct sockaddr *)&u->peer;
	socklen_t sa_len = u->peer_len;
	/* An IPv4 client of the dual-stack socket reads better as 192.0.2.1 than ::ffff:... */
	struct sockaddr_in v4 = {0};
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)&u->peer;
	if (u->peer.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
		v4.sin_family = AF_INET;
		v4.sin_port = v6->sin6_port;
		memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], 4);
		sa = (const struct sockaddr *)&v4;
		sa_len = sizeof(v4);
	}
	if (getnameinfo(sa, sa_len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		return SMPFOTA_ERR_INVAL;
	}
	int n = strchr(host, ':') != NULL ? snprintf(buf, size, "[%s]:%s", host, serv)
					  : snprintf(buf, size, "%s:%s", host, serv);
	return n < 0 || (size_t)n >= size ? SMPFOTA_ERR_NOSPC : 0;
}

void smpfota_udp_close(struct smpfota_udp *u)
{
	if (u != NULL && u->fd >= 0) {
		close(u->fd);
		u->fd = -1;
	}
}
