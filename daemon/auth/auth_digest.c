/*
 * auth_digest: the hash arithmetic of HTTP Digest (RFC 2617 §3.2.2,
 * RFC 7616 §3.4.1) with OpenSSL EVP, MD5 or SHA-256. Runs in the UDP
 * workers (and in tests). Values are hashed as sent, quoted-pairs
 * included, because that is what the client hashed.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "auth_int.h"

/*
 * Digests fetched once per process: EVP_md5() and friends make OpenSSL 3
 * look the implementation up again on every EVP_DigestInit_ex().
 */
static EVP_MD		*auth_digest_mds[2];
static EVP_MD_CTX	*auth_digest_ctx;

static const EVP_MD *
auth_digest_md(int alg)
{
	int		 i;
	const char	*name;

	switch (alg) {
	case AUTH_ALG_MD5:
		i = 0;
		name = "MD5";
		break;
	case AUTH_ALG_SHA256:
		i = 1;
		name = "SHA2-256";
		break;
	default:
		return NULL;
	}
	if (auth_digest_mds[i] == NULL)
		auth_digest_mds[i] = EVP_MD_fetch(NULL, name, NULL);
	return auth_digest_mds[i];
}

void
auth_hex(const unsigned char *p, size_t n, char *ret_hex)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		ret_hex[2 * i] = digits[p[i] >> 4];
		ret_hex[2 * i + 1] = digits[p[i] & 0xf];
	}
	ret_hex[2 * n] = '\0';
}

/*
 * H(parts[0] ":" parts[1] ":" ...) as lowercase hex. One context per
 * process, re-initialised per hash: a request needs three of them.
 */
static int
auth_digest_hash(int alg, const struct sip_str *parts, size_t nparts,
    char *ret_hex)
{
	const EVP_MD	*md;
	EVP_MD_CTX	*ctx;
	unsigned char	 out[EVP_MAX_MD_SIZE];
	unsigned int	 outlen = 0;
	size_t		 i;
	int		 ok;

	if (alg != AUTH_ALG_MD5 && alg != AUTH_ALG_SHA256)
		return -EINVAL;
	if ((md = auth_digest_md(alg)) == NULL)
		return -EIO;
	if (auth_digest_ctx == NULL &&
	    (auth_digest_ctx = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	ctx = auth_digest_ctx;
	ok = EVP_DigestInit_ex(ctx, md, NULL) == 1;
	for (i = 0; ok && i < nparts; i++) {
		if (i > 0)
			ok = EVP_DigestUpdate(ctx, ":", 1) == 1;
		if (ok && parts[i].len > 0)
			ok = EVP_DigestUpdate(ctx, parts[i].s,
			    parts[i].len) == 1;
	}
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, out, &outlen) == 1;
	if (!ok || outlen * 2 > AUTH_HEX_MAX)
		return -EIO;
	auth_hex(out, outlen, ret_hex);
	/* out held H(user:realm:password) for HA1: as secret as HA1 */
	OPENSSL_cleanse(out, sizeof(out));
	return (int)outlen * 2;
}

int
auth_digest_ha1(int alg, struct sip_str username, struct sip_str realm,
    struct sip_str password, char *ret_hex)
{
	struct sip_str	 parts[3];

	parts[0] = username;
	parts[1] = realm;
	parts[2] = password;
	return auth_digest_hash(alg, parts, 3, ret_hex);
}

int
auth_digest_response(int alg, const char *ha1_hex, struct sip_str method,
    const struct sip_digest *d, char *ret_hex)
{
	struct sip_str	 parts[6];
	char		 ha2[AUTH_HEX_MAX + 1];
	int		 rc;

	parts[0] = method;
	parts[1] = d->sd_uri;
	if ((rc = auth_digest_hash(alg, parts, 2, ha2)) < 0)
		return rc;

	parts[0].s = ha1_hex;
	parts[0].len = strlen(ha1_hex);
	parts[1] = d->sd_nonce;
	if (d->sd_qop.len == 0) {
		/* RFC 2069: no nc, cnonce or qop */
		parts[2].s = ha2;
		parts[2].len = (size_t)rc;
		return auth_digest_hash(alg, parts, 3, ret_hex);
	}
	parts[2] = d->sd_nc;
	parts[3] = d->sd_cnonce;
	parts[4] = d->sd_qop;
	parts[5].s = ha2;
	parts[5].len = (size_t)rc;
	return auth_digest_hash(alg, parts, 6, ret_hex);
}
