// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extent-tree work behind FUSE_IOMAP_BEGIN and FUSE_IOMAP_IOEND: find the
 * longest run at a logical block, allocate unwritten extents, convert them
 * to written.  Everything is in filesystem blocks; iomap_ops.c converts to
 * bytes.  The inode passed in is the caller's copy: libext2fs's extent
 * handle edits its extent root and i_blocks in place (and writes the small
 * inode when the root changes); the caller writes the full inode last.
 */
#include <errno.h>
#include <string.h>

#include "iomap.h"

static int run_type(const struct ext2fs_extent *e)
{
	return (e->e_flags & EXT2_EXTENT_FLAGS_UNINIT) ?
		FUSE_IOMAP_TYPE_UNWRITTEN : FUSE_IOMAP_TYPE_MAPPED;
}

errcode_t f2_extent_next_leaf(ext2_extent_handle_t h, blk64_t after,
			       struct ext2fs_extent *e)
{
	errcode_t err;

	do {
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, e);
	} while (!err && e->e_lblk < after);
	return err;
}

/*
 * Position the handle on the leaf extent containing lblk or, when lblk is
 * in a hole, find the first extent after it.  Returns 0 with *e the extent
 * holding lblk, EXT2_ET_EXTENT_NOT_FOUND with *e the next extent (e_len 0
 * when there is none), or an error.
 */
static errcode_t find_extent(ext2_extent_handle_t h, blk64_t lblk,
			     struct ext2fs_extent *e)
{
	struct ext2fs_extent next;
	errcode_t err;

	err = ext2fs_extent_goto2(h, 0, lblk);
	if (!err)
		return ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, e);
	if (err != EXT2_ET_EXTENT_NOT_FOUND)
		goto none_or_err;

	/* goto left us on the extent before lblk, or after it if none. */
	err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, e);
	if (err)
		goto none_or_err;
	if (!(e->e_flags & EXT2_EXTENT_FLAGS_LEAF) || e->e_lblk <= lblk) {
		err = f2_extent_next_leaf(h, lblk + 1, &next);
		if (err)
			goto none_or_err;
		*e = next;
	}
	return EXT2_ET_EXTENT_NOT_FOUND;

none_or_err:
	if (err && err != EXT2_ET_EXTENT_NOT_FOUND &&
	    err != EXT2_ET_EXTENT_NO_NEXT && err != EXT2_ET_NO_CURRENT_NODE &&
	    err != EXT2_ET_EXTENT_NO_DOWN)
		return err;
	e->e_lblk = F2_MAX_LBLK;
	e->e_len = 0;
	e->e_pblk = 0;
	e->e_flags = 0;
	return EXT2_ET_EXTENT_NOT_FOUND;
}

static errcode_t map_run(ext2_extent_handle_t h, blk64_t lblk, blk64_t end,
			 struct f2_run *run)
{
	struct ext2fs_extent e, next;
	unsigned int glued;
	errcode_t err;

	run->lblk = lblk;
	err = find_extent(h, lblk, &e);
	if (err == EXT2_ET_EXTENT_NOT_FOUND) {
		run->type = FUSE_IOMAP_TYPE_HOLE;
		run->pblk = 0;
		run->len = (e.e_lblk < end ? e.e_lblk : end) - lblk;
		return 0;
	}
	if (err)
		return err;

	run->type = run_type(&e);
	run->pblk = e.e_pblk + (lblk - e.e_lblk);
	run->len = e.e_lblk + e.e_len - lblk;

	/*
	 * Extents are at most 32768 blocks: glue contiguous neighbours, up
	 * to a bound that keeps one BEGIN cheap on huge files.
	 */
	for (glued = 0; run->lblk + run->len < end && glued < F2_MAX_GLUE;
	     glued++) {
		err = f2_extent_next_leaf(h, run->lblk + run->len, &next);
		if (err || next.e_lblk != run->lblk + run->len ||
		    next.e_pblk != run->pblk + run->len ||
		    run_type(&next) != run->type)
			break;
		run->len += next.e_len;
	}
	if (run->lblk + run->len > end)
		run->len = end - run->lblk;
	return 0;
}

