// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The safety net: nothing a test sets up (fuse mounts, fuse2fs servers,
 * loop devices, temporary directories) may outlive it, however it ends.
 *
 * The kselftest harness kills a test's whole process group with SIGKILL
 * on a time-out, so FIXTURE_TEARDOWN and atexit() cannot be relied on.
 * Hence a guardian: a process in its own session (out of reach of that
 * kill) that reads registrations from a pipe.  The test process holds the
 * only write end (close-on-exec, so servers and tools do not keep it
 * open); when the test process is gone, read() returns EOF and the
 * guardian releases whatever is still registered, then exits.
 *
 * The same registry is kept in-process, so an atexit() handler can clean
 * up in programs that end with exit() rather than the harness's _exit().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mount_helpers.h"

enum guard_kind {
	GUARD_MOUNT = 'M',	/* a mountpoint to detach */
	GUARD_SERVER = 'S',	/* a fuse2fs pid serving a mountpoint */
	GUARD_LOOP = 'L',	/* an image that may back a loop device */
	GUARD_DIR = 'D',	/* a temporary directory to remove */
};

struct guard_entry {
	char kind;		/* 0 when the slot is free */
	pid_t pid;
	char path[TFS_PATH_MAX];
};

#define GUARD_SLOTS 64

static struct guard_entry guard_reg[GUARD_SLOTS];
static int guard_wfd = -1;
static pid_t guard_owner;	/* the process that registered everything */

static void reg_update(struct guard_entry *reg, bool add, char kind,
		       pid_t pid, const char *path)
{
	int i;

	for (i = 0; i < GUARD_SLOTS; i++) {
		if (reg[i].kind == kind && reg[i].pid == pid &&
		    !strcmp(reg[i].path, path)) {
			if (!add)
				reg[i].kind = 0;
			return;
		}
	}
	if (!add)
		return;
	for (i = 0; i < GUARD_SLOTS; i++) {
		if (!reg[i].kind) {
			reg[i].kind = kind;
			reg[i].pid = pid;
			snprintf(reg[i].path, sizeof(reg[i].path), "%s", path);
			return;
		}
	}
	fprintf(stderr, "# guardian: registry full, %s not guarded\n", path);
}

/* Does pid still run a command line that names path (our server)? */
static bool server_alive(pid_t pid, const char *path)
{
	char proc[64], cmd[4096];
	ssize_t n, i;
	int fd;

	snprintf(proc, sizeof(proc), "/proc/%d/cmdline", (int)pid);
	fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return false;	/* gone, or a zombie */
	for (i = 0; i < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	cmd[n] = '\0';
	return strstr(cmd, path) != NULL;
}

static void stop_server(pid_t pid, const char *dir)
{
	int i;

	if (!server_alive(pid, dir))
		return;
	fprintf(stderr, "# guardian: stopping fuse2fs pid %d (%s)\n",
		(int)pid, dir);
	kill(pid, SIGTERM);
	for (i = 0; i < 300; i++) {
		waitpid(pid, NULL, WNOHANG);	/* reaps it if it is ours */
		if (!server_alive(pid, dir))
			return;
		if (i == 100)
			kill(pid, SIGKILL);
		usleep(10000);
	}
	fprintf(stderr, "# guardian: fuse2fs pid %d does not die\n", (int)pid);
}

/* Release everything in reg: servers, then mounts, loops, directories. */
static void release_all(struct guard_entry *reg)
{
	int i;

	for (i = 0; i < GUARD_SLOTS; i++)
		if (reg[i].kind == GUARD_SERVER)
			stop_server(reg[i].pid, reg[i].path);
	for (i = 0; i < GUARD_SLOTS; i++) {
		if (reg[i].kind != GUARD_MOUNT)
			continue;
		if (tfs_is_mounted(reg[i].path, NULL, 0)) {
			fprintf(stderr, "# guardian: detaching %s\n",
				reg[i].path);
			if (umount2(reg[i].path, MNT_DETACH) < 0)
				fprintf(stderr, "# guardian: umount %s: %m\n",
					reg[i].path);
		}
	}
	for (i = 0; i < GUARD_SLOTS; i++)
		if (reg[i].kind == GUARD_LOOP)
			tfs_loop_detach_image(reg[i].path);
	for (i = 0; i < GUARD_SLOTS; i++)
		if (reg[i].kind == GUARD_DIR)
			tfs_remove_tree(reg[i].path);
	for (i = 0; i < GUARD_SLOTS; i++)
		reg[i].kind = 0;
}

static void guardian_main(int rfd)
{
	static struct guard_entry reg[GUARD_SLOTS];
	char buf[8192];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(rfd, buf + have, sizeof(buf) - 1 - have);
		char *line, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += n;
		buf[have] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n'))) {
			char op, kind, path[TFS_PATH_MAX];
			int pid;

			*nl = '\0';
			if (sscanf(line, "%c%c %d %511[^\n]", &op, &kind, &pid,
				   path) == 4)
				reg_update(reg, op == '+', kind, pid, path);
			line = nl + 1;
		}
		have -= line - buf;
		memmove(buf, line, have);
	}
	release_all(reg);
}

