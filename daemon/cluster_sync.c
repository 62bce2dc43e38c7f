/*
 * cluster_sync: the sync process (see cluster_sync.h).
 *
 * At start, and whenever it cannot be sure it saw every event: note the
 * newest ID of the stream sipd:events, load every AoR (SCAN + HGETALL)
 * into the table, drop the local AoRs Redis does not have, then read
 * the stream from the noted ID (what changed during the load comes
 * again; applying an AoR twice is harmless). "Cannot be sure": the
 * first start, and a reconnect after which the stream's oldest entry is
 * newer than the last one read (trimmed away during a long outage).
 * Otherwise it blocks in XREAD from its last ID and, for each AoR named
 * in a batch whose version is newer than the one it applied, makes the
 * table hold the state the AoR's newest event carries (what another
 * node's REGISTER costs this node: the README's "share" figures).
 *
 * Expiry stays local: times are absolute, the master's timer removes
 * what expired; Redis key expiry events are never used (lost while
 * disconnected). A queue entry (cluster_queue.h) is replayed through
 * the script once Redis answers, then the AoR is refetched.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "cluster_map.h"
#include "cluster_queue.h"
#include "cluster_sync.h"
#include "clusterstat.h"
#include "fnv.h"
#include "log.h"

#if !SIPD_HAVE_REDIS
void
cluster_sync_run(const struct conf *c, struct loctab *lt)
{
	(void)c;
	(void)lt;
	log_warnx("cluster.redis: sipd was built without Redis (hiredis)");
	exit(1);
}
#else
#include <hiredis/hiredis.h>

#define SYNC_CONNECT_MS		1000
#define SYNC_READ_MS		3000	/* socket bound, above the block */
#define SYNC_BLOCK_MS		"1000"	/* XREAD BLOCK */
/* ... while what cluster.status shows is older than the last batch */
#define SYNC_BLOCK_STALE_MS	"100"
#define SYNC_BATCH		512	/* XREAD COUNT */
/*
 * After a read that found more than one event (load), the next runs
 * later, so that each XREAD brings a batch instead of one or two
 * events: the process sleeps SYNC_GATHER_MS, or, after a batch of at
 * least SYNC_REDIS_GATHER_MIN (Redis busy enough to time a wait to the
 * millisecond), Redis holds the read SYNC_REDIS_GATHER_MS
 * (cluster_command_reused()'s delay: 1 ms there lasts 1-2). Every sleep
 * costs the process a wake-up, ~30 us of CPU on this class of machine
 * (test/load/wakeup_cost.c): sleeping, then waiting for the reply, is
 * two per read; Redis's delay, one. Longer gathers cost less per event
 * but delay what the other nodes see: with 5 ms a moved phone took 4.8
 * ms at the median to reach another node under load, with 2 ms (or
 * Redis's 1) ~1.4 (target 2). A read that found one event (no load) is
 * followed by the next at once.
 */
#define SYNC_GATHER_MS		2
#define SYNC_REDIS_GATHER_MS	1
#define SYNC_REDIS_GATHER_MIN	8
/* The queue socket read and cluster.status written at most this often */
#define SYNC_HOUSEKEEP_MS	100
#define SYNC_SCAN_COUNT		"1000"
#define SYNC_STR(x)		SYNC_STR2(x)
#define SYNC_STR2(x)		#x
#define SYNC_HEARTBEAT_SEC	3
#define SYNC_ID_MAX		48
/* An own event is applied only if another state was, this recently */
#define SYNC_OWN_RECENT_MS	1000

static volatile sig_atomic_t	 sync_stop;
static const struct conf	*sync_conf;
static struct loctab		*sync_lt;
static struct cluster_conn	 sync_conn;
static struct cluster_aor	 sync_aor;
static struct cluster_map	*sync_queue;	/* AoR -> first queued */
/*
 * AoR -> the version the table has (value) and when this process last
 * put a state of it there (aux, monotonic ms; 0: never).
 */
