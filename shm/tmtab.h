/*
 * tmtab: the transaction table (RFC 3261 §16, §17) in the shared mapping,
 * so that any worker can handle any message of any transaction.
 *
 * One cell per server transaction, holding its client transactions
 * (branches, up to TMTAB_BRANCHES) the way Kamailio's tm keeps a "cell"
 * with its UACs. The state machine lives here, under the cell's lock;
 * every call returns what the caller must send (tmtab_act items, with
 * the bytes copied out), because nothing in shm/ does I/O or holds a
 * lock while sending (STYLE.md, shared memory rules 2 and 4).
 *
 * Layout (fixed at start from tm.max_transactions = cap):
 *  - cap cells, addressed by index; a cell's generation changes when it
 *    is freed, so an (index, generation) pair in a branch parameter
 *    names one transaction and never a later one in the same cell;
 *  - beside them a dense array of links (key, chain, earliest timer),
 *    so that lookups and the timer walk do not touch the large cells;
 *  - a hash of 2^k bucket heads (k such that there are >= cap/4), the
 *    server transactions chained by their 64-bit key (a hash of what
 *    RFC 3261 §17.2.3 matches on), each bucket with its earliest timer;
 *    a stripe of consecutive buckets per robust lock (TMTAB_STRIPES
 *    locks), each stripe with the earliest timer of its buckets, read
 *    without the lock by the timer, which then walks only due buckets;
 *  - one pool of fixed chunks (TMTAB_CHUNK bytes, chained) for the
 *    variable data: the request as received, each branch's copy as sent,
 *    the last reply sent upstream, the best final reply held back
 *    (§16.7). One lock for the pool, taken after a stripe's (order:
 *    stripe, then pool). Free cells and chunks are reused last-freed
 *    first, so a lightly loaded sipd keeps few pages resident.
 *
 * Times are CLOCK_MONOTONIC milliseconds (one clock for all processes).
 * A worker SIGKILLed inside a call leaves at most its own cell or
 * chunks unreachable (a leak, never a corrupt chain), every other cell
 * as it was, and a cell it was changing with the message it held or
 * the new one: the next locker of a robust lock marks it consistent.
 * test/unit/test_tmtab_crash.c kills a call at each of its steps
 * (tmtab_step_hook) and checks this with tmtab_check(). Nothing here
 * logs.
 */
#ifndef SIPD_TMTAB_H
#define SIPD_TMTAB_H

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TMTAB_BRANCHES		8	/* forks of one request */
#define TMTAB_T1_MS		500	/* RFC 3261 T1 */
#define TMTAB_T2_MS		4000	/* RFC 3261 T2 */
/*
 * How long a cell stays after its final reply, to answer retransmitted
 * requests and pass retransmitted finals: Kamailio's wait_timer (5 s),
 * not Timer J (32 s), so a loaded sipd holds fewer cells.
 */
#define TMTAB_WAIT_MS		5000
/* Timer H (64*T1): give up waiting for the ACK of a non-2xx final. */
#define TMTAB_H_MS		(64 * TMTAB_T1_MS)
/* Timer B (64*T1): an INVITE no branch answered at all is given up. */
#define TMTAB_B_MS		(64 * TMTAB_T1_MS)
#define TMTAB_CHUNK		512	/* bytes per chunk, link included */
#define TMTAB_CHUNKS_PER_CELL	6	/* pool size per cell of capacity */
#define TMTAB_STRIPES		512	/* locks */
#define TMTAB_MSG_MAX		65535	/* longest message stored */
#define TMTAB_SHM_ALIGN		64
#define TMTAB_CAP_MAX		(1U << 20)
/* Generations wrap here: a branch parameter carries 6 hex digits. */
#define TMTAB_GEN_MASK		0xffffffU

/* Outcomes (positive, STYLE.md). */
#define TMTAB_E_FULL		1	/* no cell or chunks: 503 */
#define TMTAB_E_NOTFOUND	2	/* no such transaction */
#define TMTAB_E_FINAL		3	/* tmtab_cancel(): already answered */
#define TMTAB_E_BUDGET		4	/* the source has its share: 503 */

/*
 * Per-source budget: the cells one source address (IPv4, or an IPv6
 * /64) may hold at once are cap / TMTAB_SRC_SHARE, so that one sender
 * cannot take the table from everybody (issue 10). Sources are counted
 * in TMTAB_SRC_SLOTS hashed counters; two that share one share budget.
 */
#define TMTAB_SRC_SHARE		4
#define TMTAB_SRC_SLOTS		4096

