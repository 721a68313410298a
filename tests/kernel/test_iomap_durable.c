// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * When a synchronous buffered write to an iomap file (fuse2fs -o
 * iomap=auto) returns, its data and the size it gave the file are on the
 * device: O_SYNC, O_DSYNC, RWF_SYNC, RWF_DSYNC and a -o sync mount, into
 * holes, into unwritten (fallocated) blocks and past the end of the file,
 * and msync(MS_SYNC) of a shared mapping.  The writer kills the server
 * with SIGKILL the moment its last call returned, so nothing the server
 * still held in memory reaches the device; kernel ext4 then reads the
 * device.  No writer may hang (each runs in a child with a time-out).
 *
 * The end of the connection with dirty page cache and with writeback in
 * flight (fusectl abort, SIGKILL): nothing hangs, later writes and fsync
 * fail (fsync never returns 0 for data that was lost), unmount works, and
 * the device does not change after the abort returned (compared with a
 * snapshot, the server stopped so that only the kernel could write).
 *
 * Every test starts from a fresh mke2fs and ends with `e2fsck -fn`.
 * Runs inside the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/falloc.h>

#include "kselftest_harness.h"
#include "f2guest.h"

#ifndef RWF_DSYNC
#define RWF_DSYNC	0x00000002
#endif
#ifndef RWF_SYNC
#define RWF_SYNC	0x00000004
#endif

/* ------------------------------------------------------------------ */
/* Synchronous buffered writes                                         */

FIXTURE(sync) {
	struct kt_server srv;
};

FIXTURE_VARIANT(sync) {
	int oflags;		/* O_SYNC, O_DSYNC or 0 */
	int rwf;		/* RWF_SYNC, RWF_DSYNC or 0 */
	bool sync_mount;	/* remounted MS_SYNCHRONOUS */
	int falloc;		/* -1: none, else the fallocate mode first */
};

FIXTURE_VARIANT_ADD(sync, o_sync) {
	.oflags = O_SYNC, .falloc = -1,
};

FIXTURE_VARIANT_ADD(sync, o_dsync) {
	.oflags = O_DSYNC, .falloc = -1,
};

FIXTURE_VARIANT_ADD(sync, rwf_sync) {
	.rwf = RWF_SYNC, .falloc = -1,
};

FIXTURE_VARIANT_ADD(sync, rwf_dsync) {
	.rwf = RWF_DSYNC, .falloc = -1,
};

FIXTURE_VARIANT_ADD(sync, sync_mount) {
	.sync_mount = true, .falloc = -1,
};

FIXTURE_VARIANT_ADD(sync, o_dsync_unwritten) {
	.oflags = O_DSYNC, .falloc = 0,
};

FIXTURE_VARIANT_ADD(sync, rwf_dsync_unwritten_keep_size) {
	.rwf = RWF_DSYNC, .falloc = FALLOC_FL_KEEP_SIZE,
};

FIXTURE_VARIANT_ADD(sync, o_sync_unwritten_keep_size) {
	.oflags = O_SYNC, .falloc = FALLOC_FL_KEEP_SIZE,
};

