// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: classic file IO: CREATE, OPEN, READ, WRITE, FLUSH, RELEASE,
 * FSYNC and truncation.
 *
 * Data goes through libext2fs' ext2_file_t, which knows block-mapped,
 * extent-mapped and inline-data files alike and moves a file out of
 * inline data when it outgrows the inode.  O_APPEND positions are the
 * kernel's: every WRITE carries its own offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"
#include "fscrypt.h"
#include "fsverity.h"

/* The largest file offset ext4 allows for this block size. */
static uint64_t f2_max_size(struct fuse2fs *f2, struct ext2_inode_large *inode)
{
	uint64_t blocks;

	if (inode->i_flags & EXT4_EXTENTS_FL)
		blocks = 1ULL << 32;	/* 32-bit logical block numbers */
	else {
		uint64_t per = f2->fs->blocksize / 4;

		blocks = 12 + per + per * per + per * per * per;
	}
	return blocks * f2->fs->blocksize;
}

static int f2_do_truncate(struct fuse2fs *f2, ext2_ino_t ino, uint64_t size)
{
	struct ext2_inode_large inode;
	ext2_file_t file;
	errcode_t err, err2;
	int ret;

	if (f2->ro)
		return EROFS;
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (size > f2_max_size(f2, &inode))
		return EFBIG;
	if (f2c_encrypted(&inode) && LINUX_S_ISREG(inode.i_mode))
		return f2c_truncate(f2, ino, &inode, size);
	if (inode.i_flags & EXT4_INLINE_DATA_FL) {
		ret = f2_inline_truncate(f2, ino, &inode, size);
		if (ret != EAGAIN)
			return ret;
	}
	if (inode.i_flags & EXT4_EXTENTS_FL)
		return f2_block_truncate(f2, ino, &inode, size);
	/* Zeroes the tail of the last block and frees what lies beyond. */
	err = ext2fs_file_open2(f2->fs, ino, (struct ext2_inode *)&inode,
				EXT2_FILE_WRITE, &file);
	if (err)
		return f2_errno(err);
	err = ext2fs_file_set_size2(file, size);
	err2 = ext2fs_file_close(file);
	return f2_errno(err ? err : err2);
}

/* All or nothing: the tree, the bitmaps and the inode change together. */
int f2_truncate(struct fuse2fs *f2, ext2_ino_t ino, uint64_t size)
{
	f2_txn_begin();
	return f2_txn_end(f2_do_truncate(f2, ino, size));
}

static int f2_open_check(struct fuse2fs *f2, ext2_ino_t ino,
			 struct fuse_file_info *fi)
{
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (LINUX_S_ISDIR(inode.i_mode))
		return EISDIR;
	if (f2c_encrypted(&inode) && LINUX_S_ISREG(inode.i_mode)) {
		ret = f2c_open_check(f2, ino, fi->flags);
		if (ret)
			return ret;
	}
	if ((inode.i_flags & EXT4_VERITY_FL) &&
	    (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC)) {
		ret = f2v_open_check(f2, ino, &inode);
		if (ret)
			return ret;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		if (f2->ro)
			return EROFS;
		if (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT4_VERITY_FL))
			return EPERM;
		if ((inode.i_flags & EXT2_APPEND_FL) &&
		    (!(fi->flags & O_APPEND) || (fi->flags & O_TRUNC)))
			return EPERM;
	}
	if (fi->flags & O_TRUNC) {
		ret = f2_truncate(f2, ino, 0);
		if (ret)
			return ret;
		ret = f2_read_inode(f2, ino, &inode);
		if (ret)
			return ret;
		f2_touch(&inode, F2_MTIME | F2_CTIME);
		ret = f2_write_inode(f2, ino, &inode);
		if (ret)
			return ret;
	}
	return 0;
}

static void f2_set_open_flags(struct fuse2fs *f2, struct fuse_file_info *fi)
{
	/* Nobody else changes the image: cached pages stay valid. */
	fi->keep_cache = 1;
	fi->fh = 0;
}

