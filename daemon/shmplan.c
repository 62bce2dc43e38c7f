/*
 * shmplan: the shared-memory budget of a config.
 *
 * Every table is fixed-size, so the whole mapping follows from a few
 * keys. The sum is made here once, in the order tables_load() carves
 * (alignment padding depends on it), and each table's share is the
 * growth of the running sum, so the rows add up to the total exactly.
 * The mapping is reserved, not touched: on Linux an anonymous shared
 * mapping gets pages only as the tables fill, but a strict-overcommit
 * board or a `ulimit -v` still counts the whole reservation, which is
 * why the keys that size it are named when it fails.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "loctab.h"
#include "replycache.h"
#include "clusterstat.h"
#include "runcfg.h"
#include "shm.h"
#include "shmplan.h"
#include "stats.h"
#include "tmtab.h"
#include "userdb.h"

static void
shmplan_add(struct shmplan *p, const char *name, const char *key,
    unsigned long value, size_t before, size_t after)
{
	struct shmplan_table	*t = &p->sp_tabs[p->sp_ntabs++];

	t->pt_name = name;
	t->pt_key = key;
	t->pt_value = value;
	t->pt_bytes = after - before;
}

int
shmplan_make(const struct conf *c, struct shmplan *ret)
{
	struct shmplan	 p;
	size_t		 acc, prev;

	memset(&p, 0, sizeof(p));
	acc = shm_size_base();
	/* Keep this order: it is the order of the carves in tables_load(). */
	prev = acc;
	acc = loctab_shm_size_add(acc, c->c_ul_hash_size,
	    c->c_ul_max_contacts);
	if (acc == SIZE_MAX)
		return -ERANGE;
	shmplan_add(&p, "location", "usrloc.max_contacts",
	    c->c_ul_max_contacts, prev, acc);
	prev = acc;
	if ((acc = shm_size_add(acc, auth_shm_size(c), AUTH_SHM_ALIGN)) ==
	    SIZE_MAX)
		return -ERANGE;
	shmplan_add(&p, "nonces", NULL, 0, prev, acc);
	prev = acc;
	if ((acc = shm_size_add(acc, replycache_shm_size(),
	    REPLYCACHE_SHM_ALIGN)) == SIZE_MAX)
		return -ERANGE;
	shmplan_add(&p, "reply_slots", NULL, 0, prev, acc);
	prev = acc;
	if ((acc = shm_size_add(acc, stats_shm_size((unsigned)c->c_children +
	    1), STATS_SHM_ALIGN)) == SIZE_MAX)
		return -ERANGE;
	shmplan_add(&p, "stats", "children", (unsigned long)c->c_children,
	    prev, acc);
	prev = acc;
	if ((acc = shm_size_add(acc, runcfg_shm_size(), RUNCFG_SHM_ALIGN)) ==
	    SIZE_MAX)
		return -ERANGE;
	shmplan_add(&p, "runcfg", NULL, 0, prev, acc);
	/* cluster.redis only: a node without it maps what it did */
	if (c->c_cluster.cu_kind != CONF_CLUSTER_OFF) {
		prev = acc;
		if ((acc = shm_size_add(acc, clusterstat_shm_size(),
		    CLUSTERSTAT_SHM_ALIGN)) == SIZE_MAX)
			return -ERANGE;
		shmplan_add(&p, "cluster", NULL, 0, prev, acc);
	}
	prev = acc;
	if ((acc = shm_size_add(acc,
	    tmtab_shm_size(c->c_tm_max_transactions), TMTAB_SHM_ALIGN)) ==
	    SIZE_MAX)
		return -ERANGE;
	shmplan_add(&p, "transactions", "tm.max_transactions",
	    c->c_tm_max_transactions, prev, acc);
	prev = acc;
	if ((acc = userdb_shm_size(acc, c)) == SIZE_MAX)
		return -ERANGE;
	shmplan_add(&p, "subscriber+trusted", "auth.max_subscribers",
	    c->c_auth_max_subscribers, prev, acc);
	/* The header and the last page's tail: the mapping is whole pages. */
	p.sp_total = shm_page_round(acc);
	if (p.sp_total == SIZE_MAX)
		return -ERANGE;
	*ret = p;
	return 0;
}

static double
shmplan_mb(size_t n)
{
	return (double)n / (1024.0 * 1024.0);
}

void
shmplan_print(FILE *f, const struct shmplan *p)
{
	const struct shmplan_table	*t;
	size_t				 i;

	for (i = 0; i < p->sp_ntabs; i++) {
		t = &p->sp_tabs[i];
		fprintf(f, "shm: %-18s %12zu bytes %8.1f MB", t->pt_name,
		    t->pt_bytes, shmplan_mb(t->pt_bytes));
		if (t->pt_key != NULL)
			fprintf(f, "  (%s = %lu)", t->pt_key, t->pt_value);
		fputc('\n', f);
	}
	fprintf(f, "shm: %-18s %12zu bytes %8.1f MB  (reserved; pages are "
	    "used as the tables fill)\n", "total", p->sp_total,
	    shmplan_mb(p->sp_total));
}

void
shmplan_report_failure(const struct shmplan *p, int err)
{
	const struct shmplan_table	*t;
	char				 keys[256];
	size_t				 i, n = 0;
	int				 w;

	keys[0] = '\0';
	for (i = 0; i < p->sp_ntabs; i++) {
		t = &p->sp_tabs[i];
		/* Only the keys that size a table by its row count. */
		if (t->pt_key == NULL || strcmp(t->pt_key, "children") == 0)
			continue;
		w = snprintf(keys + n, sizeof(keys) - n, "%s%s (%lu: %.1f MB)",
		    n > 0 ? ", " : "", t->pt_key, t->pt_value,
		    shmplan_mb(t->pt_bytes));
		if (w < 0 || (size_t)w >= sizeof(keys) - n)
			break;
		n += (size_t)w;
	}
	/* The terminal too: this is why `sipd` did not start. */
	if (!log_is_stderr())
		fprintf(stderr, "sipd: cannot reserve %zu bytes (%.1f MB) of "
		    "shared memory: %s; lower %s (sipd -c prints the size per "
		    "table)\n", p->sp_total, shmplan_mb(p->sp_total),
		    strerror(err), keys);
	log_err("cannot reserve %zu bytes (%.1f MB) of shared memory: %s; "
	    "lower %s (sipd -c prints the size per table)", p->sp_total, shmplan_mb(p->sp_total), strerror(err),
	    keys);
}