static struct cluster_map	*sync_versions;
static struct cluster_map	*sync_seen;	/* during a full load */
static char			 sync_id[SYNC_ID_MAX] = "";
static int			 sync_qfd = -1;
static time_t			 sync_heartbeat;
static struct log_ratelimit	 sync_warn = { "cluster sync", 5, 0, 0 };
static bool			 sync_reported = true;	/* sync_stat shown */
/* Redis holds a read for the gather (a WAIT first): one wake-up, not two */
static bool			 sync_redis_gathers = true;
static struct clusterstat	 sync_stat;	/* MI cluster.status */

static void
sync_on_term(int sig)
{
	(void)sig;
	sync_stop = 1;
}

static void
sync_lost(const char *what)
{
	log_warnx_limited(&sync_warn, time(NULL), "Redis %s: %s: %s",
	    sync_conf->c_cluster.cu_url, what, sync_conn.cn_err);
	cluster_close(&sync_conn);
}

static redisReply *
sync_cmd(int argc, const char **argv)
{
	redisReply	*r;

	r = redisCommandArgv(sync_conn.cn_ctx, argc, argv, NULL);
	if (r == NULL) {
		snprintf(sync_conn.cn_err, sizeof(sync_conn.cn_err), "%s",
		    sync_conn.cn_ctx->errstr);
		sync_lost(argv[0]);
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(sync_conn.cn_err, sizeof(sync_conn.cn_err), "%s",
		    r->str);
		freeReplyObject(r);
		sync_lost(argv[0]);
		return NULL;
	}
	return r;
}

