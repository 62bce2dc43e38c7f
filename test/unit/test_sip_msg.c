/*
 * test_sip_msg: focused vectors for libsipd_sip: framing, compact forms,
 * folding, multi-value headers, Contact '*' and params, credentials,
 * URIs, and stateless replies (received/rport, To tag, destination).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "sip_msg.h"
#include "sip_reply.h"
#include "sip_uri.h"

#include "sip_assert.h"

static int
parse(struct sip_msg *m, const char *s)
{
	return sip_msg_parse(m, s, strlen(s));
}

static int
verdict(const char *s, int *code)
{
	struct sip_msg		 m;
	struct sip_check	 c;

	if (parse(&m, s) != 0)
		return -1;
	sip_msg_check(&m, &c);
	*code = c.sc_code;
	return c.sc_verdict;
}

static const char reg[] =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "v: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bK776;rport\r\n"
    "Max-Forwards: 70\r\n"
    "t: <sip:bob@example.com>\r\n"
    "f: \"Bob\" <sip:bob@example.com>;tag=456248\r\n"
    "i: 843817637684230@998sdasdh09\r\n"
    "CSeq: 1826 REGISTER\r\n"
    "m: <sip:bob@10.0.0.1:5062;transport=udp>;expires=600;q=0.7,\r\n"
    "  \"Second, B\" <sip:bob@host2.example.com> ; q = 0.1\r\n"
    "Contact: sip:bob@host3.example.com;expires=0\r\n"
    "Expires: 7200\r\n"
    "k: path, outbound\r\n"
    "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, MESSAGE, foo\r\n"
    "User-Agent: test agent/1.0\r\n"
    "Authorization: Digest username=\"bob\", realm=\"example.com\",\r\n"
    "  nonce=\"5f3a,b\", uri=\"sip:example.com\", response=\"0123abcd\",\r\n"
    "  algorithm=MD5, cnonce=\"x, y\", opaque=\"\", qop=auth, nc=00000001\r\n"
    "l: 0\r\n"
    "\r\n";

static void
t_compact_and_lists(void **state)
{
	struct sip_msg	 m;
	struct sip_iter	 it;
	struct sip_addr	 a;
	struct sip_str	 t;
	struct sip_cseq	 cs;
	uint32_t	 e;
	unsigned	 mask;
	int		 n = 0;

	(void)state;
	assert_int_equal(parse(&m, reg), 0);
	assert_int_equal(m.sm_method, SIP_METHOD_REGISTER);
	assert_int_equal(m.sm_count[SIP_HDR_CONTACT], 2);
	assert_int_equal(m.sm_hdrs[0].sh_id, SIP_HDR_VIA);
	assert_str(m.sm_hdrs[0].sh_name, "v");
	assert_int_equal(sip_msg_cseq(&m, &cs), 0);
	assert_int_equal(cs.sc_num, 1826);
	assert_int_equal(cs.sc_method, SIP_METHOD_REGISTER);

	sip_iter_init(&it, &m, SIP_HDR_CONTACT);
	assert_int_equal(sip_addr_next(&it, &a), 1);
	assert_str(a.sa_uri, "sip:bob@10.0.0.1:5062;transport=udp");
	assert_str(a.sa_expires, "600");
	assert_str(a.sa_q, "0.7");
	assert_int_equal(a.sa_puri.su_port, 5062);
	assert_int_equal(sip_addr_next(&it, &a), 1);
	assert_str(a.sa_display, "\"Second, B\"");
	assert_str(a.sa_q, "0.1");
	assert_int_equal(sip_addr_next(&it, &a), 1);
	assert_int_equal(a.sa_angle, 0);
	assert_str(a.sa_expires, "0");
	assert_int_equal(sip_str_to_u32_sat(a.sa_expires, &e), 0);
	assert_int_equal(e, 0);
	assert_int_equal(sip_addr_next(&it, &a), 0);

	assert_int_equal(sip_msg_expires(&m, &e), 0);
	assert_int_equal(e, 7200);
	sip_iter_init(&it, &m, SIP_HDR_SUPPORTED);
	while (sip_token_next(&it, &t) == 1)
		n++;
	assert_int_equal(n, 2);
	assert_int_equal(sip_msg_allow_mask(&m, &mask), 0);
	assert_int_equal(mask, SIP_METHOD_INVITE | SIP_METHOD_ACK |
	    SIP_METHOD_CANCEL | SIP_METHOD_OPTIONS | SIP_METHOD_BYE |
	    SIP_METHOD_MESSAGE);
	assert_str(sip_msg_user_agent(&m), "test agent/1.0");
	assert_int_equal(verdict(reg, &n), SIP_CHECK_OK);
}

static void
t_digest(void **state)
{
	struct sip_msg		 m;
	struct sip_auth		 a;
	struct sip_digest	 d;
	struct sip_str		 v;

	(void)state;
	assert_int_equal(parse(&m, reg), 0);
	assert_int_equal(sip_auth_parse(
	    sip_msg_hdr(&m, SIP_HDR_AUTHORIZATION)->sh_value, &a), 0);
	assert_str(a.sa_scheme, "Digest");
	assert_int_equal(sip_digest_parse(&a, &d), 0);
	assert_str(d.sd_username, "bob");
	assert_str(d.sd_realm, "example.com");
	assert_str(d.sd_nonce, "5f3a,b");
	assert_str(d.sd_uri, "sip:example.com");
	assert_str(d.sd_response, "0123abcd");
	assert_str(d.sd_algorithm, "MD5");
	assert_str(d.sd_cnonce, "x, y");
	assert_int_equal(d.sd_opaque.len, 0);
	assert_non_null(d.sd_opaque.s);
	assert_str(d.sd_qop, "auth");
	assert_str(d.sd_nc, "00000001");

	v.s = "Digest username=\"a\", , realm=\"b\"";
	v.len = strlen(v.s);
	assert_int_equal(sip_auth_parse(v, &a), 0);
	assert_int_equal(sip_digest_parse(&a, &d), -EBADMSG);
	v.s = "Digest username=\"a";
	v.len = strlen(v.s);
	assert_int_equal(sip_auth_parse(v, &a), 0);
	assert_int_equal(sip_digest_parse(&a, &d), -EBADMSG);
}

static void
t_folding(void **state)
{
	static const char s[] =
	    "OPTIONS sip:a@b.example SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP\r\n"
	    "\th.example:5070\r\n"
	    " ;branch=z9hG4bKx, SIP/2.0/TCP h2.example;branch=z9hG4bKy\r\n"
	    "VIA: SIP/2.0/UDP h3.example;branch=z9hG4bKz\r\n"
	    "From: <sip:a@b.example>\r\n"
	    " ;tag=1\r\n"
	    "To: sip:a@b.example\r\n"
	    "Call-ID: x\r\n"
	    "CSeq:\r\n 1\r\n OPTIONS\r\n"
	    "Content-Length: 0\r\n"
	    "\r\n";
	struct sip_msg	 m;
	struct sip_iter	 it;
	struct sip_via	 v;
	struct sip_addr	 a;
	int		 code;

	(void)state;
	assert_int_equal(parse(&m, s), 0);
	sip_iter_init(&it, &m, SIP_HDR_VIA);
	assert_int_equal(sip_via_next(&it, &v), 1);
	assert_str(v.sv_host, "h.example");
	assert_int_equal(v.sv_port, 5070);
	assert_str(v.sv_branch, "z9hG4bKx");
	assert_int_equal(v.sv_hdr, 0);
	assert_int_equal(sip_via_next(&it, &v), 1);
	assert_str(v.sv_transport, "TCP");
	assert_int_equal(sip_via_next(&it, &v), 1);
	assert_str(v.sv_branch, "z9hG4bKz");
	assert_int_equal(v.sv_hdr, 1);
	assert_int_equal(sip_via_next(&it, &v), 0);
	assert_int_equal(sip_msg_from(&m, &a), 0);
	assert_str(a.sa_tag, "1");
	assert_int_equal(verdict(s, &code), SIP_CHECK_OK);
}

static void
t_contact_star(void **state)
{
	static const char ok[] =
	    "REGISTER sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
	    "From: <sip:bob@example.com>;tag=1\r\n"
	    "To: <sip:bob@example.com>\r\n"
	    "Call-ID: c1\r\nCSeq: 2 REGISTER\r\n"
	    "Contact: *\r\nExpires: 0\r\nContent-Length: 0\r\n\r\n";
	struct sip_msg	 m;
	struct sip_iter	 it;
	struct sip_addr	 a;

	(void)state;
	assert_int_equal(parse(&m, ok), 0);
	sip_iter_init(&it, &m, SIP_HDR_CONTACT);
	assert_int_equal(sip_addr_next(&it, &a), 1);
	assert_true(a.sa_star);
	assert_int_equal(sip_addr_next(&it, &a), 0);
	/* '*' is only a Contact value */
	assert_int_equal(sip_addr_parse("*", 1, 0, &a), -EBADMSG);
	assert_int_equal(sip_addr_parse("* ;x", 4, 1, &a), -EBADMSG);
}

