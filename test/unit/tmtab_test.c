/*
 * tmtab_test.c: the helpers and data of tmtab_test.h.
 */
#include "tmtab_test.h"

struct tmtab_act	 acts[NACTS];
char		 scratch[SCRATCH];
struct tmtab_out	 out;

union tmtab_addr	 up, src, bdst[TMTAB_BRANCHES];

/* What sipd forwarded on each branch of the tests. */
const char *const brmsg[TMTAB_BRANCHES] = {
	"INVITE sip:b0@198.51.100.10 SIP/2.0\r\nVia: b0\r\n\r\n",
	"INVITE sip:b1@198.51.100.11 SIP/2.0\r\nVia: b1\r\n\r\n",
	"INVITE sip:b2@198.51.100.12 SIP/2.0\r\nVia: b2-longer\r\n\r\n",
	"INVITE sip:b3@198.51.100.13 SIP/2.0\r\nVia: b3\r\n\r\n",
	"INVITE sip:b4@198.51.100.14 SIP/2.0\r\n\r\n",
	"INVITE sip:b5@198.51.100.15 SIP/2.0\r\n\r\n",
	"INVITE sip:b6@198.51.100.16 SIP/2.0\r\n\r\n",
	"INVITE sip:b7@198.51.100.17 SIP/2.0\r\n\r\n",
};

const char REQ[] = "INVITE sip:bob@example.org SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.2:5061;branch=z9hG4bKup\r\n\r\n";
const char MSG[] = "MESSAGE sip:bob@example.org SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.2:5061;branch=z9hG4bKm\r\n\r\nhello";
const char R100[] = "SIP/2.0 100 Trying\r\n\r\n";
const char R180[] = "SIP/2.0 180 Ringing\r\n\r\n";
const char R183[] = "SIP/2.0 183 Session Progress\r\n\r\n";
const char R200[] = "SIP/2.0 200 OK\r\n\r\n";
const char R302[] = "SIP/2.0 302 Moved Temporarily\r\n\r\n";
const char R407[] = "SIP/2.0 407 Proxy Authentication Required\r\n\r\n";
const char R408[] = "SIP/2.0 408 Request Timeout\r\n\r\n";
const char R480[] = "SIP/2.0 480 Temporarily Unavailable\r\n\r\n";
const char R486[] = "SIP/2.0 486 Busy Here\r\n\r\n";
const char R487a[] = "SIP/2.0 487 Request Terminated (a)\r\n\r\n";
const char R487b[] = "SIP/2.0 487 Request Terminated (b)\r\n\r\n";
const char R603[] = "SIP/2.0 603 Decline\r\n\r\n";
const char R200C[] = "SIP/2.0 200 OK (CANCEL)\r\n\r\n";


/* --- helpers ----------------------------------------------------------- */

union tmtab_addr
addr4(const char *ip, uint16_t port)
{
	union tmtab_addr	 a;

	memset(&a, 0, sizeof(a));
	a.sin.sin_family = AF_INET;
	a.sin.sin_port = htons(port);
	if (inet_pton(AF_INET, ip, &a.sin.sin_addr) != 1)
		abort();
	return a;
}

void
init_addrs(void)
{
	char	 ip[32];
	int	 i;

	up = addr4("192.0.2.1", 5060);
	src = addr4("192.0.2.2", 5061);
	for (i = 0; i < TMTAB_BRANCHES; i++) {
		(void)snprintf(ip, sizeof(ip), "198.51.100.%d", 10 + i);
		bdst[i] = addr4(ip, (uint16_t)(5070 + i));
	}
}

/* out, emptied. */
struct tmtab_out *
O(void)
{
	out.to_acts = acts;
	out.to_max = NACTS;
	out.to_n = 0;
	out.to_scratch = scratch;
	out.to_cap = sizeof(scratch);
	out.to_used = 0;
	return &out;
}

/* A fresh mapping holding just one table of cap cells. */
void
new_table(unsigned cap)
{
	size_t	 need;

	shm_destroy();
	need = shm_size_add(shm_size_base(), tmtab_shm_size(cap),
	    TMTAB_SHM_ALIGN);
	assert_true(need != SIZE_MAX);
	assert_int_equal(shm_create(need + SLACK), 0);
	assert_int_equal(tmtab_create(cap), 0);
	init_addrs();
	(void)O();
}

int
teardown(void **state)
{
	(void)state;
	shm_destroy();
	return 0;
}

void
assert_usage(unsigned cells, unsigned chunks)
{
	struct tmtab_usage	 u;

	tmtab_usage(&u);
	assert_int_equal(u.tu_cells, cells);
	assert_int_equal(u.tu_chunks, chunks);
	assert_true(u.tu_chunks_max <= u.tu_chunks_total);
}

void
assert_empty(void)
{
	assert_usage(0, 0);
}

