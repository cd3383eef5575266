/*
 * MCUboot image reader: a byte-stream state machine over header, body and TLV areas.
 *
 * Every state wants a known number of bytes (`need`) and takes as many as the current chunk
 * offers, so the result never depends on how the image is split. Bytes below hashed_size go
 * through SHA-256 as they pass; nothing is buffered except 4-byte TLV headers and the
 * 32-byte image header.
 */
#include "smpfota/image.h"

#include <stddef.h>
#include <string.h>

#include "sha256.h"
#include "util.h"
#if SMPFOTA_CONFIG_IMAGE_SHA512
#include "sha512.h"
#endif

/* The context lives in the reader's opaque union; the union holds a uint64_t. */
_Static_assert(sizeof(smpfota_sha256_ctx) <= SMPFOTA_IMAGE_SHA_CTX_SIZE,
	       "raise SMPFOTA_IMAGE_SHA_CTX_SIZE for this mbedTLS");
_Static_assert(_Alignof(smpfota_sha256_ctx) <= _Alignof(uint64_t),
	       "smpfota_sha256_ctx needs more alignment than the reader gives");
#if SMPFOTA_CONFIG_IMAGE_SHA512
_Static_assert(sizeof(smpfota_sha512_ctx) <= SMPFOTA_IMAGE_SHA_CTX_SIZE,
	       "raise SMPFOTA_IMAGE_SHA_CTX_SIZE for this mbedTLS");
_Static_assert(_Alignof(smpfota_sha512_ctx) <= _Alignof(uint64_t),
	       "smpfota_sha512_ctx needs more alignment than the reader gives");
#endif

enum {
	ST_HEADER,   /* collecting the 32-byte header */
	ST_BODY,     /* header padding and body: hashed, skipped */
	ST_INFO,     /* collecting a 4-byte TLV info header (0x6908 or 0x6907) */
	ST_TLV_HDR,  /* collecting a 4-byte TLV header */
	ST_TLV_DATA, /* TLV value */
	ST_DONE,     /* past the TLV area: ignore the rest */
};

enum {
	F_SHA_ACTIVE = 0x01,    /* context started and not yet freed */
	F_HASH_CONFLICT = 0x02, /* a second SHA-256 TLV differs from the first */
	F_NO_HASH = 0x04,       /* smpfota_image_read_info(): TLVs only, body skipped */
	F_TLV_KEEP = 0x08,      /* the hash TLV being read becomes info->hash */
	F_TLV_CMP = 0x10,       /* the hash TLV being read is compared with info->hash */
};

/* Header sizes must leave room for the largest unprotected TLV area in 32-bit offsets. */
#define TLV_AREA_MAX 0xffffU

static const uint8_t magic_le[4] = {0x3d, 0xb8, 0xf3, 0x96};

static smpfota_sha256_ctx *sha_ctx(struct smpfota_image_reader *r)
{
	return (smpfota_sha256_ctx *)(void *)&r->sha;
}

/* The hash of the reader's algorithm (r->algo): sha256.h or sha512.h. */
#if SMPFOTA_CONFIG_IMAGE_SHA512
static smpfota_sha512_ctx *sha512_ctx(struct smpfota_image_reader *r)
{
	return (smpfota_sha512_ctx *)(void *)&r->sha;
}

static int hash_start(struct smpfota_image_reader *r)
{
	if (r->algo != SMPFOTA_TLV_SHA256) {
		smpfota_sha512_init(sha512_ctx(r));
		return smpfota_sha512_starts(sha512_ctx(r), r->algo == SMPFOTA_TLV_SHA384);
	}
	smpfota_sha256_init(sha_ctx(r));
	return smpfota_sha256_starts(sha_ctx(r));
}

static int hash_update(struct smpfota_image_reader *r, const uint8_t *p, size_t n)
{
	return r->algo != SMPFOTA_TLV_SHA256 ? smpfota_sha512_update(sha512_ctx(r), p, n)
					     : smpfota_sha256_update(sha_ctx(r), p, n);
}

