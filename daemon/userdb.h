/*
 * userdb: who may use sipd. The `subscriber` table (digest users) and
 * the `trusted` table (sources never challenged, Kamailio permissions'
 * allow_trusted), kept in shm (shm/usertab, shm/trustab) so that a
 * reload or an MI edit by the master reaches every worker at its next
 * request, with no worker restarted.
 *
 * Lookups are for the hot path: a subscriber is one hash probe and a
 * copy, trusted patterns are compiled once per process and table
 * generation, and nothing is allocated or logged per request.
 * Loading and editing are the master's (userdb_edit.c); a broken table
 * never replaces a good one.
 */
#ifndef SIPD_USERDB_H
#define SIPD_USERDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "conf.h"
#include "errbuf.h"
#include "sip_uri.h"
#include "store.h"
#include "trustab.h"
#include "usertab.h"

/* Longest From URI a trusted from_pattern is matched against. */
#define USERDB_FROM_MAX		1024

/* The storage c's db_url names, for store.h's calls. */
void	userdb_store_db(const struct conf *c, struct store_db *ret);

/* Bytes of shm the two tables need (add to the master's sizing). */
size_t	userdb_shm_size(size_t acc, const struct conf *c);
/* Master, before fork, in sizing order: carves both (empty). 0/-errno. */
int	userdb_create(const struct conf *c);
/*
 * In a process that has no shm (decider unit tests): both tables in
 * the process's own memory. 0 or -ENOMEM.
 */
int	userdb_create_private(const struct conf *c);

/*
 * Master: loads `subscriber` and `trusted` from the storage of c,
 * checks every row (FILE:LINE errors; too long, a bad pattern, more
 * users than auth.max_subscribers) and, only when both are good,
 * publishes them to every process. 0, or -1 with the reasons in errs
 * (the tables in use stay); notes that do not stop sipd (a username
 * listed twice, a password no digest can use) go to warns.
 */
int	userdb_load(const struct conf *c, struct errbuf *errs,
	    struct errbuf *warns);
/* The same checks, publishing nothing (sipd -c). */
int	userdb_check(const struct conf *c, struct errbuf *errs,
	    struct errbuf *warns);
/* subscriber alone / trusted alone (subscriber.reload, trustedReload). */
int	userdb_load_subscribers(const struct conf *c, struct errbuf *errs,
	    struct errbuf *warns);
int	userdb_load_trusted(const struct conf *c, struct errbuf *errs,
	    struct errbuf *warns);
/* Process-local state (compiled patterns); the shm tables stay. */
void	userdb_free(void);

size_t	userdb_subscriber_count(void);
size_t	userdb_trusted_count(void);

/*
 * Whether user (bytes, may hold NUL) is a subscriber username. The
 * domain is not looked at (usrloc use_domain = 0).
 */
bool	userdb_subscriber_exists(const char *user, size_t len);

/*
 * auth_lookup_fn for auth_verify(): the password (auth.calculate_ha1 =
 * yes) or the ha1/ha1b columns (no) of user; realm and arg are not
 * used. A subscriber whose password cannot be used (NULL, holds a NUL,
 * too long) is AUTH_LOOKUP_NOTFOUND, so no one logs in as them.
 */
int	userdb_auth_lookup(void *arg, struct sip_str user,
	    struct sip_str realm, struct auth_secret *ret);

/*
 * Kamailio's allow_trusted(): true when a `trusted` row has src_ip
 * equal to src_ip (text, as inet_ntop() writes it), proto any or
 * proto, and no from_pattern or one that matches from_uri (the From
 * URI alone, no display name or tag). Rows are tried in table order;
 * rows with proto none never match. A From URI longer than
 * USERDB_FROM_MAX matches only rows without a pattern.
 */
bool	userdb_trusted_match(const char *src_ip, enum store_proto proto,
	    struct sip_str from_uri);

/* For MI (subscriber.show/list, trustedDump). 0, -ENOENT or -EAGAIN. */
int	userdb_subscriber_get(const char *user, size_t len,
	    struct usertab_user *ret);
int	userdb_subscriber_at(unsigned i, struct usertab_user *ret);
/* A copy of the trusted rows (cap rows at most); *ret_n. 0 or -EAGAIN. */
int	userdb_trusted_rows(struct trustab_row *rows, size_t cap,
	    size_t *ret_n);

/*
 * Master, MI edits (userdb_edit.c): checked against the table in use,
 * persisted to storage, then published. 0, or -1 with the reason in
 * errs and *ret_code a JSON-RPC-ish code (400 bad argument, 404 not
 * found, 409 exists, 500 storage failed, 503 table full).
 */
int	userdb_subscriber_add(const struct conf *c, const char *user,
	    const char *password, const char *domain, struct errbuf *errs,
	    int *ret_code);
int	userdb_subscriber_passwd(const struct conf *c, const char *user,
	    const char *password, struct errbuf *errs, int *ret_code);
int	userdb_subscriber_rm(const struct conf *c, const char *user,
	    const char *domain, struct errbuf *errs, int *ret_code);
int	userdb_trusted_add(const struct conf *c, const char *src_ip,
	    const char *proto, const char *pattern, const char *tag,
	    int64_t *ret_id, struct errbuf *errs, int *ret_code);
int	userdb_trusted_rm(const struct conf *c, int64_t id,
	    struct errbuf *errs, int *ret_code);

/* Between userdb.c and userdb_edit.c only. */
struct usertab	*userdb_usertab(void);
int	userdb_user_from_row(const struct store_subscriber *row,
	    struct usertab_user *ret);
uint32_t userdb_hash(const char *user, size_t len);

#endif
