// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: error translation, inode I/O, timestamps and stat conversion.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <sys/sysmacros.h>

#include "fuse2fs.h"
#include "fscrypt.h"

int f2_errno(errcode_t err)
{
	if (!err)
		return 0;
	/* The unix I/O manager hands back plain errno values. */
	if (err > 0 && err < 4096)
		return (int)err;

	switch (err) {
	case EXT2_ET_NO_MEMORY:
		return ENOMEM;
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
	case EXT2_ET_DIR_NO_SPACE:
	case EXT2_ET_DIR_NO_SPACE_FOR_CSUM:
	case EXT2_ET_EA_NO_SPACE:
	case EXT2_ET_INLINE_DATA_NO_SPACE:
	case EXT2_ET_EXTENT_NO_SPACE:
	case EXT2_ET_RES_GDT_BLOCKS:
		return ENOSPC;
	case EXT2_ET_FILE_NOT_FOUND:
	case EXT2_ET_EXTENT_NOT_FOUND:
		return ENOENT;
	case EXT2_ET_FILE_EXISTS:
	case EXT2_ET_DIR_EXISTS:
		return EEXIST;
	case EXT2_ET_NO_DIRECTORY:
		return ENOTDIR;
	case EXT2_ET_FILE_TOO_BIG:
		return EFBIG;
	case EXT2_ET_TOO_MANY_REFS:
		return EMLINK;
	case EXT2_ET_RO_FILSYS:
	case EXT2_ET_FILE_RO:
		return EROFS;
	case EXT2_ET_EA_KEY_NOT_FOUND:
	case EXT2_ET_NO_INLINE_DATA:
		return ENODATA;
	case EXT2_ET_EA_BAD_NAME_LEN:
	case EXT2_ET_INVALID_ARGUMENT:
	case EXT2_ET_BAD_INODE_NUM:
		return EINVAL;
	case EXT2_ET_UNIMPLEMENTED:
	case EXT2_ET_OP_NOT_SUPPORTED:
	case EXT2_ET_EXTENT_NOT_SUPPORTED:
		return EOPNOTSUPP;
	case EXT2_ET_SHORT_READ:
	case EXT2_ET_SHORT_WRITE:
	case EXT2_ET_LLSEEK_FAILED:
		return EIO;
	case EXT2_ET_DIR_CORRUPTED:
	case EXT2_ET_DIR_CSUM_INVALID:
	case EXT2_ET_INODE_CSUM_INVALID:
	case EXT2_ET_INODE_CORRUPTED:
	case EXT2_ET_INODE_IS_GARBAGE:
	case EXT2_ET_EXTENT_CSUM_INVALID:
	case EXT2_ET_EXTENT_HEADER_BAD:
	case EXT2_ET_EXTENT_INDEX_BAD:
	case EXT2_ET_EXTENT_LEAF_BAD:
	case EXT2_ET_EXT_ATTR_CSUM_INVALID:
	case EXT2_ET_BAD_EA_HEADER:
	case EXT2_ET_BAD_EA_BLOCK_NUM:
	case EXT2_ET_EA_BAD_VALUE_OFFSET:
	case EXT2_ET_EA_BAD_VALUE_SIZE:
	case EXT2_ET_EA_INODE_CORRUPTED:
	case EXT2_ET_FILESYSTEM_CORRUPTED:
	case EXT2_ET_BLOCK_BITMAP_CSUM_INVALID:
	case EXT2_ET_INODE_BITMAP_CSUM_INVALID:
		return EUCLEAN;	/* the kernel's EFSCORRUPTED */
	default:
		return EIO;
	}
}

/* ext4's EXT4_MAX_EXTENT_DEPTH: deeper trees cannot address 2^32 blocks. */
#define F2_MAX_EXTENT_DEPTH	5

/*
 * The extent tree root in i_block, as ext4 checks it when it reads the
 * inode: libext2fs takes any depth, and walks that many levels down on
 * every lookup of a block.
 */
static bool f2_extent_root_sound(const struct ext2_inode_large *inode)
{
	const struct ext3_extent_header *eh = (const void *)inode->i_block;
	unsigned int max = (sizeof(inode->i_block) - sizeof(*eh)) /
			   sizeof(struct ext3_extent);

	if (!(inode->i_flags & EXT4_EXTENTS_FL) ||
	    (inode->i_flags & EXT4_INLINE_DATA_FL) ||
	    !(LINUX_S_ISREG(inode->i_mode) || LINUX_S_ISDIR(inode->i_mode)))
		return true;
	return ext2fs_le16_to_cpu(eh->eh_magic) == EXT3_EXT_MAGIC &&
	       ext2fs_le16_to_cpu(eh->eh_max) <= max &&
	       ext2fs_le16_to_cpu(eh->eh_entries) <=
			ext2fs_le16_to_cpu(eh->eh_max) &&
	       ext2fs_le16_to_cpu(eh->eh_depth) <= F2_MAX_EXTENT_DEPTH;
}

