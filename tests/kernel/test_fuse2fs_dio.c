// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse2fs with -o iomap=auto on the patched kernel: which files are in
 * iomap mode, and O_DIRECT reads and writes (4 KiB to 8 MiB, into holes,
 * past EOF, sparse, io_submit) whose results kernel ext4 must read back
 * identically from the same device after unmount.  Every test starts from
 * a fresh mke2fs and ends with a clean `e2fsck -fn`.  Runs inside the UML
 * guest, as root.
 *
 * Environment: KT_DEVICE (default /dev/ubdb), KT_FUSE2FS (default: the
 * fuse2fs of this build tree).
 */
#include <errno.h>
#include <fcntl.h>
#include <libaio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "ktest.h"

#define MIB		(1ULL << 20)
#define FS_SIZE		"1G"

static const char *device(void)
{
	const char *d = getenv("KT_DEVICE");

	return d ? d : "/dev/ubdb";
}

static const char *fuse2fs_bin(void)
{
	const char *s = getenv("KT_FUSE2FS");

	return s ? s : KT_FUSE2FS;
}

/* One region of a test file: written with a pattern seed, or a hole. */
struct region {
	uint64_t off;
	uint64_t len;
	uint32_t seed;		/* 0: never written, reads as zeroes */
};

static int mkfs(const char *features)
{
	return kt_sh(120, "mke2fs -q -F -t ext4 -b 4096 %s%s %s %s",
		     features ? "-O " : "", features ? features : "",
		     device(), FS_SIZE);
}

static int mount_fuse2fs(struct kt_server *srv)
{
	const char *argv[] = { fuse2fs_bin(), device(), "@MNT@", "-o",
			       "iomap=auto", "-f", NULL };

	return kt_server_start(srv, argv);
}

/* Compare a file, region by region, with what the regions say. */
static int check_regions(const char *path, const struct region *r, int n,
			 bool direct)
{
	int fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
	uint64_t chunk = 4 * MIB;
	char *buf = kt_alloc(chunk);
	int i, bad = 0;

	if (fd < 0 || !buf) {
		fprintf(stderr, "# open %s: %s\n", path, strerror(errno));
		free(buf);
		return -1;
	}
	for (i = 0; i < n && !bad; i++) {
		uint64_t done;

		for (done = 0; done < r[i].len && !bad; done += chunk) {
			uint64_t len = r[i].len - done < chunk ?
				       r[i].len - done : chunk;
			uint64_t off = r[i].off + done;
			ssize_t got = pread(fd, buf, len, off);

			if (got != (ssize_t)len) {
				fprintf(stderr, "# %s: read %zd of %llu at %llu\n",
					path, got, (unsigned long long)len,
					(unsigned long long)off);
				bad = 1;
			} else if (r[i].seed ? kt_check(buf, len, off, r[i].seed) >= 0 :
				   !kt_is_zero(buf, len)) {
				fprintf(stderr, "# %s: wrong data in region %d at %llu\n",
					path, i, (unsigned long long)off);
				bad = 1;
			}
		}
	}
	close(fd);
	free(buf);
	return bad ? -1 : 0;
}

static int write_regions(const char *path, const struct region *r, int n)
{
	uint64_t max = 0;
	char *buf;
	int i, err = 0;

	for (i = 0; i < n; i++)
		if (r[i].seed && r[i].len > max)
			max = r[i].len;
	buf = kt_alloc(max);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++) {
		if (!r[i].seed)
			continue;
		kt_fill(buf, r[i].len, r[i].off, r[i].seed);
		err = kt_direct_pwrite(path, buf, r[i].len, r[i].off);
		if (err)
			fprintf(stderr, "# direct write of %llu at %llu: %s\n",
				(unsigned long long)r[i].len,
				(unsigned long long)r[i].off, strerror(-err));
	}
	free(buf);
	return err;
}

