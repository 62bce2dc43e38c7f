/*
 * sip_hdr: lazy parsers for header values (Via, From/To/Contact/Route,
 * Call-ID, CSeq, numbers, token lists, credentials). Run in the UDP
 * workers on demand, after sip_msg_parse() has framed the message.
 *
 * Values may still hold folding (CRLF SP) and LWS around separators;
 * every scanner treats CR and LF as white space, so no copy is needed
 * to unfold. List headers are split at commas outside quotes and <>,
 * since both a quoted display name and a URI may hold commas.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sip_lex.h"
#include "sip_msg.h"

/* An unquoted parameter value ends at these or at white space. */
static int
sip_hdr_pvalue_char(unsigned char c)
{
	if (c < 0x21 || c == 0x7f)
		return 0;
	return c != ';' && c != ',' && c != '"' && c != '<' && c != '>' &&
	    c != '=';
}

/* Octets that matter when splitting a list value at commas. */
static const uint8_t sip_hdr_list_stop[256] = {
	['"'] = 1, ['<'] = 1, ['>'] = 1, [','] = 1
};

static void
sip_hdr_set(struct sip_str *d, const char *s, const char *e)
{
	d->s = s;
	d->len = (size_t)(e - s);
}

int
sip_param_next(struct sip_str *params, struct sip_str *ret_name,
    struct sip_str *ret_value, struct sip_str *ret_span)
{
	const char	*p, *end, *start, *n, *v, *ve;

	if (params->s == NULL)
		return 0;
	p = params->s;
	end = p + params->len;
	p = sip_lex_skip_ws(p, end);
	if (p == end)
		return 0;
	if (*p != ';')
		return -EBADMSG;
	start = p;
	n = sip_lex_skip_ws(p + 1, end);
	p = sip_lex_skip_token(n, end);
	if (p == n)
		return -EBADMSG;	/* ";;" (RFC 4475 badinv01) */
	sip_hdr_set(ret_name, n, p);
	v = sip_lex_skip_ws(p, end);
	if (v < end && *v == '=') {
		v = sip_lex_skip_ws(v + 1, end);
		if (v < end && *v == '"') {
			ve = sip_lex_quoted(v, end);
			if (ve == NULL)
				return -EBADMSG;
		} else {
			for (ve = v; ve < end &&
			    sip_hdr_pvalue_char((unsigned char)*ve); ve++)
				;
			if (ve == v)
				return -EBADMSG;
		}
		sip_hdr_set(ret_value, v, ve);
		p = ve;
	} else {
		sip_hdr_set(ret_value, p, p);
	}
	if (ret_span != NULL)
		sip_hdr_set(ret_span, start, p);
	sip_hdr_set(params, p, end);
	return 1;
}

int
sip_param_find(struct sip_str params, const char *name,
    struct sip_str *ret_value)
{
	struct sip_str	 n, v;
	int		 rc;

	while ((rc = sip_param_next(&params, &n, &v, NULL)) == 1) {
		if (sip_lex_caseeq(n.s, n.len, name)) {
			*ret_value = v;
			return 1;
		}
	}
	return rc;
}

void
sip_iter_init(struct sip_iter *it, const struct sip_msg *m, int id)
{
	it->si_msg = m;
	it->si_id = id;
	it->si_hdr = -1;
	it->si_rest.s = NULL;
	it->si_rest.len = 0;
}

/*
 * Next comma-separated value of the iterator's header, trimmed. 1, 0 at
 * the end, -EBADMSG for an empty element or an unbalanced quote/<.
 * Lines with an empty value are skipped when allow_empty is set
 * ("Supported:" may be empty), an error otherwise.
 */
static int
sip_hdr_next_value(struct sip_iter *it, int allow_empty, struct sip_str *ret)
{
	const struct sip_hdr	*h;
	const char		*p, *end, *start, *q;
	int			 angle = 0;

	while (it->si_rest.s == NULL || it->si_rest.len == 0) {
		h = sip_msg_hdr_next(it->si_msg, it->si_id, &it->si_hdr);
		if (h == NULL)
			return 0;
		it->si_rest = h->sh_value;
		if (h->sh_value.len == 0 && !allow_empty)
			return -EBADMSG;
		if (it->si_rest.s == NULL)
			it->si_rest.s = h->sh_line.s;
	}
	start = p = it->si_rest.s;
	end = p + it->si_rest.len;
	for (; p < end; p++) {
		/* one table load per ordinary octet */
		if (!sip_hdr_list_stop[(unsigned char)*p])
			continue;
		if (*p == '"') {
			q = sip_lex_quoted(p, end);
			if (q == NULL)
				return -EBADMSG;
			p = q - 1;
		} else if (*p == '<')
			angle = 1;
		else if (*p == '>')
			angle = 0;
		else if (*p == ',' && !angle)
			break;
	}
	if (angle)
		return -EBADMSG;
	q = sip_lex_rtrim(start, p);
	if (q == start)
		return -EBADMSG;	/* ",," */
	sip_hdr_set(ret, start, q);
	if (p < end) {
		p = sip_lex_skip_ws(p + 1, end);
		if (p == end)
			return -EBADMSG;	/* trailing comma */
	}
	sip_hdr_set(&it->si_rest, p, end);
	return 1;
}

