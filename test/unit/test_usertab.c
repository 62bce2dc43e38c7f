/*
 * usertab: the subscriber table in shm. Adds, replaces and removals in
 * any order leave every remaining user findable (backward-shift
 * deletion, the last record moved into a hole), capacity is exact, and
 * a reader in another process sees a change at once.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "shm.h"
#include "trustab.h"
#include "usertab.h"

#define UT_CAP	64

static struct usertab	*ut;

/* A deliberately poor hash: many users share a home slot. */
static uint32_t
ut_hash(const char *user)
{
	return (uint32_t)(user[0] % 4);
}

static void
ut_user(struct usertab_user *u, const char *name, const char *pw)
{
	memset(u, 0, sizeof(*u));
	u->uu_hash = ut_hash(name);
	u->uu_user_len = (uint16_t)strlen(name);
	memcpy(u->uu_user, name, u->uu_user_len);
	u->uu_password_len = (uint16_t)strlen(pw);
	memcpy(u->uu_password, pw, u->uu_password_len);
	u->uu_flags = USERTAB_HAS_PASSWORD;
}

static int
ut_put(const char *name, const char *pw)
{
	struct usertab_user	 u;
	int			 rc;

	ut_user(&u, name, pw);
	usertab_write_begin(ut);
	rc = usertab_put(ut, &u);
	usertab_write_end(ut);
	return rc;
}

static int
ut_del(const char *name)
{
	int	 rc;

	usertab_write_begin(ut);
	rc = usertab_del(ut, ut_hash(name), name, strlen(name));
	usertab_write_end(ut);
	return rc;
}

static const char *
ut_pw(const char *name)
{
	static struct usertab_user	 u;

	if (usertab_get(ut, ut_hash(name), name, strlen(name), &u) != 0)
		return NULL;
	return u.uu_password;
}

static int
setup(void **state)
{
	(void)state;
	if (shm_create(usertab_shm_size(UT_CAP) + trustab_shm_size() + 4096)
	    != 0)
		return -1;
	return usertab_create(UT_CAP, &ut);
}

static int
teardown(void **state)
{
	(void)state;
	shm_destroy();
	return 0;
}

static void
test_put_get_replace(void **state)
{
	(void)state;
	assert_int_equal(ut_put("alice", "a1"), 0);
	assert_int_equal(ut_put("bob", "b1"), 0);
	assert_string_equal(ut_pw("alice"), "a1");
	assert_int_equal(ut_put("alice", "a2"), 0);	/* replace */
	assert_string_equal(ut_pw("alice"), "a2");
	assert_int_equal(usertab_count(ut), 2);
	assert_null(ut_pw("carol"));
	assert_null(ut_pw("alic"));
}

static void
test_delete_keeps_every_other_user(void **state)
{
	char	 name[16];
	int	 i, j;

	(void)state;
	usertab_write_begin(ut);
	usertab_clear(ut);
	usertab_write_end(ut);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "u%02d", i);
		assert_int_equal(ut_put(name, name), 0);
	}
	/* Remove in an order that cuts probe runs in the middle. */
	for (i = 0; i < 40; i += 3) {
		snprintf(name, sizeof(name), "u%02d", (i * 7) % 40);
		assert_int_equal(ut_del(name), 0);
		assert_int_equal(ut_del(name), -ENOENT);
		for (j = 0; j < 40; j++) {
			snprintf(name, sizeof(name), "u%02d", j);
			bool gone = false;
			for (int k = 0; k <= i; k += 3)
				gone |= (k * 7) % 40 == j;
			if (gone)
				assert_null(ut_pw(name));
			else
				assert_string_equal(ut_pw(name), name);
		}
	}
	assert_int_equal(usertab_count(ut), 40 - 14);
}

static void
test_capacity_is_exact(void **state)
{
	char	 name[16];
	int	 i;

	(void)state;
	usertab_write_begin(ut);
	usertab_clear(ut);
	usertab_write_end(ut);
	for (i = 0; i < UT_CAP; i++) {
		snprintf(name, sizeof(name), "c%03d", i);
		assert_int_equal(ut_put(name, "x"), 0);
	}
	assert_int_equal(ut_put("one-more", "x"), -ENOSPC);
	assert_int_equal(ut_put("c000", "y"), 0);	/* replace still works */
	assert_int_equal(ut_del("c010"), 0);
	assert_int_equal(ut_put("one-more", "x"), 0);
}

/*
 * Replacing users over and over fills the heap with garbage: it is
 * compacted in place, and every user keeps its latest record. Users
 * with every field at its limit fit max_users times.
 */
