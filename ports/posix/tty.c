/* POSIX host port: pseudo-terminal and serial device (see pty.h). */
#include "posix/tty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static int io_err(struct smpfota_tty *t)
{
	t->sys_errno = errno;
	return SMPFOTA_ERR_IO;
}

static void reset(struct smpfota_tty *t)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->slave_fd = -1;
}

/* Raw 8N1, no flow control, reads that never block in the driver (poll() waits). */
static int set_raw(int fd, speed_t speed, int set_speed)
{
	struct termios tio;
	if (tcgetattr(fd, &tio) != 0) {
		return -1;
	}
	cfmakeraw(&tio);
	tio.c_cflag |= CLOCAL | CREAD;
	tio.c_cflag &= ~(tcflag_t)CSTOPB;
#ifdef CRTSCTS
	tio.c_cflag &= ~(tcflag_t)CRTSCTS;
#endif
	tio.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	if (set_speed && (cfsetispeed(&tio, speed) != 0 || cfsetospeed(&tio, speed) != 0)) {
		return -1;
	}
	return tcsetattr(fd, TCSANOW, &tio);
}

int smpfota_pty_open(struct smpfota_tty *t)
{
	if (t == NULL) {
		return SMPFOTA_ERR_INVAL;
	}
	reset(t);
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0) {
		return io_err(t);
	}
	const char *name = NULL;
	if (grantpt(m) != 0 || unlockpt(m) != 0 || (name = ptsname(m)) == NULL ||
	    strlen(name) >= sizeof(t->path)) {
		int rc = io_err(t);
		close(m);
		return rc;
	}
	strcpy(t->path, name);
	int s = open(t->path, O_RDWR | O_NOCTTY);
	/* Raw on the slave side: without it the line discipline would echo what the client
	 * sends back to us and turn our '\n' into "\r\n" before the client sets raw itself. */
	if (s < 0 || set_raw(s, B0, 0) != 0 || fcntl(m, F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(m, F_SETFD, FD_CLOEXEC) != 0 || fcntl(s, F_SETFD, FD_CLOEXEC) != 0) {
		int err = errno;
		if (s >= 0) {
			close(s);
		}
		close(m);
		reset(t);
		t->sys_errno = err;
		return SMPFOTA_ERR_IO;
	}
	t->fd = m;
	t->slave_fd = s;
	return 0;
}

struct baud {
	uint32_t rate;
	speed_t speed;
};

/* POSIX termios only knows B* constants; the common rates above 38400 are extensions. */
static const struct baud bauds[] = {
	{1200, B1200},       {2400, B2400},   {4800, B4800},
	{9600, B9600},       {19200, B19200}, {38400, B38400},
#ifdef B57600
	{57600, B57600},
#endif
#ifdef B115200
	{115200, B115200},
#endif
#ifdef B230400
	{230400, B230400},
#endif
#ifdef B460800
	{460800, B460800},
#endif
#ifdef B921600
	{921600, B921600},
#endif
#ifdef B1000000
	{1000000, B1000000},
#endif
#ifdef B2000000
	{2000000, B2000000},
#endif
#ifdef B3000000
	{3000000, B3000000},
#endif
#ifdef B4000000
	{4000000, B4000000},
#endif
};

int smpfota_tty_open(struct smpfota_tty *t, const char *path, uint32_t baud)
{
	if (t == NULL || path == NULL || path[0] == '\0') {
		return SMPFOTA_ERR_INVAL;
	}
	reset(t);
	if (strlen(path) >= sizeof(t->path)) {
		return SMPFOTA_ERR_NOSPC;
	}
	speed_t speed = B0;
	if (baud != 0) {
		size_t i = 0;
		while (i < sizeof(bauds) / sizeof(bauds[0]) && bauds[i].rate != baud) {
			i++;
		}
		if (i == sizeof(bauds) / sizeof(bauds[0])) {
			return SMPFOTA_ERR_NOTSUP;
		}
		speed = bauds[i].speed;
	}
	strcpy(t->path, path);
	/* O_NONBLOCK: opening must not wait for carrier detect on a modem-control line */
	int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		return io_err(t);
	}
	if (!isatty(fd) || set_raw(fd, speed, baud != 0) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		int rc = io_err(t);
		close(fd);
		return rc;
	}
	/* Drop what the device printed before we came (boot banner, old responses). */
	(void)tcflush(fd, TCIFLUSH);
	t->fd = fd;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline (timeout_ms < 0: forever). 1 ready, 0 timeout, <0. */
static int wait_fd(struct smpfota_tty *t, short events, int timeout_ms, int64_t deadline)
{
	for (;;) {
		int wait = -1;
		if (timeout_ms >= 0) {
			int64_t left = deadline - now_ms();
			wait = left > 0 ? (int)left : 0;
		}
		struct pollfd p = {.fd = t->fd, .events = events};
		int n = poll(&p, 1, wait);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return io_err(t);
		}
		return n;
	}
}

int smpfota_tty_read(struct smpfota_tty *t, uint8_t *buf, size_t size, int timeout_ms)
{
	if (t == NULL || t->fd < 0 || buf == NULL || size == 0) {
		return SMPFOTA_ERR_INVAL;
	}
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		int w = wait_fd(t, POLLIN, timeout_ms, deadline);
		if (w < 0) {
			return w;
		}
		if (w == 0) {
			return SMPFOTA_ERR_TIMEDOUT;
		}
		ssize_t r = read(t->fd, buf, size);
		if (r > 0) {
			return (int)r;
		}
		if (r == 0) {
			/* readable but empty: the other end hung up (USB unplugged) */
			t->sys_errno = 0;
			return SMPFOTA_ERR_IO;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			return io_err(t);
		}
	}
}

int smpfota_tty_write(struct smpfota_tty *t, const uint8_t *buf, size_t len, int timeout_ms)
{
	if (t == NULL || t->fd < 0 || (buf == NULL && len != 0)) {
		return SMPFOTA_ERR_INVAL;
	}
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	size_t done = 0;
	while (done < len) {
		ssize_t r = write(t->fd, buf + done, len - done);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			return io_err(t);
		}
		int w = wait_fd(t, POLLOUT, timeout_ms, deadline);
		if (w < 0) {
			return w;
		}
		if (w == 0) {
			return SMPFOTA_ERR_TIMEDOUT;
		}
	}
	return (int)len;
}

void smpfota_tty_close(struct smpfota_tty *t)
{
	if (t == NULL) {
		return;
	}
	if (t->fd >= 0) {
		close(t->fd);
	}
	if (t->slave_fd >= 0) {
		close(t->slave_fd);
	}
	t->fd = -1;
	t->slave_fd = -1;
}
