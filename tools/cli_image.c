/* smpfota image info: stream an MCUboot image file through the reader and report it. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "smpfota/image.h"

#define CHUNK 4096

void smpfota_cli_image_info_usage(FILE *f)
{
	fprintf(f,
		"usage: smpfota image info FILE [--json]\n"
		"\n"
		"Reads an MCUboot image (imgtool sign output, padded or not) and shows its header,\n"
		"version, hash (as `mcumgr image list` shows it), TLVs, signature type, and whether\n"
		"the hash TLV (SHA256, SHA384 or SHA512) matches the image. The file is streamed,\n"
		"never loaded whole (twice for SHA384/SHA512: the hash TLV comes after the body).\n"
		"\n"
		"  --json   print one JSON object on stdout instead of text\n"
		"\n"
		"Exit status: 0 image valid; 1 bad image or unreadable file; 2 usage error.\n"
		"A bad image prints one line on stderr: 'smpfota: image info: FILE: <text> (<NAME>)'.\n"
		"When the whole image could be read but its hash does not match (HASH_MISMATCH) or\n"
		"cannot be checked (UNSUPPORTED: no hash TLV, encrypted; the text and the JSON's\n"
		"\"unsupported\" say which), the details are still printed on stdout (with --json:\n"
		"the object with \"error\": \"<ERROR_NAME>\"; it is null for a valid image).\n"
		"For the other errors (BAD_MAGIC, BAD_HEADER, TRUNCATED, TLV_CORRUPT, unreadable\n"
		"file) stdout stays empty, or with --json holds\n"
		"{\"error\": \"<ERROR_NAME>\", \"message\": ..., \"file\": FILE}.\n");
}

/* ih_flags bits and their imgtool/MCUboot names. */
static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
	{SMPFOTA_IMAGE_F_PIC, "PIC"},
	{SMPFOTA_IMAGE_F_ENCRYPTED_AES128, "ENCRYPTED_AES128"},
	{SMPFOTA_IMAGE_F_ENCRYPTED_AES256, "ENCRYPTED_AES256"},
	{SMPFOTA_IMAGE_F_NON_BOOTABLE, "NON_BOOTABLE"},
	{SMPFOTA_IMAGE_F_RAM_LOAD, "RAM_LOAD"},
	{SMPFOTA_IMAGE_F_ROM_FIXED, "ROM_FIXED"},
	{SMPFOTA_IMAGE_F_COMPRESSED_LZMA1, "COMPRESSED_LZMA1"},
	{SMPFOTA_IMAGE_F_COMPRESSED_LZMA2, "COMPRESSED_LZMA2"},
	{SMPFOTA_IMAGE_F_COMPRESSED_ARM_THUMB, "COMPRESSED_ARM_THUMB"},
};
#define N_FLAGS (sizeof(flag_names) / sizeof(flag_names[0]))

static size_t recorded_tlvs(const struct smpfota_image_info *in)
{
	return in->tlv_count < SMPFOTA_IMAGE_MAX_TLVS ? in->tlv_count : SMPFOTA_IMAGE_MAX_TLVS;
}

/* Why the hash of an image read to its end cannot be checked, precisely; NULL if it can. */
static const char *unsupported_reason(const struct smpfota_image_info *in, int rc)
{
	if (rc != SMPFOTA_ERR_UNSUPPORTED) {
		return NULL;
	}
	if (in->hdr.flags & (SMPFOTA_IMAGE_F_ENCRYPTED_AES128 | SMPFOTA_IMAGE_F_ENCRYPTED_AES256)) {
		return "encrypted image: MCUboot hashes the plaintext, the file holds ciphertext";
	}
	bool sha384 = false, sha512 = false;
	for (size_t i = 0; i < recorded_tlvs(in); i++) {
		sha384 |= in->tlvs[i].type == SMPFOTA_TLV_SHA384;
		sha512 |= in->tlvs[i].type == SMPFOTA_TLV_SHA512;
	}
	if (sha384 || sha512) {
		return "SHA384/SHA512 hash TLV: this build has SMPFOTA_CONFIG_IMAGE_SHA512 0";
	}
	if (in->sig_type == SMPFOTA_TLV_SIG_PURE ||
	    (in->sig_type != 0 && in->tlv_count > 0 && !in->has_hash)) {
		return "no hash TLV: a pure signature (imgtool --pure) covers the image, and "
		       "checking it needs the public key";
	}
	return "no hash TLV (SHA256, SHA384 or SHA512)";
}

static void print_hex(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%02x", b[i]);
	}
}

