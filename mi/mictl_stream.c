/*
 * mictl_stream: walks the reply line {"jsonrpc":"2.0","result":R,"id":N}
 * as mictl_scan cuts it and prints R as it goes. Runs in mictl only.
 *
 * R is stepped through token by token and printed at once: containers
 * here, scalars as cut when their text is their value (mictl_scan.h),
 * else decoded alone by jansson and printed with mictl_render at the
 * depth they have in R. So mictl's memory stays at a few MB whatever
 * the number of bindings, and the bytes printed are the ones printing
 * the whole decoded R would give (test/mi checks this against the
 * whole-reply renderer).
 *
 * One layout needs the whole array first: a top-level array is printed
 * as a table (subscriber.list, core.ps) only if every element is an
 * object of scalars. Its elements are kept as text (a spool: memory,
 * then a temporary file) until one is not such an object or the array
 * ends, and printed then.
 *
 * What streaming changes: a reply that breaks off or turns out to be
 * malformed midway has had its first part printed before mictl fails
 * (exit 2 as before); and a name repeated within one object would print
 * twice where jansson keeps the last one (sipd never sends that).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mictl_render.h"
#include "mictl_scan.h"
#include "mictl_stream.h"

/*
 * Levels of the result walked token by token; a value deeper than that
 * is decoded whole, and jansson refuses nesting past 2048 levels, so a
 * broken server cannot make mictl recurse without end.
 */
#define MICTL_STREAM_LEVELS	64
/* Table rows kept in memory before the spool moves to a file. */
#define MICTL_SPOOL_MEM		((size_t)1 << 20)

/* Elements of a top-level array held back until its layout is known. */
struct mictl_spool {
	char	*sp_buf;		/* rows, one per line, in memory */
	size_t	 sp_len;
	size_t	 sp_cap;
	FILE	*sp_file;		/* the rows past MICTL_SPOOL_MEM */
};

static int	mictl_stream_text_value(struct mictl_scan *, const char *,
		    int, int);

static int
mictl_stream_oom(struct mictl_scan *sc)
{
	snprintf(sc->sc_err, sizeof(sc->sc_err), "out of memory");
	return -1;
}

/*
 * After a member or element: 1 if another follows (its ',' consumed),
 * 0 at the closing bracket (consumed).
 */
static int
mictl_stream_next(struct mictl_scan *sc, int close)
{
	int	c;

	if (mictl_scan_peek(sc, &c) == -1)
		return -1;
	if (c == ',') {
		sc->sc_pos++;
		return 1;
	}
	if (mictl_scan_expect(sc, close) == -1)
		return -1;
	return 0;
}

/* After the opening bracket: 1 if the container has an item, else 0. */
static int
mictl_stream_first(struct mictl_scan *sc, int close)
{
	int	c;

	if (mictl_scan_peek(sc, &c) == -1)
		return -1;
	if (c != close)
		return 1;
	sc->sc_pos++;
	return 0;
}

/* --- text layout -------------------------------------------------- */

/*
 * The members of an object (or the elements of an array) at depth, as
 * mictl_render_member() / mictl_render_element() would print them.
 */
static int
mictl_stream_text_items(struct mictl_scan *sc, int close, int depth,
    int levels)
{
	const char	*name;
	int		 more, rc;

	if ((more = mictl_stream_first(sc, close)) == -1)
		return -1;
	while (more == 1) {
		if (close == '}') {
			if (mictl_scan_key(sc, &name) == -1)
				return -1;
			rc = mictl_stream_text_value(sc, name, depth, levels);
		} else
			rc = mictl_stream_text_value(sc, NULL, depth, levels);
		if (rc == -1 || (more = mictl_stream_next(sc, close)) == -1)
			return -1;
	}
	return 0;
}

/* A scalar that prints as cut, as mictl_scalar() would print it. */
static void
mictl_stream_text_scalar(const struct mictl_scan *sc,
    enum mictl_scan_kind kind)
{
	if (kind == MICTL_SCAN_STRING)
		fwrite(sc->sc_val + 1, 1, sc->sc_val_len - 2, stdout);
	else if (kind == MICTL_SCAN_INTEGER || sc->sc_val[0] != 'n')
		fwrite(sc->sc_val, 1, sc->sc_val_len, stdout);
}

