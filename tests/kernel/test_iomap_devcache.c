// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The block device's page cache and iomap direct writes (issue 9 item
 * 10, doc/protocol.md section 6.3).  A server reads the device through
 * its page cache (libext2fs does, for metadata and classic reads); the
 * kernel's direct writes through iomap bypass that cache.  Here the test
 * plays the server's reads: buffered reads of the raw device at the
 * address where hostile_server maps "good", and after every write
 * through iomap (direct or writeback) completed the cache holds no page
 * of the old contents, also when the read raced with the write.  Runs
 * inside the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "hsguest.h"

#define BLK	4096

FIXTURE(devcache) {
	struct hsg hs;
	char *buf;
	int file;	/* "good", O_DIRECT */
	int dev;	/* the device, buffered: the server's view */
};

FIXTURE_SETUP(devcache)
{
	self->file = self->dev = -1;
	self->buf = kt_alloc(BLK);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, hsg_start(&self->hs));
	self->file = open(hsg_file(&self->hs, HOSTILE_GOOD),
			  O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->file);
	self->dev = open(kt_device(), O_RDONLY);
	ASSERT_LE(0, self->dev);
}

FIXTURE_TEARDOWN(devcache)
{
	if (self->dev >= 0)
		close(self->dev);
	if (self->file >= 0)
		close(self->file);
	hsg_stop(&self->hs);
	free(self->buf);
}

/* The first word of block blk of the device as its page cache has it. */
static uint32_t cached_word(int dev, unsigned int blk)
{
	uint32_t w = 0;

	if (pread(dev, &w, sizeof(w), HOSTILE_DEV_OFF + (off_t)blk * BLK) !=
	    sizeof(w))
		return 0xffffffff;
	return w;
}

static void fill_word(char *buf, uint32_t w)
{
	unsigned int i;

	for (i = 0; i < BLK / sizeof(w); i++)
		memcpy(buf + i * sizeof(w), &w, sizeof(w));
}

/*
 * Pages of the device cached before a direct write do not survive it:
 * the server's next read sees the new data.
 */
TEST_F(devcache, cached_pages_dropped_before_write)
{
	unsigned int blk;

	for (blk = 0; blk < 8; blk++) {
		fill_word(self->buf, 0x1000 + blk);
		ASSERT_EQ(BLK, pwrite(self->file, self->buf, BLK,
				      (off_t)blk * BLK));
		/* now cached */
		ASSERT_EQ(0x1000 + blk, cached_word(self->dev, blk));
		fill_word(self->buf, 0x2000 + blk);
		ASSERT_EQ(BLK, pwrite(self->file, self->buf, BLK,
				      (off_t)blk * BLK));
		EXPECT_EQ(0x2000 + blk, cached_word(self->dev, blk));
	}
}

/*
 * The race of doc/protocol.md section 6.3, made certain: the server
 * reads the block into the device's cache after the kernel dropped it
 * before the write and before the write reaches the device.  The direct
 * write's source is a page of "devcache_src" not yet read, so building
 * the bio faults and sends FUSE_READ, which hostile_server answers only
 * after it read the device where "good" starts.  The stale page must
 * not survive the write's completion.
 */
TEST_F(devcache, read_racing_a_direct_write_leaves_no_stale_page)
{
	char *src;
	int sfd;

	fill_word(self->buf, 0x3000);
	ASSERT_EQ(BLK, pwrite(self->file, self->buf, BLK, 0));
	sfd = open(hsg_file(&self->hs, HOSTILE_DEVCACHE_SRC), O_RDONLY);
	ASSERT_LE(0, sfd);
	src = mmap(NULL, BLK, PROT_READ, MAP_SHARED, sfd, 0);
	ASSERT_NE(MAP_FAILED, src);
	EXPECT_EQ(BLK, pwrite(self->file, src, BLK, 0));
	/* The server did read the device in the window */
	EXPECT_EQ(1, hsg_count(&self->hs, HOSTILE_DEVCACHE_SRC, "READ"));
	EXPECT_EQ(0, hsg_count(&self->hs, HOSTILE_DEVCACHE_SRC,
			       "device read failed"));
	munmap(src, BLK);
	close(sfd);
	EXPECT_EQ(HOSTILE_CLASSIC_BYTE * 0x01010101u,
		  cached_word(self->dev, 0));
}

/*
 * Writeback asks for a mapping at its first folio and reuses it for the
 * next ones; the server's cached pages of the blocks written later must
 * not survive either.  Two folios written one by one, the second
 * block's device page cached in between.
 */
TEST_F(devcache, writeback_leaves_no_stale_page)
{
	int fd = open(hsg_file(&self->hs, HOSTILE_GOOD), O_RDWR);
	unsigned int blk;

	ASSERT_LE(0, fd);
	for (blk = 0; blk < 2; blk++) {
		fill_word(self->buf, 0x4000 + blk);
		ASSERT_EQ(BLK, pwrite(fd, self->buf, BLK, (off_t)blk * BLK));
	}
	ASSERT_EQ(0, fsync(fd));
	for (blk = 0; blk < 2; blk++)
		ASSERT_EQ(0x4000 + blk, cached_word(self->dev, blk));
	for (blk = 0; blk < 2; blk++) {
		fill_word(self->buf, 0x5000 + blk);
		ASSERT_EQ(BLK, pwrite(fd, self->buf, BLK, (off_t)blk * BLK));
	}
	ASSERT_EQ(0, fsync(fd));
	EXPECT_EQ(0x5000, cached_word(self->dev, 0));
	/* The block written with the first folio's mapping */
	EXPECT_EQ(0x5001, cached_word(self->dev, 1));
	close(fd);
}

/*
 * The racing reader of section 6.3 as it happens by itself: a thread
 * reads the block through the device's cache in a loop while direct
 * writes change it; after each write the cache holds what was written.
 */
struct racer {
	int dev;
	atomic_bool stop;
};

static void *race_reads(void *arg)
{
	struct racer *r = arg;

	while (!atomic_load(&r->stop))
		cached_word(r->dev, 0);
	return NULL;
}

TEST_F(devcache, racing_reader_sees_every_write)
{
	struct racer r = { .dev = self->dev };
	unsigned int i, stale = 0;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, race_reads, &r));
	for (i = 0; i < 400; i++) {
		fill_word(self->buf, 0x6000 + i);
		if (pwrite(self->file, self->buf, BLK, 0) != BLK)
			break;
		if (cached_word(self->dev, 0) != 0x6000 + i)
			stale++;
	}
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	EXPECT_EQ(400, i);
	EXPECT_EQ(0, stale);
}

TEST_HARNESS_MAIN
