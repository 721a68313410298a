// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fs-verity files through fuse2fs, against kernel ext4 on the same device
 * (the guest kernel has fs-verity; the host's has not).  Kernel ext4
 * enables verity on files of several sizes (SHA-256 and SHA-512, with and
 * without salt); fuse2fs -o iomap=auto must read them identically, keep
 * them classic, and measure the same digests.  Then a data block, a
 * Merkle tree block and the descriptor's root hash are damaged on the
 * device: fuse2fs must return EIO for exactly the blocks ext4 refuses.
 * FS_IOC_READ_VERITY_METADATA must return ext4's bytes.  Last, verity
 * enabled by fuse2fs must satisfy ext4.  Runs in the UML
 * guest, as root; every test ends with `e2fsck -fn` clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/xattr.h>
#include <linux/fsverity.h>

#include "kselftest_harness.h"
#include "f2guest.h"

struct vfile {
	const char *name;
	size_t size;
	int alg;
	const char *salt;
};

static const struct vfile files[] = {
	{ "v_empty", 0, FS_VERITY_HASH_ALG_SHA256, NULL },
	{ "v_small", 1000, FS_VERITY_HASH_ALG_SHA256, NULL },
	{ "v_block", 4096, FS_VERITY_HASH_ALG_SHA512, "pepper" },
	{ "v_mid", 300000, FS_VERITY_HASH_ALG_SHA256, "salt" },
	{ "v_big", 5 * MIB + 123, FS_VERITY_HASH_ALG_SHA256, NULL },
};
#define NFILES	(sizeof(files) / sizeof(files[0]))

struct digest {
	struct fsverity_digest d;
	unsigned char buf[64];
};

static int enable(const char *path, const struct vfile *f)
{
	struct fsverity_enable_arg arg;
	int fd = open(path, O_RDONLY), ret;

	if (fd < 0)
		return -1;
	memset(&arg, 0, sizeof(arg));
	arg.version = 1;
	arg.hash_algorithm = f->alg;
	arg.block_size = 4096;
	arg.salt_size = f->salt ? strlen(f->salt) : 0;
	arg.salt_ptr = (uintptr_t)f->salt;
	ret = ioctl(fd, FS_IOC_ENABLE_VERITY, &arg);
	if (ret)
		fprintf(stderr, "# enable %s: %s\n", path, strerror(errno));
	close(fd);
	return ret;
}

static int measure(const char *path, struct digest *dg)
{
	int fd = open(path, O_RDONLY), ret;

	if (fd < 0)
		return -errno;
	memset(dg, 0, sizeof(*dg));
	dg->d.digest_size = sizeof(dg->buf);
	ret = ioctl(fd, FS_IOC_MEASURE_VERITY, dg) ? -errno : 0;
	close(fd);
	return ret;
}

/* Buffered (any length) file of size bytes of kt_fill()'s pattern. */
static int write_file(const char *path, size_t size, uint32_t seed)
{
	char *buf = malloc(size ? size : 1);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644), ret = -1;

	if (buf && fd >= 0) {
		kt_fill(buf, size, 0, seed);
		ret = write(fd, buf, size) == (ssize_t)size && !fsync(fd) ?
			0 : -1;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* Kernel ext4 on the device at dir (created). */
static int ext4_up(char *dir, size_t len, bool rw)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/ext4v.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	if (mount(f2g_device(), dir, "ext4", rw ? 0 : MS_RDONLY, NULL)) {
		fprintf(stderr, "# mount ext4: %s\n", strerror(errno));
		rmdir(dir);
		return -1;
	}
	return 0;
}

static void ext4_down(const char *dir)
{
	umount(dir);
	rmdir(dir);
}

/* Read 4 KiB block i of path: 0 or the errno. */
static int read_block(const char *path, uint64_t i)
{
	char buf[4096];
	int fd = open(path, O_RDONLY), err = 0;

	if (fd < 0)
		return errno;
	if (pread(fd, buf, sizeof(buf), (off_t)(i * 4096)) < 0)
		err = errno;
	close(fd);
	return err;
}

/* Flip a byte of logical block lblk of name on the device (unmounted). */
static int damage(const char *name, uint64_t lblk, unsigned int off)
{
	char cmd[256];
	FILE *p;
	long long pblk = -1;
	unsigned char b;
	int fd, ret = -1;

	snprintf(cmd, sizeof(cmd), "debugfs -R 'bmap %s %llu' %s 2>/dev/null",
		 name, (unsigned long long)lblk, f2g_device());
	p = popen(cmd, "r");
	if (!p || fscanf(p, "%lld", &pblk) != 1)
		pblk = -1;
	if (p)
		pclose(p);
	if (pblk <= 0)
		return -1;
	fd = open(f2g_device(), O_RDWR);
	if (fd >= 0 && pread(fd, &b, 1, pblk * 4096 + off) == 1) {
		b ^= 0xa5;
		if (pwrite(fd, &b, 1, pblk * 4096 + off) == 1 && !fsync(fd))
			ret = 0;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

FIXTURE(verity) {
	struct kt_server srv;
	struct digest want[NFILES];
};

/* Kernel ext4 makes and measures the verity files. */
FIXTURE_SETUP(verity)
{
	char dir[KT_PATH_MAX], path[2 * KT_PATH_MAX];
	size_t i;

	ASSERT_EQ(0, f2g_mkfs("verity"));
	ASSERT_EQ(0, ext4_up(dir, sizeof(dir), true));
	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		EXPECT_EQ(0, write_file(path, files[i].size, 7 + i));
		EXPECT_EQ(0, enable(path, &files[i]));
		EXPECT_EQ(0, measure(path, &self->want[i]));
	}
	ext4_down(dir);
	self->srv.pid = 0;
}

FIXTURE_TEARDOWN(verity)
{
	if (self->srv.pid)
		kt_server_stop(&self->srv);
	EXPECT_EQ(0, kt_sh(120, "e2fsck -fn %s", f2g_device()));
}

TEST_F(verity, reads_and_digests_match_ext4)
{
	char mode[64];
	struct digest got;
	size_t i;
	ssize_t n;
	int fd;

	ASSERT_EQ(0, f2g_mount(&self->srv));
	for (i = 0; i < NFILES; i++) {
		const char *p = kt_path(&self->srv, files[i].name);
		const struct region r[] = { { 0, files[i].size, 7 + i } };

		EXPECT_EQ(0, f2g_check_regions(p, r, 1, false))
			TH_LOG("%s", files[i].name);
		EXPECT_EQ(0, measure(p, &got));
		EXPECT_EQ(self->want[i].d.digest_algorithm,
			  got.d.digest_algorithm);
		EXPECT_EQ(self->want[i].d.digest_size, got.d.digest_size);
		EXPECT_EQ(0, memcmp(self->want[i].buf, got.buf,
				    got.d.digest_size)) TH_LOG("%s",
							    files[i].name);
		/* Classic, for the reason fuse2fs-iomapattr shows. */
		fd = open(p, O_RDONLY);
		ASSERT_LE(0, fd);
		EXPECT_EQ(0, kt_fd_iomap(fd, NULL));
		close(fd);
		n = getxattr(p, "user.fuse2fs.iomap_mode", mode,
			     sizeof(mode) - 1);
		ASSERT_LT(0, n);
		mode[n] = '\0';
		EXPECT_STREQ("classic (verity)", mode);
		EXPECT_EQ(-1, open(p, O_WRONLY));
		EXPECT_EQ(EPERM, errno);
	}
	EXPECT_EQ(0, kt_server_stop(&self->srv));
	self->srv.pid = 0;
}

/*
 * v_big: 1281 data blocks; its tree starts 64 KiB past EOF, at block
 * 1296: the top block, then level 0 (128 hashes a block).  v_small: no
 * tree, its descriptor at block 16 holds the root hash at byte 16.
 */
TEST_F(verity, damage_gives_eio_where_ext4_does)
{
	static const struct {
		const char *name;
		uint64_t block;
	} probes[] = {
		{ "v_big", 6 }, { "v_big", 7 }, { "v_big", 8 },
		{ "v_big", 127 }, { "v_big", 128 }, { "v_big", 255 },
		{ "v_big", 256 }, { "v_small", 0 }, { "v_mid", 0 },
	};
	char dir[KT_PATH_MAX], path[2 * KT_PATH_MAX];
	int ext4_err[sizeof(probes) / sizeof(probes[0])];
	size_t i;

	ASSERT_EQ(0, damage("v_big", 7, 100));		/* a data block */
	ASSERT_EQ(0, damage("v_big", 1298, 40));	/* level-0 block 1 */
	ASSERT_EQ(0, damage("v_small", 16, 20));	/* root hash */

	ASSERT_EQ(0, ext4_up(dir, sizeof(dir), false));
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, probes[i].name);
		ext4_err[i] = read_block(path, probes[i].block);
	}
	ext4_down(dir);
	/* What this test expects ext4 to do, so both are checked. */
	EXPECT_EQ(0, ext4_err[0]);
	EXPECT_EQ(EIO, ext4_err[1]);
	EXPECT_EQ(EIO, ext4_err[4]);
	EXPECT_EQ(0, ext4_err[8]);

	ASSERT_EQ(0, f2g_mount(&self->srv));
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		EXPECT_EQ(ext4_err[i],
			  read_block(kt_path(&self->srv, probes[i].name),
				     probes[i].block))
			TH_LOG("probe %zu", i);
	EXPECT_EQ(0, kt_server_stop(&self->srv));
	self->srv.pid = 0;
}

