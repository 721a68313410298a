// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A hostile iomap server (hostile_server.c) answers FUSE_IOMAP_BEGIN with
 * one kind of bad mapping per file.  Each must fail the IO with EIO, leave
 * a rate-limited "bad iomap mapping" message in the kernel log, and leave
 * the guest running; the one valid file ("good") must work and take its
 * data from the device, not from the server.  Runs inside the UML guest.
 *
 * Environment: KT_DEVICE (default /dev/ubdb), KT_HOSTILE_SERVER (default:
 * hostile_server next to this program).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "ktest.h"
#include "hostile.h"

#define KLOG_NEEDLE "fuse: bad iomap mapping"

FIXTURE(hostile) {
	struct kt_server srv;
	char results[KT_PATH_MAX + 16];
	void *buf;
};

FIXTURE_SETUP(hostile)
{
	const char *bin = getenv("KT_HOSTILE_SERVER");
	const char *argv[] = { bin ? bin : "./hostile_server", kt_device(),
			       "@MNT@", self->results, "-f", NULL };
	const char *tmp = getenv("TMPDIR");

	snprintf(self->results, sizeof(self->results), "%s/hostile.%d",
		 tmp ? tmp : "/tmp", getpid());
	self->buf = kt_alloc(1 << 20);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, kt_server_start(&self->srv, argv));
}

FIXTURE_TEARDOWN(hostile)
{
	EXPECT_EQ(0, kt_server_stop(&self->srv));
	unlink(self->results);
	free(self->buf);
}

static int direct_io(const char *path, void *buf, size_t len, off_t off,
		     bool write)
{
	return write ? kt_direct_pwrite(path, buf, len, off) :
		       kt_direct_pread(path, buf, len, off);
}

/* The control: valid mappings work, and the data comes from the device. */
TEST_F(hostile, good_mapping_reads_the_device)
{
	const char *file = kt_path(&self->srv, hostile_kinds[HOSTILE_GOOD]);
	char *classic = kt_alloc(4096);
	uint64_t ino = 0;
	int fd;

	ASSERT_NE(NULL, classic);
	kt_fill(self->buf, 1 << 20, 0, 3);
	ASSERT_EQ(0, kt_direct_pwrite(kt_device(), self->buf, 1 << 20,
				      HOSTILE_DEV_OFF));
	memset(self->buf, 0, 1 << 20);
	ASSERT_EQ(0, kt_direct_pread(file, self->buf, 1 << 20, 0));
	EXPECT_EQ(-1, kt_check(self->buf, 1 << 20, 0, 3));

	fd = open(file, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, kt_fd_iomap(fd, &ino));
	EXPECT_EQ(100 + HOSTILE_GOOD, ino);
	/* buffered reads go to the device too, not to the server */
	ASSERT_EQ(4096, pread(fd, classic, 4096, 8192));
	EXPECT_EQ(-1, kt_check(classic, 4096, 8192, 3));
	close(fd);

	kt_fill(self->buf, 65536, 65536, 4);
	ASSERT_EQ(0, kt_direct_pwrite(file, self->buf, 65536, 65536));
	ASSERT_EQ(0, kt_direct_pread(kt_device(), self->buf, 65536,
				     HOSTILE_DEV_OFF + 65536));
	EXPECT_EQ(-1, kt_check(self->buf, 65536, 65536, 4));
	free(classic);
}

/* Every bad kind: EIO for direct reads and writes, and a log message. */
TEST_F(hostile, bad_mappings_give_eio)
{
	int before = kt_klog_count(KLOG_NEEDLE);
	int kind, dir, after;

	ASSERT_LE(0, before);
	for (kind = HOSTILE_GOOD + 1; kind < HOSTILE_NR_KINDS; kind++) {
		const char *file = kt_path(&self->srv, hostile_kinds[kind]);

		for (dir = 0; dir < 2; dir++) {
			bool write = dir;
			int err;

			/* a hole is a valid answer to a read */
			if (kind == HOSTILE_HOLE_WRITE && !write)
				continue;
			memset(self->buf, 0x11, 8192);
			err = direct_io(file, self->buf, 8192, 4096, write);
			EXPECT_EQ(-EIO, err) {
				TH_LOG("%s, direct %s: %d instead of EIO",
				       hostile_kinds[kind],
				       write ? "write" : "read", err);
			}
		}
	}
	after = kt_klog_count(KLOG_NEEDLE);
	/* rate limited: at least the first ones must have been logged */
	EXPECT_LT(before, after);
}

