/*
 * store_sqlite_location.c: the `location` table in SQLite (Kamailio
 * 5.6's usrloc columns): loaded at start, replaced whole on each flush.
 *
 * Runs in `sipd -c` and in the master.  Never logs.
 *
 * A flush is one transaction: DELETE every row, then one prepared
 * INSERT per binding; or, when few AoRs changed, DELETE and INSERT the
 * rows of those AoRs only (their ids say which rows are theirs).  A reader (the operator's sqlite3 shell, under
 * WAL) sees the old rows or the new ones, never a mix; a failure rolls
 * back and leaves the old rows.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"
#include "store_backend.h"
#include "store_sqlite.h"

enum {
	LQ_ID, LQ_RUID, LQ_USERNAME, LQ_DOMAIN, LQ_CONTACT, LQ_RECEIVED,
	LQ_PATH, LQ_EXPIRES, LQ_Q, LQ_CALLID, LQ_CSEQ, LQ_LAST_MODIFIED,
	LQ_FLAGS, LQ_CFLAGS, LQ_USER_AGENT, LQ_SOCKET, LQ_METHODS,
	LQ_INSTANCE, LQ_REG_ID
};

/* Times stored as TEXT (the schema's defaults) go through julianday(). */
#define SSQ_JD(col) \
	"CASE typeof(" col ") WHEN 'text' THEN julianday(" col ") ELSE " \
	col " END"

static const char ssq_location_select[] =
	"SELECT id, ruid, username, domain, contact, received, path, "
	SSQ_JD("expires") ", q, callid, cseq, " SSQ_JD("last_modified")
	", flags, cflags, user_agent, socket, methods, instance, reg_id "
	"FROM location ORDER BY id";

static void
ssq_loc_error(struct ssq_db *d, int64_t id, const char *col, const char *why)
{
	errbuf_add(d->sq_errs, d->sq_file, 0, "location id %lld: column "
	    "'%s' %s", (long long)id, col, why);
}

static int
ssq_loc_time(struct ssq_db *d, sqlite3_stmt *st, int64_t id, int col,
    const char *name, time_t *ret)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		ssq_loc_error(d, id, name, "is NULL or not a date");
		return -1;
	}
	if (ssq_jd_to_time(sqlite3_column_double(st, col), ret) == -1) {
		ssq_loc_error(d, id, name, "is out of range (a Julian day "
		    "number is expected)");
		return -1;
	}
	return 0;
}

/* A 32-bit column: signed (as Kamailio binds it) or unsigned. */
static int
ssq_loc_u32(struct ssq_db *d, sqlite3_stmt *st, int64_t id, int col,
    const char *name, int64_t min, uint32_t dflt, uint32_t *ret)
{
	int64_t	 x;

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		*ret = dflt;
		return 0;
	}
	x = sqlite3_column_int64(st, col);
	if (sqlite3_column_type(st, col) != SQLITE_INTEGER || x < min ||
	    x > (int64_t)UINT32_MAX) {
		ssq_loc_error(d, id, name, "is not a 32-bit integer");
		return -1;
	}
	*ret = (uint32_t)x;
	return 0;
}

