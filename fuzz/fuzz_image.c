/*
 * Fuzz the MCUboot image reader. Input: one selector byte, then the image bytes.
 *
 * Property: the result does not depend on how the image is chunked. The image is parsed
 * whole (which hashes again with SHA-384/512 when the hash TLV says so), then, with the
 * algorithm the whole parse ended with, fed in chunks whose sizes come from a small PRNG seeded by the selector (the
 * selector's low bits also cap the chunk size, so 1-byte feeds are common), and for small
 * inputs byte by byte. Return code, hash_valid, image_size and the other findings must agree.
 * Plus sanity: success implies a matching hash inside the input, errors are known codes.
 */
#include <stdlib.h>
#include <string.h>

#include "smpfota/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int feed_chunks(const uint8_t *data, size_t size, uint8_t sel, uint16_t algo,
		       struct smpfota_image_info *info)
{
	struct smpfota_image_reader r;
	uint32_t x = 0x9e3779b9U ^ sel;
	size_t cap = (size_t)(sel & 0x3f) + 1; /* 1..64, or up to 4 KiB when bit 6 is set */
	if (sel & 0x40) {
		cap *= 64;
	}
	if (smpfota_image_reader_init_hash(&r, algo) != 0) {
		abort();
	}
	for (size_t off = 0; off < size;) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		size_t n = (sel & 0x80) ? cap : 1 + x % cap; /* fixed or varying sizes */
		if (n > size - off) {
			n = size - off;
		}
		int err = smpfota_image_reader_feed(&r, data + off, n);
		off += n;
		if (err && (sel & 1)) {
			/* keep feeding: sticky errors must not change anything */
			if (smpfota_image_reader_feed(&r, data + off, size - off) != err) {
				abort();
			}
			break;
		}
	}
	return smpfota_image_reader_finish(&r, info);
}

static int feed_bytes(const uint8_t *data, size_t size, uint16_t algo,
		      struct smpfota_image_info *info)
{
	struct smpfota_image_reader r;
	if (smpfota_image_reader_init_hash(&r, algo) != 0) {
		abort();
	}
	for (size_t i = 0; i < size; i++) {
		(void)smpfota_image_reader_feed(&r, data + i, 1);
	}
	return smpfota_image_reader_finish(&r, info);
}

static void same(int rc_a, const struct smpfota_image_info *a, int rc_b,
		 const struct smpfota_image_info *b)
{
	if (rc_a != rc_b || a->hash_valid != b->hash_valid || a->image_size != b->image_size ||
	    a->header_valid != b->header_valid || a->hashed_size != b->hashed_size ||
	    a->has_hash != b->has_hash || a->tlv_count != b->tlv_count ||
	    a->hash_type != b->hash_type || a->computed_type != b->computed_type ||
	    a->sig_type != b->sig_type || a->sig_len != b->sig_len || a->key_type != b->key_type ||
	    (a->has_hash && memcmp(a->hash, b->hash, sizeof(a->hash)))) {
		abort();
	}
	size_t n = a->tlv_count < SMPFOTA_IMAGE_MAX_TLVS ? a->tlv_count : SMPFOTA_IMAGE_MAX_TLVS;
	for (size_t i = 0; i < n; i++) {
		if (a->tlvs[i].type != b->tlvs[i].type || a->tlvs[i].len != b->tlvs[i].len ||
		    a->tlvs[i].off != b->tlvs[i].off ||
		    a->tlvs[i].protected_tlv != b->tlvs[i].protected_tlv) {
			abort();
		}
	}
}

static void sane(int rc, const struct smpfota_image_info *in, size_t size)
{
	switch (rc) {
	case 0:
		if (!in->hash_valid || !in->has_hash || in->image_size > size ||
		    in->hash_type != in->computed_type ||
		    smpfota_image_hash_len(in->hash_type) != in->hash_len ||
		    memcmp(in->hash, in->computed_hash, in->hash_len)) {
			abort();
		}
		break;
	case SMPFOTA_ERR_HASH_MISMATCH:
	case SMPFOTA_ERR_UNSUPPORTED:
		/* read to the end of the TLV area */
		if (in->image_size == 0 || in->image_size > size || !in->header_valid) {
			abort();
		}
		break;
	case SMPFOTA_ERR_BAD_MAGIC:
	case SMPFOTA_ERR_BAD_HEADER:
	case SMPFOTA_ERR_TLV_CORRUPT:
	case SMPFOTA_ERR_TRUNCATED:
		if (in->hash_valid) {
			abort();
		}
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0) {
		return 0;
	}
	uint8_t sel = data[0];
	data++;
	size--;

	struct smpfota_image_info whole, chunked, bytes;
	int rc_whole = smpfota_image_parse(data, size, &whole);
	sane(rc_whole, &whole, size);

	int rc_chunked = feed_chunks(data, size, sel, whole.computed_type, &chunked);
	same(rc_whole, &whole, rc_chunked, &chunked);

	if (size <= 4096) {
		int rc_bytes = feed_bytes(data, size, whole.computed_type, &bytes);
		same(rc_whole, &whole, rc_bytes, &bytes);
	}
	return 0;
}
