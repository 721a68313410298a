// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FALLOC_FL_COLLAPSE_RANGE and FALLOC_FL_INSERT_RANGE on extent files,
 * with kernel ext4's rules (fallocate.c has already moved an inline file
 * out to a block and refused block-mapped files with EOPNOTSUPP):
 *
 * - offset and length must be multiples of the block size (EINVAL);
 * - collapse must end before EOF (EINVAL: that would be a truncate);
 * - insert must start before EOF (EINVAL) and the grown size must fit
 *   the file size limit (EFBIG), and so must every block the shift moves;
 * - no data is copied: collapse frees the blocks of the range and moves
 *   the logical start of every later extent down by the length, insert
 *   splits the extent at the offset and moves every later one up, blocks
 *   past EOF included;
 * - the size changes by the length.
 *
 * The caller runs inside a transaction (txn.c): when anything fails half
 * way, a split that found no tree block on a full disk say, every block
 * written and every bitmap change is undone, so the file is as before.
 */
#include <errno.h>

#include "fuse2fs.h"
#include "blockmap.h"
#include "iomap.h"

/*
 * The last leaf extent in *e; EXT2_ET_EXTENT_NO_NEXT when the file has
 * none.  libext2fs's EXT2_EXTENT_LAST_LEAF does not check for an empty
 * root: it hands out the slot before the first entry, the header itself,
 * as an extent.
 */
static errcode_t last_leaf(ext2_extent_handle_t h, struct ext2fs_extent *e)
{
	struct ext2_extent_info info;
	errcode_t err = ext2fs_extent_get_info(h, &info);

	if (err)
		return err;
	if (!info.num_entries)
		return EXT2_ET_EXTENT_NO_NEXT;
	return ext2fs_extent_get(h, EXT2_EXTENT_LAST_LEAF, e);
}

/*
 * The last leaf extent (left false: going down from the end) or the
 * first one starting at or after from (left true), in *e; ENOENT-like
 * EXT2_ET_EXTENT_NO_NEXT / NO_PREV when there is none.
 */
static errcode_t first_to_move(ext2_extent_handle_t h, blk64_t from,
			       bool left, struct ext2fs_extent *e)
{
	errcode_t err;

	if (!left)
		return last_leaf(h, e);
	err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, e);
	if (err)
		return err;
	if (e->e_flags & EXT2_EXTENT_FLAGS_LEAF && e->e_lblk >= from)
		return 0;
	return f2_extent_next_leaf(h, from, e);
}

/*
 * Move every extent that starts at or after from by blocks, down (left)
 * or up.  Down: the caller emptied [from - by, from).  Up: the caller
 * split the extent that crossed from and checked the room at the top.
 * Extents keep their order, so only the first key of each leaf, and the
 * index entries above it, need fixing.
 */
static errcode_t shift_extents(ext2_filsys fs, ext2_ino_t ino,
			       struct ext2_inode_large *inode, blk64_t from,
			       blk64_t by, bool left)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	blk64_t old_end;
	errcode_t err;

	err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return err;
	err = first_to_move(h, from, left, &e);
	while (!err && e.e_lblk >= from) {
		old_end = e.e_lblk + e.e_len;
		if (left)
			e.e_lblk -= by;
		else
			e.e_lblk += by;
		err = ext2fs_extent_replace(h, 0, &e);
		if (!err)
			err = ext2fs_extent_fix_parents(h);
		if (err)
			break;
		/*
		 * fix_parents() ends by walking down from the root again,
		 * which leaves the index entries on the path marked as not
		 * yet descended into.  A collapse walks forward: its next
		 * step at the end of a leaf climbs back into that same leaf
		 * (after the last one, into the first) and returns extents
		 * already moved, now all below the old end of this one; the
		 * extents still to move start at or past it.  An insert walks
		 * backward, and that way the marks lead the right way.
		 */
		if (left)
			err = f2_extent_next_leaf(h, old_end, &e);
		else
			err = ext2fs_extent_get(h, EXT2_EXTENT_PREV_LEAF, &e);
	}
	ext2fs_extent_free(h);
	if (err == EXT2_ET_EXTENT_NO_NEXT || err == EXT2_ET_EXTENT_NO_PREV ||
	    err == EXT2_ET_EXTENT_NO_DOWN)
		return 0;
	return err;
}

