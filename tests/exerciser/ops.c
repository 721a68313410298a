// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Choosing the next operation: a kind drawn by weight among those that
 * are on and supported, then offsets and lengths drawn so that both the
 * easy cases (aligned, inside the file) and the awkward ones (a few bytes,
 * straddling a block or the end of the file, far past it) come up often.
 * xr_op_fits() states every kind's rules once; generation draws until they
 * hold and replay skips the operations that break them.
 */
#include "exerciser.h"

#define MAX_TRIES	1000

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t round_down(uint64_t x, uint64_t align)
{
	return x - x % align;
}

/* A length in [1, max]: now and then tiny or whole blocks. */
static uint64_t draw_len(struct xr_state *st, uint64_t max)
{
	uint64_t blocks = max / st->block;

	if (!max)
		return 0;
	switch (xr_below(&st->rng, 8)) {
	case 0:
		return 1 + xr_below(&st->rng, min_u64(max, 16));
	case 1:
	case 2:
		if (blocks)
			return st->block * (1 + xr_below(&st->rng, blocks));
		break;
	}
	return 1 + xr_below(&st->rng, max);
}

/* An offset in [0, limit): anywhere, in the file, at its end, aligned. */
static uint64_t draw_off(struct xr_state *st, uint64_t limit)
{
	uint64_t off;

	if (!limit)
		return 0;
	switch (xr_below(&st->rng, 4)) {
	case 0:	/* around the end of the file */
		off = st->size + xr_below(&st->rng, 4 * st->block);
		off = off > 2 * st->block ? off - 2 * st->block : 0;
		break;
	case 1:	/* inside the file */
		off = st->size ? xr_below(&st->rng, st->size) : 0;
		break;
	case 2:
		off = round_down(xr_below(&st->rng, limit), st->block);
		break;
	default:
		off = xr_below(&st->rng, limit);
	}
	return off < limit ? off : xr_below(&st->rng, limit);
}

/* A length and an offset for an operation ending at most at end. */
static void draw_range(struct xr_state *st, struct xr_op *op, uint64_t end)
{
	op->len = draw_len(st, min_u64(st->cfg->max_len, end));
	op->off = draw_off(st, end - op->len + 1);
}

/* The same in whole units of align (blocks, O_DIRECT alignment). */
static void draw_aligned(struct xr_state *st, struct xr_op *op, uint64_t end,
			 uint64_t align)
{
	uint64_t units = min_u64(st->cfg->max_len, end) / align;

	op->len = units ? align * (1 + xr_below(&st->rng, units)) : 0;
	op->off = round_down(draw_off(st, end - op->len + 1), align);
}

static void draw_truncate(struct xr_state *st, struct xr_op *op)
{
	uint64_t max = st->cfg->max_size;

	switch (xr_below(&st->rng, 4)) {
	case 0:	/* a little shorter or longer, often mid-block */
		op->len = st->size + xr_below(&st->rng, 2 * st->block);
		op->len = op->len > st->block ? op->len - st->block : 0;
		break;
	case 1:
		op->len = round_down(xr_below(&st->rng, max + 1), st->block);
		break;
	default:
		op->len = xr_below(&st->rng, max + 1);
	}
	op->len = min_u64(op->len, max);
}

static void draw_copy(struct xr_state *st, struct xr_op *op, uint64_t from)
{
	op->src = from ? xr_below(&st->rng, from) : 0;
	op->len = draw_len(st, min_u64(st->cfg->max_len, from - op->src));
	if (xr_below(&st->rng, 4) == 0) {
		/* now and then a copy the file system could share blocks for */
		op->src = round_down(op->src, st->block);
		op->len = st->block * (1 + op->len / st->block);
	}
	op->off = op->len <= st->cfg->max_size ?
		  draw_off(st, st->cfg->max_size - op->len + 1) : 0;
}

