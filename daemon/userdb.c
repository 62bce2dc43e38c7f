/*
 * userdb: the subscriber and trusted tables as the pipeline reads them.
 *
 * Both live in shm (shm/usertab, shm/trustab), written by the master
 * only: at start, on SIGHUP / MI reloads, and on MI edits
 * (userdb_edit.c). Loading reads the storage into process memory,
 * checks every row, and touches shm only when everything is good, so a
 * broken file never replaces a good table and readers never see half
 * of one (the seqlock makes the swap atomic for them).
 *
 * Trusted patterns are POSIX regexes, which cannot live in shm (regex_t
 * points into the compiling process's heap): each process compiles its
 * own copy of the rows and recompiles when the table's generation moves,
 * which costs one atomic load per trusted check otherwise.
 */
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "shm.h"
#include "store.h"
#include "userdb.h"

/* This process's compiled copy of the trusted table. */
struct userdb_trusted {
	struct trustab_row	*ut_rows;	/* TRUSTAB_ROWS_MAX */
	regex_t			*ut_res;	/* one per row with a pattern */
	bool			*ut_has_re;
	size_t			 ut_n;
	uint64_t		 ut_gen;
	bool			 ut_valid;
};

static struct usertab		*userdb_users;
static struct trustab		*userdb_trust;
static bool			 userdb_calculate_ha1;
static struct userdb_trusted	 userdb_tl;
/* Rows are named by line (DB_TEXT) or by id (SQLite) in messages. */
static bool			 userdb_rows_by_id;

uint32_t
userdb_hash(const char *user, size_t len)
{
	return (uint32_t)fnv_field(FNV_INIT, user, len);
}

struct usertab *
userdb_usertab(void)
{
	return userdb_users;
}

void
userdb_store_db(const struct conf *c, struct store_db *ret)
{
	ret->sd_kind = c->c_db_kind == CONF_DB_SQLITE ? STORE_KIND_SQLITE :
	    STORE_KIND_TEXT;
	ret->sd_path = c->c_db_path;
}

size_t
userdb_shm_size(size_t acc, const struct conf *c)
{
	acc = shm_size_add(acc, usertab_shm_size(c->c_auth_max_subscribers),
	    USERTAB_SHM_ALIGN);
	return shm_size_add(acc, trustab_shm_size(), TRUSTAB_SHM_ALIGN);
}

/*
 * core.shmmem: both tables are arrays of fixed records behind a small
 * index, so the bytes in use are the reservation in proportion to the
 * records held.
 */
static void
userdb_fill(size_t reserved, unsigned long n, unsigned long cap,
    struct shm_fill *ret)
{
	ret->sf_entries = n;
	ret->sf_capacity = cap;
	ret->sf_used = cap == 0 ? 0 :
	    (size_t)((double)reserved * (double)n / (double)cap);
}

static void
userdb_users_fill(size_t reserved, struct shm_fill *ret)
{
	(void)reserved;
	ret->sf_entries = usertab_count(userdb_users);
	ret->sf_capacity = usertab_capacity(userdb_users);
	ret->sf_used = usertab_bytes_used(userdb_users);
}

static void
userdb_trust_fill(size_t reserved, struct shm_fill *ret)
{
	userdb_fill(reserved, trustab_count(userdb_trust), TRUSTAB_ROWS_MAX,
	    ret);
}

int
userdb_create(const struct conf *c)
{
	int	 rc;

	userdb_calculate_ha1 = c->c_auth_calculate_ha1;
	(void)shm_table_begin("subscriber", userdb_users_fill);
	if ((rc = usertab_create(c->c_auth_max_subscribers,
	    &userdb_users)) != 0)
		return rc;
	(void)shm_table_begin("trusted", userdb_trust_fill);
	return trustab_create(&userdb_trust);
}

