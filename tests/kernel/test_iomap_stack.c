// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A block device stacked on the connection's own mount (doc/protocol.md
 * section 6.2): a loop device backed by a file of the mount, registered
 * by the server after the mount.  The kernel cannot see such a stack and
 * accepts it; what it must guarantee is that the cycle it makes (the
 * connection holds the loop device, the loop device a file of the mount,
 * the file the superblock, the superblock the connection), which a lazy
 * unmount and `losetup -d` do not end, ends when the connection is
 * aborted or the server dies: the connection goes, and the loop device,
 * marked for autoclear, is detached.  With hostile_server; runs inside
 * the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "hsguest.h"

FIXTURE(stack) {
	struct hsg hs;
	char loop[64];		/* /dev/loopN, set up by the test */
	char conn[96];		/* the connection's fusectl directory */
};

/* The first free loop device's name into out; 0 or -1. */
static int free_loop(char *out, size_t len)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char file[KT_PATH_MAX];
	FILE *f;
	int ret = -1;

	snprintf(file, sizeof(file), "%s/stack.loopname.%d", tmp, getpid());
	if (kt_sh(30, "losetup -f > %s", file))
		return -1;
	f = fopen(file, "r");
	if (f && fgets(out, len, f)) {
		out[strcspn(out, "\n")] = 0;
		ret = 0;
	}
	if (f)
		fclose(f);
	unlink(file);
	return ret;
}

/* /sys/block/loopN/loop exists while the loop device has a backing file. */
static bool loop_bound(const char *loop)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/block/%s/loop",
		 strrchr(loop, '/') + 1);
	return access(path, F_OK) == 0;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Wait up to 5 s for the connection and the loop device to go. */
static bool cycle_ended(FIXTURE_DATA(stack) *self)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (!exists(self->conn) && !loop_bound(self->loop))
			return true;
		usleep(100 * 1000);
	}
	return false;
}

FIXTURE_SETUP(stack)
{
	struct stat st;

	ASSERT_EQ(0, free_loop(self->loop, sizeof(self->loop)));
	ASSERT_EQ(0, setenv("HOSTILE_LATE_DEV", self->loop, 1));
	ASSERT_EQ(0, hsg_start(&self->hs));
	unsetenv("HOSTILE_LATE_DEV");
	if (stat(self->hs.srv.dir, &st))
		st.st_dev = 0;
	snprintf(self->conn, sizeof(self->conn),
		 "/sys/fs/fuse/connections/%u", minor(st.st_dev));
}

/*
 * Whatever the test did not end, end it: the teardown runs only when
 * the setup completed, so the stack is built by the tests themselves.
 */
FIXTURE_TEARDOWN(stack)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "echo 1 > %s/abort", self->conn);
	if (exists(self->conn))
		kt_sh(10, "%s", cmd);
	if (self->hs.srv.pid > 0)
		kill(self->hs.srv.pid, SIGKILL);
	if (loop_bound(self->loop))
		kt_sh(30, "losetup -d %s", self->loop);
	hsg_stop(&self->hs);
}

/*
 * The stack: a loop device on "good", given to the connection, then a
 * lazy unmount and losetup -d, which end nothing.
 */
static void build_stack(struct __test_metadata *_metadata,
			FIXTURE_DATA(stack) *self)
{
	ASSERT_TRUE(exists(self->conn));
	/* a loop device keeps a read-only flag set before it was detached */
	ASSERT_EQ(0, kt_sh(30, "losetup %s %s && blockdev --setrw %s",
			   self->loop, hsg_file(&self->hs, HOSTILE_GOOD),
			   self->loop));
	ASSERT_TRUE(loop_bound(self->loop));
	EXPECT_NE(0, access(kt_path(&self->hs.srv, HOSTILE_LATE_TRIGGER),
			    F_OK));
	/* accepted: the kernel cannot tell (protocol section 6.2) */
	ASSERT_EQ(0, hsg_noted(&self->hs, "late"));

	ASSERT_EQ(0, umount2(self->hs.srv.dir, MNT_DETACH));
	self->hs.srv.mounted = false;
	ASSERT_EQ(0, kt_sh(30, "losetup -d %s", self->loop));
	usleep(300 * 1000);
	ASSERT_TRUE(exists(self->conn)) {
		TH_LOG("the connection went without the cycle being broken");
	}
	ASSERT_TRUE(loop_bound(self->loop));
}

TEST_F(stack, abort_ends_the_cycle)
{
	build_stack(_metadata, self);
	if (_metadata->exit_code)
		return;
	ASSERT_EQ(0, kt_sh(10, "echo 1 > %s/abort", self->conn));
	EXPECT_TRUE(cycle_ended(self)) {
		TH_LOG("after abort: connection %s, loop device %s",
		       exists(self->conn) ? "still there" : "gone",
		       loop_bound(self->loop) ? "still bound" : "detached");
	}
}

TEST_F(stack, server_death_ends_the_cycle)
{
	build_stack(_metadata, self);
	if (_metadata->exit_code)
		return;
	ASSERT_EQ(0, kill(self->hs.srv.pid, SIGKILL));
	EXPECT_TRUE(cycle_ended(self)) {
		TH_LOG("after the server's death: connection %s, loop device %s",
		       exists(self->conn) ? "still there" : "gone",
		       loop_bound(self->loop) ? "still bound" : "detached");
	}
}

TEST_HARNESS_MAIN
