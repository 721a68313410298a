// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * inline_data (mke2fs -O inline_data): small files and directories live
 * in the inode; they must read and write correctly, grow out of the inode
 * into blocks when they outgrow it, shrink, and leave the inode flags as
 * ext4 does.  Runs on fuse2fs and on kernel ext4.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#define INLINE_FL	0x10000000	/* EXT4_INLINE_DATA_FL */
#define EXTENTS_FL	0x00080000	/* EXT4_EXTENTS_FL */

static const struct tfs_mkfs_opts inline_fs = {
	.features = "inline_data",
};

TFS_FIXTURE_BOTH(inl, &inline_fs);

#define TINY "forty bytes of text, give or take a few"


static long long flags_of(struct tfs_env *env, const char *path)
{
	return tfs_inode_field(env->image, path, "Flags");
}

TEST_F(inl, small_file_roundtrip)
{
	struct stat st;
	char *data;

	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "tiny"), TINY, 39));
	ASSERT_EQ(0, stat(tfs_p(self->m, "tiny"), &st));
	EXPECT_EQ(39, st.st_size);
	data = tfs_read_file(tfs_p(self->m, "tiny"), NULL);
	ASSERT_NE(NULL, data);
	EXPECT_STREQ(TINY, data);
	free(data);
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "empty"), "", 0));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	data = tfs_read_file(tfs_p(self->m, "tiny"), NULL);
	ASSERT_NE(NULL, data);
	EXPECT_STREQ(TINY, data);
	free(data);
	ASSERT_EQ(0, stat(tfs_p(self->m, "empty"), &st));
	EXPECT_EQ(0, st.st_size);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* ext4 stores a new small file in the inode, without a data block. */
TEST_F(inl, new_small_file_stored_inline)
{
	struct stat st;

	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "tiny"), TINY, 39));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	EXPECT_NE(0, flags_of(&self->env, "/tiny") & INLINE_FL);
	EXPECT_EQ(0, tfs_inode_field(self->env.image, "/tiny", "Blockcount"));
	ASSERT_EQ(0, tfs_remount(self->m));
	/*
	 * ext4 reports at least one sector for inline data, so that tools
	 * do not take the file for a hole.
	 */
	ASSERT_EQ(0, stat(tfs_p(self->m, "tiny"), &st));
	EXPECT_EQ(1, st.st_blocks);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* Inline files and directories made by the kernel, changed through m. */
TEST_F(inl, kernel_made_inline_changed)
{
	struct tfs_mount *k = &self->env.kern;
	char name[64];
	int i;

	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_mount_kernel(k, self->env.image, NULL, NULL));
	ASSERT_EQ(0, tfs_write_file(tfs_p(k, "a"), TINY, 39));
	ASSERT_EQ(0, tfs_write_file(tfs_p(k, "b"), TINY, 20));
	ASSERT_EQ(0, mkdir(tfs_p(k, "d"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_p(k, "d/x"), "x", 1));
	TFS_ASSERT_UNMOUNT_CLEAN(k);
	ASSERT_NE(0, flags_of(&self->env, "/a") & INLINE_FL);
	ASSERT_NE(0, flags_of(&self->env, "/d") & INLINE_FL);

	ASSERT_EQ(0, tfs_remount(self->m));
	{
		char *d = tfs_read_file(tfs_p(self->m, "b"), NULL);

		ASSERT_NE(NULL, d);
		EXPECT_EQ(0, strncmp(d, TINY, 20));
		EXPECT_EQ(20, strlen(d));
		free(d);
	}
	/* Grow a out of the inode, shrink b, fill d. */
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, "a"), 39, 20000, 3, 0));
	TFS_ASSERT_OK(truncate(tfs_p(self->m, "b"), 7));
	for (i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "d/kernel-dir-entry-%02d", i);
		ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, name), "y", 1));
	}
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	EXPECT_EQ(0, flags_of(&self->env, "/a") & INLINE_FL);
	EXPECT_EQ(0, flags_of(&self->env, "/d") & INLINE_FL);

	/* The kernel reads back what was written. */
	ASSERT_EQ(0, tfs_mount_kernel(k, self->env.image, NULL, "ro"));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(k, "a"), 39, 20000, 3));
	{
		char *d = tfs_read_file(tfs_p(k, "a"), NULL);

		ASSERT_NE(NULL, d);
		EXPECT_EQ(0, strncmp(d, TINY, 39));
		free(d);
		d = tfs_read_file(tfs_p(k, "b"), NULL);
		ASSERT_NE(NULL, d);
		EXPECT_STREQ("forty b", d);
		free(d);
	}
	EXPECT_EQ(0, access(tfs_p(k, "d/kernel-dir-entry-59"), F_OK));
	EXPECT_EQ(0, access(tfs_p(k, "d/x"), F_OK));
	TFS_ASSERT_UNMOUNT_CLEAN(k);
}

