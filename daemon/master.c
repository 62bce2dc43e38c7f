/*
 * master: the supervisor process of sipd.
 *
 * Start-up order matters: tables are checked and the shared mapping and
 * the UDP sockets are made before any worker exists, so that every
 * worker inherits them (forked, never exec'd). Afterwards the master
 * handles no SIP: it respawns dead workers, serves MI from its own
 * libevent loop and, on SIGTERM/SIGINT, stops the workers before it
 * writes storage and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"

#include "http.h"
#include "evtime.h"
#include "log.h"
#include "loctab.h"
#include "master.h"
#include "mi_glue.h"
#include "mi_server.h"
#include "notify.h"
#include "proc.h"
#include "replycache.h"
#include "shm.h"
#include "shm_lock.h"
#include "stats.h"
#include "cluster_sync.h"
#include "paths.h"
#include "tables.h"
#include "tmtab.h"
#include "udp.h"
#include "worker.h"

#define MASTER_STOP_GRACE_SEC	5	/* then SIGKILL the workers */
#define RESPAWN_BURST		5	/* respawns allowed per window ... */
#define RESPAWN_WINDOW_SEC	10	/* ... before they are delayed */
#define RESPAWN_DELAY_SEC	2

struct master_worker {
	time_t		 mw_window_start;
	int		 mw_respawns;	/* in the current window */
	struct event	*mw_delay;	/* pending delayed respawn */
};

static struct conf		*master_conf;
static struct udp_sock		 master_socks[CONF_MAX_LISTEN];
static int			 master_nsocks;
static struct event_base	*master_base;
static struct master_worker	*master_workers;
static bool			 master_stopping;
static struct event		*master_kill_timer;

/*
 * In a new child: drop every descriptor but stdio and the UDP sockets,
 * so that MI connections and the master's event loop are not kept open
 * by workers (a client would never see EOF otherwise).
 */
static void
master_child_close_fds(void)
{
	int	 keep[CONF_MAX_LISTEN + 1], n = 0, i, j, t, from;

	for (i = 0; i < master_nsocks; i++)
		keep[n++] = master_socks[i].us_fd;
	for (i = 1; i < n; i++)		/* tiny insertion sort */
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	from = 3;
	for (i = 0; i < n; i++) {
		if (keep[i] > from)
			close_range((unsigned)from, (unsigned)keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	close_range((unsigned)from, ~0U, 0);
}

static int
master_spawn(int index)
{
	struct proc_entry	*pe = proc_worker(index);
	pid_t			 pid;
	char			 name[32];

	if ((pid = fork()) == -1) {
		log_warn("fork worker %d", index);
		return -1;
	}
	if (pid == 0) {
		/* The master's libevent signal handlers must not fire here. */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		/* A SIGKILLed master must not leave orphaned workers. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		master_child_close_fds();
		/* the process after the workers: cluster sync (proc.c) */
		if (index > master_conf->c_children) {
			log_procname("cluster");
			cluster_sync_run(master_conf, tables_loctab());
		}
		snprintf(name, sizeof(name), "worker[%d]", index);
		log_procname(name);
		worker_run(master_conf, tables_loctab(), master_socks,
		    master_nsocks, index);
	}
	pe->pe_pid = pid;
	pe->pe_started = time(NULL);
	log_debug("worker %d started, pid %d", index, (int)pid);
	return 0;
}

static void
master_delayed_respawn(evutil_socket_t fd, short what, void *arg)
{
	int	 index = (int)(intptr_t)arg;

	(void)fd;
	(void)what;
	if (!master_stopping)
		master_spawn(index);
}

static void
master_respawn(int index)
{
	struct master_worker	*mw = &master_workers[index];
	time_t			 now = time(NULL);

	if (now - mw->mw_window_start >= RESPAWN_WINDOW_SEC) {
		mw->mw_window_start = now;
		mw->mw_respawns = 0;
	}
	proc_worker(index)->pe_respawns++;
	if (++mw->mw_respawns <= RESPAWN_BURST) {
		master_spawn(index);
		return;
	}
	/* A worker that dies at once in a loop must not eat the CPU. */
	log_warnx("worker %d keeps dying, respawn delayed %d s", index,
	    RESPAWN_DELAY_SEC);
	if (mw->mw_delay == NULL)
		mw->mw_delay = evtimer_new(master_base, master_delayed_respawn,
		    (void *)(intptr_t)index);
	if (mw->mw_delay)
		evtime_add(mw->mw_delay, RESPAWN_DELAY_SEC * 1000UL);
}

static int
master_live_workers(void)
{
	int	 i, n = 0;

	for (i = 1; i < proc_count(); i++)
		if (proc_get(i)->pe_pid != 0)
			n++;
	return n;
}

/*
 * A worker that died holding table locks: the next locker of each takes
 * it over (and repairs what it guards). Named per table, for the log.
 */
static void
master_report_locks(pid_t pid)
{
	unsigned	 n, first = 0, recovered;
	/* Without robust futexes nobody is told the owner died. */
	const char	*next = shm_lock_robust() ? "the next user repairs them" :
			    "nobody can recover them here (no robust futexes): "
			    "restart sipd";

	if (tables_loctab() != NULL &&
	    (n = loctab_locks_held_by(tables_loctab(), pid, &first)) > 0)
		log_warnx("pid %d died holding %u location table lock(s) "
		    "(first: bucket %u); %s", (int)pid, n, first, next);
	tmtab_locks(pid, &n, &recovered);
	if (n > 0)
		log_warnx("pid %d died holding %u transaction table lock(s); "
		    "%s", (int)pid, n, shm_lock_robust() ?
		    "the next user takes them over" : next);
	replycache_locks(pid, &n, &recovered);
	if (n > 0)
		log_warnx("pid %d died holding %u reply slot lock(s); %s",
		    (int)pid, n, next);
}

static void
master_reap(void)
{
	struct proc_entry	*pe;
	pid_t			 pid;
	int			 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((pe = proc_by_pid(pid)) == NULL || pe->pe_role != PROC_WORKER)
			continue;
		pe->pe_pid = 0;
		if (master_stopping)
			continue;
		if (WIFSIGNALED(status))
			log_warnx("worker %d (pid %d) killed by signal %d",
			    pe->pe_index, (int)pid, WTERMSIG(status));
		else
			log_warnx("worker %d (pid %d) exited with status %d",
			    pe->pe_index, (int)pid, WEXITSTATUS(status));
		master_report_locks(pid);
		master_respawn(pe->pe_index);
	}
	if (master_stopping && master_live_workers() == 0)
		event_base_loopexit(master_base, NULL);
}

static void
master_signal_workers(int sig)
{
	int	 i;

	for (i = 1; i < proc_count(); i++)
		if (proc_get(i)->pe_pid != 0)
			kill(proc_get(i)->pe_pid, sig);
}

static void
master_kill_stragglers(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_warnx("workers did not stop in %d s, killing them",
	    MASTER_STOP_GRACE_SEC);
	master_signal_workers(SIGKILL);
}

static void
master_on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	switch (sig) {
	case SIGCHLD:
		master_reap();
		break;
	case SIGTERM:
	case SIGINT:
		if (master_stopping)
			break;
		log_info("signal %d: stopping", (int)sig);
		master_stopping = true;
		notify_send("STOPPING=1");
		master_signal_workers(SIGTERM);
		master_kill_timer = evtimer_new(master_base,
		    master_kill_stragglers, NULL);
		if (master_kill_timer)
			evtime_add(master_kill_timer,
			    MASTER_STOP_GRACE_SEC * 1000UL);
		master_reap();
		break;
	case SIGHUP:
		/* The tables are in shm: workers see them at once. */
		if (!master_stopping)
			(void)tables_reload(master_conf);
		break;
	}
}