static int hash_finish(struct smpfota_image_reader *r, uint8_t *out)
{
	return r->algo != SMPFOTA_TLV_SHA256 ? smpfota_sha512_finish(sha512_ctx(r), out)
					     : smpfota_sha256_finish(sha_ctx(r), out);
}

static void hash_free(struct smpfota_image_reader *r)
{
	if (r->algo != SMPFOTA_TLV_SHA256) {
		smpfota_sha512_free(sha512_ctx(r));
	} else {
		smpfota_sha256_free(sha_ctx(r));
	}
}
#else
static int hash_start(struct smpfota_image_reader *r)
{
	smpfota_sha256_init(sha_ctx(r));
	return smpfota_sha256_starts(sha_ctx(r));
}

#define hash_update(r, p, n) smpfota_sha256_update(sha_ctx(r), (p), (n))
#define hash_finish(r, out) smpfota_sha256_finish(sha_ctx(r), (out))
#define hash_free(r) smpfota_sha256_free(sha_ctx(r))
#endif

/* 32, 48, 64 for the hash TLVs this build checks, else 0 (inlined in the reader). */
static unsigned hash_len_of(uint16_t hash_tlv)
{
#if SMPFOTA_CONFIG_IMAGE_SHA512
	if (hash_tlv >= SMPFOTA_TLV_SHA256 && hash_tlv <= SMPFOTA_TLV_SHA512) {
		return 32U + 16U * (unsigned)(hash_tlv - SMPFOTA_TLV_SHA256);
	}
	return 0;
#else
	return hash_tlv == SMPFOTA_TLV_SHA256 ? 32U : 0U;
#endif
}

unsigned smpfota_image_hash_len(uint16_t hash_tlv)
{
	return hash_len_of(hash_tlv);
}

static bool is_sig_type(uint16_t type)
{
	return type == SMPFOTA_TLV_RSA2048_PSS || type == SMPFOTA_TLV_ECDSA_SIG ||
	       type == SMPFOTA_TLV_RSA3072_PSS || type == SMPFOTA_TLV_ED25519 ||
	       type == SMPFOTA_TLV_SIG_PURE;
}

/* A prefix of the magic already tells a non-image apart; used by the reader byte by byte. */
static int check_magic_prefix(const uint8_t *buf, size_t len)
{
	size_t n = len < sizeof(magic_le) ? len : sizeof(magic_le);
	return memcmp(buf, magic_le, n) ? SMPFOTA_ERR_BAD_MAGIC : 0;
}

int smpfota_image_header_parse(const uint8_t *buf, size_t len, struct smpfota_image_header *hdr)
{
	if (!buf) {
		return len ? SMPFOTA_ERR_INVAL : SMPFOTA_ERR_TRUNCATED;
	}
	int err = check_magic_prefix(buf, len);
	if (err) {
		return err;
	}
	if (len < SMPFOTA_IMAGE_HEADER_SIZE) {
		return SMPFOTA_ERR_TRUNCATED;
	}
	struct smpfota_image_header tmp;
	struct smpfota_image_header *h = hdr ? hdr : &tmp;
	h->magic = util_get_le32(buf);
	h->load_addr = util_get_le32(buf + 4);
	h->hdr_size = util_get_le16(buf + 8);
	h->protect_tlv_size = util_get_le16(buf + 10);
	h->img_size = util_get_le32(buf + 12);
	h->flags = util_get_le32(buf + 16);
	h->version.major = buf[20];
	h->version.minor = buf[21];
	h->version.revision = util_get_le16(buf + 22);
	h->version.build = util_get_le32(buf + 24);
	if (h->hdr_size < SMPFOTA_IMAGE_HEADER_SIZE) {
		return SMPFOTA_ERR_BAD_HEADER;
	}
	uint64_t end = (uint64_t)h->hdr_size + h->img_size + h->protect_tlv_size + TLV_AREA_MAX;
	if (end > UINT32_MAX) {
		return SMPFOTA_ERR_BAD_HEADER;
	}
	return 0;
}

