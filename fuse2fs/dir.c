// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR and FSYNCDIR.
 *
 * A directory offset names a place in the directory, not an index: the
 * logical block holding the entry (an inline directory's pseudo block,
 * see dircheck.h) in the upper bits and the entry's byte offset in that
 * block in the low 16.  libext2fs adds entries into
 * free space and merges removed ones into their predecessor, so the
 * entries a reader has not seen yet keep their places while it reads.
 * (Splitting an htree leaf is the exception; POSIX leaves entries that
 * change under a reader unspecified.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"
#include "dircheck.h"
#include "fscrypt.h"

#define F2_DIRPOS_SHIFT 16	/* blocks are at most 64 KiB */

struct f2_readdir_ctx {
	fuse_req_t req;
	struct fuse2fs *f2;
	bool plus;
	char *buf;
	size_t size;
	size_t used;
	off_t start;		/* first position to return */
	int err;
	/* An encrypted directory: its keys, or the hash for no-key names. */
	bool crypt_dir;
	struct f2c_keys keys;
	int hash_version;
};

static mode_t f2_ftype_mode(int ftype)
{
	switch (ftype) {
	case EXT2_FT_REG_FILE:
		return S_IFREG;
	case EXT2_FT_DIR:
		return S_IFDIR;
	case EXT2_FT_CHRDEV:
		return S_IFCHR;
	case EXT2_FT_BLKDEV:
		return S_IFBLK;
	case EXT2_FT_FIFO:
		return S_IFIFO;
	case EXT2_FT_SOCK:
		return S_IFSOCK;
	case EXT2_FT_SYMLINK:
		return S_IFLNK;
	default:
		return 0;	/* DT_UNKNOWN: no filetype feature */
	}
}

/* Pack one entry at position pos; DIRENT_ABORT once the buffer is full. */
static int f2_readdir_emit(struct f2_readdir_ctx *c,
			   struct ext2_dir_entry *dirent, off_t pos)
{
	int len = ext2fs_dirent_name_len(dirent);
	char name[EXT2_NAME_LEN + 1];
	struct fuse_entry_param e;
	uint32_t flags = 0;
	off_t next = pos + 1;
	size_t need;

	if (c->crypt_dir) {
		uint32_t h = 0, mh = 0;
		size_t n;

		if (!c->keys.has_key)
			f2c_nokey_hash(c->f2, c->hash_version,
				       (uint8_t *)dirent->name, len, &h, &mh);
		c->err = f2c_name_present(&c->keys, h, mh,
					  (uint8_t *)dirent->name, len, name,
					  &n);
		if (c->err)
			return DIRENT_ABORT;
	} else {
		memcpy(name, dirent->name, len);
		name[len] = '\0';
	}

	if (!c->plus) {
		struct stat st;

		memset(&st, 0, sizeof(st));
		st.st_ino = dirent->inode;
		st.st_mode = f2_ftype_mode(ext2fs_dirent_file_type(dirent));
		need = fuse_add_direntry(c->req, c->buf + c->used,
					 c->size - c->used, name, &st, next);
		if (need > c->size - c->used)
			return DIRENT_ABORT;
		c->used += need;
		return 0;
	}

	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		/* No lookup reference for "." and "..": the kernel skips them. */
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = dirent->inode;
		e.attr.st_mode = S_IFDIR;
	} else {
		c->err = f2_fill_entry(c->f2, dirent->inode, &e, &flags);
		if (c->err)
			return DIRENT_ABORT;
		/* Its name changes with the key: look it up again. */
		if (c->crypt_dir)
			e.entry_timeout = 0;
	}
	need = fuse_iomap_add_direntry_plus(c->req, c->buf + c->used,
					    c->size - c->used, name, &e, next,
					    flags);
	if (need > c->size - c->used)
		return DIRENT_ABORT;
	/* Uncounted, an entry must not go out: the inode could be freed */
	if (e.ino && f2_lookup_ref(c->f2, dirent->inode)) {
		c->err = ENOMEM;
		return DIRENT_ABORT;
	}
	c->used += need;
	return 0;
}

/*
 * Pack the sound entries of one block from the start position on.  A
 * damaged block's remainder is skipped, as ext4's readdir skips it (the
 * walk logs it): what can be read is listed.
 */
static int f2_readdir_block(struct fuse2fs *f2, const struct f2_dirblk *b,
			    void *priv)
{
	struct f2_readdir_ctx *c = priv;
	struct ext2_dir_entry *d;
	unsigned int off, rec;
	off_t pos;

	for (off = 0; off < b->good; off += rec) {
		d = (struct ext2_dir_entry *)(b->buf + off);
		ext2fs_get_rec_len(f2->fs, d, &rec);
		pos = (off_t)((b->lblk << F2_DIRPOS_SHIFT) | off);
		if (!d->inode || pos < c->start)
			continue;
		if (f2_readdir_emit(c, d, pos) == DIRENT_ABORT)
			return -1;	/* full, or c->err */
	}
	return 0;
}

static void f2_do_readdir(fuse_req_t req, fuse_ino_t nodeid, size_t size,
			  off_t off, bool plus)
{
	struct f2_readdir_ctx c = {
		.req = req,
		.f2 = f2_get(req),
		.plus = plus,
		.size = size,
		.start = off,
	};
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(c.f2, f2_ino(nodeid), &inode);
	if (!ret && !LINUX_S_ISDIR(inode.i_mode))
		ret = ENOTDIR;
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	if (f2c_encrypted(&inode)) {
		ret = f2c_inode_keys(c.f2, f2_ino(nodeid), &c.keys);
		if (ret) {
			fuse_reply_err(req, ret);
			return;
		}
		c.crypt_dir = true;
		c.hash_version = f2c_nokey_hash_version(c.f2, &inode);
	}
	c.buf = malloc(size);
	if (!c.buf) {
		f2c_keys_wipe(&c.keys);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = f2_dir_walk(c.f2, f2_ino(nodeid), &inode,
			  (uint64_t)off >> F2_DIRPOS_SHIFT, f2_readdir_block,
			  &c, NULL);
	if (ret < 0)
		ret = c.err;
	/* Entries already packed carry references: they must go out. */
	if (ret && !c.used)
		fuse_reply_err(req, ret);
	else
		fuse_reply_buf(req, c.buf, c.used);
	free(c.buf);
	f2c_keys_wipe(&c.keys);
}

void f2_op_opendir(fuse_req_t req, fuse_ino_t nodeid,
		   struct fuse_file_info *fi)
{
	struct fuse2fs *f2 = f2_get(req);
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, f2_ino(nodeid), &inode);
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	if (!LINUX_S_ISDIR(inode.i_mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fuse_reply_open(req, fi);
}

void f2_op_readdir(fuse_req_t req, fuse_ino_t nodeid, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	f2_do_readdir(req, nodeid, size, off, false);
}

void f2_op_readdirplus(fuse_req_t req, fuse_ino_t nodeid, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	f2_do_readdir(req, nodeid, size, off, true);
}

void f2_op_releasedir(fuse_req_t req, fuse_ino_t nodeid,
		      struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

void f2_op_fsyncdir(fuse_req_t req, fuse_ino_t nodeid, int datasync,
		    struct fuse_file_info *fi)
{
	fuse_reply_err(req, f2_sync(f2_get(req)));
}
