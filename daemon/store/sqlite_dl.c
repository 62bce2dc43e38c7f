/*
 * sqlite_dl.c: loading libsqlite3 on first use (see sqlite_dl.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "sqlite_dl.h"

struct sqlite_dl	sqlite_dl;
static void		*sqlite_dl_handle;

int
sqlite_dl_load(char *err, size_t errlen)
{
	void	*h, *sym;

	if (sqlite_dl_handle != NULL)
		return 0;
	if ((h = dlopen(SQLITE_DL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "cannot load %s (SQLite): %s",
		    SQLITE_DL_SONAME, dlerror());
		return -1;
	}
	/* memcpy: ISO C has no cast from dlsym's void * to a function */
#define SQLITE_DL_SYM(n)						\
	if ((sym = dlsym(h, "sqlite3_" #n)) == NULL) {			\
		snprintf(err, errlen, "%s has no sqlite3_" #n,		\
		    SQLITE_DL_SONAME);					\
		dlclose(h);						\
		return -1;						\
	}								\
	memcpy(&sqlite_dl.n, &sym, sizeof(sym));
	SQLITE_DL_FUNCS(SQLITE_DL_SYM)
#undef SQLITE_DL_SYM
	sqlite_dl_handle = h;
	return 0;
}
