// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every multi-step metadata update must survive a failure at any step
 * (issue 13, item 2).  A scripted workload does all of them: create,
 * write (small, unaligned, large), link, rename (across directories,
 * over an existing name, a directory), truncate, hole punch, zero range,
 * preallocation, xattrs in the inode and in a block (set, replace,
 * remove), a directory grown by hundreds of names and shrunk again,
 * symlinks, an inline-data file growing into extents, unlink of open and
 * closed files, rmdir.  fuse2fs counts the calls that reach the image or
 * the allocator (FUSE2FS_FAULT=0), then the workload runs again on a
 * fresh image for each N with the Nth call failing (EIO, or no space for
 * an allocation).  After unmount the image must be e2fsck-clean or hold
 * nothing but orphans (inodes e2fsck releases), and the server must have
 * exited normally.
 *
 * Every failure point is tried when FAULTS_ALL=1; by default points are
 * taken at a stride that keeps a run to a few minutes (FAULTS_MAX runs
 * per image kind, 120 by default).  The log says how many were covered.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#define KIB 1024L

FIXTURE(flt) {
	struct tfs_env env;
	char template[TFS_PATH_MAX + 16];
};

FIXTURE_VARIANT(flt) {
	const char *features;
};

FIXTURE_VARIANT_ADD(flt, ext4) { .features = NULL };
FIXTURE_VARIANT_ADD(flt, inline_data) { .features = "inline_data" };

FIXTURE_SETUP(flt)
{
	struct tfs_mkfs_opts o = {
		.size_mb = 32, .features = variant->features,
	};

	TFS_SKIP_UNLESS_MOUNTABLE();
	umask(0);
	ASSERT_EQ(0, tfs_env_init(&self->env));
	snprintf(self->template, sizeof(self->template), "%s.template",
		 self->env.image);
	ASSERT_EQ(0, tfs_mkfs(self->template, &o));
}

FIXTURE_TEARDOWN_PARENT(flt)
{
	unsetenv("FUSE2FS_FAULT");
	tfs_env_cleanup(&self->env);
}

static void put(const char *path, off_t off, size_t len, unsigned int seed)
{
	tfs_write_pattern(path, off, len, seed, O_CREAT);
}

static void falloc(const char *path, int mode, off_t off, off_t len)
{
	int fd = open(path, O_WRONLY);

	if (fd >= 0) {
		fallocate(fd, mode, off, len);
		close(fd);
	}
}

/* The workload; every step may fail once a call before it failed. */
static void workload(const struct tfs_mount *m)
{
	char big[3000], name[64];
	int i, fd;

	memset(big, 'v', sizeof(big));
	mkdir(tfs_p(m, "d"), 0755);
	mkdir(tfs_p(m, "d/sub"), 0755);
	put(tfs_p(m, "small"), 0, 60, 1);
	put(tfs_p(m, "f1"), 1234, 100 * KIB, 2);
	put(tfs_p(m, "f2"), 0, 1024 * KIB + 5, 3);
	put(tfs_p(m, "f3"), 4096, 8192, 4);
	/* An inline file outgrowing the inode (when the feature is on). */
	put(tfs_p(m, "small"), 60, 9000, 5);

	setxattr(tfs_p(m, "f1"), "user.in", "inode", 5, 0);
	setxattr(tfs_p(m, "f1"), "user.blk", big, 600, 0);
	setxattr(tfs_p(m, "f1"), "user.blk", big, 2000, XATTR_REPLACE);
	setxattr(tfs_p(m, "d"), "user.dir", big, 700, 0);
	removexattr(tfs_p(m, "f1"), "user.in");

	link(tfs_p(m, "f1"), tfs_p(m, "d/l1"));
	rename(tfs_p(m, "f2"), tfs_p(m, "d/f2"));
	rename(tfs_p(m, "d/f2"), tfs_p(m, "f3"));
	rename(tfs_p(m, "d/sub"), tfs_p(m, "sub2"));

	truncate(tfs_p(m, "f3"), 5000);
	truncate(tfs_p(m, "f3"), 3 * 1024 * KIB);
	falloc(tfs_p(m, "f3"), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	       100 * KIB, 300 * KIB);
	falloc(tfs_p(m, "f3"), FALLOC_FL_ZERO_RANGE, 10 * KIB, 50 * KIB);
	falloc(tfs_p(m, "f1"), FALLOC_FL_KEEP_SIZE, 2048 * KIB, 512 * KIB);

	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "d/entry-with-a-long-name-%03d", i);
		fd = open(tfs_p(m, name), O_CREAT | O_WRONLY, 0644);
		if (fd >= 0)
			close(fd);
	}
	for (i = 0; i < 300; i += 2) {
		snprintf(name, sizeof(name), "d/entry-with-a-long-name-%03d", i);
		unlink(tfs_p(m, name));
	}

	symlink("short", tfs_p(m, "s1"));
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	symlink(name, tfs_p(m, "s2"));

	/* Unlinked while open: deleted at the last close. */
	fd = open(tfs_p(m, "f1"), O_RDONLY);
	unlink(tfs_p(m, "f1"));
	unlink(tfs_p(m, "d/l1"));
	if (fd >= 0)
		close(fd);
	unlink(tfs_p(m, "small"));
	rmdir(tfs_p(m, "sub2"));
	unlink(tfs_p(m, "s2"));
}

