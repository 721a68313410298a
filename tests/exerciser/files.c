// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The exerciser's files: the file under test (a buffered and an O_DIRECT
 * descriptor), the copy source next to it, and the probe of what the
 * file system supports, done once on a scratch file before the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "exerciser.h"

int xr_open_files(struct xr_state *st, int extra_flags)
{
	const char *path = st->cfg->path;
	int err;

	st->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | extra_flags, 0644);
	if (st->fd < 0)
		return -1;
	if (st->supported[XR_DREAD] || st->supported[XR_DWRITE]) {
		st->dfd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
		if (st->dfd < 0)
			goto fail;
	}
	if (st->src_size) {
		st->sfd = open(st->src_path, O_RDONLY | O_CLOEXEC);
		if (st->sfd < 0)
			goto fail;
	}
	return 0;
fail:
	err = errno;
	xr_close_files(st);
	errno = err;
	return -1;
}

void xr_close_files(struct xr_state *st)
{
	int *fds[] = { &st->fd, &st->dfd, &st->sfd };
	unsigned int i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int write_file(const char *path, const uint8_t *data, uint64_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	uint64_t done = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n <= 0)
			break;
		done += n;
	}
	if (close(fd) || done < len)
		return -1;
	return 0;
}

int xr_make_source(struct xr_state *st)
{
	snprintf(st->src_path, sizeof(st->src_path), "%s.src", st->cfg->path);
	st->src_size = st->cfg->max_size;
	xr_fill(st->src_shadow, 0, st->src_size, 0);
	if (write_file(st->src_path, st->src_shadow, st->src_size)) {
		fprintf(stderr, "exerciser: writing %s: %s\n", st->src_path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* A call the file system may not implement (rather than fail). */
static bool unsupported_errno(int err)
{
	return err == EOPNOTSUPP || err == ENOSYS || err == ENOTTY ||
	       err == EXDEV || err == ENODEV;
}

/* Mark kind as supported or not after a probe call that returned ret. */
static int probe_result(struct xr_state *st, enum xr_kind kind, int ret,
			const char *call)
{
	if (!ret) {
		st->supported[kind] = true;
		return 0;
	}
	if (unsupported_errno(errno) || (kind == XR_DREAD && errno == EINVAL)) {
		st->supported[kind] = false;
		printf("exerciser: %s: %s: %s, not run\n", xr_kind_name(kind),
		       call, strerror(errno));
		return 0;
	}
	printf("exerciser: probing %s: %s: %s\n", xr_kind_name(kind), call,
	       strerror(errno));
	return -1;
}

static int probe_direct(struct xr_state *st, const char *path)
{
	int fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : pread(fd, st->buf, st->dio_align, 0);
	int ret;

	if (n >= 0 && n != (ssize_t)st->dio_align)
		errno = EIO;
	ret = probe_result(st, XR_DREAD, n == (ssize_t)st->dio_align ? 0 : -1,
			   "O_DIRECT pread");
	st->supported[XR_DWRITE] = st->supported[XR_DREAD];
	if (fd >= 0)
		close(fd);
	return ret;
}

static int probe_mmap(struct xr_state *st, int fd)
{
	void *p = mmap(NULL, st->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);

	if (probe_result(st, XR_MAPREAD, p == MAP_FAILED ? -1 : 0, "mmap"))
		return -1;
	st->supported[XR_MAPWRITE] = st->supported[XR_MAPREAD];
	if (p != MAP_FAILED)
		munmap(p, st->page);
	return 0;
}

/*
 * Each fallocate mode on a scratch file of 16 blocks, on a range of two
 * blocks inside it (valid for every mode).
 */
static int probe_fallocate(struct xr_state *st, int fd)
{
	enum xr_kind k;

	for (k = XR_FALLOC; k <= XR_INSERT; k++) {
		int ret = fallocate(fd, xr_falloc_mode(k), 4 * st->block,
				    2 * st->block);

		if (probe_result(st, k, ret, "fallocate"))
			return -1;
	}
	return 0;
}

static int probe_copy(struct xr_state *st, int fd)
{
	loff_t src = 1, dst = 8 * st->block + 3;
	ssize_t n = copy_file_range(fd, &src, fd, &dst, 100, 0);

	if (n >= 0 && n != 100)
		errno = EIO;
	if (probe_result(st, XR_COPY, n == 100 ? 0 : -1, "copy_file_range"))
		return -1;
	st->supported[XR_COPY_SELF] = st->supported[XR_COPY];
	return 0;
}

int xr_probe(struct xr_state *st)
{
	char path[4096 + 8];
	uint64_t len = 16 * st->block;
	uint8_t *data = calloc(1, len);
	enum xr_kind k;
	int fd, ret = -1;

	for (k = 0; k < XR_NR_KINDS; k++)
		st->supported[k] = true;
	snprintf(path, sizeof(path), "%s.probe", st->cfg->path);
	if (!data)
		return -1;
	xr_fill(data, 0, len, 0);
	if (write_file(path, data, len)) {
		fprintf(stderr, "exerciser: writing %s: %s\n", path,
			strerror(errno));
		free(data);
		return -1;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0 && !probe_direct(st, path) && !probe_mmap(st, fd) &&
	    !probe_copy(st, fd) && !probe_fallocate(st, fd))
		ret = 0;
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(data);
	return ret;
}
