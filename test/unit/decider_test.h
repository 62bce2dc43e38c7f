/*
 * decider_test.h: what the decider table tests (test_registrar.c,
 * test_route.c) share: real subscriber/trusted DB_TEXT files in a
 * temporary folder, one shm mapping with the auth replay table and a
 * location table, request texts with placeholders expanded (digest
 * credentials computed here from the RFC formulas, the nonce of the
 * last challenge, a stateless To tag), and small assertions.
 *
 * Rows are run in order and feed each other: the nonce of a 401/407
 * is the one the next rows' credentials use, a binding a row saved is
 * there for the next.
 */
#ifndef SIPD_DECIDER_TEST_H
#define SIPD_DECIDER_TEST_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "auth.h"
#include "conf.h"
#include "loctab.h"
#include "sip_msg.h"

#define DT_NOW		((time_t)1700000000)	/* the fake clock */
#define DT_REALM	"example.com"
#define DT_LONG_LEN	1100	/* ${LONG}: past USERDB_FROM_MAX */

/* The subscriber and trusted rows every decider test loads. */
extern const char	 dt_subscriber_rows[];
extern const char	 dt_trusted_rows[];

/* What placeholders expand to, carried from row to row. */
struct dt_vars {
	char		 dv_nonce[AUTH_NONCE_LEN + 1];	/* last challenge's */
	unsigned	 dv_nc;		/* last nc used with it */
	char		 dv_tag[64];	/* ${TAG} */
};

/* A request built from a row: CRLF line ends, parsed and checked. */
struct dt_msg {
	char		 dm_buf[16384];
	size_t		 dm_len;
	struct sip_msg	 dm_msg;
};

/*
 * conf_defaults() plus the folder of the tables; MD5, qop=auth, nonces
 * for 300 s, passwords in clear (auth.calculate_ha1 = yes).
 */
void	dt_conf(struct conf *c, const char *dir);

/* Writes version, subscriber and trusted into a new temporary folder. */
void	dt_tables_write(char *dir, size_t cap);
void	dt_tables_remove(const char *dir);

/*
 * One mapping with auth_init()'s replay table and a location table of
 * hash_size buckets and cap bindings; the old mapping is dropped.
 */
struct loctab *dt_shm_setup(const struct conf *c, unsigned hash_size,
	    unsigned cap);

/*
 * text ('\n' line ends) into a parsed request that sip_msg_check()
 * passes. Placeholders: ${AUTH} the credentials line of auth (NULL: no
 * line) as "user:password[:nc[:realm]]", for the method and R-URI of
 * the request line and the nonce in v, in header hdr ("Authorization"
 * or "Proxy-Authorization"); nc absent or "-" is the next one for the
 * nonce (v->dv_nc + 1); ${TAG} v->dv_tag; ${LONG} DT_LONG_LEN letters;
 * ${C17} 17 Contact values.
 */
void	dt_msg_make(struct dt_msg *t, const char *text, const char *auth,
	    const char *hdr, struct dt_vars *v);

/* "IP:PORT" or "[IPv6]:PORT" as a socket address. */
void	dt_sockaddr(const char *text, struct sockaddr_storage *ret);
/* A socket address as "IP:PORT" / "[IPv6]:PORT". */
void	dt_addr_str(const struct sockaddr *a, char *out, size_t cap);

/*
 * Keeps the nonce of the challenge in extra in v (nc starts over);
 * fails unless extra has one and it is not the nonce v held (a
 * challenge is always fresh).
 */
void	dt_take_nonce(const char *name, const char *extra, struct dt_vars *v);
/* want with ${NONCE} replaced by v's nonce, into out. */
void	dt_expand_nonce(char *out, size_t cap, const char *want,
	    const struct dt_vars *v);

/* Row checks; name is the row for the failure message. */
void	dt_assert_text(const char *name, const char *what, const char *got,
	    const char *want);
void	dt_assert_has(const char *name, const char *got,
	    const char *const *has, size_t nhas);
void	dt_assert_lacks(const char *name, const char *got,
	    const char *const *lacks, size_t nlacks);
/* Occurrences of needle in s. */
unsigned dt_count(const char *s, const char *needle);

#endif
