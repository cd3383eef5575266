/*
 * Connection strings of the host CLI (`--conn`), parsed without any platform header:
 *
 *     udp:HOST[:PORT]              port defaults to 1337 (Zephyr's SMP UDP port)
 *     udp:[IPV6][:PORT]            brackets are needed to give a port with an IPv6 address;
 *                                  an unbracketed address with two or more ':' is taken
 *                                  whole, without a port (udp:::1, udp:fe80::1%eth0)
 *     serial:DEVICE[,baud=N]       baud defaults to 115200
 *
 * Scheme and option names are case-insensitive. Strings are copied into the caller's
 * struct, NUL-terminated, ready for getaddrinfo() or open().
 */
#ifndef SMPFOTA_CONN_URI_H
#define SMPFOTA_CONN_URI_H

#include <stddef.h>
#include <stdint.h>

#include "smpfota/smpfota.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SMPFOTA_CONN_UDP_PORT 1337U /* CONFIG_MCUMGR_TRANSPORT_UDP_PORT default */
#define SMPFOTA_CONN_BAUD 115200U
#define SMPFOTA_CONN_BAUD_MAX 100000000U

/* Longest host (a DNS name is at most 253 characters) and device path, NUL included. */
#ifndef SMPFOTA_CONN_HOST_MAX
#define SMPFOTA_CONN_HOST_MAX 256
#endif
#ifndef SMPFOTA_CONN_DEVICE_MAX
#define SMPFOTA_CONN_DEVICE_MAX 256
#endif

enum smpfota_conn_kind {
	SMPFOTA_CONN_UDP = 1,
	SMPFOTA_CONN_SERIAL = 2,
};

struct smpfota_conn_uri {
	enum smpfota_conn_kind kind;
	char host[SMPFOTA_CONN_HOST_MAX];     /* udp: name or address, without brackets */
	uint16_t port;                        /* udp */
	char device[SMPFOTA_CONN_DEVICE_MAX]; /* serial: device path */
	uint32_t baud;                        /* serial */
};

/*
 * Parse uri into *out (cleared first). Returns 0; SMPFOTA_ERR_INVAL for an unknown scheme,
 * empty host or device, bad characters, unbalanced brackets, a non-numeric port or baud, or
 * an unknown option; SMPFOTA_ERR_RANGE for a port outside 1..65535 or a baud outside
 * 1..SMPFOTA_CONN_BAUD_MAX; SMPFOTA_ERR_NOSPC for a host or device that does not fit.
 */
int smpfota_conn_uri_parse(const char *uri, struct smpfota_conn_uri *out);

/*
 * Write the canonical form of c ("udp:[::1]:1337", "serial:/dev/ttyACM0,baud=115200"),
 * NUL-terminated, into buf. Returns its length (NUL excluded), SMPFOTA_ERR_NOSPC when it
 * does not fit, SMPFOTA_ERR_INVAL for an unknown kind. Parsing the result gives c back.
 */
int smpfota_conn_uri_format(const struct smpfota_conn_uri *c, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_CONN_URI_H */
