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
#include <stdlib.h>

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
 * A failed allocation here is ENOMEM, and the request fails: an inode the
 * kernel holds without our count could be freed (unlinked, O_TMPFILE) or
 * lose its look-ahead while the kernel still writes there.
 */
int f2_lookup_ref(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct f2_iref *r = f2_itab_get(f2->itab, ino, true);

	if (!r)
		return ENOMEM;
	r->nlookup++;
	return 0;
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

int f2_open_ref(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct f2_iref *r = f2_itab_get(f2->itab, ino, true);

	if (!r)
		return ENOMEM;
	r->nopen++;
	return 0;
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
		f2_prealloc_trim(f2, ino);
		f2_iomap_released(f2, ino);
	}
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
	f2_free_retry(f2);
	/* What follows is the final write-back: not a test's fault point. */
	f2_fault_report();
}
