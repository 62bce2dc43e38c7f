/*
 * loctab: the location table (usrloc) in the shared mapping.
 *
 * The master sizes it with loctab_shm_size_add() and carves it with
 * loctab_create() before it forks; every worker and the master then use
 * the same struct loctab *. The table has hash_size buckets, each with
 * its own robust process-shared lock, and room for max_contacts
 * bindings fixed at start: nothing is allocated afterwards.
 *
 * Everything that leaves this module is a copy: lookups and dumps fill
 * caller-owned struct loctab_binding arrays, so no pointer into shm is
 * ever used outside its lock (STYLE.md, shared memory rule 2). Every
 * call takes at most one bucket lock at a time and does bounded work
 * under it (one AoR, or one bucket for scans).
 *
 * Results: 0 ok; a positive LOCTAB_E_* for outcomes the caller turns
 * into a SIP or MI answer; a negative errno for failures of the locks
 * (which cannot happen unless the mapping is damaged). Nothing here
 * logs.
 */
#ifndef SIPD_LOCTAB_H
#define SIPD_LOCTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct loctab;

/*
 * Longest value of each column, in bytes; longer input is refused.
 * Kamailio's location column sizes, so that any row it writes loads.
 */
#define LOCTAB_AOR_MAX		128	/* user, or user@domain */
#define LOCTAB_CONTACT_MAX	512
#define LOCTAB_RECEIVED_MAX	128
#define LOCTAB_PATH_MAX		512
#define LOCTAB_CALLID_MAX	255
#define LOCTAB_UA_MAX		255
#define LOCTAB_SOCKET_MAX	64

#define LOCTAB_SAVE_MAX		16	/* contacts in one loctab_save() */
#define LOCTAB_HASH_MAX		65536	/* buckets */
#define LOCTAB_CAPACITY_MAX	(1U << 26)	/* bindings */

#define LOCTAB_Q_UNSET		(-1)	/* q is -1 or 0..1000 */
#define LOCTAB_Q_MAX		1000
#define LOCTAB_METHODS_ALL	0xffffffffU
#define LOCTAB_PERMANENT	(-1L)	/* loctab_contact lc_expires */
/* Same Call-ID and CSeq this young: a retransmission (kamailio 2.4). */
#define LOCTAB_CSEQ_DELAY	20
/* What loctab_add() (MI ul.add) stores, in the spirit of Kamailio's. */
#define LOCTAB_MI_CALLID	"dfjrewr12386fd6-343@sipd.mi"
#define LOCTAB_MI_CSEQ		1
#define LOCTAB_MI_UA		"SIP Router MI Server"

/* Positive outcomes; nothing in the table changed when one is returned. */
#define LOCTAB_E_NOTFOUND	1	/* no such AoR / contact */
#define LOCTAB_E_CSEQ		2	/* same Call-ID, CSeq not higher: 400 */
#define LOCTAB_E_TOO_MANY	3	/* over max per AoR: 503 */
#define LOCTAB_E_FULL		4	/* no room in the table: 503 */
#define LOCTAB_E_TOOLONG	5	/* a string over its LOCTAB_*_MAX */
#define LOCTAB_E_BIG		6	/* more than LOCTAB_SAVE_MAX contacts */
#define LOCTAB_E_INVAL		7	/* empty AoR or contact, bad q */
#define LOCTAB_E_SPACE		8	/* caller's array too small */
#define LOCTAB_E_EXPIRED	9	/* loaded row already expired */

/* Binding states (kamailio-facts 2.1). */
enum loctab_cstate {
	LOCTAB_CS_NEW = 0,	/* not yet written to storage */
	LOCTAB_CS_DIRTY = 1,	/* changed since written */
	LOCTAB_CS_SYNC = 2	/* same as in storage */
};

/* Input bytes; may hold NUL bytes. ls_ptr may be NULL when ls_len is 0. */
struct loctab_str {
	const char	*ls_ptr;
	size_t		 ls_len;
};

/*
 * One binding copied out of the table. Every string is also
 * NUL-terminated, but may hold NUL bytes: use the lengths.
 */
