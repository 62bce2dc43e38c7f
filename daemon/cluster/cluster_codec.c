/*
 * cluster_codec: one contact of an AoR hash as the JSON text Redis
 * stores (readable with redis-cli, and by the script's cjson). Run by
 * the workers and the sync process.
 *
 * Decoding is what every node pays for every other node's REGISTER.
 * The text sipd itself writes (every field, in order, compact, no
 * escape in a string, whole numbers: the script stores it as given) is
 * matched against that shape in one pass; anything else is read by
 * jansson. A contact through jansson cost the sync process ~5 us,
 * mostly its allocations; matched, ~0.3 us.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <jansson.h>

#include "cluster.h"

/*
 * A contact's fields, in the order sipd writes them (README "Several
 * nodes"). A number is stored in the contact as one of three types.
 */
enum codec_kind { CODEC_STR, CODEC_I64, CODEC_INT, CODEC_U32 };

static const struct codec_field {
	const char	*cf_key;
	size_t		 cf_keylen;
	enum codec_kind	 cf_kind;
	size_t		 cf_off, cf_size;
} codec_fields[] = {
#define CODEC_FIELD(key, kind, field) { key, sizeof(key) - 1, kind, \
	offsetof(struct cluster_contact, field), \
	sizeof(((struct cluster_contact *)0)->field) }
	CODEC_FIELD("expires", CODEC_I64, cc_expires),
	CODEC_FIELD("q", CODEC_INT, cc_q),
	CODEC_FIELD("callid", CODEC_STR, cc_callid),
	CODEC_FIELD("cseq", CODEC_U32, cc_cseq),
	CODEC_FIELD("ua", CODEC_STR, cc_ua),
	CODEC_FIELD("received", CODEC_STR, cc_received),
	CODEC_FIELD("path", CODEC_STR, cc_path),
	CODEC_FIELD("socket", CODEC_STR, cc_socket),
	CODEC_FIELD("node", CODEC_STR, cc_node),
	CODEC_FIELD("flags", CODEC_U32, cc_flags),
	CODEC_FIELD("cflags", CODEC_U32, cc_cflags),
	CODEC_FIELD("methods", CODEC_U32, cc_methods),
	CODEC_FIELD("modified", CODEC_I64, cc_modified),
#undef CODEC_FIELD
};
#define CODEC_NFIELDS	(sizeof(codec_fields) / sizeof(codec_fields[0]))

static int64_t
codec_get_number(const struct cluster_contact *c, const struct codec_field *f)
{
	const void	*p = (const char *)c + f->cf_off;

	switch (f->cf_kind) {
	case CODEC_I64:
		return *(const int64_t *)p;
	case CODEC_INT:
		return *(const int *)p;
	case CODEC_U32:
		return *(const uint32_t *)p;
	case CODEC_STR:
		break;
	}
	return 0;
}

static void
codec_set_number(struct cluster_contact *c, const struct codec_field *f,
    int64_t v)
{
	void	*p = (char *)c + f->cf_off;

	switch (f->cf_kind) {
	case CODEC_I64:
		*(int64_t *)p = v;
		break;
	case CODEC_INT:
		*(int *)p = (int)v;
		break;
	case CODEC_U32:
		*(uint32_t *)p = (uint32_t)v;
		break;
	case CODEC_STR:
		break;
	}
}

