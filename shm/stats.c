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
 * The labeled families of /metrics follow the named counters in the
 * same row, counted and reset the same way. Their label sets are fixed
 * here: a reply code outside the list below counts as "other" of its
 * class, so a sender making up codes cannot grow a scrape.
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
#define STATS_VERSION	2U
/* More rows than sipd can have processes (children <= 256). */
#define STATS_ROWS_MAX	65536U

/*
 * The reply codes counted on their own (RFC 3261 §21 and those an
 * operator watches: 423, 487, 491, ...); the rest count per class.
 */
#define STATS_CODES(X)							\
	X(100) X(180) X(181) X(182) X(183)				\
	X(200) X(202)							\
	X(301) X(302)							\
	X(400) X(401) X(403) X(404) X(405) X(407) X(408) X(415) X(420)	\
	X(423) X(480) X(481) X(482) X(483) X(484) X(486) X(487) X(488)	\
	X(491)								\
	X(500) X(501) X(502) X(503) X(504) X(505)			\
	X(600) X(603) X(604) X(606)

enum {
#define STATS_X_ENUM(c)	STATS_C_##c,
	STATS_CODES(STATS_X_ENUM)
#undef STATS_X_ENUM
	STATS_C_LISTED
};
/* Then one "other" slot per class: 1xx .. 6xx. */
#define STATS_NCODES	(STATS_C_LISTED + 6)

/* Slot + 1 of a listed code, by code - 100; 0: not listed. */
static const uint8_t stats_code_slot[600] = {
#define STATS_X_SLOT(c)	[c - 100] = STATS_C_##c + 1,
	STATS_CODES(STATS_X_SLOT)
#undef STATS_X_SLOT
};

static const short stats_codes[STATS_C_LISTED] = {
#define STATS_X_CODE(c)	c,
	STATS_CODES(STATS_X_CODE)
#undef STATS_X_CODE
};

/* The final replies to REGISTER counted on their own; then "other". */
static const short stats_reg_codes[] = {
	200, 400, 401, 403, 404, 420, 423, 500, 503
};
#define STATS_NREG	(sizeof(stats_reg_codes) / sizeof(stats_reg_codes[0]) \
			    + 1)

/* Where each family starts in a row, after the named counters. */
#define STATS_OFF_REQ	STATS__MAX
#define STATS_OFF_SENT	(STATS_OFF_REQ + STATS_M__MAX)
#define STATS_OFF_FWD	(STATS_OFF_SENT + STATS_NCODES)
#define STATS_OFF_REG	(STATS_OFF_FWD + STATS_NCODES)
#define STATS_OFF_AF	(STATS_OFF_REG + STATS_NREG)
#define STATS_OFF_CALLS	(STATS_OFF_AF + STATS_AF__MAX)
#define STATS_NCALLS	((STATS_PATH__MAX - 1) * STATS_O__MAX)
#define STATS_OFF_CL	(STATS_OFF_CALLS + STATS_NCALLS)
#define STATS_SLOTS	(STATS_OFF_CL + STATS_CL__MAX)

static const unsigned stats_fam_off[STATS_F__MAX] = {
	[STATS_F_REQUESTS] = STATS_OFF_REQ,
	[STATS_F_SENT] = STATS_OFF_SENT,
	[STATS_F_FORWARDED] = STATS_OFF_FWD,
	[STATS_F_REGISTER] = STATS_OFF_REG,
	[STATS_F_AUTH_FAIL] = STATS_OFF_AF,
	[STATS_F_CALLS] = STATS_OFF_CALLS,
	[STATS_F_CLUSTER] = STATS_OFF_CL,
};

static const unsigned stats_fam_size[STATS_F__MAX] = {
	[STATS_F_REQUESTS] = STATS_M__MAX,
	[STATS_F_SENT] = STATS_NCODES,
	[STATS_F_FORWARDED] = STATS_NCODES,
	[STATS_F_REGISTER] = STATS_NREG,
	[STATS_F_AUTH_FAIL] = STATS_AF__MAX,
	[STATS_F_CALLS] = STATS_NCALLS,
	[STATS_F_CLUSTER] = STATS_CL__MAX,
};

