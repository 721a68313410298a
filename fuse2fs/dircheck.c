// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: checking directories, and walking their blocks.
 *
 * libext2fs trusts directory entries more than an image from anywhere
 * deserves: ext2fs_dir_iterate() ignores an entry in the last 8 bytes of
 * a buffer, and the loop that moves an inline directory into a block
 * (ext2fs_inline_data_expand()) adds record lengths until it reaches the
 * end, so a zero-length record spins it forever; the htree code trusts
 * an index block's limit.  Every directory is therefore read and checked
 * here, by the rules of ext4's own entry check, before fuse2fs lets
 * libext2fs change it or find a name in it (dircache.c remembers the
 * verdict), and readdir reads through the same walk.
 *
 * The walk reads the blocks the directory maps, in logical order, never
 * every logical block up to i_size: a one-block directory whose size
 * claims a terabyte costs one block.  Blocks past i_size are not part of
 * the directory, as for ext4.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"
#include "dircheck.h"
#include "watchdog.h"

/* The smallest entry: a one-character name. */
#define F2_DIRENT_MIN		12
#define F2_DX_ROOT_ENTRIES	32	/* ".", "..", the root info */
#define F2_DX_NODE_ENTRIES	8	/* the fake empty entry */

/* The inline pseudo blocks (see dircheck.h). */
enum { F2_INL_DOT, F2_INL_DOTDOT, F2_INL_IBLOCK, F2_INL_EA, F2_INL_END };

bool f2_dirent_sound(ext2_filsys fs, const char *buf, unsigned int off,
		     unsigned int size, unsigned int *rec)
{
	struct ext2_dir_entry *d = (struct ext2_dir_entry *)(buf + off);
	unsigned int next;

	if (off > size || size - off < EXT2_DIR_ENTRY_HEADER_LEN)
		return false;
	if (ext2fs_get_rec_len(fs, d, rec))
		return false;
	next = off + *rec;
	if (*rec < F2_DIRENT_MIN || *rec % 4 ||
	    *rec < (unsigned int)EXT2_DIR_REC_LEN(ext2fs_dirent_name_len(d)))
		return false;
	if (*rec > size - off)
		return false;
	/* What is left must be nothing or room for another entry. */
	if (next != size && size - next < F2_DIRENT_MIN)
		return false;
	return d->inode <= fs->super->s_inodes_count;
}

unsigned int f2_dirbuf_good(ext2_filsys fs, const char *buf,
			    unsigned int size)
{
	unsigned int off = 0, rec;

	while (off < size && f2_dirent_sound(fs, buf, off, size, &rec))
		off += rec;
	return off;
}

struct f2_walk {
	struct fuse2fs *f2;
	ext2_ino_t dir;
	blk64_t from;
	blk64_t nblocks;	/* i_size in blocks: the end of the walk */
	f2_dirblk_fn fn;
	void *data;
	char *buf;
	unsigned int damage;	/* F2_DIR_* */
	int ret;		/* fn's value or an errno: stop */
};

static void f2_walk_damage(struct f2_walk *w, blk64_t lblk, const char *why,
			   unsigned int off)
{
	/* Once per walk is enough to tell, and cannot flood the log. */
	if (!(w->damage & F2_DIR_LOST))
		fprintf(stderr, "fuse2fs: directory inode %u, block %llu: %s "
			"at offset %u; the rest of the block is skipped (run "
			"e2fsck)\n", w->dir, (unsigned long long)lblk, why,
			off);
	w->damage |= F2_DIR_LOST;
}

static void f2_walk_hand(struct f2_walk *w, struct f2_dirblk *b)
{
	w->ret = f2_wd_check();
	if (w->ret)
		return;
	if (b->good < b->len)
		f2_walk_damage(w, b->lblk, "bad directory entry", b->good);
	w->ret = w->fn(w->f2, b, w->data);
}

/* Read, check and hand out logical block lblk, at pblk. */
static void f2_walk_block(struct f2_walk *w, blk64_t lblk, blk64_t pblk)
{
	ext2_filsys fs = w->f2->fs;
	struct f2_dirblk b = { .lblk = lblk, .buf = w->buf };
	errcode_t err;

	if (pblk < fs->super->s_first_data_block ||
	    pblk >= ext2fs_blocks_count(fs->super)) {
		f2_walk_damage(w, lblk, "block number out of range", 0);
		return;
	}
	err = ext2fs_read_dir_block4(fs, pblk, w->buf, 0, w->dir);
	if (err == EXT2_ET_DIR_CSUM_INVALID) {
		f2_walk_damage(w, lblk, "bad checksum", 0);
		return;
	}
	if (err) {
		w->ret = f2_errno(err);
		return;
	}
	/*
	 * A leaf's checksum tail reads as an empty 12-byte entry, and an
	 * index block's entries cover it all: the whole block is checked.
	 * (An htree root converted from a leaf keeps stale tail bytes, so
	 * the tail is not looked for; read_dir_block4 verified it.)
	 */
	b.len = fs->blocksize;
	b.good = f2_dirbuf_good(fs, w->buf, b.len);
	f2_walk_hand(w, &b);
}

