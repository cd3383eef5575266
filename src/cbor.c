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

static const struct smpfota_cbor_field *find_field(const struct smpfota_cbor_map *map,
						   const struct zcbor_string *key, int *index)
{
	for (int i = 0; map != NULL && i < map->n_fields; i++) {
		const char *k = map->fields[i].key;
		if (strlen(k) == key->len && memcmp(k, key->value, key->len) == 0) {
			*index = i;
			return &map->fields[i];
		}
	}
	return NULL;
}

static bool decode_fields(zcbor_state_t *zs, const struct smpfota_cbor_map *map,
			  const struct smpfota_cbor_map *extra, void *base, unsigned depth,
			  uint32_t *seen);

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

static bool decode_array(zcbor_state_t *zs, const struct smpfota_cbor_field *f, void *base,
			 unsigned depth)
{
	size_t *count = AT(base, f->count_off);
	bool *truncated = AT(base, f->trunc_off);
	uint8_t *elems = AT(base, f->off);

	if (depth == 0 || !zcbor_list_start_decode(zs)) {
		return false;
	}
	/* A repeated key replaces the earlier array rather than appending to it. */
	*count = 0;
	*truncated = false;
	memset(elems, 0, (size_t)f->elem_size * f->max_elems);
	while (!zcbor_array_at_end(zs)) {
		if (*count >= f->max_elems) {
			*truncated = true;
			if (!skip_value(zs, depth - 1)) {
				return false;
			}
			continue;
		}
		uint32_t sub_seen = 0;
		void *elem = elems + (size_t)f->elem_size * *count;
		if (!decode_fields(zs, f->sub, NULL, elem, depth - 1, &sub_seen) ||
		    smpfota_cbor_check_required(f->sub, sub_seen) != 0) {
			return false;
		}
		(*count)++;
	}
	return zcbor_list_end_decode(zs);
}

static bool decode_field(zcbor_state_t *zs, const struct smpfota_cbor_field *f, void *base,
			 unsigned depth)
{
	void *p = AT(base, f->off);
	struct zcbor_string s;
	uint32_t u32;
	uint32_t sub_seen = 0;

	switch (f->type) {
	case SMPFOTA_CBOR_U16:
		if (!zcbor_uint32_decode(zs, &u32) || u32 > UINT16_MAX) {
			return false;
		}
		*(uint16_t *)p = (uint16_t)u32;
		break;
	case SMPFOTA_CBOR_U32:
		if (!zcbor_uint32_decode(zs, p)) {
			return false;
		}
		break;
	case SMPFOTA_CBOR_I32:
		if (!zcbor_int32_decode(zs, p)) {
			return false;
		}
		break;
	case SMPFOTA_CBOR_BOOL:
		if (!decode_bool(zs, p)) {
			return false;
		}
		break;
	case SMPFOTA_CBOR_TSTR:
	case SMPFOTA_CBOR_BSTR:
		if (!(f->type == SMPFOTA_CBOR_TSTR ? zcbor_tstr_decode(zs, &s)
						   : zcbor_bstr_decode(zs, &s))) {
			return false;
		}
		/* struct smpfota_str and smpfota_bytes share this layout. */
		((struct smpfota_bytes *)p)->ptr = s.value;
		((struct smpfota_bytes *)p)->len = s.len;
		break;
	case SMPFOTA_CBOR_MAP:
		if (depth == 0) {
			return false;
		}
		memset(p, 0, f->elem_size);
		if (!decode_fields(zs, f->sub, NULL, p, depth, &sub_seen) ||
		    smpfota_cbor_check_required(f->sub, sub_seen) != 0) {
			return false;
		}
		break;
	case SMPFOTA_CBOR_ARRAY:
		if (!decode_array(zs, f, base, depth)) {
			return false;
		}
		break;
	default:
		return false;
	}
	if (f->has_off != SMPFOTA_CBOR_NO_HAS) {
		*(bool *)AT(base, f->has_off) = true;
	}
	return true;
}

