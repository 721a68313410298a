// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Deleting inodes that hold an extended attribute block: files with and
 * without data, directories, a block shared by two files (kernel ext4
 * shares identical ones), on a 16 MiB image as in issue 13 (item 1).
 * Every free block and inode must come back, and the image must be
 * e2fsck-clean (runs on fuse2fs and on kernel ext4).  An xattr block
 * that fails its checksum must leave the inode whole on the orphan list
 * (fuse2fs only: kernel ext4 refuses the unlink instead).
 */
#include <sys/statvfs.h>
#include <sys/xattr.h>

#include "kselftest_harness.h"
#include "fsext.h"

static const struct tfs_mkfs_opts small_opts = { .size_mb = 16 };
FSEXT_FIXTURE(del, &small_opts);
/* fuse2fs only: kernel ext4 refuses such an unlink (EFSBADCRC). */
TFS_FIXTURE_FUSE(del_fuse, &small_opts, NULL);

/* Free blocks and inodes, after the filesystem wrote everything back. */
static int free_counts(const char *dir, unsigned long long *blocks,
		       unsigned long long *inodes)
{
	struct statvfs sv;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return -1;
	if (syncfs(fd) || fstatvfs(fd, &sv)) {
		close(fd);
		return -1;
	}
	close(fd);
	*blocks = sv.f_bfree;
	*inodes = sv.f_ffree;
	return 0;
}

/*
 * Wait (up to 5 s) until the free counts are back at b0 and i0: FUSE
 * sends RELEASE and FORGET, after which fuse2fs deletes an unlinked
 * inode, in the background.  0 when they got there.
 */
static int counts_back(const char *dir, unsigned long long b0,
		       unsigned long long i0)
{
	unsigned long long b, i;
	int tries;

	for (tries = 0; tries < 250; tries++) {
		if (free_counts(dir, &b, &i))
			return -1;
		if (b == b0 && i == i0)
			return 0;
		usleep(20000);
	}
	fprintf(stderr, "# free blocks %llu (want %llu), inodes %llu (want %llu)\n",
		b, b0, i, i0);
	return -1;
}

/* A value of len bytes that no other test value equals. */
static char *value(size_t len, char c)
{
	char *v = malloc(len);

	if (v)
		memset(v, c, len);
	return v;
}

/*
 * Files with data and a 600-byte or a 65-byte user.* xattr (both too
 * big for the inode's spare room: they go to a block), an empty file
 * with one, a directory with one; deleted, every block comes back.
 */
TEST_F(del, files_and_dirs_with_an_xattr_block)
{
	static const size_t data[] = { 5000, 0, 1 << 20 };
	static const size_t vlen[] = { 600, 65, 3000 };
	unsigned long long b0, i0, b1, i1;
	char name[16];
	size_t i;

	ASSERT_EQ(0, free_counts(self->m->dir, &b0, &i0));
	for (i = 0; i < ARRAY_SIZE(data); i++) {
		char *v = value(vlen[i], 'a' + i);

		snprintf(name, sizeof(name), "f%zu", i);
		ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, name), 0,
					       data[i], i, O_CREAT));
		ASSERT_EQ(0, setxattr(tfs_p(self->m, name), "user.big", v,
				      vlen[i], 0));
		snprintf(name, sizeof(name), "d%zu", i);
		ASSERT_EQ(0, mkdir(tfs_p(self->m, name), 0755));
		ASSERT_EQ(0, setxattr(tfs_p(self->m, name), "user.big", v,
				      vlen[i], 0));
		free(v);
	}
	ASSERT_EQ(0, free_counts(self->m->dir, &b1, &i1));
	EXPECT_GT(b0, b1);
	for (i = 0; i < ARRAY_SIZE(data); i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		ASSERT_EQ(0, unlink(tfs_p(self->m, name)));
		snprintf(name, sizeof(name), "d%zu", i);
		ASSERT_EQ(0, rmdir(tfs_p(self->m, name)));
	}
	EXPECT_EQ(0, counts_back(self->m->dir, b0, i0));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* An unlinked file still open: deleted at the last close. */
