/*
 * sip_msg: frames a SIP datagram in place (start line, header lines,
 * body) and checks a message before a proxy acts on it. Runs in the UDP
 * workers, once per received datagram.
 *
 * Framing is the only eager work: one pass over the header section with
 * memchr() for line ends, one table lookup per header name. Values are
 * left for the lazy accessors of sip_hdr.c, since most requests only
 * need a handful of them. Everything is (pointer, length): a NUL in a
 * quoted display name (RFC 4475 intmeth) is just another octet.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sip_lex.h"
#include "sip_msg.h"

struct sip_msg_name {
	const char	*mn_name;
	uint8_t		 mn_len;
	uint8_t		 mn_id;
};

/* Full and compact forms (RFC 3261 §7.3.3, RFC 3265, RFC 3515). */
static const struct sip_msg_name sip_msg_names[] = {
	{ "v", 1, SIP_HDR_VIA },
	{ "f", 1, SIP_HDR_FROM },
	{ "t", 1, SIP_HDR_TO },
	{ "i", 1, SIP_HDR_CALL_ID },
	{ "m", 1, SIP_HDR_CONTACT },
	{ "l", 1, SIP_HDR_CONTENT_LENGTH },
	{ "c", 1, SIP_HDR_CONTENT_TYPE },
	{ "e", 1, SIP_HDR_CONTENT_ENCODING },
	{ "k", 1, SIP_HDR_SUPPORTED },
	{ "s", 1, SIP_HDR_SUBJECT },
	{ "o", 1, SIP_HDR_EVENT },
	{ "u", 1, SIP_HDR_ALLOW_EVENTS },
	{ "r", 1, SIP_HDR_REFER_TO },
	{ "b", 1, SIP_HDR_REFERRED_BY },
	{ "to", 2, SIP_HDR_TO },
	{ "via", 3, SIP_HDR_VIA },
	{ "from", 4, SIP_HDR_FROM },
	{ "cseq", 4, SIP_HDR_CSEQ },
	{ "call-id", 7, SIP_HDR_CALL_ID },
	{ "contact", 7, SIP_HDR_CONTACT },
	{ "expires", 7, SIP_HDR_EXPIRES },
	{ "max-forwards", 12, SIP_HDR_MAX_FORWARDS },
	{ "route", 5, SIP_HDR_ROUTE },
	{ "record-route", 12, SIP_HDR_RECORD_ROUTE },
	{ "authorization", 13, SIP_HDR_AUTHORIZATION },
	{ "proxy-authorization", 19, SIP_HDR_PROXY_AUTHORIZATION },
	{ "www-authenticate", 16, SIP_HDR_WWW_AUTHENTICATE },
	{ "proxy-authenticate", 18, SIP_HDR_PROXY_AUTHENTICATE },
	{ "content-length", 14, SIP_HDR_CONTENT_LENGTH },
	{ "content-type", 12, SIP_HDR_CONTENT_TYPE },
	{ "content-encoding", 16, SIP_HDR_CONTENT_ENCODING },
	{ "require", 7, SIP_HDR_REQUIRE },
	{ "proxy-require", 13, SIP_HDR_PROXY_REQUIRE },
	{ "supported", 9, SIP_HDR_SUPPORTED },
	{ "unsupported", 11, SIP_HDR_UNSUPPORTED },
	{ "allow", 5, SIP_HDR_ALLOW },
	{ "user-agent", 10, SIP_HDR_USER_AGENT },
	{ "server", 6, SIP_HDR_SERVER },
	{ "subject", 7, SIP_HDR_SUBJECT },
	{ "event", 5, SIP_HDR_EVENT },
	{ "allow-events", 12, SIP_HDR_ALLOW_EVENTS },
	{ "refer-to", 8, SIP_HDR_REFER_TO },
	{ "referred-by", 11, SIP_HDR_REFERRED_BY },
	{ "min-expires", 11, SIP_HDR_MIN_EXPIRES },
	{ "path", 4, SIP_HDR_PATH },
	{ "date", 4, SIP_HDR_DATE },
	{ "accept", 6, SIP_HDR_ACCEPT },
};

