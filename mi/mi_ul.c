/*
 * mi_ul: the usrloc MI commands, run by the master in its MI loop.
 *
 * ul.dump prints the location table in the layout of Kamailio 3.0's
 * `sercmd ul.dump` (kamailio-facts.md 3.1, SPEC.md 7). The table can
 * hold 100k bindings, so the dump is a streamed reply: each generator
 * call copies whole hash slots out of shm, one slot lock at a time,
 * and emits them after the lock is dropped. Nothing is held between
 * calls, so SIP workers wait at most for one slot copy, and memory is
 * one slot's worth of bindings plus the MI server's output window.
 *
 * ul.lookup/rm/rm_contact/add are the 5.x usrloc RPCs on the same
 * table; ul.flush writes it to storage now. AoR arguments are
 * lower-cased (ASCII) as the registrar stores them (Kamailio's
 * registrar without case_sensitive); contacts are used byte-exact.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errbuf.h"
#include "loctab.h"
#include "mi_cmd.h"
#include "mi_daemon.h"
#include "mi_reply.h"
#include "mi_ul.h"

/* Kamailio's usrloc domain (table) name, printed as Domain. */
#define MI_UL_DOMAIN		"location"
#define MI_UL_NOT_SET		"[not set]"

/*
 * One generator call stops after this much output or this many slots,
 * whichever comes first: big enough that empty slots of a 65536-slot
 * table cost a few calls, small enough that one call stays well under
 * a millisecond and the server's output window is barely overshot.
 */
#define MI_UL_CALL_BYTES	(32 * 1024)
#define MI_UL_CALL_SLOTS	4096

/* First size of a copy buffer; grown to the largest slot seen. */
#define MI_UL_BUF_START		16

/* Longest EXPIRES ul.add takes: what a 32-bit time_t can still add. */
#define MI_UL_EXPIRES_MAX	2147483647L

struct mi_ul_dump {
	struct loctab		*ud_lt;
	struct loctab_binding	*ud_buf;	/* one slot's bindings */
	unsigned		 ud_buf_max;
	unsigned		 ud_size;	/* hash slots */
	unsigned		 ud_next;	/* next slot to copy */
	unsigned		 ud_records;	/* AoRs seen: Stats Records */
	unsigned		 ud_max_slots;	/* most AoRs in a slot */
	bool			 ud_started;	/* header emitted */
	bool			 ud_brief;
};

/* A ul.lookup answer: the copied bindings, emitted in one piece. */
struct mi_ul_found {
	struct loctab_binding	*uf_buf;
	unsigned		 uf_n;
};

/* --- argument helpers ------------------------------------------------ */

static struct loctab *
mi_ul_table(struct mi_reply *r)
{
	struct loctab	*lt;

	if ((lt = mi_daemon()->md_loctab()) == NULL)
		mi_reply_error(r, MI_E_SERVER,
		    "Location table not available");
	return lt;
}

/*
 * Lower-cased copy of an AoR argument into buf (LOCTAB_AOR_MAX + 1).
 * Only ASCII letters change, as the registrar does it: the table is
 * byte-exact and must see the same bytes for the same AoR.
 */
static int
mi_ul_aor(struct mi_reply *r, const char *arg, char *buf,
    struct loctab_str *ret)
{
	size_t	 i, n = strlen(arg);

	if (n == 0) {
		mi_reply_error(r, MI_E_PARAMS,
		    "Invalid params: aor must not be empty");
		return -1;
	}
	if (n > LOCTAB_AOR_MAX) {
		mi_reply_error(r, MI_E_PARAMS,
		    "Invalid params: aor is longer than %d bytes",
		    LOCTAB_AOR_MAX);
		return -1;
	}
	for (i = 0; i < n; i++)
		buf[i] = (arg[i] >= 'A' && arg[i] <= 'Z') ?
		    (char)(arg[i] - 'A' + 'a') : arg[i];
	buf[n] = '\0';
	ret->ls_ptr = buf;
	ret->ls_len = n;
	return 0;
}

