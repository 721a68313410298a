// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs's io_channel (fuse2fs/iochan.c, compiled in): libext2fs
 * 1.47.0's unix IO manager answers small reads from a cache that writes
 * going around it (more than four blocks, zeroout) leave stale.  (The
 * channel has no byte writes: libext2fs then writes the superblock
 * whole.)  Each test puts a block in the cache, overwrites it by such a
 * write, and reads it back as one block: through fuse2fs's channel the
 * read must return the new bytes.  The same sequence on a plain unix
 * channel is run first and its result logged, so the log shows whether
 * the installed libext2fs still has the bug the channel works around.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"
#include "../../fuse2fs/fuse2fs.h"

#define BS	4096
#define NBLK	64

FIXTURE(ch) {
	char dir[256];
	char path[300];
};

FIXTURE_SETUP(ch)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(self->dir, sizeof(self->dir), "%s/f2iochan.XXXXXX",
		 tmp ? tmp : "/var/tmp");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/dev", self->dir);
	fd = open(self->path, O_CREAT | O_RDWR, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, NBLK * BS));
	close(fd);
}

FIXTURE_TEARDOWN(ch)
{
	unlink(self->path);
	rmdir(self->dir);
}

enum around { BIG_WRITE, ZEROOUT };

/*
 * Cache block 8 (read it, or write it when dirty), overwrite blocks
 * 8..15 with pattern 2 (zeroes for ZEROOUT) around the cache, read
 * block 8 alone.  1 when that read returned the new bytes, 0 when it
 * returned the old ones, -1 on an error.
 */
static int sequence(const char *path, bool fixed, enum around how,
		    bool dirty)
{
	char *old = malloc(BS), *new = malloc(8 * BS), *got = malloc(BS);
	io_channel ch = NULL;
	int ret = -1;

	if (!old || !new || !got)
		goto out;
	tfs_pattern(old, BS, 0, 1);
	if (how == ZEROOUT)
		memset(new, 0, 8 * BS);
	else
		tfs_pattern(new, 8 * BS, 0, 2);
	if (unix_io_manager->open(path, IO_FLAG_RW, &ch))
		goto out;
	if (io_channel_set_blksize(ch, BS))
		goto out;
	if (fixed)
		f2_io_install(ch);
	/* The old contents, on the device, then in the cache. */
	if (io_channel_write_blk64(ch, 8, 8, new) ||
	    io_channel_write_blk64(ch, 8, 1, old) || io_channel_flush(ch))
		goto out;
	if (dirty ? io_channel_write_blk64(ch, 8, 1, old) :
		    io_channel_read_blk64(ch, 8, 1, got))
		goto out;
	switch (how) {
	case BIG_WRITE:
		if (io_channel_write_blk64(ch, 8, 8, new))
			goto out;
		break;
	case ZEROOUT:
		if (io_channel_zeroout(ch, 8, 8))
			goto out;
		break;
	}
	if (io_channel_read_blk64(ch, 8, 1, got))
		goto out;
	ret = !memcmp(got, new, BS);
out:
	if (ch)
		io_channel_close(ch);
	free(old);
	free(new);
	free(got);
	return ret;
}

/*
 * Does the device hold the new block 8 once the channel is closed (no
 * stale dirty entry written back over it)?
 */
static int device_has_new(const char *path, enum around how)
{
	char want[BS], got[BS];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, got, BS, 8 * BS);
	close(fd);
	if (n != BS)
		return -1;
	if (how == ZEROOUT)
		memset(want, 0, BS);
	else
		tfs_pattern(want, BS, 0, 2);
	return !memcmp(got, want, BS);
}

static void check(struct __test_metadata *_metadata, const char *path,
		  enum around how, bool dirty)
{
	int plain = sequence(path, false, how, dirty);

	TH_LOG("plain unix_io returns the %s block",
	       plain == 1 ? "new" : plain == 0 ? "stale" : "(error)");
	EXPECT_EQ(1, sequence(path, true, how, dirty));
	EXPECT_EQ(1, device_has_new(path, how));
}

