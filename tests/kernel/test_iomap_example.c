// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Direct IO through fuse-iomap, end to end, with the example server
 * (libfuse/examples/blockdev_file_ll): its /file is a byte range of the
 * guest's scratch block device, so every byte the kernel moves can be
 * checked on the device itself.  Runs inside the UML guest, as root.
 *
 * Environment: KT_DEVICE (default /dev/ubdb), KT_EXAMPLE_SERVER (default:
 * the example in this build tree).
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "ktest.h"
#include "ktaio.h"

#define RANGE_OFF	(4ULL << 20)	/* where /file starts on the device */
#define RANGE_LEN	(64ULL << 20)	/* and its size */
#define FILE_INO	12		/* the example's backing inode of /file */

static const char *server_bin(void)
{
	const char *s = getenv("KT_EXAMPLE_SERVER");

	return s ? s : KT_EXAMPLE_SERVER;
}

FIXTURE(example) {
	struct kt_server srv;
	char file[2 * KT_PATH_MAX];
};

FIXTURE_SETUP(example)
{
	char off[32], len[32];
	const char *argv[] = { server_bin(), "--iomap=on", kt_device(), off,
			       len, "@MNT@", "-f", NULL };

	snprintf(off, sizeof(off), "%llu", RANGE_OFF);
	snprintf(len, sizeof(len), "%llu", RANGE_LEN);
	ASSERT_EQ(0, kt_server_start(&self->srv, argv));
	snprintf(self->file, sizeof(self->file), "%s", kt_path(&self->srv, "file"));
}

FIXTURE_TEARDOWN(example)
{
	EXPECT_EQ(0, kt_server_stop(&self->srv));
}

/* The mode in effect is visible per open file. */
TEST_F(example, mode_in_fdinfo)
{
	uint64_t ino = 0;
	int fd;

	fd = open(self->file, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, kt_fd_iomap(fd, &ino));
	EXPECT_EQ(FILE_INO, ino);
	close(fd);

	fd = open(kt_path(&self->srv, "hello"), O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, kt_fd_iomap(fd, NULL));
	close(fd);
}

/*
 * Aligned direct writes of 4 KiB to 8 MiB land on the device at the
 * mapped address, and direct reads return them.
 */
TEST_F(example, direct_write_read_sizes)
{
	static const size_t sizes[] = { 4096, 8192, 65536, 1 << 20, 8 << 20 };
	size_t max = 8 << 20;
	void *buf = kt_alloc(max), *back = kt_alloc(max);
	uint64_t off = 0;
	unsigned int i;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];

		kt_fill(buf, n, off, i + 1);
		ASSERT_EQ(0, kt_direct_pwrite(self->file, buf, n, off));
		memset(back, 0xaa, n);
		ASSERT_EQ(0, kt_direct_pread(self->file, back, n, off));
		EXPECT_EQ(-1, kt_check(back, n, off, i + 1)) {
			TH_LOG("size %zu at %llu: file differs", n,
			       (unsigned long long)off);
		}
		memset(back, 0xaa, n);
		ASSERT_EQ(0, kt_direct_pread(kt_device(), back, n,
					     RANGE_OFF + off));
		EXPECT_EQ(-1, kt_check(back, n, off, i + 1)) {
			TH_LOG("size %zu at %llu: device differs", n,
			       (unsigned long long)off);
		}
		off += n + 12288;	/* leave gaps, keep 4 KiB alignment */
	}
	free(buf);
	free(back);
}

/* Reads come from the device: data put there behind the server's back. */
TEST_F(example, direct_read_sees_device)
{
	size_t n = 1 << 20;
	uint64_t off = 16 << 20;
	void *buf = kt_alloc(n), *back = kt_alloc(n);

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	kt_fill(buf, n, off, 77);
	ASSERT_EQ(0, kt_direct_pwrite(kt_device(), buf, n, RANGE_OFF + off));
	ASSERT_EQ(0, kt_direct_pread(self->file, back, n, off));
	EXPECT_EQ(-1, kt_check(back, n, off, 77));
	free(buf);
	free(back);
}

