/*
 * store: the tables sipd keeps on disk (subscriber, trusted, location,
 * and their versions), as typed rows whatever the file layout.
 * store_text.c reads and writes them as DB_TEXT files (SPEC.md section
 * 4): the Kamailio 3.0 and 5.6 layouts are read by column name, the 3.0
 * layout is written.
 *
 * Nothing here logs.  Errors and warnings come back in errbufs as
 * "FILE:LINE: message"; the caller prints or logs them.  Returns: 0 ok,
 * STORE_E_BAD when a file has errors (the table must not be used), or a
 * negative errno for a failure outside the files' contents.
 */
#ifndef SIPD_STORE_H
#define SIPD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct errbuf;
struct dbtext_file;

#define STORE_E_BAD			1

/* Versions in the `version` table, per layout (kamailio-facts.md 1.3). */
#define STORE_VERSION_LOCATION_30	1004
#define STORE_VERSION_LOCATION_56	9
#define STORE_VERSION_SUBSCRIBER_30	6
#define STORE_VERSION_SUBSCRIBER_56	7
#define STORE_VERSION_TRUSTED_30	5
#define STORE_VERSION_TRUSTED_56	6

/* usrloc: q not given; methods not known (all allowed, printed as -1). */
#define STORE_Q_UNSET			(-1.0)
#define STORE_METHODS_ALL		0xffffffffU

/*
 * A byte string that may hold NUL bytes; ss_ptr == NULL is SQL NULL
 * (an empty field: DB_TEXT cannot store an empty string).  Loaded
 * strings are also NUL-terminated and live as long as their table.
 */
struct store_str {
	const char	*ss_ptr;
	size_t		 ss_len;
};

struct store_subscriber {
	struct store_str	 su_username;
	struct store_str	 su_domain;
	struct store_str	 su_password;	/* plaintext (calculate_ha1) */
	struct store_str	 su_ha1;	/* MD5(user:realm:password) */
	struct store_str	 su_ha1b;	/* MD5(user@domain:realm:pw) */
	unsigned		 su_line;	/* in the file, for messages */
};

struct store_subscribers {
	struct store_subscriber	*ssb_rows;
	size_t			 ssb_count;
	int			 ssb_version;	/* layout found: 6 or 7 */
	struct dbtext_file	*ssb_file;	/* owns the strings (DB_TEXT) */
	void			*ssb_arena;	/* or this (free()d; SQLite) */
};

enum store_proto {
	STORE_PROTO_ANY,
	STORE_PROTO_UDP,
	STORE_PROTO_TCP,
	STORE_PROTO_TLS,
	STORE_PROTO_SCTP,
	STORE_PROTO_NONE	/* Kamailio ignores such a row: never match */
};

struct store_trusted {
	struct store_str	 tr_src_ip;	/* compared as text */
	enum store_proto	 tr_proto;
	struct store_str	 tr_from_pattern; /* POSIX basic regex */
	struct store_str	 tr_tag;
	struct store_str	 tr_ruri_pattern; /* 5.6 only, else NULL */
	int64_t			 tr_priority;	/* 5.6 only, else 0 */
	int64_t			 tr_id;		/* the id column */
	unsigned		 tr_line;
};

struct store_trusted_table {
	struct store_trusted	*stt_rows;
	size_t			 stt_count;
	int			 stt_version;	/* layout found: 5 or 6 */
	struct dbtext_file	*stt_file;	/* owns the strings (DB_TEXT) */
	void			*stt_arena;	/* or this (free()d; SQLite) */
};

/* One binding: every 3.0 column, and the 5.6 ones worth keeping. */
struct store_location {
	struct store_str	 sl_username;	/* the AoR */
	struct store_str	 sl_domain;	/* NULL unless use_domain */
	struct store_str	 sl_contact;
	struct store_str	 sl_received;
	struct store_str	 sl_path;
	time_t			 sl_expires;	/* absolute; 0 = permanent */
	double			 sl_q;		/* 0..1 or STORE_Q_UNSET */
	struct store_str	 sl_callid;
	uint32_t		 sl_cseq;
	time_t			 sl_last_modified;
	uint32_t		 sl_flags;
	uint32_t		 sl_cflags;
	struct store_str	 sl_user_agent;
	struct store_str	 sl_socket;	/* "udp:IP:PORT" or NULL */
	uint32_t		 sl_methods;	/* bits; STORE_METHODS_ALL */
	struct store_str	 sl_ruid;	/* 5.6 only, else NULL */
	struct store_str	 sl_instance;	/* 5.6 only, else NULL */
	int64_t			 sl_reg_id;	/* 5.6 only, else 0 */
	unsigned		 sl_line;	/* 0 when not from a file */
};

