/*
 * evtime: see evtime.h. Built without _TIME_BITS=64 so that struct
 * timeval here is the one libevent was compiled with.
 */
#include <sys/time.h>

#include "evtime.h"

static void
evtime_tv(unsigned long ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000) * 1000;
}

int
evtime_add(struct event *ev, unsigned long ms)
{
	struct timeval	 tv;

	evtime_tv(ms, &tv);
	return event_add(ev, &tv);
}

int
evtime_set_timeouts(struct bufferevent *bev, unsigned long read_ms,
    unsigned long write_ms)
{
	struct timeval	 r, w;

	evtime_tv(read_ms, &r);
	evtime_tv(write_ms, &w);
	return bufferevent_set_timeouts(bev, read_ms ? &r : NULL,
	    write_ms ? &w : NULL);
}
