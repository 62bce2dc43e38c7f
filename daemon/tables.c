/*
 * tables: what the master does with storage and the shared tables.
 *
 * At start it checks every table (a broken one stops sipd with FILE:LINE
 * messages, before any worker exists), sizes and creates the shared
 * mapping, carves the location table and the auth state into it and
 * loads `location` (rows come up CS_SYNC). While running, one timer
 * expires bindings every second (the only place that does, so workers
 * never scan) and another writes the location table back every
 * usrloc.flush_interval seconds when it changed. At exit, after the
 * workers have stopped, a last flush. Only the master writes storage;
 * it copies one bucket at a time out of shm and writes outside locks.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "evtime.h"
#include "dbtext.h"
#include "locflush.h"
#include "locstore.h"
#include "log.h"
#include "loctab.h"
#include "replycache.h"
#include "tmtab.h"
#include "clusterstat.h"
#include "runcfg.h"
#include "shm.h"
#include "shm_lock.h"
#include "shmplan.h"
#include "stats.h"
#include "store.h"
#include "tables.h"
#include "userdb.h"

static const struct conf	*tables_conf;
static struct loctab		*tables_lt;
static uint64_t			 tables_flushed_at;	/* loctab_changes() */
static bool			 tables_ever_flushed;
/*
 * The next flush replaces every row: storage has rows the table cannot
 * name (not written by sipd with this hash_size, duplicates), or a
 * failed flush lost track of what changed.
 */
static bool			 tables_write_whole = true;
static struct event		*tables_expire_ev;
static struct event		*tables_flush_ev;
static struct tables_flush_stats tables_fs;

struct loctab *
tables_loctab(void)
{
	return tables_lt;
}

/*
 * Prints and/or logs the result of a table check. At start (!all) the
 * location rows are left to their load, which checks them alike.
 */
static int
tables_verify(const struct conf *c, bool print, bool logit, bool all)
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct store_db	 sdb;
	const char	*p, *nl;
	int		 rc, n;

	userdb_store_db(c, &sdb);
	rc = all ? store_check(&sdb, &errs, &warns) :
	    store_check_start(&sdb, &errs, &warns);
	/* Limits of the shm tables; at start userdb_load() checks them. */
	if (rc == 0 && errs.eb_count == 0 && all)
		rc = userdb_check(c, &errs, &warns);
	if (print) {
		fputs(errbuf_text(&errs), stderr);
		for (p = errbuf_text(&warns); *p != '\0'; p += n + (nl != NULL)) {
			nl = strchr(p, '\n');
			n = nl ? (int)(nl - p) : (int)strlen(p);
			fprintf(stderr, "warning: %.*s\n", n, p);
		}
	}
	if (logit) {
		log_errbuf(&errs, false);
		log_errbuf(&warns, true);
	}
	if (rc == 0 && errs.eb_count > 0)
		rc = -1;
	errbuf_free(&errs);
	errbuf_free(&warns);
	return rc == 0 ? 0 : -1;
}

struct tables_load_ctx {
	struct loctab_loader *tl_loader;	/* NULL: row by row */
	time_t		 tl_now;
	size_t		 tl_loaded;
	size_t		 tl_expired;
	size_t		 tl_unnamed;	/* rows whose ruid names no AoR */
	int		 tl_full;
	struct errbuf	*tl_errs;
	char		 tl_file[PATH_MAX + 16];	/* for FILE:LINE */
};

/* How messages name the location table: DIR/location or the database. */
static void
tables_location_file(const struct conf *c, struct tables_load_ctx *ctx)
{
	(void)snprintf(ctx->tl_file, sizeof(ctx->tl_file), "%s%s",
	    c->c_db_path, c->c_db_kind == CONF_DB_SQLITE ? "" : "/location");
}

/* -c: every location row that would not load, as FILE:LINE. */
static int
tables_check_row(void *arg, const struct store_location *row)
{
	struct tables_load_ctx	*ctx = arg;
	const char		*why;

	if ((why = locstore_row_check(row)) != NULL)
		errbuf_add(ctx->tl_errs, ctx->tl_file, row->sl_line,
		    "location row not loadable: %s", why);
	return 0;
}

