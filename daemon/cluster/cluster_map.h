/*
 * cluster_map: a growable hash map from AoR bytes to a 64-bit value, in
 * the sync process's own memory: the queue of AoRs changed while Redis
 * was away (value: when first queued), the versions applied (value:
 * the AoR's version), the AoRs seen by a full resync.
 */
#ifndef SIPD_CLUSTER_MAP_H
#define SIPD_CLUSTER_MAP_H

#include <stddef.h>
#include <stdint.h>

struct cluster_map;

typedef int	cluster_map_fn(void *arg, const char *key, size_t len,
	    int64_t *value);

struct cluster_map *cluster_map_new(void);
void	cluster_map_free(struct cluster_map *m);
/* 1 and *ret_value when key is there, else 0. */
int	cluster_map_get(const struct cluster_map *m, const char *key,
	    size_t len, int64_t *ret_value);
/* Inserts or replaces; 0 or -ENOMEM. */
int	cluster_map_put(struct cluster_map *m, const char *key, size_t len,
	    int64_t value);
/*
 * An entry's values: the one get and put see, and a second one for the
 * caller's own use (0 when the entry is made).
 */
struct cluster_val {
	int64_t	 cv_value;
	int64_t	 cv_aux;
};

/*
 * The entry of key, made with init when missing: one lookup for a read
 * and a later write. Valid until the key is deleted or the map cleared
 * or freed (growing keeps it). NULL when out of memory.
 */
struct cluster_val *cluster_map_ref(struct cluster_map *m, const char *key,
	    size_t len, int64_t init);
void	cluster_map_del(struct cluster_map *m, const char *key, size_t len);
size_t	cluster_map_count(const struct cluster_map *m);
/*
 * fn for each entry (it may change *value); an entry whose fn returns
 * 1 is removed; any other non-zero stops the walk and is returned.
 */
int	cluster_map_each(struct cluster_map *m, cluster_map_fn *fn,
	    void *arg);
void	cluster_map_clear(struct cluster_map *m);

#endif
