/*
 * conf_http.c: parsing of http.listen and http.allow, and the CIDR
 * check the master's HTTP endpoint makes for every connection.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_http.h"

static int
conf_http_why(char *why, size_t len, const char *msg)
{
	snprintf(why, len, "%s", msg);
	return -1;
}

/* Decimal 1..max, digits only. */
static int
conf_http_num(const char *s, unsigned long max, unsigned long *ret)
{
	unsigned long	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -1;
	}
	*ret = v;
	return 0;
}

int
conf_http_set_listen(struct conf_http *h, const char *value, char *why,
    size_t len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&h->ch_addr;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&h->ch_addr;
	struct sockaddr_storage	 ss;
	char			 host[INET6_ADDRSTRLEN + 2];
	const char		*colon;
	unsigned long		 port;
	size_t			 hl;
	int			 v6;

	if (*value == '\0') {
		h->ch_set = false;
		h->ch_listen[0] = '\0';
		return 0;
	}
	if ((colon = strrchr(value, ':')) == NULL)
		return conf_http_why(why, len, "IP:PORT expected");
	v6 = value[0] == '[';
	if (v6 && colon[-1] != ']')
		return conf_http_why(why, len, "[IPv6]:PORT expected");
	hl = (size_t)(colon - value) - (v6 ? 2 : 0);
	if (hl == 0 || hl >= sizeof(host))
		return conf_http_why(why, len, "not an IP address");
	memcpy(host, value + v6, hl);
	host[hl] = '\0';
	if (conf_http_num(colon + 1, 65535, &port) == -1 || port == 0)
		return conf_http_why(why, len, "port must be 1..65535");
	memset(&ss, 0, sizeof(ss));
	sin = (struct sockaddr_in *)&ss;
	sin6 = (struct sockaddr_in6 *)&ss;
	if (v6) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return conf_http_why(why, len, "not an IPv6 address");
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
	} else {
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return conf_http_why(why, len, strchr(host, ':') ?
			    "IPv6 addresses go in brackets: [::1]:9060" :
			    "not an IPv4 address");
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	}
	if (strlen(value) >= sizeof(h->ch_listen))
		return conf_http_why(why, len, "too long");
	h->ch_addr = ss;
	h->ch_set = true;
	snprintf(h->ch_listen, sizeof(h->ch_listen), "%s", value);
	return 0;
}

static int
conf_http_cidr(const char *w, struct conf_cidr *cc)
{
	char		 ip[INET6_ADDRSTRLEN];
	const char	*slash;
	unsigned long	 bits;
	size_t		 n, i;
	unsigned	 max;

	slash = strchr(w, '/');
	n = slash ? (size_t)(slash - w) : strlen(w);
	if (n == 0 || n >= sizeof(ip))
		return -1;
	memcpy(ip, w, n);
	ip[n] = '\0';
	memset(cc, 0, sizeof(*cc));
	if (inet_pton(AF_INET, ip, cc->cc_addr) == 1) {
		cc->cc_family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, ip, cc->cc_addr) == 1) {
		cc->cc_family = AF_INET6;
		max = 128;
	} else
		return -1;
	bits = max;
	if (slash && conf_http_num(slash + 1, max, &bits) == -1)
		return -1;
	cc->cc_bits = (unsigned)bits;
	/* Host bits set (10.1.2.3/8) are cleared, as ip(8) does. */
	for (i = 0; i < max / 8; i++)
		if (i * 8 >= bits)
			cc->cc_addr[i] = 0;
		else if (i * 8 + 8 > bits)
			cc->cc_addr[i] &= (uint8_t)(0xff << (8 - (bits - i * 8)));
	return 0;
}

int
conf_http_set_allow(struct conf_http *h, const char *value, char *why,
    size_t len)
{
	struct conf_cidr	 add[CONF_HTTP_MAX_ALLOW];
	char			 w[INET6_ADDRSTRLEN + 8];
	const char		*p = value;
	size_t			 wl;
	int			 n = 0;

	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		wl = strcspn(p, " \t,");
		if (wl >= sizeof(w))
			return conf_http_why(why, len, "not IP[/BITS]");
		memcpy(w, p, wl);
		w[wl] = '\0';
		p += wl;
		if (n == CONF_HTTP_MAX_ALLOW)
			return conf_http_why(why, len,
			    "more than 16 networks");
		if (conf_http_cidr(w, &add[n]) == -1) {
			snprintf(why, len, "\"%s\": not IP[/BITS]", w);
			return -1;
		}
		n++;
	}
	if (n == 0)
		return conf_http_why(why, len, "no network (to refuse "
		    "everyone, leave http.listen unset)");
	if (strlen(value) >= sizeof(h->ch_allow_text))
		return conf_http_why(why, len, "too long");
	memcpy(h->ch_allow, add, (size_t)n * sizeof(add[0]));
	h->ch_nallow = n;
	snprintf(h->ch_allow_text, sizeof(h->ch_allow_text), "%s", value);
	return 0;
}

static bool
conf_http_match(const struct conf_cidr *cc, int family, const uint8_t *a)
{
	unsigned	 full = cc->cc_bits / 8, rest = cc->cc_bits % 8;
	uint8_t		 mask;

	if (cc->cc_family != family)
		return false;
	if (memcmp(cc->cc_addr, a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == cc->cc_addr[full];
}

bool
conf_http_allowed(const struct conf_http *h, const struct sockaddr *sa)
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const uint8_t		*a;
	int			 family, i;

	if (sa->sa_family == AF_INET) {
		family = AF_INET;
		a = (const uint8_t *)&((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		family = AF_INET6;
		a = (const uint8_t *)&((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			family = AF_INET;
			a += 12;
		}
	} else
		return false;
	for (i = 0; i < h->ch_nallow; i++)
		if (conf_http_match(&h->ch_allow[i], family, a))
			return true;
	return false;
}
