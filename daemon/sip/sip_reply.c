/*
 * sip_reply: builds stateless replies (400, 416, 483, 401, 200 for a
 * REGISTER, ...) from a parsed request, and answers the question "where
 * does this reply go". Runs in the UDP workers.
 *
 * Header values are copied from the datagram as they came, except that
 * folding CR/LF become spaces, so each header stays on one line; the
 * top Via is rewritten as RFC 3581 asks. The To tag is a hash of what
 * identifies the request, so a retransmitted request that is answered
 * statelessly again gets the same tag and the UAC sees one dialog.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fnv.h"
#include "sip_lex.h"
#include "sip_msg.h"
#include "sip_reply.h"
#include "strbuf.h"

/* A header value, with folding flattened so it stays on one line. */
static void
sip_reply_put_flat(struct strbuf *b, const char *s, size_t len)
{
	char	*out = b->sb_p + b->sb_len;
	size_t	 i;

	strbuf_put(b, s, len);
	if (strbuf_full(b))
		return;
	for (i = 0; i < len; i++)
		if (out[i] == '\r' || out[i] == '\n')
			out[i] = ' ';
}

int
sip_reply_src_ip(const struct sockaddr *src, char *out, size_t cap,
    unsigned *ret_port)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	switch (src->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)src;
		*ret_port = ntohs(sin->sin_port);
		return inet_ntop(AF_INET, &sin->sin_addr, out,
		    (socklen_t)cap) == NULL ? -1 : 0;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)src;
		*ret_port = ntohs(sin6->sin6_port);
		return inet_ntop(AF_INET6, &sin6->sin6_addr, out,
		    (socklen_t)cap) == NULL ? -1 : 0;
	}
	return -1;
}

static void
sip_reply_put_top_via(struct strbuf *b, const struct sip_via *via,
    const struct sockaddr *src)
{
	char		 ip[INET6_ADDRSTRLEN], port[12];
	unsigned	 sport = 0;
	struct sip_str	 params = via->sv_params, n, v, span;
	const char	*end = via->sv_value.s + via->sv_value.len;
	int		 rc, add_received;

	if (sip_reply_src_ip(src, ip, sizeof(ip), &sport) == -1) {
		sip_reply_put_flat(b, via->sv_value.s, via->sv_value.len);
		return;
	}
	(void)sip_lex_utoa(sport, port);
	add_received = via->sv_has_rport ||
	    !sip_host_is_addr(via->sv_host, src);

	sip_reply_put_flat(b, via->sv_value.s,
	    (size_t)(via->sv_params.s - via->sv_value.s));
	while ((rc = sip_param_next(&params, &n, &v, &span)) == 1) {
		if (sip_lex_caseeq(n.s, n.len, "received") && add_received)
			continue;
		if (sip_lex_caseeq(n.s, n.len, "rport")) {
			strbuf_puts(b, ";rport=");
			strbuf_puts(b, port);
			continue;
		}
		sip_reply_put_flat(b, span.s, span.len);
	}
	/* a broken tail (RFC 4475 badinv01) is echoed as it came */
	if (rc != 0)
		sip_reply_put_flat(b, params.s, (size_t)(end - params.s));
	if (add_received) {
		strbuf_puts(b, ";received=");
		strbuf_puts(b, ip);
	}
}

size_t
sip_reply_top_via(char *out, size_t cap, const struct sip_msg *m,
    const struct sockaddr *src)
{
	struct strbuf		 b;
	struct sip_via		 via;

	strbuf_init(&b, out, cap);
	(void)sip_msg_via_top(m, &via);
	if (via.sv_host.len == 0)
		return 0;
	if (via.sv_params.s == NULL)
		via.sv_params.s = via.sv_value.s + via.sv_value.len;
	sip_reply_put_top_via(&b, &via, src);
	return strbuf_full(&b) ? 0 : b.sb_len;
}

void
sip_reply_to_tag(const struct sip_msg *req, char *out)
{
	const struct sip_hdr	*h = sip_msg_hdr(req, SIP_HDR_CSEQ);
	struct sip_str		 cseq = { NULL, 0 };

	if (h != NULL)
		cseq = h->sh_value;
	sip_reply_to_tag_cseq(req, h != NULL ? &cseq : NULL, out);
}

void
sip_reply_to_tag_cseq(const struct sip_msg *req, const struct sip_str *cseq,
    char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	const struct sip_hdr	*h;
	struct sip_addr		 from;
	struct sip_via		 via;
	uint64_t		 x = FNV_INIT;
	int			 i;

	if ((h = sip_msg_hdr(req, SIP_HDR_CALL_ID)) != NULL)
		x = fnv_field(x, h->sh_value.s, h->sh_value.len);
	if (sip_msg_from(req, &from) == 0)
		x = fnv_field(x, from.sa_tag.s, from.sa_tag.len);
	if (sip_msg_via_top(req, &via) == 0)
		x = fnv_field(x, via.sv_branch.s, via.sv_branch.len);
	if (cseq != NULL)
		x = fnv_field(x, cseq->s, cseq->len);
	for (i = SIP_REPLY_TAG_LEN - 1; i >= 0; i--) {
		out[i] = hex[x & 0xf];
		x >>= 4;
	}
	out[SIP_REPLY_TAG_LEN] = '\0';
}