TEST_F(ch, clean_block_then_large_write)
{
	check(_metadata, self->path, BIG_WRITE, false);
}

TEST_F(ch, clean_block_then_zeroout)
{
	check(_metadata, self->path, ZEROOUT, false);
}

TEST_F(ch, dirty_block_then_zeroout)
{
	check(_metadata, self->path, ZEROOUT, true);
}

/* Block blk of the device file, compared with pattern seed (0: zeroes). */
static int device_block_is(const char *path, int blk, int seed)
{
	char want[BS], got[BS];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, got, BS, (off_t)blk * BS);
	close(fd);
	if (n != BS)
		return -1;
	if (seed)
		tfs_pattern(want, BS, (off_t)blk * BS, seed);
	else
		memset(want, 0, BS);
	return !memcmp(got, want, BS);
}

static bool is_pattern(const char *buf, int blk, int seed)
{
	char want[BS];

	tfs_pattern(want, BS, (off_t)blk * BS, seed);
	return !memcmp(buf, want, BS);
}

/*
 * A batch (f2_io_batch_begin(), used for one IOEND) holds single-block
 * writes: the device keeps the old bytes until the batch ends, reads of
 * the channel see the last bytes written, and the end writes them.  A
 * read of more than one block first writes out what the batch holds.
 */
TEST_F(ch, batch_holds_single_block_writes_until_it_ends)
{
	char *buf = malloc(2 * BS);
	io_channel ch = NULL;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, unix_io_manager->open(self->path, IO_FLAG_RW, &ch));
	ASSERT_EQ(0, io_channel_set_blksize(ch, BS));
	f2_io_install(ch);
	/* As on fuse2fs's read-write mounts: no unix_io cache in between. */
	ASSERT_EQ(0, io_channel_set_options(ch, "cache=off"));
	tfs_pattern(buf, BS, 3 * BS, 1);
	ASSERT_EQ(0, io_channel_write_blk64(ch, 3, 1, buf));
	ASSERT_EQ(0, io_channel_flush(ch));

	f2_io_batch_begin();
	tfs_pattern(buf, BS, 3 * BS, 2);
	ASSERT_EQ(0, io_channel_write_blk64(ch, 3, 1, buf));
	tfs_pattern(buf, BS, 5 * BS, 3);
	ASSERT_EQ(0, io_channel_write_blk64(ch, 5, 1, buf));
	tfs_pattern(buf, BS, 3 * BS, 4);
	ASSERT_EQ(0, io_channel_write_blk64(ch, 3, 1, buf));
	EXPECT_EQ(1, device_block_is(self->path, 3, 1));
	EXPECT_EQ(1, device_block_is(self->path, 5, 0));
	memset(buf, 0, BS);
	ASSERT_EQ(0, io_channel_read_blk64(ch, 3, 1, buf));
	EXPECT_TRUE(is_pattern(buf, 3, 4));
	ASSERT_EQ(0, f2_io_batch_end(ch));
	EXPECT_EQ(1, device_block_is(self->path, 3, 4));
	EXPECT_EQ(1, device_block_is(self->path, 5, 3));

	f2_io_batch_begin();
	tfs_pattern(buf, BS, 7 * BS, 5);
	ASSERT_EQ(0, io_channel_write_blk64(ch, 7, 1, buf));
	EXPECT_EQ(1, device_block_is(self->path, 7, 0));
	ASSERT_EQ(0, io_channel_read_blk64(ch, 6, 2, buf));
	EXPECT_EQ(1, device_block_is(self->path, 7, 5));
	EXPECT_TRUE(is_pattern(buf + BS, 7, 5));
	ASSERT_EQ(0, f2_io_batch_end(ch));
	io_channel_close(ch);
	free(buf);
}

/* Write block blk of the device file behind the channel's back. */
static int device_write(const char *path, int blk, int seed)
{
	char buf[BS];
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	tfs_pattern(buf, BS, (off_t)blk * BS, seed);
	n = pwrite(fd, buf, BS, (off_t)blk * BS);
	close(fd);
	return n == BS ? 0 : -1;
}

