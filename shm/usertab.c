/*
 * usertab.c: the subscriber table in shm (see usertab.h).
 *
 * Three areas, all carved at start and touched only as they fill:
 *  - a heap of variable-length records (a header word, then the user,
 *    domain and password bytes and the 32-hex ha1/ha1b, padded to 8),
 *    filled by a bump pointer; a replaced or removed record becomes
 *    garbage, and the heap is compacted in place when the pointer
 *    reaches its end. Sized for max_users records of the largest
 *    shape, so max_users always fit; a typical user takes ~100 bytes,
 *    and only those pages are ever touched (a fixed-size record cost
 *    344 bytes a user).
 *  - offs[r], r < count: hash << 32 | heap word of record r. Dense: a
 *    removal moves the last entry into the hole (usertab_at() lists
 *    them), and a probe compares hashes without touching the heap.
 *  - an open-addressing index (linear probing, load at most 3/4) of
 *    record numbers + 1, 0 when empty; removal shifts the probe run
 *    back, so there are no tombstones. Its room is reserved for
 *    max_users, but only a power-of-two prefix sized to the users
 *    present is in use (doubled, and rehashed, as they grow): 10,000
 *    users touch 64 KB of it, not the 512 KB max_users = 100,000 needs.
 *
 * Every shared word is a relaxed atomic under the table's seqlock; a
 * reader copies a record out and keeps it only if seq did not move.
 * Everything read from racing words is bounds-checked before use, so a
 * torn read is retried, never followed out of the table.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "seqlock.h"
#include "shm.h"
#include "usertab.h"

/* Header word: user, domain, password lengths, flags, size in words. */
#define UT_HDR(ul, dl, pl, fl, w)					\
	((uint64_t)(ul) | (uint64_t)(dl) << 8 | (uint64_t)(pl) << 16 |	\
	(uint64_t)(fl) << 24 | (uint64_t)(w) << 32)
#define UT_HDR_USER(h)		((unsigned)((h) & 0xff))
#define UT_HDR_DOMAIN(h)	((unsigned)(((h) >> 8) & 0xff))
#define UT_HDR_PASSWORD(h)	((unsigned)(((h) >> 16) & 0xff))
#define UT_HDR_FLAGS(h)		((unsigned)(((h) >> 24) & 0xff))
#define UT_HDR_WORDS(h)		((unsigned)((h) >> 32))

/* The largest record: header + every field at its limit, in words. */
#define UT_MAX_BYTES	(8 + USERTAB_USER_MAX + USERTAB_DOMAIN_MAX +	\
	USERTAB_PASSWORD_MAX + 2 * USERTAB_HA1_MAX)
#define UT_MAX_WORDS	((UT_MAX_BYTES + 7) / 8)

struct usertab {
	alignas(USERTAB_SHM_ALIGN)
	_Atomic uint64_t	 ut_seq;
	_Atomic uint64_t	 ut_changes;
	_Atomic uint32_t	 ut_count;
	uint32_t		 ut_cap;
	_Atomic uint32_t	 ut_mask;	/* index slots in use - 1 */
	uint32_t		 ut_max_mask;	/* index slots reserved - 1 */
	uint32_t		 ut_heap_words;
	_Atomic uint32_t	 ut_heap_used;	/* words */
	_Atomic uint32_t	 ut_heap_garbage; /* words */
	_Atomic uint32_t	*ut_index;
	_Atomic uint64_t	*ut_offs;
	_Atomic uint64_t	*ut_heap;
};

static uint32_t
usertab_slots(unsigned max_users)
{
	uint64_t	 n = 16;

	while (n * 3 < (uint64_t)max_users * 4)
		n *= 2;
	return (uint32_t)n;
}

static size_t
usertab_heap_words(unsigned max_users)
{
	return (size_t)max_users * UT_MAX_WORDS;
}

size_t
usertab_shm_size(unsigned max_users)
{
	size_t	 n = sizeof(struct usertab);

	n += (size_t)usertab_slots(max_users) * sizeof(uint32_t);
	n = (n + 7) & ~(size_t)7;
	n += (size_t)max_users * sizeof(uint64_t);
	n += usertab_heap_words(max_users) * sizeof(uint64_t);
	return n + USERTAB_SHM_ALIGN;
}

