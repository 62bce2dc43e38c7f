/*
 * wakeup_cost: the CPU a process is charged for going to sleep and
 * being woken, on this machine. A cluster node's sync process sleeps
 * twice per XREAD under load (the 2 ms gather, then Redis's reply), so
 * this is most of what it spends beside its work per event.
 *
 * Two bounded loops of N iterations (a few seconds): a 2 ms timed
 * poll(), and a reply from a process pinned to the other CPU 0.5 ms
 * after each request. CPU of this process only (getrusage), the same
 * loop without the wait subtracted. Build and run:
 *   cc -O2 -o /tmp/wakeup_cost test/load/wakeup_cost.c && /tmp/wakeup_cost
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define N	2000

static double
cpu_us(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void
pin(int cpu)
{
	cpu_set_t	 set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

int
main(void)
{
	int	 req[2], rep[2], i;
	double	 t0, base, timer, cross;
	char	 c = 'x';
	pid_t	 pid;

	t0 = cpu_us();
	for (i = 0; i < N; i++)
		(void)poll(NULL, 0, 0);
	base = (cpu_us() - t0) / N;
	t0 = cpu_us();
	for (i = 0; i < N; i++)
		(void)poll(NULL, 0, 2);
	timer = (cpu_us() - t0) / N - base;
	if (pipe(req) == -1 || pipe(rep) == -1 || (pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		pin(1);
		for (i = 0; i < N; i++) {
			if (read(req[0], &c, 1) != 1)
				_exit(1);
			usleep(500);
			if (write(rep[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	pin(0);
	t0 = cpu_us();
	for (i = 0; i < N; i++)
		if (write(req[1], &c, 1) != 1 || read(rep[0], &c, 1) != 1)
			return 1;
	cross = (cpu_us() - t0) / N - base;
	(void)waitpid(pid, NULL, 0);
	printf("wake-up after a 2 ms timed poll: %.1f us CPU\n", timer);
	printf("wake-up for a reply from the other CPU: %.1f us CPU "
	    "(its write and read included)\n", cross);
	return 0;
}
