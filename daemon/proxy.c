/*
 * proxy: building forwarded requests and responses (RFC 3261 §16.6,
 * §16.11, §18.2.2; RFC 3581), run by every UDP worker. tm.c stores the
 * copies of requests it forwards statefully; the ACK of a 2xx and
 * responses without a transaction go from here statelessly. Everything
 * leaves through the send stage (send.c).
 *
 * A forwarded request is the datagram as it came, copied once into the
 * worker's output buffer with these edits, everything else byte-exact:
 *  - the Request-URI replaced when route.c chose a new one;
 *  - sipd's Via on top, its branch a hash of what identifies the
 *    incoming transaction (proxy_branch()), so that a response can be
 *    checked without state, followed by tm.c's suffix naming the cell
 *    and branch when the copy belongs to a transaction;
 *  - Record-Route <sip:IP:PORT;lr> on dialog-forming requests, two of
 *    them when the request leaves by another socket than it came in by
 *    (IPv4 <-> IPv6), each naming the address the neighbour reaches;
 *  - Max-Forwards decremented, or "Max-Forwards: 70" when absent (§16.6
 *    step 3: the added value is not decremented);
 *  - the received top Via with received/rport (RFC 3581);
 *  - the header values route.c cut (sipd's own Route, credentials);
 *  - Content-Length untouched: the body is not changed.
 *
 * sipd's address in Via and Record-Route is the listen socket's; for a
 * wildcard socket (0.0.0.0, ::) it is the source address the kernel
 * picks toward the next hop, found once per destination IP with a
 * connected UDP probe socket (getsockname) and cached.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "fnv.h"
#include "log.h"
#include "proxy.h"
#include "send.h"
#include "sip_lex.h"
#include "sip_reply.h"
#include "stats.h"
#include "strbuf.h"

/* UDP payload limits of IPv4 and IPv6 (no jumbograms). */
#define PROXY_MAX_V4		65507
#define PROXY_MAX_V6		65527
#define PROXY_ADDR_MAX		(INET6_ADDRSTRLEN + 8)	/* [IP]:PORT */
#define PROXY_PROBE_CACHE	16


/* A listen socket and, unless it is a wildcard, its "IP:PORT" text. */
struct proxy_sock {
	const struct udp_sock	*ps_sock;
	bool			 ps_wildcard;
	uint16_t		 ps_port;
	char			 ps_addr[PROXY_ADDR_MAX];
};

/* The local address toward one destination IP, for wildcard sockets. */
struct proxy_probe {
	int		 pp_family;	/* 0 = empty */
	unsigned char	 pp_dst[16];
	unsigned char	 pp_local[16];
};

static struct proxy_sock	 proxy_socks[CONF_MAX_LISTEN];
static int			 proxy_nsocks;
static struct proxy_probe	 proxy_probes[PROXY_PROBE_CACHE];
static unsigned			 proxy_probe_next;
static char			 proxy_out[PROXY_MAX_V6];

/* "IP:PORT", IPv6 in brackets. */
static void
proxy_addr_text(int family, const void *ip, uint16_t port, char *out,
    size_t cap)
{
	char	 t[INET6_ADDRSTRLEN];

	if (inet_ntop(family, ip, t, sizeof(t)) == NULL)
		(void)snprintf(t, sizeof(t), "0.0.0.0");
	(void)snprintf(out, cap, family == AF_INET6 ? "[%s]:%u" : "%s:%u", t,
	    (unsigned)port);
}

