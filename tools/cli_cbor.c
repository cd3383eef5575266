/* CBOR helpers of the host-side extra groups, on zcbor's decoder (cli_cbor.h). */
#include <stdio.h>
#include <string.h>

#include "cli_cbor.h"
#include "zcbor_decode.h"

/* Nesting the walkers follow: deeper answers are refused as malformed. */
#define DEPTH 12

/* Past one item; maps and lists walked (zcbor_any_skip does not take indefinite-length ones,
 * which Zephyr sends). */
static bool skip(zcbor_state_t *zs, int depth)
{
	if (zs->payload >= zs->payload_end) {
		return false;
	}
	int major = ZCBOR_MAJOR_TYPE(*zs->payload);
	if (major != ZCBOR_MAJOR_TYPE_LIST && major != ZCBOR_MAJOR_TYPE_MAP) {
		return zcbor_any_skip(zs, NULL);
	}
	bool map = major == ZCBOR_MAJOR_TYPE_MAP;
	if (depth == 0 || !(map ? zcbor_map_start_decode(zs) : zcbor_list_start_decode(zs))) {
		return false;
	}
	while (!zcbor_array_at_end(zs)) {
		if (!skip(zs, depth - 1)) {
			return false;
		}
	}
	return map ? zcbor_map_end_decode(zs) : zcbor_list_end_decode(zs);
}

static bool read_val(zcbor_state_t *zs, struct cbor_val *v)
{
	memset(v, 0, sizeof(*v));
	if (zs->payload >= zs->payload_end) {
		return false;
	}
	const uint8_t *start = zs->payload;
	v->type = ZCBOR_MAJOR_TYPE(*start);
	bool ok;
	struct zcbor_string s;
	switch (v->type) {
	case ZCBOR_MAJOR_TYPE_PINT:
	case ZCBOR_MAJOR_TYPE_NINT:
		ok = zcbor_int64_decode(zs, &v->i);
		break;
	case ZCBOR_MAJOR_TYPE_BSTR:
	case ZCBOR_MAJOR_TYPE_TSTR:
		ok = v->type == ZCBOR_MAJOR_TYPE_BSTR ? zcbor_bstr_decode(zs, &s)
						      : zcbor_tstr_decode(zs, &s);
		v->str = s.value;
		v->len = s.len;
		break;
	case ZCBOR_MAJOR_TYPE_SIMPLE: {
		bool b;
		if (zcbor_bool_decode(zs, &b)) {
			v->is_bool = true;
			v->i = b;
			ok = true;
		} else {
			ok = zcbor_any_skip(zs, NULL);
		}
		break;
	}
	default:
		ok = skip(zs, DEPTH);
		break;
	}
	v->item = start;
	v->item_len = (size_t)(zs->payload - start);
	return ok;
}

static bool walk_map(const uint8_t *p, size_t len, cbor_entry_fn fn, void *user, bool list)
{
	ZCBOR_STATE_D(zs, DEPTH, p, len, 1, 0);
	zs->constant_state->enforce_canonical = false; /* peers send indefinite-length maps */
	if (!(list ? zcbor_list_start_decode(zs) : zcbor_map_start_decode(zs))) {
		return false;
	}
	while (!zcbor_array_at_end(zs)) {
		struct cbor_val k, v;
		if (!list) {
			if (!read_val(zs, &k)) {
				return false;
			}
		}
		if (!read_val(zs, &v)) {
			return false;
		}
		if (list) {
			fn(user, NULL, 0, &v);
		} else if (k.type == ZCBOR_MAJOR_TYPE_TSTR) {
			fn(user, (const char *)k.str, k.len, &v);
		}
	}
	return list ? zcbor_list_end_decode(zs) : zcbor_map_end_decode(zs);
}

bool cbor_each(const struct cbor_val *map, cbor_entry_fn fn, void *user)
{
	return map->type == ZCBOR_MAJOR_TYPE_MAP &&
	       walk_map(map->item, map->item_len, fn, user, false);
}

bool cbor_each_elem(const struct cbor_val *list, cbor_entry_fn fn, void *user)
{
	return list->type == ZCBOR_MAJOR_TYPE_LIST &&
	       walk_map(list->item, list->item_len, fn, user, true);
}

struct find {
	const char *key;
	struct cbor_val *out;
	bool found;
};

