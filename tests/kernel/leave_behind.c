// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fails on purpose and leaves the guest dirty: the self-check of the
 * cleanup that guest-tests.sh does between programs (make
 * check-guest-cleanup), never part of the suite.  The first test fails an
 * ASSERT with a file open and mapped and a child holding another
 * descriptor; the second hangs until the runner's time-out kills the
 * program, with its fuse2fs server running and the file system mounted.
 * A normal program run after it must pass.  Runs inside the UML guest.
 */
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "f2guest.h"

FIXTURE(lb) {
	struct kt_server srv;
};

FIXTURE_SETUP(lb)
{
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(lb)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

/* Open, map and write a file; a child holds it open and waits forever. */
static int hold_a_file(const char *path)
{
	int fd = open(path, O_CREAT | O_RDWR, 0644);
	char *map;

	if (fd < 0 || ftruncate(fd, 1 << 20))
		return -1;
	map = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return -1;
	map[0] = 1;
	if (!fork()) {
		open(path, O_RDONLY);
		for (;;)
			pause();
	}
	return fd;
}

TEST_F(lb, fails_with_a_file_open)
{
	ASSERT_LE(0, hold_a_file(kt_path(&self->srv, "open")));
	ASSERT_EQ(0, 1) TH_LOG("fails on purpose");
}

TEST_F_TIMEOUT(lb, killed_with_its_server_running, 3600)
{
	ASSERT_LE(0, hold_a_file(kt_path(&self->srv, "hung")));
	for (;;)
		pause();
}

TEST_HARNESS_MAIN
