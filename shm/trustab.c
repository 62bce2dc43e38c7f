/*
 * trustab.c: the trusted table in shm (see trustab.h): a count and an
 * array of rows under a seqlock; the generation is the seqlock's own
 * even value, so a reader that copied under generation g knows its copy
 * is current for as long as the generation reads g.
 */
#include <errno.h>
#include <stdalign.h>

#include "seqlock.h"
#include "shm.h"
#include "trustab.h"

_Static_assert(sizeof(struct trustab_row) % 8 == 0,
    "trustab_row is copied in 8-byte words");

#define TRUSTAB_WORDS	(sizeof(struct trustab_row) / 8)

struct trustab {
	alignas(TRUSTAB_SHM_ALIGN)
	_Atomic uint64_t	tt_seq;
	_Atomic uint64_t	tt_count;
	_Atomic uint64_t	tt_rows[TRUSTAB_ROWS_MAX][TRUSTAB_WORDS];
};

size_t
trustab_shm_size(void)
{
	return sizeof(struct trustab);
}

int
trustab_create(struct trustab **ret)
{
	struct trustab	*t;

	if ((t = shm_carve(sizeof(*t), TRUSTAB_SHM_ALIGN)) == NULL)
		return -errno;
	return trustab_init(t, ret);
}

int
trustab_init(void *mem, struct trustab **ret)
{
	*ret = mem;
	return 0;
}

int
trustab_replace(struct trustab *t, const struct trustab_row *rows, size_t n)
{
	size_t	 i;

	if (n > TRUSTAB_ROWS_MAX)
		return -E2BIG;
	seqlock_write_begin(&t->tt_seq);
	for (i = 0; i < n; i++)
		seqlock_store_words(t->tt_rows[i], &rows[i], sizeof(rows[i]));
	atomic_store_explicit(&t->tt_count, n, memory_order_relaxed);
	seqlock_write_end(&t->tt_seq);
	return 0;
}

size_t
trustab_count(struct trustab *t)
{
	return (size_t)atomic_load_explicit(&t->tt_count,
	    memory_order_relaxed);
}

uint64_t
trustab_generation(struct trustab *t)
{
	return atomic_load_explicit(&t->tt_seq, memory_order_acquire);
}

int
trustab_copy(struct trustab *t, struct trustab_row *rows, size_t cap,
    size_t *ret_n, uint64_t *ret_gen)
{
	uint64_t	 seq, n;
	size_t		 i;
	int		 tries;

	for (tries = 0; tries < SEQLOCK_SPINS; tries++) {
		if (!seqlock_read_begin(&t->tt_seq, &seq))
			return -EAGAIN;
		n = atomic_load_explicit(&t->tt_count, memory_order_relaxed);
		if (n > cap)
			n = cap;
		for (i = 0; i < n; i++)
			seqlock_load_words(&rows[i], t->tt_rows[i],
			    sizeof(rows[i]));
		if (seqlock_read_ok(&t->tt_seq, seq)) {
			*ret_n = (size_t)n;
			*ret_gen = seq;
			return 0;
		}
	}
	return -EAGAIN;
}
