/*
 * errbuf: collects diagnostics as text so that parsers stay free of
 * logging (any process may call them: sipd -c, the master, a reload).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"

static int
errbuf_reserve(struct errbuf *eb, size_t more)
{
	size_t	 cap;
	char	*text;

	if (eb->eb_len + more + 1 <= eb->eb_cap)
		return 0;
	cap = eb->eb_cap ? eb->eb_cap : 256;
	while (cap < eb->eb_len + more + 1)
		cap *= 2;
	if ((text = realloc(eb->eb_text, cap)) == NULL)
		return -1;
	eb->eb_text = text;
	eb->eb_cap = cap;
	return 0;
}

void
errbuf_addv(struct errbuf *eb, const char *file, unsigned line,
    const char *fmt, va_list ap)
{
	char	 prefix[512], msg[1024];
	int	 n, m;

	if (file == NULL)
		n = snprintf(prefix, sizeof(prefix), "%s", "");
	else if (line > 0)
		n = snprintf(prefix, sizeof(prefix), "%s:%u: ", file, line);
	else
		n = snprintf(prefix, sizeof(prefix), "%s: ", file);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(prefix))
		n = sizeof(prefix) - 1;
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (m < 0)
		return;
	if ((size_t)m >= sizeof(msg))
		m = sizeof(msg) - 1;
	eb->eb_count++;
	/* Out of memory: the count still tells the caller that it failed. */
	if (errbuf_reserve(eb, (size_t)n + (size_t)m + 1) == -1)
		return;
	memcpy(eb->eb_text + eb->eb_len, prefix, (size_t)n);
	eb->eb_len += (size_t)n;
	memcpy(eb->eb_text + eb->eb_len, msg, (size_t)m);
	eb->eb_len += (size_t)m;
	eb->eb_text[eb->eb_len++] = '\n';
	eb->eb_text[eb->eb_len] = '\0';
}

void
errbuf_add(struct errbuf *eb, const char *file, unsigned line,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	errbuf_addv(eb, file, line, fmt, ap);
	va_end(ap);
}

const char *
errbuf_text(const struct errbuf *eb)
{
	return eb->eb_text ? eb->eb_text : "";
}

const char *
errbuf_oneline(const struct errbuf *eb, char *out, size_t cap)
{
	size_t	 i, n;

	if (cap == 0)
		return out;
	snprintf(out, cap, "%s", errbuf_text(eb));
	n = strlen(out);
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	for (i = 0; i < n; i++)
		if (out[i] == '\n')
			out[i] = ';';
	return out;
}

void
errbuf_clear(struct errbuf *eb)
{
	eb->eb_len = 0;
	eb->eb_count = 0;
	if (eb->eb_text)
		eb->eb_text[0] = '\0';
}

void
errbuf_free(struct errbuf *eb)
{
	if (eb == NULL)
		return;
	free(eb->eb_text);
	eb->eb_text = NULL;
	eb->eb_len = eb->eb_cap = 0;
	eb->eb_count = 0;
}
