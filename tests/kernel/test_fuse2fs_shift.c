// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FALLOC_FL_COLLAPSE_RANGE and FALLOC_FL_INSERT_RANGE through the patched
 * kernel on fuse2fs -o iomap=auto, on an iomap file and on a file pinned
 * to classic FUSE (also with -o writeback_cache): the file has dirty page
 * cache past the offset (buffered writes and a shared writable mapping,
 * not synced) when the range moves; afterwards the mapping, buffered
 * reads, O_DIRECT reads and, after unmount, kernel ext4 all read what an
 * in-memory copy says, and the size follows.  Misaligned ranges, a
 * collapse reaching EOF and an insert at EOF give EINVAL and change
 * nothing.  On a mount without iomap (-o iomap=off) the kernel keeps
 * FUSE's refusal, EOPNOTSUPP, and every byte.  Fresh mke2fs, `e2fsck -fn`
 * at the end.  Runs inside the UML guest, as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <linux/falloc.h>

#include "kselftest_harness.h"
#include "f2guest.h"

#define KIB		1024ULL
#define SIZE0		(4 * MIB)
#define MAXSIZE		(8 * MIB)

FIXTURE(sh) {
	struct kt_server srv;
	char *shadow;		/* what the file must hold */
	uint64_t size;
};

FIXTURE_VARIANT(sh) {
	const char *opts;	/* fuse2fs -o */
	const char *preference;	/* user.fuse2fs.iomap, or NULL */
	int mode;		/* 1: iomap, 0: classic, -1: no iomap mount */
};

FIXTURE_VARIANT_ADD(sh, iomap) {
	.opts = "iomap=auto",
	.mode = 1,
};

FIXTURE_VARIANT_ADD(sh, classic) {
	.opts = "iomap=auto",
	.preference = "classic",
	.mode = 0,
};

FIXTURE_VARIANT_ADD(sh, classic_writeback_cache) {
	.opts = "iomap=auto,writeback_cache",
	.preference = "classic",
	.mode = 0,
};

FIXTURE_VARIANT_ADD(sh, iomap_off) {
	.opts = "iomap=off",
	.mode = -1,
};

FIXTURE_SETUP(sh)
{
	self->shadow = calloc(1, MAXSIZE);
	ASSERT_NE(NULL, self->shadow);
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount_opts(&self->srv, variant->opts));
}

FIXTURE_TEARDOWN(sh)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	free(self->shadow);
}

/* pwrite of the pattern, recorded in the shadow copy */
static int put(struct _test_data_sh *self, int fd, uint64_t off, size_t len,
	       uint32_t seed)
{
	kt_fill(self->shadow + off, len, off, seed);
	if (off + len > self->size)
		self->size = off + len;
	return pwrite(fd, self->shadow + off, len, off) == (ssize_t)len ?
	       0 : -1;
}

static void shadow_collapse(struct _test_data_sh *self, uint64_t off,
			    uint64_t len)
{
	memmove(self->shadow + off, self->shadow + off + len,
		self->size - off - len);
	memset(self->shadow + self->size - len, 0, len);
	self->size -= len;
}

static void shadow_insert(struct _test_data_sh *self, uint64_t off,
			  uint64_t len)
{
	memmove(self->shadow + off + len, self->shadow + off,
		self->size - off);
	memset(self->shadow + off, 0, len);
	self->size += len;
}

/* The first offset where buf and the shadow differ, or -1 */
static long long differs(const struct _test_data_sh *self, const char *buf,
			 uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != self->shadow[i])
			return i;
	return -1;
}