errcode_t f2_map_run(ext2_filsys fs, ext2_ino_t ino,
		     struct ext2_inode_large *inode, blk64_t lblk,
		     blk64_t end, struct f2_run *run)
{
	ext2_extent_handle_t h;
	errcode_t err;

	if (lblk >= end || end > F2_MAX_LBLK)
		return EXT2_ET_INVALID_ARGUMENT;
	err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return err;
	err = map_run(h, lblk, end, run);
	ext2fs_extent_free(h);
	return err;
}

/*
 * Map the fresh blocks [pblk, pblk + n) at [lblk, lblk + n), which is a
 * hole, as unwritten.  set_bmap places a block (inserting it or merging
 * it into a neighbour); the rest of the run then only lengthens that
 * extent.  One tree write per run instead of one per block matters: with
 * metadata_csum every write of a leaf checksums the whole block.  *done
 * counts the blocks mapped, also on error.
 */
static errcode_t map_fresh_run(ext2_extent_handle_t h, blk64_t lblk,
			       blk64_t pblk, blk64_t n, blk64_t *done)
{
	struct ext2fs_extent e;
	blk64_t grow;
	errcode_t err;

	while (*done < n) {
		err = ext2fs_extent_set_bmap(h, lblk + *done, pblk + *done,
					     EXT2_EXTENT_SET_BMAP_UNINIT);
		if (err)
			return err;
		(*done)++;
		err = ext2fs_extent_goto2(h, 0, lblk + *done - 1);
		if (!err)
			err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &e);
		if (err)
			return err;
		/*
		 * Grow only an unwritten extent that ends at the block just
		 * mapped, physically too; what follows it up to lblk + n is
		 * still the hole.
		 */
		if (!(e.e_flags & EXT2_EXTENT_FLAGS_UNINIT) ||
		    e.e_lblk + e.e_len != lblk + *done ||
		    e.e_pblk + e.e_len != pblk + *done)
			continue;
		grow = n - *done;
		if (grow > EXT_UNINIT_MAX_LEN - e.e_len)
			grow = EXT_UNINIT_MAX_LEN - e.e_len;
		if (!grow)
			continue;
		e.e_len += grow;
		err = ext2fs_extent_replace(h, 0, &e);
		if (err)
			return err;
		*done += grow;
	}
	return 0;
}

/*
 * Give the holes in [lblk, end) of an extent file freshly allocated,
 * unwritten blocks.  Not ext2fs_fallocate(): in 1.47.0 a range that
 * starts before the file's first extent is filled all the way up to that
 * extent, so one small write below a far block allocated the whole gap.
 */
static errcode_t alloc_holes(ext2_filsys fs, ext2_ino_t ino,
			     struct ext2_inode_large *inode, blk64_t lblk,
			     blk64_t end, bool contiguous)
{
	ext2_extent_handle_t h = NULL;
	blk64_t pblk, plen, goal, done;
	struct f2_run run;
	errcode_t err = 0;

	while (lblk < end) {
		err = f2_map_run(fs, ino, inode, lblk, end, &run);
		if (!err && !run.len)
			err = EXT2_ET_FILESYSTEM_CORRUPTED;
		if (err)
			break;
		if (run.type != FUSE_IOMAP_TYPE_HOLE) {
			lblk += run.len;
			continue;
		}
		goal = ext2fs_find_inode_goal(fs, ino, (struct ext2_inode *)inode,
					      lblk);
		/*
		 * A large hole wanted in one piece: the first free run that
		 * holds all of it, if there is one (every physical break is
		 * one more mapping, so one more BEGIN for the kernel).
		 */
		err = EXT2_ET_BLOCK_ALLOC_FAIL;
		if (contiguous)
			err = ext2fs_new_range(fs, EXT2_NEWRANGE_MIN_LENGTH,
					       goal, run.len, NULL, &pblk,
					       &plen);
		if (err == EXT2_ET_BLOCK_ALLOC_FAIL)
			err = ext2fs_new_range(fs, 0, goal, run.len, NULL,
					       &pblk, &plen);
		if (err)
			break;
		if (plen > run.len)
			plen = run.len;
		f2_block_stats_range(fs, pblk, plen, 1);
		err = ext2fs_iblk_add_blocks(fs, (struct ext2_inode *)inode,
					     plen);
		if (!err)
			err = ext2fs_extent_open2(fs, ino,
						  (struct ext2_inode *)inode, &h);
		done = 0;
		if (!err)
			err = map_fresh_run(h, lblk, pblk, plen, &done);
		if (h)
			ext2fs_extent_free(h);
		h = NULL;
		if (err) {
			/* Unmapped blocks go back; mapped ones stay the file's. */
			f2_block_stats_range(fs, pblk + done,
						       plen - done, -1);
			ext2fs_iblk_sub_blocks(fs, (struct ext2_inode *)inode,
					       plen - done);
			break;
		}
		lblk += plen;
	}
	return err;
}

