/*
 * store_sqlite.h: what the store_sqlite*.c files share (only they and
 * the converter include it).  The database has Kamailio 5.6's own
 * SQLite schema for version, subscriber, trusted and location, so that
 * the same file works for Kamailio 5.6.
 *
 * Every operation opens its own connection and closes it before it
 * returns: only the master and `sipd -c` touch the file, a few times
 * per minute, and no connection ever crosses a fork().
 */
#ifndef SIPD_STORE_SQLITE_H
#define SIPD_STORE_SQLITE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sqlite_dl.h"

#include "store.h"

struct errbuf;

enum ssq_table {
	SSQ_T_VERSION,
	SSQ_T_SUBSCRIBER,
	SSQ_T_TRUSTED,
	SSQ_T_LOCATION,
	SSQ_T_COUNT
};

extern const char *const ssq_table_names[SSQ_T_COUNT];
/* The 5.6 versions (the `version` table's own row is 1). */
extern const int ssq_table_versions[SSQ_T_COUNT];

/* An open database and the name messages give it. */
struct ssq_db {
	sqlite3		*sq_db;
	const char	*sq_file;
	struct errbuf	*sq_errs;
};

/*
 * SSQ_OPEN_CREATE: create the file (mode 0600) and any missing table
 * with its version row, switch to WAL.  Without it the file must exist
 * and nothing is written (sipd -c).  0, or -errno with a message.
 */
#define SSQ_OPEN_CREATE		0x1
/* With SSQ_OPEN_CREATE: the file and WAL, but no table (the importer). */
#define SSQ_OPEN_NOSCHEMA	0x2
int	ssq_open(const char *file, int flags, struct ssq_db *ret,
	    struct errbuf *errs);
void	ssq_close(struct ssq_db *d);

/* Reports "FILE: what: sqlite's message"; returns -EIO. */
int	ssq_fail(struct ssq_db *d, const char *what);
int	ssq_exec(struct ssq_db *d, const char *sql);
int	ssq_prepare(struct ssq_db *d, const char *sql, sqlite3_stmt **ret);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (the last one never fails). */
int	ssq_begin(struct ssq_db *d);
int	ssq_commit(struct ssq_db *d);
void	ssq_rollback(struct ssq_db *d);

/* 1 if the table exists, 0 if not, -EIO. */
int	ssq_has_table(struct ssq_db *d, enum ssq_table t);
/* CREATE TABLE + indexes (+ its version row); in a transaction. */
int	ssq_create_table(struct ssq_db *d, enum ssq_table t);
/* location's secondary indexes (not the UNIQUE ruid one). */
extern const char ssq_location_indexes[];
extern const char ssq_location_drop_indexes[];
/* Creates what is missing, in one transaction. */
int	ssq_ensure_schema(struct ssq_db *d);
/*
 * The table's row in `version` must say the 5.6 version: 0, or
 * STORE_E_BAD with "FILE: table 'T': version N, expected M".
 */
int	ssq_check_version(struct ssq_db *d, enum ssq_table t);

/*
 * Time columns hold what Kamailio's db_sqlite binds for a DATETIME: a
 * Julian day number (REAL).  A TEXT value ("YYYY-MM-DD HH:MM:SS", the
 * schema's default) is read too, as UTC.
 */
double	ssq_time_to_jd(time_t t);
/* 0, or -1 when jd is outside the range SQLite's date functions take. */
int	ssq_jd_to_time(double jd, time_t *ret);

/* One growing block of strings; offsets until the rows are complete. */
struct ssq_arena {
	char	*ar_buf;
	size_t	 ar_len;
	size_t	 ar_cap;
};

#define SSQ_NULL_OFF		SIZE_MAX
/*
 * Copies column col as a NUL-terminated string: *ret_off is its offset,
 * or SSQ_NULL_OFF for NULL or '' (DB_TEXT reads both as NULL, and the
 * typed rows mean the same on both backends).  0 or -ENOMEM.
 */
int	ssq_arena_put(struct ssq_arena *a, sqlite3_stmt *st, int col,
	    size_t *ret_off, size_t *ret_len);
/* Turns an offset back into a string of the finished arena. */
struct store_str ssq_arena_str(const struct ssq_arena *a, size_t off,
	    size_t len);

/* The column as a string of the current row (valid until the step). */
struct store_str ssq_col_str(sqlite3_stmt *st, int col);
/* NULL binds as NULL, or as '' for a NOT NULL column (notnull). */
void	ssq_bind_str(sqlite3_stmt *st, int col, const struct store_str *s,
	    int notnull);

/*
 * Subscriber/location writers shared by the edits, write_location and
 * the converter (store_sqlite_import.c); inside the caller's
 * transaction.
 */
int	ssq_subscriber_insert(struct ssq_db *d, sqlite3_stmt *st,
	    const struct store_subscriber *row);
#define SSQ_SUBSCRIBER_INSERT \
	"INSERT INTO subscriber (username, domain, password, ha1, ha1b) " \
	"VALUES (?, ?, ?, ?, ?)"
int	ssq_location_replace(struct ssq_db *d, store_location_next_fn *next,
	    void *arg);

/* Row readers on an open database (loaders and check share them). */
int	ssq_subscribers_read(struct ssq_db *d,
	    struct store_subscribers **ret_table);
int	ssq_trusted_read(struct ssq_db *d,
	    struct store_trusted_table **ret_table);
int	ssq_location_read(struct ssq_db *d, store_location_fn *fn, void *arg,
	    size_t *ret_count);

#endif
