// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Request screening.  libfuse 3.14 parses request bodies without checking
 * their length against what was received, so a short or lying request
 * would make it read stale buffer contents.  Every request is checked here
 * first; see "Malformed requests" in doc/protocol.md.
 */
#include <errno.h>
#include <string.h>
#include "iomap_priv.h"

/* FORGET-like requests are never answered, whatever happens to them. */
bool fuse_iomap_opcode_replies(uint32_t opcode)
{
	switch (opcode) {
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
	case FUSE_NOTIFY_REPLY:
		return false;
	}
	return true;
}

/* Need nstr NUL-terminated strings in [p, p + len). */
static bool has_strings(const char *p, size_t len, unsigned int nstr)
{
	const char *nul;

	while (nstr--) {
		nul = memchr(p, '\0', len);
		if (!nul)
			return false;
		len -= nul + 1 - p;
		p = nul + 1;
	}
	return true;
}

struct body_rule {
	size_t fixed;		/* struct at the start of the body */
	unsigned int strings;	/* NUL-terminated names after it */
};

static struct body_rule rule_for(const struct fuse_iomap_session *is,
				 uint32_t opcode)
{
	bool old9 = is->proto_minor < 9;
	bool old12 = is->proto_minor < 12;
	bool xattr_ext = is->init_out_flags & FUSE_SETXATTR_EXT;

	switch (opcode) {
	case FUSE_LOOKUP:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_REMOVEXATTR:
		return (struct body_rule){ 0, 1 };
	case FUSE_SYMLINK:
		return (struct body_rule){ 0, 2 };
	case FUSE_FORGET:
		return (struct body_rule){ sizeof(struct fuse_forget_in), 0 };
	case FUSE_BATCH_FORGET:
		return (struct body_rule){
			sizeof(struct fuse_batch_forget_in), 0 };
	case FUSE_GETATTR:
		return (struct body_rule){
			old9 ? 0 : sizeof(struct fuse_getattr_in), 0 };
	case FUSE_SETATTR:
		return (struct body_rule){ sizeof(struct fuse_setattr_in), 0 };
	case FUSE_MKNOD:
		return (struct body_rule){ old12 ? FUSE_COMPAT_MKNOD_IN_SIZE :
				sizeof(struct fuse_mknod_in), 1 };
	case FUSE_MKDIR:
		return (struct body_rule){ sizeof(struct fuse_mkdir_in), 1 };
	case FUSE_RENAME:
		return (struct body_rule){ sizeof(struct fuse_rename_in), 2 };
	case FUSE_RENAME2:
		return (struct body_rule){ sizeof(struct fuse_rename2_in), 2 };
	case FUSE_LINK:
		return (struct body_rule){ sizeof(struct fuse_link_in), 1 };
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		return (struct body_rule){ sizeof(struct fuse_open_in), 0 };
	case FUSE_READ:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
		return (struct body_rule){ old9 ? 24 :
				sizeof(struct fuse_read_in), 0 };
	case FUSE_WRITE:
		return (struct body_rule){ old9 ? FUSE_COMPAT_WRITE_IN_SIZE :
				sizeof(struct fuse_write_in), 0 };
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
		return (struct body_rule){ sizeof(struct fuse_release_in), 0 };
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR:
		return (struct body_rule){ sizeof(struct fuse_fsync_in), 0 };
	case FUSE_SETXATTR:
		return (struct body_rule){ xattr_ext ?
				sizeof(struct fuse_setxattr_in) :
				FUSE_COMPAT_SETXATTR_IN_SIZE, 1 };
	case FUSE_GETXATTR:
		return (struct body_rule){ sizeof(struct fuse_getxattr_in), 1 };
	case FUSE_LISTXATTR:
		return (struct body_rule){ sizeof(struct fuse_getxattr_in), 0 };
	case FUSE_FLUSH:
		return (struct body_rule){ sizeof(struct fuse_flush_in), 0 };
	case FUSE_INIT:
		/* major, minor, max_readahead, flags */
		return (struct body_rule){ 16, 0 };
	case FUSE_GETLK:
	case FUSE_SETLK:
	case FUSE_SETLKW:
		return (struct body_rule){ sizeof(struct fuse_lk_in), 0 };
	case FUSE_ACCESS:
		return (struct body_rule){ sizeof(struct fuse_access_in), 0 };
	case FUSE_CREATE:
	case FUSE_TMPFILE:
		return (struct body_rule){ old12 ? sizeof(struct fuse_open_in) :
				sizeof(struct fuse_create_in), 1 };
	case FUSE_INTERRUPT:
		return (struct body_rule){ sizeof(struct fuse_interrupt_in), 0 };
	case FUSE_BMAP:
		return (struct body_rule){ sizeof(struct fuse_bmap_in), 0 };
	case FUSE_IOCTL:
		return (struct body_rule){ sizeof(struct fuse_ioctl_in), 0 };
	case FUSE_POLL:
		return (struct body_rule){ sizeof(struct fuse_poll_in), 0 };
	case FUSE_NOTIFY_REPLY:
		return (struct body_rule){
			sizeof(struct fuse_notify_retrieve_in), 0 };
	case FUSE_FALLOCATE:
		return (struct body_rule){ sizeof(struct fuse_fallocate_in), 0 };
	case FUSE_LSEEK:
		return (struct body_rule){ sizeof(struct fuse_lseek_in), 0 };
	case FUSE_COPY_FILE_RANGE:
		return (struct body_rule){
			sizeof(struct fuse_copy_file_range_in), 0 };
	}
	/* STATFS, READLINK, DESTROY, unknown opcodes: libfuse reads no body */
	return (struct body_rule){ 0, 0 };
}

