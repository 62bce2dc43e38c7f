/*
 * sip_uri: parses sip:, sips: and tel: URIs in place (RFC 3261 §19.1,
 * §25.1; RFC 5118 for IPv6 references). Runs in the UDP workers, on
 * Request-URIs and on the URIs inside From/To/Contact/Route.
 *
 * The user part is found by the first '@': the ABNF allows no raw '@'
 * in params or headers, while the user part may hold ';', '?' and ','
 * (RFC 4475 semiuri, intmeth), so splitting at those first would cut it.
 * Escapes are validated but never undone here: registrar and forwarding
 * keep URIs byte-exact, and comparison unescapes on the fly.
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sip_lex.h"
#include "sip_uri.h"

static int
sip_uri_escape_ok(const char *p, const char *end)
{
	return end - p >= 3 && sip_lex_hex((unsigned char)p[1]) >= 0 &&
	    sip_lex_hex((unsigned char)p[2]) >= 0;
}

/*
 * Checks [p, end) holds only characters of class cls, the extra octets
 * in extra, or %HH escapes. 0 or -1.
 */
static int
sip_uri_chars(const char *p, const char *end, uint8_t cls, const char *extra)
{
	for (; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '%') {
			if (!sip_uri_escape_ok(p, end))
				return -1;
			p += 2;
			continue;
		}
		if (sip_lex_is(c, cls))
			continue;
		if (extra != NULL && c != '\0' && strchr(extra, c) != NULL)
			continue;
		return -1;
	}
	return 0;
}

/*
 * One uri-parameter, name ["=" value], at p: returns where it ends (its
 * ';' or end) and sets *ret_eq to its '=', or to that end if none.
 */
static const char *
sip_uri_param_split(const char *p, const char *end, const char **ret_eq)
{
	const char *semi, *eq;

	semi = memchr(p, ';', (size_t)(end - p));
	if (semi == NULL)
		semi = end;
	eq = memchr(p, '=', (size_t)(semi - p));
	*ret_eq = eq != NULL ? eq : semi;
	return semi;
}

/* uri-parameters: (";" name ["=" value])*, p just after the first ';'. */
static int
sip_uri_params_ok(const char *p, const char *end)
{
	while (p <= end) {
		const char *semi, *eq;

		semi = sip_uri_param_split(p, end, &eq);
		if (eq == p)
			return -1;	/* empty name: ";;" or ";=x" */
		if (sip_uri_chars(p, eq, SIP_LEX_UNRES | SIP_LEX_PARAM,
		    NULL) == -1)
			return -1;
		if (eq < semi && sip_uri_chars(eq + 1, semi,
		    SIP_LEX_UNRES | SIP_LEX_PARAM, NULL) == -1)
			return -1;
		if (semi == end)
			break;
		p = semi + 1;
	}
	return 0;
}

static int
sip_uri_ipv4(const char *p, const char *end)
{
	unsigned dots = 0, val = 0, digits = 0;

	for (; p < end; p++) {
		if (*p == '.') {
			if (digits == 0)
				return 0;
			dots++;
			val = digits = 0;
		} else if (*p >= '0' && *p <= '9') {
			val = val * 10 + (unsigned)(*p - '0');
			if (++digits > 3 || val > 255)
				return 0;
		} else
			return 0;
	}
	return dots == 3 && digits > 0;
}

