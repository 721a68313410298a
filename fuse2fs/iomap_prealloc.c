// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Look-ahead allocation beyond EOF (see alloc_end() in iomap_ops.c) and
 * giving it back.  Blocks allocated ahead of a streaming writer are
 * unwritten extents past the on-disk size: harmless to e2fsck, but
 * space the file does not need once the writer stops.  We remember each
 * look-ahead range and punch what is still unwritten past EOF when the
 * inode's last open file is released (the kernel then keeps no mapping
 * and has written back every page: doc/protocol.md section 10), when the
 * kernel forgets the inode, or at unmount.
 * The table is small on purpose: when it is full, writes simply get no
 * look-ahead.
 */
#include <errno.h>
#include <string.h>

#include "iomap.h"

#define F2_PREALLOC_SLOTS	128

struct prealloc {
	ext2_ino_t ino;		/* 0: free slot */
	blk64_t start;		/* first block allocated ahead */
	blk64_t end;		/* one past the last */
};

static struct prealloc table[F2_PREALLOC_SLOTS];

static struct prealloc *find(ext2_ino_t ino)
{
	unsigned int i;

	for (i = 0; i < F2_PREALLOC_SLOTS; i++)
		if (table[i].ino == ino)
			return &table[i];
	return NULL;
}

bool f2_prealloc_note(ext2_ino_t ino, blk64_t start, blk64_t end)
{
	struct prealloc *p = find(ino);

	if (p) {
		if (start < p->start)
			p->start = start;
		if (end > p->end)
			p->end = end;
		return true;
	}
	p = find(0);
	if (!p)
		return false;
	p->ino = ino;
	p->start = start;
	p->end = end;
	return true;
}

void f2_prealloc_shift(ext2_ino_t ino, blk64_t lblk, blk64_t by, bool left)
{
	struct prealloc *p = ino ? find(ino) : NULL;

	/* Look-ahead lies past EOF, which both shifts move whole */
	if (!p || p->start < lblk)
		return;
	if (left) {
		p->start -= by;
		p->end -= by;
	} else {
		p->start += by;
		p->end += by;
	}
}

void f2_prealloc_trim(struct fuse2fs *f2, ext2_ino_t ino)
{
	struct ext2_inode_large inode;
	struct prealloc *p = ino ? find(ino) : NULL;
	blk64_t from, end, eof;

	if (!p)
		return;
	from = p->start;
	end = p->end;
	memset(p, 0, sizeof(*p));
	if (!f2->fs || f2->ro || f2_read_inode(f2, ino, &inode))
		return;
	/* Unlinked: freeing the inode gives everything back anyway. */
	if (!inode.i_links_count || !(inode.i_flags & EXT4_EXTENTS_FL))
		return;
	eof = (EXT2_I_SIZE(&inode) + f2->fs->blocksize - 1) /
	      f2->fs->blocksize;
	if (from < eof)
		from = eof;
	/*
	 * Only our guess: a user's fallocate elsewhere stays.  Write the
	 * inode even after an error: what was freed is out of the tree.
	 */
	f2_free_unwritten(f2->fs, ino, &inode, from, end);
	f2_write_inode(f2, ino, &inode);
}

void f2_iomap_forget(struct fuse2fs *f2, ext2_ino_t ino)
{
	f2_iomap_mode_settled(ino);
	f2_prealloc_trim(f2, ino);
}

void f2_iomap_forget_all(struct fuse2fs *f2)
{
	unsigned int i;

	for (i = 0; i < F2_PREALLOC_SLOTS; i++)
		if (table[i].ino)
			f2_iomap_forget(f2, table[i].ino);
}
