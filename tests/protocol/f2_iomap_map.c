// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs's extent-tree code (fuse2fs/iomap_map.c) compiled into
 * test_fuse2fs_map, which drives it on images without a server.
 */
#include "../../fuse2fs/iomap_map.c"

/* Outside the server there are no transactions (fuse2fs/txn.c). */
void f2_block_stats_range(ext2_filsys fs, blk64_t blk, blk64_t num,
			  int inuse)
{
	ext2fs_block_alloc_stats_range(fs, blk, num, inuse);
}
