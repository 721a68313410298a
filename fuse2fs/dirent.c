// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: adding and removing one entry of a linear directory in place.
 *
 * ext2fs_link() and ext2fs_unlink() walk the directory from its first
 * block, reading and checksumming every block, so filling a directory
 * with n files costs n^2/2 block reads.  Here an entry goes into the
 * directory's last block when it has room (where appends land anyway),
 * and is removed from the block the name index remembers for it; both
 * read and write that one block.  Anything else (htree and inline
 * directories, a full last block, a stale hint) returns EAGAIN and the
 * caller falls back to libext2fs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"
#include "dircheck.h"

struct f2_dirblock {
	blk64_t pblk;
	char *buf;
	unsigned int limit;	/* end of the entries (before a csum tail) */
};

/* Read logical block lblk of a linear directory, or EAGAIN. */
static int f2_dirblock_read(struct fuse2fs *f2, ext2_ino_t dir,
			    struct ext2_inode_large *inode, blk64_t lblk,
			    struct f2_dirblock *b)
{
	ext2_filsys fs = f2->fs;
	errcode_t err;

	if (inode->i_flags & (EXT2_INDEX_FL | EXT4_INLINE_DATA_FL))
		return EAGAIN;
	err = ext2fs_bmap2(fs, dir, (struct ext2_inode *)inode, NULL, 0, lblk,
			   NULL, &b->pblk);
	if (err || !b->pblk)
		return EAGAIN;
	b->buf = malloc(fs->blocksize);
	if (!b->buf)
		return ENOMEM;
	err = ext2fs_read_dir_block4(fs, b->pblk, b->buf, 0, dir);
	if (err) {
		free(b->buf);
		return EAGAIN;	/* libext2fs reports it properly */
	}
	b->limit = fs->blocksize;
	if (ext2fs_has_feature_metadata_csum(fs->super))
		b->limit -= sizeof(struct ext2_dir_entry_tail);
	return 0;
}

static int f2_dirblock_write(struct fuse2fs *f2, ext2_ino_t dir,
			     struct f2_dirblock *b)
{
	errcode_t err;

	err = ext2fs_write_dir_block4(f2->fs, b->pblk, b->buf, 0, dir);
	free(b->buf);
	return f2_errno(err);
}

/* The entry at off, or NULL when it is not sound (dircheck.c). */
static struct ext2_dir_entry *f2_dirent_at(struct fuse2fs *f2,
					   struct f2_dirblock *b,
					   unsigned int off, unsigned int *rec)
{
	if (!f2_dirent_sound(f2->fs, b->buf, off, b->limit, rec))
		return NULL;
	return (struct ext2_dir_entry *)(b->buf + off);
}

int f2_dirent_add(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		  ext2_ino_t ino, int ftype, uint32_t *lblk_out)
{
	return f2_dirent_add_len(f2, dir, name, strlen(name), ino, ftype,
				 lblk_out);
}

int f2_dirent_add_len(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		      size_t len, ext2_ino_t ino, int ftype,
		      uint32_t *lblk_out)
{
	unsigned int need = EXT2_DIR_REC_LEN(len);
	struct ext2_inode_large inode;
	struct ext2_dir_entry *d, *n;
	unsigned int off, rec, used;
	struct f2_dirblock b;
	blk64_t lblk;
	int ret;

	ret = f2_read_inode(f2, dir, &inode);
	if (ret)
		return ret;
	if (EXT2_I_SIZE(&inode) < f2->fs->blocksize)
		return EAGAIN;
	lblk = EXT2_I_SIZE(&inode) / f2->fs->blocksize - 1;
	ret = f2_dirblock_read(f2, dir, &inode, lblk, &b);
	if (ret)
		return ret;
	for (off = 0; off < b.limit; off += rec) {
		d = f2_dirent_at(f2, &b, off, &rec);
		if (!d)
			break;
		used = d->inode ? EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(d)) :
				  0;
		if (rec - used < need)
			continue;
		if (used) {
			ext2fs_set_rec_len(f2->fs, used, d);
			n = (struct ext2_dir_entry *)(b.buf + off + used);
			ext2fs_set_rec_len(f2->fs, rec - used, n);
		} else {
			n = d;
		}
		n->inode = ino;
		ext2fs_dirent_set_name_len(n, len);
		ext2fs_dirent_set_file_type(n,
			ext2fs_has_feature_filetype(f2->fs->super) ? ftype : 0);
		memcpy(n->name, name, len);
		*lblk_out = (uint32_t)lblk;
		return f2_dirblock_write(f2, dir, &b);
	}
	free(b.buf);
	return EAGAIN;
}

int f2_dirent_remove(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		     ext2_ino_t ino, uint32_t lblk)
{
	unsigned int len = strlen(name), off, rec, prev_rec = 0;
	struct ext2_dir_entry *d, *prev = NULL;
	struct ext2_inode_large inode;
	struct f2_dirblock b;
	int ret;

	if (lblk == F2_LBLK_UNKNOWN)
		return EAGAIN;
	ret = f2_read_inode(f2, dir, &inode);
	if (ret)
		return ret;
	ret = f2_dirblock_read(f2, dir, &inode, lblk, &b);
	if (ret)
		return ret;
	for (off = 0; off < b.limit; off += rec) {
		d = f2_dirent_at(f2, &b, off, &rec);
		if (!d)
			break;
		if (d->inode == ino && ext2fs_dirent_name_len(d) == (int)len &&
		    !memcmp(d->name, name, len)) {
			/* Fold into the previous entry, as ext2fs_unlink(). */
			if (prev)
				ext2fs_set_rec_len(f2->fs, prev_rec + rec, prev);
			else
				d->inode = 0;
			return f2_dirblock_write(f2, dir, &b);
		}
		prev = d;
		prev_rec = rec;
	}
	free(b.buf);
	return EAGAIN;
}