/* A hole is a valid mapping for a read: zeroes, and no message. */
TEST_F(hostile, hole_reads_zeroes)
{
	const char *file = kt_path(&self->srv,
				   hostile_kinds[HOSTILE_HOLE_WRITE]);

	memset(self->buf, 0x11, 8192);
	ASSERT_EQ(0, kt_direct_pread(file, self->buf, 8192, 4096));
	EXPECT_TRUE(kt_is_zero(self->buf, 8192));
}

/* The guest survived all of it: the mount still answers. */
TEST_F(hostile, still_serving_after_bad_mappings)
{
	const char *bad = kt_path(&self->srv, hostile_kinds[HOSTILE_OUTSIDE]);
	const char *good = kt_path(&self->srv, hostile_kinds[HOSTILE_GOOD]);
	int i;

	for (i = 0; i < 50; i++)
		EXPECT_EQ(-EIO, kt_direct_pread(bad, self->buf, 4096, 0));
	EXPECT_EQ(0, kt_direct_pread(good, self->buf, 4096, 0));
}

/*
 * A mapping marked FUSE_IOMAP_F_CACHE serves later IO without the server
 * ("cached" answers BEGIN once, then EIO) until the server's
 * FUSE_NOTIFY_INVAL_INODE; a bad mapping is refused every time, never kept.
 */
TEST_F(hostile, kept_mapping_until_server_invalidates)
{
	const char *file = kt_path(&self->srv, hostile_kinds[HOSTILE_CACHED]);
	struct stat st;
	int fd, i;

	kt_fill(self->buf, 1 << 20, 0, 5);
	ASSERT_EQ(0, kt_direct_pwrite(kt_device(), self->buf, 1 << 20,
				      HOSTILE_DEV_OFF));
	fd = open(file, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	memset(self->buf, 0, 65536);
	ASSERT_EQ(65536, pread(fd, self->buf, 65536, 0));
	EXPECT_EQ(-1, kt_check(self->buf, 65536, 0, 5));
	EXPECT_EQ(1, kt_fd_iomap_cached(fd));
	/* the server would answer EIO now: these use the kept mapping */
	ASSERT_EQ(65536, pread(fd, self->buf, 65536, 512 << 10));
	EXPECT_EQ(-1, kt_check(self->buf, 65536, 512 << 10, 5));
	kt_fill(self->buf, 4096, 8192, 6);
	ASSERT_EQ(4096, pwrite(fd, self->buf, 4096, 8192));
	ASSERT_EQ(0, kt_direct_pread(kt_device(), self->buf, 4096,
				     HOSTILE_DEV_OFF + 8192));
	EXPECT_EQ(-1, kt_check(self->buf, 4096, 8192, 6));
	/* the server takes its mapping back */
	EXPECT_EQ(-1, stat(kt_path(&self->srv, HOSTILE_INVAL_TRIGGER), &st));
	EXPECT_EQ(0, kt_fd_iomap_cached(fd));
	EXPECT_EQ(-1, pread(fd, self->buf, 4096, 0));
	EXPECT_EQ(EIO, errno);
	close(fd);

	fd = open(kt_path(&self->srv, hostile_kinds[HOSTILE_OUTSIDE_CACHED]),
		  O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(-1, pread(fd, self->buf, 4096, 0));
		EXPECT_EQ(EIO, errno);
	}
	EXPECT_EQ(0, kt_fd_iomap_cached(fd));
	close(fd);
}

/* Attributes that cannot describe an iomap inode leave it classic. */
TEST_F(hostile, unusable_attributes_stay_classic)
{
	static const int kinds[] = {
		HOSTILE_INO_ZERO, HOSTILE_BLKSIZE_ODD, HOSTILE_BLKSIZE_BIG,
	};
	unsigned int i;
	int fd;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		fd = open(kt_path(&self->srv, hostile_kinds[kinds[i]]),
			  O_RDONLY | O_DIRECT);
		ASSERT_LE(0, fd);
		EXPECT_EQ(0, kt_fd_iomap(fd, NULL)) {
			TH_LOG("%s is in iomap mode", hostile_kinds[kinds[i]]);
		}
		/* classic direct IO: the server's bytes */
		EXPECT_EQ(4096, pread(fd, self->buf, 4096, 0));
		EXPECT_EQ(HOSTILE_CLASSIC_BYTE, ((char *)self->buf)[0]);
		close(fd);
	}
}

