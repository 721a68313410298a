// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FUSE_IOCTL: inode flags (lsattr/chattr) and the inode generation.
 *
 * The kernel routes FS_IOC_GETFLAGS/SETFLAGS and FS_IOC_FSGETXATTR/
 * FSSETXATTR through its fileattr layer, which sends them to us with a
 * 4-byte flags word or a struct fsxattr, whatever the caller's long size.
 * Note that chattr's SETFLAGS makes the kernel first ask for the old
 * attributes with FSGETXATTR, so both must work for chattr to work.
 * The rules for which flags may change follow ext4_fileattr_set().
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <linux/fs.h>

#include "fuse2fs.h"
#include "blockmap.h"
#include "iomap.h"
#include "fsverity.h"
#include "fscrypt.h"

/* ext4's EXT4_FL_USER_MODIFIABLE and EXT4_FL_USER_VISIBLE. */
#define F2_EOFBLOCKS_FL		0x00400000
#define F2_FL_MODIFIABLE	(EXT2_SECRM_FL | EXT2_UNRM_FL | EXT2_COMPR_FL | \
				 EXT2_SYNC_FL | EXT2_IMMUTABLE_FL | \
				 EXT2_APPEND_FL | EXT2_NODUMP_FL | \
				 EXT2_NOATIME_FL | EXT3_JOURNAL_DATA_FL | \
				 EXT2_NOTAIL_FL | EXT2_DIRSYNC_FL | \
				 EXT2_TOPDIR_FL | EXT4_EXTENTS_FL | \
				 F2_EOFBLOCKS_FL | FS_DAX_FL | \
				 EXT4_PROJINHERIT_FL | EXT4_CASEFOLD_FL)
#define F2_FL_VISIBLE		(F2_FL_MODIFIABLE | EXT2_DIRTY_FL | \
				 EXT2_COMPRBLK_FL | EXT2_NOCOMPR_FL | \
				 EXT4_ENCRYPT_FL | EXT2_INDEX_FL | \
				 EXT4_VERITY_FL | EXT4_INLINE_DATA_FL)
/* Flags that make sense on a regular file / on anything else. */
#define F2_FL_REG_MASK		(~(EXT2_DIRSYNC_FL | EXT2_TOPDIR_FL | \
				   EXT4_CASEFOLD_FL | EXT4_PROJINHERIT_FL))
#define F2_FL_OTHER_MASK	(EXT2_NODUMP_FL | EXT2_NOATIME_FL)

/* The flags that have an FS_XFLAG_* twin, and the twins. */
static const struct {
	uint32_t flag;
	uint32_t xflag;
} xflag_map[] = {
	{ EXT2_SYNC_FL, FS_XFLAG_SYNC },
	{ EXT2_IMMUTABLE_FL, FS_XFLAG_IMMUTABLE },
	{ EXT2_APPEND_FL, FS_XFLAG_APPEND },
	{ EXT2_NODUMP_FL, FS_XFLAG_NODUMP },
	{ EXT2_NOATIME_FL, FS_XFLAG_NOATIME },
	{ FS_DAX_FL, FS_XFLAG_DAX },
	{ EXT4_PROJINHERIT_FL, FS_XFLAG_PROJINHERIT },
};
#define XFLAG_MAP_LEN	ARRAY_SIZE(xflag_map)

static uint32_t flags_to_xflags(uint32_t flags)
{
	uint32_t x = 0;
	size_t i;

	for (i = 0; i < XFLAG_MAP_LEN; i++)
		if (flags & xflag_map[i].flag)
			x |= xflag_map[i].xflag;
	return x;
}

static uint32_t xflags_to_flags(uint32_t xflags)
{
	uint32_t f = 0;
	size_t i;

	for (i = 0; i < XFLAG_MAP_LEN; i++)
		if (xflags & xflag_map[i].xflag)
			f |= xflag_map[i].flag;
	return f;
}

static uint32_t xflags_known(void)
{
	return flags_to_xflags(~0U);
}