int f2_read_inode(struct fuse2fs *f2, ext2_ino_t ino,
		  struct ext2_inode_large *inode)
{
	errcode_t err;

	memset(inode, 0, sizeof(*inode));
	err = ext2fs_read_inode_full(f2->fs, ino, (struct ext2_inode *)inode,
				     sizeof(*inode));
	/* Live: linked, or nameless but open (no deletion time yet) */
	if (!err && (inode->i_links_count || !inode->i_dtime) &&
	    !f2_extent_root_sound(inode))
		return EUCLEAN;
	return f2_errno(err);
}

int f2_write_inode(struct fuse2fs *f2, ext2_ino_t ino,
		   struct ext2_inode_large *inode)
{
	errcode_t err;

	err = ext2fs_write_inode_full(f2->fs, ino, (struct ext2_inode *)inode,
				      sizeof(*inode));
	return f2_errno(err);
}

int f2_write_new_inode(struct fuse2fs *f2, ext2_ino_t ino,
		       const struct ext2_inode_large *inode)
{
	size_t size = EXT2_INODE_SIZE(f2->fs->super);
	errcode_t err;
	char *buf;

	if (size < sizeof(*inode))
		return f2_write_inode(f2, ino,
				      (struct ext2_inode_large *)inode);
	err = ext2fs_get_memzero(size, &buf);
	if (err)
		return f2_errno(err);
	memcpy(buf, inode, sizeof(*inode));
	err = ext2fs_write_inode_full(f2->fs, ino, (struct ext2_inode *)buf,
				      size);
	ext2fs_free_mem(&buf);
	return f2_errno(err);
}

/* Does a field of the large inode lie inside this inode's extra space? */
#define F2_FITS(inode, field)						\
	(offsetof(struct ext2_inode_large, field) +			\
	 sizeof((inode)->field) <=					\
	 (size_t)EXT2_GOOD_OLD_INODE_SIZE + (inode)->i_extra_isize)

/*
 * ext4 stores seconds as a signed 32-bit value plus two epoch bits in the
 * low bits of the *_extra word; nanoseconds live in its upper 30 bits.
 */
static uint32_t f2_encode_extra(const struct timespec *ts)
{
	int64_t epoch = ((int64_t)ts->tv_sec - (int32_t)ts->tv_sec) >> 32;

	return ((uint32_t)ts->tv_nsec << EXT4_EPOCH_BITS) |
	       ((uint32_t)epoch & EXT4_EPOCH_MASK);
}

static void f2_decode_time(uint32_t secs, uint32_t extra, bool has_extra,
			   struct timespec *ts)
{
	ts->tv_sec = (int32_t)secs;
	ts->tv_nsec = 0;
	if (has_extra) {
		ts->tv_sec += (int64_t)(extra & EXT4_EPOCH_MASK) << 32;
		ts->tv_nsec = extra >> EXT4_EPOCH_BITS;
		if (ts->tv_nsec >= 1000000000)
			ts->tv_nsec = 0;
	}
}

void f2_set_times(struct ext2_inode_large *inode, int which,
		  const struct timespec *ts)
{
	if (which & F2_ATIME) {
		inode->i_atime = (uint32_t)ts->tv_sec;
		if (F2_FITS(inode, i_atime_extra))
			inode->i_atime_extra = f2_encode_extra(ts);
	}
	if (which & F2_MTIME) {
		inode->i_mtime = (uint32_t)ts->tv_sec;
		if (F2_FITS(inode, i_mtime_extra))
			inode->i_mtime_extra = f2_encode_extra(ts);
	}
	if (which & F2_CTIME) {
		inode->i_ctime = (uint32_t)ts->tv_sec;
		if (F2_FITS(inode, i_ctime_extra))
			inode->i_ctime_extra = f2_encode_extra(ts);
	}
}

void f2_touch(struct ext2_inode_large *inode, int which)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	f2_set_times(inode, which, &now);
}

/* Set the creation time of a new inode, where the inode has room for it. */
void f2_set_crtime(struct ext2_inode_large *inode, const struct timespec *ts)
{
	if (F2_FITS(inode, i_crtime))
		inode->i_crtime = (uint32_t)ts->tv_sec;
	if (F2_FITS(inode, i_crtime_extra))
		inode->i_crtime_extra = f2_encode_extra(ts);
}

void f2_get_times(const struct ext2_inode_large *inode, struct timespec *atime,
		  struct timespec *mtime, struct timespec *ctime)
{
	f2_decode_time(inode->i_atime, inode->i_atime_extra,
		       F2_FITS(inode, i_atime_extra), atime);
	f2_decode_time(inode->i_mtime, inode->i_mtime_extra,
		       F2_FITS(inode, i_mtime_extra), mtime);
	f2_decode_time(inode->i_ctime, inode->i_ctime_extra,
		       F2_FITS(inode, i_ctime_extra), ctime);
}

/*
 * Device numbers: the old 8:8 encoding in i_block[0] when it fits, the
 * kernel's new 12:20 encoding in i_block[1] otherwise.
 */
