/*
 * send: the worker's output queue. Datagrams are copied into one arena
 * as they are decided, and leave in a batch: at a few thousand calls a
 * second the kernel's cost per system call dominates sipd's CPU, and an
 * INVITE alone makes two datagrams (the 100 and the copy). The queue is
 * flushed when the worker has handled what one recvmmsg() gave it,
 * after the timers, and early when the arena or the slots are full.
 *
 * A reply is built into a buffer of its own first, because the
 * transaction layer stores it in shm before it is queued (another
 * worker may meet the retransmission or the ACK at once).
 */
#include <errno.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "send.h"
#include "sip_reply.h"
#include "stats.h"

#define SEND_SLOTS	64
#define SEND_ARENA	(4 * UDP_MAX_DATAGRAM)
#define SEND_FAILS	256	/* failures kept for the hook per batch */

struct send_slot {
	const struct udp_sock	*ss_sock;
	size_t			 ss_off;
	size_t			 ss_len;
	struct sockaddr_storage	 ss_dst;
	const char		*ss_what;
	uint64_t		 ss_cookie;	/* 0: nobody to tell */
};

struct send_fail {
	uint64_t		 sf_cookie;
	int			 sf_err;
};

static const struct udp_sock	*send_socks;
static int			 send_nsocks;
static struct send_slot		 send_q[SEND_SLOTS];
static unsigned			 send_n;
static char			 send_arena[SEND_ARENA];
static size_t			 send_used;
/*
 * Failed sends with a cookie, kept until send_flush() tells the hook:
 * an early flush (queue full) may run in the middle of the transaction
 * layer's own work, which the hook must not re-enter.
 */
static struct send_fail		 send_fails[SEND_FAILS];
static unsigned			 send_nfails;
static send_fail_fn		*send_fail_hook;
/* A 200 to a REGISTER lists every binding: room for a whole datagram. */
static char			 send_built[UDP_MAX_DATAGRAM];

void
send_init(const struct udp_sock *socks, int nsocks)
{
	send_socks = socks;
	send_nsocks = nsocks;
	send_n = 0;
	send_used = 0;
}

int
send_reply_build(const struct sip_msg *m, const struct sockaddr *src,
    int code, const char *reason, const char *extra,
    struct send_reply *ret)
{
	size_t	 n;

	n = sip_reply_build(send_built, sizeof(send_built), m, code, reason,
	    src, extra);
	if (n == 0 || sip_reply_dest(m, src, 0, &ret->sr_dst) != 0) {
		stats_inc(STATS_DROP_REQUESTS);
		return -1;
	}
	ret->sr_buf = send_built;
	ret->sr_len = n;
	ret->sr_code = code;
	ret->sr_register = m->sm_method == SIP_METHOD_REGISTER;
	ret->sr_dstlen = addr_len((struct sockaddr *)&ret->sr_dst);
	return 0;
}

void
send_reply_queue(const struct udp_sock *in, const struct send_reply *r)
{
	send_datagram(in, r->sr_buf, r->sr_len,
	    (const struct sockaddr *)&r->sr_dst, "reply");
	stats_sent_reply(r->sr_code);
	if (r->sr_register)
		stats_register_reply(r->sr_code);
}

int
send_reply(const struct udp_sock *in, const struct sip_msg *m,
    const struct sockaddr *src, int code, const char *reason,
    const char *extra)
{
	struct send_reply	 r;

	if (send_reply_build(m, src, code, reason, extra, &r) != 0)
		return -1;
	send_reply_queue(in, &r);
	return 0;
}

void
send_set_fail_hook(send_fail_fn *fn)
{
	send_fail_hook = fn;
}

static void	send_flush_all(void);

void
send_datagram(const struct udp_sock *out, const char *buf, size_t len,
    const struct sockaddr *dst, const char *what)
{
	send_datagram_cookie(out, buf, len, dst, what, 0);
}

void
send_datagram_cookie(const struct udp_sock *out, const char *buf,
    size_t len, const struct sockaddr *dst, const char *what,
    uint64_t cookie)
{
	struct send_slot	*s;

	if (len > sizeof(send_arena))
		return;
	if (send_n == SEND_SLOTS || len > sizeof(send_arena) - send_used)
		send_flush_all();
	s = &send_q[send_n++];
	s->ss_sock = out;
	s->ss_off = send_used;
	s->ss_len = len;
	s->ss_what = what;
	s->ss_cookie = cookie;
	memset(&s->ss_dst, 0, sizeof(s->ss_dst));
	memcpy(&s->ss_dst, dst, addr_len(dst));
	memcpy(send_arena + send_used, buf, len);
	send_used += len;
}

/* Sends the queued datagrams of one socket, in queue order. */
static void
send_flush_sock(const struct udp_sock *us)
{
	static struct mmsghdr	 mm[SEND_SLOTS];
	static struct iovec	 iov[SEND_SLOTS];
	static unsigned		 which[SEND_SLOTS];
	struct send_slot	*s;
	unsigned		 i, n = 0, done = 0;
	int			 r, err;

	for (i = 0; i < send_n; i++) {
		s = &send_q[i];
		if (s->ss_sock != us)
			continue;
		iov[n].iov_base = send_arena + s->ss_off;
		iov[n].iov_len = s->ss_len;
		memset(&mm[n], 0, sizeof(mm[n]));
		mm[n].msg_hdr.msg_name = &s->ss_dst;
		mm[n].msg_hdr.msg_namelen =
		    addr_len((struct sockaddr *)&s->ss_dst);
		mm[n].msg_hdr.msg_iov = &iov[n];
		mm[n].msg_hdr.msg_iovlen = 1;
		which[n++] = i;
	}
	while (done < n) {
		r = sendmmsg(us->us_fd, mm + done, n - done, MSG_DONTWAIT);
		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		/* the first one failed: say so, go on with the rest */
		err = errno;
		log_warn("send %s", send_q[which[done]].ss_what);
		if (send_q[which[done]].ss_cookie != 0 &&
		    send_nfails < SEND_FAILS) {
			send_fails[send_nfails].sf_cookie =
			    send_q[which[done]].ss_cookie;
			send_fails[send_nfails++].sf_err = err;
		}
		done++;
	}
}

void
send_flush(void)
{
	struct send_fail	 f[SEND_FAILS];
	unsigned		 i, n;

	send_flush_all();
	if (send_nfails == 0 || send_fail_hook == NULL) {
		send_nfails = 0;
		return;
	}
	/* the hook's answers go up now; they carry no cookie */
	n = send_nfails;
	memcpy(f, send_fails, n * sizeof(f[0]));
	send_nfails = 0;
	for (i = 0; i < n; i++)
		send_fail_hook(f[i].sf_cookie, f[i].sf_err);
	send_flush_all();
	send_nfails = 0;
}

/* Sends the queue, every socket; failures are kept for send_flush(). */
static void
send_flush_all(void)
{
	int	 i;

	if (send_n == 0)
		return;
	if (send_nsocks == 1)
		send_flush_sock(&send_socks[0]);
	else
		for (i = 0; i < send_nsocks; i++)
			send_flush_sock(&send_socks[i]);
	send_n = 0;
	send_used = 0;
}