/* After unmount: kernel ext4 reads the same bytes from the device. */
static int check_with_ext4(const char *name, const struct region *r, int n,
			   uint64_t size)
{
	char dir[KT_PATH_MAX], path[2 * KT_PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	struct stat st;
	int ret;

	snprintf(dir, sizeof(dir), "%s/ext4.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	if (mount(device(), dir, "ext4", MS_RDONLY, NULL)) {
		fprintf(stderr, "# mount ext4: %s\n", strerror(errno));
		rmdir(dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ret = check_regions(path, r, n, true);
	if (!ret && (stat(path, &st) || (uint64_t)st.st_size != size)) {
		fprintf(stderr, "# ext4 sees size %lld, expected %llu\n",
			(long long)st.st_size, (unsigned long long)size);
		ret = -1;
	}
	umount(dir);
	rmdir(dir);
	return ret;
}

FIXTURE(f2) {
	struct kt_server srv;
	bool fsck_done;
};

FIXTURE_VARIANT(f2) {
	const char *features;
};

FIXTURE_VARIANT_ADD(f2, ext4) {
	.features = NULL,
};

FIXTURE_VARIANT_ADD(f2, inline_data) {
	.features = "inline_data",
};

FIXTURE_SETUP(f2)
{
	ASSERT_EQ(0, mkfs(variant->features));
	ASSERT_EQ(0, mount_fuse2fs(&self->srv));
}

FIXTURE_TEARDOWN(f2)
{
	EXPECT_EQ(0, kt_server_stop(&self->srv));
	EXPECT_EQ(0, kt_sh(120, "e2fsck -fn %s", device()));
}

static void unmount_and_fsck(struct __test_metadata *_metadata,
			     struct kt_server *srv)
{
	ASSERT_EQ(0, kt_server_stop(srv));
	ASSERT_EQ(0, kt_sh(120, "e2fsck -fn %s", device()));
}

/* A new regular file is iomap, with its ext4 inode number as backing. */
TEST_F(f2, mode_of_new_files)
{
	const char *path = kt_path(&self->srv, "new");
	uint64_t ino = 0;
	struct stat st;
	char small[100];
	int fd, mode;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	memset(small, 'x', sizeof(small));
	ASSERT_EQ((ssize_t)sizeof(small), write(fd, small, sizeof(small)));
	ASSERT_EQ(0, fstat(fd, &st));
	mode = kt_fd_iomap(fd, &ino);
	close(fd);
	if (variant->features && strstr(variant->features, "inline_data")) {
		/* born inline: its data is in the inode, not in blocks */
		EXPECT_EQ(0, mode);
	} else {
		EXPECT_EQ(1, mode);
		EXPECT_EQ((uint64_t)st.st_ino, ino);
	}
	unmount_and_fsck(_metadata, &self->srv);
}

/* Aligned direct writes of 4 KiB to 8 MiB into holes, then overwrites. */
TEST_F(f2, direct_sizes_into_holes)
{
	const struct region r[] = {
		{ 0, 4096, 1 },
		{ 4096, 4096, 0 },
		{ 8192, 8192, 2 },
		{ 16384, 65536 - 16384, 0 },
		{ 65536, 65536, 3 },
		{ 131072, MIB - 131072, 0 },
		{ MIB, MIB, 4 },
		{ 2 * MIB, 2 * MIB, 0 },
		{ 4 * MIB, 8 * MIB, 5 },
	};
	const int n = sizeof(r) / sizeof(r[0]);
	const char *path = kt_path(&self->srv, "sizes");
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, write_regions(path, r, n));
	EXPECT_EQ(0, check_regions(path, r, n, true));
	EXPECT_EQ(0, check_regions(path, r, n, false));
	unmount_and_fsck(_metadata, &self->srv);
	EXPECT_EQ(0, check_with_ext4("sizes", r, n, 12 * MIB));
}

/* A sparse file: far apart extents, a hole at the start, EOF growth. */
TEST_F(f2, direct_sparse_and_past_eof)
{
	const struct region r[] = {
		{ 0, 64 * MIB, 0 },
		{ 64 * MIB, MIB, 7 },
		{ 65 * MIB, 190 * MIB, 0 },
		{ 255 * MIB, 256 * 1024, 8 },
	};
	const int n = sizeof(r) / sizeof(r[0]);
	const char *path = kt_path(&self->srv, "sparse");
	char *buf = kt_alloc(4096);
	struct stat st;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, write_regions(path, r, n));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ((off_t)(255 * MIB + 256 * 1024), st.st_size);
	/* sparse: far fewer blocks than the size */
	EXPECT_GT((off_t)(8 * MIB / 512), (off_t)st.st_blocks);
	EXPECT_EQ(0, check_regions(path, r, n, true));
	/* reading past EOF stops at EOF */
	fd = open(path, O_RDONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, pread(fd, buf, 4096, st.st_size));
	close(fd);
	free(buf);
	unmount_and_fsck(_metadata, &self->srv);
	EXPECT_EQ(0, check_with_ext4("sparse", r, n, 255 * MIB + 256 * 1024));
}

/* Asynchronous direct writes into holes (unwritten conversion at IOEND). */
TEST_F(f2, direct_aio_into_holes)
{
	enum { NR = 16, LEN = 128 << 10 };
	struct region r[2 * NR];
	struct iocb cbs[NR], *cbp[NR];
	struct io_event ev[NR];
	io_context_t ctx = 0;
	const char *path = kt_path(&self->srv, "aio");
	void *buf[NR];
	int fd, i, done;

	/* a file with a size first, so that no write extends it */
	fd = open(path, O_CREAT | O_RDWR | O_DIRECT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 2 * NR * LEN));
	ASSERT_EQ(0, io_setup(NR, &ctx));
	for (i = 0; i < NR; i++) {
		uint64_t off = (uint64_t)(NR - 1 - i) * 2 * LEN;

		r[2 * i] = (struct region){ (uint64_t)i * 2 * LEN, LEN, 0 };
		r[2 * i + 1] = (struct region){ (uint64_t)i * 2 * LEN + LEN,
						LEN, 0 };
		buf[i] = kt_alloc(LEN);
		ASSERT_NE(NULL, buf[i]);
		kt_fill(buf[i], LEN, off, 100 + i);
		io_prep_pwrite(&cbs[i], fd, buf[i], LEN, off);
		cbp[i] = &cbs[i];
	}
	for (i = 0; i < NR; i++)
		r[2 * (NR - 1 - i)].seed = 100 + i;
	ASSERT_EQ(NR, io_submit(ctx, NR, cbp));
	for (done = 0; done < NR;) {
		int got = io_getevents(ctx, 1, NR - done, ev, NULL);

		ASSERT_LT(0, got);
		for (i = 0; i < got; i++)
			EXPECT_EQ(LEN, (long)ev[i].res);
		done += got;
	}
	io_destroy(ctx);
	close(fd);
	for (i = 0; i < NR; i++)
		free(buf[i]);
	EXPECT_EQ(0, check_regions(path, r, 2 * NR, true));
	unmount_and_fsck(_metadata, &self->srv);
	EXPECT_EQ(0, check_with_ext4("aio", r, 2 * NR, 2 * NR * LEN));
}

