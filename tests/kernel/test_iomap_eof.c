// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The end of an iomap file and what lies past it (review of patches 15-16,
 * items H8, M1, M11, H10, H7), with hostile_server (hostile.h): a refused
 * truncate loses no data; a truncate that grows the file reads zeroes
 * past the old end, from the page cache and from the disk; bytes a shared
 * mapping wrote past the end do not become data when a direct write or a
 * copy grows the file; an IOEND answered across a truncate does not keep
 * later writeback from growing the server's size; writeback does not
 * leave the server's own dirty device pages to overwrite its data.  What
 * is expected is what kernel ext4 gives for the same operations (zeroes
 * past an end, the size of the last extension).  Runs inside the UML
 * guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "hsguest.h"

#define BLK	4096

/* Every byte of buf[0, len) is c. */
static bool all_bytes(const char *buf, size_t len, int c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] != (unsigned char)c)
			return false;
	return true;
}

/* Look a name up in the mount, for the server's triggers (ENOENT). */
static void trigger(const struct hsg *h, const char *name)
{
	struct stat st;

	stat(kt_path(&h->srv, name), &st);
}

FIXTURE(eof) {
	struct hsg hs;
	char *buf;	/* 1 MiB, aligned for O_DIRECT */
	int fd;		/* buffered */
	int dfd;	/* O_DIRECT, same file */
};

FIXTURE_SETUP(eof)
{
	self->fd = self->dfd = -1;
	self->buf = kt_alloc(1 << 20);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, hsg_start(&self->hs));
}

FIXTURE_TEARDOWN(eof)
{
	if (self->dfd >= 0)
		close(self->dfd);
	if (self->fd >= 0)
		close(self->fd);
	hsg_stop(&self->hs);
	free(self->buf);
}

static void open_both(struct __test_metadata *_metadata,
		      FIXTURE_DATA(eof) *self, int kind)
{
	self->fd = open(hsg_file(&self->hs, kind), O_RDWR);
	ASSERT_LE(0, self->fd);
	self->dfd = open(hsg_file(&self->hs, kind), O_RDWR | O_DIRECT);
	ASSERT_LE(0, self->dfd);
}

/*
 * H8: the server refuses a truncate into a block (as it may without
 * default_permissions, for a caller who may not write the file): the
 * bytes after the would-be end keep their data, in the page cache and on
 * the disk.
 */
TEST_F(eof, refused_truncate_keeps_data)
{
	struct stat st;

	open_both(_metadata, self, HOSTILE_SETATTR_FAIL);
	memset(self->buf, 0xaa, 2 * BLK);
	ASSERT_EQ(2 * BLK, pwrite(self->dfd, self->buf, 2 * BLK, 0));

	errno = 0;
	EXPECT_EQ(-1, ftruncate(self->fd, 100));
	EXPECT_EQ(EACCES, errno);
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ(1 << 20, st.st_size);

	memset(self->buf, 0, BLK);
	ASSERT_EQ(BLK, pread(self->fd, self->buf, BLK, 0));
	EXPECT_TRUE(all_bytes(self->buf, BLK, 0xaa));
	ASSERT_EQ(0, fsync(self->fd));
	memset(self->buf, 0, BLK);
	ASSERT_EQ(BLK, pread(self->dfd, self->buf, BLK, 0));
	EXPECT_TRUE(all_bytes(self->buf, BLK, 0xaa));
}

/*
 * M1: written blocks past the old end (the server keeps "good" mapped)
 * read back as zeroes after a truncate grows the file over them, from the
 * page cache and, after fsync, from the disk.
 */
TEST_F(eof, grown_truncate_zeroes_old_blocks)
{
	open_both(_metadata, self, HOSTILE_GOOD);
	memset(self->buf, 0x55, 16 * BLK);
	ASSERT_EQ(16 * BLK, pwrite(self->dfd, self->buf, 16 * BLK, 0));
	ASSERT_EQ(0, ftruncate(self->fd, 100));
	ASSERT_EQ(0, ftruncate(self->fd, 16 * BLK));

	memset(self->buf, 0x77, 16 * BLK);
	ASSERT_EQ(16 * BLK, pread(self->fd, self->buf, 16 * BLK, 0));
	EXPECT_TRUE(all_bytes(self->buf, 100, 0x55));
	EXPECT_TRUE(kt_is_zero(self->buf + 100, 16 * BLK - 100));
	ASSERT_EQ(0, fsync(self->fd));
	memset(self->buf, 0x77, 16 * BLK);
	ASSERT_EQ(16 * BLK, pread(self->dfd, self->buf, 16 * BLK, 0));
	EXPECT_TRUE(all_bytes(self->buf, 100, 0x55));
	EXPECT_TRUE(kt_is_zero(self->buf + 100, 16 * BLK - 100));
}

