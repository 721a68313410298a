// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs in iomap mode on the patched kernel, contained and killed.
 *
 * sandbox_in_iomap_mode: with the device registered and a file served
 * through iomap, the server runs as nobody with no capability,
 * no_new_privs and the seccomp filter (Seccomp: 2 in every thread),
 * and it still switches a file's mode at run time (FUSE_NOTIFY_INVAL_*
 * from its notification thread, created after the filter).
 *
 * sigkill_during_heavy_writes: direct (iomap) and buffered writers,
 * fsync, renames and unlinks run when fuse2fs is killed with SIGKILL.
 * Every writer returns, the mount answers ENOTCONN, a plain umount works,
 * the kernel log holds no warning, `e2fsck -fy` repairs the device and
 * `e2fsck -fn` is then clean, the tree nobody was writing is unchanged
 * (manifest) and every fsynced file holds its data.  Runs in the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include "kselftest_harness.h"
#include "f2guest.h"
#include "mount_helpers.h"

#define WRITERS		3
#define FILE_BYTES	(2 * MIB)
#define MAX_SYNCED	1024

struct synced {
	unsigned int count;
	struct {
		char name[64];
		uint32_t seed;
	} f[MAX_SYNCED];
};

/*
 * The server of the test process.  Not in the fixture: with a parent
 * teardown the fixture is shared memory, and kt_server_start()'s fork()
 * would write the child's view of the pid into it.  The parent only
 * needs to know what to clean up if the test died: pid and dir below.
 */
static struct kt_server server;

#define note_server(self) do {						\
		(self)->pid = server.pid;				\
		snprintf((self)->dir, sizeof((self)->dir), "%s",	\
			 server.pid ? server.dir : "");			\
	} while (0)

FIXTURE(crash) {
	struct kt_server *srv;
	struct synced *synced;
	pid_t pid;
	char dir[KT_PATH_MAX];
};

FIXTURE_SETUP(crash)
{
	self->synced = mmap(NULL, sizeof(*self->synced),
			    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			    -1, 0);
	ASSERT_NE(MAP_FAILED, self->synced);
	ASSERT_EQ(0, f2g_mkfs(NULL));
	self->srv = &server;
	ASSERT_EQ(0, f2g_mount(self->srv));
	note_server(self);
}

/*
 * In the parent, so that it runs even after a failed assertion: a test
 * that died must not leave the guest's device busy for the next ones.
 */
FIXTURE_TEARDOWN_PARENT(crash)
{
	if (self->dir[0]) {
		umount2(self->dir, MNT_DETACH);
		rmdir(self->dir);
	}
	if (self->pid > 0)
		kill(self->pid, SIGKILL);
}

/* A field of the server's /proc status. */
static int status_line(pid_t pid, const char *key, char *val, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return tfs_status_field(path, key, val, len);
}

TEST_F(crash, sandbox_in_iomap_mode)
{
	const char *path = kt_path(self->srv, "f");
	char *buf = kt_alloc(MIB), val[128];
	int fd;

	ASSERT_NE(NULL, buf);
	kt_fill(buf, MIB, 0, 7);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, kt_direct_pwrite(path, buf, MIB, 0));
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, kt_fd_iomap(fd, NULL));
	close(fd);

	ASSERT_EQ(0, status_line(self->srv->pid, "Uid", val, sizeof(val)));
	EXPECT_STREQ("65534\t65534\t65534\t65534", val);
	ASSERT_EQ(0, status_line(self->srv->pid, "CapEff", val, sizeof(val)));
	EXPECT_STREQ("0000000000000000", val);
	ASSERT_EQ(0, status_line(self->srv->pid, "CapBnd", val, sizeof(val)));
	EXPECT_STREQ("0000000000000000", val);
	ASSERT_EQ(0, status_line(self->srv->pid, "NoNewPrivs", val,
				 sizeof(val)));
	EXPECT_STREQ("1", val);
	ASSERT_EQ(0, status_line(self->srv->pid, "Seccomp", val, sizeof(val)));
	EXPECT_STREQ("2", val);

	/* A mode switch: the notification thread starts under the filter. */
	ASSERT_EQ(0, f2g_set_preference(path, "classic"));
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, kt_fd_iomap(fd, NULL));
	ASSERT_EQ(MIB, (size_t)pread(fd, buf, MIB, 0));
	EXPECT_EQ(-1, kt_check(buf, MIB, 0, 7));
	close(fd);
	EXPECT_EQ(0, kill(self->srv->pid, 0));
	free(buf);
	EXPECT_EQ(0, f2g_unmount_and_fsck(self->srv));
	note_server(self);
}

static void record(struct synced *s, const char *name, uint32_t seed)
{
	unsigned int i = __atomic_fetch_add(&s->count, 1, __ATOMIC_SEQ_CST);

	if (i >= MAX_SYNCED)
		return;
	snprintf(s->f[i].name, sizeof(s->f[i].name), "%s", name);
	__atomic_store_n(&s->f[i].seed, seed, __ATOMIC_SEQ_CST);
}

