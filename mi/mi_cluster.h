/*
 * mi_cluster: MI cluster.status, what the cluster sync process reports
 * in shm (clusterstat.h) and the cluster.* config.
 */
#ifndef SIPD_MI_CLUSTER_H
#define SIPD_MI_CLUSTER_H

/* Adds cluster.status to the MI command table. 0 or -errno. */
int	mi_cluster_register(void);

#endif
