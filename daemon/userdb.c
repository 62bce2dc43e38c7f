/*
 * userdb: the subscriber and trusted tables in process memory.
 *
 * The master loads both (userdb_load()) before it forks; the workers
 * inherit the result copy-on-write and only read it, so no lock is
 * needed. On SIGHUP the master loads them again into new tables
 * (tables_reload()); only when that worked are the old ones freed, and
 * the master then restarts the workers so that they fork with the new
 * ones. MI subscriber.reload / permissions.trustedReload do not exist.
 *
 * Subscribers are found by username through an open addressing table
 * of row indexes (linear probing, load factor at most 1/2), so a
 * REGISTER costs one hash and usually one compare however many users
 * there are. Trusted rows are few (gateways): they are tried in file
 * order, as Kamailio does, with each from_pattern compiled once here.
 */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "userdb.h"

struct userdb_trusted {
	const char	*ut_src_ip;	/* NUL-terminated, in ud_trusted */
	enum store_proto ut_proto;
	bool		 ut_has_re;
	regex_t		 ut_re;		/* from_pattern, REG_NOSUB */
};

struct userdb {
	struct store_subscribers	*ud_subs;
	uint32_t			*ud_slots;	/* row + 1; 0 empty */
	uint32_t			 ud_mask;	/* slots - 1 */
	struct store_trusted_table	*ud_trusted;
	struct userdb_trusted		*ud_rows;
	size_t				 ud_nrows;
	bool				 ud_calculate_ha1;
};

static struct userdb	 userdb_cur;

/* FNV-1a, 32 bits: usernames are short, this is fast and spreads well. */
static uint32_t
userdb_hash(const char *s, size_t len)
{
	uint32_t	 h = 2166136261U;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619U;
	}
	return h;
}

/* Row index of user in db, or -1. */
static long
userdb_find(const struct userdb *db, const char *user, size_t len)
{
	const struct store_subscriber	*row;
	uint32_t			 i, v;

	if (db->ud_slots == NULL)
		return -1;
	i = userdb_hash(user, len) & db->ud_mask;
	while ((v = db->ud_slots[i]) != 0) {
		row = &db->ud_subs->ssb_rows[v - 1];
		if (row->su_username.ss_len == len &&
		    memcmp(row->su_username.ss_ptr, user, len) == 0)
			return (long)(v - 1);
		i = (i + 1) & db->ud_mask;
	}
	return -1;
}

/* Whether the digest code can use this secret as a C string. */
static bool
userdb_usable(const struct store_str *s, size_t max)
{
	return s->ss_ptr != NULL && s->ss_len > 0 && s->ss_len < max &&
	    memchr(s->ss_ptr, '\0', s->ss_len) == NULL;
}

static void
userdb_note_secret(const struct userdb *db, const struct store_subscriber *r,
    const char *file, struct errbuf *warns)
{
	const char	*why = NULL;

	if (db->ud_calculate_ha1) {
		if (!userdb_usable(&r->su_password, AUTH_PASSWORD_MAX))
			why = "its password is empty, too long or holds a NUL "
			    "byte";
	} else if (!userdb_usable(&r->su_ha1, AUTH_HA1_MAX) ||
	    r->su_ha1.ss_len != AUTH_HA1_MAX - 1)
		why = "its ha1 is not 32 hex digits";
	if (why != NULL)
		errbuf_add(warns, file, r->su_line, "subscriber \"%.*s\" "
		    "cannot log in: %s", (int)r->su_username.ss_len,
		    r->su_username.ss_ptr, why);
}

