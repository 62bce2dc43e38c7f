/*
 * test_loctab.c: unit tests for shm/loctab.c, the usrloc table.
 *
 * One cmocka process; each test makes a fresh mapping and table. The
 * tests with real child processes (concurrency, crash at every step)
 * are in test_loctab_fork.c; the helpers both use in loctab_test.c.
 * The memory test prints, as TAP comments, the bytes of shm resident
 * per binding.
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

/* --- basics -------------------------------------------------------- */

static void
test_sizes(void **state)
{
	struct loctab	*lt;
	struct shm_usage u;
	size_t		 need;

	(void)state;
	assert_int_equal(loctab_shm_size(0, 10), SIZE_MAX);
	assert_int_equal(loctab_shm_size(LOCTAB_HASH_MAX + 1, 10), SIZE_MAX);
	assert_int_equal(loctab_shm_size(16, 0), SIZE_MAX);
	assert_int_equal(loctab_shm_size(16, LOCTAB_CAPACITY_MAX + 1),
	    SIZE_MAX);
	assert_true(loctab_shm_size(16, 100) >=
	    loctab_shm_size_add(0, 16, 100));

	/* The helper's size is exactly what create carves. */
	shm_destroy();
	need = loctab_shm_size_add(shm_size_base(), 512, 1000);
	assert_int_equal(shm_create(need), 0);
	assert_int_equal(loctab_create(0, 10, &lt), -EINVAL);
	assert_int_equal(loctab_create(512, 1000, &lt), 0);
	shm_usage(&u);
	assert_int_equal(u.su_used, need);
	assert_int_equal(loctab_hash_size(lt), 512);
	assert_int_equal(loctab_check(lt), 0);
	/* No room for a second one. */
	assert_int_equal(loctab_create(512, 1000, &lt), -ENOMEM);
}

static void
test_save_lookup(void **state)
{
	struct loctab		*lt = new_table(16, 100);
	struct loctab_contact	 c[2];
	struct loctab_save	 r;
	struct loctab_binding	*b;
	unsigned		 n = 99;

	(void)state;
	assert_int_equal(loctab_lookup(lt, S("alice"), NOW, out, 64, &n),
	    LOCTAB_E_NOTFOUND);
	c[0] = C("sip:alice@10.0.0.1:5060", 3600, 500);
	c[0].lc_received = S("sip:1.2.3.4:5678");
	c[0].lc_path = S("<sip:edge.example.com;lr>");
	c[0].lc_methods = 527;
	c[0].lc_flags = 3;
	c[0].lc_cflags = 9;
	c[1] = C("sip:alice@10.0.0.2:5060", 60, LOCTAB_Q_UNSET);
	r = R("alice", "cid-1@host", 7, c, 2);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	assert_int_equal(n, 2);

	memset(out, 0, sizeof(out));
	assert_int_equal(loctab_lookup(lt, S("alice"), NOW, out, 64, &n), 0);
	assert_int_equal(n, 2);
	b = &out[0];
	assert_string_equal(b->lb_aor, "alice");
	assert_int_equal(b->lb_aor_len, 5);
	assert_string_equal(b->lb_contact, "sip:alice@10.0.0.1:5060");
	assert_string_equal(b->lb_received, "sip:1.2.3.4:5678");
	assert_string_equal(b->lb_path, "<sip:edge.example.com;lr>");
	assert_string_equal(b->lb_callid, "cid-1@host");
	assert_string_equal(b->lb_user_agent, "test-ua/1.0");
	assert_string_equal(b->lb_socket, "udp:127.0.0.1:5060");
	assert_int_equal(b->lb_expires, NOW + 3600);
	assert_int_equal(b->lb_last_modified, NOW);
	assert_int_equal(b->lb_q, 500);
	assert_int_equal(b->lb_cseq, 7);
	assert_int_equal(b->lb_flags, 3);
	assert_int_equal(b->lb_cflags, 9);
	assert_int_equal(b->lb_methods, 527);
	assert_int_equal(b->lb_state, LOCTAB_CS_NEW);
	assert_int_equal(b->lb_bucket, loctab_bucket_of(lt, "alice", 5));
	assert_int_equal(out[1].lb_q, LOCTAB_Q_UNSET);
	assert_int_equal(out[1].lb_received_len, 0);
	assert_string_equal(out[1].lb_received, "");
	assert_int_equal(out[1].lb_methods, LOCTAB_METHODS_ALL);

	/* out shorter than the list: the count says so. */
	assert_int_equal(loctab_lookup(lt, S("alice"), NOW, out, 1, &n), 0);
	assert_int_equal(n, 2);
	/* Lookup is byte-exact on the AoR. */
	assert_int_equal(loctab_lookup(lt, S("Alice"), NOW, out, 64, &n),
	    LOCTAB_E_NOTFOUND);
	assert_int_equal(loctab_lookup(lt, S("alic"), NOW, out, 64, &n),
	    LOCTAB_E_NOTFOUND);
	/* A REGISTER without contacts lists the bindings. */
	r = R("alice", "other", 1, NULL, 0);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(loctab_check(lt), 0);
}

static void
test_states_sync(void **state)
{
	struct loctab	*lt = new_table(16, 100);
	uint64_t	 snap, snap2;

	(void)state;
	assert_int_equal(loctab_changes(lt), 0);
	assert_int_equal(save1(lt, "a", "sip:a@h", "c1", 1, 3600, -1), 0);
	assert_int_equal(save1(lt, "b", "sip:b@h", "c1", 1, 3600, -1), 0);
	snap = loctab_changes(lt);
	assert_true(snap >= 2);
	/* NEW stays NEW on update. */
	assert_int_equal(save1(lt, "a", "sip:a@h", "c1", 2, 3600, -1), 0);
	assert_int_equal(out[0].lb_state, LOCTAB_CS_NEW);
	/* Only bindings not changed since the snapshot become SYNC. */
	assert_int_equal(loctab_mark_synced(lt, snap), 1);
	assert_int_equal(count_of(lt, "a"), 1);
	assert_int_equal(out[0].lb_state, LOCTAB_CS_NEW);
	assert_int_equal(count_of(lt, "b"), 1);
	assert_int_equal(out[0].lb_state, LOCTAB_CS_SYNC);
	snap2 = loctab_changes(lt);
	assert_int_equal(loctab_mark_synced(lt, snap2), 1);
	assert_int_equal(loctab_mark_synced(lt, snap2), 0);
	/* Marking does not count as a change: the next flush is skipped. */
	assert_int_equal(loctab_changes(lt), snap2);
	/* SYNC -> DIRTY on update, DIRTY stays DIRTY. */
	assert_int_equal(save1(lt, "b", "sip:b@h", "c1", 2, 3600, -1), 0);
	assert_int_equal(out[0].lb_state, LOCTAB_CS_DIRTY);
	assert_int_equal(save1(lt, "b", "sip:b@h", "c2", 1, 3600, -1), 0);
	assert_int_equal(out[0].lb_state, LOCTAB_CS_DIRTY);
	assert_true(loctab_changes(lt) > snap2);
	assert_int_equal(loctab_mark_synced(lt, loctab_changes(lt)), 1);
	assert_int_equal(count_of(lt, "b"), 1);
	assert_int_equal(out[0].lb_state, LOCTAB_CS_SYNC);
	/* Removals count as changes. */
	snap = loctab_changes(lt);
	assert_int_equal(loctab_rm_aor(lt, S("b")), 0);
	assert_true(loctab_changes(lt) > snap);
	assert_int_equal(loctab_check(lt), 0);
}