void smpfota_image_reader_init(struct smpfota_image_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->state = ST_HEADER;
	r->need = SMPFOTA_IMAGE_HEADER_SIZE;
	r->algo = SMPFOTA_TLV_SHA256;
	r->info.computed_type = SMPFOTA_TLV_SHA256;
#if !SMPFOTA_CONFIG_IMAGE_SHA512
	r->info.hash_type = SMPFOTA_TLV_SHA256; /* the only one this build knows */
	r->info.hash_len = 32U;
#endif
}

int smpfota_image_reader_init_hash(struct smpfota_image_reader *r, uint16_t hash_tlv)
{
	smpfota_image_reader_init(r);
	if (smpfota_image_hash_len(hash_tlv) == 0) {
		return hash_tlv >= SMPFOTA_TLV_SHA256 && hash_tlv <= SMPFOTA_TLV_SHA512
			       ? SMPFOTA_ERR_UNSUPPORTED
			       : SMPFOTA_ERR_INVAL;
	}
	r->algo = hash_tlv;
	r->info.computed_type = hash_tlv;
	return 0;
}

/* Hash the part of [r->off, r->off + n) below hashed_size, then advance r->off. */
static int consume(struct smpfota_image_reader *r, const uint8_t *p, uint32_t n)
{
	uint32_t hashed = r->info.hashed_size;
	if (r->off < hashed && !(r->flags & F_NO_HASH)) {
		uint32_t h = hashed - r->off < n ? hashed - r->off : n;
		if (hash_update(r, p, h)) {
			return SMPFOTA_ERR_IO; /* only a hardware SHA engine can fail */
		}
		if (r->off + h == hashed && hash_finish(r, r->info.computed_hash)) {
			return SMPFOTA_ERR_IO;
		}
	}
	r->off += n;
	return 0;
}

static void expect(struct smpfota_image_reader *r, uint8_t state, uint32_t need)
{
	r->state = state;
	r->need = need;
	r->scratch_len = 0;
}

/* After a TLV info header or a TLV value: next TLV, next area, or the end. */
static int next_in_area(struct smpfota_image_reader *r)
{
	uint32_t left = r->tlv_end - r->off;
	if (left == 0) {
		/* image_size is set by the 0x6907 info, so 0 means the protected area just ended. */
		if (r->info.image_size == 0) {
			expect(r, ST_INFO, 4);
		} else {
			expect(r, ST_DONE, 0);
		}
		return 0;
	}
	if (left < 4) {
		return SMPFOTA_ERR_TLV_CORRUPT; /* not even a TLV header fits */
	}
	expect(r, ST_TLV_HDR, 4);
	return 0;
}

static int header_done(struct smpfota_image_reader *r)
{
	struct smpfota_image_info *in = &r->info;
	int err = smpfota_image_header_parse(r->scratch, SMPFOTA_IMAGE_HEADER_SIZE, &in->hdr);
	if (err) {
		return err;
	}
	in->header_valid = true;
	in->hashed_size = (uint32_t)in->hdr.hdr_size + in->hdr.img_size + in->hdr.protect_tlv_size;

	if (!(r->flags & F_NO_HASH)) {
		r->flags |= F_SHA_ACTIVE;
		if (hash_start(r)) {
			return SMPFOTA_ERR_IO;
		}
	}
	r->off = 0;
	err = consume(r, r->scratch, SMPFOTA_IMAGE_HEADER_SIZE);
	if (err) {
		return err;
	}
	uint32_t body = in->hdr.hdr_size - SMPFOTA_IMAGE_HEADER_SIZE + in->hdr.img_size;
	expect(r, body ? ST_BODY : ST_INFO, body ? body : 4);
	return 0;
}

