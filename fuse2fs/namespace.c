// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: the name space: READLINK, MKNOD, MKDIR, UNLINK, RMDIR, SYMLINK,
 * RENAME and LINK, and the directory-entry helpers they share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include <linux/fs.h>

#include "fuse2fs.h"
#include "acl.h"
#include "dircheck.h"
#include "fscrypt.h"
#include "watchdog.h"

/*
 * A new inode's generation.  File handles (NFS, open_by_handle_at) name
 * an inode by number and generation, so the generation is all that
 * stands between a forged handle and a file of a reused number: it comes
 * from the kernel's random source, not from a time-seeded random().
 */
static uint32_t f2_new_generation(void)
{
	uint32_t gen;

	if (getrandom(&gen, sizeof(gen), GRND_NONBLOCK) == sizeof(gen))
		return gen;
	return (uint32_t)random();
}

int f2_mode_to_ftype(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return EXT2_FT_REG_FILE;
	case S_IFDIR:
		return EXT2_FT_DIR;
	case S_IFCHR:
		return EXT2_FT_CHRDEV;
	case S_IFBLK:
		return EXT2_FT_BLKDEV;
	case S_IFIFO:
		return EXT2_FT_FIFO;
	case S_IFSOCK:
		return EXT2_FT_SOCK;
	case S_IFLNK:
		return EXT2_FT_SYMLINK;
	default:
		return EXT2_FT_UNKNOWN;
	}
}

/* Update a directory's mtime and ctime after its entries changed. */
static int f2_dir_touch(struct fuse2fs *f2, ext2_ino_t dir, int nlink_delta)
{
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, dir, &inode);
	if (ret)
		return ret;
	if (nlink_delta > 0)
		f2_dir_inc_nlink(f2, &inode);
	else if (nlink_delta < 0)
		f2_dir_dec_nlink(&inode);
	f2_touch(&inode, F2_MTIME | F2_CTIME);
	return f2_write_inode(f2, dir, &inode);
}

/*
 * A directory's new times once its entries changed, when nothing else
 * of it changes: the update is done and consistent either way, so a
 * failure here is only logged.
 */
static void f2_dir_times(struct fuse2fs *f2, ext2_ino_t dir)
{
	int ret = f2_dir_touch(f2, dir, 0);

	if (ret)
		fprintf(stderr, "fuse2fs: directory %u: times not updated: %s\n",
			dir, strerror(ret));
}

/*
 * A directory's link count: 2 plus its subdirectories, or 1 once that no
 * longer fits (dir_nlink), as ext4 does.
 */
void f2_dir_inc_nlink(struct fuse2fs *f2, struct ext2_inode_large *inode)
{
	if (inode->i_links_count == 1)
		return;
	if (inode->i_links_count + 1 >= EXT2_LINK_MAX &&
	    ext2fs_has_feature_dir_nlink(f2->fs->super))
		inode->i_links_count = 1;
	else
		inode->i_links_count++;
}

void f2_dir_dec_nlink(struct ext2_inode_large *inode)
{
	if (inode->i_links_count > 2)
		inode->i_links_count--;
}

static bool f2_dir_full(struct fuse2fs *f2, struct ext2_inode_large *inode)
{
	return inode->i_links_count >= EXT2_LINK_MAX - 1 &&
	       !ext2fs_has_feature_dir_nlink(f2->fs->super);
}

/*
 * Add name -> ino to dir, growing the directory when it is full.  An
 * htree directory grows through ext2fs_link() itself (1.46+ keeps the
 * index up to date); only a linear or inline one is expanded here.
 */
int f2_add_link(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		ext2_ino_t ino, int ftype)
{
	struct ext2_inode_large inode;
	uint32_t lblk;
	errcode_t err;
	int ret;

	/* libext2fs may only see a checked directory (dircheck.c). */
	ret = f2_dir_usable(f2, dir);
	if (ret)
		return ret;
	ret = f2c_add_link(f2, dir, name, ino, ftype);
	if (ret != EAGAIN)
		return ret;
	ret = f2_dirent_add(f2, dir, name, ino, ftype, &lblk);
	if (ret != EAGAIN) {
		if (ret)
			f2_dcache_forget(f2, dir);
		else
			f2_dcache_set(f2, dir, name, ino, lblk);
		return ret;
	}
	/*
	 * Growing the directory (a block, or out of the inode when inline)
	 * takes several writes inside libext2fs: all or nothing.
	 */
	f2_txn_begin();
	err = ext2fs_link(f2->fs, dir, name, ino, ftype);
	if (err == EXT2_ET_DIR_NO_SPACE) {
		ret = f2_read_inode(f2, dir, &inode);
		if (!ret && inode.i_flags & EXT2_INDEX_FL)
			ret = ENOSPC;
		if (ret) {
			f2_dcache_forget(f2, dir);
			return f2_txn_end(ret);
		}
		err = ext2fs_expand_dir(f2->fs, dir);
		if (!err)
			err = ext2fs_link(f2->fs, dir, name, ino, ftype);
	}
	ret = f2_txn_end(f2_errno(err));
	if (ret)
		f2_dcache_forget(f2, dir);
	else
		f2_dcache_set(f2, dir, name, ino, F2_LBLK_UNKNOWN);
	return ret;
}

