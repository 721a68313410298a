// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the server hears from an iomap connection, and when
 * (doc/protocol.md sections 9 and 10), seen in hostile_server's request
 * log: FUSE_NOTIFY_INVAL_INODE with a data range returns only after the
 * IO that may still use an old mapping is done, and IO after it asks
 * again; a deferred conversion reaches the server before the mmap
 * writeback and the COPY_FILE_RANGE that concern its blocks; an IOEND
 * answered ENOSYS makes writes into unwritten blocks fail; FUSE_IOMAP_END
 * comes only for what the server asked for or a BEGIN allocated.
 * Runs inside the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/fsverity.h>

#include "kselftest_harness.h"
#include "hsguest.h"

FIXTURE(req) {
	struct hsg hs;
	char *buf;
};

FIXTURE_SETUP(req)
{
	self->buf = kt_alloc(1 << 20);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, hsg_start(&self->hs));
}

FIXTURE_TEARDOWN(req)
{
	hsg_stop(&self->hs);
	free(self->buf);
}

static int open_file(FIXTURE_DATA(req) *self, int kind, int flags)
{
	return open(hsg_file(&self->hs, kind), O_RDWR | flags);
}

/*
 * A direct read whose BEGIN the server answers late, with a barrier
 * started meanwhile: the notification must wait for the read (which holds
 * the inode lock while it maps), and drop the mapping the read kept, so
 * the next read asks the server again.
 */
TEST_F(req, inval_barrier_waits_for_mapping_io)
{
	int fd = open_file(self, HOSTILE_BARRIER_BEGIN, O_DIRECT);

	ASSERT_LE(0, fd);
	ASSERT_EQ(4096, pread(fd, self->buf, 4096, 0));
	ASSERT_TRUE(hsg_wait(&self->hs, HOSTILE_BARRIER_BEGIN, "barrier",
			     5000));
	EXPECT_STREQ("barrier waited=1 error=0",
		     hsg_line(&self->hs, HOSTILE_BARRIER_BEGIN, "barrier"));
	EXPECT_EQ(0, kt_fd_iomap_cached(fd));
	EXPECT_EQ(1, hsg_count(&self->hs, HOSTILE_BARRIER_BEGIN, "BEGIN"));
	ASSERT_EQ(4096, pread(fd, self->buf, 4096, 8192));
	EXPECT_EQ(2, hsg_count(&self->hs, HOSTILE_BARRIER_BEGIN, "BEGIN"));
	EXPECT_EQ(1, kt_fd_iomap_cached(fd));
	close(fd);
}

/*
 * A direct write into unwritten blocks whose IOEND the server answers
 * late, with a barrier started meanwhile: the write is in flight (its
 * conversion not done) until the IOEND reply, and the notification must
 * not return before.
 */
TEST_F(req, inval_barrier_waits_for_io_in_flight)
{
	int fd = open_file(self, HOSTILE_BARRIER_IOEND, O_DIRECT);

	ASSERT_LE(0, fd);
	kt_fill(self->buf, 65536, 0, 3);
	ASSERT_EQ(65536, pwrite(fd, self->buf, 65536, 0));
	ASSERT_TRUE(hsg_wait(&self->hs, HOSTILE_BARRIER_IOEND, "barrier",
			     5000));
	EXPECT_STREQ("barrier waited=1 error=0",
		     hsg_line(&self->hs, HOSTILE_BARRIER_IOEND, "barrier"));
	EXPECT_EQ(1, hsg_count(&self->hs, HOSTILE_BARRIER_IOEND, "IOEND"));
	close(fd);
}

/*
 * An extending direct write on "stream" (fd open with O_DIRECT) whose
 * conversion the kernel keeps back (protocol section 10.1): nothing
 * reaches the server yet.  fd must stay open (its close would send the
 * IOEND).
 */