/*
 * The pid file, locked (flock) for the daemon's whole life: a second sipd
 * with the same pid_file is refused instead of taking the file over (and
 * deleting it on its way out, which lost the running instance for the init
 * script). Written in place, since a rename would move the lock's inode.
 * -1 with errno; EWOULDBLOCK with *ret_other the running instance's pid
 * (0 when unreadable).
 */
static int	master_pid_fd = -1;

static int
master_lock_pidfile(const char *path, long *ret_other)
{
	char	 buf[32];
	ssize_t	 n;
	int	 fd, saved;

	*ret_other = 0;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		saved = errno;
		if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
			buf[n] = '\0';
			*ret_other = strtol(buf, NULL, 10);
		}
		close(fd);
		errno = saved;
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	master_pid_fd = fd;
	return 0;
}

/* Exit: the file goes while still locked, then the lock. */
static void
master_unlock_pidfile(const char *path)
{
	if (master_pid_fd == -1)
		return;
	unlink(path);
	close(master_pid_fd);
	master_pid_fd = -1;
}

/*
 * Daemon start-up with the result passed back to the shell: the
 * foreground process waits on a pipe and exits with the daemon's
 * start-up status, so "sipd" fails visibly when the port is taken.
 */
static int
master_daemonize(void)
{
	int	 fds[2], devnull;
	pid_t	 pid;
	char	 status;

	if (pipe2(fds, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			_exit(SIPD_EXIT_CONFIG);
		_exit(status);
	}
	close(fds[0]);
	if (setsid() == -1)
		fatal("setsid");
	if ((devnull = open("/dev/null", O_RDWR)) != -1) {
		dup2(devnull, STDIN_FILENO);
		close(devnull);
	}
	return fds[1];
}

/* Tells the waiting shell process how start-up ended. */
static void
master_report_start(int fd, int status)
{
	char	 c = (char)status;

	if (fd < 0)
		return;
	(void)!write(fd, &c, 1);
	close(fd);
}

/*
 * Start-up errors went to the terminal; from now on only the log. Done
 * before the workers are forked so that none of them keeps the shell's
 * stdout/stderr open (a caller reading them would never see EOF).
 */
static void
master_detach_stdio(void)
{
	int	 devnull;

	if ((devnull = open("/dev/null", O_RDWR)) == -1)
		return;
	dup2(devnull, STDOUT_FILENO);
	if (!log_is_stderr())
		dup2(devnull, STDERR_FILENO);
	close(devnull);
}

int
master_run(struct conf *c, bool foreground)
{
	struct event	*ev_term, *ev_int, *ev_hup, *ev_chld;
	struct errbuf	 errs = ERRBUF_INIT;
	char		 err[512];
	int		 status_fd = -1, i, exit_code;
	long		 other = 0;

	master_conf = c;
	if (!foreground)
		status_fd = master_daemonize();
	log_procname("master");

	/* First: nothing of a running instance (MI socket, tables) is touched. */
	if (paths_make_parent(c->c_pid_file) == -1 ||
	    master_lock_pidfile(c->c_pid_file, &other) == -1) {
		if (errno == EWOULDBLOCK) {
			fprintf(stderr, "sipd: another sipd is running (pid %ld) "
			    "with pid file %s\n", other, c->c_pid_file);
			log_warnx("another sipd is running (pid %ld) with pid "
			    "file %s", other, c->c_pid_file);
		} else {
			fprintf(stderr, "sipd: pid file %s: %s\n",
			    c->c_pid_file, strerror(errno));
			log_warn("pid file %s", c->c_pid_file);
		}
		master_report_start(status_fd, SIPD_EXIT_CONFIG);
		return SIPD_EXIT_CONFIG;
	}
	if (tables_load(c) != 0) {
		master_unlock_pidfile(c->c_pid_file);
		master_report_start(status_fd, SIPD_EXIT_CONFIG);
		return SIPD_EXIT_CONFIG;
	}
	stats_set_row(0);
	if (udp_open_all(c, master_socks, &master_nsocks, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "sipd: %s\n", err);
		log_warnx("%s", err);
		master_unlock_pidfile(c->c_pid_file);
		master_report_start(status_fd, SIPD_EXIT_BIND);
		return SIPD_EXIT_BIND;
	}
	proc_table_init(c->c_children, master_socks[0].us_text,
	    c->c_cluster.cu_kind != CONF_CLUSTER_OFF);
	if ((master_workers = calloc((size_t)proc_count(),
	    sizeof(*master_workers))) == NULL)
		fatal("worker table");

	signal(SIGPIPE, SIG_IGN);
	if ((master_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (mi_server_start(master_base, c, mi_glue(c), &errs) != 0) {
		fputs(errbuf_text(&errs), stderr);
		log_errbuf(&errs, false);
		errbuf_free(&errs);
		master_unlock_pidfile(c->c_pid_file);
		master_report_start(status_fd, SIPD_EXIT_CONFIG);
		return SIPD_EXIT_CONFIG;
	}

	/* Off unless http.listen is set; never on the SIP path. */
	if (http_start(master_base, c) != 0) {
		fprintf(stderr, "sipd: http.listen %s: cannot listen\n",
		    c->c_http.ch_listen);
		mi_server_stop();
		master_unlock_pidfile(c->c_pid_file);
		master_report_start(status_fd, SIPD_EXIT_BIND);
		return SIPD_EXIT_BIND;
	}
	if (tables_start_timers(master_base) != 0)
		fatalx("cannot start the table timers");
	ev_term = evsignal_new(master_base, SIGTERM, master_on_signal, NULL);
	ev_int = evsignal_new(master_base, SIGINT, master_on_signal, NULL);
	ev_hup = evsignal_new(master_base, SIGHUP, master_on_signal, NULL);
	ev_chld = evsignal_new(master_base, SIGCHLD, master_on_signal, NULL);
	if (!ev_term || !ev_int || !ev_hup || !ev_chld ||
	    evsignal_add(ev_term, NULL) || evsignal_add(ev_int, NULL) ||
	    evsignal_add(ev_hup, NULL) || evsignal_add(ev_chld, NULL))
		fatalx("cannot install signal events");

	if (!foreground)
		master_detach_stdio();
	for (i = 1; i < proc_count(); i++)
		master_spawn(i);
	log_info("sipd %s ready: %d workers on %s", SIPD_VERSION,
	    c->c_children, master_socks[0].us_text);
	/* The sockets were bound before the fork: workers are listening. */
	notify_send("READY=1");
	master_report_start(status_fd, SIPD_EXIT_OK);

	event_base_dispatch(master_base);

	/* Workers are gone: nobody changes the tables during this flush. */
	exit_code = tables_shutdown(c) == 0 ? SIPD_EXIT_OK : SIPD_EXIT_CONFIG;
	http_stop();
	mi_server_stop();
	master_unlock_pidfile(c->c_pid_file);
	udp_close_all(master_socks, master_nsocks);
	for (i = 1; i < proc_count(); i++)
		if (master_workers[i].mw_delay)
			event_free(master_workers[i].mw_delay);
	if (master_kill_timer)
		event_free(master_kill_timer);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_free(ev_chld);
	event_base_free(master_base);
	free(master_workers);
	shm_destroy();
	log_info("stopped");
	return exit_code;
}
