// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Cross-check with kernel ext4, on ext4 (4 KiB and 1 KiB blocks, inline
 * data, block-mapped), ext3 and ext2 images: the same scripted sequence of
 * operations runs through fuse2fs on one fresh image and through the
 * kernel on an identical one; every step's result and errno, and the
 * resulting trees (types, modes, owners, sizes, blocks, link counts,
 * contents, symlink targets, device numbers, xattrs, mtimes) must agree.
 * Then each image is read by the other side: what fuse2fs wrote, the
 * kernel reads identically (inode numbers and ctimes included), and the
 * other way round.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

FIXTURE(xc) {
	struct tfs_env env;
};

FIXTURE_VARIANT(xc) {
	struct tfs_mkfs_opts mkfs;
};

FIXTURE_VARIANT_ADD(xc, ext4) {
	.mkfs = { .size_mb = 128 },
};
FIXTURE_VARIANT_ADD(xc, ext4_1k) {
	.mkfs = { .size_mb = 128, .block_size = 1024 },
};
FIXTURE_VARIANT_ADD(xc, ext4_inline) {
	.mkfs = { .size_mb = 128, .features = "inline_data" },
};
FIXTURE_VARIANT_ADD(xc, ext4_blockmap) {
	.mkfs = { .size_mb = 128, .features = "^extent,^64bit" },
};
FIXTURE_VARIANT_ADD(xc, ext4_metabg_1k) {
	.mkfs = { .size_mb = 128, .block_size = 1024,
		  .features = "meta_bg,^resize_inode" },
};
FIXTURE_VARIANT_ADD(xc, ext4_128b_inodes) {
	.mkfs = { .size_mb = 128, .inode_size = 128 },
};
FIXTURE_VARIANT_ADD(xc, ext3) {
	.mkfs = { .fstype = "ext3", .size_mb = 128 },
};
FIXTURE_VARIANT_ADD(xc, ext2) {
	.mkfs = { .fstype = "ext2", .size_mb = 128 },
};
FIXTURE_VARIANT_ADD(xc, ext2_1k) {
	.mkfs = { .fstype = "ext2", .size_mb = 128, .block_size = 1024 },
};

FIXTURE_SETUP(xc)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	umask(0);
	ASSERT_EQ(0, tfs_env_init(&self->env));
	ASSERT_EQ(0, tfs_mkfs(self->env.image, &variant->mkfs));
	ASSERT_EQ(0, tfs_mkfs(self->env.kimage, &variant->mkfs));
}

FIXTURE_TEARDOWN_PARENT(xc)
{
	tfs_env_cleanup(&self->env);
}

/* A record of every step: "expression = result errno". */
struct steplog {
	char *text;
	size_t len, cap;
};

static void step_add(struct steplog *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->cap - l->len < 1024) {
		l->cap = l->cap ? l->cap * 2 : 65536;
		l->text = realloc(l->text, l->cap);
		if (!l->text)
			abort();
	}
	va_start(ap, fmt);
	n = vsnprintf(l->text + l->len, l->cap - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += n;
}

#define STEP(call) do {							\
		long __r;						\
		errno = 0;						\
		__r = (long)(call);					\
		step_add(log, "%s = %ld%s%s\n", #call, __r,			\
		     __r < 0 ? " " : "", __r < 0 ? strerror(errno) : ""); \
	} while (0)

#define P(rel) tfs_p(m, rel)

static int wpat(const char *path, off_t off, size_t len, int seed)
{
	return tfs_write_pattern(path, off, len, seed, O_CREAT);
}

static int fixed_times(const char *path, const struct stat *st, int flag,
		       struct FTW *ftw)
{
	/* Distinct per-depth times, with nanoseconds. */
	struct timespec ts[2] = {
		{ .tv_sec = 1500000000 + ftw->level, .tv_nsec = 111 },
		{ .tv_sec = 1600000000 + ftw->level * 1000,
		  .tv_nsec = 123456789 },
	};

