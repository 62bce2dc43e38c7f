/*
 * usertab.c: the subscriber table in shm (see usertab.h).
 *
 * Records are an array of max_users words-sized slots, filled densely
 * from 0; an open-addressing index (linear probing, at least twice as
 * many slots as records) maps a username's hash to its record. An
 * index slot holds hash << 32 | (record + 1), 0 when empty, so a probe
 * compares hashes without touching records. Removal shifts the probe
 * run back (no tombstones, so lookups stay short after many edits) and
 * moves the last record into the hole.
 *
 * Every shared word is a relaxed atomic under the table's seqlock; a
 * reader copies a record out and keeps it only if seq did not move.
 * Indexes read from racing words are bounds-checked before use, so a
 * torn read is retried, never followed out of the table.
 */
#include <errno.h>
#include <stdalign.h>
#include <string.h>

#include "seqlock.h"
#include "shm.h"
#include "usertab.h"

#define USERTAB_WORDS	(sizeof(struct usertab_user) / 8)

_Static_assert(sizeof(struct usertab_user) % 8 == 0,
    "usertab_user is copied in 8-byte words");

struct usertab_rec {
	_Atomic uint64_t	ur_w[USERTAB_WORDS];
};

struct usertab {
	alignas(USERTAB_SHM_ALIGN)
	_Atomic uint64_t	 ut_seq;
	_Atomic uint64_t	 ut_changes;
	_Atomic uint32_t	 ut_count;
	uint32_t		 ut_cap;
	uint32_t		 ut_mask;	/* index slots - 1 */
	_Atomic uint64_t	*ut_index;
	struct usertab_rec	*ut_recs;
};

static uint32_t
usertab_slots(unsigned max_users)
{
	uint32_t	 n = 16;

	while (n < (uint64_t)max_users * 2 && n < (1U << 31))
		n *= 2;
	return n;
}

size_t
usertab_shm_size(unsigned max_users)
{
	size_t	 n = sizeof(struct usertab);

	n += (size_t)usertab_slots(max_users) * sizeof(uint64_t);
	n += (size_t)max_users * sizeof(struct usertab_rec);
	return n + USERTAB_SHM_ALIGN;
}

