// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Bad input: damaged images (superblock magic, group descriptor checksum,
 * inode checksum), a journal flagged as needing recovery (replayed at a
 * read-write mount, untouched by a read-only one), a feature fuse2fs cannot
 * write, bad options, a missing device, a busy one, a full filesystem,
 * and -o iomap=on/auto on a kernel without FUSE iomap.  fuse2fs must
 * refuse (or mount read-only) with a clear message, exit by itself,
 * never crash, never leave a mount behind and never write to an image it
 * refused; a full filesystem gives ENOSPC and stays fsck-clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#define EXIT_WAIT_MS 15000

FIXTURE(bad) {
	struct tfs_env env;
	struct tfs_mount *m;
};

FIXTURE_SETUP(bad)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	ASSERT_EQ(0, tfs_env_init(&self->env));
	self->m = &self->env.fuse;
}

FIXTURE_TEARDOWN_PARENT(bad)
{
	tfs_env_cleanup(&self->env);
}

/*
 * Run fuse2fs IMAGE MNT -f [-o opts], expecting it to refuse: it must
 * exit non-zero by itself, leave nothing mounted and say something that
 * contains each of the words (case-insensitive).
 */
static void expect_refusal(struct __test_metadata *_metadata,
			   struct tfs_mount *m, const char *image,
			   const char *opts, const char *const words[])
{
	const char *args[8];
	char *log;
	int n = 0, r;

	args[n++] = image;
	args[n++] = m->dir;
	args[n++] = "-f";
	if (opts) {
		args[n++] = "-o";
		args[n++] = opts;
	}
	args[n] = NULL;
	r = tfs_start_fuse(m, args);
	ASSERT_NE(-1, r);
	/* The mount may have appeared for a moment (iomap=on); wait. */
	r = tfs_wait_server(m, EXIT_WAIT_MS);
	EXPECT_NE(-1, r) TH_LOG("fuse2fs did not exit");
	EXPECT_NE(0, r) TH_LOG("fuse2fs exited with 0");
	EXPECT_LT(r, 128) TH_LOG("fuse2fs died from signal %d", r - 128);
	EXPECT_FALSE(m->left_mounted) TH_LOG("a mount was left behind");
	log = tfs_log_read(m);
	ASSERT_NE(NULL, log);
	tfs_log_text("fuse2fs said", log);
	for (; words && *words; words++) {
		EXPECT_NE(NULL, strcasestr(log, *words))
			TH_LOG("no \"%s\" in the message", *words);
	}
	free(log);
	/* Start the next run's log afresh. */
	unlink(m->log);
}

static uint64_t image_hash(struct __test_metadata *_metadata,
			   const char *image)
{
	uint64_t h = 0;

	EXPECT_EQ(0, tfs_file_hash(image, &h));
	return h;
}

/*
 * image is refused read-write (naming words), but mounts read-only (with
 * a warning); neither attempt changes a byte of it.
 */
static void expect_read_only_mount(struct __test_metadata *_metadata,
				   struct tfs_mount *m, const char *image,
				   const char *const words[])
{
	uint64_t before = image_hash(_metadata, image);

	expect_refusal(_metadata, m, image, NULL, words);
	EXPECT_EQ(before, image_hash(_metadata, image));
	ASSERT_EQ(0, tfs_mount_fuse(m, image, "ro"));
	EXPECT_EQ(0, access(tfs_p(m, "lost+found"), F_OK));
	ASSERT_EQ(0, tfs_umount(m));
	EXPECT_EQ(before, image_hash(_metadata, image));
}

TEST_F(bad, bad_options)
{
	static const char *const iomap_words[] = { "iomap", "bogus", NULL };
	static const char *const none[] = { NULL };

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	expect_refusal(_metadata, self->m, self->env.image, "iomap=bogus",
		       iomap_words);
	expect_refusal(_metadata, self->m, self->env.image,
		       "no_such_option_here", none);
	/* No mountpoint at all. */
	{
		const char *args[] = { self->env.image, NULL };

		ASSERT_NE(-1, tfs_start_fuse(self->m, args));
		EXPECT_GT(tfs_wait_server(self->m, EXIT_WAIT_MS), 0);
		EXPECT_FALSE(self->m->left_mounted);
	}
	ASSERT_EQ(0, tfs_fsck(self->env.image));
}

TEST_F(bad, missing_device)
{
	static const char *const words[] = { "nothere.img", "no such file",
					     NULL };
	static const char *const dir_words[] = { "directory", NULL };

	expect_refusal(_metadata, self->m, tfs_ep(&self->env, "nothere.img"),
		       NULL, words);
	expect_refusal(_metadata, self->m, self->env.dir, NULL, dir_words);
	/* An empty file is no filesystem either. */
	ASSERT_EQ(0, tfs_write_file(self->env.image, "", 0));
	expect_refusal(_metadata, self->m, self->env.image, NULL, NULL);
}