/* What an incremental flush is told to write, bucket by bucket. */
static unsigned
unsynced_in(struct loctab *lt, unsigned b, struct loctab_unsynced *us)
{
	static struct loctab_binding buf[64];

	assert_int_equal(loctab_copy_unsynced(lt, b, buf, 64, us), 0);
	return us->us_nbind;
}

static void
test_unsynced_groups(void **state)
{
	struct loctab		*lt = new_table(1, 100);
	struct loctab_unsynced	 us;
	static struct loctab_binding small[1];
	char			 aor[8];
	unsigned		 i;

	(void)state;
	/* Nothing changed: nothing to write. */
	assert_int_equal(unsynced_in(lt, 0, &us), 0);
	assert_false(us.us_all);
	assert_int_equal(us.us_nhash, 0);
	assert_int_equal(save1(lt, "a", "sip:a@h", "c1", 1, 3600, -1), 0);
	assert_int_equal(save1(lt, "a", "sip:a2@h", "c1", 2, 3600, -1), 0);
	assert_int_equal(save1(lt, "b", "sip:b@h", "c1", 1, 3600, -1), 0);
	/* Too small a buffer: told so, nothing forgotten. */
	assert_int_equal(loctab_copy_unsynced(lt, 0, small, 1, &us),
	    LOCTAB_E_SPACE);
	/* Two new AoRs: both groups, with their three bindings. */
	assert_int_equal(unsynced_in(lt, 0, &us), 3);
	assert_false(us.us_all);
	assert_int_equal(us.us_nhash, 2);
	assert_int_equal(loctab_mark_synced(lt, loctab_changes(lt)), 3);
	assert_int_equal(unsynced_in(lt, 0, &us), 0);
	assert_int_equal(us.us_nhash, 0);
	/* A removed binding names its AoR; the AoR's other one is copied. */
	assert_int_equal(loctab_rm_contact(lt, S("a"), S("sip:a2@h")), 0);
	assert_int_equal(unsynced_in(lt, 0, &us), 1);
	assert_int_equal(us.us_nhash, 1);
	assert_int_equal(us.us_hash[0], loctab_aor_hash("a", 1));
	/* Reported once: the note is gone after the copy. */
	assert_int_equal(unsynced_in(lt, 0, &us), 0);
	/* A whole AoR gone: its group, with no binding left. */
	assert_int_equal(loctab_rm_aor(lt, S("b")), 0);
	assert_int_equal(unsynced_in(lt, 0, &us), 0);
	assert_int_equal(us.us_nhash, 1);
	assert_int_equal(us.us_hash[0], loctab_aor_hash("b", 1));
	/* Rows dropped at load are noted the same way. */
	assert_int_equal(loctab_note_gone(lt, "z", 1), 0);
	assert_int_equal(unsynced_in(lt, 0, &us), 0);
	assert_int_equal(us.us_hash[0], loctab_aor_hash("z", 1));
	/* More AoRs gone than a bucket names: the whole bucket. */
	for (i = 0; i < 5; i++) {
		(void)snprintf(aor, sizeof(aor), "x%u", i);
		assert_int_equal(save1(lt, aor, "sip:x@h", "c1", 1, 3600, -1),
		    0);
	}
	assert_int_equal(loctab_mark_synced(lt, loctab_changes(lt)), 5);
	for (i = 0; i < 4; i++) {
		(void)snprintf(aor, sizeof(aor), "x%u", i);
		assert_int_equal(loctab_rm_aor(lt, S(aor)), 0);
	}
	assert_int_equal(unsynced_in(lt, 0, &us), 2);	/* a and x4 */
	assert_true(us.us_all);
	assert_int_equal(unsynced_in(lt, 0, &us), 0);
	assert_false(us.us_all);
	assert_int_equal(loctab_check(lt), 0);
}

static void
test_cseq_rules(void **state)
{
	struct loctab		*lt = new_table(16, 100);
	struct loctab_contact	 c[2];
	struct loctab_save	 r;
	unsigned		 n;

	(void)state;
	assert_int_equal(save1(lt, "a", "sip:a@h", "cid", 10, 3600, -1), 0);
	/* Lower CSeq, same Call-ID: 400, unchanged. */
	assert_int_equal(save1(lt, "a", "sip:a@h", "cid", 9, 100, -1),
	    LOCTAB_E_CSEQ);
	assert_int_equal(count_of(lt, "a"), 1);
	assert_int_equal(out[0].lb_cseq, 10);
	assert_int_equal(out[0].lb_expires, NOW + 3600);
	/* Same CSeq within LOCTAB_CSEQ_DELAY: a retransmission, 200. */
	assert_int_equal(save1(lt, "a", "sip:a@h", "cid", 10, 100, -1), 0);
	assert_int_equal(out[0].lb_expires, NOW + 3600);
	/* ...but not after it. */
	c[0] = C("sip:a@h", 100, -1);
	r = R("a", "cid", 10, c, 1);
	r.sv_now = NOW + LOCTAB_CSEQ_DELAY;
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), LOCTAB_E_CSEQ);
	/* Removal is checked too. */
	assert_int_equal(save1(lt, "a", "sip:a@h", "cid", 5, 0, -1),
	    LOCTAB_E_CSEQ);
	assert_int_equal(count_of(lt, "a"), 1);
	/* Another Call-ID updates whatever its CSeq. */
	assert_int_equal(save1(lt, "a", "sip:a@h", "cid2", 1, 100, -1), 0);
	assert_int_equal(count_of(lt, "a"), 1);
	assert_string_equal(out[0].lb_callid, "cid2");
	assert_int_equal(out[0].lb_cseq, 1);
	assert_int_equal(out[0].lb_expires, NOW + 100);
	/* One bad contact refuses the whole REGISTER. */
	c[0] = C("sip:new@h", 100, -1);
	c[1] = C("sip:a@h", 100, -1);
	r = R("a", "cid2", 0, c, 2);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), LOCTAB_E_CSEQ);
	assert_int_equal(count_of(lt, "a"), 1);
	assert_int_equal(loctab_check(lt), 0);
}

