/*
 * loctab_sync.c: what an incremental flush of the location table must
 * write.
 *
 * Storage names each row by its AoR's hash and bucket (the flush makes
 * the row ids from them), so a flush can replace the rows of one AoR,
 * or of one bucket, without reading storage. New and changed bindings
 * say so themselves (CS_NEW, CS_DIRTY, bk_unsynced); a binding that
 * leaves the table leaves nothing behind, so every unlink notes its
 * AoR's hash in the bucket (bk_gone) until the next flush copies the
 * bucket. Few AoRs lose a binding between two flushes of one bucket;
 * when more do than the bucket has room to name, or a crashed writer
 * leaves no way to know which, the whole bucket is rewritten.
 */
#include <errno.h>
#include <stdatomic.h>

#include "loctab_int.h"

void
lt_note_gone_locked(struct loctab *lt, unsigned b, uint32_t h)
{
	struct loctab_bucket	*bk = &lt->lt_buckets[b];
	unsigned		 i;

	LT_ASSERT_BUCKET(lt, b);
	if (bk->bk_ngone == LT_GONE_ALL)
		return;
	for (i = 0; i < bk->bk_ngone; i++)
		if (bk->bk_gone[i] == h)
			return;
	if (bk->bk_ngone == LT_GONE_MAX) {
		bk->bk_ngone = LT_GONE_ALL;
		return;
	}
	bk->bk_gone[bk->bk_ngone] = h;
	bk->bk_ngone++;
}

int
loctab_note_gone(struct loctab *lt, const char *aor, size_t len)
{
	uint32_t h = lt_hash(aor, len);
	unsigned b = lt_bucket_of_hash(lt, h);
	int	 rc;

	if ((rc = lt_lock(lt, b)) < 0)
		return rc;
	lt_note_gone_locked(lt, b, h);
	lt_unlock(lt, b);
	return 0;
}

/* Adds h to ret's hashes; false when there is no room left. */
static bool
lt_sync_add(struct loctab_unsynced *ret, uint32_t h)
{
	unsigned i;

	for (i = 0; i < ret->us_nhash; i++)
		if (ret->us_hash[i] == h)
			return true;
	if (ret->us_nhash == LOCTAB_UNSYNCED_MAX)
		return false;
	ret->us_hash[ret->us_nhash++] = h;
	return true;
}

static bool
lt_sync_has(const struct loctab_unsynced *ret, uint32_t h)
{
	unsigned i;

	for (i = 0; i < ret->us_nhash; i++)
		if (ret->us_hash[i] == h)
			return true;
	return false;
}

int
loctab_copy_unsynced(struct loctab *lt, unsigned b,
    struct loctab_binding *out, unsigned out_max,
    struct loctab_unsynced *ret)
{
	struct loctab_bucket	*bk;
	struct loctab_rec	*r;
	uint32_t		 i;
	unsigned		 k;
	int			 rc;

	if (b >= lt->lt_hash_size)
		return -EINVAL;
	bk = &lt->lt_buckets[b];
	ret->us_nbind = ret->us_nhash = 0;
	ret->us_all = false;
	if ((rc = lt_lock(lt, b)) < 0)
		return rc;
	if (bk->bk_ngone == LT_GONE_ALL)
		ret->us_all = true;
	for (k = 0; !ret->us_all && k < bk->bk_ngone; k++)
		if (!lt_sync_add(ret, bk->bk_gone[k]))
			ret->us_all = true;
	for (i = bk->bk_unsynced ? bk->bk_first : LT_NIL;
	    i != LT_NIL && !ret->us_all; i = r->rc_link.lk_next) {
		r = lt_rec(lt, i);
		if (r->rc_state != LOCTAB_CS_SYNC &&
		    !lt_sync_add(ret, r->rc_hash))
			ret->us_all = true;
	}
	if (ret->us_all)
		ret->us_nhash = 0;
	if (!ret->us_all && ret->us_nhash == 0) {
		lt_unlock(lt, b);
		return 0;
	}
	if (atomic_load_explicit(&bk->bk_nbind, memory_order_relaxed) >
	    out_max) {
		lt_unlock(lt, b);
		return LOCTAB_E_SPACE;
	}
	for (i = bk->bk_first; i != LT_NIL; i = r->rc_link.lk_next) {
		r = lt_rec(lt, i);
		if (ret->us_all || lt_sync_has(ret, r->rc_hash))
			lt_copy_out(lt, b, i, &out[ret->us_nbind++]);
	}
	bk->bk_ngone = 0;
	lt_unlock(lt, b);
	return 0;
}
