/*
 * log: syslog or stderr logging for every sipd process.
 *
 * Each process sets its name once after fork (log_procname) so every line
 * says who wrote it. Lines above the configured level are dropped before
 * any formatting work.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "runcfg.h"

static bool	 log_to_stderr = true;
static int	 log_level = LOG_INFO;
static char	 log_name[32] = "sipd";

/*
 * The level in force: cfg.set log level changes it for every process
 * through runcfg; the start-up level until runcfg is set up (sipd -c,
 * tests).
 */
static int
log_threshold(void)
{
	struct runcfg_core	 rc;

	return runcfg_core(&rc) == 0 ? rc.rc_log_level : log_level;
}

void
log_init(bool to_stderr, int level, int facility)
{
	log_to_stderr = to_stderr;
	log_level = level;
	if (!to_stderr)
		openlog("sipd", LOG_PID | LOG_NDELAY, facility);
}

bool
log_is_stderr(void)
{
	return log_to_stderr;
}

void
log_procname(const char *name)
{
	snprintf(log_name, sizeof(log_name), "%s", name);
}

static const char *
log_prio_name(int prio)
{
	switch (prio) {
	case LOG_CRIT:
		return "fatal";
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
		return "notice";
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

static void
log_vwrite(int prio, const char *errstr, const char *fmt, va_list ap)
{
	char		 msg[2048];
	struct timespec	 ts;
	struct tm	 tm;
	char		 stamp[32];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (!log_to_stderr) {
		if (errstr)
			syslog(prio, "%s: %s: %s", log_name, msg, errstr);
		else
			syslog(prio, "%s: %s", log_name, msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	/* One write per line so lines of different processes don't mix. */
	if (errstr)
		dprintf(STDERR_FILENO, "%s.%03ld %s[%d] %s: %s: %s\n", stamp,
		    ts.tv_nsec / 1000000, log_name, (int)getpid(),
		    log_prio_name(prio), msg, errstr);
	else
		dprintf(STDERR_FILENO, "%s.%03ld %s[%d] %s: %s\n", stamp,
		    ts.tv_nsec / 1000000, log_name, (int)getpid(),
		    log_prio_name(prio), msg);
}

void
log_err(const char *fmt, ...)
{
	va_list	 ap;

	if (log_threshold() < LOG_ERR)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_ERR, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	if (log_threshold() < LOG_WARNING)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	if (log_threshold() < LOG_WARNING)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (log_threshold() < LOG_INFO)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list	 ap;

	if (log_threshold() < LOG_NOTICE)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_NOTICE, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_threshold() < LOG_DEBUG)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_errbuf(const struct errbuf *eb, bool warning)
{
	const char	*p = errbuf_text(eb), *nl;
	int		 n;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		n = nl ? (int)(nl - p) : (int)strlen(p);
		if (warning)
			log_warnx("%.*s", n, p);
		else
			log_err("%.*s", n, p);
		p += n + (nl != NULL);
	}
}

void
log_vwarnx_limited(struct log_ratelimit *lr, time_t now, const char *fmt,
    va_list ap)
{
	char	 line[512];

	if (now != lr->lr_sec) {
		if (lr->lr_n > lr->lr_max)
			log_warnx("%s: %u more warnings suppressed",
			    lr->lr_prefix, lr->lr_n - lr->lr_max);
		lr->lr_sec = now;
		lr->lr_n = 0;
	}
	if (lr->lr_n++ >= lr->lr_max)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	log_warnx("%s: %s", lr->lr_prefix, line);
}

void
log_warnx_limited(struct log_ratelimit *lr, time_t now, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwarnx_limited(lr, now, fmt, ap);
	va_end(ap);
}

const char *
log_quote(char *out, size_t cap, const char *s, size_t len, size_t max)
{
	size_t		 i, n = 0;
	unsigned char	 ch;

	for (i = 0; i < len && i < max && n + 5 < cap; i++) {
		ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			out[n++] = (char)ch;
		else
			n += (size_t)snprintf(out + n, cap - n, "\\x%02x", ch);
	}
	if (i < len && n + 4 < cap) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}
