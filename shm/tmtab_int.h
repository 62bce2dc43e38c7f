/*
 * tmtab_int.h: what tmtab.c and tmtab_check.c share: the layout of the
 * transaction table in shm (tmtab.h tells the rules), the process's
 * pointers into it, and the step hook the crash tests use. Nothing
 * outside shm/tmtab*.c includes it.
 */
#ifndef SIPD_TMTAB_INT_H
#define SIPD_TMTAB_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "shm_lock.h"
#include "tmtab.h"

#define TM_MAGIC	0x746d7462U	/* "tmtb" */
#define TM_NONE		0U		/* end of a chain (indexes are +1) */
#define TM_DATA		(TMTAB_CHUNK - sizeof(uint32_t))

enum tm_cstate {
	TC_FREE = 0,
	TC_PROCEEDING,		/* no final reply sent upstream yet */
	TC_COMPLETED		/* final sent; waiting for ACK or free_at */
};

enum tm_bstate {
	TB_EMPTY = 0,
	TB_SENT,		/* copy sent, nothing heard */
	TB_PROV,		/* a provisional arrived */
	TB_FINAL		/* a final arrived, or it timed out */
};

enum tm_cancel {
	TX_NONE = 0,
	TX_PENDING,		/* to send when a provisional arrives */
	TX_SENT,		/* sent, retransmitted until answered */
	TX_DONE
};

/* A stored message: a chain of chunks. */
struct tm_blob {
	uint32_t	 tb_head;	/* chunk index + 1; TM_NONE = empty */
	uint32_t	 tb_len;
};

struct tm_br {
	uint8_t		 br_state;	/* enum tm_bstate */
	uint8_t		 br_cancel;	/* enum tm_cancel */
	uint16_t	 br_code;	/* final code heard (408: timed out) */
	uint8_t		 br_heard;	/* a real final came (not a timeout) */
	uint16_t	 br_sock;
	uint16_t	 br_retr_ivl;	/* ms */
	uint16_t	 br_cancel_ivl;	/* ms */
	uint64_t	 br_retr_at;	/* 0: no retransmission */
	uint64_t	 br_cancel_at;	/* 0: none */
	uint64_t	 br_cancel_end;	/* give up retransmitting CANCEL */
	union tmtab_addr br_dst;
	struct tm_blob	 br_msg;	/* the copy as sent */
};

struct tm_cell {
	uint32_t	 tc_gen;
	uint32_t	 tc_bucket;
	uint8_t		 tc_state;	/* enum tm_cstate */
	uint8_t		 tc_invite;
	uint8_t		 tc_nbr;
	uint8_t		 tc_canceled;
	uint8_t		 tc_path;	/* enum stats_path */
	uint16_t	 tc_final;	/* code sent upstream, once final */
	uint16_t	 tc_best_code;	/* of tc_best */
	uint16_t	 tc_sock;
	uint16_t	 tc_src_slot;	/* tm_src counter + 1; 0: none */
	uint16_t	 tc_g_ivl;	/* Timer G interval, ms */
	uint64_t	 tc_fr_final;	/* the final-reply deadline, once a
					   provisional came; 0: applied */
	uint64_t	 tc_fr_at;	/* 0: none */
	uint64_t	 tc_g_at;	/* 0: none */
	uint64_t	 tc_free_at;	/* 0: none */
	union tmtab_addr tc_up;
	union tmtab_addr tc_src;	/* where the request came from */
	struct tm_blob	 tc_req;	/* request as received */
	struct tm_blob	 tc_resp;	/* last reply sent upstream */
	struct tm_blob	 tc_best;	/* best final held back */
	struct tm_br	 tc_br[TMTAB_BRANCHES];
};

/*
 * What lookups and the timer walk read, apart from the cells (which
 * are large): one line-sized entry per cell. tl_next chains a bucket
 * (stripe lock) or the free list (pool lock); tl_due is the cell's
 * earliest timer (0: none) as of its last change.
 */
struct tm_link {
	uint64_t	 tl_key;
	uint64_t	 tl_due;
	uint32_t	 tl_next;	/* index + 1 */
	uint32_t	 tl_live;
};

struct tm_stripe {
	struct shm_lock		 tx_lock;
	_Atomic uint64_t	 tx_due;	/* earliest timer; 0 = none */
} __attribute__((aligned(TMTAB_SHM_ALIGN)));

struct tm_chunk {
	uint32_t	 ck_next;
	char		 ck_data[TM_DATA];
};

struct tm_head {
	uint32_t		 th_magic;
	uint32_t		 th_cap;
	uint32_t		 th_nbuckets;	/* power of two */
	uint32_t		 th_nchunks;
	struct tm_stripe	 th_stripes[TMTAB_STRIPES];
	struct shm_lock		 th_pool_lock;
	/* pool lock: */
	uint32_t		 th_cell_free;	/* index + 1 */
	uint32_t		 th_cell_bump;
	uint32_t		 th_cells_used;
	uint32_t		 th_chunk_free;	/* index + 1 */
	uint32_t		 th_chunk_bump;
	uint32_t		 th_chunks_used;
	uint32_t		 th_src_budget;	/* constant: cells per source */
};

/* This process's view of the table (tmtab_create() sets them). */
extern struct tm_head		*tm_hdr;
extern _Atomic uint32_t		*tm_buckets;	/* stripe lock; index + 1 */
extern _Atomic uint64_t		*tm_bdue;	/* stripe lock; 0 = no timer */
extern struct tm_cell		*tm_cells;
/*
 * Cells held per hashed source (atomics, no lock): raised before a cell
 * is linked, lowered when it is freed. A process killed between the
 * two costs its source one cell of budget until restart, never more.
 */
extern _Atomic uint32_t		*tm_src;
extern struct tm_link		*tm_links;
extern struct tm_chunk		*tm_chunks;

/*
 * Between two stores a crash may separate: the compiler may not move
 * stores across it, and the tests' hook (tmtab_step_hook) may kill us
 * here.
 */
#define TM_STEP(name) do {						\
	atomic_signal_fence(memory_order_seq_cst);			\
	if (tmtab_step_hook != NULL)					\
		tmtab_step_hook(name);					\
	atomic_signal_fence(memory_order_seq_cst);			\
} while (0)

#endif