static void
test_remove(void **state)
{
	struct loctab		*lt = new_table(4, 100);
	struct loctab_save	 r;
	unsigned		 n;

	(void)state;
	assert_int_equal(save1(lt, "a", "sip:1@h", "c", 1, 3600, -1), 0);
	assert_int_equal(save1(lt, "a", "sip:2@h", "c", 2, 3600, -1), 0);
	assert_int_equal(save1(lt, "a", "sip:3@h", "c", 3, 3600, -1), 0);
	assert_int_equal(save1(lt, "b", "sip:1@h", "c", 1, 3600, -1), 0);
	/* Expires 0 removes that binding; an unknown one is no error. */
	assert_int_equal(save1(lt, "a", "sip:2@h", "c", 4, 0, -1), 0);
	assert_int_equal(count_of(lt, "a"), 2);
	assert_int_equal(save1(lt, "a", "sip:9@h", "c", 5, 0, -1), 0);
	assert_int_equal(count_of(lt, "a"), 2);
	/* ul.rm_contact */
	assert_int_equal(loctab_rm_contact(lt, S("a"), S("sip:1@h")), 0);
	assert_int_equal(loctab_rm_contact(lt, S("a"), S("sip:1@h")),
	    LOCTAB_E_NOTFOUND);
	assert_int_equal(loctab_rm_contact(lt, S("zz"), S("sip:1@h")),
	    LOCTAB_E_NOTFOUND);
	assert_int_equal(count_of(lt, "a"), 1);
	assert_int_equal(count_of(lt, "b"), 1);
	/* Star removes all of the AoR and lists nothing. */
	assert_int_equal(save1(lt, "a", "sip:4@h", "c", 6, 3600, -1), 0);
	r = R("a", "c", 7, NULL, 0);
	r.sv_star = 1;
	n = 99;
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(count_of(lt, "a"), 0);
	assert_int_equal(count_of(lt, "b"), 1);
	/* Star with contacts is refused. */
	{
		struct loctab_contact c = C("sip:x@h", 0, -1);

		r = R("b", "c", 9, &c, 1);
		r.sv_star = 1;
		assert_int_equal(loctab_save(lt, &r, out, 64, &n),
		    LOCTAB_E_INVAL);
	}
	/* ul.rm */
	assert_int_equal(loctab_rm_aor(lt, S("b")), 0);
	assert_int_equal(loctab_rm_aor(lt, S("b")), LOCTAB_E_NOTFOUND);
	assert_int_equal(loctab_rm_aor(lt, S("")), LOCTAB_E_NOTFOUND);
	assert_int_equal(loctab_check(lt), 0);
}

static void
test_expire(void **state)
{
	struct loctab		*lt = new_table(8, 100);
	struct loctab_stats	 st;
	unsigned		 n;
	int			 i;
	char			 aor[32];

	(void)state;
	for (i = 0; i < 20; i++) {
		snprintf(aor, sizeof(aor), "u%d", i);
		assert_int_equal(save1(lt, aor, "sip:x@h", "c", 1,
		    i % 2 ? 10 : 100, -1), 0);
	}
	assert_int_equal(loctab_add(lt, S("perm"), S("sip:p@h"), 0, -1, NOW),
	    0);
	assert_int_equal(loctab_expire(lt, NOW + 9), 0);
	/* Expired but not yet swept: lookups no longer see it. */
	assert_int_equal(loctab_lookup(lt, S("u1"), NOW + 10, out, 64, &n),
	    LOCTAB_E_NOTFOUND);
	assert_int_equal(loctab_expire(lt, NOW + 10), 10);
	assert_int_equal(loctab_expire(lt, NOW + 10), 0);
	loctab_stats(lt, &st);
	assert_int_equal(st.st_bindings, 11);
	assert_int_equal(st.st_records, 11);
	assert_int_equal(st.st_expired, 10);
	assert_int_equal(loctab_expire(lt, NOW + 1000000), 10);
	assert_int_equal(count_of(lt, "perm"), 1);
	assert_int_equal(out[0].lb_expires, 0);
	/* A save drops the AoR's expired bindings first. */
	assert_int_equal(save1(lt, "e", "sip:1@h", "c", 1, 10, -1), 0);
	{
		struct loctab_contact	c = C("sip:2@h", 10, -1);
		struct loctab_save	r = R("e", "c", 2, &c, 1);

		r.sv_now = NOW + 10;
		assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
		assert_int_equal(n, 1);
		assert_string_equal(out[0].lb_contact, "sip:2@h");
	}
	assert_int_equal(loctab_check(lt), 0);
}

/* --- per-bucket earliest expiry ------------------------------------ */

/*
 * The expiry pass skips a bucket while its earliest expiry lies ahead;
 * these tests put many bindings in few buckets so that a wrong bound
 * would show as a binding swept a second late, or early.
 */

#define EX_N	64

struct ex_model {
	long	 em_exp[EX_N];	/* absolute expiry, 0: permanent */
	int	 em_live[EX_N];
};

static uint32_t
ex_rand(uint32_t *seed)
{
	*seed = *seed * 1103515245U + 12345U;
	return *seed >> 16;
}

/* Saves binding k (AoR a<k%8>, contact c<k>) to expire at NOW + rel. */
static void
ex_save(struct loctab *lt, struct ex_model *m, unsigned k, long rel,
    uint32_t cseq)
{
	char	 aor[16], uri[32];

	snprintf(aor, sizeof(aor), "a%u", k % 8);
	snprintf(uri, sizeof(uri), "sip:c%u@h", k);
	assert_int_equal(save1(lt, aor, uri, "ex-call", cseq, rel, -1), 0);
	m->em_exp[k] = rel == LOCTAB_PERMANENT ? 0 : NOW + rel;
	m->em_live[k] = 1;
}

static void
ex_remove(struct loctab *lt, struct ex_model *m, unsigned k)
{
	char	 aor[16], uri[32];

	snprintf(aor, sizeof(aor), "a%u", k % 8);
	snprintf(uri, sizeof(uri), "sip:c%u@h", k);
	assert_int_equal(loctab_rm_contact(lt, S(aor), S(uri)), 0);
	m->em_live[k] = 0;
}

/*
 * Sweeps every second from NOW + 1 to NOW + last: each pass must remove
 * exactly the bindings due that second, and the table must stay valid.
 */
static void
ex_sweep(struct loctab *lt, struct ex_model *m, long last)
{
	unsigned	 k, due, left;
	long		 t;

	for (t = NOW + 1; t <= NOW + last; t++) {
		for (due = 0, k = 0; k < EX_N; k++)
			if (m->em_live[k] && m->em_exp[k] != 0 &&
			    m->em_exp[k] <= t) {
				due++;
				m->em_live[k] = 0;
			}
		assert_int_equal(loctab_expire(lt, (time_t)t), due);
		assert_int_equal(loctab_check(lt), 0);
	}
	for (left = 0, k = 0; k < EX_N; k++)
		left += m->em_live[k];
	assert_int_equal(loctab_expire(lt, NOW + 1000000), 0);
	{
		struct loctab_stats st;

		loctab_stats(lt, &st);
		assert_int_equal(st.st_bindings, left);
	}
}

static void
test_expiry_orders(void **state)
{
	static const unsigned	 sizes[] = { 1, 2, 8 };
	struct ex_model		 m;
	struct loctab		*lt;
	uint32_t		 seed = 7, cseq = 1;
	unsigned		 o, z, k, j;

	(void)state;
	for (z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++)
	for (o = 0; o < 4; o++) {
		lt = new_table(sizes[z], 200);
		memset(&m, 0, sizeof(m));
		/* Inserted latest first, earliest first, or shuffled. */
		for (j = 0; j < EX_N; j++) {
			k = o == 0 ? j : o == 1 ? EX_N - 1 - j :
			    (j * 37 + o) % EX_N;
			ex_save(lt, &m, k, o == 2 ? (long)(EX_N - k) :
			    1 + (long)(ex_rand(&seed) % 40), cseq++);
		}
		/* Every fourth made permanent, some removed, some moved. */
		for (k = 0; k < EX_N; k += 4)
			ex_save(lt, &m, k, LOCTAB_PERMANENT, cseq++);
		for (k = 1; k < EX_N; k += 7)
			ex_remove(lt, &m, k);
		for (k = 2; k < EX_N; k += 5)
			ex_save(lt, &m, k, 1 + (long)(ex_rand(&seed) % 60),
			    cseq++);
		assert_int_equal(loctab_check(lt), 0);
		ex_sweep(lt, &m, 61);
		shm_destroy();
	}
}

