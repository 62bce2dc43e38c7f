/*
 * dbtext: reader and atomic writer for Kamailio DB_TEXT files.
 *
 * Runs in whichever process loads or writes tables: `sipd -c`, the
 * master at start, on reloads and on location flushes.  It never logs;
 * every problem goes to an errbuf as "FILE:LINE: message".
 *
 * Reading is one read() of the whole file into one buffer; records are
 * split and unescaped in place (the unescaped text is never longer than
 * the escaped one), so a row costs no allocation and the strings stay
 * in that buffer until dbtext_close().  Unlike Kamailio, a bad record
 * does not stop the scan: every error of a file is listed (up to
 * DBTEXT_MAX_ERRORS) so that `sipd -c` shows them all at once, and a
 * last record without a final newline is read, with a warning.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "dbtext.h"

struct dbtext_file {
	char			*dt_path;
	char			*dt_buf;	/* whole file, plus one NUL */
	size_t			 dt_len;
	size_t			 dt_pos;	/* start of the next line */
	unsigned		 dt_line;	/* number of the next line */
	struct dbtext_col	 dt_cols[DBTEXT_MAX_COLS];
	unsigned		 dt_ncols;
	int			 dt_autocol;	/* -1: none */
	int64_t			 dt_automax;
	struct dbtext_field	*dt_fields;
	unsigned		 dt_nerrors;
	struct errbuf		*dt_errs;
	struct errbuf		*dt_warns;
};

static int	dbtext_read_all(const char *, char **, size_t *);
static int	dbtext_parse_header(struct dbtext_file *, char *, char *);
static int	dbtext_parse_record(struct dbtext_file *, char *, char *,
		    unsigned);
static int	dbtext_check_value(struct dbtext_file *, unsigned, unsigned,
		    struct dbtext_field *);
static void	dbtext_vis(char *, size_t, const char *, size_t);

void
dbtext_error(struct dbtext_file *f, unsigned line, const char *fmt, ...)
{
	va_list	 ap;

	f->dt_nerrors++;
	if (f->dt_nerrors > DBTEXT_MAX_ERRORS) {
		if (f->dt_nerrors == DBTEXT_MAX_ERRORS + 1)
			errbuf_add(f->dt_errs, f->dt_path, line,
			    "too many errors, not listing the rest");
		return;
	}
	va_start(ap, fmt);
	errbuf_addv(f->dt_errs, f->dt_path, line, fmt, ap);
	va_end(ap);
}

/*
 * Makes a value printable for an error message: bytes outside printable
 * ASCII become \xHH, long values are cut with "...".
 */
static void
dbtext_vis(char *out, size_t outsz, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, o = 0;
	unsigned char		 c;

	for (i = 0; i < len; i++) {
		if (o + 8 >= outsz) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 0xf];
	}
	out[o] = '\0';
}

