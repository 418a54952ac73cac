/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest physical memory: regions backed by memfd so that discarding is a
 * fallocate(PUNCH_HOLE) and the host can see which pages the guest never
 * wrote (SEEK_HOLE/SEEK_DATA).
 */
#ifndef HOST_STUB_GUEST_MEM_H
#define HOST_STUB_GUEST_MEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define GM_MAX_REGIONS	4

struct gm_region {
	uint64_t gpa, size;
	uint8_t *hva;
	int fd;			/* memfd, -1 for test memory */
	uint64_t fd_off;	/* offset of gpa in fd */
	/*
	 * Optional: is [gpa, gpa+len) accessible to the guest right now?
	 * virtio-mem uses it so that unplugged blocks are not DMA targets.
	 */
	bool (*accessible)(void *opaque, uint64_t gpa, uint64_t len);
	void *opaque;
	/*
	 * Optional: held around an accessibility check and the backing work
	 * that relies on it (a hint backing or discarding memory), so that
	 * the owner (virtio-mem's plug and unplug) cannot change the region
	 * in between.
	 */
	pthread_mutex_t *lock;
};

struct guest_mem {
	struct gm_region r[GM_MAX_REGIONS];
	int n;
};

/* Add a region; returns its index or -1. */
int gm_add(struct guest_mem *m, uint64_t gpa, uint64_t size, uint8_t *hva,
	   int fd, uint64_t fd_off);

/*
 * Back guest memory with transparent huge pages: mapped 2 MiB-aligned and
 * MADV_HUGEPAGE, so that KVM maps it for the guest 2 MiB at a time (a
 * production host's setting; it needs shmem THP enabled on the host).
 */
#define GM_THP		1u

/* Create a memfd of @size and map it; returns 0 or -errno. */
int gm_memfd(const char *name, uint64_t size, unsigned int flags, int *fd,
	     uint8_t **hva);

/* Whether the host hands out shmem THP to a MADV_HUGEPAGE mapping. */
bool gm_thp_available(void);

/* Host pointer for [gpa, gpa+len), or NULL if not wholly in one region. */
void *gm_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* vq_map_fn adapter: opaque is the struct guest_mem. */
void *gm_map(void *opaque, uint64_t gpa, uint64_t len);

/* The region holding [gpa, gpa+len) regardless of accessibility. */
const struct gm_region *gm_find(const struct guest_mem *m, uint64_t gpa,
				uint64_t len);

/*
 * The guest gave [gpa, gpa+len) back (@source: "balloon", "cold hint",
 * "virtio-mem"): punch it out of the memfd, so that it reads zero and the
 * host memory is free. The range is trimmed to whole 4 KiB pages. In
 * poison mode (gm_poison) it reads GM_POISON instead, which no protocol
 * involved rules out and which makes an in-use page the guest gave back
 * show up as poison in its oops. Every discard goes into a ring of the
 * last ones (gm_discards_dump). Returns bytes discarded or -errno.
 */
int64_t gm_discard(const struct guest_mem *m, uint64_t gpa, uint64_t len,
		   const char *source);

/* What a poisoned discard leaves in every byte. */
#define GM_POISON	0x6b

/* Discards write GM_POISON from now on. */
void gm_poison(bool on);

/* Print the last discards, oldest first, with their age in ms. */
void gm_discards_dump(FILE *f);

/* Bytes of the memfd actually allocated (st_blocks * 512). */
uint64_t gm_fd_allocated(int fd);

#endif
