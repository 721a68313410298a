// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Attributes: stat fields against the on-disk inode (st_ino is the ext2
 * inode number, nlink, mode, owner, size, blocks), chmod, chown,
 * truncate, utimensat with nanoseconds and UTIME_NOW/UTIME_OMIT, times
 * beyond 2038 and before 1970, and which calls move ctime.  Every test
 * runs through fuse2fs, fuse2fs with -o writeback_cache and kernel ext4.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

TFS_FIXTURE_ALL(attr, NULL);

static int touch(const char *path, mode_t mode)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, mode);

	return fd < 0 ? -1 : close(fd);
}

static long long ts_ns(struct timespec ts)
{
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts_ns(ts);
}

/* Let the clock move past the kernel's coarse timestamp granularity. */
static void tick(void)
{
	usleep(30000);
}

TEST_F(attr, stat_matches_disk_inode)
{
	const char *img = self->env.image;
	struct stat f, d, l, r;

	ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, "file"), 0, 10000, 1,
				       O_CREAT | O_TRUNC));
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "dir"), 0711));
	TFS_ASSERT_OK(symlink("file", tfs_p(self->m, "link")));
	TFS_ASSERT_OK(link(tfs_p(self->m, "file"), tfs_p(self->m, "dir/hard")));
	ASSERT_EQ(0, lstat(tfs_p(self->m, "file"), &f));
	ASSERT_EQ(0, lstat(tfs_p(self->m, "dir"), &d));
	ASSERT_EQ(0, lstat(tfs_p(self->m, "link"), &l));
	ASSERT_EQ(0, lstat(self->m->dir, &r));

	EXPECT_EQ(2, r.st_ino);
	EXPECT_EQ(S_IFREG | 0644, f.st_mode);
	EXPECT_EQ(10000, f.st_size);
	EXPECT_EQ(24, f.st_blocks);	/* three 4 KiB blocks */
	EXPECT_EQ(2, f.st_nlink);
	EXPECT_EQ(0, f.st_uid);
	EXPECT_EQ(0, f.st_gid);
	EXPECT_EQ(S_IFDIR | 0711, d.st_mode);
	EXPECT_EQ(4096, d.st_size);
	EXPECT_EQ(8, d.st_blocks);
	EXPECT_EQ(2, d.st_nlink);
	EXPECT_EQ(4096, f.st_blksize);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);

	/* What stat said is what the inode on disk says. */
	EXPECT_EQ((long long)f.st_ino, tfs_inode_field(img, "/file", "Inode"));
	EXPECT_EQ((long long)d.st_ino, tfs_inode_field(img, "/dir", "Inode"));
	EXPECT_EQ((long long)l.st_ino, tfs_inode_field(img, "/link", "Inode"));
	EXPECT_EQ((long long)f.st_ino,
		  tfs_inode_field(img, "/dir/hard", "Inode"));
	EXPECT_EQ(2, tfs_inode_field(img, "/file", "Links"));
	EXPECT_EQ((long long)f.st_blocks,
		  tfs_inode_field(img, "/file", "Blockcount"));
	EXPECT_EQ(10000, tfs_inode_field(img, "/file", "Size"));
}