static int
dbtext_read_all(const char *path, char **ret_buf, size_t *ret_len)
{
	struct stat	 st;
	char		*buf, *nbuf;
	size_t		 cap, len = 0;
	ssize_t		 n;
	int		 fd, serrno;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	if (fstat(fd, &st) == -1) {
		serrno = errno;
		close(fd);
		return -serrno;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	/* st_size is a hint only: the file may grow while we read it. */
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	if ((buf = malloc(cap + 1)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len == cap) {
			if ((nbuf = realloc(buf, cap * 2 + 1)) == NULL) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			serrno = errno;
			free(buf);
			close(fd);
			return -serrno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static int
dbtext_isspace(int c)
{
	return c == ' ' || c == '\t';
}

static char *
dbtext_skip_space(char *p, char *end)
{
	while (p < end && dbtext_isspace(*p))
		p++;
	return p;
}

/* A header word (type or attribute) after optional spaces; *pp: its end. */
static char *
dbtext_header_word(char **pp, char *end)
{
	char	*p = dbtext_skip_space(*pp, end), *word = p;

	while (p < end && isalpha((unsigned char)*p))
		p++;
	*pp = p;
	return word;
}

/*
 * Header: `name(type)`, `name(type,null)`, `name(int,auto)` separated by
 * spaces; spaces around the parentheses and the comma are allowed.  As
 * in Kamailio the type is decided by its first letter and only one
 * attribute is read; anything after it up to `)` is skipped.
 */
static int
dbtext_parse_header(struct dbtext_file *f, char *p, char *end)
{
	struct dbtext_col	*c;
	char			*name, *word;
	size_t			 len;
	unsigned		 i;

	if (memchr(p, '\r', (size_t)(end - p)) != NULL) {
		dbtext_error(f, 1, "carriage return in the header "
		    "(CRLF line ends are not supported)");
		return DBTEXT_E_BAD;
	}
	for (;;) {
		p = dbtext_skip_space(p, end);
		if (p == end)
			break;
		name = p;
		while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
			p++;
		len = (size_t)(p - name);
		if (len == 0) {
			dbtext_error(f, 1, "bad header: column %u: expected a "
			    "name, found '%c'", f->dt_ncols + 1, *p);
			return DBTEXT_E_BAD;
		}
		if (len >= DBTEXT_MAX_NAME) {
			dbtext_error(f, 1, "bad header: column name '%.*s...' "
			    "too long", 20, name);
			return DBTEXT_E_BAD;
		}
		if (f->dt_ncols == DBTEXT_MAX_COLS) {
			dbtext_error(f, 1, "bad header: more than %d columns",
			    DBTEXT_MAX_COLS);
			return DBTEXT_E_BAD;
		}
		c = &f->dt_cols[f->dt_ncols];
		memset(c, 0, sizeof(*c));
		memcpy(c->dc_name, name, len);
		c->dc_name[len] = '\0';
		for (i = 0; i < f->dt_ncols; i++)
			if (strcmp(f->dt_cols[i].dc_name, c->dc_name) == 0) {
				dbtext_error(f, 1, "bad header: column '%s' "
				    "given twice", c->dc_name);
				return DBTEXT_E_BAD;
			}
		p = dbtext_skip_space(p, end);
		if (p == end || *p != '(') {
			dbtext_error(f, 1, "bad header: column '%s': expected "
			    "'(' after the name", c->dc_name);
			return DBTEXT_E_BAD;
		}
		p++;
		word = dbtext_header_word(&p, end);
		switch (p > word ? tolower((unsigned char)*word) : 0) {
		case 'i':
		case 't':
			c->dc_type = DBTEXT_INT;
			break;
		case 'd':
			c->dc_type = DBTEXT_DOUBLE;
			break;
		case 's':
			c->dc_type = DBTEXT_STRING;
			break;
		case 'b':
			c->dc_type = DBTEXT_BLOB;
			break;
		default:
			dbtext_error(f, 1, "bad header: column '%s': unknown "
			    "type '%.*s'", c->dc_name, (int)(p - word), word);
			return DBTEXT_E_BAD;
		}
		p = dbtext_skip_space(p, end);
		if (p < end && *p == ',') {
			p++;
			word = dbtext_header_word(&p, end);
			len = (size_t)(p - word);
			if (len == 4 && strncasecmp(word, "null", 4) == 0)
				c->dc_null = 1;
			else if (len == 4 && strncasecmp(word, "auto", 4) == 0)
				c->dc_auto = 1;
			else {
				dbtext_error(f, 1, "bad header: column '%s': "
				    "unknown attribute '%.*s'", c->dc_name,
				    (int)len, word);
				return DBTEXT_E_BAD;
			}
			/* Kamailio reads one attribute and skips the rest. */
			while (p < end && *p != ')')
				p++;
		}
		if (p == end || *p != ')') {
			dbtext_error(f, 1, "bad header: column '%s': expected "
			    "')'", c->dc_name);
			return DBTEXT_E_BAD;
		}
		p++;
		if (p < end && !dbtext_isspace(*p)) {
			dbtext_error(f, 1, "bad header: column '%s': expected "
			    "a space after ')'", c->dc_name);
			return DBTEXT_E_BAD;
		}
		if (c->dc_auto) {
			if (c->dc_type != DBTEXT_INT) {
				dbtext_error(f, 1, "bad header: column '%s': "
				    "auto needs an int column", c->dc_name);
				return DBTEXT_E_BAD;
			}
			/* Only the first auto column is one (Kamailio). */
			if (f->dt_autocol == -1)
				f->dt_autocol = (int)f->dt_ncols;
			else
				c->dc_auto = 0;
		}
		f->dt_ncols++;
	}
	if (f->dt_ncols == 0) {
		dbtext_error(f, 1, "bad header: no columns");
		return DBTEXT_E_BAD;
	}
	return 0;
}

int
dbtext_open(const char *path, struct dbtext_file **ret_file,
    struct errbuf *errs, struct errbuf *warns)
{
	struct dbtext_file	*f;
	char			*nl, *end;
	int			 r;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->dt_path = strdup(path)) == NULL) {
		free(f);
		errbuf_add(errs, path, 0, "out of memory");
		return -ENOMEM;
	}
	f->dt_errs = errs;
	f->dt_warns = warns;
	f->dt_autocol = -1;
	if ((r = dbtext_read_all(path, &f->dt_buf, &f->dt_len)) < 0) {
		errbuf_add(errs, path, 0, "cannot read: %s", strerror(-r));
		dbtext_close(f);
		return r;
	}
	if (f->dt_len == 0) {
		dbtext_error(f, 1, "empty file, expected a header line");
		dbtext_close(f);
		return DBTEXT_E_BAD;
	}
	end = f->dt_buf + f->dt_len;
	if ((nl = memchr(f->dt_buf, '\n', f->dt_len)) == NULL) {
		errbuf_add(warns, path, 1, "no newline at the end of the file");
		nl = end;
	}
	if ((r = dbtext_parse_header(f, f->dt_buf, nl)) != 0) {
		dbtext_close(f);
		return r;
	}
	f->dt_pos = nl < end ? (size_t)(nl - f->dt_buf) + 1 : f->dt_len;
	f->dt_line = 2;
	f->dt_fields = calloc(f->dt_ncols, sizeof(*f->dt_fields));
	if (f->dt_fields == NULL) {
		errbuf_add(errs, path, 0, "out of memory");
		dbtext_close(f);
		return -ENOMEM;
	}
	*ret_file = f;
	return 0;
}

const struct dbtext_col *
dbtext_cols(const struct dbtext_file *f, unsigned *ret_ncols)
{
	*ret_ncols = f->dt_ncols;
	return f->dt_cols;
}

int
dbtext_col_index(const struct dbtext_file *f, const char *name)
{
	unsigned	 i;

	for (i = 0; i < f->dt_ncols; i++)
		if (strcmp(f->dt_cols[i].dc_name, name) == 0)
			return (int)i;
	return -1;
}

const char *
dbtext_path(const struct dbtext_file *f)
{
	return f->dt_path;
}

unsigned
dbtext_nerrors(const struct dbtext_file *f)
{
	return f->dt_nerrors;
}

/*
 * The value of a checked decimal ("-", digits, "." digits) of len bytes,
 * NUL-terminated. With at most 15 digits the digits make an integer
 * exact in a double and 10^(fraction digits) is exact too, so one
 * IEEE division rounds correctly, as strtod() would: the same double
 * for a fraction of the cost (a location table has one per row).
 */
static double
dbtext_decimal(const char *s, size_t len)
{
	static const double	 p10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
		1e11, 1e12, 1e13, 1e14, 1e15
	};
	const char		*p = s, *e = s + len;
	uint64_t		 u = 0;
	unsigned		 ndig = 0, nfrac = 0, frac = 0;
	int			 neg = 0;
	double			 d;

	if (p < e && *p == '-') {
		neg = 1;
		p++;
	}
	for (; p < e; p++) {
		if (*p == '.') {
			frac = 1;
			continue;
		}
		if (++ndig > 15)
			return strtod(s, NULL);
		u = u * 10 + (uint64_t)(*p - '0');
		nfrac += frac;
	}
	d = (double)u / p10[nfrac];
	return neg ? -d : d;
}

/* Validates a field against its column type; 0 ok, -1 error reported. */
static int
dbtext_check_value(struct dbtext_file *f, unsigned line, unsigned i,
    struct dbtext_field *v)
{
	const struct dbtext_col	*c = &f->dt_cols[i];
	const char		*s = v->df_str;
	char			 vis[64];
	uint64_t		 u = 0, lim;
	size_t			 k = 0;
	int			 neg = 0;

	v->df_null = v->df_len == 0;
	v->df_int = 0;
	v->df_double = 0;
	if (v->df_null) {
		if ((int)i == f->dt_autocol) {
			/* Kamailio fills an empty auto column. */
			v->df_null = 0;
			v->df_int = ++f->dt_automax;
			return 0;
		}
		if (!c->dc_null) {
			dbtext_error(f, line, "column '%s' is empty (NULL) but "
			    "may not be NULL", c->dc_name);
			return -1;
		}
		return 0;
	}
	switch (c->dc_type) {
	case DBTEXT_INT:
		/* Optional '-', digits only: no '+', no spaces. */
		if (s[0] == '-') {
			neg = 1;
			k = 1;
		}
		lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		if (k == v->df_len)
			goto badint;
		for (; k < v->df_len; k++) {
			if (s[k] < '0' || s[k] > '9')
				goto badint;
			if (u > (lim - (uint64_t)(s[k] - '0')) / 10)
				goto badint;
			u = u * 10 + (uint64_t)(s[k] - '0');
		}
		if (neg)
			v->df_int = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
			    -(int64_t)u;
		else
			v->df_int = (int64_t)u;
		if ((int)i == f->dt_autocol && v->df_int > f->dt_automax)
			f->dt_automax = v->df_int;
		return 0;
	badint:
		dbtext_vis(vis, sizeof(vis), s, v->df_len);
		dbtext_error(f, line, "column '%s': bad int '%s'", c->dc_name,
		    vis);
		return -1;
	case DBTEXT_DOUBLE:
		/* Optional '-', digits, optional '.' digits; no exponent. */
		if (s[k] == '-')
			k++;
		if (k == v->df_len || s[k] < '0' || s[k] > '9')
			goto baddouble;
		while (k < v->df_len && s[k] >= '0' && s[k] <= '9')
			k++;
		if (k < v->df_len && s[k] == '.') {
			k++;
			if (k == v->df_len || s[k] < '0' || s[k] > '9')
				goto baddouble;
			while (k < v->df_len && s[k] >= '0' && s[k] <= '9')
				k++;
		}
		if (k != v->df_len)
			goto baddouble;
		v->df_double = dbtext_decimal(s, v->df_len);
		return 0;
	baddouble:
		dbtext_vis(vis, sizeof(vis), s, v->df_len);
		dbtext_error(f, line, "column '%s': bad double '%s'",
		    c->dc_name, vis);
		return -1;
	case DBTEXT_STRING:
	case DBTEXT_BLOB:
		return 0;
	}
	return 0;
}

/*
 * Splits [p, end) into fields on unescaped ':' and unescapes them in
 * place, each field NUL-terminated.  Returns 0 or -1 (error reported).
 */
static int
dbtext_parse_record(struct dbtext_file *f, char *p, char *end, unsigned line)
{
	struct dbtext_field	*v;
	char			*w = p, *start;
	unsigned		 i, n;
	int			 bad = 0;

	for (i = 0; i < f->dt_ncols; i++) {
		v = &f->dt_fields[i];
		start = w;
		/*
		 * Plain bytes first, in one tight loop: until the first
		 * escape of the record w == p and nothing moves.
		 */
		if (w == p) {
			while (p < end && *p != ':' && *p != '\\' &&
			    *p != '\r')
				p++;
			w = p;
		}
		while (p < end && *p != ':') {
			if (*p == '\r') {
				dbtext_error(f, line, "carriage return in a "
				    "record (CRLF line ends are not "
				    "supported; write it as \\r)");
				return -1;
			}
			if (*p != '\\') {
				*w++ = *p++;
				continue;
			}
			if (p + 1 == end) {
				dbtext_error(f, line, "column '%s': '\\' at "
				    "the end of the line",
				    f->dt_cols[i].dc_name);
				return -1;
			}
			switch (p[1]) {
			case 'n':
				*w++ = '\n';
				break;
			case 'r':
				*w++ = '\r';
				break;
			case 't':
				*w++ = '\t';
				break;
			case '0':
				*w++ = '\0';
				break;
			case '\\':
			case ':':
				*w++ = p[1];
				break;
			default:
				if (isprint((unsigned char)p[1]))
					dbtext_error(f, line, "column '%s': "
					    "bad escape '\\%c' (only \\: \\\\ "
					    "\\n \\r \\t \\0)",
					    f->dt_cols[i].dc_name, p[1]);
				else
					dbtext_error(f, line, "column '%s': "
					    "bad escape: '\\' then byte 0x%02x "
					    "(only \\: \\\\ \\n \\r \\t \\0)",
					    f->dt_cols[i].dc_name,
					    (unsigned char)p[1]);
				return -1;
			}
			p += 2;
		}
		v->df_str = start;
		v->df_len = (size_t)(w - start);
		if (p == end && i + 1 < f->dt_ncols) {
			dbtext_error(f, line, "too few fields (%u, expected "
			    "%u)", i + 1, f->dt_ncols);
			return -1;
		}
		if (p < end && i + 1 == f->dt_ncols) {
			/* Count the rest for the message. */
			for (n = i + 1; p < end; p++) {
				if (*p == '\\' && p + 1 < end)
					p++;
				else if (*p == ':')
					n++;
			}
			dbtext_error(f, line, "too many fields (%u, expected "
			    "%u)", n, f->dt_ncols);
			return -1;
		}
		/* w <= p: the NUL lands on text already consumed. */
		*w++ = '\0';
		p++;
	}
	for (i = 0; i < f->dt_ncols; i++)
		if (dbtext_check_value(f, line, i, &f->dt_fields[i]) == -1)
			bad = 1;
	return bad ? -1 : 0;
}

int
dbtext_next(struct dbtext_file *f, const struct dbtext_field **ret_fields,
    unsigned *ret_line)
{
	char		*p, *nl, *end = f->dt_buf + f->dt_len;
	unsigned	 line;

	while (f->dt_pos < f->dt_len) {
		p = f->dt_buf + f->dt_pos;
		line = f->dt_line++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			/* Kamailio drops this record silently; we read it. */
			errbuf_add(f->dt_warns, f->dt_path, line,
			    "no newline at the end of the last record "
			    "(read anyway)");
			nl = end;
			f->dt_pos = f->dt_len;
		} else
			f->dt_pos = (size_t)(nl - f->dt_buf) + 1;
		if (nl == p)
			continue;	/* blank line */
		if (dbtext_parse_record(f, p, nl, line) == -1)
			continue;
		*ret_fields = f->dt_fields;
		*ret_line = line;
		return 1;
	}
	return 0;
}

