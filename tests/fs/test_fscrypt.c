// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fscrypt through fuse2fs, cross-checked against kernel ext4 on the same
 * image.  Kernel ext4 (the host's, which has fscrypt) builds an encrypted
 * directory with a known key -- names of every length from 1 to 255
 * bytes, empty, small and sparse files, a symlink, a hard link, a
 * subdirectory, a renamed file -- and records what it shows with the key
 * (a manifest: names, modes, sizes, content hashes, link targets) and
 * without it (the no-key names and symlink target).  fuse2fs must show
 * exactly the same in both cases; without the key, opening contents is
 * ENOKEY and unlink works, and kernel ext4 agrees afterwards.  Keys come
 * from -o keyfile= or, on a running mount, through user.fuse2fs.key.
 * Variants: policy v2 (HKDF-SHA512, padding 32), v1 (padding 4), and v2
 * with IV_INO_LBLK_64 (per-mode keys, inode numbers in the IVs).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fscrypt.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#define KEY_SIZE	64
static const char v1_desc[8] = "fuse2fs!";

FIXTURE(fscrypt) {
	struct tfs_env env;
	unsigned char key[KEY_SIZE];
	unsigned char ident[FSCRYPT_KEY_IDENTIFIER_SIZE];
	char keyfile_opt[TFS_PATH_MAX + 64];
	char *manifest;		/* the kernel's view with the key */
	char *nokey;		/* the kernel's no-key listing */
	char *nokey_htree;	/* the same of enc/names, an htree */
};

FIXTURE_VARIANT(fscrypt) {
	int version;		/* 1 or 2 */
	int flags;		/* padding and IV flags */
	const char *features;
};
FIXTURE_VARIANT_ADD(fscrypt, v2_pad32) {
	.version = 2, .flags = FSCRYPT_POLICY_FLAGS_PAD_32,
	.features = "encrypt" };
FIXTURE_VARIANT_ADD(fscrypt, v1_pad4) {
	.version = 1, .flags = FSCRYPT_POLICY_FLAGS_PAD_4,
	.features = "encrypt" };
/* Per-mode keys, inode numbers in the IVs (needs stable inode numbers). */
FIXTURE_VARIANT_ADD(fscrypt, v2_iv_ino_lblk_64) {
	.version = 2,
	.flags = FSCRYPT_POLICY_FLAGS_PAD_16 | FSCRYPT_POLICY_FLAG_IV_INO_LBLK_64,
	.features = "encrypt,stable_inodes" };

/* FS_IOC_ADD_ENCRYPTION_KEY on the kernel mount. */
static int kernel_add_key(const char *mnt, int version,
			  const unsigned char *key, unsigned char *ident)
{
	struct {
		struct fscrypt_add_key_arg a;
		unsigned char raw[KEY_SIZE];
	} arg;
	int fd, ret;

	memset(&arg, 0, sizeof(arg));
	arg.a.key_spec.type = version == 1 ?
		FSCRYPT_KEY_SPEC_TYPE_DESCRIPTOR :
		FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	if (version == 1)
		memcpy(arg.a.key_spec.u.descriptor, v1_desc, 8);
	arg.a.raw_size = KEY_SIZE;
	memcpy(arg.raw, key, KEY_SIZE);
	fd = open(mnt, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	ret = ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, &arg);
	close(fd);
	if (!ret && version == 2)
		memcpy(ident, arg.a.key_spec.u.identifier, 16);
	return ret;
}

static int kernel_remove_key(const char *mnt, int version,
			     const unsigned char *ident)
{
	struct fscrypt_remove_key_arg arg;
	int fd, ret;

	memset(&arg, 0, sizeof(arg));
	arg.key_spec.type = version == 1 ? FSCRYPT_KEY_SPEC_TYPE_DESCRIPTOR :
					   FSCRYPT_KEY_SPEC_TYPE_IDENTIFIER;
	if (version == 1)
		memcpy(arg.key_spec.u.descriptor, v1_desc, 8);
	else
		memcpy(arg.key_spec.u.identifier, ident, 16);
	fd = open(mnt, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	ret = ioctl(fd, FS_IOC_REMOVE_ENCRYPTION_KEY, &arg);
	close(fd);
	return ret;
}

static int set_policy(const char *dir, int version, int flags,
		      const unsigned char *ident)
{
	union {
		struct fscrypt_policy_v1 v1;
		struct fscrypt_policy_v2 v2;
	} p;
	int fd, ret;

	memset(&p, 0, sizeof(p));
	if (version == 1) {
		p.v1.version = FSCRYPT_POLICY_V1;
		p.v1.contents_encryption_mode = FSCRYPT_MODE_AES_256_XTS;
		p.v1.filenames_encryption_mode = FSCRYPT_MODE_AES_256_CTS;
		p.v1.flags = flags;
		memcpy(p.v1.master_key_descriptor, v1_desc, 8);
	} else {
		p.v2.version = FSCRYPT_POLICY_V2;
		p.v2.contents_encryption_mode = FSCRYPT_MODE_AES_256_XTS;
		p.v2.filenames_encryption_mode = FSCRYPT_MODE_AES_256_CTS;
		p.v2.flags = flags;
		memcpy(p.v2.master_key_identifier, ident, 16);
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return -1;
	ret = ioctl(fd, FS_IOC_SET_ENCRYPTION_POLICY, &p);
	close(fd);
	return ret;
}

/* Sorted names of dir, one a line, and each symlink's target. */
static char *listing(const char *dir)
{
	struct dirent **ents;
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap), path[TFS_PATH_MAX + 512], tgt[1024];
	int i, n;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0 || !out) {
		free(out);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		ssize_t t;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		t = readlink(path, tgt, sizeof(tgt) - 1);
		tgt[t > 0 ? t : 0] = '\0';
		if (len + strlen(ents[i]->d_name) + strlen(tgt) + 8 > cap) {
			cap *= 2;
			out = realloc(out, cap);
		}
		len += sprintf(out + len, "%s -> %s\n", ents[i]->d_name, tgt);
		free(ents[i]);
	}
	free(ents);
	return out;
}

/* The no-key path of enc/names: the subdirectory with most entries. */
static const char *biggest_subdir(const char *dir, char *buf, size_t size)
{
	char path[TFS_PATH_MAX + 300];
	struct dirent *d;
	DIR *dp = opendir(dir);
	int best = -1;

	buf[0] = '\0';
	while (dp && (d = readdir(dp))) {
		struct dirent **ents;
		int n;

		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		n = scandir(path, &ents, NULL, NULL);
		if (n < 0)
			continue;
		if (n > best) {
			best = n;
			snprintf(buf, size, "%s", path);
		}
		while (n > 0)
			free(ents[--n]);
		free(ents);
	}
	if (dp)
		closedir(dp);
	return buf;
}

static const char *first_regular(const char *dir, char *buf, size_t size)
{
	struct dirent *d;
	DIR *dp = opendir(dir);

	buf[0] = '\0';
	while (dp && (d = readdir(dp)))
		if (d->d_type == DT_REG) {
			snprintf(buf, size, "%s/%s", dir, d->d_name);
			break;
		}
	if (dp)
		closedir(dp);
	return buf;
}

FIXTURE_SETUP(fscrypt)
{
	struct tfs_mkfs_opts o = { .size_mb = 128,
				   .features = variant->features };
	struct tfs_mount *k = &self->env.kern;
	char name[256], sub[TFS_PATH_MAX + 300];
	int i, fd;

	TFS_SKIP_UNLESS_MOUNTABLE();
	umask(0);
	ASSERT_EQ(0, tfs_env_init(&self->env));
	ASSERT_EQ(0, tfs_mkfs(self->env.image, &o));
	for (i = 0; i < KEY_SIZE; i++)
		self->key[i] = (unsigned char)(i * 7 + variant->version);
	ASSERT_EQ(0, tfs_write_file(tfs_ep(&self->env, "key"), self->key,
				    KEY_SIZE));
	/* The descriptor "fuse2fs!" in hex. */
	if (variant->version == 1)
		snprintf(self->keyfile_opt, sizeof(self->keyfile_opt),
			 "keyfile=6675736532667321=%s",
			 tfs_ep(&self->env, "key"));
	else
		snprintf(self->keyfile_opt, sizeof(self->keyfile_opt),
			 "keyfile=%s", tfs_ep(&self->env, "key"));

	/* Kernel ext4 builds the tree. */
	ASSERT_EQ(0, tfs_mount_kernel(k, self->env.image, NULL, NULL));
	TFS_ASSERT_OK(kernel_add_key(k->dir, variant->version, self->key,
				     self->ident));
	TFS_ASSERT_OK(mkdir(tfs_p(k, "enc"), 0755));
	TFS_ASSERT_OK(set_policy(tfs_p(k, "enc"), variant->version,
				 variant->flags, self->ident));
	TFS_ASSERT_OK(mkdir(tfs_p(k, "plain"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_p(k, "plain/file"), "plain", 5));
	TFS_ASSERT_OK(mkdir(tfs_p(k, "enc/names"), 0755));
	for (i = 1; i <= 255; i++) {
		char path[TFS_PATH_MAX + 300];

		memset(name, 'a' + i % 26, i);
		name[i] = '\0';
		snprintf(path, sizeof(path), "%s/enc/names/%s", k->dir, name);
		ASSERT_EQ(0, tfs_write_pattern(path, 0, i * 13, i, O_CREAT));
	}
	ASSERT_EQ(0, tfs_write_file(tfs_p(k, "enc/empty"), "", 0));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(k, "enc/small"), 0, 100, 1, O_CREAT));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(k, "enc/big"), 0, 3 << 20, 2, O_CREAT));
	/* Sparse: data, a hole of 1 MiB, data that ends mid-block. */
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(k, "enc/sparse"), 0, 5000, 3, O_CREAT));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(k, "enc/sparse"), 1 << 20, 777,
				       4, O_CREAT));
	TFS_ASSERT_OK(symlink("small", tfs_p(k, "enc/link")));
	memset(name, 't', 200);
	name[200] = '\0';
	TFS_ASSERT_OK(symlink(name, tfs_p(k, "enc/longlink")));
	TFS_ASSERT_OK(link(tfs_p(k, "enc/small"), tfs_p(k, "enc/hardlink")));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(k, "enc/old"), 0, 9000, 5, O_CREAT));
	TFS_ASSERT_OK(rename(tfs_p(k, "enc/old"), tfs_p(k, "enc/renamed")));
	TFS_ASSERT_OK(mkdir(tfs_p(k, "enc/sub"), 0700));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(k, "enc/sub/deep"), 0, 4096, 6,
				       O_CREAT));
	fd = open(tfs_p(k, "enc"), O_RDONLY);
	ASSERT_LE(0, fd);
	TFS_ASSERT_OK(syncfs(fd));
	close(fd);
	self->manifest = tfs_manifest(tfs_p(k, "enc"), TFS_MF_NO_ATIME);
	ASSERT_NE(NULL, self->manifest);
	TFS_ASSERT_OK(kernel_remove_key(k->dir, variant->version,
					self->ident));
	self->nokey = listing(tfs_p(k, "enc"));
	ASSERT_NE(NULL, self->nokey);
	self->nokey_htree = listing(biggest_subdir(tfs_p(k, "enc"), sub,
						   sizeof(sub)));
	ASSERT_NE(NULL, self->nokey_htree);
	ASSERT_EQ(0, tfs_umount(k));
	ASSERT_EQ(0, tfs_fsck(self->env.image));
}

