/*
 * fuzz_decider: what the decider targets (fuzz_registrar.c,
 * fuzz_route.c) share: a small sipd as a worker sees it, without
 * sockets or a clock. Real subscriber/trusted DB_TEXT tables (written
 * to a temporary folder once, loaded, removed), and per input a fresh
 * shm mapping with the auth replay table and a location table of
 * FD_CAPACITY bindings, so that an input replays the same way alone or
 * after others (libFuzzer needs that to keep what it finds).
 *
 * An input is a sequence of up to FD_CHUNKS datagrams, separated by
 * the line "=====" (FD_SEP); a seed that is one SIP message is a
 * sequence of one. A datagram may start with a control line
 * "#<source>[<seconds>][:<user>]": who sent it (the fd_srcs[] letter),
 * how far the fake clock moves before it (default: 't', 1 s), and the
 * subscriber whose credentials the harness adds (fd_users[] letter:
 * an Authorization, or Proxy-Authorization, line after the request
 * line, computed from RFC 2617 for the nonce of the last challenge), so
 * that what follows a successful digest is fuzzed too. Each
 * datagram goes where dispatch.c sends it: parse, sip_msg_check(), then
 * REGISTER to registrar_decide()/registrar_apply(), anything else but
 * an ACK without a To tag to route_request().
 *
 * What is checked after every datagram is what the targets assert; the
 * table invariants (loctab_check(), capacity, per-AoR limit) here. A
 * failed check prints why and aborts: libFuzzer keeps the input, the
 * replay in `meson test` fails.
 */
#ifndef SIPD_FUZZ_DECIDER_H
#define SIPD_FUZZ_DECIDER_H

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "auth.h"
#include "conf.h"
#include "errbuf.h"
#include "log.h"
#include "loctab.h"
#include "registrar.h"
#include "route.h"
#include "shm.h"
#include "sip_msg.h"
#include "udp.h"
#include "userdb.h"

#include <openssl/evp.h>

#define FD_CHUNKS	32		/* datagrams per input, at most */
#define FD_SEP		"\n=====\n"
#define FD_NOW		((time_t)1700000000)
#define FD_HASH		4		/* location buckets */
#define FD_CAPACITY	8		/* usrloc.max_contacts */
#define FD_PER_AOR	3		/* registrar.max_contacts */
#define FD_SOCKET	"udp:192.0.2.1:5060"

#define FD_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_decider: %s:%d: %s: ", __FILE__,	\
		    __LINE__, #cond);					\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/*
 * Who sends a datagram. trusted: a `trusted` row with any From (t, n);
 * Carol's PC is trusted for From URIs starting "sip:Carol" only (c);
 * g is the PSTN gateway (pstn.match_port: h, its address on another
 * port, is a stranger).
 */
struct fd_src {
	char		 fs_tag;
	const char	*fs_addr;
	bool		 fs_trusted;
	bool		 fs_gw;
};

static const struct fd_src fd_srcs[] = {
	{ 'u', "192.0.2.20:5060", false, false },
	{ 't', "192.0.2.50:5060", true, false },
	{ 'c', "192.0.2.51:5060", false, false },
	{ 'g', "192.0.2.99:5070", false, true },
	{ 'h', "192.0.2.99:5999", false, false },
	{ 'n', "10.0.0.7:5062", true, false },
	{ '6', "[2001:db8::20]:5060", false, false },
};
#define FD_NSRCS	(sizeof(fd_srcs) / sizeof(fd_srcs[0]))

#define FD_HA1	"00000000000000000000000000000000"
/* Subscribers and passwords (fd_subscriber_rows) for ":<letter>". */
struct fd_user {
	char		 fu_tag;
	const char	*fu_name;
	const char	*fu_password;
};

static const struct fd_user fd_users[] = {
	{ 'a', "alice", "secret" },
	{ 'b', "bob", "hunter2" },
	{ 'c', "Carol", "carolpw" },
};
#define FD_NUSERS	(sizeof(fd_users) / sizeof(fd_users[0]))

