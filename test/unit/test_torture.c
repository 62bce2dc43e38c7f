/*
 * test_torture: every RFC 4475 and RFC 5118 torture message through
 * sip_msg_parse() and sip_msg_check(), with the verdict of
 * test/data/torture/INDEX.md, plus message-specific assertions. One
 * cmocka test per file; files come from $SIPD_TORTURE_DIR.
 *
 * Choices where the RFCs allow more than one answer:
 * - badbranch: accepted (RFC 2543 fallback is the transaction layer's
 *   business; the parser only reads the branch, "z9hG4bK").
 * - baddate: accepted, Date is never interpreted.
 * - test.dat: no Via, so nothing can be answered: dropped.
 * - inv2543: accepted, the body is the rest of the datagram.
 * - unkscm, novelsc: 416 from the check.
 * - rfc5118/ (bare LF, as archived): bare LF is accepted like CRLF, so
 *   these get the verdicts of their rfc5118-wire/ twins, except where the
 *   archive's own Content-Length is wrong: ipv6-in-sdp (268 > 242) and
 *   mult-ip-in-sdp (181 > 180) get 400 as clerr does.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "sip_msg.h"
#include "sip_reply.h"
#include "sip_uri.h"

#include "sip_assert.h"

#define DROP	-1	/* verdict: no reply */
#define OK	0	/* verdict: passes the check */
#define ANY400	-2	/* verdict: 400 or drop */

struct torture {
	const char	*t_dir;
	const char	*t_file;
	int		 t_verdict;	/* DROP, OK, ANY400 or a status code */
	void		(*t_extra)(const struct sip_msg *);
	char		*t_buf;		/* exactly the file's size (ASan) */
	size_t		 t_len;
};

static void
load(struct torture *t)
{
	const char	*dir = getenv("SIPD_TORTURE_DIR");
	char		 path[1024];
	FILE		*f;
	long		 n;

	assert_non_null(dir);
	(void)snprintf(path, sizeof(path), "%s/%s/%s", dir, t->t_dir,
	    t->t_file);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	t->t_buf = malloc((size_t)n);
	assert_non_null(t->t_buf);
	assert_int_equal(fread(t->t_buf, 1, (size_t)n, f), (size_t)n);
	t->t_len = (size_t)n;
	fclose(f);
}

static void
count_values(const struct sip_msg *m, int id, int want)
{
	struct sip_iter	 it;
	struct sip_addr	 a;
	int		 n = 0;

	sip_iter_init(&it, m, id);
	while (sip_addr_next(&it, &a) == 1)
		n++;
	assert_int_equal(n, want);
}

