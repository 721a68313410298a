// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FUSE_IOMAP_BEGIN, FUSE_IOMAP_END and FUSE_IOMAP_IOEND for fuse2fs.
 *
 * Every request is validated before the image is touched: the backing
 * inode number must be the one the nodeid names (ESTALE), the inode must
 * be servable through iomap (EOPNOTSUPP), the range must be sane
 * (EINVAL) and addressable by an extent file (EFBIG); writes on a
 * read-only mount get EROFS.
 *
 * BEGIN answers with the longest run that starts at pos's block: one
 * mapped or unwritten run (contiguous extents are glued together) or a
 * hole up to the next extent, not clipped to the request
 * (doc/protocol.md: the kernel uses what it needs).  A write into a hole
 * allocates unwritten extents first; a write at or past EOF allocates
 * ahead so a streaming writer gets one contiguous extent instead of one
 * per request.
 * IOEND converts what was written to written extents and moves i_size;
 * a failed IO converts nothing, so readers keep seeing the old bytes (or
 * zeroes where there were none).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "iomap.h"

static uint64_t max_bytes(ext2_filsys fs)
{
	return F2_MAX_LBLK * fs->blocksize;
}

/* The inode a request names, in iomap mode; 0 or a positive errno. */
static int req_inode(struct fuse2fs *f2, fuse_ino_t nodeid, uint64_t attr_ino,
		     struct ext2_inode_large *inode)
{
	ext2_ino_t ino = f2_ino(nodeid);
	enum f2_iomap_why why;
	int err;

	if (!f2 || !f2->iomap_active)
		return EOPNOTSUPP;
	if (attr_ino != ino || ino > f2->fs->super->s_inodes_count ||
	    (ino < EXT2_FIRST_INODE(f2->fs->super) && ino != EXT2_ROOT_INO))
		return ESTALE;
	err = f2_read_inode(f2, ino, inode);
	if (err)
		return err;
	/* A freed inode: the kernel holds a nodeid we no longer know. */
	if (!inode->i_mode || (!inode->i_links_count && inode->i_dtime))
		return ESTALE;
	/*
	 * A file the user just pinned to classic is still served: the
	 * kernel keeps an open inode in iomap mode until its last file is
	 * released (doc/protocol.md 3.1).  Files whose blocks cannot be
	 * mapped any more are not.
	 */
	why = f2_iomap_policy(f2, ino, inode);
	if (why != F2_WHY_IOMAP && why != F2_WHY_USER)
		return EOPNOTSUPP;
	return 0;
}

static void run_to_mapping(struct fuse2fs *f2, const struct f2_run *run,
			   uint16_t flags, bool keep,
			   struct fuse_iomap_mapping *map)
{
	uint64_t bs = f2->fs->blocksize;

	map->offset = run->lblk * bs;
	map->length = run->len * bs;
	map->type = run->type;
	map->flags = flags;
	if (run->type == FUSE_IOMAP_TYPE_HOLE) {
		map->addr = FUSE_IOMAP_NULL_ADDR;
		map->dev = 0;
	} else {
		map->addr = run->pblk * bs;
		map->dev = f2->iomap_dev;
		/*
		 * The kernel may reuse it: blocks of a file change only through
		 * requests after which the kernel forgets its copies
		 * (doc/protocol.md section 10), or after we notify it (chattr -e).
		 */
		if (keep)
			map->flags |= FUSE_IOMAP_F_CACHE;
	}
}

/*
 * How far to allocate for a write into the hole at lblk.  A write that
 * continues allocated data (the block before lblk is mapped) past the
 * on-disk EOF is taken as streaming: allocate ahead three times what the
 * file already holds before lblk, so the file's blocks quadruple with
 * every BEGIN (XFS's speculative preallocation grows by doubling; every
 * BEGIN we save is a round trip for the kernel, and block group
 * boundaries cut mappings already), at most F2_ALLOC_AHEAD_BYTES and at
 * most an eighth of the free blocks, never past the hole.  The guess
 * thus wastes at most three times what the file already uses, given
 * back when the last open file of the inode is released, and a streaming
 * writer of N bytes asks for blocks about log4(N) times instead of once
 * per fixed step:
 * with the mappings the kernel keeps, a 1 GiB write needs about six
 * allocating BEGINs (and one more per physical break), not 130.  Other
 * writes get exactly the blocks they cover.
 */
static blk64_t alloc_end(struct fuse2fs *f2, ext2_ino_t ino,
			 struct ext2_inode_large *inode, blk64_t lblk,
			 blk64_t end_req, blk64_t hole_end)
{
	ext2_filsys fs = f2->fs;
	uint64_t size = EXT2_I_SIZE(inode);
	blk64_t ahead = F2_ALLOC_AHEAD_BYTES / fs->blocksize;
	blk64_t spare = ext2fs_free_blocks_count(fs->super) / 8;
	blk64_t size_blk = (size + fs->blocksize - 1) / fs->blocksize;
	blk64_t end = end_req;
	struct f2_run prev;

	if (!lblk || end_req <= size_blk)
		return end_req;
	if (f2_map_run(fs, ino, inode, lblk - 1, lblk, &prev) ||
	    prev.type == FUSE_IOMAP_TYPE_HOLE)
		return end_req;
	if (ahead / 3 > lblk)
		ahead = 3 * lblk;
	if (ahead > spare)
		ahead = spare;
	end = end_req + ahead;
	if (end > hole_end)
		end = hole_end;
	if (end <= end_req || !f2_prealloc_note(ino, end_req, end))
		return end_req;
	return end;
}

