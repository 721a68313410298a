// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Running external commands (mke2fs, e2fsck, mount, ...) with a time-out
 * and their output captured, so a hung tool fails a test instead of
 * blocking the whole suite.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mount_helpers.h"

#define TFS_MAX_ARGS 64

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append n bytes to a growing malloc()ed buffer; false when out of memory. */
static bool buf_append(char **buf, size_t *len, size_t *cap,
		       const char *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*cap ? *cap * 2 : 4096);
		char *nbuf;

		while (ncap < *len + n + 1)
			ncap *= 2;
		nbuf = realloc(*buf, ncap);
		if (!nbuf)
			return false;
		*buf = nbuf;
		*cap = ncap;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

static void child_exec(int out_fd, const char *const argv[])
{
	int null_fd = open("/dev/null", O_RDONLY);

	if (null_fd >= 0) {
		dup2(null_fd, STDIN_FILENO);
		close(null_fd);
	}
	dup2(out_fd, STDOUT_FILENO);
	dup2(out_fd, STDERR_FILENO);
	if (out_fd > STDERR_FILENO)
		close(out_fd);
	/* The test may have blocked or ignored signals; the tool must not. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	execvp(argv[0], (char *const *)argv);
	dprintf(STDERR_FILENO, "cannot execute %s: %s\n", argv[0],
		strerror(errno));
	_exit(127);
}

/* Wait for pid until deadline; true if it ended (status filled). */
static bool wait_until(pid_t pid, long long deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR)
			return true;	/* not our child any more */
		if (now_ms() >= deadline)
			return false;
		usleep(5000);
	}
}

pid_t tfs_fork_with_pipe(int pfd[2])
{
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
	}
	return pid;
}

int tfs_run(int timeout_ms, char **out, const char *const argv[])
{
	long long deadline = now_ms() + timeout_ms;
	char *buf = NULL, chunk[4096];
	size_t len = 0, cap = 0;
	bool timed_out = false;
	int pfd[2], status = 0;
	pid_t pid;

	if (out)
		*out = NULL;
	pid = tfs_fork_with_pipe(pfd);
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(pfd[0]);
		child_exec(pfd[1], argv);
	}
	close(pfd[1]);

	/* Read until EOF or the deadline; the child may fork and keep it. */
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		n = read(pfd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_append(&buf, &len, &cap, chunk, n);
	}
	close(pfd[0]);

	if (!timed_out && !wait_until(pid, deadline, &status))
		timed_out = true;
	if (timed_out) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fprintf(stderr, "# %s: killed after %d ms\n", argv[0],
			timeout_ms);
	}

	if (!buf)
		buf_append(&buf, &len, &cap, "", 0);
	if (out)
		*out = buf;
	else
		free(buf);

	if (timed_out)
		return TFS_RUN_TIMEOUT;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int tfs_runl(int timeout_ms, char **out, const char *arg0, ...)
{
	const char *argv[TFS_MAX_ARGS + 1];
	va_list ap;
	int n = 0;

	argv[n++] = arg0;
	va_start(ap, arg0);
	while (n < TFS_MAX_ARGS) {
		argv[n] = va_arg(ap, const char *);
		if (!argv[n])
			break;
		n++;
	}
	va_end(ap);
	argv[n] = NULL;
	return tfs_run(timeout_ms, out, argv);
}

int tfs_sh(int timeout_ms, char **out, const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	r = tfs_runl(timeout_ms, out, "sh", "-c", cmd, NULL);
	free(cmd);
	return r;
}

void tfs_log_text(const char *title, const char *text)
{
	const char *line = text;

	if (title)
		fprintf(stderr, "# %s:\n", title);
	while (line && *line) {
		const char *end = strchr(line, '\n');
		int n = end ? (int)(end - line) : (int)strlen(line);

		fprintf(stderr, "#   %.*s\n", n, line);
		line = end ? end + 1 : NULL;
	}
}
