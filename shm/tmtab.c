/*
 * tmtab.c: the transaction table in shm (see tmtab.h for the layout and
 * the rules). Runs in the UDP workers (requests, replies) and in the one
 * worker that runs the timers; the master only creates it.
 *
 * Locking: a stripe lock guards the buckets of its stripe (a run of
 * nbuckets/TMTAB_STRIPES consecutive ones), every field of the cells
 * chained in them, their earliest timers (tm_bdue) and the stripe's
 * tx_due, the earliest of those. The timer reads tx_due without the
 * lock and locks only a stripe that is due; under the lock it walks
 * only the buckets that are due, so a busy table costs a visit per
 * cell per timer event, not per tick. The pool lock
 * guards the free lists and counters of cells and chunks, and nothing
 * else: the bytes of a chunk belong to whoever holds its chain. Order:
 * stripe, then pool. A cell's tc_gen changes only under its stripe lock
 * (when it is freed), so a holder of that lock who sees the generation
 * of a ref owns the right cell.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "shm.h"
#include "shm_lock.h"
#include "stats.h"
#include "tmtab.h"
#include "tmtab_int.h"

struct tm_head		*tm_hdr;
_Atomic uint32_t	*tm_buckets;
_Atomic uint64_t	*tm_bdue;
struct tm_cell		*tm_cells;
_Atomic uint32_t	*tm_src;
struct tm_link		*tm_links;
struct tm_chunk		*tm_chunks;

void	(*tmtab_step_hook)(const char *step);

static uint32_t
tm_nbuckets(unsigned cap)
{
	uint32_t n = TMTAB_STRIPES;

	while (n < cap / 4)
		n <<= 1;
	return n;
}

size_t
tmtab_shm_size(unsigned cap)
{
	size_t	 acc = 0;

	if (cap == 0 || cap > TMTAB_CAP_MAX)
		return SIZE_MAX;
	acc = shm_size_add(acc, sizeof(struct tm_head), TMTAB_SHM_ALIGN);
	acc = shm_size_add(acc, tm_nbuckets(cap) * sizeof(uint32_t),
	    TMTAB_SHM_ALIGN);
	acc = shm_size_add(acc, tm_nbuckets(cap) * sizeof(uint64_t),
	    TMTAB_SHM_ALIGN);
	acc = shm_size_add(acc, (size_t)cap * sizeof(struct tm_link),
	    TMTAB_SHM_ALIGN);
	acc = shm_size_add(acc, (size_t)cap * sizeof(struct tm_cell),
	    TMTAB_SHM_ALIGN);
	acc = shm_size_add(acc, (size_t)cap * TMTAB_CHUNKS_PER_CELL *
	    sizeof(struct tm_chunk), TMTAB_SHM_ALIGN);
	acc = shm_size_add(acc, TMTAB_SRC_SLOTS * sizeof(uint32_t),
	    TMTAB_SHM_ALIGN);
	return acc;
}

int
tmtab_create(unsigned cap)
{
	size_t	 nb, i;
	int	 r;

	if (cap == 0 || cap > TMTAB_CAP_MAX)
		return -EINVAL;
	nb = tm_nbuckets(cap);
	if ((tm_hdr = shm_carve(sizeof(*tm_hdr), TMTAB_SHM_ALIGN)) == NULL ||
	    (tm_buckets = shm_carve(nb * sizeof(uint32_t),
	    TMTAB_SHM_ALIGN)) == NULL ||
	    (tm_bdue = shm_carve(nb * sizeof(uint64_t),
	    TMTAB_SHM_ALIGN)) == NULL ||
	    (tm_links = shm_carve((size_t)cap * sizeof(struct tm_link),
	    TMTAB_SHM_ALIGN)) == NULL ||
	    (tm_cells = shm_carve((size_t)cap * sizeof(struct tm_cell),
	    TMTAB_SHM_ALIGN)) == NULL ||
	    (tm_chunks = shm_carve((size_t)cap * TMTAB_CHUNKS_PER_CELL *
	    sizeof(struct tm_chunk), TMTAB_SHM_ALIGN)) == NULL ||
	    (tm_src = shm_carve(TMTAB_SRC_SLOTS * sizeof(uint32_t),
	    TMTAB_SHM_ALIGN)) == NULL) {
		tm_hdr = NULL;
		return -errno;
	}
	/* shm_carve() zeroes: buckets empty, cells TC_FREE. */
	tm_hdr->th_cap = cap;
	tm_hdr->th_nbuckets = (uint32_t)nb;
	tm_hdr->th_nchunks = cap * TMTAB_CHUNKS_PER_CELL;
	tm_hdr->th_src_budget = cap / TMTAB_SRC_SHARE > 0 ?
	    cap / TMTAB_SRC_SHARE : 1;
	for (i = 0; i < TMTAB_STRIPES; i++)
		if ((r = shm_lock_init(&tm_hdr->th_stripes[i].tx_lock)) != 0)
			return r;
	if ((r = shm_lock_init(&tm_hdr->th_pool_lock)) != 0)
		return r;
	tm_hdr->th_magic = TM_MAGIC;
	return 0;
}

uint64_t
tmtab_now_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- locks --------------------------------------------------------- */

static uint32_t
tm_bucket_of(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (uint32_t)key & (tm_hdr->th_nbuckets - 1);
}

static struct tm_stripe *
tm_stripe_of(uint32_t bucket)
{
	return &tm_hdr->th_stripes[bucket /
	    (tm_hdr->th_nbuckets / TMTAB_STRIPES)];
}

static int
tm_lock(struct tm_stripe *s)
{
	int	 r = shm_lock_acquire(&s->tx_lock, NULL, NULL);

	return r < 0 ? r : 0;
}