int
usertab_create(unsigned max_users, struct usertab **ret)
{
	void	*p;

	if (max_users == 0 || max_users > USERTAB_MAX_USERS)
		return -EINVAL;
	if ((p = shm_carve(usertab_shm_size(max_users), USERTAB_SHM_ALIGN)) ==
	    NULL)
		return -errno;
	return usertab_init(p, max_users, ret);
}

int
usertab_init(void *mem, unsigned max_users, struct usertab **ret)
{
	struct usertab	*t;
	char		*p = mem;
	uint32_t	 slots;
	size_t		 n;

	if (max_users == 0 || max_users > USERTAB_MAX_USERS)
		return -EINVAL;
	slots = usertab_slots(max_users);
	/* mem is zeroed: an empty index, no records. */
	t = (struct usertab *)p;
	t->ut_cap = max_users;
	t->ut_max_mask = slots - 1;
	atomic_init(&t->ut_mask, slots < 16 ? slots - 1 : 15);
	t->ut_heap_words = (uint32_t)usertab_heap_words(max_users);
	n = sizeof(*t);
	t->ut_index = (_Atomic uint32_t *)(p + n);
	n += (size_t)slots * sizeof(uint32_t);
	n = (n + 7) & ~(size_t)7;
	t->ut_offs = (_Atomic uint64_t *)(p + n);
	n += (size_t)max_users * sizeof(uint64_t);
	t->ut_heap = (_Atomic uint64_t *)(p + n);
	*ret = t;
	return 0;
}

void
usertab_write_begin(struct usertab *t)
{
	seqlock_write_begin(&t->ut_seq);
}

void
usertab_write_end(struct usertab *t)
{
	atomic_fetch_add_explicit(&t->ut_changes, 1, memory_order_relaxed);
	seqlock_write_end(&t->ut_seq);
}

