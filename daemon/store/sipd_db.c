/*
 * sipd-db: copies sipd's tables between a DB_TEXT folder and a SQLite
 * file (SPEC.md section 4: "sipd can create a SQLite database from a
 * DB_TEXT folder").
 *
 *	sipd-db convert [-f] SRC DST
 *	(SRC, DST: text://DIR or sqlite://FILE)
 *
 * Copies subscriber, trusted, location and version.  The rows of
 * `version` for those tables get the version of the layout written:
 * DB_TEXT is written in the Kamailio 3.0 layout (as sipd writes it),
 * SQLite in Kamailio 5.6's schema; other rows of `version` are copied
 * as they are, and the `version` table's own row (5.6 only) is left to
 * the target.  A DB_TEXT folder written by sipd round-trips through
 * SQLite byte for byte (version, subscriber, trusted).
 *
 * A standalone program run by the operator; prints errors as
 * "FILE:LINE: message" (DB_TEXT) or "FILE: table id N: message"
 * (SQLite).  Exit: 0 ok, 1 table error, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "store.h"
#include "store_convert.h"

#define SIPD_DB_CHUNK	(1024 * 1024)

static void
usage(void)
{
	fprintf(stderr, "usage: sipd-db convert [-f] SRC DST\n"
	    "       SRC, DST: text://DIR or sqlite://FILE\n"
	    "       -f: replace tables DST already has\n");
	exit(2);
}

static int
parse_url(const char *url, struct store_db *ret)
{
	if (strncmp(url, "text://", 7) == 0 && url[7] != '\0') {
		ret->sd_kind = STORE_KIND_TEXT;
		ret->sd_path = url + 7;
		return 0;
	}
	if (strncmp(url, "sqlite://", 9) == 0 && url[9] != '\0') {
		ret->sd_kind = STORE_KIND_SQLITE;
		ret->sd_path = url + 9;
		return 0;
	}
	return -1;
}

/*
 * The source's location rows, kept until the target is written: row
 * structs in one array, their strings in chunks that never move.
 */
struct chunk {
	struct chunk	*c_next;
	size_t		 c_used;
	char		 c_data[];
};

struct locbuf {
	struct store_location	*lb_rows;
	size_t			 lb_count;
	size_t			 lb_cap;
	size_t			 lb_next;
	struct chunk		*lb_chunks;
};

static int
locbuf_str(struct locbuf *lb, struct store_str *s)
{
	struct chunk	*c = lb->lb_chunks;
	size_t		 need = s->ss_len + 1, size;
	char		*p;

	if (s->ss_ptr == NULL)
		return 0;
	if (c == NULL || SIPD_DB_CHUNK - c->c_used < need) {
		size = need > SIPD_DB_CHUNK ? need : SIPD_DB_CHUNK;
		if ((c = malloc(sizeof(*c) + size)) == NULL)
			return -ENOMEM;
		c->c_used = 0;
		c->c_next = lb->lb_chunks;
		lb->lb_chunks = c;
	}
	p = c->c_data + c->c_used;
	memcpy(p, s->ss_ptr, s->ss_len);
	p[s->ss_len] = '\0';
	c->c_used += need;
	s->ss_ptr = p;
	return 0;
}

static int
locbuf_add(void *arg, const struct store_location *loc)
{
	struct locbuf		*lb = arg;
	struct store_location	*row, *nr;
	struct store_str	*strs[10];
	size_t			 i;

	if (lb->lb_count == lb->lb_cap) {
		lb->lb_cap = lb->lb_cap ? lb->lb_cap * 2 : 1024;
		if ((nr = reallocarray(lb->lb_rows, lb->lb_cap,
		    sizeof(*nr))) == NULL)
			return -ENOMEM;
		lb->lb_rows = nr;
	}
	row = &lb->lb_rows[lb->lb_count];
	*row = *loc;
	strs[0] = &row->sl_username;
	strs[1] = &row->sl_domain;
	strs[2] = &row->sl_contact;
	strs[3] = &row->sl_received;
	strs[4] = &row->sl_path;
	strs[5] = &row->sl_callid;
	strs[6] = &row->sl_user_agent;
	strs[7] = &row->sl_socket;
	strs[8] = &row->sl_ruid;
	strs[9] = &row->sl_instance;
	for (i = 0; i < 10; i++)
		if (locbuf_str(lb, strs[i]) != 0)
			return -ENOMEM;
	lb->lb_count++;
	return 0;
}