static int info_done(struct smpfota_image_reader *r)
{
	struct smpfota_image_info *in = &r->info;
	uint16_t magic = util_get_le16(r->scratch);
	uint16_t tot = util_get_le16(r->scratch + 2);
	uint32_t start = r->off - 4;

	if (start < in->hashed_size) {
		/* Protected area: MCUboot wants its total to equal the header's field exactly. */
		if (magic != SMPFOTA_IMAGE_TLV_PROT_INFO_MAGIC || tot != in->hdr.protect_tlv_size ||
		    tot < 4) {
			return SMPFOTA_ERR_TLV_CORRUPT;
		}
	} else {
		if (magic != SMPFOTA_IMAGE_TLV_INFO_MAGIC || tot < 4) {
			return SMPFOTA_ERR_TLV_CORRUPT;
		}
		in->image_size = start + tot;
	}
	r->tlv_end = start + tot;
	return next_in_area(r);
}

static int tlv_hdr_done(struct smpfota_image_reader *r)
{
	struct smpfota_image_info *in = &r->info;
	uint16_t type = util_get_le16(r->scratch);
	uint16_t len = util_get_le16(r->scratch + 2);
	uint32_t tlv_off = r->off - 4;

	if (len > r->tlv_end - r->off) {
		return SMPFOTA_ERR_TLV_CORRUPT;
	}
	if (in->tlv_count < SMPFOTA_IMAGE_MAX_TLVS) {
		struct smpfota_image_tlv *t = &in->tlvs[in->tlv_count];
		t->type = type;
		t->len = len;
		t->off = tlv_off;
		t->protected_tlv = tlv_off < in->hashed_size;
	}
	in->tlv_count++;

	/* A hash TLV: kept when it is the first, or the first of the algorithm being computed
	 * (MCUboot checks only its own); compared when another of the kept type follows. */
	unsigned hl = hash_len_of(type);
	r->flags &= (uint8_t) ~(F_TLV_KEEP | F_TLV_CMP);
	if (hl != 0) {
		if (len != hl) {
			return SMPFOTA_ERR_TLV_CORRUPT;
		}
#if SMPFOTA_CONFIG_IMAGE_SHA512
		if (!in->has_hash || (type == r->algo && in->hash_type != r->algo)) {
			r->flags = (uint8_t)((r->flags & ~F_HASH_CONFLICT) | F_TLV_KEEP);
			in->has_hash = false;
			in->hash_type = type;
			in->hash_len = (uint8_t)hl;
		} else if (type == in->hash_type) {
			r->flags |= F_TLV_CMP;
		}
#else
		/* One algorithm: hash_type and hash_len are fixed from init. */
		r->flags |= in->has_hash ? F_TLV_CMP : F_TLV_KEEP;
#endif
	}
	/* SIG_PURE is a 1-byte marker before the real signature: let that one replace it. */
	if (is_sig_type(type) && (in->sig_type == 0 || in->sig_type == SMPFOTA_TLV_SIG_PURE)) {
		in->sig_type = type;
		in->sig_len = len;
	}
	if ((type == SMPFOTA_TLV_KEYHASH || type == SMPFOTA_TLV_PUBKEY) && in->key_type == 0) {
		in->key_type = type;
	}
	r->cur_type = type;
	r->cur_len = len;
	if (len == 0) {
		return next_in_area(r);
	}
	expect(r, ST_TLV_DATA, len);
	return 0;
}

/* A piece of a TLV value: keep or compare a hash TLV (tlv_hdr_done decided which). */
static void tlv_data(struct smpfota_image_reader *r, const uint8_t *p, uint32_t n)
{
	struct smpfota_image_info *in = &r->info;
	uint32_t at = r->cur_len - r->need; /* need not yet reduced by n */
	if (r->flags & F_TLV_KEEP) {
		memcpy(in->hash + at, p, n);
	} else if ((r->flags & F_TLV_CMP) && memcmp(in->hash + at, p, n) != 0) {
		r->flags |= F_HASH_CONFLICT;
	}
}

