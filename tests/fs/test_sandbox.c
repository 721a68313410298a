// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sandbox fuse2fs enters once mounted (fuse2fs/sandbox.c), seen from
 * outside: /proc/PID/status (uids, gids, every capability set,
 * NoNewPrivs, Seccomp) of every thread, the descriptors it holds, its
 * root directory; a forbidden system call made through the test hooks
 * of fuse2fs_hooks kills it with a log line and leaves a mount that
 * answers ENOTCONN and unmounts; it cannot open files.  Then the two
 * ways to run it without root: as a user owning the image (fusermount3),
 * and started by a privileged helper that passes the descriptors
 * (fuse2fs-contained).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#define HOOK		"trusted.fuse2fs_test."
#define EXIT_WAIT_MS	15000

FIXTURE(sbx) {
	struct tfs_env env;
	struct tfs_mount *m;
	uid_t nobody_uid;
	gid_t nobody_gid;
};

FIXTURE_SETUP(sbx)
{
	struct passwd *pw = getpwnam("nobody");

	TFS_SKIP_UNLESS_MOUNTABLE();
	ASSERT_EQ(0, tfs_env_init(&self->env));
	ASSERT_EQ(0, tfs_mkfs(self->env.image, NULL));
	self->m = &self->env.fuse;
	self->nobody_uid = pw ? pw->pw_uid : 65534;
	self->nobody_gid = pw ? pw->pw_gid : 65534;
	setenv("FUSE2FS_BIN", SBX_FUSE2FS, 1);
}

FIXTURE_TEARDOWN_PARENT(sbx)
{
	tfs_env_cleanup(&self->env);
}

struct expect {
	uid_t uid;
	gid_t gid;
	int seccomp;		/* 2: filter, 0: none */
};

/* One thread's status file says what the sandbox promises. */
static void check_task(struct __test_metadata *_metadata, const char *path,
		       const struct expect *e)
{
	static const char *const caps[] = {
		"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb",
	};
	char val[128], want[128];
	unsigned int i;

	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned int)e->uid,
		 (unsigned int)e->uid, (unsigned int)e->uid,
		 (unsigned int)e->uid);
	ASSERT_EQ(0, tfs_status_field(path, "Uid", val, sizeof(val)));
	EXPECT_STREQ(want, val) TH_LOG("%s", path);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned int)e->gid,
		 (unsigned int)e->gid, (unsigned int)e->gid,
		 (unsigned int)e->gid);
	ASSERT_EQ(0, tfs_status_field(path, "Gid", val, sizeof(val)));
	EXPECT_STREQ(want, val) TH_LOG("%s", path);
	ASSERT_EQ(0, tfs_status_field(path, "Groups", val, sizeof(val)));
	EXPECT_STREQ("", val) TH_LOG("%s: supplementary groups", path);
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		ASSERT_EQ(0, tfs_status_field(path, caps[i], val, sizeof(val)));
		EXPECT_STREQ("0000000000000000", val)
			TH_LOG("%s: %s", path, caps[i]);
	}
	ASSERT_EQ(0, tfs_status_field(path, "NoNewPrivs", val, sizeof(val)));
	EXPECT_STREQ("1", val) TH_LOG("%s", path);
	ASSERT_EQ(0, tfs_status_field(path, "Seccomp", val, sizeof(val)));
	EXPECT_EQ(e->seccomp, atoi(val)) TH_LOG("%s: Seccomp", path);
}

/* Descriptors: stdio, the image, /dev/fuse, a loop device; nothing else. */
static void check_fds(struct __test_metadata *_metadata, pid_t pid,
		      const char *image, const char *log)
{
	char dir[64], path[64 + 256], target[512];
	struct dirent *de;
	DIR *d;
	ssize_t n;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		EXPECT_TRUE(!strcmp(target, image) || !strcmp(target, log) ||
			    !strcmp(target, "/dev/null") ||
			    !strcmp(target, "/dev/fuse") ||
			    !strncmp(target, "/dev/loop", 9) ||
			    /* the unmount helper's (fuse2fs/unmounter.c) */
			    !strncmp(target, "socket:", 7) ||
			    (atoi(de->d_name) <= 2 &&
			     !strncmp(target, "pipe:", 5)))
			TH_LOG("fd %s -> %s", de->d_name, target);
	}
	closedir(d);
}

