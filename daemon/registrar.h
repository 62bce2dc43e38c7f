/*
 * registrar: REGISTER (RFC 3261 §10.3, SPEC §5) in the UDP workers:
 * trusted source or digest challenge, the AoR checks, the Contact
 * rules, one atomic loctab_save(), and the reply.
 */
#ifndef SIPD_REGISTRAR_H
#define SIPD_REGISTRAR_H

#include <sys/socket.h>

#include "conf.h"
#include "sip_msg.h"
#include "udp.h"

/* Bindings listed in one 200 (or 503) Contact header, at most. */
#define REGISTRAR_LIST_MAX	64

/*
 * Worker start-up (dispatch_init()): remembers c and the location
 * table (tables_loctab()). Calling it again only refreshes them.
 */
void	registrar_init(const struct conf *c);

/*
 * Answers one REGISTER m (sip_msg_check() said OK) that arrived on in
 * from src: exactly one reply, sent through dispatch_reply().
 */
void	registrar_register(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src, socklen_t srclen);

#endif
