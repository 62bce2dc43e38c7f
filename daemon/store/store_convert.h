/*
 * store_convert.h: what sipd-db (sipd_db.c) needs beyond store.h to
 * copy tables between a DB_TEXT folder and a SQLite file: the whole
 * `version` table, a DB_TEXT trusted writer, and the SQLite side read
 * and written in one transaction each.  Only store/ includes this.
 */
#ifndef SIPD_STORE_CONVERT_H
#define SIPD_STORE_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct errbuf;

/* One row of `version`, in table order. */
struct store_version_row {
	char		*vr_table;
	int64_t		 vr_version;
};

void	store_version_rows_free(struct store_version_row *rows,
	    size_t count);

/* DB_TEXT (store_text_write.c); writers use the 3.0 layout. */
int	store_text_read_versions(const char *dir,
	    struct store_version_row **ret_rows, size_t *ret_count,
	    struct errbuf *errs, struct errbuf *warns);
int	store_text_write_versions(const char *dir,
	    const struct store_version_row *rows, size_t count,
	    struct errbuf *errs);
/* Rows keep their tr_id. */
int	store_text_write_trusted(const char *dir,
	    const struct store_trusted_table *table, struct errbuf *errs);

/*
 * SQLite (store_sqlite_import.c).  store_sqlite_export reads the four
 * tables of an existing file in one read transaction, creating nothing;
 * each table's version must be the 5.6 one.  Location rows go to fn as
 * with store_load_location().
 */
int	store_sqlite_export(const char *file,
	    struct store_version_row **ret_rows, size_t *ret_count,
	    struct store_subscribers **ret_subs,
	    struct store_trusted_table **ret_trusted,
	    store_location_fn *fn, void *arg, struct errbuf *errs);

struct store_import {
	/* Rows for other tables than the four sipd makes: copied. */
	const struct store_version_row *si_versions;
	size_t				 si_nversions;
	const struct store_subscribers	*si_subs;
	const struct store_trusted_table *si_trusted;	/* ids kept */
	store_location_next_fn		*si_loc_next;
	void				*si_loc_arg;
	int				 si_force;	/* drop existing */
};

/*
 * Creates the four tables (5.6 schema) and fills them, in one
 * transaction.  A table already in the file is refused (STORE_E_BAD)
 * unless si_force, which drops it first.
 */
int	store_sqlite_import(const char *file, const struct store_import *im,
	    struct errbuf *errs);

#endif
