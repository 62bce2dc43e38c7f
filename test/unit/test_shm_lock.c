/*
 * test_shm_lock.c: unit tests for shm/shm.c and shm/shm_lock.c.
 *
 * Runs as one cmocka process that forks real children, as the master
 * does: no mocks. Children never call cmocka (its longjmp state belongs
 * to the parent); they report through the shared mapping and their exit
 * status. Anything that could block for ever runs in a child with an
 * alarm(), and the parent reaps children with a bounded wait, so a
 * regression fails a test instead of hanging the suite.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "shm.h"
#include "shm_lock.h"

#include "testutil.h"

#define TEST_MAP_SIZE	(64 * 1024)
#define TEST_WAIT_MS	5000	/* per child; typical runs take a few ms */
#define TEST_CHILD_ALARM 5	/* seconds before a stuck child dies */
#define TEST_WORKERS	4
#define TEST_ROUNDS	20000

/*
 * What the lock tests share between processes. Guarded by la_lock
 * except la_rc and la_held_in_child, each written by one child only.
 */
struct lock_area {
	struct shm_lock	la_lock;
	unsigned long	la_counter;
	unsigned	la_repairs;	/* repair hook runs */
	int		la_torn;	/* set by a holder, cleared by repair */
	int		la_rc[TEST_WORKERS][2];	/* child i's acquire results */
	pid_t		la_seen_dead;	/* dead owner seen by the repairer */
	int		la_held_in_child; /* shm_lock_held() in a non-holder */
	unsigned	la_repair_unheld; /* repairs run without the lock */
};

static int
setup_map(void **state)
{
	(void)state;
	return shm_create(TEST_MAP_SIZE) == 0 ? 0 : -1;
}

static int
teardown_map(void **state)
{
	(void)state;
	shm_destroy();
	return 0;
}

/* 1 when status says the child called _exit(0). */
static int
exited_ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
repair_area(void *arg)
{
	struct lock_area	*la = arg;

	/* Runs under the lock: the ownership assertion must hold. */
	if (!shm_lock_held(&la->la_lock))
		la->la_repair_unheld++;
	la->la_repairs++;
	la->la_torn = 0;
	la->la_seen_dead = shm_lock_dead_owner(&la->la_lock);
}

static struct lock_area *
new_area(void)
{
	struct lock_area	*la;

	la = shm_carve(sizeof(*la), alignof(struct lock_area));
	assert_non_null(la);
	assert_int_equal(shm_lock_init(&la->la_lock), 0);
	return la;
}

/*
 * Forks a child that takes the lock, marks the data torn and then waits
 * to be killed. Returns its pid once it holds the lock.
 */
