// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The page cache of iomap files (fuse2fs -o iomap=auto): buffered writes,
 * cold buffered reads, shared writable mmap and read faults move the data
 * between the page cache and the device without FUSE_READ or FUSE_WRITE
 * (kernel tracing counts the requests); writeback asks for mappings with
 * FUSE_IOMAP_OP_WRITEBACK and sends one IOEND per contiguous range;
 * truncates zero the rest of the block they end in; SEEK_DATA/SEEK_HOLE
 * and FIEMAP come from the mappings; RWF_NOWAIT reads get cached data;
 * O_TMPFILE files write through iomap; chattr +i and +a hold for files
 * already open; blocks allocated ahead go when the last file closes, and
 * those preallocated past EOF with a truncate to the same size; the mount
 * reads ahead as far as kernel ext4 on the same device.
 * What the tests write is read back through O_DIRECT (the device) and,
 * after unmount, through kernel ext4.  Every test starts from a fresh
 * mke2fs and ends with `e2fsck -fn`.  Runs inside the UML guest, as root.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/swap.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "f2guest.h"
#include "free_counts.h"

/* FUSE requests and iomap BEGIN/IOEND, traced by the kernel */
static const char *const events[] = {
	"fuse/fuse_request_send", "fuse_iomap/fuse_iomap_begin",
	"fuse_iomap/fuse_iomap_ioend", NULL
};
static char *trace;	/* what the tracing recorded, once stopped */

static int trace_start(void)
{
	free(trace);
	trace = NULL;
	return kt_trace_start(events);
}

/* Lines of the trace that contain needle; the first call stops tracing. */
static int traced(const char *needle)
{
	if (!trace)
		trace = kt_trace_stop(events);
	return kt_trace_lines(trace, needle);
}

FIXTURE(f2b) {
	struct kt_server srv;
};

FIXTURE_SETUP(f2b)
{
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
	ASSERT_EQ(0, trace_start());
}

/*
 * What the readahead tests changed, put back by the teardown even when
 * they fail: the scratch device's read_ahead_kb, and a loop device used
 * as KT_DEVICE in its place.
 */
static char ra_dev[64];		/* the device whose window changed */
static int ra_saved = -1;	/* its value before the test */
static char ra_loop[64];	/* /dev/loopN, or "" */
static char ra_device[64];	/* KT_DEVICE before the loop, or "" */

static void readahead_restore(void)
{
	if (ra_saved >= 0)
		kt_set_device_read_ahead_kb(ra_dev, ra_saved);
	ra_saved = -1;
	if (ra_loop[0]) {
		kt_sh(30, "losetup -d %s", ra_loop);
		ra_loop[0] = 0;
		if (ra_device[0])
			setenv("KT_DEVICE", ra_device, 1);
		else
			unsetenv("KT_DEVICE");
	}
}

FIXTURE_TEARDOWN(f2b)
{
	free(kt_trace_stop(events));
	free(trace);
	trace = NULL;
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	readahead_restore();
}

/* Drop the clean page cache, so that the next read comes from the disk. */
static int drop_caches(void)
{
	return kt_sh(30, "sync; echo 3 > /proc/sys/vm/drop_caches");
}

/* Write [off, off + len) of the pattern with plain pwrite() calls of bs. */
static int buffered_fill(int fd, uint64_t off, size_t len, size_t bs,
			 uint32_t seed)
{
	char *buf = malloc(bs);
	size_t done, n;

	if (!buf)
		return -1;
	for (done = 0; done < len; done += n) {
		n = len - done < bs ? len - done : bs;
		kt_fill(buf, n, off + done, seed);
		if (pwrite(fd, buf, n, off + done) != (ssize_t)n) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	return 0;
}

/* A new file written as r says in 1 MiB write() calls, then fsync. */
static int stream_and_fsync(const char *path, const struct region *r)
{
	int fd = open(path, O_CREAT | O_RDWR, 0644);
	int err;

	if (fd < 0)
		return -1;
	err = buffered_fill(fd, r->off, r->len, MIB, r->seed);
	if (!err)
		err = fsync(fd);
	close(fd);
	return err;
}

/*
 * Unaligned buffered writes, into a hole past EOF too: after fsync the
 * device has the data, the server never saw a FUSE_WRITE, and writeback
 * asked for its mappings with OP_WRITEBACK (opflags 0x8).
 */
TEST_F(f2b, buffered_write_goes_to_the_device)
{
	const struct region r[] = {
		{ 0, 5000, 1 }, { 5000, 120000, 2 }, { 125000, 875000, 0 },
		{ 1000000, 3 * MIB + 123, 3 },
	};
	const uint64_t size = 1000000 + 3 * MIB + 123;
	const char *path = kt_path(&self->srv, "bw");
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	ASSERT_EQ(0, buffered_fill(fd, 0, 5000, 5000, 1));
	ASSERT_EQ(0, buffered_fill(fd, 5000, 120000, 7777, 2));
	ASSERT_EQ(0, buffered_fill(fd, 1000000, 3 * MIB + 123, 65536, 3));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	EXPECT_EQ(0, traced("(FUSE_WRITE)"));
	EXPECT_LT(0, traced("opflags 0x8 "));
	EXPECT_LT(0, traced("fuse_iomap_ioend:"));
	/* O_DIRECT reads the device through iomap */
	EXPECT_EQ(0, f2g_check_regions(path, r, 4, true));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("bw", r, 4, size));
}

/*
 * An O_TMPFILE file is an iomap file from its first byte: its buffered
 * writes reach the device without FUSE_WRITE, linkat() names it with the
 * data, and one closed without a name gives its blocks back.
 */
