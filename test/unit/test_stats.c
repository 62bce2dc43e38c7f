/*
 * test_stats.c: unit tests for shm/stats.c (per-process counters) and
 * shm/runcfg.c (the run-time gateway setting), both in the shared
 * mapping.
 *
 * One cmocka process; each test makes a fresh mapping. The fork tests
 * use real children, as the master does; children never call cmocka
 * and report through their exit status.
 */
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <unistd.h>
#include <cmocka.h>

#include "runcfg.h"
#include "shm.h"
#include "stats.h"

#include "testutil.h"

#define WAIT_MS		10000
#define CHILD_ALARM	20
#define CHILDREN	4
#define ROUNDS		100000
#define GW_ROUNDS	20000

static void
new_shm(unsigned nrows)
{
	size_t	 need;

	shm_destroy();
	need = shm_size_add(shm_size_base(), stats_shm_size(nrows),
	    STATS_SHM_ALIGN);
	need = shm_size_add(need, runcfg_shm_size(), RUNCFG_SHM_ALIGN);
	assert_true(need != SIZE_MAX);
	assert_int_equal(shm_create(need), 0);
	assert_int_equal(stats_create(nrows), 0);
	assert_int_equal(runcfg_create(), 0);
}

static int
teardown(void **state)
{
	(void)state;
	stats_set_row(0);
	shm_destroy();
	return 0;
}

/* Before stats_create(): counting is harmless, reads are zero. */
static void
test_not_created(void **state)
{
	struct runcfg_gw	 gw;

	(void)state;
	stats_set_row(3);
	stats_inc(STATS_RCV_REQUESTS);
	stats_sent_reply(200);
	assert_int_equal(stats_get(STATS_RCV_REQUESTS), 0);
	assert_int_equal(stats_get(STATS_SENT_2XX), 0);
	stats_reset();
	assert_int_equal(runcfg_gw(&gw), -ENXIO);
}

/* Every counter has a unique "group:name"; out of range has none. */
static void
test_names(void **state)
{
	const char	*a, *b, *colon;
	int		 i, j;

	(void)state;
	for (i = 0; i < STATS__MAX; i++) {
		a = stats_name((enum stats_id)i);
		assert_non_null(a);
		colon = strchr(a, ':');
		assert_non_null(colon);
		assert_true(colon > a);
		assert_true(colon[1] != '\0');
		assert_null(strchr(colon + 1, ':'));
		for (j = 0; j < i; j++) {
			b = stats_name((enum stats_id)j);
			assert_string_not_equal(a, b);
		}
	}
	assert_string_equal(stats_name(STATS_RCV_REQUESTS),
	    "core:rcv_requests");
	assert_string_equal(stats_name(STATS_SENT_2XX), "sl:2xx_replies");
	assert_string_equal(stats_name(STATS_ACCEPTED_REGS),
	    "registrar:accepted_regs");
	assert_string_equal(stats_name(STATS_AUTH_CHALLENGES),
	    "auth:challenges");
	assert_null(stats_name(STATS__MAX));
	assert_null(stats_name((enum stats_id)-1));
}

/* Rows are whole cache lines, so sizes grow by multiples of 64. */
static void
test_size(void **state)
{
	(void)state;
	assert_true(stats_shm_size(1) != SIZE_MAX);
	assert_int_equal(stats_shm_size(1) % STATS_SHM_ALIGN, 0);
	assert_int_equal((stats_shm_size(5) - stats_shm_size(1)) %
	    STATS_SHM_ALIGN, 0);
	assert_true(stats_shm_size(5) - stats_shm_size(4) >=
	    STATS__MAX * sizeof(uint64_t));
	assert_int_equal(stats_shm_size(0), SIZE_MAX);
	assert_int_equal(stats_shm_size(~0U), SIZE_MAX);
	/* A bad row count carves nothing. */
	assert_int_equal(stats_create(0), -EINVAL);
}

static void
test_counts(void **state)
{
	(void)state;
	new_shm(3);
	stats_set_row(0);
	stats_inc(STATS_RCV_REQUESTS);
	stats_inc(STATS_RCV_REQUESTS);
	stats_add(STATS_FWD_REQUESTS, 40);
	stats_set_row(2);
	stats_add(STATS_FWD_REQUESTS, 2);
	stats_inc(STATS_TM_FREED);
	assert_int_equal(stats_get(STATS_RCV_REQUESTS), 2);
	assert_int_equal(stats_get(STATS_FWD_REQUESTS), 42);
	assert_int_equal(stats_get(STATS_TM_FREED), 1);
	assert_int_equal(stats_get(STATS_TM_CREATED), 0);
	/* Out of range ids are ignored. */
	stats_inc(STATS__MAX);
	assert_int_equal(stats_get(STATS__MAX), 0);
	/* A row past the end counts nowhere visible. */
	stats_set_row(3);
	stats_inc(STATS_RCV_REQUESTS);
	assert_int_equal(stats_get(STATS_RCV_REQUESTS), 2);
}

