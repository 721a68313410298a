// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libfuse3-iomap session: wraps a libfuse lowlevel session, intercepts the
 * FUSE_INIT request and reply to negotiate FUSE_IOMAP, screens every
 * request before libfuse parses it, and runs the single threaded loop.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <fuse_log.h>
#include "iomap_priv.h"

struct fuse_iomap_session *fuse_iomap_current;

/* The INIT reply as patched by us; it must outlive the writev call only. */
static struct fuse_init_out init_out_copy;

int fuse_iomap_send(struct fuse_iomap_session *is, uint64_t unique, int error,
		    const void *body, size_t len)
{
	struct fuse_out_header out = {
		.len = sizeof(out) + len,
		.error = -error,
		.unique = unique,
	};
	struct iovec iov[2] = {
		{ .iov_base = &out, .iov_len = sizeof(out) },
		{ .iov_base = (void *)body, .iov_len = len },
	};
	ssize_t res;

	res = writev(is->fd, iov, len ? 2 : 1);
	if (res < 0) {
		/* ENOENT: the kernel dropped an interrupted request */
		if (errno != ENOENT)
			fuse_log(FUSE_LOG_ERR, "fuse-iomap: reply: %s\n",
				 strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Messages shorter than fuse_in_header carry no unique to answer: drop them
 * here, so that libfuse never sees them, and wait for the next one.  End of
 * file on the test socket reads as ENODEV, which libfuse treats as unmount.
 */
static ssize_t iomap_io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n;

	(void)userdata;
	for (;;) {
		n = read(fd, buf, len);
		if (n == 0) {
			errno = ENODEV;
			return -1;
		}
		if (n < 0 || (size_t)n >= sizeof(struct fuse_in_header))
			return n;
		fuse_log(FUSE_LOG_ERR,
			 "fuse-iomap: dropped a %zd byte message (no header)\n",
			 n);
	}
}

/* Add FUSE_IOMAP to the INIT reply libfuse built, if both sides want it. */
static void patch_init_reply(struct fuse_iomap_session *is,
			     struct iovec *iov, int count)
{
	uint64_t flags;

	if (count < 2 || iov[1].iov_len < sizeof(init_out_copy))
		return;
	memcpy(&init_out_copy, iov[1].iov_base, sizeof(init_out_copy));
	if (is->offered && is->want) {
		init_out_copy.flags |= FUSE_INIT_EXT;
		init_out_copy.flags2 |= (uint32_t)(FUSE_IOMAP >> 32);
		is->negotiated = true;
	}
	flags = init_out_copy.flags;
	if (flags & FUSE_INIT_EXT)
		flags |= (uint64_t)init_out_copy.flags2 << 32;
	is->init_out_flags = flags;
	/* the kernel never asks for more than this in one READ */
	is->max_read_bytes = (size_t)sysconf(_SC_PAGESIZE) *
		(flags & FUSE_MAX_PAGES && init_out_copy.max_pages ?
		 init_out_copy.max_pages : FUSE_IOMAP_DEFAULT_MAX_PAGES);
	iov[1].iov_base = &init_out_copy;
}

static ssize_t iomap_io_writev(int fd, struct iovec *iov, int count,
			       void *userdata)
{
	struct fuse_iomap_session *is = fuse_iomap_current;
	bool init_reply = false;
	struct fuse_out_header *out;
	ssize_t res;

	(void)userdata;
	if (is && is->init_pending && count >= 1 &&
	    iov[0].iov_len == sizeof(*out)) {
		out = iov[0].iov_base;
		if (out->unique == is->init_unique && out->error == 0 &&
		    is->proto_major == 7) {
			init_reply = true;
			patch_init_reply(is, iov, count);
		}
	}
	res = writev(fd, iov, count);
	if (init_reply) {
		is->init_pending = false;
		if (res >= 0)
			is->init_done = true;
		else
			is->negotiated = false;
	}
	return res;
}

static const struct fuse_custom_io iomap_io = {
	.read = iomap_io_read,
	.writev = iomap_io_writev,
};

struct fuse_iomap_session *fuse_iomap_session_new(struct fuse_session *se,
		const struct fuse_iomap_ops *ops, void *userdata)
{
	struct fuse_iomap_session *is;
	struct stat st;
	int fd, err;

	if (!se || !ops) {
		errno = EINVAL;
		return NULL;
	}
	if (fuse_iomap_current) {
		errno = EBUSY;	/* one iomap session per process */
		return NULL;
	}
	fd = fuse_session_fd(se);
	if (fd < 0 || fstat(fd, &st) < 0) {
		errno = EBADF;	/* not mounted yet */
		return NULL;
	}
	if (!S_ISCHR(st.st_mode) && !S_ISSOCK(st.st_mode)) {
		errno = EINVAL;
		return NULL;
	}
	is = calloc(1, sizeof(*is));
	if (!is)
		return NULL;
	is->se = se;
	is->ops = ops;
	is->userdata = userdata;
	is->fd = fd;
	is->fuse_dev = S_ISCHR(st.st_mode);
	is->next_dev_id = 1;
	is->max_read_bytes = (size_t)sysconf(_SC_PAGESIZE) *
			     FUSE_IOMAP_DEFAULT_MAX_PAGES;

	err = fuse_session_custom_io(se, &iomap_io, fd);
	if (err) {
		free(is);
		errno = -err;
		return NULL;
	}
	fuse_iomap_current = is;
	return is;
}

void fuse_iomap_session_destroy(struct fuse_iomap_session *is)
{
	if (!is)
		return;
	if (fuse_iomap_current == is)
		fuse_iomap_current = NULL;
	free(is);
}

bool fuse_iomap_kernel_offered(const struct fuse_iomap_session *is)
{
	return is && is->offered;
}

void fuse_iomap_want(struct fuse_iomap_session *is, bool want)
{
	/* only meaningful while libfuse runs the server's init() */
	if (is && is->init_pending)
		is->want = want;
}

bool fuse_iomap_negotiated(const struct fuse_iomap_session *is)
{
	return is && is->negotiated;
}

void fuse_iomap_enable_tmpfile(struct fuse_iomap_session *is)
{
	if (is)
		is->tmpfile = true;
}

bool fuse_iomap_create_is_tmpfile(const struct fuse_iomap_session *is)
{
	return is && is->in_tmpfile;
}

/*
 * FUSE_TMPFILE carries what FUSE_CREATE carries and expects the same
 * reply, so libfuse, which does not know the opcode, is handed a CREATE;
 * the flag lets the server's create() see which it is.  The loop serves
 * one request at a time, and create() is called before this returns.
 */
static void process_tmpfile(struct fuse_iomap_session *is,
			    const struct fuse_buf *fbuf)
{
	struct fuse_in_header *in = fbuf->mem;

	in->opcode = FUSE_CREATE;
	is->in_tmpfile = true;
	fuse_session_process_buf(is->se, fbuf);
	is->in_tmpfile = false;
}

/* Remember what the kernel offered before libfuse answers INIT. */
static void note_init(struct fuse_iomap_session *is,
		      const struct fuse_in_header *in,
		      const void *body, size_t bodylen)
{
	const struct fuse_init_in *arg = body;
	size_t ext_len = offsetof(struct fuse_init_in, flags2) +
			 sizeof(arg->flags2);

	if (is->init_done)
		return;		/* libfuse refuses a second INIT */
	is->proto_major = arg->major;
	is->proto_minor = arg->minor;
	is->offered = arg->major == 7 && arg->minor >= 36 &&
		      bodylen >= ext_len && (arg->flags & FUSE_INIT_EXT) &&
		      (arg->flags2 & (uint32_t)(FUSE_IOMAP >> 32));
	is->want = false;
	is->negotiated = false;
	is->init_unique = in->unique;
	is->init_pending = true;
}

static void reject(struct fuse_iomap_session *is,
		   const struct fuse_in_header *in, int err)
{
	if (fuse_iomap_opcode_replies(in->opcode))
		fuse_iomap_send(is, in->unique, err, NULL, 0);
}

static void handle_request(struct fuse_iomap_session *is,
			   const struct fuse_buf *fbuf)
{
	const struct fuse_in_header *in = fbuf->mem;
	const void *body = in + 1;
	size_t bodylen = fbuf->size - sizeof(*in);
	int err;

	if (in->len != fbuf->size) {
		fuse_log(FUSE_LOG_ERR,
			 "fuse-iomap: opcode %u: header says %u bytes, got %zu\n",
			 in->opcode, in->len, fbuf->size);
		reject(is, in, EINVAL);
		return;
	}
	if (is->destroyed) {
		reject(is, in, ESHUTDOWN);
		return;
	}
	if (is->ops->request)
		is->ops->request(is->userdata, in->opcode);
	switch (in->opcode) {
	case FUSE_IOMAP_BEGIN:
	case FUSE_IOMAP_END:
	case FUSE_IOMAP_IOEND:
		fuse_iomap_dispatch(is, in, body, bodylen);
		return;
	}
	err = fuse_iomap_check_request(is, in, body, bodylen);
	if (err) {
		fuse_log(FUSE_LOG_ERR, "fuse-iomap: opcode %u: malformed\n",
			 in->opcode);
		reject(is, in, -err);
		return;
	}
	if (in->opcode == FUSE_INIT)
		note_init(is, in, body, bodylen);
	if (in->opcode == FUSE_TMPFILE && is->tmpfile && is->init_done) {
		process_tmpfile(is, fbuf);
		return;
	}

	fuse_session_process_buf(is->se, fbuf);

	switch (in->opcode) {
	case FUSE_INIT:
		is->init_pending = false;
		if (is->init_done && !is->negotiated_called) {
			is->negotiated_called = true;
			if (is->ops->negotiated)
				is->ops->negotiated(is->userdata,
						    is->negotiated);
		}
		break;
	case FUSE_DESTROY:
		/* libfuse answers DESTROY before INIT with EIO */
		if (is->init_done)
			is->destroyed = true;
		break;
	}
}

int fuse_iomap_session_loop(struct fuse_iomap_session *is)
{
	struct fuse_buf fbuf = { .mem = NULL };
	int res = 0;

	if (!is)
		return -EINVAL;
	while (!fuse_session_exited(is->se)) {
		res = fuse_session_receive_buf(is->se, &fbuf);
		if (res == -EINTR)
			continue;
		if (res <= 0)
			break;
		/* no splice_receive callback, so the request is in memory */
		if (fbuf.flags & FUSE_BUF_IS_FD) {
			res = -EIO;
			break;
		}
		handle_request(is, &fbuf);
	}
	free(fbuf.mem);
	fuse_session_reset(is->se);
	return res > 0 ? 0 : res;
}