static const char fd_subscriber_rows[] =
    "id(int,auto) username(string) domain(string) password(string) "
    "email_address(string) ha1(string) ha1b(string) rpid(string,null)\n"
    "1:alice:example.com:secret:alice@example.com:" FD_HA1 ":" FD_HA1 ":\n"
    "2:bob:example.com:hunter2:bob@example.com:" FD_HA1 ":" FD_HA1 ":\n"
    "3:Carol:example.com:carolpw:carol@example.com:" FD_HA1 ":" FD_HA1
    ":\n";
static const char fd_trusted_rows[] =
    "id(int,auto) src_ip(string) proto(string) from_pattern(string,null) "
    "tag(string,null)\n"
    "1:192.0.2.50:any::pbx\n"
    "2:192.0.2.51:udp:^sip\\:Carol:carol-pc\n"
    "3:10.0.0.7:udp::nat-pbx\n";
static const char fd_version_rows[] =
    "table_name(string) table_version(int)\n"
    "location:1004\n"
    "subscriber:6\n"
    "trusted:5\n";

static struct conf	 fd_conf;
static struct loctab	*fd_lt;
static time_t		 fd_now;
/* SIPD_FUZZ_TRACE set: one line per decision on stderr (writing seeds). */
static bool		 fd_trace;
/* The nonce of the last 401/407 and the last nc used with it. */
static char		 fd_nonce[AUTH_NONCE_LEN + 1];
static unsigned		 fd_nc;
/* A datagram with credentials added (one at a time). */
static char		 fd_authbuf[UDP_MAX_DATAGRAM + 1024];

/* The AoRs whose per-AoR limit is checked after every datagram. */
static const char *const fd_aors[] = { "alice", "bob", "carol" };

static void
fd_sockaddr(const char *text, struct sockaddr_storage *ret,
    socklen_t *ret_len)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)(void *)ret;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)(void *)ret;
	char			 ip[64];
	const char		*colon;

	memset(ret, 0, sizeof(*ret));
	if (text[0] == '[') {
		colon = strstr(text, "]:");
		(void)snprintf(ip, sizeof(ip), "%.*s",
		    (int)(colon - text - 1), text + 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)atoi(colon + 2));
		FD_CHECK(inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1, "%s",
		    text);
		*ret_len = sizeof(*s6);
		return;
	}
	colon = strrchr(text, ':');
	(void)snprintf(ip, sizeof(ip), "%.*s", (int)(colon - text), text);
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)atoi(colon + 1));
	FD_CHECK(inet_pton(AF_INET, ip, &s4->sin_addr) == 1, "%s", text);
	*ret_len = sizeof(*s4);
}

static void
fd_write(const char *dir, const char *name, const char *text)
{
	char	 path[512];
	FILE	*f;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	FD_CHECK(f != NULL, "%s", path);
	FD_CHECK(fputs(text, f) >= 0 && fclose(f) == 0, "%s", path);
}

static void
fd_unlink(const char *dir, const char *name)
{
	char	 path[512];

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	(void)unlink(path);
}

static void
fd_conf_set(const char *key, const char *value)
{
	struct errbuf	 errs = ERRBUF_INIT;

	FD_CHECK(conf_set(&fd_conf, key, value, "fuzz", 0, &errs) == 0,
	    "%s = %s: %s", key, value, errbuf_text(&errs));
	errbuf_free(&errs);
}

