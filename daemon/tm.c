/*
 * tm: transaction-stateful proxying (RFC 3261 §16, §17), run by every
 * UDP worker; worker 1 also runs the timers. The state lives in shm
 * (shm/tmtab.c): this file turns messages into tmtab calls and tmtab's
 * answers into datagrams.
 *
 * The transaction stage of the pipeline (dispatch -> decide -> tm ->
 * send). Every request but ACK is first looked up (tm_retransmission()):
 * a retransmission is answered from what its transaction sent last and
 * goes no further (it never reaches a decider, so a used nonce count is
 * never mistaken for a replay). What the deciders answer themselves goes
 * statelessly (tm_reply()), so a challenge or a rejection costs no cell;
 * a non-INVITE final that may be asked for again (a REGISTER's 200,
 * 423, ...) is kept in a compact completed-transaction slot (shm
 * replycache). What route.c forwards opens a cell (tm_forward()): one
 * copy per target, each with its own branch
 *     z9hG4bKsd<16 hex: proxy_branch()>.<6 hex cell><6 hex gen><1 hex n>
 * The hash part lets proxy.c verify a reply without state; the rest
 * names the cell, so a reply finds its transaction without a lookup.
 * Copies are stored before they are sent: a reply handled at once by
 * another worker finds its branch.
 *
 * One key (§17.2.3) for cells and slots: with a branch that begins with
 * the magic cookie "z9hG4bK", the branch, sent-by and method (ACK
 * counts as INVITE); else (RFC 2543), the Request-URI, From tag,
 * Call-ID, CSeq number, top Via and method. A slot answers only a copy
 * whose reply would go where the first one's went.
 *
 * Replies to forwarded requests: 100 ends there; other provisionals go
 * up; finals follow §16.7 in tmtab_response(). sipd sends the ACK of a
 * non-2xx final downstream and the CANCELs itself (§16.10, §17.1.1.3),
 * built from the stored copy of the branch.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "fnv.h"
#include "log.h"
#include "proxy.h"
#include "replycache.h"
#include "route.h"
#include "send.h"
#include "sip_msg.h"
#include "sip_reply.h"
#include "stats.h"
#include "strbuf.h"
#include "tm.h"
#include "tmtab.h"

#define TM_ACTS		64
#define TM_SCRATCH	(256 * 1024)	/* copies out of tmtab */
#define TM_FORWARD	(256 * 1024)	/* the copies of one request */
#define TM_OWN_MAX	8192		/* an ACK or CANCEL sipd writes */
#define TM_SUFFIX_LEN	14		/* ".", 6 + 6 + 1 hex digits */
#define TM_TIMER_ROUNDS	8
#define TM_WARN_PER_SEC	10

static const struct conf	*tm_conf;
static const struct udp_sock	*tm_socks;
static int			 tm_nsocks;
static struct tmtab_act		 tm_acts[TM_ACTS];
static char			 tm_scratch[TM_SCRATCH];
static char			 tm_fwd[TM_FORWARD];
static char			 tm_own[TM_OWN_MAX];
static char			 tm_slot[REPLYCACHE_REPLY_MAX];
static struct log_ratelimit	 tm_warn_limit = {
	"tm", TM_WARN_PER_SEC, 0, 0
};
static struct log_ratelimit	 tm_budget_limit = {
	"tm", 1, 0, 0
};

static void	tm_send_failed(uint64_t cookie, int err);

void
tm_init(const struct conf *c, const struct udp_sock *socks, int nsocks)
{
	tm_conf = c;
	tm_socks = socks;
	tm_nsocks = nsocks;
	send_set_fail_hook(tm_send_failed);
}

static void
tm_out_init(struct tmtab_out *out)
{
	out->to_acts = tm_acts;
	out->to_max = TM_ACTS;
	out->to_n = 0;
	out->to_scratch = tm_scratch;
	out->to_cap = sizeof(tm_scratch);
	out->to_used = 0;
}

static unsigned
tm_sock_index(const struct udp_sock *s)
{
	return (unsigned)(s - tm_socks);
}

