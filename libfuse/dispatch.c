// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * FUSE_IOMAP_BEGIN/END/IOEND: checked here, handed to the server's
 * callbacks, answered with the reply functions below.  libfuse never sees
 * these opcodes.  The checks are the ones doc/protocol.md lists under
 * "Request validation (server side)" and "Reply validation".
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fuse_log.h>
#include "iomap_priv.h"

/* loff_t is signed: a range may not reach past INT64_MAX. */
static bool range_ok(uint64_t pos, uint64_t len)
{
	return pos <= INT64_MAX && len <= INT64_MAX - pos;
}

static int check_begin(const struct fuse_iomap_begin_in *in)
{
	if (!in->count || !range_ok(in->pos, in->count))
		return -EINVAL;
	if (in->opflags & ~FUSE_IOMAP_OP_ALL || in->padding)
		return -EINVAL;
	return 0;
}

static int check_end(const struct fuse_iomap_end_in *in)
{
	if (!in->count || !range_ok(in->pos, in->count))
		return -EINVAL;
	if (in->written > in->count)
		return -EINVAL;
	if (in->opflags & ~FUSE_IOMAP_OP_ALL || in->padding)
		return -EINVAL;
	if (in->map.type > FUSE_IOMAP_TYPE_MAX ||
	    in->map.flags & ~FUSE_IOMAP_F_ALL)
		return -EINVAL;
	return 0;
}

static int check_ioend(const struct fuse_iomap_ioend_in *in)
{
	if (!range_ok(in->pos, in->written))
		return -EINVAL;
	if (in->flags & ~FUSE_IOMAP_IOEND_ALL)
		return -EINVAL;
	if (in->error > 0 || in->error < -4095)
		return -EINVAL;
	return 0;
}

static size_t body_size(uint32_t opcode)
{
	switch (opcode) {
	case FUSE_IOMAP_BEGIN:
		return sizeof(struct fuse_iomap_begin_in);
	case FUSE_IOMAP_END:
		return sizeof(struct fuse_iomap_end_in);
	default:
		return sizeof(struct fuse_iomap_ioend_in);
	}
}

static int check_request(const struct fuse_iomap_session *is,
			 const struct fuse_in_header *in,
			 const void *body, size_t bodylen)
{
	if (!is->negotiated)
		return -ENOSYS;
	if (bodylen < body_size(in->opcode) || in->nodeid == 0)
		return -EINVAL;
	switch (in->opcode) {
	case FUSE_IOMAP_BEGIN:
		if (!is->ops->begin)
			return -ENOSYS;
		return check_begin(body);
	case FUSE_IOMAP_END:
		if (!is->ops->end)
			return -ENOSYS;
		return check_end(body);
	default:
		if (!is->ops->ioend)
			return -ENOSYS;
		return check_ioend(body);
	}
}

void fuse_iomap_dispatch(struct fuse_iomap_session *is,
			 const struct fuse_in_header *in,
			 const void *body, size_t bodylen)
{
	union {
		struct fuse_iomap_begin_in begin;
		struct fuse_iomap_end_in end;
		struct fuse_iomap_ioend_in ioend;
	} arg;
	struct fuse_iomap_req *req;
	int err;

	err = check_request(is, in, body, bodylen);
	if (err) {
		fuse_iomap_send(is, in->unique, -err, NULL, 0);
		return;
	}
	req = calloc(1, sizeof(*req));
	if (!req) {
		fuse_iomap_send(is, in->unique, ENOMEM, NULL, 0);
		return;
	}
	req->is = is;
	req->unique = in->unique;
	req->opcode = in->opcode;
	req->nodeid = in->nodeid;
	req->ctx.uid = in->uid;
	req->ctx.gid = in->gid;
	req->ctx.pid = in->pid;

	/* an aligned copy: the request buffer is reused by the next read */
	memcpy(&arg, body, body_size(in->opcode));
	switch (in->opcode) {
	case FUSE_IOMAP_BEGIN:
		req->pos = arg.begin.pos;
		req->count = arg.begin.count;
		req->opflags = arg.begin.opflags;
		is->ops->begin(req, in->nodeid, &arg.begin);
		break;
	case FUSE_IOMAP_END:
		is->ops->end(req, in->nodeid, &arg.end);
		break;
	default:
		is->ops->ioend(req, in->nodeid, &arg.ioend);
		break;
	}
}

const struct fuse_ctx *fuse_iomap_req_ctx(fuse_iomap_req_t req)
{
	return &req->ctx;
}

/* Send, then forget the request: every reply function ends here. */
static int finish(fuse_iomap_req_t req, int err, const void *body, size_t len)
{
	int res = fuse_iomap_send(req->is, req->unique, err, body, len);

	free(req);
	return res;
}

