// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Installed like a real filesystem, next to Debian's fuse2fs package
 * (which owns /usr/bin/fuse2fs and the mount type fuse.fuse2fs):
 *
 * - `make install` (prefix /usr, into a DESTDIR) installs the server as
 *   fuse2fs-iomap with its man page, and fuse2fs-iomapattr with its own,
 *   and nothing named fuse2fs;
 * - `mount -t fuse.fuse2fs-iomap IMAGE DIR -o iomap=auto` and an fstab
 *   line of that type (a private fstab, `mount -T FILE DIR`) run this
 *   server: mount(8) hands fuse.* types to mount.fuse3, which runs the
 *   program named after the dot from the standard PATH.  The test puts
 *   the build's binary there as fuse2fs-iomap by bind-mounting a
 *   directory over /usr/local/sbin in a private mount namespace, so the
 *   system stays untouched.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#ifndef TFS_TOP_BUILDDIR
#define TFS_TOP_BUILDDIR "."
#endif

#define TYPE		"fuse2fs-iomap"
#define EXIT_WAIT_MS	30000

FIXTURE(inst) {
	struct tfs_env env;
};

FIXTURE_SETUP(inst)
{
	TFS_SKIP_UNLESS_MOUNTABLE();
	ASSERT_EQ(0, tfs_env_init(&self->env));
}

FIXTURE_TEARDOWN_PARENT(inst)
{
	tfs_env_cleanup(&self->env);
}

static bool exists(const char *dir, const char *rel)
{
	char path[2 * TFS_PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return access(path, F_OK) == 0;
}

/* The installed man page renders without a warning and says word. */
static void expect_man_page(struct __test_metadata *_metadata,
			    const char *dest, const char *page,
			    const char *word)
{
	char path[2 * TFS_PATH_MAX], *out = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/usr/share/man/man1/%s", dest, page);
	r = tfs_runl(30000, &out, "man", "--warnings=w", "-l", "-P", "cat",
		     path, NULL);
	EXPECT_EQ(0, r);
	EXPECT_NE(NULL, strstr(out ? out : "", word));
	EXPECT_EQ(NULL, strstr(out ? out : "", "warning"));
	free(out);
}

TEST_F(inst, make_install_names)
{
	char dest[TFS_PATH_MAX], arg[2 * TFS_PATH_MAX], lib[TFS_PATH_MAX];
	char *out = NULL;
	int r;

	snprintf(dest, sizeof(dest), "%s", tfs_ep(&self->env, "dest"));
	snprintf(arg, sizeof(arg), "DESTDIR=%s", dest);
	/* The outer make's jobserver is not ours to use. */
	r = tfs_runl(300000, &out, "env", "-u", "MAKEFLAGS", "-u", "MFLAGS",
		     "-u", "MAKELEVEL", "make", "-s", "-C",
		     TFS_TOP_BUILDDIR "/fuse2fs", "install", "prefix=/usr",
		     arg, NULL);
	ASSERT_EQ(0, r) tfs_log_text("make install", out);
	free(out);
	out = NULL;
	EXPECT_TRUE(exists(dest, "usr/bin/fuse2fs-iomap"));
	EXPECT_TRUE(exists(dest, "usr/bin/fuse2fs-iomapattr"));
	EXPECT_TRUE(exists(dest, "usr/share/man/man1/fuse2fs-iomap.1"));
	EXPECT_TRUE(exists(dest, "usr/share/man/man1/fuse2fs-iomapattr.1"));
	/* Debian's fuse2fs package owns these. */
	EXPECT_FALSE(exists(dest, "usr/bin/fuse2fs"));
	EXPECT_FALSE(exists(dest, "usr/share/man/man1/fuse2fs.1"));

	/* The installed program is this server. */
	snprintf(lib, sizeof(lib), "LD_LIBRARY_PATH=%s",
		 TFS_TOP_BUILDDIR "/libfuse/.libs");
	snprintf(arg, sizeof(arg), "%s/usr/bin/fuse2fs-iomap", dest);
	r = tfs_runl(30000, &out, "env", lib, arg, "--help", NULL);
	EXPECT_EQ(0, r);
	EXPECT_NE(NULL, strstr(out ? out : "", "iomap=off|auto|on"));
	free(out);

	/* Both man pages render without a warning. */
	expect_man_page(_metadata, dest, "fuse2fs-iomapattr.1",
			"fuse2fs-iomapattr");
	expect_man_page(_metadata, dest, "fuse2fs-iomap.1",
			"fuse.fuse2fs-iomap");
}

/* The server serving image, found by its command line; 0 if none. */
static pid_t server_of(const char *image)
{
	char path[64], args[4096];
	struct dirent *de;
	pid_t found = 0;
	ssize_t n, i;
	DIR *d;
	int fd;

	d = opendir("/proc");
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		pid_t pid = atoi(de->d_name);

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, args, sizeof(args) - 1);
		close(fd);
		if (n <= 0)
			continue;
		args[n] = '\0';
		/* Arguments are NUL-separated: look for one equal to image. */
		for (i = 0; i < n; i += strlen(args + i) + 1)
			if (!strcmp(args + i, image) &&
			    strstr(args, "fuse2fs"))
				found = pid;
	}
	closedir(d);
	return found;
}

