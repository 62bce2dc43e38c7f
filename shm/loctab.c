/*
 * loctab.c: the location table (usrloc) in shm, used by every process:
 * the master creates it before fork, loads it, expires it once a
 * second, dumps and flushes it; workers save and look up bindings.
 *
 * Layout (all carved by loctab_create(), never resized):
 *
 *   struct loctab		header: magic, sizes, the free lock, pools
 *   buckets[hash_size]		robust lock, first record, journal state
 *   journal[J][hash_size]	per-bucket undo/redo list, J = 4 * SAVE_MAX
 *   records[max_contacts + spare]	fixed 72-byte binding records
 *   class pools 96..1536 B	one string block per binding
 *
 * A binding is one fixed record (numbers, lengths, the AoR's hash) plus
 * ONE string block holding its seven strings back to back (AoR,
 * contact, Call-ID, User-Agent, socket, received, path), taken from the
 * smallest size class that fits (or a larger one when that class ran
 * out). Records and blocks are named by 32-bit index, never by pointer.
 * A typical binding (AoR 8, contact 40, Call-ID 40, User-Agent 30,
 * socket 21: 139 bytes + 8 of block header) costs a 72-byte record and
 * a 160-byte block, 232 bytes, plus a share of the bucket array.
 * Pools are sized generously (each small class can hold every binding)
 * because pages nobody touched cost no memory: blocks are handed out
 * from a bump index first and recycled through a free list after, so
 * only pages in use become resident.
 *
 * Each bucket is a singly linked list of records; the bindings of one
 * AoR are adjacent (a "group"), highest q first, older first among
 * equal q. AoRs are compared byte-exact, contacts too.
 *
 * Crash safety. A worker may be SIGKILLed at any instruction, holding a
 * bucket lock and maybe the free lock. Every change is made so that
 * the lists are well formed after each single store:
 *   - a new record is filled while it is on no list, then linked with
 *     one store; an update links the new copy next to the old one, then
 *     unlinks the old one (bk_jold/bk_jnew say which, so a repair can
 *     finish the swap); a removal is one store;
 *   - blocks taken from a pool are first written to the bucket's
 *     journal, then marked with their owner (bucket + 1), then popped;
 *     blocks to free are journalled before they are unlinked.
 * Repair (bucket lock recovered): finish an interrupted swap, recount.
 * Then every journalled block the bucket owns but no longer reaches is
 * given back to its pool ("settle"): this rolls back reservations that
 * were never linked and completes frees that were interrupted. The free
 * lock's repair pops list heads marked owned (a pop or push cut short)
 * and recounts. So a dead worker costs at most its own unfinished
 * binding, never another one, and no block leaks.
 *
 * Lock order: a bucket, then the free lock. Never two buckets.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loctab.h"
#include "shm.h"
#include "shm_lock.h"
#include "store.h"

#define LT_MAGIC	0x6c6f6374U	/* "loct" */
#define LT_VERSION	1U
#define LT_NIL		UINT32_MAX
#define LT_NPOOLS	(1 + LOCTAB_NCLASSES)	/* pool 0: records */
#define LT_JOURNAL	(4 * LOCTAB_SAVE_MAX)
#define LT_SPARE	256	/* records for updates in flight */
#define LT_CLASS_MIN	16	/* blocks per class, at least */
#define LT_ALIGN	64
#define LT_NCARVES	(4 + LOCTAB_NCLASSES)

/* A journal entry names a block: pool in the top 4 bits, then index. */
#define LT_ENT(p, i)	(((uint32_t)(p) << 28) | (uint32_t)(i))
#define LT_ENT_POOL(e)	((unsigned)((e) >> 28))
#define LT_ENT_IDX(e)	((uint32_t)(e) & 0x0fffffffU)

/* The strings of a binding, in block order. */
enum {
	LT_S_AOR, LT_S_CONTACT, LT_S_CALLID, LT_S_UA, LT_S_SOCKET,
	LT_S_RECEIVED, LT_S_PATH, LT_NSTR
};

static const unsigned lt_str_max[LT_NSTR] = {
	LOCTAB_AOR_MAX, LOCTAB_CONTACT_MAX, LOCTAB_CALLID_MAX, LOCTAB_UA_MAX,
	LOCTAB_SOCKET_MAX, LOCTAB_RECEIVED_MAX, LOCTAB_PATH_MAX
};

static const size_t lt_out_str[LT_NSTR] = {
	offsetof(struct loctab_binding, lb_aor),
	offsetof(struct loctab_binding, lb_contact),
	offsetof(struct loctab_binding, lb_callid),
	offsetof(struct loctab_binding, lb_user_agent),
	offsetof(struct loctab_binding, lb_socket),
	offsetof(struct loctab_binding, lb_received),
	offsetof(struct loctab_binding, lb_path)
};

static const size_t lt_out_len[LT_NSTR] = {
	offsetof(struct loctab_binding, lb_aor_len),
	offsetof(struct loctab_binding, lb_contact_len),
	offsetof(struct loctab_binding, lb_callid_len),
	offsetof(struct loctab_binding, lb_user_agent_len),
	offsetof(struct loctab_binding, lb_socket_len),
	offsetof(struct loctab_binding, lb_received_len),
	offsetof(struct loctab_binding, lb_path_len)
};

/*
 * Block sizes of the string classes, and the share of max_contacts each
 * can hold (1/div): small classes can hold every binding, big ones a
 * fraction. A class that ran out lends from the next bigger one.
 */
static const unsigned lt_class_block[LOCTAB_NCLASSES] = {
	96, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 1536
};
static const unsigned lt_class_div[LOCTAB_NCLASSES] = {
	1, 1, 1, 1, 1, 2, 2, 4, 8, 16, 16
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
	uint8_t		rc_len[LT_NSTR];	/* string lengths */
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
	struct loctab_bucket	*lt_buckets;
	/* Entry k of bucket b at [k * hash_size + b]: bucket b's lock. */
	uint32_t		*lt_journal;
	struct shm_lock		 lt_free_lock;
	struct loctab_pool	 lt_pools[LT_NPOOLS];	/* lt_free_lock */
	_Atomic uint64_t	 lt_changes;	/* bumped under a bucket lock */
	_Atomic uint64_t	 lt_expired;	/* statistics only */
};

/* What a bucket's repair hook needs; on the stack of the locker. */
struct loctab_ctx {
	struct loctab	*c_lt;
	unsigned	 c_b;
};

void	(*loctab_step_hook)(const char *step);

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

/* --- addressing ---------------------------------------------------- */

static struct loctab_link *
lt_link(struct loctab *lt, unsigned p, uint32_t idx)
{
	struct loctab_pool	*pl = &lt->lt_pools[p];

	return (struct loctab_link *)(void *)(pl->pl_base +
	    (size_t)idx * pl->pl_block);
}

static struct loctab_rec *
lt_rec(struct loctab *lt, uint32_t idx)
{
	return (struct loctab_rec *)(void *)lt_link(lt, 0, idx);
}

static unsigned char *
lt_blob(struct loctab *lt, uint32_t ent)
{
	return (unsigned char *)lt_link(lt, LT_ENT_POOL(ent),
	    LT_ENT_IDX(ent)) + sizeof(struct loctab_link);
}

static uint32_t *
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
static size_t
lt_str_off(const struct loctab_rec *r, unsigned s)
{
	size_t	 off = 0;
	unsigned i;

	for (i = 0; i < s; i++)
		off += r->rc_len[i];
	return off;
}

/* A valid block reference: pool in range, index below its bump. */
static int
lt_ent_ok(struct loctab *lt, uint32_t e)
{
	unsigned p = LT_ENT_POOL(e);

	return p < LT_NPOOLS && LT_ENT_IDX(e) < lt->lt_pools[p].pl_count;
}

/* --- hashing ------------------------------------------------------- */

/*
 * FNV-1a over the bytes, then murmur3's 32-bit finaliser so that the
 * low bits (the bucket, for a power-of-two size) depend on every byte.
 */
