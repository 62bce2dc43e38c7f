/*
 * log: one log API for every sipd process (OpenBSD daemons' style).
 * Lines go to syslog, or to stderr with -E; each names its process,
 * e.g. "worker[2]: ...". log_warn() appends strerror(errno).
 */
#ifndef SIPD_LOG_H
#define SIPD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>
#include <time.h>

#include "errbuf.h"

void	log_init(bool to_stderr, int level, int facility);
bool	log_is_stderr(void);
/* Process name used as prefix, e.g. "master" or "worker[3]". */
void	log_procname(const char *name);

/* Logs every line of eb, as warnings or as errors. */
void	log_errbuf(const struct errbuf *eb, bool warning);

void	log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
/*
 * Warnings caused by remote input, at most lr_max a second per limiter
 * so that hostile traffic cannot flood the log; the number suppressed is
 * reported in the next second. Prefix names the module ("registrar").
 */
struct log_ratelimit {
	const char	*lr_prefix;
	unsigned	 lr_max;
	time_t		 lr_sec;
	unsigned	 lr_n;
};
void	log_vwarnx_limited(struct log_ratelimit *lr, time_t now,
	    const char *fmt, va_list ap);
void	log_warnx_limited(struct log_ratelimit *lr, time_t now,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * User-supplied bytes for a log line: at most max of them, printable
 * ASCII as is, the rest \xHH, "..." when cut. out needs max * 4 + 8.
 */
const char *log_quote(char *out, size_t cap, const char *s, size_t len,
	    size_t max);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
