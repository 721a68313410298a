/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Walking the mapped blocks of a file, extent-mapped or block-mapped
 * (ext2/ext3 indirect blocks), for fallocate.c and seek.c.
 */
#ifndef FUSE2FS_BLOCKMAP_H
#define FUSE2FS_BLOCKMAP_H

#include "fuse2fs.h"

/*
 * Called for each mapped run of logical blocks [lblk, lblk + len), clipped
 * to the walked range, in increasing order.  unwritten: an uninitialized
 * extent (reads as zeroes).  Return nonzero to stop the walk.
 */
typedef int (*f2_run_fn)(blk64_t lblk, blk64_t len, bool unwritten,
			 void *data);

/*
 * Walk the mapped runs of ino within logical blocks [start, end].  inode
 * is the caller's current copy (extent files are read through it).  Files
 * with inline data have no blocks: nothing is reported.
 */
errcode_t f2_walk_mapped(ext2_filsys fs, ext2_ino_t ino,
			 struct ext2_inode_large *inode, blk64_t start,
			 blk64_t end, f2_run_fn fn, void *data);

/*
 * chattr +e/-e (migrate.c): convert *inode (not written) to extents or
 * back to a block map, with ext4's limits; 0 or a positive errno
 * (EINVAL without the extents feature, EOPNOTSUPP for a file a block map
 * cannot describe, ENOSPC).  On failure *inode and the file are as before.
 */
int f2_migrate_extents(struct fuse2fs *f2, ext2_ino_t ino,
		       struct ext2_inode_large *inode, bool extents);

/*
 * FALLOC_FL_COLLAPSE_RANGE / FALLOC_FL_INSERT_RANGE of [off, off + len)
 * on the extent file ino (shift.c): 0 or a positive errno; *inode is
 * updated (extent root, i_blocks, size), not written.  Run inside a
 * transaction: a failure half way leaves blocks for txn.c to undo.
 * max_bytes: the file's size limit.
 */
int f2_collapse_range(struct fuse2fs *f2, ext2_ino_t ino,
		      struct ext2_inode_large *inode, uint64_t off,
		      uint64_t len);
int f2_insert_range(struct fuse2fs *f2, ext2_ino_t ino,
		    struct ext2_inode_large *inode, uint64_t off, uint64_t len,
		    uint64_t max_bytes);

#endif /* FUSE2FS_BLOCKMAP_H */
