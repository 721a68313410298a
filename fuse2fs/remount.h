/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mount -o remount of a fuse2fs mount (remount.c). */
#ifndef FUSE2FS_REMOUNT_H
#define FUSE2FS_REMOUNT_H

/*
 * Change the flags of the FUSE mount at mountpoint to those the -o lists
 * in argv name (ro/rw, nosuid, nodev, noexec, atime...); 0, or -1 after
 * saying why not.
 */
int f2_remount(int argc, char *argv[], const char *mountpoint);

#endif /* FUSE2FS_REMOUNT_H */
