/*
 * sqlite_dl: libsqlite3 is loaded (dlopen) when a sqlite:// database is
 * first opened, not at exec. Linked, it cost every sipd process on
 * DB_TEXT ~360 kB of PSS (its relocated tables and libm's, which it
 * pulls in), 4 % of a small registrar's whole footprint, for nothing.
 *
 * The store_sqlite*.c files call the sqlite3_* names as usual: below,
 * each of those names is a macro for the matching pointer here.
 */
#ifndef SIPD_SQLITE_DL_H
#define SIPD_SQLITE_DL_H

#include <stddef.h>

#include <sqlite3.h>

/* The library's name at run time (Debian: libsqlite3-0). */
#define SQLITE_DL_SONAME	"libsqlite3.so.0"

#define SQLITE_DL_FUNCS(X) \
	X(bind_double) X(bind_int) X(bind_int64) X(bind_null) X(bind_text) \
	X(busy_timeout) X(changes) X(close) X(column_bytes) \
	X(column_double) X(column_int64) X(column_text) X(column_type) \
	X(errmsg) X(exec) X(extended_result_codes) X(finalize) \
	X(get_autocommit) X(last_insert_rowid) X(libversion) X(open_v2) \
	X(prepare_v2) X(reset) X(step)

struct sqlite_dl {
#define SQLITE_DL_FIELD(n)	__typeof__(sqlite3_##n) *n;
	SQLITE_DL_FUNCS(SQLITE_DL_FIELD)
#undef SQLITE_DL_FIELD
};

extern struct sqlite_dl	sqlite_dl;

/*
 * Loads the library once per process. 0, or -1 with the reason (the
 * loader's words) in err.
 */
int	sqlite_dl_load(char *err, size_t errlen);

#define sqlite3_bind_double		sqlite_dl.bind_double
#define sqlite3_bind_int		sqlite_dl.bind_int
#define sqlite3_bind_int64		sqlite_dl.bind_int64
#define sqlite3_bind_null		sqlite_dl.bind_null
#define sqlite3_bind_text		sqlite_dl.bind_text
#define sqlite3_busy_timeout		sqlite_dl.busy_timeout
#define sqlite3_changes			sqlite_dl.changes
#define sqlite3_close			sqlite_dl.close
#define sqlite3_column_bytes		sqlite_dl.column_bytes
#define sqlite3_column_double		sqlite_dl.column_double
#define sqlite3_column_int64		sqlite_dl.column_int64
#define sqlite3_column_text		sqlite_dl.column_text
#define sqlite3_column_type		sqlite_dl.column_type
#define sqlite3_errmsg			sqlite_dl.errmsg
#define sqlite3_exec			sqlite_dl.exec
#define sqlite3_extended_result_codes	sqlite_dl.extended_result_codes
#define sqlite3_finalize		sqlite_dl.finalize
#define sqlite3_get_autocommit		sqlite_dl.get_autocommit
#define sqlite3_last_insert_rowid	sqlite_dl.last_insert_rowid
#define sqlite3_libversion		sqlite_dl.libversion
#define sqlite3_open_v2			sqlite_dl.open_v2
#define sqlite3_prepare_v2		sqlite_dl.prepare_v2
#define sqlite3_reset			sqlite_dl.reset
#define sqlite3_step			sqlite_dl.step

#endif