static void
test_expiry_refreshed(void **state)
{
	struct loctab		*lt = new_table(1, 100);
	struct ex_model		 m;
	struct loctab_row	 row;

	(void)state;
	memset(&m, 0, sizeof(m));
	/* The bucket's earliest binding is refreshed to a later time. */
	ex_save(lt, &m, 0, 10, 1);
	ex_save(lt, &m, 1, 30, 2);
	ex_save(lt, &m, 0, 50, 3);
	assert_int_equal(loctab_expire(lt, NOW + 10), 0);
	assert_int_equal(count_of(lt, "a0"), 1);
	assert_int_equal(loctab_expire(lt, NOW + 29), 0);
	assert_int_equal(loctab_expire(lt, NOW + 30), 1);
	assert_int_equal(loctab_expire(lt, NOW + 49), 0);
	assert_int_equal(count_of(lt, "a0"), 1);
	assert_int_equal(loctab_expire(lt, NOW + 50), 1);
	assert_int_equal(count_of(lt, "a0"), 0);

	/* The earliest removed; a later one made earliest by an update. */
	ex_save(lt, &m, 2, 20, 4);
	ex_save(lt, &m, 3, 40, 5);
	ex_remove(lt, &m, 2);
	assert_int_equal(loctab_expire(lt, NOW + 20), 0);
	ex_save(lt, &m, 3, 25, 6);
	assert_int_equal(loctab_expire(lt, NOW + 24), 0);
	assert_int_equal(loctab_expire(lt, NOW + 25), 1);

	/* Loaded rows carry their own absolute expiry. */
	memset(&row, 0, sizeof(row));
	row.lr_aor = S("loaded");
	row.lr_contact.lc_uri = S("sip:l@h");
	row.lr_callid = S("cid");
	row.lr_expires = NOW + 70;
	assert_int_equal(loctab_insert_loaded(lt, &row, NOW), 0);
	row.lr_contact.lc_uri = S("sip:m@h");
	row.lr_expires = NOW + 60;
	assert_int_equal(loctab_insert_loaded(lt, &row, NOW), 0);
	assert_int_equal(loctab_expire(lt, NOW + 59), 0);
	assert_int_equal(loctab_expire(lt, NOW + 60), 1);
	assert_int_equal(loctab_expire(lt, NOW + 69), 0);
	assert_int_equal(loctab_expire(lt, NOW + 70), 1);
	assert_int_equal(loctab_check(lt), 0);
}

static void
test_expiry_all_due(void **state)
{
	struct loctab		*lt = new_table(16, 3000);
	struct loctab_stats	 st;
	uint32_t		 seed = 11;
	unsigned		 i, due = 0, perm = 0;
	long			 rel;
	char			 aor[16], uri[32];

	(void)state;
	for (i = 0; i < 2000; i++) {
		snprintf(aor, sizeof(aor), "u%u", i / 2);
		snprintf(uri, sizeof(uri), "sip:%u@h", i);
		rel = i % 10 == 0 ? LOCTAB_PERMANENT :
		    1 + (long)(ex_rand(&seed) % 500);
		assert_int_equal(save1(lt, aor, uri, "c", i, rel, -1), 0);
		if (rel == LOCTAB_PERMANENT)
			perm++;
		else if (rel <= 250)
			due++;
	}
	/* Passes were missed: one pass removes everything due since. */
	assert_int_equal(loctab_expire(lt, NOW + 250), due);
	assert_int_equal(loctab_expire(lt, NOW + 250), 0);
	assert_int_equal(loctab_expire(lt, NOW + 500), 2000 - perm - due);
	loctab_stats(lt, &st);
	assert_int_equal(st.st_bindings, perm);
	assert_int_equal(loctab_check(lt), 0);
}

/* --- the start-up loader ------------------------------------------- */

/* Row k of a load: AoRs repeat out of order, some rows repeat. */
static void
load_row(unsigned k, struct loctab_row *row, char *aor, char *uri)
{
	unsigned a = (k * 7) % 23, c = k % 5;

	if (k % 11 == 10)
		c = 0;		/* an update of an earlier row */
	sprintf(aor, "user%u", a);
	sprintf(uri, "sip:user%u@10.0.0.%u", a, c);
	memset(row, 0, sizeof(*row));
	row->lr_aor = S(aor);
	row->lr_contact.lc_uri = S(uri);
	row->lr_contact.lc_q = (int)(k % 3) * 400 - (k % 3 == 0);
	row->lr_callid = S("cid");
	row->lr_cseq = k;
	row->lr_expires = k % 4 == 0 ? 0 : NOW + 10 + (time_t)k;
	row->lr_last_modified = NOW - 1;
}

static void
test_loader_same_as_rows(void **state)
{
	static const unsigned	 sizes[] = { 1, 4, 64 };
	static struct loctab_binding a[256], b[256];
	struct loctab		*lt1, *lt2;
	struct loctab_loader	*ll;
	struct loctab_row	 row;
	size_t			 need;
	unsigned		 z, k, bk, n1, n2, i;
	char			 aor[32], uri[64];

	(void)state;
	for (z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		shm_destroy();
		need = loctab_shm_size_add(shm_size_base(), sizes[z], 300);
		need = loctab_shm_size_add(need, sizes[z], 300);
		assert_int_equal(shm_create(need), 0);
		assert_int_equal(loctab_create(sizes[z], 300, &lt1), 0);
		assert_int_equal(loctab_create(sizes[z], 300, &lt2), 0);
		/* A table that is not empty when the loader starts. */
		load_row(1000, &row, aor, uri);
		assert_int_equal(loctab_insert_loaded(lt1, &row, NOW), 0);
		assert_int_equal(loctab_insert_loaded(lt2, &row, NOW), 0);
		assert_int_equal(loctab_loader_new(lt2, &ll), 0);
		for (k = 0; k < 200; k++) {
			load_row(k, &row, aor, uri);
			assert_int_equal(loctab_insert_loaded(lt1, &row, NOW),
			    0);
			assert_int_equal(loctab_loader_insert(ll, &row, NOW),
			    0);
		}
		row.lr_expires = NOW;
		assert_int_equal(loctab_loader_insert(ll, &row, NOW),
		    LOCTAB_E_EXPIRED);
		loctab_loader_free(ll);
		assert_int_equal(loctab_check(lt1), 0);
		assert_int_equal(loctab_check(lt2), 0);
		/* Same bindings, in the same order in every bucket. */
		for (bk = 0; bk < sizes[z]; bk++) {
			assert_int_equal(loctab_copy_bucket(lt1, bk, a, 256,
			    &n1), 0);
			assert_int_equal(loctab_copy_bucket(lt2, bk, b, 256,
			    &n2), 0);
			assert_int_equal(n1, n2);
			for (i = 0; i < n1; i++) {
				assert_string_equal(a[i].lb_aor, b[i].lb_aor);
				assert_string_equal(a[i].lb_contact,
				    b[i].lb_contact);
				assert_int_equal(a[i].lb_cseq, b[i].lb_cseq);
				assert_int_equal(a[i].lb_expires,
				    b[i].lb_expires);
				assert_int_equal(a[i].lb_q, b[i].lb_q);
			}
		}
		/* And they expire alike. */
		assert_int_equal(loctab_expire(lt1, NOW + 100),
		    loctab_expire(lt2, NOW + 100));
		assert_int_equal(loctab_check(lt2), 0);
	}
}

