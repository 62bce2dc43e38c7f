/*
 * addr: "myself" and the address helpers shared by the deciders
 * (route.c, registrar.c) and the send stage (proxy.c, tm.c).
 *
 * A wildcard listen (0.0.0.0, ::) is every local address of its family:
 * they are listed once, at worker start, so that a Route or a Via that
 * names any of them is recognised as sipd. Addresses added later are not
 * seen until the worker restarts (SIGHUP).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ifaddrs.h>
#include <string.h>

#include "addr.h"
#include "log.h"
#include "sip_reply.h"

#define ADDR_MYSELF_MAX	64	/* addresses sipd answers for */

/* An address sipd listens on: the family, the address, the port. */
struct addr_self {
	int		 as_family;
	unsigned char	 as_addr[16];
	uint16_t	 as_port;
};

static struct addr_self	 addr_self[ADDR_MYSELF_MAX];
static int		 addr_nself;

static void
addr_add_self(int family, const void *a, uint16_t port)
{
	struct addr_self	*as;

	if (addr_nself == ADDR_MYSELF_MAX)
		return;
	as = &addr_self[addr_nself++];
	memset(as, 0, sizeof(*as));
	as->as_family = family;
	memcpy(as->as_addr, a, family == AF_INET6 ? 16 : 4);
	as->as_port = port;
}

static void
addr_add_wildcard(int family, uint16_t port)
{
	struct ifaddrs		*ifa, *i;
	const void		*a;

	if (getifaddrs(&ifa) == -1) {
		log_warn("getifaddrs");
		return;
	}
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family)
			continue;
		if (family == AF_INET)
			a = &((struct sockaddr_in *)(void *)i->ifa_addr)->
			    sin_addr;
		else
			a = &((struct sockaddr_in6 *)(void *)i->ifa_addr)->
			    sin6_addr;
		addr_add_self(family, a, port);
	}
	freeifaddrs(ifa);
}

void
addr_init_myself(const struct udp_sock *socks, int nsocks)
{
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;
	int				 i;

	addr_nself = 0;
	for (i = 0; i < nsocks; i++) {
		if (socks[i].us_addr.ss_family == AF_INET) {
			s4 = (const struct sockaddr_in *)(const void *)
			    &socks[i].us_addr;
			if (s4->sin_addr.s_addr == htonl(INADDR_ANY))
				addr_add_wildcard(AF_INET,
				    ntohs(s4->sin_port));
			else
				addr_add_self(AF_INET, &s4->sin_addr,
				    ntohs(s4->sin_port));
		} else if (socks[i].us_addr.ss_family == AF_INET6) {
			s6 = (const struct sockaddr_in6 *)(const void *)
			    &socks[i].us_addr;
			if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
				addr_add_wildcard(AF_INET6,
				    ntohs(s6->sin6_port));
			else
				addr_add_self(AF_INET6, &s6->sin6_addr,
				    ntohs(s6->sin6_port));
		}
	}
}

bool
addr_is_myself(struct sip_str host, uint16_t port)
{
	unsigned char	 a[16];
	int		 family, i;

	if ((family = sip_host_addr(host, a)) == 0)
		return false;
	if (port == 0)
		port = 5060;
	for (i = 0; i < addr_nself; i++)
		if (addr_self[i].as_family == family &&
		    addr_self[i].as_port == port &&
		    memcmp(addr_self[i].as_addr, a,
		    family == AF_INET6 ? 16 : 4) == 0)
			return true;
	return false;
}

bool
addr_from_host(struct sip_str host, uint16_t port,
    struct sockaddr_storage *ret, socklen_t *ret_len)
{
	struct sockaddr_in	*s4;
	struct sockaddr_in6	*s6;
	unsigned char		 a[16];
	int			 family;

	if ((family = sip_host_addr(host, a)) == 0)
		return false;
	if (port == 0)
		port = 5060;
	memset(ret, 0, sizeof(*ret));
	if (family == AF_INET) {
		s4 = (struct sockaddr_in *)(void *)ret;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a, 4);
		*ret_len = sizeof(*s4);
	} else {
		s6 = (struct sockaddr_in6 *)(void *)ret;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a, 16);
		*ret_len = sizeof(*s6);
	}
	return true;
}

bool
addr_dest_ok(const struct sockaddr *a)
{
	const struct sockaddr_in	*s4;
	const struct sockaddr_in6	*s6;
	uint32_t			 ip;

	switch (a->sa_family) {
	case AF_INET:
		s4 = (const struct sockaddr_in *)(const void *)a;
		ip = ntohl(s4->sin_addr.s_addr);
		return s4->sin_port != 0 && ip != INADDR_ANY &&
		    ip != INADDR_BROADCAST && !IN_MULTICAST(ip);
	case AF_INET6:
		s6 = (const struct sockaddr_in6 *)(const void *)a;
		return s6->sin6_port != 0 &&
		    !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) &&
		    !IN6_IS_ADDR_MULTICAST(&s6->sin6_addr);
	}
	return false;
}

socklen_t
addr_len(const struct sockaddr *a)
{
	return a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
}

bool
addr_text(const struct sockaddr *a, char *ip, uint16_t *ret_port)
{
	unsigned	 port;

	if (sip_reply_src_ip(a, ip, INET6_ADDRSTRLEN, &port) != 0)
		return false;
	*ret_port = (uint16_t)port;
	return true;
}
