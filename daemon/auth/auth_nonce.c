/*
 * auth_nonce: stateless digest nonces and the shared replay table.
 * auth_nonce_init() runs in the master before fork; minting, opening
 * and using nonces run in the UDP workers.
 *
 * A nonce is 56 lowercase hex characters encoding 28 bytes:
 *
 *	expires (4) | epoch (4) | index (4) | HMAC-SHA-256 (16)
 *
 * big-endian, the MAC taken over the first 12 bytes with the key made
 * before fork, so every worker can check any worker's nonce without
 * state and nobody without the key can make one or move its expiry.
 * The epoch is drawn at every start: with a configured auth.secret a
 * nonce from before a restart still has a right MAC, but its replay
 * history died with the old mapping, so it is only good for stale=true.
 *
 * Replay table: AUTH_REPLAY_SLOTS 32-bit words in shm, slot = index %
 * AUTH_REPLAY_SLOTS, holding the tag (index / AUTH_REPLAY_SLOTS, low 16
 * bits) of the nonce that owns the slot and the highest nc used with it
 * (16 bits; AUTH_NC_USED_UP once a response without qop used the
 * nonce). Minting claims the slot; each use is a compare-and-swap that
 * only ever raises the count, so two workers racing with the same nc
 * cannot both win. A nonce whose slot a newer nonce took is refused as
 * stale. 32-bit words, not {index, nc} pairs in 64 bits, because 64-bit
 * atomics are not lock-free on every board sipd runs on, and libatomic's
 * fallback locks are private to each process.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth.h"
#include "auth_int.h"
#include "shm.h"

#define AUTH_NONCE_FIELDS	12	/* expires, epoch, index */
#define AUTH_NONCE_MAC		16	/* truncated HMAC-SHA-256 */
#define AUTH_KEY_RANDOM		32
#define AUTH_NC_USED_UP		0xffffu

_Static_assert(ATOMIC_INT_LOCK_FREE == 2,
    "the replay table needs lock-free 32-bit atomics in shm");
_Static_assert(AUTH_NONCE_LEN == 2 * (AUTH_NONCE_FIELDS + AUTH_NONCE_MAC),
    "AUTH_NONCE_LEN");

/*
 * The shm block. No lock: every field is one atomic word, and no
 * update needs two of them to agree.
 */
struct auth_area {
	atomic_uint_least32_t	aa_next;	/* next nonce index */
	alignas(AUTH_SHM_ALIGN)
	atomic_uint_least32_t	aa_slot[AUTH_REPLAY_SLOTS];
};

/* Set in the master before fork, read-only in the workers. */
static unsigned char	 auth_key[CONF_MAX_TEXT];
static size_t		 auth_keylen;
/*
 * HMAC context keyed once and re-initialised per nonce: the one-shot
 * HMAC() fetches the digest and allocates on every call (~1 us against
 * ~0.2 us). Process-local; a copy inherited over fork is a copy.
 */
static EVP_MAC_CTX	*auth_mac;
static uint32_t		 auth_epoch;
static struct auth_area	*auth_area;

size_t
auth_nonce_shm_size(void)
{
	return sizeof(struct auth_area);
}

int
auth_nonce_init(const struct conf *c)
{
	struct auth_area	*a;
	unsigned char		 e[4];
	size_t			 len;

	if ((a = shm_carve(sizeof(*a), AUTH_SHM_ALIGN)) == NULL)
		return -errno;
	len = strnlen(c->c_auth_secret, sizeof(c->c_auth_secret));
	OPENSSL_cleanse(auth_key, sizeof(auth_key));
	EVP_MAC_CTX_free(auth_mac);	/* keyed with the old key */
	auth_mac = NULL;
	if (len > 0) {
		memcpy(auth_key, c->c_auth_secret, len);
		auth_keylen = len;
	} else {
		if (RAND_bytes(auth_key, AUTH_KEY_RANDOM) != 1)
			return -EIO;
		auth_keylen = AUTH_KEY_RANDOM;
	}
	if (RAND_bytes(e, sizeof(e)) != 1)
		return -EIO;
	auth_epoch = (uint32_t)e[0] << 24 | (uint32_t)e[1] << 16 |
	    (uint32_t)e[2] << 8 | e[3];
	atomic_init(&a->aa_next, 0);
	auth_area = a;
	return 0;
}

static void
auth_nonce_put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
auth_nonce_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static EVP_MAC_CTX *
auth_nonce_mac_ctx(void)
{
	EVP_MAC	*mac;
	OSSL_PARAM params[2];

	if (auth_mac != NULL)
		return auth_mac;
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return NULL;
	auth_mac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);		/* the context keeps its reference */
	if (auth_mac == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(auth_mac, auth_key, auth_keylen, params) != 1) {
		EVP_MAC_CTX_free(auth_mac);
		auth_mac = NULL;
	}
	return auth_mac;
}

