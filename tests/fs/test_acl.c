// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * POSIX ACLs through system.posix_acl_access / system.posix_acl_default:
 * values read back byte for byte, the mode following an access ACL (and
 * no ACL stored when the mode says it all), default ACLs only on
 * directories, invalid ACLs refused, ownership required, and the ACLs a
 * new file or directory inherits.  The values are built by hand in the
 * kernel's xattr format, so no libacl is needed.  Each test runs on
 * fuse2fs and on kernel ext4 (variants); each ends fsck-clean.
 */
#include <stdint.h>
#include <sys/xattr.h>

#include "kselftest_harness.h"
#include "fsext.h"

FSEXT_FIXTURE(acl, NULL);

#define ACCESS	"system.posix_acl_access"
#define DEFAULT	"system.posix_acl_default"

enum { U_OBJ = 1, USR = 2, G_OBJ = 4, GRP = 8, MASK = 0x10, OTH = 0x20 };

struct ent {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

/* Encode entries in the VFS xattr format (little endian, version 2). */
static size_t acl_build(unsigned char *buf, const struct ent *e, int n)
{
	unsigned char *p = buf;
	int i;

	p[0] = 2;
	p[1] = p[2] = p[3] = 0;
	p += 4;
	for (i = 0; i < n; i++, p += 8) {
		uint32_t id = (e[i].tag == USR || e[i].tag == GRP) ?
			      e[i].id : UINT32_MAX;

		p[0] = e[i].tag & 0xff;
		p[1] = e[i].tag >> 8;
		p[2] = e[i].perm & 0xff;
		p[3] = e[i].perm >> 8;
		p[4] = id & 0xff;
		p[5] = (id >> 8) & 0xff;
		p[6] = (id >> 16) & 0xff;
		p[7] = id >> 24;
	}
	return p - buf;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? (mode_t)-1 : st.st_mode & 07777;
}

/*
 * Attribute name of path is exactly the len bytes at want, read into a
 * zeroed buffer so nothing stale can pass for them.
 */
#define EXPECT_XATTR_BYTES(path, name, want, len) do {			\
		unsigned char got[128] = { 0 };				\
									\
		ASSERT_EQ((ssize_t)(len),				\
			  getxattr(path, name, got, sizeof(got)));	\
		EXPECT_EQ(0, memcmp(want, got, len));			\
	} while (0)

static const struct ent extended[] = {
	{ U_OBJ, 6, 0 }, { USR, 4, FSEXT_UID }, { G_OBJ, 4, 0 },
	{ GRP, 6, 4242 }, { MASK, 6, 0 }, { OTH, 0, 0 },
};