TEST_F(del, open_unlinked_file_with_an_xattr_block)
{
	const char *f = tfs_p(self->m, "f");
	unsigned long long b0, i0;
	char *v = value(600, 'o');
	int fd;

	ASSERT_NE(NULL, v);
	ASSERT_EQ(0, free_counts(self->m->dir, &b0, &i0));
	ASSERT_EQ(0, tfs_write_pattern(f, 0, 5000, 1, O_CREAT));
	ASSERT_EQ(0, setxattr(f, "user.big", v, 600, 0));
	fd = open(f, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, unlink(f));
	EXPECT_EQ(600, fgetxattr(fd, "user.big", v, 600));
	close(fd);
	EXPECT_EQ(0, counts_back(self->m->dir, b0, i0));
	free(v);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * Two files whose identical xattrs kernel ext4 stored in one shared
 * block (reference count 2): deleting one keeps the block and the other
 * file's attribute, deleting both frees it.
 */
TEST_F(del, shared_xattr_block)
{
	struct tfs_mount *k = &self->env.kern;
	char *v = value(600, 's'), got[600];
	unsigned long long b0, i0;
	long long acl_a, acl_b;

	ASSERT_NE(NULL, v);
	/* Counted by the filesystem under test: ext4's statfs differs. */
	ASSERT_EQ(0, free_counts(self->m->dir, &b0, &i0));
	ASSERT_EQ(0, tfs_umount(self->m));
	ASSERT_EQ(0, tfs_mount_kernel(k, self->env.image, NULL, NULL));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(k, "a"), 0, 5000, 1, O_CREAT));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(k, "b"), 0, 5000, 2, O_CREAT));
	ASSERT_EQ(0, setxattr(tfs_p(k, "a"), "user.big", v, 600, 0));
	ASSERT_EQ(0, setxattr(tfs_p(k, "b"), "user.big", v, 600, 0));
	ASSERT_EQ(0, tfs_umount(k));
	acl_a = tfs_inode_field(self->env.image, "a", "File ACL");
	acl_b = tfs_inode_field(self->env.image, "b", "File ACL");
	ASSERT_GT(acl_a, 0);
	ASSERT_EQ(acl_a, acl_b);

	ASSERT_EQ(0, tfs_remount(self->m));
	ASSERT_EQ(0, unlink(tfs_p(self->m, "a")));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	EXPECT_EQ(600, getxattr(tfs_p(self->m, "b"), "user.big", got, 600));
	EXPECT_EQ(0, memcmp(got, v, 600));
	ASSERT_EQ(0, unlink(tfs_p(self->m, "b")));
	EXPECT_EQ(0, counts_back(self->m->dir, b0, i0));
	free(v);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* Flip a byte of block blk of the image at offset off. */
static int flip_byte(const char *image, long long blk, int off)
{
	int fd = open(image, O_RDWR);
	off_t pos = blk * 4096 + off;
	unsigned char c;
	int ret = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, &c, 1, pos) == 1) {
		c ^= 0xff;
		if (pwrite(fd, &c, 1, pos) == 1)
			ret = 0;
	}
	close(fd);
	return ret;
}

/*
 * The xattr block fails its checksum: unlinking removes the name, but
 * the inode cannot be deleted.  It stays whole (data blocks, xattr
 * block, in use) on the orphan list, which e2fsck then finishes.
 */
TEST_F(del_fuse, bad_xattr_block_leaves_a_whole_orphan)
{
	char *v = value(600, 'x'), *out = NULL, copy[TFS_PATH_MAX + 8];
	char req[32];
	long long ino, acl;

	ASSERT_NE(NULL, v);
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, "f"), 0, 5000, 1,
				       O_CREAT));
	ASSERT_EQ(0, setxattr(tfs_p(self->m, "f"), "user.big", v, 600, 0));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ino = tfs_inode_field(self->env.image, "f", "Inode");
	acl = tfs_inode_field(self->env.image, "f", "File ACL");
	ASSERT_GT(acl, 0);
	/* h_checksum, bytes 16-19 of the header. */
	ASSERT_EQ(0, flip_byte(self->env.image, acl, 16));

	ASSERT_EQ(0, tfs_remount(self->m));
	EXPECT_EQ(0, unlink(tfs_p(self->m, "f")));
	ASSERT_EQ(0, tfs_umount(self->m));
	EXPECT_EQ(1, tfs_log_count(self->m, "left on the orphan list"));
	EXPECT_EQ(ino, tfs_sb_number(self->env.image, "First orphan inode"));
	/* Whole: its blocks and its xattr block still its own. */
	snprintf(req, sizeof(req), "stat <%lld>", ino);
	ASSERT_EQ(0, tfs_debugfs(self->env.image, req, &out));
	EXPECT_NE(NULL, strstr(out, "Links: 0"));
	EXPECT_NE(NULL, strstr(out, "File ACL: "));
	EXPECT_NE(NULL, strstr(out, "(0-1):"));
	free(out);
	/* e2fsck -n sees an orphan; e2fsck -p finishes it. */
	snprintf(copy, sizeof(copy), "%s.fix", self->env.image);
	ASSERT_EQ(0, tfs_runl(TFS_FSCK_TIMEOUT_MS, NULL, "cp", self->env.image,
			      copy, NULL));
	EXPECT_EQ(1, tfs_runl(TFS_FSCK_TIMEOUT_MS, &out, "e2fsck", "-fp", copy,
			      NULL));
	EXPECT_NE(NULL, strstr(out, "Clearing orphaned inode"));
	free(out);
	EXPECT_EQ(0, tfs_fsck(copy));
	unlink(copy);
	free(v);
}

TEST_HARNESS_MAIN
