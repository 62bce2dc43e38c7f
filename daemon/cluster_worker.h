/*
 * cluster_worker: a UDP worker's side of cluster.redis. A REGISTER the
 * registrar accepted goes to Redis (the script) before the shm table is
 * touched; the 200 is sent only after Redis acknowledged. Without
 * cluster.redis every call returns at once and changes nothing.
 */
#ifndef SIPD_CLUSTER_WORKER_H
#define SIPD_CLUSTER_WORKER_H

#include <stdbool.h>

#include "conf.h"
#include "loctab.h"

/* Redis was not reached and cluster.unreachable is refuse: 503. */
#define CLUSTER_W_REFUSED	100
/* cluster_worker_register_begin(): queued, the result comes later. */
#define CLUSTER_W_PENDING	101
/* REGISTERs queued at most (a recvmmsg() batch holds no more). */
#define CLUSTER_W_PIPELINE	16
/* Every wait of a worker on Redis is bounded by this. */
#define CLUSTER_W_TIMEOUT_MS	100
/* After a failure, REGISTERs get the policy at once for this long. */
#define CLUSTER_W_BACKOFF_MS	1000

void	cluster_worker_init(const struct conf *c, struct loctab *location);
bool	cluster_worker_enabled(void);
/*
 * Writes the change sv to Redis first. 0: go on with loctab_save(sv)
 * (sv may have been changed: forced when Redis applied it, expiries
 * cut to cluster.short_expires when Redis was not reached and the
 * policy is short, the AoR then queued for replay). LOCTAB_E_CSEQ or
 * LOCTAB_E_TOO_MANY: Redis refused it; CLUSTER_W_REFUSED: see above.
 */
int	cluster_worker_register(struct loctab_save *sv);
/*
 * The same in two halves, for the REGISTERs of one batch in one round
 * trip. _begin returns CLUSTER_W_PENDING when the change was queued
 * (else it did it whole and returns as above); each pending one gets
 * its result from _end, called in the order of the _begin calls.
 */
int	cluster_worker_register_begin(struct loctab_save *sv);
int	cluster_worker_register_end(struct loctab_save *sv);
/*
 * A call found no binding for aor in shm: the REGISTER may have reached
 * Redis through another node a moment ago, before this node's sync
 * process applied it. Fetches the AoR from Redis into shm, at most once
 * a second per AoR and worker (bounded wait, no fetch while Redis is
 * known to be away). 1 when Redis has bindings (now in shm too): look
 * up again.
 */
int	cluster_worker_miss(struct loctab_str aor, time_t now);
/* Fetches for a missed AoR at most this often (per worker). */
#define CLUSTER_W_MISS_MS	1000
#define CLUSTER_W_MISS_SLOTS	1024

#endif
