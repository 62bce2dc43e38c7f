/*
 * test_tmtab_crash.c: shm/tmtab.c killed at every step (issue 10), as
 * test_loctab_fork.c does it for the location table. Each scenario is
 * a base table (five transactions in one hash chain, in every state a
 * cell can be in) and one call; a child makes the call with
 * tmtab_step_hook set to SIGKILL it at step k, for k = 1, 2, ... until
 * the call completes. After each kill the parent takes every lock
 * (robust: it takes over the dead child's) and checks:
 *  - tmtab_check(): chains, free lists and stored messages well formed;
 *  - at most one cell and its messages' chunks reachable nowhere, the
 *    usage counters off by at most one;
 *  - every transaction found as it was before the call or as the call
 *    leaves it (by key, with the last reply it would resend);
 *  - the table works on: every base transaction can be ended by its
 *    ref, then the free cells fill up to the capacity less the lost
 *    one, and no per-source counter wraps.
 */
#include "tmtab_test.h"

#define CC_CAP		32		/* per-source budget: 8 */
#define NBASE		5
#define NKEYS		(NBASE + 1)	/* + the one scenario BEGIN adds */
#define LOST_CHUNKS	12		/* the most one base cell holds */
#define BIG		1600		/* a request of 4 chunks */

static unsigned		 crash_at, crash_steps;
static int		 cur_sc;	/* for failure messages */
static uint64_t		 keys[NKEYS];
static struct tmtab_ref	 refs[NBASE];
static char		 big[BIG], bigr[700];

static void
crash_hook(const char *step)
{
	(void)step;
	if (++crash_steps == crash_at)
		(void)raise(SIGKILL);
}

/* tmtab.c's bucket of a key for a table of 512 buckets (cap <= 2048). */
static uint32_t
bucket_of(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (uint32_t)key & 511;
}

/* Keys that share one bucket, so that changes land inside a chain. */
static void
pick_keys(void)
{
	uint64_t	 k;
	unsigned	 n = 0;

	for (k = 1; n < NKEYS; k++)
		if (bucket_of(k) == bucket_of(1))
			keys[n++] = k;
}

static int
begin_b(uint64_t key, bool invite, const char *req, size_t len,
    struct tmtab_ref *ref)
{
	return begin_nb(key, invite, req, len, T0, true, ref);
}

/*
 * A: INVITE, 2 branches, a 180 passed up. B: MESSAGE, no branch yet.
 * C: INVITE answered 486, waiting for the ACK. D: MESSAGE answered 200
 * (kept for retransmissions). E: INVITE, 3 branches, nothing heard.
 */
static void
base_build(void)
{
	unsigned	 i;

	new_table(CC_CAP);
	for (i = 0; i < NBASE; i++)
		assert_int_equal(begin_b(keys[i], i != 1 && i != 3, big,
		    BIG - 100 * i, &refs[i]), 0);
	branches(refs[0], 2, FR_MS, T0);
	(void)resp(refs[0], 0, 180, R180, T0 + 10);
	branches(refs[2], 1, FR_MS, T0);
	assert_int_equal(tmtab_response(refs[2], 0, 486, false, bigr,
	    sizeof(bigr), T0 + 10, O()), 0);
	assert_int_equal(reply(refs[3], 200, R200, T0 + 10), 0);
	branches(refs[4], 3, FR_MS, T0);
}

enum scenario {
	SC_BEGIN, SC_BEGIN_AGAIN, SC_BRANCHES, SC_REPLY, SC_RESPONSE_2XX,
	SC_RESPONSE_FINAL, SC_RESPONSE_6XX, SC_ACK, SC_ABANDON, SC_CANCEL,
	SC_TIMERS, SC_TIMERS_ALL, SC_TIMERS_BEST, SC_N
};

static int
change(enum scenario sc)
{
	struct tmtab_ref	 ref;
	struct tmtab_branch	 b[2];
	unsigned		 i;

	switch (sc) {
	case SC_BEGIN:
		return begin_b(keys[NBASE], true, big, BIG, &ref);
	case SC_BEGIN_AGAIN:
		return begin_b(keys[1], false, big, 300, &ref);
	case SC_BRANCHES:
		for (i = 0; i < 2; i++) {
			b[i].tb_sock = SOCK_BR + i;
			b[i].tb_dst = bdst[i];
			b[i].tb_msg = big;
			b[i].tb_len = 600;
		}
		return tmtab_branches(refs[1], b, 2, FR_MS, 0, T0 + 20);
	case SC_REPLY:
		return tmtab_reply(refs[0], 486, bigr, sizeof(bigr), T0 + 20);
	case SC_RESPONSE_2XX:
		return tmtab_response(refs[0], 1, 200, false, bigr,
		    sizeof(bigr), T0 + 20, O());
	case SC_RESPONSE_FINAL:
		return tmtab_response(refs[4], 0, 486, false, bigr,
		    sizeof(bigr), T0 + 20, O());
	case SC_RESPONSE_6XX:
		/* held as the best, then sent: the swap of tm_finish */
		return tmtab_response(refs[4], 1, 603, false, bigr,
		    sizeof(bigr), T0 + 20, O());
	case SC_ACK:
		return tmtab_ack(keys[2], T0 + 20);
	case SC_ABANDON:
		tmtab_abandon(refs[1]);
		return 0;
	case SC_CANCEL:
		return tmtab_cancel(keys[0], T0 + 20, O());
	case SC_TIMERS:
		tmtab_timers(T0 + TMTAB_WAIT_MS + 100, O());
		return 0;
	case SC_TIMERS_ALL:
		tmtab_timers(FAR, O());
		return 0;
	case SC_TIMERS_BEST:
		/* a 486 held back, then the final-reply timer sends it */
		if (tmtab_response(refs[4], 0, 486, false, bigr, sizeof(bigr),
		    T0 + 20, O()) != 0)
			return -1;
		tmtab_timers(T0 + FR_MS + 1, O());
		return 0;
	case SC_N:
		break;
	}
	return -1;
}

