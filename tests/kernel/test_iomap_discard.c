// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Data a truncate discards (review of patches 15-16, item M4), with
 * hostile_server (hostile.h): ftruncate and open(O_TRUNC) of a file with
 * megabytes of dirty page cache send no writeback for what they discard
 * (no BEGIN with FUSE_IOMAP_OP_WRITEBACK, no IOEND); an earlier writeback
 * error does not make truncate, O_TRUNC or a hole punch fail, and fsync
 * still reports it, once, as on ext4; a truncate the server refuses keeps
 * the dirty data past the would-be end even when writeback ran while the
 * server held the request.  Runs inside the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/falloc.h>
#include <linux/fuse_iomap.h>

#include "kselftest_harness.h"
#include "hsguest.h"

#define DIRTY	(4 << 20)
#define BLK	4096

FIXTURE(discard) {
	struct hsg hs;
	char *buf;	/* DIRTY bytes, aligned for O_DIRECT */
};

FIXTURE_SETUP(discard)
{
	self->buf = kt_alloc(DIRTY);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(discard)
{
	hsg_stop(&self->hs);
	unsetenv("HOSTILE_SETATTR_DELAY_MS");
	free(self->buf);
}

/* IOENDs of "grow" from log line mark on. */
static int ioends_from(const struct hsg *h, int mark)
{
	int n, pos;

	for (n = 0; (pos = hsg_find(h, HOSTILE_GROW, "IOEND", n)) >= 0; n++)
		if (pos >= mark)
			break;
	return hsg_count(h, HOSTILE_GROW, "IOEND") - n;
}

/*
 * Dirty DIRTY bytes of "grow" (mapped for 64 MiB), then truncate it to 0
 * with ftruncate, or with open(O_TRUNC): nothing is written back.
 */
static void truncate_dirty(struct __test_metadata *_metadata,
			   FIXTURE_DATA(discard) *self, bool otrunc)
{
	const char *path;
	struct stat st;
	int fd, fd2, mark;

	ASSERT_EQ(0, hsg_start(&self->hs));
	path = hsg_file(&self->hs, HOSTILE_GROW);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	kt_fill(self->buf, DIRTY, 0, 71);
	ASSERT_EQ(DIRTY, pwrite(fd, self->buf, DIRTY, 0));

	mark = hsg_log_lines(&self->hs);
	if (otrunc) {
		fd2 = open(path, O_WRONLY | O_TRUNC);
		ASSERT_LE(0, fd2);
		close(fd2);
	} else {
		ASSERT_EQ(0, ftruncate(fd, 0));
	}
	EXPECT_EQ(0, hsg_count_begins(&self->hs, HOSTILE_GROW,
				      FUSE_IOMAP_OP_WRITEBACK, mark)) {
		TH_LOG("the truncate wrote back what it discards");
	}
	EXPECT_EQ(0, ioends_from(&self->hs, mark));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(0, st.st_size);
	EXPECT_EQ(0, pread(fd, self->buf, BLK, 0));
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ(0, hsg_count_begins(&self->hs, HOSTILE_GROW,
				      FUSE_IOMAP_OP_WRITEBACK, mark));
	close(fd);
}

TEST_F(discard, ftruncate_writes_back_nothing_it_discards)
{
	truncate_dirty(_metadata, self, false);
}

TEST_F(discard, otrunc_writes_back_nothing_it_discards)
{
	truncate_dirty(_metadata, self, true);
}

/*
 * "ioend_fail" fails every writeback (IOEND answers EIO): the error is
 * the file's, reported by the next fsync, once.  A punch, a truncate or
 * an O_TRUNC open afterwards does not fail with it, nor consume it.
 */
enum after_error { PUNCH, TRUNCATE, OTRUNC };

static void after_writeback_error(struct __test_metadata *_metadata,
				  FIXTURE_DATA(discard) *self,
				  enum after_error op)
{
	const char *path;
	int fd, fd2;

	ASSERT_EQ(0, hsg_start(&self->hs));
	path = hsg_file(&self->hs, HOSTILE_IOEND_FAIL);
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	memset(self->buf, 0x5c, 65536);
	ASSERT_EQ(65536, pwrite(fd, self->buf, 65536, 0));
	/* write back without reporting to fd (syncfs keeps AS_EIO) */
	syncfs(fd);
	ASSERT_TRUE(hsg_wait(&self->hs, HOSTILE_IOEND_FAIL, "IOEND", 5000));

	errno = 0;
	switch (op) {
	case PUNCH:
		/* hostile_server has no FALLOCATE: EOPNOTSUPP, not EIO */
		EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_PUNCH_HOLE |
					FALLOC_FL_KEEP_SIZE, 0, BLK));
		EXPECT_EQ(EOPNOTSUPP, errno);
		break;
	case TRUNCATE:
		EXPECT_EQ(0, ftruncate(fd, 8 * BLK)) {
			TH_LOG("ftruncate: %s", strerror(errno));
		}
		break;
	case OTRUNC:
		fd2 = open(path, O_WRONLY | O_TRUNC);
		EXPECT_LE(0, fd2) {
			TH_LOG("open(O_TRUNC): %s", strerror(errno));
		}
		if (fd2 >= 0)
			close(fd2);
		break;
	}
	errno = 0;
	EXPECT_EQ(-1, fsync(fd));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(0, fsync(fd));
	close(fd);
}

