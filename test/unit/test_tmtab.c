/*
 * test_tmtab.c: unit tests for shm/tmtab.c, the transaction table, in
 * one process (test_tmtab_fork.c: several, some killed).
 *
 * One cmocka process; each test makes a fresh mapping and table (the
 * first one runs before any table exists). Times are a fake clock: the
 * API takes `now`, so no test sleeps for a timer. Every test asserts the
 * exact list of actions (kind, branch, bytes, destination) and ends
 * with every cell and chunk back in the pool, freed through the API
 * (timers, ACK, abandon), so a leak fails the test that caused it.
 *
 * The last three tests are regressions of defects the first version
 * of tmtab.c had (a CANCEL before the branches were stored, non-INVITE
 * resending after a 1xx, tmtab_ack() reading the real clock); the two
 * under SIGKILL are in test_tmtab_fork.c.
 */
#include "fnv.h"
#include "tmtab_test.h"

/* --- tests ------------------------------------------------------------- */

/* Must run first: no table has been made in this process yet. */
static void
test_not_created(void **state)
{
	struct tmtab_usage	 u;
	struct tmtab_ref	 ref = { 0, 0 };

	(void)state;
	init_addrs();
	assert_int_equal(begin_n(1, true, REQ, strlen(REQ), T0, &ref),
	    -ENXIO);
	assert_int_equal(tmtab_cancel(1, T0, O()), -ENXIO);
	assert_int_equal(tmtab_ack(1, T0), -ENXIO);
	assert_int_equal(reply(ref, 200, R200, T0), TMTAB_E_NOTFOUND);
	assert_int_equal(tmtab_response(ref, 0, 200, false, R200,
	    strlen(R200), T0, O()), TMTAB_E_NOTFOUND);
	tmtab_timers(T0, O());
	assert_int_equal(out.to_n, 0);
	tmtab_usage(&u);
	assert_int_equal(u.tu_cap, 0);
	assert_int_equal(u.tu_cells, 0);
	/* sizes */
	assert_true(tmtab_shm_size(0) == SIZE_MAX);
	assert_true(tmtab_shm_size(TMTAB_CAP_MAX + 1) == SIZE_MAX);
	assert_true(tmtab_shm_size(CAP) != SIZE_MAX);
	assert_true(tmtab_shm_size(CAP) < tmtab_shm_size(64));
	assert_int_equal(tmtab_create(0), -EINVAL);
	assert_int_equal(tmtab_create(TMTAB_CAP_MAX + 1), -EINVAL);
}

static void
test_hash(void **state)
{
	uint64_t	 a, b;

	(void)state;
	/* field boundaries count: ("ab", "c") is not ("a", "bc") */
	a = fnv_field(fnv_field(FNV_INIT, "ab", 2), "c", 1);
	b = fnv_field(fnv_field(FNV_INIT, "a", 1), "bc", 2);
	assert_true(a != b);
	assert_true(fnv_field(FNV_INIT, "", 0) != FNV_INIT);
	b = fnv_field(fnv_field(FNV_INIT, "ab", 2), "c", 1);
	assert_true(a == b);
}

static void
test_create_usage(void **state)
{
	struct tmtab_usage	 u;

	(void)state;
	new_table(CAP);
	tmtab_usage(&u);
	assert_int_equal(u.tu_cap, CAP);
	assert_int_equal(u.tu_cells, 0);
	assert_int_equal(u.tu_chunks_total, CAP * TMTAB_CHUNKS_PER_CELL);
	assert_int_equal(u.tu_chunks, 0);
	assert_int_equal(u.tu_chunks_max, 0);
	assert_int_equal(timers(T0), 0);
}

/*
 * A retransmitted request gets nothing before a reply, then the last
 * reply sent upstream, to tn_up; a late provisional does not replace
 * a final.
 */
static void
test_begin_retransmission(void **state)
{
	struct tmtab_ref	 ref, ref2;

	(void)state;
	new_table(CAP);
	ref = begin_ok(1, true);
	assert_usage(1, 1);
	/* the retransmission takes no cell, and nothing goes out */
	assert_int_equal(begin_again(1, true), 0);
	assert_usage(1, 1);
	assert_int_equal(reply(ref, 100, R100, T0), 0);
	assert_int_equal(begin_again(1, true), 1);
	UP(0, ref, R100);
	assert_int_equal(begin_again(1, true), 1);
	UP(0, ref, R100);
	/* another key is another transaction */
	ref2 = begin_ok(2, false);
	assert_true(ref2.tr_idx != ref.tr_idx);
	assert_int_equal(begin_again(2, false), 0);

	/* a final answers the retransmissions; a late 1xx does not */
	assert_int_equal(reply(ref2, 200, R200, T0), 0);
	assert_int_equal(reply(ref2, 180, R180, T0), 0);
	assert_int_equal(begin_again(2, false), 1);
	UP(0, ref2, R200);
	assert_int_equal(reply(ref, 486, R486, T0), 0);
	assert_int_equal(begin_again(1, true), 1);
	UP(0, ref, R486);
	/* the ACK of sipd's 486 ends the INVITE at once */
	assert_int_equal(tmtab_ack(1, T0), 0);
	assert_usage(1, 1);
	/* the MESSAGE stays TMTAB_WAIT_MS, then its key is new again */
	assert_int_equal(timers(T0 + TMTAB_WAIT_MS - 1), 0);
	assert_usage(1, 1);
	assert_int_equal(begin_again(2, false), 1);
	assert_int_equal(timers(T0 + TMTAB_WAIT_MS), 0);
	assert_empty();
	ref = begin_ok(2, false);
	tmtab_abandon(ref);
	assert_empty();
	/* abandon of a gone transaction does nothing */
	tmtab_abandon(ref);
	assert_empty();
}

/*
 * cap cells in use: TMTAB_E_FULL, also for a retransmission (the
 * documented "no cell left"); a cell freed by the timers is reused,
 * with a new generation.
 */