/* The answer for a loctab result other than 0 / LOCTAB_E_NOTFOUND. */
static void
mi_ul_fail(struct mi_reply *r, int rc)
{
	switch (rc) {
	case LOCTAB_E_TOOLONG:
		mi_reply_error(r, MI_E_PARAMS,
		    "Invalid params: a value is too long");
		break;
	case LOCTAB_E_INVAL:
		mi_reply_error(r, MI_E_PARAMS,
		    "Invalid params: empty aor or contact, or bad q");
		break;
	case LOCTAB_E_FULL:
		mi_reply_error(r, MI_E_UNAVAIL, "Location table full");
		break;
	case LOCTAB_E_TOO_MANY:
		mi_reply_error(r, MI_E_UNAVAIL, "Too many contacts");
		break;
	default:
		mi_reply_error(r, MI_E_SERVER, "Location table error: %s",
		    rc < 0 ? strerror(-rc) : "unexpected result");
		break;
	}
}

/* --- emitting bindings -------------------------------------------- */

static const char *
mi_ul_state(enum loctab_cstate st)
{
	switch (st) {
	case LOCTAB_CS_NEW:
		return "CS_NEW";
	case LOCTAB_CS_DIRTY:
		return "CS_DIRTY";
	case LOCTAB_CS_SYNC:
		return "CS_SYNC";
	}
	return "CS_UNKNOWN";
}

/* A string member, or "[not set]" when empty, as sercmd printed it. */
static void
mi_ul_str_or_unset(struct mi_stream *s, const char *key, const char *p,
    size_t n)
{
	if (n == 0)
		mi_stream_cstr(s, key, MI_UL_NOT_SET);
	else
		mi_stream_str(s, key, p, n);
}

/*
 * One `Contact: {...}` element of a Contacts array, fields in the 3.0
 * order. Emitter errors stick in the stream and are checked by the
 * caller once per generator call.
 */
static void
mi_ul_contact(struct mi_stream *s, const struct loctab_binding *b,
    time_t now)
{
	mi_stream_obj_open(s, NULL);
	mi_stream_obj_open(s, "Contact");
	mi_stream_str(s, "Address", b->lb_contact, b->lb_contact_len);
	if (b->lb_expires == 0)
		mi_stream_cstr(s, "Expires", "permanent");
	else if (b->lb_expires <= now)
		/* Past but the expiry timer has not run yet (loctab's rule). */
		mi_stream_cstr(s, "Expires", "expired");
	else
		mi_stream_int(s, "Expires", (int64_t)(b->lb_expires - now));
	/* The 4.1+ look: real q, unset -1 (3.0 printed garbage here). */
	mi_stream_real(s, "Q", b->lb_q == LOCTAB_Q_UNSET ? -1.0 :
	    (double)b->lb_q / 1000.0);
	mi_stream_str(s, "Call-ID", b->lb_callid, b->lb_callid_len);
	mi_stream_int(s, "CSeq", (int64_t)b->lb_cseq);
	mi_ul_str_or_unset(s, "User-Agent", b->lb_user_agent,
	    b->lb_user_agent_len);
	mi_ul_str_or_unset(s, "Received", b->lb_received,
	    b->lb_received_len);
	mi_ul_str_or_unset(s, "Path", b->lb_path, b->lb_path_len);
	mi_stream_cstr(s, "State", mi_ul_state(b->lb_state));
	/* sercmd printed these with %d: all bits set reads -1. */
	mi_stream_int(s, "Flags", (int32_t)b->lb_flags);
	mi_stream_int(s, "CFlags", (int32_t)b->lb_cflags);
	mi_ul_str_or_unset(s, "Socket", b->lb_socket, b->lb_socket_len);
	mi_stream_int(s, "Methods", (int32_t)b->lb_methods);
	mi_stream_obj_close(s);
	mi_stream_obj_close(s);
}