FIXTURE_SETUP(sync)
{
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(sync)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

#define FALLOC_LEN	(2 * MIB)

/* Unaligned pieces: into a hole, then past a gap, each extending. */
static const struct region sync_pieces[] = {
	{ 0, 5000, 1 }, { 5000, 200000, 2 }, { 205000, 495000, 0 },
	{ 700000, 300001, 3 },
};
#define SYNC_END	1000001

struct sync_writer {
	const char *path;
	int oflags, rwf;
	pid_t server;
};

/*
 * The writes, each synchronous, then SIGKILL to the server at once: what
 * is not on the device by then never will be.  0 when all worked.
 */
static int sync_write_then_kill(void *arg)
{
	const struct sync_writer *w = arg;
	char *buf = malloc(SYNC_END);
	unsigned int i;
	int fd;

	fd = open(w->path, O_WRONLY | w->oflags);
	if (fd < 0 || !buf)
		return 2;
	if (kt_fd_iomap(fd, NULL) != 1)
		return 3;
	for (i = 0; i < sizeof(sync_pieces) / sizeof(sync_pieces[0]); i++) {
		const struct region *r = &sync_pieces[i];
		struct iovec iov = { buf, r->len };

		if (!r->seed)
			continue;
		kt_fill(buf, r->len, r->off, r->seed);
		if (pwritev2(fd, &iov, 1, r->off, w->rwf) != (ssize_t)r->len)
			return 4;
	}
	kill(w->server, SIGKILL);
	return 0;
}

TEST_F(sync, data_and_size_on_the_device_when_the_write_returns)
{
	struct sync_writer w = {
		.path = kt_path(&self->srv, "f"),
		.oflags = variant->oflags,
		.rwf = variant->rwf,
		.server = self->srv.pid,
	};
	uint64_t size = SYNC_END;
	int fd;

	fd = open(w.path, O_CREAT | O_WRONLY, 0644);
	ASSERT_LE(0, fd);
	if (variant->falloc >= 0) {
		ASSERT_EQ(0, fallocate(fd, variant->falloc, 0, FALLOC_LEN));
		/* the preallocation itself is not what is tested */
		ASSERT_EQ(0, fsync(fd));
		if (!(variant->falloc & FALLOC_FL_KEEP_SIZE))
			size = FALLOC_LEN;
	}
	ASSERT_EQ(0, close(fd));
	if (variant->sync_mount)
		ASSERT_EQ(0, mount(NULL, self->srv.dir, NULL,
				   MS_REMOUNT | MS_SYNCHRONOUS, NULL));

	ASSERT_EQ(0, kt_run_bounded(sync_write_then_kill, &w, 60)) {
		TH_LOG("the synchronous writer failed or hung");
	}
	kt_server_kill(&self->srv);
	ASSERT_EQ(0, kt_server_stop(&self->srv));
	if (size == SYNC_END) {
		EXPECT_EQ(0, f2g_check_with_ext4("f", sync_pieces, 4, size));
	} else {
		const struct region r[] = {
			sync_pieces[0], sync_pieces[1], sync_pieces[2],
			sync_pieces[3], { SYNC_END, FALLOC_LEN - SYNC_END, 0 },
		};

		EXPECT_EQ(0, f2g_check_with_ext4("f", r, 5, size));
	}
}

/* ------------------------------------------------------------------ */
/* msync and the end of the connection                                 */

FIXTURE(end) {
	struct kt_server srv;
	uint64_t *snap;		/* one hash per MiB of the device */
	bool killed_busy;	/* the server died in the middle of writeback */
};

FIXTURE_SETUP(end)
{
	self->snap = calloc(1024, sizeof(*self->snap));
	ASSERT_NE(NULL, self->snap);
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(end)
{
	/* a stopped server must be able to die */
	if (self->srv.pid > 0)
		kill(self->srv.pid, SIGCONT);
	/*
	 * A server killed while it allocated for writeback leaves metadata
	 * it had not written yet (block bitmap differences): repaired first,
	 * as after any crash of fuse2fs, then it must check clean.
	 */
	if (self->killed_busy) {
		kt_server_stop(&self->srv);
		kt_sh(120, "e2fsck -fy %s", f2g_device());
	}
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	free(self->snap);
}

/*
 * msync(MS_SYNC) of a shared mapping that filled a hole and grew nothing
 * (the size came from ftruncate): after it returns the data is on the
 * device even if the server dies at once.
 */
TEST_F(end, msync_data_on_the_device)
{
	const struct region r[] = {
		{ 0, 8192, 0 }, { 8192, 100000, 5 }, { 108192, 3 * MIB, 0 },
		{ 108192 + 3 * MIB, 50000, 6 },
	};
	const uint64_t size = 108192 + 3 * MIB + 50000;
	const char *path = kt_path(&self->srv, "m");
	char *map;
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	ASSERT_EQ(0, ftruncate(fd, size));
	ASSERT_EQ(0, fsync(fd));
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	kt_fill(map + r[1].off, r[1].len, r[1].off, r[1].seed);
	kt_fill(map + r[3].off, r[3].len, r[3].off, r[3].seed);
	ASSERT_EQ(0, msync(map, size, MS_SYNC));
	ASSERT_EQ(0, kill(self->srv.pid, SIGKILL));
	kt_server_kill(&self->srv);
	munmap(map, size);
	close(fd);
	ASSERT_EQ(0, kt_server_stop(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("m", r, 4, size));
}

/* FNV-1a of each MiB of the file system's 1 GiB on the device. */
static int snapshot(uint64_t *snap)
{
	char *buf = kt_alloc(MIB);
	int fd = open(f2g_device(), O_RDONLY | O_DIRECT);
	int i, ret = 0;

	if (fd < 0 || !buf) {
		free(buf);
		return -1;
	}
	for (i = 0; i < 1024 && !ret; i++) {
		uint64_t h = 0xcbf29ce484222325ULL;
		size_t j;

		if (pread(fd, buf, MIB, (off_t)i * MIB) != (ssize_t)MIB) {
			ret = -1;
			break;
		}
		for (j = 0; j < MIB; j += 8) {
			uint64_t v;

			memcpy(&v, buf + j, 8);
			h = (h ^ v) * 0x100000001b3ULL;
		}
		snap[i] = h;
	}
	close(fd);
	free(buf);
	return ret;
}

/* MiB of the device that differ from the snapshot, or -1. */
static int changed_since(const uint64_t *snap)
{
	uint64_t *now = calloc(1024, sizeof(*now));
	int i, n = 0;

	if (!now || snapshot(now)) {
		free(now);
		return -1;
	}
	for (i = 0; i < 1024; i++)
		if (now[i] != snap[i]) {
			fprintf(stderr, "# MiB %d of the device changed\n", i);
			n++;
		}
	free(now);
	return n;
}

/* Abort the connection of st_dev dev through fusectl. */
static int abort_connection(dev_t dev)
{
	return kt_sh(30, "echo 1 > /sys/fs/fuse/connections/%u/abort",
		     minor(dev));
}

enum how_gone { ABORT, KILL };

/*
 * Stop the server (it must write nothing more: only the kernel could
 * change the device from now on), end the connection, then snapshot the
 * device.  The stopped server is killed at the end of the test.
 */
static int end_connection(FIXTURE_DATA(end) *self, enum how_gone how)
{
	struct stat st;
	int ret;

	/* asked first: a stopped server answers nothing */
	if (stat(self->srv.dir, &st))
		return -1;
	if (how == KILL) {
		/* the connection ends when the last /dev/fuse fd goes */
		kt_server_kill(&self->srv);
		self->killed_busy = true;
		ret = 0;
	} else {
		if (kill(self->srv.pid, SIGSTOP))
			return -1;
		ret = abort_connection(st.st_dev);
	}
	return ret ? ret : snapshot(self->snap);
}

/*
 * Unmount the dead mount (its page cache goes now: writeback at unmount
 * must fail, not write), compare the device with the snapshot, then let
 * a stopped server go on and exit (it writes its own metadata then).
 */
static void unmount_and_compare(struct __test_metadata *_metadata,
				FIXTURE_DATA(end) *self)
{
	EXPECT_EQ(0, umount(self->srv.dir)) {
		TH_LOG("unmount after the end: %s", strerror(errno));
	}
	self->srv.mounted = false;
	EXPECT_EQ(0, changed_since(self->snap));
	if (self->srv.pid > 0)
		kill(self->srv.pid, SIGCONT);
	kt_server_stop(&self->srv);
}

struct dirty_writer {
	const char *path;
	size_t len;
};

/*
 * Create the file (synced: after a SIGKILL the file system on the device
 * must still be consistent), then buffered writes of len bytes, seed 9,
 * leaving the pages dirty.  The fd, or -1.
 */
static int write_dirty(const struct dirty_writer *w)
{
	char *buf = malloc(MIB);
	size_t done;
	int fd = open(w->path, O_CREAT | O_RDWR, 0644);

	if (fd < 0 || !buf || fsync(fd))
		return -1;
	for (done = 0; done < w->len; done += MIB) {
		kt_fill(buf, MIB, done, 9);
		if (pwrite(fd, buf, MIB, done) != (ssize_t)MIB)
			return -1;
	}
	free(buf);
	return fd;
}

/*
 * A 1 MiB file with blocks (direct write, synced), open for buffered
 * reads, none of its pages cached: after the end its reads must fail.
 */
static int open_uncached(const char *path)
{
	char *buf = kt_alloc(MIB);
	int fd = open(path, O_CREAT | O_RDWR, 0644);

	if (fd < 0 || !buf)
		return -1;
	kt_fill(buf, MIB, 0, 4);
	if (kt_direct_pwrite(path, buf, MIB, 0) || fsync(fd)) {
		close(fd);
		fd = -1;
	}
	free(buf);
	return fd;
}

/*
 * After the end: the dirty file refuses writes, fsync and fdatasync, the
 * uncached one reads.
 */
static void check_after_end(struct __test_metadata *_metadata, int fd,
			    int uncached)
{
	char buf[4096];

	memset(buf, 0x5a, sizeof(buf));
	EXPECT_EQ(-1, pwrite(fd, buf, sizeof(buf), 0));
	EXPECT_TRUE(errno == ENOTCONN || errno == EIO) {
		TH_LOG("write after the end: %s", strerror(errno));
	}
	/* the data of the file never reached the device */
	EXPECT_EQ(-1, fsync(fd));
	EXPECT_TRUE(errno == ENOTCONN || errno == EIO) {
		TH_LOG("fsync after the end: %s", strerror(errno));
	}
	EXPECT_EQ(-1, fdatasync(fd));
	EXPECT_TRUE(errno == ENOTCONN || errno == EIO);
	/* what is not in the page cache cannot be read */
	EXPECT_EQ(-1, pread(uncached, buf, sizeof(buf), 0));
	EXPECT_TRUE(errno == ENOTCONN || errno == EIO) {
		TH_LOG("read after the end: %s", strerror(errno));
	}
}

static void dirty_pages_then_end(struct __test_metadata *_metadata,
				 FIXTURE_DATA(end) *self, enum how_gone how)
{
	struct dirty_writer w = { kt_path(&self->srv, "d"), 8 * MIB };
	int fd, wfd, warn = kt_klog_count("WARNING");

	fd = open_uncached(kt_path(&self->srv, "o"));
	ASSERT_LE(0, fd);
	wfd = write_dirty(&w);
	ASSERT_LE(0, wfd);
	ASSERT_EQ(0, end_connection(self, how));
	check_after_end(_metadata, wfd, fd);
	/* close writes back: it fails, and must not hang */
	close(wfd);
	close(fd);
	unmount_and_compare(_metadata, self);
	EXPECT_EQ(warn, kt_klog_count("WARNING"));
}

TEST_F_TIMEOUT(end, abort_with_dirty_pages, 120)
{
	dirty_pages_then_end(_metadata, self, ABORT);
}

TEST_F_TIMEOUT(end, kill_with_dirty_pages, 120)
{
	dirty_pages_then_end(_metadata, self, KILL);
}

/* fdatasync of a big dirty file, in a child: writeback is in flight. */
static int flush_in_child(void *arg)
{
	const char *path = arg;
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return 2;
	/* the result does not matter here; that it returns does */
	fdatasync(fd);
	close(fd);
	return 0;
}

/*
 * Writeback of 64 MiB is running (a child's fdatasync) when the
 * connection ends: the writeback that was submitted completes or fails
 * before the abort returns; none reaches the device later.
 */
static void writeback_then_end(struct __test_metadata *_metadata,
			       FIXTURE_DATA(end) *self, enum how_gone how)
{
	struct dirty_writer w = { kt_path(&self->srv, "wb"), 64 * MIB };
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	int fd, ufd, status, warn = kt_klog_count("WARNING");
	pid_t child;

	ufd = open_uncached(kt_path(&self->srv, "o"));
	ASSERT_LE(0, ufd);
	fd = write_dirty(&w);
	ASSERT_LE(0, fd);
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0)
		_exit(flush_in_child((void *)w.path));
	/* let writeback start: some bios on their way to the device */
	nanosleep(&ts, NULL);
	ASSERT_EQ(0, end_connection(self, how));
	/* the flusher returns on its own */
	for (status = 0; status < 30 * 50; status++) {
		if (waitpid(child, NULL, WNOHANG) == child)
			break;
		ts.tv_nsec = 20 * 1000 * 1000;
		nanosleep(&ts, NULL);
	}
	EXPECT_LT(status, 30 * 50) {
		TH_LOG("fdatasync did not return after the end");
		kill(child, SIGKILL);
	}
	check_after_end(_metadata, fd, ufd);
	close(fd);
	close(ufd);
	unmount_and_compare(_metadata, self);
	EXPECT_EQ(warn, kt_klog_count("WARNING"));
}

TEST_F_TIMEOUT(end, abort_with_writeback_in_flight, 120)
{
	writeback_then_end(_metadata, self, ABORT);
}

TEST_F_TIMEOUT(end, kill_with_writeback_in_flight, 120)
{
	writeback_then_end(_metadata, self, KILL);
}

/* ------------------------------------------------------------------ */
/* Writeback that the device has not completed when the abort comes    */

/*
 * The iomap mount's device is a loop device on a file of a second,
 * classic fuse2fs mount: stopping that server holds the iomap mount's
 * writeback bios in flight for as long as the test wants.
 */
FIXTURE(slow) {
	struct kt_server outer, inner;
	char loop[32];
};

FIXTURE_SETUP(slow)
{
	const char *bin = getenv("KT_FUSE2FS") ? getenv("KT_FUSE2FS") :
			  KT_FUSE2FS;
	const char *argv[] = { bin, f2g_device(), "@MNT@", "-o", "iomap=off",
			       "-f", NULL };
	memset(self->loop, 0, sizeof(self->loop));
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, kt_server_start(&self->outer, argv));
	ASSERT_EQ(0, kt_loop_new(kt_path(&self->outer, "img"), "1G",
				 self->loop, sizeof(self->loop)));
	ASSERT_EQ(0, setenv("KT_DEVICE", self->loop, 1));
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->inner));
}

