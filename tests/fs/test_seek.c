// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lseek SEEK_DATA / SEEK_HOLE: sparse files, holes at the end, files
 * without holes, ENXIO at and past EOF, preallocated (unwritten) ranges
 * reported as holes as kernel ext4 does, block-mapped ext3 files and
 * inline-data files, and a randomized layout checked offset by offset
 * against a model of which blocks hold data.  Each test runs on fuse2fs
 * and on kernel ext4 (variants).  Each ends fsck-clean.
 */
#include <fcntl.h>
#include <linux/falloc.h>

#include "kselftest_harness.h"
#include "fsext.h"

#define BS 4096L
#define MIB (1024L * 1024)

FSEXT_FIXTURE(sk, NULL);

static const struct tfs_mkfs_opts ext3_opts = { .fstype = "ext3" };
FSEXT_FIXTURE(sk_ext3, &ext3_opts);

static const struct tfs_mkfs_opts inline_opts = {
	.features = "inline_data",
};
FSEXT_FIXTURE(sk_inline, &inline_opts);

/* 1 KiB blocks: answers at block, not page, granularity. */
static const struct tfs_mkfs_opts small_block_opts = { .block_size = 1024 };
FSEXT_FIXTURE(sk_1k, &small_block_opts);

/* lseek's result, or -errno. */
static off_t seek(int fd, off_t off, int whence)
{
	off_t r = lseek(fd, off, whence);

	return r < 0 ? -errno : r;
}

static int write_at(int fd, off_t off, size_t len)
{
	char buf[BS];

	memset(buf, 0x5a, sizeof(buf));
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (pwrite(fd, buf, n, off) != (ssize_t)n)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * A file "f" with data at [0, 4K) and [1M, 1M + 4K) and a hole between,
 * synced: SEEK_DATA and SEEK_HOLE from every side; then unmount and fsck.
 */
static void sparse_file_checks(struct __test_metadata *_metadata,
			       struct tfs_mount *m)
{
	const off_t size = MIB + BS;
	int fd = open(tfs_p(m, "f"), O_CREAT | O_RDWR, 0644);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_at(fd, 0, BS));
	ASSERT_EQ(0, write_at(fd, MIB, BS));
	ASSERT_EQ(0, fsync(fd));

	EXPECT_EQ(0, seek(fd, 0, SEEK_DATA));
	EXPECT_EQ(100, seek(fd, 100, SEEK_DATA));
	EXPECT_EQ(BS, seek(fd, 0, SEEK_HOLE));
	EXPECT_EQ(BS, seek(fd, 100, SEEK_HOLE));
	EXPECT_EQ(MIB, seek(fd, BS, SEEK_DATA));
	EXPECT_EQ(MIB, seek(fd, BS + 1, SEEK_DATA));
	EXPECT_EQ(BS + 1, seek(fd, BS + 1, SEEK_HOLE));
	EXPECT_EQ(MIB + 5, seek(fd, MIB + 5, SEEK_DATA));
	EXPECT_EQ(size, seek(fd, MIB, SEEK_HOLE));
	EXPECT_EQ(size - 1, seek(fd, size - 1, SEEK_DATA));
	EXPECT_EQ(-ENXIO, seek(fd, size, SEEK_DATA));
	EXPECT_EQ(-ENXIO, seek(fd, size, SEEK_HOLE));
	EXPECT_EQ(-ENXIO, seek(fd, size + MIB, SEEK_DATA));
	EXPECT_EQ(-ENXIO, seek(fd, -1, SEEK_DATA));
	EXPECT_EQ(-ENXIO, seek(fd, -1, SEEK_HOLE));
	close(fd);
	TFS_ASSERT_UNMOUNT_CLEAN(m);
}

TEST_F(sk, sparse_file)
{
	sparse_file_checks(_metadata, self->m);
}

