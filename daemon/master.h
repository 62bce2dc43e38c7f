/*
 * master: start-up, supervision and shutdown of the sipd process tree.
 */
#ifndef SIPD_MASTER_H
#define SIPD_MASTER_H

#include <stdbool.h>

#include "conf.h"

/* Exit codes of sipd (SPEC §2). */
#define SIPD_EXIT_OK		0
#define SIPD_EXIT_CONFIG	1
#define SIPD_EXIT_USAGE		2
#define SIPD_EXIT_BIND		3

/*
 * Runs sipd until SIGTERM/SIGINT; returns the process exit code.
 * Daemonizes first unless foreground; the shell's process then exits with
 * the start-up result of the daemon.
 */
int	master_run(struct conf *c, bool foreground);

#endif
