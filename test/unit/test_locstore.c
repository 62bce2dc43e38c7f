/*
 * test_locstore: unit tests of daemon/locstore.c, the translation
 * between `location` rows (daemon/store) and location table bindings
 * (shm/loctab): AoR joined from username and domain, q scaled, "n/a"
 * for the NOT NULL columns, and a round trip through a real table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "locstore.h"
#include "loctab.h"
#include "shm.h"
#include "store.h"

#define NOW	1700000000

static struct store_str
SS(const char *s)
{
	struct store_str	 ss = { s, s != NULL ? strlen(s) : 0 };

	return ss;
}

static void
row_init(struct store_location *row)
{
	memset(row, 0, sizeof(*row));
	row->sl_username = SS("bob");
	row->sl_contact = SS("sip:bob@1.2.3.4:5060");
	row->sl_callid = SS("cid-1");
	row->sl_user_agent = SS("phone/1.0");
	row->sl_socket = SS("udp:127.0.0.1:5060");
	row->sl_received = SS("sip:9.9.9.9:1234");
	row->sl_expires = NOW + 50;
	row->sl_last_modified = NOW - 10;
	row->sl_q = 0.5;
	row->sl_cseq = 42;
	row->sl_flags = 3;
	row->sl_cflags = 4;
	row->sl_methods = 527;
}

static void
assert_lstr(struct loctab_str s, const char *want)
{
	assert_int_equal(s.ls_len, strlen(want));
	assert_memory_equal(s.ls_ptr, want, s.ls_len);
}

static void
test_from_store(void **state)
{
	struct store_location	 row;
	struct loctab_row	 lr;
	char			 aor[LOCTAB_AOR_MAX + 1];

	(void)state;
	row_init(&row);
	assert_int_equal(locstore_row_from_store(&row, aor, &lr), 0);
	assert_lstr(lr.lr_aor, "bob");
	assert_lstr(lr.lr_callid, "cid-1");
	assert_lstr(lr.lr_user_agent, "phone/1.0");
	assert_lstr(lr.lr_socket, "udp:127.0.0.1:5060");
	assert_lstr(lr.lr_contact.lc_uri, "sip:bob@1.2.3.4:5060");
	assert_lstr(lr.lr_contact.lc_received, "sip:9.9.9.9:1234");
	assert_int_equal(lr.lr_contact.lc_path.ls_len, 0);
	assert_int_equal(lr.lr_contact.lc_q, 500);
	assert_int_equal(lr.lr_contact.lc_flags, 3);
	assert_int_equal(lr.lr_contact.lc_cflags, 4);
	assert_int_equal(lr.lr_contact.lc_methods, 527);
	assert_int_equal(lr.lr_cseq, 42);
	assert_int_equal(lr.lr_expires, NOW + 50);
	assert_int_equal(lr.lr_last_modified, NOW - 10);

	/* q: unset, clamped at 1, rounded (0.3 * 1000 is 299.99...). */
	row.sl_q = STORE_Q_UNSET;
	assert_int_equal(locstore_row_from_store(&row, aor, &lr), 0);
	assert_int_equal(lr.lr_contact.lc_q, LOCTAB_Q_UNSET);
	row.sl_q = 1.0;
	assert_int_equal(locstore_row_from_store(&row, aor, &lr), 0);
	assert_int_equal(lr.lr_contact.lc_q, LOCTAB_Q_MAX);
	row.sl_q = 0.3;
	assert_int_equal(locstore_row_from_store(&row, aor, &lr), 0);
	assert_int_equal(lr.lr_contact.lc_q, 300);

	/* use_domain rows: username@domain. */
	row.sl_domain = SS("example.com");
	assert_int_equal(locstore_row_from_store(&row, aor, &lr), 0);
	assert_lstr(lr.lr_aor, "bob@example.com");
	assert_ptr_equal(lr.lr_aor.ls_ptr, aor);
}

