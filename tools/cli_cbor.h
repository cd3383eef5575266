/*
 * CBOR for the host-side extra groups (stat, fs, shell, OS taskstat/mpstat/datetime), on
 * zcbor, outside the device library: building request payloads, finding a key in an
 * answer, and turning any answer into JSON.
 */
#ifndef SMPFOTA_TOOLS_CLI_CBOR_H
#define SMPFOTA_TOOLS_CLI_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* A value found in a CBOR map; the pointers point into the payload. */
struct cbor_val {
	int type;  /* ZCBOR_MAJOR_TYPE_*: 0 uint, 1 nint, 2 bstr, 3 tstr, 4 list, 5 map, 7 simple */
	int64_t i; /* ints; bools as 0/1 */
	bool is_bool;
	const uint8_t *str; /* bstr/tstr bytes */
	size_t len;
	const uint8_t *item; /* the encoded item (lists, maps: for walking them) */
	size_t item_len;
};

/* The value of key in the top-level map of payload. false if absent or not a map. */
bool cbor_find(const uint8_t *payload, size_t len, const char *key, struct cbor_val *out);

/* The same in a map given as a cbor_val (type 5). */
bool cbor_find_in(const struct cbor_val *map, const char *key, struct cbor_val *out);

/* Walk a map (type 5): fn(key, value) for each entry with a text key; false if malformed. */
typedef void (*cbor_entry_fn)(void *user, const char *key, size_t key_len,
			      const struct cbor_val *v);
bool cbor_each(const struct cbor_val *map, cbor_entry_fn fn, void *user);

/* Every element of a list (type 4), key NULL. */
bool cbor_each_elem(const struct cbor_val *list, cbor_entry_fn fn, void *user);

/* Write the item at payload as a JSON value. false if it is not well formed CBOR. */
bool cbor_to_json(struct json_writer *w, const uint8_t *payload, size_t len);

/* The SMP status of an answer: v1 "rc", v2 "err" {group, rc}. */
void cbor_status(const uint8_t *payload, size_t len, int32_t *rc, bool *has_err, uint16_t *group,
		 int32_t *err_rc, const uint8_t **rsn, size_t *rsn_len);

#endif