TEST_F(f2b, tmpfile_writes_through_iomap)
{
	const struct region r[] = { { 0, 3 * MIB + 77, 5 } };
	struct statvfs before, after;
	int fd;

	fd = open(self->srv.dir, O_TMPFILE | O_RDWR, 0644);
	ASSERT_LE(0, fd) TH_LOG("O_TMPFILE: %s", strerror(errno));
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	ASSERT_EQ(0, buffered_fill(fd, 0, r[0].len, 65536, 5));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, linkat(fd, "", AT_FDCWD, kt_path(&self->srv, "tmp"),
			    AT_EMPTY_PATH));
	close(fd);
	EXPECT_EQ(0, traced("(FUSE_WRITE)"));
	EXPECT_LT(0, traced("fuse_iomap_ioend:"));
	EXPECT_EQ(0, f2g_check_regions(kt_path(&self->srv, "tmp"), r, 1,
				       true));

	ASSERT_EQ(0, statvfs(self->srv.dir, &before));
	fd = open(self->srv.dir, O_TMPFILE | O_WRONLY, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, buffered_fill(fd, 0, 2 * MIB, MIB, 6));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	/* fuse2fs frees it on the kernel's FORGET, in the background */
	EXPECT_EQ(0, tfs_wait_free_counts(self->srv.dir, &before, &after));
	EXPECT_EQ(before.f_bfree, after.f_bfree);
	EXPECT_EQ(before.f_ffree, after.f_ffree);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("tmp", r, 1, r[0].len));
}

static int change_flags(int fd, unsigned int set, unsigned int clear)
{
	unsigned int flags;

	if (ioctl(fd, FS_IOC_GETFLAGS, &flags))
		return -1;
	flags = (flags | set) & ~clear;
	return ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

/* A child forked for one step: its exit status, or the signal; -1 */
static int child_result(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
}

/* In a child, store into a shared mapping: 0, or the signal. */
static int store_in_child(char *map)
{
	pid_t pid = fork();

	if (!pid) {
		map[0] ^= 1;
		_exit(0);
	}
	return child_result(pid);
}

/*
 * In a child, write one byte through the descriptor it inherited, as a
 * process handed an open file would: 0 if it wrote, else its errno (or
 * the signal that killed it).
 */
static int pwrite_in_child(int fd, off_t off)
{
	pid_t pid = fork();

	if (!pid) {
		char c = 1;

		_exit(pwrite(fd, &c, 1, off) == 1 ? 0 : errno);
	}
	return child_result(pid);
}

/*
 * chattr +i and +a hold for files opened before, as on ext4: the kernel
 * writes iomap files without the server, so it must know the flags
 * (FUSE_ATTR_IOMAP_IMMUTABLE/APPEND).  Pages dirtied before +i still
 * reach the device and fsync succeeds; a store through a mapping made
 * before is a SIGBUS.  Appends to a +a file keep fsync and close working
 * (the kernel's times reach the server).
 */
TEST_F(f2b, immutable_and_append_only_hold_for_open_files)
{
	const struct region r[] = { { 0, 3 * 65536, 8 } };
	const char *path = kt_path(&self->srv, "frozen");
	/* aligned: O_DIRECT must take the iomap path, not the server's */
	static char buf[4096] __attribute__((aligned(4096)));
	int fd, dfd, fd2;
	char *map;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	ASSERT_EQ(0, buffered_fill(fd, 0, 2 * 65536, 65536, 8));
	ASSERT_EQ(0, fsync(fd));
	dfd = open(path, O_RDWR | O_DIRECT);
	ASSERT_LE(0, dfd);
	map = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	/* dirty, not yet written back */
	ASSERT_EQ(0, buffered_fill(fd, 2 * 65536, 65536, 65536, 8));
	ASSERT_EQ(0, change_flags(fd, FS_IMMUTABLE_FL, 0));
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(SIGBUS, store_in_child(map));
	munmap(map, 65536);
	errno = 0;
	EXPECT_EQ(-1, pwrite(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, pwrite(fd, buf, sizeof(buf), 10 * 65536));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, pwrite(dfd, buf, sizeof(buf), 0));
	EXPECT_EQ(EPERM, errno);
	/* the same open file in another process */
	EXPECT_EQ(EPERM, pwrite_in_child(fd, 0));
	EXPECT_EQ(EPERM, pwrite_in_child(fd, 10 * 65536));
	errno = 0;
	EXPECT_EQ(-1, ftruncate(fd, 10));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, fallocate(fd, 0, 0, MIB));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, open(path, O_WRONLY));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(0, f2g_check_regions(path, r, 1, true));

	/* append-only: no overwrite through a new file, appends work */
	ASSERT_EQ(0, change_flags(fd, FS_APPEND_FL, FS_IMMUTABLE_FL));
	errno = 0;
	EXPECT_EQ(-1, open(path, O_WRONLY));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, truncate(path, 0));
	EXPECT_EQ(EPERM, errno);
	fd2 = open(path, O_WRONLY | O_APPEND);
	ASSERT_LE(0, fd2);
	/* O_APPEND writes at EOF, also from another process */
	EXPECT_EQ(0, pwrite_in_child(fd2, 0));
	EXPECT_EQ((ssize_t)sizeof(buf), write(fd2, buf, sizeof(buf)));
	EXPECT_EQ(0, fsync(fd2));
	EXPECT_EQ((ssize_t)sizeof(buf), write(fd2, buf, sizeof(buf)));
	EXPECT_EQ(0, close(fd2));
	ASSERT_EQ(0, change_flags(fd, 0, FS_APPEND_FL));
	ASSERT_EQ(0, ftruncate(fd, r[0].len));
	close(dfd);
	close(fd);
	EXPECT_EQ(0, traced("(FUSE_WRITE)"));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("frozen", r, 1, r[0].len));
}

/*
 * A flag change is a change of the inode: its ctime moves at once, as on
 * ext4 (the kernel keeps the ctime of iomap inodes, the server's change
 * alone did not show), also for the change that makes the inode
 * immutable, after which fsync still succeeds; the image holds the
 * kernel's ctime (fstests generic/277).
 */
