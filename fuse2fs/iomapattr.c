// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs-iomapattr: show and change, file by file, whether a fuse2fs mount
 * lets the kernel move the file's data through iomap, in the manner of
 * lsattr and chattr.
 *
 *   fuse2fs-iomapattr [-R] [-d] [FILE...]      list (lsattr-like)
 *   fuse2fs-iomapattr [-R] +c|-c FILE...       force classic / back to auto
 *
 * Listing prints one line per file: the preference ('c' forced classic,
 * '-' auto = follow the mount policy), the mode in effect with its reason,
 * and the name:
 *
 *   -  iomap                         /mnt/big.img
 *   c  classic (preference)          /mnt/notes.txt
 *   -  classic (inline data)         /mnt/tiny
 *
 * Both come from extended attributes fuse2fs serves: user.fuse2fs.iomap
 * (stored in the image, "classic" or absent) and the read-only
 * user.fuse2fs.iomap_mode.  Only the owner or root may change the
 * preference; the kernel switches the file's mode when nothing holds it
 * open (doc/protocol.md, "Changing an inode's mode at run time").
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#define XATTR_PREF	"user.fuse2fs.iomap"
#define XATTR_MODE	"user.fuse2fs.iomap_mode"

enum action { LIST, SET_CLASSIC, SET_AUTO };

struct opts {
	enum action action;
	bool recursive;
	bool dirs_as_files;
};

/* Report why path failed, as "fuse2fs-iomapattr: PATH: WHY"; returns -1. */
static int fail(const char *path, const char *why)
{
	fprintf(stderr, "fuse2fs-iomapattr: %s: %s\n", path, why);
	return -1;
}

static int list_one(const char *path)
{
	char pref[32], mode[128];
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) < 0)
		return fail(path, strerror(errno));
	/* The kernel keeps user.* attributes off anything else. */
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		printf("-  %-28s  %s\n", "classic (not a regular file)", path);
		return 0;
	}
	n = lgetxattr(path, XATTR_MODE, mode, sizeof(mode) - 1);
	if (n < 0) {
		/* fuse2fs always answers for the mode attribute. */
		if (errno == ENOTSUP || errno == ENODATA)
			return fail(path, "not on a fuse2fs mount");
		return fail(path, strerror(errno));
	}
	mode[n] = '\0';
	n = lgetxattr(path, XATTR_PREF, pref, sizeof(pref) - 1);
	if (n < 0 && errno != ENODATA)
		return fail(path, strerror(errno));
	if (n >= 0)
		pref[n] = '\0';
	printf("%c  %-28s  %s\n",
	       n >= 0 && !strcmp(pref, "classic") ? 'c' : '-', mode, path);
	return 0;
}

static int change_one(const char *path, enum action action)
{
	struct statx stx;
	struct stat st;
	int ret;

	if (lstat(path, &st) < 0)
		return fail(path, strerror(errno));
	/* Like chattr -R: only regular files carry the preference. */
	if (!S_ISREG(st.st_mode))
		return 0;
	if (action == SET_CLASSIC)
		ret = lsetxattr(path, XATTR_PREF, "classic", 7, 0);
	else
		ret = lremovexattr(path, XATTR_PREF);
	if (ret < 0 && !(action == SET_AUTO && errno == ENODATA)) {
		return fail(path, errno == ENOTSUP ? "not on a fuse2fs mount" :
			    strerror(errno));
	}
	/*
	 * fuse2fs's notification of the change reaches the kernel a moment
	 * after the reply; a GETATTR reply carries the new mode at once, so
	 * that an open right after this program sees it.
	 */
	statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_STATX_FORCE_SYNC,
	      STATX_BASIC_STATS, &stx);
	return 0;
}

static int walk(const char *path, const struct opts *o, bool top);

static int walk_dir(const char *path, const struct opts *o)
{
	struct dirent **names;
	char child[PATH_MAX];
	int i, n, ret = 0;

	n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return fail(path, strerror(errno));
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;

		if (strcmp(name, ".") && strcmp(name, "..")) {
			if ((size_t)snprintf(child, sizeof(child), "%s/%s",
					     path, name) >= sizeof(child)) {
				fprintf(stderr,
					"fuse2fs-iomapattr: %s/%s: name too long\n",
					path, name);
				ret = -1;
			} else if (walk(child, o, false)) {
				ret = -1;
			}
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

static int walk(const char *path, const struct opts *o, bool top)
{
	struct stat st;
	int ret;

	if (lstat(path, &st) < 0)
		return fail(path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		/* lsattr lists a directory's contents unless -d. */
		if (o->action == LIST && (o->dirs_as_files || !top)) {
			ret = list_one(path);
		} else if (o->action != LIST && !o->recursive) {
			return fail(path,
				    "a directory has no preference (use -R for its files)");
		} else {
			ret = 0;
		}
		if ((top && !o->dirs_as_files && o->action == LIST) ||
		    o->recursive)
			if (walk_dir(path, o))
				ret = -1;
		return ret;
	}
	return o->action == LIST ? list_one(path) :
		change_one(path, o->action);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fuse2fs-iomapattr [-R] [-d] [FILE...]\n"
		"       fuse2fs-iomapattr [-R] +c|-c FILE...\n"
		"  list: preference ('c' = forced classic, '-' = auto) and the\n"
		"        mode in effect for each file on a fuse2fs mount\n"
		"  +c    force classic FUSE read/write (stored in the image)\n"
		"  -c    return to the mount's policy (-o iomap=...)\n"
		"  -R    recurse into directories\n"
		"  -d    list directories themselves, not their contents\n");
}

int main(int argc, char *argv[])
{
	struct opts o = { .action = LIST };
	int i, ret = 0, first = 1;

	/* Options and the chattr-style +c/-c may come in any order. */
	for (i = 1; i < argc && argv[i][0] && strchr("+-", argv[i][0]);
	     i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "+c")) {
			o.action = SET_CLASSIC;
		} else if (!strcmp(a, "-c")) {
			o.action = SET_AUTO;
		} else if (!strcmp(a, "-R")) {
			o.recursive = true;
		} else if (!strcmp(a, "-d")) {
			o.dirs_as_files = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "fuse2fs-iomapattr: unknown option %s\n",
				a);
			usage(stderr);
			return 2;
		}
	}
	first = i;
	if (first == argc) {
		if (o.action != LIST) {
			usage(stderr);
			return 2;
		}
		return walk(".", &o, true) ? 1 : 0;
	}
	for (i = first; i < argc; i++)
		if (walk(argv[i], &o, true))
			ret = 1;
	return ret;
}