/* Once per process: config, subscriber/trusted tables, "myself". */
static void
fd_init_once(void)
{
	static bool		 done;
	static const char	*const sipd[] = { "192.0.2.1:5060",
	    "[2001:db8::1]:5060" };
	struct errbuf		 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct udp_sock		 socks[2];
	const char		*tmp = getenv("TMPDIR");
	char			 dir[256];
	size_t			 i;

	if (done)
		return;
	done = true;
	fd_trace = getenv("SIPD_FUZZ_TRACE") != NULL;
	log_init(true, LOG_CRIT, LOG_DAEMON);
	(void)snprintf(dir, sizeof(dir), "%s/sipd-fuzz.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	FD_CHECK(mkdtemp(dir) != NULL, "%s", dir);
	fd_write(dir, "version", fd_version_rows);
	fd_write(dir, "subscriber", fd_subscriber_rows);
	fd_write(dir, "trusted", fd_trusted_rows);

	conf_defaults(&fd_conf);
	fd_conf.c_db_kind = CONF_DB_TEXT;
	(void)snprintf(fd_conf.c_db_path, sizeof(fd_conf.c_db_path), "%s",
	    dir);
	fd_conf.c_auth_algorithms = CONF_ALG_MD5;
	fd_conf.c_auth_qop = true;
	fd_conf.c_auth_calculate_ha1 = true;
	fd_conf.c_auth_max_subscribers = 16;
	(void)snprintf(fd_conf.c_auth_secret, sizeof(fd_conf.c_auth_secret),
	    "%s", "fuzz-secret-fuzz-secret");
	fd_conf_set("pstn.gw_ip", "192.0.2.99");
	fd_conf_set("pstn.gw_port", "5070");
	fd_conf_set("pstn.match_port", "yes");
	fd_conf_set("registrar.max_contacts", "3");
	fd_conf.c_ul_hash_size = FD_HASH;
	fd_conf.c_ul_max_contacts = FD_CAPACITY;

	FD_CHECK(userdb_load(&fd_conf, &errs, &warns) == 0, "userdb: %s",
	    errbuf_text(&errs));
	errbuf_free(&errs);
	errbuf_free(&warns);
	fd_unlink(dir, "version");
	fd_unlink(dir, "subscriber");
	fd_unlink(dir, "trusted");
	(void)rmdir(dir);

	memset(socks, 0, sizeof(socks));
	for (i = 0; i < 2; i++) {
		socks[i].us_fd = -1;
		fd_sockaddr(sipd[i], &socks[i].us_addr, &socks[i].us_addrlen);
	}
	addr_init_myself(socks, 2);
}

/* Per input: a new mapping, location table, replay table, clock. */
static void
fd_begin(void)
{
	size_t	 size;

	fd_init_once();
	shm_destroy();
	size = shm_size_base();
	size = loctab_shm_size_add(size, FD_HASH, FD_CAPACITY);
	size = shm_size_add(size, auth_shm_size(&fd_conf), AUTH_SHM_ALIGN);
	FD_CHECK(size != SIZE_MAX && shm_create(size) == 0, "shm %zu", size);
	fd_lt = NULL;
	FD_CHECK(loctab_create(FD_HASH, FD_CAPACITY, &fd_lt) == 0 &&
	    fd_lt != NULL, "loctab_create");
	FD_CHECK(auth_init(&fd_conf) == 0, "auth_init");
	registrar_init(&fd_conf, fd_lt);
	route_init(&fd_conf, fd_lt);
	fd_now = FD_NOW;
	fd_nonce[0] = '\0';
	fd_nc = 0;
}

/* Lowercase hex MD5 of the len bytes at s. */
static void
fd_md5(char out[33], const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 n = 0, i;

	FD_CHECK(EVP_Digest(s, len, md, &n, EVP_md5(), NULL) == 1 && n == 16,
	    "MD5");
	for (i = 0; i < 16; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[32] = '\0';
}

/*
 * buf with u's credentials for the request line's method and URI after
 * that line, into fd_authbuf; false (buf left as it is) when there is
 * no challenge yet or no request line to read.
 */
static bool
fd_add_auth(const struct fd_user *u, const char **buf, size_t *len)
{
	const char	*p = *buf, *end = *buf + *len, *eol, *sp1, *sp2;
	char		 tmp[2200], ha1[33], ha2[33], resp[33], line[2400];
	int		 n, k;

	if (fd_nonce[0] == '\0' || (eol = memchr(p, '\n', *len)) == NULL ||
	    (sp1 = memchr(p, ' ', (size_t)(eol - p))) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1))) == NULL ||
	    sp2 - sp1 - 1 > 1024 || sp1 - p > 64)
		return false;
	fd_nc++;
	n = snprintf(tmp, sizeof(tmp), "%s:example.com:%s", u->fu_name,
	    u->fu_password);
	fd_md5(ha1, tmp, (size_t)n);
	n = snprintf(tmp, sizeof(tmp), "%.*s:%.*s", (int)(sp1 - p), p,
	    (int)(sp2 - sp1 - 1), sp1 + 1);
	fd_md5(ha2, tmp, (size_t)n);
	n = snprintf(tmp, sizeof(tmp), "%s:%s:%08x:0a4f113b:auth:%s", ha1,
	    fd_nonce, fd_nc, ha2);
	fd_md5(resp, tmp, (size_t)n);
	k = snprintf(line, sizeof(line), "%s: Digest username=\"%s\", "
	    "realm=\"example.com\", nonce=\"%s\", uri=\"%.*s\", "
	    "response=\"%s\", algorithm=MD5, qop=auth, nc=%08x, "
	    "cnonce=\"0a4f113b\"\r\n", sp1 - p == 8 &&
	    memcmp(p, "REGISTER", 8) == 0 ? "Authorization" :
	    "Proxy-Authorization", u->fu_name, fd_nonce,
	    (int)(sp2 - sp1 - 1), sp1 + 1, resp, fd_nc);
	FD_CHECK(k > 0 && (size_t)k < sizeof(line), "credentials line");
	n = (int)(eol + 1 - p);
	memcpy(fd_authbuf, p, (size_t)n);
	memcpy(fd_authbuf + n, line, (size_t)k);
	memcpy(fd_authbuf + n + k, eol + 1, (size_t)(end - eol - 1));
	*buf = fd_authbuf;
	*len = *len + (size_t)k;
	return true;
}

