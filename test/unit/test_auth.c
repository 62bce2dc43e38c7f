/*
 * test_auth.c: unit tests for daemon/auth/ (digest arithmetic against
 * the RFC 2617 and RFC 7616 examples, challenge text, nonce expiry,
 * forgery and replay, across fork()ed processes as the workers are).
 *
 * Expected responses are computed here with OpenSSL directly from the
 * RFC formulas, not with auth_digest_*(), so a slip in the module's
 * arithmetic cannot hide behind the same slip in the test. Children
 * never call cmocka; they report through their exit status.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "auth.h"
#include "conf.h"
#include "shm.h"
#include "sip_msg.h"

#include "testutil.h"

#define TEST_MAP_SIZE	(16u * 1024 * 1024)
#define TEST_NOW	((time_t)1700000000)
#define TEST_REALM	"example.com"
#define TEST_WAIT_MS	5000
#define TEST_RACERS	4
#define TEST_RACE_NC	200

static struct conf	 test_conf;

/* ---- helpers ------------------------------------------------------ */

static struct sip_str
str(const char *s)
{
	struct sip_str	 r = { s, strlen(s) };

	return r;
}

/* Lowercase hex H(printf(fmt, ...)), computed without auth_digest. */
static void
md_hex(int alg, char *out, const char *fmt, ...)
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	char			 in[1024];
	va_list			 ap;
	int			 n;

	va_start(ap, fmt);
	n = vsnprintf(in, sizeof(in), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(in));
	assert_int_equal(EVP_Digest(in, (size_t)n, md, &mdlen,
	    alg == AUTH_ALG_MD5 ? EVP_md5() : EVP_sha256(), NULL), 1);
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 0xf];
	}
	out[2 * mdlen] = '\0';
}

/* What a well-behaved UA sends. qop NULL: RFC 2069. */
struct cred {
	const char	*cr_hdr;	/* "Authorization" by default */
	int		 cr_alg;	/* 0: no algorithm parameter (MD5) */
	const char	*cr_user;
	const char	*cr_realm;
	const char	*cr_password;
	const char	*cr_method;
	const char	*cr_uri;
	const char	*cr_nonce;
	const char	*cr_qop;
	const char	*cr_nc;
	const char	*cr_cnonce;
};

static void
cred_line(char *out, size_t cap, const struct cred *c)
{
	char	 ha1[AUTH_HEX_MAX + 1], ha2[AUTH_HEX_MAX + 1];
	char	 resp[AUTH_HEX_MAX + 1], tail[256] = "";
	int	 alg = c->cr_alg == 0 ? AUTH_ALG_MD5 : c->cr_alg;
	int	 n;

	md_hex(alg, ha1, "%s:%s:%s", c->cr_user, c->cr_realm,
	    c->cr_password);
	md_hex(alg, ha2, "%s:%s", c->cr_method, c->cr_uri);
	if (c->cr_qop == NULL)
		md_hex(alg, resp, "%s:%s:%s", ha1, c->cr_nonce, ha2);
	else {
		md_hex(alg, resp, "%s:%s:%s:%s:%s:%s", ha1, c->cr_nonce,
		    c->cr_nc, c->cr_cnonce, c->cr_qop, ha2);
		(void)snprintf(tail, sizeof(tail),
		    ", qop=%s, nc=%s, cnonce=\"%s\"", c->cr_qop, c->cr_nc,
		    c->cr_cnonce);
	}
	n = snprintf(out, cap, "%s: Digest username=\"%s\", realm=\"%s\", "
	    "nonce=\"%s\", uri=\"%s\", response=\"%s\"%s%s\r\n",
	    c->cr_hdr != NULL ? c->cr_hdr : "Authorization", c->cr_user,
	    c->cr_realm, c->cr_nonce, c->cr_uri, resp,
	    c->cr_alg == AUTH_ALG_SHA256 ? ", algorithm=SHA-256" :
	    c->cr_alg == AUTH_ALG_MD5 ? ", algorithm=MD5" : "", tail);
	assert_true(n > 0 && (size_t)n < cap);
}

/* A request whose datagram lives in tm_buf, parsed into tm_msg. */
struct test_msg {
	char		 tm_buf[4096];
	struct sip_msg	 tm_msg;
};

static void
msg_make(struct test_msg *t, const char *method, const char *auth_lines)
{
	int	 n;

	n = snprintf(t->tm_buf, sizeof(t->tm_buf),
	    "%s sip:" TEST_REALM " SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"
	    "Max-Forwards: 70\r\n"
	    "To: <sip:alice@" TEST_REALM ">\r\n"
	    "From: <sip:alice@" TEST_REALM ">;tag=1928301774\r\n"
	    "Call-ID: a84b4c76e66710@pc33\r\n"
	    "CSeq: 1 %s\r\n"
	    "%s"
	    "Content-Length: 0\r\n\r\n", method, method, auth_lines);
	assert_true(n > 0 && (size_t)n < sizeof(t->tm_buf));
	assert_int_equal(sip_msg_parse(&t->tm_msg, t->tm_buf, (size_t)n), 0);
}

/* A fresh nonce from a challenge. */
static void
new_nonce(char *out, time_t now)
{
	char		 ch[1024];
	const char	*p, *q;

	assert_true(auth_challenge(ch, sizeof(ch), 0, str(TEST_REALM), false,
	    now, &test_conf) > 0);
	p = strstr(ch, "nonce=\"");
	assert_non_null(p);
	p += 7;
	q = strchr(p, '"');
	assert_non_null(q);
	assert_int_equal(q - p, AUTH_NONCE_LEN);
	memcpy(out, p, AUTH_NONCE_LEN);
	out[AUTH_NONCE_LEN] = '\0';
}

/* The subscriber table of the tests. */
struct test_user {
	const char	*tu_user;
	const char	*tu_password;
	const char	*tu_ha1;
	const char	*tu_ha1b;
};

struct test_db {
	const struct test_user	*td_users;
	size_t			 td_nusers;
	int			 td_fail;	/* -errno to return */
	unsigned		 td_calls;
	char			 td_last_user[64];
};

static const struct test_user test_users[] = {
	{ "alice", "secret", "", "" },
	{ "bob", "hunter2", "", "" },
};

static int
test_lookup(void *arg, struct sip_str user, struct sip_str realm,
    struct auth_secret *ret)
{
	struct test_db	*db = arg;
	size_t		 i;