TEST_F(f2b, flag_changes_move_ctime)
{
	const char *path = kt_path(&self->srv, "flags");
	struct stat st0, st1, st2, st3, disk;
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	ASSERT_EQ(0, buffered_fill(fd, 0, 65536, 65536, 11));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, fstat(fd, &st0));
	usleep(20000);
	ASSERT_EQ(0, change_flags(fd, FS_NOATIME_FL, 0));
	ASSERT_EQ(0, change_flags(fd, 0, FS_NOATIME_FL));
	ASSERT_EQ(0, stat(path, &st1));
	EXPECT_TRUE(f2g_ts_before(&st0.st_ctim, &st1.st_ctim));
	usleep(20000);
	ASSERT_EQ(0, change_flags(fd, FS_IMMUTABLE_FL, 0));
	ASSERT_EQ(0, stat(path, &st2));
	EXPECT_TRUE(f2g_ts_before(&st1.st_ctim, &st2.st_ctim));
	EXPECT_EQ(0, fsync(fd));
	usleep(20000);
	ASSERT_EQ(0, change_flags(fd, 0, FS_IMMUTABLE_FL));
	ASSERT_EQ(0, fstat(fd, &st3));
	EXPECT_TRUE(f2g_ts_before(&st2.st_ctim, &st3.st_ctim));
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(0, close(fd));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	ASSERT_EQ(0, f2g_stat_with_ext4("flags", &disk));
	EXPECT_EQ(st3.st_ctim.tv_sec, disk.st_ctim.tv_sec);
	EXPECT_EQ(st3.st_ctim.tv_nsec, disk.st_ctim.tv_nsec);
}

/*
 * FUSE_IOMAP negotiated but no device registered (the test holds the
 * device exclusively, so the kernel refuses fuse2fs's claim and the mount
 * is classic): the kernel still applies the flags of every reply and, with
 * the writeback cache, keeps the times of classic files, so fuse2fs must
 * still report the flags and take the kernel's times of an immutable
 * file.  Before, fsync after chattr +i failed with EPERM.
 */
