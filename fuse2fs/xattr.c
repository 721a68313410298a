// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes: user., trusted., security. and the POSIX ACLs in
 * system.posix_acl_access / system.posix_acl_default, stored in the inode
 * body or in an EA block by libext2fs.
 *
 * The checks the VFS makes for local filesystems (trusted.* for root only,
 * user.* only on regular files and directories, immutable inodes, name
 * lengths) are repeated here because a FUSE server cannot rely on them:
 * without default_permissions the kernel leaves permission checks to us.
 *
 * Handles are opened raw: ACL values are converted and validated by acl.c
 * rather than by libext2fs, see there.  Names are dispatched by namespace
 * through xattr_classes[]; other fuse2fs files that serve a name of their
 * own (iomap_policy.c: user.fuse2fs.iomap*) are hooked in there too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fuse2fs.h"
#include "acl.h"
#include "iomap.h"
#include "xattr.h"

#define XATTR_SUFFIX_MAX	255	/* e_name_len is one byte */
#define XATTR_VALUE_MAX		65536	/* the VFS limit, XATTR_SIZE_MAX */
#define XATTR_LIST_MAX_BYTES	65536

/* What a namespace demands of the caller and the inode. */
#define XC_ROOT_ONLY	(1 << 0)	/* trusted.*: CAP_SYS_ADMIN */
#define XC_REG_DIR	(1 << 1)	/* user.*: files and directories */
#define XC_ACL		(1 << 2)	/* value is an ACL, name is exact */
#define XC_HOOK		(1 << 3)	/* served by another fuse2fs file */

struct xattr_class {
	const char *prefix;
	unsigned int flags;
	/* For XC_HOOK: does the name belong to the hook? */
	bool (*match)(const char *name);
};

static const struct xattr_class xattr_classes[] = {
	/* Hooks come first: their names live inside a normal namespace. */
	{ "user.fuse2fs.iomap", XC_HOOK, f2_iomap_xattr_name },
	{ "user.", XC_REG_DIR, NULL },
	{ "trusted.", XC_ROOT_ONLY, NULL },
	{ "security.", 0, NULL },
	{ F2_ACL_XATTR_ACCESS, XC_ACL, NULL },
	{ F2_ACL_XATTR_DEFAULT, XC_ACL, NULL },
};

/*
 * The namespace of name, or NULL when ext4 does not know it (system.data
 * of inline-data files included: ext4 never exposes it) -> EOPNOTSUPP.
 * *err is EINVAL for a namespace prefix with nothing after it and ERANGE
 * for a name too long to be stored.
 */
static const struct xattr_class *xattr_classify(const char *name, int *err)
{
	size_t i;

	*err = 0;
	for (i = 0; i < ARRAY_SIZE(xattr_classes); i++) {
		const struct xattr_class *c = &xattr_classes[i];
		size_t plen = strlen(c->prefix);

		if (c->flags & XC_HOOK) {
			if (c->match(name))
				return c;
			continue;
		}
		if (c->flags & XC_ACL) {
			if (!strcmp(name, c->prefix))
				return c;
			continue;
		}
		if (strncmp(name, c->prefix, plen))
			continue;
		if (!name[plen])
			*err = EINVAL;
		else if (strlen(name + plen) > XATTR_SUFFIX_MAX)
			*err = ERANGE;
		return c;
	}
	*err = EOPNOTSUPP;
	return NULL;
}

static int xattr_errno(errcode_t err)
{
	switch (err) {
	case EXT2_ET_EA_KEY_NOT_FOUND:
		return ENODATA;
	case EXT2_ET_EA_NO_SPACE:
	case EXT2_ET_BLOCK_ALLOC_FAIL:
	case EXT2_ET_INODE_ALLOC_FAIL:
		return ENOSPC;
	case EXT2_ET_MISSING_EA_FEATURE:
		return EOPNOTSUPP;
	default:
		return f2_errno(err);
	}
}

/*
 * 1 if the caller is in group gid, 0 if not, -1 if that cannot be known:
 * the supplementary groups come from /proc/PID/task/TID/status, which a
 * sandboxed server cannot open (sandbox.c).
 */
