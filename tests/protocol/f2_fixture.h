/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared helpers for the test_fuse2fs_*.c suites: fresh images made with
 * mke2fs/debugfs, ground truth read with libext2fs and `debugfs -R "ex"`,
 * and fuse2fs started behind the wire harness (the test plays the kernel).
 *
 * The device fuse2fs registers on the harness's socket is the image file
 * itself (doc/protocol.md, section 6), so a mapping's addr is a byte
 * offset in the image: the test does the kernel's data IO with pread and
 * pwrite on the image.
 */
#ifndef TESTS_PROTOCOL_F2_FIXTURE_H
#define TESTS_PROTOCOL_F2_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "wire.h"

#define F2_CMD_TIMEOUT_MS	120000

/* Per-block truth for one file from `debugfs -R "ex FILE"`. */
struct f2_truth {
	uint64_t nblocks;	/* blocks described */
	int *type;		/* FUSE_IOMAP_TYPE_* per block */
	uint64_t *pblk;		/* physical block per block */
	unsigned int nextents;
};

/* debugfs -w -f SCRIPT IMAGE; 0 or -1 (output printed on failure). */
int f2_debugfs(const char *image, const char *script);
/* Parse leaf extents of path; 0 or -1.  Free with f2_truth_free(). */
int f2_truth_load(const char *image, const char *path, uint64_t nblocks,
		  struct f2_truth *t);
void f2_truth_free(struct f2_truth *t);
/* The inode number and inode of path (absolute, from the root); 0 or -1. */
int f2_stat_image(const char *image, const char *path, ext2_ino_t *ino,
		  struct ext2_inode_large *inode);

/*
 * Start fuse2fs on image behind w with extra options (e.g. "iomap=auto",
 * may be NULL) and run INIT (offering iomap or not).  0 or -1.
 */
int f2_start(struct wire *w, const char *image, const char *opts,
	     bool offer_iomap, struct fuse_init_out *init);
/* FUSE_GETXATTR of name into buf; returns length or a negative errno. */
int f2_getxattr(struct wire *w, uint64_t nodeid, const char *name,
		char *buf, size_t size);
/* FUSE_SETXATTR (value != NULL) or FUSE_REMOVEXATTR; 0 or -errno. */
int f2_setxattr(struct wire *w, uint64_t nodeid, const char *name,
		const char *value);

#endif /* TESTS_PROTOCOL_F2_FIXTURE_H */
