/*
 * mi_testd: the MI server alone in a libevent loop, for test_mi.py.
 * It stands in for the sipd master behind mi/mi_daemon.h: a fake
 * process list, log, config and flush, with real shm tables (location
 * table, counters, run-time config) so that the ul.*, stats.* and cfg.*
 * handlers run as in sipd. test.* commands exercise whole, failing and
 * streamed replies and let test_mi.py see and steer the fake.
 *
 * usage: mi_testd SOCKET [MODE [GROUP]]
 * Prints "ready" on stdout once listening; SIGTERM stops it cleanly.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "errbuf.h"
#include "loctab.h"
#include "mi_cmd.h"
#include "mi_daemon.h"
#include "mi_reply.h"
#include "mi_server.h"
#include "runcfg.h"
#include "shm.h"
#include "stats.h"

/* --- the fake daemon (mi_daemon.h) ------------------------------- */

#define TESTD_NPROCS	3
#define TESTD_HASH	16
#define TESTD_CONTACTS	100

static int		 testd_debug;
static struct conf	 testd_conf;
static struct loctab	*testd_lt;
static pid_t		 testd_pids[TESTD_NPROCS];
static const char	*testd_descs[TESTD_NPROCS] = {
	"attendant",
	"udp receiver child=0 (respawning)",
	"udp receiver child=1 sock=udp:127.0.0.1:5060",
};
/* What the handlers asked of the fake; test.fake reports it. */
static unsigned		 testd_flushes;
static int		 testd_flush_fail;	/* md_flush fails */
static unsigned		 testd_conf_changes;

static struct loctab *
testd_loctab(void)
{
	return testd_lt;
}

static int
testd_flush(struct errbuf *errs)
{
	testd_flushes++;
	if (!testd_flush_fail)
		return 0;
	errbuf_add(errs, "/fake/db/location", 0, "disk full");
	errbuf_add(errs, "/fake/db/location", 0, "old file kept");
	return -1;
}

static struct conf *
testd_get_conf(void)
{
	return &testd_conf;
}

/* As the master does: the workers' copy of the gateway, in runcfg. */
static void
testd_conf_changed(const struct conf *c)
{
	struct runcfg_gw	 gw;

	testd_conf_changes++;
	memset(&gw, 0, sizeof(gw));
	gw.rg_set = c->c_gw_set;
	gw.rg_match_port = c->c_gw_match_port;
	gw.rg_port = c->c_gw_port;
	snprintf(gw.rg_ip, sizeof(gw.rg_ip), "%s", c->c_gw_ip);
	runcfg_set_gw(&gw);
}

static int
testd_proc(int i, pid_t *ret_pid, const char **ret_desc)
{
	if (i < 0 || i >= TESTD_NPROCS)
		return -1;
	*ret_pid = testd_pids[i];
	*ret_desc = testd_descs[i];
	return 0;
}

/*
 * A fake clock: started 42 s before every call, so core.uptime is 42 (41
 * when the second turns inside the handler) however slow the test runs.
 */
static time_t
testd_start_time(void)
{
	return time(NULL) - 42;
}

