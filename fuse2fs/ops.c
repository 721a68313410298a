// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: the lowlevel operations table.  Each entry lives in the file
 * named in fuse2fs.h.
 */
#include "fuse2fs.h"

#ifdef F2_TEST_HOOKS
void f2_test_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		      size_t size);
#endif

const struct fuse_lowlevel_ops f2_ops = {
	.init		= f2_op_init,
	.lookup		= f2_op_lookup,
	.forget		= f2_op_forget,
	.forget_multi	= f2_op_forget_multi,
	.getattr	= f2_op_getattr,
	.setattr	= f2_op_setattr,
	.readlink	= f2_op_readlink,
	.mknod		= f2_op_mknod,
	.mkdir		= f2_op_mkdir,
	.unlink		= f2_op_unlink,
	.rmdir		= f2_op_rmdir,
	.symlink	= f2_op_symlink,
	.rename		= f2_op_rename,
	.link		= f2_op_link,
	.create		= f2_op_create,
	.open		= f2_op_open,
	.read		= f2_op_read,
	.write		= f2_op_write,
	.flush		= f2_op_flush,
	.release	= f2_op_release,
	.fsync		= f2_op_fsync,
	.opendir	= f2_op_opendir,
	.readdir	= f2_op_readdir,
	.readdirplus	= f2_op_readdirplus,
	.releasedir	= f2_op_releasedir,
	.fsyncdir	= f2_op_fsyncdir,
	.statfs		= f2_op_statfs,
	/* xattr.c, fallocate.c, seek.c, ioctl.c */
	.setxattr	= f2_op_setxattr,
#ifdef F2_TEST_HOOKS
	.getxattr	= f2_test_getxattr,	/* test_hooks.c */
#else
	.getxattr	= f2_op_getxattr,
#endif
	.listxattr	= f2_op_listxattr,
	.removexattr	= f2_op_removexattr,
	.fallocate	= f2_op_fallocate,
	.lseek		= f2_op_lseek,
	.ioctl		= f2_op_ioctl,
};
