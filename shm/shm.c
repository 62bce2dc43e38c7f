/*
 * shm.c: the shared mapping and its start-up bump allocator.
 *
 * The master calls shm_create() and shm_carve() before it forks any
 * worker; workers inherit the mapping at the same address and only use
 * what was carved. shm_usage() and shm_check() are safe in any process
 * (the master calls them for MI core.shmmem and after a worker death).
 *
 * There is deliberately no free: every table is fixed-size and lives as
 * long as the process tree, so a bump pointer is all the allocator
 * needs, and there is no fragmentation to manage (see STYLE.md, shared
 * memory rule 6).
 */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm.h"

#define SHM_MAGIC	0x7369706dU	/* "sipm" */
#define SHM_VERSION	1U

/*
 * At offset 0 of the mapping. Written by the master before fork only
 * (so no lock), read by anyone afterwards.
 */
struct shm_header {
	uint32_t	sh_magic;	/* SHM_MAGIC */
	uint32_t	sh_version;	/* SHM_VERSION */
	size_t		sh_size;	/* bytes mapped */
	size_t		sh_used;	/* offset of the first free byte */
	unsigned	sh_blocks;	/* carves made so far */
};

/*
 * Process-local view: where the mapping is, how long (kept here too so
 * that a damaged header can never make munmap take more than ours),
 * and who made it.
 */
/* Bumped by every create and destroy: see shm_generation(). */
static unsigned		 shm_gen;
static struct shm_header	*shm_hdr;
static size_t			 shm_len;
static pid_t			 shm_creator;

struct shm_table {
	const char	*st_name;
	shm_fill_fn	 st_fill;
	size_t		 st_start;	/* offset of its first carve */
	size_t		 st_max_used;	/* most used seen, when fill has none */
	size_t		 st_resident;	/* last mincore() count */
	time_t		 st_resident_at; /* when (CLOCK_MONOTONIC s); 0 never */
};
static struct shm_table	 shm_tabs[SHM_TABLES_MAX];
static size_t		 shm_ntabs;