/* Plaintext cached from an encrypted file must not outlive its key. */
static void f2_drop_cache_if_encrypted(struct fuse2fs *f2, ext2_ino_t ino,
				       struct fuse_file_info *fi)
{
	struct ext2_inode_large inode;

	if (!f2_read_inode(f2, ino, &inode) && f2c_encrypted(&inode))
		fi->keep_cache = 0;
}

void f2_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, struct fuse_file_info *fi)
{
	struct fuse2fs *f2 = f2_get(req);
	struct fuse_entry_param e;
	uint32_t flags;
	ext2_ino_t ino;
	int ret;

	/* O_TMPFILE arrives here too (fuse_iomap_enable_tmpfile()). */
	if (fuse_iomap_create_is_tmpfile(f2->iomap))
		name = NULL;
	ret = f2_make_node(req, f2, f2_ino(parent), name,
			   (mode & ~S_IFMT) | S_IFREG, 0, &ino);
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	ret = f2_fill_entry(f2, ino, &e, &flags);
	/*
	 * Uncounted references would let us free (a nameless file, or one
	 * unlinked later) or trim (look-ahead) what the kernel still uses.
	 */
	if (!ret)
		ret = f2_lookup_ref(f2, ino);
	if (ret) {
		/* Nobody holds a nameless file that was never replied */
		if (!name)
			f2_abandon_inode(f2, ino);
		fuse_reply_err(req, ret);
		return;
	}
	f2_set_open_flags(f2, fi);
	if (f2_open_ref(f2, ino)) {
		/* the last reference of a nameless file frees it */
		f2_lookup_unref(f2, ino, 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fuse_iomap_reply_create(req, &e, fi, flags)) {
		/* The request was interrupted: the kernel holds nothing. */
		f2_open_unref(f2, ino);
		f2_lookup_unref(f2, ino, 1);
	}
}

void f2_op_open(fuse_req_t req, fuse_ino_t nodeid, struct fuse_file_info *fi)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino = f2_ino(nodeid);
	int ret;

	ret = f2_open_check(f2, ino, fi);
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	f2_set_open_flags(f2, fi);
	f2_drop_cache_if_encrypted(f2, ino, fi);
	if (f2_open_ref(f2, ino)) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fuse_reply_open(req, fi))
		f2_open_unref(f2, ino);
}

void f2_op_read(fuse_req_t req, fuse_ino_t nodeid, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino = f2_ino(nodeid);
	struct ext2_inode_large inode;
	size_t got = 0, skip = 0;
	char *buf = NULL;
	uint64_t isize;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		goto out;
	isize = EXT2_I_SIZE(&inode);
	if (off < 0 || (uint64_t)off >= isize || !size)
		goto out;
	if (size > isize - off)
		size = isize - off;
	if ((inode.i_flags & EXT4_INLINE_DATA_FL) && f2c_encrypted(&inode)) {
		ret = EOPNOTSUPP;	/* ext4 makes none; not implemented */
	} else if (inode.i_flags & EXT4_INLINE_DATA_FL) {
		buf = malloc(size);
		if (!buf)
			ret = ENOMEM;
		else
			ret = f2_inline_read(f2, ino, &inode, buf, size, off,
					     &got);
	} else {
		ret = f2_block_read(f2, ino, &inode, &buf, size, off, &skip);
		got = size;
		if (!ret && f2c_encrypted(&inode))
			ret = f2c_read_decrypt(f2, ino, &inode,
					       off / f2->fs->blocksize, buf,
					       (skip + size +
						f2->fs->blocksize - 1) /
					       f2->fs->blocksize);
		if (!ret && (inode.i_flags & EXT4_VERITY_FL))
			ret = f2v_verify_read(f2, ino, &inode, off - skip,
					      buf, skip + size);
	}
out:
	if (ret)
		fuse_reply_err(req, ret);
	else
		fuse_reply_buf(req, buf ? buf + skip : NULL, got);
	free(buf);
}

