/*
 * mi_request: one JSON-RPC 2.0 request line (mi/PROTOCOL.md §2-3) made
 * into a command and its text arguments, or into the error to answer.
 * No I/O and no logging: mi_server.c calls it per line, and a fuzz
 * target (test/fuzz/fuzz_mi_request.c) calls it on anything.
 */
#ifndef SIPD_MI_REQUEST_H
#define SIPD_MI_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "mi_cmd.h"

/* Most params a request may carry; Kamailio's biggest (ul_add) has 9. */
#define MI_MAX_PARAMS	32
#define MI_REQUEST_TEXT	(JSON_ERROR_TEXT_LENGTH + 64)

struct mi_request {
	json_t			*mq_req;	/* the parsed line (owned) */
	json_t			*mq_id;		/* in mq_req; NULL: none/bad */
	bool			 mq_notify;	/* no id: never answered */
	const struct mi_cmd	*mq_cmd;
	int			 mq_argc;
	char			*mq_argv[MI_MAX_PARAMS + 1];	/* owned */
	/* on an error: its code (MI_E_*) and message */
	int			 mq_code;
	char			 mq_text[MI_REQUEST_TEXT];
};

/*
 * Parses line (len bytes, no LF) into *r. 0: r names the command and
 * its arguments. -1: r->mq_code and mq_text say what to answer, with
 * r->mq_id (NULL for a parse error or a bad id), unless mq_notify (a
 * notification is never answered). Either way mi_request_clear() after.
 */
int	mi_request_parse(const char *line, size_t len, struct mi_request *r);
void	mi_request_clear(struct mi_request *r);

#endif
