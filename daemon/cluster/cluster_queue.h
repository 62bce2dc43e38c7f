/*
 * cluster_queue: how a worker hands the sync process an AoR it changed
 * while Redis did not answer (cluster.unreachable short). One datagram
 * per change, the AoR's bytes, to an abstract UNIX socket named after
 * the master's pid; the sync process keeps at most one entry per AoR
 * (cluster_map) and replays them when Redis is back.
 */
#ifndef SIPD_CLUSTER_QUEUE_H
#define SIPD_CLUSTER_QUEUE_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* The address of the sync process of the sipd whose master is pid. */
socklen_t cluster_queue_addr(pid_t master, struct sockaddr_un *ret);

#endif
