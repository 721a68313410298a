// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The device side of fuse2fs's iomap (fuse2fs/iomap_dev.c), compiled in:
 * an image file becomes an autoclear loop device whose IO meets
 * libext2fs's in the image's page cache, and it vanishes once closed;
 * anything that is neither a block device nor an image is refused with
 * ENOTBLK and a message, and negotiation then falls back to classic.
 * Needs root and loop devices (else SKIP).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"
#include "../../fuse2fs/iomap_dev.c"
#include "../../fuse2fs/inherited_fd.c"

/* What iomap_dev.c needs from the rest of fuse2fs and the library. */
static int add_device_calls;
static int add_device_result;

int fuse_iomap_add_device(struct fuse_iomap_session *is, int fd,
			  uint32_t *dev_id)
{
	struct stat st;

	add_device_calls++;
	if (add_device_result)
		return add_device_result;
	/* Like the kernel: block devices only. */
	if (fstat(fd, &st) || !S_ISBLK(st.st_mode))
		return -ENOTBLK;
	*dev_id = 7;
	return 0;
}

int f2_errno(errcode_t err)
{
	return err ? EIO : 0;
}

void f2_iomap_forget_all(struct fuse2fs *f2)
{
}

void f2_iomap_notify_drain(void)
{
}

void f2_io_forget_blocks(void)
{
}

static bool loop_usable(void)
{
	return geteuid() == 0 && access("/dev/loop-control", R_OK | W_OK) == 0;
}

static int sysfs_read(const char *loopname, const char *attr, char *buf,
		      size_t size)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/%s/loop/%s",
		 strrchr(loopname, '/') + 1, attr);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, size, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

FIXTURE(dev) {
	char dir[128];
	char image[160];
};

FIXTURE_SETUP(dev)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	if (!loop_usable())
		SKIP(return, "needs root and /dev/loop-control");
	snprintf(self->dir, sizeof(self->dir), "%s/f2loop.XXXXXX",
		 tmp ? tmp : "/var/tmp");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->image, sizeof(self->image), "%s/img", self->dir);
	fd = open(self->image, O_CREAT | O_RDWR, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ftruncate(fd, 8 << 20));
	close(fd);
}

FIXTURE_TEARDOWN(dev)
{
	if (self->dir[0]) {
		tfs_loop_detach_image(self->image);
		tfs_sh(30000, NULL, "rm -rf '%s'", self->dir);
	}
}

TEST_F(dev, image_becomes_autoclear_loop_device)
{
	char name[32], buf[PATH_MAX], real[PATH_MAX];
	char data[4096], back[4096];
	struct stat st;
	int fd, img, i;

	fd = loop_attach(self->image, false, name, sizeof(name));
	ASSERT_GE(fd, 0) TH_LOG("loop_attach: %s", strerror(-fd));
	ASSERT_EQ(0, fstat(fd, &st));
	ASSERT_TRUE(S_ISBLK(st.st_mode));
	ASSERT_EQ(0, sysfs_read(name, "backing_file", buf, sizeof(buf)));
	ASSERT_NE(NULL, realpath(self->image, real));
	EXPECT_STREQ(real, buf);
	ASSERT_EQ(0, sysfs_read(name, "autoclear", buf, sizeof(buf)));
	EXPECT_STREQ("1", buf);
	/* Buffered loop: what the kernel writes, the image's readers see. */
	memset(data, 0x5a, sizeof(data));
	ASSERT_EQ((ssize_t)sizeof(data), pwrite(fd, data, sizeof(data), 65536));
	ASSERT_EQ(0, fsync(fd));
	img = open(self->image, O_RDONLY);
	ASSERT_GE(img, 0);
	ASSERT_EQ((ssize_t)sizeof(back), pread(img, back, sizeof(back), 65536));
	EXPECT_EQ(0, memcmp(data, back, sizeof(data)));
	/* ...and the other way round. */
	close(img);
	img = open(self->image, O_WRONLY);
	memset(data, 0xa5, sizeof(data));
	ASSERT_EQ((ssize_t)sizeof(data), pwrite(img, data, sizeof(data), 8192));
	close(img);
	ASSERT_EQ((ssize_t)sizeof(back), pread(fd, back, sizeof(back), 8192));
	EXPECT_EQ(0, memcmp(data, back, sizeof(data)));
	close(fd);
	/* Autoclear: gone once the last opener closed it. */
	for (i = 0; i < 100; i++) {
		if (sysfs_read(name, "backing_file", buf, sizeof(buf)))
			break;
		usleep(20000);
	}
	EXPECT_NE(0, sysfs_read(name, "backing_file", buf, sizeof(buf)));
}