int
tables_check(const struct conf *c)
{
	struct tables_load_ctx	 ctx;
	struct errbuf		 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct store_db		 sdb;
	struct shmplan		 plan;
	size_t			 count = 0;
	int			 rc;

	if (shmplan_make(c, &plan) != 0) {
		fprintf(stderr, "sipd: usrloc.max_contacts, tm.max_transactions "
		    "or auth.max_subscribers too large\n");
		return -1;
	}
	/* What the start would reserve, before the tables are read. */
	shmplan_print(stdout, &plan);
	if ((rc = tables_verify(c, true, false, true)) != 0)
		return rc;
	memset(&ctx, 0, sizeof(ctx));
	ctx.tl_errs = &errs;
	tables_location_file(c, &ctx);
	userdb_store_db(c, &sdb);
	(void)store_load_location(&sdb, tables_check_row, &ctx, &count, &errs,
	    &warns);
	fputs(errbuf_text(&errs), stderr);
	rc = errs.eb_count > 0 ? -1 : 0;
	errbuf_free(&errs);
	errbuf_free(&warns);
	return rc;
}

static int
tables_load_row(void *arg, const struct store_location *row)
{
	struct tables_load_ctx	*ctx = arg;
	struct loctab_row	 lr;
	char			 aor[LOCTAB_AOR_MAX + 1];
	const char		*why;
	int			 rc;

	/* a row that does not fit stops the start: never lost silently */
	if ((why = locstore_row_check(row)) != NULL) {
		errbuf_add(ctx->tl_errs, ctx->tl_file, row->sl_line,
		    "location row not loadable: %s", why);
		return -EINVAL;
	}
	if ((rc = locstore_row_from_store(row, aor, &lr)) == 0 &&
	    !locstore_ruid_names(tables_lt, aor, lr.lr_aor.ls_len,
	    row->sl_ruid))
		ctx->tl_unnamed++;
	if (rc == 0)
		rc = ctx->tl_loader != NULL ?
		    loctab_loader_insert(ctx->tl_loader, &lr, ctx->tl_now) :
		    loctab_insert_loaded(tables_lt, &lr, ctx->tl_now);
	switch (rc) {
	case 0:
		ctx->tl_loaded++;
		return 0;
	case LOCTAB_E_EXPIRED:
		/* its row goes at the next flush */
		ctx->tl_expired++;
		return loctab_note_gone(tables_lt, aor, lr.lr_aor.ls_len) < 0 ?
		    -EIO : 0;
	case LOCTAB_E_FULL:
	case LOCTAB_E_TOO_MANY:
		ctx->tl_full = 1;
		return -ENOSPC;
	default:
		/* locstore_row_check() let it through: a loctab fault */
		errbuf_add(ctx->tl_errs, ctx->tl_file, row->sl_line,
		    "location row not loaded (code %d)", rc);
		return -EINVAL;
	}
}

static void
tables_stale_one(void *arg, const char *name, long long size, int err)
{
	const char	*dir = tables_conf->c_db_path;

	(void)arg;
	if (err == 0)
		log_info("%s: removed stale temp file \"%s\" (%lld bytes) "
		    "left by a flush that did not finish", dir, name, size);
	else
		log_warnx("%s: cannot remove stale temp file \"%s\": %s",
		    dir, name, strerror(err));
}

/*
 * A master killed while it wrote a table left its temp file: remove
 * those by sipd's own name pattern, before anything writes the folder.
 */
static void
tables_remove_stale(const struct conf *c)
{
	int	 n;

	if (c->c_db_kind != CONF_DB_TEXT)
		return;
	n = dbtext_remove_stale(c->c_db_path, tables_stale_one, NULL);
	if (n < 0)
		log_warnx("%s: cannot look for stale temp files: %s",
		    c->c_db_path, strerror(-n));
}