/*
 * A value printed whole, whose first character is c: 0 when it is a
 * plain scalar left in the scanner (*kind says which), 1 when it was
 * decoded into *v (a container, or a scalar that needs decoding), -1 on
 * an error.
 */
static int
mictl_stream_leaf(struct mictl_scan *sc, int c, enum mictl_scan_kind *kind,
    json_t **v)
{
	if (c == '{' || c == '[')
		return mictl_scan_value(sc, v) == -1 ? -1 : 1;
	if (mictl_scan_scalar(sc, kind) == -1)
		return -1;
	if (*kind != MICTL_SCAN_OTHER)
		return 0;
	return mictl_scan_decode(sc, v) == -1 ? -1 : 1;
}

/*
 * A member (name != NULL) or an array element (name NULL) at depth. The
 * name is the scanner's: printed before anything else is scanned.
 */
static int
mictl_stream_text_value(struct mictl_scan *sc, const char *name, int depth,
    int levels)
{
	enum mictl_scan_kind	 kind;
	json_t			*v;
	int			 c, rc;

	if (mictl_scan_peek(sc, &c) == -1)
		return -1;
	if (levels > 0 && (c == '{' || c == '[')) {
		sc->sc_pos++;
		if (name == NULL)	/* spliced in: no "Name: {" line */
			return mictl_stream_text_items(sc, c + 2, depth,
			    levels - 1);
		mictl_indent(depth);
		fputs(name, stdout);
		fputs(": {\n", stdout);
		if (mictl_stream_text_items(sc, c + 2, depth + 1,
		    levels - 1) == -1)
			return -1;
		mictl_indent(depth);
		fputs("}\n", stdout);
		return 0;
	}
	if ((rc = mictl_stream_leaf(sc, c, &kind, &v)) == -1)
		return -1;
	if (rc == 0) {
		mictl_indent(depth);
		if (name != NULL) {
			fputs(name, stdout);
			fputs(": ", stdout);
		}
		mictl_stream_text_scalar(sc, kind);
		putchar('\n');
		return 0;
	}
	if (name != NULL)
		mictl_render_member(name, v, depth);
	else
		mictl_render_element(v, depth);
	json_decref(v);
	return 0;
}

static int
mictl_spool_add(struct mictl_scan *sc, struct mictl_spool *sp)
{
	size_t	 cap;
	char	*p;

	/* The reply line has no LF inside, so LF can end a row. */
	if (sp->sp_file == NULL && sp->sp_len + sc->sc_val_len >=
	    MICTL_SPOOL_MEM)
		sp->sp_file = tmpfile();	/* NULL: stay in memory */
	if (sp->sp_file != NULL) {
		if (fwrite(sc->sc_val, 1, sc->sc_val_len, sp->sp_file) !=
		    sc->sc_val_len || putc('\n', sp->sp_file) == EOF) {
			snprintf(sc->sc_err, sizeof(sc->sc_err),
			    "temporary file: write failed");
			return -1;
		}
		return 0;
	}
	if (sc->sc_val_len + 1 > sp->sp_cap - sp->sp_len) {
		cap = sp->sp_cap == 0 ? 4096 : sp->sp_cap;
		while (cap - sp->sp_len < sc->sc_val_len + 1)
			cap *= 2;
		if ((p = realloc(sp->sp_buf, cap)) == NULL)
			return mictl_stream_oom(sc);
		sp->sp_buf = p;
		sp->sp_cap = cap;
	}
	memcpy(sp->sp_buf + sp->sp_len, sc->sc_val, sc->sc_val_len);
	sp->sp_len += sc->sc_val_len;
	sp->sp_buf[sp->sp_len++] = '\n';
	return 0;
}

static int
mictl_spool_print_row(struct mictl_scan *sc, const char *p, size_t n,
    bool table)
{
	json_error_t	 jerr;
	json_t		*v;

	if ((v = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    &jerr)) == NULL) {
		snprintf(sc->sc_err, sizeof(sc->sc_err), "spool: %s",
		    jerr.text);
		return -1;
	}
	if (table)
		mictl_render_row(v);
	else
		mictl_render_top_element(v);
	json_decref(v);
	return 0;
}