dev_t f2_inode_rdev(const struct ext2_inode_large *inode)
{
	uint32_t old = inode->i_block[0], enc = inode->i_block[1];

	if (old)
		return makedev((old >> 8) & 0xff, old & 0xff);
	return makedev((enc & 0xfff00) >> 8, (enc & 0xff) | ((enc >> 12) & 0xfff00));
}

void f2_set_inode_rdev(struct ext2_inode_large *inode, dev_t rdev)
{
	unsigned int maj = major(rdev), min = minor(rdev);

	if (maj < 256 && min < 256) {
		inode->i_block[0] = (maj << 8) | min;
		inode->i_block[1] = 0;
	} else {
		inode->i_block[0] = 0;
		inode->i_block[1] = (min & 0xff) | (maj << 8) |
				    ((min & ~0xffu) << 12);
	}
}

uid_t f2_inode_uid(const struct ext2_inode_large *inode)
{
	return inode->i_uid | ((uid_t)inode->osd2.linux2.l_i_uid_high << 16);
}

gid_t f2_inode_gid(const struct ext2_inode_large *inode)
{
	return inode->i_gid | ((gid_t)inode->osd2.linux2.l_i_gid_high << 16);
}

void f2_set_inode_uid(struct ext2_inode_large *inode, uid_t uid)
{
	inode->i_uid = uid & 0xffff;
	inode->osd2.linux2.l_i_uid_high = uid >> 16;
}

void f2_set_inode_gid(struct ext2_inode_large *inode, gid_t gid)
{
	inode->i_gid = gid & 0xffff;
	inode->osd2.linux2.l_i_gid_high = gid >> 16;
}

void f2_inode_to_stat(struct fuse2fs *f2, ext2_ino_t ino,
		      const struct ext2_inode_large *inode, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = inode->i_mode;
	st->st_nlink = inode->i_links_count;
	st->st_uid = f2_inode_uid(inode);
	st->st_gid = f2_inode_gid(inode);
	st->st_size = EXT2_I_SIZE(inode);
	st->st_blksize = f2->fs->blocksize;
	st->st_blocks = ext2fs_get_stat_i_blocks(f2->fs,
						 (struct ext2_inode *)inode);
	/* ext4 counts a file's inline data in sectors (not a dir's). */
	if ((inode->i_flags & EXT4_INLINE_DATA_FL) &&
	    LINUX_S_ISREG(inode->i_mode))
		st->st_blocks += (st->st_size + 511) >> 9;
	if (LINUX_S_ISCHR(inode->i_mode) || LINUX_S_ISBLK(inode->i_mode))
		st->st_rdev = f2_inode_rdev(inode);
	f2_get_times(inode, &st->st_atim, &st->st_mtim, &st->st_ctim);
	if (LINUX_S_ISLNK(inode->i_mode) && f2c_encrypted(inode))
		f2c_symlink_size(f2, ino, inode, st);
}

int f2_fill_entry(struct fuse2fs *f2, ext2_ino_t ino,
		  struct fuse_entry_param *e, uint32_t *attr_flags)
{
	struct ext2_inode_large inode;
	int ret;

	memset(e, 0, sizeof(*e));
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	e->ino = f2_nodeid(ino);
	e->generation = inode.i_generation;
	e->attr_timeout = f2->timeout;
	/*
	 * An encrypted inode's name (in an encrypted directory) reads
	 * differently once a key comes or goes: never cached.
	 */
	e->entry_timeout = f2c_encrypted(&inode) ? 0 : f2->timeout;
	f2_inode_to_stat(f2, ino, &inode, &e->attr);
	*attr_flags = f2_attr_flags(f2, ino, &inode);
	return 0;
}

void f2_reply_entry(fuse_req_t req, struct fuse2fs *f2, ext2_ino_t ino)
{
	f2_reply_entry_ttl(req, f2, ino, f2->timeout);
}

void f2_reply_entry_ttl(fuse_req_t req, struct fuse2fs *f2, ext2_ino_t ino,
			double entry_timeout)
{
	struct fuse_entry_param e;
	uint32_t flags;
	int ret;

	ret = f2_fill_entry(f2, ino, &e, &flags);
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	if (entry_timeout < e.entry_timeout)
		e.entry_timeout = entry_timeout;
	/*
	 * Count the reference before replying: a FORGET may follow at once.
	 * Uncounted, the kernel would hold an inode we could free.
	 */
	if (f2_lookup_ref(f2, ino)) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fuse_iomap_reply_entry(req, &e, flags))
		f2_lookup_unref(f2, ino, 1);
}

int f2_sync(struct fuse2fs *f2)
{
	errcode_t err;

	if (f2->ro)
		return 0;
	/* Superblock, descriptors and bitmaps, then fsync of the image. */
	if (f2->fs->flags & (EXT2_FLAG_DIRTY | EXT2_FLAG_BB_DIRTY |
			     EXT2_FLAG_IB_DIRTY))
		err = ext2fs_flush2(f2->fs, 0);
	else
		err = io_channel_flush(f2->fs->io);
	return f2_errno(err);
}
