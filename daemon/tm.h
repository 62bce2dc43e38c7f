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
#include <stdint.h>
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
 * The key of request m's server transaction (RFC 3261 §17.2.3, the one
 * key of cells and completed slots), made once per request and handed
 * to the calls below; 0 when m has nothing to key on.
 */
uint64_t tm_request_key(const struct sip_msg *m);
/*
 * A request (not ACK) with key that retransmits one sipd knows:
 * answered from its transaction or completed slot (the last reply
 * again), true. false for a new request, which goes on to be decided.
 */
bool	tm_retransmission(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src, uint64_t key);
/*
 * A reply a decider made for m, sent statelessly (no cell). remember:
 * m's key when a final to a non-INVITE should answer retransmissions
 * (the REGISTER's 200); 0 for challenges and everything decided afresh.
 */
void	tm_reply(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src, int code, const char *reason,
	    const char *extra, uint64_t remember);
/* route.c said FORWARD: opens the transaction (key), sends the copies. */
void	tm_forward(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src, uint64_t key,
	    const struct route_target *t);
/* A CANCEL (key: its own): 200 and CANCELs to the rung branches, or 481. */
void	tm_cancel(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src, uint64_t key);
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
