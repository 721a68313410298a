/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libfuse3-iomap internals shared by the library's source files.  Nothing
 * here is installed.
 */
#ifndef FUSE_IOMAP_PRIV_H
#define FUSE_IOMAP_PRIV_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/uio.h>
#include <linux/fuse.h>
#include "fuse_iomap_ll.h"

/* Enough for any realistic server; the kernel itself hands out ids freely. */
#define FUSE_IOMAP_MAX_DEVICES	64
/* the kernel's request size limit when INIT did not negotiate max_pages */
#define FUSE_IOMAP_DEFAULT_MAX_PAGES	32

struct fuse_iomap_device {
	uint32_t id;
	uint32_t lbs;		/* logical block size, bytes */
	uint64_t size;		/* bytes */
};

struct fuse_iomap_session {
	struct fuse_session *se;
	const struct fuse_iomap_ops *ops;
	void *userdata;
	int fd;
	/* the transport is /dev/fuse (not a harness socket) */
	bool fuse_dev;

	/* INIT: what the kernel said and what we answered */
	uint32_t proto_major;
	uint32_t proto_minor;
	bool offered;
	bool want;
	bool negotiated;
	bool init_pending;	/* INIT request handed to libfuse */
	uint64_t init_unique;
	bool init_done;		/* a successful INIT reply went out */
	bool negotiated_called;
	uint64_t init_out_flags;	/* 64-bit flags of the INIT reply */
	size_t max_read_bytes;	/* READ/READDIR size limit, from INIT */

	bool destroyed;		/* DESTROY was answered */

	bool tmpfile;		/* FUSE_TMPFILE goes to create() */
	bool in_tmpfile;	/* create() is running for a FUSE_TMPFILE */

	unsigned int ndevices;
	uint32_t next_dev_id;	/* socket transport only */
	struct fuse_iomap_device devices[FUSE_IOMAP_MAX_DEVICES];
};

struct fuse_iomap_req {
	struct fuse_iomap_session *is;
	uint64_t unique;
	uint32_t opcode;
	uint64_t nodeid;
	struct fuse_ctx ctx;
	/* BEGIN's range, to check the mapping the server returns */
	uint64_t pos;
	uint64_t count;
	uint32_t opflags;
};

/*
 * The one iomap session of this process (libfuse's custom io callbacks
 * receive the server's userdata, not ours).
 */
extern struct fuse_iomap_session *fuse_iomap_current;

/* session.c */
int fuse_iomap_send(struct fuse_iomap_session *is, uint64_t unique, int error,
		    const void *body, size_t len);

/* validate.c: 0 when libfuse may safely parse the request, else -errno */
int fuse_iomap_check_request(const struct fuse_iomap_session *is,
			     const struct fuse_in_header *in,
			     const void *body, size_t bodylen);
bool fuse_iomap_opcode_replies(uint32_t opcode);

/* dispatch.c */
void fuse_iomap_dispatch(struct fuse_iomap_session *is,
			 const struct fuse_in_header *in,
			 const void *body, size_t bodylen);

/* device.c */
const struct fuse_iomap_device *
fuse_iomap_find_device(const struct fuse_iomap_session *is, uint32_t id);

#ifndef fallthrough
#define fallthrough __attribute__((__fallthrough__))
#endif

#endif /* FUSE_IOMAP_PRIV_H */
