// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A filesystem returns what was written: small recipes, reduced from
 * random-operation runs, that once read back stale or wrong bytes or
 * failed with ENOSPC on a nearly empty filesystem:
 *
 * - a file rewritten with O_TRUNC at growing sizes, each round followed
 *   by an unaligned overwrite (the overwrite's partial blocks came from
 *   an older version of the file);
 * - consecutive 64 KiB pwrite()s at unaligned offsets into a truncated
 *   file that held data before;
 * - copy_file_range() between unaligned offsets;
 * - fallocate(KEEP_SIZE) and ZERO_RANGE over a range that is already
 *   unwritten, in a file whose extents no longer fit in the inode.
 *
 * Every recipe keeps a copy of what the file must hold and compares the
 * whole file after the kernel dropped its cached pages, so the bytes come
 * from the filesystem.  Runs on fuse2fs, on fuse2fs -o writeback_cache
 * and on kernel ext4 (the same expectations must hold there).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#define KIB 1024L
#define MIB (1024L * 1024)
#define BS 4096L

TFS_FIXTURE_ALL(rc, NULL);

/* Fill buf with bytes that differ for every (seed, offset). */
static void fill(char *buf, size_t len, unsigned int seed)
{
	tfs_pattern(buf, len, 0, seed);
}

static int pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
		off += n;
	}
	return 0;
}

/* pwrite() into a new descriptor of path, closed afterwards. */
static int write_at(const char *path, int flags, const char *buf,
		    size_t len, off_t off)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	int ret;

	if (fd < 0)
		return -1;
	ret = pwrite_all(fd, buf, len, off);
	if (close(fd))
		ret = -1;
	return ret;
}

/*
 * Does path hold exactly want[0, size)?  The file is synced and the
 * kernel's pages dropped first, so the bytes come from the filesystem
 * (the server, for fuse2fs), not from what the kernel kept of the writes.
 */