/* Prints a start-up error to the terminal and the log. */
static void
tables_start_error(const struct errbuf *errs)
{
	if (!log_is_stderr())
		fputs(errbuf_text(errs), stderr);
	log_errbuf(errs, false);
}

static int
tables_load_location(const struct conf *c)
{
	struct tables_load_ctx	 ctx;
	struct errbuf		 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct store_db		 sdb;
	struct loctab_stats	 st;
	size_t			 count = 0;
	int			 rc;

	memset(&ctx, 0, sizeof(ctx));
	ctx.tl_now = time(NULL);
	ctx.tl_errs = &errs;
	tables_location_file(c, &ctx);
	userdb_store_db(c, &sdb);
	/* No worker runs yet: the loader may skip the per-row bucket walks. */
	if (loctab_loader_new(tables_lt, &ctx.tl_loader) != 0)
		ctx.tl_loader = NULL;
	rc = store_load_location(&sdb, tables_load_row, &ctx, &count, &errs,
	    &warns);
	loctab_loader_free(ctx.tl_loader);
	log_errbuf(&warns, true);
	if (ctx.tl_full)
		errbuf_add(&errs, c->c_db_path, 0, "location: more bindings "
		    "than usrloc.max_contacts (%u) allows; raise it",
		    c->c_ul_max_contacts);
	if (rc != 0 || ctx.tl_full) {
		if (errs.eb_count == 0)
			errbuf_add(&errs, c->c_db_path, 0,
			    "location: cannot load: %s", strerror(rc < 0 ?
			    -rc : EINVAL));
		tables_start_error(&errs);
		errbuf_free(&errs);
		errbuf_free(&warns);
		return -1;
	}
	errbuf_free(&errs);
	errbuf_free(&warns);
	log_info("location: %zu bindings loaded, %zu expired rows dropped",
	    ctx.tl_loaded, ctx.tl_expired);
	/* The loaded rows are what the file holds: nothing to write yet. */
	tables_flushed_at = loctab_changes(tables_lt);
	tables_ever_flushed = ctx.tl_expired == 0;
	/*
	 * Each AoR's rows replaced on their own needs every row named by
	 * its AoR, once (a duplicate merged into one binding would stay).
	 */
	loctab_stats(tables_lt, &st);
	tables_write_whole = ctx.tl_unnamed > 0 ||
	    st.st_bindings != ctx.tl_loaded;
	return 0;
}

/* subscriber and trusted into their shm tables. */
static int
tables_load_users(const struct conf *c)
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	int		 rc;

	rc = userdb_load(c, &errs, &warns);
	log_errbuf(&warns, true);
	if (rc != 0)
		tables_start_error(&errs);
	else
		log_info("subscriber: %zu users, trusted: %zu rows",
		    userdb_subscriber_count(), userdb_trusted_count());
	errbuf_free(&errs);
	errbuf_free(&warns);
	return rc;
}

/*
 * core.shmmem, location: the buckets are fixed; binding records and
 * string blocks are in use when handed out, and were touched once
 * handed out (the pools' bump index is their high-water mark).
 */
static void
tables_loctab_fill(size_t reserved, struct shm_fill *ret)
{
	struct loctab_stats	 st;
	struct loctab_pool_stats *ps;
	size_t			 pools = 0, used = 0, max = 0;
	unsigned		 p;

	loctab_stats(tables_lt, &st);
	for (p = 0; p <= LOCTAB_NCLASSES; p++) {
		ps = p == 0 ? &st.st_rec_pool : &st.st_classes[p - 1];
		pools += (size_t)ps->ps_block * ps->ps_count;
		used += (size_t)ps->ps_block * ps->ps_used;
		max += (size_t)ps->ps_block * ps->ps_touched;
	}
	pools = pools < reserved ? reserved - pools : 0;	/* fixed part */
	ret->sf_used = pools + used;
	ret->sf_max_used = pools + max;
	ret->sf_entries = st.st_bindings;
	ret->sf_capacity = st.st_capacity;
}

