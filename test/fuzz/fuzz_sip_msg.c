/*
 * fuzz_sip_msg: libFuzzer target for the message parser: framing, every
 * lazy accessor, the proxy check, and the stateless reply builder on
 * each input. Built for libFuzzer with -Dfuzzing=true, and replayed by
 * fuzz_main.c in the normal test run.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sip_msg.h"
#include "sip_reply.h"
#include "sip_uri.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_addrs(const struct sip_msg *m, int id)
{
	struct sip_iter	 it;
	struct sip_addr	 a;
	struct sip_str	 v, p;
	uint32_t	 e;
	char		 buf[128];

	sip_iter_init(&it, m, id);
	while (sip_addr_next(&it, &a) == 1) {
		if (a.sa_star)
			continue;
		(void)sip_str_to_u32_sat(a.sa_expires, &e);
		(void)sip_uri_param(&a.sa_puri, "lr", &v);
		(void)sip_uri_unescape(a.sa_puri.su_user.s,
		    a.sa_puri.su_user.len, buf, sizeof(buf));
		p = a.sa_params;
		(void)sip_param_find(p, "unknownparam", &v);
	}
}

static void
fuzz_tokens(const struct sip_msg *m, int id)
{
	struct sip_iter	 it;
	struct sip_str	 t;

	sip_iter_init(&it, m, id);
	while (sip_token_next(&it, &t) == 1)
		;
}

static void
fuzz_auth(const struct sip_msg *m, int id)
{
	const struct sip_hdr	*h;
	struct sip_auth		 a;
	struct sip_digest	 d;
	int			 idx = -1;

	while ((h = sip_msg_hdr_next(m, id, &idx)) != NULL)
		if (sip_auth_parse(h->sh_value, &a) == 0)
			(void)sip_digest_parse(&a, &d);
}

static void
fuzz_reply(const struct sip_msg *m, const struct sockaddr *src)
{
	struct sockaddr_storage	 dst;
	static char		 out[70000];
	char			 tag[SIP_REPLY_TAG_LEN + 1];
	struct sip_msg		 r;
	size_t			 n;

	n = sip_reply_build(out, sizeof(out), m, 400, "Bad Request", src,
	    "X-Test: 1\r\n");
	if (n > 0)
		(void)sip_msg_parse(&r, out, n);
	(void)sip_reply_build(out, 64, m, 200, "OK", src, NULL);
	(void)sip_reply_top_via(out, sizeof(out), m, src);
	(void)sip_reply_dest(m, src, 0, &dst);
	sip_reply_to_tag(m, tag);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_msg		 m;
	struct sip_check	 c;
	struct sip_iter		 it;
	struct sip_via		 via;
	struct sip_addr		 a;
	struct sip_cseq		 cs;
	struct sip_uri		 u;
	struct sip_str		 s;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	uint32_t		 e;
	unsigned		 mf, mask;
	size_t			 cl;

	if (size > 65535)
		return 0;
	if (sip_msg_parse(&m, (const char *)data, size) != 0)
		return 0;
	(void)sip_msg_check(&m, &c);

	sip_iter_init(&it, &m, SIP_HDR_VIA);
	while (sip_via_next(&it, &via) == 1)
		;
	(void)sip_msg_from(&m, &a);
	(void)sip_msg_to(&m, &a);
	(void)sip_msg_callid(&m, &s);
	(void)sip_msg_cseq(&m, &cs);
	(void)sip_msg_expires(&m, &e);
	(void)sip_msg_max_forwards(&m, &mf);
	(void)sip_msg_content_length(&m, &cl);
	(void)sip_msg_allow_mask(&m, &mask);
	s = sip_msg_user_agent(&m);
	(void)sip_msg_hdr_by_name(&m, "X-Unknown");
	fuzz_addrs(&m, SIP_HDR_CONTACT);
	fuzz_addrs(&m, SIP_HDR_ROUTE);
	fuzz_addrs(&m, SIP_HDR_RECORD_ROUTE);
	fuzz_addrs(&m, SIP_HDR_PATH);
	fuzz_tokens(&m, SIP_HDR_REQUIRE);
	fuzz_tokens(&m, SIP_HDR_PROXY_REQUIRE);
	fuzz_tokens(&m, SIP_HDR_SUPPORTED);
	fuzz_auth(&m, SIP_HDR_AUTHORIZATION);
	fuzz_auth(&m, SIP_HDR_PROXY_AUTHORIZATION);
	if (m.sm_request && sip_uri_parse(m.sm_ruri.s, m.sm_ruri.len, &u) == 0)
		(void)sip_uri_param(&u, "transport", &s);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5060);
	sin.sin_addr.s_addr = htonl(0xc0000201);
	fuzz_reply(&m, (struct sockaddr *)&sin);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(5062);
	(void)inet_pton(AF_INET6, "2001:db8::9:1", &sin6.sin6_addr);
	fuzz_reply(&m, (struct sockaddr *)&sin6);
	return 0;
}
