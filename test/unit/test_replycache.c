/*
 * test_replycache.c: unit tests for shm/replycache.c, the shared cache
 * of final replies to retransmitted requests.
 *
 * One cmocka process; each test makes a fresh mapping and cache (the
 * first one runs before any cache exists). The fork tests use real
 * children, as the master does; children never call cmocka and report
 * through their exit status.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fnv.h"
#include "replycache.h"
#include "shm.h"

#include "testutil.h"

#define NOW		1000000
#define WAIT_MS		10000
#define CHILD_ALARM	20
#define CHILDREN	4
#define ROUNDS		20000

static char			 got[REPLYCACHE_REPLY_MAX + 16];
static struct sockaddr_storage	 got_dst;
static socklen_t		 got_dstlen;
static size_t			 got_len;

static void
new_cache(void)
{
	size_t	 need;

	shm_destroy();
	need = shm_size_add(shm_size_base(), replycache_shm_size(),
	    REPLYCACHE_SHM_ALIGN);
	assert_true(need != SIZE_MAX);
	assert_int_equal(shm_create(need), 0);
	assert_int_equal(replycache_create(), 0);
}

static int
teardown(void **state)
{
	(void)state;
	shm_destroy();
	return 0;
}

static struct sockaddr_in
v4(const char *ip, uint16_t port)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return sin;
}

static int
store_str(uint64_t key, time_t now, const char *s, struct sockaddr_in *dst)
{
	return replycache_store(key, now, s, strlen(s),
	    (struct sockaddr *)dst, sizeof(*dst));
}

static int
lookup(uint64_t key, time_t now)
{
	return replycache_lookup(key, now, got, sizeof(got), &got_len,
	    &got_dst, &got_dstlen);
}

/* The reply a fork test stores for key: its bytes tell the key. */
static size_t
fill_reply(char *buf, uint64_t key)
{
	size_t	 n, i;

	n = 100 + (size_t)(key % 1000);
	for (i = 0; i < n; i++)
		buf[i] = (char)('a' + (key + i) % 26);
	return n;
}

static int
reply_ok(const char *buf, size_t len, uint64_t key)
{
	char	 want[REPLYCACHE_REPLY_MAX];
	size_t	 n;

	n = fill_reply(want, key);
	return len == n && memcmp(buf, want, n) == 0;
}

/* Must run first: no cache has been made in this process yet. */
static void
test_not_created(void **state)
{
	struct sockaddr_in	 dst = v4("192.0.2.1", 5060);

	(void)state;
	assert_int_equal(lookup(1, NOW), -ENXIO);
	assert_int_equal(store_str(1, NOW, "x", &dst), -ENXIO);
}

static void
test_hash(void **state)
{
	uint64_t	 a, b;

	(void)state;
	/* Field boundaries count: ("ab", "c") is not ("a", "bc"). */
	a = fnv_field(fnv_field(FNV_INIT, "ab", 2),
	    "c", 1);
	b = fnv_field(fnv_field(FNV_INIT, "a", 1),
	    "bc", 2);
	assert_true(a != b);
	/* Empty fields count too. */
	a = fnv_field(FNV_INIT, "", 0);
	assert_true(a != FNV_INIT);
	b = fnv_field(fnv_field(FNV_INIT, "ab", 2),
	    "c", 1);
	a = fnv_field(fnv_field(FNV_INIT, "ab", 2),
	    "c", 1);
	assert_true(a == b);
}

