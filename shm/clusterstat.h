/*
 * clusterstat: what a node's cluster sync process knows about Redis and
 * the other nodes, in shm for MI cluster.status (the master reads it).
 * Carved only with cluster.redis. One writer (the sync process), any
 * number of readers, no lock (a latch: see clusterstat.c).
 */
#ifndef SIPD_CLUSTERSTAT_H
#define SIPD_CLUSTERSTAT_H

#include <stddef.h>
#include <stdint.h>

#define CLUSTERSTAT_SHM_ALIGN	64

struct clusterstat {
	uint32_t	 cs_connected;	/* 1: the sync process reads Redis */
	uint32_t	 cs_queue;	/* AoRs waiting for replay */
	uint32_t	 cs_full_loads;	/* SCAN + HGETALL loads since start */
	uint32_t	 cs_nodes;	/* heartbeats seen, this node included */
	int64_t		 cs_lag_ms;	/* now - time of the last event read */
	int64_t		 cs_updated;	/* unix time of this report */
	uint64_t	 cs_applied;	/* AoRs taken from a stream event */
	uint64_t	 cs_refetched;	/* AoRs read again (HGETALL) */
	uint64_t	 cs_replayed;	/* queued changes replayed */
	char		 cs_master[280];	/* "HOST:PORT" in use, or "" */
	char		 cs_stream_id[48];	/* last event read */
	char		 cs_node_ids[512];	/* "n1 n2 n3" */
};

size_t	clusterstat_shm_size(void);
/* Master, before the fork. 0 or -errno. */
int	clusterstat_create(void);
/* The sync process. */
void	clusterstat_set(const struct clusterstat *cs);
/* 0, or -ENOENT when there is none (no cluster.redis). */
int	clusterstat_get(struct clusterstat *ret);

#endif
