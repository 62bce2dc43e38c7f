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
#include <sys/signalfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "dispatch.h"
#include "log.h"
#include "stats.h"
#include "worker.h"

/* Datagrams read per readiness event before other sockets get a turn. */
#define WORKER_BATCH	64

struct worker_sock {
	struct udp_sock	*ws_sock;
	int		 ws_epfd;	/* private epoll set holding ws_sock */
	struct event	*ws_ev;		/* libevent watches ws_epfd */
};

static struct event_base	*worker_base;
/* One receive buffer: a worker handles one datagram at a time. */
static char			 worker_buf[UDP_MAX_DATAGRAM + 1];

static void
worker_on_read(evutil_socket_t epfd, short what, void *arg)
{
	struct worker_sock	*ws = arg;
	int			 fd = ws->ws_sock->us_fd;
	struct sockaddr_storage	 src;
	socklen_t		 srclen;
	ssize_t			 n;
	int			 i;

	(void)epfd;
	(void)what;
	for (i = 0; i < WORKER_BATCH; i++) {
		srclen = sizeof(src);
		n = recvfrom(fd, worker_buf, sizeof(worker_buf) - 1, MSG_TRUNC,
		    (struct sockaddr *)&src, &srclen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("recvfrom %s", ws->ws_sock->us_text);
			return;
		}
		if ((size_t)n > sizeof(worker_buf) - 1) {
			dispatch_count_dropped();
			continue;
		}
		dispatch_datagram(ws->ws_sock, worker_buf, (size_t)n,
		    (struct sockaddr *)&src, srclen);
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
	struct event		*ev_term;
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

	event_base_dispatch(worker_base);

	for (i = 0; i < nsocks; i++) {
		event_free(ws[i].ws_ev);
		close(ws[i].ws_epfd);
	}
	event_free(ev_term);
	close(term_fd);
	event_base_free(worker_base);
	exit(0);
}
