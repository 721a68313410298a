// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: deleting an inode, all or nothing, and the orphan list.
 *
 * An inode without links and without references is deleted: its blocks
 * (data, extent tree or indirect blocks, the extended attribute block)
 * and its number go back to the allocator and the inode gets a deletion
 * time.  Done in that order of steps, half-way failures left inodes that
 * e2fsck calls corrupt: with the block count zeroed before the xattr
 * block was released, the release failed (the count would go below
 * zero), and the inode stayed in use with no links and no deletion time,
 * its data blocks already free (issue 13, item 1).
 *
 * So everything that can fail on a sound image comes first and changes
 * nothing: walking the block map (collecting the blocks), reading and
 * checking the xattr block.  Then the image is written, in an order
 * where each write that fails can be undone by the next: the shared
 * xattr block's reference count (only when other inodes share it), then
 * the inode itself.  Only then do the bitmaps, which live in memory
 * until the next flush, give the blocks and the number back.
 *
 * When anything fails, the inode is left whole, links 0, on the
 * superblock's orphan list, which e2fsck (and the kernel at mount) then
 * finishes deleting; the failure is logged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse2fs.h"
#include "iomap.h"

struct f2_extent_list {
	struct { blk64_t start, len; } *r;
	size_t n, cap;
	errcode_t err;
};

/* Gather the blocks of the inode as runs; refuse blocks not in use. */
static int f2_collect_block(ext2_filsys fs, blk64_t *blocknr,
			    e2_blkcnt_t blockcnt, blk64_t ref_blk,
			    int ref_offset, void *priv)
{
	struct f2_extent_list *l = priv;
	blk64_t b = *blocknr;

	if (b < fs->super->s_first_data_block ||
	    b >= ext2fs_blocks_count(fs->super) ||
	    !ext2fs_test_block_bitmap2(fs->block_map, b)) {
		l->err = EXT2_ET_FILESYSTEM_CORRUPTED;
		return BLOCK_ABORT;
	}
	if (l->n && l->r[l->n - 1].start + l->r[l->n - 1].len == b) {
		l->r[l->n - 1].len++;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *r = realloc(l->r, cap * sizeof(*l->r));

		if (!r) {
			l->err = EXT2_ET_NO_MEMORY;
			return BLOCK_ABORT;
		}
		l->r = r;
		l->cap = cap;
	}
	l->r[l->n].start = b;
	l->r[l->n].len = 1;
	l->n++;
	return 0;
}

/* Is ino on the orphan list?  *prev: the inode before it, 0 if first. */
static errcode_t f2_orphan_find(struct fuse2fs *f2, ext2_ino_t ino,
				bool *found, ext2_ino_t *prev)
{
	ext2_filsys fs = f2->fs;
	ext2_ino_t cur = fs->super->s_last_orphan, steps;
	struct ext2_inode_large inode;
	errcode_t err;

	*found = false;
	*prev = 0;
	/* Bounded: a damaged list may loop. */
	for (steps = 0; cur && steps < fs->super->s_inodes_count; steps++) {
		if (cur == ino) {
			*found = true;
			return 0;
		}
		if (cur > fs->super->s_inodes_count)
			return EXT2_ET_FILESYSTEM_CORRUPTED;
		err = f2_read_inode(f2, cur, &inode);
		if (err)
			return err;
		*prev = cur;
		cur = inode.i_dtime;
	}
	return cur ? EXT2_ET_FILESYSTEM_CORRUPTED : 0;
}

/*
 * Put ino (links 0, still allocated) at the head of the orphan list, as
 * ext4 does for an inode it could not delete yet.  *inode is written.
 */
static int f2_orphan_add(struct fuse2fs *f2, ext2_ino_t ino,
			 struct ext2_inode_large *inode)
{
	ext2_filsys fs = f2->fs;
	ext2_ino_t prev;
	bool found;
	int ret;

	ret = f2_errno(f2_orphan_find(f2, ino, &found, &prev));
	if (ret || found)
		return ret;
	inode->i_dtime = fs->super->s_last_orphan;
	ret = f2_write_inode(f2, ino, inode);
	if (ret)
		return ret;
	fs->super->s_last_orphan = ino;
	ext2fs_mark_super_dirty(fs);
	return 0;
}

/* Take ino off the orphan list, if it is on it; 0 or a positive errno. */
static int f2_orphan_remove(struct fuse2fs *f2, ext2_ino_t ino,
			    const struct ext2_inode_large *inode)
{
	ext2_filsys fs = f2->fs;
	struct ext2_inode_large p;
	ext2_ino_t prev;
	bool found;
	int ret;

	ret = f2_errno(f2_orphan_find(f2, ino, &found, &prev));
	if (ret || !found)
		return ret;
	if (!prev) {
		fs->super->s_last_orphan = inode->i_dtime;
		ext2fs_mark_super_dirty(fs);
		return 0;
	}
	ret = f2_read_inode(f2, prev, &p);
	if (ret)
		return ret;
	p.i_dtime = inode->i_dtime;
	return f2_write_inode(f2, prev, &p);
}

