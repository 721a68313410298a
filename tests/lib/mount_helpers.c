// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mounting an image through fuse2fs or through kernel ext4 on a loop
 * device, and taking it down again so that nothing is left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mount_helpers.h"

#ifndef TFS_FUSE2FS_BIN
#define TFS_FUSE2FS_BIN "fuse2fs"
#endif

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *tfs_fuse2fs_bin(void)
{
	const char *bin = getenv("FUSE2FS_BIN");

	return bin && *bin ? bin : TFS_FUSE2FS_BIN;
}

bool tfs_is_mounted(const char *dir, char *fstype, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char mnt[TFS_PATH_MAX], type[128];
		char *sep;

		if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    strcmp(mnt, dir))
			continue;
		/* The fstype follows the " - " separator. */
		sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%127s", type) != 1)
			type[0] = '\0';
		if (fstype && size)
			snprintf(fstype, size, "%s", type);
		found = true;	/* the last (topmost) mount wins */
	}
	fclose(f);
	return found;
}

static int loop_scan(const char *image, bool detach);

static void log_server_output(const struct tfs_mount *m)
{
	char *log = tfs_log_read(m);

	tfs_log_text("fuse2fs output", log ? log : "(no log)");
	free(log);
}

static int decode_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* Is pid a live process (not a zombie)?  For servers we did not fork. */
static bool pid_running(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/*
 * Wait up to timeout_ms for the server to exit; true if it did.  The
 * server is usually our child; when the harness runs the teardown in the
 * parent process it is not, and its exit status is unknown (-1).
 */
static bool reap_server(struct tfs_mount *m, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t r = waitpid(m->server, &status, WNOHANG);

		if (r == m->server) {
			m->exit_status = decode_status(status);
			break;
		}
		if (r < 0 && errno == ECHILD && !pid_running(m->server)) {
			m->exit_status = -1;
			break;
		}
		if (now_ms() >= deadline)
			return false;
		usleep(5000);
	}
	tfs_guard_server(m->server, m->dir, false);
	m->server = 0;
	return true;
}

/* Make the server go away whatever it is doing. */
static void kill_server(struct tfs_mount *m)
{
	if (!m->server)
		return;
	kill(m->server, SIGTERM);
	if (reap_server(m, 3000))
		return;
	fprintf(stderr, "# fuse2fs pid %d ignores SIGTERM, killing it\n",
		(int)m->server);
	kill(m->server, SIGKILL);
	reap_server(m, 10000);
}

