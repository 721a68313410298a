// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ways real programs reach the page cache of an iomap file (fuse2fs
 * -o iomap=auto) besides read(2) and write(2): io_submit without
 * O_DIRECT, io_uring (also with a registered file whose fd was closed
 * before the IO completed, and a read only partly cached), a file
 * descriptor passed over a unix socket to a process that writes and
 * exits, a file whose last reference goes without a flush (a shared
 * mapping outliving its fd, an io_uring ring), sendfile and splice into
 * and out of the file, copy_file_range between iomap and classic files,
 * and buffered writes over blocks fallocated with FALLOC_FL_KEEP_SIZE.
 * Data and size must reach the server (read back after the inodes were
 * evicted, through O_DIRECT, and through kernel ext4 after unmount), with
 * no warning in the kernel log.
 *
 * Every test starts from a fresh mke2fs and ends with `e2fsck -fn`.
 * Runs inside the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <linux/falloc.h>

#include "kselftest_harness.h"
#include "f2guest.h"
#include "ktaio.h"

FIXTURE(paths) {
	struct kt_server srv;
	int warn;		/* WARNING lines in the kernel log at the start */
};

FIXTURE_SETUP(paths)
{
	self->warn = kt_klog_count("WARNING");
	ASSERT_LE(0, self->warn);
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(paths)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(self->warn, kt_klog_count("WARNING"));
}

/*
 * Evict the unused inodes without sync(2) first: sync would write back
 * what a release that forgot to do it left behind.
 */
static int drop_caches(void)
{
	return kt_sh(30, "echo 3 > /proc/sys/vm/drop_caches");
}

/*
 * What the file must hold, checked after its inode was evicted (through
 * the page cache, and through O_DIRECT from the device), then unmounted
 * and read by kernel ext4.  Ends the fixture's mount.
 */
static void check_everywhere(struct __test_metadata *_metadata,
			     FIXTURE_DATA(paths) *self, const char *name,
			     const struct region *r, int n, uint64_t size)
{
	const char *path = kt_path(&self->srv, name);
	struct stat st;

	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(size, (uint64_t)st.st_size);
	EXPECT_EQ(0, f2g_check_regions(path, r, n, false));
	EXPECT_EQ(0, f2g_check_regions(path, r, n, true));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4(name, r, n, size));
}

/* Unaligned pieces, into holes and past the end of the file. */
static const struct region pieces[] = {
	{ 0, 3000, 1 }, { 3000, 70000, 2 }, { 73000, 1 * MIB, 0 },
	{ 73000 + MIB, 2 * MIB + 333, 3 },
};
#define NPIECES		4
#define PIECES_END	(73000 + 3 * MIB + 333)

/* The whole file as the pieces make it (zeroes in the hole). */
static char *pieces_buffer(void)
{
	char *buf = kt_alloc(PIECES_END);
	int i;

	if (!buf)
		return NULL;
	memset(buf, 0, PIECES_END);
	for (i = 0; i < NPIECES; i++)
		if (pieces[i].seed)
			kt_fill(buf + pieces[i].off, pieces[i].len,
				pieces[i].off, pieces[i].seed);
	return buf;
}

static int open_iomap(FIXTURE_DATA(paths) *self, const char *name, int flags)
{
	int fd = open(kt_path(&self->srv, name), flags | O_CREAT, 0644);

	if (fd >= 0 && kt_fd_iomap(fd, NULL) != 1) {
		fprintf(stderr, "# %s is not an iomap file\n", name);
		close(fd);
		return -1;
	}
	return fd;
}

/* io_submit without O_DIRECT: the page cache, synchronously in the call. */
TEST_F(paths, aio_buffered)
{
	struct iocb cbs[NPIECES], *cbp[NPIECES];
	struct io_event ev[NPIECES];
	char *buf = pieces_buffer(), *back = kt_alloc(PIECES_END);
	io_context_t ctx = 0;
	int fd, i, n = 0;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	fd = open_iomap(self, "aio", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_setup(NPIECES, &ctx));
	for (i = 0; i < NPIECES; i++)
		if (pieces[i].seed) {
			io_prep_pwrite(&cbs[n], fd, buf + pieces[i].off,
				       pieces[i].len, pieces[i].off);
			cbp[n] = &cbs[n];
			n++;
		}
	ASSERT_EQ(n, io_submit(ctx, n, cbp));
	EXPECT_EQ(0, kt_aio_reap(ctx, n));
	/* and read back the same way, across the hole */
	memset(back, 0xee, PIECES_END);
	io_prep_pread(&cbs[0], fd, back, PIECES_END, 0);
	cbp[0] = &cbs[0];
	ASSERT_EQ(1, io_submit(ctx, 1, cbp));
	ASSERT_EQ(1, io_getevents(ctx, 1, 1, ev, NULL));
	EXPECT_EQ(PIECES_END, (long)ev[0].res);
	EXPECT_EQ(0, memcmp(buf, back, PIECES_END));
	io_destroy(ctx);
	close(fd);
	check_everywhere(_metadata, self, "aio", pieces, NPIECES, PIECES_END);
	free(buf);
	free(back);
}

