/*
 * mi_stats: statistics and run-time config over MI, run by the master
 * in its MI loop.
 *
 * stats.get_statistics [all|GROUP:|NAME|GROUP:NAME]... answers one JSON
 * object of "group:name": number members, in a fixed order (the
 * counters of shm/stats.h group by group, each group followed by its
 * gauges):
 *   {"core:rcv_requests":12,"core:rcv_replies":0,...,
 *    "registrar:accepted_regs":3,...,"usrloc:location-contacts":2}
 * so `mictl -j` gets numbers and scripts can index by name, and mictl's
 * text output is one `core:rcv_requests: 12` line per statistic between
 * `{` and `}` (PROTOCOL.md §9) -- Kamailio's `kamcmd` prints
 * `core:rcv_requests = 12` from an array of strings, which would cost
 * -j its numbers. No argument means all. A NAME without group matches
 * that name in any group, as Kamailio's does. An argument that matches
 * nothing is a 404 (Kamailio prints nothing), so a typo is not mistaken
 * for a zero.
 *
 * Counters are summed over the process rows at each request. Gauges are
 * computed then, in the master, as Kamailio's registrar and usrloc
 * export them: registrar:max_expires, max_contacts, default_expire from
 * the config; usrloc:registered_users and location-users (AoRs),
 * location-contacts (bindings) and location-expires (bindings removed
 * by expiry since start) from loctab_stats(); sl:sent_replies, the sum
 * of the sl classes. stats.reset_statistics zeroes the counters (not
 * the gauges, which are state, not counts).
 *
 * sl:Nxx_replies count by class: every reply sipd sent whose code is
 * in N00..N99 (Kamailio's sl keeps 200_replies and 202_replies apart
 * from 2xx_replies; sipd does not).
 *
 * cfg.get GROUP NAME reads the config key GROUP.NAME (group "core" for
 * the keys without a dot: cfg.get core children) as conf_get() prints
 * it; a plain decimal value is a JSON number. cfg.set GROUP NAME VALUE
 * (aliases cfg.set_now_string, cfg.set_now_int: Kamailio's names)
 * changes a key the workers can pick up without a restart -- the
 * pstn.* keys, which live in shm (shm/runcfg.h) -- after validating it
 * with conf_set() on a copy, so a bad value leaves everything as it
 * was and comes back as conf_set()'s message.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "errbuf.h"
#include "log.h"
#include "loctab.h"
#include "mi_cmd.h"
#include "mi_reply.h"
#include "mi_stats.h"
#include "runcfg.h"
#include "stats.h"
#include "tables.h"
#include "tmtab.h"

/* Longest value cfg.get prints: the listen list (16 x 80) fits. */
#define MI_STATS_VALUE_MAX	4096
/* Longest GROUP.NAME cfg.get/set accept. */
#define MI_STATS_KEY_MAX	64
/* How much of a user-supplied argument an error message quotes. */
#define MI_STATS_QUOTE		"%.64s"

enum mi_stats_gauge {
	MI_G_SL_SENT,
	MI_G_REG_MAX_EXPIRES,
	MI_G_REG_MAX_CONTACTS,
	MI_G_REG_DEFAULT_EXPIRE,
	MI_G_UL_REGISTERED,
	MI_G_UL_USERS,
	MI_G_UL_CONTACTS,
	MI_G_UL_EXPIRES,
	MI_G_TM_CURRENT,
	MI_G_TM_CAPACITY,
	MI_G_TM_CHUNKS,
	MI_G_TM_CHUNKS_TOTAL,
	MI_G__MAX
};

static const char *const mi_stats_gauge_names[MI_G__MAX] = {
	[MI_G_SL_SENT] = "sl:sent_replies",
	[MI_G_REG_MAX_EXPIRES] = "registrar:max_expires",
	[MI_G_REG_MAX_CONTACTS] = "registrar:max_contacts",
	[MI_G_REG_DEFAULT_EXPIRE] = "registrar:default_expire",
	[MI_G_UL_REGISTERED] = "usrloc:registered_users",
	[MI_G_UL_USERS] = "usrloc:location-users",
	[MI_G_UL_CONTACTS] = "usrloc:location-contacts",
	[MI_G_UL_EXPIRES] = "usrloc:location-expires",
	[MI_G_TM_CURRENT] = "tm:current",
	[MI_G_TM_CAPACITY] = "tm:capacity",
	[MI_G_TM_CHUNKS] = "tm:shm_chunks_used",
	[MI_G_TM_CHUNKS_TOTAL] = "tm:shm_chunks_total",
};

