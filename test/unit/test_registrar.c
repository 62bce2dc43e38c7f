/*
 * test_registrar.c: daemon/registrar.c as a table: REGISTER text in,
 * verdict out (code, reason, header lines, whether a location change
 * was asked for), on a fake clock, against real subscriber/trusted
 * DB_TEXT files and a real location table in shm. Rows run in order:
 * the nonce of a 401 is the one the following rows' credentials use,
 * and what a row saved is listed by the next 200.
 *
 * Each row names the daemon/DESIGN.md "Decisions where the contract was
 * silent" -> "Registrar" bullet it covers as [R1]..[R9] (in that order):
 *  R1 for sipd whatever the R-URI; order of the checks
 *  R2 AoR unescaped/lower-cased; subscriber byte for byte, first row;
 *     $au != $tU -> 403; trusted To user must be a subscriber
 *  R3 trusted match as allow_trusted()
 *  R4 digest outcomes
 *  R5 423 + Min-Expires; max lowered; Contact: * needs Expires: 0
 *  R6 qvalue; more than 16 Contacts -> 400
 *  R7 P-Registrar-Error texts; 503 lists bindings / table full does not
 *  R8 received; the 200's list (q order, q form, permanent, 64, no Date)
 *  R9 what is stored per binding
 * Require/420 (R1) is dispatch.c's, not the decider's: not here.
 */
#include <sys/socket.h>

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

#include "errbuf.h"
#include "log.h"
#include "loctab.h"
#include "registrar.h"
#include "shm.h"
#include "userdb.h"

#include "decider_test.h"

/* The socket text dispatch.c passes for a wildcard listen. */
#define REG_SOCKET	"udp:0.0.0.0:5060"
#define REG_SRC		"192.0.2.20:5060"	/* alice's phone */

/*
 * A REGISTER to sipd. to/from are URIs; hdrs are more header lines
 * (Contact, Expires, ...); ${AUTH} is the row's credentials.
 */
#define REG(to, from, callid, cseq, hdrs)				\
	"REGISTER sip:example.com SIP/2.0\n"				\
	"Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK-r" cseq "\n"	\
	"Max-Forwards: 70\n"						\
	"To: <" to ">\n"						\
	"From: <" from ">;tag=f" cseq "\n"				\
	"Call-ID: " callid "\n"						\
	"CSeq: " cseq " REGISTER\n"					\
	"User-Agent: test-phone/1.0\n"					\
	hdrs								\
	"${AUTH}"							\
	"Content-Length: 0\n\n"

#define ALICE		"sip:alice@example.com"
#define REG_A(callid, cseq, hdrs)	REG(ALICE, ALICE, callid, cseq, hdrs)

/* The challenge lines of a 401 (the nonce is the one it carries). */
#define CHALLENGE	"WWW-Authenticate: Digest realm=\"example.com\", "\
	"nonce=\"${NONCE}\", qop=\"auth\", algorithm=MD5\r\n"
#define CHALLENGE_STALE	"WWW-Authenticate: Digest realm=\"example.com\", "\
	"nonce=\"${NONCE}\", qop=\"auth\", algorithm=MD5, stale=true\r\n"
#define PRE(text)	"P-Registrar-Error: " text "\r\n"

struct reg_row {
	const char	*name;
	const char	*src;		/* "IP:PORT"; NULL: REG_SRC */
	time_t		 now;		/* NULL: DT_NOW */
	const char	*auth;		/* "user:password[:nc[:realm]]" */
	const char	*req;
	int		 code;
	const char	*reason;
	const char	*extra;		/* header lines exactly (${NONCE}) */
	bool		 save;		/* registrar_decide() asked for one */
	void		(*before)(void);
	void		(*check)(const char *name, const char *extra);
};

static struct conf		 reg_conf;
static struct loctab		*reg_lt;
static struct dt_vars		 reg_vars;
static char			 reg_dir[256];
static struct loctab_binding	 reg_out[64];

/* ---- checks and set-ups rows point at ------------------------------ */

static unsigned
reg_nbindings(const char *aor)
{
	struct loctab_str	 a = { aor, strlen(aor) };
	unsigned		 n = 0;
	int			 r;

	r = loctab_lookup(reg_lt, a, DT_NOW, reg_out, 64, &n);
	if (r == LOCTAB_E_NOTFOUND)
		return 0;
	assert_int_equal(r, 0);
	return n;
}

/* The binding of aor with contact uri (fails when there is none). */
static const struct loctab_binding *
reg_binding(const char *aor, const char *uri)
{
	unsigned	 n = reg_nbindings(aor), i;

	for (i = 0; i < n && i < 64; i++)
		if (strcmp(reg_out[i].lb_contact, uri) == 0)
			return &reg_out[i];
	fail_msg("no binding %s for %s", uri, aor);
	return NULL;
}

/* [R2] stored lower-cased: "carol", never "Carol". */
static void
check_carol_lower(const char *name, const char *extra)
{
	(void)name;
	(void)extra;
	assert_int_equal(reg_nbindings("carol"), 1);
	assert_int_equal(reg_nbindings("Carol"), 0);
}

/* [R2] %61lice went to alice's bindings, no "%61lice" AoR. */
static void
check_alice_two(const char *name, const char *extra)
{
	(void)name;
	(void)extra;
	assert_int_equal(reg_nbindings("alice"), 2);
	assert_int_equal(reg_nbindings("%61lice"), 0);
}

