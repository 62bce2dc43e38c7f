/*
 * registrar: what a UDP worker does with a REGISTER (RFC 3261 §10.3,
 * SPEC §5).
 *
 * A pure decider (SPEC §5): registrar_decide() turns the message, the
 * tables and the time into a verdict — a reply, or a location change
 * to apply — and registrar_apply() makes the one change (an atomic
 * loctab_save()) and turns its outcome into the reply. Retransmissions
 * never get here: the transaction layer (tm.c) answers them from its
 * completed-transaction slots. Under heavy load a slot may be gone; a
 * retransmitted authorized REGISTER is then recognised by its binding
 * (same Call-ID and CSeq from the same source within
 * LOCTAB_CSEQ_DELAY) instead of being refused as a replay.
 *
 * The steps, each ending the request with one reply when it fails:
 *  1. The To URI names the AoR: sip or sips with a user part (400
 *     otherwise, before any challenge: the realm comes from it). AoR =
 *     that user unescaped once, lower-cased (usrloc use_domain = 0,
 *     registrar case_sensitive = 0).
 *  2. A source in `trusted` is not challenged, but its To user must be a
 *     subscriber (403). Everyone else goes through digest: 401 with a
 *     fresh challenge (stale=true for an expired nonce), 400 for broken
 *     credentials, 403 when the authenticated user is not the To user.
 *  3. Contacts become a loctab_save request: Contact: * only alone and
 *     with Expires: 0; expires from the contact, else the Expires header,
 *     else registrar.default_expires; 423 below min_expires, lowered to
 *     max_expires; q checked; URIs byte-exact; `received` when the
 *     source is not the Contact's address.
 *  4. One loctab_save() applies it all under one bucket lock: 400 for an
 *     old CSeq, 503 for max_contacts or a full table, nothing stored then.
 *  5. 200 listing every current binding with the seconds it has left.
 *
 * Errors other than the 401 carry P-Registrar-Error; a 400's reason
 * phrase is "Bad Request - " and the same text. Nothing is allocated per
 * request: the worker handles one datagram at a time, so the big
 * buffers and the request between decide and apply are static.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "auth.h"
#include "cluster_worker.h"
#include "log.h"
#include "loctab.h"
#include "registrar.h"
#include "runcfg.h"
#include "stats.h"
#include "strbuf.h"
#include "userdb.h"

/* Headers of one reply: the Contact list of 64 long bindings fits. */
#define REG_HDRS_MAX		32768
/* Rate limit of the warnings bad or hostile requests cause. */
#define REG_WARN_PER_SEC	20
#define REG_QUOTE_MAX		64	/* user-supplied bytes in a log line */

/* Texts of P-Registrar-Error (Kamailio's where it has one). */
#define REG_E_AOR_SCHEME	"AoR not a SIP URI"
#define REG_E_TO_USER		"No username in To URI"
#define REG_E_AOR_LEN		"Address Of Record too long"
#define REG_E_CREDENTIALS	"Malformed credentials"
#define REG_E_AUTH_ID		"Auth user does not match To user"
#define REG_E_NOT_SUBSCRIBER	"Not a subscriber"
#define REG_E_STAR_EXP		"* used in contact and expires is not zero"
#define REG_E_STAR_CONT		"* used in contact and more than 1 contact"
#define REG_E_INV_EXP		"Invalid expires param in contact"
#define REG_E_INV_Q		"Invalid q param in contact"
#define REG_E_CONTACT_LEN	"Contact/received too long"
#define REG_E_CALLID_LEN	"Callid too long"
#define REG_E_CONTACTS		"Too many contacts in one REGISTER"
#define REG_E_PARSE_CONT	"Contact parse error"
#define REG_E_BRIEF		"Expires too brief"
#define REG_E_INV_CSEQ		"Invalid CSeq number"
#define REG_E_TOO_MANY		"Too many registered contacts"
#define REG_E_FULL		"Location table full"
#define REG_E_INTERNAL		"Internal error"
#define REG_E_CLUSTER		"Shared location store unreachable"

