// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A server that implements FUSE_IOMAP_BEGIN for IO but refuses
 * FUSE_IOMAP_OP_REPORT (review of patches 15-16, item M6; doc/protocol.md
 * 8.3 and 10.2 "Seek and extents"), with hostile_server's "no_report"
 * (hostile.h), which answers a BEGIN with REPORT ENOSYS and has no
 * FUSE_LSEEK: SEEK_DATA/SEEK_HOLE give the generic answers (data up to the
 * size, a hole at the size), FIEMAP fails with EOPNOTSUPP, and the
 * connection keeps giving new inodes iomap.  Runs inside the UML guest, as
 * root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/fuse_iomap.h>

#include "kselftest_harness.h"
#include "hsguest.h"

#define FILE_SIZE	(1 << 20)

FIXTURE(report) {
	struct hsg hs;
};

FIXTURE_SETUP(report)
{
	ASSERT_EQ(0, hsg_start(&self->hs));
}

FIXTURE_TEARDOWN(report)
{
	hsg_stop(&self->hs);
}

TEST_F(report, seek_and_fiemap_without_report)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent ext[4];
	} fm = { .fm = { .fm_length = FIEMAP_MAX_OFFSET,
			 .fm_extent_count = 4 } };
	int broken = kt_klog_count("does not implement FUSE_IOMAP_BEGIN");
	int fd, good;
	char buf[4096];

	fd = open(hsg_file(&self->hs, HOSTILE_NO_REPORT), O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));

	/* dirty data at 64 KiB: the fallback writes it back first */
	memset(buf, 0x3c, sizeof(buf));
	ASSERT_EQ(sizeof(buf), pwrite(fd, buf, sizeof(buf), 65536));

	errno = 0;
	EXPECT_EQ(0, lseek(fd, 0, SEEK_DATA)) {
		TH_LOG("SEEK_DATA: %s", strerror(errno));
	}
	errno = 0;
	EXPECT_EQ(FILE_SIZE, lseek(fd, 0, SEEK_HOLE)) {
		TH_LOG("SEEK_HOLE: %s", strerror(errno));
	}
	EXPECT_EQ(FILE_SIZE, lseek(fd, 4096, SEEK_HOLE));
	errno = 0;
	EXPECT_EQ(-1, lseek(fd, FILE_SIZE, SEEK_DATA));
	EXPECT_EQ(ENXIO, errno);

	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, FS_IOC_FIEMAP, &fm));
	EXPECT_EQ(EOPNOTSUPP, errno);

	/* the kernel did ask, with REPORT */
	EXPECT_LE(2, hsg_count_begins(&self->hs, HOSTILE_NO_REPORT,
				      FUSE_IOMAP_OP_REPORT, 0));

	/* IO of the file and of new inodes still goes through iomap */
	EXPECT_EQ(1, kt_fd_iomap(fd, NULL));
	EXPECT_EQ(0, fsync(fd));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(sizeof(buf), pread(fd, buf, sizeof(buf), 65536));
	EXPECT_EQ(0x3c, buf[100]);
	good = open(hsg_file(&self->hs, HOSTILE_GOOD), O_RDONLY);
	ASSERT_LE(0, good);
	EXPECT_EQ(1, kt_fd_iomap(good, NULL));
	close(good);
	close(fd);
	EXPECT_EQ(broken,
		  kt_klog_count("does not implement FUSE_IOMAP_BEGIN"));
}

TEST_HARNESS_MAIN
