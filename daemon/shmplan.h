/*
 * shmplan: how many bytes of shared memory a config asks for, table by
 * table. The one place that sizes the mapping: tables_load() creates
 * what it says, and `sipd -c` prints it, so the two cannot drift.
 */
#ifndef SIPD_SHMPLAN_H
#define SIPD_SHMPLAN_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"

#define SHMPLAN_TABLES_MAX	8

struct shmplan_table {
	const char	*pt_name;	/* as core.shmmem names it */
	const char	*pt_key;	/* config key that sizes it, or NULL */
	unsigned long	 pt_value;	/* that key's value */
	size_t		 pt_bytes;	/* alignment padding before it included */
};

struct shmplan {
	struct shmplan_table	 sp_tabs[SHMPLAN_TABLES_MAX];
	size_t			 sp_ntabs;
	size_t			 sp_total;	/* page rounded, as mapped */
};

/* 0, or -ERANGE when the sizes overflow a size_t. */
int	shmplan_make(const struct conf *c, struct shmplan *ret);
/* `sipd -c`: one line per table and the total. */
void	shmplan_print(FILE *f, const struct shmplan *p);
/*
 * The mapping could not be made (err: errno): says on stderr and in the
 * log how much was asked for and which keys to lower.
 */
void	shmplan_report_failure(const struct shmplan *p, int err);

#endif