/* Writes until the mount fails under it; writer 0 uses buffered IO. */
static void writer(const struct kt_server *srv, int id, struct synced *s)
{
	char *buf = kt_alloc(FILE_BYTES);
	char name[64], path[2 * KT_PATH_MAX], other[2 * KT_PATH_MAX + 8];
	int flags = O_CREAT | O_WRONLY | O_TRUNC | (id ? O_DIRECT : 0);
	uint32_t seed;
	int n, fd;

	if (!buf)
		_exit(1);
	for (n = 0;; n++) {
		snprintf(name, sizeof(name), "busy/w%dn%d", id, n);
		snprintf(path, sizeof(path), "%s/%s", srv->dir, name);
		seed = 1000 * id + n + 1;
		kt_fill(buf, FILE_BYTES, 0, seed);
		fd = open(path, flags, 0644);
		if (fd < 0)
			_exit(0);
		if (write(fd, buf, FILE_BYTES) != FILE_BYTES)
			_exit(0);
		if (n % 3 == 0) {
			if (fsync(fd))
				_exit(0);
			record(s, name, seed);
		}
		close(fd);
		if (n % 3 == 1) {
			snprintf(other, sizeof(other), "%s.old", path);
			if (rename(path, other))
				_exit(0);
		} else if (n % 3 == 2 && unlink(path)) {
			_exit(0);
		}
	}
}

static int make_stable(const struct kt_server *srv)
{
	char path[2 * KT_PATH_MAX];
	char *buf = kt_alloc(MIB);
	int i, fd, ret = 0;

	if (!buf || mkdir(kt_path(srv, "stable"), 0755) ||
	    mkdir(kt_path(srv, "busy"), 0755))
		return -1;
	for (i = 0; i < 12 && !ret; i++) {
		snprintf(path, sizeof(path), "%s/stable/f%d", srv->dir, i);
		kt_fill(buf, MIB, 0, 100 + i);
		fd = open(path, O_CREAT | O_WRONLY, 0644);
		if (fd < 0) {
			ret = -1;
			break;
		}
		close(fd);
		ret = kt_direct_pwrite(path, buf, (size_t)(i + 1) * 65536, 0);
		if (!ret && i % 3 == 0)
			ret = setxattr(path, "user.k", "v", 1, 0);
	}
	free(buf);
	fd = open(kt_path(srv, "stable/f0"), O_RDONLY);
	if (fd < 0 || fsync(fd))
		ret = -1;
	if (fd >= 0)
		close(fd);
	return ret;
}

TEST_F(crash, sigkill_during_heavy_writes)
{
	struct kt_server *srv = self->srv;
	char *before, *after;
	pid_t pids[WRITERS];
	int i, status, left, warn0, warn1, bug0, bug1;
	unsigned int k;
	struct stat st;

	ASSERT_EQ(0, make_stable(srv));
	before = tfs_manifest(kt_path(srv, "stable"), TFS_MF_NO_ATIME);
	ASSERT_NE(NULL, before);
	warn0 = kt_klog_count("WARNING");
	bug0 = kt_klog_count("BUG");

	for (i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0)
			writer(srv, i, self->synced);
	}
	usleep(1500 * 1000);
	ASSERT_EQ(0, kill(srv->pid, SIGKILL));
	ASSERT_EQ(srv->pid, waitpid(srv->pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	srv->pid = 0;
	self->pid = 0;

	/* No writer hangs on the dead server. */
	for (left = WRITERS, i = 0; i < 2000 && left; i++) {
		int j;

		for (j = 0; j < WRITERS; j++) {
			if (pids[j] && waitpid(pids[j], &status, WNOHANG) ==
				       pids[j]) {
				pids[j] = 0;
				left--;
			}
		}
		usleep(10 * 1000);
	}
	EXPECT_EQ(0, left);
	for (i = 0; i < WRITERS; i++) {
		if (pids[i]) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], &status, 0);
		}
	}
	TFS_EXPECT_ERRNO(ENOTCONN, stat(kt_path(srv, "stable"), &st));
	EXPECT_EQ(0, umount(srv->dir)) TH_LOG("umount: %s", strerror(errno));
	srv->mounted = false;
	warn1 = kt_klog_count("WARNING");
	bug1 = kt_klog_count("BUG");
	EXPECT_EQ(warn0, warn1);
	EXPECT_EQ(bug0, bug1);

	/* e2fsck repairs what the kill left; then it is clean. */
	status = kt_sh(300, "e2fsck -fy %s", f2g_device());
	EXPECT_TRUE(status == 0 || status == 1) TH_LOG("e2fsck -fy: %d",
						       status);
	ASSERT_EQ(0, kt_sh(300, "e2fsck -fn %s", f2g_device()));

	/* Untouched files are intact, fsynced ones hold their data. */
	kt_server_stop(srv);
	ASSERT_EQ(0, f2g_mount(srv));
	note_server(self);
	after = tfs_manifest(kt_path(srv, "stable"), TFS_MF_NO_ATIME);
	ASSERT_NE(NULL, after);
	EXPECT_EQ(0, tfs_manifest_diff("before", before, "after", after));
	for (k = 0; k < self->synced->count && k < MAX_SYNCED; k++) {
		char *buf = kt_alloc(FILE_BYTES);
		const char *p = kt_path(srv, self->synced->f[k].name);

		ASSERT_NE(NULL, buf);
		ASSERT_EQ(0, stat(p, &st)) TH_LOG("fsynced %s is gone", p);
		EXPECT_EQ(FILE_BYTES, st.st_size);
		EXPECT_EQ(0, kt_direct_pread(p, buf, FILE_BYTES, 0));
		EXPECT_EQ(-1, kt_check(buf, FILE_BYTES, 0,
				       self->synced->f[k].seed))
			TH_LOG("fsynced %s lost data", p);
		free(buf);
	}
	TH_LOG("%u files were fsynced before the kill", self->synced->count);
	free(before);
	free(after);
	EXPECT_EQ(0, f2g_unmount_and_fsck(srv));
	note_server(self);
}

TEST_HARNESS_MAIN
