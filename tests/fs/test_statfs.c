// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * statfs: fuse2fs and kernel ext4 on two identical fresh images must
 * report the same geometry (block size, f_blocks, f_files, name length),
 * free counts within ext4's own reservations, and move the same way when
 * data and files are added and removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

FIXTURE(sfs) {
	struct tfs_env env;
};

FIXTURE_VARIANT(sfs) {
	struct tfs_mkfs_opts mkfs;
};

FIXTURE_VARIANT_ADD(sfs, ext4) {
	.mkfs = { .size_mb = 256 },
};

FIXTURE_VARIANT_ADD(sfs, ext4_1k) {
	.mkfs = { .size_mb = 64, .block_size = 1024 },
};

FIXTURE_VARIANT_ADD(sfs, ext2) {
	.mkfs = { .fstype = "ext2", .size_mb = 128 },
};

FIXTURE_SETUP(sfs)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	ASSERT_EQ(0, tfs_env_init(&self->env));
	ASSERT_EQ(0, tfs_mkfs(self->env.image, &variant->mkfs));
	ASSERT_EQ(0, tfs_mkfs(self->env.kimage, &variant->mkfs));
	ASSERT_EQ(0, tfs_mount_fuse(&self->env.fuse, self->env.image, NULL));
	ASSERT_EQ(0, tfs_mount_kernel(&self->env.kern, self->env.kimage, NULL,
				      NULL));
}

FIXTURE_TEARDOWN_PARENT(sfs)
{
	tfs_env_cleanup(&self->env);
}

static void log_statvfs(const char *what, const struct statvfs *s)
{
	fprintf(stderr,
		"# %s: bsize %lu frsize %lu blocks %llu bfree %llu bavail %llu files %llu ffree %llu namemax %lu\n",
		what, s->f_bsize, s->f_frsize,
		(unsigned long long)s->f_blocks,
		(unsigned long long)s->f_bfree,
		(unsigned long long)s->f_bavail,
		(unsigned long long)s->f_files,
		(unsigned long long)s->f_ffree, s->f_namemax);
}

static long long diff(unsigned long long a, unsigned long long b)
{
	return (long long)a - (long long)b;
}

TEST_F(sfs, fresh_image_matches_kernel)
{
	unsigned int bs = variant->mkfs.block_size ?: 4096;
	struct statvfs f, k;
	long long slack;

	ASSERT_EQ(0, statvfs(self->env.fuse.dir, &f));
	ASSERT_EQ(0, statvfs(self->env.kern.dir, &k));
	log_statvfs("fuse2fs", &f);
	log_statvfs("ext4   ", &k);

	EXPECT_EQ(bs, f.f_bsize);
	EXPECT_EQ(bs, f.f_frsize);
	EXPECT_EQ(255, f.f_namemax);
	/*
	 * Same geometry: ext4 reports the blocks minus the metadata overhead
	 * (inode tables, bitmaps, journal); allow 0.5% for how exactly the
	 * overhead is counted.
	 */
	EXPECT_LE(llabs(diff(f.f_blocks, k.f_blocks)), k.f_blocks / 200);
	EXPECT_EQ(k.f_files, f.f_files);
	EXPECT_EQ(k.f_ffree, f.f_ffree);
	/*
	 * ext4 holds back up to 2% (at most 4096 clusters) for delayed
	 * allocation; allow that much difference in free blocks.
	 */
	slack = (variant->mkfs.size_mb << 20) / bs / 50 + 16;
	EXPECT_LE(llabs(diff(f.f_bfree, k.f_bfree)), slack);
	EXPECT_LE(llabs(diff(f.f_bavail, k.f_bavail)), slack);
	/* Root's reserve (5%) separates bfree from bavail on both. */
	EXPECT_LT(f.f_bavail, f.f_bfree);

	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.kern);
}

TEST_F(sfs, counts_follow_changes)
{
	struct statvfs f0, k0, f1, k1, f2, k2;
	struct tfs_mount *ms[2] = { &self->env.fuse, &self->env.kern };
	unsigned int bs = variant->mkfs.block_size ?: 4096;
	long long want = (8 << 20) / bs;
	char name[32];
	int i, j;

	ASSERT_EQ(0, statvfs(ms[0]->dir, &f0));
	ASSERT_EQ(0, statvfs(ms[1]->dir, &k0));
	for (j = 0; j < 2; j++) {
		ASSERT_EQ(0, tfs_write_pattern(tfs_p(ms[j], "big"), 0, 8 << 20,
					       1, O_CREAT));
		for (i = 0; i < 50; i++) {
			snprintf(name, sizeof(name), "small%d", i);
			ASSERT_EQ(0, tfs_write_file(tfs_p(ms[j], name), "x", 1));
		}
		sync();
	}
	ASSERT_EQ(0, statvfs(ms[0]->dir, &f1));
	ASSERT_EQ(0, statvfs(ms[1]->dir, &k1));
	log_statvfs("fuse2fs after", &f1);
	log_statvfs("ext4 after   ", &k1);

	EXPECT_EQ(51, diff(f0.f_ffree, f1.f_ffree));
	EXPECT_EQ(51, diff(k0.f_ffree, k1.f_ffree));
	/* 8 MiB of data plus 50 one-block files, plus a little metadata. */
	EXPECT_GE(diff(f0.f_bfree, f1.f_bfree), want + 50);
	EXPECT_LE(diff(f0.f_bfree, f1.f_bfree), want + 50 + want / 64 + 8);
	EXPECT_LE(llabs(diff(f0.f_bfree, f1.f_bfree) -
			diff(k0.f_bfree, k1.f_bfree)), want / 64 + 8);

	for (j = 0; j < 2; j++) {
		ASSERT_EQ(0, unlink(tfs_p(ms[j], "big")));
		for (i = 0; i < 50; i++) {
			snprintf(name, sizeof(name), "small%d", i);
			ASSERT_EQ(0, unlink(tfs_p(ms[j], name)));
		}
	}
	sync();
	usleep(100000);
	ASSERT_EQ(0, statvfs(ms[0]->dir, &f2));
	ASSERT_EQ(0, statvfs(ms[1]->dir, &k2));
	EXPECT_EQ(f0.f_ffree, f2.f_ffree);
	EXPECT_EQ(f0.f_bfree, f2.f_bfree);
	EXPECT_EQ(k0.f_ffree, k2.f_ffree);

	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.kern);
	/* On disk, both images agree on what is free. */
	EXPECT_EQ(tfs_sb_number(self->env.kimage, "Free blocks"),
		  tfs_sb_number(self->env.image, "Free blocks"));
	EXPECT_EQ(tfs_sb_number(self->env.kimage, "Free inodes"),
		  tfs_sb_number(self->env.image, "Free inodes"));
}

TEST_F(sfs, read_only_mount)
{
	struct statvfs f;

	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
	ASSERT_EQ(0, tfs_mount_fuse(&self->env.fuse, self->env.image, "ro"));
	ASSERT_EQ(0, statvfs(self->env.fuse.dir, &f));
	EXPECT_NE(0, f.f_flag & ST_RDONLY);
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.fuse);
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.kern);
}

TEST_HARNESS_MAIN