/* The server's root directory holds nothing at all. */
static void check_empty_root(struct __test_metadata *_metadata, pid_t pid)
{
	char path[64];
	struct dirent *de;
	int entries = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/root/", (int)pid);
	d = opendir(path);
	ASSERT_NE(NULL, d) TH_LOG("%s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			entries++;
			TH_LOG("%s holds %s", path, de->d_name);
		}
	}
	closedir(d);
	EXPECT_EQ(0, entries);
}

/* Every thread of pid, then its descriptors and root. */
static void check_contained(struct __test_metadata *_metadata, pid_t pid,
			    const struct expect *e, const char *image,
			    const char *log)
{
	char dir[64], path[64 + 256 + 8];
	struct dirent *de;
	int tasks = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", dir, de->d_name);
		check_task(_metadata, path, e);
		tasks++;
	}
	closedir(d);
	EXPECT_LE(1, tasks);
	check_fds(_metadata, pid, image, log);
	check_empty_root(_metadata, pid);
}

/* The mount works: a file written, read back, listed. */
static void use_mount(struct __test_metadata *_metadata,
		      const struct tfs_mount *m)
{
	char *back;

	ASSERT_EQ(0, tfs_write_file(tfs_p(m, "f"), "contained", 9));
	ASSERT_TRUE(mkdir(tfs_p(m, "d"), 0755) == 0 || errno == EEXIST);
	back = tfs_read_file(tfs_p(m, "f"), NULL);
	ASSERT_NE(NULL, back);
	EXPECT_STREQ("contained", back);
	free(back);
}

/* getxattr of a hook name: the reply, or -errno. */
static int hook(const struct tfs_mount *m, const char *what)
{
	char name[300], val[16];
	ssize_t n;

	snprintf(name, sizeof(name), HOOK "%s", what);
	n = getxattr(tfs_p(m, "f"), name, val, sizeof(val));
	return n < 0 ? -errno : 0;
}

static int mount_with(struct tfs_mount *m, const char *bin, const char *image,
		      const char *opts)
{
	setenv("FUSE2FS_BIN", bin, 1);
	return tfs_mount_fuse(m, image, opts);
}

TEST_F(sbx, root_serves_as_nobody)
{
	struct expect e = { self->nobody_uid, self->nobody_gid, 2 };

	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, NULL));
	use_mount(_metadata, self->m);
	check_contained(_metadata, self->m->server, &e, self->env.image,
			self->m->log);
	use_mount(_metadata, self->m);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(sbx, user_option)
{
	struct passwd *pw = getpwnam("daemon");
	struct expect e;

	if (!pw)
		SKIP(return, "no user 'daemon' here");
	e.uid = pw->pw_uid;
	e.gid = pw->pw_gid;
	e.seccomp = 2;
	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, "user=daemon"));
	use_mount(_metadata, self->m);
	check_contained(_metadata, self->m->server, &e, self->env.image,
			self->m->log);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* The opt-out really is one: the same checks fail without the sandbox. */
TEST_F(sbx, sandbox_off_keeps_root)
{
	char path[64], val[128];

	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, "sandbox=off"));
	use_mount(_metadata, self->m);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)self->m->server);
	ASSERT_EQ(0, tfs_status_field(path, "Uid", val, sizeof(val)));
	EXPECT_STREQ("0\t0\t0\t0", val);
	ASSERT_EQ(0, tfs_status_field(path, "Seccomp", val, sizeof(val)));
	EXPECT_STREQ("0", val);
	ASSERT_EQ(0, tfs_status_field(path, "CapEff", val, sizeof(val)));
	EXPECT_STRNE("0000000000000000", val);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * After a fatal system call: the mount answers ENOTCONN, unmounts, and
 * e2fsck repairs what a server killed while mounted leaves (the image is
 * marked in use), after which it is clean.
 */
static void expect_dead_and_repairable(struct __test_metadata *_metadata,
				       struct tfs_mount *m, int nr)
{
	struct stat st;
	char needle[64];
	int r;

