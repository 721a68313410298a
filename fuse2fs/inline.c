// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: data of inline-data files (the first 60 bytes in i_block, the
 * rest in the "system.data" extended attribute).
 *
 * libext2fs 1.47.0's ext2_file_t gets inline data wrong (reads past
 * i_size, writes at the wrong place, and moving data out of the inode
 * leaves i_size at the inline capacity), so fuse2fs handles it here with
 * the lower-level inline-data calls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"
#include "iomap.h"

/*
 * Exported by libext2fs since 1.43 (ext2fs_expand_dir() uses it) but
 * declared only in its private header.
 */
errcode_t ext2fs_inline_data_expand(ext2_filsys fs, ext2_ino_t ino);

/*
 * The stored inline bytes, zero-filled up to want bytes; *len (may be
 * NULL) receives how many bytes are stored.
 */
static errcode_t f2_inline_load(struct fuse2fs *f2, ext2_ino_t ino,
				struct ext2_inode_large *inode, size_t want,
				char **bufp, size_t *len)
{
	size_t stored = 0, cap, isize = EXT2_I_SIZE(inode);
	errcode_t err;
	char *buf;

	err = ext2fs_inline_data_size(f2->fs, ino, &stored);
	if (err)
		return err;
	cap = stored > want ? stored : want;
	buf = calloc(1, cap + 1);
	if (!buf)
		return EXT2_ET_NO_MEMORY;
	err = ext2fs_inline_data_get(f2->fs, ino, (struct ext2_inode *)inode,
				     buf, &stored);
	if (err) {
		free(buf);
		return err;
	}
	/* Bytes past i_size are not file data. */
	if (stored > isize)
		memset(buf + isize, 0, stored - isize);
	*bufp = buf;
	if (len)
		*len = stored;
	return 0;
}

int f2_inline_read(struct fuse2fs *f2, ext2_ino_t ino,
		   struct ext2_inode_large *inode, char *out, size_t size,
		   off_t off, size_t *got)
{
	uint64_t isize = EXT2_I_SIZE(inode);
	size_t stored;
	errcode_t err;
	char *buf;

	*got = 0;
	if ((uint64_t)off >= isize)
		return 0;
	if (size > isize - off)
		size = isize - off;
	/*
	 * Only what is stored is loaded (i_size may claim anything): the
	 * bytes between it and i_size read as zeroes, as ext4 reads them.
	 */
	err = f2_inline_load(f2, ino, inode, 0, &buf, &stored);
	if (err)
		return f2_errno(err);
	memset(out, 0, size);
	if ((uint64_t)off < stored)
		memcpy(out, buf + off, stored - off < size ? stored - off : size);
	free(buf);
	*got = size;
	return 0;
}

/* An empty inline file becomes an empty extent (or block-mapped) file. */
static int f2_inline_drop_empty(struct fuse2fs *f2, ext2_ino_t ino,
				struct ext2_inode_large *inode)
{
	struct ext2_xattr_handle *h;
	errcode_t err;
	int ret;

	err = ext2fs_xattrs_open(f2->fs, ino, &h);
	if (err)
		return f2_errno(err);
	err = ext2fs_xattrs_read(h);
	if (!err)
		err = ext2fs_xattr_remove(h, "system.data");
	ext2fs_xattrs_close(&h);
	if (err)
		return f2_errno(err);
	ret = f2_read_inode(f2, ino, inode);
	if (ret)
		return ret;
	inode->i_flags &= ~EXT4_INLINE_DATA_FL;
	memset(inode->i_block, 0, sizeof(inode->i_block));
	if (ext2fs_has_feature_extents(f2->fs->super)) {
		ext2_extent_handle_t eh;

		inode->i_flags |= EXT4_EXTENTS_FL;
		err = ext2fs_extent_open2(f2->fs, ino,
					  (struct ext2_inode *)inode, &eh);
		if (err)
			return f2_errno(err);
		ext2fs_extent_free(eh);
	}
	return f2_write_inode(f2, ino, inode);
}

/*
 * Move the data out of the inode into blocks, keeping i_size (which
 * ext2fs_inline_data_expand() sets to the inline capacity).
 */
static int f2_inline_expand(struct fuse2fs *f2, ext2_ino_t ino,
			    struct ext2_inode_large *inode)
{
	uint64_t isize = EXT2_I_SIZE(inode);
	ext2_file_t file;
	errcode_t err, err2;
	int ret;

	if (!isize)
		return f2_inline_drop_empty(f2, ino, inode);
	err = ext2fs_inline_data_expand(f2->fs, ino);
	if (err)
		return f2_errno(err);
	err = ext2fs_file_open(f2->fs, ino, EXT2_FILE_WRITE, &file);
	if (err)
		return f2_errno(err);
	/* Zeroes the block past isize too. */
	err = ext2fs_file_set_size2(file, isize);
	err2 = ext2fs_file_close(file);
	ret = f2_errno(err ? err : err2);
	if (!ret)
		ret = f2_read_inode(f2, ino, inode);
	/* Now extent-mapped: it may switch to iomap (iomap_notify.c). */
	if (!ret)
		f2_iomap_mode_changed(f2, ino);
	return ret;
}

/*
 * Give an inline file nsize bytes, with size bytes of data copied in at
 * off: the shared tail of f2_inline_write() and f2_inline_truncate().
 * Returns like them.
 */
static int f2_inline_store(struct fuse2fs *f2, ext2_ino_t ino,
			   struct ext2_inode_large *inode, uint64_t nsize,
			   const char *data, size_t size, off_t off)
{
	errcode_t err;
	char *buf;
	int ret;

	if (nsize >= f2->fs->blocksize)
		goto expand;
	err = f2_inline_load(f2, ino, inode, nsize, &buf, NULL);
	if (err)
		return f2_errno(err);
	if (size)
		memcpy(buf + off, data, size);
	/* Shrinking: what was past the new end must read back as zeroes. */
	err = ext2fs_inline_data_set(f2->fs, ino, (struct ext2_inode *)inode,
				     buf, nsize);
	free(buf);
	if (err == EXT2_ET_INLINE_DATA_NO_SPACE)
		goto expand;
	if (err)
		return f2_errno(err);
	ret = f2_read_inode(f2, ino, inode);
	if (ret)
		return ret;
	err = ext2fs_inode_size_set(f2->fs, (struct ext2_inode *)inode, nsize);
	if (err)
		return f2_errno(err);
	return f2_write_inode(f2, ino, inode);

expand:
	ret = f2_inline_expand(f2, ino, inode);
	return ret ? ret : EAGAIN;
}

/*
 * Store [off, off + size) of an inline file.  Returns 0 when done inline,
 * or EAGAIN after moving the data into blocks: the caller then writes
 * through the block path with the reread *inode.
 */
int f2_inline_write(struct fuse2fs *f2, ext2_ino_t ino,
		    struct ext2_inode_large *inode, const char *data,
		    size_t size, off_t off)
{
	uint64_t isize = EXT2_I_SIZE(inode);
	uint64_t end = (uint64_t)off + size;

	return f2_inline_store(f2, ino, inode, end > isize ? end : isize,
			       data, size, off);
}

/* Truncate or extend an inline file; like f2_inline_write's return. */
int f2_inline_truncate(struct fuse2fs *f2, ext2_ino_t ino,
		       struct ext2_inode_large *inode, uint64_t size)
{
	return f2_inline_store(f2, ino, inode, size, NULL, 0, 0);
}