/* One REGISTER on its way through the steps. */
struct reg_ctx {
	const struct sip_msg	*rc_m;
	const struct sockaddr	*rc_src;
	const char		*rc_socket;
	struct registrar_verdict *rc_v;
	time_t			 rc_now;
	char			 rc_ip[INET6_ADDRSTRLEN];	/* source */
	uint16_t		 rc_port;
	/* To user unescaped: what auth and subscriber compare against */
	char			 rc_user[LOCTAB_AOR_MAX];
	size_t			 rc_user_len;
	char			 rc_aor[LOCTAB_AOR_MAX];	/* lowercase */
	char			 rc_qaor[REG_QUOTE_MAX * 4 + 8]; /* for logs */
	/* "sip:IP:PORT" of the source, made when a contact needs it */
	char			 rc_received[LOCTAB_RECEIVED_MAX + 1];
	size_t			 rc_received_len;
	struct loctab_contact	 rc_contacts[LOCTAB_SAVE_MAX];
	unsigned		 rc_n;
	bool			 rc_star;
	bool			 rc_via_natted;	/* reg_via_natted() */
	/* registrar.* as they are now (cfg.set may change them) */
	struct runcfg_reg	 rc_set;
};

static bool	reg_differs(const struct reg_ctx *, const struct sip_uri *);
static void	reg_make_received(struct reg_ctx *);

static const struct conf	*reg_conf;
static struct loctab		*reg_table;
static struct loctab_binding	 reg_list[REGISTRAR_LIST_MAX];
static char			 reg_hdrs[REG_HDRS_MAX];
_Static_assert(REGISTRAR_SLOTS == CLUSTER_W_PIPELINE + 1,
    "a slot for each REGISTER a batch queues on Redis, and one");
/* The requests between registrar_decide() and registrar_apply(). */
static struct reg_ctx		 reg_pending[REGISTRAR_SLOTS];
static struct log_ratelimit	 reg_warn_limit = {
	"registrar", REG_WARN_PER_SEC, 0, 0
};

void
registrar_init(const struct conf *c, struct loctab *location)
{
	reg_conf = c;
	reg_table = location;
	cluster_worker_init(c, location);
}

static const char *
reg_quote(char *out, size_t cap, const char *s, size_t len)
{
	return log_quote(out, cap, s, len, REG_QUOTE_MAX);
}

/* The verdict: reply code, reason and header lines (or NULL). */
static void
reg_reply(const struct reg_ctx *rc, int code, const char *reason,
    const char *extra)
{
	rc->rc_v->rv_code = code;
	rc->rc_v->rv_reason = reason;
	rc->rc_v->rv_extra = extra;
	rc->rc_v->rv_save = false;
}

/*
 * An error reply with P-Registrar-Error: text; more (complete header
 * lines, may be NULL) follows it. reason NULL: "Bad Request - text".
 */
static void
reg_fail(const struct reg_ctx *rc, int code, const char *reason,
    const char *text, const char *more)
{
	static char	 why[160];

	if (reason == NULL) {
		snprintf(why, sizeof(why), "Bad Request - %s", text);
		reason = why;
	}
	snprintf(reg_hdrs, sizeof(reg_hdrs), "P-Registrar-Error: %s\r\n%s",
	    text, more != NULL ? more : "");
	stats_inc(STATS_REJECTED_REGS);
	reg_reply(rc, code, reason, reg_hdrs);
}

/* A 400 for a fault of the request, with a (rate-limited) warning. */
static void
reg_bad(const struct reg_ctx *rc, const char *text)
{
	log_warnx_limited(&reg_warn_limit, rc->rc_now,
	    "REGISTER from %s:%u for \"%s\": 400 %s",
	    rc->rc_ip, rc->rc_port, rc->rc_qaor, text);
	reg_fail(rc, 400, NULL, text, NULL);
}

/*
 * Step 1: the AoR from the To URI. false when the verdict is a reply. The
 * unescaped user may hold NUL bytes (RFC 4475 escnull): lengths only.
 */
