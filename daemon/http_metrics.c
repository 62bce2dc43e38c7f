/*
 * http_metrics.c: GET /metrics, the Prometheus text exposition format
 * 0.0.4 (HELP, TYPE, one family at a time, base units, counters with
 * _total). Master only; every number comes from shm (the workers' stats
 * rows, the tables' own counters) or from the master's own state (the
 * process table, the flush record), so a scrape asks no worker anything
 * and takes no lock a worker takes on its hot path (loctab_stats()
 * reads bucket counters without locks; the pool lock is the free
 * list's, taken for a few loads).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#include "clusterstat.h"
#include "http.h"
#include "loctab.h"
#include "mi_server.h"
#include "proc.h"
#include "shm.h"
#include "stats.h"
#include "tables.h"
#include "tmtab.h"

static void
http_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
http_u64(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	http_family(b, name, type, help);
	evbuffer_add_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* One sample per label value: ids[i] counted under label=values[i]. */
static void
http_labeled(struct evbuffer *b, const char *name, const char *help,
    const char *label, const char *const *values, const enum stats_id *ids,
    size_t n)
{
	size_t	 i;

	http_family(b, name, "counter", help);
	for (i = 0; i < n; i++)
		evbuffer_add_printf(b, "%s{%s=\"%s\"} %llu\n", name, label,
		    values[i], (unsigned long long)stats_get(ids[i]));
}

/* The same for the n counters of family f from index first on. */
static void
http_labeled_family(struct evbuffer *b, const char *name, const char *help,
    const char *label, const char *const *values, enum stats_family f,
    unsigned first, unsigned n)
{
	unsigned	 i;

	http_family(b, name, "counter", help);
	for (i = 0; i < n; i++)
		evbuffer_add_printf(b, "%s{%s=\"%s\"} %llu\n", name, label,
		    values[i], (unsigned long long)stats_family_get(f,
		    first + i));
}

/*
 * A by-code family: class and code labels, code="other" for the codes
 * stats.c does not list (a bounded set: a peer inventing codes cannot
 * grow the scrape).
 */
static void
http_by_code(struct evbuffer *b, const char *name, const char *help,
    enum stats_family f)
{
	unsigned	 i, n = stats_family_size(f);
	int		 code;

	http_family(b, name, "counter", help);
	for (i = 0; i < n; i++) {
		code = stats_code_at(f, i);
		if (code >= 100)
			evbuffer_add_printf(b, "%s{class=\"%dxx\",code=\"%d\"} "
			    "%llu\n", name, code / 100, code,
			    (unsigned long long)stats_family_get(f, i));
		else
			evbuffer_add_printf(b, "%s{class=\"%dxx\",code=\"other\"} "
			    "%llu\n", name, code, (unsigned long long)
			    stats_family_get(f, i));
	}
}

static void
http_requests(struct evbuffer *b)
{
	static const char *const methods[STATS_M__MAX] = {
		[STATS_M_INVITE] = "INVITE", [STATS_M_CANCEL] = "CANCEL",
		[STATS_M_ACK] = "ACK", [STATS_M_BYE] = "BYE",
		[STATS_M_INFO] = "INFO", [STATS_M_REGISTER] = "REGISTER",
		[STATS_M_SUBSCRIBE] = "SUBSCRIBE",
		[STATS_M_NOTIFY] = "NOTIFY", [STATS_M_MESSAGE] = "MESSAGE",
		[STATS_M_OPTIONS] = "OPTIONS", [STATS_M_PRACK] = "PRACK",
		[STATS_M_UPDATE] = "UPDATE", [STATS_M_REFER] = "REFER",
		[STATS_M_PUBLISH] = "PUBLISH", [STATS_M_OTHER] = "other",
	};

	http_labeled_family(b, "sipd_sip_requests_received_total",
	    "SIP requests received and parsed (retransmissions included), "
	    "by method.", "method", methods, STATS_F_REQUESTS, 0,
	    STATS_M__MAX);
}

/* REGISTER outcomes: ok (200), challenged (401), rejected; with code. */
static void
http_registrations(struct evbuffer *b)
{
	unsigned	 i, n = stats_family_size(STATS_F_REGISTER);
	int		 code;
	char		 c[16];

	http_family(b, "sipd_registrations_total", "counter",
	    "Final replies sipd sent to REGISTER requests: outcome ok (200), "
	    "challenged (401) or rejected, with the code (other: a code not "
	    "listed).");
	for (i = 0; i < n; i++) {
		code = stats_code_at(STATS_F_REGISTER, i);
		if (code > 0)
			snprintf(c, sizeof(c), "%d", code);
		else
			snprintf(c, sizeof(c), "other");
		evbuffer_add_printf(b, "sipd_registrations_total{outcome=\"%s\","
		    "code=\"%s\"} %llu\n", code == 200 ? "ok" : code == 401 ?
		    "challenged" : "rejected", c, (unsigned long long)
		    stats_family_get(STATS_F_REGISTER, i));
	}
}