/* One step: take up to len bytes for the current state (count in *taken); 0 or an error.
 * Headers (image, TLV info, TLV) are collected in scratch; every byte goes through consume(),
 * which hashes it once the header said how far hashing goes (header_done hashes the header
 * itself). */
static int step(struct smpfota_image_reader *r, const uint8_t *p, size_t len, uint32_t *taken)
{
	uint32_t n = r->need < len ? r->need : (uint32_t)len;
	uint8_t st = r->state;
	*taken = n;

	if (st == ST_TLV_DATA) {
		tlv_data(r, p, n);
	} else if (st != ST_BODY) {
		memcpy(r->scratch + r->scratch_len, p, n);
		r->scratch_len += (uint16_t)n;
	}
	int err = consume(r, p, n);
	r->need -= n;
	if (!err && st == ST_HEADER) {
		err = check_magic_prefix(r->scratch, r->scratch_len);
	}
	if (err || r->need > 0) {
		return err;
	}
	switch (st) {
	case ST_HEADER:
		return header_done(r);
	case ST_BODY:
		expect(r, ST_INFO, 4);
		return 0;
	case ST_INFO:
		return info_done(r);
	case ST_TLV_HDR:
		return tlv_hdr_done(r);
	default: /* ST_TLV_DATA (feed() stops before calling us in ST_DONE) */
		if (r->flags & F_TLV_KEEP) {
			r->info.has_hash = true;
		}
		return next_in_area(r);
	}
}

int smpfota_image_reader_feed(struct smpfota_image_reader *r, const uint8_t *data, size_t len)
{
	if (!data && len) {
		return SMPFOTA_ERR_INVAL;
	}
	while (!r->err && len > 0 && r->state != ST_DONE) {
		uint32_t taken;
		r->err = step(r, data, len, &taken);
		data += taken;
		len -= taken;
	}
	return r->err;
}

static int finish_status(struct smpfota_image_reader *r)
{
	struct smpfota_image_info *in = &r->info;
	if (r->err) {
		return r->err;
	}
	if (r->state != ST_DONE) {
		return SMPFOTA_ERR_TRUNCATED;
	}
#if SMPFOTA_CONFIG_IMAGE_SHA512
	bool same_algo = in->has_hash && in->hash_type == r->algo;
#else
	bool same_algo = in->has_hash;
#endif
	size_t hl = SMPFOTA_IMAGE_HASH_MAX > 32U ? in->hash_len : 32U;
	in->hash_valid = same_algo && !(r->flags & F_HASH_CONFLICT) &&
			 !memcmp(in->hash, in->computed_hash, hl);
	/* MCUboot hashes the plaintext of an encrypted body; we only see ciphertext. */
	if (in->hdr.flags & (SMPFOTA_IMAGE_F_ENCRYPTED_AES128 | SMPFOTA_IMAGE_F_ENCRYPTED_AES256)) {
		return SMPFOTA_ERR_UNSUPPORTED;
	}
	if (!same_algo) {
		return SMPFOTA_ERR_UNSUPPORTED; /* no hash TLV, or of another algorithm */
	}
	return in->hash_valid ? 0 : SMPFOTA_ERR_HASH_MISMATCH;
}

int smpfota_image_reader_finish(struct smpfota_image_reader *r, struct smpfota_image_info *info)
{
	int rc = finish_status(r);
	if (r->flags & F_SHA_ACTIVE) {
		hash_free(r);
		r->flags &= (uint8_t)~F_SHA_ACTIVE;
	}
	if (info) {
		*info = r->info;
	}
	return rc;
}

/* Another pass is worth it when the image's hash TLV is of an algorithm this build checks
 * but the pass did not compute. */
