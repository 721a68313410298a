// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The mapping validity cookie (issue 10 item 4, doc/protocol.md section
 * 10.4).  A page cache write holds a mapping from BEGIN while it fills
 * folio after folio; the kernel checks it again with each folio locked
 * (iomap's iomap_valid hook) and asks again when the server changed the
 * block map meanwhile (a higher cookie in a later BEGIN reply) or the
 * kernel itself invalidated mappings.  hostile_server's "moving" moves
 * its blocks while a buffered write waits between its BEGIN and its
 * folio (the source buffer's page fault, hostile.h); "cookie_back" sends
 * a cookie that goes backwards.  Runs inside the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "hsguest.h"

#define BLK	4096
#define MOVE_SIZE	(1 << 20)
#define OLD_BYTE	0x4f	/* what "moving" holds before the move */
#define NEW_BYTE	0x57	/* what the test writes */

/* Fill or check len bytes of the device at off, bypassing its cache. */
static int dev_io(off_t off, size_t len, char *buf, bool write)
{
	int fd = open(kt_device(), (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	if (write && n == (ssize_t)len && fsync(fd))
		n = -1;
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* The first offset in [from, to) of buf that is not byte, or -1. */
static long first_not(const char *buf, long from, long to, int byte)
{
	long i;

	for (i = from; i < to; i++)
		if ((unsigned char)buf[i] != byte)
			return i;
	return -1;
}

FIXTURE(cookie) {
	struct hsg hs;
	char *buf;
};

FIXTURE_SETUP(cookie)
{
	self->buf = kt_alloc(MOVE_SIZE);
	ASSERT_NE(NULL, self->buf);
	/* "moving" before the move: OLD_BYTE everywhere */
	memset(self->buf, OLD_BYTE, MOVE_SIZE);
	ASSERT_EQ(0, dev_io(HOSTILE_MOVE_FROM, MOVE_SIZE, self->buf, true));
	memset(self->buf, 0, MOVE_SIZE);
	ASSERT_EQ(0, dev_io(HOSTILE_MOVE_TO, MOVE_SIZE, self->buf, true));
	ASSERT_EQ(0, hsg_start(&self->hs));
}

FIXTURE_TEARDOWN(cookie)
{
	hsg_stop(&self->hs);
	free(self->buf);
}

/*
 * A buffered write of one block and 100 bytes at 0: the second block is
 * partial, so the kernel reads the rest of it from the mapping.  The
 * last 100 bytes of the source buffer are a page of "moving_src" not yet
 * read, so the write faults between its BEGIN (the old place) and its
 * folio, and the server moves the file meanwhile.  The rest of the block
 * must come from the new place, and the write land there.
 */
TEST_F(cookie, write_after_a_move_uses_the_new_blocks)
{
	char *src, *dev = self->buf;
	int fd, sfd;
	long bad;

	fd = open(hsg_file(&self->hs, HOSTILE_MOVING), O_RDWR);
	ASSERT_LE(0, fd);
	sfd = open(hsg_file(&self->hs, HOSTILE_MOVING_SRC), O_RDONLY);
	ASSERT_LE(0, sfd);
	src = mmap(NULL, 2 * BLK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, src);
	memset(src, NEW_BYTE, BLK);
	ASSERT_NE(MAP_FAILED, mmap(src + BLK, BLK, PROT_READ,
				   MAP_SHARED | MAP_FIXED, sfd, 0));

	EXPECT_EQ(BLK + 100, pwrite(fd, src, BLK + 100, 0));
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(1, hsg_count(&self->hs, HOSTILE_MOVING, "announced"));
	/* The write asked again after the move */
	EXPECT_LE(2, hsg_count(&self->hs, HOSTILE_MOVING, "BEGIN opflags=0x1"));
	munmap(src, 2 * BLK);
	close(sfd);
	close(fd);

	ASSERT_EQ(0, dev_io(HOSTILE_MOVE_TO, 2 * BLK, dev, false));
	bad = first_not(dev, 0, BLK, NEW_BYTE);
	EXPECT_EQ(-1, bad) TH_LOG("new place, byte %ld: 0x%02x", bad,
				  (unsigned char)dev[bad]);
	bad = first_not(dev, BLK, BLK + 100, HOSTILE_CLASSIC_BYTE);
	EXPECT_EQ(-1, bad) TH_LOG("new place, byte %ld: 0x%02x", bad,
				  (unsigned char)dev[bad]);
	/* The rest of the partial block was read from the new place */
	bad = first_not(dev, BLK + 100, 2 * BLK, OLD_BYTE);
	EXPECT_EQ(-1, bad) TH_LOG("new place, byte %ld: 0x%02x", bad,
				  (unsigned char)dev[bad]);
	/* Nothing was written to the old place after the move */
	ASSERT_EQ(0, dev_io(HOSTILE_MOVE_FROM, 2 * BLK, dev, false));
	bad = first_not(dev, 0, 2 * BLK, HOSTILE_MOVED_BYTE);
	EXPECT_EQ(-1, bad) TH_LOG("old place, byte %ld: 0x%02x", bad,
				  (unsigned char)dev[bad]);
}

/*
 * A cookie that goes backwards makes every later mapping stale before
 * use: buffered writes fail with EIO after a bounded number of BEGINs
 * (the kernel's limit is 256 in a row), and keep failing, without
 * hanging or warning.  Reads do not check mappings and still work.
 */
TEST_F(cookie, cookie_going_backwards_fails_writes_boundedly)
{
	char *buf = self->buf;
	int fd, begins;

	fd = open(hsg_file(&self->hs, HOSTILE_COOKIE_BACK), O_RDWR);
	ASSERT_LE(0, fd);
	/* The first BEGIN: cookie 1000 */
	ASSERT_EQ(BLK, pread(fd, buf, BLK, 0));
	memset(buf, NEW_BYTE, 100);
	errno = 0;
	EXPECT_EQ(-1, pwrite(fd, buf, 100, 8 * BLK));
	EXPECT_EQ(EIO, errno);
	begins = hsg_count(&self->hs, HOSTILE_COOKIE_BACK, "BEGIN");
	EXPECT_LE(3, begins);
	EXPECT_GE(264, begins);
	errno = 0;
	EXPECT_EQ(-1, pwrite(fd, buf, 100, 9 * BLK));
	EXPECT_EQ(EIO, errno);
	EXPECT_GE(528, hsg_count(&self->hs, HOSTILE_COOKIE_BACK, "BEGIN"));
	/* A read of a block not cached yet still works */
	EXPECT_EQ(BLK, pread(fd, buf, BLK, 64 * BLK));
	close(fd);
}

TEST_HARNESS_MAIN
