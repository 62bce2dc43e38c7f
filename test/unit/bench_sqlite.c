/*
 * bench_sqlite: times a location flush and a load of N bindings
 * (SIPD_BENCH_N, default 1000000) through the SQLite backend, as the
 * master does them.  A meson benchmark, not a test: run it on a
 * release build (`meson test -C build-release --benchmark`).
 * Usage: bench_sqlite [FILE]; without FILE a temp file is used.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"
#include "store.h"

struct gen {
	size_t	 n;
	size_t	 next;
	char	 user[32];
	char	 contact[96];
	char	 callid[64];
};

static int
gen_next(void *arg, struct store_location *row)
{
	struct gen	*g = arg;
	int		 n;

	size_t		 k;

	if (g->next >= g->n)
		return 0;
	/* The master writes in hash-bucket order: users come scattered. */
	k = (g->next * 2654435761U) % g->n;
	n = snprintf(g->user, sizeof(g->user), "u%07zu", k);
	row->sl_username = (struct store_str){ g->user, (size_t)n };
	n = snprintf(g->contact, sizeof(g->contact),
	    "sip:u%07zu@10.%zu.%zu.%zu:5060;transport=udp", k,
	    g->next >> 16 & 255, g->next >> 8 & 255, g->next & 255);
	row->sl_contact = (struct store_str){ g->contact, (size_t)n };
	n = snprintf(g->callid, sizeof(g->callid),
	    "a84b4c76e66710-%zu@10.0.0.1", g->next);
	row->sl_callid = (struct store_str){ g->callid, (size_t)n };
	row->sl_user_agent = (struct store_str){ "Grandstream GXP1625", 19 };
	row->sl_socket = (struct store_str){ "udp:192.168.16.5:5060", 21 };
	row->sl_expires = 1900000000 + (time_t)g->next;
	row->sl_last_modified = 1800000000;
	row->sl_q = STORE_Q_UNSET;
	row->sl_cseq = 42;
	row->sl_methods = STORE_METHODS_ALL;
	g->next++;
	return 1;
}

static int
count_row(void *arg, const struct store_location *row)
{
	size_t	*bytes = arg;

	*bytes += row->sl_contact.ss_len;
	return 0;
}

static double
since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int
main(int argc, char *argv[])
{
	struct errbuf	 errs = ERRBUF_INIT, warns = ERRBUF_INIT;
	struct store_db	 db = { STORE_KIND_SQLITE, NULL };
	struct timespec	 t0;
	struct gen	 g;
	size_t		 count = 0, bytes = 0;
	char		 tmp[] = "/tmp/sipd-bench-XXXXXX", file[64];
	const char	*env = getenv("SIPD_BENCH_N");
	int		 r, pass;

	memset(&g, 0, sizeof(g));
	g.n = env ? strtoul(env, NULL, 10) : 1000000;
	if (argc > 1)
		db.sd_path = argv[1];
	else {
		if (mkdtemp(tmp) == NULL)
			return 1;
		snprintf(file, sizeof(file), "%s/sipd.db", tmp);
		db.sd_path = file;
	}
	/* Twice: the second flush replaces a full table (the usual case). */
	for (pass = 1; pass <= 2; pass++) {
		g.next = 0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = store_write_location(&db, gen_next, &g, &errs);
		printf("write_location #%d: %zu rows in %.3f s (rc %d)\n", pass,
		    g.n, since(&t0), r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = store_load_location(&db, count_row, &bytes, &count, &errs, &warns);
	printf("load_location: %zu rows in %.3f s (rc %d)\n", count,
	    since(&t0), r);
	fputs(errbuf_text(&errs), stderr);
	if (argc <= 1) {
		char	 p[96];

		snprintf(p, sizeof(p), "%s-wal", file);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", file);
		unlink(p);
		unlink(file);
		rmdir(tmp);
	}
	return r == 0 && count == g.n ? 0 : 1;
}
