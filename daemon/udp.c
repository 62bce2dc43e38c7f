/*
 * udp: opens the listen sockets (master, before fork) and sends
 * datagrams (workers). Receive buffers are enlarged because one burst of
 * SIPp traffic easily exceeds the kernel default.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "udp.h"

#define UDP_RCVBUF	(4 * 1024 * 1024)

int
udp_open_all(const struct conf *c, struct udp_sock *socks, int *ret_n,
    char *err, size_t errlen)
{
	int	 i, fd, on = 1, size = UDP_RCVBUF;

	for (i = 0; i < c->c_nlisten; i++) {
		const struct conf_listen *cl = &c->c_listen[i];
		int family = cl->cl_addr.ss_family;

		fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (fd == -1) {
			snprintf(err, errlen, "%s: socket: %s", cl->cl_text,
			    strerror(errno));
			goto fail;
		}
		if (family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
			    sizeof(on));
		/* Best effort: an unprivileged run keeps the default. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
		    sizeof(size)) == -1)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size,
			    sizeof(size));
		if (bind(fd, (const struct sockaddr *)&cl->cl_addr,
		    cl->cl_addrlen) == -1) {
			snprintf(err, errlen, "%s: bind: %s", cl->cl_text,
			    strerror(errno));
			close(fd);
			goto fail;
		}
		socks[i].us_fd = fd;
		memcpy(&socks[i].us_addr, &cl->cl_addr, cl->cl_addrlen);
		socks[i].us_addrlen = cl->cl_addrlen;
		snprintf(socks[i].us_text, sizeof(socks[i].us_text), "%s",
		    cl->cl_text);
	}
	*ret_n = c->c_nlisten;
	return 0;
fail:
	udp_close_all(socks, i);
	return -1;
}

void
udp_close_all(struct udp_sock *socks, int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		if (socks[i].us_fd >= 0)
			close(socks[i].us_fd);
		socks[i].us_fd = -1;
	}
}
