// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File contents for tests: a position-dependent pattern (so a block that
 * lands at the wrong offset is caught, not just a wrong byte), whole-file
 * read/write and a content hash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mount_helpers.h"

#define CHUNK (1 << 20)

/* splitmix64: a cheap, well-mixed function of (seed, word index). */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void tfs_pattern(void *buf, size_t size, off_t offset, unsigned int seed)
{
	unsigned char *p = buf;
	uint64_t word = 0, idx = UINT64_MAX;
	size_t i;

	for (i = 0; i < size; i++) {
		uint64_t pos = (uint64_t)offset + i;

		if (pos / 8 != idx) {
			idx = pos / 8;
			word = mix(((uint64_t)seed << 40) ^ idx);
		}
		p[i] = word >> (8 * (pos % 8));
	}
}

int tfs_write_pattern(const char *path, off_t offset, size_t size,
		      unsigned int seed, int open_flags)
{
	char *buf = malloc(CHUNK);
	size_t done = 0;
	int fd;

	if (!buf)
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC | open_flags, 0644);
	if (fd < 0) {
		fprintf(stderr, "# open %s: %s\n", path, strerror(errno));
		free(buf);
		return -1;
	}
	while (done < size) {
		size_t n = size - done < CHUNK ? size - done : CHUNK;
		ssize_t w;

		tfs_pattern(buf, n, offset + done, seed);
		w = pwrite(fd, buf, n, offset + done);
		if (w <= 0) {
			fprintf(stderr, "# pwrite %s at %lld: %s\n", path,
				(long long)(offset + done),
				w < 0 ? strerror(errno) : "short write");
			break;
		}
		done += w;
	}
	free(buf);
	if (close(fd) < 0 && done == size) {
		fprintf(stderr, "# close %s: %s\n", path, strerror(errno));
		return -1;
	}
	return done == size ? 0 : -1;
}

int tfs_check_pattern(const char *path, off_t offset, size_t size,
		      unsigned int seed)
{
	char *want = malloc(CHUNK), *got = malloc(CHUNK);
	size_t done = 0;
	int fd, ret = -1;

	if (!want || !got)
		goto out;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "# open %s: %s\n", path, strerror(errno));
		goto out;
	}
	while (done < size) {
		size_t n = size - done < CHUNK ? size - done : CHUNK;
		ssize_t r = pread(fd, got, n, offset + done);
		size_t i;

		if (r <= 0) {
			fprintf(stderr, "# pread %s at %lld: %s\n", path,
				(long long)(offset + done),
				r < 0 ? strerror(errno) : "end of file");
			break;
		}
		tfs_pattern(want, r, offset + done, seed);
		if (memcmp(want, got, r)) {
			for (i = 0; i < (size_t)r && want[i] == got[i]; i++)
				;
			fprintf(stderr, "# %s differs at byte %lld\n", path,
				(long long)(offset + done + i));
			break;
		}
		done += r;
	}
	close(fd);
	if (done == size)
		ret = 0;
out:
	free(want);
	free(got);
	return ret;
}

int tfs_write_file(const char *path, const void *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const char *p = data;
	size_t done = 0;

	if (fd < 0) {
		fprintf(stderr, "# open %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (done < size) {
		ssize_t w = write(fd, p + done, size - done);

		if (w <= 0) {
			fprintf(stderr, "# write %s: %s\n", path,
				w < 0 ? strerror(errno) : "short write");
			close(fd);
			return -1;
		}
		done += w;
	}
	if (close(fd) < 0) {
		fprintf(stderr, "# close %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

char *tfs_read_file(const char *path, size_t *size)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *n = realloc(buf, cap * 2);

			if (!n)
				break;
			buf = n;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	close(fd);
	buf[len] = '\0';
	if (size)
		*size = len;
	return buf;
}

int tfs_file_hash(const char *path, uint64_t *hash)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char *buf = malloc(CHUNK);
	int fd, ret = 0;

	if (!buf)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf, CHUNK), i;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			ret = -1;
		if (r <= 0)
			break;
		for (i = 0; i < r; i++) {
			h ^= (unsigned char)buf[i];
			h *= 0x100000001b3ULL;
		}
	}
	close(fd);
	free(buf);
	*hash = h;
	return ret;
}

int tfs_status_field(const char *status_path, const char *key, char *val,
		     size_t len)
{
	FILE *f = fopen(status_path, "re");
	size_t klen = strlen(key);
	char line[512];
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		snprintf(val, len, "%s", line + klen + 1 +
			 strspn(line + klen + 1, " \t"));
		val[strcspn(val, "\n")] = '\0';
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}
