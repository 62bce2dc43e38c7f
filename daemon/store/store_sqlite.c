/*
 * store_sqlite.c: the sqlite://FILE backend of store.h for subscriber
 * and trusted (loads, `sipd -c`, the MI edits); location is in
 * store_sqlite_location.c, the schema in store_sqlite_db.c.
 *
 * Runs in `sipd -c` and in the master.  Never logs.  Messages name the
 * file, the table and the row's id ("FILE: subscriber id 7: ..."), the
 * id standing where DB_TEXT gives a line number (su_line, tr_line).
 *
 * Loads open the file with SSQ_OPEN_CREATE: a missing table is made
 * with its version row, as sipd makes a missing DB_TEXT location file.
 * `sipd -c` writes nothing: it reports a missing table as a warning.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"
#include "store_backend.h"
#include "store_sqlite.h"

static void ssq_row_error(struct ssq_db *, enum ssq_table, int64_t,
    const char *, ...) __attribute__((format(printf, 4, 5)));

static void
ssq_row_error(struct ssq_db *d, enum ssq_table t, int64_t id,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errbuf_add(d->sq_errs, d->sq_file, 0, "%s id %lld: %s",
	    ssq_table_names[t], (long long)id, msg);
}

/*
 * subscriber
 */

/* Offsets of a row's strings while the arena still moves. */
struct ssq_offs {
	int64_t	 so_id;
	size_t	 so_off[5];
	size_t	 so_len[5];
};

static int
ssq_offs_grow(struct ssq_offs **offs, size_t n, size_t *cap)
{
	struct ssq_offs	*no;

	if (n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 64;
	if ((no = reallocarray(*offs, *cap, sizeof(*no))) == NULL)
		return -ENOMEM;
	*offs = no;
	return 0;
}

static int
ssq_id_ok(struct ssq_db *d, enum ssq_table t, int64_t id)
{
	if (id > 0 && id <= (int64_t)UINT32_MAX)
		return 1;
	ssq_row_error(d, t, id, "id out of range (1 to 4294967295)");
	return 0;
}

int
ssq_subscribers_read(struct ssq_db *d, struct store_subscribers **ret_table)
{
	static const char *const cols[2] = { "username", "domain" };
	struct store_subscribers *tb;
	struct store_subscriber	*su;
	struct ssq_offs		*offs = NULL, *o;
	struct ssq_arena	 ar = { NULL, 0, 0 };
	sqlite3_stmt		*st = NULL;
	size_t			 n = 0, cap = 0, i;
	int			 r, c, bad, nbad = 0;

	if ((r = ssq_prepare(d, "SELECT id, username, domain, password, ha1, "
	    "ha1b FROM subscriber ORDER BY id", &st)) != 0)
		return r == -EIO ? STORE_E_BAD : r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = ssq_offs_grow(&offs, n, &cap)) != 0)
			goto fail;
		o = &offs[n];
		o->so_id = sqlite3_column_int64(st, 0);
		for (c = 0; c < 5; c++)
			if ((r = ssq_arena_put(&ar, st, c + 1, &o->so_off[c],
			    &o->so_len[c])) != 0)
				goto fail;
		bad = !ssq_id_ok(d, SSQ_T_SUBSCRIBER, o->so_id);
		/* NOT NULL DEFAULT '' in 5.6: '' is as missing as NULL. */
		for (c = 0; c < 2; c++)
			if (o->so_off[c] == SSQ_NULL_OFF) {
				ssq_row_error(d, SSQ_T_SUBSCRIBER, o->so_id,
				    "column '%s' is empty", cols[c]);
				bad = 1;
			}
		nbad += bad;
		if (!bad)
			n++;
	}
	if (r != SQLITE_DONE) {
		r = ssq_fail(d, "cannot read table 'subscriber'");
		goto fail;
	}
	if (nbad > 0) {
		r = STORE_E_BAD;
		goto fail;
	}
	if ((tb = calloc(1, sizeof(*tb))) == NULL ||
	    (n > 0 && (tb->ssb_rows = calloc(n, sizeof(*su))) == NULL)) {
		free(tb);
		r = -ENOMEM;
		goto fail;
	}
	tb->ssb_version = STORE_VERSION_SUBSCRIBER_56;
	for (i = 0; i < n; i++) {
		su = &tb->ssb_rows[i];
		o = &offs[i];
		su->su_username = ssq_arena_str(&ar, o->so_off[0],
		    o->so_len[0]);
		su->su_domain = ssq_arena_str(&ar, o->so_off[1], o->so_len[1]);
		su->su_password = ssq_arena_str(&ar, o->so_off[2],
		    o->so_len[2]);
		su->su_ha1 = ssq_arena_str(&ar, o->so_off[3], o->so_len[3]);
		su->su_ha1b = ssq_arena_str(&ar, o->so_off[4], o->so_len[4]);
		su->su_line = (unsigned)o->so_id;
	}
	tb->ssb_count = n;
	tb->ssb_arena = ar.ar_buf;
	ar.ar_buf = NULL;
	*ret_table = tb;
	r = 0;
 fail:
	sqlite3_finalize(st);
	free(offs);
	free(ar.ar_buf);
	return r;
}