static int
sip_uri_parse_sip(const char *p, const char *end, struct sip_uri *u)
{
	const char *at, *colon, *h, *hs, *q;

	at = memchr(p, '@', (size_t)(end - p));
	if (at != NULL) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL)
			colon = at;
		if (colon == p)
			return -1;
		if (sip_uri_chars(p, colon, SIP_LEX_UNRES | SIP_LEX_USER,
		    NULL) == -1)
			return -1;
		u->su_user.s = p;
		u->su_user.len = (size_t)(colon - p);
		if (colon < at) {
			if (sip_uri_chars(colon + 1, at, SIP_LEX_UNRES,
			    "&=+$,") == -1)
				return -1;
			u->su_password.s = colon + 1;
			u->su_password.len = (size_t)(at - colon - 1);
		}
		p = at + 1;
	}

	hs = h = p;
	if (p < end && *p == '[') {
		q = memchr(p, ']', (size_t)(end - p));
		if (q == NULL || q == p + 1)
			return -1;
		/*
		 * RFC 5118 §4.10: tolerate both "::" forms of the 3261 ABNF;
		 * only the alphabet and one colon at least are enforced.
		 */
		if (memchr(p + 1, ':', (size_t)(q - p - 1)) == NULL)
			return -1;
		for (h = p + 1; h < q; h++)
			if (sip_lex_hex((unsigned char)*h) < 0 && *h != ':' &&
			    *h != '.')
				return -1;
		u->su_host_type = SIP_URI_HOST_IPV6;
		p = q + 1;
	} else {
		while (p < end && sip_lex_is((unsigned char)*p, SIP_LEX_HOST))
			p++;
		if (p == h)
			return -1;
		u->su_host_type = sip_uri_ipv4(h, p) ? SIP_URI_HOST_IPV4 :
		    SIP_URI_HOST_NAME;
	}
	u->su_host.s = hs;
	u->su_host.len = (size_t)(p - hs);

	if (p < end && *p == ':') {
		uint64_t port;

		q = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		/*
		 * "sip:2001:db8::10" stops here: "db8" is no port (RFC 5118
		 * §4.2), and neither is port 0.
		 */
		if (sip_lex_u64(q, (size_t)(p - q), 65535, &port) == -1 ||
		    port == 0)
			return -1;
		u->su_port_str.s = q;
		u->su_port_str.len = (size_t)(p - q);
		u->su_port = (uint16_t)port;
	}

	if (p < end && *p == ';') {
		q = memchr(p, '?', (size_t)(end - p));
		if (q == NULL)
			q = end;
		if (sip_uri_params_ok(p + 1, q) == -1)
			return -1;
		u->su_params.s = p + 1;
		u->su_params.len = (size_t)(q - p - 1);
		p = q;
	}
	if (p < end && *p == '?') {
		if (p + 1 == end || sip_uri_chars(p + 1, end,
		    SIP_LEX_UNRES | SIP_LEX_HNV, "=&") == -1)
			return -1;
		u->su_headers.s = p + 1;
		u->su_headers.len = (size_t)(end - p - 1);
		p = end;
	}
	return p == end ? 0 : -1;
}

/* telephone-subscriber, loosely: the number, then uri-parameters. */
static int
sip_uri_parse_tel(const char *p, const char *end, struct sip_uri *u)
{
	const char *semi;

	semi = memchr(p, ';', (size_t)(end - p));
	if (semi == NULL)
		semi = end;
	if (semi == p || sip_uri_chars(p, semi, SIP_LEX_UNRES | SIP_LEX_PARAM,
	    "#") == -1)
		return -1;
	u->su_user.s = p;
	u->su_user.len = (size_t)(semi - p);
	if (semi < end) {
		if (sip_uri_params_ok(semi + 1, end) == -1)
			return -1;
		u->su_params.s = semi + 1;
		u->su_params.len = (size_t)(end - semi - 1);
	}
	return 0;
}

