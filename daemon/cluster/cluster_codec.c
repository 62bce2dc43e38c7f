/*
 * cluster_codec: one contact of an AoR hash as the JSON text Redis
 * stores (readable with redis-cli, and by the script's cjson). Run by
 * the workers and the sync process.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cluster.h"

int
cluster_encode(const struct cluster_contact *c, char *buf, size_t len)
{
	json_t	*o;
	size_t	 n;

	o = json_pack("{s:I, s:i, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, "
	    "s:I, s:I, s:I}",
	    "expires", (json_int_t)c->cc_expires, "q", c->cc_q,
	    "callid", c->cc_callid, "cseq", (json_int_t)c->cc_cseq,
	    "ua", c->cc_ua, "received", c->cc_received, "path", c->cc_path,
	    "socket", c->cc_socket, "node", c->cc_node,
	    "flags", (json_int_t)c->cc_flags,
	    "cflags", (json_int_t)c->cc_cflags,
	    "methods", (json_int_t)c->cc_methods,
	    "modified", (json_int_t)c->cc_modified);
	if (o == NULL)
		return -EINVAL;	/* a string that is not UTF-8 */
	n = json_dumpb(o, buf, len, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (n == 0 || n >= len)
		return -ENOSPC;
	buf[n] = '\0';
	return (int)n;
}

static void
cluster_copy(char *dst, size_t cap, json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);
	size_t	 n;

	dst[0] = '\0';
	if (!json_is_string(v))
		return;
	n = json_string_length(v);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, json_string_value(v), n);
	dst[n] = '\0';
}

static int64_t
cluster_int(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_real(v))	/* cjson may write a whole number so */
		return (int64_t)json_real_value(v);
	return 0;
}

int
cluster_decode(const char *json, size_t len, struct cluster_contact *c)
{
	json_t		*o;
	json_error_t	 err;

	if ((o = json_loadb(json, len, 0, &err)) == NULL)
		return -EBADMSG;
	if (!json_is_object(o)) {
		json_decref(o);
		return -EBADMSG;
	}
	cluster_copy(c->cc_callid, sizeof(c->cc_callid), o, "callid");
	cluster_copy(c->cc_ua, sizeof(c->cc_ua), o, "ua");
	cluster_copy(c->cc_received, sizeof(c->cc_received), o, "received");
	cluster_copy(c->cc_path, sizeof(c->cc_path), o, "path");
	cluster_copy(c->cc_socket, sizeof(c->cc_socket), o, "socket");
	cluster_copy(c->cc_node, sizeof(c->cc_node), o, "node");
	c->cc_expires = cluster_int(o, "expires");
	c->cc_modified = cluster_int(o, "modified");
	c->cc_q = (int)cluster_int(o, "q");
	c->cc_cseq = (uint32_t)cluster_int(o, "cseq");
	c->cc_flags = (uint32_t)cluster_int(o, "flags");
	c->cc_cflags = (uint32_t)cluster_int(o, "cflags");
	c->cc_methods = (uint32_t)cluster_int(o, "methods");
	json_decref(o);
	return 0;
}
