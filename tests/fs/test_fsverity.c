// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fs-verity through fuse2fs on the host (whose kernel has no fs-verity,
 * so kernel ext4 cannot be the reference here; tests/kernel does that in
 * the UML guest).  fuse2fs enables verity on files of several sizes with
 * SHA-256 and SHA-512, salted or not, 1 KiB and 4 KiB tree blocks; the
 * measured digest must be the one the test computes itself from
 * fsverity.rst's definition, the data must read back, and verity files
 * stay read-only.  Then the image is damaged: a data block gives EIO for
 * exactly that block, a tree block for exactly the blocks it covers, a
 * root hash byte in the descriptor for every block; a descriptor whose
 * size puts it inside the tree, and an extent pointing past the end of
 * the device, give an error at open and never a crash (the sanitized
 * fuse2fs serves everything after the set-up when it is built).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fsverity.h>
#include <openssl/evp.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

#define MIB (1 << 20)

struct vfile {
	const char *name;
	size_t size;
	int alg;		/* FS_VERITY_HASH_ALG_* */
	unsigned int bs;
	const char *salt;
};

static const struct vfile files[] = {
	{ "empty", 0, FS_VERITY_HASH_ALG_SHA256, 4096, NULL },
	{ "one", 1, FS_VERITY_HASH_ALG_SHA256, 4096, NULL },
	{ "block", 4096, FS_VERITY_HASH_ALG_SHA512, 4096, "salt" },
	{ "mid", 4097 * 3, FS_VERITY_HASH_ALG_SHA256, 1024, "a longer salt" },
	{ "big", 5 * MIB + 123, FS_VERITY_HASH_ALG_SHA256, 4096, NULL },
	{ "big512", 2 * MIB, FS_VERITY_HASH_ALG_SHA512, 4096, NULL },
};