/* [R5] the 423 stored nothing: alice keeps her two bindings. */
static void
check_alice_unchanged(const char *name, const char *extra)
{
	check_alice_two(name, extra);
	assert_int_equal(reg_binding("alice", "sip:alice@192.0.2.20:5060")->
	    lb_expires, DT_NOW + 3600);
}

static void
check_alice_none(const char *name, const char *extra)
{
	(void)name;
	(void)extra;
	assert_int_equal(reg_nbindings("alice"), 0);
}

/* [R9] no User-Agent: n/a; Allow, not methods=; the socket as given. */
static void
check_frank_stored(const char *name, const char *extra)
{
	const struct loctab_binding *b =
	    reg_binding("frank", "sip:frank@192.0.2.60:5060;transport=udp");

	(void)name;
	(void)extra;
	assert_string_equal(b->lb_user_agent, "n/a");
	assert_int_equal(b->lb_methods, SIP_METHOD_INVITE | SIP_METHOD_ACK |
	    SIP_METHOD_BYE);
	assert_string_equal(b->lb_socket, REG_SOCKET);
	assert_string_equal(b->lb_callid, "f1@pc");
	assert_int_equal(b->lb_cseq, 7);
	assert_int_equal(b->lb_expires, DT_NOW + 3600);
	assert_int_equal(b->lb_received_len, 0);
}

/* [R9] a User-Agent of 255+ bytes: n/a; no Allow: every method. */
static void
check_frank_long_ua(const char *name, const char *extra)
{
	const struct loctab_binding *b =
	    reg_binding("frank", "sip:frank@192.0.2.60:5062");

	(void)name;
	(void)extra;
	assert_string_equal(b->lb_user_agent, "n/a");
	assert_int_equal(b->lb_methods, LOCTAB_METHODS_ALL);
}

/* [R9] a short User-Agent is kept as sent. */
static void
check_frank_ua(const char *name, const char *extra)
{
	(void)name;
	(void)extra;
	assert_string_equal(reg_binding("frank", "sip:frank@192.0.2.60:5064")->
	    lb_user_agent, "test-phone/1.0");
}

/* [R8] 64 bindings for carol: one permanent (q=1), 63 for an hour. */
static void
before_carol_64(void)
{
	struct loctab_str	 aor = { "carol", 5 }, c;
	char			 uri[64];
	int			 i;

	c.ls_ptr = "sip:perm@192.0.2.9";
	c.ls_len = strlen(c.ls_ptr);
	assert_int_equal(loctab_add(reg_lt, aor, c, 0, 1000, DT_NOW), 0);
	for (i = 1; i <= 63; i++) {
		c.ls_len = (size_t)snprintf(uri, sizeof(uri),
		    "sip:c%d@192.0.2.10:%d", i, 6000 + i);
		c.ls_ptr = uri;
		assert_int_equal(loctab_add(reg_lt, aor, c, 3600,
		    LOCTAB_Q_UNSET, DT_NOW), 0);
	}
}

/*
 * [R8] 65 bindings, 64 listed: the permanent one first without expires,
 * the newest (q unset, last in order) left out.
 */
static void
check_carol_64(const char *name, const char *extra)
{
	static const char	 first[] = "Contact: <sip:perm@192.0.2.9>;q=1, "
	    "<sip:c1@192.0.2.10:6001>;expires=3600, "
	    "<sip:c2@192.0.2.10:6002>;expires=3600, ";
	unsigned		 n = 0;

	(void)name;
	assert_int_equal(strncmp(extra, first, strlen(first)), 0);
	assert_int_equal(dt_count(extra, "<sip:"), 64);
	assert_int_equal(dt_count(extra, ";expires=3600"), 63);
	assert_non_null(strstr(extra,
	    ", <sip:c63@192.0.2.10:6063>;expires=3600\r\n"));
	assert_null(strstr(extra, "192.0.2.50"));
	assert_int_equal(loctab_lookup(reg_lt, (struct loctab_str){ "carol", 5 },
	    DT_NOW, reg_out, 64, &n), 0);
	assert_int_equal(n, 65);
}

/* Fills the table (70 bindings) with 5 for another AoR. */
static void
before_fill(void)
{
	struct loctab_str	 aor = { "x", 1 }, c;
	char			 uri[64];
	int			 i;

	for (i = 1; i <= 5; i++) {
		c.ls_len = (size_t)snprintf(uri, sizeof(uri),
		    "sip:x@192.0.2.11:%d", 7000 + i);
		c.ls_ptr = uri;
		assert_int_equal(loctab_add(reg_lt, aor, c, 3600,
		    LOCTAB_Q_UNSET, DT_NOW), 0);
	}
}

static void
check_carol_65(const char *name, const char *extra)
{
	unsigned	 n = 0;

	(void)name;
	(void)extra;
	assert_int_equal(loctab_lookup(reg_lt, (struct loctab_str){ "carol", 5 },
	    DT_NOW, reg_out, 64, &n), 0);
	assert_int_equal(n, 65);
}

/* ---- the tables ------------------------------------------------------ */

#define BINDING_A20	"<sip:alice@192.0.2.20:5060>;expires=3600"
#define BINDING_A21	"<sip:alice@192.0.2.21:5060>;expires=3600"
#define LIST_Q								\
	"Contact: <sip:alice@192.0.2.20:5070>;q=1;expires=3600"	\
	", <sip:alice@192.0.2.20:5060>;q=0.5;expires=3600"		\
	", <sip:alice@192.0.2.20:5080>;q=0.125;expires=3600"		\
	", <sip:alice@192.0.2.20:5090>;expires=3600\r\n"
#define CAROL		"sip:Carol@example.com"
#define BOB		"sip:bob@example.com"
#define ERIN		"sip:erin@example.com"