void
dbtext_close(struct dbtext_file *f)
{
	if (f == NULL)
		return;
	free(f->dt_fields);
	free(f->dt_buf);
	free(f->dt_path);
	free(f);
}

/*
 * Writer.
 */

static const char *const dbtext_type_names[] = {
	[DBTEXT_INT] = "int",
	[DBTEXT_DOUBLE] = "double",
	[DBTEXT_STRING] = "string",
	[DBTEXT_BLOB] = "blob",
};

/*
 * The writer's output buffer. A location flush writes millions of short
 * fields; stdio would take its lock and check its state for each, and
 * printf would parse a format for each number, so rows are built here
 * and handed to write(2) in big chunks. wb_err keeps the first error;
 * once set, nothing more is written.
 */
#define DBTEXT_WBUF	(256 * 1024)

struct dbtext_wbuf {
	int	 wb_fd;
	int	 wb_err;	/* first write error, as -errno */
	size_t	 wb_len;
	char	 wb_buf[DBTEXT_WBUF];
};

static void
dbtext_wflush(struct dbtext_wbuf *wb)
{
	const char	*p = wb->wb_buf;
	ssize_t		 n;

	while (wb->wb_len > 0 && wb->wb_err == 0) {
		if ((n = write(wb->wb_fd, p, wb->wb_len)) == -1) {
			if (errno != EINTR)
				wb->wb_err = -errno;
			continue;
		}
		p += n;
		wb->wb_len -= (size_t)n;
	}
	wb->wb_len = 0;
}