/* Prints the held rows, as a table or not, and empties the spool. */
static int
mictl_spool_flush(struct mictl_scan *sc, struct mictl_spool *sp, bool table)
{
	char	*line = NULL, *p, *nl;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 rc = 0;

	for (p = sp->sp_buf; rc == 0 && p != NULL &&
	    (nl = memchr(p, '\n', sp->sp_len - (size_t)(p - sp->sp_buf))) !=
	    NULL; p = nl + 1)
		rc = mictl_spool_print_row(sc, p, (size_t)(nl - p), table);
	sp->sp_len = 0;
	if (rc == 0 && sp->sp_file != NULL) {
		if (fflush(sp->sp_file) == EOF || fseek(sp->sp_file, 0,
		    SEEK_SET) == -1) {
			snprintf(sc->sc_err, sizeof(sc->sc_err),
			    "temporary file: read failed");
			rc = -1;
		}
		while (rc == 0 && (n = getline(&line, &cap, sp->sp_file)) > 0)
			rc = mictl_spool_print_row(sc, line, (size_t)n - 1,
			    table);
		free(line);
		fclose(sp->sp_file);
		sp->sp_file = NULL;
	}
	return rc;
}

static void
mictl_spool_clear(struct mictl_spool *sp)
{
	free(sp->sp_buf);
	if (sp->sp_file != NULL)
		fclose(sp->sp_file);
	memset(sp, 0, sizeof(*sp));
}

/* A top-level array: a table if every element is a row (see above). */
static int
mictl_stream_text_array(struct mictl_scan *sc)
{
	struct mictl_spool	 sp = { NULL, 0, 0, NULL };
	json_t			*v;
	bool			 table = true;
	int			 more, rc = 0;

	if ((more = mictl_stream_first(sc, ']')) == -1)
		return -1;
	while (more == 1 && rc == 0) {
		if ((rc = mictl_scan_value(sc, &v)) == -1)
			break;
		if (table && mictl_is_row(v))
			rc = mictl_spool_add(sc, &sp);
		else {
			if (table)
				rc = mictl_spool_flush(sc, &sp, false);
			table = false;
			mictl_render_top_element(v);
		}
		json_decref(v);
		if (rc == 0 && (more = mictl_stream_next(sc, ']')) == -1)
			rc = -1;
	}
	if (rc == 0)
		rc = mictl_spool_flush(sc, &sp, table);
	mictl_spool_clear(&sp);
	return rc;
}

/* The result as mictl_render_top() prints it. */
static int
mictl_stream_text_result(struct mictl_scan *sc)
{
	json_t	*v;
	int	 c;

	if (mictl_scan_peek(sc, &c) == -1)
		return -1;
	if (c == '{') {
		sc->sc_pos++;
		puts("{");
		if (mictl_stream_text_items(sc, '}', 1,
		    MICTL_STREAM_LEVELS - 1) == -1)
			return -1;
		puts("}");
		return 0;
	}
	if (c == '[') {
		sc->sc_pos++;
		return mictl_stream_text_array(sc);
	}
	if (mictl_scan_value(sc, &v) == -1)
		return -1;
	mictl_render_top(v);
	json_decref(v);
	return 0;
}

/* --- JSON layout -------------------------------------------------- */

/* printf("%*s") here cost a fifth of a million-binding -j dump. */
static void
mictl_stream_json_newline(int depth)
{
	static const char	spaces[] = "                                ";
	size_t			n = (size_t)depth * MICTL_JSON_INDENT, k;

	putchar('\n');
	while (n > 0) {
		k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		fwrite(spaces, 1, k, stdout);
		n -= k;
	}
}

/* A member name as jansson writes it. */
static int
mictl_stream_json_key(struct mictl_scan *sc, const char *name)
{
	const char	*p;
	json_t		*k;
	int		 rc;

	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e ||
		    *p == '"' || *p == '\\')
			break;
	if (*p == '\0') {
		putchar('"');
		fwrite(name, 1, (size_t)(p - name), stdout);
		fputs("\": ", stdout);
		return 0;
	}
	if ((k = json_string(name)) == NULL)
		return mictl_stream_oom(sc);
	rc = mictl_render_json(k, 0);
	json_decref(k);
	if (rc == -1)
		return mictl_stream_oom(sc);
	fputs(": ", stdout);
	return 0;
}

