/*
 * Fuzz the client side of the codec: arbitrary bytes as a response frame, decoded as every
 * message kind. Property: whatever decodes re-encodes to a fixed point, i.e.
 * encode(decode(encode(decode(x)))) == encode(decode(x)), so the decoder never invents or
 * loses a field the encoder would write.
 */
#include <stdlib.h>
#include <string.h>

#include "smpfota/smp.h"

static uint8_t enc1[70000];
static uint8_t enc2[70000];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smpfota_smp_hdr h;
	if (smpfota_smp_hdr_decode(data, size, &h) < 0) {
		return 0;
	}
	const uint8_t *payload = data + SMPFOTA_SMP_HDR_SIZE;
	for (int m = 0; m < SMPFOTA_MSG_COUNT; m++) {
		union smpfota_smp_rsp r1, r2;
		if (smpfota_smp_decode_rsp((enum smpfota_smp_msg)m, payload, h.len, &r1) != 0) {
			continue;
		}
		if (!smpfota_smp_status_ok(&r1.status)) {
			struct smpfota_smp_hdr req = h;
			int n = smpfota_smp_encode_err(&req, &r1.status, enc1, sizeof(enc1));
			if (n < 0 ||
			    smpfota_smp_decode_rsp((enum smpfota_smp_msg)m, enc1 + 8, (size_t)n - 8,
						   &r2) != 0 ||
			    r2.status.rc != r1.status.rc ||
			    r2.status.has_err != r1.status.has_err) {
				abort();
			}
			continue;
		}
		int n1 = smpfota_smp_encode_rsp((enum smpfota_smp_msg)m, &h, &r1, enc1,
						sizeof(enc1));
		if (n1 < 0) {
			abort();
		}
		if (smpfota_smp_decode_rsp((enum smpfota_smp_msg)m, enc1 + 8, (size_t)n1 - 8,
					   &r2) != 0) {
			abort();
		}
		int n2 = smpfota_smp_encode_rsp((enum smpfota_smp_msg)m, &h, &r2, enc2,
						sizeof(enc2));
		if (n2 != n1 || memcmp(enc1, enc2, (size_t)n1) != 0) {
			abort();
		}
	}
	return 0;
}