/* Size, mapping, buffered reads and O_DIRECT reads against the shadow */
static void check_all(struct __test_metadata *_metadata,
		      struct _test_data_sh *self, const char *path, int fd,
		      const char *map)
{
	char *buf = kt_alloc(MAXSIZE);
	struct stat st;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ((off_t)self->size, st.st_size);
	EXPECT_EQ(-1, differs(self, map, self->size));
	EXPECT_EQ((ssize_t)self->size, pread(fd, buf, MAXSIZE, 0));
	EXPECT_EQ(-1, differs(self, buf, self->size));
	/* O_DIRECT in whole blocks: the tail of the last one reads zeroes */
	memset(buf, 0xaa, MAXSIZE);
	EXPECT_EQ(0, kt_direct_pread(path, buf,
				     (self->size + 4095) & ~4095ULL, 0));
	EXPECT_EQ(-1, differs(self, buf, self->size));
	free(buf);
}

/* Unmount, e2fsck and the ext4 read-back: more than the default 30 s */
TEST_F_TIMEOUT(sh, collapse_and_insert_with_dirty_page_cache, 300)
{
	const char *path = kt_path(&self->srv, "f");
	char *map;
	int fd;

	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	if (variant->preference)
		ASSERT_EQ(0, f2g_set_preference(path, variant->preference));
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(variant->mode, kt_fd_iomap(fd, NULL));

	/* On the disk first, then dirty page cache past every offset */
	ASSERT_EQ(0, put(self, fd, 0, SIZE0, 1));
	ASSERT_EQ(0, fsync(fd));
	map = mmap(NULL, MAXSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, put(self, fd, MIB + 100, 300 * KIB, 2));
	kt_fill(self->shadow + 3 * MIB + 10, 8 * KIB, 3 * MIB + 10, 3);
	memcpy(map + 3 * MIB + 10, self->shadow + 3 * MIB + 10, 8 * KIB);

	/* Without iomap FUSE refuses as always (doc/protocol.md 10.2) */
	if (variant->mode < 0) {
		errno = 0;
		EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_COLLAPSE_RANGE,
					512 * KIB, 256 * KIB));
		EXPECT_EQ(EOPNOTSUPP, errno);
		errno = 0;
		EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_INSERT_RANGE, MIB,
					128 * KIB));
		EXPECT_EQ(EOPNOTSUPP, errno);
		check_all(_metadata, self, path, fd, map);
		EXPECT_EQ(0, munmap(map, MAXSIZE));
		EXPECT_EQ(0, fsync(fd));
		close(fd);
		ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
		EXPECT_EQ(0, f2g_compare_with_ext4("f", self->shadow,
						   self->size));
		return;
	}

	/* Collapse a range whose blocks are on the disk */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 512 * KIB,
			       256 * KIB));
	shadow_collapse(self, 512 * KIB, 256 * KIB);
	check_all(_metadata, self, path, fd, map);

	/* Dirty again, through the mapping too, then insert before it */
	ASSERT_EQ(0, put(self, fd, 2 * MIB + 5, 5000, 4));
	kt_fill(self->shadow + 1500 * KIB, 4 * KIB, 1500 * KIB, 5);
	memcpy(map + 1500 * KIB, self->shadow + 1500 * KIB, 4 * KIB);
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_INSERT_RANGE, MIB + 12 * KIB,
			       128 * KIB));
	shadow_insert(self, MIB + 12 * KIB, 128 * KIB);
	check_all(_metadata, self, path, fd, map);

	/* At the very start, and a collapse of what the insert made */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 8 * KIB));
	shadow_insert(self, 0, 8 * KIB);
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, MIB + 16 * KIB,
			       132 * KIB));
	shadow_collapse(self, MIB + 16 * KIB, 132 * KIB);
	check_all(_metadata, self, path, fd, map);

	/* ext4's refusals, and nothing changed by them */
	errno = 0;
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 1000, 4096));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_INSERT_RANGE, 4096, 100));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, MIB,
				self->size - MIB));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_INSERT_RANGE,
				(self->size + 4095) & ~4095ULL, 4096));
	EXPECT_EQ(EINVAL, errno);
	check_all(_metadata, self, path, fd, map);

	EXPECT_EQ(0, munmap(map, MAXSIZE));
	EXPECT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_compare_with_ext4("f", self->shadow, self->size));
}

