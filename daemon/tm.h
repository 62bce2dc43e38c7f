/*
 * tm: the transaction stage of the request pipeline (RFC 3261 §16,
 * §17): matches retransmissions, opens a transaction for what is
 * forwarded, answers statelessly what the deciders answered, and turns
 * the transaction table's answers (shm/tmtab.h) into datagrams for the
 * send stage. Runs in the UDP workers; worker 1 also runs the timers.
 */
#ifndef SIPD_TM_H
#define SIPD_TM_H

#include <stdbool.h>
#include <sys/socket.h>

#include "conf.h"
#include "route.h"
#include "sip_msg.h"
#include "udp.h"

/* How often worker 1 runs the transaction timers. */
#define TM_TIMER_TICK_MS	50

/* Worker start: the config and the sockets (indexes are kept in shm). */
void	tm_init(const struct conf *c, const struct udp_sock *socks,
	    int nsocks);
/*
 * A request (not ACK) that retransmits one sipd knows: answered from
 * its transaction or completed slot (the last reply again), true. false
 * for a new request, which goes on to be decided.
 */
bool	tm_retransmission(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src);
/*
 * A reply a decider made for m, sent statelessly (no cell). remember:
 * a final to a non-INVITE that retransmissions should get again (the
 * REGISTER's 200); challenges and everything else are decided afresh.
 */
void	tm_reply(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src, int code, const char *reason,
	    const char *extra, bool remember);
/* route.c said FORWARD: opens the transaction, sends the copies. */
void	tm_forward(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src, const struct route_target *t);
/* A CANCEL: 200 and CANCELs to the branches that rang, or 481. */
void	tm_cancel(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src);
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
