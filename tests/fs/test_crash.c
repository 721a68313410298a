// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Crash safety, classic FUSE on the host: fuse2fs is killed with SIGKILL
 * while several processes write, rename, unlink, fsync and set xattrs.
 * Then: every access to the mount fails with ENOTCONN, every writer
 * returns (none hangs), a plain umount works, the kernel log has no new
 * warning, `e2fsck -fy` repairs the image (`e2fsck -fn` is then clean),
 * the tree that was not being written is exactly as before (manifest),
 * and every file whose fsync() returned holds its data (the durability
 * promise of fuse2fs.1), as does every file closed before the kill, and
 * no file holds another file's bytes (ordered writes).  Three rounds kill
 * the server at different moments; each round starts from the image the
 * previous one repaired.  finished_changes_survive_sigkill kills it right
 * after a few changes that were never fsynced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#define WRITERS		3
#define CHUNK		(64 << 10)
#define CHUNKS		16
#define MAX_SYNCED	4096
#define WRITER_WAIT_MS	20000

/* Files whose fsync() returned, shared with the writer processes. */
struct synced {
	unsigned int count;
	struct {
		char name[96];
		unsigned int seed;
		size_t size;
	} f[MAX_SYNCED];
};

FIXTURE(crash) {
	struct tfs_env env;
	struct tfs_mount *m;
	struct synced *synced;	/* fsync() returned */
	struct synced *closed;	/* written and closed, no fsync */
};

FIXTURE_SETUP(crash)
{
	static const struct tfs_mkfs_opts opts = { .size_mb = 256 };

	TFS_SKIP_UNLESS_MOUNTABLE();
	umask(0);
	ASSERT_EQ(0, tfs_env_init(&self->env));
	ASSERT_EQ(0, tfs_mkfs(self->env.image, &opts));
	self->m = &self->env.fuse;
	self->synced = mmap(NULL, 2 * sizeof(struct synced),
			    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			    -1, 0);
	ASSERT_NE(MAP_FAILED, self->synced);
	self->closed = self->synced + 1;
}

FIXTURE_TEARDOWN_PARENT(crash)
{
	tfs_env_cleanup(&self->env);
}

/* The tree nobody writes during the crash, synced to the image. */
static int make_stable_tree(const struct tfs_mount *m)
{
	char path[TFS_PATH_MAX + 64];
	int i, fd, ret = 0;

	if (mkdir(tfs_p(m, "stable"), 0755) || mkdir(tfs_p(m, "busy"), 0755))
		return -1;
	for (i = 0; i < 40 && !ret; i++) {
		snprintf(path, sizeof(path), "%s/stable/f%d", m->dir, i);
		ret = tfs_write_pattern(path, 0, (size_t)(i + 1) * 7000, i + 1,
					O_CREAT);
		if (!ret && i % 4 == 0)
			ret = setxattr(path, "user.k", "stable", 6, 0);
		if (!ret && i % 10 == 0) {
			snprintf(path, sizeof(path), "%s/stable/d%d", m->dir,
				 i);
			ret = mkdir(path, 0700);
		}
	}
	if (!ret)
		ret = symlink("f1", tfs_p(m, "stable/link"));
	/* fuse2fs's fsync writes back everything it holds. */
	fd = open(tfs_p(m, "stable/f0"), O_RDONLY);
	if (fd < 0 || fsync(fd))
		ret = -1;
	if (fd >= 0)
		close(fd);
	return ret;
}

static void record_synced(struct synced *s, const char *name,
			  unsigned int seed, size_t size)
{
	unsigned int i = __atomic_fetch_add(&s->count, 1, __ATOMIC_SEQ_CST);

	if (i >= MAX_SYNCED)
		return;
	snprintf(s->f[i].name, sizeof(s->f[i].name), "%s", name);
	s->f[i].size = size;
	__atomic_store_n(&s->f[i].seed, seed, __ATOMIC_SEQ_CST);
}

#define FILE_SEED(round, id, n)	(1000000u * (round) + 1000u * (id) + (n))

/*
 * One writer: loops until the mount fails under it, then exits.  Files
 * n % 4: 0 written in 64 KiB pieces and fsynced (durable); 1 in 4 KiB
 * pieces, renamed, given an xattr; 2 written and unlinked; 3 in 4 KiB
 * pieces and closed, never fsynced (ordered writes keep it too).
 */
static void writer(const struct tfs_mount *m, int id, int round,
		   struct synced *s, struct synced *closed)
{
	static char buf[CHUNK];
	char name[96], path[TFS_PATH_MAX + 128], other[TFS_PATH_MAX + 256];
	unsigned int seed;
	size_t piece;
	int n, c, fd;

