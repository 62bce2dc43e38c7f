/*
 * cluster_mi: an operator's change of the location table (MI ul.add,
 * ul.rm, ul.rm_contact, made in the master) shared with the other nodes
 * through Redis, as a REGISTER is by the workers. Without cluster.redis
 * it does nothing.
 */
#ifndef SIPD_CLUSTER_MI_H
#define SIPD_CLUSTER_MI_H

#include "conf.h"
#include "errbuf.h"
#include "loctab.h"

void	cluster_mi_init(const struct conf *c);
/*
 * After the change: contact (empty: every contact, ul.rm) of aor is
 * set in Redis as lt holds it now, or removed there when lt no longer
 * has it. 0, or -1 with the reason in errs: the change then stays on
 * this node (every wait is bounded by CLUSTER_W_TIMEOUT_MS).
 */
int	cluster_mi_share(struct loctab *lt, struct loctab_str aor,
	    struct loctab_str contact, struct errbuf *errs);

#endif