/* Block-mapped (ext2/ext3) files: libext2fs allocates block by block. */
static int f2_file_write(struct fuse2fs *f2, ext2_ino_t ino,
			 struct ext2_inode_large *inode, const char *buf,
			 size_t size, off_t off, size_t *written)
{
	unsigned int done = 0;
	ext2_file_t file;
	errcode_t err, err2;

	err = ext2fs_file_open2(f2->fs, ino, (struct ext2_inode *)inode,
				EXT2_FILE_WRITE, &file);
	if (err)
		return f2_errno(err);
	err = ext2fs_file_llseek(file, off, EXT2_SEEK_SET, NULL);
	if (!err)
		err = ext2fs_file_write(file, buf, size, &done);
	err2 = ext2fs_file_close(file);
	if (!err)
		err = err2;
	/* A short write still changed the file: stamp it either way. */
	if (done && !f2_read_inode(f2, ino, inode)) {
		f2_touch(inode, F2_MTIME | F2_CTIME);
		f2_write_inode(f2, ino, inode);
	}
	*written = done;
	if (err && !done)
		return f2_errno(err);
	return 0;
}

static int f2_do_write(struct fuse2fs *f2, ext2_ino_t ino, const char *buf,
		       size_t size, off_t off, size_t *written)
{
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	*written = size;
	if (f2c_encrypted(&inode))
		return f2c_write(f2, ino, &inode, buf, size, off);
	if (inode.i_flags & EXT4_INLINE_DATA_FL) {
		/* Moving the data out of the inode: all or nothing. */
		f2_txn_begin();
		ret = f2_inline_write(f2, ino, &inode, buf, size, off);
		if (f2_txn_end(ret == EAGAIN ? 0 : ret))
			return ret;
		if (ret != EAGAIN) {
			if (!ret) {
				f2_touch(&inode, F2_MTIME | F2_CTIME);
				ret = f2_write_inode(f2, ino, &inode);
			}
			return ret;
		}
	}
	if (inode.i_flags & EXT4_EXTENTS_FL)
		return f2_block_write(f2, ino, &inode, buf, size, off);
	return f2_file_write(f2, ino, &inode, buf, size, off, written);
}

void f2_op_write(fuse_req_t req, fuse_ino_t nodeid, const char *buf,
		 size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino = f2_ino(nodeid);
	struct ext2_inode_large inode;
	unsigned int bs = f2->fs->blocksize;
	size_t written = 0;
	int ret;

	if (f2->ro) {
		fuse_reply_err(req, EROFS);
		return;
	}
	ret = f2_read_inode(f2, ino, &inode);
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	/*
	 * Made immutable after it was opened for writing: ext4 refuses
	 * such writes too (the VFS cannot, FUSE inodes carry no
	 * S_IMMUTABLE).  Not the kernel's writeback of pages dirtied
	 * before: those writes were acknowledged already.
	 */
	if ((inode.i_flags & EXT2_IMMUTABLE_FL) && !fi->writepage) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (off < 0 || (uint64_t)off + size > f2_max_size(f2, &inode)) {
		fuse_reply_err(req, EFBIG);
		return;
	}
	if (!size) {
		fuse_reply_write(req, 0);
		return;
	}
	ret = f2_do_write(f2, ino, buf, size, off, &written);
	/* Nearly full: write what still fits, the kernel retries the rest. */
	while (ret == ENOSPC && size > bs) {
		size = (size / 2 + bs - 1) / bs * bs;
		size -= off % bs;
		ret = f2_do_write(f2, ino, buf, size, off, &written);
	}
	if (ret)
		fuse_reply_err(req, ret);
	else
		fuse_reply_write(req, written);
}

void f2_op_flush(fuse_req_t req, fuse_ino_t nodeid, struct fuse_file_info *fi)
{
	/* Data is written through at WRITE time; close needs no work. */
	fuse_reply_err(req, 0);
}

void f2_op_release(fuse_req_t req, fuse_ino_t nodeid,
		   struct fuse_file_info *fi)
{
	f2_open_unref(f2_get(req), f2_ino(nodeid));
	fuse_reply_err(req, 0);
}

void f2_op_fsync(fuse_req_t req, fuse_ino_t nodeid, int datasync,
		 struct fuse_file_info *fi)
{
	fuse_reply_err(req, f2_sync(f2_get(req)));
}
