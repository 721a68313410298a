// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The mappings the kernel keeps (FUSE_IOMAP_F_CACHE, doc/protocol.md
 * section 10), with fuse2fs: kept after direct IO, and forgotten whenever
 * the blocks behind them change (hole punch, truncate, a classic write
 * into unwritten blocks, chattr -e) so that direct IO never reads or
 * writes blocks the file no longer owns.  Kernel ext4 reads every file
 * back after unmount; each test starts from a fresh mke2fs and ends with
 * a clean `e2fsck -fn`.  Runs inside the UML guest, as root.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>

#include "kselftest_harness.h"
#include "f2guest.h"

FIXTURE(cache) {
	struct kt_server srv;
};

FIXTURE_SETUP(cache)
{
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(cache)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

/* Open NAME (created if need be) for direct IO; -1 on failure. */
static int open_direct(struct kt_server *srv, const char *name)
{
	return open(kt_path(srv, name), O_CREAT | O_RDWR | O_DIRECT, 0644);
}

/* Direct read of 4 KiB at OFF through FD, so that the kernel maps it. */
static int touch(int fd, off_t off)
{
	char *buf = kt_alloc(4096);
	ssize_t got;

	if (!buf)
		return -1;
	got = pread(fd, buf, 4096, off);
	free(buf);
	return got == 4096 ? 0 : -1;
}

/*
 * Write another file with direct IO: it is likely to get the blocks the
 * first one just gave back, which a stale kept mapping would then show.
 */
static int write_other(struct kt_server *srv, uint64_t len, uint32_t seed)
{
	const struct region r[] = { { 0, len, seed } };

	return f2g_write_regions(kt_path(srv, "other"), r, 1);
}

/* Direct reads and overwrites inside written blocks keep the mapping. */
TEST_F(cache, kept_after_direct_io)
{
	static const uint64_t offs[] = { 3 * MIB, 12288, 2 * MIB + 4096, 0 };
	struct region r[] = {
		{ 0, 4 * MIB, 1 },
	};
	const char *path = kt_path(&self->srv, "kept");
	char *buf = kt_alloc(4096);
	unsigned int i;
	int fd;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, f2g_write_regions(path, r, 1));
	fd = open_direct(&self->srv, "kept");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, touch(fd, MIB));
	EXPECT_LE(1, kt_fd_iomap_cached(fd));
	/* overwrites through the kept mapping land where reads find them */
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		kt_fill(buf, 4096, offs[i], 1);
		memset(buf, 0x33 + i, 64);
		ASSERT_EQ(4096, pwrite(fd, buf, 4096, offs[i]));
	}
	EXPECT_LE(1, kt_fd_iomap_cached(fd));
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		ASSERT_EQ(4096, pread(fd, buf, 4096, offs[i]));
		EXPECT_EQ(0x33 + i, (unsigned char)buf[0]);
		EXPECT_EQ(0x33 + i, (unsigned char)buf[63]);
		EXPECT_EQ(-1, kt_check(buf + 64, 4096 - 64, offs[i] + 64, 1));
	}
	close(fd);
	free(buf);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	/* the 64-byte marks differ from the pattern: check around them */
	r[0] = (struct region){ 4096, 8192, 1 };
	EXPECT_EQ(0, f2g_check_with_ext4("kept", r, 1, 4 * MIB));
}

