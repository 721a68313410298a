// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs: fault injection, for tests only.
 *
 * With FUSE2FS_FAULT=N in the environment, the Nth call that reaches the
 * image (an io_channel read, write, flush or zeroout, see iochan.c) or
 * the block allocator (alloc.c) fails: IO with EIO, an allocation as if
 * the disk were full.  Calls are counted from the opening of the image
 * until the inodes unlinked while open have been freed at unmount; the
 * final write-back of bitmaps and superblock is not counted (no order of
 * updates survives that failing; ext4 has its journal for it).  N = 0
 * only counts.  At unmount one line reports the count, so that a test
 * can first count the calls of a workload and then fail each in turn:
 *
 *	fuse2fs: fault injection: 1234 calls, failed call 56 (write)
 *
 * Without the variable this costs one test of a flag per call.
 */
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuse2fs.h"

static bool f2_fault_on;
static unsigned long f2_fault_at, f2_fault_calls;
static const char *f2_fault_what;

void f2_fault_setup(void)
{
	const char *e = getenv("FUSE2FS_FAULT");
	void *trace[2];
	char *end;

	if (!e || !*e)
		return;
	f2_fault_at = strtoul(e, &end, 10);
	if (*end) {
		fprintf(stderr, "fuse2fs: FUSE2FS_FAULT=%s: not a number\n", e);
		return;
	}
	f2_fault_on = true;
	/*
	 * The first backtrace() loads libgcc_s: do it now, before the
	 * sandbox (sandbox.c) forbids opening files.
	 */
	backtrace(trace, 2);
}

bool f2_fault(const char *what)
{
	void *trace[24];
	int n;

	if (!f2_fault_on)
		return false;
	if (++f2_fault_calls != f2_fault_at)
		return false;
	f2_fault_what = what;
	/* Where it failed, for the one reading the test's log. */
	fprintf(stderr, "fuse2fs: fault injection: failing call %lu (%s) at:\n",
		f2_fault_calls, what);
	n = backtrace(trace, 24);
	backtrace_symbols_fd(trace, n, STDERR_FILENO);
	return true;
}

void f2_fault_report(void)
{
	if (!f2_fault_on)
		return;
	f2_fault_on = false;
	fprintf(stderr, "fuse2fs: fault injection: %lu calls, failed call %lu (%s)\n",
		f2_fault_calls, f2_fault_what ? f2_fault_at : 0,
		f2_fault_what ? f2_fault_what : "none");
}