static int
shm_is_pow2(size_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

static size_t
shm_page_size(void)
{
	long	 ps;

	ps = sysconf(_SC_PAGESIZE);
	/* POSIX guarantees a page size; 4096 keeps us going if it lies. */
	return ps > 0 ? (size_t)ps : 4096;
}

size_t
shm_page_round(size_t n)
{
	size_t	 ps = shm_page_size();

	if (n > SIZE_MAX - (ps - 1))
		return SIZE_MAX;
	return (n + ps - 1) & ~(ps - 1);
}

size_t
shm_size_base(void)
{
	return sizeof(struct shm_header);
}

size_t
shm_size_add(size_t acc, size_t n, size_t align)
{
	if (align == 0)
		align = alignof(max_align_t);
	if (acc == SIZE_MAX || !shm_is_pow2(align))
		return SIZE_MAX;
	if (acc > SIZE_MAX - (align - 1))
		return SIZE_MAX;
	acc = (acc + align - 1) & ~(align - 1);
	if (n > SIZE_MAX - acc)
		return SIZE_MAX;
	return acc + n;
}

int
shm_create(size_t size)
{
	void	*p;

	if (shm_hdr != NULL)
		return -EEXIST;
	if (size == 0)
		return -EINVAL;
	if (size < sizeof(struct shm_header))
		size = sizeof(struct shm_header);
	size = shm_page_round(size);
	if (size == SIZE_MAX)
		return -ENOMEM;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;

	shm_hdr = p;
	shm_len = size;
	shm_hdr->sh_magic = SHM_MAGIC;
	shm_hdr->sh_version = SHM_VERSION;
	shm_hdr->sh_size = size;
	shm_hdr->sh_used = sizeof(struct shm_header);
	shm_hdr->sh_blocks = 0;
	shm_creator = getpid();
	shm_ntabs = 0;
	shm_gen++;
	return 0;
}

void *
shm_carve(size_t n, size_t align)
{
	uintptr_t	 base, start;
	size_t		 off;

	if (shm_hdr == NULL) {
		errno = ENXIO;
		return NULL;
	}
	if (getpid() != shm_creator) {
		errno = EPERM;
		return NULL;
	}
	if (align == 0)
		align = alignof(max_align_t);
	if (n == 0 || !shm_is_pow2(align)) {
		errno = EINVAL;
		return NULL;
	}

	/*
	 * Align the address, not the offset, so that alignments above the
	 * page size still hold; below it the two are the same because the
	 * mapping starts on a page boundary.
	 */
	base = (uintptr_t)shm_hdr;
	start = base + shm_hdr->sh_used;
	if (start > UINTPTR_MAX - (align - 1)) {
		errno = ENOMEM;
		return NULL;
	}
	start = (start + align - 1) & ~((uintptr_t)align - 1);
	off = (size_t)(start - base);
	if (off > shm_len || n > shm_len - off) {
		errno = ENOMEM;
		return NULL;
	}

	shm_hdr->sh_used = off + n;
	shm_hdr->sh_blocks++;
	/*
	 * No memset: anonymous pages arrive zeroed and the bump pointer
	 * never hands out a byte twice. Skipping it also leaves untouched
	 * table pages unbacked until first use, which keeps RSS honest on
	 * small boards with a large usrloc.max_contacts.
	 */
	return (void *)start;
}

void
shm_usage(struct shm_usage *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (shm_hdr == NULL)
		return;
	ret->su_total = shm_len;
	/* Clamped so a damaged header cannot make free wrap around. */
	ret->su_used = shm_hdr->sh_used <= shm_len ? shm_hdr->sh_used : shm_len;
	ret->su_free = shm_len - ret->su_used;
	/* Carving only grows, so the high-water mark is the used size. */
	ret->su_max_used = ret->su_used;
	ret->su_fragments = shm_hdr->sh_blocks;
}

int
shm_check(void)
{
	if (shm_hdr == NULL)
		return -ENXIO;
	if (shm_hdr->sh_magic != SHM_MAGIC ||
	    shm_hdr->sh_version != SHM_VERSION ||
	    shm_hdr->sh_size != shm_len ||
	    shm_hdr->sh_used < sizeof(struct shm_header) ||
	    shm_hdr->sh_used > shm_hdr->sh_size)
		return -EBADMSG;
	return 0;
}

void
shm_destroy(void)
{
	if (shm_hdr == NULL)
		return;
	/* Nothing useful to do if it fails: we forget the mapping anyway. */
	(void)munmap(shm_hdr, shm_len);
	shm_hdr = NULL;
	shm_len = 0;
	shm_creator = 0;
	shm_ntabs = 0;
	shm_gen++;
}

unsigned
shm_generation(void)
{
	return shm_hdr != NULL ? shm_gen : 0;
}

int
shm_table_begin(const char *name, shm_fill_fn fill)
{
	struct shm_table	*t;

	if (shm_hdr == NULL)
		return -ENXIO;
	if (shm_ntabs == SHM_TABLES_MAX)
		return -ENOSPC;
	t = &shm_tabs[shm_ntabs++];
	t->st_name = name;
	t->st_fill = fill;
	/* Alignment padding before the first carve goes to this table. */
	t->st_start = shm_hdr->sh_used;
	t->st_max_used = 0;
	t->st_resident_at = 0;
	return 0;
}

/*
 * Resident bytes in [off, off + len) of the mapping. mincore() on a
 * shared anonymous mapping reports the shmem object's pages, so pages
 * a worker touched count here in the master too. Asked in chunks of
 * 64 MB (a static vector: the master asks, from one thread): 256-page
 * chunks made a /metrics scrape of the default 456 MB mapping ~900
 * system calls, ~15 ms.
 */
static size_t
shm_resident_range(size_t off, size_t len)
{
	static unsigned char vec[16384];
	size_t		 ps = shm_page_size(), first, last, p, n, i, res = 0;

	if (shm_hdr == NULL || len == 0 || off >= shm_len)
		return 0;
	if (len > shm_len - off)
		len = shm_len - off;
	first = off / ps;
	last = (off + len - 1) / ps;
	for (p = first; p <= last; p += n) {
		n = last - p + 1;
		if (n > sizeof(vec))
			n = sizeof(vec);
		if (mincore((char *)shm_hdr + p * ps, n * ps, vec) == -1)
			return 0;
		for (i = 0; i < n; i++)
			if (vec[i] & 1)
				res += ps;
	}
	return res;
}

/*
 * A table's (or the whole mapping's) resident bytes, counted again at
 * most every SHM_RESIDENT_TTL seconds: mincore() walks every page (~30
 * ns each, 14 ms over the default 456 MB; 60 ms and more with 100k
 * bindings on a busy machine), which a Prometheus scrape every few
 * seconds must not pay each time. Resident pages move slowly.
 *
 * Once shm_resident_step() runs (the master's 1 s HTTP timer), readers
 * never walk: the walk goes SHM_RESIDENT_STEP pages per step, every
 * table and the whole mapping in one pass, and a finished pass replaces
 * the counts. Then no scrape pays for a walk, and the master's loop
 * never stops for more than one slice (~0.5 ms).
 */
#define SHM_RESIDENT_TTL	30
#define SHM_RESIDENT_STEP	4096

static struct shm_table	 shm_whole;
static unsigned		 shm_whole_gen;

/* The pass in progress: process-local, master only. */
static struct {
	unsigned	 rw_gen;	/* mapping it counts; 0: not stepping */
	size_t		 rw_page;	/* next page; SIZE_MAX: between passes */
	time_t		 rw_started;	/* CLOCK_MONOTONIC s */
	size_t		 rw_whole;
	size_t		 rw_tab[SHM_TABLES_MAX];
} shm_walk;

static time_t
shm_now_s(void)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > 0 ? now.tv_sec : 1;
}

