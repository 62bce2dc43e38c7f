/*
 * locstore: `location` rows <-> location table bindings. Used by the
 * master (tables.c) when it loads the table at start and when it
 * flushes it; see locstore.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "locstore.h"

static struct loctab_str
locstore_in(struct store_str s)
{
	struct loctab_str	 ls;

	ls.ls_ptr = s.ss_ptr;
	ls.ls_len = s.ss_ptr != NULL ? s.ss_len : 0;
	return ls;
}

static struct store_str
locstore_out(const char *s, size_t len)
{
	struct store_str	 ss = { len ? s : NULL, len };

	return ss;
}

/* The limit of one string column, and its message when it is over. */
struct locstore_limit {
	size_t		 ll_off;	/* of the struct store_str */
	size_t		 ll_max;
	const char	*ll_why;
};


static const struct locstore_limit locstore_limits[] = {
	{ offsetof(struct store_location, sl_contact), LOCTAB_CONTACT_MAX,
	    "contact longer than 512 bytes" },
	{ offsetof(struct store_location, sl_received), LOCTAB_RECEIVED_MAX,
	    "received longer than 128 bytes" },
	{ offsetof(struct store_location, sl_path), LOCTAB_PATH_MAX,
	    "path longer than 512 bytes" },
	{ offsetof(struct store_location, sl_callid), LOCTAB_CALLID_MAX,
	    "callid longer than 255 bytes" },
	{ offsetof(struct store_location, sl_user_agent), LOCTAB_UA_MAX,
	    "user_agent longer than 255 bytes" },
	{ offsetof(struct store_location, sl_socket), LOCTAB_SOCKET_MAX,
	    "socket longer than 64 bytes" },
};
_Static_assert(LOCTAB_CONTACT_MAX == 512 && LOCTAB_RECEIVED_MAX == 128 &&
    LOCTAB_PATH_MAX == 512 && LOCTAB_CALLID_MAX == 255 &&
    LOCTAB_UA_MAX == 255 && LOCTAB_SOCKET_MAX == 64,
    "locstore_limits[] messages name the limits");

const char *
locstore_row_check(const struct store_location *row)
{
	const struct store_str	*s;
	char			 aor[LOCTAB_AOR_MAX + 1];
	struct loctab_row	 r;
	size_t			 i;

	if (locstore_row_from_store(row, aor, &r) != 0)
		return "username@domain longer than 128 bytes";
	for (i = 0; i < sizeof(locstore_limits) / sizeof(locstore_limits[0]);
	    i++) {
		s = (const struct store_str *)(const void *)
		    ((const char *)row + locstore_limits[i].ll_off);
		if (s->ss_ptr != NULL && s->ss_len > locstore_limits[i].ll_max)
			return locstore_limits[i].ll_why;
	}
	if (row->sl_contact.ss_ptr == NULL || row->sl_contact.ss_len == 0)
		return "empty contact";
	if (r.lr_aor.ls_len == 0)
		return "empty username";
	return NULL;
}

int
locstore_row_from_store(const struct store_location *row, char *aorbuf,
    struct loctab_row *ret)
{
	struct loctab_row	 r;
	struct loctab_contact	*c = &r.lr_contact;
	size_t			 ulen, dlen;

	ulen = row->sl_username.ss_ptr != NULL ? row->sl_username.ss_len : 0;
	dlen = row->sl_domain.ss_ptr != NULL ? row->sl_domain.ss_len : 0;
	if (ulen > LOCTAB_AOR_MAX ||
	    (dlen > 0 && ulen + 1 + dlen > LOCTAB_AOR_MAX))
		return LOCTAB_E_TOOLONG;
	if (ulen > 0)
		memcpy(aorbuf, row->sl_username.ss_ptr, ulen);
	if (dlen > 0) {
		aorbuf[ulen] = '@';
		memcpy(aorbuf + ulen + 1, row->sl_domain.ss_ptr, dlen);
		ulen += 1 + dlen;
	}
	aorbuf[ulen] = '\0';