/* A transaction, as a branch parameter carries it. */
struct tmtab_ref {
	uint32_t	tr_idx;
	uint32_t	tr_gen;
};

/* Where a message goes: an IPv4 or IPv6 address and port. */
union tmtab_addr {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};

enum tmtab_act_kind {
	TMTAB_SEND,		/* ta_msg as it is, to ta_dst */
	TMTAB_SEND_ACK,		/* build the ACK of branch ta_branch's copy
				   (ta_msg) for the reply given to
				   tmtab_response() */
	TMTAB_SEND_CANCEL,	/* build the CANCEL of the copy ta_msg */
	TMTAB_LOCAL_408		/* build a 408 for the request ta_msg (it
				   came from ta_dst), send it, tmtab_reply() */
};

/* One thing to send, with the bytes it needs copied out. */
struct tmtab_act {
	int			 ta_kind;	/* enum tmtab_act_kind */
	struct tmtab_ref	 ta_ref;
	int			 ta_branch;	/* -1: upstream */
	unsigned		 ta_sock;	/* listen socket index */
	union tmtab_addr	 ta_dst;
	const char		*ta_msg;	/* in the caller's scratch */
	size_t			 ta_len;
};

/*
 * What to send, filled by the calls below. The caller provides scratch
 * bytes for the copies; an action whose bytes do not fit is left for
 * later where that is possible (timers) and dropped otherwise.
 */
struct tmtab_out {
	struct tmtab_act	*to_acts;
	unsigned		 to_max;
	unsigned		 to_n;
	char			*to_scratch;
	size_t			 to_cap;
	size_t			 to_used;
};

/* A new server transaction's facts. */
struct tmtab_new {
	uint64_t		 tn_key;
	bool			 tn_invite;
	unsigned		 tn_sock;	/* socket it came in on */
	union tmtab_addr	 tn_up;		/* where replies go */
	union tmtab_addr	 tn_src;	/* where it came from */
	const char		*tn_req;	/* the request as received */
	size_t			 tn_reqlen;
	bool			 tn_budget;	/* counts against tn_src's
						   budget */
	uint8_t			 tn_path;	/* enum stats_path: a call,
						   counted when it ends */
};

/* One forwarded copy. */
struct tmtab_branch {
	unsigned		 tb_sock;
	union tmtab_addr	 tb_dst;
	const char		*tb_msg;
	size_t			 tb_len;
};

/* Bytes of shm tmtab_create() carves for cap cells. */
size_t	tmtab_shm_size(unsigned cap);
/* Master, after shm_create(), before fork. 0 or -errno. */
int	tmtab_create(unsigned cap);

/* Monotonic milliseconds. */
uint64_t tmtab_now_ms(void);

/* Keys are made by the caller with fnv_field() (fnv.h); 0 is not a key. */

/*
 * A request that is not an ACK. 0 and *ret_ref for a new transaction;
 * TMTAB_E_NOTFOUND is never returned: a retransmission of a known one
 * returns 0 with ret_ref->tr_idx == UINT32_MAX and, in out, a TMTAB_SEND
 * of the last reply sent upstream (nothing when none was sent yet);
 * TMTAB_E_FULL when no cell or chunks are left; TMTAB_E_BUDGET when
 * tn_budget is set and tn_src holds its share of the cells already;
 * -errno from a lock.
 */
int	tmtab_begin(const struct tmtab_new *n, uint64_t now,
	    struct tmtab_ref *ret_ref, struct tmtab_out *out);
/*
 * The transaction with key, if there is one (a request that is not an
 * ACK retransmitted): 0 and, in out, a TMTAB_SEND of the last reply
 * sent upstream (nothing when none was sent yet); TMTAB_E_NOTFOUND;
 * -errno from a lock. Nothing is created.
 */
int	tmtab_find(uint64_t key, struct tmtab_out *out);
/*
 * Forgets a transaction that sent nothing (its request was dropped).
 */
void	tmtab_abandon(struct tmtab_ref ref);
/*
 * A reply sipd made for the transaction (100, or a final it answers
 * itself, or a local 408) was sent upstream: remembered for
 * retransmissions; a final one completes the transaction (an INVITE's
 * non-2xx is resent, T1 doubling to T2, until its ACK or Timer H).
 */
int	tmtab_reply(struct tmtab_ref ref, int code, const char *msg,
	    size_t len, uint64_t now);
/*
 * The copies are about to be sent: retransmission (T1 doubling to T2
 * until a reply) and the final-response timer start: fr_ms from now;
 * when quiet_ms is not 0 and shorter, the transaction ends after
 * quiet_ms already if no branch has answered at all by then (Timer B).
 * n <= TMTAB_BRANCHES.
 */
