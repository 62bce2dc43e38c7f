/*
 * mi_cmd: the table of MI commands (master process).
 *
 * Each module owns its commands: it declares a static table of
 * struct mi_cmd in its own file and hands it to mi_cmd_register() once
 * at start-up, in the master. The server checks the argument count
 * against mc_min_args/mc_max_args before calling the handler, so a
 * handler only scans its (string) arguments and fills the reply
 * (Kamailio's rpc_t model). Core commands (system.*, core.*) live in
 * mi_cmd.c and are registered by mi_cmd_init().
 */
#ifndef SIPD_MI_CMD_H
#define SIPD_MI_CMD_H

#include <stddef.h>

#include "mi_reply.h"

#define MI_CMD_ANY_ARGS		(-1)	/* mc_max_args: no upper bound */

/*
 * argv[0..argc) are the request's params as NUL-terminated text (JSON
 * numbers and booleans arrive as their JSON text). They and r live only
 * for the call; a streamed reply must copy what it needs into its state.
 */
typedef void	(*mi_cmd_handler)(struct mi_reply *r, int argc,
		    char *const *argv);

struct mi_cmd {
	const char	*mc_name;	/* "ul.dump", Kamailio's names */
	/*
	 * One line, sercmd style: usage, " - ", what it does.
	 * e.g. "ul.dump [brief] - dump the location table"
	 */
	const char	*mc_help;
	int		 mc_min_args;
	int		 mc_max_args;	/* or MI_CMD_ANY_ARGS */
	mi_cmd_handler	 mc_handler;
};

/*
 * Registers n commands; the table must outlive the server (static).
 * 0, -EEXIST when a name is taken (nothing of this table registered),
 * -EINVAL for an entry without name, help or handler, -ENOMEM.
 */
int	mi_cmd_register(const struct mi_cmd *table, size_t n);
/* Registers the core commands once; later calls do nothing. 0 or -errno. */
int	mi_cmd_init(void);
/* Looks a name (or the alias "ls") up; NULL when unknown. */
const struct mi_cmd *mi_cmd_find(const char *name);
/* Forgets every table (tests, shutdown). */
void	mi_cmd_reset(void);

#endif
