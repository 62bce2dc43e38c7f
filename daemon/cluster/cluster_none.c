/*
 * cluster_none: sipd built without hiredis (-Dredis=disabled). The
 * config still parses cluster.redis; sipd -c and the start refuse it.
 */
#include <errno.h>
#include <stdio.h>

#include "cluster.h"

const char cluster_script_lua[] = "";

int
cluster_connect(struct cluster_conn *cn, const struct conf_cluster *cu,
    unsigned timeout_ms)
{
	(void)cu;
	(void)timeout_ms;
	snprintf(cn->cn_err, sizeof(cn->cn_err),
	    "sipd was built without Redis (hiredis)");
	return -ENOTSUP;
}

void
cluster_close(struct cluster_conn *cn)
{
	cn->cn_ctx = NULL;
}

bool
cluster_connected(const struct cluster_conn *cn)
{
	return false;
}

int
cluster_set_timeout(struct cluster_conn *cn, unsigned timeout_ms)
{
	(void)cn;
	(void)timeout_ms;
	return -ENOTSUP;
}

int
cluster_eval(struct cluster_conn *cn, int argc, const char **argv,
    size_t *lens, void **ret_reply)
{
	return -ENOTSUP;
}

int
cluster_register(struct cluster_conn *cn, const struct loctab_save *req,
    enum cluster_status *ret_status, int64_t *ret_version)
{
	return -ENOTSUP;
}

int
cluster_register_send(struct cluster_conn *cn, const struct loctab_save *req)
{
	return -ENOTSUP;
}

int
cluster_register_recv(struct cluster_conn *cn, enum cluster_status *ret_status,
    int64_t *ret_version)
{
	return -ENOTSUP;
}

int
cluster_replay(struct cluster_conn *cn, const char *aor, size_t len,
    const struct loctab_binding *b, unsigned n, time_t since, time_t now)
{
	return -ENOTSUP;
}

int
cluster_mi(struct cluster_conn *cn, const char *aor, size_t len,
    const struct loctab_binding *b, unsigned n, bool star, time_t now)
{
	return -ENOTSUP;
}

int
cluster_fetch(struct cluster_conn *cn, const char *aor, size_t len,
    struct cluster_aor *ret)
{
	return -ENOTSUP;
}

int
cluster_fetch_send(struct cluster_conn *cn, const char *aor, size_t len)
{
	return -ENOTSUP;
}

int
cluster_fetch_recv(struct cluster_conn *cn, const char *aor, size_t len,
    struct cluster_aor *ret)
{
	return -ENOTSUP;
}

int
cluster_aor_from_reply(const void *reply, size_t first, const char *aor,
    size_t len, struct cluster_aor *ret)
{
	return -ENOTSUP;
}
