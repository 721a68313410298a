// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The operations on the file's size and allocation: truncate, every
 * fallocate mode, fsync/fdatasync and reopening (with or without
 * O_TRUNC), and what each does to the shadow.
 */
#include <fcntl.h>
#include <unistd.h>
#include <linux/falloc.h>

#include "exerciser.h"

int xr_do_truncate(struct xr_state *st, struct xr_op *op)
{
	if (ftruncate(st->fd, op->len))
		return xr_fail_op(st, op, "ftruncate");
	xr_shadow_resize(st, op->len);
	return 0;
}

int xr_falloc_mode(enum xr_kind kind)
{
	switch (kind) {
	case XR_FALLOC_KEEP:
		return FALLOC_FL_KEEP_SIZE;
	case XR_PUNCH:
		return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	case XR_ZERO:
		return FALLOC_FL_ZERO_RANGE;
	case XR_ZERO_KEEP:
		return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	case XR_COLLAPSE:
		return FALLOC_FL_COLLAPSE_RANGE;
	case XR_INSERT:
		return FALLOC_FL_INSERT_RANGE;
	default:
		return 0;
	}
}

int xr_do_fallocate(struct xr_state *st, struct xr_op *op)
{
	int mode = xr_falloc_mode(op->kind);
	uint64_t end = op->off + op->len;
	/* the part of the range inside the file */
	uint64_t in_end = end < st->size ? end : st->size;

	if (fallocate(st->fd, mode, op->off, op->len))
		return xr_fail_op(st, op, "fallocate");
	switch (op->kind) {
	case XR_PUNCH:
	case XR_ZERO:
	case XR_ZERO_KEEP:
		if (op->off < in_end)
			xr_shadow_zero(st, op->off, in_end - op->off);
		break;
	case XR_COLLAPSE:
		xr_shadow_collapse(st, op->off, op->len);
		break;
	case XR_INSERT:
		xr_shadow_insert(st, op->off, op->len);
		break;
	default:
		break;
	}
	/* what lies past the old end of the file is zero in the shadow */
	if (!(mode & FALLOC_FL_KEEP_SIZE) && op->kind != XR_COLLAPSE &&
	    op->kind != XR_INSERT && end > st->size)
		xr_shadow_resize(st, end);
	return 0;
}

int xr_do_sync(struct xr_state *st, struct xr_op *op)
{
	if (op->kind == XR_FSYNC ? fsync(st->fd) : fdatasync(st->fd))
		return xr_fail_op(st, op, xr_kind_name(op->kind));
	return 0;
}

int xr_do_reopen(struct xr_state *st, struct xr_op *op)
{
	bool trunc = op->kind == XR_REOPEN_TRUNC;

	xr_close_files(st);
	if (xr_open_files(st, trunc ? O_TRUNC : 0))
		return xr_fail_op(st, op, "open");
	if (trunc)
		xr_shadow_resize(st, 0);
	return 0;
}
