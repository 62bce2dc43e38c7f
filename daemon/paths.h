/*
 * paths: file-system helpers for the master's run-time files.
 */
#ifndef SIPD_PATHS_H
#define SIPD_PATHS_H

/* mkdir -p of the folder holding path (mode 0755); 0 or -1 with errno. */
int	paths_make_parent(const char *path);

#endif