static void
src_v4(struct sockaddr_in *sin, const char *ip, unsigned port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

static void
x_wsinv(const struct sip_msg *m)
{
	struct sip_iter	 it;
	struct sip_via	 v;
	struct sip_addr	 a;
	struct sip_cseq	 cs;
	unsigned	 mf;
	const char	*br[] = { "390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239" };
	int		 i = 0;

	assert_int_equal(sip_msg_max_forwards(m, &mf), 0);
	assert_int_equal(mf, 68);
	assert_int_equal(sip_msg_cseq(m, &cs), 0);
	assert_int_equal(cs.sc_num, 9);
	assert_int_equal(cs.sc_method, SIP_METHOD_INVITE);
	sip_iter_init(&it, m, SIP_HDR_VIA);
	while (sip_via_next(&it, &v) == 1) {
		assert_true(i < 3);
		assert_str(v.sv_branch, br[i]);
		i++;
	}
	assert_int_equal(i, 3);
	assert_int_equal(sip_msg_to(m, &a), 0);
	assert_str(a.sa_tag, "1918181833n");
	assert_str(a.sa_uri, "sip:vivekg@chair-dnrc.example.com");
	assert_int_equal(sip_msg_from(m, &a), 0);
	assert_str(a.sa_tag, "98asjd8");
	assert_str(a.sa_display, "\"J Rosenberg \\\\\\\"\"");
	sip_iter_init(&it, m, SIP_HDR_CONTACT);
	assert_int_equal(sip_addr_next(&it, &a), 1);
	assert_str(a.sa_q, "0.33");
	assert_str(a.sa_uri, "sip:jdrosen@example.com");
	assert_int_equal(m->sm_body.len, 150);
	sip_iter_init(&it, m, SIP_HDR_ROUTE);
	assert_int_equal(sip_addr_next(&it, &a), 1);
	assert_str(a.sa_uri, "sip:services.example.com;lr;unknownwith=value;"
	    "unknown-no-value");
	assert_int_equal(sip_uri_param(&a.sa_puri, "lr", NULL), 1);
	assert_non_null(sip_msg_hdr(m, SIP_HDR_SUBJECT));
	assert_int_equal(sip_msg_hdr(m, SIP_HDR_SUBJECT)->sh_value.len, 0);
}

static void
x_intmeth(const struct sip_msg *m)
{
	struct sip_addr	 a;
	struct sip_cseq	 cs;
	struct sip_uri	 u;

	assert_int_equal(m->sm_method, SIP_METHOD_OTHER);
	assert_str(m->sm_method_str,
	    "!interesting-Method0123456789_*+`.%indeed'~");
	assert_int_equal(sip_msg_to(m, &a), 0);
	/* "BEL:\^G NUL:\^@ DEL:\^?": 22 octets, NUL included */
	assert_int_equal(a.sa_display.len, 22);
	assert_non_null(memchr(a.sa_display.s, '\0', a.sa_display.len));
	assert_int_equal(a.sa_display.s[21], '"');
	assert_int_equal(sip_msg_cseq(m, &cs), 0);
	assert_int_equal(cs.sc_num, 139122385);
	assert_int_equal(sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &u), 0);
	assert_str(u.su_user,
	    "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	assert_str(u.su_password,
	    "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
	assert_str(u.su_host, "example.com");
}

static void
x_esc01(const struct sip_msg *m)
{
	struct sip_uri	 u;
	struct sip_addr	 a;
	struct sip_iter	 it;
	struct sip_str	 v;
	char		 buf[16];

	assert_int_equal(sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &u), 0);
	assert_str(u.su_user, "sips%3Auser%40example.com");
	assert_true(sip_uri_escaped_eq(u.su_user.s, u.su_user.len,
	    "sips:user@example.com", 21, 0));
	assert_int_equal(sip_msg_to(m, &a), 0);
	assert_true(sip_uri_escaped_eq(a.sa_puri.su_user.s,
	    a.sa_puri.su_user.len, "user", 4, 0));
	sip_iter_init(&it, m, SIP_HDR_CONTACT);
	assert_int_equal(sip_addr_next(&it, &a), 1);
	/* "v%61lue%25%34%31" is "value%41", not "valueA" */
	assert_int_equal(sip_uri_param(&a.sa_puri, "n%61me", &v), 1);
	assert_true(sip_uri_escaped_eq(v.s, v.len, "value%2541", 10, 0));
	assert_false(sip_uri_escaped_eq(v.s, v.len, "valueA", 6, 0));
	assert_int_equal(sip_uri_unescape(v.s, v.len, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "value%41", 8);
}

static void
x_escnull(const struct sip_msg *m)
{
	struct sip_iter	 it;
	struct sip_addr	 a, b;
	char		 buf[16];

	assert_int_equal(m->sm_method, SIP_METHOD_REGISTER);
	sip_iter_init(&it, m, SIP_HDR_CONTACT);
	assert_int_equal(sip_addr_next(&it, &a), 1);
	assert_int_equal(sip_addr_next(&it, &b), 1);
	assert_int_equal(sip_addr_next(&it, &b), 0);
	sip_iter_init(&it, m, SIP_HDR_CONTACT);
	assert_int_equal(sip_addr_next(&it, &a), 1);
	assert_int_equal(sip_addr_next(&it, &b), 1);
	assert_str(a.sa_uri, "sip:%00@host5.example.com");
	assert_str(b.sa_uri, "sip:%00%00@host5.example.com");
	assert_false(sip_uri_escaped_eq(a.sa_uri.s, a.sa_uri.len, b.sa_uri.s,
	    b.sa_uri.len, 0));
	assert_int_equal(sip_uri_unescape(b.sa_puri.su_user.s,
	    b.sa_puri.su_user.len, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "\0\0", 2);
}

static void
x_esc02(const struct sip_msg *m)
{
	assert_int_equal(m->sm_method, SIP_METHOD_OTHER);
	assert_str(m->sm_method_str, "RE%47IST%45R");
	/* "C%6Fntact" is some other header */
	count_values(m, SIP_HDR_CONTACT, 2);
	assert_non_null(sip_msg_hdr_by_name(m, "C%6Fntact"));
}

static void
x_lwsdisp(const struct sip_msg *m)
{
	struct sip_addr	 a;

	assert_int_equal(sip_msg_from(m, &a), 0);
	assert_str(a.sa_display, "caller");
	assert_str(a.sa_uri, "sip:caller@example.com");
	assert_str(a.sa_tag, "323");
}

static void
x_longreq(const struct sip_msg *m)
{
	assert_int_equal(m->sm_len, m->sm_buflen);
	assert_true(m->sm_buflen > 3000);
}

static void
x_dblreq(const struct sip_msg *m)
{
	assert_int_equal(m->sm_method, SIP_METHOD_REGISTER);
	assert_int_equal(m->sm_body.len, 0);
	assert_true(m->sm_len < m->sm_buflen);
	assert_int_equal(m->sm_buflen - m->sm_len, 450);
	/* the trailing INVITE's headers are not ours */
	assert_int_equal(m->sm_count[SIP_HDR_CALL_ID], 1);
}

static void
x_semiuri(const struct sip_msg *m)
{
	struct sip_uri	 u;

	assert_int_equal(sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &u), 0);
	assert_str(u.su_user, "user;par=u%40example.net");
	assert_str(u.su_host, "example.com");
	assert_int_equal(u.su_params.len, 0);
}

static void
x_transports(const struct sip_msg *m)
{
	struct sip_iter	 it;
	struct sip_via	 v;
	const char	*tr[] = { "UDP", "SCTP", "TLS", "UNKNOWN", "TCP" };
	int		 i = 0;

	sip_iter_init(&it, m, SIP_HDR_VIA);
	while (sip_via_next(&it, &v) == 1) {
		assert_true(i < 5);
		assert_str(v.sv_transport, tr[i]);
		i++;
	}
	assert_int_equal(i, 5);
}

static void
x_mpart01(const struct sip_msg *m)
{
	struct sip_via		 v;
	struct sockaddr_in	 src;
	struct sockaddr_storage	 dst;

	assert_int_equal(m->sm_body.len, 553);
	assert_int_equal(sip_msg_via_top(m, &v), 0);
	assert_true(v.sv_has_rport);
	assert_int_equal(v.sv_rport.len, 0);
	assert_int_equal(v.sv_port, 5070);
	src_v4(&src, "127.0.0.1", 5070);
	assert_int_equal(sip_reply_dest(m, (struct sockaddr *)&src, 0, &dst),
	    0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&dst)->sin_port), 5070);
	assert_str(sip_msg_user_agent(m), "SIPimp.org/0.2.5 (curses)");
}

