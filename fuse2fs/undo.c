// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: putting inodes back when a multi-step update fails half way.
 *
 * Without a journal, an operation that writes several inodes (a rename
 * touches up to four, plus directory blocks) leaves the image in between
 * states when one write fails: a name without a link count, a link count
 * without a name.  Operations save the whole on-disk inodes they are
 * about to change (f2_undo_save) before the first write, make the
 * changes in an order where each failure point has everything before it
 * saved, and on failure write the saved inodes back (f2_undo_restore).
 * Whole on-disk inodes, not struct ext2_inode_large: an inline directory
 * keeps its entries in the inode's extended attribute area too.
 *
 * Directory entries that were already added or removed are undone by the
 * operation itself with the opposite change, and the directory name cache
 * of every directory saved here is forgotten on restore.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"

int f2_undo_save(struct fuse2fs *f2, struct f2_undo *u, ext2_ino_t ino)
{
	size_t size = EXT2_INODE_SIZE(f2->fs->super);
	unsigned int i;
	errcode_t err;
	char *raw;

	for (i = 0; i < u->n; i++)
		if (u->saved[i].ino == ino)
			return 0;
	if (u->n == F2_UNDO_MAX)
		return EINVAL;
	raw = malloc(size);
	if (!raw)
		return ENOMEM;
	err = ext2fs_read_inode_full(f2->fs, ino, (struct ext2_inode *)raw,
				     size);
	if (err) {
		free(raw);
		return f2_errno(err);
	}
	u->saved[u->n].ino = ino;
	u->saved[u->n].raw = raw;
	u->n++;
	return 0;
}

void f2_undo_restore(struct fuse2fs *f2, struct f2_undo *u)
{
	size_t size = EXT2_INODE_SIZE(f2->fs->super);

	while (u->n) {
		u->n--;
		ext2fs_write_inode_full(f2->fs, u->saved[u->n].ino,
					(struct ext2_inode *)u->saved[u->n].raw,
					size);
		f2_dcache_forget(f2, u->saved[u->n].ino);
		free(u->saved[u->n].raw);
	}
}

void f2_undo_done(struct f2_undo *u)
{
	while (u->n)
		free(u->saved[--u->n].raw);
}
