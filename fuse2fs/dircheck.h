/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Checking directories before anything walks them (dircheck.c), and
 * walking their blocks by what the block map holds, not by i_size.
 */
#ifndef FUSE2FS_DIRCHECK_H
#define FUSE2FS_DIRCHECK_H

#include "fuse2fs.h"

/*
 * One block of a directory as f2_dir_walk() hands it out.  Inline
 * directories come as four pseudo blocks: 0 holds ".", 1 "..", 2 the
 * entries in i_block and 3 those in the "system.data" attribute.
 */
struct f2_dirblk {
	blk64_t lblk;
	char *buf;
	unsigned int len;	/* bytes meant to hold entries */
	unsigned int good;	/* the sound prefix: len unless damaged */
};

/*
 * Called for each block in order; the entries in [0, good) are sound.
 * Return 0 to go on, anything else to stop the walk with that value.
 */
typedef int (*f2_dirblk_fn)(struct fuse2fs *f2, const struct f2_dirblk *b,
			    void *data);

/*
 * Hand fn the blocks of dir from (pseudo) block from on, reading only
 * the blocks the directory maps below i_size.  A damaged block (bad
 * checksum, bad entry) is handed out with its sound prefix and logged;
 * the walk goes on.  Returns 0, fn's value, or a positive errno for what
 * makes the walk itself impossible (EIO, or EUCLEAN for a damaged block
 * map).  *damage (may be NULL) receives F2_DIR_* flags for what was seen.
 */
/* Entries that cannot be read. */
#define F2_DIR_LOST	(1U << 0)
/* Readable, but not to be changed: a bad htree index. */
#define F2_DIR_UNFIT	(1U << 1)
int f2_dir_walk(struct fuse2fs *f2, ext2_ino_t dir,
		const struct ext2_inode_large *inode, blk64_t from,
		f2_dirblk_fn fn, void *data, unsigned int *damage);

/*
 * The length of the sound prefix of size bytes of entries, by the rules
 * of ext4's directory entry check: every record at least 12 bytes, a
 * multiple of 4, large enough for its name, inside the buffer, not
 * leaving a gap too small for an entry, naming an inode that exists.
 */
unsigned int f2_dirbuf_good(ext2_filsys fs, const char *buf,
			    unsigned int size);

/* Is the record at off sound (as above)?  *rec is its length. */
bool f2_dirent_sound(ext2_filsys fs, const char *buf, unsigned int off,
		     unsigned int size, unsigned int *rec);

/*
 * dircache.c: 0 when every entry of dir could be read and checked (the
 * directory may be handed to libext2fs), EUCLEAN when it is damaged, or
 * another errno.  The verdict is remembered with the directory.
 */
int f2_dir_usable(struct fuse2fs *f2, ext2_ino_t dir);

#endif /* FUSE2FS_DIRCHECK_H */