static bool
reg_aor(struct reg_ctx *rc)
{
	struct sip_addr	 to;
	long		 n;
	size_t		 i;

	if (sip_msg_to(rc->rc_m, &to) != 0 ||
	    (to.sa_puri.su_scheme != SIP_URI_SIP &&
	    to.sa_puri.su_scheme != SIP_URI_SIPS)) {
		reg_bad(rc, REG_E_AOR_SCHEME);
		return false;
	}
	if (to.sa_puri.su_user.len == 0) {
		reg_bad(rc, REG_E_TO_USER);
		return false;
	}
	n = sip_uri_unescape(to.sa_puri.su_user.s, to.sa_puri.su_user.len,
	    rc->rc_user, sizeof(rc->rc_user));
	if (n <= 0) {
		/* The URI parser refused bad escapes: it can only be size. */
		reg_bad(rc, REG_E_AOR_LEN);
		return false;
	}
	rc->rc_user_len = (size_t)n;
	for (i = 0; i < rc->rc_user_len; i++)
		rc->rc_aor[i] = (char)tolower((unsigned char)rc->rc_user[i]);
	reg_quote(rc->rc_qaor, sizeof(rc->rc_qaor), rc->rc_aor,
	    rc->rc_user_len);
	return true;
}

/*
 * A request whose digest was already used (AUTH_REPLAY) is still a plain
 * retransmission, not a replay, when its first copy was stored: a binding
 * of this AoR carries the same Call-ID and CSeq, saved within the
 * retransmission window, from the same source. It then gets the same
 * answer as the first copy (loctab_save() treats it as a retransmission
 * and changes nothing). This covers what tm's completed slots no longer
 * hold under heavy load.
 */
static bool
reg_is_retransmission(struct reg_ctx *rc)
{
	struct sip_str		 callid;
	struct sip_cseq		 cseq;
	struct sip_uri		 u;
	struct loctab_str	 aor = { rc->rc_aor, rc->rc_user_len };
	unsigned		 n, i;

	if (sip_msg_callid(rc->rc_m, &callid) != 0 ||
	    sip_msg_cseq(rc->rc_m, &cseq) != 0)
		return false;
	if (loctab_lookup(reg_table, aor, rc->rc_now, reg_list,
	    REGISTRAR_LIST_MAX, &n) != 0)
		return false;
	for (i = 0; i < n && i < REGISTRAR_LIST_MAX; i++) {
		const struct loctab_binding *b = &reg_list[i];

		if (b->lb_cseq != cseq.sc_num ||
		    b->lb_callid_len != callid.len ||
		    memcmp(b->lb_callid, callid.s, callid.len) != 0 ||
		    rc->rc_now - b->lb_last_modified > LOCTAB_CSEQ_DELAY)
			continue;
		/* ...and from where the first copy came, not a replayer. */
		if (b->lb_received_len > 0) {
			reg_make_received(rc);
			if (rc->rc_received_len == b->lb_received_len &&
			    memcmp(rc->rc_received, b->lb_received,
			    b->lb_received_len) == 0)
				return true;
		} else if (sip_uri_parse(b->lb_contact, b->lb_contact_len,
		    &u) == 0 && !reg_differs(rc, &u))
			return true;
	}
	return false;
}

static bool
reg_retransmission(void *arg)
{
	return reg_is_retransmission(arg);
}

/*
 * Step 2: trusted source or digest (auth_authorize(), 401). true when
 * the request may go on; false when the verdict is a reply.
 */
