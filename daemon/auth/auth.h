/*
 * auth: SIP digest authentication (RFC 3261 §22, RFC 2617, RFC 7616,
 * RFC 8760) for the registrar and the proxy: challenges, stateless
 * nonces, and checking the credentials of a request against what a
 * lookup callback says about the user.
 *
 * auth_init() runs once in the master, after shm_create() and before
 * the workers are forked: it makes the nonce key and carves the replay
 * table, which every worker then shares. Everything else runs in the
 * workers. Nothing here logs; outcomes come back as codes, and no
 * password, HA1 or key ever leaves this module except through the
 * caller's own lookup callback.
 *
 * Nonces (56 lowercase hex characters) carry their expiry time, a
 * per-start epoch and an index, sealed with HMAC-SHA-256 under
 * auth.secret (or 32 random bytes per start). A nonce can be used as
 * long as it has not expired, with a strictly growing nc (qop=auth); a
 * response without qop (RFC 2069) uses the nonce up: the next use of
 * that nonce, with or without qop, is a replay. See auth_verify().
 */
#ifndef SIPD_AUTH_H
#define SIPD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "sip_msg.h"

/* Digest algorithms: the auth.algorithms bits of conf.h. */
#define AUTH_ALG_MD5		CONF_ALG_MD5
#define AUTH_ALG_SHA256		CONF_ALG_SHA256

#define AUTH_NONCE_LEN		56	/* hex, without the NUL */
#define AUTH_HEX_MAX		64	/* SHA-256 in hex, without the NUL */
#define AUTH_PASSWORD_MAX	256	/* with the NUL */
#define AUTH_HA1_MAX		33	/* MD5 hex and the NUL */

/*
 * Nonces the replay table can follow at once. A nonce whose slot was
 * taken by a newer one before it expired is answered as stale, so this
 * should exceed the challenges sent within auth.nonce_expire (131072
 * covers 436 challenges a second at the default 300 s). 512 KiB of shm.
 */
#define AUTH_REPLAY_SLOTS	131072
#define AUTH_SHM_ALIGN		64

/* auth_verify() outcomes; negative values are -errno. */
#define AUTH_OK			0
#define AUTH_NO_CREDENTIALS	1	/* challenge */
#define AUTH_INVALID		2	/* fresh challenge, stale=false */
#define AUTH_STALE		3	/* fresh challenge, stale=true */
#define AUTH_REPLAY		4	/* fresh challenge, stale=false */
#define AUTH_BAD		5	/* 400 Bad Request */

/* Which challenge: a UAS's 401 (REGISTER) or a proxy's 407. */
enum auth_kind {
	AUTH_WWW = 0,	/* Authorization, WWW-Authenticate, 401 */
	AUTH_PROXY = 1	/* Proxy-Authorization, Proxy-Authenticate, 407 */
};

/* Lookup outcome besides 0 (found) and -errno (storage failure). */
#define AUTH_LOOKUP_NOTFOUND	1

/*
 * What the subscriber table knows of a user, NUL-terminated, "" when
 * absent. With auth.calculate_ha1 = yes only as_password is read; with
 * no, as_ha1 (or as_ha1b when the digest username holds an '@'), which
 * are MD5 hashes: SHA-256 responses then always fail (there is no
 * SHA-256 HA1 column), only MD5 works. auth_verify() wipes the struct
 * after use.
 */
struct auth_secret {
	char	as_password[AUTH_PASSWORD_MAX];
	char	as_ha1[AUTH_HA1_MAX];
	char	as_ha1b[AUTH_HA1_MAX];
};

/*
 * Fills *ret for the subscriber user (the digest username up to its
 * first '@') in realm. Returns 0 found, AUTH_LOOKUP_NOTFOUND, or -errno
 * when the table cannot be read (auth_verify() passes it on: 500).
 */
typedef int auth_lookup_fn(void *arg, struct sip_str user,
    struct sip_str realm, struct auth_secret *ret);