	for (n = 0;; n++) {
		snprintf(name, sizeof(name), "busy/r%dw%dn%d", round, id, n);
		snprintf(path, sizeof(path), "%s/%s", m->dir, name);
		seed = FILE_SEED(round, id, n);
		piece = n % 2 ? 4096 : CHUNK;
		fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0)
			_exit(0);
		for (c = 0; c < CHUNKS * CHUNK / (int)piece; c++) {
			tfs_pattern(buf, piece, (off_t)c * piece, seed);
			if (write(fd, buf, piece) != (ssize_t)piece)
				_exit(0);
		}
		if (n % 4 == 0) {
			if (fsync(fd))
				_exit(0);
			/* Durable from here on; never touched again. */
			record_synced(s, name, seed, (size_t)CHUNK * CHUNKS);
		}
		if (close(fd))
			_exit(0);
		if (n % 4 == 3)
			record_synced(closed, name, seed,
				      (size_t)CHUNK * CHUNKS);
		if (n % 4 == 1) {
			snprintf(other, sizeof(other), "%s.moved", path);
			if (rename(path, other) ||
			    setxattr(other, "user.n", "moved", 5, 0))
				_exit(0);
		} else if (n % 4 == 2) {
			if (unlink(path))
				_exit(0);
			snprintf(other, sizeof(other), "%s/busy/r%dw%dd",
				 m->dir, round, id);
			if (mkdir(other, 0755) || rmdir(other))
				_exit(0);
		}
	}
}

/* New kernel log lines that say something went wrong; -1 on error. */
static int klog_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

static int klog_bad_lines(int fd)
{
	static const char *const bad[] = {
		"BUG", "WARNING", "Oops", "general protection",
		"blocked for more than", NULL,
	};
	char rec[8192];
	int found = 0, i;
	ssize_t n;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: skip */
		if (n <= 0)
			break;
		rec[n] = '\0';
		for (i = 0; bad[i]; i++) {
			if (strstr(rec, bad[i])) {
				fprintf(stderr, "# kernel: %s", rec);
				found++;
				break;
			}
		}
	}
	return found;
}

/* Wait for the writers; the ones still running after ms are killed. */
static int reap_writers(pid_t *pids, int n, int ms)
{
	int hung = 0, i, left = n, status;
	struct timespec t = { 0, 10 * 1000 * 1000 };

	for (; ms > 0 && left; ms -= 10) {
		for (i = 0; i < n; i++) {
			if (pids[i] && waitpid(pids[i], &status, WNOHANG) ==
				       pids[i]) {
				pids[i] = 0;
				left--;
			}
		}
		nanosleep(&t, NULL);
	}
	for (i = 0; i < n; i++) {
		if (!pids[i])
			continue;
		fprintf(stderr, "# writer %d hangs\n", (int)pids[i]);
		kill(pids[i], SIGKILL);
		waitpid(pids[i], &status, 0);
		hung++;
	}
	return hung;
}

/*
 * No block of a file that was being written holds anything but its own
 * data or zeroes: never an earlier file's bytes (ordered writes).
 */
