/*
 * dispatch: what a worker does with one datagram.
 */
#ifndef SIPD_DISPATCH_H
#define SIPD_DISPATCH_H

#include <stddef.h>
#include <sys/socket.h>

#include "conf.h"
#include "sip_msg.h"
#include "udp.h"

void	dispatch_init(const struct conf *c, struct udp_sock *socks,
	    int nsocks, int worker_index);
void	dispatch_datagram(const struct udp_sock *in, const char *buf,
	    size_t len, const struct sockaddr *src, socklen_t srclen);
/*
 * Sends a stateless reply to request m, which came from src on in
 * (sip_reply_build(): extra is complete header lines or NULL). Workers.
 */
void	dispatch_reply(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src, socklen_t srclen, int code,
	    const char *reason, const char *extra);
/*
 * As dispatch_reply(), and tells what was sent, for a cache of replies
 * to retransmissions: *ret_buf (valid until this worker builds its next
 * reply), *ret_len, and the destination. 0, or -1 when nothing could be
 * built or addressed (out params untouched). A failed send still
 * returns 0: the UA will retransmit and should get the same answer.
 */
int	dispatch_reply_sent(const struct udp_sock *in,
	    const struct sip_msg *m, const struct sockaddr *src,
	    socklen_t srclen, int code, const char *reason, const char *extra,
	    const char **ret_buf, size_t *ret_len,
	    struct sockaddr_storage *ret_dst, socklen_t *ret_dstlen);
/*
 * The two halves of dispatch_reply_sent(), for a caller that must do
 * something between them (tm.c remembers the reply before it goes):
 * builds the reply into this worker's buffer and finds where it goes
 * (-1, counted as dropped, when it cannot), then sends and counts it.
 */
int	dispatch_reply_build(const struct sip_msg *m,
	    const struct sockaddr *src, int code, const char *reason,
	    const char *extra, const char **ret_buf, size_t *ret_len,
	    struct sockaddr_storage *ret_dst, socklen_t *ret_dstlen);
void	dispatch_reply_send(const struct udp_sock *in, int code,
	    const char *buf, size_t len, const struct sockaddr *dst,
	    socklen_t dstlen);
/* A datagram dropped before parsing (too large). */
void	dispatch_count_dropped(void);

#endif
