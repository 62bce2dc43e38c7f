/*
 * test_route.c: daemon/route.c as a table: request text and source in,
 * route_target out (forward: every target's R-URI and destination, the
 * cuts, Record-Route; reply: code, reason, header lines; drop), on a
 * fake clock, against real subscriber/trusted DB_TEXT files and a real
 * location table in shm. Rows run in order: the nonce of a 407 is the
 * one the following rows' credentials use, and the To tag sipd gave a
 * 407 is what the next ACK carries.
 *
 * Each row names the daemon/DESIGN.md "Decisions where the contract was
 * silent" -> "Proxy" bullet it covers as [P1]..[P6] (in that order):
 *  P1 tm opens, route decides, proxy builds: the split itself; the rows
 *     show route_request() deciding with no socket and no clock
 *  P2 out of dialog: gateway not challenged, trusted/407/403, the
 *     credentials cut, INVITE to the gateway, else the bindings
 *     (404/480)
 *  P3 forking: at most 8, q order, received wins, host names skipped
 *  P4 in dialog: loose routing, our Routes cut, 404, 478
 *  P5 Record-Route on INVITE and SUBSCRIBE (Max-Forwards, 513 and the
 *     second Record-Route are proxy.c's)
 *  P6 a wildcard listen counts every interface address as "myself"
 * and [ACK] for the ACK rules of route.c's header comment.
 *
 * sipd is 192.0.2.1:5060 and [2001:db8::1]:5060; the gateway
 * 192.0.2.99:5070; alice's phone 192.0.2.20:5060.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <time.h>
#include <cmocka.h>

#include "addr.h"
#include "errbuf.h"
#include "log.h"
#include "loctab.h"
#include "route.h"
#include "shm.h"
#include "sip_reply.h"
#include "udp.h"
#include "userdb.h"

#include "decider_test.h"

#define RT_SRC		"192.0.2.20:5060"

/*
 * A request; to is the whole To value (a tag after the >), hdrs more
 * header lines (they start at header index 6), ${AUTH} the row's
 * Proxy-Authorization. The Via branch is made of callid and cseq, so
 * an ACK shares its INVITE's.
 */
#define RQ(method, ruri, from, to, callid, cseq, hdrs)			\
	method " " ruri " SIP/2.0\n"					\
	"Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK-" callid "-"	\
	cseq "\n"							\
	"Max-Forwards: 70\n"						\
	"From: <" from ">;tag=ft" callid "\n"				\
	"To: " to "\n"							\
	"Call-ID: " callid "@pc\n"					\
	"CSeq: " cseq " " method "\n"					\
	hdrs								\
	"${AUTH}"							\
	"Content-Length: 0\n\n"

#define ALICE		"sip:alice@example.com"
#define PSTN		"sip:5551234@192.0.2.1;user=phone"
#define GW_PSTN		"sip:5551234@192.0.2.99:5070;user=phone -> " \
	"192.0.2.99:5070"
#define BOB_TARGET	"sip:bob@10.0.0.5:5060 -> 192.0.2.30:40000"
#define CHALLENGE(realm)	"Proxy-Authenticate: Digest realm=\"" realm \
	"\", nonce=\"${NONCE}\", qop=\"auth\", algorithm=MD5\r\n"
#define PAUTH		"Proxy Authentication Required"

struct route_row {
	const char	*name;
	const char	*src;		/* "IP:PORT"; NULL: RT_SRC */
	const char	*auth;		/* "user:password[:nc[:realm]]" */
	const char	*req;
	int		 verdict;
	/* ROUTE_REPLY */
	int		 code;
	const char	*reason;
	const char	*extra;		/* NULL: none (${NONCE}) */
	/* ROUTE_FORWARD */
	const char	*targets;	/* "R-URI -> DST | ..."; "=" kept */
	const char	*cuts;		/* "Hdr(#i)" whole, "Hdr(#i)[span]" */
	bool		 rr;		/* rt_record_route */
	bool		 keep_tag;	/* ${TAG} := this request's To tag */
};

static struct conf		 rt_conf;
static struct loctab		*rt_lt;
static struct dt_vars		 rt_vars;
static char			 rt_dir[256];

/* ---- bindings -------------------------------------------------------- */

struct rt_contact {
	const char	*uri;
	const char	*received;
	int		 q;
};