/*
 * A collapse, then an insert, in a file whose extents fill a tree of more
 * than one leaf (more than 340 extents of 4 KiB blocks) and start well
 * past the range: every extent moves by the length exactly once.
 * fuse2fs once stepped to the next extent after fixing the index keys,
 * which leaves libext2fs's handle as if the index entries on its path
 * had not been descended into: the step climbed back into the leaf just
 * done (after the last leaf, into the first) and moved its extents
 * again as long as they still started past the range.  In one leaf the
 * data only landed blocks too low, e2fsck-clean (guest exerciser seed 1,
 * op 17317: a hole of 29 blocks at the start, a collapse of 3 moved
 * everything by 15); across leaves extents overlapped.
 */
#define TREE_EXTENTS	400
#define TREE_FIRST	8	/* first data block: a hole before it */

FIXTURE(tree) {
	struct kt_server srv;
};

FIXTURE_SETUP(tree)
{
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(tree)
{
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

TEST_F_TIMEOUT(tree, shift_moves_every_extent_once, 300)
{
	const char *path = kt_path(&self->srv, "f");
	uint64_t size = (TREE_FIRST + 2 * TREE_EXTENTS - 1) * 4 * KIB;
	/* room for the insert */
	char *want = calloc(1, size + 8 * KIB), *got = kt_alloc(size + 8 * KIB);
	uint64_t blk;
	int fd;

	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, got);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, kt_fd_iomap(fd, NULL));
	/* every other block: one extent each */
	for (blk = TREE_FIRST; blk < size / (4 * KIB); blk += 2) {
		kt_fill(want + blk * 4 * KIB, 4 * KIB, blk * 4 * KIB, 7);
		ASSERT_EQ((ssize_t)(4 * KIB),
			  pwrite(fd, want + blk * 4 * KIB, 4 * KIB,
				 blk * 4 * KIB));
	}
	ASSERT_EQ(0, fsync(fd));

	/* one block of the hole goes: every extent moves down by one */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4 * KIB));
	memmove(want, want + 4 * KIB, size - 4 * KIB);
	size -= 4 * KIB;
	EXPECT_EQ((ssize_t)size, pread(fd, got, size, 0));
	EXPECT_EQ(0, memcmp(want, got, size));
	memset(got, 0xaa, size);
	EXPECT_EQ(0, kt_direct_pread(path, got, size, 0));
	EXPECT_EQ(0, memcmp(want, got, size));

	/* and up by two, walking the tree from its end */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, 8 * KIB));
	memmove(want + 8 * KIB, want, size);
	memset(want, 0, 8 * KIB);
	size += 8 * KIB;
	EXPECT_EQ((ssize_t)size, pread(fd, got, size, 0));
	EXPECT_EQ(0, memcmp(want, got, size));
	close(fd);
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_compare_with_ext4("f", want, size));
	free(want);
	free(got);
}

/*
 * A store through a shared mapping into a clean page past the offset,
 * made while a collapse on a classic inode waits for the write-back of
 * another page (the server is stopped with SIGSTOP to hold it there):
 * the write fault must wait for the collapse, and the store then lands
 * at its address in the shifted file.  A fault that does not wait
 * dirties the page between the write-back and the drop of the page
 * cache, and the collapse drops it with the store.  The result must be
 * one of the two orders, the store before the collapse (moved down by
 * the length) or after it.
 */
#define RACE_SIZE	MIB
#define RACE_OFF	(256 * KIB)	/* collapsed: [RACE_OFF, +RACE_LEN) */
#define RACE_LEN	(64 * KIB)
#define RACE_DIRTY	(512 * KIB)	/* dirty page, the collapse writes it */
#define RACE_STORE	(768 * KIB)	/* clean mapped page, stored into */
#define RACE_BYTES	64

FIXTURE(race) {
	struct kt_server srv;
};

FIXTURE_SETUP(race)
{
	ASSERT_EQ(0, f2g_mkfs(NULL));
	ASSERT_EQ(0, f2g_mount(&self->srv));
}

FIXTURE_TEARDOWN(race)
{
	if (self->srv.pid > 0)
		kill(self->srv.pid, SIGCONT);
	EXPECT_EQ(0, f2g_unmount_and_fsck(&self->srv));
}