/* Remove name (which must point at ino) from dir. */
static int f2_remove_link(struct fuse2fs *f2, ext2_ino_t dir,
			  const char *name, ext2_ino_t ino)
{
	errcode_t err;
	int ret;

	ret = f2_dir_usable(f2, dir);
	if (ret)
		return ret;
	ret = f2c_remove_entry(f2, dir, name, ino);
	if (ret != EAGAIN)
		return ret;
	ret = f2_dirent_remove(f2, dir, name, ino,
			       f2_dcache_where(f2, dir, name));
	if (ret != EAGAIN) {
		if (ret)
			f2_dcache_forget(f2, dir);
		else
			f2_dcache_remove(f2, dir, name);
		return ret;
	}
	err = ext2fs_unlink(f2->fs, dir, name, ino, 0);
	if (err)
		f2_dcache_forget(f2, dir);
	else
		f2_dcache_remove(f2, dir, name);
	return f2_errno(err);
}

struct f2_set_entry {
	const char *name;
	int len;
	ext2_ino_t ino;
	int ftype;
	bool done;
};

static int f2_set_entry_proc(ext2_ino_t dir, int entry,
			     struct ext2_dir_entry *dirent, int offset,
			     int blocksize, char *buf, void *priv)
{
	struct f2_set_entry *s = priv;

	if (!dirent->inode || ext2fs_dirent_name_len(dirent) != s->len ||
	    memcmp(dirent->name, s->name, s->len))
		return 0;
	dirent->inode = s->ino;
	ext2fs_dirent_set_file_type(dirent, s->ftype);
	s->done = true;
	return DIRENT_CHANGED | DIRENT_ABORT;
}

/* Point the existing entry name in dir at ino, in place. */
static int f2_set_entry(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
			ext2_ino_t ino, int ftype)
{
	struct f2_set_entry s = {
		.name = name, .len = (int)strlen(name), .ino = ino,
	};
	char disk[EXT2_NAME_LEN];
	size_t disk_len;
	errcode_t err;
	int ret;

	ret = f2_dir_usable(f2, dir);
	if (ret)
		return ret;
	/* An encrypted directory's entry goes by its on-disk name. */
	ret = f2c_disk_name(f2, dir, name, disk, &disk_len);
	if (!ret) {
		s.name = disk;
		s.len = (int)disk_len;
	} else if (ret != EAGAIN) {
		return ret;
	}
	s.ftype = ext2fs_has_feature_filetype(f2->fs->super) ? ftype : 0;
	err = ext2fs_dir_iterate2(f2->fs, dir, 0,
				  NULL, f2_set_entry_proc, &s);
	if (err || !s.done || s.name == disk) {
		f2_dcache_forget(f2, dir);
		return err ? f2_errno(err) : s.done ? 0 : ENOENT;
	}
	f2_dcache_set(f2, dir, name, ino, F2_LBLK_KEEP);
	return 0;
}