static uint32_t
lt_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261U;

	while (n-- > 0) {
		h ^= (unsigned char)*s++;
		h *= 16777619U;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

static unsigned
lt_bucket_of_hash(const struct loctab *lt, uint32_t h)
{
	uint32_t n = lt->lt_hash_size;

	return (n & (n - 1)) == 0 ? h & (n - 1) : h % n;
}

unsigned
loctab_bucket_of(const struct loctab *lt, const char *aor, size_t len)
{
	return lt_bucket_of_hash(lt, lt_hash(aor, len));
}

unsigned
loctab_hash_size(const struct loctab *lt)
{
	return lt->lt_hash_size;
}

/* --- sizing and creation ------------------------------------------- */

static uint32_t
lt_pool_count(unsigned p, unsigned cap)
{
	uint32_t n;

	if (p == 0)
		return cap + LT_SPARE;
	n = cap / lt_class_div[p - 1];
	return n < LT_CLASS_MIN ? LT_CLASS_MIN : n;
}

static size_t
lt_pool_block(unsigned p)
{
	return p == 0 ? sizeof(struct loctab_rec) : lt_class_block[p - 1];
}

/* The carves loctab_create() makes, in order; 0 for bad arguments. */
static int
lt_carves(unsigned hash_size, unsigned cap, size_t n[LT_NCARVES])
{
	unsigned p;

	if (hash_size < 1 || hash_size > LOCTAB_HASH_MAX || cap < 1 ||
	    cap > LOCTAB_CAPACITY_MAX)
		return -1;
	n[0] = sizeof(struct loctab);
	n[1] = (size_t)hash_size * sizeof(struct loctab_bucket);
	n[2] = (size_t)hash_size * LT_JOURNAL * sizeof(uint32_t);
	for (p = 0; p < LT_NPOOLS; p++) {
		if (SIZE_MAX / lt_pool_block(p) < lt_pool_count(p, cap))
			return -1;
		n[3 + p] = lt_pool_block(p) * lt_pool_count(p, cap);
	}
	return 0;
}

size_t
loctab_shm_size_add(size_t acc, unsigned hash_size, unsigned max_contacts)
{
	size_t	 n[LT_NCARVES];
	unsigned i;

	if (lt_carves(hash_size, max_contacts, n) == -1)
		return SIZE_MAX;
	for (i = 0; i < LT_NCARVES; i++)
		acc = shm_size_add(acc, n[i], LT_ALIGN);
	return acc;
}

size_t
loctab_shm_size(unsigned hash_size, unsigned max_contacts)
{
	size_t	 n;

	n = loctab_shm_size_add(0, hash_size, max_contacts);
	if (n > SIZE_MAX - LT_NCARVES * LT_ALIGN)
		return SIZE_MAX;
	return n + LT_NCARVES * LT_ALIGN;
}

int
loctab_create(unsigned hash_size, unsigned max_contacts,
    struct loctab **ret_table)
{
	struct loctab	*lt;
	void		*mem[LT_NCARVES];
	size_t		 n[LT_NCARVES];
	unsigned	 i, p;
	int		 rc;

	if (lt_carves(hash_size, max_contacts, n) == -1)
		return -EINVAL;
	for (i = 0; i < LT_NCARVES; i++)
		if ((mem[i] = shm_carve(n[i], LT_ALIGN)) == NULL)
			return errno == ENOMEM ? -ENOMEM : -errno;

	/* Carved memory is zero: only non-zero fields are written. */
	lt = mem[0];
	lt->lt_magic = LT_MAGIC;
	lt->lt_version = LT_VERSION;
	lt->lt_hash_size = hash_size;
	lt->lt_capacity = max_contacts;
	lt->lt_buckets = mem[1];
	lt->lt_journal = mem[2];
	atomic_init(&lt->lt_changes, 0);
	atomic_init(&lt->lt_expired, 0);
	if ((rc = shm_lock_init(&lt->lt_free_lock)) < 0)
		return rc;
	for (p = 0; p < LT_NPOOLS; p++) {
		lt->lt_pools[p].pl_base = mem[3 + p];
		lt->lt_pools[p].pl_block = (uint32_t)lt_pool_block(p);
		lt->lt_pools[p].pl_count = lt_pool_count(p, max_contacts);
		lt->lt_pools[p].pl_free = LT_NIL;
	}
	for (i = 0; i < hash_size; i++) {
		struct loctab_bucket *bk = &lt->lt_buckets[i];

		if ((rc = shm_lock_init(&bk->bk_lock)) < 0)
			return rc;
		bk->bk_first = LT_NIL;
		bk->bk_jold = LT_NIL;
		bk->bk_jnew = LT_NIL;
		atomic_init(&bk->bk_naors, 0);
		atomic_init(&bk->bk_nbind, 0);
	}
	*ret_table = lt;
	return 0;
}

/* --- pools (free lock) --------------------------------------------- */

/*
 * Free lock repair: a dead holder may have stopped inside a take (the
 * head is owned but still on the list, or the bump block is owned but
 * not passed) or a put (the head is pushed but still owned). Owned
 * blocks are only ever at the head or at the bump index, so popping
 * owned heads and advancing the bump restores the lists; the owning
 * bucket's journal gives such blocks back later if they are unused.
 */
static void
lt_pools_repair(void *arg)
{
	struct loctab		*lt = arg;
	struct loctab_pool	*pl;
	uint32_t		 i, n;
	unsigned		 p;

	for (p = 0; p < LT_NPOOLS; p++) {
		pl = &lt->lt_pools[p];
		while (pl->pl_free != LT_NIL) {
			if (pl->pl_free >= pl->pl_count) {
				pl->pl_free = LT_NIL;	/* cannot happen */
				break;
			}
			if (lt_link(lt, p, pl->pl_free)->lk_owner == 0)
				break;
			pl->pl_free = lt_link(lt, p, pl->pl_free)->lk_next;
		}
		while (pl->pl_bump < pl->pl_count &&
		    lt_link(lt, p, pl->pl_bump)->lk_owner != 0)
			pl->pl_bump++;
		n = 0;
		for (i = pl->pl_free; i != LT_NIL && n < pl->pl_count;
		    i = lt_link(lt, p, i)->lk_next)
			n++;
		pl->pl_nfree = n;
	}
}

static int
lt_free_lock(struct loctab *lt)
{
	int	 rc;

	rc = shm_lock_acquire(&lt->lt_free_lock, lt_pools_repair, lt);
	return rc < 0 ? rc : 0;
}

static uint32_t
lt_pool_avail_locked(struct loctab *lt, unsigned p)
{
	struct loctab_pool *pl = &lt->lt_pools[p];

	return pl->pl_count - pl->pl_bump + pl->pl_nfree;
}

/*
 * Takes a block of pool p for bucket b (both locks held, a block
 * available): journal it, own it, then pop it.
 */
static uint32_t
lt_take_locked(struct loctab *lt, unsigned b, unsigned p)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	struct loctab_pool	*pl = &lt->lt_pools[p];
	struct loctab_link	*lk;
	uint32_t		 idx;

	idx = pl->pl_free != LT_NIL ? pl->pl_free : pl->pl_bump;
	lk = lt_link(lt, p, idx);
	*lt_jent(lt, b, bk->bk_jn) = LT_ENT(p, idx);
	LT_STEP("take-journal");
	bk->bk_jn++;
	LT_STEP("take-count");
	lk->lk_owner = b + 1;
	LT_STEP("take-owner");
	if (idx == pl->pl_free) {
		pl->pl_free = lk->lk_next;
		LT_STEP("take-pop");
		pl->pl_nfree--;
	} else
		pl->pl_bump++;
	LT_STEP("take-done");
	return idx;
}

/* Gives a block back (free lock held): push, then disown. */
static void
lt_put_locked(struct loctab *lt, unsigned p, uint32_t idx)
{
	struct loctab_pool	*pl = &lt->lt_pools[p];
	struct loctab_link	*lk = lt_link(lt, p, idx);

	lk->lk_next = pl->pl_free;
	LT_STEP("put-next");
	pl->pl_free = idx;
	LT_STEP("put-push");
	lk->lk_owner = 0;
	LT_STEP("put-disown");
	pl->pl_nfree++;
}

/* --- bucket lists (bucket lock) ------------------------------------ */

static void
lt_set_next(struct loctab *lt, struct loctab_bucket *bk, uint32_t prev,
    uint32_t idx)
{
	if (prev == LT_NIL)
		bk->bk_first = idx;
	else
		lt_rec(lt, prev)->rc_link.lk_next = idx;
}

static uint32_t
lt_next_of(struct loctab *lt, struct loctab_bucket *bk, uint32_t prev)
{
	return prev == LT_NIL ? bk->bk_first :
	    lt_rec(lt, prev)->rc_link.lk_next;
}

