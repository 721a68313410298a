// SPDX-License-Identifier: GPL-2.0-only
/*
 * evil_server: a libfuse3-iomap server that answers FUSE_IOMAP_BEGIN with
 * broken mappings on purpose, to check that the library refuses to send
 * them (doc/protocol.md sections 7 and 8.2): the test sees EIO, the server
 * sees -EINVAL from the reply function.
 *
 * Usage: evil_server IMAGE /dev/fd/N
 *
 * IMAGE (a regular file, at least 1 MiB) is registered as device 1.  The
 * case is chosen by the BEGIN request's count - 1 (enum evil_case).  The
 * process exits 2 if any library call returned something other than what
 * the case expects, so a test's clean-exit check covers the return values.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fuse_lowlevel.h>
#include "fuse_iomap_ll.h"
#include "evil_cases.h"

static struct fuse_iomap_session *is;
static uint32_t dev_id;
static int image_fd = -1;
static int surprises;

static void expect(const char *what, int got, int want)
{
	if (got == want)
		return;
	fprintf(stderr, "evil_server: %s returned %d, expected %d\n", what,
		got, want);
	surprises++;
}

static void evil_init(void *userdata, struct fuse_conn_info *conn)
{
	uint32_t id;

	(void)userdata;
	(void)conn;
	/* too early: nothing is negotiated while init() runs */
	expect("add_device in init", fuse_iomap_add_device(is, image_fd, &id),
	       -EOPNOTSUPP);
	if (fuse_iomap_kernel_offered(is))
		fuse_iomap_want(is, true);
}

static void evil_negotiated(void *userdata, bool iomap)
{
	int fd;
	uint32_t id;

	(void)userdata;
	if (!iomap)
		return;
	expect("add_device", fuse_iomap_add_device(is, image_fd, &dev_id), 0);
	expect("first device id", dev_id, 1);
	/* a directory is not a block device, nor an image */
	fd = open("/", O_RDONLY | O_DIRECTORY);
	expect("add_device(dir)", fuse_iomap_add_device(is, fd, &id),
	       -ENOTBLK);
	close(fd);
	expect("add_device(-1)", fuse_iomap_add_device(is, -1, &id), -EINVAL);
}

static void evil_begin(fuse_iomap_req_t req, fuse_ino_t nodeid,
		       const struct fuse_iomap_begin_in *in)
{
	struct fuse_iomap_mapping m = {
		.offset = in->pos - in->pos % 4096,
		.length = 4096,
		.addr = in->pos - in->pos % 4096,
		.type = FUSE_IOMAP_TYPE_MAPPED,
		.dev = dev_id,
	};
	struct fuse_iomap_mapping hole = {
		.offset = m.offset, .length = 4096,
		.addr = FUSE_IOMAP_NULL_ADDR, .type = FUSE_IOMAP_TYPE_HOLE,
	};
	int want = -EINVAL;

	(void)nodeid;
	switch (in->count - 1) {
	case EVIL_OK_MAPPED:
		want = 0;
		break;
	case EVIL_BAD_TYPE:
		m.type = FUSE_IOMAP_TYPE_MAX + 1;
		break;
	case EVIL_BAD_FLAGS:
		m.flags = 0x80;
		break;
	case EVIL_ZERO_LENGTH:
		m.length = 0;
		break;
	case EVIL_NOT_COVERING:
		m.offset += 4096;
		m.addr += 4096;
		break;
	case EVIL_OVERFLOW:
		m.length = UINT64_MAX - 4095;
		break;
	case EVIL_HOLE_WITH_ADDR:
		m = hole;
		m.addr = 0;
		break;
	case EVIL_HOLE_WITH_DEV:
		m = hole;
		m.dev = dev_id;
		break;
	case EVIL_UNKNOWN_DEV:
		m.dev = dev_id + 7;
		break;
	case EVIL_PAST_DEVICE:
		m.addr = 1ULL << 40;
		break;
	case EVIL_MISALIGNED:
		m.addr += 1;
		break;
	case EVIL_NULL_ADDR:
		m.addr = FUSE_IOMAP_NULL_ADDR;
		break;
	case EVIL_HOLE_FOR_WRITE:
		/* refused for writes, fine for reads and zeroing */
		m = hole;
		if (!(in->opflags & (FUSE_IOMAP_OP_WRITE |
				     FUSE_IOMAP_OP_WRITEBACK)) ||
		    in->opflags & (FUSE_IOMAP_OP_ZERO | FUSE_IOMAP_OP_REPORT))
			want = 0;
		break;
	case EVIL_INLINE_DIRECT:
		/* refused for direct IO only */
		m = hole;
		m.type = FUSE_IOMAP_TYPE_INLINE;
		m.offset = 0;
		m.length = 100;
		if (!(in->opflags & FUSE_IOMAP_OP_DIRECT))
			want = 0;
		break;
	case EVIL_HOLE_NEW:
		m = hole;
		m.flags = FUSE_IOMAP_F_NEW;
		break;
	case EVIL_INLINE_TOO_BIG:
		m = hole;
		m.type = FUSE_IOMAP_TYPE_INLINE;
		m.offset = 0;
		m.length = 1 << 20;
		break;
	case EVIL_ERR_ZERO:
		expect("reply_err(0)", fuse_iomap_reply_err(req, 0), -EINVAL);
		return;
	case EVIL_ERR_HUGE:
		expect("reply_err(5000)", fuse_iomap_reply_err(req, 5000),
		       -EINVAL);
		return;
	case EVIL_WRONG_REPLY:
		expect("reply_end to BEGIN", fuse_iomap_reply_end(req),
		       -EINVAL);
		return;
	case EVIL_OK_HOLE:
		m = hole;
		want = 0;
		break;
	case EVIL_OK_INLINE:
		m = hole;
		m.type = FUSE_IOMAP_TYPE_INLINE;
		m.offset = 0;
		m.length = 100;
		want = 0;
		break;
	case EVIL_ERRNO:
		expect("reply_err(ENOSPC)", fuse_iomap_reply_err(req, ENOSPC),
		       0);
		return;
	default:
		expect("known case", 0, 1);
		fuse_iomap_reply_err(req, EIO);
		return;
	}
	expect("reply_begin", fuse_iomap_reply_begin(req, &m), want);
}

