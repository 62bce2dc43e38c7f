/*
 * The two implementations behind store.c, one function per operation
 * of store.h, each taking the path of its db_url (DB_TEXT folder or
 * SQLite file).  Only store/ includes this.
 */
#ifndef SIPD_STORE_BACKEND_H
#define SIPD_STORE_BACKEND_H

#include "store.h"

/*
 * The trusted `proto` column, case-insensitive (any udp tcp tls sctp
 * none): 0, or -1 for anything else (store_text.c).  Its name, lower
 * case, for writing (store_text_write.c).
 */
int	store_proto_parse(const struct store_str *s, enum store_proto *ret);
const char *store_proto_name(enum store_proto proto);

/* DB_TEXT edits (store_text_edit.c); loads etc. are in store.h. */
int	store_text_subscriber_add(const char *dir,
	    const struct store_subscriber *row, struct errbuf *errs);
int	store_text_subscriber_passwd(const char *dir,
	    const struct store_str *username, const struct store_str *password,
	    struct errbuf *errs);
int	store_text_subscriber_rm(const char *dir,
	    const struct store_str *username, const struct store_str *domain,
	    struct errbuf *errs);
int	store_text_trusted_add(const char *dir,
	    const struct store_trusted *row, int64_t *ret_id,
	    struct errbuf *errs);
int	store_text_trusted_rm(const char *dir, int64_t id,
	    struct errbuf *errs);

/* SQLite (store_sqlite.c): the same contracts as store.h's. */
int	store_sqlite_load_subscribers(const char *file,
	    struct store_subscribers **ret_table, struct errbuf *errs,
	    struct errbuf *warns);
int	store_sqlite_load_trusted(const char *file,
	    struct store_trusted_table **ret_table, struct errbuf *errs,
	    struct errbuf *warns);
int	store_sqlite_load_location(const char *file, store_location_fn *fn,
	    void *arg, size_t *ret_count, struct errbuf *errs,
	    struct errbuf *warns);
int	store_sqlite_check(const char *file, struct errbuf *errs,
	    struct errbuf *warns);
int	store_sqlite_check_nolocation(const char *file, struct errbuf *errs,
	    struct errbuf *warns);
int	store_sqlite_write_location(const char *file,
	    store_location_next_fn *next, void *arg, struct errbuf *errs);
int	store_sqlite_update_location(const char *file,
	    store_location_group_fn *next, void *arg, struct errbuf *errs);
int	store_sqlite_subscriber_add(const char *file,
	    const struct store_subscriber *row, struct errbuf *errs);
int	store_sqlite_subscriber_passwd(const char *file,
	    const struct store_str *username, const struct store_str *password,
	    struct errbuf *errs);
int	store_sqlite_subscriber_rm(const char *file,
	    const struct store_str *username, const struct store_str *domain,
	    struct errbuf *errs);
int	store_sqlite_trusted_add(const char *file,
	    const struct store_trusted *row, int64_t *ret_id,
	    struct errbuf *errs);
int	store_sqlite_trusted_rm(const char *file, int64_t id,
	    struct errbuf *errs);
void	store_sqlite_release(void);
const char *store_sqlite_version(void);

#endif
