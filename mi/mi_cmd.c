/*
 * mi_cmd: registry of MI commands and the core ones (system.*, core.*).
 * Runs in the master: the registry is plain memory of that process,
 * filled at start-up by each module, read by the MI server per request.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "mi_cmd.h"
#include "mi_daemon.h"
#include "shm.h"

/*
 * Pointers into the registered (static) tables, in registration order:
 * system.listMethods lists them in that order, as Kamailio does.
 */
static const struct mi_cmd	**mi_cmds;
static size_t			  mi_ncmds;
static size_t			  mi_cmds_cap;
static int			  mi_core_done;

/* sercmd's "ls" is a client alias in Kamailio; here the server knows it. */
static const char		  mi_alias_ls[] = "ls";

const struct mi_cmd *
mi_cmd_find(const char *name)
{
	size_t	i;

	if (strcmp(name, mi_alias_ls) == 0)
		name = "system.listMethods";
	for (i = 0; i < mi_ncmds; i++)
		if (strcmp(mi_cmds[i]->mc_name, name) == 0)
			return mi_cmds[i];
	return NULL;
}

static int
mi_cmd_add(const struct mi_cmd *table, size_t n)
{
	const struct mi_cmd	**p;
	size_t			  i, j, cap;

	/* Check the whole table first so a bad one leaves no trace. */
	for (i = 0; i < n; i++) {
		if (table[i].mc_name == NULL || table[i].mc_help == NULL ||
		    table[i].mc_handler == NULL || table[i].mc_min_args < 0 ||
		    (table[i].mc_max_args != MI_CMD_ANY_ARGS &&
		    table[i].mc_max_args < table[i].mc_min_args))
			return -EINVAL;
		if (mi_cmd_find(table[i].mc_name) != NULL ||
		    strcmp(table[i].mc_name, mi_alias_ls) == 0)
			return -EEXIST;
		for (j = 0; j < i; j++)
			if (strcmp(table[i].mc_name, table[j].mc_name) == 0)
				return -EEXIST;
	}
	if (mi_ncmds + n > mi_cmds_cap) {
		cap = mi_cmds_cap == 0 ? 32 : mi_cmds_cap;
		while (cap < mi_ncmds + n)
			cap *= 2;
		if ((p = reallocarray(mi_cmds, cap, sizeof(*p))) == NULL)
			return -ENOMEM;
		mi_cmds = p;
		mi_cmds_cap = cap;
	}
	for (i = 0; i < n; i++)
		mi_cmds[mi_ncmds++] = &table[i];
	return 0;
}

void
mi_cmd_reset(void)
{
	free(mi_cmds);
	mi_cmds = NULL;
	mi_ncmds = mi_cmds_cap = 0;
	mi_core_done = 0;
}

/* Helpers that turn a jansson allocation failure into a reply. */
static void
mi_cmd_set(struct mi_reply *r, json_t *v)
{
	if (v == NULL)
		mi_reply_error(r, MI_E_INTERNAL,
		    "Internal error: out of memory");
	else
		mi_reply_set(r, v);
}

