// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mappings of iomap files (fuse2fs -o iomap=auto) beside the other ways
 * to reach the same bytes: a shared writable mapping dirtied and then
 * read and overwritten with O_DIRECT (direct IO writes back the page
 * cache of its range first, and a direct write invalidates it, so the
 * mapping sees the new bytes), a private mapping whose writes stay its
 * own, and a truncate of a mapped file (SIGBUS past the new end, the
 * rest of the last block zero, also after the file grows again).
 * Everything is read back through kernel ext4 after unmount.
 *
 * Every test starts from a fresh mke2fs and ends with `e2fsck -fn`.
 * Runs inside the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "f2guest.h"

FIXTURE(map) {
	struct kt_server srv;
	int warn;
};

FIXTURE_SETUP(map)
{
	self->warn = kt_klog_count("WARNING");
	ASSERT_LE(0, self->warn);
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(map)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(self->warn, kt_klog_count("WARNING"));
}

#define FSIZE	(4 * MIB)

/* A 4 MiB iomap file written with seed 1 and synced; its fd (O_RDWR). */
static int make_file(FIXTURE_DATA(map) *self, const char *name)
{
	const struct region r[] = { { 0, FSIZE, 1 } };
	const char *path = kt_path(&self->srv, name);
	int fd;

	if (f2g_write_regions(path, r, 1))
		return -1;
	fd = open(path, O_RDWR);
	if (fd >= 0 && kt_fd_iomap(fd, NULL) != 1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Dirty a shared mapping, then a direct read of the range sees the
 * mapping's bytes (written back first), and a direct write of the range
 * is what the mapping and buffered reads see afterwards.
 */
TEST_F(map, shared_mapping_beside_direct_io)
{
	const char *path = kt_path(&self->srv, "mixed");
	char *buf = kt_alloc(MIB), *map;
	int fd, dfd;

	ASSERT_NE(NULL, buf);
	fd = make_file(self, "mixed");
	ASSERT_LE(0, fd);
	map = mmap(NULL, FSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	/* seed 2 over [1 MiB, 2 MiB) through the mapping */
	kt_fill(map + MIB, MIB, MIB, 2);
	dfd = open(path, O_RDWR | O_DIRECT);
	ASSERT_LE(0, dfd);
	ASSERT_EQ((ssize_t)MIB, pread(dfd, buf, MIB, MIB));
	EXPECT_EQ(-1, kt_check(buf, MIB, MIB, 2)) {
		TH_LOG("a direct read misses what the mapping wrote");
	}
	/* seed 3 over [1.5 MiB, 2.5 MiB) with O_DIRECT, mapping dirty again */
	kt_fill(map + 3 * MIB / 2, 65536, 3 * MIB / 2, 2);
	kt_fill(buf, MIB, 3 * MIB / 2, 3);
	ASSERT_EQ((ssize_t)MIB, pwrite(dfd, buf, MIB, 3 * MIB / 2));
	EXPECT_EQ(-1, kt_check(map + 3 * MIB / 2, MIB, 3 * MIB / 2, 3)) {
		TH_LOG("the mapping still shows what was there before");
	}
	EXPECT_EQ(-1, kt_check(map + MIB, MIB / 2, MIB, 2));
	ASSERT_EQ((ssize_t)MIB, pread(fd, buf, MIB, 3 * MIB / 2));
	EXPECT_EQ(-1, kt_check(buf, MIB, 3 * MIB / 2, 3));
	munmap(map, FSIZE);
	close(dfd);
	close(fd);
	free(buf);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	{
		const struct region r[] = {
			{ 0, MIB, 1 }, { MIB, MIB / 2, 2 },
			{ 3 * MIB / 2, MIB, 3 }, { 5 * MIB / 2, 3 * MIB / 2, 1 },
		};

		EXPECT_EQ(0, f2g_check_with_ext4("mixed", r, 4, FSIZE));
	}
}

/* A private mapping's writes stay in it: not in the file, not on disk. */
TEST_F(map, private_mapping_stays_private)
{
	const struct region r[] = { { 0, FSIZE, 1 } };
	char *buf = kt_alloc(MIB), *priv, *shared;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = make_file(self, "priv");
	ASSERT_LE(0, fd);
	priv = mmap(NULL, FSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, priv);
	shared = mmap(NULL, FSIZE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, shared);
	kt_fill(priv + 4096, 2 * MIB, 4096, 4);
	ASSERT_EQ(0, msync(priv, FSIZE, MS_SYNC));
	EXPECT_EQ(-1, kt_check(shared, FSIZE, 0, 1));
	ASSERT_EQ((ssize_t)MIB, pread(fd, buf, MIB, 0));
	EXPECT_EQ(-1, kt_check(buf, MIB, 0, 1));
	ASSERT_EQ(0, fsync(fd));
	EXPECT_EQ(0, kt_direct_pread(kt_path(&self->srv, "priv"), buf, MIB,
				     MIB));
	EXPECT_EQ(-1, kt_check(buf, MIB, MIB, 1));
	EXPECT_EQ(-1, kt_check(priv + 4096, 2 * MIB, 4096, 4));
	munmap(priv, FSIZE);
	munmap(shared, FSIZE);
	close(fd);
	free(buf);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_check_with_ext4("priv", r, 1, FSIZE));
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, sig);
}

/* Read one byte of the mapping: 0 or SIGBUS. */
static int touch(volatile const char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int sig;

	sigaction(SIGBUS, &sa, &old);
	sig = sigsetjmp(bus_jmp, 1);
	if (!sig)
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return sig;
}

/*
 * Truncate a file that is mapped (and dirty in the mapping) into the
 * middle of a block: past the block that holds the new end the mapping
 * gets SIGBUS, the rest of that block reads zero, through the mapping
 * and after the file grows again, and on the device.
 */
TEST_F(map, truncate_mapped_file)
{
	const uint64_t cut = MIB + 1000;
	char *buf = kt_alloc(8192), *map;
	struct stat st;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = make_file(self, "trunc");
	ASSERT_LE(0, fd);
	map = mmap(NULL, FSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	kt_fill(map, 2 * MIB, 0, 5);
	ASSERT_EQ(0, ftruncate(fd, cut));
	EXPECT_EQ(0, touch(map + cut - 1));
	/* inside the page of the new end: readable, zero */
	EXPECT_EQ(0, touch(map + cut));
	EXPECT_TRUE(kt_is_zero(map + cut, 4096 - cut % 4096));
	EXPECT_EQ(SIGBUS, touch(map + cut + 4096));
	EXPECT_EQ(SIGBUS, touch(map + 3 * MIB));
	EXPECT_EQ(-1, kt_check(map, cut, 0, 5));
	/* grow again: the old bytes past the cut must not come back */
	ASSERT_EQ(0, ftruncate(fd, 2 * MIB));
	EXPECT_EQ(0, touch(map + MIB + 8192));
	EXPECT_TRUE(kt_is_zero(map + cut, 2 * MIB - cut));
	ASSERT_EQ(8192, pread(fd, buf, 8192, MIB));
	EXPECT_EQ(-1, kt_check(buf, 1000, MIB, 5));
	EXPECT_TRUE(kt_is_zero(buf + 1000, 8192 - 1000));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(2 * MIB, (uint64_t)st.st_size);
	munmap(map, FSIZE);
	close(fd);
	free(buf);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	{
		const struct region r[] = {
			{ 0, cut, 5 }, { cut, 2 * MIB - cut, 0 },
		};

		EXPECT_EQ(0, f2g_check_with_ext4("trunc", r, 2, 2 * MIB));
	}
}

TEST_HARNESS_MAIN