static int
locbuf_next(void *arg, struct store_location *ret_row)
{
	struct locbuf	*lb = arg;

	if (lb->lb_next >= lb->lb_count)
		return 0;
	*ret_row = lb->lb_rows[lb->lb_next++];
	/* DB_TEXT cannot store them empty (NOT NULL in 3.0). */
	if (ret_row->sl_callid.ss_ptr == NULL)
		ret_row->sl_callid = (struct store_str){ "n/a", 3 };
	if (ret_row->sl_user_agent.ss_ptr == NULL)
		ret_row->sl_user_agent = (struct store_str){ "n/a", 3 };
	return 1;
}

static void
locbuf_free(struct locbuf *lb)
{
	struct chunk	*c;

	while ((c = lb->lb_chunks) != NULL) {
		lb->lb_chunks = c->c_next;
		free(c);
	}
	free(lb->lb_rows);
}

struct subiter {
	const struct store_subscribers	*si_table;
	size_t				 si_next;
};

static int
subiter_next(void *arg, struct store_subscriber *ret_row)
{
	struct subiter	*it = arg;

	if (it->si_next >= it->si_table->ssb_count)
		return 0;
	*ret_row = it->si_table->ssb_rows[it->si_next++];
	return 1;
}

/* Everything of the source; 0, STORE_E_BAD or -errno. */
struct tables {
	struct store_version_row	*t_versions;
	size_t				 t_nversions;
	struct store_subscribers	*t_subs;
	struct store_trusted_table	*t_trusted;
	struct locbuf			 t_loc;
};

static int
read_source(const struct store_db *db, struct tables *t, struct errbuf *errs,
    struct errbuf *warns)
{
	int	 r, bad = 0;

	if (db->sd_kind == STORE_KIND_SQLITE)
		return store_sqlite_export(db->sd_path, &t->t_versions,
		    &t->t_nversions, &t->t_subs, &t->t_trusted, locbuf_add,
		    &t->t_loc, errs);
	/* Every table, so that every error is listed at once. */
	if ((r = store_text_read_versions(db->sd_path, &t->t_versions,
	    &t->t_nversions, errs, warns)) != 0)
		bad = r;
	if ((r = store_text_load_subscribers(db->sd_path, &t->t_subs, errs,
	    warns)) != 0)
		bad = r;
	if ((r = store_text_load_trusted(db->sd_path, &t->t_trusted, errs,
	    warns)) != 0)
		bad = r;
	if ((r = store_text_load_location(db->sd_path, locbuf_add, &t->t_loc,
	    NULL, errs, warns)) != 0)
		bad = r;
	return bad;
}

/*
 * The version rows for the target: sipd's tables at the target's
 * layout, the `version` table's own row dropped (the target has its).
 */
static void
map_versions(struct tables *t, enum store_kind to)
{
	static const struct {
		const char	*name;
		int		 v30, v56;
	} map[] = {
		{ "subscriber", STORE_VERSION_SUBSCRIBER_30,
		    STORE_VERSION_SUBSCRIBER_56 },
		{ "trusted", STORE_VERSION_TRUSTED_30,
		    STORE_VERSION_TRUSTED_56 },
		{ "location", STORE_VERSION_LOCATION_30,
		    STORE_VERSION_LOCATION_56 },
	};
	size_t	 i, j, n = 0;

	for (i = 0; i < t->t_nversions; i++) {
		if (strcmp(t->t_versions[i].vr_table, "version") == 0) {
			free(t->t_versions[i].vr_table);
			continue;
		}
		for (j = 0; j < sizeof(map) / sizeof(map[0]); j++)
			if (strcmp(t->t_versions[i].vr_table,
			    map[j].name) == 0)
				t->t_versions[i].vr_version =
				    to == STORE_KIND_SQLITE ? map[j].v56 :
				    map[j].v30;
		t->t_versions[n++] = t->t_versions[i];
	}
	t->t_nversions = n;
}