static int f2_empty_proc(ext2_ino_t dir, int entry,
			 struct ext2_dir_entry *dirent, int offset,
			 int blocksize, char *buf, void *priv)
{
	int len = ext2fs_dirent_name_len(dirent);

	if (!dirent->inode)
		return 0;
	if ((len == 1 && dirent->name[0] == '.') ||
	    (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
		return 0;
	*(bool *)priv = false;
	return DIRENT_ABORT;
}

static int f2_dir_is_empty(struct fuse2fs *f2, ext2_ino_t dir, bool *empty)
{
	errcode_t err;
	int ret;

	*empty = true;
	ret = f2_dir_usable(f2, dir);
	if (ret)
		return ret;
	/* The test hook iterates until the watchdog fails a read. */
	do {
		err = ext2fs_dir_iterate2(f2->fs, dir, 0,
					  NULL, f2_empty_proc, empty);
	} while (!err && f2_wd_stall("dir_is_empty", dir));
	return f2_errno(err);
}

/*
 * ext4's inode flags are not the VFS's here (FUSE inodes carry none), so
 * the server applies may_create()/may_delete()'s immutable and
 * append-only rules itself.
 */
static int f2_may_create(struct fuse2fs *f2, ext2_ino_t dir)
{
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, dir, &inode);
	if (ret)
		return ret;
	if (!LINUX_S_ISDIR(inode.i_mode))
		return ENOTDIR;
	if (inode.i_flags & EXT2_IMMUTABLE_FL)
		return EPERM;
	return 0;
}

static int f2_may_delete(struct fuse2fs *f2, ext2_ino_t dir, ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, dir, &inode);
	if (ret)
		return ret;
	if (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return EPERM;
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return EPERM;
	return 0;
}

static int f2_check_new_name(struct fuse2fs *f2, ext2_ino_t parent,
			     const char *name)
{
	ext2_ino_t ino;
	int ret;

	if (f2->ro)
		return EROFS;
	ret = f2_may_create(f2, parent);
	if (!ret)
		ret = f2c_may_add(f2, parent);
	if (ret || !name)
		return ret;
	ret = f2_lookup_name(f2, parent, name, &ino);
	if (!ret)
		return EEXIST;
	return ret == ENOENT ? 0 : ret;
}

/*
 * Read into *pinode the directory parent, where name must be free (name
 * NULL: where an O_TMPFILE file may be made, as if it were named).
 */
static int f2_read_create_parent(struct fuse2fs *f2, ext2_ino_t parent,
				 const char *name,
				 struct ext2_inode_large *pinode)
{
	int ret;

	ret = f2_check_new_name(f2, parent, name);
	if (!ret)
		ret = f2_read_inode(f2, parent, pinode);
	if (!ret && !LINUX_S_ISDIR(pinode->i_mode))
		ret = ENOTDIR;
	return ret;
}

/* Owner and group of a new inode, with the BSD group of a setgid parent. */
static void f2_init_owner(fuse_req_t req, struct ext2_inode_large *parent,
			  struct ext2_inode_large *inode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	f2_set_inode_uid(inode, ctx->uid);
	if (parent->i_mode & LINUX_S_ISGID) {
		f2_set_inode_gid(inode, f2_inode_gid(parent));
		if (LINUX_S_ISDIR(inode->i_mode))
			inode->i_mode |= LINUX_S_ISGID;
	} else {
		f2_set_inode_gid(inode, ctx->gid);
	}
}

static void f2_init_times(struct ext2_inode_large *inode)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	f2_set_times(inode, F2_ATIME | F2_MTIME | F2_CTIME, &now);
	f2_set_crtime(inode, &now);
}

static void f2_init_extra_isize(struct fuse2fs *f2,
				struct ext2_inode_large *inode)
{
	if (EXT2_INODE_SIZE(f2->fs->super) > EXT2_GOOD_OLD_INODE_SIZE)
		inode->i_extra_isize = sizeof(struct ext2_inode_large) -
				       EXT2_GOOD_OLD_INODE_SIZE;
}

/* What every new inode gets once its mode is set: owner, times, extra. */
static void f2_init_new_inode(fuse_req_t req, struct fuse2fs *f2,
			      struct ext2_inode_large *pinode,
			      struct ext2_inode_large *inode)
{
	f2_init_extra_isize(f2, inode);
	f2_init_owner(req, pinode, inode);
	f2_init_times(inode);
}

/* Undo an inode allocated for a name that could not be linked. */
void f2_abandon_inode(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct ext2_inode_large inode;

	if (f2_read_inode(f2, ino, &inode))
		return;
	inode.i_links_count = 0;
	if (!f2_write_inode(f2, ino, &inode))
		f2_maybe_free_inode(f2, ino);
}

/*
 * Make a new regular file, device, fifo or socket named name in parent.
 * On success *ino is linked and its entry may be replied.  With name
 * NULL, an O_TMPFILE file: no name, no link, parent's times untouched;
 * like an unlinked open file it is deleted when the kernel forgets it,
 * unless a LINK names it first.
 */
