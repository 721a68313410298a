// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: all-or-nothing metadata updates made inside libext2fs.
 *
 * Several updates are sequences of writes inside libext2fs that it does
 * not undo when one fails: setting an extended attribute allocates and
 * writes a block, then writes the inode; growing a directory allocates a
 * block, writes it and maps it (an inline directory is moved out of the
 * inode first); preallocation, truncation and punching rewrite extent
 * tree blocks one at a time.  A failure in between left blocks marked in
 * use that nothing names, or a directory half moved out of its inode.
 *
 * Around such an update, a transaction records the old contents of every
 * block written through the io_channel (iochan.c asks before each write)
 * and every change to the block bitmap (libext2fs's allocation-stats
 * callback, and f2_block_stats_range() for ranges).  When the update
 * fails, the old contents are written back and the bitmap changes
 * undone, the last first, and libext2fs's inode cache is dropped: the
 * image is as before the update.  Those writes go straight to the unix
 * IO manager, uncounted by fault injection.  Data written by the classic
 * write path is not part of any transaction.
 *
 * Inode allocations are not recorded: updates that allocate an inode
 * undo that themselves (namespace.c).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"
#include "iomap.h"

struct f2_txn_block {
	blk64_t blk;
	char *old;
};

struct f2_txn_alloc {
	blk64_t blk;
	blk64_t num;
	int inuse;
};

static struct {
	struct fuse2fs *f2;
	unsigned int depth;	/* nested begins; 0: no transaction */
	bool undoing;
	bool broken;		/* a record could not be kept: cannot undo */
	struct f2_txn_block *blocks;
	size_t nblocks, capblocks;
	struct f2_txn_alloc *allocs;
	size_t nallocs, capallocs;
} txn;

static void *f2_txn_grow(void *p, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 16;
	void *q;

	if (n < *cap)
		return p;
	q = realloc(p, c * size);
	if (q)
		*cap = c;
	return q;
}

static void f2_txn_note_alloc(blk64_t blk, blk64_t num, int inuse)
{
	struct f2_txn_alloc *a;

	if (!txn.depth || txn.undoing)
		return;
	a = f2_txn_grow(txn.allocs, &txn.capallocs, txn.nallocs, sizeof(*a));
	if (!a) {
		txn.broken = true;
		return;
	}
	txn.allocs = a;
	a[txn.nallocs++] = (struct f2_txn_alloc){ blk, num, inuse };
}

/*
 * Blocks given back change mappings the kernel may hold; blocks taken
 * fill holes (or grow extent trees), which no mapping the kernel checks
 * describes: it never writes through a hole mapping, a BEGIN for a write
 * allocates, and zeroing skips holes (doc/protocol.md, section 10.4).
 * Raising the cookie for them only made a writer's mapping stale because
 * another writer filled another hole of the file meanwhile.
 */
static void f2_map_changed_by(int inuse)
{
	if (inuse < 0)
		f2_map_changed();
}

static void f2_txn_stats(ext2_filsys fs, blk64_t blk, int inuse)
{
	f2_map_changed_by(inuse);
	f2_txn_note_alloc(blk, 1, inuse);
}

/*
 * Not libext2fs's range callback: 1.47.0 calls it with the range already
 * consumed (blk past its end, num 0).  fuse2fs changes ranges through
 * this instead; libext2fs's own range users (ext2fs_alloc_range and
 * ext2fs_fallocate) are not called.
 */
void f2_block_stats_range(ext2_filsys fs, blk64_t blk, blk64_t num,
			  int inuse)
{
	ext2fs_block_alloc_stats_range(fs, blk, num, inuse);
	f2_map_changed_by(inuse);
	f2_txn_note_alloc(blk, num, inuse);
}

/* Every block map change passes through here, or calls it (iomap.h). */
static _Atomic uint64_t f2_cookie;

void f2_map_changed(void)
{
	atomic_fetch_add(&f2_cookie, 1);
}

uint64_t f2_map_cookie(void)
{
	return atomic_load(&f2_cookie);
}

void f2_txn_install(struct fuse2fs *f2)
{
	txn.f2 = f2;
	ext2fs_set_block_alloc_stats_callback(f2->fs, f2_txn_stats, NULL);
}

bool f2_txn_active(void)
{
	return txn.depth && !txn.undoing;
}

void f2_txn_note_write(io_channel ch, blk64_t blk, blk64_t count,
		       errcode_t (*read)(io_channel, unsigned long long, int,
					 void *))
{
	blk64_t b;
	size_t i;

	for (b = blk; b < blk + count && !txn.broken; b++) {
		struct f2_txn_block *t;
		char *old;

		for (i = 0; i < txn.nblocks; i++)
			if (txn.blocks[i].blk == b)
				break;
		if (i < txn.nblocks)
			continue;
		t = f2_txn_grow(txn.blocks, &txn.capblocks, txn.nblocks,
				sizeof(*t));
		old = malloc(ch->block_size);
		if (!t || !old || read(ch, b, 1, old)) {
			free(old);
			if (t)
				txn.blocks = t;
			txn.broken = true;
			return;
		}
		txn.blocks = t;
		t[txn.nblocks++] = (struct f2_txn_block){ b, old };
	}
}

void f2_txn_begin(void)
{
	txn.depth++;
}

static void f2_txn_rollback(void)
{
	ext2_filsys fs = txn.f2->fs;
	size_t i;

	txn.undoing = true;
	for (i = txn.nblocks; i-- > 0;)
		f2_io_write_raw(fs->io, txn.blocks[i].blk, txn.blocks[i].old);
	for (i = txn.nallocs; i-- > 0;)
		ext2fs_block_alloc_stats_range(fs, txn.allocs[i].blk,
					       txn.allocs[i].num,
					       -txn.allocs[i].inuse);
	ext2fs_flush_icache(fs);
	txn.undoing = false;
}

int f2_txn_end(int ret)
{
	size_t i;

	if (!txn.depth || --txn.depth)
		return ret;
	if (ret && !txn.broken)
		f2_txn_rollback();
	else if (ret)
		fprintf(stderr,
			"fuse2fs: an update failed and could not be undone (no memory)\n");
	for (i = 0; i < txn.nblocks; i++)
		free(txn.blocks[i].old);
	txn.nblocks = 0;
	txn.nallocs = 0;
	txn.broken = false;
	return ret;
}
