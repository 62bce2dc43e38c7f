/*
 * mi_glue: the sipd master's side of mi/mi_daemon.h -- what the MI
 * commands may ask of the daemon (location table, flush, live config,
 * process list, log), in one table handed to mi_server_start().
 */
#ifndef SIPD_MI_GLUE_H
#define SIPD_MI_GLUE_H

#include "conf.h"
#include "mi_daemon.h"

/*
 * The master's interface for MI; c is its live config (cfg.get reads
 * it, cfg.set changes it). Master only, after tables_load().
 */
const struct mi_daemon *mi_glue(struct conf *c);

#endif
