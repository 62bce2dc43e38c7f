/*
 * dbtext_tmp: the names of dbtext_write()'s temp files, and their
 * removal at start. A table is written to "<table>.sipd-tmp.XXXXXX"
 * (mkostemp) and renamed over the table; a master killed in between
 * leaves the temp file behind, megabytes each (issue 10). The infix is
 * sipd's own, so the start-up sweep cannot take an operator's
 * "location.backup" or a file another program left. Run by the master,
 * before the workers exist (nobody else writes the folder then).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbtext.h"

#define DBTEXT_TMP_RAND	6	/* mkostemp's XXXXXX */

/* The tables sipd writes (SPEC section 4). */
static const char *const dbtext_tmp_tables[] = {
	"version", "subscriber", "trusted", "location"
};

/* Whether name is "<table>" DBTEXT_TMP_INFIX "<6 of [A-Za-z0-9]>". */
bool
dbtext_tmp_name(const char *name)
{
	const char	*infix = strstr(name, DBTEXT_TMP_INFIX);
	const char	*r;
	size_t		 i, n;
	bool		 table = false;

	if (infix == NULL)
		return false;
	n = (size_t)(infix - name);
	for (i = 0; i < sizeof(dbtext_tmp_tables) /
	    sizeof(dbtext_tmp_tables[0]); i++)
		if (strlen(dbtext_tmp_tables[i]) == n &&
		    memcmp(name, dbtext_tmp_tables[i], n) == 0)
			table = true;
	if (!table)
		return false;
	r = infix + strlen(DBTEXT_TMP_INFIX);
	if (strlen(r) != DBTEXT_TMP_RAND)
		return false;
	for (i = 0; i < DBTEXT_TMP_RAND; i++)
		if (!((r[i] >= 'a' && r[i] <= 'z') ||
		    (r[i] >= 'A' && r[i] <= 'Z') ||
		    (r[i] >= '0' && r[i] <= '9')))
			return false;
	return true;
}

int
dbtext_remove_stale(const char *dir, dbtext_stale_fn *fn, void *arg)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 dfd, n = 0;

	if ((d = opendir(dir)) == NULL)
		return -errno;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (!dbtext_tmp_name(de->d_name))
			continue;
		/* a regular file only: never a folder or a link's target */
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0) {
			n++;
			fn(arg, de->d_name, (long long)st.st_size, 0);
		} else
			fn(arg, de->d_name, (long long)st.st_size, errno);
	}
	closedir(d);
	return n;
}