TEST_F(dev, negotiation_registers_loop_or_falls_back)
{
	struct fuse2fs f2 = { .iomap_mode = F2_IOMAP_AUTO, .iomap_bdev_fd = -1,
			      .claim_fd = -1 };
	ext2_filsys fs = NULL;
	char *out = NULL;
	bool is_loop;
	int fd;

	ASSERT_EQ(0, tfs_runl(60000, &out, "mke2fs", "-q", "-F", "-t", "ext4",
			      self->image, NULL));
	free(out);
	ASSERT_EQ(0, ext2fs_open(self->image, EXT2_FLAG_RW | EXT2_FLAG_64BITS,
				 0, 0, unix_io_manager, &fs));
	f2.fs = fs;
	f2.device = self->image;

	/* An image: offered as is (refused here), then a loop device. */
	add_device_calls = 0;
	f2_iomap_negotiated(&f2, true);
	EXPECT_TRUE(f2.iomap_active);
	EXPECT_EQ(2, add_device_calls);
	EXPECT_EQ(7, f2.iomap_dev);
	ASSERT_GE(f2.iomap_bdev_fd, 0);
	f2_iomap_release_device(&f2);
	EXPECT_FALSE(f2.iomap_active);
	EXPECT_EQ(-1, f2.iomap_bdev_fd);

	/* Not a block device nor an image: ENOTBLK, classic for all. */
	f2.device = "/dev/null";
	fd = open_device(&f2, &is_loop);
	EXPECT_EQ(-ENOTBLK, fd);
	f2_iomap_negotiated(&f2, true);
	EXPECT_FALSE(f2.iomap_active);
	f2.device = self->dir;
	EXPECT_EQ(-ENOTBLK, open_device(&f2, &is_loop));

	/* The kernel refuses the device: classic, nothing left open. */
	f2.device = self->image;
	add_device_result = -EPERM;
	f2_iomap_negotiated(&f2, true);
	EXPECT_FALSE(f2.iomap_active);
	EXPECT_EQ(-1, f2.iomap_bdev_fd);
	EXPECT_FALSE(f2.init_failed);
	/* ...which -o iomap=on turns into a failed mount. */
	f2.iomap_mode = F2_IOMAP_ON;
	f2_iomap_negotiated(&f2, true);
	EXPECT_FALSE(f2.iomap_active);
	EXPECT_TRUE(f2.init_failed);
	f2.iomap_mode = F2_IOMAP_AUTO;
	add_device_result = 0;

	/* No kernel iomap, or iomap=off: nothing is opened at all. */
	add_device_calls = 0;
	f2_iomap_negotiated(&f2, false);
	f2.iomap_mode = F2_IOMAP_OFF;
	f2_iomap_negotiated(&f2, true);
	EXPECT_EQ(0, add_device_calls);
	EXPECT_FALSE(f2.iomap_active);
	ext2fs_close_free(&fs);
	EXPECT_EQ(0, tfs_fsck(self->image));
}

/*
 * A real block device: registered as is, and libext2fs's writes are
 * tracked so that they are written back before the kernel maps blocks.
 */
TEST_F(dev, block_device_tracks_libext2fs_writes)
{
	struct fuse2fs f2 = { .iomap_mode = F2_IOMAP_AUTO, .iomap_bdev_fd = -1,
			      .claim_fd = -1 };
	struct ext2_inode inode;
	ext2_filsys fs = NULL;
	char name[32], *out = NULL;
	int loopfd;

	ASSERT_EQ(0, tfs_runl(60000, &out, "mke2fs", "-q", "-F", "-t", "ext4",
			      self->image, NULL));
	free(out);
	loopfd = loop_attach(self->image, false, name, sizeof(name));
	ASSERT_GE(loopfd, 0);
	ASSERT_EQ(0, ext2fs_open(name, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
				 unix_io_manager, &fs));
	f2.fs = fs;
	f2.device = name;
	add_device_calls = 0;
	f2_iomap_negotiated(&f2, true);
	ASSERT_TRUE(f2.iomap_active);
	EXPECT_EQ(1, add_device_calls);
	ASSERT_NE(NULL, tap_orig);
	EXPECT_TRUE(tap_dirty);
	ASSERT_EQ(0, f2_iomap_sync_for_kernel(&f2));
	EXPECT_FALSE(tap_dirty);
	/* Nothing written since: nothing to do. */
	ASSERT_EQ(0, f2_iomap_sync_for_kernel(&f2));
	ASSERT_EQ(0, ext2fs_read_inode(fs, EXT2_ROOT_INO, &inode));
	ASSERT_EQ(0, ext2fs_write_inode(fs, EXT2_ROOT_INO, &inode));
	EXPECT_TRUE(tap_dirty);
	/* A range flush writes back but cannot know the rest is clean. */
	ASSERT_EQ(0, f2_iomap_sync_range(&f2, 0, 1 << 20));
	EXPECT_TRUE(tap_dirty);
	ASSERT_EQ(0, f2_iomap_sync_for_kernel(&f2));
	EXPECT_FALSE(tap_dirty);
	ASSERT_EQ(0, f2_iomap_sync_range(&f2, 0, 1 << 20));
	f2_iomap_drop_caches(&f2, EXT2_ROOT_INO);
	f2_iomap_release_device(&f2);
	EXPECT_EQ(-1, f2.iomap_bdev_fd);
	EXPECT_EQ(0, ext2fs_close_free(&fs));
	close(loopfd);
	EXPECT_EQ(0, tfs_fsck(self->image));
}

TEST_HARNESS_MAIN