errcode_t f2_alloc_holes(ext2_filsys fs, ext2_ino_t ino,
			 struct ext2_inode_large *inode, blk64_t lblk,
			 blk64_t end)
{
	return alloc_holes(fs, ino, inode, lblk, end, false);
}

errcode_t f2_alloc_unwritten(ext2_filsys fs, ext2_ino_t ino,
			     struct ext2_inode_large *inode, blk64_t lblk,
			     blk64_t len, unsigned int flags)
{
	if (!len || lblk + len > F2_MAX_LBLK)
		return EXT2_ET_INVALID_ARGUMENT;
	/*
	 * Not ext2fs_fallocate(): on ENOSPC in 1.47.0 it can leave blocks
	 * marked in the bitmap that no extent names.  alloc_holes() gives
	 * back what it could not map and starts each hole at the inode's
	 * goal, which continues the previous run of a streaming write.
	 */
	return alloc_holes(fs, ino, inode, lblk, lblk + len,
			   flags & F2_ALLOC_CONTIGUOUS);
}

/*
 * Take [from, from + n) out of *e, the handle's current extent, where
 * that range is its whole, its head or its tail, then free those blocks:
 * the tree no longer names them.
 */
static errcode_t cut_extent(ext2_filsys fs, ext2_extent_handle_t h,
			    struct ext2_inode *raw, struct ext2fs_extent *e,
			    blk64_t from, blk64_t n)
{
	blk64_t pblk = e->e_pblk + (from - e->e_lblk);
	errcode_t err;

	if (n == e->e_len) {
		err = ext2fs_extent_delete(h, 0);
	} else {
		if (from == e->e_lblk) {
			e->e_lblk += n;
			e->e_pblk += n;
		}
		e->e_len -= n;
		err = ext2fs_extent_replace(h, 0, e);
	}
	if (err)
		return err;
	f2_block_stats_range(fs, pblk, n, -1);
	err = ext2fs_iblk_sub_blocks(fs, raw, n);
	if (err)
		return err;
	/* A leaf's first key may have moved; an emptied tree has none. */
	err = ext2fs_extent_fix_parents(h);
	return err == EXT2_ET_NO_CURRENT_NODE ? 0 : err;
}

/*
 * Take [from, to) out of the middle of *e, the handle's current extent:
 * *e shrinks to the part before from and the part from to on is inserted
 * after it.  The insert needs a tree block when the leaf (or the inode)
 * is full; the middle goes back to the allocator before it, so that on a
 * full disk that block can be one of them, as ext4 takes one from its
 * reserve and succeeds.  When the insert fails, *e is put back whole and
 * its middle marked in use again.  Only if the failed insert kept one of
 * those blocks (never on ENOSPC) can that not be done; then the tail is
 * freed as well, losing its data but leaving no block both free and
 * named or in use and named by nothing.
 */
static errcode_t cut_middle(ext2_filsys fs, ext2_extent_handle_t h,
			    struct ext2_inode *raw,
			    const struct ext2fs_extent *e, blk64_t from,
			    blk64_t to)
{
	struct ext2fs_extent head = *e, tail = *e, back = *e;
	blk64_t n = to - from, mid = e->e_pblk + (from - e->e_lblk);
	errcode_t err, err2;

	head.e_len = from - e->e_lblk;
	tail.e_lblk = to;
	tail.e_pblk = mid + n;
	tail.e_len = e->e_lblk + e->e_len - to;
	err = ext2fs_extent_replace(h, 0, &head);
	if (err)
		return err;
	f2_block_stats_range(fs, mid, n, -1);
	err = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER, &tail);
	if (!err) {
		err = ext2fs_iblk_sub_blocks(fs, raw, n);
		return err ? err : ext2fs_extent_fix_parents(h);
	}
	if (ext2fs_test_block_bitmap_range2(fs->block_map, mid, n)) {
		f2_block_stats_range(fs, mid, n, 1);
		if (!ext2fs_extent_goto2(h, 0, e->e_lblk))
			ext2fs_extent_replace(h, 0, &back);
		return err;
	}
	f2_block_stats_range(fs, tail.e_pblk, tail.e_len, -1);
	err2 = ext2fs_iblk_sub_blocks(fs, raw, n + tail.e_len);
	return err ? err : err2;
}

