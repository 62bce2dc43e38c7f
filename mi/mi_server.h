/*
 * mi_server: the management socket of sipd, served by the master from
 * its libevent loop (SPEC §7, wire format in mi/PROTOCOL.md).
 */
#ifndef SIPD_MI_SERVER_H
#define SIPD_MI_SERVER_H

struct conf;
struct errbuf;
struct event_base;
struct mi_daemon;

/* Limits; PROTOCOL.md repeats them. */
#define MI_LINE_MAX		(64 * 1024)	/* request line, with its LF */
#define MI_MAX_CONNS		32		/* concurrent clients */
#define MI_IDLE_TIMEOUT		60		/* s without a byte */
/*
 * Seconds from a request line's first byte to its LF. The idle timer
 * restarts on every byte, so without this a client sending a byte now
 * and then held its slot forever (issue 10).
 */
#define MI_LINE_TIMEOUT		10
/*
 * Connections one peer uid may hold at once; the uid sipd runs as (the
 * operator) is bound by MI_MAX_CONNS only, so another local user let in
 * by mi.group/mi.mode cannot take every slot.
 */
#define MI_MAX_CONNS_PER_UID	8
#define MI_STALL_TIMEOUT	60		/* s a reply may stay unread */
/*
 * A streamed reply is produced only while less than MI_OUT_LOW bytes
 * wait in the connection's output; each generator call adds a piece,
 * so per client at most about MI_OUT_LOW + one piece is buffered.
 */
#define MI_OUT_LOW		(64 * 1024)

/*
 * Creates the socket at c->c_mi_socket (parent folder made 0755 when
 * missing; a stale socket file is removed, a live one is an error),
 * sets c_mi_mode and c_mi_group, registers sipd's commands (core.*,
 * ul.*, stats.*, cfg.*) and starts accepting on base. d is how the
 * commands reach the daemon (mi_daemon.h); it must outlive the server.
 * 0, or -errno with the reason in errs as "PATH: message".
 */
int	mi_server_start(struct event_base *base, const struct conf *c,
	    const struct mi_daemon *d, struct errbuf *errs);
/* Drops every client, closes and unlinks the socket. Safe if not started. */
void	mi_server_stop(void);
/* For /metrics: clients connected now, and accepted since start. */
void	mi_server_counts(unsigned *ret_open, unsigned long *ret_accepted);
#endif
