/*
 * proc: the master's table of sipd processes (role, index, pid).
 * Lives in the master's own memory: only the master forks, reaps and
 * serves MI (core.ps), so nobody else needs it.
 */
#ifndef SIPD_PROC_H
#define SIPD_PROC_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

enum proc_role {
	PROC_MASTER,
	PROC_WORKER,
};

struct proc_entry {
	enum proc_role	 pe_role;
	int		 pe_index;	/* worker number, 0 for master */
	pid_t		 pe_pid;	/* 0 while not running */
	time_t		 pe_started;
	unsigned	 pe_respawns;	/* times the master restarted it */
	char		 pe_desc[96];	/* "master", "udp worker 1 sock=udp:..." */
};

int	proc_count(void);
/* i in [0, proc_count()); entry 0 is the master. */
const struct proc_entry *proc_get(int i);

/* Process start time of the master (core.uptime). */
time_t	proc_start_time(void);

/* master side */
/* cluster: one more supervised process after the workers (cluster.redis) */
void	proc_table_init(int nworkers, const char *listen_text, bool cluster);
struct proc_entry *proc_by_pid(pid_t pid);
struct proc_entry *proc_worker(int index);

#endif