static pid_t
spawn_holder(struct lock_area *la)
{
	struct pollfd	 pfd;
	int		 fds[2];
	char		 c = 0;
	pid_t		 pid;

	assert_int_equal(pipe(fds), 0);
	pid = testutil_fork();
	assert_true(pid != -1);
	if (pid == 0) {
		(void)close(fds[0]);
		alarm(TEST_CHILD_ALARM);
		if (shm_lock_acquire(&la->la_lock, repair_area, la) < 0)
			_exit(1);
		la->la_torn = 1;
		if (write(fds[1], "x", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	(void)close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, TEST_WAIT_MS), 1);
	assert_int_equal(read(fds[0], &c, 1), 1);
	(void)close(fds[0]);
	return pid;
}

static sigjmp_buf	test_alarm_jmp;

static void
test_on_alarm(int sig)
{
	(void)sig;
	siglongjmp(test_alarm_jmp, 1);
}

/*
 * shm_lock_acquire() in the parent, bounded: when the lock is broken
 * (a dead owner not recovered) the parent would sleep in the futex for
 * ever, so an alarm jumps out of it and the caller's assertion fails.
 * Jumping out of a lock wait is not something to do in sipd; here it
 * only ever happens on the way to a failed test. Returns the acquire
 * result, or -ETIMEDOUT.
 */
static int
parent_acquire(struct lock_area *la, void (*repair)(void *))
{
	struct sigaction	 sa, old;
	volatile int		 rc = -ETIMEDOUT;
	unsigned		 backstop;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = test_on_alarm;
	(void)sigemptyset(&sa.sa_mask);
	backstop = alarm(0);
	(void)sigaction(SIGALRM, &sa, &old);
	if (sigsetjmp(test_alarm_jmp, 1) == 0) {
		alarm(TEST_CHILD_ALARM);
		rc = shm_lock_acquire(&la->la_lock, repair, la);
	}
	alarm(0);
	(void)sigaction(SIGALRM, &old, NULL);
	alarm(backstop);
	return rc;
}

/* Kills the holder with SIGKILL and checks it died of it. */
static void
kill_holder(pid_t pid)
{
	int	 status;

	assert_int_equal(kill(pid, SIGKILL), 0);
	status = testutil_reap(pid, TEST_WAIT_MS);
	assert_true(status != -1);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* --- shm.c ------------------------------------------------------- */

static void
test_create_args(void **state)
{
	struct shm_usage	 u;

	(void)state;
	/* No mapping yet: everything fails cleanly. */
	assert_int_equal(shm_check(), -ENXIO);
	errno = 0;
	assert_null(shm_carve(16, 0));
	assert_int_equal(errno, ENXIO);
	shm_usage(&u);
	assert_int_equal(u.su_total, 0);
	assert_int_equal(u.su_fragments, 0);
	shm_destroy();

	assert_int_equal(shm_create(0), -EINVAL);
	assert_int_equal(shm_create(SIZE_MAX), -ENOMEM);
	assert_int_equal(shm_create(1), 0);
	assert_int_equal(shm_create(1), -EEXIST);
	assert_int_equal(shm_check(), 0);
	shm_usage(&u);
	assert_int_equal(u.su_total, shm_page_round(1));
	shm_destroy();
	shm_destroy();
	assert_int_equal(shm_check(), -ENXIO);
}

static void
test_usage(void **state)
{
	struct shm_usage	 u;
	size_t			 base = shm_size_base();
	size_t			 used;

	(void)state;
	shm_usage(&u);
	assert_int_equal(u.su_total, shm_page_round(TEST_MAP_SIZE));
	assert_int_equal(u.su_used, base);
	assert_int_equal(u.su_free, u.su_total - base);
	assert_int_equal(u.su_max_used, base);
	assert_int_equal(u.su_fragments, 0);

	assert_non_null(shm_carve(100, 8));
	used = shm_size_add(base, 100, 8);
	assert_non_null(shm_carve(1000, 64));
	used = shm_size_add(used, 1000, 64);
	assert_non_null(shm_carve(1, 1));
	used = shm_size_add(used, 1, 1);

	shm_usage(&u);
	assert_int_equal(u.su_used, used);
	assert_int_equal(u.su_free, u.su_total - used);
	assert_int_equal(u.su_max_used, used);
	assert_int_equal(u.su_fragments, 3);
	assert_int_equal(shm_check(), 0);
}

static void
test_carve_full(void **state)
{
	struct shm_usage	 before, after;
	unsigned char		*p;
	size_t			 i;

	(void)state;
	shm_usage(&before);
	errno = 0;
	assert_null(shm_carve(before.su_free + 1, 1));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(shm_carve(SIZE_MAX, 1));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(shm_carve(SIZE_MAX - 8, 4096));
	assert_int_equal(errno, ENOMEM);
	shm_usage(&after);
	assert_memory_equal(&before, &after, sizeof(before));

	/* Exactly the rest fits, then nothing does. */
	p = shm_carve(before.su_free, 1);
	assert_non_null(p);
	for (i = 0; i < before.su_free; i++)
		assert_int_equal(p[i], 0);
	shm_usage(&after);
	assert_int_equal(after.su_free, 0);
	assert_int_equal(after.su_used, after.su_total);
	errno = 0;
	assert_null(shm_carve(1, 1));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(shm_check(), 0);
}

static void
test_carve_align(void **state)
{
	static const size_t	 aligns[] = { 1, 2, 8, 16, 64, 256, 4096 };
	unsigned char		*p;
	size_t			 i, j;

	(void)state;
	for (i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		/* Knock the bump pointer off any alignment first. */
		assert_non_null(shm_carve(3, 1));
		p = shm_carve(24, aligns[i]);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % aligns[i], 0);
		for (j = 0; j < 24; j++)
			assert_int_equal(p[j], 0);
	}
	assert_non_null(shm_carve(1, 1));
	p = shm_carve(sizeof(long double), 0);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % alignof(max_align_t), 0);

	errno = 0;
	assert_null(shm_carve(8, 3));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(shm_carve(0, 8));
	assert_int_equal(errno, EINVAL);
}

