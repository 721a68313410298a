// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inode flags through FS_IOC_GETFLAGS/SETFLAGS (lsattr/chattr, also run
 * as the real tools), FS_IOC_FSGETXATTR/FSSETXATTR and FS_IOC_GETVERSION:
 * the flags new inodes get, which flags may be set on which inode type,
 * the EPERM rules for immutable and append-only (root only) and for
 * non-owners, and what immutable and append-only files then refuse.
 * Each test runs on fuse2fs and on kernel ext4 (variants) and ends
 * fsck-clean.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/xattr.h>

#include "kselftest_harness.h"
#include "fsext.h"

FSEXT_FIXTURE(fl, NULL);

/* Block-mapped files first; the extents feature is added offline. */
static const struct tfs_mkfs_opts noext_opts = {
	.features = "^extents,^64bit",
};
FSEXT_FIXTURE(fl_noext, &noext_opts);

#define EXTENTS_FL	0x00080000

static int get_flags(const char *path, unsigned int *flags)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	int ret;

	if (fd < 0)
		return -1;
	ret = ioctl(fd, FS_IOC_GETFLAGS, flags);
	close(fd);
	return ret;
}

static int set_flags(const char *path, unsigned int flags)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	int ret, e;

	if (fd < 0)
		return -1;
	ret = ioctl(fd, FS_IOC_SETFLAGS, &flags);
	e = errno;
	close(fd);
	errno = e;
	return ret;
}

TEST_F(fl, new_inodes_and_roundtrip)
{
	const char *f = tfs_p(self->m, "f");
	const char *d = tfs_p(self->m, "d");
	unsigned int flags = 0;

	ASSERT_EQ(0, fsext_create(f, 0644));
	ASSERT_EQ(0, mkdir(d, 0755));
	ASSERT_EQ(0, get_flags(f, &flags));
	EXPECT_EQ(EXTENTS_FL, flags);
	ASSERT_EQ(0, get_flags(d, &flags));
	EXPECT_EQ(EXTENTS_FL, flags);

	TFS_ASSERT_OK(set_flags(f, EXTENTS_FL | FS_NODUMP_FL | FS_NOATIME_FL |
				FS_SYNC_FL));
	TFS_ASSERT_OK(set_flags(d, EXTENTS_FL | FS_DIRSYNC_FL | FS_TOPDIR_FL |
				FS_NODUMP_FL));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	ASSERT_EQ(0, get_flags(f, &flags));
	EXPECT_EQ(EXTENTS_FL | FS_NODUMP_FL | FS_NOATIME_FL | FS_SYNC_FL,
		  flags);
	ASSERT_EQ(0, get_flags(d, &flags));
	EXPECT_EQ(EXTENTS_FL | FS_DIRSYNC_FL | FS_TOPDIR_FL | FS_NODUMP_FL,
		  flags);
	TFS_ASSERT_OK(set_flags(f, EXTENTS_FL));
	ASSERT_EQ(0, get_flags(f, &flags));
	EXPECT_EQ(EXTENTS_FL, flags);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* Run `chattr change path`; `lsattr path` must then start with want. */
static void chattr_then_lsattr(struct __test_metadata *_metadata,
			       const char *path, const char *change,
			       const char *want)
{
	char *out = NULL;

	ASSERT_EQ(0, tfs_runl(10000, &out, "chattr", change, path, NULL));
	free(out);
	out = NULL;
	ASSERT_EQ(0, tfs_runl(10000, &out, "lsattr", path, NULL));
	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, strncmp(out, want, strlen(want)))
		TH_LOG("lsattr: %s", out);
	free(out);
}

