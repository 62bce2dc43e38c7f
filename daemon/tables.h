/*
 * tables: what the master does with storage and the shared tables —
 * checking and loading them at start (before fork, so workers inherit
 * them), reloading on SIGHUP, expiring bindings, writing the location
 * table back periodically, on MI ul.flush and at exit.
 */
#ifndef SIPD_TABLES_H
#define SIPD_TABLES_H

#include <time.h>

#include <event2/event.h>

#include "conf.h"
#include "errbuf.h"

struct loctab;

/* sipd -c: prints every error/warning to stderr; 0 ok, -1 errors. */
int	tables_check(const struct conf *c);
/*
 * Master start-up: checks the tables, sizes and creates shm, creates the
 * location table and the auth state in it, loads `location` into it and
 * the subscriber/trusted tables into memory. 0, or -1 (the reasons are
 * printed and logged).
 */
int	tables_load(const struct conf *c);
/*
 * Master only: publishes c's run-time keys (the PSTN gateway, pstn.*)
 * to every process through shm/runcfg. tables_load() does it once; MI
 * cfg.set again after changing one.
 */
void	tables_publish_runcfg(const struct conf *c);
/* Master: starts the expiry (1 s) and flush (usrloc.flush_interval) timers. */
int	tables_start_timers(struct event_base *base);
/*
 * Master, SIGHUP: re-reads subscriber and trusted and swaps both in
 * (shm: every worker sees them at its next request, none restarts); on
 * any error the old tables stay and -1 is returned (the FILE:LINE
 * errors are logged).
 */
int	tables_reload(const struct conf *c);
/*
 * The same for MI (subscriber.reload, permissions.trustedReload): one
 * table or both; the errors also come back in errs.
 */
int	tables_reload_users(const struct conf *c, bool subscribers,
	    bool trusted, struct errbuf *errs);
/*
 * Master only: writes the location table if it changed since the last
 * write (force: write anyway). 0 ok; -1 with the reason in errs (the old
 * file is intact and every binding stays in memory).
 */
int	tables_flush(bool force, struct errbuf *errs);
/*
 * Master, after the workers stopped: final flush, then free. -1 when the
 * final flush failed (sipd then exits 1: the bindings written last time
 * are all the file has).
 */
int	tables_shutdown(const struct conf *c);

/* The location table in shm; valid in the master and every worker. */
struct loctab *tables_loctab(void);

/* Location write-backs since start, for /metrics. */
struct tables_flush_stats {
	unsigned long	 fs_ok;
	unsigned long	 fs_failed;
	double		 fs_last_seconds;	/* duration of the last one */
	time_t		 fs_last_ok;		/* 0: none yet */
};
void	tables_flush_stats(struct tables_flush_stats *ret);

#endif
