/*
 * Test helper: the SMP codec on the command line, so that Python tests can check it against
 * the `smp` package (encode here, decode there, and the reverse). Walks the codec's own field
 * tables, so every message kind and field is reachable without per-message code.
 *
 *   smp_codec_tool enc-req MSG VER SEQ [path=value ...]     -> hex frame
 *   smp_codec_tool enc-rsp MSG REQ_HDR_HEX [path=value ...] -> hex frame
 *   smp_codec_tool enc-err REQ_HDR_HEX [path=value ...]     -> hex frame (rc, rsn, err.group, err.rc)
 *   smp_codec_tool dec-req MSG FRAME_HEX                    -> JSON
 *   smp_codec_tool dec-rsp MSG FRAME_HEX                    -> JSON
 *   smp_codec_tool max-data FRAME_SIZE [path=value ...]     -> largest upload data length
 *
 * Paths: "off", "images.1.slot", "err.rc". Values: decimal ints, true/false, text, and hex
 * for byte strings.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smp_internal.h"

static const char *const msg_names[SMPFOTA_MSG_COUNT] = {
	[SMPFOTA_MSG_OS_ECHO] = "os_echo",
	[SMPFOTA_MSG_OS_RESET] = "os_reset",
	[SMPFOTA_MSG_OS_PARAMS] = "os_params",
	[SMPFOTA_MSG_OS_INFO] = "os_info",
	[SMPFOTA_MSG_OS_BOOTLOADER] = "os_bootloader",
	[SMPFOTA_MSG_IMG_STATE_READ] = "img_state_read",
	[SMPFOTA_MSG_IMG_STATE_WRITE] = "img_state_write",
	[SMPFOTA_MSG_IMG_UPLOAD] = "img_upload",
	[SMPFOTA_MSG_IMG_ERASE] = "img_erase",
	[SMPFOTA_MSG_IMG_SLOT_INFO] = "img_slot_info",
};

static _Noreturn void die(const char *what, const char *arg)
{
	fprintf(stderr, "smp_codec_tool: %s: %s\n", what, arg);
	exit(2);
}

static enum smpfota_smp_msg parse_msg(const char *s)
{
	for (int i = 0; i < SMPFOTA_MSG_COUNT; i++) {
		if (!strcmp(s, msg_names[i])) {
			return (enum smpfota_smp_msg)i;
		}
	}
	die("unknown message", s);
}

/* All the tool's memory: one static arena, so nothing leaks (the ASan suite checks). */
static _Alignas(max_align_t) uint8_t arena[1 << 20];
static size_t arena_used;

static void *arena_alloc(size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (n > sizeof(arena) - arena_used) {
		die("out of memory", "arena");
	}
	void *p = arena + arena_used;
	arena_used += n;
	memset(p, 0, n);
	return p;
}

static uint8_t *hex_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	if (n % 2) {
		die("odd hex length", s);
	}
	uint8_t *b = arena_alloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1) {
			die("bad hex", s);
		}
		b[i] = (uint8_t)v;
	}
	*len = n / 2;
	return b;
}

static void hex_print(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		printf("%02x", b[i]);
	}
}

/* ---- setting fields by path ---------------------------------------------------------- */

static const struct smpfota_cbor_field *field_named(const struct smpfota_cbor_map *map,
						    const char *name, size_t len)
{
	for (int i = 0; map && i < map->n_fields; i++) {
		if (strlen(map->fields[i].key) == len && !memcmp(map->fields[i].key, name, len)) {
			return &map->fields[i];
		}
	}
	return NULL;
}