#define META_MAX	(256 << 10)
#define NTYPES		3

static const uint64_t meta_types[NTYPES] = {
	FS_VERITY_METADATA_TYPE_MERKLE_TREE,
	FS_VERITY_METADATA_TYPE_DESCRIPTOR,
	FS_VERITY_METADATA_TYPE_SIGNATURE,
};

/*
 * All of one kind of a file's fs-verity metadata, asking for chunk bytes
 * at a time from where the last answer ended, until an answer of 0: its
 * length, or -errno (-EMSGSIZE for an answer longer than asked).
 */
static ssize_t read_meta(const char *path, uint64_t type, uint8_t *buf,
			 size_t chunk)
{
	struct fsverity_read_metadata_arg arg = { .metadata_type = type };
	int fd = open(path, O_RDONLY);
	ssize_t len = 0;
	int n;

	if (fd < 0)
		return -errno;
	for (;;) {
		arg.offset = len;
		arg.length = chunk < (size_t)(META_MAX - len) ? chunk :
			(size_t)(META_MAX - len);
		arg.buf_ptr = (uintptr_t)(buf + len);
		n = ioctl(fd, FS_IOC_READ_VERITY_METADATA, &arg);
		if (n < 0)
			len = -errno;
		else if ((uint64_t)n > arg.length)
			len = -EMSGSIZE;
		else
			len += n;
		if (n <= 0 || len < 0 || len == META_MAX)
			break;
	}
	close(fd);
	return len;
}

