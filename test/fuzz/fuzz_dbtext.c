/*
 * fuzz_dbtext: libFuzzer target for the DB_TEXT reader (SPEC §4): the
 * header, every record, escapes, types, NOT NULL; a bad file must give
 * errors, never a crash or a read past the buffer. The input is handed
 * over as a file (fuzz_memfile.h). Built for libFuzzer with
 * -Dfuzzing=true, and replayed by fuzz_main.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "dbtext.h"
#include "errbuf.h"
#include "fuzz_memfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct dbtext_field	*v;
	struct dbtext_file		*f;
	struct errbuf			 errs = ERRBUF_INIT;
	struct errbuf			 warns = ERRBUF_INIT;
	char				 path[64];
	unsigned			 line, ncols;
	int				 fd;

	if ((fd = fuzz_memfile(data, size, path, sizeof(path))) == -1)
		return 0;
	if (dbtext_open(path, &f, &errs, &warns) == 0) {
		(void)dbtext_cols(f, &ncols);
		(void)dbtext_col_index(f, "contact");
		while (dbtext_next(f, &v, &line) == 1)
			;
		(void)dbtext_nerrors(f);
		dbtext_close(f);
	}
	(void)errbuf_text(&errs);
	errbuf_free(&errs);
	errbuf_free(&warns);
	close(fd);
	return 0;
}
