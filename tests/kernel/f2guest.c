// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Helpers of the guest tests that run fuse2fs (f2guest.h).
 *
 * Environment: KT_DEVICE (default /dev/ubdb), KT_FUSE2FS (default: the
 * fuse2fs of this build tree).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "f2guest.h"

#define FS_SIZE		"1G"

const char *f2g_device(void)
{
	return kt_device();
}

static const char *f2g_fuse2fs_bin(void)
{
	const char *s = getenv("KT_FUSE2FS");

	return s ? s : KT_FUSE2FS;
}

int f2g_mkfs(const char *features)
{
	return kt_sh(120, "mke2fs -q -F -t ext4 -b 4096 %s%s %s %s",
		     features ? "-O " : "", features ? features : "",
		     f2g_device(), FS_SIZE);
}

int f2g_unmount_and_fsck(struct kt_server *srv)
{
	int stopped = kt_server_stop(srv);
	int fsck = kt_sh(120, "e2fsck -fn %s", f2g_device());

	return stopped ? stopped : fsck;
}

int f2g_mount_opts(struct kt_server *srv, const char *opts)
{
	const char *argv[] = { f2g_fuse2fs_bin(), f2g_device(), "@MNT@", "-o",
			       opts, "-f", NULL };

	return kt_server_start(srv, argv);
}

int f2g_mount(struct kt_server *srv)
{
	return f2g_mount_opts(srv, "iomap=auto");
}

/* Where buf first differs from the pattern (seed 0: zeroes). */
static size_t first_wrong(const char *buf, size_t len, uint64_t off,
			  uint32_t seed)
{
	size_t i = 0;

	if (seed)
		return kt_check(buf, len, off, seed);
	while (i < len && !buf[i])
		i++;
	return i;
}

/* Compare a file, region by region, with what the regions say. */
int f2g_check_regions(const char *path, const struct region *r, int n,
			 bool direct)
{
	int fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
	uint64_t chunk = 4 * MIB;
	char *buf = kt_alloc(chunk);
	int i, bad = 0;

	if (fd < 0 || !buf) {
		fprintf(stderr, "# open %s: %s\n", path, strerror(errno));
		free(buf);
		return -1;
	}
	for (i = 0; i < n && !bad; i++) {
		uint64_t done;

		for (done = 0; done < r[i].len && !bad; done += chunk) {
			uint64_t len = r[i].len - done < chunk ?
				       r[i].len - done : chunk;
			uint64_t off = r[i].off + done;
			ssize_t got = pread(fd, buf, len, off);

			if (got != (ssize_t)len) {
				fprintf(stderr, "# %s: read %zd of %llu at %llu\n",
					path, got, (unsigned long long)len,
					(unsigned long long)off);
				bad = 1;
			} else if (r[i].seed ? kt_check(buf, len, off, r[i].seed) >= 0 :
				   !kt_is_zero(buf, len)) {
				fprintf(stderr, "# %s: wrong data in region %d, first at %llu\n",
					path, i, (unsigned long long)off +
					first_wrong(buf, len, off, r[i].seed));
				bad = 1;
			}
		}
	}
	close(fd);
	free(buf);
	return bad ? -1 : 0;
}

int f2g_write_regions(const char *path, const struct region *r, int n)
{
	uint64_t max = 0;
	char *buf;
	int i, fd, err = 0;

	fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	for (i = 0; i < n; i++)
		if (r[i].seed && r[i].len > max)
			max = r[i].len;
	buf = kt_alloc(max);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++) {
		if (!r[i].seed)
			continue;
		kt_fill(buf, r[i].len, r[i].off, r[i].seed);
		err = kt_direct_pwrite(path, buf, r[i].len, r[i].off);
		if (err)
			fprintf(stderr, "# direct write of %llu at %llu: %s\n",
				(unsigned long long)r[i].len,
				(unsigned long long)r[i].off, strerror(-err));
	}
	free(buf);
	return err;
}

