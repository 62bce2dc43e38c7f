/*
 * replycache.c: the shared cache of final replies to recent non-INVITE
 * requests, so that a retransmission is answered with the same bytes
 * (RFC 3261 §17.2.2). The master carves and initialises it before fork;
 * the UDP workers look up and store.
 *
 * Layout, in one carve: a header (magic, version, sizes), then one
 * 64-byte line per slot holding its robust lock and its key, then the
 * slots (time, destination, reply bytes). Keeping locks and keys apart
 * from the reply bytes means the master's lock set-up and the workers'
 * misses touch only the small line array: a slot's pages become
 * resident only when a reply is stored in it.
 *
 * Locking: one shm_lock per slot guards the slot and the key beside the
 * lock. A lookup first reads the key without the lock, so the common
 * path of a new request takes no lock: a different key means another
 * transaction's reply or none. It can also mean a store of this very key
 * is under way, i.e. two copies of one request are being handled at the
 * same instant by two workers; the second is then answered afresh, as
 * every copy was before this cache, and the UA keeps the first final
 * reply it gets. An equal key takes the lock, checks again and copies
 * out. A store takes the lock, clears the key, writes, sets the key.
 *
 * Why robust mutexes rather than a seqlock: a writer SIGKILLed half way
 * through would leave a seqlock odd for ever, and telling a dead writer
 * from a slow one needs the owner pid and a liveness check that
 * shm_lock already does, with the kernel's help. The repair hook only
 * empties the slot, so a torn reply can never be sent.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "replycache.h"
#include "shm.h"
#include "shm_lock.h"

#define REPLYCACHE_MAGIC	0x73697072U	/* "sipr" */
#define REPLYCACHE_VERSION	1U

_Static_assert((REPLYCACHE_SLOTS & (REPLYCACHE_SLOTS - 1)) == 0,
    "REPLYCACHE_SLOTS must be a power of two");

/* Written by the master before fork, read-only afterwards: no lock. */
struct replycache_hdr {
	alignas(REPLYCACHE_SHM_ALIGN)
	uint32_t	rch_magic;	/* REPLYCACHE_MAGIC */
	uint32_t	rch_version;	/* REPLYCACHE_VERSION */
	uint32_t	rch_slots;	/* REPLYCACHE_SLOTS */
	uint32_t	rch_slot_size;	/* REPLYCACHE_SLOT_SIZE */
};

/* One per slot, on its own cache line so workers do not share lines. */
struct replycache_line {
	alignas(REPLYCACHE_SHM_ALIGN)
	struct shm_lock		rl_lock;
	/*
	 * Key of the reply in the slot, 0 = empty. Written under rl_lock;
	 * read under it for the answer, and without it only as a hint.
	 */
	_Atomic uint64_t	rl_key;
};

/* Every field guarded by the rl_lock of the line with the same index. */
struct replycache_slot {
	int64_t		rs_time;	/* when the reply was sent */
	uint32_t	rs_len;		/* bytes in rs_data */
	uint32_t	rs_dstlen;	/* bytes of rs_dst in use */
	union {
		struct sockaddr_in	v4;
		struct sockaddr_in6	v6;
	}		rs_dst;		/* where the reply went */
	char		rs_data[REPLYCACHE_REPLY_MAX];
};

_Static_assert(sizeof(struct replycache_slot) == REPLYCACHE_SLOT_SIZE,
    "REPLYCACHE_REPLY_MAX does not fill REPLYCACHE_SLOT_SIZE");

/* Offsets inside the carve; the carve itself is REPLYCACHE_SHM_ALIGN. */
#define REPLYCACHE_LINES_OFF	sizeof(struct replycache_hdr)
#define REPLYCACHE_SLOTS_OFF	(REPLYCACHE_LINES_OFF + \
	    REPLYCACHE_SLOTS * sizeof(struct replycache_line))

/* Process-local: set by the master, inherited by the workers. */
static struct replycache_hdr	*replycache_hdr;
static struct replycache_line	*replycache_lines;
static struct replycache_slot	*replycache_slots;

/* 0 marks an empty slot: a key that hashed to it is moved aside. */
static uint64_t
replycache_fix_key(uint64_t key)
{
	return key != 0 ? key : 1;
}

/*
 * FNV's low bits depend on few input bits; the murmur3 finaliser mixes
 * every bit in before the mask picks the slot.
 */
static size_t
replycache_index(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	key *= 0xc4ceb9fe1a85ec53ULL;
	key ^= key >> 33;
	return (size_t)(key & (REPLYCACHE_SLOTS - 1));
}

size_t
replycache_shm_size(void)
{
	return REPLYCACHE_SLOTS_OFF +
	    REPLYCACHE_SLOTS * sizeof(struct replycache_slot);
}