static void
t_framing(void **state)
{
	struct sip_msg	 m;
	char		 big[16384];
	size_t		 n, i;
	int		 code;

	(void)state;
	assert_int_equal(parse(&m, "\r\n\r\n"), -EBADMSG);
	assert_int_equal(parse(&m, ""), -EBADMSG);
	assert_int_equal(parse(&m, "hello"), -EBADMSG);
	assert_int_equal(parse(&m, "SIP/2.0 99 x\r\n\r\n"), -EBADMSG);
	assert_int_equal(parse(&m, "SIP/2.0 1000 x\r\n\r\n"), -EBADMSG);
	assert_int_equal(parse(&m, "SIP/2.0 200\r\n\r\n"), 0);
	assert_int_equal(m.sm_status, 200);
	assert_int_equal(m.sm_reason.len, 0);

	/* hundreds of lines parse (issue 10: 97 once did not) */
	n = (size_t)snprintf(big, sizeof(big), "OPTIONS sip:a@b SIP/2.0\r\n");
	for (i = 0; i < SIP_MSG_MAX_HDRS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X: %zu\r\n",
		    i);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	assert_true(SIP_MSG_MAX_HDRS >= 512);
	assert_int_equal(sip_msg_parse(&m, big, n), 0);
	assert_int_equal(m.sm_nhdrs, SIP_MSG_MAX_HDRS);

	/* one more: -E2BIG, but the Via before the cut is still there */
	n = (size_t)snprintf(big, sizeof(big), "OPTIONS sip:a@b SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n");
	for (i = 0; i < SIP_MSG_MAX_HDRS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X: %zu\r\n",
		    i);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	assert_int_equal(sip_msg_parse(&m, big, n), -E2BIG);
	assert_int_equal(m.sm_first[SIP_HDR_VIA], 0);

	/* bare LF is accepted; body by Content-Length */
	assert_int_equal(parse(&m, "OPTIONS sip:a@b SIP/2.0\n"
	    "Via: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\n"
	    "To: <sip:a@b>\nCall-ID: 1\nCSeq: 1 OPTIONS\nl: 3\n\nabcdef"), 0);
	assert_true(m.sm_flags & SIP_MSG_F_BARE_LF);
	assert_int_equal(m.sm_body.len, 3);
	assert_memory_equal(m.sm_body.s, "abc", 3);

	assert_int_equal(verdict("OPTIONS sip:a@b SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
	    "To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n"
	    "Content-Length: five\r\n\r\n", &code), SIP_CHECK_REPLY);
	assert_int_equal(code, 400);
	assert_int_equal(verdict("OPTIONS sip:a@b SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
	    "To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 4294967296 OPTIONS\r\n"
	    "\r\n", &code), SIP_CHECK_REPLY);
	assert_int_equal(code, 400);
	assert_int_equal(verdict("OPTIONS sip:a@b SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
	    "To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 4294967295 OPTIONS\r\n"
	    "\r\n", &code), SIP_CHECK_OK);
	/* no Via: nowhere to answer */
	assert_int_equal(verdict("OPTIONS sip:a@b SIP/2.0\r\n"
	    "From: <sip:a@b>;tag=1\r\n\r\n", &code), SIP_CHECK_DROP);
	assert_int_equal(verdict("OPTIONS sip:a@b SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
	    "To: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n"
	    "Max-Forwards: 256\r\n\r\n", &code), SIP_CHECK_REPLY);
}

