/*
 * tm: transaction-stateful proxying (RFC 3261 §16, §17) on top of the
 * routing policy (route.c) and the copy builder (proxy.c), with the
 * transactions in shm (tmtab.h). Runs in the UDP workers.
 */
#ifndef SIPD_TM_H
#define SIPD_TM_H

#include <stdbool.h>
#include <sys/socket.h>

#include "conf.h"
#include "sip_msg.h"
#include "udp.h"

/* How often worker 1 runs the transaction timers. */
#define TM_TIMER_TICK_MS	50

/* Worker start: the config and the sockets (indexes are kept in shm). */
void	tm_init(const struct conf *c, const struct udp_sock *socks,
	    int nsocks);
/*
 * A request for someone else, not ACK, not REGISTER, past the checks a
 * proxy makes (§16.3): opens its transaction, or answers a
 * retransmission from it; then routes, answers or forwards.
 */
void	tm_request(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src, socklen_t srclen);
/*
 * An ACK: true when it acknowledges a non-2xx final sipd sent (it ends
 * there); false for the caller to route it (the ACK of a 2xx).
 */
bool	tm_ack(const struct sip_msg *m);
/* Any response: to its transaction, else by Via (a late 2xx), else dropped. */
void	tm_response(const struct udp_sock *in, const struct sip_msg *m);
/* The transaction timers due now. One process calls it. */
void	tm_timer(void);

#endif