TEST_F(fl, chattr_and_lsattr_tools)
{
	const char *f = tfs_p(self->m, "f");

	ASSERT_EQ(0, fsext_create(f, 0644));
	chattr_then_lsattr(_metadata, f, "+dAS", "--S---dA------e------- ");
	chattr_then_lsattr(_metadata, f, "-A", "--S---d-------e------- ");
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(fl, flags_refused_or_ignored)
{
	const char *f = tfs_p(self->m, "f");
	const char *p = tfs_p(self->m, "fifo");
	unsigned int flags = 0;

	ASSERT_EQ(0, fsext_create(f, 0644));
	ASSERT_EQ(0, mknod(p, S_IFIFO | 0644, 0));
	/* A bit ext4 does not even show. */
	TFS_EXPECT_ERRNO(EOPNOTSUPP, set_flags(f, EXTENTS_FL | 0x01000000));
	/* Directory-only flags on a file. */
	TFS_EXPECT_ERRNO(EOPNOTSUPP, set_flags(f, EXTENTS_FL | FS_DIRSYNC_FL));
	/* Visible but not settable: silently ignored. */
	TFS_ASSERT_OK(set_flags(f, EXTENTS_FL | FS_NOCOMP_FL));
	ASSERT_EQ(0, get_flags(f, &flags));
	EXPECT_EQ(EXTENTS_FL, flags);
	/* Special files: the kernel asks nobody. */
	TFS_EXPECT_ERRNO(ENOTTY, get_flags(p, &flags));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(fl, immutable)
{
	const char *f = tfs_p(self->m, "f");
	const char *g = tfs_p(self->m, "g");
	unsigned int flags = 0;
	int fd, src;

	ASSERT_EQ(0, tfs_write_file(f, "data", 4));
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "src"), "more", 4));
	src = open(tfs_p(self->m, "src"), O_RDONLY);
	ASSERT_LE(0, src);
	fd = open(f, O_RDWR);
	ASSERT_LE(0, fd);
	TFS_ASSERT_OK(set_flags(f, EXTENTS_FL | FS_IMMUTABLE_FL));
	ASSERT_EQ(0, get_flags(f, &flags));
	EXPECT_EQ(EXTENTS_FL | FS_IMMUTABLE_FL, flags);
	/* Only clearing immutable may change anything. */
	TFS_EXPECT_ERRNO(EPERM, set_flags(f, EXTENTS_FL | FS_IMMUTABLE_FL |
					  FS_NODUMP_FL));
	TFS_EXPECT_ERRNO(EPERM, open(f, O_WRONLY));
	/* Also through a descriptor opened for writing before. */
	TFS_EXPECT_ERRNO(EPERM, pwrite(fd, "x", 1, 0));
	TFS_EXPECT_ERRNO(EPERM, copy_file_range(src, NULL, fd, NULL, 4, 0));
	TFS_EXPECT_ERRNO(EPERM, fallocate(fd, 0, 0, 8192));
	TFS_EXPECT_ERRNO(EPERM, setxattr(f, "user.x", "1", 1, 0));
	TFS_EXPECT_ERRNO(EPERM, chmod(f, 0600));
	TFS_EXPECT_ERRNO(EPERM, truncate(f, 0));
	TFS_EXPECT_ERRNO(EPERM, unlink(f));
	TFS_EXPECT_ERRNO(EPERM, rename(f, g));
	TFS_EXPECT_ERRNO(EPERM, link(f, g));
	close(fd);
	close(src);
	TFS_ASSERT_OK(set_flags(f, EXTENTS_FL));
	TFS_ASSERT_OK(setxattr(f, "user.x", "1", 1, 0));
	TFS_ASSERT_OK(unlink(f));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(fl, append_only)
{
	const char *f = tfs_p(self->m, "f");
	char buf[16] = "";
	int fd;

	ASSERT_EQ(0, tfs_write_file(f, "data", 4));
	TFS_ASSERT_OK(set_flags(f, EXTENTS_FL | FS_APPEND_FL));
	TFS_EXPECT_ERRNO(EPERM, open(f, O_WRONLY));
	TFS_EXPECT_ERRNO(EPERM, truncate(f, 0));
	TFS_EXPECT_ERRNO(EPERM, unlink(f));
	fd = open(f, O_WRONLY | O_APPEND);
	ASSERT_LE(0, fd);
	EXPECT_EQ(4, write(fd, "more", 4));
	/* Only plain allocation may touch an append-only file. */
	TFS_EXPECT_ERRNO(EPERM, fallocate(fd, FALLOC_FL_PUNCH_HOLE |
					  FALLOC_FL_KEEP_SIZE, 0, 4096));
	TFS_EXPECT_ERRNO(EPERM, fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4));
	EXPECT_EQ(0, fallocate(fd, 0, 0, 8));
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 8192));
	close(fd);
	fd = open(f, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(8, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "datamore", 8));
	close(fd);
	TFS_ASSERT_OK(set_flags(f, EXTENTS_FL));
	TFS_ASSERT_OK(unlink(f));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * An immutable directory keeps its names, an append-only one only gains
 * names.  Which errno wins matters to programs: "may this name go at
 * all" (EPERM) comes before "is the directory empty" (ENOTEMPTY), as
 * on kernel ext4.
 */