FIXTURE_TEARDOWN_PARENT(fscrypt)
{
	tfs_env_cleanup(&self->env);
}

/* With the key: the same names, bytes, sizes, targets as kernel ext4. */
TEST_F(fscrypt, reads_like_ext4_with_the_key)
{
	struct tfs_mount *m = &self->env.fuse;
	char opts[TFS_PATH_MAX + 80], *mf;

	snprintf(opts, sizeof(opts), "ro,%s", self->keyfile_opt);
	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, opts));
	mf = tfs_manifest(tfs_p(m, "enc"), TFS_MF_NO_ATIME);
	ASSERT_NE(NULL, mf);
	EXPECT_EQ(0, tfs_manifest_diff("ext4 with key", self->manifest,
				       "fuse2fs with key", mf));
	free(mf);
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(m, "enc/sparse"), 1 << 20, 777,
				       4));
	TFS_ASSERT_UNMOUNT_CLEAN(m);
}

/* Without it: the kernel's no-key names and link target, ENOKEY. */
TEST_F(fscrypt, nokey_names_like_ext4)
{
	struct tfs_mount *m = &self->env.fuse;
	char path[TFS_PATH_MAX + 300], *l;
	struct stat st;

	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
	l = listing(tfs_p(m, "enc"));
	ASSERT_NE(NULL, l);
	EXPECT_STREQ(self->nokey, l);
	free(l);
	/* In an htree directory no-key names carry ext4's name hashes. */
	l = listing(biggest_subdir(tfs_p(m, "enc"), path, sizeof(path)));
	ASSERT_NE(NULL, l);
	EXPECT_STREQ(self->nokey_htree, l);
	free(l);
	first_regular(tfs_p(m, "enc"), path, sizeof(path));
	ASSERT_NE('\0', path[0]);
	TFS_ASSERT_OK(stat(path, &st));
	TFS_EXPECT_ERRNO(ENOKEY, open(path, O_RDONLY));
	/* Creating an entry without the key is ENOKEY too. */
	TFS_EXPECT_ERRNO(ENOKEY, mkdir(tfs_p(m, "enc/new"), 0755));
	/* unlink works without the key; ext4 agrees afterwards. */
	TFS_ASSERT_OK(unlink(path));
	TFS_EXPECT_ERRNO(ENOENT, stat(path, &st));
	TFS_ASSERT_UNMOUNT_CLEAN(m);
	ASSERT_EQ(0, tfs_mount_kernel(&self->env.kern, self->env.image, NULL,
				      NULL));
	l = listing(tfs_p(&self->env.kern, "enc"));
	ASSERT_NE(NULL, l);
	EXPECT_EQ(NULL, strstr(l, strrchr(path, '/') + 1));
	free(l);
	TFS_ASSERT_UNMOUNT_CLEAN(&self->env.kern);
}

