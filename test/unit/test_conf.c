/*
 * test_conf: unit tests of conf/conf.c, the config parser (SPEC §3).
 *
 * Each test writes its config into a private temp folder, loads it and
 * compares the fields and the exact error text ("FILE:LINE: ...").
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "conf.h"

/* The temp folder of the running test (realpath'ed). */
static char	 test_dir[PATH_MAX];
static char	 test_path[PATH_MAX + 16];	/* test_dir/sipd.cfg */

static int
setup(void **state)
{
	char	 tmpl[] = "/tmp/test_conf.XXXXXX";

	(void)state;
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, test_dir) == NULL)
		return -1;
	snprintf(test_path, sizeof(test_path), "%s/sipd.cfg", test_dir);
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*fp;

	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Loads text as test_path; errs collects the errors. */
static int
load(struct conf *c, const char *text, char *const *ov, int nov,
    struct errbuf *errs)
{
	write_file(test_path, text, 0600);
	conf_defaults(c);
	return conf_load(c, test_path, ov, nov, errs);
}

/* The expected error text: every "%F" is replaced by test_path. */
static void
assert_errs(const struct errbuf *errs, const char *expect)
{
	char		 buf[8192 + 8 * PATH_MAX];
	size_t		 n = 0;
	const char	*p;

	for (p = expect; *p != '\0' && n + PATH_MAX < sizeof(buf); p++) {
		if (p[0] == '%' && p[1] == 'F') {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s",
			    test_path);
			p++;
		} else
			buf[n++] = *p;
	}
	buf[n] = '\0';
	assert_string_equal(errbuf_text(errs), buf);
}

/* Loads one line that must fail with exactly one message. */
static void
assert_line_error(const char *text, const char *expect)
{
	struct conf	*c = malloc(sizeof(*c));
	struct errbuf	 errs = ERRBUF_INIT;

	assert_non_null(c);
	assert_int_equal(load(c, text, NULL, 0, &errs), -1);
	assert_errs(&errs, expect);
	errbuf_free(&errs);
	free(c);
}

static void
assert_get(const struct conf *c, const char *key, const char *expect)
{
	char	 buf[2048];

	assert_int_equal(conf_get(c, key, buf, sizeof(buf)), 0);
	assert_string_equal(buf, expect);
}

static const char *
ip_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;
	char				 ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
	else
		snprintf(ip, sizeof(ip), "none");
	snprintf(buf, len, "%s/%u", ip, ss->ss_family == AF_INET ?
	    ntohs(sin->sin_port) : ss->ss_family == AF_INET6 ?
	    ntohs(sin6->sin6_port) : 0);
	return buf;
}

/* Every key of SPEC §3 and its default as conf_get prints it. */
static const struct {
	const char	*key;
	const char	*def;
} keys[] = {
	{ "listen", "udp:0.0.0.0:5060" },
	{ "children", "4" },
	{ "db_url", "text://db" },
	{ "pstn.gw_ip", "" },
	{ "pstn.gw_port", "5060" },
	{ "pstn.match_port", "yes" },
	{ "mi.socket", "/run/sipd/sipd.sock" },
	{ "mi.mode", "0600" },
	{ "mi.group", "" },
	{ "pid_file", "/run/sipd/sipd.pid" },
	{ "log.level", "info" },
	{ "log.facility", "daemon" },
	{ "usrloc.hash_size", "512" },
	{ "usrloc.max_contacts", "100000" },
	{ "usrloc.flush_interval", "60" },
	{ "registrar.default_expires", "3600" },
	{ "registrar.min_expires", "60" },
	{ "registrar.max_expires", "7200" },
	{ "registrar.max_contacts", "10" },
	{ "auth.realm", "" },
	{ "auth.algorithms", "MD5" },
	{ "auth.qop", "auth" },
	{ "auth.nonce_expire", "300" },
	{ "auth.secret", "" },
	{ "auth.calculate_ha1", "yes" },
	{ "tm.fr_timeout", "30" },
	{ "tm.fr_inv_timeout", "120" },
	{ "tm.max_transactions", "65536" },
};

#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

static void
test_defaults(void **state)
{
	struct conf	 c;
	char		 buf[64];
	size_t		 i;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(c.c_nlisten, 1);
	assert_string_equal(c.c_listen[0].cl_text, "udp:0.0.0.0:5060");
	assert_int_equal(c.c_listen[0].cl_addr.ss_family, AF_INET);
	assert_int_equal(c.c_listen[0].cl_addrlen,
	    sizeof(struct sockaddr_in));
	assert_string_equal(ip_text(&c.c_listen[0].cl_addr, buf, sizeof(buf)),
	    "0.0.0.0/5060");
	assert_int_equal(c.c_children, 4);
	assert_int_equal(c.c_db_kind, CONF_DB_TEXT);
	assert_string_equal(c.c_db_path, "db");
	assert_false(c.c_gw_set);
	assert_string_equal(c.c_gw_ip, "");
	assert_int_equal(c.c_gw_port, 5060);
	assert_true(c.c_gw_match_port);
	assert_string_equal(c.c_mi_socket, "/run/sipd/sipd.sock");
	assert_int_equal(c.c_mi_mode, 0600);
	assert_string_equal(c.c_mi_group, "");
	assert_string_equal(c.c_pid_file, "/run/sipd/sipd.pid");
	assert_int_equal(c.c_log_level, LOG_INFO);
	assert_int_equal(c.c_log_facility, LOG_DAEMON);
	assert_int_equal(c.c_ul_hash_size, 512);
	assert_int_equal(c.c_ul_max_contacts, 100000);
	assert_int_equal(c.c_ul_flush_interval, 60);
	assert_int_equal(c.c_reg_default_expires, 3600);
	assert_int_equal(c.c_reg_min_expires, 60);
	assert_int_equal(c.c_reg_max_expires, 7200);
	assert_int_equal(c.c_reg_max_contacts, 10);
	assert_string_equal(c.c_auth_realm, "");
	assert_int_equal(c.c_auth_algorithms, CONF_ALG_MD5);
	assert_true(c.c_auth_qop);
	assert_int_equal(c.c_auth_nonce_expire, 300);
	assert_string_equal(c.c_auth_secret, "");
	assert_true(c.c_auth_calculate_ha1);
	assert_int_equal(c.c_tm_fr_timeout, 30);
	assert_int_equal(c.c_tm_fr_inv_timeout, 120);
	for (i = 0; i < NKEYS; i++)
		assert_get(&c, keys[i].key, keys[i].def);
}

