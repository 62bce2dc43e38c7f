/*
 * runcfg.c: the run-time settings block in shm. Written by the master
 * (start-up, MI cfg.set), read by the UDP workers whenever they route.
 *
 * Single writer, many readers, no lock: a seqlock in its "latch" form.
 * The block holds two copies of the value and a sequence number; the
 * current copy is rg_copy[seq & 1]. The writer fills the other copy,
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

#define RUNCFG_GW_WORDS	((sizeof(struct runcfg_gw) + 7) / 8)

struct runcfg_shm {
	alignas(RUNCFG_SHM_ALIGN)
	_Atomic uint64_t	rs_seq;		/* written by the master only */
	/* rs_gw[rs_seq & 1] is current; the master writes the other one. */
	_Atomic uint64_t	rs_gw[2][RUNCFG_GW_WORDS];
};

static struct runcfg_shm	*runcfg_shm;

size_t
runcfg_shm_size(void)
{
	return sizeof(struct runcfg_shm);
}

int
runcfg_create(void)
{
	struct runcfg_shm	*rs;
	size_t			 i;

	if ((rs = shm_carve(sizeof(*rs), RUNCFG_SHM_ALIGN)) == NULL)
		return -errno;
	atomic_init(&rs->rs_seq, 0);
	/* All-zero words are a struct runcfg_gw with rg_set false. */
	for (i = 0; i < RUNCFG_GW_WORDS; i++) {
		atomic_init(&rs->rs_gw[0][i], 0);
		atomic_init(&rs->rs_gw[1][i], 0);
	}
	runcfg_shm = rs;
	return 0;
}

void
runcfg_set_gw(const struct runcfg_gw *gw)
{
	uint64_t	 w[RUNCFG_GW_WORDS], seq;
	size_t		 i;

	if (runcfg_shm == NULL)
		return;
	memset(w, 0, sizeof(w));
	memcpy(w, gw, sizeof(*gw));
	seq = atomic_load_explicit(&runcfg_shm->rs_seq, memory_order_relaxed);
	/*
	 * A reader that sees any word stored below also sees the bump
	 * that made the other copy current (this fence, its acquire
	 * fence), so it notices that its copy is being rewritten.
	 */
	atomic_thread_fence(memory_order_release);
	for (i = 0; i < RUNCFG_GW_WORDS; i++)
		atomic_store_explicit(&runcfg_shm->rs_gw[(seq + 1) & 1][i],
		    w[i], memory_order_relaxed);
	atomic_store_explicit(&runcfg_shm->rs_seq, seq + 1,
	    memory_order_release);
}

int
runcfg_gw(struct runcfg_gw *ret)
{
	uint64_t	 w[RUNCFG_GW_WORDS], s1, s2;
	size_t		 i;

	if (runcfg_shm == NULL)
		return -ENXIO;
	do {
		s1 = atomic_load_explicit(&runcfg_shm->rs_seq,
		    memory_order_acquire);
		for (i = 0; i < RUNCFG_GW_WORDS; i++)
			w[i] = atomic_load_explicit(
			    &runcfg_shm->rs_gw[s1 & 1][i],
			    memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&runcfg_shm->rs_seq,
		    memory_order_relaxed);
	} while (s1 != s2);
	memcpy(ret, w, sizeof(*ret));
	return 0;
}