TEST_F(f2b, flags_hold_when_no_device_could_be_registered)
{
	static char buf[4096];
	struct stat st0, st1;
	const char *path;
	int hold, fd;

	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	hold = open(f2g_device(), O_RDONLY | O_EXCL);
	ASSERT_LE(0, hold);
	ASSERT_EQ(0, f2g_mount_opts(&self->srv, "iomap=auto,writeback_cache"));
	path = kt_path(&self->srv, "nodev");
	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, kt_fd_iomap(fd, NULL));
	EXPECT_EQ((ssize_t)sizeof(buf), pwrite(fd, buf, sizeof(buf), 0));
	ASSERT_EQ(0, fstat(fd, &st0));
	usleep(20000);
	ASSERT_EQ(0, change_flags(fd, FS_IMMUTABLE_FL, 0));
	EXPECT_EQ(0, fsync(fd));
	ASSERT_EQ(0, fstat(fd, &st1));
	EXPECT_TRUE(f2g_ts_before(&st0.st_ctim, &st1.st_ctim));
	/* the kernel knows: the VFS refuses, the server is not asked */
	errno = 0;
	EXPECT_EQ(-1, pwrite(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(EPERM, errno);
	errno = 0;
	EXPECT_EQ(-1, open(path, O_WRONLY));
	EXPECT_EQ(EPERM, errno);
	ASSERT_EQ(0, change_flags(fd, 0, FS_IMMUTABLE_FL));
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(0, close(fd));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	close(hold);
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

/* One of two writers filling the holes of a sparse file side by side */
struct hole_filler {
	int fd;
	char *map;		/* NULL: pwrite, else store through it */
	long pages;
	long failed;		/* pwrites that did not write 8 bytes */
	int err;		/* errno of the first */
};

#define FILL_PWRITE	0x5757575757575757ULL
#define FILL_STORE	0x4d4d4d4d4d4d4d4dULL

static void *fill_holes(void *arg)
{
	struct hole_filler *h = arg;
	const uint64_t pw = FILL_PWRITE;
	long i;

	for (i = 0; i < h->pages; i++) {
		if (h->map) {
			*(volatile uint64_t *)(h->map + i * 4096 + 2048) =
				FILL_STORE;
			continue;
		}
		if (pwrite(h->fd, &pw, sizeof(pw), i * 4096 + 1024) !=
		    sizeof(pw) && !h->failed++)
			h->err = errno;
	}
	return NULL;
}

/* Run both writers over @pages pages of @fd, mapped at @map: 0 or -1. */
static int fill_side_by_side(int fd, char *map, long pages,
			     struct hole_filler h[2])
{
	pthread_t t[2];
	int i, started = 0;

	for (i = 0; i < 2; i++) {
		h[i] = (struct hole_filler){
			.fd = fd, .map = i ? map : NULL, .pages = pages,
		};
		if (pthread_create(&t[i], NULL, fill_holes, &h[i]))
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	return started == 2 ? 0 : -1;
}

/* Pages of @path whose two markers are not both there, read O_DIRECT. */
static long pages_without_markers(const char *path, long pages)
{
	long p, bad = 0;
	char *buf;
	int fd;

	if (posix_memalign((void **)&buf, 4096, MIB))
		return -1;
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		free(buf);
		return -1;
	}
	for (p = 0; p < pages; p++) {
		char *page = buf + (p % (MIB / 4096)) * 4096;

		if (!(p % (MIB / 4096)) &&
		    pread(fd, buf, MIB, p * 4096) != (ssize_t)MIB) {
			bad = -1;
			break;
		}
		if (*(uint64_t *)(page + 1024) != FILL_PWRITE ||
		    *(uint64_t *)(page + 2048) != FILL_STORE)
			bad++;
	}
	close(fd);
	free(buf);
	return bad;
}

/*
 * Two writers fill the holes of one sparse file page by page, side by
 * side: one with pwrite, one through a shared mapping (fstests
 * generic/346).  Each allocation changes the server's block map cookie,
 * and a pwrite whose BEGIN reply the kernel took after the other
 * writer's took its mapping for stale and asked again; 32 times in a
 * row failed the pwrite with EIO (the write was lost).  Another file
 * written back meanwhile adds conversions.  Every pwrite must succeed,
 * and every marker of both writers be on the device afterwards.
 */
TEST_F_TIMEOUT(f2b, two_writers_fill_the_holes_of_one_file, 300)
{
	const long pages = 64 * MIB / 4096;
	const char *path = kt_path(&self->srv, "holes");
	struct hole_filler h[2];
	int round, fd = -1, bg;
	char *map;

	bg = open(kt_path(&self->srv, "background"), O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, bg);
	for (round = 0; round < 5; round++) {
		/* dirty pages for writeback to convert meanwhile */
		EXPECT_EQ(0, buffered_fill(bg, round * 64 * MIB, 64 * MIB,
					   MIB, 12));
		fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
		EXPECT_LE(0, fd);
		EXPECT_EQ(0, ftruncate(fd, pages * 4096));
		map = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE,
			   MAP_SHARED, fd, 0);
		EXPECT_NE(MAP_FAILED, map);
		if (fd < 0 || map == MAP_FAILED) {
			if (map != MAP_FAILED)
				munmap(map, pages * 4096);
			break;
		}
		EXPECT_EQ(0, fill_side_by_side(fd, map, pages, h));
		EXPECT_EQ(0, h[0].failed)
			TH_LOG("round %d: %ld pwrites failed, the first with %s",
			       round, h[0].failed, strerror(h[0].err));
		munmap(map, pages * 4096);
		EXPECT_EQ(0, fsync(fd));
		close(fd);
		fd = -1;
		EXPECT_EQ(0, drop_caches());
		EXPECT_EQ(0, pages_without_markers(path, pages))
			TH_LOG("round %d", round);
	}
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(0, fsync(bg));
	close(bg);
}

/*
 * A streaming writer gets blocks allocated ahead past EOF; once the last
 * of the inode's open files is closed they are given back (the kernel
 * forgets its mappings at that release, doc/protocol.md section 10): the
 * file then uses what it holds, as on ext4, while the inode stays cached.
 */
TEST_F(f2b, lookahead_goes_when_the_last_file_closes)
{
	const struct region r[] = { { 0, 4 * MIB, 9 } };
	const char *path = kt_path(&self->srv, "ahead");
	long data = 4 * MIB / 512;
	struct stat st;
	int fd, fd2;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	fd2 = open(path, O_RDONLY);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, buffered_fill(fd, 0, MIB, MIB, 9));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, buffered_fill(fd, MIB, 3 * MIB, MIB, 9));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_LT(data, st.st_blocks) TH_LOG("no look-ahead to give back");
	close(fd);
	/* another file of the inode is still open: nothing goes yet */
	usleep(200000);
	ASSERT_EQ(0, fstat(fd2, &st));
	EXPECT_LT(data, st.st_blocks);
	close(fd2);
	/*
	 * At once: the close dropped the cached count once the RELEASE was
	 * queued, so this stat's GETATTR reaches fuse2fs (one thread, in
	 * order) behind the RELEASE that gave the look-ahead back.  Nothing
	 * else is outstanding here, so no background slot holds it back.
	 */
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(data, st.st_blocks);
	EXPECT_EQ(0, f2g_check_regions(path, r, 1, false));
	/* and writing on after a new open still works */
	fd = open(path, O_WRONLY | O_APPEND);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, buffered_fill(fd, 4 * MIB, MIB, MIB, 9));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(data + MIB / 512, st.st_blocks);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("ahead",
					 &(struct region){ 0, 5 * MIB, 9 }, 1,
					 5 * MIB));
}

/*
 * A truncate to the size the file has frees what was allocated past EOF
 * (FALLOC_FL_KEEP_SIZE), as on ext4, also while the data is only in the
 * page cache: the server must not take it for a growth from the smaller
 * size it knows (generic/092).
 */
TEST_F(f2b, truncate_to_the_same_size_frees_blocks_past_eof)
{
	const struct region r[] = { { 0, MIB, 10 } };
	const char *path = kt_path(&self->srv, "same");
	long data = MIB / 512;
	struct stat st;
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4 * MIB));
	ASSERT_EQ(0, buffered_fill(fd, 0, MIB, 65536, 10));
	ASSERT_EQ(0, ftruncate(fd, MIB));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(data, st.st_blocks);
	EXPECT_EQ(0, f2g_check_regions(path, r, 1, true));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	ASSERT_EQ(0, f2g_stat_with_ext4("same", &st));
	EXPECT_EQ(data, st.st_blocks);
	EXPECT_EQ(0, f2g_check_with_ext4("same", r, 1, MIB));
}

/* A cold buffered read and a read fault take the data from the device. */
TEST_F(f2b, cold_reads_come_from_the_device)
{
	const size_t n = 2 * MIB;
	const struct region r[] = { { 0, n, 7 } };
	const char *path = kt_path(&self->srv, "cold");
	char *back = malloc(n), *map;
	int fd;

	ASSERT_NE(NULL, back);
	ASSERT_EQ(0, f2g_write_regions(path, r, 1));
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, trace_start());
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)n, pread(fd, back, n, 0));
	EXPECT_EQ(-1, kt_check(back, n, 0, 7));
	ASSERT_EQ(0, drop_caches());
	map = mmap(NULL, n, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(-1, kt_check(map, n, 0, 7));
	munmap(map, n);
	close(fd);
	EXPECT_EQ(0, traced("(FUSE_READ)"));
	free(back);
}

