// SPDX-License-Identifier: GPL-2.0
/*
 * touch_pages: time the first touch of fresh anonymous memory.
 *
 * Maps --mb MiB without transparent huge pages (so that each 4 KiB page
 * faults on its own), writes one word to each page and prints the time
 * that took: the page faults, with the kernel allocating and, unless it
 * knows a page is zero already, clearing each page, and the host backing
 * and mapping it where it had not. Then it reads every other word back:
 * all must be zero, or the allocator handed user space a page that was
 * not cleared (exit status 1). With --hold it keeps the memory until
 * SIGTERM, so that a following run gets other pages.
 *
 * --inject-nonzero writes a second word into one page before the check,
 * to show that the check finds it (the unit test).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MARK	0x746f756368ULL		/* the word written on first touch */

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE), mb = 0;
	int hold = 0, inject = 0, i, sig;
	size_t len, pages, p, w, words, nonzero = 0;
	long long t0, ns;
	sigset_t sigs;
	uint64_t *m;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mb") && i + 1 < argc)
			mb = atol(argv[++i]);
		else if (!strcmp(argv[i], "--hold"))
			hold = 1;
		else if (!strcmp(argv[i], "--inject-nonzero"))
			inject = 1;
		else
			mb = -1;
	}
	if (mb <= 0 || mb > (1L << 20) || page <= 0) {
		fputs("usage: touch_pages --mb N [--hold] [--inject-nonzero]\n",
		      stderr);
		return 2;
	}
	len = (size_t)mb << 20;
	pages = len / page;
	words = page / sizeof(*m);
	m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("touch_pages: mmap");
		return 1;
	}
	madvise(m, len, MADV_NOHUGEPAGE);
	t0 = now_ns();
	for (p = 0; p < pages; p++)
		m[p * words] = MARK;
	ns = now_ns() - t0;
	if (inject)
		m[(pages / 2) * words + 7] = MARK;
	/* not timed: the check reads pages that are already mapped */
	for (p = 0; p < pages; p++)
		for (w = 1; w < words; w++)
			nonzero += m[p * words + w] != 0;
	printf("touch_pages: pages=%zu ns=%lld nonzero_words=%zu\n", pages, ns,
	       nonzero);
	if (hold && !nonzero) {
		/* sigwait(), so that no handler state is shared */
		sigemptyset(&sigs);
		sigaddset(&sigs, SIGTERM);
		sigaddset(&sigs, SIGINT);
		sigprocmask(SIG_BLOCK, &sigs, NULL);
		printf("held\n");
		fflush(stdout);
		sigwait(&sigs, &sig);
	}
	return nonzero ? 1 : 0;
}
