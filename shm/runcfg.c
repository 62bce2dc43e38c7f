/*
 * runcfg.c: the run-time settings block in shm. Written by the master
 * (start-up, MI cfg.set), read by the UDP workers whenever they route.
 *
 * Single writer, many readers, no lock: a seqlock in its "latch" form.
 * The block holds two copies of the value and a sequence number; the
 * current copy is rs_copy[seq & 1]. Each value (the gateway, the
 * registrar's settings) has a slot of its own. The writer fills the other copy,
 * then bumps seq (release). A reader notes seq (acquire), copies the
 * current copy word by word, and tries again if seq moved meanwhile,
 * because the writer may then have started on the copy it was reading.
 * Unlike a plain seqlock, seq is never "odd, write in progress": a
 * master killed half way through a write leaves the last complete copy
 * current, so a worker can never spin on a dead writer (the workers
 * block SIGTERM in favour of a signalfd, so a spinning one would not
 * even stop). Retries happen only while the master is writing, which
 * takes well under a microsecond.
 *
 * The words are relaxed atomics: a reader racing the writer reads
 * defined (if stale) values, and the fences order them against seq
 * (Boehm, "Can seqlocks get along with programming language memory
 * models?", 2012).
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runcfg.h"
#include "shm.h"

#define RUNCFG_WORDS(t)	((sizeof(t) + 7) / 8)
/* Room for the largest value; each value is one slot. */
#define RUNCFG_MAX(a, b)	((a) > (b) ? (a) : (b))
#define RUNCFG_SLOT_WORDS						\
	RUNCFG_MAX(RUNCFG_WORDS(struct runcfg_gw),			\
	RUNCFG_MAX(RUNCFG_WORDS(struct runcfg_reg),			\
	RUNCFG_WORDS(struct runcfg_core)))

enum { RUNCFG_SLOT_GW, RUNCFG_SLOT_REG, RUNCFG_SLOT_CORE, RUNCFG_SLOTS };

struct runcfg_slot {
	_Atomic uint64_t	rs_seq;		/* written by the master only */
	/* rs_copy[rs_seq & 1] is current; the master writes the other. */
	_Atomic uint64_t	rs_copy[2][RUNCFG_SLOT_WORDS];
};

struct runcfg_shm {
	alignas(RUNCFG_SHM_ALIGN)
	struct runcfg_slot	rs_slot[RUNCFG_SLOTS];
};

static struct runcfg_shm	*runcfg_shm;
static unsigned			 runcfg_gen;	/* shm_generation() of it */

/* The block, if it is in the current mapping; else NULL. */
static struct runcfg_shm *
runcfg_block(void)
{
	if (runcfg_shm == NULL || runcfg_gen != shm_generation())
		return NULL;
	return runcfg_shm;
}

size_t
runcfg_shm_size(void)
{
	return sizeof(struct runcfg_shm);
}

int
runcfg_create(void)
{
	struct runcfg_shm	*rs;
	size_t			 i, k;

	if ((rs = shm_carve(sizeof(*rs), RUNCFG_SHM_ALIGN)) == NULL)
		return -errno;
	/* All-zero words: a gateway with rg_set false, rr_set false. */
	for (k = 0; k < RUNCFG_SLOTS; k++) {
		atomic_init(&rs->rs_slot[k].rs_seq, 0);
		for (i = 0; i < RUNCFG_SLOT_WORDS; i++) {
			atomic_init(&rs->rs_slot[k].rs_copy[0][i], 0);
			atomic_init(&rs->rs_slot[k].rs_copy[1][i], 0);
		}
	}
	runcfg_shm = rs;
	runcfg_gen = shm_generation();
	return 0;
}

static void
runcfg_publish(int slot, const void *v, size_t len)
{
	struct runcfg_slot	*rs;
	uint64_t		 w[RUNCFG_SLOT_WORDS], seq;
	size_t			 i;

	if (runcfg_block() == NULL)
		return;
	rs = &runcfg_shm->rs_slot[slot];
	memset(w, 0, sizeof(w));
	memcpy(w, v, len);
	seq = atomic_load_explicit(&rs->rs_seq, memory_order_relaxed);
	/*
	 * A reader that sees any word stored below also sees the bump
	 * that made the other copy current (this fence, its acquire
	 * fence), so it notices that its copy is being rewritten.
	 */
	atomic_thread_fence(memory_order_release);
	for (i = 0; i < RUNCFG_SLOT_WORDS; i++)
		atomic_store_explicit(&rs->rs_copy[(seq + 1) & 1][i], w[i],
		    memory_order_relaxed);
	atomic_store_explicit(&rs->rs_seq, seq + 1, memory_order_release);
}

static int
runcfg_read(int slot, void *ret, size_t len)
{
	struct runcfg_slot	*rs;
	uint64_t		 w[RUNCFG_SLOT_WORDS], s1, s2;
	size_t			 i, n;

	if (runcfg_block() == NULL)
		return -ENXIO;
	rs = &runcfg_shm->rs_slot[slot];
	/* only the value's own words: the log level is read per log call */
	n = (len + 7) / 8;
	do {
		s1 = atomic_load_explicit(&rs->rs_seq, memory_order_acquire);
		for (i = 0; i < n; i++)
			w[i] = atomic_load_explicit(&rs->rs_copy[s1 & 1][i],
			    memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&rs->rs_seq, memory_order_relaxed);
	} while (s1 != s2);
	memcpy(ret, w, len);
	return 0;
}

void
runcfg_set_gw(const struct runcfg_gw *gw)
{
	runcfg_publish(RUNCFG_SLOT_GW, gw, sizeof(*gw));
}

int
runcfg_gw(struct runcfg_gw *ret)
{
	return runcfg_read(RUNCFG_SLOT_GW, ret, sizeof(*ret));
}

void
runcfg_set_reg(const struct runcfg_reg *reg)
{
	runcfg_publish(RUNCFG_SLOT_REG, reg, sizeof(*reg));
}

int
runcfg_reg(struct runcfg_reg *ret)
{
	struct runcfg_reg	 r;
	int			 rc;

	if ((rc = runcfg_read(RUNCFG_SLOT_REG, &r, sizeof(r))) != 0)
		return rc;
	if (!r.rr_set)
		return -ENXIO;
	*ret = r;
	return 0;
}

void
runcfg_set_core(const struct runcfg_core *core)
{
	runcfg_publish(RUNCFG_SLOT_CORE, core, sizeof(*core));
}

int
runcfg_core(struct runcfg_core *ret)
{
	struct runcfg_core	 c;
	int			 rc;

	if ((rc = runcfg_read(RUNCFG_SLOT_CORE, &c, sizeof(c))) != 0)
		return rc;
	if (!c.rc_set)
		return -ENXIO;
	*ret = c;
	return 0;
}
