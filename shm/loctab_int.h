/*
 * loctab_int.h: what the loctab*.c files share and nobody else sees:
 * the layout of the table in shm (header, buckets, journal, records,
 * pools), the step hook, small inline accessors, and the calls one
 * file makes into another. Only shm/loctab*.c include it (STYLE.md,
 * shared memory rule 1); the public API is loctab.h.
 *
 *   loctab.c		sizing, creation, hashing, save, removal, scans
 *   loctab_list.c	bucket lists: AoR groups, linking by q, unlinking
 *   loctab_pool.c	record and string pools: take, put, class lending
 *   loctab_repair.c	locking, dead-owner repair, settling the journal
 *   loctab_stats.c	loctab_stats() and loctab_check()
 *   loctab_sync.c	what an incremental flush must write
 *
 * The design (crash safety, lock order) is described in loctab.c.
 */
#ifndef SIPD_LOCTAB_INT_H
#define SIPD_LOCTAB_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "loctab.h"
#include "shm_lock.h"

/* For the _locked functions (debug builds; compiled out with NDEBUG). */
#define LT_ASSERT_BUCKET(lt, b)	\
	shm_lock_assert_held(&(lt)->lt_buckets[(b)].bk_lock)
#define LT_ASSERT_FREE(lt)	shm_lock_assert_held(&(lt)->lt_free_lock)

#define LT_MAGIC	0x6c6f6374U	/* "loct" */
#define LT_VERSION	1U
#define LT_NIL		UINT32_MAX
#define LT_NPOOLS	(1 + LOCTAB_NCLASSES)	/* pool 0: records */
#define LT_JOURNAL	(4 * LOCTAB_SAVE_MAX)
/*
 * Writers that can be inside a change at once: every worker ("children"
 * is at most 256) and the master. Each holds one bucket lock, so at
 * most min(hash_size, LT_WRITERS) changes are in flight.
 */
#define LT_WRITERS	257
#define LT_CLASS_MIN	16	/* blocks per class, at least */
#define LT_ALIGN	64
#define LT_NEVER	INT64_MAX	/* bk_next_expiry: none expires */
#define LT_NCARVES	(4 + LOCTAB_NCLASSES)
#define LT_GONE_MAX	3	/* bk_gone entries */
#define LT_GONE_ALL	0xffU	/* bk_ngone: rewrite the whole bucket */

/* A journal entry names a block: pool in the top 4 bits, then index. */
#define LT_ENT(p, i)	(((uint32_t)(p) << 28) | (uint32_t)(i))
#define LT_ENT_POOL(e)	((unsigned)((e) >> 28))
#define LT_ENT_IDX(e)	((uint32_t)(e) & 0x0fffffffU)

/* The bytes of a binding's strings at their limits. */
#define LT_BLOB_MAX	(LOCTAB_AOR_MAX + LOCTAB_CONTACT_MAX + \
			    LOCTAB_CALLID_MAX + LOCTAB_UA_MAX + \
			    LOCTAB_SOCKET_MAX + LOCTAB_RECEIVED_MAX + \
			    LOCTAB_PATH_MAX)

/* The strings of a binding, in block order. */
enum {
	LT_S_AOR, LT_S_CONTACT, LT_S_CALLID, LT_S_UA, LT_S_SOCKET,
	LT_S_RECEIVED, LT_S_PATH, LT_NSTR
};

/*
 * Head of every record and string block. While free: guarded by the
 * free lock, lk_owner 0, lk_next the next free block. Owned: guarded by
 * the lock of bucket lk_owner - 1; a record's lk_next is the next
 * record of the bucket list. lk_owner is written under both locks when
 * it changes (take and put).
 */
struct loctab_link {
	uint32_t	lk_next;
	uint32_t	lk_owner;	/* 0 free, else bucket + 1 */
};

