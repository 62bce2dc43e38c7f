/*
 * store_text: the subscriber, trusted, location and version tables as
 * DB_TEXT files in one folder, on top of dbtext.c.
 *
 * Runs in `sipd -c`, in the master at start and on reloads, and in the
 * master when it flushes the location table or persists MI subscriber
 * edits.  It never logs (errors go to errbufs).
 *
 * Columns are found by name, so the Kamailio 3.0 and 5.6 layouts both
 * load; which layout a file has decides the version its row in
 * `version` must carry (a 3.0 location file with a 5.6 version row is
 * as wrong as Kamailio would find it).  Writing always uses the 3.0
 * layout, the one the board's Kamailio 3.0.1 reads.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "errbuf.h"
#include "dbtext.h"
#include "store.h"
#include "store_backend.h"
#include "store_text_int.h"

static const char *const store_table_names[STORE_T_COUNT] = {
	[STORE_T_SUBSCRIBER] = "subscriber",
	[STORE_T_TRUSTED] = "trusted",
	[STORE_T_LOCATION] = "location",
};

/* The rows of `version` that sipd cares about. */
struct store_versions {
	char		*sv_path;
	int		 sv_ok;		/* file read without error */
	int		 sv_found[STORE_T_COUNT];
	int64_t		 sv_version[STORE_T_COUNT];
	unsigned	 sv_line[STORE_T_COUNT];
};

/* A column the typed layer needs: name, type, and where it was found. */
struct store_colspec {
	const char	*cs_name;
	enum dbtext_type cs_type;
	int		 cs_required;
	int		 cs_index;	/* filled: -1 when absent */
};

char *
store_path(const char *dir, const char *table)
{
	size_t	 len = strlen(dir);
	char	*p;

	if (asprintf(&p, "%s%s%s", dir, len > 0 && dir[len - 1] == '/' ?
	    "" : "/", table) == -1)
		return NULL;
	return p;
}

static struct store_str
store_field_str(const struct dbtext_field *v, int idx)
{
	struct store_str	 s = { NULL, 0 };

	if (idx >= 0 && !v[idx].df_null) {
		s.ss_ptr = v[idx].df_str;
		s.ss_len = v[idx].df_len;
	}
	return s;
}

static int64_t
store_field_int(const struct dbtext_field *v, int idx, int64_t dflt)
{
	if (idx < 0 || v[idx].df_null)
		return dflt;
	return v[idx].df_int;
}

/*
 * Finds the columns by name and checks their types; a missing required
 * column or a wrong type is an error on line 1.  Returns 0 or -1.
 */