struct loctab_binding {
	char		 lb_aor[LOCTAB_AOR_MAX + 1];
	char		 lb_contact[LOCTAB_CONTACT_MAX + 1];
	char		 lb_received[LOCTAB_RECEIVED_MAX + 1];
	char		 lb_path[LOCTAB_PATH_MAX + 1];
	char		 lb_callid[LOCTAB_CALLID_MAX + 1];
	char		 lb_user_agent[LOCTAB_UA_MAX + 1];
	char		 lb_socket[LOCTAB_SOCKET_MAX + 1];
	unsigned short	 lb_aor_len;
	unsigned short	 lb_contact_len;
	unsigned short	 lb_received_len;
	unsigned short	 lb_path_len;
	unsigned short	 lb_callid_len;
	unsigned short	 lb_user_agent_len;
	unsigned short	 lb_socket_len;
	time_t		 lb_expires;	/* absolute; 0 = permanent */
	time_t		 lb_last_modified;
	int		 lb_q;		/* LOCTAB_Q_UNSET or 0..1000 */
	uint32_t	 lb_cseq;
	uint32_t	 lb_flags;
	uint32_t	 lb_cflags;
	uint32_t	 lb_methods;	/* LOCTAB_METHODS_ALL = all */
	enum loctab_cstate lb_state;
	unsigned	 lb_bucket;	/* hash slot, for ul.dump order */
	uint32_t	 lb_hash;	/* loctab_aor_hash() of the AoR */
};

/* One Contact of a REGISTER. */
struct loctab_contact {
	struct loctab_str lc_uri;	/* matched byte-exact */
	struct loctab_str lc_received;	/* empty: none */
	struct loctab_str lc_path;	/* empty: none */
	long		 lc_expires;	/* s; 0 removes; LOCTAB_PERMANENT */
	int		 lc_q;		/* LOCTAB_Q_UNSET or 0..1000 */
	uint32_t	 lc_methods;
	uint32_t	 lc_flags;
	uint32_t	 lc_cflags;
};

/* A REGISTER, applied by loctab_save() in one locked operation. */
struct loctab_save {
	struct loctab_str sv_aor;	/* lower-cased/unescaped by caller */
	struct loctab_str sv_callid;
	struct loctab_str sv_user_agent;
	struct loctab_str sv_socket;	/* "udp:IP:PORT" or empty */
	time_t		 sv_now;
	uint32_t	 sv_cseq;
	int		 sv_star;	/* Contact: * (Expires: 0) */
	int		 sv_force;	/* skip the CSeq rule (MI ul.add) */
	unsigned	 sv_max_per_aor; /* 0 = no limit */
	const struct loctab_contact *sv_contacts;
	unsigned	 sv_ncontacts;	/* 0: just list the bindings */
};

/*
 * A binding read back from storage at start-up: one contact with the
 * absolute times storage keeps. The caller turns its rows into these
 * (the AoR already joined, q already 0..1000); lr_contact.lc_expires
 * is not used.
 */
struct loctab_row {
	struct loctab_str lr_aor;
	struct loctab_str lr_callid;
	struct loctab_str lr_user_agent;
	struct loctab_str lr_socket;
	struct loctab_contact lr_contact;
	uint32_t	 lr_cseq;
	time_t		 lr_expires;	/* absolute; 0 = permanent */
	time_t		 lr_last_modified;
};

/* A string pool (size class) in loctab_stats. */
struct loctab_pool_stats {
	unsigned	 ps_block;	/* bytes per block, header included */
	unsigned	 ps_count;	/* blocks carved */
	unsigned	 ps_used;	/* blocks handed out */
	unsigned	 ps_touched;	/* blocks ever handed out (resident) */
};

#define LOCTAB_NCLASSES		12

struct loctab_stats {
	unsigned	 st_hash_size;
	unsigned	 st_capacity;	/* usrloc.max_contacts */
	unsigned	 st_records;	/* AoRs (ul.dump Records) */
	unsigned	 st_max_slots;	/* most AoRs in one bucket */
	unsigned	 st_bindings;
	unsigned	 st_recoveries;	/* bucket locks taken from the dead */
	uint64_t	 st_changes;	/* loctab_changes() */
	uint64_t	 st_expired;	/* removed by loctab_expire() */
	struct loctab_pool_stats st_rec_pool;	/* fixed binding records */
	struct loctab_pool_stats st_classes[LOCTAB_NCLASSES];
};

