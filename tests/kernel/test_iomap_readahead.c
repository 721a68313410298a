// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * How far the page cache of an iomap mount reads ahead (doc/protocol.md
 * 10.2, "Readahead"): when the server registers its block devices, the mount
 * takes their readahead window (read_ahead_kb) and largest readahead IO,
 * the largest of each, as a block filesystem on the device would, also
 * when that is below FUSE's own 128 KiB and at most 16 MiB; a server that
 * asked for less at INIT keeps its bound; the device's later changes are
 * not followed.
 * test_fuse2fs_buffered checks the pages read against kernel ext4.  With
 * hostile_server; runs inside the UML guest, as root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "hsguest.h"

FIXTURE(ra) {
	struct hsg hs;
	int saved_kb;		/* the scratch device's read_ahead_kb */
	char loop[64];		/* a second device, or "" */
};

FIXTURE_SETUP(ra)
{
	self->saved_kb = kt_device_read_ahead_kb(kt_device());
	ASSERT_LE(0, self->saved_kb);
	self->loop[0] = 0;
}

FIXTURE_TEARDOWN(ra)
{
	hsg_stop(&self->hs);
	unsetenv("HOSTILE_MAX_READAHEAD");
	unsetenv("HOSTILE_EXTRA_DEVS");
	unsetenv("HOSTILE_LATE_DEV");
	kt_set_device_read_ahead_kb(kt_device(), self->saved_kb);
	if (self->loop[0])
		kt_sh(30, "losetup -d %s", self->loop);
}

/*
 * Start hostile_server and wait for its INIT (a stat answered), which
 * registers the devices: the mount's read_ahead_kb then, or -1.
 */
static int start_and_read_mount_ra(FIXTURE_DATA(ra) *self)
{
	struct stat st;

	if (hsg_start(&self->hs) ||
	    stat(hsg_file(&self->hs, HOSTILE_GOOD), &st))
		return -1;
	return kt_mount_read_ahead_kb(self->hs.srv.dir);
}

/* A device tuned below FUSE's 128 KiB gives the mount its 64 KiB too. */
TEST_F(ra, a_small_device_window_is_taken)
{
	ASSERT_EQ(0, kt_set_device_read_ahead_kb(kt_device(), 64));
	EXPECT_EQ(64, start_and_read_mount_ra(self));
}

/* No device makes the mount read ahead more than 16 MiB by itself. */
TEST_F(ra, a_device_window_is_capped_at_16_mib)
{
	ASSERT_EQ(0, kt_set_device_read_ahead_kb(kt_device(), 65536));
	EXPECT_EQ(16384, start_and_read_mount_ra(self));
}

/*
 * A server whose INIT reply asked for 64 KiB of readahead (below the
 * 128 KiB offered) keeps that bound over a device with 1 MiB, and gets
 * a device's smaller 32 KiB.
 */
TEST_F(ra, the_servers_bound_is_kept)
{
	ASSERT_EQ(0, setenv("HOSTILE_MAX_READAHEAD", "65536", 1));
	ASSERT_EQ(0, kt_set_device_read_ahead_kb(kt_device(), 1024));
	EXPECT_EQ(64, start_and_read_mount_ra(self));
	hsg_stop(&self->hs);
	ASSERT_EQ(0, kt_set_device_read_ahead_kb(kt_device(), 32));
	EXPECT_EQ(32, start_and_read_mount_ra(self));
}

/* A 64 MiB loop device with a 2 MiB window for the second device. */
static int second_device(FIXTURE_DATA(ra) *self)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char img[KT_PATH_MAX];
	int ret;

	snprintf(img, sizeof(img), "%s/ra-loop.%d", tmp, getpid());
	ret = kt_loop_new(img, "64M", self->loop, sizeof(self->loop));
	unlink(img);
	return ret ? ret : kt_set_device_read_ahead_kb(self->loop, 2048);
}

/*
 * Two devices: the mount reads ahead as far as the larger window says,
 * registered first (before the scratch device, with 256 KiB) ...
 */
TEST_F(ra, the_largest_device_window_wins)
{
	char env[96];

	ASSERT_EQ(0, second_device(self));
	ASSERT_EQ(0, kt_set_device_read_ahead_kb(kt_device(), 256));
	snprintf(env, sizeof(env), "big:%s", self->loop);
	ASSERT_EQ(0, setenv("HOSTILE_EXTRA_DEVS", env, 1));
	EXPECT_EQ(2048, start_and_read_mount_ra(self));
	EXPECT_EQ(0, hsg_noted(&self->hs, "big"));
}

/* ... or after the mount, when it raises the window of the mount. */
TEST_F(ra, a_larger_device_registered_later_raises_it)
{
	struct stat st;

	ASSERT_EQ(0, second_device(self));
	ASSERT_EQ(0, kt_set_device_read_ahead_kb(kt_device(), 256));
	ASSERT_EQ(0, setenv("HOSTILE_LATE_DEV", self->loop, 1));
	ASSERT_EQ(256, start_and_read_mount_ra(self));
	unsetenv("HOSTILE_LATE_DEV");
	EXPECT_NE(0, stat(kt_path(&self->hs.srv, HOSTILE_LATE_TRIGGER), &st));
	EXPECT_EQ(0, hsg_noted(&self->hs, "late"));
	EXPECT_EQ(2048, kt_mount_read_ahead_kb(self->hs.srv.dir));
}

/*
 * Taken at registration: a later change to the device's window leaves
 * the mount's alone, and the mount's own read_ahead_kb is the knob (until
 * the server registers another device), as on any FUSE mount.
 */
TEST_F(ra, later_device_changes_are_not_followed)
{
	const char *dir = self->hs.srv.dir;

	ASSERT_EQ(0, kt_set_device_read_ahead_kb(kt_device(), 512));
	ASSERT_EQ(512, start_and_read_mount_ra(self));
	ASSERT_EQ(0, kt_set_device_read_ahead_kb(kt_device(), 32));
	EXPECT_EQ(512, kt_mount_read_ahead_kb(dir));
	ASSERT_EQ(0, kt_sh(10, "echo 768 > /sys/class/bdi/$(mountpoint -d %s)/"
			   "read_ahead_kb", dir));
	EXPECT_EQ(768, kt_mount_read_ahead_kb(dir));
}

TEST_HARNESS_MAIN
