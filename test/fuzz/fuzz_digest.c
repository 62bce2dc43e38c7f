/*
 * fuzz_digest: libFuzzer target for the credentials parsers: a whole
 * Authorization / Proxy-Authorization value through sip_auth_parse(),
 * every auth-param, then the Digest fields (RFC 7616). The attacker
 * controls all of it before any password is checked. Built for
 * libFuzzer with -Dfuzzing=true, and replayed by fuzz_main.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "sip_msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sip_str		 v = { (const char *)data, size };
	struct sip_str		 rest, name, value;
	struct sip_auth		 a;
	struct sip_digest	 d;
	unsigned		 n = 0;

	if (sip_auth_parse(v, &a) != 0)
		return 0;
	rest = a.sa_params;
	while (n++ < 1000 && sip_auth_param_next(&rest, &name, &value) == 1)
		;
	(void)sip_digest_parse(&a, &d);
	return 0;
}
