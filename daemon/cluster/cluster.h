/*
 * cluster: several sipd nodes sharing registrations through one Redis
 * (cluster.redis). The layout in Redis (README "Several nodes"):
 *
 *   sipd:aor:{AOR}   HASH   "version" -> counter bumped on every change;
 *                           one field per contact URI -> JSON object
 *                           {expires (absolute), q, callid, cseq, ua,
 *                           received, path, socket, node, flags, cflags,
 *                           methods, modified}; EXPIREAT the latest
 *                           expiry + CLUSTER_GRACE.
 *   sipd:events      STREAM capped (MAXLEN ~ CLUSTER_STREAM_MAX) of
 *                           {aor, version, node, op, contacts N} and
 *                           then the AoR's N contacts as in its hash
 *                           (URI -> JSON) after the change; op reg or
 *                           unreg.
 *   sipd:node:{ID}   STRING heartbeat of a node, JSON, EX 3 * period.
 *
 * One Lua script (cluster_script.c) applies a REGISTER in one round
 * trip, so two nodes registering one AoR at once cannot race.
 *
 * This folder knows Redis and the table API (loctab.h); it never logs:
 * results are 0 / -errno with a text in the connection (cn_err) that
 * the caller logs (the workers in cluster_worker.c, the sync process
 * in cluster_sync.c).
 */
#ifndef SIPD_CLUSTER_H
#define SIPD_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf_cluster.h"
#include "loctab.h"

#define CLUSTER_KEY_AOR		"sipd:aor:"
#define CLUSTER_KEY_EVENTS	"sipd:events"
#define CLUSTER_KEY_NODE	"sipd:node:"
#define CLUSTER_GRACE		300	/* s a key outlives its last expiry */
#define CLUSTER_STREAM_MAX	100000	/* events kept (approximately) */
#define CLUSTER_CONTACTS_MAX	64	/* contacts of one AoR read back */

struct redisContext;

/* One connection (a worker's, or the sync process's). */
struct cluster_conn {
	struct redisContext	*cn_ctx;
	const struct conf_cluster *cn_conf;
	unsigned		 cn_timeout_ms;
	char			 cn_sha[41];	/* the script, once loaded */
	char			 cn_master[CONF_CLUSTER_HOST_MAX + 8];
	char			 cn_err[256];	/* the last failure */
};

/* What the script said about a REGISTER. */
enum cluster_status {
	CLUSTER_OK = 0,
	CLUSTER_CSEQ,		/* same Call-ID, CSeq not higher: 400 */
	CLUSTER_TOO_MANY	/* over registrar.max_contacts: 503 */
};

/* A contact of an AoR as Redis holds it; strings NUL-terminated. */
struct cluster_contact {
	char		 cc_uri[LOCTAB_CONTACT_MAX + 1];
	char		 cc_callid[LOCTAB_CALLID_MAX + 1];
	char		 cc_ua[LOCTAB_UA_MAX + 1];
	char		 cc_received[LOCTAB_RECEIVED_MAX + 1];
	char		 cc_path[LOCTAB_PATH_MAX + 1];
	char		 cc_socket[LOCTAB_SOCKET_MAX + 1];
	char		 cc_node[CONF_CLUSTER_NODE_MAX];
	int64_t		 cc_expires;	/* absolute; 0 permanent */
	int64_t		 cc_modified;
	int		 cc_q;
	uint32_t	 cc_cseq, cc_flags, cc_cflags, cc_methods;
};

struct cluster_aor {
	char			 ca_aor[LOCTAB_AOR_MAX + 1];
	size_t			 ca_aor_len;
	int64_t			 ca_version;	/* 0: no such key */
	unsigned		 ca_n;
	struct cluster_contact	 ca_c[CLUSTER_CONTACTS_MAX];
};

/*
 * Connects (redis://: the host; sentinel://: asks the sentinels for
 * the master) with every wait bounded by timeout_ms, selects the DB.
 * 0 or -errno (cn_err says why). cluster_close() accepts a closed one.
 */
int	cluster_connect(struct cluster_conn *cn, const struct conf_cluster *cu,
	    unsigned timeout_ms);
void	cluster_close(struct cluster_conn *cn);
bool	cluster_connected(const struct cluster_conn *cn);
/* Changes the bound of every later wait (the sync process's XREAD). */
int	cluster_set_timeout(struct cluster_conn *cn, unsigned timeout_ms);

/*
 * A REGISTER (the request loctab_save() would get) through the script.
 * 0 with *ret_status and *ret_version, or -errno: the connection is
 * closed then (a late reply must not be read as the next one's).
 */
