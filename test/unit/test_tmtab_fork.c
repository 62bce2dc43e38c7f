/*
 * test_tmtab_fork.c: shm/tmtab.c across processes, as the workers use
 * it: two children running transactions while the parent runs the
 * timers, and children SIGKILLed while they hold a stripe lock or are
 * inside the pool (at most a leak, never a corrupt chain or pool).
 * Children never call cmocka; they report through their exit status,
 * and anything that could block for ever runs in a child reaped with a
 * bounded wait (testutil.c). Shared helpers: tmtab_test.h.
 */
#include "tmtab_test.h"

/* --- processes ------------------------------------------------------- */

/*
 * The fork tests' messages: "<kind>:<key>:" then a pattern that
 * depends on both, 100 to ~1600 bytes (1 to 4 chunks), so that any
 * action can be checked to carry bytes of its own transaction.
 */
static size_t
pmsg(char *buf, uint64_t key, char kind)
{
	size_t	 n, i;
	int	 h;

	h = snprintf(buf, 64, "%c:%016" PRIx64 ":", kind, key);
	n = 100 + (size_t)((key * 7 + (unsigned char)kind) % 1500);
	for (i = (size_t)h; i < n; i++)
		buf[i] = (char)('a' + (key + i + (unsigned char)kind) % 26);
	return n;
}

/* The act is well formed and carries one of key's messages. */
static bool
pact_ok(const struct tmtab_act *a)
{
	char		 want[2048];
	uint64_t	 key;
	char		 kind;

	if (a->ta_msg == NULL || a->ta_len < 20 ||
	    sscanf(a->ta_msg, "%c:%16" SCNx64 ":", &kind, &key) != 2)
		return false;
	if (pmsg(want, key, kind) != a->ta_len ||
	    memcmp(want, a->ta_msg, a->ta_len) != 0)
		return false;
	switch (a->ta_kind) {
	case TMTAB_SEND:
		if (a->ta_branch < 0)
			return kind == 'P' || kind == 'F' || kind == 'L';
		return kind == (char)('0' + a->ta_branch);
	case TMTAB_SEND_ACK:
	case TMTAB_SEND_CANCEL:
		return a->ta_branch >= 0 &&
		    kind == (char)('0' + a->ta_branch);
	case TMTAB_LOCAL_408:
		return a->ta_branch == -1 && kind == 'R';
	default:
		return false;
	}
}

static unsigned
pacts_bad(const struct tmtab_out *o, struct tmtab_ref ref, bool any)
{
	unsigned	 i, bad = 0;

	for (i = 0; i < o->to_n; i++)
		if (!pact_ok(&o->to_acts[i]) || (!any &&
		    (o->to_acts[i].ta_ref.tr_idx != ref.tr_idx ||
		    o->to_acts[i].ta_ref.tr_gen != ref.tr_gen)))
			bad++;
	return bad;
}

/* A child must die of a fault, not go back into cmocka's handler. */
static void
child_signals(void)
{
	(void)signal(SIGSEGV, SIG_DFL);
	(void)signal(SIGBUS, SIG_DFL);
	(void)signal(SIGILL, SIG_DFL);
	(void)signal(SIGFPE, SIG_DFL);
}

/* The shared fake clock of the concurrency test, in its own page. */
static _Atomic uint64_t	*clk;

/*
 * One worker of test_concurrent: rounds transactions on its own keys,
 * each a begin, branches, a provisional and a final (kinds varying),
 * checking every result and every action. Returns the number of bad
 * results.
 */