int
ssq_location_read(struct ssq_db *d, store_location_fn *fn, void *arg,
    size_t *ret_count)
{
	struct store_location	 sl;
	sqlite3_stmt		*st = NULL;
	size_t			 count = 0;
	int64_t			 id;
	int			 r, bad, nbad = 0;

	if ((r = ssq_prepare(d, ssq_location_select, &st)) != 0)
		return r == -EIO ? STORE_E_BAD : r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&sl, 0, sizeof(sl));
		id = sqlite3_column_int64(st, LQ_ID);
		bad = 0;
		sl.sl_ruid = ssq_col_str(st, LQ_RUID);
		sl.sl_username = ssq_col_str(st, LQ_USERNAME);
		sl.sl_domain = ssq_col_str(st, LQ_DOMAIN);
		sl.sl_contact = ssq_col_str(st, LQ_CONTACT);
		sl.sl_received = ssq_col_str(st, LQ_RECEIVED);
		sl.sl_path = ssq_col_str(st, LQ_PATH);
		sl.sl_callid = ssq_col_str(st, LQ_CALLID);
		sl.sl_user_agent = ssq_col_str(st, LQ_USER_AGENT);
		sl.sl_socket = ssq_col_str(st, LQ_SOCKET);
		sl.sl_instance = ssq_col_str(st, LQ_INSTANCE);
		sl.sl_reg_id = sqlite3_column_int64(st, LQ_REG_ID);
		sl.sl_q = sqlite3_column_type(st, LQ_Q) == SQLITE_NULL ?
		    STORE_Q_UNSET : sqlite3_column_double(st, LQ_Q);
		if (id <= 0 || id > (int64_t)UINT32_MAX) {
			ssq_loc_error(d, id, "id", "is out of range");
			bad = 1;
		}
		sl.sl_line = (unsigned)id;
		if (sl.sl_username.ss_ptr == NULL) {
			ssq_loc_error(d, id, "username", "is empty");
			bad = 1;
		}
		if (sl.sl_contact.ss_ptr == NULL) {
			ssq_loc_error(d, id, "contact", "is empty");
			bad = 1;
		}
		if (ssq_loc_time(d, st, id, LQ_EXPIRES, "expires",
		    &sl.sl_expires) == -1 ||
		    ssq_loc_time(d, st, id, LQ_LAST_MODIFIED,
		    "last_modified", &sl.sl_last_modified) == -1)
			bad = 1;
		if (ssq_loc_u32(d, st, id, LQ_CSEQ, "cseq", 0, 0,
		    &sl.sl_cseq) == -1 ||
		    ssq_loc_u32(d, st, id, LQ_FLAGS, "flags", INT32_MIN, 0,
		    &sl.sl_flags) == -1 ||
		    ssq_loc_u32(d, st, id, LQ_CFLAGS, "cflags", INT32_MIN, 0,
		    &sl.sl_cflags) == -1 ||
		    ssq_loc_u32(d, st, id, LQ_METHODS, "methods", INT32_MIN,
		    STORE_METHODS_ALL, &sl.sl_methods) == -1)
			bad = 1;
		if (bad) {
			nbad++;
			continue;
		}
		if (fn != NULL && (r = fn(arg, &sl)) < 0) {
			sqlite3_finalize(st);
			return r;
		}
		count++;
	}
	if (r != SQLITE_DONE)
		r = ssq_fail(d, "cannot read table 'location'");
	else
		r = nbad > 0 ? STORE_E_BAD : 0;
	sqlite3_finalize(st);
	if (r == 0 && ret_count != NULL)
		*ret_count = count;
	return r;
}

static const char ssq_location_insert[] =
	"INSERT INTO location (ruid, username, domain, contact, received, "
	"path, expires, q, callid, cseq, last_modified, flags, cflags, "
	"user_agent, socket, methods, instance, reg_id) VALUES "
	"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* Binds row to the prepared INSERT and runs it; ruid given or made. */
