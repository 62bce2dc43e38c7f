/*
 * userdb: who may use sipd. The `subscriber` table (digest users) and
 * the `trusted` table (sources never challenged, Kamailio permissions'
 * allow_trusted), loaded by the master before it forks into its own
 * memory, which every worker inherits and only reads.
 *
 * Lookups are for the hot path: a subscriber is found through an open
 * addressing hash built at load, trusted patterns are compiled at load,
 * and nothing is allocated or logged per request.
 */
#ifndef SIPD_USERDB_H
#define SIPD_USERDB_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "conf.h"
#include "errbuf.h"
#include "sip_uri.h"
#include "store.h"

/* Longest From URI a trusted from_pattern is matched against. */
#define USERDB_FROM_MAX		1024

/*
 * Master, before fork: loads `subscriber` and `trusted` from the
 * storage of c and builds the lookup structures. Replaces what an
 * earlier call loaded only when everything loaded (a broken table
 * keeps the old ones). 0, or -1 with the reasons in errs; notes that
 * do not stop sipd (a username listed twice, a password no digest can
 * use) go to warns.
 */
int	userdb_load(const struct conf *c, struct errbuf *errs,
	    struct errbuf *warns);
/* The storage c's db_url names, for store.h's calls. */
void	userdb_store_db(const struct conf *c, struct store_db *ret);

/* Frees what userdb_load() made; safe to call when nothing is loaded. */
void	userdb_free(void);

/* Loaded rows, for log lines. */
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
 * URI alone, no display name or tag). Rows are tried in file order;
 * rows with proto none never match. A From URI longer than
 * USERDB_FROM_MAX matches only rows without a pattern.
 */
bool	userdb_trusted_match(const char *src_ip, enum store_proto proto,
	    struct sip_str from_uri);

#endif