static void
test_full_cells(void **state)
{
	struct tmtab_ref	 refs[CAP], ref;
	unsigned		 i;

	(void)state;
	new_table(CAP);
	for (i = 0; i < CAP; i++)
		refs[i] = begin_ok(100 + i, false);
	assert_usage(CAP, CAP);
	assert_int_equal(begin_n(200, false, MSG, strlen(MSG), T0, &ref),
	    TMTAB_E_FULL);
	assert_int_equal(out.to_n, 0);
	assert_int_equal(begin_n(100, false, MSG, strlen(MSG), T0, &ref),
	    TMTAB_E_FULL);
	assert_usage(CAP, CAP);

	assert_int_equal(reply(refs[3], 200, R200, T0), 0);
	/* the request is dropped once answered; the reply kept */
	assert_usage(CAP, CAP);
	assert_int_equal(timers(T0 + TMTAB_WAIT_MS - 1), 0);
	assert_int_equal(begin_n(200, false, MSG, strlen(MSG), T0, &ref),
	    TMTAB_E_FULL);
	assert_int_equal(timers(T0 + TMTAB_WAIT_MS), 0);
	assert_usage(CAP - 1, CAP - 1);
	ref = begin_ok(200, false);
	/* last freed, first reused; the old ref names the old life */
	assert_int_equal(ref.tr_idx, refs[3].tr_idx);
	assert_int_equal(ref.tr_gen, (refs[3].tr_gen + 1) & TMTAB_GEN_MASK);
	assert_int_equal(reply(refs[3], 200, R200, T0), TMTAB_E_NOTFOUND);
	refs[3] = ref;
	assert_usage(CAP, CAP);

	for (i = 0; i < CAP; i++)
		assert_int_equal(reply(refs[i], 200, R200, T0 + 10000), 0);
	assert_int_equal(timers(T0 + 10000 + TMTAB_WAIT_MS), 0);
	assert_empty();
}

/* A budgeted request from src: tmtab_begin()'s result. */
static int
begin_from(uint64_t key, union tmtab_addr from, struct tmtab_ref *ref)
{
	struct tmtab_new	 n;

	memset(&n, 0, sizeof(n));
	n.tn_key = key;
	n.tn_sock = SOCK_IN;
	n.tn_up = from;
	n.tn_src = from;
	n.tn_req = MSG;
	n.tn_reqlen = strlen(MSG);
	n.tn_budget = true;
	return tmtab_begin(&n, T0, ref, O());
}

/*
 * Issue 10: one source holds at most cap / TMTAB_SRC_SHARE cells; the
 * rest of the table stays for the others, and a freed cell gives its
 * source the room back.
 */
static void
test_source_budget(void **state)
{
	union tmtab_addr	 a = addr4("192.0.2.1", 5060);
	union tmtab_addr	 b = addr4("192.0.2.2", 5060);
	struct tmtab_ref	 refs[CAP / TMTAB_SRC_SHARE], ref;
	struct tmtab_usage	 tu;
	unsigned		 i;

	(void)state;
	new_table(CAP);
	for (i = 0; i < CAP / TMTAB_SRC_SHARE; i++)
		assert_int_equal(begin_from(100 + i, a, &refs[i]), 0);
	assert_int_equal(begin_from(200, a, &ref), TMTAB_E_BUDGET);
	/* another port of the same host is the same source */
	assert_int_equal(begin_from(201, addr4("192.0.2.1", 5999), &ref),
	    TMTAB_E_BUDGET);
	assert_int_equal(begin_from(202, b, &ref), 0);
	tmtab_usage(&tu);
	assert_int_equal(tu.tu_src_budget, CAP / TMTAB_SRC_SHARE);
	assert_int_equal(tu.tu_src_max, CAP / TMTAB_SRC_SHARE);
	assert_int_equal(tu.tu_cells, CAP / TMTAB_SRC_SHARE + 1);
	/* a retransmission of a held one opens nothing, costs nothing */
	assert_int_equal(begin_from(202, b, &ref), 0);
	assert_int_equal(ref.tr_idx, UINT32_MAX);
	tmtab_abandon(refs[0]);
	assert_int_equal(begin_from(203, a, &ref), 0);
	assert_int_equal(begin_from(204, a, &ref), TMTAB_E_BUDGET);
}

/* The chunk pool: exact counts, full, too big, nothing leaked. */
static void
test_full_chunks(void **state)
{
	static char		 big[TMTAB_MSG_MAX + 2];
	struct tmtab_ref	 ref, ref2;
	unsigned		 total = CAP * TMTAB_CHUNKS_PER_CELL;
	struct tmtab_usage	 u;

	(void)state;
	new_table(CAP);
	memset(big, 'x', sizeof(big));
	big[0] = 'I';
	/* DATA bytes a chunk, so DATA fits in one and DATA + 1 takes two */
	assert_int_equal(begin_n(1, false, big, DATA, T0, &ref), 0);
	assert_usage(1, 1);
	assert_int_equal(begin_n(2, false, big, DATA + 1, T0, &ref2), 0);
	assert_usage(2, 3);
	tmtab_abandon(ref);
	tmtab_abandon(ref2);
	assert_empty();

	/* larger than the whole pool: full, and the cell goes back */
	assert_int_equal(begin_n(3, false, big, total * DATA + 1, T0, &ref),
	    TMTAB_E_FULL);
	assert_empty();
	assert_int_equal(begin_n(3, false, big, TMTAB_MSG_MAX + 1, T0, &ref),
	    TMTAB_E_FULL);
	assert_empty();
	/* nothing to store is refused the same way */
	assert_int_equal(begin_n(3, false, big, 0, T0, &ref), TMTAB_E_FULL);
	assert_empty();

	/* exactly the pool */
	assert_int_equal(begin_n(4, false, big, total * DATA, T0, &ref), 0);
	assert_usage(1, total);
	assert_int_equal(begin_n(5, false, MSG, strlen(MSG), T0, &ref2),
	    TMTAB_E_FULL);
	assert_usage(1, total);
	/* even its retransmission: the copy is made before the lookup */
	assert_int_equal(begin_n(4, false, "x", 1, T0, &ref2), TMTAB_E_FULL);
	/* freed through the timers: answered, then TMTAB_WAIT_MS */
	assert_int_equal(reply(ref, 404, R486, T0), 0);
	assert_usage(1, 0);
	assert_int_equal(timers(T0 + TMTAB_WAIT_MS), 0);
	assert_empty();
	tmtab_usage(&u);
	assert_int_equal(u.tu_chunks_max, total);

	/* the longest message fits a bigger pool, one byte more does not */
	new_table(64);
	assert_int_equal(begin_n(6, false, big, TMTAB_MSG_MAX, T0, &ref), 0);
	assert_usage(1, (TMTAB_MSG_MAX + DATA - 1) / DATA);
	assert_int_equal(begin_n(7, false, big, TMTAB_MSG_MAX + 1, T0, &ref2),
	    TMTAB_E_FULL);
	assert_usage(1, (TMTAB_MSG_MAX + DATA - 1) / DATA);
	/* and comes back out whole: the request of a local 408 */
	branches(ref, 1, FR_MS, T0);
	tmtab_timers(T0 + FR_MS, O());
	assert_int_equal(out.to_n, 1);
	assert_int_equal(acts[0].ta_kind, TMTAB_LOCAL_408);
	assert_int_equal(acts[0].ta_len, TMTAB_MSG_MAX);
	assert_memory_equal(acts[0].ta_msg, big, TMTAB_MSG_MAX);
	assert_int_equal(reply(ref, 408, R408, T0 + FR_MS), 0);
	assert_int_equal(timers(T0 + FR_MS + TMTAB_WAIT_MS), 0);
	assert_empty();
}