static size_t
shm_table_resident(struct shm_table *t, size_t total)
{
	time_t	 now = shm_now_s();

	if (t->st_resident_at != 0 && shm_walk.rw_gen == shm_gen)
		return t->st_resident;		/* the stepper's */
	if (t->st_resident_at == 0 ||
	    now - t->st_resident_at >= SHM_RESIDENT_TTL) {
		t->st_resident = shm_resident_range(t->st_start, total);
		t->st_resident_at = now;
	}
	return t->st_resident;
}

static struct shm_table *
shm_whole_table(void)
{
	if (shm_whole_gen != shm_gen) {
		/* Another mapping than the one last counted. */
		memset(&shm_whole, 0, sizeof(shm_whole));
		shm_whole_gen = shm_gen;
	}
	return &shm_whole;
}

size_t
shm_resident(void)
{
	if (shm_hdr == NULL)
		return 0;
	return shm_table_resident(shm_whole_table(), shm_len);
}

/* Byte range [ret_start, ret_end) of table i. */
static void
shm_table_span(size_t i, size_t *ret_start, size_t *ret_end)
{
	*ret_start = shm_tabs[i].st_start;
	*ret_end = i + 1 < shm_ntabs ? shm_tabs[i + 1].st_start :
	    shm_hdr->sh_used;
}

/*
 * Counts resident page p (bytes [p * ps, (p + 1) * ps)) for every
 * table it overlaps: a page shared by two tables counts for both, as
 * shm_resident_range() over each table would.
 */
static void
shm_walk_page(size_t p, size_t ps)
{
	size_t	 i, start, end;

	shm_walk.rw_whole += ps;
	for (i = 0; i < shm_ntabs; i++) {
		shm_table_span(i, &start, &end);
		if (start < (p + 1) * ps && end > p * ps)
			shm_walk.rw_tab[i] += ps;
	}
}