int
userdb_create_private(const struct conf *c)
{
	size_t	 n = usertab_shm_size(c->c_auth_max_subscribers);
	void	*u, *t;

	userdb_calculate_ha1 = c->c_auth_calculate_ha1;
	n = (n + USERTAB_SHM_ALIGN - 1) & ~(size_t)(USERTAB_SHM_ALIGN - 1);
	u = aligned_alloc(USERTAB_SHM_ALIGN, n);
	t = aligned_alloc(TRUSTAB_SHM_ALIGN, trustab_shm_size());
	if (u == NULL || t == NULL) {
		free(u);
		free(t);
		return -ENOMEM;
	}
	memset(u, 0, n);
	memset(t, 0, trustab_shm_size());
	(void)usertab_init(u, c->c_auth_max_subscribers, &userdb_users);
	return trustab_init(t, &userdb_trust);
}

/* Copies s into out (max bytes and a NUL); false when it does not fit. */
static bool
userdb_fit(char *out, size_t max, const struct store_str *s)
{
	if (s->ss_ptr == NULL) {
		out[0] = '\0';
		return true;
	}
	if (s->ss_len > max)
		return false;
	memcpy(out, s->ss_ptr, s->ss_len);
	out[s->ss_len] = '\0';
	return true;
}

/* A message about one row: "FILE:LINE: ..." or "FILE: table id N: ...". */
static void __attribute__((format(printf, 5, 6)))
userdb_row_note(struct errbuf *eb, const char *file, const char *table,
    unsigned line, const char *fmt, ...)
{
	char	 msg[768];
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (userdb_rows_by_id)
		errbuf_add(eb, file, 0, "%s id %u: %s", table, line, msg);
	else
		errbuf_add(eb, file, line, "%s", msg);
}

/* Whether the digest code can use this secret as a C string. */
static bool
userdb_usable(const struct store_str *s, size_t max)
{
	return s->ss_ptr != NULL && s->ss_len > 0 && s->ss_len <= max &&
	    memchr(s->ss_ptr, '\0', s->ss_len) == NULL;
}

int
userdb_user_from_row(const struct store_subscriber *row,
    struct usertab_user *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!userdb_fit(ret->uu_user, USERTAB_USER_MAX, &row->su_username))
		return -1;
	if (!userdb_fit(ret->uu_domain, USERTAB_DOMAIN_MAX, &row->su_domain))
		return -2;
	ret->uu_user_len = (uint16_t)row->su_username.ss_len;
	ret->uu_domain_len = row->su_domain.ss_ptr ?
	    (uint16_t)row->su_domain.ss_len : 0;
	ret->uu_hash = userdb_hash(ret->uu_user, ret->uu_user_len);
	if (userdb_usable(&row->su_password, USERTAB_PASSWORD_MAX)) {
		userdb_fit(ret->uu_password, USERTAB_PASSWORD_MAX,
		    &row->su_password);
		ret->uu_password_len = (uint16_t)row->su_password.ss_len;
		ret->uu_flags |= USERTAB_HAS_PASSWORD;
	}
	if (userdb_usable(&row->su_ha1, USERTAB_HA1_MAX)) {
		userdb_fit(ret->uu_ha1, USERTAB_HA1_MAX, &row->su_ha1);
		ret->uu_flags |= USERTAB_HAS_HA1;
	}
	if (userdb_usable(&row->su_ha1b, USERTAB_HA1_MAX)) {
		userdb_fit(ret->uu_ha1b, USERTAB_HA1_MAX, &row->su_ha1b);
		ret->uu_flags |= USERTAB_HAS_HA1B;
	}
	return 0;
}

static void
userdb_note_secret(const struct usertab_user *u, const char *file,
    unsigned line, struct errbuf *warns)
{
	const char	*why = NULL;

	if (userdb_calculate_ha1) {
		if (!(u->uu_flags & USERTAB_HAS_PASSWORD))
			why = "its password is empty, longer than 127 bytes "
			    "or holds a NUL byte";
	} else if (!(u->uu_flags & USERTAB_HAS_HA1) ||
	    strlen(u->uu_ha1) != USERTAB_HA1_MAX)
		why = "its ha1 is not 32 hex digits";
	if (why != NULL)
		userdb_row_note(warns, file, "subscriber", line, "subscriber "
		    "\"%.*s\" cannot log in: %s", (int)u->uu_user_len, u->uu_user, why);
}

