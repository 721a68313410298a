/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuse2fs iomap side: which files the kernel may map, where their blocks
 * are, allocation of unwritten extents, the device given to the kernel and
 * the per-file preference xattr.  The hooks other fuse2fs files call are
 * at the top; the rest is shared by the iomap_*.c files.
 */
#ifndef FUSE2FS_IOMAP_H
#define FUSE2FS_IOMAP_H

#include <stddef.h>
#include "fuse2fs.h"

/*
 * Per-file preference, stored in the image as a real extended attribute
 * so it survives remounts: "classic" forces classic FUSE read/write,
 * "auto" (the attribute absent) follows the mount policy.  The mode in
 * effect is readable (never writable, never listed) as F2_XATTR_IOMAP_MODE.
 */
#define F2_XATTR_IOMAP		"user.fuse2fs.iomap"
#define F2_XATTR_IOMAP_MODE	"user.fuse2fs.iomap_mode"

/* True when name is one of the two attributes above. */
bool f2_iomap_xattr_name(const char *name);
/*
 * getxattr: copy the value into buf (size 0 asks for the length only);
 * returns the value length or a negative errno (-ENODATA, -ERANGE...).
 */
int f2_iomap_xattr_get(struct fuse2fs *f2, ext2_ino_t ino, const char *name,
		       char *buf, size_t size);
/*
 * setxattr/removexattr (value NULL): only the owner or root; the mode
 * attribute is read-only (-EPERM).  Returns 0 or a negative errno.
 */
int f2_iomap_xattr_set(struct fuse2fs *f2, const struct fuse_ctx *ctx,
		       ext2_ino_t ino, const char *name, const char *value,
		       size_t size, int flags);

/* Why a file is (not) served through iomap. */
enum f2_iomap_why {
	F2_WHY_IOMAP,		/* served through iomap */
	F2_WHY_OFF,		/* -o iomap=off */
	F2_WHY_NO_KERNEL,	/* kernel did not offer iomap, or no device */
	F2_WHY_NOT_REG,		/* not a regular file */
	F2_WHY_USER,		/* per-file preference says classic */
	F2_WHY_INLINE,		/* data lives inside the inode */
	F2_WHY_ENCRYPT,		/* blocks hold ciphertext */
	F2_WHY_VERITY,		/* reads must be verified */
	F2_WHY_JDATA,		/* data journalling */
	F2_WHY_COMPR,		/* compression flag */
	F2_WHY_NO_EXTENTS,	/* indirect-block (ext2/ext3) file */
	F2_WHY_BIGALLOC,	/* cluster allocation not supported */
};

/* Decide the mode for ino; inode is its current on-disk inode. */
enum f2_iomap_why f2_iomap_policy(struct fuse2fs *f2, ext2_ino_t ino,
				  const struct ext2_inode_large *inode);
/* "iomap" or "classic (reason)" for a decision. */
const char *f2_iomap_why_str(enum f2_iomap_why why);
/* Read the stored preference: 1 classic, 0 auto, negative errno. */
int f2_iomap_pref_classic(struct fuse2fs *f2, ext2_ino_t ino,
			  const struct ext2_inode_large *inode);

/*
 * ext2fs_block_alloc_stats_range() that a transaction can undo (txn.c).
 * Every range of blocks fuse2fs allocates or frees goes through it.
 */
void f2_block_stats_range(ext2_filsys fs, blk64_t blk, blk64_t num,
			  int inuse);

/*
 * The block map cookie of FUSE_IOMAP_BEGIN replies (doc/protocol.md
 * section 10.4): one counter for the whole filesystem, bumped by every
 * block allocated or freed (f2_block_stats_range() and libext2fs's
 * allocation callback, txn.c) and every unwritten range converted.  A
 * file's cookie must go up whenever its block map changes; one counter
 * for all files does that, at the price of re-lookups in the kernel
 * when other files change.
 */
void f2_map_changed(void);
uint64_t f2_map_cookie(void);

/*
 * Mapping of logical blocks, in filesystem blocks (iomap_map.c).
 * These only use libext2fs, so tests can drive them on an image directly.
 */
struct f2_run {
	blk64_t lblk;		/* first logical block */
	blk64_t len;		/* blocks */
	blk64_t pblk;		/* first physical block, 0 for a hole */
	int type;		/* FUSE_IOMAP_TYPE_HOLE/MAPPED/UNWRITTEN */
};

/*
 * One past the last logical block an extent file may use: ext4 caps files
 * at 2^32 - 1 blocks (s_maxbytes), one less than ee_block could name.
 */
#define F2_MAX_LBLK		((1ULL << 32) - 1)
/* Most extents one run glues together (64 x 128 MiB with 4 KiB blocks). */
#define F2_MAX_GLUE		64

/*
 * The next leaf extent of the tree that starts at or after logical block
 * after (one past the handle's current extent when walking), or
 * EXT2_ET_EXTENT_NO_NEXT.  Not plain EXT2_EXTENT_NEXT_LEAF: after
 * ext2fs_extent_goto2() the index entries it went down through may be
 * marked unvisited, and NEXT_LEAF at the end of such a leaf goes down
 * into the same leaf again and returns its extents a second time (in
 * the last leaf, that is all it does).  Those repeats start before
 * after and are skipped.
 */
errcode_t f2_extent_next_leaf(ext2_extent_handle_t h, blk64_t after,
			      struct ext2fs_extent *e);
/*
 * The longest run starting at lblk and ending before end: one extent or
 * several physically contiguous extents of the same type, or a hole up to
 * the next extent.
 */
