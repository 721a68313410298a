// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: GETATTR and SETATTR.
 *
 * Permission checks and the suid/sgid clearing of chown, chmod and write
 * are the kernel's (default_permissions; FUSE_CAP_HANDLE_KILLPRIV is left
 * off so the kernel sends the cleared mode itself); the server applies
 * what it is told, like ext4's setattr after setattr_prepare().
 */
#include <errno.h>
#include <string.h>

#include "fuse2fs.h"
#include "acl.h"

/* The ATTR reply for inode, with its iomap flag. */
static void f2_reply_attr(fuse_req_t req, struct fuse2fs *f2, ext2_ino_t ino,
			  const struct ext2_inode_large *inode)
{
	struct stat st;

	f2_inode_to_stat(f2, ino, inode, &st);
	fuse_iomap_reply_attr(req, &st, f2->timeout,
			      f2_attr_flags(f2, ino, inode));
}

void f2_op_getattr(fuse_req_t req, fuse_ino_t nodeid,
		   struct fuse_file_info *fi)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino = f2_ino(nodeid);
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	f2_reply_attr(req, f2, ino, &inode);
}

/*
 * notify_change()'s immutable and append-only rules, which the VFS cannot
 * apply to a FUSE inode: an immutable inode changes not at all, an
 * append-only one keeps its owner, mode, size and explicit times.
 */
static int f2_may_setattr(struct fuse2fs *f2, ext2_ino_t ino, int to_set)
{
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	/*
	 * With FUSE_IOMAP negotiated the kernel knows an immutable inode as
	 * such and refuses every user's SETATTR itself; what still comes is
	 * the mtime and ctime it keeps, among them the ctime of the flag
	 * change that made the inode immutable (doc/protocol.md, section 3).
	 */
	if ((inode.i_flags & EXT2_IMMUTABLE_FL) &&
	    !(f2->iomap_negotiated &&
	      !(to_set & ~(FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_CTIME))))
		return EPERM;
	/* A verity file's size is fixed (fsverity_prepare_setattr()). */
	if ((inode.i_flags & EXT4_VERITY_FL) && (to_set & FUSE_SET_ATTR_SIZE))
		return EPERM;
	if (!(inode.i_flags & EXT2_APPEND_FL))
		return 0;
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
		      FUSE_SET_ATTR_GID | FUSE_SET_ATTR_SIZE))
		return EPERM;
	/*
	 * With iomap the kernel knows the flag (FUSE_ATTR_IOMAP_APPEND) and
	 * refuses a user's explicit times itself; the times that still come
	 * are the ones it keeps for appends it wrote without us.
	 */
	if (f2->iomap_negotiated)
		return 0;
	/* touch (times set to now) is still allowed. */
	if ((to_set & FUSE_SET_ATTR_ATIME) &&
	    !(to_set & FUSE_SET_ATTR_ATIME_NOW))
		return EPERM;
	if ((to_set & FUSE_SET_ATTR_MTIME) &&
	    !(to_set & FUSE_SET_ATTR_MTIME_NOW))
		return EPERM;
	return 0;
}

static int f2_setattr_size(struct fuse2fs *f2, ext2_ino_t ino,
			   uint64_t size, bool *changed)
{
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (LINUX_S_ISDIR(inode.i_mode))
		return EISDIR;
	if (!LINUX_S_ISREG(inode.i_mode))
		return EINVAL;
	*changed = EXT2_I_SIZE(&inode) != size;
	return f2_truncate(f2, ino, size);
}

void f2_op_setattr(fuse_req_t req, fuse_ino_t nodeid, struct stat *attr,
		   int to_set, struct fuse_file_info *fi)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino = f2_ino(nodeid);
	struct ext2_inode_large inode;
	struct timespec now;
	bool size_changed = false;
	int ret;

	if (f2->ro) {
		fuse_reply_err(req, EROFS);
		return;
	}
	ret = f2_may_setattr(f2, ino, to_set);
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (attr->st_size < 0) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		ret = f2_setattr_size(f2, ino, attr->st_size, &size_changed);
		if (ret) {
			fuse_reply_err(req, ret);
			return;
		}
	}

	ret = f2_read_inode(f2, ino, &inode);
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);

	if (to_set & FUSE_SET_ATTR_MODE)
		inode.i_mode = (inode.i_mode & LINUX_S_IFMT) |
			       (attr->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		f2_set_inode_uid(&inode, attr->st_uid);
	if (to_set & FUSE_SET_ATTR_GID)
		f2_set_inode_gid(&inode, attr->st_gid);

	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		f2_set_times(&inode, F2_ATIME, &now);
	else if (to_set & FUSE_SET_ATTR_ATIME)
		f2_set_times(&inode, F2_ATIME, &attr->st_atim);

	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		f2_set_times(&inode, F2_MTIME, &now);
	else if (to_set & FUSE_SET_ATTR_MTIME)
		f2_set_times(&inode, F2_MTIME, &attr->st_mtim);
	else if (size_changed)
		/* ext4 moves mtime with a size change even when not asked. */
		f2_set_times(&inode, F2_MTIME, &now);

	if (to_set & FUSE_SET_ATTR_CTIME)
		f2_set_times(&inode, F2_CTIME, &attr->st_ctim);
	else
		f2_set_times(&inode, F2_CTIME, &now);

	ret = f2_write_inode(f2, ino, &inode);
	/* An access ACL mirrors the permission bits. */
	if (!ret && f2->posix_acl && (to_set & FUSE_SET_ATTR_MODE)) {
		ret = f2_acl_chmod(f2, ino, inode.i_mode);
		if (!ret)
			ret = f2_read_inode(f2, ino, &inode);
	}
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	f2_reply_attr(req, f2, ino, &inode);
}
