/*
 * mi_reply: what an MI command handler hands back (master process).
 *
 * A handler answers in exactly one of three ways:
 *  - a whole value, built with jansson: mi_reply_set() (small replies);
 *  - an error: mi_reply_error() (Kamailio-like code and text);
 *  - a stream: mi_reply_stream() with a generator the server calls
 *    again and again, each call appending the next piece of the result
 *    through the mi_stream_*() emitters, while the client keeps reading.
 * Doing nothing means the result is JSON null.
 *
 * Streams exist for big dumps (ul.dump of 100k bindings): memory stays
 * bounded because the server calls the generator only while the
 * connection's output buffer is below a watermark, and no lock is held
 * between calls because the generator copies one hash slot per call
 * and returns. The result is still one JSON-RPC response line; the
 * emitters track nesting and commas so that it is always valid JSON.
 */
#ifndef SIPD_MI_REPLY_H
#define SIPD_MI_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* JSON-RPC 2.0 protocol error codes (mi/PROTOCOL.md). */
#define MI_E_PARSE		(-32700)	/* line is not JSON */
#define MI_E_INVALID		(-32600)	/* not a JSON-RPC request */
#define MI_E_NOMETHOD		(-32601)	/* unknown method */
#define MI_E_PARAMS		(-32602)	/* bad params: count or form */
#define MI_E_INTERNAL		(-32603)	/* sipd ran out of something */
#define MI_E_BUSY		(-32000)	/* too many MI connections */

/* Command failures use HTTP/SIP-like codes, as Kamailio's RPC does. */
#define MI_E_BADREQ		400
#define MI_E_NOTFOUND		404
#define MI_E_SERVER		500
#define MI_E_UNAVAIL		503

#define MI_ERROR_TEXT_MAX	512

struct mi_reply;
struct mi_stream;

/*
 * Returns MI_STREAM_MORE to be called again, MI_STREAM_DONE when the
 * value is complete (every container closed), MI_STREAM_FAIL after
 * mi_stream_error(). Each call should add a bounded piece (one hash
 * slot, some kilobytes) and must not keep a lock across calls.
 */
enum mi_stream_status {
	MI_STREAM_FAIL = -1,
	MI_STREAM_DONE = 0,
	MI_STREAM_MORE = 1,
};
typedef int	(*mi_stream_fn)(struct mi_stream *s, void *state);
typedef void	(*mi_stream_free_fn)(void *state);

/*
 * Result: takes over the caller's reference to v (NULL is JSON null).
 * A later call replaces an earlier one.
 */
