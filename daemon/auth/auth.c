/*
 * auth: digest challenges and the checking of Authorization / Proxy-
 * Authorization credentials (RFC 2617, RFC 7616, RFC 8760). auth_init()
 * runs in the master before fork; the rest in the UDP workers.
 *
 * The order of the checks in auth_verify() is the point of this file:
 * syntax (400), then the nonce's MAC (forged: plain challenge), then
 * the response, and only then the nonce's age and use. Checking the
 * response before the age means stale=true is only ever said to someone
 * who knows the password (a client retries a stale nonce silently, so
 * stale=true for a wrong password would hide the error), and checking
 * it before the replay table means a wrong guess cannot use up an nc.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "auth_int.h"
#include "runcfg.h"
#include "sip_lex.h"

size_t
auth_shm_size(const struct conf *c)
{
	(void)c;
	return auth_nonce_shm_size();
}

int
auth_init(const struct conf *c)
{
	return auth_nonce_init(c);
}

/* A realm we can put between quotes as it is. */
static bool
auth_realm_ok(struct sip_str realm)
{
	size_t	 i;

	if (realm.s == NULL || realm.len == 0)
		return false;
	for (i = 0; i < realm.len; i++) {
		unsigned char ch = (unsigned char)realm.s[i];

		if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\')
			return false;
	}
	return true;
}

int
auth_challenge(char *out, size_t cap, enum auth_kind kind,
    struct sip_str realm, bool stale, time_t now, const struct conf *c)
{
	static const struct {
		int		 al_bit;
		const char	*al_name;
	} algs[] = {
		{ AUTH_ALG_MD5, "MD5" },
		{ AUTH_ALG_SHA256, "SHA-256" },
	};
	char		 nonce[AUTH_NONCE_LEN + 1];
	size_t		 len = 0, i;
	struct runcfg_core	 core;
	int		 n, rc;

	if (cap > 0)
		out[0] = '\0';
	if (!auth_realm_ok(realm) || realm.len > INT32_MAX ||
	    (c->c_auth_algorithms & (AUTH_ALG_MD5 | AUTH_ALG_SHA256)) == 0)
		return -EINVAL;
	if ((rc = auth_nonce_make(now, runcfg_core(&core) == 0 ?
	    core.rc_nonce_expire : c->c_auth_nonce_expire, nonce)) < 0)
		return rc;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if ((c->c_auth_algorithms & algs[i].al_bit) == 0)
			continue;
		n = snprintf(out + len, cap - len,
		    "%s: Digest realm=\"%.*s\", nonce=\"%s\"%s, "
		    "algorithm=%s%s\r\n",
		    kind == AUTH_PROXY ? "Proxy-Authenticate" : "WWW-Authenticate",
		    (int)realm.len, realm.s, nonce,
		    c->c_auth_qop ? ", qop=\"auth\"" : "",
		    algs[i].al_name, stale ? ", stale=true" : "");
		if (n < 0 || (size_t)n >= cap - len) {
			if (cap > 0)
				out[0] = '\0';
			return -ENOSPC;
		}
		len += (size_t)n;
	}
	return (int)len;
}

static bool
auth_str_eq(struct sip_str a, struct sip_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.s, b.s, a.len) == 0);
}