int
replycache_create(void)
{
	unsigned char	*base;
	size_t		 i;
	int		 rc;

	if ((base = shm_carve(replycache_shm_size(),
	    REPLYCACHE_SHM_ALIGN)) == NULL)
		return -errno;
	replycache_hdr = (struct replycache_hdr *)(void *)base;
	replycache_lines = (struct replycache_line *)(void *)
	    (base + REPLYCACHE_LINES_OFF);
	replycache_slots = (struct replycache_slot *)(void *)
	    (base + REPLYCACHE_SLOTS_OFF);
	for (i = 0; i < REPLYCACHE_SLOTS; i++) {
		if ((rc = shm_lock_init(&replycache_lines[i].rl_lock)) != 0) {
			replycache_hdr = NULL;
			return rc;
		}
		atomic_init(&replycache_lines[i].rl_key, 0);
	}
	/* The slots stay untouched: zero pages, not resident. */
	replycache_hdr->rch_magic = REPLYCACHE_MAGIC;
	replycache_hdr->rch_version = REPLYCACHE_VERSION;
	replycache_hdr->rch_slots = REPLYCACHE_SLOTS;
	replycache_hdr->rch_slot_size = sizeof(struct replycache_slot);
	return 0;
}

/*
 * A writer died holding the lock: the slot may be half written. Empty
 * it; the request's next retransmission is then handled afresh.
 */
static void
replycache_repair(void *arg)
{
	struct replycache_line	*l = arg;

	atomic_store_explicit(&l->rl_key, 0, memory_order_relaxed);
}

/* Whether an entry sent at t still answers at now (clock may step). */
static int
replycache_fresh(int64_t t, time_t now)
{
	return (int64_t)now >= t && (int64_t)now - t < REPLYCACHE_TTL;
}

int
replycache_lookup(uint64_t key, time_t now, char *out, size_t cap,
    size_t *ret_len, struct sockaddr_storage *ret_dst,
    socklen_t *ret_dstlen)
{
	struct replycache_line	*l;
	struct replycache_slot	*s;
	struct sockaddr_storage	 dst;
	socklen_t		 dstlen = 0;
	size_t			 i, len = 0;
	int			 rc;

	if (replycache_hdr == NULL)
		return -ENXIO;
	key = replycache_fix_key(key);
	i = replycache_index(key);
	l = &replycache_lines[i];
	if (atomic_load_explicit(&l->rl_key, memory_order_relaxed) != key)
		return REPLYCACHE_E_MISS;

	if ((rc = shm_lock_acquire(&l->rl_lock, replycache_repair, l)) < 0)
		return rc;
	s = &replycache_slots[i];
	if (atomic_load_explicit(&l->rl_key, memory_order_relaxed) != key ||
	    !replycache_fresh(s->rs_time, now))
		rc = REPLYCACHE_E_MISS;
	else if (s->rs_len > cap)
		rc = -ENOBUFS;
	else {
		len = s->rs_len;
		memcpy(out, s->rs_data, len);
		memset(&dst, 0, sizeof(dst));
		dstlen = s->rs_dstlen;
		memcpy(&dst, &s->rs_dst, dstlen);
		rc = 0;
	}
	shm_lock_release(&l->rl_lock);

	if (rc == 0) {
		*ret_len = len;
		*ret_dst = dst;
		*ret_dstlen = dstlen;
	}
	return rc;
}

int
replycache_store(uint64_t key, time_t now, const char *reply, size_t len,
    const struct sockaddr *dst, socklen_t dstlen)
{
	struct replycache_line	*l;
	struct replycache_slot	*s;
	socklen_t		 use;
	size_t			 i;
	int			 rc;

	if (replycache_hdr == NULL)
		return -ENXIO;
	if (len == 0 || len > REPLYCACHE_REPLY_MAX)
		return -EMSGSIZE;
	if (dst->sa_family == AF_INET &&
	    dstlen >= (socklen_t)sizeof(struct sockaddr_in))
		use = sizeof(struct sockaddr_in);
	else if (dst->sa_family == AF_INET6 &&
	    dstlen >= (socklen_t)sizeof(struct sockaddr_in6))
		use = sizeof(struct sockaddr_in6);
	else
		return -EINVAL;
	key = replycache_fix_key(key);
	i = replycache_index(key);
	l = &replycache_lines[i];
	s = &replycache_slots[i];

	if ((rc = shm_lock_acquire(&l->rl_lock, replycache_repair, l)) < 0)
		return rc;
	/* Empty while written: no lookup can match a half-written slot. */
	atomic_store_explicit(&l->rl_key, 0, memory_order_relaxed);
	s->rs_time = (int64_t)now;
	s->rs_len = (uint32_t)len;
	s->rs_dstlen = (uint32_t)use;
	memcpy(&s->rs_dst, dst, use);
	memcpy(s->rs_data, reply, len);
	atomic_store_explicit(&l->rl_key, key, memory_order_relaxed);
	shm_lock_release(&l->rl_lock);
	return 0;
}

void
replycache_locks(pid_t pid, unsigned *ret_held, unsigned *ret_recovered)
{
	unsigned	 i;

	*ret_held = *ret_recovered = 0;
	if (replycache_lines == NULL)
		return;
	for (i = 0; i < REPLYCACHE_SLOTS; i++) {
		*ret_held += shm_lock_owner(&replycache_lines[i].rl_lock) ==
		    pid;
		*ret_recovered += shm_lock_recoveries(
		    &replycache_lines[i].rl_lock);
	}
}