/*
 * Not ext2fs_punch(): 1.47.0's takes an extent out of the tree and then
 * refuses to free a range that ends at the filesystem's last block (which
 * is where the last file written on a full disk ends), so the blocks
 * stayed marked in the bitmap and counted in i_blocks with no extent
 * naming them.  Here the tree changes first and blocks are freed only
 * once it no longer names them, so a failure can only keep blocks the
 * file still maps.  Leaf and index blocks the deletes empty are freed by
 * libext2fs's ext2fs_extent_delete().
 */
errcode_t f2_free_range(ext2_filsys fs, ext2_ino_t ino,
			struct ext2_inode_large *inode, blk64_t lblk,
			blk64_t end, unsigned int flags)
{
	struct ext2_inode *raw = (struct ext2_inode *)inode;
	bool only_unwritten = flags & F2_FREE_UNWRITTEN_ONLY;
	blk64_t e_end, from, to;
	ext2_extent_handle_t h;
	struct ext2fs_extent e;
	bool middle;
	errcode_t err;

	if (lblk >= end)
		return 0;
	if (end > F2_MAX_LBLK || flags & ~F2_FREE_UNWRITTEN_ONLY)
		return EXT2_ET_INVALID_ARGUMENT;
	err = ext2fs_extent_open2(fs, ino, raw, &h);
	if (err)
		return err;
	while (lblk < end) {
		err = find_extent(h, lblk, &e);
		if (err == EXT2_ET_EXTENT_NOT_FOUND) {
			err = 0;
			if (!e.e_len || e.e_lblk >= end)
				break;
			lblk = e.e_lblk;
			continue;
		}
		if (err)
			break;
		e_end = e.e_lblk + e.e_len;
		from = lblk > e.e_lblk ? lblk : e.e_lblk;
		to = end < e_end ? end : e_end;
		middle = from > e.e_lblk && to < e_end;
		if (only_unwritten &&
		    (!(e.e_flags & EXT2_EXTENT_FLAGS_UNINIT) || middle)) {
			lblk = e_end;
			continue;
		}
		if (middle)
			err = cut_middle(fs, h, raw, &e, from, to);
		else
			err = cut_extent(fs, h, raw, &e, from, to - from);
		if (err)
			break;
		lblk = to;
	}
	ext2fs_extent_free(h);
	return err;
}

errcode_t f2_free_unwritten(ext2_filsys fs, ext2_ino_t ino,
			    struct ext2_inode_large *inode, blk64_t lblk,
			    blk64_t end)
{
	return f2_free_range(fs, ino, inode, lblk, end,
			     F2_FREE_UNWRITTEN_ONLY);
}

static bool mergeable(const struct ext2fs_extent *a,
		      const struct ext2fs_extent *b)
{
	return !(a->e_flags & EXT2_EXTENT_FLAGS_UNINIT) &&
	       !(b->e_flags & EXT2_EXTENT_FLAGS_UNINIT) &&
	       a->e_lblk + a->e_len == b->e_lblk &&
	       a->e_pblk + a->e_len == b->e_pblk &&
	       (blk64_t)a->e_len + b->e_len <= EXT_INIT_MAX_LEN;
}

/*
 * The handle is on the written extent *cur.  Fold it into its left
 * sibling and its right sibling in the same leaf when they are written
 * and contiguous; deleting a non-first entry never changes the leaf's
 * first key, so the index above stays right.  Keeps the tree from
 * growing one extent per IOEND during a streaming write.
 */
static errcode_t merge_neighbours(ext2_extent_handle_t h,
				  struct ext2fs_extent cur)
{
	struct ext2_extent_info info;
	struct ext2fs_extent other;
	errcode_t err;

