/*
 * tmtab_test.h: what the two tmtab unit test programs share (shm/tmtab.c
 * on a fake clock): a fresh table per test, one action list and its
 * scratch, the messages and addresses, and the assertions on actions.
 * test_tmtab.c tests one process; test_tmtab_fork.c forks workers and
 * kills them.
 */
#ifndef SIPD_TMTAB_TEST_H
#define SIPD_TMTAB_TEST_H

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "shm.h"
#include "tmtab.h"

#include "testutil.h"


#define T0		1000000		/* fake clock, ms */
#define CAP		16
#define FR_MS		30000		/* fr timer of the tests */
#define FAR		(10 * 1000 * 1000)	/* past every timer */
#define WAIT_MS		10000		/* bounded reap */
#define CHILD_ALARM	30
#define NACTS		32
#define SCRATCH		(256 * 1024)
#define SLACK		(1024 * 1024)	/* see test_chunk_count */
#define DATA		(TMTAB_CHUNK - sizeof(uint32_t)) /* per chunk */

#define SOCK_IN		3
#define SOCK_BR		7


extern struct tmtab_act	 acts[NACTS];
extern char		 scratch[SCRATCH];
extern struct tmtab_out	 out;
extern union tmtab_addr	 up, src, bdst[TMTAB_BRANCHES];
extern const char *const brmsg[TMTAB_BRANCHES];
extern const char REQ[], MSG[], R100[], R180[], R183[], R200[], R302[],
    R407[], R408[], R480[], R486[], R487a[], R487b[], R603[], R200C[];

union tmtab_addr addr4(const char *ip, uint16_t port);
/* up, src and bdst[] */
void	init_addrs(void);
/* out, emptied */
struct tmtab_out *O(void);
/* a fresh mapping holding just one table of cap cells */
void	new_table(unsigned cap);
int	teardown(void **state);
void	assert_usage(unsigned cells, unsigned chunks);
void	assert_empty(void);
/* runs the timers at now; returns how many actions they gave */
unsigned timers(uint64_t now);
/* action i of out is exactly this */
void	assert_act(unsigned i, int kind, struct tmtab_ref ref, int branch,
	    const char *msg, size_t len);
/* tmtab_begin() of a request from src (not charged to its budget) */
int	begin_n(uint64_t key, bool invite, const char *req, size_t len,
	    uint64_t now, struct tmtab_ref *ref);
/* The same, charged to the source's budget when budget is set. */
int	begin_nb(uint64_t key, bool invite, const char *req, size_t len,
	    uint64_t now, bool budget, struct tmtab_ref *ref);
/* a new transaction: 0, a real ref, nothing to send */
struct tmtab_ref begin_ok(uint64_t key, bool invite);
/* a retransmitted request: 0, no ref; returns how many actions */
unsigned begin_again(uint64_t key, bool invite);
/* n branches (brmsg[] to bdst[]) sent at now; quiet_ms: Timer B or 0 */
void	branches_p(struct tmtab_ref ref, unsigned n, uint64_t fr_ms,
	    uint64_t quiet_ms, uint64_t now);
void	branches(struct tmtab_ref ref, unsigned n, uint64_t fr_ms,
	    uint64_t now);
/* a reply on branch br; returns how many actions */
unsigned resp(struct tmtab_ref ref, int br, int code, const char *s,
	    uint64_t now);
/* the answer to sipd's CANCEL on branch br: never sends anything */
void	cancel_ok(struct tmtab_ref ref, int br, uint64_t now);
int	reply(struct tmtab_ref ref, int code, const char *s, uint64_t now);

#define ACT(i, kind, ref, br, s) \
	assert_act((i), (kind), (ref), (br), (s), strlen(s))
#define UP(i, ref, s)		ACT((i), TMTAB_SEND, (ref), -1, (s))
#define ACK(i, ref, b) \
	ACT((i), TMTAB_SEND_ACK, (ref), (b), brmsg[b])
#define CANCEL(i, ref, b) \
	ACT((i), TMTAB_SEND_CANCEL, (ref), (b), brmsg[b])
#define RESEND(i, ref, b)	ACT((i), TMTAB_SEND, (ref), (b), brmsg[b])

#endif
