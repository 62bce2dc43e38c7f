/*
 * mi_server: the MI socket (SPEC §7), run by the master in its libevent
 * loop. Accepts clients on a UNIX stream socket, reads one JSON-RPC 2.0
 * request per line, dispatches it through the command table and writes
 * one response line. Wire format and limits: mi/PROTOCOL.md.
 *
 * The master also supervises the workers, so nothing here may block:
 * every client has its own bufferevent, a request line is bounded
 * (MI_LINE_MAX), and long replies are streamed. A streamed reply's
 * generator is called only while the client's output buffer holds less
 * than MI_OUT_LOW bytes; the write callback (low watermark MI_OUT_LOW)
 * resumes it as the client reads. A client that stops reading thus
 * costs at most MI_OUT_LOW plus one generator piece of memory, holds no
 * lock, and is dropped after MI_STALL_TIMEOUT.
 *
 * Access control is the socket file's mode and group (mi.mode,
 * mi.group); peer credentials are logged at debug level.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "conf.h"
#include "errbuf.h"
#include "mi_cfg.h"
#include "mi_cluster.h"
#include "mi_cmd.h"
#include "mi_daemon.h"
#include "mi_reply.h"
#include "evtime.h"
#include "mi_request.h"
#include "mi_server.h"
#include "mi_stats.h"
#include "mi_ul.h"
#include "mi_users.h"

struct mi_conn {
	TAILQ_ENTRY(mi_conn)	 cn_entry;
	struct bufferevent	*cn_bev;
	struct event		*cn_line_ev;	/* MI_LINE_TIMEOUT */
	unsigned		 cn_serial;	/* for log lines */
	long			 cn_pid;	/* peer, -1 unknown */
	long			 cn_uid;
	long			 cn_gid;
	struct mi_stream	*cn_stream;	/* reply being streamed */
	json_t			*cn_id;		/* its request id */
	bool			 cn_started;	/* its prefix is written */
	bool			 cn_eof;	/* peer sends no more */
	bool			 cn_closing;	/* free once output drained */
};

TAILQ_HEAD(mi_conn_list, mi_conn);

static struct event_base	*mi_base;
static struct evconnlistener	*mi_listener;
static struct event		*mi_resume_ev;	/* re-enables accept */
static struct mi_conn_list	 mi_conns = TAILQ_HEAD_INITIALIZER(mi_conns);
static int			 mi_nconns;
static unsigned			 mi_serial;
static char			 mi_path[PATH_MAX];
/* Identity of our socket file: stop never unlinks another's. */
static dev_t			 mi_dev;
static ino_t			 mi_ino;

static void	mi_conn_run(struct mi_conn *);

static void
mi_conn_free(struct mi_conn *cn)
{
	TAILQ_REMOVE(&mi_conns, cn, cn_entry);
	mi_nconns--;
	mi_stream_free(cn->cn_stream);
	json_decref(cn->cn_id);
	if (cn->cn_line_ev != NULL)
		event_free(cn->cn_line_ev);
	bufferevent_free(cn->cn_bev);
	mi_log_debug("mi: client %u closed", cn->cn_serial);
	free(cn);
}

static int
mi_dump_cb(const char *buf, size_t size, void *arg)
{
	return evbuffer_add(arg, buf, size) == -1 ? -1 : 0;
}

/*
 * Writes one whole response line. On ENOMEM the client cannot be
 * answered correctly any more, so it is dropped (-1, cn freed).
 */
static int
mi_conn_send(struct mi_conn *cn, json_t *msg)
{
	struct evbuffer	*out = bufferevent_get_output(cn->cn_bev);

	if (msg == NULL ||
	    json_dump_callback(msg, mi_dump_cb, out, JSON_COMPACT) == -1 ||
	    evbuffer_add(out, "\n", 1) == -1) {
		json_decref(msg);
		mi_log_warnx("mi: client %u: out of memory, dropped",
		    cn->cn_serial);
		mi_conn_free(cn);
		return -1;
	}
	json_decref(msg);
	return 0;
}

static int
mi_conn_result(struct mi_conn *cn, json_t *id, json_t *result)
{
	return mi_conn_send(cn, json_pack("{s:s, s:O?, s:O?}", "jsonrpc",
	    "2.0", "result", result, "id", id));
}