/* Keeps the nonce of a challenge (header lines extra) for ":<user>". */
static void
fd_take_nonce(const char *extra)
{
	const char	*p = extra != NULL ? strstr(extra, "nonce=\"") : NULL;

	if (p == NULL || strlen(p + 7) < AUTH_NONCE_LEN ||
	    p[7 + AUTH_NONCE_LEN] != '"')
		return;
	memcpy(fd_nonce, p + 7, AUTH_NONCE_LEN);
	fd_nonce[AUTH_NONCE_LEN] = '\0';
	fd_nc = 0;
}

/*
 * The next datagram of the input at *off (size bytes): its bytes, its
 * source (control line, else 't') and the clock step. false at the end.
 */
static bool
fd_next(const uint8_t *data, size_t size, size_t *off, unsigned *nchunks,
    const char **ret_buf, size_t *ret_len, const struct fd_src **ret_src,
    bool *ret_authed)
{
	const struct fd_user	*user = NULL;
	const char	*p, *end, *sep;
	unsigned long	 step = 1;
	size_t		 i;

	if (*off >= size || *nchunks >= FD_CHUNKS)
		return false;
	(*nchunks)++;
	p = (const char *)data + *off;
	end = (const char *)data + size;
	sep = memmem(p, (size_t)(end - p), FD_SEP, sizeof(FD_SEP) - 1);
	if (sep != NULL) {
		*off = (size_t)(sep - (const char *)data) + sizeof(FD_SEP) - 1;
		end = sep + 1;	/* the message keeps its last line end */
	} else
		*off = size;
	*ret_src = &fd_srcs[1];
	if (p < end && *p == '#') {
		p++;
		for (i = 0; p < end && i < FD_NSRCS; i++)
			if (fd_srcs[i].fs_tag == *p) {
				*ret_src = &fd_srcs[i];
				p++;
				break;
			}
		if (p < end && *p >= '0' && *p <= '9')
			step = 0;
		for (; p < end && *p >= '0' && *p <= '9'; p++)
			if (step < 1000000)
				step = step * 10 + (unsigned long)(*p - '0');
		if (p + 1 < end && *p == ':')
			for (i = 0; i < FD_NUSERS; i++)
				if (fd_users[i].fu_tag == p[1])
					user = &fd_users[i];
		while (p < end && *p != '\n')
			p++;
		if (p < end)
			p++;
	}
	fd_now += (time_t)step;
	*ret_buf = p;
	*ret_len = (size_t)(end - p);
	*ret_authed = user != NULL && fd_add_auth(user, ret_buf, ret_len);
	return true;
}