	db->td_calls++;
	(void)snprintf(db->td_last_user, sizeof(db->td_last_user), "%.*s",
	    (int)user.len, user.s);
	if (db->td_fail < 0)
		return db->td_fail;
	if (realm.len != strlen(TEST_REALM) ||
	    memcmp(realm.s, TEST_REALM, realm.len) != 0)
		return AUTH_LOOKUP_NOTFOUND;
	for (i = 0; i < db->td_nusers; i++) {
		const struct test_user *u = &db->td_users[i];

		if (strlen(u->tu_user) != user.len ||
		    memcmp(u->tu_user, user.s, user.len) != 0)
			continue;
		(void)snprintf(ret->as_password, sizeof(ret->as_password),
		    "%s", u->tu_password);
		(void)snprintf(ret->as_ha1, sizeof(ret->as_ha1), "%s",
		    u->tu_ha1);
		(void)snprintf(ret->as_ha1b, sizeof(ret->as_ha1b), "%s",
		    u->tu_ha1b);
		return 0;
	}
	return AUTH_LOOKUP_NOTFOUND;
}

static struct test_db
db_default(void)
{
	struct test_db	 db;

	memset(&db, 0, sizeof(db));
	db.td_users = test_users;
	db.td_nusers = sizeof(test_users) / sizeof(test_users[0]);
	return db;
}

/* One REGISTER with alice's credentials through auth_verify(). */
static int
verify_cred(const struct cred *c, time_t now, struct auth_result *res)
{
	struct test_msg		 t;
	struct test_db		 db = db_default();
	struct auth_result	 r;
	char			 line[1024];

	cred_line(line, sizeof(line), c);
	msg_make(&t, c->cr_method, line);
	return auth_verify(&t.tm_msg, 0, str(TEST_REALM), test_lookup, &db,
	    now, &test_conf, res != NULL ? res : &r);
}

static struct cred
cred_alice(const char *nonce, const char *nc)
{
	struct cred	 c = {
		.cr_user = "alice", .cr_realm = TEST_REALM,
		.cr_password = "secret", .cr_method = "REGISTER",
		.cr_uri = "sip:" TEST_REALM, .cr_nonce = nonce,
		.cr_qop = "auth", .cr_nc = nc, .cr_cnonce = "0a4f113b",
	};

	return c;
}

/* Verifies a hand-written credentials line as alice's REGISTER. */
static int
verify_line(const char *line)
{
	struct test_msg		 t;
	struct test_db		 db = db_default();
	struct auth_result	 r;

	msg_make(&t, "REGISTER", line);
	return auth_verify(&t.tm_msg, 0, str(TEST_REALM), test_lookup, &db,
	    TEST_NOW, &test_conf, &r);
}

/* ---- fixtures ------------------------------------------------------ */

static void
conf_reset(void)
{
	memset(&test_conf, 0, sizeof(test_conf));
	test_conf.c_auth_algorithms = CONF_ALG_MD5;
	test_conf.c_auth_qop = true;
	test_conf.c_auth_nonce_expire = 300;
	test_conf.c_auth_calculate_ha1 = true;
}

static int
group_setup(void **state)
{
	(void)state;
	conf_reset();
	if (shm_create(TEST_MAP_SIZE) != 0)
		return -1;
	return auth_init(&test_conf) == 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	shm_destroy();
	return 0;
}

/* Each test starts from the default auth settings (same key, epoch). */
static int
test_setup(void **state)
{
	(void)state;
	conf_reset();
	return 0;
}

/* ---- digest arithmetic: RFC vectors --------------------------------- */

static void
test_digest_rfc2617(void **state)
{
	struct sip_digest	 d;
	char			 ha1[AUTH_HEX_MAX + 1], resp[AUTH_HEX_MAX + 1];

	(void)state;
	/* RFC 2617 §3.5 */
	assert_int_equal(auth_digest_ha1(AUTH_ALG_MD5, str("Mufasa"),
	    str("testrealm@host.com"), str("Circle Of Life"), ha1), 32);
	memset(&d, 0, sizeof(d));
	d.sd_uri = str("/dir/index.html");
	d.sd_nonce = str("dcd98b7102dd2f0e8b11d0f600bfb0c093");
	d.sd_nc = str("00000001");
	d.sd_cnonce = str("0a4f113b");
	d.sd_qop = str("auth");
	assert_int_equal(auth_digest_response(AUTH_ALG_MD5, ha1, str("GET"),
	    &d, resp), 32);
	assert_string_equal(resp, "6629fae49393a05397450978507c4ef1");
}