static void
test_empty_file(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	char		 want[PATH_MAX + 16];

	(void)state;
	assert_int_equal(load(&c, "\n# nothing\n   \n\t# x\n", NULL, 0, &errs),
	    0);
	assert_string_equal(errbuf_text(&errs), "");
	assert_string_equal(c.c_file, test_path);
	assert_string_equal(c.c_dir, test_dir);
	/* The default "text://db" is relative to the config folder too. */
	snprintf(want, sizeof(want), "%s/db", test_dir);
	assert_string_equal(c.c_db_path, want);
	assert_int_equal(c.c_nlisten, 1);
	errbuf_free(&errs);
}

static void
test_every_key(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	char		 buf[128], want[PATH_MAX + 16];

	(void)state;
	assert_int_equal(load(&c,
	    "listen = udp:127.0.0.1:5070\n"
	    "listen=udp:[::1]:5071\n"
	    "children = 8\n"
	    "db_url = text:///var/lib/sipd/db\n"
	    "pstn.gw_ip = 192.168.16.5\n"
	    "pstn.gw_port = 6050\n"
	    "pstn.match_port = off\n"
	    "mi.socket = /tmp/sipd.sock\n"
	    "mi.mode = 660\n"
	    "mi.group = sipd\n"
	    "pid_file = run/sipd.pid\n"
	    "log.level = debug\n"
	    "log.facility = local3\n"
	    "usrloc.hash_size = 1024\n"
	    "usrloc.max_contacts = 2000\n"
	    "usrloc.flush_interval = 0\n"
	    "registrar.default_expires = 600\n"
	    "registrar.min_expires = 30\n"
	    "registrar.max_expires = 900\n"
	    "registrar.max_contacts = 5\n"
	    "auth.realm = sip.example.com\n"
	    "auth.algorithms = SHA-256, md5\n"
	    "auth.qop = none\n"
	    "auth.nonce_expire = 30\n"
	    "auth.secret = \"0123456789abcdef\"\n"
	    "auth.calculate_ha1 = no\n"
	    "tm.fr_timeout = 5\n"
	    "tm.fr_inv_timeout = 3600\n", NULL, 0, &errs), 0);
	assert_string_equal(errbuf_text(&errs), "");
	assert_int_equal(c.c_nlisten, 2);
	assert_string_equal(c.c_listen[0].cl_text, "udp:127.0.0.1:5070");
	assert_string_equal(c.c_listen[1].cl_text, "udp:[::1]:5071");
	assert_int_equal(c.c_listen[1].cl_addr.ss_family, AF_INET6);
	assert_int_equal(c.c_listen[1].cl_addrlen,
	    sizeof(struct sockaddr_in6));
	assert_string_equal(ip_text(&c.c_listen[1].cl_addr, buf, sizeof(buf)),
	    "::1/5071");
	assert_int_equal(c.c_children, 8);
	assert_int_equal(c.c_db_kind, CONF_DB_TEXT);
	assert_string_equal(c.c_db_path, "/var/lib/sipd/db");
	assert_true(c.c_gw_set);
	assert_string_equal(c.c_gw_ip, "192.168.16.5");
	assert_int_equal(c.c_gw_port, 6050);
	assert_string_equal(ip_text(&c.c_gw_addr, buf, sizeof(buf)),
	    "192.168.16.5/6050");
	assert_false(c.c_gw_match_port);
	assert_string_equal(c.c_mi_socket, "/tmp/sipd.sock");
	assert_int_equal(c.c_mi_mode, 0660);
	assert_string_equal(c.c_mi_group, "sipd");
	snprintf(want, sizeof(want), "%s/run/sipd.pid", test_dir);
	assert_string_equal(c.c_pid_file, want);
	assert_int_equal(c.c_log_level, LOG_DEBUG);
	assert_int_equal(c.c_log_facility, LOG_LOCAL3);
	assert_int_equal(c.c_ul_hash_size, 1024);
	assert_int_equal(c.c_ul_max_contacts, 2000);
	assert_int_equal(c.c_ul_flush_interval, 0);
	assert_int_equal(c.c_reg_default_expires, 600);
	assert_int_equal(c.c_reg_min_expires, 30);
	assert_int_equal(c.c_reg_max_expires, 900);
	assert_int_equal(c.c_reg_max_contacts, 5);
	assert_string_equal(c.c_auth_realm, "sip.example.com");
	assert_int_equal(c.c_auth_algorithms, CONF_ALG_MD5 | CONF_ALG_SHA256);
	assert_false(c.c_auth_qop);
	assert_int_equal(c.c_auth_nonce_expire, 30);
	assert_string_equal(c.c_auth_secret, "0123456789abcdef");
	assert_false(c.c_auth_calculate_ha1);
	assert_int_equal(c.c_tm_fr_timeout, 5);
	assert_int_equal(c.c_tm_fr_inv_timeout, 3600);
	assert_get(&c, "listen", "udp:127.0.0.1:5070 udp:[::1]:5071");
	assert_get(&c, "auth.algorithms", "MD5 SHA-256");
	assert_get(&c, "auth.secret", "[hidden]");
	assert_get(&c, "mi.mode", "0660");
	assert_get(&c, "log.facility", "local3");
	errbuf_free(&errs);
}