/* One branch of an INVITE: provisionals and 2xx pass, 100 stops. */
static void
test_invite_2xx(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(10, true);
	assert_int_equal(reply(ref, 100, R100, T0), 0);
	branches(ref, 1, FR_MS, T0);
	assert_int_equal(resp(ref, 0, 100, R100, T0 + 10), 0);
	assert_int_equal(resp(ref, 0, 180, R180, T0 + 20), 1);
	UP(0, ref, R180);
	/* the newest provisional answers retransmitted requests */
	assert_int_equal(begin_again(10, true), 1);
	UP(0, ref, R180);
	assert_int_equal(resp(ref, 0, 183, R183, T0 + 30), 1);
	UP(0, ref, R183);
	assert_int_equal(resp(ref, 0, 200, R200, T0 + 40), 1);
	UP(0, ref, R200);
	/* a retransmitted 2xx goes on every time */
	assert_int_equal(resp(ref, 0, 200, R200, T0 + 50), 1);
	UP(0, ref, R200);
	/* a late provisional goes nowhere */
	assert_int_equal(resp(ref, 0, 180, R180, T0 + 60), 0);
	/* no ACK of a 2xx here: it is routed in the dialog */
	assert_int_equal(tmtab_ack(10, T0), TMTAB_E_NOTFOUND);
	assert_int_equal(tmtab_cancel(10, T0 + 70, O()), TMTAB_E_FINAL);
	assert_int_equal(out.to_n, 0);
	/* nothing resent: the 2xx was the UAS's, not ours to repeat */
	assert_int_equal(timers(T0 + 40 + TMTAB_WAIT_MS - 1), 0);
	assert_usage(1, 2);
	assert_int_equal(timers(T0 + 40 + TMTAB_WAIT_MS), 0);
	assert_empty();
	assert_int_equal(tmtab_response(ref, 0, 200, false, R200,
	    strlen(R200), T0, O()), TMTAB_E_NOTFOUND);
}

/* One branch, a non-2xx: ACK of the stored copy, then upstream. */
static void
test_invite_non2xx(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(11, true);
	branches(ref, 1, FR_MS, T0);
	assert_int_equal(resp(ref, 0, 180, R180, T0 + 10), 1);
	UP(0, ref, R180);
	assert_int_equal(resp(ref, 0, 486, R486, T0 + 20), 2);
	ACK(0, ref, 0);
	UP(1, ref, R486);
	/* retransmitted: the ACK again, nothing upstream */
	assert_int_equal(resp(ref, 0, 486, R486, T0 + 30), 1);
	ACK(0, ref, 0);
	assert_int_equal(begin_again(11, true), 1);
	UP(0, ref, R486);
	assert_int_equal(tmtab_ack(11, T0), 0);
	assert_empty();
	assert_int_equal(tmtab_ack(11, T0), TMTAB_E_NOTFOUND);
	assert_int_equal(tmtab_response(ref, 0, 486, false, R486,
	    strlen(R486), T0, O()), TMTAB_E_NOTFOUND);
}

/* Two branches, two non-2xx: the ACKs, then §16.7's best upstream. */
static void
two_finals(uint64_t key, int c1, const char *r1, int c2, const char *r2,
    const char *want)
{
	struct tmtab_ref	 ref;

	ref = begin_ok(key, true);
	branches(ref, 2, FR_MS, T0);
	assert_int_equal(resp(ref, 0, c1, r1, T0 + 10), 1);
	ACK(0, ref, 0);
	assert_int_equal(resp(ref, 1, c2, r2, T0 + 20), 2);
	ACK(0, ref, 1);
	UP(1, ref, want);
	assert_int_equal(begin_again(key, true), 1);
	UP(0, ref, want);
	assert_int_equal(tmtab_ack(key, T0), 0);
	assert_empty();
}

static void
test_forking_choice(void **state)
{
	(void)state;
	new_table(CAP);
	/* 6xx beats everything */
	two_finals(20, 486, R486, 603, R603, R603);
	/* the first of a class stays */
	two_finals(22, 486, R486, 480, R480, R486);
	two_finals(23, 480, R480, 486, R486, R480);
	/* the lowest class wins */
	two_finals(24, 302, R302, 486, R486, R302);
	two_finals(25, 486, R486, 302, R302, R302);
	/* a 408 heard from a branch is a 4xx like another */
	two_finals(26, 408, R408, 486, R486, R408);
}

/* A 6xx first ends the search at once; a later 486 is only ACKed. */
static void
test_forking_6xx_first(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(21, true);
	branches(ref, 2, FR_MS, T0);
	assert_int_equal(resp(ref, 0, 603, R603, T0 + 10), 2);
	ACK(0, ref, 0);
	UP(1, ref, R603);
	/* branch 1 never rang: its CANCEL waits for it */
	assert_int_equal(resp(ref, 1, 486, R486, T0 + 20), 1);
	ACK(0, ref, 1);
	assert_int_equal(begin_again(21, true), 1);
	UP(0, ref, R603);
	assert_int_equal(tmtab_ack(21, T0), 0);
	assert_empty();
}

/*
 * A 6xx while another branch rings and a third is silent: the 6xx goes
 * at once, the ringing branch is cancelled, the silent one when it
 * rings; their 487s are only ACKed.
 */
static void
test_forking_6xx(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(30, true);
	branches(ref, 3, FR_MS, T0);
	assert_int_equal(resp(ref, 1, 180, R180, T0 + 10), 1);
	UP(0, ref, R180);
	assert_int_equal(resp(ref, 0, 603, R603, T0 + 20), 3);
	ACK(0, ref, 0);
	CANCEL(1, ref, 1);
	UP(2, ref, R603);
	assert_int_equal(resp(ref, 2, 183, R183, T0 + 30), 1);
	CANCEL(0, ref, 2);
	assert_int_equal(resp(ref, 2, 183, R183, T0 + 35), 0);
	assert_int_equal(resp(ref, 1, 487, R487a, T0 + 40), 1);
	ACK(0, ref, 1);
	assert_int_equal(resp(ref, 2, 487, R487b, T0 + 50), 1);
	ACK(0, ref, 2);
	cancel_ok(ref, 1, T0 + 60);
	cancel_ok(ref, 2, T0 + 60);
	assert_int_equal(begin_again(30, true), 1);
	UP(0, ref, R603);
	/* the ACK of the 603 ends it: every branch settled */
	assert_int_equal(tmtab_ack(30, T0), 0);
	assert_empty();
}