	/* The connection is gone with the server: a plain umount works. */
	EXPECT_TRUE(tfs_is_mounted(m->dir, NULL, 0));
	EXPECT_EQ(0, umount2(m->dir, 0)) TH_LOG("umount: %s", strerror(errno));
	r = tfs_wait_server(m, EXIT_WAIT_MS);
	EXPECT_EQ(128 + SIGSYS, r) TH_LOG("server exit status %d", r);
	EXPECT_FALSE(m->left_mounted);
	snprintf(needle, sizeof(needle), "system call %d is not allowed", nr);
	EXPECT_EQ(1, tfs_log_count(m, needle)) TH_LOG("no \"%s\"", needle);
	EXPECT_EQ(0, stat(m->dir, &st));
	r = tfs_runl(TFS_FSCK_TIMEOUT_MS, NULL, "e2fsck", "-fy", m->image,
		     NULL);
	EXPECT_TRUE(r == 0 || r == 1) TH_LOG("e2fsck -fy: %d", r);
	EXPECT_EQ(0, tfs_fsck(m->image));
}

TEST_F(sbx, forbidden_syscall_is_fatal)
{
	struct stat st;

	/* Without the filter unshare(0) is harmless and answers "ok"... */
	ASSERT_EQ(0, mount_with(self->m, SBX_HOOKS_BIN, self->env.image,
				"sandbox=nofilter"));
	use_mount(_metadata, self->m);
	EXPECT_EQ(0, hook(self->m, "syscall.272"));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	unlink(self->m->log);

	/* ...with it, the server dies of it. */
	ASSERT_EQ(0, mount_with(self->m, SBX_HOOKS_BIN, self->env.image,
				NULL));
	use_mount(_metadata, self->m);
	/* The request in flight is aborted, the next ones find no server. */
	EXPECT_EQ(-ECONNABORTED, hook(self->m, "syscall.272"));
	TFS_ASSERT_ERRNO(ENOTCONN, stat(tfs_p(self->m, "f"), &st));
	expect_dead_and_repairable(_metadata, self->m, 272);
}

/*
 * A server stopped and continued (a debugger, job control) lives on: the
 * kernel resumes the watchdog thread's interrupted sleep with
 * restart_syscall, which the filter must allow.
 */
TEST_F(sbx, stopped_and_continued_server_lives)
{
	int round;

	ASSERT_EQ(0, tfs_mount_fuse(self->m, self->env.image, NULL));
	for (round = 0; round < 3; round++) {
		/* A request wakes the watchdog thread: it sleeps between samples */
		use_mount(_metadata, self->m);
		ASSERT_EQ(0, kill(self->m->server, SIGSTOP));
		usleep(100 * 1000);
		ASSERT_EQ(0, kill(self->m->server, SIGCONT));
		usleep(100 * 1000);
		ASSERT_EQ(0, kill(self->m->server, 0));
	}
	use_mount(_metadata, self->m);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(sbx, cannot_open_files)
{
	/* Control: without the sandbox the hook opens files. */
	ASSERT_EQ(0, mount_with(self->m, SBX_HOOKS_BIN, self->env.image,
				"sandbox=off"));
	use_mount(_metadata, self->m);
	EXPECT_EQ(0, hook(self->m, "open:/etc/passwd"));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	unlink(self->m->log);

	/* The empty mount namespace alone: nothing is there to open. */
	ASSERT_EQ(0, mount_with(self->m, SBX_HOOKS_BIN, self->env.image,
				"sandbox=nofilter"));
	use_mount(_metadata, self->m);
	EXPECT_EQ(-ENOENT, hook(self->m, "open:/etc/passwd"));
	EXPECT_EQ(-ENOENT, hook(self->m, "open:/dev/fuse"));
	EXPECT_EQ(-ENOENT, hook(self->m, "open:/proc/self/status"));
	{
		char what[TFS_PATH_MAX + 8];

		snprintf(what, sizeof(what), "open:%s", self->env.image);
		EXPECT_EQ(-ENOENT, hook(self->m, what));
	}
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	unlink(self->m->log);

	/* And with the filter an attempt to open is fatal. */
	ASSERT_EQ(0, mount_with(self->m, SBX_HOOKS_BIN, self->env.image,
				NULL));
	EXPECT_EQ(-ECONNABORTED, hook(self->m, "open:/etc/passwd"));
	expect_dead_and_repairable(_metadata, self->m, 257);
}

/* Run a shell command as uid:gid; its exit status, output in *out. */
static int sh_as(uid_t uid, gid_t gid, char **out, const char *cmd)
{
	char u[32], g[32];

	snprintf(u, sizeof(u), "--reuid=%u", (unsigned int)uid);
	snprintf(g, sizeof(g), "--regid=%u", (unsigned int)gid);
	return tfs_runl(TFS_MOUNT_TIMEOUT_MS, out, "setpriv", u, g,
			"--clear-groups", "sh", "-c", cmd, NULL);
}

/*
 * Debian's udev makes /dev/fuse 0666; where it is 0600 (containers), a
 * private mount namespace for this test gets a 0666 node of its own.
 */
static int dev_fuse_for_users(const char *dir)
{
	char node[TFS_PATH_MAX + 16];
	struct stat st;

	if (stat("/dev/fuse", &st) == 0 && (st.st_mode & 0006) == 0006)
		return 0;
	snprintf(node, sizeof(node), "%s/fuse.dev", dir);
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) ||
	    mknod(node, S_IFCHR | 0666, st.st_rdev) || chmod(node, 0666) ||
	    mount(node, "/dev/fuse", NULL, MS_BIND, NULL))
		return -1;
	return 0;
}