/* Valid spellings that map to one field value. */
static void
test_valid_values(void **state)
{
	static const struct {
		const char	*key, *value, *get;
	} ok[] = {
		{ "children", "1", "1" },
		{ "children", "256", "256" },
		{ "children", "007", "7" },
		{ "pstn.match_port", "YES", "yes" },
		{ "pstn.match_port", "on", "yes" },
		{ "pstn.match_port", "true", "yes" },
		{ "pstn.match_port", "1", "yes" },
		{ "pstn.match_port", "No", "no" },
		{ "pstn.match_port", "off", "no" },
		{ "pstn.match_port", "FALSE", "no" },
		{ "pstn.match_port", "0", "no" },
		{ "pstn.gw_ip", "2001:db8::1", "2001:db8::1" },
		{ "cluster.redis", "redis://10.0.0.9:6379",
		    "redis://10.0.0.9:6379" },
		{ "cluster.redis", "redis://[::1]:6379/15",
		    "redis://[::1]:6379/15" },
		/* the password is kept for AUTH, never shown */
		{ "cluster.redis", "redis://:pw:x@h:1/2", "redis://:***@h:1/2" },
		{ "cluster.redis", "sentinel://sipd:pw@a:1,b:2/m",
		    "sentinel://sipd:***@a:1,b:2/m" },
		{ "cluster.redis", "sentinel://a:26379,10.0.0.2:26380/sipd",
		    "sentinel://a:26379,10.0.0.2:26380/sipd" },
		{ "cluster.redis", "", "" },
		{ "cluster.node_id", "sip-1.a_b", "sip-1.a_b" },
		{ "cluster.unreachable", "REFUSE", "refuse" },
		{ "cluster.short_expires", "1", "1" },
		{ "pstn.gw_ip", "[2001:db8::1]", "2001:db8::1" },
		{ "pstn.gw_ip", "", "" },
		{ "pstn.gw_port", "1", "1" },
		{ "pstn.gw_port", "65535", "65535" },
		{ "mi.mode", "0", "0000" },
		{ "mi.mode", "0777", "0777" },
		{ "mi.mode", "00640", "0640" },
		{ "mi.group", "", "" },
		{ "log.level", "err", "err" },
		{ "log.level", "error", "err" },
		{ "log.level", "warn", "warning" },
		{ "log.level", "WARNING", "warning" },
		{ "log.level", "notice", "notice" },
		{ "log.facility", "user", "user" },
		{ "log.facility", "local0", "local0" },
		{ "log.facility", "LOCAL7", "local7" },
		{ "usrloc.hash_size", "1", "1" },
		{ "usrloc.hash_size", "65536", "65536" },
		{ "usrloc.max_contacts", "10000000", "10000000" },
		{ "usrloc.flush_interval", "86400", "86400" },
		{ "registrar.min_expires", "0", "0" },
		{ "registrar.max_contacts", "10000", "10000" },
		{ "auth.algorithms", "sha-256", "SHA-256" },
		{ "auth.algorithms", "MD5 SHA-256", "MD5 SHA-256" },
		{ "auth.algorithms", "sha-256,MD5,md5", "MD5 SHA-256" },
		{ "auth.qop", "AUTH", "auth" },
		{ "auth.qop", "none", "none" },
		{ "auth.nonce_expire", "86400", "86400" },
		{ "auth.secret", "", "" },
		{ "auth.realm", "a realm with spaces", "a realm with spaces" },
		{ "tm.fr_timeout", "1", "1" },
		{ "tm.fr_inv_timeout", "1", "1" },
		{ "db_url", "text:///abs/db", "text:///abs/db" },
		{ "pid_file", "/x/y.pid", "/x/y.pid" },
		{ "listen", "udp:10.0.0.1", "udp:10.0.0.1:5060" },
		{ "listen", "UDP:[::]", "udp:[::]:5060" },
		{ "listen", "10.0.0.1:1", "udp:10.0.0.1:1" },
		{ "listen", "[fe80::1]:65535", "udp:[fe80::1]:65535" },
		{ "listen", "udp:1.2.3.4:5060, udp:[::1]:5060",
		    "udp:1.2.3.4:5060 udp:[::1]:5060" },
	};
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		conf_defaults(&c);
		if (conf_set(&c, ok[i].key, ok[i].value, "f", 1, &errs) != 0)
			fail_msg("%s = %s: %s", ok[i].key, ok[i].value,
			    errbuf_text(&errs));
		assert_get(&c, ok[i].key, ok[i].get);
	}
	errbuf_free(&errs);
}

/* s as a quoted value, cut after max characters as messages do. */
static void
quote(char *q, size_t len, const char *s, size_t max)
{
	size_t	 n = 0, j;

	q[n++] = '"';
	for (j = 0; s[j] != '\0' && j < max && n + 8 < len; j++) {
		if (s[j] == '"' || s[j] == '\\')
			q[n++] = '\\';
		q[n++] = s[j];
	}
	if (s[j] != '\0') {
		memcpy(q + n, "...", 3);
		n += 3;
	}
	q[n++] = '"';
	q[n] = '\0';
}