/* Whether the block named by e is in, or used by a record in, b's list. */
static int
lt_reachable_locked(struct loctab *lt, unsigned b, uint32_t e)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	uint32_t		 i, steps = 0;

	for (i = bk->bk_first; i != LT_NIL && steps <= lt->lt_pools[0].pl_count;
	    i = lt_rec(lt, i)->rc_link.lk_next, steps++) {
		if (LT_ENT_POOL(e) == 0 ? i == LT_ENT_IDX(e) :
		    lt_rec(lt, i)->rc_blob == e)
			return 1;
	}
	return 0;
}

static int
lt_same_aor(struct loctab *lt, const struct loctab_rec *a,
    const struct loctab_rec *b)
{
	return a->rc_hash == b->rc_hash &&
	    a->rc_len[LT_S_AOR] == b->rc_len[LT_S_AOR] &&
	    memcmp(lt_blob(lt, a->rc_blob), lt_blob(lt, b->rc_blob),
	    a->rc_len[LT_S_AOR]) == 0;
}

static int
lt_is_aor(struct loctab *lt, const struct loctab_rec *r, uint32_t h,
    const char *aor, size_t len)
{
	return r->rc_hash == h && r->rc_len[LT_S_AOR] == len &&
	    memcmp(lt_blob(lt, r->rc_blob), aor, len) == 0;
}

static int
lt_str_is(struct loctab *lt, const struct loctab_rec *r, unsigned s,
    const char *p, size_t len)
{
	return r->rc_len[s] == len && (len == 0 ||
	    memcmp(lt_blob(lt, r->rc_blob) + lt_str_off(r, s), p, len) == 0);
}

/* Recounts AoRs and records; the repair and every change end with it. */
static void
lt_recount_locked(struct loctab *lt, unsigned b)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	struct loctab_rec	*r, *last = NULL;
	uint32_t		 i, naors = 0, n = 0;

	for (i = bk->bk_first; i != LT_NIL && n <= lt->lt_pools[0].pl_count;
	    i = r->rc_link.lk_next) {
		r = lt_rec(lt, i);
		if (last == NULL || !lt_same_aor(lt, last, r))
			naors++;
		last = r;
		n++;
	}
	atomic_store_explicit(&bk->bk_naors, naors, memory_order_relaxed);
	atomic_store_explicit(&bk->bk_nbind, n, memory_order_relaxed);
}

/* Unlinks idx, looking for it after record from (LT_NIL: the head). */
static void
lt_unlink_locked(struct loctab *lt, unsigned b, uint32_t from, uint32_t idx)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	uint32_t		 i, prev = from;

	for (i = lt_next_of(lt, bk, from); i != LT_NIL && i != idx;
	    i = lt_rec(lt, i)->rc_link.lk_next)
		prev = i;
	if (i == idx)
		lt_set_next(lt, bk, prev, lt_rec(lt, idx)->rc_link.lk_next);
}

/*
 * Bucket lock repair: the list itself is well formed after any single
 * store; only a half-done replacement (both copies linked) needs
 * finishing. Journalled blocks are settled after the acquire.
 */
static void
lt_bucket_repair(void *arg)
{
	struct loctab_ctx	*ctx = arg;
	struct loctab		*lt = ctx->c_lt;
	struct loctab_bucket	*bk = &lt->lt_buckets[ctx->c_b];

	if (bk->bk_jn > LT_JOURNAL)
		bk->bk_jn = LT_JOURNAL;		/* cannot happen */
	if (bk->bk_jold != LT_NIL && bk->bk_jnew != LT_NIL &&
	    bk->bk_jold < lt->lt_pools[0].pl_count &&
	    bk->bk_jnew < lt->lt_pools[0].pl_count &&
	    lt_reachable_locked(lt, ctx->c_b, LT_ENT(0, bk->bk_jnew)) &&
	    lt_reachable_locked(lt, ctx->c_b, LT_ENT(0, bk->bk_jold)))
		lt_unlink_locked(lt, ctx->c_b, LT_NIL, bk->bk_jold);
	bk->bk_jold = LT_NIL;
	bk->bk_jnew = LT_NIL;
	lt_recount_locked(lt, ctx->c_b);
}

/*
 * Gives back every journalled block that bucket b owns but no longer
 * reaches, then empties the journal. Takes the free lock. After a
 * crash (known == LT_UNKNOWN) each entry is checked by walking the
 * list; an operation that completed says instead that its first known
 * entries are linked and the others unlinked, which spares the walks.
 */
#define LT_UNKNOWN	UINT32_MAX

static int
lt_settle_locked(struct loctab *lt, unsigned b, uint32_t known)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	uint32_t		 i, e;
	int			 rc;

	if (bk->bk_jn == 0)
		return 0;
	if ((rc = lt_free_lock(lt)) < 0)
		return rc;
	for (i = 0; i < bk->bk_jn; i++) {
		e = *lt_jent(lt, b, i);
		if (known != LT_UNKNOWN && i < known)
			continue;
		if (!lt_ent_ok(lt, e) ||
		    lt_link(lt, LT_ENT_POOL(e), LT_ENT_IDX(e))->lk_owner !=
		    b + 1 ||
		    (known == LT_UNKNOWN && lt_reachable_locked(lt, b, e)))
			continue;
		lt_put_locked(lt, LT_ENT_POOL(e), LT_ENT_IDX(e));
	}
	shm_lock_release(&lt->lt_free_lock);
	LT_STEP("settle-done");
	bk->bk_jn = 0;
	return 0;
}

static int
lt_lock(struct loctab *lt, unsigned b)
{
	struct loctab_ctx	 ctx = { lt, b };
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	int			 rc;

	rc = shm_lock_acquire(&bk->bk_lock, lt_bucket_repair, &ctx);
	if (rc < 0)
		return rc;
	if (bk->bk_jn != 0 && (rc = lt_settle_locked(lt, b, LT_UNKNOWN)) < 0) {
		shm_lock_release(&bk->bk_lock);
		return rc;
	}
	return 0;
}

static void
lt_unlock(struct loctab *lt, unsigned b)
{
	shm_lock_release(&lt->lt_buckets[b].bk_lock);
}

/*
 * Unlinks record idx (prev before it) and journals it and its block
 * for settling. The caller keeps two journal entries free.
 */
static void
lt_drop_locked(struct loctab *lt, unsigned b, uint32_t prev, uint32_t idx)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	struct loctab_rec	*r = lt_rec(lt, idx);

	*lt_jent(lt, b, bk->bk_jn) = LT_ENT(0, idx);
	*lt_jent(lt, b, bk->bk_jn + 1) = r->rc_blob;
	LT_STEP("drop-journal");
	bk->bk_jn += 2;
	LT_STEP("drop-count");
	lt_set_next(lt, bk, prev, r->rc_link.lk_next);
	LT_STEP("drop-unlink");
}

/* An AoR's place in its bucket list. */
struct loctab_group {
	uint32_t	g_prev;		/* record before the group, or LT_NIL */
	uint32_t	g_first;	/* first of the group, or LT_NIL */
	uint32_t	g_n;		/* records in the group */
	uint32_t	g_tail;		/* last record of the bucket */
};

static void
lt_find_locked(struct loctab *lt, unsigned b, uint32_t h, const char *aor,
    size_t len, struct loctab_group *g)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	uint32_t		 i, prev = LT_NIL;
	int			 in = 0;

	g->g_prev = g->g_first = g->g_tail = LT_NIL;
	g->g_n = 0;
	for (i = bk->bk_first; i != LT_NIL;
	    prev = i, i = lt_rec(lt, i)->rc_link.lk_next) {
		g->g_tail = i;
		if (g->g_first == LT_NIL || in) {
			if (lt_is_aor(lt, lt_rec(lt, i), h, aor, len)) {
				if (g->g_first == LT_NIL) {
					g->g_prev = prev;
					g->g_first = i;
				}
				in = 1;
				g->g_n++;
			} else
				in = 0;
		}
	}
}

/* The group member whose contact is uri, or LT_NIL; *ret_prev before it. */
static uint32_t
lt_find_contact_locked(struct loctab *lt, const struct loctab_group *g,
    const char *uri, size_t len, uint32_t *ret_prev)
{
	uint32_t i, prev = g->g_prev, k;

	for (k = 0, i = g->g_first; k < g->g_n;
	    k++, prev = i, i = lt_rec(lt, i)->rc_link.lk_next) {
		if (lt_str_is(lt, lt_rec(lt, i), LT_S_CONTACT, uri, len)) {
			if (ret_prev != NULL)
				*ret_prev = prev;
			return i;
		}
	}
	return LT_NIL;
}