static void
rt_bind(const char *aor, const struct rt_contact *cs, unsigned n)
{
	struct loctab_contact	 c[LOCTAB_SAVE_MAX];
	struct loctab_save	 sv;
	struct loctab_binding	 out[16];
	unsigned		 i, nout;

	assert_true(n <= LOCTAB_SAVE_MAX);
	memset(c, 0, sizeof(c));
	for (i = 0; i < n; i++) {
		c[i].lc_uri.ls_ptr = cs[i].uri;
		c[i].lc_uri.ls_len = strlen(cs[i].uri);
		if (cs[i].received != NULL) {
			c[i].lc_received.ls_ptr = cs[i].received;
			c[i].lc_received.ls_len = strlen(cs[i].received);
		}
		c[i].lc_expires = 3600;
		c[i].lc_q = cs[i].q;
		c[i].lc_methods = LOCTAB_METHODS_ALL;
	}
	memset(&sv, 0, sizeof(sv));
	sv.sv_aor.ls_ptr = aor;
	sv.sv_aor.ls_len = strlen(aor);
	sv.sv_callid.ls_ptr = aor;
	sv.sv_callid.ls_len = strlen(aor);
	sv.sv_user_agent.ls_ptr = "n/a";
	sv.sv_user_agent.ls_len = 3;
	sv.sv_now = DT_NOW;
	sv.sv_cseq = 1;
	sv.sv_contacts = c;
	sv.sv_ncontacts = n;
	assert_int_equal(loctab_save(rt_lt, &sv, out, 16, &nout), 0);
}

/*
 * alice: 11 bindings, q 1, 0.1..0.9 and unset; bob: one behind NAT;
 * carol: a host name only; dave: a host name (q=1) and an address;
 * frank: IPv6; erin: none.
 */
static void
rt_bindings(void)
{
	static const struct rt_contact alice[] = {
		{ "sip:alice@192.0.2.20:5001", NULL, 100 },
		{ "sip:alice@192.0.2.20:5002", NULL, 200 },
		{ "sip:alice@192.0.2.20:5003", NULL, 300 },
		{ "sip:alice@192.0.2.20:5004", NULL, 400 },
		{ "sip:alice@192.0.2.20:5005", NULL, 500 },
		{ "sip:alice@192.0.2.20:5011", NULL, LOCTAB_Q_UNSET },
		{ "sip:alice@192.0.2.20:5006", NULL, 600 },
		{ "sip:alice@192.0.2.20:5007", NULL, 700 },
		{ "sip:alice@192.0.2.20:5008", NULL, 800 },
		{ "sip:alice@192.0.2.20:5009", NULL, 900 },
		{ "sip:alice@192.0.2.20:5010", NULL, 1000 },
	};
	static const struct rt_contact bob[] = {
		{ "sip:bob@10.0.0.5:5060", "sip:192.0.2.30:40000",
		  LOCTAB_Q_UNSET },
	};
	static const struct rt_contact carol[] = {
		{ "sip:carol@pc.example.com", NULL, LOCTAB_Q_UNSET },
	};
	static const struct rt_contact dave[] = {
		{ "sip:dave@pc.example.com", NULL, 1000 },
		{ "sip:dave@192.0.2.40:5060", NULL, 500 },
	};
	static const struct rt_contact frank[] = {
		{ "sip:frank@[2001:db8::60]:5062", NULL, LOCTAB_Q_UNSET },
	};

	rt_bind("alice", alice, sizeof(alice) / sizeof(alice[0]));
	rt_bind("bob", bob, 1);
	rt_bind("carol", carol, 1);
	rt_bind("dave", dave, 2);
	rt_bind("frank", frank, 1);
}

/* ---- the tables ------------------------------------------------------ */