TEST_F(attr, chmod_chown)
{
	struct stat st, before;

	ASSERT_EQ(0, touch(tfs_p(self->m, "f"), 0600));
	TFS_ASSERT_OK(chmod(tfs_p(self->m, "f"), 07755));
	ASSERT_EQ(0, stat(tfs_p(self->m, "f"), &st));
	EXPECT_EQ(S_IFREG | 07755, st.st_mode);

	TFS_ASSERT_OK(chown(tfs_p(self->m, "f"), 1000, 2000));
	ASSERT_EQ(0, stat(tfs_p(self->m, "f"), &st));
	EXPECT_EQ(1000, st.st_uid);
	EXPECT_EQ(2000, st.st_gid);
	/* chown of an executable drops set-user-ID and set-group-ID. */
	EXPECT_EQ(S_IFREG | 01755, st.st_mode);

	/* -1 leaves a field alone. */
	TFS_ASSERT_OK(chown(tfs_p(self->m, "f"), -1, 3000));
	ASSERT_EQ(0, stat(tfs_p(self->m, "f"), &st));
	EXPECT_EQ(1000, st.st_uid);
	EXPECT_EQ(3000, st.st_gid);
	/* 32-bit ids need the high 16 bits on disk. */
	TFS_ASSERT_OK(chown(tfs_p(self->m, "f"), 100000, 200000));

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "d"), 0700));
	TFS_ASSERT_OK(chmod(tfs_p(self->m, "d"), 02775));
	TFS_ASSERT_OK(lchown(tfs_p(self->m, "d"), 5, 6));
	ASSERT_EQ(0, stat(tfs_p(self->m, "d"), &before));
	EXPECT_EQ(S_IFDIR | 02775, before.st_mode);

	/* Symlinks keep mode 0777 and take an owner of their own. */
	TFS_ASSERT_OK(symlink("f", tfs_p(self->m, "l")));
	TFS_ASSERT_OK(lchown(tfs_p(self->m, "l"), 7, 8));
	ASSERT_EQ(0, lstat(tfs_p(self->m, "l"), &st));
	EXPECT_EQ(7, st.st_uid);
	EXPECT_EQ(8, st.st_gid);
	ASSERT_EQ(0, stat(tfs_p(self->m, "l"), &st));
	EXPECT_EQ(100000, st.st_uid);

	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	ASSERT_EQ(0, stat(tfs_p(self->m, "f"), &st));
	EXPECT_EQ(100000, st.st_uid);
	EXPECT_EQ(200000, st.st_gid);
	ASSERT_EQ(0, stat(tfs_p(self->m, "d"), &st));
	EXPECT_EQ(S_IFDIR | 02775, st.st_mode);
	EXPECT_EQ(5, st.st_uid);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(attr, new_files_take_caller_ids)
{
	struct stat st;
	int status;
	pid_t pid;

	/* Other users need allow_other on a fuse mount. */
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "open"), 0777));
	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "closed"), 0755));
	ASSERT_EQ(0, tfs_umount(self->m));
	if (self->m->kernel) {
		ASSERT_EQ(0, tfs_remount(self->m));
	} else {
		char opts[128];

		snprintf(opts, sizeof(opts), "allow_other,default_permissions%s%s",
			 variant->fuse_opts ? "," : "",
			 variant->fuse_opts ? variant->fuse_opts : "");
		ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, opts));
	}

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd;

		if (setgid(1234) || setuid(4321))
			_exit(10);
		fd = open(tfs_p(self->m, "open/mine"), O_CREAT | O_WRONLY,
			  0640);
		if (fd < 0)
			_exit(11);
		close(fd);
		if (mkdir(tfs_p(self->m, "open/mydir"), 0700))
			_exit(12);
		/* Not allowed to write into root's 0755 directory. */
		if (open(tfs_p(self->m, "closed/x"), O_CREAT | O_WRONLY,
			 0644) >= 0 || errno != EACCES)
			_exit(13);
		/* Not the owner: chmod is refused. */
		if (chmod(tfs_p(self->m, "closed"), 0777) == 0 ||
		    errno != EPERM)
			_exit(14);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, stat(tfs_p(self->m, "open/mine"), &st));
	EXPECT_EQ(4321, st.st_uid);
	EXPECT_EQ(1234, st.st_gid);
	EXPECT_EQ(S_IFREG | 0640, st.st_mode);
	ASSERT_EQ(0, stat(tfs_p(self->m, "open/mydir"), &st));
	EXPECT_EQ(4321, st.st_uid);
	EXPECT_EQ(1234, st.st_gid);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(attr, truncate_sizes_and_blocks)
{
	const char *f = tfs_p(self->m, "f");
	char buf[8192];
	struct stat st;
	int fd;

	ASSERT_EQ(0, tfs_write_pattern(f, 0, 100000, 3, O_CREAT | O_TRUNC));
	TFS_ASSERT_OK(truncate(f, 5000));
	ASSERT_EQ(0, stat(f, &st));
	EXPECT_EQ(5000, st.st_size);
	EXPECT_EQ(16, st.st_blocks);
	EXPECT_EQ(0, tfs_check_pattern(f, 0, 5000, 3));

	/* Growing leaves a hole that reads as zeros, without blocks. */
	TFS_ASSERT_OK(truncate(f, 1 << 20));
	ASSERT_EQ(0, stat(f, &st));
	EXPECT_EQ(1 << 20, st.st_size);
	EXPECT_EQ(16, st.st_blocks);
	fd = open(f, O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(8192, pread(fd, buf, 8192, 4096));
	/* 4096..4999 is old data, the rest of the block must be zero. */
	for (int i = 5000 - 4096; i < 8192; i++)
		if (buf[i]) {
			EXPECT_EQ(0, buf[i]) TH_LOG("byte %d", 4096 + i);
			break;
		}
	close(fd);

	/* ftruncate on an open descriptor; zero length frees everything. */
	fd = open(f, O_RDWR);
	ASSERT_GE(fd, 0);
	TFS_ASSERT_OK(ftruncate(fd, 0));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(0, st.st_size);
	EXPECT_EQ(0, st.st_blocks);
	close(fd);
	TFS_EXPECT_ERRNO(EINVAL, truncate(f, -1));
	TFS_EXPECT_ERRNO(EISDIR, truncate(self->m->dir, 0));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(attr, utimensat_nanoseconds)
{
	const char *f = tfs_p(self->m, "f");
	struct timespec ts[2] = {
		{ .tv_sec = 1000000000, .tv_nsec = 123456789 },
		{ .tv_sec = 1234567890, .tv_nsec = 987654321 },
	};
	long long before, after;
	struct stat st, old;

	ASSERT_EQ(0, touch(f, 0644));
	TFS_ASSERT_OK(utimensat(AT_FDCWD, f, ts, 0));
	ASSERT_EQ(0, stat(f, &st));
	EXPECT_EQ(ts_ns(ts[0]), ts_ns(st.st_atim));
	EXPECT_EQ(ts_ns(ts[1]), ts_ns(st.st_mtim));

	/* UTIME_OMIT keeps one, UTIME_NOW sets the other to now. */
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	old = st;
	tick();
	before = now_ns();
	TFS_ASSERT_OK(utimensat(AT_FDCWD, f, ts, 0));
	after = now_ns();
	ASSERT_EQ(0, stat(f, &st));
	EXPECT_EQ(ts_ns(old.st_atim), ts_ns(st.st_atim));
	/* The kernel clock is coarse: allow 20 ms before the call. */
	EXPECT_GE(ts_ns(st.st_mtim), before - 20000000LL);
	EXPECT_LE(ts_ns(st.st_mtim), after);
	EXPECT_GT(ts_ns(st.st_ctim), ts_ns(old.st_ctim));

	/* NULL times: both now. */
	tick();
	TFS_ASSERT_OK(utimensat(AT_FDCWD, f, NULL, 0));
	ASSERT_EQ(0, stat(f, &old));
	EXPECT_GE(ts_ns(old.st_atim), after - 20000000LL);
	EXPECT_GE(ts_ns(old.st_mtim), after - 20000000LL);

	/* A symlink's own times with AT_SYMLINK_NOFOLLOW. */
	TFS_ASSERT_OK(symlink("f", tfs_p(self->m, "l")));
	ts[0] = (struct timespec){ .tv_sec = 5, .tv_nsec = 6 };
	ts[1] = (struct timespec){ .tv_sec = 7, .tv_nsec = 8 };
	TFS_ASSERT_OK(utimensat(AT_FDCWD, tfs_p(self->m, "l"), ts,
				AT_SYMLINK_NOFOLLOW));
	ASSERT_EQ(0, lstat(tfs_p(self->m, "l"), &st));
	EXPECT_EQ(7000000008LL, ts_ns(st.st_mtim));
	ASSERT_EQ(0, stat(f, &st));
	EXPECT_EQ(ts_ns(old.st_mtim), ts_ns(st.st_mtim));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(attr, times_outside_32_bits)
{
	const char *f = tfs_p(self->m, "f");
	struct timespec ts[2] = {
		/* 1960 and 2200: need ext4's extra epoch bits. */
		{ .tv_sec = -315619200, .tv_nsec = 1 },
		{ .tv_sec = 7258118400LL, .tv_nsec = 999999999 },
	};
	struct stat st;

	ASSERT_EQ(0, touch(f, 0644));
	TFS_ASSERT_OK(utimensat(AT_FDCWD, f, ts, 0));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	ASSERT_EQ(0, stat(f, &st));
	EXPECT_EQ(ts_ns(ts[0]), ts_ns(st.st_atim));
	EXPECT_EQ(ts_ns(ts[1]), ts_ns(st.st_mtim));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* Which operations update ctime (and mtime of the parent). */
TEST_F(attr, ctime_and_mtime_changes)
{
	const char *f = tfs_p(self->m, "f");
	struct stat a, b, pa, pb;

	TFS_ASSERT_OK(mkdir(tfs_p(self->m, "p"), 0755));
	f = tfs_p(self->m, "p/f");
	ASSERT_EQ(0, touch(f, 0644));

#define CHANGES(call, what) do {					\
		ASSERT_EQ(0, stat(f, &a));				\
		tick();							\
		TFS_ASSERT_OK(call);					\
		ASSERT_EQ(0, stat(f, &b));				\
		EXPECT_GT(ts_ns(b.what), ts_ns(a.what)) TH_LOG("%s", #call); \
	} while (0)

	CHANGES(chmod(f, 0600), st_ctim);
	CHANGES(chown(f, 1, 1), st_ctim);
	CHANGES(truncate(f, 100), st_ctim);
	CHANGES(truncate(f, 10), st_mtim);
	CHANGES(link(f, tfs_p(self->m, "p/f2")), st_ctim);
	CHANGES(unlink(tfs_p(self->m, "p/f2")), st_ctim);
	CHANGES(tfs_write_file(f, "x", 1), st_mtim);
	CHANGES(rename(f, tfs_p(self->m, "p/g")) ||
		rename(tfs_p(self->m, "p/g"), f), st_ctim);

	/* Creating and removing entries moves the directory's times. */
	ASSERT_EQ(0, stat(tfs_p(self->m, "p"), &pa));
	tick();
	ASSERT_EQ(0, touch(tfs_p(self->m, "p/new"), 0644));
	ASSERT_EQ(0, stat(tfs_p(self->m, "p"), &pb));
	EXPECT_GT(ts_ns(pb.st_mtim), ts_ns(pa.st_mtim));
	EXPECT_GT(ts_ns(pb.st_ctim), ts_ns(pa.st_ctim));
	tick();
	TFS_ASSERT_OK(unlink(tfs_p(self->m, "p/new")));
	ASSERT_EQ(0, stat(tfs_p(self->m, "p"), &pa));
	EXPECT_GT(ts_ns(pa.st_mtim), ts_ns(pb.st_mtim));

	/* Reading changes neither mtime nor ctime. */
	ASSERT_EQ(0, stat(f, &a));
	tick();
	free(tfs_read_file(f, NULL));
	ASSERT_EQ(0, stat(f, &b));
	EXPECT_EQ(ts_ns(a.st_mtim), ts_ns(b.st_mtim));
	EXPECT_EQ(ts_ns(a.st_ctim), ts_ns(b.st_ctim));
#undef CHANGES
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
