// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs with -o iomap=auto on the patched kernel: which files are in
 * iomap mode, and O_DIRECT reads and writes (4 KiB to 8 MiB, into holes,
 * past EOF, sparse, io_submit) whose results kernel ext4 must read back
 * identically from the same device after unmount.  Every test starts from
 * a fresh mke2fs and ends with a clean `e2fsck -fn`.  Runs inside the UML
 * guest, as root.  Environment: see f2guest.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "f2guest.h"
#include "ktaio.h"

FIXTURE(f2) {
	struct kt_server srv;
	bool fsck_done;
};

FIXTURE_VARIANT(f2) {
	const char *features;
};

FIXTURE_VARIANT_ADD(f2, ext4) {
	.features = NULL,
};

FIXTURE_VARIANT_ADD(f2, inline_data) {
	.features = "inline_data",
};

FIXTURE_SETUP(f2)
{
	ASSERT_EQ(0, f2g_mkfs(variant->features));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(f2)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

/* A new regular file is iomap, with its ext4 inode number as backing. */
TEST_F(f2, mode_of_new_files)
{
	const char *path = kt_path(&self->srv, "new");
	uint64_t ino = 0;
	struct stat st;
	char small[100];
	int fd, mode;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	memset(small, 'x', sizeof(small));
	ASSERT_EQ((ssize_t)sizeof(small), write(fd, small, sizeof(small)));
	ASSERT_EQ(0, fstat(fd, &st));
	mode = kt_fd_iomap(fd, &ino);
	close(fd);
	if (variant->features && strstr(variant->features, "inline_data")) {
		/* born inline: its data is in the inode, not in blocks */
		EXPECT_EQ(0, mode);
	} else {
		EXPECT_EQ(1, mode);
		EXPECT_EQ((uint64_t)st.st_ino, ino);
	}
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

/* Aligned direct writes of 4 KiB to 8 MiB into holes, then overwrites. */
TEST_F(f2, direct_sizes_into_holes)
{
	const struct region r[] = {
		{ 0, 4096, 1 },
		{ 4096, 4096, 0 },
		{ 8192, 8192, 2 },
		{ 16384, 65536 - 16384, 0 },
		{ 65536, 65536, 3 },
		{ 131072, MIB - 131072, 0 },
		{ MIB, MIB, 4 },
		{ 2 * MIB, 2 * MIB, 0 },
		{ 4 * MIB, 8 * MIB, 5 },
	};
	const int n = sizeof(r) / sizeof(r[0]);
	const char *path = kt_path(&self->srv, "sizes");
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, f2g_write_regions(path, r, n));
	EXPECT_EQ(0, f2g_check_regions(path, r, n, true));
	EXPECT_EQ(0, f2g_check_regions(path, r, n, false));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("sizes", r, n, 12 * MIB));
}

/* A sparse file: far apart extents, a hole at the start, EOF growth. */
TEST_F(f2, direct_sparse_and_past_eof)
{
	const struct region r[] = {
		{ 0, 64 * MIB, 0 },
		{ 64 * MIB, MIB, 7 },
		{ 65 * MIB, 190 * MIB, 0 },
		{ 255 * MIB, 256 * 1024, 8 },
	};
	const int n = sizeof(r) / sizeof(r[0]);
	const char *path = kt_path(&self->srv, "sparse");
	char *buf = kt_alloc(4096);
	struct stat st;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, f2g_write_regions(path, r, n));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ((off_t)(255 * MIB + 256 * 1024), st.st_size);
	/* sparse: far fewer blocks than the size */
	EXPECT_GT((off_t)(8 * MIB / 512), (off_t)st.st_blocks);
	EXPECT_EQ(0, f2g_check_regions(path, r, n, true));
	/* reading past EOF stops at EOF */
	fd = open(path, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, pread(fd, buf, 4096, st.st_size));
	close(fd);
	free(buf);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("sparse", r, n, 255 * MIB + 256 * 1024));
}

