/*
 * strbuf: the one bounded string builder. Appends never write past the
 * capacity; the first append that does not fit marks the buffer full
 * and every later one is ignored, so a builder checks once, at the end
 * (strbuf_full()), instead of after every piece. No NUL is written
 * unless strbuf_terminate() is asked for one: datagrams may use every
 * byte of their buffer.
 */
#ifndef SIPD_STRBUF_H
#define SIPD_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct strbuf {
	char	*sb_p;
	size_t	 sb_len;
	size_t	 sb_cap;
	bool	 sb_full;
};

static inline void
strbuf_init(struct strbuf *b, char *p, size_t cap)
{
	b->sb_p = p;
	b->sb_len = 0;
	b->sb_cap = cap;
	b->sb_full = false;
}

static inline void
strbuf_put(struct strbuf *b, const char *s, size_t n)
{
	if (b->sb_full || n > b->sb_cap - b->sb_len) {
		b->sb_full = true;
		return;
	}
	memcpy(b->sb_p + b->sb_len, s, n);
	b->sb_len += n;
}

static inline void
strbuf_puts(struct strbuf *b, const char *s)
{
	strbuf_put(b, s, strlen(s));
}

/* The bytes from s up to (not including) e; nothing when e <= s. */
static inline void
strbuf_put_span(struct strbuf *b, const char *s, const char *e)
{
	if (e > s)
		strbuf_put(b, s, (size_t)(e - s));
}

/*
 * A NUL after the text (not counted in sb_len); when there is no room
 * for it the last byte is given up (and the buffer is full).
 */
static inline void
strbuf_terminate(struct strbuf *b)
{
	if (b->sb_cap == 0)
		return;
	if (b->sb_len >= b->sb_cap) {
		b->sb_full = true;
		b->sb_len = b->sb_cap - 1;
	}
	b->sb_p[b->sb_len] = '\0';
}

static inline bool
strbuf_full(const struct strbuf *b)
{
	return b->sb_full;
}

#endif