static int
store_find_cols(struct dbtext_file *f, struct store_colspec *cs, size_t n)
{
	const struct dbtext_col	*cols;
	static const char *const tn[] = {
		[DBTEXT_INT] = "int",
		[DBTEXT_DOUBLE] = "double",
		[DBTEXT_STRING] = "string",
		[DBTEXT_BLOB] = "blob",
	};
	enum dbtext_type	 t;
	unsigned		 ncols;
	size_t			 i;
	int			 bad = 0;

	cols = dbtext_cols(f, &ncols);
	for (i = 0; i < n; i++) {
		cs[i].cs_index = dbtext_col_index(f, cs[i].cs_name);
		if (cs[i].cs_index < 0) {
			if (cs[i].cs_required) {
				dbtext_error(f, 1, "column '%s' is missing",
				    cs[i].cs_name);
				bad = 1;
			}
			continue;
		}
		t = cols[cs[i].cs_index].dc_type;
		if (t != cs[i].cs_type &&
		    !(t == DBTEXT_BLOB && cs[i].cs_type == DBTEXT_STRING)) {
			dbtext_error(f, 1, "column '%s' has type %s, expected "
			    "%s", cs[i].cs_name, tn[t], tn[cs[i].cs_type]);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/*
 * version
 */

static void
store_versions_free(struct store_versions *sv)
{
	free(sv->sv_path);
	sv->sv_path = NULL;
}

/* Reads DIR/version; 0, STORE_E_BAD or -errno (errors reported). */
static int
store_versions_read(const char *dir, struct store_versions *sv,
    struct errbuf *errs, struct errbuf *warns)
{
	struct store_colspec	 cs[] = {
		{ "table_name", DBTEXT_STRING, 1, -1 },
		{ "table_version", DBTEXT_INT, 1, -1 },
	};
	const struct dbtext_field *v;
	struct dbtext_file	*f;
	unsigned		 line;
	int			 r, t;

	memset(sv, 0, sizeof(*sv));
	if ((sv->sv_path = store_path(dir, "version")) == NULL) {
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	if ((r = dbtext_open(sv->sv_path, &f, errs, warns)) != 0)
		return r;
	if (store_find_cols(f, cs, 2) == -1) {
		dbtext_close(f);
		return STORE_E_BAD;
	}
	while (dbtext_next(f, &v, &line) == 1) {
		for (t = 0; t < STORE_T_COUNT; t++) {
			if (v[cs[0].cs_index].df_null ||
			    strcmp(v[cs[0].cs_index].df_str,
			    store_table_names[t]) != 0)
				continue;
			if (sv->sv_found[t]) {
				errbuf_add(warns, sv->sv_path, line,
				    "second row for table '%s' ignored "
				    "(line %u counts)", store_table_names[t],
				    sv->sv_line[t]);
				continue;
			}
			sv->sv_found[t] = 1;
			sv->sv_line[t] = line;
			sv->sv_version[t] = store_field_int(v,
			    cs[1].cs_index, -1);
		}
	}
	r = dbtext_nerrors(f) > 0 ? STORE_E_BAD : 0;
	sv->sv_ok = r == 0;
	dbtext_close(f);
	return r;
}

/* Compares the row of table t with the version of the layout found. */
static int
store_versions_check(const struct store_versions *sv, int t, int expected,
    struct errbuf *errs)
{
	if (!sv->sv_ok)
		return STORE_E_BAD;	/* already reported */
	if (!sv->sv_found[t]) {
		errbuf_add(errs, sv->sv_path, 1, "no row for table '%s' "
		    "(expected version %d)", store_table_names[t], expected);
		return STORE_E_BAD;
	}
	if (sv->sv_version[t] != expected) {
		errbuf_add(errs, sv->sv_path, sv->sv_line[t], "table '%s': "
		    "version %lld, expected %d", store_table_names[t],
		    (long long)sv->sv_version[t], expected);
		return STORE_E_BAD;
	}
	return 0;
}

/*
 * subscriber
 */

void
store_subscribers_free(struct store_subscribers *table)
{
	if (table == NULL)
		return;
	free(table->ssb_rows);
	dbtext_close(table->ssb_file);
	free(table->ssb_arena);
	free(table);
}

static int
store_subscribers_read(const char *dir, struct store_subscribers **ret_table,
    struct errbuf *errs, struct errbuf *warns)
{
	struct store_colspec	 cs[] = {
		{ "username", DBTEXT_STRING, 1, -1 },
		{ "domain", DBTEXT_STRING, 1, -1 },
		{ "password", DBTEXT_STRING, 1, -1 },
		{ "ha1", DBTEXT_STRING, 1, -1 },
		{ "ha1b", DBTEXT_STRING, 1, -1 },
	};
	struct store_subscribers *tb;
	struct store_subscriber	*su, *nrows;
	const struct dbtext_field *v;
	size_t			 cap = 0;
	unsigned		 line;
	char			*path;
	int			 r;

	if ((path = store_path(dir, "subscriber")) == NULL ||
	    (tb = calloc(1, sizeof(*tb))) == NULL) {
		free(path);
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	r = dbtext_open(path, &tb->ssb_file, errs, warns);
	free(path);
	if (r != 0) {
		free(tb);
		return r;
	}
	tb->ssb_version = dbtext_col_index(tb->ssb_file, "email_address") >= 0 ?
	    STORE_VERSION_SUBSCRIBER_30 : STORE_VERSION_SUBSCRIBER_56;
	if (store_find_cols(tb->ssb_file, cs, 5) == -1) {
		store_subscribers_free(tb);
		return STORE_E_BAD;
	}
	while (dbtext_next(tb->ssb_file, &v, &line) == 1) {
		if (tb->ssb_count == cap) {
			cap = cap ? cap * 2 : 16;
			nrows = reallocarray(tb->ssb_rows, cap, sizeof(*su));
			if (nrows == NULL) {
				errbuf_add(errs, dbtext_path(tb->ssb_file), 0,
				    "out of memory");
				store_subscribers_free(tb);
				return -ENOMEM;
			}
			tb->ssb_rows = nrows;
		}
		su = &tb->ssb_rows[tb->ssb_count];
		su->su_username = store_field_str(v, cs[0].cs_index);
		su->su_domain = store_field_str(v, cs[1].cs_index);
		su->su_password = store_field_str(v, cs[2].cs_index);
		su->su_ha1 = store_field_str(v, cs[3].cs_index);
		su->su_ha1b = store_field_str(v, cs[4].cs_index);
		su->su_line = line;
		if (su->su_username.ss_ptr == NULL) {
			dbtext_error(tb->ssb_file, line, "column 'username' "
			    "is empty");
			continue;
		}
		tb->ssb_count++;
	}
	if (dbtext_nerrors(tb->ssb_file) > 0) {
		store_subscribers_free(tb);
		return STORE_E_BAD;
	}
	*ret_table = tb;
	return 0;
}

int
store_text_load_subscribers(const char *dir,
    struct store_subscribers **ret_table, struct errbuf *errs,
    struct errbuf *warns)
{
	struct store_subscribers *tb = NULL;
	struct store_versions	 sv;
	int			 r, rv;

	rv = store_versions_read(dir, &sv, errs, warns);
	r = store_subscribers_read(dir, &tb, errs, warns);
	if (r == 0 && rv >= 0)
		r = store_versions_check(&sv, STORE_T_SUBSCRIBER,
		    tb->ssb_version, errs);
	store_versions_free(&sv);
	if (r == 0 && rv < 0)
		r = rv;
	if (r != 0) {
		store_subscribers_free(tb);
		return r;
	}
	*ret_table = tb;
	return 0;
}

/*
 * trusted
 */

void
store_trusted_free(struct store_trusted_table *table)
{
	if (table == NULL)
		return;
	free(table->stt_rows);
	dbtext_close(table->stt_file);
	free(table->stt_arena);
	free(table);
}

int
store_proto_parse(const struct store_str *s, enum store_proto *ret)
{
	static const struct {
		const char		*name;
		enum store_proto	 proto;
	} protos[] = {
		{ "any", STORE_PROTO_ANY },
		{ "udp", STORE_PROTO_UDP },
		{ "tcp", STORE_PROTO_TCP },
		{ "tls", STORE_PROTO_TLS },
		{ "sctp", STORE_PROTO_SCTP },
		{ "none", STORE_PROTO_NONE },
	};
	size_t	 i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (s->ss_len == strlen(protos[i].name) &&
		    strncasecmp(s->ss_ptr, protos[i].name, s->ss_len) == 0) {
			*ret = protos[i].proto;
			return 0;
		}
	return -1;
}

/* permissions compiles the patterns (POSIX basic, REG_NOSUB): so do we. */
static int
store_regex_check(struct dbtext_file *f, unsigned line, const char *col,
    const struct store_str *s)
{
	regex_t	 re;
	char	 msg[128];
	int	 r;

	if (s->ss_ptr == NULL)
		return 0;
	if (memchr(s->ss_ptr, '\0', s->ss_len) != NULL) {
		dbtext_error(f, line, "column '%s': NUL byte in the regular "
		    "expression", col);
		return -1;
	}
	if ((r = regcomp(&re, s->ss_ptr, REG_NOSUB)) != 0) {
		regerror(r, &re, msg, sizeof(msg));
		dbtext_error(f, line, "column '%s': bad regular expression: "
		    "%s", col, msg);
		return -1;
	}
	regfree(&re);
	return 0;
}

static int
store_trusted_read(const char *dir, struct store_trusted_table **ret_table,
    struct errbuf *errs, struct errbuf *warns)
{
	struct store_colspec	 cs[] = {
		{ "src_ip", DBTEXT_STRING, 1, -1 },
		{ "proto", DBTEXT_STRING, 1, -1 },
		{ "from_pattern", DBTEXT_STRING, 1, -1 },
		{ "tag", DBTEXT_STRING, 1, -1 },
		{ "ruri_pattern", DBTEXT_STRING, 0, -1 },
		{ "priority", DBTEXT_INT, 0, -1 },
		{ "id", DBTEXT_INT, 0, -1 },
	};
	struct store_trusted_table *tb;
	struct store_trusted	*tr, *nrows;
	const struct dbtext_field *v;
	size_t			 cap = 0;
	unsigned		 line;
	char			*path, vis[40];
	int			 r, bad;

	if ((path = store_path(dir, "trusted")) == NULL ||
	    (tb = calloc(1, sizeof(*tb))) == NULL) {
		free(path);
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	r = dbtext_open(path, &tb->stt_file, errs, warns);
	free(path);
	if (r != 0) {
		free(tb);
		return r;
	}
	if (store_find_cols(tb->stt_file, cs, 7) == -1) {
		store_trusted_free(tb);
		return STORE_E_BAD;
	}
	tb->stt_version = cs[4].cs_index >= 0 || cs[5].cs_index >= 0 ?
	    STORE_VERSION_TRUSTED_56 : STORE_VERSION_TRUSTED_30;
	while (dbtext_next(tb->stt_file, &v, &line) == 1) {
		if (tb->stt_count == cap) {
			cap = cap ? cap * 2 : 16;
			nrows = reallocarray(tb->stt_rows, cap, sizeof(*tr));
			if (nrows == NULL) {
				errbuf_add(errs, dbtext_path(tb->stt_file), 0,
				    "out of memory");
				store_trusted_free(tb);
				return -ENOMEM;
			}
			tb->stt_rows = nrows;
		}
		tr = &tb->stt_rows[tb->stt_count];
		memset(tr, 0, sizeof(*tr));
		tr->tr_src_ip = store_field_str(v, cs[0].cs_index);
		tr->tr_from_pattern = store_field_str(v, cs[2].cs_index);
		tr->tr_tag = store_field_str(v, cs[3].cs_index);
		tr->tr_ruri_pattern = store_field_str(v, cs[4].cs_index);
		tr->tr_priority = store_field_int(v, cs[5].cs_index, 0);
		tr->tr_id = store_field_int(v, cs[6].cs_index, 0);
		tr->tr_line = line;
		bad = 0;
		if (tr->tr_src_ip.ss_ptr == NULL) {
			dbtext_error(tb->stt_file, line, "column 'src_ip' is "
			    "empty");
			bad = 1;
		}
		if (v[cs[1].cs_index].df_null) {
			dbtext_error(tb->stt_file, line, "column 'proto' is "
			    "empty (any, udp, tcp, tls, sctp or none)");
			bad = 1;
		} else {
			struct store_str p = store_field_str(v, cs[1].cs_index);

			if (store_proto_parse(&p, &tr->tr_proto) == -1) {
				snprintf(vis, sizeof(vis), "%.*s",
				    (int)(p.ss_len > 30 ? 30 : p.ss_len),
				    p.ss_ptr);
				dbtext_error(tb->stt_file, line, "column "
				    "'proto': unknown protocol '%s' (any, "
				    "udp, tcp, tls, sctp or none)", vis);
				bad = 1;
			}
		}
		if (store_regex_check(tb->stt_file, line, "from_pattern",
		    &tr->tr_from_pattern) == -1)
			bad = 1;
		if (store_regex_check(tb->stt_file, line, "ruri_pattern",
		    &tr->tr_ruri_pattern) == -1)
			bad = 1;
		if (!bad)
			tb->stt_count++;
	}
	if (dbtext_nerrors(tb->stt_file) > 0) {
		store_trusted_free(tb);
		return STORE_E_BAD;
	}
	*ret_table = tb;
	return 0;
}

int
store_text_load_trusted(const char *dir,
    struct store_trusted_table **ret_table, struct errbuf *errs,
    struct errbuf *warns)
{
	struct store_trusted_table *tb = NULL;
	struct store_versions	 sv;
	int			 r, rv;

	rv = store_versions_read(dir, &sv, errs, warns);
	r = store_trusted_read(dir, &tb, errs, warns);
	if (r == 0 && rv >= 0)
		r = store_versions_check(&sv, STORE_T_TRUSTED,
		    tb->stt_version, errs);
	store_versions_free(&sv);
	if (r == 0 && rv < 0)
		r = rv;
	if (r != 0) {
		store_trusted_free(tb);
		return r;
	}
	*ret_table = tb;
	return 0;
}

/*
 * location
 */

enum {
	LC_USERNAME, LC_DOMAIN, LC_CONTACT, LC_RECEIVED, LC_PATH, LC_EXPIRES,
	LC_Q, LC_CALLID, LC_CSEQ, LC_LAST_MODIFIED, LC_FLAGS, LC_CFLAGS,
	LC_USER_AGENT, LC_SOCKET, LC_METHODS, LC_RUID, LC_INSTANCE, LC_REG_ID,
	LC_COUNT
};

static const struct store_colspec store_location_cols[LC_COUNT] = {
	[LC_USERNAME] = { "username", DBTEXT_STRING, 1, -1 },
	[LC_DOMAIN] = { "domain", DBTEXT_STRING, 1, -1 },
	[LC_CONTACT] = { "contact", DBTEXT_STRING, 1, -1 },
	[LC_RECEIVED] = { "received", DBTEXT_STRING, 1, -1 },
	[LC_PATH] = { "path", DBTEXT_STRING, 1, -1 },
	[LC_EXPIRES] = { "expires", DBTEXT_INT, 1, -1 },
	[LC_Q] = { "q", DBTEXT_DOUBLE, 1, -1 },
	[LC_CALLID] = { "callid", DBTEXT_STRING, 1, -1 },
	[LC_CSEQ] = { "cseq", DBTEXT_INT, 1, -1 },
	[LC_LAST_MODIFIED] = { "last_modified", DBTEXT_INT, 1, -1 },
	[LC_FLAGS] = { "flags", DBTEXT_INT, 1, -1 },
	[LC_CFLAGS] = { "cflags", DBTEXT_INT, 1, -1 },
	[LC_USER_AGENT] = { "user_agent", DBTEXT_STRING, 1, -1 },
	[LC_SOCKET] = { "socket", DBTEXT_STRING, 1, -1 },
	[LC_METHODS] = { "methods", DBTEXT_INT, 1, -1 },
	[LC_RUID] = { "ruid", DBTEXT_STRING, 0, -1 },
	[LC_INSTANCE] = { "instance", DBTEXT_STRING, 0, -1 },
	[LC_REG_ID] = { "reg_id", DBTEXT_INT, 0, -1 },
};

/*
 * A 32-bit column: bit masks may be written signed (Kamailio prints
 * %d) or unsigned (5.6), so both ranges are taken.
 */
static int
store_u32(struct dbtext_file *f, unsigned line, const char *col, int64_t x,
    uint32_t *ret)
{
	if (x < INT32_MIN || x > (int64_t)UINT32_MAX) {
		dbtext_error(f, line, "column '%s': %lld out of range", col,
		    (long long)x);
		return -1;
	}
	*ret = (uint32_t)x;
	return 0;
}

static int
store_location_read(const char *dir, int *ret_version, store_location_fn *fn,
    void *arg, size_t *ret_count, struct errbuf *errs, struct errbuf *warns)
{
	struct store_colspec	 cs[LC_COUNT];
	struct store_location	 sl;
	const struct dbtext_field *v;
	struct dbtext_file	*f;
	size_t			 count = 0;
	unsigned		 line;
	char			*path;
	int			 r, bad;

	if ((path = store_path(dir, "location")) == NULL) {
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	r = dbtext_open(path, &f, errs, warns);
	free(path);
	if (r != 0)
		return r;
	memcpy(cs, store_location_cols, sizeof(cs));
	if (store_find_cols(f, cs, LC_COUNT) == -1) {
		dbtext_close(f);
		return STORE_E_BAD;
	}
	*ret_version = cs[LC_RUID].cs_index >= 0 ?
	    STORE_VERSION_LOCATION_56 : STORE_VERSION_LOCATION_30;
	while (dbtext_next(f, &v, &line) == 1) {
		memset(&sl, 0, sizeof(sl));
		sl.sl_username = store_field_str(v, cs[LC_USERNAME].cs_index);
		sl.sl_domain = store_field_str(v, cs[LC_DOMAIN].cs_index);
		sl.sl_contact = store_field_str(v, cs[LC_CONTACT].cs_index);
		sl.sl_received = store_field_str(v, cs[LC_RECEIVED].cs_index);
		sl.sl_path = store_field_str(v, cs[LC_PATH].cs_index);
		sl.sl_expires = (time_t)store_field_int(v,
		    cs[LC_EXPIRES].cs_index, 0);
		sl.sl_q = v[cs[LC_Q].cs_index].df_null ? STORE_Q_UNSET :
		    v[cs[LC_Q].cs_index].df_double;
		sl.sl_callid = store_field_str(v, cs[LC_CALLID].cs_index);
		sl.sl_last_modified = (time_t)store_field_int(v,
		    cs[LC_LAST_MODIFIED].cs_index, 0);
		sl.sl_user_agent = store_field_str(v,
		    cs[LC_USER_AGENT].cs_index);
		sl.sl_socket = store_field_str(v, cs[LC_SOCKET].cs_index);
		sl.sl_ruid = store_field_str(v, cs[LC_RUID].cs_index);
		sl.sl_instance = store_field_str(v, cs[LC_INSTANCE].cs_index);
		sl.sl_reg_id = store_field_int(v, cs[LC_REG_ID].cs_index, 0);
		sl.sl_line = line;
		bad = 0;
		if (store_field_int(v, cs[LC_CSEQ].cs_index, 0) < 0) {
			dbtext_error(f, line, "column 'cseq': negative");
			bad = 1;
		} else if (store_u32(f, line, "cseq", store_field_int(v,
		    cs[LC_CSEQ].cs_index, 0), &sl.sl_cseq) == -1)
			bad = 1;
		if (store_u32(f, line, "flags", store_field_int(v,
		    cs[LC_FLAGS].cs_index, 0), &sl.sl_flags) == -1 ||
		    store_u32(f, line, "cflags", store_field_int(v,
		    cs[LC_CFLAGS].cs_index, 0), &sl.sl_cflags) == -1 ||
		    store_u32(f, line, "methods", store_field_int(v,
		    cs[LC_METHODS].cs_index, -1), &sl.sl_methods) == -1)
			bad = 1;
		if (sl.sl_username.ss_ptr == NULL ||
		    sl.sl_contact.ss_ptr == NULL) {
			dbtext_error(f, line, "column '%s' is empty",
			    sl.sl_username.ss_ptr == NULL ? "username" :
			    "contact");
			bad = 1;
		}
		if (bad)
			continue;
		if (fn != NULL && (r = fn(arg, &sl)) < 0) {
			dbtext_close(f);
			return r;
		}
		count++;
	}
	r = dbtext_nerrors(f) > 0 ? STORE_E_BAD : 0;
	dbtext_close(f);
	if (r == 0 && ret_count != NULL)
		*ret_count = count;
	return r;
}

int
store_text_load_location(const char *dir, store_location_fn *fn, void *arg,
    size_t *ret_count, struct errbuf *errs, struct errbuf *warns)
{
	struct store_versions	 sv;
	int			 r, rv, version = 0;

	rv = store_versions_read(dir, &sv, errs, warns);
	r = store_location_read(dir, &version, fn, arg, ret_count, errs,
	    warns);
	if (r == 0 && rv >= 0)
		r = store_versions_check(&sv, STORE_T_LOCATION, version, errs);
	store_versions_free(&sv);
	if (r == 0 && rv < 0)
		r = rv;
	return r;
}

static int
store_text_check_tables(const char *dir, int location, struct errbuf *errs,
    struct errbuf *warns)
{
	struct store_subscribers *sub = NULL;
	struct store_trusted_table *tr = NULL;
	struct store_versions	 sv;
	int			 r, bad = 0, version = 0;

	if (store_versions_read(dir, &sv, errs, warns) != 0)
		bad = 1;
	if (store_subscribers_read(dir, &sub, errs, warns) != 0)
		bad = 1;
	else if (store_versions_check(&sv, STORE_T_SUBSCRIBER,
	    sub->ssb_version, errs) != 0)
		bad = 1;
	if (store_trusted_read(dir, &tr, errs, warns) != 0)
		bad = 1;
	else if (store_versions_check(&sv, STORE_T_TRUSTED,
	    tr->stt_version, errs) != 0)
		bad = 1;
	if (location) {
		r = store_location_read(dir, &version, NULL, NULL, NULL, errs,
		    warns);
		if (r != 0)
			bad = 1;
		else if (store_versions_check(&sv, STORE_T_LOCATION, version,
		    errs) != 0)
			bad = 1;
	}
	store_subscribers_free(sub);
	store_trusted_free(tr);
	store_versions_free(&sv);
	return bad ? STORE_E_BAD : 0;
}

int
store_text_check(const char *dir, struct errbuf *errs, struct errbuf *warns)
{
	return store_text_check_tables(dir, 1, errs, warns);
}

int
store_text_check_nolocation(const char *dir, struct errbuf *errs,
    struct errbuf *warns)
{
	return store_text_check_tables(dir, 0, errs, warns);
}

/*
 * Writing.
 */

/* Rows of `version` kept in memory while one of them is changed. */
struct store_vrows {
	struct dbtext_field	*vr_fields;	/* nrows * ncols */
	size_t			 vr_nrows;
	size_t			 vr_next;
	unsigned		 vr_ncols;
	int			 vr_name;	/* column indexes */
	int			 vr_version;
	const char		*vr_table;
	int64_t			 vr_value;
	int			 vr_found;
};

static int
store_vrows_next(void *arg, struct dbtext_field *fields)
{
	struct store_vrows	*vr = arg;
	struct dbtext_field	*row;

	if (vr->vr_next < vr->vr_nrows) {
		row = &vr->vr_fields[vr->vr_next++ * vr->vr_ncols];
		memcpy(fields, row, vr->vr_ncols * sizeof(*fields));
		if (!fields[vr->vr_name].df_null &&
		    strcmp(fields[vr->vr_name].df_str, vr->vr_table) == 0) {
			fields[vr->vr_version].df_null = 0;
			fields[vr->vr_version].df_int = vr->vr_value;
		}
		return 1;
	}
	if (!vr->vr_found) {
		/* Append the missing row; other columns (5.6 id) NULL. */
		vr->vr_found = 1;
		fields[vr->vr_name].df_null = 0;
		fields[vr->vr_name].df_str = vr->vr_table;
		fields[vr->vr_name].df_len = strlen(vr->vr_table);
		fields[vr->vr_version].df_int = vr->vr_value;
		return 1;
	}
	return 0;
}

/*
 * Makes the row of table t in DIR/version say value, rewriting the file
 * only if needed.  A missing version file is created in the 3.0 form.
 */
int
store_version_set(const char *dir, int t, int value, struct errbuf *errs)
{
	static const struct dbtext_col	 vcols30[] = {
		{ "table_name", DBTEXT_STRING, 0, 0 },
		{ "table_version", DBTEXT_INT, 0, 0 },
	};
	struct store_vrows	 vr;
	struct store_versions	 sv;
	struct dbtext_file	*f = NULL;
	struct dbtext_field	*nf;
	const struct dbtext_field *v;
	const struct dbtext_col	*cols;
	struct errbuf		 warns = ERRBUF_INIT;
	struct stat		 st;
	size_t			 cap = 0;
	unsigned		 line, ncols;
	int			 r;

	memset(&vr, 0, sizeof(vr));
	vr.vr_table = store_table_names[t];
	vr.vr_value = value;
	memset(&sv, 0, sizeof(sv));
	if ((sv.sv_path = store_path(dir, "version")) == NULL) {
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	if (stat(sv.sv_path, &st) == -1 && errno == ENOENT) {
		vr.vr_ncols = 2;
		vr.vr_name = 0;
		vr.vr_version = 1;
		r = dbtext_write(sv.sv_path, vcols30, 2, store_vrows_next,
		    &vr, errs);
		store_versions_free(&sv);
		return r;
	}
	store_versions_free(&sv);
	r = store_versions_read(dir, &sv, errs, &warns);
	if (r != 0 || (sv.sv_found[t] && sv.sv_version[t] == value))
		goto out;
	if ((r = dbtext_open(sv.sv_path, &f, errs, &warns)) != 0)
		goto out;
	cols = dbtext_cols(f, &ncols);
	vr.vr_ncols = ncols;
	vr.vr_name = dbtext_col_index(f, "table_name");
	vr.vr_version = dbtext_col_index(f, "table_version");
	vr.vr_found = sv.sv_found[t];
	while (dbtext_next(f, &v, &line) == 1) {
		if (vr.vr_nrows == cap) {
			cap = cap ? cap * 2 : 64;
			nf = reallocarray(vr.vr_fields, cap * ncols,
			    sizeof(*nf));
			if (nf == NULL) {
				r = -ENOMEM;
				errbuf_add(errs, sv.sv_path, 0,
				    "out of memory");
				goto out;
			}
			vr.vr_fields = nf;
		}
		memcpy(&vr.vr_fields[vr.vr_nrows++ * ncols], v,
		    ncols * sizeof(*v));
	}
	r = dbtext_write(sv.sv_path, cols, ncols, store_vrows_next, &vr, errs);
 out:
	errbuf_free(&warns);
	free(vr.vr_fields);
	dbtext_close(f);
	store_versions_free(&sv);
	return r;
}

static const struct dbtext_col store_location_cols30[] = {
	{ "id", DBTEXT_INT, 0, 1 },
	{ "username", DBTEXT_STRING, 0, 0 },
	{ "domain", DBTEXT_STRING, 1, 0 },
	{ "contact", DBTEXT_STRING, 0, 0 },
	{ "received", DBTEXT_STRING, 1, 0 },
	{ "path", DBTEXT_STRING, 1, 0 },
	{ "expires", DBTEXT_INT, 0, 0 },
	{ "q", DBTEXT_DOUBLE, 0, 0 },
	{ "callid", DBTEXT_STRING, 0, 0 },
	{ "cseq", DBTEXT_INT, 0, 0 },
	{ "last_modified", DBTEXT_INT, 0, 0 },
	{ "flags", DBTEXT_INT, 0, 0 },
	{ "cflags", DBTEXT_INT, 0, 0 },
	{ "user_agent", DBTEXT_STRING, 0, 0 },
	{ "socket", DBTEXT_STRING, 1, 0 },
	{ "methods", DBTEXT_INT, 1, 0 },
};

struct store_wloc {
	store_location_next_fn	*wl_next;
	void			*wl_arg;
};

static void
store_put_str(struct dbtext_field *v, const struct store_str *s)
{
	v->df_null = s->ss_ptr == NULL;
	v->df_str = s->ss_ptr;
	v->df_len = s->ss_len;
}

static void
store_put_int(struct dbtext_field *v, int64_t x)
{
	v->df_null = 0;
	v->df_int = x;
}

static int
store_wloc_next(void *arg, struct dbtext_field *v)
{
	struct store_wloc	*wl = arg;
	struct store_location	 sl;
	int			 r;

	memset(&sl, 0, sizeof(sl));
	if ((r = wl->wl_next(wl->wl_arg, &sl)) <= 0)
		return r;
	v[0].df_null = 1;			/* id: 1..n */
	store_put_str(&v[1], &sl.sl_username);
	store_put_str(&v[2], &sl.sl_domain);
	store_put_str(&v[3], &sl.sl_contact);
	store_put_str(&v[4], &sl.sl_received);
	store_put_str(&v[5], &sl.sl_path);
	store_put_int(&v[6], (int64_t)sl.sl_expires);
	v[7].df_null = 0;
	v[7].df_double = sl.sl_q;
	store_put_str(&v[8], &sl.sl_callid);
	store_put_int(&v[9], sl.sl_cseq);
	store_put_int(&v[10], (int64_t)sl.sl_last_modified);
	/* Signed, as Kamailio 3.0 writes them. */
	store_put_int(&v[11], (int32_t)sl.sl_flags);
	store_put_int(&v[12], (int32_t)sl.sl_cflags);
	store_put_str(&v[13], &sl.sl_user_agent);
	store_put_str(&v[14], &sl.sl_socket);
	if (sl.sl_methods == STORE_METHODS_ALL)
		v[15].df_null = 1;
	else
		store_put_int(&v[15], (int32_t)sl.sl_methods);
	return 1;
}

int
store_text_write_location(const char *dir, store_location_next_fn *next,
    void *arg, struct errbuf *errs)
{
	struct store_wloc	 wl = { next, arg };
	char			*path;
	int			 r;

	if ((path = store_path(dir, "location")) == NULL) {
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	r = dbtext_write(path, store_location_cols30,
	    sizeof(store_location_cols30) / sizeof(store_location_cols30[0]),
	    store_wloc_next, &wl, errs);
	free(path);
	if (r != 0)
		return r;
	return store_version_set(dir, STORE_T_LOCATION,
	    STORE_VERSION_LOCATION_30, errs);
}

void
store_ha1(char out[33], const struct store_str *user,
    const struct store_str *realm, const struct store_str *password)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	EVP_MD_CTX		*ctx;

	out[0] = '\0';
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, user->ss_ptr, user->ss_len) == 1 &&
	    EVP_DigestUpdate(ctx, ":", 1) == 1 &&
	    EVP_DigestUpdate(ctx, realm->ss_ptr, realm->ss_len) == 1 &&
	    EVP_DigestUpdate(ctx, ":", 1) == 1 &&
	    EVP_DigestUpdate(ctx, password->ss_ptr, password->ss_len) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 16) {
		for (i = 0; i < 16; i++) {
			out[2 * i] = hex[md[i] >> 4];
			out[2 * i + 1] = hex[md[i] & 0xf];
		}
		out[32] = '\0';
	}
	EVP_MD_CTX_free(ctx);
}

int
store_subscriber_hashes(const struct store_subscriber *row,
    struct store_subscriber *out, char ha1[33], char ha1b[33])
{
	struct store_str	 at;
	char			*email;

	*out = *row;
	if (out->su_ha1.ss_ptr == NULL || out->su_ha1.ss_len == 0) {
		store_ha1(ha1, &row->su_username, &row->su_domain,
		    &row->su_password);
		out->su_ha1.ss_ptr = ha1;
		out->su_ha1.ss_len = strlen(ha1);
	}
	if (out->su_ha1b.ss_ptr == NULL || out->su_ha1b.ss_len == 0) {
		if (asprintf(&email, "%.*s@%.*s",
		    (int)row->su_username.ss_len, row->su_username.ss_ptr,
		    (int)row->su_domain.ss_len, row->su_domain.ss_ptr) == -1)
			return -ENOMEM;
		at.ss_ptr = email;
		at.ss_len = strlen(email);
		store_ha1(ha1b, &at, &row->su_domain, &row->su_password);
		free(email);
		out->su_ha1b.ss_ptr = ha1b;
		out->su_ha1b.ss_len = strlen(ha1b);
	}
	return 0;
}

const struct dbtext_col store_subscriber_cols30[] = {
	{ "id", DBTEXT_INT, 0, 1 },
	{ "username", DBTEXT_STRING, 0, 0 },
	{ "domain", DBTEXT_STRING, 0, 0 },
	{ "password", DBTEXT_STRING, 0, 0 },
	{ "email_address", DBTEXT_STRING, 0, 0 },
	{ "ha1", DBTEXT_STRING, 0, 0 },
	{ "ha1b", DBTEXT_STRING, 0, 0 },
	{ "rpid", DBTEXT_STRING, 1, 0 },
};
const unsigned store_subscriber_ncols30 =
    sizeof(store_subscriber_cols30) / sizeof(store_subscriber_cols30[0]);

struct store_wsub {
	store_subscriber_next_fn *ws_next;
	void			*ws_arg;
	char			*ws_email;
	char			 ws_ha1[33];
	char			 ws_ha1b[33];
	const char		*ws_path;
	struct errbuf		*ws_errs;
};

static int
store_wsub_next(void *arg, struct dbtext_field *v)
{
	struct store_wsub	*ws = arg;
	struct store_subscriber	 su;
	struct store_str	 s;
	int			 r, n;

	memset(&su, 0, sizeof(su));
	if ((r = ws->ws_next(ws->ws_arg, &su)) <= 0)
		return r;
	if (su.su_username.ss_ptr == NULL || su.su_domain.ss_ptr == NULL ||
	    su.su_password.ss_ptr == NULL || su.su_username.ss_len == 0 ||
	    su.su_domain.ss_len == 0 || su.su_password.ss_len == 0) {
		errbuf_add(ws->ws_errs, ws->ws_path, 0, "subscriber without "
		    "username, domain or password");
		return -EINVAL;
	}
	free(ws->ws_email);
	n = asprintf(&ws->ws_email, "%.*s@%.*s", (int)su.su_username.ss_len,
	    su.su_username.ss_ptr, (int)su.su_domain.ss_len,
	    su.su_domain.ss_ptr);
	if (n == -1) {
		ws->ws_email = NULL;
		return -ENOMEM;
	}
	v[0].df_null = 1;
	store_put_str(&v[1], &su.su_username);
	store_put_str(&v[2], &su.su_domain);
	store_put_str(&v[3], &su.su_password);
	s.ss_ptr = ws->ws_email;
	s.ss_len = (size_t)n;
	store_put_str(&v[4], &s);
	if (su.su_ha1.ss_ptr == NULL || su.su_ha1.ss_len == 0) {
		store_ha1(ws->ws_ha1, &su.su_username, &su.su_domain,
		    &su.su_password);
		su.su_ha1.ss_ptr = ws->ws_ha1;
		su.su_ha1.ss_len = strlen(ws->ws_ha1);
	}
	if (su.su_ha1b.ss_ptr == NULL || su.su_ha1b.ss_len == 0) {
		/* user@domain is exactly the email address built above. */
		store_ha1(ws->ws_ha1b, &s, &su.su_domain, &su.su_password);
		su.su_ha1b.ss_ptr = ws->ws_ha1b;
		su.su_ha1b.ss_len = strlen(ws->ws_ha1b);
	}
	store_put_str(&v[5], &su.su_ha1);
	store_put_str(&v[6], &su.su_ha1b);
	v[7].df_null = 1;
	return 1;
}

int
store_text_write_subscribers(const char *dir, store_subscriber_next_fn *next,
    void *arg, struct errbuf *errs)
{
	struct store_wsub	 ws;
	char			*path;
	int			 r;

	if ((path = store_path(dir, "subscriber")) == NULL) {
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	memset(&ws, 0, sizeof(ws));
	ws.ws_next = next;
	ws.ws_arg = arg;
	ws.ws_path = path;
	ws.ws_errs = errs;
	r = dbtext_write(path, store_subscriber_cols30,
	    sizeof(store_subscriber_cols30) /
	    sizeof(store_subscriber_cols30[0]), store_wsub_next, &ws, errs);
	free(ws.ws_email);
	free(path);
	if (r != 0)
		return r;
	return store_version_set(dir, STORE_T_SUBSCRIBER,
	    STORE_VERSION_SUBSCRIBER_30, errs);
}
