// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The live mode switch of an inode (doc/protocol.md 3.1), on fuse2fs
 * -o iomap=auto: the user pins a file to classic (user.fuse2fs.iomap)
 * or lets it go back to iomap, or an inline file grows into extents.
 * A GETATTR (statx with AT_STATX_FORCE_SYNC) brings the new mode to the
 * kernel; it takes effect at once for a file nobody has open, and when
 * the last open file (or mapping) of it is released otherwise.  Files
 * open before keep working in the old mode until then, and no byte
 * written in the old mode is lost: every file is read back in the new
 * mode, through O_DIRECT, and after unmount through kernel ext4, and the
 * image is e2fsck-clean.  chattr -e (to a block map, which fuse2fs does
 * not map) turns a file classic the same way.  Files are pinned with an
 * O_PATH descriptor where the test must show that the switch does not
 * wait for the kernel to drop the inode.  Runs inside the UML guest, as
 * root.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "f2guest.h"
#include "ktaio.h"

/* pwrite() of the pattern at [off, off + len), in one call. */
static int write_pattern(int fd, uint64_t off, size_t len, uint32_t seed)
{
	char *buf = malloc(len);
	ssize_t n;

	if (!buf)
		return -1;
	kt_fill(buf, len, off, seed);
	n = pwrite(fd, buf, len, off);
	free(buf);
	return n == (ssize_t)len ? 0 : -1;
}

/* The file holds the regions, buffered and through O_DIRECT. */
static int check_both(const char *path, const struct region *r, int n)
{
	if (f2g_check_regions(path, r, n, false))
		return -1;
	return f2g_check_regions(path, r, n, true);
}

FIXTURE(sw) {
	struct kt_server srv;
	int pin;		/* an O_PATH descriptor, or -1 */
};

FIXTURE_SETUP(sw)
{
	self->pin = -1;
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(sw)
{
	if (self->pin >= 0)
		close(self->pin);
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

/*
 * Nobody has the file open (an O_PATH descriptor keeps the inode in the
 * kernel): the next open has the new mode, both ways, and the data.
 */
TEST_F(sw, closed_file_switches_at_once)
{
	const struct region r[] = { { 0, MIB + 5000, 1 } };
	const char *path = kt_path(&self->srv, "closed");
	uint64_t ino;
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, kt_fd_iomap(fd, &ino));
	EXPECT_EQ(0, write_pattern(fd, 0, MIB + 5000, 1));
	close(fd);
	self->pin = open(path, O_PATH);
	ASSERT_LE(0, self->pin);

	ASSERT_EQ(0, f2g_set_preference(path, "classic"));
	EXPECT_EQ(0, f2g_path_iomap(path));
	EXPECT_EQ(0, check_both(path, r, 1));

	ASSERT_EQ(0, f2g_set_preference(path, NULL));
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, kt_fd_iomap(fd, &ino));
	close(fd);
	EXPECT_EQ(0, check_both(path, r, 1));
	close(self->pin);
	self->pin = -1;
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("closed", r, 1, MIB + 5000));
}

/*
 * Another process has the file open and writes before and after the
 * user pins it to classic: its writes keep going through iomap, an open
 * in between still gets iomap, and the switch happens when that process
 * closes the file.
 */
TEST_F(sw, open_elsewhere_switches_at_its_close)
{
	const struct region r[] = {
		{ 0, 300000, 2 }, { 300000, 700000, 0 }, { MIB, 2 * MIB, 3 },
	};
	const char *path = kt_path(&self->srv, "shared");
	int go[2], ready[2], status, fd;
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* the other process: exit status 0 when all went well */
		fd = open(path, O_CREAT | O_RDWR, 0644);
		if (fd < 0 || kt_fd_iomap(fd, NULL) != 1 ||
		    write_pattern(fd, 0, 300000, 2))
			_exit(1);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		/* pinned to classic by now, still open: still iomap */
		if (kt_fd_iomap(fd, NULL) != 1)
			_exit(3);
		if (write_pattern(fd, MIB, 2 * MIB, 3))
			_exit(4);
		if (fsync(fd) || close(fd))
			_exit(5);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, f2g_set_preference(path, "classic"));
	/* the file is open elsewhere: the old mode holds */
	EXPECT_EQ(1, f2g_path_iomap(path));
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	EXPECT_EQ(0, f2g_path_iomap(path));
	EXPECT_EQ(0, check_both(path, r, 3));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("shared", r, 3, 3 * MIB));
}