static uint32_t
ut_ld32(_Atomic uint32_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static void
ut_st32(_Atomic uint32_t *p, uint32_t v)
{
	atomic_store_explicit(p, v, memory_order_relaxed);
}

static uint64_t
ut_ld64(_Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static void
ut_st64(_Atomic uint64_t *p, uint64_t v)
{
	atomic_store_explicit(p, v, memory_order_relaxed);
}

/* Words a record of u takes. */
static unsigned
usertab_words(const struct usertab_user *u)
{
	size_t	 n = 8 + u->uu_user_len + u->uu_domain_len +
	    u->uu_password_len;

	if (u->uu_flags & USERTAB_HAS_HA1)
		n += USERTAB_HA1_MAX;
	if (u->uu_flags & USERTAB_HAS_HA1B)
		n += USERTAB_HA1_MAX;
	return (unsigned)((n + 7) / 8);
}

/* Writes u's record at heap word at (usertab_words(u) words). */
static void
usertab_rec_store(struct usertab *t, uint32_t at, const struct usertab_user *u)
{
	uint64_t	 buf[UT_MAX_WORDS];
	unsigned	 w = usertab_words(u);
	char		*p = (char *)&buf[1];

	memset(buf, 0, sizeof(buf));
	buf[0] = UT_HDR(u->uu_user_len, u->uu_domain_len, u->uu_password_len,
	    u->uu_flags, w);
	memcpy(p, u->uu_user, u->uu_user_len);
	p += u->uu_user_len;
	memcpy(p, u->uu_domain, u->uu_domain_len);
	p += u->uu_domain_len;
	memcpy(p, u->uu_password, u->uu_password_len);
	p += u->uu_password_len;
	if (u->uu_flags & USERTAB_HAS_HA1) {
		memcpy(p, u->uu_ha1, USERTAB_HA1_MAX);
		p += USERTAB_HA1_MAX;
	}
	if (u->uu_flags & USERTAB_HAS_HA1B)
		memcpy(p, u->uu_ha1b, USERTAB_HA1_MAX);
	seqlock_store_words(&t->ut_heap[at], buf, (size_t)w * 8);
}

/*
 * Record r as a usertab_user into *u. false when the words read make
 * no record (only a reader racing the writer sees that: it retries).
 */
static bool
usertab_rec_load(struct usertab *t, uint32_t r, struct usertab_user *u)
{
	uint64_t	 buf[UT_MAX_WORDS], o, h;
	uint32_t	 at;
	unsigned	 ul, dl, pl, fl, w;
	const char	*p = (const char *)&buf[1];

	o = ut_ld64(&t->ut_offs[r]);
	at = (uint32_t)o;
	if (at >= t->ut_heap_words)
		return false;
	h = ut_ld64(&t->ut_heap[at]);
	ul = UT_HDR_USER(h);
	dl = UT_HDR_DOMAIN(h);
	pl = UT_HDR_PASSWORD(h);
	fl = UT_HDR_FLAGS(h);
	w = UT_HDR_WORDS(h);
	if (ul > USERTAB_USER_MAX || dl > USERTAB_DOMAIN_MAX ||
	    pl > USERTAB_PASSWORD_MAX || w == 0 || w > UT_MAX_WORDS ||
	    at + w > t->ut_heap_words)
		return false;
	seqlock_load_words(buf, &t->ut_heap[at], (size_t)w * 8);
	memset(u, 0, sizeof(*u));
	u->uu_hash = (uint32_t)(o >> 32);
	u->uu_user_len = (uint16_t)ul;
	u->uu_domain_len = (uint16_t)dl;
	u->uu_password_len = (uint16_t)pl;
	u->uu_flags = (uint16_t)fl;
	if (8 + ul + dl + pl + ((fl & USERTAB_HAS_HA1) ? USERTAB_HA1_MAX : 0) +
	    ((fl & USERTAB_HAS_HA1B) ? USERTAB_HA1_MAX : 0) > (size_t)w * 8)
		return false;
	memcpy(u->uu_user, p, ul);
	p += ul;
	memcpy(u->uu_domain, p, dl);
	p += dl;
	memcpy(u->uu_password, p, pl);
	p += pl;
	if (fl & USERTAB_HAS_HA1) {
		memcpy(u->uu_ha1, p, USERTAB_HA1_MAX);
		p += USERTAB_HA1_MAX;
	}
	if (fl & USERTAB_HAS_HA1B)
		memcpy(u->uu_ha1b, p, USERTAB_HA1_MAX);
	return true;
}

static uint32_t
usertab_rec_words(struct usertab *t, uint32_t r)
{
	uint32_t	 at = (uint32_t)ut_ld64(&t->ut_offs[r]);

	return UT_HDR_WORDS(ut_ld64(&t->ut_heap[at]));
}

/*
 * The index slot of user, or -1; *ret holds its record when found. Safe
 * for a racing reader: it stops after one pass over the index and
 * never follows a record number past the table.
 */
static long
usertab_find(struct usertab *t, uint32_t hash, const char *user, size_t len,
    struct usertab_user *ret)
{
	uint32_t	 mask = ut_ld32(&t->ut_mask), i, r, v, n;

	if (mask > t->ut_max_mask)
		return -1;
	i = hash & mask;
	for (n = 0; n <= mask; n++, i = (i + 1) & mask) {
		if ((v = ut_ld32(&t->ut_index[i])) == 0)
			return -1;
		r = v - 1;
		if (r >= t->ut_cap)
			return -1;
		if ((uint32_t)(ut_ld64(&t->ut_offs[r]) >> 32) != hash)
			continue;
		if (!usertab_rec_load(t, r, ret))
			return -1;
		if (ret->uu_user_len == len && memcmp(ret->uu_user, user,
		    len) == 0)
			return (long)i;
	}
	return -1;
}

/* The index slot holding record number r (hash its hash), or -1. */
static long
usertab_slot_of(struct usertab *t, uint32_t hash, uint32_t r)
{
	uint32_t	 mask = ut_ld32(&t->ut_mask), i = hash & mask, n;

	for (n = 0; n <= mask; n++, i = (i + 1) & mask)
		if (ut_ld32(&t->ut_index[i]) == r + 1)
			return (long)i;
	return -1;
}

/*
 * Empties the index slot by slot of the records present, not by a sweep
 * of the whole index: a sweep would fault in every page of it on a
 * board that has a dozen users.
 */
void
usertab_clear(struct usertab *t)
{
	uint32_t	 r, count;
	long		 i;

	count = ut_ld32(&t->ut_count);
	for (r = 0; r < count; r++) {
		/* Earlier records' slots are empty now: look past holes. */
		i = usertab_slot_of(t, (uint32_t)(ut_ld64(&t->ut_offs[r]) >>
		    32), r);
		if (i >= 0)
			ut_st32(&t->ut_index[i], 0);
	}
	ut_st32(&t->ut_count, 0);
	ut_st32(&t->ut_heap_used, 0);
	ut_st32(&t->ut_heap_garbage, 0);
}

static int
usertab_off_cmp(const void *a, const void *b)
{
	uint32_t	 x = (uint32_t)*(const uint64_t *)a;
	uint32_t	 y = (uint32_t)*(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Slides every live record down over the garbage, in heap order, and
 * points offs[] at the new places. Master only, under the seqlock.
 * -ENOMEM when the sort buffer cannot be had (the heap stays as it was).
 */
static int
usertab_compact(struct usertab *t)
{
	uint64_t	*order, o, w[UT_MAX_WORDS];
	uint32_t	 count = ut_ld32(&t->ut_count), r, at, to = 0, n;

	if ((order = calloc(count + 1, sizeof(*order))) == NULL)
		return -ENOMEM;
	/* (heap word, record number): sorted by the low 32 bits. */
	for (r = 0; r < count; r++)
		order[r] = (uint64_t)r << 32 |
		    (uint32_t)ut_ld64(&t->ut_offs[r]);
	qsort(order, count, sizeof(*order), usertab_off_cmp);
	for (r = 0; r < count; r++) {
		at = (uint32_t)order[r];
		n = UT_HDR_WORDS(ut_ld64(&t->ut_heap[at]));
		if (at != to) {
			seqlock_load_words(w, &t->ut_heap[at], (size_t)n * 8);
			seqlock_store_words(&t->ut_heap[to], w, (size_t)n * 8);
			o = ut_ld64(&t->ut_offs[order[r] >> 32]);
			ut_st64(&t->ut_offs[order[r] >> 32],
			    (o & ~(uint64_t)0xffffffff) | to);
		}
		to += n;
	}
	free(order);
	ut_st32(&t->ut_heap_used, to);
	ut_st32(&t->ut_heap_garbage, 0);
	return 0;
}

/* Puts record number r (hash its hash) into the index. */
static void
usertab_slot_add(struct usertab *t, uint32_t hash, uint32_t r)
{
	uint32_t	 mask = ut_ld32(&t->ut_mask), i = hash & mask;

	while (ut_ld32(&t->ut_index[i]) != 0)
		i = (i + 1) & mask;
	ut_st32(&t->ut_index[i], r + 1);
}

/*
 * Doubles the index in use and puts records 0..count-1 back into it.
 * The slots past the old prefix were never used, so they are zero.
 */
static void
usertab_grow(struct usertab *t, uint32_t count)
{
	uint32_t	 r;
	long		 i;

	for (r = 0; r < count; r++) {
		i = usertab_slot_of(t, (uint32_t)(ut_ld64(&t->ut_offs[r]) >>
		    32), r);
		if (i >= 0)
			ut_st32(&t->ut_index[i], 0);
	}
	ut_st32(&t->ut_mask, ut_ld32(&t->ut_mask) * 2 + 1);
	for (r = 0; r < count; r++)
		usertab_slot_add(t, (uint32_t)(ut_ld64(&t->ut_offs[r]) >> 32),
		    r);
}

/* Heap words for a record of w words: the word index, or -ENOSPC. */
static long
usertab_alloc(struct usertab *t, unsigned w)
{
	uint32_t	 used = ut_ld32(&t->ut_heap_used);

	if (used + w > t->ut_heap_words) {
		if (ut_ld32(&t->ut_heap_garbage) == 0 ||
		    usertab_compact(t) != 0)
			return -ENOSPC;
		used = ut_ld32(&t->ut_heap_used);
		if (used + w > t->ut_heap_words)
			return -ENOSPC;
	}
	ut_st32(&t->ut_heap_used, used + w);
	return (long)used;
}

int
usertab_put(struct usertab *t, const struct usertab_user *u)
{
	struct usertab_user	 old;
	uint32_t		 count, r, oldw, mask;
	long			 at, slot;

	if (u->uu_user_len > USERTAB_USER_MAX ||
	    u->uu_domain_len > USERTAB_DOMAIN_MAX ||
	    u->uu_password_len > USERTAB_PASSWORD_MAX)
		return -EINVAL;
	slot = usertab_find(t, u->uu_hash, u->uu_user, u->uu_user_len, &old);
	count = ut_ld32(&t->ut_count);
	if (slot < 0 && count >= t->ut_cap)
		return -ENOSPC;
	/* Allocating may compact the heap: record numbers stay valid. */
	if ((at = usertab_alloc(t, usertab_words(u))) < 0)
		return (int)at;
	usertab_rec_store(t, (uint32_t)at, u);
	if (slot >= 0) {
		r = ut_ld32(&t->ut_index[slot]) - 1;
		oldw = usertab_rec_words(t, r);
		ut_st64(&t->ut_offs[r], (uint64_t)u->uu_hash << 32 |
		    (uint32_t)at);
		ut_st32(&t->ut_heap_garbage, ut_ld32(&t->ut_heap_garbage) +
		    oldw);
		return 0;
	}
	ut_st64(&t->ut_offs[count], (uint64_t)u->uu_hash << 32 |
	    (uint32_t)at);
	mask = ut_ld32(&t->ut_mask);
	if (((uint64_t)count + 1) * 4 > ((uint64_t)mask + 1) * 3 &&
	    mask < t->ut_max_mask)
		usertab_grow(t, count);
	usertab_slot_add(t, u->uu_hash, count);
	ut_st32(&t->ut_count, count + 1);
	return 0;
}

/* Empties index slot i and shifts the rest of its probe run back. */
static void
usertab_unslot(struct usertab *t, uint32_t i)
{
	uint32_t	 mask = ut_ld32(&t->ut_mask), j = i, home, v;

	for (;;) {
		j = (j + 1) & mask;
		if ((v = ut_ld32(&t->ut_index[j])) == 0)
			break;
		home = (uint32_t)(ut_ld64(&t->ut_offs[v - 1]) >> 32) & mask;
		/* j's entry may move to i only if i lies on its probe path. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			ut_st32(&t->ut_index[i], v);
			i = j;
		}
	}
	ut_st32(&t->ut_index[i], 0);
}

int
usertab_del(struct usertab *t, uint32_t hash, const char *user, size_t len)
{
	struct usertab_user	 u;
	uint32_t		 r, last;
	uint64_t		 lasto;
	long			 slot;

	if ((slot = usertab_find(t, hash, user, len, &u)) < 0)
		return -ENOENT;
	r = ut_ld32(&t->ut_index[slot]) - 1;
	ut_st32(&t->ut_heap_garbage, ut_ld32(&t->ut_heap_garbage) +
	    usertab_rec_words(t, r));
	usertab_unslot(t, (uint32_t)slot);
	last = ut_ld32(&t->ut_count) - 1;
	if (r != last) {
		/* Keep offs[] dense: the last entry moves into the hole. */
		lasto = ut_ld64(&t->ut_offs[last]);
		slot = usertab_slot_of(t, (uint32_t)(lasto >> 32), last);
		ut_st64(&t->ut_offs[r], lasto);
		if (slot >= 0)
			ut_st32(&t->ut_index[slot], r + 1);
	}
	ut_st32(&t->ut_count, last);
	return 0;
}

int
usertab_get(struct usertab *t, uint32_t hash, const char *user, size_t len,
    struct usertab_user *ret)
{
	uint64_t	 seq;
	long		 at;
	int		 tries;

	for (tries = 0; tries < SEQLOCK_SPINS; tries++) {
		if (!seqlock_read_begin(&t->ut_seq, &seq))
			return -EAGAIN;
		at = usertab_find(t, hash, user, len, ret);
		if (seqlock_read_ok(&t->ut_seq, seq))
			return at >= 0 ? 0 : -ENOENT;
	}
	return -EAGAIN;
}

int
usertab_at(struct usertab *t, unsigned i, struct usertab_user *ret)
{
	uint64_t	 seq;
	uint32_t	 count;
	bool		 ok = false;
	int		 tries;

	for (tries = 0; tries < SEQLOCK_SPINS; tries++) {
		if (!seqlock_read_begin(&t->ut_seq, &seq))
			return -EAGAIN;
		count = ut_ld32(&t->ut_count);
		if (i < count && i < t->ut_cap)
			ok = usertab_rec_load(t, i, ret);
		if (seqlock_read_ok(&t->ut_seq, seq))
			return i < count && ok ? 0 : -ENOENT;
	}
	return -EAGAIN;
}

unsigned
usertab_count(struct usertab *t)
{
	return ut_ld32(&t->ut_count);
}

unsigned
usertab_capacity(const struct usertab *t)
{
	return t->ut_cap;
}

size_t
usertab_bytes_used(struct usertab *t)
{
	return ((size_t)ut_ld32(&t->ut_heap_used) -
	    ut_ld32(&t->ut_heap_garbage)) * 8 +
	    (size_t)ut_ld32(&t->ut_count) * (sizeof(uint64_t) +
	    sizeof(uint32_t));
}

uint64_t
usertab_changes(struct usertab *t)
{
	return atomic_load_explicit(&t->ut_changes, memory_order_relaxed);
}
