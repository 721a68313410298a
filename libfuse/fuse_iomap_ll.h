/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libfuse3-iomap: the fuse-iomap protocol (doc/protocol.md) layered on an
 * unmodified libfuse3 (3.14 or later) lowlevel session.
 *
 * Usage, in order:
 *   se = fuse_session_new(...);  fuse_session_mount(se, mnt);
 *   is = fuse_iomap_session_new(se, &iomap_ops, userdata);
 *   ... in the lowlevel init() callback: fuse_iomap_want(is, true) if
 *       fuse_iomap_kernel_offered(is) and the server wants iomap ...
 *   fuse_iomap_session_loop(is);     instead of fuse_session_loop()
 *   fuse_iomap_session_destroy(is);  before fuse_session_destroy()
 *
 * The library intercepts the FUSE_INIT request and reply to negotiate the
 * FUSE_IOMAP capability (libfuse 3.14 cannot express flags2 bits it does
 * not know), dispatches FUSE_IOMAP_* requests to the callbacks below and
 * hands every other request to libfuse's own dispatcher.  One iomap session
 * per process; the loop is single threaded.
 */
#ifndef FUSE_IOMAP_LL_H
#define FUSE_IOMAP_LL_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <fuse_lowlevel.h>
#include <linux/fuse_iomap.h>

struct fuse_iomap_session;

/* One FUSE_IOMAP_* request; answered exactly once by a reply function. */
struct fuse_iomap_req;
typedef struct fuse_iomap_req *fuse_iomap_req_t;

struct fuse_iomap_ops {
	/* Called once after the FUSE_INIT reply went out; iomap tells
	 * whether FUSE_IOMAP was negotiated.  Register devices here. */
	void (*negotiated)(void *userdata, bool iomap);
	void (*begin)(fuse_iomap_req_t req, fuse_ino_t nodeid,
		      const struct fuse_iomap_begin_in *in);
	void (*end)(fuse_iomap_req_t req, fuse_ino_t nodeid,
		    const struct fuse_iomap_end_in *in);
	void (*ioend)(fuse_iomap_req_t req, fuse_ino_t nodeid,
		      const struct fuse_iomap_ioend_in *in);
};

/* Wrap a mounted (or /dev/fd/N attached) session; NULL and errno on error. */
struct fuse_iomap_session *fuse_iomap_session_new(struct fuse_session *se,
		const struct fuse_iomap_ops *ops, void *userdata);
void fuse_iomap_session_destroy(struct fuse_iomap_session *is);

/* Serve requests until the session exits; 0 or a negative errno. */
int fuse_iomap_session_loop(struct fuse_iomap_session *is);

/* Valid from the lowlevel init() callback on. */
bool fuse_iomap_kernel_offered(const struct fuse_iomap_session *is);
/* Ask for FUSE_IOMAP in the INIT reply; only from init(). */
void fuse_iomap_want(struct fuse_iomap_session *is, bool want);
/* True once FUSE_IOMAP was both offered and accepted. */
bool fuse_iomap_negotiated(const struct fuse_iomap_session *is);

/*
 * Register a block device opened read-write by the server.  On success
 * stores the device id for mappings in *dev_id and returns 0; otherwise a
 * negative errno (-ENOTBLK when fd is not a block device).  On a transport
 * that is not /dev/fuse (a test harness socket) ids are assigned locally,
 * counting from 1, as doc/protocol.md describes.
 */
int fuse_iomap_add_device(struct fuse_iomap_session *is, int fd,
			  uint32_t *dev_id);

/* Replies to FUSE_IOMAP_* requests; each returns 0 or a negative errno. */
int fuse_iomap_reply_begin(fuse_iomap_req_t req,
			   const struct fuse_iomap_mapping *map);
int fuse_iomap_reply_end(fuse_iomap_req_t req);
int fuse_iomap_reply_ioend(fuse_iomap_req_t req, uint64_t new_size);
int fuse_iomap_reply_err(fuse_iomap_req_t req, int err);
/* Caller credentials of an iomap request. */
const struct fuse_ctx *fuse_iomap_req_ctx(fuse_iomap_req_t req);

/*
 * Classic replies that also carry fuse_attr.flags (FUSE_ATTR_IOMAP and
 * friends).  Same semantics as fuse_reply_entry(), fuse_reply_create(),
 * fuse_reply_attr() and fuse_add_direntry_plus(); attr_flags is written
 * into fuse_attr.flags as is.  The backing inode number is attr.st_ino.
 */
int fuse_iomap_reply_entry(fuse_req_t req, const struct fuse_entry_param *e,
			   uint32_t attr_flags);
int fuse_iomap_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
			    const struct fuse_file_info *fi,
			    uint32_t attr_flags);
int fuse_iomap_reply_attr(fuse_req_t req, const struct stat *attr,
			  double attr_timeout, uint32_t attr_flags);
size_t fuse_iomap_add_direntry_plus(fuse_req_t req, char *buf, size_t bufsize,
				    const char *name,
				    const struct fuse_entry_param *e, off_t off,
				    uint32_t attr_flags);

#endif /* FUSE_IOMAP_LL_H */