/* Each bad value, set through conf_set and through a file line. */
static void
test_invalid_values(void **state)
{
	static const struct {
		const char	*key, *value, *msg;
	} bad[] = {
		{ "children", "0", "must be a number in 1..256" },
		{ "children", "257", "must be a number in 1..256" },
		{ "children", "-1", "must be a number in 1..256" },
		{ "children", "4x", "must be a number in 1..256" },
		{ "children", "", "must be a number in 1..256" },
		{ "children", "0x10", "must be a number in 1..256" },
		{ "children", "99999999999999999999999",
		    "must be a number in 1..256" },
		{ "db_url", "mysql://db",
		    "must be text://DIR or sqlite://FILE" },
		{ "db_url", "dbtext://db",
		    "must be text://DIR or sqlite://FILE" },
		{ "db_url", "text://", "empty path" },
		{ "pstn.gw_ip", "gw.example.com",
		    "not an IPv4 or IPv6 address" },
		{ "pstn.gw_ip", "192.168.16.5:6050",
		    "not an IPv4 or IPv6 address" },
		{ "pstn.gw_ip", "1.2.3", "not an IPv4 or IPv6 address" },
		/* issue 10 defect 4: INVITEs to these vanished */
		{ "pstn.gw_ip", "0.0.0.0",
		    "unspecified, broadcast or multicast address" },
		{ "pstn.gw_ip", "255.255.255.255",
		    "unspecified, broadcast or multicast address" },
		{ "pstn.gw_ip", "224.0.0.1",
		    "unspecified, broadcast or multicast address" },
		{ "pstn.gw_ip", "239.255.255.250",
		    "unspecified, broadcast or multicast address" },
		{ "pstn.gw_ip", "::",
		    "unspecified, broadcast or multicast address" },
		{ "pstn.gw_ip", "[ff02::1]",
		    "unspecified, broadcast or multicast address" },
		{ "pstn.gw_ip", "::ffff:224.0.0.1",
		    "unspecified, broadcast or multicast address" },
		{ "pstn.gw_port", "0", "must be a number in 1..65535" },
		{ "pstn.gw_port", "65536", "must be a number in 1..65535" },
		{ "pstn.match_port", "maybe", "must be yes or no" },
		{ "pstn.match_port", "", "must be yes or no" },
		{ "mi.socket", "", "empty path" },
		{ "mi.socket",
		    "/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    "path longer than 107 bytes" },
		{ "mi.mode", "0800", "must be an octal mode in 0..0777" },
		{ "mi.mode", "1777", "must be an octal mode in 0..0777" },
		{ "mi.mode", "rw", "must be an octal mode in 0..0777" },
		{ "mi.mode", "", "must be an octal mode in 0..0777" },
		{ "mi.group", "a b", "not a group name" },
		{ "mi.group",
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    "longer than 63 characters" },
		{ "mi.group",
		    "a baaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		    "longer than 63 characters" },
		{ "pid_file", "", "empty path" },
		{ "log.level", "verbose",
		    "must be err, warning, notice, info or debug" },
		{ "log.level", "3",
		    "must be err, warning, notice, info or debug" },
		{ "log.level", "crit",
		    "must be err, warning, notice, info or debug" },
		{ "log.facility", "local8",
		    "must be daemon, user or local0..local7" },
		{ "log.facility", "kern",
		    "must be daemon, user or local0..local7" },
		{ "usrloc.hash_size", "0",
		    "must be a power of two in 1..65536" },
		{ "usrloc.hash_size", "500",
		    "must be a power of two in 1..65536" },
		{ "usrloc.hash_size", "131072",
		    "must be a power of two in 1..65536" },
		{ "usrloc.max_contacts", "0",
		    "must be a number in 1..10000000" },
		{ "usrloc.max_contacts", "10000001",
		    "must be a number in 1..10000000" },
		{ "usrloc.flush_interval", "86401",
		    "must be a number in 0..86400" },
		{ "registrar.default_expires", "0",
		    "must be a number in 1..31536000" },
		{ "registrar.max_expires", "0",
		    "must be a number in 1..31536000" },
		{ "registrar.min_expires", "31536001",
		    "must be a number in 0..31536000" },
		{ "registrar.max_contacts", "10001",
		    "must be a number in 0..10000" },
		{ "auth.realm", "a\"b", "must not hold '\"' or '\\'" },
		{ "auth.algorithms", "", "needs MD5, SHA-256 or both" },
		{ "auth.algorithms", " , ", "needs MD5, SHA-256 or both" },
		{ "auth.algorithms", "MD5 SHA-512",
		    "\"SHA-512\" is not MD5 or SHA-256" },
		{ "auth.algorithms", "MD5-sess",
		    "\"MD5-sess\" is not MD5 or SHA-256" },
		{ "auth.qop", "auth-int", "must be auth or none" },
		{ "auth.nonce_expire", "0", "must be a number in 1..86400" },
		{ "auth.nonce_expire", "86401",
		    "must be a number in 1..86400" },
		{ "auth.calculate_ha1", "2", "must be yes or no" },
		{ "tm.fr_timeout", "0", "must be a number in 1..3600" },
		{ "tm.fr_inv_timeout", "3601", "must be a number in 1..3600" },
		{ "listen", "udp:1.2.3.4:0", "port must be 1..65535" },
		{ "listen", "udp:1.2.3.4:65536", "port must be 1..65535" },
		{ "listen", "udp:1.2.3.4:", "port must be 1..65535" },
		{ "listen", "udp:1.2.3.4:50x", "port must be 1..65535" },
		{ "listen", "udp:localhost:5060", "not an IPv4 address" },
		{ "listen", "udp:1.2.3.256", "not an IPv4 address" },
		{ "listen", "udp:::1",
		    "IPv6 addresses go in brackets: [::1]:5060" },
		{ "listen", "udp:[::1", "missing ']'" },
		{ "listen", "udp:[::1]5060", "junk after ']'" },
		{ "listen", "udp:[1.2.3.4]", "not an IPv6 address" },
		{ "listen", "tcp:1.2.3.4:5060",
		    "\"tcp:1.2.3.4:5060\": only udp is supported" },
		{ "listen", "", "no address" },
		{ "cluster.redis", "redis://10.0.0.9",
		    "redis://HOST:PORT[/DB] expected" },
		{ "cluster.redis", "redis://h:6379/16", "DB must be 0..15" },
		{ "cluster.redis", "redis://pw@h:1",
		    "[USER]:PASSWORD@ expected before the host" },
		{ "cluster.redis", "redis://u:@h:1",
		    "user or password empty or too long" },
		{ "cluster.redis", "redis://::1:6379",
		    "redis://HOST:PORT[/DB] expected" },
		{ "cluster.redis", "http://h:1", "redis://HOST:PORT[/DB] or "
		    "sentinel://HOST:PORT[,HOST:PORT...]/MASTER expected" },
		{ "cluster.redis", "sentinel://h:1,h/m",
		    "a sentinel is not HOST:PORT" },
		{ "cluster.redis", "sentinel://h:1", "sentinel://HOST:PORT"
		    "[,HOST:PORT...]/MASTER expected (MASTER: letters, digits, "
		    ". - _)" },
		{ "cluster.node_id", "a b", "1..63 letters, digits, . - _ "
		    "expected" },
		{ "cluster.unreachable", "maybe", "must be short or refuse" },
		{ "cluster.short_expires", "0", "must be a number in 1..86400" },
		{ "listen", "udp:1.2.3.4 udp:1.2.3.4:5060",
		    "udp:1.2.3.4:5060 given twice" },
	};
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	char		 want[PATH_MAX + 1024], line[512], q[256], fq[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		quote(q, sizeof(q), bad[i].value, 64);
		conf_defaults(&c);
		errbuf_clear(&errs);
		assert_int_equal(conf_set(&c, bad[i].key, bad[i].value, "f", 7,
		    &errs), -1);
		snprintf(want, sizeof(want), "f:7: %s: bad value %s: %s\n",
		    bad[i].key, q, bad[i].msg);
		assert_string_equal(errbuf_text(&errs), want);

		/* The same through a file, quoted so that '"' and "" pass. */
		quote(fq, sizeof(fq), bad[i].value, sizeof(fq));
		snprintf(line, sizeof(line), "\n%s = %s\n", bad[i].key, fq);
		errbuf_clear(&errs);
		assert_int_equal(load(&c, line, NULL, 0, &errs), -1);
		snprintf(want, sizeof(want), "%s:2: %s: bad value %s: %s\n",
		    test_path, bad[i].key, q, bad[i].msg);
		assert_string_equal(errbuf_text(&errs), want);
	}
	errbuf_free(&errs);
}

static void
test_conf_set_keeps_old(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(conf_set(&c, "listen", "udp:1.1.1.1 udp:2.2.2.2",
	    "f", 1, &errs), 0);
	assert_int_equal(conf_set(&c, "listen", "udp:3.3.3.3 udp:bad",
	    "f", 2, &errs), -1);
	assert_int_equal(c.c_nlisten, 2);
	assert_get(&c, "listen", "udp:1.1.1.1:5060 udp:2.2.2.2:5060");
	assert_int_equal(conf_set(&c, "nope", "1", "mi", 0, &errs), -1);
	assert_int_equal(conf_set(&c, "auth.secret", "short", "mi", 0, &errs),
	    -1);
	assert_string_equal(c.c_auth_secret, "");
	/* The secret itself never shows in a message. */
	assert_string_equal(errbuf_text(&errs),
	    "f:2: listen: bad value \"udp:3.3.3.3 udp:bad\": "
	    "not an IPv4 address\n"
	    "mi: unknown key \"nope\"\n"
	    "mi: auth.secret: bad value: shorter than 16 characters\n");
	errbuf_free(&errs);
}

static void
test_quoted(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;

	(void)state;
	assert_int_equal(load(&c,
	    "auth.realm = \"a # b \\\"q\\\" \\\\ x\"   # comment\n"
	    "mi.group=\"wheel\"#comment\n"
	    "pid_file = \"\"\n", NULL, 0, &errs), -1);
	/* It parsed (the message shows it), then the realm rule refused. */
	assert_errs(&errs,
	    "%F:1: auth.realm: bad value \"a # b \\\"q\\\" \\\\ x\": "
	    "must not hold '\"' or '\\'\n"
	    "%F:3: pid_file: bad value \"\": empty path\n");
	assert_string_equal(c.c_mi_group, "wheel");
	errbuf_clear(&errs);
	assert_int_equal(load(&c,
	    "auth.realm = \"a # b 'q'\"   # comment\n"
	    "auth.algorithms = MD5 SHA-256 # both\n"
	    "auth.secret = \"a secret with # and spaces\"\n"
	    "mi.group = \"\"\n", NULL, 0, &errs), 0);
	assert_string_equal(c.c_auth_realm, "a # b 'q'");
	assert_int_equal(c.c_auth_algorithms, CONF_ALG_MD5 | CONF_ALG_SHA256);
	assert_string_equal(c.c_auth_secret, "a secret with # and spaces");
	assert_string_equal(c.c_mi_group, "");
	errbuf_free(&errs);
}

static void
test_desc_tail(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;

	(void)state;
	assert_int_equal(load(&c,
	    "pstn.gw_ip = \"192.168.16.5\" desc \"PSTN GW # Address\"\n"
	    "pstn.gw_port = 6050 descr \"PSTN GW Port\"   # comment\n"
	    "auth.realm = my realm description \"the realm\"\n"
	    "auth.algorithms = MD5 SHA-256 DESC \"both\"\n"
	    "children = 2 desc\"x\"\n",
	    NULL, 0, &errs), 0);
	assert_string_equal(errbuf_text(&errs), "");
	assert_string_equal(c.c_gw_ip, "192.168.16.5");
	assert_int_equal(c.c_gw_port, 6050);
	assert_string_equal(c.c_auth_realm, "my realm");
	assert_int_equal(c.c_auth_algorithms, CONF_ALG_MD5 | CONF_ALG_SHA256);
	assert_int_equal(c.c_children, 2);
	/* A desc without a quoted string is part of the value. */
	assert_line_error("children = 2 desc\n",
	    "%F:1: children: bad value \"2 desc\": "
	    "must be a number in 1..256\n");
	errbuf_free(&errs);
}

static void
test_syntax_errors(void **state)
{
	(void)state;
	assert_line_error("foo.bar = 1\n", "%F:1: unknown key \"foo.bar\"\n");
	assert_line_error("Children = 1\n", "%F:1: unknown key \"Children\" "
	    "(did you mean children?)\n");
	assert_line_error("usrloc.max_contact = 1\n", "%F:1: unknown key "
	    "\"usrloc.max_contact\" (did you mean usrloc.max_contacts?)\n");
	assert_line_error("children 4\n",
	    "%F:1: missing \"=\" after \"children\"\n");
	assert_line_error("children\n",
	    "%F:1: missing \"=\" after \"children\"\n");
	assert_line_error("= 4\n",
	    "%F:1: expected \"key = value\", got \"= 4\"\n");
	assert_line_error("  \"children\" = 4\n",
	    "%F:1: expected \"key = value\", got \"\\\"children\\\" = 4\"\n");
	assert_line_error("children = \"4\" 5\n",
	    "%F:1: children: junk after value: \"5\"\n");
	assert_line_error("children = 4 \"5\"\n",
	    "%F:1: children: junk after value: \"\\\"5\\\"\"\n");
	assert_line_error("auth.realm = \"abc\"def desc \"x\"\n",
	    "%F:1: auth.realm: junk after value: \"def\"\n");
	assert_line_error("auth.realm = \"abc\n",
	    "%F:1: auth.realm: unterminated quoted value\n");
	assert_line_error("auth.realm = \"a\\nb\"\n",
	    "%F:1: auth.realm: bad escape '\\n' in quoted value "
	    "(only \\\" and \\\\)\n");
	assert_line_error("auth.realm = a\001b\n",
	    "%F:1: auth.realm: control character in value\n");
}

static void
test_duplicate_key(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;

	(void)state;
	assert_int_equal(load(&c,
	    "children = 2\n"
	    "# again\n"
	    "children = 3\n"
	    "auth.qop = bad\n"
	    "auth.qop = none\n", NULL, 0, &errs), -1);
	assert_errs(&errs,
	    "%F:3: children: duplicate key (first set at line 1)\n"
	    "%F:4: auth.qop: bad value \"bad\": must be auth or none\n"
	    "%F:5: auth.qop: duplicate key (first set at line 4)\n");
	assert_int_equal(c.c_children, 2);
	errbuf_free(&errs);
}

static void
test_many_errors(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;

	(void)state;
	assert_int_equal(load(&c,
	    "# sipd\n"
	    "children = 0\n"
	    "listen = udp:1.2.3.4:5060\n"
	    "bogus = 1\n"
	    "\n"
	    "pstn.gw_ip = gw desc \"x\"\n"
	    "children = 5\n"
	    "tm.fr_timeout 30\n"
	    "log.level = info\n"
	    "auth.qop = \"auth\" x\n", NULL, 0, &errs), -1);
	assert_errs(&errs,
	    "%F:2: children: bad value \"0\": must be a number in 1..256\n"
	    "%F:4: unknown key \"bogus\"\n"
	    "%F:6: pstn.gw_ip: bad value \"gw\": "
	    "not an IPv4 or IPv6 address\n"
	    "%F:7: children: duplicate key (first set at line 2)\n"
	    "%F:8: missing \"=\" after \"tm.fr_timeout\"\n"
	    "%F:10: auth.qop: junk after value: \"x\"\n");
	assert_int_equal(errs.eb_count, 6);
	/* The good lines between the bad ones were applied. */
	assert_string_equal(c.c_listen[0].cl_text, "udp:1.2.3.4:5060");
	errbuf_free(&errs);
}

static void
test_crlf(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;

	(void)state;
	assert_int_equal(load(&c,
	    "children = 6\r\n"
	    "\r\n"
	    "auth.realm = \"x y\"\r\n"
	    "auth.qop = none # c\r\n"
	    "log.level = debug", NULL, 0, &errs), 0);
	assert_string_equal(errbuf_text(&errs), "");
	assert_int_equal(c.c_children, 6);
	assert_string_equal(c.c_auth_realm, "x y");
	assert_false(c.c_auth_qop);
	/* A last line without a newline is read too. */
	assert_int_equal(c.c_log_level, LOG_DEBUG);
	errbuf_free(&errs);
}

static void
test_listen(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	char		 text[2048];
	int		 i;

	(void)state;
	/* The file's listens replace the default one. */
	assert_int_equal(load(&c,
	    "listen = udp:192.168.16.5\n"
	    "listen = udp:[2001:db8::5]:5062\n"
	    "listen = 10.1.1.1:5070\n", NULL, 0, &errs), 0);
	assert_int_equal(c.c_nlisten, 3);
	assert_string_equal(c.c_listen[0].cl_text, "udp:192.168.16.5:5060");
	assert_string_equal(c.c_listen[1].cl_text, "udp:[2001:db8::5]:5062");
	assert_string_equal(c.c_listen[2].cl_text, "udp:10.1.1.1:5070");

	/* Duplicates are refused, also across lines. */
	assert_int_equal(load(&c,
	    "listen = udp:127.0.0.1:5060\n"
	    "listen = udp:127.0.0.1\n"
	    "listen = udp:[0::1]\n"
	    "listen = udp:[::1]:5060\n", NULL, 0, &errs), -1);
	assert_errs(&errs,
	    "%F:2: listen: bad value \"udp:127.0.0.1\": "
	    "udp:127.0.0.1:5060 given twice\n"
	    "%F:4: listen: bad value \"udp:[::1]:5060\": "
	    "udp:[::1]:5060 given twice\n");
	assert_int_equal(c.c_nlisten, 2);

	/* At most CONF_MAX_LISTEN. */
	text[0] = '\0';
	for (i = 0; i <= CONF_MAX_LISTEN; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "listen = udp:127.0.0.%d\n", i + 1);
	errbuf_clear(&errs);
	assert_int_equal(load(&c, text, NULL, 0, &errs), -1);
	snprintf(text, sizeof(text), "%%F:%d: listen: bad value "
	    "\"udp:127.0.0.%d\": more than %d addresses\n",
	    CONF_MAX_LISTEN + 1, CONF_MAX_LISTEN + 1, CONF_MAX_LISTEN);
	assert_errs(&errs, text);
	assert_int_equal(c.c_nlisten, CONF_MAX_LISTEN);
	errbuf_free(&errs);
}

static void
test_relative_paths(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	char		 want[PATH_MAX + 64], sub[PATH_MAX + 16], cwd[PATH_MAX];
	char		*ov[] = { "pid_file=var/o.pid" };

	(void)state;
	assert_int_equal(load(&c,
	    "db_url = text://./tables\n"
	    "mi.socket = sipd.sock\n", ov, 1, &errs), 0);
	snprintf(want, sizeof(want), "%s/tables", test_dir);
	assert_string_equal(c.c_db_path, want);
	assert_int_equal(c.c_db_kind, CONF_DB_TEXT);
	snprintf(want, sizeof(want), "text://%s/tables", test_dir);
	assert_get(&c, "db_url", want);
	snprintf(want, sizeof(want), "%s/sipd.sock", test_dir);
	assert_string_equal(c.c_mi_socket, want);
	/* -o paths are relative to the config folder as well. */
	snprintf(want, sizeof(want), "%s/var/o.pid", test_dir);
	assert_string_equal(c.c_pid_file, want);

#if SIPD_HAVE_SQLITE
	assert_int_equal(load(&c, "db_url = sqlite://sipd.db\n", NULL, 0,
	    &errs), 0);
	assert_int_equal(c.c_db_kind, CONF_DB_SQLITE);
	snprintf(want, sizeof(want), "%s/sipd.db", test_dir);
	assert_string_equal(c.c_db_path, want);
	snprintf(want, sizeof(want), "sqlite://%s/sipd.db", test_dir);
	assert_get(&c, "db_url", want);
#endif

	/* A config given by a relative name still gets an absolute c_dir. */
	snprintf(sub, sizeof(sub), "%s/etc", test_dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(want, sizeof(want), "%s/sipd.cfg", sub);
	write_file(want, "db_url = text://db\n", 0600);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(test_dir), 0);
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, "./etc/sipd.cfg", NULL, 0, &errs), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(c.c_file, "./etc/sipd.cfg");
	assert_string_equal(c.c_dir, sub);
	snprintf(want, sizeof(want), "%s/db", sub);
	assert_string_equal(c.c_db_path, want);
	assert_string_equal(errbuf_text(&errs), "");
	errbuf_free(&errs);
}

static void
test_missing_file(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	char		 path[PATH_MAX + 16], want[PATH_MAX + 128];
	char		*ov[] = { "children=0", "children=3" };

	(void)state;
	snprintf(path, sizeof(path), "%s/nope.cfg", test_dir);
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, path, ov, 2, &errs), -1);
	/* The overrides are still checked, to report everything at once. */
	snprintf(want, sizeof(want),
	    "%s: cannot open: No such file or directory\n"
	    "-o: children: bad value \"0\": must be a number in 1..256\n",
	    path);
	assert_string_equal(errbuf_text(&errs), want);
	assert_int_equal(c.c_children, 3);

	errbuf_clear(&errs);
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, test_dir, NULL, 0, &errs), -1);
	snprintf(want, sizeof(want), "%s: cannot open: Is a directory\n",
	    test_dir);
	assert_string_equal(errbuf_text(&errs), want);
	errbuf_free(&errs);
}