TEST_F(fl, immutable_and_append_only_directories)
{
	unsigned int dir_flags = EXTENTS_FL;
	char d[PATH_MAX];	/* tfs_p()'s buffers rotate */
	int fd;

	snprintf(d, sizeof(d), "%s", tfs_p(self->m, "d"));

	ASSERT_EQ(0, mkdir(d, 0755));
	ASSERT_EQ(0, mkdir(tfs_p(self->m, "d/full"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "d/full/f"), "x", 1));
	ASSERT_EQ(0, mkdir(tfs_p(self->m, "d/empty"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, "d/file"), "x", 1));
	/* kernel ext4 directories may or may not be extent-mapped */
	ASSERT_EQ(0, get_flags(d, &dir_flags));

	TFS_ASSERT_OK(set_flags(d, dir_flags | FS_IMMUTABLE_FL));
	TFS_EXPECT_ERRNO(EPERM, rmdir(tfs_p(self->m, "d/full")));
	TFS_EXPECT_ERRNO(EPERM, rmdir(tfs_p(self->m, "d/empty")));
	/*
	 * Not asked: rmdir of a file, unlink of a directory.  FUSE's VFS
	 * answers ENOTDIR/EISDIR from the dentry before the server is
	 * asked, and kernel ext4's EPERM comes from S_IMMUTABLE, an inode
	 * flag FUSE inodes do not carry.
	 */
	TFS_EXPECT_ERRNO(EPERM, unlink(tfs_p(self->m, "d/file")));
	TFS_EXPECT_ERRNO(ENOENT, unlink(tfs_p(self->m, "d/none")));
	TFS_EXPECT_ERRNO(EPERM, mkdir(tfs_p(self->m, "d/new"), 0755));
	TFS_EXPECT_ERRNO(EPERM, open(tfs_p(self->m, "d/new"),
				     O_CREAT | O_WRONLY, 0644));
	TFS_EXPECT_ERRNO(EPERM, rename(tfs_p(self->m, "d/file"),
				       tfs_p(self->m, "d/moved")));
	TFS_EXPECT_ERRNO(EPERM, rename(tfs_p(self->m, "d/full"),
				       tfs_p(self->m, "outside")));
	/* What is below it is not frozen. */
	EXPECT_EQ(0, tfs_write_file(tfs_p(self->m, "d/full/g"), "y", 1));
	EXPECT_EQ(0, unlink(tfs_p(self->m, "d/full/g")));

	TFS_ASSERT_OK(set_flags(d, dir_flags | FS_APPEND_FL));
	TFS_EXPECT_ERRNO(EPERM, rmdir(tfs_p(self->m, "d/full")));
	TFS_EXPECT_ERRNO(EPERM, rmdir(tfs_p(self->m, "d/empty")));
	TFS_EXPECT_ERRNO(EPERM, unlink(tfs_p(self->m, "d/file")));
	TFS_EXPECT_ERRNO(EPERM, rename(tfs_p(self->m, "d/file"),
				       tfs_p(self->m, "d/moved")));
	fd = open(tfs_p(self->m, "d/new"), O_CREAT | O_WRONLY, 0644);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(0, mkdir(tfs_p(self->m, "d/newdir"), 0755));

	TFS_ASSERT_OK(set_flags(d, dir_flags));
	TFS_EXPECT_ERRNO(ENOTEMPTY, rmdir(tfs_p(self->m, "d/full")));
	TFS_ASSERT_OK(unlink(tfs_p(self->m, "d/full/f")));
	TFS_ASSERT_OK(rmdir(tfs_p(self->m, "d/full")));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

static int user_flag_checks(void *arg)
{
	const struct tfs_mount *m = arg;
	unsigned int flags;

	/* The owner may change ordinary flags, not immutable/append. */
	FSEXT_CHILD_OK(1, set_flags(tfs_p(m, "mine"), EXTENTS_FL |
				    FS_NODUMP_FL));
	FSEXT_CHILD_ERRNO(2, EPERM, set_flags(tfs_p(m, "mine"), EXTENTS_FL |
					      FS_IMMUTABLE_FL));
	FSEXT_CHILD_ERRNO(3, EPERM, set_flags(tfs_p(m, "mine"), EXTENTS_FL |
					      FS_APPEND_FL));
	/* Others may look but not touch. */
	FSEXT_CHILD_OK(4, get_flags(tfs_p(m, "roots"), &flags));
	FSEXT_CHILD_ERRNO(5, EPERM, set_flags(tfs_p(m, "roots"), EXTENTS_FL |
					      FS_NODUMP_FL));
	return 0;
}

TEST_F(fl, unprivileged_user)
{
	const char *mine = tfs_p(self->m, "mine");
	unsigned int flags = 0;

	ASSERT_EQ(0, fsext_create(mine, 0644));
	ASSERT_EQ(0, chown(mine, FSEXT_UID, FSEXT_GID));
	ASSERT_EQ(0, fsext_create(tfs_p(self->m, "roots"), 0644));
	EXPECT_EQ(0, fsext_as_user(user_flag_checks, self->m));
	ASSERT_EQ(0, get_flags(mine, &flags));
	EXPECT_EQ(EXTENTS_FL | FS_NODUMP_FL, flags);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(fl, fsxattr_and_version)
{
	const char *f = tfs_p(self->m, "f");
	struct fsxattr fsx;
	unsigned int flags = 0, gen1 = 0, gen2 = 1;
	int fd;

	ASSERT_EQ(0, fsext_create(f, 0644));
	TFS_ASSERT_OK(set_flags(f, EXTENTS_FL | FS_NODUMP_FL | FS_SYNC_FL));
	fd = open(f, O_RDONLY);
	ASSERT_LE(0, fd);
	memset(&fsx, 0xff, sizeof(fsx));
	ASSERT_EQ(0, ioctl(fd, FS_IOC_FSGETXATTR, &fsx));
	EXPECT_EQ(FS_XFLAG_NODUMP | FS_XFLAG_SYNC, fsx.fsx_xflags);
	EXPECT_EQ(0, fsx.fsx_projid);
	/* xflags speak for their twin flags only; extents stays. */
	fsx.fsx_xflags = FS_XFLAG_NOATIME;
	ASSERT_EQ(0, ioctl(fd, FS_IOC_FSSETXATTR, &fsx));
	ASSERT_EQ(0, get_flags(f, &flags));
	EXPECT_EQ(EXTENTS_FL | FS_NOATIME_FL, flags);
	ASSERT_EQ(0, ioctl(fd, FS_IOC_GETVERSION, &gen1));
	close(fd);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	fd = open(f, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, FS_IOC_GETVERSION, &gen2));
	EXPECT_EQ(gen1, gen2);
	close(fd);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * A 64-bit caller's FS_IOC32_GETFLAGS/SETFLAGS is not a flag ioctl (the
 * kernel maps those numbers only for 32-bit callers): ext4 answers
 * ENOTTY, and so must fuse2fs, or the raw request would change flags
 * past the VFS's capability check and behind the kernel's back.
 */
TEST_F(fl, native_32bit_flag_numbers_are_not_flag_ioctls)
{
	const char *f = tfs_p(self->m, "f");
	unsigned int flags = 0, word = FS_NODUMP_FL | EXTENTS_FL;
	int fd;

	if (FS_IOC32_SETFLAGS == FS_IOC_SETFLAGS)
		SKIP(return, "a 32-bit build: the numbers are the same");
	ASSERT_EQ(0, fsext_create(f, 0644));
	fd = open(f, O_RDONLY);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, FS_IOC32_SETFLAGS, &word));
	EXPECT_EQ(ENOTTY, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, FS_IOC32_GETFLAGS, &word));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
	ASSERT_EQ(0, get_flags(f, &flags));
	EXPECT_EQ(EXTENTS_FL, flags);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(fl, ctime_changes)
{
	const char *f = tfs_p(self->m, "f");
	struct stat a, b;

	ASSERT_EQ(0, fsext_create(f, 0644));
	ASSERT_EQ(0, stat(f, &a));
	usleep(20000);
	TFS_ASSERT_OK(set_flags(f, EXTENTS_FL | FS_NODUMP_FL));
	ASSERT_EQ(0, stat(f, &b));
	EXPECT_TRUE(fsext_time_after(&b.st_ctim, &a.st_ctim));
	EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

static blkcnt_t blocks_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_blocks;
}