/* What FS_IOC_GETFLAGS shows, as ext4_fileattr_get(). */
static uint32_t visible_flags(const struct ext2_inode_large *inode)
{
	uint32_t flags = inode->i_flags & F2_FL_VISIBLE;

	if (LINUX_S_ISREG(inode->i_mode))
		flags &= ~EXT4_PROJINHERIT_FL;
	return flags;
}

static uint32_t mask_flags(uint16_t mode, uint32_t flags)
{
	if (LINUX_S_ISDIR(mode))
		return flags;
	if (LINUX_S_ISREG(mode))
		return flags & F2_FL_REG_MASK;
	return flags & F2_FL_OTHER_MASK;
}

static bool has_projid(struct fuse2fs *f2, const struct ext2_inode_large *in)
{
	return ext2fs_has_feature_project(f2->fs->super) &&
	       EXT2_INODE_SIZE(f2->fs->super) > EXT2_GOOD_OLD_INODE_SIZE &&
	       (size_t)EXT2_GOOD_OLD_INODE_SIZE + in->i_extra_isize >=
	       offsetof(struct ext2_inode_large, i_projid) +
	       sizeof(in->i_projid);
}

/*
 * Change the user-modifiable flags of ino to flags (already the full new
 * set the caller wants) with ext4's permission rules.  0 or an errno.
 */
static int set_flags(fuse_req_t req, struct fuse2fs *f2, ext2_ino_t ino,
		     uint32_t flags, bool check_projid, uint32_t projid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ext2_inode_large inode;
	uint32_t old, changed;
	int ret;

	if (flags & ~F2_FL_VISIBLE)
		return EOPNOTSUPP;
	/* Visible but not settable flags are silently ignored. */
	flags &= F2_FL_MODIFIABLE;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (mask_flags(inode.i_mode, flags) != flags)
		return EOPNOTSUPP;
	if (ctx->uid && ctx->uid != inode_uid(inode))
		return EPERM;
	if (f2->ro)
		return EROFS;

	old = inode.i_flags;
	changed = (old ^ flags) & F2_FL_MODIFIABLE;
	/* An immutable inode may only lose that flag, nothing else. */
	if (old & EXT2_IMMUTABLE_FL && flags & EXT2_IMMUTABLE_FL &&
	    (changed & ~EXT2_IMMUTABLE_FL))
		return EPERM;
	/* CAP_LINUX_IMMUTABLE and CAP_SYS_RESOURCE are root's here. */
	if (changed & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL) && ctx->uid)
		return EPERM;
	if (changed & EXT3_JOURNAL_DATA_FL && ctx->uid)
		return EPERM;
	/* Casefold needs the feature and an empty directory: not done. */
	if (changed & EXT4_CASEFOLD_FL)
		return EOPNOTSUPP;
	if (check_projid) {
		bool feat = has_projid(f2, &inode);
		uint32_t cur = feat ? inode.i_projid : 0;

		/* Changing a project id needs quota accounting: refused. */
		if (projid != cur)
			return EOPNOTSUPP;
	}

	/* chattr +e/-e converts the block map first, as ext4 does. */
	if (changed & EXT4_EXTENTS_FL) {
		ret = f2_migrate_extents(f2, ino, &inode,
					 flags & EXT4_EXTENTS_FL);
		if (ret)
			return ret;
	}
	inode.i_flags = (inode.i_flags & ~F2_FL_MODIFIABLE) | flags;
	if (inode.i_flags == old && !(changed & EXT4_EXTENTS_FL))
		return 0;
	f2_touch(&inode, F2_CTIME);
	ret = f2_write_inode(f2, ino, &inode);
	/* Journalled data, compression and block maps keep off iomap. */
	if (!ret && changed & (EXT3_JOURNAL_DATA_FL | EXT2_COMPR_FL |
			       EXT4_EXTENTS_FL))
		ret = f2_iomap_mode_changed(f2, ino);
	return ret;
}

/*
 * The kernel keeps attributes for the whole validity period and its
 * fileattr path does not drop them, so the new ctime would stay unseen.
 */
