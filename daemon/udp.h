/*
 * udp: the SIP sockets. The master binds them before forking; workers
 * inherit the descriptors, read them (worker.c) and write them through
 * the send stage (send.c), the only place datagrams leave sipd.
 */
#ifndef SIPD_UDP_H
#define SIPD_UDP_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "conf.h"

#define UDP_MAX_DATAGRAM	65535

struct udp_sock {
	int			 us_fd;
	struct sockaddr_storage	 us_addr;	/* bound address */
	socklen_t		 us_addrlen;
	char			 us_text[80];	/* "udp:IP:PORT" */
};

/* Binds every listen socket of c; 0, or -1 with a message in err. */
int	udp_open_all(const struct conf *c, struct udp_sock *socks, int *ret_n,
	    char *err, size_t errlen);
void	udp_close_all(struct udp_sock *socks, int n);

#endif
