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
 *   records[max_contacts + R]	fixed 80-byte binding records
 *   class pools 96..2048 B	one string block per binding, each + R
 *
 * R = min(hash_size, 257) * LOCTAB_SAVE_MAX blocks per pool (4112 for
 * the default hash_size 512) hold the new copies of changes in flight:
 * the table is full when its bindings, not its blocks, reach
 * max_contacts (see loctab_pool.c). The reserve costs R * 7504 bytes
 * of address space (80 per record, 7424 for one block of each class:
 * 29.4 MiB for R = 4112), resident only as far as updates use it.
 *
 * A binding is one fixed record (numbers, lengths, the AoR's hash) plus
 * ONE string block holding its seven strings back to back (AoR,
 * contact, Call-ID, User-Agent, socket, received, path), taken from the
 * smallest size class that fits (or a larger one when that class ran
 * out). Records and blocks are named by 32-bit index, never by pointer.
 * A typical binding (AoR 8, contact 40, Call-ID 40, User-Agent 30,
 * socket 21: 139 bytes + 8 of block header) costs an 80-byte record and
 * a 160-byte block, 240 bytes, plus a share of the bucket array.
 * Pools are sized generously (each small class can hold every binding)
 * because pages nobody touched cost no memory: blocks are handed out
 * from a bump index first and recycled through a free list after, so
 * only pages in use become resident.
 *
 * Each bucket is a singly linked list of records; the bindings of one
 * AoR are adjacent (a "group"), highest q first, older first among
 * equal q. AoRs are compared byte-exact, contacts too.
 *
 * Expiry. The master's pass runs every second over a table that may
 * hold millions of bindings, nearly none of them due. Each bucket keeps
 * a lower bound of its records' expiries (bk_next_expiry), lowered
 * before a record with an earlier one is linked and made exact by
 * every recount (removals, repairs). The pass reads it without the
 * lock and skips the bucket while it lies ahead; when a bucket's
 * earliest binding was refreshed or removed the bound is stale (too
 * early), which costs one walk of that bucket, after which it is exact
 * again. A bound is never too late, so a binding is removed by the
 * first pass at or after its expiry (or the next one, when a save
 * racing that pass had not yet published the bound).
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
 *     blocks to free are journalled before they are unlinked;
 *   - a bucket's charge against the capacity is raised after its takes
 *     and set from its count whenever its journal is settled, so a
 *     repair re-derives it; the total is summed again by the free
 *     lock's repair.
 * Repair (bucket lock recovered): finish an interrupted swap, recount.
 * Then every journalled block the bucket owns but no longer reaches is
 * given back to its pool ("settle"): this rolls back reservations that
 * were never linked and completes frees that were interrupted. The free
 * lock's repair pops list heads marked owned (a pop or push cut short)
 * and recounts. So a dead worker costs at most its own unfinished
 * binding, never another one, and no block leaks.
 *
 * The code is split by concern: loctab_list.c keeps the bucket lists,
 * loctab_pool.c the pools, loctab_repair.c the locks, their repair and
 * the settling of journals, loctab_stats.c the statistics and checks;
 * loctab_int.h holds the layout they share. This file sizes and
 * creates the table and makes the changes the public API asks for.
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
#include "loctab_int.h"
#include "shm.h"
#include "shm_lock.h"

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

void	(*loctab_step_hook)(const char *step);

/* --- hashing ------------------------------------------------------- */

/*
 * FNV-1a over the bytes, then murmur3's 32-bit finaliser so that the
 * low bits (the bucket, for a power-of-two size) depend on every byte.
 */
uint32_t
loctab_aor_hash(const char *aor, size_t len)
{
	return lt_hash(aor, len);
}

uint32_t
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

unsigned
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

/* The carves loctab_create() makes, in order; 0 for bad arguments. */
static int
lt_carves(unsigned hash_size, unsigned cap, size_t n[LT_NCARVES])
{
	uint32_t count;
	unsigned p;

	if (hash_size < 1 || hash_size > LOCTAB_HASH_MAX || cap < 1 ||
	    cap > LOCTAB_CAPACITY_MAX)
		return -1;
	n[0] = sizeof(struct loctab);
	n[1] = (size_t)hash_size * sizeof(struct loctab_bucket);
	n[2] = (size_t)hash_size * LT_JOURNAL * sizeof(uint32_t);
	for (p = 0; p < LT_NPOOLS; p++) {
		count = lt_pool_count(p, cap, lt_reserve_for(hash_size));
		if (SIZE_MAX / lt_pool_block(p) < count)
			return -1;
		n[3 + p] = lt_pool_block(p) * count;
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
	lt->lt_reserve = lt_reserve_for(hash_size);
	lt->lt_buckets = mem[1];
	lt->lt_journal = mem[2];
	atomic_init(&lt->lt_changes, 0);
	atomic_init(&lt->lt_expired, 0);
	if ((rc = shm_lock_init(&lt->lt_free_lock)) < 0)
		return rc;
	for (p = 0; p < LT_NPOOLS; p++) {
		lt->lt_pools[p].pl_base = mem[3 + p];
		lt->lt_pools[p].pl_block = (uint32_t)lt_pool_block(p);
		lt->lt_pools[p].pl_count = lt_pool_count(p, max_contacts,
		    lt->lt_reserve);
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
		atomic_init(&bk->bk_next_expiry, LT_NEVER);
	}
	*ret_table = lt;
	return 0;
}

/* --- copying out --------------------------------------------------- */

void
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
	out->lb_hash = r->rc_hash;
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

	LT_ASSERT_BUCKET(lt, b);
	for (i = bk->bk_first; i != LT_NIL; i = next) {
		next = lt_rec(lt, i)->rc_link.lk_next;
		if (!lt_rm_match(lt, lt_rec(lt, i), rm)) {
			prev = i;
			continue;
		}
		if (n == 0)
			atomic_fetch_add(&lt->lt_changes, 1);
		if (bk->bk_jn + 2 > LT_JOURNAL) {
			lt_recount_locked(lt, b);
			if ((rc = lt_settle_locked(lt, b, 0)) < 0)
				return rc;
		}
		lt_drop_locked(lt, b, prev, i);
		n++;
	}
	if (n > 0) {
		/* The settling charges the bucket for what it counts. */
		lt_recount_locked(lt, b);
		if ((rc = lt_settle_locked(lt, b, 0)) < 0)
			return rc;
	}
	return n;
}

/* --- save ---------------------------------------------------------- */

/*
 * Absolute fields for rows loaded from storage, and what a loader knows
 * (see loctab_loader_insert()): ld_new says the AoR is in no bucket, so
 * its group need not be looked for, and *ld_tail (when not NULL) is the
 * loader's last known tail of the AoR's bucket.
 */
struct loctab_load {
	time_t		 ld_expires;
	time_t		 ld_last_modified;
	int		 ld_new;
	uint32_t	*ld_tail;
};

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
		r->rc_len[s] = (uint16_t)pl->pl_len[s];
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

	LT_ASSERT_BUCKET(lt, b);
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

	LT_ASSERT_BUCKET(lt, b);
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

	LT_ASSERT_BUCKET(lt, b);
	if (ld != NULL && ld->ld_new) {
		/* A new AoR goes after the tail: no walk to find either. */
		g.g_prev = g.g_first = LT_NIL;
		g.g_n = 0;
		g.g_tail = lt_tail_locked(lt, b, *ld->ld_tail);
	} else
		lt_find_locked(lt, b, h, req->sv_aor.ls_ptr,
		    req->sv_aor.ls_len, &g);
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
		if (plan[i].pl_act == LT_ACT_REMOVE)
			continue;
		if (ld == NULL)
			bk->bk_unsynced = 1;
		lt_fill(lt, req, &req->sv_contacts[i], &plan[i], h, stamp,
		    ld);
		/* Before the record is linked: the bound never runs late. */
		lt_lower_next_expiry_locked(lt, b,
		    lt_rec(lt, plan[i].pl_new)->rc_expires);
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
	/* Counted before settling, which charges the bucket for them. */
	atomic_store_explicit(&bk->bk_nbind, atomic_load_explicit(
	    &bk->bk_nbind, memory_order_relaxed) + ins - nrm,
	    memory_order_relaxed);
	if ((had == 0) != (g.g_n == 0))
		atomic_store_explicit(&bk->bk_naors, atomic_load_explicit(
		    &bk->bk_naors, memory_order_relaxed) +
		    (g.g_n == 0 ? -1U : 1U), memory_order_relaxed);
	if ((rc = lt_settle_locked(lt, b, known)) < 0)
		return rc;
	if (ld != NULL && ld->ld_tail != NULL && g.g_n > 0 &&
	    g.g_tail != LT_NIL)
		*ld->ld_tail = g.g_tail;
	*ret_n = lt_copy_group(lt, b, &g, 0, 0, out, out_max);
	return 0;
}