static bool
reg_authorize(struct reg_ctx *rc)
{
	struct sip_addr		 from;
	struct auth_request	 req;
	struct auth_decision	 d;
	char			 q[REG_QUOTE_MAX * 4 + 8];

	if (sip_msg_from(rc->rc_m, &from) == 0 &&
	    userdb_trusted_match(rc->rc_ip, STORE_PROTO_UDP, from.sa_uri)) {
		if (userdb_subscriber_exists(rc->rc_user, rc->rc_user_len))
			return true;
		log_warnx_limited(&reg_warn_limit, rc->rc_now,
		    "REGISTER from trusted %s:%u: 403, "
		    "\"%s\" is not a subscriber", rc->rc_ip, rc->rc_port,
		    reg_quote(q, sizeof(q), rc->rc_user, rc->rc_user_len));
		reg_fail(rc, 403, "Forbidden", REG_E_NOT_SUBSCRIBER, NULL);
		return false;
	}
	memset(&req, 0, sizeof(req));
	if (auth_realm(rc->rc_m, reg_conf, &req.ar_realm) != 0) {
		/* A sip/sips To always has a host: this is defensive. */
		reg_bad(rc, REG_E_AOR_SCHEME);
		return false;
	}
	req.ar_m = rc->rc_m;
	req.ar_kind = AUTH_WWW;
	req.ar_identity = rc->rc_user;
	req.ar_identity_len = rc->rc_user_len;
	req.ar_lookup = userdb_auth_lookup;
	req.ar_retransmission = reg_retransmission;
	req.ar_retransmission_arg = rc;
	req.ar_now = rc->rc_now;
	req.ar_conf = reg_conf;
	auth_authorize(&req, reg_hdrs, sizeof(reg_hdrs), &d);
	if (d.ad_why != NULL && d.ad_warn)
		log_warnx_limited(&reg_warn_limit, rc->rc_now,
		    "REGISTER from %s:%u for \"%s\": %d, %s \"%s\"",
		    rc->rc_ip, rc->rc_port, rc->rc_qaor, d.ad_code, d.ad_why,
		    reg_quote(q, sizeof(q), d.ad_user.s, d.ad_user.len));
	else if (d.ad_why != NULL)
		log_debug("registrar: REGISTER from %s:%u: %d, %s", rc->rc_ip,
		    rc->rc_port, d.ad_code, d.ad_why);
	switch (d.ad_code) {
	case 0:
		return true;
	case 401:
		reg_reply(rc, 401, d.ad_reason, d.ad_extra);
		return false;
	case 400:
		reg_fail(rc, 400, NULL, REG_E_CREDENTIALS, NULL);
		return false;
	case 403:
		reg_fail(rc, 403, d.ad_reason, REG_E_AUTH_ID, NULL);
		return false;
	default:
		reg_fail(rc, 500, "Server Internal Error", REG_E_INTERNAL,
		    NULL);
		return false;
	}
}

/* A parameter value without its quotes, if it has them. */
static struct sip_str
reg_unquote(struct sip_str v)
{
	if (v.len >= 2 && v.s[0] == '"' && v.s[v.len - 1] == '"') {
		v.s++;
		v.len -= 2;
	}
	return v;
}

/*
 * q = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 3261
 * §25.1) to 0..1000. -1 when it is not one.
 */
static int
reg_parse_q(struct sip_str v, int *ret)
{
	int	 q, scale = 100;
	size_t	 i;

	v = reg_unquote(v);
	if (v.len == 0 || (v.s[0] != '0' && v.s[0] != '1'))
		return -1;
	q = (v.s[0] - '0') * 1000;
	if (v.len > 1) {
		if (v.s[1] != '.' || v.len > 5)
			return -1;
		for (i = 2; i < v.len; i++, scale /= 10) {
			if (v.s[i] < '0' || v.s[i] > '9')
				return -1;
			q += (v.s[i] - '0') * scale;
		}
	}
	if (q > LOCTAB_Q_MAX)
		return -1;
	*ret = q;
	return 0;
}

/*
 * Whether the Contact URI names another address than the one the
 * request came from. A host name always differs; IP addresses are
 * compared as addresses.
 */
static bool
reg_differs(const struct reg_ctx *rc, const struct sip_uri *u)
{
	unsigned	 port;

	if (u->su_scheme != SIP_URI_SIP && u->su_scheme != SIP_URI_SIPS)
		return true;
	port = u->su_port != 0 ? u->su_port :
	    u->su_scheme == SIP_URI_SIPS ? 5061 : 5060;
	return port != rc->rc_port || !sip_host_is_addr(u->su_host,
	    rc->rc_src);
}

/* RFC 1918, RFC 6598 (100.64/10) and fc00::/7: addresses behind NAT. */
static bool
reg_private(int family, const unsigned char *a)
{
	if (family == AF_INET)
		return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		    (a[0] == 192 && a[1] == 168) ||
		    (a[0] == 100 && (a[1] & 0xc0) == 64);
	return family == AF_INET6 && (a[0] & 0xfe) == 0xfc;
}

