/*
 * loctab_pool.c: the fixed-block pools of the location table: pool 0
 * holds the binding records, pools 1.. the string blocks of each size
 * class. Blocks are handed out from a bump index, then recycled through
 * a free list (both under the free lock); every block taken is first
 * written to the taking bucket's journal, so that a crash cannot leak
 * it (loctab_repair.c gives it back). A class that ran out lends from
 * the next bigger one.
 *
 * Room for updates. A change is copy-on-write: an update takes a new
 * record (and block, unless its strings are unchanged) before the old
 * ones are freed at the end of the change. So the table is full when
 * its BINDINGS reach max_contacts, not when its blocks run out:
 *   - every bucket is charged for its bindings plus the inserts of a
 *     change in flight (bk_charged, their sum lt_charged); an insert
 *     that would take the charge past max_contacts is LOCTAB_E_FULL,
 *     and nothing else is (updates, refreshes, and a REGISTER that
 *     removes as many bindings as it adds, never grow the charge);
 *   - every pool holds lt_reserve blocks more than its share of
 *     max_contacts, for the copies of changes in flight: at most
 *     min(hash_size, LT_WRITERS) changes (one per bucket lock held)
 *     of at most LOCTAB_SAVE_MAX contacts each. With the charge capped,
 *     the records in use are at most max_contacts + lt_reserve, and so
 *     are the string blocks in use over all pools, which is what the
 *     pools that can hold every binding (1/div = 1) are sized for: a
 *     string of up to 256 bytes always finds a block;
 *   - the big classes hold a fraction of max_contacts, which inserts
 *     and bindings moving up into them may fill, but not their last
 *     lt_reserve blocks: those go only to an update whose old block
 *     is in that pool, and which gives it back at the end. So a
 *     binding whose strings stay in its pool is never refused either.
 * Only a binding that grows into a big class that is full, or more
 * changes in flight than the reserve is sized for (a crashed worker's
 * bucket keeps its copies until the bucket is next locked), can still
 * run out of blocks: that is LOCTAB_E_FULL with nothing changed.
 *
 * Runs in every process that changes the table: workers (REGISTER) and
 * the master (start-up load, MI ul.add, expiry); the master sizes the
 * pools before fork.
 */
#include <stddef.h>
#include <stdint.h>

#include "loctab.h"
#include "loctab_int.h"
#include "shm_lock.h"

/*
 * Block sizes of the string classes, and the share of max_contacts each
 * can hold (1/div): small classes can hold every binding, middle ones a
 * fraction. A class that ran out lends from the next bigger one, and
 * the last one, whose block holds a binding with every string at its
 * limit (LT_BLOB_MAX), can hold every binding: so max_contacts bindings
 * always fit, whatever their lengths (issue 10: 250 long ones once
 * filled a table of 2000). Its pages cost memory only when used.
 */
static const unsigned lt_class_block[LOCTAB_NCLASSES] = {
	96, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 1536, 2048
};
static const unsigned lt_class_div[LOCTAB_NCLASSES] = {
	1, 1, 1, 1, 1, 2, 2, 4, 8, 16, 16, 1
};
_Static_assert(LT_BLOB_MAX + sizeof(struct loctab_link) <= 2048,
    "the last class holds a binding at every limit");

/* --- sizing -------------------------------------------------------- */

/* Blocks each pool holds beyond its share, for the changes in flight. */
uint32_t
lt_reserve_for(unsigned hash_size)
{
	return (hash_size < LT_WRITERS ? hash_size : LT_WRITERS) *
	    LOCTAB_SAVE_MAX;
}

uint32_t
lt_pool_count(unsigned p, unsigned cap, uint32_t reserve)
{
	uint32_t n;

	if (p == 0)
		return cap + reserve;
	n = cap / lt_class_div[p - 1];
	return (n < LT_CLASS_MIN ? LT_CLASS_MIN : n) + reserve;
}

size_t
lt_pool_block(unsigned p)
{
	return p == 0 ? sizeof(struct loctab_rec) : lt_class_block[p - 1];
}

/* --- take and put (free lock) -------------------------------------- */