/* The errno of the ioctl with one bad field, 0 if it passed. */
static int bad_meta_arg(const char *path, bool reserved)
{
	struct fsverity_read_metadata_arg arg = {
		.metadata_type = reserved ? FS_VERITY_METADATA_TYPE_DESCRIPTOR :
			99,
		.length = 256,
		.__reserved = reserved,
	};
	uint8_t buf[256];
	int fd = open(path, O_RDONLY), err;

	if (fd < 0)
		return -1;
	arg.buf_ptr = (uintptr_t)buf;
	err = ioctl(fd, FS_IOC_READ_VERITY_METADATA, &arg) < 0 ? errno : 0;
	close(fd);
	return err;
}

struct meta {
	ssize_t len[NFILES][NTYPES];
	uint8_t *buf[NFILES][NTYPES];
	int bad[2];
};

/* Every file's metadata under dir; tree chunks not block-aligned. */
static void read_all_meta(struct __test_metadata *_metadata,
			  const char *dir, struct meta *m)
{
	char path[2 * KT_PATH_MAX];
	size_t i, t;

	for (i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		for (t = 0; t < NTYPES; t++) {
			m->buf[i][t] = malloc(META_MAX);
			ASSERT_NE(NULL, m->buf[i][t]);
			m->len[i][t] = read_meta(path, meta_types[t],
						 m->buf[i][t],
						 t ? 100 : 4096 + 17);
		}
	}
	snprintf(path, sizeof(path), "%s/%s", dir, files[0].name);
	m->bad[0] = bad_meta_arg(path, true);
	m->bad[1] = bad_meta_arg(path, false);
}