/* The file digest as fsverity.rst defines it, computed independently. */
static void hash(int alg, const char *salt, const void *buf, size_t len,
		 unsigned char *out)
{
	const EVP_MD *md = alg == FS_VERITY_HASH_ALG_SHA512 ? EVP_sha512() :
							      EVP_sha256();
	unsigned char pad[128] = { 0 };
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	EVP_DigestInit_ex(c, md, NULL);
	if (salt) {
		memcpy(pad, salt, strlen(salt));
		EVP_DigestUpdate(c, pad, EVP_MD_get_block_size(md));
	}
	EVP_DigestUpdate(c, buf, len);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

static size_t ref_digest(const struct vfile *f, const unsigned char *data,
			 unsigned char *out)
{
	size_t ds = f->alg == FS_VERITY_HASH_ALG_SHA512 ? 64 : 32;
	size_t n = (f->size + f->bs - 1) / f->bs, i;
	unsigned char desc[256] = { 0 }, root[64] = { 0 };
	unsigned char *level = NULL, *next;

	if (f->size) {
		level = calloc(n, f->bs);
		memcpy(level, data, f->size);
		for (;;) {
			if (n == 1) {
				hash(f->alg, f->salt, level, f->bs, root);
				break;
			}
			next = calloc((n * ds + f->bs - 1) / f->bs, f->bs);
			for (i = 0; i < n; i++)
				hash(f->alg, f->salt, level + i * f->bs, f->bs,
				     next + i * ds);
			free(level);
			level = next;
			n = (n * ds + f->bs - 1) / f->bs;
		}
		free(level);
	}
	desc[0] = 1;
	desc[1] = f->alg;
	desc[2] = __builtin_ctz(f->bs);
	desc[3] = f->salt ? strlen(f->salt) : 0;
	for (i = 0; i < 8; i++)
		desc[8 + i] = (unsigned char)((uint64_t)f->size >> (8 * i));
	memcpy(desc + 16, root, ds);
	if (f->salt)
		memcpy(desc + 80, f->salt, strlen(f->salt));
	hash(f->alg, NULL, desc, sizeof(desc), out);
	return ds;
}

static int enable(const char *path, const struct vfile *f)
{
	struct fsverity_enable_arg arg;
	int fd = open(path, O_RDONLY), ret;

	if (fd < 0)
		return -1;
	memset(&arg, 0, sizeof(arg));
	arg.version = 1;
	arg.hash_algorithm = f->alg;
	arg.block_size = f->bs;
	arg.salt_size = f->salt ? strlen(f->salt) : 0;
	arg.salt_ptr = (uintptr_t)f->salt;
	ret = ioctl(fd, FS_IOC_ENABLE_VERITY, &arg);
	close(fd);
	return ret;
}

static int measure(const char *path, unsigned char *out, size_t *len)
{
	struct {
		struct fsverity_digest d;
		unsigned char buf[64];
	} m = { .d.digest_size = 64 };
	int fd = open(path, O_RDONLY), ret;

	if (fd < 0)
		return -1;
	ret = ioctl(fd, FS_IOC_MEASURE_VERITY, &m);
	close(fd);
	*len = m.d.digest_size;
	memcpy(out, m.buf, *len);
	return ret;
}

/* debugfs's answer is on the line that starts with a digit. */
static int bmap(const char *image, const char *file, unsigned long lblk,
		long long *pblk)
{
	char req[128], *out = NULL, *l;
	int ret = -1;

	snprintf(req, sizeof(req), "bmap %s %lu", file, lblk);
	if (tfs_debugfs(image, req, &out) == 0)
		for (l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (*l >= '0' && *l <= '9' && sscanf(l, "%lld", pblk) == 1) {
				ret = *pblk > 0 ? 0 : -1;
				break;
			}
	free(out);
	return ret;
}

/* Overwrite one byte of logical block lblk of FILE in the image. */
static int poke(const char *image, const char *file, unsigned long lblk,
		unsigned int off)
{
	long long pblk;
	unsigned char b;
	int fd, ret = -1;

	if (!bmap(image, file, lblk, &pblk)) {
		fd = open(image, O_RDWR);
		if (fd >= 0 && pread(fd, &b, 1, pblk * 4096 + off) == 1) {
			b ^= 0x5a;
			ret = pwrite(fd, &b, 1, pblk * 4096 + off) == 1 ? 0 : -1;
		}
		if (fd >= 0)
			close(fd);
	}
	return ret;
}

/* Read block i (4 KiB) of path: 0 or the errno. */
static int read_block(const char *path, unsigned long i)
{
	char buf[4096];
	int fd = open(path, O_RDONLY), err = 0;

	if (fd < 0)
		return errno;
	if (pread(fd, buf, sizeof(buf), (off_t)i * 4096) < 0)
		err = errno;
	close(fd);
	return err;
}

FIXTURE(verity) {
	struct tfs_env env;
	unsigned char *data;
};

FIXTURE_SETUP(verity)
{
	/* No metadata_csum: the hostile cases edit inodes in place. */
	struct tfs_mkfs_opts o = { .size_mb = 128,
				   .features = "verity,^metadata_csum" };
	struct tfs_mount *m = &self->env.fuse;
	size_t i;

	TFS_SKIP_UNLESS_MOUNTABLE();
	umask(0);
	ASSERT_EQ(0, tfs_env_init(&self->env));
	ASSERT_EQ(0, tfs_mkfs(self->env.image, &o));
	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
	self->data = malloc(6 * MIB);
	ASSERT_NE(NULL, self->data);
	tfs_pattern(self->data, 6 * MIB, 0, 42);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		ASSERT_EQ(0, tfs_write_file(tfs_p(m, files[i].name),
					    self->data, files[i].size));
		TFS_ASSERT_OK(enable(tfs_p(m, files[i].name), &files[i]));
	}
	ASSERT_EQ(0, tfs_umount(m));
	ASSERT_EQ(0, tfs_fsck(self->env.image));
	/* Reads, damaged or not, by the sanitized server when built. */
	if (!access(F2_SAN_BIN, X_OK))
		setenv("FUSE2FS_BIN", F2_SAN_BIN, 1);
}

FIXTURE_TEARDOWN_PARENT(verity)
{
	/* self->data belongs to the test process, which is gone. */
	tfs_env_cleanup(&self->env);
}

TEST_F(verity, digests_data_and_read_only)
{
	struct tfs_mount *m = &self->env.fuse;
	unsigned char want[64], got[64];
	size_t i, wl, gl, n;
	char *back;

	ASSERT_EQ(0, tfs_mount_fuse(m, self->env.image, NULL));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *p = tfs_p(m, files[i].name);

		wl = ref_digest(&files[i], self->data, want);
		TFS_ASSERT_OK(measure(p, got, &gl));
		ASSERT_EQ(wl, gl);
		EXPECT_EQ(0, memcmp(want, got, wl)) TH_LOG("%s",
							   files[i].name);
		back = tfs_read_file(p, &n);
		ASSERT_NE(NULL, back);
		EXPECT_EQ(files[i].size, n);
		EXPECT_EQ(0, memcmp(back, self->data, n));
		free(back);
		TFS_EXPECT_ERRNO(EPERM, open(p, O_WRONLY));
		TFS_EXPECT_ERRNO(EPERM, truncate(p, 0));
		TFS_EXPECT_ERRNO(EEXIST, enable(p, &files[i]));
	}
	TFS_ASSERT_UNMOUNT_CLEAN(m);
}

