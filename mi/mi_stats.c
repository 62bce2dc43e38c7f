/*
 * mi_stats: statistics over MI, run by the master in its MI loop.
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
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "loctab.h"
#include "mi_cmd.h"
#include "mi_daemon.h"
#include "mi_reply.h"
#include "mi_stats.h"
#include "stats.h"
#include "tmtab.h"

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
	MI_G_TM_SRC_BUDGET,
	MI_G_TM_SRC_MAX,
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
	[MI_G_TM_SRC_BUDGET] = "tm:source_budget",
	[MI_G_TM_SRC_MAX] = "tm:source_max_cells",
};

struct mi_stats_item {
	const char	*si_name;
	uint64_t	 si_value;
};

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
	const struct conf	*c = mi_daemon()->md_conf();
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
	if ((lt = mi_daemon()->md_loctab()) != NULL)
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
	v[MI_G_TM_SRC_BUDGET] = tu.tu_src_budget;
	v[MI_G_TM_SRC_MAX] = tu.tu_src_max;
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
	mi_log_info("MI: statistics reset");
}

static const struct mi_cmd mi_stats_cmds[] = {
	{ "stats.get_statistics",
	    "stats.get_statistics [all|GROUP:|NAME]... - counters and "
	    "gauges as group:name = value (none: all)",
	    0, MI_CMD_ANY_ARGS, mi_stats_get },
	{ "stats.reset_statistics",
	    "stats.reset_statistics [all] - zero every counter",
	    0, 1, mi_stats_reset },
};

int
mi_stats_register(void)
{
	return mi_cmd_register(mi_stats_cmds,
	    sizeof(mi_stats_cmds) / sizeof(mi_stats_cmds[0]));
}
