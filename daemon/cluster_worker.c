/*
 * cluster_worker: what a UDP worker does for cluster.redis (see
 * cluster_worker.h).
 *
 * The worker's own connection carries the REGISTERs of one recvmmsg()
 * batch in one round trip: cluster_worker_register_begin() queues each
 * script call, the first cluster_worker_register_end() sends them all
 * and reads every reply, each later one hands out the next reply in
 * order (dispatch.c parks the REGISTERs meanwhile). A round trip costs a
 * worker ~40 us of system time on this class of machine (the wait, two
 * wake-ups, loopback TCP both ways), the script's own bytes ~5 us: one
 * per batch instead of one per REGISTER is most of Redis's cost to a
 * node under load. Every wait is bounded by CLUSTER_W_TIMEOUT_MS; a
 * failed one turns the next CLUSTER_W_BACKOFF_MS of REGISTERs straight
 * to the policy, so a stopped Redis costs one bounded wait per worker
 * per second. Whatever else uses the connection (a missed lookup's
 * fetch, a REGISTER done whole) first reads the replies still owed.
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
/* REGISTERs queued on cw_conn: sent, replies read, results handed out */
static struct {
	int			 pr_rc;
	enum cluster_status	 pr_status;
} cw_pipe[CLUSTER_W_PIPELINE];
static unsigned			 cw_sent, cw_read, cw_handed;
static uint64_t			 cw_down_until;
static int			 cw_queue_fd = -1;
static struct log_ratelimit	 cw_warn = { "cluster", 5, 0, 0 };

static void	cw_collect(void);

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
	cw_collect();	/* the replies owed come first on the connection */
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

/*
 * Reads every reply still owed on cw_conn into cw_pipe. A broken
 * connection fails the rest with the same error.
 */
static void
cw_collect(void)
{
	enum cluster_status	 st = CLUSTER_OK;
	int64_t			 version;
	int			 rc;

	while (cw_read < cw_sent) {
		rc = cluster_connected(&cw_conn) ?
		    cluster_register_recv(&cw_conn, &st, &version) : -ENOTCONN;
		cw_pipe[cw_read].pr_rc = rc;
		cw_pipe[cw_read].pr_status = st;
		cw_read++;
	}
}

/* What the script said of sv (rc, st), as cluster_worker_register(). */
static int
cw_result(struct loctab_save *sv, uint64_t now, int rc,
    enum cluster_status st)
{
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

int
cluster_worker_register(struct loctab_save *sv)
{
	enum cluster_status	 st = CLUSTER_OK;
	int64_t			 version;
	uint64_t		 now;
	int			 rc;

	if (cw_conf == NULL)
		return 0;
	cw_collect();
	now = cw_now_ms();
	if (!cw_ready(now, sv->sv_now))
		return cw_unreachable(sv);
	rc = cluster_register(&cw_conn, sv, &st, &version);
	return cw_result(sv, now, rc, st);
}

int
cluster_worker_register_begin(struct loctab_save *sv)
{
	uint64_t	 now;
	int		 rc;

	if (cw_conf == NULL)
		return 0;
	/* full, or the script to load first (that waits for its reply) */
	if (cw_sent - cw_handed >= CLUSTER_W_PIPELINE ||
	    !cluster_connected(&cw_conn) || cw_conn.cn_sha[0] == '\0')
		return cluster_worker_register(sv);
	now = cw_now_ms();
	if ((rc = cluster_register_send(&cw_conn, sv)) != 0)
		return cw_result(sv, now, rc, CLUSTER_OK);
	cw_sent++;
	return CLUSTER_W_PENDING;
}

int
cluster_worker_register_end(struct loctab_save *sv)
{
	unsigned	 i;

	if (cw_conf == NULL || cw_handed == cw_sent)
		return cluster_worker_register(sv);	/* not begun: whole */
	cw_collect();
	i = cw_handed++;
	if (cw_handed == cw_sent)
		cw_sent = cw_read = cw_handed = 0;
	/* Redis lost the script since it was queued: this one again */
	if (cw_pipe[i].pr_rc == -ENOENT)
		return cluster_worker_register(sv);
	return cw_result(sv, cw_now_ms(), cw_pipe[i].pr_rc,
	    cw_pipe[i].pr_status);
}
