/*
 * route: the proxy's routing policy, run by every UDP worker for each
 * request that is neither a REGISTER nor an OPTIONS to sipd itself
 * (SPEC §5; Kamailio 3.0's stock main route as the model). A pure
 * decider (message + tables + now -> verdict): tm.c and proxy.c carry
 * the verdict out.
 *
 * In-dialog requests (To tag) follow the route set, no auth (RFC 3261
 * §16.4, §16.6 steps 6-7, loose routing); an ACK whose To tag is the
 * one sipd gave its own stateless final (a 407) ends at once:
 *  - a Request-URI sipd placed in a Record-Route (a strict router sent
 *    it back to us) is replaced by the last Route value, which is cut;
 *  - the top Route values that are sipd (one, or two when sipd
 *    double-record-routed between address families) are cut;
 *  - the request goes to the next Route URI, else to the Request-URI;
 *  - with no Route left and a Request-URI that is sipd: an ACK is the
 *    ACK of a non-2xx final reply to an INVITE sipd forwarded (it copies
 *    the INVITE's Request-URI), and goes where the INVITE went; anything
 *    else gets 404.
 * Out-of-dialog requests: ACK is absorbed. Everything else:
 *  - from the gateway (pstn.gw_ip, and gw_port when pstn.match_port):
 *    no auth, to the registered contact of the Request-URI user;
 *  - from a UA: a `trusted` row, or digest (407) against `subscriber`,
 *    the authenticated user being the From user (403); then INVITE to
 *    the gateway (user and URI parameters kept) when there is one, other
 *    methods to the registered contact of the Request-URI user.
 *  - CANCEL goes where its INVITE went (same decision, no auth: RFC
 *    3261 §22.1, a CANCEL cannot be challenged), and so does an ACK.
 * A user unknown to `subscriber` gets 404, one without a binding 480.
 * A request for a user forks to the AoR's bindings, up to
 * ROUTE_BRANCHES_MAX, in the registrar's order (highest q first); the
 * transaction layer sends the copies and picks the answer.
 *
 * Nothing is allocated per request; the 407's header lines live in a
 * static buffer (one datagram at a time per worker).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "auth.h"
#include "cluster_worker.h"
#include "log.h"
#include "loctab.h"
#include "route.h"
#include "runcfg.h"
#include "sip_reply.h"
#include "stats.h"
#include "userdb.h"

#define ROUTE_VALUES_MAX	32	/* Route values looked at */
#define ROUTE_WARN_PER_SEC	20
#define ROUTE_QUOTE_MAX		64

/* One Route value: where it sits, and whether the copy leaves it out. */
struct route_val {
	struct sip_str	 rv_value;
	int		 rv_hdr;
	bool		 rv_cut;
};

/* One request on its way through the policy. */
struct route_ctx {
	const struct sip_msg	*rx_m;
	const struct sockaddr	*rx_src;
	time_t			 rx_now;
	struct route_target	*rx_t;
	char			 rx_ip[INET6_ADDRSTRLEN];	/* source */
	uint16_t		 rx_port;
};

static const struct conf	*route_conf;
static struct loctab		*route_table;
static struct loctab_binding	 route_bindings[ROUTE_BRANCHES_MAX];
static char			 route_extra[ROUTE_EXTRA_MAX];
static struct log_ratelimit	 route_warn_limit = {
	"route", ROUTE_WARN_PER_SEC, 0, 0
};

void
route_init(const struct conf *c, struct loctab *location)
{
	route_conf = c;
	route_table = location;
}

static const char *
route_quote(char *out, size_t cap, const char *s, size_t len)
{
	return log_quote(out, cap, s, len, ROUTE_QUOTE_MAX);
}

static void
route_reply(struct route_ctx *rx, int code, const char *reason,
    const char *extra)
{
	rx->rx_t->rt_verdict = ROUTE_REPLY;
	rx->rx_t->rt_code = code;
	rx->rx_t->rt_reason = reason;
	rx->rx_t->rt_extra = extra;
}

static void
route_forward(struct route_ctx *rx, const char *why)
{
	rx->rx_t->rt_verdict = ROUTE_FORWARD;
	rx->rx_t->rt_why = why;
}