/* One process's counters; written by that process only. */
struct stats_row {
	alignas(STATS_SHM_ALIGN)
	_Atomic uint64_t	sr_v[STATS_SLOTS];
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
	_Atomic uint64_t	sh_base[STATS_SLOTS];
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
	for (i = 0; i < STATS_SLOTS; i++)
		atomic_init(&stats_hdr->sh_base[i], 0);
	for (j = 0; j < nrows; j++)
		for (i = 0; i < STATS_SLOTS; i++)
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

/* Slot i of this process's row, i < STATS_SLOTS. */
static void
stats_slot_add(unsigned i, uint64_t n)
{
	_Atomic uint64_t	*v = &stats_me->sr_v[i];

	/* Single writer: load and store, no read-modify-write needed. */
	atomic_store_explicit(v, atomic_load_explicit(v,
	    memory_order_relaxed) + n, memory_order_relaxed);
}

void
stats_add(enum stats_id id, uint64_t n)
{
	if ((unsigned)id >= STATS__MAX)
		return;
	stats_slot_add((unsigned)id, n);
}

void
stats_inc(enum stats_id id)
{
	stats_add(id, 1);
}

/* The slot of code in a by-code family; the caller checks the range. */
static unsigned
stats_code_index(int code)
{
	unsigned	 s = stats_code_slot[code - 100];

	return s != 0 ? s - 1 : STATS_C_LISTED + (unsigned)code / 100 - 1;
}

void
stats_sent_reply(int code)
{
	if (code < 100 || code > 699)
		return;
	stats_inc((enum stats_id)(STATS_SENT_1XX + code / 100 - 1));
	stats_slot_add(STATS_OFF_SENT + stats_code_index(code), 1);
}

void
stats_request(enum stats_method m)
{
	if ((unsigned)m >= STATS_M__MAX)
		m = STATS_M_OTHER;
	stats_slot_add(STATS_OFF_REQ + (unsigned)m, 1);
}

void
stats_forwarded_reply(int code)
{
	if (code < 100 || code > 699)
		return;
	stats_slot_add(STATS_OFF_FWD + stats_code_index(code), 1);
}

void
stats_register_reply(int code)
{
	unsigned	 i;

	if (code < 200 || code > 699)
		return;
	for (i = 0; i < STATS_NREG - 1; i++)
		if (stats_reg_codes[i] == code)
			break;
	stats_slot_add(STATS_OFF_REG + i, 1);
}

void
stats_auth_failure(enum stats_auth_fail why)
{
	if ((unsigned)why < STATS_AF__MAX)
		stats_slot_add(STATS_OFF_AF + (unsigned)why, 1);
}

void
stats_cluster(enum stats_cluster what)
{
	if ((unsigned)what < STATS_CL__MAX)
		stats_slot_add(STATS_OFF_CL + (unsigned)what, 1);
}

void
stats_call_end(enum stats_path path, int code, bool cancelled)
{
	enum stats_outcome	 o;

	if (path == STATS_PATH_NONE || (unsigned)path >= STATS_PATH__MAX ||
	    code < 200 || code > 699)
		return;
	if (code < 300)
		o = STATS_O_ANSWERED;
	else if (cancelled)
		o = STATS_O_CANCELLED;
	else if (code < 400)
		o = STATS_O_REDIRECTED;
	else if (code == 401 || code == 407)
		o = STATS_O_CHALLENGED;
	else if (code < 500)
		o = STATS_O_FAILED_4XX;
	else if (code < 600)
		o = STATS_O_FAILED_5XX;
	else
		o = STATS_O_FAILED_6XX;
	stats_slot_add(STATS_OFF_CALLS + ((unsigned)path - 1) * STATS_O__MAX +
	    (unsigned)o, 1);
}

/* The sum of slot i over all rows since stats_create(), resets ignored. */
static uint64_t
stats_sum(unsigned i)
{
	uint64_t	 sum = 0;
	unsigned	 j;

	for (j = 0; j < stats_hdr->sh_nrows; j++)
		sum += atomic_load_explicit(&stats_rows[j].sr_v[i],
		    memory_order_relaxed);
	return sum;
}

static uint64_t
stats_slot_get(unsigned i)
{
	uint64_t	 sum, base;

	if (stats_hdr == NULL)
		return 0;
	sum = stats_sum(i);
	base = atomic_load_explicit(&stats_hdr->sh_base[i],
	    memory_order_relaxed);
	return sum >= base ? sum - base : 0;
}

uint64_t
stats_get(enum stats_id id)
{
	if ((unsigned)id >= STATS__MAX)
		return 0;
	return stats_slot_get((unsigned)id);
}

unsigned
stats_family_size(enum stats_family f)
{
	return (unsigned)f < STATS_F__MAX ? stats_fam_size[f] : 0;
}

uint64_t
stats_family_get(enum stats_family f, unsigned i)
{
	if ((unsigned)f >= STATS_F__MAX || i >= stats_fam_size[f])
		return 0;
	return stats_slot_get(stats_fam_off[f] + i);
}

int
stats_code_at(enum stats_family f, unsigned i)
{
	if (f == STATS_F_REGISTER)
		return i < STATS_NREG - 1 ? stats_reg_codes[i] : 0;
	if ((f != STATS_F_SENT && f != STATS_F_FORWARDED) || i >= STATS_NCODES)
		return -1;
	return i < STATS_C_LISTED ? stats_codes[i] :
	    (int)(i - STATS_C_LISTED) + 1;
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
	for (i = 0; i < STATS_SLOTS; i++)
		atomic_store_explicit(&stats_hdr->sh_base[i], stats_sum(i),
		    memory_order_relaxed);
}
