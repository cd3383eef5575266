/*
 * Tiny streaming JSON writer for the CLI's --json output.
 *
 * The writer tracks nesting and commas; the caller emits values in document order:
 *
 *     struct json_writer w;
 *     json_init(&w, stdout, 2);
 *     json_begin_object(&w);
 *     json_key(&w, "hash");  json_hex(&w, hash, 32);
 *     json_key(&w, "tlvs");  json_begin_array(&w); ... json_end_array(&w);
 *     json_end_object(&w);
 *     return json_finish(&w);   // newline; nonzero on misuse or a write error
 *
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become U+FFFD, so the
 * output is always valid JSON whatever the input (file names, for instance).
 */
#ifndef SMPFOTA_TOOLS_JSON_H
#define SMPFOTA_TOOLS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json_writer {
	FILE *f;
	int indent; /* spaces per level; 0 = one line */
	int depth;
	bool has_items[JSON_MAX_DEPTH]; /* per level: a comma is due before the next item */
	bool is_object[JSON_MAX_DEPTH];
	bool after_key; /* a value must follow */
	bool misuse;    /* calls out of order, or nesting too deep */
};

void json_init(struct json_writer *w, FILE *f, int indent);

void json_begin_object(struct json_writer *w);
void json_end_object(struct json_writer *w);
void json_begin_array(struct json_writer *w);
void json_end_array(struct json_writer *w);

/* Member name inside an object; the next call writes its value. */
void json_key(struct json_writer *w, const char *key);

void json_string(struct json_writer *w, const char *s); /* NULL writes null */
void json_string_n(struct json_writer *w, const char *s, size_t n);
void json_int(struct json_writer *w, long long v);
void json_uint(struct json_writer *w, unsigned long long v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);
void json_hex(struct json_writer *w, const uint8_t *bytes, size_t n); /* "0a1b..." lowercase */

/* End the document with a newline. 0 if it is complete and was written, -1 otherwise. */
int json_finish(struct json_writer *w);

#endif