static const struct reg_row reg_main[] = {
	/* [R1] the To URI is checked before any challenge */
	{ "To: tel URI -> 400 before the challenge [R1]", NULL, 0, NULL,
	  REG("tel:+15551234567", ALICE, "t1@pc", "1",
	    "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  400, "Bad Request - AoR not a SIP URI", PRE("AoR not a SIP URI"),
	  false, NULL, NULL },
	{ "To: no user part -> 400 [R1]", NULL, 0, NULL,
	  REG("sip:example.com", ALICE, "t1@pc", "2",
	    "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  400, "Bad Request - No username in To URI",
	  PRE("No username in To URI"), false, NULL, NULL },
	/* [R4] digest outcomes */
	{ "no credentials -> 401 with a challenge [R4]", NULL, 0, NULL,
	  REG_A("a1@pc", "1", "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  401, "Unauthorized", CHALLENGE, false, NULL, NULL },
	{ "the realm is the To host (here sipd.example.org) [R1]", NULL, 0,
	  NULL,
	  REG("sip:alice@sipd.example.org", ALICE, "a1@pc", "1",
	    "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  401, "Unauthorized", "WWW-Authenticate: Digest "
	  "realm=\"sipd.example.org\", nonce=\"${NONCE}\", qop=\"auth\", "
	  "algorithm=MD5\r\n", false, NULL, NULL },
	{ "Contacts come after auth: bad q, no credentials -> 401 [R1]",
	  NULL, 0, NULL,
	  REG_A("a1@pc", "1", "Contact: <sip:alice@192.0.2.20:5060>;q=7\n"),
	  401, "Unauthorized", CHALLENGE, false, NULL, NULL },
	{ "credentials for another realm only -> 401 [R4]", NULL, 0,
	  "alice:secret:-:other.org",
	  REG_A("a1@pc", "1", "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  401, "Unauthorized", CHALLENGE, false, NULL, NULL },
	{ "wrong password -> 401, fresh challenge [R4]", NULL, 0,
	  "alice:wrong",
	  REG_A("a1@pc", "1", "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  401, "Unauthorized", CHALLENGE, false, NULL, NULL },
	{ "unknown user -> 401 exactly as a wrong password [R4]", NULL, 0,
	  "mallory:secret",
	  REG("sip:mallory@example.com", "sip:mallory@example.com", "m1@pc",
	    "1", "Contact: <sip:mallory@192.0.2.20:5060>\n"),
	  401, "Unauthorized", CHALLENGE, false, NULL, NULL },
	{ "right credentials -> 200 lists the binding [R4][R8]", NULL, 0,
	  "alice:secret",
	  REG_A("a1@pc", "1", "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  200, "OK", "Contact: " BINDING_A20 "\r\n", true, NULL, NULL },
	{ "retransmission (same Call-ID, CSeq, source, nc) -> 200 again [R4]",
	  NULL, 0, "alice:secret:00000001",
	  REG_A("a1@pc", "1", "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  200, "OK", "Contact: " BINDING_A20 "\r\n", true, NULL, NULL },
	{ "replayed nc (new CSeq) -> 401, fresh challenge [R4]", NULL, 0,
	  "alice:secret:00000001",
	  REG_A("a1@pc", "2", "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  401, "Unauthorized", CHALLENGE, false, NULL, NULL },
	{ "expired nonce, right password -> 401 stale=true [R4]", NULL,
	  DT_NOW + 301, "alice:secret",
	  REG_A("a1@pc", "2", "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  401, "Unauthorized", CHALLENGE_STALE, false, NULL, NULL },
	{ "unusable credentials (no uri, no response) -> 400 [R4]", NULL, 0,
	  NULL,
	  REG_A("a1@pc", "2", "Contact: <sip:alice@192.0.2.20:5060>\n"
	    "Authorization: Digest username=\"alice\", "
	    "realm=\"example.com\", nonce=\"abc\"\n"),
	  400, "Bad Request - Malformed credentials",
	  PRE("Malformed credentials"), false, NULL, NULL },
	/* [R2] the AoR and who may register it */
	{ "auth user alice, To user bob -> 403 Forbidden auth ID [R2]", NULL,
	  0, "alice:secret",
	  REG(BOB, ALICE, "a1@pc", "2", "Contact: <sip:bob@192.0.2.20:5060>\n"),
	  403, "Forbidden auth ID", PRE("Auth user does not match To user"),
	  false, NULL, NULL },
	{ "To user %61lice is alice (unescaped once) -> 200 [R2]",
	  "192.0.2.21:5060", 0, "alice:secret",
	  REG("sip:%61lice@example.com", ALICE, "a2@pc", "1",
	    "Contact: <sip:alice@192.0.2.21:5060>\n"),
	  200, "OK", "Contact: " BINDING_A20 ", " BINDING_A21 "\r\n", true,
	  NULL, check_alice_two },
	{ "To user Alice, auth user alice (byte for byte) -> 403 [R2]", NULL,
	  0, "alice:secret",
	  REG("sip:Alice@example.com", ALICE, "a1@pc", "2",
	    "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  403, "Forbidden auth ID", PRE("Auth user does not match To user"),
	  false, NULL, NULL },
	{ "trusted (.51, From sip:Carol..) To Carol -> 200 as carol [R2][R3]",
	  "192.0.2.51:5060", 0, NULL,
	  REG(CAROL, CAROL, "c1@pc", "1",
	    "Contact: <sip:carol@192.0.2.51:5060>\n"),
	  200, "OK", "Contact: <sip:carol@192.0.2.51:5060>;expires=3600\r\n",
	  true, NULL, check_carol_lower },
	{ "trusted source, To carol not a subscriber -> 403 Forbidden [R2]",
	  "192.0.2.50:5060", 0, NULL,
	  REG("sip:carol@example.com", "sip:carol@example.com", "c2@pc", "1",
	    "Contact: <sip:carol@192.0.2.50:5060>\n"),
	  403, "Forbidden", PRE("Not a subscriber"), false, NULL, NULL },
	{ "dave listed twice: the first row's password -> 200 [R2]",
	  "192.0.2.40:5060", 0, "dave:first",
	  REG("sip:dave@example.com", "sip:dave@example.com", "d1@pc", "1",
	    "Contact: <sip:dave@192.0.2.40:5060>\n"),
	  200, "OK", "Contact: <sip:dave@192.0.2.40:5060>;expires=3600\r\n",
	  true, NULL, NULL },
	{ "dave listed twice: the second row's password -> 401 [R2]",
	  "192.0.2.40:5060", 0, "dave:second",
	  REG("sip:dave@example.com", "sip:dave@example.com", "d1@pc", "2",
	    "Contact: <sip:dave@192.0.2.40:5060>\n"),
	  401, "Unauthorized", CHALLENGE, false, NULL, NULL },
	/* [R3] allow_trusted() */
	{ "trusted .51 pattern ^sip:Carol, From alice -> challenged [R3]",
	  "192.0.2.51:5060", 0, NULL,
	  REG(ALICE, ALICE, "a3@pc", "1",
	    "Contact: <sip:alice@192.0.2.51:5060>\n"),
	  401, "Unauthorized", CHALLENGE, false, NULL, NULL },
	{ "trusted row with proto none never matches [R3]", "192.0.2.52:5060",
	  0, NULL,
	  REG(CAROL, CAROL, "c3@pc", "1",
	    "Contact: <sip:carol@192.0.2.52:5060>\n"),
	  401, "Unauthorized", CHALLENGE, false, NULL, NULL },
	{ "trusted row with proto tcp does not match UDP [R3]",
	  "192.0.2.53:5060", 0, NULL,
	  REG(CAROL, CAROL, "c4@pc", "1",
	    "Contact: <sip:carol@192.0.2.53:5060>\n"),
	  401, "Unauthorized", CHALLENGE, false, NULL, NULL },
	{ "trusted .51 pattern on the From URI alone (Carolyn) [R3]",
	  "192.0.2.51:5060", 0, NULL,
	  REG(CAROL, "sip:Carolyn@example.com", "c1@pc", "2",
	    "Contact: <sip:carol@192.0.2.51:5060>\n"),
	  200, "OK", "Contact: <sip:carol@192.0.2.51:5060>;expires=3600\r\n",
	  true, NULL, NULL },
	{ "From URI over 1024 bytes: no pattern row matches [R3]",
	  "192.0.2.51:5060", 0, NULL,
	  REG(CAROL, "sip:Carol${LONG}@example.com", "c1@pc", "3",
	    "Contact: <sip:carol@192.0.2.51:5060>\n"),
	  401, "Unauthorized", CHALLENGE, false, NULL, NULL },
	{ "From URI over 1024 bytes: a row without pattern matches [R3]",
	  "192.0.2.50:5060", 0, NULL,
	  REG(CAROL, "sip:Carol${LONG}@example.com", "c5@pc", "1",
	    "Contact: <sip:carol@192.0.2.50:5060>\n"),
	  200, "OK", "Contact: <sip:carol@192.0.2.51:5060>;expires=3600, "
	  "<sip:carol@192.0.2.50:5060>;expires=3600\r\n", true, NULL, NULL },
	/* [R5] expires */
	{ "one contact below min_expires -> 423 for the request [R5][R7]",
	  NULL, 0, "alice:secret",
	  REG_A("a1@pc", "3", "Contact: <sip:alice@192.0.2.20:5060>;"
	    "expires=3600, <sip:alice@192.0.2.22:5060>;expires=30\n"),
	  423, "Interval Too Brief",
	  PRE("Expires too brief") "Min-Expires: 60\r\n", false, NULL,
	  check_alice_unchanged },
	{ "Expires header below min_expires -> 423 [R5]", NULL, 0,
	  "alice:secret",
	  REG_A("a1@pc", "3", "Contact: <sip:alice@192.0.2.20:5060>\n"
	    "Expires: 59\n"),
	  423, "Interval Too Brief",
	  PRE("Expires too brief") "Min-Expires: 60\r\n", false, NULL,
	  check_alice_unchanged },
	{ "expires=0 is a removal, not too brief [R5]", NULL, 0,
	  "alice:secret",
	  REG_A("a2@pc", "2", "Contact: <sip:alice@192.0.2.21:5060>;"
	    "expires=0\n"),
	  200, "OK", "Contact: " BINDING_A20 "\r\n", true, NULL, NULL },
	{ "expires above max_expires is lowered to 7200 [R5]", NULL, 0,
	  "alice:secret",
	  REG_A("a1@pc", "3", "Contact: <sip:alice@192.0.2.20:5060>;"
	    "expires=99999\n"),
	  200, "OK", "Contact: <sip:alice@192.0.2.20:5060>;expires=7200\r\n",
	  true, NULL, NULL },
	{ "Contact: * without Expires -> 400 (default is not 0) [R5][R7]",
	  NULL, 0, "alice:secret",
	  REG_A("a1@pc", "4", "Contact: *\n"),
	  400, "Bad Request - * used in contact and expires is not zero",
	  PRE("* used in contact and expires is not zero"), false, NULL,
	  NULL },
	{ "Contact: * with Expires: 5 -> 400 [R5]", NULL, 0, "alice:secret",
	  REG_A("a1@pc", "4", "Contact: *\nExpires: 5\n"),
	  400, "Bad Request - * used in contact and expires is not zero",
	  PRE("* used in contact and expires is not zero"), false, NULL,
	  NULL },
	{ "Contact: * beside another Contact -> 400 [R5][R7]", NULL, 0,
	  "alice:secret",
	  REG_A("a1@pc", "4", "Contact: *\n"
	    "Contact: <sip:alice@192.0.2.20:5060>\nExpires: 0\n"),
	  400, "Bad Request - * used in contact and more than 1 contact",
	  PRE("* used in contact and more than 1 contact"), false, NULL,
	  NULL },
	{ "Contact: * with Expires: 0 removes every binding -> 200 [R5]",
	  NULL, 0, "alice:secret",
	  REG_A("a1@pc", "4", "Contact: *\nExpires: 0\n"),
	  200, "OK", "", true, NULL, check_alice_none },
	/* [R6] q and the number of Contacts */
	{ "q=1.5 -> 400 [R6][R7]", NULL, 0, "alice:secret",
	  REG_A("a3@pc", "1", "Contact: <sip:alice@192.0.2.20:5060>;q=1.5\n"),
	  400, "Bad Request - Invalid q param in contact",
	  PRE("Invalid q param in contact"), false, NULL, NULL },
	{ "q=0.1234 (4 decimals) -> 400 [R6]", NULL, 0, "alice:secret",
	  REG_A("a3@pc", "1",
	    "Contact: <sip:alice@192.0.2.20:5060>;q=0.1234\n"),
	  400, "Bad Request - Invalid q param in contact",
	  PRE("Invalid q param in contact"), false, NULL, NULL },
	{ "200 lists q order, q=1/0.5/0.125; other ports of a source whose "
	  "Via is the source: no received (nat_detect auto) [R6][R8]", NULL,
	  0, "alice:secret",
	  REG_A("a3@pc", "5",
	    "Contact: <sip:alice@192.0.2.20:5060>;q=0.5, "
	    "<sip:alice@192.0.2.20:5070>;q=1.000\n"
	    "Contact: <sip:alice@192.0.2.20:5080>;q=0.125, "
	    "<sip:alice@192.0.2.20:5090>\n"),
	  200, "OK", LIST_Q, true, NULL, NULL },
	{ "a fifth binding over max_contacts 4 -> 503 listing them [R7]",
	  NULL, 0, "alice:secret",
	  REG_A("a4@pc", "1", "Contact: <sip:alice@192.0.2.20:5100>\n"),
	  503, "Service Unavailable", PRE("Too many registered contacts")
	  LIST_Q, true, NULL, NULL },
	{ "17 Contacts in one REGISTER -> 400, not 503 [R6]", NULL, 0,
	  "alice:secret",
	  REG_A("a5@pc", "1", "Contact: ${C17}\n"),
	  400, "Bad Request - Too many contacts in one REGISTER",
	  PRE("Too many contacts in one REGISTER"), false, NULL, NULL },
	{ "CSeq below the binding's, same Call-ID -> 400 [R7]", NULL, 0,
	  "alice:secret",
	  REG_A("a3@pc", "4", "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  400, "Bad Request - Invalid CSeq number", PRE("Invalid CSeq number"),
	  true, NULL, NULL },
	/* [R8] received */
	{ "Contact = source, no port = 5060: no received [R8]",
	  "192.0.2.30:5060", 0, "bob:hunter2",
	  REG(BOB, BOB, "b1@pc", "1", "Contact: <sip:bob@192.0.2.30>\n"),
	  200, "OK", "Contact: <sip:bob@192.0.2.30>;expires=3600\r\n", true,
	  NULL, NULL },
	{ "sips Contact without port is 5061: received [R8]",
	  "192.0.2.30:5060", 0, "bob:hunter2",
	  REG(BOB, BOB, "b1@pc", "2", "Contact: <sips:bob@192.0.2.30>\n"),
	  200, "OK", "Contact: <sip:bob@192.0.2.30>;expires=3600, "
	  "<sips:bob@192.0.2.30>;expires=3600;"
	  "received=\"sip:192.0.2.30:5060\"\r\n", true, NULL, NULL },
	{ "a host name always differs: received [R8]", "192.0.2.30:5060", 0,
	  "bob:hunter2",
	  REG(BOB, BOB, "b1@pc", "3",
	    "Contact: <sip:bob@pc.example.com:5060>\n"),
	  200, "OK", "Contact: <sip:bob@192.0.2.30>;expires=3600, "
	  "<sips:bob@192.0.2.30>;expires=3600;"
	  "received=\"sip:192.0.2.30:5060\", "
	  "<sip:bob@pc.example.com:5060>;expires=3600;"
	  "received=\"sip:192.0.2.30:5060\"\r\n", true, NULL, NULL },
	{ "IPv6 compared as addresses, not text: no received [R8]",
	  "[2001:db8::1]:5060", 0, "erin:erinpw",
	  REG(ERIN, ERIN, "e1@pc", "1",
	    "Contact: <sip:erin@[2001:db8:0:0::1]>\n"),
	  200, "OK", "Contact: <sip:erin@[2001:db8:0:0::1]>;expires=3600\r\n",
	  true, NULL, NULL },
	{ "IPv6 received is sip:[IP]:PORT [R8]", "[2001:db8::1]:5062", 0,
	  "erin:erinpw",
	  REG(ERIN, ERIN, "e1@pc", "2", "Contact: <sip:erin@[2001:db8::1]>\n"),
	  200, "OK", "Contact: <sip:erin@[2001:db8:0:0::1]>;expires=3600, "
	  "<sip:erin@[2001:db8::1]>;expires=3600;"
	  "received=\"sip:[2001:db8::1]:5062\"\r\n", true, NULL, NULL },
	/* [R1] any R-URI; [R9] what is stored */
	{ "R-URI of another host: still the registrar; no User-Agent, "
	  "Allow kept [R1][R9]", "192.0.2.60:5060", 0, "frank:frankpw",
	  "REGISTER sip:elsewhere.example.net SIP/2.0\n"
	  "Via: SIP/2.0/UDP 192.0.2.60:5060;branch=z9hG4bK-f1\n"
	  "Max-Forwards: 70\n"
	  "To: <sip:frank@example.com>\n"
	  "From: <sip:frank@example.com>;tag=ff1\n"
	  "Call-ID: f1@pc\n"
	  "CSeq: 7 REGISTER\n"
	  "Allow: INVITE, ACK, BYE\n"
	  "Contact: <sip:frank@192.0.2.60:5060;transport=udp>;"
	  "methods=\"MESSAGE\"\n"
	  "${AUTH}"
	  "Content-Length: 0\n\n",
	  200, "OK", "Contact: <sip:frank@192.0.2.60:5060;transport=udp>;"
	  "expires=3600\r\n", true, NULL, check_frank_stored },
	{ "User-Agent of 255+ bytes -> n/a; no Allow -> all methods [R9]",
	  "192.0.2.60:5062", 0, "frank:frankpw",
	  "REGISTER sip:example.com SIP/2.0\n"
	  "Via: SIP/2.0/UDP 192.0.2.60:5062;branch=z9hG4bK-f2\n"
	  "Max-Forwards: 70\n"
	  "To: <sip:frank@example.com>\n"
	  "From: <sip:frank@example.com>;tag=ff2\n"
	  "Call-ID: f2@pc\n"
	  "CSeq: 1 REGISTER\n"
	  "User-Agent: ${LONG}\n"
	  "Contact: <sip:frank@192.0.2.60:5062>\n"
	  "${AUTH}"
	  "Content-Length: 0\n\n",
	  200, "OK", "Contact: <sip:frank@192.0.2.60:5060;transport=udp>;"
	  "expires=3600, <sip:frank@192.0.2.60:5062>;expires=3600\r\n", true,
	  NULL, check_frank_long_ua },
	{ "a short User-Agent is stored as sent [R9]", "192.0.2.60:5064", 0,
	  "frank:frankpw",
	  REG("sip:frank@example.com", "sip:frank@example.com", "f3@pc", "1",
	    "Contact: <sip:frank@192.0.2.60:5064>\n"),
	  200, "OK", "Contact: <sip:frank@192.0.2.60:5060;transport=udp>;"
	  "expires=3600, <sip:frank@192.0.2.60:5062>;expires=3600, "
	  "<sip:frank@192.0.2.60:5064>;expires=3600\r\n", true, NULL,
	  check_frank_ua },
};

/* max_contacts 0, a table of 70: the 64 listed, then a full table. */
static const struct reg_row reg_limits[] = {
	{ "65 bindings: 64 listed, the permanent one without expires [R8]",
	  "192.0.2.50:5060", 0, NULL,
	  REG(CAROL, CAROL, "c1@pc", "1",
	    "Contact: <sip:carol@192.0.2.50:5060>\n"),
	  200, "OK", NULL, true, before_carol_64, check_carol_64 },
	{ "location table full -> 503 without a list [R7]", "192.0.2.50:5060",
	  0, NULL,
	  REG(CAROL, CAROL, "c1@pc", "2",
	    "Contact: <sip:carol@192.0.2.50:5070>\n"),
	  503, "Service Unavailable", PRE("Location table full"), true,
	  before_fill, check_carol_65 },
};

/* ---- the runner ------------------------------------------------------ */

static void
reg_run(const struct reg_row *rows, size_t n)
{
	static struct dt_msg		 t;
	static struct registrar_verdict	 v;
	struct registrar_request	 req = { 0 };
	struct sockaddr_storage		 src;
	char				 want[8192];
	const struct reg_row		*r;
	size_t				 i;
	bool				 saved;

	for (i = 0; i < n; i++) {
		r = &rows[i];
		if (r->before != NULL)
			r->before();
		dt_msg_make(&t, r->req, r->auth, "Authorization", &reg_vars);
		dt_sockaddr(r->src != NULL ? r->src : REG_SRC, &src);
		req.rr_m = &t.dm_msg;
		req.rr_src = (const struct sockaddr *)&src;
		req.rr_socket = REG_SOCKET;
		req.rr_now = r->now != 0 ? r->now : DT_NOW;
		registrar_decide(&req, &v);
		saved = v.rv_save;
		if (saved != r->save)
			fail_msg("row \"%s\": save %d, want %d (code %d %s)",
			    r->name, saved, r->save, v.rv_code,
			    v.rv_reason != NULL ? v.rv_reason : "");
		if (saved) {
			assert_int_equal(v.rv_code, 0);
			registrar_apply(&v);
			assert_false(v.rv_save);
		}
		if (v.rv_code != r->code)
			fail_msg("row \"%s\": code %d, want %d (%s)", r->name,
			    v.rv_code, r->code, v.rv_reason != NULL ?
			    v.rv_reason : "");
		dt_assert_text(r->name, "reason", v.rv_reason, r->reason);
		if (v.rv_code == 401)
			dt_take_nonce(r->name, v.rv_extra, &reg_vars);
		if (r->extra != NULL) {
			dt_expand_nonce(want, sizeof(want), r->extra,
			    &reg_vars);
			dt_assert_text(r->name, "header lines", v.rv_extra,
			    want);
		}
		/* [R7] P-Registrar-Error on every error but the 401 */
		if (v.rv_code >= 300 && v.rv_code != 401)
			assert_int_equal(strncmp(v.rv_extra,
			    "P-Registrar-Error: ", 19), 0);
		else
			assert_null(strstr(v.rv_extra, "P-Registrar-Error"));
		if (v.rv_code == 400)
			assert_int_equal(strncmp(v.rv_reason,
			    "Bad Request - ", 14), 0);
		/* [R8] no Date header */
		assert_null(strstr(v.rv_extra, "Date:"));
		if (r->check != NULL)
			r->check(r->name, v.rv_extra);
	}
	printf("# %zu rows passed\n", n);
}

static void
reg_table_setup(unsigned max_contacts, unsigned capacity)
{
	reg_conf.c_reg_min_expires = 60;
	reg_conf.c_reg_default_expires = 3600;
	reg_conf.c_reg_max_expires = 7200;
	reg_conf.c_reg_max_contacts = max_contacts;
	reg_conf.c_ul_max_contacts = capacity;
	reg_lt = dt_shm_setup(&reg_conf, 16, capacity);
	registrar_init(&reg_conf, reg_lt);
	memset(&reg_vars, 0, sizeof(reg_vars));
}

static void
test_registrar_main(void **state)
{
	(void)state;
	reg_table_setup(4, 256);
	reg_run(reg_main, sizeof(reg_main) / sizeof(reg_main[0]));
}

static void
test_registrar_limits(void **state)
{
	(void)state;
	reg_table_setup(0, 70);
	reg_run(reg_limits, sizeof(reg_limits) / sizeof(reg_limits[0]));
}

/* ---- registrar.nat_detect (SPEC §5) ---------------------------------- */

static void
nat_auto(void)
{
	reg_conf.c_reg_nat_detect = CONF_NAT_AUTO;
}

static void
nat_always(void)
{
	reg_conf.c_reg_nat_detect = CONF_NAT_ALWAYS;
}

static void
nat_never(void)
{
	reg_conf.c_reg_nat_detect = CONF_NAT_NEVER;
}

static void
check_received(const char *uri, const char *received)
{
	const struct loctab_binding	*b = reg_binding("alice", uri);

	if (received == NULL) {
		assert_int_equal(b->lb_received_len, 0);
		return;
	}
	assert_int_equal(b->lb_received_len, strlen(received));
	assert_memory_equal(b->lb_received, received, strlen(received));
}

/* What each NAT row must have stored: alice's binding uri, received. */
static const struct {
	const char	*ne_row;	/* row name */
	const char	*ne_uri;
	const char	*ne_received;	/* NULL: none */
} nat_expect[] = {
	{ "third-party", "sip:alice@198.51.100.7:5060", NULL },
	{ "via port", "sip:alice@192.0.2.20:5061", "sip:192.0.2.20:40000" },
	{ "via host", "sip:alice@198.51.100.8:5060", "sip:203.0.113.9:5060" },
	{ "private", "sip:alice@10.1.2.3:5060", "sip:192.0.2.20:5060" },
	{ "private", "sip:alice@100.64.0.9:5060", "sip:192.0.2.20:5060" },
	{ "private", "sip:alice@192.168.1.5:5060", "sip:192.0.2.20:5060" },
	{ "private", "sip:alice@172.20.0.1:5060", "sip:192.0.2.20:5060" },
	{ "private", "sip:alice@172.32.0.1:5060", NULL },
	{ "both private", "sip:alice@10.9.9.9:5060", NULL },
	{ "always", "sip:alice@198.51.100.9:5060", "sip:192.0.2.20:5060" },
	{ "never", "sip:alice@192.0.2.20:5062", NULL },
	{ "same", "sip:alice@192.0.2.20:5060", NULL },
};

/* The row's expectations: its name starts with "[KEY] ". */
static void
check_nat(const char *name, const char *extra)
{
	size_t	 i, n = 0, len;

	(void)extra;
	for (i = 0; i < sizeof(nat_expect) / sizeof(nat_expect[0]); i++) {
		len = strlen(nat_expect[i].ne_row);
		if (name[0] != '[' || strncmp(name + 1, nat_expect[i].ne_row,
		    len) != 0 || name[len + 1] != ']')
			continue;
		check_received(nat_expect[i].ne_uri,
		    nat_expect[i].ne_received);
		n++;
	}
	if (n == 0)
		fail_msg("row \"%s\": no expectations", name);
}

/* The REGISTER of REG_A with the top Via sent-by replaced. */
#define REG_VIA(via, id, hdrs)						\
	"REGISTER sip:example.com SIP/2.0\n"				\
	"Via: SIP/2.0/UDP " via ";branch=z9hG4bK-" id "\n"		\
	"Max-Forwards: 70\n"						\
	"To: <" ALICE ">\n"						\
	"From: <" ALICE ">;tag=f" id "\n"				\
	"Call-ID: " id "@pc\n"						\
	"CSeq: 1 REGISTER\n"						\
	hdrs								\
	"${AUTH}"							\
	"Content-Length: 0\n\n"

static const struct reg_row reg_nat[] = {
	{ "a challenge first (its nonce serves the rows below)", NULL, 0,
	  NULL, REG_VIA("192.0.2.20:5060", "n0", ""), 401, "Unauthorized",
	  CHALLENGE, false, nat_auto, NULL },
	{ "[third-party] auto: Contact of another host, Via = source: "
	  "Contact kept [NAT]",
	  NULL, 0, "alice:secret",
	  REG_VIA("192.0.2.20:5060", "n1",
	    "Contact: <sip:alice@198.51.100.7:5060>\n"),
	  200, "OK", NULL, true, nat_auto, check_nat },
	{ "[via port] auto: Via port is not the source port: received [NAT]",
	  "192.0.2.20:40000", 0, "alice:secret",
	  REG_VIA("192.0.2.20:5061", "n2",
	    "Contact: <sip:alice@192.0.2.20:5061>\n"),
	  200, "OK", NULL, true, nat_auto, check_nat },
	{ "[via host] auto: Via host is not the source: received [NAT]",
	  "203.0.113.9:5060", 0, "alice:secret",
	  REG_VIA("198.51.100.8", "n3",
	    "Contact: <sip:alice@198.51.100.8:5060>\n"),
	  200, "OK", NULL, true, nat_auto, check_nat },
	{ "[private] auto: private Contact (RFC 1918, RFC 6598), public "
	  "source: "
	  "received; 172.32/16 is public [NAT]", NULL, 0, "alice:secret",
	  REG_VIA("192.0.2.20:5060", "n4",
	    "Contact: <sip:alice@10.1.2.3:5060>, "
	    "<sip:alice@100.64.0.9:5060>, <sip:alice@192.168.1.5:5060>, "
	    "<sip:alice@172.20.0.1:5060>, <sip:alice@172.32.0.1:5060>\n"),
	  200, "OK", NULL, true, nat_auto, check_nat },
	{ "[both private] auto: private Contact from a private source: "
	  "kept [NAT]",
	  "10.0.0.1:5060", 0, "alice:secret",
	  REG_VIA("10.0.0.1:5060", "n5",
	    "Contact: <sip:alice@10.9.9.9:5060>\n"),
	  200, "OK", NULL, true, nat_auto, check_nat },
	{ "[always] every Contact other than the source: received [NAT]",
	  NULL, 0, "alice:secret",
	  REG_VIA("192.0.2.20:5060", "n6",
	    "Contact: <sip:alice@198.51.100.9:5060>\n"),
	  200, "OK", NULL, true, nat_always, check_nat },
	{ "[never] even a NATed Via keeps the Contact [NAT]",
	  "192.0.2.20:40002", 0, "alice:secret",
	  REG_VIA("192.0.2.20:5062", "n7",
	    "Contact: <sip:alice@192.0.2.20:5062>\n"),
	  200, "OK", NULL, true, nat_never, check_nat },
	{ "[same] always: the Contact is the source: no received [NAT]",
	  NULL, 0, "alice:secret",
	  REG_VIA("192.0.2.20:5060", "n8",
	    "Contact: <sip:alice@192.0.2.20:5060>\n"),
	  200, "OK", NULL, true, nat_always, check_nat },
};

static void
test_registrar_nat(void **state)
{
	(void)state;
	reg_table_setup(0, 256);
	reg_run(reg_nat, sizeof(reg_nat) / sizeof(reg_nat[0]));
	reg_conf.c_reg_nat_detect = CONF_NAT_AUTO;
}

/* No location table (registrar_init(c, NULL)): 500, nothing stored. */
static void
test_registrar_no_table(void **state)
{
	static const struct reg_row rows[] = {
		{ "no location table -> 500", "192.0.2.50:5060", 0, NULL,
		  REG(CAROL, CAROL, "c9@pc", "1",
		    "Contact: <sip:carol@192.0.2.50:5060>\n"),
		  500, "Server Internal Error", PRE("Internal error"), true,
		  NULL, NULL },
	};

	(void)state;
	reg_table_setup(0, 16);
	registrar_init(&reg_conf, NULL);
	reg_run(rows, 1);
}

/* ---- fixtures -------------------------------------------------------- */

static int
group_setup(void **state)
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	char		 want[512];
	int		 rc;

	(void)state;
	log_init(true, LOG_ERR, LOG_DAEMON);
	dt_tables_write(reg_dir, sizeof(reg_dir));
	dt_conf(&reg_conf, reg_dir);
	rc = userdb_load(&reg_conf, &errs, &warns);
	if (rc != 0)
		fprintf(stderr, "userdb_load: %s\n", errbuf_text(&errs));
	/* [R2] two rows share a username: the first counts, a warning */
	(void)snprintf(want, sizeof(want), "%s/subscriber:6: subscriber "
	    "\"dave\" is also on line 5, which is the one used (domains are "
	    "not compared)\n", reg_dir);
	if (rc == 0 && strcmp(errbuf_text(&warns), want) != 0) {
		fprintf(stderr, "warnings: %s\nwant: %s", errbuf_text(&warns),
		    want);
		rc = -1;
	}
	errbuf_free(&errs);
	errbuf_free(&warns);
	return rc == 0 && userdb_subscriber_count() == 6 &&
	    userdb_trusted_count() == 4 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	userdb_free();
	shm_destroy();
	dt_tables_remove(reg_dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registrar_main),
		cmocka_unit_test(test_registrar_limits),
		cmocka_unit_test(test_registrar_no_table),
		cmocka_unit_test(test_registrar_nat),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