static void
tm_addr_set(union tmtab_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET6)
		memcpy(&a->sin6, sa, sizeof(a->sin6));
	else if (sa->sa_family == AF_INET)
		memcpy(&a->sin, sa, sizeof(a->sin));
}

/* --- keys ------------------------------------------------------------ */

static uint64_t
tm_hash_str(uint64_t h, struct sip_str s)
{
	return fnv_field(h, s.s, s.len);
}

/*
 * The key of m's transaction as if its method were method: "INVITE"
 * finds the INVITE an ACK or CANCEL belongs to. 0 when m lacks what
 * the key is made of (sip_msg_check() lets no such request through).
 */
static uint64_t
tm_key(const struct sip_msg *m, const char *method)
{
	struct sip_via	 v;
	struct sip_addr	 from;
	struct sip_str	 callid;
	struct sip_cseq	 cseq;
	uint64_t	 h = FNV_INIT;
	unsigned char	 port[2];

	if (sip_msg_via_top(m, &v) != 0)
		return 0;
	if (v.sv_branch.len >= 7 && memcmp(v.sv_branch.s, "z9hG4bK", 7) == 0) {
		port[0] = (unsigned char)(v.sv_port >> 8);
		port[1] = (unsigned char)v.sv_port;
		h = tm_hash_str(h, v.sv_branch);
		h = tm_hash_str(h, v.sv_host);
		h = fnv_field(h, port, sizeof(port));
	} else {
		if (sip_msg_from(m, &from) != 0 ||
		    sip_msg_callid(m, &callid) != 0 ||
		    sip_msg_cseq(m, &cseq) != 0)
			return 0;
		h = tm_hash_str(h, m->sm_ruri);
		h = tm_hash_str(h, from.sa_tag);
		h = tm_hash_str(h, callid);
		h = fnv_field(h, &cseq.sc_num, sizeof(cseq.sc_num));
		h = tm_hash_str(h, v.sv_value);
	}
	h = fnv_field(h, method, strlen(method));
	return h != 0 ? h : 1;	/* 0 means "no key" */
}

/* The method part of the key: the method as written, ACK as INVITE. */
static const char *
tm_method_key(const struct sip_msg *m, char *buf, size_t cap)
{
	size_t	 n = m->sm_method_str.len < cap - 1 ? m->sm_method_str.len :
		    cap - 1;

	if (m->sm_method == SIP_METHOD_ACK)
		return "INVITE";
	memcpy(buf, m->sm_method_str.s, n);
	buf[n] = '\0';
	return buf;
}

/* --- what tmtab asks us to send ------------------------------------- */

/* Header line id of m, as it is, if m has one. */
static void
tm_put_line(struct strbuf *b, const struct sip_msg *m, int id)
{
	int	 i = m->sm_first[id];

	if (i != SIP_MSG_NO_HDR)
		strbuf_put(b, m->sm_hdrs[i].sh_line.s,
		    m->sm_hdrs[i].sh_line.len);
}

/*
 * The ACK (reply given: the To of a non-2xx final, §17.1.1.3) or the
 * CANCEL (reply NULL, §9.1) of the branch whose copy is copy: its
 * Request-URI, sipd's Via with the branch's branch, its Route, From,
 * Call-ID, CSeq number. Into tm_own; 0 when the copy is unusable.
 */
