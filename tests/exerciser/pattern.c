// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The data the exerciser writes.  The file is cut into 8-byte cells at
 * offsets that are multiples of 8; operation N fills cell C (file offset
 * 8 * C) with
 *
 *	bytes 0-3  N, little endian
 *	bytes 4-6  C modulo 2^24, little endian
 *	byte  7    a check byte mixed from N and C, never zero
 *
 * An unaligned write simply writes part of its first and last cells.
 * Any whole cell read back therefore says which operation wrote it and
 * for which offset (up to 128 MiB apart), which the miscompare report
 * prints: an older operation's bytes mean stale data, another offset
 * means misplaced data, and zeroes a lost write.  The check byte keeps
 * random or partly overwritten cells from being taken for pattern data.
 * Operation 0 is the copy source file.
 */
#include <string.h>

#include "exerciser.h"

#define CELL		8
#define CELL_MASK	((1u << 24) - 1)

static uint8_t check_byte(uint32_t nr, uint32_t cell)
{
	uint32_t h = nr * 0x9e3779b1u ^ (cell & CELL_MASK) * 0x85ebca77u;

	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 13;
	return (h & 0x7f) | 0x80;
}

static void make_cell(uint8_t cell[CELL], uint32_t nr, uint64_t index)
{
	uint32_t c = index & CELL_MASK;

	cell[0] = nr;
	cell[1] = nr >> 8;
	cell[2] = nr >> 16;
	cell[3] = nr >> 24;
	cell[4] = c;
	cell[5] = c >> 8;
	cell[6] = c >> 16;
	cell[7] = check_byte(nr, c);
}

void xr_fill(uint8_t *buf, uint64_t off, size_t len, uint32_t nr)
{
	uint8_t cell[CELL];
	size_t done = 0;

	while (done < len) {
		uint64_t pos = off + done;
		size_t skip = pos % CELL;
		size_t n = CELL - skip;

		if (n > len - done)
			n = len - done;
		make_cell(cell, nr, pos / CELL);
		memcpy(buf + done, cell + skip, n);
		done += n;
	}
}

bool xr_decode(const uint8_t *cell, uint32_t *nr, uint64_t *off)
{
	uint32_t n = cell[0] | cell[1] << 8 | cell[2] << 16 |
		     (uint32_t)cell[3] << 24;
	uint32_t c = cell[4] | cell[5] << 8 | cell[6] << 16;

	if (cell[7] != check_byte(n, c))
		return false;
	*nr = n;
	*off = (uint64_t)c * CELL;
	return true;
}

static bool is_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

void xr_describe(FILE *out, const uint8_t *base, size_t len, uint64_t off,
		 uint64_t base_off)
{
	uint64_t cell_off = off - off % CELL;
	const uint8_t *cell = base + (cell_off - base_off);
	uint64_t want = (cell_off / CELL & CELL_MASK) * CELL;
	uint64_t for_off;
	uint32_t nr;

	if (cell_off < base_off || cell_off + CELL > base_off + len) {
		fprintf(out, "(cell cut by the range)");
		return;
	}
	if (is_zero(cell, CELL)) {
		fprintf(out, "zeroes");
		return;
	}
	if (!xr_decode(cell, &nr, &for_off)) {
		fprintf(out, "not exerciser data");
		return;
	}
	if (nr)
		fprintf(out, "op %u's data", nr);
	else
		fprintf(out, "copy source data");
	if (for_off == want)
		fprintf(out, " for this offset");
	else
		fprintf(out, " for offset 0x%llx (mod 128 MiB): misplaced",
			(unsigned long long)for_off);
}
