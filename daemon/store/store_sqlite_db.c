/*
 * store_sqlite_db.c: opening a sipd SQLite database, its schema (the
 * one Kamailio 5.6's `kamdbctl create` makes for version, subscriber,
 * trusted and location), the version rows, and small helpers the other
 * store_sqlite*.c files share.
 *
 * Runs in `sipd -c`, in the master (loads, flushes, MI edits) and in
 * sipd-db.  Nothing here logs.
 *
 * Journal: WAL, so that an operator's `sqlite3` shell reads while sipd
 * writes, with busy_timeout so that either side waits for the other's
 * short write lock instead of failing.  synchronous=NORMAL is enough
 * under WAL: a crashed process loses no committed transaction (only a
 * power loss may lose the last ones, never consistency).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "store_sqlite.h"

#define SSQ_BUSY_TIMEOUT_MS	5000

const char *const ssq_table_names[SSQ_T_COUNT] = {
	[SSQ_T_VERSION] = "version",
	[SSQ_T_SUBSCRIBER] = "subscriber",
	[SSQ_T_TRUSTED] = "trusted",
	[SSQ_T_LOCATION] = "location",
};

const int ssq_table_versions[SSQ_T_COUNT] = {
	[SSQ_T_VERSION] = 1,
	[SSQ_T_SUBSCRIBER] = STORE_VERSION_SUBSCRIBER_56,
	[SSQ_T_TRUSTED] = STORE_VERSION_TRUSTED_56,
	[SSQ_T_LOCATION] = STORE_VERSION_LOCATION_56,
};

#define SSQ_LOCATION_INDEXES \
	"CREATE INDEX location_account_contact_idx ON location " \
	"(username, domain, contact);\n" \
	"CREATE INDEX location_expires_idx ON location (expires);\n" \
	"CREATE INDEX location_tcpcon_idx ON location (connection_id);\n" \
	"CREATE INDEX location_connection_idx ON location " \
	"(server_id, connection_id);\n"

/*
 * Kamailio 5.6's SQLite schema (the *-create.sql files of
 * utils/kamctl/db_sqlite/), column for column, with its defaults and
 * indexes: a file sipd made is one Kamailio 5.6 accepts, and the other
 * way round.
 */
