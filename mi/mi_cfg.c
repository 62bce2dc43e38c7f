/*
 * mi_cfg: the config over MI (cfg.get, cfg.set and its Kamailio
 * aliases), run by the master in its MI loop.
 *
 * cfg.get GROUP NAME reads the config key GROUP.NAME (group "core" for
 * the keys without a dot: cfg.get core children) as conf_get() prints
 * it; a plain decimal value is a JSON number. cfg.set GROUP NAME VALUE
 * (aliases cfg.set_now_string, cfg.set_now_int: Kamailio's names)
 * changes a key the workers can pick up without a restart -- the
 * pstn.* keys, registrar.{min,default,max}_expires and nat_detect,
 * log.level and auth.nonce_expire,
 * which live in shm (shm/runcfg.h) -- after validating it
 * with conf_set() on a copy, so a bad value leaves everything as it
 * was and comes back as conf_set()'s message.
 *
 * The config is the daemon's live struct conf (mi_daemon md_conf); the
 * daemon publishes a changed run-time key to its workers when told
 * through md_conf_changed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "errbuf.h"
#include "mi_cfg.h"
#include "mi_cmd.h"
#include "mi_daemon.h"
#include "mi_reply.h"

/* Longest value cfg.get prints: the listen list (16 x 80) fits. */
#define MI_CFG_VALUE_MAX	4096
/* Longest GROUP.NAME cfg.get/set accept. */
#define MI_CFG_KEY_MAX		64
/* How much of a user-supplied argument an error message quotes. */
#define MI_CFG_QUOTE		"%.64s"

/* The keys cfg.set may change: the workers read them from runcfg. */
static const char *const mi_cfg_runtime_keys[] = {
	"pstn.gw_ip", "pstn.gw_port", "pstn.match_port",
	"registrar.min_expires", "registrar.default_expires",
	"registrar.max_expires", "registrar.nat_detect",
	"log.level", "auth.nonce_expire",
};

/* cfg.set validates into this copy (too big for the stack). */
static struct conf	 mi_cfg_tmp;

/*
 * The config key of GROUP NAME into key (MI_CFG_KEY_MAX). -1 with
 * the reply set when it cannot be one.
 */
static int
mi_cfg_key(struct mi_reply *r, const char *group, const char *name,
    char *key)
{
	int	 n;

	if (*group == '\0' || *name == '\0' || strchr(group, '.') != NULL ||
	    strchr(name, '.') != NULL) {
		mi_reply_error(r, MI_E_NOTFOUND, "Unknown variable "
		    MI_CFG_QUOTE "." MI_CFG_QUOTE, group, name);
		return -1;
	}
	if (strcmp(group, "core") == 0)
		n = snprintf(key, MI_CFG_KEY_MAX, "%s", name);
	else
		n = snprintf(key, MI_CFG_KEY_MAX, "%s.%s", group, name);
	if (n < 0 || n >= MI_CFG_KEY_MAX) {
		mi_reply_error(r, MI_E_NOTFOUND, "Unknown variable "
		    MI_CFG_QUOTE "." MI_CFG_QUOTE, group, name);
		return -1;
	}
	return 0;
}

