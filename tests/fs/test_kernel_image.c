// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * An image made by kernel ext4 -- many files of many sizes, an htree
 * directory, inline files (inline_data variant), xattrs in the inode and
 * in an xattr block, fast and slow symlinks, hard links, device nodes, a
 * sparse file beyond 4 GiB, a deep path -- read back through fuse2fs:
 * every byte (content hashes), every stat field including inode numbers
 * and ctimes, every xattr must be what the kernel saw.  A read-only
 * fuse2fs mount must not change a single byte of the image; a read-write
 * one must leave it fsck-clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

FIXTURE(kimg) {
	struct tfs_env env;
};

FIXTURE_VARIANT(kimg) {
	struct tfs_mkfs_opts mkfs;
	bool inline_data;
};

FIXTURE_VARIANT_ADD(kimg, ext4) {
	.mkfs = { .size_mb = 128 },
};
FIXTURE_VARIANT_ADD(kimg, ext4_inline) {
	.mkfs = { .size_mb = 128, .features = "inline_data" },
	.inline_data = true,
};
FIXTURE_VARIANT_ADD(kimg, ext4_1k) {
	.mkfs = { .size_mb = 128, .block_size = 1024 },
};
FIXTURE_VARIANT_ADD(kimg, ext4_metabg_1k) {
	.mkfs = { .size_mb = 128, .block_size = 1024,
		  .features = "meta_bg,^resize_inode" },
};
FIXTURE_VARIANT_ADD(kimg, ext4_128b_inodes) {
	.mkfs = { .size_mb = 128, .inode_size = 128 },
};
FIXTURE_VARIANT_ADD(kimg, ext3) {
	.mkfs = { .fstype = "ext3", .size_mb = 128 },
};
FIXTURE_VARIANT_ADD(kimg, ext2) {
	.mkfs = { .fstype = "ext2", .size_mb = 128 },
};

FIXTURE_SETUP(kimg)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	umask(0);
	ASSERT_EQ(0, tfs_env_init(&self->env));
	ASSERT_EQ(0, tfs_mkfs(self->env.image, &variant->mkfs));
}

FIXTURE_TEARDOWN_PARENT(kimg)
{
	tfs_env_cleanup(&self->env);
}

#define HTREE_ENTRIES 2500

/* Build the tree through the kernel mount m; 0 or -1. */
static int build_tree(struct tfs_mount *m)
{
	char name[TFS_PATH_MAX], slow[400], big[800];
	int i;

	memset(slow, 'q', sizeof(slow) - 1);
	slow[sizeof(slow) - 1] = '\0';
	memset(big, 'B', sizeof(big));

	if (mkdir(tfs_p(m, "files"), 0755) || mkdir(tfs_p(m, "htree"), 0755))
		return -1;
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "files/f%03d", i);
		if (tfs_write_pattern(tfs_p(m, name), 0, (i * 613) % 150000, i,
				      O_CREAT))
			return -1;
	}
	for (i = 0; i < HTREE_ENTRIES; i++) {
		snprintf(name, sizeof(name), "htree/entry-%05d-%s", i,
			 i % 2 ? "odd" : "even-with-longer-name");
		if (tfs_write_file(tfs_p(m, name), name, i % 40))
			return -1;
	}
	/* Small files (inline with inline_data) and an empty one. */
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "small%02d", i);
		if (tfs_write_pattern(tfs_p(m, name), 0, i * 7, 100 + i,
				      O_CREAT))
			return -1;
	}
	/*
	 * xattrs: small ones fit in the inode, a big one needs a block (of
	 * 1 KiB at least: a value must fit in one block).
	 */
	if (setxattr(tfs_p(m, "files/f001"), "user.small", "v", 1, 0) ||
	    setxattr(tfs_p(m, "files/f001"), "user.other", "value2", 6, 0) ||
	    setxattr(tfs_p(m, "files/f002"), "user.big", big, sizeof(big), 0) ||
	    setxattr(tfs_p(m, "files"), "user.dir", "d", 1, 0) ||
	    setxattr(tfs_p(m, "files/f003"), "trusted.t", "tt", 2, 0) ||
	    setxattr(tfs_p(m, "small05"), "user.inl", "x", 1, 0))
		return -1;
	/* Links, special files, a sparse file past 4 GiB, a deep path. */
	if (symlink("files/f010", tfs_p(m, "fast")) ||
	    symlink(slow, tfs_p(m, "slow")) ||
	    link(tfs_p(m, "files/f011"), tfs_p(m, "hard")) ||
	    mknod(tfs_p(m, "fifo"), S_IFIFO | 0644, 0) ||
	    mknod(tfs_p(m, "dev"), S_IFCHR | 0600, makedev(10, 229)) ||
	    tfs_write_pattern(tfs_p(m, "sparse"), (5ULL << 30) + 7, 5000, 9,
			      O_CREAT) ||
	    tfs_write_pattern(tfs_p(m, "sparse"), 1 << 20, 3000, 8, 0) ||
	    chown(tfs_p(m, "files/f020"), 1001, 1002) ||
	    chmod(tfs_p(m, "files/f021"), 06750))
		return -1;
	snprintf(name, sizeof(name), "deep");
	for (i = 0; i < 20; i++) {
		if (mkdir(tfs_p(m, name), 0755))
			return -1;
		strcat(name, "/d");
	}
	return tfs_write_file(tfs_p(m, "deep/d/d/d/leaf"), "leaf", 4);
}