static int64_t
sync_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Whether an event this node's own worker caused must be applied. The
 * worker put the same change into the table itself after Redis
 * applied it, so usually not: that saves this process the apply.
 * Except when this process put a state of the AoR into the table
 * shortly before (another node's, or a fetch): that older state may
 * have landed over the worker's change, and the event's repairs it.
 */
static bool
sync_own_needs_apply(const struct cluster_val *known)
{
	return known != NULL && known->cv_aux != 0 &&
	    sync_now_ms() - known->cv_aux < SYNC_OWN_RECENT_MS;
}

/*
 * Makes the table hold sync_aor (what Redis had at its version), noted
 * in the AoR's entry of sync_versions (known; NULL: looked up here).
 * newer: a stream event's state (saved without comparing first), else
 * read from the hash (compared: a load mostly finds what the table
 * already has). cluster_apply()'s result.
 */
static int
sync_applied(const char *aor, size_t len, struct cluster_val *known,
    bool newer)
{
	int	 rc;

	rc = newer ? cluster_apply_newer(sync_lt, &sync_aor, time(NULL)) :
	    cluster_apply(sync_lt, &sync_aor, time(NULL));
	if (known == NULL)
		known = cluster_map_ref(sync_versions, aor, len, 0);
	if (known != NULL) {
		known->cv_value = sync_aor.ca_version;
		known->cv_aux = sync_now_ms();
	}
	return rc;
}

static void
sync_apply_failed(int rc)
{
	log_warnx_limited(&sync_warn, time(NULL), "cluster sync: location "
	    "table: error %d", rc);
}

static int	sync_fetch_send(const char *, size_t);
static int	sync_fetch_recv(const char *, size_t);

/* Fetches one AoR and makes the table hold it; -1 when Redis failed. */
static int
sync_refetch(const char *aor, size_t len)
{
	return sync_fetch_send(aor, len) < 0 ||
	    sync_fetch_recv(aor, len) < 0 ? -1 : 0;
}

/* The queue socket: AoRs the workers changed without Redis. */
static void
sync_drain_queue(void)
{
	char	 buf[LOCTAB_AOR_MAX + 1];
	int64_t	 since;
	ssize_t	 n;

	if (sync_qfd == -1)
		return;
	while ((n = recv(sync_qfd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if ((size_t)n > LOCTAB_AOR_MAX)
			continue;
		if (cluster_map_get(sync_queue, buf, (size_t)n, &since) == 0)
			(void)cluster_map_put(sync_queue, buf, (size_t)n,
			    (int64_t)time(NULL));
	}
}

static struct loctab_binding	 sync_local[CLUSTER_CONTACTS_MAX];

static int
sync_replay_one(void *arg, const char *aor, size_t len, int64_t *since)
{
	struct loctab_str	 a = { aor, len };
	unsigned		 n = 0;
	time_t			 now = time(NULL);
	int			 rc;

	(void)arg;
	rc = loctab_lookup(sync_lt, a, now, sync_local, CLUSTER_CONTACTS_MAX,
	    &n);
	if (rc != 0)
		n = 0;
	if (n > CLUSTER_CONTACTS_MAX)
		n = CLUSTER_CONTACTS_MAX;
	if (cluster_replay(&sync_conn, aor, len, sync_local, n,
	    (time_t)*since, now) != 0) {
		sync_lost("replay");
		return -1;
	}
	if (sync_refetch(aor, len) != 0)
		return -1;
	sync_stat.cs_replayed++;
	return 1;	/* done: off the queue */
}

static void
sync_replay(void)
{
	size_t	 before = cluster_map_count(sync_queue);

	if (before == 0 || !cluster_connected(&sync_conn))
		return;
	(void)cluster_map_each(sync_queue, sync_replay_one, NULL);
	log_info("cluster: replayed %zu queued change(s), %zu left",
	    before - cluster_map_count(sync_queue),
	    cluster_map_count(sync_queue));
}

/* Newest stream ID ("0-0" when the stream is empty). */
static int
sync_newest_id(char *id, size_t len)
{
	const char	*argv[] = { "XREVRANGE", CLUSTER_KEY_EVENTS, "+", "-",
	    "COUNT", "1" };
	redisReply	*r;

	if ((r = sync_cmd(6, argv)) == NULL)
		return -1;
	snprintf(id, len, "0-0");
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements >= 1 &&
	    r->element[0]->element[0]->type == REDIS_REPLY_STRING)
		snprintf(id, len, "%s", r->element[0]->element[0]->str);
	freeReplyObject(r);
	return 0;
}

/* a < b, for stream IDs "MS-SEQ". */
static bool
sync_id_less(const char *a, const char *b)
{
	unsigned long long	 am, as = 0, bm, bs = 0;

	am = strtoull(a, NULL, 10);
	bm = strtoull(b, NULL, 10);
	if (strchr(a, '-'))
		as = strtoull(strchr(a, '-') + 1, NULL, 10);
	if (strchr(b, '-'))
		bs = strtoull(strchr(b, '-') + 1, NULL, 10);
	return am < bm || (am == bm && as < bs);
}

/* Whether events after sync_id may have been trimmed away: -1 error. */
static int
sync_trimmed(void)
{
	const char	*argv[] = { "XRANGE", CLUSTER_KEY_EVENTS, "-", "+",
	    "COUNT", "1" };
	redisReply	*r;
	int		 gap = 0;

	if ((r = sync_cmd(6, argv)) == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
	    r->element[0]->type == REDIS_REPLY_ARRAY &&
	    r->element[0]->elements >= 1 &&
	    r->element[0]->element[0]->type == REDIS_REPLY_STRING)
		gap = sync_id_less(sync_id, r->element[0]->element[0]->str);
	freeReplyObject(r);
	return gap;
}

static int
sync_drop_unseen(void *arg, unsigned bucket, const struct loctab_binding *b,
    unsigned n)
{
	int64_t		 v;
	unsigned	 i, j;

	(void)arg;
	(void)bucket;
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && b[j].lb_aor_len == b[i].lb_aor_len &&
		    memcmp(b[j].lb_aor, b[i].lb_aor, b[i].lb_aor_len) == 0;)
			j++;
		if (cluster_map_get(sync_seen, b[i].lb_aor, b[i].lb_aor_len,
		    &v) || cluster_map_get(sync_queue, b[i].lb_aor,
		    b[i].lb_aor_len, &v))
			continue;
		/*
		 * Not in the SCAN: gone from Redis, or written after the
		 * SCAN passed its slot (a worker of this node registering
		 * it meanwhile). Asking again tells which; no key removes
		 * the bindings.
		 */
		if (sync_refetch(b[i].lb_aor, b[i].lb_aor_len) != 0)
			return -1;
	}
	return 0;
}

/*
 * Redis holds no AoR and no stream: a new (or wiped) Redis. This node's
 * table, loaded from its DB_TEXT/SQLite snapshot, goes in through the
 * script's replay (CSeq rule and modification times still decide), so
 * turning cluster.redis on, or a Redis that lost its data, does not cost
 * every registration this node knew.
 */
