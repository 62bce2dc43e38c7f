/*
 * loctab_list.c: the bucket lists of the location table. Each bucket
 * is a singly linked list of records; an AoR's bindings are adjacent
 * (a group), highest q first. Every change here is a few stores, each
 * leaving the list well formed (see the crash-safety notes in
 * loctab.c); the caller holds the bucket lock.
 *
 * Runs under a bucket lock in every process: workers (REGISTER,
 * lookups) and the master (load, MI, expiry, dumps, repair).
 */
#include <stddef.h>
#include <stdint.h>

#include "loctab.h"
#include "loctab_int.h"

/*
 * Recounts AoRs and records and makes the earliest expiry exact; the
 * repair, every removal and an expiry pass that found a stale earliest
 * expiry end with it.
 */
void
lt_recount_locked(struct loctab *lt, unsigned b)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	struct loctab_rec	*r, *last = NULL;
	uint32_t		 i, naors = 0, n = 0;
	int64_t			 next = LT_NEVER;

	LT_ASSERT_BUCKET(lt, b);
	for (i = bk->bk_first; i != LT_NIL && n <= lt->lt_pools[0].pl_count;
	    i = r->rc_link.lk_next) {
		r = lt_rec(lt, i);
		if (last == NULL || !lt_same_aor(lt, last, r))
			naors++;
		if (r->rc_expires != 0 && r->rc_expires < next)
			next = r->rc_expires;
		last = r;
		n++;
	}
	atomic_store_explicit(&bk->bk_naors, naors, memory_order_relaxed);
	atomic_store_explicit(&bk->bk_nbind, n, memory_order_relaxed);
	atomic_store_explicit(&bk->bk_next_expiry, next, memory_order_relaxed);
}

/*
 * The last record of bucket b, or LT_NIL. hint is a record believed to
 * be on b's list (or LT_NIL): a record b owns is on its list whenever b
 * is locked and settled, so the walk starts there, else at the head.
 */
uint32_t
lt_tail_locked(struct loctab *lt, unsigned b, uint32_t hint)
{
	uint32_t i, next, n = 0;

	LT_ASSERT_BUCKET(lt, b);
	if (hint != LT_NIL && hint < lt->lt_pools[0].pl_count &&
	    lt_rec(lt, hint)->rc_link.lk_owner == b + 1)
		i = hint;
	else if ((i = lt->lt_buckets[b].bk_first) == LT_NIL)
		return LT_NIL;
	while ((next = lt_rec(lt, i)->rc_link.lk_next) != LT_NIL &&
	    n++ <= lt->lt_pools[0].pl_count)
		i = next;
	return i;
}

/* Unlinks idx, looking for it after record from (LT_NIL: the head). */
void
lt_unlink_locked(struct loctab *lt, unsigned b, uint32_t from, uint32_t idx)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	uint32_t		 i, prev = from;

	LT_ASSERT_BUCKET(lt, b);
	for (i = lt_next_of(lt, bk, from); i != LT_NIL && i != idx;
	    i = lt_rec(lt, i)->rc_link.lk_next)
		prev = i;
	if (i == idx)
		lt_note_gone_locked(lt, b, lt_rec(lt, idx)->rc_hash);
	if (i == idx)
		lt_set_next(lt, bk, prev, lt_rec(lt, idx)->rc_link.lk_next);
}

/*
 * Unlinks record idx (prev before it) and journals it and its block
 * for settling. The caller keeps two journal entries free.
 */
void
lt_drop_locked(struct loctab *lt, unsigned b, uint32_t prev, uint32_t idx)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	struct loctab_rec	*r = lt_rec(lt, idx);

	LT_ASSERT_BUCKET(lt, b);
	lt_note_gone_locked(lt, b, r->rc_hash);
	*lt_jent(lt, b, bk->bk_jn) = LT_ENT(0, idx);
	*lt_jent(lt, b, bk->bk_jn + 1) = r->rc_blob;
	LT_STEP("drop-journal");
	bk->bk_jn += 2;
	LT_STEP("drop-count");
	lt_set_next(lt, bk, prev, r->rc_link.lk_next);
	LT_STEP("drop-unlink");
}

void
lt_find_locked(struct loctab *lt, unsigned b, uint32_t h, const char *aor,
    size_t len, struct loctab_group *g)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	uint32_t		 i, prev = LT_NIL;
	int			 in = 0;

	LT_ASSERT_BUCKET(lt, b);
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
		/*
		 * An AoR's records are adjacent: once its group is behind
		 * us the rest of the bucket cannot hold it. g_tail is only
		 * read when no group was found, i.e. after a full walk.
		 */
		if (g->g_first != LT_NIL && !in)
			break;
	}
}

/* The group member whose contact is uri, or LT_NIL; *ret_prev before it. */
uint32_t
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
void
lt_link_locked(struct loctab *lt, unsigned b, const struct loctab_group *g,
    uint32_t idx, uint32_t skip)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	struct loctab_rec	*r = lt_rec(lt, idx);
	uint32_t		 prev, cur, k;

	LT_ASSERT_BUCKET(lt, b);
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
