// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The per-file iomap preference as extended attributes (xattr.c routes
 * the names here):
 *
 *  user.fuse2fs.iomap       "classic" forces classic FUSE read/write;
 *                           "auto" (stored as: attribute absent) follows
 *                           the mount policy.  Stored in the image, so it
 *                           survives remounts and is copied by cp -a.
 *                           Only the owner or root may set or remove it,
 *                           and only on regular files.
 *  user.fuse2fs.iomap_mode  read-only, not listed: the mode in effect,
 *                           "iomap" or "classic (reason)".
 *
 * A change shows in the next reply that carries the file's attributes;
 * how the kernel switches an instantiated inode is in doc/protocol.md.
 */
#include <errno.h>
#include <string.h>
#include <sys/xattr.h>

#include "iomap.h"
#include "xattr.h"

bool f2_iomap_xattr_name(const char *name)
{
	return !strcmp(name, F2_XATTR_IOMAP) ||
	       !strcmp(name, F2_XATTR_IOMAP_MODE);
}

static int copy_value(const char *val, char *buf, size_t size)
{
	size_t len = strlen(val);

	if (!size)
		return len;
	if (size < len)
		return -ERANGE;
	memcpy(buf, val, len);
	return len;
}

int f2_iomap_xattr_get(struct fuse2fs *f2, ext2_ino_t ino, const char *name,
		       char *buf, size_t size)
{
	struct ext2_inode_large inode;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return -ret;
	if (!strcmp(name, F2_XATTR_IOMAP_MODE))
		return copy_value(f2_iomap_why_str(f2_iomap_policy(f2, ino,
								   &inode)),
				  buf, size);
	if (strcmp(name, F2_XATTR_IOMAP))
		return -ENODATA;
	ret = f2_iomap_pref_classic(f2, ino, &inode);
	if (ret < 0)
		return ret;
	if (!ret)
		return -ENODATA;
	return copy_value("classic", buf, size);
}

/* "classic" -> 1, "auto" -> 0, anything else -> -EINVAL. */
static int parse_pref(const char *value, size_t size)
{
	/* Tolerate the newline or NUL that shell tools tend to add. */
	while (size && (value[size - 1] == '\n' || value[size - 1] == '\0'))
		size--;
	if (size == 7 && !memcmp(value, "classic", 7))
		return 1;
	if (size == 4 && !memcmp(value, "auto", 4))
		return 0;
	return -EINVAL;
}

int f2_iomap_xattr_set(struct fuse2fs *f2, const struct fuse_ctx *ctx,
		       ext2_ino_t ino, const char *name, const char *value,
		       size_t size, int flags)
{
	struct ext2_inode_large inode;
	enum f2_iomap_why before;
	int want, have, ret;

	if (!strcmp(name, F2_XATTR_IOMAP_MODE))
		return -EPERM;
	if (strcmp(name, F2_XATTR_IOMAP))
		return -EOPNOTSUPP;
	if (f2->ro)
		return -EROFS;
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return -ret;
	if (!LINUX_S_ISREG(inode.i_mode))
		return -EINVAL;
	if (ctx && ctx->uid != 0 && ctx->uid != inode_uid(inode))
		return -EPERM;

	have = f2_iomap_pref_classic(f2, ino, &inode);
	if (have < 0)
		return have;
	if (value) {
		want = parse_pref(value, size);
		if (want < 0)
			return want;
	} else {
		if (!have)
			return -ENODATA;
		want = 0;
	}
	if ((flags & XATTR_CREATE) && have)
		return -EEXIST;
	if ((flags & XATTR_REPLACE) && !have)
		return -ENODATA;
	if (want == have)
		return 0;

	before = f2_iomap_policy(f2, ino, &inode);
	ret = f2_xattr_write(f2, ino, F2_XATTR_IOMAP,
			     want ? "classic" : NULL, want ? 7 : 0);
	if (ret)
		return -ret;
	/* Leaving iomap: libext2fs must not read stale cached blocks. */
	if (before == F2_WHY_IOMAP && want)
		f2_iomap_drop_caches(f2, ino);
	/* Entering iomap: the kernel must see libext2fs's writes. */
	if (!want)
		f2_iomap_sync_for_kernel(f2);
	ret = f2_read_inode(f2, ino, &inode);
	if (!ret && f2_iomap_policy(f2, ino, &inode) != before)
		f2_iomap_mode_changed(f2, ino);
	return 0;
}