struct mi_stats_item {
	const char	*si_name;
	uint64_t	 si_value;
};

/* The keys cfg.set may change: the workers read them from runcfg. */
static const char *const mi_stats_runtime_keys[] = {
	"pstn.gw_ip", "pstn.gw_port", "pstn.match_port",
};

static struct conf	*mi_stats_conf;
/* cfg.set validates into this copy (too big for the stack). */
static struct conf	 mi_stats_tmp;

/* --- statistics ---------------------------------------------------- */

/* Whether a and b, both "group:name", are of one group. */
static bool
mi_stats_same_group(const char *a, const char *b)
{
	size_t	 n = strcspn(a, ":");

	return strncmp(a, b, n + 1) == 0;
}

static void
mi_stats_gauges(uint64_t *v)
{
	const struct conf	*c = mi_stats_conf;
	struct loctab_stats	 st;
	struct loctab		*lt;
	struct tmtab_usage	 tu;
	int			 i;

	v[MI_G_SL_SENT] = 0;
	for (i = STATS_SENT_1XX; i <= STATS_SENT_6XX; i++)
		v[MI_G_SL_SENT] += stats_get((enum stats_id)i);
	v[MI_G_REG_MAX_EXPIRES] = c->c_reg_max_expires;
	v[MI_G_REG_MAX_CONTACTS] = c->c_reg_max_contacts;
	v[MI_G_REG_DEFAULT_EXPIRE] = c->c_reg_default_expires;
	memset(&st, 0, sizeof(st));
	if ((lt = tables_loctab()) != NULL)
		loctab_stats(lt, &st);
	v[MI_G_UL_REGISTERED] = st.st_records;
	v[MI_G_UL_USERS] = st.st_records;
	v[MI_G_UL_CONTACTS] = st.st_bindings;
	v[MI_G_UL_EXPIRES] = st.st_expired;
	tmtab_usage(&tu);
	v[MI_G_TM_CURRENT] = tu.tu_cells;
	v[MI_G_TM_CAPACITY] = tu.tu_cap;
	v[MI_G_TM_CHUNKS] = tu.tu_chunks;
	v[MI_G_TM_CHUNKS_TOTAL] = tu.tu_chunks_total;
}

/* Appends the gauges of group's group not added yet. */
static unsigned
mi_stats_add_gauges(struct mi_stats_item *it, unsigned n, const char *group,
    const uint64_t *v, bool *done)
{
	int	 g;

	for (g = 0; g < MI_G__MAX; g++) {
		if (done[g] || (group != NULL &&
		    !mi_stats_same_group(group, mi_stats_gauge_names[g])))
			continue;
		it[n].si_name = mi_stats_gauge_names[g];
		it[n++].si_value = v[g];
		done[g] = true;
	}
	return n;
}

/* Every statistic in print order into it[]; returns how many. */
static unsigned
mi_stats_collect(struct mi_stats_item *it)
{
	uint64_t	 v[MI_G__MAX];
	bool		 done[MI_G__MAX];
	const char	*name, *prev = NULL;
	unsigned	 n = 0;
	int		 i;

	mi_stats_gauges(v);
	memset(done, 0, sizeof(done));
	for (i = 0; i < STATS__MAX; i++) {
		name = stats_name((enum stats_id)i);
		if (prev != NULL && !mi_stats_same_group(prev, name))
			n = mi_stats_add_gauges(it, n, prev, v, done);
		it[n].si_name = name;
		it[n++].si_value = stats_get((enum stats_id)i);
		prev = name;
	}
	if (prev != NULL)
		n = mi_stats_add_gauges(it, n, prev, v, done);
	/* Groups with gauges only (usrloc). */
	return mi_stats_add_gauges(it, n, NULL, v, done);
}

/* Kamailio's selectors: "all", "group:", "name" or "group:name". */
static bool
mi_stats_match(const char *arg, const char *name)
{
	const char	*colon;
	size_t		 n = strlen(arg);

	if (strcmp(arg, "all") == 0)
		return true;
	if (n > 0 && arg[n - 1] == ':')
		return strncmp(name, arg, n) == 0;
	if (strchr(arg, ':') != NULL)
		return strcmp(name, arg) == 0;
	colon = strchr(name, ':');
	return colon != NULL && strcmp(colon + 1, arg) == 0;
}