static void
test_max_per_aor(void **state)
{
	struct loctab		*lt = new_table(16, 100);
	struct loctab_contact	 c[3];
	struct loctab_save	 r;
	unsigned		 n;
	uint64_t		 ch;

	(void)state;
	c[0] = C("sip:1@h", 100, -1);
	c[1] = C("sip:2@h", 100, -1);
	r = R("a", "c", 1, c, 2);
	r.sv_max_per_aor = 2;
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	/* A third is refused, and the current list comes back. */
	ch = loctab_changes(lt);
	c[0] = C("sip:3@h", 100, -1);
	r = R("a", "c", 2, c, 1);
	r.sv_max_per_aor = 2;
	n = 0;
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), LOCTAB_E_TOO_MANY);
	assert_int_equal(n, 2);
	assert_int_equal(loctab_changes(lt), ch);
	assert_int_equal(count_of(lt, "a"), 2);
	/* Replacing one by another in one REGISTER fits. */
	c[0] = C("sip:1@h", 0, -1);
	c[1] = C("sip:3@h", 100, -1);
	c[2] = C("sip:2@h", 200, -1);
	r = R("a", "c", 3, c, 3);
	r.sv_max_per_aor = 2;
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(count_of(lt, "a"), 2);
	assert_int_equal(loctab_check(lt), 0);
}

static void
test_full(void **state)
{
	struct loctab		*lt = new_table(4, 8);
	struct loctab_contact	 c[3];
	struct loctab_save	 r;
	struct loctab_stats	 st;
	unsigned		 n, i;
	char			 uri[32];
	uint64_t		 ch;

	(void)state;
	for (i = 0; i < 7; i++) {
		snprintf(uri, sizeof(uri), "sip:%u@h", i);
		assert_int_equal(save1(lt, i < 4 ? "a" : "b", uri, "c", i + 1,
		    100, -1), 0);
	}
	/* Two more do not fit: nothing of the REGISTER is applied. */
	ch = loctab_changes(lt);
	c[0] = C("sip:0@h", 500, 900);
	c[1] = C("sip:x@h", 100, -1);
	c[2] = C("sip:y@h", 100, -1);
	r = R("a", "c", 50, c, 3);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), LOCTAB_E_FULL);
	assert_int_equal(loctab_changes(lt), ch);
	assert_int_equal(count_of(lt, "a"), 4);
	assert_int_equal(out[0].lb_expires, NOW + 100);
	assert_int_equal(out[0].lb_q, -1);
	/* One does; then the table is full. */
	assert_int_equal(save1(lt, "c", "sip:z@h", "c", 1, 100, -1), 0);
	assert_int_equal(save1(lt, "d", "sip:z@h", "c", 1, 100, -1),
	    LOCTAB_E_FULL);
	loctab_stats(lt, &st);
	assert_int_equal(st.st_bindings, 8);
	assert_int_equal(st.st_capacity, 8);
	assert_int_equal(st.st_rec_pool.ps_used, 8);
	/* Updates of a full table still work, with new strings or not. */
	assert_int_equal(save1(lt, "a", "sip:0@h", "c", 60, 900, 100), 0);
	assert_int_equal(save1(lt, "a", "sip:0@h", "c2", 1, 900, 100), 0);
	assert_int_equal(loctab_check(lt), 0);
	/* So does a REGISTER that removes one binding and adds one. */
	c[0] = C("sip:0@h", 0, -1);
	c[1] = C("sip:w@h", 100, -1);
	r = R("a", "c3", 1, c, 2);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(save1(lt, "d", "sip:z@h", "c", 1, 100, -1),
	    LOCTAB_E_FULL);
	assert_int_equal(loctab_check(lt), 0);
	/* A removal makes room. */
	assert_int_equal(loctab_rm_contact(lt, S("b"), S("sip:4@h")), 0);
	assert_int_equal(save1(lt, "d", "sip:z@h", "c", 1, 100, -1), 0);
	assert_int_equal(loctab_check(lt), 0);
}

/* Binding i of AoR "big" with every string at its limit. */
static int
save_huge(struct loctab *lt, unsigned i, char fill, unsigned cseq)
{
	static char		 s[LOCTAB_CONTACT_MAX + 1];
	char			 uri[LOCTAB_CONTACT_MAX + 1];
	struct loctab_contact	 c;
	struct loctab_save	 r;
	unsigned		 n;

	memset(s, fill, LOCTAB_CONTACT_MAX);
	memset(uri, 'u', LOCTAB_CONTACT_MAX);
	uri[LOCTAB_CONTACT_MAX] = '\0';
	snprintf(uri, 16, "sip:%08u", i);
	uri[12] = '@';
	c = C(uri, 100, -1);
	c.lc_path = SN(s, LOCTAB_PATH_MAX);
	c.lc_received = SN(s, LOCTAB_RECEIVED_MAX);
	r = R("big", "c", cseq, &c, 1);
	r.sv_user_agent = SN(s, LOCTAB_UA_MAX);
	r.sv_callid = SN(s, LOCTAB_CALLID_MAX);
	return loctab_save(lt, &r, out, 64, &n);
}

/*
 * max_contacts is a promise (issue 10): that many bindings fit with
 * every string at its limit, and each can still be updated.
 */
static void
test_string_pool_full(void **state)
{
	struct loctab		*lt = new_table(4, 64);
	struct loctab_stats	 st;
	unsigned		 i, ok = 0;
	int			 rc;

	(void)state;
	for (i = 0; i < 65; i++) {
		rc = save_huge(lt, i, 'p', i + 1);
		if (rc == LOCTAB_E_FULL)
			break;
		assert_int_equal(rc, 0);
		ok++;
	}
	/* the last class holds every binding, plus the update reserve */
	loctab_stats(lt, &st);
	assert_int_equal(ok, 64);
	assert_int_equal(st.st_classes[LOCTAB_NCLASSES - 1].ps_count,
	    64 + 4 * LOCTAB_SAVE_MAX);
	assert_int_equal(st.st_bindings, 64);
	for (i = 0; i < ok; i++)
		assert_int_equal(save_huge(lt, i, 'q', 100 + i), 0);
	/* a removal makes room for a small one */
	assert_int_equal(save1(lt, "small", "sip:s@h", "c", 1, 100, -1),
	    LOCTAB_E_FULL);
	assert_int_equal(loctab_rm_aor(lt, S("big")), 0);
	assert_int_equal(save1(lt, "small", "sip:s@h", "c", 1, 100, -1), 0);
	assert_int_equal(loctab_check(lt), 0);
}

