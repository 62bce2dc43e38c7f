/*
 * stats: sipd's counters (MI stats.get_statistics), in shm.
 *
 * Every process owns one row of counters and is its only writer, so
 * counting needs no lock and no atomic read-modify-write (relaxed atomic
 * stores of a private value); readers (the master, for MI and /metrics)
 * sum the rows. Names follow Kamailio's group:name style.
 *
 * Beside the named counters a row holds the labeled families of
 * /metrics (requests by method, replies by code, ...): runs of slots,
 * one per label value, each set bounded so that a scrape has a fixed
 * size whatever the traffic. MI does not list them.
 */
#ifndef SIPD_STATS_H
#define SIPD_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stats_id {
	/* core: what the workers saw and did */
	STATS_RCV_REQUESTS,		/* core:rcv_requests */
	STATS_RCV_REPLIES,		/* core:rcv_replies */
	STATS_FWD_REQUESTS,		/* core:fwd_requests */
	STATS_FWD_REPLIES,		/* core:fwd_replies */
	STATS_DROP_REQUESTS,		/* core:drop_requests */
	STATS_DROP_REPLIES,		/* core:drop_replies (stray, bad) */
	STATS_ERR_REQUESTS,		/* core:err_requests (unparseable) */
	STATS_BAD_MSG_HDR,		/* core:bad_msg_hdr (400 sent) */
	/* sl: replies sipd itself sent, by class */
	STATS_SENT_1XX,			/* sl:1xx_replies */
	STATS_SENT_2XX,			/* sl:2xx_replies */
	STATS_SENT_3XX,			/* sl:3xx_replies */
	STATS_SENT_4XX,			/* sl:4xx_replies */
	STATS_SENT_5XX,			/* sl:5xx_replies */
	STATS_SENT_6XX,			/* sl:6xx_replies */
	/* auth */
	STATS_AUTH_CHALLENGES,		/* auth:challenges (401/407 sent) */
	STATS_AUTH_FAILURES,		/* auth:failures (wrong, stale, replay) */
	STATS_AUTH_SUCCESSES,		/* auth:successes */
	/* registrar */
	STATS_ACCEPTED_REGS,		/* registrar:accepted_regs */
	STATS_REJECTED_REGS,		/* registrar:rejected_regs */
	/* tm (transactions) */
	STATS_TM_CREATED,		/* tm:created */
	STATS_TM_FREED,			/* tm:freed; current = created - freed */
	STATS_TM_SRC_REFUSED,		/* tm:source_budget_refused (503) */
	/* for /metrics and the status page's calls/s */
	STATS_RCV_INVITES,		/* core:rcv_invites (retransmits too) */
	STATS__MAX
};

/* Bytes stats_create() carves: shm_size_add(acc, n, STATS_SHM_ALIGN). */
#define STATS_SHM_ALIGN		64
size_t	stats_shm_size(unsigned nrows);
/* Master, before fork: rows for the master and every worker slot. */
int	stats_create(unsigned nrows);
/* Each process, once (the master row 0, worker N row N). */
void	stats_set_row(unsigned row);

/* Hot path: counts in this process's row. */
void	stats_inc(enum stats_id id);
void	stats_add(enum stats_id id, uint64_t n);
/* A reply sipd sent with this status code (sl:Nxx_replies). */
void	stats_sent_reply(int code);

/*
 * Labeled families. Methods in the order of sip_msg.h's SIP_METHOD_*
 * bits (dispatch.c checks it), so a method's slot is its bit's index.
 */
enum stats_method {
	STATS_M_INVITE, STATS_M_CANCEL, STATS_M_ACK, STATS_M_BYE,
	STATS_M_INFO, STATS_M_REGISTER, STATS_M_SUBSCRIBE, STATS_M_NOTIFY,
	STATS_M_MESSAGE, STATS_M_OPTIONS, STATS_M_PRACK, STATS_M_UPDATE,
	STATS_M_REFER, STATS_M_PUBLISH, STATS_M_OTHER,
	STATS_M__MAX
};

/* Which way a call (an INVITE outside a dialog) went; 0: not a call. */
enum stats_path {
	STATS_PATH_NONE = 0,
	STATS_PATH_UA_GW,	/* from a UA to the PSTN gateway */
	STATS_PATH_GW_UA,	/* from the gateway to registered users */
	STATS_PATH_OTHER,	/* UA to UA (no gateway configured) */
	STATS_PATH__MAX
};