static const struct route_row rt_main[] = {
	/* [P2] out of dialog: who is challenged */
	{ "INVITE from the gateway IP and port: not challenged, to the "
	  "R-URI user [P2][P3][P5]", "192.0.2.99:5070", NULL,
	  RQ("INVITE", "sip:bob@192.0.2.1", "sip:+15550001@192.0.2.99",
	    "<sip:bob@192.0.2.1>", "g1", "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL, BOB_TARGET, "", true, false },
	{ "gateway IP from another port (match_port): 407, realm the "
	  "From host [P2]", "192.0.2.99:5071", NULL,
	  RQ("INVITE", "sip:bob@192.0.2.1", "sip:+15550001@192.0.2.99",
	    "<sip:bob@192.0.2.1>", "g2", "1", ""),
	  ROUTE_REPLY, 407, PAUTH, CHALLENGE("192.0.2.99"), NULL, NULL,
	  false, false },
	{ "UA INVITE without credentials -> 407 [P2]", NULL, NULL,
	  RQ("INVITE", PSTN, ALICE, "<" PSTN ">", "g3", "1", ""),
	  ROUTE_REPLY, 407, PAUTH, CHALLENGE("example.com"), NULL, NULL,
	  false, true },
	{ "ACK of that stateless 407 (its To tag) -> dropped [ACK]", NULL,
	  NULL,
	  RQ("ACK", PSTN, ALICE, "<" PSTN ">;tag=${TAG}", "g3", "1", ""),
	  ROUTE_DROP, 0, NULL, NULL, NULL, NULL, false, false },
	{ "same ACK with another To tag: in dialog, R-URI is sipd, routed "
	  "as its INVITE without auth [ACK]", NULL, NULL,
	  RQ("ACK", PSTN, ALICE, "<" PSTN ">;tag=0123456789abcdef", "g3",
	    "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL, GW_PSTN, "", false, false },
	{ "MESSAGE without credentials -> 407 [P2]", NULL, NULL,
	  RQ("MESSAGE", "sip:bob@192.0.2.1", ALICE, "<sip:bob@192.0.2.1>",
	    "g4", "1", ""),
	  ROUTE_REPLY, 407, PAUTH, CHALLENGE("example.com"), NULL, NULL,
	  false, false },
	{ "CANCEL not challenged, goes where its INVITE goes [P2]", NULL,
	  NULL,
	  RQ("CANCEL", PSTN, ALICE, "<" PSTN ">", "g3", "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL, GW_PSTN, "", false, false },
	{ "credentials of bob, From alice -> 403 Forbidden auth ID [P2]",
	  NULL, "bob:hunter2",
	  RQ("INVITE", PSTN, ALICE, "<" PSTN ">", "g5", "1", ""),
	  ROUTE_REPLY, 403, "Forbidden auth ID", NULL, NULL, NULL, false,
	  false },
	{ "INVITE with credentials: to the gateway, R-URI sip:USER@GW_IP:"
	  "GW_PORT;params, credentials cut [P2][P5]", NULL, "alice:secret",
	  RQ("INVITE", PSTN, ALICE, "<" PSTN ">", "g6", "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL, GW_PSTN, "Proxy-Authorization(#6)",
	  true, false },
	{ "sips R-URI: the gateway R-URI is sip; only the credentials "
	  "used are cut [P2]", NULL, "alice:secret",
	  RQ("INVITE", "sips:5551234@example.com", ALICE,
	    "<sips:5551234@example.com>", "g7", "1",
	    "Proxy-Authorization: Digest username=\"alice\", "
	    "realm=\"other.org\", nonce=\"abc\", uri=\"sip:x\", "
	    "response=\"0123\"\n"),
	  ROUTE_FORWARD, 0, NULL, NULL,
	  "sip:5551234@192.0.2.99:5070 -> 192.0.2.99:5070",
	  "Proxy-Authorization(#7)", true, false },
	{ "trusted source: not challenged [P2]", "192.0.2.50:5060", NULL,
	  RQ("INVITE", PSTN, "sip:anyone@example.org", "<" PSTN ">", "g8",
	    "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL, GW_PSTN, "", true, false },
	{ "realm is the From host when auth.realm is unset [P2]", NULL,
	  NULL,
	  RQ("INVITE", PSTN, "sip:alice@other.example.net", "<" PSTN ">",
	    "g9", "1", ""),
	  ROUTE_REPLY, 407, PAUTH, CHALLENGE("other.example.net"), NULL,
	  NULL, false, false },
	/* [P2] other methods: the R-URI user's bindings */
	{ "MESSAGE to a user not in subscriber -> 404 [P2]", NULL,
	  "alice:secret:-:other.example.net",
	  RQ("MESSAGE", "sip:nobody@192.0.2.1", "sip:alice@other.example.net",
	    "<sip:nobody@192.0.2.1>", "m1", "1", ""),
	  ROUTE_REPLY, 404, "Not Found", NULL, NULL, NULL, false, false },
	{ "MESSAGE to a subscriber without binding -> 480 [P2]", NULL,
	  "alice:secret:-:other.example.net",
	  RQ("MESSAGE", "sip:erin@192.0.2.1", "sip:alice@other.example.net",
	    "<sip:erin@192.0.2.1>", "m2", "1", ""),
	  ROUTE_REPLY, 480, "Temporarily Unavailable", NULL, NULL, NULL,
	  false, false },
	/* [P3] forking */
	{ "11 bindings: 8 copies, highest q first [P3]", NULL,
	  "alice:secret:-:other.example.net",
	  RQ("MESSAGE", "sip:alice@192.0.2.1", "sip:alice@other.example.net",
	    "<sip:alice@192.0.2.1>", "m3", "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL,
	  "sip:alice@192.0.2.20:5010 -> 192.0.2.20:5010 | "
	  "sip:alice@192.0.2.20:5009 -> 192.0.2.20:5009 | "
	  "sip:alice@192.0.2.20:5008 -> 192.0.2.20:5008 | "
	  "sip:alice@192.0.2.20:5007 -> 192.0.2.20:5007 | "
	  "sip:alice@192.0.2.20:5006 -> 192.0.2.20:5006 | "
	  "sip:alice@192.0.2.20:5005 -> 192.0.2.20:5005 | "
	  "sip:alice@192.0.2.20:5004 -> 192.0.2.20:5004 | "
	  "sip:alice@192.0.2.20:5003 -> 192.0.2.20:5003",
	  "Proxy-Authorization(#6)", false, false },
	{ "received wins over the Contact address [P3]", NULL,
	  "alice:secret:-:other.example.net",
	  RQ("OPTIONS", "sip:bob@192.0.2.1", "sip:alice@other.example.net",
	    "<sip:bob@192.0.2.1>", "m4", "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL, BOB_TARGET, "Proxy-Authorization(#6)",
	  false, false },
	{ "host-name Contacts only -> 480 [P3]", NULL,
	  "alice:secret:-:other.example.net",
	  RQ("MESSAGE", "sip:Carol@192.0.2.1", "sip:alice@other.example.net",
	    "<sip:Carol@192.0.2.1>", "m5", "1", ""),
	  ROUTE_REPLY, 480, "Temporarily Unavailable", NULL, NULL, NULL,
	  false, false },
	{ "host-name Contacts skipped, the address kept [P3]", NULL,
	  "alice:secret:-:other.example.net",
	  RQ("MESSAGE", "sip:dave@192.0.2.1", "sip:alice@other.example.net",
	    "<sip:dave@192.0.2.1>", "m6", "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL,
	  "sip:dave@192.0.2.40:5060 -> 192.0.2.40:5060",
	  "Proxy-Authorization(#6)", false, false },
	{ "an IPv6 binding [P3]", NULL, "alice:secret:-:other.example.net",
	  RQ("MESSAGE", "sip:frank@192.0.2.1", "sip:alice@other.example.net",
	    "<sip:frank@192.0.2.1>", "m7", "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL,
	  "sip:frank@[2001:db8::60]:5062 -> [2001:db8::60]:5062",
	  "Proxy-Authorization(#6)", false, false },
	{ "SUBSCRIBE is record-routed [P5]", NULL,
	  "alice:secret:-:other.example.net",
	  RQ("SUBSCRIBE", "sip:bob@192.0.2.1", "sip:alice@other.example.net",
	    "<sip:bob@192.0.2.1>", "m8", "1", "Event: presence\n"),
	  ROUTE_FORWARD, 0, NULL, NULL, BOB_TARGET, "Proxy-Authorization(#7)",
	  true, false },
	{ "a used nc again -> a fresh 407 [P2]", NULL,
	  "alice:secret:00000001:other.example.net",
	  RQ("MESSAGE", "sip:bob@192.0.2.1", "sip:alice@other.example.net",
	    "<sip:bob@192.0.2.1>", "m9", "1", ""),
	  ROUTE_REPLY, 407, PAUTH, CHALLENGE("other.example.net"), NULL,
	  NULL, false, false },
	/* [P4] in dialog: no auth, loose routing */
	{ "our Route cut, to the next Route URI [P4]", NULL, NULL,
	  RQ("BYE", "sip:bob@192.0.2.30:5062", ALICE,
	    "<sip:bob@example.com>;tag=d1", "d1", "2",
	    "Route: <sip:192.0.2.1:5060;lr>, <sip:192.0.2.77:5080;lr>\n"),
	  ROUTE_FORWARD, 0, NULL, NULL, "= -> 192.0.2.77:5080",
	  "Route(#6)[<sip:192.0.2.1:5060;lr>, ]", false, false },
	{ "two of our Routes on top (double Record-Route) cut [P4]", NULL,
	  NULL,
	  RQ("BYE", "sip:bob@192.0.2.30:5062", ALICE,
	    "<sip:bob@example.com>;tag=d1", "d1", "3",
	    "Route: <sip:192.0.2.1;lr>\nRoute: <sip:[2001:db8::1];lr>\n"
	    "Route: <sip:192.0.2.77;lr>\n"),
	  ROUTE_FORWARD, 0, NULL, NULL, "= -> 192.0.2.77:5060",
	  "Route(#6) | Route(#7)", false, false },
	{ "only our Route: cut, to the R-URI [P4]", NULL, NULL,
	  RQ("BYE", "sip:bob@192.0.2.30:5062", ALICE,
	    "<sip:bob@example.com>;tag=d1", "d1", "4",
	    "Route: <sip:192.0.2.1;lr>\n"),
	  ROUTE_FORWARD, 0, NULL, NULL, "= -> 192.0.2.30:5062", "Route(#6)",
	  false, false },
	{ "our Route and the next on one line, three values [P4]", NULL,
	  NULL,
	  RQ("BYE", "sip:bob@192.0.2.30:5062", ALICE,
	    "<sip:bob@example.com>;tag=d1", "d1", "5",
	    "Route: <sip:192.0.2.1;lr>,<sip:192.0.2.77;lr>, "
	    "<sip:192.0.2.78;lr>\n"),
	  ROUTE_FORWARD, 0, NULL, NULL, "= -> 192.0.2.77:5060",
	  "Route(#6)[<sip:192.0.2.1;lr>,]", false, false },
	{ "no Route: to the R-URI, not challenged [P4]", NULL, NULL,
	  RQ("BYE", "sip:bob@192.0.2.30:5062", ALICE,
	    "<sip:bob@example.com>;tag=d1", "d1", "6", ""),
	  ROUTE_FORWARD, 0, NULL, NULL, "= -> 192.0.2.30:5062", "", false,
	  false },
	{ "a Route without ;lr is sent to as a loose router would [P4]",
	  NULL, NULL,
	  RQ("BYE", "sip:bob@192.0.2.30:5062", ALICE,
	    "<sip:bob@example.com>;tag=d1", "d1", "7",
	    "Route: <sip:192.0.2.77:5080>\n"),
	  ROUTE_FORWARD, 0, NULL, NULL, "= -> 192.0.2.77:5080", "", false,
	  false },
	{ "R-URI a host name -> 478 [P4]", NULL, NULL,
	  RQ("BYE", "sip:bob@pc.example.com", ALICE,
	    "<sip:bob@example.com>;tag=d1", "d1", "8", ""),
	  ROUTE_REPLY, 478, "Unresolvable destination", NULL, NULL, NULL,
	  false, false },
	{ "next Route a host name -> 478 [P4]", NULL, NULL,
	  RQ("BYE", "sip:bob@192.0.2.30:5062", ALICE,
	    "<sip:bob@example.com>;tag=d1", "d1", "9",
	    "Route: <sip:192.0.2.1;lr>, <sip:proxy.example.net;lr>\n"),
	  ROUTE_REPLY, 478, "Unresolvable destination", NULL, NULL, NULL,
	  false, false },
	{ "R-URI is sipd and no Route left -> 404 [P4]", NULL, NULL,
	  RQ("BYE", "sip:bob@192.0.2.1:5060", ALICE,
	    "<sip:bob@example.com>;tag=d1", "d1", "10",
	    "Route: <sip:192.0.2.1;lr>\n"),
	  ROUTE_REPLY, 404, "Not Found", NULL, NULL, NULL, false, false },
	{ "R-URI sipd over IPv6 ([2001:db8::1]) -> 404 [P4]", NULL, NULL,
	  RQ("BYE", "sip:bob@[2001:db8::1]", ALICE,
	    "<sip:bob@example.com>;tag=d1", "d1", "11", ""),
	  ROUTE_REPLY, 404, "Not Found", NULL, NULL, NULL, false, false },
	{ "a strict router sent our URI as R-URI: last Route becomes the "
	  "R-URI [P4]", NULL, NULL,
	  RQ("BYE", "sip:192.0.2.1:5060;lr", ALICE,
	    "<sip:bob@example.com>;tag=d1", "d1", "12",
	    "Route: <sip:bob@192.0.2.30:5062>\n"),
	  ROUTE_FORWARD, 0, NULL, NULL,
	  "sip:bob@192.0.2.30:5062 -> 192.0.2.30:5062", "Route(#6)", false,
	  false },
	{ "ACK without a To tag: absorbed [ACK]", NULL, NULL,
	  RQ("ACK", "sip:bob@192.0.2.1", ALICE, "<sip:bob@192.0.2.1>", "a1",
	    "1", ""),
	  ROUTE_DROP, 0, NULL, NULL, NULL, NULL, false, false },
};

/* pstn.gw_ip unset: INVITE goes to the bindings as everything else. */
static const struct route_row rt_nogw[] = {
	{ "no gateway: INVITE without credentials -> 407 [P2]", NULL, NULL,
	  RQ("INVITE", "sip:bob@192.0.2.1", ALICE, "<sip:bob@192.0.2.1>",
	    "n1", "1", ""),
	  ROUTE_REPLY, 407, PAUTH, CHALLENGE("example.com"), NULL, NULL,
	  false, false },
	{ "no gateway: INVITE to the R-URI user's bindings [P2][P5]", NULL,
	  "alice:secret",
	  RQ("INVITE", "sip:bob@192.0.2.1", ALICE, "<sip:bob@192.0.2.1>",
	    "n2", "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL, BOB_TARGET, "Proxy-Authorization(#6)",
	  true, false },
	{ "no gateway: INVITE to a user not in subscriber -> 404 [P2]", NULL,
	  "alice:secret",
	  RQ("INVITE", "sip:5551234@192.0.2.1", ALICE,
	    "<sip:5551234@192.0.2.1>", "n3", "1", ""),
	  ROUTE_REPLY, 404, "Not Found", NULL, NULL, NULL, false, false },
};

/* pstn.match_port = no: the gateway's IP from any port. */
static const struct route_row rt_anyport[] = {
	{ "match_port off: the gateway IP from any port is not "
	  "challenged [P2]", "192.0.2.99:40000", NULL,
	  RQ("INVITE", "sip:bob@192.0.2.1", "sip:+15550001@192.0.2.99",
	    "<sip:bob@192.0.2.1>", "p1", "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL, BOB_TARGET, "", true, false },
};

/* auth.realm set: the 407's realm, whatever the From host. */
static const struct route_row rt_realm[] = {
	{ "auth.realm set: the 407 realm is it, not the From host [P2]",
	  NULL, NULL,
	  RQ("INVITE", PSTN, ALICE, "<" PSTN ">", "r1", "1", ""),
	  ROUTE_REPLY, 407, PAUTH, CHALLENGE("sipd.test"), NULL, NULL,
	  false, false },
	{ "auth.realm set: credentials for it -> to the gateway [P2]", NULL,
	  "alice:secret:-:sipd.test",
	  RQ("INVITE", PSTN, ALICE, "<" PSTN ">", "r2", "1", ""),
	  ROUTE_FORWARD, 0, NULL, NULL, GW_PSTN, "Proxy-Authorization(#6)",
	  true, false },
	{ "auth.realm set: credentials for the From host only -> 407 [P2]",
	  NULL, "alice:secret",
	  RQ("INVITE", PSTN, ALICE, "<" PSTN ">", "r3", "1", ""),
	  ROUTE_REPLY, 407, PAUTH, CHALLENGE("sipd.test"), NULL, NULL,
	  false, false },
};

/* listen udp:0.0.0.0:5060: every IPv4 interface address is sipd. */
static const struct route_row rt_wildcard[] = {
	{ "wildcard listen: 127.0.0.1 is sipd, R-URI with no Route -> 404 "
	  "[P6]", NULL, NULL,
	  RQ("BYE", "sip:bob@127.0.0.1", ALICE,
	    "<sip:bob@example.com>;tag=d1", "w1", "2", ""),
	  ROUTE_REPLY, 404, "Not Found", NULL, NULL, NULL, false, false },
	{ "wildcard listen: our Route at 127.0.0.1 cut [P6]", NULL, NULL,
	  RQ("BYE", "sip:bob@192.0.2.30:5062", ALICE,
	    "<sip:bob@example.com>;tag=d1", "w1", "3",
	    "Route: <sip:127.0.0.1;lr>\n"),
	  ROUTE_FORWARD, 0, NULL, NULL, "= -> 192.0.2.30:5062", "Route(#6)",
	  false, false },
	{ "wildcard listen: another port of 127.0.0.1 is not sipd [P6]",
	  NULL, NULL,
	  RQ("BYE", "sip:bob@127.0.0.1:5070", ALICE,
	    "<sip:bob@example.com>;tag=d1", "w1", "4", ""),
	  ROUTE_FORWARD, 0, NULL, NULL, "= -> 127.0.0.1:5070", "", false,
	  false },
};

/* ---- the runner ------------------------------------------------------ */

static void
rt_put_target(char *out, size_t cap, const struct sip_str *ruri,
    const struct sockaddr_storage *dst, socklen_t dstlen)
{
	char	 a[80];
	size_t	 at = strlen(out);

	assert_true(dstlen > 0);
	dt_addr_str((const struct sockaddr *)dst, a, sizeof(a));
	if (ruri->s == NULL)
		(void)snprintf(out + at, cap - at, "%s= -> %s",
		    at > 0 ? " | " : "", a);
	else
		(void)snprintf(out + at, cap - at, "%s%.*s -> %s",
		    at > 0 ? " | " : "", (int)ruri->len, ruri->s, a);
}

static void
rt_put_cuts(char *out, size_t cap, const struct sip_msg *m,
    const struct route_target *t)
{
	const struct route_cut	*c;
	const struct sip_hdr	*h;
	size_t			 at;
	int			 i;

	out[0] = '\0';
	for (i = 0; i < t->rt_ncuts; i++) {
		c = &t->rt_cuts[i];
		assert_true(c->rc_hdr >= 0 && (size_t)c->rc_hdr < m->sm_nhdrs);
		h = &m->sm_hdrs[c->rc_hdr];
		at = strlen(out);
		(void)snprintf(out + at, cap - at, "%s%.*s(#%d)",
		    i > 0 ? " | " : "", (int)h->sh_name.len, h->sh_name.s,
		    c->rc_hdr);
		if (c->rc_whole)
			continue;
		/* a part of the line, inside it */
		assert_true(c->rc_span.s >= h->sh_line.s &&
		    c->rc_span.s + c->rc_span.len <= h->sh_line.s +
		    h->sh_line.len);
		at = strlen(out);
		(void)snprintf(out + at, cap - at, "[%.*s]",
		    (int)c->rc_span.len, c->rc_span.s);
	}
}

static void
rt_run(const struct route_row *rows, size_t n)
{
	static struct dt_msg		 t;
	static struct route_target	 rt;
	struct sockaddr_storage		 src;
	char				 want[2048], got[4096];
	const struct route_row		*r;
	size_t				 i;
	int				 k;

	for (i = 0; i < n; i++) {
		r = &rows[i];
		dt_msg_make(&t, r->req, r->auth, "Proxy-Authorization",
		    &rt_vars);
		dt_sockaddr(r->src != NULL ? r->src : RT_SRC, &src);
		memset(&rt, 0x5a, sizeof(rt));	/* nothing left over */
		route_request(&t.dm_msg, (const struct sockaddr *)&src,
		    DT_NOW, &rt);
		if (rt.rt_verdict != r->verdict)
			fail_msg("row \"%s\": verdict %d, want %d (code %d, "
			    "%s)", r->name, rt.rt_verdict, r->verdict,
			    rt.rt_verdict == ROUTE_REPLY ? rt.rt_code : 0,
			    rt.rt_verdict == ROUTE_REPLY ? rt.rt_reason : "");
		if (r->keep_tag)
			sip_reply_to_tag(&t.dm_msg, rt_vars.dv_tag);
		if (rt.rt_verdict == ROUTE_REPLY) {
			if (rt.rt_code != r->code)
				fail_msg("row \"%s\": code %d, want %d",
				    r->name, rt.rt_code, r->code);
			dt_assert_text(r->name, "reason", rt.rt_reason,
			    r->reason);
			if (rt.rt_code == 407)
				dt_take_nonce(r->name, rt.rt_extra, &rt_vars);
			if (r->extra == NULL) {
				if (rt.rt_extra != NULL)
					fail_msg("row \"%s\": header lines "
					    "\"%s\", want none", r->name,
					    rt.rt_extra);
			} else {
				dt_expand_nonce(want, sizeof(want), r->extra,
				    &rt_vars);
				dt_assert_text(r->name, "header lines",
				    rt.rt_extra, want);
			}
		}
		if (rt.rt_verdict != ROUTE_FORWARD)
			continue;
		got[0] = '\0';
		rt_put_target(got, sizeof(got), &rt.rt_ruri, &rt.rt_dst,
		    rt.rt_dstlen);
		assert_true(rt.rt_nmore >= 0 &&
		    rt.rt_nmore < ROUTE_BRANCHES_MAX);
		for (k = 0; k < rt.rt_nmore; k++)
			rt_put_target(got, sizeof(got), &rt.rt_more[k].rb_ruri,
			    &rt.rt_more[k].rb_dst, rt.rt_more[k].rb_dstlen);
		dt_assert_text(r->name, "targets", got, r->targets);
		rt_put_cuts(got, sizeof(got), &t.dm_msg, &rt);
		dt_assert_text(r->name, "cuts", got, r->cuts);
		if (rt.rt_record_route != r->rr)
			fail_msg("row \"%s\": record_route %d, want %d",
			    r->name, rt.rt_record_route, r->rr);
	}
	printf("# %zu rows passed\n", n);
}

/* sipd's sockets: what addr_init_myself() gets from the workers. */
static void
rt_myself(const char *const *addrs, int n)
{
	struct udp_sock	 socks[4];
	int		 i;

	assert_true(n <= 4);
	memset(socks, 0, sizeof(socks));
	for (i = 0; i < n; i++) {
		socks[i].us_fd = -1;
		dt_sockaddr(addrs[i], &socks[i].us_addr);
		socks[i].us_addrlen = socks[i].us_addr.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	}
	addr_init_myself(socks, n);
}

static void
rt_table_setup(const char *gw_ip, bool match_port)
{
	static const char *const sipd[] = { "192.0.2.1:5060",
	    "[2001:db8::1]:5060" };
	struct errbuf	 errs = ERRBUF_INIT;

	dt_conf(&rt_conf, rt_dir);
	if (conf_set(&rt_conf, "pstn.gw_ip", gw_ip, "test", 0, &errs) != 0 ||
	    conf_set(&rt_conf, "pstn.gw_port", "5070", "test", 0,
	    &errs) != 0 ||
	    conf_set(&rt_conf, "pstn.match_port", match_port ? "yes" : "no",
	    "test", 0, &errs) != 0)
		fail_msg("conf_set: %s", errbuf_text(&errs));
	errbuf_free(&errs);
	rt_lt = dt_shm_setup(&rt_conf, 16, 256);
	rt_bindings();
	rt_myself(sipd, 2);
	route_init(&rt_conf, rt_lt);
	memset(&rt_vars, 0, sizeof(rt_vars));
}

static void
test_route_main(void **state)
{
	(void)state;
	rt_table_setup("192.0.2.99", true);
	rt_run(rt_main, sizeof(rt_main) / sizeof(rt_main[0]));
}

static void
test_route_no_gateway(void **state)
{
	(void)state;
	rt_table_setup("", true);
	rt_run(rt_nogw, sizeof(rt_nogw) / sizeof(rt_nogw[0]));
}

static void
test_route_any_port(void **state)
{
	(void)state;
	rt_table_setup("192.0.2.99", false);
	rt_run(rt_anyport, sizeof(rt_anyport) / sizeof(rt_anyport[0]));
}

static void
test_route_realm(void **state)
{
	(void)state;
	rt_table_setup("192.0.2.99", true);
	(void)snprintf(rt_conf.c_auth_realm, sizeof(rt_conf.c_auth_realm),
	    "%s", "sipd.test");
	rt_run(rt_realm, sizeof(rt_realm) / sizeof(rt_realm[0]));
}

static void
test_route_wildcard(void **state)
{
	static const char *const any[] = { "0.0.0.0:5060" };

	(void)state;
	rt_table_setup("192.0.2.99", true);
	rt_myself(any, 1);
	rt_run(rt_wildcard, sizeof(rt_wildcard) / sizeof(rt_wildcard[0]));
}

/* ---- fixtures -------------------------------------------------------- */

static int
group_setup(void **state)
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	int		 rc;

	(void)state;
	log_init(true, LOG_ERR, LOG_DAEMON);
	dt_tables_write(rt_dir, sizeof(rt_dir));
	dt_conf(&rt_conf, rt_dir);
	rc = userdb_load(&rt_conf, &errs, &warns);
	if (rc != 0)
		fprintf(stderr, "userdb_load: %s\n", errbuf_text(&errs));
	errbuf_free(&errs);
	errbuf_free(&warns);
	return rc;
}

static int
group_teardown(void **state)
{
	(void)state;
	userdb_free();
	shm_destroy();
	dt_tables_remove(rt_dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_main),
		cmocka_unit_test(test_route_no_gateway),
		cmocka_unit_test(test_route_any_port),
		cmocka_unit_test(test_route_realm),
		cmocka_unit_test(test_route_wildcard),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
