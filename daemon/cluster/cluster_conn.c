/*
 * cluster_conn: one blocking hiredis connection with every wait bounded
 * (connect, send, reply), and the script loaded into it. A worker holds
 * one for its REGISTERs, the sync process one for the stream. A reply
 * that did not come in time closes the connection: it could otherwise
 * arrive later and be taken for the answer to the next command.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "cluster.h"

static int
cluster_fail(struct cluster_conn *cn, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cluster_fail(struct cluster_conn *cn, int err, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(cn->cn_err, sizeof(cn->cn_err), fmt, ap);
	va_end(ap);
	cluster_close(cn);
	return err;
}

static struct timeval
cluster_tv(unsigned ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

void
cluster_close(struct cluster_conn *cn)
{
	if (cn->cn_ctx != NULL)
		redisFree(cn->cn_ctx);
	cn->cn_ctx = NULL;
	cn->cn_sha[0] = '\0';
}

bool
cluster_connected(const struct cluster_conn *cn)
{
	return cn->cn_ctx != NULL;
}

int
cluster_set_timeout(struct cluster_conn *cn, unsigned timeout_ms)
{
	if (cn->cn_ctx == NULL)
		return -ENOTCONN;
	cn->cn_timeout_ms = timeout_ms;
	if (redisSetTimeout(cn->cn_ctx, cluster_tv(timeout_ms)) != REDIS_OK)
		return cluster_fail(cn, -EIO, "cannot set the timeout");
	return 0;
}

static redisContext *
cluster_open(const char *host, uint16_t port, unsigned timeout_ms,
    char *err, size_t errlen)
{
	redisContext	*ctx;

	ctx = redisConnectWithTimeout(host, port, cluster_tv(timeout_ms));
	if (ctx == NULL) {
		snprintf(err, errlen, "%s:%u: out of memory", host, port);
		return NULL;
	}
	if (ctx->err) {
		snprintf(err, errlen, "%s:%u: %s", host, port, ctx->errstr);
		redisFree(ctx);
		return NULL;
	}
	if (redisSetTimeout(ctx, cluster_tv(timeout_ms)) != REDIS_OK) {
		snprintf(err, errlen, "%s:%u: cannot set the timeout", host,
		    port);
		redisFree(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * sentinel://: the first sentinel that answers names the master
 * (SENTINEL get-master-addr-by-name); a failover is followed by asking
 * again after the connection broke.
 */
static int
cluster_ask_sentinels(struct cluster_conn *cn, char *host, size_t hostlen,
    uint16_t *port)
{
	const struct conf_cluster	*cu = cn->cn_conf;
	redisContext			*s;
	redisReply			*r;
	int				 i;

	for (i = 0; i < cu->cu_nhosts; i++) {
		s = cluster_open(cu->cu_hosts[i].ch_host,
		    cu->cu_hosts[i].ch_port, cn->cn_timeout_ms, cn->cn_err,
		    sizeof(cn->cn_err));
		if (s == NULL)
			continue;
		r = redisCommand(s, "SENTINEL get-master-addr-by-name %s",
		    cu->cu_master);
		if (r != NULL && r->type == REDIS_REPLY_ARRAY &&
		    r->elements == 2 &&
		    r->element[0]->type == REDIS_REPLY_STRING &&
		    r->element[1]->type == REDIS_REPLY_STRING) {
			snprintf(host, hostlen, "%s", r->element[0]->str);
			*port = (uint16_t)strtoul(r->element[1]->str, NULL, 10);
			freeReplyObject(r);
			redisFree(s);
			return 0;
		}
		snprintf(cn->cn_err, sizeof(cn->cn_err), "sentinel %s:%u "
		    "does not know master %s", cu->cu_hosts[i].ch_host,
		    cu->cu_hosts[i].ch_port, cu->cu_master);
		if (r != NULL)
			freeReplyObject(r);
		redisFree(s);
	}
	return -EHOSTUNREACH;
}

/* After a failover the old master may still answer, as a replica. */
static int
cluster_check_role(struct cluster_conn *cn)
{
	redisReply	*r;
	int		 ok;

	if ((r = redisCommand(cn->cn_ctx, "ROLE")) == NULL)
		return cluster_fail(cn, -EIO, "ROLE: %s", cn->cn_ctx->errstr);
	ok = r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(r->element[0]->str, "master") == 0;
	freeReplyObject(r);
	if (!ok)
		return cluster_fail(cn, -EAGAIN, "%s is not a master (yet)",
		    cn->cn_master);
	return 0;
}

