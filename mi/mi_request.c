/*
 * mi_request: a request line to a command and its arguments (see
 * mi_request.h). Run by the master for every MI line; fuzzed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mi_reply.h"
#include "mi_request.h"

/* Text of one param; NULL if it is not a string, number or boolean. */
static char *
mi_param_text(const json_t *v)
{
	char	buf[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return strdup(json_string_value(v));
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return strdup(buf);
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		return strdup(buf);
	case JSON_TRUE:
		return strdup("true");
	case JSON_FALSE:
		return strdup("false");
	default:
		return NULL;
	}
}

static const char *
mi_nparams_text(const struct mi_cmd *c, char *buf, size_t len)
{
	if (c->mc_min_args == c->mc_max_args)
		snprintf(buf, len, "%d", c->mc_min_args);
	else if (c->mc_max_args == MI_CMD_ANY_ARGS)
		snprintf(buf, len, "at least %d", c->mc_min_args);
	else
		snprintf(buf, len, "%d to %d", c->mc_min_args,
		    c->mc_max_args);
	return buf;
}

static int
mi_request_fail(struct mi_request *r, int code, const char *text)
{
	r->mq_code = code;
	(void)snprintf(r->mq_text, sizeof(r->mq_text), "%s", text);
	return -1;
}

int
mi_request_parse(const char *line, size_t len, struct mi_request *r)
{
	json_error_t		 jerr;
	json_t			*method, *params, *v, *ver;
	const struct mi_cmd	*c;
	char			 text[MI_REQUEST_TEXT], nbuf[32];
	size_t			 k;

	memset(r, 0, sizeof(*r));
	if ((r->mq_req = json_loadb(line, len, 0, &jerr)) == NULL) {
		snprintf(text, sizeof(text), "Parse error: %s at offset %d",
		    jerr.text, jerr.position);
		return mi_request_fail(r, MI_E_PARSE, text);
	}
	/* NULL also for a non-object */
	r->mq_id = json_object_get(r->mq_req, "id");
	r->mq_notify = json_is_object(r->mq_req) && r->mq_id == NULL;
	if (r->mq_id != NULL && !json_is_string(r->mq_id) &&
	    !json_is_number(r->mq_id) && !json_is_null(r->mq_id)) {
		r->mq_id = NULL;
		return mi_request_fail(r, MI_E_INVALID,
		    "Invalid Request: bad id");
	}
	method = json_object_get(r->mq_req, "method");
	params = json_object_get(r->mq_req, "params");
	ver = json_object_get(r->mq_req, "jsonrpc");
	if (!json_is_object(r->mq_req) || !json_is_string(method) ||
	    !json_is_string(ver) || strcmp(json_string_value(ver), "2.0") != 0) {
		/* answered even without an id: it is not a notification */
		r->mq_notify = false;
		return mi_request_fail(r, MI_E_INVALID, "Invalid Request");
	}
	if ((c = mi_cmd_find(json_string_value(method))) == NULL)
		return mi_request_fail(r, MI_E_NOMETHOD, "Method not found");
	r->mq_cmd = c;
	if (params != NULL && !json_is_array(params) && !json_is_null(params))
		return mi_request_fail(r, MI_E_PARAMS,
		    "Invalid params: params must be an array");
	if (json_array_size(params) > MI_MAX_PARAMS ||
	    (int)json_array_size(params) < c->mc_min_args ||
	    (c->mc_max_args != MI_CMD_ANY_ARGS &&
	    (int)json_array_size(params) > c->mc_max_args)) {
		snprintf(text, sizeof(text),
		    "Invalid params: %s takes %s parameter(s)", c->mc_name,
		    mi_nparams_text(c, nbuf, sizeof(nbuf)));
		return mi_request_fail(r, MI_E_PARAMS, text);
	}
	json_array_foreach(params, k, v) {
		if ((r->mq_argv[r->mq_argc] = mi_param_text(v)) == NULL) {
			if (json_is_string(v) || json_is_number(v) ||
			    json_is_boolean(v))
				return mi_request_fail(r, MI_E_INTERNAL,
				    "Internal error: out of memory");
			snprintf(text, sizeof(text), "Invalid params: "
			    "parameter %zu is not a string or number", k + 1);
			return mi_request_fail(r, MI_E_PARAMS, text);
		}
		r->mq_argc++;
	}
	r->mq_argv[r->mq_argc] = NULL;
	return 0;
}

void
mi_request_clear(struct mi_request *r)
{
	int	 i;

	for (i = 0; i < r->mq_argc; i++)
		free(r->mq_argv[i]);
	r->mq_argc = 0;
	json_decref(r->mq_req);
	r->mq_req = NULL;
	r->mq_id = NULL;
}