/* The xattr block of an inode being deleted, read and checked. */
static errcode_t f2_read_ea_block(ext2_filsys fs, ext2_ino_t ino, blk64_t blk,
				  char *buf)
{
	struct ext2_ext_attr_header *h = (void *)buf;
	errcode_t err;

	if (blk < fs->super->s_first_data_block ||
	    blk >= ext2fs_blocks_count(fs->super) ||
	    !ext2fs_test_block_bitmap2(fs->block_map, blk))
		return EXT2_ET_BAD_EA_BLOCK_NUM;
	err = ext2fs_read_ext_attr3(fs, blk, buf, ino);
	if (!err && !h->h_refcount)
		err = EXT2_ET_BAD_EA_HEADER;
	return err;
}

/*
 * Delete the inode whose on-disk copy is *inode; on failure it is left
 * whole on the orphan list.  0 or a positive errno.
 */
static int f2_delete_inode(struct fuse2fs *f2, ext2_ino_t ino,
			   struct ext2_inode_large *inode)
{
	ext2_filsys fs = f2->fs;
	struct ext2_inode *raw = (struct ext2_inode *)inode;
	struct ext2_inode_large orig = *inode;
	struct f2_extent_list l = { 0 };
	blk64_t ea = ext2fs_file_acl_block(fs, raw);
	struct ext2_ext_attr_header *h;
	bool shared = false;
	char *buf = NULL;
	errcode_t err = 0;
	size_t i;
	int ret;

	/* 1. Everything that can fail before anything changes. */
	if (ext2fs_inode_has_valid_blocks2(fs, raw)) {
		err = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL,
					    f2_collect_block, &l);
		if (!err)
			err = l.err;
	}
	if (!err && ea) {
		err = ext2fs_get_mem(fs->blocksize, &buf);
		if (!err)
			err = f2_read_ea_block(fs, ino, ea, buf);
	}
	ret = f2_errno(err);
	if (!ret)
		ret = f2_orphan_remove(f2, ino, inode);
	if (ret)
		goto keep;

	/* 2. Another inode keeps the shared xattr block: one ref less. */
	h = (void *)buf;
	if (ea && h->h_refcount > 1) {
		shared = true;
		h->h_refcount--;
		ret = f2_errno(ext2fs_write_ext_attr3(fs, ea, buf, ino));
		if (ret)
			goto keep;
	}

	/* 3. The inode, deleted. */
	inode->i_dtime = (uint32_t)time(NULL);
	ext2fs_iblk_set(fs, raw, 0);
	ext2fs_file_acl_block_set(fs, raw, 0);
	ret = f2_write_inode(f2, ino, inode);
	if (ret) {
		if (shared) {
			h->h_refcount++;
			ext2fs_write_ext_attr3(fs, ea, buf, ino);
		}
		*inode = orig;
		goto keep;
	}

	/* 4. In memory only: the blocks and the number go back. */
	for (i = 0; i < l.n; i++)
		f2_block_stats_range(fs, l.r[i].start, l.r[i].len,
					       -1);
	if (ea && !shared)
		ext2fs_block_alloc_stats2(fs, ea, -1);
	ext2fs_inode_alloc_stats2(fs, ino, -1, LINUX_S_ISDIR(inode->i_mode));
	if (LINUX_S_ISDIR(inode->i_mode))
		f2_dcache_forget(f2, ino);
	goto out;

keep:
	fprintf(stderr,
		"fuse2fs: deleting inode %u: %s; left on the orphan list for e2fsck\n",
		ino, strerror(ret));
	*inode = orig;
	if (f2_orphan_add(f2, ino, inode))
		fprintf(stderr,
			"fuse2fs: inode %u could not be put on the orphan list\n",
			ino);
out:
	ext2fs_free_mem(&buf);
	free(l.r);
	return ret;
}

/*
 * Inodes whose deletion could not even start (their inode could not be
 * read): tried again at unmount, or left for e2fsck with a message.
 */
static ext2_ino_t *f2_retry;
static size_t f2_nretry, f2_capretry;

static void f2_retry_later(ext2_ino_t ino, int err)
{
	size_t i;

	for (i = 0; i < f2_nretry; i++)
		if (f2_retry[i] == ino)
			return;
	if (f2_nretry == f2_capretry) {
		size_t cap = f2_capretry ? 2 * f2_capretry : 16;
		ext2_ino_t *r = realloc(f2_retry, cap * sizeof(*r));

		if (!r) {
			fprintf(stderr, "fuse2fs: inode %u not deleted: %s\n",
				ino, strerror(err));
			return;
		}
		f2_retry = r;
		f2_capretry = cap;
	}
	f2_retry[f2_nretry++] = ino;
}

void f2_free_retry(struct fuse2fs *f2)
{
	ext2_ino_t *r = f2_retry;
	size_t i, n = f2_nretry;

	f2_retry = NULL;
	f2_nretry = f2_capretry = 0;
	for (i = 0; i < n; i++)
		f2_maybe_free_inode(f2, r[i]);
	free(r);
}

int f2_maybe_free_inode(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	int ret;

	if (f2_inode_referenced(f2, ino))
		return 0;
	ret = f2_read_inode(f2, ino, &inode);
	if (ret) {
		f2_retry_later(ino, ret);
		return ret;
	}
	/* Still linked, or already freed (the bitmap is the authority). */
	if (inode.i_links_count ||
	    !ext2fs_test_inode_bitmap2(f2->fs->inode_map, ino))
		return 0;
	return f2_delete_inode(f2, ino, &inode);
}