/*
 * big: 1281 data blocks; its tree starts at 64 KiB past EOF (block
 * 1296): the top block, then eleven level-0 blocks of 128 hashes each.
 */
TEST_F(verity, damage_gives_eio_exactly_there)
{
	struct tfs_mount *m = &self->env.fuse;
	const char *img = self->env.image;
	unsigned char got[64], want[64];
	size_t gl;

	ASSERT_EQ(0, poke(img, "big", 7, 100));		/* data block 7 */
	ASSERT_EQ(0, poke(img, "big512", 1, 5));	/* data of big512 */
	ASSERT_EQ(0, tfs_mount_fuse(m, img, "ro"));
	EXPECT_EQ(0, read_block(tfs_p(m, "big"), 6));
	EXPECT_EQ(EIO, read_block(tfs_p(m, "big"), 7));
	EXPECT_EQ(0, read_block(tfs_p(m, "big"), 8));
	EXPECT_EQ(EIO, read_block(tfs_p(m, "big512"), 1));
	EXPECT_EQ(0, read_block(tfs_p(m, "big512"), 2));
	ASSERT_EQ(0, tfs_umount(m));

	/* The second level-0 block covers data blocks 128 to 255. */
	ASSERT_EQ(0, poke(img, "big", 1298, 64));
	ASSERT_EQ(0, tfs_mount_fuse(m, img, "ro"));
	EXPECT_EQ(0, read_block(tfs_p(m, "big"), 127));
	EXPECT_EQ(EIO, read_block(tfs_p(m, "big"), 128));
	EXPECT_EQ(EIO, read_block(tfs_p(m, "big"), 255));
	EXPECT_EQ(0, read_block(tfs_p(m, "big"), 256));
	ASSERT_EQ(0, tfs_umount(m));

	/* A root hash byte of the descriptor (just after the tree). */
	ASSERT_EQ(0, poke(img, "one", 16, 16 + 3));
	ASSERT_EQ(0, tfs_mount_fuse(m, img, "ro"));
	EXPECT_EQ(EIO, read_block(tfs_p(m, "one"), 0));
	TFS_ASSERT_OK(measure(tfs_p(m, "one"), got, &gl));
	ref_digest(&files[1], self->data, want);
	EXPECT_NE(0, memcmp(want, got, gl));
	ASSERT_EQ(0, tfs_umount(m));
}

/* Hostile descriptors and extents: an errno, never a crash. */
TEST_F(verity, hostile_metadata)
{
	struct tfs_mount *m = &self->env.fuse;
	const char *img = self->env.image;
	char *out = NULL;
	long long blk, off;
	unsigned char ib[256];
	int fd;

	/*
	 * block: data at 0, descriptor and its size at block 16 (64 KiB).
	 * A size field of 0x7000 puts the descriptor before the tree start.
	 */
	fd = open(img, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bmap(img, "block", 16, &blk));
	ASSERT_EQ(4, pwrite(fd, "\x00\x70\x00\x00", 4, blk * 4096 + 4092));
	/* big512: its last extent (tree, descriptor) moved past the end. */
	ASSERT_EQ(0, tfs_debugfs(img, "imap big512", &out));
	ASSERT_NE(NULL, strstr(out, "located at block"));
	ASSERT_EQ(2, sscanf(strstr(out, "located at block"),
			    "located at block %lld, offset %llx", &blk, &off));
	free(out);
	ASSERT_EQ(256, pread(fd, ib, 256, blk * 4096 + off));
	/* i_block at 40: header (12), then extents: the last one's start. */
	ASSERT_EQ(0, ib[40 + 6]);	/* depth 0 */
	ASSERT_LE(1, ib[40 + 2]);
	memcpy(ib + 40 + 12 * ib[40 + 2] + 8, "\x00\x00\xff\x0f", 4);
	ASSERT_EQ(256, pwrite(fd, ib, 256, blk * 4096 + off));
	close(fd);

	ASSERT_EQ(0, tfs_mount_fuse(m, img, "ro"));
	TFS_EXPECT_ERRNO(EUCLEAN, open(tfs_p(m, "block"), O_RDONLY));
	errno = 0;
	EXPECT_EQ(-1, open(tfs_p(m, "big512"), O_RDONLY));
	EXPECT_TRUE(errno == EIO || errno == EUCLEAN) TH_LOG("%d", errno);
	/* The rest of the mount still works. */
	EXPECT_EQ(0, read_block(tfs_p(m, "big"), 0));
	ASSERT_EQ(0, tfs_umount(m));
}

TEST_HARNESS_MAIN