static void defer_one_write(struct __test_metadata *_metadata,
			    FIXTURE_DATA(req) *self, int fd)
{
	ASSERT_LE(0, fd);
	kt_fill(self->buf, 65536, 1 << 20, 5);
	ASSERT_EQ(65536, pwrite(fd, self->buf, 65536, 1 << 20));
	ASSERT_EQ(0, hsg_count(&self->hs, HOSTILE_STREAM, "IOEND")) {
		TH_LOG("the conversion was not deferred");
	}
}

/* The first IOEND of "stream" came before the first line starting with what. */
static void ioend_came_before(struct __test_metadata *_metadata,
			      FIXTURE_DATA(req) *self, const char *what)
{
	int ioend = hsg_find(&self->hs, HOSTILE_STREAM, "IOEND", 0);
	int other = hsg_find(&self->hs, HOSTILE_STREAM, what, 0);

	ASSERT_LE(0, other) {
		TH_LOG("no %s reached the server", what);
	}
	EXPECT_LE(0, ioend);
	EXPECT_LT(ioend, other) {
		TH_LOG("%s at log line %d, IOEND at %d", what, other, ioend);
	}
}

/*
 * A page of a shared mapping is read and written after the deferred
 * write: the page cache of an iomap inode goes through iomap (kernel
 * patch 15), so the fault asks the server for a mapping (BEGIN), which
 * must not reach it before the conversion; the page comes from the
 * device (unwritten blocks: zeroes), never from FUSE_READ, and its
 * writeback (sync_file_range, which neither fsyncs nor writes the inode)
 * sends no FUSE_WRITE.
 */
TEST_F(req, deferred_conversion_before_mmap_writeback)
{
	int dfd = open_file(self, HOSTILE_STREAM, O_DIRECT);
	int fd = open_file(self, HOSTILE_STREAM, 0);
	volatile char *map;

	ASSERT_LE(0, fd);
	defer_one_write(_metadata, self, dfd);
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, madvise((void *)map, 4096, MADV_RANDOM));
	EXPECT_EQ(0, map[0]);
	map[0] = 1;
	ASSERT_EQ(0, sync_file_range(fd, 0, 4096, SYNC_FILE_RANGE_WRITE |
				     SYNC_FILE_RANGE_WAIT_AFTER));
	/* BEGIN 0 was the direct write's own; the fault's came after */
	EXPECT_LT(hsg_find(&self->hs, HOSTILE_STREAM, "IOEND", 0),
		  hsg_find(&self->hs, HOSTILE_STREAM, "BEGIN", 1));
	EXPECT_LE(0, hsg_find(&self->hs, HOSTILE_STREAM, "IOEND", 0));
	EXPECT_EQ(0, hsg_count(&self->hs, HOSTILE_STREAM, "READ"));
	EXPECT_EQ(0, hsg_count(&self->hs, HOSTILE_STREAM, "WRITE"));
	munmap((void *)map, 4096);
	close(dfd);
	close(fd);
}

/* COPY_FILE_RANGE from a file with a deferred conversion. */
TEST_F(req, deferred_conversion_before_copy_from)
{
	int dfd = open_file(self, HOSTILE_STREAM, O_DIRECT);
	int in = open_file(self, HOSTILE_STREAM, 0);
	int out = open_file(self, HOSTILE_GOOD, 0);

	ASSERT_LE(0, in);
	ASSERT_LE(0, out);
	defer_one_write(_metadata, self, dfd);
	EXPECT_EQ(4096, copy_file_range(in, NULL, out, NULL, 4096, 0));
	ioend_came_before(_metadata, self, "COPY_FILE_RANGE from");
	close(in);
	close(out);
	close(dfd);
}

/* COPY_FILE_RANGE into a file with a deferred conversion. */
TEST_F(req, deferred_conversion_before_copy_to)
{
	int dfd = open_file(self, HOSTILE_STREAM, O_DIRECT);
	int in = open_file(self, HOSTILE_GOOD, 0);
	int out = open_file(self, HOSTILE_STREAM, 0);

	ASSERT_LE(0, in);
	ASSERT_LE(0, out);
	defer_one_write(_metadata, self, dfd);
	EXPECT_EQ(4096, copy_file_range(in, NULL, out, NULL, 4096, 0));
	ioend_came_before(_metadata, self, "COPY_FILE_RANGE to");
	close(in);
	close(out);
	close(dfd);
}