/* "0", "42": a JSON number; "0600", "", "10.0.0.1": a string. */
static bool
mi_cfg_is_number(const char *s)
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
mi_cfg_get(struct mi_reply *r, int argc, char *const *argv)
{
	const struct conf	*c = mi_daemon()->md_conf();
	char			 key[MI_CFG_KEY_MAX];
	char			 value[MI_CFG_VALUE_MAX];
	json_t			*v;

	(void)argc;
	if (mi_cfg_key(r, argv[0], argv[1], key) != 0)
		return;
	if (conf_get(c, key, value, sizeof(value)) != 0) {
		if (errno == ENOENT)
			mi_reply_error(r, MI_E_NOTFOUND, "Unknown variable "
			    MI_CFG_QUOTE "." MI_CFG_QUOTE, argv[0],
			    argv[1]);
		else
			mi_reply_error(r, MI_E_SERVER, "Value of %s too long",
			    key);
		return;
	}
	if (mi_cfg_is_number(value))
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
mi_cfg_set(struct mi_reply *r, int argc, char *const *argv)
{
	struct conf	*c = mi_daemon()->md_conf();
	struct errbuf	 errs = ERRBUF_INIT;
	char		 key[MI_CFG_KEY_MAX], text[MI_ERROR_TEXT_MAX];
	char		 value[MI_CFG_VALUE_MAX];
	size_t		 i;
	bool		 runtime = false;

	(void)argc;
	if (mi_cfg_key(r, argv[0], argv[1], key) != 0)
		return;
	if (conf_get(c, key, value, sizeof(value)) != 0 &&
	    errno == ENOENT) {
		mi_reply_error(r, MI_E_NOTFOUND, "Unknown variable "
		    MI_CFG_QUOTE "." MI_CFG_QUOTE, argv[0], argv[1]);
		return;
	}
	for (i = 0; i < sizeof(mi_cfg_runtime_keys) /
	    sizeof(mi_cfg_runtime_keys[0]); i++)
		if (strcmp(key, mi_cfg_runtime_keys[i]) == 0)
			runtime = true;
	if (!runtime) {
		mi_reply_error(r, MI_E_BADREQ, "%s cannot be changed at run "
		    "time: edit the config file and restart sipd", key);
		return;
	}
	memcpy(&mi_cfg_tmp, c, sizeof(mi_cfg_tmp));
	if (conf_set(&mi_cfg_tmp, key, argv[2], "cfg.set", 0,
	    &errs) != 0) {
		/* One line: "cfg.set: pstn.gw_ip: bad value ...". */
		errbuf_oneline(&errs, text, sizeof(text));
		errbuf_free(&errs);
		mi_reply_error(r, MI_E_BADREQ, "%s",
		    text[0] != '\0' ? text : "bad value");
		return;
	}
	errbuf_free(&errs);
	/* the rule the config file obeys at load */
	if (!(mi_cfg_tmp.c_reg_min_expires <=
	    mi_cfg_tmp.c_reg_default_expires &&
	    mi_cfg_tmp.c_reg_default_expires <=
	    mi_cfg_tmp.c_reg_max_expires)) {
		mi_reply_error(r, MI_E_BADREQ, "cfg.set: %s: need "
		    "registrar.min_expires (%u) <= registrar.default_expires "
		    "(%u) <= registrar.max_expires (%u)", key,
		    mi_cfg_tmp.c_reg_min_expires,
		    mi_cfg_tmp.c_reg_default_expires,
		    mi_cfg_tmp.c_reg_max_expires);
		return;
	}
	memcpy(c, &mi_cfg_tmp, sizeof(mi_cfg_tmp));
	mi_daemon()->md_conf_changed(c);
	/* mi_server.c logs the change and who made it */
}

static const struct mi_cmd mi_cfg_cmds[] = {
	{ "cfg.get",
	    "cfg.get GROUP NAME - value of config key GROUP.NAME "
	    "(GROUP core: keys without a dot)",
	    2, 2, mi_cfg_get },
	{ "cfg.set",
	    "cfg.set GROUP NAME VALUE - change a run-time key now "
	    "(pstn gw_ip, gw_port, match_port; registrar min_expires, "
	    "default_expires, max_expires, nat_detect; log level; auth "
	    "nonce_expire)",
	    3, 3, mi_cfg_set },
	{ "cfg.set_now_string",
	    "cfg.set_now_string GROUP NAME VALUE - as cfg.set (Kamailio name)",
	    3, 3, mi_cfg_set },
	{ "cfg.set_now_int",
	    "cfg.set_now_int GROUP NAME VALUE - as cfg.set (Kamailio name)",
	    3, 3, mi_cfg_set },
};

int
mi_cfg_register(void)
{
	return mi_cmd_register(mi_cfg_cmds,
	    sizeof(mi_cfg_cmds) / sizeof(mi_cfg_cmds[0]));
}
