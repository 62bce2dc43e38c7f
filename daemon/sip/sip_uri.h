/*
 * sip_uri: zero-copy parser for sip:, sips: and tel: URIs (RFC 3261
 * §19.1, RFC 3966 as far as a proxy needs it), IPv6 references (RFC
 * 5118) and escape-aware comparison. Used by every process that parses
 * SIP; no allocation, no logging.
 */
#ifndef SIPD_SIP_URI_H
#define SIPD_SIP_URI_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/* A span of the datagram: never NUL-terminated, may contain NUL. */
struct sip_str {
	const char	*s;
	size_t		 len;
};

enum sip_uri_scheme {
	SIP_URI_OTHER = 0,	/* syntactically a scheme we do not serve */
	SIP_URI_SIP,
	SIP_URI_SIPS,
	SIP_URI_TEL
};

enum sip_uri_host_type {
	SIP_URI_HOST_NONE = 0,	/* tel: and other schemes */
	SIP_URI_HOST_NAME,
	SIP_URI_HOST_IPV4,
	SIP_URI_HOST_IPV6	/* su_host keeps the brackets */
};

struct sip_uri {
	int		su_scheme;	/* enum sip_uri_scheme */
	int		su_host_type;	/* enum sip_uri_host_type */
	struct sip_str	su_raw;		/* the whole URI, byte-exact */
	struct sip_str	su_scheme_str;	/* "sip", "SIPS", "nobodyKnows..." */
	struct sip_str	su_user;	/* escapes kept; tel: the number */
	struct sip_str	su_password;
	struct sip_str	su_host;	/* "[2001:db8::1]" with brackets */
	struct sip_str	su_port_str;
	uint16_t	su_port;	/* 0 = absent */
	struct sip_str	su_params;	/* after the first ';', no '?' part */
	struct sip_str	su_headers;	/* after '?', without it */
};

/*
 * Parses [s, s+len) into *ret (set only on success). 0, or -EINVAL for
 * anything not a URI: embedded LWS, bad escapes, "sip:2001:db8::10"
 * (IPv6 without brackets), ports above 65535. An unknown but well-formed
 * scheme yields 0 with su_scheme SIP_URI_OTHER and only su_raw and
 * su_scheme_str set, so callers can answer 416.
 */
int	sip_uri_parse(const char *s, size_t len, struct sip_uri *ret);

/* su_host without the IPv6 brackets. */
struct sip_str sip_uri_host_bare(const struct sip_uri *u);

/*
 * A host as a URI or a Via writes it ("192.0.2.1", "[2001:db8::1]";
 * an IPv6 address without brackets is taken too) as an address: returns
 * AF_INET or AF_INET6 with the 4 or 16 bytes in out, or 0 for a host
 * name or a broken literal.
 */
int	sip_host_addr(struct sip_str host, unsigned char out[16]);
/* Whether host is the address of sa (AF_INET/AF_INET6; port ignored). */
int	sip_host_is_addr(struct sip_str host, const struct sockaddr *sa);

/*
 * Looks up a URI parameter by name (case-insensitive). 1 and *ret_value
 * (empty for a flag such as "lr") when present, 0 when absent.
 */
int	sip_uri_param(const struct sip_uri *u, const char *name,
	    struct sip_str *ret_value);

/*
 * Compares two spans octet by octet after undoing %HH escapes once (never
 * recursively: "%2541" is "%41", not "A"). case_insensitive folds ASCII
 * letters, as RFC 3261 §19.1.4 wants for hosts and parameter names.
 * 1 when equal, 0 when not.
 */
int	sip_uri_escaped_eq(const char *a, size_t alen, const char *b,
	    size_t blen, int case_insensitive);

/*
 * Writes the unescaped form of [s, s+len) into out (at most cap bytes).
 * Returns the length, or -1 when it does not fit or an escape is broken.
 * The result may hold NUL bytes (RFC 4475 escnull).
 */
long	sip_uri_unescape(const char *s, size_t len, char *out, size_t cap);

#endif