void	mi_reply_set(struct mi_reply *r, json_t *v);
/* The result "OK" of a change (an out-of-memory error if it cannot). */
void	mi_reply_ok(struct mi_reply *r);
/* Error reply: code and printf-style text (cut at MI_ERROR_TEXT_MAX). */
void	mi_reply_error(struct mi_reply *r, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Streamed result: gen(s, state) is called until it is done or fails;
 * free_state(state), if not NULL, is called exactly once afterwards,
 * also when the client goes away early or the request was a
 * notification (then gen is never called).
 */
void	mi_reply_stream(struct mi_reply *r, mi_stream_fn gen, void *state,
	    mi_stream_free_fn free_state);

/*
 * Argument helpers: parse argv text, or set a MI_E_PARAMS error naming
 * what (e.g. "expires") and return -1. 0 on success, *ret set only then.
 */
int	mi_arg_long(struct mi_reply *r, const char *what, const char *text,
	    long min, long max, long *ret);
int	mi_arg_double(struct mi_reply *r, const char *what, const char *text,
	    double min, double max, double *ret);

/*
 * A jansson string from arbitrary bytes (NUL and non-UTF-8 allowed):
 * valid UTF-8 is kept, every other byte becomes the character of the
 * same Latin-1 value (0xE9 -> U+00E9), so the JSON is always valid.
 * NULL on allocation failure.
 */
json_t	*mi_json_string(const char *p, size_t n);

/*
 * Stream emitters. key names the member when inside an object and must
 * be NULL inside an array or for the top value. Misuse (key missing or
 * extra, close without open, nesting over MI_STREAM_DEPTH) or an
 * allocation failure marks the stream broken; the server then drops the
 * connection instead of sending bad JSON. They return 0, or -1 once
 * broken, so a generator may check once at the end of its call.
 */
#define MI_STREAM_DEPTH		32

int	mi_stream_obj_open(struct mi_stream *s, const char *key);
int	mi_stream_obj_close(struct mi_stream *s);
int	mi_stream_arr_open(struct mi_stream *s, const char *key);
int	mi_stream_arr_close(struct mi_stream *s);
/* Bytes p[0..n) as a JSON string, escaped as mi_json_string() maps them. */
int	mi_stream_str(struct mi_stream *s, const char *key, const char *p,
	    size_t n);
int	mi_stream_cstr(struct mi_stream *s, const char *key, const char *str);
int	mi_stream_int(struct mi_stream *s, const char *key, int64_t v);
/* Always written as a JSON real ("0.5", "-1.0"): mictl prints it %f. */
int	mi_stream_real(struct mi_stream *s, const char *key, double v);
/* Fails the stream with a command error; only honoured before output. */
void	mi_stream_error(struct mi_stream *s, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Bytes this generator call has added so far: a generator may loop over
 * slots until this passes some kilobytes, then return MI_STREAM_MORE.
 */
size_t	mi_stream_pending(const struct mi_stream *s);

/*
 * JSON string escaping shared with the server: appends the quoted,
 * escaped form of p[0..n) to out (an evbuffer). 0 or -1 (ENOMEM).
 */
struct evbuffer;
int	mi_json_escape(struct evbuffer *out, const char *p, size_t n);

/*
 * Server side (mi_server.c). The structs are here so the server can
 * keep them inside its connection; handlers use only the calls above.
 */
enum mi_reply_kind {
	MI_REPLY_VALUE,
	MI_REPLY_ERROR,
	MI_REPLY_STREAM,
};

struct mi_reply {
	enum mi_reply_kind rp_kind;
	json_t		*rp_result;	/* MI_REPLY_VALUE; NULL = null */
	int		 rp_code;	/* MI_REPLY_ERROR */
	char		 rp_text[MI_ERROR_TEXT_MAX];
	mi_stream_fn	 rp_gen;	/* MI_REPLY_STREAM */
	void		*rp_state;
	mi_stream_free_fn rp_free;
};

struct mi_stream {
	struct evbuffer	*ms_out;	/* result text not yet handed over */
	mi_stream_fn	 ms_gen;
	void		*ms_state;
	mi_stream_free_fn ms_free;
	int		 ms_depth;	/* open containers */
	char		 ms_kind[MI_STREAM_DEPTH + 1];	/* 'o' or 'a' */
	uint32_t	 ms_count[MI_STREAM_DEPTH + 1];	/* items per level */
	bool		 ms_broken;	/* misuse or ENOMEM: drop the line */
	bool		 ms_failed;	/* mi_stream_error() was called */
	int		 ms_code;
	char		 ms_text[MI_ERROR_TEXT_MAX];
};

void	mi_reply_init(struct mi_reply *r);
/* Frees what the reply holds, including an unused stream state. */
void	mi_reply_clear(struct mi_reply *r);
/*
 * Moves a MI_REPLY_STREAM reply into a new stream (the reply no longer
 * owns the state). NULL on ENOMEM, after freeing the state.
 */
struct mi_stream *mi_stream_new(struct mi_reply *r);
/* One generator call; its output is in s->ms_out. */
enum mi_stream_status mi_stream_step(struct mi_stream *s);
void	mi_stream_free(struct mi_stream *s);

#endif
