/*
 * store_sqlite_import.c: a whole SQLite database read or written at
 * once, for the converter (sipd-db convert).  Reading creates nothing;
 * writing is one transaction, so a failed conversion leaves the file
 * as it was.
 *
 * Runs in sipd-db only.  Never logs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "store_backend.h"
#include "store_convert.h"
#include "store_sqlite.h"

static int
ssq_versions_read(struct ssq_db *d, struct store_version_row **ret_rows,
    size_t *ret_count)
{
	struct store_version_row *rows = NULL, *nr;
	sqlite3_stmt		*st;
	const unsigned char	*name;
	size_t			 n = 0, cap = 0;
	int			 r;

	if ((r = ssq_prepare(d, "SELECT table_name, table_version FROM "
	    "version ORDER BY id", &st)) != 0)
		return r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((name = sqlite3_column_text(st, 0)) == NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nr = reallocarray(rows, cap, sizeof(*nr))) ==
			    NULL)
				goto oom;
			rows = nr;
		}
		if ((rows[n].vr_table = strdup((const char *)name)) == NULL)
			goto oom;
		rows[n++].vr_version = sqlite3_column_int64(st, 1);
	}
	if (r != SQLITE_DONE) {
		r = ssq_fail(d, "cannot read table 'version'");
		sqlite3_finalize(st);
		store_version_rows_free(rows, n);
		return r;
	}
	sqlite3_finalize(st);
	*ret_rows = rows;
	*ret_count = n;
	return 0;
 oom:
	sqlite3_finalize(st);
	store_version_rows_free(rows, n);
	errbuf_add(d->sq_errs, d->sq_file, 0, "out of memory");
	return -ENOMEM;
}

int
store_sqlite_export(const char *file, struct store_version_row **ret_rows,
    size_t *ret_count, struct store_subscribers **ret_subs,
    struct store_trusted_table **ret_trusted, store_location_fn *fn,
    void *arg, struct errbuf *errs)
{
	struct store_subscribers *subs = NULL;
	struct store_trusted_table *tr = NULL;
	struct store_version_row *rows = NULL;
	struct ssq_db		 d;
	size_t			 n = 0;
	int			 r, t, bad = 0;

	if ((r = ssq_open(file, 0, &d, errs)) != 0)
		return r == -EIO ? STORE_E_BAD : r;
	if (sqlite3_exec(d.sq_db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		r = ssq_fail(&d, "cannot begin a transaction");
		goto out;
	}
	for (t = 0; t < SSQ_T_COUNT; t++) {
		if ((r = ssq_has_table(&d, t)) < 0)
			goto out;
		if (r == 0) {
			errbuf_add(errs, file, 0, "table '%s' is missing",
			    ssq_table_names[t]);
			bad = 1;
		}
	}
	if (bad) {
		r = STORE_E_BAD;
		goto out;
	}
	for (t = SSQ_T_SUBSCRIBER; t < SSQ_T_COUNT; t++)
		if (ssq_check_version(&d, t) != 0)
			bad = 1;
	if (bad) {
		r = STORE_E_BAD;
		goto out;
	}
	if ((r = ssq_versions_read(&d, &rows, &n)) != 0 ||
	    (r = ssq_subscribers_read(&d, &subs)) != 0 ||
	    (r = ssq_trusted_read(&d, &tr)) != 0 ||
	    (r = ssq_location_read(&d, fn, arg, NULL)) != 0)
		goto out;
	*ret_rows = rows;
	*ret_count = n;
	*ret_subs = subs;
	*ret_trusted = tr;
	rows = NULL;
	n = 0;
	subs = NULL;
	tr = NULL;
 out:
	store_version_rows_free(rows, n);
	store_subscribers_free(subs);
	store_trusted_free(tr);
	ssq_close(&d);
	return r;
}

/* The four tables, fresh: refused if there unless force. */
static int
ssq_import_tables(struct ssq_db *d, int force)
{
	static const char *const drop[SSQ_T_COUNT] = {
		[SSQ_T_VERSION] = "DROP TABLE version",
		[SSQ_T_SUBSCRIBER] = "DROP TABLE subscriber",
		[SSQ_T_TRUSTED] = "DROP TABLE trusted",
		[SSQ_T_LOCATION] = "DROP TABLE location",
	};
	int	 t, r, bad = 0;

	for (t = 0; t < SSQ_T_COUNT; t++) {
		if ((r = ssq_has_table(d, t)) < 0)
			return r;
		if (r == 0)
			continue;
		if (!force) {
			errbuf_add(d->sq_errs, d->sq_file, 0, "table '%s' "
			    "exists (-f replaces it)", ssq_table_names[t]);
			bad = 1;
		} else if ((r = ssq_exec(d, drop[t])) != 0)
			return r;
	}
	if (bad)
		return STORE_E_BAD;
	return ssq_create_table(d, SSQ_T_VERSION);
}