/* A punched hole reads as zeroes, even after its blocks went elsewhere. */
TEST_F(cache, punch_hole_forgets)
{
	const struct region r[] = {
		{ 0, MIB, 2 }, { MIB, MIB, 0 }, { 2 * MIB, 2 * MIB, 2 },
	};
	const struct region all[] = { { 0, 4 * MIB, 2 } };
	const struct region other[] = { { 0, MIB, 3 } };
	const char *path = kt_path(&self->srv, "punch");
	int fd;

	ASSERT_EQ(0, f2g_write_regions(path, all, 1));
	fd = open_direct(&self->srv, "punch");
	ASSERT_LE(0, fd);
	/* fuse2fs maps from the block asked about: keeps [1 MiB, 4 MiB) */
	ASSERT_EQ(0, touch(fd, MIB));
	EXPECT_LE(1, kt_fd_iomap_cached(fd));
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       MIB, MIB));
	EXPECT_EQ(0, kt_fd_iomap_cached(fd));
	EXPECT_EQ(0, f2g_check_regions(path, r, 3, true));
	ASSERT_EQ(0, write_other(&self->srv, MIB, 3));
	EXPECT_EQ(0, f2g_check_regions(path, r, 3, true));
	close(fd);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("punch", r, 3, 4 * MIB));
	EXPECT_EQ(0, f2g_check_with_ext4("other", other, 1, MIB));
}

/* Truncated away and grown back: a hole, not the old blocks. */
TEST_F(cache, truncate_forgets)
{
	const struct region old[] = { { 0, 2 * MIB, 4 } };
	const struct region hole[] = { { 0, 2 * MIB, 0 } };
	const char *path = kt_path(&self->srv, "trunc");
	int fd;

	ASSERT_EQ(0, f2g_write_regions(path, old, 1));
	fd = open_direct(&self->srv, "trunc");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, touch(fd, 0));
	EXPECT_LE(1, kt_fd_iomap_cached(fd));
	ASSERT_EQ(0, ftruncate(fd, 0));
	EXPECT_EQ(0, kt_fd_iomap_cached(fd));
	ASSERT_EQ(0, write_other(&self->srv, 2 * MIB, 5));
	ASSERT_EQ(0, ftruncate(fd, 2 * MIB));
	EXPECT_EQ(0, f2g_check_regions(path, hole, 1, true));
	close(fd);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("trunc", hole, 1, 2 * MIB));
}

/*
 * Unwritten blocks (fallocate) are kept as unwritten after a direct read;
 * a classic (buffered) write converts some of them on the server, and the
 * next direct read must see its data, not zeroes.
 */
TEST_F(cache, classic_write_into_unwritten_forgets)
{
	const struct region r[] = {
		{ 0, 256 << 10, 0 }, { 256 << 10, 64 << 10, 6 },
		{ 320 << 10, MIB - (320 << 10), 0 },
	};
	const char *path = kt_path(&self->srv, "unwritten");
	char *buf = kt_alloc(MIB);
	int fd, bfd;

	ASSERT_NE(NULL, buf);
	fd = open_direct(&self->srv, "unwritten");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fallocate(fd, 0, 0, MIB));
	ASSERT_EQ((ssize_t)MIB, pread(fd, buf, MIB, 0));
	EXPECT_TRUE(kt_is_zero(buf, MIB));
	EXPECT_LE(1, kt_fd_iomap_cached(fd));
	bfd = open(path, O_RDWR);
	ASSERT_LE(0, bfd);
	kt_fill(buf, 64 << 10, 256 << 10, 6);
	ASSERT_EQ(64 << 10, pwrite(bfd, buf, 64 << 10, 256 << 10));
	close(bfd);
	EXPECT_EQ(0, f2g_check_regions(path, r, 3, true));
	close(fd);
	free(buf);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("unwritten", r, 3, MIB));
}

/*
 * A streaming direct writer: each IOEND trims the kept look-ahead, and
 * what was written reads back (a kept mapping still saying "unwritten"
 * over written data would read as zeroes).
 */