static int make_file(const char *path, off_t off, size_t len)
{
	int fd;

	if (tfs_write_pattern(path, off, len, 5, O_CREAT))
		return -1;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (fsync(fd)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

TEST_F(fl_noext, migrate_to_extents_and_back)
{
	const char *big = tfs_p(self->m, "big");
	const char *small = tfs_p(self->m, "small");
	const char *sparse = tfs_p(self->m, "sparse");
	const char *mid = tfs_p(self->m, "mid");
	uint64_t hb, hs, hsp, h;
	unsigned int flags = 1;
	char *out = NULL;

	ASSERT_EQ(0, make_file(big, 0, 300 * 4096));
	ASSERT_EQ(0, make_file(small, 0, 3 * 4096));
	ASSERT_EQ(0, make_file(sparse, 1000 * 4096, 2 * 4096));
	ASSERT_EQ(0, truncate(sparse, 10 * 1024 * 1024));
	ASSERT_EQ(0, get_flags(big, &flags));
	EXPECT_EQ(0, flags);
	/* No extents feature yet. */
	TFS_EXPECT_ERRNO(EINVAL, set_flags(big, EXTENTS_FL));
	/* Data blocks plus one indirect block each. */
	EXPECT_EQ(8 * 301, blocks_of(big));
	EXPECT_EQ(8 * 3, blocks_of(sparse));
	ASSERT_EQ(0, tfs_file_hash(big, &hb));
	ASSERT_EQ(0, tfs_file_hash(small, &hs));
	ASSERT_EQ(0, tfs_file_hash(sparse, &hsp));

	ASSERT_EQ(0, tfs_umount(self->m));
	ASSERT_EQ(0, tfs_runl(30000, &out, "tune2fs", "-O", "extents",
			      self->m->image, NULL));
	free(out);
	ASSERT_EQ(0, tfs_remount(self->m));

	TFS_ASSERT_OK(set_flags(big, EXTENTS_FL));
	TFS_ASSERT_OK(set_flags(small, EXTENTS_FL));
	TFS_ASSERT_OK(set_flags(sparse, EXTENTS_FL));
	ASSERT_EQ(0, get_flags(big, &flags));
	EXPECT_EQ(EXTENTS_FL, flags);
	/* The indirect blocks are gone. */
	EXPECT_EQ(8 * 300, blocks_of(big));
	EXPECT_EQ(8 * 3, blocks_of(small));
	EXPECT_EQ(8 * 2, blocks_of(sparse));
	ASSERT_EQ(0, tfs_file_hash(big, &h));
	EXPECT_EQ(hb, h);
	ASSERT_EQ(0, tfs_file_hash(sparse, &h));
	EXPECT_EQ(hsp, h);

	/* Back: only what twelve direct blocks can hold. */
	TFS_ASSERT_OK(set_flags(small, 0));
	ASSERT_EQ(0, get_flags(small, &flags));
	EXPECT_EQ(0, flags);
	ASSERT_EQ(0, tfs_file_hash(small, &h));
	EXPECT_EQ(hs, h);
	ASSERT_EQ(0, make_file(mid, 0, 20 * 4096));
	ASSERT_EQ(0, get_flags(mid, &flags));
	EXPECT_EQ(EXTENTS_FL, flags);
	TFS_EXPECT_ERRNO(EOPNOTSUPP, set_flags(mid, 0));
	TFS_EXPECT_ERRNO(EOPNOTSUPP, set_flags(big, 0));

	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	ASSERT_EQ(0, tfs_file_hash(big, &h));
	EXPECT_EQ(hb, h);
	ASSERT_EQ(0, tfs_file_hash(small, &h));
	EXPECT_EQ(hs, h);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
