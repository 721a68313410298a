// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: data IO in whole runs of blocks.
 *
 * ext2_file_t moves one block per call; a 1 MiB request is then hundreds
 * of block-map lookups and pread()s.  Here a request is cut into runs
 * (physically contiguous extents, holes, unwritten extents) and each run
 * is one io_channel call, which the unix IO manager turns into one
 * pread/pwrite for anything larger than its small cache.
 *
 * Writes to extent files first give the holes of the range unwritten
 * extents, write the data, then mark the range written: a crash in
 * between leaves zeroes, never stale blocks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"
#include "iomap.h"

/* Map [lblk, end) of a block-mapped (ext2/ext3) file, one run at a time. */
static errcode_t f2_bmap_run(ext2_filsys fs, ext2_ino_t ino,
			     struct ext2_inode_large *inode, blk64_t lblk,
			     blk64_t end, struct f2_run *run)
{
	blk64_t pblk, next;
	errcode_t err;

	err = ext2fs_bmap2(fs, ino, (struct ext2_inode *)inode, NULL, 0, lblk,
			   NULL, &pblk);
	if (err)
		return err;
	run->lblk = lblk;
	run->pblk = pblk;
	run->len = 1;
	run->type = pblk ? FUSE_IOMAP_TYPE_MAPPED : FUSE_IOMAP_TYPE_HOLE;
	while (lblk + run->len < end) {
		err = ext2fs_bmap2(fs, ino, (struct ext2_inode *)inode, NULL,
				   0, lblk + run->len, NULL, &next);
		if (err)
			return err;
		if (pblk ? next != pblk + run->len : next != 0)
			break;
		run->len++;
	}
	return 0;
}

static errcode_t f2_next_run(ext2_filsys fs, ext2_ino_t ino,
			     struct ext2_inode_large *inode, blk64_t lblk,
			     blk64_t end, struct f2_run *run)
{
	errcode_t err;

	if (inode->i_flags & EXT4_EXTENTS_FL)
		err = f2_map_run(fs, ino, inode, lblk, end, run);
	else
		err = f2_bmap_run(fs, ino, inode, lblk, end, run);
	if (!err && !run->len)
		err = EXT2_ET_FILESYSTEM_CORRUPTED;
	return err;
}

/*
 * Read whole blocks [lb0, lb1) into buf: mapped runs from the device,
 * holes and unwritten extents as zeroes.
 */
static errcode_t f2_read_blocks(struct fuse2fs *f2, ext2_ino_t ino,
				struct ext2_inode_large *inode, blk64_t lb0,
				blk64_t lb1, char *buf)
{
	ext2_filsys fs = f2->fs;
	struct f2_run run;
	blk64_t lblk = lb0;
	errcode_t err;

	while (lblk < lb1) {
		char *p = buf + (size_t)(lblk - lb0) * fs->blocksize;

		err = f2_next_run(fs, ino, inode, lblk, lb1, &run);
		if (err)
			return err;
		if (run.type == FUSE_IOMAP_TYPE_MAPPED)
			err = io_channel_read_blk64(fs->io, run.pblk,
						    (int)run.len, p);
		else
			memset(p, 0, (size_t)run.len * fs->blocksize);
		if (err)
			return err;
		lblk += run.len;
	}
	return 0;
}

int f2_block_read(struct fuse2fs *f2, ext2_ino_t ino,
		  struct ext2_inode_large *inode, char **bufp, size_t size,
		  off_t off, size_t *skip)
{
	unsigned int bs = f2->fs->blocksize;
	blk64_t lb0 = off / bs, lb1 = (off + size + bs - 1) / bs;
	errcode_t err;
	char *buf;

	buf = malloc((size_t)(lb1 - lb0) * bs);
	if (!buf)
		return ENOMEM;
	err = f2_read_blocks(f2, ino, inode, lb0, lb1, buf);
	if (err) {
		free(buf);
		return f2_errno(err);
	}
	*bufp = buf;
	*skip = off % bs;
	return 0;
}

/*
 * Write [off, off + size) of an extent file.  *inode is updated (blocks,
 * size) and written.
 */