static void
test_store_lookup(void **state)
{
	struct sockaddr_in	 dst = v4("192.0.2.7", 5070), *sin;
	struct sockaddr_in6	 d6, *s6;
	const char		*r1 =
	    "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";

	(void)state;
	new_cache();
	assert_int_equal(lookup(42, NOW), REPLYCACHE_E_MISS);
	assert_int_equal(store_str(42, NOW, r1, &dst), 0);
	assert_int_equal(lookup(42, NOW), 0);
	assert_int_equal(got_len, strlen(r1));
	assert_memory_equal(got, r1, got_len);
	assert_int_equal(got_dstlen, sizeof(struct sockaddr_in));
	sin = (struct sockaddr_in *)&got_dst;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 5070);
	assert_memory_equal(&sin->sin_addr, &dst.sin_addr,
	    sizeof(dst.sin_addr));
	/* Other keys miss. */
	assert_int_equal(lookup(43, NOW), REPLYCACHE_E_MISS);
	/* A buffer too small: an error, the out params untouched. */
	got_len = 7;
	assert_int_equal(replycache_lookup(42, NOW, got, strlen(r1) - 1,
	    &got_len, &got_dst, &got_dstlen), -ENOBUFS);
	assert_int_equal(got_len, 7);
	/* Key 0 is usable (it is the empty mark inside). */
	assert_int_equal(store_str(0, NOW, "zero", &dst), 0);
	assert_int_equal(lookup(0, NOW), 0);
	assert_memory_equal(got, "zero", 4);

	/* IPv6 destination, the whole sockaddr_in6 back. */
	memset(&d6, 0, sizeof(d6));
	d6.sin6_family = AF_INET6;
	d6.sin6_port = htons(5062);
	d6.sin6_scope_id = 3;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", &d6.sin6_addr), 1);
	assert_int_equal(replycache_store(77, NOW, "v6", 2,
	    (struct sockaddr *)&d6, sizeof(d6)), 0);
	assert_int_equal(lookup(77, NOW), 0);
	assert_int_equal(got_dstlen, sizeof(d6));
	s6 = (struct sockaddr_in6 *)&got_dst;
	assert_memory_equal(s6, &d6, sizeof(d6));
}

static void
test_expiry(void **state)
{
	struct sockaddr_in	 dst = v4("192.0.2.1", 5060);

	(void)state;
	new_cache();
	assert_int_equal(store_str(5, NOW, "401", &dst), 0);
	assert_int_equal(lookup(5, NOW + REPLYCACHE_TTL - 1), 0);
	assert_int_equal(lookup(5, NOW + REPLYCACHE_TTL), REPLYCACHE_E_MISS);
	assert_int_equal(lookup(5, NOW + 3600), REPLYCACHE_E_MISS);
	/* The clock stepped back: not trusted. */
	assert_int_equal(lookup(5, NOW - 1), REPLYCACHE_E_MISS);
	/* A new store of the same key starts a new life. */
	assert_int_equal(store_str(5, NOW + 100, "200", &dst), 0);
	assert_int_equal(lookup(5, NOW + 100 + REPLYCACHE_TTL - 1), 0);
	assert_memory_equal(got, "200", 3);
}

static void
test_collision_overwrite(void **state)
{
	struct sockaddr_in	 d1 = v4("192.0.2.1", 5060);
	struct sockaddr_in	 d2 = v4("192.0.2.2", 5061);
	uint64_t		 k;

	(void)state;
	new_cache();
	/* The same key again: the newer reply wins. */
	assert_int_equal(store_str(1000, NOW, "first", &d1), 0);
	assert_int_equal(store_str(1000, NOW, "second", &d2), 0);
	assert_int_equal(lookup(1000, NOW), 0);
	assert_int_equal(got_len, 6);
	assert_memory_equal(got, "second", 6);
	assert_int_equal(ntohs(((struct sockaddr_in *)&got_dst)->sin_port),
	    5061);

	/*
	 * Find a key that shares 1000's slot: store keys until 1000 is
	 * gone. Direct-mapped, so one is found within a few times the
	 * slot count.
	 */
	for (k = 2000; k < 2000 + 64 * REPLYCACHE_SLOTS; k++) {
		assert_int_equal(store_str(k, NOW, "other", &d1), 0);
		if (lookup(1000, NOW) == REPLYCACHE_E_MISS)
			break;
	}
	assert_true(k < 2000 + 64 * REPLYCACHE_SLOTS);
	/* The slot holds k, and 1000's reply never comes back for k. */
	assert_int_equal(lookup(k, NOW), 0);
	assert_memory_equal(got, "other", 5);
	/* 1000 back in: k is the one gone now. */
	assert_int_equal(store_str(1000, NOW, "again", &d2), 0);
	assert_int_equal(lookup(k, NOW), REPLYCACHE_E_MISS);
	assert_int_equal(lookup(1000, NOW), 0);
	assert_memory_equal(got, "again", 5);
}