static bool
route_add_cut(struct route_ctx *rx, int hdr, bool whole, const char *s,
    const char *e)
{
	struct route_target	*t = rx->rx_t;
	struct route_cut	*c;

	if (t->rt_ncuts == ROUTE_CUTS_MAX)
		return false;
	c = &t->rt_cuts[t->rt_ncuts++];
	c->rc_hdr = hdr;
	c->rc_whole = whole;
	c->rc_span.s = s;
	c->rc_span.len = (size_t)(e - s);
	return true;
}

/*
 * Turns the rv_cut flags of the Route values into cuts, line by line. A
 * line whose values are all cut goes whole; else a cut value followed
 * (on its line) by a kept one goes with the separator after it, and a
 * run of cut values at the end of a line goes with the separator before
 * it, so that cuts never overlap and what is left stays a valid list.
 */
static bool
route_cut_routes(struct route_ctx *rx, const struct route_val *v, int n)
{
	int	 i, j, first, last, kept;

	for (first = 0; first < n; first = last + 1) {
		kept = 0;
		for (last = first; last + 1 < n &&
		    v[last + 1].rv_hdr == v[first].rv_hdr; last++)
			;
		for (i = first; i <= last; i++)
			kept += !v[i].rv_cut;
		if (kept == 0) {
			if (!route_add_cut(rx, v[first].rv_hdr, true, NULL,
			    NULL))
				return false;
			continue;
		}
		for (i = first; i <= last; i++) {
			if (!v[i].rv_cut)
				continue;
			for (j = i + 1; j <= last && v[j].rv_cut; j++)
				;
			if (j <= last) {
				if (!route_add_cut(rx, v[i].rv_hdr, false,
				    v[i].rv_value.s, v[i + 1].rv_value.s))
					return false;
				continue;
			}
			/* the trailing run, after the last kept value */
			if (!route_add_cut(rx, v[i].rv_hdr, false,
			    v[i - 1].rv_value.s + v[i - 1].rv_value.len,
			    v[last].rv_value.s + v[last].rv_value.len))
				return false;
			break;
		}
	}
	return true;
}

/* The values of every Route line, in order; -1 when malformed. */
static int
route_values(const struct sip_msg *m, struct route_val *v, int max)
{
	struct sip_iter	 it;
	struct sip_addr	 a;
	int		 n = 0, r;

	sip_iter_init(&it, m, SIP_HDR_ROUTE);
	while ((r = sip_addr_next(&it, &a)) == 1) {
		if (n == max)
			return -1;
		v[n].rv_value = a.sa_value;
		v[n].rv_hdr = a.sa_hdr;
		v[n].rv_cut = false;
		n++;
	}
	return r == 0 ? n : -1;
}

/* Where a SIP URI points (host:port, IP literals only; maddr ignored). */
static bool
route_uri_dest(struct route_ctx *rx, const struct sip_uri *u)
{
	if (u->su_scheme != SIP_URI_SIP && u->su_scheme != SIP_URI_SIPS)
		return false;
	return addr_from_host(u->su_host, u->su_port, &rx->rx_t->rt_dst,
	    &rx->rx_t->rt_dstlen);
}

static void	route_initial(struct route_ctx *, bool);

/*
 * Whether an ACK answers a final reply sipd made itself (a 407, 404,
 * 480 to an INVITE): its To tag is the one sip_reply_to_tag() gave that
 * INVITE, which differs from the ACK only in the CSeq method (Kamailio's
 * sl_filter_ACK). Such an ACK ends there. The INVITE's CSeq is taken to
 * be written "N INVITE", as UAs do.
 */
static bool
route_ack_for_us(const struct sip_msg *m, struct sip_str totag)
{
	struct sip_cseq		 cs;
	struct sip_str		 inv;
	char			 val[32], tag[SIP_REPLY_TAG_LEN + 1];
	int			 n;

	if (totag.len != SIP_REPLY_TAG_LEN || sip_msg_cseq(m, &cs) != 0)
		return false;
	n = snprintf(val, sizeof(val), "%u INVITE", (unsigned)cs.sc_num);
	inv.s = val;
	inv.len = (size_t)n;
	sip_reply_to_tag_cseq(m, &inv, tag);
	return memcmp(tag, totag.s, SIP_REPLY_TAG_LEN) == 0;
}

