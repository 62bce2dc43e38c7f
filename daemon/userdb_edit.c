/*
 * userdb_edit.c: the MI edits of subscriber and trusted (master only).
 *
 * Each edit is checked against the table in use, persisted through
 * store.h (which returns only once the change is on disk), and then
 * published to shm, so a reply of success means the change survives a
 * crash of sipd, and a failure leaves file and table as they were.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "userdb.h"

#define USERDB_E_ARG		400
#define USERDB_E_NOTFOUND	404
#define USERDB_E_EXISTS		409
#define USERDB_E_STORAGE	500
#define USERDB_E_FULL		503

static int
userdb_fail(int *ret_code, int code)
{
	*ret_code = code;
	return -1;
}

static struct store_str
userdb_str(const char *s)
{
	struct store_str	 r = { s, s ? strlen(s) : 0 };

	return r;
}

/* Printable, no control bytes: what a username or domain may hold. */
static bool
userdb_name_ok(const char *s, size_t max)
{
	size_t	 n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || *s == 0x7f)
			return false;
	return true;
}

static int
userdb_check_user(const char *user, struct errbuf *errs, int *ret_code)
{
	if (!userdb_name_ok(user, USERTAB_USER_MAX) || strchr(user, '@')) {
		errbuf_add(errs, NULL, 0, "bad username \"%s\": 1 to %d "
		    "printable bytes, no '@' or space", user,
		    USERTAB_USER_MAX);
		return userdb_fail(ret_code, USERDB_E_ARG);
	}
	return 0;
}

static int
userdb_check_password(const char *password, struct errbuf *errs,
    int *ret_code)
{
	size_t	 n = strlen(password);

	if (n == 0 || n > USERTAB_PASSWORD_MAX) {
		errbuf_add(errs, NULL, 0, "bad password: 1 to %d bytes",
		    USERTAB_PASSWORD_MAX);
		return userdb_fail(ret_code, USERDB_E_ARG);
	}
	return 0;
}

/* Logs the storage failure's reason into errs' caller; code 500/404. */
static int
userdb_store_failed(int r, struct errbuf *errs, int *ret_code)
{
	if (r == STORE_E_NOTFOUND) {
		errbuf_add(errs, NULL, 0, "no such row in the table");
		return userdb_fail(ret_code, USERDB_E_NOTFOUND);
	}
	if (errs->eb_count == 0)
		errbuf_add(errs, NULL, 0, "storage: %s",
		    strerror(r < 0 ? -r : EIO));
	return userdb_fail(ret_code, USERDB_E_STORAGE);
}

/*
 * The storage row of user@domain with password, its ha1/ha1b (in the
 * caller's buffers), and the shm record made from it. 0 or -ENOMEM.
 */
static int
userdb_row(const char *user, const char *domain, const char *password,
    struct store_subscriber *row, char ha1[33], char ha1b[33],
    struct usertab_user *u)
{
	struct store_subscriber	 plain;

	memset(&plain, 0, sizeof(plain));
	plain.su_username = userdb_str(user);
	plain.su_domain = userdb_str(domain);
	plain.su_password = userdb_str(password);
	if (store_subscriber_hashes(&plain, row, ha1, ha1b) != 0)
		return -ENOMEM;
	(void)userdb_user_from_row(row, u);
	return 0;
}