static bool
mi_ul_same_aor(const struct loctab_binding *a, const struct loctab_binding *b)
{
	return a->lb_aor_len == b->lb_aor_len &&
	    memcmp(a->lb_aor, b->lb_aor, a->lb_aor_len) == 0;
}

/*
 * The AoRs of bindings b[0..n) (an AoR's bindings are adjacent, as
 * loctab copies them) as elements of an AoRs array; returns how many.
 */
static unsigned
mi_ul_aors(struct mi_stream *s, const struct loctab_binding *b, unsigned n,
    bool brief, time_t now)
{
	unsigned	 i, j, naors = 0;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && mi_ul_same_aor(&b[i], &b[j]); j++)
			;
		naors++;
		mi_stream_obj_open(s, NULL);
		mi_stream_str(s, "AoR", b[i].lb_aor, b[i].lb_aor_len);
		if (!brief) {
			mi_stream_arr_open(s, "Contacts");
			for (; i < j; i++)
				mi_ul_contact(s, &b[i], now);
			mi_stream_arr_close(s);
		}
		mi_stream_obj_close(s);
	}
	return naors;
}

/*
 * Copies one slot into the dump's buffer, growing the buffer when the
 * slot holds more than it: 0 with *ret_n set, or -errno.
 */
static int
mi_ul_copy_slot(struct mi_ul_dump *ud, unsigned slot, unsigned *ret_n)
{
	struct loctab_binding	*nb;
	unsigned		 n, want;
	int			 rc;

	while ((rc = loctab_copy_bucket(ud->ud_lt, slot, ud->ud_buf,
	    ud->ud_buf_max, &n)) == LOCTAB_E_SPACE) {
		/* Headroom: the slot may grow before the next try. */
		want = n + n / 4 + MI_UL_BUF_START;
		if ((nb = reallocarray(ud->ud_buf, want, sizeof(*nb))) == NULL)
			return -ENOMEM;
		ud->ud_buf = nb;
		ud->ud_buf_max = want;
	}
	if (rc < 0)
		return rc;
	if (rc != 0)
		return -EIO;
	*ret_n = n;
	return 0;
}

/* --- ul.dump --------------------------------------------------------- */

static int
mi_ul_dump_gen(struct mi_stream *s, void *arg)
{
	struct mi_ul_dump	*ud = arg;
	unsigned		 slots = 0, n, naors;
	time_t			 now = time(NULL);
	int			 rc;

	if (!ud->ud_started) {
		mi_stream_obj_open(s, NULL);
		mi_stream_cstr(s, "Domain", MI_UL_DOMAIN);
		mi_stream_int(s, "Size", ud->ud_size);
		mi_stream_arr_open(s, "AoRs");
		ud->ud_started = true;
	}
	while (ud->ud_next < ud->ud_size) {
		if (slots >= MI_UL_CALL_SLOTS ||
		    mi_stream_pending(s) >= MI_UL_CALL_BYTES)
			return MI_STREAM_MORE;
		if ((rc = mi_ul_copy_slot(ud, ud->ud_next, &n)) != 0) {
			/* Only reaches the client if nothing was sent yet. */
			mi_stream_error(s, MI_E_SERVER,
			    "Location table slot %u: %s", ud->ud_next,
			    strerror(-rc));
			return MI_STREAM_FAIL;
		}
		ud->ud_next++;
		slots++;
		if (n == 0)
			continue;
		naors = mi_ul_aors(s, ud->ud_buf, n, ud->ud_brief, now);
		ud->ud_records += naors;
		if (naors > ud->ud_max_slots)
			ud->ud_max_slots = naors;
	}
	mi_stream_arr_close(s);
	mi_stream_obj_open(s, "Stats");
	mi_stream_int(s, "Records", ud->ud_records);
	mi_stream_int(s, "Max-Slots", ud->ud_max_slots);
	mi_stream_obj_close(s);
	mi_stream_obj_close(s);
	return MI_STREAM_DONE;
}

static void
mi_ul_dump_free(void *arg)
{
	struct mi_ul_dump	*ud = arg;

	if (ud == NULL)
		return;
	free(ud->ud_buf);
	free(ud);
}

