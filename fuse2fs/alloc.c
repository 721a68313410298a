// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: every block allocation passes one gate, which keeps blocks
 * back for the conversions of unwritten extents that the kernel may
 * still ask for.
 *
 * When the kernel has written into unwritten blocks it sends
 * FUSE_IOMAP_IOEND, and the server marks the range written.  That can
 * split an extent, and a split can need new extent-tree blocks.  The data
 * is on the device already; an IOEND failing with ENOSPC loses it (the
 * range keeps reading as zeroes).  So, like ext4, which reserves blocks
 * for the metadata such conversions need, an inode the kernel got an
 * unwritten mapping of holds a reserve big enough for one conversion,
 * taken when the mapping is handed out (BEGIN fails with ENOSPC instead
 * when it cannot be had) and kept until the kernel forgets the inode.
 * Ordinary allocations may not use reserved blocks; the conversion of an
 * inode may use that inode's reserve, which is topped up again after.
 *
 * The gate is libext2fs's allocation callbacks (get_alloc_block and
 * new_range), through which every block allocation of libext2fs and of
 * fuse2fs goes; tests fail allocations there (fault.c).
 */
#include "fuse2fs.h"

/* ext4's limit on extent tree depth (EXT4_MAX_EXTENT_DEPTH). */
#define F2_MAX_EXTENT_DEPTH	5

static struct fuse2fs *f2_alloc_fs;

/* Blocks an allocation for the current owner may use. */
static blk64_t f2_alloc_avail(struct fuse2fs *f2)
{
	blk64_t free = ext2fs_free_blocks_count(f2->fs->super);
	blk64_t held = f2->resv_total;
	uint32_t *own = f2->alloc_owner ?
			f2_itab_resv(f2, f2->alloc_owner) : NULL;

	if (own)
		held -= *own;
	return free > held ? free - held : 0;
}

static errcode_t f2_alloc_block_gate(ext2_filsys fs, blk64_t goal,
				     blk64_t *ret)
{
	if (f2_fault("alloc") || !f2_alloc_avail(f2_alloc_fs))
		return EXT2_ET_BLOCK_ALLOC_FAIL;
	/* With a bitmap given, libext2fs does not call back here. */
	return ext2fs_new_block2(fs, goal, fs->block_map, ret);
}

static errcode_t f2_new_range_gate(ext2_filsys fs, int flags, blk64_t goal,
				   blk64_t len, blk64_t *pblk, blk64_t *plen)
{
	blk64_t avail = f2_alloc_avail(f2_alloc_fs);
	errcode_t err;

	if (f2_fault("alloc") || !avail ||
	    (avail < len && flags & EXT2_NEWRANGE_MIN_LENGTH))
		return EXT2_ET_BLOCK_ALLOC_FAIL;
	err = ext2fs_new_range(fs, flags, goal, len, fs->block_map, pblk,
			       plen);
	if (!err && *plen > avail)
		*plen = avail;
	return err;
}

void f2_alloc_install(struct fuse2fs *f2)
{
	f2_alloc_fs = f2;
	ext2fs_set_alloc_block_callback(f2->fs, f2_alloc_block_gate, NULL);
	ext2fs_set_new_range_callback(f2->fs, f2_new_range_gate, NULL);
	f2_txn_install(f2);
}

/*
 * At most this many blocks for one conversion in a tree of this depth:
 * it inserts at most two extents; one insert splits at most every node
 * on its path and adds a level (depth + 1 blocks), and the second runs
 * in a tree that may have grown by a level.
 */
static uint32_t f2_convert_need(const struct ext2_inode_large *inode)
{
	const struct ext3_extent_header *eh = (const void *)inode->i_block;
	uint32_t depth = ext2fs_le16_to_cpu(eh->eh_depth);

	if (depth > F2_MAX_EXTENT_DEPTH)
		depth = F2_MAX_EXTENT_DEPTH;
	return 2 * depth + 3;
}

int f2_resv_take(struct fuse2fs *f2, ext2_ino_t ino,
		 const struct ext2_inode_large *inode)
{
	uint32_t want = f2_convert_need(inode), *have = f2_itab_resv(f2, ino);
	blk64_t free = ext2fs_free_blocks_count(f2->fs->super);

	/* Not referenced by the kernel: no IOEND can come for it. */
	if (!have)
		return 0;
	if (*have >= want)
		return 0;
	if (free < f2->resv_total + (want - *have))
		return ENOSPC;
	f2->resv_total += want - *have;
	*have = want;
	return 0;
}

void f2_resv_drop(struct fuse2fs *f2, uint32_t *have)
{
	f2->resv_total -= *have;
	*have = 0;
}

void f2_alloc_as(struct fuse2fs *f2, ext2_ino_t ino)
{
	f2->alloc_owner = ino;
}

void f2_resv_used(struct fuse2fs *f2, ext2_ino_t ino, blk64_t free_before,
		  const struct ext2_inode_large *inode)
{
	blk64_t free = ext2fs_free_blocks_count(f2->fs->super);
	uint32_t *have = f2_itab_resv(f2, ino);
	blk64_t used = free_before > free ? free_before - free : 0;

	f2->alloc_owner = 0;
	if (!have)
		return;
	if (used > *have)
		used = *have;
	*have -= used;
	f2->resv_total -= used;
	/* Best effort: a later BEGIN fails if the disk is full by then. */
	f2_resv_take(f2, ino, inode);
}