static void
test_from_store_too_long(void **state)
{
	struct store_location	 row;
	struct loctab_row	 lr;
	char			 aor[LOCTAB_AOR_MAX + 1];
	char			 user[LOCTAB_AOR_MAX + 2];

	(void)state;
	row_init(&row);
	memset(user, 'u', sizeof(user) - 1);
	user[LOCTAB_AOR_MAX] = '\0';
	row.sl_username = SS(user);			/* exactly the max */
	assert_int_equal(locstore_row_from_store(&row, aor, &lr), 0);
	assert_int_equal(lr.lr_aor.ls_len, LOCTAB_AOR_MAX);
	user[LOCTAB_AOR_MAX] = 'u';
	user[LOCTAB_AOR_MAX + 1] = '\0';
	row.sl_username = SS(user);			/* one more */
	assert_int_equal(locstore_row_from_store(&row, aor, &lr),
	    LOCTAB_E_TOOLONG);
	/* The joined AoR counts: 126 + "@" + "ab" is 129. */
	user[LOCTAB_AOR_MAX - 2] = '\0';
	row.sl_username = SS(user);
	row.sl_domain = SS("ab");
	assert_int_equal(locstore_row_from_store(&row, aor, &lr),
	    LOCTAB_E_TOOLONG);
	row.sl_domain = SS("a");
	assert_int_equal(locstore_row_from_store(&row, aor, &lr), 0);
	assert_int_equal(lr.lr_aor.ls_len, LOCTAB_AOR_MAX);
}

/* store -> loctab -> copied binding -> store: the row comes back. */
static void
test_round_trip(void **state)
{
	struct store_location	 row, back;
	struct loctab_binding	 b[4];
	struct loctab_row	 lr;
	struct loctab		*lt;
	struct loctab_str	 key = { "bob@example.com", 15 };
	char			 aor[LOCTAB_AOR_MAX + 1];
	unsigned		 n;

	(void)state;
	assert_int_equal(shm_create(loctab_shm_size_add(shm_size_base(), 16,
	    16)), 0);
	assert_int_equal(loctab_create(16, 16, &lt), 0);
	row_init(&row);
	row.sl_domain = SS("example.com");
	assert_int_equal(locstore_row_from_store(&row, aor, &lr), 0);
	assert_int_equal(loctab_insert_loaded(lt, &lr, NOW), 0);
	assert_int_equal(loctab_lookup(lt, key, NOW, b, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(b[0].lb_state, LOCTAB_CS_SYNC);

	locstore_row_to_store(&b[0], &back);
	assert_int_equal(back.sl_username.ss_len, 15);
	assert_memory_equal(back.sl_username.ss_ptr, "bob@example.com", 15);
	assert_null(back.sl_domain.ss_ptr);
	assert_memory_equal(back.sl_contact.ss_ptr, "sip:bob@1.2.3.4:5060",
	    20);
	assert_memory_equal(back.sl_callid.ss_ptr, "cid-1", 5);
	assert_memory_equal(back.sl_user_agent.ss_ptr, "phone/1.0", 9);
	assert_memory_equal(back.sl_socket.ss_ptr, "udp:127.0.0.1:5060", 18);
	assert_memory_equal(back.sl_received.ss_ptr, "sip:9.9.9.9:1234", 16);
	assert_null(back.sl_path.ss_ptr);
	assert_true(back.sl_q == 0.5);
	assert_int_equal(back.sl_expires, NOW + 50);
	assert_int_equal(back.sl_last_modified, NOW - 10);
	assert_int_equal(back.sl_cseq, 42);
	assert_int_equal(back.sl_flags, 3);
	assert_int_equal(back.sl_cflags, 4);
	assert_int_equal(back.sl_methods, 527);
	shm_destroy();
}

/* Empty Call-ID / User-Agent are NOT NULL in the 3.0 layout: "n/a". */
static void
test_to_store_defaults(void **state)
{
	struct loctab_binding	 b;
	struct store_location	 row;

	(void)state;
	memset(&b, 0, sizeof(b));
	memcpy(b.lb_aor, "alice", 6);
	b.lb_aor_len = 5;
	b.lb_q = LOCTAB_Q_UNSET;
	locstore_row_to_store(&b, &row);
	assert_int_equal(row.sl_callid.ss_len, 3);
	assert_memory_equal(row.sl_callid.ss_ptr, "n/a", 3);
	assert_int_equal(row.sl_user_agent.ss_len, 3);
	assert_memory_equal(row.sl_user_agent.ss_ptr, "n/a", 3);
	assert_true(row.sl_q == STORE_Q_UNSET);
	assert_null(row.sl_contact.ss_ptr);
	assert_null(row.sl_socket.ss_ptr);
	assert_null(row.sl_received.ss_ptr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_store),
		cmocka_unit_test(test_from_store_too_long),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_to_store_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
