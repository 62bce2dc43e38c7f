/*
 * mictl: command-line client of the sipd MI socket (SPEC §7). Sends one
 * JSON-RPC 2.0 request line, reads the one response line and prints it
 * the way Kamailio's sercmd does, or as JSON with -j. A process of its
 * own, run by the administrator; it never talks to sipd otherwise.
 *
 * Exit status: 0 the command succeeded; 1 sipd answered with an error
 * (printed "error: CODE - TEXT" on stdout, as sercmd does); 2 usage, no
 * connection, or no complete reply. Rendering rules: mi/PROTOCOL.md.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"

#define MICTL_SOCKET		"/run/sipd/sipd.sock"
#define MICTL_ENV_SOCKET	"SIPD_MI_SOCKET"
#define MICTL_TIMEOUT		60	/* s without any reply byte */
/* Reply cap: a 100k-binding ul.dump is some tens of MB. */
#define MICTL_REPLY_MAX		((size_t)1 << 30)

#define MICTL_EXIT_OK		0
#define MICTL_EXIT_ERROR	1
#define MICTL_EXIT_FAIL		2

static void	mictl_render_members(const json_t *, int);
static void	mictl_render_elements(const json_t *, int);

static const struct option mictl_longopts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void __attribute__((noreturn))
mictl_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: mictl [-j] [-s SOCKET] [-t SECONDS] COMMAND [ARG]...\n"
	    "  -j          print the result as JSON\n"
	    "  -s SOCKET   MI socket (default $" MICTL_ENV_SOCKET " or "
	    MICTL_SOCKET ")\n"
	    "  -t SECONDS  give up when the server is silent that long "
	    "(default %d, 0 = never)\n"
	    "  -V, --version, -h, --help\n"
	    "  mictl ls    lists the commands; mictl help CMD (= "
	    "system.methodHelp CMD)\n"
	    "              explains one. See mictl(8).\n", MICTL_TIMEOUT);
	exit(status);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