static void
test_q_order(void **state)
{
	struct loctab		*lt = new_table(1, 100);
	static const int	 q[] = { -1, 500, 1000, 500, 0, -1 };
	static const char	*want[] = { "sip:2", "sip:1", "sip:3",
	    "sip:4", "sip:0", "sip:5" };
	char			 uri[16];
	unsigned		 i;

	(void)state;
	for (i = 0; i < 6; i++) {
		snprintf(uri, sizeof(uri), "sip:%u", i);
		assert_int_equal(save1(lt, "a", uri, "c", i + 1, 100, q[i]),
		    0);
	}
	assert_int_equal(count_of(lt, "a"), 6);
	for (i = 0; i < 6; i++)
		assert_string_equal(out[i].lb_contact, want[i]);
	/* A refresh with the same q keeps the place... */
	assert_int_equal(save1(lt, "a", "sip:1", "c", 10, 200, 500), 0);
	assert_string_equal(out[1].lb_contact, "sip:1");
	assert_int_equal(out[1].lb_expires, NOW + 200);
	/* ...a new q moves it (last among equals). */
	assert_int_equal(save1(lt, "a", "sip:1", "c", 11, 200, 0), 0);
	assert_string_equal(out[0].lb_contact, "sip:2");
	assert_string_equal(out[1].lb_contact, "sip:3");
	assert_string_equal(out[2].lb_contact, "sip:4");
	assert_string_equal(out[3].lb_contact, "sip:1");
	assert_string_equal(out[4].lb_contact, "sip:0");
	assert_string_equal(out[5].lb_contact, "sip:5");
	assert_int_equal(save1(lt, "a", "sip:5", "c", 12, 200, 1000), 0);
	assert_string_equal(out[0].lb_contact, "sip:2");
	assert_string_equal(out[1].lb_contact, "sip:5");
	/* Other AoRs in the same bucket keep their own groups. */
	assert_int_equal(save1(lt, "b", "sip:9", "c", 1, 100, 10), 0);
	assert_int_equal(save1(lt, "a", "sip:6", "c", 13, 100, 1), 0);
	assert_int_equal(count_of(lt, "a"), 7);
	assert_int_equal(count_of(lt, "b"), 1);
	assert_int_equal(loctab_check(lt), 0);
}

static void
test_bytes_exact(void **state)
{
	struct loctab	*lt = new_table(1, 100);
	static const char nul1[] = "sip:a%00@h";
	static const char nul2[] = "sip:a%00%00@h";
	static const char raw1[] = { 's', 'i', 'p', ':', 'a', '\0', 'b' };
	static const char raw2[] = { 's', 'i', 'p', ':', 'a', '\0', 'c' };
	static const char aor0[] = { 'x', '\0', 'y' };
	struct loctab_contact c[4];
	struct loctab_save r;
	unsigned	 n;

	(void)state;
	c[0] = C(nul1, 100, -1);
	c[1] = C(nul2, 100, -1);
	c[2] = C("", 100, -1);
	c[2].lc_uri = SN(raw1, sizeof(raw1));
	c[3] = C("", 100, -1);
	c[3].lc_uri = SN(raw2, sizeof(raw2));
	r = R("a", "c", 1, c, 4);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(out[2].lb_contact_len, sizeof(raw1));
	assert_memory_equal(out[2].lb_contact, raw1, sizeof(raw1));
	assert_memory_equal(out[3].lb_contact, raw2, sizeof(raw2));
	assert_string_equal(out[0].lb_contact, nul1);
	assert_string_equal(out[1].lb_contact, nul2);
	assert_int_equal(loctab_rm_contact(lt, S("a"), SN(raw1, 6)),
	    LOCTAB_E_NOTFOUND);
	assert_int_equal(loctab_rm_contact(lt, S("a"), SN(raw1,
	    sizeof(raw1))), 0);
	assert_int_equal(count_of(lt, "a"), 3);
	assert_memory_equal(out[2].lb_contact, raw2, sizeof(raw2));
	/* AoRs with NUL bytes, and case, are distinct. */
	c[0] = C("sip:z", 100, -1);
	r = R("", "c", 1, c, 1);
	r.sv_aor = SN(aor0, sizeof(aor0));
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	assert_int_equal(out[0].lb_aor_len, 3);
	assert_int_equal(loctab_lookup(lt, SN(aor0, 1), NOW, out, 64, &n),
	    LOCTAB_E_NOTFOUND);
	assert_int_equal(loctab_lookup(lt, SN(aor0, 3), NOW, out, 64, &n), 0);
	assert_int_equal(save1(lt, "A", "sip:z", "c", 1, 100, -1), 0);
	assert_int_equal(count_of(lt, "a"), 3);
	assert_int_equal(count_of(lt, "A"), 1);
	assert_int_equal(loctab_check(lt), 0);
}

static void
test_limits(void **state)
{
	struct loctab		*lt = new_table(4, 100);
	struct loctab_contact	 c[LOCTAB_SAVE_MAX + 1];
	struct loctab_save	 r;
	char			 big[512], uris[LOCTAB_SAVE_MAX + 1][16];
	unsigned		 i, n;

	(void)state;
	memset(big, 'x', sizeof(big));
	/* Every column at its maximum round-trips. */
	c[0] = C("", 100, 1000);
	c[0].lc_uri = SN(big, LOCTAB_CONTACT_MAX);
	c[0].lc_received = SN(big, LOCTAB_RECEIVED_MAX);
	c[0].lc_path = SN(big, LOCTAB_PATH_MAX);
	r = R("", "", 1, c, 1);
	r.sv_aor = SN(big, LOCTAB_AOR_MAX);
	r.sv_callid = SN(big, LOCTAB_CALLID_MAX);
	r.sv_user_agent = SN(big, LOCTAB_UA_MAX);
	r.sv_socket = SN(big, LOCTAB_SOCKET_MAX);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	assert_int_equal(out[0].lb_aor_len, LOCTAB_AOR_MAX);
	assert_int_equal(out[0].lb_contact_len, LOCTAB_CONTACT_MAX);
	assert_int_equal(out[0].lb_received_len, LOCTAB_RECEIVED_MAX);
	assert_int_equal(out[0].lb_path_len, LOCTAB_PATH_MAX);
	assert_int_equal(out[0].lb_callid_len, LOCTAB_CALLID_MAX);
	assert_int_equal(out[0].lb_user_agent_len, LOCTAB_UA_MAX);
	assert_int_equal(out[0].lb_socket_len, LOCTAB_SOCKET_MAX);
	assert_int_equal(out[0].lb_path[LOCTAB_PATH_MAX], '\0');
	assert_memory_equal(out[0].lb_path, big, LOCTAB_PATH_MAX);

	/* One byte more of any column: refused, nothing stored. */
#define TOOLONG(field, len) do {					\
	struct loctab_save t = r;					\
	struct loctab_contact tc = c[0];				\
	t.sv_contacts = &tc;						\
	t.sv_aor = S("other");						\
	field = SN(big, (len) + 1);					\
	assert_int_equal(loctab_save(lt, &t, out, 64, &n),		\
	    LOCTAB_E_TOOLONG);						\
} while (0)
	TOOLONG(t.sv_aor, LOCTAB_AOR_MAX);
	TOOLONG(t.sv_callid, LOCTAB_CALLID_MAX);
	TOOLONG(t.sv_user_agent, LOCTAB_UA_MAX);
	TOOLONG(t.sv_socket, LOCTAB_SOCKET_MAX);
	TOOLONG(tc.lc_uri, LOCTAB_CONTACT_MAX);
	TOOLONG(tc.lc_received, LOCTAB_RECEIVED_MAX);
	TOOLONG(tc.lc_path, LOCTAB_PATH_MAX);