static const struct {
	const char	*mm_name;
	int		 mm_method;
} sip_msg_methods[] = {
	{ "INVITE", SIP_METHOD_INVITE },
	{ "CANCEL", SIP_METHOD_CANCEL },
	{ "ACK", SIP_METHOD_ACK },
	{ "BYE", SIP_METHOD_BYE },
	{ "INFO", SIP_METHOD_INFO },
	{ "REGISTER", SIP_METHOD_REGISTER },
	{ "SUBSCRIBE", SIP_METHOD_SUBSCRIBE },
	{ "NOTIFY", SIP_METHOD_NOTIFY },
	{ "MESSAGE", SIP_METHOD_MESSAGE },
	{ "OPTIONS", SIP_METHOD_OPTIONS },
	{ "PRACK", SIP_METHOD_PRACK },
	{ "UPDATE", SIP_METHOD_UPDATE },
	{ "REFER", SIP_METHOD_REFER },
	{ "PUBLISH", SIP_METHOD_PUBLISH },
};

#define SIP_MSG_NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
/* Bodies above this are not SIP over UDP; also bounds the CL digits. */
#define SIP_MSG_MAX_CLEN	(1UL << 24)

int
sip_method_from_str(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0)
		return SIP_METHOD_UNDEF;
	/* case-sensitive on purpose: RFC 3261 §7.1, RFC 4475 esc02 */
	for (i = 0; i < SIP_MSG_NITEMS(sip_msg_methods); i++)
		if (strlen(sip_msg_methods[i].mm_name) == len &&
		    memcmp(sip_msg_methods[i].mm_name, s, len) == 0)
			return sip_msg_methods[i].mm_method;
	return SIP_METHOD_OTHER;
}

const char *
sip_method_name(int method)
{
	size_t	 i;

	for (i = 0; i < SIP_MSG_NITEMS(sip_msg_methods); i++)
		if (sip_msg_methods[i].mm_method == method)
			return sip_msg_methods[i].mm_name;
	return NULL;
}

int
sip_hdr_lookup(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < SIP_MSG_NITEMS(sip_msg_names); i++)
		if (sip_msg_names[i].mn_len == len &&
		    sip_lex_lower((unsigned char)name[0]) ==
		    (unsigned char)sip_msg_names[i].mn_name[0] &&
		    sip_lex_caseeq(name, len, sip_msg_names[i].mn_name))
			return sip_msg_names[i].mn_id;
	return SIP_HDR_OTHER;
}

/*
 * End of the logical line starting at p: the LF that is not followed by
 * SP/HT (folding, RFC 3261 §7.3.1). Returns a pointer to that LF, or end
 * when the datagram stops first.
 */
static const char *
sip_msg_line_end(const char *p, const char *end)
{
	const char	*nl;

	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return end;
		if (nl + 1 < end && (nl[1] == ' ' || nl[1] == '\t')) {
			p = nl + 1;
			continue;
		}
		return nl;
	}
}

