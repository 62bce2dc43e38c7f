/*
 * mi_glue: how the MI commands reach the sipd master (mi/mi_daemon.h).
 * mi/ includes nothing of daemon/; this file is the one place that
 * joins them, in the master process, which serves MI from its loop.
 */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cluster_mi.h"
#include "log.h"
#include "mi_glue.h"
#include "proc.h"
#include "tables.h"
#include "userdb.h"

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

static int
mi_glue_ul_changed(struct loctab *lt, struct loctab_str aor,
    struct loctab_str contact, struct errbuf *errs)
{
	return cluster_mi_share(lt, aor, contact, errs);
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

static int
mi_glue_sub_add(const char *user, const char *password, const char *domain,
    struct errbuf *errs, int *ret_code)
{
	return userdb_subscriber_add(mi_glue_conf, user, password, domain,
	    errs, ret_code);
}

static int
mi_glue_sub_passwd(const char *user, const char *password,
    struct errbuf *errs, int *ret_code)
{
	return userdb_subscriber_passwd(mi_glue_conf, user, password, errs,
	    ret_code);
}

static int
mi_glue_sub_rm(const char *user, const char *domain, struct errbuf *errs,
    int *ret_code)
{
	return userdb_subscriber_rm(mi_glue_conf, user, domain, errs,
	    ret_code);
}

static int
mi_glue_sub_get(const char *user, struct usertab_user *ret)
{
	return userdb_subscriber_get(user, strlen(user), ret);
}

/*
 * subscriber.add without a domain: auth.realm when set; else the domain
 * the table's users have; else the first listen address that is not a
 * wildcard; else "localhost". With auth.calculate_ha1 = yes (the
 * default) only the password is used, so this matters for ha1 only.
 */
static const char *
mi_glue_default_domain(void)
{
	static char			 domain[USERTAB_DOMAIN_MAX + 1];
	static struct usertab_user	 u;
	const struct conf		*c = mi_glue_conf;
	const struct sockaddr_storage	*ss;
	int				 i;

	if (c->c_auth_realm[0] != '\0')
		return c->c_auth_realm;
	if (userdb_subscriber_at(0, &u) == 0 && u.uu_domain_len > 0) {
		memcpy(domain, u.uu_domain, (size_t)u.uu_domain_len + 1);
		explicit_bzero(&u, sizeof(u));
		return domain;
	}
	for (i = 0; i < c->c_nlisten; i++) {
		ss = &c->c_listen[i].cl_addr;
		if (ss->ss_family == AF_INET &&
		    ((const struct sockaddr_in *)ss)->sin_addr.s_addr !=
		    htonl(INADDR_ANY))
			return inet_ntop(AF_INET, &((const struct sockaddr_in *)
			    ss)->sin_addr, domain, sizeof(domain));
	}
	return "localhost";
}

static int
mi_glue_reload(bool subscribers, bool trusted, struct errbuf *errs)
{
	return tables_reload_users(mi_glue_conf, subscribers, trusted, errs);
}

static int
mi_glue_trusted_add(const char *src_ip, const char *proto, const char *pattern,
    const char *tag, int64_t *ret_id, struct errbuf *errs, int *ret_code)
{
	return userdb_trusted_add(mi_glue_conf, src_ip, proto, pattern, tag,
	    ret_id, errs, ret_code);
}

static int
mi_glue_trusted_rm(int64_t id, struct errbuf *errs, int *ret_code)
{
	return userdb_trusted_rm(mi_glue_conf, id, errs, ret_code);
}

static const struct mi_users mi_glue_users = {
	.mu_sub_add = mi_glue_sub_add,
	.mu_sub_passwd = mi_glue_sub_passwd,
	.mu_sub_rm = mi_glue_sub_rm,
	.mu_sub_get = mi_glue_sub_get,
	.mu_sub_at = userdb_subscriber_at,
	.mu_default_domain = mi_glue_default_domain,
	.mu_reload = mi_glue_reload,
	.mu_trusted_add = mi_glue_trusted_add,
	.mu_trusted_rm = mi_glue_trusted_rm,
	.mu_trusted_rows = userdb_trusted_rows,
};

static const struct mi_daemon mi_glue_iface = {
	.md_loctab = mi_glue_loctab,
	.md_flush = mi_glue_flush,
	.md_ul_changed = mi_glue_ul_changed,
	.md_conf = mi_glue_get_conf,
	.md_conf_changed = mi_glue_conf_changed,
	.md_proc = mi_glue_proc,
	.md_start_time = mi_glue_start_time,
	.md_users = &mi_glue_users,
	.md_vlog = mi_glue_vlog,
};

const struct mi_daemon *
mi_glue(struct conf *c)
{
	mi_glue_conf = c;
	cluster_mi_init(c);
	return &mi_glue_iface;
}