/*
 * A 2xx on one branch while two others ring and one is silent: the
 * ringing ones are cancelled with the 2xx, the silent one when it
 * rings; their 487s only ACKed; another 2xx still goes upstream.
 */
static void
test_forking_2xx(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(31, true);
	branches(ref, 4, FR_MS, T0);
	assert_int_equal(resp(ref, 0, 180, R180, T0 + 10), 1);
	UP(0, ref, R180);
	assert_int_equal(resp(ref, 1, 183, R183, T0 + 11), 1);
	UP(0, ref, R183);
	assert_int_equal(resp(ref, 3, 200, R200, T0 + 20), 3);
	CANCEL(0, ref, 0);
	CANCEL(1, ref, 1);
	UP(2, ref, R200);
	assert_int_equal(resp(ref, 2, 180, R180, T0 + 30), 1);
	CANCEL(0, ref, 2);
	assert_int_equal(resp(ref, 0, 487, R487a, T0 + 40), 1);
	ACK(0, ref, 0);
	assert_int_equal(resp(ref, 1, 487, R487b, T0 + 41), 1);
	ACK(0, ref, 1);
	/* a branch that answered 200 before our CANCEL: passed on too */
	assert_int_equal(resp(ref, 2, 200, R200C, T0 + 42), 1);
	UP(0, ref, R200C);
	/* CANCELs unanswered: resent at T1 */
	assert_int_equal(timers(T0 + 520), 2);
	CANCEL(0, ref, 0);
	CANCEL(1, ref, 1);
	assert_int_equal(timers(T0 + 530), 1);
	CANCEL(0, ref, 2);
	assert_int_equal(tmtab_ack(31, T0), TMTAB_E_NOTFOUND);
	/* the 2xx's TMTAB_WAIT_MS ends it, CANCELs or not */
	assert_int_equal(timers(T0 + 20 + TMTAB_WAIT_MS), 0);
	assert_empty();
}

/*
 * tmtab_cancel(): CANCEL of the ringing branch at once, of the silent
 * one when it rings; CANCEL resent T1 doubling until answered; the
 * 487s give one final upstream.
 */
static void
test_cancel(void **state)
{
	struct tmtab_ref	 ref, ref2;

	(void)state;
	new_table(CAP);
	assert_int_equal(tmtab_cancel(99, T0, O()), TMTAB_E_NOTFOUND);
	ref2 = begin_ok(41, false);
	assert_int_equal(tmtab_cancel(41, T0, O()), TMTAB_E_NOTFOUND);

	ref = begin_ok(40, true);
	branches(ref, 2, 60000, T0);
	assert_int_equal(resp(ref, 0, 180, R180, T0 + 50), 1);
	UP(0, ref, R180);
	assert_int_equal(tmtab_cancel(40, T0 + 100, O()), 0);
	assert_int_equal(out.to_n, 1);
	CANCEL(0, ref, 0);
	/* a retransmitted CANCEL */
	assert_int_equal(tmtab_cancel(40, T0 + 100, O()), TMTAB_E_FINAL);
	assert_int_equal(out.to_n, 0);
	/* branch 1's INVITE is still resent until it answers */
	assert_int_equal(timers(T0 + 500), 1);
	RESEND(0, ref, 1);
	/* the CANCEL of branch 0 at +500, +1000, +2000 */
	assert_int_equal(timers(T0 + 599), 0);
	assert_int_equal(timers(T0 + 600), 1);
	CANCEL(0, ref, 0);
	assert_int_equal(timers(T0 + 1499), 0);
	assert_int_equal(timers(T0 + 1500), 1);
	RESEND(0, ref, 1);
	assert_int_equal(timers(T0 + 1599), 0);
	assert_int_equal(timers(T0 + 1600), 1);
	CANCEL(0, ref, 0);
	assert_int_equal(timers(T0 + 3500), 1);
	RESEND(0, ref, 1);
	assert_int_equal(timers(T0 + 3599), 0);
	assert_int_equal(timers(T0 + 3600), 1);
	CANCEL(0, ref, 0);
	/* answered: no more */
	cancel_ok(ref, 0, T0 + 3700);
	assert_int_equal(timers(T0 + 7500), 1);
	RESEND(0, ref, 1);
	assert_int_equal(timers(T0 + 7600), 0);
	assert_int_equal(timers(T0 + 11400), 0);

	/* branch 1 rings: its CANCEL now, nothing upstream */
	assert_int_equal(resp(ref, 1, 180, R180, T0 + 8000), 1);
	CANCEL(0, ref, 1);
	assert_int_equal(timers(T0 + 8499), 0);
	assert_int_equal(timers(T0 + 8500), 1);
	CANCEL(0, ref, 1);
	cancel_ok(ref, 1, T0 + 8600);
	assert_int_equal(timers(T0 + 9500), 0);

	/* the 487s: ACKed; the first 487 goes upstream when both are in */
	assert_int_equal(resp(ref, 0, 487, R487a, T0 + 9000), 1);
	ACK(0, ref, 0);
	assert_int_equal(resp(ref, 1, 487, R487b, T0 + 9001), 2);
	ACK(0, ref, 1);
	UP(1, ref, R487a);
	assert_int_equal(tmtab_cancel(40, T0 + 9002, O()), TMTAB_E_FINAL);
	assert_int_equal(tmtab_ack(40, T0 + 9002), 0);

	/* answered before the CANCEL */
	ref = begin_ok(42, true);
	assert_int_equal(reply(ref, 486, R486, T0), 0);
	assert_int_equal(tmtab_cancel(42, T0, O()), TMTAB_E_FINAL);
	assert_int_equal(out.to_n, 0);
	assert_int_equal(tmtab_ack(42, T0), 0);

	assert_int_equal(reply(ref2, 200, R200, T0), 0);
	assert_int_equal(timers(T0 + TMTAB_WAIT_MS), 0);
	assert_empty();
}

