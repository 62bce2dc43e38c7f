/*
 * dispatch: runs in every UDP worker; decides what happens to one
 * datagram. Requests sipd answers itself are handled here statelessly;
 * REGISTER goes to the registrar, other requests to the transaction
 * layer (tm.c, which asks route.c where they go), and so do responses.
 * An ACK either ends at its transaction (the ACK of a non-2xx final
 * sipd sent) or is routed in its dialog and forwarded statelessly.
 *
 * Replies are sent to the source IP (the "received" address) and to the
 * source port when the top Via asks for rport, else to the Via port or
 * 5060 (RFC 3261 §18.2.2, RFC 3581).
 */
#include <netinet/in.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "log.h"
#include "proxy.h"
#include "registrar.h"
#include "route.h"
#include "sip_msg.h"
#include "sip_reply.h"
#include "stats.h"
#include "tm.h"

/* A 200 to a REGISTER lists every binding: room for a whole datagram. */
#define DISPATCH_REPLY_MAX	UDP_MAX_DATAGRAM

static const struct conf	*dispatch_conf;
static int			 dispatch_index;

void
dispatch_init(const struct conf *c, struct udp_sock *socks, int nsocks,
    int worker_index)
{
	dispatch_conf = c;
	dispatch_index = worker_index;
	registrar_init(c);
	route_init(c, socks, nsocks);
	proxy_init(c, socks, nsocks);
	tm_init(c, socks, nsocks);
}

void
dispatch_count_dropped(void)
{
	stats_inc(STATS_DROP_REQUESTS);
}

int
dispatch_reply_build(const struct sip_msg *m, const struct sockaddr *src,
    int code, const char *reason, const char *extra, const char **ret_buf,
    size_t *ret_len, struct sockaddr_storage *ret_dst, socklen_t *ret_dstlen)
{
	/* Static: a worker answers one datagram at a time. */
	static char		 out[DISPATCH_REPLY_MAX];
	size_t			 n;

	n = sip_reply_build(out, sizeof(out), m, code, reason, src, extra);
	if (n == 0 || sip_reply_dest(m, src, 0, ret_dst) != 0) {
		stats_inc(STATS_DROP_REQUESTS);
		return -1;
	}
	*ret_buf = out;
	*ret_len = n;
	*ret_dstlen = ret_dst->ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	return 0;
}

void
dispatch_reply_send(const struct udp_sock *in, int code, const char *buf,
    size_t len, const struct sockaddr *dst, socklen_t dstlen)
{
	if (udp_send(in, buf, len, dst, dstlen) == -1)
		log_warn("send %d reply", code);
	else
		stats_sent_reply(code);
}

int
dispatch_reply_sent(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, socklen_t srclen, int code,
    const char *reason, const char *extra, const char **ret_buf,
    size_t *ret_len, struct sockaddr_storage *ret_dst, socklen_t *ret_dstlen)
{
	struct sockaddr_storage	 dst;
	socklen_t		 dstlen;
	const char		*buf;
	size_t			 n;

	(void)srclen;
	if (dispatch_reply_build(m, src, code, reason, extra, &buf, &n, &dst,
	    &dstlen) != 0)
		return -1;
	dispatch_reply_send(in, code, buf, n, (struct sockaddr *)&dst, dstlen);
	if (ret_buf != NULL) {
		*ret_buf = buf;
		*ret_len = n;
		*ret_dst = dst;
		*ret_dstlen = dstlen;
	}
	return 0;
}

void
dispatch_reply(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, socklen_t srclen, int code,
    const char *reason, const char *extra)
{
	(void)dispatch_reply_sent(in, m, src, srclen, code, reason, extra,
	    NULL, NULL, NULL, NULL);
}

/*
 * Collects the option tags of header id into buf as "a, b"; returns how
 * many there were. sipd supports no extension, so every tag is unknown.
 */
static int
dispatch_unsupported(const struct sip_msg *m, int id, char *buf, size_t len)
{
	struct sip_iter	 it;
	struct sip_str	 tok;
	size_t		 used = 0;
	int		 n = 0;

	buf[0] = '\0';
	sip_iter_init(&it, m, id);
	while (sip_token_next(&it, &tok) == 1) {
		if (used + tok.len + 3 >= len)
			break;
		if (n++ > 0) {
			memcpy(buf + used, ", ", 2);
			used += 2;
		}
		memcpy(buf + used, tok.s, tok.len);
		used += tok.len;
		buf[used] = '\0';
	}
	return n;
}

/* OPTIONS without a user part is a keep-alive/ping for sipd itself. */
static bool
dispatch_for_sipd(const struct sip_msg *m)
{
	struct sip_uri	 u;

	if (m->sm_method != SIP_METHOD_OPTIONS)
		return false;
	if (sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &u) != 0)
		return false;
	return u.su_user.len == 0;
}

