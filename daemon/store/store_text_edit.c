/*
 * store_text_edit.c: edits of DB_TEXT tables
 * (to be written).
 */
#include <errno.h>

#include "errbuf.h"
#include "store_backend.h"

static int
store_text_todo(const char *file, struct errbuf *errs)
{
	errbuf_add(errs, file, 0, "edits: not written yet");
	return -ENOTSUP;
}

int
store_text_subscriber_add(const char *file,
    const struct store_subscriber *row, struct errbuf *errs)
{
	(void)row;
	return store_text_todo(file, errs);
}

int
store_text_subscriber_passwd(const char *file,
    const struct store_str *username, const struct store_str *password,
    struct errbuf *errs)
{
	(void)username;
	(void)password;
	return store_text_todo(file, errs);
}

int
store_text_subscriber_rm(const char *file,
    const struct store_str *username, const struct store_str *domain,
    struct errbuf *errs)
{
	(void)username;
	(void)domain;
	return store_text_todo(file, errs);
}

int
store_text_trusted_add(const char *file, const struct store_trusted *row,
    int64_t *ret_id, struct errbuf *errs)
{
	(void)row;
	(void)ret_id;
	return store_text_todo(file, errs);
}

int
store_text_trusted_rm(const char *file, int64_t id, struct errbuf *errs)
{
	(void)id;
	return store_text_todo(file, errs);
}