	memset(&r, 0, sizeof(r));
	r.lr_aor.ls_ptr = aorbuf;
	r.lr_aor.ls_len = ulen;
	r.lr_callid = locstore_in(row->sl_callid);
	r.lr_user_agent = locstore_in(row->sl_user_agent);
	r.lr_socket = locstore_in(row->sl_socket);
	r.lr_cseq = row->sl_cseq;
	r.lr_expires = row->sl_expires;
	r.lr_last_modified = row->sl_last_modified;
	c->lc_uri = locstore_in(row->sl_contact);
	c->lc_received = locstore_in(row->sl_received);
	c->lc_path = locstore_in(row->sl_path);
	c->lc_expires = LOCTAB_PERMANENT;
	if (row->sl_q < 0)
		c->lc_q = LOCTAB_Q_UNSET;
	else if (row->sl_q >= 1)
		c->lc_q = LOCTAB_Q_MAX;
	else
		c->lc_q = (int)(row->sl_q * 1000 + 0.5);
	c->lc_methods = row->sl_methods;
	c->lc_flags = row->sl_flags;
	c->lc_cflags = row->sl_cflags;
	*ret = r;
	return 0;
}

void
locstore_row_to_store(const struct loctab_binding *b,
    struct store_location *ret)
{
	struct store_location	*row = ret;

	memset(row, 0, sizeof(*row));
	row->sl_username = locstore_out(b->lb_aor, b->lb_aor_len);
	row->sl_contact = locstore_out(b->lb_contact, b->lb_contact_len);
	row->sl_received = locstore_out(b->lb_received, b->lb_received_len);
	row->sl_path = locstore_out(b->lb_path, b->lb_path_len);
	row->sl_expires = b->lb_expires;
	row->sl_q = b->lb_q == LOCTAB_Q_UNSET ? STORE_Q_UNSET :
	    b->lb_q / 1000.0;
	row->sl_callid = b->lb_callid_len ?
	    locstore_out(b->lb_callid, b->lb_callid_len) :
	    locstore_out("n/a", 3);
	row->sl_cseq = b->lb_cseq;
	row->sl_last_modified = b->lb_last_modified;
	row->sl_flags = b->lb_flags;
	row->sl_cflags = b->lb_cflags;
	row->sl_user_agent = b->lb_user_agent_len ?
	    locstore_out(b->lb_user_agent, b->lb_user_agent_len) :
	    locstore_out("n/a", 3);
	row->sl_socket = locstore_out(b->lb_socket, b->lb_socket_len);
	row->sl_methods = b->lb_methods;
}

size_t
locstore_ruid(char *buf, unsigned bucket, uint32_t hash, unsigned n)
{
	return (size_t)snprintf(buf, LOCSTORE_RUID_MAX, "sipd-%08x-%08x-%u",
	    bucket, (unsigned)hash, n);
}

size_t
locstore_ruid_prefix(char *buf, unsigned bucket, uint32_t hash,
    bool all_bucket)
{
	if (all_bucket)
		return (size_t)snprintf(buf, LOCSTORE_RUID_MAX, "sipd-%08x-",
		    bucket);
	return (size_t)snprintf(buf, LOCSTORE_RUID_MAX, "sipd-%08x-%08x-",
	    bucket, (unsigned)hash);
}

bool
locstore_ruid_names(struct loctab *lt, const char *aor, size_t len,
    struct store_str ruid)
{
	char		 want[LOCSTORE_RUID_MAX];
	uint32_t	 h = loctab_aor_hash(aor, len);
	size_t		 n, i;

	n = locstore_ruid_prefix(want, loctab_bucket_of(lt, aor, len), h,
	    false);
	if (ruid.ss_ptr == NULL || ruid.ss_len <= n ||
	    memcmp(ruid.ss_ptr, want, n) != 0)
		return false;
	for (i = n; i < ruid.ss_len; i++)
		if (ruid.ss_ptr[i] < '0' || ruid.ss_ptr[i] > '9')
			return false;
	return true;
}