static void
test_overrides(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	char		 buf[64];
	char		*ov[] = {
		"children=7",
		" auth.realm = \"a # realm\" ",
		"pstn.gw_port=6060",
		"listen=udp:10.0.0.1",
		"listen=udp:[::1]:5999",
		"log.level=debug",
		"log.level=notice",
	};
	char		*bad[] = {
		"children",
		"nope=1",
		"=1",
		"children=abc",
		"auth.realm=\"x",
		"pstn.gw_ip=1.2.3.4 desc \"gw\"",
		"mi.mode=0755",
	};

	(void)state;
	assert_int_equal(load(&c,
	    "children = 2\n"
	    "pstn.gw_ip = 192.168.16.5\n"
	    "listen = udp:127.0.0.1\n", ov, 7, &errs), 0);
	assert_string_equal(errbuf_text(&errs), "");
	assert_int_equal(c.c_children, 7);
	assert_string_equal(c.c_auth_realm, "a # realm");
	assert_int_equal(c.c_gw_port, 6060);
	/* gw_addr follows an override of the port alone. */
	assert_string_equal(ip_text(&c.c_gw_addr, buf, sizeof(buf)),
	    "192.168.16.5/6060");
	/* The first -o listen replaces the file's; later ones add. */
	assert_get(&c, "listen", "udp:10.0.0.1:5060 udp:[::1]:5999");
	assert_int_equal(c.c_log_level, LOG_NOTICE);

	errbuf_clear(&errs);
	assert_int_equal(load(&c, "children = 2\n", bad, 7, &errs), -1);
	assert_errs(&errs,
	    "-o: expected KEY=VALUE, got \"children\"\n"
	    "-o: unknown key \"nope\"\n"
	    "-o: unknown key \"\"\n"
	    "-o: children: bad value \"abc\": must be a number in 1..256\n"
	    "-o: auth.realm: unterminated quoted value\n");
	/* A failed override leaves the file's value. */
	assert_int_equal(c.c_children, 2);
	assert_string_equal(c.c_gw_ip, "1.2.3.4");
	assert_int_equal(c.c_mi_mode, 0755);
	errbuf_free(&errs);
}