/* Asynchronous direct writes into holes (unwritten conversion at IOEND). */
TEST_F(f2, direct_aio_into_holes)
{
	enum { NR = 16, LEN = 128 << 10 };
	struct region r[2 * NR];
	struct iocb cbs[NR], *cbp[NR];
	io_context_t ctx = 0;
	const char *path = kt_path(&self->srv, "aio");
	void *buf[NR];
	int fd, i;

	/* a file with a size first, so that no write extends it */
	fd = open(path, O_CREAT | O_RDWR | O_DIRECT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 2 * NR * LEN));
	ASSERT_EQ(0, io_setup(NR, &ctx));
	for (i = 0; i < NR; i++) {
		uint64_t off = (uint64_t)(NR - 1 - i) * 2 * LEN;

		r[2 * i] = (struct region){ (uint64_t)i * 2 * LEN, LEN, 0 };
		r[2 * i + 1] = (struct region){ (uint64_t)i * 2 * LEN + LEN,
						LEN, 0 };
		buf[i] = kt_alloc(LEN);
		ASSERT_NE(NULL, buf[i]);
		kt_fill(buf[i], LEN, off, 100 + i);
		io_prep_pwrite(&cbs[i], fd, buf[i], LEN, off);
		cbp[i] = &cbs[i];
	}
	for (i = 0; i < NR; i++)
		r[2 * (NR - 1 - i)].seed = 100 + i;
	ASSERT_EQ(NR, io_submit(ctx, NR, cbp));
	EXPECT_EQ(0, kt_aio_reap(ctx, NR));
	io_destroy(ctx);
	close(fd);
	for (i = 0; i < NR; i++)
		free(buf[i]);
	EXPECT_EQ(0, f2g_check_regions(path, r, 2 * NR, true));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("aio", r, 2 * NR, 2 * NR * LEN));
}

/*
 * Buffered IO on an iomap file still goes through fuse2fs in this
 * version; direct IO must see what it wrote, and it what direct IO wrote.
 */
TEST_F(f2, buffered_and_direct_coherent)
{
	const size_t n = 256 << 10;
	const char *path = kt_path(&self->srv, "mixed");
	char *buf = kt_alloc(n), *back = kt_alloc(n);
	const struct region r[] = { { 0, n, 32 }, { n, n, 33 } };
	int fd;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	/* buffered write into a hole, then a direct read of it */
	kt_fill(buf, n, 0, 31);
	ASSERT_EQ((ssize_t)n, pwrite(fd, buf, n, 0));
	ASSERT_EQ(0, kt_direct_pread(path, back, n, 0));
	EXPECT_EQ(-1, kt_check(back, n, 0, 31));
	/* direct overwrite, then a buffered read */
	kt_fill(buf, n, 0, 32);
	ASSERT_EQ(0, kt_direct_pwrite(path, buf, n, 0));
	ASSERT_EQ((ssize_t)n, pread(fd, back, n, 0));
	EXPECT_EQ(-1, kt_check(back, n, 0, 32));
	/* direct write past EOF, then a buffered read */
	kt_fill(buf, n, n, 33);
	ASSERT_EQ(0, kt_direct_pwrite(path, buf, n, n));
	ASSERT_EQ((ssize_t)n, pread(fd, back, n, n));
	EXPECT_EQ(-1, kt_check(back, n, n, 33));
	close(fd);
	free(buf);
	free(back);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("mixed", r, 2, 2 * n));
}

/*
 * A direct write by a task without CAP_FSETID (still root otherwise, so
 * the private mountpoint stays reachable), in a child; 0 on success.
 */
static int write_without_fsetid(const char *path)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct __user_cap_header_struct h = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct d[2];
		char *buf = kt_alloc(4096);
		int fd;

		if (!buf || syscall(SYS_capget, &h, d))
			_exit(2);
		d[CAP_TO_INDEX(CAP_FSETID)].effective &=
			~CAP_TO_MASK(CAP_FSETID);
		if (syscall(SYS_capset, &h, d))
			_exit(2);
		fd = open(path, O_WRONLY | O_DIRECT);
		memset(buf, 'n', 4096);
		_exit(fd >= 0 && pwrite(fd, buf, 4096, 4096) == 4096 ? 0 : 3);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * The kernel writes iomap files without the server, so it must drop the
 * setuid bit itself, every time one is set again (iomap mounts skip the
 * privilege check on inodes known to have none: see protocol section 2).
 */
