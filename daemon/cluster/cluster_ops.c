/*
 * cluster_ops: the commands sipd sends about one AoR: a REGISTER and a
 * replay through the script, and the read of an AoR's hash. Every
 * string goes as a binary-safe argument (an AoR may hold any byte).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster.h"

/* Arguments of one EVALSHA: 14 fixed, then 3 per contact. */
#define CLUSTER_ARGS_FIXED	14
#define CLUSTER_ARGS_MAX	(CLUSTER_ARGS_FIXED + 3 * CLUSTER_CONTACTS_MAX)
#define CLUSTER_JSON_MAX	4096

struct cluster_args {
	const char	*ca_v[CLUSTER_ARGS_MAX];
	size_t		 ca_l[CLUSTER_ARGS_MAX];
	int		 ca_n;
	char		 ca_key[sizeof(CLUSTER_KEY_AOR) + LOCTAB_AOR_MAX];
	char		 ca_num[8][24];
	char		 ca_exp[CLUSTER_CONTACTS_MAX][24];
	char		 ca_json[CLUSTER_CONTACTS_MAX][CLUSTER_JSON_MAX];
};

/* Static: one request at a time per process, and it is large. */
static struct cluster_args	 cluster_a;
static struct cluster_contact	 cluster_tmp;

static void
cluster_arg(struct cluster_args *a, const char *s, size_t n)
{
	a->ca_v[a->ca_n] = s;
	a->ca_l[a->ca_n] = n;
	a->ca_n++;
}

static void
cluster_arg_num(struct cluster_args *a, int i, int64_t v)
{
	int	 n;

	n = snprintf(a->ca_num[i], sizeof(a->ca_num[i]), "%" PRId64, v);
	cluster_arg(a, a->ca_num[i], (size_t)n);
}

static void
cluster_cpy(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

/* KEYS and ARGV 1..11 (see cluster_script.c). */
static void
cluster_args_head(struct cluster_args *a, const struct cluster_conn *cn,
    const char *aor, size_t len, time_t now, const char *callid,
    size_t callid_len, uint32_t cseq, int star, unsigned maxc,
    const char *mode, time_t since)
{
	const char	*node = cn->cn_conf->cu_node_id;

	a->ca_n = 3;	/* EVALSHA sha 2 */
	memcpy(a->ca_key, CLUSTER_KEY_AOR, sizeof(CLUSTER_KEY_AOR) - 1);
	memcpy(a->ca_key + sizeof(CLUSTER_KEY_AOR) - 1, aor, len);
	cluster_arg(a, a->ca_key, sizeof(CLUSTER_KEY_AOR) - 1 + len);
	cluster_arg(a, CLUSTER_KEY_EVENTS, strlen(CLUSTER_KEY_EVENTS));
	cluster_arg(a, aor, len);
	cluster_arg(a, node, strlen(node));
	cluster_arg_num(a, 0, (int64_t)now);
	cluster_arg(a, callid, callid_len);
	cluster_arg_num(a, 1, cseq);
	cluster_arg(a, star ? "1" : "0", 1);
	cluster_arg_num(a, 2, maxc);
	cluster_arg_num(a, 3, CLUSTER_GRACE);
	cluster_arg_num(a, 4, CLUSTER_STREAM_MAX);
	cluster_arg(a, mode, strlen(mode));
	cluster_arg_num(a, 5, (int64_t)since);
}

/*
 * One contact triple: URI, absolute expiry, JSON. The URI is the
 * caller's (c is reused for the next contact; uri stays until the
 * command is queued).
 */
static int
cluster_args_contact(struct cluster_args *a, unsigned i,
    const struct cluster_contact *c, const char *uri, size_t uri_len)
{
	int	 n;

	if ((n = cluster_encode(c, a->ca_json[i], sizeof(a->ca_json[i]))) < 0)
		return n;
	cluster_arg(a, uri, uri_len);
	snprintf(a->ca_exp[i], sizeof(a->ca_exp[i]), "%" PRId64,
	    c->cc_expires);
	cluster_arg(a, a->ca_exp[i], strlen(a->ca_exp[i]));
	cluster_arg(a, a->ca_json[i], (size_t)n);
	return 0;
}

/* The script's reply {status, version}; frees it. */
static int
cluster_status_of(struct cluster_conn *cn, void *vr,
    enum cluster_status *ret_status, int64_t *ret_version)
{
	redisReply	*r = vr;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		snprintf(cn->cn_err, sizeof(cn->cn_err),
		    "script: unexpected reply");
		return -EPROTO;
	}
	if (strcmp(r->element[0]->str, "cseq") == 0)
		*ret_status = CLUSTER_CSEQ;
	else if (strcmp(r->element[0]->str, "too_many") == 0)
		*ret_status = CLUSTER_TOO_MANY;
	else
		*ret_status = CLUSTER_OK;
	*ret_version = r->element[1]->integer;
	freeReplyObject(r);
	return 0;
}

