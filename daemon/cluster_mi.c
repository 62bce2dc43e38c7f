/*
 * cluster_mi.c: the master's own Redis connection, used only for MI
 * changes of the location table; see cluster_mi.h. A change goes as a
 * delta (this contact set, this contact removed, all removed), not as
 * this node's whole view of the AoR, which may lag behind a REGISTER
 * made through another node a moment ago. Connected on first use,
 * closed after a failure (a late reply must not be read as the next
 * one's).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "cluster_mi.h"
#include "cluster_worker.h"

static const struct conf_cluster	*cm_conf;
static struct cluster_conn		 cm_conn;
static struct loctab_binding		 cm_b[CLUSTER_CONTACTS_MAX];

void
cluster_mi_init(const struct conf *c)
{
	cm_conf = c != NULL && c->c_cluster.cu_kind != CONF_CLUSTER_OFF ?
	    &c->c_cluster : NULL;
}

/* The contact as lt holds it into *ret, or a removal (lb_expires -1). */
static void
cluster_mi_contact(struct loctab *lt, struct loctab_str aor,
    struct loctab_str contact, time_t now, struct loctab_binding *ret)
{
	unsigned	 i, n = 0;

	if (loctab_lookup(lt, aor, now, cm_b, CLUSTER_CONTACTS_MAX, &n) != 0)
		n = 0;
	for (i = 0; i < n && i < CLUSTER_CONTACTS_MAX; i++)
		if (cm_b[i].lb_contact_len == contact.ls_len &&
		    memcmp(cm_b[i].lb_contact, contact.ls_ptr,
		    contact.ls_len) == 0) {
			*ret = cm_b[i];
			return;
		}
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->lb_contact, contact.ls_ptr, contact.ls_len);
	ret->lb_contact_len = (unsigned short)contact.ls_len;
	ret->lb_expires = -1;
}

int
cluster_mi_share(struct loctab *lt, struct loctab_str aor,
    struct loctab_str contact, struct errbuf *errs)
{
	static struct loctab_binding	 one;
	time_t				 now = time(NULL);
	bool				 star = contact.ls_len == 0;

	if (cm_conf == NULL)
		return 0;
	if (contact.ls_len > LOCTAB_CONTACT_MAX) {
		errbuf_add(errs, NULL, 0, "contact too long");
		return -1;
	}
	if (!star)
		cluster_mi_contact(lt, aor, contact, now, &one);
	if (!cluster_connected(&cm_conn) &&
	    cluster_connect(&cm_conn, cm_conf, CLUSTER_W_TIMEOUT_MS) != 0) {
		errbuf_add(errs, NULL, 0, "Redis not reached: %s",
		    cm_conn.cn_err);
		cluster_close(&cm_conn);
		return -1;
	}
	if (cluster_mi(&cm_conn, aor.ls_ptr, aor.ls_len, &one, star ? 0 : 1,
	    star, now) != 0) {
		errbuf_add(errs, NULL, 0, "Redis: %s", cm_conn.cn_err);
		cluster_close(&cm_conn);
		return -1;
	}
	return 0;
}