/*
 * Links record idx into its AoR's group by q (after every member with
 * q >= its q; skip is passed over as if absent), or at the bucket's
 * tail when the group is empty. Two stores; the second publishes.
 */
static void
lt_link_locked(struct loctab *lt, unsigned b, const struct loctab_group *g,
    uint32_t idx, uint32_t skip)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	struct loctab_rec	*r = lt_rec(lt, idx);
	uint32_t		 prev, cur, k;

	if (g->g_n == 0)
		prev = g->g_tail;
	else {
		prev = g->g_prev;
		cur = g->g_first;
		for (k = 0; k < g->g_n; k++) {
			if (cur != skip && lt_rec(lt, cur)->rc_q < r->rc_q)
				break;
			prev = cur;
			cur = lt_rec(lt, cur)->rc_link.lk_next;
		}
	}
	r->rc_link.lk_next = lt_next_of(lt, bk, prev);
	LT_STEP("link-next");
	lt_set_next(lt, bk, prev, idx);
	LT_STEP("link-publish");
}

/* --- copying out --------------------------------------------------- */

static void
lt_copy_out(struct loctab *lt, unsigned b, uint32_t idx,
    struct loctab_binding *out)
{
	const struct loctab_rec	*r = lt_rec(lt, idx);
	const unsigned char	*d = lt_blob(lt, r->rc_blob);
	char			*base = (char *)out;
	unsigned		 s;

	for (s = 0; s < LT_NSTR; s++) {
		memcpy(base + lt_out_str[s], d, r->rc_len[s]);
		base[lt_out_str[s] + r->rc_len[s]] = '\0';
		*(unsigned short *)(void *)(base + lt_out_len[s]) =
		    r->rc_len[s];
		d += r->rc_len[s];
	}
	out->lb_expires = (time_t)r->rc_expires;
	out->lb_last_modified = (time_t)r->rc_last_modified;
	out->lb_q = r->rc_q;
	out->lb_cseq = r->rc_cseq;
	out->lb_flags = r->rc_flags;
	out->lb_cflags = r->rc_cflags;
	out->lb_methods = r->rc_methods;
	out->lb_state = (enum loctab_cstate)r->rc_state;
	out->lb_bucket = b;
}

static int
lt_valid(const struct loctab_rec *r, time_t now)
{
	return r->rc_expires == 0 || r->rc_expires > (int64_t)now;
}

/*
 * Copies the group's bindings (only those valid at now when filter is
 * set) and returns how many there are.
 */
static unsigned
lt_copy_group(struct loctab *lt, unsigned b, const struct loctab_group *g,
    int filter, time_t now, struct loctab_binding *out, unsigned out_max)
{
	uint32_t i, k;
	unsigned n = 0;

	for (k = 0, i = g->g_first; k < g->g_n;
	    k++, i = lt_rec(lt, i)->rc_link.lk_next) {
		if (filter && !lt_valid(lt_rec(lt, i), now))
			continue;
		if (n < out_max)
			lt_copy_out(lt, b, i, &out[n]);
		n++;
	}
	return n;
}

/* --- removal ------------------------------------------------------- */

enum lt_rm {
	LT_RM_EXPIRED,		/* every expired record of the bucket */
	LT_RM_AOR,		/* every record of the AoR */
	LT_RM_AOR_EXPIRED,	/* the expired records of the AoR */
	LT_RM_CONTACT		/* the AoR's record for one contact */
};

struct loctab_rm {
	enum lt_rm	 rm_what;
	time_t		 rm_now;
	uint32_t	 rm_hash;
	const char	*rm_aor;
	size_t		 rm_aor_len;
	const char	*rm_contact;
	size_t		 rm_contact_len;
};

static int
lt_rm_match(struct loctab *lt, const struct loctab_rec *r,
    const struct loctab_rm *rm)
{
	int	 expired = r->rc_expires != 0 &&
		    r->rc_expires <= (int64_t)rm->rm_now;

	switch (rm->rm_what) {
	case LT_RM_EXPIRED:
		return expired;
	case LT_RM_AOR_EXPIRED:
		if (!expired)
			return 0;
		/* FALLTHROUGH */
	case LT_RM_AOR:
		return lt_is_aor(lt, r, rm->rm_hash, rm->rm_aor,
		    rm->rm_aor_len);
	case LT_RM_CONTACT:
		return lt_is_aor(lt, r, rm->rm_hash, rm->rm_aor,
		    rm->rm_aor_len) && lt_str_is(lt, r, LT_S_CONTACT,
		    rm->rm_contact, rm->rm_contact_len);
	}
	return 0;
}

/*
 * Removes the matching records of bucket b, settling the journal as it
 * fills; 0.. removed, or -errno (then some may be removed).
 */
static int
lt_remove_locked(struct loctab *lt, unsigned b, const struct loctab_rm *rm)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	uint32_t		 i, next, prev = LT_NIL;
	int			 n = 0, rc;

	for (i = bk->bk_first; i != LT_NIL; i = next) {
		next = lt_rec(lt, i)->rc_link.lk_next;
		if (!lt_rm_match(lt, lt_rec(lt, i), rm)) {
			prev = i;
			continue;
		}
		if (n == 0)
			atomic_fetch_add(&lt->lt_changes, 1);
		if (bk->bk_jn + 2 > LT_JOURNAL &&
		    (rc = lt_settle_locked(lt, b, 0)) < 0)
			return rc;
		lt_drop_locked(lt, b, prev, i);
		n++;
	}
	if (n > 0) {
		if ((rc = lt_settle_locked(lt, b, 0)) < 0)
			return rc;
		lt_recount_locked(lt, b);
	}
	return n;
}

/* --- save ---------------------------------------------------------- */

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

/* Absolute fields for rows loaded from storage. */
struct loctab_load {
	time_t		 ld_expires;
	time_t		 ld_last_modified;
};

static unsigned
lt_class_for(size_t bytes)
{
	unsigned c;

	for (c = 0; c < LOCTAB_NCLASSES; c++)
		if (bytes + sizeof(struct loctab_link) <= lt_class_block[c])
			return c + 1;
	return 0;
}

static int
lt_check_str(struct loctab_str s, unsigned max)
{
	if (s.ls_len > max)
		return LOCTAB_E_TOOLONG;
	if (s.ls_len > 0 && s.ls_ptr == NULL)
		return -EINVAL;
	return 0;
}

static int
lt_check_req(const struct loctab_save *req)
{
	const struct loctab_contact	*c;
	unsigned			 i;
	int				 rc;

	if (req->sv_aor.ls_len == 0)
		return LOCTAB_E_INVAL;
	if ((rc = lt_check_str(req->sv_aor, LOCTAB_AOR_MAX)) != 0 ||
	    (rc = lt_check_str(req->sv_callid, LOCTAB_CALLID_MAX)) != 0 ||
	    (rc = lt_check_str(req->sv_user_agent, LOCTAB_UA_MAX)) != 0 ||
	    (rc = lt_check_str(req->sv_socket, LOCTAB_SOCKET_MAX)) != 0)
		return rc;
	if (req->sv_ncontacts > LOCTAB_SAVE_MAX)
		return LOCTAB_E_BIG;
	if (req->sv_ncontacts > 0 && req->sv_contacts == NULL)
		return -EINVAL;
	if (req->sv_star && req->sv_ncontacts > 0)
		return LOCTAB_E_INVAL;
	for (i = 0; i < req->sv_ncontacts; i++) {
		c = &req->sv_contacts[i];
		if (c->lc_uri.ls_len == 0)
			return LOCTAB_E_INVAL;
		if ((rc = lt_check_str(c->lc_uri, LOCTAB_CONTACT_MAX)) != 0 ||
		    (rc = lt_check_str(c->lc_received,
		    LOCTAB_RECEIVED_MAX)) != 0 ||
		    (rc = lt_check_str(c->lc_path, LOCTAB_PATH_MAX)) != 0)
			return rc;
		if (c->lc_q < LOCTAB_Q_UNSET || c->lc_q > LOCTAB_Q_MAX ||
		    (c->lc_expires < 0 && c->lc_expires != LOCTAB_PERMANENT))
			return LOCTAB_E_INVAL;
	}
	return 0;
}

