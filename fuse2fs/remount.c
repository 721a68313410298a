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
 * As at mount time (libfuse's default), nosuid and nodev stay unless
 * suid or dev is given: a remount typed by hand must not open a
 * possibly hostile image's setuid files and device nodes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>

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
static void apply_options(const char *list, unsigned long *flags)
{
	char *copy = strdup(list), *opt, *save = NULL;
	size_t i;

	if (!copy)
		return;
	for (opt = strtok_r(copy, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(mount_flags) / sizeof(mount_flags[0]);
		     i++) {
			if (strcmp(opt, mount_flags[i].name))
				continue;
			*flags &= ~mount_flags[i].clear;
			*flags |= mount_flags[i].set;
		}
	}
	free(copy);
}

int f2_remount(int argc, char *argv[], const char *mountpoint)
{
	unsigned long flags = MS_NOSUID | MS_NODEV;
	struct statfs sfs;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			apply_options(argv[++i], &flags);
		else if (!strncmp(argv[i], "-o", 2))
			apply_options(argv[i] + 2, &flags);
	}
	if (statfs(mountpoint, &sfs)) {
		fprintf(stderr, "fuse2fs: %s: %s\n", mountpoint,
			strerror(errno));
		return -1;
	}
	if (sfs.f_type != F2_FUSE_SUPER_MAGIC) {
		fprintf(stderr, "fuse2fs: %s: not a FUSE mount; nothing to remount\n",
			mountpoint);
		return -1;
	}
	if (mount(NULL, mountpoint, NULL, MS_REMOUNT | flags, NULL)) {
		fprintf(stderr, "fuse2fs: %s: remount failed: %s\n",
			mountpoint, strerror(errno));
		return -1;
	}
	return 0;
}