int f2_make_node(fuse_req_t req, struct fuse2fs *f2, ext2_ino_t parent,
		 const char *name, mode_t mode, dev_t rdev, ext2_ino_t *ino)
{
	struct ext2_inode_large pinode, inode;
	ext2_filsys fs = f2->fs;
	bool inline_data = false;
	errcode_t err;
	int ret;

	ret = f2_read_create_parent(f2, parent, name, &pinode);
	if (ret)
		return ret;
	if (!f2_mode_to_ftype(mode) || S_ISDIR(mode) || S_ISLNK(mode))
		return EINVAL;

	if (f2->posix_acl)
		mode = f2_acl_umask(f2, parent, mode, fuse_req_ctx(req)->umask);
	err = ext2fs_new_inode(fs, parent, mode, NULL, ino);
	if (err)
		return f2_errno(err);

	memset(&inode, 0, sizeof(inode));
	inode.i_mode = mode;
	inode.i_links_count = name ? 1 : 0;
	inode.i_generation = f2_new_generation();
	f2_init_new_inode(req, f2, &pinode, &inode);
	if (S_ISCHR(mode) || S_ISBLK(mode)) {
		f2_set_inode_rdev(&inode, rdev);
	} else if (S_ISREG(mode) && ext2fs_has_feature_inline_data(fs->super) &&
		   !f2c_dir_encrypted(f2, parent)) {
		/* Small files live in the inode, as with ext4. */
		inline_data = true;
		inode.i_flags |= EXT4_INLINE_DATA_FL;
	} else if (S_ISREG(mode) && ext2fs_has_feature_extents(fs->super)) {
		ext2_extent_handle_t handle;

		/* Opening the empty tree writes its header into i_block. */
		inode.i_flags |= EXT4_EXTENTS_FL;
		err = ext2fs_extent_open2(fs, *ino, (struct ext2_inode *)&inode,
					  &handle);
		if (err)
			return f2_errno(err);
		ext2fs_extent_free(handle);
	}

	/*
	 * A reused inode number still has the old inode's in-body xattrs
	 * past the large inode: one write of the whole inode, zeroes past
	 * the structure (two writes, ext2fs_write_new_inode()'s and ours,
	 * could leave a half-made inode when the second fails).
	 */
	ret = f2_write_new_inode(f2, *ino, &inode);
	if (ret)
		return ret;
	ext2fs_inode_alloc_stats2(fs, *ino, 1, 0);
	ret = f2c_inherit(f2, parent, *ino);
	/* The (empty) "system.data" attribute marks the inline area. */
	if (!ret && inline_data)
		ret = f2_errno(ext2fs_inline_data_init(fs, *ino));
	if (!ret && f2->posix_acl)
		ret = f2_acl_inherit(f2, parent, *ino, 0);
	if (ret) {
		f2_abandon_inode(f2, *ino);
		return ret;
	}

	if (!name)
		return 0;
	ret = f2_add_link(f2, parent, name, *ino, f2_mode_to_ftype(mode));
	if (ret) {
		f2_abandon_inode(f2, *ino);
		return ret;
	}
	f2_dir_times(f2, parent);
	return 0;
}

void f2_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino;
	int ret;

	ret = f2_make_node(req, f2, f2_ino(parent), name, mode, rdev, &ino);
	if (ret)
		fuse_reply_err(req, ret);
	else
		f2_reply_entry(req, f2, ino);
}

