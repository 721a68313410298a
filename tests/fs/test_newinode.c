// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A new inode starts from nothing (issue 13, item 9): a file that had
 * in-inode extended attributes (user.* and an ACL granting the
 * unprivileged user write access) is deleted, and every way of making an
 * inode then reuses its number: create, mknod (fifo, device), mkdir,
 * fast and slow symlinks, O_TMPFILE, and with inline_data the small file
 * and directory kept in the inode.  The new inode must show no attribute
 * and no ACL of the old one, before and after a remount, and the
 * unprivileged user must not be able to write to it.  Runs on fuse2fs
 * and on kernel ext4.
 */
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "kselftest_harness.h"
#include "fsext.h"

FSEXT_FIXTURE(ni, NULL);

static const struct tfs_mkfs_opts inline_opts = {
	.features = "inline_data",
};
FSEXT_FIXTURE(ni_inline, &inline_opts);

#define ACCESS	"system.posix_acl_access"

enum how {
	CREATE, FIFO, CHRDEV, MKDIR, SYMLINK_FAST, SYMLINK_SLOW, TMPFILE,
	HOW_COUNT,
};

static const char *const how_name[] = {
	"create", "mknod fifo", "mknod chrdev", "mkdir", "fast symlink",
	"slow symlink", "O_TMPFILE",
};

/* u::rw-, u:FSEXT_UID:rwx, g::r--, m::rwx, o::r-- in the xattr format. */
static size_t acl_for_user(unsigned char *buf)
{
	static const uint16_t ent[][3] = {
		{ 0x01, 6, 0 }, { 0x02, 7, 1 }, { 0x04, 4, 0 },
		{ 0x10, 7, 0 }, { 0x20, 4, 0 },
	};
	unsigned char *p = buf + 4;
	size_t i;

	memset(buf, 0, 4);
	buf[0] = 2;
	for (i = 0; i < ARRAY_SIZE(ent); i++, p += 8) {
		uint32_t id = ent[i][2] ? FSEXT_UID : UINT32_MAX;

		p[0] = ent[i][0];
		p[1] = 0;
		p[2] = ent[i][1];
		p[3] = 0;
		memcpy(p + 4, &id, 4);	/* little endian hosts only */
	}
	return p - buf;
}

static long free_inodes(const char *dir)
{
	struct statvfs sv;

	return statvfs(dir, &sv) ? -1 : (long)sv.f_ffree;
}

/*
 * The old file: in-inode xattrs, an ACL for the user, then deleted;
 * returns once its inode is free (fuse2fs frees it when the kernel's
 * FORGET comes, in the background).
 */
static int old_file(const char *dir, const char *path, ino_t *ino)
{
	long before = free_inodes(dir);
	unsigned char acl[64];
	struct stat st;
	int fd = open(path, O_CREAT | O_WRONLY, 0644), tries;

	if (fd < 0)
		return -1;
	close(fd);
	if (setxattr(path, "user.secret", "old", 3, 0) ||
	    setxattr(path, "user.more", "0123456789", 10, 0) ||
	    setxattr(path, ACCESS, acl, acl_for_user(acl), 0) ||
	    stat(path, &st) || unlink(path))
		return -1;
	*ino = st.st_ino;
	for (tries = 0; tries < 250; tries++) {
		if (free_inodes(dir) == before)
			return 0;
		usleep(20000);
	}
	fprintf(stderr, "# inode %lu of %s was not freed\n",
		(unsigned long)*ino, path);
	return -1;
}

/* Make the new inode at path the given way; -1 with errno. */
static int make(enum how how, const char *path, const char *dir)
{
	char target[2048];
	int fd;

	switch (how) {
	case CREATE:
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			return -1;
		/* Some data too (inline when the feature is on). */
		if (write(fd, "new", 3) != 3) {
			close(fd);
			return -1;
		}
		return close(fd);
	case FIFO:
		return mknod(path, S_IFIFO | 0644, 0);
	case CHRDEV:
		return mknod(path, S_IFCHR | 0644, makedev(1, 3));
	case MKDIR:
		return mkdir(path, 0755);
	case SYMLINK_FAST:
		return symlink("t", path);
	case SYMLINK_SLOW:
		memset(target, 'x', 300);
		target[300] = '\0';
		return symlink(target, path);
	case TMPFILE:
		fd = open(dir, O_TMPFILE | O_WRONLY, 0644);
		if (fd < 0)
			return -1;
		snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, target, AT_FDCWD, path,
			   AT_SYMLINK_FOLLOW)) {
			close(fd);
			return -1;
		}
		return close(fd);
	default:
		errno = EINVAL;
		return -1;
	}
}

