/*
 * usertab: the subscriber table in shm, so that an edit or a reload by
 * the master is seen by every worker at its next lookup, with no
 * worker restarted. Fixed capacity (auth.max_subscribers), sized at
 * start; records are variable-length (~100 bytes for a typical user)
 * and packed, so only the pages of the users present are ever touched.
 *
 * One writer, the master, between usertab_write_begin() and _end();
 * any process reads, without locking (seqlock.h). Keys are usernames
 * (bytes); the caller hashes them (conf/fnv.h), as for loctab.
 */
#ifndef SIPD_USERTAB_H
#define SIPD_USERTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USERTAB_USER_MAX	64	/* bytes; Kamailio's column size */
#define USERTAB_DOMAIN_MAX	64
#define USERTAB_PASSWORD_MAX	127	/* longer ones cannot log in */
#define USERTAB_HA1_MAX		32	/* MD5 in hex */

#define USERTAB_SHM_ALIGN	64
/* Record numbers and heap words are 32-bit; far above any real table. */
#define USERTAB_MAX_USERS	(1U << 24)

/* Which secrets a user has (the others are empty). */
#define USERTAB_HAS_PASSWORD	0x1
#define USERTAB_HAS_HA1		0x2
#define USERTAB_HAS_HA1B	0x4

/* One user, as readers get it: NUL-terminated, lengths alongside. */
struct usertab_user {
	uint32_t	uu_hash;
	uint16_t	uu_user_len;
	uint16_t	uu_domain_len;
	uint16_t	uu_password_len;
	uint16_t	uu_flags;	/* USERTAB_HAS_* */
	uint32_t	uu_pad;
	char		uu_user[USERTAB_USER_MAX + 1];
	char		uu_domain[USERTAB_DOMAIN_MAX + 1];
	char		uu_password[USERTAB_PASSWORD_MAX + 1];
	char		uu_ha1[USERTAB_HA1_MAX + 1];
	char		uu_ha1b[USERTAB_HA1_MAX + 1];
	char		uu_tail[4];	/* to a multiple of 8 bytes */
};

struct usertab;

size_t	usertab_shm_size(unsigned max_users);
/* Master, before fork. 0, -EINVAL (0 users), or -errno of shm_carve(). */
int	usertab_create(unsigned max_users, struct usertab **ret);

/*
 * The same in memory the caller zeroed (usertab_shm_size() bytes,
 * USERTAB_SHM_ALIGN-aligned): a table private to one process (tests).
 */
int	usertab_init(void *mem, unsigned max_users, struct usertab **ret);

/* Master only: every change goes between these two. */
void	usertab_write_begin(struct usertab *t);
void	usertab_write_end(struct usertab *t);
/* Empties the table. */
void	usertab_clear(struct usertab *t);
/*
 * Adds u, or replaces the user of the same name. 0, or -ENOSPC when
 * the table holds max_users already.
 */
int	usertab_put(struct usertab *t, const struct usertab_user *u);
/* Removes user (hash as for put). 0 or -ENOENT. */
int	usertab_del(struct usertab *t, uint32_t hash, const char *user,
	    size_t len);

/*
 * Any process: a copy of the user called user into *ret. 0, -ENOENT,
 * or -EAGAIN when the writer died half way through a change.
 */
int	usertab_get(struct usertab *t, uint32_t hash, const char *user,
	    size_t len, struct usertab_user *ret);
/* The i-th record (0 .. count-1, in no particular order); -ENOENT past it. */
int	usertab_at(struct usertab *t, unsigned i, struct usertab_user *ret);
unsigned usertab_count(struct usertab *t);
unsigned usertab_capacity(const struct usertab *t);
/* Bytes the present users take (records and their index entries). */
size_t	usertab_bytes_used(struct usertab *t);
/* Bumped by every change: lets a reader tell the table moved. */
uint64_t usertab_changes(struct usertab *t);

#endif