/* Checks of payloads whose length a field of the fixed part announces. */
static int check_payload(const struct fuse_iomap_session *is,
			 const struct fuse_in_header *in,
			 const void *body, size_t bodylen, size_t fixed)
{
	const char *rest = (const char *)body + fixed;
	size_t restlen = bodylen - fixed;

	switch (in->opcode) {
	case FUSE_WRITE: {
		const struct fuse_write_in *arg = body;

		return arg->size == restlen ? 0 : -EINVAL;
	}
	case FUSE_SETXATTR: {
		const struct fuse_setxattr_in *arg = body;
		const char *nul = memchr(rest, '\0', restlen);

		if (!nul)
			return -EINVAL;
		return arg->size == restlen - (size_t)(nul + 1 - rest) ?
			0 : -EINVAL;
	}
	case FUSE_BATCH_FORGET: {
		const struct fuse_batch_forget_in *arg = body;

		return (uint64_t)arg->count * sizeof(struct fuse_forget_one) ==
			restlen ? 0 : -EINVAL;
	}
	case FUSE_IOCTL: {
		const struct fuse_ioctl_in *arg = body;

		return arg->in_size == restlen ? 0 : -EINVAL;
	}
	case FUSE_READ:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS: {
		const struct fuse_read_in *arg = body;

		/* a reply larger than the kernel can take is never sent */
		return arg->size <= is->max_read_bytes ? 0 : -EINVAL;
	}
	case FUSE_INIT: {
		const struct fuse_init_in *arg = body;

		/* libfuse reads flags2 whenever FUSE_INIT_EXT is set */
		if (arg->major == 7 && arg->minor >= 36 &&
		    (arg->flags & FUSE_INIT_EXT) && bodylen < sizeof(*arg))
			return -EINVAL;
		return 0;
	}
	}
	return 0;
}

int fuse_iomap_check_request(const struct fuse_iomap_session *is,
			     const struct fuse_in_header *in,
			     const void *body, size_t bodylen)
{
	struct body_rule rule = rule_for(is, in->opcode);

	if (bodylen < rule.fixed)
		return -EINVAL;
	if (!has_strings((const char *)body + rule.fixed,
			 bodylen - rule.fixed, rule.strings))
		return -EINVAL;
	return check_payload(is, in, body, bodylen, rule.fixed);
}
