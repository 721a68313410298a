// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What fuse-iomap must never do, checked the way a user or a hostile
 * server would get there (issue 9): hang a synchronous direct writer,
 * write to a device that is read-only, mounted, swap or claimed by
 * someone else, keep doing IO after the connection was aborted or the
 * server died, let two sub-block direct writes zero each other's data,
 * lose a deferred conversion when a file goes without a close-time
 * flush, or lose the times of direct writes when such an inode is
 * evicted.  Runs inside the UML guest, as root.  Environment: see
 * f2guest.c and test_hostile.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "f2guest.h"
#include "hostile.h"
#include "ktaio.h"

#ifndef RWF_DSYNC
#define RWF_DSYNC	0x00000002
#endif

/* ------------------------------------------------------------------ */
/* fuse2fs on a fresh file system                                      */

FIXTURE(f2) {
	struct kt_server srv;
};

FIXTURE_SETUP(f2)
{
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(f2)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

struct sync_write {
	const char *path;
	int oflags;		/* O_SYNC, O_DSYNC or 0 */
	int rwf;		/* RWF_DSYNC or 0 */
	bool prealloc;		/* write into unwritten blocks */
};

/* 1 MiB of direct writes in 64 KiB steps; 0 when all of them worked. */
static int do_sync_write(void *arg)
{
	const struct sync_write *w = arg;
	char *buf = kt_alloc(65536);
	off_t off;
	int fd;

	fd = open(w->path, O_CREAT | O_RDWR | O_DIRECT | w->oflags, 0644);
	if (fd < 0 || !buf)
		return 2;
	if (w->prealloc && fallocate(fd, 0, 0, 1 << 20))
		return 3;
	for (off = 0; off < 1 << 20; off += 65536) {
		struct iovec iov = { buf, 65536 };

		kt_fill(buf, 65536, off, 11);
		if (pwritev2(fd, &iov, 1, off, w->rwf) != 65536)
			return 4;
	}
	return close(fd) ? 5 : 0;
}

/*
 * O_SYNC, O_DSYNC and RWF_DSYNC direct writes, into holes and into
 * unwritten blocks, finish: their completion syncs the file, which must
 * not wait for the lock the write itself holds.
 */
TEST_F(f2, sync_direct_writes_finish)
{
	static const struct {
		const char *name;
		int oflags, rwf;
		bool prealloc;
	} cases[] = {
		{ "osync", O_SYNC, 0, false },
		{ "odsync", O_DSYNC, 0, false },
		{ "rwf_dsync", 0, RWF_DSYNC, false },
		{ "odsync_unwritten", O_DSYNC, 0, true },
	};
	const struct region r[] = { { 0, 1 << 20, 11 } };
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sync_write w = {
			.path = kt_path(&self->srv, cases[i].name),
			.oflags = cases[i].oflags,
			.rwf = cases[i].rwf,
			.prealloc = cases[i].prealloc,
		};

		ASSERT_EQ(0, kt_run_bounded(do_sync_write, &w, 30)) {
			TH_LOG("%s: the direct writer did not finish",
			       cases[i].name);
		}
		EXPECT_EQ(0, f2g_check_regions(w.path, r, 1, true));
	}
}

/* The same on a mount that is synchronous as a whole (-o sync). */
TEST_F(f2, sync_mount_direct_writes_finish)
{
	struct sync_write w = { .path = kt_path(&self->srv, "syncmnt") };
	const struct region r[] = { { 0, 1 << 20, 11 } };

	ASSERT_EQ(0, mount(NULL, self->srv.dir, NULL,
			   MS_REMOUNT | MS_SYNCHRONOUS, NULL));
	ASSERT_EQ(0, kt_run_bounded(do_sync_write, &w, 30));
	EXPECT_EQ(0, f2g_check_regions(w.path, r, 1, true));
}

/*
 * Eight 512-byte direct writes submitted together into each 4 KiB block
 * of a preallocated (unwritten) range: iomap zeroes the rest of the block
 * around each, so without serialisation they wipe each other out.
 */