static int
write_text(const char *dir, struct tables *t, int force, struct errbuf *errs)
{
	static const char *const names[] = {
		"version", "subscriber", "trusted", "location"
	};
	struct subiter	 it = { t->t_subs, 0 };
	struct stat	 st;
	char		 path[4096];
	size_t		 i;
	int		 r, bad = 0;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		errbuf_add(errs, dir, 0, "cannot create: %s", strerror(errno));
		return -errno;
	}
	for (i = 0; !force && i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0) {
			errbuf_add(errs, path, 0, "exists (-f replaces it)");
			bad = 1;
		}
	}
	if (bad)
		return STORE_E_BAD;
	/* version first: the other writers then find their rows right. */
	if ((r = store_text_write_versions(dir, t->t_versions,
	    t->t_nversions, errs)) != 0 ||
	    (r = store_text_write_subscribers(dir, subiter_next, &it,
	    errs)) != 0 ||
	    (r = store_text_write_trusted(dir, t->t_trusted, errs)) != 0 ||
	    (r = store_text_write_location(dir, locbuf_next, &t->t_loc,
	    errs)) != 0)
		return r;
	return 0;
}

static int
convert(const struct store_db *src, const struct store_db *dst, int force,
    struct errbuf *errs, struct errbuf *warns)
{
	struct store_import	 im;
	struct tables		 t;
	int			 r;

	memset(&t, 0, sizeof(t));
	if ((r = read_source(src, &t, errs, warns)) != 0)
		goto out;
	map_versions(&t, dst->sd_kind);
	if (dst->sd_kind == STORE_KIND_TEXT)
		r = write_text(dst->sd_path, &t, force, errs);
	else {
		memset(&im, 0, sizeof(im));
		im.si_versions = t.t_versions;
		im.si_nversions = t.t_nversions;
		im.si_subs = t.t_subs;
		im.si_trusted = t.t_trusted;
		im.si_loc_next = locbuf_next;
		im.si_loc_arg = &t.t_loc;
		im.si_force = force;
		r = store_sqlite_import(dst->sd_path, &im, errs);
	}
	if (r == 0)
		printf("%s -> %s: %zu subscriber, %zu trusted, %zu location "
		    "rows\n", src->sd_path, dst->sd_path,
		    t.t_subs ? t.t_subs->ssb_count : 0,
		    t.t_trusted ? t.t_trusted->stt_count : 0,
		    t.t_loc.lb_count);
 out:
	store_version_rows_free(t.t_versions, t.t_nversions);
	store_subscribers_free(t.t_subs);
	store_trusted_free(t.t_trusted);
	locbuf_free(&t.t_loc);
	return r;
}

static void
print_warnings(const struct errbuf *warns)
{
	const char	*p, *nl;
	int		 n;

	for (p = errbuf_text(warns); *p != '\0'; p += n + (nl != NULL)) {
		nl = strchr(p, '\n');
		n = nl ? (int)(nl - p) : (int)strlen(p);
		fprintf(stderr, "warning: %.*s\n", n, p);
	}
}

int
main(int argc, char *argv[])
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct store_db	 src, dst;
	int		 ch, force = 0, r;

	if (argc < 2 || strcmp(argv[1], "convert") != 0)
		usage();
	argc--;
	argv++;
	while ((ch = getopt(argc, argv, "f")) != -1) {
		switch (ch) {
		case 'f':
			force = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || parse_url(argv[0], &src) == -1 ||
	    parse_url(argv[1], &dst) == -1)
		usage();
	r = convert(&src, &dst, force, &errs, &warns);
	print_warnings(&warns);
	fputs(errbuf_text(&errs), stderr);
	if (r != 0 && errs.eb_count == 0)
		fprintf(stderr, "sipd-db: %s\n", r < 0 ? strerror(-r) :
		    "table error");
	errbuf_free(&errs);
	errbuf_free(&warns);
	return r == 0 ? 0 : 1;
}
