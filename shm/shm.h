/*
 * shm: the one shared mapping of sipd (mmap MAP_SHARED|MAP_ANONYMOUS),
 * created by the master before any fork so that every worker inherits
 * it at the same address. Tables are carved out of it at start-up with
 * shm_carve(); nothing is allocated from it afterwards.
 *
 * The mapping opens with a small header (magic, version, size, used
 * offset, number of carved blocks) that shm_usage() reads for MI
 * core.shmmem and shm_check() verifies. Nothing in shm/ logs: errors
 * come back as -errno or NULL with errno set.
 */
#ifndef SIPD_SHM_H
#define SIPD_SHM_H

#include <stddef.h>

struct shm_usage {
	size_t	su_total;	/* size of the mapping */
	size_t	su_used;	/* carved so far (headers + tables) */
	size_t	su_free;	/* total - used */
	size_t	su_max_used;	/* high-water mark; == used: no free */
	unsigned su_fragments;	/* number of carved blocks */
};

/*
 * Maps size bytes (rounded up to pages), the header included: size the
 * mapping with shm_size_base()/shm_size_add(). Returns 0, -EINVAL for
 * size 0, -EEXIST when this process already has a mapping, -ENOMEM when
 * the size overflows, or the -errno of mmap(). Once per process tree.
 */
int	shm_create(size_t size);
/*
 * Reserves n bytes aligned to align (power of two, 0 = max_align_t) from
 * the mapping; NULL when it does not fit. Master only, before fork.
 * The memory is zeroed.
 * On NULL, errno is ENOMEM (does not fit), EINVAL (n == 0 or align not
 * a power of two), ENXIO (no mapping) or EPERM (called by a process
 * other than the one that made the mapping: a forked child's carving
 * would be invisible to its siblings' bookkeeping).
 */
void	*shm_carve(size_t n, size_t align);
/* All zero when there is no mapping. Safe in any process. */
void	 shm_usage(struct shm_usage *ret);
/*
 * 0 when the header is intact, -ENXIO when there is no mapping,
 * -EBADMSG when magic, version or offsets are wrong (shm corruption:
 * the caller's fatal).
 */
int	 shm_check(void);
/* Unmaps; safe to call when nothing was mapped. */
void	 shm_destroy(void);
/*
 * Which mapping is current: non-zero while one is mapped, different for
 * each shm_create(). Lets a module that keeps a pointer into the
 * mapping tell, without a fault, that it was unmapped (the master's
 * last log lines come after shm_destroy()).
 */
unsigned shm_generation(void);

/*
 * Sizing helpers for the master. Start from shm_size_base() (the
 * header) and add every carve in the order it will be made, with the
 * same n and align: the result is the exact size shm_create() needs
 * for alignments up to the page size. SIZE_MAX on overflow, and
 * SIZE_MAX stays SIZE_MAX, so check once at the end.
 */
size_t	shm_size_base(void);
size_t	shm_size_add(size_t acc, size_t n, size_t align);
/* n rounded up to a multiple of the page size; SIZE_MAX on overflow. */
size_t	shm_page_round(size_t n);

/*
 * Per-table accounting for core.shmmem and /metrics. The mapping is
 * reserved whole at start, but a table's pages cost memory only once
 * touched, and a touched slot may be free again: so each table has
 *   total      bytes reserved for it (its carves, alignment included)
 *   used       bytes holding live entries now (the table says: fill fn)
 *   real_used  bytes of its pages that are resident (mincore(2); the
 *              count is at most 30 s old: it walks every page; once
 *              shm_resident_step() runs, about a minute old, walked a
 *              slice at a time in the background)
 *   max_used   high-water mark of used (the table's, or the most seen)
 *   free       total - used: room left for entries
 * The master calls shm_table_begin() before a table's carves; every
 * carve up to the next call counts toward it. Process-local
 * bookkeeping (workers inherit a copy): not in the shared header.
 */
#define SHM_TABLES_MAX	16

struct shm_fill {
	size_t		sf_used;
	size_t		sf_max_used;	/* 0: shm keeps the most seen */
	unsigned long	sf_entries;	/* entries in use (0 if n/a) */
	unsigned long	sf_capacity;	/* entries the table can hold */
};
/* Fills ret for a table of reserved bytes; NULL fn: fixed, all used. */
typedef void (*shm_fill_fn)(size_t reserved, struct shm_fill *ret);

struct shm_table_usage {
	const char	*tu_name;
	size_t		 tu_total;
	size_t		 tu_used;
	size_t		 tu_real_used;
	size_t		 tu_max_used;
	size_t		 tu_free;
	unsigned long	 tu_entries;
	unsigned long	 tu_capacity;
};

/* Master, before the table's first carve. name must be static. */
int	shm_table_begin(const char *name, shm_fill_fn fill);
/*
 * Up to cap tables into ret, in carve order; returns how many. The
 * bytes before the first table (the header) belong to none of them.
 */
size_t	shm_tables(struct shm_table_usage *ret, size_t cap);
/* Resident bytes of the whole mapping (mincore); 0 without one. */
size_t	shm_resident(void);
/*
 * The resident walk, one slice (16 MB on 4 KB pages) per call: the
 * master's 1 s timer calls it so that readers (a /metrics scrape, MI)
 * never walk the mapping themselves. The first call counts everything
 * at once. Master only, one thread.
 */
void	shm_resident_step(void);

#endif