/*
 * A server that does not implement FUSE_IOMAP_BEGIN: that IO fails, and
 * inodes instantiated afterwards are classic.
 */
TEST_F(hostile, begin_enosys_disables_iomap)
{
	const char *enosys = kt_path(&self->srv, hostile_kinds[HOSTILE_ENOSYS]);
	int fd;

	fd = open(enosys, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, kt_fd_iomap(fd, NULL));
	EXPECT_EQ(-1, pread(fd, self->buf, 4096, 0));
	EXPECT_EQ(EIO, errno);
	close(fd);

	fd = open(kt_path(&self->srv, hostile_kinds[HOSTILE_GOOD]), O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, kt_fd_iomap(fd, NULL));
	close(fd);
}

/*
 * The server switches a live iomap inode to classic: the open file keeps
 * its mode, and once it is closed the inode is dropped, so that the next
 * open instantiates it classic.
 */
TEST_F(hostile, live_flip_applies_at_next_instantiation)
{
	const char *flip = kt_path(&self->srv, hostile_kinds[HOSTILE_FLIP]);
	struct statx stx;
	struct stat st;
	int fd;

	fd = open(flip, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, kt_fd_iomap(fd, NULL));

	EXPECT_NE(0, stat(kt_path(&self->srv, HOSTILE_FLIP_TRIGGER), &st));
	/* a GETATTR now carries the new (classic) flag */
	ASSERT_EQ(0, statx(fd, "", AT_EMPTY_PATH | AT_STATX_FORCE_SYNC,
			   STATX_BASIC_STATS, &stx));
	EXPECT_EQ(1, kt_fd_iomap(fd, NULL));
	close(fd);

	fd = open(flip, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, kt_fd_iomap(fd, NULL));
	EXPECT_EQ(4096, pread(fd, self->buf, 4096, 0));
	EXPECT_EQ(HOSTILE_CLASSIC_BYTE, ((char *)self->buf)[0]);
	close(fd);
}

/*
 * A write into unwritten blocks whose conversion the server fails
 * (IOEND answered EIO): the writer gets EIO, and so does fsync.
 */
TEST_F(hostile, failed_ioend_reports_eio)
{
	const char *file = kt_path(&self->srv,
				   hostile_kinds[HOSTILE_IOEND_FAIL]);
	int fd;

	fd = open(file, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	kt_fill(self->buf, 65536, 0, 8);
	EXPECT_EQ(-1, pwrite(fd, self->buf, 65536, 0));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-1, fsync(fd));
	EXPECT_EQ(EIO, errno);
	close(fd);
	/* unwritten blocks read as zeroes, converted or not */
	EXPECT_EQ(0, kt_direct_pread(file, self->buf, 65536, 0));
	EXPECT_TRUE(kt_is_zero(self->buf, 65536));
}

/*
 * Every bad kind met by the page cache: a buffered read fails with EIO,
 * and a buffered write fails with EIO at once or at fsync (writeback);
 * the device outside the good file's blocks is never written.
 */
TEST_F(hostile, bad_mappings_fail_buffered_io)
{
	char *guard = kt_alloc(65536);
	int kind, fd, wr, sy;

	ASSERT_NE(NULL, guard);
	ASSERT_EQ(0, kt_direct_pread(kt_device(), guard, 65536, 0));
	for (kind = HOSTILE_GOOD + 1; kind < HOSTILE_NR_KINDS; kind++) {
		const char *file = kt_path(&self->srv, hostile_kinds[kind]);

		fd = open(file, O_RDWR);
		ASSERT_LE(0, fd);
		if (kind != HOSTILE_HOLE_WRITE) {
			errno = 0;
			EXPECT_EQ(-1, pread(fd, self->buf, 8192, 4096)) {
				TH_LOG("%s: buffered read worked",
				       hostile_kinds[kind]);
			}
			EXPECT_EQ(EIO, errno);
		}
		memset(self->buf, 0x77, 8192);
		wr = pwrite(fd, self->buf, 8192, 4096);
		sy = fsync(fd);
		EXPECT_TRUE(wr == -1 || sy == -1) {
			TH_LOG("%s: buffered write and fsync worked",
			       hostile_kinds[kind]);
		}
		close(fd);
	}
	memset(self->buf, 0, 65536);
	ASSERT_EQ(0, kt_direct_pread(kt_device(), self->buf, 65536, 0));
	EXPECT_EQ(0, memcmp(guard, self->buf, 65536));
	free(guard);
}

