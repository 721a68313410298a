/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The request watchdog (watchdog.c): no request may keep the server busy
 * without bound.
 */
#ifndef FUSE2FS_WATCHDOG_H
#define FUSE2FS_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

#include "fuse2fs.h"

/* The default limit of one request, in seconds (-o watchdog=SECONDS). */
#define F2_WD_DEFAULT_SECS	30

/*
 * Set the limit (0: no watchdog) and put the read tap on the open
 * filesystem's io_channel; once, before serving.
 */
void f2_wd_setup(struct fuse2fs *f2, unsigned int secs);

/* libfuse3-iomap's per-request callback: a new request starts now. */
void f2_wd_request(void *userdata, uint32_t opcode);

/* No request runs any more (unmount): nothing may be cut from now on. */
void f2_wd_idle(void);

/*
 * 0, or EIO once the current request has run past its limit while it
 * has changed nothing yet (it is then failed, and logged once).  Loops
 * that can run long call it once per round; the read tap calls it for
 * every block libext2fs reads.
 */
int f2_wd_check(void);

/*
 * Test-only: true when $FUSE2FS_TEST_STALL is "PLACE:INO" for this place
 * and inode; the place then repeats its loop until the watchdog stops it.
 */
bool f2_wd_stall(const char *place, ext2_ino_t ino);

#endif /* FUSE2FS_WATCHDOG_H */