/*
 * A shared writable mapping outlives its descriptor and holds dirty pages
 * from before and after the user pins the file to classic: the switch
 * waits for munmap, and the pages reach the disk.
 */
TEST_F(sw, mapped_file_switches_at_munmap)
{
	const size_t n = 2 * MIB;
	const struct region r[] = { { 0, MIB, 4 }, { MIB, MIB, 5 } };
	const char *path = kt_path(&self->srv, "mapped");
	int fd, status = 0;
	char *map;
	pid_t pid;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ftruncate(fd, n));
	map = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, map);
	kt_fill(map, MIB, 0, 4);

	EXPECT_EQ(0, f2g_set_preference(path, "classic"));
	EXPECT_EQ(1, f2g_path_iomap(path));
	/* in a child: a page fault the server refuses is a SIGBUS */
	pid = fork();
	if (!pid) {
		kt_fill(map + MIB, MIB, MIB, 5);
		_exit(0);
	}
	EXPECT_LT(0, pid);
	EXPECT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, munmap(map, n));

	EXPECT_EQ(0, f2g_path_iomap(path));
	EXPECT_EQ(0, check_both(path, r, 2));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("mapped", r, 2, n));
}

/*
 * The other way: a classic file written through a shared mapping goes
 * to iomap when the mapping goes (munmap), with the inode still in the
 * kernel; the iomap inode reads every byte back from the disk.
 */
TEST_F(sw, classic_dirty_pages_survive_the_switch_to_iomap)
{
	const size_t n = MIB;
	const struct region r[] = { { 0, n, 6 } };
	const char *path = kt_path(&self->srv, "toiomap");
	char *map;
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	self->pin = open(path, O_PATH);
	ASSERT_LE(0, self->pin);
	ASSERT_EQ(0, f2g_set_preference(path, "classic"));
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, kt_fd_iomap(fd, NULL));
	EXPECT_EQ(0, ftruncate(fd, n));
	map = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, map);
	kt_fill(map, n, 0, 6);

	EXPECT_EQ(0, f2g_set_preference(path, NULL));
	ASSERT_EQ(0, munmap(map, n));

	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, kt_fd_iomap(fd, NULL));
	close(fd);
	EXPECT_EQ(0, check_both(path, r, 1));
	close(self->pin);
	self->pin = -1;
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("toiomap", r, 1, n));
}

/*
 * Direct writes submitted through iomap after the file was pinned to
 * classic, the descriptor closed while they are in flight: they complete
 * (the server still serves the old mode), and the switch waits for them
 * (the kernel releases the file only after the last one).
 */
