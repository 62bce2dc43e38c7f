/*
 * stats.c: sipd's counters in shm. The master carves one row per
 * process before fork (row 0 its own, row N worker N); every process
 * counts in its own row only, and the master sums the rows when MI
 * asks (stats.get_statistics).
 *
 * Why no lock and no atomic add: a row has exactly one writer, the
 * process whose index it is (a respawned worker takes over the row of
 * the dead one, after the master reaped it, so two writers never
 * overlap). The writer loads its own value and stores value + 1, both
 * relaxed atomics: no lost update is possible, and a reader sees each
 * word whole, if slightly late. Rows are cache-line aligned so that two
 * workers counting never bounce a line between CPUs.
 *
 * Reset (stats.reset_statistics) never writes the rows, which belong to
 * the workers: the master stores the current sums as a base in the
 * header, and reads subtract it. Counters only grow, so a sum is never
 * below its base. Only the master resets; the base is atomic anyway so
 * that any process may read.
 *
 * Before stats_set_row(), or without stats_create() at all (unit tests
 * of other modules), counting goes to a private dummy row: stats_inc()
 * needs no branch and never writes shm it does not own. Nothing here
 * logs.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "shm.h"
#include "stats.h"

#define STATS_MAGIC	0x73697073U	/* "sips" */
#define STATS_VERSION	1U
/* More rows than sipd can have processes (children <= 256). */
#define STATS_ROWS_MAX	65536U

/* One process's counters; written by that process only. */
struct stats_row {
	alignas(STATS_SHM_ALIGN)
	_Atomic uint64_t	sr_v[STATS__MAX];
};

/*
 * sh_magic, sh_version, sh_nrows: written by the master before fork,
 * read-only afterwards. sh_base: written by the master only (reset).
 */
struct stats_hdr {
	alignas(STATS_SHM_ALIGN)
	uint32_t		sh_magic;
	uint32_t		sh_version;
	uint32_t		sh_nrows;
	_Atomic uint64_t	sh_base[STATS__MAX];
};

#define STATS_ROWS_OFF	sizeof(struct stats_hdr)

_Static_assert(STATS_SENT_6XX - STATS_SENT_1XX == 5,
    "stats_sent_reply() needs the sl classes in order");

static const char *const stats_names[STATS__MAX] = {
	[STATS_RCV_REQUESTS] = "core:rcv_requests",
	[STATS_RCV_REPLIES] = "core:rcv_replies",
	[STATS_FWD_REQUESTS] = "core:fwd_requests",
	[STATS_FWD_REPLIES] = "core:fwd_replies",
	[STATS_DROP_REQUESTS] = "core:drop_requests",
	[STATS_DROP_REPLIES] = "core:drop_replies",
	[STATS_ERR_REQUESTS] = "core:err_requests",
	[STATS_BAD_MSG_HDR] = "core:bad_msg_hdr",
	[STATS_SENT_1XX] = "sl:1xx_replies",
	[STATS_SENT_2XX] = "sl:2xx_replies",
	[STATS_SENT_3XX] = "sl:3xx_replies",
	[STATS_SENT_4XX] = "sl:4xx_replies",
	[STATS_SENT_5XX] = "sl:5xx_replies",
	[STATS_SENT_6XX] = "sl:6xx_replies",
	[STATS_AUTH_CHALLENGES] = "auth:challenges",
	[STATS_AUTH_FAILURES] = "auth:failures",
	[STATS_AUTH_SUCCESSES] = "auth:successes",
	[STATS_ACCEPTED_REGS] = "registrar:accepted_regs",
	[STATS_REJECTED_REGS] = "registrar:rejected_regs",
	[STATS_TM_CREATED] = "tm:created",
	[STATS_TM_FREED] = "tm:freed",
	[STATS_TM_SRC_REFUSED] = "tm:source_budget_refused",
	[STATS_RCV_INVITES] = "core:rcv_invites",
};

static struct stats_hdr		*stats_hdr;
static struct stats_row		*stats_rows;
/* This process's row: the dummy until stats_set_row(). */
static struct stats_row		 stats_dummy;
static struct stats_row		*stats_me = &stats_dummy;

size_t
stats_shm_size(unsigned nrows)
{
	/* Rows are bounded by the process count, far from overflow. */
	if (nrows == 0 || nrows > STATS_ROWS_MAX)
		return SIZE_MAX;
	return STATS_ROWS_OFF + (size_t)nrows * sizeof(struct stats_row);
}

int
stats_create(unsigned nrows)
{
	unsigned char	*base;
	size_t		 size;
	unsigned	 i, j;

	if ((size = stats_shm_size(nrows)) == SIZE_MAX)
		return -EINVAL;
	if ((base = shm_carve(size, STATS_SHM_ALIGN)) == NULL)
		return -errno;
	stats_hdr = (struct stats_hdr *)(void *)base;
	stats_rows = (struct stats_row *)(void *)(base + STATS_ROWS_OFF);
	for (i = 0; i < STATS__MAX; i++)
		atomic_init(&stats_hdr->sh_base[i], 0);
	for (j = 0; j < nrows; j++)
		for (i = 0; i < STATS__MAX; i++)
			atomic_init(&stats_rows[j].sr_v[i], 0);
	stats_hdr->sh_magic = STATS_MAGIC;
	stats_hdr->sh_version = STATS_VERSION;
	stats_hdr->sh_nrows = nrows;
	stats_me = &stats_dummy;
	return 0;
}

void
stats_set_row(unsigned row)
{
	if (stats_hdr == NULL || row >= stats_hdr->sh_nrows)
		stats_me = &stats_dummy;
	else
		stats_me = &stats_rows[row];
}

void
stats_add(enum stats_id id, uint64_t n)
{
	_Atomic uint64_t	*v;

	if ((unsigned)id >= STATS__MAX)
		return;
	v = &stats_me->sr_v[id];
	/* Single writer: load and store, no read-modify-write needed. */
	atomic_store_explicit(v, atomic_load_explicit(v,
	    memory_order_relaxed) + n, memory_order_relaxed);
}

void
stats_inc(enum stats_id id)
{
	stats_add(id, 1);
}

void
stats_sent_reply(int code)
{
	if (code < 100 || code > 699)
		return;
	stats_inc((enum stats_id)(STATS_SENT_1XX + code / 100 - 1));
}

/* The sum over all rows since stats_create(), resets ignored. */
static uint64_t
stats_sum(enum stats_id id)
{
	uint64_t	 sum = 0;
	unsigned	 j;

	for (j = 0; j < stats_hdr->sh_nrows; j++)
		sum += atomic_load_explicit(&stats_rows[j].sr_v[id],
		    memory_order_relaxed);
	return sum;
}

uint64_t
stats_get(enum stats_id id)
{
	uint64_t	 sum, base;

	if (stats_hdr == NULL || (unsigned)id >= STATS__MAX)
		return 0;
	sum = stats_sum(id);
	base = atomic_load_explicit(&stats_hdr->sh_base[id],
	    memory_order_relaxed);
	return sum >= base ? sum - base : 0;
}

const char *
stats_name(enum stats_id id)
{
	if ((unsigned)id >= STATS__MAX)
		return NULL;
	return stats_names[id];
}

void
stats_reset(void)
{
	unsigned	 i;

	if (stats_hdr == NULL)
		return;
	for (i = 0; i < STATS__MAX; i++)
		atomic_store_explicit(&stats_hdr->sh_base[i],
		    stats_sum((enum stats_id)i), memory_order_relaxed);
}
