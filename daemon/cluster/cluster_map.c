/*
 * cluster_map: chained hash map of AoR -> int64 (see cluster_map.h).
 * Doubles its buckets when the load passes 1; FNV-1a.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_map.h"

struct cluster_ent {
	struct cluster_ent	*ce_next;
	struct cluster_val	 ce_val;
	size_t			 ce_len;
	char			 ce_key[];
};

struct cluster_map {
	struct cluster_ent	**cm_b;
	size_t			 cm_nb;	/* power of two */
	size_t			 cm_n;
};

static uint32_t
cluster_hash(const char *k, size_t len)
{
	uint32_t	 h = 2166136261u;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)k[i];
		h *= 16777619u;
	}
	return h;
}

struct cluster_map *
cluster_map_new(void)
{
	struct cluster_map	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->cm_nb = 64;
	if ((m->cm_b = calloc(m->cm_nb, sizeof(*m->cm_b))) == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
cluster_map_clear(struct cluster_map *m)
{
	struct cluster_ent	*e, *next;
	size_t			 i;

	for (i = 0; i < m->cm_nb; i++) {
		for (e = m->cm_b[i]; e != NULL; e = next) {
			next = e->ce_next;
			free(e);
		}
		m->cm_b[i] = NULL;
	}
	m->cm_n = 0;
}

void
cluster_map_free(struct cluster_map *m)
{
	if (m == NULL)
		return;
	cluster_map_clear(m);
	free(m->cm_b);
	free(m);
}

static struct cluster_ent **
cluster_slot(const struct cluster_map *m, const char *key, size_t len)
{
	struct cluster_ent	**p;

	p = &m->cm_b[cluster_hash(key, len) & (m->cm_nb - 1)];
	for (; *p != NULL; p = &(*p)->ce_next)
		if ((*p)->ce_len == len && memcmp((*p)->ce_key, key, len) == 0)
			break;
	return p;
}

int
cluster_map_get(const struct cluster_map *m, const char *key, size_t len,
    int64_t *ret_value)
{
	struct cluster_ent	*e = *cluster_slot(m, key, len);

	if (e == NULL)
		return 0;
	*ret_value = e->ce_val.cv_value;
	return 1;
}

static void
cluster_grow(struct cluster_map *m)
{
	struct cluster_ent	**nb, *e, *next;
	size_t			 i, n = m->cm_nb * 2;
	uint32_t		 h;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;		/* longer chains, still correct */
	for (i = 0; i < m->cm_nb; i++)
		for (e = m->cm_b[i]; e != NULL; e = next) {
			next = e->ce_next;
			h = cluster_hash(e->ce_key, e->ce_len) & (n - 1);
			e->ce_next = nb[h];
			nb[h] = e;
		}
	free(m->cm_b);
	m->cm_b = nb;
	m->cm_nb = n;
}

struct cluster_val *
cluster_map_ref(struct cluster_map *m, const char *key, size_t len,
    int64_t init)
{
	struct cluster_ent	**p = cluster_slot(m, key, len), *e;

	if (*p != NULL)
		return &(*p)->ce_val;
	if ((e = malloc(sizeof(*e) + len + 1)) == NULL)
		return NULL;
	e->ce_next = NULL;
	e->ce_val.cv_value = init;
	e->ce_val.cv_aux = 0;
	e->ce_len = len;
	memcpy(e->ce_key, key, len);
	e->ce_key[len] = '\0';
	*p = e;
	if (++m->cm_n > m->cm_nb)
		cluster_grow(m);	/* moves no entry */
	return &e->ce_val;
}

int
cluster_map_put(struct cluster_map *m, const char *key, size_t len,
    int64_t value)
{
	struct cluster_val	*v = cluster_map_ref(m, key, len, value);

	if (v == NULL)
		return -ENOMEM;
	v->cv_value = value;
	return 0;
}

void
cluster_map_del(struct cluster_map *m, const char *key, size_t len)
{
	struct cluster_ent	**p = cluster_slot(m, key, len), *e;

	if ((e = *p) == NULL)
		return;
	*p = e->ce_next;
	free(e);
	m->cm_n--;
}

size_t
cluster_map_count(const struct cluster_map *m)
{
	return m->cm_n;
}

int
cluster_map_each(struct cluster_map *m, cluster_map_fn *fn, void *arg)
{
	struct cluster_ent	**p, *e;
	size_t			 i;
	int			 rc;

	for (i = 0; i < m->cm_nb; i++)
		for (p = &m->cm_b[i]; (e = *p) != NULL;) {
			rc = fn(arg, e->ce_key, e->ce_len, &e->ce_val.cv_value);
			if (rc == 1) {
				*p = e->ce_next;
				free(e);
				m->cm_n--;
				continue;
			}
			if (rc != 0)
				return rc;
			p = &e->ce_next;
		}
	return 0;
}