/*
 * A file of 100 bytes whose first page a shared mapping wrote to the
 * end of, past the file's end (which is no file data).
 */
static void scribble_past_end(struct __test_metadata *_metadata,
			      FIXTURE_DATA(eof) *self)
{
	char *map;

	open_both(_metadata, self, HOSTILE_GOOD);
	memset(self->buf, 0x55, BLK);
	ASSERT_EQ(BLK, pwrite(self->dfd, self->buf, BLK, 0));
	ASSERT_EQ(0, ftruncate(self->fd, 100));
	map = mmap(NULL, BLK, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	memset(map + 100, 'X', BLK - 100);
	ASSERT_EQ(0, munmap(map, BLK));
}

/* The first block: 100 bytes of data, then zeroes (cache, then disk). */
static void expect_end_zeroed(struct __test_metadata *_metadata,
			      FIXTURE_DATA(eof) *self)
{
	memset(self->buf, 0x77, BLK);
	ASSERT_EQ(BLK, pread(self->fd, self->buf, BLK, 0));
	EXPECT_TRUE(all_bytes(self->buf, 100, 0x55));
	EXPECT_TRUE(kt_is_zero(self->buf + 100, BLK - 100));
	ASSERT_EQ(0, fsync(self->fd));
	memset(self->buf, 0x77, BLK);
	ASSERT_EQ(BLK, pread(self->dfd, self->buf, BLK, 0));
	EXPECT_TRUE(all_bytes(self->buf, 100, 0x55));
	EXPECT_TRUE(kt_is_zero(self->buf + 100, BLK - 100));
}

/* M11: a direct write past the end grows the file over the scribbles. */
TEST_F(eof, direct_write_past_end_zeroes_mapped_bytes)
{
	struct stat st;

	scribble_past_end(_metadata, self);
	memset(self->buf, 0x33, BLK);
	ASSERT_EQ(BLK, pwrite(self->dfd, self->buf, BLK, 2 * BLK));
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ(3 * BLK, st.st_size);
	expect_end_zeroed(_metadata, self);
}

/* M11: so does a copy the server makes past the end. */
TEST_F(eof, copy_past_end_zeroes_mapped_bytes)
{
	loff_t in = 0, out = 2 * BLK;
	struct stat st;
	int src;

	scribble_past_end(_metadata, self);
	src = open(hsg_file(&self->hs, HOSTILE_NEW), O_RDONLY);
	ASSERT_LE(0, src);
	EXPECT_EQ(BLK, copy_file_range(src, &in, self->fd, &out, BLK, 0));
	close(src);
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ(3 * BLK, st.st_size);
	expect_end_zeroed(_metadata, self);
}

/*
 * H10: the server answers a writeback IOEND with the size it had before
 * a truncate that the kernel applied meanwhile.  A later writeback that
 * extends the file must still tell the server (APPEND): its size is that
 * of the extension at the end, as the file's would be after a remount.
 */
TEST_F(eof, ioend_answer_across_truncate_keeps_append)
{
	open_both(_metadata, self, HOSTILE_STALE_SIZE);
	memset(self->buf, 0x11, 64 << 10);
	ASSERT_EQ(64 << 10, pwrite(self->fd, self->buf, 64 << 10, 0));
	ASSERT_EQ(0, sync_file_range(self->fd, 0, 64 << 10,
				     SYNC_FILE_RANGE_WRITE));
	/* The IOEND of [0, 64K) is held, its folios under writeback */
	ASSERT_TRUE(hsg_wait(&self->hs, HOSTILE_STALE_SIZE, "IOEND", 10000));
	ASSERT_EQ(0, ftruncate(self->fd, 128 << 10));
	ASSERT_LE(0, hsg_find(&self->hs, HOSTILE_STALE_SIZE, "size 131072", 0));
	/* Answered now, with the 1 MiB of before the truncate */
	trigger(&self->hs, HOSTILE_RELEASE_TRIGGER);

	memset(self->buf, 0x22, 512 << 10);
	ASSERT_EQ(512 << 10, pwrite(self->fd, self->buf, 512 << 10, 0));
	ASSERT_EQ(0, fsync(self->fd));
	EXPECT_LE(0, hsg_find(&self->hs, HOSTILE_STALE_SIZE, "size 524288", 0));
}

/*
 * H7: the server left a dirty page of the device in its page cache
 * (libext2fs writes the device through it) where "good" has a block that
 * the kernel writes back, from folios after the first one of the
 * writeback: the kernel's data, not the server's page, is on the disk
 * once the device's page cache is written back too.
 */
TEST_F(eof, writeback_syncs_device_cache_of_every_folio)
{
	unsigned int i;
	int dev;

	open_both(_metadata, self, HOSTILE_GOOD);
	memset(self->buf, 0x11, BLK);
	/* one folio per write */
	for (i = 0; i < 32; i++)
		ASSERT_EQ(BLK, pwrite(self->fd, self->buf, BLK, i * BLK));
	trigger(&self->hs, HOSTILE_DEVDIRTY_TRIGGER);
	ASSERT_EQ(0, fsync(self->fd));

	/* What the device's own writeback would do later */
	dev = open(kt_device(), O_RDWR);
	ASSERT_LE(0, dev);
	EXPECT_EQ(0, fsync(dev));
	close(dev);
	dev = open(kt_device(), O_RDONLY | O_DIRECT);
	ASSERT_LE(0, dev);
	memset(self->buf, 0, BLK);
	EXPECT_EQ(BLK, pread(dev, self->buf, BLK, HOSTILE_DEVDIRTY_OFF));
	close(dev);
	EXPECT_TRUE(all_bytes(self->buf, BLK, 0x11));
}

/*
 * The reference: kernel ext4 on a loop image, the same operations
 * (scribbles of a shared mapping past the end, then a direct write, a
 * copy or a truncate growing the file).  The copy and the truncate give
 * zeroes past the old end.  The direct write does not on ext4 of Linux
 * 6.12 (the bytes become data there; only logged): XFS zeroes the gap
 * before a direct write past the end, and so does fuse-iomap.
 */
TEST(ext4_zeroes_past_old_end)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char img[KT_PATH_MAX], mnt[KT_PATH_MAX], path[KT_PATH_MAX + 8];
	char *buf = kt_alloc(BLK), *map;
	loff_t in = 0, out = 2 * BLK;
	int how, fd, dfd, src, ok = 1;

	ASSERT_NE(NULL, buf);
	snprintf(img, sizeof(img), "%s/eof-ext4.%d.img", tmp, getpid());
	snprintf(mnt, sizeof(mnt), "%s/eof-ext4.%d.mnt", tmp, getpid());
	ASSERT_EQ(0, kt_sh(60, "truncate -s 32M %s && mke2fs -q -F -t ext4 "
			   "-b 4096 %s && mkdir -p %s && mount -o loop %s %s",
			   img, img, mnt, img, mnt));
	snprintf(path, sizeof(path), "%s/src", mnt);
	src = open(path, O_RDWR | O_CREAT, 0644);
	if (src < 0 || pwrite(src, buf, BLK, 0) != BLK)
		ok = 0;
	snprintf(path, sizeof(path), "%s/f", mnt);
	/* 0: direct write, 1: copy, 2: truncate, each growing the file */
	for (how = 0; ok && how < 3; how++) {
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		dfd = open(path, O_RDWR | O_DIRECT);
		memset(buf, 0x55, BLK);
		ok = fd >= 0 && dfd >= 0 && pwrite(fd, buf, 100, 0) == 100;
		map = ok ? mmap(NULL, BLK, PROT_READ | PROT_WRITE, MAP_SHARED,
				fd, 0) : MAP_FAILED;
		if (map != MAP_FAILED) {
			memset(map + 100, 'X', BLK - 100);
			munmap(map, BLK);
		}
		in = 0;
		out = 2 * BLK;
		if (how == 0)
			ok = ok && pwrite(dfd, buf, BLK, 2 * BLK) == BLK;
		else if (how == 1)
			ok = ok && copy_file_range(src, &in, fd, &out, BLK, 0) ==
				   BLK;
		else
			ok = ok && !ftruncate(fd, 3 * BLK);
		if (!ok)
			TH_LOG("way %d: setup failed: %s", how, strerror(errno));
		ok = ok && pread(fd, buf, BLK, 0) == BLK;
		if (ok && !kt_is_zero(buf + 100, BLK - 100)) {
			TH_LOG("way %d: byte 100 is 0x%02x", how,
			       (unsigned char)buf[100]);
			ok = how == 0;
		}
		if (fd >= 0)
			close(fd);
		if (dfd >= 0)
			close(dfd);
	}
	if (src >= 0)
		close(src);
	EXPECT_EQ(0, kt_sh(60, "umount %s; e2fsck -fn %s >/dev/null; r=$?; "
			   "rmdir %s; rm -f %s; exit $r", mnt, img, mnt, img));
	free(buf);
	EXPECT_TRUE(ok);
}

TEST_HARNESS_MAIN