static void set_path(const struct smpfota_cbor_map *map, const struct smpfota_cbor_map *extra,
		     void *base, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq) {
		die("expected path=value", arg);
	}
	const char *val = eq + 1;
	const char *p = arg;
	uint8_t *b = base;

	for (;;) {
		const char *dot = memchr(p, '.', (size_t)(eq - p));
		size_t klen = (size_t)((dot ? dot : eq) - p);
		const struct smpfota_cbor_field *f = field_named(map, p, klen);
		if (!f && extra) {
			f = field_named(extra, p, klen);
		}
		if (!f) {
			die("unknown field", arg);
		}
		extra = NULL;
		if (f->has_off != SMPFOTA_CBOR_NO_HAS) {
			*(bool *)(void *)(b + f->has_off) = true;
		}
		if (f->type == SMPFOTA_CBOR_MAP) {
			b += f->off;
			map = f->sub;
			p = dot + 1;
			continue;
		}
		if (f->type == SMPFOTA_CBOR_ARRAY) {
			char *end;
			unsigned long idx = strtoul(dot + 1, &end, 10);
			if (idx >= f->max_elems) {
				die("index out of range", arg);
			}
			size_t *count = (size_t *)(void *)(b + f->count_off);
			if (*count < idx + 1) {
				*count = idx + 1;
			}
			b += f->off + idx * f->elem_size;
			map = f->sub;
			p = end + 1;
			continue;
		}
		void *v = b + f->off;
		switch (f->type) {
		case SMPFOTA_CBOR_U16:
			*(uint16_t *)v = (uint16_t)strtoul(val, NULL, 0);
			break;
		case SMPFOTA_CBOR_U32:
			*(uint32_t *)v = (uint32_t)strtoul(val, NULL, 0);
			break;
		case SMPFOTA_CBOR_I32:
			*(int32_t *)v = (int32_t)strtol(val, NULL, 0);
			break;
		case SMPFOTA_CBOR_BOOL:
			*(bool *)v = !strcmp(val, "true") || !strcmp(val, "1");
			break;
		case SMPFOTA_CBOR_TSTR:
			((struct smpfota_str *)v)->ptr = val;
			((struct smpfota_str *)v)->len = strlen(val);
			break;
		case SMPFOTA_CBOR_BSTR: {
			size_t n;
			((struct smpfota_bytes *)v)->ptr = hex_decode(val, &n);
			((struct smpfota_bytes *)v)->len = n;
			break;
		}
		default:
			die("bad field type", arg);
		}
		return;
	}
}

/* ---- printing as JSON ---------------------------------------------------------------- */

static void json_str(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			printf("\\%c", c);
		} else if (c < 0x20) {
			printf("\\u%04x", c);
		} else {
			putchar(c);
		}
	}
	putchar('"');
}

static void print_map(const struct smpfota_cbor_map *map, const void *base);

static void print_value(const struct smpfota_cbor_field *f, const uint8_t *b)
{
	const void *v = b + f->off;
	switch (f->type) {
	case SMPFOTA_CBOR_U16:
		printf("%u", *(const uint16_t *)v);
		break;
	case SMPFOTA_CBOR_U32:
		printf("%lu", (unsigned long)*(const uint32_t *)v);
		break;
	case SMPFOTA_CBOR_I32:
		printf("%ld", (long)*(const int32_t *)v);
		break;
	case SMPFOTA_CBOR_BOOL:
		printf("%s", *(const bool *)v ? "true" : "false");
		break;
	case SMPFOTA_CBOR_TSTR:
		json_str(((const struct smpfota_str *)v)->ptr,
			 ((const struct smpfota_str *)v)->len);
		break;
	case SMPFOTA_CBOR_BSTR:
		putchar('"');
		hex_print(((const struct smpfota_bytes *)v)->ptr,
			  ((const struct smpfota_bytes *)v)->len);
		putchar('"');
		break;
	case SMPFOTA_CBOR_MAP:
		print_map(f->sub, v);
		break;
	case SMPFOTA_CBOR_ARRAY: {
		size_t n = *(const size_t *)(const void *)(b + f->count_off);
		putchar('[');
		for (size_t i = 0; i < n; i++) {
			printf(i ? ", " : "");
			print_map(f->sub, (const uint8_t *)v + i * f->elem_size);
		}
		putchar(']');
		if (*(const bool *)(const void *)(b + f->trunc_off)) {
			printf(", \"%s_truncated\": true", f->key);
		}
		break;
	}
	default:
		break;
	}
}

static bool print_fields(const struct smpfota_cbor_map *map, const uint8_t *b, bool first)
{
	for (int i = 0; i < map->n_fields; i++) {
		const struct smpfota_cbor_field *f = &map->fields[i];
		if (f->has_off != SMPFOTA_CBOR_NO_HAS &&
		    !*(const bool *)(const void *)(b + f->has_off)) {
			continue;
		}
		printf("%s\"%s\": ", first ? "" : ", ", f->key);
		print_value(f, b);
		first = false;
	}
	return first;
}

static void print_map(const struct smpfota_cbor_map *map, const void *base)
{
	putchar('{');
	print_fields(map, base, true);
	putchar('}');
}

static void print_status(const struct smpfota_smp_status *st, bool *first)
{
	if (st->rc != 0) {
		printf("%s\"rc\": %ld", *first ? "" : ", ", (long)st->rc);
		*first = false;
	}
	if (st->rsn.len) {
		printf("%s\"rsn\": ", *first ? "" : ", ");
		json_str(st->rsn.ptr, st->rsn.len);
		*first = false;
	}
	if (st->has_err) {
		printf("%s\"err\": {\"group\": %u, \"rc\": %ld}", *first ? "" : ", ", st->err.group,
		       (long)st->err.rc);
		*first = false;
	}
}