static const char *const ssq_schema[SSQ_T_COUNT] = {
	[SSQ_T_VERSION] =
	    "CREATE TABLE version (\n"
	    "    id INTEGER PRIMARY KEY NOT NULL,\n"
	    "    table_name VARCHAR(32) NOT NULL,\n"
	    "    table_version INTEGER DEFAULT 0 NOT NULL,\n"
	    "    CONSTRAINT version_table_name_idx UNIQUE (table_name)\n"
	    ");\n",
	[SSQ_T_SUBSCRIBER] =
	    "CREATE TABLE subscriber (\n"
	    "    id INTEGER PRIMARY KEY NOT NULL,\n"
	    "    username VARCHAR(64) DEFAULT '' NOT NULL,\n"
	    "    domain VARCHAR(64) DEFAULT '' NOT NULL,\n"
	    "    password VARCHAR(64) DEFAULT '' NOT NULL,\n"
	    "    ha1 VARCHAR(128) DEFAULT '' NOT NULL,\n"
	    "    ha1b VARCHAR(128) DEFAULT '' NOT NULL,\n"
	    "    CONSTRAINT subscriber_account_idx UNIQUE (username, domain)\n"
	    ");\n"
	    "CREATE INDEX subscriber_username_idx ON subscriber (username);\n",
	[SSQ_T_TRUSTED] =
	    "CREATE TABLE trusted (\n"
	    "    id INTEGER PRIMARY KEY NOT NULL,\n"
	    "    src_ip VARCHAR(50) NOT NULL,\n"
	    "    proto VARCHAR(4) NOT NULL,\n"
	    "    from_pattern VARCHAR(64) DEFAULT NULL,\n"
	    "    ruri_pattern VARCHAR(64) DEFAULT NULL,\n"
	    "    tag VARCHAR(64),\n"
	    "    priority INTEGER DEFAULT 0 NOT NULL\n"
	    ");\n"
	    "CREATE INDEX trusted_peer_idx ON trusted (src_ip);\n",
	[SSQ_T_LOCATION] =
	    "CREATE TABLE location (\n"
	    "    id INTEGER PRIMARY KEY NOT NULL,\n"
	    "    ruid VARCHAR(64) DEFAULT '' NOT NULL,\n"
	    "    username VARCHAR(64) DEFAULT '' NOT NULL,\n"
	    "    domain VARCHAR(64) DEFAULT NULL,\n"
	    "    contact VARCHAR(512) DEFAULT '' NOT NULL,\n"
	    "    received VARCHAR(128) DEFAULT NULL,\n"
	    "    path VARCHAR(512) DEFAULT NULL,\n"
	    "    expires TIMESTAMP WITHOUT TIME ZONE "
	    "DEFAULT '2030-05-28 21:32:15' NOT NULL,\n"
	    "    q REAL DEFAULT 1.0 NOT NULL,\n"
	    "    callid VARCHAR(255) DEFAULT 'Default-Call-ID' NOT NULL,\n"
	    "    cseq INTEGER DEFAULT 1 NOT NULL,\n"
	    "    last_modified TIMESTAMP WITHOUT TIME ZONE "
	    "DEFAULT '2000-01-01 00:00:01' NOT NULL,\n"
	    "    flags INTEGER DEFAULT 0 NOT NULL,\n"
	    "    cflags INTEGER DEFAULT 0 NOT NULL,\n"
	    "    user_agent VARCHAR(255) DEFAULT '' NOT NULL,\n"
	    "    socket VARCHAR(64) DEFAULT NULL,\n"
	    "    methods INTEGER DEFAULT NULL,\n"
	    "    instance VARCHAR(255) DEFAULT NULL,\n"
	    "    reg_id INTEGER DEFAULT 0 NOT NULL,\n"
	    "    server_id INTEGER DEFAULT 0 NOT NULL,\n"
	    "    connection_id INTEGER DEFAULT 0 NOT NULL,\n"
	    "    keepalive INTEGER DEFAULT 0 NOT NULL,\n"
	    "    partition INTEGER DEFAULT 0 NOT NULL,\n"
	    "    CONSTRAINT location_ruid_idx UNIQUE (ruid)\n"
	    ");\n" SSQ_LOCATION_INDEXES,
};

const char ssq_location_indexes[] = SSQ_LOCATION_INDEXES;
const char ssq_location_drop_indexes[] =
	"DROP INDEX IF EXISTS location_account_contact_idx;\n"
	"DROP INDEX IF EXISTS location_expires_idx;\n"
	"DROP INDEX IF EXISTS location_tcpcon_idx;\n"
	"DROP INDEX IF EXISTS location_connection_idx;\n";

int
ssq_fail(struct ssq_db *d, const char *what)
{
	errbuf_add(d->sq_errs, d->sq_file, 0, "%s: %s", what,
	    d->sq_db != NULL ? sqlite3_errmsg(d->sq_db) : "out of memory");
	return -EIO;
}