static void
dbtext_wput(struct dbtext_wbuf *wb, const char *s, size_t len)
{
	size_t	 n;

	while (len > 0) {
		if (wb->wb_len == DBTEXT_WBUF)
			dbtext_wflush(wb);
		n = DBTEXT_WBUF - wb->wb_len;
		if (n > len)
			n = len;
		memcpy(wb->wb_buf + wb->wb_len, s, n);
		wb->wb_len += n;
		s += n;
		len -= n;
	}
}

static void
dbtext_wputc(struct dbtext_wbuf *wb, char c)
{
	if (wb->wb_len == DBTEXT_WBUF)
		dbtext_wflush(wb);
	wb->wb_buf[wb->wb_len++] = c;
}

/* Decimal digits of u, as "%" PRIu64 prints them, after a '-' if neg. */
static void
dbtext_wput_u64(struct dbtext_wbuf *wb, uint64_t u, int neg)
{
	char	 d[24], *p = d + sizeof(d);

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (neg)
		*--p = '-';
	dbtext_wput(wb, p, (size_t)(d + sizeof(d) - p));
}

static void
dbtext_wput_i64(struct dbtext_wbuf *wb, int64_t x)
{
	/* -(x + 1) + 1: no overflow for INT64_MIN. */
	if (x < 0)
		dbtext_wput_u64(wb, (uint64_t)-(x + 1) + 1, 1);
	else
		dbtext_wput_u64(wb, (uint64_t)x, 0);
}

