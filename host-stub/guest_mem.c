// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest_mem.h"

int gm_add(struct guest_mem *m, uint64_t gpa, uint64_t size, uint8_t *hva,
	   int fd, uint64_t fd_off)
{
	struct gm_region *r;

	if (m->n >= GM_MAX_REGIONS || gpa + size < gpa)
		return -1;
	r = &m->r[m->n];
	r->gpa = gpa;
	r->size = size;
	r->hva = hva;
	r->fd = fd;
	r->fd_off = fd_off;
	r->accessible = NULL;
	r->opaque = NULL;
	return m->n++;
}

#define HUGE_2M		(2ull << 20)
#define SHMEM_THP	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"

bool gm_thp_available(void)
{
	char buf[128] = "";
	FILE *f = fopen(SHMEM_THP, "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	/* the setting in force is the bracketed one */
	return strstr(buf, "[always]") || strstr(buf, "[within_size]") ||
	       strstr(buf, "[advise]") || strstr(buf, "[force]");
}

/*
 * A 2 MiB-aligned shared mapping of @fd: reserve a little more address
 * space, map over its aligned part, give the slack back.
 */
static void *map_aligned(int fd, uint64_t size)
{
	uint8_t *r = mmap(NULL, size + HUGE_2M, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;
	void *p;

	if (r == MAP_FAILED)
		return MAP_FAILED;
	a = ((uintptr_t)r + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1);
	p = mmap((void *)a, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fd, 0);
	if (p == MAP_FAILED) {
		munmap(r, size + HUGE_2M);
		return MAP_FAILED;
	}
	if (a > (uintptr_t)r)
		munmap(r, a - (uintptr_t)r);
	munmap((uint8_t *)a + size, (uintptr_t)r + HUGE_2M - a);
	return p;
}

int gm_memfd(const char *name, uint64_t size, unsigned int flags, int *fd,
	     uint8_t **hva)
{
	void *p;

	*fd = memfd_create(name, MFD_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (ftruncate(*fd, size) < 0)
		goto fail;
	if (flags & GM_THP) {
		p = map_aligned(*fd, size);
		if (p == MAP_FAILED || madvise(p, size, MADV_HUGEPAGE) < 0)
			goto fail;
	} else {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd,
			 0);
		if (p == MAP_FAILED)
			goto fail;
	}
	*hva = p;
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return -errno;
}

const struct gm_region *gm_find(const struct guest_mem *m, uint64_t gpa,
				uint64_t len)
{
	int i;

	/* Written so that gpa + len cannot overflow. */
	for (i = 0; i < m->n; i++) {
		const struct gm_region *r = &m->r[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

void *gm_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const struct gm_region *r = gm_find(m, gpa, len);

	if (!r)
		return NULL;
	if (r->accessible && !r->accessible(r->opaque, gpa, len))
		return NULL;
	return r->hva + (gpa - r->gpa);
}

void *gm_map(void *opaque, uint64_t gpa, uint64_t len)
{
	return gm_ptr(opaque, gpa, len);
}

/* the last discards, for a post-mortem of a guest that died */
#define DISCARD_RING	64

static struct {
	pthread_mutex_t lock;
	bool poison;
	unsigned int next, n;
	struct {
		uint64_t gpa, len, ns;
		const char *source;
	} e[DISCARD_RING];
} discards = { .lock = PTHREAD_MUTEX_INITIALIZER };

void gm_poison(bool on)
{
	pthread_mutex_lock(&discards.lock);
	discards.poison = on;
	pthread_mutex_unlock(&discards.lock);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void gm_discards_dump(FILE *f)
{
	uint64_t now = mono_ns();
	unsigned int i, k;

	pthread_mutex_lock(&discards.lock);
	fprintf(f, "host-stub: the last %u discards%s, oldest first:\n",
		discards.n, discards.poison ? " (poisoned)" : "");
	for (i = 0; i < discards.n; i++) {
		k = (discards.next + DISCARD_RING - discards.n + i) %
		    DISCARD_RING;
		fprintf(f, "host-stub:   %-10s gpa 0x%llx+0x%llx, %llu ms ago\n",
			discards.e[k].source,
			(unsigned long long)discards.e[k].gpa,
			(unsigned long long)discards.e[k].len,
			(unsigned long long)(now - discards.e[k].ns) / 1000000);
	}
	pthread_mutex_unlock(&discards.lock);
}

int64_t gm_discard(const struct guest_mem *m, uint64_t gpa, uint64_t len,
		   const char *source)
{
	const struct gm_region *r = gm_find(m, gpa, len);
	uint64_t start, end;
	uint8_t *p;
	bool poison;

	if (!r)
		return -EFAULT;
	start = (gpa + 4095) & ~4095ull;
	end = (gpa + len) & ~4095ull;
	if (end <= start)
		return 0;
	p = r->hva + (start - r->gpa);
	pthread_mutex_lock(&discards.lock);
	poison = discards.poison;
	discards.e[discards.next].gpa = start;
	discards.e[discards.next].len = end - start;
	discards.e[discards.next].ns = mono_ns();
	discards.e[discards.next].source = source;
	discards.next = (discards.next + 1) % DISCARD_RING;
	if (discards.n < DISCARD_RING)
		discards.n++;
	pthread_mutex_unlock(&discards.lock);
	if (r->fd < 0) {
		/* test memory: emulate a discard by zeroing */
		memset(p, poison ? GM_POISON : 0, end - start);
		return end - start;
	}
	if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      r->fd_off + (start - r->gpa), end - start) < 0)
		return -errno;
	if (poison)
		memset(p, GM_POISON, end - start);
	return end - start;
}

uint64_t gm_fd_allocated(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}