/* What tmtab_find() says of each key: absent, or the reply it resends. */
struct snap {
	bool	 sn_found[NKEYS];
	size_t	 sn_len[NKEYS];
	char	 sn_resp[NKEYS][sizeof(bigr) + 1];
};

static void
snapshot(struct snap *s)
{
	unsigned	 i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < NKEYS; i++) {
		s->sn_found[i] = tmtab_find(keys[i], O()) == 0;
		if (s->sn_found[i] && out.to_n == 1) {
			assert_true(acts[0].ta_len <= sizeof(bigr));
			s->sn_len[i] = acts[0].ta_len;
			memcpy(s->sn_resp[i], acts[0].ta_msg, acts[0].ta_len);
		}
	}
}

static bool
same_key(const struct snap *a, const struct snap *b, unsigned i)
{
	return a->sn_found[i] == b->sn_found[i] &&
	    a->sn_len[i] == b->sn_len[i] &&
	    memcmp(a->sn_resp[i], b->sn_resp[i], a->sn_len[i]) == 0;
}

/* After a kill, or the call done: the checks of the header comment. */
/* Worst cases seen, for the report line. */
struct worst {
	unsigned	 wo_cells;	/* cells reachable nowhere */
	unsigned	 wo_chunks;
	unsigned	 wo_recovered;	/* lock takeovers */
};

static void
check_after(const struct snap *before, const struct snap *after,
    struct worst *w)
{
	struct tmtab_check	 k;
	struct tmtab_usage	 u;
	struct tmtab_ref	 ref;
	struct snap		 got;
	unsigned		 i, n = 0, held, recovered;

	assert_int_equal(tmtab_check(&k), 0);
	tmtab_locks(0, &held, &recovered);
	w->wo_recovered += recovered;
	assert_true(k.tk_lost_cells <= 1);
	assert_true(k.tk_lost_chunks <= LOST_CHUNKS);
	assert_true(k.tk_cells_drift >= -1 && k.tk_cells_drift <= 1);
	assert_true(k.tk_chunks_drift >= -1 && k.tk_chunks_drift <= 1);
	if (k.tk_lost_chunks > w->wo_chunks)
		w->wo_chunks = k.tk_lost_chunks;
	if (k.tk_lost_cells > w->wo_cells)
		w->wo_cells = k.tk_lost_cells;
	snapshot(&got);
	for (i = 0; i < NKEYS; i++)
		if (!same_key(&got, before, i) && !same_key(&got, after, i))
			fail_msg("scenario %d, step %u: key %u: found %d, "
			    "%zu bytes; before %d, %zu; after %d, %zu",
			    cur_sc, crash_at, i, got.sn_found[i],
			    got.sn_len[i], before->sn_found[i],
			    before->sn_len[i], after->sn_found[i],
			    after->sn_len[i]);
	/* every base transaction can still be ended by its ref */
	for (i = 0; i < NBASE; i++)
		tmtab_abandon(refs[i]);
	tmtab_usage(&u);
	/* BEGIN's cell, and a unit a kill may leak; never a wrap */
	if (u.tu_src_max > 2)
		fail_msg("scenario %d, step %u: a source holds %u cells",
		    cur_sc, crash_at, u.tu_src_max);
	assert_int_equal(tmtab_check(&k), 0);
	assert_true(k.tk_lost_cells <= 1);
	/* the free cells are all there */
	while (begin_n(1000 + n, false, MSG, strlen(MSG), T0, &ref) == 0)
		n++;
	assert_int_equal(n + k.tk_linked + k.tk_lost_cells, CC_CAP);
	assert_int_equal(tmtab_check(&k), 0);
}

static void
test_crash_every_step(void **state)
{
	struct snap	 before, after;
	struct worst	 w = { 0, 0, 0 };
	unsigned	 k, kills, total = 0;
	int		 sc, done;
	pid_t		 pid;

	(void)state;
	pick_keys();
	memset(big, 'q', sizeof(big));
	memset(bigr, 'r', sizeof(bigr));
	memcpy(bigr, "SIP/2.0 486 Busy Here\r\n", 23);
	for (sc = 0; sc < SC_N; sc++) {
		base_build();
		snapshot(&before);
		assert_true(change(sc) >= 0);
		snapshot(&after);
		kills = 0;
		for (k = 1, done = 0; !done; k++) {
			base_build();
			cur_sc = sc;
			crash_at = k;
			pid = testutil_fork();
			assert_true(pid != -1);
			if (pid == 0) {
				alarm(CHILD_ALARM);
				crash_steps = 0;
				tmtab_step_hook = crash_hook;
				_exit(change(sc) >= 0 ? 0 : 1);
			}
			if (testutil_reap_killed(pid, WAIT_MS))
				kills++;
			else
				done = 1;
			check_after(&before, &after, &w);
		}
		assert_true(kills > 0);
		total += kills;
	}
	/* the kills landed under locks, and the takeovers are counted */
	assert_true(w.wo_recovered > 0);
	print_message("# crash test: %u kills over %d scenarios, %u lock "
	    "takeovers; unreachable after a kill: at most %u cell, %u "
	    "chunks\n", total, SC_N, w.wo_recovered, w.wo_cells,
	    w.wo_chunks);
}

int
main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_crash_every_step, teardown),
	};

	return testutil_run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