static void
mi_ul_dump(struct mi_reply *r, int argc, char *const *argv)
{
	struct mi_ul_dump	*ud;
	struct loctab		*lt;

	if (argc == 1 && strcmp(argv[0], "brief") != 0) {
		mi_reply_error(r, MI_E_PARAMS,
		    "Invalid params: the only argument is \"brief\"");
		return;
	}
	if ((lt = mi_ul_table(r)) == NULL)
		return;
	if ((ud = calloc(1, sizeof(*ud))) == NULL)
		goto nomem;
	ud->ud_lt = lt;
	ud->ud_size = loctab_hash_size(lt);
	ud->ud_brief = argc == 1;
	ud->ud_buf_max = MI_UL_BUF_START;
	if ((ud->ud_buf = calloc(ud->ud_buf_max, sizeof(*ud->ud_buf))) ==
	    NULL)
		goto nomem;
	mi_reply_stream(r, mi_ul_dump_gen, ud, mi_ul_dump_free);
	return;
nomem:
	mi_ul_dump_free(ud);
	mi_reply_error(r, MI_E_INTERNAL, "Internal error: out of memory");
}

/* --- ul.lookup ------------------------------------------------------- */

/* Emits {AoR, Contacts} of the found bindings in one call. */
static int
mi_ul_found_gen(struct mi_stream *s, void *arg)
{
	struct mi_ul_found	*uf = arg;
	unsigned		 i;
	time_t			 now = time(NULL);

	mi_stream_obj_open(s, NULL);
	mi_stream_str(s, "AoR", uf->uf_buf[0].lb_aor,
	    uf->uf_buf[0].lb_aor_len);
	mi_stream_arr_open(s, "Contacts");
	for (i = 0; i < uf->uf_n; i++)
		mi_ul_contact(s, &uf->uf_buf[i], now);
	mi_stream_arr_close(s);
	mi_stream_obj_close(s);
	return MI_STREAM_DONE;
}

static void
mi_ul_found_free(void *arg)
{
	struct mi_ul_found	*uf = arg;

	if (uf == NULL)
		return;
	free(uf->uf_buf);
	free(uf);
}

/*
 * Kamailio's forms name the table first (`ul.lookup location 3000`,
 * kamcmd scripts and habit): sipd has the one table, "location". With
 * more arguments than sipd's own form takes at least, a first argument
 * "location" is the table and is dropped; another name there, when the
 * count only fits the table form, is refused as Kamailio refuses an
 * unknown table. false when an error reply was set.
 */
static bool
mi_ul_table_arg(struct mi_reply *r, int min, int max, int *argc,
    char *const **argv)
{
	if (*argc > min && strcmp((*argv)[0], "location") == 0) {
		(*argc)--;
		(*argv)++;
		return true;
	}
	if (*argc == max + 1) {
		mi_reply_error(r, MI_E_NOTFOUND, "Table not found");
		return false;
	}
	return true;
}

/*
 * The lookup is done here, not in the generator, so that "AOR not
 * found" is a plain error reply; the copy is handed to a one-piece
 * stream so that lookups and dumps print bindings with the same code.
 */
