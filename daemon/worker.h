/*
 * worker: one UDP worker process (libevent loop) handling SIP.
 */
#ifndef SIPD_WORKER_H
#define SIPD_WORKER_H

#include "conf.h"
#include "loctab.h"
#include "udp.h"

/*
 * Worker index (1..N) on the config, the location table in shm and the
 * listen sockets. Never returns: the worker exits 0 on SIGTERM.
 */
void	worker_run(const struct conf *c, struct loctab *location,
	    struct udp_sock *socks, int nsocks, int index)
	    __attribute__((noreturn));

#endif