/* Whether contact i is repeated later in the request (the last wins). */
static int
lt_repeated(const struct loctab_save *req, unsigned i)
{
	const struct loctab_str	*u = &req->sv_contacts[i].lc_uri, *v;
	unsigned		 k;

	for (k = i + 1; k < req->sv_ncontacts; k++) {
		v = &req->sv_contacts[k].lc_uri;
		if (v->ls_len == u->ls_len &&
		    memcmp(v->ls_ptr, u->ls_ptr, u->ls_len) == 0)
			return 1;
	}
	return 0;
}

/*
 * Reserves the records and blocks of the plan (bucket lock held), or
 * returns LOCTAB_E_FULL having taken nothing. Inserts count against
 * the capacity; updates may use the spare records.
 */
static int
lt_reserve_locked(struct loctab *lt, unsigned b, struct loctab_plan *plan,
    unsigned n)
{
	uint32_t	 avail[LT_NPOOLS], used, nins = 0, nrec = 0;
	unsigned	 i, p;
	int		 rc;

	if ((rc = lt_free_lock(lt)) < 0)
		return rc;
	for (p = 0; p < LT_NPOOLS; p++)
		avail[p] = lt_pool_avail_locked(lt, p);
	for (i = 0; i < n; i++) {
		if (plan[i].pl_act == LT_ACT_INSERT)
			nins++;
		if (plan[i].pl_act == LT_ACT_INSERT ||
		    plan[i].pl_act == LT_ACT_UPDATE)
			nrec++;
	}
	used = lt->lt_pools[0].pl_count - avail[0];
	if (used + nins > lt->lt_capacity || nrec > avail[0])
		goto full;
	/* Dry run of the class choice, lending upwards. */
	for (i = 0; i < n; i++) {
		if (plan[i].pl_class == 0)
			continue;
		for (p = plan[i].pl_class; p < LT_NPOOLS && avail[p] == 0; p++)
			;
		if (p == LT_NPOOLS)
			goto full;
		avail[p]--;
		plan[i].pl_class = p;
	}
	for (i = 0; i < n; i++) {
		if (plan[i].pl_act != LT_ACT_INSERT &&
		    plan[i].pl_act != LT_ACT_UPDATE)
			continue;
		plan[i].pl_new = lt_take_locked(lt, b, 0);
		if (plan[i].pl_class != 0)
			plan[i].pl_blob = LT_ENT(plan[i].pl_class,
			    lt_take_locked(lt, b, plan[i].pl_class));
	}
	shm_lock_release(&lt->lt_free_lock);
	return 0;
full:
	shm_lock_release(&lt->lt_free_lock);
	return LOCTAB_E_FULL;
}

/* Fills the reserved record (and block) of one plan entry, off-list. */
static void
lt_fill(struct loctab *lt, const struct loctab_save *req,
    const struct loctab_contact *c, const struct loctab_plan *pl,
    uint32_t h, uint64_t stamp, const struct loctab_load *ld)
{
	struct loctab_rec	*r = lt_rec(lt, pl->pl_new);
	struct loctab_rec	*old = NULL;
	unsigned char		*d;
	unsigned		 s;

	if (pl->pl_old != LT_NIL)
		old = lt_rec(lt, pl->pl_old);
	r->rc_hash = h;
	r->rc_blob = pl->pl_blob;
	for (s = 0; s < LT_NSTR; s++)
		r->rc_len[s] = (uint8_t)pl->pl_len[s];
	if (pl->pl_class != 0) {
		d = lt_blob(lt, pl->pl_blob);
		for (s = 0; s < LT_NSTR; s++) {
			if (pl->pl_len[s] > 0)
				memcpy(d, pl->pl_str[s], pl->pl_len[s]);
			d += pl->pl_len[s];
		}
	}
	if (ld != NULL) {
		r->rc_expires = ld->ld_expires;
		r->rc_last_modified = ld->ld_last_modified;
	} else {
		r->rc_expires = c->lc_expires == LOCTAB_PERMANENT ? 0 :
		    (int64_t)req->sv_now + c->lc_expires;
		r->rc_last_modified = req->sv_now;
	}
	r->rc_cseq = req->sv_cseq;
	r->rc_flags = c->lc_flags;
	r->rc_cflags = c->lc_cflags;
	r->rc_methods = c->lc_methods;
	r->rc_q = (int16_t)c->lc_q;
	if (ld != NULL)
		r->rc_state = LOCTAB_CS_SYNC;
	else if (old == NULL || old->rc_state == LOCTAB_CS_NEW)
		r->rc_state = LOCTAB_CS_NEW;
	else
		r->rc_state = LOCTAB_CS_DIRTY;
	r->rc_stamp = stamp;
}

/*
 * Decides what to do with each contact; LOCTAB_E_CSEQ when one breaks
 * the CSeq rule (nothing decided then). *ret_ins and *ret_rm count the
 * inserts and removals planned.
 */
static int
lt_plan_locked(struct loctab *lt, const struct loctab_save *req,
    const struct loctab_group *g, struct loctab_plan *plan,
    unsigned *ret_ins, unsigned *ret_rm)
{
	const struct loctab_contact	*c;
	const struct loctab_rec		*old;
	struct loctab_plan		*pl;
	unsigned			 i, s, ins = 0, rm = 0;

	for (i = 0; i < req->sv_ncontacts; i++) {
		c = &req->sv_contacts[i];
		pl = &plan[i];
		memset(pl, 0, sizeof(*pl));
		pl->pl_act = LT_ACT_NONE;
		pl->pl_old = pl->pl_new = LT_NIL;
		if (lt_repeated(req, i))
			continue;
		pl->pl_old = lt_find_contact_locked(lt, g, c->lc_uri.ls_ptr,
		    c->lc_uri.ls_len, NULL);
		old = pl->pl_old == LT_NIL ? NULL : lt_rec(lt, pl->pl_old);
		if (old != NULL && !req->sv_force &&
		    lt_str_is(lt, old, LT_S_CALLID, req->sv_callid.ls_ptr,
		    req->sv_callid.ls_len)) {
			if (req->sv_cseq < old->rc_cseq)
				return LOCTAB_E_CSEQ;
			if (req->sv_cseq == old->rc_cseq) {
				if (old->rc_last_modified + LOCTAB_CSEQ_DELAY <=
				    (int64_t)req->sv_now)
					return LOCTAB_E_CSEQ;
				continue;	/* retransmission */
			}
		}
		if (c->lc_expires == 0) {
			if (old != NULL) {
				pl->pl_act = LT_ACT_REMOVE;
				rm++;
			}
			continue;
		}
		pl->pl_act = old == NULL ? LT_ACT_INSERT : LT_ACT_UPDATE;
		if (old == NULL)
			ins++;
		pl->pl_str[LT_S_AOR] = req->sv_aor.ls_ptr;
		pl->pl_len[LT_S_AOR] = req->sv_aor.ls_len;
		pl->pl_str[LT_S_CONTACT] = c->lc_uri.ls_ptr;
		pl->pl_len[LT_S_CONTACT] = c->lc_uri.ls_len;
		pl->pl_str[LT_S_CALLID] = req->sv_callid.ls_ptr;
		pl->pl_len[LT_S_CALLID] = req->sv_callid.ls_len;
		pl->pl_str[LT_S_UA] = req->sv_user_agent.ls_ptr;
		pl->pl_len[LT_S_UA] = req->sv_user_agent.ls_len;
		pl->pl_str[LT_S_SOCKET] = req->sv_socket.ls_ptr;
		pl->pl_len[LT_S_SOCKET] = req->sv_socket.ls_len;
		pl->pl_str[LT_S_RECEIVED] = c->lc_received.ls_ptr;
		pl->pl_len[LT_S_RECEIVED] = c->lc_received.ls_len;
		pl->pl_str[LT_S_PATH] = c->lc_path.ls_ptr;
		pl->pl_len[LT_S_PATH] = c->lc_path.ls_len;
		/* A refresh usually repeats every string: keep the block. */
		if (old != NULL) {
			for (s = 0; s < LT_NSTR; s++)
				if (!lt_str_is(lt, old, s, pl->pl_str[s],
				    pl->pl_len[s]))
					break;
			if (s == LT_NSTR) {
				pl->pl_class = 0;
				pl->pl_blob = old->rc_blob;
				continue;
			}
		}
		{
			size_t total = 0;

			for (s = 0; s < LT_NSTR; s++)
				total += pl->pl_len[s];
			pl->pl_class = lt_class_for(total);
		}
	}
	*ret_ins = ins;
	*ret_rm = rm;
	return 0;
}