static bool other_algo(int rc, const struct smpfota_image_info *in)
{
	return rc == SMPFOTA_ERR_UNSUPPORTED && in->has_hash && in->hash_type != in->computed_type;
}

int smpfota_image_parse(const uint8_t *buf, size_t len, struct smpfota_image_info *info)
{
	struct smpfota_image_reader r;
	struct smpfota_image_info tmp;
	struct smpfota_image_info *in = info ? info : &tmp;
	uint16_t algo = SMPFOTA_TLV_SHA256;
	int rc = 0;

	for (int pass = 0; pass < 2; pass++) {
		(void)smpfota_image_reader_init_hash(&r, algo);
		(void)smpfota_image_reader_feed(&r, buf, len); /* sticky: finish reports it */
		rc = smpfota_image_reader_finish(&r, in);
		if (!other_algo(rc, in)) {
			break;
		}
		algo = in->hash_type;
	}
	return rc;
}

int smpfota_image_check(smpfota_read_fn read, void *ctx, uint32_t size, uint16_t hash_tlv,
			uint8_t *buf, size_t buf_size, struct smpfota_image_info *info)
{
	struct smpfota_image_reader r;
	struct smpfota_image_info tmp;
	struct smpfota_image_info *in = info ? info : &tmp;
	uint16_t algo = hash_tlv;
	int rc = 0;

	if (read == NULL || buf == NULL || buf_size == 0) {
		return SMPFOTA_ERR_INVAL;
	}
	for (int pass = 0; pass < 2; pass++) {
		/* An unknown first guess (0) leaves the reader on SHA-256. */
		(void)smpfota_image_reader_init_hash(&r, algo);
		for (uint32_t off = 0; off < size && r.state != ST_DONE && !r.err;) {
			size_t n = size - off < buf_size ? size - off : buf_size;
			rc = read(ctx, off, buf, n);
			if (rc != 0) {
				(void)smpfota_image_reader_finish(&r, in);
				return rc;
			}
			(void)smpfota_image_reader_feed(&r, buf, n); /* sticky: finish reports it */
			off += (uint32_t)n;
		}
		rc = smpfota_image_reader_finish(&r, in);
		if (!other_algo(rc, in)) {
			break;
		}
		algo = in->hash_type;
	}
	return rc;
}

int smpfota_image_read_info(smpfota_read_fn read, void *ctx, uint32_t max_size,
			    struct smpfota_image_info *info)
{
	struct smpfota_image_reader r;
	uint8_t buf[SMPFOTA_IMAGE_HEADER_SIZE];
	uint32_t off = 0;

	smpfota_image_reader_init(&r);
	r.flags |= F_NO_HASH;
	while (!r.err && r.state != ST_DONE) {
		if (r.state == ST_BODY) {
			/* Not hashed here, so the body need not be read: jump to the TLVs. */
			off += r.need;
			r.off += r.need;
			expect(&r, ST_INFO, 4);
			continue;
		}
		if (off >= max_size) {
			r.err = SMPFOTA_ERR_TRUNCATED;
			break;
		}
		uint32_t n = max_size - off < sizeof(buf) ? max_size - off : (uint32_t)sizeof(buf);
		if (r.state == ST_HEADER) {
			n = r.need < n ? r.need
				       : n; /* the header alone, so the body can be skipped */
		}
		if (read(ctx, off, buf, n) != 0) {
			r.err = SMPFOTA_ERR_IO;
			break;
		}
		off += n;
		(void)smpfota_image_reader_feed(&r, buf, n);
	}
	if (info) {
		*info = r.info;
	}
	if (r.err) {
		return r.err;
	}
	return r.info.has_hash ? 0 : SMPFOTA_ERR_UNSUPPORTED; /* no hash TLV this build knows */
}

