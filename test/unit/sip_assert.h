/*
 * sip_assert.h: assert_str() for a struct sip_str against a literal,
 * shared by the SIP parser unit tests (test_sip_msg, test_torture).
 * Include after <cmocka.h> and "sip_msg.h".
 */
#ifndef SIP_ASSERT_H
#define SIP_ASSERT_H

#include <string.h>

static inline int
sip_assert_str_eq(struct sip_str s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.s, lit, s.len) == 0;
}

#define assert_str(sp_, lit_)	do {					\
	struct sip_str x_ = (sp_);					\
	if (!sip_assert_str_eq(x_, (lit_)))				\
		fail_msg("got \"%.*s\", want \"%s\"", (int)x_.len,	\
		    x_.s != NULL ? x_.s : "", (lit_));			\
} while (0)

#endif /* SIP_ASSERT_H */