/* Via: sent-protocol LWS sent-by *( SEMI via-params ) */
static int
sip_hdr_via_parse(const char *s, size_t len, struct sip_via *v)
{
	const char	*p = s, *end = s + len, *t, *h;
	struct sip_str	 params, n, val, *part[3];
	uint64_t	 port;
	int		 rc, i;

	memset(v, 0, sizeof(*v));
	sip_hdr_set(&v->sv_value, s, end);
	/* protocol-name SLASH protocol-version SLASH transport */
	part[0] = &v->sv_proto;
	part[1] = &v->sv_version;
	part[2] = &v->sv_transport;
	for (i = 0; i < 3; i++) {
		if (i > 0) {
			if (p == end || *p != '/')
				return -EBADMSG;
			p = sip_lex_skip_ws(p + 1, end);
		}
		t = sip_lex_skip_token(p, end);
		if (t == p)
			return -EBADMSG;
		sip_hdr_set(part[i], p, t);
		p = sip_lex_skip_ws(t, end);
	}
	if (p == t)
		return -EBADMSG;	/* no LWS before sent-by */

	h = p;
	if (p < end && *p == '[') {
		t = memchr(p, ']', (size_t)(end - p));
		if (t == NULL || t == p + 1)
			return -EBADMSG;
		for (p++; p < t; p++)
			if (sip_lex_hex((unsigned char)*p) < 0 && *p != ':' &&
			    *p != '.')
				return -EBADMSG;
		p = t + 1;
	} else {
		while (p < end && sip_lex_is((unsigned char)*p, SIP_LEX_HOST))
			p++;
		if (p == h)
			return -EBADMSG;
	}
	sip_hdr_set(&v->sv_host, h, p);
	p = sip_lex_skip_ws(p, end);
	if (p < end && *p == ':') {
		p = sip_lex_skip_ws(p + 1, end);
		t = p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (sip_lex_u64(t, (size_t)(p - t), 65535, &port) == -1 ||
		    port == 0)
			return -EBADMSG;
		v->sv_port = (uint16_t)port;
		p = sip_lex_skip_ws(p, end);
	}
	if (p < end && *p != ';')
		return -EBADMSG;
	sip_hdr_set(&v->sv_params, p, end);

	params = v->sv_params;
	while ((rc = sip_param_next(&params, &n, &val, NULL)) == 1) {
		if (sip_lex_caseeq(n.s, n.len, "branch"))
			v->sv_branch = val;
		else if (sip_lex_caseeq(n.s, n.len, "received"))
			v->sv_received = val;
		else if (sip_lex_caseeq(n.s, n.len, "maddr"))
			v->sv_maddr = val;
		else if (sip_lex_caseeq(n.s, n.len, "rport")) {
			v->sv_rport = val;
			v->sv_has_rport = 1;
		}
	}
	return rc;
}

int
sip_via_next(struct sip_iter *it, struct sip_via *ret)
{
	struct sip_str	 val;
	int		 rc;

	memset(ret, 0, sizeof(*ret));
	rc = sip_hdr_next_value(it, 0, &val);
	if (rc != 1)
		return rc;
	rc = sip_hdr_via_parse(val.s, val.len, ret);
	ret->sv_hdr = it->si_hdr;
	return rc == 0 ? 1 : rc;
}

int
sip_msg_via_top(const struct sip_msg *m, struct sip_via *ret)
{
	struct sip_iter	 it;
	int		 rc;

	sip_iter_init(&it, m, SIP_HDR_VIA);
	rc = sip_via_next(&it, ret);
	if (rc == 0)
		return -ENOENT;
	return rc == 1 ? 0 : rc;
}

