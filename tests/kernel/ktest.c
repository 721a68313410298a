// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helpers for the guest-side kernel tests; see ktest.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "ktest.h"

static void kt_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Whether dir is a mount point; its FUSE connection's number (the name of
 * its directory under /sys/fs/fuse/connections) in *conn if not NULL.
 */
static bool kt_mount_conn(const char *dir, unsigned int *conn)
{
	char line[2048], mnt[KT_PATH_MAX + 1];
	unsigned int major, minor;
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %u:%u %*s %256s", &major, &minor,
			   mnt) == 3 && !strcmp(mnt, dir))
			found = true;
	fclose(f);
	if (found && conn)
		*conn = major << 20 | minor;	/* the kernel's dev_t */
	return found;
}

static bool kt_is_mounted(const char *dir)
{
	return kt_mount_conn(dir, NULL);
}

/* Whether path names dir or something below it. */
static bool kt_is_under(const char *path, const char *dir)
{
	size_t len = strlen(dir);

	return !strncmp(path, dir, len) && (!path[len] || path[len] == '/');
}

/*
 * A test that failed an ASSERT skipped its own close() and munmap(): let
 * go of what this process still holds under dir, or the unmount is busy.
 */
static void kt_drop_files_under(const char *dir)
{
	char path[KT_PATH_MAX * 2], line[KT_PATH_MAX * 3];
	unsigned long start, end;
	struct dirent *d;
	DIR *fds = opendir("/proc/self/fd");
	FILE *maps;
	ssize_t n;

	while (fds && (d = readdir(fds))) {
		int fd = atoi(d->d_name);

		n = readlinkat(dirfd(fds), d->d_name, path, sizeof(path) - 1);
		if (n <= 0 || fd == dirfd(fds))
			continue;
		path[n] = 0;
		if (kt_is_under(path, dir)) {
			fprintf(stderr, "# closing fd %d (%s) left open\n", fd, path);
			close(fd);
		}
	}
	if (fds)
		closedir(fds);
	maps = fopen("/proc/self/maps", "r");
	while (maps && fgets(line, sizeof(line), maps))
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %511s", &start, &end,
			   path) == 3 && kt_is_under(path, dir)) {
			fprintf(stderr, "# unmapping %s left mapped\n", path);
			munmap((void *)start, end - start);
		}
	if (maps)
		fclose(maps);
}

/* End the FUSE connection: the server gets ENODEV and exits. */
static void kt_abort_conn(unsigned int conn)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%u/abort", conn);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1)
		fprintf(stderr, "# abort %s: %s\n", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void kt_print_log(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "#   | %s", line);
	fclose(f);
}

int kt_server_start(struct kt_server *s, const char *const argv[])
{
	const char *tmp = getenv("TMPDIR");
	char *args[32];
	int i, fd, status;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s/kt-mnt.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(s->dir)) {
		fprintf(stderr, "# mkdtemp %s: %s\n", s->dir, strerror(errno));
		return -1;
	}
	snprintf(s->log, sizeof(s->log), "%s.log", s->dir);

	for (i = 0; argv[i] && i < 31; i++)
		args[i] = strcmp(argv[i], "@MNT@") ? (char *)argv[i] : s->dir;
	args[i] = NULL;

	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(args[0], args);
		fprintf(stderr, "exec %s: %s\n", args[0], strerror(errno));
		_exit(127);
	}

	for (i = 0; i < 1000; i++) {
		if (kt_is_mounted(s->dir)) {
			struct stat st;

			s->mounted = true;
			/* answered only once the server handled INIT */
			if (stat(s->dir, &st)) {
				fprintf(stderr, "# stat %s: %s\n", s->dir,
					strerror(errno));
				kt_server_stop(s);
				return -1;
			}
			return 0;
		}
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			fprintf(stderr, "# server %s exited (status 0x%x) before mounting\n",
				args[0], status);
			s->pid = 0;
			kt_print_log(s->log);
			return -1;
		}
		kt_sleep_ms(10);
	}
	fprintf(stderr, "# server %s did not mount in 10 s\n", args[0]);
	kt_print_log(s->log);
	kt_server_stop(s);
	return -1;
}

void kt_server_kill(struct kt_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = 0;
}

