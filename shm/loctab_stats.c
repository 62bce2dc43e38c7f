/*
 * loctab_stats.c: what the location table reports about itself:
 * loctab_stats() (counts read without locks, pool usage under the free
 * lock) and loctab_check(), which walks every bucket and free list
 * checking the invariants (the earliest expiry of a bucket included).
 *
 * Runs in the master (MI ul.dump Stats, core.shmmem) and in the unit
 * tests; loctab_check() is exact only when nothing else changes the
 * table.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "loctab.h"
#include "loctab_int.h"
#include "shm_lock.h"

static const unsigned lt_str_max[LT_NSTR] = {
	LOCTAB_AOR_MAX, LOCTAB_CONTACT_MAX, LOCTAB_CALLID_MAX, LOCTAB_UA_MAX,
	LOCTAB_SOCKET_MAX, LOCTAB_RECEIVED_MAX, LOCTAB_PATH_MAX
};

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

	LT_ASSERT_BUCKET(lt, b);
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
		/* A flush would leave it CS_NEW or CS_DIRTY. */
		if (r->rc_state != LOCTAB_CS_SYNC && !bk->bk_unsynced)
			return -1;
		/* The expiry pass would skip it: expired too late. */
		if (r->rc_expires != 0 && r->rc_expires <
		    atomic_load(&bk->bk_next_expiry))
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
	    n != atomic_load(&bk->bk_nbind) || n != bk->bk_charged)
		return -1;
	return 0;
}

int
loctab_check(struct loctab *lt)
{
	struct loctab_pool	*pl;
	uint32_t		 used[LT_NPOOLS], i, n, charged = 0;
	unsigned		 b, p;
	int			 bad = 0;

	if (lt->lt_magic != LT_MAGIC || lt->lt_version != LT_VERSION)
		return -EBADMSG;
	memset(used, 0, sizeof(used));
	for (b = 0; b < lt->lt_hash_size && !bad; b++) {
		if (lt_lock(lt, b) < 0)
			return -EBADMSG;
		bad = lt_check_bucket_locked(lt, b, used) != 0;
		charged += lt->lt_buckets[b].bk_charged;
		lt_unlock(lt, b);
	}
	if (bad || lt_free_lock(lt) < 0)
		return -EBADMSG;
	if (charged != lt->lt_charged || charged > lt->lt_capacity)
		bad = 1;
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

unsigned
loctab_locks_held_by(const struct loctab *lt, pid_t pid,
    unsigned *ret_first)
{
	unsigned	 b, n = 0;

	for (b = 0; b < lt->lt_hash_size; b++) {
		if (shm_lock_owner(&lt->lt_buckets[b].bk_lock) != pid)
			continue;
		if (n++ == 0 && ret_first != NULL)
			*ret_first = b;
	}
	if (shm_lock_owner(&lt->lt_free_lock) == pid)
		n++;
	return n;
}

unsigned
loctab_lock_recoveries(const struct loctab *lt)
{
	unsigned	 b, n;

	n = shm_lock_recoveries(&lt->lt_free_lock);
	for (b = 0; b < lt->lt_hash_size; b++)
		n += shm_lock_recoveries(&lt->lt_buckets[b].bk_lock);
	return n;
}