/* One binding. Guarded by its bucket's lock (rc_link as above). */
struct loctab_rec {
	struct loctab_link rc_link;
	uint32_t	rc_hash;	/* of the AoR */
	uint32_t	rc_blob;	/* LT_ENT(class pool, index) */
	int64_t		rc_expires;	/* absolute; 0 = permanent */
	int64_t		rc_last_modified;
	uint64_t	rc_stamp;	/* lt_changes when last changed */
	uint32_t	rc_cseq;
	uint32_t	rc_flags;
	uint32_t	rc_cflags;
	uint32_t	rc_methods;
	int16_t		rc_q;
	uint8_t		rc_state;	/* enum loctab_cstate */
	uint16_t	rc_len[LT_NSTR];	/* string lengths */
};

/*
 * A pool of fixed blocks. pl_base, pl_block and pl_count are set before
 * fork and constant; the rest is guarded by lt_free_lock.
 */
struct loctab_pool {
	unsigned char	*pl_base;
	uint32_t	 pl_block;	/* bytes per block */
	uint32_t	 pl_count;	/* blocks */
	uint32_t	 pl_bump;	/* blocks below were handed out once */
	uint32_t	 pl_free;	/* free list head, or LT_NIL */
	uint32_t	 pl_nfree;	/* blocks on the free list */
};

/*
 * A hash slot. All fields but bk_lock are guarded by bk_lock; the
 * atomics are read without it for statistics.
 */
struct loctab_bucket {
	struct shm_lock	 bk_lock;
	uint32_t	 bk_first;	/* first record, or LT_NIL */
	uint32_t	 bk_jn;		/* journal entries in use */
	uint32_t	 bk_jold;	/* record being replaced, or LT_NIL */
	uint32_t	 bk_jnew;	/* its replacement, or LT_NIL */
	_Atomic uint32_t bk_naors;	/* AoRs in the list */
	_Atomic uint32_t bk_nbind;	/* records in the list */
	/*
	 * Bindings charged to the bucket against the capacity: bk_nbind
	 * plus the inserts of a change in flight. Written under both the
	 * bucket lock and the free lock, so either guards a read; set to
	 * bk_nbind whenever the journal is settled.
	 */
	uint32_t	 bk_charged;
	/*
	 * No record of the list expires before this (LT_NEVER: none
	 * expires). A lower bound, lowered under bk_lock before a record
	 * with an earlier expiry is linked, and made exact under bk_lock
	 * by every walk that recounts the list; not raised when the
	 * earliest record leaves or is refreshed, so the expiry pass may
	 * visit a bucket once for nothing, never too late. Read without
	 * the lock by loctab_expire(): a stale value only delays a
	 * binding to the next pass.
	 */
	_Atomic int64_t	 bk_next_expiry;
	/*
	 * Set before a record of the list becomes CS_NEW or CS_DIRTY,
	 * cleared by loctab_mark_synced() once none is: a flush of a big
	 * table that barely changed then walks only the buckets that did.
	 */
	uint32_t	 bk_unsynced;
	/*
	 * Hashes of the AoRs that lost a record since a flush last copied
	 * the bucket: storage still has rows of theirs. bk_ngone is
	 * LT_GONE_ALL when more did than fit, or a repair cannot say which.
	 */
	uint32_t	 bk_gone[LT_GONE_MAX];
	uint8_t		 bk_ngone;
};

/*
 * The header, in shm. The pointers are set by the master before fork
 * and valid in every process of the tree (the mapping is inherited at
 * the same address); they and the sizes are constant.
 */
struct loctab {
	uint32_t		 lt_magic;
	uint32_t		 lt_version;
	uint32_t		 lt_hash_size;
	uint32_t		 lt_capacity;	/* max bindings */
	uint32_t		 lt_reserve;	/* per pool, for updates */
	struct loctab_bucket	*lt_buckets;
	/* Entry k of bucket b at [k * hash_size + b]: bucket b's lock. */
	uint32_t		*lt_journal;
	struct shm_lock		 lt_free_lock;
	struct loctab_pool	 lt_pools[LT_NPOOLS];	/* lt_free_lock */
	uint32_t		 lt_charged;	/* free lock: all bk_charged */
	_Atomic uint64_t	 lt_changes;	/* bumped under a bucket lock */
	_Atomic uint64_t	 lt_expired;	/* statistics only */
};