int tfs_start_fuse(struct tfs_mount *m, const char *const args[])
{
	const char *argv[64];
	long long deadline;
	char fstype[128];
	int argc = 0, log_fd;
	pid_t pid;

	if (m->server || m->mounted) {
		fprintf(stderr, "# %s is already in use\n", m->dir);
		return -1;
	}
	argv[argc++] = tfs_fuse2fs_bin();
	while (args && *args && argc < 63)
		argv[argc++] = *args++;
	argv[argc] = NULL;

	log_fd = open(m->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		      0644);
	if (log_fd < 0) {
		fprintf(stderr, "# cannot open %s: %s\n", m->log,
			strerror(errno));
		return -1;
	}
	m->kernel = false;
	m->exit_status = -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(log_fd);
		return -1;
	}
	if (pid == 0) {
		int null_fd = open("/dev/null", O_RDONLY);

		if (null_fd >= 0)
			dup2(null_fd, STDIN_FILENO);
		dup2(log_fd, STDOUT_FILENO);
		dup2(log_fd, STDERR_FILENO);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		execv(argv[0], (char *const *)argv);
		dprintf(STDERR_FILENO, "cannot execute %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(log_fd);
	m->server = pid;
	tfs_guard_server(pid, m->dir, true);
	tfs_guard_mount(m->dir, true);

	deadline = now_ms() + TFS_MOUNT_TIMEOUT_MS;
	for (;;) {
		if (tfs_is_mounted(m->dir, fstype, sizeof(fstype)) &&
		    !strncmp(fstype, "fuse", 4)) {
			m->mounted = true;
			return 0;
		}
		if (reap_server(m, 0)) {
			tfs_guard_mount(m->dir, false);
			return 1;
		}
		if (now_ms() >= deadline)
			break;
		usleep(5000);
	}
	fprintf(stderr, "# %s did not mount %s within %d ms\n", argv[0],
		m->dir, TFS_MOUNT_TIMEOUT_MS);
	kill_server(m);
	if (tfs_is_mounted(m->dir, NULL, 0))
		umount2(m->dir, MNT_DETACH);
	tfs_guard_mount(m->dir, false);
	log_server_output(m);
	return -1;
}

int tfs_mount_fuse(struct tfs_mount *m, const char *image, const char *opts)
{
	const char *args[8];
	int n = 0, r;

	snprintf(m->image, sizeof(m->image), "%s", image);
	snprintf(m->opts, sizeof(m->opts), "%s", opts ? opts : "");
	args[n++] = image;
	args[n++] = m->dir;
	args[n++] = "-f";
	if (opts && *opts) {
		args[n++] = "-o";
		args[n++] = opts;
	}
	args[n] = NULL;
	r = tfs_start_fuse(m, args);
	if (r == 1) {
		fprintf(stderr, "# fuse2fs exited with %d before mounting %s\n",
			m->exit_status, m->dir);
		log_server_output(m);
	}
	return r == 0 ? 0 : -1;
}

int tfs_wait_server(struct tfs_mount *m, int timeout_ms)
{
	int ret;

	if (!m->server)
		return m->exit_status;
	if (reap_server(m, timeout_ms)) {
		ret = m->exit_status;
	} else {
		fprintf(stderr, "# fuse2fs still runs after %d ms\n",
			timeout_ms);
		kill_server(m);
		ret = -1;
	}
	m->left_mounted = tfs_is_mounted(m->dir, NULL, 0);
	if (m->left_mounted) {
		fprintf(stderr, "# fuse2fs exited but left %s mounted\n",
			m->dir);
		umount2(m->dir, MNT_DETACH);
	}
	m->mounted = false;
	tfs_guard_mount(m->dir, false);
	return ret;
}

/* umount(2), retrying while the mount is busy for a short moment. */
static int umount_retry(const char *dir)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (umount2(dir, 0) == 0)
			return 0;
		if (errno != EBUSY)
			break;
		usleep(20000);
	}
	fprintf(stderr, "# umount %s: %s\n", dir, strerror(errno));
	return -1;
}

int tfs_umount_fuse(struct tfs_mount *m)
{
	bool ok = true;

	/* Nothing to take down (e.g. a refused mount already reaped). */
	if (!m->mounted && !m->server && !tfs_is_mounted(m->dir, NULL, 0))
		return 0;

	if (tfs_is_mounted(m->dir, NULL, 0)) {
		if (umount_retry(m->dir) < 0) {
			char *out = NULL;
			int r;

			ok = false;
			r = tfs_runl(10000, &out, "fusermount3", "-u", m->dir,
				     NULL);
			if (r != 0) {
				tfs_log_text("fusermount3 -u failed", out);
				if (tfs_is_mounted(m->dir, NULL, 0))
					umount2(m->dir, MNT_DETACH);
			}
			free(out);
		}
	} else if (m->mounted) {
		fprintf(stderr, "# %s vanished before unmount\n", m->dir);
		ok = false;
	}
	m->mounted = false;
	tfs_guard_mount(m->dir, false);

	if (m->server && !reap_server(m, TFS_UMOUNT_TIMEOUT_MS)) {
		fprintf(stderr, "# fuse2fs did not exit within %d ms of umount\n",
			TFS_UMOUNT_TIMEOUT_MS);
		kill_server(m);
		ok = false;
	}
	if (m->exit_status != 0 && m->exit_status != -1) {
		fprintf(stderr, "# fuse2fs exited with status %d\n",
			m->exit_status);
		ok = false;
	}
	if (!ok)
		log_server_output(m);
	return ok ? 0 : -1;
}