void
proxy_init(const struct conf *c, const struct udp_sock *socks, int nsocks)
{
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;
	struct proxy_sock		*ps;
	int				 i;

	(void)c;
	proxy_nsocks = 0;
	memset(proxy_probes, 0, sizeof(proxy_probes));
	for (i = 0; i < nsocks && i < CONF_MAX_LISTEN; i++) {
		ps = &proxy_socks[proxy_nsocks++];
		ps->ps_sock = &socks[i];
		ps->ps_addr[0] = '\0';
		if (socks[i].us_addr.ss_family == AF_INET) {
			s4 = (const struct sockaddr_in *)(const void *)
			    &socks[i].us_addr;
			ps->ps_port = ntohs(s4->sin_port);
			ps->ps_wildcard = s4->sin_addr.s_addr ==
			    htonl(INADDR_ANY);
			if (!ps->ps_wildcard)
				proxy_addr_text(AF_INET, &s4->sin_addr,
				    ps->ps_port, ps->ps_addr,
				    sizeof(ps->ps_addr));
		} else {
			s6 = (const struct sockaddr_in6 *)(const void *)
			    &socks[i].us_addr;
			ps->ps_port = ntohs(s6->sin6_port);
			ps->ps_wildcard =
			    IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
			if (!ps->ps_wildcard)
				proxy_addr_text(AF_INET6, &s6->sin6_addr,
				    ps->ps_port, ps->ps_addr,
				    sizeof(ps->ps_addr));
		}
	}
}

static const struct proxy_sock *
proxy_sock_of(const struct udp_sock *us)
{
	int	 i;

	for (i = 0; i < proxy_nsocks; i++)
		if (proxy_socks[i].ps_sock == us)
			return &proxy_socks[i];
	return NULL;
}

/* The socket to send to family from: in when it fits, else the first. */
static const struct proxy_sock *
proxy_sock_for(const struct udp_sock *in, int family)
{
	int	 i;

	if (in->us_addr.ss_family == family)
		return proxy_sock_of(in);
	for (i = 0; i < proxy_nsocks; i++)
		if (proxy_socks[i].ps_sock->us_addr.ss_family == family)
			return &proxy_socks[i];
	return NULL;
}

/*
 * sipd's "IP:PORT" as seen from peer, through socket ps. For a wildcard
 * socket: the source address a connected probe socket gets toward
 * peer, cached by peer IP. false when it cannot be found.
 */
static bool
proxy_local(const struct proxy_sock *ps, const struct sockaddr *peer,
    char *out, size_t cap)
{
	struct proxy_probe	*pp;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss), plen;
	const void		*dst;
	size_t			 alen;
	unsigned		 i;
	int			 fd, family = peer->sa_family;

	if (!ps->ps_wildcard) {
		alen = strlen(ps->ps_addr);
		if (alen >= cap)
			return false;
		memcpy(out, ps->ps_addr, alen + 1);
		return true;
	}
	if (family == AF_INET) {
		dst = &((const struct sockaddr_in *)(const void *)peer)->
		    sin_addr;
		alen = 4;
		plen = sizeof(struct sockaddr_in);
	} else {
		dst = &((const struct sockaddr_in6 *)(const void *)peer)->
		    sin6_addr;
		alen = 16;
		plen = sizeof(struct sockaddr_in6);
	}
	for (i = 0; i < PROXY_PROBE_CACHE; i++) {
		pp = &proxy_probes[i];
		if (pp->pp_family == family &&
		    memcmp(pp->pp_dst, dst, alen) == 0) {
			proxy_addr_text(family, pp->pp_local, ps->ps_port, out,
			    cap);
			return true;
		}
	}
	/* connect() on UDP sends nothing: it only picks the route. */
	if ((fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	if (connect(fd, peer, plen) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		close(fd);
		return false;
	}
	close(fd);
	pp = &proxy_probes[proxy_probe_next++ % PROXY_PROBE_CACHE];
	pp->pp_family = family;
	memcpy(pp->pp_dst, dst, alen);
	if (family == AF_INET)
		memcpy(pp->pp_local, &((struct sockaddr_in *)(void *)&ss)->
		    sin_addr, 4);
	else
		memcpy(pp->pp_local, &((struct sockaddr_in6 *)(void *)&ss)->
		    sin6_addr, 16);
	proxy_addr_text(family, pp->pp_local, ps->ps_port, out, cap);
	return true;
}

void
proxy_branch(const struct sip_via *via, struct sip_str callid,
    uint32_t cseq, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	const size_t		 mark = sizeof(PROXY_BRANCH_MARK) - 1;
	uint64_t		 h = FNV_INIT;
	unsigned char		 num[4], port[2];
	int			 i;

	num[0] = (unsigned char)(cseq >> 24);
	num[1] = (unsigned char)(cseq >> 16);
	num[2] = (unsigned char)(cseq >> 8);
	num[3] = (unsigned char)cseq;
	port[0] = (unsigned char)(via->sv_port >> 8);
	port[1] = (unsigned char)via->sv_port;
	h = fnv_field(h, via->sv_branch.s, via->sv_branch.len);
	h = fnv_field(h, via->sv_host.s, via->sv_host.len);
	h = fnv_field(h, port, sizeof(port));
	h = fnv_field(h, callid.s, callid.len);
	h = fnv_field(h, num, sizeof(num));
	memcpy(out, PROXY_BRANCH_MARK, mark);
	for (i = PROXY_BRANCH_HEX - 1; i >= 0; i--) {
		out[mark + (size_t)i] = hex[h & 0xf];
		h >>= 4;
	}
	out[PROXY_BRANCH_LEN] = '\0';
}

/* Where the line after the start line begins. */
static const char *
proxy_after_start(const struct sip_msg *m)
{
	const char	*p = m->sm_start.s + m->sm_start.len;
	const char	*end = m->sm_buf + m->sm_len;

	if (p < end && *p == '\r')
		p++;
	if (p < end && *p == '\n')
		p++;
	return p;
}

/*
 * One header line with route.c's cuts applied. false when the line
 * goes whole.
 */
static bool
proxy_put_cut_line(struct strbuf *b, const struct sip_hdr *h,
    const struct route_cut **cuts, int n)
{
	const struct route_cut	*tmp;
	const char		*p = h->sh_line.s;
	int			 i, j;

	for (i = 0; i < n; i++)
		if (cuts[i]->rc_whole)
			return false;
	/* at most ROUTE_CUTS_MAX: sort by position */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && cuts[j]->rc_span.s <
		    cuts[j - 1]->rc_span.s; j--) {
			tmp = cuts[j];
			cuts[j] = cuts[j - 1];
			cuts[j - 1] = tmp;
		}
	for (i = 0; i < n; i++) {
		strbuf_put_span(b, p, cuts[i]->rc_span.s);
		p = cuts[i]->rc_span.s + cuts[i]->rc_span.len;
	}
	strbuf_put_span(b, p, h->sh_line.s + h->sh_line.len);
	return true;
}