static unsigned
worker(unsigned id, unsigned rounds)
{
	static char		 req[2048], msg[2][2048], r[2048];
	struct tmtab_branch	 b[2];
	struct tmtab_new	 n;
	struct tmtab_ref	 ref;
	uint64_t		 key, now;
	unsigned		 j, i, nb, bad = 0, tries;
	size_t			 len;
	int			 rc = 0;

	for (j = 0; j < rounds; j++) {
		key = ((uint64_t)(id + 1) << 32) | j;
		memset(&n, 0, sizeof(n));
		n.tn_key = key;
		n.tn_invite = (j / 4) % 2 == 0;
		n.tn_sock = SOCK_IN;
		n.tn_up = up;
		n.tn_src = src;
		n.tn_req = req;
		n.tn_reqlen = pmsg(req, key, 'R');
		for (tries = 0; tries < 1000000; tries++) {
			now = atomic_load(clk);
			rc = tmtab_begin(&n, now, &ref, O());
			if (rc != TMTAB_E_FULL)
				break;
			(void)sched_yield();
		}
		if (rc != 0 || ref.tr_idx == UINT32_MAX || out.to_n != 0) {
			bad++;
			continue;
		}
		nb = j % 3 == 0 ? 2 : 1;
		for (i = 0; i < nb; i++) {
			b[i].tb_sock = SOCK_BR + i;
			b[i].tb_dst = bdst[i];
			b[i].tb_msg = msg[i];
			b[i].tb_len = pmsg(msg[i], key, (char)('0' + i));
		}
		if (tmtab_branches(ref, b, nb, 60000,
		    n.tn_invite ? 30000 : 0, now) != 0)
			bad++;
		len = pmsg(r, key, 'P');
		rc = tmtab_response(ref, 0, 180, false, r, len,
		    atomic_load(clk), O());
		if ((rc != 0 && rc != TMTAB_E_NOTFOUND) ||
		    pacts_bad(&out, ref, false) != 0)
			bad++;
		len = pmsg(r, key, 'F');
		switch (j % 4) {
		case 0:
		case 1:
			/* a final from every branch (200 or 486) */
			for (i = 0; i < nb; i++) {
				rc = tmtab_response(ref, (int)i,
				    j % 4 == 0 ? 200 : 486, false, r, len,
				    atomic_load(clk), O());
				if ((rc != 0 && rc != TMTAB_E_NOTFOUND) ||
				    pacts_bad(&out, ref, false) != 0)
					bad++;
			}
			break;
		case 2:
			/* a final of our own */
			len = pmsg(r, key, 'L');
			rc = tmtab_reply(ref, 404, r, len, atomic_load(clk));
			if (rc != 0 && rc != TMTAB_E_NOTFOUND)
				bad++;
			break;
		default:
			/* left to the fr timer */
			break;
		}
		if (n.tn_invite && j % 4 != 0) {
			rc = tmtab_ack(key, now);
			if (rc != 0 && rc != TMTAB_E_NOTFOUND)
				bad++;
		}
	}
	return bad;
}

/*
 * Two workers run transactions on their own keys while the parent runs
 * the timers on a clock that moves on: every action is well formed and
 * of its own transaction, and afterwards the timers free every cell and
 * chunk.
 */