/*
 * "%.2f" of a finite x. When x is the double nearest to k/100 for an
 * integer k (q values are: -1, 0.5, 0.25...), printf prints exactly
 * k/100, so the digits are made here; any other value goes to snprintf,
 * which rounds as it always did.
 */
static void
dbtext_wput_2f(struct dbtext_wbuf *wb, double x)
{
	char	 buf[400];
	double	 r;
	int64_t	 k;
	uint64_t u;
	int	 n;

	if (x > -1e15 && x < 1e15) {
		r = x * 100.0;
		k = (int64_t)(r < 0 ? r - 0.5 : r + 0.5);
		if ((double)k / 100.0 == x) {
			u = k < 0 ? (uint64_t)-k : (uint64_t)k;
			/* "-0.00" only for a negative x, as printf. */
			dbtext_wput_u64(wb, u / 100, k < 0 || (k == 0 &&
			    signbit(x)));
			buf[0] = '.';
			buf[1] = (char)('0' + u / 10 % 10);
			buf[2] = (char)('0' + u % 10);
			dbtext_wput(wb, buf, 3);
			return;
		}
	}
	n = snprintf(buf, sizeof(buf), "%.2f", x);
	if (n > 0)
		dbtext_wput(wb, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
}

/* Escapes the six characters the reader unescapes. */
static void
dbtext_put_escaped(struct dbtext_wbuf *wb, const char *s, size_t len)
{
	const char	*run = s, *e = s + len;

	for (; s < e; s++) {
		const char *esc;

		switch (*s) {
		case ':':
			esc = "\\:";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\0':
			esc = "\\0";
			break;
		default:
			continue;
		}
		if (s > run)
			dbtext_wput(wb, run, (size_t)(s - run));
		dbtext_wput(wb, esc, 2);
		run = s + 1;
	}
	if (e > run)
		dbtext_wput(wb, run, (size_t)(e - run));
}

static int
dbtext_put_row(struct dbtext_wbuf *wb, const struct dbtext_col *cols,
    unsigned ncols, struct dbtext_field *v, uint64_t rowno, const char *path,
    struct errbuf *errs)
{
	unsigned	 i;

	for (i = 0; i < ncols; i++) {
		if (i > 0)
			dbtext_wputc(wb, ':');
		if (v[i].df_null && cols[i].dc_auto && !cols[i].dc_null) {
			dbtext_wput_u64(wb, rowno, 0);
			continue;
		}
		if (!v[i].df_null && v[i].df_len == 0 &&
		    (cols[i].dc_type == DBTEXT_STRING ||
		    cols[i].dc_type == DBTEXT_BLOB))
			v[i].df_null = 1;	/* reads back as NULL anyway */
		if (v[i].df_null) {
			if (!cols[i].dc_null) {
				errbuf_add(errs, path, 0, "row %" PRIu64 ": "
				    "column '%s' is NULL or empty but may not "
				    "be NULL", rowno, cols[i].dc_name);
				return -EINVAL;
			}
			continue;
		}
		switch (cols[i].dc_type) {
		case DBTEXT_INT:
			dbtext_wput_i64(wb, v[i].df_int);
			break;
		case DBTEXT_DOUBLE:
			if (!isfinite(v[i].df_double)) {
				errbuf_add(errs, path, 0, "row %" PRIu64 ": "
				    "column '%s' is not a finite number",
				    rowno, cols[i].dc_name);
				return -EINVAL;
			}
			dbtext_wput_2f(wb, v[i].df_double);
			break;
		case DBTEXT_STRING:
		case DBTEXT_BLOB:
			dbtext_put_escaped(wb, v[i].df_str, v[i].df_len);
			break;
		}
	}
	dbtext_wputc(wb, '\n');
	return 0;
}

/* The header line dbtext_write() writes, its newline included. */
static void
dbtext_put_header(struct dbtext_wbuf *wb, const struct dbtext_col *cols,
    unsigned ncols)
{
	unsigned	 i;

	for (i = 0; i < ncols; i++) {
		if (i > 0)
			dbtext_wputc(wb, ' ');
		dbtext_wput(wb, cols[i].dc_name, strlen(cols[i].dc_name));
		dbtext_wputc(wb, '(');
		dbtext_wput(wb, dbtext_type_names[cols[i].dc_type],
		    strlen(dbtext_type_names[cols[i].dc_type]));
		if (cols[i].dc_null)
			dbtext_wput(wb, ",null", 5);
		else if (cols[i].dc_auto)
			dbtext_wput(wb, ",auto", 5);
		dbtext_wputc(wb, ')');
	}
	dbtext_wputc(wb, '\n');
}

/* fsync the folder holding path so that the rename itself is durable. */
static int
dbtext_sync_dir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*dir;
	int		 fd, r = 0;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return -ENOMEM;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		r = -errno;
	else {
		/* Some file systems cannot sync a folder: not our failure. */
		if (fsync(fd) == -1 && errno != EINVAL)
			r = -errno;
		close(fd);
	}
	free(dir);
	return r;
}