static size_t
tm_build_own(const char *copy, size_t copylen, const struct sip_msg *reply)
{
	struct sip_msg	 c;
	struct sip_via	 v;
	struct sip_cseq	 cs;
	const char	*method = reply != NULL ? "ACK" : "CANCEL";
	struct strbuf	 b;
	char		 line[64];
	size_t		 i;

	if (sip_msg_parse(&c, copy, copylen) != 0 ||
	    sip_msg_via_top(&c, &v) != 0 || sip_msg_cseq(&c, &cs) != 0)
		return 0;
	strbuf_init(&b, tm_own, sizeof(tm_own));
	strbuf_puts(&b, method);
	strbuf_puts(&b, " ");
	strbuf_put(&b, c.sm_ruri.s, c.sm_ruri.len);
	strbuf_puts(&b, " SIP/2.0\r\nVia: ");
	strbuf_put(&b, v.sv_value.s, v.sv_value.len);
	strbuf_puts(&b, "\r\n");
	for (i = 0; i < c.sm_nhdrs; i++)
		if (c.sm_hdrs[i].sh_id == SIP_HDR_ROUTE)
			strbuf_put(&b, c.sm_hdrs[i].sh_line.s,
			    c.sm_hdrs[i].sh_line.len);
	tm_put_line(&b, &c, SIP_HDR_FROM);
	tm_put_line(&b, reply != NULL ? reply : &c, SIP_HDR_TO);
	tm_put_line(&b, &c, SIP_HDR_CALL_ID);
	(void)snprintf(line, sizeof(line), "CSeq: %u %s\r\n",
	    (unsigned)cs.sc_num, method);
	strbuf_puts(&b, line);
	strbuf_puts(&b, "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n");
	return strbuf_full(&b) ? 0 : b.sb_len;
}

static void
tm_send_to(unsigned sock, const union tmtab_addr *dst, const char *msg,
    size_t len, const char *what, uint64_t cookie)
{
	if (sock >= (unsigned)tm_nsocks)
		return;
	send_datagram_cookie(&tm_socks[sock], msg, len, &dst->sa, what,
	    cookie);
}

/*
 * The cookie of a copy sent on branch b of ref (send.h): if the kernel
 * refuses it, tm_send_failed() learns which branch that was. The top
 * bit keeps it from 0.
 */
static uint64_t
tm_cookie(struct tmtab_ref ref, unsigned b)
{
	return 1ULL << 63 | (uint64_t)ref.tr_idx << 32 |
	    (uint64_t)(ref.tr_gen & TMTAB_GEN_MASK) << 8 | (b & 0xff);
}

/*
 * A reply sipd makes itself for the transaction ref: remembered first,
 * then sent, so that an ACK or a retransmission handled at once by
 * another worker finds it. false when it cannot be built or addressed.
 */
static bool
tm_reply_own(struct tmtab_ref ref, const struct udp_sock *in,
    const struct sip_msg *m, const struct sockaddr *src, int code,
    const char *reason, const char *extra)
{
	struct send_reply	 r;

	if (send_reply_build(m, src, code, reason, extra, &r) != 0)
		return false;
	(void)tmtab_reply(ref, code, r.sr_buf, r.sr_len, tmtab_now_ms());
	send_reply_queue(in, &r);
	return true;
}

/* A 408 of our own: every branch of the transaction timed out. */
static void
tm_local_408(const struct tmtab_act *a)
{
	struct sip_msg	 req;

	if (sip_msg_parse(&req, a->ta_msg, a->ta_len) != 0 ||
	    a->ta_sock >= (unsigned)tm_nsocks)
		return;
	(void)tm_reply_own(a->ta_ref, &tm_socks[a->ta_sock], &req,
	    &a->ta_dst.sa, 408, "Request Timeout", NULL);
}

/* The status code of a reply as stored ("SIP/2.0 NNN ..."); 0 if none. */
static int
tm_status_of(const char *msg, size_t len)
{
	int	 code = 0;
	size_t	 i;

	if (len < 12 || memcmp(msg, "SIP/2.0 ", 8) != 0)
		return 0;
	for (i = 8; i < 11; i++) {
		if (msg[i] < '0' || msg[i] > '9')
			return 0;
		code = code * 10 + msg[i] - '0';
	}
	return code;
}

