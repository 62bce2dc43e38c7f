/*
 * test_loctab_fork.c: shm/loctab.c under real processes, as the master
 * forks them: concurrent children on shared AoRs, a full table updated
 * by several children at once, and the crash test, which kills a child
 * at every step of each kind of change (through loctab_step_hook) and
 * checks that the next locker repairs the bucket without losing or
 * tearing a binding. Children never call cmocka and report through
 * their exit status.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "loctab.h"
#include "loctab_test.h"
#include "shm.h"

#include "testutil.h"

/* --- processes ----------------------------------------------------- */

#define NCHILD		4
#define PER_CHILD	300

/* Child i: its own AoRs, plus the shared ones, all with checks. */
static int
child_work(struct loctab *lt, unsigned id)
{
	char		 aor[32], uri[48], cid[32];
	unsigned	 i, round;

	snprintf(cid, sizeof(cid), "cid-%u", id);
	for (round = 1; round <= 3; round++) {
		for (i = 0; i < PER_CHILD; i++) {
			snprintf(aor, sizeof(aor), "c%u-%u", id, i);
			snprintf(uri, sizeof(uri), "sip:%u@%u.example", i, id);
			if (save1(lt, aor, uri, cid, round, 100 * round,
			    (int)(i % 3) * 100) != 0)
				return 10;
			snprintf(uri, sizeof(uri), "sip:b%u@%u.example", i,
			    id);
			if (save1(lt, aor, uri, cid, round + 10,
			    round == 3 && i % 2 ? 0 : 50, -1) != 0)
				return 11;
			/* Everyone hammers the shared AoRs too. */
			snprintf(aor, sizeof(aor), "shared%u", i % 5);
			snprintf(uri, sizeof(uri), "sip:s@%u", id);
			if (save1(lt, aor, uri, cid, round * 1000 + i, 100,
			    (int)id) != 0)
				return 12;
			if (save1(lt, aor, "sip:common", cid, round * 1000 + i,
			    100, 7) != 0)
				return 13;
		}
	}
	return 0;
}

