/*
 * shm_lock.c: process-shared robust mutexes for the tables in shm.
 *
 * The master initialises every lock before fork; workers and the master
 * take them. pthread robust mutexes are what make a SIGKILLed holder
 * survivable: the kernel walks the dead thread's robust list, marks
 * each mutex it held as owner-died and wakes a waiter, which gets
 * EOWNERDEAD instead of sleeping for ever. We turn that into a repair
 * hook run under the lock plus pthread_mutex_consistent(), so that the
 * "forgot to mark consistent" bug (the mutex then stays unusable with
 * ENOTRECOVERABLE) cannot be written by a caller.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shm_lock.h"

/*
 * Our pid, cached: getpid() is a real system call since glibc 2.25 and
 * acquire would otherwise pay it every time. fork() runs the atfork
 * child handler, which refreshes the cache in the new worker; if the
 * handler could not be registered we fall back to getpid() each time.
 */
static pid_t		shm_lock_pid;
static int		shm_lock_pid_cached;
static pthread_once_t	shm_lock_pid_once = PTHREAD_ONCE_INIT;

static void
shm_lock_atfork_child(void)
{
	shm_lock_pid = getpid();
}

static void
shm_lock_pid_init(void)
{
	shm_lock_pid = getpid();
	shm_lock_pid_cached =
	    pthread_atfork(NULL, NULL, shm_lock_atfork_child) == 0;
}

static pid_t
shm_lock_self(void)
{
	(void)pthread_once(&shm_lock_pid_once, shm_lock_pid_init);
	return shm_lock_pid_cached ? shm_lock_pid : getpid();
}

int
shm_lock_init(struct shm_lock *l)
{
	pthread_mutexattr_t	 attr;
	int			 rc;

	if ((rc = pthread_mutexattr_init(&attr)) != 0)
		return -rc;
	/*
	 * Normal type: a relock by the holder is a bug that the debug
	 * assertion in acquire catches; errorcheck would add nothing the
	 * robust path does not already pay for, but would hide the bug in
	 * release builds behind an error nobody checks. No priority
	 * protocol: all sipd processes run at the same priority.
	 */
	if ((rc = pthread_mutexattr_setpshared(&attr,
	    PTHREAD_PROCESS_SHARED)) != 0 ||
	    (rc = pthread_mutexattr_setrobust(&attr,
	    PTHREAD_MUTEX_ROBUST)) != 0 ||
	    (rc = pthread_mutexattr_settype(&attr,
	    PTHREAD_MUTEX_NORMAL)) != 0 ||
	    (rc = pthread_mutexattr_setprotocol(&attr,
	    PTHREAD_PRIO_NONE)) != 0 ||
	    (rc = pthread_mutex_init(&l->sl_mutex, &attr)) != 0) {
		(void)pthread_mutexattr_destroy(&attr);
		return -rc;
	}
	(void)pthread_mutexattr_destroy(&attr);

	atomic_init(&l->sl_owner, 0);
	atomic_init(&l->sl_dead_owner, 0);
	atomic_init(&l->sl_recovered, 0);
	return 0;
}

int
shm_lock_acquire(struct shm_lock *l, void (*repair)(void *), void *arg)
{
	pid_t	 self, dead;
	int	 rc;

	self = shm_lock_self();
	/* A normal mutex taken twice by its holder never returns. */
	assert(atomic_load_explicit(&l->sl_owner, memory_order_relaxed) !=
	    self);

	rc = pthread_mutex_lock(&l->sl_mutex);
	if (rc == 0) {
		atomic_store_explicit(&l->sl_owner, self,
		    memory_order_relaxed);
		return 0;
	}
	if (rc != EOWNERDEAD)
		return -rc;

	/*
	 * We hold the mutex; the data it guards may be half-updated.
	 * Record ourselves first so that _locked helpers the repair hook
	 * calls pass their ownership assertion.
	 */
	dead = atomic_load_explicit(&l->sl_owner, memory_order_relaxed);
	atomic_store_explicit(&l->sl_dead_owner, dead, memory_order_relaxed);
	atomic_store_explicit(&l->sl_owner, self, memory_order_relaxed);
	if (repair != NULL)
		repair(arg);
	if ((rc = pthread_mutex_consistent(&l->sl_mutex)) != 0) {
		/* Only EINVAL, for a mutex that is not robust: a bug. */
		atomic_store_explicit(&l->sl_owner, 0, memory_order_relaxed);
		(void)pthread_mutex_unlock(&l->sl_mutex);
		return -rc;
	}
	atomic_fetch_add_explicit(&l->sl_recovered, 1, memory_order_relaxed);
	return SHM_LOCK_RECOVERED;
}

void
shm_lock_release(struct shm_lock *l)
{
	int	 rc;

	assert(shm_lock_held(l));
	/*
	 * Clear the owner before unlocking: after the unlock another
	 * process may already have written its own pid there.
	 */
	atomic_store_explicit(&l->sl_owner, 0, memory_order_relaxed);
	rc = pthread_mutex_unlock(&l->sl_mutex);
	assert(rc == 0);
	(void)rc;
}

pid_t
shm_lock_owner(const struct shm_lock *l)
{
	return atomic_load_explicit(&l->sl_owner, memory_order_relaxed);
}

pid_t
shm_lock_dead_owner(const struct shm_lock *l)
{
	return atomic_load_explicit(&l->sl_dead_owner, memory_order_relaxed);
}

unsigned
shm_lock_recoveries(const struct shm_lock *l)
{
	return atomic_load_explicit(&l->sl_recovered, memory_order_relaxed);
}

int
shm_lock_held(const struct shm_lock *l)
{
	return atomic_load_explicit(&l->sl_owner, memory_order_relaxed) ==
	    shm_lock_self();
}

int
shm_lock_robust(void)
{
	void	*head;
	size_t	 len;

	/*
	 * Asks rather than infers: glibc initialises a robust mutex even
	 * when its own set_robust_list() call failed at start.
	 */
	return syscall(SYS_get_robust_list, 0, &head, &len) == 0;
}
