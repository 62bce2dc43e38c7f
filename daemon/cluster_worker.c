/*
 * cluster_worker: what a UDP worker does for cluster.redis (see
 * cluster_worker.h).
 *
 * The round trip is synchronous, on a connection of the worker's own,
 * with every wait bounded by CLUSTER_W_TIMEOUT_MS. Why not hiredis's
 * libevent adapter: with one listen socket a worker does not run a
 * libevent loop at all (worker.c blocks in recvmmsg()), the pipeline
 * keeps its verdicts and the message in static buffers that the next
 * datagram reuses, and tm.c answers retransmissions only once a final
 * reply exists. Parking a REGISTER while Redis answers would need all
 * three changed. Meanwhile the other workers keep reading the shared
 * socket, so a worker waiting on Redis delays only its own next
 * datagrams, by at most the bound; a failed wait turns the next
 * CLUSTER_W_BACKOFF_MS of REGISTERs straight to the policy, so a
 * stopped Redis costs one bounded wait per worker per second.
 *
 * Calls read shm only, with one exception: a lookup that finds nothing
 * may ask Redis once (cluster_worker_miss()), because a REGISTER acked
 * by another node reaches this node's sync process a little after its
 * 200 reaches the phone, and a call can come in between.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "cluster_queue.h"
#include "cluster_worker.h"
#include "fnv.h"
#include "log.h"
#include "stats.h"

static const struct conf_cluster *cw_conf;
static struct loctab		*cw_table;
static struct cluster_aor	 cw_aor;	/* a missed AoR, fetched */
/* the last fetch per missed AoR (by hash): bounds what a flood costs */
static struct {
	uint64_t	 mi_hash;
	uint64_t	 mi_at;
} cw_missed[CLUSTER_W_MISS_SLOTS];
static struct cluster_conn	 cw_conn;
static uint64_t			 cw_down_until;
static int			 cw_queue_fd = -1;
static struct log_ratelimit	 cw_warn = { "cluster", 5, 0, 0 };

void
cluster_worker_init(const struct conf *c, struct loctab *location)
{
	cw_conf = c != NULL && c->c_cluster.cu_kind != CONF_CLUSTER_OFF ?
	    &c->c_cluster : NULL;
	cw_table = location;
}

bool
cluster_worker_enabled(void)
{
	return cw_conf != NULL;
}

static uint64_t
cw_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Hands the AoR to the sync process for replay (cluster_queue.h). */
static void
cw_queue(const struct loctab_save *sv)
{
	struct sockaddr_un	 sa;
	socklen_t		 sl;

	if (cw_queue_fd == -1)
		cw_queue_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
	if (cw_queue_fd == -1)
		return;
	sl = cluster_queue_addr(getppid(), &sa);
	if (sendto(cw_queue_fd, sv->sv_aor.ls_ptr, sv->sv_aor.ls_len, 0,
	    (struct sockaddr *)&sa, sl) == -1)
		log_warnx_limited(&cw_warn, time(NULL), "cannot queue a "
		    "change for replay (sync process: %s): it stays local "
		    "until the AoR registers again", strerror(errno));
}

/* Redis was not reached: cluster.unreachable decides. */
static int
cw_unreachable(struct loctab_save *sv)
{
	struct loctab_contact	*lc;
	unsigned		 i;

	if (cw_conf->cu_unreachable == CONF_CLUSTER_REFUSE) {
		stats_cluster(STATS_CL_REFUSED);
		return CLUSTER_W_REFUSED;
	}
	stats_cluster(STATS_CL_SHORT);
	/* sv_contacts points at the registrar's own (writable) array */
	lc = (struct loctab_contact *)(uintptr_t)sv->sv_contacts;
	for (i = 0; i < sv->sv_ncontacts; i++)
		if (lc[i].lc_expires > (long)cw_conf->cu_short_expires)
			lc[i].lc_expires = (long)cw_conf->cu_short_expires;
	cw_queue(sv);
	return 0;
}

/* Connected, or connects unless in the back-off: false when not. */
static bool
cw_ready(uint64_t now, time_t t)
{
	if (cluster_connected(&cw_conn))
		return true;
	if (now < cw_down_until)
		return false;
	if (cluster_connect(&cw_conn, cw_conf, CLUSTER_W_TIMEOUT_MS) == 0)
		return true;
	log_warnx_limited(&cw_warn, t, "Redis %s: %s", cw_conf->cu_url,
	    cw_conn.cn_err);
	cw_down_until = now + CLUSTER_W_BACKOFF_MS;
	return false;
}

int
cluster_worker_miss(struct loctab_str aor, time_t t)
{
	uint64_t	 h, now;
	unsigned	 slot;

	if (cw_conf == NULL || cw_table == NULL)
		return 0;
	now = cw_now_ms();
	h = fnv_field(FNV_INIT, aor.ls_ptr, aor.ls_len);
	slot = (unsigned)(h % CLUSTER_W_MISS_SLOTS);
	if (cw_missed[slot].mi_hash == h && cw_missed[slot].mi_at != 0 &&
	    now - cw_missed[slot].mi_at < CLUSTER_W_MISS_MS)
		return 0;
	cw_missed[slot].mi_hash = h;
	cw_missed[slot].mi_at = now;
	if (!cw_ready(now, t)) {
		stats_cluster(STATS_CL_MISS_ERROR);
		return 0;
	}
	if (cluster_fetch(&cw_conn, aor.ls_ptr, aor.ls_len, &cw_aor) != 0) {
		stats_cluster(STATS_CL_MISS_ERROR);
		log_warnx_limited(&cw_warn, t, "Redis %s: %s",
		    cw_conf->cu_url, cw_conn.cn_err);
		if (!cluster_connected(&cw_conn))
			cw_down_until = now + CLUSTER_W_BACKOFF_MS;
		return 0;
	}
	if (cw_aor.ca_n == 0) {
		stats_cluster(STATS_CL_MISS_NONE);
		return 0;
	}
	stats_cluster(STATS_CL_MISS_FOUND);
	/* 0 changes: the sync process was just faster; look again anyway */
	return cluster_apply(cw_table, &cw_aor, t) >= 0;
}

int
cluster_worker_register(struct loctab_save *sv)
{
	enum cluster_status	 st;
	int64_t			 version;
	uint64_t		 now;
	int			 rc;

	if (cw_conf == NULL)
		return 0;
	now = cw_now_ms();
	if (!cw_ready(now, sv->sv_now))
		return cw_unreachable(sv);
	rc = cluster_register(&cw_conn, sv, &st, &version);
	if (rc != 0) {
		log_warnx_limited(&cw_warn, sv->sv_now, "Redis %s: %s",
		    cw_conf->cu_url, cw_conn.cn_err);
		if (!cluster_connected(&cw_conn))
			cw_down_until = now + CLUSTER_W_BACKOFF_MS;
		return cw_unreachable(sv);
	}
	switch (st) {
	case CLUSTER_CSEQ:
		stats_cluster(STATS_CL_SCRIPT_REFUSED);
		return LOCTAB_E_CSEQ;
	case CLUSTER_TOO_MANY:
		stats_cluster(STATS_CL_SCRIPT_REFUSED);
		return LOCTAB_E_TOO_MANY;
	case CLUSTER_OK:
		break;
	}
	stats_cluster(STATS_CL_ACKED);
	/* Redis is the authority: its rules were applied there. */
	sv->sv_force = 1;
	sv->sv_max_per_aor = 0;
	return 0;
}
