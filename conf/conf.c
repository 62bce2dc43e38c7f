/*
 * conf: sipd's configuration (SPEC §3): the defaults, the directive table,
 * the "key = value" line parser, the -o overrides and the cross-checks.
 *
 * Run once at start, before the master exists (main(): sipd and
 * "sipd -c"), and by the MI cfg.get / cfg.set handlers in the master,
 * which validate a change on a copy with conf_set(). The file is not
 * read again while sipd runs (SIGHUP re-reads the tables, not the
 * config). It never logs: every
 * problem is appended to an errbuf as "FILE:LINE: KEY: message", and the
 * parser goes on after an error so that "sipd -c" can print all of them.
 *
 * Every key is a row of conf_dirs[] {name, setter, getter, field, bounds,
 * default} with generic setters (nginx's ngx_command_t, without the
 * grammar: no yacc). The defaults are the same text a user could write,
 * run through the same setters, so a default can never be a value the
 * parser would refuse.
 */
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "conf_hint.h"

#define CONF_WHY_MAX		256
#define CONF_VALUE_MAX		PATH_MAX	/* longest unquoted value */
#define CONF_WORDS_MAX		64		/* words in one value */
#define CONF_QUOTE_MAX		64		/* quoted user text, at most */
#define CONF_SECRET_MIN		16

struct conf_dir;

/* Sets the field from the value, or returns -1 with the reason in why. */
typedef int conf_setter(struct conf *, const struct conf_dir *,
    const char *, char *, size_t);
/* Prints the field into buf; -1 when it does not fit. */
typedef int conf_getter(const struct conf *, const struct conf_dir *,
    char *, size_t);

struct conf_dir {
	const char	*cd_name;
	conf_setter	*cd_set;
	conf_getter	*cd_get;
	size_t		 cd_off;	/* offset of the field in struct conf */
	size_t		 cd_size;	/* its size (strings, paths) */
	unsigned long	 cd_min;	/* numbers: bounds */
	unsigned long	 cd_max;	/* paths, strings: longest length */
	const char	*cd_default;	/* as the user would write it */
	int		 cd_flags;
};

#define CD_REPEAT	0x1	/* may appear on several lines (listen) */
#define CD_SECRET	0x2	/* never echo the value in a message */

/* Where a key was last set from, to name the later one in cross-checks. */
struct conf_origin {
	const char	*co_file;
	unsigned	 co_line;
	unsigned	 co_seq;	/* 0: never set by the file or -o */
	unsigned	 co_file_line;	/* first line in the file, for dups */
};

static conf_setter conf_set_int, conf_set_uint, conf_set_pow2, conf_set_bool,
    conf_set_mode, conf_set_name, conf_set_realm, conf_set_secret,
    conf_set_path, conf_set_listen, conf_set_db_url, conf_set_gw_ip,
    conf_set_gw_port, conf_set_level, conf_set_facility, conf_set_algs,
    conf_set_qop, conf_set_nat, conf_set_sub;
static conf_getter conf_get_int, conf_get_uint, conf_get_bool,
    conf_get_mode, conf_get_str, conf_get_secret, conf_get_listen,
    conf_get_db_url, conf_get_gw_port, conf_get_level, conf_get_facility,
    conf_get_algs, conf_get_qop, conf_get_nat;

