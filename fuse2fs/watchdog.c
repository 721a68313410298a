// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: the request watchdog.
 *
 * The server is one thread on libext2fs, which is not thread-safe, so a
 * request that runs too long cannot be stopped from outside: another
 * thread may not touch the filesystem, and unwinding the serving thread
 * from a signal handler (siglongjmp) would leave libext2fs's caches,
 * allocation state and locks of malloc half-changed.  The watchdog is
 * therefore cooperative: no signal, and its one thread only reads the
 * clock and a counter:
 *
 * - libfuse3-iomap calls f2_wd_request() before each request, which
 *   numbers it and takes the free counts;
 * - a sampler thread (below) reads the clock a few times per limit and
 *   marks the request it saw running for the whole limit overdue;
 * - the loops whose length an image decides call f2_wd_check() once per
 *   round: the directory walk (dircheck.c), the htree check; and a tap
 *   on the io_channel calls it for every block libext2fs reads, which
 *   bounds every libext2fs walk that reads as it goes (ext2fs_dir_iterate,
 *   block and extent iteration, xattr and inode reads);
 * - once the request is overdue, the check answers EIO, which the loop
 *   returns and the operation replies; one line is logged.  The next
 *   request starts afresh, so the mount stays usable.
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
#include <pthread.h>
#include <stdatomic.h>
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
	uint64_t seq;		/* the current request's number */
	bool armed;		/* it may be cut, not decided yet */
	uint32_t opcode;
	bool expired;		/* the current request is being failed */
	bool wrote;		/* the current request changed the image */
	uint64_t free_blocks;	/* counts when the request started */
	uint32_t free_inodes;
	const char *stall;	/* $FUSE2FS_TEST_STALL */
} wd;

/*
 * The clock is not read by the serving thread: in UML the vDSO has no
 * clock, and a check per block read cost a system call each (15 to 19
 * per exerciser operation in the guest, a third of fuse2fs's calls).
 * The sampler sleeps a period (an eighth of the limit, at most 1 s) at
 * a time and looks at the request counter; a request it has seen for a
 * whole limit is marked overdue, so it is cut between the limit and the
 * limit plus one period.  The checks compare two numbers.  Once it has
 * marked the request the server waits in (an idle server), the sampler
 * parks until the next request wakes it: an idle mount does not tick.
 */
static struct {
	atomic_uint_fast64_t seq;	/* requests started */
	atomic_uint_fast64_t overdue;	/* the request past its limit */
	atomic_bool parked;
	bool started;			/* serving thread only */
	pthread_mutex_t lock;
	pthread_cond_t wake;
} wd_clock = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

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
	if (!wd.armed ||
	    atomic_load_explicit(&wd_clock.overdue, memory_order_relaxed) !=
	    wd.seq)
		return 0;
	wd.armed = false;	/* decided: say it once */
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

static void *f2_wd_sampler(void *unused)
{
	int64_t period = wd.limit_ns / 8 < 1000000000 ?
			 wd.limit_ns / 8 : 1000000000;
	struct timespec nap = {
		.tv_sec = period / 1000000000,
		.tv_nsec = period % 1000000000,
	};
	uint64_t seen = 0;
	int64_t since = f2_wd_now();

	(void)unused;
	for (;;) {
		uint64_t seq;
		int64_t now;

		clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, NULL);
		seq = atomic_load(&wd_clock.seq);
		now = f2_wd_now();
		if (seq != seen) {
			seen = seq;
			since = now;
			continue;
		}
		if (now - since < wd.limit_ns)
			continue;
		atomic_store(&wd_clock.overdue, seq);
		/* Nothing more to mark until the next request. */
		pthread_mutex_lock(&wd_clock.lock);
		atomic_store(&wd_clock.parked, true);
		while (atomic_load(&wd_clock.seq) == seen)
			pthread_cond_wait(&wd_clock.wake, &wd_clock.lock);
		atomic_store(&wd_clock.parked, false);
		pthread_mutex_unlock(&wd_clock.lock);
	}
	return NULL;
}

/*
 * Started with the first request after INIT: the sandbox, entered when
 * INIT is answered, needs a single-threaded process (user namespace).
 */
static bool f2_wd_start_sampler(void)
{
	pthread_t t;
	int err;

	if (wd_clock.started)
		return true;
	err = pthread_create(&t, NULL, f2_wd_sampler, NULL);
	if (err) {
		fprintf(stderr, "fuse2fs: no watchdog thread (%s): requests "
			"run without a time limit\n", strerror(err));
		wd.limit_ns = 0;
		return false;
	}
	pthread_detach(t);
	wd_clock.started = true;
	return true;
}

void f2_wd_request(void *userdata, uint32_t opcode)
{
	struct fuse2fs *f2 = userdata;

	wd.opcode = opcode;
	wd.expired = false;
	wd.wrote = false;
	wd.armed = false;
	if (!wd.limit_ns || !f2->fs || opcode == FUSE_INIT ||
	    !f2_wd_start_sampler())
		return;
	wd.free_blocks = ext2fs_free_blocks_count(f2->fs->super);
	wd.free_inodes = f2->fs->super->s_free_inodes_count;
	wd.seq = atomic_fetch_add(&wd_clock.seq, 1) + 1;
	if (atomic_load(&wd_clock.parked)) {
		pthread_mutex_lock(&wd_clock.lock);
		pthread_cond_signal(&wd_clock.wake);
		pthread_mutex_unlock(&wd_clock.lock);
	}
	wd.armed = true;
}

void f2_wd_idle(void)
{
	wd.armed = false;
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
