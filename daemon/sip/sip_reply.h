/*
 * sip_reply: stateless replies built from a parsed request into a caller
 * buffer, the received/rport rewrite of the top Via, and where a reply
 * goes (RFC 3261 §8.2.6, §18.2.1, §18.2.2; RFC 3581). No allocation, no
 * logging. Used by the UDP workers.
 */
#ifndef SIPD_SIP_REPLY_H
#define SIPD_SIP_REPLY_H

#include <sys/socket.h>

#include <stddef.h>

#include "sip_msg.h"

#define SIP_REPLY_TAG_LEN	16	/* hex digits of a generated To tag */

/*
 * Writes a complete reply to req into out: status line, every Via of the
 * request in order (the top one with received/rport from src), From,
 * To (with a generated tag when the request has none and code > 100),
 * Call-ID, CSeq, the caller's extra_headers (complete lines ending in
 * CRLF, may be NULL), "Server: sipd" and "Content-Length: 0". Headers
 * the request lacks are left out. Returns the length, or 0 when it does
 * not fit in cap (nothing useful is left in out then).
 */
size_t	sip_reply_build(char *out, size_t cap, const struct sip_msg *req,
	    int code, const char *reason, const struct sockaddr *src,
	    const char *extra_headers);

/*
 * Writes the top Via value of m as a proxy must pass it on or answer it
 * (RFC 3261 §18.2.1, RFC 3581 §4): ";received=<src ip>" when the sent-by
 * host is not src's address or rport was asked for (an old received is
 * replaced), and an empty "rport" filled with src's port. Folding is
 * flattened to spaces. Returns the length (no NUL), 0 when no top Via
 * has a sent-by or it does not fit.
 */
size_t	sip_reply_top_via(char *out, size_t cap, const struct sip_msg *m,
	    const struct sockaddr *src);

/*
 * The To tag sipd gives req: SIP_REPLY_TAG_LEN hex digits hashed from
 * Call-ID, From tag, top Via branch and CSeq, so that a retransmission
 * gets the same tag. out must hold SIP_REPLY_TAG_LEN + 1 bytes.
 */
void	sip_reply_to_tag(const struct sip_msg *req, char *out);
/*
 * The same with cseq (NULL: no CSeq) in place of req's CSeq value: the
 * tag another request of the same transaction got (the INVITE an ACK
 * answers), without copying req.
 */
void	sip_reply_to_tag_cseq(const struct sip_msg *req,
	    const struct sip_str *cseq, char *out);

/* Reply destination flags. */
/*
 * The source address src as text (no brackets; cap bytes, at least
 * INET6_ADDRSTRLEN) and its port, as a received= parameter names it:
 * 0, or -1 for a family sipd does not use.
 */
int	sip_reply_src_ip(const struct sockaddr *src, char *out, size_t cap,
	    unsigned *ret_port);

#define SIP_REPLY_DEST_FORCE_RPORT	0x01	/* as if rport was asked for */

/*
 * Where a reply to req over UDP goes (RFC 3261 §18.2.2 with RFC 3581):
 * the source IP always (the sent-by host either is it or is overridden
 * by the received sipd adds), and the source port when the top Via has
 * rport (or FORCE_RPORT), else the Via port or 5060. maddr is ignored.
 * 0 and *ret, -EBADMSG without a usable top Via, -EAFNOSUPPORT.
 */
int	sip_reply_dest(const struct sip_msg *req, const struct sockaddr *src,
	    int flags, struct sockaddr_storage *ret);

#endif