static void
mi_ul_lookup(struct mi_reply *r, int argc, char *const *argv)
{
	struct mi_ul_found	*uf;
	struct loctab_binding	*nb;
	struct loctab		*lt;
	struct loctab_str	 aor;
	char			 aorbuf[LOCTAB_AOR_MAX + 1];
	unsigned		 max = MI_UL_BUF_START, n;
	int			 rc;

	if (!mi_ul_table_arg(r, 1, 1, &argc, &argv) ||
	    (lt = mi_ul_table(r)) == NULL ||
	    mi_ul_aor(r, argv[0], aorbuf, &aor) == -1)
		return;
	if ((uf = calloc(1, sizeof(*uf))) == NULL)
		goto nomem;
	for (;;) {
		if ((nb = reallocarray(uf->uf_buf, max, sizeof(*nb))) == NULL)
			goto nomem;
		uf->uf_buf = nb;
		rc = loctab_lookup(lt, aor, time(NULL), uf->uf_buf, max, &n);
		if (rc != 0 || n <= max)
			break;
		/* More bindings than room: only max were copied. */
		max = n + MI_UL_BUF_START;
	}
	if (rc == LOCTAB_E_NOTFOUND || (rc == 0 && n == 0)) {
		mi_reply_error(r, MI_E_NOTFOUND, "AOR not found");
		mi_ul_found_free(uf);
		return;
	}
	if (rc != 0) {
		mi_ul_fail(r, rc);
		mi_ul_found_free(uf);
		return;
	}
	uf->uf_n = n;
	mi_reply_stream(r, mi_ul_found_gen, uf, mi_ul_found_free);
	return;
nomem:
	mi_ul_found_free(uf);
	mi_reply_error(r, MI_E_INTERNAL, "Internal error: out of memory");
}

/* --- ul.rm, ul.rm_contact, ul.add, ul.flush -------------------------- */

/*
 * The table changed aor: other nodes are told (cluster.redis) before
 * the reply. When they cannot be, the reply says so: the change holds
 * on this node only.
 */
static void
mi_ul_changed(struct mi_reply *r, struct loctab *lt, struct loctab_str aor,
    struct loctab_str contact)
{
	struct errbuf	 errs = ERRBUF_INIT;
	char		 text[MI_ERROR_TEXT_MAX];

	if (mi_daemon()->md_ul_changed == NULL ||
	    mi_daemon()->md_ul_changed(lt, aor, contact, &errs) == 0) {
		errbuf_free(&errs);
		mi_reply_ok(r);
		return;
	}
	(void)snprintf(text, sizeof(text), "Changed on this node only, not "
	    "shared with the other nodes: %s", errbuf_text(&errs));
	text[strcspn(text, "\n")] = '\0';
	errbuf_free(&errs);
	mi_log_warnx("MI: %s", text);
	mi_reply_error(r, MI_E_UNAVAIL, "%s", text);
}

static void
mi_ul_rm(struct mi_reply *r, int argc, char *const *argv)
{
	struct loctab		*lt;
	struct loctab_str	 aor;
	char			 aorbuf[LOCTAB_AOR_MAX + 1];
	int			 rc;

	if (!mi_ul_table_arg(r, 1, 1, &argc, &argv) ||
	    (lt = mi_ul_table(r)) == NULL ||
	    mi_ul_aor(r, argv[0], aorbuf, &aor) == -1)
		return;
	rc = loctab_rm_aor(lt, aor);
	if (rc == 0)
		mi_ul_changed(r, lt, aor, (struct loctab_str){ "", 0 });
	else if (rc == LOCTAB_E_NOTFOUND)
		mi_reply_error(r, MI_E_NOTFOUND, "AOR not found");
	else
		mi_ul_fail(r, rc);
}

static void
mi_ul_rm_contact(struct mi_reply *r, int argc, char *const *argv)
{
	struct loctab_binding	 one;
	struct loctab		*lt;
	struct loctab_str	 aor, contact;
	char			 aorbuf[LOCTAB_AOR_MAX + 1];
	unsigned		 n;
	int			 rc;

	if (!mi_ul_table_arg(r, 2, 2, &argc, &argv) ||
	    (lt = mi_ul_table(r)) == NULL ||
	    mi_ul_aor(r, argv[0], aorbuf, &aor) == -1)
		return;
	contact.ls_ptr = argv[1];
	contact.ls_len = strlen(argv[1]);
	rc = loctab_rm_contact(lt, aor, contact);
	if (rc == 0) {
		mi_ul_changed(r, lt, aor, contact);
		return;
	}
	if (rc != LOCTAB_E_NOTFOUND) {
		mi_ul_fail(r, rc);
		return;
	}
	/*
	 * Say which part was missing, as Kamailio does. A probe with room
	 * for one binding is enough: only "any at all" matters. Expired
	 * bindings count as absent, the way lookups see them.
	 */
	rc = loctab_lookup(lt, aor, time(NULL), &one, 1, &n);
	mi_reply_error(r, MI_E_NOTFOUND, rc == 0 && n > 0 ?
	    "Contact not found" : "AOR not found");
}