static void
rfc7616_digest(struct sip_digest *d)
{
	memset(d, 0, sizeof(*d));
	d->sd_uri = str("/dir/index.html");
	d->sd_nonce = str("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
	d->sd_nc = str("00000001");
	d->sd_cnonce = str("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
	d->sd_qop = str("auth");
}

static void
test_digest_rfc7616_md5(void **state)
{
	struct sip_digest	 d;
	char			 ha1[AUTH_HEX_MAX + 1], resp[AUTH_HEX_MAX + 1];

	(void)state;
	/* RFC 7616 §3.9.1, MD5 */
	rfc7616_digest(&d);
	assert_int_equal(auth_digest_ha1(AUTH_ALG_MD5, str("Mufasa"),
	    str("http-auth@example.org"), str("Circle of Life"), ha1), 32);
	assert_int_equal(auth_digest_response(AUTH_ALG_MD5, ha1, str("GET"),
	    &d, resp), 32);
	assert_string_equal(resp, "8ca523f5e9506fed4657c9700eebdbec");
}

static void
test_digest_rfc7616_sha256(void **state)
{
	struct sip_digest	 d;
	char			 ha1[AUTH_HEX_MAX + 1], resp[AUTH_HEX_MAX + 1];

	(void)state;
	/* RFC 7616 §3.9.1, SHA-256 */
	rfc7616_digest(&d);
	assert_int_equal(auth_digest_ha1(AUTH_ALG_SHA256, str("Mufasa"),
	    str("http-auth@example.org"), str("Circle of Life"), ha1), 64);
	assert_int_equal(auth_digest_response(AUTH_ALG_SHA256, ha1,
	    str("GET"), &d, resp), 64);
	assert_string_equal(resp, "753927fa0e85d155564e2e272a28d180"
	    "2ca10daf4496794697cf8db5856cb6c1");
}

/* RFC 2069 (no qop): H(HA1:nonce:HA2), against the formula. */
static void
test_digest_rfc2069(void **state)
{
	struct sip_digest	 d;
	char			 ha1[AUTH_HEX_MAX + 1], resp[AUTH_HEX_MAX + 1];
	char			 ha2[AUTH_HEX_MAX + 1], want[AUTH_HEX_MAX + 1];

	(void)state;
	memset(&d, 0, sizeof(d));
	d.sd_uri = str("/dir/index.html");
	d.sd_nonce = str("dcd98b7102dd2f0e8b11d0f600bfb0c093");
	assert_int_equal(auth_digest_ha1(AUTH_ALG_MD5, str("Mufasa"),
	    str("testrealm@host.com"), str("Circle Of Life"), ha1), 32);
	assert_int_equal(auth_digest_response(AUTH_ALG_MD5, ha1, str("GET"),
	    &d, resp), 32);
	md_hex(AUTH_ALG_MD5, ha2, "GET:/dir/index.html");
	md_hex(AUTH_ALG_MD5, want, "%s:dcd98b7102dd2f0e8b11d0f600bfb0c093:%s",
	    ha1, ha2);
	assert_string_equal(resp, want);
	assert_int_equal(auth_digest_ha1(7, str("a"), str("b"), str("c"),
	    ha1), -EINVAL);
}

/*
 * The RFC 2617 example sent as a SIP request: the parser's spans (and
 * the method from the request line) give the RFC's response.
 */
static void
test_digest_parsed_request(void **state)
{
	struct test_msg		 t;
	const struct sip_hdr	*h;
	struct sip_auth		 a;
	struct sip_digest	 d;
	char			 ha1[AUTH_HEX_MAX + 1], resp[AUTH_HEX_MAX + 1];

	(void)state;
	msg_make(&t, "GET",
	    "Authorization: Digest username=\"Mufasa\",\r\n"
	    " realm=\"testrealm@host.com\",\r\n"
	    " nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n"
	    " uri=\"/dir/index.html\", qop=auth, nc=00000001,\r\n"
	    " cnonce=\"0a4f113b\",\r\n"
	    " response=\"6629fae49393a05397450978507c4ef1\",\r\n"
	    " opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"\r\n");
	h = sip_msg_hdr(&t.tm_msg, SIP_HDR_AUTHORIZATION);
	assert_non_null(h);
	assert_int_equal(sip_auth_parse(h->sh_value, &a), 0);
	assert_int_equal(sip_digest_parse(&a, &d), 0);
	assert_int_equal(auth_digest_ha1(AUTH_ALG_MD5, d.sd_username,
	    d.sd_realm, str("Circle Of Life"), ha1), 32);
	assert_int_equal(auth_digest_response(AUTH_ALG_MD5, ha1,
	    t.tm_msg.sm_method_str, &d, resp), 32);
	assert_int_equal(d.sd_response.len, 32);
	assert_memory_equal(resp, d.sd_response.s, 32);
}

/* ---- challenges ---------------------------------------------------- */

/* Checks ch is exactly the expected lines around one shared nonce. */
static void
check_challenge(const char *ch, const char *hdr, const char *tail_md5,
    const char *tail_sha)
{
	char		 nonce[AUTH_NONCE_LEN + 1], want[2048];
	const char	*p;
	size_t		 i;
	int		 n;

	p = strstr(ch, "nonce=\"");
	assert_non_null(p);
	memcpy(nonce, p + 7, AUTH_NONCE_LEN);
	nonce[AUTH_NONCE_LEN] = '\0';
	for (i = 0; i < AUTH_NONCE_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", nonce[i]));
	n = 0;
	if (tail_md5 != NULL)
		n += snprintf(want + n, sizeof(want) - (size_t)n,
		    "%s: Digest realm=\"" TEST_REALM "\", nonce=\"%s\"%s\r\n",
		    hdr, nonce, tail_md5);
	if (tail_sha != NULL)
		n += snprintf(want + n, sizeof(want) - (size_t)n,
		    "%s: Digest realm=\"" TEST_REALM "\", nonce=\"%s\"%s\r\n",
		    hdr, nonce, tail_sha);
	assert_string_equal(ch, want);
}

static void
test_challenge_md5(void **state)
{
	char	 ch[1024];
	int	 n;

	(void)state;
	n = auth_challenge(ch, sizeof(ch), 0, str(TEST_REALM), false,
	    TEST_NOW, &test_conf);
	assert_int_equal(n, (int)strlen(ch));
	check_challenge(ch, "WWW-Authenticate",
	    ", qop=\"auth\", algorithm=MD5", NULL);
}

static void
test_challenge_both(void **state)
{
	char	 ch[1024];

	(void)state;
	test_conf.c_auth_algorithms = CONF_ALG_MD5 | CONF_ALG_SHA256;
	assert_true(auth_challenge(ch, sizeof(ch), 1, str(TEST_REALM), false,
	    TEST_NOW, &test_conf) > 0);
	check_challenge(ch, "Proxy-Authenticate",
	    ", qop=\"auth\", algorithm=MD5",
	    ", qop=\"auth\", algorithm=SHA-256");

	test_conf.c_auth_algorithms = CONF_ALG_SHA256;
	assert_true(auth_challenge(ch, sizeof(ch), 0, str(TEST_REALM), false,
	    TEST_NOW, &test_conf) > 0);
	check_challenge(ch, "WWW-Authenticate", NULL,
	    ", qop=\"auth\", algorithm=SHA-256");
}

static void
test_challenge_qop_none_stale(void **state)
{
	char	 ch[1024];

	(void)state;
	test_conf.c_auth_qop = false;
	assert_true(auth_challenge(ch, sizeof(ch), 0, str(TEST_REALM), false,
	    TEST_NOW, &test_conf) > 0);
	check_challenge(ch, "WWW-Authenticate", ", algorithm=MD5", NULL);

	test_conf.c_auth_qop = true;
	test_conf.c_auth_algorithms = CONF_ALG_MD5 | CONF_ALG_SHA256;
	assert_true(auth_challenge(ch, sizeof(ch), 0, str(TEST_REALM), true,
	    TEST_NOW, &test_conf) > 0);
	check_challenge(ch, "WWW-Authenticate",
	    ", qop=\"auth\", algorithm=MD5, stale=true",
	    ", qop=\"auth\", algorithm=SHA-256, stale=true");
}

static void
test_challenge_errors(void **state)
{
	char	 ch[1024], a[AUTH_NONCE_LEN + 1], b[AUTH_NONCE_LEN + 1];

	(void)state;
	assert_int_equal(auth_challenge(ch, 60, 0, str(TEST_REALM), false,
	    TEST_NOW, &test_conf), -ENOSPC);
	assert_string_equal(ch, "");
	assert_int_equal(auth_challenge(ch, sizeof(ch), 0, str("a\"b"),
	    false, TEST_NOW, &test_conf), -EINVAL);
	assert_int_equal(auth_challenge(ch, sizeof(ch), 0, str("a\r\nX: y"),
	    false, TEST_NOW, &test_conf), -EINVAL);
	assert_int_equal(auth_challenge(ch, sizeof(ch), 0, str(""),
	    false, TEST_NOW, &test_conf), -EINVAL);
	test_conf.c_auth_algorithms = 0;
	assert_int_equal(auth_challenge(ch, sizeof(ch), 0, str(TEST_REALM),
	    false, TEST_NOW, &test_conf), -EINVAL);
	/* every challenge has its own nonce */
	test_conf.c_auth_algorithms = CONF_ALG_MD5;
	new_nonce(a, TEST_NOW);
	new_nonce(b, TEST_NOW);
	assert_string_not_equal(a, b);
}

/* ---- verify: the good paths ---------------------------------------- */

static void
test_verify_ok_md5(void **state)
{
	char			 nonce[AUTH_NONCE_LEN + 1];
	struct cred		 c;
	struct auth_result	 r;

	(void)state;
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	memset(&r, 0, sizeof(r));
	assert_int_equal(verify_cred(&c, TEST_NOW + 10, &r), AUTH_OK);
	assert_int_equal(r.ar_username.len, 5);
	assert_memory_equal(r.ar_username.s, "alice", 5);
	assert_int_equal(r.ar_user.len, 5);
	assert_int_equal(r.ar_algorithm, AUTH_ALG_MD5);
	assert_true(r.ar_hdr >= 0);

	/* explicit algorithm=MD5, any method */
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	c.cr_alg = AUTH_ALG_MD5;
	c.cr_method = "INVITE";
	c.cr_uri = "sip:bob@" TEST_REALM;
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
}

static void
test_verify_ok_sha256(void **state)
{
	char			 nonce[AUTH_NONCE_LEN + 1];
	struct cred		 c;
	struct auth_result	 r;

	(void)state;
	test_conf.c_auth_algorithms = CONF_ALG_MD5 | CONF_ALG_SHA256;
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	c.cr_alg = AUTH_ALG_SHA256;
	assert_int_equal(verify_cred(&c, TEST_NOW, &r), AUTH_OK);
	assert_int_equal(r.ar_algorithm, AUTH_ALG_SHA256);

	/* not offered: refused even with the right password */
	test_conf.c_auth_algorithms = CONF_ALG_MD5;
	c.cr_nc = "00000002";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);
	test_conf.c_auth_algorithms = CONF_ALG_SHA256;
	c = cred_alice(nonce, "00000003");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);
}

/* Uppercase hex in the response is folded. */
static void
test_verify_uppercase_response(void **state)
{
	char		 nonce[AUTH_NONCE_LEN + 1], line[1024], *p;
	struct cred	 c;
	int		 i;

	(void)state;
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "0000000A");
	cred_line(line, sizeof(line), &c);
	p = strstr(line, "response=\"") + 10;
	for (i = 0; i < 32; i++)
		if (p[i] >= 'a' && p[i] <= 'f')
			p[i] = (char)(p[i] - 'a' + 'A');
	assert_int_equal(verify_line(line), AUTH_OK);
}

/* ---- nonces: expiry, forgery, secrets ------------------------------ */

static void
test_nonce_expired(void **state)
{
	char		 nonce[AUTH_NONCE_LEN + 1];
	struct cred	 c;

	(void)state;
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	/* the last second of its life, then one past */
	c.cr_password = "wrong";
	assert_int_equal(verify_cred(&c, TEST_NOW + 301, NULL),
	    AUTH_INVALID);
	c.cr_password = "secret";
	assert_int_equal(verify_cred(&c, TEST_NOW + 301, NULL), AUTH_STALE);
	assert_int_equal(verify_cred(&c, TEST_NOW + 300, NULL), AUTH_OK);
	/* a stale answer did not use nc 2 up */
	c.cr_nc = "00000002";
	assert_int_equal(verify_cred(&c, TEST_NOW + 3600, NULL), AUTH_STALE);
	assert_int_equal(verify_cred(&c, TEST_NOW + 1, NULL), AUTH_OK);

	/* auth.nonce_expire is read when the nonce is made */
	test_conf.c_auth_nonce_expire = 5;
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW + 6, NULL), AUTH_STALE);
	assert_int_equal(verify_cred(&c, TEST_NOW + 5, NULL), AUTH_OK);
}