/*
 * The rows of tb as usertab records in users[] (*ret_n of them), the
 * first of each username only. -1 with FILE:LINE errors in errs.
 */
static int
userdb_users_from(const struct store_subscribers *tb, unsigned cap,
    const char *file, struct usertab_user **ret, size_t *ret_n,
    struct errbuf *errs, struct errbuf *warns)
{
	const struct store_subscriber	*row;
	struct usertab_user		*users, *u;
	uint32_t			*seen, mask, i, size = 16;
	size_t				 n = 0, k;
	int				 bad = 0, r;

	while (size < tb->ssb_count * 2 + 2)
		size *= 2;
	mask = size - 1;
	users = calloc(tb->ssb_count + 1, sizeof(*users));
	seen = calloc(size, sizeof(*seen));
	if (users == NULL || seen == NULL) {
		free(users);
		free(seen);
		errbuf_add(errs, file, 0, "out of memory");
		return -1;
	}
	for (k = 0; k < tb->ssb_count; k++) {
		row = &tb->ssb_rows[k];
		if (row->su_username.ss_ptr == NULL ||
		    row->su_username.ss_len == 0)
			continue;
		u = &users[n];
		if ((r = userdb_user_from_row(row, u)) != 0) {
			userdb_row_note(errs, file, "subscriber", row->su_line,
			    "%s longer than %d bytes", r == -1 ? "username" : "domain",
			    r == -1 ? USERTAB_USER_MAX : USERTAB_DOMAIN_MAX);
			bad = 1;
			continue;
		}
		/* use_domain = 0: the user is the key, domain aside. */
		for (i = u->uu_hash & mask; seen[i] != 0; i = (i + 1) & mask)
			if (users[seen[i] - 1].uu_user_len == u->uu_user_len &&
			    memcmp(users[seen[i] - 1].uu_user, u->uu_user,
			    u->uu_user_len) == 0)
				break;
		if (seen[i] != 0) {
			userdb_row_note(warns, file, "subscriber", row->su_line,
			    "subscriber \"%.*s\" is also %s %u, which is the "
			    "one used (domains are not compared)",
			    (int)u->uu_user_len, u->uu_user,
			    userdb_rows_by_id ? "id" : "on line",
			    users[seen[i] - 1].uu_pad);
			continue;
		}
		userdb_note_secret(u, file, row->su_line, warns);
		u->uu_pad = row->su_line;	/* for the message above */
		seen[i] = (uint32_t)n + 1;
		n++;
	}
	free(seen);
	for (k = 0; k < n; k++)
		users[k].uu_pad = 0;
	if (!bad && n > cap) {
		errbuf_add(errs, file, 0, "%zu subscribers, more than "
		    "auth.max_subscribers (%u) allows; raise it", n, cap);
		bad = 1;
	}
	if (bad) {
		free(users);
		return -1;
	}
	*ret = users;
	*ret_n = n;
	return 0;
}

/* Where messages about a table point: the file, or the SQLite file. */
static void
userdb_table_file(const struct conf *c, const char *table, char *out,
    size_t outsz)
{
	userdb_rows_by_id = c->c_db_kind == CONF_DB_SQLITE;
	if (c->c_db_kind == CONF_DB_SQLITE)
		snprintf(out, outsz, "%s", c->c_db_path);
	else
		snprintf(out, outsz, "%s/%s", c->c_db_path, table);
}

/* Loads and checks subscriber; *ret users (free()) unless -1. */
static int
userdb_read_subscribers(const struct conf *c, struct usertab_user **ret,
    size_t *ret_n, struct errbuf *errs, struct errbuf *warns)
{
	struct store_subscribers	*tb = NULL;
	struct store_db			 sdb;
	char				 file[PATH_MAX + 16];
	unsigned			 before = errs->eb_count;
	int				 rc;

	userdb_store_db(c, &sdb);
	userdb_table_file(c, "subscriber", file, sizeof(file));
	rc = store_load_subscribers(&sdb, &tb, errs, warns);
	if (rc == 0)
		rc = userdb_users_from(tb, c->c_auth_max_subscribers, file, ret,
		    ret_n, errs, warns);
	store_subscribers_free(tb);
	if (rc != 0 && errs->eb_count == before)
		errbuf_add(errs, file, 0, "cannot load: %s",
		    strerror(rc < 0 ? -rc : EINVAL));
	return rc == 0 ? 0 : -1;
}