/* Mount the device read-only with kernel ext4 on a fresh directory. */
int f2g_ext4_mount(char *dir, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/ext4.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	if (mount(f2g_device(), dir, "ext4", MS_RDONLY, NULL)) {
		fprintf(stderr, "# mount ext4: %s\n", strerror(errno));
		rmdir(dir);
		return -1;
	}
	return 0;
}

void f2g_ext4_unmount(const char *dir)
{
	umount(dir);
	rmdir(dir);
}

/* After unmount: kernel ext4 reads the same bytes from the device. */
int f2g_check_with_ext4(const char *name, const struct region *r, int n,
			uint64_t size)
{
	char dir[KT_PATH_MAX], path[2 * KT_PATH_MAX];
	bool direct = true;
	struct stat st;
	int i, ret;

	if (f2g_ext4_mount(dir, sizeof(dir)))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* O_DIRECT, unless a region is not block aligned (ext4 refuses) */
	for (i = 0; i < n; i++)
		if ((r[i].off | r[i].len) & 4095)
			direct = false;
	ret = f2g_check_regions(path, r, n, direct);
	if (!ret && (stat(path, &st) || (uint64_t)st.st_size != size)) {
		fprintf(stderr, "# ext4 sees size %lld, expected %llu\n",
			(long long)st.st_size, (unsigned long long)size);
		ret = -1;
	}
	f2g_ext4_unmount(dir);
	return ret;
}

int f2g_stat_with_ext4(const char *name, struct stat *st)
{
	char dir[KT_PATH_MAX], path[2 * KT_PATH_MAX];
	int ret;

	if (f2g_ext4_mount(dir, sizeof(dir)))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = stat(path, st) ? -errno : 0;
	f2g_ext4_unmount(dir);
	return ret;
}

/* After unmount: kernel ext4 reads exactly want[0, size) as the file. */
int f2g_compare_with_ext4(const char *name, const void *want, size_t size)
{
	char dir[KT_PATH_MAX], path[2 * KT_PATH_MAX];
	char *got = kt_alloc(size + 4096);
	ssize_t n = -1;
	int fd;

	if (!got || f2g_ext4_mount(dir, sizeof(dir))) {
		free(got);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = pread(fd, got, size + 4096, 0);
		close(fd);
	}
	f2g_ext4_unmount(dir);
	if (n != (ssize_t)size || memcmp(got, want, size)) {
		fprintf(stderr, "# ext4 reads %zd bytes of %s, %s\n", n, name,
			n == (ssize_t)size ? "different" : "wrong size");
		n = -1;
	}
	free(got);
	return n < 0 ? -1 : 0;
}

/* A GETATTR reply carries the server's mode of a file (protocol 3.1) */
int f2g_refresh_mode(const char *path)
{
	struct statx stx;

	return statx(AT_FDCWD, path, AT_STATX_FORCE_SYNC, STATX_BASIC_STATS,
		     &stx);
}

/*
 * fuse2fs tells the kernel of a mode change with FUSE_NOTIFY_INVAL_ENTRY
 * from a thread of its own, some time after the reply: an open right
 * after setxattr() may come first and keep the old mode.  A GETATTR
 * reply carries the new mode as well, so ask for one.
 */
int f2g_set_preference(const char *path, const char *pref)
{
	int ret;

	if (pref)
		ret = setxattr(path, "user.fuse2fs.iomap", pref, strlen(pref),
			       0);
	else
		ret = removexattr(path, "user.fuse2fs.iomap");
	if (ret)
		return -1;
	return f2g_refresh_mode(path);
}

/* The mode the kernel applies at open: ask through a descriptor. */
int f2g_path_iomap(const char *path)
{
	int fd = open(path, O_RDONLY), mode;

	if (fd < 0)
		return -1;
	mode = kt_fd_iomap(fd, NULL);
	close(fd);
	return mode;
}