void f2_op_mkdir(fuse_req_t req, fuse_ino_t parent_id, const char *name,
		 mode_t mode)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t parent = f2_ino(parent_id), ino;
	struct ext2_inode_large pinode, inode;
	errcode_t err;
	int ret;

	ret = f2_read_create_parent(f2, parent, name, &pinode);
	if (!ret && f2_dir_full(f2, &pinode))
		ret = EMLINK;
	if (ret)
		goto out;

	err = ext2fs_new_inode(f2->fs, parent, LINUX_S_IFDIR | 0755, NULL,
			       &ino);
	if (err) {
		ret = f2_errno(err);
		goto out;
	}
	/*
	 * Without a name, ext2fs_mkdir() builds the directory unlinked and
	 * raises the parent's count last.  When it fails it gives the block
	 * and the number back to the bitmaps, but not the inodes it wrote:
	 * a transaction puts those back.
	 */
	f2_txn_begin();
	ret = f2_txn_end(f2_errno(ext2fs_mkdir(f2->fs, parent, ino, NULL)));
	if (ret)
		goto out;

	/* ext2fs_mkdir() raised the parent's count already: apply dir_nlink. */
	ret = f2_read_inode(f2, parent, &pinode);
	if (!ret && pinode.i_links_count >= EXT2_LINK_MAX &&
	    ext2fs_has_feature_dir_nlink(f2->fs->super)) {
		pinode.i_links_count = 1;
		ret = f2_write_inode(f2, parent, &pinode);
	}
	if (!ret)
		ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		goto out;
	/* i_generation seeds the block checksums: keep libext2fs's. */
	if (f2->posix_acl)
		mode = f2_acl_umask(f2, parent, mode,
				    fuse_req_ctx(req)->umask);
	inode.i_mode = LINUX_S_IFDIR | (mode & 07777);
	f2_init_new_inode(req, f2, &pinode, &inode);
	ret = f2_write_inode(f2, ino, &inode);
	if (!ret)
		ret = f2c_inherit(f2, parent, ino);
	if (!ret && f2->posix_acl)
		ret = f2_acl_inherit(f2, parent, ino, 0);
	if (!ret)
		ret = f2_add_link(f2, parent, name, ino, EXT2_FT_DIR);
	if (ret) {
		f2_dir_touch(f2, parent, -1);
		f2_abandon_inode(f2, ino);
		goto out;
	}
	f2_dir_times(f2, parent);
out:
	if (ret)
		fuse_reply_err(req, ret);
	else
		f2_reply_entry(req, f2, ino);
}

void f2_op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent_id,
		   const char *name)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t parent = f2_ino(parent_id), ino;
	struct ext2_inode_large pinode, inode;
	errcode_t err;
	int ret;

	ret = f2_read_create_parent(f2, parent, name, &pinode);
	if (!ret && strlen(target) >= f2->fs->blocksize)
		ret = ENAMETOOLONG;
	if (ret)
		goto out;

	err = ext2fs_new_inode(f2->fs, parent, LINUX_S_IFLNK | 0777, NULL,
			       &ino);
	/* Fast (in i_block), inline or one-block slow link, unlinked. */
	ret = f2_errno(err);
	if (!ret)
		ret = f2c_symlink(f2, parent, ino, target);
	if (ret == EAGAIN) {
		/* It takes the number last: a transaction undoes a failure. */
		f2_txn_begin();
		ret = f2_txn_end(f2_errno(ext2fs_symlink(f2->fs, parent, ino,
							 NULL, target)));
	}
	if (ret)
		goto out;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		goto out;
	f2_init_new_inode(req, f2, &pinode, &inode);
	ret = f2_write_inode(f2, ino, &inode);
	if (!ret)
		ret = f2_add_link(f2, parent, name, ino, EXT2_FT_SYMLINK);
	if (ret)
		f2_abandon_inode(f2, ino);
	else
		f2_dir_times(f2, parent);
out:
	if (ret)
		fuse_reply_err(req, ret);
	else
		f2_reply_entry(req, f2, ino);
}

int f2_symlink_read(struct fuse2fs *f2, ext2_ino_t ino,
		    struct ext2_inode_large *inode, char **bufp)
{
	char *buf = NULL;
	ext2_file_t file;
	unsigned int got = 0;
	uint64_t size;
	errcode_t err;
	int ret;

	*bufp = NULL;
	if (!LINUX_S_ISLNK(inode->i_mode))
		return EINVAL;
	size = EXT2_I_SIZE(inode);
	if (size >= f2->fs->blocksize)
		return EUCLEAN;
	buf = calloc(1, size + 1);
	if (!buf)
		return ENOMEM;
	if (ext2fs_is_fast_symlink((struct ext2_inode *)inode)) {
		memcpy(buf, inode->i_block, size);
		*bufp = buf;
		return 0;
	}
	err = ext2fs_file_open2(f2->fs, ino, (struct ext2_inode *)inode, 0,
				&file);
	if (!err) {
		err = ext2fs_file_read(file, buf, (unsigned int)size, &got);
		ext2fs_file_close(file);
	}
	ret = f2_errno(err);
	if (!ret && got != size)
		ret = EUCLEAN;
	if (ret)
		free(buf);
	else
		*bufp = buf;
	return ret;
}