#undef TOOLONG
	assert_int_equal(count_of(lt, "other"), 0);

	for (i = 0; i <= LOCTAB_SAVE_MAX; i++) {
		snprintf(uris[i], sizeof(uris[i]), "sip:%u", i);
		c[i] = C(uris[i], 100, -1);
	}
	r = R("many", "c", 1, c, LOCTAB_SAVE_MAX + 1);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), LOCTAB_E_BIG);
	r.sv_ncontacts = LOCTAB_SAVE_MAX;
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	assert_int_equal(n, LOCTAB_SAVE_MAX);
	/* All of them updated in one REGISTER (journal at its fullest). */
	for (i = 0; i < LOCTAB_SAVE_MAX; i++)
		c[i].lc_q = (int)i;
	r = R("many", "c2", 1, c, LOCTAB_SAVE_MAX);
	r.sv_user_agent = S("another-ua");
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	assert_int_equal(n, LOCTAB_SAVE_MAX);
	assert_string_equal(out[0].lb_contact, uris[LOCTAB_SAVE_MAX - 1]);
	assert_string_equal(out[0].lb_user_agent, "another-ua");

	r = R("", "c", 1, c, 1);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), LOCTAB_E_INVAL);
	c[0] = C("", 100, -1);
	r = R("x", "c", 1, c, 1);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), LOCTAB_E_INVAL);
	c[0] = C("sip:x", 100, 1001);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), LOCTAB_E_INVAL);
	c[0] = C("sip:x", 100, -2);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), LOCTAB_E_INVAL);
	c[0] = C("sip:x", -5, -1);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), LOCTAB_E_INVAL);
	/* A contact twice in one REGISTER: the last one wins. */
	c[0] = C("sip:d", 100, 1);
	c[1] = C("sip:d", 200, 2);
	r = R("dup", "c", 1, c, 2);
	assert_int_equal(loctab_save(lt, &r, out, 64, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].lb_q, 2);
	assert_int_equal(loctab_check(lt), 0);
}

static void
test_loaded_and_add(void **state)
{
	struct loctab		*lt = new_table(16, 100);
	struct loctab_row	 row;
	unsigned		 n;

	(void)state;
	memset(&row, 0, sizeof(row));
	row.lr_aor = S("bob");
	row.lr_contact.lc_uri = S("sip:bob@1.2.3.4");
	row.lr_callid = S("cid");
	row.lr_user_agent = S("n/a");
	row.lr_expires = NOW + 50;
	row.lr_last_modified = NOW - 10;
	row.lr_contact.lc_q = 500;
	row.lr_cseq = 42;
	row.lr_contact.lc_methods = 527;
	assert_int_equal(loctab_insert_loaded(lt, &row, NOW), 0);
	row.lr_contact.lc_uri = S("sip:bob@5.6.7.8");
	row.lr_contact.lc_q = LOCTAB_Q_UNSET;
	row.lr_expires = 0;
	assert_int_equal(loctab_insert_loaded(lt, &row, NOW), 0);
	row.lr_contact.lc_uri = S("sip:bob@9.9.9.9");
	row.lr_expires = NOW;
	assert_int_equal(loctab_insert_loaded(lt, &row, NOW),
	    LOCTAB_E_EXPIRED);
	row.lr_aor = S("bob@example.com");
	row.lr_expires = NOW + 5;
	row.lr_contact.lc_q = LOCTAB_Q_MAX;
	assert_int_equal(loctab_insert_loaded(lt, &row, NOW), 0);
	assert_int_equal(loctab_changes(lt), 0);

	assert_int_equal(count_of(lt, "bob"), 2);
	assert_int_equal(out[0].lb_q, 500);
	assert_int_equal(out[0].lb_state, LOCTAB_CS_SYNC);
	assert_int_equal(out[0].lb_expires, NOW + 50);
	assert_int_equal(out[0].lb_last_modified, NOW - 10);
	assert_int_equal(out[0].lb_cseq, 42);
	assert_int_equal(out[0].lb_methods, 527);
	assert_int_equal(out[1].lb_q, LOCTAB_Q_UNSET);
	assert_int_equal(out[1].lb_expires, 0);
	assert_int_equal(count_of(lt, "bob@example.com"), 1);
	assert_int_equal(out[0].lb_q, 1000);

	/* ul.add: no CSeq rule, constant Call-ID, 0 = permanent. */
	assert_int_equal(loctab_add(lt, S("bob"), S("sip:bob@1.2.3.4"), 30,
	    100, NOW), 0);
	assert_int_equal(loctab_add(lt, S("bob"), S("sip:bob@1.2.3.4"), 60,
	    100, NOW), 0);
	assert_int_equal(loctab_lookup(lt, S("bob"), NOW, out, 64, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].lb_contact, "sip:bob@1.2.3.4");
	assert_string_equal(out[0].lb_callid, LOCTAB_MI_CALLID);
	assert_string_equal(out[0].lb_user_agent, LOCTAB_MI_UA);
	assert_int_equal(out[0].lb_cseq, LOCTAB_MI_CSEQ);
	assert_int_equal(out[0].lb_expires, NOW + 60);
	assert_int_equal(out[0].lb_q, 100);
	assert_int_equal(out[0].lb_state, LOCTAB_CS_DIRTY);
	assert_int_equal(loctab_add(lt, S("bob"), S("sip:x"), -1, 100, NOW),
	    LOCTAB_E_INVAL);
	assert_int_equal(loctab_check(lt), 0);
}

/* --- scans --------------------------------------------------------- */

struct visit_acc {
	unsigned	 va_calls;
	unsigned	 va_bindings;
	unsigned	 va_aors;
	unsigned	 va_last_bucket;
	int		 va_order_ok;
};

static int
visit_count(void *arg, unsigned bucket, const struct loctab_binding *b,
    unsigned n)
{
	struct visit_acc	*va = arg;
	unsigned		 i;

	if (va->va_calls > 0 && bucket <= va->va_last_bucket)
		va->va_order_ok = 0;
	va->va_last_bucket = bucket;
	va->va_calls++;
	va->va_bindings += n;
	for (i = 0; i < n; i++) {
		if (b[i].lb_bucket != bucket)
			va->va_order_ok = 0;
		if (i == 0 || b[i].lb_aor_len != b[i - 1].lb_aor_len ||
		    memcmp(b[i].lb_aor, b[i - 1].lb_aor, b[i].lb_aor_len) != 0)
			va->va_aors++;
	}
	return 0;
}