static int
mi_conn_error(struct mi_conn *cn, json_t *id, int code, const char *text)
{
	return mi_conn_send(cn, json_pack("{s:s, s:{s:i, s:o}, s:O?}",
	    "jsonrpc", "2.0", "error", "code", code,
	    "message", mi_json_string(text, strlen(text)), "id", id));
}

/*
 * Validates and runs one request line. Returns 0 when the connection
 * goes on, -1 when it was freed.
 */
/*
 * The commands that change what sipd does (bindings, the run-time
 * config, a write of the table): each one that succeeds is logged at
 * notice with the peer's uid and pid (SO_PEERCRED), so an operator can
 * see who redirected calls or added a binding.
 */
static const char *const mi_changing[] = {
	"ul.add", "ul.rm", "ul.rm_contact", "ul.flush",
	"cfg.set", "cfg.set_now_string", "cfg.set_now_int",
	"subscriber.add", "subscriber.passwd", "subscriber.rm",
	"subscriber.reload", "permissions.trustedReload",
	"trusted.add", "trusted.rm",
};

/* The second argument of these is a password: never logged. */
static bool
mi_audit_masked(const char *name, int k)
{
	return k == 1 && (strcmp(name, "subscriber.add") == 0 ||
	    strcmp(name, "subscriber.passwd") == 0);
}