/* lt_save() for an AoR whose hash h is known. */
static int
lt_save_hashed(struct loctab *lt, const struct loctab_save *req, uint32_t h,
    const struct loctab_load *ld, struct loctab_binding *out,
    unsigned out_max, unsigned *ret_n)
{
	unsigned	 b, n = 0;
	int		 rc;

	if ((rc = lt_check_req(req)) != 0)
		return rc;
	b = lt_bucket_of_hash(lt, h);
	if ((rc = lt_lock(lt, b)) < 0)
		return rc;
	rc = lt_save_locked(lt, b, h, req, ld, out, out_max, &n);
	lt_unlock(lt, b);
	if ((rc == 0 || rc == LOCTAB_E_TOO_MANY) && ret_n != NULL)
		*ret_n = n;
	return rc;
}

static int
lt_save(struct loctab *lt, const struct loctab_save *req,
    const struct loctab_load *ld, struct loctab_binding *out,
    unsigned out_max, unsigned *ret_n)
{
	return lt_save_hashed(lt, req, lt_hash(req->sv_aor.ls_ptr,
	    req->sv_aor.ls_len), ld, out, out_max, ret_n);
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

/* The save and load fields of a stored row; c is the request's contact. */
static void
lt_row_req(const struct loctab_row *row, time_t now, struct loctab_save *req,
    struct loctab_contact *c, struct loctab_load *ld)
{
	*c = row->lr_contact;
	c->lc_expires = LOCTAB_PERMANENT;	/* ld overrides */
	memset(req, 0, sizeof(*req));
	req->sv_aor = row->lr_aor;
	req->sv_callid = row->lr_callid;
	req->sv_user_agent = row->lr_user_agent;
	req->sv_socket = row->lr_socket;
	req->sv_now = now;
	req->sv_cseq = row->lr_cseq;
	req->sv_force = 1;
	req->sv_contacts = c;
	req->sv_ncontacts = 1;
	memset(ld, 0, sizeof(*ld));
	ld->ld_expires = row->lr_expires;
	ld->ld_last_modified = row->lr_last_modified;
}

int
loctab_insert_loaded(struct loctab *lt, const struct loctab_row *row,
    time_t now)
{
	struct loctab_contact	 c;
	struct loctab_save	 req;
	struct loctab_load	 ld;

	if (row->lr_expires != 0 && row->lr_expires <= now)
		return LOCTAB_E_EXPIRED;
	lt_row_req(row, now, &req, &c, &ld);
	return lt_save(lt, &req, &ld, NULL, 0, NULL);
}

/* --- the start-up loader ------------------------------------------- */

/*
 * Loading a big table row by row through loctab_insert_loaded() costs a
 * walk of the whole bucket per new AoR (to learn that it is new, and
 * where the bucket ends): with scattered records, most of the load.
 * The loader, in the master's own memory, knows instead which AoRs it
 * may have seen (a Bloom filter of their hashes, two bits each: a clear
 * bit proves the AoR new, set ones only send the row the usual way;
 * with 32 bits per binding that is 1 row in 250 once the table is
 * full, which matters when buckets are long) and the tail of
 * each bucket (a hint, checked before use). Rows end up exactly where
 * loctab_insert_loaded() would put them.
 */
struct loctab_loader {
	struct loctab	*ll_lt;
	uint32_t	*ll_tail;	/* per bucket: last known tail */
	uint64_t	*ll_seen;	/* bit per hash value class */
	unsigned	 ll_shift;	/* 32 - log2(bits) */
};

/* Bit i (0 or 1) of h: high bits of products, not the bucket's bits. */
static uint32_t
lt_seen_bit(const struct loctab_loader *ll, uint32_t h, unsigned i)
{
	return (uint32_t)((h * (i == 0 ? 0x9e3779b1U : 0x85ebca77U)) >>
	    ll->ll_shift);
}

static void
lt_seen_set(struct loctab_loader *ll, uint32_t h)
{
	uint32_t k;
	unsigned i;

	for (i = 0; i < 2; i++) {
		k = lt_seen_bit(ll, h, i);
		ll->ll_seen[k / 64] |= (uint64_t)1 << (k % 64);
	}
}

static int
lt_seen(const struct loctab_loader *ll, uint32_t h)
{
	uint32_t k;
	unsigned i;

	for (i = 0; i < 2; i++) {
		k = lt_seen_bit(ll, h, i);
		if (((ll->ll_seen[k / 64] >> (k % 64)) & 1) == 0)
			return 0;
	}
	return 1;
}

int
loctab_loader_new(struct loctab *lt, struct loctab_loader **ret_loader)
{
	struct loctab_loader	*ll;
	struct loctab_rec	*r;
	unsigned		 b, bits = 16;
	uint32_t		 i;

	/* At least 32 bits per binding (4 MiB for 1M): see above. */
	while (bits < 31 && (1U << bits) / 32 < lt->lt_capacity)
		bits++;
	if ((ll = calloc(1, sizeof(*ll))) == NULL ||
	    (ll->ll_tail = malloc((size_t)lt->lt_hash_size *
	    sizeof(*ll->ll_tail))) == NULL ||
	    (ll->ll_seen = calloc(((size_t)1 << bits) / 64,
	    sizeof(*ll->ll_seen))) == NULL) {
		loctab_loader_free(ll);
		return -ENOMEM;
	}
	ll->ll_lt = lt;
	ll->ll_shift = 32 - bits;
	/* Whatever the table already holds (nothing, at start). */
	for (b = 0; b < lt->lt_hash_size; b++) {
		ll->ll_tail[b] = LT_NIL;
		if (atomic_load_explicit(&lt->lt_buckets[b].bk_nbind,
		    memory_order_relaxed) == 0)
			continue;
		if (lt_lock(lt, b) < 0) {
			loctab_loader_free(ll);
			return -EIO;
		}
		for (i = lt->lt_buckets[b].bk_first; i != LT_NIL;
		    i = r->rc_link.lk_next) {
			r = lt_rec(lt, i);
			lt_seen_set(ll, r->rc_hash);
			ll->ll_tail[b] = i;
		}
		lt_unlock(lt, b);
	}
	*ret_loader = ll;
	return 0;
}

int
loctab_loader_insert(struct loctab_loader *ll, const struct loctab_row *row,
    time_t now)
{
	struct loctab		*lt = ll->ll_lt;
	struct loctab_contact	 c;
	struct loctab_save	 req;
	struct loctab_load	 ld;
	uint32_t		 h;
	int			 rc;

	if (row->lr_expires != 0 && row->lr_expires <= now)
		return LOCTAB_E_EXPIRED;
	lt_row_req(row, now, &req, &c, &ld);
	h = lt_hash(req.sv_aor.ls_ptr, req.sv_aor.ls_len);
	ld.ld_new = !lt_seen(ll, h);
	ld.ld_tail = &ll->ll_tail[lt_bucket_of_hash(lt, h)];
	if ((rc = lt_save_hashed(lt, &req, h, &ld, NULL, 0, NULL)) == 0)
		lt_seen_set(ll, h);
	return rc;
}

void
loctab_loader_free(struct loctab_loader *ll)
{
	if (ll == NULL)
		return;
	free(ll->ll_tail);
	free(ll->ll_seen);
	free(ll);
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
		/*
		 * Only buckets with something due are locked and walked, so
		 * an idle pass costs one load per bucket, not one visit per
		 * binding. A binding missed here (a racing save's store not
		 * seen yet) is caught on the next tick.
		 */
		if (atomic_load_explicit(&lt->lt_buckets[b].bk_next_expiry,
		    memory_order_relaxed) > (int64_t)now)
			continue;
		if (lt_lock(lt, b) < 0)
			continue;
		rc = lt_remove_locked(lt, b, &rm);
		/* Nothing was due: the bound was stale, make it exact. */
		if (rc == 0)
			lt_recount_locked(lt, b);
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
	struct loctab_bucket	*bk;
	struct loctab_rec	*r;
	unsigned		 b, n = 0, left;
	uint32_t		 i;

	for (b = 0; b < lt->lt_hash_size; b++) {
		bk = &lt->lt_buckets[b];
		if (lt_lock(lt, b) < 0)
			continue;
		left = 0;
		for (i = bk->bk_unsynced ? bk->bk_first : LT_NIL; i != LT_NIL;
		    i = r->rc_link.lk_next) {
			r = lt_rec(lt, i);
			if (r->rc_state == LOCTAB_CS_SYNC)
				continue;
			if (r->rc_stamp <= snapshot) {
				r->rc_state = LOCTAB_CS_SYNC;
				n++;
			} else
				left++;
		}
		if (left == 0)
			bk->bk_unsynced = 0;
		lt_unlock(lt, b);
	}
	return n;
}
