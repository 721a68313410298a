// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: STATFS, from the superblock's counters as ext4 reports them.
 */
#include <string.h>
#include <sys/statvfs.h>

#include "fuse2fs.h"

/*
 * Blocks holding metadata (superblocks, descriptors, bitmaps, inode
 * tables, the journal): ext4 leaves them out of f_blocks.  Like ext4,
 * the count recorded in s_overhead_clusters is taken only on bigalloc
 * (where adding it up is slow) and only when it is not larger than the
 * filesystem; otherwise it is added up as ext4_calculate_overhead()
 * does: a field from the image must not make f_blocks wrap.
 */
static uint64_t f2_overhead(struct fuse2fs *f2)
{
	ext2_filsys fs = f2->fs;
	struct ext2_super_block *sb = fs->super;
	struct ext2_inode inode;
	uint64_t total;
	blk_t used;
	dgrp_t g;

	if (sb->s_overhead_clusters && ext2fs_has_feature_bigalloc(sb) &&
	    EXT2FS_C2B(fs, (uint64_t)sb->s_overhead_clusters) <=
	    ext2fs_blocks_count(sb))
		return EXT2FS_C2B(fs, (uint64_t)sb->s_overhead_clusters);
	if (f2->overhead)
		return f2->overhead;
	total = sb->s_first_data_block;
	for (g = 0; g < fs->group_desc_count; g++) {
		ext2fs_super_and_bgd_loc2(fs, g, NULL, NULL, NULL, &used);
		total += used + 2 + fs->inode_blocks_per_group;
	}
	if (ext2fs_has_feature_journal(sb) && sb->s_journal_inum &&
	    !ext2fs_read_inode(fs, sb->s_journal_inum, &inode))
		total += EXT2_I_SIZE(&inode) / fs->blocksize;
	f2->overhead = total;
	return total;
}

/* ext4's own reserve on extent filesystems: 2%, at most 4096 clusters. */
static uint64_t f2_resv_blocks(struct fuse2fs *f2)
{
	uint64_t resv;

	if (!ext2fs_has_feature_extents(f2->fs->super))
		return 0;
	resv = ext2fs_blocks_count(f2->fs->super) / 50;
	return resv < 4096 ? resv : 4096;
}

void f2_op_statfs(fuse_req_t req, fuse_ino_t nodeid)
{
	struct fuse2fs *f2 = f2_get(req);
	struct ext2_super_block *sb = f2->fs->super;
	uint64_t free, resv;
	struct statvfs st;

	memset(&st, 0, sizeof(st));
	free = ext2fs_free_blocks_count(sb);
	resv = ext2fs_r_blocks_count(sb) + f2_resv_blocks(f2);
	st.f_bsize = f2->fs->blocksize;
	st.f_frsize = f2->fs->blocksize;
	st.f_blocks = ext2fs_blocks_count(sb) - f2_overhead(f2);
	st.f_bfree = free;
	st.f_bavail = free > resv ? free - resv : 0;
	st.f_files = sb->s_inodes_count;
	st.f_ffree = sb->s_free_inodes_count;
	st.f_favail = sb->s_free_inodes_count;
	st.f_namemax = EXT2_NAME_LEN;
	fuse_reply_statfs(req, &st);
}