static void
mi_audit(const struct mi_conn *cn, const char *name, int argc,
    char *const *argv)
{
	char	 args[512];
	size_t	 used = 0, i;
	int	 k, n;

	for (i = 0; i < sizeof(mi_changing) / sizeof(mi_changing[0]); i++)
		if (strcmp(name, mi_changing[i]) == 0)
			break;
	if (i == sizeof(mi_changing) / sizeof(mi_changing[0]))
		return;
	args[0] = '\0';
	for (k = 0; k < argc && used < sizeof(args); k++) {
		n = snprintf(args + used, sizeof(args) - used, " \"%.100s\"",
		    mi_audit_masked(name, k) ? "********" : argv[k]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	mi_log_notice("MI change by uid %ld pid %ld: %s%s", cn->cn_uid,
	    cn->cn_pid, name, args);
}

static int
mi_conn_request(struct mi_conn *cn, const char *line, size_t len)
{
	struct mi_request	 q;
	const struct mi_cmd	*c;
	struct mi_reply		 r;
	int			 rc = 0;

	if (mi_request_parse(line, len, &q) != 0) {
		if (!q.mq_notify)
			rc = mi_conn_error(cn, q.mq_id, q.mq_code, q.mq_text);
		goto done;
	}
	c = q.mq_cmd;
	mi_log_debug("mi: client %u: %s%s", cn->cn_serial, c->mc_name,
	    q.mq_notify ? " (notification)" : "");
	mi_reply_init(&r);
	c->mc_handler(&r, q.mq_argc, q.mq_argv);
	if (r.rp_kind != MI_REPLY_ERROR)
		mi_audit(cn, c->mc_name, q.mq_argc, q.mq_argv);
	if (q.mq_notify) {
		/* JSON-RPC: a notification is never answered. */
		mi_reply_clear(&r);
		goto done;
	}
	switch (r.rp_kind) {
	case MI_REPLY_VALUE:
		rc = mi_conn_result(cn, q.mq_id, r.rp_result);
		break;
	case MI_REPLY_ERROR:
		rc = mi_conn_error(cn, q.mq_id, r.rp_code, r.rp_text);
		break;
	case MI_REPLY_STREAM:
		if ((cn->cn_stream = mi_stream_new(&r)) == NULL) {
			rc = mi_conn_error(cn, q.mq_id, MI_E_INTERNAL,
			    "Internal error: out of memory");
			break;
		}
		cn->cn_id = json_incref(q.mq_id);
		cn->cn_started = false;
		/*
		 * No reading while streaming: the next request waits in
		 * the kernel, and the idle timer does not run.
		 */
		bufferevent_disable(cn->cn_bev, EV_READ);
		break;
	}
	mi_reply_clear(&r);
done:
	mi_request_clear(&q);
	return rc;
}

/*
 * Feeds the stream while the output is short. 1 when the reply is
 * complete, 0 when waiting for the client to read, -1 when cn was freed.
 */
static int
mi_conn_pump(struct mi_conn *cn)
{
	struct mi_stream	*s = cn->cn_stream;
	struct evbuffer		*out = bufferevent_get_output(cn->cn_bev);
	static const char	 prefix[] = "{\"jsonrpc\":\"2.0\",\"result\":";
	enum mi_stream_status	 st;

	for (;;) {
		if (evbuffer_get_length(out) > MI_OUT_LOW)
			return 0;
		st = mi_stream_step(s);
		if (st == MI_STREAM_FAIL)
			break;
		if (!cn->cn_started && (evbuffer_get_length(s->ms_out) > 0 ||
		    st == MI_STREAM_DONE)) {
			if (evbuffer_add(out, prefix, sizeof(prefix) - 1) == -1)
				goto nomem;
			cn->cn_started = true;
		}
		if (evbuffer_add_buffer(out, s->ms_out) == -1)
			goto nomem;
		if (st == MI_STREAM_DONE) {
			if (evbuffer_add(out, ",\"id\":", 6) == -1 ||
			    json_dump_callback(cn->cn_id, mi_dump_cb, out,
			    JSON_COMPACT | JSON_ENCODE_ANY) == -1 ||
			    evbuffer_add(out, "}\n", 2) == -1)
				goto nomem;
			break;
		}
	}
	if (st == MI_STREAM_FAIL) {
		if (cn->cn_started) {
			/*
			 * Half a result is on the wire: only a cut line can
			 * tell the client that it is not whole.
			 */
			mi_log_warnx("mi: client %u: streamed reply failed (%s), "
			    "dropped", cn->cn_serial,
			    s->ms_failed ? s->ms_text : "internal error");
			mi_conn_free(cn);
			return -1;
		}
		if (!s->ms_failed)
			mi_log_warnx("mi: client %u: bad streamed reply",
			    cn->cn_serial);
		if (mi_conn_error(cn, cn->cn_id,
		    s->ms_failed ? s->ms_code : MI_E_INTERNAL,
		    s->ms_failed ? s->ms_text : "Internal error") == -1)
			return -1;
	}
	mi_stream_free(cn->cn_stream);
	cn->cn_stream = NULL;
	json_decref(cn->cn_id);
	cn->cn_id = NULL;
	if (!cn->cn_eof)
		bufferevent_enable(cn->cn_bev, EV_READ);
	return 1;
nomem:
	mi_log_warnx("mi: client %u: out of memory while streaming, dropped",
	    cn->cn_serial);
	mi_conn_free(cn);
	return -1;
}

/*
 * Takes the next request line out of the input and answers it.
 * 1 when one was handled, 0 when none is complete, -1 when cn was freed.
 */
static int
mi_conn_next(struct mi_conn *cn)
{
	struct evbuffer		*in = bufferevent_get_input(cn->cn_bev);
	struct evbuffer_ptr	 eol;
	size_t			 len, avail;
	char			*line;
	int			 rc;

	avail = evbuffer_get_length(in);
	eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos == -1) {
		if (avail >= MI_LINE_MAX)
			goto toolong;
		/* A last line without LF still counts once the peer is done. */
		if (!cn->cn_eof || avail == 0)
			return 0;
		len = avail;
	} else {
		if ((size_t)eol.pos + 1 > MI_LINE_MAX)
			goto toolong;
		len = (size_t)eol.pos;
	}
	if ((line = malloc(len + 1)) == NULL) {
		mi_log_warnx("mi: client %u: out of memory, dropped",
		    cn->cn_serial);
		mi_conn_free(cn);
		return -1;
	}
	evbuffer_remove(in, line, len);
	evbuffer_drain(in, eol.pos == -1 ? 0 : 1);
	/* a whole line came in time; the next one gets its own deadline */
	evtimer_del(cn->cn_line_ev);
	line[len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	rc = 0;
	if (strspn(line, " \t") != len)		/* blank lines are ignored */
		rc = mi_conn_request(cn, line, len);
	free(line);
	return rc == -1 ? -1 : 1;
toolong:
	/* The rest of the line cannot be framed: answer, then hang up. */
	mi_log_info("mi: client %u: request line over %d bytes, closing",
	    cn->cn_serial, MI_LINE_MAX);
	if (mi_conn_error(cn, NULL, MI_E_INVALID,
	    "Invalid Request: line too long") == -1)
		return -1;
	evbuffer_drain(in, avail);
	cn->cn_closing = true;
	bufferevent_disable(cn->cn_bev, EV_READ);
	return 0;
}

static void
mi_conn_line_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mi_conn	*cn = arg;

	mi_log_info("mi: client %u (uid %ld): request line not complete in "
	    "%d s, closing", cn->cn_serial, cn->cn_uid, MI_LINE_TIMEOUT);
	mi_conn_free(cn);
}

/*
 * Runs the line deadline while part of a request waits for its LF, from
 * the part's first byte; not while a reply streams (reading is off and
 * the stall timeout rules) nor once closing.
 */
static void
mi_conn_deadline(struct mi_conn *cn)
{
	struct timeval	 tv = { MI_LINE_TIMEOUT, 0 };
	bool		 partial;

	partial = cn->cn_stream == NULL && !cn->cn_closing &&
	    evbuffer_get_length(bufferevent_get_input(cn->cn_bev)) > 0;
	if (!partial)
		evtimer_del(cn->cn_line_ev);
	else if (!evtimer_pending(cn->cn_line_ev, NULL))
		evtimer_add(cn->cn_line_ev, &tv);
}

/* The one driver: called on input, on output drained and on EOF. */
static void
mi_conn_run(struct mi_conn *cn)
{
	int	rc;

	for (;;) {
		if (cn->cn_stream != NULL) {
			if ((rc = mi_conn_pump(cn)) <= 0)
				return;
		}
		if (cn->cn_closing)
			break;
		if ((rc = mi_conn_next(cn)) == -1)
			return;
		if (rc == 0)
			break;
	}
	/* Nothing more will come: close once the answers are out. */
	if (cn->cn_eof && cn->cn_stream == NULL &&
	    evbuffer_get_length(bufferevent_get_input(cn->cn_bev)) == 0)
		cn->cn_closing = true;
	if (cn->cn_closing &&
	    evbuffer_get_length(bufferevent_get_output(cn->cn_bev)) == 0) {
		mi_conn_free(cn);
		return;
	}
	mi_conn_deadline(cn);
}

static void
mi_conn_read_cb(struct bufferevent *bev, void *arg)
{
	mi_conn_run(arg);
}

static void
mi_conn_write_cb(struct bufferevent *bev, void *arg)
{
	mi_conn_run(arg);
}

static void
mi_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct mi_conn	*cn = arg;

	if (what & BEV_EVENT_TIMEOUT) {
		mi_log_info("mi: client %u: %s, closing", cn->cn_serial,
		    (what & BEV_EVENT_WRITING) ? "reply not read in time" :
		    "idle");
		mi_conn_free(cn);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		mi_log_debug("mi: client %u: %s", cn->cn_serial,
		    strerror(EVUTIL_SOCKET_ERROR()));
		mi_conn_free(cn);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* The peer may only have shut down its sending side. */
		cn->cn_eof = true;
		mi_conn_run(cn);
	}
}

