/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replaying a jbd2 journal that needs recovery (journal.c).
 */
#ifndef FUSE2FS_JOURNAL_H
#define FUSE2FS_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <ext2fs/ext2fs.h>

struct f2_journal_stats {
	bool replayed;			/* the filesystem needed recovery */
	unsigned int transactions;	/* complete ones found in the log */
	unsigned long replayed_blocks;
	unsigned long skipped_revoked;
	unsigned long revoked_records;
	unsigned long bad_csum_blocks;	/* logged blocks not written */
};

/*
 * If the filesystem on fd (opened read-write) has needs_recovery set,
 * replay its internal journal, mark the log empty, clear the flag and
 * recount the superblock's totals.  0 when nothing was needed or the
 * replay is done (st says which), else -1 with a message in why.
 */
int f2_journal_recover(int fd, struct f2_journal_stats *st, char *why,
		       size_t len);

/* A quick look at the superblock on fd: is needs_recovery set? */
bool f2_journal_needs_recovery(int fd);

#endif /* FUSE2FS_JOURNAL_H */