static void
x_unreason(const struct sip_msg *m)
{
	assert_int_equal(m->sm_status, 200);
	assert_int_equal(m->sm_reason.len, 74);
}

static void
x_noreason(const struct sip_msg *m)
{
	assert_int_equal(m->sm_status, 100);
	assert_int_equal(m->sm_reason.len, 0);
}

static void
x_scalar02(const struct sip_msg *m)
{
	uint32_t	 e;
	struct sip_cseq	 cs;

	assert_int_equal(sip_msg_cseq(m, &cs), -EBADMSG);
	/* overlarge Expires saturates: the registrar clamps it */
	assert_int_equal(sip_msg_expires(m, &e), 0);
	assert_int_equal(e, UINT32_MAX);
}

static void
x_badbranch(const struct sip_msg *m)
{
	struct sip_via	 v;

	assert_int_equal(sip_msg_via_top(m, &v), 0);
	assert_str(v.sv_branch, "z9hG4bK");
}

static void
x_regaut01(const struct sip_msg *m)
{
	struct sip_auth		 a;
	struct sip_digest	 d;

	assert_int_equal(sip_auth_parse(
	    sip_msg_hdr(m, SIP_HDR_AUTHORIZATION)->sh_value, &a), 0);
	assert_str(a.sa_scheme, "NoOneKnowsThisScheme");
	assert_int_equal(sip_digest_parse(&a, &d), -EINVAL);
}