/* Refuses a client over the limit with one error line, never blocking. */
static void
mi_refuse(int fd)
{
	static const char	msg[] = "{\"jsonrpc\":\"2.0\",\"error\":"
	    "{\"code\":-32000,\"message\":\"Server busy: too many MI "
	    "connections\"},\"id\":null}\n";
	ssize_t			n;

	n = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)n;
	close(fd);
}

static void
mi_peer_creds(struct mi_conn *cn, int fd)
{
#ifdef SO_PEERCRED
	struct ucred	uc;
	socklen_t	len = sizeof(uc);
#endif

	cn->cn_pid = cn->cn_uid = cn->cn_gid = -1;
#ifdef SO_PEERCRED
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0) {
		cn->cn_pid = uc.pid;
		cn->cn_uid = uc.uid;
		cn->cn_gid = uc.gid;
	}
#endif
}

/* Whether uid (not sipd's own) already holds its share of connections. */
static bool
mi_uid_over_cap(long uid)
{
	struct mi_conn	*cn;
	int		 n = 0;

	if (uid == (long)geteuid())
		return false;
	TAILQ_FOREACH(cn, &mi_conns, cn_entry)
		if (cn->cn_uid == uid)
			n++;
	return n >= MI_MAX_CONNS_PER_UID;
}