static void
test_cross_check(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	char		*ov[] = { "registrar.max_expires=100" };
	char		*fix[] = { "registrar.default_expires=120" };

	(void)state;
	assert_line_error(
	    "registrar.max_expires = 600\n"
	    "children = 4\n"
	    "registrar.min_expires = 900\n",
	    "%F:3: registrar.min_expires: need registrar.min_expires (900) "
	    "<= registrar.default_expires (3600) <= "
	    "registrar.max_expires (600)\n");
	assert_line_error(
	    "registrar.min_expires = 10\n"
	    "registrar.default_expires = 20\n"
	    "registrar.max_expires = 15\n"
	    "\n",
	    "%F:3: registrar.max_expires: need registrar.min_expires (10) "
	    "<= registrar.default_expires (20) <= "
	    "registrar.max_expires (15)\n");
	/* Only one key set: it gets the blame. */
	assert_line_error("\nregistrar.default_expires = 30\n",
	    "%F:2: registrar.default_expires: need registrar.min_expires "
	    "(60) <= registrar.default_expires (30) <= "
	    "registrar.max_expires (7200)\n");
	/* Equal bounds are fine. */
	assert_int_equal(load(&c,
	    "registrar.min_expires = 60\n"
	    "registrar.default_expires = 60\n"
	    "registrar.max_expires = 60\n", NULL, 0, &errs), 0);
	/* An override set last is named as such. */
	assert_int_equal(load(&c, "registrar.default_expires = 120\n", ov, 1,
	    &errs), -1);
	assert_string_equal(errbuf_text(&errs),
	    "-o: registrar.max_expires: need registrar.min_expires (60) <= "
	    "registrar.default_expires (120) <= registrar.max_expires (100)\n");
	/* ...and an override can repair the file. */
	errbuf_clear(&errs);
	assert_int_equal(load(&c, "registrar.default_expires = 7201\n", fix, 1,
	    &errs), 0);
	errbuf_free(&errs);
}