int f2_block_write(struct fuse2fs *f2, ext2_ino_t ino,
		   struct ext2_inode_large *inode, const char *data,
		   size_t size, off_t off)
{
	ext2_filsys fs = f2->fs;
	unsigned int bs = fs->blocksize;
	blk64_t lb0 = off / bs, lb1 = (off + size + bs - 1) / bs, lblk;
	size_t head = off % bs, tail = (off + size) % bs;
	const char *src;
	char *buf = NULL;
	struct f2_run run;
	errcode_t err;

	err = f2_alloc_holes(fs, ino, inode, lb0, lb1);
	if (err)
		goto out_inode;

	if (!head && !tail) {
		/* Block-aligned: write straight from the request. */
		src = data;
	} else {
		buf = malloc((size_t)(lb1 - lb0) * bs);
		if (!buf) {
			err = EXT2_ET_NO_MEMORY;
			goto out_inode;
		}
		/* Partial end blocks keep their data (zeroes if unwritten). */
		if (head)
			err = f2_read_blocks(f2, ino, inode, lb0, lb0 + 1, buf);
		if (!err && tail && (lb1 - 1 != lb0 || !head))
			err = f2_read_blocks(f2, ino, inode, lb1 - 1, lb1,
					     buf + (size_t)(lb1 - 1 - lb0) * bs);
		if (err)
			goto out_buf;
		memcpy(buf + head, data, size);
		src = buf;
	}

	for (lblk = lb0; lblk < lb1; lblk += run.len) {
		err = f2_map_run(fs, ino, inode, lblk, lb1, &run);
		if (!err && (!run.len || run.type == FUSE_IOMAP_TYPE_HOLE))
			err = EXT2_ET_FILESYSTEM_CORRUPTED;
		if (err)
			goto out_buf;
		err = io_channel_write_blk64(fs->io, run.pblk, (int)run.len,
					     src + (size_t)(lblk - lb0) * bs);
		if (err)
			goto out_buf;
	}
	err = f2_convert_written(fs, ino, inode, lb0, lb1);
	f2_map_changed();
	if (!err && (uint64_t)off + size > EXT2_I_SIZE(inode))
		err = ext2fs_inode_size_set(fs, (struct ext2_inode *)inode,
					    off + size);
out_buf:
	free(buf);
out_inode:
	/* Blocks may have been allocated even on failure: record them. */
	if (!err)
		f2_touch(inode, F2_MTIME | F2_CTIME);
	if (f2_write_inode(f2, ino, inode) && !err)
		err = EXT2_ET_INODE_TABLE_WRITE;
	return f2_errno(err);
}

/*
 * Drop every mapping of an extent file at or after logical block end.
 * Not ext2fs_punch(): 1.47.0's refuses to free a range that ends at the
 * filesystem's last block, which is where a file that filled the disk
 * ends, so a full disk could not be made emptier by truncation.
 */
static errcode_t f2_extent_truncate(ext2_filsys fs, ext2_ino_t ino,
				    struct ext2_inode_large *inode,
				    blk64_t end)
{
	struct ext2_inode *raw = (struct ext2_inode *)inode;
	struct ext2fs_extent e;
	ext2_extent_handle_t h;
	blk64_t keep;
	errcode_t err;

	err = ext2fs_extent_open2(fs, ino, raw, &h);
	if (err)
		return err;
	for (;;) {
		struct ext2_extent_info info;

		err = ext2fs_extent_get(h, EXT2_EXTENT_LAST_LEAF, &e);
		/* An emptied tree leaves the handle on an empty root. */
		if (!err)
			err = ext2fs_extent_get_info(h, &info);
		if ((!err && !info.num_entries) ||
		    err == EXT2_ET_EXTENT_NO_NEXT ||
		    err == EXT2_ET_NO_CURRENT_NODE) {
			err = 0;
			break;
		}
		if (err || !e.e_len || e.e_lblk + e.e_len <= end)
			break;
		keep = e.e_lblk < end ? end - e.e_lblk : 0;
		/*
		 * Out of the tree first, then free: a failed tree write
		 * must not leave blocks free that an extent still names.
		 * The count goes down before, since a root in the inode is
		 * written with it.
		 */
		err = ext2fs_iblk_sub_blocks(fs, raw, e.e_len - keep);
		if (err)
			break;
		if (keep) {
			struct ext2fs_extent cut = e;

			cut.e_len = keep;
			err = ext2fs_extent_replace(h, 0, &cut);
		} else {
			/* Emptied index blocks are freed by the delete. */
			err = ext2fs_extent_delete(h, 0);
		}
		if (err) {
			ext2fs_iblk_add_blocks(fs, raw, e.e_len - keep);
			break;
		}
		f2_block_stats_range(fs, e.e_pblk + keep,
					       e.e_len - keep, -1);
		if (keep)
			break;
	}
	ext2fs_extent_free(h);
	return err;
}

int f2_block_truncate(struct fuse2fs *f2, ext2_ino_t ino,
		      struct ext2_inode_large *inode, uint64_t size)
{
	ext2_filsys fs = f2->fs;
	unsigned int bs = fs->blocksize;
	blk64_t end = (size + bs - 1) / bs;
	struct f2_run run;
	errcode_t err = 0;
	char *buf;

	/*
	 * Down or to the same size, blocks past the end go, those allocated
	 * with FALLOC_FL_KEEP_SIZE too, as ext4_setattr() does; a truncate
	 * up keeps them.
	 */
	if (size <= EXT2_I_SIZE(inode)) {
		/* What lies past the new end must read back as zeroes. */
		if (size % bs && size < EXT2_I_SIZE(inode)) {
			err = f2_map_run(fs, ino, inode, size / bs, end, &run);
			if (!err && run.type == FUSE_IOMAP_TYPE_MAPPED) {
				buf = malloc(bs);
				if (!buf)
					return ENOMEM;
				err = io_channel_read_blk64(fs->io, run.pblk, 1,
							    buf);
				if (!err) {
					memset(buf + size % bs, 0,
					       bs - size % bs);
					err = io_channel_write_blk64(fs->io,
								     run.pblk,
								     1, buf);
				}
				free(buf);
			}
		}
		if (!err)
			err = f2_extent_truncate(fs, ino, inode, end);
	}
	if (!err)
		err = ext2fs_inode_size_set(fs, (struct ext2_inode *)inode,
					    size);
	/* Blocks may be gone even after an error: record the inode. */
	if (f2_write_inode(f2, ino, inode) && !err)
		err = EXT2_ET_INODE_TABLE_WRITE;
	return f2_errno(err);
}