TEST_F(sk, holes_at_ends_and_no_holes)
{
	int fd = open(tfs_p(self->m, "f"), O_CREAT | O_RDWR, 0644);
	int g = open(tfs_p(self->m, "g"), O_CREAT | O_RDWR, 0644);
	int e = open(tfs_p(self->m, "empty"), O_CREAT | O_RDWR, 0644);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, g);
	ASSERT_LE(0, e);
	/* A leading hole, data, then a hole up to EOF. */
	ASSERT_EQ(0, write_at(fd, 2 * BS, BS));
	ASSERT_EQ(0, ftruncate(fd, MIB));
	ASSERT_EQ(0, fsync(fd));
	EXPECT_EQ(2 * BS, seek(fd, 0, SEEK_DATA));
	EXPECT_EQ(0, seek(fd, 0, SEEK_HOLE));
	EXPECT_EQ(3 * BS, seek(fd, 2 * BS, SEEK_HOLE));
	EXPECT_EQ(-ENXIO, seek(fd, 3 * BS, SEEK_DATA));
	/* No holes: the only hole is EOF. */
	ASSERT_EQ(0, write_at(g, 0, 5 * BS + 7));
	ASSERT_EQ(0, fsync(g));
	EXPECT_EQ(5 * BS + 7, seek(g, 0, SEEK_HOLE));
	EXPECT_EQ(5 * BS + 6, seek(g, 5 * BS + 6, SEEK_DATA));
	/* An empty file has neither. */
	EXPECT_EQ(-ENXIO, seek(e, 0, SEEK_DATA));
	EXPECT_EQ(-ENXIO, seek(e, 0, SEEK_HOLE));
	close(fd);
	close(g);
	close(e);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(sk, unwritten_extents_are_holes)
{
	int fd = open(tfs_p(self->m, "f"), O_CREAT | O_RDWR, 0644);

	ASSERT_LE(0, fd);
	TFS_ASSERT_OK(fallocate(fd, 0, 0, MIB));
	ASSERT_EQ(0, write_at(fd, 256 * 1024, BS));
	ASSERT_EQ(0, fsync(fd));
	EXPECT_EQ(256 * 1024, seek(fd, 0, SEEK_DATA));
	EXPECT_EQ(0, seek(fd, 0, SEEK_HOLE));
	EXPECT_EQ(256 * 1024 + BS, seek(fd, 256 * 1024, SEEK_HOLE));
	EXPECT_EQ(-ENXIO, seek(fd, 256 * 1024 + BS, SEEK_DATA));
	/* Still so after a remount (no page cache on either side). */
	close(fd);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	fd = open(tfs_p(self->m, "f"), O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(256 * 1024, seek(fd, 0, SEEK_DATA));
	EXPECT_EQ(256 * 1024 + BS, seek(fd, 256 * 1024, SEEK_HOLE));
	close(fd);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * nb chunks of bs bytes, each randomly a hole, written data or
 * preallocated; every 512-byte offset must give the answer the model
 * gives.
 */
static void random_layout(struct __test_metadata *_metadata,
			  struct tfs_mount *m, int nb, off_t bs)
{
	int kind[64], fd, i, seed;
	off_t size = nb * bs, off;
	char *buf = malloc(bs);

	ASSERT_NE(NULL, buf);
	memset(buf, 0x6b, bs);
	fd = open(tfs_p(m, "f"), O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, size));
	seed = 12345;
	for (i = 0; i < nb; i++) {
		seed = seed * 1103515245 + 12345;
		kind[i] = (seed >> 16) % 3;	/* 0 hole, 1 data, 2 prealloc */
		if (i == nb - 1)
			kind[i] = 0;	/* a trailing hole, size kept */
		if (kind[i] == 1) {
			ASSERT_EQ(bs, pwrite(fd, buf, bs, i * bs));
		} else if (kind[i] == 2) {
			TFS_ASSERT_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE,
						i * bs, bs));
		}
	}
	free(buf);
	/*
	 * Remount first: ext4 also reports an unwritten block as data
	 * while a cached page covers it, which with 1 KiB blocks happens
	 * next to every written block.  Without a page cache both answer
	 * from the block map alone.
	 */
	close(fd);
	TFS_ASSERT_UNMOUNT_CLEAN(m);
	ASSERT_EQ(0, tfs_remount(m));
	fd = open(tfs_p(m, "f"), O_RDONLY);
	ASSERT_LE(0, fd);
	for (off = 0; off < size; off += 512) {
		off_t want_data = -ENXIO, want_hole = size;
		int b = off / bs;

		for (i = b; i < nb; i++)
			if (kind[i] == 1) {
				want_data = i == b ? off : i * bs;
				break;
			}
		for (i = b; i < nb; i++)
			if (kind[i] != 1) {
				want_hole = i == b ? off : i * bs;
				break;
			}
		EXPECT_EQ(want_data, seek(fd, off, SEEK_DATA))
			TH_LOG("SEEK_DATA from %ld", (long)off);
		EXPECT_EQ(want_hole, seek(fd, off, SEEK_HOLE))
			TH_LOG("SEEK_HOLE from %ld", (long)off);
	}
	close(fd);
}

TEST_F(sk, random_layout_against_model)
{
	random_layout(_metadata, self->m, 64, BS);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(sk_1k, random_layout_1k_blocks)
{
	random_layout(_metadata, self->m, 64, 1024);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * With the kernel's writeback cache, fresh data may not have reached the
 * server yet; answers may be coarser (data from 0) but never wrong.
 */
TEST_F(sk, writeback_cache_never_misses_data)
{
	int fd;

	if (!variant->kernel) {
		char image[TFS_PATH_MAX];

		snprintf(image, sizeof(image), "%s", self->m->image);
		ASSERT_EQ(0, tfs_umount(self->m));
		ASSERT_EQ(0, tfs_mount_fuse(self->m, image,
					    "allow_other,writeback_cache"));
	}
	fd = open(tfs_p(self->m, "f"), O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_at(fd, MIB, BS));
	/* No fsync: the data may still be in the page cache. */
	EXPECT_LE(0, seek(fd, 0, SEEK_DATA));
	EXPECT_GE(MIB, seek(fd, 0, SEEK_DATA));
	EXPECT_EQ(MIB, seek(fd, MIB, SEEK_DATA));
	EXPECT_EQ(MIB + 100, seek(fd, MIB + 100, SEEK_DATA));
	EXPECT_EQ(MIB + BS, seek(fd, MIB, SEEK_HOLE));
	EXPECT_EQ(-ENXIO, seek(fd, MIB + BS, SEEK_DATA));
	close(fd);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(sk_ext3, block_mapped_sparse_file)
{
	sparse_file_checks(_metadata, self->m);
}

TEST_F(sk_inline, inline_file_is_all_data)
{
	int fd;

	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "f"), "0123456789", 10));
	fd = open(tfs_p(self->m, "f"), O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, seek(fd, 0, SEEK_DATA));
	EXPECT_EQ(3, seek(fd, 3, SEEK_DATA));
	EXPECT_EQ(10, seek(fd, 0, SEEK_HOLE));
	EXPECT_EQ(-ENXIO, seek(fd, 10, SEEK_DATA));
	close(fd);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