int
cluster_connect(struct cluster_conn *cn, const struct conf_cluster *cu,
    unsigned timeout_ms)
{
	char		 host[CONF_CLUSTER_HOST_MAX];
	uint16_t	 port;
	redisReply	*r;
	int		 rc;

	cluster_close(cn);
	cn->cn_conf = cu;
	cn->cn_timeout_ms = timeout_ms;
	if (cu->cu_kind == CONF_CLUSTER_SENTINEL) {
		if ((rc = cluster_ask_sentinels(cn, host, sizeof(host),
		    &port)) != 0)
			return rc;
	} else {
		snprintf(host, sizeof(host), "%s", cu->cu_hosts[0].ch_host);
		port = cu->cu_hosts[0].ch_port;
	}
	snprintf(cn->cn_master, sizeof(cn->cn_master), "%s:%u", host, port);
	cn->cn_ctx = cluster_open(host, port, timeout_ms, cn->cn_err,
	    sizeof(cn->cn_err));
	if (cn->cn_ctx == NULL)
		return -ECONNREFUSED;
	if (cu->cu_password[0] != '\0') {
		r = cu->cu_user[0] != '\0' ?
		    redisCommand(cn->cn_ctx, "AUTH %s %s", cu->cu_user,
		    cu->cu_password) :
		    redisCommand(cn->cn_ctx, "AUTH %s", cu->cu_password);
		if (r == NULL)
			return cluster_fail(cn, -EIO, "AUTH: %s",
			    cn->cn_ctx->errstr);
		rc = r->type == REDIS_REPLY_ERROR;
		if (rc)
			(void)cluster_fail(cn, -EACCES, "AUTH refused: %.*s",
			    (int)r->len, r->str);
		freeReplyObject(r);
		if (rc)
			return -EACCES;
	}
	if (cu->cu_kind == CONF_CLUSTER_SENTINEL &&
	    (rc = cluster_check_role(cn)) != 0)
		return rc;
	if (cu->cu_db != 0) {
		r = redisCommand(cn->cn_ctx, "SELECT %u", cu->cu_db);
		if (r == NULL)
			return cluster_fail(cn, -EIO, "SELECT: %s",
			    cn->cn_ctx->errstr);
		rc = r->type == REDIS_REPLY_ERROR;
		freeReplyObject(r);
		if (rc)
			return cluster_fail(cn, -EINVAL, "SELECT %u refused",
			    cu->cu_db);
	}
	return 0;
}

/* Loads the script (once per connection): its SHA1 for EVALSHA. */
static int
cluster_load_script(struct cluster_conn *cn)
{
	redisReply	*r;

	if (cn->cn_sha[0] != '\0')
		return 0;
	r = redisCommand(cn->cn_ctx, "SCRIPT LOAD %s", cluster_script_lua);
	if (r == NULL)
		return cluster_fail(cn, -EIO, "SCRIPT LOAD: %s",
		    cn->cn_ctx->errstr);
	if (r->type != REDIS_REPLY_STRING || r->len != 40) {
		freeReplyObject(r);
		return cluster_fail(cn, -EPROTO, "SCRIPT LOAD refused");
	}
	memcpy(cn->cn_sha, r->str, 40);
	cn->cn_sha[40] = '\0';
	freeReplyObject(r);
	return 0;
}

/*
 * Queues EVALSHA with argc/argv (argv[0..2] left for "EVALSHA", sha,
 * "2") in the output buffer, loading the script first when this
 * connection has not (the caller has no reply pending then: the load
 * waits for its own). Nothing is sent before cluster_eval_recv().
 */
int
cluster_eval_send(struct cluster_conn *cn, int argc, const char **argv,
    size_t *lens)
{
	int	 rc;

	if (cn->cn_ctx == NULL)
		return -ENOTCONN;
	if ((rc = cluster_load_script(cn)) != 0)
		return rc;
	argv[0] = "EVALSHA";
	argv[1] = cn->cn_sha;
	argv[2] = "2";
	lens[0] = 7;
	lens[1] = 40;
	lens[2] = 1;
	if (redisAppendCommandArgv(cn->cn_ctx, argc, argv, lens) != REDIS_OK)
		return cluster_fail(cn, -ENOMEM, "EVALSHA: %s",
		    cn->cn_ctx->errstr);
	return 0;
}

/*
 * The reply to the oldest EVALSHA queued (sending what is still
 * buffered first). -ENOENT: Redis did not know the script (a restart,
 * a failover to a replica that never saw SCRIPT LOAD): send again, it
 * is loaded then. -EAGAIN: a demoted master (READONLY), the connection
 * closed so that the next connect finds the new one.
 */
int
cluster_eval_recv(struct cluster_conn *cn, void **ret_reply)
{
	redisReply	*r;
	void		*vr = NULL;
	int		 rc;

	if (cn->cn_ctx == NULL)
		return -ENOTCONN;
	if (redisGetReply(cn->cn_ctx, &vr) != REDIS_OK || vr == NULL)
		return cluster_fail(cn, -ETIMEDOUT, "EVALSHA: %s",
		    cn->cn_ctx->errstr);
	r = vr;
	if (r->type == REDIS_REPLY_ERROR &&
	    strncmp(r->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(r);
		cn->cn_sha[0] = '\0';
		return -ENOENT;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(cn->cn_err, sizeof(cn->cn_err), "script: %s", r->str);
		rc = strncmp(r->str, "READONLY", 8) == 0 ? -EAGAIN : -EPROTO;
		freeReplyObject(r);
		if (rc == -EAGAIN)
			cluster_close(cn);
		return rc;
	}
	*ret_reply = r;
	return 0;
}

/* EVALSHA and its reply, the script loaded (again) when needed. */
int
cluster_eval(struct cluster_conn *cn, int argc, const char **argv,
    size_t *lens, void **ret_reply)
{
	int	 rc, tries;

	for (tries = 0; tries < 2; tries++) {
		if ((rc = cluster_eval_send(cn, argc, argv, lens)) != 0)
			return rc;
		if ((rc = cluster_eval_recv(cn, ret_reply)) != -ENOENT)
			return rc;
	}
	return cluster_fail(cn, -EPROTO, "script keeps being unknown");
}
