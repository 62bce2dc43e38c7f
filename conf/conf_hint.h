/*
 * conf_hint: the nearest known key to a mistyped one, for "unknown key
 * K (did you mean L?)". Only near misses count: within 2 edits.
 */
#ifndef SIPD_CONF_HINT_H
#define SIPD_CONF_HINT_H

#include <stddef.h>

/* The name (of name_at(0..n-1)) nearest to key, or NULL: none close. */
const char	*conf_hint_nearest(const char *key,
		    const char *(*name_at)(size_t), size_t n);

#endif
