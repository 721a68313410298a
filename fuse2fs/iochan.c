// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: the io_channel libext2fs reads and writes the image through.
 *
 * libext2fs 1.47.0's unix IO manager keeps a write-back cache of eight
 * single blocks.  Requests of up to four blocks go through it; larger
 * ones and zeroout go around it.  A write that goes
 * around first writes out and forgets the *dirty* entries, but keeps the
 * clean ones, now older than the device; zeroout does not look at the
 * cache at all.  A later read of one to four of those blocks is answered
 * from the stale entry.  fuse2fs's classic data path reads partial blocks
 * one at a time (read-modify-write) and writes whole runs at once, so an
 * unaligned write after a large one could merge its bytes into an older
 * version of the block and write that back: stale data in the file
 * (issue 13, A to C).  e2fsprogs fixed flush_cached_blocks() in 1.47.3
 * ("libext2fs: fix unix io manager invalidation"); Debian 12 ships 1.47.0.
 *
 * Read-write mounts now run with the cache off (ordered writes, main.c),
 * which also cures it; read-only mounts write nothing.  The channel still
 * keeps the cache coherent whenever it is on: its manager is replaced by
 * a copy that empties the cache after every request that went around it.
 * The only public way to do that is a block size change (unix_set_blksize
 * writes out the dirty entries and frees the cache), so the size is
 * changed and changed back: eight buffer allocations per large write,
 * nothing per small one, nothing while the cache is off.
 *
 * The same copy is where tests inject IO errors (fault.c).
 */
#include <string.h>

#include "fuse2fs.h"

/* Requests larger than this many blocks go around unix_io's cache. */
#define F2_UNIX_CACHED_MAX	4

static struct struct_io_manager f2_io_mgr;
static io_manager f2_io_unix;
static bool f2_io_cache_off;

/* Write out the cache's dirty blocks and forget every block it holds. */
static errcode_t f2_io_drop_cache(io_channel ch)
{
	int bs = ch->block_size;
	errcode_t err;

	if (f2_io_cache_off)
		return 0;

	err = f2_io_unix->set_blksize(ch, bs * 2);
	if (!err)
		err = f2_io_unix->set_blksize(ch, bs);
	return err;
}

static bool f2_io_bypasses(int count)
{
	return count < 0 || count > F2_UNIX_CACHED_MAX;
}

static errcode_t f2_io_read_blk64(io_channel ch, unsigned long long blk,
				  int count, void *buf)
{
	if (f2_fault("read"))
		return EIO;
	return f2_io_unix->read_blk64(ch, blk, count, buf);
}

static errcode_t f2_io_read_blk(io_channel ch, unsigned long blk, int count,
				void *buf)
{
	return f2_io_read_blk64(ch, blk, count, buf);
}

/*
 * A write failed.  libext2fs's ext2fs_write_inode() updates its inode
 * cache and its copy of the inode table block before writing that block:
 * both now hold what never reached the image, and the next inode read
 * (or write into the same block) would take it for the truth.
 */
static errcode_t f2_io_failed(io_channel ch, errcode_t err)
{
	ext2_filsys fs = ch->app_data;

	if (err && fs && fs->magic == EXT2_ET_MAGIC_EXT2FS_FILSYS)
		ext2fs_flush_icache(fs);
	return err;
}

/* A transaction (txn.c) keeps what blocks held before they change. */
static void f2_io_note(io_channel ch, unsigned long long blk,
		       unsigned long long count)
{
	if (f2_txn_active())
		f2_txn_note_write(ch, blk, count, f2_io_unix->read_blk64);
}

static errcode_t f2_io_write_blk64(io_channel ch, unsigned long long blk,
				   int count, const void *buf)
{
	errcode_t err;

	if (f2_fault("write"))
		return f2_io_failed(ch, EIO);
	f2_io_note(ch, blk, count < 0 ?
		   ((unsigned long long)-count + ch->block_size - 1) /
		   ch->block_size : (unsigned long long)count);
	err = f2_io_unix->write_blk64(ch, blk, count, buf);
	if (!err && f2_io_bypasses(count))
		err = f2_io_drop_cache(ch);
	return f2_io_failed(ch, err);
}

static errcode_t f2_io_write_blk(io_channel ch, unsigned long blk, int count,
				 const void *buf)
{
	return f2_io_write_blk64(ch, blk, count, buf);
}

/* Dirty entries must land before the zeroes, not after them. */
static errcode_t f2_io_zeroout(io_channel ch, unsigned long long blk,
			       unsigned long long count)
{
	errcode_t err;

	if (f2_fault("zeroout"))
		return EIO;
	f2_io_note(ch, blk, count);
	err = f2_io_drop_cache(ch);
	return err ? err : f2_io_unix->zeroout(ch, blk, count);
}

static errcode_t f2_io_discard(io_channel ch, unsigned long long blk,
			       unsigned long long count)
{
	errcode_t err = f2_io_drop_cache(ch);

	return err ? err : f2_io_unix->discard(ch, blk, count);
}

/* Whether the cache is on decides whether there is anything to empty. */
static errcode_t f2_io_set_option(io_channel ch, const char *option,
				  const char *arg)
{
	errcode_t err = f2_io_unix->set_option(ch, option, arg);

	if (err || strcmp(option, "cache") || !arg)
		return err;
	f2_io_cache_off = !strcmp(arg, "off");
	/* Entries kept while it was off are older than the device. */
	return f2_io_drop_cache(ch);
}

static errcode_t f2_io_flush(io_channel ch)
{
	if (f2_fault("flush"))
		return EIO;
	return f2_io_unix->flush(ch);
}

errcode_t f2_io_write_raw(io_channel ch, unsigned long long blk,
			  const void *buf)
{
	return f2_io_unix->write_blk64(ch, blk, 1, buf);
}

void f2_io_install(io_channel ch)
{
	io_manager m = ch->manager;

	/* unixfd shares unix's functions, cache included. */
	if (m != unix_io_manager && m != unixfd_io_manager)
		return;
	f2_fault_setup();
	f2_io_unix = m;
	f2_io_mgr = *m;
	f2_io_mgr.read_blk = f2_io_read_blk;
	f2_io_mgr.read_blk64 = f2_io_read_blk64;
	f2_io_mgr.flush = f2_io_flush;
	f2_io_mgr.write_blk = f2_io_write_blk;
	f2_io_mgr.write_blk64 = f2_io_write_blk64;
	if (m->set_option)
		f2_io_mgr.set_option = f2_io_set_option;
	/*
	 * Without write_byte, libext2fs writes the superblock in one piece
	 * instead of field by field: a write that fails half way can no
	 * longer leave it torn (a bad checksum makes the image unmountable).
	 */
	f2_io_mgr.write_byte = NULL;
	if (m->zeroout)
		f2_io_mgr.zeroout = f2_io_zeroout;
	if (m->discard)
		f2_io_mgr.discard = f2_io_discard;
	ch->manager = &f2_io_mgr;
}