/* Submit every piece as one SQE on fd (fixed index when fixed). */
static int uring_pieces(struct io_uring *ring, int fd, bool fixed,
			char *buf, bool write)
{
	struct io_uring_sqe *sqe;
	int i, n = 0;

	for (i = 0; i < NPIECES; i++) {
		if (!pieces[i].seed)
			continue;
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return -1;
		if (write)
			io_uring_prep_write(sqe, fd, buf + pieces[i].off,
					    pieces[i].len, pieces[i].off);
		else
			io_uring_prep_read(sqe, fd, buf + pieces[i].off,
					   pieces[i].len, pieces[i].off);
		if (fixed)
			sqe->flags |= IOSQE_FIXED_FILE;
		sqe->user_data = i;
		n++;
	}
	return io_uring_submit(ring) == n ? n : -1;
}

/* Wait for n completions; each must have moved its whole piece. */
static int uring_reap(struct io_uring *ring, int n)
{
	struct io_uring_cqe *cqe;
	int bad = 0;

	while (n--) {
		if (io_uring_wait_cqe(ring, &cqe))
			return -1;
		if (cqe->res != (int)pieces[cqe->user_data].len) {
			fprintf(stderr, "# piece %llu: %d\n",
				(unsigned long long)cqe->user_data, cqe->res);
			bad++;
		}
		io_uring_cqe_seen(ring, cqe);
	}
	return bad ? -1 : 0;
}

/*
 * io_uring buffered writes (from its worker: they may need the server)
 * and reads (of cached data, at once).
 */
TEST_F(paths, uring_buffered)
{
	char *buf = pieces_buffer(), *back = kt_alloc(PIECES_END);
	struct io_uring ring;
	int fd, n;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	fd = open_iomap(self, "uring", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	n = uring_pieces(&ring, fd, false, buf, true);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, uring_reap(&ring, n));
	memset(back, 0, PIECES_END);
	n = uring_pieces(&ring, fd, false, back, false);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, uring_reap(&ring, n));
	EXPECT_EQ(0, memcmp(buf, back, PIECES_END));
	io_uring_queue_exit(&ring);
	close(fd);
	check_everywhere(_metadata, self, "uring", pieces, NPIECES,
			 PIECES_END);
	free(buf);
	free(back);
}

/*
 * An io_uring read of 2 MiB of which only the first half is cached: the
 * first, IOCB_NOWAIT, try copies that half without starting IO (a short
 * read), and io_uring reads the rest from its worker: all of it arrives.
 */
