/*
 * locflush.c: walks the location table one bucket at a time (copied out
 * under the bucket's lock, handed to the writer with no lock held) and
 * turns bindings into named `location` rows; see locflush.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "locflush.h"
#include "locstore.h"

struct locflush_ctx {
	struct loctab		*lf_lt;
	struct loctab_binding	*lf_buf;
	unsigned		 lf_cap;	/* bindings lf_buf holds */
	unsigned		 lf_n;		/* bindings in lf_buf */
	unsigned		 lf_next;	/* whole: next one to write */
	unsigned		 lf_bucket;	/* next bucket to copy */
	unsigned		 lf_nbuckets;
	struct loctab_unsynced	 lf_us;		/* changed-only: the bucket's */
	unsigned		 lf_group;	/* next of lf_us's groups */
	struct store_location	*lf_rows;	/* lf_cap of them */
	char			(*lf_ruids)[LOCSTORE_RUID_MAX];
	char			 lf_prefix[LOCSTORE_RUID_MAX];
	size_t			 lf_written;
};

static int
locflush_grow(struct locflush_ctx *lf, unsigned want)
{
	struct loctab_binding	*nb;
	struct store_location	*nr;
	char			(*nu)[LOCSTORE_RUID_MAX];

	if (want <= lf->lf_cap)
		return 0;
	if ((nb = realloc(lf->lf_buf, (size_t)want * sizeof(*nb))) == NULL)
		return -ENOMEM;
	lf->lf_buf = nb;
	if ((nr = realloc(lf->lf_rows, (size_t)want * sizeof(*nr))) == NULL)
		return -ENOMEM;
	lf->lf_rows = nr;
	if ((nu = realloc(lf->lf_ruids, (size_t)want * sizeof(*nu))) == NULL)
		return -ENOMEM;
	lf->lf_ruids = nu;
	lf->lf_cap = want;
	return 0;
}

/* Binding b as row i of the group numbered n, named by its AoR. */
static void
locflush_row(struct locflush_ctx *lf, const struct loctab_binding *b,
    unsigned i, unsigned n)
{
	struct store_location	*row = &lf->lf_rows[i];

	locstore_row_to_store(b, row);
	row->sl_ruid.ss_ptr = lf->lf_ruids[i];
	row->sl_ruid.ss_len = locstore_ruid(lf->lf_ruids[i], b->lb_bucket,
	    b->lb_hash, n);
	lf->lf_written++;
}

/* --- whole ----------------------------------------------------------- */

static int
locflush_fill(struct locflush_ctx *lf)
{
	unsigned	 n;
	int		 rc;

	while (lf->lf_bucket < lf->lf_nbuckets) {
		rc = loctab_copy_bucket(lf->lf_lt, lf->lf_bucket, lf->lf_buf,
		    lf->lf_cap, &n);
		if (rc == LOCTAB_E_SPACE) {
			if (locflush_grow(lf, n * 2) != 0)
				return -ENOMEM;
			continue;
		}
		if (rc != 0)
			return -EIO;
		lf->lf_bucket++;
		if (n > 0) {
			lf->lf_n = n;
			lf->lf_next = 0;
			return 1;
		}
	}
	return 0;
}

static int
locflush_next(void *arg, struct store_location *ret)
{
	struct locflush_ctx	*lf = arg;
	unsigned		 i;
	int			 rc;

	if (lf->lf_next >= lf->lf_n && (rc = locflush_fill(lf)) <= 0)
		return rc;
	/* Numbered within the bucket: unique in every group of it. */
	i = lf->lf_next++;
	locflush_row(lf, &lf->lf_buf[i], 0, i);
	*ret = lf->lf_rows[0];
	return 1;
}

/* --- changed AoRs only ------------------------------------------------ */

/* Copies the next bucket with something to write; 0 when none is left. */
static int
locflush_fill_changed(struct locflush_ctx *lf)
{
	int	 rc;

	while (lf->lf_bucket < lf->lf_nbuckets) {
		rc = loctab_copy_unsynced(lf->lf_lt, lf->lf_bucket,
		    lf->lf_buf, lf->lf_cap, &lf->lf_us);
		if (rc == LOCTAB_E_SPACE) {
			if (locflush_grow(lf, lf->lf_cap * 2) != 0)
				return -ENOMEM;
			continue;
		}
		if (rc != 0)
			return -EIO;
		lf->lf_bucket++;
		if (lf->lf_us.us_all || lf->lf_us.us_nhash > 0) {
			lf->lf_n = lf->lf_us.us_nbind;
			lf->lf_group = 0;
			return 1;
		}
	}
	return 0;
}

static int
locflush_next_group(void *arg, struct store_location_group *ret)
{
	struct locflush_ctx	*lf = arg;
	const struct loctab_unsynced *us = &lf->lf_us;
	unsigned		 b, i, n = 0, ngroups;
	uint32_t		 h;
	int			 rc;

	ngroups = us->us_all ? 1 : us->us_nhash;
	if (lf->lf_group >= ngroups) {
		if ((rc = locflush_fill_changed(lf)) <= 0)
			return rc;
		ngroups = us->us_all ? 1 : us->us_nhash;
	}
	b = lf->lf_bucket - 1;
	h = us->us_all ? 0 : us->us_hash[lf->lf_group];
	for (i = 0; i < lf->lf_n; i++)
		if (us->us_all || lf->lf_buf[i].lb_hash == h) {
			locflush_row(lf, &lf->lf_buf[i], n, n);
			n++;
		}
	lf->lf_group++;
	ret->lg_prefix.ss_ptr = lf->lf_prefix;
	ret->lg_prefix.ss_len = locstore_ruid_prefix(lf->lf_prefix, b, h,
	    us->us_all);
	ret->lg_rows = lf->lf_rows;
	ret->lg_nrows = n;
	return 1;
}

int
locflush_write(struct loctab *lt, const struct store_db *db, bool whole,
    size_t *ret_rows, struct errbuf *errs)
{
	struct locflush_ctx	 lf;
	int			 rc;

	memset(&lf, 0, sizeof(lf));
	lf.lf_lt = lt;
	lf.lf_nbuckets = loctab_hash_size(lt);
	if ((rc = locflush_grow(&lf, 64)) != 0) {
		errbuf_add(errs, db->sd_path, 0, "location flush: out of "
		    "memory");
	} else if (whole || !store_can_update_location(db)) {
		rc = store_write_location(db, locflush_next, &lf, errs);
	} else
		rc = store_update_location(db, locflush_next_group, &lf, errs);
	free(lf.lf_buf);
	free(lf.lf_rows);
	free(lf.lf_ruids);
	*ret_rows = lf.lf_written;
	return rc;
}
