/*
 * testutil.h: process helpers shared by the unit tests that fork real
 * children (test_auth, test_loctab, test_shm_lock). Parent side only:
 * children never call cmocka.
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <sys/types.h>

/* nanosleep() for ms milliseconds, resumed across signals. */
void	testutil_sleep_ms(long ms);

/*
 * Reaps pid within ms milliseconds; on timeout kills it so that nothing
 * outlives the test. Returns the wait status, or -1 on timeout.
 */
int	testutil_reap(pid_t pid, long ms);

/* fork() with stdio flushed, so children cannot repeat TAP lines. */
pid_t	testutil_fork(void);

#endif /* TESTUTIL_H */
