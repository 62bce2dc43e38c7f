/*
 * conf_hint: "did you mean" for an unknown config key (see conf_hint.h).
 */
#include <string.h>

#include "conf_hint.h"

/*
 * Levenshtein distance of a and b, or 3 once it is sure to exceed 2:
 * only near misses (a typo, a swapped or missing letter) get a hint.
 */
static size_t
conf_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b), i, j, prev, diag, best;
	size_t	 row[64];

	if (la >= sizeof(row) || lb >= sizeof(row) ||
	    (la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		best = row[0];
		for (j = 1; j <= lb; j++) {
			prev = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (prev + 1 < row[j])
				row[j] = prev + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = prev;
			if (row[j] < best)
				best = row[j];
		}
		if (best > 2)
			return 3;
	}
	return row[lb];
}

const char *
conf_hint_nearest(const char *key, const char *(*name_at)(size_t), size_t n)
{
	const char	*near = NULL;
	size_t		 i, d, bestd = 3;

	for (i = 0; i < n; i++) {
		d = conf_distance(key, name_at(i));
		if (d < bestd) {
			bestd = d;
			near = name_at(i);
		}
	}
	return near;
}