static void print_human(const char *path, unsigned long long file_size,
			const struct smpfota_image_info *in, int rc)
{
	const struct smpfota_image_header *h = &in->hdr;
	char ver[SMPFOTA_IMAGE_VERSION_STR_MAX];
	(void)smpfota_image_version_str(&h->version, ver, sizeof(ver));

	printf("image:              %s\n", path);
	printf("magic:              0x%08x\n", (unsigned)h->magic);
	printf("load address:       0x%08x\n", (unsigned)h->load_addr);
	printf("header size:        0x%x (%u)\n", (unsigned)h->hdr_size, (unsigned)h->hdr_size);
	printf("protected TLV size: 0x%x (%u)\n", (unsigned)h->protect_tlv_size,
	       (unsigned)h->protect_tlv_size);
	printf("body size:          0x%x (%u)\n", (unsigned)h->img_size, (unsigned)h->img_size);
	printf("flags:              0x%x", (unsigned)h->flags);
	bool named = false;
	for (size_t i = 0; i < N_FLAGS; i++) {
		if (h->flags & flag_names[i].bit) {
			printf("%s%s", named ? " | " : " (", flag_names[i].name);
			named = true;
		}
	}
	printf("%s\n", named ? ")" : "");
	printf("version:            %s\n", ver);
	printf("image size:         %u bytes (header + body + TLVs)\n", (unsigned)in->image_size);
	if (file_size > in->image_size) {
		printf("padding:            %llu bytes after the TLVs (imgtool --pad); an upload "
		       "sends the image only\n",
		       file_size - in->image_size);
	}

	printf("hash:               ");
	if (in->has_hash) {
		print_hex(stdout, in->hash, in->hash_len);
		printf("\nhash type:          %s\n", smpfota_image_tlv_name(in->hash_type));
	} else {
		printf("none\n");
	}
	printf("hash check:         ");
	if (in->hash_valid && rc == 0) {
		printf("valid\n");
	} else if (rc == SMPFOTA_ERR_HASH_MISMATCH) {
		printf("INVALID (computed ");
		print_hex(stdout, in->computed_hash, in->has_hash ? in->hash_len : 32U);
		printf(")\n");
	} else if (unsupported_reason(in, rc) != NULL) {
		printf("not checked: %s\n", unsupported_reason(in, rc));
	} else {
		printf("not checked (%s)\n", smpfota_strerror(rc));
	}

	const char *sig = smpfota_image_sig_name(in->sig_type);
	if (sig) {
		printf("signature:          %s (%u bytes)\n", sig, (unsigned)in->sig_len);
	} else {
		printf("signature:          none\n");
	}
	const char *key = smpfota_image_tlv_name(in->key_type);
	printf("key:                %s\n", in->key_type && key ? key : "none");

	printf("TLVs:               %zu\n", in->tlv_count);
	for (size_t i = 0; i < recorded_tlvs(in); i++) {
		const struct smpfota_image_tlv *t = &in->tlvs[i];
		const char *name = smpfota_image_tlv_name(t->type);
		printf("  %-18s type 0x%02x  len %-4u at 0x%x%s\n", name ? name : "(vendor)",
		       (unsigned)t->type, (unsigned)t->len, (unsigned)t->off,
		       t->protected_tlv ? "  protected" : "");
	}
	if (in->tlv_count > recorded_tlvs(in)) {
		printf("  ... %zu more\n", in->tlv_count - recorded_tlvs(in));
	}
}

static int print_json(const char *path, unsigned long long file_size,
		      const struct smpfota_image_info *in, int rc)
{
	const struct smpfota_image_header *h = &in->hdr;
	struct json_writer w;
	char ver[SMPFOTA_IMAGE_VERSION_STR_MAX];

	(void)smpfota_image_version_str(&h->version, ver, sizeof(ver));

	json_init(&w, stdout, 2);
	json_begin_object(&w);
	json_key(&w, "file");
	json_string(&w, path);
	json_key(&w, "file_size");
	json_uint(&w, file_size);
	json_key(&w, "error");
	json_string(&w, rc ? smpfota_errname(rc) : NULL);
	json_key(&w, "magic");
	json_uint(&w, h->magic);
	json_key(&w, "load_addr");
	json_uint(&w, h->load_addr);
	json_key(&w, "header_size");
	json_uint(&w, h->hdr_size);
	json_key(&w, "protected_tlv_size");
	json_uint(&w, h->protect_tlv_size);
	json_key(&w, "body_size");
	json_uint(&w, h->img_size);
	json_key(&w, "hashed_size");
	json_uint(&w, in->hashed_size);
	json_key(&w, "image_size");
	json_uint(&w, in->image_size);
	json_key(&w, "flags");
	json_uint(&w, h->flags);
	json_key(&w, "flag_names");
	json_begin_array(&w);
	for (size_t i = 0; i < N_FLAGS; i++) {
		if (h->flags & flag_names[i].bit) {
			json_string(&w, flag_names[i].name);
		}
	}
	json_end_array(&w);
	json_key(&w, "version");
	json_string(&w, ver);
	json_key(&w, "padding");
	json_uint(&w, file_size > in->image_size ? file_size - in->image_size : 0);
	json_key(&w, "hash_type");
	json_string(&w, in->has_hash ? smpfota_image_tlv_name(in->hash_type) : NULL);
	json_key(&w, "hash");
	if (in->has_hash) {
		json_hex(&w, in->hash, in->hash_len);
	} else {
		json_null(&w);
	}
	json_key(&w, "computed_hash");
	json_hex(&w, in->computed_hash, in->has_hash ? in->hash_len : 32U);
	json_key(&w, "hash_valid");
	json_bool(&w, in->hash_valid && rc == 0);
	json_key(&w, "unsupported");
	json_string(&w, unsupported_reason(in, rc));
	json_key(&w, "signature");
	json_string(&w, smpfota_image_sig_name(in->sig_type));
	json_key(&w, "signature_len");
	if (in->sig_type) {
		json_uint(&w, in->sig_len);
	} else {
		json_null(&w);
	}
	json_key(&w, "key");
	json_string(&w, in->key_type ? smpfota_image_tlv_name(in->key_type) : NULL);
	json_key(&w, "tlv_count");
	json_uint(&w, in->tlv_count);
	json_key(&w, "tlvs");
	json_begin_array(&w);
	for (size_t i = 0; i < recorded_tlvs(in); i++) {
		const struct smpfota_image_tlv *t = &in->tlvs[i];
		json_begin_object(&w);
		json_key(&w, "type");
		json_uint(&w, t->type);
		json_key(&w, "name");
		json_string(&w, smpfota_image_tlv_name(t->type));
		json_key(&w, "len");
		json_uint(&w, t->len);
		json_key(&w, "offset");
		json_uint(&w, t->off);
		json_key(&w, "protected");
		json_bool(&w, t->protected_tlv);
		json_end_object(&w);
	}
	json_end_array(&w);
	json_end_object(&w);
	return json_finish(&w);
}

