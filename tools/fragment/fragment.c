// SPDX-License-Identifier: GPL-2.0
/*
 * fragment: leave free memory in pieces smaller than 2 MiB.
 *
 * Maps --mb MiB as separate mappings of random sizes between --min-kb and
 * --max-kb (each below 2 MiB, so no transparent huge page backs them),
 * touches every page, then on SIGUSR1 unmaps a random --free-pct of them
 * in random order and keeps the rest until SIGTERM. It prints "held" and
 * "freed N kB" so that a test can follow.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct piece {
	char *addr;
	size_t len;
};

/* xorshift: reproducible and independent of libc's rand() */
static unsigned long long rng_state = 88172645463325252ULL;

static unsigned long long rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static long arg(int argc, char **argv, const char *name, long def)
{
	int i;

	for (i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return atol(argv[i + 1]);
	return def;
}

int main(int argc, char **argv)
{
	long mb = arg(argc, argv, "--mb", 256);
	long min_kb = arg(argc, argv, "--min-kb", 64);
	long max_kb = arg(argc, argv, "--max-kb", 1024);
	long free_pct = arg(argc, argv, "--free-pct", 50);
	size_t total = (size_t)mb << 20, have = 0, freed = 0;
	size_t n = 0, cap = total / ((size_t)min_kb << 10) + 1, i;
	struct piece *p;
	sigset_t sigs;
	int sig;

	if (min_kb < 4 || max_kb < min_kb || max_kb >= 2048 ||
	    free_pct < 0 || free_pct > 100) {
		fprintf(stderr, "fragment: bad arguments\n");
		return 2;
	}
	p = calloc(cap, sizeof(*p));
	if (!p)
		return 1;
	/* taken with sigwait(), so that no handler state is shared */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	while (have < total && n < cap) {
		size_t kb = min_kb + rnd() % (max_kb - min_kb + 1);

		kb &= ~3UL;	/* whole pages */
		p[n].len = kb << 10;
		p[n].addr = mmap(NULL, p[n].len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p[n].addr == MAP_FAILED)
			return 1;
		madvise(p[n].addr, p[n].len, MADV_NOHUGEPAGE);
		memset(p[n].addr, 0x5a, p[n].len);
		have += p[n++].len;
	}
	printf("held %zu kB in %zu pieces\n", have >> 10, n);
	fflush(stdout);
	if (sigwait(&sigs, &sig) || sig == SIGTERM)
		return 0;
	/* Fisher-Yates, then free the first free_pct percent */
	for (i = n - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1);
		struct piece t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	for (i = 0; i < n * free_pct / 100; i++) {
		munmap(p[i].addr, p[i].len);
		freed += p[i].len;
	}
	printf("freed %zu kB\n", freed >> 10);
	fflush(stdout);
	do {
		if (sigwait(&sigs, &sig))
			return 1;
	} while (sig != SIGTERM);
	return 0;
}