static bool decode_fields(zcbor_state_t *zs, const struct smpfota_cbor_map *map,
			  const struct smpfota_cbor_map *extra, void *base, unsigned depth,
			  uint32_t *seen)
{
	uint8_t major;

	if (depth == 0 || !peek_major(zs, &major) || major != ZCBOR_MAJOR_TYPE_MAP ||
	    !zcbor_map_start_decode(zs)) {
		return false;
	}
	while (!zcbor_array_at_end(zs)) {
		const struct smpfota_cbor_field *f = NULL;
		int index = -1;
		int extra_index;
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
				f = find_field(extra, &key, &extra_index);
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
		if (index >= 0 && index < 32) {
			*seen |= (uint32_t)1 << index;
		}
	}
	return zcbor_map_end_decode(zs);
}

int smpfota_cbor_decode_map(const uint8_t *payload, size_t len, const struct smpfota_cbor_map *map,
			    const struct smpfota_cbor_map *extra, void *out, uint32_t *seen)
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

int smpfota_cbor_check_required(const struct smpfota_cbor_map *map, uint32_t seen)
{
	for (int i = 0; i < map->n_fields && i < 32; i++) {
		if ((map->fields[i].flags & SMPFOTA_CBOR_F_REQUIRED) && !(seen & ((uint32_t)1 << i))) {
			return SMPFOTA_ERR_PROTO;
		}
	}
	return 0;
}

static bool field_present(const struct smpfota_cbor_field *f, const void *base)
{
	return f->has_off == SMPFOTA_CBOR_NO_HAS || *(const bool *)AT_C(base, f->has_off);
}

static bool encode_fields(zcbor_state_t *zs, const struct smpfota_cbor_map *map, const void *base);

static bool encode_field(zcbor_state_t *zs, const struct smpfota_cbor_field *f, const void *base)
{
	const void *p = AT_C(base, f->off);
	const struct smpfota_bytes *b = p;

	switch (f->type) {
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
		return f->type == SMPFOTA_CBOR_TSTR ? zcbor_tstr_encode_ptr(zs, ptr, b->len)
						    : zcbor_bstr_encode_ptr(zs, ptr, b->len);
	}
	case SMPFOTA_CBOR_MAP:
		return encode_fields(zs, f->sub, p);
	case SMPFOTA_CBOR_ARRAY: {
		size_t n = *(const size_t *)AT_C(base, f->count_off);
		if (n > f->max_elems) {
			n = f->max_elems;
		}
		if (!zcbor_list_start_encode(zs, n)) {
			return false;
		}
		for (size_t i = 0; i < n; i++) {
			if (!encode_fields(zs, f->sub, (const uint8_t *)p + (size_t)f->elem_size * i)) {
				return false;
			}
		}
		return zcbor_list_end_encode(zs, n);
	}
	default:
		return false;
	}
}

static bool encode_fields(zcbor_state_t *zs, const struct smpfota_cbor_map *map, const void *base)
{
	size_t n = 0;

	for (int i = 0; i < map->n_fields; i++) {
		n += field_present(&map->fields[i], base);
	}
	if (!zcbor_map_start_encode(zs, n)) {
		return false;
	}
	for (int i = 0; i < map->n_fields; i++) {
		const struct smpfota_cbor_field *f = &map->fields[i];
		if (!field_present(f, base)) {
			continue;
		}
		if (!zcbor_tstr_encode_ptr(zs, f->key, strlen(f->key)) || !encode_field(zs, f, base)) {
			return false;
		}
	}
	return zcbor_map_end_encode(zs, n);
}

int smpfota_cbor_encode_map(uint8_t *buf, size_t size, const struct smpfota_cbor_map *map,
			    const void *in)
{
	zcbor_state_t zs[CBOR_N_STATES];

	zcbor_new_encode_state(zs, CBOR_N_STATES, buf, size, 0);
	if (!encode_fields(zs, map, in)) {
		return SMPFOTA_ERR_NOSPC;
	}
	return (int)(zs->payload - buf);
}