static void
mi_ul_add(struct mi_reply *r, int argc, char *const *argv)
{
	struct loctab		*lt;
	struct loctab_str	 aor, contact;
	char			 aorbuf[LOCTAB_AOR_MAX + 1];
	double			 qd = -1.0;
	long			 expires;
	int			 q = LOCTAB_Q_UNSET, rc;

	if (!mi_ul_table_arg(r, 3, 4, &argc, &argv) ||
	    (lt = mi_ul_table(r)) == NULL ||
	    mi_ul_aor(r, argv[0], aorbuf, &aor) == -1)
		return;
	contact.ls_ptr = argv[1];
	contact.ls_len = strlen(argv[1]);
	if (contact.ls_len == 0) {
		mi_reply_error(r, MI_E_PARAMS,
		    "Invalid params: contact must not be empty");
		return;
	}
	/* Seconds from now; 0 = permanent, as Kamailio's MI ul_add. */
	if (mi_arg_long(r, "expires", argv[2], 0, MI_UL_EXPIRES_MAX,
	    &expires) == -1)
		return;
	if (argc > 3) {
		if (mi_arg_double(r, "q", argv[3], -1.0, 1.0, &qd) == -1)
			return;
		if (qd < 0.0 && qd != -1.0) {
			mi_reply_error(r, MI_E_PARAMS,
			    "Invalid params: q must be -1 (unset) or in 0..1");
			return;
		}
		/* Rounded, not cut: 0.3 * 1000 is 299.99... in binary. */
		if (qd >= 0.0)
			q = (int)(qd * 1000.0 + 0.5);
	}
	rc = loctab_add(lt, aor, contact, expires, q, time(NULL));
	if (rc == 0)
		mi_ul_changed(r, lt, aor, contact);
	else
		mi_ul_fail(r, rc);
}

static void
mi_ul_flush(struct mi_reply *r, int argc, char *const *argv)
{
	struct errbuf	 errs = ERRBUF_INIT;
	char		 text[MI_ERROR_TEXT_MAX];

	if (mi_daemon()->md_flush(&errs) == 0) {
		errbuf_free(&errs);
		mi_reply_ok(r);
		return;
	}
	/* One line for the client: messages joined by "; ". */
	errbuf_oneline(&errs, text, sizeof(text));
	mi_reply_error(r, MI_E_SERVER, "Flush failed: %s",
	    text[0] != '\0' ? text : "unknown error");
	errbuf_free(&errs);
}

static const struct mi_cmd mi_ul_cmds[] = {
	{ "ul.dump",
	    "ul.dump [brief] - dump the location table (brief: AoRs only)",
	    0, 1, mi_ul_dump },
	{ "ul.lookup",
	    "ul.lookup [location] AOR - the valid contacts of an AoR",
	    1, 2, mi_ul_lookup },
	{ "ul.rm",
	    "ul.rm [location] AOR - remove an AoR and all its contacts",
	    1, 2, mi_ul_rm },
	{ "ul.rm_contact",
	    "ul.rm_contact [location] AOR CONTACT - remove one contact of an "
	    "AoR",
	    2, 3, mi_ul_rm_contact },
	{ "ul.add",
	    "ul.add [location] AOR CONTACT EXPIRES [Q] - add or replace a "
	    "contact (EXPIRES seconds, 0 = permanent; Q 0..1 or -1 = unset)",
	    3, 5, mi_ul_add },
	{ "ul.flush",
	    "ul.flush - write the location table to storage now",
	    0, 0, mi_ul_flush },
};

int
mi_ul_register(void)
{
	return mi_cmd_register(mi_ul_cmds,
	    sizeof(mi_ul_cmds) / sizeof(mi_ul_cmds[0]));
}
