/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause) */
/*
 * fuse-iomap wire protocol: the kernel asks the FUSE server where a file
 * range lives on a block device and then does the data IO itself.
 *
 * This header is shared, byte for byte, by the kernel patch series (as a
 * uapi header), the userspace library and the tests.
 * doc/protocol.md is the normative description of every field.
 */
#ifndef _LINUX_FUSE_IOMAP_H
#define _LINUX_FUSE_IOMAP_H

#include <linux/types.h>
#include <linux/ioctl.h>

/*
 * FUSE_INIT: bit in the 64-bit capability word (fuse_init_in.flags2 and
 * fuse_init_out.flags2 hold its upper half, so this is flags2 bit 31).
 * Chosen far above the bits upstream hands out to stay clear of them.
 */
#define FUSE_IOMAP			(1ULL << 63)

/*
 * fuse_attr.flags: the inode uses iomap for its data.  Only honoured on a
 * regular file, on a connection that negotiated FUSE_IOMAP, and when the
 * inode is instantiated.  fuse_attr.ino is then the backing inode number
 * that every iomap request for this inode names.
 */
#define FUSE_ATTR_IOMAP			(1U << 31)

/*
 * fuse_attr.flags: the inode is immutable, or append-only (the
 * FS_IMMUTABLE_FL and FS_APPEND_FL of FS_IOC_GETFLAGS).  Honoured on a
 * connection that negotiated FUSE_IOMAP, for inodes of every type: the
 * kernel writes iomap data without the server, so it applies the VFS's
 * rules for such inodes itself.
 */
#define FUSE_ATTR_IOMAP_IMMUTABLE	(1U << 30)
#define FUSE_ATTR_IOMAP_APPEND		(1U << 29)

/*
 * fuse_ioctl_in.flags: set by the kernel on the FS_IOC_READ_VERITY_METADATA
 * it forwards.  The input is the argument as the kernel checked it; the
 * output goes to the buffer the argument names (buf_ptr), not over the
 * argument, and a server answers with as many bytes as its result says.
 * Without it, an older kernel sends the argument as the only output buffer.
 */
#define FUSE_IOCTL_VERITY_METADATA	(1U << 31)

/*
 * Opcodes.  Upstream's end below 100 and CUSE's start at 4096; the public
 * fuse-iomap proposal takes 4089-4095.  These collide with none of them
 * (doc/protocol.md, section 4, maps them to the proposal's).
 */
#define FUSE_IOMAP_BEGIN		8100
#define FUSE_IOMAP_END			8101
#define FUSE_IOMAP_IOEND		8102

/* fuse_iomap_mapping.type */
#define FUSE_IOMAP_TYPE_HOLE		0	/* no blocks; reads see zeroes */
#define FUSE_IOMAP_TYPE_MAPPED		1	/* blocks hold the data */
#define FUSE_IOMAP_TYPE_UNWRITTEN	2	/* blocks allocated, read as zeroes */
#define FUSE_IOMAP_TYPE_INLINE		3	/* no block address: use FUSE_READ/WRITE */
#define FUSE_IOMAP_TYPE_MAX		FUSE_IOMAP_TYPE_INLINE

/* fuse_iomap_mapping.flags */
#define FUSE_IOMAP_F_NEW		(1U << 0)	/* blocks freshly allocated */
#define FUSE_IOMAP_F_WANT_END		(1U << 1)	/* send FUSE_IOMAP_END */
#define FUSE_IOMAP_F_CACHE		(1U << 2)	/* kernel may reuse it */
#define FUSE_IOMAP_F_ALL		(FUSE_IOMAP_F_NEW | FUSE_IOMAP_F_WANT_END | \
					 FUSE_IOMAP_F_CACHE)

/* fuse_iomap_mapping.addr of a hole or inline mapping */
#define FUSE_IOMAP_NULL_ADDR		(~0ULL)

/* fuse_iomap_begin_in.opflags and fuse_iomap_end_in.opflags */
#define FUSE_IOMAP_OP_WRITE		(1U << 0)	/* write or allocate */
#define FUSE_IOMAP_OP_ZERO		(1U << 1)	/* zeroing a range */
#define FUSE_IOMAP_OP_DIRECT		(1U << 2)	/* O_DIRECT */
#define FUSE_IOMAP_OP_WRITEBACK		(1U << 3)	/* page cache writeback */
#define FUSE_IOMAP_OP_FAULT		(1U << 4)	/* page fault */
#define FUSE_IOMAP_OP_REPORT		(1U << 5)	/* fiemap, seek, bmap */
#define FUSE_IOMAP_OP_ALL		0x3f

/* fuse_iomap_ioend_in.flags */
#define FUSE_IOMAP_IOEND_UNWRITTEN	(1U << 0)	/* convert to written */
#define FUSE_IOMAP_IOEND_APPEND		(1U << 1)	/* may extend i_size */
#define FUSE_IOMAP_IOEND_DIRECT		(1U << 2)	/* O_DIRECT write */
#define FUSE_IOMAP_IOEND_WRITEBACK	(1U << 3)	/* buffered writeback */
#define FUSE_IOMAP_IOEND_ALL		0xf

/* One run of a file: [offset, offset + length) at addr on device dev. */
struct fuse_iomap_mapping {
	__u64	offset;		/* file offset, bytes */
	__u64	length;		/* bytes, > 0 */
	__u64	addr;		/* device offset, bytes, or NULL_ADDR */
	__u16	type;		/* FUSE_IOMAP_TYPE_* */
	__u16	flags;		/* FUSE_IOMAP_F_* */
	__u32	dev;		/* device id; 0 for hole and inline */
};

struct fuse_iomap_begin_in {
	__u64	attr_ino;	/* backing inode number */
	__u64	pos;		/* file offset, bytes */
	__u64	count;		/* bytes, > 0 */
	__u32	opflags;	/* FUSE_IOMAP_OP_* */
	__u32	padding;
};

struct fuse_iomap_begin_out {
	struct fuse_iomap_mapping map;
	__u64	cookie;		/* the file's block map version, never lower */
};

struct fuse_iomap_end_in {
	__u64	attr_ino;
	__u64	pos;
	__u64	count;		/* bytes asked for in BEGIN */
	__u64	written;	/* bytes actually processed */
	__u32	opflags;
	__u32	padding;
	struct fuse_iomap_mapping map;	/* as returned by BEGIN */
};

struct fuse_iomap_ioend_in {
	__u64	attr_ino;
	__u64	pos;		/* file offset of the completed IO */
	__u64	written;	/* bytes completed */
	__s32	error;		/* 0 or a negative errno */
	__u32	flags;		/* FUSE_IOMAP_IOEND_* */
};

struct fuse_iomap_ioend_out {
	__u64	size;		/* the file's i_size after the ioend */
};

/*
 * Block device registration, an ioctl on the /dev/fuse fd after FUSE_INIT
 * negotiated FUSE_IOMAP.  fd is a block device the server opened for
 * reading and writing; the ioctl returns the device id (> 0) that
 * mappings name.  The kernel holds the device until the connection ends.
 */
struct fuse_iomap_dev_map {
	__u32	fd;
	__u32	flags;		/* must be 0 */
	__u64	padding;	/* must be 0 */
};

#define FUSE_DEV_IOC_IOMAP_DEV_ADD	_IOW(229, 0x40, struct fuse_iomap_dev_map)

#endif /* _LINUX_FUSE_IOMAP_H */