static void
mi_stats_get(struct mi_reply *r, int argc, char *const *argv)
{
	static char *const	 all[] = { "all" };
	struct mi_stats_item	 it[STATS__MAX + MI_G__MAX];
	json_t			*obj, *num;
	unsigned		 n, i;
	int			 a, found;

	if (argc == 0) {
		argc = 1;
		argv = all;
	}
	n = mi_stats_collect(it);
	if ((obj = json_object()) == NULL)
		goto nomem;
	for (a = 0; a < argc; a++) {
		found = 0;
		for (i = 0; i < n; i++) {
			if (!mi_stats_match(argv[a], it[i].si_name))
				continue;
			found++;
			num = json_integer(it[i].si_value > INT64_MAX ?
			    INT64_MAX : (json_int_t)it[i].si_value);
			if (num == NULL ||
			    json_object_set_new(obj, it[i].si_name, num) != 0)
				goto nomem;
		}
		if (found == 0) {
			json_decref(obj);
			mi_reply_error(r, MI_E_NOTFOUND,
			    "Statistic not found: " MI_STATS_QUOTE, argv[a]);
			return;
		}
	}
	mi_reply_set(r, obj);
	return;
nomem:
	json_decref(obj);
	mi_reply_error(r, MI_E_INTERNAL, "Internal error: out of memory");
}

static void
mi_stats_reset(struct mi_reply *r, int argc, char *const *argv)
{
	if (argc == 1 && strcmp(argv[0], "all") != 0) {
		mi_reply_error(r, MI_E_PARAMS, "Invalid params: only all "
		    "statistics can be reset (\"all\" or nothing)");
		return;
	}
	stats_reset();
	log_info("MI: statistics reset");
}

/* --- run-time config ----------------------------------------------- */

/* The workers' copy of the gateway (shm/runcfg) from c. */
static void
mi_stats_publish_gw(const struct conf *c)
{
	struct runcfg_gw	 gw;

	memset(&gw, 0, sizeof(gw));
	gw.rg_set = c->c_gw_set;
	gw.rg_match_port = c->c_gw_match_port;
	gw.rg_port = c->c_gw_port;
	if (c->c_gw_set)
		gw.rg_addr = c->c_gw_addr;
	snprintf(gw.rg_ip, sizeof(gw.rg_ip), "%s", c->c_gw_ip);
	runcfg_set_gw(&gw);
}

/*
 * The config key of GROUP NAME into key (MI_STATS_KEY_MAX). -1 with
 * the reply set when it cannot be one.
 */
static int
mi_stats_key(struct mi_reply *r, const char *group, const char *name,
    char *key)
{
	int	 n;

	if (*group == '\0' || *name == '\0' || strchr(group, '.') != NULL ||
	    strchr(name, '.') != NULL) {
		mi_reply_error(r, MI_E_NOTFOUND, "Unknown variable "
		    MI_STATS_QUOTE "." MI_STATS_QUOTE, group, name);
		return -1;
	}
	if (strcmp(group, "core") == 0)
		n = snprintf(key, MI_STATS_KEY_MAX, "%s", name);
	else
		n = snprintf(key, MI_STATS_KEY_MAX, "%s.%s", group, name);
	if (n < 0 || n >= MI_STATS_KEY_MAX) {
		mi_reply_error(r, MI_E_NOTFOUND, "Unknown variable "
		    MI_STATS_QUOTE "." MI_STATS_QUOTE, group, name);
		return -1;
	}
	return 0;
}

