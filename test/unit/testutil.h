/*
 * testutil.h: process helpers shared by the unit tests that fork real
 * children (test_auth, test_loctab, test_shm_lock). Parent side only:
 * children never call cmocka.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* nanosleep() for ms milliseconds, resumed across signals. */
void	testutil_sleep_ms(long ms);

/*
 * Reaps pid within ms milliseconds; on timeout kills it so that nothing
 * outlives the test. Returns the wait status, or -1 on timeout.
 */
int	testutil_reap(pid_t pid, long ms);

/*
 * A crash test's child, killed at a step or done with its change:
 * reaped within ms; true when SIGKILL ended it, false when it exited 0;
 * anything else fails the test.
 */
bool	testutil_reap_killed(pid_t pid, long ms);

/* fork() with stdio flushed, so children cannot repeat TAP lines. */
pid_t	testutil_fork(void);

struct CMUnitTest;

/*
 * cmocka_run_group_tests() over tests[0..n), without the tests named
 * in the environment variable SIPD_TEST_SKIP (names separated by
 * blanks): each of those is left out and printed as a TAP comment with
 * the reason in SIPD_TEST_SKIP_WHY. test/cross.sh uses it for the tests
 * that need the kernel to recover a lock from a dead owner, which
 * qemu-user cannot do. (Left out rather than skip(): cmocka 1.1.5
 * prints a skip as "not ok", which meson counts as a failure.) Unset,
 * as in every native run, it runs them all.
 */
int	testutil_run_tests(struct CMUnitTest *tests, size_t n);

#endif /* TESTUTIL_H */