	err = ext2fs_extent_get_info(h, &info);
	if (err)
		return err;
	if (info.curr_entry < info.num_entries) {
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_SIB, &other);
		if (err)
			return err;
		if (mergeable(&cur, &other)) {
			err = ext2fs_extent_delete(h, 0);
			if (err)
				return err;
			err = ext2fs_extent_goto2(h, 0, cur.e_lblk);
			if (err)
				return err;
			cur.e_len += other.e_len;
			err = ext2fs_extent_replace(h, 0, &cur);
			if (err)
				return err;
		} else {
			err = ext2fs_extent_get(h, EXT2_EXTENT_PREV_SIB,
						&other);
			if (err)
				return err;
		}
		err = ext2fs_extent_get_info(h, &info);
		if (err)
			return err;
	}
	if (info.curr_entry > 1) {
		err = ext2fs_extent_get(h, EXT2_EXTENT_PREV_SIB, &other);
		if (err)
			return err;
		if (mergeable(&other, &cur)) {
			other.e_len += cur.e_len;
			err = ext2fs_extent_replace(h, 0, &other);
			if (err)
				return err;
			err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_SIB, &cur);
			if (err)
				return err;
			err = ext2fs_extent_delete(h, 0);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * Replace the current extent, whole, by head and insert tail right after
 * it.  The insert needs a new tree block when the leaf is full; if that
 * fails (ENOSPC on a full disk), put whole back so that no block drops
 * out of the tree while still counted in the bitmaps and i_blocks.
 */
static errcode_t split_extent(ext2_extent_handle_t h,
			      const struct ext2fs_extent *whole,
			      struct ext2fs_extent *head,
			      struct ext2fs_extent *tail)
{
	struct ext2fs_extent back = *whole;
	errcode_t err;

	err = ext2fs_extent_replace(h, 0, head);
	if (err)
		return err;
	err = ext2fs_extent_insert(h, EXT2_EXTENT_INSERT_AFTER, tail);
	if (err) {
		if (!ext2fs_extent_goto2(h, 0, whole->e_lblk))
			ext2fs_extent_replace(h, 0, &back);
		return err;
	}
	return ext2fs_extent_fix_parents(h);
}

/*
 * Neighbour of the current extent in the same leaf (dir is PREV_SIB or
 * NEXT_SIB), or EXT2_ET_EXTENT_NOT_FOUND when the current extent is the
 * leaf's first or last.  Like ext4, a neighbour in another leaf is never
 * looked at: changing it would mean fixing the index keys above it.
 */
static errcode_t leaf_sibling(ext2_extent_handle_t h, int dir,
			      struct ext2fs_extent *sib)
{
	struct ext2_extent_info info;
	errcode_t err;

	err = ext2fs_extent_get_info(h, &info);
	if (err)
		return err;
	if (dir == EXT2_EXTENT_PREV_SIB ? info.curr_entry <= 1 :
	    info.curr_entry >= info.num_entries)
		return EXT2_ET_EXTENT_NOT_FOUND;
	return ext2fs_extent_get(h, dir, sib);
}

/*
 * The handle is on the unwritten extent *e and [e_lblk, e_lblk + n), a
 * part of it, was written.  When the written extent just left of it in
 * the leaf ends where *e starts, logically and physically, move the
 * boundary: the left extent grows by n and *e starts n blocks later.
 * The extent count stays the same, where a split would add one extent
 * and, with a full leaf, an index block ext4 never needs.  *e is not
 * the first in its leaf, so its new start needs no index update.
 * Returns 0 when done, EXT2_ET_EXTENT_NOT_FOUND with the handle back on
 * *e when the blocks cannot move.
 */
static errcode_t give_head_left(ext2_extent_handle_t h,
				struct ext2fs_extent *e, blk64_t n)
{
	struct ext2fs_extent left, moved;
	errcode_t err;

	err = leaf_sibling(h, EXT2_EXTENT_PREV_SIB, &left);
	if (err)
		return err;
	moved = *e;
	moved.e_len = n;
	moved.e_flags &= ~EXT2_EXTENT_FLAGS_UNINIT;
	if (!mergeable(&left, &moved)) {
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_SIB, &left);
		return err ? err : EXT2_ET_EXTENT_NOT_FOUND;
	}
	left.e_len += n;
	err = ext2fs_extent_replace(h, 0, &left);
	if (err)
		return err;
	err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_SIB, &moved);
	if (err)
		return err;
	e->e_lblk += n;
	e->e_pblk += n;
	e->e_len -= n;
	return ext2fs_extent_replace(h, 0, e);
}