/* Request-Line = Method SP Request-URI SP SIP-Version: exactly two SPs. */
static int
sip_msg_parse_request_line(struct sip_msg *m, const char *p, const char *end)
{
	const char	*sp1, *sp2;

	sp1 = sip_lex_skip_token(p, end);
	if (sp1 == p || sp1 == end || *sp1 != ' ')
		return -EBADMSG;
	m->sm_request = 1;
	m->sm_method_str.s = p;
	m->sm_method_str.len = (size_t)(sp1 - p);
	m->sm_method = sip_method_from_str(p, (size_t)(sp1 - p));

	sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	if (sp2 == NULL) {
		/* "INVITE sip:x" (RFC 4475 test.dat): answerable, but bad */
		m->sm_ruri.s = sp1 + 1;
		m->sm_ruri.len = (size_t)(end - sp1 - 1);
		m->sm_flags |= SIP_MSG_F_BAD_START;
		return 0;
	}
	m->sm_ruri.s = sp1 + 1;
	m->sm_ruri.len = (size_t)(sp2 - sp1 - 1);
	m->sm_version.s = sp2 + 1;
	m->sm_version.len = (size_t)(end - sp2 - 1);
	/*
	 * lwsstart (two SPs), lwsruri (SP inside the URI) and trws (SP
	 * after the version) all end up with an empty or spaced field.
	 */
	if (m->sm_ruri.len == 0 || m->sm_version.len == 0 ||
	    memchr(m->sm_version.s, ' ', m->sm_version.len) != NULL ||
	    memchr(m->sm_version.s, '\t', m->sm_version.len) != NULL)
		m->sm_flags |= SIP_MSG_F_BAD_START;
	return 0;
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase */
static int
sip_msg_parse_status_line(struct sip_msg *m, const char *p, const char *end)
{
	const char	*sp;
	uint64_t	 code;

	sp = memchr(p, ' ', (size_t)(end - p));
	if (sp == NULL)
		return -EBADMSG;
	m->sm_version.s = p;
	m->sm_version.len = (size_t)(sp - p);
	sp++;
	/* exactly three digits: bigcode's 4294967301 is not a status code */
	if (end - sp < 3 || sip_lex_u64(sp, 3, 999, &code) == -1 ||
	    code < 100 || code > 699 || (end - sp > 3 && sp[3] != ' '))
		return -EBADMSG;
	m->sm_status = (unsigned)code;
	m->sm_reason.s = sp + 3 + (end - sp > 3);
	m->sm_reason.len = (size_t)(end - m->sm_reason.s);
	return 0;
}

static void
sip_msg_frame_body(struct sip_msg *m, const char *body)
{
	const struct sip_hdr	*h;
	const char		*end = m->sm_buf + m->sm_buflen;
	uint64_t		 cl;

	m->sm_body.s = body;
	m->sm_body.len = 0;
	m->sm_len = (size_t)(body - m->sm_buf);
	if (m->sm_first[SIP_HDR_CONTENT_LENGTH] == SIP_MSG_NO_HDR) {
		/* UDP without Content-Length: the rest (RFC 4475 inv2543) */
		m->sm_body.len = (size_t)(end - body);
		m->sm_len = m->sm_buflen;
		return;
	}
	if (m->sm_count[SIP_HDR_CONTENT_LENGTH] > 1) {
		m->sm_flags |= SIP_MSG_F_MULTI_CLEN;
		return;
	}
	h = &m->sm_hdrs[m->sm_first[SIP_HDR_CONTENT_LENGTH]];
	if (sip_lex_u64(h->sh_value.s, h->sh_value.len, SIP_MSG_MAX_CLEN,
	    &cl) == -1) {
		m->sm_flags |= SIP_MSG_F_BAD_CLEN;
		return;
	}
	if (cl > (uint64_t)(end - body)) {
		m->sm_flags |= SIP_MSG_F_SHORT_BODY;
		return;
	}
	/* octets after the body are noise (RFC 3261 §18.3, dblreq) */
	m->sm_body.len = (size_t)cl;
	m->sm_len += (size_t)cl;
}

int
sip_msg_parse(struct sip_msg *m, const char *buf, size_t len)
{
	const char	*p = buf, *end, *nl, *le, *name_end, *v;
	struct sip_hdr	*h;
	int		 id, rc;

	if (buf == NULL || len == 0)
		return -EBADMSG;
	end = buf + len;

	m->sm_buf = buf;
	m->sm_buflen = len;
	m->sm_len = 0;
	m->sm_flags = 0;
	m->sm_request = 0;
	m->sm_method = SIP_METHOD_UNDEF;
	m->sm_method_str.s = m->sm_ruri.s = m->sm_reason.s = NULL;
	m->sm_method_str.len = m->sm_ruri.len = m->sm_reason.len = 0;
	m->sm_version.s = NULL;
	m->sm_version.len = 0;
	m->sm_status = 0;
	m->sm_nhdrs = 0;
	m->sm_body.s = NULL;
	m->sm_body.len = 0;
	memset(m->sm_first, SIP_MSG_NO_HDR, sizeof(m->sm_first));
	memset(m->sm_count, 0, sizeof(m->sm_count));

	/* keep-alive CRLFs before the start line are ignored (§7.5) */
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (p == end || nl == NULL)
		return -EBADMSG;
	le = nl;
	if (le > p && le[-1] == '\r')
		le--;
	else
		m->sm_flags |= SIP_MSG_F_BARE_LF;
	m->sm_start.s = p;
	m->sm_start.len = (size_t)(le - p);
	if (le - p >= 4 && memcmp(p, "SIP/", 4) == 0)
		rc = sip_msg_parse_status_line(m, p, le);
	else
		rc = sip_msg_parse_request_line(m, p, le);
	if (rc != 0)
		return rc;

	for (p = nl + 1; p < end; p = nl + 1) {
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
			if (*p == '\n')
				m->sm_flags |= SIP_MSG_F_BARE_LF;
			sip_msg_frame_body(m, p + (*p == '\r' ? 2 : 1));
			return 0;
		}
		nl = sip_msg_line_end(p, end);
		le = nl;
		if (le < end && le > p && le[-1] == '\r')
			le--;
		else if (le < end)
			m->sm_flags |= SIP_MSG_F_BARE_LF;

		name_end = sip_lex_skip_token(p, le);
		v = name_end;
		while (v < le && (*v == ' ' || *v == '\t'))
			v++;
		if (name_end == p || v == le || *v != ':') {
			/* RFC 4475 test.dat "Foobar roobar" */
			m->sm_flags |= SIP_MSG_F_BAD_LINE;
			if (nl == end)
				break;
			continue;
		}
		if (m->sm_nhdrs == SIP_MSG_MAX_HDRS) {
			/* the lines so far are enough for a 400 */
			m->sm_len = (size_t)(p - m->sm_buf);
			return -E2BIG;
		}
		h = &m->sm_hdrs[m->sm_nhdrs];
		id = sip_hdr_lookup(p, (size_t)(name_end - p));
		h->sh_id = (uint8_t)id;
		h->sh_name.s = p;
		h->sh_name.len = (size_t)(name_end - p);
		v = sip_lex_skip_ws(v + 1, le);
		h->sh_value.s = v;
		h->sh_value.len = (size_t)(sip_lex_rtrim(v, le) - v);
		h->sh_line.s = p;
		h->sh_line.len = (size_t)((nl < end ? nl + 1 : end) - p);
		if (m->sm_first[id] == SIP_MSG_NO_HDR)
			m->sm_first[id] = (uint16_t)m->sm_nhdrs;
		if (m->sm_count[id] < 255)
			m->sm_count[id]++;
		m->sm_nhdrs++;
		if (nl == end)
			break;
	}
	/*
	 * The datagram ended inside the header section (RFC 4475 baddn,
	 * the raw RFC 5118 abnf files). Accepted as an empty body; a
	 * Content-Length above 0 then fails as a short body.
	 */
	m->sm_flags |= SIP_MSG_F_NO_EOH;
	sip_msg_frame_body(m, end);
	return 0;
}