/* The username hash over db->ud_subs; -ENOMEM. */
static int
userdb_index(struct userdb *db, const char *file, struct errbuf *warns)
{
	const struct store_subscriber	*row, *first;
	size_t				 n = db->ud_subs->ssb_count, size = 16;
	uint32_t			 i;
	long				 dup;
	size_t				 k;

	if (n > UINT32_MAX / 4)
		return -ENOMEM;
	while (size < n * 2)
		size *= 2;
	if ((db->ud_slots = calloc(size, sizeof(*db->ud_slots))) == NULL)
		return -ENOMEM;
	db->ud_mask = (uint32_t)(size - 1);
	for (k = 0; k < n; k++) {
		row = &db->ud_subs->ssb_rows[k];
		if (row->su_username.ss_ptr == NULL ||
		    row->su_username.ss_len == 0)
			continue;
		dup = userdb_find(db, row->su_username.ss_ptr,
		    row->su_username.ss_len);
		if (dup >= 0) {
			/* use_domain = 0: the user is the key, domain aside. */
			first = &db->ud_subs->ssb_rows[dup];
			errbuf_add(warns, file, row->su_line, "subscriber "
			    "\"%.*s\" is also on line %u, which is the one "
			    "used (domains are not compared)",
			    (int)row->su_username.ss_len,
			    row->su_username.ss_ptr, first->su_line);
			continue;
		}
		userdb_note_secret(db, row, file, warns);
		i = userdb_hash(row->su_username.ss_ptr,
		    row->su_username.ss_len) & db->ud_mask;
		while (db->ud_slots[i] != 0)
			i = (i + 1) & db->ud_mask;
		db->ud_slots[i] = (uint32_t)k + 1;
	}
	return 0;
}

static void
userdb_clear(struct userdb *db)
{
	size_t	 i;

	for (i = 0; i < db->ud_nrows; i++)
		if (db->ud_rows[i].ut_has_re)
			regfree(&db->ud_rows[i].ut_re);
	free(db->ud_rows);
	free(db->ud_slots);
	store_subscribers_free(db->ud_subs);
	store_trusted_free(db->ud_trusted);
	memset(db, 0, sizeof(*db));
}

/* Compiles the trusted rows; -1 with errors in errs, -ENOMEM. */
static int
userdb_compile(struct userdb *db, const char *file, struct errbuf *errs)
{
	const struct store_trusted	*t;
	struct userdb_trusted		*u;
	size_t				 n = db->ud_trusted->stt_count, k;
	char				 msg[128];
	int				 r, rc = 0;

	if (n == 0)
		return 0;
	if ((db->ud_rows = calloc(n, sizeof(*db->ud_rows))) == NULL)
		return -ENOMEM;
	for (k = 0; k < n; k++) {
		t = &db->ud_trusted->stt_rows[k];
		u = &db->ud_rows[db->ud_nrows];
		if (t->tr_src_ip.ss_ptr == NULL)
			continue;
		u->ut_src_ip = t->tr_src_ip.ss_ptr;
		u->ut_proto = t->tr_proto;
		if (t->tr_from_pattern.ss_ptr != NULL) {
			/* As permissions: POSIX basic, case-sensitive. */
			r = regcomp(&u->ut_re, t->tr_from_pattern.ss_ptr,
			    REG_NOSUB);
			if (r != 0) {
				regerror(r, &u->ut_re, msg, sizeof(msg));
				errbuf_add(errs, file, t->tr_line,
				    "from_pattern: %s", msg);
				rc = -1;
				continue;
			}
			u->ut_has_re = true;
		}
		db->ud_nrows++;
	}
	return rc;
}

int
userdb_load(const struct conf *c, struct errbuf *errs, struct errbuf *warns)
{
	struct userdb	 db;
	struct store_db	 sdb;
	char		 sfile[PATH_MAX + 16], tfile[PATH_MAX + 16];
	unsigned	 before = errs->eb_count;
	int		 rc;

	memset(&db, 0, sizeof(db));
	db.ud_calculate_ha1 = c->c_auth_calculate_ha1;
	userdb_store_db(c, &sdb);
	snprintf(sfile, sizeof(sfile), "%s/subscriber", c->c_db_path);
	snprintf(tfile, sizeof(tfile), "%s/trusted", c->c_db_path);

	rc = store_load_subscribers(&sdb, &db.ud_subs, errs, warns);
	if (rc == 0)
		rc = store_load_trusted(&sdb, &db.ud_trusted, errs, warns);
	if (rc == 0)
		rc = userdb_index(&db, sfile, warns);
	if (rc == 0)
		rc = userdb_compile(&db, tfile, errs);
	if (rc != 0) {
		if (errs->eb_count == before)
			errbuf_add(errs, c->c_db_path, 0, "subscriber/trusted: "
			    "cannot load: %s", strerror(rc < 0 ? -rc : EINVAL));
		userdb_clear(&db);
		return -1;
	}
	userdb_clear(&userdb_cur);
	userdb_cur = db;
	return 0;
}

