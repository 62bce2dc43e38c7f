/*
 * fuzz_registrar: libFuzzer target for the registrar decider on a real
 * location table (fuzz_decider.h): a sequence of datagrams from chosen
 * sources, every REGISTER through registrar_decide() and
 * registrar_apply() as a worker runs them. Checked after each: a reply
 * code the registrar may give (never a 500), its reason and header
 * lines well formed, a 401 with a challenge, no change made for a
 * source that is neither trusted nor authenticated, and the table
 * consistent (loctab_check()) within usrloc.max_contacts and the
 * per-AoR limit. Built for libFuzzer with -Dfuzzing=true, and replayed
 * by fuzz_main.c in the normal test run.
 */
#include "fuzz_decider.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fd_src	*src;
	struct sip_msg		 m;
	struct sip_check	 chk;
	const char		*buf;
	size_t			 off = 0, len;
	unsigned		 n = 0;
	bool			 authed;

	if (size > 65535)
		return 0;
	fd_begin();
	while (fd_next(data, size, &off, &n, &buf, &len, &src,
	    &authed)) {
		fd_expire();
		if (sip_msg_parse(&m, buf, len) != 0 || !m.sm_request ||
		    m.sm_method != SIP_METHOD_REGISTER)
			continue;
		sip_msg_check(&m, &chk);
		if (chk.sc_verdict != SIP_CHECK_OK)
			continue;
		(void)fd_register(&m, src, authed);
		fd_check_table();
	}
	return 0;
}
