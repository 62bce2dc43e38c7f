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

static void
fr_one(const struct sip_msg *m, const struct fd_src *src, bool authed)
{
	if (m->sm_method != SIP_METHOD_REGISTER)
		return;
	(void)fd_register(m, src, authed);
	fd_check_table();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fd_run(data, size, fr_one);
}