void f2_op_readlink(fuse_req_t req, fuse_ino_t nodeid)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino = f2_ino(nodeid);
	struct ext2_inode_large inode;
	char *buf = NULL, *target = NULL;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (!ret)
		ret = f2_symlink_read(f2, ino, &inode, &buf);
	if (!ret && f2c_encrypted(&inode)) {
		ret = f2c_symlink_target(f2, ino, (uint8_t *)buf,
					 EXT2_I_SIZE(&inode), &target);
		free(buf);
		buf = target;
	}
	if (ret)
		fuse_reply_err(req, ret);
	else
		fuse_reply_readlink(req, buf);
	free(buf);
}

/*
 * Drop one link of ino (all of a directory's), not freeing it yet: the
 * caller removes the name next and may have to put this back.
 */
static int f2_drop_link(struct fuse2fs *f2, ext2_ino_t ino, bool whole_dir)
{
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (whole_dir)
		inode.i_links_count = 0;
	else if (inode.i_links_count)
		inode.i_links_count--;
	f2_touch(&inode, F2_CTIME);
	return f2_write_inode(f2, ino, &inode);
}


static void f2_remove(fuse_req_t req, fuse_ino_t parent_id, const char *name,
		      bool rmdir)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t parent = f2_ino(parent_id), ino;
	struct ext2_inode_large inode;
	struct f2_undo u = { 0 };
	bool empty;
	int ret;

	if (f2->ro) {
		ret = EROFS;
		goto out;
	}
	ret = f2_lookup_name(f2, parent, name, &ino);
	if (!ret)
		ret = f2_read_inode(f2, ino, &inode);
	/*
	 * In the VFS's order: may this name go at all (EPERM for an
	 * immutable or append-only parent or victim), then the kind of
	 * the victim, and only then whether a directory is empty.
	 */
	if (!ret)
		ret = f2_may_delete(f2, parent, ino);
	if (ret)
		goto out;
	if (rmdir) {
		if (!LINUX_S_ISDIR(inode.i_mode)) {
			ret = ENOTDIR;
			goto out;
		}
		ret = f2_dir_is_empty(f2, ino, &empty);
		if (!ret && !empty)
			ret = ENOTEMPTY;
	} else if (LINUX_S_ISDIR(inode.i_mode)) {
		ret = EISDIR;
	}
	if (ret)
		goto out;

	/*
	 * The counts first, the name last: if removing the name fails, the
	 * saved inodes go back and nothing changed.
	 */
	ret = f2_undo_save(f2, &u, parent);
	if (!ret)
		ret = f2_undo_save(f2, &u, ino);
	if (!ret)
		ret = f2_drop_link(f2, ino, rmdir);
	if (!ret)
		ret = f2_dir_touch(f2, parent, rmdir ? -1 : 0);
	if (!ret)
		ret = f2_remove_link(f2, parent, name, ino);
	if (ret) {
		f2_undo_restore(f2, &u);
		goto out;
	}
	f2_undo_done(&u);
	/* A failure to free is logged; the inode is then an orphan. */
	f2_maybe_free_inode(f2, ino);
out:
	fuse_reply_err(req, ret);
}

void f2_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	f2_remove(req, parent, name, false);
}

void f2_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	f2_remove(req, parent, name, true);
}

void f2_op_link(fuse_req_t req, fuse_ino_t nodeid, fuse_ino_t newparent_id,
		const char *newname)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino = f2_ino(nodeid), newparent = f2_ino(newparent_id);
	struct ext2_inode_large inode;
	int ret;

	ret = f2->ro ? EROFS : f2c_check_link(f2, newparent, ino);
	if (!ret)
		ret = f2_check_new_name(f2, newparent, newname);
	if (!ret)
		ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		goto out;
	if (LINUX_S_ISDIR(inode.i_mode) ||
	    (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))) {
		ret = EPERM;
		goto out;
	}
	if (inode.i_links_count >= EXT2_LINK_MAX) {
		ret = EMLINK;
		goto out;
	}
	ret = f2_add_link(f2, newparent, newname, ino,
			  f2_mode_to_ftype(inode.i_mode));
	if (ret)
		goto out;
	/* The link may have rewritten an inline parent: reread the inode. */
	ret = f2_read_inode(f2, ino, &inode);
	if (!ret) {
		inode.i_links_count++;
		f2_touch(&inode, F2_CTIME);
		ret = f2_write_inode(f2, ino, &inode);
	}
	if (ret) {
		/* No name without its count. */
		f2_remove_link(f2, newparent, newname, ino);
		goto out;
	}
	f2_dir_times(f2, newparent);
out:
	if (ret)
		fuse_reply_err(req, ret);
	else
		f2_reply_entry(req, f2, ino);
}

