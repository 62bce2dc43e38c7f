/*
 * mi_reply: the reply a MI command handler builds, whole or streamed,
 * and the JSON text emitters for streams. Runs in the master (MI
 * server); nothing here does I/O or logs, the server does both.
 *
 * Strings from the SIP side (User-Agent, Call-ID) are arbitrary bytes.
 * JSON needs UTF-8, so valid UTF-8 passes unchanged and every byte that
 * is not part of a valid sequence is taken as Latin-1 (0xE9 becomes
 * U+00E9, "\u00e9" on the wire). NUL becomes "\u0000". This never fails
 * and keeps ASCII exact, which is all SIP headers should contain.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "mi_reply.h"

static const char mi_hex[] = "0123456789abcdef";

/*
 * Length of the valid UTF-8 sequence at p (at most n bytes), 0 if the
 * byte there does not start one. Rejects overlong forms, surrogates and
 * code points above U+10FFFF, as jansson's decoder does, so that what
 * we emit is what the client accepts.
 */
static size_t
mi_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char	 c = p[0];
	size_t		 len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if (c == 0xe0 && p[1] < 0xa0)		/* overlong */
		return 0;
	if (c == 0xed && p[1] >= 0xa0)		/* surrogate */
		return 0;
	if (c == 0xf0 && p[1] < 0x90)		/* overlong */
		return 0;
	if (c == 0xf4 && p[1] >= 0x90)		/* > U+10FFFF */
		return 0;
	return len;
}

int
mi_json_escape(struct evbuffer *out, const char *p, size_t n)
{
	const unsigned char	*s = (const unsigned char *)p;
	size_t			 i = 0, run, len;
	char			 esc[8];

	if (evbuffer_add(out, "\"", 1) == -1)
		return -1;
	while (i < n) {
		/* Copy the longest run that needs no escaping at once. */
		run = i;
		while (run < n) {
			if (s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' &&
			    s[run] != '\\') {
				run++;
				continue;
			}
			if (s[run] >= 0x80 &&
			    (len = mi_utf8_len(s + run, n - run)) > 0) {
				run += len;
				continue;
			}
			break;
		}
		if (run > i && evbuffer_add(out, s + i, run - i) == -1)
			return -1;
		i = run;
		if (i == n)
			break;
		switch (s[i]) {
		case '"':
			memcpy(esc, "\\\"", 2);
			len = 2;
			break;
		case '\\':
			memcpy(esc, "\\\\", 2);
			len = 2;
			break;
		case '\n':
			memcpy(esc, "\\n", 2);
			len = 2;
			break;
		case '\r':
			memcpy(esc, "\\r", 2);
			len = 2;
			break;
		case '\t':
			memcpy(esc, "\\t", 2);
			len = 2;
			break;
		default:
			/* control byte or stray high byte: its Latin-1 value */
			memcpy(esc, "\\u00", 4);
			esc[4] = mi_hex[s[i] >> 4];
			esc[5] = mi_hex[s[i] & 0xf];
			len = 6;
			break;
		}
		if (evbuffer_add(out, esc, len) == -1)
			return -1;
		i++;
	}
	return evbuffer_add(out, "\"", 1);
}

json_t *
mi_json_string(const char *p, size_t n)
{
	const unsigned char	*s = (const unsigned char *)p;
	char			*buf;
	size_t			 i, o, len;
	json_t			*v;

	/* Worst case every byte is a stray high byte: two bytes each. */
	if (n > (SIZE_MAX - 1) / 2 || (buf = malloc(2 * n + 1)) == NULL)
		return NULL;
	for (i = o = 0; i < n; ) {
		if ((len = mi_utf8_len(s + i, n - i)) > 0) {
			memcpy(buf + o, s + i, len);
			o += len;
			i += len;
		} else {
			buf[o++] = (char)(0xc0 | (s[i] >> 6));
			buf[o++] = (char)(0x80 | (s[i] & 0x3f));
			i++;
		}
	}
	buf[o] = '\0';
	v = json_stringn_nocheck(buf, o);
	free(buf);
	return v;
}

void
mi_reply_init(struct mi_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->rp_kind = MI_REPLY_VALUE;
}

