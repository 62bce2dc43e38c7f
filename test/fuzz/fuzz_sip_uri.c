/*
 * fuzz_sip_uri: libFuzzer target for the URI parser and its helpers
 * (parameter lookup, bare host, escape-aware comparison, unescape).
 * Built for libFuzzer with -Dfuzzing=true, and replayed by fuzz_main.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "sip_uri.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data;
	struct sip_uri	 u;
	struct sip_str	 v, h;
	char		 out[256];
	size_t		 half = size / 2;

	(void)sip_uri_escaped_eq(s, half, s + half, size - half, 1);
	(void)sip_uri_unescape(s, size, out, sizeof(out));
	if (sip_uri_parse(s, size, &u) != 0)
		return 0;
	h = sip_uri_host_bare(&u);
	(void)h;
	(void)sip_uri_param(&u, "transport", &v);
	(void)sip_uri_param(&u, "lr", NULL);
	(void)sip_uri_param(&u, "maddr", &v);
	(void)sip_uri_escaped_eq(u.su_user.s, u.su_user.len, u.su_host.s,
	    u.su_host.len, 0);
	(void)sip_uri_unescape(u.su_user.s, u.su_user.len, out, sizeof(out));
	return 0;
}