/* A value depth levels in, as jansson's JSON_INDENT(2) writes it. */
static int
mictl_stream_json_value(struct mictl_scan *sc, int depth, int levels)
{
	enum mictl_scan_kind	 kind;
	const char		*name;
	json_t			*v;
	int			 c, close, more, rc;

	if (mictl_scan_peek(sc, &c) == -1)
		return -1;
	if (levels == 0 || (c != '{' && c != '[')) {
		if ((rc = mictl_stream_leaf(sc, c, &kind, &v)) == -1)
			return -1;
		if (rc == 0) {
			fwrite(sc->sc_val, 1, sc->sc_val_len, stdout);
			return 0;
		}
		rc = mictl_render_json(v, depth);
		json_decref(v);
		return rc == -1 ? mictl_stream_oom(sc) : 0;
	}
	sc->sc_pos++;
	close = c + 2;
	putchar(c);
	if ((more = mictl_stream_first(sc, close)) == -1)
		return -1;
	if (more == 0) {
		putchar(close);
		return 0;
	}
	while (more == 1) {
		mictl_stream_json_newline(depth + 1);
		if (close == '}' && (mictl_scan_key(sc, &name) == -1 ||
		    mictl_stream_json_key(sc, name) == -1))
			return -1;
		if (mictl_stream_json_value(sc, depth + 1, levels - 1) == -1 ||
		    (more = mictl_stream_next(sc, close)) == -1)
			return -1;
		if (more == 1)
			putchar(',');
	}
	mictl_stream_json_newline(depth);
	putchar(close);
	return 0;
}

/* --- the envelope ------------------------------------------------- */

static void
mictl_stream_print_error(const json_t *err)
{
	json_t	*msg = json_object_get(err, "message");

	printf("error: %" JSON_INTEGER_FORMAT " - ",
	    json_integer_value(json_object_get(err, "code")));
	if (json_is_string(msg))
		fwrite(json_string_value(msg), 1, json_string_length(msg),
		    stdout);
	putchar('\n');
}

/*
 * Prints the result as it arrives, or sipd's error: MICTL_STREAM_RESULT
 * or MICTL_STREAM_ERROR, -1 with sc->sc_err set when the reply is
 * incomplete or malformed. sipd sends "result" or "error", never both.
 */
int
mictl_stream_reply(struct mictl_scan *sc, bool json_out)
{
	const char	*name;
	json_t		*v, *err = NULL;
	bool		 result = false;
	int		 more, rc = 0, status = MICTL_STREAM_RESULT;

	if (mictl_scan_expect(sc, '{') == -1 ||
	    (more = mictl_stream_first(sc, '}')) == -1)
		return -1;
	while (more == 1 && rc == 0) {
		if (mictl_scan_key(sc, &name) == -1)
			return -1;
		if (strcmp(name, "result") == 0 &&
		    err == NULL && !result) {
			result = true;
			rc = json_out ? mictl_stream_json_value(sc, 0,
			    MICTL_STREAM_LEVELS) : mictl_stream_text_result(sc);
			if (rc == 0 && json_out)
				putchar('\n');
		} else if ((rc = mictl_scan_value(sc, &v)) == 0) {
			if (strcmp(name, "error") == 0) {
				json_decref(err);
				err = v;
			} else
				json_decref(v);
		}
		if (rc == 0 && (more = mictl_stream_next(sc, '}')) == -1)
			rc = -1;
	}
	if (rc == 0)
		rc = mictl_scan_end(sc);
	if (rc == 0 && err != NULL) {
		mictl_stream_print_error(err);
		status = MICTL_STREAM_ERROR;
	} else if (rc == 0 && !result) {
		snprintf(sc->sc_err, sizeof(sc->sc_err),
		    "bad reply from sipd: no result");
		rc = -1;
	}
	json_decref(err);
	return rc == -1 ? -1 : status;
}
