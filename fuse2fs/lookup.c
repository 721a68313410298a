// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: LOOKUP and FORGET.
 */
#include <errno.h>
#include <string.h>

#include "fuse2fs.h"
#include "fscrypt.h"

/* Find name in directory dir; 0 or a positive errno. */
int f2_lookup_name(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		   ext2_ino_t *ino)
{
	size_t len = strlen(name);
	errcode_t err;

	if (len > EXT2_NAME_LEN)
		return ENAMETOOLONG;
	/* ".." is stored in the clear, also in an encrypted directory. */
	if (strcmp(name, "..") && f2c_dir_encrypted(f2, dir))
		return f2c_dir_lookup(f2, dir, name, ino);
	if (f2->dcache)
		return f2_dcache_lookup(f2, dir, name, ino);
	err = ext2fs_lookup(f2->fs, dir, name, (int)len, NULL, ino);
	return f2_errno(err);
}

/*
 * File handles (open_by_handle_at(2), NFS export) name a node id and a
 * generation; when the kernel no longer has that inode it looks up "."
 * in it (the generation it checks itself).  Handles come from outside,
 * an NFS client may forge one, so "." answers only for inodes a path
 * could reach: the root and in-use inodes, never a reserved or special
 * one (journal, quota, orphan file, xattr value inodes) and never one
 * the inode bitmap calls free.  ESTALE is what the kernel passes on for
 * a handle that names nothing.
 */
static bool f2_special_inode(const struct ext2_super_block *sb,
			     ext2_ino_t ino)
{
	return ino == sb->s_journal_inum || ino == sb->s_usr_quota_inum ||
	       ino == sb->s_grp_quota_inum || ino == sb->s_prj_quota_inum ||
	       ino == sb->s_orphan_file_inum;
}

static int f2_lookup_self(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct ext2_super_block *sb = f2->fs->super;
	struct ext2_inode_large inode;
	int ret;

	if (ino != EXT2_ROOT_INO &&
	    (ino < EXT2_FIRST_INODE(sb) || ino > sb->s_inodes_count ||
	     f2_special_inode(sb, ino)))
		return ESTALE;
	if (f2->fs->inode_map &&
	    !ext2fs_test_inode_bitmap2(f2->fs->inode_map, ino))
		return ESTALE;
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	/* i_dtime of a linked inode is an orphan list link, not a death */
	if (!inode.i_links_count || !f2_mode_to_ftype(inode.i_mode) ||
	    (inode.i_flags & EXT4_EA_INODE_FL))
		return ESTALE;
	return 0;
}

void f2_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino;
	bool crypt;
	int ret;

	if (!strcmp(name, ".")) {
		/* A forged node id past 32 bits must not wrap to an inode. */
		ret = f2_nodeid(f2_ino(parent)) == parent ?
		      f2_lookup_self(f2, f2_ino(parent)) : ESTALE;
		if (ret)
			fuse_reply_err(req, ret);
		else
			f2_reply_entry_ttl(req, f2, f2_ino(parent), 0);
		return;
	}
	/* Names in an encrypted directory change meaning with the key. */
	crypt = f2c_dir_encrypted(f2, f2_ino(parent));
	ret = f2_lookup_name(f2, f2_ino(parent), name, &ino);
	if (ret == ENOENT) {
		/*
		 * Every change goes through this mount, so the kernel may
		 * cache the miss: a zero nodeid is a negative entry.
		 */
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.entry_timeout = crypt ? 0 : f2->timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	f2_reply_entry_ttl(req, f2, ino, crypt ? 0 : f2->timeout);
}

void f2_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	f2_lookup_unref(f2_get(req), f2_ino(ino), nlookup);
	fuse_reply_none(req);
}

void f2_op_forget_multi(fuse_req_t req, size_t count,
			struct fuse_forget_data *forgets)
{
	struct fuse2fs *f2 = f2_get(req);
	size_t i;

	for (i = 0; i < count; i++)
		f2_lookup_unref(f2, f2_ino(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}