static void
x_bext01(const struct sip_msg *m)
{
	struct sip_iter	 it;
	struct sip_str	 t;

	sip_iter_init(&it, m, SIP_HDR_PROXY_REQUIRE);
	assert_int_equal(sip_token_next(&it, &t), 1);
	assert_str(t, "noProxiesSupportThis");
	assert_int_equal(sip_token_next(&it, &t), 1);
	assert_str(t, "norDoAnyProxiesSupportThis");
	assert_int_equal(sip_token_next(&it, &t), 0);
}

static void
x_zeromf(const struct sip_msg *m)
{
	unsigned	 mf;

	assert_int_equal(sip_msg_max_forwards(m, &mf), 0);
	assert_int_equal(mf, 0);
}

static void
x_cparam01(const struct sip_msg *m)
{
	struct sip_iter	 it;
	struct sip_addr	 a;
	struct sip_str	 v;

	sip_iter_init(&it, m, SIP_HDR_CONTACT);
	assert_int_equal(sip_addr_next(&it, &a), 1);
	assert_str(a.sa_uri, "sip:+19725552222@gw1.example.net");
	assert_int_equal(sip_uri_param(&a.sa_puri, "unknownparam", NULL), 0);
	assert_int_equal(sip_param_find(a.sa_params, "unknownparam", &v), 1);
}

static void
x_cparam02(const struct sip_msg *m)
{
	struct sip_iter	 it;
	struct sip_addr	 a;
	struct sip_str	 v;

	sip_iter_init(&it, m, SIP_HDR_CONTACT);
	assert_int_equal(sip_addr_next(&it, &a), 1);
	assert_str(a.sa_uri, "sip:+19725552222@gw1.example.net;unknownparam");
	assert_int_equal(sip_uri_param(&a.sa_puri, "unknownparam", &v), 1);
	assert_int_equal(sip_param_find(a.sa_params, "unknownparam", &v), 0);
}

static void
x_regescrt(const struct sip_msg *m)
{
	struct sip_iter	 it;
	struct sip_addr	 a;

	sip_iter_init(&it, m, SIP_HDR_CONTACT);
	assert_int_equal(sip_addr_next(&it, &a), 1);
	assert_str(a.sa_uri,
	    "sip:user@example.com?Route=%3Csip:sip.example.com%3E");
	assert_str(a.sa_puri.su_headers, "Route=%3Csip:sip.example.com%3E");
}

static void
x_inv2543(const struct sip_msg *m)
{
	struct sip_via	 v;
	struct sip_addr	 a;

	assert_null(sip_msg_hdr(m, SIP_HDR_CONTENT_LENGTH));
	assert_int_equal(m->sm_body.len, 105);
	assert_int_equal(sip_msg_via_top(m, &v), 0);
	assert_null(v.sv_branch.s);
	assert_int_equal(sip_msg_from(m, &a), 0);
	assert_null(a.sa_tag.s);
}

static void
x_ipv6_good(const struct sip_msg *m)
{
	struct sip_uri	 u;

	assert_int_equal(sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &u), 0);
	assert_int_equal(u.su_host_type, SIP_URI_HOST_IPV6);
	assert_str(u.su_host, "[2001:db8::10]");
	assert_str(sip_uri_host_bare(&u), "2001:db8::10");
	assert_int_equal(u.su_port, 0);
}

static void
x_port_ambiguous(const struct sip_msg *m)
{
	struct sip_uri	 u;

	assert_int_equal(sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &u), 0);
	assert_str(u.su_host, "[2001:db8::10:5070]");
	assert_int_equal(u.su_port, 0);
}

static void
x_port_unambiguous(const struct sip_msg *m)
{
	struct sip_uri	 u;

	assert_int_equal(sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &u), 0);
	assert_str(u.su_host, "[2001:db8::10]");
	assert_int_equal(u.su_port, 5070);
}

static void
x_ipv6_bad(const struct sip_msg *m)
{
	struct sip_uri	 u;

	assert_int_equal(sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &u),
	    -EINVAL);
}

static void
x_via_no_delim(const struct sip_msg *m)
{
	struct sip_via	 v;

	assert_int_equal(sip_msg_via_top(m, &v), 0);
	assert_str(v.sv_host, "[2001:db8::9:1]");
	assert_str(v.sv_received, "2001:db8::9:255");
	assert_str(v.sv_branch, "z9hG4bKas3");
}