TEST_F(f2, subblock_aio_writes_keep_each_other)
{
	enum { BLOCKS = 16, PER = 8, SECT = 512 };
	const char *path = kt_path(&self->srv, "subblock");
	struct iocb cbs[PER], *cbp[PER];
	char *buf = kt_alloc(BLOCKS * 4096);
	char *back = kt_alloc(BLOCKS * 4096);
	io_context_t ctx = 0;
	int fd, b, i, bad = 0;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	fd = open(path, O_CREAT | O_RDWR | O_DIRECT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fallocate(fd, 0, 0, BLOCKS * 4096));
	ASSERT_EQ(0, io_setup(PER, &ctx));
	kt_fill(buf, BLOCKS * 4096, 0, 21);
	for (b = 0; b < BLOCKS; b++) {
		for (i = 0; i < PER; i++) {
			off_t off = b * 4096 + i * SECT;

			io_prep_pwrite(&cbs[i], fd, buf + off, SECT, off);
			cbp[i] = &cbs[i];
		}
		ASSERT_EQ(PER, io_submit(ctx, PER, cbp));
		EXPECT_EQ(0, kt_aio_reap(ctx, PER));
	}
	io_destroy(ctx);
	ASSERT_EQ(BLOCKS * 4096, pread(fd, back, BLOCKS * 4096, 0));
	close(fd);
	for (b = 0; b < BLOCKS * 4096 / SECT; b++)
		if (memcmp(buf + b * SECT, back + b * SECT, SECT))
			bad++;
	EXPECT_EQ(0, bad) {
		TH_LOG("%d of %d sectors lost", bad, BLOCKS * 4096 / SECT);
	}
	free(buf);
	free(back);
}

/*
 * Evict the unused inodes.  No sync(2) first: it would write the inode
 * back and send what the kernel kept back, and hide a release that did
 * neither.
 */
static int drop_caches(void)
{
	return kt_sh(30, "echo 3 > /proc/sys/vm/drop_caches");
}

/*
 * Extending direct writes through an io_uring registered file whose fd
 * was closed first: no flush ever comes, only the release when the ring
 * lets go.  The kernel defers the conversion of such streaming writes;
 * it must still reach the server (data and size survive the inode being
 * evicted and the unmount), and the times of the writes must too.
 */
TEST_F(f2, release_without_flush_keeps_data_and_times)
{
	enum { N = 8, LEN = 1 << 20 };
	const char *path = kt_path(&self->srv, "uring");
	const struct region r[] = { { 0, N * LEN, 31 } };
	int warn_before = kt_klog_count("WARNING");
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct statx stx;
	struct stat st2;
	char *buf = kt_alloc(N * LEN);
	int fd, i;

	ASSERT_NE(NULL, buf);
	ASSERT_LE(0, warn_before);
	kt_fill(buf, N * LEN, 0, 31);
	fd = open(path, O_CREAT | O_RDWR | O_DIRECT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, io_uring_register_files(&ring, &fd, 1));
	ASSERT_EQ(0, close(fd));
	/* the times must move, and be seen to */
	sleep(1);
	for (i = 0; i < N; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		ASSERT_NE(NULL, sqe);
		io_uring_prep_write(sqe, 0, buf + (size_t)i * LEN, LEN,
				    (off_t)i * LEN);
		sqe->flags |= IOSQE_FIXED_FILE;
		ASSERT_EQ(1, io_uring_submit(&ring));
		ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
		EXPECT_EQ(LEN, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	/* the kernel's view, without a request the server could learn from */
	ASSERT_EQ(0, statx(AT_FDCWD, path, AT_STATX_DONT_SYNC,
			   STATX_MTIME, &stx));
	/* the last reference goes here, without a flush */
	io_uring_queue_exit(&ring);
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, stat(path, &st2));
	EXPECT_EQ(N * LEN, st2.st_size);
	EXPECT_EQ(stx.stx_mtime.tv_sec, st2.st_mtim.tv_sec);
	EXPECT_EQ(stx.stx_mtime.tv_nsec, st2.st_mtim.tv_nsec);
	EXPECT_EQ(0, f2g_check_regions(path, r, 1, true));
	EXPECT_EQ(warn_before, kt_klog_count("WARNING"));
	free(buf);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("uring", r, 1, N * LEN));
}

