// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * chattr +e / -e: converting a file between block maps (ext2/ext3
 * indirect blocks) and extents, with the limits of ext4's
 * ext4_ext_migrate() and ext4_ind_migrate():
 *
 * - to extents: any regular file or directory, once the filesystem has
 *   the extents feature; the indirect blocks are freed afterwards;
 * - back to a block map: only a file whose blocks form at most one
 *   extent within the twelve direct blocks (EOPNOTSUPP otherwise).
 *
 * The new extent tree is built on a copy of the inode; if that fails
 * half way the old inode is written back and the tree blocks are freed,
 * so the file stays as it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"
#include "blockmap.h"

struct map_run {
	blk64_t lblk, pblk, len;
};

struct collect {
	struct map_run *runs;
	size_t nruns, cap_runs;
	blk64_t *meta;			/* indirect blocks to free */
	size_t nmeta, cap_meta;
	errcode_t err;
};

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = n;
	return 0;
}

static int collect_block(ext2_filsys fs, blk64_t *blocknr,
			 e2_blkcnt_t blockcnt, blk64_t ref_blk, int ref_offset,
			 void *priv)
{
	struct collect *c = priv;
	struct map_run *last;

	if (!*blocknr)
		return 0;
	if (blockcnt < 0) {
		if (grow((void **)&c->meta, &c->cap_meta, c->nmeta + 1,
			 sizeof(*c->meta)))
			goto nomem;
		c->meta[c->nmeta++] = *blocknr;
		return 0;
	}
	last = c->nruns ? &c->runs[c->nruns - 1] : NULL;
	if (last && last->lblk + last->len == (blk64_t)blockcnt &&
	    last->pblk + last->len == *blocknr) {
		last->len++;
		return 0;
	}
	if (grow((void **)&c->runs, &c->cap_runs, c->nruns + 1,
		 sizeof(*c->runs)))
		goto nomem;
	c->runs[c->nruns++] = (struct map_run){ blockcnt, *blocknr, 1 };
	return 0;
nomem:
	c->err = EXT2_ET_NO_MEMORY;
	return BLOCK_ABORT;
}

/* The blocks of the extent tree itself (index and leaf blocks). */
static void free_tree_blocks(ext2_filsys fs, ext2_extent_handle_t h)
{
	struct ext2fs_extent ext;
	errcode_t err;

	err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ext);
	while (!err) {
		if (!(ext.e_flags & EXT2_EXTENT_FLAGS_LEAF) &&
		    !(ext.e_flags & EXT2_EXTENT_FLAGS_SECOND_VISIT))
			ext2fs_block_alloc_stats2(fs, ext.e_pblk, -1);
		err = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ext);
	}
}

static int to_extents(struct fuse2fs *f2, ext2_ino_t ino,
		      struct ext2_inode_large *inode)
{
	ext2_filsys fs = f2->fs;
	struct ext2_inode_large orig = *inode;
	struct collect c = { 0 };
	ext2_extent_handle_t h;
	blk64_t per_leaf, need;
	errcode_t err;
	size_t i;
	blk64_t b;

	if (!ext2fs_has_feature_extents(fs->super) ||
	    inode->i_flags & EXT4_INLINE_DATA_FL)
		return EINVAL;
	if (!LINUX_S_ISREG(inode->i_mode) && !LINUX_S_ISDIR(inode->i_mode))
		return EOPNOTSUPP;
	err = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL,
				    collect_block, &c);
	if (!err)
		err = c.err;
	if (err)
		goto out;
	/* Room for the leaf blocks a worst case tree needs, and an index. */
	per_leaf = (fs->blocksize - 12) / 12;
	need = c.nruns > 4 ? (c.nruns + per_leaf - 1) / per_leaf + 1 : 0;
	if (need > ext2fs_free_blocks_count(fs->super)) {
		err = EXT2_ET_BLOCK_ALLOC_FAIL;
		goto out;
	}

	memset(inode->i_block, 0, sizeof(inode->i_block));
	inode->i_flags |= EXT4_EXTENTS_FL;
	err = ext2fs_iblk_sub_blocks(fs, (struct ext2_inode *)inode, c.nmeta);
	if (!err)
		err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)inode,
					  &h);
	if (err) {
		*inode = orig;
		goto out;
	}
	for (i = 0; i < c.nruns && !err; i++)
		for (b = 0; b < c.runs[i].len && !err; b++)
			err = ext2fs_extent_set_bmap(h, c.runs[i].lblk + b,
						     c.runs[i].pblk + b, 0);
	if (err) {
		/* Undo: the old map is intact, the new tree goes. */
		free_tree_blocks(fs, h);
		ext2fs_extent_free(h);
		*inode = orig;
		f2_write_inode(f2, ino, inode);
		goto out;
	}
	ext2fs_extent_free(h);
	for (i = 0; i < c.nmeta; i++)
		ext2fs_block_alloc_stats2(fs, c.meta[i], -1);
out:
	free(c.runs);
	free(c.meta);
	return f2_errno(err);
}

static int to_blocks(struct fuse2fs *f2, ext2_ino_t ino,
		     struct ext2_inode_large *inode)
{
	ext2_filsys fs = f2->fs;
	struct ext2fs_extent ext;
	struct ext2_extent_info info;
	ext2_extent_handle_t h;
	errcode_t err;
	blk64_t i;

	if (ext2fs_has_feature_bigalloc(fs->super))
		return EOPNOTSUPP;
	if (ext2fs_blocks_count(fs->super) > 0xffffffffULL)
		return EOPNOTSUPP;
	err = ext2fs_extent_open2(fs, ino, (struct ext2_inode *)inode, &h);
	if (err)
		return f2_errno(err);
	err = ext2fs_extent_get_info(h, &info);
	if (err)
		goto out;
	if (info.max_depth != 0 || info.num_entries > 1) {
		err = EXT2_ET_OP_NOT_SUPPORTED;
		goto out;
	}
	if (info.num_entries) {
		err = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ext);
		if (err)
			goto out;
		if (ext.e_flags & EXT2_EXTENT_FLAGS_UNINIT ||
		    ext.e_lblk + ext.e_len > EXT2_NDIR_BLOCKS) {
			err = EXT2_ET_OP_NOT_SUPPORTED;
			goto out;
		}
	} else {
		ext.e_len = 0;
	}
	memset(inode->i_block, 0, sizeof(inode->i_block));
	for (i = 0; i < ext.e_len; i++)
		inode->i_block[ext.e_lblk + i] = (uint32_t)(ext.e_pblk + i);
	inode->i_flags &= ~EXT4_EXTENTS_FL;
out:
	ext2fs_extent_free(h);
	return f2_errno(err);
}

int f2_migrate_extents(struct fuse2fs *f2, ext2_ino_t ino,
		       struct ext2_inode_large *inode, bool extents)
{
	if (!!(inode->i_flags & EXT4_EXTENTS_FL) == extents)
		return 0;
	return extents ? to_extents(f2, ino, inode) :
			 to_blocks(f2, ino, inode);
}