/* Direct IO at the device's sector granularity inside a mapped block. */
TEST_F(example, direct_sector_granular)
{
	void *buf = kt_alloc(4096), *back = kt_alloc(4096);
	uint64_t off = 20 << 20;
	int fd;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	kt_fill(buf, 4096, off, 5);
	ASSERT_EQ(0, kt_direct_pwrite(self->file, buf, 4096, off));
	kt_fill(buf, 512, off + 512, 6);
	ASSERT_EQ(0, kt_direct_pwrite(self->file, buf, 512, off + 512));
	ASSERT_EQ(0, kt_direct_pread(kt_device(), back, 4096, RANGE_OFF + off));
	EXPECT_EQ(-1, kt_check(back, 512, off, 5));
	EXPECT_EQ(-1, kt_check((char *)back + 512, 512, off + 512, 6));
	EXPECT_EQ(-1, kt_check((char *)back + 1024, 3072, off + 1024, 5));

	/*
	 * Not sector aligned: the block layer would refuse it, so the
	 * server writes it, as classic FUSE always did (doc/protocol.md,
	 * section 11), and it lands at the mapped address all the same.
	 */
	fd = open(self->file, O_WRONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	kt_fill(buf, 512, off + 100, 7);
	EXPECT_EQ(512, pwrite(fd, buf, 512, off + 100));
	close(fd);
	ASSERT_EQ(0, kt_direct_pread(kt_device(), back, 4096, RANGE_OFF + off));
	EXPECT_EQ(-1, kt_check((char *)back + 100, 512, off + 100, 7));
	EXPECT_EQ(-1, kt_check((char *)back + 612, 412, off + 612, 6));
	free(buf);
	free(back);
}

/* The end of the file: short reads, and the server's EFBIG for writes. */
TEST_F(example, direct_past_eof)
{
	void *buf = kt_alloc(8192);
	int fd;

	ASSERT_NE(NULL, buf);
	fd = open(self->file, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, pread(fd, buf, 4096, RANGE_LEN));
	EXPECT_EQ(0, pread(fd, buf, 4096, RANGE_LEN + (1 << 20)));
	kt_fill(buf, 8192, RANGE_LEN - 4096, 9);
	EXPECT_EQ(4096, pwrite(fd, buf, 4096, RANGE_LEN - 4096));
	EXPECT_EQ(4096, pread(fd, buf, 8192, RANGE_LEN - 4096));
	EXPECT_EQ(-1, kt_check(buf, 4096, RANGE_LEN - 4096, 9));
	EXPECT_EQ(-1, pwrite(fd, buf, 4096, RANGE_LEN));
	EXPECT_EQ(EFBIG, errno);
	close(fd);
	free(buf);
}

/* Asynchronous direct IO (io_submit): several writes, then reads. */
TEST_F(example, direct_aio)
{
	enum { NR = 8, LEN = 256 << 10 };
	struct iocb cbs[NR], *cbp[NR];
	io_context_t ctx = 0;
	uint64_t base = 32 << 20;
	void *buf[NR];
	int fd, i;

	fd = open(self->file, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_setup(NR, &ctx));
	for (i = 0; i < NR; i++) {
		buf[i] = kt_alloc(LEN);
		ASSERT_NE(NULL, buf[i]);
		kt_fill(buf[i], LEN, base + (uint64_t)i * 2 * LEN, 40 + i);
		io_prep_pwrite(&cbs[i], fd, buf[i], LEN,
			       base + (uint64_t)i * 2 * LEN);
		cbp[i] = &cbs[i];
	}
	ASSERT_EQ(NR, io_submit(ctx, NR, cbp));
	EXPECT_EQ(0, kt_aio_reap(ctx, NR));
	for (i = 0; i < NR; i++) {
		memset(buf[i], 0, LEN);
		io_prep_pread(&cbs[i], fd, buf[i], LEN,
			      base + (uint64_t)i * 2 * LEN);
	}
	ASSERT_EQ(NR, io_submit(ctx, NR, cbp));
	EXPECT_EQ(0, kt_aio_reap(ctx, NR));
	for (i = 0; i < NR; i++) {
		EXPECT_EQ(-1, kt_check(buf[i], LEN,
				       base + (uint64_t)i * 2 * LEN, 40 + i));
		free(buf[i]);
	}
	io_destroy(ctx);
	close(fd);
}

/*
 * io_uring: it first tries without blocking (IOCB_NOWAIT), which the
 * kernel serves inline only from a kept mapping; when it must ask the
 * server it answers -EAGAIN and the request completes from io_uring's
 * worker.
 */
TEST_F(example, direct_io_uring)
{
	enum { NR = 8, LEN = 128 << 10 };
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	uint64_t base = 40 << 20;
	void *buf[NR];
	int fd, i, pass;

	fd = open(self->file, O_RDWR | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(NR, &ring, 0));
	for (i = 0; i < NR; i++) {
		buf[i] = kt_alloc(LEN);
		ASSERT_NE(NULL, buf[i]);
	}
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < NR; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			uint64_t off = base + (uint64_t)i * LEN;

			ASSERT_NE(NULL, sqe);
			if (pass == 0) {
				kt_fill(buf[i], LEN, off, 60 + i);
				io_uring_prep_write(sqe, fd, buf[i], LEN, off);
			} else {
				memset(buf[i], 0, LEN);
				io_uring_prep_read(sqe, fd, buf[i], LEN, off);
			}
		}
		ASSERT_EQ(NR, io_uring_submit(&ring));
		for (i = 0; i < NR; i++) {
			ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
			EXPECT_EQ(LEN, cqe->res);
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	for (i = 0; i < NR; i++) {
		EXPECT_EQ(-1, kt_check(buf[i], LEN, base + (uint64_t)i * LEN,
				       60 + i));
		free(buf[i]);
	}
	io_uring_queue_exit(&ring);
	close(fd);
}

/*
 * Buffered IO still goes through the server on this file; direct IO must
 * see what it wrote, and the server must see what direct IO wrote.
 */
TEST_F(example, buffered_direct_coherent)
{
	size_t n = 64 << 10;
	uint64_t off = 48 << 20;
	char *buf = kt_alloc(n), *back = kt_alloc(n);
	int fd;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	fd = open(self->file, O_RDWR);
	ASSERT_LE(0, fd);
	kt_fill(buf, n, off, 11);
	ASSERT_EQ((ssize_t)n, pwrite(fd, buf, n, off));
	ASSERT_EQ(0, kt_direct_pread(self->file, back, n, off));
	EXPECT_EQ(-1, kt_check(back, n, off, 11));

	kt_fill(buf, n, off, 12);
	ASSERT_EQ(0, kt_direct_pwrite(self->file, buf, n, off));
	memset(back, 0, n);
	ASSERT_EQ((ssize_t)n, pread(fd, back, n, off));
	EXPECT_EQ(-1, kt_check(back, n, off, 12));
	close(fd);
	free(buf);
	free(back);
}

/*
 * A server that does not accept FUSE_IOMAP gets the classic connection:
 * no iomap line in fdinfo, and direct IO goes through the server.
 */
TEST(classic_when_not_negotiated)
{
	struct kt_server srv;
	char off[32], len[32];
	const char *argv[] = { server_bin(), "--iomap=off", kt_device(), off,
			       len, "@MNT@", "-f", NULL };
	char *buf = kt_alloc(65536), *back = kt_alloc(65536);
	char file[2 * KT_PATH_MAX];
	int fd;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	snprintf(off, sizeof(off), "%llu", RANGE_OFF);
	snprintf(len, sizeof(len), "%llu", RANGE_LEN);
	ASSERT_EQ(0, kt_server_start(&srv, argv));
	snprintf(file, sizeof(file), "%s", kt_path(&srv, "file"));

	fd = open(file, O_RDONLY);
	EXPECT_LE(0, fd);
	EXPECT_EQ(-1, kt_fd_iomap(fd, NULL));
	close(fd);
	kt_fill(buf, 65536, 4096, 21);
	EXPECT_EQ(0, kt_direct_pwrite(file, buf, 65536, 4096));
	EXPECT_EQ(0, kt_direct_pread(file, back, 65536, 4096));
	EXPECT_EQ(-1, kt_check(back, 65536, 4096, 21));
	EXPECT_EQ(0, kt_server_stop(&srv));
	free(buf);
	free(back);
}

TEST_HARNESS_MAIN