const struct sip_hdr *
sip_msg_hdr(const struct sip_msg *m, int id)
{
	if (id < 0 || id >= SIP_HDR__MAX || m->sm_first[id] == SIP_MSG_NO_HDR)
		return NULL;
	return &m->sm_hdrs[m->sm_first[id]];
}

const struct sip_hdr *
sip_msg_hdr_next(const struct sip_msg *m, int id, int *idx)
{
	size_t	 i;

	if (id < 0 || id >= SIP_HDR__MAX || m->sm_first[id] == SIP_MSG_NO_HDR)
		return NULL;
	/* most headers come once: no scan for a second line */
	if (*idx >= 0 && m->sm_count[id] == 1)
		return NULL;
	i = *idx < 0 ? m->sm_first[id] : (size_t)*idx + 1;
	for (; i < m->sm_nhdrs; i++) {
		if (m->sm_hdrs[i].sh_id == id) {
			*idx = (int)i;
			return &m->sm_hdrs[i];
		}
	}
	return NULL;
}

const struct sip_hdr *
sip_msg_hdr_by_name(const struct sip_msg *m, const char *name)
{
	size_t	 i;

	for (i = 0; i < m->sm_nhdrs; i++)
		if (sip_lex_caseeq(m->sm_hdrs[i].sh_name.s,
		    m->sm_hdrs[i].sh_name.len, name))
			return &m->sm_hdrs[i];
	return NULL;
}