/*
 * A shared writable mapping of a sparse file: page_mkwrite has the server
 * allocate, msync writes the pages to the device without FUSE_WRITE.
 */
TEST_F(f2b, shared_mmap_write_reaches_the_device)
{
	const size_t n = 1 * MIB;
	const struct region r[] = { { 0, 8192, 0 }, { 8192, n - 8192, 9 } };
	const char *path = kt_path(&self->srv, "map");
	char *map;
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, n));
	map = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	kt_fill(map + 8192, n - 8192, 8192, 9);
	ASSERT_EQ(0, msync(map, n, MS_SYNC));
	munmap(map, n);
	close(fd);
	EXPECT_EQ(0, traced("(FUSE_WRITE)"));
	EXPECT_EQ(0, f2g_check_regions(path, r, 2, true));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("map", r, 2, n));
}

/*
 * Through a shared mapping, write 0xaa to [5000, 8192) of a file whose
 * end is at 5000: allowed (the last page), never file data.
 */
static int scribble_past_eof(int fd)
{
	char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (map == MAP_FAILED)
		return -1;
	memset(map + 5000, 0xaa, 8192 - 5000);
	return munmap(map, 8192);
}

/* 1 if [5000, 8192) reads as zeroes once the file has grown past it. */
static int zero_past_old_eof(int fd)
{
	char back[8192 - 5000];

	if (pread(fd, back, sizeof(back), 5000) != (ssize_t)sizeof(back))
		return -1;
	return kt_is_zero(back, sizeof(back));
}

/*
 * Truncating into the middle of a block zeroes the rest of it, and so
 * does growing the file: what a shared mapping wrote past the end of the
 * file (inside its last page) never shows up, in the page cache, once it
 * is gone, or through ext4.
 */
TEST_F(f2b, truncate_zeroes_the_partial_block)
{
	const struct region r[] = { { 0, 5000, 11 }, { 5000, 60536, 0 } };
	const char *path = kt_path(&self->srv, "trunc");
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, buffered_fill(fd, 0, 65536, 65536, 11));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, ftruncate(fd, 5000));
	ASSERT_EQ(0, scribble_past_eof(fd));
	ASSERT_EQ(0, ftruncate(fd, 65536));
	EXPECT_EQ(1, zero_past_old_eof(fd));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(0, f2g_check_regions(path, r, 2, false));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("trunc", r, 2, 65536));
}

/*
 * truncate(2) of a file nobody has open (its inode evicted first): the
 * zeroing of the partial block is written back like any other, without
 * a warning in the kernel log.
 */
TEST_F(f2b, truncate_by_path_of_a_closed_file)
{
	const struct region w[] = { { 0, 65536, 14 } };
	const struct region r[] = { { 0, 5000, 14 }, { 5000, 60536, 0 } };
	const char *path = kt_path(&self->srv, "closed");
	int warnings = kt_klog_count("WARNING");

	ASSERT_EQ(0, f2g_write_regions(path, w, 1));
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, truncate(path, 5000));
	ASSERT_EQ(0, truncate(path, 65536));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(0, f2g_check_regions(path, r, 2, false));
	EXPECT_EQ(warnings, kt_klog_count("WARNING"));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("closed", r, 2, 65536));
}

/*
 * A write past the end of the file zeroes what lies between the old end
 * and the write: bytes a shared mapping wrote past the end (inside its
 * last page) do not become file data.
 */
TEST_F(f2b, extending_write_zeroes_the_gap)
{
	const struct region r[] = { { 0, 5000, 12 }, { 5000, 60535, 0 },
				    { 65535, 1, 0 } };
	const char *path = kt_path(&self->srv, "gap");
	char zero = 0;
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, buffered_fill(fd, 0, 5000, 5000, 12));
	ASSERT_EQ(0, scribble_past_eof(fd));
	ASSERT_EQ(1, pwrite(fd, &zero, 1, 65535));
	EXPECT_EQ(1, zero_past_old_eof(fd));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(0, f2g_check_regions(path, r, 3, false));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("gap", r, 3, 65536));
}

/*
 * Writeback of a 64 MiB streaming write sends its conversions merged: a
 * handful of IOENDs, not one per folio or per bio.  iomap ends an ioend
 * chain at 4096 folios (16 MiB here), so 4 is the least, and a new
 * mapping or background writeback may cut a range once more (9 were seen
 * in CI when fuse2fs mapped 8 MiB per BEGIN).  One per bio (at most
 * 1 MiB) would be 64 or more, one per folio thousands (4,699 before the
 * merge).
 */
TEST_F(f2b, writeback_ioends_are_merged)
{
	const struct region r[] = { { 0, 64 * MIB, 13 } };
	const char *path = kt_path(&self->srv, "stream");
	int ioends;

	ASSERT_EQ(0, stream_and_fsync(path, &r[0]));
	ioends = traced("fuse_iomap_ioend:");
	EXPECT_LE(1, ioends);
	EXPECT_GE(32, ioends) {
		TH_LOG("%d IOENDs for 64 MiB", ioends);
	}
	EXPECT_EQ(0, traced("(FUSE_WRITE)"));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("stream", r, 1, 64 * MIB));
}

/* Lines of the trace that contain every one of the needles. */
static int traced_all(const char *const needles[])
{
	if (!trace)
		trace = kt_trace_stop(events);
	return trace ? kt_trace_count(trace, needles) : -1;
}

/*
 * A 256 MiB streaming buffered write (1 MiB write() calls, then fsync)
 * asks fuse2fs for blocks only while its look-ahead grows: 7 server
 * BEGINs in the guest (10 when it doubled, 33 when it allocated 8 MiB
 * at a time).  An answer the kernel could not keep (an IOEND completed
 * while it was on its way) costs one more BEGIN for the next write,
 * hence the margin.  The IOENDs are the kernel's (test_iomap_stream
 * counts them) and only logged.
 */
