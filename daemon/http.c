/*
 * http.c: the master's evhttp server: access control, limits and
 * routing. What each page says is in http_metrics.c and http_status.c.
 *
 * Runs in the master only. evhttp 2.1 has neither a connection limit
 * nor a hook at a connection's end, so the limit is kept with public
 * calls: every connection gets its bufferevent from us (bevcb), with a
 * reference of ours; once evhttp lets go of one (its callbacks are
 * cleared) we drop ours, which closes the socket. At HTTP_MAX_CONNS the
 * listener is paused (the kernel's backlog holds newcomers) until the
 * 1 s sweep finds a free slot. Peers outside http.allow get 403 and
 * the connection closed; idle or stalled peers go after
 * HTTP_TIMEOUT_SEC.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "evtime.h"
#include "http.h"
#include "log.h"

static struct evhttp		*http_srv;
static struct evconnlistener	*http_listener;
static const struct conf	*http_conf;
static struct bufferevent	*http_bevs[HTTP_MAX_CONNS];
static int			 http_nbevs;
static bool			 http_paused;
static struct event		*http_sweep_ev;

/* Drops our reference to the connections evhttp has finished with. */
static void
http_sweep(void)
{
	bufferevent_data_cb	 rd;
	int			 i;

	for (i = 0; i < http_nbevs; ) {
		bufferevent_getcb(http_bevs[i], &rd, NULL, NULL, NULL);
		if (rd != NULL) {
			i++;
			continue;
		}
		bufferevent_decref(http_bevs[i]);
		http_bevs[i] = http_bevs[--http_nbevs];
	}
	if (http_paused && http_nbevs < HTTP_MAX_CONNS) {
		evconnlistener_enable(http_listener);
		http_paused = false;
	}
}

static void
http_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	http_sweep();
}

static struct bufferevent *
http_bev_cb(struct event_base *base, void *arg)
{
	struct bufferevent	*bev;

	(void)arg;
	http_sweep();
	if ((bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		return NULL;	/* evhttp then makes its own */
	bufferevent_incref(bev);
	http_bevs[http_nbevs++] = bev;
	if (http_nbevs == HTTP_MAX_CONNS) {
		log_debug("http: %d connections open, pausing accept",
		    HTTP_MAX_CONNS);
		evconnlistener_disable(http_listener);
		http_paused = true;
	}
	return bev;
}

/* The peer of req as a sockaddr, from evhttp's text form. */
static bool
http_peer_allowed(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct sockaddr_storage		 ss;
	struct sockaddr_in		*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6		*sin6 = (struct sockaddr_in6 *)&ss;
	char				*addr = NULL;
	ev_uint16_t			 port;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return false;
	evhttp_connection_get_peer(evcon, &addr, &port);
	if (addr == NULL)
		return false;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		return false;
	return conf_http_allowed(&http_conf->c_http,
	    (const struct sockaddr *)&ss);
}

static void
http_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	/* The page is self-contained: nothing may load from elsewhere. */
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'self'; "
	    "script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'");
	/* HEAD: evhttp sends the headers and drops the body. */
	evhttp_send_reply(req, code, reason, body);
}

static void
http_error(struct evhttp_request *req, int code, const char *reason)
{
	struct evbuffer	*b;

	if ((b = evbuffer_new()) == NULL) {
		evhttp_send_error(req, code, reason);
		return;
	}
	evbuffer_add_printf(b, "%d %s\n", code, reason);
	if (code == 405)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
	http_reply(req, code, reason, "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

/* An unsigned query parameter, def when absent, clamped to max. */
static unsigned
http_uparam(struct evkeyvalq *q, const char *name, unsigned def,
    unsigned max)
{
	const char	*v = evhttp_find_header(q, name);
	char		*end;
	unsigned long	 n;

	if (v == NULL || *v < '0' || *v > '9')
		return def;
	n = strtoul(v, &end, 10);
	if (*end != '\0')
		return def;
	return n > max ? max : (unsigned)n;
}

static void
http_bindings(struct evhttp_request *req, const struct evhttp_uri *uri,
    struct evbuffer *b)
{
	struct evkeyvalq	 q;
	const char		*query = evhttp_uri_get_query(uri);
	const char		*filter;

	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) != 0) {
		http_error(req, 400, "Bad Request");
		return;
	}
	filter = evhttp_find_header(&q, "filter");
	http_bindings_json(b, filter ? filter : "",
	    http_uparam(&q, "offset", 0, 10000000),
	    http_uparam(&q, "limit", 50, 100));
	evhttp_clear_headers(&q);
	http_reply(req, 200, "OK", "application/json", b);
}