static bool
reg_src_private(const struct reg_ctx *rc)
{
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;

	if (rc->rc_src->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)(const void *)rc->rc_src;
		return reg_private(AF_INET,
		    (const unsigned char *)&s4->sin_addr);
	}
	s6 = (const struct sockaddr_in6 *)(const void *)rc->rc_src;
	return reg_private(AF_INET6, s6->sin6_addr.s6_addr);
}

/*
 * Whether the top Via shows a NAT on the way (nat_uac_test 2 and 16):
 * its sent-by host is not the source address, or its port (5060 when
 * absent) is not the source port.
 */
static bool
reg_via_natted(const struct reg_ctx *rc)
{
	struct sip_via	 v;

	if (sip_msg_via_top(rc->rc_m, &v) != 0)
		return false;
	return (v.sv_port != 0 ? v.sv_port : 5060) != rc->rc_port ||
	    !sip_host_is_addr(v.sv_host, rc->rc_src);
}

/*
 * Whether the binding of Contact URI u keeps `received` (SPEC §5,
 * registrar.nat_detect): never when the Contact is the source; with
 * auto only when the sender looks NATed (the Via test above, or a
 * private Contact address while the source is public: nat_uac_test 1),
 * so that a third-party registration (RFC 3261 §10.2) keeps its
 * Contact; with always whenever they differ.
 */
static bool
reg_wants_received(const struct reg_ctx *rc, const struct sip_uri *u)
{
	unsigned char	 a[16];
	int		 family;

	if (!reg_differs(rc, u))
		return false;
	switch (rc->rc_set.rr_nat_detect) {
	case CONF_NAT_ALWAYS:
		return true;
	case CONF_NAT_NEVER:
		return false;
	}
	if (rc->rc_via_natted)
		return true;
	family = sip_host_addr(u->su_host, a);
	return family != 0 && reg_private(family, a) && !reg_src_private(rc);
}

/* The source as a SIP URI, Kamailio's received form: sip:IP:PORT. */
static void
reg_make_received(struct reg_ctx *rc)
{
	int	 n;

	if (rc->rc_received_len > 0)
		return;
	n = snprintf(rc->rc_received, sizeof(rc->rc_received),
	    rc->rc_src->sa_family == AF_INET6 ? "sip:[%s]:%u" : "sip:%s:%u",
	    rc->rc_ip, rc->rc_port);
	rc->rc_received_len = n > 0 ? (size_t)n : 0;
}

/*
 * Step 3: the Contact headers into rc_contacts / rc_star. false when a
 * reply was decided (nothing is stored then).
 */
