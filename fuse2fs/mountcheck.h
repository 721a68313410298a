/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Whether an image may be mounted, read-write or read-only, and the
 * messages that say why not (mountcheck.c).
 */
#ifndef FUSE2FS_MOUNTCHECK_H
#define FUSE2FS_MOUNTCHECK_H

#include "fuse2fs.h"

/*
 * ext2fs_open2() failed with err: say what is wrong with device, what to
 * do about it and whether -o ro would help.
 */
void f2_explain_open_error(const char *device, errcode_t err, bool ro);

/*
 * The opened filesystem: 0 when it may be mounted as asked (a read-only
 * mount of a damaged one says what it will not see), or -1 after saying
 * why a read-write mount is refused and what -o ro would change.  A
 * read-write mount has its bitmaps read here.
 */
int f2_mount_checks(struct fuse2fs *f2);

#endif /* FUSE2FS_MOUNTCHECK_H */
