// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE_NOTIFY_INVAL_INODE barrier and page cache IO (review of
 * patches 15-16, item M2; doc/protocol.md section 10), with
 * hostile_server's "barrier_begin" (hostile.h), which holds its first
 * BEGIN answer for 500 ms and sends the notification meanwhile, here for
 * the block at 512 KiB only: a buffered read (readahead) or a read fault
 * at the start of the file that asked for its mapping before the
 * notification has its IO done before the notification returns to the
 * server ("barrier waited=1"), so the server cannot move any block under
 * it (it may move any, whatever the range).  Runs inside the UML guest,
 * as root.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "hsguest.h"

FIXTURE(barrier) {
	struct hsg hs;
};

FIXTURE_SETUP(barrier)
{
	setenv("HOSTILE_BARRIER_OFFSET", "524288", 1);
	ASSERT_EQ(0, hsg_start(&self->hs));
	unsetenv("HOSTILE_BARRIER_OFFSET");
}

FIXTURE_TEARDOWN(barrier)
{
	hsg_stop(&self->hs);
}

static void expect_waited(struct __test_metadata *_metadata,
			  const struct hsg *h)
{
	ASSERT_TRUE(hsg_wait(h, HOSTILE_BARRIER_BEGIN, "barrier", 5000));
	EXPECT_STREQ("barrier waited=1 error=0",
		     hsg_line(h, HOSTILE_BARRIER_BEGIN, "barrier"));
	EXPECT_LE(1, hsg_count(h, HOSTILE_BARRIER_BEGIN, "BEGIN"));
}

TEST_F(barrier, waits_for_buffered_read)
{
	char buf[4096];
	int fd = open(hsg_file(&self->hs, HOSTILE_BARRIER_BEGIN), O_RDONLY);

	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	ASSERT_EQ(sizeof(buf), pread(fd, buf, sizeof(buf), 0));
	expect_waited(_metadata, &self->hs);
	close(fd);
}

TEST_F(barrier, waits_for_read_fault)
{
	int fd = open(hsg_file(&self->hs, HOSTILE_BARRIER_BEGIN), O_RDONLY);
	volatile char *map;
	char c;

	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	map = mmap(NULL, 65536, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, (void *)map);
	c = map[4096];
	(void)c;
	expect_waited(_metadata, &self->hs);
	munmap((void *)map, 65536);
	close(fd);
}

TEST_HARNESS_MAIN
