/*
 * dispatch: the head of the request pipeline, run by every UDP worker
 * for each datagram:
 *
 *   parse -> checks -> retransmission? (tm) -> decide (registrar |
 *   route) -> transaction (tm) -> send
 *
 * Each stage only calls the ones after it. The checks any UAS or proxy
 * makes (sip_msg_check(), Require/Proxy-Require, Max-Forwards, an
 * OPTIONS for sipd itself) are answered here statelessly. A request
 * that retransmits a known transaction is answered from it and goes no
 * further. The deciders run before any transaction exists, so whatever
 * they answer themselves (a challenge, a 404, a REGISTER's 200) costs
 * no cell; only what route.c forwards opens one. Responses go to their
 * transaction (tm.c). An ACK either ends at its transaction (the ACK
 * of a non-2xx final sipd sent) or is routed in its dialog and
 * forwarded statelessly.
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

#include "addr.h"
#include "dispatch.h"
#include "log.h"
#include "proxy.h"
#include "registrar.h"
#include "route.h"
#include "send.h"
#include "sip_msg.h"
#include "stats.h"
#include "tm.h"

/*
 * Where each datagram of a batch is parsed, and where a REGISTER waits
 * for Redis (cluster.redis) until the batch ends: its message (pointing
 * into the batch's receive buffer, which lives as long), source,
 * transaction key and verdict (the registrar's slot of the same index).
 * The last entry never waits: with the others all taken, a REGISTER
 * there is done whole.
 */
#define DISPATCH_PARK	REGISTRAR_SLOTS

struct dispatch_parked {
	struct sip_msg		 dp_m;
	const struct udp_sock	*dp_in;
	struct sockaddr_storage	 dp_src;
	uint64_t		 dp_key;
	struct registrar_verdict dp_v;
};

static struct dispatch_parked	 dispatch_park[DISPATCH_PARK];
static unsigned			 dispatch_nparked;

void
dispatch_init(const struct conf *c, struct loctab *location,
    struct udp_sock *socks, int nsocks)
{
	addr_init_myself(socks, nsocks);
	send_init(socks, nsocks);
	registrar_init(c, location);
	route_init(c, location);
	proxy_init(c, socks, nsocks);
	tm_init(c, socks, nsocks);
}

_Static_assert(SIP_METHOD_INVITE == 1 << STATS_M_INVITE &&
    SIP_METHOD_REGISTER == 1 << STATS_M_REGISTER &&
    SIP_METHOD_OPTIONS == 1 << STATS_M_OPTIONS &&
    SIP_METHOD_PUBLISH == 1 << STATS_M_PUBLISH &&
    SIP_METHOD_OTHER == 1 << STATS_M_OTHER,
    "stats_method follows the SIP_METHOD_* bits");

/* The counter slot of a method bit: the bit's index. */
static enum stats_method
dispatch_method_slot(unsigned method)
{
	unsigned	 i;

	for (i = 0; i < STATS_M_OTHER; i++)
		if (method == 1U << i)
			return (enum stats_method)i;
	return STATS_M_OTHER;
}

void
dispatch_count_dropped(void)
{
	stats_inc(STATS_DROP_REQUESTS);
}

/*
 * The option tags of header id: 0 when there is none (sipd supports no
 * extension, so every tag is unknown); else the "Unsupported: a, b"
 * line for the 420 in extra.
 */
