// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Issue 13's "wrong data" recipes on fuse2fs -o iomap=auto in the patched
 * kernel, where extent files are read and written by the kernel through
 * iomap (tests/fs runs them on the host, in classic mode):
 *
 * - O_TRUNC rewrites at growing sizes, each followed by an overwrite of
 *   part of the first blocks (unaligned buffered, aligned direct);
 * - consecutive 64 KiB writes into a truncated file that held data
 *   (unaligned buffered, aligned direct);
 * - copy_file_range() between unaligned offsets;
 * - fallocate(KEEP_SIZE) and ZERO_RANGE over unwritten blocks of a file
 *   whose extents no longer fit in the inode, then direct writes there;
 * - a direct write splitting an unwritten extent after the disk was
 *   filled: its IOEND must not fail for lack of space.
 *
 * Every file is compared whole with what was written, through the mount
 * with O_DIRECT and, after unmount, through kernel ext4 on the same
 * device.  Each test starts from a fresh mke2fs and ends with a clean
 * `e2fsck -fn`.  Runs inside the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <sys/statvfs.h>

#include "kselftest_harness.h"
#include "f2guest.h"

#define BS	4096L
#define KIB	1024L

FIXTURE(rc) {
	struct kt_server srv;
};

FIXTURE_SETUP(rc)
{
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(rc)
{
	/* A second stop is a no-op when the test unmounted already. */
	kt_server_stop(&self->srv);
}

/* pwrite() all of buf through a new descriptor opened with flags. */
static int write_at(const char *path, int flags, const void *buf,
		    size_t len, off_t off)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pwrite(fd, buf, len, off);
	if (close(fd) || n != (ssize_t)len) {
		fprintf(stderr, "# write of %zu at %lld: %zd (%s)\n", len,
			(long long)off, n, strerror(errno));
		return -1;
	}
	return 0;
}

/* Does the file hold exactly want[0, size), read with O_DIRECT? */
static int same_direct(const char *path, const char *want, size_t size)
{
	size_t alloc = (size + BS) / BS * BS;
	char *got = kt_alloc(alloc);
	int fd = open(path, O_RDONLY | O_DIRECT);
	ssize_t n = -1;
	size_t i;

	if (fd >= 0 && got)
		n = pread(fd, got, alloc, 0);
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)size) {
		fprintf(stderr, "# %s: read %zd, want %zu\n", path, n, size);
		free(got);
		return -1;
	}
	for (i = 0; i < size && got[i] == want[i]; i++)
		;
	if (i < size)
		fprintf(stderr, "# %s: first difference at byte %zu\n", path,
			i);
	free(got);
	return i < size ? -1 : 0;
}

/*
 * The checks every recipe ends with: the file is an iomap file, its
 * bytes read with O_DIRECT now and by kernel ext4 after unmount.
 */
#define CHECK_FILE_AND_UNMOUNT(name, want, size) do {			\
		EXPECT_EQ(1, f2g_path_iomap(kt_path(&self->srv, name)));	\
		EXPECT_EQ(0, same_direct(kt_path(&self->srv, name),	\
					 want, size));			\
		ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));		\
		EXPECT_EQ(0, f2g_compare_with_ext4(name, want, size));	\
	} while (0)

/* A: 8 KiB, 64 KiB, 4 MiB rounds, each plus 5000 bytes at 1234. */
TEST_F(rc, rewrite_then_unaligned_overwrite)
{
	static const size_t sizes[] = { 8 * KIB, 64 * KIB, 4 * MIB };
	const char *f = kt_path(&self->srv, "a");
	char *want = kt_alloc(4 * MIB), patch[5000];
	size_t i;

	ASSERT_NE(NULL, want);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		kt_fill(want, sizes[i], 0, 2 * i + 1);
		ASSERT_EQ(0, write_at(f, O_TRUNC, want, sizes[i], 0));
		kt_fill(patch, sizeof(patch), 0, 2 * i + 2);
		ASSERT_EQ(0, write_at(f, 0, patch, sizeof(patch), 1234));
		memcpy(want + 1234, patch, sizeof(patch));
		EXPECT_EQ(0, same_direct(f, want, sizes[i]))
			TH_LOG("round %zu", i);
	}
	CHECK_FILE_AND_UNMOUNT("a", want, 4 * MIB);
	free(want);
}