/* core.shmmem, transactions: cells and their chunks in use. */
static void
tables_tmtab_fill(size_t reserved, struct shm_fill *ret)
{
	struct tmtab_usage	 u;
	size_t			 fixed;

	tmtab_usage(&u);
	fixed = (size_t)u.tu_cap * u.tu_cell_bytes +
	    (size_t)u.tu_chunks_total * u.tu_chunk_bytes;
	fixed = fixed < reserved ? reserved - fixed : 0;
	ret->sf_used = fixed + (size_t)u.tu_cells * u.tu_cell_bytes +
	    (size_t)u.tu_chunks * u.tu_chunk_bytes;
	/* Cells come from a free list: their high water is not kept. */
	ret->sf_max_used = 0;
	ret->sf_entries = u.tu_cells;
	ret->sf_capacity = u.tu_cap;
}

int
tables_load(const struct conf *c)
{
	struct shmplan	 plan;
	size_t		 size;
	int		 rc;

	tables_conf = c;
	/* Start-up errors go to the terminal too, not only to syslog. */
	if (tables_verify(c, !log_is_stderr(), true, false) != 0)
		return -1;

	/* shmplan_make() sizes the carves below in this very order. */
	if (shmplan_make(c, &plan) != 0) {
		fprintf(stderr, "sipd: usrloc.max_contacts, tm.max_transactions "
		    "or auth.max_subscribers too large\n");
		return -1;
	}
	size = plan.sp_total;
	if ((rc = shm_create(size)) != 0) {
		shmplan_report_failure(&plan, -rc);
		return -1;
	}
	/* shm_table_begin(): core.shmmem reports per table. */
	if ((rc = shm_table_begin("location", tables_loctab_fill)) != 0 ||
	    (rc = loctab_create(c->c_ul_hash_size, c->c_ul_max_contacts,
	    &tables_lt)) != 0 ||
	    (rc = shm_table_begin("nonces", NULL)) != 0 ||
	    (rc = auth_init(c)) != 0 ||
	    (rc = shm_table_begin("reply_slots", NULL)) != 0 ||
	    (rc = replycache_create()) != 0 ||
	    (rc = shm_table_begin("stats", NULL)) != 0 ||
	    (rc = stats_create((unsigned)c->c_children + 1)) != 0 ||
	    (rc = shm_table_begin("runcfg", NULL)) != 0 ||
	    (rc = runcfg_create()) != 0 ||
	    (c->c_cluster.cu_kind != CONF_CLUSTER_OFF &&
	    ((rc = shm_table_begin("cluster", NULL)) != 0 ||
	    (rc = clusterstat_create()) != 0)) ||
	    (rc = shm_table_begin("transactions", tables_tmtab_fill)) != 0 ||
	    (rc = tmtab_create(c->c_tm_max_transactions)) != 0 ||
	    (rc = userdb_create(c)) != 0) {
		fprintf(stderr, "sipd: shared memory of %zu bytes: %s\n", size,
		    strerror(rc < 0 ? -rc : rc));
		log_err("shared memory of %zu bytes: %s", size,
		    strerror(rc < 0 ? -rc : rc));
		return -1;
	}
	log_info("shared memory: %zu bytes reserved (pages are used only "
	    "as the tables fill: mictl core.shmmem)", size);
	if (!shm_lock_robust())
		log_warnx("no robust futexes here (get_robust_list(2) fails, "
		    "as under qemu-user): a worker that dies holding a table "
		    "lock cannot be recovered from, and every process then "
		    "waits for that lock; restart sipd after a worker death");
	/* the capacity is a promise: the pools hold it at every limit */
	log_info("location table: room for %u bindings with every string "
	    "at its limit (usrloc.max_contacts), %u per AoR "
	    "(registrar.max_contacts, 0 = no limit)", c->c_ul_max_contacts,
	    c->c_reg_max_contacts);

	tables_remove_stale(c);
	if (tables_load_location(c) != 0 || tables_load_users(c) != 0)
		return -1;
	/* Before the workers are forked: they read the gateway there. */
	tables_publish_runcfg(c);
	return 0;
}

