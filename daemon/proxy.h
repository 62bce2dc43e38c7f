/*
 * proxy: the copies sipd forwards (RFC 3261 §16.6, §16.11, §18; RFC
 * 3581). Builds the copy of a request route.c decided to forward (own
 * Via, Max-Forwards, Record-Route, new Request-URI, values cut) for
 * tm.c, or queues it statelessly (the ACK of a 2xx); strips sipd's Via
 * off responses and forwards the ones no transaction holds by their
 * Via. Below tm.c in the pipeline, above send.c. Runs in the UDP
 * workers; nothing allocated per message.
 */
#ifndef SIPD_PROXY_H
#define SIPD_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "conf.h"
#include "route.h"
#include "sip_msg.h"
#include "udp.h"

/*
 * Branches sipd makes start with this (after the magic cookie), then
 * PROXY_BRANCH_HEX hex digits of a hash of the incoming request's top
 * Via branch and sent-by, Call-ID and CSeq number, which a response is
 * checked against; a transaction's copies carry tm.c's suffix after it.
 */
#define PROXY_BRANCH_MARK	"z9hG4bKsd"
#define PROXY_BRANCH_HEX	16
#define PROXY_BRANCH_LEN	(sizeof(PROXY_BRANCH_MARK) - 1 + \
				    PROXY_BRANCH_HEX)

/* Worker start: the sockets to send from. */
void	proxy_init(const struct conf *c, const struct udp_sock *socks,
	    int nsocks);

/*
 * Queues the copy of request m (from src, on in) that t describes (a
 * ROUTE_FORWARD) statelessly: the ACK of a 2xx. 0 when queued;
 * else the code of the reply the caller should send: 513 when the copy
 * does not fit in a datagram, 400 for a malformed Max-Forwards, 503
 * when sipd has no socket of the destination's family; -1 when the
 * destination is not allowed (broadcast, multicast): dropped.
 */
int	proxy_forward_request(const struct udp_sock *in,
	    const struct sip_msg *m, const struct sockaddr *src,
	    const struct route_target *t);

/* The reason phrase of a code proxy_build_request() returned. */
const char *proxy_reason(int code);

/*
 * The copy of request m (from src, on in) for one target of t: dst and
 * ruri (.s NULL = keep) are the branch's, suffix (or NULL) is appended
 * to sipd's branch parameter. Built into buf (cap bytes); *ret_len and
 * the socket to send it from are set on 0. Else as
 * proxy_forward_request() (nothing is sent here).
 */
int	proxy_build_request(const struct udp_sock *in,
	    const struct sip_msg *m, const struct sockaddr *src,
	    const struct route_target *t, const struct sockaddr *dst,
	    struct sip_str ruri, const char *suffix, char *buf, size_t cap,
	    size_t *ret_len, const struct udp_sock **ret_sock);

/*
 * Whether response m is for a branch sipd made: its top Via is one of
 * our addresses with our marker, and the hash of the next Via, Call-ID
 * and CSeq matches. -1: not ours; 0: a stateless branch; 1: a branch
 * with more after the hash (a transaction's). Sets both Vias.
 */
int	proxy_response_ours(const struct sip_msg *m, struct sip_via *ret_top,
	    struct sip_via *ret_next);
/* m without its top Via top into buf; 0 when it does not fit. */
size_t	proxy_strip_response(const struct sip_msg *m,
	    const struct sip_via *top, const struct sip_via *next, char *buf,
	    size_t cap);
/*
 * A response: when its top Via is a branch sipd made (sent-by one of
 * our addresses, our marker, and the hash of the next Via, Call-ID and
 * CSeq matches), removes that Via and sends the rest to the next Via
 * (received, rport, else its port or 5060). Anything else is a stray
 * and is dropped (counted).
 */
void	proxy_forward_response(const struct udp_sock *in,
	    const struct sip_msg *m);

/*
 * The branch sipd gives its copy of a request whose top Via is via:
 * PROXY_BRANCH_LEN characters and a NUL into out.
 */
void	proxy_branch(const struct sip_via *via, struct sip_str callid,
	    uint32_t cseq, char *out);

#endif
