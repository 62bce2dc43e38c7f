/*
 * paths: creates the folders of the pid file and the MI socket, which
 * default to /run/sipd (absent on a fresh system without systemd's
 * RuntimeDirectory=).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "paths.h"

int
paths_make_parent(const char *path)
{
	char	 dir[PATH_MAX], *p;
	size_t	 len = strlen(path);

	if (len == 0 || len >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, len + 1);
	if ((p = strrchr(dir, '/')) == NULL)
		return 0;		/* relative name in the cwd */
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (dir[0] != '\0' && mkdir(dir, 0755) == -1 && errno != EEXIST)
		return -1;
	return 0;
}