static void
test_sent_reply(void **state)
{
	static const int	 codes[] = { 100, 180, 199, 200, 202, 299,
	    302, 401, 407, 404, 500, 503, 603, 699 };
	size_t			 i;

	(void)state;
	new_shm(1);
	stats_set_row(0);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		stats_sent_reply(codes[i]);
	/* Not SIP status codes: not counted. */
	stats_sent_reply(0);
	stats_sent_reply(99);
	stats_sent_reply(700);
	stats_sent_reply(-200);
	assert_int_equal(stats_get(STATS_SENT_1XX), 3);
	assert_int_equal(stats_get(STATS_SENT_2XX), 3);
	assert_int_equal(stats_get(STATS_SENT_3XX), 1);
	assert_int_equal(stats_get(STATS_SENT_4XX), 3);
	assert_int_equal(stats_get(STATS_SENT_5XX), 2);
	assert_int_equal(stats_get(STATS_SENT_6XX), 2);
}

/* The slot of code in a by-code family (code 1..6: that class's other). */
static unsigned
code_slot(enum stats_family f, int code)
{
	unsigned	 i;

	for (i = 0; i < stats_family_size(f); i++)
		if (stats_code_at(f, i) == code)
			return i;
	fail_msg("code %d not in family %d", code, (int)f);
	return 0;
}

static uint64_t
call(enum stats_path p, enum stats_outcome o)
{
	return stats_family_get(STATS_F_CALLS,
	    ((unsigned)p - 1) * STATS_O__MAX + (unsigned)o);
}

