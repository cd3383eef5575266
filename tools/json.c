/* Tiny streaming JSON writer; see json.h. */
#include "json.h"

#include <string.h>

void json_init(struct json_writer *w, FILE *f, int indent)
{
	*w = (struct json_writer){.f = f, .indent = indent};
}

static void newline_indent(struct json_writer *w)
{
	if (w->indent > 0) {
		fprintf(w->f, "\n%*s", w->depth * w->indent, "");
	}
}

/* Comma and layout before an array element, an object member, or the top-level value. */
static void begin_item(struct json_writer *w)
{
	if (w->has_items[w->depth]) {
		fputc(',', w->f);
	}
	if (w->depth > 0) {
		newline_indent(w);
	}
	w->has_items[w->depth] = true;
}

static void before_value(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	/* In an object a key must come first; at top level only one value is allowed. */
	if ((w->depth > 0 && w->is_object[w->depth]) || (w->depth == 0 && w->has_items[0])) {
		w->misuse = true;
	}
	begin_item(w);
}

static void begin(struct json_writer *w, bool object)
{
	before_value(w);
	if (w->depth + 1 >= JSON_MAX_DEPTH) {
		w->misuse = true;
		return;
	}
	fputc(object ? '{' : '[', w->f);
	w->depth++;
	w->has_items[w->depth] = false;
	w->is_object[w->depth] = object;
}

static void end(struct json_writer *w, bool object)
{
	if (w->depth == 0 || w->is_object[w->depth] != object || w->after_key) {
		w->misuse = true;
		return;
	}
	bool had_items = w->has_items[w->depth];
	w->depth--;
	if (had_items) {
		newline_indent(w);
	}
	fputc(object ? '}' : ']', w->f);
}

void json_begin_object(struct json_writer *w)
{
	begin(w, true);
}

void json_end_object(struct json_writer *w)
{
	end(w, true);
}

void json_begin_array(struct json_writer *w)
{
	begin(w, false);
}

void json_end_array(struct json_writer *w)
{
	end(w, false);
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, surrogates), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi) {
		return 0;
	}
	for (size_t i = 2; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			return 0;
		}
	}
	return len;
}

static void write_string(struct json_writer *w, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	fputc('"', w->f);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c >= 0x80) {
			size_t len = utf8_len(p + i, n - i);
			if (len) {
				fwrite(p + i, 1, len, w->f);
				i += len;
			} else {
				fputs("\\ufffd", w->f);
				i++;
			}
			continue;
		}
		switch (c) {
		case '"':
			fputs("\\\"", w->f);
			break;
		case '\\':
			fputs("\\\\", w->f);
			break;
		case '\b':
			fputs("\\b", w->f);
			break;
		case '\f':
			fputs("\\f", w->f);
			break;
		case '\n':
			fputs("\\n", w->f);
			break;
		case '\r':
			fputs("\\r", w->f);
			break;
		case '\t':
			fputs("\\t", w->f);
			break;
		default:
			if (c < 0x20) {
				fprintf(w->f, "\\u%04x", c);
			} else {
				fputc(c, w->f);
			}
		}
		i++;
	}
	fputc('"', w->f);
}

void json_key(struct json_writer *w, const char *key)
{
	if (w->depth == 0 || !w->is_object[w->depth] || w->after_key) {
		w->misuse = true;
	}
	begin_item(w);
	write_string(w, key, strlen(key));
	fputs(w->indent > 0 ? ": " : ":", w->f);
	w->after_key = true;
}

void json_string_n(struct json_writer *w, const char *s, size_t n)
{
	before_value(w);
	write_string(w, s, n);
}

void json_string(struct json_writer *w, const char *s)
{
	if (!s) {
		json_null(w);
		return;
	}
	json_string_n(w, s, strlen(s));
}

void json_int(struct json_writer *w, long long v)
{
	before_value(w);
	fprintf(w->f, "%lld", v);
}

void json_uint(struct json_writer *w, unsigned long long v)
{
	before_value(w);
	fprintf(w->f, "%llu", v);
}

void json_bool(struct json_writer *w, bool v)
{
	before_value(w);
	fputs(v ? "true" : "false", w->f);
}

void json_null(struct json_writer *w)
{
	before_value(w);
	fputs("null", w->f);
}

void json_hex(struct json_writer *w, const uint8_t *bytes, size_t n)
{
	before_value(w);
	fputc('"', w->f);
	for (size_t i = 0; i < n; i++) {
		fprintf(w->f, "%02x", bytes[i]);
	}
	fputc('"', w->f);
}

int json_finish(struct json_writer *w)
{
	if (w->misuse || w->depth != 0 || w->after_key || !w->has_items[0]) {
		return -1;
	}
	fputc('\n', w->f);
	return fflush(w->f) || ferror(w->f) ? -1 : 0;
}
