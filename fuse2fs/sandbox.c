// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Containment: what fuse2fs gives up once it serves requests.
 *
 * The server parses an image that may be hostile, so after the mount and
 * the iomap device registration (the last steps that need privileges) it
 * keeps only its open files and loses everything else, in this order:
 *
 *  1. every file descriptor but /dev/fuse, the image or device, the iomap
 *     device and stdio (or the syslog socket) is closed;
 *  2. it moves into a new mount namespace whose only mount is an empty
 *     read-only tmpfs (pivot_root, the old tree detached; chroot when
 *     pivot_root is refused).  Started without root it first creates a
 *     user namespace for that; where the kernel refuses one the step is
 *     skipped with a message and the filter (5) alone keeps files shut;
 *  3. started as root it becomes an unprivileged user (-o user=NAME,
 *     nobody by default), with no supplementary groups, after emptying
 *     the capability bounding set and the ambient set;
 *  4. every capability set is emptied and no_new_privs is set;
 *  5. a seccomp allow-list of the system calls the request loop makes is
 *     installed (sandbox_filter.c).
 *
 * The file descriptors keep working: permissions were checked when they
 * were opened.  What the server cannot do any more is open, create, map
 * executable code, change identity, signal or trace others, or unmount
 * its own mount: a sandboxed server that stops while still mounted leaves
 * the mount to be detached by its owner (fusermount3 -u), as any server
 * that dies does.
 *
 * Sanitizer builds default to sandbox=off: their runtimes read /proc and
 * start threads and a symbolizer when reporting, which the sandbox
 * forbids.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "sandbox.h"

/* The uid and gid "nobody" has when the passwd database has none. */
#define F2_NOBODY_ID	65534

enum f2_sandbox_level f2_sandbox_default_level(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
	return F2_SANDBOX_OFF;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
	return F2_SANDBOX_OFF;
#else
	return F2_SANDBOX_ON;
#endif
#else
	return F2_SANDBOX_ON;
#endif
}

int f2_sandbox_parse_level(const char *s, enum f2_sandbox_level *level)
{
	if (!strcmp(s, "on"))
		*level = F2_SANDBOX_ON;
	else if (!strcmp(s, "nofilter"))
		*level = F2_SANDBOX_NOFILTER;
	else if (!strcmp(s, "off"))
		*level = F2_SANDBOX_OFF;
	else
		return -1;
	return 0;
}

int f2_sandbox_prepare(struct f2_sandbox *sb, const char *user)
{
	struct passwd *pw;

	sb->switch_user = false;
	if (sb->level == F2_SANDBOX_OFF)
		return 0;
	if (geteuid() != 0) {
		if (user) {
			fprintf(stderr, "fuse2fs: -o user=%s needs root; "
				"started as uid %u, the server keeps it\n",
				user, (unsigned int)geteuid());
			return -1;
		}
		return 0;
	}
	sb->switch_user = true;
	/* Read the databases now: later there are no files to read. */
	pw = getpwnam(user ? user : "nobody");
	if (pw) {
		sb->uid = pw->pw_uid;
		sb->gid = pw->pw_gid;
	} else if (!user) {
		sb->uid = F2_NOBODY_ID;
		sb->gid = F2_NOBODY_ID;
	} else {
		fprintf(stderr, "fuse2fs: -o user=%s: no such user\n", user);
		return -1;
	}
	if (sb->uid == 0) {
		fprintf(stderr, "fuse2fs: -o user=%s is root: the server "
			"would keep every privilege; use -o sandbox=off to "
			"mean that\n", user ? user : "nobody");
		return -1;
	}
	/* localtime() and friends must not look for a zone file later. */
	tzset();
	return 0;
}

static int cmp_fd(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every descriptor above 2 that is not in keep[]. */
static int close_other_fds(const int *keep, size_t nkeep)
{
	int sorted[16];
	unsigned int next = 3;
	size_t i, n = 0;

	for (i = 0; i < nkeep; i++) {
		if (keep[i] <= 2)
			continue;
		if (n == sizeof(sorted) / sizeof(sorted[0]))
			return -E2BIG;
		sorted[n++] = keep[i];
	}
	qsort(sorted, n, sizeof(sorted[0]), cmp_fd);
	for (i = 0; i < n; i++) {
		if ((unsigned int)sorted[i] > next &&
		    syscall(SYS_close_range, next, sorted[i] - 1, 0))
			return -errno;
		next = sorted[i] + 1;
	}
	if (syscall(SYS_close_range, next, ~0U, 0))
		return -errno;
	return 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t len = strlen(text), n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	close(fd);
	return n == len ? 0 : -EIO;
}

/* Without root: a user namespace in which we may make a mount one. */
static int enter_user_ns(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int err;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		return -errno;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned int)uid,
		 (unsigned int)uid);
	err = write_file("/proc/self/uid_map", map);
	if (!err)
		err = write_file("/proc/self/setgroups", "deny\n");
	if (!err) {
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned int)gid,
			 (unsigned int)gid);
		err = write_file("/proc/self/gid_map", map);
	}
	return err;
}

