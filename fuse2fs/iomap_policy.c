// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-file iomap policy: the kernel may move a file's bytes itself only when
 * the blocks on disk hold exactly the bytes a reader must see and the block
 * map can say "allocated but not written yet".
 *
 * iomap:   regular, extent-mapped files of an extent-capable filesystem.
 * classic: inline data (no block address), encryption (blocks hold
 *          ciphertext), verity (reads must be verified), data journalling
 *          (the journal may hold newer bytes), compression, and files the
 *          user forced to classic with the user.fuse2fs.iomap attribute.
 * classic: indirect-block files (ext2/ext3).  Their block map has no
 *          unwritten state, so a write into a hole could only be served by
 *          zeroing every new block synchronously before handing it out, or
 *          by exposing stale blocks after a crash; reads alone would work,
 *          but a file cannot be iomap for reads and classic for writes.
 * classic: bigalloc filesystems, whose cluster-granular allocation path
 *          is not exercised by our tests.
 */
#include <errno.h>
#include <string.h>

#include "iomap.h"

static const char *const why_str[] = {
	[F2_WHY_IOMAP]		= "iomap",
	[F2_WHY_OFF]		= "classic (iomap=off)",
	[F2_WHY_NO_KERNEL]	= "classic (no kernel iomap)",
	[F2_WHY_NOT_REG]	= "classic (not a regular file)",
	[F2_WHY_USER]		= "classic (preference)",
	[F2_WHY_INLINE]		= "classic (inline data)",
	[F2_WHY_ENCRYPT]	= "classic (encrypted)",
	[F2_WHY_VERITY]		= "classic (verity)",
	[F2_WHY_JDATA]		= "classic (data journalling)",
	[F2_WHY_COMPR]		= "classic (compressed)",
	[F2_WHY_NO_EXTENTS]	= "classic (indirect blocks)",
	[F2_WHY_BIGALLOC]	= "classic (bigalloc)",
};

const char *f2_iomap_why_str(enum f2_iomap_why why)
{
	if ((unsigned int)why >= ARRAY_SIZE(why_str))
		return "classic";
	return why_str[why];
}

/* Flags whose presence means the on-disk bytes are not the file's bytes. */
static enum f2_iomap_why flags_why(__u32 flags)
{
	if (flags & EXT4_INLINE_DATA_FL)
		return F2_WHY_INLINE;
	if (flags & EXT4_ENCRYPT_FL)
		return F2_WHY_ENCRYPT;
	if (flags & EXT4_VERITY_FL)
		return F2_WHY_VERITY;
	if (flags & EXT3_JOURNAL_DATA_FL)
		return F2_WHY_JDATA;
	if (flags & (EXT2_COMPR_FL | EXT2_COMPRBLK_FL))
		return F2_WHY_COMPR;
	if (!(flags & EXT4_EXTENTS_FL))
		return F2_WHY_NO_EXTENTS;
	return F2_WHY_IOMAP;
}

/*
 * Can ino carry extended attributes at all?  Checked on every attr reply
 * and iomap request, so it avoids libext2fs's xattr machinery: no EA
 * block and no in-inode EA header (magic after i_extra_isize) means none.
 */
static bool may_have_xattrs(struct fuse2fs *f2, ext2_ino_t ino,
			    const struct ext2_inode_large *inode)
{
	unsigned int isize = EXT2_INODE_SIZE(f2->fs->super);
	unsigned char buf[1024];
	size_t off;
	__u32 magic;

	if (!inode ||
	    ext2fs_file_acl_block(f2->fs, (struct ext2_inode *)inode))
		return true;
	if (isize <= EXT2_GOOD_OLD_INODE_SIZE || !inode->i_extra_isize)
		return false;
	off = EXT2_GOOD_OLD_INODE_SIZE + inode->i_extra_isize;
	/* Cannot tell cheaply: let libext2fs look. */
	if (isize > sizeof(buf) || off + sizeof(magic) > isize ||
	    ext2fs_read_inode_full(f2->fs, ino, (struct ext2_inode *)buf,
				   isize))
		return true;
	memcpy(&magic, buf + off, sizeof(magic));
	return ext2fs_le32_to_cpu(magic) == EXT2_EXT_ATTR_MAGIC;
}

/* The stored preference: 1 classic, 0 auto, or a negative errno. */
int f2_iomap_pref_classic(struct fuse2fs *f2, ext2_ino_t ino,
			  const struct ext2_inode_large *inode)
{
	struct ext2_xattr_handle *h;
	void *val = NULL;
	size_t len = 0;
	errcode_t err;
	int ret = 0;

	if (!may_have_xattrs(f2, ino, inode))
		return 0;
	err = ext2fs_xattrs_open(f2->fs, ino, &h);
	if (err)
		return -f2_errno(err);
	err = ext2fs_xattrs_read(h);
	if (!err)
		err = ext2fs_xattr_get(h, F2_XATTR_IOMAP, &val, &len);
	if (err == EXT2_ET_EA_KEY_NOT_FOUND)
		err = 0;
	else if (!err)
		ret = len == 7 && !memcmp(val, "classic", 7);
	if (val)
		ext2fs_free_mem(&val);
	ext2fs_xattrs_close(&h);
	return err ? -f2_errno(err) : ret;
}

/*
 * Reasons that belong to the file come first, so that the mode attribute
 * says why a file could not use iomap even on a mount where nothing can
 * (iomap=off, or a kernel without it).
 */
enum f2_iomap_why f2_iomap_policy(struct fuse2fs *f2, ext2_ino_t ino,
				  const struct ext2_inode_large *inode)
{
	enum f2_iomap_why why;

	if (!LINUX_S_ISREG(inode->i_mode))
		return F2_WHY_NOT_REG;
	why = flags_why(inode->i_flags);
	if (why != F2_WHY_IOMAP)
		return why;
	if (!ext2fs_has_feature_extents(f2->fs->super))
		return F2_WHY_NO_EXTENTS;
	if (ext2fs_has_feature_bigalloc(f2->fs->super))
		return F2_WHY_BIGALLOC;
	/* An unreadable preference errs on the safe side. */
	if (f2_iomap_pref_classic(f2, ino, inode) != 0)
		return F2_WHY_USER;
	if (f2->iomap_mode == F2_IOMAP_OFF)
		return F2_WHY_OFF;
	if (!f2->iomap_active)
		return F2_WHY_NO_KERNEL;
	return F2_WHY_IOMAP;
}

uint32_t f2_attr_flags(struct fuse2fs *f2, ext2_ino_t ino,
		       const struct ext2_inode_large *inode)
{
	uint32_t flags = 0;

	/* The common case on kernels without iomap: no xattr reads. */
	if (!inode || !f2->iomap_negotiated)
		return 0;
	/*
	 * The kernel writes iomap files without asking: it must know which
	 * inodes refuse writes (any type, for the VFS's other checks).  Also
	 * when no device could be registered: the kernel then keeps the
	 * times of classic files with the writeback cache, and counts on
	 * the flags to know which SETATTRs the server takes (attr.c).
	 */
	if (inode->i_flags & EXT2_IMMUTABLE_FL)
		flags |= FUSE_ATTR_IOMAP_IMMUTABLE;
	if (inode->i_flags & EXT2_APPEND_FL)
		flags |= FUSE_ATTR_IOMAP_APPEND;
	if (LINUX_S_ISREG(inode->i_mode) &&
	    f2_iomap_policy(f2, ino, inode) == F2_WHY_IOMAP)
		flags |= FUSE_ATTR_IOMAP;
	return flags;
}
