/*
 * mi_users: subscriber.* / trusted.* / permissions.* over MI.
 *
 * The handlers only parse arguments and shape replies: checking,
 * persisting and publishing an edit is the daemon's (md_users), so a
 * reply of "OK" means the change is on disk and seen by every worker.
 * Nothing here ever puts a password or an HA1 in a reply or a log line
 * (the MI audit masks the password argument too).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "errbuf.h"
#include "mi_cmd.h"
#include "mi_daemon.h"
#include "mi_reply.h"
#include "mi_users.h"

static const char *const mi_users_protos[] = {
	"any", "udp", "tcp", "tls", "sctp", "none"
};

static const struct mi_users *
mi_users(struct mi_reply *r)
{
	const struct mi_users	*u = mi_daemon()->md_users;

	if (u == NULL)
		mi_reply_error(r, MI_E_UNAVAIL, "No user tables here");
	return u;
}

/* An edit's failure: its code and the first line of its reason. */
static void
mi_users_fail(struct mi_reply *r, int code, struct errbuf *errs)
{
	const char	*text = errbuf_text(errs);
	size_t		 n = strcspn(text, "\n");

	mi_reply_error(r, code, "%.*s", (int)n, n > 0 ? text : "failed");
}

/* The whole errbuf (a reload's FILE:LINE list), lines joined by "; ". */
static void
mi_users_fail_all(struct mi_reply *r, int code, struct errbuf *errs)
{
	char		 msg[MI_ERROR_TEXT_MAX];
	const char	*p = errbuf_text(errs);
	size_t		 used = 0, n;

	msg[0] = '\0';
	while (*p != '\0' && used + 3 < sizeof(msg)) {
		n = strcspn(p, "\n");
		if (used > 0) {
			memcpy(msg + used, "; ", 2);
			used += 2;
		}
		if (n > sizeof(msg) - used - 1)
			n = sizeof(msg) - used - 1;
		memcpy(msg + used, p, n);
		used += n;
		msg[used] = '\0';
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
	mi_reply_error(r, code, "%s", used > 0 ? msg : "failed");
}

/* An edit's reply: "OK", or its code and reason. Frees errs. */
static void
mi_users_edited(struct mi_reply *r, int rc, int code, struct errbuf *errs)
{
	if (rc != 0)
		mi_users_fail(r, code, errs);
	else
		mi_reply_ok(r);
	errbuf_free(errs);
}

static void
mi_sub_add(struct mi_reply *r, int argc, char *const *argv)
{
	const struct mi_users	*u;
	struct errbuf		 errs = ERRBUF_INIT;
	const char		*domain;
	int			 code = 0, rc;

	if ((u = mi_users(r)) == NULL)
		return;
	domain = argc > 2 ? argv[2] : u->mu_default_domain();
	rc = u->mu_sub_add(argv[0], argv[1], domain, &errs, &code);
	mi_users_edited(r, rc, code, &errs);
}

static void
mi_sub_passwd(struct mi_reply *r, int argc, char *const *argv)
{
	const struct mi_users	*u;
	struct errbuf		 errs = ERRBUF_INIT;
	int			 code = 0, rc;

	(void)argc;
	if ((u = mi_users(r)) == NULL)
		return;
	rc = u->mu_sub_passwd(argv[0], argv[1], &errs, &code);
	mi_users_edited(r, rc, code, &errs);
}

static void
mi_sub_rm(struct mi_reply *r, int argc, char *const *argv)
{
	const struct mi_users	*u;
	struct errbuf		 errs = ERRBUF_INIT;
	int			 code = 0, rc;

	if ((u = mi_users(r)) == NULL)
		return;
	rc = u->mu_sub_rm(argv[0], argc > 1 ? argv[1] : NULL, &errs, &code);
	mi_users_edited(r, rc, code, &errs);
}

static json_t *
mi_sub_json(const struct usertab_user *uu)
{
	return json_pack("{s:o, s:o, s:s, s:s, s:s}",
	    "username", mi_json_string(uu->uu_user, uu->uu_user_len),
	    "domain", mi_json_string(uu->uu_domain, uu->uu_domain_len),
	    "password", uu->uu_flags & USERTAB_HAS_PASSWORD ? "set" :
	    "not set",
	    "ha1", uu->uu_flags & USERTAB_HAS_HA1 ? "set" : "not set",
	    "ha1b", uu->uu_flags & USERTAB_HAS_HA1B ? "set" : "not set");
}

static void
mi_sub_show(struct mi_reply *r, int argc, char *const *argv)
{
	const struct mi_users	*u;
	struct usertab_user	 uu;
	json_t			*v;
	int			 rc;

	(void)argc;
	if ((u = mi_users(r)) == NULL)
		return;
	if ((rc = u->mu_sub_get(argv[0], &uu)) == -ENOENT) {
		mi_reply_error(r, MI_E_NOTFOUND, "No such subscriber");
		return;
	}
	if (rc != 0 || (v = mi_sub_json(&uu)) == NULL) {
		mi_reply_error(r, MI_E_SERVER, "Subscriber table busy");
		return;
	}
	mi_reply_set(r, v);
	explicit_bzero(&uu, sizeof(uu));
}

/* subscriber.list streams: 100k users must not make one huge reply. */
struct mi_sub_list {
	unsigned	 sl_next;
	bool		 sl_open;
};

static int
mi_sub_list_gen(struct mi_stream *s, void *arg)
{
	struct mi_sub_list	*sl = arg;
	const struct mi_users	*u = mi_daemon()->md_users;
	struct usertab_user	 uu;

	if (!sl->sl_open) {
		mi_stream_arr_open(s, NULL);
		sl->sl_open = true;
	}
	while (mi_stream_pending(s) < 16384) {
		if (u == NULL || u->mu_sub_at(sl->sl_next, &uu) != 0) {
			mi_stream_arr_close(s);
			return MI_STREAM_DONE;
		}
		sl->sl_next++;
		mi_stream_obj_open(s, NULL);
		mi_stream_str(s, "username", uu.uu_user, uu.uu_user_len);
		mi_stream_str(s, "domain", uu.uu_domain, uu.uu_domain_len);
		mi_stream_obj_close(s);
	}
	explicit_bzero(&uu, sizeof(uu));
	return MI_STREAM_MORE;
}

static void
mi_sub_list(struct mi_reply *r, int argc, char *const *argv)
{
	struct mi_sub_list	*sl;

	(void)argc;
	(void)argv;
	if (mi_users(r) == NULL)
		return;
	if ((sl = calloc(1, sizeof(*sl))) == NULL) {
		mi_reply_error(r, MI_E_INTERNAL,
		    "Internal error: out of memory");
		return;
	}
	mi_reply_stream(r, mi_sub_list_gen, sl, free);
}

static void
mi_users_reload(struct mi_reply *r, bool subscribers, bool trusted)
{
	const struct mi_users	*u;
	struct errbuf		 errs = ERRBUF_INIT;

	if ((u = mi_users(r)) == NULL)
		return;
	if (u->mu_reload(subscribers, trusted, &errs) != 0)
		mi_users_fail_all(r, MI_E_SERVER, &errs);
	else
		mi_reply_ok(r);
	errbuf_free(&errs);
}

static void
mi_sub_reload(struct mi_reply *r, int argc, char *const *argv)
{
	(void)argc;
	(void)argv;
	mi_users_reload(r, true, false);
}

static void
mi_trusted_reload(struct mi_reply *r, int argc, char *const *argv)
{
	(void)argc;
	(void)argv;
	mi_users_reload(r, false, true);
}

static void
mi_trusted_dump(struct mi_reply *r, int argc, char *const *argv)
{
	const struct mi_users	*u;
	struct trustab_row	*rows;
	const struct trustab_row *t;
	json_t			*arr, *o;
	size_t			 n, i;

	(void)argc;
	(void)argv;
	if ((u = mi_users(r)) == NULL)
		return;
	if ((rows = calloc(TRUSTAB_ROWS_MAX, sizeof(*rows))) == NULL ||
	    (arr = json_array()) == NULL) {
		free(rows);
		mi_reply_error(r, MI_E_INTERNAL,
		    "Internal error: out of memory");
		return;
	}
	if (u->mu_trusted_rows(rows, TRUSTAB_ROWS_MAX, &n) != 0)
		n = 0;
	for (i = 0; i < n; i++) {
		t = &rows[i];
		o = json_pack("{s:I, s:s, s:s, s:o, s:o, s:I}",
		    "id", (json_int_t)t->tr_id,
		    "src_ip", t->tr_src_ip,
		    "proto", t->tr_proto < 6 ?
		    mi_users_protos[t->tr_proto] : "?",
		    "from_pattern", t->tr_has_pattern ?
		    mi_json_string(t->tr_pattern, strlen(t->tr_pattern)) :
		    json_null(),
		    "tag", t->tr_has_tag ? mi_json_string(t->tr_tag,
		    strlen(t->tr_tag)) : json_null(),
		    "priority", (json_int_t)t->tr_priority);
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			free(rows);
			mi_reply_error(r, MI_E_INTERNAL,
			    "Internal error: out of memory");
			return;
		}
	}
	free(rows);
	mi_reply_set(r, arr);
}