/* A CANCEL nobody answers is resent until 64*T1, doubling to T2. */
static void
test_cancel_gives_up(void **state)
{
	static const uint64_t	 at[] = { 500, 1500, 3500, 7500, 11500,
				     15500, 19500, 23500, 27500, 31500 };
	struct tmtab_ref	 ref;
	unsigned		 i;

	(void)state;
	new_table(CAP);
	ref = begin_ok(43, true);
	branches(ref, 1, 120000, T0);
	assert_int_equal(resp(ref, 0, 180, R180, T0), 1);
	assert_int_equal(tmtab_cancel(43, T0, O()), 0);
	CANCEL(0, ref, 0);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		assert_int_equal(timers(T0 + at[i] - 1), 0);
		assert_int_equal(timers(T0 + at[i]), 1);
		CANCEL(0, ref, 0);
	}
	assert_int_equal(timers(T0 + TMTAB_H_MS), 0);
	assert_int_equal(timers(T0 + 60000), 0);
	/* the UAS never answered at all: fr gives the client a 408 */
	assert_int_equal(timers(T0 + 120000), 1);
	ACT(0, TMTAB_LOCAL_408, ref, -1, REQ);
	assert_int_equal(reply(ref, 408, R408, T0 + 120000), 0);
	/* its CANCEL went unanswered: it may still send a final, kept */
	assert_int_equal(tmtab_ack(43, T0 + 120000), 0);
	assert_usage(1, 2);
	assert_int_equal(timers(T0 + 120000 + TMTAB_WAIT_MS), 0);
	assert_empty();
}

/*
 * tmtab_ack() and Timer G: sipd's own non-2xx to an INVITE is resent
 * T1 doubling to T2 until the ACK, or until Timer H frees the cell.
 */
static void
test_ack_timer_g(void **state)
{
	static const uint64_t	 at[] = { 500, 1500, 3500, 7500, 11500,
				     15500 };
	struct tmtab_ref	 ref;
	unsigned		 i;

	(void)state;
	new_table(CAP);
	ref = begin_ok(50, true);
	assert_int_equal(tmtab_ack(50, T0), TMTAB_E_NOTFOUND);
	assert_int_equal(reply(ref, 407, R407, T0), 0);
	assert_int_equal(tmtab_ack(50, T0), 0);
	assert_empty();
	assert_int_equal(tmtab_ack(50, T0), TMTAB_E_NOTFOUND);
	assert_int_equal(timers(T0 + 500), 0);

	/* not for a non-INVITE */
	ref = begin_ok(51, false);
	assert_int_equal(reply(ref, 407, R407, T0), 0);
	assert_int_equal(tmtab_ack(51, T0), TMTAB_E_NOTFOUND);
	assert_int_equal(timers(T0 + 500), 0);
	assert_int_equal(timers(T0 + TMTAB_WAIT_MS), 0);
	assert_empty();

	ref = begin_ok(52, true);
	assert_int_equal(reply(ref, 407, R407, T0), 0);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		assert_int_equal(timers(T0 + at[i] - 1), 0);
		assert_int_equal(timers(T0 + at[i]), 1);
		UP(0, ref, R407);
	}
	assert_int_equal(timers(T0 + 19500), 1);
	assert_int_equal(timers(T0 + 23500), 1);
	assert_int_equal(timers(T0 + 27500), 1);
	assert_int_equal(timers(T0 + 31500), 1);
	assert_int_equal(timers(T0 + TMTAB_H_MS - 1), 0);
	assert_usage(1, 1);
	/* Timer H: freed, nothing sent */
	assert_int_equal(timers(T0 + TMTAB_H_MS), 0);
	assert_empty();
	assert_int_equal(tmtab_ack(52, T0), TMTAB_E_NOTFOUND);

	/* an ACK in the middle stops Timer G */
	ref = begin_ok(53, true);
	assert_int_equal(reply(ref, 407, R407, T0), 0);
	assert_int_equal(timers(T0 + 500), 1);
	assert_int_equal(tmtab_ack(53, T0), 0);
	assert_empty();
	assert_int_equal(timers(T0 + 1500), 0);
}

/*
 * The copies are resent T1 doubling to T2 with the same bytes, until a
 * reply; for an INVITE a provisional stops them.
 */
static void
test_branch_retransmission(void **state)
{
	static const uint64_t	 at[] = { 500, 1500, 3500, 7500, 11500,
				     15500, 19500 };
	struct tmtab_ref	 ref;
	unsigned		 i;

	(void)state;
	new_table(CAP);
	ref = begin_ok(60, false);
	branches(ref, 2, FR_MS, T0);
	assert_int_equal(timers(T0), 0);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		assert_int_equal(timers(T0 + at[i] - 1), 0);
		assert_int_equal(timers(T0 + at[i]), 2);
		RESEND(0, ref, 0);
		RESEND(1, ref, 1);
	}
	/* a final on branch 0 stops it, branch 1 goes on */
	assert_int_equal(resp(ref, 0, 404, R486, T0 + 20000), 0);
	assert_int_equal(timers(T0 + 23500), 1);
	RESEND(0, ref, 1);
	assert_int_equal(resp(ref, 1, 200, R200, T0 + 24000), 1);
	UP(0, ref, R200);
	assert_int_equal(timers(T0 + 27500), 0);
	assert_int_equal(timers(T0 + 24000 + TMTAB_WAIT_MS), 0);
	assert_empty();

	ref = begin_ok(61, true);
	branches(ref, 1, FR_MS, T0);
	assert_int_equal(timers(T0 + 500), 1);
	RESEND(0, ref, 0);
	assert_int_equal(timers(T0 + 1500), 1);
	RESEND(0, ref, 0);
	/* even a 100 stops an INVITE's */
	assert_int_equal(resp(ref, 0, 100, R100, T0 + 1600), 0);
	assert_int_equal(timers(T0 + 3500), 0);
	assert_int_equal(timers(T0 + 20000), 0);
	assert_int_equal(resp(ref, 0, 200, R200, T0 + 20000), 1);
	assert_int_equal(timers(T0 + 20000 + TMTAB_WAIT_MS), 0);
	assert_empty();
}

/* Timers stop when out is full and leave the rest due. */
static void
test_timers_out_full(void **state)
{
	static char		 small[8];
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(62, false);
	branches(ref, 2, FR_MS, T0);
	(void)O();
	out.to_max = 1;
	tmtab_timers(T0 + 500, &out);
	assert_int_equal(out.to_n, 1);
	RESEND(0, ref, 0);
	/* no room for the bytes: nothing, still due */
	(void)O();
	out.to_scratch = small;
	out.to_cap = sizeof(small);
	tmtab_timers(T0 + 500, &out);
	assert_int_equal(out.to_n, 0);
	assert_int_equal(timers(T0 + 500), 1);
	RESEND(0, ref, 1);
	assert_int_equal(timers(T0 + 500), 0);
	/* both next at +1000 from when they went */
	assert_int_equal(timers(T0 + 1500), 2);
	assert_int_equal(resp(ref, 0, 200, R200, T0 + 1600), 1);
	assert_int_equal(timers(T0 + 1600 + TMTAB_WAIT_MS), 0);
	assert_empty();
}

