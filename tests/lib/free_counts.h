/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Waiting for freed space to show: fuse2fs frees an unlinked inode, and
 * gives back blocks allocated ahead, when the kernel's FORGET or RELEASE
 * reaches it, which FUSE sends in the background after the call that
 * let go returned.  Header only: the kernel suites do not link tests/lib.
 */
#ifndef TESTS_LIB_FREE_COUNTS_H
#define TESTS_LIB_FREE_COUNTS_H

#include <sys/statvfs.h>
#include <unistd.h>

/*
 * Poll statvfs(dir) for up to 5 s until its free blocks and inodes are
 * want's; *now holds the last reading.  0 once they are, -1 otherwise.
 */
static inline int tfs_wait_free_counts(const char *dir,
				       const struct statvfs *want,
				       struct statvfs *now)
{
	int tries;

	for (tries = 0; tries < 250; tries++) {
		if (statvfs(dir, now))
			return -1;
		if (now->f_bfree == want->f_bfree &&
		    now->f_ffree == want->f_ffree)
			return 0;
		usleep(20000);
	}
	return -1;
}

#endif /* TESTS_LIB_FREE_COUNTS_H */