/* A, direct: the same rounds with block-aligned writes. */
TEST_F(rc, rewrite_then_direct_overwrite)
{
	static const size_t sizes[] = { 8 * KIB, 64 * KIB, 4 * MIB };
	const char *f = kt_path(&self->srv, "ad");
	char *want = kt_alloc(4 * MIB), *patch = kt_alloc(2 * BS);
	size_t i;

	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, patch);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		/* The overwrite ends past the first round's 8 KiB. */
		size_t size = sizes[i] > 3 * BS ? sizes[i] : 3 * BS;

		kt_fill(want, sizes[i], 0, 2 * i + 11);
		ASSERT_EQ(0, write_at(f, O_TRUNC | O_DIRECT, want, sizes[i],
				      0));
		kt_fill(patch, 2 * BS, 0, 2 * i + 12);
		ASSERT_EQ(0, write_at(f, O_DIRECT, patch, 2 * BS, BS));
		memcpy(want + BS, patch, 2 * BS);
		EXPECT_EQ(0, same_direct(f, want, size))
			TH_LOG("round %zu", i);
	}
	CHECK_FILE_AND_UNMOUNT("ad", want, 4 * MIB);
	free(patch);
	free(want);
}

/*
 * B: a file with data, truncated, then 1 MiB in 64 KiB writes from
 * start; flags O_DIRECT or 0.
 */
static int consecutive(const char *f, off_t start, int flags, char *want,
		       size_t *size)
{
	size_t chunk = 64 * KIB, k;
	char *buf = kt_alloc(chunk);
	off_t off = start;

	if (!buf)
		return -1;
	kt_fill(want, 2 * MIB, 0, 21);
	if (write_at(f, O_TRUNC, want, 2 * MIB, 0) ||
	    same_direct(f, want, 2 * MIB) || truncate(f, 0))
		goto fail;
	memset(want, 0, 2 * MIB);
	for (k = 0; k < MIB / chunk; k++) {
		kt_fill(buf, chunk, off, 22 + k);
		if (write_at(f, flags, buf, chunk, off))
			goto fail;
		memcpy(want + off, buf, chunk);
		off += chunk;
	}
	*size = off;
	free(buf);
	return 0;
fail:
	free(buf);
	return -1;
}

TEST_F(rc, consecutive_unaligned_writes)
{
	char *want = kt_alloc(2 * MIB);
	size_t size;

	ASSERT_NE(NULL, want);
	ASSERT_EQ(0, consecutive(kt_path(&self->srv, "b"), 0x1234, 0, want,
				 &size));
	CHECK_FILE_AND_UNMOUNT("b", want, size);
	free(want);
}

TEST_F(rc, consecutive_direct_writes)
{
	char *want = kt_alloc(2 * MIB);
	size_t size;

	ASSERT_NE(NULL, want);
	ASSERT_EQ(0, consecutive(kt_path(&self->srv, "bd"), 0x1000, O_DIRECT,
				 want, &size));
	CHECK_FILE_AND_UNMOUNT("bd", want, size);
	free(want);
}

/* C: copy_file_range() from 0x9222f, 0x422b0 bytes, to 0x28290a. */
TEST_F(rc, copy_file_range_unaligned)
{
	const char *src = kt_path(&self->srv, "src");
	const char *dst = kt_path(&self->srv, "c");
	loff_t so = 0x9222f, dof = 0x28290a, len = 0x422b0, done = 0;
	char *s = kt_alloc(4 * MIB), *d = kt_alloc(4 * MIB);
	int in, out;

	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, d);
	kt_fill(s, 4 * MIB, 0, 31);
	kt_fill(d, 4 * MIB, 0, 32);
	ASSERT_EQ(0, write_at(src, O_TRUNC, s, 4 * MIB, 0));
	ASSERT_EQ(0, write_at(dst, O_TRUNC, d, 4 * MIB, 0));
	in = open(src, O_RDONLY);
	out = open(dst, O_WRONLY);
	ASSERT_LE(0, in);
	ASSERT_LE(0, out);
	while (done < len) {
		loff_t a = so + done, b = dof + done;
		ssize_t n = copy_file_range(in, &a, out, &b, len - done, 0);

		ASSERT_LT(0, n) TH_LOG("copy_file_range: %s", strerror(errno));
		done += n;
	}
	close(in);
	ASSERT_EQ(0, close(out));
	memcpy(d + dof, s + so, len);
	CHECK_FILE_AND_UNMOUNT("c", d, 4 * MIB);
	free(s);
	free(d);
}