/* fuse2fs-key, next to the fuse2fs under test. */
static int keytool(char **out, const char *a1, const char *a2,
		   const char *a3, const char *a4, const char *a5)
{
	char bin[TFS_PATH_MAX];

	snprintf(bin, sizeof(bin), "%s-key", tfs_fuse2fs_bin());
	return tfs_runl(10000, out, bin, a1, a2, a3, a4, a5, (char *)NULL);
}

/*
 * A key handed to a running (read-only) mount with fuse2fs-key, and
 * taken away again.
 */
TEST_F(fscrypt, key_on_a_running_mount)
{
	struct tfs_mount *m = &self->env.fuse;
	char hex[40], *l, *out = NULL;
	const char *key = tfs_ep(&self->env, "key");
	int i;

	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, "ro"));
	TFS_EXPECT_ERRNO(ENOENT, access(tfs_p(m, "enc/small"), F_OK));
	for (i = 0; i < (variant->version == 1 ? 8 : 16); i++)
		sprintf(hex + 2 * i, "%02x", variant->version == 1 ?
			(unsigned char)v1_desc[i] : self->ident[i]);
	if (variant->version == 1) {
		ASSERT_EQ(0, keytool(&out, "add", "-d", hex, m->dir, key));
	} else {
		ASSERT_EQ(0, keytool(&out, "add", m->dir, key, NULL, NULL));
	}
	/* It prints the name the key goes by. */
	EXPECT_EQ(0, strncmp(out, hex, strlen(hex))) TH_LOG("%s", out);
	free(out);
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(m, "enc/small"), 0, 100, 1));
	l = listing(tfs_p(m, "enc"));
	ASSERT_NE(NULL, l);
	EXPECT_NE(NULL, strstr(l, "renamed -> \n"));
	free(l);
	EXPECT_EQ(0, keytool(NULL, "status", tfs_p(m, "enc"), hex, NULL,
			     NULL));
	EXPECT_EQ(0, keytool(NULL, "remove", m->dir, hex, NULL, NULL));
	EXPECT_EQ(1, keytool(NULL, "status", m->dir, hex, NULL, NULL));
	EXPECT_EQ(1, keytool(NULL, "remove", m->dir, hex, NULL, NULL));
	TFS_EXPECT_ERRNO(ENOENT, access(tfs_p(m, "enc/small"), F_OK));
	l = listing(tfs_p(m, "enc"));
	ASSERT_NE(NULL, l);
	EXPECT_STREQ(self->nokey, l);
	free(l);
	TFS_ASSERT_UNMOUNT_CLEAN(m);
}

