/*
 * addr: socket addresses as the SIP layers need them, below every
 * decider and the send stage: which addresses are sipd ("myself"), an
 * IP-literal host as a socket address, where a datagram may go, and a
 * source address as text. Runs in the UDP workers; sipd does no DNS.
 */
#ifndef SIPD_ADDR_H
#define SIPD_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include "sip_msg.h"
#include "udp.h"

/* Worker start: the sockets sipd listens on become "myself". */
void	addr_init_myself(const struct udp_sock *socks, int nsocks);

/*
 * Kamailio's "myself": host (as in a URI or Via; IPv6 in brackets) is
 * an address sipd listens on and port (0 = absent, meaning 5060) its
 * port. Host names never match: sipd has no aliases.
 */
bool	addr_is_myself(struct sip_str host, uint16_t port);

/*
 * An IP literal host and port (0 = 5060) as a socket address; false
 * for a host name (sipd does no DNS) or a broken literal.
 */
bool	addr_from_host(struct sip_str host, uint16_t port,
	    struct sockaddr_storage *ret, socklen_t *ret_len);

/*
 * Whether a datagram may be sent to a: false for the unspecified,
 * broadcast and multicast addresses and port 0 (RFC 4475 bcast.dat).
 */
bool	addr_dest_ok(const struct sockaddr *a);

/* The length of a (IPv4 or IPv6) for sendto(). */
socklen_t addr_len(const struct sockaddr *a);

/*
 * A source address as text (no brackets) and port; false for a family
 * sipd does not use. ip holds INET6_ADDRSTRLEN bytes.
 */
bool	addr_text(const struct sockaddr *a, char *ip, uint16_t *ret_port);

#endif
