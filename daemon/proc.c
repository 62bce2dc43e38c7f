/*
 * proc: the process table kept by the master (role, index, pid) and used
 * by the supervisor to respawn workers and by MI core.ps to list them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

static struct proc_entry	*proc_table;
static int			 proc_n;
static time_t			 proc_started;

void
proc_table_init(int nworkers, const char *listen_text, bool cluster)
{
	int	 i;

	proc_n = nworkers + 1 + (cluster ? 1 : 0);
	if ((proc_table = calloc((size_t)proc_n, sizeof(*proc_table))) == NULL)
		fatal("proc table");
	proc_started = time(NULL);
	proc_table[0].pe_role = PROC_MASTER;
	proc_table[0].pe_pid = getpid();
	proc_table[0].pe_started = proc_started;
	snprintf(proc_table[0].pe_desc, sizeof(proc_table[0].pe_desc),
	    "master (supervisor, MI, storage)");
	for (i = 1; i < proc_n; i++) {
		proc_table[i].pe_role = PROC_WORKER;
		proc_table[i].pe_index = i;
		if (i > nworkers)
			snprintf(proc_table[i].pe_desc,
			    sizeof(proc_table[i].pe_desc),
			    "cluster sync (Redis -> location table)");
		else
			snprintf(proc_table[i].pe_desc,
			    sizeof(proc_table[i].pe_desc),
			    "udp worker %d sock=%s", i, listen_text);
	}
}

int
proc_count(void)
{
	return proc_n;
}

const struct proc_entry *
proc_get(int i)
{
	if (i < 0 || i >= proc_n)
		return NULL;
	return &proc_table[i];
}

time_t
proc_start_time(void)
{
	return proc_started;
}

struct proc_entry *
proc_by_pid(pid_t pid)
{
	int	 i;

	for (i = 0; i < proc_n; i++)
		if (proc_table[i].pe_pid == pid)
			return &proc_table[i];
	return NULL;
}

struct proc_entry *
proc_worker(int index)
{
	if (index < 1 || index >= proc_n)
		return NULL;
	return &proc_table[index];
}