/* RFC 3261 §16.4 and §16.6 steps 6-7 for a request with a To tag. */
static void
route_in_dialog(struct route_ctx *rx, struct sip_str totag)
{
	const struct sip_msg	*m = rx->rx_m;
	struct route_target	*t = rx->rx_t;
	struct route_val	 v[ROUTE_VALUES_MAX];
	struct sip_addr		 a;
	struct sip_uri		 ruri;
	int			 n, top, i;
	bool			 ruri_mine;

	/*
	 * The ACK of a final reply sipd made statelessly (a 407, 404, 480)
	 * ends here, wherever its Request-URI points: Kamailio's
	 * sl_filter_ACK, before any routing.
	 */
	if (m->sm_method == SIP_METHOD_ACK && route_ack_for_us(m, totag))
		return;
	if (sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &ruri) != 0) {
		route_reply(rx, 400, "Bad Request - Malformed Request-URI",
		    NULL);
		return;
	}
	if ((n = route_values(m, v, ROUTE_VALUES_MAX)) < 0) {
		route_reply(rx, 400, "Bad Request - Malformed Route", NULL);
		return;
	}
	ruri_mine = (ruri.su_scheme == SIP_URI_SIP ||
	    ruri.su_scheme == SIP_URI_SIPS) &&
	    addr_is_myself(ruri.su_host, ruri.su_port);
	/* A strict router put our Record-Route URI (no user) in the R-URI. */
	if (ruri_mine && ruri.su_user.len == 0 && n > 0) {
		if (sip_addr_parse(v[n - 1].rv_value.s, v[n - 1].rv_value.len,
		    0, &a) != 0) {
			route_reply(rx, 400, "Bad Request - Malformed Route",
			    NULL);
			return;
		}
		t->rt_ruri = a.sa_uri;
		v[n - 1].rv_cut = true;
		ruri = a.sa_puri;
		ruri_mine = (ruri.su_scheme == SIP_URI_SIP ||
		    ruri.su_scheme == SIP_URI_SIPS) &&
		    addr_is_myself(ruri.su_host, ruri.su_port);
	}
	/* Our own Route values on top: one, or two (double Record-Route). */
	for (top = 0; top < n && top < 2 && !v[top].rv_cut; top++) {
		if (sip_addr_parse(v[top].rv_value.s, v[top].rv_value.len, 0,
		    &a) != 0 || (a.sa_puri.su_scheme != SIP_URI_SIP &&
		    a.sa_puri.su_scheme != SIP_URI_SIPS) ||
		    !addr_is_myself(a.sa_puri.su_host, a.sa_puri.su_port))
			break;
		v[top].rv_cut = true;
	}
	if (!route_cut_routes(rx, v, n)) {
		route_reply(rx, 500, "Server Internal Error", NULL);
		return;
	}
	for (i = top; i < n && v[i].rv_cut; i++)
		;
	if (i < n) {
		/*
		 * Next hop: the next Route URI. One without ;lr is a strict
		 * router (RFC 2543); it gets the request as a loose router
		 * would send it, which RFC 3261 routers accept.
		 */
		if (sip_addr_parse(v[i].rv_value.s, v[i].rv_value.len, 0,
		    &a) != 0) {
			route_reply(rx, 400, "Bad Request - Malformed Route",
			    NULL);
			return;
		}
		if (!route_uri_dest(rx, &a.sa_puri)) {
			route_reply(rx, 478, "Unresolvable destination",
			    NULL);
			return;
		}
		route_forward(rx, "in dialog, by Route");
		return;
	}
	if (ruri_mine) {
		if (m->sm_method == SIP_METHOD_ACK) {
			/* the ACK of a non-2xx reply: where its INVITE went */
			t->rt_ncuts = 0;
			t->rt_ruri.s = NULL;
			route_initial(rx, false);
			if (t->rt_verdict != ROUTE_FORWARD)
				t->rt_verdict = ROUTE_DROP;
			return;
		}
		route_reply(rx, 404, "Not Found", NULL);
		return;
	}
	if (!route_uri_dest(rx, &ruri)) {
		route_reply(rx, 478, "Unresolvable destination", NULL);
		return;
	}
	route_forward(rx, "in dialog, by Request-URI");
}

/*
 * The gateway as it is now: MI cfg.set may change it while sipd runs
 * (runcfg in shm); the start-up config when runcfg is not set up.
 */
