/*
 * tables: the master's use of storage — checking and loading the tables
 * at start, reloading subscriber/trusted on SIGHUP, writing back at exit.
 */
#ifndef SIPD_TABLES_H
#define SIPD_TABLES_H

#include "conf.h"

/* sipd -c: prints every error/warning to stderr; 0 ok, -1 errors. */
int	tables_check(const struct conf *c);
/* Master start-up: loads tables, creates shm; 0 or an exit code. */
int	tables_load(const struct conf *c);
void	tables_reload(const struct conf *c);
void	tables_shutdown(const struct conf *c);

#endif