static void
test_nonce_forged(void **state)
{
	char		 nonce[AUTH_NONCE_LEN + 1], bad[AUTH_NONCE_LEN + 2];
	struct cred	 c;
	size_t		 i;

	(void)state;
	new_nonce(nonce, TEST_NOW);
	/* any one hex digit changed: fields (expiry!) or MAC */
	for (i = 0; i < AUTH_NONCE_LEN; i++) {
		memcpy(bad, nonce, sizeof(nonce));
		bad[i] = bad[i] == '0' ? '1' : '0';
		c = cred_alice(bad, "00000001");
		assert_int_equal(verify_cred(&c, TEST_NOW, NULL),
		    AUTH_INVALID);
	}
	/* the same nonce in upper case, shortened, lengthened, foreign */
	memcpy(bad, nonce, sizeof(nonce));
	for (i = 0; i < AUTH_NONCE_LEN; i++)
		if (bad[i] >= 'a')
			bad[i] = (char)(bad[i] - 'a' + 'A');
	c = cred_alice(bad, "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);
	memcpy(bad, nonce, sizeof(nonce));
	bad[AUTH_NONCE_LEN - 1] = '\0';
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);
	memcpy(bad, nonce, AUTH_NONCE_LEN);
	bad[AUTH_NONCE_LEN] = '0';
	bad[AUTH_NONCE_LEN + 1] = '\0';
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);
	c = cred_alice("dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);

	/* the untouched nonce still works: nothing above used it up */
	c = cred_alice(nonce, "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
}

/* auth_init() again, as a start with this auth.secret would. */
static void
restart_with_secret(const char *secret)
{
	(void)snprintf(test_conf.c_auth_secret,
	    sizeof(test_conf.c_auth_secret), "%s", secret);
	assert_int_equal(auth_init(&test_conf), 0);
}

/*
 * Another secret: our nonces are not the other key's (INVALID). The
 * same configured secret after a restart: the MAC holds but the replay
 * history is gone, so only stale (the UA retries with a new nonce).
 */
static void
test_nonce_secret_and_restart(void **state)
{
	char		 nonce[AUTH_NONCE_LEN + 1];
	struct cred	 c;

	(void)state;
	restart_with_secret("first-secret-0123456789");
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);

	restart_with_secret("other-secret-0123456789");
	c.cr_nc = "00000002";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);

	restart_with_secret("first-secret-0123456789");
	c.cr_nc = "00000001";	/* a replay across the restart */
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_STALE);
	c.cr_password = "wrong";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);

	/* random secrets differ from start to start */
	test_conf.c_auth_secret[0] = '\0';
	assert_int_equal(auth_init(&test_conf), 0);
	new_nonce(nonce, TEST_NOW);
	assert_int_equal(auth_init(&test_conf), 0);
	c = cred_alice(nonce, "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);
}

/* ---- replay -------------------------------------------------------- */

static void
test_replay_nc(void **state)
{
	char		 nonce[AUTH_NONCE_LEN + 1];
	struct cred	 c;

	(void)state;
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_REPLAY);
	c.cr_nc = "00000002";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
	c.cr_nc = "00000001";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_REPLAY);
	/* a gap is fine, going back below the top is not */
	c.cr_nc = "00000010";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
	c.cr_nc = "0000000f";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_REPLAY);
	/* a wrong password with a new nc neither passes nor uses it */
	c.cr_nc = "00000011";
	c.cr_password = "wrong";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);
	c.cr_password = "secret";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
	/* a new cnonce does not reset anything */
	c.cr_cnonce = "another";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_REPLAY);
	/* an nc too high to record: stale, so the UA takes a new nonce */
	c.cr_nc = "00010000";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_STALE);
}

