/*
 * Streaming image verification throughput: a 1 MiB MCUboot image fed through
 * smpfota_image_reader in 256 B and 4 KiB chunks, next to plain mbedTLS SHA-256 over the same
 * bytes in the same chunks. SHA-256 is the physical limit here; the gap is the reader's cost.
 * Prints figures only (exits 1 only if the image fails to verify, i.e. the numbers are void).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include "emu/image.h"
#include "smpfota/image.h"

#if MBEDTLS_VERSION_MAJOR >= 3
#define sha256_starts(c) mbedtls_sha256_starts((c), 0)
#define sha256_update(c, p, n) mbedtls_sha256_update((c), (p), (n))
#define sha256_finish(c, out) mbedtls_sha256_finish((c), (out))
#else
#define sha256_starts(c) mbedtls_sha256_starts_ret((c), 0)
#define sha256_update(c, p, n) mbedtls_sha256_update_ret((c), (p), (n))
#define sha256_finish(c, out) mbedtls_sha256_finish_ret((c), (out))
#endif

#define IMAGE_SIZE (1024U * 1024U)
#define HDR_SIZE 0x200U
#define TLV_AREA (4U + 4U + 32U)
#define HASHED (IMAGE_SIZE - TLV_AREA)
#define MIN_SECONDS 0.5

static uint8_t image[IMAGE_SIZE];
static volatile uint8_t sink; /* keeps results alive */

/* 1 MiB exactly: 0x200 header, body, SHA-256 TLV only (as imgtool without a key). */
static int build_image(void)
{
	struct smpfota_emu_image_spec s = {.hdr_size = HDR_SIZE,
					   .body_size = HASHED - HDR_SIZE,
					   .ver = {1, 0, 0, 0},
					   .hash_only = true};
	return smpfota_emu_image_build(image, sizeof(image), &s, NULL) == IMAGE_SIZE ? 0 : 1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One pass of plain SHA-256 over the hashed bytes in chunk-sized updates. */
static int run_sha(size_t chunk)
{
	mbedtls_sha256_context c;
	uint8_t out[32];
	mbedtls_sha256_init(&c);
	(void)sha256_starts(&c);
	for (size_t off = 0; off < HASHED; off += chunk) {
		size_t n = HASHED - off < chunk ? HASHED - off : chunk;
		(void)sha256_update(&c, image + off, n);
	}
	(void)sha256_finish(&c, out);
	mbedtls_sha256_free(&c);
	sink = out[0];
	return 0;
}

/* One pass of the reader over the whole image in chunk-sized feeds. */
static int run_reader(size_t chunk)
{
	struct smpfota_image_reader r;
	struct smpfota_image_info info;
	smpfota_image_reader_init(&r);
	for (size_t off = 0; off < IMAGE_SIZE; off += chunk) {
		size_t n = IMAGE_SIZE - off < chunk ? IMAGE_SIZE - off : chunk;
		(void)smpfota_image_reader_feed(&r, image + off, n);
	}
	int rc = smpfota_image_reader_finish(&r, &info);
	sink = info.computed_hash[0];
	return rc;
}

/* Best-of-runs throughput in MB/s (10^6 bytes) of bytes per pass. */
static double measure(int (*fn)(size_t), size_t chunk, double bytes, int *rc)
{
	double best = 0, start = now();
	int passes = 0;
	*rc = 0;
	while (passes < 3 || now() - start < MIN_SECONDS) {
		double t0 = now();
		int r = fn(chunk);
		double dt = now() - t0;
		if (r) {
			*rc = r;
		}
		if (dt > 0 && bytes / dt > best) {
			best = bytes / dt;
		}
		passes++;
	}
	return best / 1e6;
}

int main(void)
{
	static const size_t chunks[] = {256, 4096};
	int failed = 0;

	if (build_image() != 0) {
		fprintf(stderr, "bench_image: cannot build the image\n");
		return EXIT_FAILURE;
	}
	printf("bench_image: 1 MiB image (%u hashed bytes), best of >= %.1f s per row, MB/s = 10^6 B/s\n",
	       (unsigned)HASHED, MIN_SECONDS);
	printf("  %-6s  %16s  %16s  %8s\n", "chunk", "mbedtls SHA-256", "image reader", "reader %");
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		int rc_sha, rc_reader;
		double sha = measure(run_sha, chunks[i], HASHED, &rc_sha);
		double reader = measure(run_reader, chunks[i], IMAGE_SIZE, &rc_reader);
		printf("  %-6zu  %16.1f  %16.1f  %7.1f%%\n", chunks[i], sha, reader,
		       sha > 0 ? 100.0 * reader / sha : 0.0);
		if (rc_reader) {
			fprintf(stderr, "bench_image: reader failed: %s\n",
				smpfota_strerror(rc_reader));
			failed = 1;
		}
	}
	fflush(stdout);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