static void
t_methods(void **state)
{
	(void)state;
	assert_int_equal(sip_method_from_str("INVITE", 6), 1);
	assert_int_equal(sip_method_from_str("REGISTER", 8), 32);
	assert_int_equal(sip_method_from_str("PUBLISH", 7), 8192);
	assert_int_equal(sip_method_from_str("register", 8), SIP_METHOD_OTHER);
	assert_int_equal(sip_method_from_str("RE%47IST%45R", 12),
	    SIP_METHOD_OTHER);
	assert_string_equal(sip_method_name(SIP_METHOD_PRACK), "PRACK");
	assert_int_equal(sip_hdr_lookup("CALL-id", 7), SIP_HDR_CALL_ID);
	assert_int_equal(sip_hdr_lookup("I", 1), SIP_HDR_CALL_ID);
	assert_int_equal(sip_hdr_lookup("x-foo", 5), SIP_HDR_OTHER);
	assert_int_equal(sip_hdr_lookup("proxy-authorization", 19),
	    SIP_HDR_PROXY_AUTHORIZATION);
}

static int
uri(const char *s, struct sip_uri *u)
{
	return sip_uri_parse(s, strlen(s), u);
}

static void
t_uri(void **state)
{
	struct sip_uri	 u;
	struct sip_str	 v;

	(void)state;
	assert_int_equal(uri("sip:alice:secret@Example.COM:5061;transport=udp;"
	    "lr?subject=hi&priority=urgent", &u), 0);
	assert_int_equal(u.su_scheme, SIP_URI_SIP);
	assert_str(u.su_user, "alice");
	assert_str(u.su_password, "secret");
	assert_str(u.su_host, "Example.COM");
	assert_int_equal(u.su_host_type, SIP_URI_HOST_NAME);
	assert_int_equal(u.su_port, 5061);
	assert_str(u.su_params, "transport=udp;lr");
	assert_str(u.su_headers, "subject=hi&priority=urgent");
	assert_int_equal(sip_uri_param(&u, "TRANSPORT", &v), 1);
	assert_str(v, "udp");
	assert_int_equal(sip_uri_param(&u, "lr", &v), 1);
	assert_int_equal(v.len, 0);
	assert_int_equal(sip_uri_param(&u, "maddr", &v), 0);

	assert_int_equal(uri("sips:[::1]:5060", &u), 0);
	assert_int_equal(u.su_scheme, SIP_URI_SIPS);
	assert_int_equal(u.su_host_type, SIP_URI_HOST_IPV6);
	assert_str(sip_uri_host_bare(&u), "::1");
	assert_int_equal(uri("sip:192.0.2.1", &u), 0);
	assert_int_equal(u.su_host_type, SIP_URI_HOST_IPV4);
	assert_int_equal(uri("tel:+1-201-555-0123;phone-context=example.com",
	    &u), 0);
	assert_int_equal(u.su_scheme, SIP_URI_TEL);
	assert_str(u.su_user, "+1-201-555-0123");
	assert_int_equal(uri("isbn:2983792873", &u), 0);
	assert_int_equal(u.su_scheme, SIP_URI_OTHER);
	assert_str(u.su_scheme_str, "isbn");

	assert_int_equal(uri("sip:2001:db8::10", &u), -EINVAL);
	assert_int_equal(uri("sip:host:0", &u), -EINVAL);
	assert_int_equal(uri("sip:host:65536", &u), -EINVAL);
	assert_int_equal(uri("sip: host", &u), -EINVAL);
	assert_int_equal(uri("sip:host ", &u), -EINVAL);
	assert_int_equal(uri("sip:a%2@host", &u), -EINVAL);
	assert_int_equal(uri("sip:host;;lr", &u), -EINVAL);
	assert_int_equal(uri("sip:@host", &u), -EINVAL);
	assert_int_equal(uri("sip:[]", &u), -EINVAL);
	assert_int_equal(uri("<sip:host>", &u), -EINVAL);
	assert_int_equal(uri("sip:", &u), -EINVAL);
	assert_int_equal(uri("", &u), -EINVAL);

	assert_true(sip_uri_escaped_eq("%41bc", 5, "Abc", 3, 0));
	assert_true(sip_uri_escaped_eq("ABC", 3, "abc", 3, 1));
	assert_false(sip_uri_escaped_eq("ABC", 3, "abc", 3, 0));
	assert_false(sip_uri_escaped_eq("%2541", 5, "A", 1, 0));
	assert_false(sip_uri_escaped_eq("ab", 2, "abc", 3, 0));
}

