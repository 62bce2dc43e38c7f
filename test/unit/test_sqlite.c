/*
 * Unit tests for the SQLite backend of daemon/store (store_sqlite*.c)
 * through the backend-neutral API of store.h: a fresh file gets the
 * Kamailio 5.6 schema, loads, `sipd -c` messages (wrong version, bad
 * rows, missing tables), the row edits, and the location flush/load
 * round trip.  Each test works on a file in its own temp folder; the
 * file is changed behind sipd's back with sqlite3 itself.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "errbuf.h"
#include "store.h"

struct fixture {
	char		*dir;
	char		 file[4096];
	struct store_db	 db;
};

static int
setup(void **state)
{
	struct fixture	*fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_non_null(fx->dir = strdup("/tmp/sipd-sqlite-XXXXXX"));
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->file, sizeof(fx->file), "%s/sipd.db", fx->dir);
	fx->db.sd_kind = STORE_KIND_SQLITE;
	fx->db.sd_path = fx->file;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;
	struct dirent	*de;
	DIR		*dp;
	char		 p[4200];

	if ((dp = opendir(fx->dir)) != NULL) {
		while ((de = readdir(dp)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", fx->dir, de->d_name);
			unlink(p);
		}
		closedir(dp);
	}
	rmdir(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

/* Runs SQL on the file as an operator's shell would. */
static void
sql(const struct fixture *fx, const char *text)
{
	sqlite3	*db;
	char	*err = NULL;

	assert_int_equal(sqlite3_open(fx->file, &db), SQLITE_OK);
	if (sqlite3_exec(db, text, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", text, err);
	sqlite3_close(db);
}

static long long
sql_int(const struct fixture *fx, const char *query)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	long long	 v;

	assert_int_equal(sqlite3_open(fx->file, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, query, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
expect_msg(const struct errbuf *eb, const struct fixture *fx, const char *msg)
{
	char	 want[8192];

	snprintf(want, sizeof(want), "%s: %s\n", fx->file, msg);
	if (strstr(errbuf_text(eb), want) == NULL)
		fail_msg("expected \"%s\" in:\n%s", want, errbuf_text(eb));
}

static int
str_eq(const struct store_str *s, const char *want)
{
	if (want == NULL)
		return s->ss_ptr == NULL;
	return s->ss_ptr != NULL && s->ss_len == strlen(want) &&
	    memcmp(s->ss_ptr, want, s->ss_len) == 0;
}

#define assert_str(s, want)	assert_true(str_eq(&(s), (want)))

static struct store_str
S(const char *s)
{
	struct store_str	 r = { s, s ? strlen(s) : 0 };

	return r;
}

/* A missing file gets the four tables, their version rows, WAL. */
static void
test_create(void **state)
{
	struct fixture		*fx = *state;
	struct store_subscribers *sub = NULL;
	struct errbuf		 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct stat		 st;

	assert_int_equal(store_check(&fx->db, &errs, &warns), 0);
	assert_int_equal(errs.eb_count, 0);
	expect_msg(&warns, fx, "does not exist: sipd creates it (Kamailio "
	    "5.6 schema) at start");
	assert_int_equal(stat(fx->file, &st), -1);
	errbuf_clear(&warns);

	assert_int_equal(store_load_subscribers(&fx->db, &sub, &errs,
	    &warns), 0);
	assert_int_equal(sub->ssb_count, 0);
	assert_int_equal(sub->ssb_version, STORE_VERSION_SUBSCRIBER_56);
	store_subscribers_free(sub);
	assert_int_equal(stat(fx->file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(sql_int(fx, "SELECT table_version FROM version "
	    "WHERE table_name = 'location'"), 9);
	assert_int_equal(sql_int(fx, "SELECT table_version FROM version "
	    "WHERE table_name = 'subscriber'"), 7);
	assert_int_equal(sql_int(fx, "SELECT table_version FROM version "
	    "WHERE table_name = 'trusted'"), 6);
	assert_int_equal(sql_int(fx, "SELECT table_version FROM version "
	    "WHERE table_name = 'version'"), 1);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'index' AND tbl_name = 'location'"), 5);
	assert_int_equal(store_check(&fx->db, &errs, &warns), 0);
	assert_int_equal(errs.eb_count + warns.eb_count, 0);

	/* A table dropped behind sipd's back: a warning, then re-made. */
	sql(fx, "DROP TABLE trusted");
	assert_int_equal(store_check(&fx->db, &errs, &warns), 0);
	expect_msg(&warns, fx, "table 'trusted' is missing: sipd creates it "
	    "at start");
	errbuf_clear(&warns);
	assert_int_equal(store_load_subscribers(&fx->db, &sub, &errs,
	    &warns), 0);
	store_subscribers_free(sub);
	assert_int_equal(store_check(&fx->db, &errs, &warns), 0);
	assert_int_equal(errs.eb_count + warns.eb_count, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

static void
test_edits(void **state)
{
	struct fixture		*fx = *state;
	struct store_subscribers *sub = NULL;
	struct store_trusted_table *tr = NULL;
	struct store_subscriber	 row;
	struct store_trusted	 trow;
	struct errbuf		 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct store_str	 user = S("alice"), pw = S("new-pw");
	int64_t			 id1 = 0, id2 = 0;

	memset(&row, 0, sizeof(row));
	row.su_username = S("alice");
	row.su_domain = S("example.org");
	row.su_password = S("secret");
	assert_int_equal(store_subscriber_add(&fx->db, &row, &errs), 0);
	row.su_username = S("bob");
	assert_int_equal(store_subscriber_add(&fx->db, &row, &errs), 0);
	/* UNIQUE (username, domain) */
	assert_int_equal(store_subscriber_add(&fx->db, &row, &errs),
	    -EEXIST);
	expect_msg(&errs, fx, "subscriber 'bob@example.org' is already "
	    "there");
	errbuf_clear(&errs);

	assert_int_equal(store_load_subscribers(&fx->db, &sub, &errs,
	    &warns), 0);
	assert_int_equal(sub->ssb_count, 2);
	assert_str(sub->ssb_rows[0].su_username, "alice");
	assert_str(sub->ssb_rows[0].su_domain, "example.org");
	assert_str(sub->ssb_rows[0].su_password, "secret");
	/* MD5("alice:example.org:secret"), MD5("alice@example.org:...") */
	assert_str(sub->ssb_rows[0].su_ha1,
	    "543e1aec5d3614f03141652d6ada51b2");
	assert_str(sub->ssb_rows[0].su_ha1b,
	    "1441a999b257bcd0cf5166930039876a");
	assert_int_equal(sub->ssb_rows[0].su_line, 1);
	assert_int_equal(sub->ssb_rows[1].su_line, 2);
	store_subscribers_free(sub);

	assert_int_equal(store_subscriber_passwd(&fx->db, &user, &pw, &errs),
	    0);
	user = S("nobody");
	assert_int_equal(store_subscriber_passwd(&fx->db, &user, &pw, &errs),
	    STORE_E_NOTFOUND);
	assert_int_equal(store_subscriber_rm(&fx->db, &user, NULL, &errs),
	    STORE_E_NOTFOUND);
	user = S("bob");
	pw = S("other.org");
	assert_int_equal(store_subscriber_rm(&fx->db, &user, &pw, &errs),
	    STORE_E_NOTFOUND);
	assert_int_equal(store_subscriber_rm(&fx->db, &user, NULL, &errs), 0);
	assert_int_equal(store_load_subscribers(&fx->db, &sub, &errs,
	    &warns), 0);
	assert_int_equal(sub->ssb_count, 1);
	assert_str(sub->ssb_rows[0].su_password, "new-pw");
	assert_str(sub->ssb_rows[0].su_ha1,
	    "ba20314a54c26aa869999e79ef2d2f34");
	store_subscribers_free(sub);

	memset(&trow, 0, sizeof(trow));
	trow.tr_src_ip = S("192.0.2.1");
	trow.tr_proto = STORE_PROTO_UDP;
	trow.tr_from_pattern = S("^sip:.*@gw\\.example$");
	trow.tr_tag = S("gw");
	assert_int_equal(store_trusted_add(&fx->db, &trow, &id1, &errs), 0);
	trow.tr_src_ip = S("192.0.2.2");
	trow.tr_proto = STORE_PROTO_ANY;
	trow.tr_from_pattern = S(NULL);
	trow.tr_tag = S(NULL);
	assert_int_equal(store_trusted_add(&fx->db, &trow, &id2, &errs), 0);
	assert_int_equal(id1, 1);
	assert_int_equal(id2, 2);
	assert_int_equal(store_trusted_rm(&fx->db, 1, &errs), 0);
	assert_int_equal(store_trusted_rm(&fx->db, 1, &errs),
	    STORE_E_NOTFOUND);
	assert_int_equal(store_load_trusted(&fx->db, &tr, &errs, &warns), 0);
	assert_int_equal(tr->stt_version, STORE_VERSION_TRUSTED_56);
	assert_int_equal(tr->stt_count, 1);
	assert_int_equal(tr->stt_rows[0].tr_id, 2);
	assert_int_equal(tr->stt_rows[0].tr_line, 2);
	assert_str(tr->stt_rows[0].tr_src_ip, "192.0.2.2");
	assert_int_equal(tr->stt_rows[0].tr_proto, STORE_PROTO_ANY);
	assert_str(tr->stt_rows[0].tr_from_pattern, NULL);
	store_trusted_free(tr);
	assert_int_equal(errs.eb_count, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

/* `sipd -c`: every problem, with table and row id; loads refuse. */
static void
test_check_errors(void **state)
{
	struct fixture		*fx = *state;
	struct store_subscribers *sub = NULL;
	struct store_trusted_table *tr = NULL;
	struct errbuf		 errs = ERRBUF_INIT, warns = ERRBUF_INIT;

	assert_int_equal(store_load_trusted(&fx->db, &tr, &errs, &warns), 0);
	store_trusted_free(tr);
	tr = NULL;
	sql(fx, "UPDATE version SET table_version = 6 WHERE "
	    "table_name = 'subscriber';"
	    "INSERT INTO trusted (src_ip, proto, from_pattern) VALUES "
	    "('192.0.2.9', 'xyz', NULL);"
	    "INSERT INTO trusted (src_ip, proto, from_pattern) VALUES "
	    "('192.0.2.8', 'udp', 'a\\(');"
	    "INSERT INTO location (ruid, username, contact, expires) VALUES "
	    "('r1', '', 'sip:a@192.0.2.1', 2460000.5);"
	    "INSERT INTO location (ruid, username, contact, expires) VALUES "
	    "('r2', 'bob', 'sip:b@192.0.2.1', 'soon');"
	    "DELETE FROM version WHERE table_name = 'location'");
	assert_int_equal(store_check(&fx->db, &errs, &warns), STORE_E_BAD);
	expect_msg(&errs, fx, "table 'subscriber': version 6, expected 7");
	expect_msg(&errs, fx, "table 'version': no row for table 'location' "
	    "(expected version 9)");
	expect_msg(&errs, fx, "trusted id 1: column 'proto': unknown "
	    "protocol 'xyz' (any, udp, tcp, tls, sctp or none)");
	expect_msg(&errs, fx, "trusted id 2: column 'from_pattern': bad "
	    "regular expression: Unmatched ( or \\(");
	expect_msg(&errs, fx, "location id 1: column 'username' is empty");
	expect_msg(&errs, fx, "location id 2: column 'expires' is NULL or "
	    "not a date");
	assert_int_equal(errs.eb_count, 6);
	errbuf_clear(&errs);

	assert_int_equal(store_load_subscribers(&fx->db, &sub, &errs,
	    &warns), STORE_E_BAD);
	assert_null(sub);
	assert_int_equal(errs.eb_count, 1);
	errbuf_clear(&errs);
	assert_int_equal(store_load_trusted(&fx->db, &tr, &errs, &warns),
	    STORE_E_BAD);
	assert_int_equal(errs.eb_count, 2);
	errbuf_clear(&errs);
	assert_int_equal(store_load_location(&fx->db, NULL, NULL, NULL,
	    &errs, &warns), STORE_E_BAD);
	errbuf_clear(&errs);

	/* Not a database at all. */
	sql(fx, "DROP TABLE location");
	unlink(fx->file);
	{
		FILE	*fp = fopen(fx->file, "w");

		assert_non_null(fp);
		fputs("id(int,auto) username(string)\n", fp);
		fclose(fp);
	}
	assert_int_not_equal(store_check(&fx->db, &errs, &warns), 0);
	expect_msg(&errs, fx, "cannot run SQL: file is not a database");
	errbuf_free(&errs);
	errbuf_free(&warns);
}

static const struct store_location loc_rows[] = {
	{ .sl_username = { "alice", 5 }, .sl_contact = { "sip:a@h:5060", 12 },
	  .sl_received = { "sip:192.0.2.1:1024", 18 }, .sl_expires = 2000000000,
	  .sl_q = 0.5, .sl_callid = { "c1@h", 4 }, .sl_cseq = 4000000000U,
	  .sl_last_modified = 1700000000, .sl_flags = 0x80000001U,
	  .sl_cflags = 3, .sl_user_agent = { "UA 1:2", 6 },
	  .sl_socket = { "udp:127.0.0.1:5060", 18 }, .sl_methods = 527 },
	{ .sl_username = { "bob", 3 }, .sl_contact = { "sip:b@h", 7 },
	  .sl_expires = 0, .sl_q = STORE_Q_UNSET, .sl_callid = { "n/a", 3 },
	  .sl_cseq = 1, .sl_last_modified = 1, .sl_user_agent = { "n/a", 3 },
	  .sl_methods = STORE_METHODS_ALL },
	{ .sl_username = { "bob", 3 }, .sl_contact = { "sip:b2@h", 8 },
	  .sl_path = { "<sip:p;lr>", 10 }, .sl_expires = 1700003600,
	  .sl_q = 1.0, .sl_callid = { "x", 1 }, .sl_cseq = 7,
	  .sl_last_modified = 1700000001, .sl_user_agent = { "u", 1 },
	  .sl_methods = 0 },
};
#define NLOC	(sizeof(loc_rows) / sizeof(loc_rows[0]))

struct loc_iter {
	size_t	 next;
	size_t	 seen;
};

static int
loc_next(void *arg, struct store_location *ret)
{
	struct loc_iter	*it = arg;

	if (it->next >= NLOC)
		return 0;
	*ret = loc_rows[it->next++];
	return 1;
}

static int
loc_seen(void *arg, const struct store_location *l)
{
	struct loc_iter		*it = arg;
	const struct store_location *w = &loc_rows[it->seen];

	assert_true(it->seen < NLOC);
	assert_int_equal(l->sl_username.ss_len, w->sl_username.ss_len);
	assert_memory_equal(l->sl_username.ss_ptr, w->sl_username.ss_ptr,
	    w->sl_username.ss_len);
	assert_true(str_eq(&l->sl_contact, w->sl_contact.ss_ptr));
	assert_true(str_eq(&l->sl_received, w->sl_received.ss_ptr));
	assert_true(str_eq(&l->sl_path, w->sl_path.ss_ptr));
	assert_true(str_eq(&l->sl_domain, NULL));
	assert_true(str_eq(&l->sl_socket, w->sl_socket.ss_ptr));
	assert_true(str_eq(&l->sl_callid, w->sl_callid.ss_ptr));
	assert_true(str_eq(&l->sl_user_agent, w->sl_user_agent.ss_ptr));
	assert_int_equal(l->sl_expires, w->sl_expires);
	assert_int_equal(l->sl_last_modified, w->sl_last_modified);
	assert_true(l->sl_q == w->sl_q);
	assert_int_equal(l->sl_cseq, w->sl_cseq);
	assert_int_equal(l->sl_flags, w->sl_flags);
	assert_int_equal(l->sl_cflags, w->sl_cflags);
	assert_int_equal(l->sl_methods, w->sl_methods);
	assert_int_equal(l->sl_line, it->seen + 1);
	assert_non_null(l->sl_ruid.ss_ptr);
	it->seen++;
	return 0;
}

static void
test_location_roundtrip(void **state)
{
	struct fixture		*fx = *state;
	struct errbuf		 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct loc_iter		 it = { 0, 0 };
	size_t			 count = 0;
	int			 i;

	/* Twice: the second flush replaces the first's rows. */
	for (i = 0; i < 2; i++) {
		it.next = 0;
		assert_int_equal(store_write_location(&fx->db, loc_next, &it,
		    &errs), 0);
	}
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM location"), NLOC);
	assert_int_equal(sql_int(fx, "SELECT count(DISTINCT ruid) FROM "
	    "location"), NLOC);
	/* What Kamailio 5.6 reads: (time_t)(86400 * (jd - 2440587.5) + .5) */
	assert_int_equal(sql_int(fx, "SELECT CAST(86400 * (expires - "
	    "2440587.5) + 0.5 AS INTEGER) FROM location WHERE id = 1"),
	    2000000000);
	assert_int_equal(sql_int(fx, "SELECT methods IS NULL FROM location "
	    "WHERE username = 'bob' AND contact = 'sip:b@h'"), 1);
	assert_int_equal(sql_int(fx, "SELECT flags FROM location WHERE "
	    "username = 'alice'"), (int32_t)0x80000001U);
	/* The table was emptied: ids (sl_line) start at 1 again. */
	assert_int_equal(store_load_location(&fx->db, loc_seen, &it, &count,
	    &errs, &warns), 0);
	assert_int_equal(count, NLOC);
	assert_int_equal(it.seen, NLOC);

	/* A date as text (the schema's default form) reads as UTC. */
	sql(fx, "DELETE FROM location; INSERT INTO location (ruid, username, "
	    "contact, user_agent) VALUES ('r', 'carol', 'sip:c@h', 'x')");
	it.seen = 0;
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM location WHERE "
	    "expires = '2030-05-28 21:32:15'"), 1);
	assert_int_equal(store_check(&fx->db, &errs, &warns), 0);
	assert_int_equal(errs.eb_count, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

/* A failing flush keeps the old rows (one transaction). */
static int
loc_next_fail(void *arg, struct store_location *ret)
{
	struct loc_iter	*it = arg;

	if (it->next == 2)
		return -EIO;
	*ret = loc_rows[it->next++];
	return 1;
}

static void
test_location_atomic(void **state)
{
	struct fixture		*fx = *state;
	struct errbuf		 errs = ERRBUF_INIT;
	struct loc_iter		 it = { 0, 0 };

	assert_int_equal(store_write_location(&fx->db, loc_next, &it, &errs),
	    0);
	it.next = 0;
	assert_int_equal(store_write_location(&fx->db, loc_next_fail, &it,
	    &errs), -EIO);
	assert_int_equal(sql_int(fx, "SELECT count(*) FROM location"), NLOC);
	sql(fx, "UPDATE version SET table_version = 1004 WHERE "
	    "table_name = 'location'");
	it.next = 0;
	assert_int_equal(store_write_location(&fx->db, loc_next, &it, &errs),
	    STORE_E_BAD);
	expect_msg(&errs, fx, "table 'location': version 1004, expected 9");
	errbuf_free(&errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_location_roundtrip,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_location_atomic, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