static void
test_too_big(void **state)
{
	static char		 big[REPLYCACHE_REPLY_MAX + 1];
	struct sockaddr_in	 dst = v4("192.0.2.1", 5060);
	struct sockaddr		 unix_sa;

	(void)state;
	new_cache();
	memset(big, 'x', sizeof(big));
	assert_int_equal(replycache_store(9, NOW, big, sizeof(big),
	    (struct sockaddr *)&dst, sizeof(dst)), -EMSGSIZE);
	assert_int_equal(lookup(9, NOW), REPLYCACHE_E_MISS);
	assert_int_equal(replycache_store(9, NOW, big, 0,
	    (struct sockaddr *)&dst, sizeof(dst)), -EMSGSIZE);
	assert_int_equal(lookup(9, NOW), REPLYCACHE_E_MISS);
	/* Exactly the maximum fits. */
	assert_int_equal(replycache_store(9, NOW, big, REPLYCACHE_REPLY_MAX,
	    (struct sockaddr *)&dst, sizeof(dst)), 0);
	assert_int_equal(lookup(9, NOW), 0);
	assert_int_equal(got_len, REPLYCACHE_REPLY_MAX);
	/* A destination that is not IPv4/IPv6, or cut short. */
	memset(&unix_sa, 0, sizeof(unix_sa));
	unix_sa.sa_family = AF_UNIX;
	assert_int_equal(replycache_store(10, NOW, "x", 1, &unix_sa,
	    sizeof(unix_sa)), -EINVAL);
	assert_int_equal(replycache_store(10, NOW, "x", 1,
	    (struct sockaddr *)&dst, sizeof(dst) - 1), -EINVAL);
	assert_int_equal(lookup(10, NOW), REPLYCACHE_E_MISS);
}

/* Parent stores, child reads it and stores another; parent reads that. */
static void
test_across_fork(void **state)
{
	struct sockaddr_in	 dst = v4("198.51.100.9", 5060);
	pid_t			 pid;
	int			 status;

	(void)state;
	new_cache();
	assert_int_equal(store_str(111, NOW, "from master", &dst), 0);
	pid = testutil_fork();
	assert_true(pid != -1);
	if (pid == 0) {
		struct sockaddr_in	 d2 = v4("198.51.100.10", 5090);
		int			 ok;

		alarm(CHILD_ALARM);
		ok = lookup(111, NOW + 1) == 0 && got_len == 11 &&
		    memcmp(got, "from master", 11) == 0 &&
		    store_str(222, NOW + 1, "from worker", &d2) == 0;
		_exit(ok ? 0 : 1);
	}
	status = testutil_reap(pid, WAIT_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(lookup(222, NOW + 2), 0);
	assert_int_equal(got_len, 11);
	assert_memory_equal(got, "from worker", 11);
	assert_int_equal(ntohs(((struct sockaddr_in *)&got_dst)->sin_port),
	    5090);
}

/*
 * Workers store and look up keys that crowd a few slots at once: every
 * hit must be the whole reply of its own key, never a torn or foreign
 * one.
 */
static void
test_concurrent(void **state)
{
	struct sockaddr_in	 dst = v4("192.0.2.3", 5060);
	pid_t			 pids[CHILDREN];
	int			 i, status;

	(void)state;
	new_cache();
	for (i = 0; i < CHILDREN; i++) {
		pids[i] = testutil_fork();
		assert_true(pids[i] != -1);
		if (pids[i] == 0) {
			char		 buf[REPLYCACHE_REPLY_MAX];
			uint64_t	 key;
			size_t		 n;
			int		 r, bad = 0;
			long		 j;

			alarm(CHILD_ALARM);
			srandom((unsigned)getpid());
			for (j = 0; j < ROUNDS; j++) {
				/* 64 keys (not 0: it shares 1's entry). */
				key = 1 + (uint64_t)(random() % 64);
				if (j % 3 == 0) {
					n = fill_reply(buf, key);
					if (replycache_store(key, NOW, buf, n,
					    (struct sockaddr *)&dst,
					    sizeof(dst)) != 0)
						bad++;
					continue;
				}
				r = lookup(key, NOW);
				if (r == 0 && !reply_ok(got, got_len, key))
					bad++;
				else if (r != 0 && r != REPLYCACHE_E_MISS)
					bad++;
			}
			_exit(bad == 0 ? 0 : 1);
		}
	}
	for (i = 0; i < CHILDREN; i++) {
		status = testutil_reap(pids[i], WAIT_MS);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_created),
		cmocka_unit_test(test_hash),
		cmocka_unit_test_teardown(test_store_lookup, teardown),
		cmocka_unit_test_teardown(test_expiry, teardown),
		cmocka_unit_test_teardown(test_collision_overwrite, teardown),
		cmocka_unit_test_teardown(test_too_big, teardown),
		cmocka_unit_test_teardown(test_across_fork, teardown),
		cmocka_unit_test_teardown(test_concurrent, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
