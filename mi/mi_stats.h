/*
 * mi_stats: the statistics and run-time config MI commands
 * (stats.get_statistics, stats.reset_statistics, cfg.get, cfg.set),
 * served by the master.
 */
#ifndef SIPD_MI_STATS_H
#define SIPD_MI_STATS_H

#include "conf.h"

/*
 * Adds the stats.* and cfg.* commands to the MI command table, and
 * publishes c's PSTN gateway (pstn.*) to the workers through runcfg.
 * Master only, once, after tables_load() (stats and runcfg exist) and
 * before the workers are forked. c is the master's live config: cfg.get
 * reads it and a successful cfg.set changes it. 0 or -errno of
 * mi_cmd_register().
 */
int	mi_stats_register(struct conf *c);

#endif