static void check_no_stale_data(struct __test_metadata *_metadata,
				const struct tfs_mount *m)
{
	static char want[4096], got[4096];
	char path[TFS_PATH_MAX + 320];
	int round, id, n, fd, bad = 0;
	struct dirent *de;
	off_t off;
	DIR *d;

	d = opendir(tfs_p(m, "busy"));
	ASSERT_NE(NULL, d);
	while ((de = readdir(d)) && bad < 5) {
		if (sscanf(de->d_name, "r%dw%dn%d", &round, &id, &n) != 3)
			continue;
		snprintf(path, sizeof(path), "%s/busy/%s", m->dir, de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		for (off = 0; pread(fd, got, sizeof(got), off) > 0;
		     off += sizeof(got)) {
			tfs_pattern(want, sizeof(want), off,
				    FILE_SEED(round, id, n));
			if (memcmp(got, want, sizeof(got)) &&
			    memcmp(got, (char[4096]){ 0 }, sizeof(got))) {
				TH_LOG("%s: foreign bytes at %lld", de->d_name,
				       (long long)off);
				bad++;
				break;
			}
		}
		close(fd);
	}
	closedir(d);
	EXPECT_EQ(0, bad);
}

/* Every file recorded (fsynced, or closed), in every round so far. */
static void check_synced(struct __test_metadata *_metadata,
			 const struct tfs_mount *m, const struct synced *s)
{
	unsigned int i, count = s->count < MAX_SYNCED ? s->count : MAX_SYNCED;
	char path[TFS_PATH_MAX + 128];
	struct stat st;

	for (i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", m->dir, s->f[i].name);
		ASSERT_EQ(0, stat(path, &st)) TH_LOG("%s is gone",
						     s->f[i].name);
		EXPECT_EQ((off_t)s->f[i].size, st.st_size)
			TH_LOG("%s", s->f[i].name);
		EXPECT_EQ(0, tfs_check_pattern(path, 0, s->f[i].size,
					       s->f[i].seed))
			TH_LOG("%s lost data", s->f[i].name);
	}
}

TEST_F(crash, sigkill_during_heavy_writes)
{
	static const int delays_ms[] = { 150, 700, 1500 };
	struct tfs_mount *m = self->m;
	char *before, *after, *out;
	pid_t pids[WRITERS];
	int round, i, kfd, r;
	struct stat st;

	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
	ASSERT_EQ(0, make_stable_tree(m));
	before = tfs_manifest(tfs_p(m, "stable"), TFS_MF_NO_ATIME);
	ASSERT_NE(NULL, before);

	for (round = 0; round < 3; round++) {
		kfd = klog_open();
		for (i = 0; i < WRITERS; i++) {
			pids[i] = fork();
			ASSERT_LE(0, pids[i]);
			if (pids[i] == 0)
				writer(m, i, round, self->synced,
				       self->closed);
		}
		usleep(delays_ms[round] * 1000);
		ASSERT_EQ(0, kill(m->server, SIGKILL));

		/* Nobody hangs: every writer fails and returns. */
		EXPECT_EQ(0, reap_writers(pids, WRITERS, WRITER_WAIT_MS));
		TFS_EXPECT_ERRNO(ENOTCONN, stat(tfs_p(m, "stable"), &st));
		EXPECT_EQ(0, umount2(m->dir, 0))
			TH_LOG("umount: %s", strerror(errno));
		r = tfs_wait_server(m, 10000);
		EXPECT_EQ(128 + SIGKILL, r);
		EXPECT_FALSE(m->left_mounted);
		if (kfd >= 0) {
			EXPECT_EQ(0, klog_bad_lines(kfd));
			close(kfd);
		}

		/* e2fsck repairs; then it is clean. */
		r = tfs_runl(TFS_FSCK_TIMEOUT_MS, &out, "e2fsck", "-fy",
			     self->env.image, NULL);
		EXPECT_TRUE(r == 0 || r == 1) TH_LOG("e2fsck -fy: %d", r);
		tfs_log_text("e2fsck -fy after the kill", out);
		free(out);
		ASSERT_EQ(0, tfs_fsck(self->env.image));

		/* What was not being written is intact; fsync held. */
		ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
		after = tfs_manifest(tfs_p(m, "stable"), TFS_MF_NO_ATIME);
		ASSERT_NE(NULL, after);
		EXPECT_EQ(0, tfs_manifest_diff("before", before,
					       "after the crash", after));
		free(after);
		check_synced(_metadata, m, self->synced);
		check_synced(_metadata, m, self->closed);
		check_no_stale_data(_metadata, m);
		TH_LOG("round %d: killed after %d ms, %u files fsynced and %u "
		       "closed so far", round, delays_ms[round],
		       self->synced->count, self->closed->count);
	}
	free(before);
	TFS_ASSERT_UNMOUNT_CLEAN(m);
}

/*
 * Ordered writes: files, a directory, a symlink and an xattr written and
 * closed just before the kill, never fsynced, survive e2fsck -fy whole.
 */
TEST_F(crash, finished_changes_survive_sigkill)
{
	struct tfs_mount *m = self->m;
	char path[TFS_PATH_MAX + 64], *s;
	struct stat st;
	int i, r;

	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
	for (i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), "%s/f%d", m->dir, i);
		ASSERT_EQ(0, tfs_write_pattern(path, 0, 4096, 50 + i,
					       O_CREAT));
	}
	ASSERT_EQ(0, mkdir(tfs_p(m, "d"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_p(m, "d/small"), "small", 5));
	ASSERT_EQ(0, symlink("d/small", tfs_p(m, "link")));
	ASSERT_EQ(0, setxattr(tfs_p(m, "f0"), "user.k", "v", 1, 0));
	ASSERT_EQ(0, kill(m->server, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, tfs_wait_server(m, 10000));

	r = tfs_runl(TFS_FSCK_TIMEOUT_MS, NULL, "e2fsck", "-fy",
		     self->env.image, NULL);
	EXPECT_TRUE(r == 0 || r == 1) TH_LOG("e2fsck -fy: %d", r);
	ASSERT_EQ(0, tfs_fsck(self->env.image));
	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
	for (i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), "%s/f%d", m->dir, i);
		EXPECT_EQ(0, tfs_check_pattern(path, 0, 4096, 50 + i))
			TH_LOG("f%d", i);
	}
	s = tfs_read_file(tfs_p(m, "link"), NULL);
	EXPECT_STREQ("small", s ? s : "(missing)");
	free(s);
	EXPECT_EQ(1, getxattr(tfs_p(m, "f0"), "user.k", path, sizeof(path)));
	EXPECT_EQ(0, lstat(tfs_p(m, "link"), &st));
	TFS_ASSERT_UNMOUNT_CLEAN(m);
}

TEST_HARNESS_MAIN
