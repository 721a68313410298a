// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The page cache of iomap inodes against paths that were written for
 * classic FUSE inodes, and against the server's own thread (review of
 * patches 15-16): a misaligned O_DIRECT write whose server writes less than
 * asked must not reach the page-based write code (with the writeback
 * cache that was a NULL pointer dereference); FUSE_NOTIFY_STORE and
 * RETRIEVE are refused; a FUSE_NOTIFY_INVAL_INODE barrier sent from the
 * server's only thread returns although the file has dirty pages; an
 * O_TRUNC open without FUSE_ATOMIC_O_TRUNC writes back before the server
 * truncates; a copy into a kept unwritten mapping reads back the copied
 * data; writeback asks for mappings without credentials; fs-verity through
 * fuse2fs is refused while a writer has dirty pages (as ext4 does) instead
 * of deadlocking, and covers the data written.
 *
 * Whatever may hang runs in a child with a time-out; at the time-out the
 * connection is aborted through fusectl, which ends the hang.
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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/fsverity.h>

#include "kselftest_harness.h"
#include "f2guest.h"
#include "hsguest.h"

#define TIMED_OUT	1000
#define OP_WRITEBACK	0x8	/* FUSE_IOMAP_OP_WRITEBACK */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The fusectl directory of the connection mounted on dir. */
static void conn_dir(const char *dir, char *buf, size_t len)
{
	struct stat st;

	if (stat(dir, &st))
		st.st_dev = 0;
	snprintf(buf, len, "/sys/fs/fuse/connections/%u", minor(st.st_dev));
}

/*
 * Run fn in a child for at most timeout_s: its exit status, or TIMED_OUT
 * after the connection of mnt was aborted (which ends what hung).
 */
static int run_bounded(int (*fn)(void *), void *arg, int timeout_s,
		       const char *mnt)
{
	char conn[128];
	int status, i;
	pid_t pid;

	conn_dir(mnt, conn, sizeof(conn));
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid)
		_exit(fn(arg));
	for (i = 0; i < timeout_s * 20; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		sleep_ms(50);
	}
	fprintf(stderr, "# hung for %d s: aborting %s\n", timeout_s, conn);
	kt_sh(10, "echo 1 > %s/abort", conn);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return TIMED_OUT;
}

/* ------------------------------------------------------------------ */
/* hostile_server                                                     */
/* ------------------------------------------------------------------ */

FIXTURE(hs) {
	struct hsg h;
	char *buf;
};