int
sip_addr_parse(const char *s, size_t len, int allow_star,
    struct sip_addr *ret)
{
	struct sip_addr	 a;
	const char	*p = s, *end = s + len, *t, *q;
	struct sip_str	 params, n, v;
	int		 rc;

	memset(&a, 0, sizeof(a));
	a.sa_hdr = -1;
	p = sip_lex_skip_ws(p, end);
	end = sip_lex_rtrim(p, end);
	sip_hdr_set(&a.sa_value, p, end);
	if (p == end)
		return -EBADMSG;
	if (allow_star && *p == '*' && p + 1 == end) {
		a.sa_star = 1;
		*ret = a;
		return 0;
	}

	t = sip_lex_skip_token(p, end);
	if (*p == '"') {
		q = sip_lex_quoted(p, end);
		if (q == NULL)
			return -EBADMSG;	/* RFC 4475 quotbal */
		sip_hdr_set(&a.sa_display, p, q);
		p = sip_lex_skip_ws(q, end);
		if (p == end || *p != '<')
			return -EBADMSG;
	} else if (*p != '<' && !(t > p && t < end && *t == ':')) {
		/* display-name = *(token LWS): "Bell, Alexander" fails */
		q = p;
		for (;;) {
			t = sip_lex_skip_token(q, end);
			if (t == q)
				return -EBADMSG;
			sip_hdr_set(&a.sa_display, p, t);
			q = sip_lex_skip_ws(t, end);
			if (q < end && *q == '<')
				break;
		}
		p = q;
	}

	if (*p == '<') {
		q = memchr(p, '>', (size_t)(end - p));
		if (q == NULL)
			return -EBADMSG;
		sip_hdr_set(&a.sa_uri, p + 1, q);
		a.sa_angle = 1;
		p = q + 1;
	} else {
		/* addr-spec: the URI ends at the first ';' or LWS */
		for (q = p; q < end && *q != ';' &&
		    !sip_lex_is((unsigned char)*q, SIP_LEX_WS); q++)
			;
		sip_hdr_set(&a.sa_uri, p, q);
		p = q;
	}
	if (sip_uri_parse(a.sa_uri.s, a.sa_uri.len, &a.sa_puri) != 0)
		return -EBADMSG;	/* badaspec "< sip:... >" */
	/* §20: a URI with headers or ';' needs <> (RFC 4475 regbadct) */
	if (!a.sa_angle && a.sa_puri.su_headers.s != NULL)
		return -EBADMSG;

	sip_hdr_set(&a.sa_params, p, end);
	params = a.sa_params;
	while ((rc = sip_param_next(&params, &n, &v, NULL)) == 1) {
		if (sip_lex_caseeq(n.s, n.len, "tag"))
			a.sa_tag = v;
		else if (sip_lex_caseeq(n.s, n.len, "expires"))
			a.sa_expires = v;
		else if (sip_lex_caseeq(n.s, n.len, "q"))
			a.sa_q = v;
	}
	if (rc != 0)
		return -EBADMSG;
	*ret = a;
	return 0;
}

static int
sip_hdr_single_addr(const struct sip_msg *m, int id, struct sip_addr *ret)
{
	const struct sip_hdr	*h;
	struct sip_iter		 it;
	struct sip_str		 v;
	int			 rc;

	h = sip_msg_hdr(m, id);
	if (h == NULL)
		return -ENOENT;
	/* one value only: a comma outside quotes and <> is multi01-ish */
	sip_iter_init(&it, m, id);
	if (sip_hdr_next_value(&it, 0, &v) != 1 || it.si_rest.len != 0)
		return -EBADMSG;
	rc = sip_addr_parse(v.s, v.len, 0, ret);
	if (rc == 0)
		ret->sa_hdr = m->sm_first[id];
	return rc;
}

int
sip_msg_from(const struct sip_msg *m, struct sip_addr *ret)
{
	return sip_hdr_single_addr(m, SIP_HDR_FROM, ret);
}

int
sip_msg_to(const struct sip_msg *m, struct sip_addr *ret)
{
	return sip_hdr_single_addr(m, SIP_HDR_TO, ret);
}

int
sip_addr_next(struct sip_iter *it, struct sip_addr *ret)
{
	struct sip_str	 v;
	int		 rc;

	rc = sip_hdr_next_value(it, 0, &v);
	if (rc != 1)
		return rc;
	if (sip_addr_parse(v.s, v.len, it->si_id == SIP_HDR_CONTACT, ret) != 0)
		return -EBADMSG;
	ret->sa_hdr = it->si_hdr;
	return 1;
}

