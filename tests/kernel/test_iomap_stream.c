// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Streaming buffered writes to an iomap file (fuse2fs -o iomap=on) and
 * the IOENDs of their writeback (doc/protocol.md 11, writeback step 5):
 *  - a 1 GiB write in 1 MiB write(2)s, then fsync, costs at most 64
 *    FUSE_IOMAP_BEGIN, END and IOEND upcalls together (counted with the
 *    fuse_request_send trace event; 121-136 when every writeback pass
 *    had its IOENDs; 21-38 measured in the loaded debug guest with the
 *    writeback held back while more of it is in flight: how much is held
 *    depends on the device's speed, against the 5 s bound), and reads
 *    back after the page cache was dropped, and with kernel ext4 after
 *    unmount;
 *  - fsync makes it durable: the server killed with SIGKILL the moment
 *    fsync returned, kernel ext4 reads the data;
 *  - written back means the server heard of it: after a writeback wait
 *    (sync_file_range), the IOENDs went out and sync(2) sends none;
 *  - fsync and sync(2) at the end of a 512 MiB streaming write send at
 *    most 4 IOENDs (5 to 7 in most runs when each completion that came
 *    while someone waited went out at once).
 * Every test starts from a fresh mke2fs and ends with `e2fsck -fn`.
 * Runs inside the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "f2guest.h"

/* Big enough for the 1 GiB file (f2g_mkfs() makes 1 GiB) */
#define STREAM_FS_SIZE	"3G"
#define STREAM_SIZE	(1024 * MIB)
#define STREAM_UPCALLS	64
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

/*
 * name holds [0, size) of the pattern when read cold through the mount,
 * and with kernel ext4 once the server stopped.
 */
static void check_read_back(struct __test_metadata *_metadata,
			    FIXTURE_DATA(stream) *self, const char *name,
			    uint64_t size)
{
	const struct region all = { 0, size, SEED };

	ASSERT_EQ(0, kt_sh(60, "echo 3 > /proc/sys/vm/drop_caches"));
	EXPECT_EQ(0, f2g_check_regions(kt_path(&self->srv, name), &all, 1,
				       false));
	ASSERT_EQ(0, kt_server_stop(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4(name, &all, 1, size));
}

TEST_F_TIMEOUT(stream, one_gib_in_at_most_64_upcalls, 600)
{
	const char *const events[] = { "fuse/fuse_request_send", NULL };
	int fd = open_iomap(self, "big");
	int begin, end, ioend;
	char *trace;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_trace_start(events));
	ASSERT_EQ(0, write_stream(fd, STREAM_SIZE));
	ASSERT_EQ(0, fsync(fd));
	trace = kt_trace_stop(events);
	ASSERT_NE(NULL, trace);
	begin = kt_trace_lines(trace, "opcode 8100 ");
	end = kt_trace_lines(trace, "opcode 8101 ");
	ioend = kt_trace_lines(trace, "opcode 8102 ");
	free(trace);
	TH_LOG("1 GiB + fsync: %d BEGIN, %d END, %d IOEND", begin, end,
	       ioend);
	EXPECT_LE(begin + end + ioend, STREAM_UPCALLS);
	/* the write did go through iomap */
	EXPECT_LE(1, begin);
	ASSERT_EQ(0, close(fd));
	check_read_back(_metadata, self, "big", STREAM_SIZE);
}

#define DURABLE_SIZE	(32 * MIB)

/* fsync, then SIGKILL to the server at once: ext4 reads it all. */
TEST_F_TIMEOUT(stream, fsync_then_server_killed, 300)
{
	const struct region all = { 0, DURABLE_SIZE, SEED };
	int fd = open_iomap(self, "f");

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_stream(fd, DURABLE_SIZE));
	ASSERT_EQ(0, fsync(fd));
	kt_server_kill(&self->srv);
	close(fd);
	ASSERT_EQ(0, kt_server_stop(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("f", &all, 1, DURABLE_SIZE));
}

/*
 * Written back means the server heard of it: once sync_file_range()
 * waited for the writeback of the file, its conversion and size went out
 * (IOENDs traced during the wait), and a sync(2) after it has nothing
 * left to send.
 */
TEST_F_TIMEOUT(stream, written_back_means_converted, 300)
{
	const char *const events[] = { "fuse/fuse_request_send", NULL };
	const struct region all = { 0, DURABLE_SIZE, SEED };
	int fd = open_iomap(self, "f");
	int during, after;
	char *trace;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_stream(fd, DURABLE_SIZE));
	ASSERT_EQ(0, kt_trace_start(events));
	ASSERT_EQ(0, sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
				     SYNC_FILE_RANGE_WRITE |
				     SYNC_FILE_RANGE_WAIT_AFTER));
	trace = kt_trace_stop(events);
	ASSERT_NE(NULL, trace);
	during = kt_trace_lines(trace, "opcode 8102 ");
	free(trace);
	ASSERT_EQ(0, kt_trace_start(events));
	sync();
	trace = kt_trace_stop(events);
	ASSERT_NE(NULL, trace);
	after = kt_trace_lines(trace, "opcode 8102 ");
	free(trace);
	EXPECT_LE(1, during) {
		TH_LOG("the writeback wait sent no IOEND");
	}
	EXPECT_EQ(0, after) {
		TH_LOG("sync(2) still had %d IOENDs to send", after);
	}
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, kt_server_stop(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("f", &all, 1, DURABLE_SIZE));
}

/*
 * fsync or sync(2) right after a streaming write of new blocks, with the
 * flusher's writeback still in flight: the pass's completions go
 * together when its bios completed, and the flusher's are held while
 * the pass's bios are in flight, so the server hears of the rest in one
 * IOEND or a few, not one per completion that came while fsync waited
 * (5 to 7 in four of six runs before).  @how: 0 fsync, 1 sync(2).
 */
#define INTEGRITY_SIZE		(512 * MIB)
#define INTEGRITY_IOENDS	4

static void integrity_ioends(struct __test_metadata *_metadata,
			     FIXTURE_DATA(stream) *self, int how)
{
	const char *const events[] = { "fuse/fuse_request_send", NULL };
	int fd = open_iomap(self, "f");
	int ioends;
	char *trace;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_stream(fd, INTEGRITY_SIZE));
	ASSERT_EQ(0, kt_trace_start(events));
	if (how)
		sync();
	else
		ASSERT_EQ(0, fsync(fd));
	trace = kt_trace_stop(events);
	ASSERT_NE(NULL, trace);
	ioends = kt_trace_lines(trace, "opcode 8102 ");
	free(trace);
	TH_LOG("%s of %llu MiB: %d IOENDs", how ? "sync(2)" : "fsync",
	       (unsigned long long)(INTEGRITY_SIZE / MIB), ioends);
	EXPECT_LE(1, ioends);
	EXPECT_GE(INTEGRITY_IOENDS, ioends);
	ASSERT_EQ(0, close(fd));
	check_read_back(_metadata, self, "f", INTEGRITY_SIZE);
}

TEST_F_TIMEOUT(stream, fsync_sends_few_ioends, 300)
{
	integrity_ioends(_metadata, self, 0);
}

TEST_F_TIMEOUT(stream, sync_sends_few_ioends, 300)
{
	integrity_ioends(_metadata, self, 1);
}

TEST_HARNESS_MAIN
