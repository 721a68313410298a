// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Test-only hooks, compiled into fuse2fs_hooks (never installed): they
 * let the sandbox tests (tests/fs/test_sandbox.c) make the server do what
 * an exploited server would try, from inside its request loop.
 *
 * getxattr of
 *   trusted.fuse2fs_test.syscall.N   calls system call N with zero
 *                                    arguments;
 *   trusted.fuse2fs_test.open:PATH   opens PATH read-only;
 * answers the value "ok" when the call succeeded, else its errno.  Every
 * other name goes to the real getxattr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "fuse2fs.h"

#define F2_HOOK_PREFIX	"trusted.fuse2fs_test."

static void hook_reply(fuse_req_t req, size_t size, int err)
{
	if (err)
		fuse_reply_err(req, err);
	else if (!size)
		fuse_reply_xattr(req, 2);
	else if (size < 2)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, "ok", 2);
}

void f2_test_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		      size_t size)
{
	const char *what = name + strlen(F2_HOOK_PREFIX);
	long ret;

	if (strncmp(name, F2_HOOK_PREFIX, strlen(F2_HOOK_PREFIX))) {
		f2_op_getxattr(req, ino, name, size);
		return;
	}
	if (!strncmp(what, "syscall.", 8)) {
		ret = syscall(strtol(what + 8, NULL, 10), 0, 0, 0, 0, 0, 0);
		hook_reply(req, size, ret < 0 ? errno : 0);
	} else if (!strncmp(what, "open:", 5)) {
		ret = open(what + 5, O_RDONLY | O_CLOEXEC);
		if (ret >= 0)
			close((int)ret);
		hook_reply(req, size, ret < 0 ? errno : 0);
	} else {
		fuse_reply_err(req, EINVAL);
	}
}