#define OFF(f)		offsetof(struct conf, f)
#define SZ(f)		sizeof(((struct conf *)0)->f)
#define SUN_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* Kept in SPEC §3 order; conf_defaults() applies them top to bottom. */
static const struct conf_dir conf_dirs[] = {
	{ "listen", conf_set_listen, conf_get_listen, 0, 0, 0, 0,
	    "udp:0.0.0.0:5060", CD_REPEAT },
	{ "children", conf_set_int, conf_get_int,
	    OFF(c_children), SZ(c_children), 1, 256, "4", 0 },
	{ "db_url", conf_set_db_url, conf_get_db_url, 0, 0, 0, 0,
	    "text://db", 0 },
	{ "pstn.gw_ip", conf_set_gw_ip, conf_get_str,
	    OFF(c_gw_ip), SZ(c_gw_ip), 0, 0, "", 0 },
	{ "pstn.gw_port", conf_set_gw_port, conf_get_gw_port, 0, 0,
	    1, 65535, "5060", 0 },
	{ "pstn.match_port", conf_set_bool, conf_get_bool,
	    OFF(c_gw_match_port), 0, 0, 0, "yes", 0 },
	{ "mi.socket", conf_set_path, conf_get_str,
	    OFF(c_mi_socket), SZ(c_mi_socket), 0, SUN_PATH_MAX,
	    "/run/sipd/sipd.sock", 0 },
	{ "mi.mode", conf_set_mode, conf_get_mode,
	    OFF(c_mi_mode), 0, 0, 0777, "0600", 0 },
	{ "mi.group", conf_set_name, conf_get_str,
	    OFF(c_mi_group), SZ(c_mi_group), 0, 0, "", 0 },
	{ "pid_file", conf_set_path, conf_get_str,
	    OFF(c_pid_file), SZ(c_pid_file), 0, 0, "/run/sipd/sipd.pid", 0 },
	{ "log.level", conf_set_level, conf_get_level, 0, 0, 0, 0,
	    "info", 0 },
	{ "log.facility", conf_set_facility, conf_get_facility, 0, 0, 0, 0,
	    "daemon", 0 },
	{ "usrloc.hash_size", conf_set_pow2, conf_get_uint,
	    OFF(c_ul_hash_size), 0, 1, 65536, "512", 0 },
	{ "usrloc.max_contacts", conf_set_uint, conf_get_uint,
	    OFF(c_ul_max_contacts), 0, 1, 10000000, "100000", 0 },
	{ "usrloc.flush_interval", conf_set_uint, conf_get_uint,
	    OFF(c_ul_flush_interval), 0, 0, 86400, "60", 0 },
	{ "registrar.default_expires", conf_set_uint, conf_get_uint,
	    OFF(c_reg_default_expires), 0, 1, 31536000, "3600", 0 },
	{ "registrar.min_expires", conf_set_uint, conf_get_uint,
	    OFF(c_reg_min_expires), 0, 0, 31536000, "60", 0 },
	{ "registrar.max_expires", conf_set_uint, conf_get_uint,
	    OFF(c_reg_max_expires), 0, 1, 31536000, "7200", 0 },
	{ "registrar.max_contacts", conf_set_uint, conf_get_uint,
	    OFF(c_reg_max_contacts), 0, 0, 10000, "10", 0 },
	{ "registrar.nat_detect", conf_set_nat, conf_get_nat, 0, 0, 0, 0,
	    "auto", 0 },
	{ "auth.realm", conf_set_realm, conf_get_str,
	    OFF(c_auth_realm), SZ(c_auth_realm), 0, 0, "", 0 },
	{ "auth.algorithms", conf_set_algs, conf_get_algs, 0, 0, 0, 0,
	    "MD5", 0 },
	{ "auth.qop", conf_set_qop, conf_get_qop, 0, 0, 0, 0, "auth", 0 },
	{ "auth.nonce_expire", conf_set_uint, conf_get_uint,
	    OFF(c_auth_nonce_expire), 0, 1, 86400, "300", 0 },
	{ "auth.secret", conf_set_secret, conf_get_secret,
	    OFF(c_auth_secret), SZ(c_auth_secret), 0, 0, "", CD_SECRET },
	{ "auth.calculate_ha1", conf_set_bool, conf_get_bool,
	    OFF(c_auth_calculate_ha1), 0, 0, 0, "yes", 0 },
	{ "auth.max_subscribers", conf_set_uint, conf_get_uint,
	    OFF(c_auth_max_subscribers), 0, 1, 10000000, "100000", 0 },
	{ "tm.fr_timeout", conf_set_uint, conf_get_uint,
	    OFF(c_tm_fr_timeout), 0, 1, 3600, "30", 0 },
	{ "tm.fr_inv_timeout", conf_set_uint, conf_get_uint,
	    OFF(c_tm_fr_inv_timeout), 0, 1, 3600, "120", 0 },
	{ "tm.max_transactions", conf_set_uint, conf_get_uint,
	    OFF(c_tm_max_transactions), 0, 16, 1048576, "65536", 0 },
	{ "http.listen", conf_set_sub, conf_get_str,
	    OFF(c_http.ch_listen), 0, 0, 0, "", 0 },
	{ "http.allow", conf_set_sub, conf_get_str,
	    OFF(c_http.ch_allow_text), 0, 0, 0, "127.0.0.0/8 ::1", 0 },
	{ "cluster.redis", conf_set_sub, conf_get_str,
	    OFF(c_cluster.cu_url), 0, 0, 0, "", 0 },
	{ "cluster.node_id", conf_set_sub, conf_get_str,
	    OFF(c_cluster.cu_node_id), 0, 0, 0, "", 0 },
	{ "cluster.unreachable", conf_set_sub, conf_get_str,
	    OFF(c_cluster.cu_policy), 0, 0, 0, "short", 0 },
	{ "cluster.short_expires", conf_set_uint, conf_get_uint,
	    OFF(c_cluster.cu_short_expires), 0, 1, 86400, "60", 0 },
};

#define CONF_NDIRS	(sizeof(conf_dirs) / sizeof(conf_dirs[0]))

#define FIELD(c, d, type)	((type *)(void *)((char *)(c) + (d)->cd_off))
#define CFIELD(c, d, type)	\
	((const type *)(const void *)((const char *)(c) + (d)->cd_off))

static const struct conf_dir *
conf_dir_find(const char *key)
{
	size_t	 i;

	for (i = 0; i < CONF_NDIRS; i++)
		if (strcmp(conf_dirs[i].cd_name, key) == 0)
			return &conf_dirs[i];
	return NULL;
}

static const char *
conf_dir_name(size_t i)
{
	return conf_dirs[i].cd_name;
}

/* "unknown key K", with the nearest key when one is within 2 edits. */
static void
conf_unknown_key(struct errbuf *errs, const char *file, unsigned line,
    const char *key, const char *quoted)
{
	const char	*near;

	if ((near = conf_hint_nearest(key, conf_dir_name, CONF_NDIRS)) != NULL)
		errbuf_add(errs, file, line, "unknown key %s (did you mean "
		    "%s?)", quoted, near);
	else
		errbuf_add(errs, file, line, "unknown key %s", quoted);
}

/*
 * Writes s as a C-like quoted string for a message: user text may hold
 * anything, and a message must stay one readable line.
 */