/* An AoR's place in its bucket list. */
struct loctab_group {
	uint32_t	g_prev;		/* record before the group, or LT_NIL */
	uint32_t	g_first;	/* first of the group, or LT_NIL */
	uint32_t	g_n;		/* records in the group */
	uint32_t	g_tail;		/* last record of the bucket; valid
					   only when no group was found */
};

enum lt_act { LT_ACT_NONE, LT_ACT_INSERT, LT_ACT_UPDATE, LT_ACT_REMOVE };

/* The plan for one contact of a save. */
struct loctab_plan {
	enum lt_act	 pl_act;
	uint32_t	 pl_old;	/* existing record, or LT_NIL */
	uint32_t	 pl_new;	/* reserved record */
	uint32_t	 pl_blob;	/* reserved or reused block */
	unsigned	 pl_class;	/* pool wanted; 0: reuse old block */
	size_t		 pl_len[LT_NSTR];
	const char	*pl_str[LT_NSTR];
};

/*
 * Between two stores that must reach memory in order: the compiler may
 * not move stores across it, and the tests' hook may kill us here.
 */
#define LT_STEP(name) do {						\
	atomic_signal_fence(memory_order_seq_cst);			\
	if (loctab_step_hook != NULL)					\
		loctab_step_hook(name);					\
	atomic_signal_fence(memory_order_seq_cst);			\
} while (0)

/* --- addressing (any lock that guards the block) ------------------- */

static inline struct loctab_link *
lt_link(struct loctab *lt, unsigned p, uint32_t idx)
{
	struct loctab_pool	*pl = &lt->lt_pools[p];

	return (struct loctab_link *)(void *)(pl->pl_base +
	    (size_t)idx * pl->pl_block);
}

static inline struct loctab_rec *
lt_rec(struct loctab *lt, uint32_t idx)
{
	return (struct loctab_rec *)(void *)lt_link(lt, 0, idx);
}

static inline unsigned char *
lt_blob(struct loctab *lt, uint32_t ent)
{
	return (unsigned char *)lt_link(lt, LT_ENT_POOL(ent),
	    LT_ENT_IDX(ent)) + sizeof(struct loctab_link);
}

static inline uint32_t *
lt_jent(struct loctab *lt, unsigned b, uint32_t k)
{
	/*
	 * Entry-major, so that the few entries most operations use lie
	 * together for all buckets: the pages of the deep entries, used
	 * only by REGISTERs with many contacts, mostly stay untouched.
	 */
	return &lt->lt_journal[(size_t)k * lt->lt_hash_size + b];
}

/* Offset of string s in a record's block. */
static inline size_t
lt_str_off(const struct loctab_rec *r, unsigned s)
{
	size_t	 off = 0;
	unsigned i;

	for (i = 0; i < s; i++)
		off += r->rc_len[i];
	return off;
}

/* A valid block reference: pool in range, index below its bump. */
static inline int
lt_ent_ok(struct loctab *lt, uint32_t e)
{
	unsigned p = LT_ENT_POOL(e);

	return p < LT_NPOOLS && LT_ENT_IDX(e) < lt->lt_pools[p].pl_count;
}

/* --- list steps and comparisons (bucket lock) ---------------------- */

static inline void
lt_set_next(struct loctab *lt, struct loctab_bucket *bk, uint32_t prev,
    uint32_t idx)
{
	if (prev == LT_NIL)
		bk->bk_first = idx;
	else
		lt_rec(lt, prev)->rc_link.lk_next = idx;
}

static inline uint32_t
lt_next_of(struct loctab *lt, struct loctab_bucket *bk, uint32_t prev)
{
	return prev == LT_NIL ? bk->bk_first :
	    lt_rec(lt, prev)->rc_link.lk_next;
}

