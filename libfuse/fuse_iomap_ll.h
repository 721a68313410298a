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
 * per process (libfuse's custom io callbacks cannot tell sessions apart);
 * the loop is single threaded.
 *
 * Before any server code or libfuse parses a request, the library checks
 * its length and fields and answers malformed ones itself; after DESTROY
 * every request gets ESHUTDOWN.  doc/protocol.md section 8.1 lists every
 * case.  Iomap callbacks therefore see only well-formed requests on a
 * negotiated connection: count > 0, pos + count <= INT64_MAX, known flags.
 *
 * Callbacks answer EOPNOTSUPP for an inode not served through iomap and
 * ESTALE when in->attr_ino is not the nodeid's backing inode number.
 *
 * The transport is /dev/fuse, or for tests one end of a SOCK_SEQPACKET
 * socket pair passed as mountpoint "/dev/fd/N" (tests/protocol/wire.h).
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

/*
 * One FUSE_IOMAP_* request; answered exactly once by a reply function,
 * which also frees it (from the callback or later, from the loop's thread).
 */
struct fuse_iomap_req;
typedef struct fuse_iomap_req *fuse_iomap_req_t;

struct fuse_iomap_ops {
	/*
	 * Called once after the FUSE_INIT reply went out; iomap tells
	 * whether FUSE_IOMAP was negotiated.  Register devices here.
	 * Any callback may be NULL: its opcode is then answered ENOSYS.
	 */
	void (*negotiated)(void *userdata, bool iomap);
	void (*begin)(fuse_iomap_req_t req, fuse_ino_t nodeid,
		      const struct fuse_iomap_begin_in *in);
	void (*end)(fuse_iomap_req_t req, fuse_ino_t nodeid,
		    const struct fuse_iomap_end_in *in);
	void (*ioend)(fuse_iomap_req_t req, fuse_ino_t nodeid,
		      const struct fuse_iomap_ioend_in *in);
	/*
	 * Called before each request is handed to libfuse or to the
	 * callbacks above, in the thread that will handle it: a server's
	 * per-request bookkeeping (fuse2fs's watchdog starts the clock).
	 */
	void (*request)(void *userdata, uint32_t opcode);
};

/* Wrap a mounted (or /dev/fd/N attached) session; NULL and errno on error. */
struct fuse_iomap_session *fuse_iomap_session_new(struct fuse_session *se,
		const struct fuse_iomap_ops *ops, void *userdata);
void fuse_iomap_session_destroy(struct fuse_iomap_session *is);

/* Serve requests until the session exits; 0 or a negative errno. */
int fuse_iomap_session_loop(struct fuse_iomap_session *is);

/* Valid from the lowlevel init() callback on (false before INIT). */
bool fuse_iomap_kernel_offered(const struct fuse_iomap_session *is);
/* Ask for FUSE_IOMAP in the INIT reply; only from init(). */
void fuse_iomap_want(struct fuse_iomap_session *is, bool want);
/* True once FUSE_IOMAP was both offered and accepted. */
bool fuse_iomap_negotiated(const struct fuse_iomap_session *is);

/*
 * O_TMPFILE.  libfuse 3.14 answers FUSE_TMPFILE with ENOSYS (after which
 * the kernel fails every O_TMPFILE open with EOPNOTSUPP).  A server that
 * calls fuse_iomap_enable_tmpfile() gets each FUSE_TMPFILE as a call of
 * its lowlevel create() instead, the name being "/", and answers it like
 * a create: fuse_reply_create() or fuse_iomap_reply_create() with a new
 * regular file that has no name and no link count.  Inside create(),
 * fuse_iomap_create_is_tmpfile() tells the two apart.
 */
void fuse_iomap_enable_tmpfile(struct fuse_iomap_session *is);
bool fuse_iomap_create_is_tmpfile(const struct fuse_iomap_session *is);

/*
 * Register a block device opened read-write by the server.  On success
 * stores the device id for mappings in *dev_id and returns 0; otherwise a
 * negative errno (-ENOTBLK when fd is not a block device).  On a transport
 * that is not /dev/fuse (a test harness socket) ids are assigned locally,
 * counting from 1, and regular image files are accepted as well.
 * -EOPNOTSUPP before FUSE_IOMAP was negotiated.  See doc/protocol.md
 * section 6.
 */
int fuse_iomap_add_device(struct fuse_iomap_session *is, int fd,
			  uint32_t *dev_id);

/*
 * Replies to FUSE_IOMAP_* requests; each returns 0 or a negative errno.
 * fuse_iomap_reply_begin() checks the mapping as doc/protocol.md section 7
 * describes, as far as the library can (type, flags, length, overflow,
 * coverage of pos, HOLE/INLINE address and device, registered device,
 * device bounds, logical block alignment, type against the op flags); a
 * bad mapping is answered EIO and -EINVAL returned.  A reply that does not
 * match the request's opcode, or reply_err() with an errno outside
 * 1..4095, is answered EIO too.  reply_err() takes a positive errno.
 */
int fuse_iomap_reply_begin(fuse_iomap_req_t req,
			   const struct fuse_iomap_mapping *map);
/*
 * The same with the file's block map cookie (doc/protocol.md section
 * 10.4): a value that goes up whenever the server changed the file's
 * blocks and never goes down.  reply_begin() sends 0, which is right for
 * a server that never changes blocks behind the kernel's back; a server
 * that sends cookies must send them in every BEGIN reply.
 */
int fuse_iomap_reply_begin_cookie(fuse_iomap_req_t req,
				  const struct fuse_iomap_mapping *map,
				  uint64_t cookie);
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
 * Set FUSE_ATTR_IOMAP only on a connection where fuse_iomap_negotiated()
 * (the kernel ignores it otherwise) and only for regular files.
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
