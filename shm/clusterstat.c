/*
 * clusterstat.c: the cluster sync process's report (clusterstat.h).
 *
 * Single writer, no lock, as runcfg.c: two copies and a sequence; the
 * current copy is cs_copy[seq & 1]. The writer fills the other copy and
 * then bumps seq (release); a reader copies the current one and tries
 * again if seq moved meanwhile. A writer killed half way leaves the last
 * complete copy current. Words are relaxed atomics, ordered by fences.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>

#include "clusterstat.h"
#include "shm.h"

#define CS_WORDS	((sizeof(struct clusterstat) + 7) / 8)
#define CS_TRIES	1000

struct clusterstat_shm {
	alignas(CLUSTERSTAT_SHM_ALIGN)
	_Atomic uint64_t	 cs_seq;
	_Atomic uint64_t	 cs_copy[2][CS_WORDS];
};

static struct clusterstat_shm	*cs_shm;
static unsigned			 cs_gen;

size_t
clusterstat_shm_size(void)
{
	return sizeof(struct clusterstat_shm);
}

int
clusterstat_create(void)
{
	struct clusterstat_shm	*s;
	size_t			 i;

	if ((s = shm_carve(sizeof(*s), CLUSTERSTAT_SHM_ALIGN)) == NULL)
		return -errno;
	atomic_init(&s->cs_seq, 0);
	for (i = 0; i < CS_WORDS; i++) {
		atomic_init(&s->cs_copy[0][i], 0);
		atomic_init(&s->cs_copy[1][i], 0);
	}
	cs_shm = s;
	cs_gen = shm_generation();
	return 0;
}

static struct clusterstat_shm *
clusterstat_block(void)
{
	if (cs_shm == NULL || cs_gen != shm_generation())
		return NULL;
	return cs_shm;
}

void
clusterstat_set(const struct clusterstat *cs)
{
	struct clusterstat_shm	*s = clusterstat_block();
	uint64_t		 w[CS_WORDS], seq;
	size_t			 i;

	if (s == NULL)
		return;
	memset(w, 0, sizeof(w));
	memcpy(w, cs, sizeof(*cs));
	seq = atomic_load_explicit(&s->cs_seq, memory_order_relaxed);
	for (i = 0; i < CS_WORDS; i++)
		atomic_store_explicit(&s->cs_copy[(seq + 1) & 1][i], w[i],
		    memory_order_relaxed);
	atomic_store_explicit(&s->cs_seq, seq + 1, memory_order_release);
}

int
clusterstat_get(struct clusterstat *ret)
{
	struct clusterstat_shm	*s = clusterstat_block();
	uint64_t		 w[CS_WORDS], seq;
	size_t			 i;
	int			 tries;

	if (s == NULL)
		return -ENOENT;
	for (tries = 0; tries < CS_TRIES; tries++) {
		seq = atomic_load_explicit(&s->cs_seq, memory_order_acquire);
		for (i = 0; i < CS_WORDS; i++)
			w[i] = atomic_load_explicit(&s->cs_copy[seq & 1][i],
			    memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&s->cs_seq,
		    memory_order_relaxed) == seq)
			break;
	}
	memcpy(ret, w, sizeof(*ret));
	ret->cs_master[sizeof(ret->cs_master) - 1] = '\0';
	ret->cs_stream_id[sizeof(ret->cs_stream_id) - 1] = '\0';
	ret->cs_node_ids[sizeof(ret->cs_node_ids) - 1] = '\0';
	return 0;
}
