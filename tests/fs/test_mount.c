// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mount life cycle and the test helpers themselves: a fresh image mounts,
 * serves the root directory, unmounts with the server exiting 0 and stays
 * fsck-clean; the safety net removes a mount whose test process was
 * SIGKILLed (what the harness does on a time-out).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

FIXTURE(mount) {
	struct tfs_env env;
};

FIXTURE_SETUP(mount)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	ASSERT_EQ(0, tfs_env_init(&self->env));
}

FIXTURE_TEARDOWN_PARENT(mount)
{
	tfs_env_cleanup(&self->env);
}

TEST_F(mount, fresh_image_root)
{
	struct stat st;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_fuse(&self->env.fuse, self->env.image, NULL));
	ASSERT_TRUE(tfs_is_mounted(self->env.fuse.dir, NULL, 0));
	ASSERT_EQ(0, stat(self->env.fuse.dir, &st));
	EXPECT_EQ(2, st.st_ino);
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT_EQ(3, st.st_nlink);	/* ".", ".." and lost+found's ".." */
	ASSERT_EQ(0, stat(tfs_p(&self->env.fuse, "lost+found"), &st));
	EXPECT_EQ(11, st.st_ino);
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
	EXPECT_EQ(0, self->env.fuse.exit_status);
	EXPECT_FALSE(tfs_is_mounted(self->env.fuse.dir, NULL, 0));
}

TEST_F(mount, remount_keeps_data)
{
	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_fuse(&self->env.fuse, self->env.image, NULL));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(&self->env.fuse, "f"), 0,
				       300000, 7, O_CREAT | O_TRUNC));
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
	ASSERT_EQ(0, tfs_mount_fuse(&self->env.fuse, self->env.image, NULL));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(&self->env.fuse, "f"), 0,
				       300000, 7));
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
}

/*
 * Hold dev as the last mount's server still would (an flock, or with
 * excl an O_EXCL open of a block device) for 1.5 s, in a child, and
 * mount it meanwhile: the mount must wait for the child, not fail.
 */
static void mount_while_held(struct __test_metadata *_metadata,
			     struct tfs_mount *m, const char *dev, bool excl,
			     const char *opts)
{
	struct timespec t0, t1;
	int pfd[2], fd, status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pfd[0]);
		fd = open(dev, O_RDWR | O_CLOEXEC | (excl ? O_EXCL : 0));
		if (fd < 0 || (!excl && flock(fd, LOCK_EX)) ||
		    write(pfd[1], "l", 1) != 1)
			_exit(1);
		usleep(1500 * 1000);
		_exit(0);	/* what it holds goes with the process */
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &c, 1));
	close(pfd[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, tfs_mount_fuse(m, dev, opts));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* It cannot have had the image before the holder let go. */
	EXPECT_LE(1000, (t1.tv_sec - t0.tv_sec) * 1000 +
			(t1.tv_nsec - t0.tv_nsec) / 1000000);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(m, "f"), 0, 5000, 3, O_CREAT));
	TFS_ASSERT_UNMOUNT_CLEAN(m);
	EXPECT_EQ(0, tfs_log_count(m, "busy"));
}

/*
 * umount(2) of a FUSE mount returns before the server that served it has
 * written the image back and let go of it; a mount right after it must
 * wait for that server rather than fail as busy.
 */
TEST_F(mount, waits_for_the_last_mounts_server)
{
	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	mount_while_held(_metadata, &self->env.fuse, self->env.image, false,
			 NULL);
}

/*
 * The same with -o iomap=off on a block device, which fuse2fs opens with
 * O_EXCL: the last server's exclusive open is what it waits for there.
 */
TEST_F(mount, waits_for_the_last_mounts_server_block_device)
{
	char *out = NULL, dev[64] = "";

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	tfs_guard_loop_image(self->env.image, true);
	ASSERT_EQ(0, tfs_sh(10000, &out, "losetup -f --show %s",
			    self->env.image));
	EXPECT_EQ(1, sscanf(out, "%63s", dev));
	free(out);
	ASSERT_EQ(0, strncmp(dev, "/dev/loop", 9));
	mount_while_held(_metadata, &self->env.fuse, dev, true, "iomap=off");
	EXPECT_EQ(1, tfs_loop_detach_image(self->env.image));
	tfs_guard_loop_image(self->env.image, false);
}

/*
 * fuse2fs -o remount[,ro|rw] changes the flags of the mount in place and
 * starts no server; flags it does not name stay (nosuid and nodev, the
 * libfuse defaults at mount time, noexec set by an earlier remount).
 */