TEST_F(bad, damaged_superblock)
{
	static const char zero[2];
	uint64_t before;
	int fd;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	/* s_magic is at byte 56 of the superblock, which starts at 1024. */
	fd = open(self->env.image, O_WRONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(2, pwrite(fd, zero, 2, 1024 + 56));
	close(fd);
	before = image_hash(_metadata, self->env.image);
	expect_refusal(_metadata, self->m, self->env.image, NULL, NULL);
	expect_refusal(_metadata, self->m, self->env.image, "ro", NULL);
	EXPECT_EQ(before, image_hash(_metadata, self->env.image));
}

TEST_F(bad, damaged_group_descriptor)
{
	static const char *const words[] = { "group descriptor", NULL };
	uint64_t before;
	char c;
	int fd;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	/* Group 0's descriptor starts block 1; flip a bitmap location bit. */
	fd = open(self->env.image, O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, pread(fd, &c, 1, 4096 + 0));
	c ^= 0x40;
	ASSERT_EQ(1, pwrite(fd, &c, 1, 4096 + 0));
	close(fd);
	before = image_hash(_metadata, self->env.image);
	expect_refusal(_metadata, self->m, self->env.image, NULL, words);
	/* Read-only is refused too: the tables could point anywhere. */
	expect_refusal(_metadata, self->m, self->env.image, "ro", words);
	EXPECT_EQ(before, image_hash(_metadata, self->env.image));
}

/* A damaged inode: the mount may work, that file must give an error. */
TEST_F(bad, damaged_inode_checksum)
{
	char *out = NULL, *p;
	long long itable, ino;
	uint64_t before;
	struct stat st;
	char c;
	int fd, r;

	ASSERT_EQ(0, mkdir(tfs_ep(&self->env, "src"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_ep(&self->env, "src/victim"), "v", 1));
	ASSERT_EQ(0, tfs_write_file(tfs_ep(&self->env, "src/other"), "o", 1));
	{
		struct tfs_mkfs_opts o = { .populate = tfs_ep(&self->env, "src") };

		ASSERT_EQ(0, tfs_mkfs(self->env.image, &o));
	}
	ino = tfs_inode_field(self->env.image, "/victim", "Inode");
	ASSERT_GT(ino, 11);
	ASSERT_LT(ino, 100);	/* in group 0's inode table */
	r = tfs_sh(30000, &out, "dumpe2fs %s 2>/dev/null | grep -m1 'Inode table at'",
		   self->env.image);
	ASSERT_EQ(0, r);
	p = strstr(out, "at ");
	ASSERT_NE(NULL, p);
	itable = atoll(p + 3);
	free(out);
	ASSERT_GT(itable, 0);
	/* Flip a bit of the victim's mtime: only its checksum is wrong. */
	fd = open(self->env.image, O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, pread(fd, &c, 1, itable * 4096 + (ino - 1) * 256 + 0x10));
	c ^= 1;
	ASSERT_EQ(1, pwrite(fd, &c, 1, itable * 4096 + (ino - 1) * 256 + 0x10));
	close(fd);
	before = image_hash(_metadata, self->env.image);

	r = tfs_mount_fuse(self->m, self->env.image, "ro");
	if (r == 0) {
		errno = 0;
		EXPECT_EQ(-1, stat(tfs_p(self->m, "victim"), &st));
		EXPECT_NE(0, errno);
		EXPECT_NE(ENOENT, errno);
		/* The rest of the filesystem still works. */
		EXPECT_EQ(0, stat(tfs_p(self->m, "other"), &st));
		ASSERT_EQ(0, tfs_umount(self->m));
	}
	EXPECT_EQ(before, image_hash(_metadata, self->env.image));
	/* e2fsck sees the one damaged inode, nothing else changed. */
	EXPECT_EQ(4, tfs_fsck(self->env.image));
}

/*
 * needs_recovery with an empty log: a read-only mount warns and writes
 * nothing; a read-write mount replays (nothing here), clears the flag
 * and leaves a clean image.  A log with transactions in it is
 * tests/fs/test_journal.c's.
 */
TEST_F(bad, journal_needs_recovery)
{
	char *out = NULL, features[512];
	uint64_t before;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_runl(30000, &out, "debugfs", "-w", "-R",
			      "feature needs_recovery", self->env.image, NULL))
		TH_LOG("%s", out);
	free(out);
	before = image_hash(_metadata, self->env.image);
	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, "ro"));
	EXPECT_EQ(1, tfs_log_count(self->m, "the journal needs recovery"));
	ASSERT_EQ(0, tfs_umount(self->m));
	EXPECT_EQ(before, image_hash(_metadata, self->env.image));

	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, NULL));
	EXPECT_EQ(1, tfs_log_count(self->m,
				   "recovered the journal: 0 transactions"));
	EXPECT_EQ(0, access(tfs_p(self->m, "lost+found"), F_OK));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_sb_string(self->env.image, "Filesystem features",
				   features, sizeof(features)));
	EXPECT_EQ(NULL, strstr(features, "needs_recovery"));
}