static bool
reg_contacts(struct reg_ctx *rc)
{
	struct loctab_contact	*lc;
	struct sip_iter		 it;
	struct sip_addr		 a;
	uint32_t		 hexp, e;
	unsigned		 methods, stars = 0;
	char			 min[64];
	int			 hrc, r, q;

	hrc = sip_msg_expires(rc->rc_m, &hexp);
	if (sip_msg_allow_mask(rc->rc_m, &methods) != 0)
		methods = LOCTAB_METHODS_ALL;
	sip_iter_init(&it, rc->rc_m, SIP_HDR_CONTACT);
	while ((r = sip_addr_next(&it, &a)) == 1) {
		if (a.sa_star) {
			stars++;
			continue;
		}
		if (rc->rc_n == LOCTAB_SAVE_MAX) {
			reg_bad(rc, REG_E_CONTACTS);
			return false;
		}
		if (a.sa_uri.len == 0 || a.sa_uri.len > LOCTAB_CONTACT_MAX) {
			reg_bad(rc, a.sa_uri.len == 0 ? REG_E_PARSE_CONT :
			    REG_E_CONTACT_LEN);
			return false;
		}
		if (a.sa_expires.len > 0) {
			if (sip_str_to_u32_sat(reg_unquote(a.sa_expires),
			    &e) != 0) {
				reg_bad(rc, REG_E_INV_EXP);
				return false;
			}
		} else if (hrc == 0)
			e = hexp;
		else
			e = rc->rc_set.rr_default_expires;
		if (e > 0 && e < rc->rc_set.rr_min_expires) {
			snprintf(min, sizeof(min), "Min-Expires: %u\r\n",
			    rc->rc_set.rr_min_expires);
			log_debug("registrar: REGISTER for \"%s\": 423, "
			    "expires %u", rc->rc_qaor, (unsigned)e);
			reg_fail(rc, 423, "Interval Too Brief", REG_E_BRIEF,
			    min);
			return false;
		}
		if (rc->rc_set.rr_max_expires > 0 &&
		    e > rc->rc_set.rr_max_expires)
			e = rc->rc_set.rr_max_expires;
		q = LOCTAB_Q_UNSET;
		if (a.sa_q.len > 0 && reg_parse_q(a.sa_q, &q) != 0) {
			reg_bad(rc, REG_E_INV_Q);
			return false;
		}
		lc = &rc->rc_contacts[rc->rc_n++];
		memset(lc, 0, sizeof(*lc));
		lc->lc_uri.ls_ptr = a.sa_uri.s;
		lc->lc_uri.ls_len = a.sa_uri.len;
		lc->lc_expires = (long)e;
		lc->lc_q = q;
		lc->lc_methods = methods;
		if (reg_wants_received(rc, &a.sa_puri)) {
			reg_make_received(rc);
			lc->lc_received.ls_ptr = rc->rc_received;
			lc->lc_received.ls_len = rc->rc_received_len;
		}
	}
	if (r != 0) {
		/* sip_msg_check() parsed them all already. */
		reg_bad(rc, REG_E_PARSE_CONT);
		return false;
	}
	if (stars > 0) {
		if (stars > 1 || rc->rc_n > 0) {
			reg_bad(rc, REG_E_STAR_CONT);
			return false;
		}
		if (hrc != 0 || hexp != 0) {
			reg_bad(rc, REG_E_STAR_EXP);
			return false;
		}
		rc->rc_star = true;
	}
	return true;
}

/* q as Kamailio prints it: 1, 0.5, 0.25, 0.125, 0. */
static void
reg_put_q(struct strbuf *b, int q)
{
	char	 s[16];
	int	 n, frac = q % 1000;

	n = snprintf(s, sizeof(s), ";q=%d", q / 1000);
	if (frac != 0) {
		n += snprintf(s + n, sizeof(s) - (size_t)n, ".%03d", frac);
		while (s[n - 1] == '0')
			n--;
	}
	strbuf_put(b, s, (size_t)n);
}

/*
 * "Contact: <uri>;q=..;expires=N;received=\"..\", ...\r\n" for the
 * bindings still valid at now; nothing when there is none.
 */
static void
reg_put_bindings(struct strbuf *b, const struct loctab_binding *list,
    unsigned n, time_t now)
{
	const struct loctab_binding	*lb;
	char				 num[32];
	unsigned			 i, shown = 0;
	int				 k;

	for (i = 0; i < n; i++) {
		lb = &list[i];
		if (lb->lb_expires != 0 && lb->lb_expires <= now)
			continue;
		strbuf_puts(b, shown++ == 0 ? "Contact: <" : ", <");
		strbuf_put(b, lb->lb_contact, lb->lb_contact_len);
		strbuf_puts(b, ">");
		if (lb->lb_q != LOCTAB_Q_UNSET)
			reg_put_q(b, lb->lb_q);
		/* A permanent binding (MI ul.add) has no expiry to tell. */
		if (lb->lb_expires != 0) {
			k = snprintf(num, sizeof(num), ";expires=%lld",
			    (long long)(lb->lb_expires - now));
			strbuf_put(b, num, (size_t)k);
		}
		if (lb->lb_received_len > 0) {
			strbuf_puts(b, ";received=\"");
			strbuf_put(b, lb->lb_received, lb->lb_received_len);
			strbuf_puts(b, "\"");
		}
	}
	if (shown > 0)
		strbuf_puts(b, "\r\n");
}