/*
 * Loading.  dir is the DB_TEXT folder (db_url text://DIR), used as
 * given in messages ("DIR/subscriber:3: ...").  Each loader also checks
 * the table's row in DIR/version against the layout of its file.
 */
int	store_text_load_subscribers(const char *dir,
	    struct store_subscribers **ret_table, struct errbuf *errs,
	    struct errbuf *warns);
void	store_subscribers_free(struct store_subscribers *table);

/* Rows with a bad proto or a bad regex are errors (STORE_E_BAD). */
int	store_text_load_trusted(const char *dir,
	    struct store_trusted_table **ret_table, struct errbuf *errs,
	    struct errbuf *warns);
void	store_trusted_free(struct store_trusted_table *table);

/*
 * Calls fn for each binding in file order (strings valid during the
 * call only) so that the caller copies it where it belongs; fn returns
 * 0 to go on or a negative errno to stop (then returned as is).
 * Expired rows are passed too.  On STORE_E_BAD some rows may already
 * have been passed: the caller must throw them away.
 */
typedef int	store_location_fn(void *arg, const struct store_location *loc);
int	store_text_load_location(const char *dir, store_location_fn *fn,
	    void *arg, size_t *ret_count, struct errbuf *errs,
	    struct errbuf *warns);

/* version + subscriber + trusted + location, every error listed. */
int	store_text_check(const char *dir, struct errbuf *errs,
	    struct errbuf *warns);
/*
 * The same without the rows of `location`, for the start-up: its load
 * makes every check of store_text_check() as it reads them (errors
 * name FILE:LINE alike), and reading a big table twice doubles the
 * start-up time.
 */
int	store_text_check_nolocation(const char *dir, struct errbuf *errs,
	    struct errbuf *warns);

/*
 * Writing (3.0 layout, atomically; see dbtext_write()).  next fills
 * *ret_row and returns 1, or returns 0 at the end, or a negative errno
 * to abort (the old file is then kept).  Rows get ids 1..n.  The
 * table's row in DIR/version is set to the 3.0 version if it differs
 * (the other rows and the version file's layout are kept).
 *
 * Location: callid and user_agent may not be empty (NOT NULL in 3.0;
 * usrloc uses "n/a" for a missing User-Agent); methods ==
 * STORE_METHODS_ALL is written as NULL, as Kamailio does.
 */
typedef int	store_location_next_fn(void *arg,
	    struct store_location *ret_row);
int	store_text_write_location(const char *dir, store_location_next_fn *next,
	    void *arg, struct errbuf *errs);

/*
 * Subscriber: username, domain and password are required; the 3.0
 * NOT NULL columns are filled here: email_address = user@domain, and
 * ha1 / ha1b, when not given, are computed from the password with MD5
 * (realm = domain, as the subscriber.add MI command assumes).
 */
typedef int	store_subscriber_next_fn(void *arg,
	    struct store_subscriber *ret_row);
int	store_text_write_subscribers(const char *dir,
	    store_subscriber_next_fn *next, void *arg, struct errbuf *errs);

/* Lower-case hex MD5 of user:realm:password into out[33]. */
void	store_ha1(char out[33], const struct store_str *user,
	    const struct store_str *realm, const struct store_str *password);
/*
 * *out = *row with ha1 and ha1b filled when row has none: MD5 of
 * user:domain:password and of user@domain:domain:password (realm =
 * domain), written into ha1[33] / ha1b[33]. 0 or -ENOMEM.
 */
int	store_subscriber_hashes(const struct store_subscriber *row,
	    struct store_subscriber *out, char ha1[33], char ha1b[33]);

