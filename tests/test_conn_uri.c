/* Connection strings of the CLI: udp:HOST[:PORT] and serial:DEVICE[,baud=N]. */
#include <string.h>

#include "check.h"
#include "posix/conn_uri.h"

static void check_udp(const char *uri, const char *host, unsigned port, const char *canon)
{
	struct smpfota_conn_uri c;
	int rc = smpfota_conn_uri_parse(uri, &c);
	CHECK_EQ(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "  uri: %s\n", uri);
		return;
	}
	CHECK_EQ(c.kind, SMPFOTA_CONN_UDP);
	CHECK(strcmp(c.host, host) == 0);
	CHECK_EQ(c.port, port);
	char buf[300];
	CHECK_EQ(smpfota_conn_uri_format(&c, buf, sizeof(buf)), strlen(canon));
	CHECK(strcmp(buf, canon) == 0);
	/* the canonical form parses back to the same thing */
	struct smpfota_conn_uri d;
	CHECK_EQ(smpfota_conn_uri_parse(buf, &d), 0);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0);
}

static void check_serial(const char *uri, const char *dev, unsigned long baud, const char *canon)
{
	struct smpfota_conn_uri c;
	int rc = smpfota_conn_uri_parse(uri, &c);
	CHECK_EQ(rc, 0);
	if (rc != 0) {
		fprintf(stderr, "  uri: %s\n", uri);
		return;
	}
	CHECK_EQ(c.kind, SMPFOTA_CONN_SERIAL);
	CHECK(strcmp(c.device, dev) == 0);
	CHECK_EQ(c.baud, baud);
	char buf[300];
	CHECK_EQ(smpfota_conn_uri_format(&c, buf, sizeof(buf)), strlen(canon));
	CHECK(strcmp(buf, canon) == 0);
	struct smpfota_conn_uri d;
	CHECK_EQ(smpfota_conn_uri_parse(buf, &d), 0);
	CHECK(memcmp(&c, &d, sizeof(c)) == 0);
}

static void check_err(const char *uri, int want)
{
	struct smpfota_conn_uri c;
	memset(&c, 0x55, sizeof(c));
	int rc = smpfota_conn_uri_parse(uri, &c);
	CHECK_EQ(rc, want);
	if (rc != want) {
		fprintf(stderr, "  uri: %s\n", uri);
	}
	CHECK_EQ(c.kind, 0); /* cleared on error */
	CHECK_EQ(c.host[0], 0);
}

static void test_udp(void)
{
	check_udp("udp:192.0.2.1", "192.0.2.1", 1337, "udp:192.0.2.1:1337");
	check_udp("udp:192.0.2.1:1338", "192.0.2.1", 1338, "udp:192.0.2.1:1338");
	check_udp("udp:localhost:65535", "localhost", 65535, "udp:localhost:65535");
	check_udp("UDP:Board-1.local:1", "Board-1.local", 1, "udp:Board-1.local:1");
	check_udp("udp:[::1]", "::1", 1337, "udp:[::1]:1337");
	check_udp("udp:[::1]:8080", "::1", 8080, "udp:[::1]:8080");
	check_udp("udp:[fe80::1%eth0]:1337", "fe80::1%eth0", 1337, "udp:[fe80::1%eth0]:1337");
	/* a bare IPv6 address is taken whole (no port) */
	check_udp("udp:::1", "::1", 1337, "udp:[::1]:1337");
	check_udp("udp:2001:db8::2", "2001:db8::2", 1337, "udp:[2001:db8::2]:1337");
	check_udp("udp:h:0001337", "h", 1337, "udp:h:1337");
}

static void test_udp_errors(void)
{
	check_err("udp:", SMPFOTA_ERR_INVAL);
	check_err("udp::1337", SMPFOTA_ERR_INVAL);
	check_err("udp:host:", SMPFOTA_ERR_INVAL);
	check_err("udp:host:12a", SMPFOTA_ERR_INVAL);
	check_err("udp:host:-1", SMPFOTA_ERR_INVAL);
	check_err("udp:host:+1", SMPFOTA_ERR_INVAL);
	check_err("udp:host:0", SMPFOTA_ERR_RANGE);
	check_err("udp:host:65536", SMPFOTA_ERR_RANGE);
	check_err("udp:host:99999999999999999999", SMPFOTA_ERR_RANGE);
	check_err("udp:[::1", SMPFOTA_ERR_INVAL);
	check_err("udp:[::1]x", SMPFOTA_ERR_INVAL);
	check_err("udp:[::1]:", SMPFOTA_ERR_INVAL);
	check_err("udp:[]", SMPFOTA_ERR_INVAL);
	check_err("udp:[192.0.2.1]:1", SMPFOTA_ERR_INVAL);
	check_err("udp:ho st", SMPFOTA_ERR_INVAL);
	check_err("udp:a/b", SMPFOTA_ERR_INVAL);
	check_err("udp:a]b:1", SMPFOTA_ERR_INVAL);
	check_err("udp:host\t:1", SMPFOTA_ERR_INVAL);
}