/*
 * D: one-block direct writes at blocks 0, 2, ..., 12 (a one-leaf tree),
 * KEEP_SIZE preallocation of 56-63 and again of 59-63, ZERO_RANGE over
 * them; then direct writes into those unwritten blocks.
 */
TEST_F(rc, fallocate_over_unwritten_then_direct_writes)
{
	const char *f = kt_path(&self->srv, "d");
	char *want = kt_alloc(64 * BS);
	int fd, i;

	ASSERT_NE(NULL, want);
	memset(want, 0, 64 * BS);
	fd = open(f, O_RDWR | O_CREAT | O_DIRECT, 0644);
	ASSERT_LE(0, fd);
	for (i = 0; i <= 12; i += 2) {
		kt_fill(want + i * BS, BS, i * BS, 41);
		ASSERT_EQ(BS, pwrite(fd, want + i * BS, BS, i * BS));
	}
	/* EXPECT, not ASSERT: the descriptor must be closed to unmount. */
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 56 * BS, 8 * BS));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 59 * BS, 5 * BS))
		TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			       58 * BS, 6 * BS)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_ZERO_RANGE, 57 * BS, 7 * BS))
		TH_LOG("%s", strerror(errno));
	for (i = 57; i < 64; i += 3) {
		kt_fill(want + i * BS, BS, i * BS, 42);
		EXPECT_EQ(BS, pwrite(fd, want + i * BS, BS, i * BS));
	}
	ASSERT_EQ(0, close(fd));
	CHECK_FILE_AND_UNMOUNT("d", want, 64 * BS);
	free(want);
}

/* Take every block fallocate still gets, in a file of its own. */
static int fill_disk(const char *path)
{
	struct statvfs sv;
	off_t off = 0, len;
	int fd = open(path, O_RDWR | O_CREAT, 0644);

	if (fd < 0 || fstatvfs(fd, &sv))
		return -1;
	len = (off_t)sv.f_bfree * sv.f_frsize;
	while (len >= BS) {
		if (fallocate(fd, 0, off, len) == 0)
			off += len;
		else if (errno == ENOSPC)
			len = len / 2 / BS * BS;
		else
			break;
	}
	close(fd);
	return len < BS ? 0 : -1;
}

/*
 * E: four extents fill the inode's slots, the fourth unwritten; the
 * kernel maps it (a direct read), the disk is filled, then a direct
 * write lands in the middle of the unwritten extent.  Its IOEND splits
 * the extent and needs a tree block: the write succeeds and the kernel
 * logs no failed IOEND.
 */
TEST_F(rc, direct_write_after_disk_filled)
{
	const char *f = kt_path(&self->srv, "e");
	char *want = kt_alloc(18 * BS), *buf = kt_alloc(BS);
	int fd, i, before;

	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, buf);
	memset(want, 0, 18 * BS);
	fd = open(f, O_RDWR | O_CREAT | O_DIRECT, 0644);
	ASSERT_LE(0, fd);
	for (i = 0; i < 6; i += 2) {
		kt_fill(want + i * BS, BS, i * BS, 51);
		ASSERT_EQ(BS, pwrite(fd, want + i * BS, BS, i * BS));
	}
	EXPECT_EQ(0, fallocate(fd, 0, 10 * BS, 8 * BS));
	EXPECT_EQ(BS, pread(fd, buf, BS, 12 * BS));
	EXPECT_TRUE(kt_is_zero(buf, BS));

	EXPECT_EQ(0, fill_disk(kt_path(&self->srv, "fill")));
	before = kt_klog_count("FUSE_IOMAP_IOEND");
	kt_fill(want + 12 * BS, BS, 12 * BS, 52);
	EXPECT_EQ(BS, pwrite(fd, want + 12 * BS, BS, 12 * BS))
		TH_LOG("direct write on the full disk: %s", strerror(errno));
	EXPECT_EQ(0, fsync(fd));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(before, kt_klog_count("FUSE_IOMAP_IOEND"));
	CHECK_FILE_AND_UNMOUNT("e", want, 18 * BS);
	free(buf);
	free(want);
}

TEST_HARNESS_MAIN