/*
 * The backend-neutral face (store_dispatch.c): the same operations on the
 * storage db_url names, DB_TEXT (store_text*.c) or SQLite
 * (store_sqlite.c).  Callers outside store/ use only these.
 */
enum store_kind {
	STORE_KIND_TEXT,		/* text://DIR */
	STORE_KIND_SQLITE		/* sqlite://FILE */
};

struct store_db {
	enum store_kind	 sd_kind;
	const char	*sd_path;	/* DIR or FILE, as messages name it */
};

/* Returned by the edits below when the row to change is not there. */
#define STORE_E_NOTFOUND		2

int	store_load_subscribers(const struct store_db *db,
	    struct store_subscribers **ret_table, struct errbuf *errs,
	    struct errbuf *warns);
int	store_load_trusted(const struct store_db *db,
	    struct store_trusted_table **ret_table, struct errbuf *errs,
	    struct errbuf *warns);
int	store_load_location(const struct store_db *db, store_location_fn *fn,
	    void *arg, size_t *ret_count, struct errbuf *errs,
	    struct errbuf *warns);
int	store_check(const struct store_db *db, struct errbuf *errs,
	    struct errbuf *warns);
/* store_check() before store_load_location(), which checks the rest. */
int	store_check_start(const struct store_db *db, struct errbuf *errs,
	    struct errbuf *warns);
/* SQLite: one transaction replacing every row of `location`. */
int	store_write_location(const struct store_db *db,
	    store_location_next_fn *next, void *arg, struct errbuf *errs);
/*
 * Part of `location` replaced, in one transaction (SQLite only): next
 * fills a group and returns 1 (0 at the end, or a negative errno to
 * stop and roll back); the rows whose ruid begins with lg_prefix are
 * replaced by the group's rows (none: deleted). The caller names every
 * row it writes so that the prefixes find them again. DB_TEXT has no
 * such write (store_can_update_location() false): it is rewritten whole.
 */
struct store_location_group {
	struct store_str	 lg_prefix;
	struct store_location	*lg_rows;
	size_t			 lg_nrows;
};
typedef int	store_location_group_fn(void *arg,
	    struct store_location_group *ret);
bool	store_can_update_location(const struct store_db *db);
int	store_update_location(const struct store_db *db,
	    store_location_group_fn *next, void *arg, struct errbuf *errs);

/*
 * Edits of one row, persisted before they return (DB_TEXT: a new row
 * is appended and fsync()ed when the file has the layout sipd writes,
 * any other edit rewrites the file atomically; SQLite: one
 * transaction).  The caller has checked the edit against the loaded
 * table; these do not look for duplicates.  0, STORE_E_NOTFOUND, or
 * -errno / STORE_E_BAD with the reason in errs.
 *
 * subscriber_add: username, domain, password given; ha1/ha1b computed
 * here when NULL.  subscriber_passwd: new password (and ha1/ha1b) for
 * every row of that username.  subscriber_rm: every row of username
 * (and of domain too, when domain is not NULL).
 */
int	store_subscriber_add(const struct store_db *db,
	    const struct store_subscriber *row, struct errbuf *errs);
int	store_subscriber_passwd(const struct store_db *db,
	    const struct store_str *username, const struct store_str *password,
	    struct errbuf *errs);
int	store_subscriber_rm(const struct store_db *db,
	    const struct store_str *username, const struct store_str *domain,
	    struct errbuf *errs);
/* trusted_add: tr_id is ignored; the new row's id goes to *ret_id. */
int	store_trusted_add(const struct store_db *db,
	    const struct store_trusted *row, int64_t *ret_id,
	    struct errbuf *errs);
int	store_trusted_rm(const struct store_db *db, int64_t id,
	    struct errbuf *errs);
/*
 * Closes what the edits keep open between calls (SQLite: one connection,
 * so that an edit does not pay a WAL checkpoint). At exit, before the
 * final flush: the last close folds the WAL into the database file.
 */
void	store_release(void);
/* The SQLite library's version, or NULL: built without it. */
const char *store_sqlite_lib(void);

#endif
