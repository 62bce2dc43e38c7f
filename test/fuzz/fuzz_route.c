/*
 * fuzz_route: libFuzzer target for the routing decider on a real
 * location table (fuzz_decider.h): a sequence of datagrams from chosen
 * sources; REGISTERs go through the registrar (so that later requests
 * find bindings, and the same checks as fuzz_registrar apply), every
 * other request dispatch.c would hand to route_request() goes there.
 * Checked on each verdict: one of forward, reply, drop; a reply code
 * the policy may give (never a 500), well formed, a 407 with a
 * challenge and never for the gateway or a trusted source; no
 * out-of-dialog request of a stranger forwarded without credentials;
 * a forward has an IPv4/IPv6 destination with a port, a Request-URI
 * that parses, at most ROUTE_BRANCHES_MAX targets, and cuts that lie
 * inside their header lines without overlapping. Built for libFuzzer
 * with -Dfuzzing=true, and replayed by fuzz_main.c.
 */
#include "fuzz_decider.h"
#include "sip_uri.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fr_check_dst(const struct sockaddr_storage *dst, socklen_t len)
{
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;

	if (dst->ss_family == AF_INET) {
		s4 = (const struct sockaddr_in *)(const void *)dst;
		FD_CHECK(len == sizeof(*s4) && s4->sin_port != 0,
		    "IPv4 destination");
		return;
	}
	s6 = (const struct sockaddr_in6 *)(const void *)dst;
	FD_CHECK(dst->ss_family == AF_INET6 && len == sizeof(*s6) &&
	    s6->sin6_port != 0, "destination family %d, length %u",
	    dst->ss_family, (unsigned)len);
}

static void
fr_check_ruri(struct sip_str ruri, const char *buf)
{
	struct sip_uri	 u;

	if (ruri.s == NULL)
		return;
	FD_CHECK(ruri.len > 0 && ruri.len < ROUTE_URI_MAX, "R-URI length %zu",
	    ruri.len);
	FD_CHECK(ruri.s == buf, "R-URI outside its buffer");
	FD_CHECK(sip_uri_parse(ruri.s, ruri.len, &u) == 0,
	    "R-URI \"%.*s\" does not parse", (int)ruri.len, ruri.s);
}

/* Each cut within its header line; no two overlap or repeat a line. */
static void
fr_check_cuts(const struct sip_msg *m, const struct route_target *t)
{
	const struct route_cut	*a, *b;
	const struct sip_hdr	*h;
	int			 i, j;

	FD_CHECK(t->rt_ncuts >= 0 && t->rt_ncuts <= ROUTE_CUTS_MAX,
	    "%d cuts", t->rt_ncuts);
	for (i = 0; i < t->rt_ncuts; i++) {
		a = &t->rt_cuts[i];
		FD_CHECK(a->rc_hdr >= 0 && (size_t)a->rc_hdr < m->sm_nhdrs,
		    "cut of header %d", a->rc_hdr);
		h = &m->sm_hdrs[a->rc_hdr];
		if (!a->rc_whole)
			FD_CHECK(a->rc_span.s >= h->sh_line.s &&
			    a->rc_span.s + a->rc_span.len <= h->sh_line.s +
			    h->sh_line.len && a->rc_span.len > 0,
			    "cut outside header %d", a->rc_hdr);
		for (j = 0; j < i; j++) {
			b = &t->rt_cuts[j];
			if (b->rc_hdr != a->rc_hdr)
				continue;
			FD_CHECK(!a->rc_whole && !b->rc_whole,
			    "a whole line cut twice");
			FD_CHECK(a->rc_span.s >= b->rc_span.s +
			    b->rc_span.len || b->rc_span.s >= a->rc_span.s +
			    a->rc_span.len, "overlapping cuts");
		}
	}
}