static void
src4(struct sockaddr_in *sin, const char *ip, unsigned port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

static const char inv[] =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds8;rport;"
    "received=1.1.1.1, SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bK2\r\n"
    "Via: SIP/2.0/UDP 10.2.2.2;branch=z9hG4bK3\r\n"
    "Max-Forwards: 70\r\n"
    "To: Bob <sip:bob@example.com>\r\n"
    "From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Content-Length: 0\r\n\r\n";

static void
t_reply(void **state)
{
	struct sockaddr_in	 src;
	struct sockaddr_storage	 dst;
	struct sip_msg		 m, r;
	struct sip_addr		 to, to2;
	struct sip_via		 v;
	char			 out[2048], out2[2048];
	size_t			 n, n2;

	(void)state;
	assert_int_equal(parse(&m, inv), 0);
	src4(&src, "192.0.2.4", 6000);
	n = sip_reply_build(out, sizeof(out), &m, 404, "Not Found",
	    (struct sockaddr *)&src, "Warning: 399 sipd \"x\"\r\n");
	assert_true(n > 0);
	assert_int_equal(sip_msg_parse(&r, out, n), 0);
	assert_int_equal(r.sm_status, 404);
	assert_str(r.sm_reason, "Not Found");
	assert_int_equal(sip_msg_via_top(&r, &v), 0);
	assert_str(v.sv_value,
	    "SIP/2.0/UDP pc33.example.com;branch=z9hG4bKnashds8"
	    ";rport=6000;received=192.0.2.4");
	assert_int_equal(r.sm_count[SIP_HDR_VIA], 2);
	assert_str(r.sm_hdrs[0].sh_value, "SIP/2.0/UDP pc33.example.com;"
	    "branch=z9hG4bKnashds8;rport=6000;received=192.0.2.4, "
	    "SIP/2.0/UDP 10.1.1.1:5070;branch=z9hG4bK2");
	assert_int_equal(sip_msg_to(&r, &to), 0);
	assert_int_equal(to.sa_tag.len, SIP_REPLY_TAG_LEN);
	assert_non_null(sip_msg_hdr_by_name(&r, "Warning"));
	assert_int_equal(r.sm_body.len, 0);

	/* a retransmission gets the same tag */
	n2 = sip_reply_build(out2, sizeof(out2), &m, 404, "Not Found",
	    (struct sockaddr *)&src, NULL);
	assert_true(n2 > 0);
	assert_int_equal(sip_msg_parse(&r, out2, n2), 0);
	assert_int_equal(sip_msg_to(&r, &to2), 0);
	assert_memory_equal(to.sa_tag.s, to2.sa_tag.s, SIP_REPLY_TAG_LEN);

	/* 100 Trying gets no tag */
	n = sip_reply_build(out, sizeof(out), &m, 100, "Trying",
	    (struct sockaddr *)&src, NULL);
	assert_int_equal(sip_msg_parse(&r, out, n), 0);
	assert_int_equal(sip_msg_to(&r, &to), 0);
	assert_null(to.sa_tag.s);

	/* too small */
	assert_int_equal(sip_reply_build(out, 40, &m, 404, "Not Found",
	    (struct sockaddr *)&src, NULL), 0);

	/* rport: answer to the source port */
	assert_int_equal(sip_reply_dest(&m, (struct sockaddr *)&src, 0, &dst),
	    0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&dst)->sin_port), 6000);
}