/* Step 4's input: the location change, for registrar_apply(). */
static void
reg_prepare(struct reg_ctx *rc)
{
	const struct sip_msg	*m = rc->rc_m;
	struct loctab_save	*sv = &rc->rc_v->rv_change;
	struct sip_str		 callid, ua;
	struct sip_cseq		 cseq;

	if (sip_msg_callid(m, &callid) != 0 || sip_msg_cseq(m, &cseq) != 0) {
		/* sip_msg_check() made sure of both. */
		reg_fail(rc, 500, "Server Internal Error", REG_E_INTERNAL,
		    NULL);
		return;
	}
	if (callid.len > LOCTAB_CALLID_MAX) {
		reg_bad(rc, REG_E_CALLID_LEN);
		return;
	}
	ua = sip_msg_user_agent(m);
	/* usrloc's rule: no User-Agent, or one of 255 bytes or more. */
	if (ua.len == 0 || ua.len >= LOCTAB_UA_MAX) {
		ua.s = "n/a";
		ua.len = 3;
	}
	memset(sv, 0, sizeof(*sv));
	sv->sv_aor.ls_ptr = rc->rc_aor;
	sv->sv_aor.ls_len = rc->rc_user_len;
	sv->sv_callid.ls_ptr = callid.s;
	sv->sv_callid.ls_len = callid.len;
	sv->sv_user_agent.ls_ptr = ua.s;
	sv->sv_user_agent.ls_len = ua.len;
	sv->sv_socket.ls_ptr = rc->rc_socket;
	sv->sv_socket.ls_len = strlen(rc->rc_socket);
	sv->sv_now = rc->rc_now;
	sv->sv_cseq = cseq.sc_num;
	sv->sv_star = rc->rc_star;
	sv->sv_max_per_aor = reg_conf->c_reg_max_contacts;
	sv->sv_contacts = rc->rc_contacts;
	sv->sv_ncontacts = rc->rc_n;
	rc->rc_v->rv_save = true;
}

/* The context of a verdict whose change is pending; NULL if none. */
static struct reg_ctx *
reg_pending_of(struct registrar_verdict *v)
{
	struct reg_ctx	*rc;

	if (!v->rv_save || v->rv_slot >= REGISTRAR_SLOTS)
		return NULL;
	rc = &reg_pending[v->rv_slot];
	return rc->rc_v == v ? rc : NULL;
}

static void	reg_finish(struct reg_ctx *, struct registrar_verdict *, int);

/* Steps 4 and 5: the one change, then the reply. */
void
registrar_apply(struct registrar_verdict *v)
{
	struct reg_ctx	*rc;

	if ((rc = reg_pending_of(v)) == NULL)
		return;
	v->rv_save = false;
	reg_finish(rc, v, reg_table == NULL ? -ENXIO :
	    cluster_worker_register(&v->rv_change));
}

bool
registrar_apply_begin(struct registrar_verdict *v)
{
	struct reg_ctx	*rc;
	int		 r;

	if ((rc = reg_pending_of(v)) == NULL)
		return false;
	r = reg_table == NULL ? -ENXIO :
	    cluster_worker_register_begin(&v->rv_change);
	if (r == CLUSTER_W_PENDING)
		return true;
	v->rv_save = false;
	reg_finish(rc, v, r);
	return false;
}

void
registrar_apply_end(struct registrar_verdict *v)
{
	struct reg_ctx	*rc;

	if ((rc = reg_pending_of(v)) == NULL)
		return;
	v->rv_save = false;
	reg_finish(rc, v, cluster_worker_register_end(&v->rv_change));
}

