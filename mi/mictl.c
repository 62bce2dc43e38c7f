/*
 * mictl: command-line client of the sipd MI socket (SPEC §7). Sends one
 * JSON-RPC 2.0 request line, reads the one response line and prints it
 * the way Kamailio's sercmd does, or as JSON with -j, record by record
 * while it arrives (mictl_stream.c). A process of its own, run by the
 * administrator; it never talks to sipd otherwise.
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
#include "mictl_scan.h"
#include "mictl_stream.h"

#define MICTL_SOCKET		"/run/sipd/sipd.sock"
#define MICTL_ENV_SOCKET	"SIPD_MI_SOCKET"
#define MICTL_TIMEOUT		60	/* s without any reply byte */

#define MICTL_EXIT_OK		0
#define MICTL_EXIT_ERROR	1
#define MICTL_EXIT_FAIL		2

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

	/* what was printed of a streamed result goes out first */
	fflush(stdout);
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

int
main(int argc, char *argv[])
{
	struct mictl_scan	 sc;
	const char	*path;
	char		*req, *end;
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
	mictl_scan_init(&sc, fd);
	status = mictl_stream_reply(&sc, json_out);
	close(fd);
	mictl_scan_clear(&sc);
	if (status == -1)
		mictl_fail("%s", sc.sc_err);
	if (fflush(stdout) == EOF || ferror(stdout))
		mictl_fail("stdout: %s", strerror(errno));
	return status == MICTL_STREAM_ERROR ? MICTL_EXIT_ERROR :
	    MICTL_EXIT_OK;
}