/*
 * Buffered IO on an iomap file still goes through fuse2fs in this
 * version; direct IO must see what it wrote, and it what direct IO wrote.
 */
TEST_F(f2, buffered_and_direct_coherent)
{
	const size_t n = 256 << 10;
	const char *path = kt_path(&self->srv, "mixed");
	char *buf = kt_alloc(n), *back = kt_alloc(n);
	const struct region r[] = { { 0, n, 32 }, { n, n, 33 } };
	int fd;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, back);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	/* buffered write into a hole, then a direct read of it */
	kt_fill(buf, n, 0, 31);
	ASSERT_EQ((ssize_t)n, pwrite(fd, buf, n, 0));
	ASSERT_EQ(0, kt_direct_pread(path, back, n, 0));
	EXPECT_EQ(-1, kt_check(back, n, 0, 31));
	/* direct overwrite, then a buffered read */
	kt_fill(buf, n, 0, 32);
	ASSERT_EQ(0, kt_direct_pwrite(path, buf, n, 0));
	ASSERT_EQ((ssize_t)n, pread(fd, back, n, 0));
	EXPECT_EQ(-1, kt_check(back, n, 0, 32));
	/* direct write past EOF, then a buffered read */
	kt_fill(buf, n, n, 33);
	ASSERT_EQ(0, kt_direct_pwrite(path, buf, n, n));
	ASSERT_EQ((ssize_t)n, pread(fd, back, n, n));
	EXPECT_EQ(-1, kt_check(back, n, n, 33));
	close(fd);
	free(buf);
	free(back);
	unmount_and_fsck(_metadata, &self->srv);
	EXPECT_EQ(0, check_with_ext4("mixed", r, 2, 2 * n));
}