static const char *
conf_quote(char *buf, size_t len, const char *s)
{
	size_t		 n = 0, i;
	unsigned char	 ch;

	buf[n++] = '"';
	for (i = 0; s[i] != '\0' && n + 8 < len; i++) {
		if (i == CONF_QUOTE_MAX) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", ch);
		} else
			buf[n++] = (char)ch;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

static int
conf_why(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
conf_why(char *why, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* http.* and cluster.*: parsed in conf_http.c and conf_cluster.c. */
static int
conf_set_sub(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	if (strcmp(d->cd_name, "http.listen") == 0)
		return conf_http_set_listen(&c->c_http, value, why, len);
	if (strcmp(d->cd_name, "http.allow") == 0)
		return conf_http_set_allow(&c->c_http, value, why, len);
	return conf_cluster_set(&c->c_cluster, d->cd_name, value, why, len);
}

/* Decimal digits only: no sign, no spaces, no hex (a config is not C). */
static int
conf_parse_ulong(const char *s, unsigned long *ret)
{
	unsigned long	 v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (ULONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*ret = v;
	return 0;
}

static int
conf_parse_range(const struct conf_dir *d, const char *value,
    unsigned long *ret, char *why, size_t len)
{
	unsigned long	 v = 0;	/* set by conf_parse_range() on 0 */

	if (conf_parse_ulong(value, &v) == -1 || v < d->cd_min ||
	    v > d->cd_max)
		return conf_why(why, len, "must be a number in %lu..%lu",
		    d->cd_min, d->cd_max);
	*ret = v;
	return 0;
}

static int
conf_set_int(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	unsigned long	 v = 0;	/* set by conf_parse_range() on 0 */

	if (conf_parse_range(d, value, &v, why, len) == -1)
		return -1;
	*FIELD(c, d, int) = (int)v;
	return 0;
}

static int
conf_get_int(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	return (size_t)snprintf(buf, len, "%d", *CFIELD(c, d, int)) < len ?
	    0 : -1;
}

static int
conf_set_uint(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	unsigned long	 v = 0;	/* set by conf_parse_range() on 0 */

	if (conf_parse_range(d, value, &v, why, len) == -1)
		return -1;
	*FIELD(c, d, unsigned) = (unsigned)v;
	return 0;
}

/* usrloc.hash_size: the table masks the hash, so a power of two. */
static int
conf_set_pow2(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	unsigned long	 v = 0;	/* set by conf_parse_range() on 0 */

	if (conf_parse_ulong(value, &v) == -1 || v < d->cd_min ||
	    v > d->cd_max || (v & (v - 1)) != 0)
		return conf_why(why, len,
		    "must be a power of two in %lu..%lu", d->cd_min, d->cd_max);
	*FIELD(c, d, unsigned) = (unsigned)v;
	return 0;
}

static int
conf_get_uint(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	return (size_t)snprintf(buf, len, "%u", *CFIELD(c, d, unsigned)) <
	    len ? 0 : -1;
}

static int
conf_parse_bool(const char *value, bool *ret)
{
	static const char *const yes[] = { "yes", "on", "true", "1" };
	static const char *const no[] = { "no", "off", "false", "0" };
	size_t	 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -1;
}

static int
conf_set_bool(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	bool	 v;

	if (conf_parse_bool(value, &v) == -1)
		return conf_why(why, len, "must be yes or no");
	*FIELD(c, d, bool) = v;
	return 0;
}

static int
conf_get_bool(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	return (size_t)snprintf(buf, len, "%s",
	    *CFIELD(c, d, bool) ? "yes" : "no") < len ? 0 : -1;
}

/* mi.mode: octal as chmod takes it, with or without the leading 0. */
static int
conf_set_mode(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	unsigned long	 v = 0;
	const char	*p;

	for (p = value; *p >= '0' && *p <= '7' && v <= d->cd_max; p++)
		v = v * 8 + (unsigned long)(*p - '0');
	if (p == value || *p != '\0' || v > d->cd_max)
		return conf_why(why, len, "must be an octal mode in 0..0%lo",
		    d->cd_max);
	*FIELD(c, d, mode_t) = (mode_t)v;
	return 0;
}

static int
conf_get_mode(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	return (size_t)snprintf(buf, len, "%04o",
	    (unsigned)*CFIELD(c, d, mode_t)) < len ? 0 : -1;
}

/*
 * A string directive copied as given into its char[cd_size] field:
 * refused when too long, or when it holds one of the bytes in reject
 * (NULL: any byte), with that message.
 */
static int
conf_set_plain(struct conf *c, const struct conf_dir *d, const char *value,
    const char *reject, const char *msg, char *why, size_t len)
{
	size_t	 n = strlen(value);

	if (n >= d->cd_size)
		return conf_why(why, len, "longer than %zu characters",
		    d->cd_size - 1);
	if (reject != NULL && strpbrk(value, reject) != NULL)
		return conf_why(why, len, "%s", msg);
	memcpy(FIELD(c, d, char), value, n + 1);
	return 0;
}

/*
 * mi.group: any name; whether the group exists is the daemon's check at
 * start, as it may come from NSS and change between "sipd -c" and start.
 */
static int
conf_set_name(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	return conf_set_plain(c, d, value, " \t:", "not a group name", why,
	    len);
}

/* auth.realm ends up inside realm="..." of a challenge: keep it plain. */
static int
conf_set_realm(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	return conf_set_plain(c, d, value, "\"\\",
	    "must not hold '\"' or '\\'", why, len);
}

/*
 * auth.secret keys the nonce MAC: a short one could be guessed from
 * captured nonces, so at least CONF_SECRET_MIN characters, or "" for a
 * random one per start.
 */
static int
conf_set_secret(struct conf *c, const struct conf_dir *d,
    const char *value, char *why, size_t len)
{
	size_t	 n = strlen(value);

	if (n != 0 && n < CONF_SECRET_MIN)
		return conf_why(why, len, "shorter than %d characters",
		    CONF_SECRET_MIN);
	return conf_set_plain(c, d, value, NULL, NULL, why, len);
}

static int
conf_get_secret(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	/* Never hand the MAC key out, not even to MI. */
	return (size_t)snprintf(buf, len, "%s",
	    *CFIELD(c, d, char) != '\0' ? "[hidden]" : "") < len ? 0 : -1;
}

static int
conf_get_str(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	return (size_t)snprintf(buf, len, "%s", CFIELD(c, d, char)) < len ?
	    0 : -1;
}

/*
 * Relative paths are relative to the config file's folder (SPEC §1), so
 * that a daemon that chdir'ed to / still finds them.
 */
static int
conf_resolve(const struct conf *c, const char *value, char *out,
    size_t outlen, size_t maxlen, char *why, size_t len)
{
	int	 n;

	if (*value == '\0')
		return conf_why(why, len, "empty path");
	while (value[0] == '.' && value[1] == '/')
		for (value += 2; *value == '/'; value++)
			;
	if (*value == '\0')
		value = ".";
	if (value[0] == '/' || c->c_dir[0] == '\0')
		n = snprintf(out, outlen, "%s", value);
	else
		n = snprintf(out, outlen, "%s/%s", c->c_dir, value);
	if (n < 0 || (size_t)n >= outlen || (size_t)n > maxlen)
		return conf_why(why, len, "path longer than %zu bytes",
		    maxlen < outlen - 1 ? maxlen : outlen - 1);
	return 0;
}

static int
conf_set_path(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	char	 path[PATH_MAX];

	if (conf_resolve(c, value, path, sizeof(path),
	    d->cd_max ? d->cd_max : d->cd_size - 1, why, len) == -1)
		return -1;
	memcpy(FIELD(c, d, char), path, strlen(path) + 1);
	return 0;
}

/*
 * Parses "IP" or "[IPv6]" with an optional ":PORT" (default 5060) into
 * ss. Literals only: config checks must not wait for DNS.
 */
static int
conf_parse_hostport(const char *s, struct sockaddr_storage *ss,
    socklen_t *sslen, char *why, size_t len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 host[INET6_ADDRSTRLEN];
	const char		*end, *port = NULL;
	unsigned long		 pv = 5060;
	size_t			 hl;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return conf_why(why, len, "missing ']'");
		hl = (size_t)(end - s - 1);
		if (hl >= sizeof(host))
			return conf_why(why, len, "not an IPv6 address");
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return conf_why(why, len, "junk after ']'");
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return conf_why(why, len, "not an IPv6 address");
		sin6->sin6_family = AF_INET6;
		*sslen = sizeof(*sin6);
	} else {
		if (strchr(s, ':') != strrchr(s, ':'))
			return conf_why(why, len,
			    "IPv6 addresses go in brackets: [::1]:5060");
		if ((end = strchr(s, ':')) != NULL)
			port = end + 1;
		else
			end = s + strlen(s);
		hl = (size_t)(end - s);
		if (hl >= sizeof(host))
			return conf_why(why, len, "not an IPv4 address");
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return conf_why(why, len, "not an IPv4 address");
		sin->sin_family = AF_INET;
		*sslen = sizeof(*sin);
	}
	if (port != NULL && (conf_parse_ulong(port, &pv) == -1 || pv < 1 ||
	    pv > 65535))
		return conf_why(why, len, "port must be 1..65535");
	if (ss->ss_family == AF_INET6)
		sin6->sin6_port = htons((uint16_t)pv);
	else
		sin->sin_port = htons((uint16_t)pv);
	return 0;
}

static void
conf_listen_text(struct conf_listen *cl)
{
	const struct sockaddr_in	*sin = (void *)&cl->cl_addr;
	const struct sockaddr_in6	*sin6 = (void *)&cl->cl_addr;
	char				 ip[INET6_ADDRSTRLEN];

	if (cl->cl_addr.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(cl->cl_text, sizeof(cl->cl_text), "udp:[%s]:%u", ip,
		    (unsigned)ntohs(sin6->sin6_port));
	} else {
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(cl->cl_text, sizeof(cl->cl_text), "udp:%s:%u", ip,
		    (unsigned)ntohs(sin->sin_port));
	}
}

/* Kamailio's other transports: named so that the message says why. */
static bool
conf_is_proto(const char *w)
{
	static const char *const protos[] = { "tcp:", "tls:", "sctp:",
	    "ws:", "wss:" };
	size_t	 i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (strncasecmp(w, protos[i], strlen(protos[i])) == 0)
			return true;
	return false;
}

/*
 * listen: one or more "[udp:]IP[:PORT]" separated by blanks or commas,
 * appended to c_listen. Whoever starts a new list (the first listen line
 * of a file, the first -o listen, conf_set) empties it first.
 */
static int
conf_set_listen(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	struct conf_listen	 add[CONF_MAX_LISTEN];
	struct conf_listen	*cl;
	char			 word[128], q[CONF_QUOTE_MAX * 4 + 8];
	const char		*p = value, *w;
	size_t			 wl;
	int			 n = 0, i;

	(void)d;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		wl = strcspn(p, " \t,");
		if (wl >= sizeof(word))
			return conf_why(why, len, "address too long");
		memcpy(word, p, wl);
		word[wl] = '\0';
		p += wl;
		w = word;
		if (strncasecmp(w, "udp:", 4) == 0)
			w += 4;
		else if (conf_is_proto(w))
			return conf_why(why, len, "%s: only udp is supported",
			    conf_quote(q, sizeof(q), word));
		if (c->c_nlisten + n >= CONF_MAX_LISTEN)
			return conf_why(why, len, "more than %d addresses",
			    CONF_MAX_LISTEN);
		cl = &add[n];
		memset(cl, 0, sizeof(*cl));
		if (conf_parse_hostport(w, &cl->cl_addr, &cl->cl_addrlen,
		    why, len) == -1)
			return -1;
		conf_listen_text(cl);
		for (i = 0; i < c->c_nlisten + n; i++) {
			const struct conf_listen *o = i < c->c_nlisten ?
			    &c->c_listen[i] : &add[i - c->c_nlisten];

			if (strcmp(o->cl_text, cl->cl_text) == 0)
				return conf_why(why, len, "%s given twice",
				    cl->cl_text);
		}
		n++;
	}
	if (n == 0)
		return conf_why(why, len, "no address");
	memcpy(&c->c_listen[c->c_nlisten], add, (size_t)n * sizeof(add[0]));
	c->c_nlisten += n;
	return 0;
}

static int
conf_get_listen(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	size_t	 n = 0;
	int	 i, m;

	(void)d;
	buf[0] = '\0';
	for (i = 0; i < c->c_nlisten; i++) {
		m = snprintf(buf + n, len - n, "%s%s", i ? " " : "",
		    c->c_listen[i].cl_text);
		if (m < 0 || (size_t)m >= len - n)
			return -1;
		n += (size_t)m;
	}
	return 0;
}

/*
 * db_url: "text://DIR" or "sqlite://FILE"; as in Kamailio, no '/' after
 * the scheme means relative (here: to the config folder).
 */
static int
conf_set_db_url(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	char			 path[PATH_MAX];
	enum conf_db_kind	 kind;
	const char		*rest;

	(void)d;
	if (strncmp(value, "text://", 7) == 0) {
		kind = CONF_DB_TEXT;
		rest = value + 7;
	} else if (strncmp(value, "sqlite://", 9) == 0) {
		if (!SIPD_HAVE_SQLITE)
			return conf_why(why, len,
			    "this sipd was built without SQLite");
		kind = CONF_DB_SQLITE;
		rest = value + 9;
	} else
		return conf_why(why, len,
		    "must be text://DIR or sqlite://FILE");
	if (conf_resolve(c, rest, path, sizeof(path), sizeof(path) - 1, why,
	    len) == -1)
		return -1;
	c->c_db_kind = kind;
	memcpy(c->c_db_path, path, strlen(path) + 1);
	return 0;
}

static int
conf_get_db_url(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	(void)d;
	return (size_t)snprintf(buf, len, "%s%s",
	    c->c_db_kind == CONF_DB_SQLITE ? "sqlite://" : "text://",
	    c->c_db_path) < len ? 0 : -1;
}

/* Keeps c_gw_addr equal to gw_ip + gw_port whichever of them changed. */
static void
conf_gw_sync(struct conf *c)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&c->c_gw_addr;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&c->c_gw_addr;

	memset(&c->c_gw_addr, 0, sizeof(c->c_gw_addr));
	c->c_gw_set = c->c_gw_ip[0] != '\0';
	if (!c->c_gw_set)
		return;
	if (inet_pton(AF_INET, c->c_gw_ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(c->c_gw_port);
	} else if (inet_pton(AF_INET6, c->c_gw_ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(c->c_gw_port);
	}
}

/*
 * Whether ip can be a gateway: the unspecified, broadcast and multicast
 * addresses take no unicast datagram, so an INVITE sent there would get
 * no answer at all (issue 10). IPv4-mapped IPv6 is judged as IPv4.
 */
static bool
conf_gw_unicast(const struct in_addr *a4, const struct in6_addr *a6)
{
	uint32_t	 ip;

	if (a6 != NULL) {
		if (IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_MULTICAST(a6))
			return false;
		if (!IN6_IS_ADDR_V4MAPPED(a6))
			return true;
		memcpy(&ip, &a6->s6_addr[12], sizeof(ip));
	} else
		ip = a4->s_addr;
	ip = ntohl(ip);
	return ip != INADDR_ANY && ip != INADDR_BROADCAST &&
	    !IN_MULTICAST(ip);
}

/*
 * pstn.gw_ip: "" (no gateway), an IPv4 or an IPv6 literal ([..] too),
 * for a unicast host.
 */
static int
conf_set_gw_ip(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	char		 ip[sizeof(c->c_gw_ip)];
	size_t		 n = strlen(value);

	(void)d;
	if (n >= 2 && value[0] == '[' && value[n - 1] == ']') {
		value++;
		n -= 2;
	}
	if (n >= sizeof(ip))
		return conf_why(why, len, "not an IPv4 or IPv6 address");
	memcpy(ip, value, n);
	ip[n] = '\0';
	if (n != 0 && inet_pton(AF_INET, ip, &a4) == 1) {
		if (!conf_gw_unicast(&a4, NULL))
			return conf_why(why, len, "unspecified, broadcast "
			    "or multicast address");
	} else if (n != 0 && inet_pton(AF_INET6, ip, &a6) == 1) {
		if (!conf_gw_unicast(NULL, &a6))
			return conf_why(why, len, "unspecified, broadcast "
			    "or multicast address");
	} else if (n != 0)
		return conf_why(why, len, "not an IPv4 or IPv6 address");
	memcpy(c->c_gw_ip, ip, n + 1);
	conf_gw_sync(c);
	return 0;
}

static int
conf_set_gw_port(struct conf *c, const struct conf_dir *d,
    const char *value, char *why, size_t len)
{
	unsigned long	 v = 0;	/* set by conf_parse_range() on 0 */

	if (conf_parse_range(d, value, &v, why, len) == -1)
		return -1;
	c->c_gw_port = (uint16_t)v;
	conf_gw_sync(c);
	return 0;
}

static int
conf_get_gw_port(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	(void)d;
	return (size_t)snprintf(buf, len, "%u", c->c_gw_port) < len ? 0 : -1;
}

struct conf_name {
	const char	*cn_name;
	int		 cn_value;
};

/* First name of a value is the one printed back. */
static const struct conf_name conf_levels[] = {
	{ "emerg", LOG_EMERG }, { "alert", LOG_ALERT }, { "crit", LOG_CRIT },
	{ "err", LOG_ERR }, { "error", LOG_ERR },
	{ "warning", LOG_WARNING }, { "warn", LOG_WARNING },
	{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
};

static const struct conf_name conf_facilities[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

#define NNAMES(a)	(sizeof(a) / sizeof((a)[0]))

/* The first three levels are only printable: sipd logs at err or above. */
#define CONF_LEVEL_FIRST	3

static int
conf_set_level(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	size_t	 i;

	(void)d;
	for (i = CONF_LEVEL_FIRST; i < NNAMES(conf_levels); i++)
		if (strcasecmp(value, conf_levels[i].cn_name) == 0) {
			c->c_log_level = conf_levels[i].cn_value;
			return 0;
		}
	return conf_why(why, len,
	    "must be err, warning, notice, info or debug");
}

const char *
conf_log_level_name(int level)
{
	size_t	 i;

	for (i = 0; i < NNAMES(conf_levels); i++)
		if (conf_levels[i].cn_value == level)
			return conf_levels[i].cn_name;
	return "unknown";
}

static int
conf_get_level(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	(void)d;
	return (size_t)snprintf(buf, len, "%s",
	    conf_log_level_name(c->c_log_level)) < len ? 0 : -1;
}

static int
conf_set_facility(struct conf *c, const struct conf_dir *d,
    const char *value, char *why, size_t len)
{
	size_t	 i;

	(void)d;
	for (i = 0; i < NNAMES(conf_facilities); i++)
		if (strcasecmp(value, conf_facilities[i].cn_name) == 0) {
			c->c_log_facility = conf_facilities[i].cn_value;
			return 0;
		}
	return conf_why(why, len, "must be daemon, user or local0..local7");
}

const char *
conf_log_facility_name(int facility)
{
	size_t	 i;

	for (i = 0; i < NNAMES(conf_facilities); i++)
		if (conf_facilities[i].cn_value == facility)
			return conf_facilities[i].cn_name;
	return "unknown";
}

static int
conf_get_facility(const struct conf *c, const struct conf_dir *d,
    char *buf, size_t len)
{
	(void)d;
	return (size_t)snprintf(buf, len, "%s",
	    conf_log_facility_name(c->c_log_facility)) < len ? 0 : -1;
}

/*
 * auth.algorithms: a set, not a list: the challenge order is always MD5
 * then SHA-256 (SPEC §3), whatever order the user wrote.
 */
static int
conf_set_algs(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	/* Longer than any name, so a truncated word never matches one. */
	char		 word[CONF_QUOTE_MAX + 16], q[CONF_QUOTE_MAX * 4 + 8];
	const char	*p = value;
	unsigned	 algs = 0;
	size_t		 wl;

	(void)d;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			break;
		wl = strcspn(p, " \t,");
		snprintf(word, sizeof(word), "%.*s", (int)wl, p);
		p += wl;
		if (strcasecmp(word, "MD5") == 0)
			algs |= CONF_ALG_MD5;
		else if (strcasecmp(word, "SHA-256") == 0)
			algs |= CONF_ALG_SHA256;
		else
			return conf_why(why, len, "%s is not MD5 or SHA-256",
			    conf_quote(q, sizeof(q), word));
	}
	if (algs == 0)
		return conf_why(why, len, "needs MD5, SHA-256 or both");
	c->c_auth_algorithms = algs;
	return 0;
}

static int
conf_get_algs(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	unsigned	 a = c->c_auth_algorithms;

	(void)d;
	return (size_t)snprintf(buf, len, "%s%s%s",
	    a & CONF_ALG_MD5 ? "MD5" : "",
	    (a & CONF_ALG_MD5) && (a & CONF_ALG_SHA256) ? " " : "",
	    a & CONF_ALG_SHA256 ? "SHA-256" : "") < len ? 0 : -1;
}

static int
conf_set_qop(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	(void)d;
	if (strcasecmp(value, "auth") == 0)
		c->c_auth_qop = true;
	else if (strcasecmp(value, "none") == 0)
		c->c_auth_qop = false;
	else
		return conf_why(why, len, "must be auth or none");
	return 0;
}

static int
conf_get_qop(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	(void)d;
	return (size_t)snprintf(buf, len, "%s",
	    c->c_auth_qop ? "auth" : "none") < len ? 0 : -1;
}

static const char *const conf_nat_names[] = { "auto", "always", "never" };

static int
conf_set_nat(struct conf *c, const struct conf_dir *d, const char *value,
    char *why, size_t len)
{
	int	 i;

	(void)d;
	for (i = 0; i < 3; i++)
		if (strcasecmp(value, conf_nat_names[i]) == 0) {
			c->c_reg_nat_detect = i;
			return 0;
		}
	return conf_why(why, len, "must be auto, always or never");
}

static int
conf_get_nat(const struct conf *c, const struct conf_dir *d, char *buf,
    size_t len)
{
	(void)d;
	if (c->c_reg_nat_detect < 0 || c->c_reg_nat_detect > 2)
		return -1;
	return (size_t)snprintf(buf, len, "%s",
	    conf_nat_names[c->c_reg_nat_detect]) < len ? 0 : -1;
}

/*
 * Runs one setter and reports a refusal as "ORIGIN: KEY: bad value "V":
 * why". The secret is never echoed.
 */
static int
conf_apply(struct conf *c, const struct conf_dir *d, const char *value,
    const char *file, unsigned line, struct errbuf *errs)
{
	char	 why[CONF_WHY_MAX], q[CONF_QUOTE_MAX * 4 + 8];

	why[0] = '\0';
	if (d->cd_set(c, d, value, why, sizeof(why)) == 0)
		return 0;
	if (d->cd_flags & CD_SECRET)
		errbuf_add(errs, file, line, "%s: bad value: %s", d->cd_name,
		    why);
	else
		errbuf_add(errs, file, line, "%s: bad value %s: %s",
		    d->cd_name, conf_quote(q, sizeof(q), value), why);
	return -1;
}

void
conf_defaults(struct conf *c)
{
	char	 why[CONF_WHY_MAX];
	size_t	 i;

	memset(c, 0, sizeof(*c));
	/* The defaults are valid by construction; test_conf checks it. */
	for (i = 0; i < CONF_NDIRS; i++)
		(void)conf_dirs[i].cd_set(c, &conf_dirs[i],
		    conf_dirs[i].cd_default, why, sizeof(why));
}

int
conf_set(struct conf *c, const char *key, const char *value,
    const char *file, unsigned line, struct errbuf *errs)
{
	const struct conf_dir	*d;
	struct conf_listen	 saved[CONF_MAX_LISTEN];
	char			 q[CONF_QUOTE_MAX * 4 + 8];
	int			 nsaved;

	if ((d = conf_dir_find(key)) == NULL) {
		conf_unknown_key(errs, file, line, key,
		    conf_quote(q, sizeof(q), key));
		return -1;
	}
	if (d->cd_flags & CD_REPEAT) {
		/* The value is the whole new list, as conf_get prints it. */
		nsaved = c->c_nlisten;
		memcpy(saved, c->c_listen, sizeof(saved));
		c->c_nlisten = 0;
		if (conf_apply(c, d, value, file, line, errs) == -1) {
			memcpy(c->c_listen, saved, sizeof(saved));
			c->c_nlisten = nsaved;
			return -1;
		}
		return 0;
	}
	return conf_apply(c, d, value, file, line, errs);
}

int
conf_get(const struct conf *c, const char *key, char *buf, size_t len)
{
	const struct conf_dir	*d;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if ((d = conf_dir_find(key)) == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (d->cd_get(c, d, buf, len) == -1) {
		buf[0] = '\0';
		errno = ERANGE;
		return -1;
	}
	return 0;
}

/* Returns the end of the quoted word at p (past the '"'), or NULL. */
static const char *
conf_scan_quoted(const char *p, char *why, size_t len)
{
	for (p++; *p != '"'; p++) {
		if (*p == '\0') {
			conf_why(why, len, "unterminated quoted value");
			return NULL;
		}
		if (*p != '\\')
			continue;
		if (p[1] != '"' && p[1] != '\\') {
			conf_why(why, len, "bad escape '\\%c' in quoted value "
			    "(only \\\" and \\\\)", p[1] ? p[1] : '0');
			return NULL;
		}
		p++;
	}
	return p + 1;
}

static bool
conf_is_desc(const char *s, size_t n)
{
	return (n == 4 && strncasecmp(s, "desc", 4) == 0) ||
	    (n == 5 && strncasecmp(s, "descr", 5) == 0) ||
	    (n == 11 && strncasecmp(s, "description", 11) == 0);
}

/*
 * Turns the text after "=" into the value in out. A value is one quoted
 * string ("..." with \" and \\) or a run of unquoted words kept as written
 * (auth.algorithms = MD5 SHA-256); '#' outside quotes starts a comment;
 * a trailing Kamailio  desc "text"  is dropped. Returns -1 with why.
 */
static int
conf_parse_value(const char *s, char *out, size_t outlen, char *why,
    size_t len)
{
	struct {
		const char	*w_start;
		const char	*w_end;		/* past the word */
		bool		 w_quoted;
	} words[CONF_WORDS_MAX];
	char		 q[CONF_QUOTE_MAX * 4 + 8], junk[CONF_VALUE_MAX];
	const char	*p = s;
	size_t		 n = 0, i, o;

	for (;;) {
		p += strspn(p, " \t");
		if (*p == '\0' || *p == '#')
			break;
		if (n == CONF_WORDS_MAX)
			return conf_why(why, len, "too many words");
		words[n].w_start = p;
		words[n].w_quoted = *p == '"';
		if (*p == '"') {
			if ((p = conf_scan_quoted(p, why, len)) == NULL)
				return -1;
		} else
			p += strcspn(p, " \t#\"");
		words[n++].w_end = p;
	}
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return conf_why(why, len, "control character in value");
	if (n >= 2 && !words[n - 2].w_quoted && words[n - 1].w_quoted &&
	    conf_is_desc(words[n - 2].w_start,
	    (size_t)(words[n - 2].w_end - words[n - 2].w_start)))
		n -= 2;
	for (i = 0; i < n; i++)
		if (words[i].w_quoted && n > 1) {
			o = (size_t)(words[n - 1].w_end - words[1].w_start);
			if (o >= sizeof(junk))
				o = sizeof(junk) - 1;
			memcpy(junk, words[1].w_start, o);
			junk[o] = '\0';
			return conf_why(why, len, "junk after value: %s",
			    conf_quote(q, sizeof(q), junk));
		}
	o = 0;
	if (n == 1 && words[0].w_quoted) {
		for (p = words[0].w_start + 1; p < words[0].w_end - 1; p++) {
			if (*p == '\\')
				p++;
			if (o + 1 >= outlen)
				return conf_why(why, len, "value too long");
			out[o++] = *p;
		}
	} else if (n > 0) {
		o = (size_t)(words[n - 1].w_end - words[0].w_start);
		if (o >= outlen)
			return conf_why(why, len, "value too long");
		memcpy(out, words[0].w_start, o);
	}
	out[o] = '\0';
	return 0;
}

static size_t
conf_key_len(const char *s)
{
	size_t	 n;

	for (n = 0; (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' &&
	    s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_' ||
	    s[n] == '.' || s[n] == '-'; n++)
		;
	return n;
}

/* c_dir: absolute, so that paths survive the daemon's chdir("/"). */
static void
conf_set_dir(struct conf *c, const char *path)
{
	char		 dir[PATH_MAX], cwd[PATH_MAX];
	const char	*slash = strrchr(path, '/');
	size_t		 n;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			n = sizeof(dir) - 1;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	if (realpath(dir, c->c_dir) != NULL)
		return;
	/* A missing folder is reported as "cannot open"; keep a best guess. */
	if (dir[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL &&
	    (size_t)snprintf(c->c_dir, sizeof(c->c_dir), "%s/%s", cwd, dir) <
	    sizeof(c->c_dir))
		return;
	snprintf(c->c_dir, sizeof(c->c_dir), "%s", dir);
}

struct conf_load_state {
	struct conf		*ls_conf;
	struct errbuf		*ls_errs;
	struct conf_origin	 ls_org[CONF_NDIRS];
	unsigned		 ls_seq;
	bool			 ls_listen_file;	/* a file listen seen */
	bool			 ls_listen_override;	/* a -o listen seen */
};

static void
conf_load_apply(struct conf_load_state *ls, const struct conf_dir *d,
    const char *value, const char *file, unsigned line)
{
	struct conf_origin	*co = &ls->ls_org[d - conf_dirs];

	if (conf_apply(ls->ls_conf, d, value, file, line, ls->ls_errs) == 0) {
		co->co_file = file;
		co->co_line = line;
		co->co_seq = ++ls->ls_seq;
	}
}

/* One line of the file, without its line end. */
static void
conf_load_line(struct conf_load_state *ls, const char *file, unsigned line,
    const char *text, bool world_readable)
{
	const struct conf_dir	*d;
	struct conf_origin	*co;
	char			 key[64], value[CONF_VALUE_MAX];
	char			 why[CONF_WHY_MAX], q[CONF_QUOTE_MAX * 4 + 8];
	const char		*p = text + strspn(text, " \t");
	size_t			 kl;

	if (*p == '\0' || *p == '#')
		return;
	kl = conf_key_len(p);
	if (kl == 0 || kl >= sizeof(key)) {
		errbuf_add(ls->ls_errs, file, line,
		    "expected \"key = value\", got %s",
		    conf_quote(q, sizeof(q), p));
		return;
	}
	memcpy(key, p, kl);
	key[kl] = '\0';
	p += kl;
	p += strspn(p, " \t");
	if (*p != '=') {
		errbuf_add(ls->ls_errs, file, line, "missing \"=\" after %s",
		    conf_quote(q, sizeof(q), key));
		return;
	}
	p++;
	if ((d = conf_dir_find(key)) == NULL) {
		conf_unknown_key(ls->ls_errs, file, line, key,
		    conf_quote(q, sizeof(q), key));
		return;
	}
	co = &ls->ls_org[d - conf_dirs];
	if (co->co_file_line != 0 && !(d->cd_flags & CD_REPEAT)) {
		errbuf_add(ls->ls_errs, file, line,
		    "%s: duplicate key (first set at line %u)", key,
		    co->co_file_line);
		return;
	}
	if (co->co_file_line == 0)
		co->co_file_line = line;
	if (conf_parse_value(p, value, sizeof(value), why, sizeof(why)) ==
	    -1) {
		errbuf_add(ls->ls_errs, file, line, "%s: %s", key, why);
		return;
	}
	if ((d->cd_flags & CD_SECRET) && value[0] != '\0' && world_readable) {
		/* smtpd's check_file_secrecy: a MAC key others can read. */
		errbuf_add(ls->ls_errs, file, line,
		    "%s: file is readable by others (chmod o-rwx)", key);
		return;
	}
	if ((d->cd_flags & CD_REPEAT) && !ls->ls_listen_file) {
		/* The file's listens replace the default one. */
		ls->ls_listen_file = true;
		ls->ls_conf->c_nlisten = 0;
	}
	conf_load_apply(ls, d, value, file, line);
}

static void
conf_load_file(struct conf_load_state *ls, const char *path)
{
	struct stat	 st;
	FILE		*fp;
	char		*buf = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	unsigned	 line = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		errbuf_add(ls->ls_errs, path, 0, "cannot open: %s",
		    strerror(errno));
		return;
	}
	if (fstat(fileno(fp), &st) == -1)
		st.st_mode = 0;
	else if (S_ISDIR(st.st_mode)) {
		/* fopen() takes a folder; say so rather than "cannot read". */
		errbuf_add(ls->ls_errs, path, 0, "cannot open: %s",
		    strerror(EISDIR));
		fclose(fp);
		return;
	}
	while ((n = getline(&buf, &cap, fp)) != -1) {
		line++;
		if (memchr(buf, '\0', (size_t)n) != NULL) {
			errbuf_add(ls->ls_errs, path, line, "NUL byte in line");
			continue;
		}
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '\r')
			buf[--n] = '\0';
		conf_load_line(ls, path, line, buf,
		    (st.st_mode & S_IROTH) != 0);
	}
	if (ferror(fp))
		errbuf_add(ls->ls_errs, path, 0, "cannot read: %s",
		    strerror(errno));
	free(buf);
	fclose(fp);
}

/*
 * One -o KEY=VALUE. The value reads as in the file (quotes, '#'), and a
 * relative path is relative to the config folder, as in the file. The
 * first -o listen replaces the listens of the file; later ones add.
 */
static void
conf_load_override(struct conf_load_state *ls, const char *ov)
{
	const struct conf_dir	*d;
	const char		*eq = strchr(ov, '='), *k = ov;
	char			 key[64], value[CONF_VALUE_MAX];
	char			 why[CONF_WHY_MAX], q[CONF_QUOTE_MAX * 4 + 8];
	size_t			 kl;

	if (eq == NULL) {
		errbuf_add(ls->ls_errs, "-o", 0, "expected KEY=VALUE, got %s",
		    conf_quote(q, sizeof(q), ov));
		return;
	}
	k += strspn(k, " \t");
	for (kl = (size_t)(eq - k); kl > 0 && (k[kl - 1] == ' ' ||
	    k[kl - 1] == '\t'); kl--)
		;
	snprintf(key, sizeof(key), "%.*s", (int)kl, k);
	if (kl >= sizeof(key) || conf_key_len(k) < kl ||
	    (d = conf_dir_find(key)) == NULL) {
		conf_unknown_key(ls->ls_errs, "-o", 0, key,
		    conf_quote(q, sizeof(q), key));
		return;
	}
	if (conf_parse_value(eq + 1, value, sizeof(value), why,
	    sizeof(why)) == -1) {
		errbuf_add(ls->ls_errs, "-o", 0, "%s: %s", key, why);
		return;
	}
	if ((d->cd_flags & CD_REPEAT) && !ls->ls_listen_override) {
		ls->ls_listen_override = true;
		ls->ls_conf->c_nlisten = 0;
	}
	conf_load_apply(ls, d, value, "-o", 0);
}

/*
 * registrar.min_expires <= default_expires <= max_expires, checked once
 * everything is read; the message goes to whichever of them was set last.
 */
static void
conf_load_check(struct conf_load_state *ls)
{
	const struct conf	*c = ls->ls_conf;
	const struct conf_origin *co, *last = NULL;
	const char		*names[] = { "registrar.min_expires",
				    "registrar.default_expires",
				    "registrar.max_expires" };
	const char		*file = c->c_file, *name = names[0];
	unsigned		 line = 0;
	size_t			 i;

	if (c->c_reg_min_expires <= c->c_reg_default_expires &&
	    c->c_reg_default_expires <= c->c_reg_max_expires)
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		co = &ls->ls_org[conf_dir_find(names[i]) - conf_dirs];
		if (co->co_seq != 0 && (last == NULL ||
		    co->co_seq > last->co_seq)) {
			last = co;
			name = names[i];
		}
	}
	if (last != NULL) {
		file = last->co_file;
		line = last->co_line;
	}
	errbuf_add(ls->ls_errs, file, line,
	    "%s: need registrar.min_expires (%u) <= "
	    "registrar.default_expires (%u) <= registrar.max_expires (%u)",
	    name, c->c_reg_min_expires, c->c_reg_default_expires,
	    c->c_reg_max_expires);
}

int
conf_load(struct conf *c, const char *path, char *const *overrides,
    int noverrides, struct errbuf *errs)
{
	struct conf_load_state	*ls;
	char			 why[CONF_WHY_MAX], dbpath[PATH_MAX];
	unsigned		 before = errs->eb_count;
	int			 i;

	if ((ls = calloc(1, sizeof(*ls))) == NULL) {
		errbuf_add(errs, path, 0, "%s", strerror(errno));
		return -1;
	}
	ls->ls_conf = c;
	ls->ls_errs = errs;
	snprintf(c->c_file, sizeof(c->c_file), "%s", path);
	conf_set_dir(c, path);
	/* The default db folder ("db") is relative to the config folder. */
	if (c->c_db_path[0] != '/' && conf_resolve(c, c->c_db_path, dbpath,
	    sizeof(dbpath), sizeof(dbpath) - 1, why, sizeof(why)) == 0)
		memcpy(c->c_db_path, dbpath, strlen(dbpath) + 1);

	conf_load_file(ls, path);
	for (i = 0; i < noverrides; i++)
		conf_load_override(ls, overrides[i]);
	conf_load_check(ls);
	free(ls);
	return errs->eb_count == before ? 0 : -1;
}
