/*
 * conf_http: the values of http.listen and http.allow (SPEC §3), the
 * status page and /metrics endpoint of the master. Parsed here, beside
 * conf.c's directive table, so that the address and CIDR rules have a
 * file of their own; like conf.c it never logs.
 */
#ifndef SIPD_CONF_HTTP_H
#define SIPD_CONF_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONF_HTTP_MAX_ALLOW	16

struct conf_cidr {
	int		cc_family;	/* AF_INET or AF_INET6 */
	uint8_t		cc_addr[16];	/* network byte order */
	unsigned	cc_bits;	/* prefix length */
};

struct conf_http {
	bool			 ch_set;	/* http.listen given */
	struct sockaddr_storage	 ch_addr;
	char			 ch_listen[64];	/* "IP:PORT", v6 in [] */
	struct conf_cidr	 ch_allow[CONF_HTTP_MAX_ALLOW];
	int			 ch_nallow;
	char			 ch_allow_text[512];
};

/*
 * "IP:PORT" or "[IPv6]:PORT" (port required), or "" for off. 0, or -1
 * with the reason in why; h unchanged then.
 */
int	conf_http_set_listen(struct conf_http *h, const char *value,
	    char *why, size_t len);
/*
 * Blank or comma separated "IP[/BITS]" list, at least one; 0 or -1
 * with the reason in why (h unchanged).
 */
int	conf_http_set_allow(struct conf_http *h, const char *value,
	    char *why, size_t len);
/* Whether the peer sa may talk to the endpoint (v4-mapped v6 as v4). */
bool	conf_http_allowed(const struct conf_http *h,
	    const struct sockaddr *sa);

#endif
