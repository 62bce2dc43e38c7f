/*
 * http: the master's HTTP endpoint (SPEC §3 http.listen/http.allow):
 * Prometheus /metrics, the status page / and its JSON, served from shm
 * counters in the master's own libevent loop. Workers are never asked,
 * so a slow or hostile client can cost the master a socket, never SIP.
 */
#ifndef SIPD_HTTP_H
#define SIPD_HTTP_H

#include <event2/buffer.h>
#include <event2/event.h>

#include "conf.h"

/* Connections open at once; more are closed at accept. */
#define HTTP_MAX_CONNS		32
/* Seconds a connection may sit idle or stall a write. */
#define HTTP_TIMEOUT_SEC	5
#define HTTP_MAX_HEADERS	8192	/* bytes of request line + headers */
#define HTTP_MAX_BODY		1024	/* GETs carry none */

/*
 * Master, before the workers are forked: binds http.listen when set (0
 * and nothing when not). -1 with the reason logged when it cannot bind.
 */
int	http_start(struct event_base *base, const struct conf *c);
void	http_stop(void);

/* The pages (http_metrics.c, http_status.c); each appends to out. */
void	http_metrics(struct evbuffer *out);
/* Per-second samples for the status page: started by http_start(). */
int	http_status_start(struct event_base *base);
void	http_status_set_conf(const struct conf *c);
void	http_status_stop(void);
void	http_status_json(struct evbuffer *out);
/*
 * The bindings page: AoRs containing filter (may be ""), from the
 * offset-th match, at most limit of them.
 */
void	http_bindings_json(struct evbuffer *out, const char *filter,
	    unsigned offset, unsigned limit);
/* The status page itself (http_page.html, embedded at build time). */
extern const char	http_page_html[];
extern const unsigned	http_page_html_len;

#endif
