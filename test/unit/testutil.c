/*
 * testutil.c: process helpers for the unit tests that fork (see
 * testutil.h). Runs in the cmocka parent process.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

void
testutil_sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
testutil_reap(pid_t pid, long ms)
{
	int	 status;
	long	 waited;

	for (waited = 0; waited <= ms; waited++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r == -1 && errno != EINTR)
			return -1;
		testutil_sleep_ms(1);
	}
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
	return -1;
}

pid_t
testutil_fork(void)
{
	(void)fflush(NULL);
	return fork();
}