/* The labeled families of /metrics: each event in exactly one slot. */
static void
test_families(void **state)
{
	uint64_t	 sum;
	unsigned	 i, j;
	int		 f;

	(void)state;
	new_shm(3);
	/* Codes: listed ones once each, then the six class slots. */
	for (f = STATS_F_SENT; f <= STATS_F_FORWARDED; f++) {
		assert_int_equal(stats_family_size((enum stats_family)f), 44);
		for (i = 0; i < 44; i++)
			for (j = i + 1; j < 44; j++)
				assert_int_not_equal(stats_code_at(
				    (enum stats_family)f, i), stats_code_at(
				    (enum stats_family)f, j));
		for (i = 1; i <= 6; i++)
			assert_int_equal(stats_code_at((enum stats_family)f,
			    43 - 6 + i), (int)i);
	}
	assert_int_equal(stats_code_at(STATS_F_REGISTER, 0), 200);
	assert_int_equal(stats_code_at(STATS_F_REGISTER,
	    stats_family_size(STATS_F_REGISTER) - 1), 0);
	assert_int_equal(stats_code_at(STATS_F_REQUESTS, 0), -1);
	assert_int_equal(stats_family_size(STATS_F__MAX), 0);
	assert_int_equal(stats_family_get(STATS_F_REQUESTS, STATS_M__MAX), 0);

	stats_set_row(1);
	stats_request(STATS_M_INVITE);
	stats_request(STATS_M_INVITE);
	stats_request((enum stats_method)99);		/* other */
	stats_set_row(2);
	stats_request(STATS_M_REGISTER);
	stats_sent_reply(487);
	stats_sent_reply(499);				/* 4xx other */
	stats_sent_reply(700);				/* not a code */
	stats_forwarded_reply(180);
	stats_forwarded_reply(0);
	stats_register_reply(423);
	stats_register_reply(200);
	stats_register_reply(202);			/* other */
	stats_register_reply(100);			/* not final */
	stats_auth_failure(STATS_AF_REPLAY);
	stats_auth_failure(STATS_AF__MAX);
	stats_call_end(STATS_PATH_UA_GW, 200, true);	/* answered anyway */
	stats_call_end(STATS_PATH_GW_UA, 487, true);
	stats_call_end(STATS_PATH_OTHER, 407, false);
	stats_call_end(STATS_PATH_OTHER, 401, false);
	stats_call_end(STATS_PATH_OTHER, 408, false);
	stats_call_end(STATS_PATH_UA_GW, 302, false);
	stats_call_end(STATS_PATH_UA_GW, 503, false);
	stats_call_end(STATS_PATH_GW_UA, 603, false);
	stats_call_end(STATS_PATH_NONE, 200, false);	/* not a call */
	stats_call_end(STATS_PATH__MAX, 200, false);
	stats_call_end(STATS_PATH_UA_GW, 180, false);
	stats_set_row(1);
	stats_cluster(STATS_CL_ACKED);
	stats_cluster(STATS_CL_SHORT);
	stats_set_row(2);
	stats_cluster(STATS_CL_ACKED);
	stats_cluster(STATS_CL__MAX);			/* ignored */

	assert_int_equal(stats_family_size(STATS_F_CLUSTER), STATS_CL__MAX);
	assert_int_equal(stats_family_get(STATS_F_CLUSTER, STATS_CL_ACKED), 2);
	assert_int_equal(stats_family_get(STATS_F_CLUSTER, STATS_CL_SHORT), 1);
	assert_int_equal(stats_family_get(STATS_F_CLUSTER, STATS_CL__MAX), 0);
	assert_int_equal(stats_family_get(STATS_F_REQUESTS, STATS_M_INVITE), 2);
	assert_int_equal(stats_family_get(STATS_F_REQUESTS, STATS_M_OTHER), 1);
	assert_int_equal(stats_family_get(STATS_F_REQUESTS,
	    STATS_M_REGISTER), 1);
	assert_int_equal(stats_family_get(STATS_F_SENT,
	    code_slot(STATS_F_SENT, 487)), 1);
	assert_int_equal(stats_family_get(STATS_F_SENT,
	    code_slot(STATS_F_SENT, 4)), 1);
	assert_int_equal(stats_get(STATS_SENT_4XX), 2);
	assert_int_equal(stats_family_get(STATS_F_FORWARDED,
	    code_slot(STATS_F_FORWARDED, 180)), 1);
	assert_int_equal(stats_family_get(STATS_F_REGISTER,
	    code_slot(STATS_F_REGISTER, 423)), 1);
	assert_int_equal(stats_family_get(STATS_F_REGISTER,
	    code_slot(STATS_F_REGISTER, 200)), 1);
	assert_int_equal(stats_family_get(STATS_F_REGISTER,
	    code_slot(STATS_F_REGISTER, 0)), 1);
	assert_int_equal(stats_family_get(STATS_F_AUTH_FAIL,
	    STATS_AF_REPLAY), 1);
	assert_int_equal(call(STATS_PATH_UA_GW, STATS_O_ANSWERED), 1);
	assert_int_equal(call(STATS_PATH_GW_UA, STATS_O_CANCELLED), 1);
	assert_int_equal(call(STATS_PATH_OTHER, STATS_O_CHALLENGED), 2);
	assert_int_equal(call(STATS_PATH_OTHER, STATS_O_FAILED_4XX), 1);
	assert_int_equal(call(STATS_PATH_UA_GW, STATS_O_REDIRECTED), 1);
	assert_int_equal(call(STATS_PATH_UA_GW, STATS_O_FAILED_5XX), 1);
	assert_int_equal(call(STATS_PATH_GW_UA, STATS_O_FAILED_6XX), 1);
	/* Every event above landed once: nothing anywhere else. */
	for (f = 0, sum = 0; f < STATS_F__MAX; f++)
		for (i = 0; i < stats_family_size((enum stats_family)f); i++)
			sum += stats_family_get((enum stats_family)f, i);
	assert_int_equal(sum, 4 + 2 + 1 + 3 + 1 + 8 + 3);
	/* A reset covers the families too. */
	stats_reset();
	assert_int_equal(stats_family_get(STATS_F_REQUESTS, STATS_M_INVITE), 0);
	assert_int_equal(call(STATS_PATH_OTHER, STATS_O_CHALLENGED), 0);
	stats_call_end(STATS_PATH_OTHER, 407, false);
	assert_int_equal(call(STATS_PATH_OTHER, STATS_O_CHALLENGED), 1);
}

static void
test_reset(void **state)
{
	int	 i;

	(void)state;
	new_shm(2);
	stats_set_row(1);
	stats_add(STATS_ACCEPTED_REGS, 5);
	stats_inc(STATS_AUTH_CHALLENGES);
	stats_reset();
	for (i = 0; i < STATS__MAX; i++)
		assert_int_equal(stats_get((enum stats_id)i), 0);
	stats_inc(STATS_ACCEPTED_REGS);
	stats_set_row(0);
	stats_inc(STATS_ACCEPTED_REGS);
	assert_int_equal(stats_get(STATS_ACCEPTED_REGS), 2);
	assert_int_equal(stats_get(STATS_AUTH_CHALLENGES), 0);
	/* A second reset starts from the new sums. */
	stats_reset();
	assert_int_equal(stats_get(STATS_ACCEPTED_REGS), 0);
	stats_inc(STATS_ACCEPTED_REGS);
	assert_int_equal(stats_get(STATS_ACCEPTED_REGS), 1);
	/* A fresh table forgets the old base. */
	new_shm(2);
	assert_int_equal(stats_get(STATS_ACCEPTED_REGS), 0);
}