static void
tm_unlock(struct tm_stripe *s)
{
	shm_lock_release(&s->tx_lock);
}

static int
tm_pool_lock(void)
{
	int	 r = shm_lock_acquire(&tm_hdr->th_pool_lock, NULL, NULL);

	return r < 0 ? r : 0;
}

static void
tm_pool_unlock(void)
{
	shm_lock_release(&tm_hdr->th_pool_lock);
}

/* --- pool (pool lock) ---------------------------------------------- */

static uint32_t
tm_chunks_for(size_t len)
{
	return (uint32_t)((len + TM_DATA - 1) / TM_DATA);
}

/* A chain of n chunks; TM_NONE when the pool has fewer left. */
static uint32_t
tm_chunk_take_locked(uint32_t n)
{
	uint32_t	 head = TM_NONE, tail = TM_NONE, c, i;

	shm_lock_assert_held(&tm_hdr->th_pool_lock);
	if (n > tm_hdr->th_nchunks - tm_hdr->th_chunks_used)
		return TM_NONE;
	for (i = 0; i < n; i++) {
		/*
		 * Counted before it is taken: a taker killed half way
		 * leaks what it took, and the bump index stays within the
		 * pool because it never passes the count.
		 */
		tm_hdr->th_chunks_used++;
		TM_STEP("take-count");
		if (tm_hdr->th_chunk_free != TM_NONE) {
			c = tm_hdr->th_chunk_free;
			tm_hdr->th_chunk_free = tm_chunks[c - 1].ck_next;
		} else
			c = ++tm_hdr->th_chunk_bump;
		TM_STEP("take-pop");
		tm_chunks[c - 1].ck_next = TM_NONE;
		if (tail == TM_NONE)
			head = c;
		else
			tm_chunks[tail - 1].ck_next = c;
		tail = c;
		TM_STEP("take-link");
	}
	return head;
}

static void
tm_chunk_give_locked(uint32_t head)
{
	uint32_t	 c = head, next;

	shm_lock_assert_held(&tm_hdr->th_pool_lock);
	while (c != TM_NONE) {
		next = tm_chunks[c - 1].ck_next;
		tm_chunks[c - 1].ck_next = tm_hdr->th_chunk_free;
		TM_STEP("give-next");
		tm_hdr->th_chunk_free = c;
		TM_STEP("give-push");
		tm_hdr->th_chunks_used--;
		TM_STEP("give-count");
		c = next;
	}
}

/* Stores len bytes into *b (which must be empty). false: pool empty. */
static bool
tm_blob_put(struct tm_blob *b, const char *p, size_t len)
{
	uint32_t	 head, c;
	size_t		 off, n;

	if (len == 0 || len > TMTAB_MSG_MAX)
		return false;
	if (tm_pool_lock() != 0)
		return false;
	head = tm_chunk_take_locked(tm_chunks_for(len));
	tm_pool_unlock();
	if (head == TM_NONE)
		return false;
	TM_STEP("put-taken");
	for (c = head, off = 0; off < len; c = tm_chunks[c - 1].ck_next) {
		n = len - off < TM_DATA ? len - off : TM_DATA;
		memcpy(tm_chunks[c - 1].ck_data, p + off, n);
		off += n;
	}
	b->tb_head = head;
	b->tb_len = (uint32_t)len;
	TM_STEP("put-stored");
	return true;
}

static void
tm_blob_free(struct tm_blob *b)
{
	uint32_t	 head = b->tb_head;

	if (head == TM_NONE)
		return;
	/* detached first: a freer killed half way leaks, never frees twice */
	b->tb_head = TM_NONE;
	b->tb_len = 0;
	TM_STEP("blob-detach");
	if (tm_pool_lock() == 0) {
		tm_chunk_give_locked(head);
		tm_pool_unlock();
	}
}

/*
 * *slot := b, then the message *slot held is freed: a process killed
 * in between leaks the old chunks; the cell never holds no message
 * where it had one, nor a chain that another blob holds too.
 */
static void
tm_blob_replace(struct tm_blob *slot, struct tm_blob b)
{
	struct tm_blob	 old = *slot;

	*slot = b;
	TM_STEP("replace-publish");
	tm_blob_free(&old);
}

/* --- actions --------------------------------------------------------- */

/* Copies blob b into out's scratch; NULL when it does not fit. */
static const char *
tm_copy_out(struct tmtab_out *out, const struct tm_blob *b)
{
	char		*dst;
	uint32_t	 c;
	size_t		 off, n;

	if (b->tb_head == TM_NONE || out->to_cap - out->to_used < b->tb_len)
		return NULL;
	dst = out->to_scratch + out->to_used;
	for (c = b->tb_head, off = 0; off < b->tb_len;
	    c = tm_chunks[c - 1].ck_next) {
		n = b->tb_len - off < TM_DATA ? b->tb_len - off : TM_DATA;
		memcpy(dst + off, tm_chunks[c - 1].ck_data, n);
		off += n;
	}
	out->to_used += b->tb_len;
	return dst;
}

static bool
tm_room(const struct tmtab_out *out, const struct tm_blob *b)
{
	return out != NULL && out->to_n < out->to_max &&
	    out->to_cap - out->to_used >= b->tb_len;
}