static void
test_size_helpers(void **state)
{
	struct shm_usage	 u;
	size_t			 ps = (size_t)sysconf(_SC_PAGESIZE);
	size_t			 need;

	(void)state;
	assert_int_equal(shm_page_round(0), 0);
	assert_int_equal(shm_page_round(1), ps);
	assert_int_equal(shm_page_round(ps), ps);
	assert_int_equal(shm_page_round(ps + 1), 2 * ps);
	assert_int_equal(shm_page_round(SIZE_MAX), SIZE_MAX);

	assert_int_equal(shm_size_add(1, 8, 8), 16);
	assert_int_equal(shm_size_add(1, 8, 3), SIZE_MAX);
	assert_int_equal(shm_size_add(SIZE_MAX, 1, 1), SIZE_MAX);
	assert_int_equal(shm_size_add(SIZE_MAX - 2, 8, 1), SIZE_MAX);
	assert_int_equal(shm_size_add(SIZE_MAX - 2, 0, 64), SIZE_MAX);

	/* A mapping sized by the helpers takes exactly those carves. */
	shm_destroy();
	need = shm_size_add(shm_size_base(), 3 * ps - 200, 64);
	need = shm_size_add(need, 100, 0);
	need = shm_size_add(need, 50, 1);
	need = shm_size_add(need, 150, 16);
	assert_int_equal(shm_create(need), 0);
	assert_non_null(shm_carve(3 * ps - 200, 64));
	assert_non_null(shm_carve(100, 0));
	assert_non_null(shm_carve(50, 1));
	assert_non_null(shm_carve(150, 16));
	shm_usage(&u);
	assert_int_equal(u.su_used, need);
}

static void
test_shared_after_fork(void **state)
{
	unsigned	*word;
	pid_t		 pid;

	(void)state;
	word = shm_carve(sizeof(*word), 0);
	assert_non_null(word);
	pid = testutil_fork();
	assert_true(pid != -1);
	if (pid == 0) {
		alarm(TEST_CHILD_ALARM);
		/* Carving after fork is refused; the mapping is shared. */
		if (shm_carve(8, 0) != NULL || errno != EPERM)
			_exit(1);
		if (shm_check() != 0)
			_exit(2);
		*word = 0xc0ffee;
		_exit(0);
	}
	assert_true(exited_ok(testutil_reap(pid, TEST_WAIT_MS)));
	assert_int_equal(*word, 0xc0ffee);
}

/* --- shm_lock.c -------------------------------------------------- */

/*
 * Every Linux kernel with futexes keeps a robust list (what recovery
 * rests on); only emulators lack it, and test/cross.sh leaves this out
 * there.
 */
static void
test_lock_robust_kernel(void **state)
{
	(void)state;
	assert_int_equal(shm_lock_robust(), 1);
}

static void
test_lock_basic(void **state)
{
	struct lock_area	*la;
	pid_t			 pid;

	(void)state;
	la = new_area();
	assert_int_equal(shm_lock_owner(&la->la_lock), 0);
	assert_false(shm_lock_held(&la->la_lock));

	assert_int_equal(shm_lock_acquire(&la->la_lock, NULL, NULL), 0);
	assert_true(shm_lock_held(&la->la_lock));
	shm_lock_assert_held(&la->la_lock);
	assert_int_equal(shm_lock_owner(&la->la_lock), getpid());

	/* Another process sees us as the owner, not itself. */
	pid = testutil_fork();
	assert_true(pid != -1);
	if (pid == 0) {
		alarm(TEST_CHILD_ALARM);
		la->la_held_in_child = shm_lock_held(&la->la_lock);
		_exit(shm_lock_owner(&la->la_lock) == getppid() ? 0 : 1);
	}
	assert_true(exited_ok(testutil_reap(pid, TEST_WAIT_MS)));
	assert_int_equal(la->la_held_in_child, 0);

	shm_lock_release(&la->la_lock);
	assert_int_equal(shm_lock_owner(&la->la_lock), 0);
	assert_false(shm_lock_held(&la->la_lock));
	assert_int_equal(shm_lock_recoveries(&la->la_lock), 0);
	assert_int_equal(shm_lock_dead_owner(&la->la_lock), 0);
}

