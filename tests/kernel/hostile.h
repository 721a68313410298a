/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The files of hostile_server and what is wrong with the mapping each one
 * gets from FUSE_IOMAP_BEGIN; shared with test_hostile.
 */
#ifndef TESTS_KERNEL_HOSTILE_H
#define TESTS_KERNEL_HOSTILE_H

enum hostile_kind {
	HOSTILE_GOOD,		/* valid: the control */
	HOSTILE_OUTSIDE,	/* starts at the device's end */
	HOSTILE_PAST_END,	/* starts inside, ends past the device's end */
	HOSTILE_NOT_COVERING,	/* starts after the position asked about */
	HOSTILE_ZERO_LENGTH,
	HOSTILE_FILE_OVERFLOW,	/* offset + length beyond INT64_MAX */
	HOSTILE_DEV_OVERFLOW,	/* addr + length wraps around */
	HOSTILE_MISALIGNED,	/* addr not a multiple of the block size */
	HOSTILE_BAD_TYPE,
	HOSTILE_BAD_DEVICE,	/* an id that was never registered */
	HOSTILE_BAD_FLAGS,
	HOSTILE_HOLE_WRITE,	/* a hole (valid for reads) for a write */
	HOSTILE_HOLE_ADDR,	/* a hole with a device address */
	HOSTILE_INLINE_DIRECT,	/* inline data for direct IO */
	HOSTILE_OUTSIDE_CACHED,	/* OUTSIDE, marked for the kernel to keep */
	HOSTILE_NR_KINDS
};

/*
 * More files, whose attributes ask for iomap in ways the kernel must
 * ignore (they are instantiated classic), and one whose server does not
 * implement FUSE_IOMAP_BEGIN at all.
 */
enum hostile_attr_kind {
	HOSTILE_INO_ZERO = HOSTILE_NR_KINDS,	/* backing inode number 0 */
	HOSTILE_BLKSIZE_ODD,			/* block size 1000 */
	HOSTILE_BLKSIZE_BIG,			/* block size above PAGE_SIZE */
	HOSTILE_ENOSYS,				/* BEGIN answers ENOSYS */
	HOSTILE_FLIP,	/* iomap until "flip_now" is looked up, then classic */
	HOSTILE_IOEND_FAIL,	/* unwritten blocks; IOEND answers EIO */
	HOSTILE_CACHED,	/* like "good" and kept, once; later BEGINs: EIO */
	HOSTILE_GROW_FAIL,	/* 64 MiB unwritten from 0; IOEND answers EIO */
	HOSTILE_STREAM_FAIL,	/* kept unwritten from the block asked about
				 * to 64 MiB; IOEND answers EIO */
	HOSTILE_BARRIER_BEGIN,	/* kept; the first BEGIN is answered after
				 * 500 ms, and starts a barrier meanwhile */
	HOSTILE_BARRIER_IOEND,	/* unwritten; the first IOEND is answered
				 * after 500 ms, and starts a barrier */
	HOSTILE_STREAM,		/* like stream_fail, IOEND succeeds */
	HOSTILE_IOEND_ENOSYS,	/* unwritten; IOEND answers ENOSYS */
	HOSTILE_GROW,		/* 64 MiB mapped from 0, size stays 1 MiB */
	HOSTILE_WANT_END,	/* like good, with FUSE_IOMAP_F_WANT_END */
	HOSTILE_NEW,		/* like good, with FUSE_IOMAP_F_NEW */
	HOSTILE_CLASSIC_CAP,	/* classic; gains security.capability on
				 * the server's side (HOSTILE_SETCAP_TRIGGER) */
	HOSTILE_COPY_DST,	/* kept unwritten at HOSTILE_COPY_DEV_OFF until
				 * "good" is copied into it, mapped after */
	HOSTILE_MOVING,		/* mapped at HOSTILE_MOVE_FROM, not kept,
				 * block map cookie 1; after the move (the
				 * first read of moving_src) at
				 * HOSTILE_MOVE_TO, cookie 2 */
	HOSTILE_MOVING_SRC,	/* classic; its first FUSE_READ moves
				 * "moving" (below) */
	HOSTILE_COOKIE_BACK,	/* like good, but the block map cookie of
				 * the first BEGIN is 1000, later ones 1 */
	HOSTILE_DEVCACHE_SRC,	/* classic; each FUSE_READ first reads the
				 * device (buffered) where "good" starts */
	HOSTILE_SETATTR_FAIL,	/* like good; a SETATTR with a size: EACCES */
	HOSTILE_STALE_SIZE,	/* 64 MiB unwritten from 0; the server keeps
				 * its size (logged "size N" when it
				 * changes); the first IOEND is answered
				 * with the size of when it came, only at
				 * HOSTILE_RELEASE_TRIGGER */
	HOSTILE_NO_REPORT,	/* like good, but a BEGIN with
				 * FUSE_IOMAP_OP_REPORT answers ENOSYS */
	HOSTILE_IOEND_EAGAIN,	/* unwritten; IOEND answers EAGAIN */
	HOSTILE_WB_BEGIN_EINTR,	/* like good, but a BEGIN for writeback
				 * answers EINTR */
	HOSTILE_NR_FILES
};

/* Looking this name up (ENOENT) switches "flip" to classic. */
#define HOSTILE_FLIP_TRIGGER	"flip_now"
/*
 * Looking this name up (ENOENT) sends FUSE_NOTIFY_INVAL_INODE (offset 0)
 * for "cached".
 */
#define HOSTILE_INVAL_TRIGGER	"inval_now"
/*
 * Looking this name up (ENOENT) sends FUSE_NOTIFY_INVAL_INODE (offset 0)
 * for "good" from the request loop, the only thread: the barrier must not
 * need the server.  The log says "good barrier error=N".
 */