static void
http_auth_failures(struct evbuffer *b)
{
	static const char *const why[STATS_AF__MAX] = {
		[STATS_AF_STALE] = "stale_nonce",
		[STATS_AF_INVALID] = "invalid",
		[STATS_AF_REPLAY] = "replayed_nonce",
		[STATS_AF_MALFORMED] = "malformed",
		[STATS_AF_IDENTITY] = "forbidden_identity",
		[STATS_AF_ERROR] = "error",
	};

	http_labeled_family(b, "sipd_auth_failures_total",
	    "Digest checks that failed, by reason (invalid: wrong password, "
	    "unknown user, or a nonce or algorithm sipd did not offer; "
	    "forbidden_identity: a right digest for another user's identity, "
	    "answered 403).", "reason", why, STATS_F_AUTH_FAIL, 0,
	    STATS_AF__MAX);
}

static void
http_calls(struct evbuffer *b)
{
	static const char *const paths[STATS_PATH__MAX] = {
		[STATS_PATH_UA_GW] = "ua_gw", [STATS_PATH_GW_UA] = "gw_ua",
		[STATS_PATH_OTHER] = "other",
	};
	static const char *const outcomes[STATS_O__MAX] = {
		[STATS_O_ANSWERED] = "answered",
		[STATS_O_REDIRECTED] = "redirected",
		[STATS_O_CHALLENGED] = "challenged",
		[STATS_O_CANCELLED] = "cancelled",
		[STATS_O_FAILED_4XX] = "failed_4xx",
		[STATS_O_FAILED_5XX] = "failed_5xx",
		[STATS_O_FAILED_6XX] = "failed_6xx",
	};
	unsigned	 p, o;

	http_family(b, "sipd_calls_total", "counter",
	    "INVITEs outside a dialog that were routed, by path (ua_gw: a UA "
	    "to the PSTN gateway, gw_ua: the gateway to registered users, "
	    "other: UA to UA) and by their final reply: answered (2xx), "
	    "redirected (3xx), challenged (401/407), cancelled (CANCEL, then "
	    "a non-2xx), failed_4xx/5xx/6xx (408: no answer).");
	for (p = STATS_PATH_UA_GW; p < STATS_PATH__MAX; p++)
		for (o = 0; o < STATS_O__MAX; o++)
			evbuffer_add_printf(b, "sipd_calls_total{path=\"%s\","
			    "outcome=\"%s\"} %llu\n", paths[p], outcomes[o],
			    (unsigned long long)stats_family_get(STATS_F_CALLS,
			    (p - 1) * STATS_O__MAX + o));
}

/* utime + stime of pid in seconds, from /proc; -1 when gone. */
static double
http_cpu_seconds(pid_t pid)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 ut, st;
	long		 hz = sysconf(_SC_CLK_TCK);
	FILE		*f;
	size_t		 n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name is in parentheses and may hold blanks: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)(hz > 0 ? hz : 100);
}

static void
http_processes(struct evbuffer *b)
{
	const struct proc_entry	*pe;
	double			 cpu;
	int			 i, live = 1;

	http_family(b, "sipd_process_cpu_seconds_total", "counter",
	    "CPU time (user + system) of each sipd process.");
	for (i = 0; i < proc_count(); i++) {
		pe = i == 0 ? NULL : proc_get(i);
		cpu = http_cpu_seconds(i == 0 ? getpid() : pe->pe_pid);
		if (i > 0 && pe->pe_pid == 0)
			continue;
		if (cpu < 0)
			continue;
		if (i == 0)
			evbuffer_add_printf(b, "sipd_process_cpu_seconds_total"
			    "{process=\"master\"} %.2f\n", cpu);
		else
			evbuffer_add_printf(b, "sipd_process_cpu_seconds_total"
			    "{process=\"worker\",index=\"%d\"} %.2f\n",
			    pe->pe_index, cpu);
	}
	http_family(b, "sipd_process_respawns_total", "counter",
	    "Times the master restarted a worker that died.");
	for (i = 1; i < proc_count(); i++)
		evbuffer_add_printf(b, "sipd_process_respawns_total"
		    "{process=\"worker\",index=\"%d\"} %u\n",
		    proc_get(i)->pe_index, proc_get(i)->pe_respawns);
	for (i = 1; i < proc_count(); i++)
		if (proc_get(i)->pe_pid != 0)
			live++;
	http_u64(b, "sipd_processes", "gauge",
	    "sipd processes running (master and workers).", live);
}

