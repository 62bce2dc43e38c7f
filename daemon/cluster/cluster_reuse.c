/*
 * cluster_reuse: a command whose reply is read into memory kept from
 * one call to the next (the sync process's XREAD). hiredis's own reader
 * allocates every element of a reply and frees each again: a batch of
 * 500 stream events, ~30 elements each, made ~30,000 malloc/free calls,
 * a fifth of what another node's REGISTER cost the sync process. Here
 * the elements are carved from chunks that a later call reuses, and the
 * reader's buffer is kept instead of freed after every large reply.
 *
 * A delay is asked of Redis rather than slept here: a process that
 * sleeps, then sends and sleeps again for the reply, is charged two
 * wake-ups (~30 us of CPU each on this class of machine:
 * test/load/wakeup_cost.c); with Redis holding the command, one.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cluster.h"

#define REUSE_CHUNK	(256 * 1024)

struct reuse_chunk {
	struct reuse_chunk	*rc_next;
	size_t			 rc_size, rc_used;
	alignas(max_align_t) unsigned char rc_mem[];
};

static struct reuse_chunk	*reuse_first, *reuse_at;
static bool			 reuse_nomem;

static void *
reuse_alloc(size_t n)
{
	struct reuse_chunk	*c;
	size_t			 size;

	n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	for (c = reuse_at; c != NULL; c = c->rc_next) {
		if (c->rc_size - c->rc_used >= n) {
			reuse_at = c;
			c->rc_used += n;
			return c->rc_mem + c->rc_used - n;
		}
		if (c->rc_next != NULL)
			c->rc_next->rc_used = 0;
	}
	size = n > REUSE_CHUNK ? n : REUSE_CHUNK;
	if ((c = malloc(sizeof(*c) + size)) == NULL) {
		reuse_nomem = true;
		return NULL;
	}
	c->rc_next = NULL;
	c->rc_size = size;
	c->rc_used = n;
	if (reuse_at != NULL) {
		/* appended after the last chunk: the walk above ended there */
		while (reuse_at->rc_next != NULL)
			reuse_at = reuse_at->rc_next;
		reuse_at->rc_next = c;
	} else
		reuse_first = c;
	reuse_at = c;
	return c->rc_mem;
}

/* Every chunk free again (they stay allocated). */
static void
reuse_rewind(void)
{
	reuse_at = reuse_first;
	if (reuse_at != NULL)
		reuse_at->rc_used = 0;
	reuse_nomem = false;
}

/* A new element, put in its place in the parent array. */
static redisReply *
reuse_reply(const redisReadTask *task, int type)
{
	redisReply	*r, *parent;

	if ((r = reuse_alloc(sizeof(*r))) == NULL)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->type = type;
	if (task->parent != NULL) {
		parent = task->parent->obj;
		parent->element[task->idx] = r;
	}
	return r;
}

static void *
reuse_string(const redisReadTask *task, char *str, size_t len)
{
	redisReply	*r;

	if ((r = reuse_reply(task, task->type)) == NULL ||
	    (r->str = reuse_alloc(len + 1)) == NULL)
		return NULL;
	memcpy(r->str, str, len);
	r->str[len] = '\0';
	r->len = len;
	return r;
}

static void *
reuse_array(const redisReadTask *task, int elements)
{
	redisReply	*r;

	if (elements < 0 || (r = reuse_reply(task, REDIS_REPLY_ARRAY)) ==
	    NULL)
		return NULL;
	r->elements = (size_t)elements;
	if (elements > 0 && (r->element = reuse_alloc((size_t)elements *
	    sizeof(*r->element))) == NULL)
		return NULL;
	return r;
}

static void *
reuse_integer(const redisReadTask *task, long long value)
{
	redisReply	*r;

	if ((r = reuse_reply(task, REDIS_REPLY_INTEGER)) != NULL)
		r->integer = value;
	return r;
}

static void *
reuse_nil(const redisReadTask *task)
{
	return reuse_reply(task, REDIS_REPLY_NIL);
}

static void
reuse_free(void *reply)
{
	(void)reply;	/* the chunks are rewound by the next call */
}

static redisReplyObjectFunctions reuse_fn = {
	.createString = reuse_string,
	.createArray = reuse_array,
	.createInteger = reuse_integer,
	.createNil = reuse_nil,
	.freeObject = reuse_free,
};

/*
 * WAIT for more replicas than any deployment has: Redis holds this
 * connection for its timeout, then runs what was pipelined after it.
 */
#define REUSE_WAIT_REPLICAS	"1000000"

/* The WAIT's reply: 0, 1 when Redis refused it (cn_err), -EIO. */
static int
reuse_wait_reply(struct cluster_conn *cn)
{
	redisReply	*w;
	void		*vr;
	int		 rc = 0;

	if (redisGetReply(cn->cn_ctx, &vr) != REDIS_OK || vr == NULL) {
		snprintf(cn->cn_err, sizeof(cn->cn_err), "WAIT: %s",
		    cn->cn_ctx->errstr);
		cluster_close(cn);
		return -EIO;
	}
	w = vr;
	if (w->type == REDIS_REPLY_ERROR) {
		snprintf(cn->cn_err, sizeof(cn->cn_err), "WAIT: %s", w->str);
		rc = 1;
	}
	freeReplyObject(w);
	return rc;
}

int
cluster_command_reused(struct cluster_conn *cn, unsigned delay_ms, int argc,
    const char **argv, const struct redisReply **ret)
{
	redisReplyObjectFunctions	*own;
	const char			*wv[3];
	char				 ms[16];
	redisReply			*r;
	void				*vr = NULL;
	int				 refused = 0;

	*ret = NULL;
	if (cn->cn_ctx == NULL)
		return -ENOTCONN;
	reuse_rewind();
	if (delay_ms > 0) {
		snprintf(ms, sizeof(ms), "%u", delay_ms);
		wv[0] = "WAIT";
		wv[1] = REUSE_WAIT_REPLICAS;
		wv[2] = ms;
	}
	if ((delay_ms > 0 && redisAppendCommandArgv(cn->cn_ctx, 3, wv,
	    NULL) != REDIS_OK) ||
	    redisAppendCommandArgv(cn->cn_ctx, argc, argv, NULL) != REDIS_OK) {
		snprintf(cn->cn_err, sizeof(cn->cn_err), "%s: %s", argv[0],
		    cn->cn_ctx->errstr);
		cluster_close(cn);
		return -EIO;
	}
	if (delay_ms > 0 && (refused = reuse_wait_reply(cn)) < 0)
		return refused;
	/* nothing else is owed on the connection: only this reply is read */
	own = cn->cn_ctx->reader->fn;
	cn->cn_ctx->reader->fn = &reuse_fn;
	cn->cn_ctx->reader->maxbuf = 0;	/* keep the buffer */
	r = redisGetReply(cn->cn_ctx, &vr) == REDIS_OK ? vr : NULL;
	if (r == NULL) {
		snprintf(cn->cn_err, sizeof(cn->cn_err), "%s: %s", argv[0],
		    reuse_nomem ? "out of memory" : cn->cn_ctx->errstr);
		/* closed before fn goes back: a half-read reply is ours */
		cluster_close(cn);
		return -EIO;
	}
	cn->cn_ctx->reader->fn = own;
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(cn->cn_err, sizeof(cn->cn_err), "%s: %s", argv[0],
		    r->str);
		return -EPROTO;
	}
	*ret = r;
	return refused;
}