TEST_F(cache, streaming_appends_read_back)
{
	enum { NR = 24 };
	const struct region r[] = { { 0, NR * MIB, 7 } };
	char *buf = kt_alloc(MIB);
	int fd, i;

	ASSERT_NE(NULL, buf);
	fd = open_direct(&self->srv, "stream");
	ASSERT_LE(0, fd);
	for (i = 0; i < NR; i++) {
		kt_fill(buf, MIB, (uint64_t)i * MIB, 7);
		ASSERT_EQ((ssize_t)MIB, write(fd, buf, MIB));
		/* the block just written, read through the kept mapping */
		ASSERT_EQ(4096, pread(fd, buf, 4096, (off_t)i * MIB));
		EXPECT_EQ(-1, kt_check(buf, 4096, (uint64_t)i * MIB, 7));
	}
	EXPECT_LE(1, kt_fd_iomap_cached(fd));
	close(fd);
	free(buf);
	EXPECT_EQ(0, f2g_check_regions(kt_path(&self->srv, "stream"), r, 1,
				       true));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("stream", r, 1, NR * MIB));
}

/*
 * A streaming writer's conversions are kept back from the server
 * (protocol section 10.1), so whatever asks the server about the file
 * while the writer still has it open must find the data anyway: SEEK_HOLE
 * and SEEK_DATA, a buffered read through another descriptor, and, after a
 * truncate dropped the kept mappings, a direct read mapped by the server.
 */
TEST_F(cache, deferred_conversion_is_seen)
{
	enum { NR = 6 };
	const struct region all[] = { { 0, (NR + 2) * MIB, 9 } };
	const char *path = kt_path(&self->srv, "defer");
	char *buf = kt_alloc(MIB);
	struct stat st;
	int fd, bfd, i;

	ASSERT_NE(NULL, buf);
	fd = open_direct(&self->srv, "defer");
	ASSERT_LE(0, fd);
	for (i = 0; i < NR; i++) {
		kt_fill(buf, MIB, (uint64_t)i * MIB, 9);
		ASSERT_EQ((ssize_t)MIB, write(fd, buf, MIB));
	}
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ((off_t)(NR * MIB), st.st_size);
	EXPECT_EQ(0, lseek(fd, 0, SEEK_DATA));
	EXPECT_EQ((off_t)(NR * MIB), lseek(fd, 0, SEEK_HOLE));

	kt_fill(buf, MIB, NR * MIB, 9);
	ASSERT_EQ((ssize_t)MIB, write(fd, buf, MIB));
	bfd = open(path, O_RDONLY);
	ASSERT_LE(0, bfd);
	ASSERT_EQ((ssize_t)MIB, pread(bfd, buf, MIB, NR * MIB));
	EXPECT_EQ(-1, kt_check(buf, MIB, NR * MIB, 9));
	close(bfd);

	kt_fill(buf, MIB, (NR + 1) * MIB, 9);
	ASSERT_EQ((ssize_t)MIB, write(fd, buf, MIB));
	ASSERT_EQ(0, ftruncate(fd, (NR + 2) * MIB));
	EXPECT_EQ(0, kt_fd_iomap_cached(fd));
	ASSERT_EQ((ssize_t)MIB, pread(fd, buf, MIB, (NR + 1) * MIB));
	EXPECT_EQ(-1, kt_check(buf, MIB, (NR + 1) * MIB, 9));
	close(fd);
	free(buf);
	EXPECT_EQ(0, f2g_check_regions(path, all, 1, true));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("defer", all, 1, (NR + 2) * MIB));
}

/* fuse2fs moves a file to a block map (chattr -e) only after telling us. */
TEST_F(cache, server_notification_forgets)
{
	const struct region r[] = { { 0, 8192, 8 } };
	const char *path = kt_path(&self->srv, "small");
	int fd;

	ASSERT_EQ(0, f2g_write_regions(path, r, 1));
	fd = open_direct(&self->srv, "small");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, touch(fd, 0));
	EXPECT_LE(1, kt_fd_iomap_cached(fd));
	ASSERT_EQ(0, kt_sh(60, "chattr -e %s", path));
	EXPECT_EQ(0, kt_fd_iomap_cached(fd));
	close(fd);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("small", r, 1, 8192));
}

TEST_HARNESS_MAIN
