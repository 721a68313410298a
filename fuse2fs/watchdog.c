// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: the request watchdog.
 *
 * The server is one thread on libext2fs, which is not thread-safe, so a
 * request that runs too long cannot be stopped from outside: another
 * thread may not touch the filesystem, and unwinding the serving thread
 * from a signal handler (siglongjmp) would leave libext2fs's caches,
 * allocation state and locks of malloc half-changed.  The watchdog is
 * therefore cooperative, and needs neither a thread nor a signal:
 *
 * - libfuse3-iomap calls f2_wd_request() before each request, which
 *   starts the clock (CLOCK_MONOTONIC, read through the vDSO: no system
 *   call);
 * - the loops whose length an image decides call f2_wd_check() once per
 *   round: the directory walk (dircheck.c), the htree check; and a tap
 *   on the io_channel calls it for every block libext2fs reads, which
 *   bounds every libext2fs walk that reads as it goes (ext2fs_dir_iterate,
 *   block and extent iteration, xattr and inode reads);
 * - past the limit, the check answers EIO, which the loop returns and the
 *   operation replies; one line is logged.  The next request starts
 *   afresh, so the mount stays usable.
 *
 * A request is only cut while it has changed nothing: once it has
 * written through the io_channel or changed the free block or inode
 * counts, failing a read half-way could leave a half-made change, so the
 * request is left to finish (and that is logged instead).  What the
 * watchdog cannot reach is a loop that neither reads nor calls the check,
 * such as libext2fs spinning on a zero-length directory record; those are
 * prevented by checking what is handed to libext2fs (dircheck.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/fuse.h>

#include "fuse2fs.h"
#include "watchdog.h"

static struct {
	struct fuse2fs *f2;
	int64_t limit_ns;	/* 0: off */
	int64_t deadline_ns;	/* of the current request, 0: none */
	uint32_t opcode;
	bool expired;		/* the current request is being failed */
	bool wrote;		/* the current request changed the image */
	uint64_t free_blocks;	/* counts when the request started */
	uint32_t free_inodes;
	const char *stall;	/* $FUSE2FS_TEST_STALL */
} wd;

static struct struct_io_manager wd_mgr;
static io_manager wd_orig;

static int64_t f2_wd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *f2_wd_opname(uint32_t opcode)
{
	switch (opcode) {
	case FUSE_LOOKUP:	return "LOOKUP";
	case FUSE_GETATTR:	return "GETATTR";
	case FUSE_SETATTR:	return "SETATTR";
	case FUSE_READLINK:	return "READLINK";
	case FUSE_UNLINK:	return "UNLINK";
	case FUSE_RMDIR:	return "RMDIR";
	case FUSE_RENAME:	return "RENAME";
	case FUSE_RENAME2:	return "RENAME2";
	case FUSE_LINK:		return "LINK";
	case FUSE_READ:		return "READ";
	case FUSE_WRITE:	return "WRITE";
	case FUSE_GETXATTR:	return "GETXATTR";
	case FUSE_LISTXATTR:	return "LISTXATTR";
	case FUSE_READDIR:	return "READDIR";
	case FUSE_READDIRPLUS:	return "READDIRPLUS";
	case FUSE_LSEEK:	return "LSEEK";
	default:		return "request";
	}
}

/* Has the current request changed anything yet? */
static bool f2_wd_changed(void)
{
	ext2_filsys fs = wd.f2->fs;

	return wd.wrote || !fs ||
	       ext2fs_free_blocks_count(fs->super) != wd.free_blocks ||
	       fs->super->s_free_inodes_count != wd.free_inodes;
}

int f2_wd_check(void)
{
	if (wd.expired)
		return EIO;
	if (!wd.deadline_ns || f2_wd_now() < wd.deadline_ns)
		return 0;
	wd.deadline_ns = 0;	/* decided: say it once */
	if (f2_wd_changed()) {
		fprintf(stderr, "fuse2fs: %s (opcode %u) is running past the "
			"%lld s limit, but has changed the filesystem "
			"already: letting it finish\n",
			f2_wd_opname(wd.opcode), wd.opcode,
			(long long)(wd.limit_ns / 1000000000));
		return 0;
	}
	fprintf(stderr, "fuse2fs: %s (opcode %u) ran past the %lld s limit; "
		"failing it with EIO (watchdog)\n", f2_wd_opname(wd.opcode),
		wd.opcode, (long long)(wd.limit_ns / 1000000000));
	wd.expired = true;
	return EIO;
}

void f2_wd_request(void *userdata, uint32_t opcode)
{
	struct fuse2fs *f2 = userdata;

	wd.opcode = opcode;
	wd.expired = false;
	wd.wrote = false;
	wd.deadline_ns = 0;
	if (!wd.limit_ns || !f2->fs)
		return;
	wd.free_blocks = ext2fs_free_blocks_count(f2->fs->super);
	wd.free_inodes = f2->fs->super->s_free_inodes_count;
	wd.deadline_ns = f2_wd_now() + wd.limit_ns;
}

void f2_wd_idle(void)
{
	wd.deadline_ns = 0;
	wd.expired = false;
}

bool f2_wd_stall(const char *place, ext2_ino_t ino)
{
	size_t len = strlen(place);

	return wd.stall && !strncmp(wd.stall, place, len) &&
	       wd.stall[len] == ':' &&
	       strtoul(wd.stall + len + 1, NULL, 10) == ino;
}

/* The tap: reads are checked, writes are noted. */
static errcode_t f2_wd_read_blk(io_channel ch, unsigned long blk, int count,
				void *buf)
{
	int ret = f2_wd_check();

	return ret ? ret : wd_orig->read_blk(ch, blk, count, buf);
}

static errcode_t f2_wd_read_blk64(io_channel ch, unsigned long long blk,
				  int count, void *buf)
{
	int ret = f2_wd_check();

	return ret ? ret : wd_orig->read_blk64(ch, blk, count, buf);
}

static errcode_t f2_wd_write_blk(io_channel ch, unsigned long blk, int count,
				 const void *buf)
{
	wd.wrote = true;
	return wd_orig->write_blk(ch, blk, count, buf);
}

static errcode_t f2_wd_write_blk64(io_channel ch, unsigned long long blk,
				   int count, const void *buf)
{
	wd.wrote = true;
	return wd_orig->write_blk64(ch, blk, count, buf);
}

static errcode_t f2_wd_write_byte(io_channel ch, unsigned long off, int count,
				  const void *buf)
{
	wd.wrote = true;
	return wd_orig->write_byte(ch, off, count, buf);
}

static errcode_t f2_wd_zeroout(io_channel ch, unsigned long long blk,
			       unsigned long long count)
{
	wd.wrote = true;
	return wd_orig->zeroout(ch, blk, count);
}

static errcode_t f2_wd_discard(io_channel ch, unsigned long long blk,
			       unsigned long long count)
{
	wd.wrote = true;
	return wd_orig->discard(ch, blk, count);
}

void f2_wd_setup(struct fuse2fs *f2, unsigned int secs)
{
	const char *stall = getenv("FUSE2FS_TEST_STALL");

	wd.f2 = f2;
	wd.limit_ns = (int64_t)secs * 1000000000;
	wd.stall = stall && *stall ? stall : NULL;
	if (!secs || !f2->fs || wd_orig)
		return;
	wd_orig = f2->fs->io->manager;
	wd_mgr = *wd_orig;
	if (wd_orig->read_blk)
		wd_mgr.read_blk = f2_wd_read_blk;
	if (wd_orig->read_blk64)
		wd_mgr.read_blk64 = f2_wd_read_blk64;
	if (wd_orig->write_blk)
		wd_mgr.write_blk = f2_wd_write_blk;
	if (wd_orig->write_blk64)
		wd_mgr.write_blk64 = f2_wd_write_blk64;
	if (wd_orig->write_byte)
		wd_mgr.write_byte = f2_wd_write_byte;
	if (wd_orig->zeroout)
		wd_mgr.zeroout = f2_wd_zeroout;
	if (wd_orig->discard)
		wd_mgr.discard = f2_wd_discard;
	f2->fs->io->manager = &wd_mgr;
}