static int
ssq_import_versions(struct ssq_db *d, const struct store_import *im)
{
	sqlite3_stmt	*st;
	size_t		 i;
	int		 r = 0;

	if ((r = ssq_prepare(d, "INSERT OR REPLACE INTO version "
	    "(table_name, table_version) VALUES (?, ?)", &st)) != 0)
		return r;
	for (i = 0; i < im->si_nversions && r == 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, im->si_versions[i].vr_table, -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, im->si_versions[i].vr_version);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = ssq_fail(d, "cannot insert into 'version'");
	}
	sqlite3_finalize(st);
	return r;
}

static int
ssq_import_trusted(struct ssq_db *d, const struct store_trusted_table *tb)
{
	const struct store_trusted *tr;
	sqlite3_stmt		*st;
	size_t			 i;
	int			 r;

	if (tb == NULL)
		return 0;
	if ((r = ssq_prepare(d, "INSERT INTO trusted (id, src_ip, proto, "
	    "from_pattern, ruri_pattern, tag, priority) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?)", &st)) != 0)
		return r;
	for (i = 0; i < tb->stt_count && r == 0; i++) {
		tr = &tb->stt_rows[i];
		sqlite3_reset(st);
		/* DB_TEXT ids are not unique (int,auto): then SQLite picks. */
		if (tr->tr_id > 0)
			sqlite3_bind_int64(st, 1, tr->tr_id);
		else
			sqlite3_bind_null(st, 1);
		ssq_bind_str(st, 2, &tr->tr_src_ip, 1);
		sqlite3_bind_text(st, 3, store_proto_name(tr->tr_proto), -1,
		    SQLITE_STATIC);
		ssq_bind_str(st, 4, &tr->tr_from_pattern, 0);
		ssq_bind_str(st, 5, &tr->tr_ruri_pattern, 0);
		ssq_bind_str(st, 6, &tr->tr_tag, 0);
		sqlite3_bind_int64(st, 7, tr->tr_priority);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = ssq_fail(d, "cannot insert into 'trusted'");
	}
	sqlite3_finalize(st);
	return r;
}

int
store_sqlite_import(const char *file, const struct store_import *im,
    struct errbuf *errs)
{
	struct ssq_db	 d;
	sqlite3_stmt	*st = NULL;
	size_t		 i;
	int		 r, t;

	if ((r = ssq_open(file, SSQ_OPEN_CREATE | SSQ_OPEN_NOSCHEMA, &d,
	    errs)) != 0)
		return r;
	if ((r = ssq_begin(&d)) != 0 ||
	    (r = ssq_import_tables(&d, im->si_force)) != 0 ||
	    (r = ssq_import_versions(&d, im)) != 0)
		goto out;
	for (t = SSQ_T_SUBSCRIBER; t < SSQ_T_COUNT && r == 0; t++)
		r = ssq_create_table(&d, t);
	if (r != 0 || (r = ssq_prepare(&d, SSQ_SUBSCRIBER_INSERT, &st)) != 0)
		goto out;
	for (i = 0; im->si_subs != NULL && i < im->si_subs->ssb_count &&
	    r == 0; i++)
		r = ssq_subscriber_insert(&d, st, &im->si_subs->ssb_rows[i]);
	if (r != 0 || (r = ssq_import_trusted(&d, im->si_trusted)) != 0)
		goto out;
	if (im->si_loc_next != NULL &&
	    (r = ssq_location_replace(&d, im->si_loc_next,
	    im->si_loc_arg)) != 0)
		goto out;
	/* Every table sipd reads must say the 5.6 version now. */
	for (t = SSQ_T_SUBSCRIBER; t < SSQ_T_COUNT && r == 0; t++)
		r = ssq_check_version(&d, t);
	if (r == 0)
		r = ssq_commit(&d);
 out:
	sqlite3_finalize(st);
	ssq_close(&d);
	return r;
}