static int
auth_nonce_mac(const unsigned char *fields, unsigned char *ret)
{
	EVP_MAC_CTX	*ctx;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	size_t		 mdlen = 0;

	/* A NULL key re-initialises HMAC with the key it already has. */
	if ((ctx = auth_nonce_mac_ctx()) == NULL ||
	    EVP_MAC_init(ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(ctx, fields, AUTH_NONCE_FIELDS) != 1 ||
	    EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1 ||
	    mdlen < AUTH_NONCE_MAC)
		return -EIO;
	memcpy(ret, md, AUTH_NONCE_MAC);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

static uint32_t
auth_nonce_slot_word(uint32_t index, uint32_t count)
{
	return (index / AUTH_REPLAY_SLOTS & 0xffffu) << 16 | count;
}

int
auth_nonce_make(time_t now, unsigned expire, char *ret)
{
	unsigned char	 raw[AUTH_NONCE_FIELDS + AUTH_NONCE_MAC];
	uint32_t	 index;
	int		 rc;

	if (auth_area == NULL)
		return -ENXIO;
	index = atomic_fetch_add(&auth_area->aa_next, 1);
	/*
	 * Claim the slot now, so that a use finds either this nonce's
	 * tag or a newer one's. Two workers minting indexes that share a
	 * slot at the same instant may leave the older tag there; the
	 * newer nonce is then only answered stale, and retried.
	 */
	atomic_store(&auth_area->aa_slot[index % AUTH_REPLAY_SLOTS],
	    auth_nonce_slot_word(index, 0));
	auth_nonce_put32(raw, (uint32_t)now + expire);
	auth_nonce_put32(raw + 4, auth_epoch);
	auth_nonce_put32(raw + 8, index);
	if ((rc = auth_nonce_mac(raw, raw + AUTH_NONCE_FIELDS)) < 0)
		return rc;
	auth_hex(raw, sizeof(raw), ret);
	return 0;
}

static int
auth_nonce_unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;	/* upper case too: one spelling per nonce */
}

int
auth_nonce_open(struct sip_str s, struct auth_nonce *ret)
{
	unsigned char	 raw[AUTH_NONCE_FIELDS + AUTH_NONCE_MAC];
	unsigned char	 mac[AUTH_NONCE_MAC];
	size_t		 i;
	int		 hi, lo;

	if (s.len != AUTH_NONCE_LEN || auth_keylen == 0)
		return -EINVAL;
	for (i = 0; i < sizeof(raw); i++) {
		hi = auth_nonce_unhex(s.s[2 * i]);
		lo = auth_nonce_unhex(s.s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	if (auth_nonce_mac(raw, mac) < 0 ||
	    CRYPTO_memcmp(mac, raw + AUTH_NONCE_FIELDS, sizeof(mac)) != 0)
		return -EINVAL;
	ret->an_expires = auth_nonce_get32(raw);
	ret->an_epoch = auth_nonce_get32(raw + 4);
	ret->an_index = auth_nonce_get32(raw + 8);
	return 0;
}

int
auth_nonce_use(const struct auth_nonce *n, uint32_t nc, time_t now)
{
	atomic_uint_least32_t	*slot;
	uint_least32_t		 old, want, tag;

	/* Unsigned difference: right across the 32-bit wrap of time. */
	if ((int32_t)((uint32_t)now - n->an_expires) > 0)
		return AUTH_STALE;
	if (n->an_epoch != auth_epoch || auth_area == NULL)
		return AUTH_STALE;
	if (nc >= AUTH_NC_USED_UP)
		return AUTH_STALE;	/* cannot record it: new nonce */

	slot = &auth_area->aa_slot[n->an_index % AUTH_REPLAY_SLOTS];
	tag = auth_nonce_slot_word(n->an_index, 0);
	want = auth_nonce_slot_word(n->an_index,
	    nc == 0 ? AUTH_NC_USED_UP : nc);
	old = atomic_load(slot);
	do {
		if ((old & 0xffff0000u) != tag)
			return AUTH_STALE;	/* a newer nonce took it */
		/* no qop: only a nonce nobody used yet */
		if (nc == 0 ? (old & 0xffffu) != 0 : nc <= (old & 0xffffu))
			return AUTH_REPLAY;
	} while (!atomic_compare_exchange_weak(slot, &old, want));
	return AUTH_OK;
}
