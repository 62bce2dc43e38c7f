/*
 * send: the last stage of the request pipeline, below the deciders and
 * the transaction layer. It builds sipd's own replies and takes every
 * datagram a worker sends (replies, forwarded copies, retransmissions,
 * sipd's ACKs and CANCELs); they leave together when the worker has
 * handled its recvmmsg() batch: one sendmmsg() per socket, in the
 * order they were queued (so per destination too). Runs in the UDP
 * workers; nothing is allocated per datagram.
 */
#ifndef SIPD_SEND_H
#define SIPD_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sip_msg.h"
#include "udp.h"

/* A reply sipd made: its bytes (valid until the next build) and address. */
struct send_reply {
	const char		*sr_buf;
	size_t			 sr_len;
	int			 sr_code;
	bool			 sr_register;	/* a reply to REGISTER */
	struct sockaddr_storage	 sr_dst;
	socklen_t		 sr_dstlen;
};

/* Worker start: the sockets (send_flush() sends on each). */
void	send_init(const struct udp_sock *socks, int nsocks);

/*
 * Builds the reply to request m, which came from src: status line,
 * Via/From/To (a To tag)/Call-ID/CSeq of m, extra (complete header
 * lines, or NULL), Content-Length: 0; and where it goes (RFC 3261
 * §18.2.2, RFC 3581). 0, or -1 (counted as a dropped request) when it
 * cannot be built or addressed.
 */
int	send_reply_build(const struct sip_msg *m, const struct sockaddr *src,
	    int code, const char *reason, const char *extra,
	    struct send_reply *ret);
/* Queues a built reply on socket in and counts it. */
void	send_reply_queue(const struct udp_sock *in,
	    const struct send_reply *r);
/* Both: a stateless reply. 0 or -1 as send_reply_build(). */
int	send_reply(const struct udp_sock *in, const struct sip_msg *m,
	    const struct sockaddr *src, int code, const char *reason,
	    const char *extra);

/*
 * Queues len bytes (copied) to dst from socket out. what names the
 * datagram in a failed send's warning (static text).
 */
void	send_datagram(const struct udp_sock *out, const char *buf,
	    size_t len, const struct sockaddr *dst, const char *what);

/*
 * Told that a datagram queued with a cookie could not be sent (err: the
 * errno), so that its transaction answers instead of waiting (issue 10:
 * "wherever a send fails, the transaction answers upstream"). Called
 * from send_flush() only, after the batch went out; it may queue more.
 */
typedef void	send_fail_fn(uint64_t cookie, int err);
void	send_set_fail_hook(send_fail_fn *fn);
/* send_datagram() with a cookie (not 0) for the fail hook. */
void	send_datagram_cookie(const struct udp_sock *out, const char *buf,
	    size_t len, const struct sockaddr *dst, const char *what,
	    uint64_t cookie);

/*
 * Sends everything queued: one sendmmsg() per socket with datagrams;
 * then tells the fail hook of the failed ones with a cookie, and sends
 * what it queued.
 */
void	send_flush(void);

#endif