static int same_as(const char *path, const char *want, size_t size)
{
	char *got = malloc(size + 1);
	ssize_t n = -1;
	size_t i;
	int fd;

	fd = open(path, O_RDONLY);
	if (!got || fd < 0)
		goto out;
	if (fsync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		goto out;
	n = pread(fd, got, size + 1, 0);
	if (n != (ssize_t)size) {
		fprintf(stderr, "# %s: read %zd bytes, want %zu\n", path, n,
			size);
		n = -1;
		goto out;
	}
	for (i = 0; i < size && got[i] == want[i]; i++)
		;
	if (i < size) {
		size_t j = i;

		while (j < size && got[j] != want[j])
			j++;
		fprintf(stderr, "# %s: bytes from %zu (0x%zx) to %zu differ\n",
			path, i, i, j - 1);
		n = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	free(got);
	return n < 0 ? -1 : 0;
}

/*
 * O_TRUNC and one pwrite() of fresh data at 8 KiB, 64 KiB, then 4 MiB,
 * each round followed by 5000 bytes at offset 1234 through a new
 * descriptor and a check of the whole file.
 */
TEST_F(rc, rewrite_then_unaligned_overwrite)
{
	static const size_t sizes[] = { 8 * KIB, 64 * KIB, 4 * MIB };
	const char *f = tfs_p(self->m, "f");
	char *want = malloc(4 * MIB), patch[5000];
	unsigned int seed = 1;
	size_t i;

	ASSERT_NE(NULL, want);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		fill(want, sizes[i], seed++);
		ASSERT_EQ(0, write_at(f, O_TRUNC, want, sizes[i], 0));
		fill(patch, sizeof(patch), seed++);
		ASSERT_EQ(0, write_at(f, 0, patch, sizeof(patch), 1234));
		memcpy(want + 1234, patch, sizeof(patch));
		EXPECT_EQ(0, same_as(f, want, sizes[i]))
			TH_LOG("round %zu (%zu bytes)", i, sizes[i]);
	}
	free(want);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * A file with data, read back (partly in small pieces), then truncated
 * and rewritten by consecutive 64 KiB pwrite()s from an offset that is
 * not block-aligned, 1 MiB in all.
 */
TEST_F(rc, consecutive_unaligned_writes)
{
	static const off_t starts[] = { 0x1000, 0x1234, 0x3ffff };
	const char *f = tfs_p(self->m, "f");
	size_t size = 2 * MIB, chunk = 64 * KIB;
	char *want = calloc(1, size), *buf = malloc(chunk);
	unsigned int seed = 10;
	size_t i, k;

	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < ARRAY_SIZE(starts); i++) {
		off_t off = starts[i];

		/* Old contents, some of them read in one-block pieces. */
		fill(want, size, seed++);
		ASSERT_EQ(0, write_at(f, O_TRUNC, want, size, 0));
		ASSERT_EQ(0, same_as(f, want, size));
		for (k = 0; k < 8; k++) {
			char blk[BS];
			int fd = open(f, O_RDONLY);

			ASSERT_LE(0, fd);
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			EXPECT_EQ(BS, pread(fd, blk, BS, (off_t)k * 16 * BS));
			close(fd);
		}

		memset(want, 0, size);
		ASSERT_EQ(0, truncate(f, 0));
		for (k = 0; k < MIB / chunk; k++) {
			fill(buf, chunk, seed++);
			ASSERT_EQ(0, write_at(f, 0, buf, chunk, off));
			memcpy(want + off, buf, chunk);
			off += chunk;
		}
		EXPECT_EQ(0, same_as(f, want, off)) TH_LOG("start 0x%lx",
							   (long)starts[i]);
	}
	free(buf);
	free(want);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* copy_file_range() between unaligned offsets of two files with data. */
TEST_F(rc, copy_file_range_unaligned)
{
	const char *src = tfs_p(self->m, "src"), *dst = tfs_p(self->m, "dst");
	size_t size = 4 * MIB;
	char *s = malloc(size), *d = malloc(size);
	unsigned int trial;

	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, d);
	for (trial = 0; trial < 10; trial++) {
		loff_t so, dof, len, done = 0;
		int in, out;

		if (trial == 0) {
			so = 0x9222f;
			len = 0x422b0;
			dof = 0x28290a;
		} else {
			/* Fixed pseudo-random offsets, never block-aligned. */
			so = (trial * 0x3b2a1f7) % (size / 2) | 1;
			len = (trial * 0x17d3) % (512 * KIB) + 3;
			dof = (trial * 0x5c3e2d1) % (size - len) | 2;
		}
		fill(s, size, 100 + trial);
		fill(d, size, 200 + trial);
		ASSERT_EQ(0, write_at(src, O_TRUNC, s, size, 0));
		ASSERT_EQ(0, write_at(dst, O_TRUNC, d, size, 0));
		in = open(src, O_RDONLY);
		out = open(dst, O_WRONLY);
		ASSERT_LE(0, in);
		ASSERT_LE(0, out);
		while (done < len) {
			loff_t a = so + done, b = dof + done;
			ssize_t n = copy_file_range(in, &a, out, &b,
						    len - done, 0);

			ASSERT_LT(0, n) TH_LOG("copy_file_range: %s",
					       strerror(errno));
			done += n;
		}
		close(in);
		ASSERT_EQ(0, close(out));
		memcpy(d + dof, s + so, len);
		EXPECT_EQ(0, same_as(dst, d, size))
			TH_LOG("trial %u: src 0x%llx len 0x%llx dst 0x%llx",
			       trial, (long long)so, (long long)len,
			       (long long)dof);
	}
	free(s);
	free(d);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * Seven one-block writes at blocks 0, 2, ..., 12 (more extents than the
 * inode holds: a one-leaf tree), blocks 56-63 preallocated with
 * KEEP_SIZE, then 59-63 again, and ZERO_RANGE over them: all succeed on
 * a nearly empty filesystem, read as zeroes and leave the data alone.
 */
TEST_F(rc, fallocate_over_unwritten_in_tree)
{
	const char *f = tfs_p(self->m, "f");
	char want[64 * BS], blk[BS];
	int fd, i;

	memset(want, 0, sizeof(want));
	fd = open(f, O_RDWR | O_CREAT, 0644);
	ASSERT_LE(0, fd);
	for (i = 0; i <= 12; i += 2) {
		fill(blk, BS, 300 + i);
		ASSERT_EQ(0, pwrite_all(fd, blk, BS, i * BS));
		memcpy(want + i * BS, blk, BS);
	}
	ASSERT_EQ(0, fsync(fd));
	TFS_ASSERT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 56 * BS, 8 * BS));
	TFS_ASSERT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 59 * BS, 5 * BS));
	TFS_ASSERT_OK(fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				58 * BS, 6 * BS));
	TFS_ASSERT_OK(fallocate(fd, FALLOC_FL_ZERO_RANGE, 57 * BS, 7 * BS));
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(0, same_as(f, want, sizeof(want)));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
