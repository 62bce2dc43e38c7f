/*
 * fuzz_memfile: the input of a fuzz target as a file, for parsers that
 * read a path (DB_TEXT, config): a memfd, named by /proc/self/fd/N.
 */
#ifndef SIPD_FUZZ_MEMFILE_H
#define SIPD_FUZZ_MEMFILE_H

#include <sys/mman.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/* The fd (close it after), its path in ret_path; -1 on failure. */
static inline int
fuzz_memfile(const uint8_t *data, size_t size, char *ret_path, size_t cap)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = memfd_create("fuzz", MFD_CLOEXEC)) == -1)
		return -1;
	while (off < size) {
		if ((n = write(fd, data + off, size - off)) <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	(void)snprintf(ret_path, cap, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