static void evil_end(fuse_iomap_req_t req, fuse_ino_t nodeid,
		     const struct fuse_iomap_end_in *in)
{
	(void)nodeid;
	(void)in;
	/* an IOEND reply to an END request */
	expect("reply_ioend to END", fuse_iomap_reply_ioend(req, 1), -EINVAL);
}

static void evil_ioend(fuse_iomap_req_t req, fuse_ino_t nodeid,
		       const struct fuse_iomap_ioend_in *in)
{
	(void)nodeid;
	if (in->pos == 0)
		expect("reply_ioend", fuse_iomap_reply_ioend(req, 4096), 0);
	else	/* a size loff_t cannot hold */
		expect("reply_ioend(huge)",
		       fuse_iomap_reply_ioend(req, UINT64_MAX), -EINVAL);
}

static const struct fuse_lowlevel_ops evil_ll_ops = {
	.init = evil_init,
};

static const struct fuse_iomap_ops evil_iomap_ops = {
	.negotiated = evil_negotiated,
	.begin = evil_begin,
	.end = evil_end,
	.ioend = evil_ioend,
};

int main(int argc, char *argv[])
{
	char *fargv[] = { argv[0], NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, fargv);
	struct fuse_session *se;
	int ret = 1;

	if (argc != 3) {
		fprintf(stderr, "Usage: %s IMAGE /dev/fd/N\n", argv[0]);
		return 1;
	}
	image_fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (image_fd < 0) {
		perror(argv[1]);
		return 1;
	}
	se = fuse_session_new(&args, &evil_ll_ops, sizeof(evil_ll_ops), NULL);
	if (!se)
		goto out;
	if (fuse_session_mount(se, argv[2]))
		goto out_session;
	is = fuse_iomap_session_new(se, &evil_iomap_ops, NULL);
	if (!is)
		goto out_session;
	/* a second session in the same process is refused */
	expect("second session",
	       fuse_iomap_session_new(se, &evil_iomap_ops, NULL) ? 0 : errno,
	       EBUSY);
	ret = fuse_iomap_session_loop(is) ? 1 : 0;
	fuse_iomap_session_destroy(is);
out_session:
	fuse_session_destroy(se);
out:
	fuse_opt_free_args(&args);
	close(image_fd);
	if (surprises)
		ret = 2;
	return ret;
}