int	cluster_register(struct cluster_conn *cn, const struct loctab_save *req,
	    enum cluster_status *ret_status, int64_t *ret_version);
/*
 * Replays this node's view of an AoR changed while Redis was away: its
 * bindings b[0..n) (what this node has now) go through the same script
 * with the CSeq rule; bindings owned by this node that Redis has and
 * this node no longer has, last changed before since, are removed.
 */
/*
 * The same in two halves, for several REGISTERs in one round trip:
 * _send queues the script (nothing leaves yet), _recv sends what is
 * queued and reads the oldest reply. -ENOENT from _recv: Redis lost
 * the script; run that one again with cluster_register().
 */
int	cluster_register_send(struct cluster_conn *cn,
	    const struct loctab_save *req);
int	cluster_register_recv(struct cluster_conn *cn,
	    enum cluster_status *ret_status, int64_t *ret_version);
int	cluster_replay(struct cluster_conn *cn, const char *aor, size_t len,
	    const struct loctab_binding *b, unsigned n, time_t since,
	    time_t now);
/*
 * An operator's change (MI ul.add, ul.rm_contact, ul.rm), whichever
 * node owns the contacts: each of b[0..n) is set in Redis as given, or
 * removed when its lb_expires is -1; star removes them all. Other
 * nodes learn it from the stream.
 */
int	cluster_mi(struct cluster_conn *cn, const char *aor, size_t len,
	    const struct loctab_binding *b, unsigned n, bool star, time_t now);
/* HGETALL of one AoR into *ret (ca_version 0 when the key is gone). */
int	cluster_fetch(struct cluster_conn *cn, const char *aor, size_t len,
	    struct cluster_aor *ret);
/* The same in two halves: several AoRs in one round trip, in order. */
int	cluster_fetch_send(struct cluster_conn *cn, const char *aor,
	    size_t len);
int	cluster_fetch_recv(struct cluster_conn *cn, const char *aor,
	    size_t len, struct cluster_aor *ret);
/*
 * The same from field/value pairs read by the caller: an HGETALL reply
 * (first 0) for a pipelined load, or a stream event's fields from its
 * contacts on (the event carries the AoR's state). reply is a
 * redisReply array. 0 or -EPROTO.
 */
int	cluster_aor_from_reply(const void *reply, size_t first,
	    const char *aor, size_t len, struct cluster_aor *ret);

/*
 * Makes the table's bindings of a->ca_aor what Redis has (expired ones
 * left out): inserts or updates with loctab_save(), removes with
 * loctab_rm_contact(), so that an AoR never vanishes on the way.
 * Returns the number of changes made, or a negative errno.
 */
int	cluster_apply(struct loctab *lt, const struct cluster_aor *a,
	    time_t now);
/*
 * The same for a state newer than the table's (another node's change):
 * each contact saved without first reading the AoR (what an event
 * costs a node is mostly this); the AoR is read only when it then holds
 * more bindings than the state (some to remove).
 */
int	cluster_apply_newer(struct loctab *lt, const struct cluster_aor *a,
	    time_t now);

/* The JSON text of one contact (cluster_codec.c); -ENOSPC if too long. */
int	cluster_encode(const struct cluster_contact *c, char *buf, size_t len);
int	cluster_decode(const char *json, size_t len, struct cluster_contact *c);

/*
 * EVALSHA of the script with argc arguments, argv[0..2] filled here
 * (cluster_conn.c): loads the script as needed. 0 with the reply in
 * *ret_reply (a redisReply, for freeReplyObject()), or -errno.
 */
int	cluster_eval(struct cluster_conn *cn, int argc, const char **argv,
	    size_t *lens, void **ret_reply);
int	cluster_eval_send(struct cluster_conn *cn, int argc, const char **argv,
	    size_t *lens);
int	cluster_eval_recv(struct cluster_conn *cn, void **ret_reply);

/*
 * Sends argv alone and reads its reply into memory this process reuses
 * from call to call (cluster_reuse.c): *ret is valid until the next
 * call and is not freed. delay_ms > 0: Redis runs it that much later
 * (it holds the connection in a WAIT first). 0; 1 when Redis refused the
 * delay (cn_err says why; the command ran at once, *ret is its reply);
 * -EPROTO for an error reply (cn_err); -EIO when the connection failed
 * (closed then).
 */
struct redisReply;
int	cluster_command_reused(struct cluster_conn *cn, unsigned delay_ms,
	    int argc, const char **argv, const struct redisReply **ret);

extern const char	cluster_script_lua[];

#endif