int
proxy_build_request(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, const struct route_target *t,
    const struct sockaddr *dst, struct sip_str ruri, const char *suffix,
    char *buf, size_t cap, size_t *ret_len,
    const struct udp_sock **ret_sock)
{
	const struct proxy_sock	*out, *ins;
	const struct route_cut	*cuts[ROUTE_CUTS_MAX];
	const struct sip_hdr	*h;
	const char		*cursor, *start_end, *top_end;
	struct strbuf	 b;
	struct sip_via		 via;
	struct sip_str		 callid;
	struct sip_cseq		 cseq;
	char			 branch[PROXY_BRANCH_LEN + 1];
	char			 local[PROXY_ADDR_MAX], inlocal[PROXY_ADDR_MAX];
	char			 line[64];
	unsigned		 mf = 0;
	size_t			 i, n;
	int			 mfrc, k, ncut;

	if (!addr_dest_ok(dst)) {
		stats_inc(STATS_DROP_REQUESTS);
		return -1;
	}
	if ((out = proxy_sock_for(in, dst->sa_family)) == NULL)
		return 503;
	mfrc = sip_msg_max_forwards(m, &mf);
	if (mfrc != 0 && mfrc != -ENOENT)
		return 400;
	if (sip_msg_via_top(m, &via) != 0 || sip_msg_callid(m, &callid) != 0 ||
	    sip_msg_cseq(m, &cseq) != 0)
		return 400;	/* sip_msg_check() made sure of them */
	proxy_branch(&via, callid, cseq.sc_num, branch);
	if (!proxy_local(out, dst, local, sizeof(local)))
		return 503;

	strbuf_init(&b, buf, dst->sa_family == AF_INET6 ? PROXY_MAX_V6 :
	    PROXY_MAX_V4);
	if (b.sb_cap > cap)
		b.sb_cap = cap;

	/* Request-Line, with the new Request-URI */
	start_end = m->sm_start.s + m->sm_start.len;
	if (ruri.s != NULL) {
		strbuf_put_span(&b, m->sm_start.s, m->sm_ruri.s);
		strbuf_put(&b, ruri.s, ruri.len);
		strbuf_put_span(&b, m->sm_ruri.s + m->sm_ruri.len, start_end);
	} else
		strbuf_put_span(&b, m->sm_start.s, start_end);
	strbuf_puts(&b, "\r\nVia: SIP/2.0/UDP ");
	strbuf_puts(&b, local);
	strbuf_puts(&b, ";branch=");
	strbuf_puts(&b, branch);
	if (suffix != NULL)
		strbuf_puts(&b, suffix);
	strbuf_puts(&b, "\r\n");
	if (t->rt_record_route) {
		strbuf_puts(&b, "Record-Route: <sip:");
		strbuf_puts(&b, local);
		strbuf_puts(&b, ";lr>\r\n");
		ins = proxy_sock_of(in);
		if (ins != NULL && ins != out && proxy_local(ins, src, inlocal,
		    sizeof(inlocal))) {
			strbuf_puts(&b, "Record-Route: <sip:");
			strbuf_puts(&b, inlocal);
			strbuf_puts(&b, ";lr>\r\n");
		}
	}
	if (mfrc == -ENOENT)
		strbuf_puts(&b, "Max-Forwards: 70\r\n");

	/* header lines: untouched ones are copied in runs */
	cursor = proxy_after_start(m);
	for (i = 0; i < m->sm_nhdrs; i++) {
		h = &m->sm_hdrs[i];
		ncut = 0;
		for (k = 0; k < t->rt_ncuts; k++)
			if ((size_t)t->rt_cuts[k].rc_hdr == i)
				cuts[ncut++] = &t->rt_cuts[k];
		if ((int)i != via.sv_hdr && ncut == 0 &&
		    (mfrc != 0 || i != m->sm_first[SIP_HDR_MAX_FORWARDS]))
			continue;
		strbuf_put_span(&b, cursor, h->sh_line.s);
		cursor = h->sh_line.s + h->sh_line.len;
		if ((int)i == via.sv_hdr) {
			strbuf_puts(&b, "Via: ");
			n = strbuf_full(&b) ? 0 : sip_reply_top_via(b.sb_p +
			    b.sb_len, b.sb_cap - b.sb_len, m, src);
			if (n == 0)
				b.sb_full = true;
			b.sb_len += n;
			top_end = via.sv_value.s + via.sv_value.len;
			strbuf_put_span(&b, top_end,
			    h->sh_value.s + h->sh_value.len);
			strbuf_puts(&b, "\r\n");
		} else if (ncut == 0) {
			strbuf_puts(&b, "Max-Forwards: ");
			strbuf_put(&b, line, sip_lex_utoa(mf - 1, line));
			strbuf_puts(&b, "\r\n");
		} else
			(void)proxy_put_cut_line(&b, h, cuts, ncut);
	}
	strbuf_put_span(&b, cursor, m->sm_buf + m->sm_len);
	if (strbuf_full(&b))
		return 513;
	*ret_len = b.sb_len;
	*ret_sock = out->ps_sock;
	return 0;
}

