/*
 * loctab_pool.c: the fixed-block pools of the location table: pool 0
 * holds the binding records, pools 1.. the string blocks of each size
 * class. Blocks are handed out from a bump index, then recycled through
 * a free list (both under the free lock); every block taken is first
 * written to the taking bucket's journal, so that a crash cannot leak
 * it (loctab_repair.c gives it back). A class that ran out lends from
 * the next bigger one.
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
 * can hold (1/div): small classes can hold every binding, big ones a
 * fraction. A class that ran out lends from the next bigger one.
 */
static const unsigned lt_class_block[LOCTAB_NCLASSES] = {
	96, 128, 160, 192, 256, 320, 384, 512, 768, 1024, 1536
};
static const unsigned lt_class_div[LOCTAB_NCLASSES] = {
	1, 1, 1, 1, 1, 2, 2, 4, 8, 16, 16
};

/* --- sizing -------------------------------------------------------- */

uint32_t
lt_pool_count(unsigned p, unsigned cap)
{
	uint32_t n;

	if (p == 0)
		return cap + LT_SPARE;
	n = cap / lt_class_div[p - 1];
	return n < LT_CLASS_MIN ? LT_CLASS_MIN : n;
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
void
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
 * Reserves the records and blocks of the plan (bucket lock held), or
 * returns LOCTAB_E_FULL having taken nothing. Inserts count against
 * the capacity; updates may use the spare records.
 */
int
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