static void
http_shm(struct evbuffer *b)
{
	struct shm_table_usage	 t[SHM_TABLES_MAX];
	size_t			 n, i;
	struct shm_usage	 u;

	shm_usage(&u);
	n = shm_tables(t, SHM_TABLES_MAX);
	http_u64(b, "sipd_shm_reserved_bytes", "gauge",
	    "Shared memory mapped at start (address space, not RAM).",
	    u.su_total);
	http_u64(b, "sipd_shm_resident_bytes", "gauge",
	    "Shared memory pages actually touched (RAM in use).",
	    shm_resident());
	http_family(b, "sipd_shm_table_capacity_bytes", "gauge",
	    "Shared memory reserved for each table.");
	for (i = 0; i < n; i++)
		evbuffer_add_printf(b, "sipd_shm_table_capacity_bytes"
		    "{table=\"%s\"} %zu\n", t[i].tu_name, t[i].tu_total);
	http_family(b, "sipd_shm_table_used_bytes", "gauge",
	    "Shared memory of each table holding live entries.");
	for (i = 0; i < n; i++)
		evbuffer_add_printf(b, "sipd_shm_table_used_bytes"
		    "{table=\"%s\"} %zu\n", t[i].tu_name, t[i].tu_used);
	http_family(b, "sipd_shm_table_resident_bytes", "gauge",
	    "Shared memory pages of each table actually touched.");
	for (i = 0; i < n; i++)
		evbuffer_add_printf(b, "sipd_shm_table_resident_bytes"
		    "{table=\"%s\"} %zu\n", t[i].tu_name, t[i].tu_real_used);
}

/*
 * cluster.redis only (clusterstat is carved with it): the sync process's
 * report, as MI cluster.status shows it, and the workers' Redis round
 * trips. A node without cluster.redis prints none of these families.
 */
static void
http_cluster(struct evbuffer *b)
{
	static const char *const wt[] = { "acked", "script_refused",
	    "short", "refused" };
	static const char *const miss[] = { "found", "none", "error" };
	struct clusterstat	 cs;
	time_t			 now = time(NULL);

	if (clusterstat_get(&cs) != 0)
		return;
	http_u64(b, "sipd_cluster_up", "gauge", "1: the cluster sync "
	    "process reads Redis now; 0: Redis unreachable (or not yet "
	    "connected).", cs.cs_connected);
	http_family(b, "sipd_cluster_info", "gauge", "The Redis master the "
	    "sync process uses (empty while unreachable).");
	evbuffer_add_printf(b, "sipd_cluster_info{master=\"%s\"} 1\n",
	    cs.cs_master);
	http_u64(b, "sipd_cluster_nodes_seen", "gauge", "Nodes with a live "
	    "heartbeat key in Redis, this node included.", cs.cs_nodes);
	http_family(b, "sipd_cluster_lag_seconds", "gauge", "Age of the "
	    "newest event of the last batch read from the stream when it was "
	    "read (0: nothing new within the block).");
	evbuffer_add_printf(b, "sipd_cluster_lag_seconds %.3f\n",
	    (double)(cs.cs_lag_ms > 0 ? cs.cs_lag_ms : 0) / 1000.0);
	http_u64(b, "sipd_cluster_replay_queue", "gauge", "AoRs registered "
	    "while Redis was unreachable, waiting to be replayed.",
	    cs.cs_queue);
	http_u64(b, "sipd_cluster_report_age_seconds", "gauge", "Seconds "
	    "since the sync process last reported: about 1 while it reads "
	    "the stream; more while it loads everything, waits on a stopped "
	    "Redis (3 s at most) or is dead.", cs.cs_updated > 0 && now >
	    cs.cs_updated ? (uint64_t)(now - cs.cs_updated) : 0);
	http_u64(b, "sipd_cluster_full_loads_total", "counter", "Whole "
	    "loads of Redis (SCAN + HGETALL): at start and after events "
	    "were trimmed away.", cs.cs_full_loads);
	http_u64(b, "sipd_cluster_events_applied_total", "counter", "AoR "
	    "changes of other nodes taken from the stream.", cs.cs_applied);
	http_u64(b, "sipd_cluster_refetches_total", "counter", "AoRs "
	    "read again from their hash in Redis.", cs.cs_refetched);
	http_u64(b, "sipd_cluster_replays_total", "counter", "Queued "
	    "changes replayed to Redis.", cs.cs_replayed);
	http_labeled_family(b, "sipd_cluster_writes_total", "REGISTERs "
	    "written through to Redis by the workers, by result: acked, "
	    "script_refused (CSeq or max_contacts), short (Redis not "
	    "reached: short expiry, queued), refused (not reached: 503).",
	    "result", wt, STATS_F_CLUSTER, STATS_CL_ACKED,
	    sizeof(wt) / sizeof(wt[0]));
	http_labeled_family(b, "sipd_cluster_miss_fetches_total", "Calls "
	    "whose lookup found no binding and asked Redis, by result.",
	    "result", miss, STATS_F_CLUSTER, STATS_CL_MISS_FOUND,
	    sizeof(miss) / sizeof(miss[0]));
}