/*
 * Where the empty root is mounted before it becomes the root: any
 * directory every system has; the mount is in our namespace only.
 */
#define F2_SANDBOX_MNT	"/proc"

/*
 * Leave every filesystem: a private copy of the mount tree, an empty
 * read-only tmpfs made the root, the old tree detached.  Nothing can be
 * unmounted in the namespace we came from: the copy is made private
 * before anything is touched.
 */
static int enter_empty_root(const char **step)
{
	*step = "making the mount tree private";
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	*step = "mounting an empty tmpfs";
	if (mount("fuse2fs-sandbox", F2_SANDBOX_MNT, "tmpfs",
		  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,nr_inodes=1,mode=0555"))
		return -errno;
	*step = "entering the empty tmpfs";
	if (chdir(F2_SANDBOX_MNT))
		return -errno;
	/* pivot_root(".", "."): the old root ends up on top, then goes. */
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		*step = "detaching the old root";
		if (umount2(".", MNT_DETACH))
			return -errno;
	} else {
		*step = "chroot into the empty tmpfs";
		if (chroot("."))
			return -errno;
	}
	*step = "entering the new root";
	if (chdir("/"))
		return -errno;
	return 0;
}

static int drop_bounding_and_ambient(void)
{
	unsigned long cap;

	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			return -errno;
	}
	return 0;
}

static int switch_user(const struct f2_sandbox *sb)
{
	uid_t r, e, s;

	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) ||
	    setgroups(0, NULL) ||
	    setresgid(sb->gid, sb->gid, sb->gid) ||
	    setresuid(sb->uid, sb->uid, sb->uid))
		return -errno;
	/* Make sure there is no way back. */
	if (getresuid(&r, &e, &s) || r != sb->uid || e != sb->uid ||
	    s != sb->uid || setuid(0) == 0)
		return -EPERM;
	return 0;
}

static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

int f2_sandbox_enter(struct f2_sandbox *sb, const int *keep, size_t nkeep,
		     int log_fd)
{
	const char *step = "closing file descriptors";
	int err;

	if (sb->level == F2_SANDBOX_OFF)
		return 0;
	err = close_other_fds(keep, nkeep);
	if (err)
		goto fail;

	step = "creating a mount namespace";
	if (sb->switch_user)
		err = unshare(CLONE_NEWNS) ? -errno : 0;
	else
		err = enter_user_ns();
	if (!err)
		err = enter_empty_root(&step);
	if (!err) {
		sb->isolated = true;
	} else if (!sb->switch_user) {
		/* Unprivileged and no user namespace: the filter must do. */
		fprintf(stderr, "fuse2fs: sandbox: %s: %s; the system call "
			"filter alone keeps files out of reach\n", step,
			strerror(-err));
		if (sb->level != F2_SANDBOX_ON)
			fprintf(stderr, "fuse2fs: sandbox: and sandbox=%s "
				"has no filter: files stay reachable\n",
				"nofilter");
	} else {
		goto fail;
	}

	step = "dropping the capability bounding set";
	err = drop_bounding_and_ambient();
	if (err && (sb->switch_user || sb->isolated))
		goto fail;
	if (sb->switch_user) {
		step = "switching to the unprivileged user";
		err = switch_user(sb);
		if (err)
			goto fail;
	}
	step = "dropping capabilities";
	err = drop_capabilities();
	if (err)
		goto fail;
	step = "setting no_new_privs";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		err = -errno;
		goto fail;
	}
	sb->entered = true;
	if (sb->level == F2_SANDBOX_ON) {
		step = "installing the system call filter";
		err = f2_sandbox_install_filter(log_fd, log_fd != 2);
		if (err)
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "fuse2fs: sandbox: %s: %s; not serving\n", step,
		strerror(-err));
	return -1;
}