int
sip_msg_callid(const struct sip_msg *m, struct sip_str *ret)
{
	const struct sip_hdr	*h;
	size_t			 i, at = 0;

	h = sip_msg_hdr(m, SIP_HDR_CALL_ID);
	if (h == NULL)
		return -ENOENT;
	if (h->sh_value.len == 0)
		return -EBADMSG;
	for (i = 0; i < h->sh_value.len; i++) {
		unsigned char c = (unsigned char)h->sh_value.s[i];

		if (c == '@') {
			if (at++ > 0 || i == 0 || i + 1 == h->sh_value.len)
				return -EBADMSG;
		} else if (!sip_lex_is(c, SIP_LEX_WORD))
			return -EBADMSG;
	}
	*ret = h->sh_value;
	return 0;
}

int
sip_msg_cseq(const struct sip_msg *m, struct sip_cseq *ret)
{
	const struct sip_hdr	*h;
	const char		*p, *end, *t;
	uint64_t		 num;

	h = sip_msg_hdr(m, SIP_HDR_CSEQ);
	if (h == NULL)
		return -ENOENT;
	p = h->sh_value.s;
	end = p + h->sh_value.len;
	for (t = p; t < end && *t >= '0' && *t <= '9'; t++)
		;
	/* RFC 4475 scalar02/scalarlg: above 2^32-1 is malformed */
	if (sip_lex_u64(p, (size_t)(t - p), UINT32_MAX, &num) == -1)
		return -EBADMSG;
	p = sip_lex_skip_ws(t, end);
	if (p == t)
		return -EBADMSG;
	t = sip_lex_skip_token(p, end);
	if (t == p || t != end)
		return -EBADMSG;
	ret->sc_num = (uint32_t)num;
	sip_hdr_set(&ret->sc_method_str, p, t);
	ret->sc_method = sip_method_from_str(p, (size_t)(t - p));
	return 0;
}

int
sip_str_to_u32_sat(struct sip_str s, uint32_t *ret)
{
	size_t	 i;
	uint64_t v = 0;

	if (s.len == 0)
		return -EBADMSG;
	for (i = 0; i < s.len; i++) {
		if (s.s[i] < '0' || s.s[i] > '9')
			return -EBADMSG;
		if (v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(s.s[i] - '0');
	}
	*ret = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	return 0;
}

int
sip_msg_expires(const struct sip_msg *m, uint32_t *ret)
{
	const struct sip_hdr	*h;

	h = sip_msg_hdr(m, SIP_HDR_EXPIRES);
	if (h == NULL)
		return -ENOENT;
	return sip_str_to_u32_sat(h->sh_value, ret);
}

int
sip_msg_max_forwards(const struct sip_msg *m, unsigned *ret)
{
	const struct sip_hdr	*h;
	uint64_t		 v;

	h = sip_msg_hdr(m, SIP_HDR_MAX_FORWARDS);
	if (h == NULL)
		return -ENOENT;
	if (sip_lex_u64(h->sh_value.s, h->sh_value.len, 255, &v) == -1)
		return -EBADMSG;
	*ret = (unsigned)v;
	return 0;
}

int
sip_msg_content_length(const struct sip_msg *m, size_t *ret)
{
	const struct sip_hdr	*h;
	uint64_t		 v;

	h = sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH);
	if (h == NULL)
		return -ENOENT;
	if (sip_lex_u64(h->sh_value.s, h->sh_value.len, SIZE_MAX >> 1,
	    &v) == -1)
		return -EBADMSG;
	*ret = (size_t)v;
	return 0;
}

int
sip_token_next(struct sip_iter *it, struct sip_str *ret)
{
	struct sip_str	 v;
	int		 rc;

	rc = sip_hdr_next_value(it, 1, &v);
	if (rc != 1)
		return rc;
	if (sip_lex_skip_token(v.s, v.s + v.len) != v.s + v.len)
		return -EBADMSG;
	*ret = v;
	return 1;
}

int
sip_msg_allow_mask(const struct sip_msg *m, unsigned *ret)
{
	struct sip_iter	 it;
	struct sip_str	 t;
	unsigned	 mask = 0;
	int		 rc, meth;

	if (sip_msg_hdr(m, SIP_HDR_ALLOW) == NULL)
		return -ENOENT;
	sip_iter_init(&it, m, SIP_HDR_ALLOW);
	while ((rc = sip_token_next(&it, &t)) == 1) {
		meth = sip_method_from_str(t.s, t.len);
		if (meth != SIP_METHOD_OTHER)
			mask |= (unsigned)meth;
	}
	if (rc != 0)
		return rc;
	*ret = mask;
	return 0;
}