static void
test_fork_concurrency(void **state)
{
	struct loctab	*lt = new_table(16, 10000);
	struct loctab_stats st;
	pid_t		 pid[NCHILD];
	char		 aor[32];
	unsigned	 i, k;
	int		 status;

	(void)state;
	for (i = 0; i < NCHILD; i++) {
		pid[i] = testutil_fork();
		assert_true(pid[i] != -1);
		if (pid[i] == 0) {
			alarm(CHILD_ALARM);
			_exit(child_work(lt, i));
		}
	}
	for (i = 0; i < NCHILD; i++) {
		status = testutil_reap(pid[i], 30000);
		assert_true(status != -1 && WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(loctab_check(lt), 0);
	for (i = 0; i < NCHILD; i++) {
		for (k = 0; k < PER_CHILD; k++) {
			snprintf(aor, sizeof(aor), "c%u-%u", i, k);
			assert_int_equal(count_of(lt, aor), k % 2 ? 1 : 2);
			assert_int_equal(out[0].lb_cseq, 3);
			assert_int_equal(out[0].lb_expires, NOW + 300);
			if (k % 2 == 0)
				assert_int_equal(out[1].lb_cseq, 13);
		}
	}
	for (k = 0; k < 5; k++) {
		snprintf(aor, sizeof(aor), "shared%u", k);
		assert_int_equal(count_of(lt, aor), NCHILD + 1);
		assert_string_equal(out[0].lb_contact, "sip:common");
		for (i = 1; i <= NCHILD; i++)
			assert_int_equal(out[i].lb_q, (int)(NCHILD - i));
	}
	loctab_stats(lt, &st);
	assert_int_equal(st.st_bindings,
	    NCHILD * PER_CHILD * 3 / 2 + 5 * (NCHILD + 1));
	assert_int_equal(st.st_records, NCHILD * PER_CHILD + 5);
	assert_int_equal(st.st_recoveries, 0);
}

/*
 * Crash at every step. Each scenario is a base table and one change;
 * the child makes the change with a hook that SIGKILLs it at step k,
 * for k = 1, 2, ... until the change completes. The parent then uses
 * the table (loctab_check() takes every lock: repairs run) and compares
 * it with the table before and after the change: untouched bindings
 * are identical, a binding present before and after is present in one
 * of its two versions, the others in one version or absent.
 */
static unsigned	 crash_at, crash_steps;

/*
 * A table holding exactly max_contacts bindings, every one updated
 * (new Call-ID, a User-Agent of another size class, same contact) by
 * several processes at once: the copies of the updates in flight must
 * never make the table look full. Then an insert still is refused.
 */
#define FULL_CAP	4096
#define FULL_HASH	64
#define FULL_NCHILD	8
#define FULL_ROUNDS	4

static void
full_save(struct loctab *lt, unsigned i, unsigned round,
    struct loctab_save *r, struct loctab_contact *c, char *aor, char *uri,
    char *cid)
{
	/* Round 0 (the fill): 96-byte blocks; then 256, 128, 256, 128. */
	static const char ua_long[] = "sipd-load/1.0 (an agent whose name "
	    "is long enough to move the binding up two size classes, "
	    "x86_64-linux-gnu; libsip 4.2.1; build 20240101)";
	static const char ua_short[] = "ua/2 (short, but one size class "
	    "up from the fill)";

	snprintf(aor, 16, "f%05u", i);
	snprintf(uri, 32, "sip:f%05u@10.0.%u.%u", i, i >> 8, i & 255);
	snprintf(cid, 32, "r%u-%u@h", round, i);
	*c = C(uri, 300, -1);
	*r = R(aor, cid, round + 1, c, 1);
	if (round == 0)
		r->sv_user_agent = S("ua");
	else
		r->sv_user_agent = S(round % 2 ? ua_long : ua_short);
}

static int
full_child(struct loctab *lt, unsigned k)
{
	struct loctab_contact	 c;
	struct loctab_save	 r;
	char			 aor[16], uri[32], cid[32];
	unsigned		 i, round, n;
	int			 rc;

	for (round = 1; round <= FULL_ROUNDS; round++) {
		for (i = k; i < FULL_CAP; i += FULL_NCHILD) {
			full_save(lt, i, round, &r, &c, aor, uri, cid);
			rc = loctab_save(lt, &r, NULL, 0, &n);
			if (rc == LOCTAB_E_FULL)
				return 1;
			if (rc != 0 || n != 1)
				return 2;
		}
	}
	return 0;
}

static void
test_full_updates(void **state)
{
	struct loctab		*lt = new_table(FULL_HASH, FULL_CAP);
	struct loctab_contact	 c[2];
	struct loctab_save	 r;
	struct loctab_stats	 st;
	pid_t			 pid[FULL_NCHILD];
	char			 aor[16], uri[32], cid[32];
	unsigned		 i, n;
	int			 status;
	uint64_t		 ch;

	(void)state;
	for (i = 0; i < FULL_CAP; i++) {
		full_save(lt, i, 0, &r, &c[0], aor, uri, cid);
		assert_int_equal(loctab_save(lt, &r, NULL, 0, &n), 0);
	}
	assert_int_equal(save1(lt, "new", "sip:new@h", "c", 1, 100, -1),
	    LOCTAB_E_FULL);
	for (i = 0; i < FULL_NCHILD; i++) {
		pid[i] = testutil_fork();
		assert_true(pid[i] != -1);
		if (pid[i] == 0) {
			alarm(CHILD_ALARM);
			_exit(full_child(lt, i));
		}
	}
	for (i = 0; i < FULL_NCHILD; i++) {
		status = testutil_reap(pid[i], 30000);
		assert_true(status != -1 && WIFEXITED(status));
		/* 1: an update got LOCTAB_E_FULL. */
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(loctab_check(lt), 0);
	loctab_stats(lt, &st);
	assert_int_equal(st.st_bindings, FULL_CAP);
	assert_int_equal(st.st_rec_pool.ps_used, FULL_CAP);
	for (i = 0; i < FULL_CAP; i++) {
		full_save(lt, i, FULL_ROUNDS, &r, &c[0], aor, uri, cid);
		assert_int_equal(count_of(lt, aor), 1);
		assert_string_equal(out[0].lb_contact, uri);
		assert_string_equal(out[0].lb_callid, cid);
		assert_int_equal(out[0].lb_user_agent_len,
		    r.sv_user_agent.ls_len);
	}
	/* A new binding is still one too many, alone or with an update. */
	ch = loctab_changes(lt);
	assert_int_equal(save1(lt, "new", "sip:new@h", "c", 1, 100, -1),
	    LOCTAB_E_FULL);
	full_save(lt, 7, FULL_ROUNDS + 1, &r, &c[0], aor, uri, cid);
	c[1] = C("sip:other@h", 300, -1);
	r.sv_contacts = c;
	r.sv_ncontacts = 2;
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), LOCTAB_E_FULL);
	assert_int_equal(loctab_changes(lt), ch);
	assert_int_equal(loctab_check(lt), 0);
}

static void
crash_hook(const char *step)
{
	(void)step;
	if (++crash_steps == crash_at)
		(void)raise(SIGKILL);
}

enum scenario {
	SC_INSERT, SC_INSERT_AOR, SC_UPDATE, SC_REFRESH, SC_MOVE,
	SC_REMOVE, SC_MULTI, SC_STAR, SC_EXPIRE, SC_RM_AOR, SC_N
};

static void
crash_base(struct loctab *lt)
{
	assert_int_equal(save1(lt, "alice", "sip:A", "c", 1, 100, 500), 0);
	assert_int_equal(save1(lt, "alice", "sip:B", "c", 2, 10, 100), 0);
	assert_int_equal(save1(lt, "bob", "sip:C", "c", 1, 100, -1), 0);
	assert_int_equal(save1(lt, "alice", "sip:E", "c", 3, 100, -1), 0);
	assert_int_equal(save1(lt, "carol", "sip:F", "c", 1, 100, -1), 0);
	(void)loctab_mark_synced(lt, loctab_changes(lt) - 1);
}

static int
crash_change(struct loctab *lt, enum scenario sc)
{
	struct loctab_contact	 c[3];
	struct loctab_save	 r;
	unsigned		 n;

	switch (sc) {
	case SC_INSERT:
		return save1(lt, "alice", "sip:D", "c", 9, 100, 300);
	case SC_INSERT_AOR:
		return save1(lt, "dave", "sip:D", "c", 9, 100, 300);
	case SC_UPDATE:
		c[0] = C("sip:A", 200, 500);
		c[0].lc_received = S("sip:9.9.9.9:99");
		r = R("alice", "c", 9, c, 1);
		return loctab_save(lt, &r, out, 64, &n);
	case SC_REFRESH:
		return save1(lt, "alice", "sip:A", "c", 9, 100, 500);
	case SC_MOVE:
		return save1(lt, "alice", "sip:A", "new", 1, 300, 50);
	case SC_REMOVE:
		return save1(lt, "alice", "sip:B", "c", 9, 0, -1);
	case SC_MULTI:
		c[0] = C("sip:A", 200, 0);
		c[1] = C("sip:B", 0, -1);
		c[2] = C("sip:D", 100, 1000);
		r = R("alice", "c", 9, c, 3);
		return loctab_save(lt, &r, out, 64, &n);
	case SC_STAR:
		r = R("alice", "c", 9, NULL, 0);
		r.sv_star = 1;
		return loctab_save(lt, &r, out, 64, &n);
	case SC_EXPIRE:
		return loctab_expire(lt, NOW + 10) == 1 ? 0 : -1;
	case SC_RM_AOR:
		return loctab_rm_aor(lt, S("alice"));
	case SC_N:
		break;
	}
	return -1;
}

/* All bindings of the table, in dump order, zero-padded. */
static unsigned
snapshot(struct loctab *lt, struct loctab_binding *all, unsigned max)
{
	unsigned n = 0, b, k;

	memset(all, 0, max * sizeof(*all));
	for (b = 0; b < loctab_hash_size(lt); b++) {
		assert_int_equal(loctab_copy_bucket(lt, b, all + n, max - n,
		    &k), 0);
		n += k;
	}
	return n;
}

static const struct loctab_binding *
find_binding(const struct loctab_binding *all, unsigned n,
    const struct loctab_binding *like)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (all[i].lb_aor_len == like->lb_aor_len &&
		    all[i].lb_contact_len == like->lb_contact_len &&
		    memcmp(all[i].lb_aor, like->lb_aor,
		    like->lb_aor_len) == 0 &&
		    memcmp(all[i].lb_contact, like->lb_contact,
		    like->lb_contact_len) == 0)
			return &all[i];
	return NULL;
}

