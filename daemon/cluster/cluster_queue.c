/*
 * cluster_queue: the address workers and the sync process agree on
 * (see cluster_queue.h). Abstract: nothing on disk to clean up, gone
 * with the process that bound it.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cluster_queue.h"

socklen_t
cluster_queue_addr(pid_t master, struct sockaddr_un *ret)
{
	int	 n;

	memset(ret, 0, sizeof(*ret));
	ret->sun_family = AF_UNIX;
	n = snprintf(ret->sun_path + 1, sizeof(ret->sun_path) - 1,
	    "sipd-cluster-queue-%ld", (long)master);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    (size_t)n);
}