static void
x_via_delim(const struct sip_msg *m)
{
	struct sip_via	 v;

	assert_int_equal(sip_msg_via_top(m, &v), 0);
	assert_str(v.sv_received, "[2001:db8::9:255]");
	assert_str(v.sv_branch, "z9hG4bKas3-111");
}

static void
x_mult_ip_hdr(const struct sip_msg *m)
{
	struct sip_iter	 it;
	struct sip_via	 v;

	sip_iter_init(&it, m, SIP_HDR_VIA);
	assert_int_equal(sip_via_next(&it, &v), 1);
	assert_str(v.sv_host, "[2001:db8::9:1]");
	assert_int_equal(v.sv_port, 6050);
	assert_int_equal(sip_via_next(&it, &v), 1);
	assert_str(v.sv_host, "192.0.2.1");
	assert_int_equal(sip_via_next(&it, &v), 1);
	assert_str(v.sv_received, "192.0.2.200");
	assert_int_equal(sip_via_next(&it, &v), 0);
}

static void
x_ipv4_mapped(const struct sip_msg *m)
{
	struct sip_via	 v;

	assert_int_equal(sip_msg_via_top(m, &v), 0);
	assert_str(v.sv_host, "[::ffff:192.0.2.10]");
	assert_int_equal(v.sv_port, 19823);
}

static void
x_abnf3(const struct sip_msg *m)
{
	struct sip_uri	 u;

	assert_int_equal(sip_uri_parse(m->sm_ruri.s, m->sm_ruri.len, &u), 0);
	assert_str(u.su_host, "[2001:db8:::192.0.2.1]");
}

#define R4(f, v, x)	{ "rfc4475", f ".dat", v, x, NULL, 0 }
#define R5W(f, v, x)	{ "rfc5118-wire", f ".sip", v, x, NULL, 0 }
#define R5(f, v, x)	{ "rfc5118", f, v, x, NULL, 0 }