static void free_meta(struct meta *m)
{
	size_t i, t;

	for (i = 0; i < NFILES; i++)
		for (t = 0; t < NTYPES; t++)
			free(m->buf[i][t]);
}

/*
 * FS_IOC_READ_VERITY_METADATA through fuse2fs returns what ext4 returns
 * for the same files: the Merkle tree, the descriptor (sig_size zeroed),
 * the signature (none: ENODATA), read in pieces; the same errors for a
 * reserved field set and an unknown metadata type.
 */
TEST_F(verity, metadata_matches_ext4)
{
	char dir[KT_PATH_MAX];
	struct meta want = { 0 }, got = { 0 };
	size_t i, t;

	ASSERT_EQ(0, ext4_up(dir, sizeof(dir), false));
	read_all_meta(_metadata, dir, &want);
	ext4_down(dir);
	/* what ext4 gives, so that the comparison means something */
	EXPECT_EQ(0, want.len[0][0]);		/* v_empty: no tree */
	EXPECT_EQ(12 * 4096, want.len[4][0]);	/* v_big: 11 + 1 blocks */
	EXPECT_EQ(256, want.len[4][1]);
	EXPECT_EQ(-ENODATA, want.len[4][2]);
	EXPECT_EQ(EINVAL, want.bad[0]);
	EXPECT_EQ(EINVAL, want.bad[1]);

	ASSERT_EQ(0, f2g_mount(&self->srv));
	read_all_meta(_metadata, self->srv.dir, &got);
	EXPECT_EQ(0, kt_server_stop(&self->srv));
	self->srv.pid = 0;

	for (i = 0; i < NFILES; i++)
		for (t = 0; t < NTYPES; t++) {
			EXPECT_EQ(want.len[i][t], got.len[i][t])
				TH_LOG("%s type %zu", files[i].name, t + 1);
			if (want.len[i][t] > 0 &&
			    want.len[i][t] == got.len[i][t])
				EXPECT_EQ(0, memcmp(want.buf[i][t],
						    got.buf[i][t],
						    want.len[i][t]))
					TH_LOG("%s type %zu", files[i].name,
					       t + 1);
		}
	EXPECT_EQ(want.bad[0], got.bad[0]);
	EXPECT_EQ(want.bad[1], got.bad[1]);
	free_meta(&want);
	free_meta(&got);
}

/* Verity enabled by fuse2fs is verity to ext4: same digest, same data. */
TEST_F(verity, enabled_by_fuse2fs_read_by_ext4)
{
	const struct vfile f = { "f2_made", 2 * MIB + 5,
				 FS_VERITY_HASH_ALG_SHA512, "s" };
	const struct region r[] = { { 0, f.size, 99 } };
	char dir[KT_PATH_MAX], path[2 * KT_PATH_MAX];
	struct digest mine, theirs;

	ASSERT_EQ(0, f2g_mount(&self->srv));
	ASSERT_EQ(0, write_file(kt_path(&self->srv, f.name), f.size, 99));
	ASSERT_EQ(0, enable(kt_path(&self->srv, f.name), &f));
	ASSERT_EQ(0, measure(kt_path(&self->srv, f.name), &mine));
	EXPECT_EQ(0, kt_server_stop(&self->srv));
	self->srv.pid = 0;

	ASSERT_EQ(0, ext4_up(dir, sizeof(dir), false));
	snprintf(path, sizeof(path), "%s/%s", dir, f.name);
	EXPECT_EQ(0, measure(path, &theirs));
	EXPECT_EQ(mine.d.digest_size, theirs.d.digest_size);
	EXPECT_EQ(0, memcmp(mine.buf, theirs.buf, mine.d.digest_size));
	EXPECT_EQ(0, f2g_check_regions(path, r, 1, false));
	ext4_down(dir);
}

TEST_HARNESS_MAIN
