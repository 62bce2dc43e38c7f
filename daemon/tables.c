/*
 * tables: what the master does with storage. At start it checks every
 * table (a broken one stops sipd with FILE:LINE messages, before any
 * worker exists) and sizes and creates the shared mapping; SIGHUP
 * re-checks the tables; at exit, after the workers are gone, it writes
 * back what changed. Only the master writes storage.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "master.h"
#include "shm.h"
#include "store.h"
#include "tables.h"

/* Room for the shm header and small fixed tables of later features. */
#define TABLES_SHM_BASE		(1024 * 1024)

/* Checks the tables: errors and warnings printed and/or logged. */
static int
tables_verify(const struct conf *c, bool print, bool logit)
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	int		 rc;

	if (c->c_db_kind != CONF_DB_TEXT) {
		errbuf_add(&errs, c->c_db_path, 0,
		    "sqlite:// storage is not available in this build yet");
		rc = -1;
	} else
		rc = store_text_check(c->c_db_path, &errs, &warns);
	if (print) {
		fputs(errbuf_text(&errs), stderr);
		if (warns.eb_count > 0) {
			const char *p = errbuf_text(&warns);

			while (*p) {
				const char *nl = strchr(p, '\n');
				int n = nl ? (int)(nl - p) : (int)strlen(p);

				fprintf(stderr, "warning: %.*s\n", n, p);
				p += n + (nl != NULL);
			}
		}
	}
	if (logit) {
		log_errbuf(&errs, false);
		log_errbuf(&warns, true);
	}
	if (rc == 0 && errs.eb_count > 0)
		rc = -1;
	errbuf_free(&errs);
	errbuf_free(&warns);
	return rc == 0 ? 0 : -1;
}

int
tables_check(const struct conf *c)
{
	return tables_verify(c, true, false);
}

int
tables_load(const struct conf *c)
{
	int	 rc;

	/* Start-up errors go to the terminal too, not only to syslog. */
	if (tables_verify(c, !log_is_stderr(), true) != 0)
		return SIPD_EXIT_CONFIG;
	if ((rc = shm_create(TABLES_SHM_BASE)) != 0) {
		fprintf(stderr, "sipd: shared memory of %d bytes: %s\n",
		    TABLES_SHM_BASE, strerror(-rc));
		log_warnx("shared memory: %s", strerror(-rc));
		return SIPD_EXIT_CONFIG;
	}
	return 0;
}

void
tables_reload(const struct conf *c)
{
	log_info("SIGHUP: re-reading the tables");
	if (tables_verify(c, false, true) != 0)
		log_warnx("tables have errors; the loaded ones stay in use");
}

void
tables_shutdown(const struct conf *c)
{
	/* Nothing is kept in memory yet that storage lacks. */
	(void)c;
}