/* Runs the timers at now; returns how many actions they gave. */
unsigned
timers(uint64_t now)
{
	tmtab_timers(now, O());
	return out.to_n;
}

/* Action i of out is exactly this. */
void
assert_act(unsigned i, int kind, struct tmtab_ref ref, int branch,
    const char *msg, size_t len)
{
	const struct tmtab_act	*a = &acts[i];
	const union tmtab_addr	*dst;
	unsigned		 sock;

	assert_true(i < out.to_n);
	assert_int_equal(a->ta_kind, kind);
	assert_int_equal(a->ta_ref.tr_idx, ref.tr_idx);
	assert_int_equal(a->ta_ref.tr_gen, ref.tr_gen);
	assert_int_equal(a->ta_branch, branch);
	if (branch < 0) {
		dst = kind == TMTAB_LOCAL_408 ? &src : &up;
		sock = SOCK_IN;
	} else {
		dst = &bdst[branch];
		sock = SOCK_BR + (unsigned)branch;
	}
	assert_int_equal(a->ta_sock, sock);
	assert_memory_equal(&a->ta_dst, dst, sizeof(*dst));
	assert_int_equal(a->ta_len, len);
	assert_non_null(a->ta_msg);
	assert_memory_equal(a->ta_msg, msg, len);
	/* the bytes are in the caller's scratch */
	assert_true(a->ta_msg >= scratch &&
	    a->ta_msg + len <= scratch + sizeof(scratch));
}


int
begin_nb(uint64_t key, bool invite, const char *req, size_t len,
    uint64_t now, bool budget, struct tmtab_ref *ref)
{
	struct tmtab_new	 n;

	memset(&n, 0, sizeof(n));
	n.tn_key = key;
	n.tn_invite = invite;
	n.tn_sock = SOCK_IN;
	n.tn_up = up;
	n.tn_src = src;
	n.tn_req = req;
	n.tn_reqlen = len;
	n.tn_budget = budget;
	return tmtab_begin(&n, now, ref, O());
}

int
begin_n(uint64_t key, bool invite, const char *req, size_t len,
    uint64_t now, struct tmtab_ref *ref)
{
	return begin_nb(key, invite, req, len, now, false, ref);
}

/* A new transaction: 0, a real ref, nothing to send. */
struct tmtab_ref
begin_ok(uint64_t key, bool invite)
{
	struct tmtab_ref	 ref;
	const char		*req = invite ? REQ : MSG;

	assert_int_equal(begin_n(key, invite, req, strlen(req), T0, &ref), 0);
	assert_true(ref.tr_idx < CAP);
	assert_int_equal(out.to_n, 0);
	return ref;
}

/* A retransmitted request: 0, no ref; returns how many actions. */
unsigned
begin_again(uint64_t key, bool invite)
{
	struct tmtab_ref	 ref;
	const char		*req = invite ? REQ : MSG;

	assert_int_equal(begin_n(key, invite, req, strlen(req), T0, &ref), 0);
	assert_int_equal(ref.tr_idx, UINT32_MAX);
	return out.to_n;
}

/*
 * n branches (brmsg[0..n-1] to bdst[]), sent at now; quiet_ms is the
 * limit when no branch answers at all (Timer B; 0: none).
 */
void
branches_p(struct tmtab_ref ref, unsigned n, uint64_t fr_ms,
    uint64_t quiet_ms, uint64_t now)
{
	struct tmtab_branch	 b[TMTAB_BRANCHES];
	unsigned		 i;

	for (i = 0; i < n; i++) {
		b[i].tb_sock = SOCK_BR + i;
		b[i].tb_dst = bdst[i];
		b[i].tb_msg = brmsg[i];
		b[i].tb_len = strlen(brmsg[i]);
	}
	assert_int_equal(tmtab_branches(ref, b, n, fr_ms, quiet_ms, now), 0);
}

void
branches(struct tmtab_ref ref, unsigned n, uint64_t fr_ms, uint64_t now)
{
	branches_p(ref, n, fr_ms, 0, now);
}

/* A reply on branch br; returns how many actions. */
unsigned
resp(struct tmtab_ref ref, int br, int code, const char *s, uint64_t now)
{
	assert_int_equal(tmtab_response(ref, br, code, false, s, strlen(s),
	    now, O()), 0);
	return out.to_n;
}

/* The answer to sipd's CANCEL on branch br: never sends anything. */
void
cancel_ok(struct tmtab_ref ref, int br, uint64_t now)
{
	assert_int_equal(tmtab_response(ref, br, 200, true, R200C,
	    strlen(R200C), now, O()), 0);
	assert_int_equal(out.to_n, 0);
}

int
reply(struct tmtab_ref ref, int code, const char *s, uint64_t now)
{
	return tmtab_reply(ref, code, s, strlen(s), now);
}

