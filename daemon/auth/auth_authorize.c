/*
 * auth_authorize: the digest policy both deciders use (registrar: 401
 * on REGISTER; route: 407 on the proxy's requests), so that a stale
 * nonce, a replay, an unknown user or a borrowed identity get the same
 * answer whichever way the request came. It only decides and counts;
 * the caller logs (auth is a non-logging layer) and sends.
 */
#include <errno.h>
#include <string.h>

#include "auth.h"
#include "stats.h"

static void
auth_decide(struct auth_decision *d, int code, const char *reason,
    const char *why, bool warn)
{
	d->ad_code = code;
	d->ad_reason = reason;
	d->ad_why = why;
	d->ad_warn = warn;
}

/* A 401/407 with a fresh challenge (stale=true when asked). */
static void
auth_challenge_reply(const struct auth_request *req, bool stale, char *chal,
    size_t cap, struct auth_decision *d)
{
	int	 n;

	n = auth_challenge(chal, cap, req->ar_kind, req->ar_realm, stale,
	    req->ar_now, req->ar_conf);
	if (n < 0) {
		d->ad_outcome = n;
		auth_decide(d, 500, "Server Internal Error",
		    "cannot make a challenge", true);
		return;
	}
	stats_inc(STATS_AUTH_CHALLENGES);
	d->ad_extra = chal;
	if (req->ar_kind == AUTH_PROXY)
		d->ad_reason = "Proxy Authentication Required";
	else
		d->ad_reason = "Unauthorized";
	d->ad_code = req->ar_kind == AUTH_PROXY ? 407 : 401;
}

void
auth_authorize(const struct auth_request *req, char *chal, size_t cap,
    struct auth_decision *ret)
{
	struct auth_result	 ar;
	int			 r;

	memset(ret, 0, sizeof(*ret));
	ret->ad_hdr = -1;
	memset(&ar, 0, sizeof(ar));
	r = auth_verify(req->ar_m, req->ar_kind, req->ar_realm,
	    req->ar_lookup, req->ar_lookup_arg, req->ar_now, req->ar_conf,
	    &ar);
	ret->ad_outcome = r;
	ret->ad_user = ar.ar_username;
	if (r == AUTH_REPLAY && req->ar_retransmission != NULL &&
	    req->ar_retransmission(req->ar_retransmission_arg))
		r = AUTH_OK;
	switch (r) {
	case AUTH_OK:
		break;
	case AUTH_NO_CREDENTIALS:
		auth_challenge_reply(req, false, chal, cap, ret);
		return;
	case AUTH_STALE:
		stats_inc(STATS_AUTH_FAILURES);
		stats_auth_failure(STATS_AF_STALE);
		ret->ad_why = "stale nonce";
		auth_challenge_reply(req, true, chal, cap, ret);
		return;
	case AUTH_INVALID:
		/* Same words for an unknown user: no user enumeration. */
		stats_inc(STATS_AUTH_FAILURES);
		stats_auth_failure(STATS_AF_INVALID);
		ret->ad_why = "wrong password or unknown user";
		ret->ad_warn = true;
		auth_challenge_reply(req, false, chal, cap, ret);
		return;
	case AUTH_REPLAY:
		stats_inc(STATS_AUTH_FAILURES);
		stats_auth_failure(STATS_AF_REPLAY);
		ret->ad_why = "replayed nonce count";
		ret->ad_warn = true;
		auth_challenge_reply(req, false, chal, cap, ret);
		return;
	case AUTH_BAD:
		stats_inc(STATS_AUTH_FAILURES);
		stats_auth_failure(STATS_AF_MALFORMED);
		auth_decide(ret, 400, "Bad Request - Malformed credentials",
		    "malformed credentials", false);
		return;
	default:
		stats_auth_failure(STATS_AF_ERROR);
		auth_decide(ret, 500, "Server Internal Error",
		    "digest check failed", true);
		return;
	}
	stats_inc(STATS_AUTH_SUCCESSES);
	ret->ad_user = ar.ar_user;
	if (ar.ar_user.len != req->ar_identity_len ||
	    memcmp(ar.ar_user.s, req->ar_identity, ar.ar_user.len) != 0) {
		stats_auth_failure(STATS_AF_IDENTITY);
		auth_decide(ret, 403, "Forbidden auth ID",
		    "may not use this identity", true);
		return;
	}
	ret->ad_hdr = ar.ar_hdr;
}
