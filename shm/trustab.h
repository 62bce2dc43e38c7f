/*
 * trustab: the trusted table (sources never challenged) in shm, so
 * that permissions.trustedReload, trusted.add and trusted.rm reach
 * every worker at its next request without restarting it. The table
 * is small (gateways) and replaced whole; a worker keeps its own
 * compiled copy and refreshes it when trustab_generation() moves.
 *
 * One writer, the master; readers never lock (seqlock.h).
 */
#ifndef SIPD_TRUSTAB_H
#define SIPD_TRUSTAB_H

#include <stddef.h>
#include <stdint.h>

#define TRUSTAB_ROWS_MAX	1024
#define TRUSTAB_IP_MAX		63	/* text of an IPv4/IPv6 address */
#define TRUSTAB_PATTERN_MAX	255
#define TRUSTAB_TAG_MAX		63

#define TRUSTAB_SHM_ALIGN	64

/* A row as readers get it; empty strings with has_* 0 are NULL. */
struct trustab_row {
	int64_t		tr_id;
	int64_t		tr_priority;
	uint32_t	tr_proto;	/* enum store_proto, as the caller means */
	uint8_t		tr_has_pattern;
	uint8_t		tr_has_tag;
	uint16_t	tr_pad;
	char		tr_src_ip[TRUSTAB_IP_MAX + 1];
	char		tr_pattern[TRUSTAB_PATTERN_MAX + 1];
	char		tr_tag[TRUSTAB_TAG_MAX + 1];
};

struct trustab;

size_t	trustab_shm_size(void);
/* Master, before fork. 0 or -errno of shm_carve(). */
int	trustab_create(struct trustab **ret);
/* In zeroed memory of trustab_shm_size() bytes (one process's own). */
int	trustab_init(void *mem, struct trustab **ret);
/* Master only: the table becomes rows[0..n-1]. -E2BIG past ROWS_MAX. */
int	trustab_replace(struct trustab *t, const struct trustab_row *rows,
	    size_t n);
/* Any process: rows in the table now (a racy read, for gauges). */
size_t	trustab_count(struct trustab *t);
/* Any process: moves with every replace. */
uint64_t trustab_generation(struct trustab *t);
/*
 * Any process: copies the table (up to cap rows) into rows; *ret_n
 * rows, *ret_gen the generation they are. 0, or -EAGAIN when the
 * writer died half way through a replace.
 */
int	trustab_copy(struct trustab *t, struct trustab_row *rows, size_t cap,
	    size_t *ret_n, uint64_t *ret_gen);

#endif