errcode_t f2_map_run(ext2_filsys fs, ext2_ino_t ino,
		     struct ext2_inode_large *inode, blk64_t lblk,
		     blk64_t end, struct f2_run *run);
/*
 * Allocate unwritten extents for the holes in [lblk, lblk + len) (fresh
 * blocks read as zeroes until converted).  Updates *inode (i_blocks, the
 * extent root) without writing it.  With F2_ALLOC_CONTIGUOUS each hole
 * goes to the first free run (from the inode's goal on) that holds it
 * whole, when there is one, rather than to the free blocks nearest the
 * goal.
 */
#define F2_ALLOC_CONTIGUOUS	(1u << 0)
errcode_t f2_alloc_unwritten(ext2_filsys fs, ext2_ino_t ino,
			     struct ext2_inode_large *inode, blk64_t lblk,
			     blk64_t len, unsigned int flags);
/*
 * Mark the unwritten blocks in [lblk, end) written, merging with written
 * neighbours that are contiguous, never using more extents on the way
 * than at the end, and moving a one-leaf tree that fits back into the
 * inode, as ext4 does.  Updates *inode; like libext2fs's extent code it
 * writes the small inode when the extent root changes, so the caller
 * still writes the full inode afterwards.
 */
errcode_t f2_convert_written(ext2_filsys fs, ext2_ino_t ino,
			     struct ext2_inode_large *inode, blk64_t lblk,
			     blk64_t end);

/*
 * Free the unwritten blocks in [lblk, end): whole unwritten extents and
 * the ends of those that cross lblk or end (an unwritten extent that
 * covers both stays whole: cutting its middle out could need a tree
 * block).  Written blocks stay.  Updates *inode like the calls above.
 */
errcode_t f2_free_unwritten(ext2_filsys fs, ext2_ino_t ino,
			    struct ext2_inode_large *inode, blk64_t lblk,
			    blk64_t end);

/*
 * Free [lblk, end) of an extent file, written and unwritten blocks
 * alike: whole extents go, the ends of those crossing lblk or end are
 * trimmed, one covering both is split (which may take a tree block; on
 * failure it stays whole).  The tree changes before any block is freed,
 * so an error never leaves a block counted but named by no extent.
 * With F2_FREE_UNWRITTEN_ONLY it is f2_free_unwritten() above.  Updates
 * *inode like the calls above.
 */
#define F2_FREE_UNWRITTEN_ONLY	(1u << 0)
errcode_t f2_free_range(ext2_filsys fs, ext2_ino_t ino,
			struct ext2_inode_large *inode, blk64_t lblk,
			blk64_t end, unsigned int flags);

/*
 * Most blocks allocated ahead of a write that extends the file; the
 * look-ahead grows with the file up to this (alloc_end(), iomap_ops.c).
 */
#define F2_ALLOC_AHEAD_BYTES	(1ULL << 30)

/* State shared by the request callbacks (iomap_ops.c, iomap_dev.c). */
extern struct fuse2fs *f2_iomap_fs;
/* fuse_iomap_ops.negotiated: register the device or fall back. */
void f2_iomap_negotiated(void *userdata, bool iomap);
/* Make libext2fs's writes visible to the kernel's direct device IO. */
int f2_iomap_sync_for_kernel(struct fuse2fs *f2);
/* The same for the device bytes [addr, addr + len) only; 0 or errno. */
int f2_iomap_sync_range(struct fuse2fs *f2, uint64_t addr, uint64_t len);
/* Drop stale device caches for ino's blocks before classic IO uses them. */
void f2_iomap_drop_caches(struct fuse2fs *f2, ext2_ino_t ino);
/*
 * ino's mode in effect may have changed (toggle, inline data grown into
 * extents): invalidate the kernel's entries for its names so the next
 * LOOKUP reports the new flag (iomap_notify.c).  0 or a positive errno.
 */
int f2_iomap_mode_changed(struct fuse2fs *f2, ext2_ino_t ino);
/* ino's last open reference went: retry a pending switch once. */
void f2_iomap_released(struct fuse2fs *f2, ext2_ino_t ino);
/* The kernel forgot ino: its next instantiation uses the new mode. */
void f2_iomap_mode_settled(ext2_ino_t ino);
/* Before the session goes: let queued notifications out (1 s at most). */
void f2_iomap_notify_drain(void);
/*
 * Look-ahead bookkeeping (iomap_prealloc.c): remember [start, end) of
 * ino as allocated ahead (false when the table is full: do not allocate
 * ahead then); give back what is still unwritten past EOF (trim) when
 * the last open file of ino is released, when the kernel forgot ino
 * (forget: when its lookup and open counts reach zero) or, for all
 * inodes, at unmount.
 */
bool f2_prealloc_note(ext2_ino_t ino, blk64_t start, blk64_t end);
void f2_prealloc_trim(struct fuse2fs *f2, ext2_ino_t ino);
/*
 * Collapse (left) or insert range moved the extents of ino from lblk on
 * by blocks: so does the look-ahead range remembered there.
 */
void f2_prealloc_shift(ext2_ino_t ino, blk64_t lblk, blk64_t by, bool left);
void f2_iomap_forget(struct fuse2fs *f2, ext2_ino_t ino);
void f2_iomap_forget_all(struct fuse2fs *f2);
/* Release the device (loop device included); called at unmount. */
void f2_iomap_release_device(struct fuse2fs *f2);

#endif /* FUSE2FS_IOMAP_H */