FIXTURE_TEARDOWN(slow)
{
	if (self->outer.pid > 0)
		kill(self->outer.pid, SIGCONT);
	if (self->inner.pid || self->inner.mounted)
		EXPECT_EQ(0, f2g_unmount_and_fsck(&self->inner));
	unsetenv("KT_DEVICE");
	if (self->loop[0])
		kt_sh(30, "losetup -d %s", self->loop);
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->outer));
}

/* Writes in flight in the loop device's queue, or -1. */
static int loop_writes_in_flight(const char *loop)
{
	char path[96];
	int reads, writes = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/%s/inflight",
		 strrchr(loop, '/') + 1);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d %d", &reads, &writes) != 2)
		writes = -1;
	fclose(f);
	return writes;
}

struct aborter {
	pthread_t thread;
	dev_t dev;
	int done;		/* 1 ok, -1 failed; atomic */
};

/*
 * A thread, not a process: a forked copy of the test's descriptors would
 * flush the dirty file when it exits, and wait for the device itself.
 */
static void *abort_thread(void *arg)
{
	struct aborter *a = arg;
	char path[96];
	int fd, ok;

	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort",
		 minor(a->dev));
	fd = open(path, O_WRONLY);
	ok = fd >= 0 && write(fd, "1", 1) == 1;
	if (fd >= 0)
		close(fd);
	__atomic_store_n(&a->done, ok ? 1 : -1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * Abort while writeback bios of the iomap mount are still on their way
 * to the device: the abort returns only once they completed, so that
 * nothing of the old connection reaches the device after it (a server
 * started again there must not race them; protocol section 6.1).
 */
TEST_F_TIMEOUT(slow, abort_waits_for_writeback_bios, 180)
{
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	struct dirty_writer w = { kt_path(&self->inner, "wb"), 4 * MIB };
	struct aborter ab = { .done = 0 };
	int fd, status, in_flight, i;
	bool returned_early;
	struct stat st;
	pid_t flusher;

	ASSERT_EQ(0, stat(self->inner.dir, &st));
	/* blocks allocated and written once: writeback needs no IOEND */
	fd = write_dirty(&w);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	fd = write_dirty(&w);
	ASSERT_LE(0, fd);
	/* the device stops completing writes, then writeback starts */
	ASSERT_EQ(0, kill(self->outer.pid, SIGSTOP));
	flusher = fork();
	ASSERT_LE(0, flusher);
	if (flusher == 0)
		_exit(flush_in_child((void *)w.path));
	for (i = 0; i < 20 && loop_writes_in_flight(self->loop) < 1; i++)
		nanosleep(&ts, NULL);
	in_flight = loop_writes_in_flight(self->loop);
	ASSERT_LT(0, in_flight) {
		TH_LOG("no writeback reached the device in time");
		kill(self->outer.pid, SIGCONT);
	}
	ab.dev = st.st_dev;
	ASSERT_EQ(0, pthread_create(&ab.thread, NULL, abort_thread, &ab));
	for (i = 0, returned_early = false; i < 10 && !returned_early; i++) {
		nanosleep(&ts, NULL);
		returned_early = __atomic_load_n(&ab.done, __ATOMIC_SEQ_CST);
	}
	in_flight = loop_writes_in_flight(self->loop);
	returned_early = returned_early && in_flight > 0;
	TH_LOG("abort %s, %d writes in flight",
	       returned_early ? "returned" : "waits", in_flight);
	ASSERT_EQ(0, kill(self->outer.pid, SIGCONT));
	EXPECT_FALSE(returned_early) {
		TH_LOG("the abort returned with writes still in flight");
	}
	pthread_join(ab.thread, NULL);
	EXPECT_EQ(1, ab.done);
	EXPECT_EQ(flusher, waitpid(flusher, &status, 0));
	close(fd);
	/* the iomap mount is dead: its server exits on its own */
	EXPECT_EQ(0, umount(self->inner.dir));
	self->inner.mounted = false;
}

TEST_HARNESS_MAIN
