/*
 * Internal: table-driven CBOR map <-> C struct on top of zcbor (as nanopb's field tables).
 * One field table per map serves both directions, so encoder and decoder cannot disagree
 * on key names or types.
 */
#ifndef SMPFOTA_SRC_CBOR_H
#define SMPFOTA_SRC_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum smpfota_cbor_type {
	SMPFOTA_CBOR_U16,   /* uint16_t */
	SMPFOTA_CBOR_U32,   /* uint32_t */
	SMPFOTA_CBOR_I32,   /* int32_t */
	SMPFOTA_CBOR_BOOL,  /* bool; decode also takes an int (non-zero = true) */
	SMPFOTA_CBOR_TSTR,  /* struct smpfota_str */
	SMPFOTA_CBOR_BSTR,  /* struct smpfota_bytes */
	SMPFOTA_CBOR_MAP,   /* nested struct described by `sub` */
	SMPFOTA_CBOR_ARRAY, /* array of nested structs described by `sub` */
};

#define SMPFOTA_CBOR_NO_HAS 0xffffU

/* Field flags */
#define SMPFOTA_CBOR_F_REQUIRED 0x01U /* decode fails if absent (on success responses) */

struct smpfota_cbor_map;

struct smpfota_cbor_field {
	const char *key;
	uint8_t type;
	uint8_t flags;
	uint16_t off;     /* offset of the value in the struct */
	uint16_t has_off; /* offset of its bool has_ flag, or SMPFOTA_CBOR_NO_HAS */
	const struct smpfota_cbor_map *sub; /* MAP, ARRAY */
	/* ARRAY only: element size, capacity, offsets of the size_t count and bool truncated */
	uint16_t elem_size;
	uint8_t max_elems;
	uint16_t count_off;
	uint16_t trunc_off;
};

struct smpfota_cbor_map {
	const struct smpfota_cbor_field *fields;
	uint8_t n_fields;
};

/*
 * Decode one CBOR map (the whole payload) into the struct at out, which the caller zeroed.
 * `extra`, if not NULL, is a second table applied to the same struct (response status keys).
 * *seen gets bit i set for each field i of `map` present at top level, so the caller can
 * decide when top-level required keys matter; nested maps enforce SMPFOTA_CBOR_F_REQUIRED
 * themselves. Returns 0 or SMPFOTA_ERR_PROTO.
 */
int smpfota_cbor_decode_map(const uint8_t *payload, size_t len, const struct smpfota_cbor_map *map,
			    const struct smpfota_cbor_map *extra, void *out, uint32_t *seen);

/* 0 if every SMPFOTA_CBOR_F_REQUIRED field of map has its bit in seen, else SMPFOTA_ERR_PROTO. */
int smpfota_cbor_check_required(const struct smpfota_cbor_map *map, uint32_t seen);

/* Encode the struct at in as one CBOR map into buf. Returns bytes written or SMPFOTA_ERR_NOSPC. */
int smpfota_cbor_encode_map(uint8_t *buf, size_t size, const struct smpfota_cbor_map *map,
			    const void *in);

#endif
