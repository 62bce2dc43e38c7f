/*
 * sip_lex: character classes and small scanners shared by the SIP parser
 * modules (sip_msg.c, sip_hdr.c, sip_uri.c, sip_reply.c). Private to
 * libsipd_sip; runs in whichever process parses SIP (the UDP workers).
 *
 * Classes are table-driven: one byte lookup per character keeps the
 * parse path branch-light, and every scanner is bounded by an end
 * pointer, never by a NUL (RFC 4475 intmeth carries one).
 */
#ifndef SIPD_SIP_LEX_H
#define SIPD_SIP_LEX_H

#include <stddef.h>
#include <stdint.h>

#define SIP_LEX_TOKEN	0x01	/* RFC 3261 token */
#define SIP_LEX_UNRES	0x02	/* URI unreserved: alphanum mark */
#define SIP_LEX_USER	0x04	/* user-unreserved "&=+$,;?/" */
#define SIP_LEX_PARAM	0x08	/* param-unreserved "[]/:&+$" */
#define SIP_LEX_HNV	0x10	/* hnv-unreserved "[]/?:+$" */
#define SIP_LEX_HOST	0x20	/* alphanum "-._" */
#define SIP_LEX_WORD	0x40	/* Call-ID word characters */
#define SIP_LEX_WS	0x80	/* SP HT CR LF: LWS once folded */

extern const uint8_t sip_lex_class[256];

static inline int
sip_lex_is(unsigned char c, uint8_t cls)
{
	return (sip_lex_class[c] & cls) != 0;
}

static inline int
sip_lex_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline unsigned char
sip_lex_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Skips LWS (folding included: CR and LF count as white space). */
static inline const char *
sip_lex_skip_ws(const char *p, const char *end)
{
	while (p < end && sip_lex_is((unsigned char)*p, SIP_LEX_WS))
		p++;
	return p;
}

static inline const char *
sip_lex_skip_token(const char *p, const char *end)
{
	while (p < end && sip_lex_is((unsigned char)*p, SIP_LEX_TOKEN))
		p++;
	return p;
}

/* Trailing LWS off [s, *end). */
static inline const char *
sip_lex_rtrim(const char *s, const char *end)
{
	while (end > s && sip_lex_is((unsigned char)end[-1], SIP_LEX_WS))
		end--;
	return end;
}

/*
 * v in decimal into out (at least 11 bytes), NUL-terminated; returns the
 * length. For the hot paths, where snprintf() costs more than the rest.
 */
static inline size_t
sip_lex_utoa(unsigned v, char *out)
{
	char	 tmp[10];
	size_t	 n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

/*
 * Quoted string starting at p (p[0] == '"'): returns the pointer after
 * the closing quote, or NULL if unterminated. quoted-pair may escape any
 * octet but CR and LF (RFC 3261 §25.1), which is how intmeth gets NUL in.
 */
const char	*sip_lex_quoted(const char *p, const char *end);

/*
 * Case-insensitive comparison of a span with a NUL-free lower-case or
 * mixed-case literal. Inline: header and parameter names are compared
 * many times per message, and most comparisons fail on the first octet.
 */
static inline int
sip_lex_caseeq(const char *s, size_t len, const char *lit)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (lit[i] == '\0' ||
		    sip_lex_lower((unsigned char)s[i]) !=
		    sip_lex_lower((unsigned char)lit[i]))
			return 0;
	}
	return lit[i] == '\0';
}

/*
 * Decimal digits [s, s+len) into *ret; -1 on empty, non-digit or a value
 * above max. Leading zeros are fine ("0068").
 */
int		 sip_lex_u64(const char *s, size_t len, uint64_t max,
		    uint64_t *ret);

#endif