/* errno of fsync (fdatasync with datasync), or 0 */
static int sync_error(int fd, bool datasync)
{
	errno = 0;
	return (datasync ? fdatasync(fd) : fsync(fd)) ? errno : 0;
}

/*
 * Writeback into unwritten blocks whose conversion the server fails: the
 * next fsync of every open file reports EIO once, as on ext4 (errseq),
 * and a file opened after the failure does not see it.  (This server has
 * no SETATTR, so a later fsync that sends the times fails with ENOSYS.)
 */
TEST_F(hostile, failed_writeback_reported_once_per_file)
{
	const char *file = kt_path(&self->srv,
				   hostile_kinds[HOSTILE_IOEND_FAIL]);
	int fd, fd2, fd3;

	fd = open(file, O_RDWR);
	ASSERT_LE(0, fd);
	fd2 = open(file, O_RDONLY);
	ASSERT_LE(0, fd2);
	kt_fill(self->buf, 65536, 0, 8);
	ASSERT_EQ(65536, pwrite(fd, self->buf, 65536, 0));
	EXPECT_EQ(EIO, sync_error(fd, false));
	EXPECT_NE(EIO, sync_error(fd, false));
	EXPECT_EQ(EIO, sync_error(fd2, true));
	EXPECT_NE(EIO, sync_error(fd2, true));
	fd3 = open(file, O_RDONLY);
	ASSERT_LE(0, fd3);
	EXPECT_NE(EIO, sync_error(fd3, false));
	close(fd3);
	close(fd2);
	close(fd);
}

/*
 * A writeback failure, then an open with O_TRUNC: the open works (what
 * it discards needs no writing, as on ext4), and does not take the error
 * from the files open at the time: their fsync still reports it.
 * (syncfs, unlike fsync and sync_file_range, leaves the file's error
 * flag alone for the open to meet.)
 */
TEST_F(hostile, o_trunc_after_failed_writeback)
{
	const char *file = kt_path(&self->srv,
				   hostile_kinds[HOSTILE_IOEND_FAIL]);
	int fd, fd2;

	fd = open(file, O_RDWR);
	ASSERT_LE(0, fd);
	kt_fill(self->buf, 65536, 0, 8);
	ASSERT_EQ(65536, pwrite(fd, self->buf, 65536, 0));
	syncfs(fd);
	fd2 = open(file, O_RDWR | O_TRUNC);
	EXPECT_LE(0, fd2) {
		TH_LOG("open(O_TRUNC) after a writeback failure: %s",
		       strerror(errno));
	}
	EXPECT_EQ(EIO, sync_error(fd, false));
	if (fd2 >= 0)
		close(fd2);
	close(fd);
}

/* Registration refuses what the kernel must not write through. */
TEST_F(hostile, registration_errors)
{
	static const struct {
		const char *name;
		int err;
	} want[] = {
		{ "regular_file", ENOTBLK },
		{ "read_only", EACCES },
		{ "flags", EINVAL },
		{ "padding", EINVAL },
		{ "bad_fd", EBADF },
	};
	char name[64];
	unsigned int i, seen = 0;
	int err;
	FILE *f = fopen(self->results, "r");

	ASSERT_NE(NULL, f);
	while (fscanf(f, "%63s %d", name, &err) == 2) {
		for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			if (strcmp(name, want[i].name))
				continue;
			EXPECT_EQ(want[i].err, err) {
				TH_LOG("%s: errno %d", name, err);
			}
			seen++;
		}
	}
	fclose(f);
	EXPECT_EQ(sizeof(want) / sizeof(want[0]), seen);
}

TEST_HARNESS_MAIN
