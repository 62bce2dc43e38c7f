/*
 * mi_daemon: the one way the MI server and its handlers reach the
 * process that serves them (the sipd master, or a test's fake).
 *
 * mi/ sits beside daemon/, not above it: it includes conf/ and shm/
 * (the shared tables it reports on) but nothing of daemon/. What only
 * the daemon knows -- where the location table is, how to write it to
 * storage, the live config, the process list, the log -- comes through
 * this table of functions, which the daemon (daemon/mi_glue.c) hands to
 * mi_server_start(). Every member must be set (md_users may be NULL).
 */
#ifndef SIPD_MI_DAEMON_H
#define SIPD_MI_DAEMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "loctab.h"
#include "trustab.h"
#include "usertab.h"

struct conf;
struct errbuf;
struct loctab;

enum mi_log_level {
	MI_LOG_DEBUG,
	MI_LOG_INFO,
	MI_LOG_NOTICE,	/* changes made over MI, with who made them */
	MI_LOG_WARN,
};

/*
 * The subscriber and trusted tables (subscriber.*, trusted.*,
 * permissions.*). Edits are checked, persisted, then published by the
 * daemon; they return 0, or -1 with the reason in errs and *ret_code an
 * HTTP-like code (400 bad argument, 404 not found, 409 exists, 500
 * storage failed, 503 full).
 */
struct mi_users {
	int	 (*mu_sub_add)(const char *user, const char *password,
		    const char *domain, struct errbuf *errs, int *ret_code);
	int	 (*mu_sub_passwd)(const char *user, const char *password,
		    struct errbuf *errs, int *ret_code);
	int	 (*mu_sub_rm)(const char *user, const char *domain,
		    struct errbuf *errs, int *ret_code);
	/* 0, -ENOENT, -EAGAIN (see usertab_get()). */
	int	 (*mu_sub_get)(const char *user, struct usertab_user *ret);
	int	 (*mu_sub_at)(unsigned i, struct usertab_user *ret);
	/* The domain subscriber.add uses when none is given. */
	const char *(*mu_default_domain)(void);
	/* Reloads from storage; -1 with FILE:LINE errors, old tables kept. */
	int	 (*mu_reload)(bool subscribers, bool trusted,
		    struct errbuf *errs);
	int	 (*mu_trusted_add)(const char *src_ip, const char *proto,
		    const char *pattern, const char *tag, int64_t *ret_id,
		    struct errbuf *errs, int *ret_code);
	int	 (*mu_trusted_rm)(int64_t id, struct errbuf *errs,
		    int *ret_code);
	int	 (*mu_trusted_rows)(struct trustab_row *rows, size_t cap,
		    size_t *ret_n);
};

struct mi_daemon {
	/* The location table (ul.*, usrloc gauges), or NULL: none. */
	struct loctab	*(*md_loctab)(void);
	/*
	 * After ul.add/ul.rm_contact changed contact of aor (ul.rm: contact
	 * empty, every contact): shares the change with the other nodes
	 * (cluster.redis). 0, or -1 + errs: the change stays on this node.
	 * NULL: a single node.
	 */
	int		 (*md_ul_changed)(struct loctab *lt,
			    struct loctab_str aor, struct loctab_str contact,
			    struct errbuf *errs);
	/* ul.flush: writes the location table now. 0, or -1 + errs. */
	int		 (*md_flush)(struct errbuf *errs);
	/*
	 * The live config: cfg.get reads it, cfg.set writes a validated
	 * copy over it and then calls md_conf_changed() so the daemon
	 * publishes the run-time keys (pstn.*) to its workers.
	 */
	struct conf	*(*md_conf)(void);
	void		 (*md_conf_changed)(const struct conf *c);
	/*
	 * core.ps: process i of n (0 = the supervisor). 0 with pid and a
	 * description valid until the next call, -1 past the end. A pid
	 * of 0 is a slot with no process right now (not listed).
	 */
	int		 (*md_proc)(int i, pid_t *ret_pid,
			    const char **ret_desc);
	/* core.uptime: when the serving process started. */
	time_t		 (*md_start_time)(void);
	/* The user tables, or NULL when this process has none. */
	const struct mi_users *md_users;
	/* One log line (no newline); MI_LOG_WARN lines may be errors. */
	void		 (*md_vlog)(enum mi_log_level level,
			    const char *fmt, va_list ap);
};

/* The interface in use (set by mi_server_start()), or NULL. */
const struct mi_daemon *mi_daemon(void);
/* Sets it; mi_server_start() does this. Tests may call it alone. */
void	mi_daemon_set(const struct mi_daemon *d);

/* Logging of mi/ through md_vlog; nothing when no interface is set. */
void	mi_log_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	mi_log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	mi_log_notice(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	mi_log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* As mi_log_warnx(), with ": strerror(errno)" appended. */
void	mi_log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