static void reply_set(fuse_req_t req, struct fuse2fs *f2, fuse_ino_t nodeid)
{
	fuse_reply_ioctl(req, 0, NULL, 0);
	if (f2->se)
		fuse_lowlevel_notify_inval_inode(f2->se, nodeid, -1, 0);
}

static bool cmd_is(unsigned int cmd, unsigned int native, unsigned int c32)
{
	return cmd == native || cmd == c32;
}

void f2_op_ioctl(fuse_req_t req, fuse_ino_t nodeid, unsigned int cmd,
		 void *arg, struct fuse_file_info *fi, unsigned int flags,
		 const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino = f2_ino(nodeid);
	struct ext2_inode_large inode;
	struct fsxattr fsx;
	uint32_t word;
	int ret;

	if (f2v_ioctl(req, nodeid, cmd, flags, in_buf, in_bufsz,
		      out_bufsz) ||
	    f2c_ioctl(req, cmd, in_buf, in_bufsz, out_bufsz))
		return;
	/*
	 * The flag ioctls come as FS_IOC_GETFLAGS/SETFLAGS only: the kernel
	 * turns a 32-bit caller's FS_IOC32_ numbers into those and sends
	 * them from its fileattr calls, after the VFS checked the caller
	 * (CAP_LINUX_IMMUTABLE) and before it applies the new flags to the
	 * inode.  A native FS_IOC32_SETFLAGS would reach us raw, past both
	 * (the kernel would not know the inode became immutable): ENOTTY,
	 * as ext4 answers it.  FS_IOC_GETVERSION is raw in both forms.
	 */
	if (cmd == FS_IOC_GETFLAGS ||
	    cmd_is(cmd, FS_IOC_GETVERSION, FS_IOC32_GETVERSION)) {
		if (out_bufsz < sizeof(word)) {
			ret = EINVAL;
			goto err;
		}
		ret = f2_read_inode(f2, ino, &inode);
		if (ret)
			goto err;
		word = _IOC_NR(cmd) == _IOC_NR(FS_IOC_GETFLAGS) &&
		       _IOC_TYPE(cmd) == _IOC_TYPE(FS_IOC_GETFLAGS) ?
			visible_flags(&inode) : inode.i_generation;
		fuse_reply_ioctl(req, 0, &word, sizeof(word));
		return;
	}
	if (cmd == FS_IOC_SETFLAGS) {
		if (in_bufsz < sizeof(word)) {
			ret = EINVAL;
			goto err;
		}
		memcpy(&word, in_buf, sizeof(word));
		ret = set_flags(req, f2, ino, word, false, 0);
		if (ret)
			goto err;
		reply_set(req, f2, nodeid);
		return;
	}
	if (cmd == FS_IOC_FSGETXATTR) {
		if (out_bufsz < sizeof(fsx)) {
			ret = EINVAL;
			goto err;
		}
		ret = f2_read_inode(f2, ino, &inode);
		if (ret)
			goto err;
		memset(&fsx, 0, sizeof(fsx));
		fsx.fsx_xflags = flags_to_xflags(visible_flags(&inode));
		if (has_projid(f2, &inode))
			fsx.fsx_projid = inode.i_projid;
		fuse_reply_ioctl(req, 0, &fsx, sizeof(fsx));
		return;
	}
	if (cmd == FS_IOC_FSSETXATTR) {
		if (in_bufsz < sizeof(fsx)) {
			ret = EINVAL;
			goto err;
		}
		memcpy(&fsx, in_buf, sizeof(fsx));
		if (fsx.fsx_xflags & ~xflags_known()) {
			ret = EOPNOTSUPP;
			goto err;
		}
		ret = f2_read_inode(f2, ino, &inode);
		if (ret)
			goto err;
		/* The xflags only speak for their twins; keep the rest. */
		word = (visible_flags(&inode) & ~xflags_to_flags(~0U)) |
		       xflags_to_flags(fsx.fsx_xflags);
		ret = set_flags(req, f2, ino, word, true, fsx.fsx_projid);
		if (ret)
			goto err;
		reply_set(req, f2, nodeid);
		return;
	}
	ret = ENOTTY;
err:
	fuse_reply_err(req, ret);
}