/*
 * Children count in rows 1..CHILDREN while the parent counts in row 0
 * and reads: the sums are exact once the children are gone, a reset
 * in the middle included, and never go down while they run.
 */
static void
test_across_fork(void **state)
{
	pid_t		 pids[CHILDREN];
	uint64_t	 prev = 0, now, at_reset;
	int		 i, status;
	long		 j;

	(void)state;
	new_shm(CHILDREN + 1);
	stats_set_row(0);
	stats_add(STATS_RCV_REQUESTS, 7);
	for (i = 0; i < CHILDREN; i++) {
		pids[i] = testutil_fork();
		assert_true(pids[i] != -1);
		if (pids[i] == 0) {
			alarm(CHILD_ALARM);
			stats_set_row((unsigned)i + 1);
			for (j = 0; j < ROUNDS; j++) {
				stats_inc(STATS_RCV_REQUESTS);
				stats_sent_reply(200);
			}
			stats_add(STATS_ACCEPTED_REGS, (uint64_t)i + 1);
			_exit(0);
		}
	}
	for (j = 0; j < 1000; j++) {
		now = stats_get(STATS_RCV_REQUESTS);
		assert_true(now >= prev);
		prev = now;
		stats_inc(STATS_DROP_REPLIES);
	}
	for (i = 0; i < CHILDREN; i++) {
		status = testutil_reap(pids[i], WAIT_MS);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(stats_get(STATS_RCV_REQUESTS),
	    7 + (uint64_t)CHILDREN * ROUNDS);
	assert_int_equal(stats_get(STATS_SENT_2XX),
	    (uint64_t)CHILDREN * ROUNDS);
	assert_int_equal(stats_get(STATS_ACCEPTED_REGS),
	    CHILDREN * (CHILDREN + 1) / 2);
	assert_int_equal(stats_get(STATS_DROP_REPLIES), 1000);

	/* Reset while a child counts: only what follows is seen. */
	pids[0] = testutil_fork();
	assert_true(pids[0] != -1);
	if (pids[0] == 0) {
		alarm(CHILD_ALARM);
		stats_set_row(1);
		for (j = 0; j < ROUNDS; j++)
			stats_inc(STATS_FWD_REPLIES);
		_exit(0);
	}
	stats_reset();
	at_reset = stats_get(STATS_FWD_REPLIES);
	assert_true(at_reset <= ROUNDS);
	status = testutil_reap(pids[0], WAIT_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(stats_get(STATS_FWD_REPLIES) <= ROUNDS);
	assert_int_equal(stats_get(STATS_RCV_REQUESTS), 0);
	assert_int_equal(stats_get(STATS_SENT_2XX), 0);
}

/* --- runcfg ------------------------------------------------------- */

/* Gateway number k: every field derived from k, so a torn one shows. */
static void
gw_make(unsigned k, struct runcfg_gw *gw)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&gw->rg_addr;

	memset(gw, 0, sizeof(*gw));
	gw->rg_set = true;
	gw->rg_match_port = (k & 1) != 0;
	gw->rg_port = (uint16_t)(1024 + k % 60000);
	snprintf(gw->rg_ip, sizeof(gw->rg_ip), "10.%u.%u.%u",
	    (k >> 16) & 255, (k >> 8) & 255, k & 255);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(gw->rg_port);
	inet_pton(AF_INET, gw->rg_ip, &sin->sin_addr);
}

static bool
gw_consistent(const struct runcfg_gw *gw)
{
	const struct sockaddr_in	*sin =
	    (const struct sockaddr_in *)&gw->rg_addr;
	struct runcfg_gw		 want;
	struct in_addr			 a;
	unsigned			 k;

	if (!gw->rg_set)
		return gw->rg_ip[0] == '\0' && gw->rg_port == 0;
	if (inet_pton(AF_INET, gw->rg_ip, &a) != 1)
		return false;
	k = ntohl(a.s_addr) & 0xffffff;
	gw_make(k, &want);
	return gw->rg_match_port == want.rg_match_port &&
	    gw->rg_port == want.rg_port &&
	    sin->sin_family == AF_INET &&
	    sin->sin_port == htons(want.rg_port) &&
	    sin->sin_addr.s_addr == a.s_addr;
}

static void
test_runcfg(void **state)
{
	struct runcfg_gw	 gw, got;

	(void)state;
	new_shm(1);
	assert_int_equal(runcfg_gw(&got), 0);
	assert_false(got.rg_set);
	assert_string_equal(got.rg_ip, "");
	gw_make(7, &gw);
	runcfg_set_gw(&gw);
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(runcfg_gw(&got), 0);
	assert_true(got.rg_set);
	assert_string_equal(got.rg_ip, "10.0.0.7");
	assert_int_equal(got.rg_port, 1031);
	assert_true(got.rg_match_port);
	assert_true(gw_consistent(&got));
	gw_make(8, &gw);
	runcfg_set_gw(&gw);
	assert_int_equal(runcfg_gw(&got), 0);
	assert_string_equal(got.rg_ip, "10.0.0.8");
	assert_false(got.rg_match_port);
	memset(&gw, 0, sizeof(gw));
	runcfg_set_gw(&gw);
	assert_int_equal(runcfg_gw(&got), 0);
	assert_false(got.rg_set);
}

/* The registrar's slot: unpublished is -ENXIO; slots do not mix. */
static void
test_runcfg_reg(void **state)
{
	struct runcfg_reg	 reg, got;
	struct runcfg_gw	 gw, gwgot;

	(void)state;
	new_shm(1);
	assert_int_equal(runcfg_reg(&got), -ENXIO);
	gw_make(3, &gw);
	runcfg_set_gw(&gw);
	assert_int_equal(runcfg_reg(&got), -ENXIO);
	memset(&reg, 0, sizeof(reg));
	reg.rr_set = true;
	reg.rr_nat_detect = 2;
	reg.rr_min_expires = 60;
	reg.rr_default_expires = 3600;
	reg.rr_max_expires = 7200;
	runcfg_set_reg(&reg);
	assert_int_equal(runcfg_reg(&got), 0);
	assert_memory_equal(&got, &reg, sizeof(reg));
	reg.rr_min_expires = 120;
	runcfg_set_reg(&reg);
	assert_int_equal(runcfg_reg(&got), 0);
	assert_int_equal(got.rr_min_expires, 120);
	assert_int_equal(runcfg_gw(&gwgot), 0);
	assert_string_equal(gwgot.rg_ip, "10.0.0.3");
}

/*
 * A forked reader loops while the parent publishes new gateways as
 * fast as it can: every value read is one whole gateway, and the
 * reader sees the last one once the parent stops.
 */
static void
test_runcfg_across_fork(void **state)
{
	struct runcfg_gw	 gw;
	int			 fds[2], status;
	pid_t			 pid;
	unsigned		 k;
	char			 c;

	(void)state;
	new_shm(1);
	gw_make(1, &gw);
	runcfg_set_gw(&gw);
	assert_int_equal(pipe(fds), 0);
	pid = testutil_fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct runcfg_gw	 got;
		long			 bad = 0, reads = 0;

		alarm(CHILD_ALARM);
		close(fds[1]);
		/* Read until the parent is done (EOF), then once more. */
		for (;;) {
			if (runcfg_gw(&got) != 0 || !gw_consistent(&got))
				bad++;
			reads++;
			if (reads % 64 == 0) {
				struct timeval	 tv = { 0, 0 };
				fd_set		 rd;

				FD_ZERO(&rd);
				FD_SET(fds[0], &rd);
				if (select(fds[0] + 1, &rd, NULL, NULL,
				    &tv) > 0)
					break;
			}
		}
		if (read(fds[0], &c, 1) != 0)
			bad++;
		if (runcfg_gw(&got) != 0 || strcmp(got.rg_ip, "10.0.78.32")
		    != 0)
			bad++;
		_exit(bad == 0 ? 0 : 1);
	}
	close(fds[0]);
	for (k = 2; k <= GW_ROUNDS; k++) {
		gw_make(k, &gw);
		runcfg_set_gw(&gw);
	}
	close(fds[1]);
	status = testutil_reap(pid, WAIT_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_created),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_size),
		cmocka_unit_test_teardown(test_counts, teardown),
		cmocka_unit_test_teardown(test_sent_reply, teardown),
		cmocka_unit_test_teardown(test_families, teardown),
		cmocka_unit_test_teardown(test_reset, teardown),
		cmocka_unit_test_teardown(test_across_fork, teardown),
		cmocka_unit_test_teardown(test_runcfg, teardown),
		cmocka_unit_test_teardown(test_runcfg_reg, teardown),
		cmocka_unit_test_teardown(test_runcfg_across_fork, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
