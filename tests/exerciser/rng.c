// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The exerciser's random numbers: xorshift64*, seeded from the command
 * line, so that a run is reproduced from its seed on any machine (the C
 * library's generators differ between implementations).
 */
#include "exerciser.h"

uint64_t xr_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint64_t xr_below(uint64_t *state, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)xr_rand(state) * n) >> 64);
}