static int
userdb_row_str(char *out, size_t max, const struct store_str *s,
    uint8_t *has)
{
	if (has != NULL)
		*has = s->ss_ptr != NULL;
	if (s->ss_ptr != NULL && memchr(s->ss_ptr, '\0', s->ss_len) != NULL)
		return -1;
	return userdb_fit(out, max, s) ? 0 : -1;
}

/* Loads and checks trusted into rows (TRUSTAB_ROWS_MAX), *ret_n. */
static int
userdb_read_trusted(const struct conf *c, struct trustab_row *rows,
    size_t *ret_n, struct errbuf *errs, struct errbuf *warns)
{
	struct store_trusted_table	*tb = NULL;
	const struct store_trusted	*t;
	struct trustab_row		*r;
	struct store_db			 sdb;
	char				 file[PATH_MAX + 16];
	unsigned			 before = errs->eb_count;
	size_t				 k, n = 0;
	int				 rc, bad = 0;

	userdb_store_db(c, &sdb);
	userdb_table_file(c, "trusted", file, sizeof(file));
	if ((rc = store_load_trusted(&sdb, &tb, errs, warns)) != 0) {
		if (errs->eb_count == before)
			errbuf_add(errs, file, 0, "cannot load: %s",
			    strerror(rc < 0 ? -rc : EINVAL));
		store_trusted_free(tb);
		return -1;
	}
	if (tb->stt_count > TRUSTAB_ROWS_MAX) {
		errbuf_add(errs, file, 0, "%zu rows; sipd holds at most %d",
		    tb->stt_count, TRUSTAB_ROWS_MAX);
		store_trusted_free(tb);
		return -1;
	}
	for (k = 0; k < tb->stt_count; k++) {
		t = &tb->stt_rows[k];
		if (t->tr_src_ip.ss_ptr == NULL)
			continue;
		r = &rows[n];
		memset(r, 0, sizeof(*r));
		r->tr_id = t->tr_id;
		r->tr_priority = t->tr_priority;
		r->tr_proto = (uint32_t)t->tr_proto;
		if (userdb_row_str(r->tr_src_ip, TRUSTAB_IP_MAX, &t->tr_src_ip,
		    NULL) != 0 ||
		    userdb_row_str(r->tr_pattern, TRUSTAB_PATTERN_MAX,
		    &t->tr_from_pattern, &r->tr_has_pattern) != 0 ||
		    userdb_row_str(r->tr_tag, TRUSTAB_TAG_MAX, &t->tr_tag,
		    &r->tr_has_tag) != 0) {
			userdb_row_note(errs, file, "trusted", t->tr_line,
			    "src_ip longer than %d, from_pattern longer than %d or tag longer "
			    "than %d bytes (or a NUL byte in one)",
			    TRUSTAB_IP_MAX, TRUSTAB_PATTERN_MAX,
			    TRUSTAB_TAG_MAX);
			bad = 1;
			continue;
		}
		n++;
	}
	store_trusted_free(tb);
	*ret_n = n;
	return bad ? -1 : 0;
}

static int
userdb_publish_users(const struct usertab_user *users, size_t n)
{
	size_t	 k;
	int	 rc = 0;

	usertab_write_begin(userdb_users);
	usertab_clear(userdb_users);
	for (k = 0; k < n && rc == 0; k++)
		rc = usertab_put(userdb_users, &users[k]);
	usertab_write_end(userdb_users);
	return rc;
}

int
userdb_load_subscribers(const struct conf *c, struct errbuf *errs,
    struct errbuf *warns)
{
	struct usertab_user	*users;
	size_t			 n;
	int			 rc;

	if (userdb_read_subscribers(c, &users, &n, errs, warns) != 0)
		return -1;
	rc = userdb_publish_users(users, n);
	free(users);
	return rc == 0 ? 0 : -1;
}