void
tables_publish_runcfg(const struct conf *c)
{
	struct runcfg_gw	 gw;
	struct runcfg_reg	 reg;
	struct runcfg_core	 core;

	memset(&gw, 0, sizeof(gw));
	gw.rg_set = c->c_gw_set;
	gw.rg_match_port = c->c_gw_match_port;
	gw.rg_port = c->c_gw_port;
	if (c->c_gw_set)
		gw.rg_addr = c->c_gw_addr;
	snprintf(gw.rg_ip, sizeof(gw.rg_ip), "%s", c->c_gw_ip);
	runcfg_set_gw(&gw);
	memset(&reg, 0, sizeof(reg));
	reg.rr_set = true;
	reg.rr_nat_detect = c->c_reg_nat_detect;
	reg.rr_min_expires = c->c_reg_min_expires;
	reg.rr_default_expires = c->c_reg_default_expires;
	reg.rr_max_expires = c->c_reg_max_expires;
	runcfg_set_reg(&reg);
	memset(&core, 0, sizeof(core));
	core.rc_set = true;
	core.rc_log_level = c->c_log_level;
	core.rc_nonce_expire = c->c_auth_nonce_expire;
	runcfg_set_core(&core);
}

int
tables_reload(const struct conf *c)
{
	struct errbuf	 errs = ERRBUF_INIT;
	int		 rc;

	log_notice("SIGHUP: re-reading subscriber and trusted");
	rc = tables_reload_users(c, true, true, &errs);
	errbuf_free(&errs);
	return rc;
}

int
tables_reload_users(const struct conf *c, bool subscribers, bool trusted,
    struct errbuf *errs)
{
	struct errbuf	 warns = ERRBUF_INIT;
	unsigned	 before = errs->eb_count;
	int		 rc;

	if (subscribers && trusted)
		rc = userdb_load(c, errs, &warns);
	else if (subscribers)
		rc = userdb_load_subscribers(c, errs, &warns);
	else
		rc = userdb_load_trusted(c, errs, &warns);
	log_errbuf(&warns, true);
	errbuf_free(&warns);
	if (rc != 0) {
		if (errs->eb_count == before)
			errbuf_add(errs, c->c_db_path, 0, "cannot load");
		log_errbuf(errs, false);
		log_warnx("reload failed; the tables loaded before stay in use");
		return -1;
	}
	log_info("subscriber: %zu users, trusted: %zu rows",
	    userdb_subscriber_count(), userdb_trusted_count());
	return 0;
}

/*
 * Replacing each changed AoR's rows costs an index range and live index
 * updates per AoR; past about one binding in eight changed, replacing
 * every row is cheaper (a million in SQLite: 1.1 s of CPU for 10,000
 * changes, 2.7 s for 60,000, 6.8 s for all of them).
 */
static bool
tables_mostly_changed(uint64_t changes)
{
	struct loctab_stats	 st;

	if (changes < 4096)
		return false;
	loctab_stats(tables_lt, &st);
	return changes * 8 > st.st_bindings;
}