static void
test_copy_and_visit(void **state)
{
	struct loctab		*lt = new_table(1, 1000);
	struct loctab_binding	*buf = NULL;
	struct visit_acc	 va;
	struct loctab_stats	 st;
	unsigned		 i, n, max = 0;
	char			 aor[16], uri[16];

	(void)state;
	/* One bucket with 600 bindings of 300 AoRs. */
	for (i = 0; i < 600; i++) {
		snprintf(aor, sizeof(aor), "u%u", i / 2);
		snprintf(uri, sizeof(uri), "sip:%u", i);
		assert_int_equal(save1(lt, aor, uri, "c", i + 1, 100, -1), 0);
	}
	assert_int_equal(loctab_copy_bucket(lt, 0, out, 64, &n),
	    LOCTAB_E_SPACE);
	assert_int_equal(n, 600);
	assert_int_equal(loctab_copy_bucket(lt, 1, out, 64, &n), -EINVAL);
	memset(&va, 0, sizeof(va));
	va.va_order_ok = 1;
	assert_int_equal(loctab_visit(lt, visit_count, &va, &buf, &max), 0);
	assert_int_equal(va.va_calls, 1);
	assert_int_equal(va.va_bindings, 600);
	assert_int_equal(va.va_aors, 300);
	assert_true(max >= 600);
	loctab_stats(lt, &st);
	assert_int_equal(st.st_records, 300);
	assert_int_equal(st.st_max_slots, 300);
	assert_int_equal(st.st_bindings, 600);
	free(buf);

	/* Many buckets: visited in order, empty ones skipped. */
	lt = new_table(64, 1000);
	for (i = 0; i < 200; i++) {
		snprintf(aor, sizeof(aor), "v%u", i);
		assert_int_equal(save1(lt, aor, "sip:x", "c", 1, 100, -1), 0);
	}
	memset(&va, 0, sizeof(va));
	va.va_order_ok = 1;
	buf = NULL;
	max = 0;
	assert_int_equal(loctab_visit(lt, visit_count, &va, &buf, &max), 0);
	assert_true(va.va_order_ok);
	assert_int_equal(va.va_bindings, 200);
	assert_int_equal(va.va_aors, 200);
	loctab_stats(lt, &st);
	assert_int_equal(st.st_records, 200);
	assert_true(st.st_max_slots >= 4 && st.st_max_slots < 20);
	free(buf);
}

/* --- memory and speed (measured, reported; only bytes asserted) ---- */

/* Rss and Pss in bytes of the mapping holding addr, from smaps. */
static void
mapping_rss(const void *addr, size_t *ret_rss, size_t *ret_pss)
{
	FILE		*f;
	char		 line[512];
	unsigned long	 lo, hi, kb;
	int		 in = 0;

	*ret_rss = *ret_pss = 0;
	f = fopen("/proc/self/smaps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (in && sscanf(line, "Rss: %lu kB", &kb) == 1)
			*ret_rss = kb * 1024;
		if (in && sscanf(line, "Pss: %lu kB", &kb) == 1)
			*ret_pss = kb * 1024;
	}
	fclose(f);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
typical_save(struct loctab *lt, unsigned i)
{
	char			 aor[24], uri[64], cid[48];
	struct loctab_contact	 c;
	struct loctab_save	 r;
	unsigned		 n;

	snprintf(aor, sizeof(aor), "u%07u", i);
	snprintf(uri, sizeof(uri), "sip:u%07u@192.168.%u.%u:5060", i,
	    (i >> 8) & 255, i & 255);
	snprintf(cid, sizeof(cid), "%08x-%08x-4f2a-9c1d@192.168.1.2",
	    i * 2654435761U, i);
	c = C(uri, 3600, -1);
	r = R(aor, cid, 1, &c, 1);
	r.sv_user_agent = S("Linphone/3.6.1 (belle-sip/1.3)");
	r.sv_socket = S("udp:192.168.16.5:5060");
	assert_int_equal(loctab_save(lt, &r, NULL, 0, &n), 0);
}

static int
count_visit(void *arg, unsigned bucket, const struct loctab_binding *b,
    unsigned n)
{
	(void)bucket;
	(void)b;
	*(unsigned *)arg += n;
	return 0;
}

static void
test_memory(void **state)
{
	struct loctab		*lt = new_table(512, 100000);
	struct loctab_binding	*buf = NULL;
	size_t			 rss0, pss0, rss, pss;
	unsigned		 i, max = 0, seen = 0;
	double			 t0, t1, t2;

	(void)state;
	mapping_rss(lt, &rss0, &pss0);
	t0 = now_s();
	for (i = 0; i < 10000; i++)
		typical_save(lt, i);
	mapping_rss(lt, &rss, &pss);
	print_message("# loctab memory: 10k bindings: shm %zu B resident "
	    "(%zu B before any binding), %.0f B per binding\n", rss, rss0,
	    (double)rss / 10000);
	assert_true(rss / 10000 <= 600);
	for (; i < 100000; i++)
		typical_save(lt, i);
	t1 = now_s();
	mapping_rss(lt, &rss, &pss);
	print_message("# loctab memory: 100k bindings: shm %zu B resident, "
	    "%.0f B per binding (mapping %zu B virtual)\n", rss,
	    (double)rss / 100000, loctab_shm_size(512, 100000));
	assert_true(rss / 100000 <= 600);
	assert_int_equal(loctab_visit(lt, count_visit, &seen, &buf, &max), 0);
	t2 = now_s();
	assert_int_equal(seen, 100000);
	print_message("# loctab speed: 100k saves %.3f s, copy-out of all "
	    "buckets %.3f s, expire pass %s\n", t1 - t0, t2 - t1, "below");
	t0 = now_s();
	assert_int_equal(loctab_expire(lt, NOW + 3599), 0);
	t1 = now_s();
	assert_int_equal(loctab_expire(lt, NOW + 3600), 100000);
	t2 = now_s();
	print_message("# loctab speed: expire pass with nothing due %.4f s, "
	    "removing 100k %.3f s\n", t1 - t0, t2 - t1);
	assert_int_equal(loctab_check(lt), 0);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sizes, teardown),
		cmocka_unit_test_teardown(test_save_lookup, teardown),
		cmocka_unit_test_teardown(test_states_sync, teardown),
		cmocka_unit_test_teardown(test_unsynced_groups, teardown),
		cmocka_unit_test_teardown(test_cseq_rules, teardown),
		cmocka_unit_test_teardown(test_remove, teardown),
		cmocka_unit_test_teardown(test_expire, teardown),
		cmocka_unit_test_teardown(test_expiry_orders, teardown),
		cmocka_unit_test_teardown(test_expiry_refreshed, teardown),
		cmocka_unit_test_teardown(test_expiry_all_due, teardown),
		cmocka_unit_test_teardown(test_loader_same_as_rows, teardown),
		cmocka_unit_test_teardown(test_max_per_aor, teardown),
		cmocka_unit_test_teardown(test_full, teardown),
		cmocka_unit_test_teardown(test_string_pool_full, teardown),
		cmocka_unit_test_teardown(test_q_order, teardown),
		cmocka_unit_test_teardown(test_bytes_exact, teardown),
		cmocka_unit_test_teardown(test_limits, teardown),
		cmocka_unit_test_teardown(test_loaded_and_add, teardown),
		cmocka_unit_test_teardown(test_copy_and_visit, teardown),
		cmocka_unit_test_teardown(test_memory, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
