/*
 * locstore: `location` rows <-> location table bindings. Used by the
 * master (tables.c) when it loads the table at start and when it
 * flushes it; see locstore.h.
 */
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