/* nc-value = 8LHEX (RFC 7616 §3.4), above 0. */
static int
auth_parse_nc(struct sip_str s, uint32_t *ret)
{
	uint32_t	 v = 0;
	size_t		 i;
	char		 ch;

	if (s.len != 8)
		return -1;
	for (i = 0; i < s.len; i++) {
		ch = s.s[i];
		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (uint32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (uint32_t)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (uint32_t)(ch - 'A' + 10);
		else
			return -1;
	}
	if (v == 0)
		return -1;
	*ret = v;
	return 0;
}

/*
 * Finds the Digest credentials for realm. 1 and *ret_d, *ret_hdr; 0
 * none; AUTH_BAD when none matched but one could not be parsed (it may
 * have been ours).
 */
static int
auth_find(const struct sip_msg *m, enum auth_kind kind, struct sip_str realm,
    struct sip_digest *ret_d, int *ret_hdr)
{
	const struct sip_hdr	*h;
	struct sip_auth		 a;
	struct sip_digest	 d;
	int			 idx = -1, broken = 0, rc;
	int			 id = kind == AUTH_PROXY ?
				    SIP_HDR_PROXY_AUTHORIZATION :
				    SIP_HDR_AUTHORIZATION;

	while ((h = sip_msg_hdr_next(m, id, &idx)) != NULL) {
		if (sip_auth_parse(h->sh_value, &a) != 0) {
			broken = 1;
			continue;
		}
		rc = sip_digest_parse(&a, &d);
		if (rc == -EINVAL)
			continue;	/* another scheme */
		if (rc != 0) {
			broken = 1;
			continue;
		}
		if (!auth_str_eq(d.sd_realm, realm))
			continue;
		*ret_d = d;
		*ret_hdr = idx;
		return 1;
	}
	return broken ? AUTH_BAD : 0;
}

/* Checks what must be there before any hashing. */
static int
auth_check_fields(const struct sip_digest *d, int *ret_alg,
    uint32_t *ret_nc)
{
	uint32_t	 nc = 0;
	int		 alg;

	if (d->sd_username.len == 0 || d->sd_nonce.len == 0 ||
	    d->sd_uri.len == 0 || d->sd_response.len == 0)
		return AUTH_BAD;
	if (d->sd_algorithm.len == 0 ||
	    sip_lex_caseeq(d->sd_algorithm.s, d->sd_algorithm.len, "md5"))
		alg = AUTH_ALG_MD5;
	else if (sip_lex_caseeq(d->sd_algorithm.s, d->sd_algorithm.len,
	    "sha-256"))
		alg = AUTH_ALG_SHA256;
	else
		return AUTH_BAD;
	if (d->sd_qop.len > 0) {
		if (!sip_lex_caseeq(d->sd_qop.s, d->sd_qop.len, "auth") ||
		    d->sd_cnonce.len == 0 || auth_parse_nc(d->sd_nc, &nc) != 0)
			return AUTH_BAD;
	}
	*ret_alg = alg;
	*ret_nc = nc;
	return 0;
}

/* 32 hex digits, lowered into ret (AUTH_HA1_MAX bytes). */
static bool
auth_ha1_copy(const char *ha1, char *ret)
{
	size_t	 i;
	char	 ch;

	for (i = 0; i < AUTH_HA1_MAX - 1; i++) {
		ch = ha1[i];
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		else if (!((ch >= '0' && ch <= '9') ||
		    (ch >= 'a' && ch <= 'f')))
			return false;
		ret[i] = ch;
	}
	ret[i] = '\0';
	return ha1[i] == '\0';
}

/*
 * HA1 for the user from what the lookup gave. false when it cannot be
 * had (SHA-256 without a password, no usable ha1 column): *ret_ha1 is
 * then a stand-in so the caller does the same work as for a real one.
 */
static int
auth_get_ha1(int alg, const struct sip_digest *d, struct sip_str realm,
    const struct auth_secret *sec, bool found, const struct conf *c,
    char *ret_ha1, bool *ret_usable)
{
	struct sip_str	 pw;
	const char	*col;
	int		 rc;

	*ret_usable = found;
	if (c->c_auth_calculate_ha1) {
		pw.s = found ? sec->as_password : "";
		pw.len = strlen(pw.s);
		rc = auth_digest_ha1(alg, d->sd_username, realm, pw, ret_ha1);
		return rc < 0 ? rc : 0;
	}
	col = memchr(d->sd_username.s, '@', d->sd_username.len) != NULL ?
	    sec->as_ha1b : sec->as_ha1;
	if (!found || alg != AUTH_ALG_MD5 || !auth_ha1_copy(col, ret_ha1)) {
		memset(ret_ha1, '0', AUTH_HA1_MAX - 1);
		ret_ha1[AUTH_HA1_MAX - 1] = '\0';
		*ret_usable = false;
	}
	return 0;
}

/* Constant-time compare of the client's response with ours. */
static bool
auth_response_eq(struct sip_str response, const char *want, size_t wantlen)
{
	char	 got[AUTH_HEX_MAX];
	size_t	 i;

	if (response.len != wantlen || wantlen > sizeof(got))
		return false;
	/* RFC 7616 says lowercase; fold anyway, some UAs shout */
	for (i = 0; i < wantlen; i++) {
		got[i] = response.s[i];
		if (got[i] >= 'A' && got[i] <= 'Z')
			got[i] = (char)(got[i] - 'A' + 'a');
	}
	return CRYPTO_memcmp(got, want, wantlen) == 0;
}

int
auth_verify(const struct sip_msg *m, enum auth_kind kind, struct sip_str realm,
    auth_lookup_fn *lookup, void *arg, time_t now, const struct conf *c,
    struct auth_result *ret)
{
	struct sip_digest	 d;
	struct auth_secret	 sec;
	struct auth_nonce	 nonce;
	struct auth_result	 res;
	struct sip_str		 user;
	const char		*at;
	char			 ha1[AUTH_HEX_MAX + 1];
	char			 want[AUTH_HEX_MAX + 1];
	uint32_t		 nc;
	bool			 found, usable, right;
	int			 alg, hdr, rc;

	if (!m->sm_request)
		return -EINVAL;
	if ((rc = auth_find(m, kind, realm, &d, &hdr)) != 1)
		return rc == 0 ? AUTH_NO_CREDENTIALS : rc;
	if ((rc = auth_check_fields(&d, &alg, &nc)) != 0)
		return rc;

	user = d.sd_username;
	if ((at = memchr(user.s, '@', user.len)) != NULL)
		user.len = (size_t)(at - user.s);
	res.ar_username = d.sd_username;
	res.ar_user = user;
	res.ar_algorithm = alg;
	res.ar_hdr = hdr;
	*ret = res;

	/* Not offered, or not ours: no lookup, nothing to learn. */
	if ((c->c_auth_algorithms & alg) == 0 ||
	    auth_nonce_open(d.sd_nonce, &nonce) != 0)
		return AUTH_INVALID;

	memset(&sec, 0, sizeof(sec));
	rc = lookup(arg, user, realm, &sec);
	if (rc < 0) {
		OPENSSL_cleanse(&sec, sizeof(sec));
		return rc;
	}
	found = rc == 0;
	/*
	 * An unknown user costs the same hashing as a known one and ends
	 * the same way as a wrong password.
	 */
	rc = auth_get_ha1(alg, &d, realm, &sec, found, c, ha1, &usable);
	OPENSSL_cleanse(&sec, sizeof(sec));
	if (rc == 0)
		rc = auth_digest_response(alg, ha1, m->sm_method_str, &d,
		    want);
	OPENSSL_cleanse(ha1, sizeof(ha1));
	if (rc < 0)
		return rc;
	right = auth_response_eq(d.sd_response, want, (size_t)rc);
	if (!right || !usable)
		return AUTH_INVALID;
	return auth_nonce_use(&nonce, d.sd_qop.len > 0 ? nc : 0, now);
}

int
auth_realm(const struct sip_msg *m, const struct conf *c,
    struct sip_str *ret)
{
	struct sip_addr	 a;
	int		 rc;

	if (c->c_auth_realm[0] != '\0') {
		ret->s = c->c_auth_realm;
		ret->len = strlen(c->c_auth_realm);
		return 0;
	}
	if (m->sm_method == SIP_METHOD_REGISTER)
		rc = sip_msg_to(m, &a);
	else
		rc = sip_msg_from(m, &a);
	if (rc < 0)
		return rc;
	if (a.sa_puri.su_scheme == SIP_URI_OTHER ||
	    a.sa_puri.su_host.len == 0)
		return -EBADMSG;
	*ret = a.sa_puri.su_host;
	return 0;
}