static int
ssq_location_insert_row(struct ssq_db *d, sqlite3_stmt *st,
    const struct store_location *row, uint64_t n)
{
	const struct store_location *sl = row;
	struct store_str	 ruid;
	char			 rbuf[32];

	/*
	 * ruid is NOT NULL UNIQUE: a row sipd did not name (from a
	 * conversion) gets one, fixed-width so that they sort in insert
	 * order and each lands at the end of the unique index.
	 */
	ruid = sl->sl_ruid;
	if (ruid.ss_ptr == NULL || ruid.ss_len == 0) {
		ruid.ss_len = (size_t)snprintf(rbuf, sizeof(rbuf),
		    "sipd-%010llu", (unsigned long long)n);
		ruid.ss_ptr = rbuf;
	}
	sqlite3_reset(st);
	ssq_bind_str(st, 1, &ruid, 1);
	ssq_bind_str(st, 2, &sl->sl_username, 1);
	ssq_bind_str(st, 3, &sl->sl_domain, 0);
	ssq_bind_str(st, 4, &sl->sl_contact, 1);
	ssq_bind_str(st, 5, &sl->sl_received, 0);
	ssq_bind_str(st, 6, &sl->sl_path, 0);
	sqlite3_bind_double(st, 7, ssq_time_to_jd(sl->sl_expires));
	sqlite3_bind_double(st, 8, sl->sl_q < 0 ? STORE_Q_UNSET : sl->sl_q);
	ssq_bind_str(st, 9, &sl->sl_callid, 1);
	sqlite3_bind_int64(st, 10, sl->sl_cseq);
	sqlite3_bind_double(st, 11, ssq_time_to_jd(sl->sl_last_modified));
	/* Signed, as Kamailio binds its int columns. */
	sqlite3_bind_int(st, 12, (int32_t)sl->sl_flags);
	sqlite3_bind_int(st, 13, (int32_t)sl->sl_cflags);
	ssq_bind_str(st, 14, &sl->sl_user_agent, 1);
	ssq_bind_str(st, 15, &sl->sl_socket, 0);
	if (sl->sl_methods == STORE_METHODS_ALL)
		sqlite3_bind_null(st, 16);
	else
		sqlite3_bind_int(st, 16, (int32_t)sl->sl_methods);
	ssq_bind_str(st, 17, &sl->sl_instance, 0);
	sqlite3_bind_int64(st, 18, sl->sl_reg_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return ssq_fail(d, "cannot insert into 'location'");
	return 0;
}

int
ssq_location_replace(struct ssq_db *d, store_location_next_fn *next,
    void *arg)
{
	struct store_location	 sl;
	sqlite3_stmt		*st = NULL;
	uint64_t		 n = 0;
	int			 r;

	/*
	 * The rows come in hash-bucket order, scattered for every index:
	 * inserting them into live indexes costs a B-tree descent and cache
	 * misses per row and index (20 s for a million).  Dropped and made
	 * again after the inserts, each index is one sort (7 s in all).  The
	 * transaction hides the gap from readers.
	 */
	if ((r = ssq_exec(d, ssq_location_drop_indexes)) != 0 ||
	    (r = ssq_exec(d, "DELETE FROM location")) != 0 ||
	    (r = ssq_prepare(d, ssq_location_insert, &st)) != 0)
		return r;
	for (;;) {
		memset(&sl, 0, sizeof(sl));
		if ((r = next(arg, &sl)) <= 0)
			break;
		if ((r = ssq_location_insert_row(d, st, &sl, ++n)) != 0)
			break;
	}
	sqlite3_finalize(st);
	if (r == 0)
		r = ssq_exec(d, ssq_location_indexes);
	return r;
}

/*
 * The groups of an incremental flush: few rows among many, so the
 * indexes stay and each group costs a range of the ruid index.  The
 * prefix ends in '-'; every id that begins with it sorts below the
 * same text ending in '.', the next character.
 */
static int
ssq_location_update(struct ssq_db *d, store_location_group_fn *next,
    void *arg)
{
	struct store_location_group g;
	sqlite3_stmt		*del = NULL, *ins = NULL;
	char			 hi[64];
	size_t			 i;
	int			 r;

	if ((r = ssq_prepare(d, "DELETE FROM location WHERE ruid >= ? AND "
	    "ruid < ?", &del)) != 0 ||
	    (r = ssq_prepare(d, ssq_location_insert, &ins)) != 0)
		goto out;
	for (;;) {
		memset(&g, 0, sizeof(g));
		if ((r = next(arg, &g)) <= 0)
			break;
		if (g.lg_prefix.ss_len == 0 ||
		    g.lg_prefix.ss_len >= sizeof(hi) ||
		    g.lg_prefix.ss_ptr[g.lg_prefix.ss_len - 1] != '-') {
			r = -EINVAL;
			break;
		}
		memcpy(hi, g.lg_prefix.ss_ptr, g.lg_prefix.ss_len);
		hi[g.lg_prefix.ss_len - 1] = '.';
		sqlite3_reset(del);
		sqlite3_bind_text(del, 1, g.lg_prefix.ss_ptr,
		    (int)g.lg_prefix.ss_len, SQLITE_STATIC);
		sqlite3_bind_text(del, 2, hi, (int)g.lg_prefix.ss_len,
		    SQLITE_STATIC);
		if (sqlite3_step(del) != SQLITE_DONE) {
			r = ssq_fail(d, "cannot delete from 'location'");
			break;
		}
		for (i = 0; i < g.lg_nrows && r >= 0; i++)
			r = ssq_location_insert_row(d, ins, &g.lg_rows[i], i);
		if (r < 0)
			break;
	}
 out:
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	return r;
}

/* One transaction on location: either writer, then commit. */
static int
ssq_location_txn(const char *file, store_location_next_fn *next,
    store_location_group_fn *groups, void *arg, struct errbuf *errs)
{
	struct ssq_db	 d;
	int		 r;

	if ((r = ssq_open(file, SSQ_OPEN_CREATE, &d, errs)) != 0)
		return r;
	if ((r = ssq_begin(&d)) == 0 &&
	    (r = ssq_check_version(&d, SSQ_T_LOCATION)) == 0 &&
	    (r = next != NULL ? ssq_location_replace(&d, next, arg) :
	    ssq_location_update(&d, groups, arg)) == 0)
		r = ssq_commit(&d);
	ssq_close(&d);
	return r;
}

int
store_sqlite_update_location(const char *file, store_location_group_fn *next,
    void *arg, struct errbuf *errs)
{
	return ssq_location_txn(file, NULL, next, arg, errs);
}

int
store_sqlite_write_location(const char *file, store_location_next_fn *next,
    void *arg, struct errbuf *errs)
{
	return ssq_location_txn(file, next, NULL, arg, errs);
}
