/*
 * main: sipd's command line (SPEC §2). Parses flags and the config,
 * runs the check mode (-c) or hands over to the master.
 */
#include <getopt.h>
#include <stdbool.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conf.h"
#include "log.h"
#include "master.h"
#include "store.h"
#include "tables.h"

#define MAIN_MAX_OVERRIDES	64

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sipd [-f FILE] [-o KEY=VALUE]... [-D] [-E] [-c] [-V] [-h]\n"
	    "  -f FILE       config file (default %s/sipd.cfg)\n"
	    "  -o KEY=VALUE  override one config key (repeatable)\n"
	    "  -D            stay in the foreground\n"
	    "  -E            log to stderr instead of syslog\n"
	    "  -c            check config and tables, then exit\n"
	    "  -V, --version the version and how this sipd was built\n"
	    "  -h, --help    this help\n"
	    "See sipd(8), sipd.cfg(5), sipd-tables(5) and mictl(8).\n",
	    SIPD_SYSCONFDIR);
}

/* What a bug report needs: version, build, the libraries it runs on. */
static void
version(void)
{
	const char	*sq = store_sqlite_lib();

	printf("sipd %s\n", SIPD_VERSION);
	printf("build: %s, sanitizers: %s\n", SIPD_BUILD_TYPE,
	    SIPD_BUILD_SANITIZE[0] != '\0' && strcmp(SIPD_BUILD_SANITIZE,
	    "none") != 0 ? SIPD_BUILD_SANITIZE : "none");
	printf("storage: text (DB_TEXT)%s%s\n", sq ? ", sqlite " : "",
	    sq ? sq : "");
	printf("libevent %s, %s\n", event_get_version(),
	    OpenSSL_version(OPENSSL_VERSION));
}

int
main(int argc, char *argv[])
{
	static struct conf	 conf;
	struct errbuf		 errs = ERRBUF_INIT;
	char			*overrides[MAIN_MAX_OVERRIDES];
	const char		*file = SIPD_SYSCONFDIR "/sipd.cfg";
	bool			 foreground = false, to_stderr = false;
	bool			 check = false;
	int			 noverrides = 0, ch, rc;

	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	while ((ch = getopt_long(argc, argv, "f:o:DEcVh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'o':
			if (noverrides == MAIN_MAX_OVERRIDES) {
				fprintf(stderr, "sipd: too many -o options\n");
				return SIPD_EXIT_USAGE;
			}
			if (strchr(optarg, '=') == NULL) {
				fprintf(stderr, "sipd: -o %s: expected "
				    "KEY=VALUE\n", optarg);
				return SIPD_EXIT_USAGE;
			}
			overrides[noverrides++] = optarg;
			break;
		case 'D':
			foreground = true;
			break;
		case 'E':
			to_stderr = true;
			break;
		case 'c':
			check = true;
			break;
		case 'V':
			version();
			return SIPD_EXIT_OK;
		case 'h':
			usage(stdout);
			return SIPD_EXIT_OK;
		default:
			usage(stderr);
			return SIPD_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "sipd: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return SIPD_EXIT_USAGE;
	}

	conf_defaults(&conf);
	if (conf_load(&conf, file, overrides, noverrides, &errs) != 0) {
		fputs(errbuf_text(&errs), stderr);
		errbuf_free(&errs);
		return SIPD_EXIT_CONFIG;
	}
	errbuf_free(&errs);
	if (!SIPD_HAVE_REDIS && conf.c_cluster.cu_kind != CONF_CLUSTER_OFF) {
		fprintf(stderr, "sipd: cluster.redis: this sipd was built "
		    "without Redis (hiredis)\n");
		return SIPD_EXIT_CONFIG;
	}
	if (check) {
		rc = tables_check(&conf);
		if (rc == 0 && conf.c_cluster.cu_kind != CONF_CLUSTER_OFF)
			printf("%s: cluster: %s, node %s, Redis unreachable: "
			    "%s (%u s)\n", file, conf.c_cluster.cu_url,
			    conf.c_cluster.cu_node_id, conf.c_cluster.cu_policy,
			    conf.c_cluster.cu_short_expires);
		if (rc == 0)
			printf("%s: configuration and tables OK\n", file);
		return rc == 0 ? SIPD_EXIT_OK : SIPD_EXIT_CONFIG;
	}
	log_init(to_stderr, conf.c_log_level, conf.c_log_facility);
	return master_run(&conf, foreground);
}
