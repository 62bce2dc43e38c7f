/*
 * mi_daemon: the interface the MI code reaches its daemon through, and
 * mi/'s logging on top of it (master process; see mi_daemon.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mi_daemon.h"

static const struct mi_daemon	*mi_daemon_iface;

const struct mi_daemon *
mi_daemon(void)
{
	return mi_daemon_iface;
}

void
mi_daemon_set(const struct mi_daemon *d)
{
	mi_daemon_iface = d;
}

static void
mi_log_v(enum mi_log_level level, const char *fmt, va_list ap)
{
	if (mi_daemon_iface != NULL && mi_daemon_iface->md_vlog != NULL)
		mi_daemon_iface->md_vlog(level, fmt, ap);
}

void
mi_log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	mi_log_v(MI_LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
mi_log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	mi_log_v(MI_LOG_INFO, fmt, ap);
	va_end(ap);
}

void
mi_log_notice(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	mi_log_v(MI_LOG_NOTICE, fmt, ap);
	va_end(ap);
}

void
mi_log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	mi_log_v(MI_LOG_WARN, fmt, ap);
	va_end(ap);
}

/*
 * strerror(errno) is appended here, not by the daemon: the va_list
 * cannot carry it, and errno must be read before anything else runs.
 */
void
mi_log_warn(const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mi_log_warnx("%s: %s", buf, strerror(saved));
}