TEST_F(bad, unsupported_feature_read_only)
{
	static const struct tfs_mkfs_opts bigalloc = {
		.features = "bigalloc", .cluster_size = 16384,
	};
	static const char *const words[] = { "bigalloc", NULL };

	ASSERT_EQ(0, tfs_mkfs(self->env.image, &bigalloc));
	expect_read_only_mount(_metadata, self->m, self->env.image, words);
}

TEST_F(bad, busy_image)
{
	static const char *const words[] = { "busy", NULL };
	struct tfs_mount second = { 0 };

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	/* Mounted by the kernel: fuse2fs must keep its hands off. */
	ASSERT_EQ(0, tfs_mount_kernel(&self->env.kern, self->env.image, NULL,
				      NULL));
	expect_refusal(_metadata, self->m, self->env.image, NULL, words);
	ASSERT_EQ(0, tfs_umount(&self->env.kern));
	ASSERT_EQ(0, tfs_fsck(self->env.image));

	/* Served by another fuse2fs. */
	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, NULL));
	snprintf(second.dir, sizeof(second.dir), "%s", self->env.kern.dir);
	snprintf(second.log, sizeof(second.log), "%s",
		 tfs_ep(&self->env, "second.log"));
	second.exit_status = -1;
	expect_refusal(_metadata, &second, self->env.image, NULL, words);
	EXPECT_EQ(0, mkdir(tfs_p(self->m, "still-works"), 0755));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(bad, full_filesystem)
{
	static const struct tfs_mkfs_opts tiny = {
		.size_mb = 16, .inodes = 64, .features = "^has_journal",
	};
	char name[32], buf[65536] = { 1 };
	int fd, i, err = 0;
	ssize_t w;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, &tiny));
	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, NULL));

	/* Data: write until the blocks run out. */
	fd = open(tfs_p(self->m, "filler"), O_CREAT | O_WRONLY, 0644);
	ASSERT_GE(fd, 0);
	for (i = 0; i < 1000; i++) {
		w = write(fd, buf, sizeof(buf));
		if (w < 0) {
			err = errno;
			break;
		}
	}
	if (!err && fsync(fd) < 0)
		err = errno;
	close(fd);
	EXPECT_EQ(ENOSPC, err);
	/* Freeing space makes room again (shrinking must work when full). */
	EXPECT_EQ(0, truncate(tfs_p(self->m, "filler"), 1 << 20))
		TH_LOG("truncate on a full fs: %s", strerror(errno));
	if (access(tfs_p(self->m, "filler"), F_OK) == 0)
		TFS_ASSERT_OK(unlink(tfs_p(self->m, "filler")));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, "after"), 0, 100000, 1,
				       O_CREAT));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, "after"), 0, 100000, 1));

	/* Inodes: create until they run out. */
	err = 0;
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "i%d", i);
		fd = open(tfs_p(self->m, name), O_CREAT | O_WRONLY, 0644);
		if (fd < 0) {
			err = errno;
			break;
		}
		close(fd);
	}
	EXPECT_EQ(ENOSPC, err);
	EXPECT_LT(i, 64);
	err = 0;
	if (mkdir(tfs_p(self->m, "onemore"), 0755) < 0)
		err = errno;
	EXPECT_EQ(ENOSPC, err);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(bad, iomap_on_without_kernel_support)
{
	static const char *const words[] = { "iomap", NULL };

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	expect_refusal(_metadata, self->m, self->env.image, "iomap=on", words);
	ASSERT_EQ(0, tfs_fsck(self->env.image));
}

/* Count the lines of the server's output that mention iomap. */
static int iomap_lines(const struct tfs_mount *m)
{
	char *log = tfs_log_read(m), *line, *save = NULL;
	int n = 0;

	if (!log)
		return -1;
	for (line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strcasestr(line, "iomap"))
			n++;
	free(log);
	return n;
}

TEST_F(bad, iomap_auto_falls_back_once)
{
	char name[32];
	int i;

	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, "iomap=auto"));
	/* Files of every kind of IO path still work, classic. */
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, name), 0,
					       i * 100000, i, O_CREAT));
		EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, name), 0,
					       i * 100000, i));
	}
	EXPECT_EQ(1, iomap_lines(self->m));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	/* Said once, not once per file or again at unmount. */
	EXPECT_EQ(1, iomap_lines(self->m));
	{
		char *log = tfs_log_read(self->m);

		tfs_log_text("fuse2fs said", log);
		free(log);
	}
}

TEST_HARNESS_MAIN
