/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Waiting for the server of an image's last mount to let go of it
 * (imagelock.c).
 */
#ifndef FUSE2FS_IMAGELOCK_H
#define FUSE2FS_IMAGELOCK_H

#include <stdbool.h>
#include <sys/stat.h>

/*
 * Is the image (or block device) image, at absolute path, the source of
 * a mount listed in /proc/self/mountinfo?  true also when that cannot be
 * read.
 */
bool f2_image_is_mounted(const struct stat *image, const char *path);

/*
 * The image is held by someone: while it is not mounted anywhere, call
 * try_again(arg) every few milliseconds, for up to 20 seconds, until it
 * returns true (done: the image is ours, or a different error came up;
 * returns true).  Returns false at once when the image is mounted, or
 * when the time is up.
 */
bool f2_wait_for_release(const struct stat *image, const char *path,
			 bool (*try_again)(void *arg), void *arg);

#endif /* FUSE2FS_IMAGELOCK_H */