int kt_server_stop(struct kt_server *s)
{
	int i, status = 0, ret = 0;

	if (s->mounted) {
		unsigned int conn;

		kt_drop_files_under(s->dir);
		for (i = 0; i < 50 && umount(s->dir) && errno == EBUSY; i++)
			kt_sleep_ms(100);
		if (kt_mount_conn(s->dir, &conn)) {
			/* held elsewhere: stop the server, free the device */
			fprintf(stderr, "# unmount of %s failed, aborting and detaching\n",
				s->dir);
			kt_abort_conn(conn);
			umount2(s->dir, MNT_DETACH);
			ret = -1;
		}
		s->mounted = false;
	}
	if (s->pid > 0) {
		for (i = 0; i < 1000; i++) {
			if (waitpid(s->pid, &status, WNOHANG) == s->pid)
				break;
			kt_sleep_ms(10);
		}
		if (i == 1000) {
			fprintf(stderr, "# server %d did not exit; killing it\n",
				s->pid);
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
			ret = -1;
		} else if (ret == 0) {
			ret = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		}
		if (ret)
			kt_print_log(s->log);
		s->pid = 0;
	}
	if (s->dir[0])
		rmdir(s->dir);
	return ret;
}

const char *kt_path(const struct kt_server *s, const char *name)
{
	static char buf[4][2 * KT_PATH_MAX];
	static int slot;

	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", s->dir, name);
	return buf[slot];
}

/* The number after "KEY:" in /proc/self/fdinfo/<fd>; false if none. */
static bool fdinfo_value(int fd, const char *key, unsigned long long *v)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, key, klen) && line[klen] == ':' &&
			sscanf(line + klen + 1, "%llu", v) == 1;
	fclose(f);
	return found;
}

int kt_fd_iomap(int fd, uint64_t *ino)
{
	unsigned long long mode, backing;

	if (!fdinfo_value(fd, "fuse_iomap", &mode))
		return -1;
	if (mode && ino && fdinfo_value(fd, "fuse_iomap_ino", &backing))
		*ino = backing;
	return mode ? 1 : 0;
}

int kt_fd_iomap_cached(int fd)
{
	unsigned long long v;

	return fdinfo_value(fd, "fuse_iomap_cached", &v) ? (int)v : -1;
}

void *kt_alloc(size_t len)
{
	void *p;

	if (posix_memalign(&p, 4096, len ? len : 4096))
		return NULL;
	return p;
}

static uint8_t kt_byte(uint64_t off, uint32_t seed)
{
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ULL + seed;

	x ^= x >> 29;
	return (uint8_t)(x >> (8 * (off & 7)));
}

void kt_fill(void *buf, size_t len, uint64_t off, uint32_t seed)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = kt_byte(off + i, seed);
}

ssize_t kt_check(const void *buf, size_t len, uint64_t off, uint32_t seed)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != kt_byte(off + i, seed))
			return i;
	return -1;
}

bool kt_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static int kt_direct_io(const char *path, void *buf, size_t len, off_t off,
			bool write)
{
	ssize_t n;
	int fd, err = 0;

	fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0)
		return -errno;
	n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -ENODATA;
	close(fd);
	return err;
}

int kt_direct_pread(const char *path, void *buf, size_t len, off_t off)
{
	return kt_direct_io(path, buf, len, off, false);
}

int kt_direct_pwrite(const char *path, const void *buf, size_t len, off_t off)
{
	return kt_direct_io(path, (void *)buf, len, off, true);
}

int kt_klog_count(const char *needle)
{
	int len = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *line, *save;
	int n = 0;

	if (len <= 0)
		return -1;
	buf = malloc(len + 1);
	if (!buf)
		return -1;
	len = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, len);
	if (len < 0) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strstr(line, needle))
			n++;
	free(buf);
	return n;
}

int kt_run_bounded(int (*fn)(void *), void *arg, int secs)
{
	int status, i;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn(arg));
	for (i = 0; i < secs * 20; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		kt_sleep_ms(50);
	}
	fprintf(stderr, "# child %d still running after %d s\n", pid, secs);
	kill(pid, SIGKILL);
	return -1;
}

