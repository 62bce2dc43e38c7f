/*
 * route: the proxy's routing policy (SPEC §5, RFC 3261 §16.4-16.6).
 * For a request sipd does not answer as an endpoint it decides, and only
 * decides, what happens: forward it (where, with which Request-URI, which
 * header values left out, whether to Record-Route) or answer it (code,
 * reason, extra headers), or drop it. dispatch.c asks it for each
 * request that is not a retransmission; tm.c opens a transaction for
 * what is forwarded (a copy per target, built by proxy.c) and a reply
 * goes statelessly, so a challenge costs no transaction. The ACK of a
 * 2xx goes through it statelessly. Runs in the UDP workers.
 */
#ifndef SIPD_ROUTE_H
#define SIPD_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "conf.h"
#include "loctab.h"
#include "sip_msg.h"
#include "stats.h"

#define ROUTE_URI_MAX		1024	/* a Request-URI sipd writes */
#define ROUTE_EXTRA_MAX		1024	/* header lines of a reply */
#define ROUTE_CUTS_MAX		4	/* header values left out */
#define ROUTE_BRANCHES_MAX	8	/* bindings a request forks to */

enum route_verdict {
	ROUTE_FORWARD = 0,	/* rt_dst, rt_ruri, rt_cuts, rt_record_route */
	ROUTE_REPLY,		/* rt_code, rt_reason, rt_extra */
	ROUTE_DROP		/* nothing to send (an ACK with no target) */
};

/*
 * A part of one header line the forwarded copy leaves out: the whole
 * line when rc_whole, else the bytes of rc_span (a value and the comma
 * that joined it to its neighbour).
 */
struct route_cut {
	int		 rc_hdr;	/* index in sm_hdrs[] */
	bool		 rc_whole;
	struct sip_str	 rc_span;
};

/* A further target of a forked request (the first is rt_dst, rt_ruri). */
struct route_branch {
	struct sockaddr_storage	 rb_dst;
	socklen_t		 rb_dstlen;
	struct sip_str		 rb_ruri;
	char			 rb_ruri_buf[ROUTE_URI_MAX];
};

struct route_target {
	int			 rt_verdict;	/* enum route_verdict */
	/* ROUTE_REPLY */
	int			 rt_code;
	const char		*rt_reason;
	const char		*rt_extra;	/* lines, or NULL; see below */
	/* ROUTE_FORWARD */
	struct sockaddr_storage	 rt_dst;	/* next hop, never DNS */
	socklen_t		 rt_dstlen;
	struct sip_str		 rt_ruri;	/* new R-URI; .s NULL = keep */
	struct route_cut	 rt_cuts[ROUTE_CUTS_MAX];
	int			 rt_ncuts;
	bool			 rt_record_route;	/* dialog-forming */
	bool			 rt_from_gw;	/* the PSTN gateway sent it:
						   no per-source budget */
	enum stats_path		 rt_path;	/* an INVITE outside a dialog:
						   the call's way, whatever
						   the verdict */
	const char		*rt_why;	/* static text for debug logs */
	char			 rt_ruri_buf[ROUTE_URI_MAX];
	/* the AoR's other bindings, best first (parallel forking) */
	int			 rt_nmore;
	struct route_branch	 rt_more[ROUTE_BRANCHES_MAX - 1];
};

/* Worker start: the config and the location table (NULL: none). */
void	route_init(const struct conf *c, struct loctab *location);

/*
 * The policy for request m (not REGISTER, not OPTIONS to sipd, already
 * past sip_msg_check(), Max-Forwards and Proxy-Require), which came from
 * src. Fills *ret; rt_extra (a 407's Proxy-Authenticate) stays valid
 * until the next call. Digest nonces are checked against now. A pure
 * decider: no socket, no clock of its own, nothing sent.
 */
void	route_request(const struct sip_msg *m, const struct sockaddr *src,
	    time_t now, struct route_target *ret);

#endif
