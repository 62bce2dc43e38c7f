/*
 * mi_glue: how the MI commands reach the sipd master (mi/mi_daemon.h).
 * mi/ includes nothing of daemon/; this file is the one place that
 * joins them, in the master process, which serves MI from its loop.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "mi_glue.h"
#include "proc.h"
#include "tables.h"

static struct conf	*mi_glue_conf;

static struct loctab *
mi_glue_loctab(void)
{
	return tables_loctab();
}

static int
mi_glue_flush(struct errbuf *errs)
{
	return tables_flush(true, errs);
}

static struct conf *
mi_glue_get_conf(void)
{
	return mi_glue_conf;
}

static void
mi_glue_conf_changed(const struct conf *c)
{
	tables_publish_runcfg(c);
}

static int
mi_glue_proc(int i, pid_t *ret_pid, const char **ret_desc)
{
	const struct proc_entry	*pe;

	if (i < 0 || i >= proc_count() || (pe = proc_get(i)) == NULL)
		return -1;
	*ret_pid = pe->pe_pid;
	*ret_desc = pe->pe_desc;
	return 0;
}

static time_t
mi_glue_start_time(void)
{
	return proc_start_time();
}

static void
mi_glue_vlog(enum mi_log_level level, const char *fmt, va_list ap)
{
	char	 buf[1024];

	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	switch (level) {
	case MI_LOG_DEBUG:
		log_debug("%s", buf);
		break;
	case MI_LOG_INFO:
		log_info("%s", buf);
		break;
	case MI_LOG_NOTICE:
		log_notice("%s", buf);
		break;
	case MI_LOG_WARN:
		log_warnx("%s", buf);
		break;
	}
}

static const struct mi_daemon mi_glue_iface = {
	.md_loctab = mi_glue_loctab,
	.md_flush = mi_glue_flush,
	.md_conf = mi_glue_get_conf,
	.md_conf_changed = mi_glue_conf_changed,
	.md_proc = mi_glue_proc,
	.md_start_time = mi_glue_start_time,
	.md_vlog = mi_glue_vlog,
};

const struct mi_daemon *
mi_glue(struct conf *c)
{
	mi_glue_conf = c;
	return &mi_glue_iface;
}