/*
 * Extent-mapped directories: the leaves in order, from w->from on.
 * Extents wholly behind the walk (a leaf handed out again, an index
 * that points back) are skipped rather than taken for the end; as a
 * damaged index can lead back for ever, after more such extents in a
 * row than two blocks of them hold, the walk stops as damaged.
 */
static void f2_walk_extents(struct f2_walk *w,
			    const struct ext2_inode_large *inode)
{
	ext2_filsys fs = w->f2->fs;
	unsigned int stale = 0, stale_max = 2 * fs->blocksize /
					    sizeof(struct ext3_extent);
	struct ext2_inode_large copy = *inode;
	struct ext2fs_extent ext;
	ext2_extent_handle_t h;
	blk64_t lblk, end, next = w->from;
	errcode_t err;

	err = ext2fs_extent_open2(fs, w->dir, (struct ext2_inode *)&copy, &h);
	if (err) {
		w->ret = f2_errno(err);
		return;
	}
	/* Lands on the extent holding from, or one next to it. */
	ext2fs_extent_goto2(h, 0, w->from);
	err = ext2fs_extent_get(h, EXT2_EXTENT_CURRENT, &ext);
	while (!err && !w->ret && next < w->nblocks) {
		end = ext.e_lblk + ext.e_len;
		if (!(ext.e_flags & EXT2_EXTENT_FLAGS_LEAF) || !ext.e_len) {
			/* an index entry, or nothing */
		} else if (end <= next) {
			if (++stale > stale_max) {
				f2_walk_damage(w, next, "extent tree loops", 0);
				w->damage |= F2_DIR_UNFIT;
				break;
			}
		} else {
			stale = 0;
			lblk = ext.e_lblk > next ? ext.e_lblk : next;
			next = end;
			/* Unwritten blocks read as zeroes: a hole. */
			if (ext.e_flags & EXT2_EXTENT_FLAGS_UNINIT)
				lblk = end;
			for (; lblk < end && lblk < w->nblocks && !w->ret;
			     lblk++)
				f2_walk_block(w, lblk,
					      ext.e_pblk + (lblk - ext.e_lblk));
		}
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT_LEAF, &ext);
	}
	if (err && err != EXT2_ET_EXTENT_NO_NEXT &&
	    err != EXT2_ET_NO_CURRENT_NODE && !w->ret)
		w->ret = f2_errno(err);
	ext2fs_extent_free(h);
}

static int f2_walk_ind_block(ext2_filsys fs, blk64_t *blocknr,
			     e2_blkcnt_t blockcnt, blk64_t ref_blk,
			     int ref_offset, void *priv)
{
	struct f2_walk *w = priv;

	if (blockcnt < 0 || (blk64_t)blockcnt < w->from)
		return 0;
	if ((blk64_t)blockcnt >= w->nblocks)
		return BLOCK_ABORT;
	f2_walk_block(w, blockcnt, *blocknr);
	return w->ret ? BLOCK_ABORT : 0;
}

/* Block-mapped directories (ext2/ext3): in logical order as well. */
static void f2_walk_indirect(struct f2_walk *w)
{
	errcode_t err;

	err = ext2fs_block_iterate3(w->f2->fs, w->dir, BLOCK_FLAG_READ_ONLY |
				    BLOCK_FLAG_DATA_ONLY, NULL,
				    f2_walk_ind_block, w);
	if (err && !w->ret)
		w->ret = f2_errno(err);
}

/* An inline directory's "system.data" bytes (none is fine). */
static int f2_inline_ea(struct fuse2fs *f2, ext2_ino_t dir, void **ea,
			size_t *len)
{
	struct ext2_xattr_handle *h;
	errcode_t err;

	*ea = NULL;
	*len = 0;
	err = ext2fs_xattrs_open(f2->fs, dir, &h);
	if (!err) {
		err = ext2fs_xattrs_read(h);
		if (!err)
			err = ext2fs_xattr_get(h, "system.data", ea, len);
		ext2fs_xattrs_close(&h);
	}
	if (err == EXT2_ET_EA_KEY_NOT_FOUND)
		err = 0;
	return f2_errno(err);
}