int
userdb_load_trusted(const struct conf *c, struct errbuf *errs,
    struct errbuf *warns)
{
	struct trustab_row	*rows;
	size_t			 n;
	int			 rc = -1;

	if ((rows = calloc(TRUSTAB_ROWS_MAX, sizeof(*rows))) == NULL)
		return -1;
	if (userdb_read_trusted(c, rows, &n, errs, warns) == 0)
		rc = trustab_replace(userdb_trust, rows, n) == 0 ? 0 : -1;
	free(rows);
	return rc;
}

/* Both or neither: a broken trusted file keeps the old subscribers too. */
static int
userdb_load_both(const struct conf *c, bool publish, struct errbuf *errs,
    struct errbuf *warns)
{
	struct usertab_user	*users = NULL;
	struct trustab_row	*rows;
	size_t			 nu = 0, nt = 0;
	int			 rc = -1;

	if ((rows = calloc(TRUSTAB_ROWS_MAX, sizeof(*rows))) == NULL)
		return -1;
	if (userdb_read_subscribers(c, &users, &nu, errs, warns) == 0 &&
	    userdb_read_trusted(c, rows, &nt, errs, warns) == 0) {
		rc = 0;
		if (publish && (userdb_publish_users(users, nu) != 0 ||
		    trustab_replace(userdb_trust, rows, nt) != 0))
			rc = -1;
	}
	free(users);
	free(rows);
	return rc;
}

int
userdb_load(const struct conf *c, struct errbuf *errs, struct errbuf *warns)
{
	if (userdb_users == NULL && userdb_create_private(c) != 0)
		return -1;
	return userdb_load_both(c, true, errs, warns);
}

int
userdb_check(const struct conf *c, struct errbuf *errs, struct errbuf *warns)
{
	bool	 saved = userdb_calculate_ha1;
	int	 rc;

	userdb_calculate_ha1 = c->c_auth_calculate_ha1;
	rc = userdb_load_both(c, false, errs, warns);
	userdb_calculate_ha1 = saved;
	return rc;
}

static void
userdb_trusted_clear(struct userdb_trusted *tl)
{
	size_t	 i;

	for (i = 0; i < tl->ut_n; i++)
		if (tl->ut_has_re[i])
			regfree(&tl->ut_res[i]);
	tl->ut_n = 0;
	tl->ut_valid = false;
}

void
userdb_free(void)
{
	userdb_trusted_clear(&userdb_tl);
	free(userdb_tl.ut_rows);
	free(userdb_tl.ut_res);
	free(userdb_tl.ut_has_re);
	memset(&userdb_tl, 0, sizeof(userdb_tl));
}

size_t
userdb_subscriber_count(void)
{
	return userdb_users ? usertab_count(userdb_users) : 0;
}

/* This process's compiled rows, current with the shm table; false: none. */
static bool
userdb_trusted_fresh(void)
{
	struct userdb_trusted	*tl = &userdb_tl;
	size_t			 i, n;
	uint64_t		 gen;

	if (userdb_trust == NULL)
		return false;
	gen = trustab_generation(userdb_trust);
	if (tl->ut_valid && gen == tl->ut_gen)
		return true;
	if (tl->ut_rows == NULL) {
		tl->ut_rows = calloc(TRUSTAB_ROWS_MAX, sizeof(*tl->ut_rows));
		tl->ut_res = calloc(TRUSTAB_ROWS_MAX, sizeof(*tl->ut_res));
		tl->ut_has_re = calloc(TRUSTAB_ROWS_MAX,
		    sizeof(*tl->ut_has_re));
		if (tl->ut_rows == NULL || tl->ut_res == NULL ||
		    tl->ut_has_re == NULL)
			return false;
	}
	userdb_trusted_clear(tl);
	if (trustab_copy(userdb_trust, tl->ut_rows, TRUSTAB_ROWS_MAX, &n,
	    &gen) != 0)
		return false;
	for (i = 0; i < n; i++) {
		tl->ut_has_re[i] = false;
		/* As permissions: POSIX basic, case-sensitive. The master
		 * compiled it before publishing; a row that fails here
		 * anyway only matches nothing. */
		if (tl->ut_rows[i].tr_has_pattern) {
			if (regcomp(&tl->ut_res[i], tl->ut_rows[i].tr_pattern,
			    REG_NOSUB) == 0)
				tl->ut_has_re[i] = true;
			else
				tl->ut_rows[i].tr_proto = STORE_PROTO_NONE;
		}
	}
	tl->ut_n = n;
	tl->ut_gen = gen;
	tl->ut_valid = true;
	return true;
}