static int
dispatch_unsupported(const struct sip_msg *m, int id, char *extra,
    size_t cap)
{
	struct sip_iter	 it;
	struct sip_str	 tok;
	char		 tags[512];
	size_t		 used = 0;
	int		 n = 0;

	tags[0] = '\0';
	sip_iter_init(&it, m, id);
	while (sip_token_next(&it, &tok) == 1) {
		if (used + tok.len + 3 >= sizeof(tags))
			break;
		if (n++ > 0) {
			memcpy(tags + used, ", ", 2);
			used += 2;
		}
		memcpy(tags + used, tok.s, tok.len);
		used += tok.len;
		tags[used] = '\0';
	}
	if (n > 0)
		(void)snprintf(extra, cap, "Unsupported: %s\r\n", tags);
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
 * route.c's verdict. Static: a worker routes one datagram at a time,
 * and it holds a 1 KiB R-URI per branch.
 */
static struct route_target	 dispatch_target;

/*
 * An ACK for someone else that no transaction absorbed (the ACK of a
 * 2xx, end to end): the policy decides, it goes statelessly.
 */
static void
dispatch_route_ack(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src)
{
	struct route_target	*t = &dispatch_target;

	route_request(m, src, time(NULL), t);
	if (t->rt_verdict != ROUTE_FORWARD)
		return;		/* an ACK is never answered */
	if (proxy_forward_request(in, m, src, t) == 0)
		log_debug("ACK forwarded %s", t->rt_why);
}

/* The reply the registrar's verdict v earned. */
static void
dispatch_register_reply(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, uint64_t key,
    const struct registrar_verdict *v)
{
	if (v->rv_code == 0) {
		stats_inc(STATS_DROP_REQUESTS);
		return;
	}
	/* a challenge stays stateless; every other final is kept */
	tm_reply(in, m, src, v->rv_code, v->rv_reason, v->rv_extra,
	    v->rv_code != 401 ? key : 0);
}

/*
 * A REGISTER: sipd is the registrar (UAS), so Require, not
 * Proxy-Require. With cluster.redis its change may wait in the park
 * for the batch's round trip to Redis (dispatch_finish()).
 */
static void
dispatch_register(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, uint64_t key)
{
	struct dispatch_parked		*p = &dispatch_park[dispatch_nparked];
	struct registrar_request	 req;
	socklen_t			 sl;

	req.rr_m = m;
	req.rr_src = src;
	req.rr_socket = in->us_text;
	req.rr_now = time(NULL);
	req.rr_slot = dispatch_nparked;
	registrar_decide(&req, &p->dp_v);
	if (p->dp_v.rv_save) {
		if (dispatch_nparked + 1 < DISPATCH_PARK &&
		    (sl = addr_len(src)) > 0 &&
		    registrar_apply_begin(&p->dp_v)) {
			p->dp_in = in;
			p->dp_key = key;
			memcpy(&p->dp_src, src, sl);
			dispatch_nparked++;
			return;
		}
		registrar_apply(&p->dp_v);
	}
	dispatch_register_reply(in, m, src, key, &p->dp_v);
}

void
dispatch_finish(void)
{
	struct dispatch_parked	*p;
	unsigned		 i;

	for (i = 0; i < dispatch_nparked; i++) {
		p = &dispatch_park[i];
		registrar_apply_end(&p->dp_v);
		dispatch_register_reply(p->dp_in, &p->dp_m,
		    (const struct sockaddr *)&p->dp_src, p->dp_key, &p->dp_v);
	}
	dispatch_nparked = 0;
}

/* A request for someone else: route.c decides, tm.c carries it out. */
static void
dispatch_route(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, uint64_t key)
{
	struct route_target	*t = &dispatch_target;

	route_request(m, src, time(NULL), t);
	switch (t->rt_verdict) {
	case ROUTE_REPLY:
		/*
		 * Two copies of one authorized request read at once by two
		 * workers: the second finds its nc used. If the first has
		 * opened the transaction by now, this is its retransmission.
		 * Only a request with credentials can be one.
		 */
		if (t->rt_code == 407 &&
		    sip_msg_hdr(m, SIP_HDR_PROXY_AUTHORIZATION) != NULL &&
		    tm_retransmission(in, m, src, key))
			return;
		tm_reply(in, m, src, t->rt_code, t->rt_reason, t->rt_extra,
		    0);
		/* a call sipd ended itself (challenge, 404, 480, ...) */
		stats_call_end(t->rt_path, t->rt_code, false);
		return;
	case ROUTE_DROP:
		stats_inc(STATS_DROP_REQUESTS);
		return;
	}
	tm_forward(in, m, src, key, t);
}

void
dispatch_datagram(const struct udp_sock *in, const char *buf, size_t len,
    const struct sockaddr *src)
{
	/* parsed in place: a REGISTER may wait there (dispatch_park) */
	struct sip_msg		*m = &dispatch_park[dispatch_nparked].dp_m;
	struct sip_check	 chk;
	char			 extra[600];
	unsigned		 mf;
	int			 rc;
	bool			 uas;
	uint64_t		 key;

	if ((rc = sip_msg_parse(m, buf, len)) != 0) {
		stats_inc(STATS_ERR_REQUESTS);
		/* a request whose Via can be read gets an answer (SPEC §5) */
		if (rc == -E2BIG && m->sm_request &&
		    m->sm_method != SIP_METHOD_ACK) {
			stats_inc(STATS_BAD_MSG_HDR);
			(void)send_reply(in, m, src, 400,
			    "Bad Request - Too Many Header Lines", NULL);
		}
		return;
	}
	stats_inc(m->sm_request ? STATS_RCV_REQUESTS : STATS_RCV_REPLIES);
	if (m->sm_request) {
		stats_request(dispatch_method_slot(m->sm_method));
		if (m->sm_method == SIP_METHOD_INVITE)
			stats_inc(STATS_RCV_INVITES);
	}
	sip_msg_check(m, &chk);
	if (chk.sc_verdict == SIP_CHECK_DROP) {
		stats_inc(m->sm_request ? STATS_DROP_REQUESTS :
		    STATS_DROP_REPLIES);
		return;
	}
	if (!m->sm_request) {
		tm_response(in, m);
		return;
	}
	if (m->sm_method == SIP_METHOD_ACK) {
		/* An ACK is never answered: forwarded in dialog, or dropped. */
		if (chk.sc_verdict != SIP_CHECK_OK ||
		    (sip_msg_max_forwards(m, &mf) == 0 && mf == 0)) {
			stats_inc(STATS_DROP_REQUESTS);
			return;
		}
		if (!tm_ack(m))
			dispatch_route_ack(in, m, src);
		return;
	}
	if (chk.sc_verdict == SIP_CHECK_REPLY) {
		if (chk.sc_code == 400)
			stats_inc(STATS_BAD_MSG_HDR);
		(void)send_reply(in, m, src, chk.sc_code, chk.sc_reason,
		    NULL);
		return;
	}
	/*
	 * sipd is the UAS of an OPTIONS ping and of REGISTER: Require is
	 * its to check. Anything else it proxies: the checks a proxy makes
	 * (§16.3), Proxy-Require among them.
	 */
	uas = dispatch_for_sipd(m) || m->sm_method == SIP_METHOD_REGISTER;
	if (!uas) {
		rc = sip_msg_max_forwards(m, &mf);
		if (rc == 0 && mf == 0) {
			(void)send_reply(in, m, src, 483, "Too Many Hops",
			    NULL);
			return;
		}
		if (rc == -EBADMSG) {
			(void)send_reply(in, m, src, 400,
			    proxy_reason(400), NULL);
			return;
		}
	}
	if (dispatch_unsupported(m, uas ? SIP_HDR_REQUIRE :
	    SIP_HDR_PROXY_REQUIRE, extra, sizeof(extra)) > 0) {
		if (m->sm_method == SIP_METHOD_REGISTER)
			stats_inc(STATS_REJECTED_REGS);
		(void)send_reply(in, m, src, 420, "Bad Extension", extra);
		return;
	}
	if (uas && m->sm_method == SIP_METHOD_OPTIONS) {
		(void)send_reply(in, m, src, 200, "OK",
		    "Allow: OPTIONS\r\nAccept: application/sdp\r\n");
		return;
	}
	key = tm_request_key(m);
	if (tm_retransmission(in, m, src, key))
		return;
	if (m->sm_method == SIP_METHOD_REGISTER)
		dispatch_register(in, m, src, key);
	else if (m->sm_method == SIP_METHOD_CANCEL)
		tm_cancel(in, m, src, key);
	else
		dispatch_route(in, m, src, key);
}
