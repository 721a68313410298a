/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * POSIX ACLs: the two byte formats (the VFS xattr format user space and the
 * kernel exchange, and ext4's compact on-disk format), validation, and the
 * mode arithmetic the kernel applies when an ACL is set or inherited.
 *
 * Wiring proposed to fs-core (tested with the whole tests/fs suite):
 * with FUSE_CAP_POSIX_ACL the kernel checks ACLs itself but leaves the
 * rest to the server, and with FUSE_CAP_DONT_MASK it stops applying the
 * umask, which must then be ignored where a default ACL is inherited:
 *   - f2_op_init: want FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK when the
 *     kernel offers both;
 *   - f2_make_node (mknod, create) and f2_op_mkdir, once the new inode
 *     is written and before its name is linked:
 *     f2_acl_inherit(f2, parent, ino, fuse_req_ctx(req)->umask);
 *     (or mode = f2_acl_umask(...) before the inode is built, and
 *     umask 0 here: one inode write less per create);
 *   - f2_op_setattr with FUSE_SET_ATTR_MODE, after writing the inode:
 *     f2_acl_chmod(f2, ino, inode.i_mode), then re-read the inode.
 */
#ifndef FUSE2FS_ACL_H
#define FUSE2FS_ACL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fuse2fs.h"

#define F2_ACL_XATTR_ACCESS	"system.posix_acl_access"
#define F2_ACL_XATTR_DEFAULT	"system.posix_acl_default"

/* Entry tags, as in <linux/posix_acl.h>. */
#define F2_ACL_USER_OBJ		0x01
#define F2_ACL_USER		0x02
#define F2_ACL_GROUP_OBJ	0x04
#define F2_ACL_GROUP		0x08
#define F2_ACL_MASK		0x10
#define F2_ACL_OTHER		0x20

struct f2_acl_entry {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;		/* only for F2_ACL_USER and F2_ACL_GROUP */
};

struct f2_acl {
	unsigned int count;
	struct f2_acl_entry e[];
};

/*
 * Parse an ACL in the VFS xattr format and check it is well formed.
 * A header without entries is valid and yields *acl == NULL: setting it
 * removes the ACL, as in the kernel.  0 or a positive errno (EINVAL;
 * EOPNOTSUPP for an unknown format version).
 */
int f2_acl_from_vfs(const void *buf, size_t size, struct f2_acl **acl);
/* Parse ext4's on-disk format; 0, EIO for a corrupted value, or ENOMEM. */
int f2_acl_from_disk(const void *buf, size_t size, struct f2_acl **acl);

size_t f2_acl_vfs_size(const struct f2_acl *acl);
size_t f2_acl_disk_size(const struct f2_acl *acl);
/* Encode into buf, which holds at least the matching *_size() bytes. */
void f2_acl_to_vfs(const struct f2_acl *acl, void *buf);
void f2_acl_to_disk(const struct f2_acl *acl, void *buf);

/*
 * Fold the ACL's base entries into the permission bits of *mode.
 * Returns true when the ACL says nothing the mode bits cannot (no named
 * entries, no mask): the kernel then stores no access ACL at all.
 */
bool f2_acl_equiv_mode(const struct f2_acl *acl, mode_t *mode);

/*
 * Apply a new file's creation mode to an ACL inherited from its parent's
 * default ACL, and the ACL back to *mode (POSIX 1003.1e "create" rule).
 * Returns true when the result is equivalent to the mode bits.
 */
bool f2_acl_create_masq(struct f2_acl *acl, mode_t *mode);

/*
 * Give a newly created inode the ACLs its directory's default ACL asks for
 * and fix its mode accordingly; without a default ACL the mode is only
 * masked with umask.  Call after the new inode was written, before the
 * reply.  0 or a positive errno.
 */
int f2_acl_inherit(struct fuse2fs *f2, ext2_ino_t dir, ext2_ino_t ino,
		   mode_t umask);
/*
 * The creation mode with the umask applied when dir has no default ACL
 * (unchanged when it has one).  Using it before the new inode is first
 * written saves f2_acl_inherit() a second inode write in the common case
 * (then pass umask 0 to f2_acl_inherit()).
 */
mode_t f2_acl_umask(struct fuse2fs *f2, ext2_ino_t dir, mode_t mode,
		    mode_t umask);

/*
 * After a chmod: carry the new permission bits into ino's access ACL, if
 * it has one (user::, other:: and the mask, or group:: without a mask),
 * as the kernel's posix_acl_chmod() does.  0 or a positive errno.
 */
int f2_acl_chmod(struct fuse2fs *f2, ext2_ino_t ino, mode_t mode);

#endif /* FUSE2FS_ACL_H */
