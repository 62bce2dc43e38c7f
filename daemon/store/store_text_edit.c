/*
 * store_text_edit.c: one-row edits of the DB_TEXT subscriber and
 * trusted tables, made for the MI commands (subscriber.add, trusted.rm,
 * ...) and persisted before they return.
 *
 * A new subscriber is appended (one write + fdatasync, ~0.2 ms) when
 * the file has the layout sipd writes: rewriting a 10,000-user file per
 * add would cost seconds over a batch of adds. Every other edit
 * rewrites the table through dbtext_write() (temp file, fsync, rename,
 * fsync of the folder), from the rows as the file holds them now, so a
 * row sipd could not load is never dropped by someone else's edit.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errbuf.h"
#include "store_backend.h"
#include "store_text_int.h"

/*
 * The next id to give an appended subscriber, valid while the file is
 * the one we last appended to (same inode, size and change time): any
 * other change to the file means scanning it again.
 */
struct store_next_id {
	dev_t		 ni_dev;
	ino_t		 ni_ino;
	off_t		 ni_size;
	struct timespec	 ni_ctime;
	int64_t		 ni_next;
	char		 ni_path[4096];
};

static struct store_next_id	 store_sub_next;

static bool
store_next_id_valid(const char *path, const struct stat *st)
{
	const struct store_next_id	*ni = &store_sub_next;

	return strcmp(ni->ni_path, path) == 0 && ni->ni_dev == st->st_dev &&
	    ni->ni_ino == st->st_ino && ni->ni_size == st->st_size &&
	    ni->ni_ctime.tv_sec == st->st_ctim.tv_sec &&
	    ni->ni_ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static void
store_next_id_note(const char *path, int64_t next)
{
	struct store_next_id	*ni = &store_sub_next;
	struct stat		 st;

	if (stat(path, &st) == -1 || strlen(path) >= sizeof(ni->ni_path)) {
		ni->ni_path[0] = '\0';
		return;
	}
	ni->ni_dev = st.st_dev;
	ni->ni_ino = st.st_ino;
	ni->ni_size = st.st_size;
	ni->ni_ctime = st.st_ctim;
	ni->ni_next = next;
	memcpy(ni->ni_path, path, strlen(path) + 1);
}

/* Highest id in the subscriber file + 1 (scans it unless cached). */
static int
store_sub_next_id(const char *path, int64_t *ret, struct errbuf *errs)
{
	const struct dbtext_field	*v;
	struct dbtext_file		*f;
	struct errbuf			 warns = ERRBUF_INIT;
	struct stat			 st;
	unsigned			 line;
	int64_t				 next = 1;
	int				 col, r;

	if (stat(path, &st) == 0 && store_next_id_valid(path, &st)) {
		*ret = store_sub_next.ni_next;
		return 0;
	}
	r = dbtext_open(path, &f, errs, &warns);
	errbuf_free(&warns);
	if (r != 0)
		return r;
	if ((col = dbtext_col_index(f, "id")) >= 0)
		while (dbtext_next(f, &v, &line) == 1)
			if (!v[col].df_null && v[col].df_int >= next)
				next = v[col].df_int + 1;
	dbtext_close(f);
	*ret = next;
	return 0;
}

/* The subscriber rows to write: the file's, with one edit applied. */
struct store_sub_edit {
	const struct store_subscribers	*se_table;
	size_t				 se_next;
	const struct store_str		*se_user;
	const struct store_str		*se_domain;	/* rm: NULL = any */
	const struct store_str		*se_password;	/* passwd; NULL = rm */
	const struct store_subscriber	*se_add;	/* appended last */
	bool				 se_added;
	size_t				 se_hits;
};

static bool
store_str_eq(const struct store_str *a, const struct store_str *b)
{
	return a->ss_ptr != NULL && b->ss_ptr != NULL &&
	    a->ss_len == b->ss_len && memcmp(a->ss_ptr, b->ss_ptr,
	    a->ss_len) == 0;
}

static int
store_sub_edit_next(void *arg, struct store_subscriber *ret)
{
	struct store_sub_edit		*se = arg;
	const struct store_subscriber	*row;

	while (se->se_next < se->se_table->ssb_count) {
		row = &se->se_table->ssb_rows[se->se_next++];
		if (se->se_user == NULL ||
		    !store_str_eq(&row->su_username, se->se_user) ||
		    (se->se_domain != NULL &&
		    !store_str_eq(&row->su_domain, se->se_domain))) {
			*ret = *row;
			return 1;
		}
		se->se_hits++;
		if (se->se_password == NULL)
			continue;	/* removed */
		*ret = *row;
		ret->su_password = *se->se_password;
		/* Computed again from the new password. */
		memset(&ret->su_ha1, 0, sizeof(ret->su_ha1));
		memset(&ret->su_ha1b, 0, sizeof(ret->su_ha1b));
		return 1;
	}
	if (se->se_add != NULL && !se->se_added) {
		se->se_added = true;
		*ret = *se->se_add;
		return 1;
	}
	return 0;
}

/* Rewrites DIR/subscriber from its own rows with se's edit. */
static int
store_sub_rewrite(const char *dir, struct store_sub_edit *se,
    struct errbuf *errs)
{
	struct store_subscribers	*tb = NULL;
	struct errbuf			 warns = ERRBUF_INIT;
	int				 r;

	r = store_text_load_subscribers(dir, &tb, errs, &warns);
	errbuf_free(&warns);
	if (r != 0)
		return r;
	se->se_table = tb;
	r = store_text_write_subscribers(dir, store_sub_edit_next, se, errs);
	store_subscribers_free(tb);
	if (r == 0 && se->se_add == NULL && se->se_hits == 0)
		return STORE_E_NOTFOUND;
	return r;
}

int
store_text_subscriber_add(const char *dir, const struct store_subscriber *row,
    struct errbuf *errs)
{
	struct store_sub_edit	 se;
	struct store_subscriber	 su;
	struct dbtext_field	 v[8];
	char			*path, *email = NULL, ha1[33], ha1b[33];
	int64_t			 id;
	int			 n, r;

	if ((path = store_path(dir, "subscriber")) == NULL) {
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	/* The 3.0 email_address column (NOT NULL) is user@domain. */
	n = asprintf(&email, "%.*s@%.*s", (int)row->su_username.ss_len,
	    row->su_username.ss_ptr, (int)row->su_domain.ss_len,
	    row->su_domain.ss_ptr);
	if (n == -1 || store_subscriber_hashes(row, &su, ha1, ha1b) != 0) {
		if (n != -1)
			free(email);
		free(path);
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	r = store_sub_next_id(path, &id, errs);
	if (r == 0) {
		memset(v, 0, sizeof(v));
		v[0].df_int = id;
		v[1].df_str = row->su_username.ss_ptr;
		v[1].df_len = row->su_username.ss_len;
		v[2].df_str = row->su_domain.ss_ptr;
		v[2].df_len = row->su_domain.ss_len;
		v[3].df_str = row->su_password.ss_ptr;
		v[3].df_len = row->su_password.ss_len;
		v[4].df_str = email;
		v[4].df_len = (size_t)n;
		v[5].df_str = su.su_ha1.ss_ptr;
		v[5].df_len = su.su_ha1.ss_len;
		v[6].df_str = su.su_ha1b.ss_ptr;
		v[6].df_len = su.su_ha1b.ss_len;
		v[7].df_null = 1;
		r = dbtext_append(path, store_subscriber_cols30,
		    store_subscriber_ncols30, v, (uint64_t)id, errs);
		if (r == 0)
			store_next_id_note(path, id + 1);
	}
	if (r == DBTEXT_E_LAYOUT) {
		/* Another layout (5.6): rewritten whole, in the 3.0 one. */
		memset(&se, 0, sizeof(se));
		se.se_add = row;
		r = store_sub_rewrite(dir, &se, errs);
	}
	free(email);
	free(path);
	return r;
}

int
store_text_subscriber_passwd(const char *dir, const struct store_str *username,
    const struct store_str *password, struct errbuf *errs)
{
	struct store_sub_edit	 se;

	memset(&se, 0, sizeof(se));
	se.se_user = username;
	se.se_password = password;
	return store_sub_rewrite(dir, &se, errs);
}

int
store_text_subscriber_rm(const char *dir, const struct store_str *username,
    const struct store_str *domain, struct errbuf *errs)
{
	struct store_sub_edit	 se;

	memset(&se, 0, sizeof(se));
	se.se_user = username;
	se.se_domain = domain;
	return store_sub_rewrite(dir, &se, errs);
}

/*
 * trusted: small (gateways), so every edit rewrites it, in the layout
 * the file has (3.0 or 5.6), so 5.6's ruri_pattern/priority survive.
 */
static const struct dbtext_col store_trusted_cols30[] = {
	{ "id", DBTEXT_INT, 0, 1 },
	{ "src_ip", DBTEXT_STRING, 0, 0 },
	{ "proto", DBTEXT_STRING, 0, 0 },
	{ "from_pattern", DBTEXT_STRING, 1, 0 },
	{ "tag", DBTEXT_STRING, 1, 0 },
};

static const struct dbtext_col store_trusted_cols56[] = {
	{ "id", DBTEXT_INT, 0, 1 },
	{ "src_ip", DBTEXT_STRING, 0, 0 },
	{ "proto", DBTEXT_STRING, 0, 0 },
	{ "from_pattern", DBTEXT_STRING, 1, 0 },
	{ "ruri_pattern", DBTEXT_STRING, 1, 0 },
	{ "tag", DBTEXT_STRING, 1, 0 },
	{ "priority", DBTEXT_INT, 0, 0 },
};

struct store_tr_edit {
	const struct store_trusted_table *te_table;	/* as it is */
	size_t				 te_next;
	int64_t				 te_rm_id;	/* 0: none */
	const struct store_trusted	*te_add;	/* appended last */
	int64_t				 te_add_id;
	bool				 te_added;
	bool				 te_v56;
	size_t				 te_hits;
};

static void
store_tr_put_str(struct dbtext_field *v, const struct store_str *s)
{
	v->df_null = s->ss_ptr == NULL;
	v->df_str = s->ss_ptr;
	v->df_len = s->ss_len;
}

static int
store_tr_edit_next(void *arg, struct dbtext_field *v)
{
	struct store_tr_edit		*te = arg;
	const struct store_trusted	*t = NULL;
	int64_t				 id = 0;
	const char			*proto;

	while (te->te_next < te->te_table->stt_count) {
		t = &te->te_table->stt_rows[te->te_next++];
		if (te->te_rm_id != 0 && t->tr_id == te->te_rm_id) {
			te->te_hits++;
			t = NULL;
			continue;
		}
		id = t->tr_id;
		break;
	}
	if (t == NULL) {
		if (te->te_add == NULL || te->te_added)
			return 0;
		te->te_added = true;
		t = te->te_add;
		id = te->te_add_id;
	}
	proto = store_proto_name(t->tr_proto);
	v[0].df_int = id;
	store_tr_put_str(&v[1], &t->tr_src_ip);
	v[2].df_str = proto;
	v[2].df_len = strlen(proto);
	store_tr_put_str(&v[3], &t->tr_from_pattern);
	if (te->te_v56) {
		store_tr_put_str(&v[4], &t->tr_ruri_pattern);
		store_tr_put_str(&v[5], &t->tr_tag);
		v[6].df_int = t->tr_priority;
	} else
		store_tr_put_str(&v[4], &t->tr_tag);
	return 1;
}

/* Writes table (with te's edit) in the 3.0 or the 5.6 layout. */
static int
store_tr_write(const char *dir, const struct store_trusted_table *tb,
    bool v56, struct store_tr_edit *te, struct errbuf *errs)
{
	char	*path;
	size_t	 k;
	int	 r;

	if ((path = store_path(dir, "trusted")) == NULL) {
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	te->te_table = tb;
	te->te_v56 = v56;
	te->te_add_id = 1;
	for (k = 0; k < tb->stt_count; k++)
		if (tb->stt_rows[k].tr_id >= te->te_add_id)
			te->te_add_id = tb->stt_rows[k].tr_id + 1;
	if (v56)
		r = dbtext_write(path, store_trusted_cols56,
		    sizeof(store_trusted_cols56) /
		    sizeof(store_trusted_cols56[0]), store_tr_edit_next, te,
		    errs);
	else
		r = dbtext_write(path, store_trusted_cols30,
		    sizeof(store_trusted_cols30) /
		    sizeof(store_trusted_cols30[0]), store_tr_edit_next, te,
		    errs);
	free(path);
	return r;
}

int
store_text_trusted_write(const char *dir,
    const struct store_trusted_table *table, bool v56, struct errbuf *errs)
{
	struct store_tr_edit	 te;

	memset(&te, 0, sizeof(te));
	return store_tr_write(dir, table, v56, &te, errs);
}

/* Rewrites DIR/trusted from its own rows, in its layout, with te's edit. */
static int
store_tr_rewrite(const char *dir, struct store_tr_edit *te,
    struct errbuf *errs)
{
	struct store_trusted_table	*tb = NULL;
	struct errbuf			 warns = ERRBUF_INIT;
	int				 r;

	r = store_text_load_trusted(dir, &tb, errs, &warns);
	errbuf_free(&warns);
	if (r != 0)
		return r;
	r = store_tr_write(dir, tb, tb->stt_version ==
	    STORE_VERSION_TRUSTED_56, te, errs);
	store_trusted_free(tb);
	if (r == 0 && te->te_rm_id != 0 && te->te_hits == 0)
		return STORE_E_NOTFOUND;
	return r;
}

int
store_text_trusted_add(const char *dir, const struct store_trusted *row,
    int64_t *ret_id, struct errbuf *errs)
{
	struct store_tr_edit	 te;
	int			 r;

	memset(&te, 0, sizeof(te));
	te.te_add = row;
	if ((r = store_tr_rewrite(dir, &te, errs)) == 0)
		*ret_id = te.te_add_id;
	return r;
}

int
store_text_trusted_rm(const char *dir, int64_t id, struct errbuf *errs)
{
	struct store_tr_edit	 te;

	if (id <= 0)
		return STORE_E_NOTFOUND;
	memset(&te, 0, sizeof(te));
	te.te_rm_id = id;
	return store_tr_rewrite(dir, &te, errs);
}
