// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The per-test environment: a private temporary directory holding the
 * images and both mountpoints, registered with the guardian so that it is
 * removed however the test ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount_helpers.h"

const char *tfs_can_mount(void)
{
	static char why[TFS_PATH_MAX + 64];

	if (geteuid() != 0)
		return "mount tests need root";
	if (access("/dev/fuse", R_OK | W_OK) != 0)
		return "/dev/fuse is not usable";
	if (access(tfs_fuse2fs_bin(), X_OK) != 0) {
		snprintf(why, sizeof(why), "no fuse2fs binary at %s (FUSE2FS_BIN)",
			 tfs_fuse2fs_bin());
		return why;
	}
	return NULL;
}

/* a/b into buf; -1 if it does not fit (checked, not silently cut). */
static int path_join(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s/%s", a, b);

	if (n < 0 || (size_t)n >= size) {
		fprintf(stderr, "# path too long: %s/%s\n", a, b);
		return -1;
	}
	return 0;
}

static void init_mount(struct tfs_mount *m, const char *dir,
		       const char *name, const char *log)
{
	memset(m, 0, sizeof(*m));
	path_join(m->dir, sizeof(m->dir), dir, name);
	path_join(m->log, sizeof(m->log), dir, log);
	m->exit_status = -1;
}

int tfs_env_init(struct tfs_env *env)
{
	const char *why = tfs_can_mount();
	const char *base = getenv("TFS_TMPDIR");
	char tmpl[TFS_PATH_MAX];

	memset(env, 0, sizeof(*env));
	init_mount(&env->fuse, "/nonexistent", "fuse", "fuse2fs.log");
	init_mount(&env->kern, "/nonexistent", "kernel", "kernel.log");
	if (why) {
		fprintf(stderr, "# %s\n", why);
		return -1;
	}
	if (!base || !*base)
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/var/tmp";
	snprintf(tmpl, sizeof(tmpl), "%s/tfs.XXXXXX", base);
	if (tfs_guard_start() < 0) {
		fprintf(stderr, "# cannot start the guardian: %s\n",
			strerror(errno));
		return -1;
	}
	if (!mkdtemp(tmpl) || !realpath(tmpl, env->dir)) {
		fprintf(stderr, "# cannot make a directory in %s: %s\n", base,
			strerror(errno));
		return -1;
	}
	tfs_guard_dir(env->dir, true);
	/* Tests that switch to other users must reach the mountpoints. */
	chmod(env->dir, 0755);
	if (strlen(env->dir) > TFS_PATH_MAX - 32) {
		fprintf(stderr, "# %s: path too long\n", env->dir);
		return -1;
	}
	path_join(env->image, sizeof(env->image), env->dir, "fs.img");
	path_join(env->kimage, sizeof(env->kimage), env->dir, "kernel.img");
	init_mount(&env->fuse, env->dir, "fuse", "fuse2fs.log");
	init_mount(&env->kern, env->dir, "kernel", "kernel.log");
	if (mkdir(env->fuse.dir, 0755) < 0 || mkdir(env->kern.dir, 0755) < 0) {
		fprintf(stderr, "# mkdir in %s: %s\n", env->dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

void tfs_env_cleanup(struct tfs_env *env)
{
	if (!env->dir[0])
		return;
	tfs_umount_fuse(&env->fuse);
	tfs_umount_kernel(&env->kern);
	tfs_loop_detach_image(env->image);
	tfs_loop_detach_image(env->kimage);
	if (tfs_remove_tree(env->dir) == 0)
		tfs_guard_dir(env->dir, false);
	env->dir[0] = '\0';
}

const char *tfs_ep(const struct tfs_env *env, const char *name)
{
	static char bufs[16][TFS_PATH_MAX * 2];
	static unsigned int next;
	char *b = bufs[next++ % 16];

	snprintf(b, sizeof(bufs[0]), "%s/%s", env->dir, name);
	return b;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "# cannot remove %s: %s\n", path,
			strerror(errno));
	return 0;
}

int tfs_remove_tree(const char *dir)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	size_t len = strlen(dir);
	char line[8192];
	bool busy = false;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char mnt[TFS_PATH_MAX];

		if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1 &&
		    !strncmp(mnt, dir, len) && (mnt[len] == '/' || !mnt[len]))
			busy = true;
	}
	fclose(f);
	if (busy) {
		fprintf(stderr, "# %s still has mounts, not removed\n", dir);
		return -1;
	}
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return access(dir, F_OK) == 0 ? -1 : 0;
}