static int
cluster_run(struct cluster_conn *cn, struct cluster_args *a,
    enum cluster_status *ret_status, int64_t *ret_version)
{
	void	*vr;
	int	 rc;

	if ((rc = cluster_eval(cn, a->ca_n, a->ca_v, a->ca_l, &vr)) != 0)
		return rc;
	return cluster_status_of(cn, vr, ret_status, ret_version);
}

/* The script's arguments for the REGISTER req, in cluster_a. */
static int
cluster_register_args(struct cluster_conn *cn, const struct loctab_save *req)
{
	struct cluster_args		*a = &cluster_a;
	struct cluster_contact		*c = &cluster_tmp;
	const struct loctab_contact	*lc;
	unsigned			 i;
	int				 rc;

	if (req->sv_aor.ls_len > LOCTAB_AOR_MAX ||
	    req->sv_ncontacts > LOCTAB_SAVE_MAX)
		return -EINVAL;
	cluster_args_head(a, cn, req->sv_aor.ls_ptr, req->sv_aor.ls_len,
	    req->sv_now, req->sv_callid.ls_ptr, req->sv_callid.ls_len,
	    req->sv_cseq, req->sv_star, req->sv_max_per_aor, "reg", 0);
	for (i = 0; i < req->sv_ncontacts; i++) {
		lc = &req->sv_contacts[i];
		memset(c, 0, sizeof(*c));
		cluster_cpy(c->cc_callid, sizeof(c->cc_callid),
		    req->sv_callid.ls_ptr, req->sv_callid.ls_len);
		cluster_cpy(c->cc_ua, sizeof(c->cc_ua),
		    req->sv_user_agent.ls_ptr, req->sv_user_agent.ls_len);
		cluster_cpy(c->cc_socket, sizeof(c->cc_socket),
		    req->sv_socket.ls_ptr, req->sv_socket.ls_len);
		cluster_cpy(c->cc_received, sizeof(c->cc_received),
		    lc->lc_received.ls_ptr, lc->lc_received.ls_len);
		cluster_cpy(c->cc_path, sizeof(c->cc_path),
		    lc->lc_path.ls_ptr, lc->lc_path.ls_len);
		snprintf(c->cc_node, sizeof(c->cc_node), "%s",
		    cn->cn_conf->cu_node_id);
		c->cc_expires = lc->lc_expires <= 0 ? 0 :
		    (int64_t)req->sv_now + lc->lc_expires;
		c->cc_modified = req->sv_now;
		c->cc_q = lc->lc_q;
		c->cc_cseq = req->sv_cseq;
		c->cc_flags = lc->lc_flags;
		c->cc_cflags = lc->lc_cflags;
		c->cc_methods = lc->lc_methods;
		if ((rc = cluster_args_contact(a, i, c, lc->lc_uri.ls_ptr,
		    lc->lc_uri.ls_len)) != 0)
			return rc;
	}
	return 0;
}

int
cluster_register(struct cluster_conn *cn, const struct loctab_save *req,
    enum cluster_status *ret_status, int64_t *ret_version)
{
	int	 rc;

	if ((rc = cluster_register_args(cn, req)) != 0)
		return rc;
	return cluster_run(cn, &cluster_a, ret_status, ret_version);
}

int
cluster_register_send(struct cluster_conn *cn, const struct loctab_save *req)
{
	struct cluster_args	*a = &cluster_a;
	int			 rc;

	if ((rc = cluster_register_args(cn, req)) != 0)
		return rc;
	return cluster_eval_send(cn, a->ca_n, a->ca_v, a->ca_l);
}

int
cluster_register_recv(struct cluster_conn *cn, enum cluster_status *ret_status,
    int64_t *ret_version)
{
	void	*vr;
	int	 rc;

	if ((rc = cluster_eval_recv(cn, &vr)) != 0)
		return rc;
	return cluster_status_of(cn, vr, ret_status, ret_version);
}

/* Bindings of an AoR through the script in mode (replay, mi). */
static int
cluster_push(struct cluster_conn *cn, const char *aor, size_t len,
    const struct loctab_binding *b, unsigned n, bool star, const char *mode,
    time_t since, time_t now)
{
	struct cluster_args	*a = &cluster_a;
	struct cluster_contact	*c = &cluster_tmp;
	enum cluster_status	 st;
	int64_t			 version;
	unsigned		 i, k = 0;
	int			 rc;

	if (len > LOCTAB_AOR_MAX)
		return -EINVAL;
	cluster_args_head(a, cn, aor, len, now, "", 0, 0, star, 0, mode,
	    since);
	for (i = 0; i < n && k < CLUSTER_CONTACTS_MAX; i++) {
		memset(c, 0, sizeof(*c));
		cluster_cpy(c->cc_callid, sizeof(c->cc_callid),
		    b[i].lb_callid, b[i].lb_callid_len);
		cluster_cpy(c->cc_ua, sizeof(c->cc_ua), b[i].lb_user_agent,
		    b[i].lb_user_agent_len);
		cluster_cpy(c->cc_socket, sizeof(c->cc_socket),
		    b[i].lb_socket, b[i].lb_socket_len);
		cluster_cpy(c->cc_received, sizeof(c->cc_received),
		    b[i].lb_received, b[i].lb_received_len);
		cluster_cpy(c->cc_path, sizeof(c->cc_path), b[i].lb_path,
		    b[i].lb_path_len);
		snprintf(c->cc_node, sizeof(c->cc_node), "%s",
		    cn->cn_conf->cu_node_id);
		c->cc_expires = b[i].lb_expires;
		c->cc_modified = b[i].lb_last_modified;
		c->cc_q = b[i].lb_q;
		c->cc_cseq = b[i].lb_cseq;
		c->cc_flags = b[i].lb_flags;
		c->cc_cflags = b[i].lb_cflags;
		c->cc_methods = b[i].lb_methods;
		if ((rc = cluster_args_contact(a, k++, c, b[i].lb_contact,
		    b[i].lb_contact_len)) != 0)
			return rc;
	}
	return cluster_run(cn, a, &st, &version);
}

