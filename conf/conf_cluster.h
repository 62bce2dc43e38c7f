/*
 * conf_cluster: the cluster.* keys (SPEC §3): the Redis that several
 * sipd nodes share their registrations through, this node's name and
 * what a REGISTER gets while Redis does not answer. Parsed here, beside
 * conf.c's directive table; like conf.c it never logs.
 */
#ifndef SIPD_CONF_CLUSTER_H
#define SIPD_CONF_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_CLUSTER_MAX_SENTINELS	8
#define CONF_CLUSTER_HOST_MAX		256
#define CONF_CLUSTER_NODE_MAX		64
#define CONF_CLUSTER_PASSWORD_MAX	256

enum conf_cluster_kind {
	CONF_CLUSTER_OFF = 0,		/* cluster.redis unset: one node */
	CONF_CLUSTER_REDIS,	/* redis://[[USER]:PASS@]HOST:PORT[/DB] */
	CONF_CLUSTER_SENTINEL	/* sentinel://[[USER]:PASS@]H:P[,H:P...]/MASTER */
};

enum conf_cluster_policy {
	CONF_CLUSTER_SHORT = 0,		/* accept, short expiry, queue */
	CONF_CLUSTER_REFUSE		/* 503 + Retry-After */
};

struct conf_cluster_host {
	char		 ch_host[CONF_CLUSTER_HOST_MAX];
	uint16_t	 ch_port;
};

struct conf_cluster {
	enum conf_cluster_kind	 cu_kind;
	char			 cu_url[1024];	/* as given; "" = off */
	/* redis://: one host; sentinel://: the sentinels */
	struct conf_cluster_host cu_hosts[CONF_CLUSTER_MAX_SENTINELS];
	int			 cu_nhosts;
	unsigned		 cu_db;		/* redis:// /DB, 0 */
	/* "[USER]:PASSWORD@" of the URL (AUTH); cu_url shows "***" */
	char			 cu_user[CONF_CLUSTER_NODE_MAX];
	char			 cu_password[CONF_CLUSTER_PASSWORD_MAX];
	char			 cu_master[CONF_CLUSTER_NODE_MAX];
	char			 cu_node_id[CONF_CLUSTER_NODE_MAX];
	int			 cu_unreachable; /* CONF_CLUSTER_SHORT.. */
	char			 cu_policy[8];	/* its name, for cfg.get */
	unsigned		 cu_short_expires; /* s, default 60 */
};

/*
 * Sets cluster.redis, cluster.node_id or cluster.unreachable (key) from
 * its text. 0, or -1 with the reason in why (cu unchanged then).
 * cluster.redis: "" (off), redis://HOST:PORT[/DB] or
 * sentinel://HOST:PORT[,HOST:PORT...]/MASTER. cluster.node_id: 1..63
 * letters, digits, '.', '-', '_'; "" = the host name. unreachable:
 * short or refuse.
 */
int	conf_cluster_set(struct conf_cluster *cu, const char *key,
	    const char *value, char *why, size_t len);

#endif
