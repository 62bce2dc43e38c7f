/*
 * store_sqlite_none.c: the SQLite backend of a build without
 * libsqlite3 (meson -Dsqlite=disabled).  Every call says so.
 */
#include <errno.h>

#include "errbuf.h"
#include "store_backend.h"
#include "store_convert.h"

static int
store_sqlite_absent(const char *file, struct errbuf *errs)
{
	errbuf_add(errs, file, 0, "sqlite:// storage: this sipd was built "
	    "without SQLite (meson -Dsqlite=enabled)");
	return -ENOTSUP;
}

int
store_sqlite_load_subscribers(const char *file,
    struct store_subscribers **ret_table, struct errbuf *errs,
    struct errbuf *warns)
{
	(void)ret_table;
	(void)warns;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_load_trusted(const char *file,
    struct store_trusted_table **ret_table, struct errbuf *errs,
    struct errbuf *warns)
{
	(void)ret_table;
	(void)warns;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_load_location(const char *file, store_location_fn *fn,
    void *arg, size_t *ret_count, struct errbuf *errs, struct errbuf *warns)
{
	(void)fn;
	(void)arg;
	(void)ret_count;
	(void)warns;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_check(const char *file, struct errbuf *errs,
    struct errbuf *warns)
{
	(void)warns;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_check_nolocation(const char *file, struct errbuf *errs,
    struct errbuf *warns)
{
	(void)warns;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_write_location(const char *file, store_location_next_fn *next,
    void *arg, struct errbuf *errs)
{
	(void)next;
	(void)arg;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_update_location(const char *file, store_location_group_fn *next,
    void *arg, struct errbuf *errs)
{
	(void)next;
	(void)arg;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_subscriber_add(const char *file,
    const struct store_subscriber *row, struct errbuf *errs)
{
	(void)row;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_subscriber_passwd(const char *file,
    const struct store_str *username, const struct store_str *password,
    struct errbuf *errs)
{
	(void)username;
	(void)password;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_subscriber_rm(const char *file,
    const struct store_str *username, const struct store_str *domain,
    struct errbuf *errs)
{
	(void)username;
	(void)domain;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_trusted_add(const char *file, const struct store_trusted *row,
    int64_t *ret_id, struct errbuf *errs)
{
	(void)row;
	(void)ret_id;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_trusted_rm(const char *file, int64_t id, struct errbuf *errs)
{
	(void)id;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_export(const char *file, struct store_version_row **ret_rows,
    size_t *ret_count, struct store_subscribers **ret_subs,
    struct store_trusted_table **ret_trusted, store_location_fn *fn,
    void *arg, struct errbuf *errs)
{
	(void)ret_rows;
	(void)ret_count;
	(void)ret_subs;
	(void)ret_trusted;
	(void)fn;
	(void)arg;
	return store_sqlite_absent(file, errs);
}

int
store_sqlite_import(const char *file, const struct store_import *im,
    struct errbuf *errs)
{
	(void)im;
	return store_sqlite_absent(file, errs);
}

void
store_sqlite_release(void)
{
}

const char *
store_sqlite_version(void)
{
	return NULL;
}
