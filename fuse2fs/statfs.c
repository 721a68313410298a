// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: STATFS, from the superblock's counters as ext4 reports them.
 */
#include <string.h>
#include <sys/statvfs.h>

#include "fuse2fs.h"

void f2_op_statfs(fuse_req_t req, fuse_ino_t nodeid)
{
	struct fuse2fs *f2 = f2_get(req);
	struct ext2_super_block *sb = f2->fs->super;
	struct statvfs st;
	uint64_t free, resv, overhead;

	memset(&st, 0, sizeof(st));
	free = ext2fs_free_blocks_count(sb);
	resv = ext2fs_r_blocks_count(sb);
	/* ext4's default "bsddf": metadata overhead is not counted. */
	overhead = sb->s_overhead_clusters ?
		   (uint64_t)sb->s_overhead_clusters :
		   sb->s_first_data_block;
	st.f_bsize = f2->fs->blocksize;
	st.f_frsize = f2->fs->blocksize;
	st.f_blocks = ext2fs_blocks_count(sb) - overhead;
	st.f_bfree = free;
	st.f_bavail = free > resv ? free - resv : 0;
	st.f_files = sb->s_inodes_count;
	st.f_ffree = sb->s_free_inodes_count;
	st.f_favail = sb->s_free_inodes_count;
	st.f_fsid = 0;
	st.f_namemax = EXT2_NAME_LEN;
	fuse_reply_statfs(req, &st);
}
