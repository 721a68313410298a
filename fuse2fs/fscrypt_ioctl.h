/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ioctls that hand fscrypt master keys to a running fuse2fs (used by
 * fuse2fs-key).  The kernel's FS_IOC_ADD_ENCRYPTION_KEY cannot do it: FUSE
 * forwards only the fixed part of its argument, never the key after it.
 * These have fixed-size arguments, which FUSE forwards whole, on read-only
 * mounts too.  fuse2fs accepts them from root or the user it runs as.
 */
#ifndef FUSE2FS_FSCRYPT_IOCTL_H
#define FUSE2FS_FSCRYPT_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

struct f2c_ioc_key {
	__u8 version;		/* 1 (named by descriptor) or 2 */
	__u8 reserved[3];
	__u32 size;		/* bytes of raw[] in use, 16 to 64 */
	__u8 descriptor[8];	/* v1 only */
	__u8 raw[64];
};

struct f2c_ioc_key_id {
	__u8 version;		/* 1 or 2 */
	__u8 present;		/* KEY_STATUS's answer */
	__u8 reserved[6];
	__u8 spec[16];		/* v1: 8-byte descriptor; v2: identifier */
};

#define F2C_IOC_ADD_KEY		_IOW(0xf2, 1, struct f2c_ioc_key)
#define F2C_IOC_REMOVE_KEY	_IOW(0xf2, 2, struct f2c_ioc_key_id)
#define F2C_IOC_KEY_STATUS	_IOWR(0xf2, 3, struct f2c_ioc_key_id)

#endif /* FUSE2FS_FSCRYPT_IOCTL_H */
