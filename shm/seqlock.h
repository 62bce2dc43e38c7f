/*
 * seqlock.h: one writer, many readers that never lock, for tables in
 * shm that change rarely and are read on every request (the subscriber
 * and trusted tables).
 *
 * The writer (the master only) makes seq odd, stores, makes it even.
 * A reader notes an even seq, loads, and tries again if seq moved. All
 * shared words are relaxed atomics so that a reader racing the writer
 * reads defined (if stale) values; the fences order them against seq
 * (Boehm, "Can seqlocks get along with programming language memory
 * models?", 2012). A reader bounds its retries (SEQLOCK_SPINS, with a
 * yield each): a master killed half way through a write leaves seq odd
 * for good, and a worker must then fail the lookup, not spin forever.
 */
#ifndef SIPD_SEQLOCK_H
#define SIPD_SEQLOCK_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* About a second of yields: far above the longest write (a reload). */
#define SEQLOCK_SPINS	200000

static inline void
seqlock_write_begin(_Atomic uint64_t *seq)
{
	uint64_t	 s = atomic_load_explicit(seq, memory_order_relaxed);

	atomic_store_explicit(seq, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static inline void
seqlock_write_end(_Atomic uint64_t *seq)
{
	uint64_t	 s = atomic_load_explicit(seq, memory_order_relaxed);

	atomic_store_explicit(seq, s + 1, memory_order_release);
}

/* An even seq to read under, or false when the writer never finished. */
static inline bool
seqlock_read_begin(_Atomic uint64_t *seq, uint64_t *ret)
{
	uint64_t	 s;
	long		 spins;

	for (spins = 0; spins < SEQLOCK_SPINS; spins++) {
		s = atomic_load_explicit(seq, memory_order_acquire);
		if ((s & 1) == 0) {
			*ret = s;
			return true;
		}
		sched_yield();
	}
	return false;
}

/* Whether what was read since seqlock_read_begin() is consistent. */
static inline bool
seqlock_read_ok(_Atomic uint64_t *seq, uint64_t begun)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(seq, memory_order_relaxed) == begun;
}

/* Word copies in and out of shm (n bytes, a multiple of 8 in shm). */
static inline void
seqlock_store_words(_Atomic uint64_t *dst, const void *src, size_t n)
{
	uint64_t	 w;
	size_t		 i;

	for (i = 0; i < n / 8; i++) {
		memcpy(&w, (const char *)src + i * 8, 8);
		atomic_store_explicit(&dst[i], w, memory_order_relaxed);
	}
}

static inline void
seqlock_load_words(void *dst, _Atomic uint64_t *src, size_t n)
{
	uint64_t	 w;
	size_t		 i;

	for (i = 0; i < n / 8; i++) {
		w = atomic_load_explicit(&src[i], memory_order_relaxed);
		memcpy((char *)dst + i * 8, &w, 8);
	}
}

#endif
