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

void
http_metrics(struct evbuffer *b)
{
	static const char *const classes[] = { "1xx", "2xx", "3xx", "4xx",
	    "5xx", "6xx" };
	static const enum stats_id sent[] = { STATS_SENT_1XX, STATS_SENT_2XX,
	    STATS_SENT_3XX, STATS_SENT_4XX, STATS_SENT_5XX, STATS_SENT_6XX };
	static const char *const drops[] = { "request_dropped",
	    "reply_dropped", "unparseable" };
	static const enum stats_id dropids[] = { STATS_DROP_REQUESTS,
	    STATS_DROP_REPLIES, STATS_ERR_REQUESTS };
	static const char *const regs[] = { "ok", "rejected" };
	static const enum stats_id regids[] = { STATS_ACCEPTED_REGS,
	    STATS_REJECTED_REGS };
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

	http_u64(b, "sipd_sip_requests_received_total", "counter",
	    "SIP requests received and parsed.", stats_get(STATS_RCV_REQUESTS));
	http_u64(b, "sipd_sip_invites_received_total", "counter",
	    "SIP INVITE requests received (retransmissions included).",
	    stats_get(STATS_RCV_INVITES));
	http_u64(b, "sipd_sip_replies_received_total", "counter",
	    "SIP replies received and parsed.", stats_get(STATS_RCV_REPLIES));
	http_u64(b, "sipd_sip_requests_forwarded_total", "counter",
	    "SIP requests forwarded (each branch counts).",
	    stats_get(STATS_FWD_REQUESTS));
	http_u64(b, "sipd_sip_replies_forwarded_total", "counter",
	    "SIP replies forwarded upstream.", stats_get(STATS_FWD_REPLIES));
	http_labeled(b, "sipd_sip_replies_sent_total",
	    "SIP replies sipd itself sent, by class.", "class", classes, sent,
	    6);
	http_u64(b, "sipd_sip_bad_requests_total", "counter",
	    "Malformed requests answered 400.", stats_get(STATS_BAD_MSG_HDR));
	http_labeled(b, "sipd_dropped_datagrams_total",
	    "Datagrams dropped, by reason.", "reason", drops, dropids, 3);
	http_labeled(b, "sipd_registrations_total",
	    "REGISTER requests by outcome (rejected: any final non-2xx "
	    "but the digest challenge).", "outcome", regs, regids, 2);
	http_labeled(b, "sipd_auth_total",
	    "Digest authentication: challenges sent, failures, successes.",
	    "result", auths, authids, 3);

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

	mi_server_counts(&mi_open, &mi_total);
	http_u64(b, "sipd_mi_connections", "gauge",
	    "Management (MI) clients connected now.", mi_open);
	http_u64(b, "sipd_mi_connections_total", "counter",
	    "Management (MI) connections accepted.", mi_total);
}
