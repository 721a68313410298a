// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Journal recovery at mount (fuse2fs/journal.c).  Kernel ext4 writes an
 * image and is shut down with its log flushed but not checkpointed
 * (EXT4_IOC_SHUTDOWN, LOGFLUSH), leaving needs_recovery and committed
 * transactions, revoke records among them.  One copy is recovered by
 * e2fsck (the reference), one by mounting it read-write with fuse2fs:
 * both trees must be identical, fuse2fs's image must be e2fsck-clean
 * after unmount, and the log said what it replayed.  A damaged journal
 * superblock refuses the mount and leaves the image untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/types.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#ifndef EXT4_IOC_SHUTDOWN
#define EXT4_IOC_SHUTDOWN		_IOR('X', 125, __u32)
#endif
#define EXT4_GOING_FLAGS_LOGFLUSH	0x1

FIXTURE(jr) {
	struct tfs_env env;
	char ref[TFS_PATH_MAX];
};

FIXTURE_SETUP(jr)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	umask(0);
	ASSERT_EQ(0, tfs_env_init(&self->env));
	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	snprintf(self->ref, sizeof(self->ref), "%s", tfs_ep(&self->env,
							    "ref.img"));
}

FIXTURE_TEARDOWN_PARENT(jr)
{
	tfs_env_cleanup(&self->env);
}

static int syncfs_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY), ret;

	if (fd < 0)
		return -1;
	ret = syncfs(fd);
	close(fd);
	return ret;
}

/*
 * Kernel ext4 leaves a log to replay: transactions that create, then
 * delete a directory (its blocks revoked), rename, unlink, write and set
 * attributes, committed but never checkpointed.
 */
static int kernel_leaves_a_log(struct tfs_mount *k, const char *image)
{
	char path[TFS_PATH_MAX + 64];
	__u32 how = EXT4_GOING_FLAGS_LOGFLUSH;
	int i, fd, ret;

	if (tfs_mount_kernel(k, image, NULL, NULL))
		return -1;
	ret = mkdir(tfs_p(k, "gone"), 0755) || mkdir(tfs_p(k, "kept"), 0755);
	for (i = 0; !ret && i < 300; i++) {
		snprintf(path, sizeof(path), "%s/gone/a_long_entry_name_%d",
			 k->dir, i);
		ret = tfs_write_file(path, "x", 1);
	}
	for (i = 0; !ret && i < 20; i++) {
		snprintf(path, sizeof(path), "%s/kept/f%d", k->dir, i);
		ret = tfs_write_pattern(path, 0, 5000 * (i + 1), i + 1,
					O_CREAT);
	}
	ret = ret || syncfs_path(k->dir);
	ret = ret || tfs_runl(30000, NULL, "rm", "-rf", tfs_p(k, "gone"),
			      NULL);
	ret = ret || rename(tfs_p(k, "kept/f1"), tfs_p(k, "kept/one")) ||
	      unlink(tfs_p(k, "kept/f2")) ||
	      mkdir(tfs_p(k, "kept/sub"), 0700) ||
	      symlink("one", tfs_p(k, "kept/link")) ||
	      tfs_write_pattern(tfs_p(k, "big"), 0, 3 << 20, 77, O_CREAT);
	ret = ret || syncfs_path(k->dir);
	ret = ret || tfs_write_file(tfs_p(k, "kept/last"), "last", 4);
	ret = ret || syncfs_path(k->dir);
	fd = open(k->dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || ioctl(fd, EXT4_IOC_SHUTDOWN, &how))
		ret = -1;
	if (fd >= 0)
		close(fd);
	if (tfs_umount_kernel(k))
		ret = -1;
	return ret ? -1 : 0;
}

TEST_F(jr, replay_matches_e2fsck)
{
	struct tfs_mount *m = &self->env.fuse;
	char *mine, *theirs, *log;
	long long revoked = 0;
	unsigned int tx = 0;
	int r;

	ASSERT_EQ(0, kernel_leaves_a_log(&self->env.kern, self->env.image));
	ASSERT_EQ(0, tfs_sb_string(self->env.image, "Filesystem features",
				   theirs = malloc(512), 512));
	ASSERT_NE(NULL, strstr(theirs, "needs_recovery"));
	free(theirs);
	ASSERT_EQ(0, tfs_runl(60000, NULL, "cp", "--sparse=always",
			      self->env.image, self->ref, NULL));

	/* The reference: e2fsck replays the log and fixes the counts. */
	r = tfs_runl(TFS_FSCK_TIMEOUT_MS, NULL, "e2fsck", "-fy", self->ref,
		     NULL);
	ASSERT_TRUE(r == 0 || r == 1) TH_LOG("e2fsck -fy: %d", r);

	/* fuse2fs replays at a read-write mount. */
	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
	log = tfs_log_read(m);
	ASSERT_NE(NULL, log);
	ASSERT_NE(NULL, strstr(log, "recovered the journal"));
	sscanf(strstr(log, "recovered the journal") +
	       strlen("recovered the journal: "), "%u", &tx);
	if (strstr(log, "written, "))
		revoked = strtoll(strstr(log, "written, ") + 9, NULL, 10);
	TH_LOG("%s", log);
	free(log);
	EXPECT_LE(2, tx);
	EXPECT_LT(0, revoked) TH_LOG("no revoke record was exercised");
	mine = tfs_manifest(m->dir, TFS_MF_NO_ATIME);
	ASSERT_NE(NULL, mine);
	TFS_ASSERT_UNMOUNT_CLEAN(m);

	ASSERT_EQ(0, tfs_mount_fuse(m, self->ref, "ro"));
	theirs = tfs_manifest(m->dir, TFS_MF_NO_ATIME);
	ASSERT_NE(NULL, theirs);
	ASSERT_EQ(0, tfs_umount(m));
	EXPECT_EQ(0, tfs_manifest_diff("e2fsck's replay", theirs,
				       "fuse2fs's replay", mine));
	free(mine);
	free(theirs);
}

TEST_F(jr, damaged_journal_refuses_and_writes_nothing)
{
	struct tfs_mount *m = &self->env.fuse;
	const char *const args[] = { self->env.image, m->dir, "-f", NULL };
	char *out = NULL;
	uint64_t before, after;
	int r;

	ASSERT_EQ(0, kernel_leaves_a_log(&self->env.kern, self->env.image));
	/* Zero the journal superblock's magic (journal inode 8, block 0). */
	r = tfs_sh(30000, &out, "debugfs -R 'bmap <8> 0' %s 2>/dev/null",
		   self->env.image);
	ASSERT_EQ(0, r);
	{
		long long blk = strtoll(out, NULL, 10);
		char zero[4] = { 0 };
		int fd = open(self->env.image, O_WRONLY);

		ASSERT_LT(0, blk);
		ASSERT_LE(0, fd);
		ASSERT_EQ(4, pwrite(fd, zero, 4, blk * 4096));
		close(fd);
	}
	free(out);
	ASSERT_EQ(0, tfs_file_hash(self->env.image, &before));
	ASSERT_EQ(1, tfs_start_fuse(m, args));
	EXPECT_NE(0, m->exit_status);
	EXPECT_EQ(1, tfs_log_count(m, "journal recovery failed"));
	ASSERT_EQ(0, tfs_file_hash(self->env.image, &after));
	EXPECT_EQ(before, after);
}

TEST_HARNESS_MAIN