int
usertab_create(unsigned max_users, struct usertab **ret)
{
	void	*p;

	if (max_users == 0 || max_users > (1U << 30))
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

	if (max_users == 0 || max_users > (1U << 30))
		return -EINVAL;
	slots = usertab_slots(max_users);
	/* mem is zeroed: an empty index, no records. */
	t = (struct usertab *)p;
	t->ut_cap = max_users;
	t->ut_mask = slots - 1;
	p += sizeof(*t);
	t->ut_index = (_Atomic uint64_t *)p;
	p += (size_t)slots * sizeof(uint64_t);
	t->ut_recs = (struct usertab_rec *)p;
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

static uint64_t
usertab_slot_load(const struct usertab *t, uint32_t i)
{
	return atomic_load_explicit(&t->ut_index[i], memory_order_relaxed);
}

static void
usertab_slot_store(struct usertab *t, uint32_t i, uint64_t v)
{
	atomic_store_explicit(&t->ut_index[i], v, memory_order_relaxed);
}

static void
usertab_rec_load(const struct usertab *t, uint32_t r, struct usertab_user *u)
{
	seqlock_load_words(u, t->ut_recs[r].ur_w, sizeof(*u));
}

static void
usertab_rec_store(struct usertab *t, uint32_t r, const struct usertab_user *u)
{
	seqlock_store_words(t->ut_recs[r].ur_w, u, sizeof(*u));
}

static bool
usertab_same(const struct usertab_user *u, const char *user, size_t len)
{
	return u->uu_user_len == len && len <= USERTAB_USER_MAX &&
	    memcmp(u->uu_user, user, len) == 0;
}

/*
 * The index slot of user, or -1; *ret holds its record when found. Safe
 * for a racing reader: it stops after one pass over the index and
 * never follows a record number past the table.
 */
static long
usertab_find(const struct usertab *t, uint32_t hash, const char *user,
    size_t len, struct usertab_user *ret)
{
	uint64_t	 v;
	uint32_t	 i = hash & t->ut_mask, r, n;

	for (n = 0; n <= t->ut_mask; n++, i = (i + 1) & t->ut_mask) {
		if ((v = usertab_slot_load(t, i)) == 0)
			return -1;
		if ((uint32_t)(v >> 32) != hash)
			continue;
		r = (uint32_t)v - 1;
		if (r >= t->ut_cap)
			return -1;
		usertab_rec_load(t, r, ret);
		if (usertab_same(ret, user, len))
			return (long)i;
	}
	return -1;
}

/*
 * Empties the index slot by slot of the records present, not by a sweep
 * of the whole index: a sweep would fault in every page of it (2 MB at
 * the default size) on a board that has a dozen users.
 */
void
usertab_clear(struct usertab *t)
{
	struct usertab_user	 u;
	uint32_t		 r, i, n, count;

	count = atomic_load_explicit(&t->ut_count, memory_order_relaxed);
	for (r = 0; r < count; r++) {
		usertab_rec_load(t, r, &u);
		/* Earlier records' slots are empty now: look past holes. */
		for (i = u.uu_hash & t->ut_mask, n = 0; n <= t->ut_mask;
		    i = (i + 1) & t->ut_mask, n++)
			if ((uint32_t)usertab_slot_load(t, i) == r + 1) {
				usertab_slot_store(t, i, 0);
				break;
			}
	}
	atomic_store_explicit(&t->ut_count, 0, memory_order_relaxed);
}

int
usertab_put(struct usertab *t, const struct usertab_user *u)
{
	struct usertab_user	 old;
	uint32_t		 count, i;
	long			 at;

	at = usertab_find(t, u->uu_hash, u->uu_user, u->uu_user_len, &old);
	if (at >= 0) {
		usertab_rec_store(t, (uint32_t)usertab_slot_load(t,
		    (uint32_t)at) - 1, u);
		return 0;
	}
	count = atomic_load_explicit(&t->ut_count, memory_order_relaxed);
	if (count >= t->ut_cap)
		return -ENOSPC;
	usertab_rec_store(t, count, u);
	i = u->uu_hash & t->ut_mask;
	while (usertab_slot_load(t, i) != 0)
		i = (i + 1) & t->ut_mask;
	usertab_slot_store(t, i, (uint64_t)u->uu_hash << 32 | (count + 1));
	atomic_store_explicit(&t->ut_count, count + 1, memory_order_relaxed);
	return 0;
}

/* Empties index slot i and shifts the rest of its probe run back. */
static void
usertab_unslot(struct usertab *t, uint32_t i)
{
	uint64_t	 v;
	uint32_t	 j = i, home;

	for (;;) {
		j = (j + 1) & t->ut_mask;
		if ((v = usertab_slot_load(t, j)) == 0)
			break;
		home = (uint32_t)(v >> 32) & t->ut_mask;
		/* j's entry may move to i only if i lies on its probe path. */
		if (((j - home) & t->ut_mask) >= ((j - i) & t->ut_mask)) {
			usertab_slot_store(t, i, v);
			i = j;
		}
	}
	usertab_slot_store(t, i, 0);
}

int
usertab_del(struct usertab *t, uint32_t hash, const char *user, size_t len)
{
	struct usertab_user	 u, last;
	uint32_t		 r, lastr, count;
	long			 at;

	if ((at = usertab_find(t, hash, user, len, &u)) < 0)
		return -ENOENT;
	r = (uint32_t)usertab_slot_load(t, (uint32_t)at) - 1;
	usertab_unslot(t, (uint32_t)at);
	count = atomic_load_explicit(&t->ut_count, memory_order_relaxed);
	lastr = count - 1;
	if (r != lastr) {
		/* Keep records dense: the last one moves into the hole. */
		usertab_rec_load(t, lastr, &last);
		at = usertab_find(t, last.uu_hash, last.uu_user,
		    last.uu_user_len, &u);
		usertab_rec_store(t, r, &last);
		if (at >= 0)
			usertab_slot_store(t, (uint32_t)at,
			    (uint64_t)last.uu_hash << 32 | (r + 1));
	}
	atomic_store_explicit(&t->ut_count, lastr, memory_order_relaxed);
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
	int		 tries;

	for (tries = 0; tries < SEQLOCK_SPINS; tries++) {
		if (!seqlock_read_begin(&t->ut_seq, &seq))
			return -EAGAIN;
		count = atomic_load_explicit(&t->ut_count,
		    memory_order_relaxed);
		if (i < count && i < t->ut_cap)
			usertab_rec_load(t, i, ret);
		if (seqlock_read_ok(&t->ut_seq, seq))
			return i < count ? 0 : -ENOENT;
	}
	return -EAGAIN;
}

unsigned
usertab_count(struct usertab *t)
{
	return atomic_load_explicit(&t->ut_count, memory_order_relaxed);
}

unsigned
usertab_capacity(const struct usertab *t)
{
	return t->ut_cap;
}

uint64_t
usertab_changes(struct usertab *t)
{
	return atomic_load_explicit(&t->ut_changes, memory_order_relaxed);
}