static void
test_concurrent(void **state)
{
	struct tmtab_usage	 u;
	pid_t		 pids[2];
	int		 i, status, left;
	unsigned	 bad = 0, ticks = 0, nacts = 0;
	uint64_t	 t;

	(void)state;
	new_table(64);
	clk = mmap(NULL, sizeof(*clk), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(clk != MAP_FAILED);
	/*
	 * From the real clock on: tmtab_ack() sets the free time of a
	 * cell whose branches may still answer from tmtab_now_ms()
	 * (test_ack_clock); this clock runs faster, so those
	 * cells are freed too.
	 */
	atomic_store(clk, tmtab_now_ms());
	for (i = 0; i < 2; i++) {
		pids[i] = testutil_fork();
		assert_true(pids[i] != -1);
		if (pids[i] == 0) {
			alarm(CHILD_ALARM);
			child_signals();
			_exit(worker((unsigned)i, 2000) == 0 ? 0 : 1);
		}
	}
	left = 2;
	while (left > 0) {
		t = atomic_fetch_add(clk, 20) + 20;
		tmtab_timers(t, O());
		nacts += out.to_n;
		bad += pacts_bad(&out, acts[0].ta_ref, true);
		ticks++;
		for (i = 0; i < 2; i++) {
			if (pids[i] == 0 ||
			    waitpid(pids[i], &status, WNOHANG) != pids[i])
				continue;
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 0);
			pids[i] = 0;
			left--;
		}
		if (ticks > 50 * 1000 * 1000)
			break;
	}
	for (i = 0; i < 2; i++)
		if (pids[i] != 0) {
			status = testutil_reap(pids[i], WAIT_MS);
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 0);
		}
	assert_int_equal(bad, 0);
	/*
	 * Far in the future: fr, Timer H, wait; a 408 of ours, then H.
	 * Past the real clock too: tmtab_ack() of a cell whose branches
	 * may still answer sets its free time from tmtab_now_ms().
	 */
	t = atomic_load(clk) + tmtab_now_ms();
	/* a sweep stops when its action list is full: sweep until empty */
	for (i = 1; i <= 1000; i++) {
		tmtab_timers(t + (uint64_t)i * FAR, O());
		assert_int_equal(pacts_bad(&out, acts[0].ta_ref, true), 0);
		tmtab_usage(&u);
		if (u.tu_cells == 0)
			break;
	}
	assert_empty();
	print_message("# concurrent: %u timer runs, %u actions\n", ticks,
	    nacts);
	(void)munmap(clk, sizeof(*clk));
}

static int	 hold_pipe[2];

static void
on_segv(int sig)
{
	(void)sig;
	if (write(hold_pipe[1], "h", 1) != 1)
		_exit(4);
	for (;;)
		(void)pause();
}

/*
 * A worker dies holding a stripe lock. The child makes tmtab_response()
 * copy a provisional from a page it cannot read: it faults in the
 * middle of the call, under the cell's stripe lock, and waits there.
 * A second child's CANCEL of that transaction blocks on the lock until
 * the first is SIGKILLed, then goes through; the parent carries on with
 * the same transaction. The dead worker's chunk stays taken: the leak
 * tmtab.h allows (at most its own chunks), and nothing else.
 */