size_t
userdb_trusted_count(void)
{
	return userdb_trusted_fresh() ? userdb_tl.ut_n : 0;
}

bool
userdb_subscriber_exists(const char *user, size_t len)
{
	struct usertab_user	 u;

	return userdb_subscriber_get(user, len, &u) == 0;
}

int
userdb_subscriber_get(const char *user, size_t len, struct usertab_user *ret)
{
	if (userdb_users == NULL || len > USERTAB_USER_MAX)
		return -ENOENT;
	return usertab_get(userdb_users, userdb_hash(user, len), user, len,
	    ret);
}

int
userdb_subscriber_at(unsigned i, struct usertab_user *ret)
{
	if (userdb_users == NULL)
		return -ENOENT;
	return usertab_at(userdb_users, i, ret);
}

int
userdb_trusted_rows(struct trustab_row *rows, size_t cap, size_t *ret_n)
{
	uint64_t	 gen;

	*ret_n = 0;
	if (userdb_trust == NULL)
		return 0;
	return trustab_copy(userdb_trust, rows, cap, ret_n, &gen);
}

int
userdb_auth_lookup(void *arg, struct sip_str user, struct sip_str realm,
    struct auth_secret *ret)
{
	struct usertab_user	 u;
	int			 rc;

	(void)arg;
	(void)realm;
	rc = userdb_subscriber_get(user.s, user.len, &u);
	if (rc == -EAGAIN)
		return rc;	/* the master died mid-edit: 500 */
	if (rc != 0)
		return AUTH_LOOKUP_NOTFOUND;
	if (userdb_calculate_ha1) {
		if (!(u.uu_flags & USERTAB_HAS_PASSWORD) ||
		    u.uu_password_len >= AUTH_PASSWORD_MAX)
			return AUTH_LOOKUP_NOTFOUND;
		memcpy(ret->as_password, u.uu_password,
		    (size_t)u.uu_password_len + 1);
		return 0;
	}
	/* auth_verify() checks the hex itself and picks ha1 or ha1b. */
	if (u.uu_flags & USERTAB_HAS_HA1)
		memcpy(ret->as_ha1, u.uu_ha1, AUTH_HA1_MAX);
	if (u.uu_flags & USERTAB_HAS_HA1B)
		memcpy(ret->as_ha1b, u.uu_ha1b, AUTH_HA1_MAX);
	return 0;
}

bool
userdb_trusted_match(const char *src_ip, enum store_proto proto,
    struct sip_str from_uri)
{
	const struct trustab_row	*r;
	char				 from[USERDB_FROM_MAX + 1];
	bool				 copied = false, fits;
	size_t				 k;

	if (!userdb_trusted_fresh())
		return false;
	fits = from_uri.len <= USERDB_FROM_MAX && (from_uri.len == 0 ||
	    memchr(from_uri.s, '\0', from_uri.len) == NULL);
	for (k = 0; k < userdb_tl.ut_n; k++) {
		r = &userdb_tl.ut_rows[k];
		if (r->tr_proto == STORE_PROTO_NONE ||
		    (r->tr_proto != STORE_PROTO_ANY && r->tr_proto != proto))
			continue;
		if (strcmp(r->tr_src_ip, src_ip) != 0)
			continue;
		if (!r->tr_has_pattern)
			return true;
		if (!fits || !userdb_tl.ut_has_re[k])
			continue;
		if (!copied) {
			/* regexec() wants a C string; the URI is a span. */
			memcpy(from, from_uri.s, from_uri.len);
			from[from_uri.len] = '\0';
			copied = true;
		}
		if (regexec(&userdb_tl.ut_res[k], from, 0, NULL, 0) == 0)
			return true;
	}
	return false;
}
