/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared bits of the xattr, ACL, fallocate, seek and chattr suites.
 *
 * FSEXT_FIXTURE(fx, mkfs_opts) is TFS_FIXTURE_BOTH with fuse2fs mounted
 * "-o allow_other", so tests can also act as an unprivileged user (FUSE
 * refuses every other user without it), and the test directory opened up
 * for that user.  Every TEST_F runs as variant "fuse2fs" and as variant
 * "ext4" (kernel ext4 on a loop device): the expectations a test states
 * are checked against ext4 itself.
 */
#ifndef TESTS_FS_FSEXT_H
#define TESTS_FS_FSEXT_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mount_helpers.h"

/* The unprivileged user the suites act as. */
#define FSEXT_UID	1000
#define FSEXT_GID	1000

#define FSEXT_FIXTURE(fx, mkfs_opts)					\
	FIXTURE(fx) {							\
		struct tfs_env env;					\
		struct tfs_mount *m;					\
	};								\
	FIXTURE_VARIANT(fx) {						\
		bool kernel;						\
	};								\
	FIXTURE_VARIANT_ADD(fx, fuse2fs) { .kernel = false };		\
	FIXTURE_VARIANT_ADD(fx, ext4) { .kernel = true };		\
	FIXTURE_SETUP(fx)						\
	{								\
		TFS_SKIP_UNLESS_MOUNTABLE();				\
		umask(0);						\
		ASSERT_EQ(0, tfs_env_init(&self->env));			\
		ASSERT_EQ(0, chmod(self->env.dir, 0755));		\
		ASSERT_EQ(0, tfs_mkfs(self->env.image, (mkfs_opts)));	\
		if (variant->kernel) {					\
			self->m = &self->env.kern;			\
			ASSERT_EQ(0, tfs_mount_kernel(self->m,		\
					self->env.image, NULL, NULL));	\
		} else {						\
			self->m = &self->env.fuse;			\
			ASSERT_EQ(0, tfs_mount_fuse(self->m,		\
					self->env.image, "allow_other")); \
		}							\
	}								\
	FIXTURE_TEARDOWN(fx)						\
	{								\
		tfs_env_cleanup(&self->env);				\
	}

/*
 * Run fn(arg) in a child process with uid/gid FSEXT_UID/FSEXT_GID and no
 * supplementary groups.  fn returns 0 when everything it checked held,
 * else a small number naming the failed check (it should also print a
 * "# " line).  Returns that number, or 255 when the child could not run.
 */
static inline int fsext_as_user(int (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return 255;
	if (!pid) {
		if (setgroups(0, NULL) || setgid(FSEXT_GID) ||
		    setuid(FSEXT_UID))
			_exit(255);
		_exit(fn(arg) & 0xff);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 255;
	return WEXITSTATUS(status);
}

/* In a child: fail with check number n unless call fails with errno e. */
#define FSEXT_CHILD_ERRNO(n, e, call) do {				\
		errno = 0;						\
		if ((call) != -1 || errno != (e)) {			\
			fprintf(stderr, "# check %d: %s: errno %d, want %d\n", \
				(n), #call, errno, (e));		\
			return n;					\
		}							\
	} while (0)
/* In a child: fail with check number n unless call returns >= 0. */
#define FSEXT_CHILD_OK(n, call) do {					\
		errno = 0;						\
		if ((call) < 0) {					\
			fprintf(stderr, "# check %d: %s: errno %d\n",	\
				(n), #call, errno);			\
			return n;					\
		}							\
	} while (0)

static inline int fsext_create(const char *path, mode_t mode)
{
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, mode);

	return fd < 0 ? -1 : close(fd);
}

/* Is timestamp later strictly after earlier? */
static inline bool fsext_time_after(const struct timespec *later,
				    const struct timespec *earlier)
{
	return later->tv_sec > earlier->tv_sec ||
	       (later->tv_sec == earlier->tv_sec &&
		later->tv_nsec > earlier->tv_nsec);
}

#endif /* TESTS_FS_FSEXT_H */
