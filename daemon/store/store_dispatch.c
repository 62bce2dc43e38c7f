/*
 * store_dispatch.c: the backend-neutral face of store/ (see store.h).
 * Each call goes to the DB_TEXT or the SQLite implementation of the same
 * operation; nothing else happens here, so the two stay swappable.
 */
#include <errno.h>

#include "store.h"
#include "store_backend.h"

#define STORE_PICK(db, text_call, sqlite_call) \
	((db)->sd_kind == STORE_KIND_SQLITE ? (sqlite_call) : (text_call))

int
store_load_subscribers(const struct store_db *db,
    struct store_subscribers **ret_table, struct errbuf *errs,
    struct errbuf *warns)
{
	return STORE_PICK(db,
	    store_text_load_subscribers(db->sd_path, ret_table, errs, warns),
	    store_sqlite_load_subscribers(db->sd_path, ret_table, errs, warns));
}

int
store_load_trusted(const struct store_db *db,
    struct store_trusted_table **ret_table, struct errbuf *errs,
    struct errbuf *warns)
{
	return STORE_PICK(db,
	    store_text_load_trusted(db->sd_path, ret_table, errs, warns),
	    store_sqlite_load_trusted(db->sd_path, ret_table, errs, warns));
}

int
store_load_location(const struct store_db *db, store_location_fn *fn,
    void *arg, size_t *ret_count, struct errbuf *errs, struct errbuf *warns)
{
	return STORE_PICK(db,
	    store_text_load_location(db->sd_path, fn, arg, ret_count, errs,
	    warns),
	    store_sqlite_load_location(db->sd_path, fn, arg, ret_count, errs,
	    warns));
}

int
store_check(const struct store_db *db, struct errbuf *errs,
    struct errbuf *warns)
{
	return STORE_PICK(db,
	    store_text_check(db->sd_path, errs, warns),
	    store_sqlite_check(db->sd_path, errs, warns));
}

int
store_check_start(const struct store_db *db, struct errbuf *errs,
    struct errbuf *warns)
{
	return STORE_PICK(db,
	    store_text_check_nolocation(db->sd_path, errs, warns),
	    store_sqlite_check_nolocation(db->sd_path, errs, warns));
}

int
store_write_location(const struct store_db *db, store_location_next_fn *next,
    void *arg, struct errbuf *errs)
{
	return STORE_PICK(db,
	    store_text_write_location(db->sd_path, next, arg, errs),
	    store_sqlite_write_location(db->sd_path, next, arg, errs));
}

bool
store_can_update_location(const struct store_db *db)
{
	return db->sd_kind == STORE_KIND_SQLITE;
}

int
store_update_location(const struct store_db *db,
    store_location_group_fn *next, void *arg, struct errbuf *errs)
{
	if (db->sd_kind != STORE_KIND_SQLITE)
		return -ENOTSUP;
	return store_sqlite_update_location(db->sd_path, next, arg, errs);
}

int
store_subscriber_add(const struct store_db *db,
    const struct store_subscriber *row, struct errbuf *errs)
{
	return STORE_PICK(db,
	    store_text_subscriber_add(db->sd_path, row, errs),
	    store_sqlite_subscriber_add(db->sd_path, row, errs));
}

int
store_subscriber_passwd(const struct store_db *db,
    const struct store_str *username, const struct store_str *password,
    struct errbuf *errs)
{
	return STORE_PICK(db,
	    store_text_subscriber_passwd(db->sd_path, username, password, errs),
	    store_sqlite_subscriber_passwd(db->sd_path, username, password,
	    errs));
}

int
store_subscriber_rm(const struct store_db *db,
    const struct store_str *username, const struct store_str *domain,
    struct errbuf *errs)
{
	return STORE_PICK(db,
	    store_text_subscriber_rm(db->sd_path, username, domain, errs),
	    store_sqlite_subscriber_rm(db->sd_path, username, domain, errs));
}

int
store_trusted_add(const struct store_db *db, const struct store_trusted *row,
    int64_t *ret_id, struct errbuf *errs)
{
	return STORE_PICK(db,
	    store_text_trusted_add(db->sd_path, row, ret_id, errs),
	    store_sqlite_trusted_add(db->sd_path, row, ret_id, errs));
}

int
store_trusted_rm(const struct store_db *db, int64_t id, struct errbuf *errs)
{
	return STORE_PICK(db,
	    store_text_trusted_rm(db->sd_path, id, errs),
	    store_sqlite_trusted_rm(db->sd_path, id, errs));
}

void
store_release(void)
{
	store_sqlite_release();
}

const char *
store_sqlite_lib(void)
{
	return store_sqlite_version();
}
