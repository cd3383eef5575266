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

#define SMPFOTA_CBOR_NO_HAS 0xffU

/* Field flags (readable tables) */
#define SMPFOTA_CBOR_F_REQUIRED 0x01U /* decode fails if absent (on success responses) */

/* ---- the schema the codec walks ---------------------------------------------------------
 * One array of 6-byte items holds the fields of every map of every message (smp.c builds it
 * from its field lists); a map is a run of it. A MAP or ARRAY field names its entry in a
 * second, small array: where the nested map is and, for an array, where its count lives. */

/* A run of schema items: [first, first + n). */
struct smpfota_cbor_range {
	uint8_t first;
	uint8_t n;
};

#define SMPFOTA_CBOR_KIND_TYPE 0x0fU     /* enum smpfota_cbor_type */
#define SMPFOTA_CBOR_KIND_REQUIRED 0x80U /* as SMPFOTA_CBOR_F_REQUIRED */

struct smpfota_cbor_item {
	uint16_t key;    /* offset of the key in smpfota_smp_keys */
	uint8_t off;     /* offset of the value in the struct */
	uint8_t has_off; /* offset of its bool has_ flag, or SMPFOTA_CBOR_NO_HAS */
	uint8_t kind;    /* type | SMPFOTA_CBOR_KIND_REQUIRED */
	uint8_t sub;     /* MAP, ARRAY: index in smpfota_smp_subs[] */
};

struct smpfota_cbor_sub {
	struct smpfota_cbor_range map;
	uint8_t elem_size; /* MAP: the nested struct; ARRAY: one element */
	uint8_t max_elems; /* ARRAY only: capacity, offsets of the size_t count and the bool */
	uint8_t count_off; /* truncated in the struct holding the array */
	uint8_t trunc_off;
};

/* The schema (smp.c). */
extern const char smpfota_smp_keys[];
extern const struct smpfota_cbor_item smpfota_smp_schema[];
extern const struct smpfota_cbor_sub smpfota_smp_subs[];

/* ---- readable tables, for host tools (smp_internal.h): the same lists, one struct a field,
 * pointers to nested maps. The codec does not use them. */

struct smpfota_cbor_map;

struct smpfota_cbor_field {
	const char *key;
	const struct smpfota_cbor_map *sub; /* MAP, ARRAY */
	uint8_t off;                        /* offset of the value in the struct */
	uint8_t has_off; /* offset of its bool has_ flag, or SMPFOTA_CBOR_NO_HAS */
	uint8_t type;
	uint8_t flags;
	/* MAP and ARRAY: element size. ARRAY only: capacity, offsets of the size_t count and
	 * the bool truncated. */
	uint8_t elem_size;
	uint8_t max_elems;
	uint8_t count_off;
	uint8_t trunc_off;
};

struct smpfota_cbor_map {
	const struct smpfota_cbor_field *fields;
	uint8_t n_fields;
};

/*
 * Decode one CBOR map (the whole payload) into the struct at out, which the caller zeroed.
 * `extra` (n may be 0) is a second map applied to the same struct (response status keys).
 * *seen gets bit i set for each field i of `map` (counted from map.first) present at top
 * level, so the caller can decide when top-level required keys matter; nested maps enforce
 * required keys themselves. Returns 0 or SMPFOTA_ERR_PROTO.
 */
int smpfota_cbor_decode_map(const uint8_t *payload, size_t len, struct smpfota_cbor_range map,
			    struct smpfota_cbor_range extra, void *out, uint32_t *seen);

/* 0 if every required field of map has its bit in seen, else SMPFOTA_ERR_PROTO. */
int smpfota_cbor_check_required(struct smpfota_cbor_range map, uint32_t seen);

/* Encode the struct at in as one CBOR map into buf. Returns bytes written or SMPFOTA_ERR_NOSPC. */
int smpfota_cbor_encode_map(uint8_t *buf, size_t size, struct smpfota_cbor_range map,
			    const void *in);

#endif
