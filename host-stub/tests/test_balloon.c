// SPDX-License-Identifier: GPL-2.0
/* virtio-balloon: inflate discards, reports discard, stats parse. */
#include <string.h>

#include "balloon.h"
#include "test.h"

#define MIB	(1ull << 20)

void test_balloon(void)
{
	static struct balloon b;
	struct guest_mem gm;
	uint32_t pfns[6];
	uint8_t stats[30];
	uint64_t before, val;
	uint16_t tag;
	uint8_t *ram;
	int fd;

	memset(&gm, 0, sizeof(gm));
	CHECK(gm_memfd("test-ram", 16 * MIB, 0, &fd, &ram) == 0);
	gm_add(&gm, 0, 16 * MIB, ram, fd, 0);
	balloon_init(&b, &gm);
	memset(ram, 1, 16 * MIB);
	before = gm_fd_allocated(fd);

	/* three contiguous pages, one apart, one outside RAM, one huge */
	pfns[0] = 100;
	pfns[1] = 101;
	pfns[2] = 102;
	pfns[3] = 200;
	pfns[4] = 16 * 256;
	pfns[5] = 0xffffffff;
	balloon_pfns(&b, true, pfns, sizeof(pfns));
	CHECK(b.st.inflated_pages == 4 && b.st.bad_pfns == 2);
	CHECK(gm_fd_allocated(fd) == before - 4 * 4096);
	CHECK(peek(fd, 100 * 4096) == 0 && peek(fd, 103 * 4096) == 1);
	/* a trailing partial entry is ignored */
	balloon_pfns(&b, false, pfns, 7);
	CHECK(b.st.deflated_pages == 1);

	balloon_report(&b, 4 * MIB, 2 * MIB);
	CHECK(b.st.reported_bytes == 2 * MIB);
	CHECK(gm_fd_allocated(fd) == before - 4 * 4096 - 2 * MIB);
	balloon_report(&b, 15 * MIB, 2 * MIB);		/* runs off RAM */
	balloon_report(&b, UINT64_MAX - 4095, 4096);	/* wraps */
	balloon_report(&b, 0, 0);
	CHECK(b.st.bad_buffers == 3 && b.st.reported_bytes == 2 * MIB);

	/* two entries and a torn third */
	tag = 4;
	val = 123456;
	memcpy(stats, &tag, 2);
	memcpy(stats + 2, &val, 8);
	tag = 40;	/* unknown tags are ignored */
	memcpy(stats + 10, &tag, 2);
	memcpy(stats + 12, &val, 8);
	balloon_parse_stats(&b, stats, 25);
	CHECK(b.guest_stats_valid[4] && b.guest_stats[4] == 123456);
	CHECK(b.st.stats_updates == 1);
}