/*
 * The mirror image: the last n blocks of the unwritten extent *e were
 * written and the written extent right of it in the leaf starts where
 * *e ends; that extent starts n blocks earlier and *e shrinks.  The
 * right extent is not the first in its leaf either.
 */
static errcode_t give_tail_right(ext2_extent_handle_t h,
				 struct ext2fs_extent *e, blk64_t n)
{
	struct ext2fs_extent right, moved;
	errcode_t err;

	err = leaf_sibling(h, EXT2_EXTENT_NEXT_SIB, &right);
	if (err)
		return err;
	moved = *e;
	moved.e_lblk += e->e_len - n;
	moved.e_pblk += e->e_len - n;
	moved.e_len = n;
	moved.e_flags &= ~EXT2_EXTENT_FLAGS_UNINIT;
	if (!mergeable(&moved, &right)) {
		err = ext2fs_extent_get(h, EXT2_EXTENT_PREV_SIB, &right);
		return err ? err : EXT2_ET_EXTENT_NOT_FOUND;
	}
	right.e_lblk -= n;
	right.e_pblk -= n;
	right.e_len += n;
	err = ext2fs_extent_replace(h, 0, &right);
	if (err)
		return err;
	err = ext2fs_extent_get(h, EXT2_EXTENT_PREV_SIB, &moved);
	if (err)
		return err;
	e->e_len -= n;
	return ext2fs_extent_replace(h, 0, e);
}

/*
 * Convert [lblk, end) of the unwritten extent *e, the handle's current
 * extent, which holds lblk.  Every step leaves the tree with no more
 * extents than the layout it ends with, so a conversion never grows the
 * tree (a leaf split, a deeper tree, an index block charged to
 * i_blocks) only to shrink the extent count right after:
 *  - the whole extent: flip the flag, then merge with written neighbours;
 *  - its start or its end next to a contiguous written extent: move the
 *    boundary (no new extent);
 *  - its start or its end otherwise: split in two;
 *  - its middle: split in three, the same count as the result.
 * Returns the first block after the converted part.
 */
static errcode_t convert_unwritten(ext2_extent_handle_t h,
				   struct ext2fs_extent e, blk64_t lblk,
				   blk64_t end, blk64_t *next)
{
	struct ext2fs_extent head, tail;
	blk64_t e_end = e.e_lblk + e.e_len;
	errcode_t err;

	if (end > e_end)
		end = e_end;
	*next = end;
	if (lblk == e.e_lblk && end == e_end) {
		e.e_flags &= ~EXT2_EXTENT_FLAGS_UNINIT;
		err = ext2fs_extent_replace(h, 0, &e);
		if (err)
			return err;
		return merge_neighbours(h, e);
	}
	if (lblk == e.e_lblk) {
		err = give_head_left(h, &e, end - lblk);
		if (err != EXT2_ET_EXTENT_NOT_FOUND)
			return err;
	} else if (end == e_end) {
		err = give_tail_right(h, &e, end - lblk);
		if (err != EXT2_ET_EXTENT_NOT_FOUND)
			return err;
	}

	head = e;
	tail = e;
	if (lblk > e.e_lblk) {
		/* Keep the part before lblk unwritten. */
		head.e_len = lblk - e.e_lblk;
		tail.e_lblk = lblk;
		tail.e_pblk = e.e_pblk + head.e_len;
		tail.e_len = e.e_len - head.e_len;
		if (end == e_end)
			tail.e_flags &= ~EXT2_EXTENT_FLAGS_UNINIT;
		err = split_extent(h, &e, &head, &tail);
		if (err || end == e_end)
			return err;
		/* The middle: its start is now the tail's start. */
		err = ext2fs_extent_goto2(h, 0, lblk);
		if (err)
			return err;
		head = tail;
		e = tail;
	}
	/* Keep the part after end unwritten. */
	head.e_len = end - head.e_lblk;
	head.e_flags &= ~EXT2_EXTENT_FLAGS_UNINIT;
	tail.e_lblk = end;
	tail.e_pblk = e.e_pblk + (end - e.e_lblk);
	tail.e_len = e_end - end;
	tail.e_flags = e.e_flags;
	return split_extent(h, &e, &head, &tail);
}