static void
test_killed_holder(void **state)
{
	struct sigaction	 sa;
	struct tmtab_ref	 ref;
	struct pollfd		 pfd;
	char			*bad;
	pid_t			 holder, canceller;
	int			 status;
	char			 c;

	(void)state;
	new_table(CAP);
	ref = begin_ok(90, true);
	branches(ref, 1, FR_MS, T0);
	assert_usage(1, 2);
	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(bad != MAP_FAILED);
	assert_int_equal(pipe(hold_pipe), 0);

	holder = testutil_fork();
	assert_true(holder != -1);
	if (holder == 0) {
		alarm(CHILD_ALARM);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_segv;
		(void)sigaction(SIGSEGV, &sa, NULL);
		(void)sigaction(SIGBUS, &sa, NULL);
		(void)tmtab_response(ref, 0, 180, false, bad, 100, T0 + 10,
		    O());
		_exit(3);	/* it must not get here */
	}
	pfd.fd = hold_pipe[0];
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
	assert_int_equal(read(hold_pipe[0], &c, 1), 1);

	canceller = testutil_fork();
	assert_true(canceller != -1);
	if (canceller == 0) {
		alarm(CHILD_ALARM);
		child_signals();
		/* the branch rang before its worker died: CANCEL it */
		_exit(tmtab_cancel(90, T0 + 20, O()) == 0 && out.to_n == 1 &&
		    acts[0].ta_kind == TMTAB_SEND_CANCEL ? 0 : 1);
	}
	/* the lock is held: the CANCEL waits */
	testutil_sleep_ms(200);
	assert_int_equal(waitpid(canceller, &status, WNOHANG), 0);
	assert_int_equal(kill(holder, SIGKILL), 0);
	status = testutil_reap(holder, WAIT_MS);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	status = testutil_reap(canceller, WAIT_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	(void)close(hold_pipe[0]);
	(void)close(hold_pipe[1]);
	(void)munmap(bad, 4096);

	/* the parent: the same stripe, the same cell, all working */
	assert_int_equal(tmtab_cancel(90, T0 + 30, O()), TMTAB_E_FINAL);
	assert_int_equal(begin_again(90, true), 0);
	cancel_ok(ref, 0, T0 + 40);
	assert_int_equal(resp(ref, 0, 487, R487a, T0 + 50), 2);
	ACK(0, ref, 0);
	UP(1, ref, R487a);
	assert_int_equal(tmtab_ack(90, T0 + 50), 0);
	/* the one chunk the dead worker took for its 180 */
	assert_usage(0, 1);
	ref = begin_ok(90, true);
	assert_int_equal(reply(ref, 486, R486, T0), 0);
	assert_int_equal(tmtab_ack(90, T0), 0);
	assert_usage(0, 1);
}

/*
 * Regression: a worker killed while tm_blob_free() runs on a blob of a cell
 * that stays live corrupts the chunk pool. tm_blob_free() gives the
 * chain back under the pool lock and only then clears b->tb_head, and
 * tm_chunk_give_locked() relinks each chunk onto the free list as it
 * goes; both under a stripe lock whose next taker repairs nothing.
 * Killed between the two (or inside the give loop), the cell keeps a
 * blob naming chunks that are free (and, after a partial give, a
 * chain that runs on into the free list). Callers on live cells:
 * tm_complete_locked() (tc_req), tmtab_reply() and tmtab_response()
 * (tc_resp, tc_best), tm_finish_locked(). When that cell is freed
 * later, the chunks are given a second time: th_chunks_used wraps
 * below zero (seen: 4294947978 chunks in use of 384), the free list
 * gets cycles, one chunk is handed to two blobs, the capacity check
 * passes for ever and th_chunk_bump runs past the pool (a SIGSEGV in
 * the next taker, seen in the parent here), or a give loop never ends
 * under the pool lock (every worker hangs). tmtab.h promises at most
 * a leak. This test kills workers at random points of whole
 * transactions on a few keys; after each kill, a checker's calls on
 * those keys (so on their stripes) and on the pool must finish and
 * the counts stay within the pool; at the end the table must work and
 * hold no more than the dead workers' own cells and chunks. It fails
 * (counts or a crash) in most runs.
 */
#define KILLS		40
#define KEYS		8

static void
kill_worker(void)
{
	static char		 big[3000];
	struct tmtab_branch	 b;
	struct tmtab_new	 n;
	struct tmtab_ref	 ref;
	uint64_t		 k;
	int			 r;

	memset(big, 'k', sizeof(big));
	memset(&n, 0, sizeof(n));
	for (k = 0;; k++) {
		n.tn_key = 500 + k % KEYS;
		n.tn_invite = true;
		n.tn_sock = SOCK_IN;
		n.tn_up = up;
		n.tn_src = src;
		n.tn_req = big;
		n.tn_reqlen = sizeof(big);
		r = tmtab_begin(&n, T0, &ref, O());
		if (r != 0 || ref.tr_idx == UINT32_MAX) {
			/* left by a killed worker: cancel it, or wait */
			(void)tmtab_cancel(n.tn_key, T0, O());
			continue;
		}
		b.tb_sock = SOCK_BR;
		b.tb_dst = bdst[0];
		b.tb_msg = big;
		b.tb_len = 1500;
		(void)tmtab_branches(ref, &b, 1, FR_MS, 0, T0);
		(void)tmtab_response(ref, 0, 180, false, big, 700, T0, O());
		(void)tmtab_response(ref, 0, 486, false, big, 600, T0, O());
		(void)tmtab_ack(n.tn_key, T0);
	}
}

static void
test_killed_random(void **state)
{
	struct tmtab_usage	 u;
	struct tmtab_ref	 ref;
	pid_t			 pid, chk;
	int			 i, status;
	unsigned		 k;

	(void)state;
	new_table(64);
	srandom((unsigned)getpid());
	for (i = 0; i < KILLS; i++) {
		pid = testutil_fork();
		assert_true(pid != -1);
		if (pid == 0) {
			alarm(CHILD_ALARM);
			child_signals();
			kill_worker();
			_exit(0);
		}
		testutil_sleep_ms(1 + random() % 3);
		assert_int_equal(kill(pid, SIGKILL), 0);
		status = testutil_reap(pid, WAIT_MS);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGKILL);

		chk = testutil_fork();
		assert_true(chk != -1);
		if (chk == 0) {
			unsigned	 bad = 0;
			int		 r;

			alarm(CHILD_ALARM);
			child_signals();
			for (k = 0; k < KEYS; k++) {
				r = tmtab_cancel(500 + k, T0, O());
				if (r != 0 && r != TMTAB_E_NOTFOUND &&
				    r != TMTAB_E_FINAL)
					bad++;
				r = tmtab_ack(500 + k, T0);
				if (r != 0 && r != TMTAB_E_NOTFOUND)
					bad++;
			}
			tmtab_timers(T0 + (uint64_t)(i + 1) * FAR, O());
			tmtab_usage(&u);
			_exit(bad == 0 && u.tu_cap == 64 &&
			    u.tu_chunks <= u.tu_chunks_total &&
			    u.tu_chunks_max <= u.tu_chunks_total ? 0 : 1);
		}
		status = testutil_reap(chk, WAIT_MS);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	/* the parent, on the same keys: no hang, and it all works */
	tmtab_timers(tmtab_now_ms() + (uint64_t)(KILLS + 2) * FAR, O());
	tmtab_timers(tmtab_now_ms() + (uint64_t)(KILLS + 3) * FAR, O());
	tmtab_usage(&u);
	print_message("# killed workers: %d, left behind: %u cells, "
	    "%u chunks\n", KILLS, u.tu_cells, u.tu_chunks);
	/*
	 * A worker killed between begin and branches leaves a cell with
	 * no timer, so at most one cell each; and its chunks.
	 */
	assert_true(u.tu_cells <= KILLS);
	assert_true(u.tu_chunks <= KILLS * 16);
	assert_true(u.tu_chunks_max <= u.tu_chunks_total);
	for (k = 0; k < KEYS; k++) {
		assert_int_equal(begin_n(600 + k, true, REQ, strlen(REQ), T0,
		    &ref), 0);
		assert_true(ref.tr_idx != UINT32_MAX);
		branches(ref, 1, FR_MS, T0);
		assert_int_equal(resp(ref, 0, 180, R180, T0 + 1), 1);
		assert_int_equal(resp(ref, 0, 486, R486, T0 + 2), 2);
		ACK(0, ref, 0);
		UP(1, ref, R486);
		assert_int_equal(tmtab_ack(600 + k, T0 + 2), 0);
	}
	assert_usage(u.tu_cells, u.tu_chunks);
}

/*
 * Regression: the chunk pool trusts th_chunks_used to bound the bump index.
 * tm_chunk_take_locked() unlinks chunks from the free list one at a
 * time and adds n to th_chunks_used only after its loop, so a worker
 * killed inside the loop (pool lock held) leaves chunks taken but not
 * counted. Once the free list is empty, the capacity check still
 * passes and th_chunk_bump runs past th_nchunks: chunks beyond the
 * carved pool are handed out and written (in sipd, the next carve of
 * the mapping, or past its end). tmtab.h promises "a leak, never a
 * corrupt chain". The window is a few instructions a chunk, so this
 * test kills a worker that only takes chains (the parent frees them,
 * so no kill lands in a give loop) a few hundred times at random
 * microseconds, then fills the pool. The mapping has SLACK bytes after
 * the table, so the overrun stays inside it.
 */
#define COUNT_CAP	1024
#define COUNT_ROUNDS	400

struct bug3_area {
	_Atomic int		 ba_go;
	_Atomic unsigned	 ba_n;
	struct tmtab_ref	 ba_refs[COUNT_CAP];
};

static void
spin_us(long us)
{
	struct timespec	 a, b;

	(void)clock_gettime(CLOCK_MONOTONIC, &a);
	do
		(void)clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000L +
	    (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

/* Begins with sizes[] in turn, each until full; how many cells. */
static unsigned
fill_pool(uint64_t key, const char *buf)
{
	static const size_t	 sizes[] = { 40000, 5080, 508 };
	struct tmtab_ref	 ref;
	unsigned		 i, n = 0;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		while (begin_n(key++, false, buf, sizes[i], T0, &ref) == 0)
			n++;
	return n;
}

static void
test_chunk_count(void **state)
{
	static char		 big[40000];
	struct bug3_area	*ba;
	struct tmtab_usage	 u;
	struct tmtab_ref	 ref;
	struct tmtab_new	 n;
	pid_t			 pid;
	uint64_t		 key = 1;
	unsigned		 j;
	int			 i, tries;

	(void)state;
	shm_destroy();
	assert_int_equal(shm_create(shm_size_add(shm_size_base(),
	    tmtab_shm_size(COUNT_CAP), TMTAB_SHM_ALIGN) + SLACK), 0);
	assert_int_equal(tmtab_create(COUNT_CAP), 0);
	ba = mmap(NULL, sizeof(*ba), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(ba != MAP_FAILED);
	memset(big, 'c', sizeof(big));
	srandom((unsigned)getpid());
	for (i = 0; i < COUNT_ROUNDS; i++) {
		atomic_store(&ba->ba_go, 0);
		atomic_store(&ba->ba_n, 0);
		pid = testutil_fork();
		assert_true(pid != -1);
		if (pid == 0) {
			alarm(CHILD_ALARM);
			child_signals();
			memset(&n, 0, sizeof(n));
			n.tn_req = big;
			n.tn_reqlen = 5080;
			atomic_store(&ba->ba_go, 1);
			for (key += 1000000;; key++) {
				n.tn_key = key;
				if (tmtab_begin(&n, T0, &ref, O()) != 0)
					for (;;)
						(void)pause();
				j = atomic_load(&ba->ba_n);
				ba->ba_refs[j] = ref;
				atomic_store(&ba->ba_n, j + 1);
			}
		}
		for (tries = 0; atomic_load(&ba->ba_go) == 0 &&
		    tries < 100000; tries++)
			spin_us(1);
		spin_us(random() % 300);
		(void)kill(pid, SIGKILL);
		(void)testutil_reap(pid, WAIT_MS);
		key += 1000000;
		for (j = 0; j < atomic_load(&ba->ba_n); j++)
			tmtab_abandon(ba->ba_refs[j]);
	}
	(void)munmap(ba, sizeof(*ba));
	tmtab_usage(&u);
	print_message("# after %d kills: cells %u, chunks counted %u\n",
	    COUNT_ROUNDS, u.tu_cells, u.tu_chunks);
	j = fill_pool(1, big);
	tmtab_usage(&u);
	print_message("# filled with %u cells: chunks total %u, counted "
	    "%u, bump index %u\n", j, u.tu_chunks_total, u.tu_chunks,
	    u.tu_chunks_max);
	assert_true(u.tu_chunks_max <= u.tu_chunks_total);
}

int
main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_concurrent, teardown),
		cmocka_unit_test_teardown(test_killed_holder, teardown),
		cmocka_unit_test_teardown(test_killed_random, teardown),
		cmocka_unit_test_teardown(test_chunk_count, teardown),
	};

	/* SIPD_TEST_SKIP: test/cross.sh, under qemu-user. */
	return testutil_run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