int
dbtext_write(const char *path, const struct dbtext_col *cols, unsigned ncols,
    dbtext_row_fn *next, void *arg, struct errbuf *errs)
{
	struct dbtext_field	*v = NULL;
	struct dbtext_wbuf	*wb = NULL;
	struct stat		 st;
	char			*tmp = NULL;
	uint64_t		 rowno = 0;
	int			 fd = -1, r;

	if (ncols == 0 || ncols > DBTEXT_MAX_COLS) {
		errbuf_add(errs, path, 0, "cannot write: %u columns", ncols);
		return -EINVAL;
	}
	if (asprintf(&tmp, "%s" DBTEXT_TMP_INFIX "XXXXXX", path) == -1) {
		tmp = NULL;
		r = -ENOMEM;
		goto oom;
	}
	if ((v = calloc(ncols, sizeof(*v))) == NULL ||
	    (wb = malloc(sizeof(*wb))) == NULL) {
		r = -ENOMEM;
		goto oom;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		r = -errno;
		errbuf_add(errs, path, 0, "cannot create a temp file: %s",
		    strerror(-r));
		free(tmp);
		free(v);
		free(wb);
		return r;
	}
	/* Keep the mode of the file we replace; a new one stays 0600. */
	if (stat(path, &st) == 0 && fchmod(fd, st.st_mode & 07777) == -1) {
		r = -errno;
		errbuf_add(errs, tmp, 0, "cannot chmod: %s", strerror(-r));
		goto fail;
	}
	wb->wb_fd = fd;
	wb->wb_err = 0;
	wb->wb_len = 0;

	dbtext_put_header(wb, cols, ncols);
	for (;;) {
		memset(v, 0, ncols * sizeof(*v));
		if ((r = next(arg, v)) < 0) {
			errbuf_add(errs, path, 0, "cannot write: %s",
			    strerror(-r));
			goto fail;
		}
		if (r == 0)
			break;
		rowno++;
		if ((r = dbtext_put_row(wb, cols, ncols, v, rowno, path,
		    errs)) < 0)
			goto fail;
		if (wb->wb_err != 0)
			break;	/* reported below */
	}
	dbtext_wflush(wb);
	if ((r = wb->wb_err) == 0 && fsync(fd) == -1)
		r = -errno;
	if (r < 0) {
		errbuf_add(errs, tmp, 0, "cannot write: %s", strerror(-r));
		goto fail;
	}
	r = close(fd);
	fd = -1;
	if (r == -1) {
		r = -errno;
		errbuf_add(errs, tmp, 0, "cannot write: %s", strerror(-r));
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		r = -errno;
		errbuf_add(errs, path, 0, "cannot rename %s over it: %s", tmp,
		    strerror(-r));
		goto fail;
	}
	free(tmp);
	free(v);
	free(wb);
	if ((r = dbtext_sync_dir(path)) < 0) {
		errbuf_add(errs, path, 0, "written, but cannot sync its "
		    "folder: %s", strerror(-r));
		return r;
	}
	return 0;

 oom:
	errbuf_add(errs, path, 0, "cannot write: out of memory");
	free(tmp);
	free(v);
	free(wb);
	return r;
 fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	free(v);
	free(wb);
	return r;
}