static void draw_params(struct xr_state *st, struct xr_op *op)
{
	uint64_t max = st->cfg->max_size;
	uint64_t inside = st->size ? (st->size - 1) / st->block : 0;
	uint64_t units;

	op->off = op->len = op->src = 0;
	op->flags = 0;
	switch (op->kind) {
	case XR_READ:
	case XR_NOWAIT_READ:
		/* reading past the end is fine: a short read */
		op->len = draw_len(st, st->cfg->max_len);
		op->off = draw_off(st, st->size + 2 * st->block);
		break;
	case XR_MAPREAD:
		draw_range(st, op, st->size);
		break;
	case XR_MAPWRITE:
		/* leave dirty pages behind for later operations to meet */
		op->flags = xr_below(&st->rng, 4) ? 0 : XR_F_MSYNC;
		draw_range(st, op, max);
		break;
	case XR_WRITE:
	case XR_FALLOC:
	case XR_FALLOC_KEEP:
	case XR_PUNCH:
	case XR_ZERO:
	case XR_ZERO_KEEP:
		draw_range(st, op, max);
		break;
	case XR_TRUNCATE:
		draw_truncate(st, op);
		break;
	case XR_COLLAPSE:
		/* whole blocks, ending before the end of the file */
		units = min_u64(inside, st->cfg->max_len / st->block);
		if (!units)
			break;
		op->len = st->block * (1 + xr_below(&st->rng, units));
		op->off = st->block *
			  xr_below(&st->rng, inside - op->len / st->block + 1);
		break;
	case XR_INSERT:
		/* whole blocks, at a block inside the file */
		units = min_u64(st->cfg->max_len, max - st->size) / st->block;
		if (!units || !st->size)
			break;
		op->len = st->block * (1 + xr_below(&st->rng, units));
		op->off = st->block * xr_below(&st->rng, inside + 1);
		break;
	case XR_DREAD:
		draw_aligned(st, op, st->size + 2 * st->dio_align,
			     st->dio_align);
		break;
	case XR_DWRITE:
		draw_aligned(st, op, max, st->dio_align);
		break;
	case XR_COPY:
		draw_copy(st, op, st->src_size);
		break;
	case XR_COPY_SELF:
		draw_copy(st, op, st->size);
		break;
	default:
		break;
	}
}

static bool aligned(uint64_t x, uint64_t align)
{
	return x % align == 0;
}

bool xr_op_fits(const struct xr_state *st, const struct xr_op *op)
{
	uint64_t max = st->cfg->max_size, end = op->off + op->len;
	uint64_t blk = st->block;

	if (op->len > st->cfg->max_len || end < op->off)
		return op->kind == XR_TRUNCATE && op->len <= max;
	switch (op->kind) {
	case XR_READ:
	case XR_NOWAIT_READ:
		return true;
	case XR_MAPREAD:
		return op->len && end <= st->size;
	case XR_WRITE:
	case XR_MAPWRITE:
	case XR_FALLOC:
	case XR_FALLOC_KEEP:
	case XR_PUNCH:
	case XR_ZERO:
	case XR_ZERO_KEEP:
		return op->len && end <= max;
	case XR_TRUNCATE:
		return op->len <= max;
	case XR_COLLAPSE:
		return op->len && aligned(op->off, blk) &&
		       aligned(op->len, blk) && end < st->size;
	case XR_INSERT:
		return op->len && aligned(op->off, blk) &&
		       aligned(op->len, blk) && op->off < st->size &&
		       st->size + op->len <= max;
	case XR_DREAD:
		return op->len && aligned(op->off, st->dio_align) &&
		       aligned(op->len, st->dio_align);
	case XR_DWRITE:
		return op->len && aligned(op->off, st->dio_align) &&
		       aligned(op->len, st->dio_align) && end <= max;
	case XR_COPY:
		return op->len && op->src + op->len <= st->src_size &&
		       end <= max;
	case XR_COPY_SELF:
		/* the kernel refuses overlapping ranges within one file */
		return op->len && op->src + op->len <= st->size &&
		       end <= max &&
		       (end <= op->src || op->src + op->len <= op->off);
	default:
		return true;
	}
}

static bool kind_runs(const struct xr_state *st, int k)
{
	return st->cfg->weight[k] && st->supported[k];
}

int xr_generate(struct xr_state *st, uint64_t nr, struct xr_op *op)
{
	uint64_t total = 0, pick;
	int k, tries;

	for (k = 0; k < XR_NR_KINDS; k++)
		if (kind_runs(st, k))
			total += st->cfg->weight[k];
	if (!total)
		return -1;
	for (tries = 0; tries < MAX_TRIES; tries++) {
		pick = xr_below(&st->rng, total);
		for (k = 0; k < XR_NR_KINDS; k++) {
			if (!kind_runs(st, k))
				continue;
			if (pick < st->cfg->weight[k])
				break;
			pick -= st->cfg->weight[k];
		}
		op->nr = nr;
		op->kind = k;
		draw_params(st, op);
		if (xr_op_fits(st, op))
			return 0;
	}
	return -1;
}
