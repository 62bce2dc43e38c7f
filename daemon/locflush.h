/*
 * locflush: the location table written to storage by the master, either
 * whole (every row replaced) or, where storage can (SQLite), only the
 * rows of the AoRs that changed since the last flush. Every row written
 * is named by its AoR (locstore_ruid()), which is what lets the next
 * flush find an AoR's rows again without reading storage.
 */
#ifndef SIPD_LOCFLUSH_H
#define SIPD_LOCFLUSH_H

#include <stdbool.h>
#include <stddef.h>

#include "errbuf.h"
#include "loctab.h"
#include "store.h"

/*
 * Writes lt to db: whole, or the changed AoRs only. *ret_rows: rows
 * written. 0, or a negative errno / STORE_E_BAD with errs filled. After
 * a failed changed-only write the next one must be whole (the table has
 * forgotten which AoRs lost bindings).
 */
int	locflush_write(struct loctab *lt, const struct store_db *db,
	    bool whole, size_t *ret_rows, struct errbuf *errs);

#endif