/* Sends what tmtab asked for; reply is the reply being handled, or NULL. */
static void
tm_send(const struct tmtab_out *out, const struct sip_msg *reply)
{
	const struct tmtab_act	*a;
	size_t			 len;
	unsigned		 i;

	for (i = 0; i < out->to_n; i++) {
		a = &out->to_acts[i];
		if (a->ta_msg == NULL)
			continue;
		switch (a->ta_kind) {
		case TMTAB_SEND:
			tm_send_to(a->ta_sock, &a->ta_dst, a->ta_msg,
			    a->ta_len, a->ta_branch < 0 ? "reply" :
			    "retransmission", a->ta_branch < 0 ? 0 :
			    tm_cookie(a->ta_ref, (unsigned)a->ta_branch));
			if (a->ta_branch < 0) {
				stats_inc(STATS_FWD_REPLIES);
				stats_forwarded_reply(tm_status_of(a->ta_msg,
				    a->ta_len));
			} else
				stats_inc(STATS_FWD_REQUESTS);
			break;
		case TMTAB_SEND_ACK:
			if (reply == NULL ||
			    (len = tm_build_own(a->ta_msg, a->ta_len,
			    reply)) == 0)
				break;
			tm_send_to(a->ta_sock, &a->ta_dst, tm_own, len, "ACK",
			    0);
			break;
		case TMTAB_SEND_CANCEL:
			if ((len = tm_build_own(a->ta_msg, a->ta_len,
			    NULL)) == 0)
				break;
			tm_send_to(a->ta_sock, &a->ta_dst, tm_own, len,
			    "CANCEL", 0);
			break;
		case TMTAB_LOCAL_408:
			tm_local_408(a);
			break;
		}
	}
}

/* --- requests ------------------------------------------------------- */

/* A reply sipd makes itself; a final one that cannot go ends it all. */
static void
tm_reply_local(struct tmtab_ref ref, const struct udp_sock *in,
    const struct sip_msg *m, const struct sockaddr *src, int code,
    const char *reason, const char *extra)
{
	if (!tm_reply_own(ref, in, m, src, code, reason, extra) && code >= 200)
		tmtab_abandon(ref);
}

/* ".<6 hex cell><6 hex generation><1 hex branch>" and a NUL. */
static void
tm_suffix(struct tmtab_ref ref, unsigned branch, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	int			 i;

	out[0] = '.';
	for (i = 0; i < 6; i++) {
		out[6 - i] = hex[(ref.tr_idx >> (4 * i)) & 0xf];
		out[12 - i] = hex[(ref.tr_gen >> (4 * i)) & 0xf];
	}
	out[13] = hex[branch & 0xf];
	out[14] = '\0';
}

/* The copies of a new transaction: one per target, stored, then sent. */
static void
tm_branches(struct tmtab_ref ref, const struct udp_sock *in,
    const struct sip_msg *m, const struct sockaddr *src,
    const struct route_target *t)
{
	struct tmtab_branch	 br[TMTAB_BRANCHES];
	const struct udp_sock	*sock;
	const struct sockaddr	*dst;
	struct sip_str		 ruri;
	char			 suffix[TM_SUFFIX_LEN + 1];
	size_t			 used = 0, len;
	uint64_t		 fr, quiet = 0;
	unsigned		 nb = 0, i;
	int			 k, r, code = -1;

	for (k = 0; k <= t->rt_nmore && nb < TMTAB_BRANCHES; k++) {
		if (k == 0) {
			dst = (const struct sockaddr *)&t->rt_dst;
			ruri = t->rt_ruri;
		} else {
			dst = (const struct sockaddr *)&t->rt_more[k - 1].rb_dst;
			ruri = t->rt_more[k - 1].rb_ruri;
		}
		tm_suffix(ref, nb, suffix);
		r = proxy_build_request(in, m, src, t, dst, ruri, suffix,
		    tm_fwd + used, sizeof(tm_fwd) - used, &len, &sock);
		if (r != 0) {
			if (r > 0)
				code = r;
			continue;
		}
		br[nb].tb_sock = tm_sock_index(sock);
		tm_addr_set(&br[nb].tb_dst, dst);
		br[nb].tb_msg = tm_fwd + used;
		br[nb].tb_len = len;
		used += len;
		nb++;
	}
	if (nb == 0) {
		/*
		 * Every target refused (broadcast, multicast, unspecified):
		 * the caller still gets a final answer, never silence.
		 */
		if (code > 0)
			tm_reply_local(ref, in, m, src, code,
			    proxy_reason(code), NULL);
		else
			tm_reply_local(ref, in, m, src, 503,
			    "Service Unavailable - Destination Not Allowed",
			    NULL);
		return;
	}
	if (m->sm_method == SIP_METHOD_INVITE)
		tm_reply_local(ref, in, m, src, 100, "Trying", NULL);
	/*
	 * SPEC: a final within tm.fr_inv_timeout (INVITE) or tm.fr_timeout
	 * of forwarding. An INVITE no branch answers at all is given up at
	 * Timer B (64*T1) already: nobody is there to ring.
	 */
	if (m->sm_method == SIP_METHOD_INVITE) {
		fr = 1000ULL * tm_conf->c_tm_fr_inv_timeout;
		quiet = TMTAB_B_MS;
	} else
		fr = 1000ULL * tm_conf->c_tm_fr_timeout;
	(void)tmtab_branches(ref, br, nb, fr, quiet, tmtab_now_ms());
	for (i = 0; i < nb; i++) {
		send_datagram_cookie(&tm_socks[br[i].tb_sock], br[i].tb_msg,
		    br[i].tb_len, &br[i].tb_dst.sa, "forwarded request",
		    tm_cookie(ref, i));
		stats_inc(STATS_FWD_REQUESTS);
	}
	log_debug("%.*s forwarded %s (%u branches)", (int)m->sm_method_str.len,
	    m->sm_method_str.s, t->rt_why, nb);
}