#define HOSTILE_INVAL_GOOD_TRIGGER	"inval_good_now"
/*
 * Looking these names up (ENOENT) sends FUSE_NOTIFY_STORE of 4 KiB of
 * HOSTILE_STORE_BYTE at offset 0, or FUSE_NOTIFY_RETRIEVE of 4 KiB, for
 * "good"; the log says "good store error=N" or "good retrieve error=N".
 */
#define HOSTILE_STORE_TRIGGER		"store_now"
#define HOSTILE_RETRIEVE_TRIGGER	"retrieve_now"
#define HOSTILE_STORE_BYTE		0xee
/*
 * Environment of hostile_server: HOSTILE_WRITEBACK_CACHE=1 asks for the
 * writeback cache, HOSTILE_NO_ATOMIC_O_TRUNC=1 turns FUSE_ATOMIC_O_TRUNC
 * off, HOSTILE_SHORT_WRITE=1 answers every FUSE_WRITE with half the bytes
 * (a server running out of space; it also turns FUSE_ASYNC_DIO off, which
 * would make a short direct write EIO), HOSTILE_COPY_FAIL=1 fails the copy
 * into "copy_dst" after it was done, HOSTILE_SETATTR_DELAY_MS holds every
 * SETATTR reply that long, HOSTILE_BARRIER_OFFSET=N makes the barrier
 * of the barrier files cover only the block at N (not the whole file).
 * The log has "NAME SETATTR size=N" (or -1) when
 * a SETATTR arrives and "NAME BEGIN opflags=0xN uid=N pid=N" for a BEGIN.
 */

/*
 * Looking this name up (ENOENT) gives "classic_cap" a security.capability
 * attribute without telling the kernel, as another client of a network
 * file system could.
 */
#define HOSTILE_SETCAP_TRIGGER	"setcap_now"
/*
 * Looking this name up (ENOENT) registers the block device named by
 * $HOSTILE_LATE_DEV and notes the outcome as "late" in RESULTS: a device
 * made after the mount, say a loop device on a file of the mount itself.
 */
#define HOSTILE_LATE_TRIGGER	"register_late"
/* Looking this name up (ENOENT) sends the IOEND answer "stale_size" held. */
#define HOSTILE_RELEASE_TRIGGER	"release_ioend"
/*
 * Looking this name up (ENOENT) writes HOSTILE_DEVDIRTY_BYTE over the
 * block at HOSTILE_DEVDIRTY_OFF of the device through the server's
 * buffered fd, without syncing it: a server's own dirty page in the
 * device's page cache, as libext2fs leaves them.
 */
#define HOSTILE_DEVDIRTY_TRIGGER	"devdirty_now"
#define HOSTILE_DEVDIRTY_OFF	(HOSTILE_DEV_OFF + (64 << 10))
#define HOSTILE_DEVDIRTY_BYTE	0xee
/*
 * FS_IOC_READ_VERITY_METADATA on any file: metadata type 1 is answered
 * with a result larger than the data sent, type 2 with 4 KiB more data
 * than the kernel has room for, type 3 honestly (0x5a bytes) when the
 * kernel set FUSE_IOCTL_VERITY_METADATA, type 4 with 100 bytes more than
 * there is room for, type 5 with a result of half the data sent, type 6
 * with data and -EPERM.
 *
 * With $HOSTILE_LOG set, the server appends one line per request about a
 * file, "NAME OPCODE", and for the barrier files a line
 * "NAME barrier waited=0|1": 1 when FUSE_NOTIFY_INVAL_INODE returned
 * only after the held reply was sent.
 */

static const char *const hostile_kinds[HOSTILE_NR_FILES] = {
	"good", "outside", "past_end", "not_covering", "zero_length",
	"file_overflow", "dev_overflow", "misaligned", "bad_type",
	"bad_device", "bad_flags", "hole_write", "hole_addr", "inline_direct",
	"outside_cached", "ino_zero", "blksize_odd", "blksize_big", "enosys",
	"flip", "ioend_fail", "cached", "grow_fail", "stream_fail",
	"barrier_begin", "barrier_ioend", "stream", "ioend_enosys", "grow",
	"want_end", "new", "classic_cap", "copy_dst", "moving", "moving_src",
	"cookie_back", "devcache_src", "setattr_fail", "stale_size",
	"no_report", "ioend_eagain", "wb_begin_eintr",
};

/* Where "good" lives on the device, and what the classic path returns. */
#define HOSTILE_DEV_OFF		(256ULL << 20)
#define HOSTILE_CLASSIC_BYTE	0x5a
/* Where "copy_dst" lives on the device. */
#define HOSTILE_COPY_DEV_OFF	(HOSTILE_DEV_OFF + (160ULL << 20))
/*
 * "moving" moves, as a defragmenter would, when the kernel first reads
 * "moving_src" (FUSE_READ, held back meanwhile): the server copies the
 * file's 1 MiB from HOSTILE_MOVE_FROM to HOSTILE_MOVE_TO on the device,
 * fills the old place with HOSTILE_MOVED_BYTE, reads "moving" at 512 KiB
 * through the mount from a thread of its own (so the kernel gets a BEGIN
 * reply with the new cookie), and only then answers the held read.
 */
#define HOSTILE_MOVE_FROM	(HOSTILE_DEV_OFF + (128ULL << 20))
#define HOSTILE_MOVE_TO		(HOSTILE_DEV_OFF + (144ULL << 20))
#define HOSTILE_MOVED_BYTE	0xee

#endif /* TESTS_KERNEL_HOSTILE_H */