TEST_F(f2, direct_write_drops_setuid)
{
	const struct region r[] = { { 0, 64 << 10, 40 } };
	const char *path = kt_path(&self->srv, "suid");
	struct stat st;
	int round;

	ASSERT_EQ(0, f2g_write_regions(path, r, 1));
	for (round = 0; round < 2; round++) {
		ASSERT_EQ(0, chmod(path, 04777));
		ASSERT_EQ(0, write_without_fsetid(path));
		ASSERT_EQ(0, stat(path, &st));
		EXPECT_EQ(0, st.st_mode & S_ISUID) {
			TH_LOG("round %d: mode %o after the write", round,
			       st.st_mode);
		}
	}
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

/*
 * Direct writes bypass the server, so the kernel moves mtime and ctime
 * itself and hands them over; kernel ext4 reads the same after unmount.
 */
TEST_F(f2, direct_write_updates_times)
{
	const struct region r[] = { { 0, 64 << 10, 41 } };
	const struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	const char *path = kt_path(&self->srv, "times");
	struct stat before, after, disk;

	ASSERT_EQ(0, f2g_write_regions(path, r, 1));
	ASSERT_EQ(0, utimensat(AT_FDCWD, path, old, 0));
	ASSERT_EQ(0, stat(path, &before));
	ASSERT_EQ(1000000000, before.st_mtim.tv_sec);
	usleep(20 * 1000);
	/* an overwrite inside the file: no IOEND, the server hears nothing */
	ASSERT_EQ(0, f2g_write_regions(path, r, 1));
	ASSERT_EQ(0, stat(path, &after));
	EXPECT_TRUE(f2g_ts_before(&before.st_mtim, &after.st_mtim));
	EXPECT_TRUE(f2g_ts_before(&before.st_ctim, &after.st_ctim));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	ASSERT_EQ(0, f2g_stat_with_ext4("times", &disk));
	EXPECT_EQ(after.st_mtim.tv_sec, disk.st_mtim.tv_sec);
	EXPECT_EQ(after.st_mtim.tv_nsec, disk.st_mtim.tv_nsec);
	EXPECT_EQ(after.st_ctim.tv_sec, disk.st_ctim.tv_sec);
	EXPECT_EQ(after.st_ctim.tv_nsec, disk.st_ctim.tv_nsec);
}

/*
 * Truncate while asynchronous direct writes are in flight: truncate must
 * wait for them (their blocks are being freed); the file system stays
 * consistent and kernel ext4 sees the truncated size.  By ftruncate() to
 * one write's length, or by an O_TRUNC open to zero.
 */
static void truncate_during_aio(struct __test_metadata *_metadata,
				struct kt_server *srv, bool open_trunc)
{
	enum { NR = 16, LEN = 256 << 10 };
	struct iocb cbs[NR], *cbp[NR];
	io_context_t ctx = 0;
	const char *path = kt_path(srv, "trunc");
	const struct region r[] = { { 0, LEN, 200 } };
	void *buf[NR];
	int fd, i;

	fd = open(path, O_CREAT | O_RDWR | O_DIRECT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, NR * LEN));
	ASSERT_EQ(0, io_setup(NR, &ctx));
	for (i = 0; i < NR; i++) {
		buf[i] = kt_alloc(LEN);
		ASSERT_NE(NULL, buf[i]);
		kt_fill(buf[i], LEN, (uint64_t)i * LEN, 200 + i);
		io_prep_pwrite(&cbs[i], fd, buf[i], LEN, (uint64_t)i * LEN);
		cbp[i] = &cbs[i];
	}
	ASSERT_EQ(NR, io_submit(ctx, NR, cbp));
	if (open_trunc) {
		int fd2 = open(path, O_WRONLY | O_TRUNC);

		ASSERT_LE(0, fd2);
		close(fd2);
	} else {
		ASSERT_EQ(0, ftruncate(fd, LEN));
	}
	EXPECT_EQ(0, kt_aio_reap(ctx, NR));
	io_destroy(ctx);
	close(fd);
	for (i = 0; i < NR; i++)
		free(buf[i]);
	if (!open_trunc)
		EXPECT_EQ(0, f2g_check_regions(path, r, 1, true));
	ASSERT_EQ(0, f2g_unmount_and_fsck(srv));
	EXPECT_EQ(0, f2g_check_with_ext4("trunc", r, open_trunc ? 0 : 1,
				     open_trunc ? 0 : LEN));
}

TEST_F(f2, truncate_during_aio)
{
	truncate_during_aio(_metadata, &self->srv, false);
}

TEST_F(f2, open_trunc_during_aio)
{
	truncate_during_aio(_metadata, &self->srv, true);
}

/*
 * A full file system: the server's ENOSPC reaches the writer intact, and
 * the file system stays consistent, including the unwritten look-ahead
 * the failed last write leaves at the disk's end, given back at unmount.
 */
TEST(direct_write_enospc)
{
	struct kt_server srv;
	const size_t n = 4 * MIB;
	char *buf;
	ssize_t got = 0;
	uint64_t off;
	int fd, err = 0;

	buf = kt_alloc(n);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, kt_sh(120, "mke2fs -q -F -t ext4 -b 4096 %s 64M",
			   f2g_device()));
	ASSERT_EQ(0, f2g_mount(&srv));
	fd = open(kt_path(&srv, "fill"), O_CREAT | O_RDWR | O_DIRECT, 0644);
	ASSERT_LE(0, fd);
	kt_fill(buf, n, 0, 9);
	for (off = 0; off < 128 * MIB; off += n) {
		got = pwrite(fd, buf, n, off);
		if (got != (ssize_t)n) {
			err = errno;
			break;
		}
	}
	/* either a short write, or nothing and ENOSPC */
	EXPECT_LT(off, 128 * MIB);
	if (got < 0)
		EXPECT_EQ(ENOSPC, err);
	close(fd);
	EXPECT_EQ(0, f2g_unmount_and_fsck(&srv));
	free(buf);
}

TEST_HARNESS_MAIN