/*
 * fr timeout with no final: a 408 of sipd's own (the request as it
 * came, to where it came from) and a CANCEL of the ringing branch; the
 * silent branch is cancelled when it rings.
 */
static void
test_fr_timeout_408(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(70, true);
	assert_int_equal(reply(ref, 100, R100, T0), 0);
	branches(ref, 3, FR_MS, T0);
	assert_int_equal(resp(ref, 0, 180, R180, T0 + 100), 1);
	UP(0, ref, R180);
	assert_int_equal(resp(ref, 2, 100, R100, T0 + 100), 0);
	assert_int_equal(timers(T0 + FR_MS - 1), 1);	/* branch 1 */
	RESEND(0, ref, 1);
	assert_int_equal(timers(T0 + FR_MS), 3);
	ACT(0, TMTAB_LOCAL_408, ref, -1, REQ);
	CANCEL(1, ref, 0);
	CANCEL(2, ref, 2);
	/* the 408 sent: it answers retransmissions, Timer G resends it */
	assert_int_equal(reply(ref, 408, R408, T0 + FR_MS), 0);
	assert_int_equal(begin_again(70, true), 1);
	UP(0, ref, R408);
	assert_int_equal(resp(ref, 1, 180, R180, T0 + FR_MS + 100), 1);
	CANCEL(0, ref, 1);
	assert_int_equal(timers(T0 + FR_MS + 500), 3);
	UP(0, ref, R408);
	CANCEL(1, ref, 0);
	CANCEL(2, ref, 2);
	assert_int_equal(resp(ref, 0, 487, R487a, T0 + FR_MS + 550), 1);
	ACK(0, ref, 0);
	assert_int_equal(timers(T0 + FR_MS + 600), 1);
	CANCEL(0, ref, 1);
	/* Timer H */
	assert_int_equal(timers(T0 + FR_MS + TMTAB_H_MS), 0);
	assert_empty();

	/* non-INVITE: the 408, no CANCEL; freed TMTAB_WAIT_MS after it */
	ref = begin_ok(71, false);
	branches(ref, 1, FR_MS, T0);
	assert_int_equal(resp(ref, 0, 100, R100, T0 + 10), 0);
	assert_int_equal(timers(T0 + FR_MS), 1);
	ACT(0, TMTAB_LOCAL_408, ref, -1, MSG);
	assert_int_equal(reply(ref, 408, R408, T0 + FR_MS), 0);
	assert_int_equal(timers(T0 + FR_MS + TMTAB_WAIT_MS - 1), 0);
	assert_usage(1, 2);
	assert_int_equal(timers(T0 + FR_MS + TMTAB_WAIT_MS), 0);
	assert_empty();
}

/* fr timeout with a non-2xx held back: that one goes upstream. */
static void
test_fr_timeout_best(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(72, true);
	branches(ref, 3, FR_MS, T0);
	assert_int_equal(resp(ref, 0, 486, R486, T0 + 10), 1);
	ACK(0, ref, 0);
	assert_int_equal(resp(ref, 2, 302, R302, T0 + 11), 1);
	ACK(0, ref, 2);
	assert_int_equal(resp(ref, 1, 180, R180, T0 + 20), 1);
	UP(0, ref, R180);
	assert_int_equal(timers(T0 + FR_MS), 2);
	UP(0, ref, R302);
	CANCEL(1, ref, 1);
	/* a completed INVITE: Timer G for the 302 */
	assert_int_equal(timers(T0 + FR_MS + 500), 2);
	UP(0, ref, R302);
	CANCEL(1, ref, 1);
	assert_int_equal(resp(ref, 1, 487, R487a, T0 + FR_MS + 600), 1);
	ACK(0, ref, 1);
	cancel_ok(ref, 1, T0 + FR_MS + 600);
	assert_int_equal(tmtab_ack(72, T0 + FR_MS + 600), 0);
	assert_empty();
}

/*
 * fr_ms from forwarding; quiet_ms (when shorter) ends it earlier if no
 * branch answers at all (Timer B); any 1xx on any branch restores fr.
 */
static void
test_fr_quiet(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	/* nobody there: the short limit */
	ref = begin_ok(76, true);
	branches_p(ref, 1, 60000, 5000, T0);
	assert_int_equal(timers(T0 + 3500), 1);
	RESEND(0, ref, 0);
	assert_int_equal(timers(T0 + 4500), 1);
	RESEND(0, ref, 0);
	assert_int_equal(timers(T0 + 4999), 0);
	assert_int_equal(timers(T0 + 5000), 1);
	ACT(0, TMTAB_LOCAL_408, ref, -1, REQ);
	assert_int_equal(reply(ref, 408, R408, T0 + 5000), 0);
	/* the branch may still ring (it gets its CANCEL then): Timer H */
	assert_int_equal(timers(T0 + 5000 + TMTAB_H_MS), 0);
	assert_empty();

	/* a quiet_ms not shorter than fr_ms changes nothing */
	ref = begin_ok(75, true);
	branches_p(ref, 1, 3000, 3000, T0);
	assert_int_equal(timers(T0 + 500), 1);
	assert_int_equal(timers(T0 + 1500), 1);
	assert_int_equal(timers(T0 + 2999), 0);
	assert_int_equal(timers(T0 + 3000), 1);
	ACT(0, TMTAB_LOCAL_408, ref, -1, REQ);
	assert_int_equal(reply(ref, 408, R408, T0 + 3000), 0);
	assert_int_equal(timers(T0 + 3000 + TMTAB_H_MS), 0);
	assert_empty();

	/* it rings at +1000: fr_ms from forwarding holds */
	ref = begin_ok(77, true);
	branches_p(ref, 2, 60000, 5000, T0);
	assert_int_equal(resp(ref, 1, 180, R180, T0 + 1000), 1);
	assert_int_equal(resp(ref, 0, 180, R180, T0 + 2000), 1);
	assert_int_equal(resp(ref, 1, 183, R183, T0 + 3000), 1);
	assert_int_equal(timers(T0 + 5000), 0);
	assert_int_equal(timers(T0 + 59999), 0);
	assert_int_equal(timers(T0 + 60000), 3);
	ACT(0, TMTAB_LOCAL_408, ref, -1, REQ);
	CANCEL(1, ref, 0);
	CANCEL(2, ref, 1);
	assert_int_equal(reply(ref, 408, R408, T0 + 60000), 0);
	cancel_ok(ref, 0, T0 + 60100);
	cancel_ok(ref, 1, T0 + 60100);
	assert_int_equal(resp(ref, 0, 487, R487a, T0 + 60200), 1);
	ACK(0, ref, 0);
	assert_int_equal(resp(ref, 1, 487, R487b, T0 + 60200), 1);
	ACK(0, ref, 1);
	assert_int_equal(tmtab_ack(77, T0 + 60200), 0);
	assert_empty();
}