static int
sync_seed_bucket(void *arg, unsigned bucket, const struct loctab_binding *b,
    unsigned n)
{
	size_t		*seeded = arg;
	time_t		 now = time(NULL);
	unsigned	 i, j, k, m;

	(void)bucket;
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && b[j].lb_aor_len == b[i].lb_aor_len &&
		    memcmp(b[j].lb_aor, b[i].lb_aor, b[i].lb_aor_len) == 0;)
			j++;
		for (k = i, m = 0; k < j && m < CLUSTER_CONTACTS_MAX; k++)
			if (b[k].lb_expires > now)	/* not permanent ones */
				sync_local[m++] = b[k];
		if (m == 0)
			continue;
		if (cluster_replay(&sync_conn, b[i].lb_aor, b[i].lb_aor_len,
		    sync_local, m, 0, now) != 0) {
			sync_lost("seed");
			return -1;
		}
		(*seeded)++;
	}
	return 0;
}

/*
 * One SCAN batch of keys: every HGETALL sent at once, then the replies
 * read and applied in order (one round trip per batch, not per AoR).
 */
static int
sync_load_keys(const redisReply *keys)
{
	const size_t	 plen = sizeof(CLUSTER_KEY_AOR) - 1;
	const char	*argv[2];
	size_t		 lens[2], i, n = 0;
	redisReply	*k;
	void		*vr;
	int		 rc = 0;

	for (i = 0; i < keys->elements; i++) {
		argv[0] = "HGETALL";
		lens[0] = 7;
		argv[1] = keys->element[i]->str;
		lens[1] = keys->element[i]->len;
		if (redisAppendCommandArgv(sync_conn.cn_ctx, 2, argv, lens) !=
		    REDIS_OK)
			break;
		n++;
	}
	for (i = 0; i < n; i++) {
		if (redisGetReply(sync_conn.cn_ctx, &vr) != REDIS_OK) {
			snprintf(sync_conn.cn_err, sizeof(sync_conn.cn_err),
			    "%s", sync_conn.cn_ctx->errstr);
			sync_lost("HGETALL");
			return -1;
		}
		k = keys->element[i];
		if (rc == 0 && k->len > plen && k->len - plen <= LOCTAB_AOR_MAX &&
		    cluster_aor_from_reply(vr, 0, k->str + plen,
		    k->len - plen, &sync_aor) == 0) {
			(void)cluster_map_put(sync_seen, k->str + plen,
			    k->len - plen, 0);
			if (sync_applied(k->str + plen, k->len - plen, NULL,
			    false) < 0)
				rc = -1;
		}
		freeReplyObject(vr);
	}
	if (rc != 0)
		log_warnx("cluster sync: location table full or damaged "
		    "during the load");
	return n == keys->elements ? 0 : -1;
}

