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
 *
 * With unix_io's cache off, every block libext2fs looks at is a pread,
 * also when the same request looked at it a moment ago: allocating a
 * range block by block rewrites the inode's table block after each
 * block, reading it again first.  Seven in ten reads of an exerciser run
 * in the UML guest were of a block the same request had already read or
 * written, and each is a trapped system call there.  So the copy keeps
 * the single blocks a request reads or writes through (a few dozen), for
 * that request only: the kernel writes data blocks of iomap files on
 * its own, between requests and while one is served, and a block read
 * twice in one request may as well have been read once.  Entries of
 * earlier requests are void; so is the whole cache outside requests and
 * when the device's page cache is dropped for a file leaving iomap
 * (iomap_dev.c).  Writes go to the image as before and replace or void
 * the entries they cover.
 */
#include <stdlib.h>
#include <string.h>

#include "fuse2fs.h"

/* The per-request copies of single blocks: slots, hashed by number. */
#define F2_RC_SLOTS		64

static struct {
	uint64_t gen;		/* the current request's; 0: none, off */
	struct {
		uint64_t gen;	/* valid while equal to the request's */
		unsigned long long blk;
		int size;
		char *buf;
	} e[F2_RC_SLOTS];
} f2_rc;

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

void f2_io_request_begin(void)
{
	if (!++f2_rc.gen)
		f2_rc.gen = 1;
}

void f2_io_request_none(void)
{
	f2_rc.gen = 0;
}

static unsigned int f2_rc_slot(unsigned long long blk)
{
	return (unsigned int)((blk * 0x9e3779b97f4a7c15ULL) >> 58) %
	       F2_RC_SLOTS;
}

static bool f2_rc_get(io_channel ch, unsigned long long blk, void *buf)
{
	unsigned int i = f2_rc_slot(blk);

	if (!f2_rc.gen || f2_rc.e[i].gen != f2_rc.gen ||
	    f2_rc.e[i].blk != blk || f2_rc.e[i].size != ch->block_size)
		return false;
	memcpy(buf, f2_rc.e[i].buf, ch->block_size);
	return true;
}

/* Keep what the image now holds in one block (best effort). */
static void f2_rc_put(io_channel ch, unsigned long long blk, const void *buf)
{
	unsigned int i = f2_rc_slot(blk);

	if (!f2_rc.gen)
		return;
	if (f2_rc.e[i].size != ch->block_size) {
		free(f2_rc.e[i].buf);
		f2_rc.e[i].gen = 0;
		f2_rc.e[i].size = 0;
		f2_rc.e[i].buf = malloc(ch->block_size);
		if (!f2_rc.e[i].buf)
			return;
		f2_rc.e[i].size = ch->block_size;
	}
	memcpy(f2_rc.e[i].buf, buf, ch->block_size);
	f2_rc.e[i].blk = blk;
	f2_rc.e[i].gen = f2_rc.gen;
}

/* A write of [blk, blk + count) is under way: void what it covers. */
static void f2_rc_forget(unsigned long long blk, unsigned long long count)
{
	unsigned int i;

	for (i = 0; i < F2_RC_SLOTS; i++)
		if (f2_rc.e[i].gen && f2_rc.e[i].blk >= blk &&
		    f2_rc.e[i].blk - blk < count)
			f2_rc.e[i].gen = 0;
}

void f2_io_forget_blocks(void)
{
	unsigned int i;

	for (i = 0; i < F2_RC_SLOTS; i++)
		f2_rc.e[i].gen = 0;
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
	if (count == 1 && f2_rc_get(ch, blk, buf))
		return 0;
	err = f2_io_unix->read_blk64(ch, blk, count, buf);
	if (!err && count == 1)
		f2_rc_put(ch, blk, buf);
	return err;
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
	if (f2_io_batch.on && count == 1 && f2_io_batch_keep(ch, blk, buf)) {
		f2_rc_forget(blk, 1);	/* the batch answers reads now */
		return 0;
	}
	err = f2_io_batch_flush(ch);
	if (err)
		return f2_io_failed(ch, err);
	return f2_io_write_through(ch, blk, count, buf);
}

static errcode_t f2_io_write_through(io_channel ch, unsigned long long blk,
				     int count, const void *buf)
{
	errcode_t err;

	unsigned long long blocks = count < 0 ?
		((unsigned long long)-count + ch->block_size - 1) /
		ch->block_size : (unsigned long long)count;

	if (f2_fault("write"))
		return f2_io_failed(ch, EIO);
	f2_io_note(ch, blk, blocks);
	f2_rc_forget(blk, blocks);
	err = f2_io_unix->write_blk64(ch, blk, count, buf);
	if (!err && count == 1)
		f2_rc_put(ch, blk, buf);
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
	f2_rc_forget(blk, count);
	err = f2_io_drop_cache(ch);
	return err ? err : f2_io_unix->zeroout(ch, blk, count);
}

static errcode_t f2_io_discard(io_channel ch, unsigned long long blk,
			       unsigned long long count)
{
	errcode_t err = f2_io_batch_flush(ch);

	f2_rc_forget(blk, count);
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
	f2_rc_forget(blk, 1);
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