static void
t_reply_no_rport(void **state)
{
	static const char s[] =
	    "OPTIONS sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.4:5080;branch=z9hG4bK1\r\n"
	    "To: <sip:bob@example.com>;tag=abc\r\n"
	    "From: <sip:alice@example.com>;tag=1\r\n"
	    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
	struct sockaddr_in	 src;
	struct sockaddr_storage	 dst;
	struct sip_msg		 m, r;
	struct sip_addr		 to;
	char			 out[1024];
	size_t			 n;

	(void)state;
	assert_int_equal(parse(&m, s), 0);
	src4(&src, "192.0.2.4", 7000);
	/* sent-by is the source: no received */
	n = sip_reply_top_via(out, sizeof(out), &m, (struct sockaddr *)&src);
	assert_int_equal(n, strlen("SIP/2.0/UDP 192.0.2.4:5080;"
	    "branch=z9hG4bK1"));
	n = sip_reply_build(out, sizeof(out), &m, 200, "OK",
	    (struct sockaddr *)&src, NULL);
	assert_int_equal(sip_msg_parse(&r, out, n), 0);
	assert_int_equal(sip_msg_to(&r, &to), 0);
	assert_str(to.sa_tag, "abc");
	assert_int_equal(sip_reply_dest(&m, (struct sockaddr *)&src, 0, &dst),
	    0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&dst)->sin_port), 5080);
	assert_int_equal(sip_reply_dest(&m, (struct sockaddr *)&src,
	    SIP_REPLY_DEST_FORCE_RPORT, &dst), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&dst)->sin_port), 7000);

	/* another source: received added */
	src4(&src, "198.51.100.9", 7000);
	n = sip_reply_top_via(out, sizeof(out), &m, (struct sockaddr *)&src);
	out[n] = '\0';
	assert_string_equal(out, "SIP/2.0/UDP 192.0.2.4:5080;branch=z9hG4bK1;"
	    "received=198.51.100.9");
}

