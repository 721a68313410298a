// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * STATX_DIOALIGN on fuse2fs -o iomap=auto: an iomap file reports the
 * logical block size of the device fuse2fs registered as both its memory
 * and its file offset alignment, a classic file (pinned with
 * user.fuse2fs.iomap = classic) reports none, as FUSE always did.  Direct
 * IO at exactly the reported alignment (buffer and offset aligned to it
 * and to nothing larger) reaches the device without FUSE_READ or
 * FUSE_WRITE (kernel tracing counts the requests); IO aligned to less
 * still works, through the server.  Kernel ext4 reads the result back
 * after unmount.  Fresh mke2fs, `e2fsck -fn` at the end.  Runs inside the
 * UML guest, as root.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "f2guest.h"

static const char *const events[] = { "fuse/fuse_request_send", NULL };

FIXTURE(dal) {
	struct kt_server srv;
};

FIXTURE_SETUP(dal)
{
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(dal)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

/* The device's logical block size, or -1. */
static int device_lbs(void)
{
	int fd = open(f2g_device(), O_RDONLY), lbs = -1;

	if (fd < 0)
		return -1;
	if (ioctl(fd, BLKSSZGET, &lbs))
		lbs = -1;
	close(fd);
	return lbs;
}

static int dio_at(const char *path, bool write, char *buf, size_t len,
		  off_t off)
{
	int fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* Unmount, e2fsck and the ext4 read-back: more than the default 30 s */
TEST_F_TIMEOUT(dal, iomap_and_classic_files, 300)
{
	const char *iomap_path = kt_path(&self->srv, "iomap");
	char classic_path[KT_PATH_MAX + 16];
	int lbs = device_lbs(), fd;
	struct statx stx;
	char *mem, *buf, *trace;
	uint32_t align;

	ASSERT_LT(0, lbs);
	snprintf(classic_path, sizeof(classic_path), "%s",
		 kt_path(&self->srv, "classic"));
	fd = open(classic_path, O_CREAT | O_WRONLY, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, f2g_set_preference(classic_path, "classic"));
	ASSERT_EQ(0, f2g_path_iomap(classic_path));
	fd = open(iomap_path, O_CREAT | O_WRONLY, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	close(fd);

	/* The classic file: no alignment, as FUSE always answered */
	memset(&stx, 0xff, sizeof(stx));
	ASSERT_EQ(0, statx(AT_FDCWD, classic_path, 0, STATX_DIOALIGN, &stx));
	EXPECT_EQ(0, stx.stx_mask & STATX_DIOALIGN);

	memset(&stx, 0, sizeof(stx));
	ASSERT_EQ(0, statx(AT_FDCWD, iomap_path, 0,
			   STATX_BASIC_STATS | STATX_DIOALIGN, &stx));
	ASSERT_EQ(STATX_DIOALIGN, stx.stx_mask & STATX_DIOALIGN);
	EXPECT_EQ((uint32_t)lbs, stx.stx_dio_mem_align);
	EXPECT_EQ((uint32_t)lbs, stx.stx_dio_offset_align);
	/* Without STATX_DIOALIGN in the request nothing changes */
	ASSERT_EQ(0, statx(AT_FDCWD, iomap_path, 0, STATX_BASIC_STATS, &stx));
	EXPECT_EQ(STATX_BASIC_STATS, stx.stx_mask & STATX_BASIC_STATS);
	align = lbs;

	/*
	 * One block of the reported alignment, at an offset and from a
	 * buffer aligned to it and to nothing larger (4 KiB-aligned memory
	 * plus align, offset 3 * align), goes to the device.
	 */
	mem = kt_alloc(8192 + 4 * align);
	ASSERT_NE(NULL, mem);
	buf = mem + (align < 4096 ? align : 4096);
	kt_fill(buf, align, 3 * align, 5);
	ASSERT_EQ(0, kt_trace_start(events));
	EXPECT_EQ(0, dio_at(iomap_path, true, buf, align, 3 * align));
	memset(buf, 0, align);
	EXPECT_EQ(0, dio_at(iomap_path, false, buf, align, 3 * align));
	trace = kt_trace_stop(events);
	ASSERT_NE(NULL, trace);
	EXPECT_EQ(-1, kt_check(buf, align, 3 * align, 5));
	EXPECT_EQ(0, kt_trace_lines(trace, "(FUSE_WRITE)"));
	EXPECT_EQ(0, kt_trace_lines(trace, "(FUSE_READ)"));
	free(trace);

	/* 256 bytes, aligned to less, still work: through the server */
	kt_fill(buf, 256, 4 * align, 6);
	ASSERT_EQ(0, kt_trace_start(events));
	EXPECT_EQ(0, dio_at(iomap_path, true, buf, 256, 4 * align));
	trace = kt_trace_stop(events);
	EXPECT_LT(0, kt_trace_lines(trace, "(FUSE_WRITE)"));
	free(trace);
	free(mem);

	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	{
		const struct region r[] = {
			{ 0, 3 * align, 0 }, { 3 * align, align, 5 },
			{ 4 * align, 256, 6 },
		};

		EXPECT_EQ(0, f2g_check_with_ext4("iomap", r, 3,
						 4 * align + 256));
	}
}

TEST_HARNESS_MAIN
