/*
 * Unit tests for daemon/store: the DB_TEXT reader and writer (dbtext.c)
 * and the typed tables (store_text.c).  Sample files live in
 * test/data/dbtext/ (SIPD_SRCDIR); written files go to a temp folder.
 * The round-trip property test uses a fixed seed so a failure repeats.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>
#include <cmocka.h>

#include "errbuf.h"
#include "dbtext.h"
#include "store.h"

static char	*test_data;

static const char *
data(const char *rel)
{
	static char	 bufs[4][4096];
	static int	 n;
	char		*b = bufs[n++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", test_data, rel);
	return b;
}

/* Asserts that eb holds the line "path:line: msg" (line 0: "path: msg"). */
static void
expect_msg(const struct errbuf *eb, const char *path, unsigned line,
    const char *msg)
{
	char	 want[8192];

	if (line > 0)
		snprintf(want, sizeof(want), "%s:%u: %s\n", path, line, msg);
	else
		snprintf(want, sizeof(want), "%s: %s\n", path, msg);
	if (strstr(errbuf_text(eb), want) == NULL)
		fail_msg("expected \"%s\" in:\n%s", want, errbuf_text(eb));
}

static void
expect_count(const struct errbuf *eb, unsigned n)
{
	if (eb->eb_count != n)
		fail_msg("expected %u messages, got %u:\n%s", n, eb->eb_count,
		    errbuf_text(eb));
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

/* Temp folder per test, removed with its files afterwards. */
static char *
tmpdir_make(void)
{
	char	*d = strdup("/tmp/sipd-dbtext-XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void
tmpdir_remove(char *d)
{
	struct dirent	*de;
	DIR		*dp;
	char		 p[4096];

	if ((dp = opendir(d)) != NULL) {
		while ((de = readdir(dp)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
			if (rmdir(p) == -1)
				unlink(p);
		}
		closedir(dp);
	}
	rmdir(d);
	free(d);
}

static void
write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char	 p[4096];
	FILE	*fp;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_non_null(fp = fopen(p, "w"));
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static char *
read_file(const char *path, size_t *ret_len)
{
	char	*buf;
	long	 n;
	FILE	*fp;

	assert_non_null(fp = fopen(path, "r"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	if (ret_len != NULL)
		*ret_len = (size_t)n;
	return buf;
}

/* Number of entries in dir other than . and .. (temp files left?). */
static int
count_files(const char *dir)
{
	struct dirent	*de;
	DIR		*dp;
	int		 n = 0;

	assert_non_null(dp = opendir(dir));
	while ((de = readdir(dp)) != NULL)
		if (de->d_name[0] != '.' || (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0))
			n++;
	closedir(dp);
	return n;
}

/*
 * Generic reader: opens path and reads every row; returns rows read,
 * or -1 when dbtext_open failed.  *ret_r is dbtext_open's result.
 */
static int
read_rows(const char *path, struct errbuf *errs, struct errbuf *warns,
    int *ret_r)
{
	const struct dbtext_field	*v;
	struct dbtext_file		*f;
	unsigned			 line;
	int				 n = 0;

	*ret_r = dbtext_open(path, &f, errs, warns);
	if (*ret_r != 0)
		return -1;
	while (dbtext_next(f, &v, &line) == 1)
		n++;
	dbtext_close(f);
	return n;
}

/*
 * Location rows collected by the load callback.
 */
struct loc_copy {
	char		 username[64], contact[128], received[128];
	char		 callid[64], user_agent[64], socket[64], ruid[64];
	char		 instance[128];
	int		 domain_null, received_null, path_null, socket_null;
	struct store_location sl;
};

struct loc_list {
	struct loc_copy	 rows[8];
	size_t		 n;
};

static void
copy_str(char *dst, size_t dsz, const struct store_str *s)
{
	snprintf(dst, dsz, "%.*s", s->ss_ptr ? (int)s->ss_len : 0,
	    s->ss_ptr ? s->ss_ptr : "");
}

static int
collect_loc(void *arg, const struct store_location *sl)
{
	struct loc_list	*ll = arg;
	struct loc_copy	*c;

	if (ll->n == 8)
		return -ENOSPC;
	c = &ll->rows[ll->n++];
	c->sl = *sl;
	copy_str(c->username, sizeof(c->username), &sl->sl_username);
	copy_str(c->contact, sizeof(c->contact), &sl->sl_contact);
	copy_str(c->received, sizeof(c->received), &sl->sl_received);
	copy_str(c->callid, sizeof(c->callid), &sl->sl_callid);
	copy_str(c->user_agent, sizeof(c->user_agent), &sl->sl_user_agent);
	copy_str(c->socket, sizeof(c->socket), &sl->sl_socket);
	copy_str(c->ruid, sizeof(c->ruid), &sl->sl_ruid);
	copy_str(c->instance, sizeof(c->instance), &sl->sl_instance);
	c->domain_null = sl->sl_domain.ss_ptr == NULL;
	c->received_null = sl->sl_received.ss_ptr == NULL;
	c->path_null = sl->sl_path.ss_ptr == NULL;
	c->socket_null = sl->sl_socket.ss_ptr == NULL;
	return 0;
}

/*
 * Valid files: both layouts, the shipped tables.
 */

static void
test_k30_layout(void **state)
{
	struct errbuf			 errs = ERRBUF_INIT;
	struct errbuf			 warns = ERRBUF_INIT;
	struct store_subscribers	*sub = NULL;
	struct store_trusted_table	*tr = NULL;
	struct loc_list			 ll = { .n = 0 };
	size_t				 n = 0;
	const char			*dir = data("k30");

	(void)state;
	assert_int_equal(store_text_load_subscribers(dir, &sub, &errs,
	    &warns), 0);
	assert_int_equal(sub->ssb_version, 6);
	assert_int_equal(sub->ssb_count, 1);
	assert_str(sub->ssb_rows[0].su_username, "3000");
	assert_str(sub->ssb_rows[0].su_domain, "192.168.16.5");
	assert_str(sub->ssb_rows[0].su_password, "secret3000");
	assert_str(sub->ssb_rows[0].su_ha1,
	    "f8012fd32f3b435c544aa912ef224857");
	assert_str(sub->ssb_rows[0].su_ha1b,
	    "8e2d59df893ac8384a1a5c03883289cd");
	assert_int_equal(sub->ssb_rows[0].su_line, 2);
	store_subscribers_free(sub);

	assert_int_equal(store_text_load_trusted(dir, &tr, &errs, &warns), 0);
	assert_int_equal(tr->stt_version, 5);
	assert_int_equal(tr->stt_count, 2);
	assert_str(tr->stt_rows[0].tr_src_ip, "192.168.16.5");
	assert_int_equal(tr->stt_rows[0].tr_proto, STORE_PROTO_ANY);
	assert_str(tr->stt_rows[0].tr_from_pattern, NULL);
	assert_str(tr->stt_rows[0].tr_tag, NULL);
	assert_int_equal(tr->stt_rows[1].tr_proto, STORE_PROTO_UDP);
	assert_str(tr->stt_rows[1].tr_from_pattern,
	    "^sip:.*@192\\.168\\.16\\.200$");
	assert_str(tr->stt_rows[1].tr_tag, "phone200");
	assert_str(tr->stt_rows[1].tr_ruri_pattern, NULL);
	assert_int_equal(tr->stt_rows[1].tr_priority, 0);
	store_trusted_free(tr);

	assert_int_equal(store_text_load_location(dir, collect_loc, &ll, &n,
	    &errs, &warns), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ll.rows[0].username, "3001");
	assert_true(ll.rows[0].domain_null);
	assert_string_equal(ll.rows[0].contact,
	    "sip:3001@192.168.16.198:5060");
	assert_true(ll.rows[0].received_null);
	assert_true(ll.rows[0].path_null);
	assert_int_equal(ll.rows[0].sl.sl_expires, 1290004000);
	assert_true(ll.rows[0].sl.sl_q == 1.0);
	assert_string_equal(ll.rows[0].callid, "ff68b7bb-9874@x");
	assert_int_equal(ll.rows[0].sl.sl_cseq, 30752596);
	assert_int_equal(ll.rows[0].sl.sl_last_modified, 1290003064);
	assert_string_equal(ll.rows[0].user_agent, "TAU-1 v1.0");
	assert_string_equal(ll.rows[0].socket, "udp:192.168.16.5:5060");
	assert_int_equal(ll.rows[0].sl.sl_methods, 8159);
	assert_true(ll.rows[1].sl.sl_q == STORE_Q_UNSET);
	assert_int_equal(ll.rows[1].sl.sl_methods, STORE_METHODS_ALL);
	assert_string_equal(ll.rows[1].user_agent,
	    "SJphone/1.65.377a (SJ Labs)");
	assert_int_equal(ll.rows[1].sl.sl_line, 3);

	assert_int_equal(store_text_check(dir, &errs, &warns), 0);
	expect_count(&errs, 0);
	expect_count(&warns, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

static void
test_k56_layout(void **state)
{
	struct errbuf			 errs = ERRBUF_INIT;
	struct errbuf			 warns = ERRBUF_INIT;
	struct store_subscribers	*sub = NULL;
	struct store_trusted_table	*tr = NULL;
	struct loc_list			 ll = { .n = 0 };
	size_t				 n = 0;
	const char			*dir = data("k56");

	(void)state;
	assert_int_equal(store_text_load_subscribers(dir, &sub, &errs,
	    &warns), 0);
	assert_int_equal(sub->ssb_version, 7);
	assert_int_equal(sub->ssb_count, 2);
	assert_str(sub->ssb_rows[1].su_username, "alice");
	assert_str(sub->ssb_rows[1].su_password, "pw:with\\colon");
	assert_str(sub->ssb_rows[1].su_ha1,
	    "9727616f12ed8627912f24b341e2c988");
	store_subscribers_free(sub);

	assert_int_equal(store_text_load_trusted(dir, &tr, &errs, &warns), 0);
	assert_int_equal(tr->stt_version, 6);
	assert_int_equal(tr->stt_count, 2);
	assert_int_equal(tr->stt_rows[0].tr_proto, STORE_PROTO_ANY);
	assert_str(tr->stt_rows[1].tr_src_ip, "2001:db8::5");
	assert_int_equal(tr->stt_rows[1].tr_proto, STORE_PROTO_TCP);
	assert_str(tr->stt_rows[1].tr_from_pattern,
	    "^sip:.*@example\\.com$");
	assert_str(tr->stt_rows[1].tr_ruri_pattern, "^sip:00.*");
	assert_str(tr->stt_rows[1].tr_tag, "gw6");
	assert_int_equal(tr->stt_rows[1].tr_priority, 10);
	store_trusted_free(tr);

	assert_int_equal(store_text_load_location(dir, collect_loc, &ll, &n,
	    &errs, &warns), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ll.rows[0].ruid, "uloc-5f1e-1");
	assert_string_equal(ll.rows[0].contact,
	    "sip:3001@[2001:db8::7]:5060");
	assert_string_equal(ll.rows[0].received, "sip:3001@198.51.100.7:5062");
	assert_true(ll.rows[0].sl.sl_q == 0.5);
	assert_string_equal(ll.rows[0].socket, "udp:[2001:db8::1]:5060");
	assert_int_equal(ll.rows[0].sl.sl_methods, STORE_METHODS_ALL);
	assert_string_equal(ll.rows[0].instance,
	    "<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
	assert_int_equal(ll.rows[0].sl.sl_reg_id, 1);

	assert_int_equal(store_text_check(dir, &errs, &warns), 0);
	expect_count(&errs, 0);
	expect_count(&warns, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

static void
test_shipped_tables(void **state)
{
	struct errbuf			 errs = ERRBUF_INIT;
	struct errbuf			 warns = ERRBUF_INIT;
	struct store_subscribers	*sub = NULL;
	struct store_trusted_table	*tr = NULL;
	struct store_str		 ud;
	const struct store_subscriber	*su;
	char				 dir[4096], ha1[33], ud_buf[256];
	char				*text;
	const char			*names[] = { "version", "subscriber",
					    "trusted", "location" };
	size_t				 i, len;
	size_t				 n = 1;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/conf/db", getenv("SIPD_SRCDIR"));
	assert_int_equal(store_text_check(dir, &errs, &warns), 0);
	expect_count(&errs, 0);
	expect_count(&warns, 0);
	for (i = 0; i < 4; i++) {
		char p[4200];

		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		text = read_file(p, &len);
		assert_true(len > 0 && text[len - 1] == '\n');
		assert_null(strchr(text, '\r'));
		assert_null(strstr(text, " \n"));	/* 3.0 writer form */
		free(text);
	}
	assert_int_equal(store_text_load_subscribers(dir, &sub, &errs,
	    &warns), 0);
	assert_true(sub->ssb_count >= 2);
	for (i = 0; i < sub->ssb_count; i++) {
		su = &sub->ssb_rows[i];
		store_ha1(ha1, &su->su_username, &su->su_domain,
		    &su->su_password);
		assert_true(str_eq(&su->su_ha1, ha1));
		snprintf(ud_buf, sizeof(ud_buf), "%.*s@%.*s",
		    (int)su->su_username.ss_len, su->su_username.ss_ptr,
		    (int)su->su_domain.ss_len, su->su_domain.ss_ptr);
		ud.ss_ptr = ud_buf;
		ud.ss_len = strlen(ud_buf);
		store_ha1(ha1, &ud, &su->su_domain, &su->su_password);
		assert_true(str_eq(&su->su_ha1b, ha1));
	}
	store_subscribers_free(sub);
	assert_int_equal(store_text_load_trusted(dir, &tr, &errs, &warns), 0);
	assert_true(tr->stt_count >= 1);
	store_trusted_free(tr);
	assert_int_equal(store_text_load_location(dir, NULL, NULL, &n, &errs,
	    &warns), 0);
	assert_int_equal(n, 0);
	expect_count(&errs, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

static void
test_header_spaces(void **state)
{
	struct errbuf			 errs = ERRBUF_INIT;
	struct errbuf			 warns = ERRBUF_INIT;
	const struct dbtext_field	*v;
	const struct dbtext_col		*c;
	struct dbtext_file		*f;
	unsigned			 line, ncols;

	(void)state;
	assert_int_equal(dbtext_open(data("bad/header_spaces"), &f, &errs,
	    &warns), 0);
	c = dbtext_cols(f, &ncols);
	assert_int_equal(ncols, 3);
	assert_string_equal(c[0].dc_name, "id");
	assert_true(c[0].dc_auto && c[0].dc_type == DBTEXT_INT);
	assert_string_equal(c[1].dc_name, "name");
	assert_true(c[1].dc_null && c[1].dc_type == DBTEXT_STRING);
	assert_true(c[2].dc_type == DBTEXT_INT && !c[2].dc_null);
	assert_int_equal(dbtext_col_index(f, "n"), 2);
	assert_int_equal(dbtext_col_index(f, "nope"), -1);
	/* Empty auto column: filled with the highest id so far plus one. */
	assert_int_equal(dbtext_next(f, &v, &line), 1);
	assert_int_equal(v[0].df_int, 1);
	assert_string_equal(v[1].df_str, "x");
	assert_int_equal(dbtext_next(f, &v, &line), 1);
	assert_int_equal(v[0].df_int, 7);
	assert_true(v[1].df_null);
	assert_int_equal(dbtext_next(f, &v, &line), 1);
	assert_int_equal(v[0].df_int, 8);
	assert_int_equal(v[2].df_int, 3);
	assert_int_equal(line, 4);
	assert_int_equal(dbtext_next(f, &v, &line), 0);
	assert_int_equal(dbtext_nerrors(f), 0);
	dbtext_close(f);
	expect_count(&errs, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

static void
test_blank_lines(void **state)
{
	struct errbuf			 errs = ERRBUF_INIT;
	struct errbuf			 warns = ERRBUF_INIT;
	const struct dbtext_field	*v;
	struct dbtext_file		*f;
	unsigned			 line;

	(void)state;
	assert_int_equal(dbtext_open(data("bad/blank"), &f, &errs, &warns), 0);
	assert_int_equal(dbtext_next(f, &v, &line), 1);
	assert_int_equal(line, 3);
	assert_int_equal(v[0].df_int, 1);
	assert_int_equal(dbtext_next(f, &v, &line), 1);
	assert_int_equal(line, 6);
	assert_int_equal(dbtext_next(f, &v, &line), 0);
	dbtext_close(f);
	expect_count(&errs, 0);
	expect_count(&warns, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

/*
 * Malformed files: each error names FILE:LINE and what is wrong.
 */

struct bad_case {
	const char	*file;
	int		 open_result;	/* dbtext_open() */
	int		 rows;		/* good rows read, -1: open failed */
	unsigned	 nerrs;
	unsigned	 line;		/* of the checked message */
	const char	*msg;
};

static const struct bad_case bad_cases[] = {
	{ "bad/header_noparen", DBTEXT_E_BAD, -1, 1, 1,
	    "bad header: column 'username': expected '(' after the name" },
	{ "bad/header_type", DBTEXT_E_BAD, -1, 1, 1,
	    "bad header: column 'name': unknown type 'varchar'" },
	{ "bad/header_attr", DBTEXT_E_BAD, -1, 1, 1,
	    "bad header: column 'name': unknown attribute 'nul'" },
	{ "bad/escape", 0, 1, 1, 3,
	    "column 'b': bad escape '\\.' (only \\: \\\\ \\n \\r \\t \\0)" },
	{ "bad/escape_ctl", 0, 0, 1, 2,
	    "column 'a': bad escape: '\\' then byte 0x01 (only \\: \\\\ "
	    "\\n \\r \\t \\0)" },
	{ "bad/escape_end", 0, 0, 1, 2,
	    "column 'b': '\\' at the end of the line" },
	{ "bad/notnull", 0, 0, 1, 2,
	    "column 'a' is empty (NULL) but may not be NULL" },
	{ "bad/toomany", 0, 0, 1, 2, "too many fields (3, expected 2)" },
	{ "bad/toofew", 0, 0, 1, 2, "too few fields (2, expected 3)" },
	{ "bad/int", 0, 1, 5, 2, "column 'a': bad int '+1'" },
	{ "bad/int", 0, 1, 5, 3, "column 'a': bad int '1 '" },
	{ "bad/int", 0, 1, 5, 4, "column 'a': bad int '12a'" },
	{ "bad/int", 0, 1, 5, 5, "column 'a': bad int '-'" },
	{ "bad/int", 0, 1, 5, 6,
	    "column 'a': bad int '99999999999999999999'" },
	{ "bad/double", 0, 1, 3, 2, "column 'q': bad double '1.'" },
	{ "bad/double", 0, 1, 3, 3, "column 'q': bad double '1e3'" },
	{ "bad/double", 0, 1, 3, 4, "column 'q': bad double '.5'" },
	{ "bad/crlf", DBTEXT_E_BAD, -1, 1, 1,
	    "carriage return in the header (CRLF line ends are not "
	    "supported)" },
	{ "bad/crlf_record", 0, 0, 1, 2,
	    "carriage return in a record (CRLF line ends are not supported; "
	    "write it as \\r)" },
	{ "bad/empty", DBTEXT_E_BAD, -1, 1, 1,
	    "empty file, expected a header line" },
	{ "bad/many", 0, 0, DBTEXT_MAX_ERRORS + 1, 2 + DBTEXT_MAX_ERRORS,
	    "too many errors, not listing the rest" },
	{ "bad/no-such-file", -ENOENT, -1, 1, 0,
	    "cannot read: No such file or directory" },
	{ "bad", -EISDIR, -1, 1, 0, "cannot read: Is a directory" },
};

static void
test_bad_files(void **state)
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	const struct bad_case *bc;
	size_t		 i;
	int		 r, rows;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		bc = &bad_cases[i];
		errbuf_clear(&errs);
		errbuf_clear(&warns);
		rows = read_rows(data(bc->file), &errs, &warns, &r);
		if (r != bc->open_result || rows != bc->rows)
			fail_msg("%s: open %d rows %d:\n%s", bc->file, r, rows,
			    errbuf_text(&errs));
		expect_msg(&errs, data(bc->file), bc->line, bc->msg);
		expect_count(&errs, bc->nerrs);
		expect_count(&warns, 0);
	}
	errbuf_free(&errs);
	errbuf_free(&warns);
}

static void
test_no_final_newline(void **state)
{
	struct errbuf			 errs = ERRBUF_INIT;
	struct errbuf			 warns = ERRBUF_INIT;
	const struct dbtext_field	*v;
	struct dbtext_file		*f;
	unsigned			 line;

	(void)state;
	assert_int_equal(dbtext_open(data("bad/nonewline"), &f, &errs,
	    &warns), 0);
	assert_int_equal(dbtext_next(f, &v, &line), 1);
	assert_int_equal(dbtext_next(f, &v, &line), 1);
	/* Read, unlike Kamailio, which drops it silently. */
	assert_int_equal(line, 3);
	assert_int_equal(v[0].df_int, 2);
	assert_string_equal(v[1].df_str, "y");
	assert_int_equal(dbtext_next(f, &v, &line), 0);
	assert_int_equal(dbtext_nerrors(f), 0);
	dbtext_close(f);
	expect_count(&errs, 0);
	expect_count(&warns, 1);
	expect_msg(&warns, data("bad/nonewline"), 3,
	    "no newline at the end of the last record (read anyway)");

	/* A header-only file without its newline. */
	errbuf_clear(&warns);
	assert_int_equal(dbtext_open(data("bad/header_nonl"), &f, &errs,
	    &warns), 0);
	assert_int_equal(dbtext_next(f, &v, &line), 0);
	dbtext_close(f);
	expect_count(&errs, 0);
	expect_msg(&warns, data("bad/header_nonl"), 1,
	    "no newline at the end of the file");
	expect_count(&warns, 1);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

/*
 * Typed tables: version, columns, proto.
 */

static void
test_version_errors(void **state)
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct store_subscribers *sub = NULL;
	size_t		 n;

	(void)state;
	assert_int_equal(store_text_load_location(data("typed/noversionrow"),
	    NULL, NULL, &n, &errs, &warns), STORE_E_BAD);
	expect_msg(&errs, data("typed/noversionrow/version"), 1,
	    "no row for table 'location' (expected version 1004)");
	expect_count(&errs, 1);

	errbuf_clear(&errs);
	assert_int_equal(store_text_load_location(data("typed/wrongversion"),
	    NULL, NULL, &n, &errs, &warns), STORE_E_BAD);
	expect_msg(&errs, data("typed/wrongversion/version"), 4,
	    "table 'location': version 1003, expected 1004");
	expect_count(&errs, 1);

	/* A 3.0 location file with the 5.6 version table. */
	errbuf_clear(&errs);
	assert_int_equal(store_text_load_location(data("typed/layoutversion"),
	    NULL, NULL, &n, &errs, &warns), STORE_E_BAD);
	expect_msg(&errs, data("typed/layoutversion/version"), 3,
	    "table 'location': version 9, expected 1004");

	errbuf_clear(&errs);
	assert_int_equal(store_text_load_subscribers(
	    data("typed/noversionfile"), &sub, &errs, &warns), -ENOENT);
	assert_null(sub);
	expect_msg(&errs, data("typed/noversionfile/version"), 0,
	    "cannot read: No such file or directory");
	expect_count(&errs, 1);

	/* sipd -c lists every problem of the folder. */
	errbuf_clear(&errs);
	assert_int_equal(store_text_check(data("typed/wrongversion"), &errs,
	    &warns), STORE_E_BAD);
	expect_msg(&errs, data("typed/wrongversion/subscriber"), 0,
	    "cannot read: No such file or directory");
	expect_msg(&errs, data("typed/wrongversion/trusted"), 0,
	    "cannot read: No such file or directory");
	expect_msg(&errs, data("typed/wrongversion/version"), 4,
	    "table 'location': version 1003, expected 1004");
	expect_count(&errs, 3);
	expect_count(&warns, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

static void
test_column_errors(void **state)
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct store_subscribers *sub = NULL;
	size_t		 n;

	(void)state;
	assert_int_equal(store_text_load_subscribers(data("typed/missingcol"),
	    &sub, &errs, &warns), STORE_E_BAD);
	assert_null(sub);
	expect_msg(&errs, data("typed/missingcol/subscriber"), 1,
	    "column 'ha1b' is missing");
	expect_count(&errs, 1);

	/* Kamailio 3.0 fails the whole table (every REGISTER got 500). */
	errbuf_clear(&errs);
	assert_int_equal(store_text_load_subscribers(data("typed/emptyemail"),
	    &sub, &errs, &warns), STORE_E_BAD);
	assert_null(sub);
	expect_msg(&errs, data("typed/emptyemail/subscriber"), 2,
	    "column 'email_address' is empty (NULL) but may not be NULL");
	expect_count(&errs, 1);

	errbuf_clear(&errs);
	assert_int_equal(store_text_load_location(data("typed/badtype"),
	    NULL, NULL, &n, &errs, &warns), STORE_E_BAD);
	expect_msg(&errs, data("typed/badtype/location"), 1,
	    "column 'expires' has type string, expected int");
	expect_count(&errs, 1);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

static void
test_trusted_proto(void **state)
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct store_trusted_table *tr = NULL;
	const char	*path = data("typed/badproto/trusted");

	(void)state;
	assert_int_equal(store_text_load_trusted(data("typed/badproto"), &tr,
	    &errs, &warns), STORE_E_BAD);
	assert_null(tr);
	expect_msg(&errs, path, 4, "column 'proto': unknown protocol "
	    "'websocket' (any, udp, tcp, tls, sctp or none)");
	assert_non_null(strstr(errbuf_text(&errs), "trusted:7: column "
	    "'from_pattern': bad regular expression: "));
	expect_count(&errs, 2);
	errbuf_free(&errs);
	errbuf_free(&warns);
}

/*
 * Writer: exact form, atomicity.
 */

struct rows_arg {
	const struct dbtext_field (*rows)[4];
	size_t		 n, i;
	int		 fail_at;	/* return -EIO at this row, or -1 */
};

static int
rows_next(void *arg, struct dbtext_field *v)
{
	struct rows_arg	*ra = arg;

	if ((int)ra->i == ra->fail_at)
		return -EIO;
	if (ra->i == ra->n)
		return 0;
	memcpy(v, ra->rows[ra->i++], 4 * sizeof(*v));
	return 1;
}

static const struct dbtext_col wcols[4] = {
	{ "id", DBTEXT_INT, 0, 1 },
	{ "s", DBTEXT_STRING, 0, 0 },
	{ "q", DBTEXT_DOUBLE, 0, 0 },
	{ "opt", DBTEXT_STRING, 1, 1 },	/* null wins over auto */
};

static void
test_write_format(void **state)
{
	static const struct dbtext_field rows[3][4] = {
		{ { NULL, 0, 0, 0, 1 }, { "a:b\\c\nd\re\tf", 11, 0, 0, 0 },
		  { NULL, 0, 0, 0.5, 0 }, { NULL, 0, 0, 0, 1 } },
		{ { NULL, 0, 42, 0, 0 }, { "nul\0x", 5, 0, 0, 0 },
		  { NULL, 0, 0, -1, 0 }, { "", 0, 0, 0, 0 } },
		{ { NULL, 0, 0, 0, 1 }, { "[2001:db8::1]:5060", 18, 0, 0, 0 },
		  { NULL, 0, 0, 1, 0 }, { "x", 1, 0, 0, 0 } },
	};
	static const char want[] =
	    "id(int,auto) s(string) q(double) opt(string,null)\n"
	    "1:a\\:b\\\\c\\nd\\re\\tf:0.50:\n"
	    "42:nul\\0x:-1.00:\n"
	    "3:[2001\\:db8\\:\\:1]\\:5060:1.00:x\n";
	struct errbuf	 errs = ERRBUF_INIT;
	struct rows_arg	 ra = { rows, 3, 0, -1 };
	char		*dir = tmpdir_make(), path[4096], *text;
	struct stat	 st;

	(void)state;
	snprintf(path, sizeof(path), "%s/t", dir);
	assert_int_equal(dbtext_write(path, wcols, 4, rows_next, &ra, &errs),
	    0);
	text = read_file(path, NULL);
	assert_string_equal(text, want);
	free(text);
	/* New files are private: tables may hold passwords. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* An existing file keeps its mode. */
	assert_int_equal(chmod(path, 0640), 0);
	ra.i = 0;
	assert_int_equal(dbtext_write(path, wcols, 4, rows_next, &ra, &errs),
	    0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(count_files(dir), 1);
	expect_count(&errs, 0);
	errbuf_free(&errs);
	tmpdir_remove(dir);
}

/*
 * The writer formats numbers itself and the reader reads decimals
 * itself: both must give what printf ("%" PRId64, "%.2f") and strtod()
 * give, for every value, across the writer's buffer boundary too.
 */
#define NUM_ROWS	3000

static const struct dbtext_col ncols[3] = {
	{ "i", DBTEXT_INT, 0, 0 },
	{ "d", DBTEXT_DOUBLE, 0, 0 },
	{ "s", DBTEXT_STRING, 0, 0 },
};

static int64_t
num_int(size_t k)
{
	static const int64_t special[] = { INT64_MIN, INT64_MAX, 0, -1, 1,
	    -9, 10, INT64_MIN + 1, 4294967295LL, -2147483648LL };

	if (k < sizeof(special) / sizeof(special[0]))
		return special[k];
	return (int64_t)(k * 2654435761U) * (k % 2 ? -1 : 1);
}

static double
num_double(size_t k)
{
	static const double special[] = { 0.125, 0.375, 0.005, 0.015, -0.0,
	    1e20, -1e300, 123.456, 0.1, 0.001, -0.001, 2.675, 1e15, 1e-7,
	    -1, 1, 0.995, 999999999999.99 };

	if (k < sizeof(special) / sizeof(special[0]))
		return special[k];
	if (k < 2000)
		return (double)(k % 1001) / 1000.0;	/* every q */
	return (double)(int64_t)(k * 7919) / 100.0 - 5000.0;
}

struct num_arg {
	size_t	 i;
	char	*big;
};

static int
num_next(void *arg, struct dbtext_field *v)
{
	struct num_arg	*na = arg;

	if (na->i == NUM_ROWS)
		return 0;
	v[0].df_int = num_int(na->i);
	v[1].df_double = num_double(na->i);
	/* One string bigger than the writer's buffer. */
	v[2].df_str = na->i == 1500 ? na->big : "x:y";
	v[2].df_len = na->i == 1500 ? 300000 : 3;
	na->i++;
	return 1;
}

static void
test_write_numbers(void **state)
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	const struct dbtext_field *v;
	struct dbtext_file *f;
	struct num_arg	 na = { 0, NULL };
	char		*dir = tmpdir_make(), path[4096], *text, *p;
	char		 want[512];
	char		 num[512];
	unsigned	 line;
	size_t		 k, len;

	(void)state;
	na.big = malloc(300000);
	assert_non_null(na.big);
	memset(na.big, 'b', 300000);
	snprintf(path, sizeof(path), "%s/n", dir);
	assert_int_equal(dbtext_write(path, ncols, 3, num_next, &na, &errs),
	    0);
	text = read_file(path, NULL);
	p = strchr(text, '\n') + 1;
	for (k = 0; k < NUM_ROWS; k++) {
		snprintf(want, sizeof(want), "%" PRId64 ":%.2f:", num_int(k),
		    num_double(k));
		len = strlen(want);
		assert_memory_equal(p, want, len);
		p += len;
		p += k == 1500 ? 300000 : 4;	/* "x\:y" */
		assert_int_equal(*p, '\n');
		p++;
	}
	assert_int_equal(*p, '\0');
	free(text);

	/* Read back: each decimal as strtod() reads the written text. */
	assert_int_equal(dbtext_open(path, &f, &errs, &warns), 0);
	for (k = 0; dbtext_next(f, &v, &line) == 1; k++) {
		assert_int_equal(v[0].df_int, num_int(k));
		snprintf(num, sizeof(num), "%.2f", num_double(k));
		assert_true(v[1].df_double == strtod(num, NULL));
		assert_int_equal(signbit(v[1].df_double),
		    signbit(strtod(num, NULL)));
	}
	assert_int_equal(k, NUM_ROWS);
	dbtext_close(f);
	expect_count(&errs, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
	free(na.big);
	tmpdir_remove(dir);
}

static void
test_write_atomic(void **state)
{
	static const struct dbtext_field rows[2][4] = {
		{ { NULL, 0, 0, 0, 1 }, { "new", 3, 0, 0, 0 },
		  { NULL, 0, 0, 0.5, 0 }, { NULL, 0, 0, 0, 1 } },
		{ { NULL, 0, 0, 0, 1 }, { NULL, 0, 0, 0, 1 },
		  { NULL, 0, 0, 0.5, 0 }, { NULL, 0, 0, 0, 1 } },
	};
	static const char old[] = "id(int,auto) s(string)\n1:old\n";
	struct errbuf	 errs = ERRBUF_INIT;
	struct rows_arg	 ra = { rows, 1, 0, -1 };
	char		*dir = tmpdir_make(), path[4096], *text;

	(void)state;
	/* The folder does not exist: fails for root too. */
	snprintf(path, sizeof(path), "%s/nodir/location", dir);
	assert_int_equal(dbtext_write(path, wcols, 4, rows_next, &ra, &errs),
	    -ENOENT);
	expect_msg(&errs, path, 0,
	    "cannot create a temp file: No such file or directory");

	/* The target is a folder: rename fails, nothing left behind. */
	errbuf_clear(&errs);
	snprintf(path, sizeof(path), "%s/isdir", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	ra.i = 0;
	assert_int_equal(dbtext_write(path, wcols, 4, rows_next, &ra, &errs),
	    -EISDIR);
	assert_non_null(strstr(errbuf_text(&errs), "cannot rename"));
	assert_int_equal(count_files(dir), 1);

	/* The row source fails half way: old file intact, no temp file. */
	snprintf(path, sizeof(path), "%s/t", dir);
	write_file(dir, "t", old, sizeof(old) - 1);
	errbuf_clear(&errs);
	ra.i = 0;
	ra.n = 2;
	ra.fail_at = 1;
	assert_int_equal(dbtext_write(path, wcols, 4, rows_next, &ra, &errs),
	    -EIO);
	expect_msg(&errs, path, 0, "cannot write: Input/output error");
	text = read_file(path, NULL);
	assert_string_equal(text, old);
	free(text);
	assert_int_equal(count_files(dir), 2);

	/* NULL in a NOT NULL column: refused, the file could not load. */
	errbuf_clear(&errs);
	ra.i = 0;
	ra.fail_at = -1;
	assert_int_equal(dbtext_write(path, wcols, 4, rows_next, &ra, &errs),
	    -EINVAL);
	expect_msg(&errs, path, 0,
	    "row 2: column 's' is NULL or empty but may not be NULL");
	text = read_file(path, NULL);
	assert_string_equal(text, old);
	free(text);
	assert_int_equal(count_files(dir), 2);
	errbuf_free(&errs);
	tmpdir_remove(dir);
}

/*
 * Location writer: the facts' rows come out as Kamailio 3.0 writes them.
 */

struct loc_src {
	const struct store_location *rows;
	size_t			 n, i;
};

static int
loc_next(void *arg, struct store_location *ret)
{
	struct loc_src	*ls = arg;

	if (ls->i == ls->n)
		return 0;
	*ret = ls->rows[ls->i++];
	return 1;
}

#define S(x)	{ x, sizeof(x) - 1 }
#define SNULL	{ NULL, 0 }

static void
test_write_location(void **state)
{
	static const struct store_location rows[2] = {
		{ .sl_username = S("3001"), .sl_domain = SNULL,
		  .sl_contact = S("sip:3001@192.168.16.198:5060"),
		  .sl_expires = 1290004000, .sl_q = 1.0,
		  .sl_callid = S("ff68b7bb-9874@x"), .sl_cseq = 30752596,
		  .sl_last_modified = 1290003064,
		  .sl_user_agent = S("TAU-1 v1.0"),
		  .sl_socket = S("udp:192.168.16.5:5060"),
		  .sl_methods = 8159 },
		{ .sl_username = S("3000"),
		  .sl_contact = S("sip:3000@192.168.16.195"),
		  .sl_expires = 1290003118, .sl_q = STORE_Q_UNSET,
		  .sl_callid = S("2297E7219A93@x"), .sl_cseq = 42,
		  .sl_last_modified = 1290003064,
		  .sl_user_agent = S("SJphone/1.65.377a (SJ Labs)"),
		  .sl_socket = S("udp:192.168.16.5:5060"),
		  .sl_methods = STORE_METHODS_ALL },
	};
	static const char want[] =
	    "id(int,auto) username(string) domain(string,null) "
	    "contact(string) received(string,null) path(string,null) "
	    "expires(int) q(double) callid(string) cseq(int) "
	    "last_modified(int) flags(int) cflags(int) user_agent(string) "
	    "socket(string,null) methods(int,null)\n"
	    "1:3001::sip\\:3001@192.168.16.198\\:5060:::1290004000:1.00:"
	    "ff68b7bb-9874@x:30752596:1290003064:0:0:TAU-1 v1.0:"
	    "udp\\:192.168.16.5\\:5060:8159\n"
	    "2:3000::sip\\:3000@192.168.16.195:::1290003118:-1.00:"
	    "2297E7219A93@x:42:1290003064:0:0:SJphone/1.65.377a (SJ Labs):"
	    "udp\\:192.168.16.5\\:5060:\n";
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct loc_src	 ls = { rows, 2, 0 };
	struct loc_list	 ll = { .n = 0 };
	char		*dir = tmpdir_make(), path[4096], *text;
	size_t		 n = 0;

	(void)state;
	/* No version file yet: it is created in the 3.0 form. */
	assert_int_equal(store_text_write_location(dir, loc_next, &ls, &errs),
	    0);
	snprintf(path, sizeof(path), "%s/location", dir);
	text = read_file(path, NULL);
	assert_string_equal(text, want);
	free(text);
	snprintf(path, sizeof(path), "%s/version", dir);
	text = read_file(path, NULL);
	assert_string_equal(text,
	    "table_name(string) table_version(int)\nlocation:1004\n");
	free(text);
	assert_int_equal(store_text_load_location(dir, collect_loc, &ll, &n,
	    &errs, &warns), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ll.rows[1].sl.sl_methods, STORE_METHODS_ALL);
	assert_true(ll.rows[1].sl.sl_q == STORE_Q_UNSET);

	/* The callback can stop a load (shm table full). */
	ll.n = 8;
	assert_int_equal(store_text_load_location(dir, collect_loc, &ll, &n,
	    &errs, &warns), -ENOSPC);
	expect_count(&errs, 0);
	expect_count(&warns, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
	tmpdir_remove(dir);
}

/*
 * Subscriber writer: fills email/ha1/ha1b, converts a 5.6 folder.
 */

struct sub_src {
	const struct store_subscriber *rows;
	size_t			 n, i;
};

static int
sub_next(void *arg, struct store_subscriber *ret)
{
	struct sub_src	*ss = arg;

	if (ss->i == ss->n)
		return 0;
	*ret = ss->rows[ss->i++];
	return 1;
}

static void
test_write_subscribers(void **state)
{
	static const struct store_subscriber rows[2] = {
		{ .su_username = S("3000"), .su_domain = S("192.168.16.5"),
		  .su_password = S("secret3000") },
		{ .su_username = S("bob"), .su_domain = S("example.com"),
		  .su_password = S("p:w"), .su_ha1 = S("0123"),
		  .su_ha1b = S("4567") },
	};
	static const struct store_subscriber bad[1] = {
		{ .su_username = S("x"), .su_domain = S("example.com") },
	};
	static const char want[] =
	    "id(int,auto) username(string) domain(string) password(string) "
	    "email_address(string) ha1(string) ha1b(string) "
	    "rpid(string,null)\n"
	    "1:3000:192.168.16.5:secret3000:3000@192.168.16.5:"
	    "f8012fd32f3b435c544aa912ef224857:"
	    "8e2d59df893ac8384a1a5c03883289cd:\n"
	    "2:bob:example.com:p\\:w:bob@example.com:0123:4567:\n";
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct store_subscribers *sub = NULL;
	struct sub_src	 ss = { rows, 2, 0 };
	char		*dir = tmpdir_make(), path[4096], *text, *v56;
	size_t		 len;

	(void)state;
	/* Start from the 5.6 folder: version table with id column. */
	v56 = read_file(data("k56/version"), &len);
	write_file(dir, "version", v56, len);
	free(v56);
	assert_int_equal(store_text_write_subscribers(dir, sub_next, &ss,
	    &errs), 0);
	snprintf(path, sizeof(path), "%s/subscriber", dir);
	text = read_file(path, NULL);
	assert_string_equal(text, want);
	free(text);
	/* Only the subscriber row changed, the layout was kept. */
	snprintf(path, sizeof(path), "%s/version", dir);
	text = read_file(path, NULL);
	assert_string_equal(text, "id(int,auto) table_name(string) "
	    "table_version(int)\n0:version:1\n0:location:9\n"
	    "0:subscriber:6\n0:trusted:6\n");
	free(text);
	assert_int_equal(store_text_load_subscribers(dir, &sub, &errs,
	    &warns), 0);
	assert_int_equal(sub->ssb_count, 2);
	assert_str(sub->ssb_rows[1].su_password, "p:w");
	store_subscribers_free(sub);

	ss.rows = bad;
	ss.n = 1;
	ss.i = 0;
	assert_int_equal(store_text_write_subscribers(dir, sub_next, &ss,
	    &errs), -EINVAL);
	snprintf(path, sizeof(path), "%s/subscriber", dir);
	expect_msg(&errs, path, 0,
	    "subscriber without username, domain or password");
	text = read_file(path, NULL);
	assert_string_equal(text, want);
	free(text);
	assert_int_equal(count_files(dir), 2);
	errbuf_free(&errs);
	errbuf_free(&warns);
	tmpdir_remove(dir);
}

/*
 * Property: any non-empty byte string written and read back is
 * identical.  An empty string reads back as NULL (as in Kamailio).
 */

static uint64_t	 prng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
prng(void)
{
	/* xorshift64*: fixed seed, so a failing case repeats. */
	prng_state ^= prng_state >> 12;
	prng_state ^= prng_state << 25;
	prng_state ^= prng_state >> 27;
	return prng_state * 0x2545f4914f6cdd1dULL;
}

static char *
random_bytes(size_t *ret_len)
{
	static const char	 special[] = ":\\\r\n\t\0 ";
	static const char	 v6[] = "[2001:db8::1]:5060";
	size_t			 len, i, k;
	char			*s;

	switch (prng() % 8) {
	case 0:
		len = 1 + prng() % 4000;	/* long */
		break;
	case 1:
		len = 1;
		break;
	default:
		len = 1 + prng() % 40;
		break;
	}
	assert_non_null(s = malloc(len + 1));
	for (i = 0; i < len; i++) {
		switch (prng() % 6) {
		case 0:
		case 1:
			s[i] = special[prng() % (sizeof(special) - 1)];
			break;
		case 2:
			s[i] = (char)(prng() & 0xff);	/* non-ASCII too */
			break;
		case 3:
			for (k = 0; k < sizeof(v6) - 1 && i < len; k++)
				s[i++] = v6[k];
			i--;
			break;
		default:
			s[i] = (char)('a' + prng() % 26);
			break;
		}
	}
	s[len] = '\0';
	*ret_len = len;
	return s;
}

#define PROP_ROWS	3000

struct prop {
	struct store_location	*rows;
	size_t			 n, i;
	size_t			 checked;
};

static int
prop_next(void *arg, struct store_location *ret)
{
	struct prop	*p = arg;

	if (p->i == p->n)
		return 0;
	*ret = p->rows[p->i++];
	return 1;
}

static void
prop_cmp_str(const struct store_str *got, const struct store_str *want)
{
	if (want->ss_ptr == NULL || want->ss_len == 0) {
		assert_null(got->ss_ptr);
		return;
	}
	assert_non_null(got->ss_ptr);
	assert_int_equal(got->ss_len, want->ss_len);
	assert_memory_equal(got->ss_ptr, want->ss_ptr, want->ss_len);
}

static int
prop_check(void *arg, const struct store_location *got)
{
	struct prop			*p = arg;
	const struct store_location	*w = &p->rows[p->checked++];

	prop_cmp_str(&got->sl_username, &w->sl_username);
	prop_cmp_str(&got->sl_domain, &w->sl_domain);
	prop_cmp_str(&got->sl_contact, &w->sl_contact);
	prop_cmp_str(&got->sl_received, &w->sl_received);
	prop_cmp_str(&got->sl_path, &w->sl_path);
	prop_cmp_str(&got->sl_callid, &w->sl_callid);
	prop_cmp_str(&got->sl_user_agent, &w->sl_user_agent);
	prop_cmp_str(&got->sl_socket, &w->sl_socket);
	assert_int_equal(got->sl_expires, w->sl_expires);
	assert_true(got->sl_q == w->sl_q);
	assert_int_equal(got->sl_cseq, w->sl_cseq);
	assert_int_equal(got->sl_last_modified, w->sl_last_modified);
	assert_int_equal(got->sl_flags, w->sl_flags);
	assert_int_equal(got->sl_cflags, w->sl_cflags);
	assert_int_equal(got->sl_methods, w->sl_methods);
	return 0;
}

static struct store_str
prop_str(int nullable)
{
	struct store_str	 s;

	if (nullable && prng() % 4 == 0) {
		s.ss_ptr = NULL;
		s.ss_len = 0;
		return s;
	}
	s.ss_ptr = random_bytes(&s.ss_len);
	return s;
}

static void
test_roundtrip_property(void **state)
{
	struct errbuf		 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct store_location	*sl;
	struct prop		 p;
	char			*dir = tmpdir_make();
	size_t			 i, n = 0;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_non_null(p.rows = calloc(PROP_ROWS, sizeof(*p.rows)));
	p.n = PROP_ROWS;
	for (i = 0; i < PROP_ROWS; i++) {
		sl = &p.rows[i];
		sl->sl_username = prop_str(0);
		sl->sl_domain = prop_str(1);
		sl->sl_contact = prop_str(0);
		sl->sl_received = prop_str(1);
		sl->sl_path = prop_str(1);
		sl->sl_callid = prop_str(0);
		sl->sl_user_agent = prop_str(0);
		sl->sl_socket = prop_str(1);
		sl->sl_expires = (time_t)(prng() % 4000000000ULL);
		sl->sl_q = prng() % 3 == 0 ? STORE_Q_UNSET :
		    (double)(prng() % 101) / 100.0;
		sl->sl_cseq = (uint32_t)prng();
		sl->sl_last_modified = (time_t)(prng() % 4000000000ULL);
		sl->sl_flags = (uint32_t)prng();
		sl->sl_cflags = (uint32_t)prng();
		sl->sl_methods = prng() % 2 ? STORE_METHODS_ALL :
		    (uint32_t)prng();
	}
	assert_int_equal(store_text_write_location(dir, prop_next, &p, &errs),
	    0);
	assert_int_equal(store_text_load_location(dir, prop_check, &p, &n,
	    &errs, &warns), 0);
	assert_int_equal(n, PROP_ROWS);
	assert_int_equal(p.checked, PROP_ROWS);
	expect_count(&errs, 0);
	expect_count(&warns, 0);

	for (i = 0; i < PROP_ROWS; i++) {
		sl = &p.rows[i];
		free((char *)sl->sl_username.ss_ptr);
		free((char *)sl->sl_domain.ss_ptr);
		free((char *)sl->sl_contact.ss_ptr);
		free((char *)sl->sl_received.ss_ptr);
		free((char *)sl->sl_path.ss_ptr);
		free((char *)sl->sl_callid.ss_ptr);
		free((char *)sl->sl_user_agent.ss_ptr);
		free((char *)sl->sl_socket.ss_ptr);
	}
	free(p.rows);
	errbuf_free(&errs);
	errbuf_free(&warns);
	tmpdir_remove(dir);
}

/* Every single byte value, alone and between colons, at the dbtext level. */
static int
bytes_next(void *arg, struct dbtext_field *v)
{
	static char	 buf[3];
	int		*i = arg;

	if (*i == 256 * 2)
		return 0;
	buf[0] = ':';
	buf[1] = (char)(*i / 2);
	buf[2] = '\\';
	v[0].df_null = 1;
	v[1].df_str = *i % 2 ? buf : buf + 1;
	v[1].df_len = *i % 2 ? 3 : 1;
	v[2].df_double = 0;
	v[3].df_str = "";		/* empty: written as NULL */
	v[3].df_len = 0;
	(*i)++;
	return 1;
}

static void
test_roundtrip_bytes(void **state)
{
	struct errbuf			 errs = ERRBUF_INIT;
	struct errbuf			 warns = ERRBUF_INIT;
	const struct dbtext_field	*v;
	struct dbtext_file		*f;
	char				*dir = tmpdir_make(), path[4096];
	unsigned			 line;
	int				 i = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/bytes", dir);
	assert_int_equal(dbtext_write(path, wcols, 4, bytes_next, &i, &errs),
	    0);
	assert_int_equal(dbtext_open(path, &f, &errs, &warns), 0);
	for (i = 0; i < 512; i++) {
		assert_int_equal(dbtext_next(f, &v, &line), 1);
		assert_int_equal(v[0].df_int, i + 1);
		if (i % 2) {
			assert_int_equal(v[1].df_len, 3);
			assert_true(v[1].df_str[0] == ':' &&
			    (unsigned char)v[1].df_str[1] == i / 2 &&
			    v[1].df_str[2] == '\\');
		} else {
			assert_int_equal(v[1].df_len, 1);
			assert_int_equal((unsigned char)v[1].df_str[0], i / 2);
		}
		assert_true(v[3].df_null);
	}
	assert_int_equal(dbtext_next(f, &v, &line), 0);
	dbtext_close(f);
	expect_count(&errs, 0);
	expect_count(&warns, 0);
	errbuf_free(&errs);
	errbuf_free(&warns);
	tmpdir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_k30_layout),
		cmocka_unit_test(test_k56_layout),
		cmocka_unit_test(test_shipped_tables),
		cmocka_unit_test(test_header_spaces),
		cmocka_unit_test(test_blank_lines),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_version_errors),
		cmocka_unit_test(test_column_errors),
		cmocka_unit_test(test_trusted_proto),
		cmocka_unit_test(test_write_format),
cmocka_unit_test(test_write_numbers),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_write_location),
		cmocka_unit_test(test_write_subscribers),
		cmocka_unit_test(test_roundtrip_property),
		cmocka_unit_test(test_roundtrip_bytes),
	};
	const char	*src = getenv("SIPD_SRCDIR");

	int		 r;

	if (asprintf(&test_data, "%s/test/data/dbtext",
	    src != NULL ? src : ".") == -1)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	free(test_data);
	return r;
}