void
mi_reply_clear(struct mi_reply *r)
{
	json_decref(r->rp_result);
	r->rp_result = NULL;
	if (r->rp_free != NULL && r->rp_state != NULL)
		r->rp_free(r->rp_state);
	r->rp_gen = NULL;
	r->rp_state = NULL;
	r->rp_free = NULL;
	r->rp_kind = MI_REPLY_VALUE;
}

void
mi_reply_set(struct mi_reply *r, json_t *v)
{
	mi_reply_clear(r);
	r->rp_kind = MI_REPLY_VALUE;
	r->rp_result = v;
}

void
mi_reply_ok(struct mi_reply *r)
{
	json_t	*v;

	if ((v = json_string("OK")) == NULL)
		mi_reply_error(r, MI_E_INTERNAL,
		    "Internal error: out of memory");
	else
		mi_reply_set(r, v);
}

void
mi_reply_error(struct mi_reply *r, int code, const char *fmt, ...)
{
	va_list	ap;

	mi_reply_clear(r);
	r->rp_kind = MI_REPLY_ERROR;
	r->rp_code = code;
	va_start(ap, fmt);
	vsnprintf(r->rp_text, sizeof(r->rp_text), fmt, ap);
	va_end(ap);
}

void
mi_reply_stream(struct mi_reply *r, mi_stream_fn gen, void *state,
    mi_stream_free_fn free_state)
{
	mi_reply_clear(r);
	r->rp_kind = MI_REPLY_STREAM;
	r->rp_gen = gen;
	r->rp_state = state;
	r->rp_free = free_state;
}

int
mi_arg_long(struct mi_reply *r, const char *what, const char *text,
    long min, long max, long *ret)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (text[0] == '\0' || *end != '\0' || errno == ERANGE ||
	    v < min || v > max) {
		mi_reply_error(r, MI_E_PARAMS,
		    "Invalid params: %s must be an integer in %ld..%ld",
		    what, min, max);
		return -1;
	}
	*ret = v;
	return 0;
}

int
mi_arg_double(struct mi_reply *r, const char *what, const char *text,
    double min, double max, double *ret)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(text, &end);
	if (text[0] == '\0' || *end != '\0' || errno == ERANGE ||
	    !isfinite(v) || v < min || v > max) {
		mi_reply_error(r, MI_E_PARAMS,
		    "Invalid params: %s must be a number in %g..%g",
		    what, min, max);
		return -1;
	}
	*ret = v;
	return 0;
}

struct mi_stream *
mi_stream_new(struct mi_reply *r)
{
	struct mi_stream	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->ms_out = evbuffer_new()) == NULL) {
		free(s);
		mi_reply_clear(r);
		return NULL;
	}
	s->ms_gen = r->rp_gen;
	s->ms_state = r->rp_state;
	s->ms_free = r->rp_free;
	r->rp_gen = NULL;
	r->rp_state = NULL;
	r->rp_free = NULL;
	return s;
}

void
mi_stream_free(struct mi_stream *s)
{
	if (s == NULL)
		return;
	if (s->ms_free != NULL && s->ms_state != NULL)
		s->ms_free(s->ms_state);
	evbuffer_free(s->ms_out);
	free(s);
}

enum mi_stream_status
mi_stream_step(struct mi_stream *s)
{
	int	rc;

	if (s->ms_broken || s->ms_failed)
		return MI_STREAM_FAIL;
	rc = s->ms_gen(s, s->ms_state);
	if (s->ms_broken || s->ms_failed)
		return MI_STREAM_FAIL;
	switch (rc) {
	case MI_STREAM_MORE:
		return MI_STREAM_MORE;
	case MI_STREAM_DONE:
		/* Done means one complete top value: anything else is a bug. */
		if (s->ms_depth != 0 || s->ms_count[0] != 1) {
			s->ms_broken = true;
			return MI_STREAM_FAIL;
		}
		return MI_STREAM_DONE;
	default:
		/* failed without saying why */
		s->ms_broken = true;
		return MI_STREAM_FAIL;
	}
}

