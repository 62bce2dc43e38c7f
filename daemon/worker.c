/*
 * worker: a UDP worker process. Each reads the inherited listen sockets
 * and handles every datagram it reads from start to end (dispatch.c:
 * parse, decide, transaction, send); what one recvmmsg() batch makes
 * the worker send leaves in one sendmmsg() per socket (send.c). Any
 * worker may get any message, so all shared state lives in shm. Worker
 * 1 also runs the transaction timers.
 *
 * With one listen socket (the usual set-up) a worker blocks in
 * recvmmsg() on it, as Kamailio's UDP children block in recvfrom(): the
 * kernel wakes one waiting worker per datagram, and a datagram costs one
 * system call to read instead of an epoll wait and a read. A receive
 * timeout (TM_TIMER_TICK_MS) brings the timer worker round when idle;
 * SIGTERM interrupts the wait. With several sockets each worker runs a
 * libevent loop over them.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "dispatch.h"
#include "evtime.h"
#include "log.h"
#include "send.h"
#include "stats.h"
#include "tm.h"
#include "tmtab.h"
#include "worker.h"

/* Datagrams read per readiness event before other sockets get a turn. */
#define WORKER_BATCH	64

struct worker_sock {
	struct udp_sock	*ws_sock;
	int		 ws_epfd;	/* private epoll set holding ws_sock */
	struct event	*ws_ev;		/* libevent watches ws_epfd */
};

/* Datagrams taken per recvmmsg(); one call also tells "no more now". */
#define WORKER_MMSG	16

static struct event_base	*worker_base;
/* Receive buffers: only the pages a datagram touches become resident. */
static char			 worker_buf[WORKER_MMSG][UDP_MAX_DATAGRAM + 1];
static struct sockaddr_storage	 worker_src[WORKER_MMSG];
static struct iovec		 worker_iov[WORKER_MMSG];
static struct mmsghdr		 worker_msg[WORKER_MMSG];

static volatile sig_atomic_t	 worker_stop;
static uint64_t			 worker_next_tick;

/* Reads up to WORKER_MMSG datagrams from us with flags; -1 and errno. */
static int
worker_read(struct udp_sock *us, int flags)
{
	int	 i, n;

	for (i = 0; i < WORKER_MMSG; i++) {
		worker_iov[i].iov_base = worker_buf[i];
		worker_iov[i].iov_len = sizeof(worker_buf[i]) - 1;
		memset(&worker_msg[i].msg_hdr, 0,
		    sizeof(worker_msg[i].msg_hdr));
		worker_msg[i].msg_hdr.msg_name = &worker_src[i];
		worker_msg[i].msg_hdr.msg_namelen = sizeof(worker_src[i]);
		worker_msg[i].msg_hdr.msg_iov = &worker_iov[i];
		worker_msg[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(us->us_fd, worker_msg, WORKER_MMSG, flags, NULL);
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)
		log_warn("recvmmsg %s", us->us_text);
	for (i = 0; i < n; i++) {
		/* Bigger than UDP allows: cannot be SIP we answer. */
		if (worker_msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
			dispatch_count_dropped();
			continue;
		}
		dispatch_datagram(us, worker_buf[i], worker_msg[i].msg_len,
		    (struct sockaddr *)&worker_src[i]);
	}
	/* REGISTERs that waited for one round trip to Redis, then ... */
	dispatch_finish();
	/* what the batch made leaves together (send.c) */
	send_flush();
	return n;
}

static void
worker_on_read(evutil_socket_t epfd, short what, void *arg)
{
	struct worker_sock	*ws = arg;
	int			 n, round;

	(void)epfd;
	(void)what;
	for (round = 0; round < WORKER_BATCH / WORKER_MMSG; round++) {
		if ((n = worker_read(ws->ws_sock, MSG_DONTWAIT)) == -1)
			return;
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
	send_flush();
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

static void
worker_on_sigterm(int sig)
{
	(void)sig;
	worker_stop = 1;
}

/* One listen socket: block in recvmmsg() on it (see the top). */
static void
worker_run_blocking(struct udp_sock *us, int index)
{
	struct sigaction	 sa;
	struct timeval		 tv = { 0, TM_TIMER_TICK_MS * 1000 };
	sigset_t		 set;
	uint64_t		 now;
	int			 fl;

	/* No SA_RESTART: SIGTERM must end the wait with EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_sigterm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1)
		fatal("sigaction");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_UNBLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	/*
	 * The socket is shared by every worker: each sets the same
	 * timeout, so a SIGTERM that came just before the wait, and the
	 * timer worker when idle, are noticed within a tick.
	 */
	if (setsockopt(us->us_fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)) == -1)
		fatal("SO_RCVTIMEO on %s", us->us_text);
	/* sends stay non-blocking: send.c passes MSG_DONTWAIT */
	if ((fl = fcntl(us->us_fd, F_GETFL)) == -1 ||
	    fcntl(us->us_fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		fatal("blocking reads on %s", us->us_text);
	worker_next_tick = tmtab_now_ms() + TM_TIMER_TICK_MS;
	while (!worker_stop) {
		(void)worker_read(us, MSG_WAITFORONE);
		if (index != 1)
			continue;
		if ((now = tmtab_now_ms()) >= worker_next_tick) {
			tm_timer();
			send_flush();
			worker_next_tick = now + TM_TIMER_TICK_MS;
		}
	}
	exit(0);
}

void
worker_run(const struct conf *c, struct loctab *location,
    struct udp_sock *socks, int nsocks, int index)
{
	struct worker_sock	 ws[CONF_MAX_LISTEN];
	struct event		*ev_term, *ev_tick = NULL;
	int			 i, term_fd;

	stats_set_row((unsigned)index);
	dispatch_init(c, location, socks, nsocks);
	if (nsocks == 1)
		worker_run_blocking(&socks[0], index);
	if ((worker_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
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
		if (ev_tick == NULL || evtime_add(ev_tick, TM_TIMER_TICK_MS) == -1)
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