int
tables_flush(bool force, struct errbuf *errs)
{
	struct store_db		 sdb;
	struct timespec		 t0, t1;
	uint64_t		 snapshot;
	unsigned		 synced;
	size_t			 rows = 0;
	bool			 whole;
	int			 rc;

	if (tables_lt == NULL)
		return 0;
	snapshot = loctab_changes(tables_lt);
	if (!force && tables_ever_flushed && snapshot == tables_flushed_at)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	userdb_store_db(tables_conf, &sdb);
	whole = tables_write_whole || !store_can_update_location(&sdb) ||
	    tables_mostly_changed(snapshot - tables_flushed_at);
	rc = locflush_write(tables_lt, &sdb, whole, &rows, errs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	tables_fs.fs_last_seconds = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (rc != 0) {
		/* The table forgot which AoRs lost bindings: all, next time. */
		tables_write_whole = true;
		tables_fs.fs_failed++;
		if (errs->eb_count == 0)
			errbuf_add(errs, tables_conf->c_db_path, 0,
			    "location flush failed: %s",
			    strerror(rc < 0 ? -rc : EIO));
		log_errbuf(errs, false);
		log_warnx("location flush failed: the old file is kept and "
		    "every binding stays in memory");
		return -1;
	}
	/* Only what did not change while we wrote becomes CS_SYNC. */
	synced = loctab_mark_synced(tables_lt, snapshot);
	tables_flushed_at = snapshot;
	tables_ever_flushed = true;
	tables_write_whole = false;
	tables_fs.fs_ok++;
	tables_fs.fs_last_ok = time(NULL);
	log_info("location: %zu bindings written (%s) in %.3f s (%u now "
	    "CS_SYNC)", rows, whole ? "whole table" : "changed AoRs",
	    tables_fs.fs_last_seconds, synced);
	return 0;
}

/*
 * Once a second: a lock taken over from a dead owner (and the data it
 * guards repaired) since the last look is logged, naming its table, so
 * a worker crash inside a table does not pass unseen.
 */
static void
tables_watch_locks(void)
{
	static unsigned	 seen_loc, seen_tm, seen_reply;
	unsigned	 held, n;

	n = loctab_lock_recoveries(tables_lt);
	if (n != seen_loc)
		log_warnx("location table: %u lock(s) taken over from a dead "
		    "process and repaired (%u since start)", n - seen_loc, n);
	seen_loc = n;
	tmtab_locks(0, &held, &n);
	if (n != seen_tm)
		log_warnx("transaction table: %u lock(s) taken over from a "
		    "dead process (%u since start)", n - seen_tm, n);
	seen_tm = n;
	replycache_locks(0, &held, &n);
	if (n != seen_reply)
		log_warnx("reply slots: %u lock(s) taken over from a dead "
		    "process and repaired (%u since start)", n - seen_reply, n);
	seen_reply = n;
}

static void
tables_on_expire(evutil_socket_t fd, short what, void *arg)
{
	unsigned	 n;

	(void)fd;
	(void)what;
	(void)arg;
	tables_watch_locks();
	if ((n = loctab_expire(tables_lt, time(NULL))) > 0)
		log_debug("location: %u bindings expired", n);
}

static void
tables_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct errbuf	 errs = ERRBUF_INIT;

	(void)fd;
	(void)what;
	(void)arg;
	(void)tables_flush(false, &errs);
	errbuf_free(&errs);
}

int
tables_start_timers(struct event_base *base)
{

	tables_expire_ev = event_new(base, -1, EV_PERSIST, tables_on_expire,
	    NULL);
	if (tables_expire_ev == NULL || evtime_add(tables_expire_ev, 1000) != 0)
		return -1;
	if (tables_conf->c_ul_flush_interval == 0)
		return 0;
	tables_flush_ev = event_new(base, -1, EV_PERSIST, tables_on_flush,
	    NULL);
	if (tables_flush_ev == NULL || evtime_add(tables_flush_ev,
	    (unsigned long)tables_conf->c_ul_flush_interval * 1000) != 0)
		return -1;
	return 0;
}

int
tables_shutdown(const struct conf *c)
{
	struct errbuf	 errs = ERRBUF_INIT;
	int		 rc = 0;

	(void)c;
	if (tables_expire_ev)
		event_free(tables_expire_ev);
	if (tables_flush_ev)
		event_free(tables_flush_ev);
	tables_expire_ev = tables_flush_ev = NULL;
	store_release();
	/* The workers are gone: this snapshot is final. */
	if (tables_flush(false, &errs) != 0) {
		log_err("final flush failed: bindings since the last good "
		    "flush are lost with this exit");
		rc = -1;
	}
	errbuf_free(&errs);
	userdb_free();
	return rc;
}

void
tables_flush_stats(struct tables_flush_stats *ret)
{
	*ret = tables_fs;
}