/*
 * No chunk left for a final that ends the search: it still goes up
 * (and its ACK down), as it came.
 */
static void
test_final_pool_full(void **state)
{
	static char		 big[TMTAB_MSG_MAX];
	struct tmtab_ref	 ref;
	unsigned		 total = CAP * TMTAB_CHUNKS_PER_CELL;

	(void)state;
	new_table(CAP);
	memset(big, 'r', sizeof(big));
	assert_int_equal(begin_n(78, true, big, (total - 2) * DATA, T0,
	    &ref), 0);
	branches(ref, 1, FR_MS, T0);
	assert_int_equal(resp(ref, 0, 180, R180, T0 + 10), 1);
	UP(0, ref, R180);
	assert_usage(1, total);
	assert_int_equal(resp(ref, 0, 486, R486, T0 + 20), 2);
	ACK(0, ref, 0);
	UP(1, ref, R486);
	/*
	 * completed: the request's chunks are back, and the 180 too (a
	 * retransmitted INVITE must not get it now); no Timer G
	 */
	assert_usage(1, 1);
	assert_int_equal(timers(T0 + 20 + 500), 0);
	assert_int_equal(tmtab_ack(78, T0), 0);
	assert_empty();

	/* a 6xx the same, with the CANCEL of the ringing branch */
	assert_int_equal(begin_n(79, true, big, (total - 3) * DATA, T0,
	    &ref), 0);
	branches(ref, 2, FR_MS, T0);
	assert_int_equal(resp(ref, 1, 180, R180, T0 + 10), 1);
	assert_usage(1, total);
	assert_int_equal(resp(ref, 0, 603, R603, T0 + 20), 3);
	ACK(0, ref, 0);
	CANCEL(1, ref, 1);
	UP(2, ref, R603);
	cancel_ok(ref, 1, T0 + 30);
	assert_int_equal(resp(ref, 1, 487, R487a, T0 + 40), 1);
	ACK(0, ref, 1);
	assert_int_equal(tmtab_ack(79, T0 + 40), 0);
	assert_empty();
}

/* A non-INVITE answered by a branch: freed TMTAB_WAIT_MS later. */
static void
test_non_invite_wait(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(73, false);
	branches(ref, 1, FR_MS, T0);
	/* a non-INVITE's provisional (not a 100) goes upstream too */
	assert_int_equal(resp(ref, 0, 180, R180, T0 + 10), 1);
	UP(0, ref, R180);
	assert_int_equal(resp(ref, 0, 200, R200, T0 + 100), 1);
	UP(0, ref, R200);
	/* no ACK or CANCEL for a non-INVITE */
	assert_int_equal(resp(ref, 0, 200, R200, T0 + 110), 1);
	UP(0, ref, R200);
	assert_int_equal(begin_again(73, false), 1);
	UP(0, ref, R200);
	assert_int_equal(timers(T0 + 100 + TMTAB_WAIT_MS - 1), 0);
	assert_usage(1, 2);
	assert_int_equal(timers(T0 + 100 + TMTAB_WAIT_MS), 0);
	assert_empty();

	ref = begin_ok(74, false);
	branches(ref, 1, FR_MS, T0);
	assert_int_equal(resp(ref, 0, 486, R486, T0 + 100), 1);
	UP(0, ref, R486);
	assert_int_equal(resp(ref, 0, 486, R486, T0 + 110), 0);
	assert_int_equal(tmtab_ack(74, T0), TMTAB_E_NOTFOUND);
	assert_int_equal(timers(T0 + 100 + TMTAB_WAIT_MS), 0);
	assert_empty();
}

/* A ref whose cell was freed and reused names nothing any more. */
static void
test_stale_ref(void **state)
{
	struct tmtab_ref	 a, b, bad;
	struct tmtab_branch	 br[TMTAB_BRANCHES + 1];

	(void)state;
	new_table(CAP);
	a = begin_ok(80, true);
	tmtab_abandon(a);
	assert_empty();
	b = begin_ok(81, true);
	assert_int_equal(b.tr_idx, a.tr_idx);
	assert_int_equal(b.tr_gen, (a.tr_gen + 1) & TMTAB_GEN_MASK);
	branches(b, 1, FR_MS, T0);
	assert_int_equal(tmtab_response(a, 0, 180, false, R180, strlen(R180),
	    T0, O()), TMTAB_E_NOTFOUND);
	assert_int_equal(out.to_n, 0);
	assert_int_equal(reply(a, 486, R486, T0), TMTAB_E_NOTFOUND);
	memset(br, 0, sizeof(br));
	assert_int_equal(tmtab_branches(a, br, 1, FR_MS, 0, T0),
	    TMTAB_E_NOTFOUND);
	tmtab_abandon(a);
	assert_usage(1, 2);
	/* b is untouched by all that */
	assert_int_equal(resp(b, 0, 180, R180, T0), 1);
	UP(0, b, R180);
	/* out of range refs and branches */
	bad.tr_idx = CAP;
	bad.tr_gen = 0;
	assert_int_equal(reply(bad, 200, R200, T0), TMTAB_E_NOTFOUND);
	bad.tr_idx = UINT32_MAX;
	assert_int_equal(reply(bad, 200, R200, T0), TMTAB_E_NOTFOUND);
	bad.tr_idx = b.tr_idx + 1;
	assert_int_equal(reply(bad, 200, R200, T0), TMTAB_E_NOTFOUND);
	assert_int_equal(tmtab_response(b, 1, 200, false, R200, strlen(R200),
	    T0, O()), TMTAB_E_NOTFOUND);
	assert_int_equal(tmtab_response(b, -1, 200, false, R200,
	    strlen(R200), T0, O()), TMTAB_E_NOTFOUND);
	assert_int_equal(out.to_n, 0);
	assert_int_equal(tmtab_branches(b, br, TMTAB_BRANCHES + 1, FR_MS, 0,
	    T0), -EINVAL);
	/* freed by the timers, then reused: still stale */
	assert_int_equal(resp(b, 0, 200, R200, T0 + 10), 1);
	assert_int_equal(timers(T0 + 10 + TMTAB_WAIT_MS), 0);
	assert_empty();
	a = begin_ok(82, false);
	assert_int_equal(a.tr_idx, b.tr_idx);
	assert_int_equal(a.tr_gen, (b.tr_gen + 1) & TMTAB_GEN_MASK);
	assert_int_equal(tmtab_response(b, 0, 200, false, R200, strlen(R200),
	    T0, O()), TMTAB_E_NOTFOUND);
	assert_int_equal(out.to_n, 0);
	tmtab_abandon(a);
	assert_empty();
}

