// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fallocate: preallocation (unwritten extents), FALLOC_FL_KEEP_SIZE,
 * FALLOC_FL_PUNCH_HOLE and FALLOC_FL_ZERO_RANGE, with kernel ext4's rules
 * (FALLOC_FL_COLLAPSE_RANGE and FALLOC_FL_INSERT_RANGE: shift.c):
 *
 * - Inline-data files are first moved out to a block, as ext4 does.
 * - Preallocation, zero-range, collapse and insert need extents;
 *   block-mapped (ext2/ext3) files get EOPNOTSUPP for them, like ext4.
 *   Punching works on both.
 * - Punching stops at the page holding EOF (blocks preallocated further
 *   out stay), partial blocks at either end are zeroed.
 * - Space is checked before anything is allocated, so ENOSPC leaves the
 *   file as it was, except when the extent tree needs more blocks than
 *   were free: then what could be mapped stays, as with ext4.
 * - mtime and ctime change for every mode (ext4's file_modified()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>

#include "fuse2fs.h"
#include "blockmap.h"
#include "iomap.h"

/* Exported by libext2fs 1.47 but missing from its public header. */
errcode_t ext2fs_inline_data_expand(ext2_filsys fs, ext2_ino_t ino);

#define F2_PAGE_SIZE	4096ULL	/* ext4's punch rounds EOF up to a page */

/* The kernel's s_maxbytes for this file's mapping scheme. */
static uint64_t max_bytes(ext2_filsys fs, const struct ext2_inode_large *in)
{
	uint64_t bs = fs->blocksize, a = bs / 4;
	uint64_t blocks;

	if (in->i_flags & EXT4_EXTENTS_FL)
		return ((1ULL << 32) - 1) * bs;
	blocks = EXT2_NDIR_BLOCKS + a + a * a + a * a * a;
	/* i_blocks counts 512-byte sectors in 32 bits without huge_file. */
	if (!ext2fs_has_feature_huge_file(fs->super) &&
	    blocks > ((1ULL << 32) - 1) / (bs / 512))
		blocks = ((1ULL << 32) - 1) / (bs / 512);
	return blocks * bs;
}

static int count_mapped(blk64_t lblk, blk64_t len, bool unwritten,
			void *data)
{
	*(blk64_t *)data += len;
	return 0;
}

/*
 * ENOSPC unless the holes in logical blocks [start, end] fit in the free
 * blocks that are not kept back for conversions (alloc.c).  Extent tree
 * blocks the allocation may need are not counted; libext2fs then fails
 * half way, which still leaves a consistent file.
 */
static int check_space(struct fuse2fs *f2, ext2_ino_t ino,
		       struct ext2_inode_large *inode, blk64_t start,
		       blk64_t end)
{
	blk64_t free = ext2fs_free_blocks_count(f2->fs->super);
	blk64_t mapped = 0;
	errcode_t err;

	err = f2_walk_mapped(f2->fs, ino, inode, start, end, count_mapped,
			     &mapped);
	if (err)
		return f2_errno(err);
	free = free > f2->resv_total ? free - f2->resv_total : 0;
	if (end - start + 1 - mapped > free)
		return ENOSPC;
	return 0;
}

/*
 * Zero bytes [off, off + len) of logical block lblk if it holds written
 * data; holes and unwritten blocks read as zeroes already.
 */
static int zero_partial(struct fuse2fs *f2, ext2_ino_t ino,
			struct ext2_inode_large *inode, blk64_t lblk,
			unsigned int off, unsigned int len)
{
	ext2_filsys fs = f2->fs;
	blk64_t pblk = 0;
	int ret_flags = 0;
	errcode_t err;
	char *buf;

	if (!len)
		return 0;
	err = ext2fs_bmap2(fs, ino, (struct ext2_inode *)inode, NULL, 0, lblk,
			   &ret_flags, &pblk);
	if (err)
		return f2_errno(err);
	if (!pblk || ret_flags & BMAP_RET_UNINIT)
		return 0;
	buf = malloc(fs->blocksize);
	if (!buf)
		return ENOMEM;
	/* The kernel may have written this block straight to the device. */
	if (f2->iomap_active)
		f2_iomap_drop_caches(f2, ino);
	err = io_channel_read_blk64(fs->io, pblk, 1, buf);
	if (!err) {
		memset(buf + off, 0, len);
		err = io_channel_write_blk64(fs->io, pblk, 1, buf);
	}
	free(buf);
	if (!err && f2->iomap_active)
		return f2_iomap_sync_for_kernel(f2);
	return f2_errno(err);
}

/* Zero the parts of [start, end) bytes that only cover part of a block. */
static int zero_edges(struct fuse2fs *f2, ext2_ino_t ino,
		      struct ext2_inode_large *inode, uint64_t start,
		      uint64_t end)
{
	uint64_t bs = f2->fs->blocksize;
	blk64_t first = start / bs, last = (end - 1) / bs;
	int ret;

	if (first == last) {
		if (start % bs == 0 && end % bs == 0)
			return 0;
		return zero_partial(f2, ino, inode, first, start % bs,
				    end - start);
	}
	if (start % bs) {
		ret = zero_partial(f2, ino, inode, first, start % bs,
				   bs - start % bs);
		if (ret)
			return ret;
	}
	if (end % bs)
		return zero_partial(f2, ino, inode, last, 0, end % bs);
	return 0;
}

/*
 * Free the whole blocks inside [start, end) bytes.  Extent files do not
 * use ext2fs_punch(): see f2_free_range() for how 1.47.0's leaks blocks
 * when the range ends at the filesystem's last block.
 */
static int punch_blocks(struct fuse2fs *f2, ext2_ino_t ino,
			struct ext2_inode_large *inode, uint64_t start,
			uint64_t end)
{
	uint64_t bs = f2->fs->blocksize;
	blk64_t first = (start + bs - 1) / bs, stop = end / bs;

	if (stop <= first)
		return 0;
	if (inode->i_flags & EXT4_EXTENTS_FL)
		return f2_errno(f2_free_range(f2->fs, ino, inode, first, stop,
					      0));
	return f2_errno(ext2fs_punch(f2->fs, ino, (struct ext2_inode *)inode,
				     NULL, first, stop - 1));
}

static int do_punch(struct fuse2fs *f2, ext2_ino_t ino,
		    struct ext2_inode_large *inode, uint64_t off, uint64_t len)
{
	uint64_t size = EXT2_I_SIZE(inode), end = off + len;
	uint64_t max = max_bytes(f2->fs, inode);
	int ret;

	if (!(inode->i_flags & EXT4_EXTENTS_FL))
		max -= f2->fs->blocksize;
	if (off >= size || off >= max)
		return 0;
	if (end > size)
		end = (size + F2_PAGE_SIZE - 1) & ~(F2_PAGE_SIZE - 1);
	if (end > max)
		end = max;
	ret = zero_edges(f2, ino, inode, off, end);
	if (ret)
		return ret;
	return punch_blocks(f2, ino, inode, off, end);
}

/*
 * Unwritten extents for the holes in blocks [first, last].  Not
 * ext2fs_fallocate(): when 1.47.0's fails half way (ENOSPC for a tree
 * block the new extent needs), the data blocks it could not map stay
 * marked in use and counted in i_blocks, named by no extent (e2fsck: a
 * block bitmap difference and a wrong i_blocks).  f2_alloc_unwritten()
 * gives those back; what it mapped stays, as with ext4.
 */
static int alloc_unwritten(struct fuse2fs *f2, ext2_ino_t ino,
			   struct ext2_inode_large *inode, blk64_t first,
			   blk64_t last)
{
	return f2_errno(f2_alloc_unwritten(f2->fs, ino, inode, first,
					   last - first + 1, 0));
}

static int do_zero_range(struct fuse2fs *f2, ext2_ino_t ino,
			 struct ext2_inode_large *inode, uint64_t off,
			 uint64_t len)
{
	uint64_t bs = f2->fs->blocksize;
	blk64_t first = off / bs, last = (off + len - 1) / bs;
	int ret;

	ret = check_space(f2, ino, inode, first, last);
	if (ret)
		return ret;
	ret = zero_edges(f2, ino, inode, off, off + len);
	if (ret)
		return ret;
	/* Whole blocks become unwritten: freed, then allocated afresh. */
	ret = punch_blocks(f2, ino, inode, off, off + len);
	if (ret)
		return ret;
	return alloc_unwritten(f2, ino, inode, first, last);
}

static int do_allocate(struct fuse2fs *f2, ext2_ino_t ino,
		       struct ext2_inode_large *inode, uint64_t off,
		       uint64_t len)
{
	uint64_t bs = f2->fs->blocksize;
	blk64_t first = off / bs, last = (off + len - 1) / bs;
	int ret;

	ret = check_space(f2, ino, inode, first, last);
	if (ret)
		return ret;
	return alloc_unwritten(f2, ino, inode, first, last);
}

/* Checks that need the inode; 0 or the errno the kernel would give. */
static int check_inode(const struct ext2_inode_large *inode, int mode)
{
	if (LINUX_S_ISDIR(inode->i_mode))
		return EISDIR;
	if (!LINUX_S_ISREG(inode->i_mode))
		return ENODEV;
	if (inode->i_flags & EXT2_IMMUTABLE_FL)
		return EPERM;
	if (inode->i_flags & EXT2_APPEND_FL && mode & ~FALLOC_FL_KEEP_SIZE)
		return EPERM;
	if (inode->i_flags & (EXT4_ENCRYPT_FL | EXT4_VERITY_FL))
		return EOPNOTSUPP;
	return 0;
}

/* Checks on the arguments alone, in the order vfs_fallocate() makes them. */
static int check_args(int mode, off_t offset, off_t length)
{
	const int known = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE |
			  FALLOC_FL_ZERO_RANGE | FALLOC_FL_COLLAPSE_RANGE |
			  FALLOC_FL_INSERT_RANGE;

	if (offset < 0 || length <= 0)
		return EINVAL;
	if (mode & ~known)
		return EOPNOTSUPP;
	if (mode & FALLOC_FL_PUNCH_HOLE &&
	    (!(mode & FALLOC_FL_KEEP_SIZE) || mode & FALLOC_FL_ZERO_RANGE))
		return EOPNOTSUPP;
	/* Collapse and insert take no other flag (EINVAL before Linux 6.13) */
	if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE) &&
	    mode != FALLOC_FL_COLLAPSE_RANGE && mode != FALLOC_FL_INSERT_RANGE)
		return EOPNOTSUPP;
	if (offset > INT64_MAX - length)
		return EFBIG;
	return 0;
}

