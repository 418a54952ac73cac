// SPDX-License-Identifier: GPL-2.0
/*
 * integrity - hold a churning set of anonymous memory chunks filled with a
 * position- and generation-dependent pattern and verify it every round.
 *
 * Runs inside test guests to catch memory-density drivers (ballooning, free
 * page reporting, page sharing, ...) losing, misplacing or zeroing pages.
 * Chunks are munmap()ed and re-mmap()ed so memory keeps cycling through the
 * guest page allocator.  stdout carries a single machine-readable summary
 * line (plus per-round lines with --verbose); diagnostics go to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "pattern.h"

#define EXIT_CORRUPT	1
#define EXIT_ERROR	2

/* Keep a zeroed gigabyte from flooding a serial console. */
#define MAX_REPORTS	16

#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL

struct chunk {
	unsigned char *mem;	/* NULL if (re)allocation failed */
	size_t len;
	uint64_t seed;		/* per chunk, so chunks cannot stand in for each other */
	uint64_t gen;
};

struct opts {
	uint64_t mb;
	uint64_t chunk_kb;
	uint64_t seconds;
	uint64_t churn_pct;
	uint64_t interval_ms;
	uint64_t seed;
	bool inject;
	bool verbose;
};

struct stats {
	unsigned long long rounds;
	unsigned long long verified_bytes;
	unsigned long long corrupt_bytes;
	size_t first_bad;	/* logical offset into the held memory */
	unsigned int reports;
};

/*
 * SIGTERM/SIGINT stay blocked and are collected with sigtimedwait(), which
 * doubles as the inter-round sleep: a stop request ends the sleep at once
 * but never interrupts a verify pass, and no async handler state is needed.
 */
static sigset_t stop_sigs;

/* Wait up to @ns for a stop signal; true if one arrived. */
static bool wait_stop(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = ns / NSEC_PER_SEC,
		.tv_nsec = ns % NSEC_PER_SEC,
	};

	return sigtimedwait(&stop_sigs, NULL, &ts) > 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: integrity [options]\n"
		"Fill anonymous memory with a pattern, verify and churn it.\n"
		"\n"
		"  --mb N               memory to hold in MiB (default 64)\n"
		"  --chunk-kb N         allocation unit in KiB (default 2048)\n"
		"  --seconds S          run time; 0 = one fill+verify pass (default 10)\n"
		"  --churn PCT          %% of chunks freed and refilled per round (default 25)\n"
		"  --interval-ms N      sleep between rounds (default 200)\n"
		"  --seed N             pattern and churn seed (default 1)\n"
		"  --inject-corruption  flip one byte after filling (self-test)\n"
		"  --verbose            print a line per round on stdout\n"
		"  --help               show this help\n"
		"\n"
		"Prints: integrity: rounds=R verified_mb=V corrupt_bytes=C first_bad_offset=O status=ok|CORRUPT\n"
		"Exit: 0 no corruption, 1 corruption, 2 bad option or allocation failure.\n");
}

/* Strict unsigned parse: no sign, no trailing junk, within [min, max]. */
static bool parse_u64(const char *name, const char *s, uint64_t min,
		      uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		goto bad;
	*out = v;
	return true;
bad:
	fprintf(stderr, "integrity: invalid --%s '%s' (expected %llu..%llu)\n",
		name, s, (unsigned long long)min, (unsigned long long)max);
	return false;
}

enum {
	OPT_MB = 256,
	OPT_CHUNK_KB,
	OPT_SECONDS,
	OPT_CHURN,
	OPT_INTERVAL_MS,
	OPT_SEED,
	OPT_INJECT,
	OPT_VERBOSE,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "mb",			required_argument,	NULL, OPT_MB },
	{ "chunk-kb",		required_argument,	NULL, OPT_CHUNK_KB },
	{ "seconds",		required_argument,	NULL, OPT_SECONDS },
	{ "churn",		required_argument,	NULL, OPT_CHURN },
	{ "interval-ms",	required_argument,	NULL, OPT_INTERVAL_MS },
	{ "seed",		required_argument,	NULL, OPT_SEED },
	{ "inject-corruption",	no_argument,		NULL, OPT_INJECT },
	{ "verbose",		no_argument,		NULL, OPT_VERBOSE },
	{ "help",		no_argument,		NULL, OPT_HELP },
	{ NULL,			0,			NULL, 0 },
};

