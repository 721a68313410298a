/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The sandbox fuse2fs enters once the mount is up and the iomap device is
 * registered (sandbox.c, sandbox_filter.c): from then on the server holds
 * only its open files, no privileges, no view of any filesystem, and may
 * make only the system calls its request loop needs.
 */
#ifndef FUSE2FS_SANDBOX_H
#define FUSE2FS_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum f2_sandbox_level {
	F2_SANDBOX_OFF,		/* -o sandbox=off: debugging only */
	F2_SANDBOX_NOFILTER,	/* everything but the system call filter */
	F2_SANDBOX_ON,		/* the default */
};

struct f2_sandbox {
	enum f2_sandbox_level level;
	bool switch_user;	/* started as root: become uid/gid */
	uid_t uid;
	gid_t gid;
	bool entered;		/* privileges are gone */
	bool isolated;		/* in an empty mount namespace (or chroot) */
};

/* The default level: off in sanitizer builds (see sandbox.c). */
enum f2_sandbox_level f2_sandbox_default_level(void);
/* "on", "nofilter" or "off"; -1 for anything else. */
int f2_sandbox_parse_level(const char *s, enum f2_sandbox_level *level);

/*
 * Before the mount: resolve the user to become (user NULL: "nobody" when
 * running as root).  Naming a user without being root is an error, as is
 * an unknown user.  0, or -1 with a message on stderr.
 */
int f2_sandbox_prepare(struct f2_sandbox *sb, const char *user);

/*
 * Enter the sandbox: close every file descriptor but keep[] (and 0, 1, 2),
 * leave the filesystem for an empty read-only mount namespace, become the
 * unprivileged user, drop every capability, set no_new_privs and, at
 * F2_SANDBOX_ON, install the system call filter.  log_fd is where a
 * forbidden system call is reported (stderr, or the syslog socket).
 * 0, or -1 with a message: the caller must then stop serving.
 */
int f2_sandbox_enter(struct f2_sandbox *sb, const int *keep, size_t nkeep,
		     int log_fd);

/*
 * sandbox_filter.c: install the allow-list.  A system call outside it
 * makes the SIGSYS handler write "fuse2fs: sandbox: system call N is not
 * allowed" to log_fd (a syslog datagram when syslog is true) and then
 * kills the process with SIGSYS.  0 or a negative errno.
 */
int f2_sandbox_install_filter(int log_fd, bool syslog);

/*
 * unmounter.c: fork the helper that may unmount mountpoint for the
 * sandboxed server; returns the server's end of the socket, or -1.
 * f2_unmounter_run() asks for the (lazy) unmount and waits for it: 0 when
 * done, -1 otherwise; it closes fd.  Closing fd instead lets the helper
 * exit without unmounting.
 */
int f2_unmounter_start(const char *mountpoint);
int f2_unmounter_run(int fd);

#endif /* FUSE2FS_SANDBOX_H */
