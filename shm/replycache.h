/*
 * replycache: tm's completed-transaction slots: the final reply sipd
 * made itself for a recent non-INVITE server transaction (a REGISTER's
 * 200, 423, ...), in the shared mapping, so that a retransmitted request
 * gets the same answer again (RFC 3261 §17.2.2) whichever worker receives
 * it, at a fraction of a transaction cell's cost. Without it a
 * retransmitted authorized REGISTER would be checked again and refused as
 * a replayed nonce count. Challenges are not kept (they are stateless).
 *
 * The master sizes it with replycache_shm_size() and carves it with
 * replycache_create() before it forks. It is a direct-mapped table of
 * REPLYCACHE_SLOTS fixed slots, each with its own robust lock; a store
 * overwrites whatever the slot held, so under load an entry may be
 * gone before REPLYCACHE_TTL: the request is then handled afresh, as
 * it was before this cache existed.
 *
 * Callers name a transaction by a 64-bit key they build with
 * fnv_field() (fnv.h) over its identifying fields; the cache compares keys
 * only. A collision of two live transactions (about 2^-64 per pair)
 * costs the later one its answer until the entry expires; the stored
 * reply still goes to the stored destination, never to the new sender.
 *
 * Lookups copy the reply out (STYLE.md, shared memory rule 2). Nothing
 * here logs.
 */
#ifndef SIPD_REPLYCACHE_H
#define SIPD_REPLYCACHE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Slots, a power of two. Each costs REPLYCACHE_SLOT_SIZE of address
 * space, resident once used, and a 64-byte lock line resident from the
 * start (the master initialises every lock): 96 KB + 4 KB in all, a
 * budget the memory targets allow. That holds the last 64 replies:
 * seconds of a real deployment, about 16 ms at 2,000 registrations/s;
 * an authorized REGISTER retransmitted after its entry was overwritten
 * is recognised by the registrar from its binding instead.
 */
#define REPLYCACHE_SLOTS	64
/* Bytes a slot takes; the reply gets what its header leaves. */
#define REPLYCACHE_SLOT_SIZE	1536
/* Longest reply stored; longer ones are not cached. */
#define REPLYCACHE_REPLY_MAX	1488
/* Seconds an entry answers retransmissions: 64*T1, Timer J (§17.2.2). */
#define REPLYCACHE_TTL		32
/* Alignment of the carve: replycache_shm_size() and shm_size_add(). */
#define REPLYCACHE_SHM_ALIGN	64

/* replycache_lookup(): nothing stored for the key, or too old. */
#define REPLYCACHE_E_MISS	1

/* Bytes of shm replycache_create() carves, aligned REPLYCACHE_SHM_ALIGN. */
size_t	replycache_shm_size(void);
/*
 * Carves and initialises the table. Master, after shm_create() and
 * before fork. 0, or -errno of shm_carve() or of the lock set-up.
 */
int	replycache_create(void);

/*
 * The reply stored for key, if younger than REPLYCACHE_TTL at now:
 * copies it into out (cap bytes) and sets *ret_len and *ret_dst /
 * *ret_dstlen (where it was sent), and returns 0. REPLYCACHE_E_MISS
 * when there is none; -ENOBUFS when cap is too small; -ENXIO before
 * replycache_create(); other -errno from the lock. Out params are set
 * only on 0. A miss costs one atomic load and no lock.
 */
int	replycache_lookup(uint64_t key, time_t now, char *out, size_t cap,
	    size_t *ret_len, struct sockaddr_storage *ret_dst,
	    socklen_t *ret_dstlen);

/*
 * Remembers reply (len bytes, sent to dst at now) for key, replacing
 * what the slot held. 0; -EMSGSIZE when len is 0 or above
 * REPLYCACHE_REPLY_MAX, -EINVAL for a dst that is not IPv4/IPv6 (nothing
 * stored then); -ENXIO before replycache_create(); other -errno from the
 * lock.
 */
int	replycache_store(uint64_t key, time_t now, const char *reply,
	    size_t len, const struct sockaddr *dst, socklen_t dstlen);

/* Slot locks held by pid, and takeovers from dead owners since start. */
void	replycache_locks(pid_t pid, unsigned *ret_held,
	    unsigned *ret_recovered);

#endif
