/*
 * loctab_test.h: helpers of the loctab unit tests (loctab_test.c).
 */
#ifndef SIPD_LOCTAB_TEST_H
#define SIPD_LOCTAB_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "loctab.h"

#define NOW		1000000
#define WAIT_MS		10000
#define CHILD_ALARM	20

/* Scratch for lookups and saves (count_of() and save1() fill it). */
extern struct loctab_binding	out[64];

struct loctab_str	S(const char *s);
struct loctab_str	SN(const char *s, size_t n);
/* A fresh mapping holding just one table. */
struct loctab		*new_table(unsigned hash_size, unsigned cap);
/* cmocka teardown: unmaps. */
int			 teardown(void **state);
/* One contact with defaults. */
struct loctab_contact	 C(const char *uri, long expires, int q);
struct loctab_save	 R(const char *aor, const char *callid, uint32_t cseq,
			    const struct loctab_contact *c, unsigned n);
/* Saves one contact; returns the result. */
int			 save1(struct loctab *lt, const char *aor,
			    const char *uri, const char *callid, uint32_t cseq,
			    long expires, int q);
unsigned		 count_of(struct loctab *lt, const char *aor);

#endif