/*
 * trusted
 */

/* permissions compiles the patterns (POSIX basic, REG_NOSUB): so do we. */
static int
ssq_regex_ok(struct ssq_db *d, int64_t id, const char *col,
    const struct store_str *s)
{
	regex_t	 re;
	char	 msg[128];
	int	 r;

	if (s->ss_ptr == NULL)
		return 1;
	if (memchr(s->ss_ptr, '\0', s->ss_len) != NULL) {
		ssq_row_error(d, SSQ_T_TRUSTED, id, "column '%s': NUL byte "
		    "in the regular expression", col);
		return 0;
	}
	if ((r = regcomp(&re, s->ss_ptr, REG_NOSUB)) != 0) {
		regerror(r, &re, msg, sizeof(msg));
		ssq_row_error(d, SSQ_T_TRUSTED, id, "column '%s': bad regular "
		    "expression: %s", col, msg);
		return 0;
	}
	regfree(&re);
	return 1;
}

/* Columns 1..4 go to the arena: src_ip proto from_pattern ruri tag. */
int
ssq_trusted_read(struct ssq_db *d, struct store_trusted_table **ret_table)
{
	struct store_trusted_table *tb;
	struct store_trusted	*tr;
	struct ssq_offs		*offs = NULL, *o;
	struct ssq_arena	 ar = { NULL, 0, 0 };
	struct store_str	 proto;
	sqlite3_stmt		*st = NULL;
	enum store_proto	*protos = NULL, *np, pr;
	int64_t			*prios = NULL, *npr;
	size_t			 n = 0, cap = 0, i;
	char			 vis[40];
	int			 r, c, bad, nbad = 0;

	if ((r = ssq_prepare(d, "SELECT id, src_ip, proto, from_pattern, "
	    "ruri_pattern, tag, priority FROM trusted ORDER BY id", &st)) !=
	    0)
		return r == -EIO ? STORE_E_BAD : r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t	 oldcap = cap;

			if ((r = ssq_offs_grow(&offs, n, &cap)) != 0)
				goto fail;
			if ((np = reallocarray(protos, cap, sizeof(*np))) ==
			    NULL) {
				cap = oldcap;
				r = -ENOMEM;
				goto fail;
			}
			protos = np;
			if ((npr = reallocarray(prios, cap, sizeof(*npr))) ==
			    NULL) {
				r = -ENOMEM;
				goto fail;
			}
			prios = npr;
		}
		o = &offs[n];
		o->so_id = sqlite3_column_int64(st, 0);
		bad = !ssq_id_ok(d, SSQ_T_TRUSTED, o->so_id);
		if (sqlite3_column_type(st, 1) == SQLITE_NULL ||
		    sqlite3_column_bytes(st, 1) == 0) {
			ssq_row_error(d, SSQ_T_TRUSTED, o->so_id, "column "
			    "'src_ip' is empty");
			bad = 1;
		}
		proto = ssq_col_str(st, 2);
		pr = STORE_PROTO_NONE;
		if (proto.ss_ptr == NULL) {
			ssq_row_error(d, SSQ_T_TRUSTED, o->so_id, "column "
			    "'proto' is empty (any, udp, tcp, tls, sctp or "
			    "none)");
			bad = 1;
		} else if (store_proto_parse(&proto, &pr) == -1) {
			snprintf(vis, sizeof(vis), "%.*s",
			    (int)(proto.ss_len > 30 ? 30 : proto.ss_len),
			    proto.ss_ptr);
			ssq_row_error(d, SSQ_T_TRUSTED, o->so_id, "column "
			    "'proto': unknown protocol '%s' (any, udp, tcp, "
			    "tls, sctp or none)", vis);
			bad = 1;
		}
		protos[n] = pr;
		prios[n] = sqlite3_column_int64(st, 6);
		/* src_ip, from_pattern, ruri_pattern, tag. */
		if ((r = ssq_arena_put(&ar, st, 1, &o->so_off[0],
		    &o->so_len[0])) != 0)
			goto fail;
		for (c = 1; c < 4; c++)
			if ((r = ssq_arena_put(&ar, st, c + 2, &o->so_off[c],
			    &o->so_len[c])) != 0)
				goto fail;
		{
			struct store_str fp = ssq_col_str(st, 3);
			struct store_str rp = ssq_col_str(st, 4);

			if (!ssq_regex_ok(d, o->so_id, "from_pattern", &fp))
				bad = 1;
			if (!ssq_regex_ok(d, o->so_id, "ruri_pattern", &rp))
				bad = 1;
		}
		nbad += bad;
		if (!bad)
			n++;
	}
	if (r != SQLITE_DONE) {
		r = ssq_fail(d, "cannot read table 'trusted'");
		goto fail;
	}
	if (nbad > 0) {
		r = STORE_E_BAD;
		goto fail;
	}
	if ((tb = calloc(1, sizeof(*tb))) == NULL ||
	    (n > 0 && (tb->stt_rows = calloc(n, sizeof(*tr))) == NULL)) {
		free(tb);
		r = -ENOMEM;
		goto fail;
	}
	tb->stt_version = STORE_VERSION_TRUSTED_56;
	for (i = 0; i < n; i++) {
		tr = &tb->stt_rows[i];
		o = &offs[i];
		tr->tr_src_ip = ssq_arena_str(&ar, o->so_off[0], o->so_len[0]);
		tr->tr_proto = protos[i];
		tr->tr_from_pattern = ssq_arena_str(&ar, o->so_off[1],
		    o->so_len[1]);
		tr->tr_ruri_pattern = ssq_arena_str(&ar, o->so_off[2],
		    o->so_len[2]);
		tr->tr_tag = ssq_arena_str(&ar, o->so_off[3], o->so_len[3]);
		tr->tr_priority = prios[i];
		tr->tr_id = o->so_id;
		tr->tr_line = (unsigned)o->so_id;
	}
	tb->stt_count = n;
	tb->stt_arena = ar.ar_buf;
	ar.ar_buf = NULL;
	*ret_table = tb;
	r = 0;
 fail:
	sqlite3_finalize(st);
	free(offs);
	free(protos);
	free(prios);
	free(ar.ar_buf);
	return r;
}

