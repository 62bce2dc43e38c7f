/*
 * sip_msg: zero-copy SIP message parser (RFC 3261 §7, §20, §25; RFC
 * 4475, RFC 5118). A struct sip_msg lives on the caller's stack and
 * points into the datagram, which must outlive it. sip_msg_parse() only
 * frames the message (start line, header lines, body by Content-Length);
 * header values are parsed on demand by the accessors below. Nothing is
 * allocated and nothing is logged. Used by the UDP workers.
 */
#ifndef SIPD_SIP_MSG_H
#define SIPD_SIP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "sip_uri.h"

/* Method bits, the values of Kamailio's METHOD_* (usrloc "Methods"). */
enum sip_method {
	SIP_METHOD_UNDEF = 0,
	SIP_METHOD_INVITE = 1,
	SIP_METHOD_CANCEL = 2,
	SIP_METHOD_ACK = 4,
	SIP_METHOD_BYE = 8,
	SIP_METHOD_INFO = 16,
	SIP_METHOD_REGISTER = 32,
	SIP_METHOD_SUBSCRIBE = 64,
	SIP_METHOD_NOTIFY = 128,
	SIP_METHOD_MESSAGE = 256,
	SIP_METHOD_OPTIONS = 512,
	SIP_METHOD_PRACK = 1024,
	SIP_METHOD_UPDATE = 2048,
	SIP_METHOD_REFER = 4096,
	SIP_METHOD_PUBLISH = 8192,
	SIP_METHOD_OTHER = 16384
};

enum sip_hdr_id {
	SIP_HDR_OTHER = 0,
	SIP_HDR_VIA,			/* v */
	SIP_HDR_FROM,			/* f */
	SIP_HDR_TO,			/* t */
	SIP_HDR_CALL_ID,		/* i */
	SIP_HDR_CSEQ,
	SIP_HDR_CONTACT,		/* m */
	SIP_HDR_EXPIRES,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_ROUTE,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_WWW_AUTHENTICATE,
	SIP_HDR_PROXY_AUTHENTICATE,
	SIP_HDR_CONTENT_LENGTH,		/* l */
	SIP_HDR_CONTENT_TYPE,		/* c */
	SIP_HDR_CONTENT_ENCODING,	/* e */
	SIP_HDR_REQUIRE,
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_SUPPORTED,		/* k */
	SIP_HDR_UNSUPPORTED,
	SIP_HDR_ALLOW,
	SIP_HDR_USER_AGENT,
	SIP_HDR_SERVER,
	SIP_HDR_SUBJECT,		/* s */
	SIP_HDR_EVENT,			/* o */
	SIP_HDR_ALLOW_EVENTS,		/* u */
	SIP_HDR_REFER_TO,		/* r */
	SIP_HDR_REFERRED_BY,		/* b */
	SIP_HDR_MIN_EXPIRES,
	SIP_HDR_PATH,
	SIP_HDR_DATE,
	SIP_HDR_ACCEPT,
	SIP_HDR__MAX
};

/*
 * Header lines a message may have. Real traffic carries a few dozen;
 * Kamailio parses hundreds. Past this, a request is answered 400 from
 * the lines already split (issue 10: 97 lines once got no answer).
 */
#define SIP_MSG_MAX_HDRS	512
#define SIP_MSG_NO_HDR		0xffff	/* sm_first[] for an absent header */

/* Framing faults found by sip_msg_parse(); sip_msg_check() reports them. */
#define SIP_MSG_F_BAD_CLEN	0x0001	/* not digits, negative, overflow */
#define SIP_MSG_F_MULTI_CLEN	0x0002	/* more than one Content-Length */
#define SIP_MSG_F_SHORT_BODY	0x0004	/* Content-Length > octets left */
#define SIP_MSG_F_BAD_LINE	0x0008	/* header line without a name/colon */
#define SIP_MSG_F_BAD_START	0x0010	/* malformed Request-Line */
#define SIP_MSG_F_NO_EOH	0x0020	/* datagram ended before CRLFCRLF */
#define SIP_MSG_F_BARE_LF	0x0040	/* some line ended in LF alone */

struct sip_hdr {
	uint8_t		sh_id;		/* enum sip_hdr_id */
	struct sip_str	sh_name;	/* as written ("v", "MaX-fOrWaRdS") */
	struct sip_str	sh_value;	/* trimmed; folding CRLFs kept inside */
	struct sip_str	sh_line;	/* name to final line end, inclusive */
};

struct sip_msg {
	const char	*sm_buf;	/* the datagram */
	size_t		 sm_buflen;
	size_t		 sm_len;	/* start line to end of body */
	unsigned	 sm_flags;	/* SIP_MSG_F_* */
	int		 sm_request;	/* 1 request, 0 response */

	struct sip_str	 sm_start;	/* start line without its line end */
	/* request line */
	int		 sm_method;	/* enum sip_method */
	struct sip_str	 sm_method_str;
	struct sip_str	 sm_ruri;
	/* status line */
	unsigned	 sm_status;	/* 100..699 */
	struct sip_str	 sm_reason;	/* may be empty */
	struct sip_str	 sm_version;	/* "SIP/2.0" as written */