/*
 * Called by loctab_copy_bucket_visit() outside any lock with the n
 * bindings of one bucket, AoR by AoR (an AoR's bindings are adjacent,
 * in q order). Returns 0 to go on, anything else to stop (returned).
 */
typedef int	loctab_visit_fn(void *arg, unsigned bucket,
	    const struct loctab_binding *b, unsigned n);

/*
 * Bytes of shm the table needs, to add to the master's running size
 * exactly as shm_size_add() does (the carves made by loctab_create(),
 * in order). loctab_shm_size() is the same from scratch, with room for
 * any alignment of the running size. SIZE_MAX for bad arguments.
 */
size_t	loctab_shm_size_add(size_t acc, unsigned hash_size,
	    unsigned max_contacts);
size_t	loctab_shm_size(unsigned hash_size, unsigned max_contacts);
/*
 * Carves and initialises the table: master, before fork. hash_size is
 * 1..LOCTAB_HASH_MAX, max_contacts 1..LOCTAB_CAPACITY_MAX. 0, -EINVAL,
 * -ENOMEM (the mapping is too small) or the -errno of shm_lock_init().
 */
int	loctab_create(unsigned hash_size, unsigned max_contacts,
	    struct loctab **ret_table);

/* The bucket an AoR hashes to (FNV-1a 32, murmur3 finaliser). */
unsigned loctab_bucket_of(const struct loctab *lt, const char *aor,
	    size_t len);
unsigned loctab_hash_size(const struct loctab *lt);

/*
 * REGISTER. Applies every contact (or the star) under the AoR's bucket
 * lock; on success out[] gets the AoR's current bindings (q highest
 * first, then older first) and *ret_n their number (more than out_max
 * when out was short; only out_max are copied). LOCTAB_E_TOO_MANY also
 * fills out[] with the unchanged list, for the 503. Every other
 * outcome leaves the table as it was, except that bindings of the AoR
 * that had already expired may be gone.
 */
int	loctab_save(struct loctab *lt, const struct loctab_save *req,
	    struct loctab_binding *out, unsigned out_max, unsigned *ret_n);
/*
 * MI ul.add: inserts or replaces one binding, no CSeq rule. expires is
 * in seconds from now; 0 makes the binding permanent.
 */
int	loctab_add(struct loctab *lt, struct loctab_str aor,
	    struct loctab_str contact, long expires, int q, time_t now);
/*
 * Start-up load of one stored binding (state CS_SYNC, no CSeq rule).
 * LOCTAB_E_EXPIRED (row skipped) when 0 < lr_expires <= now.
 */
int	loctab_insert_loaded(struct loctab *lt, const struct loctab_row *row,
	    time_t now);

/*
 * The start-up load of many rows: loctab_loader_insert() is
 * loctab_insert_loaded() (same results, same places in the lists)
 * without the walk of a bucket per new AoR. The loader lives in the
 * caller's memory (malloc); it is valid only while nothing but it
 * changes the table: the master before it forks. 0 or -ENOMEM/-EIO.
 */
struct loctab_loader;
int	loctab_loader_new(struct loctab *lt,
	    struct loctab_loader **ret_loader);
int	loctab_loader_insert(struct loctab_loader *ll,
	    const struct loctab_row *row, time_t now);
void	loctab_loader_free(struct loctab_loader *ll);

/*
 * Valid bindings (not expired at now) of an AoR into out, as
 * loctab_save(). LOCTAB_E_NOTFOUND when there are none.
 */
int	loctab_lookup(struct loctab *lt, struct loctab_str aor, time_t now,
	    struct loctab_binding *out, unsigned out_max, unsigned *ret_n);
/* MI ul.rm and ul.rm_contact. 0 or LOCTAB_E_NOTFOUND. */
int	loctab_rm_aor(struct loctab *lt, struct loctab_str aor);
int	loctab_rm_contact(struct loctab *lt, struct loctab_str aor,
	    struct loctab_str contact);