/* Returns -1 to continue, otherwise the exit code. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		bool ok = true;

		switch (c) {
		case OPT_MB:
			ok = parse_u64("mb", optarg, 1, SIZE_MAX >> 20, &o->mb);
			break;
		case OPT_CHUNK_KB:
			ok = parse_u64("chunk-kb", optarg, 1, SIZE_MAX >> 10,
				       &o->chunk_kb);
			break;
		case OPT_SECONDS:
			/* Ten years is plenty and keeps the ns math in range. */
			ok = parse_u64("seconds", optarg, 0, 315360000,
				       &o->seconds);
			break;
		case OPT_CHURN:
			ok = parse_u64("churn", optarg, 0, 100, &o->churn_pct);
			break;
		case OPT_INTERVAL_MS:
			ok = parse_u64("interval-ms", optarg, 0, 3600000,
				       &o->interval_ms);
			break;
		case OPT_SEED:
			ok = parse_u64("seed", optarg, 0, UINT64_MAX, &o->seed);
			break;
		case OPT_INJECT:
			o->inject = true;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			ok = false;
			break;
		}
		if (!ok)
			goto err;
	}
	if (optind < argc) {
		fprintf(stderr, "integrity: unexpected argument '%s'\n",
			argv[optind]);
		goto err;
	}
	return -1;
err:
	fprintf(stderr, "Try 'integrity --help'.\n");
	return EXIT_ERROR;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Counter-based generator: reproducible from --seed, no libc state. */
static uint64_t rng_next(uint64_t *state)
{
	return pattern_splitmix64((*state)++);
}

static uint64_t chunk_seed(uint64_t seed, size_t idx)
{
	/* splitmix64 is a bijection, so distinct chunks get distinct seeds. */
	return pattern_splitmix64(seed ^ pattern_splitmix64(idx));
}

static bool chunk_alloc(struct chunk *c)
{
	void *p = mmap(NULL, c->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		c->mem = NULL;
		fprintf(stderr, "integrity: mmap of %zu bytes failed: %s\n",
			c->len, strerror(errno));
		return false;
	}
	c->mem = p;
	return true;
}

static void chunk_fill(struct chunk *c, uint64_t *next_gen)
{
	c->gen = (*next_gen)++;
	pattern_fill(c->mem, c->len, c->seed, c->gen);
}

static void verify_all(struct chunk *chunks, size_t n, size_t chunk_bytes,
		       uint64_t *next_gen, struct stats *st)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct chunk *c = &chunks[i];
		size_t off, bad;

		if (!c->mem)
			continue;
		bad = pattern_verify(c->mem, c->len, c->seed, c->gen, &off);
		st->verified_bytes += c->len;
		if (!bad)
			continue;

		st->corrupt_bytes += bad;
		if (st->first_bad == PATTERN_NO_BAD_OFF)
			st->first_bad = i * chunk_bytes + off;
		if (st->reports++ < MAX_REPORTS)
			fprintf(stderr,
				"integrity: round %llu chunk %zu gen %llu: %zu corrupt bytes, first at offset %zu (chunk offset %zu)\n",
				st->rounds + 1, i, (unsigned long long)c->gen,
				bad, i * chunk_bytes + off, off);
		/* Refill so one corruption event is counted exactly once. */
		chunk_fill(c, next_gen);
	}
}

/*
 * Free and re-allocate @k pseudo-randomly chosen chunks, so the memory goes
 * back through the page allocator, and refill them with a new generation.
 * @order persists across rounds; a partial Fisher-Yates shuffle of its head
 * picks @k distinct chunks.
 */
