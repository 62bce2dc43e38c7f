/*
 * decider_test.c: the fixtures of the decider table tests; see
 * decider_test.h. Digest responses are computed with OpenSSL straight
 * from RFC 2617 (as test_auth.c does), not with auth_digest_*().
 */
#include <sys/stat.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "decider_test.h"
#include "shm.h"

/*
 * subscriber: Carol is capitalised (usernames match byte for byte),
 * dave is listed twice (the first row counts), erin and frank have no
 * binding unless a test makes one.
 */
#define DT_HA1	"00000000000000000000000000000000"
const char dt_subscriber_rows[] =
    "id(int,auto) username(string) domain(string) password(string) "
    "email_address(string) ha1(string) ha1b(string) rpid(string,null)\n"
    "1:alice:example.com:secret:alice@example.com:" DT_HA1 ":" DT_HA1 ":\n"
    "2:bob:example.com:hunter2:bob@example.com:" DT_HA1 ":" DT_HA1 ":\n"
    "3:Carol:example.com:carolpw:carol@example.com:" DT_HA1 ":" DT_HA1
    ":\n"
    "4:dave:example.com:first:dave@example.com:" DT_HA1 ":" DT_HA1 ":\n"
    "5:dave:example.com:second:dave@example.com:" DT_HA1 ":" DT_HA1 ":\n"
    "6:erin:example.com:erinpw:erin@example.com:" DT_HA1 ":" DT_HA1 ":\n"
    "7:frank:example.com:frankpw:frank@example.com:" DT_HA1 ":" DT_HA1
    ":\n";

/*
 * trusted: .50 any From (a gateway), .51 only From URIs starting
 * "sip:Carol", .52 proto none (never), .53 tcp only.
 */
const char dt_trusted_rows[] =
    "id(int,auto) src_ip(string) proto(string) from_pattern(string,null) "
    "tag(string,null)\n"
    "1:192.0.2.50:any::gw\n"
    "2:192.0.2.51:udp:^sip\\:Carol:carol-pc\n"
    "3:192.0.2.52:none::off\n"
    "4:192.0.2.53:tcp::tcp-only\n";

static const char dt_version_rows[] =
    "table_name(string) table_version(int)\n"
    "location:1004\n"
    "subscriber:6\n"
    "trusted:5\n";

void
dt_conf(struct conf *c, const char *dir)
{
	conf_defaults(c);
	c->c_db_kind = CONF_DB_TEXT;
	(void)snprintf(c->c_db_path, sizeof(c->c_db_path), "%s", dir);
	c->c_auth_algorithms = CONF_ALG_MD5;
	c->c_auth_qop = true;
	c->c_auth_nonce_expire = 300;
	c->c_auth_calculate_ha1 = true;
	c->c_auth_realm[0] = '\0';
}

static void
dt_write(const char *dir, const char *name, const char *text)
{
	char	 path[512];
	FILE	*f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

void
dt_tables_write(char *dir, size_t cap)
{
	const char	*tmp = getenv("TMPDIR");

	assert_true((size_t)snprintf(dir, cap, "%s/sipd-deciders.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp") < cap);
	assert_non_null(mkdtemp(dir));
	dt_write(dir, "version", dt_version_rows);
	dt_write(dir, "subscriber", dt_subscriber_rows);
	dt_write(dir, "trusted", dt_trusted_rows);
}

void
dt_tables_remove(const char *dir)
{
	static const char *const names[] = { "version", "subscriber",
	    "trusted" };
	char	 path[512];
	size_t	 i;

	if (dir == NULL || dir[0] == '\0')
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

struct loctab *
dt_shm_setup(const struct conf *c, unsigned hash_size, unsigned cap)
{
	struct loctab	*lt = NULL;
	size_t		 size;

	shm_destroy();
	size = shm_size_base();
	size = loctab_shm_size_add(size, hash_size, cap);
	size = shm_size_add(size, auth_shm_size(c), AUTH_SHM_ALIGN);
	assert_true(size != SIZE_MAX);
	assert_int_equal(shm_create(size), 0);
	assert_int_equal(loctab_create(hash_size, cap, &lt), 0);
	assert_non_null(lt);
	assert_int_equal(auth_init(c), 0);
	return lt;
}

/* Lowercase hex MD5 of printf(fmt, ...). */
static void
dt_md5_hex(char *out, const char *fmt, ...)
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
	assert_int_equal(EVP_Digest(in, (size_t)n, md, &mdlen, EVP_md5(),
	    NULL), 1);
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 0xf];
	}
	out[2 * mdlen] = '\0';
}