static void
mi_cmd_list_methods(struct mi_reply *r, int argc, char *const *argv)
{
	json_t	*a;
	size_t	 i;

	if ((a = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < mi_ncmds; i++)
		if (json_array_append_new(a,
		    json_string(mi_cmds[i]->mc_name)) == -1)
			goto nomem;
	mi_reply_set(r, a);
	return;
nomem:
	json_decref(a);
	mi_cmd_set(r, NULL);
}

static void
mi_cmd_method_help(struct mi_reply *r, int argc, char *const *argv)
{
	const struct mi_cmd	*c;

	if ((c = mi_cmd_find(argv[0])) == NULL) {
		mi_reply_error(r, MI_E_NOTFOUND, "Command not found");
		return;
	}
	mi_cmd_set(r, json_string(c->mc_help));
}

/* Architecture and OS the binary was built for, as Kamailio prints. */
#if defined(__x86_64__)
#define MI_ARCH	"x86_64"
#elif defined(__i386__)
#define MI_ARCH	"i386"
#elif defined(__aarch64__)
#define MI_ARCH	"aarch64"
#elif defined(__arm__)
#define MI_ARCH	"arm"
#elif defined(__mips__)
#define MI_ARCH	"mips"
#elif defined(__riscv)
#define MI_ARCH	"riscv"
#elif defined(__powerpc64__)
#define MI_ARCH	"ppc64"
#else
#define MI_ARCH	"unknown"
#endif
#if defined(__linux__)
#define MI_OS	"linux"
#elif defined(__FreeBSD__)
#define MI_OS	"freebsd"
#elif defined(__OpenBSD__)
#define MI_OS	"openbsd"
#elif defined(__APPLE__)
#define MI_OS	"darwin"
#else
#define MI_OS	"unknown"
#endif

static void
mi_cmd_core_version(struct mi_reply *r, int argc, char *const *argv)
{
	mi_cmd_set(r, json_string("sipd " SIPD_VERSION " (" MI_ARCH "/"
	    MI_OS ")"));
}

/* ctime() text without its newline (Kamailio 3.0 kept it; later cut). */
static json_t *
mi_cmd_ctime(time_t t)
{
	char	buf[64];
	size_t	len;

	if (ctime_r(&t, buf) == NULL)
		return json_string("");
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return json_string(buf);
}

static void
mi_cmd_core_uptime(struct mi_reply *r, int argc, char *const *argv)
{
	time_t	 now, since;
	json_t	*o;

	time(&now);
	since = mi_daemon()->md_start_time();
	o = json_pack("{s:o, s:o, s:I}", "now", mi_cmd_ctime(now),
	    "up_since", mi_cmd_ctime(since),
	    "uptime", (json_int_t)(now - since));
	mi_cmd_set(r, o);
}

static void
mi_cmd_core_ps(struct mi_reply *r, int argc, char *const *argv)
{
	const char	*desc;
	json_t		*a, *o;
	pid_t		 pid;
	int		 i;

	if ((a = json_array()) == NULL)
		goto nomem;
	for (i = 0; mi_daemon()->md_proc(i, &pid, &desc) == 0; i++) {
		/* A worker being respawned has no pid yet: not a process. */
		if (pid == 0)
			continue;
		o = json_pack("{s:I, s:o}", "pid", (json_int_t)pid,
		    "desc", mi_json_string(desc, strlen(desc)));
		if (json_array_append_new(a, o) == -1)
			goto nomem;
	}
	mi_reply_set(r, a);
	return;
nomem:
	json_decref(a);
	mi_cmd_set(r, NULL);
}

/*
 * Kamailio's fields, with the meanings an operator expects of a mapping
 * that is reserved whole at start and filled as tables grow (shm.h):
 * total is reserved, used is live entries (plus fixed table parts),
 * real_used is resident pages, free is total - used. Then the same per
 * table.
 */
static void
mi_cmd_core_shmmem(struct mi_reply *r, int argc, char *const *argv)
{
	struct shm_usage	 u;
	struct shm_table_usage	 t[SHM_TABLES_MAX];
	size_t			 n, i, used, max_used;
	json_t			*tabs, *o;

	shm_usage(&u);
	n = shm_tables(t, SHM_TABLES_MAX);
	/* Carved bytes outside any table (the header) count as used. */
	used = max_used = u.su_used;
	for (i = 0; i < n; i++) {
		used -= t[i].tu_total - t[i].tu_used;
		max_used -= t[i].tu_total - t[i].tu_max_used;
	}
	if ((tabs = json_object()) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "total", (json_int_t)t[i].tu_total,
		    "free", (json_int_t)t[i].tu_free,
		    "used", (json_int_t)t[i].tu_used,
		    "real_used", (json_int_t)t[i].tu_real_used,
		    "max_used", (json_int_t)t[i].tu_max_used,
		    "entries", (json_int_t)t[i].tu_entries,
		    "capacity", (json_int_t)t[i].tu_capacity);
		if (o == NULL || json_object_set_new(tabs, t[i].tu_name, o))
			goto nomem;
	}
	mi_cmd_set(r, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
	    "total", (json_int_t)u.su_total,
	    "free", (json_int_t)(u.su_total - used),
	    "used", (json_int_t)used,
	    "real_used", (json_int_t)shm_resident(),
	    "max_used", (json_int_t)max_used,
	    "fragments", (json_int_t)u.su_fragments,
	    "tables", tabs));
	return;
nomem:
	json_decref(tabs);
	mi_cmd_set(r, NULL);
}

static const struct mi_cmd mi_core_cmds[] = {
	{ "system.listMethods",
	    "system.listMethods - list all MI commands (alias: ls)",
	    0, 0, mi_cmd_list_methods },
	{ "system.methodHelp",
	    "system.methodHelp COMMAND - print the help of a command",
	    1, 1, mi_cmd_method_help },
	{ "core.version",
	    "core.version - sipd version, architecture and OS",
	    0, 0, mi_cmd_core_version },
	{ "core.uptime",
	    "core.uptime - current time, start time and seconds up",
	    0, 0, mi_cmd_core_uptime },
	{ "core.ps",
	    "core.ps - pid and description of every sipd process",
	    0, 0, mi_cmd_core_ps },
	{ "core.shmmem",
	    "core.shmmem - shared memory use in bytes",
	    0, 0, mi_cmd_core_shmmem },
};

int
mi_cmd_init(void)
{
	int	rc;

	if (mi_core_done)
		return 0;
	rc = mi_cmd_add(mi_core_cmds,
	    sizeof(mi_core_cmds) / sizeof(mi_core_cmds[0]));
	if (rc == 0)
		mi_core_done = 1;
	return rc;
}

int
mi_cmd_register(const struct mi_cmd *table, size_t n)
{
	int	rc;

	/* Core commands come first in listings, whoever registers first. */
	if ((rc = mi_cmd_init()) != 0)
		return rc;
	return mi_cmd_add(table, n);
}
