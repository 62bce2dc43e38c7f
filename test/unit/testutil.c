/*
 * testutil.c: process helpers for the unit tests that fork (see
 * testutil.h). Runs in the cmocka parent process.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

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

bool
testutil_reap_killed(pid_t pid, long ms)
{
	int	 status = testutil_reap(pid, ms);

	assert_true(status != -1);
	if (WIFEXITED(status)) {
		assert_int_equal(WEXITSTATUS(status), 0);
		return false;
	}
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	return true;
}

pid_t
testutil_fork(void)
{
	(void)fflush(NULL);
	return fork();
}

/* 1 when name is a blank-separated word of list. */
static int
testutil_listed(const char *list, const char *name)
{
	size_t		 len = strlen(name);
	const char	*p;

	for (p = list; (p = strstr(p, name)) != NULL; p += len)
		if ((p == list || p[-1] == ' ') &&
		    (p[len] == '\0' || p[len] == ' '))
			return 1;
	return 0;
}

int
testutil_run_tests(struct CMUnitTest *tests, size_t n)
{
	const char	*list = getenv("SIPD_TEST_SKIP");
	const char	*why = getenv("SIPD_TEST_SKIP_WHY");
	size_t		 i, kept = 0;

	for (i = 0; i < n; i++) {
		if (list != NULL && testutil_listed(list, tests[i].name)) {
			printf("# skipped %s: %s\n", tests[i].name,
			    why != NULL ? why : "listed in SIPD_TEST_SKIP");
			continue;
		}
		tests[kept++] = tests[i];
	}
	return _cmocka_run_group_tests("tests", tests, kept, NULL, NULL);
}