/* Wait for a server that is not our child to go away. */
static bool gone(pid_t pid, int timeout_ms)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int waited;

	for (waited = 0; waited < timeout_ms; waited += 50) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/*
 * Mount with `mount ARGS...` (NULL-terminated) and check this server
 * serves it under the type fuse.fuse2fs-iomap; *server is its pid,
 * guarded (stopped, the mount detached) if the test fails.
 */
static void mount_by_type(struct __test_metadata *_metadata,
			  struct tfs_env *env, const char *const argv[],
			  pid_t *server)
{
	const char *dir = env->fuse.dir;
	char type[128], *out = NULL;
	int r;

	r = tfs_run(TFS_MOUNT_TIMEOUT_MS, &out, argv);
	/* Whatever happened, a server left behind must be stopped. */
	*server = server_of(env->image);
	if (*server)
		tfs_guard_server(*server, dir, true);
	tfs_guard_mount(dir, true);
	ASSERT_EQ(0, r) tfs_log_text("mount", out);
	free(out);
	ASSERT_NE(0, *server);
	ASSERT_TRUE(tfs_is_mounted(dir, type, sizeof(type)));
	EXPECT_STREQ("fuse." TYPE, type);
}

/* umount(2); the server must exit by itself and the image be clean. */
static void umount_and_check(struct __test_metadata *_metadata,
			     struct tfs_env *env, pid_t server)
{
	const char *dir = env->fuse.dir;

	ASSERT_EQ(0, umount(dir));
	tfs_guard_mount(dir, false);
	EXPECT_TRUE(gone(server, EXIT_WAIT_MS));
	tfs_guard_server(server, dir, false);
	EXPECT_EQ(0, tfs_fsck(env->image));
}

/*
 * Mount with `mount ARGS...`, check that the data written before is
 * there, write more, unmount; the image must be e2fsck-clean.
 */
static void mount_check_umount(struct __test_metadata *_metadata,
			       struct tfs_env *env, const char *const argv[],
			       const char *expect, const char *write)
{
	pid_t server;
	char *data;

	mount_by_type(_metadata, env, argv, &server);
	if (expect) {
		data = tfs_read_file(tfs_p(&env->fuse, "file"), NULL);
		EXPECT_STREQ(expect, data ? data : "(none)");
		free(data);
	}
	EXPECT_EQ(0, tfs_write_file(tfs_p(&env->fuse, "file"), write,
				    strlen(write)));
	umount_and_check(_metadata, env, server);
}

/*
 * Put the build's server in a PATH directory as fuse2fs-iomap, in a
 * private mount namespace, where mount.fuse3 looks for it.
 */
static void install_in_path(struct __test_metadata *_metadata,
			    struct tfs_env *env)
{
	static const char *const helper_dirs[] = {
		"/usr/local/sbin", "/usr/local/bin",
	};
	char bin[TFS_PATH_MAX], link[2 * TFS_PATH_MAX];
	const char *helper_dir = NULL;
	unsigned int i;