/* (a) Children race on a non-atomic counter; the lock keeps it exact. */
static void
test_lock_counter(void **state)
{
	struct lock_area	*la;
	pid_t			 pids[TEST_WORKERS];
	int			 i, n;

	(void)state;
	la = new_area();
	for (i = 0; i < TEST_WORKERS; i++) {
		pids[i] = testutil_fork();
		assert_true(pids[i] != -1);
		if (pids[i] != 0)
			continue;
		alarm(TEST_CHILD_ALARM);
		for (n = 0; n < TEST_ROUNDS; n++) {
			volatile unsigned long	*c = &la->la_counter;
			unsigned long		 v;

			if (shm_lock_acquire(&la->la_lock, NULL, NULL) != 0)
				_exit(1);
			if (shm_lock_owner(&la->la_lock) != getpid())
				_exit(2);
			/* Read, pause, write: lost updates if unlocked. */
			v = *c;
			if (n % 1024 == 0)
				sched_yield();
			*c = v + 1;
			shm_lock_release(&la->la_lock);
		}
		_exit(0);
	}
	for (i = 0; i < TEST_WORKERS; i++)
		assert_true(exited_ok(testutil_reap(pids[i], TEST_WAIT_MS)));
	assert_int_equal(la->la_counter,
	    (unsigned long)TEST_WORKERS * TEST_ROUNDS);
	assert_int_equal(shm_lock_owner(&la->la_lock), 0);
	assert_int_equal(shm_lock_recoveries(&la->la_lock), 0);
}

/*
 * (b) The holder is SIGKILLed; another child takes the lock without
 * hanging, gets SHM_LOCK_RECOVERED, the repair hook runs once, and the
 * next acquire is a plain 0.
 */
static void
test_lock_owner_dies_child_recovers(void **state)
{
	struct lock_area	*la;
	pid_t			 holder, pid;

	(void)state;
	la = new_area();
	holder = spawn_holder(la);
	assert_int_equal(shm_lock_owner(&la->la_lock), holder);
	kill_holder(holder);
	/* What the master sees after waitpid(): the dead pid holds it. */
	assert_int_equal(shm_lock_owner(&la->la_lock), holder);
	assert_int_equal(la->la_torn, 1);

	pid = testutil_fork();
	assert_true(pid != -1);
	if (pid == 0) {
		alarm(TEST_CHILD_ALARM);
		la->la_rc[0][0] = shm_lock_acquire(&la->la_lock, repair_area,
		    la);
		if (la->la_rc[0][0] < 0)
			_exit(1);
		if (la->la_torn != 0)
			_exit(2);
		shm_lock_release(&la->la_lock);
		la->la_rc[0][1] = shm_lock_acquire(&la->la_lock, repair_area,
		    la);
		if (la->la_rc[0][1] < 0)
			_exit(3);
		shm_lock_release(&la->la_lock);
		_exit(0);
	}
	assert_true(exited_ok(testutil_reap(pid, TEST_WAIT_MS)));
	assert_int_equal(la->la_rc[0][0], SHM_LOCK_RECOVERED);
	assert_int_equal(la->la_rc[0][1], 0);
	assert_int_equal(la->la_repairs, 1);
	assert_int_equal(la->la_torn, 0);
	assert_int_equal(la->la_seen_dead, holder);
	assert_int_equal(shm_lock_dead_owner(&la->la_lock), holder);
	assert_int_equal(shm_lock_recoveries(&la->la_lock), 1);
	assert_int_equal(shm_lock_owner(&la->la_lock), 0);
	assert_int_equal(la->la_repair_unheld, 0);

	assert_int_equal(parent_acquire(la, repair_area), 0);
	shm_lock_release(&la->la_lock);
	assert_int_equal(la->la_repairs, 1);
}