static int fallocate_inode(struct fuse2fs *f2, ext2_ino_t ino, int mode,
			   uint64_t off, uint64_t len)
{
	struct ext2_inode_large inode;
	uint64_t end = off + len;
	errcode_t err;
	int ret, ret2;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	ret = check_inode(&inode, mode);
	if (ret)
		return ret;
	if (end > max_bytes(f2->fs, &inode))
		return EFBIG;
	if (inode.i_flags & EXT4_INLINE_DATA_FL) {
		err = ext2fs_inline_data_expand(f2->fs, ino);
		if (err)
			return f2_errno(err);
		/* Out of the inode, the file may now be served by iomap. */
		ret = f2_iomap_mode_changed(f2, ino);
		if (!ret)
			ret = f2_read_inode(f2, ino, &inode);
		if (ret)
			return ret;
	}

	/* Only punching works on block-mapped files. */
	if (!(mode & FALLOC_FL_PUNCH_HOLE) &&
	    !(inode.i_flags & EXT4_EXTENTS_FL))
		return EOPNOTSUPP;
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		ret = do_punch(f2, ino, &inode, off, len);
	} else if (mode & FALLOC_FL_COLLAPSE_RANGE) {
		ret = f2_collapse_range(f2, ino, &inode, off, len);
	} else if (mode & FALLOC_FL_INSERT_RANGE) {
		ret = f2_insert_range(f2, ino, &inode, off, len,
				      max_bytes(f2->fs, &inode));
	} else {
		if (mode & FALLOC_FL_ZERO_RANGE)
			ret = do_zero_range(f2, ino, &inode, off, len);
		else
			ret = do_allocate(f2, ino, &inode, off, len);
		if (!ret && !(mode & FALLOC_FL_KEEP_SIZE) &&
		    end > EXT2_I_SIZE(&inode)) {
			err = ext2fs_inode_size_set(f2->fs,
					(struct ext2_inode *)&inode, end);
			ret = f2_errno(err);
		}
	}
	/*
	 * Written even after a failure: libext2fs may have changed the
	 * block count and extent root in our copy before giving up.
	 */
	if (!ret)
		f2_touch(&inode, F2_MTIME | F2_CTIME);
	ret2 = f2_write_inode(f2, ino, &inode);
	return ret ? ret : ret2;
}

void f2_op_fallocate(fuse_req_t req, fuse_ino_t nodeid, int mode,
		     off_t offset, off_t length, struct fuse_file_info *fi)
{
	struct fuse2fs *f2 = f2_get(req);
	int ret;

	ret = check_args(mode, offset, length);
	if (!ret && f2->ro)
		ret = EROFS;
	if (!ret) {
		/* Tree, bitmaps and inode change together or not at all. */
		f2_txn_begin();
		ret = f2_txn_end(fallocate_inode(f2, f2_ino(nodeid), mode,
						 offset, length));
	}
	fuse_reply_err(req, ret);
}