/* Hand out one synthesized entry ("." or ".."), as its own pseudo block. */
static void f2_walk_dot(struct f2_walk *w, blk64_t lblk, ext2_ino_t ino)
{
	struct ext2_dir_entry *d = (struct ext2_dir_entry *)w->buf;
	struct f2_dirblk b = { .lblk = lblk, .buf = w->buf };
	int len = lblk == F2_INL_DOT ? 1 : 2;

	memset(d, 0, F2_DIRENT_MIN);
	d->inode = ino;
	ext2fs_dirent_set_name_len(d, len);
	ext2fs_dirent_set_file_type(d, ext2fs_has_feature_filetype(
					    w->f2->fs->super) ? EXT2_FT_DIR : 0);
	memcpy(d->name, "..", len);
	ext2fs_set_rec_len(w->f2->fs, F2_DIRENT_MIN, d);
	b.len = F2_DIRENT_MIN;
	b.good = f2_dirbuf_good(w->f2->fs, w->buf, b.len);
	f2_walk_hand(w, &b);
}

/* Entries in buf, copied to the walk's buffer so fn may not harm them. */
static void f2_walk_bytes(struct f2_walk *w, blk64_t lblk, const void *buf,
			  unsigned int len)
{
	struct f2_dirblk b = { .lblk = lblk, .buf = w->buf, .len = len };

	memcpy(w->buf, buf, len);
	b.good = f2_dirbuf_good(w->f2->fs, w->buf, len);
	f2_walk_hand(w, &b);
}

static void f2_walk_inline(struct f2_walk *w,
			   const struct ext2_inode_large *inode)
{
	const char *iblock = (const char *)inode->i_block;
	ext2_ino_t parent = ext2fs_le32_to_cpu(inode->i_block[0]);
	size_t ealen;
	void *ea;

	if (w->from <= F2_INL_DOT)
		f2_walk_dot(w, F2_INL_DOT, w->dir);
	if (!w->ret && w->from <= F2_INL_DOTDOT)
		f2_walk_dot(w, F2_INL_DOTDOT, parent);
	if (!w->ret && w->from <= F2_INL_IBLOCK)
		f2_walk_bytes(w, F2_INL_IBLOCK, iblock + EXT4_INLINE_DATA_DOTDOT_SIZE,
			      EXT4_MIN_INLINE_DATA_SIZE -
			      EXT4_INLINE_DATA_DOTDOT_SIZE);
	if (w->ret || w->from > F2_INL_EA)
		return;
	w->ret = f2_inline_ea(w->f2, w->dir, &ea, &ealen);
	if (w->ret)
		return;
	/* The attribute lives in the inode or one block: it fits. */
	if (ealen > w->f2->fs->blocksize)
		f2_walk_damage(w, F2_INL_EA, "inline data too large", 0);
	else if (ealen)
		f2_walk_bytes(w, F2_INL_EA, ea, (unsigned int)ealen);
	ext2fs_free_mem(&ea);
}

/*
 * An htree index, as ext4's dx_probe() checks it: a hash it knows, a
 * depth it supports, every node's limit what the block holds, counts
 * within limits and every block named inside the directory.  libext2fs
 * trusts the limit, and its lookups walk the index.
 */
struct f2_dx_check {
	struct f2_walk *w;
	unsigned int levels;
	char *node;
};

static int f2_dx_entries(struct f2_dx_check *c, const char *buf,
			 unsigned int off, unsigned int want_limit,
			 unsigned int level);

static int f2_dx_node(struct f2_dx_check *c, blk64_t lblk,
		      unsigned int level)
{
	struct fuse2fs *f2 = c->w->f2;
	char *buf = c->node + level * f2->fs->blocksize;
	unsigned int limit;
	blk64_t pblk;
	errcode_t err;
	int ret;

	ret = f2_wd_check();
	if (ret)
		return ret;
	err = ext2fs_bmap2(f2->fs, c->w->dir, NULL, NULL, 0, lblk, NULL,
			   &pblk);
	if (!err && !pblk)
		return EUCLEAN;		/* a hole where the index points */
	if (!err)
		err = ext2fs_read_dir_block4(f2->fs, pblk, buf, 0, c->w->dir);
	if (err)
		return f2_errno(err);
	limit = (f2->fs->blocksize - F2_DX_NODE_ENTRIES) /
		sizeof(struct ext2_dx_entry);
	if (ext2fs_has_feature_metadata_csum(f2->fs->super))
		limit = (f2->fs->blocksize - F2_DX_NODE_ENTRIES -
			 sizeof(struct ext2_dx_tail)) /
			sizeof(struct ext2_dx_entry);
	return f2_dx_entries(c, buf, F2_DX_NODE_ENTRIES, limit, level);
}

