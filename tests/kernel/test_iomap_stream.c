// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Streaming buffered writes to an iomap file (fuse2fs -o iomap=on) and
 * the conversions the kernel keeps back for their writeback
 * (doc/protocol.md 10.1):
 *  - a 1 GiB write in 1 MiB write(2)s, then fsync, costs at most 16
 *    FUSE_IOMAP_BEGIN, END and IOEND upcalls together (counted with the
 *    fuse_request_send trace event), and reads back after the page cache
 *    was dropped, and with kernel ext4 after unmount;
 *  - fsync sends the kept-back conversion: the server killed with SIGKILL
 *    the moment it returned, kernel ext4 reads the data; sync(2) sends it
 *    too (traced);
 *  - writeback does not wait for the server: with the server stopped
 *    (SIGSTOP) and only the conversion left to tell it, the folios of a
 *    written file finish writeback (sync_file_range with WAIT_AFTER
 *    returns).
 * Every test starts from a fresh mke2fs and ends with `e2fsck -fn`.
 * Runs inside the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "f2guest.h"

/* Big enough for the 1 GiB file (f2g_mkfs() makes 1 GiB) */
#define STREAM_FS_SIZE	"3G"
#define STREAM_SIZE	(1024 * MIB)
#define STREAM_UPCALLS	16
#define SEED		7

FIXTURE(stream) {
	struct kt_server srv;
};

FIXTURE_SETUP(stream)
{
	const char *bin = getenv("KT_FUSE2FS");
	const char *argv[] = { bin ? bin : KT_FUSE2FS, f2g_device(), "@MNT@",
			       "-o", "iomap=on", "-f", NULL };

	ASSERT_EQ(0, kt_sh(120, "mke2fs -q -F -t ext4 -b 4096 %s %s",
			   f2g_device(), STREAM_FS_SIZE));
	ASSERT_EQ(0, kt_server_start(&self->srv, argv));
}

