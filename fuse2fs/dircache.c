// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: an in-memory name -> inode index of recently used directories.
 *
 * A lookup in a linear directory scans every block and checks every
 * block's checksum; a create used to do that three times (the kernel's
 * LOOKUP, our existence check, then ext2fs_link() looking for room).
 * This server is the image's only writer and every entry change goes
 * through namespace.c, which keeps the index in step, so a cached
 * directory answers lookups, misses included, without touching the disk.
 * Whole directories are evicted least recently used first.
 *
 * Loading a directory reads it through the checking walk (dircheck.c),
 * so a directory held here has been checked as a whole: only such a one
 * is handed to libext2fs (f2_dir_usable()).  A damaged directory is held
 * too, with the names its sound parts hold and a mark: those names are
 * found, any other lookup fails at once with EUCLEAN (ENOENT when only
 * its htree index is wrong: no entry was lost) instead of
 * reading the directory again for every name, and changes are refused;
 * the mark goes when the directory's inode changes (its times, size,
 * blocks or checksum), and then the directory is read again.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"
#include "dircheck.h"

#define F2_DC_MAX_DIRS		256
#define F2_DC_MAX_NAMES		(1U << 21)
#define F2_DC_MIN_BUCKETS	64

struct f2_dc_name {
	struct f2_dc_name *next;
	uint32_t hash;
	ext2_ino_t ino;
	uint32_t lblk;		/* block holding the entry, a hint */
	uint8_t len;
	char name[];
};

/* What tells a damaged directory's inode has changed since it was read. */
struct f2_dc_key {
	uint32_t generation, ctime, ctime_extra, mtime, mtime_extra;
	uint32_t size, size_high, blocks, flags, csum_lo, csum_hi;
};

struct f2_dc_dir {
	struct f2_dc_dir *lru_prev, *lru_next;	/* most recent first */
	ext2_ino_t dir;
	struct f2_dc_name **buckets;
	size_t nbuckets;
	size_t count;
	/* F2_DIR_*: changes are refused; with F2_DIR_LOST misses too. */
	unsigned int damage;
	struct f2_dc_key key;	/* of a damaged directory */
};

struct f2_dcache {
	struct f2_dc_dir *lru_head, *lru_tail;
	size_t ndirs;
	size_t nnames;
};

static uint32_t f2_dc_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return h;
}

static void f2_dc_unlink_lru(struct f2_dcache *dc, struct f2_dc_dir *d)
{
	if (d->lru_prev)
		d->lru_prev->lru_next = d->lru_next;
	else
		dc->lru_head = d->lru_next;
	if (d->lru_next)
		d->lru_next->lru_prev = d->lru_prev;
	else
		dc->lru_tail = d->lru_prev;
	d->lru_prev = d->lru_next = NULL;
}

static void f2_dc_push_lru(struct f2_dcache *dc, struct f2_dc_dir *d)
{
	d->lru_next = dc->lru_head;
	d->lru_prev = NULL;
	if (dc->lru_head)
		dc->lru_head->lru_prev = d;
	dc->lru_head = d;
	if (!dc->lru_tail)
		dc->lru_tail = d;
}

static void f2_dc_free_dir(struct f2_dcache *dc, struct f2_dc_dir *d)
{
	size_t i;

	f2_dc_unlink_lru(dc, d);
	for (i = 0; i < d->nbuckets; i++) {
		while (d->buckets[i]) {
			struct f2_dc_name *n = d->buckets[i];

			d->buckets[i] = n->next;
			free(n);
		}
	}
	dc->nnames -= d->count;
	dc->ndirs--;
	free(d->buckets);
	free(d);
}

static struct f2_dc_dir *f2_dc_find(struct f2_dcache *dc, ext2_ino_t dir)
{
	struct f2_dc_dir *d;

	for (d = dc->lru_head; d; d = d->lru_next) {
		if (d->dir == dir) {
			if (d != dc->lru_head) {
				f2_dc_unlink_lru(dc, d);
				f2_dc_push_lru(dc, d);
			}
			return d;
		}
	}
	return NULL;
}

static struct f2_dc_name **f2_dc_slot(struct f2_dc_dir *d, const char *name,
				      size_t len, uint32_t hash)
{
	struct f2_dc_name **p = &d->buckets[hash & (d->nbuckets - 1)];

	while (*p && ((*p)->hash != hash || (*p)->len != len ||
		      memcmp((*p)->name, name, len)))
		p = &(*p)->next;
	return p;
}