static int
sip_msg_reply(struct sip_check *ret, int code, const char *reason)
{
	ret->sc_verdict = SIP_CHECK_REPLY;
	ret->sc_code = code;
	ret->sc_reason = reason;
	return SIP_CHECK_REPLY;
}

static int
sip_msg_drop(struct sip_check *ret, const char *why)
{
	ret->sc_verdict = SIP_CHECK_DROP;
	ret->sc_code = 0;
	ret->sc_reason = why;
	return SIP_CHECK_DROP;
}

/* "SIP/x.y" in any case; 1 for 2.0, 0 another version, -1 garbage. */
static int
sip_msg_version(struct sip_str v)
{
	size_t	 i, dots = 0, digits = 0;

	if (v.len < 7 || !sip_lex_caseeq(v.s, 4, "sip/"))
		return -1;
	for (i = 4; i < v.len; i++) {
		if (v.s[i] == '.' && digits > 0 && dots == 0) {
			dots++;
			digits = 0;
		} else if (v.s[i] >= '0' && v.s[i] <= '9')
			digits++;
		else
			return -1;
	}
	if (dots != 1 || digits == 0)
		return -1;
	return v.len == 7 && memcmp(v.s + 4, "2.0", 3) == 0;
}

/* Every value of a name-addr list header must parse. */
static int
sip_msg_addrs_ok(const struct sip_msg *m, int id)
{
	struct sip_iter	 it;
	struct sip_addr	 a;
	int		 rc;

	sip_iter_init(&it, m, id);
	while ((rc = sip_addr_next(&it, &a)) == 1)
		;
	return rc;
}

static int
sip_msg_tokens_ok(const struct sip_msg *m, int id)
{
	struct sip_iter	 it;
	struct sip_str	 t;
	int		 rc;

	sip_iter_init(&it, m, id);
	while ((rc = sip_token_next(&it, &t)) == 1)
		;
	return rc;
}

static int
sip_msg_check_response(const struct sip_msg *m, struct sip_check *ret)
{
	struct sip_via	 via;
	struct sip_cseq	 cseq;
	struct sip_addr	 a;
	struct sip_str	 cid;

	if (sip_msg_version(m->sm_version) != 1)
		return sip_msg_drop(ret, "version");
	if (m->sm_flags & (SIP_MSG_F_BAD_CLEN | SIP_MSG_F_MULTI_CLEN |
	    SIP_MSG_F_SHORT_BODY | SIP_MSG_F_BAD_LINE))
		return sip_msg_drop(ret, "framing");
	if (sip_msg_via_top(m, &via) != 0)
		return sip_msg_drop(ret, "Via");
	/* scalarlg: CSeq above 2^32-1 */
	if (sip_msg_cseq(m, &cseq) != 0)
		return sip_msg_drop(ret, "CSeq");
	if (sip_msg_callid(m, &cid) != 0 || sip_msg_from(m, &a) != 0 ||
	    sip_msg_to(m, &a) != 0)
		return sip_msg_drop(ret, "From/To/Call-ID");
	ret->sc_verdict = SIP_CHECK_OK;
	ret->sc_code = 0;
	ret->sc_reason = NULL;
	return SIP_CHECK_OK;
}