static uint32_t
lt_pool_avail_locked(struct loctab *lt, unsigned p)
{
	struct loctab_pool *pl = &lt->lt_pools[p];

	LT_ASSERT_FREE(lt);
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

	LT_ASSERT_FREE(lt);
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
void
lt_put_locked(struct loctab *lt, unsigned p, uint32_t idx)
{
	struct loctab_pool	*pl = &lt->lt_pools[p];
	struct loctab_link	*lk = lt_link(lt, p, idx);

	LT_ASSERT_FREE(lt);
	lk->lk_next = pl->pl_free;
	LT_STEP("put-next");
	pl->pl_free = idx;
	LT_STEP("put-push");
	lk->lk_owner = 0;
	LT_STEP("put-disown");
	pl->pl_nfree++;
}

/* --- class choice and reservation ---------------------------------- */

unsigned
lt_class_for(size_t bytes)
{
	unsigned c;

	for (c = 0; c < LOCTAB_NCLASSES; c++)
		if (bytes + sizeof(struct loctab_link) <= lt_class_block[c])
			return c + 1;
	return 0;
}

/*
 * Blocks of pool p that only the updates of bindings whose old block
 * is in p may take (see the top of the file).
 */
static uint32_t
lt_floor(const struct loctab *lt, unsigned p)
{
	return p == 0 || lt_class_div[p - 1] == 1 ? 0 : lt->lt_reserve;
}

/*
 * Reserves the records and blocks of the plan (bucket lock held), or
 * returns LOCTAB_E_FULL having taken nothing. Only a plan that adds
 * more bindings than it removes counts against the capacity; then the
 * bucket is charged for its inserts, after the takes, so that a crash
 * leaves a journal whose settling sets the charge right again.
 */
int
lt_reserve_locked(struct loctab *lt, unsigned b, struct loctab_plan *plan,
    unsigned n)
{
	struct loctab_bucket *bk = &lt->lt_buckets[b];
	uint32_t	 avail[LT_NPOOLS], nins = 0, nrm = 0, nrec = 0;
	unsigned	 i, p, q;
	int		 rc;

	LT_ASSERT_BUCKET(lt, b);
	if ((rc = lt_free_lock(lt)) < 0)
		return rc;
	for (p = 0; p < LT_NPOOLS; p++)
		avail[p] = lt_pool_avail_locked(lt, p);
	for (i = 0; i < n; i++) {
		if (plan[i].pl_act == LT_ACT_INSERT)
			nins++;
		if (plan[i].pl_act == LT_ACT_REMOVE)
			nrm++;
		if (plan[i].pl_act == LT_ACT_INSERT ||
		    plan[i].pl_act == LT_ACT_UPDATE)
			nrec++;
	}
	if (nins > nrm && lt->lt_charged + (nins - nrm) > lt->lt_capacity)
		goto full;
	if (nrec > avail[0])
		goto full;		/* more in flight than reserved */
	/*
	 * Dry run of the class choice, lending upwards and keeping the
	 * floors; an update may then use its old block's pool in full.
	 */
	for (i = 0; i < n; i++) {
		if (plan[i].pl_class == 0)
			continue;
		for (p = plan[i].pl_class; p < LT_NPOOLS &&
		    avail[p] <= lt_floor(lt, p); p++)
			;
		if (p == LT_NPOOLS && plan[i].pl_act == LT_ACT_UPDATE) {
			q = LT_ENT_POOL(lt_rec(lt, plan[i].pl_old)->rc_blob);
			if (q >= plan[i].pl_class && q < LT_NPOOLS &&
			    avail[q] > 0)
				p = q;
		}
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
	if (nins > 0) {
		bk->bk_charged += nins;
		LT_STEP("reserve-charge");
		lt->lt_charged += nins;
	}
	shm_lock_release(&lt->lt_free_lock);
	return 0;
full:
	shm_lock_release(&lt->lt_free_lock);
	return LOCTAB_E_FULL;
}

/*
 * After a change, its journal settled (both locks held): the bucket is
 * charged for the bindings it has.
 */
void
lt_charge_settled_locked(struct loctab *lt, unsigned b)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	uint32_t		 n;

	LT_ASSERT_BUCKET(lt, b);
	n = atomic_load_explicit(&bk->bk_nbind, memory_order_relaxed);
	if (bk->bk_charged == n)
		return;
	lt->lt_charged += n - bk->bk_charged;	/* modulo 2^32 */
	LT_STEP("charge-total");
	bk->bk_charged = n;
}