/* A write needs blocks (or inline data); direct IO cannot do inline. */
static bool type_suits_op(uint16_t type, uint32_t opflags)
{
	bool report = opflags & (FUSE_IOMAP_OP_ZERO | FUSE_IOMAP_OP_REPORT);

	if (type == FUSE_IOMAP_TYPE_HOLE && !report &&
	    opflags & (FUSE_IOMAP_OP_WRITE | FUSE_IOMAP_OP_WRITEBACK))
		return false;
	if (type == FUSE_IOMAP_TYPE_INLINE && opflags & FUSE_IOMAP_OP_DIRECT)
		return false;
	return true;
}

/*
 * Checks the library can make of a BEGIN mapping; the kernel repeats them
 * and adds the inode block size (doc/protocol.md, "Reply validation").
 */
static int check_mapping(const struct fuse_iomap_req *req,
			 const struct fuse_iomap_mapping *map)
{
	const struct fuse_iomap_device *dev;

	if (map->type > FUSE_IOMAP_TYPE_MAX || map->flags & ~FUSE_IOMAP_F_ALL)
		return -EINVAL;
	if (!map->length || !range_ok(map->offset, map->length))
		return -EINVAL;
	if (req->pos < map->offset || req->pos - map->offset >= map->length)
		return -EINVAL;
	if (!type_suits_op(map->type, req->opflags))
		return -EINVAL;
	switch (map->type) {
	case FUSE_IOMAP_TYPE_INLINE:
		if (map->offset != 0 ||
		    map->length > (uint64_t)sysconf(_SC_PAGESIZE))
			return -EINVAL;
		fallthrough;
	case FUSE_IOMAP_TYPE_HOLE:
		if (map->addr != FUSE_IOMAP_NULL_ADDR || map->dev != 0 ||
		    map->flags & FUSE_IOMAP_F_NEW)
			return -EINVAL;
		return 0;
	}
	dev = fuse_iomap_find_device(req->is, map->dev);
	if (!dev)
		return -EINVAL;
	if (map->addr == FUSE_IOMAP_NULL_ADDR || map->addr % dev->lbs ||
	    map->length % dev->lbs)
		return -EINVAL;
	if (map->addr > dev->size || map->length > dev->size - map->addr)
		return -EINVAL;
	return 0;
}

int fuse_iomap_reply_begin(fuse_iomap_req_t req,
			   const struct fuse_iomap_mapping *map)
{
	return fuse_iomap_reply_begin_cookie(req, map, 0);
}

int fuse_iomap_reply_begin_cookie(fuse_iomap_req_t req,
				  const struct fuse_iomap_mapping *map,
				  uint64_t cookie)
{
	struct fuse_iomap_begin_out out;
	int err;

	if (!req)
		return -EINVAL;
	if (req->opcode != FUSE_IOMAP_BEGIN || !map) {
		finish(req, EIO, NULL, 0);
		return -EINVAL;
	}
	err = check_mapping(req, map);
	if (err) {
		fuse_log(FUSE_LOG_ERR,
			 "fuse-iomap: bad mapping for pos %llu: off %llu len %llu addr %llu type %u flags %u dev %u\n",
			 (unsigned long long)req->pos,
			 (unsigned long long)map->offset,
			 (unsigned long long)map->length,
			 (unsigned long long)map->addr, map->type, map->flags,
			 map->dev);
		finish(req, EIO, NULL, 0);
		return err;
	}
	memset(&out, 0, sizeof(out));
	out.map = *map;
	out.cookie = cookie;
	return finish(req, 0, &out, sizeof(out));
}

int fuse_iomap_reply_end(fuse_iomap_req_t req)
{
	if (!req)
		return -EINVAL;
	if (req->opcode != FUSE_IOMAP_END) {
		finish(req, EIO, NULL, 0);
		return -EINVAL;
	}
	return finish(req, 0, NULL, 0);
}

int fuse_iomap_reply_ioend(fuse_iomap_req_t req, uint64_t new_size)
{
	struct fuse_iomap_ioend_out out = { .size = new_size };

	if (!req)
		return -EINVAL;
	if (req->opcode != FUSE_IOMAP_IOEND || new_size > INT64_MAX) {
		finish(req, EIO, NULL, 0);
		return -EINVAL;
	}
	return finish(req, 0, &out, sizeof(out));
}

int fuse_iomap_reply_err(fuse_iomap_req_t req, int err)
{
	if (!req)
		return -EINVAL;
	if (err <= 0 || err >= 4096) {
		finish(req, EIO, NULL, 0);
		return -EINVAL;
	}
	return finish(req, err, NULL, 0);
}
