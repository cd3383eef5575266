/*
 * Connection string parser: udp:HOST[:PORT] and serial:DEVICE[,baud=N].
 * Pure string handling, so that it is testable with the library (no platform headers).
 */
#include "posix/conn_uri.h"

#include <stdbool.h>
#include <string.h>

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive "does s[0..n) equal lit". */
static bool eq_nocase(const char *s, size_t n, const char *lit)
{
	if (strlen(lit) != n) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (lower(s[i]) != lit[i]) {
			return false;
		}
	}
	return true;
}

/* Decimal s[0..n) into *v; RANGE above max, INVAL if empty or not all digits. */
static int parse_u32(const char *s, size_t n, uint32_t max, uint32_t *v)
{
	uint32_t x = 0;
	if (n == 0) {
		return SMPFOTA_ERR_INVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return SMPFOTA_ERR_INVAL;
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t d = (uint32_t)(s[i] - '0');
		if (x > (max - d) / 10U) {
			return SMPFOTA_ERR_RANGE;
		}
		x = x * 10U + d;
	}
	*v = x;
	return 0;
}

static int copy_str(char *dst, size_t cap, const char *s, size_t n)
{
	if (n == 0) {
		return SMPFOTA_ERR_INVAL;
	}
	if (n >= cap) {
		return SMPFOTA_ERR_NOSPC;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* Printable, no space: what a host name, address (with %zone) or path may hold. */
static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f) {
			return false;
		}
	}
	return true;
}

static int parse_udp(const char *s, struct smpfota_conn_uri *out)
{
	const char *host = s;
	size_t host_len;
	const char *port = NULL;
	size_t n = strlen(s);

	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL) {
			return SMPFOTA_ERR_INVAL;
		}
		host = s + 1;
		host_len = (size_t)(close - host);
		if (close[1] == ':') {
			port = close + 2;
		} else if (close[1] != '\0') {
			return SMPFOTA_ERR_INVAL;
		}
		if (memchr(host, ':', host_len) == NULL) {
			return SMPFOTA_ERR_INVAL; /* brackets are for IPv6 addresses only */
		}
	} else {
		const char *colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			host_len = (size_t)(colon - s); /* name or IPv4, then a port */
			port = colon + 1;
		} else {
			host_len = n; /* no port, or a bare IPv6 address */
		}
	}
	if (!printable(host, host_len) || memchr(host, '[', host_len) != NULL ||
	    memchr(host, ']', host_len) != NULL || memchr(host, '/', host_len) != NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	int rc = copy_str(out->host, sizeof(out->host), host, host_len);
	if (rc < 0) {
		return rc;
	}
	out->port = SMPFOTA_CONN_UDP_PORT;
	if (port != NULL) {
		uint32_t p = 0;
		rc = parse_u32(port, strlen(port), 65535U, &p);
		if (rc < 0) {
			return rc;
		}
		if (p == 0) {
			return SMPFOTA_ERR_RANGE;
		}
		out->port = (uint16_t)p;
	}
	out->kind = SMPFOTA_CONN_UDP;
	return 0;
}

static int parse_serial(const char *s, struct smpfota_conn_uri *out)
{
	const char *comma = strchr(s, ',');
	size_t dev_len = comma != NULL ? (size_t)(comma - s) : strlen(s);
	if (!printable(s, dev_len)) {
		return SMPFOTA_ERR_INVAL;
	}
	int rc = copy_str(out->device, sizeof(out->device), s, dev_len);
	if (rc < 0) {
		return rc;
	}
	out->baud = SMPFOTA_CONN_BAUD;
	while (comma != NULL) {
		const char *opt = comma + 1;
		comma = strchr(opt, ',');
		size_t opt_len = comma != NULL ? (size_t)(comma - opt) : strlen(opt);
		const char *eq = memchr(opt, '=', opt_len);
		if (eq == NULL || !eq_nocase(opt, (size_t)(eq - opt), "baud")) {
			return SMPFOTA_ERR_INVAL;
		}
		uint32_t baud = 0;
		rc = parse_u32(eq + 1, opt_len - (size_t)(eq + 1 - opt), SMPFOTA_CONN_BAUD_MAX,
			       &baud);
		if (rc < 0) {
			return rc;
		}
		if (baud == 0) {
			return SMPFOTA_ERR_RANGE;
		}
		out->baud = baud;
	}
	out->kind = SMPFOTA_CONN_SERIAL;
	return 0;
}

int smpfota_conn_uri_parse(const char *uri, struct smpfota_conn_uri *out)
{
	if (uri == NULL || out == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	memset(out, 0, sizeof(*out));
	const char *colon = strchr(uri, ':');
	if (colon == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	size_t scheme_len = (size_t)(colon - uri);
	int rc;
	if (eq_nocase(uri, scheme_len, "udp")) {
		rc = parse_udp(colon + 1, out);
	} else if (eq_nocase(uri, scheme_len, "serial")) {
		rc = parse_serial(colon + 1, out);
	} else {
		rc = SMPFOTA_ERR_INVAL;
	}
	if (rc < 0) {
		memset(out, 0, sizeof(*out)); /* never a half-filled result */
	}
	return rc;
}

/* Appends to a bounded buffer; remembers overflow instead of checking every call. */
struct out_buf {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct out_buf *o, const char *s)
{
	size_t n = strlen(s);
	if (o->len + n < o->size) {
		memcpy(o->buf + o->len, s, n);
	}
	o->len += n;
}

static void put_u32(struct out_buf *o, uint32_t v)
{
	char tmp[11];
	size_t i = sizeof(tmp) - 1;
	tmp[i] = '\0';
	do {
		tmp[--i] = (char)('0' + v % 10U);
		v /= 10U;
	} while (v != 0);
	put(o, tmp + i);
}

int smpfota_conn_uri_format(const struct smpfota_conn_uri *c, char *buf, size_t size)
{
	if (c == NULL || buf == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	struct out_buf o = {buf, size, 0};
	if (c->kind == SMPFOTA_CONN_UDP) {
		bool v6 = strchr(c->host, ':') != NULL;
		put(&o, v6 ? "udp:[" : "udp:");
		put(&o, c->host);
		put(&o, v6 ? "]:" : ":");
		put_u32(&o, c->port);
	} else if (c->kind == SMPFOTA_CONN_SERIAL) {
		put(&o, "serial:");
		put(&o, c->device);
		put(&o, ",baud=");
		put_u32(&o, c->baud);
	} else {
		return SMPFOTA_ERR_INVAL;
	}
	if (o.len >= size) {
		return SMPFOTA_ERR_NOSPC;
	}
	buf[o.len] = '\0';
	return (int)o.len;
}
