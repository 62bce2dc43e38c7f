/*
 * locstore: the `location` table between storage rows (store.h) and the
 * location table's own types (shm/loctab.h). Pure translation, no
 * logging, no I/O: tables.c loads and flushes with it, so shm/ knows
 * nothing of the storage layout.
 */
#ifndef SIPD_LOCSTORE_H
#define SIPD_LOCSTORE_H

#include <stddef.h>

#include "loctab.h"
#include "store.h"

/*
 * A `location` row as a loctab_row: AoR = username, or username@domain
 * when a domain is set (joined into aorbuf, LOCTAB_AOR_MAX + 1 bytes);
 * q from 0..1 to 0..1000. The row's strings are used in place: ret
 * lives as long as row and aorbuf. 0, or LOCTAB_E_TOOLONG when the
 * joined AoR does not fit.
 */
int	locstore_row_from_store(const struct store_location *row,
	    char *aorbuf, struct loctab_row *ret);
/*
 * Whether row fits the location table: NULL, or what is wrong (static
 * text, "contact longer than 512 bytes"). What store_location_read()
 * left unchecked (types and NOT NULL are its); `sipd -c` and the load
 * at start name a row that does not fit, so none is lost silently.
 */
const char *locstore_row_check(const struct store_location *row);
/*
 * A binding copied out of the table as a `location` row (3.0 layout:
 * no domain; "n/a" for an empty Call-ID or User-Agent, which are
 * NOT NULL there). The row points into b.
 */
void	locstore_row_to_store(const struct loctab_binding *b,
	    struct store_location *ret);

#endif