/* SCAN + HGETALL of every AoR; 0, or -1 when Redis failed. */
static int
sync_full_load(void)
{
	const char		*argv[] = { "SCAN", "0", "MATCH",
	    CLUSTER_KEY_AOR "*", "COUNT", SYNC_SCAN_COUNT };
	struct loctab_binding	*buf = NULL;
	struct timespec		 t0, t1;
	redisReply		*r, *keys;
	char			 cursor[32] = "0", id[SYNC_ID_MAX];
	unsigned		 bufmax = 0;
	size_t			 nkeys = 0, seeded = 0;
	int			 rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (sync_newest_id(id, sizeof(id)) != 0)
		return -1;
	cluster_map_clear(sync_seen);
	do {
		argv[1] = cursor;
		if ((r = sync_cmd(6, argv)) == NULL)
			return -1;
		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
		    r->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		keys = r->element[1];
		if (sync_load_keys(keys) != 0) {
			freeReplyObject(r);
			return -1;
		}
		nkeys += keys->elements;
		freeReplyObject(r);
	} while (strcmp(cursor, "0") != 0 && !sync_stop);
	if (nkeys == 0 && strcmp(id, "0-0") == 0) {
		rc = loctab_visit(sync_lt, sync_seed_bucket, &seeded, &buf,
		    &bufmax);
		if (seeded > 0)
			log_info("cluster: Redis had no AoR and no stream: "
			    "%zu AoR(s) of this node's table written to it",
			    seeded);
	} else
		rc = loctab_visit(sync_lt, sync_drop_unseen, NULL, &buf,
		    &bufmax);
	free(buf);
	if (rc != 0)
		return -1;
	cluster_map_clear(sync_seen);
	snprintf(sync_id, sizeof(sync_id), "%s", id);
	sync_stat.cs_full_loads++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("cluster: loaded %zu AoR(s) from Redis in %ld ms, "
	    "following the stream from %s", nkeys,
	    (long)((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000), sync_id);
	return 0;
}

/* The nodes whose heartbeat is alive (a few: one SCAN round suffices). */
static void
sync_list_nodes(void)
{
	const char	*argv[] = { "SCAN", "0", "MATCH", CLUSTER_KEY_NODE "*",
	    "COUNT", "1000" };
	const size_t	 plen = sizeof(CLUSTER_KEY_NODE) - 1;
	redisReply	*r, *keys;
	size_t		 i, used = 0;
	char		*out = sync_stat.cs_node_ids;

	if (!cluster_connected(&sync_conn) || (r = sync_cmd(6, argv)) == NULL)
		return;
	out[0] = '\0';
	sync_stat.cs_nodes = 0;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_ARRAY) {
		keys = r->element[1];
		for (i = 0; i < keys->elements; i++) {
			if (keys->element[i]->len <= plen || used +
			    keys->element[i]->len - plen + 2 >=
			    sizeof(sync_stat.cs_node_ids))
				continue;
			used += (size_t)snprintf(out + used,
			    sizeof(sync_stat.cs_node_ids) - used, "%s%s",
			    used > 0 ? " " : "", keys->element[i]->str + plen);
			sync_stat.cs_nodes++;
		}
	}
	freeReplyObject(r);
}

static void
sync_send_heartbeat(void)
{
	char		 key[sizeof(CLUSTER_KEY_NODE) + CONF_CLUSTER_NODE_MAX];
	char		 val[512], ex[16];
	const char	*argv[5];
	redisReply	*r;
	time_t		 now = time(NULL);

	if (now - sync_heartbeat < SYNC_HEARTBEAT_SEC)
		return;
	sync_heartbeat = now;
	snprintf(key, sizeof(key), "%s%s", CLUSTER_KEY_NODE,
	    sync_conf->c_cluster.cu_node_id);
	snprintf(val, sizeof(val), "{\"node\":\"%s\",\"pid\":%ld,"
	    "\"time\":%lld,\"stream_id\":\"%s\",\"queue\":%zu}",
	    sync_conf->c_cluster.cu_node_id, (long)getppid(),
	    (long long)now, sync_id, cluster_map_count(sync_queue));
	snprintf(ex, sizeof(ex), "%d", 3 * SYNC_HEARTBEAT_SEC);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = val;
	argv[3] = "EX";
	argv[4] = ex;
	if ((r = sync_cmd(5, argv)) != NULL)
		freeReplyObject(r);
	sync_list_nodes();
}

/* What one stream event says (the fields the script writes). */
struct sync_event {
	const redisReply *ev_kv;	/* its field/value array */
	const char	*ev_aor, *ev_node;
	size_t		 ev_aor_len, ev_node_len;
	int64_t		 ev_version;
	size_t		 ev_state;	/* its first contact in ev_kv; 0: */
					/* no state (refetch the AoR) */
	bool		 ev_take;	/* the table takes it */
	struct cluster_val *ev_known;	/* its AoR's in sync_versions */
};

static struct sync_event	 sync_events[SYNC_BATCH];
/*
 * The AoRs of one batch: open addressing, 1 + the index of the AoR's
 * newest event so far (0: free). Twice the batch: never full.
 */
#define SYNC_SLOTS	(2 * SYNC_BATCH)
static uint16_t			 sync_slots[SYNC_SLOTS];

/* A field name: a string reply of these bytes. */
#define SYNC_IS(r, name) ((r)->len == sizeof(name) - 1 && \
	memcmp((r)->str, name, sizeof(name) - 1) == 0)

