/*
 * registrar: REGISTER (RFC 3261 §10.3, SPEC §5) as a pure decider:
 * trusted source or digest challenge, the AoR checks, the Contact
 * rules; the one location change (an atomic loctab_save()) and the
 * reply it earns. Runs in the UDP workers; sends nothing itself.
 */
#ifndef SIPD_REGISTRAR_H
#define SIPD_REGISTRAR_H

#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include "conf.h"
#include "loctab.h"
#include "sip_msg.h"

/* Bindings listed in one 200 (or 503) Contact header, at most. */
#define REGISTRAR_LIST_MAX	64
/*
 * REGISTERs decided and not yet applied, at most (one per slot): those
 * of a batch waiting for Redis (CLUSTER_W_PIPELINE) and one more.
 */
#define REGISTRAR_SLOTS		17

/* One REGISTER to decide on. */
struct registrar_request {
	const struct sip_msg	*rr_m;		/* sip_msg_check() said OK */
	const struct sockaddr	*rr_src;
	const char		*rr_socket;	/* "udp:IP:PORT" it came in on */
	time_t			 rr_now;
	/*
	 * Which of REGISTRAR_SLOTS contexts holds it until applied; rr_m
	 * and rr_src must stay as they are until then.
	 */
	unsigned		 rr_slot;
};

/*
 * The verdict. rv_save: a location change is pending (rv_change);
 * registrar_apply() makes it and sets the reply. Else the reply is
 * rv_code (0: drop, nothing to answer), rv_reason and rv_extra (header
 * lines, or NULL; valid until the next request). Every final but the
 * 401 may answer retransmissions; a challenge stays stateless.
 */
struct registrar_verdict {
	int			 rv_code;
	const char		*rv_reason;
	const char		*rv_extra;
	bool			 rv_save;
	struct loctab_save	 rv_change;
	unsigned		 rv_slot;	/* rr_slot */
};

/* Worker start-up: the config and the location table (NULL: none). */
void	registrar_init(const struct conf *c, struct loctab *location);
/* Decides on one REGISTER: fills *ret. */
void	registrar_decide(const struct registrar_request *req,
	    struct registrar_verdict *ret);
/*
 * Applies the pending change of the verdict registrar_decide() just
 * gave (one worker, one request at a time) and sets its reply.
 */
void	registrar_apply(struct registrar_verdict *ret);
/*
 * The same in two halves, so that the REGISTERs of one batch share one
 * round trip to Redis (cluster.redis): true when the change waits, and
 * registrar_apply_end() (in the order of the begins) then sets the
 * reply; false when it is done and the reply set, as registrar_apply().
 */
bool	registrar_apply_begin(struct registrar_verdict *ret);
void	registrar_apply_end(struct registrar_verdict *ret);

#endif