TEST_F(discard, punch_after_writeback_error)
{
	after_writeback_error(_metadata, self, PUNCH);
}

TEST_F(discard, ftruncate_after_writeback_error)
{
	after_writeback_error(_metadata, self, TRUNCATE);
}

TEST_F(discard, otrunc_after_writeback_error)
{
	after_writeback_error(_metadata, self, OTRUNC);
}

static void *truncate_to_100(void *arg)
{
	return (void *)(long)ftruncate(*(int *)arg, 100);
}

/*
 * The server refuses a truncate after holding it for a second, while
 * writeback runs (syncfs): the dirty data past the would-be end, which
 * writeback skipped meanwhile, is written by the next fsync and is on
 * the device.
 */
TEST_F(discard, refused_truncate_keeps_dirty_data)
{
	struct stat st;
	pthread_t t;
	void *ret;
	int fd;

	setenv("HOSTILE_SETATTR_DELAY_MS", "1000", 1);
	ASSERT_EQ(0, hsg_start(&self->hs));
	/* the device holds seed 72; dirty seed 73 over [64 KiB, 128 KiB) */
	kt_fill(self->buf, 131072, 0, 72);
	ASSERT_EQ(0, kt_direct_pwrite(hsg_file(&self->hs,
					       HOSTILE_SETATTR_FAIL),
				      self->buf, 131072, 0));
	fd = open(hsg_file(&self->hs, HOSTILE_SETATTR_FAIL), O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	kt_fill(self->buf, 65536, 65536, 73);
	ASSERT_EQ(65536, pwrite(fd, self->buf, 65536, 65536));

	ASSERT_EQ(0, pthread_create(&t, NULL, truncate_to_100, &fd));
	EXPECT_TRUE(hsg_wait(&self->hs, HOSTILE_SETATTR_FAIL,
			     "SETATTR size=100", 5000));
	syncfs(fd);
	pthread_join(t, &ret);
	EXPECT_EQ(-1, (long)ret);

	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(1 << 20, st.st_size);
	memset(self->buf, 0, 65536);
	ASSERT_EQ(65536, pread(fd, self->buf, 65536, 65536));
	EXPECT_EQ(-1, kt_check(self->buf, 65536, 65536, 73));
	EXPECT_EQ(0, fsync(fd));
	close(fd);
	memset(self->buf, 0, 65536);
	ASSERT_EQ(0, kt_direct_pread(hsg_file(&self->hs, HOSTILE_SETATTR_FAIL),
				     self->buf, 65536, 65536));
	EXPECT_EQ(-1, kt_check(self->buf, 65536, 65536, 73)) {
		TH_LOG("the dirty data never reached the device");
	}
}

TEST_HARNESS_MAIN
