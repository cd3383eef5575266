/*
 * Bare-metal port: a single-producer single-consumer byte ring (an interrupt handler on one
 * side, the main loop on the other) with no lock: each side writes only its own index, and
 * the indices run freely (wrapping at 2^32), so full and empty differ without a spare byte.
 * The size must be a power of two. The consumer may read in place (peek + consume) to feed
 * a decoder without a copy.
 */
#ifndef SMPFOTA_BAREMETAL_RING_H
#define SMPFOTA_BAREMETAL_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct smpfota_bm_ring {
	uint8_t *buf;
	uint32_t mask;          /* size - 1 */
	volatile uint32_t head; /* written by the producer only */
	volatile uint32_t tail; /* written by the consumer only */
};

/* buf (size bytes, a power of two) must outlive the ring. */
static inline void smpfota_bm_ring_init(struct smpfota_bm_ring *r, uint8_t *buf, uint32_t size)
{
	r->buf = buf;
	r->mask = size - 1U;
	r->head = 0;
	r->tail = 0;
}

static inline uint32_t smpfota_bm_ring_used(const struct smpfota_bm_ring *r)
{
	return r->head - r->tail;
}

/* Producer: false when full (the byte is not stored). */
static inline bool smpfota_bm_ring_put(struct smpfota_bm_ring *r, uint8_t b)
{
	uint32_t h = r->head;
	if (h - r->tail > r->mask) {
		return false;
	}
	r->buf[h & r->mask] = b;
	__asm volatile("dmb" ::: "memory"); /* the byte is in before the index says so */
	r->head = h + 1U;
	return true;
}

/* Consumer: the longest contiguous run of stored bytes (up to the end of the buffer);
 * returns its length, 0 when empty. */
static inline uint32_t smpfota_bm_ring_peek(const struct smpfota_bm_ring *r, const uint8_t **p)
{
	uint32_t t = r->tail;
	uint32_t n = r->head - t;
	uint32_t to_end = r->mask + 1U - (t & r->mask);
	*p = &r->buf[t & r->mask];
	__asm volatile("dmb" ::: "memory"); /* read the bytes after the index */
	return n < to_end ? n : to_end;
}

static inline void smpfota_bm_ring_consume(struct smpfota_bm_ring *r, uint32_t n)
{
	__asm volatile("dmb" ::: "memory"); /* done reading before the space is given back */
	r->tail += n;
}

#endif /* SMPFOTA_BAREMETAL_RING_H */