/* Replaces pl_old by pl_new in the AoR's group (bucket lock held). */
static void
lt_replace_locked(struct loctab *lt, unsigned b, const struct loctab_group *g,
    const struct loctab_plan *pl)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	struct loctab_rec	*old = lt_rec(lt, pl->pl_old);
	struct loctab_rec	*r = lt_rec(lt, pl->pl_new);

	bk->bk_jold = pl->pl_old;
	bk->bk_jnew = pl->pl_new;
	LT_STEP("replace-mark");
	*lt_jent(lt, b, bk->bk_jn) = LT_ENT(0, pl->pl_old);
	*lt_jent(lt, b, bk->bk_jn + 1) = old->rc_blob;
	LT_STEP("replace-journal");
	bk->bk_jn += pl->pl_class != 0 ? 2 : 1;
	LT_STEP("replace-count");
	if (r->rc_q == old->rc_q) {
		/* Same place: right after the old copy. */
		r->rc_link.lk_next = old->rc_link.lk_next;
		LT_STEP("replace-next");
		old->rc_link.lk_next = pl->pl_new;
		LT_STEP("replace-publish");
	} else
		lt_link_locked(lt, b, g, pl->pl_new, pl->pl_old);
	lt_unlink_locked(lt, b, g->g_prev, pl->pl_old);
	LT_STEP("replace-unlink");
	bk->bk_jold = LT_NIL;
	bk->bk_jnew = LT_NIL;
}

/*
 * Removals of a save are journalled up front (the unlink is one store
 * later), so a crash between leaves them either linked or settled.
 */
static void
lt_journal_removals_locked(struct loctab *lt, unsigned b,
    const struct loctab_plan *plan, unsigned n)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	unsigned		 i;

	for (i = 0; i < n; i++) {
		if (plan[i].pl_act != LT_ACT_REMOVE)
			continue;
		*lt_jent(lt, b, bk->bk_jn) = LT_ENT(0, plan[i].pl_old);
		*lt_jent(lt, b, bk->bk_jn + 1) =
		    lt_rec(lt, plan[i].pl_old)->rc_blob;
		LT_STEP("remove-journal");
		bk->bk_jn += 2;
		LT_STEP("remove-count");
	}
}

/* Whether a member of the group has expired at now. */
static int
lt_group_expired(struct loctab *lt, const struct loctab_group *g, time_t now)
{
	const struct loctab_rec	*r;
	uint32_t		 i, k;

	for (k = 0, i = g->g_first; k < g->g_n; k++, i = r->rc_link.lk_next) {
		r = lt_rec(lt, i);
		if (!lt_valid(r, now))
			return 1;
	}
	return 0;
}

/*
 * Keeps g right after a change of the group that left it with n
 * members; idx is the record just linked, or LT_NIL. The record before
 * the group is never part of a change, so g_prev stays; an empty group
 * is looked up again (its tail may have moved).
 */
static void
lt_group_update(struct loctab *lt, unsigned b, const struct loctab_save *req,
    uint32_t h, struct loctab_group *g, uint32_t n, uint32_t idx)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];

	if (n == 0) {
		lt_find_locked(lt, b, h, req->sv_aor.ls_ptr,
		    req->sv_aor.ls_len, g);
		return;
	}
	if (g->g_n == 0)
		g->g_prev = g->g_tail;
	g->g_n = n;
	g->g_first = lt_next_of(lt, bk, g->g_prev);
	if (idx != LT_NIL && lt_rec(lt, idx)->rc_link.lk_next == LT_NIL)
		g->g_tail = idx;
}

static int
lt_save_locked(struct loctab *lt, unsigned b, uint32_t h,
    const struct loctab_save *req, const struct loctab_load *ld,
    struct loctab_binding *out, unsigned out_max, unsigned *ret_n)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	struct loctab_plan	 plan[LOCTAB_SAVE_MAX];
	struct loctab_group	 g;
	struct loctab_rm	 rm;
	uint64_t		 stamp = 0;
	uint32_t		 known;
	unsigned		 i, ins, nrm, n, had;
	int			 rc;

	lt_find_locked(lt, b, h, req->sv_aor.ls_ptr, req->sv_aor.ls_len, &g);
	/* Expired bindings are gone for the registrar: the timer's job. */
	if (req->sv_star || lt_group_expired(lt, &g, req->sv_now)) {
		memset(&rm, 0, sizeof(rm));
		rm.rm_what = req->sv_star ? LT_RM_AOR : LT_RM_AOR_EXPIRED;
		rm.rm_now = req->sv_now;
		rm.rm_hash = h;
		rm.rm_aor = req->sv_aor.ls_ptr;
		rm.rm_aor_len = req->sv_aor.ls_len;
		if ((rc = lt_remove_locked(lt, b, &rm)) < 0)
			return rc;
		if (req->sv_star) {
			*ret_n = 0;
			return 0;
		}
		lt_find_locked(lt, b, h, req->sv_aor.ls_ptr,
		    req->sv_aor.ls_len, &g);
	}
	if ((rc = lt_plan_locked(lt, req, &g, plan, &ins, &nrm)) != 0)
		return rc;
	n = g.g_n - nrm + ins;
	if (ins > 0 && req->sv_max_per_aor != 0 && n > req->sv_max_per_aor) {
		*ret_n = lt_copy_group(lt, b, &g, 0, 0, out, out_max);
		return LOCTAB_E_TOO_MANY;
	}
	for (i = 0; i < req->sv_ncontacts; i++)
		if (plan[i].pl_act == LT_ACT_INSERT ||
		    plan[i].pl_act == LT_ACT_UPDATE)
			break;
	if (i < req->sv_ncontacts &&
	    (rc = lt_reserve_locked(lt, b, plan, req->sv_ncontacts)) != 0)
		return rc;
	/* Entries below are reserved and will all be linked. */
	known = bk->bk_jn;
	lt_journal_removals_locked(lt, b, plan, req->sv_ncontacts);

	for (i = 0; i < req->sv_ncontacts; i++) {
		if (plan[i].pl_act == LT_ACT_NONE)
			continue;
		if (ld == NULL && stamp == 0)
			stamp = atomic_fetch_add(&lt->lt_changes, 1) + 1;
		if (plan[i].pl_act != LT_ACT_REMOVE)
			lt_fill(lt, req, &req->sv_contacts[i], &plan[i], h,
			    stamp, ld);
	}
	had = g.g_n;
	for (i = 0; i < req->sv_ncontacts; i++) {
		switch (plan[i].pl_act) {
		case LT_ACT_NONE:
			break;
		case LT_ACT_INSERT:
			lt_link_locked(lt, b, &g, plan[i].pl_new, LT_NIL);
			lt_group_update(lt, b, req, h, &g, g.g_n + 1,
			    plan[i].pl_new);
			break;
		case LT_ACT_UPDATE:
			lt_replace_locked(lt, b, &g, &plan[i]);
			lt_group_update(lt, b, req, h, &g, g.g_n,
			    plan[i].pl_new);
			break;
		case LT_ACT_REMOVE:
			/* Journalled before the loop. */
			lt_unlink_locked(lt, b, g.g_prev, plan[i].pl_old);
			LT_STEP("remove-unlink");
			lt_group_update(lt, b, req, h, &g, g.g_n - 1, LT_NIL);
			break;
		}
	}
	if ((rc = lt_settle_locked(lt, b, known)) < 0)
		return rc;
	atomic_store_explicit(&bk->bk_nbind, atomic_load_explicit(
	    &bk->bk_nbind, memory_order_relaxed) + ins - nrm,
	    memory_order_relaxed);
	if ((had == 0) != (g.g_n == 0))
		atomic_store_explicit(&bk->bk_naors, atomic_load_explicit(
		    &bk->bk_naors, memory_order_relaxed) +
		    (g.g_n == 0 ? -1U : 1U), memory_order_relaxed);
	*ret_n = lt_copy_group(lt, b, &g, 0, 0, out, out_max);
	return 0;
}