int
userdb_subscriber_add(const struct conf *c, const char *user,
    const char *password, const char *domain, struct errbuf *errs,
    int *ret_code)
{
	struct store_subscriber	 row;
	struct usertab_user	 u;
	struct store_db		 sdb;
	char			 ha1[33], ha1b[33];
	int			 r;

	if (userdb_check_user(user, errs, ret_code) != 0 ||
	    userdb_check_password(password, errs, ret_code) != 0)
		return -1;
	if (!userdb_name_ok(domain, USERTAB_DOMAIN_MAX)) {
		errbuf_add(errs, NULL, 0, "bad domain \"%s\"", domain);
		return userdb_fail(ret_code, USERDB_E_ARG);
	}
	if (userdb_subscriber_exists(user, strlen(user))) {
		errbuf_add(errs, NULL, 0, "subscriber %s exists", user);
		return userdb_fail(ret_code, USERDB_E_EXISTS);
	}
	if (userdb_subscriber_count() >= c->c_auth_max_subscribers) {
		errbuf_add(errs, NULL, 0, "subscriber table full "
		    "(auth.max_subscribers %u)", c->c_auth_max_subscribers);
		return userdb_fail(ret_code, USERDB_E_FULL);
	}
	/* The record in shm carries the hashes the storage gets. */
	if (userdb_row(user, domain, password, &row, ha1, ha1b, &u) != 0) {
		errbuf_add(errs, NULL, 0, "out of memory");
		return userdb_fail(ret_code, USERDB_E_STORAGE);
	}
	userdb_store_db(c, &sdb);
	if ((r = store_subscriber_add(&sdb, &row, errs)) != 0)
		return userdb_store_failed(r, errs, ret_code);
	usertab_write_begin(userdb_usertab());
	r = usertab_put(userdb_usertab(), &u);
	usertab_write_end(userdb_usertab());
	if (r != 0) {
		/* Checked above; only a second writer could get here. */
		errbuf_add(errs, NULL, 0, "added to storage, but the table in "
		    "memory is full: subscriber.reload after raising "
		    "auth.max_subscribers");
		return userdb_fail(ret_code, USERDB_E_FULL);
	}
	return 0;
}

int
userdb_subscriber_passwd(const struct conf *c, const char *user,
    const char *password, struct errbuf *errs, int *ret_code)
{
	struct store_subscriber	 row;
	struct usertab_user	 old, u;
	struct store_db		 sdb;
	struct store_str	 name, pw = userdb_str(password);
	char			 ha1[33], ha1b[33];
	int			 r;

	if (userdb_check_password(password, errs, ret_code) != 0)
		return -1;
	if (userdb_subscriber_get(user, strlen(user), &old) != 0) {
		errbuf_add(errs, NULL, 0, "no subscriber %s", user);
		return userdb_fail(ret_code, USERDB_E_NOTFOUND);
	}
	/* Made before the storage is touched: nothing can fail after. */
	if (userdb_row(old.uu_user, old.uu_domain, password, &row, ha1, ha1b,
	    &u) != 0) {
		errbuf_add(errs, NULL, 0, "out of memory");
		return userdb_fail(ret_code, USERDB_E_STORAGE);
	}
	userdb_store_db(c, &sdb);
	name = userdb_str(user);
	if ((r = store_subscriber_passwd(&sdb, &name, &pw, errs)) != 0)
		return userdb_store_failed(r, errs, ret_code);
	usertab_write_begin(userdb_usertab());
	(void)usertab_put(userdb_usertab(), &u);
	usertab_write_end(userdb_usertab());
	return 0;
}

int
userdb_subscriber_rm(const struct conf *c, const char *user,
    const char *domain, struct errbuf *errs, int *ret_code)
{
	struct usertab_user	 old;
	struct store_db		 sdb;
	struct store_str	 u = userdb_str(user), d = userdb_str(domain);
	int			 r;

	if (userdb_subscriber_get(user, strlen(user), &old) != 0 ||
	    (domain != NULL && strcmp(domain, old.uu_domain) != 0)) {
		errbuf_add(errs, NULL, 0, "no subscriber %s%s%s", user,
		    domain ? "@" : "", domain ? domain : "");
		return userdb_fail(ret_code, USERDB_E_NOTFOUND);
	}
	userdb_store_db(c, &sdb);
	if ((r = store_subscriber_rm(&sdb, &u, domain ? &d : NULL, errs)) != 0)
		return userdb_store_failed(r, errs, ret_code);
	usertab_write_begin(userdb_usertab());
	(void)usertab_del(userdb_usertab(), old.uu_hash, old.uu_user,
	    old.uu_user_len);
	usertab_write_end(userdb_usertab());
	return 0;
}

static int
userdb_proto(const char *s, enum store_proto *ret)
{
	static const char *const names[] = { "any", "udp", "tcp", "tls",
	    "sctp", "none" };
	static const enum store_proto protos[] = { STORE_PROTO_ANY,
	    STORE_PROTO_UDP, STORE_PROTO_TCP, STORE_PROTO_TLS,
	    STORE_PROTO_SCTP, STORE_PROTO_NONE };
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0) {
			*ret = protos[i];
			return 0;
		}
	return -1;
}