/*
 * An ACK for someone else that no transaction absorbed (the ACK of a
 * 2xx, end to end): the policy decides, it goes statelessly.
 */
static void
dispatch_route_ack(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, socklen_t srclen)
{
	/* Static: a worker routes one datagram at a time (1 KiB R-URI). */
	static struct route_target	 t;
	int				 code;

	route_request(in, m, src, time(NULL), &t);
	switch (t.rt_verdict) {
	case ROUTE_REPLY:
		if (m->sm_method != SIP_METHOD_ACK)
			dispatch_reply(in, m, src, srclen, t.rt_code,
			    t.rt_reason, t.rt_extra);
		return;
	case ROUTE_DROP:
		stats_inc(STATS_DROP_REQUESTS);
		return;
	}
	code = proxy_forward_request(in, m, src, &t);
	if (code > 0 && m->sm_method != SIP_METHOD_ACK)
		dispatch_reply(in, m, src, srclen, code,
		    code == 513 ? "Message Too Large" :
		    code == 400 ? "Bad Request - Malformed Max-Forwards" :
		    "Service Unavailable", NULL);
	else if (code == 0)
		log_debug("%.*s forwarded %s", (int)m->sm_method_str.len,
		    m->sm_method_str.s, t.rt_why);
}

void
dispatch_datagram(const struct udp_sock *in, const char *buf, size_t len,
    const struct sockaddr *src, socklen_t srclen)
{
	struct sip_msg		 m;
	struct sip_check	 chk;
	char			 tags[512], extra[600];
	unsigned		 mf;
	int			 rc;

	if (sip_msg_parse(&m, buf, len) != 0) {
		stats_inc(STATS_ERR_REQUESTS);
		return;
	}
	stats_inc(m.sm_request ? STATS_RCV_REQUESTS : STATS_RCV_REPLIES);
	sip_msg_check(&m, &chk);
	if (chk.sc_verdict == SIP_CHECK_DROP) {
		stats_inc(m.sm_request ? STATS_DROP_REQUESTS :
		    STATS_DROP_REPLIES);
		return;
	}
	if (!m.sm_request) {
		tm_response(in, &m);
		return;
	}
	if (m.sm_method == SIP_METHOD_ACK) {
		/* An ACK is never answered: forwarded in dialog, or dropped. */
		if (chk.sc_verdict != SIP_CHECK_OK ||
		    (sip_msg_max_forwards(&m, &mf) == 0 && mf == 0)) {
			stats_inc(STATS_DROP_REQUESTS);
			return;
		}
		if (!tm_ack(&m))
			dispatch_route_ack(in, &m, src, srclen);
		return;
	}
	if (chk.sc_verdict == SIP_CHECK_REPLY) {
		if (chk.sc_code == 400)
			stats_inc(STATS_BAD_MSG_HDR);
		dispatch_reply(in, &m, src, srclen, chk.sc_code,
		    chk.sc_reason, NULL);
		return;
	}
	if (dispatch_for_sipd(&m)) {
		if (dispatch_unsupported(&m, SIP_HDR_REQUIRE, tags,
		    sizeof(tags)) > 0) {
			snprintf(extra, sizeof(extra), "Unsupported: %s\r\n",
			    tags);
			dispatch_reply(in, &m, src, srclen, 420, "Bad Extension",
			    extra);
			return;
		}
		dispatch_reply(in, &m, src, srclen, 200, "OK",
		    "Allow: OPTIONS\r\nAccept: application/sdp\r\n");
		return;
	}
	if (m.sm_method == SIP_METHOD_REGISTER) {
		/* sipd is the registrar (UAS): Require, not Proxy-Require. */
		if (dispatch_unsupported(&m, SIP_HDR_REQUIRE, tags,
		    sizeof(tags)) > 0) {
			snprintf(extra, sizeof(extra), "Unsupported: %s\r\n",
			    tags);
			stats_inc(STATS_REJECTED_REGS);
			dispatch_reply(in, &m, src, srclen, 420,
			    "Bad Extension", extra);
			return;
		}
		registrar_register(in, &m, src, srclen);
		return;
	}
	/* Requests for someone else: the checks a proxy makes (§16.3). */
	rc = sip_msg_max_forwards(&m, &mf);
	if (rc == 0 && mf == 0) {
		dispatch_reply(in, &m, src, srclen, 483, "Too Many Hops", NULL);
		return;
	}
	if (rc == -EBADMSG) {
		dispatch_reply(in, &m, src, srclen, 400,
		    "Bad Request - Malformed Max-Forwards", NULL);
		return;
	}
	if (dispatch_unsupported(&m, SIP_HDR_PROXY_REQUIRE, tags,
	    sizeof(tags)) > 0) {
		snprintf(extra, sizeof(extra), "Unsupported: %s\r\n", tags);
		dispatch_reply(in, &m, src, srclen, 420, "Bad Extension", extra);
		return;
	}
	tm_request(in, &m, src, srclen);
}
