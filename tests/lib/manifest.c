// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tree manifests: one sorted text line per file with everything stat(),
 * readlink() and the xattr calls report, so the same tree seen through
 * two mounts (fuse2fs and kernel ext4) can be compared with strcmp() and
 * the differences printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mount_helpers.h"

struct mf_state {
	const char *root;
	size_t root_len;
	unsigned int flags;
	char **lines;
	size_t count, cap;
	bool failed;
};

static struct mf_state *mf;	/* nftw() callbacks take no context */

static uint64_t fnv(const void *data, size_t len, uint64_t h)
{
	const unsigned char *p = data;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * A content hash that is the same for a hole and for zeros: only the
 * non-zero 4 KiB blocks are hashed, each with its offset.  Data regions
 * are found with SEEK_DATA/SEEK_HOLE so a sparse 5 GiB file costs a few
 * reads (falling back to reading everything when lseek cannot tell).
 */
static int sparse_hash(const char *path, off_t size, uint64_t *hash)
{
	const size_t chunk = 1 << 20, blk = 4096;
	uint64_t h = 0xcbf29ce484222325ULL;
	static char zero[4096];
	off_t pos = 0, end;
	char *buf;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	buf = malloc(chunk);
	if (!buf) {
		close(fd);
		return -1;
	}
	while (pos < size && !ret) {
		off_t data = lseek(fd, pos, SEEK_DATA);

		if (data < 0 && errno == ENXIO)
			break;		/* only a hole remains */
		if (data < 0) {
			data = pos;	/* no SEEK_DATA: read it all */
			end = size;
		} else {
			end = lseek(fd, data, SEEK_HOLE);
			if (end < 0 || end > size)
				end = size;
		}
		/* Whole blocks, so the offsets hashed do not depend on it. */
		pos = data - data % blk;
		while (pos < end) {
			ssize_t n = pread(fd, buf, chunk, pos), i;

			if (n < 0) {
				ret = -1;
				break;
			}
			if (n == 0)
				break;
			for (i = 0; i < n; i += blk) {
				size_t len = n - i < (ssize_t)blk ?
					     (size_t)(n - i) : blk;

				if (!memcmp(buf + i, zero, len))
					continue;
				h = fnv(&(uint64_t){ pos + i }, 8, h);
				h = fnv(buf + i, len, h);
			}
			pos += n;
		}
		if (pos < end)
			pos = end;
	}
	free(buf);
	close(fd);
	*hash = h;
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* " xattrs=name:hash,name:hash" for every xattr, names sorted. */
static void xattr_part(const char *path, char *out, size_t size)
{
	char names[65536], *name, *sorted[256], value[65536];
	ssize_t len = llistxattr(path, names, sizeof(names));
	size_t n = 0, used = 0, i;

	out[0] = '\0';
	if (len < 0) {
		if (errno != ENOTSUP)
			snprintf(out, size, " xattrs=error:%d", errno);
		return;
	}
	for (name = names; name < names + len && n < 256;
	     name += strlen(name) + 1)
		sorted[n++] = name;
	qsort(sorted, n, sizeof(sorted[0]), cmp_str);
	used = snprintf(out, size, " xattrs=");
	for (i = 0; i < n && used < size; i++) {
		ssize_t vlen = lgetxattr(path, sorted[i], value,
					 sizeof(value));

		used += snprintf(out + used, size - used, "%s%s:%zd:%016llx",
				 i ? "," : "", sorted[i], vlen,
				 vlen < 0 ? 0ULL :
				 (unsigned long long)fnv(value, vlen,
						0xcbf29ce484222325ULL));
	}
}

static char type_char(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return 'f';
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFCHR: return 'c';
	case S_IFBLK: return 'b';
	case S_IFIFO: return 'p';
	case S_IFSOCK: return 's';
	}
	return '?';
}

static int mf_visit(const char *path, const struct stat *unused, int flag,
		    struct FTW *ftw)
{
	unsigned int fl = mf->flags;
	char line[80000], extra[70000], times[200];
	const char *rel = path + mf->root_len;
	struct stat st;
	int n;

	if (lstat(path, &st) < 0) {
		fprintf(stderr, "# lstat %s: %s\n", path, strerror(errno));
		mf->failed = true;
		return 0;
	}
	if (!*rel)
		rel = "/";

	extra[0] = '\0';
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t len = readlink(path, target, sizeof(target) - 1);

		if (len < 0)
			len = snprintf(target, sizeof(target), "<error %d>",
				       errno);
		target[len] = '\0';
		snprintf(extra, sizeof(extra), " -> %s", target);
	} else if (S_ISREG(st.st_mode)) {
		uint64_t h = 0;

		if (sparse_hash(path, st.st_size, &h) < 0)
			snprintf(extra, sizeof(extra), " data=error");
		else
			snprintf(extra, sizeof(extra), " data=%016llx",
				 (unsigned long long)h);
	}
	if (!(fl & TFS_MF_NO_XATTRS))
		xattr_part(path, extra + strlen(extra),
			   sizeof(extra) - strlen(extra));

	times[0] = '\0';
	if (!(fl & TFS_MF_NO_TIMES)) {
		n = 0;
		if (!(fl & TFS_MF_NO_ATIME))
			n += snprintf(times + n, sizeof(times) - n,
				      " atime=%lld.%09ld",
				      (long long)st.st_atim.tv_sec,
				      st.st_atim.tv_nsec);
		n += snprintf(times + n, sizeof(times) - n,
			      " mtime=%lld.%09ld",
			      (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
		if (!(fl & TFS_MF_NO_CTIME))
			snprintf(times + n, sizeof(times) - n,
				 " ctime=%lld.%09ld",
				 (long long)st.st_ctim.tv_sec,
				 st.st_ctim.tv_nsec);
	}

	n = snprintf(line, sizeof(line), "%s %c%04o uid=%u gid=%u nlink=%lu",
		     rel, type_char(st.st_mode), st.st_mode & 07777,
		     st.st_uid, st.st_gid, (unsigned long)st.st_nlink);
	if (!(S_ISDIR(st.st_mode) && (fl & TFS_MF_NO_DIRSIZE)))
		n += snprintf(line + n, sizeof(line) - n, " size=%lld",
			      (long long)st.st_size);
	if (!(fl & TFS_MF_NO_BLOCKS) &&
	    !(S_ISDIR(st.st_mode) && (fl & TFS_MF_NO_DIRSIZE)))
		n += snprintf(line + n, sizeof(line) - n, " blocks=%lld",
			      (long long)st.st_blocks);
	if (!(fl & TFS_MF_NO_INO))
		n += snprintf(line + n, sizeof(line) - n, " ino=%llu",
			      (unsigned long long)st.st_ino);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		n += snprintf(line + n, sizeof(line) - n, " rdev=%u:%u",
			      major(st.st_rdev), minor(st.st_rdev));
	snprintf(line + n, sizeof(line) - n, "%s%s", times, extra);

	if (mf->count == mf->cap) {
		size_t cap = mf->cap ? mf->cap * 2 : 256;
		char **l = realloc(mf->lines, cap * sizeof(*l));

		if (!l) {
			mf->failed = true;
			return 1;
		}
		mf->lines = l;
		mf->cap = cap;
	}
	mf->lines[mf->count] = strdup(line);
	if (!mf->lines[mf->count]) {
		mf->failed = true;
		return 1;
	}
	mf->count++;
	return 0;
}

char *tfs_manifest(const char *root, unsigned int flags)
{
	struct mf_state st = {
		.root = root, .root_len = strlen(root), .flags = flags,
	};
	size_t total = 1, i;
	char *text = NULL, *p;

	mf = &st;
	if (nftw(root, mf_visit, 32, FTW_PHYS) < 0) {
		fprintf(stderr, "# walking %s: %s\n", root, strerror(errno));
		st.failed = true;
	}
	mf = NULL;
	if (!st.failed) {
		qsort(st.lines, st.count, sizeof(st.lines[0]), cmp_str);
		for (i = 0; i < st.count; i++)
			total += strlen(st.lines[i]) + 1;
		text = malloc(total);
	}
	if (text) {
		p = text;
		for (i = 0; i < st.count; i++)
			p = stpcpy(stpcpy(p, st.lines[i]), "\n");
		*p = '\0';
	}
	for (i = 0; i < st.count; i++)
		free(st.lines[i]);
	free(st.lines);
	return text;
}

/* The path part of a manifest line: up to the first space. */
static int path_cmp(const char *a, const char *b)
{
	size_t la = strcspn(a, " \n"), lb = strcspn(b, " \n");
	int r = strncmp(a, b, la < lb ? la : lb);

	return r ? r : (la > lb) - (la < lb);
}

int tfs_manifest_diff(const char *title_a, const char *a,
		      const char *title_b, const char *b)
{
	int diffs = 0;

	if (!a || !b) {
		fprintf(stderr, "# manifest missing (%s%s)\n",
			a ? "" : title_a, b ? "" : title_b);
		return 1;
	}
	while (*a || *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		int c = !*a ? 1 : !*b ? -1 : path_cmp(a, b);

		if (c == 0 && la == lb && !strncmp(a, b, la)) {
			a += la + !!a[la];
			b += lb + !!b[lb];
			continue;
		}
		diffs++;
		if (diffs <= 20) {
			if (c <= 0)
				fprintf(stderr, "# %s: %.*s\n", title_a,
					(int)la, a);
			if (c >= 0)
				fprintf(stderr, "# %s: %.*s\n", title_b,
					(int)lb, b);
		}
		if (c <= 0)
			a += la + !!a[la];
		if (c >= 0)
			b += lb + !!b[lb];
	}
	if (diffs > 20)
		fprintf(stderr, "# ... %d differing lines in all\n", diffs);
	return diffs;
}