/* fuse2fs IMAGE DIR -o OPTS, which must succeed; DIR's flags after it. */
static void remount_by_hand(struct __test_metadata *_metadata,
			    const struct tfs_mount *m, const char *opts,
			    unsigned long *flags)
{
	struct statvfs sv;
	char *out = NULL;

	ASSERT_EQ(0, tfs_runl(10000, &out, tfs_fuse2fs_bin(), m->image,
			      m->dir, "-o", opts, NULL))
		tfs_log_text("remount", out);
	free(out);
	ASSERT_EQ(0, statvfs(m->dir, &sv));
	*flags = sv.f_flag;
}

TEST_F(mount, remount_changes_flags_in_place)
{
	struct tfs_mount *m = &self->env.fuse;
	unsigned long flags = 0;
	char *out = NULL;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
	remount_by_hand(_metadata, m, "remount,noexec", &flags);
	EXPECT_TRUE(flags & ST_NOEXEC);
	EXPECT_FALSE(flags & ST_RDONLY);
	/* What a remount does not name stays. */
	remount_by_hand(_metadata, m, "remount,ro", &flags);
	EXPECT_TRUE(flags & ST_RDONLY);
	EXPECT_TRUE(flags & ST_NOEXEC);
	EXPECT_TRUE(flags & ST_NOSUID);
	EXPECT_TRUE(flags & ST_NODEV);
	TFS_EXPECT_ERRNO(EROFS, mkdir(tfs_p(m, "d"), 0755));
	remount_by_hand(_metadata, m, "remount,rw,exec", &flags);
	EXPECT_FALSE(flags & ST_RDONLY);
	EXPECT_FALSE(flags & ST_NOEXEC);
	EXPECT_TRUE(flags & ST_NOSUID);
	EXPECT_TRUE(flags & ST_NODEV);
	EXPECT_EQ(0, mkdir(tfs_p(m, "d"), 0755));
	/* Not a FUSE mount: refused, nothing changed. */
	EXPECT_NE(0, tfs_runl(10000, &out, tfs_fuse2fs_bin(), self->env.image,
			      self->env.dir, "-o", "remount,ro", NULL));
	EXPECT_TRUE(out && strstr(out, "not a FUSE mount"));
	free(out);
	TFS_ASSERT_UNMOUNT_CLEAN(m);
	EXPECT_EQ(0, tfs_log_count(m, "busy"));
}

TEST_F(mount, clean_unmount_marks_valid)
{
	char state[64];

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_fuse(&self->env.fuse, self->env.image, NULL));
	ASSERT_EQ(0, mkdir(tfs_p(&self->env.fuse, "d"), 0755));
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
	ASSERT_EQ(0, tfs_sb_string(self->env.image, "Filesystem state", state,
				   sizeof(state)));
	EXPECT_STREQ("clean", state);
	/* The mount was counted; the journal was left with nothing to do. */
	EXPECT_EQ(1, tfs_sb_number(self->env.image, "Mount count"));
	{
		char features[512];

		ASSERT_EQ(0, tfs_sb_string(self->env.image,
					   "Filesystem features", features,
					   sizeof(features)));
		EXPECT_NE(NULL, strstr(features, "has_journal"));
		EXPECT_EQ(NULL, strstr(features, "needs_recovery"));
	}
}

TEST_F(mount, fsname_option)
{
	char *mi, *line;
	bool found = false;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_fuse(&self->env.fuse, self->env.image,
				    "fsname=my-test-volume"));
	mi = tfs_read_file("/proc/self/mountinfo", NULL);
	ASSERT_NE(NULL, mi);
	for (line = strtok(mi, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strstr(line, self->env.fuse.dir))
			continue;
		found = true;
		EXPECT_NE(NULL, strstr(line, " - fuse"));
		EXPECT_NE(NULL, strstr(line, " my-test-volume ")) TH_LOG("%s", line);
	}
	free(mi);
	EXPECT_TRUE(found);
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
}