/*
 * The credentials auth_verify() picked. Filled for AUTH_OK, and also
 * for AUTH_INVALID, AUTH_STALE and AUTH_REPLAY once a credentials
 * header for the realm was found (then it is the claimed user, for the
 * caller's log line only). Spans point into the message.
 */
struct auth_result {
	struct sip_str	ar_username;	/* digest username as sent */
	struct sip_str	ar_user;	/* up to the first '@': lookup key */
	int		ar_algorithm;	/* AUTH_ALG_* */
	int		ar_hdr;		/* header line index in sm_hdrs[] */
};

/*
 * Bytes of shm auth_init() carves, in one block aligned to
 * AUTH_SHM_ALIGN: shm_size_add(acc, auth_shm_size(c), AUTH_SHM_ALIGN).
 */
size_t	auth_shm_size(const struct conf *c);

/*
 * Master, once per start, after shm_create() and before fork: sets the
 * nonce key (auth.secret, or 32 random bytes), draws a new epoch and
 * carves the replay table. 0, -ENOMEM (shm too small), -EIO (no random
 * bytes), or shm_carve()'s errno. Calling it again (tests) starts over:
 * every nonce made before is refused as invalid or stale.
 */
int	auth_init(const struct conf *c);

/*
 * Writes into out (cap bytes, NUL-terminated) one WWW-Authenticate
 * (AUTH_WWW, for a 401) or Proxy-Authenticate (AUTH_PROXY, for a 407)
 * line per algorithm of auth.algorithms, MD5 first, all with the same
 * fresh nonce, each ending in CRLF:
 *   WWW-Authenticate: Digest realm="R", nonce="N", qop="auth",
 *   algorithm=MD5[, stale=true]
 * (one line; no qop parameter with auth.qop = none). Returns the length
 * written, -ENOSPC when it does not fit (out is then ""), -EINVAL for a
 * realm with quotes, backslashes or control characters, or no
 * algorithm, -ENXIO before auth_init().
 */
int	auth_challenge(char *out, size_t cap, enum auth_kind kind,
	    struct sip_str realm,
	    bool stale, time_t now, const struct conf *c);

/*
 * Checks the credentials of request m for realm: Authorization
 * (AUTH_WWW) or Proxy-Authorization (AUTH_PROXY) headers; the first Digest one
 * whose realm equals realm (octet for octet) is used, others are left
 * alone (they may be for another proxy).
 *
 *  AUTH_OK		right response, live nonce, nc never seen: ret set.
 *  AUTH_NO_CREDENTIALS	no Digest credentials for realm (none at all,
 *			another scheme, another realm).
 *  AUTH_BAD		the credentials for realm cannot be checked: no
 *			username, nonce, uri or response; algorithm other
 *			than MD5 or SHA-256 (the -sess ones included); qop
 *			other than auth; qop=auth without cnonce or without
 *			an nc of 8 hex digits above 0. Also when no header
 *			matched realm but one could not be parsed. -> 400.
 *  AUTH_INVALID	wrong response, unknown user (same work, same
 *			code: users cannot be told apart from passwords),
 *			a nonce that is not ours or was altered, an
 *			algorithm auth.algorithms does not offer, SHA-256
 *			with calculate_ha1 = no.
 *  AUTH_STALE		response right, but the nonce expired, comes from
 *			before a restart (other epoch), or fell out of the
 *			replay table; also an nc too high to track.
 *  AUTH_REPLAY		response right, but this nc (qop=auth) was not
 *			above the highest seen for the nonce, or the nonce
 *			was already used up by a no-qop response.
 *  -EINVAL		m is not a request; -errno from lookup or OpenSSL.
 *
 * The response is checked before the nonce's expiry and use, so only
 * the owner of the password can get stale=true or use up an nc. The
 * digest uri is not compared with the Request-URI (as Kamailio). now is
 * the worker's clock, passed in so tests can move it.
 */