FIXTURE_TEARDOWN(stream)
{
	/* a stopped server must be able to go */
	if (self->srv.pid > 0)
		kill(self->srv.pid, SIGCONT);
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

/* Write [0, size) with the pattern in 1 MiB write(2)s. */
static int write_stream(int fd, uint64_t size)
{
	char *buf = malloc(MIB);
	uint64_t off;

	if (!buf)
		return -1;
	for (off = 0; off < size; off += MIB) {
		kt_fill(buf, MIB, off, SEED);
		if (write(fd, buf, MIB) != (ssize_t)MIB) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	return 0;
}

static int open_iomap(FIXTURE_DATA(stream) *self, const char *name)
{
	int fd = open(kt_path(&self->srv, name), O_CREAT | O_RDWR, 0644);

	if (fd >= 0 && kt_fd_iomap(fd, NULL) != 1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The server died: reap it, so that kt_server_stop() only unmounts. */
static void kill_server(struct kt_server *srv)
{
	kill(srv->pid, SIGKILL);
	waitpid(srv->pid, NULL, 0);
	srv->pid = 0;
}

static int count_opcode(const char *trace, const char *opcode)
{
	const char *needles[] = { opcode, NULL };

	return kt_trace_count(trace, needles);
}

TEST_F_TIMEOUT(stream, one_gib_in_at_most_16_upcalls, 600)
{
	const char *const events[] = { "fuse/fuse_request_send", NULL };
	const struct region all = { 0, STREAM_SIZE, SEED };
	int fd = open_iomap(self, "big");
	int begin, end, ioend;
	char *trace;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_trace_start(events));
	ASSERT_EQ(0, write_stream(fd, STREAM_SIZE));
	ASSERT_EQ(0, fsync(fd));
	trace = kt_trace_stop(events);
	ASSERT_NE(NULL, trace);
	begin = count_opcode(trace, "opcode 8100 ");
	end = count_opcode(trace, "opcode 8101 ");
	ioend = count_opcode(trace, "opcode 8102 ");
	free(trace);
	TH_LOG("1 GiB + fsync: %d BEGIN, %d END, %d IOEND", begin, end,
	       ioend);
	EXPECT_LE(begin + end + ioend, STREAM_UPCALLS);
	/* the write did go through iomap */
	EXPECT_LE(1, begin);
	ASSERT_EQ(0, close(fd));

	ASSERT_EQ(0, kt_sh(60, "echo 3 > /proc/sys/vm/drop_caches"));
	EXPECT_EQ(0, f2g_check_regions(kt_path(&self->srv, "big"), &all, 1,
				       false));
	ASSERT_EQ(0, kt_server_stop(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("big", &all, 1, STREAM_SIZE));
}

#define DURABLE_SIZE	(32 * MIB)

/* fsync, then SIGKILL to the server at once: ext4 reads it all. */
TEST_F_TIMEOUT(stream, fsync_sends_the_conversion, 300)
{
	const struct region all = { 0, DURABLE_SIZE, SEED };
	int fd = open_iomap(self, "f");

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_stream(fd, DURABLE_SIZE));
	ASSERT_EQ(0, fsync(fd));
	kill_server(&self->srv);
	close(fd);
	ASSERT_EQ(0, kt_server_stop(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("f", &all, 1, DURABLE_SIZE));
}

/*
 * sync(2) with the file still open and written back already (its
 * conversion kept back): sync sends the IOEND.  (Whether fuse2fs then
 * has everything on the disk is its business: FUSE sends no FUSE_SYNCFS
 * to it, so the data is checked after a clean unmount.)
 */
TEST_F_TIMEOUT(stream, sync_sends_the_conversion, 300)
{
	const char *const events[] = { "fuse/fuse_request_send", NULL };
	const struct region all = { 0, DURABLE_SIZE, SEED };
	int fd = open_iomap(self, "f");
	char *trace;
	int ioends;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_stream(fd, DURABLE_SIZE));
	ASSERT_EQ(0, sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
				     SYNC_FILE_RANGE_WRITE |
				     SYNC_FILE_RANGE_WAIT_AFTER));
	ASSERT_EQ(0, kt_trace_start(events));
	sync();
	trace = kt_trace_stop(events);
	ASSERT_NE(NULL, trace);
	ioends = count_opcode(trace, "opcode 8102 ");
	free(trace);
	EXPECT_LE(1, ioends) {
		TH_LOG("sync(2) sent no IOEND");
	}
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, kt_server_stop(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("f", &all, 1, DURABLE_SIZE));
}

struct wb_waiter {
	int fd;
	int ret;
	atomic_bool done;
};

/* A thread, not a child: a child's exit would close the file (FLUSH) */
static void *write_back_and_wait(void *arg)
{
	struct wb_waiter *w = arg;

	w->ret = sync_file_range(w->fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
				 SYNC_FILE_RANGE_WRITE |
				 SYNC_FILE_RANGE_WAIT_AFTER);
	atomic_store(&w->done, true);
	return NULL;
}

/*
 * The write's BEGIN allocated and the kernel kept the mapping: writeback
 * needs nothing from the server but the conversion, which must not hold
 * the folios under writeback while the server is stopped.
 */
TEST_F_TIMEOUT(stream, writeback_does_not_wait_for_a_stopped_server, 300)
{
	const struct region all = { 0, 8 * MIB, SEED };
	struct wb_waiter w = { .ret = -1 };
	pthread_t thread;
	int i;

	w.fd = open_iomap(self, "f");
	ASSERT_LE(0, w.fd);
	ASSERT_EQ(0, write_stream(w.fd, 8 * MIB));
	ASSERT_EQ(0, kill(self->srv.pid, SIGSTOP));
	ASSERT_EQ(0, pthread_create(&thread, NULL, write_back_and_wait, &w));
	for (i = 0; i < 300 && !atomic_load(&w.done); i++)
		usleep(100000);
	EXPECT_TRUE(atomic_load(&w.done)) {
		TH_LOG("writeback waited for the stopped server");
	}
	ASSERT_EQ(0, kill(self->srv.pid, SIGCONT));
	pthread_join(thread, NULL);
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(0, fsync(w.fd));
	EXPECT_EQ(0, close(w.fd));
	ASSERT_EQ(0, kt_server_stop(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("f", &all, 1, 8 * MIB));
}

TEST_HARNESS_MAIN
