// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mount -o remount of a fuse2fs mount.
 *
 * mount(8) remounts through the mount helper again (mount.fuse3, which
 * runs fuse2fs), with "remount" and the mount's whole option list.  No
 * second server must start then: the kernel changes the mount's flags
 * itself (FUSE allows ro<->rw and the per-mount flags), and the server
 * of the mount goes on; the VFS refuses writes to a read-only mount
 * before they reach it.
 *
 * The flags the options do not name stay as the mount has them (so a
 * remount typed by hand keeps libfuse's nosuid and nodev, and a hostile
 * image's setuid files and device nodes stay closed).  Remounting needs
 * CAP_SYS_ADMIN: root only.  A server started read-only stays so: a
 * remount rw of its mount succeeds, and writes then fail with EROFS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>

#include "fuse2fs.h"
#include "remount.h"

#define F2_FUSE_SUPER_MAGIC	0x65735546

struct f2_mount_flag {
	const char *name;
	unsigned long set;	/* flags the option sets */
	unsigned long clear;	/* flags the option clears */
};

static const struct f2_mount_flag mount_flags[] = {
	{ "ro",		MS_RDONLY,	0 },
	{ "rw",		0,		MS_RDONLY },
	{ "nosuid",	MS_NOSUID,	0 },
	{ "suid",	0,		MS_NOSUID },
	{ "nodev",	MS_NODEV,	0 },
	{ "dev",	0,		MS_NODEV },
	{ "noexec",	MS_NOEXEC,	0 },
	{ "exec",	0,		MS_NOEXEC },
	{ "sync",	MS_SYNCHRONOUS,	0 },
	{ "async",	0,		MS_SYNCHRONOUS },
	{ "dirsync",	MS_DIRSYNC,	0 },
	{ "noatime",	MS_NOATIME,	MS_RELATIME | MS_STRICTATIME },
	{ "relatime",	MS_RELATIME,	MS_NOATIME | MS_STRICTATIME },
	{ "strictatime", MS_STRICTATIME, MS_NOATIME | MS_RELATIME },
	{ "nodiratime",	MS_NODIRATIME,	0 },
	{ "diratime",	0,		MS_NODIRATIME },
	{ "lazytime",	MS_LAZYTIME,	0 },
	{ "nolazytime",	0,		MS_LAZYTIME },
};

/* Apply the mount flags named in one comma-separated option list. */
static int apply_options(const char *list, unsigned long *flags)
{
	char *copy = strdup(list), *opt, *save = NULL;
	size_t i;

	if (!copy)
		return -1;
	for (opt = strtok_r(copy, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < ARRAY_SIZE(mount_flags); i++) {
			if (strcmp(opt, mount_flags[i].name))
				continue;
			*flags &= ~mount_flags[i].clear;
			*flags |= mount_flags[i].set;
		}
	}
	free(copy);
	return 0;
}

/* statvfs(3) flags to mount(2) flags: what the mount has now. */
static unsigned long current_flags(const struct statvfs *sv)
{
	static const struct { unsigned long st, ms; } map[] = {
		{ ST_RDONLY, MS_RDONLY }, { ST_NOSUID, MS_NOSUID },
		{ ST_NODEV, MS_NODEV }, { ST_NOEXEC, MS_NOEXEC },
		{ ST_SYNCHRONOUS, MS_SYNCHRONOUS }, { ST_NOATIME, MS_NOATIME },
		{ ST_NODIRATIME, MS_NODIRATIME }, { ST_RELATIME, MS_RELATIME },
	};
	unsigned long flags = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (sv->f_flag & map[i].st)
			flags |= map[i].ms;
	return flags;
}

int f2_remount(int argc, char *argv[], const char *mountpoint)
{
	char path[64];
	struct statfs sfs;
	struct statvfs sv;
	unsigned long flags;
	int fd, i, ret = -1;

	/*
	 * One lookup of the path: the checks and the remount act on the
	 * same mount, whatever happens to the path meanwhile.
	 */
	fd = open(mountpoint, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstatfs(fd, &sfs) || fstatvfs(fd, &sv)) {
		fprintf(stderr, "fuse2fs: %s: %s\n", mountpoint,
			strerror(errno));
		goto out;
	}
	if (sfs.f_type != F2_FUSE_SUPER_MAGIC) {
		fprintf(stderr, "fuse2fs: %s: not a FUSE mount; nothing to remount\n",
			mountpoint);
		goto out;
	}
	/* What is not named stays as it is. */
	flags = current_flags(&sv);
	for (i = 1; i < argc; i++) {
		const char *list = NULL;

		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			list = argv[++i];
		else if (!strncmp(argv[i], "-o", 2))
			list = argv[i] + 2;
		if (list && apply_options(list, &flags)) {
			fprintf(stderr, "fuse2fs: %s\n", strerror(ENOMEM));
			goto out;
		}
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (mount(NULL, path, NULL, MS_REMOUNT | flags, NULL)) {
		fprintf(stderr, "fuse2fs: %s: remount failed: %s\n",
			mountpoint, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}