static void
testd_vlog(enum mi_log_level level, const char *fmt, va_list ap)
{
	static const char *const kinds[] = {
		[MI_LOG_DEBUG] = "debug",
		[MI_LOG_INFO] = "info",
		[MI_LOG_NOTICE] = "notice",
		[MI_LOG_WARN] = "warning",
	};

	if (level == MI_LOG_DEBUG && !testd_debug)
		return;
	fprintf(stderr, "mi_testd: %s: ", kinds[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static const struct mi_daemon testd_daemon = {
	.md_loctab = testd_loctab,
	.md_flush = testd_flush,
	.md_conf = testd_get_conf,
	.md_conf_changed = testd_conf_changed,
	.md_proc = testd_proc,
	.md_start_time = testd_start_time,
	.md_vlog = testd_vlog,
};

/* The shm tables the handlers use: location table, counters, runcfg. */
static int
testd_shm(void)
{
	size_t	 size;

	size = shm_size_base();
	size = loctab_shm_size_add(size, TESTD_HASH, TESTD_CONTACTS);
	size = shm_size_add(size, stats_shm_size(1), STATS_SHM_ALIGN);
	size = shm_size_add(size, runcfg_shm_size(), RUNCFG_SHM_ALIGN);
	if (shm_create(size) != 0 ||
	    loctab_create(TESTD_HASH, TESTD_CONTACTS, &testd_lt) != 0 ||
	    stats_create(1) != 0 || runcfg_create() != 0)
		return -1;
	stats_set_row(0);
	return 0;
}

/* --- test commands ------------------------------------------------ */

/* A ul.dump look-alike: one call = one "hash slot" of 10 AoRs. */
struct testd_dump {
	long	td_n;		/* AoRs to emit */
	long	td_next;
	int	td_fail_at;	/* fail when td_next reaches it, -1 never */
	int	td_misuse;
};

static unsigned long	testd_gen_calls;	/* of the current dump */
static int		testd_live_dumps;

static void
testd_dump_free(void *arg)
{
	testd_live_dumps--;
	free(arg);
}

static int
testd_dump_gen(struct mi_stream *s, void *arg)
{
	struct testd_dump	*d = arg;
	char			 aor[64];
	long			 end;

	testd_gen_calls++;
	if (d->td_fail_at == 0 && d->td_next == 0) {
		mi_stream_error(s, 404, "AOR not found");
		return MI_STREAM_FAIL;
	}
	if (d->td_next == 0) {
		if (d->td_misuse) {
			mi_stream_cstr(s, NULL, "no key in an object?");
			mi_stream_obj_open(s, NULL);
			mi_stream_cstr(s, NULL, "missing key");
			return MI_STREAM_MORE;
		}
		mi_stream_obj_open(s, NULL);
		mi_stream_cstr(s, "Domain", "location");
		mi_stream_int(s, "Size", 512);
		mi_stream_arr_open(s, "AoRs");
	}
	if (d->td_fail_at > 0 && d->td_next >= d->td_fail_at) {
		mi_stream_error(s, 500, "table vanished");
		return MI_STREAM_FAIL;
	}
	end = d->td_next + 10 < d->td_n ? d->td_next + 10 : d->td_n;
	for (; d->td_next < end; d->td_next++) {
		snprintf(aor, sizeof(aor), "user%ld", d->td_next);
		mi_stream_obj_open(s, NULL);
		mi_stream_cstr(s, "AoR", aor);
		mi_stream_arr_open(s, "Contacts");
		mi_stream_obj_open(s, NULL);
		mi_stream_obj_open(s, "Contact");
		mi_stream_cstr(s, "Address", "sip:x@127.0.0.1:5060");
		mi_stream_int(s, "Expires", 3600);
		mi_stream_real(s, "Q", d->td_next % 2 ? 0.5 : -1);
		mi_stream_cstr(s, "User-Agent",
		    "pytest-ua/1.0 padding padding padding padding padding");
		mi_stream_obj_close(s);
		mi_stream_obj_close(s);
		mi_stream_arr_close(s);
		mi_stream_obj_close(s);
	}
	if (d->td_next < d->td_n)
		return MI_STREAM_MORE;
	mi_stream_arr_close(s);
	mi_stream_obj_open(s, "Stats");
	mi_stream_int(s, "Records", d->td_n);
	mi_stream_int(s, "Max-Slots", 1);
	mi_stream_obj_close(s);
	if (mi_stream_obj_close(s) == -1)
		return MI_STREAM_FAIL;
	return MI_STREAM_DONE;
}

static void
testd_start_dump(struct mi_reply *r, long n, int fail_at, int misuse)
{
	struct testd_dump	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		mi_reply_error(r, 500, "out of memory");
		return;
	}
	d->td_n = n;
	d->td_fail_at = fail_at;
	d->td_misuse = misuse;
	testd_gen_calls = 0;
	testd_live_dumps++;
	mi_reply_stream(r, testd_dump_gen, d, testd_dump_free);
}

static void
testd_cmd_stream(struct mi_reply *r, int argc, char *const *argv)
{
	long	n;

	if (mi_arg_long(r, "count", argv[0], 0, 10000000, &n) == -1)
		return;
	testd_start_dump(r, n, -1, 0);
}

static void
testd_cmd_fail_early(struct mi_reply *r, int argc, char *const *argv)
{
	testd_start_dump(r, 10, 0, 0);
}

static void
testd_cmd_fail_late(struct mi_reply *r, int argc, char *const *argv)
{
	testd_start_dump(r, 100000, 5000, 0);
}

static void
testd_cmd_misuse(struct mi_reply *r, int argc, char *const *argv)
{
	testd_start_dump(r, 10, -1, 1);
}

/* Arbitrary bytes, whole (jansson) and streamed. */
static const char testd_bytes[] = "a\"b\\c\n\td\0e\xe9" "f\xc3\xa9" "g\x01\x7f";

static void
testd_cmd_bytes(struct mi_reply *r, int argc, char *const *argv)
{
	mi_reply_set(r, json_pack("{s:o}", "v",
	    mi_json_string(testd_bytes, sizeof(testd_bytes) - 1)));
}

static int
testd_bytes_gen(struct mi_stream *s, void *arg)
{
	mi_stream_obj_open(s, NULL);
	mi_stream_str(s, "v", testd_bytes, sizeof(testd_bytes) - 1);
	mi_stream_obj_close(s);
	return MI_STREAM_DONE;
}

static void
testd_cmd_sbytes(struct mi_reply *r, int argc, char *const *argv)
{
	mi_reply_stream(r, testd_bytes_gen, NULL, NULL);
}

static void
testd_cmd_echo(struct mi_reply *r, int argc, char *const *argv)
{
	json_t	*a = json_array();
	int	 i;

	for (i = 0; i < argc; i++)
		json_array_append_new(a, json_string(argv[i]));
	mi_reply_set(r, a);
}

static void
testd_cmd_void(struct mi_reply *r, int argc, char *const *argv)
{
}

static void
testd_cmd_gen_calls(struct mi_reply *r, int argc, char *const *argv)
{
	mi_reply_set(r, json_pack("{s:I, s:i}", "calls",
	    (json_int_t)testd_gen_calls, "live", testd_live_dumps));
}

/* A struct with repeated names and nesting: sercmd rendering check. */
static void
testd_cmd_nested(struct mi_reply *r, int argc, char *const *argv)
{
	mi_reply_set(r, json_loads("{\"Domain\":\"location\",\"Size\":512,"
	    "\"AoRs\":[{\"AoR\":\"alice\",\"Contacts\":[{\"Contact\":"
	    "{\"Address\":\"sip:alice@127.0.0.1:5097\",\"Expires\":3600,"
	    "\"Q\":-1.0,\"Received\":\"[not set]\"}}]},{\"AoR\":\"bob\","
	    "\"Contacts\":[]}],\"Stats\":{\"Records\":2,\"Max-Slots\":1}}",
	    0, NULL));
}

/* test.flush_fail 0|1: make the fake's md_flush succeed or fail. */
static void
testd_cmd_flush_fail(struct mi_reply *r, int argc, char *const *argv)
{
	long	v;

	if (mi_arg_long(r, "fail", argv[0], 0, 1, &v) == -1)
		return;
	testd_flush_fail = (int)v;
}

/* test.fake: what the handlers asked of the fake daemon so far. */
static void
testd_cmd_fake(struct mi_reply *r, int argc, char *const *argv)
{
	struct runcfg_gw	 gw;

	memset(&gw, 0, sizeof(gw));
	(void)runcfg_gw(&gw);
	mi_reply_set(r, json_pack("{s:I, s:I, s:s, s:i, s:b, s:b}",
	    "flushes", (json_int_t)testd_flushes,
	    "conf_changes", (json_int_t)testd_conf_changes,
	    "runcfg_gw_ip", gw.rg_ip, "runcfg_gw_port", (int)gw.rg_port,
	    "runcfg_gw_set", gw.rg_set, "runcfg_match_port",
	    gw.rg_match_port));
}

/* test.count NAME N: adds N to the counter "group:name" (stats.h). */
static void
testd_cmd_count(struct mi_reply *r, int argc, char *const *argv)
{
	long	n;
	int	i;

	if (mi_arg_long(r, "n", argv[1], 0, 1000000, &n) == -1)
		return;
	for (i = 0; i < STATS__MAX; i++)
		if (strcmp(stats_name((enum stats_id)i), argv[0]) == 0) {
			stats_add((enum stats_id)i, (uint64_t)n);
			return;
		}
	mi_reply_error(r, 404, "no counter %s", argv[0]);
}

static const struct mi_cmd testd_cmds[] = {
	{ "test.flush_fail", "test.flush_fail 0|1 - fake flush fails", 1, 1,
	    testd_cmd_flush_fail },
	{ "test.fake", "test.fake - calls the fake daemon saw", 0, 0,
	    testd_cmd_fake },
	{ "test.count", "test.count NAME N - add N to a counter", 2, 2,
	    testd_cmd_count },
	{ "test.stream", "test.stream N - dump N fake AoRs", 1, 1,
	    testd_cmd_stream },
	{ "test.fail_early", "test.fail_early - stream failing at once",
	    0, 0, testd_cmd_fail_early },
	{ "test.fail_late", "test.fail_late - stream failing midway", 0, 0,
	    testd_cmd_fail_late },
	{ "test.misuse", "test.misuse - generator misusing emitters", 0, 0,
	    testd_cmd_misuse },
	{ "test.bytes", "test.bytes - odd bytes, whole", 0, 0,
	    testd_cmd_bytes },
	{ "test.sbytes", "test.sbytes - odd bytes, streamed", 0, 0,
	    testd_cmd_sbytes },
	{ "test.echo", "test.echo A [B [C]] - echo params", 1, 3,
	    testd_cmd_echo },
	{ "test.void", "test.void - no result", 0, MI_CMD_ANY_ARGS,
	    testd_cmd_void },
	{ "test.gen_calls", "test.gen_calls - generator calls so far", 0, 0,
	    testd_cmd_gen_calls },
	{ "test.nested", "test.nested - ul.dump shaped reply", 0, 0,
	    testd_cmd_nested },
};

/* --- main --------------------------------------------------------- */

static void
testd_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

int
main(int argc, char *argv[])
{
	struct event_base	*base;
	struct event		*sigterm;
	struct errbuf		 errs = ERRBUF_INIT;
	int			 rc;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: mi_testd SOCKET [MODE [GROUP]]\n");
		return 2;
	}
	testd_debug = getenv("MI_TESTD_DEBUG") != NULL;
	testd_pids[0] = getpid();
	testd_pids[2] = getpid() + 1;
	if (testd_shm() != 0) {
		fprintf(stderr, "mi_testd: cannot set up shm\n");
		return 1;
	}

	conf_defaults(&testd_conf);
	snprintf(testd_conf.c_mi_socket, sizeof(testd_conf.c_mi_socket), "%s",
	    argv[1]);
	testd_conf.c_mi_mode = argc > 2 ? (mode_t)strtol(argv[2], NULL, 8) :
	    0600;
	if (argc > 3)
		snprintf(testd_conf.c_mi_group, sizeof(testd_conf.c_mi_group),
		    "%s", argv[3]);

	if ((base = event_base_new()) == NULL)
		return 1;
	if (mi_cmd_register(testd_cmds,
	    sizeof(testd_cmds) / sizeof(testd_cmds[0])) != 0 ||
	    mi_cmd_register(testd_cmds, 1) != -EEXIST)
		return 1;
	if ((rc = mi_server_start(base, &testd_conf, &testd_daemon,
	    &errs)) != 0) {
		fprintf(stderr, "mi_testd: %s", errbuf_text(&errs));
		errbuf_free(&errs);
		event_base_free(base);
		mi_cmd_reset();
		return 3;
	}
	sigterm = evsignal_new(base, SIGTERM, testd_stop_cb, base);
	evsignal_add(sigterm, NULL);
	printf("ready\n");
	fflush(stdout);
	event_base_dispatch(base);

	mi_server_stop();
	event_free(sigterm);
	event_base_free(base);
	mi_cmd_reset();
	errbuf_free(&errs);
	shm_destroy();
	return 0;
}