static void
mi_trusted_add(struct mi_reply *r, int argc, char *const *argv)
{
	const struct mi_users	*u;
	struct errbuf		 errs = ERRBUF_INIT;
	int64_t			 id = 0;
	int			 code = 0;
	json_t			*v;

	if ((u = mi_users(r)) == NULL)
		return;
	if (u->mu_trusted_add(argv[0], argv[1], argc > 2 ? argv[2] : NULL,
	    argc > 3 ? argv[3] : NULL, &id, &errs, &code) != 0)
		mi_users_fail(r, code, &errs);
	else if ((v = json_pack("{s:I}", "id", (json_int_t)id)) == NULL)
		mi_reply_error(r, MI_E_INTERNAL,
		    "Internal error: out of memory");
	else
		mi_reply_set(r, v);
	errbuf_free(&errs);
}

static void
mi_trusted_rm(struct mi_reply *r, int argc, char *const *argv)
{
	const struct mi_users	*u;
	struct errbuf		 errs = ERRBUF_INIT;
	long			 id;
	int			 code = 0, rc;

	(void)argc;
	if ((u = mi_users(r)) == NULL ||
	    mi_arg_long(r, "id", argv[0], 1, INT32_MAX, &id) != 0)
		return;
	rc = u->mu_trusted_rm(id, &errs, &code);
	mi_users_edited(r, rc, code, &errs);
}