/* "N calls" from the server's report, or -1. */
static long calls_counted(const struct tfs_mount *m)
{
	char *log = tfs_log_read(m), *p;
	long n = -1;

	p = log ? strstr(log, "fault injection: ") : NULL;
	if (p)
		n = strtol(p + strlen("fault injection: "), NULL, 10);
	free(log);
	return n;
}

/* One run with call n failing (0: none); 0 when the image is fine. */
static int one_run(struct _test_data_flt *self, long n, long *calls,
		   int *orphans)
{
	struct tfs_mount *m = &self->env.fuse;
	char val[32];
	int ret;

	if (tfs_runl(TFS_FSCK_TIMEOUT_MS, NULL, "cp", "--sparse=always",
		     self->template, self->env.image, NULL))
		return -1;
	/* A fresh log per run. */
	unlink(m->log);
	snprintf(val, sizeof(val), "%ld", n);
	setenv("FUSE2FS_FAULT", val, 1);
	ret = tfs_mount_fuse(m, self->env.image, NULL);
	unsetenv("FUSE2FS_FAULT");
	/*
	 * An image call failing at mount refuses the mount, also after the
	 * mount point appeared (marking the filesystem in use is its last
	 * step): fine, the image must still be clean.
	 */
	if (!ret) {
		workload(m);
		if (tfs_umount(m) && !(m->exit_status == 1 &&
		    tfs_log_count(m, "marking the filesystem in use") > 0)) {
			fprintf(stderr, "# N=%ld: unmount or server exit failed (status %d)\n",
				n, m->exit_status);
			return -1;
		}
		if (calls)
			*calls = calls_counted(m);
	}
	ret = tfs_fsck_orphans_only(self->env.image, orphans);
	if (ret) {
		char *log = tfs_log_read(m);

		fprintf(stderr, "# N=%ld: image not clean\n", n);
		tfs_log_text("fuse2fs log", log ? log : "");
		free(log);
	}
	return ret;
}

TEST_F_TIMEOUT(flt, every_failure_point, 1800)
{
	const char *all = getenv("FAULTS_ALL"), *max_env = getenv("FAULTS_MAX");
	const char *only = getenv("FAULTS_ONLY");
	long total = 0, n, stride, max = max_env ? atol(max_env) : 120;
	int orphans, left_orphans = 0, tried = 0, bad = 0;

	/* One point, to look at it: FAULTS_ONLY=N. */
	if (only) {
		EXPECT_EQ(0, one_run(self, atol(only), NULL, &orphans));
		return;
	}
	ASSERT_EQ(0, one_run(self, 0, &total, &orphans));
	ASSERT_EQ(0, orphans);
	ASSERT_LT(100, total) TH_LOG("the workload reached the image %ld times",
				     total);
	stride = all && *all == '1' ? 1 : (total + max - 1) / max;
	for (n = 1; n <= total; n += stride) {
		tried++;
		if (one_run(self, n, NULL, &orphans))
			bad++;
		else if (orphans)
			left_orphans++;
	}
	TH_LOG("%ld failure points, %d tried (every %ld), %d left orphans, %d not clean",
	       total, tried, stride, left_orphans, bad);
	EXPECT_EQ(0, bad);
}

TEST_HARNESS_MAIN
