// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directory operations in encrypted directories: the rules fscrypt puts
 * on the name space (fscrypt.rst, "Access semantics"), and removing an
 * entry by its on-disk name, which may hold NUL bytes that libext2fs's
 * string-based ext2fs_unlink() cannot name.
 */
#include <errno.h>
#include <string.h>

#include "fscrypt.h"
#include "xattr.h"

bool f2c_dir_encrypted(struct fuse2fs *f2, ext2_ino_t dir)
{
	struct ext2_inode_large inode;

	if (!ext2fs_has_feature_encrypt(f2->fs->super))
		return false;
	return !f2_read_inode(f2, dir, &inode) && f2c_encrypted(&inode);
}

int f2c_dir_lookup(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		   ext2_ino_t *ino)
{
	uint8_t disk[EXT2_NAME_LEN];
	size_t len;

	return f2c_lookup(f2, dir, name, ino, disk, &len);
}

/* The policy part of a context: everything but the nonce. */
static int read_policy(struct fuse2fs *f2, ext2_ino_t ino,
		       struct f2c_ctx *ctx)
{
	void *val;
	size_t len;
	int ret;

	ret = f2_xattr_read(f2, ino, "c", &val, &len);
	if (ret)
		return ret;
	ret = f2c_ctx_parse(val, len, ctx);
	ext2fs_free_mem(&val);
	memset(ctx->nonce, 0, sizeof(ctx->nonce));
	return ret;
}

/* fscrypt_has_permitted_context(): may child live in dir? */
static bool permitted(struct fuse2fs *f2, ext2_ino_t dir, ext2_ino_t child)
{
	struct ext2_inode_large d, c;
	struct f2c_ctx pd, pc;

	if (f2_read_inode(f2, dir, &d) || f2_read_inode(f2, child, &c))
		return false;
	if (!f2c_encrypted(&d))
		return true;
	if (!LINUX_S_ISREG(c.i_mode) && !LINUX_S_ISDIR(c.i_mode) &&
	    !LINUX_S_ISLNK(c.i_mode))
		return true;
	if (!f2c_encrypted(&c))
		return false;
	if (read_policy(f2, dir, &pd) || read_policy(f2, child, &pc))
		return false;
	return !memcmp(&pd, &pc, sizeof(pd));
}

static int require_dir_key(struct fuse2fs *f2, ext2_ino_t dir)
{
	struct f2c_keys keys;
	int ret;

	if (!f2c_dir_encrypted(f2, dir))
		return 0;
	ret = f2c_require_keys(f2, dir, &keys);
	f2c_keys_wipe(&keys);
	return ret;
}

int f2c_may_add(struct fuse2fs *f2, ext2_ino_t dir)
{
	return require_dir_key(f2, dir);
}

int f2c_check_link(struct fuse2fs *f2, ext2_ino_t dir, ext2_ino_t ino)
{
	int ret = require_dir_key(f2, dir);

	if (!ret && !permitted(f2, dir, ino))
		ret = EXDEV;
	return ret ? ret : f2c_may_add(f2, dir);
}

int f2c_check_rename(struct fuse2fs *f2, ext2_ino_t olddir, ext2_ino_t src,
		     ext2_ino_t newdir, ext2_ino_t dst, bool exchange)
{
	int ret;

	ret = require_dir_key(f2, olddir);
	if (!ret)
		ret = require_dir_key(f2, newdir);
	if (ret)
		return ret;
	if (olddir != newdir && !permitted(f2, newdir, src))
		return EXDEV;
	if (exchange && olddir != newdir && dst && !permitted(f2, olddir, dst))
		return EXDEV;
	return 0;
}

struct remove_ctx {
	ext2_filsys fs;
	const uint8_t *name;
	size_t len;
	ext2_ino_t ino;
	bool done;
};

static int remove_proc(ext2_ino_t dir, int entry, struct ext2_dir_entry *d,
		       int offset, int blocksize, char *buf, void *priv)
{
	struct remove_ctx *r = priv;
	struct ext2_dir_entry *prev = NULL, *e;
	unsigned int off = 0, rec, drec;

	if (d->inode != r->ino || ext2fs_dirent_name_len(d) != (int)r->len ||
	    memcmp(d->name, r->name, r->len))
		return 0;
	if (ext2fs_get_rec_len(r->fs, d, &drec))
		return DIRENT_ABORT;
	/* Fold into the entry before it in the block, as ext4 does. */
	while (off < (unsigned int)offset) {
		e = (struct ext2_dir_entry *)(buf + off);
		if (ext2fs_get_rec_len(r->fs, e, &rec) || rec < 8)
			break;
		if (off + rec == (unsigned int)offset)
			prev = e;
		off += rec;
	}
	if (prev) {
		ext2fs_get_rec_len(r->fs, prev, &rec);
		ext2fs_set_rec_len(r->fs, rec + drec, prev);
	} else {
		d->inode = 0;
	}
	r->done = true;
	return DIRENT_CHANGED | DIRENT_ABORT;
}

int f2c_remove_entry(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		     ext2_ino_t ino)
{
	uint8_t disk[EXT2_NAME_LEN];
	struct remove_ctx r = { .fs = f2->fs, .name = disk, .ino = ino };
	ext2_ino_t found;
	errcode_t err;
	int ret;

	if (!f2c_dir_encrypted(f2, dir))
		return EAGAIN;
	ret = f2c_lookup(f2, dir, name, &found, disk, &r.len);
	if (!ret && found != ino)
		ret = ENOENT;
	if (ret)
		return ret;
	err = ext2fs_dir_iterate2(f2->fs, dir, 0, NULL, remove_proc, &r);
	f2_dcache_forget(f2, dir);
	if (err)
		return f2_errno(err);
	return r.done ? 0 : ENOENT;
}
