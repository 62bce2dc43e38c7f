/*
 * test_shm.c: unit tests for the resident-page accounting of shm/shm.c
 * (core.shmmem real_used, /metrics sipd_shm_*_resident_bytes).
 *
 * shm.c is compiled into this program with its clock replaced, so that
 * a test can step past SHM_RESIDENT_TTL without sleeping: the sliced
 * walk of shm_resident_step() must count, table by table, what a whole
 * walk over each table counts (a page two tables share counts for
 * both), and readers must not walk once the stepper runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <time.h>
#include <cmocka.h>

static time_t	 test_now = 100;

static int
test_clock(clockid_t id, struct timespec *ts)
{
	(void)id;
	ts->tv_sec = test_now;
	ts->tv_nsec = 0;
	return 0;
}

#define clock_gettime	test_clock
#include "shm.c"
#undef clock_gettime

#define MB	(1024 * 1024)

/* What a whole walk over each table counts now, clamped as shm_tables(). */
static void
expected(size_t *ret, size_t n)
{
	size_t	 i, start, end, r;

	for (i = 0; i < n; i++) {
		shm_table_span(i, &start, &end);
		r = shm_resident_range(start, end - start);
		ret[i] = r < end - start ? r : end - start;
	}
}

static void
test_resident_step(void **state)
{
	static const size_t	 sz[3] = { 10 * MB, 4097, 50 * MB };
	static const char *const names[3] = { "a", "b", "c" };
	struct shm_table_usage	 u[SHM_TABLES_MAX];
	size_t			 want[3], whole, i, n, ps = shm_page_size();
	char			*p[3];

	(void)state;
	assert_int_equal(shm_create(80 * MB), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(shm_table_begin(names[i], NULL), 0);
		assert_non_null(p[i] = shm_carve(sz[i], 64));
	}
	for (i = 0; i < sz[0]; i += 3 * ps)
		p[0][i] = 1;
	p[1][0] = p[1][4096] = 1;	/* shares pages with a and c */
	for (i = 0; i < sz[2]; i += 7 * ps)
		p[2][i] = 1;

	/* Without the stepper: a reader walks (at most every TTL s). */
	assert_int_equal(shm_tables(u, SHM_TABLES_MAX), 3);
	expected(want, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(u[i].tu_real_used, want[i]);
	whole = shm_resident();
	assert_int_equal(whole, shm_resident_range(0, shm_len));

	/* The first step counts at once; later touches wait for a pass. */
	shm_resident_step();
	p[0][ps] = 1;
	p[2][sz[2] - 1] = 1;
	test_now += SHM_RESIDENT_TTL + 5;	/* readers would walk again */
	n = shm_tables(u, SHM_TABLES_MAX);
	for (i = 0; i < n; i++)
		assert_int_equal(u[i].tu_real_used, want[i]);
	assert_int_equal(shm_resident(), whole);

	/* A pass: 80 MB in 16 MB slices, then the new counts. */
	for (i = 0; i < 4; i++)
		shm_resident_step();
	assert_int_equal(shm_resident(), whole);	/* not done yet */
	for (i = 0; i < 4; i++)
		shm_resident_step();
	expected(want, 3);
	assert_true(want[0] > u[0].tu_real_used);
	n = shm_tables(u, SHM_TABLES_MAX);
	for (i = 0; i < n; i++)
		assert_int_equal(u[i].tu_real_used, want[i]);
	assert_int_equal(shm_resident(), shm_resident_range(0, shm_len));
	assert_true(shm_resident() > whole);

	/* No new pass before the TTL since the last one began. */
	p[2][ps] = 1;
	whole = shm_resident();
	for (i = 0; i < 10; i++)
		shm_resident_step();
	assert_int_equal(shm_resident(), whole);
	shm_destroy();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resident_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