static void
test_replay_no_qop(void **state)
{
	char		 nonce[AUTH_NONCE_LEN + 1];
	struct cred	 c;

	(void)state;
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, NULL);
	c.cr_qop = NULL;
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_REPLAY);
	/* used up: qop=auth on it is a replay too */
	c = cred_alice(nonce, "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_REPLAY);

	/* and the other way round: once an nc was used, no-qop is out */
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
	c.cr_qop = NULL;
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_REPLAY);

	/* accepted with auth.qop = none as with auth */
	test_conf.c_auth_qop = false;
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, NULL);
	c.cr_qop = NULL;
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
}

/*
 * The replay table is in shm: a child worker's use is seen by the
 * parent, and the parent's by a second child.
 */
static void
test_replay_across_fork(void **state)
{
	char		 nonce[AUTH_NONCE_LEN + 1];
	struct cred	 c;
	pid_t		 pid;
	int		 status;

	(void)state;
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	pid = testutil_fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(verify_cred(&c, TEST_NOW, NULL) == AUTH_OK ? 0 : 1);
	status = testutil_reap(pid, TEST_WAIT_MS);
	assert_true(status != -1 && WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_REPLAY);

	c.cr_nc = "00000002";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
	pid = testutil_fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(verify_cred(&c, TEST_NOW, NULL) == AUTH_REPLAY ? 0 : 1);
	status = testutil_reap(pid, TEST_WAIT_MS);
	assert_true(status != -1 && WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* a nonce minted in a child is good in the parent */
	pid = testutil_fork();
	assert_true(pid != -1);
	if (pid == 0) {
		char ch[1024];

		_exit(auth_challenge(ch, sizeof(ch), 0, str(TEST_REALM),
		    false, TEST_NOW, &test_conf) > 0 &&
		    write(STDOUT_FILENO, "", 0) == 0 ? 0 : 1);
	}
	status = testutil_reap(pid, TEST_WAIT_MS);
	assert_true(status != -1 && WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	new_nonce(nonce, TEST_NOW);	/* the next index after the child's */
	c = cred_alice(nonce, "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
}

/*
 * Workers racing with the same (nonce, nc): in each round every racer
 * sends the same nc at once (a barrier in shm), and exactly one of them
 * must win it.
 */
struct race_area {
	atomic_uint	ra_arrived;		/* barrier: racers x rounds */
	atomic_uint	ra_wins[TEST_RACE_NC + 1];
};

static void
race_child(struct race_area *ra, const char *nonce)
{
	char		 nc[9];
	struct cred	 c;
	unsigned	 k;

	for (k = 1; k <= TEST_RACE_NC; k++) {
		atomic_fetch_add(&ra->ra_arrived, 1);
		while (atomic_load(&ra->ra_arrived) < k * TEST_RACERS)
			sched_yield();
		(void)snprintf(nc, sizeof(nc), "%08x", k);
		c = cred_alice(nonce, nc);
		if (verify_cred(&c, TEST_NOW, NULL) == AUTH_OK)
			atomic_fetch_add(&ra->ra_wins[k], 1);
	}
	_exit(0);
}

static void
test_replay_race(void **state)
{
	struct race_area	*ra;
	char			 nonce[AUTH_NONCE_LEN + 1];
	pid_t			 pids[TEST_RACERS];
	int			 i, k, status;

	(void)state;
	ra = shm_carve(sizeof(*ra), alignof(struct race_area));
	assert_non_null(ra);
	new_nonce(nonce, TEST_NOW);
	for (i = 0; i < TEST_RACERS; i++) {
		pids[i] = testutil_fork();
		assert_true(pids[i] != -1);
		if (pids[i] == 0)
			race_child(ra, nonce);
	}
	for (i = 0; i < TEST_RACERS; i++) {
		status = testutil_reap(pids[i], TEST_WAIT_MS);
		assert_true(status != -1 && WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	for (k = 1; k <= TEST_RACE_NC; k++)
		if (atomic_load(&ra->ra_wins[k]) != 1)
			fail_msg("nc %d won %u times", k,
			    atomic_load(&ra->ra_wins[k]));
}

/* A nonce whose table slot a newer nonce took is only good for stale. */
static void
test_replay_slot_reused(void **state)
{
	char		 nonce[AUTH_NONCE_LEN + 1], ch[1024];
	struct cred	 c;
	unsigned	 i;

	(void)state;
	new_nonce(nonce, TEST_NOW);
	for (i = 0; i < AUTH_REPLAY_SLOTS; i++)
		assert_true(auth_challenge(ch, sizeof(ch), 0,
		    str(TEST_REALM), false, TEST_NOW, &test_conf) > 0);
	c = cred_alice(nonce, "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_STALE);
	c.cr_password = "wrong";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);
}

/* ---- users, realms, headers ------------------------------------------ */

/* Unknown user and wrong password: same code, same lookup. */
static void
test_unknown_user(void **state)
{
	char			 nonce[AUTH_NONCE_LEN + 1], line[1024];
	struct cred		 c;
	struct test_msg		 t;
	struct test_db		 db1 = db_default(), db2 = db_default();
	struct auth_result	 r;

	(void)state;
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	c.cr_user = "mallory";
	cred_line(line, sizeof(line), &c);
	msg_make(&t, "REGISTER", line);
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db1, TEST_NOW, &test_conf, &r), AUTH_INVALID);
	assert_int_equal(db1.td_calls, 1);
	assert_string_equal(db1.td_last_user, "mallory");

	c = cred_alice(nonce, "00000001");
	c.cr_password = "Secret";
	cred_line(line, sizeof(line), &c);
	msg_make(&t, "REGISTER", line);
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db2, TEST_NOW, &test_conf, &r), AUTH_INVALID);
	assert_int_equal(db2.td_calls, 1);

	/* same with the ha1 columns */
	test_conf.c_auth_calculate_ha1 = false;
	c = cred_alice(nonce, "00000001");
	c.cr_user = "mallory";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);
	/* the stand-in password of an unknown user matches nothing */
	test_conf.c_auth_calculate_ha1 = true;
	c.cr_password = "";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_INVALID);
	/* none of this used the nonce */
	c = cred_alice(nonce, "00000001");
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL), AUTH_OK);
}

static void
test_lookup_error(void **state)
{
	char			 nonce[AUTH_NONCE_LEN + 1], line[1024];
	struct cred		 c;
	struct test_msg		 t;
	struct test_db		 db = db_default();
	struct auth_result	 r;

	(void)state;
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	cred_line(line, sizeof(line), &c);
	msg_make(&t, "REGISTER", line);
	db.td_fail = -EIO;
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), -EIO);
	db.td_fail = 0;
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), AUTH_OK);
}

