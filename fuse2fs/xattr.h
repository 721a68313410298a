/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Raw access to an inode's extended attributes for other fuse2fs files
 * (no permission checks, no ACL conversion: values as stored on disk).
 */
#ifndef FUSE2FS_XATTR_H
#define FUSE2FS_XATTR_H

#include "fuse2fs.h"

/*
 * Read name's value into a buffer *value (free with ext2fs_free_mem).
 * 0, ENODATA when there is no such attribute, or a positive errno.
 */
int f2_xattr_read(struct fuse2fs *f2, ext2_ino_t ino, const char *name,
		  void **value, size_t *size);
/*
 * Store name (value != NULL) or remove it (value NULL) and bump the
 * inode's ctime; 0 or a positive errno (ENOSPC when it does not fit).
 */
int f2_xattr_write(struct fuse2fs *f2, ext2_ino_t ino, const char *name,
		   const void *value, size_t size);

#endif /* FUSE2FS_XATTR_H */