const char *
proxy_reason(int code)
{
	switch (code) {
	case 400:
		return "Bad Request - Malformed Max-Forwards";
	case 513:
		return "Message Too Large";
	default:
		return "Service Unavailable";
	}
}

int
proxy_forward_request(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, const struct route_target *t)
{
	const struct sockaddr	*dst = (const struct sockaddr *)&t->rt_dst;
	const struct udp_sock	*out;
	size_t			 len;
	int			 r;

	r = proxy_build_request(in, m, src, t, dst, t->rt_ruri, NULL,
	    proxy_out, sizeof(proxy_out), &len, &out);
	if (r != 0)
		return r;
	send_datagram(out, proxy_out, len, dst, "forwarded request");
	stats_inc(STATS_FWD_REQUESTS);
	return 0;
}

int
proxy_response_ours(const struct sip_msg *m, struct sip_via *ret_top,
    struct sip_via *ret_next)
{
	struct sip_iter		 it;
	struct sip_str		 callid;
	struct sip_cseq		 cseq;
	char			 branch[PROXY_BRANCH_LEN + 1];

	sip_iter_init(&it, m, SIP_HDR_VIA);
	if (sip_via_next(&it, ret_top) != 1 ||
	    !addr_is_myself(ret_top->sv_host, ret_top->sv_port) ||
	    ret_top->sv_branch.len < PROXY_BRANCH_LEN ||
	    sip_via_next(&it, ret_next) != 1 ||
	    sip_msg_callid(m, &callid) != 0 || sip_msg_cseq(m, &cseq) != 0)
		return -1;
	proxy_branch(ret_next, callid, cseq.sc_num, branch);
	if (memcmp(branch, ret_top->sv_branch.s, PROXY_BRANCH_LEN) != 0)
		return -1;
	return ret_top->sv_branch.len == PROXY_BRANCH_LEN ? 0 : 1;
}