TEST_F_TIMEOUT(kimg, kernel_image_read_back, 240)
{
	struct tfs_mount *k = &self->env.kern, *f = &self->env.fuse;
	const unsigned int fl = TFS_MF_NO_ATIME;
	char *kman, *fman;
	uint64_t h0, h1;
	long long flags;
	int fd;

	ASSERT_EQ(0, tfs_mount_kernel(k, self->env.image, NULL, NULL));
	ASSERT_EQ(0, build_tree(k)) TH_LOG("building: %s", strerror(errno));
	fd = open(k->dir, O_RDONLY | O_DIRECTORY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, syncfs(fd));
	close(fd);
	kman = tfs_manifest(k->dir, fl);
	ASSERT_NE(NULL, kman);
	TFS_ASSERT_UNMOUNT_CLEAN(k);

	/* The kernel indexed the big directory; inline files are inline. */
	flags = tfs_inode_field(self->env.image, "/htree", "Flags");
	if (variant->mkfs.fstype == NULL) {
		EXPECT_NE(0, flags & 0x1000) TH_LOG("htree flags %llx", flags);
	}
	if (variant->inline_data) {
		flags = tfs_inode_field(self->env.image, "/small05", "Flags");
		EXPECT_NE(0, flags & 0x10000000) TH_LOG("flags %llx", flags);
	}

	/* Read-only through fuse2fs: same tree, image untouched. */
	ASSERT_EQ(0, tfs_file_hash(self->env.image, &h0));
	ASSERT_EQ(0, tfs_mount_fuse(f, self->env.image, "ro"));
	fman = tfs_manifest(f->dir, fl);
	ASSERT_NE(NULL, fman);
	EXPECT_EQ(0, tfs_manifest_diff("ext4 wrote", kman, "fuse2fs ro reads",
				       fman));
	free(fman);
	ASSERT_EQ(0, tfs_umount(f));
	ASSERT_EQ(0, tfs_file_hash(self->env.image, &h1));
	EXPECT_EQ(h0, h1) TH_LOG("a read-only mount changed the image");

	/* Read-write: still the same tree, and fsck-clean afterwards. */
	ASSERT_EQ(0, tfs_mount_fuse(f, self->env.image, NULL));
	fman = tfs_manifest(f->dir, fl);
	ASSERT_NE(NULL, fman);
	EXPECT_EQ(0, tfs_manifest_diff("ext4 wrote", kman, "fuse2fs rw reads",
				       fman));
	free(fman);
	TFS_ASSERT_UNMOUNT_CLEAN(f);
	free(kman);
}

TEST_HARNESS_MAIN