static int begin_write(struct fuse2fs *f2, ext2_ino_t ino,
		       struct ext2_inode_large *inode, blk64_t lblk,
		       blk64_t end_req, blk64_t hole_end, struct f2_run *run,
		       uint16_t *flags)
{
	ext2_filsys fs = f2->fs;
	blk64_t end;
	errcode_t err;

	end = alloc_end(f2, ino, inode, lblk, end_req, hole_end);
	/* A streaming writer's blocks in one piece where the space allows */
	err = f2_alloc_unwritten(fs, ino, inode, lblk, end - lblk,
				 end > end_req ? F2_ALLOC_CONTIGUOUS : 0);
	if (err == EXT2_ET_BLOCK_ALLOC_FAIL && end > end_req) {
		/* Little space left: do not let the look-ahead guess fail. */
		err = f2_alloc_unwritten(fs, ino, inode, lblk,
					 end_req - lblk, 0);
	}
	/* Write even a partial allocation: bitmaps and tree must agree. */
	if (f2_write_inode(f2, ino, inode) && !err)
		err = EXT2_ET_SHORT_WRITE;
	if (err)
		return f2_errno(err);
	err = f2_map_run(fs, ino, inode, lblk, F2_MAX_LBLK, run);
	if (err)
		return f2_errno(err);
	if (run->type == FUSE_IOMAP_TYPE_HOLE)
		return ENOSPC;
	*flags |= FUSE_IOMAP_F_NEW;
	/* The allocation may have deepened the tree. */
	return f2_resv_take(f2, ino, inode);
}

static void f2_iomap_begin(fuse_iomap_req_t req, fuse_ino_t nodeid,
			   const struct fuse_iomap_begin_in *in)
{
	struct fuse2fs *f2 = f2_iomap_fs;
	struct ext2_inode_large inode;
	struct fuse_iomap_mapping map;
	struct f2_run run;
	uint16_t flags = 0;
	uint64_t end, bs;
	blk64_t lblk, end_blk;
	bool write, keep = true;
	errcode_t err;
	int ret;

	ret = req_inode(f2, nodeid, in->attr_ino, &inode);
	if (ret)
		goto out_err;
	ret = EINVAL;
	if (!in->count || in->pos + in->count < in->pos ||
	    (in->opflags & ~FUSE_IOMAP_OP_ALL) || in->padding)
		goto out_err;
	/* Writeback may meet a range nobody allocated yet: never a hole. */
	write = (in->opflags & (FUSE_IOMAP_OP_WRITE |
				FUSE_IOMAP_OP_WRITEBACK)) &&
		!(in->opflags & (FUSE_IOMAP_OP_ZERO | FUSE_IOMAP_OP_REPORT));
	ret = EFBIG;
	end = in->pos + in->count;
	if (in->pos >= max_bytes(f2->fs) ||
	    (write && end > max_bytes(f2->fs)))
		goto out_err;
	if (end > max_bytes(f2->fs))
		end = max_bytes(f2->fs);
	ret = EROFS;
	if (write && f2->ro)
		goto out_err;

	bs = f2->fs->blocksize;
	lblk = in->pos / bs;
	end_blk = (end + bs - 1) / bs;
	/*
	 * The whole run, not clipped to the request: the kernel uses what it
	 * needs, and a longer answer saves the next upcall.
	 */
	err = f2_map_run(f2->fs, f2_ino(nodeid), &inode, lblk, F2_MAX_LBLK,
			 &run);
	if (err) {
		ret = f2_errno(err);
		goto out_err;
	}
	/*
	 * The kernel may write into unwritten blocks it is given (and keep
	 * the mapping for more writes): their IOEND must not fail for lack
	 * of tree blocks.  A write is refused now if that cannot be
	 * promised; a read's mapping is just not kept.
	 */
	if (!f2->ro && (run.type == FUSE_IOMAP_TYPE_UNWRITTEN ||
			(write && run.type == FUSE_IOMAP_TYPE_HOLE)) &&
	    f2_resv_take(f2, f2_ino(nodeid), &inode)) {
		ret = ENOSPC;
		if (write)
			goto out_err;
		keep = false;
	}
	if (write && run.type == FUSE_IOMAP_TYPE_HOLE) {
		if (lblk + run.len < end_blk)
			end_blk = lblk + run.len;
		ret = begin_write(f2, f2_ino(nodeid), &inode, lblk, end_blk,
				  lblk + run.len, &run, &flags);
		if (ret)
			goto out_err;
	}
	run_to_mapping(f2, &run, flags, keep, &map);
	/* The kernel is about to touch blocks libext2fs may have cached. */
	if (run.type != FUSE_IOMAP_TYPE_HOLE) {
		ret = f2_iomap_sync_range(f2, map.addr, map.length);
		if (ret)
			goto out_err;
	}
	if (f2->debug)
		fprintf(stderr,
			"fuse2fs: iomap begin ino %" PRIu64 " pos %" PRIu64
			" count %" PRIu64 " op 0x%x -> type %u off %" PRIu64
			" len %" PRIu64 " addr 0x%" PRIx64 "\n",
			(uint64_t)in->attr_ino, (uint64_t)in->pos,
			(uint64_t)in->count, in->opflags, map.type,
			(uint64_t)map.offset, (uint64_t)map.length,
			(uint64_t)map.addr);
	fuse_iomap_reply_begin_cookie(req, &map, f2_map_cookie());
	return;

out_err:
	fuse_iomap_reply_err(req, ret);
}