TEST_F_TIMEOUT(f2b, streaming_write_asks_for_blocks_rarely, 300)
{
	const char *const server_begin[] = {
		"fuse_iomap_begin:", " server:", NULL
	};
	const struct region r[] = { { 0, 256 * MIB, 41 } };
	const char *path = kt_path(&self->srv, "stream");
	int begins;

	ASSERT_EQ(0, stream_and_fsync(path, &r[0]));
	begins = traced_all(server_begin);
	TH_LOG("256 MiB streaming write: %d server BEGINs, %d IOENDs",
	       begins, traced("fuse_iomap_ioend:"));
	EXPECT_LE(1, begins);
	EXPECT_GE(20, begins);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(0, f2g_check_regions(path, r, 1, true));
}

/* xorshift32: the same sequence from the same seed. */
static uint32_t next_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Compare the file at path with shadow[0, size); 0 when equal. */
static int same_as_shadow(const char *path, const char *shadow, size_t size,
			  bool direct)
{
	char *buf = kt_alloc(size);
	int fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
	ssize_t got = -1;
	size_t i;

	if (fd >= 0 && buf)
		got = pread(fd, buf, size, 0);
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)size) {
		fprintf(stderr, "# %s: read %zd of %zu\n", path, got, size);
		free(buf);
		return -1;
	}
	for (i = 0; i < size && buf[i] == shadow[i]; i++)
		;
	if (i < size)
		fprintf(stderr, "# %s: differs at byte %zu\n", path, i);
	free(buf);
	return i < size ? -1 : 0;
}

/*
 * Random buffered writes (1 byte to 64 KiB, anywhere in 16 MiB, holes
 * and overwrites, fsync every 500) leave many scattered unwritten
 * extents for writeback's IOENDs to convert, several per IOEND: after
 * the last fsync the file reads back as a shadow copy says, through the
 * page cache after dropping it, through O_DIRECT, and through kernel
 * ext4 after unmount and e2fsck.
 */
TEST_F_TIMEOUT(f2b, random_buffered_writes_read_back_after_fsync, 300)
{
	const size_t span = 16 * MIB, max_len = 65536;
	const char *path = kt_path(&self->srv, "random");
	char *shadow = calloc(1, span), *buf = malloc(max_len);
	char dir[KT_PATH_MAX], epath[2 * KT_PATH_MAX];
	uint32_t x = 20261205;
	size_t size = 0, off, len, j;
	int fd, i, differs;

	ASSERT_TRUE(shadow && buf);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	for (i = 1; i <= 3000; i++) {
		len = 1 + next_rand(&x) % max_len;
		off = next_rand(&x) % (span - len);
		for (j = 0; j < len; j++)
			buf[j] = (char)next_rand(&x);
		ASSERT_EQ((ssize_t)len, pwrite(fd, buf, len, off));
		memcpy(shadow + off, buf, len);
		if (off + len > size)
			size = off + len;
		if (i % 500 == 0)
			ASSERT_EQ(0, fsync(fd));
	}
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(0, same_as_shadow(path, shadow, size, false));
	EXPECT_EQ(0, same_as_shadow(path, shadow, size & ~(size_t)4095,
				    true));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	ASSERT_EQ(0, f2g_ext4_mount(dir, sizeof(dir)));
	snprintf(epath, sizeof(epath), "%s/random", dir);
	differs = same_as_shadow(epath, shadow, size, false);
	f2g_ext4_unmount(dir);
	EXPECT_EQ(0, differs);
	free(shadow);
	free(buf);
}

/*
 * SEEK_DATA and SEEK_HOLE of a sparse file answered from the mappings,
 * without FUSE_LSEEK: data in the page cache over blocks the server still
 * has unwritten (a buffered write not yet written back) is data, as on
 * ext4.
 */
TEST_F(f2b, seek_data_and_hole_from_mappings)
{
	const struct region r[] = { { 0, 65536, 21 } };
	const char *path = kt_path(&self->srv, "seek");
	int fd;

	ASSERT_EQ(0, f2g_write_regions(path, r, 1));
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, buffered_fill(fd, MIB, 65536, 65536, 22));
	ASSERT_EQ(0, trace_start());
	EXPECT_EQ(65536, lseek(fd, 0, SEEK_HOLE));
	EXPECT_EQ(4096, lseek(fd, 4096, SEEK_DATA));
	EXPECT_EQ((off_t)MIB, lseek(fd, 65536, SEEK_DATA));
	EXPECT_EQ((off_t)MIB + 65536, lseek(fd, MIB, SEEK_HOLE));
	errno = 0;
	EXPECT_EQ(-1, lseek(fd, MIB + 65536, SEEK_DATA));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(0, traced("(FUSE_LSEEK)"));
	close(fd);
}

#define MAX_EXTENTS	64

struct extent {
	uint64_t logical, physical, length;
	bool unwritten;
};

/*
 * FIEMAP of path (synced), clipped to [0, size), with physically
 * contiguous neighbours of the same kind merged (fuse2fs answers with
 * runs, ext4 with its extents): the number of extents, or -1.
 */