static void
mi_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct mi_conn	*cn;

	if (mi_nconns >= MI_MAX_CONNS) {
		mi_log_warnx("mi: %d clients connected, refusing another",
		    mi_nconns);
		mi_refuse(fd);
		return;
	}
	if ((cn = calloc(1, sizeof(*cn))) == NULL ||
	    (cn->cn_bev = bufferevent_socket_new(mi_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (cn->cn_line_ev = evtimer_new(mi_base, mi_conn_line_cb,
	    cn)) == NULL) {
		mi_log_warnx("mi: out of memory for a client");
		if (cn != NULL && cn->cn_bev != NULL) {
			bufferevent_setfd(cn->cn_bev, -1);
			bufferevent_free(cn->cn_bev);
		}
		free(cn);
		mi_refuse(fd);
		return;
	}
	mi_peer_creds(cn, fd);
	if (mi_uid_over_cap(cn->cn_uid)) {
		mi_log_warnx("mi: uid %ld holds %d connections, refusing "
		    "another", cn->cn_uid, MI_MAX_CONNS_PER_UID);
		event_free(cn->cn_line_ev);
		bufferevent_setfd(cn->cn_bev, -1);
		bufferevent_free(cn->cn_bev);
		free(cn);
		mi_refuse(fd);
		return;
	}
	cn->cn_serial = ++mi_serial;
	TAILQ_INSERT_TAIL(&mi_conns, cn, cn_entry);
	mi_nconns++;
	mi_log_debug("mi: client %u: pid %ld uid %ld gid %ld", cn->cn_serial,
	    cn->cn_pid, cn->cn_uid, cn->cn_gid);

	bufferevent_setcb(cn->cn_bev, mi_conn_read_cb, mi_conn_write_cb,
	    mi_conn_event_cb, cn);
	/*
	 * Read at most one line's worth ahead; the write callback fires
	 * whenever the output drains to MI_OUT_LOW, which resumes streams
	 * and lets a closing connection go once it is empty.
	 */
	bufferevent_setwatermark(cn->cn_bev, EV_READ, 0, MI_LINE_MAX);
	bufferevent_setwatermark(cn->cn_bev, EV_WRITE, MI_OUT_LOW, 0);
	evtime_set_timeouts(cn->cn_bev, MI_IDLE_TIMEOUT * 1000UL,
	    MI_STALL_TIMEOUT * 1000UL);
	bufferevent_enable(cn->cn_bev, EV_READ | EV_WRITE);
}

static void
mi_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	if (mi_listener != NULL)
		evconnlistener_enable(mi_listener);
}

/* accept() failed (EMFILE...): pause a second instead of spinning. */
static void
mi_accept_error_cb(struct evconnlistener *l, void *arg)
{
	mi_log_warn("mi: accept");
	evconnlistener_disable(l);
	evtime_add(mi_resume_ev, 1000);
}