static int in_group(fuse_req_t req, const struct fuse_ctx *ctx, gid_t gid)
{
	gid_t groups[64];
	int i, n;

	if (ctx->gid == gid)
		return 1;
	if (!req)
		return 0;
	if (f2_get(req)->sandbox.entered)
		return -1;
	n = fuse_req_getgroups(req, 64, groups);
	for (i = 0; i < n && i < 64; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* May the caller write to the inode (the mode bits' w for its class)? */
static bool may_write(fuse_req_t req, const struct fuse_ctx *ctx,
		      const struct ext2_inode_large *inode)
{
	uid_t uid = inode_uid(*inode);
	gid_t gid = inode_gid(*inode);

	if (!ctx->uid)
		return true;
	if (ctx->uid == uid)
		return inode->i_mode & S_IWUSR;
	switch (in_group(req, ctx, gid)) {
	case 1:
		return inode->i_mode & S_IWGRP;
	case -1:
		/* The kernel checked it (default_permissions is always on). */
		return true;
	}
	return inode->i_mode & S_IWOTH;
}

static bool is_owner(const struct fuse_ctx *ctx,
		     const struct ext2_inode_large *inode)
{
	return !ctx->uid || ctx->uid == inode_uid(*inode);
}

/* Open ino's attributes, loaded, in raw mode; 0 or a positive errno. */
static int xattr_load(struct fuse2fs *f2, ext2_ino_t ino,
		      struct ext2_xattr_handle **h)
{
	unsigned int raw = XATTR_HANDLE_FLAG_RAW;
	errcode_t err;

	err = ext2fs_xattrs_open(f2->fs, ino, h);
	if (err)
		return xattr_errno(err);
	ext2fs_xattrs_flags(*h, &raw, NULL);
	err = ext2fs_xattrs_read(*h);
	if (err) {
		ext2fs_xattrs_close(h);
		return xattr_errno(err);
	}
	return 0;
}

/*
 * An ext2 image without the ext_attr feature gets it on the first
 * attribute written, as the kernel does.
 */
static void xattr_enable_feature(struct fuse2fs *f2)
{
	if (ext2fs_has_feature_xattr(f2->fs->super))
		return;
	ext2fs_set_feature_xattr(f2->fs->super);
	ext2fs_mark_super_dirty(f2->fs);
}

/*
 * True when ino has no extended attribute at all: no EA block and no
 * attribute header in the inode body.  The kernel asks for
 * security.capability before every write to a file, so that answer
 * must not cost a full attribute load.
 */
static bool xattr_none(struct fuse2fs *f2, ext2_ino_t ino)
{
	unsigned int isize = EXT2_INODE_SIZE(f2->fs->super), off;
	union {
		struct ext2_inode_large in;
		char raw[1024];
	} u;
	uint32_t magic;

	if (isize > sizeof(u) || ext2fs_read_inode_full(f2->fs, ino,
				(struct ext2_inode *)&u.in, isize))
		return false;
	if (ext2fs_file_acl_block(f2->fs, (struct ext2_inode *)&u.in))
		return false;
	if (isize <= EXT2_GOOD_OLD_INODE_SIZE)
		return true;
	off = EXT2_GOOD_OLD_INODE_SIZE + u.in.i_extra_isize;
	if (off + sizeof(magic) > isize)
		return true;
	memcpy(&magic, u.raw + off, sizeof(magic));
	return magic != EXT2_EXT_ATTR_MAGIC;
}

int f2_xattr_read(struct fuse2fs *f2, ext2_ino_t ino, const char *name,
		  void **value, size_t *size)
{
	struct ext2_xattr_handle *h;
	errcode_t err;
	int ret;

	*value = NULL;
	*size = 0;
	if (!ext2fs_has_feature_xattr(f2->fs->super) &&
	    !ext2fs_has_feature_inline_data(f2->fs->super))
		return ENODATA;
	if (xattr_none(f2, ino))
		return ENODATA;
	ret = xattr_load(f2, ino, &h);
	if (ret)
		return ret;
	err = ext2fs_xattr_get(h, name, value, size);
	ext2fs_xattrs_close(&h);
	return xattr_errno(err);
}

static int f2_do_xattr_write(struct fuse2fs *f2, ext2_ino_t ino,
			     const char *name, const void *value,
			     size_t size)
{
	struct ext2_inode_large inode;
	struct ext2_xattr_handle *h;
	errcode_t err;
	int ret;

	xattr_enable_feature(f2);
	ret = xattr_load(f2, ino, &h);
	if (ret)
		return ret;
	if (value)
		err = ext2fs_xattr_set(h, name, value, size);
	else
		err = ext2fs_xattr_remove(h, name);
	ext2fs_xattrs_close(&h);
	if (err)
		return xattr_errno(err);

	/* libext2fs rewrote the inode; read it back before touching it. */
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	f2_touch(&inode, F2_CTIME);
	return f2_write_inode(f2, ino, &inode);
}

/*
 * libext2fs allocates and writes an attribute block, then the inode (or
 * releases the block, then writes the inode): all or nothing.
 */
int f2_xattr_write(struct fuse2fs *f2, ext2_ino_t ino, const char *name,
		   const void *value, size_t size)
{
	f2_txn_begin();
	return f2_txn_end(f2_do_xattr_write(f2, ino, name, value, size));
}

/* Read an ACL stored on disk; *acl is NULL when there is none. */
static int acl_read(struct fuse2fs *f2, ext2_ino_t ino, const char *name,
		    struct f2_acl **acl)
{
	void *raw;
	size_t len;
	int ret;

	*acl = NULL;
	ret = f2_xattr_read(f2, ino, name, &raw, &len);
	if (ret == ENODATA)
		return 0;
	if (ret)
		return ret;
	ret = f2_acl_from_disk(raw, len, acl);
	ext2fs_free_mem(&raw);
	return ret;
}

static int acl_write(struct fuse2fs *f2, ext2_ino_t ino, const char *name,
		     const struct f2_acl *acl)
{
	size_t len = f2_acl_disk_size(acl);
	void *buf = malloc(len);
	int ret;

	if (!buf)
		return ENOMEM;
	f2_acl_to_disk(acl, buf);
	ret = f2_xattr_write(f2, ino, name, buf, len);
	free(buf);
	return ret;
}

/* Remove name; a missing attribute is not an error here. */
static int xattr_drop(struct fuse2fs *f2, ext2_ino_t ino, const char *name)
{
	void *val;
	size_t len;
	int ret;

	ret = f2_xattr_read(f2, ino, name, &val, &len);
	if (ret == ENODATA)
		return 0;
	if (ret)
		return ret;
	ext2fs_free_mem(&val);
	return f2_xattr_write(f2, ino, name, NULL, 0);
}

/*
 * Set or remove (value NULL) an ACL the way ext4_set_acl() does: only the
 * owner may; a default ACL only on directories; an access ACL carries the
 * new permission bits into the mode and is not stored at all when the
 * mode alone says the same; setgid is dropped for a caller outside the
 * file's group.
 */
static int acl_set(fuse_req_t req, struct fuse2fs *f2, ext2_ino_t ino,
		   const char *name, const char *value, size_t size,
		   int flags)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	bool access = !strcmp(name, F2_ACL_XATTR_ACCESS);
	struct ext2_inode_large inode;
	struct f2_acl *acl = NULL;
	mode_t mode;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (!is_owner(ctx, &inode))
		return EPERM;
	if (value) {
		ret = f2_acl_from_vfs(value, size, &acl);
		if (ret)
			return ret;
	}
	if (!access && !LINUX_S_ISDIR(inode.i_mode)) {
		free(acl);
		return acl ? EACCES : 0;
	}
	/*
	 * XATTR_CREATE/XATTR_REPLACE are ignored: the VFS turns an ACL
	 * setxattr into set_acl(), which has no flags (ext4 alike).
	 */
	if (!access || !acl) {
		ret = acl ? acl_write(f2, ino, name, acl) :
			    xattr_drop(f2, ino, name);
		goto out;
	}

	mode = inode.i_mode;
	if (f2_acl_equiv_mode(acl, &mode)) {
		free(acl);
		acl = NULL;
	}
	/* Unknown membership (sandboxed) clears it too, to be safe. */
	if (ctx->uid && in_group(req, ctx, inode_gid(inode)) != 1)
		mode &= ~(mode_t)S_ISGID;
	ret = acl ? acl_write(f2, ino, name, acl) : xattr_drop(f2, ino, name);
	if (ret)
		goto out;
	/* Storing the ACL rewrote the inode: read it again. */
	ret = f2_read_inode(f2, ino, &inode);
	if (ret || mode == inode.i_mode)
		goto out;
	inode.i_mode = mode;
	f2_touch(&inode, F2_CTIME);
	ret = f2_write_inode(f2, ino, &inode);
out:
	free(acl);
	return ret;
}

static int acl_get(struct fuse2fs *f2, ext2_ino_t ino, const char *name,
		   void **value, size_t *size)
{
	struct f2_acl *acl;
	int ret;

	ret = acl_read(f2, ino, name, &acl);
	if (ret)
		return ret;
	if (!acl)
		return ENODATA;
	*size = f2_acl_vfs_size(acl);
	*value = malloc(*size);
	if (*value)
		f2_acl_to_vfs(acl, *value);
	free(acl);
	return *value ? 0 : ENOMEM;
}

/* Checks common to setxattr and removexattr. */
static int xattr_may_change(fuse_req_t req, struct fuse2fs *f2, ext2_ino_t ino,
			    const struct xattr_class *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ext2_inode_large inode;
	int ret;

	if (f2->ro)
		return EROFS;
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	if (inode.i_flags & (EXT2_IMMUTABLE_FL | EXT2_APPEND_FL))
		return EPERM;
	if (c->flags & XC_ROOT_ONLY && ctx->uid)
		return EPERM;
	if (c->flags & XC_REG_DIR && !LINUX_S_ISREG(inode.i_mode) &&
	    !LINUX_S_ISDIR(inode.i_mode))
		return EPERM;
	/* In a sticky directory only its owner may change user.* names. */
	if (c->flags & XC_REG_DIR && LINUX_S_ISDIR(inode.i_mode) &&
	    inode.i_mode & S_ISVTX && !is_owner(fuse_req_ctx(req), &inode))
		return EPERM;
	/* ACLs check ownership themselves; others need write access. */
	if (!(c->flags & XC_ACL) && !may_write(req, ctx, &inode))
		return EACCES;
	return 0;
}

static int xattr_set_plain(struct fuse2fs *f2, ext2_ino_t ino,
			   const char *name, const char *value, size_t size,
			   int flags)
{
	void *old;
	size_t old_len;
	int ret;

	ret = f2_xattr_read(f2, ino, name, &old, &old_len);
	if (ret && ret != ENODATA)
		return ret;
	if (!ret)
		ext2fs_free_mem(&old);
	if (flags & XATTR_CREATE && !ret)
		return EEXIST;
	if (flags & XATTR_REPLACE && ret == ENODATA)
		return ENODATA;
	/* libext2fs wants a buffer even for an empty value. */
	return f2_xattr_write(f2, ino, name, value ? value : "", size);
}

void f2_op_setxattr(fuse_req_t req, fuse_ino_t nodeid, const char *name,
		    const char *value, size_t size, int flags)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino = f2_ino(nodeid);
	const struct xattr_class *c;
	int ret;

	c = xattr_classify(name, &ret);
	if (ret)
		goto out;
	if (flags & ~(XATTR_CREATE | XATTR_REPLACE) ||
	    (flags & XATTR_CREATE && flags & XATTR_REPLACE)) {
		ret = EINVAL;
		goto out;
	}
	if (size > XATTR_VALUE_MAX) {
		ret = E2BIG;
		goto out;
	}
	if (c->flags & XC_HOOK) {
		if (f2->ro) {
			ret = EROFS;
			goto out;
		}
		ret = -f2_iomap_xattr_set(f2, fuse_req_ctx(req), ino, name,
					  value, size, flags);
		goto out;
	}
	ret = xattr_may_change(req, f2, ino, c);
	if (ret)
		goto out;
	if (c->flags & XC_ACL)
		ret = acl_set(req, f2, ino, name, value, size, flags);
	else
		ret = xattr_set_plain(f2, ino, name, value, size, flags);
out:
	fuse_reply_err(req, ret);
}

static void reply_value(fuse_req_t req, const void *value, size_t len,
			size_t size)
{
	if (!size)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
}

void f2_op_getxattr(fuse_req_t req, fuse_ino_t nodeid, const char *name,
		    size_t size)
{
	struct fuse2fs *f2 = f2_get(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	ext2_ino_t ino = f2_ino(nodeid);
	struct ext2_inode_large inode;
	const struct xattr_class *c;
	void *value = NULL;
	size_t len = 0;
	int ret;

	c = xattr_classify(name, &ret);
	if (ret)
		goto err;
	if (c->flags & XC_HOOK) {
		char *buf = size ? malloc(size) : NULL;

		if (size && !buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		ret = f2_iomap_xattr_get(f2, ino, name, buf, size);
		if (ret < 0)
			fuse_reply_err(req, -ret);
		else if (!size)
			fuse_reply_xattr(req, ret);
		else
			fuse_reply_buf(req, buf, ret);
		free(buf);
		return;
	}
	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		goto err;
	/* What the VFS answers for these: "no such attribute". */
	if ((c->flags & XC_ROOT_ONLY && ctx->uid) ||
	    (c->flags & XC_REG_DIR && !LINUX_S_ISREG(inode.i_mode) &&
	     !LINUX_S_ISDIR(inode.i_mode))) {
		ret = ENODATA;
		goto err;
	}
	if (c->flags & XC_ACL)
		ret = acl_get(f2, ino, name, &value, &len);
	else
		ret = f2_xattr_read(f2, ino, name, &value, &len);
	if (ret)
		goto err;
	reply_value(req, value, len, size);
	free(value);
	return;
err:
	fuse_reply_err(req, ret);
}

struct list_ctx {
	char *buf;
	size_t len;
	size_t cap;
	bool root;
	int err;
};

/* ext2fs_xattrs_iterate() callback: append the names the caller may see. */
static int list_one(char *name, char *value, size_t value_len, void *data)
{
	struct list_ctx *l = data;
	const struct xattr_class *c;
	size_t n = strlen(name) + 1;
	int err;

	c = xattr_classify(name, &err);
	if (!c || err)
		return 0;
	if (c->flags & XC_ROOT_ONLY && !l->root)
		return 0;
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		char *p;

		while (cap < l->len + n)
			cap *= 2;
		p = realloc(l->buf, cap);
		if (!p) {
			l->err = ENOMEM;
			return XATTR_ABORT;
		}
		l->buf = p;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, name, n);
	l->len += n;
	return 0;
}

void f2_op_listxattr(fuse_req_t req, fuse_ino_t nodeid, size_t size)
{
	struct fuse2fs *f2 = f2_get(req);
	struct list_ctx l = { .root = !fuse_req_ctx(req)->uid };
	struct ext2_xattr_handle *h;
	errcode_t err;
	int ret;

	if ((!ext2fs_has_feature_xattr(f2->fs->super) &&
	     !ext2fs_has_feature_inline_data(f2->fs->super)) ||
	    xattr_none(f2, f2_ino(nodeid))) {
		reply_value(req, "", 0, size);
		return;
	}
	ret = xattr_load(f2, f2_ino(nodeid), &h);
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	err = ext2fs_xattrs_iterate(h, list_one, &l);
	ext2fs_xattrs_close(&h);
	if (err)
		ret = xattr_errno(err);
	else if (l.err)
		ret = l.err;
	else if (l.len > XATTR_LIST_MAX_BYTES)
		ret = E2BIG;
	if (ret)
		fuse_reply_err(req, ret);
	else
		reply_value(req, l.buf ? l.buf : "", l.len, size);
	free(l.buf);
}

void f2_op_removexattr(fuse_req_t req, fuse_ino_t nodeid, const char *name)
{
	struct fuse2fs *f2 = f2_get(req);
	ext2_ino_t ino = f2_ino(nodeid);
	const struct xattr_class *c;
	void *old;
	size_t len;
	int ret;

	c = xattr_classify(name, &ret);
	if (ret)
		goto out;
	if (c->flags & XC_HOOK) {
		ret = f2->ro ? EROFS :
			-f2_iomap_xattr_set(f2, fuse_req_ctx(req), ino, name,
					    NULL, 0, 0);
		goto out;
	}
	ret = xattr_may_change(req, f2, ino, c);
	if (ret)
		goto out;
	if (c->flags & XC_ACL) {
		/*
		 * Ownership is checked as for setting.  A missing ACL is
		 * ENODATA here, though the kernel's set_acl(NULL) is not.
		 */
		ret = f2_xattr_read(f2, ino, name, &old, &len);
		if (!ret) {
			ext2fs_free_mem(&old);
			ret = acl_set(req, f2, ino, name, NULL, 0, 0);
		}
		goto out;
	}
	ret = f2_xattr_read(f2, ino, name, &old, &len);
	if (ret)
		goto out;
	ext2fs_free_mem(&old);
	ret = f2_xattr_write(f2, ino, name, NULL, 0);
out:
	fuse_reply_err(req, ret);
}

int f2_acl_inherit(struct fuse2fs *f2, ext2_ino_t dir, ext2_ino_t ino,
		   mode_t umask)
{
	struct ext2_inode_large inode;
	struct f2_acl *dacl;
	mode_t mode;
	int ret;

	ret = f2_read_inode(f2, ino, &inode);
	if (ret)
		return ret;
	/* Symlinks have neither ACLs nor a umask applied (as in the VFS). */
	if (LINUX_S_ISLNK(inode.i_mode))
		return 0;
	ret = acl_read(f2, dir, F2_ACL_XATTR_DEFAULT, &dacl);
	if (ret)
		return ret;
	mode = inode.i_mode;
	if (!dacl) {
		/* No default ACL: the umask applies, as without ACLs. */
		mode &= ~(umask & 0777);
	} else {
		/* Directories pass the default ACL on unchanged. */
		if (LINUX_S_ISDIR(inode.i_mode)) {
			ret = acl_write(f2, ino, F2_ACL_XATTR_DEFAULT, dacl);
			if (ret)
				goto out;
		}
		if (!f2_acl_create_masq(dacl, &mode)) {
			ret = acl_write(f2, ino, F2_ACL_XATTR_ACCESS, dacl);
			if (ret)
				goto out;
		}
		/* Re-read: storing the ACLs rewrote the inode. */
		ret = f2_read_inode(f2, ino, &inode);
		if (ret)
			goto out;
	}
	if (mode != inode.i_mode) {
		inode.i_mode = mode;
		ret = f2_write_inode(f2, ino, &inode);
	}
out:
	free(dacl);
	return ret;
}

mode_t f2_acl_umask(struct fuse2fs *f2, ext2_ino_t dir, mode_t mode,
		    mode_t umask)
{
	struct f2_acl *dacl;

	/* On a read error the umask applies: the safer of the two. */
	if (acl_read(f2, dir, F2_ACL_XATTR_DEFAULT, &dacl) || !dacl)
		return mode & ~(umask & 0777);
	free(dacl);
	return mode;
}

int f2_acl_chmod(struct fuse2fs *f2, ext2_ino_t ino, mode_t mode)
{
	struct f2_acl_entry *group_obj = NULL, *mask = NULL;
	struct f2_acl *acl;
	unsigned int i;
	int ret;

	ret = acl_read(f2, ino, F2_ACL_XATTR_ACCESS, &acl);
	if (ret || !acl)
		return ret;
	for (i = 0; i < acl->count; i++) {
		struct f2_acl_entry *e = &acl->e[i];

		if (e->tag == F2_ACL_USER_OBJ)
			e->perm = (mode >> 6) & 7;
		else if (e->tag == F2_ACL_OTHER)
			e->perm = mode & 7;
		else if (e->tag == F2_ACL_GROUP_OBJ)
			group_obj = e;
		else if (e->tag == F2_ACL_MASK)
			mask = e;
	}
	if (mask)
		mask->perm = (mode >> 3) & 7;
	else if (group_obj)
		group_obj->perm = (mode >> 3) & 7;
	ret = acl_write(f2, ino, F2_ACL_XATTR_ACCESS, acl);
	free(acl);
	return ret;
}