/*
 * O_DIRECT that is not aligned for the block device (which classic FUSE
 * always served) still works: the server does it.
 */
TEST_F(f2, misaligned_direct_io_goes_through_server)
{
	const struct region r[] = { { 0, 1 << 20, 61 } };
	const char *path = kt_path(&self->srv, "misaligned");
	char *buf = kt_alloc(8192);
	char *want = kt_alloc(8192);
	int fd;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, want);
	ASSERT_EQ(0, f2g_write_regions(path, r, 1));
	fd = open(path, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	/* odd offset, odd length, odd buffer */
	ASSERT_EQ(1000, pread(fd, buf + 1, 1000, 100));
	EXPECT_EQ(-1, kt_check(buf + 1, 1000, 100, 61));
	kt_fill(want, 8192, 0, 62);
	ASSERT_EQ(3000, pwrite(fd, want + 7, 3000, 5000));
	ASSERT_EQ(8192, pread(fd, buf, 8192, 4096));
	EXPECT_EQ(0, memcmp(buf + 904, want + 7, 3000));
	EXPECT_EQ(-1, kt_check(buf, 904, 4096, 61));
	close(fd);
	free(buf);
	free(want);
}

/*
 * A 1 MiB file written with seed, open for direct IO, with a mapping the
 * kernel keeps after a first read; the fd, or -1 (the reason printed).
 */