uint64_t
tm_request_key(const struct sip_msg *m)
{
	char	 mk[32];

	return tm_key(m, tm_method_key(m, mk, sizeof(mk)));
}

/* The facts of m's new transaction; false when it cannot be answered. */
static bool
tm_new(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, uint64_t key, bool budget,
    enum stats_path path, struct tmtab_new *n)
{
	struct sockaddr_storage	 up;

	n->tn_key = key;
	if (key == 0 || sip_reply_dest(m, src, 0, &up) != 0)
		return false;
	n->tn_invite = m->sm_method == SIP_METHOD_INVITE;
	n->tn_sock = tm_sock_index(in);
	tm_addr_set(&n->tn_up, (struct sockaddr *)&up);
	tm_addr_set(&n->tn_src, src);
	n->tn_req = m->sm_buf;
	n->tn_reqlen = m->sm_len;
	n->tn_budget = budget;
	n->tn_path = (uint8_t)path;
	return true;
}

/* A source over its budget: one warning per second at most, with its IP. */
static void
tm_warn_budget(const struct sockaddr *src)
{
	char		 ip[INET6_ADDRSTRLEN];
	uint16_t	 port;

	if (!addr_text(src, ip, &port))
		(void)snprintf(ip, sizeof(ip), "?");
	log_warnx_limited(&tm_budget_limit, time(NULL), "transaction table: "
	    "%s holds its per-source budget (1/%d of the table); new "
	    "requests from it answered 503", ip, TMTAB_SRC_SHARE);
}

/*
 * Opens m's transaction. false when the caller is done: a
 * retransmission that raced us (answered from the cell), a full table
 * (503), or a request that cannot be answered (dropped). path: the
 * call it opens (STATS_PATH_NONE: not a call), counted when it ends.
 */
static bool
tm_open(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, uint64_t key, bool budget,
    enum stats_path path, struct tmtab_ref *ret)
{
	struct tmtab_new	 n;
	struct tmtab_out	 out;
	int			 r;

	if (!tm_new(in, m, src, key, budget, path, &n)) {
		stats_inc(STATS_DROP_REQUESTS);
		return false;
	}
	tm_out_init(&out);
	r = tmtab_begin(&n, tmtab_now_ms(), ret, &out);
	if (r == TMTAB_E_BUDGET) {
		stats_inc(STATS_TM_SRC_REFUSED);
		tm_warn_budget(src);
		(void)send_reply(in, m, src, 503, "Service Unavailable", NULL);
		stats_call_end(path, 503, false);
		return false;
	}
	if (r != 0) {
		log_warnx_limited(&tm_warn_limit, time(NULL),
		    "transaction table: %s; %.*s answered 503",
		    r == TMTAB_E_FULL ? "full" : "error",
		    (int)m->sm_method_str.len, m->sm_method_str.s);
		(void)send_reply(in, m, src, 503, "Service Unavailable", NULL);
		stats_call_end(path, 503, false);
		return false;
	}
	if (ret->tr_idx == UINT32_MAX) {
		tm_send(&out, NULL);
		return false;
	}
	stats_inc(STATS_TM_CREATED);
	return true;
}

