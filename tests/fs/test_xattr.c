// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes: set/get/list/remove in the user., trusted. and
 * security. namespaces, XATTR_CREATE/XATTR_REPLACE, size probing and
 * ERANGE, the errno values for unknown namespaces and oversized values,
 * the user.* and trusted.* access rules, in-inode and EA-block storage,
 * persistence across a remount, and inline-data files (whose data lives
 * in the hidden system.data attribute).  Each test runs on fuse2fs and on
 * kernel ext4 (variants); each ends fsck-clean.
 */
#include <sys/xattr.h>

#include "kselftest_harness.h"
#include "fsext.h"

FSEXT_FIXTURE(xa, NULL);

static const struct tfs_mkfs_opts inline_opts = {
	.features = "inline_data",
};
FSEXT_FIXTURE(xa_inline, &inline_opts);

/* ext2 made without the ext_attr feature: the first xattr turns it on. */
static const struct tfs_mkfs_opts ext2_noxattr_opts = {
	.fstype = "ext2",
	.features = "^ext_attr",
};
FSEXT_FIXTURE(xa_ext2, &ext2_noxattr_opts);

/* The names listxattr returns for path, sorted, joined with ','. */
static int list_names(const char *path, char *out, size_t size)
{
	char buf[8192], *names[256], *p;
	ssize_t len;
	int n = 0, i, j;

	len = llistxattr(path, buf, sizeof(buf));
	if (len < 0)
		return -1;
	for (p = buf; p < buf + len && n < 256; p += strlen(p) + 1)
		names[n++] = p;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			p = names[j];
			names[j] = names[j - 1];
			names[j - 1] = p;
		}
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i)
			strncat(out, ",", size - strlen(out) - 1);
		strncat(out, names[i], size - strlen(out) - 1);
	}
	return n;
}

