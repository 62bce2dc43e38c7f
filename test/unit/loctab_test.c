/*
 * loctab_test.c: what test_loctab.c and test_loctab_fork.c share: the
 * scratch binding array, string and request builders, a fresh table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "loctab.h"
#include "loctab_test.h"
#include "shm.h"

struct loctab_binding	out[64];

struct loctab_str
S(const char *s)
{
	struct loctab_str r = { s, strlen(s) };

	return r;
}

struct loctab_str
SN(const char *s, size_t n)
{
	struct loctab_str r = { s, n };

	return r;
}

/* A fresh mapping holding just one table. */
struct loctab *
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

int
teardown(void **state)
{
	(void)state;
	shm_destroy();
	return 0;
}

/* One contact with defaults. */
struct loctab_contact
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

struct loctab_save
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
int
save1(struct loctab *lt, const char *aor, const char *uri, const char *callid,
    uint32_t cseq, long expires, int q)
{
	struct loctab_contact	 c = C(uri, expires, q);
	struct loctab_save	 r = R(aor, callid, cseq, &c, 1);
	unsigned		 n;

	return loctab_save(lt, &r, out, 64, &n);
}

unsigned
count_of(struct loctab *lt, const char *aor)
{
	unsigned n = 0;

	if (loctab_lookup(lt, S(aor), NOW, out, 64, &n) != 0)
		return 0;
	return n;
}

