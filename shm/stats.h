/*
 * stats: sipd's counters (MI stats.get_statistics), in shm.
 *
 * Every process owns one row of counters and is its only writer, so
 * counting needs no lock and no atomic read-modify-write (relaxed atomic
 * stores of a private value); readers (the master, for MI) sum the rows.
 * Names follow Kamailio's group:name style.
 */
#ifndef SIPD_STATS_H
#define SIPD_STATS_H

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

/* Readers: the sum over all rows (minus what a reset subtracted). */
uint64_t stats_get(enum stats_id id);
/* "group:name" of a counter, e.g. "core:rcv_requests". */
const char *stats_name(enum stats_id id);
/* stats.reset_statistics: later reads start from zero again. */
void	stats_reset(void);

#endif
