/*
 * cluster_sync: the sync process of a node with cluster.redis, forked
 * and respawned by the master like a worker. It keeps the node's shm
 * location table equal to what Redis holds for every AoR, and replays
 * what the workers changed while Redis was away.
 */
#ifndef SIPD_CLUSTER_SYNC_H
#define SIPD_CLUSTER_SYNC_H

#include "conf.h"
#include "loctab.h"

/* Runs until SIGTERM; never returns. */
void	cluster_sync_run(const struct conf *c, struct loctab *lt)
	    __attribute__((noreturn));

#endif