/*
 * No root at all: the image belongs to a user, who mounts it through
 * fusermount3; the sandbox is the same, built on a user namespace.
 */
TEST_F(sbx, unprivileged_user_owns_image)
{
	struct expect e = { self->nobody_uid, self->nobody_gid, 2 };
	const char *args[16];
	char u[32], g[32], cmd[4 * TFS_PATH_MAX], *out = NULL;
	char owner[64];
	struct tfs_mkfs_opts mkfs = { .ext_opts = owner };
	int n = 0;

	ASSERT_EQ(0, dev_fuse_for_users(self->env.dir));
	/* The user's own filesystem: its root directory is theirs too. */
	snprintf(owner, sizeof(owner), "root_owner=%u:%u",
		 (unsigned int)e.uid, (unsigned int)e.gid);
	ASSERT_EQ(0, tfs_mkfs(self->env.image, &mkfs));
	ASSERT_EQ(0, chown(self->env.image, e.uid, e.gid));
	ASSERT_EQ(0, chown(self->m->dir, e.uid, e.gid));
	snprintf(u, sizeof(u), "--reuid=%u", (unsigned int)e.uid);
	snprintf(g, sizeof(g), "--regid=%u", (unsigned int)e.gid);
	args[n++] = u;
	args[n++] = g;
	args[n++] = "--clear-groups";
	args[n++] = SBX_FUSE2FS;
	args[n++] = self->env.image;
	args[n++] = self->m->dir;
	args[n++] = "-f";
	args[n] = NULL;
	snprintf(self->m->image, sizeof(self->m->image), "%s",
		 self->env.image);
	setenv("FUSE2FS_BIN", "/usr/bin/setpriv", 1);
	ASSERT_EQ(0, tfs_start_fuse(self->m, args));

	/* Without allow_other only the user gets in. */
	snprintf(cmd, sizeof(cmd), "echo mine > %s/f && mkdir %s/d && cat "
		 "%s/f", self->m->dir, self->m->dir, self->m->dir);
	EXPECT_EQ(0, sh_as(e.uid, e.gid, &out, cmd));
	EXPECT_STREQ("mine\n", out ? out : "");
	free(out);
	check_contained(_metadata, self->m->server, &e, self->env.image,
			self->m->log);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* The helper of this child server: fuse2fs-contained's pid's child. */
static pid_t child_of(pid_t parent)
{
	char path[96];
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent,
		 (int)parent);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

/*
 * A privileged helper opens the image and /dev/fuse, mounts, and starts
 * fuse2fs as nobody with only the two descriptors (/dev/fd/N): the
 * server never had a privilege to drop.
 */
TEST_F(sbx, helper_passes_descriptors)
{
	struct expect e = { self->nobody_uid, self->nobody_gid, 2 };
	const char *args[] = { "-u", "nobody", self->env.image, self->m->dir,
			       NULL };
	pid_t server;

	setenv("FUSE2FS", SBX_FUSE2FS, 1);
	setenv("FUSE2FS_BIN", SBX_CONTAINED, 1);
	snprintf(self->m->image, sizeof(self->m->image), "%s",
		 self->env.image);
	ASSERT_EQ(0, tfs_start_fuse(self->m, args));
	use_mount(_metadata, self->m);
	server = child_of(self->m->server);
	ASSERT_LT(0, server);
	check_contained(_metadata, server, &e, self->env.image, self->m->log);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
