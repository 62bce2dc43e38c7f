/*
 * Between store_text.c (loading, whole-table writes) and
 * store_text_edit.c (one-row edits) only.
 */
#ifndef SIPD_STORE_TEXT_INT_H
#define SIPD_STORE_TEXT_INT_H

#include <stdbool.h>

#include "dbtext.h"
#include "store.h"

enum store_table_id {
	STORE_T_SUBSCRIBER,
	STORE_T_TRUSTED,
	STORE_T_LOCATION,
	STORE_T_COUNT
};

/* The 3.0 subscriber layout, as store_text_write_subscribers() writes. */
extern const struct dbtext_col	store_subscriber_cols30[];
extern const unsigned		store_subscriber_ncols30;

/* DIR/table (malloc()ed), or NULL. */
char	*store_path(const char *dir, const char *table);
/* Makes table t's row in DIR/version say value (rewrites if needed). */
int	 store_version_set(const char *dir, int t, int value,
	    struct errbuf *errs);

/* DIR/trusted := table (ids kept), in the 5.6 layout or the 3.0 one. */
int	 store_text_trusted_write(const char *dir,
	    const struct store_trusted_table *table, bool v56,
	    struct errbuf *errs);

#endif