	struct sip_hdr	 sm_hdrs[SIP_MSG_MAX_HDRS];
	size_t		 sm_nhdrs;
	uint16_t	 sm_first[SIP_HDR__MAX];  /* index or SIP_MSG_NO_HDR */
	uint8_t		 sm_count[SIP_HDR__MAX];  /* lines per id, max 255 */

	struct sip_str	 sm_body;	/* Content-Length octets, or the rest */
};

/*
 * Frames buf into *m. 0: the start line and header lines were split and
 * m can be answered (framing faults are left in sm_flags for
 * sip_msg_check()). -EBADMSG: not a SIP message or not answerable (no
 * start line, status line with a code outside 100..699); -E2BIG: more
 * than SIP_MSG_MAX_HDRS header lines, m holds the start line and the
 * first SIP_MSG_MAX_HDRS lines (enough to answer it) and no body. Extra octets after Content-Length
 * are ignored (RFC 3261 §18.3); no Content-Length means the rest of the
 * datagram is the body. Bare LF line ends are accepted (flagged).
 */
int	sip_msg_parse(struct sip_msg *m, const char *buf, size_t len);

/* Method text (case-sensitive, RFC 3261 §7.1) to enum sip_method. */
int	sip_method_from_str(const char *s, size_t len);
/* Canonical name of a method bit; NULL for OTHER/UNDEF. */
const char *sip_method_name(int method);
/* Header name (full or compact, any case) to enum sip_hdr_id. */
int	sip_hdr_lookup(const char *name, size_t len);

/*
 * Header lines by id. sip_msg_hdr() returns the first line of that id,
 * NULL when absent. sip_msg_hdr_next() returns the line after *idx of
 * that id and updates *idx; start with *idx = -1.
 */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, int id);
const struct sip_hdr *sip_msg_hdr_next(const struct sip_msg *m, int id,
	    int *idx);
/* First line of a header by name (for SIP_HDR_OTHER ones). */
const struct sip_hdr *sip_msg_hdr_by_name(const struct sip_msg *m,
	    const char *name);

/*
 * Generic parameter list scanner: params is the text after a value, e.g.
 * ";branch=z9hG4bK1 ; rport" (LWS and folding allowed around ';' and
 * '='). Each call consumes one; 1 with name and value (value empty for a
 * flag, quotes kept on a quoted-string), 0 at the end, -EBADMSG on an
 * empty or malformed parameter. name/value spans exclude LWS. ret_span
 * (may be NULL) covers ";name=value" from the ';'.
 */
int	sip_param_next(struct sip_str *params, struct sip_str *ret_name,
	    struct sip_str *ret_value, struct sip_str *ret_span);
/* 1 and *ret_value when name is in params, 0 absent, -EBADMSG broken. */
int	sip_param_find(struct sip_str params, const char *name,
	    struct sip_str *ret_value);

/* Iterates the comma-separated values of one header id across lines. */
struct sip_iter {
	const struct sip_msg *si_msg;
	int		 si_id;
	int		 si_hdr;	/* current line, -1 before the first */
	struct sip_str	 si_rest;	/* what is left of that line */
};

void	sip_iter_init(struct sip_iter *it, const struct sip_msg *m, int id);

/* One Via value (RFC 3261 §20.42). */
struct sip_via {
	struct sip_str	sv_value;	/* the whole via-parm */
	struct sip_str	sv_proto;	/* "SIP" */
	struct sip_str	sv_version;	/* "2.0" */
	struct sip_str	sv_transport;	/* "UDP" */
	struct sip_str	sv_host;	/* sent-by host, IPv6 with brackets */
	uint16_t	sv_port;	/* 0 = absent */
	struct sip_str	sv_params;	/* from the first ';' to the end */
	struct sip_str	sv_branch;
	struct sip_str	sv_received;
	struct sip_str	sv_maddr;
	struct sip_str	sv_rport;	/* value; empty for a bare "rport" */
	int		sv_has_rport;
	int		sv_hdr;		/* header line index */
};

/*
 * Next Via value: 1 and *ret, 0 when no more, -EBADMSG when malformed.
 * On -EBADMSG, *ret still holds what was read before the fault (a
 * sent-by host with len > 0 means a reply can still be routed).
 */
int	sip_via_next(struct sip_iter *it, struct sip_via *ret);
/* Top Via: 0, -ENOENT (no Via), -EBADMSG; *ret as for sip_via_next(). */
int	sip_msg_via_top(const struct sip_msg *m, struct sip_via *ret);

/*
 * name-addr / addr-spec (From, To, Contact, Route, Record-Route, ...).
 * sa_uri is byte-exact, without <>. Header parameters (tag, expires, q)
 * are those after the URI: with addr-spec, ";x" after the URI is a
 * header parameter (RFC 3261 §20.10; RFC 4475 cparam01).
 */