static void
fr_route(const struct sip_msg *m, const struct fd_src *src, bool authed)
{
	static struct route_target	 t;
	struct sockaddr_storage		 ss;
	struct sip_addr			 to;
	socklen_t			 sl;
	bool				 dialog;
	int				 i;

	fd_sockaddr(src->fs_addr, &ss, &sl);
	route_request(m, (const struct sockaddr *)&ss, fd_now, &t);
	dialog = sip_msg_to(m, &to) == 0 && to.sa_tag.s != NULL;
	if (fd_trace)
		fprintf(stderr, "%c %.*s: verdict %d, %d %s, %s\n",
		    src->fs_tag, (int)m->sm_method_str.len,
		    m->sm_method_str.s, t.rt_verdict, t.rt_code,
		    t.rt_reason != NULL ? t.rt_reason : "", t.rt_why);
	switch (t.rt_verdict) {
	case ROUTE_DROP:
		FD_CHECK(m->sm_method == SIP_METHOD_ACK, "dropped a %.*s",
		    (int)m->sm_method_str.len, m->sm_method_str.s);
		return;
	case ROUTE_REPLY:
		/* dispatch.c never answers an ACK: whatever route says */
		if (m->sm_method == SIP_METHOD_ACK)
			return;
		switch (t.rt_code) {
		case 407:
			FD_CHECK(!dialog && !src->fs_gw && !src->fs_trusted &&
			    m->sm_method != SIP_METHOD_CANCEL,
			    "407 for source %c", src->fs_tag);
			FD_CHECK(t.rt_extra != NULL && strncmp(t.rt_extra,
			    "Proxy-Authenticate: Digest ", 27) == 0,
			    "407 without a challenge");
			fd_take_nonce(t.rt_extra);
			break;
		case 400: case 403: case 404: case 414: case 416:
		case 478: case 480: case 484:
			break;
		default:
			FD_CHECK(0, "%.*s answered %d",
			    (int)m->sm_method_str.len, m->sm_method_str.s,
			    t.rt_code);
		}
		fd_check_reason("route", t.rt_reason);
		fd_check_lines("route", t.rt_extra);
		return;
	case ROUTE_FORWARD:
		break;
	default:
		FD_CHECK(0, "verdict %d", t.rt_verdict);
	}
	/* No credentials can pass: a stranger's new request goes nowhere. */
	if (!dialog && m->sm_method != SIP_METHOD_ACK &&
	    m->sm_method != SIP_METHOD_CANCEL)
		FD_CHECK(src->fs_gw || fd_may_pass(m, src, authed),
		    "%.*s of a stranger forwarded",
		    (int)m->sm_method_str.len, m->sm_method_str.s);
	FD_CHECK(t.rt_from_gw == src->fs_gw || dialog, "rt_from_gw");
	fr_check_dst(&t.rt_dst, t.rt_dstlen);
	fr_check_ruri(t.rt_ruri, t.rt_ruri.s == t.rt_ruri_buf ?
	    t.rt_ruri_buf : t.rt_ruri.s);
	FD_CHECK(t.rt_nmore >= 0 && t.rt_nmore < ROUTE_BRANCHES_MAX,
	    "%d more branches", t.rt_nmore);
	for (i = 0; i < t.rt_nmore; i++) {
		fr_check_dst(&t.rt_more[i].rb_dst, t.rt_more[i].rb_dstlen);
		fr_check_ruri(t.rt_more[i].rb_ruri,
		    t.rt_more[i].rb_ruri_buf);
	}
	fr_check_cuts(m, &t);
}

/* What dispatch.c answers itself before any decider. */
static bool
fr_for_dispatch(const struct sip_msg *m)
{
	struct sip_uri	 u;
	unsigned	 mf;
	int		 rc;

	if (m->sm_method == SIP_METHOD_OPTIONS &&
	    sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &u) == 0 &&
	    u.su_user.len == 0)
		return true;
	rc = sip_msg_max_forwards(m, &mf);
	if ((rc == 0 && mf == 0) || rc == -EBADMSG)
		return true;
	return m->sm_method != SIP_METHOD_ACK &&
	    sip_msg_hdr(m, SIP_HDR_PROXY_REQUIRE) != NULL;
}

static void
fr_one(const struct sip_msg *m, const struct fd_src *src, bool authed)
{
	if (m->sm_method == SIP_METHOD_REGISTER) {
		(void)fd_register(m, src, authed);
		fd_check_table();
		return;
	}
	if (fr_for_dispatch(m))
		return;
	fr_route(m, src, authed);
	fd_check_table();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fd_run(data, size, fr_one);
}
