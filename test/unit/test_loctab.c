/*
 * test_loctab.c: unit tests for shm/loctab.c, the usrloc table.
 *
 * One cmocka process; each test makes a fresh mapping and table. The
 * concurrency and crash tests fork real children, as the master does;
 * children never call cmocka and report through their exit status.
 * The crash test kills a child at every step of each kind of change
 * (through loctab_step_hook) and checks that the next locker repairs
 * the bucket without losing or tearing a binding. The memory test
 * prints, as TAP comments, the bytes of shm resident per binding.
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
#include "shm.h"

#include "testutil.h"

#define NOW		1000000
#define WAIT_MS		10000
#define CHILD_ALARM	20

static struct loctab_binding	out[64];

static struct loctab_str
S(const char *s)
{
	struct loctab_str r = { s, strlen(s) };

	return r;
}

static struct loctab_str
SN(const char *s, size_t n)
{
	struct loctab_str r = { s, n };

	return r;
}

/* A fresh mapping holding just one table. */
static struct loctab *
new_table(unsigned hash_size, unsigned cap)
{
	struct loctab	*lt = NULL;
	size_t		 need;

	shm_destroy();
	need = loctab_shm_size_add(shm_size_base(), hash_size, cap);
	assert_true(need != SIZE_MAX);
	assert_int_equal(shm_create(need), 0);
	assert_int_equal(loctab_create(hash_size, cap, &lt), 0);
	assert_non_null(lt);
	return lt;
}

static int
teardown(void **state)
{
	(void)state;
	shm_destroy();
	return 0;
}

/* One contact with defaults. */
static struct loctab_contact
C(const char *uri, long expires, int q)
{
	struct loctab_contact c;

	memset(&c, 0, sizeof(c));
	c.lc_uri = S(uri);
	c.lc_expires = expires;
	c.lc_q = q;
	c.lc_methods = LOCTAB_METHODS_ALL;
	return c;
}

static struct loctab_save
R(const char *aor, const char *callid, uint32_t cseq,
    const struct loctab_contact *c, unsigned n)
{
	struct loctab_save r;

	memset(&r, 0, sizeof(r));
	r.sv_aor = S(aor);
	r.sv_callid = S(callid);
	r.sv_cseq = cseq;
	r.sv_user_agent = S("test-ua/1.0");
	r.sv_socket = S("udp:127.0.0.1:5060");
	r.sv_now = NOW;
	r.sv_contacts = c;
	r.sv_ncontacts = n;
	return r;
}

/* Saves one contact; returns the result. */
static int
save1(struct loctab *lt, const char *aor, const char *uri, const char *callid,
    uint32_t cseq, long expires, int q)
{
	struct loctab_contact	 c = C(uri, expires, q);
	struct loctab_save	 r = R(aor, callid, cseq, &c, 1);
	unsigned		 n;

	return loctab_save(lt, &r, out, 64, &n);
}

static unsigned
count_of(struct loctab *lt, const char *aor)
{
	unsigned n = 0;

	if (loctab_lookup(lt, S(aor), NOW, out, 64, &n) != 0)
		return 0;
	return n;
}

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
	int		 status, sc, done;

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
			status = testutil_reap(pid, WAIT_MS);
			assert_true(status != -1);
			if (WIFEXITED(status)) {
				assert_int_equal(WEXITSTATUS(status), 0);
				done = 1;
			} else {
				assert_true(WIFSIGNALED(status) &&
				    WTERMSIG(status) == SIGKILL);
				kills++;
			}
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
		cmocka_unit_test_teardown(test_fork_concurrency, teardown),
		cmocka_unit_test_teardown(test_full_updates, teardown),
		cmocka_unit_test_teardown(test_crash_every_step, teardown),
		cmocka_unit_test_teardown(test_memory, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