static void
route_gw(struct runcfg_gw *g)
{
	const struct conf	*c = route_conf;

	if (runcfg_gw(g) == 0)
		return;
	memset(g, 0, sizeof(*g));
	g->rg_set = c->c_gw_set;
	g->rg_match_port = c->c_gw_match_port;
	g->rg_port = c->c_gw_port;
	memcpy(&g->rg_addr, &c->c_gw_addr, sizeof(g->rg_addr));
	(void)snprintf(g->rg_ip, sizeof(g->rg_ip), "%s", c->c_gw_ip);
}

static bool
route_from_gw(const struct route_ctx *rx, const struct runcfg_gw *g)
{
	const struct sockaddr_in	*a4, *g4;
	const struct sockaddr_in6	*a6, *g6;

	if (!g->rg_set || rx->rx_src->sa_family != g->rg_addr.ss_family)
		return false;
	if (rx->rx_src->sa_family == AF_INET) {
		a4 = (const struct sockaddr_in *)(const void *)rx->rx_src;
		g4 = (const struct sockaddr_in *)(const void *)&g->rg_addr;
		return a4->sin_addr.s_addr == g4->sin_addr.s_addr &&
		    (!g->rg_match_port || a4->sin_port == g4->sin_port);
	}
	a6 = (const struct sockaddr_in6 *)(const void *)rx->rx_src;
	g6 = (const struct sockaddr_in6 *)(const void *)&g->rg_addr;
	return memcmp(&a6->sin6_addr, &g6->sin6_addr, 16) == 0 &&
	    (!g->rg_match_port || a6->sin6_port == g6->sin6_port);
}

/*
 * A UA's out-of-dialog request: trusted, or digest (auth_authorize(),
 * 407) for the From user. true when it may go on (the credentials used
 * are cut), false when a reply was decided.
 */
static bool
route_authorize(struct route_ctx *rx)
{
	const struct sip_msg	*m = rx->rx_m;
	struct auth_request	 req;
	struct auth_decision	 d;
	struct sip_addr		 from;
	char			 user[LOCTAB_AOR_MAX];
	char			 q[ROUTE_QUOTE_MAX * 4 + 8];
	long			 ulen;

	if (sip_msg_from(m, &from) != 0) {
		route_reply(rx, 400, "Bad Request - Malformed From", NULL);
		return false;
	}
	if (userdb_trusted_match(rx->rx_ip, STORE_PROTO_UDP, from.sa_uri))
		return true;
	memset(&req, 0, sizeof(req));
	if (auth_realm(m, route_conf, &req.ar_realm) != 0) {
		route_reply(rx, 400, "Bad Request - From URI has no host",
		    NULL);
		return false;
	}
	/* Kamailio's stock "$au != $fU": the From user unescaped */
	ulen = sip_uri_unescape(from.sa_puri.su_user.s,
	    from.sa_puri.su_user.len, user, sizeof(user));
	req.ar_m = m;
	req.ar_kind = AUTH_PROXY;
	req.ar_identity = user;
	req.ar_identity_len = ulen > 0 ? (size_t)ulen : 0;
	req.ar_lookup = userdb_auth_lookup;
	req.ar_now = rx->rx_now;
	req.ar_conf = route_conf;
	auth_authorize(&req, route_extra, sizeof(route_extra), &d);
	if (d.ad_why != NULL && d.ad_warn)
		log_warnx_limited(&route_warn_limit, rx->rx_now,
		    "%.*s from %s:%u: %d, %s \"%s\"",
		    (int)m->sm_method_str.len, m->sm_method_str.s, rx->rx_ip,
		    rx->rx_port, d.ad_code, d.ad_why, route_quote(q, sizeof(q),
		    d.ad_user.s, d.ad_user.len));
	else if (d.ad_why != NULL)
		log_debug("%.*s from %s:%u: %d, %s",
		    (int)m->sm_method_str.len, m->sm_method_str.s, rx->rx_ip,
		    rx->rx_port, d.ad_code, d.ad_why);
	if (d.ad_code != 0) {
		route_reply(rx, d.ad_code, d.ad_reason, d.ad_extra);
		return false;
	}
	/* consume_credentials(): the next hop has no use for them */
	if (!route_add_cut(rx, d.ad_hdr, true, NULL, NULL)) {
		route_reply(rx, 500, "Server Internal Error", NULL);
		return false;
	}
	return true;
}