/* auth.calculate_ha1 = no: the ha1 and ha1b columns, MD5 only. */
static void
test_ha1_columns(void **state)
{
	char			 nonce[AUTH_NONCE_LEN + 1], line[1024];
	char			 ha1[AUTH_HEX_MAX + 1], ha1b[AUTH_HEX_MAX + 1];
	char			 upper[AUTH_HEX_MAX + 1];
	struct test_user	 u[1];
	struct test_db		 db = db_default();
	struct test_msg		 t;
	struct auth_result	 r;
	struct cred		 c;
	size_t			 i;

	(void)state;
	md_hex(AUTH_ALG_MD5, ha1, "carol:" TEST_REALM ":pw1");
	md_hex(AUTH_ALG_MD5, ha1b, "carol@" TEST_REALM ":" TEST_REALM ":pw1");
	u[0].tu_user = "carol";
	u[0].tu_password = "not-this";
	u[0].tu_ha1 = ha1;
	u[0].tu_ha1b = ha1b;
	db.td_users = u;
	db.td_nusers = 1;
	test_conf.c_auth_calculate_ha1 = false;
	test_conf.c_auth_algorithms = CONF_ALG_MD5 | CONF_ALG_SHA256;

	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	c.cr_user = "carol";
	c.cr_password = "pw1";
	cred_line(line, sizeof(line), &c);
	msg_make(&t, "REGISTER", line);
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), AUTH_OK);

	/* user@domain: ha1b, looked up by the user part */
	c.cr_user = "carol@" TEST_REALM;
	c.cr_nc = "00000002";
	cred_line(line, sizeof(line), &c);
	msg_make(&t, "REGISTER", line);
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), AUTH_OK);
	assert_string_equal(db.td_last_user, "carol");
	assert_int_equal(r.ar_user.len, 5);
	assert_int_equal(r.ar_username.len, strlen("carol@" TEST_REALM));

	/* stored in upper case: still the same hash */
	for (i = 0; ha1[i] != '\0'; i++)
		upper[i] = ha1[i] >= 'a' ? (char)(ha1[i] - 'a' + 'A') : ha1[i];
	upper[i] = '\0';
	u[0].tu_ha1 = upper;
	c.cr_user = "carol";
	c.cr_nc = "00000003";
	cred_line(line, sizeof(line), &c);
	msg_make(&t, "REGISTER", line);
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), AUTH_OK);

	/* SHA-256 has no column: always refused */
	c.cr_alg = AUTH_ALG_SHA256;
	c.cr_nc = "00000004";
	cred_line(line, sizeof(line), &c);
	msg_make(&t, "REGISTER", line);
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), AUTH_INVALID);

	/* an empty or broken column never matches */
	c.cr_alg = 0;
	u[0].tu_ha1 = "";
	cred_line(line, sizeof(line), &c);
	msg_make(&t, "REGISTER", line);
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), AUTH_INVALID);
	u[0].tu_ha1 = "0123";
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), AUTH_INVALID);
}

static void
test_realm_select(void **state)
{
	char			 nonce[AUTH_NONCE_LEN + 1], l1[1024], l2[1024];
	char			 lines[2100];
	struct cred		 c;
	struct test_msg		 t;
	struct test_db		 db = db_default();
	struct auth_result	 r;

	(void)state;
	new_nonce(nonce, TEST_NOW);
	/* right password, other realm: not ours to judge */
	c = cred_alice(nonce, "00000001");
	c.cr_realm = "other.example.net";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL),
	    AUTH_NO_CREDENTIALS);

	/* several headers: the one for our realm is used */
	cred_line(l1, sizeof(l1), &c);
	c = cred_alice(nonce, "00000001");
	cred_line(l2, sizeof(l2), &c);
	(void)snprintf(lines, sizeof(lines),
	    "Authorization: Basic YWxpY2U6c2VjcmV0\r\n%s%s", l1, l2);
	msg_make(&t, "REGISTER", lines);
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), AUTH_OK);
	assert_int_equal(r.ar_hdr,
	    t.tm_msg.sm_first[SIP_HDR_AUTHORIZATION] + 2);
	assert_int_equal(t.tm_msg.sm_hdrs[r.ar_hdr].sh_id,
	    SIP_HDR_AUTHORIZATION);

	/* realm compared octet for octet */
	c = cred_alice(nonce, "00000002");
	c.cr_realm = "EXAMPLE.COM";
	assert_int_equal(verify_cred(&c, TEST_NOW, NULL),
	    AUTH_NO_CREDENTIALS);
}

static void
test_no_credentials(void **state)
{
	char			 nonce[AUTH_NONCE_LEN + 1], line[1024];
	struct cred		 c;
	struct test_msg		 t;
	struct test_db		 db = db_default();
	struct auth_result	 r;

	(void)state;
	assert_int_equal(verify_line(""), AUTH_NO_CREDENTIALS);
	/* RFC 4475 regaut01: an unknown scheme is no credentials */
	assert_int_equal(verify_line("Authorization: NoOneKnowsThisScheme "
	    "opaque-data=here\r\n"), AUTH_NO_CREDENTIALS);
	assert_int_equal(db.td_calls, 0);

	/* Authorization vs Proxy-Authorization */
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	c.cr_method = "INVITE";
	cred_line(line, sizeof(line), &c);
	msg_make(&t, "INVITE", line);
	assert_int_equal(auth_verify(&t.tm_msg, 1, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), AUTH_NO_CREDENTIALS);
	c.cr_hdr = "Proxy-Authorization";
	cred_line(line, sizeof(line), &c);
	msg_make(&t, "INVITE", line);
	assert_int_equal(auth_verify(&t.tm_msg, 0, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), AUTH_NO_CREDENTIALS);
	assert_int_equal(auth_verify(&t.tm_msg, 1, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), AUTH_OK);

	/* not a request */
	memcpy(t.tm_buf, "SIP/2.0 200 OK\r\n", 16);
	(void)snprintf(t.tm_buf, sizeof(t.tm_buf), "SIP/2.0 200 OK\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n%s"
	    "Content-Length: 0\r\n\r\n", line);
	assert_int_equal(sip_msg_parse(&t.tm_msg, t.tm_buf,
	    strlen(t.tm_buf)), 0);
	assert_int_equal(auth_verify(&t.tm_msg, 1, str(TEST_REALM),
	    test_lookup, &db, TEST_NOW, &test_conf, &r), -EINVAL);
}

