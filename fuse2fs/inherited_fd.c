// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: a device or mountpoint given as /dev/fd/N names a descriptor
 * the process inherited (a privileged helper opened it).  Its own file
 * so that tests which compile single fuse2fs files (iomap_dev.c) can
 * take it along.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"

int f2_inherited_fd(const char *path)
{
	char *end;
	long n;

	if (strncmp(path, "/dev/fd/", 8) || !path[8])
		return -1;
	n = strtol(path + 8, &end, 10);
	if (*end || n < 0 || n > INT_MAX || fcntl((int)n, F_GETFD) < 0)
		return -1;
	return (int)n;
}