static errcode_t convert_range(ext2_extent_handle_t h, blk64_t lblk,
			       blk64_t end)
{
	struct ext2fs_extent e;
	errcode_t err;

	while (lblk < end) {
		err = find_extent(h, lblk, &e);
		if (err == EXT2_ET_EXTENT_NOT_FOUND) {
			/* A hole: nothing to convert until the next extent. */
			if (!e.e_len || e.e_lblk >= end)
				return 0;
			lblk = e.e_lblk;
			continue;
		}
		if (err)
			return err;
		if (!(e.e_flags & EXT2_EXTENT_FLAGS_UNINIT)) {
			lblk = e.e_lblk + e.e_len;
			continue;
		}
		err = convert_unwritten(h, e, lblk, end, &lblk);
		if (err)
			return err;
	}
	return 0;
}

/*
 * ext4 moves a depth-1 tree whose root points at one leaf back into the
 * inode when that leaf's extents fit in the inode's slots, and frees the
 * leaf block (ext4_ext_try_to_merge_up, tried after conversions).  Doing
 * the same keeps the tree shape and i_blocks equal to ext4's once the
 * pieces of a fragmented preallocation are written back together.  Runs
 * with no extent handle open: it edits inode->i_block directly and, as
 * the handle does when it changes the root, writes the small inode.
 */
static errcode_t collapse_into_inode(ext2_filsys fs, ext2_ino_t ino,
				     struct ext2_inode_large *inode)
{
	struct ext3_extent_header *root, *leaf;
	struct ext3_extent_idx *idx;
	unsigned int n, slots;
	errcode_t err;
	blk64_t blk;
	char *buf;

	root = (struct ext3_extent_header *)inode->i_block;
	if (ext2fs_le16_to_cpu(root->eh_magic) != EXT3_EXT_MAGIC ||
	    ext2fs_le16_to_cpu(root->eh_depth) != 1 ||
	    ext2fs_le16_to_cpu(root->eh_entries) != 1)
		return 0;
	slots = (sizeof(inode->i_block) - sizeof(*root)) /
		sizeof(struct ext3_extent);
	idx = EXT_FIRST_INDEX(root);
	blk = ext2fs_le32_to_cpu(idx->ei_leaf) |
	      (blk64_t)ext2fs_le16_to_cpu(idx->ei_leaf_hi) << 32;

	err = ext2fs_get_mem(fs->blocksize, &buf);
	if (err)
		return err;
	err = io_channel_read_blk64(fs->io, blk, 1, buf);
	if (err)
		goto out;
	leaf = (struct ext3_extent_header *)buf;
	n = ext2fs_le16_to_cpu(leaf->eh_entries);
	if (ext2fs_le16_to_cpu(leaf->eh_magic) != EXT3_EXT_MAGIC ||
	    leaf->eh_depth) {
		err = EXT2_ET_EXTENT_HEADER_BAD;
		goto out;
	}
	if (!n || n > slots)
		goto out;
	memcpy(EXT_FIRST_EXTENT(root), EXT_FIRST_EXTENT(leaf),
	       n * sizeof(struct ext3_extent));
	root->eh_entries = leaf->eh_entries;
	root->eh_depth = 0;
	ext2fs_block_alloc_stats2(fs, blk, -1);
	err = ext2fs_iblk_sub_blocks(fs, (struct ext2_inode *)inode, 1);
	if (!err)
		err = ext2fs_write_inode(fs, ino, (struct ext2_inode *)inode);
out:
	ext2fs_free_mem(&buf);
	return err;
}

errcode_t f2_convert_written(ext2_filsys fs, ext2_ino_t ino,
			     struct ext2_inode_large *inode, blk64_t lblk,
			     blk64_t end)
{
	ext2_extent_handle_t h;
	errcode_t err;

	if (lblk >= end)
		return 0;
	if (end > F2_MAX_LBLK)
		return EXT2_ET_INVALID_ARGUMENT;
	err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return err;
	err = convert_range(h, lblk, end);
	ext2fs_extent_free(h);
	if (err)
		return err;
	return collapse_into_inode(fs, ino, inode);
}
