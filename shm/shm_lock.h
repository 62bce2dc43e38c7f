/*
 * shm_lock: process-shared robust mutexes living in the shm mapping.
 *
 * A worker killed while holding one does not hang the others: the next
 * process to take the lock is told the owner died, repairs the guarded
 * data through the hook it passed, and the lock is usable again. The
 * owner's pid is kept beside the mutex so that the master can say which
 * dead worker held what, and debug builds can assert "held by me" in
 * _locked functions. Workers are single-threaded, so a pid names the
 * holder.
 *
 * Under a lock: no I/O, no logging, no malloc, no waiting, bounded work
 * (STYLE.md, shared memory rule 4). That applies to repair hooks too.
 */
#ifndef SIPD_SHM_LOCK_H
#define SIPD_SHM_LOCK_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

/*
 * Lives in shm; set up once with shm_lock_init() by the master before
 * fork. The atomics are written only by the holder of sl_mutex, but
 * the master reads them without taking it (after a worker death, for
 * MI), hence atomic rather than plain fields.
 */
struct shm_lock {
	pthread_mutex_t		sl_mutex;
	_Atomic pid_t		sl_owner;	/* holder's pid, 0 when free */
	_Atomic pid_t		sl_dead_owner;	/* last owner recovered from */
	_Atomic unsigned	sl_recovered;	/* takeovers from dead owners */
};

/* shm_lock_acquire(): the previous owner died holding the lock. */
#define SHM_LOCK_RECOVERED	1

/* 0 or -errno from the pthread attribute calls. Master, before fork. */
int	shm_lock_init(struct shm_lock *l);

/*
 * Takes the lock, waiting for it. Returns:
 *   0                    taken;
 *   SHM_LOCK_RECOVERED   taken, but the previous owner died holding it:
 *                        repair(arg) has already run (under the lock)
 *                        and the lock was marked consistent, so the
 *                        caller only warns (shm_lock_dead_owner() says
 *                        who died) and goes on;
 *   -ENOTRECOVERABLE     not taken: the lock is unusable (cannot happen
 *                        unless someone bypassed this API);
 *   other -errno         not taken (EINVAL, EAGAIN from pthread).
 * The lock is held exactly when the result is >= 0.
 *
 * repair may be NULL when the guarded data is consistent at every
 * instant (single-word updates). Otherwise it must leave the data
 * consistent whatever the dead owner was doing: the dead owner could
 * have stopped at any store. It may run more than once for one death if
 * the repairing process dies too. It must not take other shm locks.
 * Repairing inside acquire means no caller can forget to mark the
 * mutex consistent, which would make it unusable for good.
 */
int	shm_lock_acquire(struct shm_lock *l, void (*repair)(void *arg),
	    void *arg);
/* Releases a lock taken by shm_lock_acquire() in this process. */
void	shm_lock_release(struct shm_lock *l);

/*
 * The holder's pid, or 0. A snapshot for the master: after waitpid()
 * returns a dead worker, every lock whose owner is that pid was held by
 * it (until another process recovers the lock). May be 0 for a holder
 * that died in the few instructions between taking the mutex and
 * recording itself.
 */
pid_t	shm_lock_owner(const struct shm_lock *l);
/* The pid of the last dead owner a recovery took over from, or 0. */
pid_t	shm_lock_dead_owner(const struct shm_lock *l);
/* How many times the lock was recovered from a dead owner. */
unsigned shm_lock_recoveries(const struct shm_lock *l);
/* 1 when the calling process holds the lock, else 0. */
int	shm_lock_held(const struct shm_lock *l);

/*
 * 1 when the kernel keeps this process's robust-futex list, so that a
 * holder's death reaches the next locker as EOWNERDEAD; 0 where
 * get_robust_list(2) fails. Every Linux kernel with futexes has it;
 * qemu-user does not (it cannot walk a guest's list when a guest
 * thread dies) and answers ENOSYS. There the locks still work, but a
 * process that dies holding one leaves it held for good.
 */
int	shm_lock_robust(void);

/* For _locked functions; compiled out with NDEBUG as assert() is. */
#define shm_lock_assert_held(l)	assert(shm_lock_held(l))

#endif