static void
test_gw_sync(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	char		 buf[64];

	(void)state;
	conf_defaults(&c);
	assert_false(c.c_gw_set);
	assert_int_equal(c.c_gw_addr.ss_family, AF_UNSPEC);
	assert_int_equal(conf_set(&c, "pstn.gw_port", "6050", "mi", 0, &errs),
	    0);
	assert_false(c.c_gw_set);
	assert_int_equal(conf_set(&c, "pstn.gw_ip", "10.0.0.9", "mi", 0,
	    &errs), 0);
	assert_true(c.c_gw_set);
	assert_string_equal(ip_text(&c.c_gw_addr, buf, sizeof(buf)),
	    "10.0.0.9/6050");
	assert_int_equal(conf_set(&c, "pstn.gw_ip", "[2001:db8::9]", "mi", 0,
	    &errs), 0);
	assert_string_equal(c.c_gw_ip, "2001:db8::9");
	assert_string_equal(ip_text(&c.c_gw_addr, buf, sizeof(buf)),
	    "2001:db8::9/6050");
	assert_int_equal(conf_set(&c, "pstn.gw_port", "7000", "mi", 0, &errs),
	    0);
	assert_string_equal(ip_text(&c.c_gw_addr, buf, sizeof(buf)),
	    "2001:db8::9/7000");
	/* A refused value leaves the gateway as it was. */
	assert_int_equal(conf_set(&c, "pstn.gw_ip", "gw", "mi", 0, &errs), -1);
	assert_true(c.c_gw_set);
	assert_string_equal(c.c_gw_ip, "2001:db8::9");
	assert_int_equal(conf_set(&c, "pstn.gw_ip", "", "mi", 0, &errs), 0);
	assert_false(c.c_gw_set);
	assert_int_equal(c.c_gw_addr.ss_family, AF_UNSPEC);
	assert_int_equal(errs.eb_count, 1);
	errbuf_free(&errs);
}