static int
lt_save(struct loctab *lt, const struct loctab_save *req,
    const struct loctab_load *ld, struct loctab_binding *out,
    unsigned out_max, unsigned *ret_n)
{
	unsigned	 b, n = 0;
	uint32_t	 h;
	int		 rc;

	if ((rc = lt_check_req(req)) != 0)
		return rc;
	h = lt_hash(req->sv_aor.ls_ptr, req->sv_aor.ls_len);
	b = lt_bucket_of_hash(lt, h);
	if ((rc = lt_lock(lt, b)) < 0)
		return rc;
	rc = lt_save_locked(lt, b, h, req, ld, out, out_max, &n);
	lt_unlock(lt, b);
	if ((rc == 0 || rc == LOCTAB_E_TOO_MANY) && ret_n != NULL)
		*ret_n = n;
	return rc;
}

int
loctab_save(struct loctab *lt, const struct loctab_save *req,
    struct loctab_binding *out, unsigned out_max, unsigned *ret_n)
{
	return lt_save(lt, req, NULL, out, out_max, ret_n);
}

int
loctab_add(struct loctab *lt, struct loctab_str aor,
    struct loctab_str contact, long expires, int q, time_t now)
{
	struct loctab_contact	 c;
	struct loctab_save	 req;

	if (expires < 0)
		return LOCTAB_E_INVAL;
	memset(&c, 0, sizeof(c));
	c.lc_uri = contact;
	c.lc_expires = expires == 0 ? LOCTAB_PERMANENT : expires;
	c.lc_q = q;
	c.lc_methods = LOCTAB_METHODS_ALL;
	memset(&req, 0, sizeof(req));
	req.sv_aor = aor;
	req.sv_callid.ls_ptr = LOCTAB_MI_CALLID;
	req.sv_callid.ls_len = sizeof(LOCTAB_MI_CALLID) - 1;
	req.sv_user_agent.ls_ptr = LOCTAB_MI_UA;
	req.sv_user_agent.ls_len = sizeof(LOCTAB_MI_UA) - 1;
	req.sv_now = now;
	req.sv_cseq = LOCTAB_MI_CSEQ;
	req.sv_force = 1;
	req.sv_contacts = &c;
	req.sv_ncontacts = 1;
	return lt_save(lt, &req, NULL, NULL, 0, NULL);
}

int
loctab_insert_loaded(struct loctab *lt, const struct store_location *row,
    time_t now)
{
	char			 aor[LOCTAB_AOR_MAX + 1];
	struct loctab_contact	 c;
	struct loctab_save	 req;
	struct loctab_load	 ld;
	size_t			 ulen, dlen;

	if (row->sl_expires != 0 && row->sl_expires <= now)
		return LOCTAB_E_EXPIRED;
	ulen = row->sl_username.ss_len;
	dlen = row->sl_domain.ss_ptr != NULL ? row->sl_domain.ss_len : 0;
	if (ulen > LOCTAB_AOR_MAX ||
	    (dlen > 0 && ulen + 1 + dlen > LOCTAB_AOR_MAX))
		return LOCTAB_E_TOOLONG;
	if (ulen > 0)
		memcpy(aor, row->sl_username.ss_ptr, ulen);
	if (dlen > 0) {
		aor[ulen] = '@';
		memcpy(aor + ulen + 1, row->sl_domain.ss_ptr, dlen);
		ulen += 1 + dlen;
	}

	memset(&c, 0, sizeof(c));
	c.lc_uri.ls_ptr = row->sl_contact.ss_ptr;
	c.lc_uri.ls_len = row->sl_contact.ss_len;
	c.lc_received.ls_ptr = row->sl_received.ss_ptr;
	c.lc_received.ls_len = row->sl_received.ss_len;
	c.lc_path.ls_ptr = row->sl_path.ss_ptr;
	c.lc_path.ls_len = row->sl_path.ss_len;
	c.lc_expires = LOCTAB_PERMANENT;	/* ld overrides */
	if (row->sl_q < 0)
		c.lc_q = LOCTAB_Q_UNSET;
	else if (row->sl_q >= 1)
		c.lc_q = LOCTAB_Q_MAX;
	else
		c.lc_q = (int)(row->sl_q * 1000 + 0.5);
	c.lc_methods = row->sl_methods;
	c.lc_flags = row->sl_flags;
	c.lc_cflags = row->sl_cflags;

	memset(&req, 0, sizeof(req));
	req.sv_aor.ls_ptr = aor;
	req.sv_aor.ls_len = ulen;
	req.sv_callid.ls_ptr = row->sl_callid.ss_ptr;
	req.sv_callid.ls_len = row->sl_callid.ss_len;
	req.sv_user_agent.ls_ptr = row->sl_user_agent.ss_ptr;
	req.sv_user_agent.ls_len = row->sl_user_agent.ss_len;
	req.sv_socket.ls_ptr = row->sl_socket.ss_ptr;
	req.sv_socket.ls_len = row->sl_socket.ss_len;
	req.sv_now = now;
	req.sv_cseq = row->sl_cseq;
	req.sv_force = 1;
	req.sv_contacts = &c;
	req.sv_ncontacts = 1;
	ld.ld_expires = row->sl_expires;
	ld.ld_last_modified = row->sl_last_modified;
	return lt_save(lt, &req, &ld, NULL, 0, NULL);
}

/* --- lookups, removals, scans -------------------------------------- */

int
loctab_lookup(struct loctab *lt, struct loctab_str aor, time_t now,
    struct loctab_binding *out, unsigned out_max, unsigned *ret_n)
{
	struct loctab_group	 g;
	unsigned		 b, n;
	uint32_t		 h;
	int			 rc;

	if (aor.ls_len == 0 || aor.ls_len > LOCTAB_AOR_MAX)
		return LOCTAB_E_NOTFOUND;
	if (aor.ls_ptr == NULL)
		return -EINVAL;
	h = lt_hash(aor.ls_ptr, aor.ls_len);
	b = lt_bucket_of_hash(lt, h);
	if ((rc = lt_lock(lt, b)) < 0)
		return rc;
	lt_find_locked(lt, b, h, aor.ls_ptr, aor.ls_len, &g);
	n = lt_copy_group(lt, b, &g, 1, now, out, out_max);
	lt_unlock(lt, b);
	if (n == 0)
		return LOCTAB_E_NOTFOUND;
	*ret_n = n;
	return 0;
}

static int
lt_remove(struct loctab *lt, struct loctab_rm *rm)
{
	unsigned b;
	int	 rc;

	if (rm->rm_aor_len == 0 || rm->rm_aor_len > LOCTAB_AOR_MAX)
		return LOCTAB_E_NOTFOUND;
	if (rm->rm_aor == NULL)
		return -EINVAL;
	rm->rm_hash = lt_hash(rm->rm_aor, rm->rm_aor_len);
	b = lt_bucket_of_hash(lt, rm->rm_hash);
	if ((rc = lt_lock(lt, b)) < 0)
		return rc;
	rc = lt_remove_locked(lt, b, rm);
	lt_unlock(lt, b);
	if (rc < 0)
		return rc;
	return rc == 0 ? LOCTAB_E_NOTFOUND : 0;
}

int
loctab_rm_aor(struct loctab *lt, struct loctab_str aor)
{
	struct loctab_rm rm;

	memset(&rm, 0, sizeof(rm));
	rm.rm_what = LT_RM_AOR;
	rm.rm_aor = aor.ls_ptr;
	rm.rm_aor_len = aor.ls_len;
	return lt_remove(lt, &rm);
}

int
loctab_rm_contact(struct loctab *lt, struct loctab_str aor,
    struct loctab_str contact)
{
	struct loctab_rm rm;

	if (contact.ls_len > 0 && contact.ls_ptr == NULL)
		return -EINVAL;
	memset(&rm, 0, sizeof(rm));
	rm.rm_what = LT_RM_CONTACT;
	rm.rm_aor = aor.ls_ptr;
	rm.rm_aor_len = aor.ls_len;
	rm.rm_contact = contact.ls_ptr;
	rm.rm_contact_len = contact.ls_len;
	return lt_remove(lt, &rm);
}

unsigned
loctab_expire(struct loctab *lt, time_t now)
{
	struct loctab_rm rm;
	unsigned	 b, total = 0;
	int		 rc;

	memset(&rm, 0, sizeof(rm));
	rm.rm_what = LT_RM_EXPIRED;
	rm.rm_now = now;
	for (b = 0; b < lt->lt_hash_size; b++) {
		/* A binding missed here is caught on the next tick. */
		if (atomic_load_explicit(&lt->lt_buckets[b].bk_nbind,
		    memory_order_relaxed) == 0)
			continue;
		if (lt_lock(lt, b) < 0)
			continue;
		rc = lt_remove_locked(lt, b, &rm);
		lt_unlock(lt, b);
		if (rc > 0)
			total += (unsigned)rc;
	}
	atomic_fetch_add(&lt->lt_expired, total);
	return total;
}

