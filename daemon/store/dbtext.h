/*
 * dbtext: Kamailio DB_TEXT files (one table per file), read and written
 * without knowing which table they hold.  store_text.c gives the rows
 * their meaning.  See SPEC.md section 4 and kamailio-facts.md section 1.
 *
 * Nothing here logs: problems are appended to an errbuf as
 * "FILE:LINE: message" and the caller prints or logs them.
 */
#ifndef SIPD_DBTEXT_H
#define SIPD_DBTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct errbuf;

#define DBTEXT_MAX_COLS		64
#define DBTEXT_MAX_NAME		64	/* column name, with its NUL */
#define DBTEXT_MAX_ERRORS	50	/* per file; then "too many errors" */

/* Outcome of dbtext_open()/dbtext_next(): the file has errors (see errs). */
#define DBTEXT_E_BAD		1

enum dbtext_type {
	DBTEXT_INT,		/* "int" and "time" (seconds since the Epoch) */
	DBTEXT_DOUBLE,
	DBTEXT_STRING,
	DBTEXT_BLOB		/* read and written like a string */
};

struct dbtext_col {
	char			 dc_name[DBTEXT_MAX_NAME];
	enum dbtext_type	 dc_type;
	int			 dc_null;	/* NULL allowed */
	/*
	 * int,auto: an empty field reads as the highest id seen so far
	 * plus one (ids are not unique then; sipd does not use them).
	 */
	int			 dc_auto;
};

/*
 * One value.  Reading: df_null, then df_str/df_len for every type (the
 * text, unescaped, NUL-terminated but possibly holding NUL bytes),
 * df_int for int columns and df_double for double columns.  Writing:
 * df_null, then df_str/df_len, df_int or df_double by column type.
 */
struct dbtext_field {
	const char	*df_str;
	size_t		 df_len;
	int64_t		 df_int;
	double		 df_double;
	int		 df_null;
};

struct dbtext_file;

/*
 * Reads the whole file at path into memory and parses its header.
 * Returns 0 and *ret_file, -errno when the file cannot be read, or
 * DBTEXT_E_BAD when the header is bad; errors are added to errs.
 */
int	dbtext_open(const char *path, struct dbtext_file **ret_file,
	    struct errbuf *errs, struct errbuf *warns);
const struct dbtext_col *dbtext_cols(const struct dbtext_file *f,
	    unsigned *ret_ncols);
/* Index of the column called name (case-sensitive), or -1. */
int	dbtext_col_index(const struct dbtext_file *f, const char *name);
const char *dbtext_path(const struct dbtext_file *f);

/*
 * Gives the next good record: returns 1 with *ret_fields (ncols values,
 * valid until the next call) and *ret_line, or 0 at the end.  Bad
 * records are reported to errs and skipped so that every problem of a
 * file is listed; check dbtext_nerrors() at the end, a table with any
 * error must not be used.  Strings stay valid until dbtext_close().
 */
int	dbtext_next(struct dbtext_file *f,
	    const struct dbtext_field **ret_fields, unsigned *ret_line);
unsigned dbtext_nerrors(const struct dbtext_file *f);
/* Reports one more error of this file (typed checks in store_text.c). */
void	dbtext_error(struct dbtext_file *f, unsigned line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	dbtext_close(struct dbtext_file *f);

/*
 * Fills fields[0..ncols-1] with the next row to write; returns 1 for a
 * row, 0 at the end, negative errno to abort the write.
 */
typedef int	dbtext_row_fn(void *arg, struct dbtext_field *fields);

/*
 * Writes a whole table atomically: a temp file in the same folder,
 * fsync, rename over path, fsync the folder.  Header in the Kamailio
 * 3.0 form, the six special characters escaped, NULL as an empty field,
 * doubles as %.2f, every record ending with "\n".  A NULL in an auto
 * column (not also null) is written as the row number (1..n); an empty
 * string is written as NULL, and refused in a NOT NULL column.  A new
 * file gets mode 0600 (tables may hold passwords); an existing file
 * keeps its mode.
 * Returns 0, or -errno with an error in errs; the old file is then
 * untouched and no temp file is left behind.
 */
int	dbtext_write(const char *path, const struct dbtext_col *cols,
	    unsigned ncols, dbtext_row_fn *next, void *arg,
	    struct errbuf *errs);

/*
 * dbtext_write()'s temp files: "<table>" DBTEXT_TMP_INFIX "XXXXXX", a
 * name only sipd makes (dbtext_tmp.c), for its four tables only.
 */
#define DBTEXT_TMP_INFIX	".sipd-tmp."
bool	dbtext_tmp_name(const char *name);
/* Told of each stale temp file: its name, size, 0 or the unlink errno. */
typedef void	dbtext_stale_fn(void *arg, const char *name, long long size,
	    int err);
/*
 * Removes the temp files a killed writer left in dir (regular files
 * named as dbtext_tmp_name() says). The count removed, or -errno when
 * dir cannot be read. Only while nothing else writes the folder.
 */
int	dbtext_remove_stale(const char *dir, dbtext_stale_fn *fn, void *arg);

/* dbtext_append(): the file's header is not the one cols would write. */
#define DBTEXT_E_LAYOUT		2

/*
 * Appends one row (written as dbtext_write() writes row rowno) to the
 * file at path and fdatasync()s it.  0; DBTEXT_E_LAYOUT when the file's
 * header differs from cols' (nothing written: rewrite the table whole);
 * or -errno with an error in errs (nothing of the row is left behind).
 */
int	dbtext_append(const char *path, const struct dbtext_col *cols,
	    unsigned ncols, struct dbtext_field *v, uint64_t rowno,
	    struct errbuf *errs);

#endif