/* --- regressions ------------------------------------------------------- */

/*
 * Regression: a CANCEL that arrives between tmtab_begin() and
 * tmtab_branches() is lost. tmtab_cancel() marks the cell cancelled and
 * returns 0 (sipd answers the CANCEL 200), but tmtab_branches() then
 * creates the branches with br_cancel = TX_NONE, so when a branch
 * rings, tmtab_response() swallows the 180 (tc_canceled) and sends no
 * CANCEL: the callee rings until the fr timer (fr_inv_timeout). In
 * sipd the window is real: tm_forward() sends 100 Trying (after which
 * the UAC may CANCEL, handled by any worker) before tmtab_branches().
 */
static void
test_cancel_before_branches(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(95, true);
	assert_int_equal(reply(ref, 100, R100, T0), 0);
	assert_int_equal(tmtab_cancel(95, T0 + 1, O()), 0);
	assert_int_equal(out.to_n, 0);
	branches(ref, 1, FR_MS, T0 + 2);
	/* expected: the ringing branch is cancelled now */
	assert_int_equal(resp(ref, 0, 180, R180, T0 + 100), 1);
	CANCEL(0, ref, 0);
	cancel_ok(ref, 0, T0 + 200);
	assert_int_equal(resp(ref, 0, 487, R487a, T0 + 300), 2);
	ACK(0, ref, 0);
	UP(1, ref, R487a);
	assert_int_equal(tmtab_ack(95, T0 + 300), 0);
	assert_empty();
}

/*
 * Regression: RFC 3261 §17.1.2.2 (non-INVITE client transaction): after a
 * provisional, Timer E keeps firing, at T2, until a final. tmtab stops
 * a non-INVITE branch's retransmissions at any provisional (as for an
 * INVITE, Timer A): a lost final then ends in sipd's own 408 at the fr
 * timer, where the RFC has the UAS answer the next retransmission.
 */
static void
test_non_invite_1xx_retransmission(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(96, false);
	branches(ref, 1, FR_MS, T0);
	assert_int_equal(timers(T0 + 500), 1);
	assert_int_equal(resp(ref, 0, 100, R100, T0 + 600), 0);
	/* expected: resent at T2 from the last one (+1000 was due) */
	assert_int_equal(timers(T0 + 1500), 1);
	RESEND(0, ref, 0);
	assert_int_equal(timers(T0 + 5500), 1);
	RESEND(0, ref, 0);
	assert_int_equal(resp(ref, 0, 200, R200, T0 + 6000), 1);
	assert_int_equal(timers(T0 + 6000 + TMTAB_WAIT_MS), 0);
	assert_empty();
}

/*
 * Regression: tmtab_ack() takes no `now`. When a branch may
 * still answer, it sets the cell's free time from tmtab_now_ms(), the
 * real monotonic clock, while every other call and the timers use the
 * caller's `now`. On a fake clock the cell is then freed at a time that
 * depends on the machine's uptime; in sipd both clocks are the same,
 * so only tests are hurt, but the sequence below cannot be tested
 * deterministically.
 */
static void
test_ack_clock(void **state)
{
	struct tmtab_ref	 ref;

	(void)state;
	new_table(CAP);
	ref = begin_ok(97, true);
	branches(ref, 1, FR_MS, T0);
	assert_int_equal(timers(T0 + FR_MS), 1);
	ACT(0, TMTAB_LOCAL_408, ref, -1, REQ);
	assert_int_equal(reply(ref, 408, R408, T0 + FR_MS), 0);
	/* the branch has not answered: kept TMTAB_WAIT_MS after the ACK */
	assert_int_equal(tmtab_ack(97, T0 + FR_MS), 0);
	assert_usage(1, 2);
	assert_int_equal(timers(T0 + FR_MS + 100 + TMTAB_WAIT_MS), 0);
	assert_empty();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_created),
		cmocka_unit_test(test_hash),
		cmocka_unit_test_teardown(test_create_usage, teardown),
		cmocka_unit_test_teardown(test_begin_retransmission, teardown),
		cmocka_unit_test_teardown(test_full_cells, teardown),
		cmocka_unit_test_teardown(test_full_chunks, teardown),
		cmocka_unit_test_teardown(test_invite_2xx, teardown),
		cmocka_unit_test_teardown(test_invite_non2xx, teardown),
		cmocka_unit_test_teardown(test_forking_choice, teardown),
		cmocka_unit_test_teardown(test_forking_6xx_first, teardown),
		cmocka_unit_test_teardown(test_forking_6xx, teardown),
		cmocka_unit_test_teardown(test_forking_2xx, teardown),
		cmocka_unit_test_teardown(test_cancel, teardown),
		cmocka_unit_test_teardown(test_cancel_gives_up, teardown),
		cmocka_unit_test_teardown(test_ack_timer_g, teardown),
		cmocka_unit_test_teardown(test_branch_retransmission, teardown),
		cmocka_unit_test_teardown(test_timers_out_full, teardown),
		cmocka_unit_test_teardown(test_fr_timeout_408, teardown),
		cmocka_unit_test_teardown(test_fr_timeout_best, teardown),
		cmocka_unit_test_teardown(test_fr_quiet, teardown),
		cmocka_unit_test_teardown(test_final_pool_full, teardown),
		cmocka_unit_test_teardown(test_non_invite_wait, teardown),
		cmocka_unit_test_teardown(test_stale_ref, teardown),
		cmocka_unit_test_teardown(test_cancel_before_branches,
		    teardown),
		cmocka_unit_test_teardown(test_non_invite_1xx_retransmission,
		    teardown),
		cmocka_unit_test_teardown(test_ack_clock, teardown),
		cmocka_unit_test_teardown(test_source_budget, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