bool
tm_retransmission(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, uint64_t key)
{
	struct sockaddr_storage	 dst, up;
	struct tmtab_out	 out;
	socklen_t		 dstlen;
	size_t			 len;
	int			 r;

	if (key == 0)
		return false;
	tm_out_init(&out);
	if (tmtab_find(key, &out) == 0) {
		tm_send(&out, NULL);
		return true;
	}
	r = replycache_lookup(key, time(NULL), tm_slot, sizeof(tm_slot), &len,
	    &dst, &dstlen);
	if (r != 0)
		return false;
	/* a copy from elsewhere is not a retransmission: a new request */
	if (sip_reply_dest(m, src, 0, &up) != 0 ||
	    addr_len((struct sockaddr *)&up) != dstlen ||
	    memcmp(&up, &dst, dstlen) != 0)
		return false;
	log_debug("tm: %.*s: retransmission, reply sent again",
	    (int)m->sm_method_str.len, m->sm_method_str.s);
	send_datagram(in, tm_slot, len, (struct sockaddr *)&dst, "reply");
	return true;
}

void
tm_reply(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, int code, const char *reason,
    const char *extra, uint64_t remember)
{
	struct send_reply	 r;

	if (send_reply_build(m, src, code, reason, extra, &r) != 0)
		return;
	if (remember != 0 && code >= 200 &&
	    m->sm_method != SIP_METHOD_INVITE)
		/* too big for a slot: a retransmission is decided afresh */
		(void)replycache_store(remember, time(NULL), r.sr_buf, r.sr_len,
		    (struct sockaddr *)&r.sr_dst, r.sr_dstlen);
	send_reply_queue(in, &r);
}

void
tm_forward(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, uint64_t key, const struct route_target *t)
{
	struct tmtab_ref	 ref;

	/* the gateway carries everybody's calls: not one source among many */
	if (tm_open(in, m, src, key, !t->rt_from_gw, t->rt_path, &ref))
		tm_branches(ref, in, m, src, t);
}

void
tm_cancel(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, uint64_t key)
{
	struct tmtab_ref	 ref;
	struct tmtab_out	 out;
	uint64_t		 invite = tm_key(m, "INVITE");
	int			 r;

	tm_out_init(&out);
	r = invite == 0 ? TMTAB_E_NOTFOUND :
	    tmtab_cancel(invite, tmtab_now_ms(), &out);
	if (r == TMTAB_E_NOTFOUND || r < 0) {
		/* nothing to cancel: answered without a cell */
		(void)send_reply(in, m, src, 481,
		    "Call/Transaction Does Not Exist", NULL);
		return;
	}
	/* its own transaction, for the 200 to answer retransmissions */
	if (tm_open(in, m, src, key, true, STATS_PATH_NONE, &ref))
		tm_reply_local(ref, in, m, src, 200, "canceling", NULL);
	tm_send(&out, NULL);
}

bool
tm_ack(const struct sip_msg *m)
{
	uint64_t	 key = tm_key(m, "INVITE");

	return key != 0 && tmtab_ack(key, tmtab_now_ms()) == 0;
}

/* --- replies -------------------------------------------------------- */