/*
 * A server without FUSE_IOMAP_IOEND cannot convert unwritten blocks: a
 * write into them fails with EIO (its data would read back as zeroes),
 * the first time and after the kernel stopped asking; writes that need
 * no conversion still work.
 */
TEST_F(req, ioend_enosys_fails_unwritten_writes)
{
	int fd = open_file(self, HOSTILE_IOEND_ENOSYS, O_DIRECT);
	int good = open_file(self, HOSTILE_GOOD, O_DIRECT);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, good);
	kt_fill(self->buf, 65536, 0, 7);
	EXPECT_EQ(-1, pwrite(fd, self->buf, 65536, 0));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(-1, pwrite(fd, self->buf, 65536, 65536));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(1, hsg_count(&self->hs, HOSTILE_IOEND_ENOSYS, "IOEND"));
	EXPECT_EQ(65536, pwrite(good, self->buf, 65536, 0));
	close(good);
	close(fd);
}

/* Write 64 KiB at 0 and fsync: fsync's errno (0 if it worked). */
static int write_then_fsync(FIXTURE_DATA(req) *self, int fd)
{
	kt_fill(self->buf, 65536, 0, 7);
	if (pwrite(fd, self->buf, 65536, 0) != 65536)
		return -1;
	errno = 0;
	return fsync(fd) ? errno : 0;
}

/*
 * Data the kernel took whose conversion or mapping the server refuses
 * with an error that means nothing to the writer (EAGAIN, EINTR: a retry
 * would work and hide the loss): fsync reports EIO, as for any failed
 * write to the device, once; a direct write gets EIO at once.
 */
TEST_F(req, failed_writeback_is_eio_whatever_the_server_says)
{
	int fd = open_file(self, HOSTILE_IOEND_EAGAIN, 0);
	int err;

	ASSERT_LE(0, fd);
	err = write_then_fsync(self, fd);
	EXPECT_EQ(EIO, err) {
		TH_LOG("fsync after a conversion answered EAGAIN: %s",
		       strerror(err));
	}
	EXPECT_LE(1, hsg_count(&self->hs, HOSTILE_IOEND_EAGAIN, "IOEND"));
	close(fd);
}

TEST_F(req, refused_writeback_mapping_is_eio_whatever_the_server_says)
{
	int fd = open_file(self, HOSTILE_WB_BEGIN_EINTR, 0);
	int err;

	ASSERT_LE(0, fd);
	err = write_then_fsync(self, fd);
	EXPECT_EQ(EIO, err) {
		TH_LOG("fsync after a writeback BEGIN answered EINTR: %s",
		       strerror(err));
	}
	/* reported once, as on ext4 */
	EXPECT_EQ(0, fsync(fd));
	close(fd);
}

TEST_F(req, failed_direct_conversion_is_eio_whatever_the_server_says)
{
	int fd = open_file(self, HOSTILE_IOEND_EAGAIN, O_DIRECT);

	ASSERT_LE(0, fd);
	kt_fill(self->buf, 65536, 0, 7);
	errno = 0;
	EXPECT_EQ(-1, pwrite(fd, self->buf, 65536, 0));
	EXPECT_EQ(EIO, errno) {
		TH_LOG("direct write: %s", strerror(errno));
	}
	close(fd);
}

/*
 * A direct write of 8 KiB from a buffer whose second page is not mapped:
 * the first page is written, then the write fails (EFAULT), so iomap
 * ends both of its iterations with less written than mapped.
 */
