/*
 * errbuf: a growing list of "FILE:LINE: message" lines.
 *
 * The non-logging layers (config parser, DB_TEXT reader) report every
 * problem they find here; the caller decides whether to print or log them.
 */
#ifndef SIPD_ERRBUF_H
#define SIPD_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct errbuf {
	char		*eb_text;	/* NUL-terminated, one message per line */
	size_t		 eb_len;
	size_t		 eb_cap;
	unsigned	 eb_count;	/* number of messages added */
};

#define ERRBUF_INIT { NULL, 0, 0, 0 }

/* Appends "file:line: message\n"; line 0 omits the line number. */
void	errbuf_add(struct errbuf *eb, const char *file, unsigned line,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void	errbuf_addv(struct errbuf *eb, const char *file, unsigned line,
	    const char *fmt, va_list ap);
/* Empty string when nothing was added; never NULL. */
const char *errbuf_text(const struct errbuf *eb);
/*
 * The messages as one line for a one-line reply (MI): the trailing
 * newline dropped, the others turned into ';'. Cut to cap - 1 bytes.
 * Returns out, "" when nothing was added.
 */
const char *errbuf_oneline(const struct errbuf *eb, char *out, size_t cap);
void	errbuf_clear(struct errbuf *eb);
void	errbuf_free(struct errbuf *eb);

#endif
