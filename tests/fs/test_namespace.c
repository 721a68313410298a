// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Name space operations: lookup, mknod of every type, mkdir, unlink,
 * rmdir, fast and slow symlinks, readlink, link and rename with its
 * RENAME_NOREPLACE / RENAME_EXCHANGE flags and overwrite cases, with the
 * errno values kernel ext4 gives.  Every test runs on fuse2fs and on
 * kernel ext4 (variants), so the expectations are ext4's own behaviour.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

TFS_FIXTURE_BOTH(ns, NULL);

static ino_t ino_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) ? 0 : st.st_ino;
}

static nlink_t nlink_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) ? 0 : st.st_nlink;
}

static int touch(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);

	return fd < 0 ? -1 : close(fd);
}

TEST_F(ns, lookup_errors)
{
	char longname[300];
	struct stat st;

	TFS_EXPECT_ERRNO(ENOENT, stat(tfs_p(self->m, "missing"), &st));
	TFS_EXPECT_ERRNO(ENOENT, stat(tfs_p(self->m, "missing/x"), &st));
	TFS_ASSERT_OK(touch(tfs_p(self->m, "file")));
	TFS_EXPECT_ERRNO(ENOTDIR, stat(tfs_p(self->m, "file/x"), &st));
	TFS_EXPECT_ERRNO(EEXIST, touch(tfs_p(self->m, "file")));
	memset(longname, 'n', 256);
	longname[256] = '\0';
	TFS_EXPECT_ERRNO(ENAMETOOLONG, stat(tfs_p(self->m, longname), &st));
	TFS_EXPECT_ERRNO(ENAMETOOLONG, touch(tfs_p(self->m, longname)));
	/* 255 bytes is the longest name ext4 takes. */
	longname[255] = '\0';
	TFS_ASSERT_OK(touch(tfs_p(self->m, longname)));
	ASSERT_EQ(0, stat(tfs_p(self->m, longname), &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(ns, mknod_every_type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int s;

	TFS_ASSERT_OK(mknod(tfs_p(self->m, "fifo"), S_IFIFO | 0640, 0));
	TFS_ASSERT_OK(mknod(tfs_p(self->m, "chr"), S_IFCHR | 0600,
			    makedev(1, 3)));
	TFS_ASSERT_OK(mknod(tfs_p(self->m, "blk"), S_IFBLK | 0660,
			    makedev(7, 200)));
	/* A large device number needs ext2's "new" encoding. */
	TFS_ASSERT_OK(mknod(tfs_p(self->m, "bigdev"), S_IFCHR | 0600,
			    makedev(300, 70000)));
	TFS_ASSERT_OK(mknod(tfs_p(self->m, "sock"), S_IFSOCK | 0755, 0));
	TFS_ASSERT_OK(mknod(tfs_p(self->m, "reg"), S_IFREG | 0444, 0));

	/* A socket made by bind() goes through mknod too. */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	ASSERT_GE(s, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
		 tfs_p(self->m, "bound"));
	EXPECT_EQ(0, bind(s, (struct sockaddr *)&sa, sizeof(sa)));
	close(s);

	ASSERT_EQ(0, lstat(tfs_p(self->m, "fifo"), &st));
	EXPECT_EQ(S_IFIFO | 0640, st.st_mode);
	EXPECT_EQ(0, st.st_size);
	ASSERT_EQ(0, lstat(tfs_p(self->m, "chr"), &st));
	EXPECT_EQ(S_IFCHR | 0600, st.st_mode);
	EXPECT_EQ(makedev(1, 3), st.st_rdev);
	ASSERT_EQ(0, lstat(tfs_p(self->m, "blk"), &st));
	EXPECT_EQ(S_IFBLK | 0660, st.st_mode);
	EXPECT_EQ(makedev(7, 200), st.st_rdev);
	ASSERT_EQ(0, lstat(tfs_p(self->m, "bigdev"), &st));
	EXPECT_EQ(makedev(300, 70000), st.st_rdev);
	ASSERT_EQ(0, lstat(tfs_p(self->m, "sock"), &st));
	EXPECT_EQ(S_IFSOCK | 0755, st.st_mode);
	ASSERT_EQ(0, lstat(tfs_p(self->m, "reg"), &st));
	EXPECT_EQ(S_IFREG | 0444, st.st_mode);
	ASSERT_EQ(0, lstat(tfs_p(self->m, "bound"), &st));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	TFS_EXPECT_ERRNO(EEXIST, mknod(tfs_p(self->m, "fifo"), S_IFIFO, 0));

	/* The device numbers must survive a remount (they are on disk). */
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	ASSERT_EQ(0, lstat(tfs_p(self->m, "bigdev"), &st));
	EXPECT_EQ(makedev(300, 70000), st.st_rdev);
	ASSERT_EQ(0, lstat(tfs_p(self->m, "blk"), &st));
	EXPECT_EQ(makedev(7, 200), st.st_rdev);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(ns, mkdir_rmdir)
{
	nlink_t root = nlink_of(self->m->dir);
	struct stat st;

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d"), 0750));
	ASSERT_EQ(0, stat(tfs_p(self->m, "d"), &st));
	EXPECT_EQ(S_IFDIR | 0750, st.st_mode);
	EXPECT_EQ(2, st.st_nlink);
	EXPECT_EQ(root + 1, nlink_of(self->m->dir));
	TFS_EXPECT_ERRNO(EEXIST, mkdir(tfs_p(self->m, "d"), 0755));
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d/sub"), 0755));
	EXPECT_EQ(3, nlink_of(tfs_p(self->m, "d")));
	/* ".." of the subdirectory is d. */
	EXPECT_EQ(ino_of(tfs_p(self->m, "d")), ino_of(tfs_p(self->m, "d/sub/..")));
	TFS_ASSERT_OK(touch(tfs_p(self->m, "d/sub/f")));

	TFS_EXPECT_ERRNO(ENOTEMPTY, rmdir(tfs_p(self->m, "d")));
	TFS_EXPECT_ERRNO(ENOTEMPTY, rmdir(tfs_p(self->m, "d/sub")));
	TFS_EXPECT_ERRNO(ENOTDIR, rmdir(tfs_p(self->m, "d/sub/f")));
	TFS_EXPECT_ERRNO(EINVAL, rmdir(tfs_p(self->m, "d/sub/.")));
	TFS_EXPECT_ERRNO(ENOENT, rmdir(tfs_p(self->m, "nothere")));
	TFS_EXPECT_ERRNO(ENOENT, mkdir(tfs_p(self->m, "nothere/x"), 0755));
	TFS_EXPECT_ERRNO(ENOTDIR, mkdir(tfs_p(self->m, "d/sub/f/x"), 0755));

	TFS_ASSERT_OK(unlink(tfs_p(self->m, "d/sub/f")));
	TFS_ASSERT_OK(rmdir(tfs_p(self->m, "d/sub")));
	EXPECT_EQ(2, nlink_of(tfs_p(self->m, "d")));
	TFS_ASSERT_OK(rmdir(tfs_p(self->m, "d")));
	EXPECT_EQ(root, nlink_of(self->m->dir));
	TFS_EXPECT_ERRNO(ENOENT, stat(tfs_p(self->m, "d"), &st));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(ns, unlink)
{
	struct stat st;

	TFS_ASSERT_OK(touch(tfs_p(self->m, "f")));
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d"), 0755));
	TFS_EXPECT_ERRNO(EISDIR, unlink(tfs_p(self->m, "d")));
	TFS_EXPECT_ERRNO(ENOENT, unlink(tfs_p(self->m, "nothere")));
	TFS_EXPECT_ERRNO(ENOTDIR, unlink(tfs_p(self->m, "f/x")));
	TFS_ASSERT_OK(unlink(tfs_p(self->m, "f")));
	TFS_EXPECT_ERRNO(ENOENT, stat(tfs_p(self->m, "f"), &st));
	TFS_EXPECT_ERRNO(ENOENT, unlink(tfs_p(self->m, "f")));
	/* The name can be used again at once. */
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "f"), 0700));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

static void check_symlink(struct __test_metadata *_metadata,
			  struct tfs_mount *m, const char *name,
			  const char *target)
{
	char buf[5000];
	struct stat st;
	ssize_t n;

	TFS_ASSERT_OK(symlink(target, tfs_p(m, name)));
	ASSERT_EQ(0, lstat(tfs_p(m, name), &st));
	EXPECT_EQ(S_IFLNK | 0777, st.st_mode);
	EXPECT_EQ((off_t)strlen(target), st.st_size);
	n = readlink(tfs_p(m, name), buf, sizeof(buf));
	ASSERT_EQ((ssize_t)strlen(target), n);
	EXPECT_EQ(0, memcmp(buf, target, n));
	/* A short buffer gets a truncated target, no error. */
	EXPECT_EQ(3, readlink(tfs_p(m, name), buf, 3));
	EXPECT_EQ(0, memcmp(buf, target, 3));
}

TEST_F(ns, symlinks_fast_and_slow)
{
	char slow[200], longest[4096];
	struct stat st;

	/* Fast: the target lives in i_block (< 60 bytes). */
	check_symlink(_metadata, self->m, "fast", "target/of/a/fast/link");
	ASSERT_EQ(0, lstat(tfs_p(self->m, "fast"), &st));
	EXPECT_EQ(0, st.st_blocks);
	/* Exactly at the limit: 59 bytes is still fast. */
	memset(slow, 'x', 59);
	slow[59] = '\0';
	check_symlink(_metadata, self->m, "edge59", slow);
	memset(slow, 'y', 60);
	slow[60] = '\0';
	check_symlink(_metadata, self->m, "edge60", slow);
	/* Slow: the target needs a data block. */
	memset(slow, 's', sizeof(slow) - 1);
	slow[sizeof(slow) - 1] = '\0';
	check_symlink(_metadata, self->m, "slow", slow);
	ASSERT_EQ(0, lstat(tfs_p(self->m, "slow"), &st));
	EXPECT_EQ(8, st.st_blocks);
	/* The longest target Linux allows: PATH_MAX - 1 bytes. */
	memset(longest, 'L', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	check_symlink(_metadata, self->m, "longest", longest);

	/* Following a link works both ways. */
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "dir"), 0755));
	TFS_ASSERT_OK(touch(tfs_p(self->m, "dir/file")));
	TFS_ASSERT_OK(symlink("dir", tfs_p(self->m, "dirlink")));
	ASSERT_EQ(0, stat(tfs_p(self->m, "dirlink/file"), &st));
	EXPECT_EQ(ino_of(tfs_p(self->m, "dir/file")), st.st_ino);
	TFS_ASSERT_OK(symlink("nowhere", tfs_p(self->m, "dangling")));
	TFS_EXPECT_ERRNO(ENOENT, stat(tfs_p(self->m, "dangling"), &st));
	TFS_EXPECT_ERRNO(EEXIST, symlink("x", tfs_p(self->m, "fast")));
	{
		char buf[16];

		TFS_EXPECT_ERRNO(EINVAL, readlink(tfs_p(self->m, "dir/file"),
						  buf, sizeof(buf)));
	}
	TFS_ASSERT_OK(unlink(tfs_p(self->m, "slow")));
	TFS_ASSERT_OK(unlink(tfs_p(self->m, "fast")));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(ns, hard_links)
{
	struct stat a, b;

	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "a"), "data", 4));
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d"), 0755));
	TFS_ASSERT_OK(link(tfs_p(self->m, "a"), tfs_p(self->m, "d/b")));
	ASSERT_EQ(0, stat(tfs_p(self->m, "a"), &a));
	ASSERT_EQ(0, stat(tfs_p(self->m, "d/b"), &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(2, a.st_nlink);
	EXPECT_EQ(2, b.st_nlink);
	TFS_EXPECT_ERRNO(EEXIST, link(tfs_p(self->m, "a"), tfs_p(self->m, "d/b")));
	TFS_EXPECT_ERRNO(EPERM, link(tfs_p(self->m, "d"), tfs_p(self->m, "d2")));
	TFS_EXPECT_ERRNO(ENOENT, link(tfs_p(self->m, "zz"), tfs_p(self->m, "z2")));
	/* Links to a symlink and a fifo link those inodes, not targets. */
	TFS_ASSERT_OK(symlink("a", tfs_p(self->m, "sl")));
	TFS_ASSERT_OK(link(tfs_p(self->m, "sl"), tfs_p(self->m, "sl2")));
	EXPECT_EQ(ino_of(tfs_p(self->m, "sl")), ino_of(tfs_p(self->m, "sl2")));
	EXPECT_EQ(2, nlink_of(tfs_p(self->m, "sl")));

	TFS_ASSERT_OK(unlink(tfs_p(self->m, "a")));
	EXPECT_EQ(1, nlink_of(tfs_p(self->m, "d/b")));
	{
		char *data = tfs_read_file(tfs_p(self->m, "d/b"), NULL);

		ASSERT_NE(NULL, data);
		EXPECT_STREQ("data", data);
		free(data);
	}
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(ns, rename_simple_and_overwrite)
{
	ino_t a, b;

	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "a"), "AAAA", 4));
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "b"), "BB", 2));
	a = ino_of(tfs_p(self->m, "a"));
	b = ino_of(tfs_p(self->m, "b"));
	ASSERT_NE(0, a);
	ASSERT_NE(0, b);
	TFS_ASSERT_OK(rename(tfs_p(self->m, "a"), tfs_p(self->m, "c")));
	EXPECT_EQ(a, ino_of(tfs_p(self->m, "c")));
	EXPECT_EQ(0, ino_of(tfs_p(self->m, "a")));

	/* Overwriting a file drops the old inode. */
	TFS_ASSERT_OK(rename(tfs_p(self->m, "c"), tfs_p(self->m, "b")));
	EXPECT_EQ(a, ino_of(tfs_p(self->m, "b")));
	{
		char *data = tfs_read_file(tfs_p(self->m, "b"), NULL);

		ASSERT_NE(NULL, data);
		EXPECT_STREQ("AAAA", data);
		free(data);
	}

	/* Renaming onto a hard link of itself does nothing. */
	TFS_ASSERT_OK(link(tfs_p(self->m, "b"), tfs_p(self->m, "b2")));
	TFS_ASSERT_OK(rename(tfs_p(self->m, "b"), tfs_p(self->m, "b2")));
	EXPECT_EQ(a, ino_of(tfs_p(self->m, "b")));
	EXPECT_EQ(a, ino_of(tfs_p(self->m, "b2")));
	EXPECT_EQ(2, nlink_of(tfs_p(self->m, "b")));
	/* Renaming to itself too. */
	TFS_ASSERT_OK(rename(tfs_p(self->m, "b"), tfs_p(self->m, "b")));
	TFS_EXPECT_ERRNO(ENOENT, rename(tfs_p(self->m, "none"),
					tfs_p(self->m, "x")));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(ns, rename_directories)
{
	nlink_t root;

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "p1"), 0755));
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "p2"), 0755));
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "p1/d"), 0755));
	TFS_ASSERT_OK(touch(tfs_p(self->m, "p1/d/f")));
	TFS_ASSERT_OK(touch(tfs_p(self->m, "file")));
	root = nlink_of(self->m->dir);

	/* Moving a directory moves its ".." and both parents' counts. */
	TFS_ASSERT_OK(rename(tfs_p(self->m, "p1/d"), tfs_p(self->m, "p2/d")));
	EXPECT_EQ(2, nlink_of(tfs_p(self->m, "p1")));
	EXPECT_EQ(3, nlink_of(tfs_p(self->m, "p2")));
	EXPECT_EQ(ino_of(tfs_p(self->m, "p2")),
		  ino_of(tfs_p(self->m, "p2/d/..")));
	EXPECT_NE(0, ino_of(tfs_p(self->m, "p2/d/f")));

	/* Errors. */
	TFS_EXPECT_ERRNO(EINVAL, rename(tfs_p(self->m, "p2"),
					tfs_p(self->m, "p2/d/inside")));
	TFS_EXPECT_ERRNO(ENOTDIR, rename(tfs_p(self->m, "p2"),
					 tfs_p(self->m, "file")));
	TFS_EXPECT_ERRNO(EISDIR, rename(tfs_p(self->m, "file"),
					tfs_p(self->m, "p1")));
	TFS_EXPECT_ERRNO(ENOTEMPTY, rename(tfs_p(self->m, "p1"),
					   tfs_p(self->m, "p2")));

	/* A directory may replace an empty directory. */
	TFS_ASSERT_OK(rename(tfs_p(self->m, "p2"), tfs_p(self->m, "p1")));
	EXPECT_EQ(0, ino_of(tfs_p(self->m, "p2")));
	EXPECT_NE(0, ino_of(tfs_p(self->m, "p1/d/f")));
	EXPECT_EQ(root - 1, nlink_of(self->m->dir));
	EXPECT_EQ(ino_of(tfs_p(self->m, "p1")),
		  ino_of(tfs_p(self->m, "p1/d/..")));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(ns, rename_noreplace)
{
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "a"), "a", 1));
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "b"), "b", 1));
	TFS_EXPECT_ERRNO(EEXIST, renameat2(AT_FDCWD, tfs_p(self->m, "a"),
					   AT_FDCWD, tfs_p(self->m, "b"),
					   RENAME_NOREPLACE));
	EXPECT_NE(0, ino_of(tfs_p(self->m, "a")));
	TFS_ASSERT_OK(renameat2(AT_FDCWD, tfs_p(self->m, "a"), AT_FDCWD,
				tfs_p(self->m, "c"), RENAME_NOREPLACE));
	EXPECT_EQ(0, ino_of(tfs_p(self->m, "a")));
	TFS_EXPECT_ERRNO(EINVAL, renameat2(AT_FDCWD, tfs_p(self->m, "b"),
					   AT_FDCWD, tfs_p(self->m, "c"),
					   RENAME_NOREPLACE | RENAME_EXCHANGE));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(ns, rename_exchange)
{
	ino_t f, d;

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "p1"), 0755));
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "p2"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "p1/x"), "file", 4));
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "p2/y"), 0755));
	TFS_ASSERT_OK(touch(tfs_p(self->m, "p2/y/inner")));
	f = ino_of(tfs_p(self->m, "p1/x"));
	d = ino_of(tfs_p(self->m, "p2/y"));

	/* A file and a directory in different parents swap places. */
	TFS_ASSERT_OK(renameat2(AT_FDCWD, tfs_p(self->m, "p1/x"), AT_FDCWD,
				tfs_p(self->m, "p2/y"), RENAME_EXCHANGE));
	EXPECT_EQ(d, ino_of(tfs_p(self->m, "p1/x")));
	EXPECT_EQ(f, ino_of(tfs_p(self->m, "p2/y")));
	EXPECT_NE(0, ino_of(tfs_p(self->m, "p1/x/inner")));
	EXPECT_EQ(ino_of(tfs_p(self->m, "p1")),
		  ino_of(tfs_p(self->m, "p1/x/..")));
	/* The directory moved from p2 to p1: link counts follow. */
	EXPECT_EQ(3, nlink_of(tfs_p(self->m, "p1")));
	EXPECT_EQ(2, nlink_of(tfs_p(self->m, "p2")));

	/* Two files in the same directory. */
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "p2/z"), "zz", 2));
	TFS_ASSERT_OK(renameat2(AT_FDCWD, tfs_p(self->m, "p2/y"), AT_FDCWD,
				tfs_p(self->m, "p2/z"), RENAME_EXCHANGE));
	{
		char *y = tfs_read_file(tfs_p(self->m, "p2/y"), NULL);
		char *z = tfs_read_file(tfs_p(self->m, "p2/z"), NULL);

		ASSERT_NE(NULL, y);
		ASSERT_NE(NULL, z);
		EXPECT_STREQ("zz", y);
		EXPECT_STREQ("file", z);
		free(y);
		free(z);
	}
	TFS_EXPECT_ERRNO(ENOENT, renameat2(AT_FDCWD, tfs_p(self->m, "p2/y"),
					   AT_FDCWD, tfs_p(self->m, "p2/none"),
					   RENAME_EXCHANGE));
	/* A directory cannot be swapped into its own subtree. */
	TFS_EXPECT_ERRNO(EINVAL, renameat2(AT_FDCWD, tfs_p(self->m, "p1"),
					   AT_FDCWD,
					   tfs_p(self->m, "p1/x/inner"),
					   RENAME_EXCHANGE));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * File handles (NFS export): a handle opens the file again; once the
 * inode is freed and its number reused, the old handle is stale -- the
 * inode's generation number must make the difference.
 */
