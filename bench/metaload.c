// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * metaload: one phase of the bench's small-file metadata load.
 *
 *   metaload create DIR COUNT SIZE   make DIR, then COUNT files of SIZE bytes
 *   metaload stat   DIR COUNT        stat each of them
 *   metaload unlink DIR COUNT        unlink each of them, then rmdir DIR
 *
 * Phases are separate runs so the caller can unmount and drop caches in
 * between (a stat right after create would only measure the dentry cache).
 * create and unlink end with syncfs() inside the timed span, so a
 * filesystem that defers its work still pays for it.  One JSON object goes
 * to stdout; errors go to stderr with a non-zero exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#define MAX_FILE_SIZE (1 << 20)

struct load {
	const char *dir;
	long count;
	long size;
	char *buf;
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void file_path(const struct load *ld, long i, char *path, size_t len)
{
	snprintf(path, len, "%s/f%07ld", ld->dir, i);
}

/* syncfs() on the filesystem of the open directory fd; 0 or -1. */
static int sync_fd(int fd, const char *what)
{
	if (syncfs(fd)) {
		fprintf(stderr, "metaload: syncfs %s: %s\n", what,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* syncfs() on the directory's filesystem; 0 or -1 with a message. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int ret;

	if (fd < 0) {
		fprintf(stderr, "metaload: open %s: %s\n", dir, strerror(errno));
		return -1;
	}
	ret = sync_fd(fd, dir);
	close(fd);
	return ret;
}

static int write_all(int fd, const char *buf, long len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

static int do_create(const struct load *ld)
{
	char path[PATH_MAX];
	long i;

	if (mkdir(ld->dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "metaload: mkdir %s: %s\n", ld->dir,
			strerror(errno));
		return -1;
	}
	for (i = 0; i < ld->count; i++) {
		int fd;

		file_path(ld, i, path, sizeof(path));
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			fprintf(stderr, "metaload: create %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		if (write_all(fd, ld->buf, ld->size)) {
			fprintf(stderr, "metaload: write %s: %s\n", path,
				strerror(errno));
			close(fd);
			return -1;
		}
		if (close(fd)) {
			fprintf(stderr, "metaload: close %s: %s\n", path,
				strerror(errno));
			return -1;
		}
	}
	return sync_dir(ld->dir);
}

static int do_stat(const struct load *ld)
{
	char path[PATH_MAX];
	struct stat st;
	long i;

	for (i = 0; i < ld->count; i++) {
		file_path(ld, i, path, sizeof(path));
		if (stat(path, &st)) {
			fprintf(stderr, "metaload: stat %s: %s\n", path,
				strerror(errno));
			return -1;
		}
		/* A wrong size means the load is not what we think it is. */
		if (ld->size >= 0 && st.st_size != ld->size) {
			fprintf(stderr, "metaload: %s has size %lld, want %ld\n",
				path, (long long)st.st_size, ld->size);
			return -1;
		}
	}
	return 0;
}

static int do_unlink(const struct load *ld)
{
	char path[PATH_MAX];
	int parent, ret = -1;
	long i;

	/* Held open so the parent's filesystem can be synced after rmdir. */
	snprintf(path, sizeof(path), "%s/..", ld->dir);
	parent = open(path, O_RDONLY | O_DIRECTORY);
	if (parent < 0) {
		fprintf(stderr, "metaload: open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	for (i = 0; i < ld->count; i++) {
		file_path(ld, i, path, sizeof(path));
		if (unlink(path)) {
			fprintf(stderr, "metaload: unlink %s: %s\n", path,
				strerror(errno));
			goto out;
		}
	}
	if (rmdir(ld->dir)) {
		fprintf(stderr, "metaload: rmdir %s: %s\n", ld->dir,
			strerror(errno));
		goto out;
	}
	ret = sync_fd(parent, "parent directory");
out:
	close(parent);
	return ret;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static void print_usage(void)
{
	fprintf(stderr,
		"usage: metaload create DIR COUNT SIZE\n"
		"       metaload stat DIR COUNT [SIZE]\n"
		"       metaload unlink DIR COUNT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct load ld = { .size = -1 };
	int (*phase)(const struct load *ld);
	double t0, secs;
	int ret;

	if (argc < 4)
		print_usage();
	if (!strcmp(argv[1], "create"))
		phase = do_create;
	else if (!strcmp(argv[1], "stat"))
		phase = do_stat;
	else if (!strcmp(argv[1], "unlink"))
		phase = do_unlink;
	else
		print_usage();
	ld.dir = argv[2];
	if (parse_long(argv[3], 1, 10000000, &ld.count)) {
		fprintf(stderr, "metaload: bad COUNT '%s'\n", argv[3]);
		return 2;
	}
	if (argc > 4 && parse_long(argv[4], 0, MAX_FILE_SIZE, &ld.size)) {
		fprintf(stderr, "metaload: bad SIZE '%s' (0..%d)\n", argv[4],
			MAX_FILE_SIZE);
		return 2;
	}
	if (phase == do_create) {
		if (ld.size < 0)
			print_usage();
		ld.buf = malloc(ld.size ? ld.size : 1);
		if (!ld.buf) {
			fprintf(stderr, "metaload: out of memory\n");
			return 1;
		}
		memset(ld.buf, 'm', ld.size);
	}

	t0 = now_seconds();
	ret = phase(&ld);
	secs = now_seconds() - t0;
	free(ld.buf);
	if (ret)
		return 1;
	printf("{\"phase\": \"%s\", \"count\": %ld, \"seconds\": %.6f, \"ops_per_sec\": %.1f}\n",
	       argv[1], ld.count, secs, secs > 0 ? ld.count / secs : 0.0);
	return 0;
}