/* How a call ended (its final reply upstream). */
enum stats_outcome {
	STATS_O_ANSWERED,	/* 2xx */
	STATS_O_REDIRECTED,	/* 3xx */
	STATS_O_CHALLENGED,	/* 401/407: asked for credentials */
	STATS_O_CANCELLED,	/* a non-2xx after the caller's CANCEL */
	STATS_O_FAILED_4XX,	/* other 4xx (408: nobody answered) */
	STATS_O_FAILED_5XX,
	STATS_O_FAILED_6XX,
	STATS_O__MAX
};

/* Why a digest check failed. */
enum stats_auth_fail {
	STATS_AF_STALE,		/* expired nonce: challenged, stale=true */
	STATS_AF_INVALID,	/* wrong response, unknown user, foreign
				   nonce or algorithm not offered */
	STATS_AF_REPLAY,	/* a nonce count used before */
	STATS_AF_MALFORMED,	/* credentials that cannot be read: 400 */
	STATS_AF_IDENTITY,	/* right digest, other user's identity: 403 */
	STATS_AF_ERROR,		/* sipd could not check: 500 */
	STATS_AF__MAX
};

/* What a worker's write-through of a REGISTER to Redis came to. */
enum stats_cluster {
	STATS_CL_ACKED,		/* Redis applied it: 200 */
	STATS_CL_SCRIPT_REFUSED,	/* Redis's script refused it (CSeq,
				   max_contacts) */
	STATS_CL_SHORT,		/* Redis not reached: short expiry, queued */
	STATS_CL_REFUSED,	/* Redis not reached: 503 (refuse policy) */
	STATS_CL_MISS_FOUND,	/* a call's lookup missed; Redis had it */
	STATS_CL_MISS_NONE,	/* ... Redis did not have it either */
	STATS_CL_MISS_ERROR,	/* ... Redis not reached */
	STATS_CL__MAX
};

enum stats_family {
	STATS_F_REQUESTS,	/* received, by enum stats_method */
	STATS_F_SENT,		/* replies sipd made, by code (see below) */
	STATS_F_FORWARDED,	/* replies passed upstream, by code */
	STATS_F_REGISTER,	/* final replies to REGISTER, by code */
	STATS_F_AUTH_FAIL,	/* by enum stats_auth_fail */
	STATS_F_CALLS,		/* (path - 1) * STATS_O__MAX + outcome */
	STATS_F_CLUSTER,	/* by enum stats_cluster */
	STATS_F__MAX
};

/* A request received (parsed), by method. */
void	stats_request(enum stats_method m);
/* A reply passed upstream with this status code. */
void	stats_forwarded_reply(int code);
/* A final reply sipd sent to a REGISTER (200 = registered). */
void	stats_register_reply(int code);
void	stats_auth_failure(enum stats_auth_fail why);
/*
 * A call ended with its final reply code upstream (cancelled: the caller
 * had sent CANCEL). Counted once per INVITE transaction, by whoever
 * sends that final (tmtab when it has a cell, else the stateless path).
 */
void	stats_call_end(enum stats_path path, int code, bool cancelled);
/* A worker's Redis round trip (cluster.redis only) came to this. */
void	stats_cluster(enum stats_cluster what);

/* Slots of a family; the sum of slot i over all rows. */
unsigned stats_family_size(enum stats_family f);
uint64_t stats_family_get(enum stats_family f, unsigned i);
/*
 * The code of slot i of STATS_F_SENT/STATS_F_FORWARDED (or of
 * STATS_F_REGISTER): a status code, or 1..6 for "any other code of
 * that class" (for STATS_F_REGISTER: 0, any other code).
 */
int	stats_code_at(enum stats_family f, unsigned i);

/* Readers: the sum over all rows (minus what a reset subtracted). */
uint64_t stats_get(enum stats_id id);
/* "group:name" of a counter, e.g. "core:rcv_requests". */
const char *stats_name(enum stats_id id);
/* stats.reset_statistics: later reads start from zero again. */
void	stats_reset(void);

#endif