static struct torture cases[] = {
	/* §3.1.1 valid */
	R4("wsinv", OK, x_wsinv),
	R4("intmeth", OK, x_intmeth),
	R4("esc01", OK, x_esc01),
	R4("escnull", OK, x_escnull),
	R4("esc02", OK, x_esc02),
	R4("lwsdisp", OK, x_lwsdisp),
	R4("longreq", OK, x_longreq),
	R4("dblreq", OK, x_dblreq),
	R4("semiuri", OK, x_semiuri),
	R4("transports", OK, x_transports),
	R4("mpart01", OK, x_mpart01),
	R4("unreason", OK, x_unreason),
	R4("noreason", OK, x_noreason),
	/* §3.1.2 invalid */
	R4("badinv01", 400, NULL),
	R4("clerr", 400, NULL),
	R4("ncl", 400, NULL),
	R4("scalar02", 400, x_scalar02),
	R4("scalarlg", DROP, NULL),
	R4("quotbal", 400, NULL),
	R4("ltgtruri", 400, NULL),
	R4("lwsruri", 400, NULL),
	R4("lwsstart", 400, NULL),
	R4("trws", 400, NULL),
	R4("escruri", 400, NULL),
	R4("baddate", OK, NULL),
	R4("regbadct", 400, NULL),
	R4("badaspec", 400, NULL),
	R4("baddn", 400, NULL),
	R4("badvers", 505, NULL),
	R4("mismatch01", 400, NULL),
	R4("mismatch02", 501, NULL),
	R4("bigcode", DROP, NULL),
	/* §3.2 - §3.4 */
	R4("badbranch", OK, x_badbranch),
	R4("insuf", 400, NULL),
	R4("unkscm", 416, NULL),
	R4("novelsc", 416, NULL),
	R4("unksm2", OK, NULL),
	R4("bext01", OK, x_bext01),
	R4("invut", OK, NULL),
	R4("regaut01", OK, x_regaut01),
	R4("multi01", 400, NULL),
	R4("mcl01", 400, NULL),
	R4("bcast", OK, NULL),
	R4("zeromf", OK, x_zeromf),
	R4("cparam01", OK, x_cparam01),
	R4("cparam02", OK, x_cparam02),
	R4("regescrt", OK, x_regescrt),
	R4("sdp01", OK, NULL),
	R4("inv2543", OK, x_inv2543),
	R4("test", ANY400, NULL),
	/* RFC 5118, CRLF wire form */
	R5W("ipv6-good", OK, x_ipv6_good),
	R5W("ipv6-bad", 400, x_ipv6_bad),
	R5W("port-ambiguous", OK, x_port_ambiguous),
	R5W("port-unambiguous", OK, x_port_unambiguous),
	R5W("via-received-param-with-delim", OK, x_via_delim),
	R5W("via-received-param-no-delim", OK, x_via_no_delim),
	R5W("ipv6-in-sdp", OK, NULL),
	R5W("mult-ip-in-header", OK, x_mult_ip_hdr),
	R5W("mult-ip-in-sdp", OK, NULL),
	R5W("ipv4-mapped-ipv6", OK, x_ipv4_mapped),
	R5W("ipv6-bug-abnf-3-colons", OK, x_abnf3),
	R5W("ipv6-correct-abnf-2-colons", OK, NULL),
	/* RFC 5118 as archived: bare LF, archive Content-Lengths */
	R5("ipv6-good", OK, x_ipv6_good),
	R5("ipv6-bad", 400, x_ipv6_bad),
	R5("port-ambiguous", OK, x_port_ambiguous),
	R5("port-unambiguous", OK, x_port_unambiguous),
	R5("via-received-param-with-delim", OK, x_via_delim),
	R5("via-received-param-no-delim", OK, x_via_no_delim),
	R5("ipv6-in-sdp", 400, NULL),
	R5("mult-ip-in-header", OK, x_mult_ip_hdr),
	R5("mult-ip-in-sdp", 400, NULL),
	R5("ipv4-mapped-ipv6", OK, x_ipv4_mapped),
	R5("ipv6-bug-abnf-3-colons", OK, x_abnf3),
	R5("ipv6-correct-abnf-2-colons", OK, NULL),
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* A reply to every answerable request must frame as a valid response. */
static void
check_reply(const struct sip_msg *req, int code)
{
	struct sockaddr_in	 src;
	struct sip_msg		 r;
	struct sip_check	 c;
	char			 out[8192];
	size_t			 n;

	src_v4(&src, "192.0.2.77", 40000);
	n = sip_reply_build(out, sizeof(out), req, code, "Test",
	    (struct sockaddr *)&src, NULL);
	assert_true(n > 0);
	assert_int_equal(sip_msg_parse(&r, out, n), 0);
	assert_int_equal(r.sm_status, (unsigned)code);
	assert_int_equal(r.sm_count[SIP_HDR_VIA], req->sm_count[SIP_HDR_VIA]);
	if (code != 400)
		assert_int_equal(sip_msg_check(&r, &c), SIP_CHECK_OK);
}

static void
run_case(void **state)
{
	struct torture		*t = *state;
	struct sip_msg		 m;
	struct sip_check	 c;
	int			 rc, got;

	load(t);
	rc = sip_msg_parse(&m, t->t_buf, t->t_len);
	if (rc != 0) {
		got = DROP;
	} else {
		sip_msg_check(&m, &c);
		got = c.sc_verdict == SIP_CHECK_OK ? OK :
		    c.sc_verdict == SIP_CHECK_DROP ? DROP : c.sc_code;
	}
	if (t->t_verdict == ANY400) {
		if (got != DROP && got != 400)
			fail_msg("%s: verdict %d, want 400 or drop", t->t_file,
			    got);
	} else if (got != t->t_verdict)
		fail_msg("%s: verdict %d (%s), want %d", t->t_file, got,
		    rc == 0 && c.sc_reason != NULL ? c.sc_reason : "-",
		    t->t_verdict);
	if (rc == 0 && t->t_extra != NULL)
		t->t_extra(&m);
	if (rc == 0 && m.sm_request && got != DROP)
		check_reply(&m, got == OK ? 200 : got);
	free(t->t_buf);
	t->t_buf = NULL;
}

int
main(void)
{
	static struct CMUnitTest tests[NCASES];
	/* rfc5118/ and rfc5118-wire/ share names: "dir/file" */
	static char		 names[NCASES][64];
	size_t			 i;

	for (i = 0; i < NCASES; i++) {
		(void)snprintf(names[i], sizeof(names[i]), "%s/%s",
		    cases[i].t_dir, cases[i].t_file);
		tests[i].name = names[i];
		tests[i].test_func = run_case;
		tests[i].setup_func = NULL;
		tests[i].teardown_func = NULL;
		tests[i].initial_state = &cases[i];
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