static void test_serial(void)
{
	check_serial("serial:/dev/ttyACM0", "/dev/ttyACM0", 115200,
		     "serial:/dev/ttyACM0,baud=115200");
	check_serial("serial:/dev/ttyUSB1,baud=1000000", "/dev/ttyUSB1", 1000000,
		     "serial:/dev/ttyUSB1,baud=1000000");
	check_serial("Serial:/dev/pts/3,BAUD=9600", "/dev/pts/3", 9600,
		     "serial:/dev/pts/3,baud=9600");
	/* the last of repeated options wins */
	check_serial("serial:COM3,baud=9600,baud=57600", "COM3", 57600, "serial:COM3,baud=57600");
}

static void test_serial_errors(void)
{
	check_err("serial:", SMPFOTA_ERR_INVAL);
	check_err("serial:,baud=9600", SMPFOTA_ERR_INVAL);
	check_err("serial:/dev/x,", SMPFOTA_ERR_INVAL);
	check_err("serial:/dev/x,baud", SMPFOTA_ERR_INVAL);
	check_err("serial:/dev/x,baud=", SMPFOTA_ERR_INVAL);
	check_err("serial:/dev/x,baud=fast", SMPFOTA_ERR_INVAL);
	check_err("serial:/dev/x,parity=even", SMPFOTA_ERR_INVAL);
	check_err("serial:/dev/x,baud=0", SMPFOTA_ERR_RANGE);
	check_err("serial:/dev/x,baud=100000001", SMPFOTA_ERR_RANGE);
	check_err("serial:/dev/my tty", SMPFOTA_ERR_INVAL);
}

static void test_other_errors(void)
{
	check_err("", SMPFOTA_ERR_INVAL);
	check_err("udp", SMPFOTA_ERR_INVAL);
	check_err("tcp:host:1", SMPFOTA_ERR_INVAL);
	check_err("ble:AA:BB:CC:DD:EE:FF", SMPFOTA_ERR_INVAL);
	check_err("/dev/ttyACM0", SMPFOTA_ERR_INVAL);
	struct smpfota_conn_uri c;
	CHECK_EQ(smpfota_conn_uri_parse(NULL, &c), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_conn_uri_parse("udp:h", NULL), SMPFOTA_ERR_INVAL);

	/* lengths: the longest host that fits, and one more */
	char uri[SMPFOTA_CONN_HOST_MAX + 16];
	memcpy(uri, "udp:", 4);
	memset(uri + 4, 'h', SMPFOTA_CONN_HOST_MAX - 1);
	uri[4 + SMPFOTA_CONN_HOST_MAX - 1] = '\0';
	CHECK_EQ(smpfota_conn_uri_parse(uri, &c), 0);
	CHECK_EQ(strlen(c.host), SMPFOTA_CONN_HOST_MAX - 1);
	uri[4 + SMPFOTA_CONN_HOST_MAX - 1] = 'h';
	uri[4 + SMPFOTA_CONN_HOST_MAX] = '\0';
	check_err(uri, SMPFOTA_ERR_NOSPC);
	char dev[SMPFOTA_CONN_DEVICE_MAX + 16];
	memcpy(dev, "serial:", 7);
	memset(dev + 7, 'd', SMPFOTA_CONN_DEVICE_MAX);
	dev[7 + SMPFOTA_CONN_DEVICE_MAX] = '\0';
	check_err(dev, SMPFOTA_ERR_NOSPC);
}

static void test_format_errors(void)
{
	struct smpfota_conn_uri c;
	CHECK_EQ(smpfota_conn_uri_parse("udp:[::1]:1337", &c), 0);
	char buf[32];
	/* "udp:[::1]:1337" is 14 characters: needs 15 bytes */
	CHECK_EQ(smpfota_conn_uri_format(&c, buf, 15), 14);
	CHECK_EQ(smpfota_conn_uri_format(&c, buf, 14), SMPFOTA_ERR_NOSPC);
	CHECK_EQ(smpfota_conn_uri_format(&c, buf, 0), SMPFOTA_ERR_NOSPC);
	c.kind = (enum smpfota_conn_kind)0;
	CHECK_EQ(smpfota_conn_uri_format(&c, buf, sizeof(buf)), SMPFOTA_ERR_INVAL);
	CHECK_EQ(smpfota_conn_uri_format(NULL, buf, sizeof(buf)), SMPFOTA_ERR_INVAL);
}

int main(void)
{
	RUN(test_udp);
	RUN(test_udp_errors);
	RUN(test_serial);
	RUN(test_serial_errors);
	RUN(test_other_errors);
	RUN(test_format_errors);
	return CHECK_SUMMARY();
}