/* Append 10 bytes at a time from inline to extents, checking each step. */
TEST_F(inl, grow_out_of_inode)
{
	const char *f = tfs_p(self->m, "grow");
	off_t off;
	int fd;

	fd = open(f, O_CREAT | O_WRONLY, 0644);
	ASSERT_GE(fd, 0);
	close(fd);
	for (off = 0; off < 400; off += 10) {
		ASSERT_EQ(0, tfs_write_pattern(f, off, 10, 1, O_APPEND));
		ASSERT_EQ(0, tfs_check_pattern(f, 0, off + 10, 1))
			TH_LOG("at size %lld", (long long)off + 10);
	}
	/* Then well past a block. */
	ASSERT_EQ(0, tfs_write_pattern(f, 400, 9600, 1, 0));
	EXPECT_EQ(0, tfs_check_pattern(f, 0, 10000, 1));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	EXPECT_EQ(0, flags_of(&self->env, "/grow") & INLINE_FL);
	EXPECT_NE(0, flags_of(&self->env, "/grow") & EXTENTS_FL);
	ASSERT_EQ(0, tfs_remount(self->m));
	EXPECT_EQ(0, tfs_check_pattern(f, 0, 10000, 1));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(inl, write_at_offset_and_truncate)
{
	const char *f = tfs_p(self->m, "f");
	char buf[200];
	int fd;

	ASSERT_EQ(0, tfs_write_file(f, "0123456789", 10));
	/* Overwrite in the middle, still inline. */
	fd = open(f, O_WRONLY);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(3, pwrite(fd, "abc", 3, 4));
	close(fd);
	{
		char *d = tfs_read_file(f, NULL);

		ASSERT_NE(NULL, d);
		EXPECT_STREQ("0123abc789", d);
		free(d);
	}
	TFS_ASSERT_OK(truncate(f, 5));
	TFS_ASSERT_OK(truncate(f, 50));
	fd = open(f, O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(50, read(fd, buf, sizeof(buf)));
	close(fd);
	EXPECT_EQ(0, memcmp(buf, "0123a", 5));
	for (int i = 5; i < 50; i++)
		if (buf[i]) {
			EXPECT_EQ(0, buf[i]) TH_LOG("byte %d", i);
			break;
		}
	/* A write far beyond the inode makes it a sparse extent file. */
	ASSERT_EQ(0, tfs_write_pattern(f, 1 << 20, 100, 2, 0));
	EXPECT_EQ(0, tfs_check_pattern(f, 1 << 20, 100, 2));
	fd = open(f, O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(5, pread(fd, buf, 5, 0));
	EXPECT_EQ(0, memcmp(buf, "0123a", 5));
	close(fd);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(inl, inline_directory)
{
	char name[64];
	struct dirent *de;
	int i, n = 0;
	DIR *d;

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "d/a"), "a", 1));
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d/sub"), 0755));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	EXPECT_NE(0, flags_of(&self->env, "/d") & INLINE_FL);
	ASSERT_EQ(0, tfs_remount(self->m));

	/* Enough entries to push the directory into a block. */
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "d/entry-number-%03d", i);
		ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, name), "x", 1));
	}
	d = opendir(tfs_p(self->m, "d"));
	ASSERT_NE(NULL, d);
	while ((de = readdir(d)))
		n++;
	closedir(d);
	EXPECT_EQ(100 + 2 + 2, n);
	TFS_ASSERT_OK(unlink(tfs_p(self->m, "d/a")));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	EXPECT_EQ(0, flags_of(&self->env, "/d") & INLINE_FL);
}

TEST_F(inl, many_small_files_and_symlinks)
{
	char name[32], data[100];
	int i;

	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		memset(data, 'a' + i % 26, sizeof(data));
		ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, name), data,
					    i % 100));
	}
	TFS_ASSERT_OK(symlink("short", tfs_p(self->m, "l1")));
	memset(data, 'L', 99);
	data[99] = '\0';
	TFS_ASSERT_OK(symlink(data, tfs_p(self->m, "l2")));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	for (i = 0; i < 200; i += 9) {
		size_t len;
		char *got;

		snprintf(name, sizeof(name), "f%d", i);
		got = tfs_read_file(tfs_p(self->m, name), &len);
		ASSERT_NE(NULL, got);
		EXPECT_EQ((size_t)(i % 100), len);
		if (len) {
			EXPECT_EQ('a' + i % 26, got[len - 1]);
		}
		free(got);
	}
	{
		char buf[200];

		EXPECT_EQ(99, readlink(tfs_p(self->m, "l2"), buf, sizeof(buf)));
	}
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