/*
 * Reply header lines sipd would send: each "Name: value" ending in
 * CRLF, no other CR or LF (a value copied from the request must not
 * start a header of its own).
 */
static void
fd_check_lines(const char *what, const char *extra)
{
	const char	*p = extra, *eol;

	if (extra == NULL)
		return;
	while (*p != '\0') {
		eol = strstr(p, "\r\n");
		FD_CHECK(eol != NULL, "%s: unterminated line in \"%s\"", what,
		    extra);
		FD_CHECK(memchr(p, '\r', (size_t)(eol - p)) == NULL &&
		    memchr(p, '\n', (size_t)(eol - p)) == NULL,
		    "%s: bare CR/LF in \"%s\"", what, extra);
		FD_CHECK(memchr(p, ':', (size_t)(eol - p)) != NULL && p[0] !=
		    ' ' && p[0] != ':', "%s: not a header line in \"%s\"",
		    what, extra);
		p = eol + 2;
	}
}

static void
fd_check_reason(const char *what, const char *reason)
{
	FD_CHECK(reason != NULL && reason[0] != '\0' &&
	    strpbrk(reason, "\r\n") == NULL, "%s: reason \"%s\"", what,
	    reason != NULL ? reason : "(null)");
}

/* The location table after a datagram: consistent, within its limits. */
static void
fd_check_table(void)
{
	struct loctab_binding	 out[FD_CAPACITY + 1];
	struct loctab_stats	 st;
	struct loctab_str	 aor;
	unsigned		 n;
	size_t			 i;
	int			 r;

	FD_CHECK(loctab_check(fd_lt) == 0, "loctab_check");
	loctab_stats(fd_lt, &st);
	FD_CHECK(st.st_bindings <= FD_CAPACITY, "%u bindings",
	    st.st_bindings);
	FD_CHECK(st.st_rec_pool.ps_used == st.st_bindings,
	    "%u records used, %u bindings", st.st_rec_pool.ps_used,
	    st.st_bindings);
	FD_CHECK(st.st_records <= st.st_bindings, "%u AoRs, %u bindings",
	    st.st_records, st.st_bindings);
	FD_CHECK(st.st_recoveries == 0, "lock recoveries");
	for (i = 0; i < sizeof(fd_aors) / sizeof(fd_aors[0]); i++) {
		aor.ls_ptr = fd_aors[i];
		aor.ls_len = strlen(fd_aors[i]);
		r = loctab_lookup(fd_lt, aor, fd_now, out, FD_CAPACITY + 1,
		    &n);
		FD_CHECK(r == 0 || r == LOCTAB_E_NOTFOUND, "lookup %d", r);
		FD_CHECK(r != 0 || n <= FD_PER_AOR, "%s has %u bindings",
		    fd_aors[i], n);
	}
}

/*
 * Whether m from src may pass without a challenge or with the harness's
 * credentials: a trusted row matches (Carol's PC: only for a From URI
 * starting "sip:Carol", its pattern), or authed.
 */
static bool
fd_may_pass(const struct sip_msg *m, const struct fd_src *src, bool authed)
{
	struct sip_addr	 from;

	if (src->fs_trusted || authed)
		return true;
	return src->fs_tag == 'c' && sip_msg_from(m, &from) == 0 &&
	    from.sa_uri.len >= 9 && memcmp(from.sa_uri.s, "sip:Carol", 9) == 0;
}

