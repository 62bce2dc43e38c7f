/*
 * mi_cluster: MI cluster.status (see mi_cluster.h), served by the
 * master from shm: it never waits on Redis itself.
 */
#include <jansson.h>

#include "clusterstat.h"
#include "conf.h"
#include "mi_cluster.h"
#include "mi_cmd.h"
#include "mi_daemon.h"
#include "mi_reply.h"

static void
mi_cluster_status(struct mi_reply *r, int argc, char *const *argv)
{
	const struct conf	*c = mi_daemon()->md_conf();
	struct clusterstat	 cs;
	json_t			*o;

	(void)argc;
	(void)argv;
	if (c->c_cluster.cu_kind == CONF_CLUSTER_OFF ||
	    clusterstat_get(&cs) != 0) {
		mi_reply_error(r, MI_E_SERVER, "cluster.redis is not set: one node");
		return;
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:I, "
	    "s:I, s:I, s:I, s:I}",
	    "node", c->c_cluster.cu_node_id,
	    "redis", c->c_cluster.cu_url,
	    "master", cs.cs_master,
	    "state", cs.cs_connected ? "connected" : "unreachable",
	    "policy", c->c_cluster.cu_policy,
	    "queue", (json_int_t)cs.cs_queue,
	    "lag_ms", (json_int_t)cs.cs_lag_ms,
	    "nodes_seen", (json_int_t)cs.cs_nodes,
	    "nodes", cs.cs_node_ids,
	    "full_loads", (json_int_t)cs.cs_full_loads,
	    "applied", (json_int_t)cs.cs_applied,
	    "refetched", (json_int_t)cs.cs_refetched,
	    "replayed", (json_int_t)cs.cs_replayed,
	    "updated", (json_int_t)cs.cs_updated);
	if (o == NULL)
		mi_reply_error(r, MI_E_INTERNAL, "Internal error: out of memory");
	else
		mi_reply_set(r, o);
}

static const struct mi_cmd mi_cluster_cmds[] = {
	{ "cluster.status",
	    "cluster.status - Redis master, nodes seen, lag, replay queue",
	    0, 0, mi_cluster_status },
};

int
mi_cluster_register(void)
{
	return mi_cmd_register(mi_cluster_cmds,
	    sizeof(mi_cluster_cmds) / sizeof(mi_cluster_cmds[0]));
}
