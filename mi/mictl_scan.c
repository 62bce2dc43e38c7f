/*
 * mictl_scan: the reading side of mictl. An MI reply is one line of
 * JSON (mi/PROTOCOL.md §2), up to hundreds of MB for a ul.dump of a
 * million bindings. Decoding it whole with jansson costs about ten times
 * its size in memory, so mictl reads it through a 64 KiB window instead:
 * the caller steps over the '{' '[' ',' ':' ']' '}' itself and asks for
 * each value, whose bytes are cut out here by a small scanner that only
 * tracks strings and bracket depth. A value is then handed to
 * json_loadb(), which does all the real checking, unless it is a scalar
 * whose decoded value is plainly its own text (an ASCII string without
 * escapes, a small integer, true/false/null): those, nearly every scalar
 * sipd sends, are printed as cut, because jansson's decoder takes about
 * 15 ns a byte and a million bindings are 287 MB. Runs in mictl only.
 *
 * The reply line ends at its LF (§2): bytes past it are never read, and
 * a connection closed before it means the reply is incomplete (§5).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mictl_scan.h"

static int __attribute__((format(printf, 2, 3)))
mictl_scan_fail(struct mictl_scan *sc, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(sc->sc_err, sizeof(sc->sc_err), fmt, ap);
	va_end(ap);
	return -1;
}

void
mictl_scan_init(struct mictl_scan *sc, int fd)
{
	memset(sc, 0, sizeof(*sc));
	sc->sc_fd = fd;
}

void
mictl_scan_clear(struct mictl_scan *sc)
{
	if (sc == NULL)
		return;
	free(sc->sc_val);
	sc->sc_val = NULL;
	sc->sc_val_len = sc->sc_val_cap = 0;
	free(sc->sc_key);
	sc->sc_key = NULL;
	sc->sc_key_cap = 0;
}

/* Refills the window; only called when it is used up and no LF seen. */
static int
mictl_scan_fill(struct mictl_scan *sc)
{
	ssize_t	n;
	char	*nl;

	for (;;) {
		n = recv(sc->sc_fd, sc->sc_in, sizeof(sc->sc_in), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return mictl_scan_fail(sc,
			    "no reply from sipd in time");
		if (n == -1)
			return mictl_scan_fail(sc, "recv: %s", strerror(errno));
		if (n == 0)
			return mictl_scan_fail(sc, sc->sc_total == 0 ?
			    "connection closed without a reply" :
			    "reply truncated: connection closed");
		break;
	}
	sc->sc_pos = 0;
	sc->sc_len = (size_t)n;
	if ((nl = memchr(sc->sc_in, '\n', sc->sc_len)) != NULL) {
		/* The line ends here; keep the LF as its end marker. */
		sc->sc_len = (size_t)(nl - sc->sc_in) + 1;
		sc->sc_eol = true;
	}
	sc->sc_total += sc->sc_len;
	return 0;
}

/* The next byte that is not JSON white space, left unread. */
int
mictl_scan_peek(struct mictl_scan *sc, int *ret_c)
{
	char	c;

	for (;;) {
		if (sc->sc_pos == sc->sc_len && mictl_scan_fill(sc) == -1)
			return -1;
		c = sc->sc_in[sc->sc_pos];
		if (c == '\n' && sc->sc_eol && sc->sc_pos + 1 == sc->sc_len) {
			*ret_c = MICTL_SCAN_EOL;
			return 0;
		}
		if (c != ' ' && c != '\t' && c != '\r')
			break;
		sc->sc_pos++;
	}
	*ret_c = (unsigned char)c;
	return 0;
}

static const char *
mictl_scan_what(int c)
{
	static char	buf[8];

	if (c == MICTL_SCAN_EOL)
		return "end of line";
	snprintf(buf, sizeof(buf), "'%c'", c);
	return buf;
}

/* Consumes c, which must come next. */
int
mictl_scan_expect(struct mictl_scan *sc, int c)
{
	int	next;

	if (mictl_scan_peek(sc, &next) == -1)
		return -1;
	if (next != c)
		return mictl_scan_fail(sc, "bad reply from sipd: '%c' "
		    "expected near byte %zu, got %s", c,
		    sc->sc_total - (sc->sc_len - sc->sc_pos),
		    mictl_scan_what(next));
	sc->sc_pos++;
	return 0;
}

static int
mictl_scan_append(struct mictl_scan *sc, const char *p, size_t n)
{
	size_t	 cap;
	char	*q;

	if (n > sc->sc_val_cap - sc->sc_val_len) {
		if (n > MICTL_SCAN_VALUE_MAX - sc->sc_val_len)
			return mictl_scan_fail(sc, "reply value larger than "
			    "%zu bytes", MICTL_SCAN_VALUE_MAX);
		cap = sc->sc_val_cap == 0 ? 4096 : sc->sc_val_cap;
		while (cap - sc->sc_val_len < n)
			cap *= 2;
		if ((q = realloc(sc->sc_val, cap)) == NULL)
			return mictl_scan_fail(sc, "out of memory for the "
			    "reply");
		sc->sc_val = q;
		sc->sc_val_cap = cap;
	}
	memcpy(sc->sc_val + sc->sc_val_len, p, n);
	sc->sc_val_len += n;
	return 0;
}

/*
 * Cuts the bytes of the next value into sc_val: a string up to its
 * closing quote, an object or array up to its matching bracket, anything
 * else up to the next delimiter. Malformed text is cut somewhere and
 * jansson then says what is wrong with it.
 */
static int
mictl_scan_cut(struct mictl_scan *sc)
{
	const char	*p, *q, *end;
	bool		 scalar, in_str = false, esc = false, done = false;
	int		 c, depth = 0;

	if (mictl_scan_peek(sc, &c) == -1)
		return -1;
	if (c == MICTL_SCAN_EOL)
		return mictl_scan_fail(sc, "reply truncated: line ends "
		    "inside the result");
	scalar = c != '"' && c != '{' && c != '[';
	sc->sc_val_len = 0;
	do {
		if (sc->sc_pos == sc->sc_len && mictl_scan_fill(sc) == -1)
			return -1;
		p = sc->sc_in + sc->sc_pos;
		end = sc->sc_in + sc->sc_len;
		for (q = p; q < end && !done; q++) {
			if (*q == '\n') {
				/* the final LF: the value ends, cut or not */
				done = true;
				break;
			}
			if (in_str) {
				if (esc)
					esc = false;
				else if (*q == '\\')
					esc = true;
				else if (*q == '"')
					in_str = false;
				done = !in_str && depth == 0;
				continue;
			}
			/* a scalar ends before its delimiter, left unread */
			if (scalar && (*q == ',' || *q == '}' || *q == ']' ||
			    *q == ' ' || *q == '\t' || *q == '\r')) {
				done = true;
				break;
			}
			switch (*q) {
			case '"':
				in_str = !scalar;
				break;
			case '{':
			case '[':
				depth++;
				break;
			case '}':
			case ']':
				done = --depth == 0;
				break;
			default:
				break;
			}
		}
		if (mictl_scan_append(sc, p, (size_t)(q - p)) == -1)
			return -1;
		sc->sc_pos = (size_t)(q - sc->sc_in);
	} while (!done);
	return 0;
}

/* Decodes the value last cut. */
int
mictl_scan_decode(struct mictl_scan *sc, json_t **ret_v)
{
	json_error_t	 jerr;
	json_t		*v;

	v = json_loadb(sc->sc_val, sc->sc_val_len,
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (v == NULL)
		return mictl_scan_fail(sc, "bad reply from sipd: %s",
		    jerr.text);
	*ret_v = v;
	return 0;
}

/* Cuts the next value and decodes it alone. */
int
mictl_scan_value(struct mictl_scan *sc, json_t **ret_v)
{
	if (mictl_scan_cut(sc) == -1)
		return -1;
	return mictl_scan_decode(sc, ret_v);
}

static enum mictl_scan_kind
mictl_scan_classify(const char *p, size_t n)
{
	size_t	i, d;

	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		for (i = 1; i < n - 1; i++)
			if ((unsigned char)p[i] < 0x20 ||
			    (unsigned char)p[i] > 0x7e || p[i] == '\\')
				return MICTL_SCAN_OTHER;
		return MICTL_SCAN_STRING;
	}
	if ((n == 4 && memcmp(p, "true", 4) == 0) ||
	    (n == 5 && memcmp(p, "false", 5) == 0) ||
	    (n == 4 && memcmp(p, "null", 4) == 0))
		return MICTL_SCAN_WORD;
	/* jansson prints "-0" as 0 and refuses leading zeros */
	i = n > 0 && p[0] == '-';
	d = n - i;
	if (d == 0 || d > 18 || (p[i] == '0' && (d > 1 || i == 1)))
		return MICTL_SCAN_OTHER;
	for (; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return MICTL_SCAN_OTHER;
	return MICTL_SCAN_INTEGER;
}

/*
 * Cuts the next value (the caller saw it is no object or array) and
 * says whether it prints as cut; MICTL_SCAN_OTHER goes to
 * mictl_scan_decode().
 */
int
mictl_scan_scalar(struct mictl_scan *sc, enum mictl_scan_kind *ret_k)
{
	if (mictl_scan_cut(sc) == -1)
		return -1;
	*ret_k = mictl_scan_classify(sc->sc_val, sc->sc_val_len);
	return 0;
}

static int
mictl_scan_set_key(struct mictl_scan *sc, const char *p, size_t n)
{
	size_t	 cap;
	char	*q;

	if (n + 1 > sc->sc_key_cap) {
		cap = n + 1 < 256 ? 256 : n + 1;
		if ((q = realloc(sc->sc_key, cap)) == NULL)
			return mictl_scan_fail(sc, "out of memory for the "
			    "reply");
		sc->sc_key = q;
		sc->sc_key_cap = cap;
	}
	memcpy(sc->sc_key, p, n);
	sc->sc_key[n] = '\0';
	return 0;
}

/*
 * An object member's name and the ':' after it. The decoded name is in
 * sc_key until the next call.
 */
int
mictl_scan_key(struct mictl_scan *sc, const char **ret_name)
{
	enum mictl_scan_kind	 kind;
	json_t			*k;
	int			 rc;

	if (mictl_scan_scalar(sc, &kind) == -1)
		return -1;
	if (kind == MICTL_SCAN_STRING)
		rc = mictl_scan_set_key(sc, sc->sc_val + 1,
		    sc->sc_val_len - 2);
	else {
		if (mictl_scan_decode(sc, &k) == -1)
			return -1;
		if (!json_is_string(k))
			rc = mictl_scan_fail(sc, "bad reply from sipd: string "
			    "or '}' expected near byte %zu",
			    sc->sc_total - (sc->sc_len - sc->sc_pos));
		/* jansson refuses a NUL in a name when it decodes objects */
		else if (strlen(json_string_value(k)) !=
		    json_string_length(k))
			rc = mictl_scan_fail(sc, "bad reply from sipd: NUL "
			    "byte in object key not supported");
		else
			rc = mictl_scan_set_key(sc, json_string_value(k),
			    json_string_length(k));
		json_decref(k);
	}
	if (rc == -1 || mictl_scan_expect(sc, ':') == -1)
		return -1;
	*ret_name = sc->sc_key;
	return 0;
}

/* Nothing but white space may follow the reply, up to its LF. */
int
mictl_scan_end(struct mictl_scan *sc)
{
	int	c;

	if (mictl_scan_peek(sc, &c) == -1)
		return -1;
	if (c != MICTL_SCAN_EOL)
		return mictl_scan_fail(sc, "bad reply from sipd: end of "
		    "line expected near byte %zu, got %s",
		    sc->sc_total - (sc->sc_len - sc->sc_pos),
		    mictl_scan_what(c));
	return 0;
}
