/*
 * Table-driven CBOR maps on zcbor. Decoding tolerates what real peers send (indefinite
 * lengths, any key order, unknown keys, tags) but bounds nesting, because zcbor's own
 * zcbor_any_skip() recurses once per nesting level and a device stack is small.
 */
#include "cbor.h"

#include <string.h>
#include <zcbor_decode.h>
#include <zcbor_encode.h>

#include "smpfota/smp.h"

/* One zcbor backup per open container, plus the working state and the constant state. */
#define CBOR_N_STATES (SMPFOTA_SMP_MAX_DEPTH + 2)

#define AT(base, off) ((void *)((uint8_t *)(base) + (off)))
#define AT_C(base, off) ((const void *)((const uint8_t *)(base) + (off)))

static bool peek_major(const zcbor_state_t *zs, uint8_t *major)
{
	if (zs->payload >= zs->payload_end) {
		return false;
	}
	*major = (uint8_t)ZCBOR_MAJOR_TYPE(*zs->payload);
	return true;
}

/* Skip any value; `depth` containers may still be opened. */
static bool skip_value(zcbor_state_t *zs, unsigned depth)
{
	uint8_t major;

	while (peek_major(zs, &major) && major == ZCBOR_MAJOR_TYPE_TAG) {
		uint32_t tag;
		if (!zcbor_tag_decode(zs, &tag)) {
			return false;
		}
	}
	if (!peek_major(zs, &major)) {
		return false;
	}
	if (major != ZCBOR_MAJOR_TYPE_LIST && major != ZCBOR_MAJOR_TYPE_MAP) {
		/* Scalars and strings: zcbor_any_skip does not recurse for these. */
		return zcbor_any_skip(zs, NULL);
	}
	if (depth == 0) {
		return false;
	}
	bool is_map = (major == ZCBOR_MAJOR_TYPE_MAP);
	if (!(is_map ? zcbor_map_start_decode(zs) : zcbor_list_start_decode(zs))) {
		return false;
	}
	while (!zcbor_array_at_end(zs)) {
		if (!skip_value(zs, depth - 1)) {
			return false;
		}
	}
	return is_map ? zcbor_map_end_decode(zs) : zcbor_list_end_decode(zs);
}

#define TYPE(it) ((it)->kind & SMPFOTA_CBOR_KIND_TYPE)

