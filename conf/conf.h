/*
 * conf: sipd's configuration (SPEC §3), parsed from "key = value" lines.
 *
 * One directive table drives parsing and validation; every key is known
 * here even when its feature lands later. The parser never logs: every
 * problem goes to an errbuf as "FILE:LINE: message".
 */
#ifndef SIPD_CONF_H
#define SIPD_CONF_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "conf_cluster.h"
#include "conf_http.h"
#include "errbuf.h"

#define CONF_MAX_LISTEN		16
#define CONF_MAX_TEXT		256

enum conf_db_kind {
	CONF_DB_TEXT,		/* text://DIR    (DB_TEXT folder) */
	CONF_DB_SQLITE,		/* sqlite://FILE */
};

/* auth.algorithms bits, in challenge order. */
#define CONF_ALG_MD5		0x1
#define CONF_ALG_SHA256		0x2

struct conf_listen {
	struct sockaddr_storage	 cl_addr;	/* family, IP and port */
	socklen_t		 cl_addrlen;
	char			 cl_text[80];	/* "udp:IP:PORT", v6 in [] */
};

/*
 * registrar.nat_detect: when a binding keeps `received` (SPEC §5).
 * AUTO: the sender looks NATed as Kamailio's nat_uac_test("19") judges
 * it; ALWAYS: whenever the source is not the Contact; NEVER: never.
 */
#define CONF_NAT_AUTO		0
#define CONF_NAT_ALWAYS		1
#define CONF_NAT_NEVER		2

struct conf {
	char		 c_file[PATH_MAX];	/* config file as given */
	/* Its folder, absolute: the base of relative paths. */
	char		 c_dir[PATH_MAX];

	struct conf_listen c_listen[CONF_MAX_LISTEN];
	int		 c_nlisten;	/* default: one, udp:0.0.0.0:5060 */
	int		 c_children;		/* 1..256 */

	enum conf_db_kind c_db_kind;
	char		 c_db_path[PATH_MAX];	/* resolved against c_dir */

	bool		 c_gw_set;		/* pstn.gw_ip is not "" */
	struct sockaddr_storage c_gw_addr;	/* gw_ip + gw_port */
	char		 c_gw_ip[64];		/* no [], "" = unset */
	uint16_t	 c_gw_port;		/* default 5060 */
	bool		 c_gw_match_port;	/* default yes */

	/* Resolved; default /run/sipd/sipd.sock. */
	char		 c_mi_socket[PATH_MAX];
	mode_t		 c_mi_mode;		/* octal, default 0600 */
	char		 c_mi_group[64];	/* "" = unset */

	/* Resolved; default /run/sipd/sipd.pid. */
	char		 c_pid_file[PATH_MAX];
	int		 c_log_level;		/* LOG_ERR..LOG_DEBUG */
	int		 c_log_facility;	/* LOG_DAEMON, LOG_LOCAL0.. */

	unsigned	 c_ul_hash_size;	/* power of two, default 512 */
	unsigned	 c_ul_max_contacts;	/* default 100000 */
	unsigned	 c_ul_flush_interval;	/* s, 0 = not periodic; 60 */

	unsigned	 c_reg_default_expires;	/* 3600 */
	unsigned	 c_reg_min_expires;	/* 60 */
	unsigned	 c_reg_max_expires;	/* 7200 */
	unsigned	 c_reg_max_contacts;	/* 0 = no limit */
	int		 c_reg_nat_detect;	/* CONF_NAT_*, default auto */

	char		 c_auth_realm[CONF_MAX_TEXT];	/* "" per request */
	unsigned	 c_auth_algorithms;	/* CONF_ALG_* bits; MD5 */
	bool		 c_auth_qop;		/* auth (true) or none */
	unsigned	 c_auth_nonce_expire;	/* 300 */
	/* "" = random per start, else at least 16 characters. */
	char		 c_auth_secret[CONF_MAX_TEXT];
	bool		 c_auth_calculate_ha1;	/* yes */
	/* subscriber rows the shm table holds (edits included); 100000 */
	unsigned	 c_auth_max_subscribers;

	unsigned	 c_tm_fr_timeout;	/* 30 */
	unsigned	 c_tm_fr_inv_timeout;	/* 120 */
	unsigned	 c_tm_max_transactions;	/* 65536; shm sized from it */

	struct conf_http c_http;	/* http.listen, http.allow */
	struct conf_cluster c_cluster;	/* cluster.* */
};

/* Fills every key with its SPEC §3 default; c_file/c_dir left empty. */
void	conf_defaults(struct conf *c);

/*
 * Reads the file at path, then applies the overrides ("KEY=VALUE", as
 * given to -o), into *c which conf_defaults() prepared. Returns 0 when
 * no error was found; otherwise -1 with every error in errs, as
 * "FILE:LINE: KEY: message", "FILE: cannot open: ..." or, for an
 * override, "-o: KEY: message". Never stops at the first error: sipd -c
 * prints them all. On -1, *c is half-loaded: keep the old struct.
 *
 * c_dir is made absolute (the daemon chdirs to /). Relative paths, in the
 * file AND in overrides, are relative to c_dir. Overrides read values as
 * the file does (quotes, '#', desc tail), may repeat a key of the file,
 * and the first -o listen replaces the file's listens (later ones add).
 * In the file, the first listen line replaces the default; a key other
 * than listen given twice is an error.
 * Cross-check after all: min_expires <= default_expires <= max_expires,
 * reported at whichever of the three was set last.
 * A non-empty auth.secret in a file readable by others is an error.
 */
int	conf_load(struct conf *c, const char *path, char *const *overrides,
	    int noverrides, struct errbuf *errs);

/*
 * Sets one key from its text value (unquoted already) with the same
 * validation as the file (for MI cfg.set). file/line name the origin for
 * the error message ("FILE:LINE: KEY: bad value "V": why"; line 0 omits
 * the line). 0 ok; -1 error added to errs and *c unchanged.
 * For listen the value is the whole new list, blank or comma separated,
 * as conf_get prints it. pstn.gw_ip/gw_port keep c_gw_addr in sync.
 * Duplicate-key detection is the file parser's job, not conf_set's.
 */
int	conf_set(struct conf *c, const char *key, const char *value,
	    const char *file, unsigned line, struct errbuf *errs);

/*
 * Current value of key as text (as cfg.get prints it; paths resolved,
 * auth.secret as "[hidden]" when set). 0 ok; -1 with errno ENOENT for an
 * unknown key, ERANGE when buf is too small (buf is then "").
 */
int	conf_get(const struct conf *c, const char *key, char *buf, size_t len);

/* Name of a syslog level / facility value, for messages and cfg.get. */
const char *conf_log_level_name(int level);
const char *conf_log_facility_name(int facility);

#endif