void
http_metrics(struct evbuffer *b)
{
	static const char *const drops[] = { "request_dropped",
	    "reply_dropped", "unparseable" };
	static const enum stats_id dropids[] = { STATS_DROP_REQUESTS,
	    STATS_DROP_REPLIES, STATS_ERR_REQUESTS };
	static const char *const auths[] = { "challenge", "failure",
	    "success" };
	static const enum stats_id authids[] = { STATS_AUTH_CHALLENGES,
	    STATS_AUTH_FAILURES, STATS_AUTH_SUCCESSES };
	struct loctab_stats		 st;
	struct tmtab_usage		 tu;
	struct tables_flush_stats	 fs;
	unsigned			 mi_open;
	unsigned long			 mi_total;

	http_family(b, "sipd_build_info", "gauge", "sipd version.");
	evbuffer_add_printf(b, "sipd_build_info{version=\"%s\"} 1\n",
	    SIPD_VERSION);
	http_u64(b, "sipd_start_time_seconds", "gauge",
	    "When the master started, seconds since the epoch.",
	    (uint64_t)proc_start_time());

	http_requests(b);
	http_u64(b, "sipd_sip_replies_received_total", "counter",
	    "SIP replies received and parsed.", stats_get(STATS_RCV_REPLIES));
	http_u64(b, "sipd_sip_requests_forwarded_total", "counter",
	    "SIP requests forwarded (each branch and retransmission counts).",
	    stats_get(STATS_FWD_REQUESTS));
	http_by_code(b, "sipd_sip_replies_forwarded_total",
	    "SIP replies passed upstream (retransmissions included), by "
	    "class and code.", STATS_F_FORWARDED);
	http_by_code(b, "sipd_sip_replies_sent_total",
	    "SIP replies sipd itself made, by class and code.", STATS_F_SENT);
	http_u64(b, "sipd_sip_bad_requests_total", "counter",
	    "Malformed requests answered 400.", stats_get(STATS_BAD_MSG_HDR));
	http_labeled(b, "sipd_dropped_datagrams_total",
	    "Datagrams dropped, by reason.", "reason", drops, dropids, 3);
	http_registrations(b);
	http_labeled(b, "sipd_auth_total",
	    "Digest authentication: challenges sent, failures, successes.",
	    "result", auths, authids, 3);
	http_auth_failures(b);
	http_calls(b);

	tmtab_usage(&tu);
	http_u64(b, "sipd_transactions_created_total", "counter",
	    "Transactions opened.", stats_get(STATS_TM_CREATED));
	http_u64(b, "sipd_transactions", "gauge",
	    "Transactions in use.", tu.tu_cells);
	http_u64(b, "sipd_transactions_capacity", "gauge",
	    "Transactions the table can hold (tm.max_transactions).",
	    tu.tu_cap);

	memset(&st, 0, sizeof(st));
	if (tables_loctab() != NULL)
		loctab_stats(tables_loctab(), &st);
	http_u64(b, "sipd_location_bindings", "gauge",
	    "Contacts registered (bindings).", st.st_bindings);
	http_u64(b, "sipd_location_aors", "gauge",
	    "Addresses of record with at least one binding.", st.st_records);
	http_u64(b, "sipd_location_bindings_capacity", "gauge",
	    "Bindings the table can hold (usrloc.max_contacts).",
	    st.st_capacity);
	http_u64(b, "sipd_location_expired_total", "counter",
	    "Bindings removed because they expired.", st.st_expired);

	tables_flush_stats(&fs);
	http_family(b, "sipd_location_flushes_total", "counter",
	    "Write-backs of the location table to storage, by result.");
	evbuffer_add_printf(b, "sipd_location_flushes_total{result=\"ok\"} "
	    "%lu\nsipd_location_flushes_total{result=\"error\"} %lu\n",
	    fs.fs_ok, fs.fs_failed);
	http_family(b, "sipd_location_flush_duration_seconds", "gauge",
	    "Duration of the last location write-back.");
	evbuffer_add_printf(b, "sipd_location_flush_duration_seconds %.6f\n",
	    fs.fs_last_seconds);
	http_u64(b, "sipd_location_flush_last_success_timestamp_seconds",
	    "gauge", "When the last write-back succeeded (0: none yet).",
	    (uint64_t)fs.fs_last_ok);

	http_shm(b);
	http_processes(b);
	http_cluster(b);

	mi_server_counts(&mi_open, &mi_total);
	http_u64(b, "sipd_mi_connections", "gauge",
	    "Management (MI) clients connected now.", mi_open);
	http_u64(b, "sipd_mi_connections_total", "counter",
	    "Management (MI) connections accepted.", mi_total);
}
