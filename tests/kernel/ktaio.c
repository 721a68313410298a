// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libaio helper of the guest tests; see ktaio.h.
 */
#include <stdio.h>
#include <string.h>

#include "ktaio.h"

int kt_aio_reap(io_context_t ctx, int n)
{
	struct io_event ev[64];
	int done = 0, bad = 0, i;

	while (done < n) {
		int want = n - done < 64 ? n - done : 64;
		int got = io_getevents(ctx, 1, want, ev, NULL);

		if (got <= 0) {
			fprintf(stderr, "# io_getevents after %d of %d: %s\n",
				done, n, got ? strerror(-got) : "nothing");
			return -1;
		}
		for (i = 0; i < got; i++) {
			struct iocb *cb = ev[i].obj;

			if (ev[i].res == cb->u.c.nbytes)
				continue;
			fprintf(stderr, "# aio of %lu bytes at %lld: result %ld\n",
				cb->u.c.nbytes, cb->u.c.offset, (long)ev[i].res);
			bad = 1;
		}
		done += got;
	}
	return bad ? -1 : 0;
}