static void short_write(struct __test_metadata *_metadata, int fd)
{
	char *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, buf);
	memset(buf, 0x21, 4096);
	ASSERT_EQ(0, munmap(buf + 4096, 4096));
	EXPECT_NE(8192, pwrite(fd, buf, 8192, 0));
	munmap(buf, 4096);
}

/*
 * FUSE_IOMAP_END is for the server that asked for it (F_WANT_END) and for
 * blocks a BEGIN allocated (F_NEW) that a write did not use; never for a
 * mapping that allocated nothing, kept or not.
 */
TEST_F(req, end_only_when_asked_or_allocated)
{
	int good = open_file(self, HOSTILE_GOOD, O_DIRECT);
	int cached = open_file(self, HOSTILE_CACHED, O_DIRECT);
	int fresh = open_file(self, HOSTILE_NEW, O_DIRECT);
	int want = open_file(self, HOSTILE_WANT_END, O_DIRECT);

	ASSERT_LE(0, good);
	ASSERT_LE(0, cached);
	ASSERT_LE(0, fresh);
	ASSERT_LE(0, want);
	memset(self->buf, 0x42, 8192);

	ASSERT_EQ(8192, pwrite(good, self->buf, 8192, 0));
	short_write(_metadata, good);
	EXPECT_EQ(0, hsg_count(&self->hs, HOSTILE_GOOD, "END"));

	ASSERT_EQ(4096, pread(cached, self->buf, 4096, 0));
	ASSERT_EQ(1, kt_fd_iomap_cached(cached));
	short_write(_metadata, cached);
	EXPECT_EQ(0, hsg_count(&self->hs, HOSTILE_CACHED, "END"));

	ASSERT_EQ(8192, pwrite(fresh, self->buf, 8192, 0));
	EXPECT_EQ(0, hsg_count(&self->hs, HOSTILE_NEW, "END"));
	short_write(_metadata, fresh);
	EXPECT_LE(1, hsg_count(&self->hs, HOSTILE_NEW, "END"));

	ASSERT_EQ(4096, pread(want, self->buf, 4096, 0));
	EXPECT_EQ(1, hsg_count(&self->hs, HOSTILE_WANT_END, "END"));
	ASSERT_EQ(4096, pwrite(want, self->buf, 4096, 0));
	EXPECT_EQ(2, hsg_count(&self->hs, HOSTILE_WANT_END, "END"));

	close(good);
	close(cached);
	close(fresh);
	close(want);
}

/* FS_IOC_READ_VERITY_METADATA of type on fd into buf; -errno or bytes. */
static int read_metadata(int fd, uint64_t type, void *buf, uint64_t len)
{
	struct fsverity_read_metadata_arg arg = {
		.metadata_type = type,
		.length = len,
		.buf_ptr = (uintptr_t)buf,
	};
	int n = ioctl(fd, FS_IOC_READ_VERITY_METADATA, &arg);

	return n < 0 ? -errno : n;
}

/* Bytes of buf from the first one not equal to c: len when all are. */
static size_t same_bytes(const char *buf, char c, size_t len)
{
	size_t i;

	for (i = 0; i < len && buf[i] == c; i++)
		;
	return i;
}

/*
 * FS_IOC_READ_VERITY_METADATA (doc/protocol.md section 14): the server
 * is told how much room there is, at most the caller's length and one
 * request; it cannot claim more bytes than it sent, nor send more than
 * there is room for; an honest answer lands in the caller's buffer and
 * nowhere else.
 */
