/*
 * loctab_repair.c: locking the location table, and repairing it after
 * a process died holding a lock. A bucket's repair finishes a half-done
 * replacement and recounts; the free lock's repair pops owned heads,
 * recounts the free lists and sums the buckets' charges. Every lock of
 * a bucket then settles its journal: blocks the bucket took or meant to
 * free but no longer reaches go back to their pools, and the bucket is
 * charged for the bindings it has. See loctab.c for the design.
 *
 * Runs in every process that takes a table lock, workers and master;
 * a repair runs in whichever process next takes the lock a dead one
 * held.
 */
#include <stddef.h>
#include <stdint.h>

#include "loctab.h"
#include "loctab_int.h"
#include "shm_lock.h"

/* What a bucket's repair hook needs; on the stack of the locker. */
struct loctab_ctx {
	struct loctab	*c_lt;
	unsigned	 c_b;
};

/* --- the free lock ------------------------------------------------- */

/*
 * Free lock repair: a dead holder may have stopped inside a take (the
 * head is owned but still on the list, or the bump block is owned but
 * not passed) or a put (the head is pushed but still owned). Owned
 * blocks are only ever at the head or at the bump index, so popping
 * owned heads and advancing the bump restores the lists; the owning
 * bucket's journal gives such blocks back later if they are unused.
 * The total charge is summed again from the buckets' (a holder may have
 * died between the two stores of a charge); that reads every bucket,
 * but only once per death.
 */
static void
lt_pools_repair(void *arg)
{
	struct loctab		*lt = arg;
	struct loctab_pool	*pl;
	uint32_t		 i, n;
	unsigned		 p, b;

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
	n = 0;
	for (b = 0; b < lt->lt_hash_size; b++)
		n += lt->lt_buckets[b].bk_charged;
	lt->lt_charged = n;
}

int
lt_free_lock(struct loctab *lt)
{
	int	 rc;

	rc = shm_lock_acquire(&lt->lt_free_lock, lt_pools_repair, lt);
	return rc < 0 ? rc : 0;
}

/* --- bucket locks -------------------------------------------------- */

/* Whether the block named by e is in, or used by a record in, b's list. */
static int
lt_reachable_locked(struct loctab *lt, unsigned b, uint32_t e)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	uint32_t		 i, steps = 0;

	LT_ASSERT_BUCKET(lt, b);
	for (i = bk->bk_first; i != LT_NIL && steps <= lt->lt_pools[0].pl_count;
	    i = lt_rec(lt, i)->rc_link.lk_next, steps++) {
		if (LT_ENT_POOL(e) == 0 ? i == LT_ENT_IDX(e) :
		    lt_rec(lt, i)->rc_blob == e)
			return 1;
	}
	return 0;
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
	/* Which AoRs the dead writer touched is not known: all of them. */
	bk->bk_ngone = LT_GONE_ALL;
	lt_recount_locked(lt, ctx->c_b);
}

/*
 * Gives back every journalled block that bucket b owns but no longer
 * reaches, charges the bucket for its bk_nbind bindings, then empties
 * the journal. Takes the free lock. After a crash (known == LT_UNKNOWN)
 * the bucket is recounted and each entry is checked by walking the
 * list; an operation that completed says instead that its first known
 * entries are linked and the others unlinked, which spares the walks,
 * and has counted its bindings.
 */
#define LT_UNKNOWN	UINT32_MAX

int
lt_settle_locked(struct loctab *lt, unsigned b, uint32_t known)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	uint32_t		 i, e;
	int			 rc;

	LT_ASSERT_BUCKET(lt, b);
	if (known == LT_UNKNOWN)
		lt_recount_locked(lt, b);
	if (bk->bk_jn == 0 && bk->bk_charged == atomic_load_explicit(
	    &bk->bk_nbind, memory_order_relaxed))
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
	lt_charge_settled_locked(lt, b);
	shm_lock_release(&lt->lt_free_lock);
	LT_STEP("settle-done");
	bk->bk_jn = 0;
	return 0;
}

int
lt_lock(struct loctab *lt, unsigned b)
{
	struct loctab_ctx	 ctx = { lt, b };
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	int			 rc;

	rc = shm_lock_acquire(&bk->bk_lock, lt_bucket_repair, &ctx);
	if (rc < 0)
		return rc;
	/* Left unsettled, or uncharged, by a process that died. */
	if ((bk->bk_jn != 0 || bk->bk_charged != atomic_load_explicit(
	    &bk->bk_nbind, memory_order_relaxed)) &&
	    (rc = lt_settle_locked(lt, b, LT_UNKNOWN)) < 0) {
		shm_lock_release(&bk->bk_lock);
		return rc;
	}
	return 0;
}

void
lt_unlock(struct loctab *lt, unsigned b)
{
	shm_lock_release(&lt->lt_buckets[b].bk_lock);
}