TEST_F(acl, access_acl_roundtrip_and_mode)
{
	const char *f = tfs_p(self->m, "f");
	unsigned char acl[128], back[128];
	size_t len = acl_build(acl, extended, 6);
	char names[256];

	ASSERT_EQ(0, fsext_create(f, 0777));
	TFS_ASSERT_OK(setxattr(f, ACCESS, acl, len, 0));
	/* The mode's group bits now show the mask. */
	EXPECT_EQ(0660, mode_of(f));
	ASSERT_EQ((ssize_t)len, getxattr(f, ACCESS, NULL, 0));
	EXPECT_XATTR_BYTES(f, ACCESS, acl, len);
	TFS_EXPECT_ERRNO(ERANGE, getxattr(f, ACCESS, back, len - 1));
	ASSERT_EQ((ssize_t)sizeof(ACCESS), listxattr(f, names, sizeof(names)));
	EXPECT_STREQ(ACCESS, names);

	/* It survives a remount byte for byte. */
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	EXPECT_XATTR_BYTES(f, ACCESS, acl, len);

	/* Removing it leaves the mode as it is. */
	TFS_ASSERT_OK(removexattr(f, ACCESS));
	TFS_EXPECT_ERRNO(ENODATA, getxattr(f, ACCESS, back, sizeof(back)));
	EXPECT_EQ(0660, mode_of(f));
	EXPECT_EQ(0, listxattr(f, names, sizeof(names)));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(acl, minimal_acl_is_just_the_mode)
{
	static const struct ent base[] = {
		{ U_OBJ, 7, 0 }, { G_OBJ, 5, 0 }, { OTH, 1, 0 },
	};
	const char *f = tfs_p(self->m, "f");
	unsigned char acl[128], back[128];
	size_t len = acl_build(acl, base, 3);

	ASSERT_EQ(0, fsext_create(f, 04600));
	TFS_ASSERT_OK(setxattr(f, ACCESS, acl, len, 0));
	/* Mode bits updated, special bits kept, nothing stored. */
	EXPECT_EQ(04751, mode_of(f));
	TFS_EXPECT_ERRNO(ENODATA, getxattr(f, ACCESS, back, sizeof(back)));
	EXPECT_EQ(0, listxattr(f, (char *)back, sizeof(back)));
	/* A header without entries removes an ACL. */
	len = acl_build(acl, extended, 6);
	TFS_ASSERT_OK(setxattr(f, ACCESS, acl, len, 0));
	EXPECT_LT(0, getxattr(f, ACCESS, back, sizeof(back)));
	TFS_ASSERT_OK(setxattr(f, ACCESS, acl, 4, 0));
	TFS_EXPECT_ERRNO(ENODATA, getxattr(f, ACCESS, back, sizeof(back)));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(acl, default_acl_only_on_directories)
{
	const char *f = tfs_p(self->m, "f");
	const char *d = tfs_p(self->m, "d");
	unsigned char acl[128], back[128];
	size_t len = acl_build(acl, extended, 6);

	ASSERT_EQ(0, fsext_create(f, 0644));
	ASSERT_EQ(0, mkdir(d, 0755));
	TFS_EXPECT_ERRNO(EACCES, setxattr(f, DEFAULT, acl, len, 0));
	TFS_ASSERT_OK(setxattr(d, DEFAULT, acl, len, 0));
	/* A default ACL does not touch the directory's own mode. */
	EXPECT_EQ(0755, mode_of(d));
	EXPECT_XATTR_BYTES(d, DEFAULT, acl, len);
	TFS_EXPECT_ERRNO(ENODATA, getxattr(d, ACCESS, back, sizeof(back)));
	TFS_ASSERT_OK(removexattr(d, DEFAULT));
	TFS_EXPECT_ERRNO(ENODATA, getxattr(d, DEFAULT, back, sizeof(back)));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(acl, invalid_acls_refused)
{
	static const struct ent unsorted[] = {
		{ U_OBJ, 6, 0 }, { G_OBJ, 4, 0 }, { USR, 4, 5 },
		{ MASK, 6, 0 }, { OTH, 0, 0 },
	};
	static const struct ent no_mask[] = {
		{ U_OBJ, 6, 0 }, { USR, 4, 5 }, { G_OBJ, 4, 0 },
		{ OTH, 0, 0 },
	};
	static const struct ent two_masks[] = {
		{ U_OBJ, 6, 0 }, { USR, 4, 5 }, { G_OBJ, 4, 0 },
		{ MASK, 6, 0 }, { MASK, 6, 0 }, { OTH, 0, 0 },
	};
	static const struct ent bad_perm[] = {
		{ U_OBJ, 0x10, 0 }, { G_OBJ, 4, 0 }, { OTH, 0, 0 },
	};
	static const struct ent no_other[] = {
		{ U_OBJ, 6, 0 }, { G_OBJ, 4, 0 },
	};
	const char *f = tfs_p(self->m, "f");
	unsigned char acl[128];
	size_t len;

	ASSERT_EQ(0, fsext_create(f, 0640));
	len = acl_build(acl, unsorted, 5);
	TFS_EXPECT_ERRNO(EINVAL, setxattr(f, ACCESS, acl, len, 0));
	len = acl_build(acl, no_mask, 4);
	TFS_EXPECT_ERRNO(EINVAL, setxattr(f, ACCESS, acl, len, 0));
	len = acl_build(acl, two_masks, 6);
	TFS_EXPECT_ERRNO(EINVAL, setxattr(f, ACCESS, acl, len, 0));
	len = acl_build(acl, bad_perm, 3);
	TFS_EXPECT_ERRNO(EINVAL, setxattr(f, ACCESS, acl, len, 0));
	len = acl_build(acl, no_other, 2);
	TFS_EXPECT_ERRNO(EINVAL, setxattr(f, ACCESS, acl, len, 0));
	/* Bad version, and a length that is not header + n entries. */
	len = acl_build(acl, extended, 6);
	acl[0] = 1;
	TFS_EXPECT_ERRNO(EOPNOTSUPP, setxattr(f, ACCESS, acl, len, 0));
	acl[0] = 2;
	TFS_EXPECT_ERRNO(EINVAL, setxattr(f, ACCESS, acl, len - 3, 0));
	/* Nothing changed. */
	EXPECT_EQ(0640, mode_of(f));
	TFS_EXPECT_ERRNO(ENODATA, getxattr(f, ACCESS, acl, sizeof(acl)));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

static int set_acl_as_user(void *arg)
{
	const struct tfs_mount *m = arg;
	unsigned char acl[128];
	size_t len = acl_build(acl, extended, 6);

	/* Only the owner may set an ACL, whatever the mode bits say. */
	FSEXT_CHILD_ERRNO(1, EPERM, setxattr(tfs_p(m, "roots"), ACCESS, acl,
					     len, 0));
	FSEXT_CHILD_OK(2, setxattr(tfs_p(m, "mine"), ACCESS, acl, len, 0));
	return 0;
}

TEST_F(acl, only_owner_sets_acls)
{
	const char *roots = tfs_p(self->m, "roots");
	const char *mine = tfs_p(self->m, "mine");
	unsigned char back[128];

	ASSERT_EQ(0, fsext_create(roots, 0666));
	ASSERT_EQ(0, fsext_create(mine, 0600));
	ASSERT_EQ(0, chown(mine, FSEXT_UID, FSEXT_GID));
	EXPECT_EQ(0, fsext_as_user(set_acl_as_user, self->m));
	TFS_EXPECT_ERRNO(ENODATA, getxattr(roots, ACCESS, back, sizeof(back)));
	EXPECT_LT(0, getxattr(mine, ACCESS, back, sizeof(back)));
	EXPECT_EQ(0660, mode_of(mine));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(acl, new_files_inherit_default_acl)
{
	static const struct ent dflt[] = {
		{ U_OBJ, 7, 0 }, { USR, 7, FSEXT_UID }, { G_OBJ, 5, 0 },
		{ MASK, 7, 0 }, { OTH, 0, 0 },
	};
	/* The default ACL masked by the file's creation mode 0666. */
	static const struct ent want_file[] = {
		{ U_OBJ, 6, 0 }, { USR, 7, FSEXT_UID }, { G_OBJ, 5, 0 },
		{ MASK, 6, 0 }, { OTH, 0, 0 },
	};
	const char *d = tfs_p(self->m, "d");
	const char *f = tfs_p(self->m, "d/f");
	const char *sub = tfs_p(self->m, "d/sub");
	unsigned char acl[128], want[128], back[128];
	size_t len = acl_build(acl, dflt, 5);
	size_t wlen = acl_build(want, want_file, 5);

	ASSERT_EQ(0, mkdir(d, 0755));
	TFS_ASSERT_OK(setxattr(d, DEFAULT, acl, len, 0));
	ASSERT_EQ(0, fsext_create(f, 0666));
	EXPECT_EQ(0660, mode_of(f));
	EXPECT_XATTR_BYTES(f, ACCESS, want, wlen);
	TFS_EXPECT_ERRNO(ENODATA, getxattr(f, DEFAULT, back, sizeof(back)));

	/* A subdirectory gets both: the default ACL passes on unchanged. */
	ASSERT_EQ(0, mkdir(sub, 0777));
	EXPECT_EQ(0770, mode_of(sub));
	EXPECT_XATTR_BYTES(sub, DEFAULT, acl, len);
	EXPECT_XATTR_BYTES(sub, ACCESS, acl, len);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

static int read_through_acl(void *arg)
{
	const struct tfs_mount *m = arg;
	int fd;

	/* Mode 0600 root:root, but user:1000:r-- lets us read. */
	FSEXT_CHILD_OK(1, fd = open(tfs_p(m, "secret"), O_RDONLY));
	close(fd);
	FSEXT_CHILD_ERRNO(2, EACCES, open(tfs_p(m, "secret"), O_WRONLY));
	FSEXT_CHILD_ERRNO(3, EACCES, open(tfs_p(m, "plain"), O_RDONLY));
	return 0;
}

TEST_F(acl, acl_grants_access)
{
	static const struct ent reader[] = {
		{ U_OBJ, 6, 0 }, { USR, 4, FSEXT_UID }, { G_OBJ, 0, 0 },
		{ MASK, 4, 0 }, { OTH, 0, 0 },
	};
	const char *secret = tfs_p(self->m, "secret");
	unsigned char acl[128];
	size_t len = acl_build(acl, reader, 5);

	ASSERT_EQ(0, fsext_create(secret, 0600));
	ASSERT_EQ(0, fsext_create(tfs_p(self->m, "plain"), 0600));
	TFS_ASSERT_OK(setxattr(secret, ACCESS, acl, len, 0));
	EXPECT_EQ(0640, mode_of(secret));
	EXPECT_EQ(0, fsext_as_user(read_through_acl, self->m));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(acl, chmod_updates_acl)
{
	static const struct ent after[] = {
		{ U_OBJ, 7, 0 }, { USR, 4, FSEXT_UID }, { G_OBJ, 4, 0 },
		{ GRP, 6, 4242 }, { MASK, 1, 0 }, { OTH, 5, 0 },
	};
	const char *f = tfs_p(self->m, "f");
	unsigned char acl[128], want[128];
	size_t len = acl_build(acl, extended, 6);
	size_t wlen = acl_build(want, after, 6);

	ASSERT_EQ(0, fsext_create(f, 0600));
	TFS_ASSERT_OK(setxattr(f, ACCESS, acl, len, 0));
	/* The group bits of chmod go to the mask, not to group::. */
	ASSERT_EQ(0, chmod(f, 0715));
	EXPECT_EQ(0715, mode_of(f));
	EXPECT_XATTR_BYTES(f, ACCESS, want, wlen);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(acl, umask_only_without_default_acl)
{
	static const struct ent dflt[] = {
		{ U_OBJ, 7, 0 }, { G_OBJ, 7, 0 }, { OTH, 7, 0 },
	};
	const char *d = tfs_p(self->m, "d");
	unsigned char acl[64];
	size_t len = acl_build(acl, dflt, 3);
	mode_t old = umask(027);

	ASSERT_EQ(0, mkdir(d, 0777));
	EXPECT_EQ(0750, mode_of(d));
	ASSERT_EQ(0, fsext_create(tfs_p(self->m, "plain"), 0666));
	EXPECT_EQ(0640, mode_of(tfs_p(self->m, "plain")));
	/* A default ACL, even a minimal one, replaces the umask. */
	TFS_ASSERT_OK(setxattr(d, DEFAULT, acl, len, 0));
	ASSERT_EQ(0, fsext_create(tfs_p(self->m, "d/f"), 0666));
	EXPECT_EQ(0666, mode_of(tfs_p(self->m, "d/f")));
	ASSERT_EQ(0, mkdir(tfs_p(self->m, "d/sub"), 0777));
	EXPECT_EQ(0777, mode_of(tfs_p(self->m, "d/sub")));
	ASSERT_EQ(0, mknod(tfs_p(self->m, "d/fifo"), S_IFIFO | 0666, 0));
	EXPECT_EQ(0666, mode_of(tfs_p(self->m, "d/fifo")));
	umask(old);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* The real setfacl/getfacl tools (numeric ids, no header, -p: no warning). */
TEST_F(acl, setfacl_getfacl_tools)
{
	const char *f = tfs_p(self->m, "f");
	const char *d = tfs_p(self->m, "d");
	char *out = NULL;

	ASSERT_EQ(0, fsext_create(f, 0644));
	ASSERT_EQ(0, mkdir(d, 0755));
	ASSERT_EQ(0, tfs_runl(10000, &out, "setfacl", "-m",
			      "u:1000:rw,g:4242:r", f, NULL));
	free(out);
	out = NULL;
	ASSERT_EQ(0, tfs_runl(10000, &out, "getfacl", "-cnp", f, NULL));
	ASSERT_NE(NULL, out);
	EXPECT_STREQ("user::rw-\nuser:1000:rw-\ngroup::r--\n"
		     "group:4242:r--\nmask::rw-\nother::r--\n\n", out);
	free(out);
	out = NULL;
	ASSERT_EQ(0, tfs_runl(10000, &out, "setfacl", "-d", "-m",
			      "u:1000:rwx", d, NULL));
	free(out);
	out = NULL;
	ASSERT_EQ(0, tfs_runl(10000, &out, "getfacl", "-cnp", d, NULL));
	ASSERT_NE(NULL, out);
	EXPECT_STREQ("user::rwx\ngroup::r-x\nother::r-x\n"
		     "default:user::rwx\ndefault:user:1000:rwx\n"
		     "default:group::r-x\ndefault:mask::rwx\n"
		     "default:other::r-x\n\n", out);
	free(out);
	out = NULL;
	/* -b strips the extended entries: back to plain mode bits. */
	ASSERT_EQ(0, tfs_runl(10000, &out, "setfacl", "-b", f, NULL));
	free(out);
	out = NULL;
	ASSERT_EQ(0, tfs_runl(10000, &out, "getfacl", "-cnp", f, NULL));
	ASSERT_NE(NULL, out);
	EXPECT_STREQ("user::rw-\ngroup::r--\nother::r--\n\n", out);
	free(out);
	EXPECT_EQ(0644, mode_of(f));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
