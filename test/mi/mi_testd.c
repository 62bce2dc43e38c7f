/*
 * mi_testd: the MI server alone in a libevent loop, for test_mi.py.
 * It stands in for the sipd master: log/proc/shm are stubbed here, and
 * test.* commands exercise whole, failing and streamed replies.
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
#include "log.h"
#include "mi_cmd.h"
#include "mi_reply.h"
#include "mi_server.h"
#include "proc.h"
#include "shm.h"

/* --- stubs of the master's modules ------------------------------- */

static int	testd_debug;
static time_t	testd_start;

static void
testd_vlog(const char *kind, int with_errno, const char *fmt, va_list ap)
{
	int	saved = errno;

	fprintf(stderr, "mi_testd: %s: ", kind);
	vfprintf(stderr, fmt, ap);
	if (with_errno)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
}

#define TESTD_LOG(name, kind, e, cond)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list	ap;							\
									\
	if (!(cond))							\
		return;							\
	va_start(ap, fmt);						\
	testd_vlog(kind, e, fmt, ap);					\
	va_end(ap);							\
}
TESTD_LOG(log_warn, "warning", 1, 1)
TESTD_LOG(log_warnx, "warning", 0, 1)
TESTD_LOG(log_info, "info", 0, 1)
TESTD_LOG(log_debug, "debug", 0, testd_debug)

static struct proc_entry testd_procs[3];

int
proc_count(void)
{
	return 3;
}

const struct proc_entry *
proc_get(int i)
{
	return i >= 0 && i < 3 ? &testd_procs[i] : NULL;
}

time_t
proc_start_time(void)
{
	return testd_start;
}

void
shm_usage(struct shm_usage *ret)
{
	ret->su_total = 33554432;
	ret->su_used = 1048576;
	ret->su_free = 33554432 - 1048576;
	ret->su_max_used = 1048576;
	ret->su_fragments = 7;
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

static const struct mi_cmd testd_cmds[] = {
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
	struct conf		 c;
	struct errbuf		 errs = ERRBUF_INIT;
	int			 rc;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: mi_testd SOCKET [MODE [GROUP]]\n");
		return 2;
	}
	testd_debug = getenv("MI_TESTD_DEBUG") != NULL;
	testd_start = time(NULL) - 42;
	testd_procs[0] = (struct proc_entry){ PROC_MASTER, 0, getpid(),
	    testd_start, "attendant" };
	testd_procs[1] = (struct proc_entry){ PROC_WORKER, 1, 0, 0,
	    "udp receiver child=0 (respawning)" };
	testd_procs[2] = (struct proc_entry){ PROC_WORKER, 2, getpid() + 1,
	    testd_start, "udp receiver child=1 sock=udp:127.0.0.1:5060" };

	memset(&c, 0, sizeof(c));
	snprintf(c.c_mi_socket, sizeof(c.c_mi_socket), "%s", argv[1]);
	c.c_mi_mode = argc > 2 ? (mode_t)strtol(argv[2], NULL, 8) : 0600;
	if (argc > 3)
		snprintf(c.c_mi_group, sizeof(c.c_mi_group), "%s", argv[3]);

	if ((base = event_base_new()) == NULL)
		return 1;
	if (mi_cmd_register(testd_cmds,
	    sizeof(testd_cmds) / sizeof(testd_cmds[0])) != 0 ||
	    mi_cmd_register(testd_cmds, 1) != -EEXIST)
		return 1;
	if ((rc = mi_server_start(base, &c, &errs)) != 0) {
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
	return 0;
}