/* Credentials that cannot be checked: 400. */
static void
test_bad_credentials(void **state)
{
	static const char *const bad[] = {
		/* no username, nonce, uri, response */
		"realm=\"" TEST_REALM "\", nonce=\"N\", uri=\"sip:x\", "
		    "response=\"0\"",
		"username=\"alice\", realm=\"" TEST_REALM "\", "
		    "uri=\"sip:x\", response=\"0\"",
		"username=\"alice\", realm=\"" TEST_REALM "\", "
		    "nonce=\"N\", response=\"0\"",
		"username=\"alice\", realm=\"" TEST_REALM "\", "
		    "nonce=\"N\", uri=\"sip:x\"",
		"username=\"\", realm=\"" TEST_REALM "\", "
		    "nonce=\"N\", uri=\"sip:x\", response=\"0\"",
		/* algorithms we do not do */
		"username=\"alice\", realm=\"" TEST_REALM "\", nonce=\"N\", "
		    "uri=\"sip:x\", response=\"0\", algorithm=MD5-sess",
		"username=\"alice\", realm=\"" TEST_REALM "\", nonce=\"N\", "
		    "uri=\"sip:x\", response=\"0\", algorithm=SHA-512-256",
		/* qop other than auth, or without cnonce / good nc */
		"username=\"alice\", realm=\"" TEST_REALM "\", nonce=\"N\", "
		    "uri=\"sip:x\", response=\"0\", qop=auth-int, "
		    "nc=00000001, cnonce=\"c\"",
		"username=\"alice\", realm=\"" TEST_REALM "\", nonce=\"N\", "
		    "uri=\"sip:x\", response=\"0\", qop=auth, nc=00000001",
		"username=\"alice\", realm=\"" TEST_REALM "\", nonce=\"N\", "
		    "uri=\"sip:x\", response=\"0\", qop=auth, cnonce=\"c\"",
		"username=\"alice\", realm=\"" TEST_REALM "\", nonce=\"N\", "
		    "uri=\"sip:x\", response=\"0\", qop=auth, nc=1, "
		    "cnonce=\"c\"",
		"username=\"alice\", realm=\"" TEST_REALM "\", nonce=\"N\", "
		    "uri=\"sip:x\", response=\"0\", qop=auth, nc=0000000g, "
		    "cnonce=\"c\"",
		"username=\"alice\", realm=\"" TEST_REALM "\", nonce=\"N\", "
		    "uri=\"sip:x\", response=\"0\", qop=auth, nc=00000000, "
		    "cnonce=\"c\"",
		"username=\"alice\", realm=\"" TEST_REALM "\", nonce=\"N\", "
		    "uri=\"sip:x\", response=\"0\", qop=auth, nc=000000001, "
		    "cnonce=\"c\"",
	};
	char	 line[1024];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(line, sizeof(line),
		    "Authorization: Digest %s\r\n", bad[i]);
		if (verify_line(line) != AUTH_BAD)
			fail_msg("case %zu: %s", i, bad[i]);
	}
	/* unparsable and nothing else for us: 400 too */
	assert_int_equal(verify_line("Authorization: Digest username=\r\n"),
	    AUTH_BAD);
	assert_int_equal(verify_line("Authorization: Digest "
	    "realm=\"" TEST_REALM "\", username=\"a\" x\r\n"), AUTH_BAD);
	/* qop and algorithm tokens are not case-sensitive */
	(void)snprintf(line, sizeof(line), "Authorization: Digest "
	    "username=\"alice\", realm=\"" TEST_REALM "\", nonce=\"N\", "
	    "uri=\"sip:x\", response=\"0\", qop=AUTH, nc=00000001, "
	    "cnonce=\"c\", algorithm=md5\r\n");
	assert_int_equal(verify_line(line), AUTH_INVALID);
}