/*
 * Loaders: the version row, then the rows, in one read transaction so
 * that both come from the same state of the file.
 */

static int
ssq_begin_read(struct ssq_db *d)
{
	if (sqlite3_exec(d->sq_db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return ssq_fail(d, "cannot begin a transaction");
	return 0;
}

int
store_sqlite_load_subscribers(const char *file,
    struct store_subscribers **ret_table, struct errbuf *errs,
    struct errbuf *warns)
{
	struct ssq_db	 d;
	int		 r;

	(void)warns;
	if ((r = ssq_open(file, SSQ_OPEN_CREATE, &d, errs)) != 0)
		return r;
	if ((r = ssq_begin_read(&d)) == 0 &&
	    (r = ssq_check_version(&d, SSQ_T_SUBSCRIBER)) == 0)
		r = ssq_subscribers_read(&d, ret_table);
	ssq_close(&d);
	return r;
}

int
store_sqlite_load_trusted(const char *file,
    struct store_trusted_table **ret_table, struct errbuf *errs,
    struct errbuf *warns)
{
	struct ssq_db	 d;
	int		 r;

	(void)warns;
	if ((r = ssq_open(file, SSQ_OPEN_CREATE, &d, errs)) != 0)
		return r;
	if ((r = ssq_begin_read(&d)) == 0 &&
	    (r = ssq_check_version(&d, SSQ_T_TRUSTED)) == 0)
		r = ssq_trusted_read(&d, ret_table);
	ssq_close(&d);
	return r;
}

int
store_sqlite_load_location(const char *file, store_location_fn *fn,
    void *arg, size_t *ret_count, struct errbuf *errs, struct errbuf *warns)
{
	struct ssq_db	 d;
	int		 r;

	(void)warns;
	if ((r = ssq_open(file, SSQ_OPEN_CREATE, &d, errs)) != 0)
		return r;
	if ((r = ssq_begin_read(&d)) == 0 &&
	    (r = ssq_check_version(&d, SSQ_T_LOCATION)) == 0)
		r = ssq_location_read(&d, fn, arg, ret_count);
	ssq_close(&d);
	return r;
}

/*
 * `sipd -c`: every problem of every table, writing nothing.  A missing
 * file or table is what sipd creates at start: a warning.
 */
static int
store_sqlite_check_tables(const char *file, bool location,
    struct errbuf *errs, struct errbuf *warns)
{
	struct store_subscribers *sub = NULL;
	struct store_trusted_table *tr = NULL;
	struct ssq_db		 d;
	int			 t, r, bad = 0, has[SSQ_T_COUNT];

	if (access(file, F_OK) == -1 && errno == ENOENT) {
		errbuf_add(warns, file, 0, "does not exist: sipd creates it "
		    "(Kamailio 5.6 schema) at start");
		return 0;
	}
	if ((r = ssq_open(file, 0, &d, errs)) != 0)
		return r == -EIO ? STORE_E_BAD : r;
	if ((r = ssq_begin_read(&d)) != 0)
		goto out;
	for (t = 0; t < SSQ_T_COUNT; t++) {
		if ((r = ssq_has_table(&d, t)) < 0)
			goto out;
		has[t] = r;
		if (!has[t])
			errbuf_add(warns, file, 0, "table '%s' is missing: "
			    "sipd creates it at start", ssq_table_names[t]);
	}
	r = 0;
	for (t = SSQ_T_SUBSCRIBER; t < SSQ_T_COUNT; t++) {
		if (!has[t] || !has[SSQ_T_VERSION])
			continue;
		if (ssq_check_version(&d, t) != 0)
			bad = 1;
	}
	if (has[SSQ_T_SUBSCRIBER] && ssq_subscribers_read(&d, &sub) != 0)
		bad = 1;
	if (has[SSQ_T_TRUSTED] && ssq_trusted_read(&d, &tr) != 0)
		bad = 1;
	if (location && has[SSQ_T_LOCATION] &&
	    ssq_location_read(&d, NULL, NULL, NULL) != 0)
		bad = 1;
	store_subscribers_free(sub);
	store_trusted_free(tr);
 out:
	ssq_close(&d);
	if (r < 0)
		return r;
	return bad ? STORE_E_BAD : 0;
}

int
store_sqlite_check(const char *file, struct errbuf *errs,
    struct errbuf *warns)
{
	return store_sqlite_check_tables(file, true, errs, warns);
}

/* At start: the location rows are checked by their load, once. */
int
store_sqlite_check_nolocation(const char *file, struct errbuf *errs,
    struct errbuf *warns)
{
	return store_sqlite_check_tables(file, false, errs, warns);
}

/*
 * Edits: one transaction each, on a file whose table has the version
 * sipd knows (the check runs inside the transaction).
 */

/*
 * The connection MI edits use, kept open between them: closing the last
 * connection of a WAL database checkpoints it and deletes the WAL file,
 * which made each edit cost ~2.7 ms (10,000 subscriber.add in 27 s).
 * Only the process that opened it uses it (a forked child opens its
 * own); the schema is ensured once, at that open.
 */
static struct {
	struct ssq_db	 ec_db;
	char		*ec_file;
	pid_t		 ec_pid;
} ssq_edit_conn;

static int
ssq_edit_begin(const char *file, enum ssq_table t, struct ssq_db *d,
    struct errbuf *errs)
{
	int	 r;

	if (ssq_edit_conn.ec_db.sq_db == NULL ||
	    ssq_edit_conn.ec_pid != getpid() ||
	    strcmp(ssq_edit_conn.ec_file, file) != 0) {
		if (ssq_edit_conn.ec_pid == getpid())
			ssq_close(&ssq_edit_conn.ec_db);
		free(ssq_edit_conn.ec_file);
		memset(&ssq_edit_conn, 0, sizeof(ssq_edit_conn));
		if ((ssq_edit_conn.ec_file = strdup(file)) == NULL) {
			errbuf_add(errs, file, 0, "out of memory");
			return -ENOMEM;
		}
		if ((r = ssq_open(file, SSQ_OPEN_CREATE, &ssq_edit_conn.ec_db,
		    errs)) != 0)
			return r;
		ssq_edit_conn.ec_pid = getpid();
	}
	*d = ssq_edit_conn.ec_db;
	d->sq_file = ssq_edit_conn.ec_file;
	d->sq_errs = errs;
	if ((r = ssq_begin(d)) == 0 && (r = ssq_check_version(d, t)) == 0)
		return 0;
	ssq_rollback(d);
	return r;
}

void
store_sqlite_release(void)
{
	if (ssq_edit_conn.ec_db.sq_db != NULL &&
	    ssq_edit_conn.ec_pid == getpid())
		ssq_close(&ssq_edit_conn.ec_db);
	free(ssq_edit_conn.ec_file);
	memset(&ssq_edit_conn, 0, sizeof(ssq_edit_conn));
}

/* Commits (r == 0) or rolls back; a failed connection is dropped. */
static int
ssq_edit_end(struct ssq_db *d, int r)
{
	if (r == 0)
		r = ssq_commit(d);
	else
		ssq_rollback(d);
	if (r < 0) {
		/* The next edit starts on a new connection. */
		ssq_close(d);
		ssq_edit_conn.ec_db.sq_db = NULL;
	}
	return r;
}

int
ssq_subscriber_insert(struct ssq_db *d, sqlite3_stmt *st,
    const struct store_subscriber *row)
{
	struct store_subscriber	 su;
	char			 ha1[33], ha1b[33];
	int			 r;

	if (row->su_username.ss_ptr == NULL || row->su_domain.ss_ptr == NULL ||
	    row->su_password.ss_ptr == NULL || row->su_username.ss_len == 0 ||
	    row->su_domain.ss_len == 0) {
		errbuf_add(d->sq_errs, d->sq_file, 0, "subscriber without "
		    "username, domain or password");
		return -EINVAL;
	}
	if ((r = store_subscriber_hashes(row, &su, ha1, ha1b)) != 0)
		return r;
	sqlite3_reset(st);
	ssq_bind_str(st, 1, &su.su_username, 1);
	ssq_bind_str(st, 2, &su.su_domain, 1);
	ssq_bind_str(st, 3, &su.su_password, 1);
	ssq_bind_str(st, 4, &su.su_ha1, 1);
	ssq_bind_str(st, 5, &su.su_ha1b, 1);
	r = sqlite3_step(st);
	if (r == SQLITE_DONE)
		return 0;
	if ((r & 0xff) == SQLITE_CONSTRAINT) {
		errbuf_add(d->sq_errs, d->sq_file, 0, "subscriber '%.*s@%.*s' "
		    "is already there", (int)su.su_username.ss_len,
		    su.su_username.ss_ptr, (int)su.su_domain.ss_len,
		    su.su_domain.ss_ptr);
		return -EEXIST;
	}
	return ssq_fail(d, "cannot insert into 'subscriber'");
}

int
store_sqlite_subscriber_add(const char *file,
    const struct store_subscriber *row, struct errbuf *errs)
{
	struct ssq_db	 d;
	sqlite3_stmt	*st = NULL;
	int		 r;

	if ((r = ssq_edit_begin(file, SSQ_T_SUBSCRIBER, &d, errs)) != 0)
		return r;
	if ((r = ssq_prepare(&d, SSQ_SUBSCRIBER_INSERT, &st)) == 0)
		r = ssq_subscriber_insert(&d, st, row);
	sqlite3_finalize(st);
	return ssq_edit_end(&d, r);
}

int
store_sqlite_subscriber_passwd(const char *file,
    const struct store_str *username, const struct store_str *password,
    struct errbuf *errs)
{
	struct store_subscriber	 row, su;
	struct ssq_db		 d;
	sqlite3_stmt		*sel = NULL, *upd = NULL;
	char			 ha1[33], ha1b[33];
	int			 r, n = 0;

	if ((r = ssq_edit_begin(file, SSQ_T_SUBSCRIBER, &d, errs)) != 0)
		return r;
	if ((r = ssq_prepare(&d, "SELECT id, domain FROM subscriber WHERE "
	    "username = ?", &sel)) != 0 ||
	    (r = ssq_prepare(&d, "UPDATE subscriber SET password = ?, "
	    "ha1 = ?, ha1b = ? WHERE id = ?", &upd)) != 0)
		goto out;
	ssq_bind_str(sel, 1, username, 1);
	/* ha1 hashes the domain: each row gets its own. */
	while ((r = sqlite3_step(sel)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		row.su_username = *username;
		row.su_domain = ssq_col_str(sel, 1);
		row.su_password = *password;
		if (row.su_domain.ss_ptr == NULL) {
			row.su_domain.ss_ptr = "";
			row.su_domain.ss_len = 0;
		}
		if ((r = store_subscriber_hashes(&row, &su, ha1, ha1b)) != 0)
			goto out;
		sqlite3_reset(upd);
		ssq_bind_str(upd, 1, password, 1);
		ssq_bind_str(upd, 2, &su.su_ha1, 1);
		ssq_bind_str(upd, 3, &su.su_ha1b, 1);
		sqlite3_bind_int64(upd, 4, sqlite3_column_int64(sel, 0));
		if (sqlite3_step(upd) != SQLITE_DONE) {
			r = ssq_fail(&d, "cannot update 'subscriber'");
			goto out;
		}
		n++;
	}
	if (r != SQLITE_DONE)
		r = ssq_fail(&d, "cannot read table 'subscriber'");
	else
		r = n == 0 ? STORE_E_NOTFOUND : 0;
 out:
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return ssq_edit_end(&d, r);
}

/* Runs a DELETE with its parameters bound; STORE_E_NOTFOUND if none. */
static int
ssq_delete(struct ssq_db *d, sqlite3_stmt *st, const char *table)
{
	char	 what[64];

	if (sqlite3_step(st) != SQLITE_DONE) {
		snprintf(what, sizeof(what), "cannot delete from '%s'", table);
		return ssq_fail(d, what);
	}
	return sqlite3_changes(d->sq_db) == 0 ? STORE_E_NOTFOUND : 0;
}

int
store_sqlite_subscriber_rm(const char *file,
    const struct store_str *username, const struct store_str *domain,
    struct errbuf *errs)
{
	struct ssq_db	 d;
	sqlite3_stmt	*st = NULL;
	int		 r;

	if ((r = ssq_edit_begin(file, SSQ_T_SUBSCRIBER, &d, errs)) != 0)
		return r;
	if ((r = ssq_prepare(&d, domain != NULL && domain->ss_ptr != NULL ?
	    "DELETE FROM subscriber WHERE username = ? AND domain = ?" :
	    "DELETE FROM subscriber WHERE username = ?", &st)) == 0) {
		ssq_bind_str(st, 1, username, 1);
		if (domain != NULL && domain->ss_ptr != NULL)
			ssq_bind_str(st, 2, domain, 1);
		r = ssq_delete(&d, st, "subscriber");
	}
	sqlite3_finalize(st);
	return ssq_edit_end(&d, r);
}

int
store_sqlite_trusted_add(const char *file, const struct store_trusted *row,
    int64_t *ret_id, struct errbuf *errs)
{
	struct ssq_db	 d;
	sqlite3_stmt	*st = NULL;
	int64_t		 id = 0;
	int		 r;

	if (row->tr_src_ip.ss_ptr == NULL || row->tr_src_ip.ss_len == 0) {
		errbuf_add(errs, file, 0, "trusted row without src_ip");
		return -EINVAL;
	}
	if ((r = ssq_edit_begin(file, SSQ_T_TRUSTED, &d, errs)) != 0)
		return r;
	if ((r = ssq_prepare(&d, "INSERT INTO trusted (src_ip, proto, "
	    "from_pattern, ruri_pattern, tag, priority) VALUES "
	    "(?, ?, ?, ?, ?, ?)", &st)) == 0) {
		ssq_bind_str(st, 1, &row->tr_src_ip, 1);
		sqlite3_bind_text(st, 2, store_proto_name(row->tr_proto), -1,
		    SQLITE_STATIC);
		ssq_bind_str(st, 3, &row->tr_from_pattern, 0);
		ssq_bind_str(st, 4, &row->tr_ruri_pattern, 0);
		ssq_bind_str(st, 5, &row->tr_tag, 0);
		sqlite3_bind_int64(st, 6, row->tr_priority);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = ssq_fail(&d, "cannot insert into 'trusted'");
		else
			id = sqlite3_last_insert_rowid(d.sq_db);
	}
	sqlite3_finalize(st);
	if ((r = ssq_edit_end(&d, r)) == 0)
		*ret_id = id;
	return r;
}

int
store_sqlite_trusted_rm(const char *file, int64_t id, struct errbuf *errs)
{
	struct ssq_db	 d;
	sqlite3_stmt	*st = NULL;
	int		 r;

	if ((r = ssq_edit_begin(file, SSQ_T_TRUSTED, &d, errs)) != 0)
		return r;
	if ((r = ssq_prepare(&d, "DELETE FROM trusted WHERE id = ?", &st)) ==
	    0) {
		sqlite3_bind_int64(st, 1, id);
		r = ssq_delete(&d, st, "trusted");
	}
	sqlite3_finalize(st);
	return ssq_edit_end(&d, r);
}

const char *
store_sqlite_version(void)
{
	char	 err[256];

	/* sipd -V: whether a sqlite:// database could be opened at all */
	if (sqlite_dl_load(err, sizeof(err)) == -1)
		return "(" SQLITE_DL_SONAME " not found)";
	return sqlite3_libversion();
}