/* R-URI := sip:user@gw_ip:gw_port;params (route[PSTN]). */
static void
route_to_gw(struct route_ctx *rx, const struct sip_uri *ruri,
    const struct runcfg_gw *g)
{
	struct route_target	*t = rx->rx_t;
	bool			 v6 = strchr(g->rg_ip, ':') != NULL;
	int			 n;

	if (ruri->su_user.len == 0) {
		route_reply(rx, 484, "Address Incomplete", NULL);
		return;
	}
	n = snprintf(t->rt_ruri_buf, sizeof(t->rt_ruri_buf),
	    "sip:%.*s@%s%s%s:%u%s%.*s", (int)ruri->su_user.len,
	    ruri->su_user.s, v6 ? "[" : "", g->rg_ip, v6 ? "]" : "",
	    (unsigned)g->rg_port, ruri->su_params.len > 0 ? ";" : "",
	    (int)ruri->su_params.len, ruri->su_params.s);
	if (n < 0 || (size_t)n >= sizeof(t->rt_ruri_buf)) {
		route_reply(rx, 414, "Request-URI Too Long", NULL);
		return;
	}
	t->rt_ruri.s = t->rt_ruri_buf;
	t->rt_ruri.len = (size_t)n;
	memcpy(&t->rt_dst, &g->rg_addr, sizeof(t->rt_dst));
	t->rt_dstlen = g->rg_addr.ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	route_forward(rx, "to the gateway");
}

/*
 * One binding as a target: its contact as the Request-URI, its received
 * address (a NATed UA is reached where it registered from) or else the
 * contact's as the destination. false for a host name (no DNS) or a
 * contact too long.
 */
static bool
route_binding_target(struct route_ctx *rx, const struct loctab_binding *b,
    struct sockaddr_storage *dst, socklen_t *dstlen, struct sip_str *ruri,
    char *buf)
{
	struct sip_uri	 u;

	if (b->lb_contact_len >= ROUTE_URI_MAX)
		return false;
	memcpy(buf, b->lb_contact, b->lb_contact_len);
	ruri->s = buf;
	ruri->len = b->lb_contact_len;
	if (b->lb_received_len > 0 && sip_uri_parse(b->lb_received,
	    b->lb_received_len, &u) == 0 && addr_from_host(u.su_host,
	    u.su_port, dst, dstlen))
		return true;
	(void)rx;
	return sip_uri_parse(ruri->s, ruri->len, &u) == 0 &&
	    addr_from_host(u.su_host, u.su_port, dst, dstlen);
}

/*
 * lookup("location"): the Request-URI user, unescaped once and
 * lower-cased as the registrar keys AoRs; 404 when not a subscriber,
 * 480 when not registered. The request forks to the bindings.
 */
static void
route_to_user(struct route_ctx *rx, const struct sip_uri *ruri)
{
	struct route_target	*t = rx->rx_t;
	struct route_branch	*rb;
	struct loctab_str	 aor;
	char			 user[LOCTAB_AOR_MAX], lower[LOCTAB_AOR_MAX];
	long			 n;
	unsigned		 nb, k;
	bool			 first = true;
	size_t			 i;
	int			 r;

	if (ruri->su_scheme != SIP_URI_SIP && ruri->su_scheme != SIP_URI_SIPS) {
		route_reply(rx, 416, "Unsupported URI Scheme", NULL);
		return;
	}
	if (ruri->su_user.len == 0) {
		route_reply(rx, 484, "Address Incomplete", NULL);
		return;
	}
	n = sip_uri_unescape(ruri->su_user.s, ruri->su_user.len, user,
	    sizeof(user));
	if (n <= 0 || !userdb_subscriber_exists(user, (size_t)n)) {
		route_reply(rx, 404, "Not Found", NULL);
		return;
	}
	for (i = 0; i < (size_t)n; i++)
		lower[i] = (char)tolower((unsigned char)user[i]);
	aor.ls_ptr = lower;
	aor.ls_len = (size_t)n;
	r = route_table == NULL ? -ENXIO :
	    loctab_lookup(route_table, aor, rx->rx_now, route_bindings,
	    ROUTE_BRANCHES_MAX, &nb);
	/* cluster.redis: registered on another node a moment ago? */
	if (r == LOCTAB_E_NOTFOUND && cluster_worker_miss(aor, rx->rx_now))
		r = loctab_lookup(route_table, aor, rx->rx_now,
		    route_bindings, ROUTE_BRANCHES_MAX, &nb);
	if (r == LOCTAB_E_NOTFOUND) {
		route_reply(rx, 480, "Temporarily Unavailable", NULL);
		return;
	}
	if (r != 0) {
		log_warnx("route: location table: error %d", r);
		route_reply(rx, 500, "Server Internal Error", NULL);
		return;
	}
	if (nb > ROUTE_BRANCHES_MAX)
		nb = ROUTE_BRANCHES_MAX;
	for (k = 0; k < nb; k++) {
		if (first) {
			if (route_binding_target(rx, &route_bindings[k],
			    &t->rt_dst, &t->rt_dstlen, &t->rt_ruri,
			    t->rt_ruri_buf))
				first = false;
			continue;
		}
		rb = &t->rt_more[t->rt_nmore];
		if (route_binding_target(rx, &route_bindings[k], &rb->rb_dst,
		    &rb->rb_dstlen, &rb->rb_ruri, rb->rb_ruri_buf))
			t->rt_nmore++;
	}
	if (first) {
		/* host name contacts only: sipd does no DNS */
		route_reply(rx, 480, "Temporarily Unavailable", NULL);
		return;
	}
	route_forward(rx, nb > 1 ? "to the bindings" : "to a binding");
}