/*
 * The credentials line for spec "user:password:nc[:realm]" on the
 * request line of text (method and R-URI as the digest uri).
 */
static int
dt_cred_line(char *out, size_t cap, const char *spec, const char *hdr,
    const char *text, struct dt_vars *v)
{
	char	 buf[256], method[32], uri[512], ncbuf[16];
	char	 ha1[AUTH_HEX_MAX + 1], ha2[AUTH_HEX_MAX + 1];
	char	 resp[AUTH_HEX_MAX + 1];
	char	*user, *password, *nc, *realm, *save = NULL;
	int	 n;

	assert_true((size_t)snprintf(buf, sizeof(buf), "%s", spec) <
	    sizeof(buf));
	user = strtok_r(buf, ":", &save);
	password = strtok_r(NULL, ":", &save);
	nc = strtok_r(NULL, ":", &save);
	realm = strtok_r(NULL, ":", &save);
	assert_non_null(user);
	assert_non_null(password);
	if (nc == NULL || strcmp(nc, "-") == 0) {
		(void)snprintf(ncbuf, sizeof(ncbuf), "%08x", ++v->dv_nc);
		nc = ncbuf;
	}
	if (realm == NULL)
		realm = DT_REALM;
	assert_int_equal(sscanf(text, "%31s %511s", method, uri), 2);
	dt_md5_hex(ha1, "%s:%s:%s", user, realm, password);
	dt_md5_hex(ha2, "%s:%s", method, uri);
	dt_md5_hex(resp, "%s:%s:%s:%s:%s:%s", ha1, v->dv_nonce, nc,
	    "0a4f113b", "auth", ha2);
	n = snprintf(out, cap, "%s: Digest username=\"%s\", realm=\"%s\", "
	    "nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5, "
	    "qop=auth, nc=%s, cnonce=\"0a4f113b\"\n", hdr, user, realm,
	    v->dv_nonce, uri, resp, nc);
	assert_true(n > 0 && (size_t)n < cap);
	return n;
}

/* Appends s to out at *at (cap bytes), failing the test on overflow. */
static void
dt_put(char *out, size_t cap, size_t *at, const char *s, size_t len)
{
	assert_true(*at + len < cap);
	memcpy(out + *at, s, len);
	*at += len;
}

void
dt_msg_make(struct dt_msg *t, const char *text, const char *auth,
    const char *hdr, struct dt_vars *v)
{
	static char		 raw[16384];
	char			 line[2048];
	struct sip_check	 chk;
	const char		*p, *e;
	size_t			 at = 0, i;
	int			 n, k;

	for (p = text; *p != '\0'; p++) {
		if (p[0] != '$' || p[1] != '{') {
			dt_put(raw, sizeof(raw), &at, p, 1);
			continue;
		}
		e = strchr(p, '}');
		assert_non_null(e);
		if (strncmp(p, "${AUTH}", 7) == 0) {
			if (auth != NULL) {
				n = dt_cred_line(line, sizeof(line), auth, hdr,
				    text, v);
				dt_put(raw, sizeof(raw), &at, line, (size_t)n);
			}
		} else if (strncmp(p, "${TAG}", 6) == 0)
			dt_put(raw, sizeof(raw), &at, v->dv_tag,
			    strlen(v->dv_tag));
		else if (strncmp(p, "${LONG}", 7) == 0) {
			for (i = 0; i < DT_LONG_LEN; i++)
				dt_put(raw, sizeof(raw), &at, "x", 1);
		} else if (strncmp(p, "${C17}", 6) == 0) {
			for (k = 1; k <= 17; k++) {
				n = snprintf(line, sizeof(line),
				    "%s<sip:c%d@192.0.2.20:%d>", k > 1 ? ", " : "",
				    k, 5100 + k);
				dt_put(raw, sizeof(raw), &at, line, (size_t)n);
			}
		} else
			fail_msg("unknown placeholder %.*s", (int)(e - p + 1),
			    p);
		p = e;
	}
	/* '\n' -> CRLF */
	t->dm_len = 0;
	for (i = 0; i < at; i++) {
		if (raw[i] == '\n')
			dt_put(t->dm_buf, sizeof(t->dm_buf), &t->dm_len, "\r",
			    1);
		dt_put(t->dm_buf, sizeof(t->dm_buf), &t->dm_len, raw + i, 1);
	}
	t->dm_buf[t->dm_len] = '\0';
	if (sip_msg_parse(&t->dm_msg, t->dm_buf, t->dm_len) != 0)
		fail_msg("request does not parse:\n%s", t->dm_buf);
	sip_msg_check(&t->dm_msg, &chk);
	if (chk.sc_verdict != SIP_CHECK_OK)
		fail_msg("sip_msg_check: %d %s:\n%s", chk.sc_code,
		    chk.sc_reason != NULL ? chk.sc_reason : "", t->dm_buf);
}

