// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

int64_t gm_discard(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const struct gm_region *r = gm_find(m, gpa, len);
	uint64_t start, end;

	if (!r)
		return -EFAULT;
	start = (gpa + 4095) & ~4095ull;
	end = (gpa + len) & ~4095ull;
	if (end <= start)
		return 0;
	if (r->fd < 0) {
		/* test memory: emulate a discard by zeroing */
		uint8_t *p = r->hva + (start - r->gpa);
		uint64_t i;

		for (i = 0; i < end - start; i++)
			p[i] = 0;
		return end - start;
	}
	if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      r->fd_off + (start - r->gpa), end - start) < 0)
		return -errno;
	return end - start;
}

uint64_t gm_fd_allocated(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}
