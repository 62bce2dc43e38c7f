/*
 * dispatch: what a worker does with one datagram: the head of the
 * request pipeline (parse, checks, decide, transaction, send).
 */
#ifndef SIPD_DISPATCH_H
#define SIPD_DISPATCH_H

#include <stddef.h>
#include <sys/socket.h>

#include "conf.h"
#include "loctab.h"
#include "udp.h"

/* Worker start: the config, the location table and the sockets. */
void	dispatch_init(const struct conf *c, struct loctab *location,
	    struct udp_sock *socks, int nsocks);
/*
 * One datagram from src on in. What it makes the worker send is queued
 * (send.h): the caller flushes after its batch.
 */
void	dispatch_datagram(const struct udp_sock *in, const char *buf,
	    size_t len, const struct sockaddr *src);
/*
 * The end of a batch: the REGISTERs that waited for Redis get their
 * change and reply (queued like the others). The batch's receive
 * buffers must still hold their datagrams.
 */
void	dispatch_finish(void);
/* A datagram dropped before parsing (too large). */
void	dispatch_count_dropped(void);

#endif