struct sip_str
sip_msg_user_agent(const struct sip_msg *m)
{
	const struct sip_hdr	*h;
	struct sip_str		 none = { "", 0 };

	h = sip_msg_hdr(m, SIP_HDR_USER_AGENT);
	return h != NULL ? h->sh_value : none;
}

int
sip_auth_parse(struct sip_str value, struct sip_auth *ret)
{
	const char	*p = value.s, *end = value.s + value.len, *t;

	if (p == NULL)
		return -EBADMSG;
	t = sip_lex_skip_token(p, end);
	if (t == p || (t < end && !sip_lex_is((unsigned char)*t,
	    SIP_LEX_WS)))
		return -EBADMSG;
	sip_hdr_set(&ret->sa_scheme, p, t);
	p = sip_lex_skip_ws(t, end);
	sip_hdr_set(&ret->sa_params, p, end);
	return 0;
}

int
sip_auth_param_next(struct sip_str *rest, struct sip_str *ret_name,
    struct sip_str *ret_value)
{
	const char	*p = rest->s, *end = rest->s + rest->len, *n, *v;

	if (p == NULL)
		return 0;
	p = sip_lex_skip_ws(p, end);
	if (p == end)
		return 0;
	n = p;
	p = sip_lex_skip_token(p, end);
	if (p == n)
		return -EBADMSG;
	sip_hdr_set(ret_name, n, p);
	p = sip_lex_skip_ws(p, end);
	if (p == end || *p != '=')
		return -EBADMSG;
	p = sip_lex_skip_ws(p + 1, end);
	v = p;
	if (p < end && *p == '"') {
		/* quoted values may hold commas (uri="sip:a?x,y") */
		p = sip_lex_quoted(p, end);
		if (p == NULL)
			return -EBADMSG;
	} else {
		while (p < end && *p != ',' &&
		    !sip_lex_is((unsigned char)*p, SIP_LEX_WS) && *p != '"')
			p++;
		if (p == v)
			return -EBADMSG;
	}
	sip_hdr_set(ret_value, v, p);
	p = sip_lex_skip_ws(p, end);
	if (p < end) {
		if (*p != ',')
			return -EBADMSG;
		p = sip_lex_skip_ws(p + 1, end);
		if (p == end)
			return -EBADMSG;
	}
	sip_hdr_set(rest, p, end);
	return 1;
}

int
sip_digest_parse(const struct sip_auth *a, struct sip_digest *ret)
{
	static const struct {
		const char	*dn_name;
		size_t		 dn_len;
		size_t		 dn_off;
	} names[] = {
		{ "username", 8, offsetof(struct sip_digest, sd_username) },
		{ "realm", 5, offsetof(struct sip_digest, sd_realm) },
		{ "nonce", 5, offsetof(struct sip_digest, sd_nonce) },
		{ "uri", 3, offsetof(struct sip_digest, sd_uri) },
		{ "response", 8, offsetof(struct sip_digest, sd_response) },
		{ "algorithm", 9, offsetof(struct sip_digest, sd_algorithm) },
		{ "cnonce", 6, offsetof(struct sip_digest, sd_cnonce) },
		{ "opaque", 6, offsetof(struct sip_digest, sd_opaque) },
		{ "qop", 3, offsetof(struct sip_digest, sd_qop) },
		{ "nc", 2, offsetof(struct sip_digest, sd_nc) },
	};
	struct sip_digest d;
	struct sip_str	 rest = a->sa_params, n, v;
	size_t		 i;
	int		 rc;

	if (!sip_lex_caseeq(a->sa_scheme.s, a->sa_scheme.len, "digest"))
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	while ((rc = sip_auth_param_next(&rest, &n, &v)) == 1) {
		if (v.len >= 2 && v.s[0] == '"') {
			v.s++;
			v.len -= 2;
		}
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (n.len == names[i].dn_len &&
			    sip_lex_caseeq(n.s, n.len, names[i].dn_name)) {
				memcpy((char *)&d + names[i].dn_off, &v,
				    sizeof(v));
				break;
			}
		}
	}
	if (rc != 0)
		return -EBADMSG;
	*ret = d;
	return 0;
}