int	auth_verify(const struct sip_msg *m, enum auth_kind kind,
	    struct sip_str realm,
	    auth_lookup_fn *lookup, void *arg, time_t now,
	    const struct conf *c, struct auth_result *ret);

/*
 * The realm to challenge and check m with: auth.realm when set, else
 * the host of the To URI for a REGISTER and of the From URI otherwise
 * (Kamailio's default). 0 and *ret (pointing into c or m), -ENOENT
 * when the header is missing, -EBADMSG when it or its URI is broken or
 * has no host (tel:).
 */
int	auth_realm(const struct sip_msg *m, const struct conf *c,
	    struct sip_str *ret);

/*
 * Digest arithmetic, exposed for tests and tools. Hashes are lowercase
 * hex in ret_hex (AUTH_HEX_MAX + 1 bytes); the return is its length
 * (32 MD5, 64 SHA-256), or -EINVAL for an unknown algorithm, -ENOMEM
 * or -EIO from OpenSSL.
 * HA1 = H(username ":" realm ":" password).
 */
int	auth_digest_ha1(int alg, struct sip_str username,
	    struct sip_str realm, struct sip_str password, char *ret_hex);
/*
 * With d->sd_qop empty (RFC 2069): H(HA1 ":" nonce ":" HA2), else
 * H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2), where HA2 =
 * H(method ":" uri), all values as sent.
 */
int	auth_digest_response(int alg, const char *ha1_hex,
	    struct sip_str method, const struct sip_digest *d, char *ret_hex);


/*
 * What auth_authorize() decided. ad_code 0: authorized (ad_hdr is the
 * credentials line used, for the caller to remove before forwarding).
 * Else the reply: 401/407 with the challenge lines in ad_extra (the
 * caller's buffer), 400 for unusable credentials, 403 when the
 * authenticated user is not the identity, 500. ad_why (static text,
 * NULL when there is nothing to report) and ad_user (the claimed or
 * authenticated user, pointing into the message) are for the caller's
 * log line, ad_warn whether that line is a warning.
 */
struct auth_decision {
	int		 ad_code;
	const char	*ad_reason;
	const char	*ad_extra;
	int		 ad_outcome;	/* auth_verify()'s, or -errno */
	int		 ad_hdr;
	const char	*ad_why;
	struct sip_str	 ad_user;
	bool		 ad_warn;
};

/* The request auth_authorize() decides on. */
struct auth_request {
	const struct sip_msg	*ar_m;
	enum auth_kind		 ar_kind;
	struct sip_str		 ar_realm;
	/* who the request claims to be: To user (REGISTER), From user */
	const char		*ar_identity;
	size_t			 ar_identity_len;
	auth_lookup_fn		*ar_lookup;
	void			*ar_lookup_arg;
	/*
	 * Optional: asked when the credentials are right but their nc was
	 * used: true when the request is a retransmission of the one that
	 * used them (then it is authorized again), not a replay.
	 */
	bool			(*ar_retransmission)(void *arg);
	void			*ar_retransmission_arg;
	time_t			 ar_now;
	const struct conf	*ar_conf;
};

/*
 * The one digest policy for 401 and 407 (SPEC §5): no credentials for
 * the realm -> challenge; wrong password and unknown user alike ->
 * fresh challenge (nobody can tell users from passwords); expired nonce
 * with a right response -> challenge with stale=true; a used nc ->
 * fresh challenge (a replay); unusable credentials -> 400; right
 * credentials of another user than the identity (Kamailio's "$au !=
 * $tU" / "$au != $fU", byte for byte) -> 403 "Forbidden auth ID".
 * Counts the auth statistics; logs nothing. chal (cap bytes) receives
 * the challenge lines. Always fills *ret.
 */
void	auth_authorize(const struct auth_request *req, char *chal, size_t cap,
	    struct auth_decision *ret);

#endif
