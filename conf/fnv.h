/*
 * fnv: the one hash sipd keys things with (64-bit FNV-1a). Transaction
 * keys, the reply cache, proxy branches and generated To tags all add
 * their fields with fnv_field(), which hashes the field's length before
 * its bytes so that ("ab","c") and ("a","bc") differ. Not a MAC: what
 * must resist forgery (nonces) uses HMAC instead.
 */
#ifndef SIPD_FNV_H
#define SIPD_FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV_INIT	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

/* Adds one field of n bytes to h. */
static inline uint64_t
fnv_field(uint64_t h, const void *p, size_t n)
{
	const unsigned char	*b = p;
	uint64_t		 len = n;
	size_t			 i;

	for (i = 0; i < sizeof(len); i++) {
		h ^= (len >> (8 * i)) & 0xff;
		h *= FNV_PRIME;
	}
	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV_PRIME;
	}
	return h;
}

#endif
