// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File IO: create/open/read/write at awkward sizes and offsets, holes,
 * sparse files beyond 4 GiB, O_TRUNC, O_APPEND, fsync, shared mmap,
 * coherence between descriptors, and an unlinked file that stays
 * readable while open and is freed on the last close (free block counts
 * and e2fsck prove it).  Runs on fuse2fs, on fuse2fs with -o
 * writeback_cache and on kernel ext4.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mount_helpers.h"

TFS_FIXTURE_ALL(io, NULL);

#define GiB (1ULL << 30)

static off_t size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

static blkcnt_t blocks_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_blocks;
}

static bool all_zero(const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (buf[i])
			return false;
	return true;
}

TEST_F(io, sizes_and_offsets)
{
	static const size_t sizes[] = {
		0, 1, 511, 4095, 4096, 4097, 65536, 131073, (1 << 20) + 3,
	};
	char name[32];
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, name), 0,
					       sizes[i], i, O_CREAT | O_EXCL));
		EXPECT_EQ((off_t)sizes[i], size_of(tfs_p(self->m, name)));
		EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, name), 0,
					       sizes[i], i));
	}
	/* Unaligned overwrites inside an existing file. */
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, "f8"), 1000, 5000, 99,
				       0));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, "f8"), 700001, 3, 98,
				       0));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, "f8"), 0, 1000, 8));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, "f8"), 1000, 5000, 99));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, "f8"), 6000,
				       700001 - 6000, 8));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, "f8"), 700001, 3, 98));
	EXPECT_EQ((off_t)(1 << 20) + 3, size_of(tfs_p(self->m, "f8")));

	/* Content survives the unmount. */
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, "f6"), 0, 65536, 6));
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, "f8"), 1000, 5000, 99));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(io, read_at_and_past_eof)
{
	char buf[8192];
	int fd;

	ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, "f"), 0, 5000, 1,
				       O_CREAT));
	fd = open(tfs_p(self->m, "f"), O_RDONLY);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(5000, pread(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(1000, pread(fd, buf, sizeof(buf), 4000));
	EXPECT_EQ(0, pread(fd, buf, sizeof(buf), 5000));
	EXPECT_EQ(0, pread(fd, buf, sizeof(buf), 1 << 30));
	TFS_EXPECT_ERRNO(EINVAL, pread(fd, buf, sizeof(buf), -1));
	TFS_EXPECT_ERRNO(EBADF, write(fd, buf, 1));
	close(fd);
	TFS_EXPECT_ERRNO(EISDIR, open(self->m->dir, O_WRONLY));
	TFS_EXPECT_ERRNO(ENOENT, open(tfs_p(self->m, "nothere"), O_RDONLY));
	TFS_EXPECT_ERRNO(EEXIST, open(tfs_p(self->m, "f"),
				      O_CREAT | O_EXCL | O_WRONLY, 0644));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(io, holes)
{
	const char *f = tfs_p(self->m, "sparse");
	char buf[65536];
	int fd;

	ASSERT_EQ(0, tfs_write_pattern(f, 0, 4096, 1, O_CREAT));
	ASSERT_EQ(0, tfs_write_pattern(f, 10 << 20, 4096, 2, 0));
	EXPECT_EQ((10 << 20) + 4096, size_of(f));
	EXPECT_EQ(16, blocks_of(f));
	fd = open(f, O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ((ssize_t)sizeof(buf), pread(fd, buf, sizeof(buf), 4096));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));
	ASSERT_EQ((ssize_t)sizeof(buf),
		  pread(fd, buf, sizeof(buf), (10 << 20) - sizeof(buf)));
	EXPECT_TRUE(all_zero(buf, sizeof(buf)));
	close(fd);
	EXPECT_EQ(0, tfs_check_pattern(f, 10 << 20, 4096, 2));
	/* Filling a hole in the middle allocates just that block. */
	ASSERT_EQ(0, tfs_write_pattern(f, 5 << 20, 10, 3, 0));
	EXPECT_EQ(24, blocks_of(f));
	EXPECT_EQ(0, tfs_check_pattern(f, 0, 4096, 1));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/* A file whose only block is far out; then a small write at offset 0. */
TEST_F(io, fill_hole_below_last_block)
{
	const char *f = tfs_p(self->m, "s");

	ASSERT_EQ(0, tfs_write_pattern(f, 100 << 20, 10, 1, O_CREAT));
	EXPECT_EQ(8, blocks_of(f));
	ASSERT_EQ(0, tfs_write_pattern(f, 0, 10, 2, 0));
	/* Two data blocks, not the 100 MiB between them. */
	EXPECT_LE(blocks_of(f), 24);
	EXPECT_EQ(0, tfs_check_pattern(f, 0, 10, 2));
	EXPECT_EQ(0, tfs_check_pattern(f, 100 << 20, 10, 1));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(io, sparse_beyond_4g)
{
	const char *f = tfs_p(self->m, "huge");
	struct stat st;
	char c = 'x';
	int fd;

	/* Straddle the 4 GiB boundary and go to 5 GiB. */
	ASSERT_EQ(0, tfs_write_pattern(f, 4 * GiB - 5000, 10000, 4, O_CREAT));
	ASSERT_EQ(0, tfs_write_pattern(f, 5 * GiB, 8192, 5, 0));
	ASSERT_EQ(0, stat(f, &st));
	EXPECT_EQ((off_t)(5 * GiB + 8192), st.st_size);
	EXPECT_LE(st.st_blocks, 64);
	EXPECT_EQ(0, tfs_check_pattern(f, 4 * GiB - 5000, 10000, 4));
	EXPECT_EQ(0, tfs_check_pattern(f, 5 * GiB, 8192, 5));

	/* ext4 with 4 KiB blocks stops at 16 TiB - 4 KiB. */
	fd = open(f, O_WRONLY);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(1, pwrite(fd, &c, 1, (16ULL << 40) - 4097));
	if (variant->fuse_opts && strstr(variant->fuse_opts, "writeback_cache")) {
		/*
		 * FUSE cannot tell the kernel a maximum file size, so with
		 * the writeback cache the write lands in the page cache and
		 * the server's EFBIG comes back at writeback: fsync must
		 * report it; nothing may be lost silently.
		 */
		EXPECT_EQ(1, pwrite(fd, &c, 1, 16ULL << 40));
		TFS_EXPECT_ERRNO(EFBIG, fsync(fd));
	} else {
		TFS_EXPECT_ERRNO(EFBIG, pwrite(fd, &c, 1, 16ULL << 40));
		EXPECT_EQ((off_t)((16ULL << 40) - 4096), size_of(f));
	}
	close(fd);

	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	EXPECT_EQ((off_t)((16ULL << 40) - 4096), size_of(f));
	EXPECT_EQ(0, tfs_check_pattern(f, 4 * GiB - 5000, 10000, 4));
	/* Truncating back below 4 GiB frees the far blocks. */
	TFS_ASSERT_OK(truncate(f, 4 * GiB - 1000));
	EXPECT_EQ(0, tfs_check_pattern(f, 4 * GiB - 5000, 4000, 4));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(io, o_trunc_and_o_append)
{
	const char *f = tfs_p(self->m, "f");
	char buf[64] = { 0 };
	int fd;

	ASSERT_EQ(0, tfs_write_pattern(f, 0, 200000, 1, O_CREAT));
	fd = open(f, O_WRONLY | O_TRUNC);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(0, size_of(f));
	EXPECT_EQ(0, blocks_of(f));
	EXPECT_EQ(5, write(fd, "hello", 5));
	close(fd);

	fd = open(f, O_WRONLY | O_APPEND);
	ASSERT_GE(fd, 0);
	/* O_APPEND ignores the file position... */
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	EXPECT_EQ(6, write(fd, " world", 6));
	/* ...and positioned writes too, on Linux. */
	EXPECT_EQ(1, pwrite(fd, "!", 1, 0));
	close(fd);
	fd = open(f, O_RDONLY);
	ASSERT_GE(fd, 0);
	EXPECT_EQ(12, read(fd, buf, sizeof(buf)));
	EXPECT_STREQ("hello world!", buf);
	close(fd);

	/* O_TRUNC on a read-only open of a 0444 file still needs write. */
	TFS_ASSERT_OK(chmod(f, 0444));
	fd = open(f, O_RDONLY | O_TRUNC);
	EXPECT_GE(fd, 0);	/* root may; the file is emptied */
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(0, size_of(f));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(io, fsync_and_coherence)
{
	const char *f = tfs_p(self->m, "f");
	char buf[16] = { 0 };
	int a, b;

	a = open(f, O_RDWR | O_CREAT, 0644);
	ASSERT_GE(a, 0);
	b = open(f, O_RDONLY);
	ASSERT_GE(b, 0);
	EXPECT_EQ(4, write(a, "abcd", 4));
	/* Another descriptor sees the data at once. */
	EXPECT_EQ(4, pread(b, buf, sizeof(buf), 0));
	EXPECT_STREQ("abcd", buf);
	TFS_EXPECT_ERRNO(EBADF, fsync(-1));
	EXPECT_EQ(0, fsync(a));
	EXPECT_EQ(0, fdatasync(a));
	EXPECT_EQ(0, fsync(b));
	close(a);
	close(b);
	/* fsync of a directory. */
	a = open(self->m->dir, O_RDONLY | O_DIRECTORY);
	ASSERT_GE(a, 0);
	EXPECT_EQ(0, fsync(a));
	EXPECT_EQ(0, syncfs(a));
	close(a);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(io, shared_mmap)
{
	const char *f = tfs_p(self->m, "f");
	size_t len = 3 * 4096 + 100;
	char *p;
	int fd;

	ASSERT_EQ(0, tfs_write_pattern(f, 0, len, 1, O_CREAT));
	fd = open(f, O_RDWR);
	ASSERT_GE(fd, 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	{
		char *want = malloc(len);

		ASSERT_NE(NULL, want);
		tfs_pattern(want, len, 0, 1);
		EXPECT_EQ(0, memcmp(want, p, len));
		tfs_pattern(want, len, 0, 2);
		memcpy(p, want, len);
		free(want);
	}
	EXPECT_EQ(0, msync(p, len, MS_SYNC));
	munmap(p, len);
	close(fd);
	EXPECT_EQ(0, tfs_check_pattern(f, 0, len, 2));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	ASSERT_EQ(0, tfs_remount(self->m));
	EXPECT_EQ(0, tfs_check_pattern(f, 0, len, 2));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

/*
 * An unlinked file stays readable through an open descriptor and its
 * blocks come back only after the last close.
 */
TEST_F(io, unlinked_open_file)
{
	const char *f = tfs_p(self->m, "f");
	struct statvfs before, during, after;
	long long free_mkfs, free_end;
	struct stat st;
	char buf[4096];
	int fd;

	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	free_mkfs = tfs_sb_number(self->env.image, "Free blocks");
	ASSERT_GT(free_mkfs, 0);
	ASSERT_EQ(0, tfs_remount(self->m));

	ASSERT_EQ(0, statvfs(self->m->dir, &before));
	ASSERT_EQ(0, tfs_write_pattern(f, 0, 8 << 20, 7, O_CREAT));
	fd = open(f, O_RDONLY);
	ASSERT_GE(fd, 0);
	TFS_ASSERT_OK(unlink(f));
	TFS_EXPECT_ERRNO(ENOENT, stat(f, &st));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(0, st.st_nlink);
	EXPECT_EQ(8 << 20, st.st_size);
	ASSERT_EQ(4096, pread(fd, buf, 4096, 5 << 20));
	{
		char want[4096];

		tfs_pattern(want, 4096, 5 << 20, 7);
		EXPECT_EQ(0, memcmp(want, buf, 4096));
	}
	ASSERT_EQ(0, statvfs(self->m->dir, &during));
	/* Still allocated: about 2048 blocks fewer free than before. */
	EXPECT_LE(during.f_bfree + 2000, before.f_bfree);
	close(fd);
	/* Give the release a moment to reach the server. */
	for (int i = 0; i < 100; i++) {
		ASSERT_EQ(0, statvfs(self->m->dir, &after));
		if (after.f_bfree + 16 >= before.f_bfree)
			break;
		usleep(20000);
	}
	EXPECT_GE(after.f_bfree + 16, before.f_bfree);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	free_end = tfs_sb_number(self->env.image, "Free blocks");
	EXPECT_EQ(free_mkfs, free_end);
}

/*
 * The inode a rename replaces stays readable through a descriptor that
 * is still open, then is freed; likewise the last of many hard links.
 */
TEST_F(io, replaced_inodes_freed_after_close)
{
	long long free_mkfs;
	char name[32];
	struct stat st;
	int fd, i;

	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	free_mkfs = tfs_sb_number(self->env.image, "Free blocks");
	ASSERT_EQ(0, tfs_remount(self->m));

	ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, "victim"), 0, 3 << 20,
				       1, O_CREAT));
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, "new"), 0, 1 << 20, 2,
				       O_CREAT));
	fd = open(tfs_p(self->m, "victim"), O_RDONLY);
	ASSERT_GE(fd, 0);
	TFS_ASSERT_OK(rename(tfs_p(self->m, "new"), tfs_p(self->m, "victim")));
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(0, st.st_nlink);
	{
		char got[4096], want[4096];

		ASSERT_EQ(4096, pread(fd, got, 4096, 2 << 20));
		tfs_pattern(want, 4096, 2 << 20, 1);
		EXPECT_EQ(0, memcmp(got, want, 4096));
	}
	close(fd);
	EXPECT_EQ(0, tfs_check_pattern(tfs_p(self->m, "victim"), 0, 1 << 20,
				       2));

	/* 50 names for one inode, stat'ed (looked up), then all unlinked. */
	ASSERT_EQ(0, tfs_write_pattern(tfs_p(self->m, "l0"), 0, 1 << 20, 3,
				       O_CREAT));
	for (i = 1; i < 50; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		TFS_ASSERT_OK(link(tfs_p(self->m, "l0"), tfs_p(self->m, name)));
	}
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		ASSERT_EQ(0, stat(tfs_p(self->m, name), &st));
		EXPECT_EQ(50, st.st_nlink);
	}
	fd = open(tfs_p(self->m, "l7"), O_RDONLY);
	ASSERT_GE(fd, 0);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		TFS_ASSERT_OK(unlink(tfs_p(self->m, name)));
	}
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(0, st.st_nlink);
	close(fd);
	TFS_ASSERT_OK(unlink(tfs_p(self->m, "victim")));
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
	/* Every block is back. */
	EXPECT_EQ(free_mkfs, tfs_sb_number(self->env.image, "Free blocks"));
}