/* The change once Redis (if any) said r, then the reply. */
static void
reg_finish(struct reg_ctx *rc, struct registrar_verdict *v, int r)
{
	struct strbuf		 b;
	unsigned		 n = 0;

	if (r == 0)
		r = loctab_save(reg_table, &v->rv_change, reg_list,
		    REGISTRAR_LIST_MAX, &n);
	else if (r == LOCTAB_E_TOO_MANY)	/* Redis said so: list ours */
		(void)loctab_lookup(reg_table, v->rv_change.sv_aor, rc->rc_now,
		    reg_list, REGISTRAR_LIST_MAX, &n);
	if (n > REGISTRAR_LIST_MAX) {
		log_debug("registrar: \"%s\" has %u bindings, %u listed",
		    rc->rc_qaor, n, REGISTRAR_LIST_MAX);
		n = REGISTRAR_LIST_MAX;
	}
	strbuf_init(&b, reg_hdrs, sizeof(reg_hdrs));
	reg_hdrs[0] = '\0';
	switch (r) {
	case 0:
		reg_put_bindings(&b, reg_list, n, rc->rc_now);
		log_debug("registrar: REGISTER from %s:%u for \"%s\": 200, "
		    "%u bindings", rc->rc_ip, rc->rc_port, rc->rc_qaor, n);
		stats_inc(STATS_ACCEPTED_REGS);
		strbuf_terminate(&b);
		reg_reply(rc, 200, "OK", reg_hdrs);
		return;
	case LOCTAB_E_CSEQ:
		reg_bad(rc, REG_E_INV_CSEQ);
		return;
	case LOCTAB_E_TOO_MANY:
		/* The list tells the UA what it already has. */
		strbuf_puts(&b, "P-Registrar-Error: " REG_E_TOO_MANY "\r\n");
		reg_put_bindings(&b, reg_list, n, rc->rc_now);
		log_warnx_limited(&reg_warn_limit, rc->rc_now,
		    "REGISTER from %s:%u for \"%s\": 503, "
		    "more than %u bindings", rc->rc_ip, rc->rc_port,
		    rc->rc_qaor, reg_conf->c_reg_max_contacts);
		stats_inc(STATS_REJECTED_REGS);
		strbuf_terminate(&b);
		reg_reply(rc, 503, "Service Unavailable", reg_hdrs);
		return;
	case LOCTAB_E_FULL:
		log_warnx_limited(&reg_warn_limit, rc->rc_now,
		    "location table full (usrloc.max_contacts "
		    "%u): REGISTER for \"%s\" refused", reg_conf->
		    c_ul_max_contacts, rc->rc_qaor);
		reg_fail(rc, 503, "Service Unavailable", REG_E_FULL, NULL);
		return;
	case LOCTAB_E_TOOLONG:
		reg_bad(rc, REG_E_CONTACT_LEN);
		return;
	case LOCTAB_E_BIG:
		reg_bad(rc, REG_E_CONTACTS);
		return;
	case LOCTAB_E_INVAL:
		reg_bad(rc, REG_E_PARSE_CONT);
		return;
	case CLUSTER_W_REFUSED:
		reg_fail(rc, 503, "Service Unavailable", REG_E_CLUSTER,
		    "Retry-After: 5\r\n");
		return;
	default:
		log_warnx("registrar: location table: error %d", r);
		reg_fail(rc, 500, "Server Internal Error", REG_E_INTERNAL,
		    NULL);
		return;
	}
}

void
registrar_decide(const struct registrar_request *req,
    struct registrar_verdict *ret)
{
	unsigned	 slot = req->rr_slot < REGISTRAR_SLOTS ? req->rr_slot : 0;
	struct reg_ctx	*rc = &reg_pending[slot];

	memset(ret, 0, sizeof(*ret));
	ret->rv_slot = slot;
	rc->rc_m = req->rr_m;
	rc->rc_src = req->rr_src;
	rc->rc_socket = req->rr_socket;
	rc->rc_v = ret;
	rc->rc_now = req->rr_now;
	rc->rc_n = 0;
	rc->rc_star = false;
	rc->rc_received_len = 0;
	rc->rc_user_len = 0;
	rc->rc_qaor[0] = '\0';
	if (!addr_text(rc->rc_src, rc->rc_ip, &rc->rc_port)) {
		ret->rv_code = 0;	/* no family to answer: dropped */
		return;
	}
	/* The start-up config when runcfg is not set up (unit tables). */
	if (runcfg_reg(&rc->rc_set) != 0) {
		rc->rc_set.rr_nat_detect = reg_conf->c_reg_nat_detect;
		rc->rc_set.rr_min_expires = reg_conf->c_reg_min_expires;
		rc->rc_set.rr_default_expires =
		    reg_conf->c_reg_default_expires;
		rc->rc_set.rr_max_expires = reg_conf->c_reg_max_expires;
	}
	rc->rc_via_natted = reg_via_natted(rc);
	if (!reg_aor(rc) || !reg_authorize(rc) || !reg_contacts(rc))
		return;
	reg_prepare(rc);
}