/* (b) The same, with the parent (as the master would) recovering. */
static void
test_lock_owner_dies_parent_recovers(void **state)
{
	struct lock_area	*la;
	pid_t			 holder;

	(void)state;
	la = new_area();
	holder = spawn_holder(la);
	kill_holder(holder);

	/* The holder is dead and reaped: EOWNERDEAD, never a wait. */
	assert_int_equal(parent_acquire(la, repair_area), SHM_LOCK_RECOVERED);
	assert_true(shm_lock_held(&la->la_lock));
	assert_int_equal(la->la_repairs, 1);
	assert_int_equal(la->la_repair_unheld, 0);
	assert_int_equal(la->la_torn, 0);
	shm_lock_release(&la->la_lock);

	assert_int_equal(parent_acquire(la, repair_area), 0);
	shm_lock_release(&la->la_lock);
	assert_int_equal(la->la_repairs, 1);

	/* Without a repair hook the lock is still made consistent. */
	holder = spawn_holder(la);
	kill_holder(holder);
	assert_int_equal(parent_acquire(la, NULL), SHM_LOCK_RECOVERED);
	shm_lock_release(&la->la_lock);
	assert_int_equal(parent_acquire(la, NULL), 0);
	shm_lock_release(&la->la_lock);
	assert_int_equal(la->la_repairs, 1);
	assert_int_equal(shm_lock_recoveries(&la->la_lock), 2);
	assert_int_equal(shm_lock_dead_owner(&la->la_lock), holder);
}

/*
 * (b) Waiters already blocked on the lock when the holder dies: the
 * kernel wakes one with EOWNERDEAD; it repairs, and every other waiter
 * then gets the lock normally. Exactly one recovery, no one stuck.
 */
static void
test_lock_owner_dies_with_waiters(void **state)
{
	struct lock_area	*la;
	pid_t			 holder, pids[TEST_WORKERS];
	int			 i, recovered = 0;

	(void)state;
	la = new_area();
	holder = spawn_holder(la);
	for (i = 0; i < TEST_WORKERS; i++) {
		pids[i] = testutil_fork();
		assert_true(pids[i] != -1);
		if (pids[i] != 0)
			continue;
		alarm(TEST_CHILD_ALARM);
		la->la_rc[i][0] = shm_lock_acquire(&la->la_lock, repair_area,
		    la);
		if (la->la_rc[i][0] < 0)
			_exit(1);
		if (la->la_torn != 0)
			_exit(2);
		la->la_counter++;
		shm_lock_release(&la->la_lock);
		_exit(0);
	}
	/* Let them block in the futex; correct either way if they have not. */
	testutil_sleep_ms(20);
	kill_holder(holder);
	for (i = 0; i < TEST_WORKERS; i++)
		assert_true(exited_ok(testutil_reap(pids[i], TEST_WAIT_MS)));
	for (i = 0; i < TEST_WORKERS; i++) {
		assert_true(la->la_rc[i][0] == 0 ||
		    la->la_rc[i][0] == SHM_LOCK_RECOVERED);
		recovered += la->la_rc[i][0] == SHM_LOCK_RECOVERED;
	}
	assert_int_equal(recovered, 1);
	assert_int_equal(la->la_repairs, 1);
	assert_int_equal(la->la_repair_unheld, 0);
	assert_int_equal(la->la_counter, TEST_WORKERS);
	assert_int_equal(shm_lock_recoveries(&la->la_lock), 1);
	assert_int_equal(shm_lock_dead_owner(&la->la_lock), holder);
	assert_int_equal(shm_lock_owner(&la->la_lock), 0);
}

int
main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_args),
		cmocka_unit_test_setup_teardown(test_usage,
		    setup_map, teardown_map),
		cmocka_unit_test_setup_teardown(test_carve_full,
		    setup_map, teardown_map),
		cmocka_unit_test_setup_teardown(test_carve_align,
		    setup_map, teardown_map),
		cmocka_unit_test_setup_teardown(test_size_helpers,
		    setup_map, teardown_map),
		cmocka_unit_test_setup_teardown(test_shared_after_fork,
		    setup_map, teardown_map),
		cmocka_unit_test(test_lock_robust_kernel),
		cmocka_unit_test_setup_teardown(test_lock_basic,
		    setup_map, teardown_map),
		cmocka_unit_test_setup_teardown(test_lock_counter,
		    setup_map, teardown_map),
		cmocka_unit_test_setup_teardown(
		    test_lock_owner_dies_child_recovers,
		    setup_map, teardown_map),
		cmocka_unit_test_setup_teardown(
		    test_lock_owner_dies_parent_recovers,
		    setup_map, teardown_map),
		cmocka_unit_test_setup_teardown(
		    test_lock_owner_dies_with_waiters,
		    setup_map, teardown_map),
	};

	/*
	 * Backstop for the parent: a lock bug that blocks it ends the
	 * program (and fails the TAP plan) instead of hanging the suite.
	 */
	alarm(30);
	/* SIPD_TEST_SKIP: test/cross.sh, under qemu-user. */
	return testutil_run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