/*
 * fuse2fs writes into the encrypted directory -- names of every length
 * (into ext4's htree directory "names" too), data through a sparse file
 * and an unaligned truncation, a directory, short and long symlinks, a
 * hard link, renames and an exchange within the policy, a fifo -- and
 * kernel ext4 must see exactly what fuse2fs saw, with the key.
 */
TEST_F(fscrypt, writes_read_back_by_ext4)
{
	struct tfs_mount *m = &self->env.fuse, *k = &self->env.kern;
	char path[TFS_PATH_MAX + 300], name[256], *mine, *theirs;
	int i;

	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, self->keyfile_opt));
	TFS_ASSERT_OK(mkdir(tfs_p(m, "enc/made"), 0750));
	for (i = 1; i <= 255; i += 2) {
		memset(name, 'A' + i % 26, i);
		name[i] = '\0';
		snprintf(path, sizeof(path), "%s/enc/made/%s", m->dir, name);
		ASSERT_EQ(0, tfs_write_pattern(path, 0, i * 31, i, O_CREAT));
		snprintf(path, sizeof(path), "%s/enc/names/%s", m->dir, name);
		ASSERT_EQ(0, tfs_write_pattern(path, 0, i, i, O_CREAT));
	}
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(m, "enc/made/sparse"), 3 << 20,
				       5555, 7, O_CREAT));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(m, "enc/made/sparse"), 100,
				       9000, 8, 0));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(m, "enc/made/cut"), 0, 70000, 9,
				       O_CREAT));
	TFS_ASSERT_OK(truncate(tfs_p(m, "enc/made/cut"), 12345));
	TFS_ASSERT_OK(truncate(tfs_p(m, "enc/made/cut"), 50000));
	TFS_ASSERT_OK(symlink("sparse", tfs_p(m, "enc/made/s1")));
	memset(name, 'q', 250);
	name[250] = '\0';
	TFS_ASSERT_OK(symlink(name, tfs_p(m, "enc/made/s2")));
	TFS_ASSERT_OK(link(tfs_p(m, "enc/made/cut"), tfs_p(m, "enc/made/l")));
	TFS_ASSERT_OK(rename(tfs_p(m, "enc/small"), tfs_p(m, "enc/made/mv")));
	TFS_ASSERT_OK(rename(tfs_p(m, "enc/made/s1"), tfs_p(m, "enc/big")));
	TFS_ASSERT_OK(renameat2(AT_FDCWD, tfs_p(m, "enc/sub"), AT_FDCWD,
				tfs_p(m, "enc/made/l"), RENAME_EXCHANGE));
	TFS_ASSERT_OK(mkfifo(tfs_p(m, "enc/made/fifo"), 0600));
	mine = tfs_manifest(tfs_p(m, "enc"), TFS_MF_NO_ATIME);
	ASSERT_NE(NULL, mine);
	TFS_ASSERT_UNMOUNT_CLEAN(m);

	ASSERT_EQ(0, tfs_mount_kernel(k, self->env.image, NULL, NULL));
	TFS_ASSERT_OK(kernel_add_key(k->dir, variant->version, self->key,
				     self->ident));
	theirs = tfs_manifest(tfs_p(k, "enc"), TFS_MF_NO_ATIME);
	ASSERT_NE(NULL, theirs);
	EXPECT_EQ(0, tfs_manifest_diff("fuse2fs wrote", mine,
				       "ext4 reads", theirs));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(k, "enc/made/cut"), 0, 12345,
				       9));
	TFS_ASSERT_OK(kernel_remove_key(k->dir, variant->version,
					self->ident));
	free(mine);
	free(theirs);
	TFS_ASSERT_UNMOUNT_CLEAN(k);

	/*
	 * With the key gone, names made with it are no longer found (fresh
	 * ones: a listing re-reads every name anyway).
	 */
	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, self->keyfile_opt));
	ASSERT_EQ(0, tfs_write_file(tfs_p(m, "enc/fresh"), "x", 1));
	TFS_ASSERT_OK(mkdir(tfs_p(m, "enc/freshdir"), 0700));
	for (i = 0; i < (variant->version == 1 ? 8 : 16); i++)
		sprintf(name + 2 * i, "%02x", variant->version == 1 ?
			(unsigned char)v1_desc[i] : self->ident[i]);
	ASSERT_EQ(0, keytool(NULL, "remove", m->dir, name, NULL, NULL));
	TFS_EXPECT_ERRNO(ENOENT, access(tfs_p(m, "enc/fresh"), F_OK));
	TFS_EXPECT_ERRNO(ENOENT, access(tfs_p(m, "enc/freshdir"), F_OK));
	TFS_ASSERT_UNMOUNT_CLEAN(m);
}