int
sip_uri_parse(const char *s, size_t len, struct sip_uri *ret)
{
	struct sip_uri	 u;
	const char	*p = s, *end;
	int		 rc;

	if (s == NULL || len == 0)
		return -EINVAL;
	end = s + len;
	memset(&u, 0, sizeof(u));
	u.su_raw.s = s;
	u.su_raw.len = len;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (!((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
		return -EINVAL;
	while (p < end && (sip_lex_is((unsigned char)*p, SIP_LEX_HOST) ||
	    *p == '+') && *p != '_')
		p++;
	if (p == end || *p != ':')
		return -EINVAL;
	u.su_scheme_str.s = s;
	u.su_scheme_str.len = (size_t)(p - s);
	p++;

	if (sip_lex_caseeq(s, u.su_scheme_str.len, "sip"))
		u.su_scheme = SIP_URI_SIP;
	else if (sip_lex_caseeq(s, u.su_scheme_str.len, "sips"))
		u.su_scheme = SIP_URI_SIPS;
	else if (sip_lex_caseeq(s, u.su_scheme_str.len, "tel"))
		u.su_scheme = SIP_URI_TEL;
	else
		u.su_scheme = SIP_URI_OTHER;

	switch (u.su_scheme) {
	case SIP_URI_SIP:
	case SIP_URI_SIPS:
		rc = sip_uri_parse_sip(p, end, &u);
		break;
	case SIP_URI_TEL:
		rc = sip_uri_parse_tel(p, end, &u);
		break;
	default:
		/* opaque: any visible octet, but none that ends a name-addr */
		rc = p == end ? -1 : 0;
		for (; p < end && rc == 0; p++) {
			unsigned char c = (unsigned char)*p;

			if (c <= ' ' || c == 0x7f || c == '<' || c == '>' ||
			    c == '"')
				rc = -1;
		}
		break;
	}
	if (rc == -1)
		return -EINVAL;
	*ret = u;
	return 0;
}

struct sip_str
sip_uri_host_bare(const struct sip_uri *u)
{
	struct sip_str h = u->su_host;

	if (u->su_host_type == SIP_URI_HOST_IPV6 && h.len >= 2) {
		h.s++;
		h.len -= 2;
	}
	return h;
}

int
sip_uri_param(const struct sip_uri *u, const char *name,
    struct sip_str *ret_value)
{
	const char	*p = u->su_params.s, *end, *semi, *eq;

	if (p == NULL)
		return 0;
	end = p + u->su_params.len;
	while (p < end) {
		semi = sip_uri_param_split(p, end, &eq);
		if (sip_lex_caseeq(p, (size_t)(eq - p), name)) {
			if (ret_value != NULL) {
				ret_value->s = eq < semi ? eq + 1 : eq;
				ret_value->len = eq < semi ?
				    (size_t)(semi - eq - 1) : 0;
			}
			return 1;
		}
		p = semi + 1;
	}
	return 0;
}

/* Next octet of an escaped span, undoing one level of %HH. */
static int
sip_uri_next_octet(const char **pp, const char *end)
{
	const char	*p = *pp;
	int		 hi, lo;

	if (*p == '%' && end - p >= 3 &&
	    (hi = sip_lex_hex((unsigned char)p[1])) >= 0 &&
	    (lo = sip_lex_hex((unsigned char)p[2])) >= 0) {
		*pp = p + 3;
		return hi * 16 + lo;
	}
	*pp = p + 1;
	return (unsigned char)*p;
}

int
sip_uri_escaped_eq(const char *a, size_t alen, const char *b, size_t blen,
    int case_insensitive)
{
	const char	*ae, *be;
	int		 ca, cb;

	if (alen == 0 || blen == 0)
		return alen == blen;
	ae = a + alen;
	be = b + blen;

	while (a < ae && b < be) {
		ca = sip_uri_next_octet(&a, ae);
		cb = sip_uri_next_octet(&b, be);
		if (case_insensitive) {
			ca = sip_lex_lower((unsigned char)ca);
			cb = sip_lex_lower((unsigned char)cb);
		}
		if (ca != cb)
			return 0;
	}
	return a == ae && b == be;
}

long
sip_uri_unescape(const char *s, size_t len, char *out, size_t cap)
{
	const char	*end;
	size_t		 n = 0;

	if (len == 0)
		return 0;
	end = s + len;

	while (s < end) {
		if (*s == '%' && !sip_uri_escape_ok(s, end))
			return -1;
		if (n == cap)
			return -1;
		out[n++] = (char)sip_uri_next_octet(&s, end);
	}
	return (long)n;
}

int
sip_host_addr(struct sip_str host, unsigned char out[16])
{
	char	 h[INET6_ADDRSTRLEN + 1];

	if (host.len >= 2 && host.s[0] == '[') {
		if (host.s[host.len - 1] != ']')
			return 0;
		host.s++;
		host.len -= 2;
		if (host.len == 0 || host.len >= sizeof(h))
			return 0;
		memcpy(h, host.s, host.len);
		h[host.len] = '\0';
		return inet_pton(AF_INET6, h, out) == 1 ? AF_INET6 : 0;
	}
	if (host.len == 0 || host.len >= sizeof(h))
		return 0;
	memcpy(h, host.s, host.len);
	h[host.len] = '\0';
	if (inet_pton(AF_INET, h, out) == 1)
		return AF_INET;
	return inet_pton(AF_INET6, h, out) == 1 ? AF_INET6 : 0;
}

int
sip_host_is_addr(struct sip_str host, const struct sockaddr *sa)
{
	unsigned char	 a[16];
	int		 family = sip_host_addr(host, a);

	if (family != sa->sa_family)
		return 0;
	if (family == AF_INET)
		return memcmp(a, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, 4) == 0;
	return memcmp(a, &((const struct sockaddr_in6 *)(const void *)sa)->
	    sin6_addr, 16) == 0;
}