static int
tm_hex(const char *s, size_t n, uint32_t *ret)
{
	uint32_t	 v = 0;
	size_t		 i;
	int		 d;

	for (i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*ret = v;
	return 0;
}

/*
 * A reply with sipd's Via alone: the reply to a CANCEL sipd made, or a
 * reply whose sender lost the caller's Via. proxy.c cannot check its
 * hash against a next Via; its branch still names the cell.
 */
static bool
tm_lone_via(const struct sip_msg *m, struct sip_via *ret_top)
{
	struct sip_iter	 it;
	struct sip_via	 more;

	sip_iter_init(&it, m, SIP_HDR_VIA);
	return sip_via_next(&it, ret_top) == 1 &&
	    addr_is_myself(ret_top->sv_host, ret_top->sv_port) &&
	    ret_top->sv_branch.len == PROXY_BRANCH_LEN + TM_SUFFIX_LEN &&
	    memcmp(ret_top->sv_branch.s, PROXY_BRANCH_MARK,
	    sizeof(PROXY_BRANCH_MARK) - 1) == 0 &&
	    sip_via_next(&it, &more) == 0;
}

/* The cell and branch named by sipd's branch parameter in top. */
static bool
tm_branch_ref(const struct sip_via *top, struct tmtab_ref *ret_ref,
    uint32_t *ret_b)
{
	const char	*sfx = top->sv_branch.s + PROXY_BRANCH_LEN;

	return top->sv_branch.len == PROXY_BRANCH_LEN + TM_SUFFIX_LEN &&
	    sfx[0] == '.' && tm_hex(sfx + 1, 6, &ret_ref->tr_idx) == 0 &&
	    tm_hex(sfx + 7, 6, &ret_ref->tr_gen) == 0 &&
	    tm_hex(sfx + 13, 1, ret_b) == 0;
}

/*
 * The stored request of ref, parsed into *req (bytes in tm_scratch),
 * and where it came from. false when the transaction is gone.
 */
static bool
tm_stored_request(struct tmtab_ref ref, struct sip_msg *req,
    union tmtab_addr *ret_src)
{
	struct tmtab_out	 out;
	const struct tmtab_act	*a;

	tm_out_init(&out);
	if (tmtab_request(ref, &out) != 0 || out.to_n != 1 ||
	    (a = &out.to_acts[0])->ta_msg == NULL ||
	    sip_msg_parse(req, a->ta_msg, a->ta_len) != 0)
		return false;
	*ret_src = a->ta_dst;
	return true;
}

/*
 * A reply to a forwarded request that lost the caller's Via (a gateway's
 * 487 after a CANCEL, seen in the field): it still ends the transaction,
 * as Kamailio's does. The stored request proves the branch (the hash
 * of its top Via, Call-ID and CSeq is the one in sipd's branch) and
 * gives what the reply upstream is rebuilt from: code and reason from
 * the reply, the rest as sipd's own replies. Into tm_fwd; 0 when not.
 */
static size_t
tm_rebuild_reply(struct tmtab_ref ref, const struct sip_msg *m,
    const struct sip_via *top)
{
	struct sip_msg		 req;
	union tmtab_addr	 src;
	struct sip_via		 via;
	struct sip_str		 callid, rcallid;
	struct sip_cseq		 cseq, rcseq;
	char			 branch[PROXY_BRANCH_LEN + 1];
	char			 reason[128];
	size_t			 n;

	if (!tm_stored_request(ref, &req, &src) ||
	    sip_msg_via_top(&req, &via) != 0 ||
	    sip_msg_callid(&req, &callid) != 0 ||
	    sip_msg_cseq(&req, &cseq) != 0 ||
	    sip_msg_callid(m, &rcallid) != 0 || sip_msg_cseq(m, &rcseq) != 0)
		return 0;
	proxy_branch(&via, callid, cseq.sc_num, branch);
	if (memcmp(branch, top->sv_branch.s, PROXY_BRANCH_LEN) != 0 ||
	    callid.len != rcallid.len ||
	    memcmp(callid.s, rcallid.s, callid.len) != 0 ||
	    cseq.sc_num != rcseq.sc_num || cseq.sc_method != rcseq.sc_method)
		return 0;
	n = m->sm_reason.len < sizeof(reason) ? m->sm_reason.len :
	    sizeof(reason) - 1;
	memcpy(reason, m->sm_reason.s, n);
	reason[n] = '\0';
	return sip_reply_build(tm_fwd, sizeof(tm_fwd), &req,
	    (int)m->sm_status, reason, &src.sa, NULL);
}

/*
 * send.c could not send a copy (the kernel refused it: no route, a
 * source that cannot reach it): the branch counts as answered 503, so
 * the caller hears at once (§16.7 still picks among the branches)
 * instead of waiting for the transaction to time out (issue 10).
 */
static void
tm_send_failed(uint64_t cookie, int err)
{
	struct tmtab_ref	 ref;
	struct tmtab_out	 out;
	struct sip_msg		 req;
	union tmtab_addr	 src;
	unsigned		 b = (unsigned)(cookie & 0xff);
	size_t			 len;

	ref.tr_idx = (uint32_t)(cookie >> 32) & 0x7fffffffU;
	ref.tr_gen = (uint32_t)(cookie >> 8) & TMTAB_GEN_MASK;
	if (!tm_stored_request(ref, &req, &src) ||
	    (len = sip_reply_build(tm_fwd, sizeof(tm_fwd), &req, 503,
	    "Service Unavailable", &src.sa, NULL)) == 0)
		return;
	log_warnx_limited(&tm_warn_limit, time(NULL), "%.*s branch %u not "
	    "sent (%s): answered 503", (int)req.sm_method_str.len,
	    req.sm_method_str.s, b, strerror(err));
	tm_out_init(&out);
	if (tmtab_response(ref, (int)b, 503, false, tm_fwd, len,
	    tmtab_now_ms(), &out) == 0)
		tm_send(&out, NULL);
}

void
tm_response(const struct udp_sock *in, const struct sip_msg *m)
{
	struct sip_via		 top, next;
	struct sip_cseq		 cs;
	struct tmtab_ref	 ref;
	struct tmtab_out	 out;
	uint32_t		 b;
	size_t			 len;
	int			 r;
	bool			 lone;

	if (sip_msg_cseq(m, &cs) != 0)
		goto stray;
	r = proxy_response_ours(m, &top, &next);
	lone = r < 0 && tm_lone_via(m, &top);
	if (r <= 0 && !lone) {
		/* stateless (an ACK's branch) or not ours: by Via, or dropped */
		proxy_forward_response(in, m);
		return;
	}
	if (!tm_branch_ref(&top, &ref, &b))
		goto stray;
	len = 0;
	if (cs.sc_method == SIP_METHOD_CANCEL)
		;	/* to a CANCEL sipd sent: nothing to pass on */
	else if (lone)
		len = tm_rebuild_reply(ref, m, &top);
	else
		len = proxy_strip_response(m, &top, &next, tm_fwd,
		    sizeof(tm_fwd));
	if (len == 0 && cs.sc_method != SIP_METHOD_CANCEL)
		goto stray;
	tm_out_init(&out);
	r = tmtab_response(ref, (int)b, (int)m->sm_status,
	    cs.sc_method == SIP_METHOD_CANCEL, tm_fwd, len, tmtab_now_ms(),
	    &out);
	if (r == 0) {
		tm_send(&out, m);
		return;
	}
	/* the transaction is gone: a late 2xx still goes up (§16.7) */
	if (m->sm_status >= 200 && m->sm_status < 300 &&
	    cs.sc_method == SIP_METHOD_INVITE) {
		proxy_forward_response(in, m);
		return;
	}
stray:
	log_debug("tm: %u reply dropped: no transaction", m->sm_status);
	stats_inc(STATS_DROP_REPLIES);
}

/* --- timers (worker 1) ---------------------------------------------- */

void
tm_timer(void)
{
	struct tmtab_out	 out;
	int			 round;

	for (round = 0; round < TM_TIMER_ROUNDS; round++) {
		tm_out_init(&out);
		tmtab_timers(tmtab_now_ms(), &out);
		tm_send(&out, NULL);
		/* a full batch: more may be due */
		if (out.to_n < out.to_max &&
		    out.to_used + TMTAB_MSG_MAX < out.to_cap)
			break;
	}
}