TEST_F(ns, file_handles_and_generations)
{
	struct file_handle *fh, *fh2;
	int mount_id, mfd, fd, i;
	ino_t old_ino;
	char buf[16] = { 0 };

	fh = calloc(1, sizeof(*fh) + MAX_HANDLE_SZ);
	fh2 = calloc(1, sizeof(*fh2) + MAX_HANDLE_SZ);
	ASSERT_NE(NULL, fh);
	ASSERT_NE(NULL, fh2);
	fh->handle_bytes = MAX_HANDLE_SZ;
	fh2->handle_bytes = MAX_HANDLE_SZ;
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "f"), "first", 5));
	TFS_ASSERT_OK(name_to_handle_at(AT_FDCWD, tfs_p(self->m, "f"), fh,
					&mount_id, 0));
	mfd = open(self->m->dir, O_RDONLY | O_DIRECTORY);
	ASSERT_GE(mfd, 0);
	fd = open_by_handle_at(mfd, fh, O_RDONLY);
	ASSERT_GE(fd, 0) TH_LOG("open_by_handle_at: %s", strerror(errno));
	EXPECT_EQ(5, read(fd, buf, sizeof(buf)));
	EXPECT_STREQ("first", buf);
	close(fd);

	/* Free the inode and take its number again. */
	old_ino = ino_of(tfs_p(self->m, "f"));
	TFS_ASSERT_OK(unlink(tfs_p(self->m, "f")));
	for (i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "g%d", i);
		ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, name), "second", 6));
		if (ino_of(tfs_p(self->m, name)) == old_ino)
			break;
	}
	TFS_EXPECT_ERRNO(ESTALE, open_by_handle_at(mfd, fh, O_RDONLY));
	if (i < 20) {
		char name[16];

		/* Same inode number, new handle: it differs from the old. */
		snprintf(name, sizeof(name), "g%d", i);
		TFS_ASSERT_OK(name_to_handle_at(AT_FDCWD, tfs_p(self->m, name),
						fh2, &mount_id, 0));
		EXPECT_TRUE(fh->handle_bytes != fh2->handle_bytes ||
			    memcmp(fh->f_handle, fh2->f_handle,
				   fh->handle_bytes));
	}
	close(mfd);
	free(fh);
	free(fh2);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(ns, many_entries_then_remove_all)
{
	char name[64];
	int i;

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d"), 0755));
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "d/entry-%04d", i);
		switch (i % 3) {
		case 0:
			TFS_ASSERT_OK(touch(tfs_p(self->m, name)));
			break;
		case 1:
			TFS_ASSERT_OK(mkdir(tfs_p(self->m, name), 0700));
			break;
		default:
			TFS_ASSERT_OK(symlink(name, tfs_p(self->m, name)));
		}
	}
	EXPECT_EQ(2 + 100, nlink_of(tfs_p(self->m, "d")));
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "d/entry-%04d", i);
		if (i % 3 == 1)
			TFS_ASSERT_OK(rmdir(tfs_p(self->m, name)));
		else
			TFS_ASSERT_OK(unlink(tfs_p(self->m, name)));
	}
	EXPECT_EQ(2, nlink_of(tfs_p(self->m, "d")));
	TFS_ASSERT_OK(rmdir(tfs_p(self->m, "d")));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