void
mi_stream_error(struct mi_stream *s, int code, const char *fmt, ...)
{
	va_list	ap;

	s->ms_failed = true;
	s->ms_code = code;
	va_start(ap, fmt);
	vsnprintf(s->ms_text, sizeof(s->ms_text), fmt, ap);
	va_end(ap);
}

size_t
mi_stream_pending(const struct mi_stream *s)
{
	return evbuffer_get_length(s->ms_out);
}

/* Separator and key before a new item at the current level. */
static int
mi_stream_item(struct mi_stream *s, const char *key)
{
	int	d = s->ms_depth;

	if (s->ms_broken)
		return -1;
	if (d == 0) {
		if (key != NULL || s->ms_count[0] != 0)
			goto misuse;
	} else if ((s->ms_kind[d] == 'o') != (key != NULL))
		goto misuse;
	if (s->ms_count[d] > 0 && evbuffer_add(s->ms_out, ",", 1) == -1)
		goto fail;
	if (key != NULL && (mi_json_escape(s->ms_out, key, strlen(key)) == -1 ||
	    evbuffer_add(s->ms_out, ":", 1) == -1))
		goto fail;
	s->ms_count[d]++;
	return 0;
misuse:
fail:
	s->ms_broken = true;
	return -1;
}

static int
mi_stream_open(struct mi_stream *s, const char *key, char kind)
{
	if (mi_stream_item(s, key) == -1)
		return -1;
	if (s->ms_depth == MI_STREAM_DEPTH ||
	    evbuffer_add(s->ms_out, kind == 'o' ? "{" : "[", 1) == -1) {
		s->ms_broken = true;
		return -1;
	}
	s->ms_depth++;
	s->ms_kind[s->ms_depth] = kind;
	s->ms_count[s->ms_depth] = 0;
	return 0;
}

static int
mi_stream_close(struct mi_stream *s, char kind)
{
	if (s->ms_broken)
		return -1;
	if (s->ms_depth == 0 || s->ms_kind[s->ms_depth] != kind ||
	    evbuffer_add(s->ms_out, kind == 'o' ? "}" : "]", 1) == -1) {
		s->ms_broken = true;
		return -1;
	}
	s->ms_depth--;
	return 0;
}

int
mi_stream_obj_open(struct mi_stream *s, const char *key)
{
	return mi_stream_open(s, key, 'o');
}

int
mi_stream_obj_close(struct mi_stream *s)
{
	return mi_stream_close(s, 'o');
}

int
mi_stream_arr_open(struct mi_stream *s, const char *key)
{
	return mi_stream_open(s, key, 'a');
}

int
mi_stream_arr_close(struct mi_stream *s)
{
	return mi_stream_close(s, 'a');
}

/* A scalar whose JSON text is already known to be valid. */
static int
mi_stream_raw(struct mi_stream *s, const char *key, const char *text)
{
	if (mi_stream_item(s, key) == -1)
		return -1;
	if (evbuffer_add(s->ms_out, text, strlen(text)) == -1) {
		s->ms_broken = true;
		return -1;
	}
	return 0;
}

int
mi_stream_str(struct mi_stream *s, const char *key, const char *p, size_t n)
{
	if (mi_stream_item(s, key) == -1)
		return -1;
	if (mi_json_escape(s->ms_out, p, n) == -1) {
		s->ms_broken = true;
		return -1;
	}
	return 0;
}

int
mi_stream_cstr(struct mi_stream *s, const char *key, const char *str)
{
	return mi_stream_str(s, key, str, strlen(str));
}

int
mi_stream_int(struct mi_stream *s, const char *key, int64_t v)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return mi_stream_raw(s, key, buf);
}

int
mi_stream_real(struct mi_stream *s, const char *key, double v)
{
	char	buf[48];

	/* JSON has no NaN or infinity. */
	if (!isfinite(v))
		return mi_stream_raw(s, key, "null");
	snprintf(buf, sizeof(buf), "%.15g", v);
	/* Keep it a real on the wire so clients print it as one. */
	if (strpbrk(buf, ".e") == NULL)
		memcpy(buf + strlen(buf), ".0", 3);
	return mi_stream_raw(s, key, buf);
}