static bool
tm_act(struct tmtab_out *out, int kind, const struct tm_cell *c,
    int branch, const struct tm_blob *b)
{
	struct tmtab_act	*a;

	if (!tm_room(out, b) || b->tb_head == TM_NONE)
		return false;
	a = &out->to_acts[out->to_n++];
	a->ta_kind = kind;
	a->ta_ref.tr_idx = (uint32_t)(c - tm_cells);
	a->ta_ref.tr_gen = c->tc_gen;
	a->ta_branch = branch;
	if (branch < 0) {
		a->ta_sock = c->tc_sock;
		a->ta_dst = kind == TMTAB_LOCAL_408 ? c->tc_src : c->tc_up;
	} else {
		a->ta_sock = c->tc_br[branch].br_sock;
		a->ta_dst = c->tc_br[branch].br_dst;
	}
	a->ta_msg = tm_copy_out(out, b);
	a->ta_len = b->tb_len;
	return true;
}

/* --- cells (stripe lock) --------------------------------------------- */

static uint64_t
tm_min(uint64_t a, uint64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

static uint64_t
tm_cell_due(const struct tm_cell *c)
{
	uint64_t	 due = tm_min(tm_min(c->tc_fr_at, c->tc_g_at),
			    c->tc_free_at);
	unsigned	 i;

	for (i = 0; i < c->tc_nbr; i++)
		due = tm_min(due, tm_min(c->tc_br[i].br_retr_at,
		    c->tc_br[i].br_cancel_at));
	return due;
}

/* A cell's timer changed: the stripe is due no later than it. */
static void
tm_due_locked(struct tm_cell *c)
{
	struct tm_stripe	*s = tm_stripe_of(c->tc_bucket);
	_Atomic uint64_t	*bd = &tm_bdue[c->tc_bucket];
	uint64_t		 d = tm_cell_due(c), cur;

	tm_links[c - tm_cells].tl_due = d;
	TM_STEP("due-cell");
	cur = atomic_load_explicit(bd, memory_order_relaxed);
	if (d != 0 && (cur == 0 || d < cur))
		atomic_store_explicit(bd, d, memory_order_relaxed);
	TM_STEP("due-bucket");
	cur = atomic_load_explicit(&s->tx_due, memory_order_relaxed);
	if (d != 0 && (cur == 0 || d < cur))
		atomic_store_explicit(&s->tx_due, d, memory_order_relaxed);
	TM_STEP("due-stripe");
}

static struct tm_cell *
tm_find_locked(uint64_t key, uint32_t bucket)
{
	uint32_t	 i;

	for (i = atomic_load_explicit(&tm_buckets[bucket],
	    memory_order_relaxed); i != TM_NONE; i = tm_links[i - 1].tl_next)
		if (tm_links[i - 1].tl_key == key && tm_links[i - 1].tl_live)
			return &tm_cells[i - 1];
	return NULL;
}

/* The cell of ref, with its stripe locked; NULL when gone. */
static struct tm_cell *
tm_ref_lock(struct tmtab_ref ref, struct tm_stripe **ret_s)
{
	struct tm_cell		*c;
	struct tm_stripe	*s;
	uint32_t		 bucket;

	if (tm_hdr == NULL || ref.tr_idx >= tm_hdr->th_cap)
		return NULL;
	c = &tm_cells[ref.tr_idx];
	bucket = __atomic_load_n(&c->tc_bucket, __ATOMIC_RELAXED);
	if (bucket >= tm_hdr->th_nbuckets)
		return NULL;
	s = tm_stripe_of(bucket);
	if (tm_lock(s) != 0)
		return NULL;
	if (c->tc_state == TC_FREE || c->tc_gen != ref.tr_gen ||
	    tm_stripe_of(c->tc_bucket) != s) {
		tm_unlock(s);
		return NULL;
	}
	*ret_s = s;
	return c;
}

/* Cell idx (+ 1), linked nowhere, back to the free list. */
static void
tm_cell_give(uint32_t idx)
{
	if (tm_pool_lock() != 0)
		return;
	tm_links[idx - 1].tl_next = tm_hdr->th_cell_free;
	TM_STEP("cell-give-next");
	tm_hdr->th_cell_free = idx;
	TM_STEP("cell-give-push");
	tm_hdr->th_cells_used--;
	TM_STEP("cell-give-count");
	tm_pool_unlock();
}

/* Unlinks and frees c: its stripe lock is held. */
static void
tm_free_locked(struct tm_cell *c)
{
	_Atomic uint32_t	*p = &tm_buckets[c->tc_bucket];
	uint32_t		 self = (uint32_t)(c - tm_cells) + 1, i;
	struct tm_link		*l = &tm_links[self - 1];
	unsigned		 b;
	uint16_t		 slot;

	if (atomic_load_explicit(p, memory_order_relaxed) == self)
		atomic_store_explicit(p, l->tl_next, memory_order_relaxed);
	else
		for (i = atomic_load_explicit(p, memory_order_relaxed);
		    i != TM_NONE; i = tm_links[i - 1].tl_next)
			if (tm_links[i - 1].tl_next == self) {
				tm_links[i - 1].tl_next = l->tl_next;
				break;
			}
	TM_STEP("free-unlink");
	l->tl_live = 0;
	l->tl_due = 0;
	TM_STEP("free-dead");
	/*
	 * The slot is forgotten before its counter is lowered: a process
	 * killed in between leaves one unit counted (tm_src's comment),
	 * where the other order let a later free of this unlinked cell by
	 * its ref lower it twice and wrap it, refusing that source for good.
	 */
	if ((slot = c->tc_src_slot) != 0) {
		c->tc_src_slot = 0;
		TM_STEP("free-src");
		atomic_fetch_sub_explicit(&tm_src[slot - 1], 1,
		    memory_order_relaxed);
	}
	tm_blob_free(&c->tc_req);
	tm_blob_free(&c->tc_resp);
	tm_blob_free(&c->tc_best);
	for (b = 0; b < c->tc_nbr; b++)
		tm_blob_free(&c->tc_br[b].br_msg);
	c->tc_gen = (c->tc_gen + 1) & TMTAB_GEN_MASK;
	TM_STEP("free-gen");
	c->tc_state = TC_FREE;
	TM_STEP("free-state");
	stats_inc(STATS_TM_FREED);
	tm_cell_give(self);
}

/* The final reply is going upstream: stop the branches' timers. */
static void
tm_complete_locked(struct tm_cell *c, int code, uint64_t now)
{
	unsigned	 i;

	/* the first final only: a local 408 was counted when decided */
	if (c->tc_state == TC_PROCEEDING)
		stats_call_end((enum stats_path)c->tc_path, code,
		    c->tc_canceled);
	c->tc_state = TC_COMPLETED;
	c->tc_final = (uint16_t)code;
	c->tc_fr_at = 0;
	TM_STEP("complete-state");
	for (i = 0; i < c->tc_nbr; i++)
		c->tc_br[i].br_retr_at = 0;
	/* the request is only needed to answer it: it has its answer */
	tm_blob_free(&c->tc_req);
	if (c->tc_invite && code >= 300) {
		c->tc_g_ivl = TMTAB_T1_MS;
		c->tc_g_at = now + TMTAB_T1_MS;
		c->tc_free_at = now + TMTAB_H_MS;
	} else
		c->tc_free_at = now + TMTAB_WAIT_MS;
}

/* CANCEL branch i now (it answered) or when it does. */
static void
tm_cancel_branch_locked(struct tm_cell *c, unsigned i, uint64_t now,
    struct tmtab_out *out)
{
	struct tm_br	*br = &c->tc_br[i];

	if (!c->tc_invite || br->br_state == TB_FINAL ||
	    br->br_cancel != TX_NONE)
		return;
	if (br->br_state != TB_PROV) {
		br->br_cancel = TX_PENDING;
		return;
	}
	br->br_cancel = TX_SENT;
	br->br_cancel_ivl = TMTAB_T1_MS;
	br->br_cancel_at = now + TMTAB_T1_MS;
	br->br_cancel_end = now + TMTAB_H_MS;
	(void)tm_act(out, TMTAB_SEND_CANCEL, c, (int)i, &br->br_msg);
}

static void
tm_cancel_others_locked(struct tm_cell *c, int except, uint64_t now,
    struct tmtab_out *out)
{
	unsigned	 i;

	for (i = 0; i < c->tc_nbr; i++)
		if ((int)i != except)
			tm_cancel_branch_locked(c, i, now, out);
}

/*
 * §16.7 step 6: 6xx beats everything; else the lowest class; the
 * first one of a class stays.
 */
static bool
tm_better(int code, int best)
{
	if (best == 0)
		return true;
	if (best >= 600)
		return false;
	if (code >= 600)
		return true;
	return code / 100 < best / 100;
}

/*
 * Every branch final, or a 6xx: the best final goes upstream. false
 * (nothing changed) when out has no room for what must be sent.
 */
static bool
tm_finish_locked(struct tm_cell *c, uint64_t now, struct tmtab_out *out)
{
	struct tm_blob	 t;
	int		 code = c->tc_best_code;

	if (c->tc_best.tb_head == TM_NONE) {
		/* every branch timed out: a 408 of our own */
		if (!tm_act(out, TMTAB_LOCAL_408, c, -1, &c->tc_req))
			return false;
		stats_call_end((enum stats_path)c->tc_path, 408,
		    c->tc_canceled);
		c->tc_state = TC_COMPLETED;
		c->tc_final = 408;
		c->tc_fr_at = 0;
		/* tmtab_reply() sets the real timers; this one is a net */
		c->tc_free_at = now + TMTAB_H_MS;
		return true;
	}
	if (!tm_room(out, &c->tc_best))
		return false;
	/* never one chain in two blobs: a kill would let both free it */
	t = c->tc_best;
	c->tc_best.tb_head = TM_NONE;
	c->tc_best.tb_len = 0;
	TM_STEP("finish-take");
	tm_blob_replace(&c->tc_resp, t);
	c->tc_best_code = 0;
	(void)tm_act(out, TMTAB_SEND, c, -1, &c->tc_resp);
	tm_complete_locked(c, code, now);
	return true;
}

static bool
tm_all_final(const struct tm_cell *c)
{
	unsigned	 i;

	for (i = 0; i < c->tc_nbr; i++)
		if (c->tc_br[i].br_state != TB_FINAL)
			return false;
	return true;
}

/* No branch can still send something that needs an answer from us. */
static bool
tm_all_settled(const struct tm_cell *c)
{
	unsigned	 i;

	/*
	 * A branch that timed out and was CANCELled still owes its final
	 * (a 487), which needs our ACK, even once the CANCEL is answered.
	 */
	for (i = 0; i < c->tc_nbr; i++)
		if (c->tc_br[i].br_state != TB_FINAL ||
		    (!c->tc_br[i].br_heard && c->tc_br[i].br_cancel != TX_NONE))
			return false;
	return true;
}

/* --- API --------------------------------------------------------------- */

/* The budget counter of a source: its IPv4 address or IPv6 /64. */
static uint16_t
tm_src_slot_of(const union tmtab_addr *a)
{
	const unsigned char	*p;
	uint32_t		 h = 2166136261U;
	size_t			 i, n;

	if (a->sa.sa_family == AF_INET6) {
		p = a->sin6.sin6_addr.s6_addr;
		n = 8;
	} else {
		p = (const unsigned char *)&a->sin.sin_addr;
		n = 4;
	}
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619U;
	return (uint16_t)(h & (TMTAB_SRC_SLOTS - 1));
}

int
tmtab_begin(const struct tmtab_new *n, uint64_t now,
    struct tmtab_ref *ret_ref, struct tmtab_out *out)
{
	struct tm_stripe	*s;
	struct tm_cell		*c, *old;
	struct tm_blob		 req = { TM_NONE, 0 };
	uint32_t		 idx, bucket, held;
	uint16_t		 slot = 0;
	int			 r;

	(void)now;
	if (tm_hdr == NULL)
		return -ENXIO;
	if (n->tn_budget) {
		slot = tm_src_slot_of(&n->tn_src);
		held = atomic_fetch_add_explicit(&tm_src[slot], 1,
		    memory_order_relaxed);
		if (held >= tm_hdr->th_src_budget) {
			atomic_fetch_sub_explicit(&tm_src[slot], 1,
			    memory_order_relaxed);
			return TMTAB_E_BUDGET;
		}
		slot++;		/* tc_src_slot: + 1 */
	}
	/* cell and request first, outside the stripe lock */
	if ((r = tm_pool_lock()) != 0)
		return r;
	if (tm_hdr->th_cell_free != TM_NONE) {
		idx = tm_hdr->th_cell_free;
		tm_hdr->th_cell_free = tm_links[idx - 1].tl_next;
	} else if (tm_hdr->th_cell_bump < tm_hdr->th_cap)
		idx = ++tm_hdr->th_cell_bump;
	else
		idx = TM_NONE;
	TM_STEP("cell-pop");
	if (idx != TM_NONE)
		tm_hdr->th_cells_used++;
	TM_STEP("cell-count");
	tm_pool_unlock();
	if (idx == TM_NONE) {
		r = TMTAB_E_FULL;
		goto unbudget;
	}
	c = &tm_cells[idx - 1];
	if (!tm_blob_put(&req, n->tn_req, n->tn_reqlen)) {
		tm_cell_give(idx);
		r = TMTAB_E_FULL;
		goto unbudget;
	}

	bucket = tm_bucket_of(n->tn_key);
	s = tm_stripe_of(bucket);
	if ((r = tm_lock(s)) != 0)
		goto undo;
	if ((old = tm_find_locked(n->tn_key, bucket)) != NULL) {
		/* a retransmission: the last reply again, if any */
		if (old->tc_resp.tb_head != TM_NONE)
			(void)tm_act(out, TMTAB_SEND, old, -1, &old->tc_resp);
		tm_unlock(s);
		ret_ref->tr_idx = UINT32_MAX;
		ret_ref->tr_gen = 0;
		r = 0;
		goto undo;
	}
	/* tc_gen survives from the cell's last life */
	c->tc_bucket = bucket;
	c->tc_state = TC_PROCEEDING;
	c->tc_invite = n->tn_invite;
	c->tc_nbr = 0;
	c->tc_canceled = 0;
	c->tc_path = n->tn_path;
	c->tc_final = 0;
	c->tc_best_code = 0;
	c->tc_sock = (uint16_t)n->tn_sock;
	c->tc_src_slot = slot;
	c->tc_g_ivl = 0;
	c->tc_fr_final = 0;
	c->tc_fr_at = c->tc_g_at = c->tc_free_at = 0;
	c->tc_up = n->tn_up;
	c->tc_src = n->tn_src;
	c->tc_req = req;
	c->tc_resp.tb_head = c->tc_best.tb_head = TM_NONE;
	c->tc_resp.tb_len = c->tc_best.tb_len = 0;
	TM_STEP("begin-cell");
	tm_links[idx - 1].tl_key = n->tn_key;
	tm_links[idx - 1].tl_due = 0;
	tm_links[idx - 1].tl_next = atomic_load_explicit(&tm_buckets[bucket],
	    memory_order_relaxed);
	TM_STEP("begin-next");
	tm_links[idx - 1].tl_live = 1;	/* all set before it is linked */
	TM_STEP("begin-live");
	atomic_store_explicit(&tm_buckets[bucket], idx, memory_order_relaxed);
	TM_STEP("begin-link");
	ret_ref->tr_idx = idx - 1;
	ret_ref->tr_gen = c->tc_gen;
	tm_unlock(s);
	return 0;
undo:
	tm_blob_free(&req);
	tm_cell_give(idx);
unbudget:
	if (slot != 0)
		atomic_fetch_sub_explicit(&tm_src[slot - 1], 1,
		    memory_order_relaxed);
	return r;
}

int
tmtab_find(uint64_t key, struct tmtab_out *out)
{
	struct tm_stripe	*s;
	struct tm_cell		*c;
	uint32_t		 bucket;
	int			 r;

	if (tm_hdr == NULL)
		return TMTAB_E_NOTFOUND;
	bucket = tm_bucket_of(key);
	/* an empty bucket needs no lock: most new requests stop here */
	if (atomic_load_explicit(&tm_buckets[bucket], memory_order_relaxed) ==
	    TM_NONE)
		return TMTAB_E_NOTFOUND;
	s = tm_stripe_of(bucket);
	if ((r = tm_lock(s)) != 0)
		return r;
	if ((c = tm_find_locked(key, bucket)) == NULL) {
		tm_unlock(s);
		return TMTAB_E_NOTFOUND;
	}
	if (c->tc_resp.tb_head != TM_NONE)
		(void)tm_act(out, TMTAB_SEND, c, -1, &c->tc_resp);
	tm_unlock(s);
	return 0;
}

void
tmtab_abandon(struct tmtab_ref ref)
{
	struct tm_stripe	*s;
	struct tm_cell		*c;

	if ((c = tm_ref_lock(ref, &s)) == NULL)
		return;
	tm_free_locked(c);
	tm_unlock(s);
}

int
tmtab_request(struct tmtab_ref ref, struct tmtab_out *out)
{
	struct tm_stripe	*s;
	struct tm_cell		*c;
	bool			 ok;

	if ((c = tm_ref_lock(ref, &s)) == NULL)
		return TMTAB_E_NOTFOUND;
	ok = tm_act(out, TMTAB_LOCAL_408, c, -1, &c->tc_req);
	tm_unlock(s);
	return ok ? 0 : TMTAB_E_FULL;
}

int
tmtab_reply(struct tmtab_ref ref, int code, const char *msg, size_t len,
    uint64_t now)
{
	struct tm_stripe	*s;
	struct tm_cell		*c;
	struct tm_blob		 b = { TM_NONE, 0 };

	if ((c = tm_ref_lock(ref, &s)) == NULL)
		return TMTAB_E_NOTFOUND;
	/* a late provisional must not replace a final */
	if (code >= 200 || c->tc_state == TC_PROCEEDING) {
		if (tm_blob_put(&b, msg, len))
			tm_blob_replace(&c->tc_resp, b);
	}
	if (code >= 200) {
		tm_complete_locked(c, code, now);
		tm_due_locked(c);
	}
	tm_unlock(s);
	return 0;
}

int
tmtab_branches(struct tmtab_ref ref, const struct tmtab_branch *b,
    unsigned n, uint64_t fr_ms, uint64_t quiet_ms, uint64_t now)
{
	struct tm_stripe	*s;
	struct tm_cell		*c;
	struct tm_br		*br;
	unsigned		 i;

	if (n > TMTAB_BRANCHES)
		return -EINVAL;
	if ((c = tm_ref_lock(ref, &s)) == NULL)
		return TMTAB_E_NOTFOUND;
	for (i = 0; i < n; i++) {
		br = &c->tc_br[i];
		memset(br, 0, sizeof(*br));
		br->br_state = TB_SENT;
		br->br_sock = (uint16_t)b[i].tb_sock;
		br->br_dst = b[i].tb_dst;
		/* without its copy a branch cannot be resent or cancelled */
		if (tm_blob_put(&br->br_msg, b[i].tb_msg, b[i].tb_len)) {
			br->br_retr_ivl = TMTAB_T1_MS;
			br->br_retr_at = now + TMTAB_T1_MS;
		}
	}
	TM_STEP("branches-copies");
	c->tc_nbr = (uint8_t)n;
	TM_STEP("branches-count");
	/* a CANCEL came between the 100 and now: each rings, then stops */
	if (c->tc_canceled)
		for (i = 0; i < n; i++)
			c->tc_br[i].br_cancel = TX_PENDING;
	c->tc_fr_at = now + fr_ms;
	c->tc_fr_final = 0;
	if (quiet_ms != 0 && quiet_ms < fr_ms) {
		c->tc_fr_final = c->tc_fr_at;
		c->tc_fr_at = now + quiet_ms;
	}
	tm_due_locked(c);
	tm_unlock(s);
	return 0;
}

int
tmtab_response(struct tmtab_ref ref, int branch, int code, bool cancel,
    const char *stripped, size_t len, uint64_t now, struct tmtab_out *out)
{
	struct tm_stripe	*s;
	struct tm_cell		*c;
	struct tm_br		*br;
	struct tm_blob		 b = { TM_NONE, 0 };
	uint8_t			 st;

	if ((c = tm_ref_lock(ref, &s)) == NULL)
		return TMTAB_E_NOTFOUND;
	if (branch < 0 || branch >= c->tc_nbr) {
		tm_unlock(s);
		return TMTAB_E_NOTFOUND;
	}
	br = &c->tc_br[branch];
	if (cancel) {
		/* the answer to our CANCEL: stop resending it */
		if (code >= 200 && br->br_cancel == TX_SENT) {
			br->br_cancel = TX_DONE;
			br->br_cancel_at = 0;
		}
		goto done;
	}
	if (code < 200) {
		/*
		 * §17.1.2.2: a non-INVITE is still resent, Timer E running
		 * as it was and then every T2, until its final.
		 */
		if (!c->tc_invite && br->br_retr_at != 0)
			br->br_retr_ivl = TMTAB_T2_MS;
		else
			br->br_retr_at = 0;
		if (c->tc_fr_final != 0 && c->tc_state == TC_PROCEEDING) {
			/* someone is there: the final-reply limit holds now */
			c->tc_fr_at = c->tc_fr_final;
			c->tc_fr_final = 0;
		}
		if (br->br_state == TB_SENT)
			br->br_state = TB_PROV;
		if (br->br_cancel == TX_PENDING) {
			/* also a branch that timed out: it rings, stop it */
			st = br->br_state;
			br->br_state = TB_PROV;
			br->br_cancel = TX_NONE;
			tm_cancel_branch_locked(c, (unsigned)branch, now, out);
			br->br_state = st;
		}
		if (code == 100 || c->tc_state != TC_PROCEEDING ||
		    c->tc_canceled)
			goto done;
		/* the newest provisional answers retransmitted requests */
		if (tm_blob_put(&b, stripped, len)) {
			tm_blob_replace(&c->tc_resp, b);
			(void)tm_act(out, TMTAB_SEND, c, -1, &c->tc_resp);
		}
		goto done;
	}
	if (br->br_state == TB_FINAL) {
		br->br_heard = 1;
		/* a retransmitted final: ACK it again, or pass a 2xx on */
		if (c->tc_invite && code >= 300)
			(void)tm_act(out, TMTAB_SEND_ACK, c, branch,
			    &br->br_msg);
		else if (code < 300)
			goto pass;
		goto done;
	}
	br->br_state = TB_FINAL;
	br->br_heard = 1;
	br->br_code = (uint16_t)code;
	br->br_retr_at = 0;
	if (br->br_cancel == TX_PENDING)
		br->br_cancel = TX_NONE;
	if (code < 300) {
		if (c->tc_state == TC_PROCEEDING) {
			if (tm_blob_put(&b, stripped, len))
				tm_blob_replace(&c->tc_resp, b);
			tm_complete_locked(c, code, now);
			if (c->tc_invite)
				tm_cancel_others_locked(c, branch, now, out);
		}
		goto pass;
	}
	if (c->tc_invite)
		(void)tm_act(out, TMTAB_SEND_ACK, c, branch, &br->br_msg);
	if (c->tc_state != TC_PROCEEDING)
		goto done;
	if (code >= 600 && c->tc_invite)
		tm_cancel_others_locked(c, branch, now, out);
	if (tm_better(code, c->tc_best_code)) {
		if (!tm_blob_put(&b, stripped, len)) {
			/*
			 * No chunk left to hold it: if it ends the search it
			 * goes up as it is (not resent by Timer G); else the
			 * branch counts as answered without it.
			 */
			if (code >= 600 || tm_all_final(c)) {
				tm_complete_locked(c, code, now);
				c->tc_g_at = 0;
				tm_blob_free(&c->tc_resp);
				goto pass;
			}
			goto done;
		}
		tm_blob_replace(&c->tc_best, b);
		c->tc_best_code = (uint16_t)code;
	}
	if (code >= 600 || tm_all_final(c))
		(void)tm_finish_locked(c, now, out);
	goto done;
pass:
	/* a 2xx goes upstream as it came, every time (and see above) */
	if (out != NULL && out->to_n < out->to_max &&
	    out->to_cap - out->to_used >= len) {
		struct tmtab_act *a = &out->to_acts[out->to_n++];

		a->ta_kind = TMTAB_SEND;
		a->ta_ref = ref;
		a->ta_branch = -1;
		a->ta_sock = c->tc_sock;
		a->ta_dst = c->tc_up;
		a->ta_msg = memcpy(out->to_scratch + out->to_used, stripped,
		    len);
		a->ta_len = len;
		out->to_used += len;
	}
done:
	tm_due_locked(c);
	tm_unlock(s);
	return 0;
}

/*
 * The INVITE transaction with key, its stripe locked: 0 and *ret_c, or
 * TMTAB_E_NOTFOUND (nothing locked), -errno.
 */
static int
tm_invite_lock(uint64_t key, struct tm_stripe **ret_s, struct tm_cell **ret_c)
{
	struct tm_stripe	*s;
	struct tm_cell		*c;
	uint32_t		 bucket;
	int			 r;

	if (tm_hdr == NULL)
		return -ENXIO;
	bucket = tm_bucket_of(key);
	s = tm_stripe_of(bucket);
	if ((r = tm_lock(s)) != 0)
		return r;
	if ((c = tm_find_locked(key, bucket)) == NULL || !c->tc_invite) {
		tm_unlock(s);
		return TMTAB_E_NOTFOUND;
	}
	*ret_s = s;
	*ret_c = c;
	return 0;
}

int
tmtab_cancel(uint64_t invite_key, uint64_t now, struct tmtab_out *out)
{
	struct tm_stripe	*s;
	struct tm_cell		*c;
	int			 r;

	if ((r = tm_invite_lock(invite_key, &s, &c)) != 0)
		return r;
	if (c->tc_state != TC_PROCEEDING || c->tc_canceled) {
		tm_unlock(s);
		return TMTAB_E_FINAL;
	}
	c->tc_canceled = 1;
	tm_cancel_others_locked(c, -1, now, out);
	tm_due_locked(c);
	tm_unlock(s);
	return 0;
}

int
tmtab_ack(uint64_t invite_key, uint64_t now)
{
	struct tm_stripe	*s;
	struct tm_cell		*c;
	int			 r;

	if ((r = tm_invite_lock(invite_key, &s, &c)) != 0)
		return r;
	if (c->tc_state != TC_COMPLETED || c->tc_final < 300) {
		tm_unlock(s);
		return TMTAB_E_NOTFOUND;
	}
	/*
	 * Confirmed: nothing more to resend upstream. Kept a while when a
	 * branch may still answer (a CANCEL out, or one that timed out
	 * before ringing): its final needs our ACK.
	 */
	c->tc_g_at = 0;
	if (tm_all_settled(c))
		tm_free_locked(c);
	else {
		c->tc_free_at = now + TMTAB_WAIT_MS;
		tm_due_locked(c);
	}
	tm_unlock(s);
	return 0;
}

/* The due timers of one cell. false: out is full, try again later. */
static bool
tm_cell_timers_locked(struct tm_cell *c, uint64_t now,
    struct tmtab_out *out)
{
	struct tm_br	*br;
	unsigned	 i;

	if (c->tc_free_at != 0 && c->tc_free_at <= now) {
		tm_free_locked(c);
		return true;
	}
	if (c->tc_g_at != 0 && c->tc_g_at <= now) {
		if (!tm_act(out, TMTAB_SEND, c, -1, &c->tc_resp) &&
		    c->tc_resp.tb_head != TM_NONE)
			return false;
		c->tc_g_ivl = (uint16_t)(2 * c->tc_g_ivl > TMTAB_T2_MS ?
		    TMTAB_T2_MS : 2 * c->tc_g_ivl);
		c->tc_g_at = now + c->tc_g_ivl;
	}
	if (c->tc_fr_at != 0 && c->tc_fr_at <= now &&
	    c->tc_state == TC_PROCEEDING) {
		/* no final in time: every open branch counts as a 408 */
		if (!tm_finish_locked(c, now, out))
			return false;
		for (i = 0; i < c->tc_nbr; i++) {
			br = &c->tc_br[i];
			br->br_retr_at = 0;
			if (br->br_state == TB_FINAL)
				continue;
			tm_cancel_branch_locked(c, i, now, out);
			br->br_state = TB_FINAL;
			br->br_code = 408;
		}
	}
	for (i = 0; i < c->tc_nbr; i++) {
		br = &c->tc_br[i];
		if (br->br_retr_at != 0 && br->br_retr_at <= now) {
			if (!tm_act(out, TMTAB_SEND, c, (int)i, &br->br_msg))
				return false;
			br->br_retr_ivl = (uint16_t)(2 * br->br_retr_ivl >
			    TMTAB_T2_MS ? TMTAB_T2_MS : 2 * br->br_retr_ivl);
			br->br_retr_at = now + br->br_retr_ivl;
		}
		if (br->br_cancel_at != 0 && br->br_cancel_at <= now) {
			if (br->br_cancel_end <= now) {
				br->br_cancel_at = 0;
				br->br_cancel = TX_DONE;
				continue;
			}
			if (!tm_act(out, TMTAB_SEND_CANCEL, c, (int)i,
			    &br->br_msg))
				return false;
			br->br_cancel_ivl = (uint16_t)(2 * br->br_cancel_ivl >
			    TMTAB_T2_MS ? TMTAB_T2_MS : 2 * br->br_cancel_ivl);
			br->br_cancel_at = now + br->br_cancel_ivl;
		}
	}
	return true;
}

/*
 * The due cells of bucket b (its stripe locked); returns the bucket's
 * earliest timer left. *full: out ran out of room (the rest stays due).
 */
static uint64_t
tm_bucket_timers_locked(uint32_t b, uint64_t now, struct tmtab_out *out,
    bool *full)
{
	struct tm_link	*l;
	uint64_t	 next = 0;
	uint32_t	 i, nexti;

	for (i = atomic_load_explicit(&tm_buckets[b], memory_order_relaxed);
	    i != TM_NONE; i = nexti) {
		l = &tm_links[i - 1];
		nexti = l->tl_next;
		if (!*full && l->tl_due != 0 && l->tl_due <= now) {
			if (!tm_cell_timers_locked(&tm_cells[i - 1], now,
			    out))
				*full = true;
			if (l->tl_live)
				l->tl_due = tm_cell_due(&tm_cells[i - 1]);
			TM_STEP("timers-cell");
		}
		if (l->tl_live)
			next = tm_min(next, l->tl_due);
	}
	return next;
}

void
tmtab_timers(uint64_t now, struct tmtab_out *out)
{
	struct tm_stripe	*s;
	uint64_t		 due, next;
	uint32_t		 b, per;
	unsigned		 k;
	bool			 full = false;

	if (tm_hdr == NULL)
		return;
	per = tm_hdr->th_nbuckets / TMTAB_STRIPES;
	for (k = 0; k < TMTAB_STRIPES && !full; k++) {
		s = &tm_hdr->th_stripes[k];
		due = atomic_load_explicit(&s->tx_due, memory_order_relaxed);
		if (due == 0 || due > now)
			continue;
		if (tm_lock(s) != 0)
			continue;
		next = 0;
		for (b = k * per; b < (k + 1) * per; b++) {
			due = atomic_load_explicit(&tm_bdue[b],
			    memory_order_relaxed);
			if (due != 0 && due <= now && !full) {
				due = tm_bucket_timers_locked(b, now, out,
				    &full);
				atomic_store_explicit(&tm_bdue[b], due,
				    memory_order_relaxed);
				TM_STEP("timers-bucket");
			}
			next = tm_min(next, due);
		}
		atomic_store_explicit(&s->tx_due, next, memory_order_relaxed);
		TM_STEP("timers-stripe");
		tm_unlock(s);
	}
}

void
tmtab_usage(struct tmtab_usage *ret)
{
	uint32_t	 i, n;

	memset(ret, 0, sizeof(*ret));
	if (tm_hdr == NULL || tm_pool_lock() != 0)
		return;
	ret->tu_cap = tm_hdr->th_cap;
	ret->tu_cells = tm_hdr->th_cells_used;
	ret->tu_chunks_total = tm_hdr->th_nchunks;
	ret->tu_chunks = tm_hdr->th_chunks_used;
	ret->tu_chunks_max = tm_hdr->th_chunk_bump;
	tm_pool_unlock();
	ret->tu_cell_bytes = sizeof(struct tm_cell) + sizeof(struct tm_link);
	ret->tu_chunk_bytes = sizeof(struct tm_chunk);
	ret->tu_src_budget = tm_hdr->th_src_budget;
	for (i = 0; i < TMTAB_SRC_SLOTS; i++) {
		n = atomic_load_explicit(&tm_src[i], memory_order_relaxed);
		if (n > ret->tu_src_max)
			ret->tu_src_max = n;
	}
}

void
tmtab_locks(pid_t pid, unsigned *ret_held, unsigned *ret_recovered)
{
	unsigned	 i;

	*ret_held = *ret_recovered = 0;
	if (tm_hdr == NULL)
		return;
	for (i = 0; i < TMTAB_STRIPES; i++) {
		*ret_held += shm_lock_owner(&tm_hdr->th_stripes[i].tx_lock) ==
		    pid;
		*ret_recovered += shm_lock_recoveries(
		    &tm_hdr->th_stripes[i].tx_lock);
	}
	*ret_held += shm_lock_owner(&tm_hdr->th_pool_lock) == pid;
	*ret_recovered += shm_lock_recoveries(&tm_hdr->th_pool_lock);
}