int
ssq_exec(struct ssq_db *d, const char *sql)
{
	if (sqlite3_exec(d->sq_db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ssq_fail(d, "cannot run SQL");
	return 0;
}

int
ssq_prepare(struct ssq_db *d, const char *sql, sqlite3_stmt **ret)
{
	if (sqlite3_prepare_v2(d->sq_db, sql, -1, ret, NULL) != SQLITE_OK) {
		*ret = NULL;
		return ssq_fail(d, "cannot prepare a statement");
	}
	return 0;
}

int
ssq_begin(struct ssq_db *d)
{
	/* IMMEDIATE: take the write lock now, waiting busy_timeout. */
	if (sqlite3_exec(d->sq_db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		return ssq_fail(d, "cannot begin a transaction");
	return 0;
}

int
ssq_commit(struct ssq_db *d)
{
	if (sqlite3_exec(d->sq_db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		ssq_fail(d, "cannot commit");
		ssq_rollback(d);
		return -EIO;
	}
	return 0;
}

void
ssq_rollback(struct ssq_db *d)
{
	if (!sqlite3_get_autocommit(d->sq_db))
		(void)sqlite3_exec(d->sq_db, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * A new file is made here with mode 0600 (subscriber holds passwords);
 * SQLite gives its -wal and -shm files the database file's mode.
 */
static int
ssq_precreate(const char *file, struct errbuf *errs)
{
	int	 fd;

	if ((fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		if (errno == EEXIST)
			return 0;
		errbuf_add(errs, file, 0, "cannot create: %s",
		    strerror(errno));
		return -errno;
	}
	close(fd);
	return 0;
}

int
ssq_open(const char *file, int flags, struct ssq_db *ret, struct errbuf *errs)
{
	struct ssq_db	 d = { NULL, file, errs };
	char		 dlerr[256];
	int		 oflags;
	int		 r;

	if (sqlite_dl_load(dlerr, sizeof(dlerr)) == -1) {
		errbuf_add(errs, file, 0, "%s", dlerr);
		return -ENOSYS;
	}
	oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	if (flags & SSQ_OPEN_CREATE) {
		if ((r = ssq_precreate(file, errs)) != 0)
			return r;
	} else if (access(file, F_OK) == -1) {
		r = -errno;
		errbuf_add(errs, file, 0, "cannot open: %s", strerror(errno));
		return r;
	}
	if (sqlite3_open_v2(file, &d.sq_db, oflags, NULL) != SQLITE_OK) {
		r = ssq_fail(&d, "cannot open");
		sqlite3_close(d.sq_db);
		return r;
	}
	sqlite3_extended_result_codes(d.sq_db, 1);
	sqlite3_busy_timeout(d.sq_db, SSQ_BUSY_TIMEOUT_MS);
	/*
	 * A file that is no database shows here, at the first read of its
	 * header, rather than as "no such table" further on.
	 */
	if ((r = ssq_exec(&d, "PRAGMA synchronous = NORMAL;"
	    "SELECT count(*) FROM sqlite_master")) != 0)
		goto fail;
	if (flags & SSQ_OPEN_CREATE) {
		/* Persistent in the file; a no-op once it is WAL. */
		if ((r = ssq_exec(&d, "PRAGMA journal_mode = WAL")) != 0 ||
		    (!(flags & SSQ_OPEN_NOSCHEMA) &&
		    (r = ssq_ensure_schema(&d)) != 0))
			goto fail;
	}
	*ret = d;
	return 0;
 fail:
	sqlite3_close(d.sq_db);
	return r;
}

void
ssq_close(struct ssq_db *d)
{
	if (d->sq_db != NULL) {
		ssq_rollback(d);
		sqlite3_close(d->sq_db);
		d->sq_db = NULL;
	}
}

int
ssq_has_table(struct ssq_db *d, enum ssq_table t)
{
	sqlite3_stmt	*st;
	int		 r;

	if ((r = ssq_prepare(d, "SELECT 1 FROM sqlite_master WHERE "
	    "type = 'table' AND name = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, ssq_table_names[t], -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		r = 1;
	else if (r == SQLITE_DONE)
		r = 0;
	else
		r = ssq_fail(d, "cannot read the schema");
	sqlite3_finalize(st);
	return r;
}

int
ssq_create_table(struct ssq_db *d, enum ssq_table t)
{
	sqlite3_stmt	*st;
	int		 r;

	if ((r = ssq_exec(d, ssq_schema[t])) != 0)
		return r;
	/* Kept if there (a dropped table re-made: its row still counts). */
	if ((r = ssq_prepare(d, "INSERT OR IGNORE INTO version "
	    "(table_name, table_version) VALUES (?, ?)", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, ssq_table_names[t], -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ssq_table_versions[t]);
	if (sqlite3_step(st) != SQLITE_DONE)
		r = ssq_fail(d, "cannot insert a version row");
	sqlite3_finalize(st);
	return r;
}

int
ssq_ensure_schema(struct ssq_db *d)
{
	int	 missing[SSQ_T_COUNT], any = 0, t, r;

	for (t = 0; t < SSQ_T_COUNT; t++) {
		if ((r = ssq_has_table(d, t)) < 0)
			return r;
		missing[t] = !r;
		any |= !r;
	}
	if (!any)
		return 0;
	if ((r = ssq_begin(d)) != 0)
		return r;
	/* Version first: the others put their rows in it. */
	for (t = 0; t < SSQ_T_COUNT; t++) {
		/* Another process may have made it meanwhile. */
		if (missing[t] && (r = ssq_has_table(d, t)) == 0)
			r = ssq_create_table(d, t);
		if (r < 0) {
			ssq_rollback(d);
			return r;
		}
	}
	return ssq_commit(d);
}

int
ssq_check_version(struct ssq_db *d, enum ssq_table t)
{
	sqlite3_stmt	*st;
	int64_t		 v;
	int		 r;

	if ((r = ssq_prepare(d, "SELECT table_version FROM version WHERE "
	    "table_name = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, ssq_table_names[t], -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
		    v == ssq_table_versions[t])
			r = 0;
		else {
			errbuf_add(d->sq_errs, d->sq_file, 0, "table '%s': "
			    "version %s, expected %d", ssq_table_names[t],
			    sqlite3_column_type(st, 0) == SQLITE_NULL ?
			    "NULL" : (const char *)sqlite3_column_text(st, 0),
			    ssq_table_versions[t]);
			r = STORE_E_BAD;
		}
	} else if (r == SQLITE_DONE) {
		errbuf_add(d->sq_errs, d->sq_file, 0, "table 'version': no "
		    "row for table '%s' (expected version %d)",
		    ssq_table_names[t], ssq_table_versions[t]);
		r = STORE_E_BAD;
	} else
		r = ssq_fail(d, "cannot read table 'version'");
	sqlite3_finalize(st);
	return r;
}

/*
 * Julian day 2440587.5 is the Epoch.  Kamailio reads a time back as
 * (time_t)(86400 * (jd - 2440587.5) + 0.5); writing t at the second
 * itself keeps a half second of margin against rounding on both sides.
 */
#define SSQ_JD_EPOCH		2440587.5
#define SSQ_JD_MIN		1721059.5	/* 0000-01-01 */
#define SSQ_JD_MAX		5373484.5	/* 9999-12-31 */

double
ssq_time_to_jd(time_t t)
{
	return (double)t / 86400.0 + SSQ_JD_EPOCH;
}

int
ssq_jd_to_time(double jd, time_t *ret)
{
	double	 x;
	time_t	 t;

	if (!(jd >= SSQ_JD_MIN && jd <= SSQ_JD_MAX))
		return -1;
	x = 86400.0 * (jd - SSQ_JD_EPOCH) + 0.5;
	t = (time_t)x;		/* toward zero: make it floor() */
	if ((double)t > x)
		t--;
	*ret = t;
	return 0;
}

int
ssq_arena_put(struct ssq_arena *a, sqlite3_stmt *st, int col,
    size_t *ret_off, size_t *ret_len)
{
	const unsigned char	*p;
	size_t			 len, ncap;
	char			*nb;

	p = sqlite3_column_text(st, col);
	len = (size_t)sqlite3_column_bytes(st, col);
	if (p == NULL || len == 0) {
		*ret_off = SSQ_NULL_OFF;
		*ret_len = 0;
		return 0;
	}
	if (a->ar_cap - a->ar_len < len + 1) {
		ncap = a->ar_cap ? a->ar_cap : 4096;
		while (ncap - a->ar_len < len + 1)
			ncap *= 2;
		if ((nb = realloc(a->ar_buf, ncap)) == NULL)
			return -ENOMEM;
		a->ar_buf = nb;
		a->ar_cap = ncap;
	}
	memcpy(a->ar_buf + a->ar_len, p, len);
	a->ar_buf[a->ar_len + len] = '\0';
	*ret_off = a->ar_len;
	*ret_len = len;
	a->ar_len += len + 1;
	return 0;
}

struct store_str
ssq_arena_str(const struct ssq_arena *a, size_t off, size_t len)
{
	struct store_str	 s = { NULL, 0 };

	if (off != SSQ_NULL_OFF) {
		s.ss_ptr = a->ar_buf + off;
		s.ss_len = len;
	}
	return s;
}

struct store_str
ssq_col_str(sqlite3_stmt *st, int col)
{
	struct store_str	 s = { NULL, 0 };
	const unsigned char	*p;

	p = sqlite3_column_text(st, col);
	if (p != NULL && sqlite3_column_bytes(st, col) > 0) {
		s.ss_ptr = (const char *)p;
		s.ss_len = (size_t)sqlite3_column_bytes(st, col);
	}
	return s;
}

void
ssq_bind_str(sqlite3_stmt *st, int col, const struct store_str *s,
    int notnull)
{
	if (s->ss_ptr == NULL && notnull)
		sqlite3_bind_text(st, col, "", 0, SQLITE_STATIC);
	else if (s->ss_ptr == NULL)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_text(st, col, s->ss_ptr, (int)s->ss_len,
		    SQLITE_STATIC);
}