int
cluster_replay(struct cluster_conn *cn, const char *aor, size_t len,
    const struct loctab_binding *b, unsigned n, time_t since, time_t now)
{
	return cluster_push(cn, aor, len, b, n, false, "replay", since, now);
}

int
cluster_mi(struct cluster_conn *cn, const char *aor, size_t len,
    const struct loctab_binding *b, unsigned n, bool star, time_t now)
{
	return cluster_push(cn, aor, len, b, n, star, "mi", 0, now);
}

int
cluster_aor_from_reply(const void *reply, size_t first, const char *aor,
    size_t len, struct cluster_aor *ret)
{
	const redisReply	*r = reply, *f, *v;
	size_t			 i;

	if (len > LOCTAB_AOR_MAX)
		return -EINVAL;
	memcpy(ret->ca_aor, aor, len);
	ret->ca_aor[len] = '\0';
	ret->ca_aor_len = len;
	ret->ca_version = 0;
	ret->ca_n = 0;
	if (r->type != REDIS_REPLY_ARRAY)
		return -EPROTO;
	for (i = first; i + 1 < r->elements; i += 2) {
		f = r->element[i];
		v = r->element[i + 1];
		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(f->str, "version") == 0) {
			ret->ca_version = strtoll(v->str, NULL, 10);
			continue;
		}
		if (ret->ca_n == CLUSTER_CONTACTS_MAX ||
		    f->len > LOCTAB_CONTACT_MAX)
			continue;
		if (cluster_decode(v->str, v->len,
		    &ret->ca_c[ret->ca_n]) != 0)
			continue;
		memcpy(ret->ca_c[ret->ca_n].cc_uri, f->str, f->len);
		ret->ca_c[ret->ca_n].cc_uri[f->len] = '\0';
		ret->ca_n++;
	}
	return 0;
}

int
cluster_fetch_send(struct cluster_conn *cn, const char *aor, size_t len)
{
	char		 key[sizeof(CLUSTER_KEY_AOR) + LOCTAB_AOR_MAX];
	const char	*argv[2] = { "HGETALL", key };
	size_t		 lens[2] = { 7, 0 };

	if (cn->cn_ctx == NULL)
		return -ENOTCONN;
	if (len > LOCTAB_AOR_MAX)
		return -EINVAL;
	memcpy(key, CLUSTER_KEY_AOR, sizeof(CLUSTER_KEY_AOR) - 1);
	memcpy(key + sizeof(CLUSTER_KEY_AOR) - 1, aor, len);
	lens[1] = sizeof(CLUSTER_KEY_AOR) - 1 + len;
	if (redisAppendCommandArgv(cn->cn_ctx, 2, argv, lens) != REDIS_OK) {
		snprintf(cn->cn_err, sizeof(cn->cn_err), "HGETALL: %s",
		    cn->cn_ctx->errstr);
		cluster_close(cn);
		return -ENOMEM;
	}
	return 0;
}

int
cluster_fetch_recv(struct cluster_conn *cn, const char *aor, size_t len,
    struct cluster_aor *ret)
{
	void	*r = NULL;
	int	 rc;

	if (cn->cn_ctx == NULL)
		return -ENOTCONN;
	if (redisGetReply(cn->cn_ctx, &r) != REDIS_OK || r == NULL) {
		snprintf(cn->cn_err, sizeof(cn->cn_err), "HGETALL: %s",
		    cn->cn_ctx->errstr);
		cluster_close(cn);
		return -ETIMEDOUT;
	}
	rc = cluster_aor_from_reply(r, 0, aor, len, ret);
	freeReplyObject(r);
	if (rc != 0)
		snprintf(cn->cn_err, sizeof(cn->cn_err), "HGETALL: not a hash");
	return rc;
}

int
cluster_fetch(struct cluster_conn *cn, const char *aor, size_t len,
    struct cluster_aor *ret)
{
	int	 rc;

	if ((rc = cluster_fetch_send(cn, aor, len)) != 0)
		return rc;
	return cluster_fetch_recv(cn, aor, len, ret);
}