/* No attribute at all, no ACL; 0 or the number of the failed check. */
static int clean(const char *path)
{
	char buf[256];
	ssize_t n;

	n = llistxattr(path, buf, sizeof(buf));
	if (n != 0) {
		fprintf(stderr, "# %s: listxattr gives %zd bytes: %.*s\n", path,
			n, n > 0 ? (int)n : 0, buf);
		return 1;
	}
	/* Symlinks have no ACLs at all. */
	if (lgetxattr(path, ACCESS, buf, sizeof(buf)) >= 0 ||
	    (errno != ENODATA && errno != EOPNOTSUPP)) {
		fprintf(stderr, "# %s: has an access ACL\n", path);
		return 2;
	}
	if (lgetxattr(path, "user.secret", buf, sizeof(buf)) >= 0) {
		fprintf(stderr, "# %s: has user.secret\n", path);
		return 3;
	}
	return 0;
}

/* As the user: neither write to arg nor, for a directory, create in it. */
static int user_cannot_write(void *arg)
{
	char inside[TFS_PATH_MAX + 32];
	struct stat st;
	int fd;

	if (stat(arg, &st))
		return 3;
	if (S_ISDIR(st.st_mode)) {
		snprintf(inside, sizeof(inside), "%s/f", (const char *)arg);
		fd = open(inside, O_CREAT | O_WRONLY, 0644);
	} else {
		fd = open(arg, O_WRONLY | O_APPEND | O_NONBLOCK);
	}
	if (fd >= 0) {
		fprintf(stderr, "# the user may write to %s\n",
			(const char *)arg);
		close(fd);
		return 1;
	}
	return errno == EACCES ? 0 : 2;
}

static void check_all_ways(struct __test_metadata *_metadata,
			   struct tfs_mount *m, bool inline_data)
{
	char path[TFS_PATH_MAX + 16];
	enum how how;
	ino_t old;
	struct stat st;

	for (how = 0; how < HOW_COUNT; how++) {
		snprintf(path, sizeof(path), "%s/new%d", m->dir, how);
		ASSERT_EQ(0, old_file(m->dir, tfs_p(m, "old"), &old));
		ASSERT_EQ(0, make(how, path, m->dir))
			TH_LOG("%s: %s", how_name[how], strerror(errno));
		ASSERT_EQ(0, lstat(path, &st));
		EXPECT_EQ(old, st.st_ino) TH_LOG("%s does not reuse the inode",
						 how_name[how]);
		EXPECT_EQ(0, clean(path)) TH_LOG("%s%s", how_name[how],
						 inline_data ? " (inline)" : "");
		if (!S_ISLNK(st.st_mode) && !S_ISCHR(st.st_mode))
			EXPECT_EQ(0, fsext_as_user(user_cannot_write, path))
				TH_LOG("%s", how_name[how]);
	}
	TFS_ASSERT_UNMOUNT_CLEAN(m);
	ASSERT_EQ(0, tfs_remount(m));
	for (how = 0; how < HOW_COUNT; how++) {
		snprintf(path, sizeof(path), "%s/new%d", m->dir, how);
		if (lstat(path, &st))
			continue;
		EXPECT_EQ(0, clean(path)) TH_LOG("%s after remount",
						 how_name[how]);
		/* Now the kernel knows the ACL only from the disk. */
		if (!S_ISLNK(st.st_mode) && !S_ISCHR(st.st_mode))
			EXPECT_EQ(0, fsext_as_user(user_cannot_write, path))
				TH_LOG("%s after remount", how_name[how]);
	}
	TFS_ASSERT_UNMOUNT_CLEAN(m);
}

TEST_F(ni, every_way_of_making_an_inode)
{
	check_all_ways(_metadata, self->m, false);
}

TEST_F(ni_inline, every_way_of_making_an_inode)
{
	check_all_ways(_metadata, self->m, true);
}

TEST_HARNESS_MAIN