int
sip_msg_check(const struct sip_msg *m, struct sip_check *ret)
{
	struct sip_via	 via;
	struct sip_iter	 it;
	struct sip_uri	 ruri;
	struct sip_addr	 a;
	struct sip_cseq	 cseq;
	struct sip_str	 cid;
	unsigned	 mf;
	uint32_t	 exp;
	int		 rc;

	if (!m->sm_request)
		return sip_msg_check_response(m, ret);

	/* without a sent-by there is nowhere to send an answer */
	rc = sip_msg_via_top(m, &via);
	if (rc != 0 && via.sv_host.len == 0)
		return sip_msg_drop(ret, "no usable Via");
	if (m->sm_flags & SIP_MSG_F_BAD_START)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Malformed Request-Line");
	switch (sip_msg_version(m->sm_version)) {
	case -1:
		return sip_msg_reply(ret, 400,
		    "Bad Request - Malformed SIP-Version");
	case 0:
		return sip_msg_reply(ret, 505, "Version Not Supported");
	}
	if (m->sm_flags & SIP_MSG_F_MULTI_CLEN)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Multiple Content-Length");
	if (m->sm_flags & (SIP_MSG_F_BAD_CLEN | SIP_MSG_F_SHORT_BODY))
		return sip_msg_reply(ret, 400,
		    "Bad Request - Bad Content-Length");
	if (m->sm_flags & SIP_MSG_F_BAD_LINE)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Malformed header line");

	sip_iter_init(&it, m, SIP_HDR_VIA);
	while ((rc = sip_via_next(&it, &via)) == 1)
		;
	if (rc != 0)
		return sip_msg_reply(ret, 400, "Bad Request - Malformed Via");

	if (sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &ruri) != 0)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Malformed Request-URI");
	if (ruri.su_scheme == SIP_URI_OTHER)
		return sip_msg_reply(ret, 416, "Unsupported URI Scheme");
	/* headers are not allowed in a Request-URI (§19.1.5, escruri) */
	if (ruri.su_headers.s != NULL)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Headers in Request-URI");

	if (m->sm_count[SIP_HDR_CALL_ID] == 0)
		return sip_msg_reply(ret, 400, "Bad Request - Missing Call-ID");
	if (m->sm_count[SIP_HDR_FROM] == 0)
		return sip_msg_reply(ret, 400, "Bad Request - Missing From");
	if (m->sm_count[SIP_HDR_TO] == 0)
		return sip_msg_reply(ret, 400, "Bad Request - Missing To");
	if (m->sm_count[SIP_HDR_CSEQ] == 0)
		return sip_msg_reply(ret, 400, "Bad Request - Missing CSeq");
	/* multi01: single-value headers given twice */
	if (m->sm_count[SIP_HDR_CALL_ID] > 1 || m->sm_count[SIP_HDR_FROM] > 1 ||
	    m->sm_count[SIP_HDR_TO] > 1 || m->sm_count[SIP_HDR_CSEQ] > 1 ||
	    m->sm_count[SIP_HDR_MAX_FORWARDS] > 1 ||
	    m->sm_count[SIP_HDR_EXPIRES] > 1)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Repeated single-value header");
	if (sip_msg_callid(m, &cid) != 0)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Malformed Call-ID");
	if (sip_msg_from(m, &a) != 0)
		return sip_msg_reply(ret, 400, "Bad Request - Malformed From");
	if (sip_msg_to(m, &a) != 0)
		return sip_msg_reply(ret, 400, "Bad Request - Malformed To");
	if (sip_msg_cseq(m, &cseq) != 0)
		return sip_msg_reply(ret, 400, "Bad Request - Malformed CSeq");
	if (cseq.sc_method_str.len != m->sm_method_str.len ||
	    memcmp(cseq.sc_method_str.s, m->sm_method_str.s,
	    m->sm_method_str.len) != 0) {
		/* RFC 4475 §3.1.2.18: an unknown method gets 501 first */
		if (m->sm_method == SIP_METHOD_OTHER)
			return sip_msg_reply(ret, 501, "Not Implemented");
		return sip_msg_reply(ret, 400,
		    "Bad Request - CSeq method mismatch");
	}
	if (sip_msg_max_forwards(m, &mf) == -EBADMSG)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Malformed Max-Forwards");
	if (sip_msg_expires(m, &exp) == -EBADMSG)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Malformed Expires");
	if (sip_msg_addrs_ok(m, SIP_HDR_CONTACT) != 0)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Malformed Contact");
	if (sip_msg_addrs_ok(m, SIP_HDR_ROUTE) != 0)
		return sip_msg_reply(ret, 400, "Bad Request - Malformed Route");
	if (sip_msg_addrs_ok(m, SIP_HDR_RECORD_ROUTE) != 0)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Malformed Record-Route");
	if (sip_msg_tokens_ok(m, SIP_HDR_REQUIRE) != 0 ||
	    sip_msg_tokens_ok(m, SIP_HDR_PROXY_REQUIRE) != 0)
		return sip_msg_reply(ret, 400,
		    "Bad Request - Malformed Require");

	ret->sc_verdict = SIP_CHECK_OK;
	ret->sc_code = 0;
	ret->sc_reason = NULL;
	return SIP_CHECK_OK;
}
