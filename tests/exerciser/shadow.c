// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The shadow copy: what the file must read as.  It is cfg->max_size bytes
 * long and always zero past the file's size, so that growing the file
 * (truncate up, a write past the end, fallocate) needs no zeroing here.
 */
#include <string.h>

#include "exerciser.h"

void xr_shadow_write(struct xr_state *st, uint64_t off, const uint8_t *data,
		     uint64_t len)
{
	memcpy(st->shadow + off, data, len);
	if (off + len > st->size)
		st->size = off + len;
}

void xr_shadow_zero(struct xr_state *st, uint64_t off, uint64_t len)
{
	memset(st->shadow + off, 0, len);
}

void xr_shadow_resize(struct xr_state *st, uint64_t size)
{
	if (size < st->size)
		memset(st->shadow + size, 0, st->size - size);
	st->size = size;
}

void xr_shadow_collapse(struct xr_state *st, uint64_t off, uint64_t len)
{
	memmove(st->shadow + off, st->shadow + off + len,
		st->size - off - len);
	xr_shadow_resize(st, st->size - len);
}

void xr_shadow_insert(struct xr_state *st, uint64_t off, uint64_t len)
{
	memmove(st->shadow + off + len, st->shadow + off, st->size - off);
	memset(st->shadow + off, 0, len);
	st->size += len;
}