/* SIGTERM: the server unmounts, writes everything back and exits 0. */
TEST_F(mount, sigterm_unmounts_cleanly)
{
	struct tfs_mount *m = &self->env.fuse;
	char state[64];

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(m, "f"), 0, 1 << 20, 5,
				       O_CREAT));
	ASSERT_EQ(0, mkdir(tfs_p(m, "d"), 0755));
	ASSERT_EQ(0, kill(m->server, SIGTERM));
	EXPECT_EQ(0, tfs_wait_server(m, 20000));
	EXPECT_FALSE(m->left_mounted);
	ASSERT_EQ(0, tfs_fsck(self->env.image));
	ASSERT_EQ(0, tfs_sb_string(self->env.image, "Filesystem state", state,
				   sizeof(state)));
	EXPECT_STREQ("clean", state);
	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(m, "f"), 0, 1 << 20, 5));
	EXPECT_EQ(0, access(tfs_p(m, "d"), F_OK));
	TFS_ASSERT_UNMOUNT_CLEAN(m);
}

/* A server that dies hard: ENOTCONN for users, and the helpers recover. */
TEST_F(mount, killed_server_is_cleaned_up)
{
	struct tfs_mount *m = &self->env.fuse;
	struct stat st;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
	ASSERT_EQ(0, kill(m->server, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, tfs_wait_server(m, 10000));
	/* tfs_wait_server detached the dead mount it found. */
	EXPECT_TRUE(m->left_mounted);
	EXPECT_FALSE(tfs_is_mounted(m->dir, NULL, 0));
	EXPECT_EQ(0, stat(m->dir, &st));
	/* The image itself is consistent: nothing had been written. */
	EXPECT_EQ(0, tfs_fsck(self->env.image));
}

TEST_F(mount, read_only_option)
{
	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_fuse(&self->env.fuse, self->env.image, "ro"));
	EXPECT_EQ(-1, mkdir(tfs_p(&self->env.fuse, "d"), 0755));
	EXPECT_EQ(EROFS, errno);
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
}

TEST_F(mount, kernel_loop_mount_detaches)
{
	ASSERT_EQ(0, tfs_mkfs(self->env.kimage, NULL));
	ASSERT_EQ(0, tfs_mount_kernel(&self->env.kern, self->env.kimage,
				      NULL, NULL));
	ASSERT_EQ(0, mkdir(tfs_p(&self->env.kern, "d"), 0755));
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.kern);
	/* No loop device may still be bound to the image. */
	EXPECT_EQ(0, tfs_loop_detach_image(self->env.kimage));
}

/*
 * A child mounts both kinds and is SIGKILLed: the guardian must detach
 * the mounts, kill the server and free the loop device.
 */
TEST_F(mount, guardian_cleans_after_sigkill)
{
	struct tfs_env *env = &self->env;
	int status, i, pfd[2];
	char c;
	pid_t pid;

	ASSERT_EQ(0, tfs_mkfs(env->image, NULL));
	ASSERT_EQ(0, tfs_mkfs(env->kimage, NULL));
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct tfs_env child = *env;

		close(pfd[0]);
		/* A fresh guardian of the child's own, as in a test. */
		if (tfs_guard_start() < 0 ||
		    tfs_mount_fuse(&child.fuse, child.image, NULL) < 0 ||
		    tfs_mount_kernel(&child.kern, child.kimage, NULL, NULL) < 0)
			_exit(1);
		if (write(pfd[1], "m", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &c, 1));
	close(pfd[0]);
	ASSERT_TRUE(tfs_is_mounted(env->fuse.dir, NULL, 0));
	ASSERT_TRUE(tfs_is_mounted(env->kern.dir, NULL, 0));
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	for (i = 0; i < 500; i++) {
		if (!tfs_is_mounted(env->fuse.dir, NULL, 0) &&
		    !tfs_is_mounted(env->kern.dir, NULL, 0) &&
		    tfs_loop_detach_image(env->kimage) == 0)
			break;
		usleep(10000);
	}
	EXPECT_FALSE(tfs_is_mounted(env->fuse.dir, NULL, 0));
	EXPECT_FALSE(tfs_is_mounted(env->kern.dir, NULL, 0));
	EXPECT_EQ(0, tfs_loop_detach_image(env->kimage));
}

TEST(run_times_out)
{
	char *out = NULL;

	EXPECT_EQ(TFS_RUN_TIMEOUT, tfs_runl(200, &out, "sleep", "5", NULL));
	free(out);
	EXPECT_EQ(3, tfs_sh(5000, &out, "echo hi; exit 3"));
	ASSERT_NE(NULL, out);
	EXPECT_STREQ("hi\n", out);
	free(out);
	EXPECT_EQ(127, tfs_runl(5000, NULL, "/nonexistent/cmd", NULL));
}

TEST_HARNESS_MAIN