static void
sync_parse_event(const redisReply *kv, struct sync_event *ev)
{
	const redisReply	*f, *v;
	size_t			 k;

	memset(ev, 0, sizeof(*ev));
	ev->ev_kv = kv;
	if (kv->type != REDIS_REPLY_ARRAY)
		return;
	for (k = 0; k + 1 < kv->elements; k += 2) {
		f = kv->element[k];
		v = kv->element[k + 1];
		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		if (SYNC_IS(f, "aor")) {
			ev->ev_aor = v->str;
			ev->ev_aor_len = v->len;
		} else if (SYNC_IS(f, "node")) {
			ev->ev_node = v->str;
			ev->ev_node_len = v->len;
		} else if (SYNC_IS(f, "version"))
			ev->ev_version = strtoll(v->str, NULL, 10);
		else if (SYNC_IS(f, "contacts")) {
			ev->ev_state = k + 2;	/* the rest are contacts */
			break;
		}
	}
}

/*
 * An AoR read again from its hash: _send queues the HGETALL, _recv
 * reads the reply and applies it (several in one round trip: all sent,
 * then all read in the same order). -1 when Redis failed.
 */
static int
sync_fetch_send(const char *aor, size_t len)
{
	if (cluster_fetch_send(&sync_conn, aor, len) != 0) {
		sync_lost("HGETALL");
		return -1;
	}
	return 0;
}

static int
sync_fetch_recv(const char *aor, size_t len)
{
	int	 rc;

	if (cluster_fetch_recv(&sync_conn, aor, len, &sync_aor) != 0) {
		sync_lost("HGETALL");
		return -1;
	}
	if ((rc = sync_applied(aor, len, NULL, false)) < 0)
		sync_apply_failed(rc);
	sync_stat.cs_refetched++;
	return 0;
}

/*
 * Whether the table must take an event: another node's change, or
 * this node's own when the AoR was applied lately (see
 * sync_own_needs_apply()). Else (this node's own change, its worker
 * applied it) only its version is noted.
 */
static bool
sync_event_needed(struct sync_event *ev)
{
	const char	*me = sync_conf->c_cluster.cu_node_id;

	ev->ev_known = cluster_map_ref(sync_versions, ev->ev_aor,
	    ev->ev_aor_len, 0);
	if (ev->ev_known != NULL && ev->ev_known->cv_value >= ev->ev_version)
		return false;
	if (ev->ev_node == NULL || ev->ev_node_len != strlen(me) ||
	    memcmp(ev->ev_node, me, ev->ev_node_len) != 0 ||
	    sync_own_needs_apply(ev->ev_known))
		return true;
	if (ev->ev_known != NULL)
		ev->ev_known->cv_value = ev->ev_version;
	return false;
}

/*
 * Event i of the batch: taken when needed, and then in place of an
 * older event of its AoR in the batch (the newest state wins; an older
 * one needed makes the newest taken, even this node's own).
 */
static void
sync_batch_add(unsigned i)
{
	struct sync_event	*ev = &sync_events[i], *old;
	unsigned		 slot;

	slot = (unsigned)(fnv_field(FNV_INIT, ev->ev_aor, ev->ev_aor_len) %
	    SYNC_SLOTS);
	for (; sync_slots[slot] != 0; slot = (slot + 1) % SYNC_SLOTS) {
		old = &sync_events[sync_slots[slot] - 1];
		if (old->ev_aor_len == ev->ev_aor_len &&
		    memcmp(old->ev_aor, ev->ev_aor, ev->ev_aor_len) == 0)
			break;
	}
	ev->ev_take = sync_event_needed(ev);
	if (sync_slots[slot] != 0) {
		old = &sync_events[sync_slots[slot] - 1];
		ev->ev_take = ev->ev_take || old->ev_take;
		old->ev_take = false;
	}
	sync_slots[slot] = (uint16_t)(i + 1);
}

/*
 * The events taken of n: each carrying its AoR's state is applied as it
 * is; one that does not (written by a sipd before events carried it)
 * makes its AoR read again, all of them in one round trip. -1 when
 * Redis failed.
 */