static void
test_realm_default(void **state)
{
	struct test_msg	 t;
	struct sip_str	 realm;
	int		 n;

	(void)state;
	msg_make(&t, "REGISTER", "");
	n = snprintf(t.tm_buf, sizeof(t.tm_buf),
	    "REGISTER sip:reg.example.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
	    "To: <sip:alice@to.example.org>\r\n"
	    "From: <sip:alice@from.example.org>;tag=1\r\n"
	    "Call-ID: 1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(sip_msg_parse(&t.tm_msg, t.tm_buf, (size_t)n), 0);
	assert_int_equal(auth_realm(&t.tm_msg, &test_conf, &realm), 0);
	assert_int_equal(realm.len, strlen("to.example.org"));
	assert_memory_equal(realm.s, "to.example.org", realm.len);

	n = snprintf(t.tm_buf, sizeof(t.tm_buf),
	    "INVITE sip:bob@example.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
	    "To: <sip:bob@to.example.org>\r\n"
	    "From: \"A\" <sip:alice@[2001:db8::1]:5070>;tag=1\r\n"
	    "Call-ID: 1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(sip_msg_parse(&t.tm_msg, t.tm_buf, (size_t)n), 0);
	assert_int_equal(auth_realm(&t.tm_msg, &test_conf, &realm), 0);
	assert_int_equal(realm.len, strlen("[2001:db8::1]"));
	assert_memory_equal(realm.s, "[2001:db8::1]", realm.len);

	/* auth.realm wins */
	(void)snprintf(test_conf.c_auth_realm, sizeof(test_conf.c_auth_realm),
	    "sipd.example");
	assert_int_equal(auth_realm(&t.tm_msg, &test_conf, &realm), 0);
	assert_int_equal(realm.len, strlen("sipd.example"));
	assert_memory_equal(realm.s, "sipd.example", realm.len);
	test_conf.c_auth_realm[0] = '\0';

	/* tel: has no host; no From at all */
	n = snprintf(t.tm_buf, sizeof(t.tm_buf),
	    "INVITE sip:bob@example.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
	    "To: <sip:bob@to.example.org>\r\n"
	    "From: <tel:+15551234>;tag=1\r\n"
	    "Call-ID: 1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(sip_msg_parse(&t.tm_msg, t.tm_buf, (size_t)n), 0);
	assert_int_equal(auth_realm(&t.tm_msg, &test_conf, &realm),
	    -EBADMSG);
	n = snprintf(t.tm_buf, sizeof(t.tm_buf),
	    "INVITE sip:bob@example.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
	    "To: <sip:bob@to.example.org>\r\n"
	    "Call-ID: 1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(sip_msg_parse(&t.tm_msg, t.tm_buf, (size_t)n), 0);
	assert_int_equal(auth_realm(&t.tm_msg, &test_conf, &realm), -ENOENT);
}

static void
test_shm_size(void **state)
{
	(void)state;
	/* the table plus its counter, and nothing silly */
	assert_true(auth_shm_size(&test_conf) >=
	    AUTH_REPLAY_SLOTS * sizeof(uint32_t) + sizeof(uint32_t));
	assert_true(auth_shm_size(&test_conf) <=
	    AUTH_REPLAY_SLOTS * sizeof(uint32_t) + 2 * AUTH_SHM_ALIGN);
	assert_true(shm_size_add(shm_size_base(), auth_shm_size(&test_conf),
	    AUTH_SHM_ALIGN) < TEST_MAP_SIZE);
}

/* ---- auth_authorize(): the one 401/407 policy --------------------- */

static bool	authorize_retx_answer;

static bool
authorize_retx(void *arg)
{
	(void)arg;
	return authorize_retx_answer;
}

/* c (NULL: no credentials) as kind, for identity, at now. */
static void
authorize(const struct cred *c, enum auth_kind kind, const char *identity,
    bool (*retx)(void *), time_t now, struct auth_decision *d)
{
	static char		 chal[1024];
	struct test_msg		 t;
	struct test_db		 db = db_default();
	struct auth_request	 req;
	struct cred		 cc;
	char			 line[1024] = "";

	if (c != NULL) {
		cc = *c;
		cc.cr_hdr = kind == AUTH_PROXY ? "Proxy-Authorization" :
		    "Authorization";
		cred_line(line, sizeof(line), &cc);
	}
	msg_make(&t, c != NULL ? c->cr_method : "INVITE", line);
	memset(&req, 0, sizeof(req));
	req.ar_m = &t.tm_msg;
	req.ar_kind = kind;
	req.ar_realm = str(TEST_REALM);
	req.ar_identity = identity;
	req.ar_identity_len = strlen(identity);
	req.ar_lookup = test_lookup;
	req.ar_lookup_arg = &db;
	req.ar_retransmission = retx;
	req.ar_now = now;
	req.ar_conf = &test_conf;
	auth_authorize(&req, chal, sizeof(chal), d);
}

static void
test_authorize_policy(void **state)
{
	char			 nonce[AUTH_NONCE_LEN + 1];
	struct auth_decision	 d;
	struct cred		 c;

	(void)state;
	/* no credentials: a challenge of the kind asked, nothing to log */
	authorize(NULL, AUTH_PROXY, "alice", NULL, TEST_NOW, &d);
	assert_int_equal(d.ad_code, 407);
	assert_string_equal(d.ad_reason, "Proxy Authentication Required");
	assert_non_null(strstr(d.ad_extra, "Proxy-Authenticate: Digest "));
	assert_null(d.ad_why);
	authorize(NULL, AUTH_WWW, "alice", NULL, TEST_NOW, &d);
	assert_int_equal(d.ad_code, 401);
	assert_string_equal(d.ad_reason, "Unauthorized");
	assert_non_null(strstr(d.ad_extra, "WWW-Authenticate: Digest "));

	/* right credentials for the identity: authorized, line named */
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	authorize(&c, AUTH_WWW, "alice", NULL, TEST_NOW, &d);
	assert_int_equal(d.ad_code, 0);
	assert_true(d.ad_hdr >= 0);
	/* the same nc again: a replay, a fresh challenge, a warning */
	authorize(&c, AUTH_WWW, "alice", NULL, TEST_NOW, &d);
	assert_int_equal(d.ad_code, 401);
	assert_int_equal(d.ad_outcome, AUTH_REPLAY);
	assert_string_equal(d.ad_why, "replayed nonce count");
	assert_true(d.ad_warn);
	assert_null(strstr(d.ad_extra, "stale"));
	/* ...unless the caller knows it for a retransmission */
	authorize_retx_answer = false;
	authorize(&c, AUTH_WWW, "alice", authorize_retx, TEST_NOW, &d);
	assert_int_equal(d.ad_code, 401);
	authorize_retx_answer = true;
	authorize(&c, AUTH_WWW, "alice", authorize_retx, TEST_NOW, &d);
	assert_int_equal(d.ad_code, 0);

	/* right credentials of another user than the identity: 403 */
	c.cr_nc = "00000002";
	authorize(&c, AUTH_PROXY, "bob", NULL, TEST_NOW, &d);
	assert_int_equal(d.ad_code, 403);
	assert_string_equal(d.ad_reason, "Forbidden auth ID");
	assert_int_equal(d.ad_user.len, 5);
	assert_memory_equal(d.ad_user.s, "alice", 5);

	/* wrong password and unknown user: the same fresh challenge */
	c.cr_nc = "00000003";
	c.cr_password = "wrong";
	authorize(&c, AUTH_PROXY, "alice", NULL, TEST_NOW, &d);
	assert_int_equal(d.ad_code, 407);
	assert_string_equal(d.ad_why, "wrong password or unknown user");
	c.cr_user = "mallory";
	authorize(&c, AUTH_PROXY, "mallory", NULL, TEST_NOW, &d);
	assert_int_equal(d.ad_code, 407);
	assert_string_equal(d.ad_why, "wrong password or unknown user");

	/* an expired nonce with the right password: stale=true, no warning */
	new_nonce(nonce, TEST_NOW);
	c = cred_alice(nonce, "00000001");
	authorize(&c, AUTH_WWW, "alice", NULL, TEST_NOW + 301, &d);
	assert_int_equal(d.ad_code, 401);
	assert_non_null(strstr(d.ad_extra, "stale=true"));
	assert_string_equal(d.ad_why, "stale nonce");
	assert_false(d.ad_warn);

	/* unusable credentials: 400 */
	c.cr_nc = "zz";
	authorize(&c, AUTH_WWW, "alice", NULL, TEST_NOW, &d);
	assert_int_equal(d.ad_code, 400);
	assert_string_equal(d.ad_reason, "Bad Request - Malformed credentials");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_rfc2617),
		cmocka_unit_test(test_digest_rfc7616_md5),
		cmocka_unit_test(test_digest_rfc7616_sha256),
		cmocka_unit_test(test_digest_rfc2069),
		cmocka_unit_test(test_digest_parsed_request),
		cmocka_unit_test_setup(test_challenge_md5, test_setup),
		cmocka_unit_test_setup(test_challenge_both, test_setup),
		cmocka_unit_test_setup(test_challenge_qop_none_stale,
		    test_setup),
		cmocka_unit_test_setup(test_challenge_errors, test_setup),
		cmocka_unit_test_setup(test_verify_ok_md5, test_setup),
		cmocka_unit_test_setup(test_verify_ok_sha256, test_setup),
		cmocka_unit_test_setup(test_verify_uppercase_response,
		    test_setup),
		cmocka_unit_test_setup(test_nonce_expired, test_setup),
		cmocka_unit_test_setup(test_nonce_forged, test_setup),
		cmocka_unit_test_setup(test_nonce_secret_and_restart,
		    test_setup),
		cmocka_unit_test_setup(test_replay_nc, test_setup),
		cmocka_unit_test_setup(test_replay_no_qop, test_setup),
		cmocka_unit_test_setup(test_replay_across_fork, test_setup),
		cmocka_unit_test_setup(test_replay_race, test_setup),
		cmocka_unit_test_setup(test_replay_slot_reused, test_setup),
		cmocka_unit_test_setup(test_unknown_user, test_setup),
		cmocka_unit_test_setup(test_lookup_error, test_setup),
		cmocka_unit_test_setup(test_ha1_columns, test_setup),
		cmocka_unit_test_setup(test_realm_select, test_setup),
		cmocka_unit_test_setup(test_no_credentials, test_setup),
		cmocka_unit_test_setup(test_bad_credentials, test_setup),
		cmocka_unit_test_setup(test_realm_default, test_setup),
		cmocka_unit_test_setup(test_shm_size, test_setup),
		cmocka_unit_test_setup(test_authorize_policy, test_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
