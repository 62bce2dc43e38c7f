/*
 * mi_stats: the statistics MI commands (stats.get_statistics,
 * stats.reset_statistics), served by the master.
 */
#ifndef SIPD_MI_STATS_H
#define SIPD_MI_STATS_H

/*
 * Adds the stats.* commands to the MI command table (mi_server_start()
 * does). The counters are shm/stats; the gauges read the config and
 * the location table through mi_daemon(). 0 or -errno of
 * mi_cmd_register().
 */
int	mi_stats_register(void);

#endif
