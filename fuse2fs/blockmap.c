// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mapped-run walker over extent trees and indirect block maps.
 */
#include "blockmap.h"
#include "iomap.h"

static errcode_t walk_extents(ext2_filsys fs, ext2_ino_t ino,
			      struct ext2_inode_large *inode, blk64_t start,
			      blk64_t end, f2_run_fn fn, void *data)
{
	ext2_extent_handle_t h;
	struct ext2fs_extent ext;
	errcode_t err;

	err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return err;
	/*
	 * goto leaves the handle on the extent holding start, or on a
	 * neighbour when start is in a hole; an empty tree has no current
	 * extent at all.  Either way walking leaves forward from the
	 * current one visits everything at or after start.
	 */
	ext2fs_extent_goto2(h, 0, start);
	err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ext);
	if (err) {
		/* No extents: nothing mapped. */
		err = 0;
		goto out;
	}
	for (;;) {
		blk64_t after = ext.e_lblk;

		if (ext.e_flags & EXT2_EXTENT_FLAGS_LEAF && ext.e_len) {
			blk64_t s = ext.e_lblk, e = ext.e_lblk + ext.e_len;

			after = e;
			if (s > end)
				break;
			if (e > start) {
				if (s < start)
					s = start;
				if (e > end + 1)
					e = end + 1;
				if (fn(s, e - s, ext.e_flags &
				       EXT2_EXTENT_FLAGS_UNINIT, data))
					break;
			}
		}
		/* Counting a run twice would overstate what is mapped. */
		err = f2_extent_next_leaf(h, after, &ext);
		if (err == EXT2_ET_EXTENT_NO_NEXT) {
			err = 0;
			break;
		}
		if (err)
			break;
	}
out:
	ext2fs_extent_free(h);
	return err;
}

struct ind_walk {
	blk64_t start, end;
	blk64_t run_start, run_len;	/* run being merged, len 0: none */
	bool stopped;
	f2_run_fn fn;
	void *data;
};

static int ind_flush(struct ind_walk *w)
{
	int stop = 0;

	if (w->run_len)
		stop = w->fn(w->run_start, w->run_len, false, w->data);
	w->run_len = 0;
	if (stop)
		w->stopped = true;
	return stop;
}

static int ind_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		     blk64_t ref_blk, int ref_offset, void *priv)
{
	struct ind_walk *w = priv;
	blk64_t lblk = (blk64_t)blockcnt;

	if (blockcnt < 0 || !*blocknr || lblk < w->start)
		return 0;
	if (lblk > w->end)
		return BLOCK_ABORT;
	if (w->run_len && w->run_start + w->run_len == lblk) {
		w->run_len++;
		return 0;
	}
	if (ind_flush(w))
		return BLOCK_ABORT;
	w->run_start = lblk;
	w->run_len = 1;
	return 0;
}

errcode_t f2_walk_mapped(ext2_filsys fs, ext2_ino_t ino,
			 struct ext2_inode_large *inode, blk64_t start,
			 blk64_t end, f2_run_fn fn, void *data)
{
	struct ind_walk w = {
		.start = start, .end = end, .fn = fn, .data = data,
	};
	errcode_t err;

	if (start > end || inode->i_flags & EXT4_INLINE_DATA_FL)
		return 0;
	if (inode->i_flags & EXT4_EXTENTS_FL)
		return walk_extents(fs, ino, inode, start, end, fn, data);
	/* Fast symlinks keep their target in i_block: no blocks. */
	if (!ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)inode))
		return 0;
	err = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_DATA_ONLY |
				    BLOCK_FLAG_READ_ONLY, NULL, ind_block, &w);
	if (!err && !w.stopped)
		ind_flush(&w);
	return err;
}
