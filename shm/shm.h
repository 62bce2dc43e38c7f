/*
 * shm: the one shared mapping of sipd (mmap MAP_SHARED|MAP_ANONYMOUS),
 * created by the master before any fork so that every worker inherits
 * it at the same address. Tables are carved out of it at start-up with
 * shm_carve(); nothing is allocated from it afterwards.
 */
#ifndef SIPD_SHM_H
#define SIPD_SHM_H

#include <stddef.h>

struct shm_usage {
	size_t	su_total;	/* size of the mapping */
	size_t	su_used;	/* carved so far (headers + tables) */
	size_t	su_free;	/* total - used */
	size_t	su_max_used;	/* high-water mark (== used: carving only grows) */
	unsigned su_fragments;	/* number of carved blocks */
};

/* Maps size bytes (rounded up to pages). 0 or -errno. Once per process tree. */
int	shm_create(size_t size);
/*
 * Reserves n bytes aligned to align (power of two, 0 = max_align_t) from
 * the mapping; NULL when it does not fit. Master only, before fork.
 * The memory is zeroed.
 */
void	*shm_carve(size_t n, size_t align);
void	 shm_usage(struct shm_usage *ret);
/* Unmaps; safe to call when nothing was mapped. */
void	 shm_destroy(void);

#endif