static bool churn(struct chunk *chunks, size_t *order, size_t n, size_t k,
		  uint64_t *rng, uint64_t *next_gen)
{
	size_t i;

	for (i = 0; i < k; i++) {
		size_t j = i + rng_next(rng) % (n - i);
		size_t tmp = order[i];
		struct chunk *c;

		order[i] = order[j];
		order[j] = tmp;
		c = &chunks[order[i]];

		if (c->mem)
			munmap(c->mem, c->len);
		if (!chunk_alloc(c))
			return false;
		chunk_fill(c, next_gen);
	}
	return true;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.mb = 64,
		.chunk_kb = 2048,
		.seconds = 10,
		.churn_pct = 25,
		.interval_ms = 200,
		.seed = 1,
	};
	struct stats st = { .first_bad = PATTERN_NO_BAD_OFF };
	size_t total, chunk_bytes, nchunks, nchurn, i;
	uint64_t rng, next_gen = 0, deadline;
	struct chunk *chunks;
	bool alloc_err = false, stop = false;
	size_t *order;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret >= 0)
		return ret;

	total = (size_t)o.mb << 20;
	chunk_bytes = (size_t)o.chunk_kb << 10;
	nchunks = total / chunk_bytes + !!(total % chunk_bytes);
	nchurn = (nchunks * o.churn_pct + 50) / 100;
	if (o.churn_pct && !nchurn)
		nchurn = 1;
	rng = o.seed ^ 0x5851f42d4c957f2dULL;

	chunks = calloc(nchunks, sizeof(*chunks));
	order = calloc(nchunks, sizeof(*order));
	if (!chunks || !order) {
		fprintf(stderr, "integrity: out of memory for %zu chunks\n",
			nchunks);
		return EXIT_ERROR;
	}

	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &stop_sigs, NULL);

	for (i = 0; i < nchunks; i++) {
		struct chunk *c = &chunks[i];

		order[i] = i;
		c->len = i < nchunks - 1 ? chunk_bytes :
			 total - (nchunks - 1) * chunk_bytes;
		c->seed = chunk_seed(o.seed, i);
		if (!chunk_alloc(c))
			return EXIT_ERROR;
		chunk_fill(c, &next_gen);
	}

	if (o.inject) {
		size_t ci = rng_next(&rng) % nchunks;
		size_t off = rng_next(&rng) % chunks[ci].len;

		chunks[ci].mem[off] ^= 0xff;
		fprintf(stderr, "integrity: injected corruption at offset %zu\n",
			ci * chunk_bytes + off);
	}

	deadline = now_ns() + o.seconds * NSEC_PER_SEC;
	for (;;) {
		unsigned long long before = st.corrupt_bytes;
		uint64_t now;

		verify_all(chunks, nchunks, chunk_bytes, &next_gen, &st);
		st.rounds++;
		if (o.verbose) {
			printf("integrity-round: round=%llu verified_mb=%llu corrupt_bytes=%llu\n",
			       st.rounds, st.verified_bytes >> 20,
			       st.corrupt_bytes - before);
			fflush(stdout);
		}

		/* Zero wait: just collect a signal that came in meanwhile. */
		if (!stop)
			stop = wait_stop(0);
		now = now_ns();
		if (stop || !o.seconds || now >= deadline)
			break;
		if (!churn(chunks, order, nchunks, nchurn, &rng, &next_gen)) {
			alloc_err = true;
			break;
		}

		/* Don't overshoot --seconds by a whole interval. */
		now = now_ns();
		if (now < deadline) {
			uint64_t ns = o.interval_ms * NSEC_PER_MSEC;

			stop = wait_stop(ns < deadline - now ? ns : deadline - now);
		}
	}

	printf("integrity: rounds=%llu verified_mb=%llu corrupt_bytes=%llu first_bad_offset=",
	       st.rounds, st.verified_bytes >> 20, st.corrupt_bytes);
	if (st.first_bad == PATTERN_NO_BAD_OFF)
		printf("-1");
	else
		printf("%zu", st.first_bad);
	printf(" status=%s\n", st.corrupt_bytes ? "CORRUPT" : "ok");
	fflush(stdout);

	for (i = 0; i < nchunks; i++)
		if (chunks[i].mem)
			munmap(chunks[i].mem, chunks[i].len);
	free(order);
	free(chunks);

	/* Corruption is the more important finding, so it wins. */
	if (st.corrupt_bytes)
		return EXIT_CORRUPT;
	return alloc_err ? EXIT_ERROR : 0;
}