static void
test_compaction_and_full_records(void **state)
{
	struct usertab		*small;
	struct usertab_user	 u, got;
	static char		 mem[1 << 16] __attribute__((aligned(64)));
	char			 name[8], pw[USERTAB_PASSWORD_MAX + 1];
	int			 i, k;

	(void)state;
	assert_true(usertab_shm_size(4) <= sizeof(mem));
	memset(mem, 0, sizeof(mem));
	assert_int_equal(usertab_init(mem, 4, &small), 0);
	for (k = 0; k < 50; k++) {
		for (i = 0; i < 4; i++) {
			snprintf(name, sizeof(name), "c%d", i);
			snprintf(pw, sizeof(pw), "pw-%d-%d", i, k);
			ut_user(&u, name, pw);
			usertab_write_begin(small);
			assert_int_equal(usertab_put(small, &u), 0);
			usertab_write_end(small);
		}
	}
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		snprintf(pw, sizeof(pw), "pw-%d-49", i);
		assert_int_equal(usertab_get(small, ut_hash(name), name,
		    strlen(name), &got), 0);
		assert_string_equal(got.uu_password, pw);
	}
	/* Now four users at every limit, replacing the small ones. */
	usertab_write_begin(small);
	usertab_clear(small);
	usertab_write_end(small);
	memset(pw, 'p', USERTAB_PASSWORD_MAX);
	pw[USERTAB_PASSWORD_MAX] = '\0';
	for (i = 0; i < 4; i++) {
		ut_user(&u, "x", pw);
		memset(u.uu_user, 'a' + i, USERTAB_USER_MAX);
		u.uu_user_len = USERTAB_USER_MAX;
		u.uu_hash = (uint32_t)i;
		memset(u.uu_domain, 'd', USERTAB_DOMAIN_MAX);
		u.uu_domain_len = USERTAB_DOMAIN_MAX;
		memset(u.uu_ha1, 'f', USERTAB_HA1_MAX);
		memset(u.uu_ha1b, 'e', USERTAB_HA1_MAX);
		u.uu_flags |= USERTAB_HAS_HA1 | USERTAB_HAS_HA1B;
		usertab_write_begin(small);
		assert_int_equal(usertab_put(small, &u), 0);
		usertab_write_end(small);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(usertab_at(small, (unsigned)i, &got), 0);
		assert_int_equal(got.uu_user_len, USERTAB_USER_MAX);
		assert_int_equal(got.uu_password_len, USERTAB_PASSWORD_MAX);
		assert_memory_equal(got.uu_ha1b, "eeee", 4);
	}
	assert_int_equal(usertab_at(small, 4, &got), -ENOENT);
}

/* A spread hash (FNV-1a) for the growth test. */
static uint32_t
ut_fnv(const char *s)
{
	uint32_t	 h = 2166136261U;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619U;
	return h;
}

/* The index in use doubles as users come: all stay findable. */
static void
test_index_grows(void **state)
{
	struct usertab		*big;
	struct usertab_user	 u, got;
	void			*mem;
	char			 name[16];
	int			 i;

	(void)state;
	mem = calloc(1, usertab_shm_size(20000) + 64);
	assert_non_null(mem);
	assert_int_equal(usertab_init((void *)(((uintptr_t)mem + 63) &
	    ~(uintptr_t)63), 20000, &big), 0);
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "g%05d", i);
		ut_user(&u, name, name);
		u.uu_hash = ut_fnv(name);
		usertab_write_begin(big);
		assert_int_equal(usertab_put(big, &u), 0);
		usertab_write_end(big);
	}
	for (i = 0; i < 10000; i += 2) {
		snprintf(name, sizeof(name), "g%05d", i);
		usertab_write_begin(big);
		assert_int_equal(usertab_del(big, ut_fnv(name), name,
		    strlen(name)), 0);
		usertab_write_end(big);
	}
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "g%05d", i);
		assert_int_equal(usertab_get(big, ut_fnv(name), name,
		    strlen(name), &got), i % 2 ? 0 : -ENOENT);
		if (i % 2)
			assert_string_equal(got.uu_password, name);
	}
	assert_int_equal(usertab_count(big), 5000);
	free(mem);
}

static void
test_other_process_sees_changes(void **state)
{
	pid_t	 pid;
	int	 status, p[2];
	char	 c;

	(void)state;
	usertab_write_begin(ut);
	usertab_clear(ut);
	usertab_write_end(ut);
	assert_int_equal(pipe(p), 0);
	if ((pid = fork()) == 0) {
		/* Reader: waits for the writer's go, then looks. */
		alarm(10);
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(2);
		_exit(ut_pw("zed") != NULL &&
		    strcmp(ut_pw("zed"), "z") == 0 ? 0 : 1);
	}
	assert_int_equal(ut_put("zed", "z"), 0);
	assert_int_equal(write(p[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_replace),
		cmocka_unit_test(test_delete_keeps_every_other_user),
		cmocka_unit_test(test_capacity_is_exact),
		cmocka_unit_test(test_compaction_and_full_records),
		cmocka_unit_test(test_index_grows),
		cmocka_unit_test(test_other_process_sees_changes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