int
loctab_copy_bucket(struct loctab *lt, unsigned bucket,
    struct loctab_binding *out, unsigned out_max, unsigned *ret_n)
{
	struct loctab_bucket	*bk;
	uint32_t		 i, n;
	int			 rc;

	if (bucket >= lt->lt_hash_size)
		return -EINVAL;
	bk = &lt->lt_buckets[bucket];
	if ((rc = lt_lock(lt, bucket)) < 0)
		return rc;
	n = atomic_load_explicit(&bk->bk_nbind, memory_order_relaxed);
	if (n <= out_max) {
		n = 0;
		for (i = bk->bk_first; i != LT_NIL;
		    i = lt_rec(lt, i)->rc_link.lk_next)
			lt_copy_out(lt, bucket, i, &out[n++]);
	}
	lt_unlock(lt, bucket);
	*ret_n = n;
	return n > out_max ? LOCTAB_E_SPACE : 0;
}

int
loctab_visit(struct loctab *lt, loctab_visit_fn *fn, void *arg,
    struct loctab_binding **buf, unsigned *buf_max)
{
	struct loctab_binding	*nb;
	unsigned		 b, n, want;
	int			 rc;

	for (b = 0; b < lt->lt_hash_size; b++) {
		while ((rc = loctab_copy_bucket(lt, b, *buf, *buf_max,
		    &n)) == LOCTAB_E_SPACE) {
			want = n + n / 4 + 16;
			nb = realloc(*buf, (size_t)want * sizeof(**buf));
			if (nb == NULL)
				return -ENOMEM;
			*buf = nb;
			*buf_max = want;
		}
		if (rc < 0)
			return rc;
		if (n > 0 && (rc = fn(arg, b, *buf, n)) != 0)
			return rc;
	}
	return 0;
}

uint64_t
loctab_changes(const struct loctab *lt)
{
	return atomic_load(&((struct loctab *)(uintptr_t)lt)->lt_changes);
}

unsigned
loctab_mark_synced(struct loctab *lt, uint64_t snapshot)
{
	struct loctab_rec	*r;
	unsigned		 b, n = 0;
	uint32_t		 i;

	for (b = 0; b < lt->lt_hash_size; b++) {
		if (lt_lock(lt, b) < 0)
			continue;
		for (i = lt->lt_buckets[b].bk_first; i != LT_NIL;
		    i = r->rc_link.lk_next) {
			r = lt_rec(lt, i);
			if (r->rc_state != LOCTAB_CS_SYNC &&
			    r->rc_stamp <= snapshot) {
				r->rc_state = LOCTAB_CS_SYNC;
				n++;
			}
		}
		lt_unlock(lt, b);
	}
	return n;
}

/* --- statistics and checks ----------------------------------------- */

void
loctab_stats(struct loctab *lt, struct loctab_stats *ret)
{
	struct loctab_bucket	*bk;
	struct loctab_pool	*pl;
	struct loctab_pool_stats *ps;
	unsigned		 b, p, naors;

	memset(ret, 0, sizeof(*ret));
	ret->st_hash_size = lt->lt_hash_size;
	ret->st_capacity = lt->lt_capacity;
	for (b = 0; b < lt->lt_hash_size; b++) {
		bk = &lt->lt_buckets[b];
		naors = atomic_load_explicit(&bk->bk_naors,
		    memory_order_relaxed);
		ret->st_records += naors;
		if (naors > ret->st_max_slots)
			ret->st_max_slots = naors;
		ret->st_bindings += atomic_load_explicit(&bk->bk_nbind,
		    memory_order_relaxed);
		ret->st_recoveries += shm_lock_recoveries(&bk->bk_lock);
	}
	ret->st_changes = loctab_changes(lt);
	ret->st_expired = atomic_load(&lt->lt_expired);
	if (lt_free_lock(lt) < 0)
		return;
	for (p = 0; p < LT_NPOOLS; p++) {
		pl = &lt->lt_pools[p];
		ps = p == 0 ? &ret->st_rec_pool : &ret->st_classes[p - 1];
		ps->ps_block = pl->pl_block;
		ps->ps_count = pl->pl_count;
		ps->ps_used = pl->pl_bump - pl->pl_nfree;
		ps->ps_touched = pl->pl_bump;
	}
	shm_lock_release(&lt->lt_free_lock);
}

/* Checks bucket b (locked); adds its blocks per pool to used[]. */
static int
lt_check_bucket_locked(struct loctab *lt, unsigned b, uint32_t *used)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	struct loctab_rec	*r, *prev = NULL, *s;
	uint32_t		 i, k, naors = 0, n = 0;
	size_t			 total;
	unsigned		 p, t;

	if (bk->bk_jn != 0 || bk->bk_jold != LT_NIL || bk->bk_jnew != LT_NIL)
		return -1;
	for (i = bk->bk_first; i != LT_NIL; i = r->rc_link.lk_next) {
		if (i >= lt->lt_pools[0].pl_count ||
		    n++ > lt->lt_pools[0].pl_count)
			return -1;
		r = lt_rec(lt, i);
		if (r->rc_link.lk_owner != b + 1 || !lt_ent_ok(lt, r->rc_blob))
			return -1;
		p = LT_ENT_POOL(r->rc_blob);
		if (p == 0 ||
		    lt_link(lt, p, LT_ENT_IDX(r->rc_blob))->lk_owner != b + 1)
			return -1;
		for (total = 0, t = 0; t < LT_NSTR; t++) {
			if (r->rc_len[t] > lt_str_max[t])
				return -1;
			total += r->rc_len[t];
		}
		if (r->rc_len[LT_S_AOR] == 0 || r->rc_len[LT_S_CONTACT] == 0 ||
		    total + sizeof(struct loctab_link) >
		    lt->lt_pools[p].pl_block ||
		    r->rc_hash != lt_hash((char *)lt_blob(lt, r->rc_blob),
		    r->rc_len[LT_S_AOR]) ||
		    lt_bucket_of_hash(lt, r->rc_hash) != b ||
		    r->rc_state > LOCTAB_CS_SYNC)
			return -1;
		if (prev == NULL || !lt_same_aor(lt, prev, r)) {
			/* A new group: its AoR was not seen before. */
			naors++;
			for (k = bk->bk_first; lt_rec(lt, k) != r;
			    k = s->rc_link.lk_next) {
				s = lt_rec(lt, k);
				if (lt_same_aor(lt, s, r))
					return -1;
			}
		} else if (prev->rc_q < r->rc_q)
			return -1;
		used[0]++;
		used[p]++;
		prev = r;
	}
	if (naors != atomic_load(&bk->bk_naors) ||
	    n != atomic_load(&bk->bk_nbind))
		return -1;
	return 0;
}

int
loctab_check(struct loctab *lt)
{
	struct loctab_pool	*pl;
	uint32_t		 used[LT_NPOOLS], i, n;
	unsigned		 b, p;
	int			 bad = 0;

	if (lt->lt_magic != LT_MAGIC || lt->lt_version != LT_VERSION)
		return -EBADMSG;
	memset(used, 0, sizeof(used));
	for (b = 0; b < lt->lt_hash_size && !bad; b++) {
		if (lt_lock(lt, b) < 0)
			return -EBADMSG;
		bad = lt_check_bucket_locked(lt, b, used) != 0;
		lt_unlock(lt, b);
	}
	if (bad || lt_free_lock(lt) < 0)
		return -EBADMSG;
	for (p = 0; p < LT_NPOOLS && !bad; p++) {
		pl = &lt->lt_pools[p];
		n = 0;
		for (i = pl->pl_free; i != LT_NIL && !bad;
		    i = lt_link(lt, p, i)->lk_next) {
			if (i >= pl->pl_bump || n++ > pl->pl_count ||
			    lt_link(lt, p, i)->lk_owner != 0)
				bad = 1;
		}
		if (!bad && (n != pl->pl_nfree ||
		    pl->pl_bump - pl->pl_nfree != used[p]))
			bad = 1;
	}
	shm_lock_release(&lt->lt_free_lock);
	return bad ? -EBADMSG : 0;
}