struct race_collapse {
	int fd;
	int ret;
	pid_t server;
};

static void *race_collapse(void *arg)
{
	struct race_collapse *rc = arg;

	rc->ret = fallocate(rc->fd, FALLOC_FL_COLLAPSE_RANGE, RACE_OFF,
			    RACE_LEN);
	return NULL;
}

/* Lets the server go on once the store had time to finish or block */
static void *race_resume(void *arg)
{
	struct race_collapse *rc = arg;

	sleep(2);
	kill(rc->server, SIGCONT);
	return NULL;
}

static void race_collapse_copy(char *buf, uint64_t size)
{
	memmove(buf + RACE_OFF, buf + RACE_OFF + RACE_LEN,
		size - RACE_OFF - RACE_LEN);
}

TEST_F_TIMEOUT(race, write_fault_waits_for_collapse, 120)
{
	const char *path = kt_path(&self->srv, "f");
	uint64_t size = RACE_SIZE - RACE_LEN;
	char *before = malloc(RACE_SIZE), *after = malloc(RACE_SIZE);
	char *got = malloc(RACE_SIZE), stored[RACE_BYTES];
	struct race_collapse rc = { .server = self->srv.pid };
	pthread_t collapser, resumer;
	volatile char *map;
	int fd, i;

	ASSERT_NE(NULL, before);
	ASSERT_NE(NULL, after);
	ASSERT_NE(NULL, got);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, f2g_set_preference(path, "classic"));
	fd = open(path, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_fd_iomap(fd, NULL));
	rc.fd = fd;

	kt_fill(before, RACE_SIZE, 0, 1);
	ASSERT_EQ((ssize_t)RACE_SIZE, pwrite(fd, before, RACE_SIZE, 0));
	ASSERT_EQ(0, fsync(fd));
	map = mmap(NULL, RACE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	ASSERT_NE(MAP_FAILED, map);
	/* clean and mapped: the store below is a write fault, page_mkwrite */
	EXPECT_EQ(before[RACE_STORE], map[RACE_STORE]);
	kt_fill(before + RACE_DIRTY, RACE_BYTES, RACE_DIRTY, 2);
	for (i = 0; i < RACE_BYTES; i++)
		map[RACE_DIRTY + i] = before[RACE_DIRTY + i];
	kt_fill(stored, RACE_BYTES, RACE_STORE, 3);

	/* The collapse's write-back of the dirty page waits for the server */
	ASSERT_EQ(0, kill(self->srv.pid, SIGSTOP));
	ASSERT_EQ(0, pthread_create(&collapser, NULL, race_collapse, &rc));
	sleep(1);
	ASSERT_EQ(0, pthread_create(&resumer, NULL, race_resume, &rc));
	for (i = 0; i < RACE_BYTES; i++)
		map[RACE_STORE + i] = stored[i];
	pthread_join(collapser, NULL);
	pthread_join(resumer, NULL);
	ASSERT_EQ(0, rc.ret);

	/* store then collapse, or collapse then store */
	memcpy(after, before, RACE_SIZE);
	race_collapse_copy(after, RACE_SIZE);
	memcpy(after + RACE_STORE, stored, RACE_BYTES);
	memcpy(before + RACE_STORE, stored, RACE_BYTES);
	race_collapse_copy(before, RACE_SIZE);

	EXPECT_EQ(0, munmap((void *)map, RACE_SIZE));
	EXPECT_EQ(0, fsync(fd));
	EXPECT_EQ((ssize_t)size, pread(fd, got, RACE_SIZE, 0));
	close(fd);
	EXPECT_TRUE(!memcmp(got, before, size) || !memcmp(got, after, size));
	ASSERT_EQ(0, f2g_unmount_and_fsck(&self->srv));
	EXPECT_EQ(0, f2g_compare_with_ext4("f", got, size));
	free(before);
	free(after);
	free(got);
}

TEST_HARNESS_MAIN