static void
test_secret_file_mode(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;

	(void)state;
	write_file(test_path, "auth.secret = 0123456789abcdefXYZ\n", 0644);
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, test_path, NULL, 0, &errs), -1);
	assert_errs(&errs, "%F:1: auth.secret: file is readable by others "
	    "(chmod o-rwx)\n");
	assert_string_equal(c.c_auth_secret, "");
	errbuf_clear(&errs);
	write_file(test_path, "auth.secret = 0123456789abcdefXYZ\n", 0640);
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, test_path, NULL, 0, &errs), 0);
	assert_string_equal(c.c_auth_secret, "0123456789abcdefXYZ");
	/* An empty secret (random per start) is no secret. */
	write_file(test_path, "auth.secret = \"\"\n", 0644);
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, test_path, NULL, 0, &errs), 0);
	errbuf_free(&errs);
}

static void
test_shipped_conf(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	const char	*src = getenv("SIPD_SRCDIR");
	char		 path[PATH_MAX], dir[PATH_MAX], want[PATH_MAX + 8];

	(void)state;
	if (src == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/conf/sipd.cfg", src);
	snprintf(want, sizeof(want), "%s/conf", src);
	assert_non_null(realpath(want, dir));
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, path, NULL, 0, &errs), 0);
	assert_string_equal(errbuf_text(&errs), "");
	assert_string_equal(c.c_dir, dir);
	assert_int_equal(c.c_nlisten, 1);
	assert_string_equal(c.c_listen[0].cl_text, "udp:0.0.0.0:5060");
	assert_int_equal(c.c_db_kind, CONF_DB_TEXT);
	snprintf(want, sizeof(want), "%s/db", dir);
	assert_string_equal(c.c_db_path, want);
	assert_false(c.c_gw_set);
	assert_string_equal(c.c_mi_socket, "/run/sipd/sipd.sock");
	assert_string_equal(c.c_pid_file, "/run/sipd/sipd.pid");
	assert_int_equal(c.c_children, 4);
	errbuf_free(&errs);
}

/*
 * Every commented-out "#key = value" line of the shipped config must be
 * valid, so that uncommenting one never breaks the config.
 */
static void
test_shipped_conf_comments(void **state)
{
	struct conf	 c;
	struct errbuf	 errs = ERRBUF_INIT;
	const char	*src = getenv("SIPD_SRCDIR");
	char		 path[PATH_MAX], line[1024], text[16384];
	FILE		*fp;
	size_t		 n = 0;

	(void)state;
	if (src == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/conf/sipd.cfg", src);
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		if (line[0] == '#' && strchr(line, '=') != NULL &&
		    strchr(" #", line[1]) == NULL)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s",
			    line + 1);
	fclose(fp);
	assert_true(n > 0 && n < sizeof(text));
	assert_int_equal(load(&c, text, NULL, 0, &errs), 0);
	assert_string_equal(errbuf_text(&errs), "");
	assert_true(c.c_gw_set);
	assert_string_equal(c.c_gw_ip, "192.168.16.5");
	assert_int_equal(c.c_gw_port, 6050);
	errbuf_free(&errs);
}

static void
test_get_set_roundtrip(void **state)
{
	struct conf	 a, b;
	struct errbuf	 errs = ERRBUF_INIT;
	char		 va[2048], vb[2048], small[4];
	size_t		 i;

	(void)state;
	assert_int_equal(load(&a,
	    "listen = udp:127.0.0.1:5070, udp:[::1]:5071\n"
	    "db_url = text://tables\n"
	    "pstn.gw_ip = 10.9.8.7\n"
	    "pstn.gw_port = 6050\n"
	    "mi.mode = 0640\n"
	    "mi.group = voip\n"
	    "log.level = warn\n"
	    "log.facility = local5\n"
	    "auth.realm = example.org\n"
	    "auth.algorithms = SHA-256\n"
	    "auth.qop = none\n"
	    "usrloc.hash_size = 64\n", NULL, 0, &errs), 0);
	conf_defaults(&b);
	for (i = 0; i < NKEYS; i++) {
		assert_int_equal(conf_get(&a, keys[i].key, va, sizeof(va)), 0);
		if (strcmp(keys[i].key, "auth.secret") == 0)
			continue;
		if (conf_set(&b, keys[i].key, va, "rt", 0, &errs) != 0)
			fail_msg("%s", errbuf_text(&errs));
		assert_int_equal(conf_get(&b, keys[i].key, vb, sizeof(vb)), 0);
		assert_string_equal(va, vb);
	}
	assert_int_equal(memcmp(&a.c_gw_addr, &b.c_gw_addr,
	    sizeof(a.c_gw_addr)), 0);
	assert_int_equal(memcmp(a.c_listen, b.c_listen,
	    sizeof(a.c_listen[0]) * 2), 0);
	assert_get(&b, "log.level", "warning");

	errno = 0;
	assert_int_equal(conf_get(&a, "nope", va, sizeof(va)), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(conf_get(&a, "listen", small, sizeof(small)), -1);
	assert_int_equal(errno, ERANGE);
	assert_string_equal(small, "");
	assert_string_equal(errbuf_text(&errs), "");
	errbuf_free(&errs);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(conf_log_level_name(LOG_ERR), "err");
	assert_string_equal(conf_log_level_name(LOG_WARNING), "warning");
	assert_string_equal(conf_log_level_name(LOG_NOTICE), "notice");
	assert_string_equal(conf_log_level_name(LOG_INFO), "info");
	assert_string_equal(conf_log_level_name(LOG_DEBUG), "debug");
	assert_string_equal(conf_log_level_name(LOG_CRIT), "crit");
	assert_string_equal(conf_log_level_name(99), "unknown");
	assert_string_equal(conf_log_facility_name(LOG_DAEMON), "daemon");
	assert_string_equal(conf_log_facility_name(LOG_LOCAL7), "local7");
	assert_string_equal(conf_log_facility_name(LOG_KERN), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_valid_values),
		cmocka_unit_test(test_invalid_values),
		cmocka_unit_test(test_conf_set_keeps_old),
		cmocka_unit_test(test_quoted),
		cmocka_unit_test(test_desc_tail),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_cross_check),
		cmocka_unit_test(test_gw_sync),
		cmocka_unit_test(test_secret_file_mode),
		cmocka_unit_test(test_shipped_conf),
		cmocka_unit_test(test_shipped_conf_comments),
		cmocka_unit_test(test_get_set_roundtrip),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
