// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: lookup and open reference counts per inode.
 *
 * The kernel holds a lookup reference for every entry we hand out and an
 * open reference for every open file.  An inode whose last link goes away
 * while references remain keeps its blocks (so an unlinked open file stays
 * readable) and is freed when the last reference drops, or at unmount.
 * Only referenced inodes have a slot; the table is a chained hash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuse2fs.h"
#include "iomap.h"

struct f2_iref {
	struct f2_iref *next;
	ext2_ino_t ino;
	uint64_t nlookup;
	uint64_t nopen;
	uint32_t resv;		/* conversion reserve, blocks (alloc.c) */
};

struct f2_inode_table {
	struct f2_iref **buckets;
	size_t nbuckets;	/* a power of two */
	size_t count;
};

#define F2_ITAB_MIN_BUCKETS 1024

struct f2_inode_table *f2_itab_new(void)
{
	struct f2_inode_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nbuckets = F2_ITAB_MIN_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	return t;
}

void f2_itab_free(struct f2_inode_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			struct f2_iref *r = t->buckets[i];

			t->buckets[i] = r->next;
			free(r);
		}
	}
	free(t->buckets);
	free(t);
}

static size_t f2_itab_hash(const struct f2_inode_table *t, ext2_ino_t ino)
{
	return (ino * 2654435761u) & (t->nbuckets - 1);
}

