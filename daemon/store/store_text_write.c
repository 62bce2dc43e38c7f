/*
 * store_text_write.c: DB_TEXT writers the converter (sipd-db) needs
 * besides store_text.c's: trusted and the whole version table, both in
 * the Kamailio 3.0 layout, and the proto column's names.
 *
 * Runs in sipd-db only.  Never logs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "dbtext.h"
#include "store_backend.h"
#include "store_convert.h"
#include "store_text_int.h"

const char *
store_proto_name(enum store_proto proto)
{
	static const char *const names[] = {
		[STORE_PROTO_ANY] = "any",
		[STORE_PROTO_UDP] = "udp",
		[STORE_PROTO_TCP] = "tcp",
		[STORE_PROTO_TLS] = "tls",
		[STORE_PROTO_SCTP] = "sctp",
		[STORE_PROTO_NONE] = "none",
	};

	if ((unsigned)proto >= sizeof(names) / sizeof(names[0]))
		return "none";
	return names[proto];
}

int
store_text_write_trusted(const char *dir,
    const struct store_trusted_table *table, struct errbuf *errs)
{
	/* The rows keep their ids: MI commands and messages name them. */
	return store_text_trusted_write(dir, table, false, errs);
}

static const struct dbtext_col store_version_cols30[] = {
	{ "table_name", DBTEXT_STRING, 0, 0 },
	{ "table_version", DBTEXT_INT, 0, 0 },
};

struct store_wver {
	const struct store_version_row *wv_rows;
	size_t			 wv_count;
	size_t			 wv_next;
};

static int
store_wver_next(void *arg, struct dbtext_field *v)
{
	struct store_wver	*wv = arg;
	const struct store_version_row *row;

	if (wv->wv_next >= wv->wv_count)
		return 0;
	row = &wv->wv_rows[wv->wv_next++];
	v[0].df_null = 0;
	v[0].df_str = row->vr_table;
	v[0].df_len = strlen(row->vr_table);
	v[1].df_null = 0;
	v[1].df_int = row->vr_version;
	return 1;
}

int
store_text_write_versions(const char *dir,
    const struct store_version_row *rows, size_t count, struct errbuf *errs)
{
	struct store_wver	 wv = { rows, count, 0 };
	char			*path;
	int			 r;

	if ((path = store_path(dir, "version")) == NULL) {
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	r = dbtext_write(path, store_version_cols30, 2, store_wver_next, &wv,
	    errs);
	free(path);
	return r;
}

int
store_text_read_versions(const char *dir, struct store_version_row **ret_rows,
    size_t *ret_count, struct errbuf *errs, struct errbuf *warns)
{
	const struct dbtext_field *v;
	struct store_version_row *rows = NULL, *nr;
	struct dbtext_file	*f;
	size_t			 n = 0, cap = 0;
	unsigned		 line;
	char			*path;
	int			 r, cn, cv;

	if ((path = store_path(dir, "version")) == NULL) {
		errbuf_add(errs, dir, 0, "out of memory");
		return -ENOMEM;
	}
	r = dbtext_open(path, &f, errs, warns);
	free(path);
	if (r != 0)
		return r;
	cn = dbtext_col_index(f, "table_name");
	cv = dbtext_col_index(f, "table_version");
	if (cn < 0 || cv < 0) {
		dbtext_error(f, 1, "columns 'table_name' and 'table_version' "
		    "expected");
		dbtext_close(f);
		return STORE_E_BAD;
	}
	while (dbtext_next(f, &v, &line) == 1) {
		if (v[cn].df_null || v[cv].df_null)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nr = reallocarray(rows, cap, sizeof(*nr))) ==
			    NULL)
				goto oom;
			rows = nr;
		}
		if ((rows[n].vr_table = strdup(v[cn].df_str)) == NULL)
			goto oom;
		rows[n++].vr_version = v[cv].df_int;
	}
	r = dbtext_nerrors(f) > 0 ? STORE_E_BAD : 0;
	dbtext_close(f);
	if (r != 0) {
		store_version_rows_free(rows, n);
		return r;
	}
	*ret_rows = rows;
	*ret_count = n;
	return 0;
 oom:
	errbuf_add(errs, dbtext_path(f), 0, "out of memory");
	dbtext_close(f);
	store_version_rows_free(rows, n);
	return -ENOMEM;
}

void
store_version_rows_free(struct store_version_row *rows, size_t count)
{
	size_t	 i;

	for (i = 0; i < count; i++)
		free(rows[i].vr_table);
	free(rows);
}