static int version_fmt(const struct smpfota_image_version *v, char build_sep, char *buf,
		       size_t size)
{
	const uint32_t parts[4] = {v->major, v->minor, v->revision, v->build};
	const unsigned count = v->build != 0 ? 4U : 3U;
	size_t pos = 0;

	for (unsigned i = 0; i < count; i++) {
		char tmp[10];
		size_t n = 0;
		uint32_t x = parts[i];
		do {
			tmp[n++] = (char)('0' + x % 10);
			x /= 10;
		} while (x);
		/* a separator before all but the first part, the digits, and the NUL */
		if (pos + (i > 0) + n >= size) {
			if (size) {
				buf[0] = '\0';
			}
			return SMPFOTA_ERR_NOSPC;
		}
		if (i > 0) {
			buf[pos++] = i == 3U ? build_sep : '.';
		}
		while (n) {
			buf[pos++] = tmp[--n];
		}
	}
	buf[pos] = '\0';
	return (int)pos;
}

int smpfota_image_version_str(const struct smpfota_image_version *v, char *buf, size_t size)
{
	return version_fmt(v, '+', buf, size);
}

int smpfota_image_version_wire_str(const struct smpfota_image_version *v, char *buf, size_t size)
{
	return version_fmt(v, '.', buf, size);
}

struct tlv_name {
	uint16_t type;
	const char *name;
};

static const struct tlv_name tlv_names[] = {
	{SMPFOTA_TLV_KEYHASH, "KEYHASH"},
	{SMPFOTA_TLV_PUBKEY, "PUBKEY"},
	{SMPFOTA_TLV_SHA256, "SHA256"},
	{SMPFOTA_TLV_SHA384, "SHA384"},
	{SMPFOTA_TLV_SHA512, "SHA512"},
	{SMPFOTA_TLV_RSA2048_PSS, "RSA2048_PSS"},
	{SMPFOTA_TLV_ECDSA224, "ECDSA224"},
	{SMPFOTA_TLV_ECDSA_SIG, "ECDSA_SIG"},
	{SMPFOTA_TLV_RSA3072_PSS, "RSA3072_PSS"},
	{SMPFOTA_TLV_ED25519, "ED25519"},
	{SMPFOTA_TLV_SIG_PURE, "SIG_PURE"},
	{SMPFOTA_TLV_ENC_RSA2048, "ENC_RSA2048"},
	{SMPFOTA_TLV_ENC_KW, "ENC_KW"},
	{SMPFOTA_TLV_ENC_EC256, "ENC_EC256"},
	{SMPFOTA_TLV_ENC_X25519, "ENC_X25519"},
	{SMPFOTA_TLV_ENC_X25519_SHA512, "ENC_X25519_SHA512"},
	{SMPFOTA_TLV_DEPENDENCY, "DEPENDENCY"},
	{SMPFOTA_TLV_SEC_CNT, "SEC_CNT"},
	{SMPFOTA_TLV_BOOT_RECORD, "BOOT_RECORD"},
	{SMPFOTA_TLV_DECOMP_SIZE, "DECOMP_SIZE"},
	{SMPFOTA_TLV_DECOMP_SHA, "DECOMP_SHA"},
	{SMPFOTA_TLV_DECOMP_SIGNATURE, "DECOMP_SIGNATURE"},
	{SMPFOTA_TLV_COMP_DEC_SIZE, "COMP_DEC_SIZE"},
	{SMPFOTA_TLV_UUID_VID, "UUID_VID"},
	{SMPFOTA_TLV_UUID_CID, "UUID_CID"},
};

const char *smpfota_image_tlv_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof(tlv_names) / sizeof(tlv_names[0]); i++) {
		if (tlv_names[i].type == type) {
			return tlv_names[i].name;
		}
	}
	return NULL;
}

const char *smpfota_image_sig_name(uint16_t type)
{
	return is_sig_type(type) ? smpfota_image_tlv_name(type) : NULL;
}