static int fiemap_of(const char *path, uint64_t size, struct extent *out)
{
	size_t bytes = sizeof(struct fiemap) +
		       MAX_EXTENTS * sizeof(struct fiemap_extent);
	struct fiemap *fm = calloc(1, bytes);
	unsigned int i;
	int fd, n = 0;

	fd = open(path, O_RDONLY);
	if (fd < 0 || !fm)
		goto fail;
	fm->fm_length = FIEMAP_MAX_OFFSET;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = MAX_EXTENTS;
	if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
		fprintf(stderr, "# FIEMAP %s: %s\n", path, strerror(errno));
		goto fail;
	}
	for (i = 0; i < fm->fm_mapped_extents; i++) {
		const struct fiemap_extent *e = &fm->fm_extents[i];
		struct extent x = {
			.logical = e->fe_logical,
			.physical = e->fe_physical,
			.length = e->fe_length,
			.unwritten = e->fe_flags & FIEMAP_EXTENT_UNWRITTEN,
		};

		if (x.logical >= size)
			continue;
		if (x.logical + x.length > size)
			x.length = size - x.logical;
		if (n && out[n - 1].logical + out[n - 1].length == x.logical &&
		    out[n - 1].physical + out[n - 1].length == x.physical &&
		    out[n - 1].unwritten == x.unwritten)
			out[n - 1].length += x.length;
		else
			out[n++] = x;
	}
	close(fd);
	free(fm);
	return n;
fail:
	if (fd >= 0)
		close(fd);
	free(fm);
	return -1;
}

/*
 * filefrag's FIEMAP on an iomap file reports the real extents: the same
 * as kernel ext4 reports for the same file after unmount, written and
 * unwritten ones, holes left out.
 */
TEST_F(f2b, fiemap_matches_ext4)
{
	const struct region r[] = { { 0, 256 << 10, 31 },
				    { MIB, 128 << 10, 32 } };
	const uint64_t size = MIB + (128 << 10);
	const char *path = kt_path(&self->srv, "frag");
	struct extent ours[MAX_EXTENTS], theirs[MAX_EXTENTS];
	char dir[KT_PATH_MAX], epath[2 * KT_PATH_MAX];
	int fd, n, m, i;

	ASSERT_EQ(0, f2g_write_regions(path, r, 2));
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 512 << 10, 65536));
	close(fd);
	n = fiemap_of(path, size, ours);
	ASSERT_LE(3, n);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	ASSERT_EQ(0, f2g_ext4_mount(dir, sizeof(dir)));
	snprintf(epath, sizeof(epath), "%s/frag", dir);
	m = fiemap_of(epath, size, theirs);
	f2g_ext4_unmount(dir);
	ASSERT_EQ(m, n);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(theirs[i].logical, ours[i].logical);
		EXPECT_EQ(theirs[i].physical, ours[i].physical);
		EXPECT_EQ(theirs[i].length, ours[i].length);
		EXPECT_EQ(theirs[i].unwritten, ours[i].unwritten);
	}
}

/* 1 if /proc/swaps lists path, 0 if not, -1 on error. */
static int swap_listed(const char *path)
{
	char line[512];
	FILE *f = fopen("/proc/swaps", "r");
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, path))
			found = 1;
	fclose(f);
	return found;
}

/*
 * swapon on an iomap file is refused with EINVAL and a log line that says
 * why (the server's block map is not trusted for swap, doc/protocol.md
 * 10.2); nothing swaps to it and its data past the swap header stays.
 */
TEST_F(f2b, swapon_is_refused)
{
	const struct region r[] = { { 0, 16 * MIB, 33 } };
	const struct region rest[] = { { 65536, 16 * MIB - 65536, 33 } };
	const char *path = kt_path(&self->srv, "swap");
	int before, ret;

	ASSERT_EQ(0, f2g_write_regions(path, r, 1));
	ASSERT_EQ(0, chmod(path, 0600));
	ASSERT_EQ(0, kt_sh(60, "mkswap %s >/dev/null", path));
	before = kt_klog_count("swap on iomap files is not supported");
	ASSERT_LE(0, before);
	ret = swapon(path, 0);
	if (!ret)
		swapoff(path);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(before + 1,
		  kt_klog_count("swap on iomap files is not supported"));
	EXPECT_EQ(0, swap_listed(path));
	EXPECT_EQ(1, f2g_path_iomap(path));
	EXPECT_EQ(0, f2g_check_regions(path, rest, 1, true));
}

/*
 * A RWF_NOWAIT read (what io_uring first tries) of 64 KiB at 128 KiB of
 * a file whose first MiB holds the pattern of seed, after a plain read
 * of that MiB: 0 when it returned the cached data, -1 (logged) if not.
 */
static int nowait_read_of_cached_data(int fd, uint32_t seed)
{
	char *buf = malloc(MIB);
	struct iovec iov = { buf, 65536 };
	ssize_t n = -1;

	if (buf && pread(fd, buf, MIB, 0) == (ssize_t)MIB) {
		memset(buf, 0, 65536);
		n = preadv2(fd, &iov, 1, 131072, RWF_NOWAIT);
		if (n != 65536)
			fprintf(stderr, "# RWF_NOWAIT read of cached data: %zd (%s)\n",
				n, n < 0 ? strerror(errno) : "short");
		else if (kt_check(buf, 65536, 131072, seed) != -1) {
			fprintf(stderr, "# RWF_NOWAIT read: wrong data\n");
			n = -1;
		}
	}
	free(buf);
	return n == 65536 ? 0 : -1;
}

/*
 * RWF_NOWAIT readers and io_uring's first, IOCB_NOWAIT, try get cached
 * data at once, as on kernel ext4 (which the test asks too); data that
 * is not cached gets EAGAIN without a word to the server, since
 * readahead would wait for its mappings.
 */
TEST_F(f2b, nowait_reads_get_cached_data)
{
	const struct region r[] = { { 0, MIB, 17 } };
	const char *path = kt_path(&self->srv, "nowait");
	char dir[64], ext4_path[128];
	char *buf = malloc(65536);
	struct iovec iov = { buf, 65536 };
	int fd;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, f2g_write_regions(path, r, 1));
	ASSERT_EQ(0, drop_caches());
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	ASSERT_EQ(0, trace_start());
	EXPECT_EQ(-1, preadv2(fd, &iov, 1, 131072, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, traced("fuse_iomap_begin:"));
	EXPECT_EQ(0, nowait_read_of_cached_data(fd, 17));
	close(fd);
	free(buf);

	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	ASSERT_EQ(0, f2g_ext4_mount(dir, sizeof(dir)));
	snprintf(ext4_path, sizeof(ext4_path), "%s/nowait", dir);
	fd = open(ext4_path, O_RDONLY);
	EXPECT_LE(0, fd);
	if (fd >= 0) {
		EXPECT_EQ(0, nowait_read_of_cached_data(fd, 17));
		close(fd);
	}
	f2g_ext4_unmount(dir);
}