void
shm_resident_step(void)
{
	static unsigned char vec[SHM_RESIDENT_STEP];
	size_t		 ps = shm_page_size(), pages, n, i, start, end;
	time_t		 now = shm_now_s();

	if (shm_hdr == NULL)
		return;
	pages = shm_len / ps;
	if (shm_walk.rw_gen != shm_gen) {
		/* The first step counts at once: readers never walk again. */
		for (i = 0; i < shm_ntabs; i++) {
			shm_table_span(i, &start, &end);
			shm_tabs[i].st_resident = shm_resident_range(start,
			    end - start);
			shm_tabs[i].st_resident_at = now;
		}
		shm_whole_table()->st_resident = shm_resident_range(0,
		    shm_len);
		shm_whole.st_resident_at = now;
		memset(&shm_walk, 0, sizeof(shm_walk));
		shm_walk.rw_gen = shm_gen;
		shm_walk.rw_page = SIZE_MAX;
		shm_walk.rw_started = now;
		return;
	}
	if (shm_walk.rw_page == SIZE_MAX) {
		if (now - shm_walk.rw_started < SHM_RESIDENT_TTL)
			return;
		shm_walk.rw_page = 0;
		shm_walk.rw_started = now;
		shm_walk.rw_whole = 0;
		memset(shm_walk.rw_tab, 0, sizeof(shm_walk.rw_tab));
	}
	n = pages - shm_walk.rw_page;
	if (n > SHM_RESIDENT_STEP)
		n = SHM_RESIDENT_STEP;
	if (n > 0 && mincore((char *)shm_hdr + shm_walk.rw_page * ps,
	    n * ps, vec) == -1) {
		shm_walk.rw_page = SIZE_MAX;	/* try again next pass */
		return;
	}
	for (i = 0; i < n; i++)
		if (vec[i] & 1)
			shm_walk_page(shm_walk.rw_page + i, ps);
	shm_walk.rw_page += n;
	if (shm_walk.rw_page < pages)
		return;
	for (i = 0; i < shm_ntabs; i++) {
		shm_tabs[i].st_resident = shm_walk.rw_tab[i];
		shm_tabs[i].st_resident_at = now;
	}
	shm_whole.st_resident = shm_walk.rw_whole;
	shm_whole.st_resident_at = now;
	shm_walk.rw_page = SIZE_MAX;
}

size_t
shm_tables(struct shm_table_usage *ret, size_t cap)
{
	struct shm_table	*t;
	struct shm_fill		 f;
	size_t			 i, end, res;

	if (shm_hdr == NULL)
		return 0;
	for (i = 0; i < shm_ntabs && i < cap; i++) {
		t = &shm_tabs[i];
		end = i + 1 < shm_ntabs ? shm_tabs[i + 1].st_start :
		    shm_hdr->sh_used;
		memset(&ret[i], 0, sizeof(ret[i]));
		ret[i].tu_name = t->st_name;
		ret[i].tu_total = end - t->st_start;
		memset(&f, 0, sizeof(f));
		if (t->st_fill != NULL)
			t->st_fill(ret[i].tu_total, &f);
		else
			f.sf_used = ret[i].tu_total;
		/* A table's word against its reservation: never more. */
		if (f.sf_used > ret[i].tu_total)
			f.sf_used = ret[i].tu_total;
		if (f.sf_max_used > ret[i].tu_total)
			f.sf_max_used = ret[i].tu_total;
		if (f.sf_used > t->st_max_used)
			t->st_max_used = f.sf_used;
		if (f.sf_max_used > t->st_max_used)
			t->st_max_used = f.sf_max_used;
		ret[i].tu_used = f.sf_used;
		ret[i].tu_max_used = t->st_max_used;
		ret[i].tu_free = ret[i].tu_total - f.sf_used;
		ret[i].tu_entries = f.sf_entries;
		ret[i].tu_capacity = f.sf_capacity;
		/*
		 * Page granular: a page shared with the next table counts
		 * for both, so clamp to the reservation.
		 */
		res = shm_table_resident(t, ret[i].tu_total);
		ret[i].tu_real_used = res < ret[i].tu_total ? res :
		    ret[i].tu_total;
	}
	return i;
}