	return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

static void workload(struct tfs_mount *m, struct steplog *log)
{
	char slow[300];
	int i;

	memset(slow, 's', sizeof(slow) - 1);
	slow[sizeof(slow) - 1] = '\0';

	STEP(mkdir(P("a"), 0755));
	STEP(mkdir(P("a/b"), 0700));
	STEP(mkdir(P("a/b/c"), 0777));
	STEP(mkdir(P("a"), 0755));
	STEP(wpat(P("a/zero"), 0, 0, 1));
	STEP(wpat(P("a/one"), 0, 1, 2));
	STEP(wpat(P("a/block"), 0, 4096, 3));
	STEP(wpat(P("a/b/odd"), 0, 5000, 4));
	STEP(wpat(P("a/b/mid"), 0, 70000, 5));
	STEP(wpat(P("a/b/c/indirect"), 0, 300000, 6));
	STEP(wpat(P("five_mb"), 0, 5 << 20, 7));
	/* Far end first: the file never starts as inline data. */
	STEP(wpat(P("sparse"), 100 << 20, 10, 9));
	STEP(wpat(P("sparse"), 0, 10, 8));
	STEP(wpat(P("sparse"), 3 << 20, 5000, 10));
	STEP(symlink("a/one", P("fast")));
	STEP(symlink(slow, P("slowlink")));
	STEP(symlink("a/one", P("fast")));
	STEP(link(P("a/one"), P("a/b/hard")));
	STEP(link(P("a"), P("dirlink")));
	STEP(mknod(P("fifo"), S_IFIFO | 0600, 0));
	STEP(mknod(P("chr"), S_IFCHR | 0640, makedev(4, 64)));
	STEP(mknod(P("blk"), S_IFBLK | 0640, makedev(259, 100000)));
	STEP(chmod(P("a/block"), 04711));
	STEP(chown(P("a/block"), 123, 456));
	STEP(lchown(P("fast"), 7, 8));
	STEP(truncate(P("a/b/mid"), 10000));
	STEP(truncate(P("a/b/odd"), 20000));
	STEP(truncate(P("five_mb"), (5 << 20) - 12345));
	STEP(rename(P("a/b/odd"), P("a/odd")));
	STEP(rename(P("a/odd"), P("a/block")));
	STEP(rename(P("a/b/c"), P("c")));
	STEP(rename(P("a"), P("a/b/x")));
	STEP(rename(P("c"), P("a")));
	STEP(renameat2(AT_FDCWD, P("fast"), AT_FDCWD, P("fifo"),
		       RENAME_NOREPLACE));
	STEP(renameat2(AT_FDCWD, P("fast"), AT_FDCWD, P("a/b"),
		       RENAME_EXCHANGE));
	STEP(rmdir(P("a")));
	STEP(unlink(P("a")));
	STEP(unlink(P("a/one")));
	STEP(rmdir(P("nothere")));
	STEP(mkdir(P("many"), 0755));
	for (i = 0; i < 120; i++) {
		char name[64];

		snprintf(name, sizeof(name), "many/file-with-a-name-%03d", i);
		STEP(wpat(P(name), 0, i * 37, i));
	}
	for (i = 0; i < 120; i += 3) {
		char name[64];

		snprintf(name, sizeof(name), "many/file-with-a-name-%03d", i);
		STEP(unlink(P(name)));
	}
	STEP(nftw(m->dir, fixed_times, 16, FTW_PHYS));
}

static int run_side(struct __test_metadata *_metadata, struct tfs_mount *m,
		    struct steplog *log, char **manifest)
{
	int fd;

	workload(m, log);
	/* Delayed allocation: count indirect blocks only once allocated. */
	fd = open(m->dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
	/*
	 * Kernel and fuse2fs allocate inodes differently and may lay out
	 * directories differently (the kernel indexes a directory once it
	 * outgrows a block); times were set by the workload.
	 */
	*manifest = tfs_manifest(m->dir, TFS_MF_NO_INO | TFS_MF_NO_ATIME |
				 TFS_MF_NO_CTIME | TFS_MF_NO_DIRSIZE);
	return *manifest ? 0 : -1;
}

TEST_F_TIMEOUT(xc, same_steps_same_result, 180)
{
	struct steplog flog = { 0 }, klog = { 0 };
	char *fman = NULL, *kman = NULL, *fdisk = NULL, *kdisk = NULL;
	char *fman2 = NULL, *kman2 = NULL;
	unsigned int fl = TFS_MF_NO_ATIME;

	ASSERT_EQ(0, tfs_mount_fuse(&self->env.fuse, self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_kernel(&self->env.kern, self->env.kimage, NULL,
				      NULL));
	ASSERT_EQ(0, run_side(_metadata, &self->env.fuse, &flog, &fman));
	ASSERT_EQ(0, run_side(_metadata, &self->env.kern, &klog, &kman));

	EXPECT_EQ(0, tfs_manifest_diff("fuse2fs steps", flog.text,
				       "ext4 steps", klog.text));
	EXPECT_EQ(0, tfs_manifest_diff("fuse2fs", fman, "ext4", kman));

	/*
	 * Everything, inode numbers, directory sizes and ctimes too, as
	 * each side saw it (synced above).
	 */
	fdisk = tfs_manifest(self->env.fuse.dir, fl);
	kdisk = tfs_manifest(self->env.kern.dir, fl);
	ASSERT_NE(NULL, fdisk);
	ASSERT_NE(NULL, kdisk);
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.kern);

	/* Swap: the kernel reads fuse2fs's image and vice versa. */
	ASSERT_EQ(0, tfs_mount_kernel(&self->env.kern, self->env.image, NULL,
				      "ro"));
	ASSERT_EQ(0, tfs_mount_fuse(&self->env.fuse, self->env.kimage, "ro"));
	fman2 = tfs_manifest(self->env.kern.dir, fl);
	kman2 = tfs_manifest(self->env.fuse.dir, fl);
	EXPECT_EQ(0, tfs_manifest_diff("fuse2fs wrote, fuse2fs saw", fdisk,
				       "fuse2fs wrote, ext4 reads", fman2));
	EXPECT_EQ(0, tfs_manifest_diff("ext4 wrote, ext4 saw", kdisk,
				       "ext4 wrote, fuse2fs reads", kman2));
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.kern);
	free(flog.text);
	free(klog.text);
	free(fman);
	free(kman);
	free(fdisk);
	free(kdisk);
	free(fman2);
	free(kman2);
}

TEST_HARNESS_MAIN