/* Several processes at once: own files, and appends to a shared one. */
#define REC_LEN 28	/* "proc N record NNNN ........\n" */
TEST_F(io, parallel_writers)
{
	const int nproc = 4, records = 200;
	pid_t pids[4];
	struct stat st;
	int i, status;
	char *all;
	size_t len;

	for (i = 0; i < nproc; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (pids[i] == 0) {
			char name[32], rec[64];
			int fd, r;

			snprintf(name, sizeof(name), "own%d", i);
			if (tfs_write_pattern(tfs_p(self->m, name), 0, 3 << 20,
					      i, O_CREAT))
				_exit(1);
			fd = open(tfs_p(self->m, "shared"),
				  O_WRONLY | O_CREAT | O_APPEND, 0644);
			if (fd < 0)
				_exit(2);
			for (r = 0; r < records; r++) {
				int n = snprintf(rec, sizeof(rec),
						 "proc %d record %04d ........\n",
						 i, r);

				if (n != REC_LEN || write(fd, rec, n) != n)
					_exit(3);
			}
			close(fd);
			if (tfs_check_pattern(tfs_p(self->m, name), 0, 3 << 20,
					      i))
				_exit(4);
			_exit(0);
		}
	}
	for (i = 0; i < nproc; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("writer %d: status %x", i, status);
	}
	/* Every record whole, none lost, none interleaved. */
	ASSERT_EQ(0, stat(tfs_p(self->m, "shared"), &st));
	EXPECT_EQ(nproc * records * REC_LEN, st.st_size);
	all = tfs_read_file(tfs_p(self->m, "shared"), &len);
	ASSERT_NE(NULL, all);
	{
		int count[4] = { 0 }, p, r;
		char *line = all;

		while (line < all + len) {
			ASSERT_EQ(2, sscanf(line, "proc %d record %d", &p, &r))
				TH_LOG("garbled at %td", line - all);
			ASSERT_TRUE(p >= 0 && p < nproc);
			EXPECT_EQ(count[p], r);
			count[p]++;
			line += REC_LEN;
		}
		for (p = 0; p < nproc; p++)
			EXPECT_EQ(records, count[p]);
	}
	free(all);
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_F(io, many_small_files)
{
	char name[32], data[32];
	int i;

	for (i = 0; i < 400; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		snprintf(data, sizeof(data), "content of %d", i);
		ASSERT_EQ(0, tfs_write_file(tfs_p(self->m, name), data,
					    strlen(data)));
	}
	for (i = 0; i < 400; i += 7) {
		char *got;

		snprintf(name, sizeof(name), "s%d", i);
		snprintf(data, sizeof(data), "content of %d", i);
		got = tfs_read_file(tfs_p(self->m, name), NULL);
		ASSERT_NE(NULL, got);
		EXPECT_STREQ(data, got);
		free(got);
	}
	TFS_ASSERT_UNMOUNT_CLEAN(self->m);
}

TEST_HARNESS_MAIN
