/*
 * bench_parse: parse time per message for a typical REGISTER and INVITE,
 * with the lazy accesses a registrar or proxy makes (check, top Via,
 * From/To tags, Call-ID, CSeq, Contacts with expires/q, Expires,
 * credentials, User-Agent, Max-Forwards). Run by hand:
 *   build/test/fuzz/bench_parse [iterations]
 * Never a timed test: numbers depend on the machine.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sip_msg.h"

static const char bench_register[] =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---4a5d;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Contact: <sip:alice@192.0.2.10:5060;rinstance=1e2b;transport=UDP>;"
    "expires=3600;q=0.9\r\n"
    "To: <sip:alice@example.com>\r\n"
    "From: \"Alice\" <sip:alice@example.com>;tag=2a3e4c8f\r\n"
    "Call-ID: ZDRmYjE1NzY2ZjkxOWRmMzk3NGQ5NTc1OTBlMzE4Njk\r\n"
    "CSeq: 2 REGISTER\r\n"
    "Expires: 3600\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, "
    "INFO, SUBSCRIBE\r\n"
    "Supported: replaces, outbound, path\r\n"
    "User-Agent: Zoiper rv2.10.8.2\r\n"
    "Authorization: Digest username=\"alice\",realm=\"example.com\","
    "nonce=\"Y2FmZWJhYmUxMjM0NTY3ODkwYWJjZGVm\",uri=\"sip:example.com\","
    "response=\"6629fae49393a05397450978507c4ef1\",cnonce=\"0a4f113b\","
    "nc=00000001,qop=auth,algorithm=MD5\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char bench_invite[] =
    "INVITE sip:+4930123456@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-524287-1---77aa;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Contact: <sip:alice@192.0.2.10:5060;transport=UDP>\r\n"
    "To: <sip:+4930123456@example.com>\r\n"
    "From: \"Alice\" <sip:alice@example.com>;tag=91ab2c3d\r\n"
    "Call-ID: YjkzMjU0ZTI2YWE5ZDBlMDk3ZjgyYjc4NzIzNDU2Nzg\r\n"
    "CSeq: 2 INVITE\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, "
    "INFO, SUBSCRIBE\r\n"
    "Content-Type: application/sdp\r\n"
    "Supported: replaces\r\n"
    "User-Agent: Zoiper rv2.10.8.2\r\n"
    "Proxy-Authorization: Digest username=\"alice\",realm=\"example.com\","
    "nonce=\"Y2FmZWJhYmUxMjM0NTY3ODkwYWJjZGVm\","
    "uri=\"sip:+4930123456@example.com\","
    "response=\"0b1ac1f4bd2c7d3b3a2c8d5b4c3e2f10\",cnonce=\"7f3e2d1c\","
    "nc=00000001,qop=auth,algorithm=MD5\r\n"
    "Content-Length: 228\r\n"
    "\r\n"
    "v=0\r\n"
    "o=Z 0 0 IN IP4 192.0.2.10\r\n"
    "s=Z\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "m=audio 8000 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=sendrecv\r\n"
    "a=ptime:20\r\n"
    "a=x:0123456\r\n";

static volatile size_t bench_sink;

static int
bench_one(const char *buf, size_t len)
{
	struct sip_msg		 m;
	struct sip_check	 c;
	struct sip_via		 via;
	struct sip_addr		 a;
	struct sip_iter		 it;
	struct sip_cseq		 cs;
	struct sip_str		 s;
	struct sip_auth		 au;
	struct sip_digest	 d;
	const struct sip_hdr	*h;
	uint32_t		 e;
	unsigned		 mf;

	if (sip_msg_parse(&m, buf, len) != 0 ||
	    sip_msg_check(&m, &c) != SIP_CHECK_OK)
		return -1;
	(void)sip_msg_via_top(&m, &via);
	(void)sip_msg_from(&m, &a);
	bench_sink += a.sa_tag.len;
	(void)sip_msg_to(&m, &a);
	(void)sip_msg_callid(&m, &s);
	(void)sip_msg_cseq(&m, &cs);
	(void)sip_msg_max_forwards(&m, &mf);
	(void)sip_msg_expires(&m, &e);
	sip_iter_init(&it, &m, SIP_HDR_CONTACT);
	while (sip_addr_next(&it, &a) == 1)
		bench_sink += a.sa_uri.len + a.sa_expires.len;
	h = sip_msg_hdr(&m, m.sm_method == SIP_METHOD_REGISTER ?
	    SIP_HDR_AUTHORIZATION : SIP_HDR_PROXY_AUTHORIZATION);
	if (h != NULL && sip_auth_parse(h->sh_value, &au) == 0 &&
	    sip_digest_parse(&au, &d) == 0)
		bench_sink += d.sd_response.len;
	bench_sink += sip_msg_user_agent(&m).len + via.sv_branch.len;
	return 0;
}

static double
bench_run(const char *name, const char *buf, size_t len, long n)
{
	struct timespec	 t0, t1;
	double		 ns;
	long		 i;

	if (bench_one(buf, len) != 0) {
		fprintf(stderr, "%s: does not parse\n", name);
		exit(1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		(void)bench_one(buf, len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	    (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n;
	printf("%-8s %4zu bytes  %7.0f ns/message  (%ld iterations)\n", name,
	    len, ns, n);

	/* framing alone, for comparison */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		struct sip_msg	 m;

		(void)sip_msg_parse(&m, buf, len);
		bench_sink += m.sm_nhdrs;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%-8s framing only   %7.0f ns/message\n", name,
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	    (double)(t1.tv_nsec - t0.tv_nsec)) / (double)n);
	return ns;
}

int
main(int argc, char *argv[])
{
	long	 n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;

	if (n <= 0)
		n = 1000000;
	bench_run("REGISTER", bench_register, sizeof(bench_register) - 1, n);
	bench_run("INVITE", bench_invite, sizeof(bench_invite) - 1, n);
	return 0;
}
