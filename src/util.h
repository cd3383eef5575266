/*
 * Internal helpers shared by the library's layers: byte order and a wrapping millisecond or
 * microsecond clock. Static inline, so each user gets only what it calls. Not API.
 */
#ifndef SMPFOTA_UTIL_H
#define SMPFOTA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t util_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t util_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline void util_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void util_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint16_t util_get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void util_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Every byte of p[0, n) equals v (an erased flash region, for instance). */
static inline bool util_all_equal(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != v) {
			return false;
		}
	}
	return true;
}

/*
 * Time `now` is at or after `t` on a wrapping 32-bit clock (ms or us): right across the
 * wrap as long as the two are less than 2^31 ticks apart.
 */
static inline bool util_time_reached(uint32_t now, uint32_t t)
{
	return (int32_t)(now - t) >= 0;
}

/* Ticks from now until t on the same clock, 0 once t is reached. */
static inline int32_t util_time_until(uint32_t now, uint32_t t)
{
	int32_t d = (int32_t)(t - now);

	return d < 0 ? 0 : d;
}

#endif /* SMPFOTA_UTIL_H */