/* Set the current device's read_ahead_kb, the old value kept for later. */
static int set_device_read_ahead_kb(int kb)
{
	if (ra_saved < 0) {
		snprintf(ra_dev, sizeof(ra_dev), "%s", f2g_device());
		ra_saved = kt_device_read_ahead_kb(ra_dev);
	}
	if (ra_saved < 0)
		return -1;
	return kt_set_device_read_ahead_kb(f2g_device(), kb);
}

#define RA_SEED		41	/* the pattern of the readahead tests' file */

/* cachestat(2), which Debian 12's headers and C library do not know yet */
#define SYS_CACHESTAT	451
struct cachestat_range { uint64_t off, len; };
struct cachestat_counts {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted,
		 nr_recently_evicted;
};

/*
 * Pages of a cold file in the page cache after one access: a read fault
 * at fault_at through a shared mapping when read_len is 0, else a
 * read(2) of read_len at 0.  cachestat() counts the folios of readahead
 * still in flight too, where mincore() would count only those read.
 * -1 on error.
 */
static long pages_after_one_access(const char *path, size_t size,
				   size_t fault_at, size_t read_len)
{
	struct cachestat_range range = { 0, size };
	struct cachestat_counts cs;
	char *buf = read_len ? malloc(read_len) : NULL;
	char *map = MAP_FAILED;
	long n = -1;
	int fd = -1;

	if ((read_len && !buf) || drop_caches())
		goto out;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		goto out;
	if (read_len) {
		if (pread(fd, buf, read_len, 0) != (ssize_t)read_len)
			goto out;
	} else {
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			goto out;
		/* the fault, checked: the byte is the pattern's */
		if (kt_check(map + fault_at, 1, fault_at, RA_SEED) != -1)
			goto out;
	}
	if (syscall(SYS_CACHESTAT, fd, &range, &cs, 0) == 0)
		n = cs.nr_cache;
	else
		perror("# cachestat");
out:
	if (map != MAP_FAILED)
		munmap(map, size);
	if (fd >= 0)
		close(fd);
	free(buf);
	return n;
}

/*
 * The pages one access caches on the fuse2fs mount (ours) and on kernel
 * ext4 (theirs) of the same 16 MiB file "ra", cold on both; the fuse2fs
 * mount's read_ahead_kb is checked to be the device's, kb.  Ends with
 * nothing mounted.
 */
static void pages_on_both(struct __test_metadata *_metadata,
			  FIXTURE_DATA(f2b) *self, int kb, size_t fault_at,
			  size_t read_len, long *ours, long *theirs)
{
	const struct region r[] = { { 0, 16 * MIB, RA_SEED } };
	char dir[KT_PATH_MAX], epath[2 * KT_PATH_MAX];

	ASSERT_EQ(0, f2g_write_regions(kt_path(&self->srv, "ra"), r, 1));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	ASSERT_EQ(0, set_device_read_ahead_kb(kb));
	ASSERT_EQ(0, f2g_mount(&self->srv));
	EXPECT_EQ(kb, kt_mount_read_ahead_kb(self->srv.dir));
	*ours = pages_after_one_access(kt_path(&self->srv, "ra"), 16 * MIB,
				       fault_at, read_len);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	ASSERT_EQ(0, f2g_ext4_mount(dir, sizeof(dir)));
	snprintf(epath, sizeof(epath), "%s/ra", dir);
	*theirs = pages_after_one_access(epath, 16 * MIB, fault_at, read_len);
	f2g_ext4_unmount(dir);
	TH_LOG("cached after one access: fuse2fs %ld pages, ext4 %ld", *ours,
	       *theirs);
}

/*
 * The mount reads ahead as far as kernel ext4 on the same device: when
 * fuse2fs registers the device, the mount takes its read_ahead_kb (here
 * 1 MiB, not FUSE's 128 KiB).  A read fault in the middle of a cold
 * file reads one readahead window around it, the same pages on both.
 */
TEST_F(f2b, readahead_window_is_the_devices)
{
	long ours, theirs;

	pages_on_both(_metadata, self, 1024, 8 * MIB, 0, &ours, &theirs);
	ASSERT_LT(128 / 4, theirs);
	EXPECT_EQ(theirs, ours);
}

/*
 * A device that takes large IOs (a loop device: max_sectors_kb 1280,
 * where the scratch device has 127) lets a large read(2) read ahead more
 * than read_ahead_kb at once, up to the read's size: a cold 1 MiB read
 * caches the same pages on the fuse2fs mount as on kernel ext4.
 */
TEST_F(f2b, large_reads_read_ahead_as_the_device_allows)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char img[KT_PATH_MAX];
	long ours, theirs;
	int ret;

	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	snprintf(ra_device, sizeof(ra_device), "%s",
		 getenv("KT_DEVICE") ? getenv("KT_DEVICE") : "");
	snprintf(img, sizeof(img), "%s/ra-loop.%d", tmp, getpid());
	ret = kt_loop_new(img, "1G", ra_loop, sizeof(ra_loop));
	unlink(img);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, setenv("KT_DEVICE", ra_loop, 1));
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));

	pages_on_both(_metadata, self, 128, 0, MIB, &ours, &theirs);
	ASSERT_LT((long)(MIB / 4096), theirs);
	EXPECT_EQ(theirs, ours);
}

TEST_HARNESS_MAIN