void
dt_sockaddr(const char *text, struct sockaddr_storage *ret)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)(void *)ret;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)(void *)ret;
	char			 ip[64];
	const char		*colon;
	unsigned		 port;

	memset(ret, 0, sizeof(*ret));
	if (text[0] == '[') {
		colon = strstr(text, "]:");
		assert_non_null(colon);
		assert_true((size_t)(colon - text - 1) < sizeof(ip));
		memcpy(ip, text + 1, (size_t)(colon - text - 1));
		ip[colon - text - 1] = '\0';
		port = (unsigned)atoi(colon + 2);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		return;
	}
	colon = strrchr(text, ':');
	assert_non_null(colon);
	assert_true((size_t)(colon - text) < sizeof(ip));
	memcpy(ip, text, (size_t)(colon - text));
	ip[colon - text] = '\0';
	port = (unsigned)atoi(colon + 1);
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
}

void
dt_addr_str(const struct sockaddr *a, char *out, size_t cap)
{
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;
	char				 ip[INET6_ADDRSTRLEN];

	if (a->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)(const void *)a;
		assert_non_null(inet_ntop(AF_INET, &s4->sin_addr, ip,
		    sizeof(ip)));
		(void)snprintf(out, cap, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (a->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)(const void *)a;
		assert_non_null(inet_ntop(AF_INET6, &s6->sin6_addr, ip,
		    sizeof(ip)));
		(void)snprintf(out, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else
		(void)snprintf(out, cap, "(family %d)", a->sa_family);
}

void
dt_take_nonce(const char *name, const char *extra, struct dt_vars *v)
{
	const char	*p = extra != NULL ? strstr(extra, "nonce=\"") : NULL;
	const char	*q;

	if (p == NULL) {
		fail_msg("row \"%s\": no nonce in \"%s\"", name,
		    extra != NULL ? extra : "(null)");
		return;
	}
	p += 7;
	q = strchr(p, '"');
	assert_non_null(q);
	assert_int_equal(q - p, AUTH_NONCE_LEN);
	if (memcmp(v->dv_nonce, p, AUTH_NONCE_LEN) == 0)
		fail_msg("row \"%s\": the challenge repeats the nonce", name);
	memcpy(v->dv_nonce, p, AUTH_NONCE_LEN);
	v->dv_nonce[AUTH_NONCE_LEN] = '\0';
	v->dv_nc = 0;
}

void
dt_expand_nonce(char *out, size_t cap, const char *want,
    const struct dt_vars *v)
{
	const char	*p;
	size_t		 at = 0;

	while ((p = strstr(want, "${NONCE}")) != NULL) {
		dt_put(out, cap, &at, want, (size_t)(p - want));
		dt_put(out, cap, &at, v->dv_nonce, strlen(v->dv_nonce));
		want = p + 8;
	}
	dt_put(out, cap, &at, want, strlen(want));
	out[at] = '\0';
}

void
dt_assert_text(const char *name, const char *what, const char *got,
    const char *want)
{
	if (got == NULL)
		got = "(null)";
	if (strcmp(got, want) != 0)
		fail_msg("row \"%s\": %s:\n got: \"%s\"\nwant: \"%s\"", name,
		    what, got, want);
}

void
dt_assert_has(const char *name, const char *got, const char *const *has,
    size_t nhas)
{
	size_t	 i;

	for (i = 0; i < nhas && has[i] != NULL; i++)
		if (got == NULL || strstr(got, has[i]) == NULL)
			fail_msg("row \"%s\": want \"%s\" in:\n%s", name,
			    has[i], got != NULL ? got : "(null)");
}

void
dt_assert_lacks(const char *name, const char *got,
    const char *const *lacks, size_t nlacks)
{
	size_t	 i;

	for (i = 0; i < nlacks && lacks[i] != NULL; i++)
		if (got != NULL && strstr(got, lacks[i]) != NULL)
			fail_msg("row \"%s\": \"%s\" unexpected in:\n%s",
			    name, lacks[i], got);
}

unsigned
dt_count(const char *s, const char *needle)
{
	unsigned	 n = 0;
	size_t		 len = strlen(needle);

	while (s != NULL && (s = strstr(s, needle)) != NULL) {
		n++;
		s += len;
	}
	return n;
}