/* An address as sipd prints a packet's source (the text compared). */
static bool
userdb_ip_canonical(const char *ip)
{
	unsigned char	 a[16];
	char		 back[INET6_ADDRSTRLEN];
	int		 af = strchr(ip, ':') ? AF_INET6 : AF_INET;

	return inet_pton(af, ip, a) == 1 &&
	    inet_ntop(af, a, back, sizeof(back)) != NULL &&
	    strcmp(back, ip) == 0;
}

/* After an edit of trusted in storage: the table again, from it. */
static int
userdb_trusted_republish(const struct conf *c, struct errbuf *errs,
    int *ret_code)
{
	struct errbuf	 warns = ERRBUF_INIT;
	int		 r;

	r = userdb_load_trusted(c, errs, &warns);
	errbuf_free(&warns);
	if (r != 0) {
		errbuf_add(errs, NULL, 0, "saved, but the table cannot be "
		    "loaded again; the one in use stays");
		return userdb_fail(ret_code, USERDB_E_STORAGE);
	}
	return 0;
}

int
userdb_trusted_add(const struct conf *c, const char *src_ip,
    const char *proto, const char *pattern, const char *tag,
    int64_t *ret_id, struct errbuf *errs, int *ret_code)
{
	struct store_trusted	 row;
	struct store_db		 sdb;
	regex_t			 re;
	char			 msg[128];
	int			 r;

	memset(&row, 0, sizeof(row));
	if (!userdb_ip_canonical(src_ip)) {
		errbuf_add(errs, NULL, 0, "bad src_ip \"%s\": an IPv4 or IPv6 "
		    "address as sipd prints it (e.g. 192.0.2.1, 2001:db8::1)",
		    src_ip);
		return userdb_fail(ret_code, USERDB_E_ARG);
	}
	if (userdb_proto(proto, &row.tr_proto) != 0) {
		errbuf_add(errs, NULL, 0, "bad proto \"%s\": any, udp, tcp, "
		    "tls, sctp or none", proto);
		return userdb_fail(ret_code, USERDB_E_ARG);
	}
	if (pattern != NULL && pattern[0] != '\0') {
		if (strlen(pattern) > TRUSTAB_PATTERN_MAX) {
			errbuf_add(errs, NULL, 0, "from_pattern longer than %d "
			    "bytes", TRUSTAB_PATTERN_MAX);
			return userdb_fail(ret_code, USERDB_E_ARG);
		}
		if ((r = regcomp(&re, pattern, REG_NOSUB)) != 0) {
			regerror(r, &re, msg, sizeof(msg));
			errbuf_add(errs, NULL, 0, "bad from_pattern: %s", msg);
			return userdb_fail(ret_code, USERDB_E_ARG);
		}
		regfree(&re);
		row.tr_from_pattern = userdb_str(pattern);
	}
	if (tag != NULL && tag[0] != '\0') {
		if (strlen(tag) > TRUSTAB_TAG_MAX) {
			errbuf_add(errs, NULL, 0, "tag longer than %d bytes",
			    TRUSTAB_TAG_MAX);
			return userdb_fail(ret_code, USERDB_E_ARG);
		}
		row.tr_tag = userdb_str(tag);
	}
	if (userdb_trusted_count() >= TRUSTAB_ROWS_MAX) {
		errbuf_add(errs, NULL, 0, "trusted table full (%d rows)",
		    TRUSTAB_ROWS_MAX);
		return userdb_fail(ret_code, USERDB_E_FULL);
	}
	row.tr_src_ip = userdb_str(src_ip);
	userdb_store_db(c, &sdb);
	if ((r = store_trusted_add(&sdb, &row, ret_id, errs)) != 0)
		return userdb_store_failed(r, errs, ret_code);
	return userdb_trusted_republish(c, errs, ret_code);
}

int
userdb_trusted_rm(const struct conf *c, int64_t id, struct errbuf *errs,
    int *ret_code)
{
	struct store_db	 sdb;
	int		 r;

	userdb_store_db(c, &sdb);
	if ((r = store_trusted_rm(&sdb, id, errs)) != 0)
		return userdb_store_failed(r, errs, ret_code);
	return userdb_trusted_republish(c, errs, ret_code);
}
