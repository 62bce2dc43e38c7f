/*
 * cluster_codec: one contact of an AoR hash as the JSON text Redis
 * stores (readable with redis-cli, and by the script's cjson). Run by
 * the workers and the sync process.
 *
 * Decoding is what every node pays for every other node's REGISTER,
 * so the text sipd itself writes (no escape in a string, whole numbers)
 * is read with jsmn, which cuts it into tokens in place and allocates
 * nothing; anything else falls back to jansson. A contact through
 * jansson cost the sync process ~5 us, mostly its allocations.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "cluster.h"

/* The object, 13 keys and their values, and room for a few more. */
#define CODEC_TOKENS	48

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

int
cluster_encode(const struct cluster_contact *c, char *buf, size_t len)
{
	const struct codec_field	*f;
	json_t				*o, *v;
	size_t				 i, n;

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

/* The field named by a key token; the one at hint is tried first. */
static const struct codec_field *
codec_field_of(const char *json, const jsmntok_t *t, size_t hint)
{
	size_t	 n = (size_t)(t->end - t->start), i, k;

	for (k = 0; k < CODEC_NFIELDS; k++) {
		i = (hint + k) % CODEC_NFIELDS;
		if (codec_fields[i].cf_keylen == n &&
		    memcmp(json + t->start, codec_fields[i].cf_key, n) == 0)
			return &codec_fields[i];
	}
	return NULL;	/* a key sipd does not know: ignored */
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

/*
 * One value as it is: a string without an escape, a whole number. -1
 * for anything else (jansson decides), or a value of the wrong kind for
 * its key (as jansson's path: left empty or zero).
 */
static int
codec_value(struct cluster_contact *c, const struct codec_field *f,
    const char *json, const jsmntok_t *v)
{
	size_t		 n = (size_t)(v->end - v->start);
	int64_t		 num;

	if (v->type == JSMN_STRING) {
		if (memchr(json + v->start, '\\', n) != NULL)
			return -1;
		if (f != NULL && f->cf_kind == CODEC_STR)
			codec_set_string(c, f, json + v->start, n);
		return 0;
	}
	if (v->type != JSMN_PRIMITIVE ||
	    codec_whole(json + v->start, n, &num) != 0)
		return -1;
	if (f != NULL && f->cf_kind != CODEC_STR)
		codec_set_number(c, f, num);
	return 0;
}

/* Where a token's text begins and ends, a string's quotes included. */
static int
codec_lo(const jsmntok_t *t)
{
	return t->start - (t->type == JSMN_STRING);
}

static int
codec_hi(const jsmntok_t *t)
{
	return t->end + (t->type == JSMN_STRING);
}

/*
 * Whether json[lo, hi) is blanks around exactly the one separator want
 * (none when want is 0): jsmn does not check them ("{,"a"::1}" passes).
 */
static bool
codec_gap(const char *json, int lo, int hi, char want)
{
	int	 seen = 0;

	for (; lo < hi; lo++) {
		if (json[lo] == ' ' || json[lo] == '\t' || json[lo] == '\r' ||
		    json[lo] == '\n')
			continue;
		if (json[lo] != want || seen++)
			return false;
	}
	return seen == (want != '\0');
}

/* The text as sipd writes it; -1 when jansson must read it. */
static int
codec_decode_plain(const char *json, size_t len, struct cluster_contact *c)
{
	jsmntok_t	 tok[CODEC_TOKENS];
	jsmn_parser	 p;
	int		 n, i, at;

	jsmn_init(&p);
	n = jsmn_parse(&p, json, len, tok, CODEC_TOKENS);
	if (n < 1 || tok[0].type != JSMN_OBJECT || tok[0].size * 2 != n - 1 ||
	    !codec_gap(json, 0, tok[0].start, '\0') ||
	    !codec_gap(json, tok[0].end, (int)len, '\0'))
		return -1;	/* not one flat object, alone */
	at = tok[0].start + 1;
	for (i = 1; i + 1 < n; i += 2) {
		if (!codec_gap(json, at, codec_lo(&tok[i]), i > 1 ? ',' : 0) ||
		    !codec_gap(json, codec_hi(&tok[i]), codec_lo(&tok[i + 1]),
		    ':'))
			return -1;
		at = codec_hi(&tok[i + 1]);
	}
	if (!codec_gap(json, at, tok[0].end - 1, '\0'))
		return -1;
	codec_clear(c);
	for (i = 1; i + 1 < n; i += 2)
		if (tok[i].type != JSMN_STRING ||
		    memchr(json + tok[i].start, '\\',
		    (size_t)(tok[i].end - tok[i].start)) != NULL ||
		    codec_value(c, codec_field_of(json, &tok[i],
		    (size_t)(i / 2)), json, &tok[i + 1]) != 0)
			return -1;
	return 0;
}

int
cluster_decode(const char *json, size_t len, struct cluster_contact *c)
{
	const struct codec_field	*f;
	json_t				*o, *v;
	json_error_t			 err;
	size_t				 i;

	if (len <= INT_MAX && codec_decode_plain(json, len, c) == 0)
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
