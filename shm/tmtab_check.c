/*
 * tmtab_check.c: the consistency walk of the transaction table, for the
 * tests (tmtab.h, tmtab_check()): after a worker was killed at some
 * step of a change, it tells a corrupt chain (an error) from what the
 * crash left reachable nowhere (a leak, counted). Runs in a test
 * process while no one else uses the table; it holds every lock at
 * once, which sipd itself never does.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "tmtab_int.h"

/* One bit per index, for "reachable twice". */
struct tk_seen {
	unsigned char	*ks_bits;
	uint32_t	 ks_n;
};

/* false when i is out of 1..n or was seen already. */
static bool
tk_visit(struct tk_seen *s, uint32_t i)
{
	if (i == TM_NONE || i > s->ks_n)
		return false;
	if (s->ks_bits[(i - 1) / 8] & (1U << ((i - 1) % 8)))
		return false;
	s->ks_bits[(i - 1) / 8] |= (unsigned char)(1U << ((i - 1) % 8));
	return true;
}

/* A stored message: a chain of exactly the chunks its length needs. */
static bool
tk_blob(const struct tm_blob *b, struct tk_seen *chunks, unsigned *held)
{
	uint32_t	 c, n = 0, want;

	if (b->tb_head == TM_NONE)
		return b->tb_len == 0;
	want = (uint32_t)((b->tb_len + TM_DATA - 1) / TM_DATA);
	for (c = b->tb_head; c != TM_NONE; c = tm_chunks[c - 1].ck_next) {
		if (!tk_visit(chunks, c) || ++n > want)
			return false;
	}
	*held += n;
	return n == want;
}

static bool
tk_cell(uint32_t idx, uint32_t bucket, struct tk_seen *chunks,
    unsigned *held)
{
	const struct tm_cell	*c = &tm_cells[idx - 1];
	unsigned		 b;

	if (tm_links[idx - 1].tl_live != 1 || c->tc_state == TC_FREE ||
	    c->tc_bucket != bucket || c->tc_nbr > TMTAB_BRANCHES)
		return false;
	if (!tk_blob(&c->tc_req, chunks, held) ||
	    !tk_blob(&c->tc_resp, chunks, held) ||
	    !tk_blob(&c->tc_best, chunks, held))
		return false;
	for (b = 0; b < c->tc_nbr; b++)
		if (!tk_blob(&c->tc_br[b].br_msg, chunks, held))
			return false;
	return true;
}

static int
tk_walk(struct tk_seen *cells, struct tk_seen *chunks,
    struct tmtab_check *k)
{
	const struct tm_head	*h = tm_hdr;
	uint32_t		 b, i;

	if (h->th_cell_bump > h->th_cap || h->th_chunk_bump > h->th_nchunks)
		return -EBADMSG;
	cells->ks_n = h->th_cell_bump;
	chunks->ks_n = h->th_chunk_bump;
	for (b = 0; b < h->th_nbuckets; b++)
		for (i = atomic_load_explicit(&tm_buckets[b],
		    memory_order_relaxed); i != TM_NONE;
		    i = tm_links[i - 1].tl_next) {
			if (!tk_visit(cells, i) ||
			    !tk_cell(i, b, chunks, &k->tk_held))
				return -EBADMSG;
			k->tk_linked++;
		}
	for (i = h->th_cell_free; i != TM_NONE; i = tm_links[i - 1].tl_next) {
		if (!tk_visit(cells, i) || tm_links[i - 1].tl_live != 0 ||
		    tm_cells[i - 1].tc_state != TC_FREE)
			return -EBADMSG;
		k->tk_free++;
	}
	for (i = h->th_chunk_free; i != TM_NONE;
	    i = tm_chunks[i - 1].ck_next) {
		if (!tk_visit(chunks, i))
			return -EBADMSG;
		k->tk_chunks_free++;
	}
	k->tk_lost_cells = h->th_cell_bump - k->tk_linked - k->tk_free;
	k->tk_lost_chunks = h->th_chunk_bump - k->tk_held - k->tk_chunks_free;
	k->tk_cells_drift = (int)h->th_cells_used -
	    (int)(h->th_cell_bump - k->tk_free);
	k->tk_chunks_drift = (int)h->th_chunks_used -
	    (int)(h->th_chunk_bump - k->tk_chunks_free);
	return 0;
}

int
tmtab_check(struct tmtab_check *ret)
{
	struct tmtab_check	 k = { 0 };
	struct tk_seen		 cells, chunks;
	unsigned		 s;
	int			 r;

	if (tm_hdr == NULL)
		return -ENXIO;
	/* allocated before any lock: nothing is allocated under one */
	cells.ks_bits = calloc(tm_hdr->th_cap / 8 + 1, 1);
	chunks.ks_bits = calloc(tm_hdr->th_nchunks / 8 + 1, 1);
	if (cells.ks_bits == NULL || chunks.ks_bits == NULL) {
		free(cells.ks_bits);
		free(chunks.ks_bits);
		return -ENOMEM;
	}
	for (s = 0; s < TMTAB_STRIPES; s++)
		if ((r = shm_lock_acquire(&tm_hdr->th_stripes[s].tx_lock,
		    NULL, NULL)) < 0)
			goto unlock;
	if ((r = shm_lock_acquire(&tm_hdr->th_pool_lock, NULL, NULL)) < 0)
		goto unlock;
	r = tk_walk(&cells, &chunks, &k);
	shm_lock_release(&tm_hdr->th_pool_lock);
unlock:
	while (s-- > 0)
		shm_lock_release(&tm_hdr->th_stripes[s].tx_lock);
	free(cells.ks_bits);
	free(chunks.ks_bits);
	if (r >= 0) {
		*ret = k;
		r = 0;
	}
	return r;
}