FIXTURE_SETUP(hs)
{
	self->buf = kt_alloc(1 << 20);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(hs)
{
	if (self->h.srv.pid > 0)
		hsg_stop(&self->h);
	unsetenv("HOSTILE_WRITEBACK_CACHE");
	unsetenv("HOSTILE_SHORT_WRITE");
	unsetenv("HOSTILE_NO_ATOMIC_O_TRUNC");
	unsetenv("HOSTILE_SETATTR_DELAY_MS");
	unsetenv("HOSTILE_COPY_FAIL");
	free(self->buf);
}

/* Misaligned O_DIRECT that the server writes only half of: short, no oops */
static void short_misaligned_write(struct __test_metadata *_metadata,
				   struct hsg *h, char *buf)
{
	ssize_t n;
	int fd;

	setenv("HOSTILE_SHORT_WRITE", "1", 1);
	ASSERT_EQ(0, hsg_start(h));
	fd = open(hsg_file(h, HOSTILE_GOOD), O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	memset(buf, 0x42, 4096);
	n = pwrite(fd, buf, 1000, 100);
	EXPECT_EQ(500, n) {
		TH_LOG("pwrite: %zd (%s)", n, n < 0 ? strerror(errno) : "");
	}
	/* the page-based fallback would have sent the rest as a 2nd WRITE */
	EXPECT_EQ(1, hsg_count(h, HOSTILE_GOOD, "WRITE"));
	close(fd);
}

TEST_F(hs, short_misaligned_direct_write_writeback_cache)
{
	setenv("HOSTILE_WRITEBACK_CACHE", "1", 1);
	short_misaligned_write(_metadata, &self->h, self->buf);
}

TEST_F(hs, short_misaligned_direct_write)
{
	short_misaligned_write(_metadata, &self->h, self->buf);
}

/* The server cannot put data into the page cache that is not on the blocks */
TEST_F(hs, notify_store_and_retrieve_refused)
{
	struct stat st;
	size_t i;
	int fd;

	ASSERT_EQ(0, hsg_start(&self->h));
	fd = open(hsg_file(&self->h, HOSTILE_GOOD), O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	memset(self->buf, 0x11, 4096);
	ASSERT_EQ(0, kt_direct_pwrite(f2g_device(), self->buf, 4096,
				      HOSTILE_DEV_OFF));
	EXPECT_EQ(-1, stat(kt_path(&self->h.srv, HOSTILE_STORE_TRIGGER), &st));
	EXPECT_EQ(-1, stat(kt_path(&self->h.srv, HOSTILE_RETRIEVE_TRIGGER),
			   &st));
	EXPECT_STREQ("store error=-22",
		     hsg_line(&self->h, HOSTILE_GOOD, "store "));
	EXPECT_STREQ("retrieve error=-22",
		     hsg_line(&self->h, HOSTILE_GOOD, "retrieve "));
	ASSERT_EQ(4096, pread(fd, self->buf, 4096, 0));
	for (i = 0; i < 4096 && self->buf[i] == 0x11; i++)
		;
	EXPECT_EQ(4096, i) {
		TH_LOG("byte %zu of the page cache is 0x%02x, not the device's",
		       i, (unsigned char)self->buf[i]);
	}
	close(fd);
}

static int stat_trigger(void *arg)
{
	struct stat st;

	return stat(arg, &st) == -1 && errno == ENOENT ? 0 : 1;
}

/*
 * hostile_server has one thread: the barrier it sends from a request
 * handler must not wait for writeback, which would need that thread.
 */
TEST_F(hs, barrier_from_the_only_thread_with_dirty_pages)
{
	int fd, barrier, last_begin, n;

	ASSERT_EQ(0, hsg_start(&self->h));
	fd = open(hsg_file(&self->h, HOSTILE_GOOD), O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	kt_fill(self->buf, 65536, 0, 61);
	ASSERT_EQ(65536, pwrite(fd, self->buf, 65536, 0));
	ASSERT_EQ(0, run_bounded(stat_trigger, (void *)kt_path(&self->h.srv,
				 HOSTILE_INVAL_GOOD_TRIGGER), 15,
				 self->h.srv.dir));
	EXPECT_STREQ("barrier error=0",
		     hsg_line(&self->h, HOSTILE_GOOD, "barrier"));
	/* the dirty pages are written after it, with a new mapping */
	EXPECT_EQ(0, fsync(fd));
	barrier = hsg_find(&self->h, HOSTILE_GOOD, "barrier", 0);
	n = hsg_count(&self->h, HOSTILE_GOOD, "BEGIN");
	last_begin = n ? hsg_find(&self->h, HOSTILE_GOOD, "BEGIN", n - 1) : -1;
	EXPECT_LT(barrier, last_begin);
	close(fd);
	memset(self->buf, 0, 65536);
	ASSERT_EQ(0, kt_direct_pread(f2g_device(), self->buf, 65536,
				     HOSTILE_DEV_OFF));
	EXPECT_EQ(-1, kt_check(self->buf, 65536, 0, 61));
}

static void *open_trunc(void *arg)
{
	int fd = open(arg, O_WRONLY | O_TRUNC);

	if (fd >= 0)
		close(fd);
	return (void *)(long)(fd >= 0);
}

/*
 * Without FUSE_ATOMIC_O_TRUNC the truncate of an O_TRUNC open is a
 * SETATTR: no writeback may ask for the blocks once it was sent.
 */
TEST_F(hs, otrunc_without_atomic_o_trunc_writes_back_first)
{
	int fd, setattr, last_begin, n;
	pthread_t t;
	void *ok;

	setenv("HOSTILE_NO_ATOMIC_O_TRUNC", "1", 1);
	setenv("HOSTILE_SETATTR_DELAY_MS", "1000", 1);
	ASSERT_EQ(0, hsg_start(&self->h));
	fd = open(hsg_file(&self->h, HOSTILE_GOOD), O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	kt_fill(self->buf, 1 << 20, 0, 62);
	ASSERT_EQ(1 << 20, pwrite(fd, self->buf, 1 << 20, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, open_trunc,
				    (void *)hsg_file(&self->h, HOSTILE_GOOD)));
	EXPECT_TRUE(hsg_wait(&self->h, HOSTILE_GOOD, "SETATTR size=0", 5000));
	/* the server holds the SETATTR: a sync now must find nothing dirty */
	EXPECT_EQ(0, syncfs(fd));
	pthread_join(t, &ok);
	EXPECT_EQ(1, (long)ok);
	setattr = hsg_find(&self->h, HOSTILE_GOOD, "SETATTR size=0", 0);
	n = hsg_count(&self->h, HOSTILE_GOOD, "BEGIN");
	last_begin = n ? hsg_find(&self->h, HOSTILE_GOOD, "BEGIN", n - 1) : -1;
	EXPECT_LE(0, setattr);
	EXPECT_LT(last_begin, setattr) {
		TH_LOG("writeback BEGIN at log line %d, after the SETATTR at %d",
		       last_begin, setattr);
	}
	EXPECT_EQ(0, lseek(fd, 0, SEEK_END));
	close(fd);
}

/*
 * The server converts the destination's blocks: kept mappings are stale,
 * also when it then fails the copy.
 */
static void copy_into_kept_unwritten(struct __test_metadata *_metadata,
				     struct hsg *h, char *buf, bool fail)
{
	loff_t in = 0, out = 0;
	int src, dst;
	ssize_t n;

	if (fail)
		setenv("HOSTILE_COPY_FAIL", "1", 1);
	ASSERT_EQ(0, hsg_start(h));
	kt_fill(buf, 65536, 0, 63);
	ASSERT_EQ(0, kt_direct_pwrite(hsg_file(h, HOSTILE_GOOD),
				      buf, 65536, 0));
	src = open(hsg_file(h, HOSTILE_GOOD), O_RDONLY);
	dst = open(hsg_file(h, HOSTILE_COPY_DST), O_RDWR);
	ASSERT_LE(0, src);
	ASSERT_LE(0, dst);
	ASSERT_EQ(1, kt_fd_iomap(dst, NULL));
	ASSERT_EQ(4096, pread(dst, buf, 4096, 0));
	EXPECT_TRUE(kt_is_zero(buf, 4096));
	ASSERT_EQ(1, kt_fd_iomap_cached(dst));
	n = copy_file_range(src, &in, dst, &out, 65536, 0);
	ASSERT_EQ(fail ? -1 : 65536, n) {
		TH_LOG("copy_file_range: %s", strerror(errno));
	}
	EXPECT_EQ(1, hsg_count(h, HOSTILE_COPY_DST,
			       "COPY_FILE_RANGE to"));
	memset(buf, 0, 65536);
	ASSERT_EQ(65536, pread(dst, buf, 65536, 0));
	EXPECT_EQ(-1, kt_check(buf, 65536, 0, 63));
	close(src);
	close(dst);
}

TEST_F(hs, copy_into_kept_unwritten_reads_the_copy)
{
	copy_into_kept_unwritten(_metadata, &self->h, self->buf, false);
}

TEST_F(hs, failed_copy_into_kept_unwritten_reads_what_was_copied)
{
	copy_into_kept_unwritten(_metadata, &self->h, self->buf, true);
}

struct fsync_as {
	int fd;
	uid_t uid;
};

static int fsync_as_user(void *arg)
{
	struct fsync_as *f = arg;

	if (setresgid(f->uid, f->uid, f->uid) ||
	    setresuid(f->uid, f->uid, f->uid))
		return 2;
	return fsync(f->fd) ? 1 : 0;
}

/* Writeback is nobody's: its BEGINs carry no uid and no pid */
TEST_F(hs, writeback_begin_without_credentials)
{
	struct fsync_as f = { .uid = 4242 };
	unsigned int flags, uid, pid;
	int wb = 0, lent = 0;
	char line[256];
	FILE *log;

	ASSERT_EQ(0, hsg_start(&self->h));
	f.fd = open(hsg_file(&self->h, HOSTILE_GOOD), O_RDWR);
	ASSERT_LE(0, f.fd);
	ASSERT_EQ(1, kt_fd_iomap(f.fd, NULL));
	kt_fill(self->buf, 65536, 0, 64);
	ASSERT_EQ(65536, pwrite(f.fd, self->buf, 65536, 0));
	ASSERT_EQ(0, run_bounded(fsync_as_user, &f, 30, self->h.srv.dir));
	close(f.fd);
	log = fopen(self->h.log, "r");
	ASSERT_NE(NULL, log);
	while (fgets(line, sizeof(line), log)) {
		if (sscanf(line, "good BEGIN opflags=0x%x uid=%u pid=%u",
			   &flags, &uid, &pid) != 3 ||
		    !(flags & OP_WRITEBACK))
			continue;
		wb++;
		if (uid || pid) {
			lent++;
			TH_LOG("writeback BEGIN with uid %u pid %u", uid, pid);
		}
	}
	fclose(log);
	EXPECT_LT(0, wb);
	EXPECT_EQ(0, lent);
}

/*
 * After an abort the dirty folios cannot be written: they are dropped
 * with an error reported once, not kept dirty (failing every sync) for
 * the life of the inode.
 */
TEST_F(hs, dirty_pages_dropped_after_abort)
{
	int fd, first, second;
	char conn[128];

	ASSERT_EQ(0, hsg_start(&self->h));
	fd = open(hsg_file(&self->h, HOSTILE_GOOD), O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	kt_fill(self->buf, 65536, 0, 65);
	ASSERT_EQ(65536, pwrite(fd, self->buf, 65536, 0));
	conn_dir(self->h.srv.dir, conn, sizeof(conn));
	ASSERT_EQ(0, kt_sh(10, "echo 1 > %s/abort", conn));
	first = sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
				SYNC_FILE_RANGE_WRITE |
				SYNC_FILE_RANGE_WAIT_AFTER) ? errno : 0;
	second = sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
				 SYNC_FILE_RANGE_WRITE |
				 SYNC_FILE_RANGE_WAIT_AFTER) ? errno : 0;
	EXPECT_EQ(EIO, first);
	EXPECT_EQ(0, second) {
		TH_LOG("still dirty after the abort: %s", strerror(second));
	}
	close(fd);
	/* nothing reached the device */
	ASSERT_EQ(0, kt_direct_pread(f2g_device(), self->buf, 65536,
				     HOSTILE_DEV_OFF));
	EXPECT_NE(-1, kt_check(self->buf, 65536, 0, 65));
}

/* ------------------------------------------------------------------ */
/* fuse2fs: fs-verity and the page cache                              */
/* ------------------------------------------------------------------ */

FIXTURE(f2) {
	struct kt_server srv;
};

FIXTURE_SETUP(f2)
{
	ASSERT_EQ(0, f2g_mkfs("verity"));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(f2)
{
	if (self->srv.pid > 0)
		EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

static int enable_verity(void *path)
{
	struct fsverity_enable_arg arg = {
		.version = 1,
		.hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
		.block_size = 4096,
	};
	int fd = open(path, O_RDONLY), ret;

	if (fd < 0)
		return 100;
	ret = ioctl(fd, FS_IOC_ENABLE_VERITY, &arg) ? errno : 0;
	close(fd);
	return ret;
}

/*
 * fuse2fs has one thread and sends the invalidation barrier after it
 * enabled verity: with a writer's dirty pages that deadlocked.  As with
 * ext4, a writer makes it ETXTBSY; without one, the tree covers what was
 * written last.
 */
TEST_F(f2, enable_verity_with_dirty_pages)
{
	char *buf = kt_alloc(65536), conn[128];
	const char *p;
	int fd, ret;

	ASSERT_NE(NULL, buf);
	p = kt_path(&self->srv, "sealed");
	fd = open(p, O_RDWR | O_CREAT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	kt_fill(buf, 65536, 0, 71);
	ASSERT_EQ(65536, pwrite(fd, buf, 65536, 0));
	ASSERT_EQ(0, fsync(fd));
	kt_fill(buf, 65536, 0, 72);
	ASSERT_EQ(65536, pwrite(fd, buf, 65536, 0));
	ret = run_bounded(enable_verity, (void *)p, 20, self->srv.dir);
	if (ret != ETXTBSY) {
		/* a server stuck in the barrier would hang close and unmount */
		conn_dir(self->srv.dir, conn, sizeof(conn));
		kt_sh(10, "echo 1 > %s/abort", conn);
	}
	ASSERT_EQ(ETXTBSY, ret);
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, run_bounded(enable_verity, (void *)p, 20,
				 self->srv.dir));
	fd = open(p, O_RDONLY);
	ASSERT_LE(0, fd);
	memset(buf, 0, 65536);
	EXPECT_EQ(65536, pread(fd, buf, 65536, 0));
	EXPECT_EQ(-1, kt_check(buf, 65536, 0, 72));
	close(fd);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	self->srv.pid = 0;
	/* ext4 checks every block it reads against fuse2fs's tree */
	EXPECT_EQ(0, f2g_compare_with_ext4("sealed", buf, 65536));
	free(buf);
}

TEST_HARNESS_MAIN