/* link and rename into another policy: EXDEV, as on ext4. */
TEST_F(fscrypt, exdev_across_policies)
{
	struct tfs_mount *mounts[2] = { &self->env.kern, &self->env.fuse };
	int i;

	for (i = 0; i < 2; i++) {
		struct tfs_mount *m = mounts[i];

		if (i == 0) {
			ASSERT_EQ(0, tfs_mount_kernel(m, self->env.image, NULL,
						      NULL));
			TFS_ASSERT_OK(kernel_add_key(m->dir, variant->version,
						     self->key, self->ident));
		} else {
			ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image,
						    self->keyfile_opt));
		}
		TFS_EXPECT_ERRNO(EXDEV, link(tfs_p(m, "plain/file"),
					     tfs_p(m, "enc/x")));
		TFS_EXPECT_ERRNO(EXDEV, rename(tfs_p(m, "plain/file"),
					       tfs_p(m, "enc/x")));
		TFS_EXPECT_ERRNO(EXDEV, rename(tfs_p(m, "plain"),
					       tfs_p(m, "enc/x")));
		if (i == 0)
			TFS_ASSERT_OK(kernel_remove_key(m->dir,
							variant->version,
							self->ident));
		TFS_ASSERT_UNMOUNT_CLEAN(m);
	}
}