static void f2_itab_grow(struct f2_inode_table *t)
{
	size_t n = t->nbuckets * 2, i;
	struct f2_iref **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;		/* a longer chain is still correct */
	for (i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			struct f2_iref *r = t->buckets[i];
			size_t h = (r->ino * 2654435761u) & (n - 1);

			t->buckets[i] = r->next;
			r->next = nb[h];
			nb[h] = r;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->nbuckets = n;
}

static struct f2_iref **f2_itab_slot(struct f2_inode_table *t, ext2_ino_t ino)
{
	struct f2_iref **p = &t->buckets[f2_itab_hash(t, ino)];

	while (*p && (*p)->ino != ino)
		p = &(*p)->next;
	return p;
}

static struct f2_iref *f2_itab_get(struct f2_inode_table *t, ext2_ino_t ino,
				   bool create)
{
	struct f2_iref **p = f2_itab_slot(t, ino);
	struct f2_iref *r;

	if (*p || !create)
		return *p;
	if (t->count >= 2 * t->nbuckets) {
		f2_itab_grow(t);
		p = f2_itab_slot(t, ino);
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->ino = ino;
	r->next = *p;
	*p = r;
	t->count++;
	return r;
}

static void f2_itab_put(struct fuse2fs *f2, struct f2_iref *r)
{
	struct f2_inode_table *t = f2->itab;
	struct f2_iref **p;

	if (r->nlookup || r->nopen)
		return;
	/* No IOEND can come for an inode the kernel forgot. */
	f2_resv_drop(f2, &r->resv);
	p = f2_itab_slot(t, r->ino);
	*p = r->next;
	t->count--;
	free(r);
}

void f2_itab_foreach(struct fuse2fs *f2, void (*fn)(struct fuse2fs *f2,
						   ext2_ino_t ino))
{
	struct f2_inode_table *t = f2->itab;
	size_t i;
	struct f2_iref *r;

	for (i = 0; t && i < t->nbuckets; i++)
		for (r = t->buckets[i]; r; r = r->next)
			fn(f2, r->ino);
}

uint32_t *f2_itab_resv(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct f2_iref *r = f2_itab_get(f2->itab, ino, false);

	return r ? &r->resv : NULL;
}

bool f2_inode_referenced(struct fuse2fs *f2, ext2_ino_t ino)
{
	return f2_itab_get(f2->itab, ino, false) != NULL;
}

/*
 * A failed allocation here loses a reference count; the worst outcome is
 * that an unlinked inode is freed at unmount instead of earlier.
 */
void f2_lookup_ref(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct f2_iref *r = f2_itab_get(f2->itab, ino, true);

	if (r)
		r->nlookup++;
}

void f2_lookup_unref(struct fuse2fs *f2, ext2_ino_t ino, uint64_t n)
{
	struct f2_iref *r = f2_itab_get(f2->itab, ino, false);

	if (!r)
		return;
	r->nlookup = n >= r->nlookup ? 0 : r->nlookup - n;
	if (!r->nlookup && !r->nopen) {
		f2_itab_put(f2, r);
		f2_iomap_forget(f2, ino);
		f2_maybe_free_inode(f2, ino);
	}
}

void f2_open_ref(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct f2_iref *r = f2_itab_get(f2->itab, ino, true);

	if (r)
		r->nopen++;
}

void f2_open_unref(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct f2_iref *r = f2_itab_get(f2->itab, ino, false);

	if (!r)
		return;
	if (r->nopen)
		r->nopen--;
	if (!r->nlookup && !r->nopen) {
		f2_itab_put(f2, r);
		f2_iomap_forget(f2, ino);
		f2_maybe_free_inode(f2, ino);
	} else if (!r->nopen) {
		f2_iomap_released(f2, ino);
	}
}

/*
 * Data and mapping blocks of an inode being deleted.  Not ext2fs_punch():
 * 1.47.0's refuses to free a range ending at the last block of the
 * filesystem, and a deleted inode needs no tidy extent tree anyway.
 */
static int f2_release_block(ext2_filsys fs, blk64_t *blocknr,
			    e2_blkcnt_t blockcnt, blk64_t ref_blk,
			    int ref_offset, void *priv)
{
	ext2fs_block_alloc_stats2(fs, *blocknr, -1);
	return 0;
}

/* Release the blocks, extended attributes and the inode number itself. */
static int f2_free_inode(struct fuse2fs *f2, ext2_ino_t ino,
			 struct ext2_inode_large *inode)
{
	ext2_filsys fs = f2->fs;
	errcode_t err;
	int ret;

	if (ext2fs_inode_has_valid_blocks2(fs, (struct ext2_inode *)inode)) {
		err = ext2fs_block_iterate3(fs, ino, BLOCK_FLAG_READ_ONLY, NULL,
					    f2_release_block, NULL);
		if (err)
			return f2_errno(err);
		ext2fs_iblk_set(fs, (struct ext2_inode *)inode, 0);
	}
	if (ext2fs_file_acl_block(fs, (struct ext2_inode *)inode)) {
		err = ext2fs_free_ext_attr(fs, ino, inode);
		if (err)
			return f2_errno(err);
	}
	inode->i_dtime = (uint32_t)time(NULL);
	ret = f2_write_inode(f2, ino, inode);
	if (ret)
		return ret;
	ext2fs_inode_alloc_stats2(fs, ino, -1, LINUX_S_ISDIR(inode->i_mode));
	if (LINUX_S_ISDIR(inode->i_mode))
		f2_dcache_forget(f2, ino);
	return 0;
}

int f2_maybe_free_inode(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	int ret;

	if (f2_inode_referenced(f2, ino))
		return 0;
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	/* Still linked, or already freed (the bitmap is the authority). */
	if (inode.i_links_count ||
	    !ext2fs_test_inode_bitmap2(f2->fs->inode_map, ino))
		return 0;
	ret = f2_free_inode(f2, ino, &inode);
	if (ret)
		fprintf(stderr, "fuse2fs: freeing inode %u: %s\n", ino,
			strerror(ret));
	return ret;
}

/*
 * At unmount the kernel's references are gone: free every inode that was
 * kept only because it was still referenced.
 */
void f2_itab_release_all(struct fuse2fs *f2)
{
	struct f2_inode_table *t = f2->itab;
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		while (t->buckets[i]) {
			struct f2_iref *r = t->buckets[i];
			ext2_ino_t ino = r->ino;

			t->buckets[i] = r->next;
			t->count--;
			f2_resv_drop(f2, &r->resv);
			free(r);
			f2_maybe_free_inode(f2, ino);
		}
	}
}
