// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The block device's page cache and iomap direct writes (issue 9 item
 * 10, doc/protocol.md section 6.3).  A server reads the device through
 * its page cache (libext2fs does, for metadata and classic reads); the
 * kernel's direct writes through iomap bypass that cache.  Here the test
 * plays the server's reads: buffered reads of the raw device at the
 * address where hostile_server maps "good".  (A server read racing with
 * the write can still leave a stale page: the documented limit of
 * section 6.3, which no assertion here claims away.)  Runs inside the
 * UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hsguest.h"

#define BLK	4096

static const char *device(void)
{
	return getenv("KT_DEVICE") ? getenv("KT_DEVICE") : "/dev/ubdb";
}

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
	self->dev = open(device(), O_RDONLY);
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

TEST_HARNESS_MAIN