/* mkdir -p of path's parent folder, new folders 0755. */
static int
mi_mkdir_parent(const char *path)
{
	char	 dir[PATH_MAX];
	char	*p;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * An existing socket file: in use by a live server (error) or left by
 * one that died (removed). Never removes anything that is not a socket.
 */
static int
mi_clear_stale(const struct sockaddr_un *sun, struct errbuf *errs)
{
	struct stat	st;
	int		fd, rc;

	if (lstat(sun->sun_path, &st) == -1)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		errbuf_add(errs, sun->sun_path, 0,
		    "exists and is not a socket");
		return -EEXIST;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	if (rc == 0) {
		close(fd);
		errbuf_add(errs, sun->sun_path, 0,
		    "a server is listening there (is sipd already running?)");
		return -EADDRINUSE;
	}
	rc = errno;
	close(fd);
	if (rc != ECONNREFUSED) {
		errbuf_add(errs, sun->sun_path, 0, "cannot probe: %s",
		    strerror(rc));
		return -rc;
	}
	if (unlink(sun->sun_path) == -1 && errno != ENOENT)
		return -errno;
	mi_log_info("mi: removed stale socket %s", sun->sun_path);
	return 0;
}

static int
mi_group(const char *name, gid_t *ret)
{
	struct group	*gr;
	char		*end;
	unsigned long	 v;

	if ((gr = getgrnam(name)) != NULL) {
		*ret = gr->gr_gid;
		return 0;
	}
	errno = 0;
	v = strtoul(name, &end, 10);
	if (name[0] != '\0' && *end == '\0' && errno == 0 &&
	    v <= (unsigned long)INT_MAX) {
		*ret = (gid_t)v;
		return 0;
	}
	return -ENOENT;
}

int
mi_server_start(struct event_base *base, const struct conf *c,
    const struct mi_daemon *d, struct errbuf *errs)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	const char		*path = c->c_mi_socket;
	gid_t			 gid = (gid_t)-1;
	mode_t			 old;
	int			 fd = -1, rc;

	if (mi_listener != NULL)
		return -EALREADY;
	mi_daemon_set(d);
	if ((rc = mi_cmd_init()) != 0 || (rc = mi_ul_register()) != 0 ||
	    (rc = mi_stats_register()) != 0 || (rc = mi_cfg_register()) != 0 ||
	    (rc = mi_users_register()) != 0 ||
	    (rc = mi_cluster_register()) != 0) {
		errbuf_add(errs, path, 0, "cannot register MI commands: %s",
		    strerror(-rc));
		return rc;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path)) {
		errbuf_add(errs, path, 0, "socket path empty or longer than "
		    "%zu bytes", sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	if (c->c_mi_group[0] != '\0' && mi_group(c->c_mi_group, &gid) != 0) {
		errbuf_add(errs, path, 0, "unknown group \"%s\" (mi.group)",
		    c->c_mi_group);
		return -ENOENT;
	}
	if ((rc = mi_mkdir_parent(path)) != 0) {
		errbuf_add(errs, path, 0, "cannot create its folder: %s",
		    strerror(-rc));
		return rc;
	}
	if ((rc = mi_clear_stale(&sun, errs)) != 0) {
		if (errs->eb_count == 0)
			errbuf_add(errs, path, 0, "%s", strerror(-rc));
		return rc;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		rc = -errno;
		errbuf_add(errs, path, 0, "socket: %s", strerror(-rc));
		return rc;
	}
	/* Born owner-only; widened to mi.mode after the group is set. */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1) {
		rc = -errno;
		errbuf_add(errs, path, 0, "bind: %s", strerror(-rc));
		close(fd);
		return rc;
	}
	if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) ||
	    chmod(path, c->c_mi_mode & 07777) == -1 ||
	    lstat(path, &st) == -1 || listen(fd, MI_MAX_CONNS * 2) == -1) {
		rc = -errno;
		errbuf_add(errs, path, 0, "cannot set up socket: %s",
		    strerror(-rc));
		goto fail;
	}
	mi_dev = st.st_dev;
	mi_ino = st.st_ino;
	strcpy(mi_path, path);
	mi_base = base;
	if ((mi_resume_ev = evtimer_new(base, mi_resume_cb, NULL)) == NULL ||
	    (mi_listener = evconnlistener_new(base, mi_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd)) == NULL) {
		rc = -ENOMEM;
		errbuf_add(errs, path, 0, "out of memory");
		goto fail;
	}
	evconnlistener_set_error_cb(mi_listener, mi_accept_error_cb);
	/*
	 * A client that hangs up mid-reply must cost an EPIPE, not the
	 * master: libevent writes with writev(), which raises SIGPIPE.
	 */
	signal(SIGPIPE, SIG_IGN);
	mi_log_debug("mi: listening on %s", path);
	return 0;
fail:
	if (mi_resume_ev != NULL)
		event_free(mi_resume_ev);
	mi_resume_ev = NULL;
	close(fd);
	unlink(path);
	mi_path[0] = '\0';
	return rc;
}

void
mi_server_stop(void)
{
	struct mi_conn	*cn;
	struct stat	 st;

	while ((cn = TAILQ_FIRST(&mi_conns)) != NULL)
		mi_conn_free(cn);
	if (mi_listener != NULL)
		evconnlistener_free(mi_listener);
	mi_listener = NULL;
	if (mi_resume_ev != NULL)
		event_free(mi_resume_ev);
	mi_resume_ev = NULL;
	/* Only our own file: a second sipd may have replaced it. */
	if (mi_path[0] != '\0' && lstat(mi_path, &st) == 0 &&
	    st.st_dev == mi_dev && st.st_ino == mi_ino)
		unlink(mi_path);
	mi_path[0] = '\0';
	mi_base = NULL;
}

void
mi_server_counts(unsigned *ret_open, unsigned long *ret_accepted)
{
	*ret_open = (unsigned)mi_nconns;
	*ret_accepted = (unsigned long)mi_serial;
}