/* "0", "42": a JSON number; "0600", "", "10.0.0.1": a string. */
static bool
mi_stats_is_number(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static void
mi_stats_cfg_get(struct mi_reply *r, int argc, char *const *argv)
{
	char	 key[MI_STATS_KEY_MAX], value[MI_STATS_VALUE_MAX];
	json_t	*v;

	(void)argc;
	if (mi_stats_key(r, argv[0], argv[1], key) != 0)
		return;
	if (conf_get(mi_stats_conf, key, value, sizeof(value)) != 0) {
		if (errno == ENOENT)
			mi_reply_error(r, MI_E_NOTFOUND, "Unknown variable "
			    MI_STATS_QUOTE "." MI_STATS_QUOTE, argv[0],
			    argv[1]);
		else
			mi_reply_error(r, MI_E_SERVER, "Value of %s too long",
			    key);
		return;
	}
	if (mi_stats_is_number(value))
		v = json_integer((json_int_t)strtoll(value, NULL, 10));
	else
		v = json_string(value);
	if (v == NULL) {
		mi_reply_error(r, MI_E_INTERNAL,
		    "Internal error: out of memory");
		return;
	}
	mi_reply_set(r, v);
}

static void
mi_stats_cfg_set(struct mi_reply *r, int argc, char *const *argv)
{
	struct errbuf	 errs = ERRBUF_INIT;
	char		 key[MI_STATS_KEY_MAX], text[MI_ERROR_TEXT_MAX];
	char		 value[MI_STATS_VALUE_MAX];
	size_t		 i;
	bool		 runtime = false;

	(void)argc;
	if (mi_stats_key(r, argv[0], argv[1], key) != 0)
		return;
	if (conf_get(mi_stats_conf, key, value, sizeof(value)) != 0 &&
	    errno == ENOENT) {
		mi_reply_error(r, MI_E_NOTFOUND, "Unknown variable "
		    MI_STATS_QUOTE "." MI_STATS_QUOTE, argv[0], argv[1]);
		return;
	}
	for (i = 0; i < sizeof(mi_stats_runtime_keys) /
	    sizeof(mi_stats_runtime_keys[0]); i++)
		if (strcmp(key, mi_stats_runtime_keys[i]) == 0)
			runtime = true;
	if (!runtime) {
		mi_reply_error(r, MI_E_BADREQ, "%s cannot be changed at run "
		    "time: edit the config file and restart sipd", key);
		return;
	}
	memcpy(&mi_stats_tmp, mi_stats_conf, sizeof(mi_stats_tmp));
	if (conf_set(&mi_stats_tmp, key, argv[2], "cfg.set", 0,
	    &errs) != 0) {
		/* One line: "cfg.set: pstn.gw_ip: bad value ...". */
		errbuf_oneline(&errs, text, sizeof(text));
		errbuf_free(&errs);
		mi_reply_error(r, MI_E_BADREQ, "%s",
		    text[0] != '\0' ? text : "bad value");
		return;
	}
	errbuf_free(&errs);
	memcpy(mi_stats_conf, &mi_stats_tmp, sizeof(mi_stats_tmp));
	mi_stats_publish_gw(mi_stats_conf);
	(void)conf_get(mi_stats_conf, key, value, sizeof(value));
	log_info("MI: cfg.set %s = \"%s\"", key, value);
}

static const struct mi_cmd mi_stats_cmds[] = {
	{ "stats.get_statistics",
	    "stats.get_statistics [all|GROUP:|NAME]... - counters and "
	    "gauges as group:name = value (none: all)",
	    0, MI_CMD_ANY_ARGS, mi_stats_get },
	{ "stats.reset_statistics",
	    "stats.reset_statistics [all] - zero every counter",
	    0, 1, mi_stats_reset },
	{ "cfg.get",
	    "cfg.get GROUP NAME - value of config key GROUP.NAME "
	    "(GROUP core: keys without a dot)",
	    2, 2, mi_stats_cfg_get },
	{ "cfg.set",
	    "cfg.set GROUP NAME VALUE - change a run-time key "
	    "(pstn gw_ip, gw_port, match_port) now",
	    3, 3, mi_stats_cfg_set },
	{ "cfg.set_now_string",
	    "cfg.set_now_string GROUP NAME VALUE - as cfg.set (Kamailio name)",
	    3, 3, mi_stats_cfg_set },
	{ "cfg.set_now_int",
	    "cfg.set_now_int GROUP NAME VALUE - as cfg.set (Kamailio name)",
	    3, 3, mi_stats_cfg_set },
};

int
mi_stats_register(struct conf *c)
{
	mi_stats_conf = c;
	mi_stats_publish_gw(c);
	return mi_cmd_register(mi_stats_cmds,
	    sizeof(mi_stats_cmds) / sizeof(mi_stats_cmds[0]));
}
