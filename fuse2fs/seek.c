// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lseek SEEK_DATA / SEEK_HOLE, answered from the block map.
 *
 * Unwritten (preallocated) extents count as holes.  Kernel ext4 reports
 * them as holes unless the page cache holds data for them; a FUSE server
 * has no page cache, and with the kernel's writeback cache off every
 * write has reached us (and turned its blocks written) before the lseek,
 * so the answers agree with ext4's.  Offsets at or past EOF give ENXIO;
 * blocks preallocated past EOF are never reported.  Inline data is one
 * data run from 0 to EOF.
 */
#include <errno.h>
#include <unistd.h>

#include "fuse2fs.h"
#include "blockmap.h"

struct seek_state {
	blk64_t next;		/* first block not yet known to be data */
	bool want_data;
	bool found;
	blk64_t at;		/* the answer, in blocks */
};

static int seek_run(blk64_t lblk, blk64_t len, bool unwritten, void *data)
{
	struct seek_state *s = data;

	if (s->want_data) {
		if (unwritten)
			return 0;
		s->at = lblk;
		s->found = true;
		return 1;
	}
	/* Looking for a hole: a gap before this run, or an unwritten run. */
	if (lblk > s->next || unwritten) {
		s->at = s->next;
		s->found = true;
		return 1;
	}
	s->next = lblk + len;
	return 0;
}

/* The SEEK_DATA/SEEK_HOLE answer for off; 0 or a positive errno. */
static int seek_data_hole(struct fuse2fs *f2, ext2_ino_t ino,
			  struct ext2_inode_large *inode, uint64_t off,
			  int whence, uint64_t *res)
{
	uint64_t size = EXT2_I_SIZE(inode), bs = f2->fs->blocksize, pos;
	struct seek_state s = { .want_data = whence == SEEK_DATA };
	errcode_t err;

	if (off >= size)
		return ENXIO;
	if (inode->i_flags & EXT4_INLINE_DATA_FL ||
	    !ext2fs_inode_has_valid_blocks2(f2->fs,
					    (struct ext2_inode *)inode)) {
		*res = whence == SEEK_DATA ? off : size;
		return 0;
	}
	s.next = off / bs;
	err = f2_walk_mapped(f2->fs, ino, inode, off / bs, (size - 1) / bs,
			     seek_run, &s);
	if (err)
		return f2_errno(err);
	if (s.want_data) {
		if (!s.found)
			return ENXIO;
	} else if (!s.found) {
		/* Mapped up to the last block: the hole is at EOF. */
		s.at = s.next;
	}
	pos = s.at * bs;
	if (pos < off)
		pos = off;
	if (pos >= size) {
		if (s.want_data)
			return ENXIO;
		pos = size;
	}
	*res = pos;
	return 0;
}

void f2_op_lseek(fuse_req_t req, fuse_ino_t nodeid, off_t off, int whence,
		 struct fuse_file_info *fi)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino = f2_ino(nodeid);
	struct ext2_inode_large inode;
	uint64_t res = 0;
	int ret;

	/*
	 * With the kernel's writeback cache, written data and the size may
	 * still sit in its page cache, and it does not flush before asking:
	 * we would report holes (or ENXIO) over data.  ENOSYS makes it
	 * answer by itself from its own size, with the only hole at EOF,
	 * which is always correct.
	 */
	if (f2->writeback_cache) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		goto err;
	switch (whence) {
	case SEEK_SET:
		/* The kernel keeps file positions; answer what it asked. */
		if (off < 0) {
			ret = EINVAL;
			goto err;
		}
		res = off;
		break;
	case SEEK_END:
		if (off < 0 && (uint64_t)-off > EXT2_I_SIZE(&inode)) {
			ret = EINVAL;
			goto err;
		}
		res = EXT2_I_SIZE(&inode) + off;
		break;
	case SEEK_DATA:
	case SEEK_HOLE:
		/* A negative offset is "past EOF" to the kernel too. */
		if (off < 0) {
			ret = ENXIO;
			goto err;
		}
		ret = seek_data_hole(f2, ino, &inode, off, whence, &res);
		if (ret)
			goto err;
		break;
	default:
		/* SEEK_CUR needs the file position, which we do not have. */
		ret = EINVAL;
		goto err;
	}
	fuse_reply_lseek(req, (off_t)res);
	return;
err:
	fuse_reply_err(req, ret);
}