TEST_F(xa, set_get_list_remove)
{
	const char *f = tfs_p(self->m, "f");
	char buf[64], names[512];

	ASSERT_EQ(0, fsext_create(f, 0644));
	TFS_EXPECT_ERRNO(ENODATA, getxattr(f, "user.a", buf, sizeof(buf)));
	ASSERT_EQ(0, list_names(f, names, sizeof(names)));
	TFS_ASSERT_OK(setxattr(f, "user.a", "hello", 5, 0));
	TFS_ASSERT_OK(setxattr(f, "user.bb", "", 0, 0));
	/* Size 0 probes the length. */
	EXPECT_EQ(5, getxattr(f, "user.a", NULL, 0));
	EXPECT_EQ(0, getxattr(f, "user.bb", NULL, 0));
	TFS_EXPECT_ERRNO(ERANGE, getxattr(f, "user.a", buf, 4));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, getxattr(f, "user.a", buf, sizeof(buf)));
	EXPECT_STREQ("hello", buf);

	/* "user.a\0user.bb\0" */
	EXPECT_EQ(15, listxattr(f, NULL, 0));
	TFS_EXPECT_ERRNO(ERANGE, listxattr(f, buf, 14));
	ASSERT_EQ(2, list_names(f, names, sizeof(names)));
	EXPECT_STREQ("user.a,user.bb", names);

	TFS_ASSERT_OK(setxattr(f, "user.a", "bye", 3, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(3, getxattr(f, "user.a", buf, sizeof(buf)));
	EXPECT_STREQ("bye", buf);
	TFS_ASSERT_OK(removexattr(f, "user.a"));
	TFS_EXPECT_ERRNO(ENODATA, getxattr(f, "user.a", buf, sizeof(buf)));
	TFS_EXPECT_ERRNO(ENODATA, removexattr(f, "user.a"));
	ASSERT_EQ(1, list_names(f, names, sizeof(names)));
	EXPECT_STREQ("user.bb", names);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * A new file that gets the inode number of a deleted one starts with no
 * attributes (fuse2fs used to keep the old inode's in-body xattrs).
 */
TEST_F(xa, reused_inode_starts_clean)
{
	const char *a = tfs_p(self->m, "a"), *b = tfs_p(self->m, "b");
	char names[512];
	struct stat sa, sb;
	int i;

	ASSERT_EQ(0, fsext_create(a, 0644));
	TFS_ASSERT_OK(setxattr(a, "user.secret", "old", 3, 0));
	TFS_ASSERT_OK(stat(a, &sa));
	TFS_ASSERT_OK(unlink(a));
	/* The number comes free once the kernel forgot the old inode. */
	for (i = 0; i < 50; i++) {
		ASSERT_EQ(0, fsext_create(b, 0644));
		TFS_ASSERT_OK(stat(b, &sb));
		if (sb.st_ino == sa.st_ino)
			break;
		TFS_ASSERT_OK(unlink(b));
		usleep(100000);
	}
	ASSERT_EQ(sa.st_ino, sb.st_ino);
	EXPECT_EQ(0, list_names(b, names, sizeof(names))) TH_LOG("%s", names);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(xa, create_replace_flags)
{
	const char *f = tfs_p(self->m, "f");
	char buf[16] = "";

	ASSERT_EQ(0, fsext_create(f, 0644));
	TFS_EXPECT_ERRNO(ENODATA, setxattr(f, "user.x", "1", 1,
					   XATTR_REPLACE));
	TFS_ASSERT_OK(setxattr(f, "user.x", "1", 1, XATTR_CREATE));
	TFS_EXPECT_ERRNO(EEXIST, setxattr(f, "user.x", "2", 1, XATTR_CREATE));
	TFS_ASSERT_OK(setxattr(f, "user.x", "3", 1, XATTR_REPLACE));
	ASSERT_EQ(1, getxattr(f, "user.x", buf, sizeof(buf)));
	EXPECT_EQ('3', buf[0]);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(xa, namespaces_and_bad_names)
{
	const char *f = tfs_p(self->m, "f");
	char buf[16], name[300], names[512];

	ASSERT_EQ(0, fsext_create(f, 0644));
	TFS_ASSERT_OK(setxattr(f, "trusted.t", "T", 1, 0));
	TFS_ASSERT_OK(setxattr(f, "security.s", "S", 1, 0));
	TFS_ASSERT_OK(setxattr(f, "user.u", "U", 1, 0));
	EXPECT_EQ(1, getxattr(f, "trusted.t", buf, sizeof(buf)));
	EXPECT_EQ(1, getxattr(f, "security.s", buf, sizeof(buf)));
	ASSERT_EQ(3, list_names(f, names, sizeof(names)));
	EXPECT_STREQ("security.s,trusted.t,user.u", names);

	TFS_EXPECT_ERRNO(EOPNOTSUPP, setxattr(f, "foo.bar", "x", 1, 0));
	TFS_EXPECT_ERRNO(EOPNOTSUPP, getxattr(f, "foo.bar", buf, sizeof(buf)));
	TFS_EXPECT_ERRNO(EOPNOTSUPP, setxattr(f, "system.foo", "x", 1, 0));
	TFS_EXPECT_ERRNO(EINVAL, setxattr(f, "user.", "x", 1, 0));
	/* Names are limited to 255 bytes, prefix included. */
	snprintf(name, sizeof(name), "user.%0250d", 7);
	TFS_ASSERT_OK(setxattr(f, name, "x", 1, 0));
	EXPECT_EQ(1, getxattr(f, name, buf, sizeof(buf)));
	snprintf(name, sizeof(name), "user.%0251d", 7);
	TFS_EXPECT_ERRNO(ERANGE, setxattr(f, name, "x", 1, 0));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(xa, value_sizes)
{
	const char *f = tfs_p(self->m, "f");
	static char big[70000], back[70000];
	char names[2048];
	int i;

	ASSERT_EQ(0, fsext_create(f, 0644));
	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	/* Too large for the in-inode space: goes to the EA block. */
	TFS_ASSERT_OK(setxattr(f, "user.big", big, 4000, 0));
	ASSERT_EQ(4000, getxattr(f, "user.big", back, sizeof(back)));
	EXPECT_EQ(0, memcmp(big, back, 4000));
	/* More than a 4 KiB block holds (no ea_inode): ENOSPC, as ext4. */
	TFS_EXPECT_ERRNO(ENOSPC, setxattr(f, "user.huge", big, 5000, 0));
	/* Beyond the VFS limit. */
	TFS_EXPECT_ERRNO(E2BIG, setxattr(f, "user.huge", big, 65537, 0));
	/* The failed calls left the first value alone. */
	ASSERT_EQ(4000, getxattr(f, "user.big", back, sizeof(back)));
	EXPECT_EQ(0, memcmp(big, back, 4000));
	ASSERT_EQ(1, list_names(f, names, sizeof(names)));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(xa, many_attrs_inode_and_block)
{
	const char *f = tfs_p(self->m, "f");
	char name[32], val[64], back[64], names[4096];
	int i;

	ASSERT_EQ(0, mkdir(f, 0755));
	/* 40 x ~60 bytes fills the inode body and spills into the block. */
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "user.attr%02d", i);
		memset(val, 'a' + i % 26, sizeof(val));
		TFS_ASSERT_OK(setxattr(f, name, val, 40 + i % 8, 0));
	}
	ASSERT_EQ(40, list_names(f, names, sizeof(names)));
	/* Remove every third, then check the others survived. */
	for (i = 0; i < 40; i += 3) {
		snprintf(name, sizeof(name), "user.attr%02d", i);
		TFS_ASSERT_OK(removexattr(f, name));
	}
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	ASSERT_EQ(26, list_names(f, names, sizeof(names)));
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "user.attr%02d", i);
		if (i % 3 == 0) {
			TFS_EXPECT_ERRNO(ENODATA, getxattr(f, name, back,
							   sizeof(back)));
			continue;
		}
		memset(val, 'a' + i % 26, sizeof(val));
		ASSERT_EQ(40 + i % 8, getxattr(f, name, back, sizeof(back)));
		EXPECT_EQ(0, memcmp(val, back, 40 + i % 8));
	}
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(xa, special_files_and_symlinks)
{
	const char *fifo = tfs_p(self->m, "fifo");
	const char *link = tfs_p(self->m, "link");
	char buf[16];

	ASSERT_EQ(0, mknod(fifo, S_IFIFO | 0666, 0));
	ASSERT_EQ(0, symlink("target", link));
	/* user.* lives only on regular files and directories. */
	TFS_EXPECT_ERRNO(EPERM, setxattr(fifo, "user.x", "1", 1, 0));
	TFS_EXPECT_ERRNO(ENODATA, getxattr(fifo, "user.x", buf, sizeof(buf)));
	TFS_EXPECT_ERRNO(EPERM, lsetxattr(link, "user.x", "1", 1, 0));
	/* Other namespaces do not care about the file type. */
	TFS_ASSERT_OK(setxattr(fifo, "trusted.x", "1", 1, 0));
	TFS_ASSERT_OK(lsetxattr(link, "trusted.y", "22", 2, 0));
	EXPECT_EQ(2, lgetxattr(link, "trusted.y", buf, sizeof(buf)));
	EXPECT_EQ(1, getxattr(fifo, "trusted.x", buf, sizeof(buf)));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

static int unprivileged_checks(void *arg)
{
	const struct tfs_mount *m = arg;
	const char *mine = tfs_p(m, "mine");
	const char *roots = tfs_p(m, "roots");
	char buf[64];
	ssize_t len;

	/* trusted.* is invisible and unwritable without CAP_SYS_ADMIN. */
	FSEXT_CHILD_ERRNO(1, ENODATA, getxattr(roots, "trusted.t", buf,
					       sizeof(buf)));
	FSEXT_CHILD_ERRNO(2, EPERM, setxattr(mine, "trusted.t", "1", 1, 0));
	len = listxattr(roots, buf, sizeof(buf));
	if (len != (ssize_t)sizeof("user.r")) {
		fprintf(stderr, "# listxattr gave %zd bytes\n", len);
		return 3;
	}
	/* user.* needs write permission to change, read to see. */
	FSEXT_CHILD_ERRNO(4, EACCES, setxattr(roots, "user.r", "2", 1, 0));
	FSEXT_CHILD_ERRNO(5, EACCES, removexattr(roots, "user.r"));
	FSEXT_CHILD_OK(6, getxattr(roots, "user.r", buf, sizeof(buf)));
	FSEXT_CHILD_OK(7, setxattr(mine, "user.m", "1", 1, 0));
	FSEXT_CHILD_OK(8, removexattr(mine, "user.m"));
	/* A world-writable sticky directory: still only for its owner. */
	FSEXT_CHILD_ERRNO(9, EPERM, setxattr(tfs_p(m, "sticky"), "user.s",
					     "1", 1, 0));
	FSEXT_CHILD_OK(10, setxattr(tfs_p(m, "open"), "user.o", "1", 1, 0));
	return 0;
}

TEST_F(xa, unprivileged_user)
{
	const char *mine = tfs_p(self->m, "mine");
	const char *roots = tfs_p(self->m, "roots");

	ASSERT_EQ(0, fsext_create(mine, 0644));
	ASSERT_EQ(0, chown(mine, FSEXT_UID, FSEXT_GID));
	ASSERT_EQ(0, fsext_create(roots, 0644));
	TFS_ASSERT_OK(setxattr(roots, "trusted.t", "1", 1, 0));
	TFS_ASSERT_OK(setxattr(roots, "user.r", "1", 1, 0));
	ASSERT_EQ(0, mkdir(tfs_p(self->m, "sticky"), 01777));
	ASSERT_EQ(0, mkdir(tfs_p(self->m, "open"), 0777));
	EXPECT_EQ(0, fsext_as_user(unprivileged_checks, self->m));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(xa, ctime_changes)
{
	const char *f = tfs_p(self->m, "f");
	struct stat a, b;

	ASSERT_EQ(0, fsext_create(f, 0644));
	ASSERT_EQ(0, stat(f, &a));
	usleep(20000);
	TFS_ASSERT_OK(setxattr(f, "user.c", "1", 1, 0));
	ASSERT_EQ(0, stat(f, &b));
	EXPECT_TRUE(fsext_time_after(&b.st_ctim, &a.st_ctim));
	EXPECT_EQ(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	EXPECT_EQ(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	usleep(20000);
	TFS_ASSERT_OK(removexattr(f, "user.c"));
	ASSERT_EQ(0, stat(f, &a));
	EXPECT_TRUE(fsext_time_after(&a.st_ctim, &b.st_ctim));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(xa_inline, inline_data_keeps_system_data)
{
	const char *f = tfs_p(self->m, "small");
	char names[512], buf[64];
	size_t len;
	char *data;

	ASSERT_EQ(0, tfs_write_file(f, "tiny inline contents", 20));
	TFS_ASSERT_OK(setxattr(f, "user.one", "1", 1, 0));
	TFS_ASSERT_OK(setxattr(f, "user.two", "22", 2, 0));
	/* system.data is ext4's own: never listed, never reachable. */
	ASSERT_EQ(2, list_names(f, names, sizeof(names)));
	EXPECT_STREQ("user.one,user.two", names);
	TFS_EXPECT_ERRNO(EOPNOTSUPP, getxattr(f, "system.data", buf,
					      sizeof(buf)));
	TFS_EXPECT_ERRNO(EOPNOTSUPP, setxattr(f, "system.data", "x", 1, 0));
	TFS_ASSERT_OK(removexattr(f, "user.one"));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	data = tfs_read_file(f, &len);
	ASSERT_NE(NULL, data);
	EXPECT_EQ(20, len);
	EXPECT_EQ(0, memcmp(data, "tiny inline contents", 20));
	free(data);
	ASSERT_EQ(1, list_names(f, names, sizeof(names)));
	EXPECT_STREQ("user.two", names);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* Data spilling into system.data, next to in-inode and block xattrs. */
TEST_F(xa_inline, inline_data_with_big_xattrs)
{
	const char *f = tfs_p(self->m, "f");
	static char content[100], big[3000], back[3000];
	char names[512];
	size_t len;
	char *data;
	int i;

	for (i = 0; i < (int)sizeof(content); i++)
		content[i] = 'A' + i % 26;
	memset(big, 'z', sizeof(big));
	/* 100 bytes: 60 in i_block, 40 in the system.data value. */
	ASSERT_EQ(0, tfs_write_file(f, content, sizeof(content)));
	TFS_ASSERT_OK(setxattr(f, "user.small", "s", 1, 0));
	TFS_ASSERT_OK(setxattr(f, "user.big", big, sizeof(big), 0));
	TFS_ASSERT_OK(setxattr(f, "trusted.t", big, 40, 0));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	data = tfs_read_file(f, &len);
	ASSERT_NE(NULL, data);
	EXPECT_EQ(sizeof(content), len);
	EXPECT_EQ(0, memcmp(data, content, sizeof(content)));
	free(data);
	ASSERT_EQ(3, list_names(f, names, sizeof(names)));
	EXPECT_STREQ("trusted.t,user.big,user.small", names);
	ASSERT_EQ((ssize_t)sizeof(big), getxattr(f, "user.big", back,
						 sizeof(back)));
	EXPECT_EQ(0, memcmp(big, back, sizeof(big)));
	TFS_ASSERT_OK(removexattr(f, "user.big"));
	TFS_ASSERT_OK(removexattr(f, "user.small"));
	data = tfs_read_file(f, &len);
	ASSERT_NE(NULL, data);
	EXPECT_EQ(sizeof(content), len);
	EXPECT_EQ(0, memcmp(data, content, sizeof(content)));
	free(data);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* The attr package's tools. */
TEST_F(xa, setfattr_getfattr_tools)
{
	const char *f = tfs_p(self->m, "f");
	char *out = NULL;

	ASSERT_EQ(0, fsext_create(f, 0644));
	ASSERT_EQ(0, tfs_runl(10000, &out, "setfattr", "-n", "user.tool",
			      "-v", "hello world", f, NULL));
	free(out);
	out = NULL;
	ASSERT_EQ(0, tfs_runl(10000, &out, "getfattr", "--absolute-names",
			      "--only-values", "-n", "user.tool", f, NULL));
	ASSERT_NE(NULL, out);
	EXPECT_STREQ("hello world", out);
	free(out);
	out = NULL;
	ASSERT_EQ(0, tfs_runl(10000, &out, "setfattr", "-x", "user.tool", f,
			      NULL));
	free(out);
	out = NULL;
	/* getfattr fails for a missing attribute. */
	EXPECT_NE(0, tfs_runl(10000, &out, "getfattr", "--absolute-names",
			      "-n", "user.tool", f, NULL));
	ASSERT_NE(NULL, out);
	EXPECT_NE(NULL, strstr(out, "No such attribute")) TH_LOG("%s", out);
	free(out);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(xa, full_filesystem)
{
	const char *fill = tfs_p(self->m, "fill");
	const char *f = tfs_p(self->m, "f");
	static char chunk[1 << 20], big[3000];
	char back[16];
	int fd;

	ASSERT_EQ(0, fsext_create(f, 0644));
	fd = open(fill, O_CREAT | O_WRONLY, 0644);
	ASSERT_LE(0, fd);
	memset(chunk, 0x33, sizeof(chunk));
	/* Root may use the reserved blocks too: write until ENOSPC. */
	for (;;) {
		ssize_t w = write(fd, chunk, sizeof(chunk));

		if (w < 0) {
			ASSERT_EQ(ENOSPC, errno);
			break;
		}
		if (w < (ssize_t)sizeof(chunk)) {
			w = write(fd, chunk, 4096);
			if (w < 0) {
				ASSERT_EQ(ENOSPC, errno);
				break;
			}
		}
	}
	/* fsync may fail with ENOSPC on ext4 after delayed allocation. */
	fsync(fd);
	close(fd);
	/*
	 * A value that needs an EA block: ext4 takes it from the clusters
	 * it holds back for metadata; libext2fs has no such reserve, so
	 * fuse2fs says ENOSPC and must leave the inode as it was.
	 */
	memset(big, 'b', sizeof(big));
	if (variant->kernel) {
		TFS_ASSERT_OK(setxattr(f, "user.big", big, sizeof(big), 0));
	} else {
		TFS_EXPECT_ERRNO(ENOSPC, setxattr(f, "user.big", big,
						  sizeof(big), 0));
		TFS_EXPECT_ERRNO(ENODATA, getxattr(f, "user.big", back,
						   sizeof(back)));
	}
	/* A small one still fits in the inode. */
	TFS_ASSERT_OK(setxattr(f, "user.small", "s", 1, 0));
	EXPECT_EQ(1, getxattr(f, "user.small", back, sizeof(back)));
	ASSERT_EQ(0, unlink(fill));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(xa_ext2, feature_turned_on)
{
	const char *f = tfs_p(self->m, "f");
	char buf[16] = "";

	ASSERT_EQ(0, fsext_create(f, 0644));
	EXPECT_EQ(0, listxattr(f, buf, sizeof(buf)));
	TFS_EXPECT_ERRNO(ENODATA, getxattr(f, "user.a", buf, sizeof(buf)));
	TFS_ASSERT_OK(setxattr(f, "user.a", "ext2", 4, 0));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	ASSERT_EQ(4, getxattr(f, "user.a", buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "ext2", 4));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