/*
 * Before an insert at lblk: split the extent that crosses it, so that
 * everything from lblk on starts an extent of its own (this may need a
 * tree block: ENOSPC on a full disk), and check that the last extent
 * still ends inside the file's block limit once moved by blocks.
 */
static errcode_t split_at(ext2_filsys fs, ext2_ino_t ino,
			  struct ext2_inode_large *inode, blk64_t lblk,
			  blk64_t by)
{
	struct ext2fs_extent e, tail;
	ext2_extent_handle_t h;
	errcode_t err;

	err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return err;
	err = last_leaf(h, &e);
	if (err == EXT2_ET_EXTENT_NO_NEXT || err == EXT2_ET_EXTENT_NO_DOWN) {
		/* No extents at all: nothing to move */
		err = 0;
		goto out;
	}
	if (err)
		goto out;
	if (e.e_lblk + e.e_len > F2_MAX_LBLK - by) {
		err = EXT2_ET_FILE_TOO_BIG;
		goto out;
	}
	err = ext2fs_extent_goto2(h, 0, lblk);
	if (err == EXT2_ET_EXTENT_NOT_FOUND) {
		/* lblk is in a hole */
		err = 0;
		goto out;
	}
	if (err)
		goto out;
	err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e);
	if (err || e.e_lblk == lblk)
		goto out;
	tail = e;
	tail.e_lblk = lblk;
	tail.e_pblk += lblk - e.e_lblk;
	tail.e_len -= lblk - e.e_lblk;
	e.e_len = lblk - e.e_lblk;
	err = ext2fs_extent_replace(h, 0, &e);
	if (!err)
		err = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER, &tail);
out:
	ext2fs_extent_free(h);
	return err;
}

static int check_aligned(ext2_filsys fs, uint64_t off, uint64_t len)
{
	return (off | len) % fs->blocksize ? EINVAL : 0;
}

int f2_collapse_range(struct fuse2fs *f2, ext2_ino_t ino,
		      struct ext2_inode_large *inode, uint64_t off,
		      uint64_t len)
{
	ext2_filsys fs = f2->fs;
	uint64_t size = EXT2_I_SIZE(inode);
	blk64_t start = off / fs->blocksize, stop = (off + len) / fs->blocksize;
	errcode_t err;

	if (check_aligned(fs, off, len))
		return EINVAL;
	if (off + len >= size)
		return EINVAL;
	err = f2_free_range(fs, ino, inode, start, stop, 0);
	if (!err)
		err = shift_extents(fs, ino, inode, stop, stop - start, true);
	if (!err)
		err = ext2fs_inode_size_set(fs, (struct ext2_inode *)inode,
					    size - len);
	if (err)
		return f2_errno(err);
	f2_prealloc_shift(ino, stop, stop - start, true);
	return 0;
}

int f2_insert_range(struct fuse2fs *f2, ext2_ino_t ino,
		    struct ext2_inode_large *inode, uint64_t off, uint64_t len,
		    uint64_t max_bytes)
{
	ext2_filsys fs = f2->fs;
	uint64_t size = EXT2_I_SIZE(inode);
	blk64_t start = off / fs->blocksize, by = len / fs->blocksize;
	errcode_t err;

	if (check_aligned(fs, off, len))
		return EINVAL;
	if (len > max_bytes - size)
		return EFBIG;
	if (off >= size)
		return EINVAL;
	err = split_at(fs, ino, inode, start, by);
	if (!err)
		err = shift_extents(fs, ino, inode, start, by, false);
	if (!err)
		err = ext2fs_inode_size_set(fs, (struct ext2_inode *)inode,
					    size + len);
	if (err)
		return err == EXT2_ET_FILE_TOO_BIG ? EFBIG : f2_errno(err);
	f2_prealloc_shift(ino, start, by, false);
	return 0;
}
