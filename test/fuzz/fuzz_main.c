/*
 * fuzz_main: replays fuzz inputs without libFuzzer, so that every corpus
 * file (seeds and past crashes) runs in the normal test suite. Each
 * argument is a file or a directory of files; every input is copied
 * into a buffer of exactly its size so that ASan sees any over-read.
 * Runs as a test program, never in sipd.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_main_file(const char *path)
{
	FILE	*f;
	uint8_t	*buf;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		fclose(f);
		return -1;
	}
	rewind(f);
	/* malloc(0) may return NULL; one spare byte is never read */
	if ((buf = malloc((size_t)n + (n == 0))) == NULL) {
		fclose(f);
		return -1;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	(void)LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int
fuzz_main_path(const char *path, unsigned *count)
{
	struct stat	 st;
	struct dirent	*de;
	DIR		*d;
	char		 sub[4096];
	int		 rc = 0;

	if (stat(path, &st) == -1) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return fuzz_main_file(path);
	}
	if ((d = opendir(path)) == NULL) {
		perror(path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (fuzz_main_path(sub, count) == -1)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char *argv[])
{
	unsigned	 count = 0;
	int		 i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
		if (fuzz_main_path(argv[i], &count) == -1)
			rc = 1;
	printf("%u inputs replayed\n", count);
	/* an empty corpus means a broken test setup, not a pass */
	return rc != 0 || count == 0;
}