int	tmtab_branches(struct tmtab_ref ref, const struct tmtab_branch *b,
	    unsigned n, uint64_t fr_ms, uint64_t quiet_ms, uint64_t now);

/*
 * A reply received for branch `branch` of ref (parsed by the caller
 * from sipd's branch parameter), code its status, cancel whether its
 * CSeq method is CANCEL; stripped = the reply without sipd's Via, as it
 * would go upstream. Fills out with §16.7's choice: the reply (or the
 * best final) to send upstream, the ACK of a non-2xx on an INVITE
 * branch, CANCELs of the other branches after a 2xx or 6xx, or of this
 * branch when the transaction was cancelled before it answered.
 * TMTAB_E_NOTFOUND when the transaction is gone.
 */
int	tmtab_response(struct tmtab_ref ref, int branch, int code,
	    bool cancel, const char *stripped, size_t len, uint64_t now,
	    struct tmtab_out *out);

/*
 * The request of ref as received, copied into out as one TMTAB_LOCAL_408
 * act (ta_dst = where it came from), so that a reply sipd could not
 * pass on by Via can be rebuilt from it. 0; TMTAB_E_NOTFOUND when the
 * transaction is gone; TMTAB_E_FULL when out has no room.
 */
int	tmtab_request(struct tmtab_ref ref, struct tmtab_out *out);

/*
 * A CANCEL for the INVITE with key invite_key: CANCELs of the pending
 * branches that answered (the others get theirs when they do) into
 * out. 0; TMTAB_E_NOTFOUND (481); TMTAB_E_FINAL (already answered: 200
 * and nothing else).
 */
int	tmtab_cancel(uint64_t invite_key, uint64_t now, struct tmtab_out *out);

/*
 * An ACK whose INVITE has key invite_key: 0 when it acknowledges a
 * non-2xx final sipd sent (absorbed; the cell is freed); else
 * TMTAB_E_NOTFOUND (an ACK for a 2xx: routed in the dialog).
 */
int	tmtab_ack(uint64_t invite_key, uint64_t now);

/*
 * Timers due at now, one stripe at a time: retransmissions up and
 * down, CANCELs, 408s (TMTAB_LOCAL_408), cells freed. Stops early when
 * out is full; what is left stays due. Run by one process.
 */
void	tmtab_timers(uint64_t now, struct tmtab_out *out);

/* For MI and tests. */
struct tmtab_usage {
	unsigned	tu_cap;
	unsigned	tu_cells;	/* in use */
	unsigned	tu_chunks_total;
	unsigned	tu_chunks;	/* in use */
	unsigned	tu_chunks_max;	/* high-water mark (bump index) */
	unsigned	tu_cell_bytes;	/* shm per cell (cell + hash link) */
	unsigned	tu_chunk_bytes;	/* shm per pool chunk */
	unsigned	tu_src_budget;	/* cells per source */
	unsigned	tu_src_max;	/* most cells one source slot holds */
};
void	tmtab_usage(struct tmtab_usage *ret);
/*
 * Locks of the table held by pid (a process that just died: its locks
 * are taken over by their next user) and takeovers since start.
 */
void	tmtab_locks(pid_t pid, unsigned *ret_held, unsigned *ret_recovered);

/*
 * Tests only: walks every chain with every lock held (stripes in order,
 * then the pool; robust locks left by the dead are taken over here), so
 * no one else may use the table meanwhile. 0 when the bucket chains,
 * the free lists and the stored messages are well formed (every index
 * in range, nothing reachable twice, linked cells live in their own
 * bucket, free cells free), -EBADMSG when not, -ENOMEM, -ENXIO. What a
 * crash left reachable nowhere is counted in *ret, not an error.
 */
struct tmtab_check {
	unsigned	tk_linked;	/* cells in bucket chains */
	unsigned	tk_free;	/* cells on the free list */
	unsigned	tk_lost_cells;	/* handed out, reachable nowhere */
	unsigned	tk_held;	/* chunks in linked cells' messages */
	unsigned	tk_chunks_free;	/* chunks on the free list */
	unsigned	tk_lost_chunks;	/* handed out, reachable nowhere */
	int		tk_cells_drift;	/* th_cells_used - handed out */
	int		tk_chunks_drift; /* th_chunks_used - handed out */
};
int	tmtab_check(struct tmtab_check *ret);

/*
 * Tests only: called with a step name between the stores of every
 * change to the table, so that a test can SIGKILL itself at any step.
 * NULL (and never set) in sipd.
 */
extern void	(*tmtab_step_hook)(const char *step);

#endif