static int open_with_kept_mapping(const char *path, uint32_t seed, char *buf)
{
	const struct region r[] = { { 0, 1 << 20, seed } };
	int fd;

	if (f2g_write_regions(path, r, 1))
		return -1;
	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0 || pread(fd, buf, 4096, 0) != 4096 ||
	    kt_fd_iomap_cached(fd) < 1) {
		fprintf(stderr, "# %s: no kept mapping after a direct read\n",
			path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/*
 * io_uring and RWF_NOWAIT readers first try without blocking: a read
 * inside a kept mapping needs nothing that blocks, and must not be
 * refused.
 */
TEST_F(f2, nowait_read_inside_kept_mapping)
{
	char *buf = kt_alloc(4096);
	struct iovec iov = { buf, 4096 };
	int fd;

	ASSERT_NE(NULL, buf);
	fd = open_with_kept_mapping(kt_path(&self->srv, "nowait"), 71, buf);
	ASSERT_LE(0, fd);
	EXPECT_EQ(4096, preadv2(fd, &iov, 1, 65536, RWF_NOWAIT)) {
		TH_LOG("RWF_NOWAIT read: %s", strerror(errno));
	}
	EXPECT_EQ(-1, kt_check(buf, 4096, 65536, 71));
	close(fd);
	free(buf);
}

/*
 * The last name of a file goes: a server may free its blocks then, so the
 * mappings the kernel kept for a file still open are forgotten first.
 */
TEST_F(f2, unlink_forgets_kept_mappings)
{
	const char *path = kt_path(&self->srv, "gone");
	char *buf = kt_alloc(4096);
	int fd;

	ASSERT_NE(NULL, buf);
	fd = open_with_kept_mapping(path, 91, buf);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, unlink(path));
	EXPECT_EQ(0, kt_fd_iomap_cached(fd));
	/* the open file still reads its data, asking the server again */
	ASSERT_EQ(4096, pread(fd, buf, 4096, 8192));
	EXPECT_EQ(-1, kt_check(buf, 4096, 8192, 91));
	close(fd);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* hostile_server: registration policy, abort, server death            */

FIXTURE(hs) {
	struct kt_server srv;
	char results[KT_PATH_MAX + 16];
	char *buf;
	char loops[3][32];	/* loop devices set up by a test */
};

static int hs_start(struct kt_server *srv, const char *results)
{
	const char *bin = getenv("KT_HOSTILE_SERVER");
	const char *argv[] = { bin ? bin : "./hostile_server", f2g_device(),
			       "@MNT@", results, "-f", NULL };

	return kt_server_start(srv, argv);
}

FIXTURE_SETUP(hs)
{
	const char *tmp = getenv("TMPDIR");

	memset(self->loops, 0, sizeof(self->loops));
	snprintf(self->results, sizeof(self->results), "%s/hs-safety.%d",
		 tmp ? tmp : "/tmp", getpid());
	self->buf = kt_alloc(1 << 20);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(hs)
{
	int i;

	/* an aborted or killed server's exit status says nothing here */
	kt_server_stop(&self->srv);
	kt_sh(30, "swapoff -a 2>/dev/null; umount %s/hs-mnt 2>/dev/null; true",
	      getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	for (i = 0; i < 3; i++)
		if (self->loops[i][0])
			kt_sh(30, "losetup -d %s", self->loops[i]);
	kt_sh(30, "blockdev --setrw %s", f2g_device());
	unlink(self->results);
	free(self->buf);
}

/* The fusectl directory of the connection behind a mountpoint. */
static void conn_dir(const char *mnt, char *out, size_t len)
{
	struct stat st;

	if (stat(mnt, &st))
		st.st_dev = 0;
	snprintf(out, len, "/sys/fs/fuse/connections/%u", minor(st.st_dev));
}

/* A 64 MiB loop device on a tmpfs file, its name in out; 0 or -1. */
static int make_loop(const char *name, char *out, size_t len)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char file[KT_PATH_MAX + 64];

	snprintf(file, sizeof(file), "%s/%s.img", tmp, name);
	return kt_loop_new(file, "64M", out, len);
}

/*
 * Registration claims the device for the connection and refuses devices
 * the server could not write safely itself: read-only, swap, mounted.
 */
TEST_F(hs, registration_policy)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char env[256];
	int fd;

	ASSERT_EQ(0, make_loop("ro", self->loops[0], sizeof(self->loops[0])));
	ASSERT_EQ(0, make_loop("swap", self->loops[1],
			       sizeof(self->loops[1])));
	ASSERT_EQ(0, make_loop("mounted", self->loops[2],
			       sizeof(self->loops[2])));
	ASSERT_EQ(0, kt_sh(30, "mkswap %s >/dev/null && swapon %s",
			   self->loops[1], self->loops[1]));
	ASSERT_EQ(0, kt_sh(60, "mke2fs -q -F -t ext4 %s && mkdir -p %s/hs-mnt && mount %s %s/hs-mnt",
			   self->loops[2], tmp, self->loops[2], tmp));
	/* hostile_server sets "ro:" devices read-only after opening them */
	snprintf(env, sizeof(env), "ro:%s swap:%s mounted:%s",
		 self->loops[0], self->loops[1], self->loops[2]);
	ASSERT_EQ(0, setenv("HOSTILE_EXTRA_DEVS", env, 1));
	ASSERT_EQ(0, hs_start(&self->srv, self->results));
	unsetenv("HOSTILE_EXTRA_DEVS");

	EXPECT_EQ(EROFS, kt_noted(self->results, "ro"));
	EXPECT_EQ(EBUSY, kt_noted(self->results, "swap"));
	EXPECT_EQ(EBUSY, kt_noted(self->results, "mounted"));

	/* the registered device is the connection's: nobody can claim it */
	fd = open(f2g_device(), O_RDWR | O_EXCL);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(EBUSY, errno);
	if (fd >= 0)
		close(fd);
}

/* A device set read-only after registration gets no more writes. */
TEST_F(hs, read_only_device_refuses_writes)
{
	const char *good = NULL;

	ASSERT_EQ(0, hs_start(&self->srv, self->results));
	good = kt_path(&self->srv, hostile_kinds[HOSTILE_GOOD]);
	kt_fill(self->buf, 65536, 0, 41);
	ASSERT_EQ(0, kt_direct_pwrite(f2g_device(), self->buf, 65536,
				      HOSTILE_DEV_OFF));
	ASSERT_EQ(0, kt_sh(30, "blockdev --setro %s", f2g_device()));
	memset(self->buf, 0x77, 65536);
	EXPECT_EQ(-EROFS, kt_direct_pwrite(good, self->buf, 65536, 0));
	ASSERT_EQ(0, kt_sh(30, "blockdev --setrw %s", f2g_device()));
	ASSERT_EQ(0, kt_direct_pread(f2g_device(), self->buf, 65536,
				     HOSTILE_DEV_OFF));
	EXPECT_EQ(-1, kt_check(self->buf, 65536, 0, 41));
}

enum how_gone { ABORT, KILL };

/*
 * After the connection is gone, a file that is still open and whose
 * mapping the kernel kept ("cached") gets errors for direct IO, nothing
 * reaches the device, and the device is free for a new server.
 */
static void check_gone(struct __test_metadata *_metadata,
		       FIXTURE_DATA(hs) *self, enum how_gone how)
{
	const char *file;
	char dir[128], cmd[256];
	int fd, excl;
	ssize_t n;

	ASSERT_EQ(0, hs_start(&self->srv, self->results));
	file = kt_path(&self->srv, hostile_kinds[HOSTILE_CACHED]);
	fd = open(file, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(4096, pread(fd, self->buf, 4096, 0));
	ASSERT_EQ(1, kt_fd_iomap_cached(fd));
	kt_fill(self->buf, 65536, 0, 51);
	ASSERT_EQ(0, kt_direct_pwrite(f2g_device(), self->buf, 65536,
				      HOSTILE_DEV_OFF));

	if (how == ABORT) {
		conn_dir(self->srv.dir, dir, sizeof(dir));
		snprintf(cmd, sizeof(cmd), "echo 1 > %s/abort", dir);
		ASSERT_EQ(0, kt_sh(30, "%s", cmd));
	} else {
		ASSERT_EQ(0, kill(self->srv.pid, SIGKILL));
		waitpid(self->srv.pid, NULL, 0);
		self->srv.pid = 0;
	}

	memset(self->buf, 0x66, 65536);
	n = pwrite(fd, self->buf, 65536, 0);
	EXPECT_EQ(-1, n);
	EXPECT_TRUE(errno == ENOTCONN || errno == EIO) {
		TH_LOG("write after the end: %s", strerror(errno));
	}
	n = pread(fd, self->buf, 4096, 0);
	EXPECT_EQ(-1, n);
	close(fd);
	ASSERT_EQ(0, kt_direct_pread(f2g_device(), self->buf, 65536,
				     HOSTILE_DEV_OFF));
	EXPECT_EQ(-1, kt_check(self->buf, 65536, 0, 51));
	/* released: a new server could claim it now */
	excl = open(f2g_device(), O_RDWR | O_EXCL);
	EXPECT_LE(0, excl) {
		TH_LOG("exclusive open after the end: %s", strerror(errno));
	}
	if (excl >= 0)
		close(excl);
}

TEST_F(hs, abort_stops_kept_mappings)
{
	check_gone(_metadata, self, ABORT);
}

TEST_F(hs, server_death_stops_kept_mappings)
{
	check_gone(_metadata, self, KILL);
}

/* A direct write past EOF whose IOEND the server refuses: EIO, same size. */
TEST_F(hs, failed_extending_write_keeps_size)
{
	struct stat st;
	int fd;

	ASSERT_EQ(0, hs_start(&self->srv, self->results));
	fd = open(kt_path(&self->srv, hostile_kinds[HOSTILE_GROW_FAIL]),
		  O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	kt_fill(self->buf, 65536, 1 << 20, 81);
	EXPECT_EQ(-1, pwrite(fd, self->buf, 65536, 1 << 20));
	EXPECT_EQ(EIO, errno);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(1 << 20, st.st_size);
	close(fd);
}

/*
 * A streaming write whose conversion the kernel deferred, and the server
 * then refuses: fsync must send it and report the failure.
 */
TEST_F(hs, fsync_reports_failed_deferred_conversion)
{
	int fd;

	ASSERT_EQ(0, hs_start(&self->srv, self->results));
	fd = open(kt_path(&self->srv, hostile_kinds[HOSTILE_STREAM_FAIL]),
		  O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	kt_fill(self->buf, 65536, 1 << 20, 82);
	/* the conversion is deferred: the write itself succeeds */
	ASSERT_EQ(65536, pwrite(fd, self->buf, 65536, 1 << 20));
	EXPECT_EQ(-1, fsync(fd));
	EXPECT_EQ(EIO, errno);
	close(fd);
}

TEST_HARNESS_MAIN
