/*
 * http_status.c: what the status page shows. GET /status.json (uptime,
 * version, sockets, gateway, processes, tables, shm, and the last 15
 * minutes of per-second rates) and GET /bindings.json (the location
 * table, filtered and paged on the server: a browser never gets 100k
 * bindings at once).
 *
 * Master only. A 1 s timer samples the shm counters into a ring of
 * HTTP_RING_LEN cumulative samples; rates are the differences, made
 * when a page asks, so the timer's work is a few loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"

#include "evtime.h"
#include "http.h"
#include "loctab.h"
#include "proc.h"
#include "shm.h"
#include "stats.h"
#include "tables.h"
#include "tmtab.h"

#define HTTP_RING_LEN	900		/* 15 minutes of seconds */

enum http_series {
	HS_REGS,	/* registrations accepted */
	HS_CALLS,	/* INVITEs received */
	HS_1XX, HS_2XX, HS_3XX, HS_4XX, HS_5XX, HS_6XX,	/* replies sent */
	HS__MAX
};

static const char *const http_series_names[HS__MAX] = {
	"registrations", "calls", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx"
};

struct http_sample {
	time_t		 hs_time;
	uint64_t	 hs_v[HS__MAX];
};

static struct http_sample	 http_ring[HTTP_RING_LEN];
static unsigned			 http_ring_next;	/* slot to write */
static unsigned			 http_ring_n;		/* samples held */
static struct event		*http_tick_ev;
static const struct conf	*http_status_conf;

static void
http_sample_now(struct http_sample *s)
{
	int	 i;

	s->hs_time = time(NULL);
	s->hs_v[HS_REGS] = stats_get(STATS_ACCEPTED_REGS);
	s->hs_v[HS_CALLS] = stats_get(STATS_RCV_INVITES);
	for (i = 0; i < 6; i++)
		s->hs_v[HS_1XX + i] = stats_get((enum stats_id)
		    (STATS_SENT_1XX + i));
}

static void
http_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	http_sample_now(&http_ring[http_ring_next]);
	http_ring_next = (http_ring_next + 1) % HTTP_RING_LEN;
	if (http_ring_n < HTTP_RING_LEN)
		http_ring_n++;
	/* resident pages: counted here, so that no scrape walks them */
	shm_resident_step();
}

int
http_status_start(struct event_base *base)
{

	http_ring_next = http_ring_n = 0;
	http_tick(-1, 0, NULL);
	if ((http_tick_ev = event_new(base, -1, EV_PERSIST, http_tick,
	    NULL)) == NULL || evtime_add(http_tick_ev, 1000) != 0)
		return -1;
	return 0;
}

void
http_status_stop(void)
{
	if (http_tick_ev != NULL)
		event_free(http_tick_ev);
	http_tick_ev = NULL;
}

void
http_status_set_conf(const struct conf *c)
{
	http_status_conf = c;
}

static const struct http_sample *
http_ring_at(unsigned i)	/* 0 = oldest */
{
	return &http_ring[(http_ring_next + HTTP_RING_LEN - http_ring_n + i) %
	    HTTP_RING_LEN];
}

/* {"t0": first second, "names": [...], "rates": [[...] per series]}. */
static json_t *
http_series_json(void)
{
	const struct http_sample	*a, *b;
	json_t				*o, *rates, *names, *arr[HS__MAX];
	unsigned			 i;
	int				 k;

	o = json_object();
	rates = json_array();
	names = json_array();
	for (k = 0; k < HS__MAX; k++) {
		arr[k] = json_array();
		json_array_append_new(names,
		    json_string(http_series_names[k]));
	}
	for (i = 1; i < http_ring_n; i++) {
		a = http_ring_at(i - 1);
		b = http_ring_at(i);
		/* A reset (stats.reset_statistics) reads as 0, not a wrap. */
		for (k = 0; k < HS__MAX; k++)
			json_array_append_new(arr[k], json_integer(
			    b->hs_v[k] >= a->hs_v[k] ?
			    (json_int_t)(b->hs_v[k] - a->hs_v[k]) : 0));
	}
	for (k = 0; k < HS__MAX; k++)
		json_array_append_new(rates, arr[k]);
	json_object_set_new(o, "t0", json_integer(http_ring_n > 1 ?
	    (json_int_t)http_ring_at(1)->hs_time : 0));
	json_object_set_new(o, "step", json_integer(1));
	json_object_set_new(o, "names", names);
	json_object_set_new(o, "rates", rates);
	return o;
}

static json_t *
http_procs_json(void)
{
	const struct proc_entry	*pe;
	json_t			*a = json_array();
	int			 i;

	for (i = 0; i < proc_count(); i++) {
		pe = proc_get(i);
		json_array_append_new(a, json_pack("{s:I, s:s, s:I, s:I}",
		    "pid", (json_int_t)(i == 0 ? getpid() : pe->pe_pid),
		    "desc", i == 0 ? "master" : pe->pe_desc,
		    "started", (json_int_t)pe->pe_started,
		    "respawns", (json_int_t)pe->pe_respawns));
	}
	return a;
}