int tfs_mount_kernel(struct tfs_mount *m, const char *image,
		     const char *type, const char *opts)
{
	char o[512], *out = NULL;
	int r;

	if (m->mounted || m->server) {
		fprintf(stderr, "# %s is already in use\n", m->dir);
		return -1;
	}
	snprintf(m->image, sizeof(m->image), "%s", image);
	snprintf(m->opts, sizeof(m->opts), "%s", opts ? opts : "");
	snprintf(o, sizeof(o), "loop%s%s", opts && *opts ? "," : "",
		 opts ? opts : "");
	m->kernel = true;
	m->exit_status = -1;
	tfs_guard_loop_image(image, true);
	tfs_guard_mount(m->dir, true);
	r = tfs_runl(TFS_MOUNT_TIMEOUT_MS * 2, &out, "mount", "-t",
		     type ? type : "ext4", "-o", o, image, m->dir, NULL);
	if (r != 0 || !tfs_is_mounted(m->dir, NULL, 0)) {
		fprintf(stderr, "# mount -o %s %s failed with %d\n", o, image,
			r);
		tfs_log_text("mount output", out);
		free(out);
		if (tfs_is_mounted(m->dir, NULL, 0))
			umount2(m->dir, MNT_DETACH);
		tfs_loop_detach_image(image);
		tfs_guard_mount(m->dir, false);
		tfs_guard_loop_image(image, false);
		return -1;
	}
	free(out);
	m->mounted = true;
	return 0;
}

int tfs_umount_kernel(struct tfs_mount *m)
{
	bool ok = true;
	int i, n;

	if (tfs_is_mounted(m->dir, NULL, 0) && umount_retry(m->dir) < 0) {
		umount2(m->dir, MNT_DETACH);
		ok = false;
	}
	m->mounted = false;
	tfs_guard_mount(m->dir, false);
	if (!m->image[0])
		return ok ? 0 : -1;

	/* mount -o loop sets autoclear; give the kernel a moment for it. */
	for (i = 0; i < 100 && loop_scan(m->image, false) > 0; i++)
		usleep(10000);
	n = loop_scan(m->image, true);
	if (n > 0)
		fprintf(stderr, "# detached %d loop device(s) left on %s\n",
			n, m->image);
	tfs_guard_loop_image(m->image, false);
	return ok ? 0 : -1;
}

int tfs_umount(struct tfs_mount *m)
{
	return m->kernel ? tfs_umount_kernel(m) : tfs_umount_fuse(m);
}

int tfs_remount(struct tfs_mount *m)
{
	char image[TFS_PATH_MAX], opts[256];

	/* The mount functions overwrite both fields. */
	snprintf(image, sizeof(image), "%s", m->image);
	snprintf(opts, sizeof(opts), "%s", m->opts);
	if (m->kernel)
		return tfs_mount_kernel(m, image, NULL, opts);
	return tfs_mount_fuse(m, image, opts);
}

/* Loop devices backed by image: count them, and detach them if asked. */
static int loop_scan(const char *image, bool detach)
{
	char real[TFS_PATH_MAX];
	struct dirent *de;
	DIR *d;
	int count = 0;

	if (!realpath(image, real))
		snprintf(real, sizeof(real), "%s", image);
	d = opendir("/sys/block");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char path[300], back[TFS_PATH_MAX + 32], dev[300];
		size_t len = strlen(real);
		ssize_t n;
		int fd;

		if (strncmp(de->d_name, "loop", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file",
			 de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, back, sizeof(back) - 1);
		close(fd);
		if (n <= 0)
			continue;
		back[n] = '\0';
		if (strncmp(back, real, len) ||
		    (back[len] != '\n' && back[len] != '\0' && back[len] != ' '))
			continue;
		count++;
		if (!detach)
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", de->d_name);
		fd = open(dev, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (ioctl(fd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO)
			fprintf(stderr, "# cannot detach %s: %s\n", dev,
				strerror(errno));
		close(fd);
	}
	closedir(d);
	return count;
}

int tfs_loop_detach_image(const char *image)
{
	return loop_scan(image, true);
}

char *tfs_log_read(const struct tfs_mount *m)
{
	return tfs_read_file(m->log, NULL);
}

int tfs_log_count(const struct tfs_mount *m, const char *needle)
{
	char *log = tfs_log_read(m), *p;
	int n = 0;

	if (!log)
		return -1;
	for (p = log; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(log);
	return n;
}

const char *tfs_p(const struct tfs_mount *m, const char *rel)
{
	static char bufs[16][TFS_PATH_MAX * 2];
	static unsigned int next;
	char *b = bufs[next++ % 16];

	snprintf(b, sizeof(bufs[0]), "%s/%s", m->dir, rel);
	return b;
}