static void f2_dc_grow(struct f2_dc_dir *d)
{
	size_t n = d->nbuckets * 2, i;
	struct f2_dc_name **nb = calloc(n, sizeof(*nb));

	if (!nb)
		return;
	for (i = 0; i < d->nbuckets; i++) {
		while (d->buckets[i]) {
			struct f2_dc_name *e = d->buckets[i];

			d->buckets[i] = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(d->buckets);
	d->buckets = nb;
	d->nbuckets = n;
}

/*
 * Insert or update; false when out of memory (the dir must be dropped).
 * F2_LBLK_KEEP leaves a known entry's block hint alone.
 */
static bool f2_dc_put(struct f2_dcache *dc, struct f2_dc_dir *d,
		      const char *name, size_t len, ext2_ino_t ino,
		      uint32_t lblk)
{
	uint32_t hash = f2_dc_hash(name, len);
	struct f2_dc_name **p = f2_dc_slot(d, name, len, hash), *n;

	if (*p) {
		(*p)->ino = ino;
		if (lblk != F2_LBLK_KEEP)
			(*p)->lblk = lblk;
		return true;
	}
	if (lblk == F2_LBLK_KEEP)
		lblk = F2_LBLK_UNKNOWN;
	n = malloc(sizeof(*n) + len);
	if (!n)
		return false;
	n->hash = hash;
	n->ino = ino;
	n->lblk = lblk;
	n->len = (uint8_t)len;
	memcpy(n->name, name, len);
	n->next = *p;
	*p = n;
	d->count++;
	dc->nnames++;
	if (d->count > 2 * d->nbuckets)
		f2_dc_grow(d);
	return true;
}

struct f2_dc_fill {
	struct f2_dcache *dc;
	struct f2_dc_dir *d;
	bool inline_dir;
};

static int f2_dc_fill_block(struct fuse2fs *f2, const struct f2_dirblk *b,
			    void *priv)
{
	struct f2_dc_fill *f = priv;
	struct ext2_dir_entry *d;
	unsigned int off, rec;

	for (off = 0; off < b->good; off += rec) {
		d = (struct ext2_dir_entry *)(b->buf + off);
		ext2fs_get_rec_len(f2->fs, d, &rec);
		if (!d->inode)
			continue;
		/* The block is a hint for dirent.c, which checks it. */
		if (!f2_dc_put(f->dc, f->d, d->name,
			       ext2fs_dirent_name_len(d), d->inode,
			       f->inline_dir ? F2_LBLK_UNKNOWN :
					       (uint32_t)b->lblk))
			return ENOMEM;
	}
	return 0;
}

static void f2_dc_key(const struct ext2_inode_large *inode,
		      struct f2_dc_key *k)
{
	memset(k, 0, sizeof(*k));
	k->generation = inode->i_generation;
	k->ctime = inode->i_ctime;
	k->ctime_extra = inode->i_ctime_extra;
	k->mtime = inode->i_mtime;
	k->mtime_extra = inode->i_mtime_extra;
	k->size = inode->i_size;
	k->size_high = inode->i_size_high;
	k->blocks = inode->i_blocks;
	k->flags = inode->i_flags;
	k->csum_lo = inode->osd2.linux2.l_i_checksum_lo;
	k->csum_hi = inode->i_checksum_hi;
}

/* Make room for a new directory of up to about count names. */
static void f2_dc_evict(struct f2_dcache *dc)
{
	while (dc->lru_tail && (dc->ndirs >= F2_DC_MAX_DIRS ||
				dc->nnames >= F2_DC_MAX_NAMES))
		f2_dc_free_dir(dc, dc->lru_tail);
}

static int f2_dc_load(struct fuse2fs *f2, ext2_ino_t dir,
		      struct f2_dc_dir **dp)
{
	struct f2_dcache *dc = f2->dcache;
	struct f2_dc_fill f = { .dc = dc };
	struct ext2_inode_large inode;
	struct f2_dc_dir *d;
	unsigned int damage = 0;
	int ret;

	ret = f2_read_inode(f2, dir, &inode);
	if (ret)
		return ret;
	f2_dc_evict(dc);
	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->dir = dir;
	d->nbuckets = F2_DC_MIN_BUCKETS;
	d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
	if (!d->buckets) {
		free(d);
		return ENOMEM;
	}
	f2_dc_push_lru(dc, d);
	dc->ndirs++;
	f.d = d;
	f.inline_dir = inode.i_flags & EXT4_INLINE_DATA_FL;
	ret = f2_dir_walk(f2, dir, &inode, 0, f2_dc_fill_block, &f, &damage);
	/* A block map beyond repair damages the directory as a whole. */
	if (ret == EUCLEAN) {
		damage |= F2_DIR_LOST;
		ret = 0;
	}
	if (ret) {
		f2_dc_free_dir(dc, d);
		return ret;
	}
	d->damage = damage;
	if (damage)
		f2_dc_key(&inode, &d->key);
	*dp = d;
	return 0;
}

/*
 * The directory as held here, loaded if need be; a damaged one is read
 * again when its inode has changed since.
 */
static int f2_dc_get(struct fuse2fs *f2, ext2_ino_t dir,
		     struct f2_dc_dir **dp)
{
	struct f2_dc_dir *d = f2_dc_find(f2->dcache, dir);
	struct ext2_inode_large inode;
	struct f2_dc_key key;
	int ret;

	if (d && d->damage) {
		ret = f2_read_inode(f2, dir, &inode);
		if (ret)
			return ret;
		f2_dc_key(&inode, &key);
		if (memcmp(&key, &d->key, sizeof(key))) {
			f2_dc_free_dir(f2->dcache, d);
			d = NULL;
		}
	}
	if (d) {
		*dp = d;
		return 0;
	}
	return f2_dc_load(f2, dir, dp);
}

struct f2_dcache *f2_dcache_new(void)
{
	return calloc(1, sizeof(struct f2_dcache));
}

void f2_dcache_free(struct f2_dcache *dc)
{
	if (!dc)
		return;
	while (dc->lru_head)
		f2_dc_free_dir(dc, dc->lru_head);
	free(dc);
}

int f2_dcache_lookup(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		     ext2_ino_t *ino)
{
	return f2_lookup_disk(f2, dir, name, strlen(name), ino);
}

int f2_lookup_disk(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		   size_t len, ext2_ino_t *ino)
{
	struct f2_dc_name **p;
	struct f2_dc_dir *d;
	int ret;

	if (len > EXT2_NAME_LEN)
		return ENAMETOOLONG;
	ret = f2_dc_get(f2, dir, &d);
	if (ret)
		return ret;
	p = f2_dc_slot(d, name, len, f2_dc_hash(name, len));
	if (!*p)
		return (d->damage & F2_DIR_LOST) ? EUCLEAN : ENOENT;
	*ino = (*p)->ino;
	return 0;
}

int f2_dir_usable(struct fuse2fs *f2, ext2_ino_t dir)
{
	struct f2_dc_dir *d;
	int ret;

	ret = f2_dc_get(f2, dir, &d);
	if (ret)
		return ret;
	return d->damage ? EUCLEAN : 0;
}

void f2_dcache_set(struct fuse2fs *f2, ext2_ino_t dir, const char *name,
		   ext2_ino_t ino, uint32_t lblk)
{
	struct f2_dc_dir *d = f2_dc_find(f2->dcache, dir);

	if (d && !f2_dc_put(f2->dcache, d, name, strlen(name), ino, lblk))
		f2_dc_free_dir(f2->dcache, d);
}

uint32_t f2_dcache_where(struct fuse2fs *f2, ext2_ino_t dir, const char *name)
{
	struct f2_dc_dir *d = f2_dc_find(f2->dcache, dir);
	size_t len = strlen(name);
	struct f2_dc_name **p;

	if (!d)
		return F2_LBLK_UNKNOWN;
	p = f2_dc_slot(d, name, len, f2_dc_hash(name, len));
	return *p ? (*p)->lblk : F2_LBLK_UNKNOWN;
}

void f2_dcache_remove(struct fuse2fs *f2, ext2_ino_t dir, const char *name)
{
	struct f2_dc_dir *d = f2_dc_find(f2->dcache, dir);
	size_t len = strlen(name);
	struct f2_dc_name **p, *n;

	if (!d)
		return;
	p = f2_dc_slot(d, name, len, f2_dc_hash(name, len));
	n = *p;
	if (!n)
		return;
	*p = n->next;
	free(n);
	d->count--;
	f2->dcache->nnames--;
}

void f2_dcache_forget(struct fuse2fs *f2, ext2_ino_t dir)
{
	struct f2_dc_dir *d = f2_dc_find(f2->dcache, dir);

	if (d)
		f2_dc_free_dir(f2->dcache, d);
}