static int f2_touch_ctime(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	f2_touch(&inode, F2_CTIME);
	return f2_write_inode(f2, ino, &inode);
}

/* One rename: src leaves name in parent for newname in newparent. */
struct f2_rename {
	ext2_ino_t parent, newparent, src, dst;	/* dst 0: none */
	const char *name, *newname;
	int src_type, dst_type;			/* EXT2_FT_* */
	bool exchange;				/* dst takes name */
	struct f2_undo undo;
};

/*
 * The inodes' side of a rename: link counts (a moved directory's "..",
 * a replaced directory, the replaced inode's link) and times, written
 * after all four inodes were saved, so that a failure of any later step
 * puts them back.  The replaced inode is not freed here.
 */
static int f2_rename_counts(struct fuse2fs *f2, struct f2_rename *r)
{
	bool src_dir = r->src_type == EXT2_FT_DIR;
	bool dst_dir = r->dst_type == EXT2_FT_DIR;
	int from = 0, to = 0, ret;

	ret = f2_undo_save(f2, &r->undo, r->parent);
	if (!ret)
		ret = f2_undo_save(f2, &r->undo, r->newparent);
	if (!ret)
		ret = f2_undo_save(f2, &r->undo, r->src);
	if (!ret && r->dst)
		ret = f2_undo_save(f2, &r->undo, r->dst);
	if (ret)
		return ret;
	if (r->parent != r->newparent && src_dir) {
		from--;
		to++;
	}
	if (r->parent != r->newparent && r->exchange && dst_dir) {
		from++;
		to--;
	}
	/* A replaced directory's ".." no longer counts. */
	if (!r->exchange && dst_dir)
		to--;
	ret = f2_touch_ctime(f2, r->src);
	if (!ret && r->dst)
		ret = r->exchange ? f2_touch_ctime(f2, r->dst) :
				    f2_drop_link(f2, r->dst, dst_dir);
	if (ret)
		return ret;
	if (r->parent == r->newparent)
		return f2_dir_touch(f2, r->parent, from + to);
	ret = f2_dir_touch(f2, r->parent, from);
	return ret ? ret : f2_dir_touch(f2, r->newparent, to);
}

/*
 * Point the ".." of directories that changed parent at the new one, or
 * (back) at the old one again.  *done has bit 0 set once src's was set,
 * bit 1 once dst's was, so that going back undoes only those.
 */
static int f2_rename_dotdot(struct fuse2fs *f2, const struct f2_rename *r,
			    bool back, unsigned int *done)
{
	int ret = 0;

	if (r->parent == r->newparent)
		return 0;
	if (r->src_type == EXT2_FT_DIR && (!back || *done & 1)) {
		ret = f2_set_entry(f2, r->src, "..",
				   back ? r->parent : r->newparent,
				   EXT2_FT_DIR);
		if (!ret)
			*done |= 1;
	}
	if (!ret && r->exchange && r->dst_type == EXT2_FT_DIR &&
	    (!back || *done & 2)) {
		ret = f2_set_entry(f2, r->dst, "..",
				   back ? r->newparent : r->parent,
				   EXT2_FT_DIR);
		if (!ret)
			*done |= 2;
	}
	return ret;
}

/*
 * The steps of a rename, each undone in reverse when a later one fails
 * (and the undo itself is the opposite change, which does not fail
 * where the change did not): the new name (added, or pointed at src),
 * the counts and times, the ".." of moved directories, the old name
 * (removed, or pointed at dst for an exchange).  Only then is a
 * replaced inode whose last link went freed.
 */
static int f2_rename_steps(struct fuse2fs *f2, struct f2_rename *r)
{
	unsigned int dotdot = 0;
	int ret;

	if (r->dst)
		ret = f2_set_entry(f2, r->newparent, r->newname, r->src,
				   r->src_type);
	else
		ret = f2_add_link(f2, r->newparent, r->newname, r->src,
				  r->src_type);
	if (ret)
		return ret;
	ret = f2_rename_counts(f2, r);
	if (!ret)
		ret = f2_rename_dotdot(f2, r, false, &dotdot);
	if (!ret && r->exchange)
		ret = f2_set_entry(f2, r->parent, r->name, r->dst,
				   r->dst_type);
	else if (!ret)
		ret = f2_remove_link(f2, r->parent, r->name, r->src);
	if (ret) {
		f2_rename_dotdot(f2, r, true, &dotdot);
		f2_undo_restore(f2, &r->undo);
		if (r->dst)
			f2_set_entry(f2, r->newparent, r->newname, r->dst,
				     r->dst_type);
		else
			f2_remove_link(f2, r->newparent, r->newname, r->src);
		return ret;
	}
	f2_undo_done(&r->undo);
	if (r->dst && !r->exchange)
		f2_maybe_free_inode(f2, r->dst);
	return 0;
}