static int decode(enum smpfota_smp_msg m, bool rsp, const char *hexframe)
{
	size_t n;
	uint8_t *frame = hex_decode(hexframe, &n);
	struct smpfota_smp_hdr h;
	int rc = smpfota_smp_hdr_decode(frame, n, &h);
	if (rc < 0) {
		printf("{\"error\": \"%s\"}\n", smpfota_errname(rc));
		return 0;
	}
	void *body = arena_alloc(smpfota_smp_msg_size(m, rsp));
	rc = rsp ? smpfota_smp_decode_rsp(m, frame + 8, h.len, body)
		 : smpfota_smp_decode_req(m, frame + 8, h.len, body);
	if (rc < 0) {
		printf("{\"error\": \"%s\"}\n", smpfota_errname(rc));
		return 0;
	}
	printf("{\"hdr\": {\"op\": %u, \"version\": %u, \"flags\": %u, \"len\": %u, \"group\": %u, "
	       "\"seq\": %u, \"id\": %u, \"msg\": %d}, \"body\": {",
	       h.op, h.version, h.flags, h.len, h.group, h.seq, h.id, smpfota_smp_msg_lookup(&h));
	bool first = true;
	if (rsp) {
		print_status(body, &first);
	}
	/* An error response carries only its status; the other fields are meaningless. */
	if (!rsp || smpfota_smp_status_ok(body)) {
		print_fields(smpfota_smp_msg_map(m, rsp), body, first);
	}
	printf("}}\n");
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t frame[70000];
	int n;

	if (argc < 3) {
		die("usage", "see the comment at the top of smp_codec_tool.c");
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "enc-req") && argc >= 5) {
		enum smpfota_smp_msg m = parse_msg(argv[2]);
		void *body = arena_alloc(smpfota_smp_msg_size(m, false));
		for (int i = 5; i < argc; i++) {
			set_path(smpfota_smp_msg_map(m, false), NULL, body, argv[i]);
		}
		n = smpfota_smp_encode_req(m, (uint8_t)atoi(argv[3]), (uint8_t)atoi(argv[4]), body,
					   frame, sizeof(frame));
	} else if ((!strcmp(cmd, "enc-rsp") && argc >= 4) || !strcmp(cmd, "enc-err")) {
		bool err = !strcmp(cmd, "enc-err");
		enum smpfota_smp_msg m = err ? SMPFOTA_MSG_OS_RESET : parse_msg(argv[2]);
		const char *hdrhex = argv[err ? 2 : 3];
		size_t hl;
		uint8_t *hb = hex_decode(hdrhex, &hl);
		struct smpfota_smp_hdr req;
		if (hl != 8) {
			die("request header must be 8 bytes", hdrhex);
		}
		memcpy(frame, hb, 8);
		frame[2] = frame[3] = 0;
		(void)smpfota_smp_hdr_decode(frame, 8, &req);
		void *body = arena_alloc(err ? sizeof(struct smpfota_smp_status)
					     : smpfota_smp_msg_size(m, true));
		for (int i = err ? 3 : 4; i < argc; i++) {
			set_path(err ? smpfota_smp_status_map() : smpfota_smp_msg_map(m, true),
				 smpfota_smp_status_map(), body, argv[i]);
		}
		n = err ? smpfota_smp_encode_err(&req, body, frame, sizeof(frame))
			: smpfota_smp_encode_rsp(m, &req, body, frame, sizeof(frame));
	} else if (!strcmp(cmd, "dec-req") && argc == 4) {
		return decode(parse_msg(argv[2]), false, argv[3]);
	} else if (!strcmp(cmd, "dec-rsp") && argc == 4) {
		return decode(parse_msg(argv[2]), true, argv[3]);
	} else if (!strcmp(cmd, "max-data")) {
		struct smpfota_img_upload_req r = {0};
		for (int i = 3; i < argc; i++) {
			set_path(smpfota_smp_msg_map(SMPFOTA_MSG_IMG_UPLOAD, false), NULL, &r,
				 argv[i]);
		}
		printf("%d\n", smpfota_smp_upload_max_data(&r, (size_t)atol(argv[2])));
		return 0;
	} else {
		die("bad command", cmd);
	}
	if (n < 0) {
		fprintf(stderr, "smp_codec_tool: encode failed: %s\n", smpfota_errname(n));
		return 1;
	}
	hex_print(frame, (size_t)n);
	putchar('\n');
	return 0;
}