/*
 * REGISTER through the registrar as dispatch.c runs it. Returns the
 * reply code. A stranger (no trusted row, no credentials from the
 * harness) never changes the table.
 */
static int
fd_register(const struct sip_msg *m, const struct fd_src *src, bool authed)
{
	static struct registrar_verdict	 v;
	struct registrar_request	 req = { 0 };
	struct sockaddr_storage		 ss;
	socklen_t			 sl;
	uint64_t			 before = loctab_changes(fd_lt);

	fd_sockaddr(src->fs_addr, &ss, &sl);
	req.rr_m = m;
	req.rr_src = (const struct sockaddr *)&ss;
	req.rr_socket = FD_SOCKET;
	req.rr_now = fd_now;
	registrar_decide(&req, &v);
	if (v.rv_save) {
		FD_CHECK(v.rv_code == 0, "a reply and a change (%d)",
		    v.rv_code);
		registrar_apply(&v);
		FD_CHECK(!v.rv_save, "change still pending");
	}
	if (fd_trace)
		fprintf(stderr, "%c REGISTER: %d %s\n", src->fs_tag, v.rv_code,
		    v.rv_reason != NULL ? v.rv_reason : "");
	switch (v.rv_code) {
	case 200:
		FD_CHECK(fd_may_pass(m, src, authed), "200 for a stranger");
		FD_CHECK(v.rv_extra == NULL || (strncmp(v.rv_extra,
		    "P-Registrar-Error:", 18) != 0 && strstr(v.rv_extra,
		    "\r\nP-Registrar-Error:") == NULL), "200 with an error");
		break;
	case 401:
		FD_CHECK(v.rv_extra != NULL &&
		    strncmp(v.rv_extra, "WWW-Authenticate: Digest ", 25) == 0,
		    "401 without a challenge");
		fd_take_nonce(v.rv_extra);
		break;
	case 400: case 403: case 423: case 503:
		FD_CHECK(v.rv_extra != NULL &&
		    strncmp(v.rv_extra, "P-Registrar-Error: ", 19) == 0,
		    "%d without P-Registrar-Error", v.rv_code);
		break;
	default:
		FD_CHECK(0, "REGISTER answered %d", v.rv_code);
	}
	fd_check_reason("REGISTER", v.rv_reason);
	fd_check_lines("REGISTER", v.rv_extra);
	if (!fd_may_pass(m, src, authed))
		FD_CHECK(loctab_changes(fd_lt) == before,
		    "a stranger changed the table");
	return v.rv_code;
}

/* The master's one-second expiry, between datagrams. */
static void
fd_expire(void)
{
	(void)loctab_expire(fd_lt, fd_now);
}

/* One request of an input that dispatch would hand on (checked). */
typedef void	fd_msg_fn(const struct sip_msg *m, const struct fd_src *src,
		    bool authed);

/*
 * The body of a decider target: each datagram of the input that parses
 * as a request and passes sip_msg_check() goes to fn, the table expired
 * to the input's clock before each.
 */
static int
fd_run(const uint8_t *data, size_t size, fd_msg_fn *fn)
{
	const struct fd_src	*src;
	struct sip_msg		 m;
	struct sip_check	 chk;
	const char		*buf;
	size_t			 off = 0, len;
	unsigned		 n = 0;
	bool			 authed;

	if (size > 65535)
		return 0;
	fd_begin();
	while (fd_next(data, size, &off, &n, &buf, &len, &src, &authed)) {
		fd_expire();
		if (sip_msg_parse(&m, buf, len) != 0 || !m.sm_request)
			continue;
		sip_msg_check(&m, &chk);
		if (chk.sc_verdict != SIP_CHECK_OK)
			continue;
		fn(&m, src, authed);
	}
	return 0;
}

#endif