/* An error about FILE: "smpfota: image info: FILE: MESSAGE", and the JSON object unless the
 * details object is out already. */
static int file_error(bool json, const char *path, const char *name, const char *hint,
		      const char *message)
{
	char msg[600];
	snprintf(msg, sizeof(msg), "%s: %s", path, message);
	struct smpfota_cli_error e = {
		.what = "image info", .name = name, .message = msg, .hint = hint, .file = path};
	return smpfota_cli_report(json, &e, 1);
}

int smpfota_cli_image_info(const struct smpfota_cli_opts *o, int argc, char **argv)
{
	const char *path = NULL;
	bool json = o->json, options_done = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!options_done && !strcmp(a, "--")) {
			options_done = true;
		} else if (!options_done && a[0] == '-' && a[1] != '\0') {
			char msg[160];
			snprintf(msg, sizeof(msg), "unknown option '%s'", a);
			return smpfota_cli_usage_error(json, "image info", msg);
		} else if (!path) {
			path = a;
		} else {
			return smpfota_cli_usage_error(json, "image info", "more than one FILE");
		}
	}
	if (!path) {
		return smpfota_cli_usage_error(json, "image info", "expected FILE");
	}

	FILE *f = fopen(path, "rb");
	if (!f) {
		return file_error(json, path, "IO", NULL, strerror(errno));
	}

	static uint8_t buf[CHUNK];
	struct smpfota_image_reader r;
	struct smpfota_image_info info;
	unsigned long long file_size = 0;
	size_t n;
	int rc = 0;
	uint16_t algo = SMPFOTA_TLV_SHA256;
	/* A second pass when the hash TLV (after the body) names another algorithm. */
	for (int pass = 0; pass < 2; pass++) {
		(void)smpfota_image_reader_init_hash(&r, algo);
		file_size = 0;
		rewind(f);
		/* Read to the end even after an error, so file_size is the real one. */
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
			file_size += n;
			(void)smpfota_image_reader_feed(&r, buf, n); /* sticky: finish reports it */
		}
		if (ferror(f)) {
			int e = errno;
			fclose(f);
			(void)smpfota_image_reader_finish(&r, NULL);
			return file_error(json, path, "IO", NULL, strerror(e));
		}
		rc = smpfota_image_reader_finish(&r, &info);
		if (!(rc == SMPFOTA_ERR_UNSUPPORTED && info.has_hash &&
		      info.hash_type != info.computed_type)) {
			break;
		}
		algo = info.hash_type;
	}
	fclose(f);

	/* Details only for images read to the end of their TLV area; see usage(). */
	bool details = rc == 0 || rc == SMPFOTA_ERR_HASH_MISMATCH || rc == SMPFOTA_ERR_UNSUPPORTED;
	if (details) {
		if (json) {
			if (print_json(path, file_size, &info, rc)) {
				fprintf(stderr, "smpfota: write error\n");
				return 1;
			}
		} else {
			print_human(path, file_size, &info, rc);
			if (fflush(stdout) || ferror(stdout)) {
				fprintf(stderr, "smpfota: write error\n");
				return 1;
			}
		}
	}
	if (rc) {
		char msg[200];
		snprintf(msg, sizeof(msg), "%s (%s)", smpfota_strerror(rc), smpfota_errname(rc));
		return file_error(json && !details, path, smpfota_errname(rc),
				  rc == SMPFOTA_ERR_BAD_MAGIC
					  ? "not an MCUboot image: imgtool sign makes one"
					  : NULL,
				  msg);
	}
	return 0;
}
