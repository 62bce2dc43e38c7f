/*
 * worker: a UDP worker process. Each runs its own libevent loop over the
 * inherited listen sockets and handles every datagram it reads from
 * start to end (parse, decide, answer or forward); any worker may get any
 * message, so all shared state lives in shm.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "dispatch.h"
#include "log.h"
#include "stats.h"
#include "tm.h"
#include "worker.h"

/* Datagrams read per readiness event before other sockets get a turn. */
#define WORKER_BATCH	64

struct worker_sock {
	struct udp_sock	*ws_sock;
	int		 ws_epfd;	/* private epoll set holding ws_sock */
	struct event	*ws_ev;		/* libevent watches ws_epfd */
};

/* Datagrams taken per recvmmsg(); one call also tells "no more now". */
#define WORKER_MMSG	8

static struct event_base	*worker_base;
/* Receive buffers: only the pages a datagram touches become resident. */
static char			 worker_buf[WORKER_MMSG][UDP_MAX_DATAGRAM + 1];
static struct sockaddr_storage	 worker_src[WORKER_MMSG];
static struct iovec		 worker_iov[WORKER_MMSG];
static struct mmsghdr		 worker_msg[WORKER_MMSG];

static void
worker_on_read(evutil_socket_t epfd, short what, void *arg)
{
	struct worker_sock	*ws = arg;
	int			 fd = ws->ws_sock->us_fd;
	int			 i, n, round;

	(void)epfd;
	(void)what;
	for (round = 0; round < WORKER_BATCH / WORKER_MMSG; round++) {
		for (i = 0; i < WORKER_MMSG; i++) {
			worker_iov[i].iov_base = worker_buf[i];
			worker_iov[i].iov_len = sizeof(worker_buf[i]) - 1;
			memset(&worker_msg[i].msg_hdr, 0,
			    sizeof(worker_msg[i].msg_hdr));
			worker_msg[i].msg_hdr.msg_name = &worker_src[i];
			worker_msg[i].msg_hdr.msg_namelen =
			    sizeof(worker_src[i]);
			worker_msg[i].msg_hdr.msg_iov = &worker_iov[i];
			worker_msg[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, worker_msg, WORKER_MMSG, MSG_DONTWAIT, NULL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("recvmmsg %s", ws->ws_sock->us_text);
			return;
		}
		for (i = 0; i < n; i++) {
			/* Bigger than UDP allows: cannot be SIP we answer. */
			if (worker_msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
				dispatch_count_dropped();
				continue;
			}
			dispatch_datagram(ws->ws_sock, worker_buf[i],
			    worker_msg[i].msg_len,
			    (struct sockaddr *)&worker_src[i],
			    worker_msg[i].msg_hdr.msg_namelen);
		}
		/*
		 * Fewer than asked: the queue was empty a moment ago. The
		 * level-triggered watch wakes us again if more came, which
		 * spares an extra call that would only say EAGAIN.
		 */
		if (n < WORKER_MMSG)
			return;
	}
}

/*
 * All workers read the same socket. Watched directly, one datagram would
 * wake every worker and all but one would find nothing to read: at a
 * few thousand packets a second that herd costs more CPU than the SIP
 * work. An epoll set of our own holding the socket with EPOLLEXCLUSIVE
 * makes the kernel wake one waiter per datagram; libevent (2.1 has no
 * flag for it) watches that set's descriptor instead of the socket.
 */
static int
worker_exclusive_watch(int fd)
{
	struct epoll_event	 ev;
	int			 epfd;

	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ev.data.fd = fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
		close(epfd);
		return -1;
	}
	return epfd;
}

/*
 * SIGTERM arrives through a signalfd: libevent keeps its signal state
 * per process, and the master's base, inherited over fork, still owns it.
 */
static void
worker_on_term(evutil_socket_t fd, short what, void *arg)
{
	struct signalfd_siginfo	 si;

	(void)what;
	(void)arg;
	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		event_base_loopbreak(worker_base);
}

/* Worker 1 runs the transaction timers: one place, not one per worker. */
static void
worker_on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	tm_timer();
}

static int
worker_term_fd(void)
{
	sigset_t	 set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

void
worker_run(const struct conf *c, struct udp_sock *socks, int nsocks,
    int index)
{
	struct worker_sock	 ws[CONF_MAX_LISTEN];
	struct event		*ev_term, *ev_tick = NULL;
	struct timeval		 tick = { 0, TM_TIMER_TICK_MS * 1000 };
	int			 i, term_fd;

	stats_set_row((unsigned)index);
	if ((worker_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	dispatch_init(c, socks, nsocks, index);
	for (i = 0; i < nsocks; i++) {
		ws[i].ws_sock = &socks[i];
		ws[i].ws_epfd = worker_exclusive_watch(socks[i].us_fd);
		if (ws[i].ws_epfd == -1)
			fatal("epoll for %s", socks[i].us_text);
		ws[i].ws_ev = event_new(worker_base, ws[i].ws_epfd,
		    EV_READ | EV_PERSIST, worker_on_read, &ws[i]);
		if (ws[i].ws_ev == NULL || event_add(ws[i].ws_ev, NULL) == -1)
			fatalx("cannot watch %s", socks[i].us_text);
	}
	if ((term_fd = worker_term_fd()) == -1)
		fatal("signalfd");
	ev_term = event_new(worker_base, term_fd, EV_READ | EV_PERSIST,
	    worker_on_term, NULL);
	if (ev_term == NULL || event_add(ev_term, NULL) == -1)
		fatalx("cannot watch SIGTERM");
	if (index == 1) {
		ev_tick = event_new(worker_base, -1, EV_PERSIST, worker_on_tick,
		    NULL);
		if (ev_tick == NULL || event_add(ev_tick, &tick) == -1)
			fatalx("cannot start the transaction timer");
	}

	event_base_dispatch(worker_base);

	for (i = 0; i < nsocks; i++) {
		event_free(ws[i].ws_ev);
		close(ws[i].ws_epfd);
	}
	event_free(ev_term);
	if (ev_tick != NULL)
		event_free(ev_tick);
	close(term_fd);
	event_base_free(worker_base);
	exit(0);
}