#define FOR_EACH(it, map) \
	for (const struct smpfota_cbor_item *it = &smpfota_smp_schema[(map).first], \
					    *it##_end = it + (map).n; \
	     it < it##_end; it++)

/* The field of map named key, and its index in map (from 0). */
static const struct smpfota_cbor_item *find_field(struct smpfota_cbor_range map,
						  const struct zcbor_string *key, unsigned *index)
{
	const struct smpfota_cbor_item *it = &smpfota_smp_schema[map.first];
	for (unsigned i = 0; i < map.n; i++, it++) {
		const char *k = &smpfota_smp_keys[it->key];
		if (strlen(k) == key->len && memcmp(k, key->value, key->len) == 0) {
			*index = i;
			return it;
		}
	}
	return NULL;
}

static bool decode_fields(zcbor_state_t *zs, struct smpfota_cbor_range map,
			  struct smpfota_cbor_range extra, void *base, unsigned depth,
			  uint32_t *seen);

/* A nested map into the zeroed struct at base, with its required keys. */
static bool decode_struct(zcbor_state_t *zs, struct smpfota_cbor_range map, void *base,
			  unsigned depth)
{
	uint32_t seen = 0;
	return decode_fields(zs, map, (struct smpfota_cbor_range){0, 0}, base, depth, &seen) &&
	       smpfota_cbor_check_required(map, seen) == 0;
}

static bool decode_bool(zcbor_state_t *zs, bool *out)
{
	uint8_t major;
	if (!peek_major(zs, &major)) {
		return false;
	}
	if (major == ZCBOR_MAJOR_TYPE_PINT) {
		/* Zephyr's docs type reset "force" as an int, its code as a bool: take both. */
		uint64_t v;
		if (!zcbor_uint64_decode(zs, &v)) {
			return false;
		}
		*out = (v != 0);
		return true;
	}
	return zcbor_bool_decode(zs, out);
}

static bool decode_array(zcbor_state_t *zs, const struct smpfota_cbor_sub *x, void *base,
			 uint8_t *elems, unsigned depth)
{
	size_t *count = AT(base, x->count_off);
	bool *truncated = AT(base, x->trunc_off);

	if (!zcbor_list_start_decode(zs)) {
		return false;
	}
	/* A repeated key replaces the earlier array rather than appending to it. */
	*count = 0;
	*truncated = false;
	memset(elems, 0, (size_t)x->elem_size * x->max_elems);
	while (!zcbor_array_at_end(zs)) {
		if (*count >= x->max_elems) {
			*truncated = true;
			if (!skip_value(zs, depth - 1)) {
				return false;
			}
			continue;
		}
		if (!decode_struct(zs, x->map, elems + (size_t)x->elem_size * *count, depth - 1)) {
			return false;
		}
		(*count)++;
	}
	return zcbor_list_end_decode(zs);
}

static bool decode_field(zcbor_state_t *zs, const struct smpfota_cbor_item *it, void *base,
			 unsigned depth)
{
	void *p = AT(base, it->off);
	const struct smpfota_cbor_sub *x = &smpfota_smp_subs[it->sub]; /* MAP, ARRAY */
	struct zcbor_string s;
	uint32_t u32;
	bool ok;

	switch (TYPE(it)) {
	case SMPFOTA_CBOR_U16:
		ok = zcbor_uint32_decode(zs, &u32) && u32 <= UINT16_MAX;
		if (ok) {
			*(uint16_t *)p = (uint16_t)u32;
		}
		break;
	case SMPFOTA_CBOR_U32:
		ok = zcbor_uint32_decode(zs, p);
		break;
	case SMPFOTA_CBOR_I32:
		ok = zcbor_int32_decode(zs, p);
		break;
	case SMPFOTA_CBOR_BOOL:
		ok = decode_bool(zs, p);
		break;
	case SMPFOTA_CBOR_TSTR:
	case SMPFOTA_CBOR_BSTR:
		ok = TYPE(it) == SMPFOTA_CBOR_TSTR ? zcbor_tstr_decode(zs, &s)
						   : zcbor_bstr_decode(zs, &s);
		if (ok) {
			/* struct smpfota_str and smpfota_bytes share this layout. */
			((struct smpfota_bytes *)p)->ptr = s.value;
			((struct smpfota_bytes *)p)->len = s.len;
		}
		break;
	case SMPFOTA_CBOR_MAP:
		memset(p, 0, x->elem_size);
		ok = depth > 0 && decode_struct(zs, x->map, p, depth);
		break;
	default: /* SMPFOTA_CBOR_ARRAY */
		ok = depth > 0 && decode_array(zs, x, base, p, depth);
		break;
	}
	if (ok && it->has_off != SMPFOTA_CBOR_NO_HAS) {
		*(bool *)AT(base, it->has_off) = true;
	}
	return ok;
}

static bool decode_fields(zcbor_state_t *zs, struct smpfota_cbor_range map,
			  struct smpfota_cbor_range extra, void *base, unsigned depth,
			  uint32_t *seen)
{
	uint8_t major;

	if (depth == 0 || !peek_major(zs, &major) || major != ZCBOR_MAJOR_TYPE_MAP ||
	    !zcbor_map_start_decode(zs)) {
		return false;
	}
	while (!zcbor_array_at_end(zs)) {
		const struct smpfota_cbor_item *f = NULL;
		unsigned index = 32;
		struct zcbor_string key;

		if (!peek_major(zs, &major)) {
			return false;
		}
		if (major == ZCBOR_MAJOR_TYPE_TSTR) {
			if (!zcbor_tstr_decode(zs, &key)) {
				return false;
			}
			f = find_field(map, &key, &index);
			if (f == NULL) {
				f = find_field(extra, &key, &index);
				index = 32;
			}
		} else if (!skip_value(zs, depth - 1)) { /* non-text key: ignore the pair */
			return false;
		}
		if (f == NULL) {
			if (!skip_value(zs, depth - 1)) {
				return false;
			}
			continue;
		}
		if (!decode_field(zs, f, base, depth - 1)) {
			return false;
		}
		if (index < 32) {
			*seen |= (uint32_t)1 << index;
		}
	}
	return zcbor_map_end_decode(zs);
}

int smpfota_cbor_decode_map(const uint8_t *payload, size_t len, struct smpfota_cbor_range map,
			    struct smpfota_cbor_range extra, void *out, uint32_t *seen)
{
	zcbor_state_t zs[CBOR_N_STATES];

	*seen = 0;
	zcbor_new_decode_state(zs, CBOR_N_STATES, payload, len, 1, NULL, 0);
	/* zcbor is built canonical for encoding; decoding must still take indefinite maps. */
	zs->constant_state->enforce_canonical = false;
	if (!decode_fields(zs, map, extra, out, SMPFOTA_SMP_MAX_DEPTH, seen)) {
		return SMPFOTA_ERR_PROTO;
	}
	if (zs->payload != payload + len) {
		return SMPFOTA_ERR_PROTO; /* trailing bytes after the map */
	}
	return 0;
}

int smpfota_cbor_check_required(struct smpfota_cbor_range map, uint32_t seen)
{
	for (unsigned i = 0; i < map.n && i < 32; i++) {
		if ((smpfota_smp_schema[map.first + i].kind & SMPFOTA_CBOR_KIND_REQUIRED) &&
		    !(seen & ((uint32_t)1 << i))) {
			return SMPFOTA_ERR_PROTO;
		}
	}
	return 0;
}

static bool field_present(const struct smpfota_cbor_item *it, const void *base)
{
	return it->has_off == SMPFOTA_CBOR_NO_HAS || *(const bool *)AT_C(base, it->has_off);
}

static bool encode_fields(zcbor_state_t *zs, struct smpfota_cbor_range map, const void *base);

static bool encode_field(zcbor_state_t *zs, const struct smpfota_cbor_item *it, const void *base)
{
	const void *p = AT_C(base, it->off);
	const struct smpfota_bytes *b = p;
	const struct smpfota_cbor_sub *x = &smpfota_smp_subs[it->sub]; /* MAP, ARRAY */

	switch (TYPE(it)) {
	case SMPFOTA_CBOR_U16:
		return zcbor_uint32_put(zs, *(const uint16_t *)p);
	case SMPFOTA_CBOR_U32:
		return zcbor_uint32_put(zs, *(const uint32_t *)p);
	case SMPFOTA_CBOR_I32:
		return zcbor_int32_put(zs, *(const int32_t *)p);
	case SMPFOTA_CBOR_BOOL:
		return zcbor_bool_put(zs, *(const bool *)p);
	case SMPFOTA_CBOR_TSTR:
	case SMPFOTA_CBOR_BSTR: {
		/* zcbor memcpy()s from ptr even for 0 bytes; never hand it NULL. */
		const char *ptr = b->ptr ? (const char *)b->ptr : "";
		return TYPE(it) == SMPFOTA_CBOR_TSTR ? zcbor_tstr_encode_ptr(zs, ptr, b->len)
						     : zcbor_bstr_encode_ptr(zs, ptr, b->len);
	}
	case SMPFOTA_CBOR_MAP:
		return encode_fields(zs, x->map, p);
	default: { /* SMPFOTA_CBOR_ARRAY */
		size_t n = *(const size_t *)AT_C(base, x->count_off);
		if (n > x->max_elems) {
			n = x->max_elems;
		}
		if (!zcbor_list_start_encode(zs, n)) {
			return false;
		}
		for (size_t i = 0; i < n; i++) {
			if (!encode_fields(zs, x->map,
					   (const uint8_t *)p + (size_t)x->elem_size * i)) {
				return false;
			}
		}
		return zcbor_list_end_encode(zs, n);
	}
	}
}

static bool encode_fields(zcbor_state_t *zs, struct smpfota_cbor_range map, const void *base)
{
	/* With ZCBOR_CANONICAL zcbor writes the map's real length at the end; it needs only an
	 * upper bound here (every field present). */
	if (!zcbor_map_start_encode(zs, map.n)) {
		return false;
	}
	FOR_EACH(it, map)
	{
		const char *k = &smpfota_smp_keys[it->key];
		if (field_present(it, base) &&
		    (!zcbor_tstr_encode_ptr(zs, k, strlen(k)) || !encode_field(zs, it, base))) {
			return false;
		}
	}
	return zcbor_map_end_encode(zs, map.n);
}

int smpfota_cbor_encode_map(uint8_t *buf, size_t size, struct smpfota_cbor_range map,
			    const void *in)
{
	zcbor_state_t zs[CBOR_N_STATES];

	zcbor_new_encode_state(zs, CBOR_N_STATES, buf, size, 0);
	if (!encode_fields(zs, map, in)) {
		return SMPFOTA_ERR_NOSPC;
	}
	return (int)(zs->payload - buf);
}
