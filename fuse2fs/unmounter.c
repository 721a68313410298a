// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one privilege a sandboxed fuse2fs still needs: unmounting its own
 * mount when it is told to stop (SIGTERM, SIGINT) while mounted, so that
 * a stop leaves no dead mount behind, as before the sandbox.
 *
 * Before entering the sandbox fuse2fs forks this helper.  It keeps only
 * its end of a socket pair (no image, no /dev/fuse: a server killed
 * with SIGKILL still leaves a mount that answers ENOTCONN), waits, and
 * does exactly one thing when asked: a lazy unmount of the mountpoint
 * fixed at fork time (umount2 as root, else fusermount3 -u -z).  When
 * the server goes away without asking, it exits.  It never reads the
 * image, so nothing the image holds can reach it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "sandbox.h"

#define F2_UNMOUNT_REQ	'u'

static void unmounter_main(int sock, const char *mountpoint)
{
	char req, status = 1;
	pid_t pid;
	int ws;

	if (read(sock, &req, 1) != 1 || req != F2_UNMOUNT_REQ)
		_exit(0);	/* the server died or was done: nothing to do */
	if (geteuid() == 0) {
		status = umount2(mountpoint, MNT_DETACH) == 0 ||
			 errno == EINVAL || errno == ENOENT ? 0 : 1;
	} else {
		pid = fork();
		if (pid == 0) {
			execlp("fusermount3", "fusermount3", "-u", "-q", "-z",
			       "--", mountpoint, (char *)NULL);
			_exit(127);
		}
		if (pid > 0 && waitpid(pid, &ws, 0) == pid &&
		    WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
			status = 0;
	}
	if (write(sock, &status, 1) != 1)
		_exit(1);
	_exit(0);
}

int f2_unmounter_start(const char *mountpoint)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/*
		 * Nothing of the server's but its socket: not even stdio,
		 * which may be a pipe someone waits to see closed.
		 */
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(null, 2) < 0 || (sv[1] != 3 && dup2(sv[1], 3) < 0))
			_exit(1);
		syscall(SYS_close_range, 4, ~0U, 0);
		/* A ^C to the process group is the server's to act on. */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		prctl(PR_SET_NAME, "fuse2fs-umount", 0, 0, 0);
		unmounter_main(3, mountpoint);
	}
	close(sv[1]);
	return sv[0];
}

int f2_unmounter_run(int fd)
{
	char req = F2_UNMOUNT_REQ, status = 1;

	if (write(fd, &req, 1) != 1 || read(fd, &status, 1) != 1)
		status = 1;
	close(fd);
	return status ? -1 : 0;
}