static inline int
lt_same_aor(struct loctab *lt, const struct loctab_rec *a,
    const struct loctab_rec *b)
{
	return a->rc_hash == b->rc_hash &&
	    a->rc_len[LT_S_AOR] == b->rc_len[LT_S_AOR] &&
	    memcmp(lt_blob(lt, a->rc_blob), lt_blob(lt, b->rc_blob),
	    a->rc_len[LT_S_AOR]) == 0;
}

static inline int
lt_is_aor(struct loctab *lt, const struct loctab_rec *r, uint32_t h,
    const char *aor, size_t len)
{
	return r->rc_hash == h && r->rc_len[LT_S_AOR] == len &&
	    memcmp(lt_blob(lt, r->rc_blob), aor, len) == 0;
}

static inline int
lt_str_is(struct loctab *lt, const struct loctab_rec *r, unsigned s,
    const char *p, size_t len)
{
	return r->rc_len[s] == len && (len == 0 ||
	    memcmp(lt_blob(lt, r->rc_blob) + lt_str_off(r, s), p, len) == 0);
}

/* Lowers bucket b's earliest expiry to expires (0: never); bucket lock. */
static inline void
lt_lower_next_expiry_locked(struct loctab *lt, unsigned b, int64_t expires)
{
	struct loctab_bucket *bk = &lt->lt_buckets[b];

	if (expires != 0 && expires < atomic_load_explicit(
	    &bk->bk_next_expiry, memory_order_relaxed))
		atomic_store_explicit(&bk->bk_next_expiry, expires,
		    memory_order_relaxed);
}

/* --- loctab.c ------------------------------------------------------ */

uint32_t lt_hash(const char *s, size_t n);
unsigned lt_bucket_of_hash(const struct loctab *lt, uint32_t h);
void	lt_copy_out(struct loctab *lt, unsigned b, uint32_t idx,
	    struct loctab_binding *out);	/* bucket lock */

/* --- loctab_list.c (bucket lock held) ------------------------------ */

void	lt_recount_locked(struct loctab *lt, unsigned b);
uint32_t lt_tail_locked(struct loctab *lt, unsigned b, uint32_t hint);
void	lt_unlink_locked(struct loctab *lt, unsigned b, uint32_t from,
	    uint32_t idx);
void	lt_drop_locked(struct loctab *lt, unsigned b, uint32_t prev,
	    uint32_t idx);
void	lt_find_locked(struct loctab *lt, unsigned b, uint32_t h,
	    const char *aor, size_t len, struct loctab_group *g);
uint32_t lt_find_contact_locked(struct loctab *lt,
	    const struct loctab_group *g, const char *uri, size_t len,
	    uint32_t *ret_prev);
void	lt_link_locked(struct loctab *lt, unsigned b,
	    const struct loctab_group *g, uint32_t idx, uint32_t skip);

/* --- loctab_pool.c ------------------------------------------------- */

uint32_t lt_reserve_for(unsigned hash_size);
uint32_t lt_pool_count(unsigned p, unsigned cap, uint32_t reserve);
size_t	lt_pool_block(unsigned p);
unsigned lt_class_for(size_t bytes);
int	lt_reserve_locked(struct loctab *lt, unsigned b,
	    struct loctab_plan *plan, unsigned n);
void	lt_charge_settled_locked(struct loctab *lt, unsigned b);
void	lt_put_locked(struct loctab *lt, unsigned p, uint32_t idx);

/* --- loctab_repair.c ----------------------------------------------- */

int	lt_free_lock(struct loctab *lt);
int	lt_lock(struct loctab *lt, unsigned b);
void	lt_unlock(struct loctab *lt, unsigned b);
int	lt_settle_locked(struct loctab *lt, unsigned b, uint32_t known);

/* --- loctab_sync.c (bucket lock held) ------------------------------ */

void	lt_note_gone_locked(struct loctab *lt, unsigned b, uint32_t h);

#endif