static void
t_ipv6_reply(void **state)
{
	static const char s[] =
	    "OPTIONS sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1\r\n"
	    "To: <sip:bob@example.com>\r\n"
	    "From: <sip:alice@example.com>;tag=1\r\n"
	    "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
	struct sockaddr_in6	 src;
	struct sockaddr_storage	 dst;
	struct sip_msg		 m;
	char			 out[1024];
	size_t			 n;

	(void)state;
	assert_int_equal(parse(&m, s), 0);
	memset(&src, 0, sizeof(src));
	src.sin6_family = AF_INET6;
	src.sin6_port = htons(5090);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:0::1", &src.sin6_addr),
	    1);
	n = sip_reply_top_via(out, sizeof(out), &m, (struct sockaddr *)&src);
	out[n] = '\0';
	assert_string_equal(out, "SIP/2.0/UDP [2001:db8::1];branch=z9hG4bK1");
	assert_int_equal(sip_reply_dest(&m, (struct sockaddr *)&src, 0, &dst),
	    0);
	assert_int_equal(dst.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&dst)->sin6_port),
	    5060);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_compact_and_lists),
		cmocka_unit_test(t_digest),
		cmocka_unit_test(t_folding),
		cmocka_unit_test(t_contact_star),
		cmocka_unit_test(t_framing),
		cmocka_unit_test(t_methods),
		cmocka_unit_test(t_uri),
		cmocka_unit_test(t_reply),
		cmocka_unit_test(t_reply_no_rport),
		cmocka_unit_test(t_ipv6_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