size_t
proxy_strip_response(const struct sip_msg *m, const struct sip_via *top,
    const struct sip_via *next, char *buf, size_t cap)
{
	const struct sip_hdr	*h = &m->sm_hdrs[top->sv_hdr];
	struct strbuf	 b;

	strbuf_init(&b, buf, cap);
	strbuf_put_span(&b, m->sm_start.s, h->sh_line.s);
	if (next->sv_hdr == top->sv_hdr) {
		/* "Via: ours, next, ...": the line stays without ours */
		strbuf_puts(&b, "Via: ");
		strbuf_put_span(&b, next->sv_value.s,
		    h->sh_line.s + h->sh_line.len);
	}
	strbuf_put_span(&b, h->sh_line.s + h->sh_line.len,
	    m->sm_buf + m->sm_len);
	return strbuf_full(&b) ? 0 : b.sb_len;
}

/* The next hop of a response: §18.2.2 with RFC 3581. */
static bool
proxy_response_dest(const struct sip_via *v, struct sockaddr_storage *ret,
    socklen_t *ret_len)
{
	struct sip_str	 host = v->sv_received.len > 0 ? v->sv_received :
			    v->sv_host;
	uint64_t	 port = v->sv_port;
	size_t		 i;

	if (v->sv_has_rport && v->sv_rport.len > 0) {
		port = 0;
		for (i = 0; i < v->sv_rport.len; i++) {
			if (v->sv_rport.s[i] < '0' || v->sv_rport.s[i] > '9')
				return false;
			port = port * 10 + (uint64_t)(v->sv_rport.s[i] - '0');
			if (port > 65535)
				return false;
		}
	}
	return addr_from_host(host, (uint16_t)port, ret, ret_len);
}

void
proxy_forward_response(const struct udp_sock *in, const struct sip_msg *m)
{
	const struct proxy_sock	*out;
	struct sockaddr_storage	 dst;
	socklen_t		 dstlen;
	struct sip_via		 top, next;
	size_t			 len;
	const char		*why = "not for a branch of sipd";

	if (proxy_response_ours(m, &top, &next) < 0)
		goto stray;
	why = "no usable next Via";
	if (!proxy_response_dest(&next, &dst, &dstlen) ||
	    (out = proxy_sock_for(in, dst.ss_family)) == NULL)
		goto stray;
	why = "next Via is a broadcast or multicast address";
	if (!addr_dest_ok((struct sockaddr *)&dst))
		goto stray;
	why = "too large";
	len = proxy_strip_response(m, &top, &next, proxy_out,
	    dst.ss_family == AF_INET6 ? PROXY_MAX_V6 : PROXY_MAX_V4);
	if (len == 0)
		goto stray;
	send_datagram(out->ps_sock, proxy_out, len, (struct sockaddr *)&dst,
	    "forwarded reply");
	stats_inc(STATS_FWD_REPLIES);
	stats_forwarded_reply((int)m->sm_status);
	return;
stray:
	log_debug("proxy: %u reply dropped: %s", m->sm_status, why);
	stats_inc(STATS_DROP_REPLIES);
}