static int f2_rename_dirs_usable(struct fuse2fs *f2, ext2_ino_t parent,
				 ext2_ino_t newparent, ext2_ino_t src,
				 struct ext2_inode_large *si, ext2_ino_t dst,
				 struct ext2_inode_large *di)
{
	int ret;

	ret = f2_dir_usable(f2, parent);
	if (!ret && newparent != parent)
		ret = f2_dir_usable(f2, newparent);
	if (!ret && LINUX_S_ISDIR(si->i_mode))
		ret = f2_dir_usable(f2, src);
	if (!ret && di && LINUX_S_ISDIR(di->i_mode))
		ret = f2_dir_usable(f2, dst);
	return ret;
}

static int f2_do_rename(struct fuse2fs *f2, ext2_ino_t parent,
			const char *name, ext2_ino_t newparent,
			const char *newname, unsigned int flags)
{
	struct f2_rename r = {
		.parent = parent, .newparent = newparent, .name = name,
		.newname = newname, .exchange = flags & RENAME_EXCHANGE,
	};
	struct ext2_inode_large si, di;
	ext2_ino_t src, dst = 0;
	bool src_dir, empty;
	int ret;

	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return EINVAL;
	if (f2->ro)
		return EROFS;
	if (strlen(newname) > EXT2_NAME_LEN)
		return ENAMETOOLONG;

	ret = f2_lookup_name(f2, parent, name, &src);
	if (!ret)
		ret = f2_read_inode(f2, src, &si);
	if (ret)
		return ret;
	ret = f2_lookup_name(f2, newparent, newname, &dst);
	if (ret == ENOENT)
		dst = 0;
	else if (ret)
		return ret;
	if (dst) {
		if (flags & RENAME_NOREPLACE)
			return EEXIST;
		ret = f2_read_inode(f2, dst, &di);
		if (ret)
			return ret;
	} else if (flags & RENAME_EXCHANGE) {
		return ENOENT;
	}
	ret = f2c_check_rename(f2, parent, src, newparent, dst,
			       flags & RENAME_EXCHANGE);
	if (ret)
		return ret;
	/* Two names of one inode: POSIX says do nothing. */
	if (dst == src)
		return 0;
	ret = f2_may_delete(f2, parent, src);
	if (!ret)
		ret = f2_may_create(f2, newparent);
	if (!ret && dst)
		ret = f2_may_delete(f2, newparent, dst);
	if (!ret && (flags & RENAME_EXCHANGE))
		ret = f2_may_create(f2, parent);
	if (ret)
		return ret;
	/* Every directory the rename changes, checked before the first change. */
	ret = f2_rename_dirs_usable(f2, parent, newparent, src, &si, dst,
				    dst ? &di : NULL);
	if (ret)
		return ret;

	src_dir = LINUX_S_ISDIR(si.i_mode);
	if (dst && !r.exchange) {
		if (src_dir && !LINUX_S_ISDIR(di.i_mode))
			return ENOTDIR;
		if (!src_dir && LINUX_S_ISDIR(di.i_mode))
			return EISDIR;
		if (src_dir) {
			ret = f2_dir_is_empty(f2, dst, &empty);
			if (ret)
				return ret;
			if (!empty)
				return ENOTEMPTY;
		}
	} else if (!dst && src_dir && newparent != parent) {
		struct ext2_inode_large np;

		ret = f2_read_inode(f2, newparent, &np);
		if (!ret && f2_dir_full(f2, &np))
			ret = EMLINK;
		if (ret)
			return ret;
	}
	r.src = src;
	r.dst = dst;
	r.src_type = f2_mode_to_ftype(si.i_mode);
	r.dst_type = dst ? f2_mode_to_ftype(di.i_mode) : 0;
	return f2_rename_steps(f2, &r);
}

void f2_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname,
		  unsigned int flags)
{
	struct fuse2fs *f2 = f2_get(req);

	fuse_reply_err(req, f2_do_rename(f2, f2_ino(parent), name,
					 f2_ino(newparent), newname, flags));
}