static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	const char		*path;
	struct evbuffer		*b;

	(void)arg;
	if (!http_peer_allowed(req)) {
		log_debug("http: peer outside http.allow refused");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		http_error(req, 403, "Forbidden");
		return;
	}
	if (uri == NULL || (path = evhttp_uri_get_path(uri)) == NULL) {
		http_error(req, 400, "Bad Request");
		return;
	}
	if (strcmp(path, "/") != 0 && strcmp(path, "/metrics") != 0 &&
	    strcmp(path, "/status.json") != 0 &&
	    strcmp(path, "/bindings.json") != 0) {
		http_error(req, 404, "Not Found");
		return;
	}
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		http_error(req, 405, "Method Not Allowed");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		http_error(req, 503, "Service Unavailable");
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
		http_metrics(b);
		http_reply(req, 200, "OK",
		    "text/plain; version=0.0.4; charset=utf-8", b);
	} else if (strcmp(path, "/status.json") == 0) {
		http_status_json(b);
		http_reply(req, 200, "OK", "application/json", b);
	} else if (strcmp(path, "/bindings.json") == 0) {
		http_bindings(req, uri, b);
	} else {
		evbuffer_add_reference(b, http_page_html, http_page_html_len,
		    NULL, NULL);
		http_reply(req, 200, "OK", "text/html; charset=utf-8", b);
	}
	evbuffer_free(b);
}

int
http_start(struct event_base *base, const struct conf *c)
{
	const struct conf_http	*h = &c->c_http;
	socklen_t		 len;

	http_conf = c;
	http_status_set_conf(c);
	if (!h->ch_set)
		return 0;
	if ((http_srv = evhttp_new(base)) == NULL) {
		log_warnx("http: evhttp_new failed");
		return -1;
	}
	evhttp_set_max_headers_size(http_srv, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http_srv, HTTP_MAX_BODY);
	evhttp_set_timeout(http_srv, HTTP_TIMEOUT_SEC);
	/* Every method reaches us, so the answer is 405, not evhttp's 501. */
	evhttp_set_allowed_methods(http_srv, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http_srv, http_request_cb, NULL);
	evhttp_set_bevcb(http_srv, http_bev_cb, NULL);
	len = h->ch_addr.ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	/* evhttp sets the accept callback; we keep the handle to pause. */
	http_listener = evconnlistener_new_bind(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC |
	    LEV_OPT_DISABLED, 64, (const struct sockaddr *)&h->ch_addr,
	    (int)len);
	if (http_listener == NULL ||
	    evhttp_bind_listener(http_srv, http_listener) == NULL) {
		log_warn("http: cannot listen on %s", h->ch_listen);
		if (http_listener != NULL)
			evconnlistener_free(http_listener);
		http_listener = NULL;
		evhttp_free(http_srv);
		http_srv = NULL;
		return -1;
	}
	evconnlistener_enable(http_listener);
	if ((http_sweep_ev = event_new(base, -1, EV_PERSIST, http_sweep_cb,
	    NULL)) == NULL || evtime_add(http_sweep_ev, 1000) != 0 ||
	    http_status_start(base) != 0) {
		http_stop();
		return -1;
	}
	log_info("http: status page and /metrics on %s", h->ch_listen);
	return 0;
}

void
http_stop(void)
{
	http_status_stop();
	if (http_sweep_ev != NULL)
		event_free(http_sweep_ev);
	http_sweep_ev = NULL;
	/* evhttp_free() frees the bound listener and every connection. */
	if (http_srv != NULL)
		evhttp_free(http_srv);
	http_srv = NULL;
	http_listener = NULL;
	while (http_nbevs > 0)
		bufferevent_decref(http_bevs[--http_nbevs]);
}