/* A string field set to s[0..n), cut to its size. */
static void
codec_set_string(struct cluster_contact *c, const struct codec_field *f,
    const char *s, size_t n)
{
	char	*dst = (char *)c + f->cf_off;

	if (n >= f->cf_size)
		n = f->cf_size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Every field empty or zero: what a key left out reads as. */
static void
codec_clear(struct cluster_contact *c)
{
	size_t	 i;

	for (i = 0; i < CODEC_NFIELDS; i++)
		if (codec_fields[i].cf_kind == CODEC_STR)
			codec_set_string(c, &codec_fields[i], "", 0);
		else
			codec_set_number(c, &codec_fields[i], 0);
}

/* Appends s[0..n) at *at if it fits before end; false when not. */
static bool
codec_put(char **at, const char *end, const char *s, size_t n)
{
	if ((size_t)(end - *at) <= n)
		return false;
	memcpy(*at, s, n);
	*at += n;
	return true;
}

/* A string JSON writes as it is: printable ASCII, no quote, no backslash. */
static bool
codec_plain(const char *s, size_t *ret_len)
{
	const unsigned char	*p = (const unsigned char *)s;

	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			return false;
	*ret_len = (size_t)(p - (const unsigned char *)s);
	return true;
}

/*
 * The shape cluster_decode() matches, written directly when every string
 * is plain (what a REGISTER holds nearly always); -1 otherwise (jansson
 * writes it: escapes, UTF-8 checked). Through jansson, ~30 allocations
 * and an snprintf() per number: a tenth of what Redis cost a worker.
 */
static int
codec_encode_plain(const struct cluster_contact *c, char *buf, size_t len)
{
	const struct codec_field	*f;
	char				*at = buf, *end = buf + len;
	char				 num[24], *d;
	const char			*s;
	uint64_t			 u;
	int64_t				 v;
	size_t				 i, n;

	if (!codec_put(&at, end, "{", 1))
		return -1;
	for (i = 0; i < CODEC_NFIELDS; i++) {
		f = &codec_fields[i];
		if ((i > 0 && !codec_put(&at, end, ",", 1)) ||
		    !codec_put(&at, end, "\"", 1) ||
		    !codec_put(&at, end, f->cf_key, f->cf_keylen) ||
		    !codec_put(&at, end, "\":", 2))
			return -1;
		if (f->cf_kind == CODEC_STR) {
			s = (const char *)c + f->cf_off;
			if (!codec_plain(s, &n) || !codec_put(&at, end, "\"", 1) ||
			    !codec_put(&at, end, s, n) ||
			    !codec_put(&at, end, "\"", 1))
				return -1;
			continue;
		}
		v = codec_get_number(c, f);
		u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
		d = num + sizeof(num);
		do
			*--d = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (v < 0)
			*--d = '-';
		if (!codec_put(&at, end, d, (size_t)(num + sizeof(num) - d)))
			return -1;
	}
	if (!codec_put(&at, end, "}", 1))
		return -1;
	*at = '\0';	/* codec_put() left room for it */
	return (int)(at - buf);
}

int
cluster_encode(const struct cluster_contact *c, char *buf, size_t len)
{
	const struct codec_field	*f;
	json_t				*o, *v;
	size_t				 i, n;
	int				 rc;

	if ((rc = codec_encode_plain(c, buf, len)) >= 0)
		return rc;
	if ((o = json_object()) == NULL)
		return -ENOMEM;
	for (i = 0; i < CODEC_NFIELDS; i++) {
		f = &codec_fields[i];
		v = f->cf_kind == CODEC_STR ?
		    json_string((const char *)c + f->cf_off) :
		    json_integer((json_int_t)codec_get_number(c, f));
		if (v == NULL || json_object_set_new(o, f->cf_key, v) != 0) {
			json_decref(o);
			return -EINVAL;	/* a string that is not UTF-8 */
		}
	}
	n = json_dumpb(o, buf, len, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (n == 0 || n >= len)
		return -ENOSPC;
	buf[n] = '\0';
	return (int)n;
}

/*
 * A whole number of at most 18 digits (what sipd writes), without
 * strtoll()'s locale and errno; -1 for anything else.
 */
static int
codec_whole(const char *s, size_t n, int64_t *ret)
{
	int64_t	 v = 0;
	size_t	 i = 0;
	bool	 minus = n > 0 && s[0] == '-';

	if (minus)
		i++;
	if (i == n || n - i > 18)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*ret = minus ? -v : v;
	return 0;
}

/* The value of field f at *p (moved past it); -1 when not as sipd writes. */
static int
codec_own_value(struct cluster_contact *c, const struct codec_field *f,
    const char **p, const char *end)
{
	const char	*q = *p;
	int64_t		 num;

	if (f->cf_kind == CODEC_STR) {
		if (q == end || *q++ != '"' ||
		    (end = memchr(q, '"', (size_t)(end - q))) == NULL ||
		    memchr(q, '\\', (size_t)(end - q)) != NULL)
			return -1;	/* unterminated, or an escape */
		codec_set_string(c, f, q, (size_t)(end - q));
		*p = end + 1;
		return 0;
	}
	while (q < end && (*q == '-' || (*q >= '0' && *q <= '9')))
		q++;
	if (codec_whole(*p, (size_t)(q - *p), &num) != 0)
		return -1;
	codec_set_number(c, f, num);
	*p = q;
	return 0;
}

/* The text exactly as cluster_encode() writes it, or -1. */
static int
codec_decode_own(const char *json, size_t len, struct cluster_contact *c)
{
	const struct codec_field	*f;
	const char			*p = json, *end = json + len;
	size_t				 i;

	if (len < 2 || *p++ != '{')
		return -1;
	for (i = 0; i < CODEC_NFIELDS; i++) {
		f = &codec_fields[i];
		if (i > 0 && (p == end || *p++ != ','))
			return -1;
		/* "key": */
		if ((size_t)(end - p) < f->cf_keylen + 3 || p[0] != '"' ||
		    memcmp(p + 1, f->cf_key, f->cf_keylen) != 0 ||
		    p[1 + f->cf_keylen] != '"' || p[2 + f->cf_keylen] != ':')
			return -1;
		p += f->cf_keylen + 3;
		if (codec_own_value(c, f, &p, end) != 0)
			return -1;
	}
	return end - p == 1 && *p == '}' ? 0 : -1;
}

int
cluster_decode(const char *json, size_t len, struct cluster_contact *c)
{
	const struct codec_field	*f;
	json_t				*o, *v;
	json_error_t			 err;
	size_t				 i;

	if (codec_decode_own(json, len, c) == 0)
		return 0;
	if ((o = json_loadb(json, len, 0, &err)) == NULL)
		return -EBADMSG;
	if (!json_is_object(o)) {
		json_decref(o);
		return -EBADMSG;
	}
	codec_clear(c);
	for (i = 0; i < CODEC_NFIELDS; i++) {
		f = &codec_fields[i];
		v = json_object_get(o, f->cf_key);
		if (f->cf_kind == CODEC_STR && json_is_string(v))
			codec_set_string(c, f, json_string_value(v),
			    json_string_length(v));
		else if (f->cf_kind != CODEC_STR && json_is_integer(v))
			codec_set_number(c, f, json_integer_value(v));
		else if (f->cf_kind != CODEC_STR && json_is_real(v))
			/* Lua's cjson may write a whole number so */
			codec_set_number(c, f, (int64_t)json_real_value(v));
	}
	json_decref(o);
	return 0;
}
