/*
 * evtime: libevent timeouts given in milliseconds.
 *
 * Every struct timeval sipd hands to libevent goes through here, and
 * this file alone is built with the C library's default time_t (see
 * compat/meson.build). On armhf, sipd itself is built with
 * _TIME_BITS=64 to survive 2038, but Debian 12's armhf libevent was
 * built with a 32-bit time_t: a 64-bit timeval passed across would be
 * read as { low half of tv_sec, high half of tv_sec }, so a 50 ms tick
 * would become 0 (a busy loop). Here the timeval is libevent's own.
 */
#ifndef SIPD_EVTIME_H
#define SIPD_EVTIME_H

#include <event2/bufferevent.h>
#include <event2/event.h>

/* event_add(ev, ms from now); the result of event_add(). */
int	evtime_add(struct event *ev, unsigned long ms);
/* bufferevent_set_timeouts() with both timeouts in ms (0: none). */
int	evtime_set_timeouts(struct bufferevent *bev, unsigned long read_ms,
	    unsigned long write_ms);

#endif
