// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Replies that carry struct fuse_attr, built here because libfuse 3.14
 * always writes 0 into fuse_attr.flags.  Field by field they mean what
 * libfuse's fuse_reply_entry(), fuse_reply_create(), fuse_reply_attr() and
 * fuse_add_direntry_plus() send; only attr.flags differs.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/uio.h>
#include "iomap_priv.h"

/* Seconds and nanoseconds of a timeout in seconds, clamped like libfuse. */
static uint64_t timeout_sec(double t)
{
	if (t > (double)ULONG_MAX)
		return ULONG_MAX;
	if (t < 0.0)
		return 0;
	return (unsigned long)t;
}

static uint32_t timeout_nsec(double t)
{
	double frac = t - (double)timeout_sec(t);

	if (frac < 0.0)
		return 0;
	if (frac >= 0.999999999)
		return 999999999;
	return (uint32_t)(frac * 1.0e9);
}

static void fill_attr(struct fuse_attr *a, const struct stat *st,
		      uint32_t attr_flags)
{
	memset(a, 0, sizeof(*a));
	a->ino = st->st_ino;
	a->size = st->st_size;
	a->blocks = st->st_blocks;
	a->atime = st->st_atim.tv_sec;
	a->mtime = st->st_mtim.tv_sec;
	a->ctime = st->st_ctim.tv_sec;
	a->atimensec = st->st_atim.tv_nsec;
	a->mtimensec = st->st_mtim.tv_nsec;
	a->ctimensec = st->st_ctim.tv_nsec;
	a->mode = st->st_mode;
	a->nlink = st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->rdev = st->st_rdev;
	a->blksize = st->st_blksize;
	a->flags = attr_flags;
}

static void fill_entry(struct fuse_entry_out *out,
		       const struct fuse_entry_param *e, uint32_t attr_flags)
{
	memset(out, 0, sizeof(*out));
	out->nodeid = e->ino;
	out->generation = e->generation;
	out->entry_valid = timeout_sec(e->entry_timeout);
	out->entry_valid_nsec = timeout_nsec(e->entry_timeout);
	out->attr_valid = timeout_sec(e->attr_timeout);
	out->attr_valid_nsec = timeout_nsec(e->attr_timeout);
	fill_attr(&out->attr, &e->attr, attr_flags);
}

/* Kernels before 7.9 expect the shorter structs. */
static bool old_proto(void)
{
	return fuse_iomap_current && fuse_iomap_current->proto_minor < 9;
}

static int send_body(fuse_req_t req, void *body, size_t len)
{
	/* fuse_reply_iov() puts the out header in front */
	struct iovec iov = { .iov_base = body, .iov_len = len };

	return fuse_reply_iov(req, &iov, 1);
}

int fuse_iomap_reply_entry(fuse_req_t req, const struct fuse_entry_param *e,
			   uint32_t attr_flags)
{
	struct fuse_entry_out out;

	if (!e)
		return fuse_reply_err(req, EIO);
	fill_entry(&out, e, attr_flags);
	return send_body(req, &out,
			 old_proto() ? FUSE_COMPAT_ENTRY_OUT_SIZE : sizeof(out));
}

int fuse_iomap_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
			    const struct fuse_file_info *fi,
			    uint32_t attr_flags)
{
	struct {
		struct fuse_entry_out entry;
		struct fuse_open_out open;
	} out;
	size_t entry_size = old_proto() ? FUSE_COMPAT_ENTRY_OUT_SIZE :
					  sizeof(out.entry);
	struct iovec iov[2];

	if (!e || !fi)
		return fuse_reply_err(req, EIO);
	fill_entry(&out.entry, e, attr_flags);
	memset(&out.open, 0, sizeof(out.open));
	out.open.fh = fi->fh;
	if (fi->direct_io)
		out.open.open_flags |= FOPEN_DIRECT_IO;
	if (fi->keep_cache)
		out.open.open_flags |= FOPEN_KEEP_CACHE;
	if (fi->cache_readdir)
		out.open.open_flags |= FOPEN_CACHE_DIR;
	if (fi->nonseekable)
		out.open.open_flags |= FOPEN_NONSEEKABLE;
	if (fi->noflush)
		out.open.open_flags |= FOPEN_NOFLUSH;

	iov[0].iov_base = &out.entry;
	iov[0].iov_len = entry_size;
	iov[1].iov_base = &out.open;
	iov[1].iov_len = sizeof(out.open);
	return fuse_reply_iov(req, iov, 2);
}

int fuse_iomap_reply_attr(fuse_req_t req, const struct stat *attr,
			  double attr_timeout, uint32_t attr_flags)
{
	struct fuse_attr_out out;

	if (!attr)
		return fuse_reply_err(req, EIO);
	memset(&out, 0, sizeof(out));
	out.attr_valid = timeout_sec(attr_timeout);
	out.attr_valid_nsec = timeout_nsec(attr_timeout);
	fill_attr(&out.attr, attr, attr_flags);
	return send_body(req, &out,
			 old_proto() ? FUSE_COMPAT_ATTR_OUT_SIZE : sizeof(out));
}

size_t fuse_iomap_add_direntry_plus(fuse_req_t req, char *buf, size_t bufsize,
				    const char *name,
				    const struct fuse_entry_param *e, off_t off,
				    uint32_t attr_flags)
{
	size_t namelen = strlen(name);
	size_t entlen = FUSE_NAME_OFFSET_DIRENTPLUS + namelen;
	size_t padded = FUSE_DIRENT_ALIGN(entlen);
	struct fuse_direntplus dp;

	(void)req;
	if (!buf || padded > bufsize)
		return padded;

	/* buf need not be aligned: build the fixed part aside, then copy */
	fill_entry(&dp.entry_out, e, attr_flags);
	dp.dirent.ino = e->attr.st_ino;
	dp.dirent.off = off;
	dp.dirent.namelen = namelen;
	dp.dirent.type = (e->attr.st_mode & S_IFMT) >> 12;
	memcpy(buf, &dp, FUSE_NAME_OFFSET_DIRENTPLUS);
	memcpy(buf + FUSE_NAME_OFFSET_DIRENTPLUS, name, namelen);
	memset(buf + entlen, 0, padded - entlen);
	return padded;
}
