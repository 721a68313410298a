// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One server per image, and "umount; mount" that works.
 *
 * umount(2) of a FUSE mount returns as soon as the kernel has detached
 * it; the server that served it only then sees its connection end, and
 * writes the image back and exits a moment later (the kernel waits for
 * the server at unmount only for fuseblk mounts).  A mount of the same
 * image right after the unmount (scripts, test suites' cycle mounts)
 * found that server still holding the image and failed as busy.
 *
 * So an image that is held but no longer mounted anywhere is taken as
 * held by a server winding down, and waited for, a bounded time.  An
 * image that is still mounted is busy at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>

#include "imagelock.h"

/* Longer than a server needs to write back an image and exit. */
#define F2_RELEASE_WAIT_MS	20000
#define F2_RELEASE_POLL_MS	20

/* Undo mountinfo's octal escapes (\040 for a space...) in place. */
static void unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/*
 * Nothing here stat()s a mount's source: any user may name a FUSE
 * mount's source, and a path through a hung mount would hang us.  A
 * block device is matched by the device number mountinfo gives (kernel
 * mounts of it), a FUSE mount by its source string against the image's
 * absolute path, which is fuse2fs's default source (fsname).
 */
bool f2_image_is_mounted(const struct stat *image, const char *path)
{
	char *line = NULL, *sep, *fstype, *source, *save = NULL;
	unsigned int major, minor;
	bool found = false;
	size_t cap = 0;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return true;	/* cannot tell: do not wait */
	while (!found && getline(&line, &cap, f) > 0) {
		/* "ID PARENT MAJ:MIN ... - FSTYPE SOURCE SUPEROPTS" */
		if (S_ISBLK(image->st_mode) &&
		    sscanf(line, "%*u %*u %u:%u", &major, &minor) == 2 &&
		    makedev(major, minor) == image->st_rdev) {
			found = true;
			continue;
		}
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		fstype = strtok_r(sep + 3, "\t\n ", &save);
		source = strtok_r(NULL, "\t\n ", &save);
		if (!fstype || !source || strncmp(fstype, "fuse", 4))
			continue;
		unescape(source);
		found = !strcmp(source, path);
	}
	free(line);
	fclose(f);
	return found;
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 +
	       (now.tv_nsec - since->tv_nsec) / 1000000;
}

bool f2_wait_for_release(const struct stat *image, const char *path,
			 bool (*try_again)(void *arg), void *arg)
{
	const struct timespec poll = {
		.tv_nsec = F2_RELEASE_POLL_MS * 1000000L,
	};
	struct timespec start;
	long next_check = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (elapsed_ms(&start) < F2_RELEASE_WAIT_MS) {
		/* Mounted (again, maybe by someone else): busy for real. */
		if (elapsed_ms(&start) >= next_check) {
			if (f2_image_is_mounted(image, path))
				return false;
			next_check = elapsed_ms(&start) + 1000;
		}
		nanosleep(&poll, NULL);
		if (try_again(arg))
			return true;
	}
	return false;
}