	snprintf(bin, sizeof(bin), "%s", tfs_ep(env, "bin"));
	ASSERT_EQ(0, mkdir(bin, 0755));
	snprintf(link, sizeof(link), "%s/" TYPE, bin);
	ASSERT_EQ(0, symlink(tfs_fuse2fs_bin(), link));
	for (i = 0; i < sizeof(helper_dirs) / sizeof(*helper_dirs); i++)
		if (!helper_dir && access(helper_dirs[i], F_OK) == 0)
			helper_dir = helper_dirs[i];
	ASSERT_NE(NULL, helper_dir);
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_EQ(0, mount(bin, helper_dir, NULL, MS_BIND, NULL));
}

TEST_F(inst, mount_type_and_fstab_line)
{
	char fstab[TFS_PATH_MAX];
	struct tfs_env *env = &self->env;
	char line[3 * TFS_PATH_MAX];

	ASSERT_EQ(0, tfs_mkfs(env->image, NULL));
	install_in_path(_metadata, env);

	/* mount -t: the options reach this server (Debian's rejects them). */
	{
		const char *argv[] = {
			"mount", "-t", "fuse." TYPE, "-o", "iomap=auto",
			env->image, env->fuse.dir, NULL,
		};

		mount_check_umount(_metadata, env, argv, NULL, "first");
	}
	/* An fstab line, from a private fstab: /etc/fstab stays as it is. */
	snprintf(fstab, sizeof(fstab), "%s", tfs_ep(env, "fstab"));
	snprintf(line, sizeof(line), "%s %s fuse.%s iomap=auto,noauto 0 0\n",
		 env->image, env->fuse.dir, TYPE);
	ASSERT_EQ(0, tfs_write_file(fstab, line, strlen(line)));
	{
		const char *argv[] = {
			"mount", "-T", fstab, env->fuse.dir, NULL,
		};

		mount_check_umount(_metadata, env, argv, "first", "second");
	}
}

/* mount -o OPTS DIR; then DIR is read-only or not, its other flags as was. */
static void remount(struct __test_metadata *_metadata, const char *dir,
		    const char *opts, bool ro, unsigned long was)
{
	struct statvfs sv;
	char *out = NULL;

	ASSERT_EQ(0, tfs_runl(TFS_MOUNT_TIMEOUT_MS, &out, "mount", "-o", opts,
			      dir, NULL)) tfs_log_text("mount -o", out);
	free(out);
	ASSERT_EQ(0, statvfs(dir, &sv));
	EXPECT_EQ(ro, !!(sv.f_flag & ST_RDONLY));
	EXPECT_EQ(was, sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC));
}

/*
 * mount -o remount runs the helper, so fuse2fs, again: it must change the
 * mount's flags, start no second server, and keep the other flags.
 */
TEST_F(inst, remount_read_only_and_back)
{
	struct tfs_env *env = &self->env;
	const char *dir = env->fuse.dir;
	char *out = NULL;
	unsigned long was;
	struct statvfs sv;
	pid_t server;

	ASSERT_EQ(0, tfs_mkfs(env->image, NULL));
	install_in_path(_metadata, env);
	{
		const char *argv[] = {
			"mount", "-t", "fuse." TYPE, env->image, dir, NULL,
		};

		mount_by_type(_metadata, env, argv, &server);
	}
	ASSERT_EQ(0, tfs_write_file(tfs_p(&env->fuse, "file"), "one", 3));
	/* mount.fuse3 run by root mounts with dev,suid, like mount(8) */
	ASSERT_EQ(0, statvfs(dir, &sv));
	was = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC);

	remount(_metadata, dir, "remount,ro", true, was);
	EXPECT_EQ(server, server_of(env->image));
	TFS_EXPECT_ERRNO(EROFS, open(tfs_p(&env->fuse, "new"),
				     O_CREAT | O_WRONLY, 0644));
	out = tfs_read_file(tfs_p(&env->fuse, "file"), NULL);
	EXPECT_STREQ("one", out ? out : "(none)");
	free(out);
	remount(_metadata, dir, "remount,rw", false, was);
	EXPECT_EQ(server, server_of(env->image));
	EXPECT_EQ(0, tfs_write_file(tfs_p(&env->fuse, "new"), "two", 3));
	umount_and_check(_metadata, env, server);
}

TEST_HARNESS_MAIN