int kt_sh(int timeout_s, const char *fmt, ...)
{
	char cmd[2048], secs[16], out[] = "/run/tmp/kt-sh.XXXXXX";
	const char *tmp = getenv("TMPDIR");
	va_list ap;
	int fd, status;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(secs, sizeof(secs), "%d", timeout_s);
	if (tmp && strlen(tmp) < 200) {
		static char name[256];

		snprintf(name, sizeof(name), "%s/kt-sh.XXXXXX", tmp);
		fd = mkstemp(name);
		if (fd >= 0)
			unlink(name);
	} else {
		fd = mkstemp(out);
		if (fd >= 0)
			unlink(out);
	}
	if (fd < 0)
		return -1;

	pid = fork();
	if (pid < 0) {
		close(fd);
		return -1;
	}
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("timeout", "timeout", "-k", "5", secs, "sh", "-c", cmd,
		       (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status)) {
		char line[512];
		FILE *f;

		fprintf(stderr, "# $ %s -> exit %d\n", cmd, WEXITSTATUS(status));
		lseek(fd, 0, SEEK_SET);
		f = fdopen(fd, "r");
		if (f) {
			while (fgets(line, sizeof(line), f))
				fprintf(stderr, "#   | %s", line);
			fclose(f);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int kt_noted(const char *results, const char *want)
{
	char name[64];
	int err, found = -1;
	FILE *f = fopen(results, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %d", name, &err) == 2)
		if (!strcmp(name, want))
			found = err;
	fclose(f);
	return found;
}

#define KT_TRACEFS	"/sys/kernel/tracing"

static int kt_trace_write(const char *file, const char *text)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), KT_TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0) {
		fprintf(stderr, "# %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int kt_trace_enable(const char *const events[], const char *on)
{
	char file[128];
	int i, ret = 0;

	for (i = 0; events[i]; i++) {
		snprintf(file, sizeof(file), "events/%s/enable", events[i]);
		if (kt_trace_write(file, on))
			ret = -1;
	}
	return ret;
}

int kt_trace_start(const char *const events[])
{
	if (access(KT_TRACEFS "/trace", F_OK) &&
	    mount("tracefs", KT_TRACEFS, "tracefs", 0, NULL)) {
		fprintf(stderr, "# mount tracefs: %s\n", strerror(errno));
		return -1;
	}
	if (kt_trace_write("tracing_on", "0") || kt_trace_write("trace", "") ||
	    kt_trace_enable(events, "1"))
		return -1;
	return kt_trace_write("tracing_on", "1");
}

char *kt_trace_stop(const char *const events[])
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	kt_trace_write("tracing_on", "0");
	kt_trace_enable(events, "0");
	fd = open(KT_TRACEFS "/trace", O_RDONLY);
	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			char *more = realloc(buf, cap * 2);

			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

int kt_trace_count(const char *trace, const char *const needles[])
{
	const char *line = trace, *end;
	char one[1024];
	int i, n = 0;

	for (; line && *line; line = end ? end + 1 : NULL) {
		size_t len;

		end = strchr(line, '\n');
		len = end ? (size_t)(end - line) : strlen(line);
		if (len >= sizeof(one))
			len = sizeof(one) - 1;
		memcpy(one, line, len);
		one[len] = 0;
		for (i = 0; needles[i] && strstr(one, needles[i]); i++)
			;
		if (!needles[i])
			n++;
	}
	return n;
}

int kt_trace_lines(const char *trace, const char *needle)
{
	const char *const needles[] = { needle, NULL };

	return trace ? kt_trace_count(trace, needles) : -1;
}

int kt_loop_new(const char *file, const char *size, char *out, size_t len)
{
	char name[KT_PATH_MAX + 16];
	int ret = -1;
	FILE *f;

	out[0] = 0;
	snprintf(name, sizeof(name), "%s.loopname", file);
	if (!kt_sh(60, "truncate -s %s %s && losetup -f --show %s > %s",
		   size, file, file, name)) {
		f = fopen(name, "r");
		if (f && fgets(out, len, f)) {
			out[strcspn(out, "\n")] = 0;
			/* a loop device keeps a read-only flag of its past */
			ret = out[0] ? kt_sh(30, "blockdev --setrw %s", out) : -1;
			ret = ret ? -1 : 0;
		}
		if (f)
			fclose(f);
	}
	unlink(name);
	return ret;
}

const char *kt_device(void)
{
	const char *d = getenv("KT_DEVICE");

	return d ? d : "/dev/ubdb";
}

/* /sys/block/NAME/queue/read_ahead_kb of dev (/dev/NAME) into out. */
static void device_read_ahead_file(const char *dev, char *out, size_t len)
{
	const char *name = strrchr(dev, '/');

	snprintf(out, len, "/sys/block/%s/queue/read_ahead_kb",
		 name ? name + 1 : dev);
}

int kt_device_read_ahead_kb(const char *dev)
{
	char file[96];

	device_read_ahead_file(dev, file, sizeof(file));
	return kt_read_int(file);
}

int kt_set_device_read_ahead_kb(const char *dev, int kb)
{
	char file[96];

	device_read_ahead_file(dev, file, sizeof(file));
	return kt_sh(10, "echo %d > %s", kb, file) ? -1 : 0;
}

int kt_read_int(const char *file)
{
	FILE *f = fopen(file, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

int kt_mount_read_ahead_kb(const char *dir)
{
	char file[96];
	struct stat st;

	if (stat(dir, &st))
		return -1;
	snprintf(file, sizeof(file), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 major(st.st_dev), minor(st.st_dev));
	return kt_read_int(file);
}