static int
sync_batch_apply(unsigned n)
{
	const struct sync_event	*ev;
	unsigned		 i;
	int			 rc;

	for (i = 0; i < n; i++) {
		ev = &sync_events[i];
		if (!ev->ev_take)
			continue;
		if (ev->ev_state == 0) {
			if (sync_fetch_send(ev->ev_aor, ev->ev_aor_len) != 0)
				return -1;
			continue;
		}
		if (cluster_aor_from_reply(ev->ev_kv, ev->ev_state, ev->ev_aor,
		    ev->ev_aor_len, &sync_aor) == 0) {
			sync_aor.ca_version = ev->ev_version;
			if ((rc = sync_applied(ev->ev_aor, ev->ev_aor_len,
			    ev->ev_known, true)) < 0)
				sync_apply_failed(rc);
			sync_stat.cs_applied++;
		}
	}
	for (i = 0; i < n; i++) {
		ev = &sync_events[i];
		if (ev->ev_take && ev->ev_state == 0 &&
		    sync_fetch_recv(ev->ev_aor, ev->ev_aor_len) != 0)
			return -1;
	}
	return 0;
}

/*
 * One XREAD batch, run by Redis gather_ms from now: the AoRs named, each
 * applied once at its newest event if newer than the version applied.
 * Returns the number of events read, -1 on an error.
 */
static int
sync_read_stream(unsigned gather_ms)
{
	const char	*argv[] = { "XREAD", "COUNT", SYNC_STR(SYNC_BATCH), "BLOCK",
	    sync_reported ? SYNC_BLOCK_MS : SYNC_BLOCK_STALE_MS, "STREAMS",
	    CLUSTER_KEY_EVENTS, sync_id };
	const redisReply *r, *entries, *e, *last = NULL;
	struct sync_event *ev;
	struct timespec	 ts;
	char		 before[SYNC_ID_MAX];
	unsigned	 i, n = 0;
	int		 rc = 0;

	memcpy(before, sync_id, sizeof(before));
	if ((rc = cluster_command_reused(&sync_conn, gather_ms, 8, argv,
	    &r)) < 0) {
		sync_lost("XREAD");
		return -1;
	}
	if (rc == 1) {
		log_warnx("cluster sync: Redis %s refused the delay before a "
		    "read (%s): the sync process sleeps between reads itself",
		    sync_conf->c_cluster.cu_url, sync_conn.cn_err);
		sync_redis_gathers = false;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_ARRAY ||
	    r->element[0]->elements != 2) {
		sync_stat.cs_lag_ms = 0;	/* nil: nothing within the block */
		return 0;
	}
	entries = r->element[0]->element[1];
	memset(sync_slots, 0, sizeof(sync_slots));
	for (i = 0; i < entries->elements && i < SYNC_BATCH; i++) {
		e = entries->element[i];
		ev = &sync_events[n];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[0]->len >= sizeof(sync_id))
			continue;
		last = e->element[0];
		sync_parse_event(e->element[1], ev);
		if (ev->ev_aor == NULL || ev->ev_aor_len == 0 ||
		    ev->ev_aor_len > LOCTAB_AOR_MAX)
			continue;
		sync_batch_add(n++);
	}
	if (last != NULL)
		memcpy(sync_id, last->str, last->len + 1);
	clock_gettime(CLOCK_REALTIME, &ts);
	sync_stat.cs_lag_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
	    (int64_t)strtoll(sync_id, NULL, 10);
	/*
	 * Redis failed before every AoR named was fetched: the batch is
	 * read again after the reconnect (what was applied is skipped by
	 * its version), else the rest would wait for their next change.
	 */
	sync_reported = false;
	if ((rc = sync_batch_apply(n)) < 0)
		memcpy(sync_id, before, sizeof(sync_id));
	return rc < 0 ? rc : (int)i;
}