TEST_F(sw, direct_io_in_flight_at_close)
{
	enum { NR = 16, LEN = 128 << 10 };
	const struct region r[] = { { 0, NR * LEN, 7 } };
	const char *path = kt_path(&self->srv, "dio");
	struct iocb cbs[NR], *cbp[NR];
	io_context_t ctx = 0;
	char *buf = kt_alloc(NR * LEN);
	int fd, i, done, mode = -1;

	ASSERT_NE(NULL, buf);
	kt_fill(buf, NR * LEN, 0, 7);
	fd = open(path, O_CREAT | O_RDWR | O_DIRECT, 0644);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ftruncate(fd, NR * LEN));
	EXPECT_EQ(0, f2g_set_preference(path, "classic"));
	EXPECT_EQ(1, kt_fd_iomap(fd, NULL));
	if (io_setup(NR, &ctx))
		close(fd);
	ASSERT_NE(0, ctx);
	for (i = 0; i < NR; i++) {
		io_prep_pwrite(&cbs[i], fd, buf + i * LEN, LEN,
			       (long long)i * LEN);
		cbp[i] = &cbs[i];
	}
	done = io_submit(ctx, NR, cbp);
	close(fd);
	ASSERT_EQ(NR, done);
	EXPECT_EQ(0, kt_aio_reap(ctx, NR));
	io_destroy(ctx);
	free(buf);

	/* aio drops its file references from a work item, soon after */
	for (i = 0; i < 200 && mode != 0; i++) {
		mode = f2g_path_iomap(path);
		if (mode)
			usleep(50000);
	}
	EXPECT_EQ(0, mode);
	EXPECT_EQ(0, check_both(path, r, 1));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("dio", r, 1, NR * LEN));
}

/*
 * chattr -e (extents to a block map, which fuse2fs does not map) on a
 * small file with dirty pages: the kernel writes them to the blocks the
 * old map names first (fuse2fs migrates only written extents of up to
 * 12 blocks), and the file turns classic at its close.
 */
TEST_F(sw, chattr_e_with_dirty_pages)
{
	const struct region r[] = { { 0, 40000, 10 } };
	const char *path = kt_path(&self->srv, "chattr");
	int fd, flags = 0;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, kt_fd_iomap(fd, NULL));
	EXPECT_EQ(0, write_pattern(fd, 0, 40000, 10));
	EXPECT_EQ(0, ioctl(fd, FS_IOC_GETFLAGS, &flags));
	EXPECT_TRUE(flags & FS_EXTENT_FL);
	flags &= ~FS_EXTENT_FL;
	EXPECT_EQ(0, ioctl(fd, FS_IOC_SETFLAGS, &flags) ? errno : 0);
	EXPECT_EQ(0, f2g_refresh_mode(path));
	EXPECT_EQ(1, kt_fd_iomap(fd, NULL));
	EXPECT_EQ(0, close(fd));

	EXPECT_EQ(0, f2g_path_iomap(path));
	EXPECT_EQ(0, check_both(path, r, 1));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("chattr", r, 1, 40000));
}

/*
 * An inline file grows into extents while it is open: it stays classic
 * until the descriptor is closed, then is iomap with all its bytes (an
 * O_PATH descriptor keeps the inode in the kernel meanwhile).
 */
TEST_F(sw, inline_file_growing_into_extents)
{
	const struct region r[] = { { 0, 40, 8 }, { 40, 3 * MIB, 9 } };
	const char *path;
	int fd;

	/* on a file system made again, with inline data */
	ASSERT_EQ(0, kt_server_stop(&self->srv));
	ASSERT_EQ(0, f2g_mkfs("inline_data"));
	ASSERT_EQ(0, f2g_mount(&self->srv));
	path = kt_path(&self->srv, "grow");
	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	self->pin = open(path, O_PATH);
	ASSERT_LE(0, self->pin);
	EXPECT_EQ(0, write_pattern(fd, 0, 40, 8));
	EXPECT_EQ(0, f2g_refresh_mode(path));
	EXPECT_EQ(0, kt_fd_iomap(fd, NULL));
	EXPECT_EQ(0, write_pattern(fd, 40, MIB, 9));
	EXPECT_EQ(0, f2g_refresh_mode(path));
	/* extents now, but open: still classic */
	EXPECT_EQ(0, kt_fd_iomap(fd, NULL));
	EXPECT_EQ(0, write_pattern(fd, 40 + MIB, 2 * MIB, 9));
	close(fd);

	EXPECT_EQ(1, f2g_path_iomap(path));
	EXPECT_EQ(0, check_both(path, r, 2));
	close(self->pin);
	self->pin = -1;
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("grow", r, 2, 3 * MIB + 40));
}

TEST_HARNESS_MAIN