void
userdb_store_db(const struct conf *c, struct store_db *ret)
{
	ret->sd_kind = c->c_db_kind == CONF_DB_SQLITE ? STORE_KIND_SQLITE :
	    STORE_KIND_TEXT;
	ret->sd_path = c->c_db_path;
}

void
userdb_free(void)
{
	userdb_clear(&userdb_cur);
}

size_t
userdb_subscriber_count(void)
{
	return userdb_cur.ud_subs ? userdb_cur.ud_subs->ssb_count : 0;
}

size_t
userdb_trusted_count(void)
{
	return userdb_cur.ud_nrows;
}

bool
userdb_subscriber_exists(const char *user, size_t len)
{
	return userdb_find(&userdb_cur, user, len) >= 0;
}

/* Copies s (checked by userdb_usable()) into out, NUL-terminated. */
static void
userdb_copy(char *out, const struct store_str *s)
{
	memcpy(out, s->ss_ptr, s->ss_len);
	out[s->ss_len] = '\0';
}

int
userdb_auth_lookup(void *arg, struct sip_str user, struct sip_str realm,
    struct auth_secret *ret)
{
	const struct store_subscriber	*row;
	long				 k;

	(void)arg;
	(void)realm;
	if ((k = userdb_find(&userdb_cur, user.s, user.len)) < 0)
		return AUTH_LOOKUP_NOTFOUND;
	row = &userdb_cur.ud_subs->ssb_rows[k];
	if (userdb_cur.ud_calculate_ha1) {
		if (!userdb_usable(&row->su_password, AUTH_PASSWORD_MAX))
			return AUTH_LOOKUP_NOTFOUND;
		userdb_copy(ret->as_password, &row->su_password);
		return 0;
	}
	/* auth_verify() checks the hex itself and picks ha1 or ha1b. */
	if (userdb_usable(&row->su_ha1, AUTH_HA1_MAX))
		userdb_copy(ret->as_ha1, &row->su_ha1);
	if (userdb_usable(&row->su_ha1b, AUTH_HA1_MAX))
		userdb_copy(ret->as_ha1b, &row->su_ha1b);
	return 0;
}

bool
userdb_trusted_match(const char *src_ip, enum store_proto proto,
    struct sip_str from_uri)
{
	const struct userdb_trusted	*u;
	char				 from[USERDB_FROM_MAX + 1];
	bool				 copied = false, fits;
	size_t				 k;

	fits = from_uri.len <= USERDB_FROM_MAX && (from_uri.len == 0 ||
	    memchr(from_uri.s, '\0', from_uri.len) == NULL);
	for (k = 0; k < userdb_cur.ud_nrows; k++) {
		u = &userdb_cur.ud_rows[k];
		if (u->ut_proto == STORE_PROTO_NONE ||
		    (u->ut_proto != STORE_PROTO_ANY && u->ut_proto != proto))
			continue;
		if (strcmp(u->ut_src_ip, src_ip) != 0)
			continue;
		if (!u->ut_has_re)
			return true;
		if (!fits)
			continue;
		if (!copied) {
			/* regexec() wants a C string; the URI is a span. */
			memcpy(from, from_uri.s, from_uri.len);
			from[from_uri.len] = '\0';
			copied = true;
		}
		if (regexec(&u->ut_re, from, 0, NULL, 0) == 0)
			return true;
	}
	return false;
}