/*
 * Removes every binding with 0 < expires <= now, one bucket lock at a
 * time; returns how many. The master's one-second timer only. Buckets
 * whose earliest expiry lies after now are skipped without their lock,
 * so a pass over a big idle table costs one load per bucket.
 */
unsigned loctab_expire(struct loctab *lt, time_t now);

/*
 * Copies bucket's bindings into out (two-phase dump: copy under the
 * lock, process after). *ret_n is the number of bindings in the
 * bucket; LOCTAB_E_SPACE when that is more than out_max (nothing
 * useful copied: grow out and call again).
 */
int	loctab_copy_bucket(struct loctab *lt, unsigned bucket,
	    struct loctab_binding *out, unsigned out_max, unsigned *ret_n);
/*
 * Every bucket in order through loctab_copy_bucket(), fn called outside
 * the lock for each non-empty one. buf is scratch of *buf_max entries
 * from malloc() (NULL/0 to start): grown with realloc() as needed and
 * left for the caller to free(). 0, fn's non-zero result, or -ENOMEM.
 */
int	loctab_visit(struct loctab *lt, loctab_visit_fn *fn, void *arg,
	    struct loctab_binding **buf, unsigned *buf_max);

/*
 * Flush support. loctab_changes() grows on every change of a binding
 * (not on state changes): equal values mean nothing to write. Take it
 * before copying the table out; once written, loctab_mark_synced()
 * turns NEW and DIRTY into SYNC for the bindings not changed since
 * that snapshot. Returns how many it turned.
 */
uint64_t loctab_changes(const struct loctab *lt);
unsigned loctab_mark_synced(struct loctab *lt, uint64_t snapshot);

/*
 * Incremental flush (loctab_sync.c). An AoR's rows in storage are
 * replaced as a group, named by the AoR's hash (stable across runs) and
 * bucket. loctab_copy_unsynced() copies out what bucket b must write:
 * the bindings of every AoR with a NEW or DIRTY binding or one that lost
 * a binding since the last call, their hashes in us_hash; or, with
 * us_all, every binding of the bucket (its rows are all replaced). It
 * forgets the lost bindings it reports: a caller whose write then fails
 * must rewrite the table whole. LOCTAB_E_SPACE (nothing forgotten) when
 * out_max is short of the bucket's bindings.
 */
#define LOCTAB_UNSYNCED_MAX	32
struct loctab_unsynced {
	unsigned	 us_nbind;	/* in out */
	unsigned	 us_nhash;
	bool		 us_all;
	uint32_t	 us_hash[LOCTAB_UNSYNCED_MAX];
};
int	loctab_copy_unsynced(struct loctab *lt, unsigned b,
	    struct loctab_binding *out, unsigned out_max,
	    struct loctab_unsynced *ret);
uint32_t loctab_aor_hash(const char *aor, size_t len);
/*
 * Storage has rows of aor that the table will not hold (dropped at
 * load): the next incremental flush replaces them. 0 or a lock error.
 */
int	loctab_note_gone(struct loctab *lt, const char *aor, size_t len);

/* For MI ul.dump Stats and core.shmmem; takes the locks one by one. */
void	loctab_stats(struct loctab *lt, struct loctab_stats *ret);
/*
 * Walks every bucket and the free lists checking the invariants: 0 or
 * -EBADMSG. Exact only when no one else is changing the table (tests,
 * or the master after the workers stopped).
 */
int	loctab_check(struct loctab *lt);

/*
 * Master, after reaping a dead worker: how many locks of the table (the
 * bucket locks and the free lock) that pid held when it died, and the
 * first such bucket. The next locker repairs them; this is for the log.
 */
unsigned loctab_locks_held_by(const struct loctab *lt, pid_t pid,
	    unsigned *ret_first);
/* Takeovers of the table's locks from dead owners since start. */
unsigned loctab_lock_recoveries(const struct loctab *lt);

/*
 * Tests only: called with a step name between the stores of every
 * change to the table, so that a test can SIGKILL itself at any step.
 * NULL (and never set) in sipd.
 */
extern void	(*loctab_step_hook)(const char *step);

#endif
