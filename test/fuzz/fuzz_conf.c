/*
 * fuzz_conf: libFuzzer target for the config parser (SPEC §3): lines,
 * quotes, comments, the desc tail, every directive's setter and the
 * cross-checks; a bad file gives FILE:LINE errors, never a crash. The
 * input is handed over as a file (fuzz_memfile.h). Built for libFuzzer
 * with -Dfuzzing=true, and replayed by fuzz_main.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "errbuf.h"
#include "fuzz_memfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf	 c;
	struct errbuf		 errs = ERRBUF_INIT;
	char			 path[64], buf[512];
	int			 fd;

	if ((fd = fuzz_memfile(data, size, path, sizeof(path))) == -1)
		return 0;
	if (conf_load(&c, path, NULL, 0, &errs) == 0) {
		(void)conf_get(&c, "listen", buf, sizeof(buf));
		(void)conf_get(&c, "pstn.gw_ip", buf, sizeof(buf));
	}
	(void)errbuf_text(&errs);
	errbuf_free(&errs);
	close(fd);
	return 0;
}