/*
 * During a request, a single block is read from the device once: a
 * second read returns the copy kept, even when the device changed behind
 * the channel (the kernel's IO would); writes through the channel
 * replace or void it; the next request, f2_io_forget_blocks() and the
 * time outside requests read the device again.
 */
TEST_F(ch, blocks_kept_for_one_request_only)
{
	char *buf = malloc(BS), *zero = calloc(1, BS);
	io_channel ch = NULL;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, zero);
	ASSERT_EQ(0, unix_io_manager->open(self->path, IO_FLAG_RW, &ch));
	ASSERT_EQ(0, io_channel_set_blksize(ch, BS));
	f2_io_install(ch);
	/* as fuse2fs mounts read-write: unix_io keeps nothing itself */
	ASSERT_EQ(0, io_channel_set_options(ch, "cache=off"));
	ASSERT_EQ(0, device_write(self->path, 3, 1));

	f2_io_request_begin();
	ASSERT_EQ(0, io_channel_read_blk64(ch, 3, 1, buf));
	EXPECT_TRUE(is_pattern(buf, 3, 1));
	ASSERT_EQ(0, device_write(self->path, 3, 2));
	ASSERT_EQ(0, io_channel_read_blk64(ch, 3, 1, buf));
	EXPECT_TRUE(is_pattern(buf, 3, 1));	/* kept: read once */
	/* a write through the channel replaces the copy */
	tfs_pattern(buf, BS, 3 * BS, 3);
	ASSERT_EQ(0, io_channel_write_blk64(ch, 3, 1, buf));
	memset(buf, 0, BS);
	ASSERT_EQ(0, io_channel_read_blk64(ch, 3, 1, buf));
	EXPECT_TRUE(is_pattern(buf, 3, 3));
	EXPECT_EQ(1, device_block_is(self->path, 3, 3));
	/* a zeroout over it voids the copy */
	ASSERT_EQ(0, io_channel_zeroout(ch, 2, 4));
	ASSERT_EQ(0, io_channel_read_blk64(ch, 3, 1, buf));
	EXPECT_EQ(0, memcmp(buf, zero, BS));
	/* and so does a write of several blocks */
	ASSERT_EQ(0, device_write(self->path, 3, 4));
	ASSERT_EQ(0, io_channel_read_blk64(ch, 3, 1, buf));	/* zeroes */
	ASSERT_EQ(0, device_write(self->path, 4, 4));
	{
		char *two = malloc(2 * BS);

		ASSERT_NE(NULL, two);
		tfs_pattern(two, 2 * BS, 3 * BS, 5);
		ASSERT_EQ(0, io_channel_write_blk64(ch, 3, 2, two));
		free(two);
	}
	ASSERT_EQ(0, io_channel_read_blk64(ch, 3, 1, buf));
	EXPECT_TRUE(is_pattern(buf, 3, 5));

	/* the next request reads the device */
	ASSERT_EQ(0, device_write(self->path, 3, 6));
	f2_io_request_begin();
	ASSERT_EQ(0, io_channel_read_blk64(ch, 3, 1, buf));
	EXPECT_TRUE(is_pattern(buf, 3, 6));
	/* so does a read after the copies were forgotten */
	ASSERT_EQ(0, device_write(self->path, 3, 7));
	f2_io_forget_blocks();
	ASSERT_EQ(0, io_channel_read_blk64(ch, 3, 1, buf));
	EXPECT_TRUE(is_pattern(buf, 3, 7));
	/* and every read outside requests */
	f2_io_request_none();
	ASSERT_EQ(0, io_channel_read_blk64(ch, 3, 1, buf));
	ASSERT_EQ(0, device_write(self->path, 3, 8));
	ASSERT_EQ(0, io_channel_read_blk64(ch, 3, 1, buf));
	EXPECT_TRUE(is_pattern(buf, 3, 8));

	io_channel_close(ch);
	free(buf);
	free(zero);
}

TEST_HARNESS_MAIN
