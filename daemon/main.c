/*
 * main: sipd's command line (SPEC §2). Parses flags and the config,
 * runs the check mode (-c) or hands over to the master.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conf.h"
#include "log.h"
#include "master.h"
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
	    "  -V            print the version\n"
	    "  -h            this help\n", SIPD_SYSCONFDIR);
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

	while ((ch = getopt(argc, argv, "f:o:DEcVh")) != -1) {
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
			printf("sipd %s\n", SIPD_VERSION);
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
	if (check) {
		rc = tables_check(&conf);
		if (rc == 0)
			printf("%s: configuration and tables OK\n", file);
		return rc == 0 ? SIPD_EXIT_OK : SIPD_EXIT_CONFIG;
	}
	log_init(to_stderr, conf.c_log_level, conf.c_log_facility);
	return master_run(&conf, foreground);
}