/*
 * Hostile contexts, served by the sanitized fuse2fs when it is built: a
 * context of the wrong size and one with an unknown contents mode give
 * EINVAL (fscrypt's answer for an unusable context), never a crash, and
 * the rest of the mount keeps working.
 */
FIXTURE(hostile_ctx) {
	struct tfs_env env;
	ino_t file, dir;
};

FIXTURE_SETUP(hostile_ctx)
{
	struct tfs_mkfs_opts o = { .size_mb = 64,
				   .features = "encrypt,^metadata_csum" };
	struct tfs_mount *k = &self->env.kern;
	unsigned char key[KEY_SIZE], ident[16];
	struct stat st;

	TFS_SKIP_UNLESS_MOUNTABLE();
	ASSERT_EQ(0, tfs_env_init(&self->env));
	ASSERT_EQ(0, tfs_mkfs(self->env.image, &o));
	memset(key, 0x42, sizeof(key));
	ASSERT_EQ(0, tfs_write_file(tfs_ep(&self->env, "key"), key,
				    sizeof(key)));
	ASSERT_EQ(0, tfs_mount_kernel(k, self->env.image, NULL, NULL));
	TFS_ASSERT_OK(kernel_add_key(k->dir, 2, key, ident));
	TFS_ASSERT_OK(mkdir(tfs_p(k, "enc"), 0755));
	TFS_ASSERT_OK(set_policy(tfs_p(k, "enc"), 2, 0, ident));
	ASSERT_EQ(0, tfs_write_file(tfs_p(k, "enc/f"), "data", 4));
	TFS_ASSERT_OK(mkdir(tfs_p(k, "enc/d"), 0755));
	ASSERT_EQ(0, tfs_write_file(tfs_p(k, "enc/d/g"), "more", 4));
	TFS_ASSERT_OK(stat(tfs_p(k, "enc/f"), &st));
	self->file = st.st_ino;
	TFS_ASSERT_OK(stat(tfs_p(k, "enc/d"), &st));
	self->dir = st.st_ino;
	ASSERT_EQ(0, tfs_write_file(tfs_p(k, "plain"), "ok", 2));
	TFS_ASSERT_OK(kernel_remove_key(k->dir, 2, ident));
	ASSERT_EQ(0, tfs_umount(k));
	/* The sanitized server aborts on any memory error. */
	if (!access(F2_SAN_BIN, X_OK))
		setenv("FUSE2FS_BIN", F2_SAN_BIN, 1);
}

