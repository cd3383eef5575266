/*
 * Fuzz the server side of the codec: arbitrary bytes as a request frame, decoded as the kind
 * its header names (and every other kind, for good measure). Property: what decodes
 * re-encodes to a fixed point (see fuzz_smp_rsp.c), and the upload sizing helper agrees with
 * the encoder for the decoded request.
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
	(void)smpfota_smp_msg_lookup(&h);
	const uint8_t *payload = data + SMPFOTA_SMP_HDR_SIZE;
	uint8_t ver = h.version > 1 ? 1 : h.version;
	for (int m = 0; m < SMPFOTA_MSG_COUNT; m++) {
		union smpfota_smp_req r1, r2;
		if (smpfota_smp_decode_req((enum smpfota_smp_msg)m, payload, h.len, &r1) != 0) {
			continue;
		}
		int n1 = smpfota_smp_encode_req((enum smpfota_smp_msg)m, ver, h.seq, &r1, enc1,
						sizeof(enc1));
		if (n1 < 0) {
			abort();
		}
		if (smpfota_smp_decode_req((enum smpfota_smp_msg)m, enc1 + 8, (size_t)n1 - 8,
					   &r2) != 0) {
			abort();
		}
		int n2 = smpfota_smp_encode_req((enum smpfota_smp_msg)m, ver, h.seq, &r2, enc2,
						sizeof(enc2));
		if (n2 != n1 || memcmp(enc1, enc2, (size_t)n1) != 0) {
			abort();
		}
		if (m == SMPFOTA_MSG_IMG_UPLOAD && r1.upload.sha.len <= 32) {
			/* the sizing helper: its answer must fit, one more byte must not */
			size_t frame_size = (size_t)n1 + (data[size - 1] & 0x3f);
			int max = smpfota_smp_upload_max_data(&r1.upload, frame_size);
			if (max >= 0) {
				static uint8_t fill[70000];
				r1.upload.data = (struct smpfota_bytes){fill, (size_t)max};
				int n = smpfota_smp_encode_req(SMPFOTA_MSG_IMG_UPLOAD, ver, 0, &r1,
							       enc1, sizeof(enc1));
				if (n < 0 || (size_t)n > frame_size) {
					abort();
				}
			}
		}
	}
	return 0;
}