static void guard_send(bool add, char kind, pid_t pid, const char *path)
{
	char line[TFS_PATH_MAX + 64];
	int n;

	reg_update(guard_reg, add, kind, pid, path);
	if (guard_wfd < 0)
		return;
	n = snprintf(line, sizeof(line), "%c%c %d %s\n", add ? '+' : '-',
		     kind, (int)pid, path);
	if (write(guard_wfd, line, n) != n)
		fprintf(stderr, "# guardian: lost registration of %s\n", path);
}

static void on_exit_release(void)
{
	if (getpid() == guard_owner)
		release_all(guard_reg);
}

static void on_fatal_signal(int sig)
{
	/* The guardian sees the pipe close and does the work. */
	_exit(128 + sig);
}

static void catch_if_default(int sig)
{
	struct sigaction old, sa = { .sa_handler = on_fatal_signal };

	if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		sigaction(sig, &sa, NULL);
}

int tfs_guard_start(void)
{
	static bool atexit_done;
	int pfd[2];
	pid_t pid;

	if (guard_wfd >= 0 && guard_owner == getpid())
		return 0;
	/* A forked copy of a registered process starts afresh. */
	if (guard_wfd >= 0)
		close(guard_wfd);
	guard_wfd = -1;
	memset(guard_reg, 0, sizeof(guard_reg));
	guard_owner = getpid();

	pid = tfs_fork_with_pipe(pfd);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Double fork: the guardian must not be our child. */
		if (fork() != 0)
			_exit(0);
		setsid();
		if (chdir("/") < 0)
			_exit(1);
		close(pfd[1]);
		/* Keep stderr for messages; stdout may be the TAP pipe. */
		int null_fd = open("/dev/null", O_RDWR);

		if (null_fd >= 0) {
			dup2(null_fd, STDIN_FILENO);
			dup2(null_fd, STDOUT_FILENO);
		}
		for (int fd = 3; fd < 1024; fd++)
			if (fd != pfd[0])
				close(fd);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		guardian_main(pfd[0]);
		_exit(0);
	}
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	guard_wfd = pfd[1];

	if (!atexit_done) {
		atexit(on_exit_release);
		atexit_done = true;
	}
	catch_if_default(SIGINT);
	catch_if_default(SIGTERM);
	catch_if_default(SIGHUP);
	return 0;
}

void tfs_guard_mount(const char *dir, bool add)
{
	guard_send(add, GUARD_MOUNT, 0, dir);
}

void tfs_guard_server(pid_t pid, const char *dir, bool add)
{
	guard_send(add, GUARD_SERVER, pid, dir);
}

void tfs_guard_loop_image(const char *image, bool add)
{
	guard_send(add, GUARD_LOOP, 0, image);
}

void tfs_guard_dir(const char *dir, bool add)
{
	guard_send(add, GUARD_DIR, 0, dir);
}