static json_t *
http_shm_json(void)
{
	struct shm_table_usage	 t[SHM_TABLES_MAX];
	struct shm_usage	 u;
	size_t			 n, i, used;
	json_t			*tabs = json_array();

	shm_usage(&u);
	n = shm_tables(t, SHM_TABLES_MAX);
	used = u.su_used;
	for (i = 0; i < n; i++) {
		used -= t[i].tu_total - t[i].tu_used;
		json_array_append_new(tabs, json_pack("{s:s, s:I, s:I, s:I}",
		    "name", t[i].tu_name, "total", (json_int_t)t[i].tu_total,
		    "used", (json_int_t)t[i].tu_used,
		    "real_used", (json_int_t)t[i].tu_real_used));
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:o}",
	    "total", (json_int_t)u.su_total, "used", (json_int_t)used,
	    "free", (json_int_t)(u.su_total - used),
	    "real_used", (json_int_t)shm_resident(), "tables", tabs);
}

static void
http_json_out(struct evbuffer *out, json_t *o)
{
	char	*s;

	if (o != NULL && (s = json_dumps(o, JSON_COMPACT)) != NULL) {
		evbuffer_add(out, s, strlen(s));
		free(s);
	} else
		evbuffer_add_printf(out, "{}");
	json_decref(o);
}

void
http_status_json(struct evbuffer *out)
{
	const struct conf	*c = http_status_conf;
	struct loctab_stats	 st;
	struct tmtab_usage	 tu;
	json_t			*o, *socks, *gw = json_null();
	time_t			 now = time(NULL);
	char			 buf[96];
	int			 i;

	memset(&st, 0, sizeof(st));
	if (tables_loctab() != NULL)
		loctab_stats(tables_loctab(), &st);
	tmtab_usage(&tu);
	socks = json_array();
	for (i = 0; c != NULL && i < c->c_nlisten; i++)
		json_array_append_new(socks, json_string(
		    c->c_listen[i].cl_text));
	if (c != NULL && c->c_gw_set) {
		snprintf(buf, sizeof(buf), c->c_gw_addr.ss_family == AF_INET6 ?
		    "[%s]:%u" : "%s:%u", c->c_gw_ip, (unsigned)c->c_gw_port);
		gw = json_string(buf);
	}
	o = json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, "
	    "s:{s:I, s:I, s:I}, s:{s:I, s:I}, s:o, s:o}",
	    "version", SIPD_VERSION,
	    "now", (json_int_t)now,
	    "uptime", (json_int_t)(now - proc_start_time()),
	    "listen", socks,
	    "gateway", gw,
	    "processes", http_procs_json(),
	    "location", "bindings", (json_int_t)st.st_bindings,
	    "aors", (json_int_t)st.st_records,
	    "capacity", (json_int_t)st.st_capacity,
	    "transactions", "in_use", (json_int_t)tu.tu_cells,
	    "capacity", (json_int_t)tu.tu_cap,
	    "shm", http_shm_json(),
	    "series", http_series_json());
	http_json_out(out, o);
}

struct http_bind_ctx {
	const char	*bc_filter;
	unsigned	 bc_offset;
	unsigned	 bc_limit;
	unsigned	 bc_matched;	/* bindings matching, all of them */
	time_t		 bc_now;
	json_t		*bc_rows;
};

static int
http_bind_visit(void *arg, unsigned bucket, const struct loctab_binding *b,
    unsigned n)
{
	struct http_bind_ctx	*bc = arg;
	const char		*state;
	unsigned		 i;

	(void)bucket;
	for (i = 0; i < n; i++) {
		if (bc->bc_filter[0] != '\0' &&
		    strstr(b[i].lb_aor, bc->bc_filter) == NULL &&
		    strstr(b[i].lb_contact, bc->bc_filter) == NULL)
			continue;
		if (bc->bc_matched++ < bc->bc_offset ||
		    json_array_size(bc->bc_rows) >= bc->bc_limit)
			continue;
		state = b[i].lb_state == LOCTAB_CS_NEW ? "CS_NEW" :
		    b[i].lb_state == LOCTAB_CS_DIRTY ? "CS_DIRTY" : "CS_SYNC";
		json_array_append_new(bc->bc_rows, json_pack(
		    "{s:s, s:s, s:s, s:I, s:s, s:s}",
		    "aor", b[i].lb_aor, "contact", b[i].lb_contact,
		    "received", b[i].lb_received,
		    "expires", (json_int_t)(b[i].lb_expires == 0 ? -1 :
		    b[i].lb_expires - bc->bc_now),
		    "user_agent", b[i].lb_user_agent, "state", state));
	}
	return 0;
}

void
http_bindings_json(struct evbuffer *out, const char *filter,
    unsigned offset, unsigned limit)
{
	struct http_bind_ctx	 bc;
	struct loctab_binding	*buf = NULL;
	unsigned		 max = 0;

	memset(&bc, 0, sizeof(bc));
	bc.bc_filter = filter;
	bc.bc_offset = offset;
	bc.bc_limit = limit;
	bc.bc_now = time(NULL);
	bc.bc_rows = json_array();
	if (tables_loctab() != NULL)
		(void)loctab_visit(tables_loctab(), http_bind_visit, &bc, &buf,
		    &max);
	free(buf);
	http_json_out(out, json_pack("{s:I, s:I, s:I, s:o}",
	    "total", (json_int_t)bc.bc_matched, "offset", (json_int_t)offset,
	    "limit", (json_int_t)limit, "bindings", bc.bc_rows));
}