/* Connects, and loads everything when events may have been missed. */
static int
sync_connect(void)
{
	int	 gap;

	if (cluster_connect(&sync_conn, &sync_conf->c_cluster,
	    SYNC_CONNECT_MS) != 0) {
		log_warnx_limited(&sync_warn, time(NULL), "Redis %s: %s",
		    sync_conf->c_cluster.cu_url, sync_conn.cn_err);
		return -1;
	}
	if (cluster_set_timeout(&sync_conn, SYNC_READ_MS) != 0)
		return -1;
	log_info("cluster: connected to Redis %s (node %s)",
	    sync_conn.cn_master, sync_conf->c_cluster.cu_node_id);
	sync_redis_gathers = true;	/* a new master may allow WAIT again */
	/* what this node changed alone goes first: it is the newest */
	sync_replay();
	if (!cluster_connected(&sync_conn))
		return -1;
	if (sync_id[0] != '\0') {
		if ((gap = sync_trimmed()) < 0)
			return -1;
		if (gap == 0)
			return 0;
		log_warnx("cluster: events after %s were trimmed from the "
		    "stream: full resync", sync_id);
	}
	return sync_full_load();
}

/* Waits up to ms for a queue datagram (or a signal). */
static void
sync_idle(int ms)
{
	struct pollfd	 pfd = { sync_qfd, POLLIN, 0 };

	if (sync_qfd == -1) {
		usleep((useconds_t)ms * 1000);
		return;
	}
	if (poll(&pfd, 1, ms) == 1)
		sync_drain_queue();
}

static void
sync_open_queue(void)
{
	struct sockaddr_un	 sa;
	socklen_t		 sl;

	sl = cluster_queue_addr(getppid(), &sa);
	sync_qfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sync_qfd != -1 && bind(sync_qfd, (struct sockaddr *)&sa, sl) ==
	    -1) {
		log_warn("cluster sync: replay queue socket");
		close(sync_qfd);
		sync_qfd = -1;
	}
}

static void
sync_report(void)
{
	sync_stat.cs_connected = cluster_connected(&sync_conn);
	sync_stat.cs_queue = (uint32_t)cluster_map_count(sync_queue);
	sync_stat.cs_updated = (int64_t)time(NULL);
	snprintf(sync_stat.cs_master, sizeof(sync_stat.cs_master), "%s",
	    sync_stat.cs_connected ? sync_conn.cn_master : "");
	snprintf(sync_stat.cs_stream_id, sizeof(sync_stat.cs_stream_id), "%s",
	    sync_id);
	clusterstat_set(&sync_stat);
	sync_reported = true;
}

void
cluster_sync_run(const struct conf *c, struct loctab *lt)
{
	struct sigaction	 sa;
	int64_t			 now, housekept = 0;
	unsigned		 gather;
	int			 n = 0;

	sync_conf = c;
	sync_lt = lt;
	/* No SA_RESTART: a SIGTERM ends a wait; XREAD blocks 1 s at most. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sync_on_term;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1)
		fatal("sigaction");
	sync_queue = cluster_map_new();
	sync_versions = cluster_map_new();
	sync_seen = cluster_map_new();
	if (sync_queue == NULL || sync_versions == NULL || sync_seen == NULL)
		fatal("cluster sync: out of memory");
	sync_open_queue();
	while (!sync_stop) {
		/*
		 * Before a read that may block (the last found at most one
		 * event), else at most every SYNC_HOUSEKEEP_MS: under load
		 * a read every 2 ms, each a system call more.
		 */
		now = sync_now_ms();
		if (n <= 1 || now - housekept >= SYNC_HOUSEKEEP_MS) {
			housekept = now;
			sync_report();
			sync_drain_queue();
		}
		if (!cluster_connected(&sync_conn) && sync_connect() != 0) {
			cluster_close(&sync_conn);
			sync_idle(1000);
			continue;
		}
		sync_replay();
		if (cluster_connected(&sync_conn))
			sync_send_heartbeat();
		if (!cluster_connected(&sync_conn))
			continue;
		gather = n > 1 && n < SYNC_BATCH ? SYNC_GATHER_MS : 0;
		if (gather > 0 && (!sync_redis_gathers ||
		    n < SYNC_REDIS_GATHER_MIN)) {
			sync_idle(gather);
			gather = 0;
		} else if (gather > 0)
			gather = SYNC_REDIS_GATHER_MS;
		n = sync_read_stream(gather);
	}
	cluster_close(&sync_conn);
	exit(0);
}
#endif
