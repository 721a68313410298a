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
 * The same copy is where tests inject IO errors (fault.c), and where one
 * metadata update can batch its single-block writes (f2_io_batch_begin()):
 * an IOEND that converts many extents edits the same leaf and the inode
 * once per extent, and libext2fs writes the block after every edit; in
 * a batch each block reaches the image once, with its last contents.
 */
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"

/* Requests larger than this many blocks go around unix_io's cache. */
#define F2_UNIX_CACHED_MAX	4

static struct struct_io_manager f2_io_mgr;
static io_manager f2_io_unix;
static bool f2_io_cache_off;

/* Blocks a batch holds at most; a full batch is written out early. */
#define F2_IO_BATCH_MAX		64

/*
 * Single-block writes held back until the batch ends, in the order of
 * their last write (a new leaf before the index that names it, as
 * libext2fs wrote them).
 */
static struct {
	bool on;
	unsigned int n;
	unsigned long long blk[F2_IO_BATCH_MAX];
	char *buf[F2_IO_BATCH_MAX];
} f2_io_batch;

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

static errcode_t f2_io_write_through(io_channel ch, unsigned long long blk,
				     int count, const void *buf);

/*
 * Write what the batch holds, in order, and empty it.  After a failed
 * write the rest is dropped as well: the update stops at that write, as
 * it would have without the batch.
 */
static errcode_t f2_io_batch_flush(io_channel ch)
{
	errcode_t err = 0;
	unsigned int i;

	for (i = 0; i < f2_io_batch.n; i++) {
		if (!err)
			err = f2_io_write_through(ch, f2_io_batch.blk[i], 1,
						  f2_io_batch.buf[i]);
		free(f2_io_batch.buf[i]);
	}
	f2_io_batch.n = 0;
	return err;
}

static int f2_io_batch_find(unsigned long long blk)
{
	unsigned int i;

	for (i = 0; i < f2_io_batch.n; i++)
		if (f2_io_batch.blk[i] == blk)
			return (int)i;
	return -1;
}

/* Keep one block's new contents; false when it must be written now. */
static bool f2_io_batch_keep(io_channel ch, unsigned long long blk,
			     const void *buf)
{
	int i = f2_io_batch_find(blk);
	char *copy;

	if (i >= 0) {
		/* Move it to the end: written after what it now follows. */
		copy = f2_io_batch.buf[i];
		memmove(&f2_io_batch.blk[i], &f2_io_batch.blk[i + 1],
			(f2_io_batch.n - i - 1) * sizeof(f2_io_batch.blk[0]));
		memmove(&f2_io_batch.buf[i], &f2_io_batch.buf[i + 1],
			(f2_io_batch.n - i - 1) * sizeof(f2_io_batch.buf[0]));
		f2_io_batch.n--;
	} else {
		if (f2_io_batch.n == F2_IO_BATCH_MAX)
			return false;
		copy = malloc(ch->block_size);
		if (!copy)
			return false;
	}
	memcpy(copy, buf, ch->block_size);
	f2_io_batch.blk[f2_io_batch.n] = blk;
	f2_io_batch.buf[f2_io_batch.n] = copy;
	f2_io_batch.n++;
	return true;
}

void f2_io_batch_begin(void)
{
	f2_io_batch.on = true;
}

errcode_t f2_io_batch_end(io_channel ch)
{
	f2_io_batch.on = false;
	return f2_io_batch_flush(ch);
}

static errcode_t f2_io_read_blk64(io_channel ch, unsigned long long blk,
				  int count, void *buf)
{
	errcode_t err;
	int i;

	if (f2_io_batch.n) {
		i = count == 1 ? f2_io_batch_find(blk) : -1;
		if (i >= 0) {
			memcpy(buf, f2_io_batch.buf[i], ch->block_size);
			return 0;
		}
		/* Larger reads see the batch on the image. */
		if (count != 1) {
			err = f2_io_batch_flush(ch);
			if (err)
				return err;
		}
	}
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

	/* A transaction notes the old contents when the block is written. */
	if (f2_io_batch.on && count == 1 && f2_io_batch_keep(ch, blk, buf))
		return 0;
	err = f2_io_batch_flush(ch);
	if (err)
		return f2_io_failed(ch, err);
	return f2_io_write_through(ch, blk, count, buf);
}

static errcode_t f2_io_write_through(io_channel ch, unsigned long long blk,
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

	err = f2_io_batch_flush(ch);
	if (err)
		return err;
	if (f2_fault("zeroout"))
		return EIO;
	f2_io_note(ch, blk, count);
	err = f2_io_drop_cache(ch);
	return err ? err : f2_io_unix->zeroout(ch, blk, count);
}

static errcode_t f2_io_discard(io_channel ch, unsigned long long blk,
			       unsigned long long count)
{
	errcode_t err = f2_io_batch_flush(ch);

	if (!err)
		err = f2_io_drop_cache(ch);
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
	errcode_t err = f2_io_batch_flush(ch);

	if (err)
		return err;
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
