/*
 * cluster_apply: makes the node's location table hold what Redis holds
 * for one AoR. Run by the sync process (and by a worker that just
 * wrote an AoR). cluster_apply_newer() is the same for a state known to
 * be newer than the table's (another node's change in the stream):
 * every contact is saved without reading the AoR first, which is read
 * only when it then holds more bindings than that (some to remove). Only the table's public API: a binding that is new or
 * changed is saved (forced: Redis already applied the CSeq rule and the
 * limit), then the ones Redis no longer has are removed, so that a call
 * looking the AoR up in between finds old or new bindings, never none.
 */
#include <errno.h>
#include <string.h>

#include "cluster.h"

static struct loctab_binding	 cluster_local[CLUSTER_CONTACTS_MAX];

static bool
cluster_same(const struct loctab_binding *b, const struct cluster_contact *c)
{
	return b->lb_cseq == c->cc_cseq && (int64_t)b->lb_expires ==
	    c->cc_expires && b->lb_q == c->cc_q &&
	    strlen(c->cc_callid) == b->lb_callid_len &&
	    memcmp(b->lb_callid, c->cc_callid, b->lb_callid_len) == 0 &&
	    strlen(c->cc_received) == b->lb_received_len &&
	    memcmp(b->lb_received, c->cc_received, b->lb_received_len) == 0;
}

static const struct loctab_binding *
cluster_find_local(const char *uri, unsigned n)
{
	size_t		 len = strlen(uri);
	unsigned	 i;

	for (i = 0; i < n; i++)
		if (cluster_local[i].lb_contact_len == len &&
		    memcmp(cluster_local[i].lb_contact, uri, len) == 0)
			return &cluster_local[i];
	return NULL;
}

static struct loctab_str
cluster_str(const char *s)
{
	struct loctab_str	 ls = { s, strlen(s) };

	return ls;
}

/* Saves c; *ret_n (unless NULL): the AoR's bindings after it. */
static int
cluster_save_one(struct loctab *lt, const struct cluster_aor *a,
    const struct cluster_contact *c, time_t now, unsigned *ret_n)
{
	struct loctab_contact	 lc;
	struct loctab_save	 sv;

	memset(&lc, 0, sizeof(lc));
	lc.lc_uri = cluster_str(c->cc_uri);
	lc.lc_received = cluster_str(c->cc_received);
	lc.lc_path = cluster_str(c->cc_path);
	lc.lc_expires = c->cc_expires == 0 ? LOCTAB_PERMANENT :
	    (long)(c->cc_expires - now);
	lc.lc_q = c->cc_q;
	lc.lc_methods = c->cc_methods;
	lc.lc_flags = c->cc_flags;
	lc.lc_cflags = c->cc_cflags;
	memset(&sv, 0, sizeof(sv));
	sv.sv_aor.ls_ptr = a->ca_aor;
	sv.sv_aor.ls_len = a->ca_aor_len;
	sv.sv_callid = cluster_str(c->cc_callid);
	sv.sv_user_agent = cluster_str(c->cc_ua);
	sv.sv_socket = cluster_str(c->cc_socket);
	sv.sv_now = now;
	sv.sv_cseq = c->cc_cseq;
	sv.sv_force = 1;
	sv.sv_contacts = &lc;
	sv.sv_ncontacts = 1;
	return loctab_save(lt, &sv, NULL, 0, ret_n);	/* nothing copied out */
}

int
cluster_apply(struct loctab *lt, const struct cluster_aor *a, time_t now)
{
	const struct cluster_contact	*c;
	const struct loctab_binding	*b;
	struct loctab_str		 aor = { a->ca_aor, a->ca_aor_len };
	unsigned			 n = 0, i, j;
	int				 rc, changes = 0;

	rc = loctab_lookup(lt, aor, now, cluster_local, CLUSTER_CONTACTS_MAX,
	    &n);
	if (rc == LOCTAB_E_NOTFOUND)
		n = 0;
	else if (rc < 0)
		return rc;
	if (n > CLUSTER_CONTACTS_MAX)
		n = CLUSTER_CONTACTS_MAX;
	for (i = 0; i < a->ca_n; i++) {
		c = &a->ca_c[i];
		if (c->cc_expires != 0 && c->cc_expires <= now)
			continue;
		b = cluster_find_local(c->cc_uri, n);
		if (b != NULL && cluster_same(b, c))
			continue;
		if ((rc = cluster_save_one(lt, a, c, now, NULL)) < 0)
			return rc;
		if (rc == 0)
			changes++;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < a->ca_n; j++)
			if (strlen(a->ca_c[j].cc_uri) ==
			    cluster_local[i].lb_contact_len &&
			    memcmp(a->ca_c[j].cc_uri, cluster_local[i].lb_contact,
			    cluster_local[i].lb_contact_len) == 0 &&
			    (a->ca_c[j].cc_expires == 0 ||
			    a->ca_c[j].cc_expires > now))
				break;
		if (j < a->ca_n)
			continue;
		/* a permanent binding (MI ul.add) is not shared: kept */
		if (cluster_local[i].lb_expires == 0)
			continue;
		aor.ls_ptr = a->ca_aor;
		aor.ls_len = a->ca_aor_len;
		rc = loctab_rm_contact(lt, aor, (struct loctab_str){
		    cluster_local[i].lb_contact,
		    cluster_local[i].lb_contact_len });
		if (rc < 0)
			return rc;
		if (rc == 0)
			changes++;
	}
	return changes;
}

int
cluster_apply_newer(struct loctab *lt, const struct cluster_aor *a, time_t now)
{
	const struct cluster_contact	*c;
	unsigned			 i, saved = 0, after = 0;
	int				 rc;

	for (i = 0; i < a->ca_n; i++) {
		c = &a->ca_c[i];
		if (c->cc_expires != 0 && c->cc_expires <= now)
			continue;
		/* a refusal (table full, too long): the careful way decides */
		if ((rc = cluster_save_one(lt, a, c, now, &after)) != 0)
			return rc < 0 ? rc : cluster_apply(lt, a, now);
		saved++;
	}
	if (saved > 0 && after == saved)
		return (int)saved;	/* the AoR holds these and no other */
	return cluster_apply(lt, a, now);	/* some to remove */
}