TEST_F(req, verity_metadata_reply_checked)
{
	const size_t len = 1 << 20;
	char *buf = kt_alloc(len + 4096);
	int fd = open_file(self, HOSTILE_GOOD, 0);
	struct fsverity_read_metadata_arg bad = {
		.metadata_type = 3, .offset = 2, .length = UINT64_MAX,
	};
	char want[64];
	size_t i;
	int n;

	ASSERT_NE(NULL, buf);
	ASSERT_LE(0, fd);
	memset(buf, 0xee, len + 4096);
	EXPECT_EQ(-EIO, read_metadata(fd, 1, buf, 4096));
	EXPECT_EQ(-EIO, read_metadata(fd, 2, buf, 4096));
	EXPECT_STREQ("IOCTL in_size=40 out_size=4096",
		     hsg_line(&self->hs, HOSTILE_GOOD, "IOCTL"));

	n = read_metadata(fd, 3, buf, len);
	ASSERT_LT(0, n);
	EXPECT_GE((int)len, n);
	/* the server was told the room the kernel had, and filled it */
	snprintf(want, sizeof(want), "IOCTL in_size=40 out_size=%d", n);
	EXPECT_EQ(1, hsg_count(&self->hs, HOSTILE_GOOD, want));
	for (i = 0; i < (size_t)n && buf[i] == 0x5a; i++)
		;
	EXPECT_EQ((size_t)n, i);
	for (i = n; i < len + 4096 && buf[i] == (char)0xee; i++)
		;
	EXPECT_EQ(len + 4096, i) {
		TH_LOG("byte %zu past the answer was written", i);
	}

	/* the argument is checked before anything is sent */
	bad.buf_ptr = (uintptr_t)buf;
	EXPECT_EQ(-1, ioctl(fd, FS_IOC_READ_VERITY_METADATA, &bad));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(3, hsg_count(&self->hs, HOSTILE_GOOD, "IOCTL"));
	free(buf);
	close(fd);
}

/*
 * The result must count exactly the bytes the server sent, and an error
 * comes with none: otherwise EIO, and the caller's buffer is untouched.
 */
TEST_F(req, verity_metadata_result_is_the_bytes_sent)
{
	char buf[8192];
	int fd = open_file(self, HOSTILE_GOOD, 0);

	ASSERT_LE(0, fd);
	memset(buf, 0xee, sizeof(buf));
	/* 200 bytes for a length of 100: room is the caller's length */
	EXPECT_EQ(-EIO, read_metadata(fd, 4, buf, 100));
	EXPECT_STREQ("IOCTL in_size=40 out_size=100",
		     hsg_line(&self->hs, HOSTILE_GOOD, "IOCTL"));
	/* fewer bytes claimed than sent */
	EXPECT_EQ(-EIO, read_metadata(fd, 5, buf, 100));
	/* an error with data */
	EXPECT_EQ(-EIO, read_metadata(fd, 6, buf, 100));
	EXPECT_EQ(sizeof(buf), same_bytes(buf, (char)0xee, sizeof(buf)));
	/* nothing asked, nothing sent */
	EXPECT_EQ(0, read_metadata(fd, 3, buf, 0));
	EXPECT_EQ(sizeof(buf), same_bytes(buf, (char)0xee, sizeof(buf)));
	EXPECT_EQ(4, hsg_count(&self->hs, HOSTILE_GOOD, "IOCTL"));
	/* and an honest answer still arrives */
	EXPECT_EQ(100, read_metadata(fd, 3, buf, 100));
	EXPECT_EQ((size_t)100, same_bytes(buf, 0x5a, sizeof(buf)));
	EXPECT_EQ(sizeof(buf) - 100,
		  same_bytes(buf + 100, (char)0xee, sizeof(buf) - 100));
	close(fd);
}

/* fs-verity reads need a file open for reading: EBADF, the server unasked. */
TEST_F(req, verity_metadata_needs_read_access)
{
	char buf[4096];
	int fd = open(hsg_file(&self->hs, HOSTILE_GOOD), O_WRONLY);

	ASSERT_LE(0, fd);
	memset(buf, 0xee, sizeof(buf));
	EXPECT_EQ(-EBADF, read_metadata(fd, 3, buf, sizeof(buf)));
	EXPECT_EQ(0, hsg_count(&self->hs, HOSTILE_GOOD, "IOCTL"));
	EXPECT_EQ(sizeof(buf), same_bytes(buf, (char)0xee, sizeof(buf)));
	close(fd);
}

TEST_HARNESS_MAIN
