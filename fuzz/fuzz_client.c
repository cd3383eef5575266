/*
 * Fuzz the client engine's response handling: an engine with an upload and other requests
 * in flight is fed arbitrary frames as answers, interleaved with the passing of time.
 * Input: records [u8 flags][u8 ms][u16 BE len][frame]. Flag bit 0 rewrites the frame's seq
 * to that of a request in flight (so answers get past matching), bit 1 also its group/id/op
 * so it decodes as the right kind. Invariants (abort on violation): the server's offset the
 * engine keeps stays within the image, requests in flight never exceed the slots, every
 * frame sent is a well-formed upload/echo/list request within the MTU, the upload never
 * ends "done" short of the image size, and no request is reported twice.
 */
#include <stdlib.h>
#include <string.h>

#include "smpfota/client.h"

#define IMG 5000U
#define MTU 600U

static uint8_t image[IMG];
static uint8_t buf[5 * 1024];
static struct smpfota_client cli;
static uint8_t last_seq[16];
static uint8_t last_hdr[16][8];
static unsigned nsent;
static int up_result;
static unsigned completions;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int tx_send(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	struct smpfota_smp_hdr h;
	if (len > MTU || smpfota_smp_hdr_decode(frame, len, &h) != (int)len || (h.op & 1U)) {
		abort();
	}
	memcpy(last_hdr[nsent % 16], frame, 8);
	last_seq[nsent % 16] = h.seq;
	nsent++;
	return 0;
}

static int src_read(void *ctx, uint32_t off, void *out, size_t len)
{
	(void)ctx;
	if ((uint64_t)off + len > IMG) {
		abort();
	}
	memcpy(out, image + off, len);
	return 0;
}

static void on_done(void *user, int err, const struct smpfota_smp_status *st, bool match)
{
	(void)user;
	(void)st;
	(void)match;
	if (up_result != 1) {
		abort(); /* reported twice */
	}
	up_result = err;
	if (err == 0 && cli.up.acked != IMG) {
		abort();
	}
}

static void on_rsp(void *user, int err, enum smpfota_smp_msg msg, const union smpfota_smp_rsp *r)
{
	(void)user;
	(void)err;
	(void)msg;
	(void)r;
	completions++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smpfota_client_config cfg = {.tx = {.send = tx_send, .mtu = MTU},
					    .buf = buf,
					    .buf_size = sizeof(buf),
					    .frame_cap = 1024,
					    .slots = 4,
					    .version = SMPFOTA_SMP_V2,
					    .timeout_ms = 100,
					    .retries = 1};
	uint32_t now = 1000;
	nsent = 0;
	up_result = 1;
	completions = 0;
	for (unsigned i = 0; i < IMG; i++) {
		image[i] = (uint8_t)(i * 31);
	}
	if (smpfota_client_init(&cli, &cfg) != 0) {
		abort();
	}
	struct smpfota_upload_source src = {.read = src_read, .size = IMG};
	struct smpfota_upload_params prm = {
		.buf_size = 512, .buf_count = 4, .first_timeout_ms = 300};
	if (smpfota_client_upload(&cli, &src, &prm, NULL, on_done, NULL, now) != 0) {
		abort();
	}
	struct smpfota_os_echo_req e = {.d = {"x", 1}};
	(void)smpfota_client_send(&cli, SMPFOTA_MSG_OS_ECHO, &e, 0, on_rsp, NULL, now);
	struct smpfota_img_state_read_req l = {0};
	(void)smpfota_client_send(&cli, SMPFOTA_MSG_IMG_STATE_READ, &l, 0, on_rsp, NULL, now);

	static uint8_t frame[2048];
	size_t pos = 0;
	while (pos + 4 <= size) {
		uint8_t flags = data[pos];
		uint8_t ms = data[pos + 1];
		size_t len = ((size_t)data[pos + 2] << 8) | data[pos + 3];
		pos += 4;
		len = len < size - pos ? len : size - pos;
		len = len < sizeof(frame) ? len : sizeof(frame);
		memcpy(frame, data + pos, len);
		pos += len;
		if (len >= 8 && nsent > 0 && (flags & 1U)) {
			unsigned k = (nsent - 1 - (frame[6] % (nsent < 16 ? nsent : 16))) % 16;
			if (flags & 2U) {
				memcpy(frame, last_hdr[k], 8);
				frame[0] |= 1U; /* the response op */
				frame[2] = (uint8_t)((len - 8) >> 8);
				frame[3] = (uint8_t)(len - 8);
			}
			frame[6] = last_seq[k];
		}
		(void)smpfota_client_input(&cli, frame, len, now);
		now += ms;
		smpfota_client_poll(&cli, now);
		if (cli.up.acked > IMG || cli.up.next_off > IMG ||
		    smpfota_client_pending(&cli) > cfg.slots) {
			abort();
		}
		(void)smpfota_client_next_deadline(&cli, now);
	}
	return 0;
}