/*
 * Truncate while asynchronous direct writes are in flight: truncate must
 * wait for them (their blocks are being freed); the file system stays
 * consistent and kernel ext4 sees the truncated size.  By ftruncate() to
 * one write's length, or by an O_TRUNC open to zero.
 */
static void truncate_during_aio(struct __test_metadata *_metadata,
				struct kt_server *srv, bool open_trunc)
{
	enum { NR = 16, LEN = 256 << 10 };
	struct iocb cbs[NR], *cbp[NR];
	struct io_event ev[NR];
	io_context_t ctx = 0;
	const char *path = kt_path(srv, "trunc");
	const struct region r[] = { { 0, LEN, 200 } };
	void *buf[NR];
	int fd, i, done;

	fd = open(path, O_CREAT | O_RDWR | O_DIRECT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, NR * LEN));
	ASSERT_EQ(0, io_setup(NR, &ctx));
	for (i = 0; i < NR; i++) {
		buf[i] = kt_alloc(LEN);
		ASSERT_NE(NULL, buf[i]);
		kt_fill(buf[i], LEN, (uint64_t)i * LEN, 200 + i);
		io_prep_pwrite(&cbs[i], fd, buf[i], LEN, (uint64_t)i * LEN);
		cbp[i] = &cbs[i];
	}
	ASSERT_EQ(NR, io_submit(ctx, NR, cbp));
	if (open_trunc) {
		int fd2 = open(path, O_WRONLY | O_TRUNC);

		ASSERT_LE(0, fd2);
		close(fd2);
	} else {
		ASSERT_EQ(0, ftruncate(fd, LEN));
	}
	for (done = 0; done < NR;) {
		int got = io_getevents(ctx, 1, NR - done, ev, NULL);

		ASSERT_LT(0, got);
		for (i = 0; i < got; i++)
			EXPECT_EQ(LEN, (long)ev[i].res);
		done += got;
	}
	io_destroy(ctx);
	close(fd);
	for (i = 0; i < NR; i++)
		free(buf[i]);
	if (!open_trunc)
		EXPECT_EQ(0, check_regions(path, r, 1, true));
	unmount_and_fsck(_metadata, srv);
	EXPECT_EQ(0, check_with_ext4("trunc", r, open_trunc ? 0 : 1,
				     open_trunc ? 0 : LEN));
}

TEST_F(f2, truncate_during_aio)
{
	truncate_during_aio(_metadata, &self->srv, false);
}

TEST_F(f2, open_trunc_during_aio)
{
	truncate_during_aio(_metadata, &self->srv, true);
}

/*
 * A full file system: the server's ENOSPC reaches the writer intact, and
 * the file system stays consistent, including the unwritten look-ahead
 * the failed last write leaves at the disk's end, given back at unmount.
 */
TEST(direct_write_enospc)
{
	struct kt_server srv;
	const size_t n = 4 * MIB;
	char *buf;
	ssize_t got = 0;
	uint64_t off;
	int fd, err = 0;

	buf = kt_alloc(n);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, kt_sh(120, "mke2fs -q -F -t ext4 -b 4096 %s 64M",
			   device()));
	ASSERT_EQ(0, mount_fuse2fs(&srv));
	fd = open(kt_path(&srv, "fill"), O_CREAT | O_RDWR | O_DIRECT, 0644);
	ASSERT_LE(0, fd);
	kt_fill(buf, n, 0, 9);
	for (off = 0; off < 128 * MIB; off += n) {
		got = pwrite(fd, buf, n, off);
		if (got != (ssize_t)n) {
			err = errno;
			break;
		}
	}
	/* either a short write, or nothing and ENOSPC */
	EXPECT_LT(off, 128 * MIB);
	if (got < 0)
		EXPECT_EQ(ENOSPC, err);
	close(fd);
	EXPECT_EQ(0, kt_server_stop(&srv));
	EXPECT_EQ(0, kt_sh(120, "e2fsck -fn %s", device()));
	free(buf);
}

TEST_HARNESS_MAIN