static void
sip_reply_put_hdr(struct strbuf *b, const char *name,
    const struct sip_hdr *h)
{
	strbuf_puts(b, name);
	sip_reply_put_flat(b, h->sh_value.s, h->sh_value.len);
}

size_t
sip_reply_build(char *out, size_t cap, const struct sip_msg *req, int code,
    const char *reason, const struct sockaddr *src,
    const char *extra_headers)
{
	struct strbuf		 b;
	const struct sip_hdr	*h;
	struct sip_via		 via;
	struct sip_addr		 to;
	char			 line[32], tag[SIP_REPLY_TAG_LEN + 1];
	int			 idx = -1, first = 1;
	const char		*top_end;

	if (code < 100 || code > 699)
		return 0;
	strbuf_init(&b, out, cap);
	(void)snprintf(line, sizeof(line), "SIP/2.0 %d ", code);
	strbuf_puts(&b, line);
	strbuf_puts(&b, reason != NULL ? reason : "");
	strbuf_puts(&b, "\r\n");

	(void)sip_msg_via_top(req, &via);
	while ((h = sip_msg_hdr_next(req, SIP_HDR_VIA, &idx)) != NULL) {
		strbuf_puts(&b, "Via: ");
		if (first && via.sv_host.len > 0 && src != NULL) {
			/* the top value, rewritten; the rest of its line */
			if (via.sv_params.s == NULL)
				via.sv_params.s = via.sv_value.s +
				    via.sv_value.len;
			sip_reply_put_top_via(&b, &via, src);
			top_end = via.sv_value.s + via.sv_value.len;
			sip_reply_put_flat(&b, top_end, (size_t)(h->sh_value.s +
			    h->sh_value.len - top_end));
		} else
			sip_reply_put_flat(&b, h->sh_value.s, h->sh_value.len);
		strbuf_puts(&b, "\r\n");
		first = 0;
	}
	if ((h = sip_msg_hdr(req, SIP_HDR_FROM)) != NULL) {
		sip_reply_put_hdr(&b, "From: ", h);
		strbuf_puts(&b, "\r\n");
	}
	if ((h = sip_msg_hdr(req, SIP_HDR_TO)) != NULL) {
		sip_reply_put_hdr(&b, "To: ", h);
		/* §8.2.6.2: a final or 1xx-but-not-100 answer adds a tag */
		if (code > 100 && sip_msg_to(req, &to) == 0 &&
		    to.sa_tag.s == NULL) {
			sip_reply_to_tag(req, tag);
			strbuf_puts(&b, ";tag=");
			strbuf_puts(&b, tag);
		}
		strbuf_puts(&b, "\r\n");
	}
	if ((h = sip_msg_hdr(req, SIP_HDR_CALL_ID)) != NULL) {
		sip_reply_put_hdr(&b, "Call-ID: ", h);
		strbuf_puts(&b, "\r\n");
	}
	if ((h = sip_msg_hdr(req, SIP_HDR_CSEQ)) != NULL) {
		sip_reply_put_hdr(&b, "CSeq: ", h);
		strbuf_puts(&b, "\r\n");
	}
	if (extra_headers != NULL)
		strbuf_puts(&b, extra_headers);
	strbuf_puts(&b, "Server: sipd\r\nContent-Length: 0\r\n\r\n");
	return strbuf_full(&b) ? 0 : b.sb_len;
}

int
sip_reply_dest(const struct sip_msg *req, const struct sockaddr *src,
    int flags, struct sockaddr_storage *ret)
{
	struct sip_via	 via;
	uint16_t	 port;

	(void)sip_msg_via_top(req, &via);
	if (via.sv_host.len == 0)
		return -EBADMSG;
	if (via.sv_has_rport || (flags & SIP_REPLY_DEST_FORCE_RPORT))
		port = 0;	/* keep src's */
	else
		port = htons(via.sv_port != 0 ? via.sv_port : 5060);

	memset(ret, 0, sizeof(*ret));
	switch (src->sa_family) {
	case AF_INET:
		memcpy(ret, src, sizeof(struct sockaddr_in));
		if (port != 0)
			((struct sockaddr_in *)(void *)ret)->sin_port = port;
		return 0;
	case AF_INET6:
		memcpy(ret, src, sizeof(struct sockaddr_in6));
		if (port != 0)
			((struct sockaddr_in6 *)(void *)ret)->sin6_port = port;
		return 0;
	}
	return -EAFNOSUPPORT;
}