struct sip_addr {
	struct sip_str	sa_value;	/* the whole value */
	struct sip_str	sa_display;	/* as written, quotes kept */
	struct sip_str	sa_uri;
	struct sip_str	sa_params;	/* from the first ';' after the URI */
	struct sip_str	sa_tag;
	struct sip_str	sa_expires;	/* Contact expires= */
	struct sip_str	sa_q;		/* Contact q= */
	int		sa_star;	/* Contact: * */
	int		sa_angle;	/* URI was in <> */
	struct sip_uri	sa_puri;	/* parsed sa_uri */
	int		sa_hdr;
};

/* Parses one address value (the whole span). 0 or -EBADMSG. */
int	sip_addr_parse(const char *s, size_t len, int allow_star,
	    struct sip_addr *ret);
/* From / To: 0, -ENOENT absent, -EBADMSG malformed or repeated value. */
int	sip_msg_from(const struct sip_msg *m, struct sip_addr *ret);
int	sip_msg_to(const struct sip_msg *m, struct sip_addr *ret);
/* Contact, Route, Record-Route, Path lists: 1, 0 end, -EBADMSG. */
int	sip_addr_next(struct sip_iter *it, struct sip_addr *ret);

/* Call-ID value (word ["@" word]): 0, -ENOENT, -EBADMSG. */
int	sip_msg_callid(const struct sip_msg *m, struct sip_str *ret);

struct sip_cseq {
	uint32_t	sc_num;
	int		sc_method;	/* enum sip_method */
	struct sip_str	sc_method_str;
};
/* 0, -ENOENT, -EBADMSG (e.g. number above 2^32-1). */
int	sip_msg_cseq(const struct sip_msg *m, struct sip_cseq *ret);

/*
 * Single number headers: Expires, Max-Forwards, Content-Length, Min-
 * Expires. 0 and *ret, -ENOENT absent, -EBADMSG not digits or above max
 * (Expires saturates at 2^32-1 instead: RFC 4475 scalar02 allows the
 * default for an overlarge value, the registrar clamps it anyway).
 */
int	sip_msg_expires(const struct sip_msg *m, uint32_t *ret);
int	sip_msg_max_forwards(const struct sip_msg *m, unsigned *ret);
int	sip_msg_content_length(const struct sip_msg *m, size_t *ret);
/* Decimal delta-seconds param value (Contact expires=), saturating. */
int	sip_str_to_u32_sat(struct sip_str s, uint32_t *ret);

/* Token lists (Require, Proxy-Require, Supported, Allow): 1, 0, -EBADMSG. */
int	sip_token_next(struct sip_iter *it, struct sip_str *ret);
/* Allow list to a method bitmask (Kamailio usrloc "Methods"). */
int	sip_msg_allow_mask(const struct sip_msg *m, unsigned *ret);
/* User-Agent value, or an empty span. */
struct sip_str sip_msg_user_agent(const struct sip_msg *m);

/*
 * Credentials (Authorization, Proxy-Authorization; RFC 3261 §20.7,
 * RFC 7616): a scheme and a comma list of auth-params whose quoted
 * values may hold commas.
 */
struct sip_auth {
	struct sip_str	sa_scheme;	/* "Digest", any case */
	struct sip_str	sa_params;	/* rest of the value */
};
int	sip_auth_parse(struct sip_str value, struct sip_auth *ret);
/* One auth-param; value keeps its quotes. 1, 0 end, -EBADMSG. */
int	sip_auth_param_next(struct sip_str *rest, struct sip_str *ret_name,
	    struct sip_str *ret_value);

/*
 * Digest response fields, quotes removed (quoted-pairs are left as they
 * are: the digest is computed over the value as sent). Absent = empty.
 */
struct sip_digest {
	struct sip_str	sd_username;
	struct sip_str	sd_realm;
	struct sip_str	sd_nonce;
	struct sip_str	sd_uri;
	struct sip_str	sd_response;
	struct sip_str	sd_algorithm;
	struct sip_str	sd_cnonce;
	struct sip_str	sd_opaque;
	struct sip_str	sd_qop;
	struct sip_str	sd_nc;
};
/* 0, -EINVAL when the scheme is not Digest, -EBADMSG when malformed. */
int	sip_digest_parse(const struct sip_auth *a, struct sip_digest *ret);

/*
 * Checks what a proxy must check before acting on a message it may have
 * to answer itself (RFC 3261 §16.3, RFC 4475). For a request:
 * SIP_CHECK_OK, SIP_CHECK_REPLY with sc_code/sc_reason (400 "Bad Request
 * - <fault>", 416, 501, 505), or SIP_CHECK_DROP when no reply can be
 * routed (no usable top Via). For a response: OK or DROP.
 */
enum sip_check_verdict {
	SIP_CHECK_OK = 0,
	SIP_CHECK_REPLY,
	SIP_CHECK_DROP
};

struct sip_check {
	int		 sc_verdict;
	int		 sc_code;	/* for SIP_CHECK_REPLY */
	const char	*sc_reason;	/* static string, for logs and reply */
};

int	sip_msg_check(const struct sip_msg *m, struct sip_check *ret);

#endif
