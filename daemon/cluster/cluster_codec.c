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

int
cluster_encode(const struct cluster_contact *c, char *buf, size_t len)
{
	json_t	*o;
	size_t	 n;

	o = json_pack("{s:I, s:i, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, "
	    "s:I, s:I, s:I}",
	    "expires", (json_int_t)c->cc_expires, "q", c->cc_q,
	    "callid", c->cc_callid, "cseq", (json_int_t)c->cc_cseq,
	    "ua", c->cc_ua, "received", c->cc_received, "path", c->cc_path,
	    "socket", c->cc_socket, "node", c->cc_node,
	    "flags", (json_int_t)c->cc_flags,
	    "cflags", (json_int_t)c->cc_cflags,
	    "methods", (json_int_t)c->cc_methods,
	    "modified", (json_int_t)c->cc_modified);
	if (o == NULL)
		return -EINVAL;	/* a string that is not UTF-8 */
	n = json_dumpb(o, buf, len, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (n == 0 || n >= len)
		return -ENOSPC;
	buf[n] = '\0';
	return (int)n;
}

static void
cluster_copy(char *dst, size_t cap, json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);
	size_t	 n;

	dst[0] = '\0';
	if (!json_is_string(v))
		return;
	n = json_string_length(v);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, json_string_value(v), n);
	dst[n] = '\0';
}

static int64_t
cluster_int(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_real(v))	/* cjson may write a whole number so */
		return (int64_t)json_real_value(v);
	return 0;
}

/* The string fields of a contact, by key. */
static const struct codec_string {
	const char	*cs_key;
	size_t		 cs_off, cs_cap;
} codec_strings[] = {
#define CODEC_STRING(key, field) { key, \
	offsetof(struct cluster_contact, field), \
	sizeof(((struct cluster_contact *)0)->field) }
	CODEC_STRING("callid", cc_callid),
	CODEC_STRING("ua", cc_ua),
	CODEC_STRING("received", cc_received),
	CODEC_STRING("path", cc_path),
	CODEC_STRING("socket", cc_socket),
	CODEC_STRING("node", cc_node),
#undef CODEC_STRING
};

static bool
codec_key_is(const char *json, const jsmntok_t *t, const char *key)
{
	size_t	 n = (size_t)(t->end - t->start);

	return strlen(key) == n && memcmp(json + t->start, key, n) == 0;
}

/* A string value copied as it is: -1 when it holds an escape. */
static int
codec_string(struct cluster_contact *c, const char *json, const jsmntok_t *k,
    const jsmntok_t *v)
{
	const struct codec_string	*cs;
	size_t				 n = (size_t)(v->end - v->start), i;
	char				*dst;

	for (i = 0; i < sizeof(codec_strings) / sizeof(codec_strings[0]); i++)
		if (codec_key_is(json, k, codec_strings[i].cs_key))
			break;
	if (i == sizeof(codec_strings) / sizeof(codec_strings[0]))
		return 0;	/* a key sipd does not know: ignored */
	cs = &codec_strings[i];
	if (memchr(json + v->start, '\\', n) != NULL)
		return -1;
	if (n >= cs->cs_cap)
		n = cs->cs_cap - 1;
	dst = (char *)c + cs->cs_off;
	memcpy(dst, json + v->start, n);
	dst[n] = '\0';
	return 0;
}

/* A whole number: -1 for anything else (a real, true, null). */
static int
codec_number(struct cluster_contact *c, const char *json, const jsmntok_t *k,
    const jsmntok_t *v)
{
	char		*end;
	long long	 n;

	if (v->type != JSMN_PRIMITIVE)
		return -1;
	errno = 0;
	n = strtoll(json + v->start, &end, 10);
	if (errno != 0 || end != json + v->end)
		return -1;
	if (codec_key_is(json, k, "expires"))
		c->cc_expires = n;
	else if (codec_key_is(json, k, "modified"))
		c->cc_modified = n;
	else if (codec_key_is(json, k, "q"))
		c->cc_q = (int)n;
	else if (codec_key_is(json, k, "cseq"))
		c->cc_cseq = (uint32_t)n;
	else if (codec_key_is(json, k, "flags"))
		c->cc_flags = (uint32_t)n;
	else if (codec_key_is(json, k, "cflags"))
		c->cc_cflags = (uint32_t)n;
	else if (codec_key_is(json, k, "methods"))
		c->cc_methods = (uint32_t)n;
	return 0;
}

static void
codec_clear(struct cluster_contact *c)
{
	size_t	 i;

	for (i = 0; i < sizeof(codec_strings) / sizeof(codec_strings[0]); i++)
		*((char *)c + codec_strings[i].cs_off) = '\0';
	c->cc_expires = c->cc_modified = 0;
	c->cc_q = 0;
	c->cc_cseq = c->cc_flags = c->cc_cflags = c->cc_methods = 0;
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
		if (strchr(" \t\r\n", json[lo]) != NULL)
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
	for (i = 1; i + 1 < n; i += 2) {
		if (tok[i].type != JSMN_STRING ||
		    memchr(json + tok[i].start, '\\',
		    (size_t)(tok[i].end - tok[i].start)) != NULL)
			return -1;
		if ((tok[i + 1].type == JSMN_STRING ?
		    codec_string(c, json, &tok[i], &tok[i + 1]) :
		    codec_number(c, json, &tok[i], &tok[i + 1])) != 0)
			return -1;
	}
	return 0;
}

int
cluster_decode(const char *json, size_t len, struct cluster_contact *c)
{
	json_t		*o;
	json_error_t	 err;

	if (len <= INT_MAX && codec_decode_plain(json, len, c) == 0)
		return 0;

	if ((o = json_loadb(json, len, 0, &err)) == NULL)
		return -EBADMSG;
	if (!json_is_object(o)) {
		json_decref(o);
		return -EBADMSG;
	}
	cluster_copy(c->cc_callid, sizeof(c->cc_callid), o, "callid");
	cluster_copy(c->cc_ua, sizeof(c->cc_ua), o, "ua");
	cluster_copy(c->cc_received, sizeof(c->cc_received), o, "received");
	cluster_copy(c->cc_path, sizeof(c->cc_path), o, "path");
	cluster_copy(c->cc_socket, sizeof(c->cc_socket), o, "socket");
	cluster_copy(c->cc_node, sizeof(c->cc_node), o, "node");
	c->cc_expires = cluster_int(o, "expires");
	c->cc_modified = cluster_int(o, "modified");
	c->cc_q = (int)cluster_int(o, "q");
	c->cc_cseq = (uint32_t)cluster_int(o, "cseq");
	c->cc_flags = (uint32_t)cluster_int(o, "flags");
	c->cc_cflags = (uint32_t)cluster_int(o, "cflags");
	c->cc_methods = (uint32_t)cluster_int(o, "methods");
	json_decref(o);
	return 0;
}