static int f2_dx_entries(struct f2_dx_check *c, const char *buf,
			 unsigned int off, unsigned int want_limit,
			 unsigned int level)
{
	const struct ext2_dx_countlimit *cl = (const void *)(buf + off);
	const struct ext2_dx_entry *e = (const void *)(buf + off);
	unsigned int count = ext2fs_le16_to_cpu(cl->count), i;
	blk64_t blk;
	int ret;

	if (ext2fs_le16_to_cpu(cl->limit) != want_limit || !count ||
	    count > want_limit)
		return EUCLEAN;
	for (i = 0; i < count; i++) {
		blk = ext2fs_le32_to_cpu(e[i].block) & EXT4_DX_BLOCK_MASK;
		if (!blk || blk >= c->w->nblocks)
			return EUCLEAN;
		if (level < c->levels) {
			ret = f2_dx_node(c, blk, level + 1);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int f2_dx_check(struct f2_walk *w)
{
	ext2_filsys fs = w->f2->fs;
	struct f2_dx_check c = { .w = w };
	const struct ext2_dx_root_info *info;
	unsigned int limit;
	blk64_t pblk;
	errcode_t err;
	int ret;

	err = ext2fs_bmap2(fs, w->dir, NULL, NULL, 0, 0, NULL, &pblk);
	if (!err && !pblk)
		return EUCLEAN;
	if (!err)
		err = ext2fs_read_dir_block4(fs, pblk, w->buf, 0, w->dir);
	if (err)
		return f2_errno(err);
	info = (const void *)(w->buf + 24);
	switch (info->hash_version) {
	case EXT2_HASH_LEGACY:
	case EXT2_HASH_HALF_MD4:
	case EXT2_HASH_TEA:
	case EXT2_HASH_SIPHASH:
		break;
	default:
		return EUCLEAN;
	}
	if (info->reserved_zero || info->info_length != sizeof(*info) ||
	    (info->unused_flags & EXT2_HASH_FLAG_INCOMPAT) ||
	    info->indirect_levels >= ext2_dir_htree_level(fs))
		return EUCLEAN;
	c.levels = info->indirect_levels;
	limit = fs->blocksize - F2_DX_ROOT_ENTRIES;
	if (ext2fs_has_feature_metadata_csum(fs->super))
		limit -= sizeof(struct ext2_dx_tail);
	limit /= sizeof(struct ext2_dx_entry);
	if (c.levels) {
		c.node = malloc((size_t)(c.levels + 1) * fs->blocksize);
		if (!c.node)
			return ENOMEM;
	}
	ret = f2_dx_entries(&c, w->buf, F2_DX_ROOT_ENTRIES, limit, 0);
	free(c.node);
	return ret;
}

static int f2_walk_nothing(struct fuse2fs *f2, const struct f2_dirblk *b,
			   void *data)
{
	return 0;
}

static void f2_walk_any(struct f2_walk *w,
			const struct ext2_inode_large *inode)
{
	ext2_filsys fs = w->f2->fs;

	if (inode->i_flags & EXT4_INLINE_DATA_FL) {
		f2_walk_inline(w, inode);
		return;
	}
	/* The index only matters to what libext2fs does: check it once. */
	if ((inode->i_flags & EXT2_INDEX_FL) && !w->from)
		w->ret = f2_dx_check(w);
	if (w->ret == EUCLEAN) {
		fprintf(stderr, "fuse2fs: directory inode %u: damaged htree "
			"index (run e2fsck)\n", w->dir);
		w->damage |= F2_DIR_UNFIT;
		w->ret = 0;
	}
	if (w->ret)
		return;
	if (inode->i_flags & EXT4_EXTENTS_FL)
		f2_walk_extents(w, inode);
	else if (ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)inode))
		f2_walk_indirect(w);
}

int f2_dir_walk(struct fuse2fs *f2, ext2_ino_t dir,
		const struct ext2_inode_large *inode, blk64_t from,
		f2_dirblk_fn fn, void *data, unsigned int *damage)
{
	struct f2_walk w = {
		.f2 = f2, .dir = dir, .from = from, .fn = fn, .data = data,
		.nblocks = EXT2_I_SIZE(inode) / f2->fs->blocksize,
	};

	if (!LINUX_S_ISDIR(inode->i_mode))
		return ENOTDIR;
	w.buf = malloc(f2->fs->blocksize);
	if (!w.buf)
		return ENOMEM;
	/* The test hook walks (handing nothing out) until the watchdog bites. */
	while (!w.ret && f2_wd_stall("dirwalk", dir)) {
		w.fn = f2_walk_nothing;
		f2_walk_any(&w, inode);
	}
	w.fn = fn;
	if (!w.ret)
		f2_walk_any(&w, inode);
	free(w.buf);
	if (damage)
		*damage = w.damage;
	return w.ret;
}