static const struct mi_cmd mi_users_cmds[] = {
	{ "subscriber.add", "subscriber.add USER PASSWORD [DOMAIN] - add a "
	    "subscriber (ha1/ha1b computed), saved before the reply",
	    2, 3, mi_sub_add },
	{ "subscriber.passwd", "subscriber.passwd USER PASSWORD - set a "
	    "subscriber's password", 2, 2, mi_sub_passwd },
	{ "subscriber.rm", "subscriber.rm USER [DOMAIN] - remove a "
	    "subscriber", 1, 2, mi_sub_rm },
	{ "subscriber.show", "subscriber.show USER - a subscriber's row "
	    "(never its password)", 1, 1, mi_sub_show },
	{ "subscriber.list", "subscriber.list - every subscriber's username "
	    "and domain", 0, 0, mi_sub_list },
	{ "subscriber.reload", "subscriber.reload - read the subscriber "
	    "table again", 0, 0, mi_sub_reload },
	{ "permissions.trustedReload", "permissions.trustedReload - read "
	    "the trusted table again", 0, 0, mi_trusted_reload },
	{ "permissions.trustedDump", "permissions.trustedDump - the trusted "
	    "rows in use", 0, 0, mi_trusted_dump },
	{ "trusted.add", "trusted.add SRC_IP PROTO [FROM_PATTERN] [TAG] - "
	    "add a trusted source; returns its id", 2, 4, mi_trusted_add },
	{ "trusted.rm", "trusted.rm ID - remove a trusted row", 1, 1,
	    mi_trusted_rm },
};

int
mi_users_register(void)
{
	return mi_cmd_register(mi_users_cmds,
	    sizeof(mi_users_cmds) / sizeof(mi_users_cmds[0]));
}
