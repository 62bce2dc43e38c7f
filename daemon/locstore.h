/*
 * locstore: the `location` table between storage rows (store.h) and the
 * location table's own types (shm/loctab.h). Pure translation, no
 * logging, no I/O: tables.c loads and flushes with it, so shm/ knows
 * nothing of the storage layout.
 */
#ifndef SIPD_LOCSTORE_H
#define SIPD_LOCSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * Row ids (`ruid`) sipd writes: "sipd-BBBBBBBB-HHHHHHHH-N", the AoR's
 * bucket and hash (loctab_aor_hash()) in hex and the row's number in
 * its group, so that the rows of one AoR (prefix up to the hash) or of
 * one bucket (prefix up to the bucket) can be replaced by a range of
 * ids. LOCSTORE_RUID_MAX bytes hold one with its NUL.
 */
#define LOCSTORE_RUID_MAX	40
size_t	locstore_ruid(char *buf, unsigned bucket, uint32_t hash,
	    unsigned n);
/* The prefix of an AoR's group; all_bucket: of the whole bucket. */
size_t	locstore_ruid_prefix(char *buf, unsigned bucket, uint32_t hash,
	    bool all_bucket);
/* Whether ruid is one sipd wrote for aor in table lt as it is sized now. */
bool	locstore_ruid_names(struct loctab *lt, const char *aor, size_t len,
	    struct store_str ruid);

#endif