/*
 * Appending one row.  Only to a file whose header is exactly the one
 * dbtext_write() would write for cols: any other layout must be
 * rewritten whole.  A file whose last record lacks its newline gets one
 * first, so the new row never joins it.
 */
int
dbtext_append(const char *path, const struct dbtext_col *cols,
    unsigned ncols, struct dbtext_field *v, uint64_t rowno,
    struct errbuf *errs)
{
	struct dbtext_wbuf	*wb;
	char			*have = NULL, last;
	size_t			 hlen;
	ssize_t			 n;
	struct stat		 st;
	unsigned		 before = errs->eb_count;
	int			 fd, r;

	if ((fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)) == -1) {
		r = -errno;
		errbuf_add(errs, path, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	/* Built in memory only (wb_fd -1): a row is far below DBTEXT_WBUF. */
	if ((wb = malloc(sizeof(*wb))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	wb->wb_fd = -1;
	wb->wb_err = 0;
	wb->wb_len = 0;
	dbtext_put_header(wb, cols, ncols);
	hlen = wb->wb_len;
	if ((have = malloc(hlen)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = -errno;
		goto out;
	}
	n = pread(fd, have, hlen, 0);
	if (n != (ssize_t)hlen || memcmp(have, wb->wb_buf, hlen) != 0) {
		r = DBTEXT_E_LAYOUT;
		goto out;
	}
	wb->wb_len = 0;
	if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
		dbtext_wputc(wb, '\n');
	if ((r = dbtext_put_row(wb, cols, ncols, v, rowno, path, errs)) != 0)
		goto out;
	if (wb->wb_err != 0) {
		/* It overflowed the buffer into fd -1: too long a row. */
		r = -E2BIG;
		goto out;
	}
	/* One write: a reader (or a crash) sees the whole row or none. */
	n = write(fd, wb->wb_buf, wb->wb_len);
	if (n != (ssize_t)wb->wb_len || fdatasync(fd) == -1) {
		r = n == -1 || n == (ssize_t)wb->wb_len ? -errno : -EIO;
		/* Take a partial row back out: the file stays as it was. */
		if (n > 0 && ftruncate(fd, st.st_size) == -1)
			r = -errno;
		errbuf_add(errs, path, 0, "cannot append: %s", strerror(-r));
	}
 out:
	if (r == -ENOMEM)
		errbuf_add(errs, path, 0, "cannot append: out of memory");
	else if (r < 0 && errs->eb_count == before)
		errbuf_add(errs, path, 0, "cannot append: %s", strerror(-r));
	free(have);
	free(wb);
	close(fd);
	return r;
}