TEST_F(paths, uring_read_half_cached)
{
	const struct region r[] = { { 0, 2 * MIB, 9 } };
	char *back = kt_alloc(2 * MIB);
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	int fd;

	ASSERT_NE(NULL, back);
	ASSERT_EQ(0, f2g_write_regions(kt_path(&self->srv, "half"), r, 1));
	ASSERT_EQ(0, drop_caches());
	fd = open_iomap(self, "half", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)MIB, pread(fd, back, MIB, 0));
	ASSERT_EQ(0, posix_fadvise(fd, MIB, MIB, POSIX_FADV_DONTNEED));
	memset(back, 0, 2 * MIB);
	ASSERT_EQ(0, io_uring_queue_init(2, &ring, 0));
	sqe = io_uring_get_sqe(&ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_read(sqe, fd, back, 2 * MIB, 0);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ((int)(2 * MIB), cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	EXPECT_EQ(-1, kt_check(back, 2 * MIB, 0, 9));
	close(fd);
	free(back);
	check_everywhere(_metadata, self, "half", r, 1, 2 * MIB);
}

/*
 * io_uring reads of pages that are not cached: the first, IOCB_NOWAIT,
 * try gets EAGAIN, and io_uring then waits for the pages (IOCB_WAITQ)
 * instead of handing each read to a worker thread, as on kernel ext4.
 * It does so only for files it cannot poll: iomap files have no ->poll,
 * and poll says ready without asking the server (FUSE_POLL).
 */
TEST_F(paths, uring_cold_reads_wait_for_pages)
{
	static const char *const events[] = {
		"io_uring/io_uring_queue_async_work", "fuse/fuse_request_send",
		NULL
	};
	enum { NR = 8, LEN = 4096, STEP = 512 << 10 };
	const struct region r[] = { { 0, NR * STEP, 21 } };
	struct pollfd pfd = { .events = POLLIN | POLLOUT };
	char *back = kt_alloc(NR * LEN), *trace;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int fd, i;

	ASSERT_NE(NULL, back);
	ASSERT_EQ(0, f2g_write_regions(kt_path(&self->srv, "cold"), r, 1));
	fd = open_iomap(self, "cold", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
	ASSERT_EQ(0, io_uring_queue_init(NR, &ring, 0));
	ASSERT_EQ(0, kt_trace_start(events));
	pfd.fd = fd;
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLIN | POLLOUT, pfd.revents);
	for (i = 0; i < NR; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		ASSERT_NE(NULL, sqe);
		io_uring_prep_read(sqe, fd, back + i * LEN, LEN,
				   (uint64_t)i * STEP);
	}
	ASSERT_EQ(NR, io_uring_submit(&ring));
	for (i = 0; i < NR; i++) {
		ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
		EXPECT_EQ(LEN, cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	trace = kt_trace_stop(events);
	ASSERT_NE(NULL, trace);
	EXPECT_EQ(0, kt_trace_lines(trace, "io_uring_queue_async_work:")) {
		TH_LOG("reads handed to io_uring's worker threads");
	}
	EXPECT_EQ(0, kt_trace_lines(trace, "(FUSE_POLL)"));
	free(trace);
	io_uring_queue_exit(&ring);
	for (i = 0; i < NR; i++)
		EXPECT_EQ(-1, kt_check(back + i * LEN, LEN,
				       (uint64_t)i * STEP, 21));
	close(fd);
	free(back);
	check_everywhere(_metadata, self, "cold", r, 1, NR * STEP);
}

/*
 * Write the pieces through a ring and close fd right after the submission,
 * before the writes complete; with fixed, fd is a registered file of the
 * ring.
 */
static void uring_closed_early(struct __test_metadata *_metadata,
			       FIXTURE_DATA(paths) *self, const char *name,
			       bool fixed)
{
	char *buf = pieces_buffer();
	struct io_uring ring;
	int fd, n;

	ASSERT_NE(NULL, buf);
	fd = open_iomap(self, name, fixed ? O_RDWR : O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	if (fixed)
		ASSERT_EQ(0, io_uring_register_files(&ring, &fd, 1));
	n = uring_pieces(&ring, fixed ? 0 : fd, fixed, buf, true);
	ASSERT_EQ(0, close(fd));
	ASSERT_LT(0, n);
	ASSERT_EQ(0, uring_reap(&ring, n));
	io_uring_queue_exit(&ring);
	check_everywhere(_metadata, self, name, pieces, NPIECES, PIECES_END);
	free(buf);
}

/*
 * A registered file: the ring's reference is the last, and it goes when
 * the ring is torn down, without a flush.
 */
TEST_F(paths, uring_fixed_file_closed_early)
{
	uring_closed_early(_metadata, self, "fixed", true);
}

/* Plain file in flight, closed before its writes complete, same ring. */
TEST_F(paths, uring_fd_closed_before_completion)
{
	uring_closed_early(_metadata, self, "early", false);
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))], c = 'f';
	struct iovec iov = { &c, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = { &c, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The receiver: write every piece through the fd it got, then exit. */
static int receive_and_write(int sock)
{
	char *buf = pieces_buffer();
	int fd = recv_fd(sock), i;

	if (fd < 0 || !buf)
		return 2;
	for (i = 0; i < NPIECES; i++)
		if (pieces[i].seed &&
		    pwrite(fd, buf + pieces[i].off, pieces[i].len,
			   pieces[i].off) != (ssize_t)pieces[i].len)
			return 3;
	/* no close: exit drops this reference */
	return 0;
}

/*
 * The fd goes over a unix socket to another process, which writes and
 * exits; the sender had closed its own fd before the writes, so the
 * receiver's exit drops the last reference.
 */
TEST_F(paths, fd_passed_over_unix_socket)
{
	int sv[2], fd, status;
	pid_t pid;

	fd = open_iomap(self, "passed", O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[0]);
		_exit(receive_and_write(sv[1]));
	}
	close(sv[1]);
	ASSERT_EQ(0, send_fd(sv[0], fd));
	ASSERT_EQ(0, close(fd));
	close(sv[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	check_everywhere(_metadata, self, "passed", pieces, NPIECES,
			 PIECES_END);
}

/*
 * The file is in flight on a unix socket that is closed before anyone
 * received it: the socket code drops the last reference, no flush.  The
 * data was written through a shared mapping after the fd was closed.
 */
TEST_F(paths, last_reference_in_flight_and_mapping)
{
	const uint64_t size = PIECES_END;
	char *buf = pieces_buffer(), *map;
	int sv[2], fd;

	ASSERT_NE(NULL, buf);
	fd = open_iomap(self, "inflight", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, size));
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, send_fd(sv[0], fd));
	ASSERT_EQ(0, close(fd));
	memcpy(map, buf, size);
	/* the socket pair goes with the file in it */
	close(sv[0]);
	close(sv[1]);
	/* the mapping's reference is now the last one; no flush either */
	ASSERT_EQ(0, munmap(map, size));
	check_everywhere(_metadata, self, "inflight", pieces, NPIECES, size);
	free(buf);
}

/* A file outside the mount (tmpfs) with the pieces, for sendfile. */
static int tmpfs_file(const char *name, char *path, size_t len)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *buf = pieces_buffer();
	int fd;

	snprintf(path, len, "%s/%s.%d", tmp, name, getpid());
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
	if (fd < 0 || !buf || ftruncate(fd, PIECES_END) ||
	    pwrite(fd, buf, PIECES_END, 0) != PIECES_END) {
		free(buf);
		return -1;
	}
	free(buf);
	return fd;
}

/* Copy len bytes with sendfile at unaligned steps; 0 or -1. */
static int sendfile_all(int out, int in, off_t off, size_t len)
{
	size_t done = 0;

	if (lseek(out, off, SEEK_SET) != off)
		return -1;
	while (done < len) {
		off_t pos = off + done;
		size_t step = len - done < 77777 ? len - done : 77777;
		ssize_t n = sendfile(out, in, &pos, step);

		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

/*
 * sendfile into an iomap file and out of it again, and splice through a
 * pipe into it at an unaligned offset past its end.
 */
TEST_F(paths, sendfile_and_splice)
{
	char src[KT_PATH_MAX], dst[KT_PATH_MAX + 8];
	char *buf = pieces_buffer(), *back = malloc(PIECES_END);
	int in, io, out, p[2];
	loff_t off;
	ssize_t n;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	in = tmpfs_file("sf-in", src, sizeof(src));
	ASSERT_LE(0, in);
	io = open_iomap(self, "sendfile", O_RDWR);
	ASSERT_LE(0, io);
	/* tmpfs -> iomap */
	ASSERT_EQ(0, sendfile_all(io, in, 0, PIECES_END));
	/* iomap -> tmpfs, from a cold page cache */
	ASSERT_EQ(0, fsync(io));
	ASSERT_EQ(0, kt_sh(30, "echo 1 > /proc/sys/vm/drop_caches"));
	snprintf(dst, sizeof(dst), "%s.back", src);
	out = open(dst, O_CREAT | O_TRUNC | O_RDWR, 0644);
	ASSERT_LE(0, out);
	ASSERT_EQ(0, sendfile_all(out, io, 0, PIECES_END));
	ASSERT_EQ(PIECES_END, pread(out, back, PIECES_END, 0));
	EXPECT_EQ(0, memcmp(buf, back, PIECES_END));
	/* splice 100000 bytes of the source to 5 MiB + 7 of the iomap file */
	ASSERT_EQ(0, pipe(p));
	off = 5 * MIB + 7;
	{
		loff_t ioff = 0;
		size_t left = 100000;

		while (left) {
			n = splice(in, &ioff, p[1], NULL, left, 0);
			ASSERT_LT(0, n);
			while (n) {
				ssize_t m = splice(p[0], NULL, io, &off, n, 0);

				ASSERT_LT(0, m);
				n -= m;
				left -= m;
			}
		}
	}
	close(p[0]);
	close(p[1]);
	close(in);
	close(out);
	close(io);
	unlink(src);
	unlink(dst);
	{
		const struct region want[] = {
			pieces[0], pieces[1], pieces[2], pieces[3],
			{ PIECES_END, 5 * MIB + 7 - PIECES_END, 0 },
		};
		struct stat st;
		char *tail = malloc(100000);

		ASSERT_NE(NULL, tail);
		ASSERT_EQ(0, drop_caches());
		ASSERT_EQ(0, stat(kt_path(&self->srv, "sendfile"), &st));
		EXPECT_EQ(5 * MIB + 7 + 100000, (uint64_t)st.st_size);
		EXPECT_EQ(0, f2g_check_regions(kt_path(&self->srv, "sendfile"),
					       want, 5, false));
		in = open(kt_path(&self->srv, "sendfile"), O_RDONLY);
		ASSERT_LE(0, in);
		ASSERT_EQ(100000, pread(in, tail, 100000, 5 * MIB + 7));
		EXPECT_EQ(0, memcmp(tail, buf, 100000));
		close(in);
		free(tail);
	}
	free(buf);
	free(back);
}

/*
 * copy_file_range from an iomap file to a classic one and back into a
 * second iomap file, each with unaligned offsets; the source's data is
 * only in the page cache when the copy starts.
 */
TEST_F(paths, copy_file_range_iomap_and_classic)
{
	char *buf = pieces_buffer();
	const char *classic = kt_path(&self->srv, "classic");
	int a, c, b, fd;
	loff_t in, out;
	size_t done;

	ASSERT_NE(NULL, buf);
	fd = open(classic, O_CREAT | O_WRONLY, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, f2g_set_preference(classic, "classic"));
	c = open(classic, O_RDWR);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, kt_fd_iomap(c, NULL));
	a = open_iomap(self, "a", O_RDWR);
	ASSERT_LE(0, a);
	b = open_iomap(self, "b", O_RDWR);
	ASSERT_LE(0, b);
	/* dirty page cache only */
	ASSERT_EQ(PIECES_END, pwrite(a, buf, PIECES_END, 0));
	for (in = 0, out = 0, done = 0; done < PIECES_END;) {
		ssize_t n = copy_file_range(a, &in, c, &out,
					    PIECES_END - done, 0);

		ASSERT_LT(0, n) {
			TH_LOG("copy iomap -> classic: %s", strerror(errno));
		}
		done += n;
	}
	for (in = 0, out = 0, done = 0; done < PIECES_END;) {
		ssize_t n = copy_file_range(c, &in, b, &out,
					    PIECES_END - done, 0);

		ASSERT_LT(0, n) {
			TH_LOG("copy classic -> iomap: %s", strerror(errno));
		}
		done += n;
	}
	close(a);
	close(b);
	close(c);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(0, f2g_check_regions(classic, pieces, NPIECES, false));
	check_everywhere(_metadata, self, "b", pieces, NPIECES, PIECES_END);
	free(buf);
}

/*
 * Blocks fallocated with FALLOC_FL_KEEP_SIZE (unwritten, past the end of
 * the file), then buffered writes over part of them and past them: the
 * size is what the writes made it, the rest of the blocks read as zeroes
 * and stay allocated, the data is on the device.
 */
TEST_F(paths, fallocate_keep_size_then_buffered_writes)
{
	const struct region r[] = {
		{ 0, 10000, 0 }, { 10000, 300000, 7 }, { 310000, 90000, 0 },
		{ 400000, 5000, 8 },
	};
	const uint64_t size = 405000;
	char *buf = pieces_buffer();
	struct stat st;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = open_iomap(self, "keep", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4 * MIB));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(0, st.st_size);
	kt_fill(buf, r[1].len, r[1].off, r[1].seed);
	ASSERT_EQ((ssize_t)r[1].len, pwrite(fd, buf, r[1].len, r[1].off));
	kt_fill(buf, r[3].len, r[3].off, r[3].seed);
	ASSERT_EQ((ssize_t)r[3].len, pwrite(fd, buf, r[3].len, r[3].off));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(size, (uint64_t)st.st_size);
	/* still allocated past the end: 4 MiB of blocks */
	EXPECT_LE(4 * MIB / 512, (uint64_t)st.st_blocks);
	close(fd);
	check_everywhere(_metadata, self, "keep", r, 4, size);
	free(buf);
}

TEST_HARNESS_MAIN