/*
 * An out-of-dialog request (or the ACK of a non-2xx reply). CANCEL and
 * ACK are routed as the INVITE they belong to, without auth.
 */
static void
route_initial(struct route_ctx *rx, bool authenticate)
{
	const struct sip_msg	*m = rx->rx_m;
	struct sip_uri		 ruri;
	struct runcfg_gw	 g;
	int			 method = m->sm_method;
	bool			 gw;

	if (method == SIP_METHOD_CANCEL || method == SIP_METHOD_ACK)
		method = SIP_METHOD_INVITE;
	if (sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &ruri) != 0) {
		route_reply(rx, 400, "Bad Request - Malformed Request-URI",
		    NULL);
		return;
	}
	route_gw(&g);
	gw = route_from_gw(rx, &g);
	rx->rx_t->rt_from_gw = gw;
	if (m->sm_method == SIP_METHOD_INVITE)
		rx->rx_t->rt_path = gw ? STATS_PATH_GW_UA : g.rg_set ?
		    STATS_PATH_UA_GW : STATS_PATH_OTHER;
	if (!gw && authenticate && !route_authorize(rx))
		return;
	rx->rx_t->rt_record_route = m->sm_method == SIP_METHOD_INVITE ||
	    m->sm_method == SIP_METHOD_SUBSCRIBE;
	if (!gw && method == SIP_METHOD_INVITE && g.rg_set)
		route_to_gw(rx, &ruri, &g);
	else
		route_to_user(rx, &ruri);
}

void
route_request(const struct sip_msg *m, const struct sockaddr *src,
    time_t now, struct route_target *ret)
{
	struct route_ctx		 rx;
	struct sip_addr			 to;

	ret->rt_verdict = ROUTE_DROP;
	ret->rt_code = 0;
	ret->rt_reason = NULL;
	ret->rt_extra = NULL;
	ret->rt_ruri.s = NULL;
	ret->rt_ruri.len = 0;
	ret->rt_ncuts = 0;
	ret->rt_nmore = 0;
	ret->rt_record_route = false;
	ret->rt_from_gw = false;
	ret->rt_path = STATS_PATH_NONE;
	ret->rt_why = "dropped";
	ret->rt_dstlen = 0;

	rx.rx_m = m;
	rx.rx_src = src;
	rx.rx_now = now;
	rx.rx_t = ret;
	rx.rx_ip[0] = '\0';
	rx.rx_port = 0;
	if (!addr_text(src, rx.rx_ip, &rx.rx_port))
		rx.rx_ip[0] = '\0';

	if (sip_msg_to(m, &to) != 0) {
		route_reply(&rx, 400, "Bad Request - Malformed To", NULL);
		return;
	}
	if (to.sa_tag.s != NULL) {
		route_in_dialog(&rx, to.sa_tag);
		return;
	}
	/* An ACK without a dialog answers nothing sipd sent on: absorbed. */
	if (m->sm_method == SIP_METHOD_ACK)
		return;
	route_initial(&rx, m->sm_method != SIP_METHOD_CANCEL);
}
