/*
 * auth_int: what the files of daemon/auth/ share and nobody else sees:
 * the hex helper and the nonce minting, checking and replay table.
 */
#ifndef SIPD_AUTH_INT_H
#define SIPD_AUTH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "sip_uri.h"

/* The sealed fields of a nonce, once its MAC was found right. */
struct auth_nonce {
	uint32_t	an_expires;	/* time_t, seconds, low 32 bits */
	uint32_t	an_epoch;	/* auth_init() run that made it */
	uint32_t	an_index;	/* replay table slot and tag */
};

/* Lowercase hex of n bytes into ret_hex (2n + 1 bytes). */
void	auth_hex(const unsigned char *p, size_t n, char *ret_hex);

size_t	auth_nonce_shm_size(void);
/* Key, epoch, replay table: the body of auth_init(). */
int	auth_nonce_init(const struct conf *c);
/*
 * A new nonce valid until now + expire into ret (AUTH_NONCE_LEN + 1
 * bytes). 0, -ENXIO before auth_nonce_init(), -EIO from OpenSSL.
 */
int	auth_nonce_make(time_t now, unsigned expire, char *ret);
/* 0 and *ret when s is a nonce we made; -EINVAL otherwise. */
int	auth_nonce_open(struct sip_str s, struct auth_nonce *ret);
/*
 * Uses an opened nonce for a response already found right: nc is the
 * nonce count of a qop=auth response, 0 for a response without qop.
 * AUTH_OK (recorded), AUTH_STALE (expired, other epoch, slot reused,
 * nc too high to record) or AUTH_REPLAY.
 */
int	auth_nonce_use(const struct auth_nonce *n, uint32_t nc, time_t now);

#endif