FIXTURE_TEARDOWN_PARENT(hostile_ctx)
{
	tfs_env_cleanup(&self->env);
}

/*
 * Edit inode ino's encryption context in place: value size (size >= 0)
 * or the byte at offset byte.  The entry hash is cleared so that only
 * the context itself is wrong.
 */
static int edit_context(const char *image, ino_t ino, int size, int byte,
			unsigned char val)
{
	char req[64], *out = NULL, *at;
	long long blk, off;
	unsigned char raw[256];
	unsigned int pos;
	int fd, ret = -1;

	snprintf(req, sizeof(req), "imap <%lu>", (unsigned long)ino);
	if (tfs_debugfs(image, req, &out) || !(at = strstr(out, "located at")) ||
	    sscanf(at, "located at block %lld, offset %llx", &blk, &off) != 2) {
		free(out);
		return -1;
	}
	free(out);
	fd = open(image, O_RDWR);
	if (fd < 0 || pread(fd, raw, 256, blk * 4096 + off) != 256)
		goto out;
	/* In-body entries start after i_extra_isize and the magic. */
	for (pos = 128 + (raw[128] | raw[129] << 8) + 4; pos + 20 < 256;
	     pos += (16 + raw[pos] + 3) & ~3u) {
		unsigned int voff;

		if (!raw[pos])
			break;
		if (raw[pos] != 1 || raw[pos + 1] != 9)
			continue;
		memset(raw + pos + 12, 0, 4);		/* e_hash */
		if (size >= 0) {
			raw[pos + 8] = (unsigned char)size;
		} else {
			voff = raw[pos + 2] | raw[pos + 3] << 8;
			raw[128 + (raw[128] | raw[129] << 8) + 4 + voff +
			    byte] = val;
		}
		ret = pwrite(fd, raw, 256, blk * 4096 + off) == 256 ? 0 : -1;
		break;
	}
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

TEST_F(hostile_ctx, wrong_size_and_unknown_mode)
{
	struct tfs_mount *m = &self->env.fuse;
	char opts[TFS_PATH_MAX + 16];
	DIR *d;

	ASSERT_EQ(0, edit_context(self->env.image, self->file, 39, 0, 0));
	ASSERT_EQ(0, edit_context(self->env.image, self->dir, -1, 1, 99));
	snprintf(opts, sizeof(opts), "ro,keyfile=%s",
		 tfs_ep(&self->env, "key"));
	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, opts));
	TFS_EXPECT_ERRNO(EINVAL, open(tfs_p(m, "enc/f"), O_RDONLY));
	d = opendir(tfs_p(m, "enc/d"));
	ASSERT_NE(NULL, d);
	errno = 0;
	EXPECT_EQ(NULL, readdir(d));
	EXPECT_EQ(EINVAL, errno);
	closedir(d);
	TFS_EXPECT_ERRNO(EINVAL, access(tfs_p(m, "enc/d/g"), F_OK));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(m, "plain"), 0, 0, 0));
	EXPECT_EQ(0, access(tfs_p(m, "plain"), R_OK));
	ASSERT_EQ(0, tfs_umount(m));
}

TEST_HARNESS_MAIN