static void f2_iomap_end(fuse_iomap_req_t req, fuse_ino_t nodeid,
			 const struct fuse_iomap_end_in *in)
{
	struct fuse2fs *f2 = f2_iomap_fs;
	struct ext2_inode_large inode;
	int ret;

	ret = req_inode(f2, nodeid, in->attr_ino, &inode);
	if (ret)
		goto out_err;
	ret = EINVAL;
	if (!in->count || in->pos + in->count < in->pos ||
	    in->written > in->count || (in->opflags & ~FUSE_IOMAP_OP_ALL) ||
	    in->padding || in->map.type > FUSE_IOMAP_TYPE_MAX ||
	    (in->map.flags & ~FUSE_IOMAP_F_ALL))
		goto out_err;
	/*
	 * Nothing to undo: blocks a short write left unwritten stay
	 * allocated and read as zeroes, which e2fsck accepts (as after a
	 * fallocate with KEEP_SIZE); they are reused by the next write.
	 */
	fuse_iomap_reply_end(req);
	return;

out_err:
	fuse_iomap_reply_err(req, ret);
}

static void f2_iomap_ioend(fuse_iomap_req_t req, fuse_ino_t nodeid,
			   const struct fuse_iomap_ioend_in *in)
{
	struct fuse2fs *f2 = f2_iomap_fs;
	struct ext2_inode_large inode;
	ext2_ino_t ino = f2_ino(nodeid);
	bool dirty = false;
	uint64_t end, bs;
	errcode_t err;
	int ret;

	ret = req_inode(f2, nodeid, in->attr_ino, &inode);
	if (ret)
		goto out_err;
	ret = EINVAL;
	end = in->pos + in->written;
	if (end < in->pos || in->error > 0 ||
	    (in->flags & ~FUSE_IOMAP_IOEND_ALL))
		goto out_err;
	ret = EFBIG;
	if (end > max_bytes(f2->fs))
		goto out_err;
	/* A failed IO changes nothing: the old contents stay readable. */
	if (in->error || !in->written)
		goto out_size;
	ret = EROFS;
	if (f2->ro)
		goto out_err;

	bs = f2->fs->blocksize;
	/*
	 * One IOEND may convert many extents of one leaf: each edit writes
	 * the leaf (and the inode when the tree changes shape); the batch
	 * writes every block once, when the IOEND is done.
	 */
	f2_io_batch_begin();
	if (in->flags & FUSE_IOMAP_IOEND_UNWRITTEN) {
		blk64_t free = ext2fs_free_blocks_count(f2->fs->super);

		/* Tree blocks come from the reserve BEGIN took. */
		f2_alloc_as(f2, ino);
		err = f2_convert_written(f2->fs, ino, &inode, in->pos / bs,
					 (end + bs - 1) / bs);
		f2_map_changed();
		f2_resv_used(f2, ino, free, &inode);
		dirty = true;
		if (err) {
			ret = f2_errno(err);
			goto out_write;
		}
	}
	if ((in->flags & FUSE_IOMAP_IOEND_APPEND) &&
	    end > EXT2_I_SIZE(&inode)) {
		err = ext2fs_inode_size_set(f2->fs,
					    (struct ext2_inode *)&inode, end);
		if (err) {
			ret = f2_errno(err);
			goto out_write;
		}
		dirty = true;
	}
	ret = 0;
out_write:
	if (dirty) {
		int wret = f2_write_inode(f2, ino, &inode);

		if (!ret)
			ret = wret;
	}
	err = f2_io_batch_end(f2->fs->io);
	if (err && !ret)
		ret = f2_errno(err);
	if (ret)
		goto out_err;
out_size:
	fuse_iomap_reply_ioend(req, EXT2_I_SIZE(&inode));
	return;

out_err:
	fuse_iomap_reply_err(req, ret);
}

const struct fuse_iomap_ops f2_iomap_ops = {
	.negotiated	= f2_iomap_negotiated,
	.begin		= f2_iomap_begin,
	.end		= f2_iomap_end,
	.ioend		= f2_iomap_ioend,
};