static void on_find(void *user, const char *key, size_t key_len, const struct cbor_val *v)
{
	struct find *f = user;
	if (!f->found && strlen(f->key) == key_len && !memcmp(f->key, key, key_len)) {
		*f->out = *v;
		f->found = true;
	}
}

bool cbor_find(const uint8_t *payload, size_t len, const char *key, struct cbor_val *out)
{
	struct find f = {key, out, false};
	return walk_map(payload, len, on_find, &f, false) && f.found;
}

bool cbor_find_in(const struct cbor_val *map, const char *key, struct cbor_val *out)
{
	struct find f = {key, out, false};
	return cbor_each(map, on_find, &f) && f.found;
}

static bool to_json(struct json_writer *w, zcbor_state_t *zs, int depth)
{
	if (depth > DEPTH || zs->payload >= zs->payload_end) {
		return false;
	}
	int type = ZCBOR_MAJOR_TYPE(*zs->payload);
	if (type == ZCBOR_MAJOR_TYPE_MAP || type == ZCBOR_MAJOR_TYPE_LIST) {
		bool map = type == ZCBOR_MAJOR_TYPE_MAP;
		if (!(map ? zcbor_map_start_decode(zs) : zcbor_list_start_decode(zs))) {
			return false;
		}
		map ? json_begin_object(w) : json_begin_array(w);
		while (!zcbor_array_at_end(zs)) {
			if (map) {
				struct cbor_val k;
				if (!read_val(zs, &k)) {
					return false;
				}
				char key[64];
				if (k.type == ZCBOR_MAJOR_TYPE_TSTR) {
					snprintf(key, sizeof(key), "%.*s", (int)k.len,
						 (const char *)k.str);
				} else {
					snprintf(key, sizeof(key), "%lld", (long long)k.i);
				}
				json_key(w, key);
			}
			if (!to_json(w, zs, depth + 1)) {
				return false;
			}
		}
		map ? json_end_object(w) : json_end_array(w);
		return map ? zcbor_map_end_decode(zs) : zcbor_list_end_decode(zs);
	}
	struct cbor_val v;
	if (type == ZCBOR_MAJOR_TYPE_SIMPLE) {
		double d;
		if (zcbor_float_decode(zs, &d)) {
			json_int(w, (long long)d);
			return true;
		}
		if (zcbor_nil_expect(zs, NULL)) {
			json_null(w);
			return true;
		}
	}
	if (!read_val(zs, &v)) {
		return false;
	}
	switch (v.type) {
	case ZCBOR_MAJOR_TYPE_PINT:
	case ZCBOR_MAJOR_TYPE_NINT:
		json_int(w, v.i);
		break;
	case ZCBOR_MAJOR_TYPE_TSTR:
		json_string_n(w, (const char *)v.str, v.len);
		break;
	case ZCBOR_MAJOR_TYPE_BSTR:
		json_hex(w, v.str, v.len);
		break;
	default:
		if (v.is_bool) {
			json_bool(w, v.i != 0);
		} else {
			json_null(w);
		}
		break;
	}
	return true;
}

bool cbor_to_json(struct json_writer *w, const uint8_t *payload, size_t len)
{
	ZCBOR_STATE_D(zs, DEPTH + 2, payload, len, 1, 0);
	zs->constant_state->enforce_canonical = false; /* peers send indefinite-length maps */
	return to_json(w, zs, 0);
}

void cbor_status(const uint8_t *payload, size_t len, int32_t *rc, bool *has_err, uint16_t *group,
		 int32_t *err_rc, const uint8_t **rsn, size_t *rsn_len)
{
	struct cbor_val v, e;
	*rc = 0;
	*has_err = false;
	*group = 0;
	*err_rc = 0;
	*rsn = NULL;
	*rsn_len = 0;
	if (cbor_find(payload, len, "rc", &v) && v.type <= ZCBOR_MAJOR_TYPE_NINT) {
		*rc = (int32_t)v.i;
	}
	if (cbor_find(payload, len, "rsn", &v) && v.type == ZCBOR_MAJOR_TYPE_TSTR) {
		*rsn = v.str;
		*rsn_len = v.len;
	}
	if (cbor_find(payload, len, "err", &v) && v.type == ZCBOR_MAJOR_TYPE_MAP) {
		*has_err = true;
		if (cbor_find_in(&v, "group", &e)) {
			*group = (uint16_t)e.i;
		}
		if (cbor_find_in(&v, "rc", &e)) {
			*err_rc = (int32_t)e.i;
		}
	}
}