static void
test_crash_every_step(void **state)
{
	static struct loctab_binding before[16], after[16], got[16];
	const struct loctab_binding *x, *y;
	struct loctab	*lt;
	unsigned	 nb, na, ng, i, k, kills, total = 0, recovered = 0;
	int		 sc, done;

	(void)state;
	for (sc = 0; sc < SC_N; sc++) {
		lt = new_table(1, 32);
		crash_base(lt);
		nb = snapshot(lt, before, 16);
		assert_int_equal(crash_change(lt, sc), 0);
		assert_int_equal(loctab_check(lt), 0);
		na = snapshot(lt, after, 16);

		kills = 0;
		for (k = 1, done = 0; !done; k++) {
			pid_t pid;

			lt = new_table(1, 32);
			crash_base(lt);
			pid = testutil_fork();
			assert_true(pid != -1);
			if (pid == 0) {
				alarm(CHILD_ALARM);
				crash_at = k;
				crash_steps = 0;
				loctab_step_hook = crash_hook;
				_exit(crash_change(lt, sc) == 0 ? 0 : 1);
			}
			if (testutil_reap_killed(pid, WAIT_MS))
				kills++;
			else
				done = 1;
			/* The next locker repairs; nothing leaks. */
			assert_int_equal(loctab_check(lt), 0);
			recovered += loctab_lock_recoveries(lt);
			ng = snapshot(lt, got, 16);
			for (i = 0; i < nb; i++) {
				x = find_binding(got, ng, &before[i]);
				y = find_binding(after, na, &before[i]);
				if (y != NULL)
					assert_non_null(x);	/* not lost */
				if (x == NULL)
					continue;
				if (memcmp(x, &before[i], sizeof(*x)) != 0)
					assert_non_null(y);
				if (y != NULL && memcmp(x, &before[i],
				    sizeof(*x)) != 0)
					assert_memory_equal(x, y, sizeof(*x));
			}
			for (i = 0; i < ng; i++) {
				x = find_binding(before, nb, &got[i]);
				y = find_binding(after, na, &got[i]);
				assert_true(x != NULL || y != NULL);
				if (x == NULL ||
				    memcmp(x, &got[i], sizeof(*x)) != 0) {
					assert_non_null(y);
					assert_memory_equal(&got[i], y,
					    sizeof(*y));
				}
			}
			/* And the table works on. */
			assert_int_equal(save1(lt, "zed", "sip:Z", "c", 1,
			    100, -1), 0);
			assert_int_equal(loctab_check(lt), 0);
		}
		assert_true(kills > 0);
		total += kills;
	}
	/* The takeovers are counted: the master logs them by table. */
	assert_true(recovered > 0);
	print_message("# crash test: %u kills over %d scenarios, %u lock "
	    "takeovers\n", total, SC_N, recovered);
}


int
main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_fork_concurrency, teardown),
		cmocka_unit_test_teardown(test_full_updates, teardown),
		cmocka_unit_test_teardown(test_crash_every_step, teardown),
	};

	/* SIPD_TEST_SKIP: test/cross.sh, under qemu-user. */
	return testutil_run_tests(tests, sizeof(tests) / sizeof(tests[0]));
}