mictl_fail(const char *fmt, ...)
{
	va_list	ap;

	fputs("mictl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(MICTL_EXIT_FAIL);
}

static int
mictl_connect(const char *path, int timeout)
{
	struct sockaddr_un	sun;
	struct timeval		tv = { timeout, 0 };
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		mictl_fail("%s: socket path too long", path);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		mictl_fail("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		mictl_fail("cannot connect to %s: %s", path, strerror(errno));
	if (timeout > 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		mictl_fail("setsockopt: %s", strerror(errno));
	return fd;
}

/* Params go as strings, always: the server converts (sercmd "s:" rule). */
static char *
mictl_request(const char *method, int argc, char **argv)
{
	json_t	*params, *req, *s, *m;
	char	*text;
	int	 i;

	if ((params = json_array()) == NULL)
		mictl_fail("out of memory");
	for (i = 0; i < argc; i++) {
		if ((s = json_string(argv[i])) == NULL)
			mictl_fail("argument %d is not valid UTF-8", i + 1);
		if (json_array_append_new(params, s) == -1)
			mictl_fail("out of memory");
	}
	if ((m = json_string(method)) == NULL)
		mictl_fail("command name is not valid UTF-8");
	req = json_pack("{s:s, s:o, s:o, s:i}", "jsonrpc", "2.0",
	    "method", m, "params", params, "id", 1);
	if (req == NULL ||
	    (text = json_dumps(req, JSON_COMPACT)) == NULL)
		mictl_fail("out of memory");
	json_decref(req);
	return text;
}

static void
mictl_send(int fd, const char *text)
{
	size_t	len = strlen(text), off = 0;
	ssize_t	n;

	while (off < len) {
		n = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			mictl_fail("send: %s", strerror(errno));
		off += (size_t)n;
	}
}

/* Reads up to the first LF; *ret_len excludes it. */
static char *
mictl_read_line(int fd, size_t *ret_len)
{
	char	*buf = NULL, *p, *nl;
	size_t	 len = 0, cap = 0, scan = 0;
	ssize_t	 n;

	for (;;) {
		if (cap - len < 65536) {
			if (cap >= MICTL_REPLY_MAX)
				mictl_fail("reply larger than %zu bytes",
				    MICTL_REPLY_MAX);
			cap = cap == 0 ? 131072 : cap * 2;
			if ((p = realloc(buf, cap)) == NULL)
				mictl_fail("out of memory for the reply");
			buf = p;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			mictl_fail("no reply from sipd in time");
		if (n == -1)
			mictl_fail("recv: %s", strerror(errno));
		if (n == 0)
			mictl_fail(len == 0 ? "connection closed without a "
			    "reply" : "reply truncated: connection closed");
		len += (size_t)n;
		if ((nl = memchr(buf + scan, '\n', len - scan)) != NULL) {
			*ret_len = (size_t)(nl - buf);
			return buf;
		}
		scan = len;
	}
}

static void
mictl_indent(int depth)
{
	while (depth-- > 0)
		putchar('\t');
}

/*
 * A scalar as sercmd prints it: strings raw, integers as integers,
 * reals with %f (Kamailio's Q: 0.500000, -1.000000), null empty.
 */
static void
mictl_scalar(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		fwrite(json_string_value(v), 1, json_string_length(v), stdout);
		break;
	case JSON_INTEGER:
		printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
		break;
	case JSON_REAL:
		printf("%f", json_real_value(v));
		break;
	case JSON_TRUE:
		fputs("true", stdout);
		break;
	case JSON_FALSE:
		fputs("false", stdout);
		break;
	default:
		break;
	}
}

static bool
mictl_is_container(const json_t *v)
{
	return json_is_object(v) || json_is_array(v);
}

/* "Name: value", or "Name: {" ... "}" for objects and arrays. */
static void
mictl_render_member(const char *name, const json_t *v, int depth)
{
	mictl_indent(depth);
	fputs(name, stdout);
	if (!mictl_is_container(v)) {
		fputs(": ", stdout);
		mictl_scalar(v);
		putchar('\n');
		return;
	}
	fputs(": {\n", stdout);
	if (json_is_object(v))
		mictl_render_members(v, depth + 1);
	else
		mictl_render_elements(v, depth + 1);
	mictl_indent(depth);
	fputs("}\n", stdout);
}

static void
mictl_render_members(const json_t *o, int depth)
{
	const char	*k;
	json_t		*v;

	json_object_foreach((json_t *)o, k, v)
		mictl_render_member(k, v, depth);
}

/*
 * Array elements inside a struct: an object's members are spliced in at
 * this level, so [{"AoR":"a","Contacts":[..]},{"AoR":"b",..}] prints as
 * sercmd's struct with repeated names (AoR:, Contacts:, AoR:, ...).
 */
static void
mictl_render_elements(const json_t *a, int depth)
{
	size_t	 i;
	json_t	*v;

	json_array_foreach((json_t *)a, i, v) {
		if (json_is_object(v))
			mictl_render_members(v, depth);
		else if (json_is_array(v))
			mictl_render_elements(v, depth);
		else {
			mictl_indent(depth);
			mictl_scalar(v);
			putchar('\n');
		}
	}
}

/* Every element an object of scalars only: a table such as core.ps. */
static bool
mictl_is_table(const json_t *a)
{
	const char	*k;
	json_t		*o, *v;
	size_t		 i;

	if (json_array_size(a) == 0)
		return false;
	json_array_foreach((json_t *)a, i, o) {
		if (!json_is_object(o) || json_object_size(o) == 0)
			return false;
		json_object_foreach(o, k, v)
			if (mictl_is_container(v))
				return false;
	}
	return true;
}

static void
mictl_render_top(const json_t *v)
{
	const char	*k;
	json_t		*o, *e;
	size_t		 i;
	bool		 first;

	if (json_is_object(v)) {
		puts("{");
		mictl_render_members(v, 1);
		puts("}");
	} else if (json_is_array(v) && mictl_is_table(v)) {
		/* sercmd ps: "pid<TAB>desc" per process */
		json_array_foreach((json_t *)v, i, o) {
			first = true;
			json_object_foreach(o, k, e) {
				if (!first)
					putchar('\t');
				mictl_scalar(e);
				first = false;
			}
			putchar('\n');
		}
	} else if (json_is_array(v)) {
		json_array_foreach((json_t *)v, i, e) {
			if (mictl_is_container(e))
				mictl_render_top(e);
			else {
				mictl_scalar(e);
				putchar('\n');
			}
		}
	} else if (!json_is_null(v)) {
		mictl_scalar(v);
		putchar('\n');
	}
}

int
main(int argc, char *argv[])
{
	const char	*path, *msg;
	json_error_t	 jerr;
	json_t		*rep, *err, *result;
	char		*req, *line, *end;
	size_t		 len;
	long		 t;
	int		 ch, fd, json_out = 0, timeout = MICTL_TIMEOUT;
	int		 status;

	if ((path = getenv(MICTL_ENV_SOCKET)) == NULL || path[0] == '\0')
		path = MICTL_SOCKET;
	/* "+": stop at the command, its args may start with '-'. */
	while ((ch = getopt_long(argc, argv, "+hjs:t:V", mictl_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			mictl_usage(MICTL_EXIT_OK);
		case 'j':
			json_out = 1;
			break;
		case 's':
			path = optarg;
			break;
		case 't':
			errno = 0;
			t = strtol(optarg, &end, 10);
			if (optarg[0] == '\0' || *end != '\0' || errno != 0 ||
			    t < 0 || t > INT_MAX)
				mictl_usage(MICTL_EXIT_FAIL);
			timeout = (int)t;
			break;
		case 'V':
			printf("mictl (sipd %s)\n", SIPD_VERSION);
			return MICTL_EXIT_OK;
		default:
			mictl_usage(MICTL_EXIT_FAIL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		mictl_usage(MICTL_EXIT_FAIL);

	/* sercmd habit: "help CMD" is the server's system.methodHelp. */
	if (strcmp(argv[0], "help") == 0 && argc == 2)
		argv[0] = (char *)"system.methodHelp";
	req = mictl_request(argv[0], argc - 1, argv + 1);
	fd = mictl_connect(path, timeout);
	mictl_send(fd, req);
	mictl_send(fd, "\n");
	free(req);
	line = mictl_read_line(fd, &len);
	close(fd);

	if ((rep = json_loadb(line, len, JSON_ALLOW_NUL, &jerr)) == NULL)
		mictl_fail("bad reply from sipd: %s", jerr.text);
	free(line);
	if (!json_is_object(rep))
		mictl_fail("bad reply from sipd: not an object");

	if ((err = json_object_get(rep, "error")) != NULL) {
		msg = json_string_value(json_object_get(err, "message"));
		printf("error: %" JSON_INTEGER_FORMAT " - ",
		    json_integer_value(json_object_get(err, "code")));
		if (msg != NULL)
			fwrite(msg, 1, json_string_length(
			    json_object_get(err, "message")), stdout);
		putchar('\n');
		status = MICTL_EXIT_ERROR;
	} else {
		if ((result = json_object_get(rep, "result")) == NULL)
			mictl_fail("bad reply from sipd: no result");
		if (json_out) {
			json_dumpf(result, stdout, JSON_INDENT(2) |
			    JSON_ENCODE_ANY);
			putchar('\n');
		} else
			mictl_render_top(result);
		status = MICTL_EXIT_OK;
	}
	json_decref(rep);
	if (fflush(stdout) == EOF || ferror(stdout))
		mictl_fail("stdout: %s", strerror(errno));
	return status;
}
